"""Request limits: body size, rate, time; and the token bucket behind the rate limit."""

from __future__ import annotations

import time
from collections.abc import Iterator

from fastapi.testclient import TestClient

from service.limits import MAX_CLIENTS, TokenBucket
from service.settings import DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_QUESTION_BYTES
from tests.security.asgi import call
from tests.service.conftest import AUTH, MakeClient

JSON = {"Content-Type": "application/json"}
MIB = 1024 * 1024
CHUNK = 64 * 1024


def test_a_declared_body_over_the_limit_is_413_before_it_is_read(make_client: MakeClient) -> None:
    client = make_client(max_question_bytes=1000)
    response = client.post("/v1/ask", json={"question": "x" * 2000})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert client.post("/v1/ask", json={"question": "What is 287(g)?"}).status_code == 200


def test_a_streamed_body_without_length_is_cut_at_the_limit(make_client: MakeClient) -> None:
    client = make_client(max_question_bytes=1000, max_body_bytes=2000)

    def chunks() -> Iterator[bytes]:
        yield b'{"question": "'
        for _ in range(50):
            yield b"x" * 100
        yield b'"}'

    response = client.post(
        "/v1/ask", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    upload = client.post(
        "/v1/documents", content=chunks(), headers={**AUTH, "Content-Type": "application/json"}
    )
    assert upload.status_code == 413
    assert "2,000-byte" in upload.json()["error"]["message"]


def test_questions_have_a_small_limit_and_uploads_keep_the_large_one(
    make_client: MakeClient,
) -> None:
    """The default settings: 16 KiB for questions and searches, 6 MiB for staff uploads."""
    client = make_client(
        max_question_bytes=DEFAULT_MAX_QUESTION_BYTES, max_body_bytes=DEFAULT_MAX_BODY_BYTES
    )
    app = client.app
    ask = b'{"question": "What is 287(g)?", "mode": "' + b"x" * 3 * MIB + b'"}'
    declared = call(app, "POST", "/v1/ask", {**JSON, "Content-Length": str(len(ask))}, iter([ask]))
    assert declared.status == 413 and declared.read == 0
    assert b'"too_large"' in declared.body and b"16,384-byte" in declared.body
    streamed = call(
        app, "POST", "/v1/ask", JSON, (ask[i : i + CHUNK] for i in range(0, len(ask), CHUNK))
    )
    assert streamed.status == 413 and b'"too_large"' in streamed.body
    assert DEFAULT_MAX_QUESTION_BYTES < streamed.read <= DEFAULT_MAX_QUESTION_BYTES + CHUNK
    assert streamed.headers["connection"] == "close"
    # A search sent with a body (which it never reads) is held to the questions' limit too.
    search = call(app, "GET", "/v1/search", {"Content-Length": str(len(ask))}, iter([ask]), "q=x")
    assert search.status == 413 and search.read == 0
    # A staff upload twenty times the questions' limit is taken.
    text = "A note on mandamus petitions, written for the upload limit test.\n\n" * 5000
    assert len(text) > 20 * DEFAULT_MAX_QUESTION_BYTES
    doc = {"id": "long-note", "title": "A long note", "text": text, "format": "txt"}
    assert client.post("/v1/documents", json=doc, headers=AUTH).status_code == 201


def test_a_bad_content_length_is_400(make_client: MakeClient) -> None:
    client = make_client()
    response = client.post(
        "/v1/ask",
        content=b"{}",
        headers={"Content-Length": "abc", "Content-Type": "application/json"},
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "bad_request"


def test_clients_past_their_rate_get_429_with_retry_after(make_client: MakeClient) -> None:
    client = make_client(rate_limit_per_minute=3)
    codes = [client.get("/v1/documents").status_code for _ in range(3)]
    assert codes == [200, 200, 200]
    limited = client.get("/v1/documents")
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(limited.headers["retry-after"]) <= 20
    # Probes, metrics and static files are not limited.
    assert client.get("/healthz").status_code == 200
    assert client.get("/static/style.css").status_code == 200
    assert 'status="429"' in client.get("/metrics").text


def test_slow_requests_get_a_504_envelope(make_client: MakeClient) -> None:
    client = make_client(request_timeout_s=0.2)
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    real_ask = runtime.ask

    def slow(*args: object) -> object:
        time.sleep(1.0)
        return real_ask(*args)

    runtime.ask = slow
    # A handler left to finish would answer 200 after its second: the 504 proves the cut.
    response = client.post("/v1/ask", json={"question": "What is a 287(g) agreement?"})
    assert response.status_code == 504
    assert response.json()["error"]["code"] == "timeout"
    assert response.headers["content-security-policy"]


def test_the_token_bucket_refills_at_its_rate() -> None:
    now = [0.0]
    bucket = TokenBucket(60, clock=lambda: now[0])  # one token a second, bursts of 60
    assert all(bucket.take("a") == 0 for _ in range(60))
    assert 0.99 <= bucket.take("a") <= 1.0
    assert bucket.take("b") == 0  # clients have their own buckets
    now[0] += 1.0
    assert bucket.take("a") == 0
    assert bucket.take("a") > 0


def test_the_token_bucket_forgets_the_oldest_clients() -> None:
    bucket = TokenBucket(1, clock=lambda: 0.0)
    for n in range(MAX_CLIENTS + 10):
        bucket.take(f"client-{n}")
    assert len(bucket._buckets) == MAX_CLIENTS
    assert bucket.take(f"client-{MAX_CLIENTS + 9}") > 0  # recent clients are remembered


def test_limits_do_not_block_the_event_loop(make_client: MakeClient) -> None:
    """While one slow answer runs in the threadpool, other requests are served."""
    import threading

    client = make_client()
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    release = threading.Event()
    real_ask = runtime.ask

    def blocked(*args: object) -> object:
        release.wait(5)
        return real_ask(*args)

    runtime.ask = blocked
    results: list[int] = []
    worker = threading.Thread(
        target=lambda: results.append(
            client.post("/v1/ask", json={"question": "What is 287(g)?"}).status_code
        )
    )
    worker.start()
    try:
        time.sleep(0.1)
        assert client.get("/healthz").status_code == 200
        assert client.get("/v1/documents").status_code == 200
    finally:
        release.set()
        worker.join(10)
    assert results == [200]


def test_a_client_is_identified_by_its_address(make_client: MakeClient) -> None:
    client = make_client(rate_limit_per_minute=1)
    assert client.get("/v1/documents").status_code == 200
    assert client.get("/v1/documents").status_code == 429
    other = TestClient(client.app, client=("203.0.113.7", 5000))
    assert other.get("/v1/documents").status_code == 200
