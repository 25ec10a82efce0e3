"""Request ids: on every response, in every error body, on the access log line; and the
log formats of `lexcite serve` (text, or one JSON object per line)."""

from __future__ import annotations

import io
import json
import logging
import logging.config
import re
import time

import pytest
from fastapi.testclient import TestClient

from service import logs
from service.app import uvicorn_options
from tests.service.conftest import AUTH, Dirs, MakeClient, make_settings

NEW_ID = re.compile(r"[0-9a-f]{32}")


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/healthz", 200),
        ("GET", "/static/style.css", 200),
        ("GET", "/", 200),
        ("GET", "/v1/documents/nope", 404),
        ("GET", "/nope", 404),
        ("PUT", "/v1/ask", 405),
        ("POST", "/v1/ask", 422),
        ("GET", "/v1/search?q=", 422),
    ],
)
def test_every_response_carries_a_new_request_id(
    client: TestClient, method: str, path: str, status: int
) -> None:
    response = client.request(method, path)
    assert response.status_code == status
    rid = response.headers["x-request-id"]
    assert NEW_ID.fullmatch(rid)
    if status >= 400 and response.headers["content-type"] == "application/json":
        assert response.json()["error"]["request_id"] == rid


def test_ids_are_new_for_each_request(client: TestClient) -> None:
    ids = {client.get("/healthz").headers["x-request-id"] for _ in range(20)}
    assert len(ids) == 20


@pytest.mark.parametrize(
    "sent",
    ["0f8fad5b-d9cb-469f-a165-70867728950e", "a" * 32, "trace:span.1_x", "x" * 128],
)
def test_a_well_formed_client_id_is_kept(client: TestClient, sent: str) -> None:
    response = client.get("/v1/documents/nope", headers={"X-Request-ID": sent})
    assert response.headers["x-request-id"] == sent
    assert response.json()["error"]["request_id"] == sent


@pytest.mark.parametrize(
    "sent", ["", "has space", 'quo"te', "x" * 129, "new\\nline", "semi;colon", "ümlaut"]
)
def test_a_malformed_client_id_is_replaced(client: TestClient, sent: str) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": sent.encode()})  # type: ignore[dict-item]
    rid = response.headers["x-request-id"]
    assert rid != sent and NEW_ID.fullmatch(rid)
    assert len(response.headers.get_list("x-request-id")) == 1


def test_errors_from_every_layer_include_the_id(make_client: MakeClient) -> None:
    """The limits answer from middleware, the handlers from the app, a 500 from outside the
    middleware stack: each error body has the id its header has."""
    client = make_client(rate_limit_per_minute=3, max_question_bytes=100, request_timeout_s=0.2)
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    real_ask = runtime.ask
    answers = {
        "too_large": client.post("/v1/ask", json={"question": "x" * 200}),
        "unauthorized": client.post("/v1/documents", json={}),
    }

    def slow(*args: object) -> object:
        time.sleep(1.0)
        return real_ask(*args)

    runtime.ask = slow
    answers["timeout"] = client.post("/v1/ask", json={"question": "What is 287(g)?"})
    answers["rate_limited"] = client.get("/v1/documents")

    def broken(*args: object) -> object:
        raise RuntimeError("boom")

    runtime.ask = broken
    unlimited = make_client()
    unlimited.app.state.runtime.ask = broken  # type: ignore[attr-defined]
    answers["internal_error"] = unlimited.post("/v1/ask", json={"question": "What is 287(g)?"})
    for code, response in answers.items():
        error = response.json()["error"]
        assert error["code"] == code, (code, response.text)
        assert set(error) == {"code", "message", "request_id"}
        assert NEW_ID.fullmatch(error["request_id"])
        assert error["request_id"] == response.headers["x-request-id"], code


def test_error_pages_show_the_id(client: TestClient) -> None:
    response = client.get("/documents/nope", headers={"X-Request-ID": "page-error-1"})
    assert response.status_code == 404
    assert "page-error-1" in response.text and response.headers["x-request-id"] == "page-error-1"


def test_the_access_line_has_the_id_and_no_query(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "lexcite.access")
    client.get("/?q=my+landlord+at+12+Elm+Street", headers={"X-Request-ID": "visit-1"})
    client.post("/v1/documents", json={}, headers={**AUTH, "X-Request-ID": "upload-2"})
    lines = [r for r in caplog.records if r.name == "lexcite.access"]
    assert [(r.request_id, r.status, r.path) for r in lines] == [  # type: ignore[attr-defined]
        ("visit-1", 200, "/"),
        ("upload-2", 422, "/v1/documents"),
    ]
    assert "Elm" not in caplog.text
    assert lines[0].getMessage().startswith('testclient "GET /" 200 ')
    assert lines[0].getMessage().endswith(" ms visit-1")


def test_a_500_is_logged_with_its_request_id(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object) -> object:
        raise RuntimeError("boom")

    client.app.state.runtime.ask = broken  # type: ignore[attr-defined]
    caplog.set_level(logging.INFO)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(logs.WithRequestId())
    handler.setFormatter(logs.JsonFormatter())
    logging.getLogger("lexcite").addHandler(handler)
    try:
        response = client.post("/v1/ask", json={"question": "x"}, headers={"X-Request-ID": "r-500"})
    finally:
        logging.getLogger("lexcite").removeHandler(handler)
    assert response.status_code == 500 and response.headers["x-request-id"] == "r-500"
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    failure = next(r for r in records if r["logger"] == "lexcite.service")
    assert failure["request_id"] == "r-500" and "RuntimeError: boom" in failure["exception"]
    access = next(r for r in records if r["logger"] == "lexcite.access")
    assert (access["request_id"], access["status"], access["path"]) == ("r-500", 500, "/v1/ask")


def test_json_log_lines_are_one_object_each(dirs: Dirs) -> None:
    """The configuration `lexcite serve` hands uvicorn, applied to a stream."""
    config = uvicorn_options(make_settings(dirs, log_format="json"))["log_config"]
    stream = io.StringIO()
    config["handlers"]["stderr"]["stream"] = stream
    logging.config.dictConfig(config)
    try:
        logging.getLogger("uvicorn.error").info("Started server process [%d]", 42)
        try:
            raise ValueError("multi\nline")
        except ValueError:
            logging.getLogger("lexcite.service").exception("it failed")
    finally:
        logging.config.dictConfig({"version": 1, "disable_existing_loggers": False})
        for name in ("lexcite", "uvicorn"):
            logging.getLogger(name).handlers.clear()
            logging.getLogger(name).propagate = True
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    started, failed = (json.loads(line) for line in lines)
    assert started["message"] == "Started server process [42]"
    assert started["level"] == "info" and started["logger"] == "uvicorn.error"
    assert failed["level"] == "error" and "multi\nline" in failed["exception"]


def test_text_logs_by_default(dirs: Dirs) -> None:
    config = uvicorn_options(make_settings(dirs))["log_config"]
    assert config["formatters"]["main"] == {"format": logs.TEXT_FORMAT}
