"""Hostile input: each is refused with a clear 4xx in the error envelope (or served exactly),
the process keeps serving, and memory stays bounded.

Already covered in tests/service and not repeated here: a declared or slowly streamed
body over the limit (test_http_limits.py), binary / empty / latin-1 / broken-PDF / huge
uploads and `../escape` ids (test_http_staff.py), `{not json` (test_http_api.py).
"""

from __future__ import annotations

import gc
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.security.asgi import call
from tests.security.conftest import assert_clean_error, assert_no_leak, rss_bytes
from tests.service.conftest import AUTH, Dirs, MakeClient, check_answer, document_texts

JSON = {"Content-Type": "application/json"}
MIB = 1024 * 1024
CHUNK = 64 * 1024
DEEP = 100_000


def endless(total: int, head: bytes = b"") -> Iterator[bytes]:
    """A body of `total` bytes, made lazily in 64 KiB chunks: never held in memory at once."""
    yield head
    block = b"x" * CHUNK
    for _ in range(total // CHUNK):
        yield block


def nested_json(depth: int = DEEP) -> bytes:
    return b"[" * depth + b"]" * depth


# --- bodies over the limit are refused before they are read ---------------------------


MULTIPART = "multipart/form-data; boundary=b0undary"
FORM_HEAD = (
    b'--b0undary\r\nContent-Disposition: form-data; name="id"\r\n\r\nhuge-doc\r\n'
    b'--b0undary\r\nContent-Disposition: form-data; name="title"\r\n\r\nHuge\r\n'
    b'--b0undary\r\nContent-Disposition: form-data; name="file"; filename="huge.txt"\r\n'
    b"Content-Type: text/plain\r\n\r\n"
)


@pytest.mark.parametrize(
    ("path", "headers", "head"),
    [
        ("/v1/ask", JSON, b'{"question": "'),
        ("/v1/documents", {**AUTH, **JSON}, b'{"id": "huge-doc", "title": "Huge", "text": "'),
        ("/v1/documents", {**AUTH, "Content-Type": MULTIPART}, FORM_HEAD),
    ],
    ids=["ask", "upload-json", "upload-multipart"],
)
@pytest.mark.parametrize("limit", [MIB, 6 * MIB], ids=["1MiB", "6MiB"])
def test_a_gigabyte_streamed_without_length_is_cut_at_the_limit(
    make_client: MakeClient, dirs: Dirs, path: str, headers: dict[str, str], head: bytes, limit: int
) -> None:
    # Both limits at `limit`: what is proven is the cut, whatever the route's limit.
    app = make_client(max_body_bytes=limit, max_question_bytes=limit).app
    exchange = call(app, "POST", path, headers, endless(1024 * MIB, head))
    assert exchange.status == 413, exchange.body[:300]
    assert b'"too_large"' in exchange.body
    # Of the gigabyte offered the app pulled the limit and the one chunk that crossed it, and
    # it tells the server to close the connection rather than read the rest.
    assert limit < exchange.read <= limit + CHUNK + len(head)
    assert exchange.headers["connection"] == "close"
    assert not list((dirs.corpus / "documents").glob("huge-doc*"))


def test_a_declared_length_over_the_limit_is_refused_without_reading(
    make_client: MakeClient,
) -> None:
    app = make_client(max_body_bytes=MIB, max_question_bytes=MIB).app
    headers = {**JSON, "Content-Length": str(1024 * MIB)}
    exchange = call(app, "POST", "/v1/ask", headers, endless(1024 * MIB))
    assert exchange.status == 413 and exchange.read == 0
    assert exchange.headers["connection"] == "close"


def test_staff_uploads_without_a_token_are_refused_without_reading(
    make_client: MakeClient,
) -> None:
    app = make_client().app
    headers = {"Content-Type": MULTIPART}
    exchange = call(app, "POST", "/v1/documents", headers, endless(1024 * MIB, FORM_HEAD))
    assert exchange.status == 401
    assert exchange.read <= CHUNK
    assert exchange.headers["connection"] == "close"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("POST", "/no/such/route", 404), ("POST", "/healthz", 405), ("PUT", "/v1/ask", 405)],
)
def test_any_answer_that_leaves_the_body_unread_closes_the_connection(
    client: TestClient, method: str, path: str, status: int
) -> None:
    exchange = call(client.app, method, path, JSON, endless(1024 * MIB))
    assert exchange.status == status and exchange.read <= CHUNK
    assert exchange.headers["connection"] == "close"


