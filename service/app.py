"""The ASGI app: `create_app(settings, engine=None)` assembles routes, pages, middleware and
error handlers; the engine and encoder load once, in the lifespan.

Run it with `lexcite serve`, or `uvicorn --factory service.app:create_app`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from index.errors import Busy, IndexStageError, ModelUnavailable, NoIndex
from ingest.errors import BadDocument, IngestError, ManifestError
from service import logs, pages, routes
from service.deps import Runtime, ServiceError
from service.engine import Engine
from service.limits import BodyLimit, RateLimit, Timeout
from service.metrics import MetricsMiddleware
from service.proxies import ClientAddress
from service.schemas import ErrorResponse
from service.settings import Settings, get_settings
from service.shedding import LoadShed

log = logging.getLogger("lexcite.service")

STATIC = Path(__file__).parent / "static"
# `default-src 'self'` with no 'unsafe-inline': a script or handler that corpus text smuggles
# into a page cannot run even if escaping ever failed.
CSP = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# Pages other sites may show in an iframe, from the origins in LEXCITE_EMBED_ORIGINS only:
# every other page stays unframeable (clickjacking the staff page's delete buttons).
EMBEDDABLE = frozenset({"/embed"})
# Swagger UI is an inline script and assets from a CDN; only /docs (which shows no corpus
# text) is allowed them.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' https://cdn.jsdelivr.net; img-src 'self' data: "
    "https://fastapi.tiangolo.com; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
# Domain errors of the other stages and the HTTP status and code each becomes.
DOMAIN_ERRORS: tuple[tuple[type[Exception], int, str], ...] = (
    (NoIndex, 503, "no_index"),
    (Busy, 409, "busy"),
    (ModelUnavailable, 503, "model_unavailable"),
    (IndexStageError, 503, "index_unavailable"),
    (BadDocument, 400, "bad_document"),
    (ManifestError, 409, "corpus_error"),
    (IngestError, 400, "ingest_error"),
)
# Errors that go away by themselves (an ingest finishing, an index being published).
TRANSIENT = frozenset({"no_index", "busy", "index_unavailable"})
RETRY_AFTER_S = 5
HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """Given settings (default: the environment's) and optionally a built engine, return the app."""
    settings = settings or get_settings()
    runtime = Runtime(settings, engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(runtime.start)
        yield

    app = FastAPI(
        title="lexcite",
        summary="Answers made only of verbatim, cited source sentences.",
        version="0.1.0",
        lifespan=lifespan,
        redoc_url=None,
        middleware=_middleware(settings, runtime),
    )
    app.state.runtime = runtime
    app.include_router(routes.router)
    app.include_router(routes.staff)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    _handle_errors(app, settings)
    return app


def _middleware(settings: Settings, runtime: Runtime) -> list[Middleware]:
    """Outermost first: the client's real address, the request id and access log, headers on
    every answer, then CORS, metrics, and the limits."""
    stack = [
        Middleware(ClientAddress, trusted=settings.trusted_proxies, header=settings.proxy_header),
        Middleware(logs.RequestLog),
        Middleware(SecurityHeaders, embed_origins=settings.embed_origins),
    ]
    if settings.cors_origins:
        stack.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "POST", "DELETE"],
                allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
                expose_headers=["X-Request-ID"],
            )
        )
    return [
        *stack,
        Middleware(MetricsMiddleware, metrics=runtime.metrics),
        Middleware(RateLimit, rate_per_minute=settings.rate_limit_per_minute, exempt=_unmetered),
        Middleware(
            BodyLimit,
            max_bytes=settings.max_question_bytes,
            larger=settings.max_body_bytes,
            is_larger=_is_upload,
        ),
        # Here, so a refused request closes its connection and never starts a task.
        Middleware(LoadShed, max_in_flight=settings.max_in_flight),
        Middleware(Timeout, seconds=settings.request_timeout_s, exempt=_is_staff_write),
    ]


def _unmetered(scope: Scope) -> bool:
    """Probes, metrics and static files are not rate limited (a page load fetches two)."""
    path: str = scope["path"]
    return path in ("/healthz", "/readyz", "/metrics") or path.startswith("/static/")


def _is_upload(scope: Scope) -> bool:
    """Staff uploads carry documents; every other body is a question (or has no business)."""
    return (scope["method"], scope["path"]) == ("POST", "/v1/documents")


def _is_staff_write(scope: Scope) -> bool:
    """An ingest cannot be stopped halfway, so a 504 would hide that it still goes on."""
    return scope["method"] in ("POST", "DELETE") and scope["path"].startswith("/v1/documents")


