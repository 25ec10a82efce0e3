"""Request ids, the access log, and the logging set-up of `lexcite serve`.

Every request gets an id: the client's `X-Request-ID` when it is well formed (a proxy's, so
its log and ours share it), else a new one. It is sent back in `X-Request-ID`, put into
every error body, and onto every log line written while the request runs; `current()`
returns it (a context variable: the tasks and threadpool calls of a request inherit it).
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

access_log = logging.getLogger("lexcite.access")

HEADER = b"x-request-id"
# Ids of UUIDs, nginx's $request_id (32 hex digits) and most tracing systems; no blanks,
# quotes or control characters, so an id can never break a log line or a header.
_WELL_FORMED = re.compile(rb"[A-Za-z0-9._:-]{1,128}")
_request_id: ContextVar[str] = ContextVar("request_id", default="")


def current() -> str:
    """The id of the request being handled ("" outside a request)."""
    return _request_id.get()


def request_id(headers: list[tuple[bytes, bytes]]) -> str:
    """Given raw request headers, return the client's well-formed X-Request-ID or a new id."""
    sent = next((v.strip() for k, v in headers if k.lower() == HEADER), b"")
    return sent.decode() if _WELL_FORMED.fullmatch(sent) else uuid.uuid4().hex


class RequestLog:
    """Give each request its id (sent back as X-Request-ID) and write its access line:
    client address, method, path (without the query, which holds visitors' questions),
    status, milliseconds and id."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id(scope["headers"])
        _request_id.set(rid)
        started = time.perf_counter()
        status = 500  # if the app raises, the server answers 500

        async def tagged(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != HEADER]
                message = {**message, "headers": [*headers, (HEADER, rid.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, tagged)
        finally:
            client = scope.get("client")
            fields = {
                "client": client[0] if client else "-",
                "method": scope["method"],
                "path": scope["path"],
                "status": status,
                "ms": round((time.perf_counter() - started) * 1000, 1),
                "request_id": rid,
            }
            line = '%(client)s "%(method)s %(path)s" %(status)d %(ms).1f ms %(request_id)s'
            access_log.info(line, fields, extra=fields)


class WithRequestId(logging.Filter):
    """Adds `request_id` (the current request's, or "") to every record, for JSON lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, the access
    fields when there are any, and the traceback of a logged exception."""

    FIELDS = ("client", "method", "path", "status", "ms")

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "") or None,
        }
        out |= {f: getattr(record, f) for f in self.FIELDS if hasattr(record, f)}
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_config(json_lines: bool) -> dict[str, Any]:
    """Given whether to write JSON lines (else text), return the `dictConfig` for uvicorn
    (which applies it in every worker): lexcite's and uvicorn's loggers to stderr, in text
    or as JSON lines, each record with its request id. uvicorn's own access log is off:
    RequestLog writes one with the client's real address and the request id."""
    formatter: dict[str, Any] = (
        {"()": f"{__name__}.JsonFormatter"} if json_lines else {"format": TEXT_FORMAT}
    )
    handler = {"level": "INFO", "handlers": ["stderr"], "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": f"{__name__}.WithRequestId"}},
        "formatters": {"main": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "main",
                "filters": ["request_id"],
            }
        },
        "loggers": {
            "lexcite": handler,
            "uvicorn": handler,
            "uvicorn.error": {"level": "INFO"},
            "uvicorn.access": {"level": "WARNING", "handlers": [], "propagate": False},
        },
    }