def test_a_request_read_to_the_end_keeps_its_connection(client: TestClient) -> None:
    body = b'{"question": "What is 287(g)?"}'
    exchange = call(client.app, "POST", "/v1/ask", JSON, iter([body[:10], body[10:]]))
    assert exchange.status == 200 and exchange.read == len(body)
    assert "connection" not in exchange.headers
    refused = call(client.app, "POST", "/v1/ask", JSON, iter([b'{"question": ""}']))
    assert refused.status == 422 and "connection" not in refused.headers


# --- questions ------------------------------------------------------------------------


@pytest.mark.parametrize("char", ["x", "𝔸"], ids=["ascii", "astral"])
@pytest.mark.parametrize(("length", "status"), [(0, 422), (1, 200), (1000, 200), (1001, 422)])
def test_question_length_is_counted_in_characters_at_the_boundaries(
    client: TestClient, char: str, length: int, status: int
) -> None:
    response = client.post("/v1/ask", json={"question": char * length})
    if status == 200:
        assert response.status_code == 200, response.text
        assert response.json()["question"] == char * length
    else:
        assert_clean_error(response, 422, "invalid_request")
    page = client.get("/", params={"q": char * length})
    # An empty `q` is the page without a question, not an error.
    assert page.status_code == (200 if length == 0 else status)
    assert "text/html" in page.headers["content-type"]
    assert_no_leak(page.text)


# --- invalid JSON and wrong types -----------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b'{"question": "What is 287(g)?"',
        b'{"question": "x"} trailing',
        b"",
        b"[]",
        b"null",
        b'"What is 287(g)?"',
        b'{"question": 287}',
        b'{"question": ["What is 287(g)?"]}',
        b'{"question": {"text": "x"}}',
        b'{"question": null}',
        b'{"question": "x", "k": "five"}',
        b'{"question": "x", "k": 1.5}',
        b'{"question": "x", "k": NaN}',
        b'{"question": "x", "k": 1e999}',
        b'{"question": "x", "mode": "fast"}',
        b'{"question": "x", "filters": "287g"}',
        b'{"question": "x", "filters": {"document_ids": "one-id"}}',
        b'{"question": "x", "filters": {"kinds": [' + b'"k",' * 20 + b'"k"]}}',
        b'{"question": "x", "filters": {"document_ids": [' + b'"d",' * 100 + b'"d"]}}',
        b'{"question": "a\\ud800b"}',
    ],
)
def test_invalid_json_and_wrong_types_are_422(client: TestClient, body: bytes) -> None:
    assert_clean_error(client.post("/v1/ask", content=body, headers=JSON), 422, "invalid_request")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_question_not_sent_as_json_is_422(client: TestClient, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post("/v1/ask", content=b'{"question": "x"}', headers=headers)
    assert_clean_error(response, 422, "invalid_request")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/ask", nested_json()),
        ("/v1/ask", b'{"question": "x", "filters": ' + nested_json() + b"}"),
        ("/v1/ask", b'{"a":' * DEEP + b"1" + b"}" * DEEP),
        ("/v1/documents", nested_json()),
        ("/v1/documents", b'{"id": "deep", "title": "Deep", "text": ' + nested_json() + b"}"),
    ],
    ids=["ask-array", "ask-filters", "ask-object", "upload-array", "upload-text"],
)
def test_json_nested_100k_deep_is_a_4xx_not_a_recursion_error(
    client: TestClient, path: str, body: bytes
) -> None:
    response = client.post(path, content=body, headers={**JSON, **AUTH})
    assert 400 <= response.status_code < 500, response.text
    assert_clean_error(response, response.status_code)
    assert "Recursion" not in response.text
    assert client.get("/healthz").status_code == 200
    assert client.post("/v1/ask", json={"question": "What is 287(g)?"}).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        '{"question": "café"}'.encode("latin-1"),
        nested_json(),
        b'{"question": "x", "k": ' + b"9" * 5000 + b"}",
    ],
    ids=["latin-1", "nested", "5000-digit-int"],
)
def test_bodies_json_cannot_decode_get_a_documented_status(client: TestClient, body: bytes) -> None:
    documented = client.get("/openapi.json").json()["paths"]["/v1/ask"]["post"]["responses"]
    response = client.post("/v1/ask", content=body, headers=JSON)
    assert_clean_error(response, response.status_code)
    assert str(response.status_code) in documented, (response.status_code, sorted(documented))


# --- uploads --------------------------------------------------------------------------


def upload(client: TestClient, name: str, data: bytes, document_id: str = "odd-upload") -> Any:
    files = {"file": (name, data, "application/octet-stream")}
    fields = {"id": document_id, "title": "Odd upload"}
    return client.post("/v1/documents", data=fields, files=files, headers=AUTH)


