"""Request limits as plain ASGI middleware: body size, per-client rate, and time.

Each refuses with the API's error envelope before the request reaches a handler.
"""

from __future__ import annotations

import asyncio
import json
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service import logs

# Clients remembered by the rate limiter; the least recently seen is forgotten first, so a
# flood of addresses costs bounded memory (a forgotten client starts with a full bucket).
MAX_CLIENTS = 10_000
# Sent with an answer that goes out before its request body was read to the end. Without it
# uvicorn keeps the connection and reads (and throws away) the rest of the body for as long
# as the client sends it: a gigabyte streamed at a 413 was read whole (tests/security).
CLOSE = {"Connection": "close"}


async def send_error(
    send: Send, status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> None:
    """Send a complete JSON error response `{"error": {"code", "message", "request_id"}}`."""
    error = {"code": code, "message": message, "request_id": logs.current()}
    body = json.dumps({"error": error}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def declares_body(scope: Scope) -> bool:
    """Given a request scope, return whether a body follows (Content-Length > 0, or chunked)."""
    headers = dict(scope["headers"])
    length = headers.get(b"content-length", b"0").strip()
    return length not in (b"", b"0") or b"transfer-encoding" in headers


class BodyTooLarge(HTTPException):
    """A request body grew past the limit while it was being read."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is over the {limit:,}-byte limit")


class BodyLimit:
    """Refuse bodies over `max_bytes` (or over `larger` for the requests `is_larger` says
    so for: staff uploads), by Content-Length up front, else while streaming; either way
    before the body is parsed.

    Any answer sent before the request body was read to the end (a 413, but also a 401, 404
    or 503 that never needed the body) closes the connection, so that the server stops
    reading; a limit of 0 turns the size limit off, not that.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        larger: int | None = None,
        is_larger: Callable[[Scope], bool] = lambda scope: False,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger = max_bytes if larger is None else larger
        self.is_larger = is_larger

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.larger if self.is_larger(scope) else self.max_bytes
        pending = declares_body(scope)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and limit > 0:
            if not declared.isdigit():
                message = "Content-Length is not a number"
                await send_error(send, 400, "bad_request", message, CLOSE)
                return
            if int(declared) > limit:
                detail = BodyTooLarge(limit).detail
                await send_error(send, 413, "too_large", detail, CLOSE)
                return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received, pending
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                pending = pending and bool(message.get("more_body", False))
                if 0 < limit < received:
                    # Raised inside the app: FastAPI passes HTTPExceptions through body
                    # parsing, so the app's handler answers 413 with the usual envelope.
                    raise BodyTooLarge(limit)
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if pending:
                    close = [(b"connection", b"close")]
                    message = {**message, "headers": [*message.get("headers", []), *close]}
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except BodyTooLarge as err:
            if started:
                raise
            await send_error(send, 413, "too_large", err.detail, CLOSE)


class TokenBucket:
    """Per-key token buckets: `rate_per_minute` tokens a minute, bursts up to that many."""

    def __init__(self, rate_per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(rate_per_minute)
        self.per_second = rate_per_minute / 60.0
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Take a token for key; return 0 when allowed, else seconds until one is available."""
        now = self.clock()
        with self._lock:
            tokens, then = self._buckets.pop(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - then) * self.per_second)
            wait = 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.per_second
            self._buckets[key] = (tokens - 1.0 if wait == 0.0 else tokens, now)
            while len(self._buckets) > MAX_CLIENTS:
                self._buckets.popitem(last=False)
        return wait


class RateLimit:
    """Answer 429 with Retry-After to a client (by IP) past its rate; 0 turns it off."""

    def __init__(
        self,
        app: ASGIApp,
        rate_per_minute: int,
        exempt: Callable[[Scope], bool] = lambda scope: False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.exempt = exempt
        self.buckets = TokenBucket(rate_per_minute, clock) if rate_per_minute > 0 else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.buckets is None or self.exempt(scope):
            await self.app(scope, receive, send)
            return
        # The client's address: behind trusted proxies service.proxies has put the one
        # they forwarded for here.
        client = scope.get("client")
        wait = self.buckets.take(client[0] if client else "unknown")
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            await send_error(
                send,
                429,
                "rate_limited",
                f"too many requests; try again in {seconds} s",
                {"Retry-After": str(seconds), **(CLOSE if declares_body(scope) else {})},
            )
            return
        await self.app(scope, receive, send)


class Timeout:
    """Answer 504 when a request has not started its response within `seconds`.

    The work itself may be running in a thread, which cannot be stopped: it finishes in the
    background and its response is dropped. Requests `exempt` says so for are not limited.
    """

    def __init__(
        self,
        app: ASGIApp,
        seconds: float,
        exempt: Callable[[Scope], bool] = lambda scope: False,
    ) -> None:
        self.app = app
        self.seconds = seconds
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.seconds <= 0 or self.exempt(scope):
            await self.app(scope, receive, send)
            return
        started = expired = False

        async def guarded(message: Message) -> None:
            nonlocal started
            if expired:
                return
            started = True
            await send(message)

        task = asyncio.ensure_future(self.app(scope, receive, guarded))
        done, _ = await asyncio.wait({task}, timeout=self.seconds)
        if done or started:
            await task
            return
        expired = True
        task.add_done_callback(_consume)
        task.cancel()
        await send_error(
            send, 504, "timeout", f"the request took longer than {self.seconds:g} s and was stopped"
        )


def _consume(task: asyncio.Future[None]) -> None:
    """Retrieve an abandoned task's outcome so asyncio does not log it as never retrieved."""
    if not task.cancelled():
        task.exception()
