"""The JSON API's contract: shapes, grounding invariants, filters and error envelopes."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.service.conftest import MakeClient, check_answer, document_texts

SEED_IDS = {
    "task-force-model-mandamus",
    "287g-agreement-writ-of-mandamus",
    "community-trust-287g-mandamus",
    "visaverge-287g-task-force-model",
    "officer-misconduct-287g-mandamus",
}
ASK_FIELDS = {
    "question",
    "answer",
    "abstained",
    "abstain_reason",
    "sentences",
    "citations",
    "sources_disagree",
    "notice",
    "index_version",
    "took_ms",
    "language",
    "urgent",
}
CITATION_FIELDS = {
    "n",
    "document_id",
    "title",
    "publisher",
    "url",
    "section",
    "text",
    "start",
    "end",
    "score",
    "kind",
    "published",
}
QUESTIONS = (
    "What is a 287(g) agreement?",
    "What is the task force model?",
    "What is a writ of mandamus?",
    "Can mandamus stop 287(g) enforcement?",
)


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, str]:
    """Assert an error response is the envelope, without a traceback or a server path."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) >= {"code", "message"}
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code
    assert "Traceback" not in response.text and "/tmp" not in response.text
    return dict(body["error"])


def test_ask_returns_the_contract_shape(client: TestClient) -> None:
    response = client.post("/v1/ask", json={"question": "What is a 287(g) agreement?"})
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= ASK_FIELDS
    assert body["abstained"] is False and body["abstain_reason"] is None
    assert body["citations"] and body["sentences"]
    for c in body["citations"]:
        assert set(c) >= CITATION_FIELDS
    for s in body["sentences"]:
        assert set(s) >= {"text", "citations"}
    assert body["language"] == "en" and isinstance(body["urgent"], bool)
    assert body["index_version"] == client.get("/readyz").json()["generation"]
    assert body["took_ms"] > 0 and body["notice"]


@pytest.mark.parametrize("question", QUESTIONS)
def test_answers_are_verbatim_and_offsets_point_into_the_document(
    client: TestClient, question: str
) -> None:
    body = client.post("/v1/ask", json={"question": question, "k": 8}).json()
    assert not body["abstained"]
    check_answer(body, document_texts(client))


def test_ask_with_filters_cites_only_the_chosen_documents(client: TestClient) -> None:
    chosen = "visaverge-287g-task-force-model"
    body = client.post(
        "/v1/ask",
        json={"question": "What is the task force model?", "filters": {"document_ids": [chosen]}},
    ).json()
    assert {c["document_id"] for c in body["citations"]} <= {chosen}
    news = client.post(
        "/v1/ask",
        json={"question": "What is the task force model?", "filters": {"kinds": ["news"]}},
    ).json()
    assert {c["kind"] for c in news["citations"]} <= {"news"}


def test_off_topic_question_abstains(client: TestClient) -> None:
    body = client.post("/v1/ask", json={"question": "How do I bake sourdough bread?"}).json()
    assert body["abstained"] is True
    assert body["abstain_reason"] == "not_covered"
    assert body["sentences"] == [] and body["citations"] == []


def test_search_returns_passages_with_offsets(client: TestClient) -> None:
    body = client.get("/v1/search", params={"q": "task force model", "k": 3}).json()
    assert set(body) >= {"results", "took_ms"} and 0 < len(body["results"]) <= 3
    texts = document_texts(client)
    for r in body["results"]:
        assert set(r) >= {"document_id", "title", "section", "text", "start", "end", "score"}
        assert texts[r["document_id"]][r["start"] : r["end"]] == r["text"]
    only = client.get(
        "/v1/search", params={"q": "mandamus", "document_id": "task-force-model-mandamus"}
    )
    assert {r["document_id"] for r in only.json()["results"]} == {"task-force-model-mandamus"}
    news = client.get("/v1/search", params={"q": "mandamus", "kind": "news"}).json()["results"]
    assert {r["document_id"] for r in news} <= {"visaverge-287g-task-force-model"}


def test_documents_list_and_detail(client: TestClient) -> None:
    body = client.get("/v1/documents").json()
    assert {d["id"] for d in body["documents"]} == SEED_IDS
    for d in body["documents"]:
        assert set(d) >= {
            "id",
            "title",
            "publisher",
            "kind",
            "url",
            "published",
            "chunks",
            "sha256",
        }
    detail = client.get("/v1/documents/visaverge-287g-task-force-model").json()
    assert detail["publisher"] == "VisaVerge" and detail["kind"] == "news"
    assert len(detail["text"]) > 1000 and detail["chunks"] > 0