@pytest.mark.parametrize(
    "html",
    [
        b"<div>" * 5_000 + b"Zebra words nest deep inside divs." + b"</div>" * 5_000,
        b"<b>" * 200_000 + b"Zebra words sit inside unclosed bold tags.",
        b"<ul>" + b"<li>Zebra item" * 10_000,
        b"<table>" + b"<tr><td>Zebra cell" * 10_000,
        b"<p>" + b"<span>" * 100_000 + b"Zebra words in spans." + b"</span>" * 100_000,
    ],
    ids=["div-5k", "b-200k-unclosed", "li-10k", "td-10k", "span-100k"],
)
def test_pathological_html_is_read_or_refused_and_served_exactly(
    client: TestClient, html: bytes
) -> None:
    response = upload(client, "deep.html", html)
    assert response.status_code in (201, 400), response.text
    if response.status_code == 400:
        assert_clean_error(response, 400)
        return
    text = client.get("/v1/documents/odd-upload").json()["text"]
    assert "Zebra" in text and "<" not in text
    answer = client.post("/v1/ask", json={"question": "Where do zebra words sit?"}).json()
    check_answer(answer, document_texts(client))


def test_deeply_nested_divs_are_refused_before_parsing(client: TestClient) -> None:
    # lexbor's parse grows with the square of the depth (40k nested <div>s: seconds), so
    # such pages are refused by a linear depth scan before the parser sees them.
    html = b"<div>" * 40_000 + b"Zebra words nest deep inside divs." + b"</div>" * 40_000
    response = upload(client, "deep.html", html)  # 440 kB: a twelfth of the upload limit
    assert response.status_code == 400, response.text
    assert "nested deeper than" in response.json()["error"]["message"]


# --- path traversal -------------------------------------------------------------------


def files_outside(root: Path, inside: tuple[Path, ...]) -> set[Path]:
    return {
        p for p in root.rglob("*") if p.is_file() and not any(p.is_relative_to(d) for d in inside)
    }


@pytest.mark.parametrize(
    "name",
    [
        "../../etc/passwd.txt",
        "/etc/passwd.txt",
        "..%2f..%2fescape.txt",
        "..\\..\\escape.txt",
        "sub/../../../escape.txt",
        "C:\\Windows\\escape.txt",
    ],
)
def test_upload_file_names_cannot_leave_the_corpus(
    client: TestClient, dirs: Dirs, name: str
) -> None:
    root = dirs.corpus.parent
    before = files_outside(root, (dirs.corpus, dirs.data))
    response = upload(client, name, b"Zebra words travel nowhere at all.", "traversal-doc")
    assert response.status_code == 201, response.text
    assert_no_leak(response.text)
    manifest = tomllib.loads((dirs.corpus / "manifest.toml").read_text("utf-8"))
    entry = next(d for d in manifest["documents"] if d["id"] == "traversal-doc")
    assert entry["file"] == "documents/traversal-doc.txt"
    assert (dirs.corpus / entry["file"]).read_bytes() == b"Zebra words travel nowhere at all."
    assert files_outside(root, (dirs.corpus, dirs.data)) == before
    assert not list(Path("/etc").glob("escape*"))


TRAVERSAL_IDS = [
    "../../etc/passwd",
    "..%2F..%2Fetc%2Fpasswd",
    "%2Fetc%2Fpasswd",
    "%2e%2e%2f%2e%2e%2fmanifest.toml",
    "..",
    "task-force-model-mandamus%2F..%2F..%2Fmanifest.toml",
]


@pytest.mark.parametrize("document_id", TRAVERSAL_IDS)
def test_traversal_in_ids_is_refused_on_every_route(
    client: TestClient, dirs: Dirs, document_id: str
) -> None:
    app = client.app
    manifest = (dirs.corpus / "manifest.toml").read_bytes()
    payload = {"id": document_id, "title": "T", "text": "Zebra words here."}
    for exchange, page in (
        (call(app, "GET", f"/v1/documents/{document_id}"), False),
        (call(app, "DELETE", f"/v1/documents/{document_id}", AUTH), False),
        (call(app, "GET", f"/documents/{document_id}"), True),
    ):
        assert exchange.status in (404, 405, 422), (exchange.status, exchange.body[:200])
        assert_no_leak(exchange.body.decode("utf-8", "replace"))
        assert b"[[documents]]" not in exchange.body and b"root:" not in exchange.body
        if not page:
            assert b'"error"' in exchange.body
    response = client.post("/v1/documents", json=payload, headers=AUTH)
    assert_clean_error(response, 422, "invalid_request")
    assert (dirs.corpus / "manifest.toml").read_bytes() == manifest