class SecurityHeaders:
    """Adds the security headers (and a Content-Security-Policy) to every response.

    The pages in EMBEDDABLE may be framed by `embed_origins` (CSP `frame-ancestors`, and no
    X-Frame-Options, which cannot name origins); with none given, by nobody."""

    def __init__(self, app: ASGIApp, embed_origins: tuple[str, ...] = ()) -> None:
        self.app = app
        self.embed_csp = CSP.replace(
            "frame-ancestors 'none'", "frame-ancestors " + " ".join(embed_origins)
        )
        self.embed_headers = {k: v for k, v in SECURITY_HEADERS.items() if k != "X-Frame-Options"}
        if not embed_origins:
            self.embed_csp, self.embed_headers = CSP, SECURITY_HEADERS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers, csp = SECURITY_HEADERS, CSP
        if scope["path"] == "/docs":
            csp = DOCS_CSP
        elif scope["path"] in EMBEDDABLE:
            headers, csp = self.embed_headers, self.embed_csp

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [
                    (k.lower().encode(), v.encode())
                    for k, v in (*headers.items(), ("Content-Security-Policy", csp))
                    if k.lower().encode() not in names
                ]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)


def _handle_errors(app: FastAPI, settings: Settings) -> None:
    """Map every error to the envelope `{"error": {"code", "message"}}`: never a traceback."""
    hidden = {
        str(p): label
        for label, d in (("<data>", settings.data_dir), ("<corpus>", settings.corpus_dir))
        for p in (d, d.resolve())
    }

    def redact(message: str) -> str:
        for path, label in sorted(hidden.items(), key=lambda item: -len(item[0])):
            message = message.replace(path, label)
        return message

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        code = HTTP_CODES.get(exc.status_code, "error")
        return _error(request, exc.status_code, code, str(exc.detail), exc.headers)

    async def invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        problems = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        return _error(request, 422, "invalid_request", "; ".join(problems[:5]))

    async def service_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ServiceError)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return _error(request, exc.status, exc.code, redact(str(exc)), headers)

    async def domain_error(request: Request, exc: Exception) -> Response:
        status, code = next((s, c) for kind, s, c in DOMAIN_ERRORS if isinstance(exc, kind))
        message = redact(str(exc))
        if isinstance(exc, NoIndex):
            message = "no index has been built yet; an operator must run `lexcite ingest`"
        headers = {"Retry-After": str(RETRY_AFTER_S)} if code in TRANSIENT else None
        return _error(request, status, code, message, headers)

    async def internal(request: Request, exc: Exception) -> Response:
        # With the request id: quoted by whoever saw the 500, it finds the traceback.
        where = (request.method, request.url.path, logs.current())
        log.exception("unhandled error on %s %s (request %s)", *where)
        return _error(request, 500, "internal_error", "something went wrong on our side")

    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(ServiceError, service_error)
    for kind in dict.fromkeys(kind for kind, _, _ in DOMAIN_ERRORS):
        app.add_exception_handler(kind, domain_error)
    app.add_exception_handler(Exception, internal)


def _error(
    request: Request, status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    """Render an error as the JSON envelope, or as a page for a request that came from one."""
    rid = logs.current()
    # A 500 is rendered outside the middleware stack, so it carries its own headers.
    extra = {}
    if status == 500:
        extra = {**SECURITY_HEADERS, "Content-Security-Policy": CSP, "X-Request-ID": rid}
    headers = {**extra, **(headers or {})}
    if pages.wants_html(request):
        return pages.error_page(request, status, message, headers)
    error = {"code": code, "message": message, "request_id": rid}
    body = ErrorResponse.model_validate({"error": error})
    return JSONResponse(body.model_dump(), status, headers=headers)


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Run the app with uvicorn until interrupted (blocking)."""
    import uvicorn

    uvicorn.run(
        # Worker processes import the app themselves and read the same environment.
        create_app(settings) if workers == 1 else "service.app:create_app",
        factory=workers > 1,
        host=host,
        port=port,
        workers=workers,
        **uvicorn_options(settings),
    )


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The uvicorn options `serve` sets from the settings.

    uvicorn by default believes X-Forwarded-For from 127.0.0.1 and rewrites the client's
    address before the app sees it, so anyone on the host could pick a new address per
    request and never be rate limited. Its proxy headers are off here, always: the app's
    ClientAddress believes them from LEXCITE_TRUSTED_PROXIES only (default: nobody).
    Its access log is off too: RequestLog writes one with that address and the request id.
    """
    return {
        "proxy_headers": False,
        "forwarded_allow_ips": "",
        "access_log": False,
        "log_level": "info",
        "log_config": logs.log_config(json_lines=settings.log_format == "json"),
    }
