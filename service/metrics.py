"""Prometheus metrics: the only module that imports prometheus_client.

Each app has its own registry, so several apps in one process (tests) do not collide.
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.types import Answer

CONTENT_TYPE = CONTENT_TYPE_LATEST
# Seconds; from a cached static file (~1 ms) to an answer on a busy CPU (seconds).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """The service's counters, histograms and index information, in one registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "lexcite_http_requests",
            "HTTP requests by route template, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "lexcite_http_request_duration_seconds",
            "Time to answer an HTTP request.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.answers = Counter(
            "lexcite_answers", "Questions answered (with citations).", registry=self.registry
        )
        self.abstentions = Counter(
            "lexcite_abstentions",
            "Questions the sources did not answer, by reason.",
            ["reason"],
            registry=self.registry,
        )
        self.disagreements = Counter(
            "lexcite_disagreements", "Answers whose sources disagree.", registry=self.registry
        )
        self.index = Info("lexcite_index", "The index generation served.", registry=self.registry)
        self.ready = Gauge(
            "lexcite_index_ready", "1 when a generation is loaded, else 0.", registry=self.registry
        )
        self.documents = Gauge(
            "lexcite_index_documents", "Documents in the generation served.", registry=self.registry
        )

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def observe_answer(self, answer: Answer) -> None:
        if answer.abstained:
            self.abstentions.labels(answer.abstain_reason or "unknown").inc()
        else:
            self.answers.inc()
        if answer.sources_disagree:
            self.disagreements.inc()

    def render(self, generation: str | None, degraded: bool, documents: int) -> bytes:
        """Given the state of the index, return every metric in the text exposition format."""
        self.index.info({"generation": generation or "", "degraded": str(degraded).lower()})
        self.ready.set(1 if generation else 0)
        self.documents.set(documents)
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Counts and times every HTTP request under its route template (not its raw path)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, observed)
        finally:
            # The router stores the matched route in the scope; a raw path would let any
            # client create new label values without bound.
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.observe_request(
                route, scope["method"], status, time.perf_counter() - started
            )
