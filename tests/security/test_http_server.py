"""Requests uvicorn itself refuses, over TCP to a real server: the README's one exception
to the error envelope.

A Content-Length that is not a number, Content-Length with Transfer-Encoding, a 75 KB
URL and bytes that are not HTTP never reach the app: uvicorn answers 400 `text/plain`
"Invalid HTTP request received." and closes the connection, and the server goes on
answering with the envelope (tests/reliability/serve_entry.py, the test encoder).
"""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator

import httpx
import pytest

from index import build
from ingest.clean import Rules
from tests.conftest import CORPUS_DIR, HashingEncoder
from tests.reliability.helpers import Server, start_server

pytestmark = pytest.mark.server

MALFORMED = {
    "content-length-not-a-number": b"POST /v1/ask HTTP/1.1\r\nHost: x\r\n"
    b"Content-Length: abc\r\n\r\n{}",
    "content-length-and-chunked": b"POST /v1/ask HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "75-kb-url": b"GET /v1/search?q=" + b"a" * 75_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    "not-http": b"GARBAGE\r\n\r\n",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, rules: Rules) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("http-server")
    shutil.copytree(CORPUS_DIR, root / "corpus")
    build.ingest(root / "corpus", root / "data", HashingEncoder(), rules)
    started: list[Server] = []
    try:
        yield start_server(root, 0, started=started)
    finally:
        for served in started:  # also when it never became ready
            served.kill()


def exchange(url: str, request: bytes) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(request)
        reply = b""
        while chunk := sock.recv(65536):  # ends when the server closes the connection
            reply += chunk
    return reply


@pytest.mark.parametrize("request_bytes", MALFORMED.values(), ids=MALFORMED.keys())
def test_what_uvicorn_cannot_parse_is_its_own_400_and_the_server_goes_on(
    server: Server, request_bytes: bytes
) -> None:
    reply = exchange(server.url, request_bytes)
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    assert b"content-type: text/plain" in head.lower()
    assert b"connection: close" in head.lower()
    assert body == b"Invalid HTTP request received."
    after = httpx.get(server.url + "/v1/documents/nope")
    assert after.status_code == 404 and after.json()["error"]["code"] == "not_found"


def test_a_request_the_app_receives_gets_the_envelope(server: Server) -> None:
    # A body that parses as HTTP but not as JSON reaches the app: the envelope.
    response = httpx.post(
        server.url + "/v1/ask", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert response.headers["content-type"] == "application/json"
    assert set(response.json()) == {"error"}
