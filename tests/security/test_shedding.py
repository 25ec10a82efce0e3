"""Load shedding (service/shedding.py): past `max_in_flight` answers and searches at once, a
request is refused at once with 503 and Retry-After; everything else is still served.

The app here is wired as docs/security.md proposes for service/app.py: LoadShed between
BodyLimit and Timeout, inside the security headers and the metrics.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.middleware import Middleware
from starlette.types import Message, Receive, Scope, Send

from service.app import create_app
from service.engine import Engine
from service.shedding import DEFAULT_MAX_IN_FLIGHT, RETRY_AFTER_S, LoadShed, uses_model
from tests.conftest import HashingEncoder
from tests.security.conftest import assert_clean_error
from tests.service.conftest import AUTH, HASHED_THRESHOLD, Dirs, make_settings

ASK = {"question": "What is a 287(g) agreement?"}


def shedding_app(dirs: Dirs, max_in_flight: int, max_running: int, **overrides: Any) -> Any:
    app = create_app(
        make_settings(dirs, **overrides),
        Engine(dirs.data, HashingEncoder(), threshold=HASHED_THRESHOLD),
    )
    classes: list[object] = [m.cls for m in app.user_middleware]
    shed = Middleware(LoadShed, max_in_flight=max_in_flight, max_running=max_running)
    app.user_middleware[classes.index(LoadShed)] = shed  # the app's own, with test bounds
    return app


@pytest.fixture
def make_shedding(dirs: Dirs) -> Iterator[Callable[..., TestClient]]:
    clients: list[TestClient] = []

    def make(max_in_flight: int, max_running: int = 4, **overrides: Any) -> TestClient:
        app = shedding_app(dirs, max_in_flight, max_running, **overrides)
        client = TestClient(app, raise_server_exceptions=False)
        clients.append(client.__enter__())
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def shed_of(client: TestClient) -> LoadShed:
    """The LoadShed instance of a started app's middleware stack."""
    layer: Any = client.app.middleware_stack  # type: ignore[attr-defined]
    while not isinstance(layer, LoadShed):
        layer = layer.app
    return layer


class Blocked:
    """Holds `runtime.ask` until released, so requests stay in flight on purpose; counts how
    many run at once."""

    def __init__(self, client: TestClient) -> None:
        self.release = threading.Event()
        runtime = client.app.state.runtime  # type: ignore[attr-defined]
        real = runtime.ask
        self.running = self.peak = 0
        lock = threading.Lock()

        def held(*args: Any) -> Any:
            with lock:
                self.running += 1
                self.peak = max(self.peak, self.running)
            self.release.wait(10)
            with lock:
                self.running -= 1
            return real(*args)

        runtime.ask = held
        self.statuses: list[int] = []
        self.threads: list[threading.Thread] = []
        self.client = client

    def send(self, n: int) -> None:
        for _ in range(n):
            thread = threading.Thread(target=self._ask)
            thread.start()
            self.threads.append(thread)

    def _ask(self) -> None:
        self.statuses.append(self.client.post("/v1/ask", json=ASK).status_code)

    def join(self) -> None:
        self.release.set()
        for thread in self.threads:
            thread.join(10)


def wait_until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


@pytest.mark.parametrize(
    ("method", "path", "query", "expected"),
    [
        ("POST", "/v1/ask", "", True),
        ("GET", "/v1/search", "q=mandamus", True),
        ("GET", "/", "q=What+is+287%28g%29%3F", True),
        ("GET", "/staff", "q=mandamus&kind=news", True),
        ("GET", "/", "", False),
        ("GET", "/", "q=+++", False),
        ("GET", "/staff", "kind=news", False),
        ("GET", "/v1/documents", "", False),
        ("GET", "/documents/x", "q=ignored", False),
        ("POST", "/v1/documents", "", False),
        ("GET", "/healthz", "", False),
        ("GET", "/readyz", "", False),
        ("GET", "/metrics", "", False),
        ("GET", "/static/app.js", "", False),
    ],
)
def test_only_answers_and_searches_are_sheddable(
    method: str, path: str, query: str, expected: bool
) -> None:
    scope = {"type": "http", "method": method, "path": path, "query_string": query.encode()}
    assert uses_model(scope) is expected


def test_past_the_cap_answers_are_refused_at_once_and_the_rest_is_served(
    make_shedding: Callable[..., TestClient],
) -> None:
    client = make_shedding(2)
    shed = shed_of(client)
    blocked = Blocked(client)
    try:
        blocked.send(2)
        wait_until(lambda: shed.in_flight == 2)
        requests: list[Callable[[], Any]] = [
            lambda: client.post("/v1/ask", json=ASK),
            lambda: client.get("/v1/search", params={"q": "mandamus"}),
            lambda: client.get("/", params={"q": "What is 287(g)?"}),
        ]
        # The admitted requests are held until released below, so an answer here at all
        # shows the extra ones were refused, not queued behind them.
        for request in requests:
            response = request()
            assert_clean_error(response, 503, "overloaded")
            assert response.headers["retry-after"] == str(RETRY_AFTER_S)
            assert response.headers["x-content-type-options"] == "nosniff"
        for path in ("/healthz", "/readyz", "/v1/documents", "/", "/static/style.css"):
            assert client.get(path).status_code == 200, path
        assert 'status="503"' in client.get("/metrics").text
    finally:
        blocked.join()
    assert blocked.statuses == [200, 200]
    assert shed.in_flight == 0
    assert client.post("/v1/ask", json=ASK).status_code == 200


