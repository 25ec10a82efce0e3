"""Load shedding: a bounded number of requests doing model work, as ASGI middleware.

At most `max_in_flight` answers and searches are admitted; past that a request is refused at
once with 503 `overloaded` and `Retry-After`, instead of queueing until the per-request
timeout turns it into a 504 (its work still running, for nobody). Of those admitted, at most
`max_running` run at a time; the others wait on the event loop, where waiting costs no
thread. Probes, documents and static files are not model work: `/healthz` stays fast while
answers are being shed.
"""

from __future__ import annotations

import asyncio
import os
from collections import deque
from collections.abc import Callable
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from service.limits import send_error

# Measured with wrk on 2 cores (docs/security.md): ~120 answers/s whatever the concurrency,
# so admitting more only lengthens the queue. 32 is twice the 16 connections the load test
# drives without one refusal (with a cap of exactly 16, a reply and the next request can
# overlap for a moment and be refused); 32 waiting answers drain in about 0.3 s.
DEFAULT_MAX_IN_FLIGHT = 32
# Every running answer is a thread contending for the GIL with the event loop, which must
# also refuse the excess: under 256 connections, 32 running gave p99 3.1 s and /healthz
# 2.7 s; 4 running gave p99 0.7 s and /healthz 0.2 s at the same throughput (2 running
# lost 12 % of it). Two per core keeps both cores busy while one thread waits.
DEFAULT_MAX_RUNNING = 2 * (os.cpu_count() or 1)
# 32 answers at ~120/s drain in about a quarter of a second: one second is ample.
RETRY_AFTER_S = 1
# Pages that run a search or an answer when given a non-empty `q`.
_ASKING_PAGES = frozenset({"/", "/embed", "/staff"})


def uses_model(scope: Scope) -> bool:
    """Given a request scope, return whether it runs the encoder (an answer or a search)."""
    method, path = scope["method"], scope["path"]
    if (method, path) in (("POST", "/v1/ask"), ("GET", "/v1/search")):
        return True
    if method == "GET" and path in _ASKING_PAGES:
        query = scope.get("query_string", b"").decode("latin-1")
        return any(k == "q" and v.strip() for k, v in parse_qsl(query))
    return False


class LoadShed:
    """Admit at most `max_in_flight` requests that `applies` to, run `max_running` of them
    at a time, and answer the rest 503 with Retry-After. `max_in_flight` 0 turns it off.

    The counts live on the event loop (middleware never runs in threads), so they need no
    lock. A request abandoned by the timeout stops counting when its 504 is sent, although
    its thread finishes the work: the bounds keep the queue far shorter than the timeout.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        applies: Callable[[Scope], bool] = uses_model,
        max_running: int = DEFAULT_MAX_RUNNING,
    ) -> None:
        self.app = app
        self.max_in_flight = max_in_flight
        self.max_running = max(1, max_running)
        self.applies = applies
        self.in_flight = 0  # admitted: running or waiting to run
        self.running = 0
        self._waiting: deque[asyncio.Future[None]] = deque()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.max_in_flight <= 0 or not self.applies(scope):
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.max_in_flight:
            await send_error(
                send,
                503,
                "overloaded",
                f"the service is answering {self.max_in_flight} questions already; "
                f"try again in {RETRY_AFTER_S} s",
                {"Retry-After": str(RETRY_AFTER_S)},
            )
            return
        self.in_flight += 1
        try:
            await self._start()
            try:
                await self.app(scope, receive, send)
            finally:
                self._finish()
        finally:
            self.in_flight -= 1

    async def _start(self) -> None:
        """Take a running slot, waiting in line (FIFO) while all are taken."""
        if self.running < self.max_running:
            self.running += 1
            return
        turn = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        try:
            await turn
        except BaseException:
            if turn.done() and not turn.cancelled():
                self._finish()  # handed the slot as it was cancelled: pass it on
            elif turn in self._waiting:
                self._waiting.remove(turn)
            raise

    def _finish(self) -> None:
        """Give the slot to the next in line, or free it."""
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(None)  # the slot passes on: `running` is unchanged
                return
        self.running -= 1