@pytest.mark.parametrize(
    "path",
    [
        "/static/../app.py",
        "/static/../../pyproject.toml",
        "/static/%2e%2e/app.py",
        "/static/..%2fapp.py",
        "/static/..%2f..%2fpyproject.toml",
        "/static//etc/passwd",
        "/static/../templates/base.html",
    ],
)
def test_static_files_cannot_be_escaped(client: TestClient, path: str) -> None:
    exchange = call(client.app, "GET", path)
    assert exchange.status == 404, (exchange.status, exchange.body[:200])
    for secret in (b"create_app", b"[project]", b"root:", b"{% block"):
        assert secret not in exchange.body


# --- invisible and direction-changing characters -------------------------------------

BIDI = "\u202e\u202d\u2066\u2067\u2068\u2069\u200e\u200f"
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
TRICKY = BIDI + ZERO_WIDTH


def test_bidi_and_zero_width_characters_keep_citations_exact(client: TestClient) -> None:
    text = (
        f"\ufeffZebra mandamus{BIDI[0]} is a remedy{ZERO_WIDTH[0]} that courts grant.\n\n"
        f"The zebra{ZERO_WIDTH[2]} petition must be filed{BIDI[2]} in triplicate{BIDI[5]}.\n\n"
        f"A zebra{ZERO_WIDTH} writ of{BIDI} mandamus compels the striped agency to act."
    )
    doc = {"id": "bidi-doc", "title": f"Zebra {BIDI} title", "text": text}
    assert client.post("/v1/documents", json=doc, headers=AUTH).status_code == 201
    texts = document_texts(client)
    questions = [
        f"What is zebra{BIDI[0]} mandamus?",
        f"zebra{ZERO_WIDTH[0]}petition triplicate{TRICKY}",
        f"{BIDI[0]}zebra writ striped agency{BIDI[5]}",
        TRICKY,
    ]
    cited = 0
    for question in questions:
        response = client.post("/v1/ask", json={"question": question})
        assert response.status_code in (200, 422), response.text
        if response.status_code == 422:  # nothing but invisible characters
            assert question.strip(TRICKY) == ""
            continue
        answer = response.json()
        check_answer(answer, texts)
        assert answer["question"] == question.strip()
        cited += sum(c["document_id"] == "bidi-doc" for c in answer["citations"])
        for c in answer["citations"]:
            page = client.get(f"/documents/{c['document_id']}?start={c['start']}&end={c['end']}")
            assert page.status_code == 200
    assert cited >= 2
    results = client.get("/v1/search", params={"q": f"zebra{TRICKY} writ"}).json()["results"]
    for r in results:
        assert texts[r["document_id"]][r["start"] : r["end"]] == r["text"]


# --- memory and survival --------------------------------------------------------------


def bad_requests(client: TestClient) -> list[Callable[[], Any]]:
    """One of each kind of bad request, as calls to repeat."""
    post = client.post
    return [
        lambda: post("/v1/ask", content=b"{not json", headers=JSON),
        lambda: post("/v1/ask", content=nested_json(), headers=JSON),
        lambda: post("/v1/ask", content='{"question": "é"}'.encode("latin-1"), headers=JSON),
        lambda: post("/v1/ask", json={"question": "x" * 1001}),
        lambda: post("/v1/ask", json={"question": 5, "k": "five"}),
        lambda: post("/v1/ask", content=b"x" * (2 * MIB), headers=JSON),
        lambda: post("/v1/documents", content=nested_json(), headers={**JSON, **AUTH}),
        lambda: post("/v1/documents", json={"id": "../../etc/passwd"}, headers=AUTH),
        lambda: post("/v1/documents", json={"id": "x"}, headers={"Authorization": "Bearer no"}),
        lambda: client.get("/v1/documents/..%2F..%2Fetc%2Fpasswd"),
    ]


def test_200_bad_requests_leave_the_process_serving_within_50_mb(
    make_client: MakeClient,
) -> None:
    client = make_client(max_body_bytes=MIB)
    kinds = bad_requests(client)
    for send in kinds:  # warm up: first-use allocations are not a leak
        send()
    gc.collect()
    before = rss_bytes()
    for n in range(200):
        response = kinds[n % len(kinds)]()
        assert 400 <= response.status_code < 500, response.text
        assert_no_leak(response.text)
    gc.collect()
    grown = rss_bytes() - before
    assert grown < 50 * MIB, f"RSS grew by {grown / MIB:.1f} MiB"
    assert client.get("/healthz").status_code == 200
    assert client.post("/v1/ask", json={"question": "What is 287(g)?"}).status_code == 200