def test_admitted_answers_beyond_the_running_bound_wait_their_turn(
    make_shedding: Callable[..., TestClient],
) -> None:
    client = make_shedding(3, max_running=1)
    shed = shed_of(client)
    blocked = Blocked(client)
    try:
        blocked.send(3)
        wait_until(lambda: shed.in_flight == 3)
        assert shed.running == 1 and len(shed._waiting) == 2
        assert_clean_error(client.post("/v1/ask", json=ASK), 503, "overloaded")
    finally:
        blocked.join()
    assert blocked.statuses == [200, 200, 200] and blocked.peak == 1
    assert shed.in_flight == 0 and shed.running == 0


def test_a_cancelled_wait_gives_up_its_place_or_passes_its_slot_on() -> None:
    async def scenario() -> list[str]:
        gates = {name: asyncio.Event() for name in ("a", "b", "c", "d")}
        ran: list[str] = []

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            ran.append(scope["path"])
            await gates[scope["path"]].wait()

        class Hooked(LoadShed):
            after_finish: Callable[[], object] = staticmethod(lambda: None)

            def _finish(self) -> None:
                super()._finish()
                self.after_finish()

        shed = Hooked(app, max_in_flight=4, applies=lambda scope: True, max_running=1)

        def start(name: str) -> asyncio.Task[None]:
            return asyncio.ensure_future(shed({"type": "http", "path": name}, receive, send))

        async def receive() -> Message:
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            pass

        a, b, c, d = (start(n) for n in "abcd")
        await asyncio.sleep(0)
        assert (shed.in_flight, shed.running, len(shed._waiting)) == (4, 1, 3)
        b.cancel()  # waiting: leaves the line
        await asyncio.gather(b, return_exceptions=True)
        assert (shed.in_flight, len(shed._waiting)) == (3, 2)
        # a hands its slot to c, and c is cancelled before it runs: the slot must reach d.
        shed.after_finish = lambda: c.cancel() and None
        gates["a"].set()
        await a
        shed.after_finish = lambda: None
        await asyncio.gather(c, return_exceptions=True)
        gates["d"].set()
        await asyncio.wait_for(d, 5)
        assert (shed.in_flight, shed.running, len(shed._waiting)) == (0, 0, 0)
        return ran

    assert asyncio.run(scenario()) == ["a", "d"]


def test_staff_changes_are_not_shed(make_shedding: Callable[..., TestClient]) -> None:
    client = make_shedding(1)
    blocked = Blocked(client)
    try:
        blocked.send(1)
        wait_until(lambda: shed_of(client).in_flight == 1)
        doc = {"id": "zebra-note", "title": "Zebra", "text": "Zebra mandamus is a remedy."}
        assert client.post("/v1/documents", json=doc, headers=AUTH).status_code == 201
    finally:
        blocked.join()


def test_failed_and_timed_out_requests_leave_the_count(
    make_shedding: Callable[..., TestClient],
) -> None:
    client = make_shedding(1, request_timeout_s=0.2)
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    real = runtime.ask

    def broken(*args: Any) -> Any:
        raise RuntimeError("boom")

    runtime.ask = broken
    assert client.post("/v1/ask", json=ASK).status_code == 500

    def slow(*args: Any) -> Any:
        time.sleep(0.5)
        return real(*args)

    runtime.ask = slow
    assert client.post("/v1/ask", json=ASK).status_code == 504
    assert shed_of(client).in_flight == 0
    runtime.ask = real
    assert client.post("/v1/ask", json=ASK).status_code == 200


def test_a_cap_of_zero_turns_shedding_off(make_shedding: Callable[..., TestClient]) -> None:
    client = make_shedding(0)
    blocked = Blocked(client)
    try:
        blocked.send(DEFAULT_MAX_IN_FLIGHT // 4)
        time.sleep(0.2)
        assert client.get("/v1/search", params={"q": "mandamus"}).status_code == 200
    finally:
        blocked.join()
    assert blocked.statuses == [200] * (DEFAULT_MAX_IN_FLIGHT // 4)


def test_the_app_sheds_load(dirs: Dirs) -> None:
    classes: list[object] = [m.cls for m in create_app(make_settings(dirs)).user_middleware]
    assert LoadShed in classes
