"""A raw ASGI client: sends exactly the path and body chunks given (no URL normalisation,
no buffering) and counts how many body bytes the app actually pulled."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Message


@dataclass
class Exchange:
    """What one request did: the status and body sent back, and the body bytes read."""

    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    read: int = 0


def call(
    app: ASGIApp,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    chunks: Iterator[bytes] | None = None,
    query: str = "",
    timeout: float = 30.0,
) -> Exchange:
    """Given an app (already started) and a request, return the Exchange; blocking."""
    return asyncio.run(_call(app, method, path, headers or {}, chunks, query, timeout))


async def _call(
    app: ASGIApp,
    method: str,
    path: str,
    headers: dict[str, str],
    chunks: Iterator[bytes] | None,
    query: str,
    timeout: float,
) -> Exchange:
    exchange = Exchange()
    if chunks is not None and "content-length" not in {k.lower() for k in headers}:
        headers = {**headers, "Transfer-Encoding": "chunked"}  # as a server passes it on
    pending = iter(chunks or ())
    next_chunk = next(pending, None)
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode("latin-1"),
        "query_string": query.encode("latin-1"),
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }

    async def receive() -> Message:
        nonlocal next_chunk
        if next_chunk is None:
            # The whole body was read: the client waits for the answer and stays connected.
            await asyncio.sleep(timeout)
            return {"type": "http.disconnect"}
        chunk, next_chunk = next_chunk, next(pending, None)
        exchange.read += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": next_chunk is not None}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            exchange.status = message["status"]
            exchange.headers = {k.decode(): v.decode() for k, v in message.get("headers", [])}
        elif message["type"] == "http.response.body":
            exchange.body += message.get("body", b"")

    await asyncio.wait_for(app(scope, receive, send), timeout)
    return exchange