@pytest.mark.parametrize(
    ("method", "path", "payload", "status", "code"),
    [
        ("get", "/v1/documents/no-such-document", None, 404, "not_found"),
        ("get", "/no/such/route", None, 404, "not_found"),
        ("get", "/v1/ask", None, 405, "method_not_allowed"),
        ("delete", "/v1/search", None, 405, "method_not_allowed"),
        ("post", "/v1/ask", {"question": ""}, 422, "invalid_request"),
        ("post", "/v1/ask", {"question": "   "}, 422, "invalid_request"),
        ("post", "/v1/ask", {"question": "x" * 1001}, 422, "invalid_request"),
        ("post", "/v1/ask", {"question": "ok?", "k": 0}, 422, "invalid_request"),
        ("post", "/v1/ask", {"question": "ok?", "k": 21}, 422, "invalid_request"),
        ("post", "/v1/ask", {"question": "ok?", "filters": {"published_from": "May"}}, 422, None),
        ("post", "/v1/ask", {"question": "ok?", "surprise": 1}, 422, "invalid_request"),
        ("post", "/v1/ask", {}, 422, "invalid_request"),
        ("get", "/v1/search?q=", None, 422, "invalid_request"),
        ("get", "/v1/search?q=x&k=99", None, 422, "invalid_request"),
        ("get", "/v1/documents/Not_A_Slug", None, 422, "invalid_request"),
    ],
)
def test_errors_use_the_envelope(
    client: TestClient, method: str, path: str, payload: object, status: int, code: str | None
) -> None:
    assert_error(client.request(method.upper(), path, json=payload), status, code)


def test_a_path_outside_the_corpus_is_not_found(client: TestClient) -> None:
    response = client.get("/v1/documents/..%2F..%2Fetc%2Fpasswd")
    assert response.status_code in (404, 422)
    assert_error(response, response.status_code)


def test_invalid_json_is_a_422_envelope(client: TestClient) -> None:
    response = client.post(
        "/v1/ask", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert_error(response, 422, "invalid_request")


def test_unexpected_errors_are_a_500_envelope_without_details(client: TestClient) -> None:
    runtime = client.app.state.runtime  # type: ignore[attr-defined]

    def broken(*args: object) -> object:
        raise RuntimeError("secret internals at /srv/lexcite/data")

    runtime.ask = broken
    response = client.post("/v1/ask", json={"question": "What is a 287(g) agreement?"})
    error = assert_error(response, 500, "internal_error")
    assert "secret" not in error["message"] and "/srv" not in response.text
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'self'" in response.headers["content-security-policy"]


@pytest.mark.parametrize("path", ["/healthz", "/v1/documents", "/", "/staff", "/nope"])
def test_security_headers_on_every_response(client: TestClient, path: str) -> None:
    headers = client.get(path).headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    csp = headers["content-security-policy"]
    assert "default-src 'self'" in csp and "unsafe-inline" not in csp


def test_cors_is_closed_by_default_and_opens_for_configured_origins(
    make_client: MakeClient,
) -> None:
    closed = make_client()
    preflight = {"Origin": "https://example.org", "Access-Control-Request-Method": "POST"}
    assert "access-control-allow-origin" not in closed.options("/v1/ask", headers=preflight).headers
    assert (
        "access-control-allow-origin"
        not in closed.get("/v1/documents", headers={"Origin": "https://example.org"}).headers
    )
    opened = make_client(cors_origins=("https://example.org",))
    response = opened.options("/v1/ask", headers=preflight)
    assert response.headers["access-control-allow-origin"] == "https://example.org"
    other = opened.get("/v1/documents", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_openapi_documents_every_api_route_with_models_and_errors(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    assert set(paths) == {
        "/v1/ask",
        "/v1/search",
        "/v1/documents",
        "/v1/documents/{document_id}",
        "/healthz",
        "/readyz",
        "/metrics",
    }
    for path, operations in paths.items():
        for method, operation in operations.items():
            ok = operation["responses"].get("200") or operation["responses"].get("201")
            assert ok and ok.get("content"), (method, path)
            if path.startswith("/v1/"):
                errors = [s for s in operation["responses"] if s.startswith(("4", "5"))]
                assert errors, (method, path)
                for status in errors:
                    schema = operation["responses"][status]["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, (path, status)
    upload = paths["/v1/documents"]["post"]
    assert set(upload["requestBody"]["content"]) == {"application/json", "multipart/form-data"}
    assert upload["security"] == [{"HTTPBearer": []}]
    assert client.get("/docs").status_code == 200
