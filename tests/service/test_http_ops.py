"""Operations: liveness, readiness, metrics, start-up without an index, and `lexcite serve`."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from fastapi.testclient import TestClient

from index import build, generation
from ingest.clean import Rules
from lexcite.cli import parser
from service.app import create_app
from tests.conftest import HashingEncoder
from tests.service.conftest import AUTH, HASHED_THRESHOLD, Dirs, make_settings


def test_healthz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_names_the_generation(client: TestClient, dirs: Dirs) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "ready": True,
        "generation": generation.current_name(dirs.data),
        "degraded": False,
        "documents": 5,
    }


def test_without_an_index_the_app_starts_and_says_so(
    tmp_path: Path, dirs: Dirs, rules: Rules
) -> None:
    empty = Dirs(dirs.corpus, tmp_path / "empty-data")
    app = create_app(make_settings(empty))
    app.state.runtime.encoder = HashingEncoder()  # instead of loading the real model
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["ready"] is False
        ask = client.post("/v1/ask", json={"question": "What is a 287(g) agreement?"})
        assert ask.status_code == 503 and ask.json()["error"]["code"] == "no_index"
        assert "retry-after" in ask.headers
        assert str(tmp_path) not in ask.text
        assert client.get("/v1/documents").status_code == 503
        page = client.get("/?q=What+is+287(g)%3F")
        assert page.status_code == 503 and "text/html" in page.headers["content-type"]
        assert "lexcite_index_ready 0.0" in client.get("/metrics").text
        assert client.get("/staff").status_code == 200  # staff can still upload the first one
        # An ingest by another process is picked up without a restart.
        build.ingest(dirs.corpus, empty.data, HashingEncoder(), rules)
        deadline = time.monotonic() + 5
        while client.get("/readyz").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert client.get("/readyz").status_code == 200
        assert len(client.get("/v1/documents").json()["documents"]) == 5


def test_a_generation_published_by_another_process_is_served(
    client: TestClient, dirs: Dirs, rules: Rules, monkeypatch: object
) -> None:
    import service.engine

    setattr(service.engine, "RELOAD_CHECK_S", 0.0)  # noqa: B010 - check CURRENT every request
    try:
        before = client.get("/readyz").json()["generation"]
        extra = dirs.corpus / "documents" / "extra.txt"
        extra.write_text("An extra note about mandamus petitions and their timing.\n")
        with (dirs.corpus / "manifest.toml").open("a") as handle:
            handle.write(
                '\n[[documents]]\nid = "extra-note"\nfile = "documents/extra.txt"\n'
                'title = "Extra"\n'
            )
        summary = build.ingest(dirs.corpus, dirs.data, HashingEncoder(), rules)
        assert summary.published
        after = client.get("/readyz").json()["generation"]
        assert after == summary.generation != before
        assert "extra-note" in {d["id"] for d in client.get("/v1/documents").json()["documents"]}
    finally:
        setattr(service.engine, "RELOAD_CHECK_S", 0.5)  # noqa: B010


def test_metrics_count_requests_answers_and_name_the_index(client: TestClient) -> None:
    client.post("/v1/ask", json={"question": "What is a 287(g) agreement?"})
    client.post("/v1/ask", json={"question": "How do I bake sourdough bread?"})
    client.get("/v1/documents/task-force-model-mandamus")
    client.get("/v1/documents/nope-nope")
    client.get("/no/such/path")
    text = client.get("/metrics").text
    name = client.get("/readyz").json()["generation"]
    assert 'lexcite_http_requests_total{method="POST",route="/v1/ask",status="200"} 2.0' in text
    assert 'route="/v1/documents/{document_id}",status="200"} 1.0' in text
    assert 'route="/v1/documents/{document_id}",status="404"} 1.0' in text
    assert 'route="unmatched",status="404"} 1.0' in text
    assert 'lexcite_http_request_duration_seconds_bucket{le="0.5",route="/v1/ask"}' in text
    assert 'lexcite_abstentions_total{reason="not_covered"} 1.0' in text
    assert "lexcite_answers_total 1.0" in text
    assert f'lexcite_index_info{{degraded="false",generation="{name}"}} 1.0' in text
    assert "lexcite_index_documents 5.0" in text


def test_metrics_are_prometheus_text(client: TestClient) -> None:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "# TYPE lexcite_http_requests_total counter" in response.text


def test_staff_changes_are_counted(client: TestClient) -> None:
    client.post(
        "/v1/documents",
        json={"id": "x-doc", "title": "X", "text": "Words here. More."},
        headers=AUTH,
    )
    assert 'method="POST",route="/v1/documents",status="201"' in client.get("/metrics").text


def test_engine_must_serve_the_configured_data_dir(dirs: Dirs, tmp_path: Path) -> None:
    from service.engine import Engine

    other = tmp_path / "other-data"
    shutil.copytree(dirs.data, other)
    engine = Engine(other, HashingEncoder(), threshold=HASHED_THRESHOLD)
    try:
        create_app(make_settings(dirs), engine)
    except ValueError as err:
        assert "data_dir" in str(err)
    else:
        raise AssertionError("an engine over another data dir was accepted")


def test_serve_command_defaults() -> None:
    args = parser().parse_args(["serve"])
    assert (args.host, args.port, args.workers) == ("127.0.0.1", 8000, 1)
    args = parser().parse_args(["serve", "--host", "0.0.0.0", "--port", "9001"])
    assert (args.host, args.port) == ("0.0.0.0", 9001)
