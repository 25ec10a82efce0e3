"""What the HTTP handlers depend on: the Runtime (engine, encoder and staff actions), the
service's own errors, and the `Annotated` dependency aliases the routes declare.

The Runtime is built once per app and loaded in its lifespan; handlers reach it through
`RuntimeDep`. Staff changes to the corpus are serialised by a lock here and by the index
lock inside `index.build.ingest`.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, cast

from fastapi import Depends, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from index import build
from index import generation as generations
from index.build import Summary
from index.encoder import Encoder, load_encoder
from index.errors import Busy, CorruptIndex, NoIndex
from index.search import Mode, Passage
from index.store import DocumentRow
from index.types import Filters
from ingest import read
from ingest.clean import Rules, load_rules
from ingest.corpus import Change, ingest_document, load_manifest, plan_remove, plan_store
from ingest.types import Meta
from service.engine import Engine
from service.metrics import Metrics
from service.schemas import DocumentFields, DocumentIn
from service.settings import Settings
from service.types import Answer

log = logging.getLogger("lexcite.service")

# A staff change waits this long for another ingest (e.g. a CLI one) before answering 409;
# shorter than index.build's CLI default so a browser does not hang for two minutes.
INGEST_LOCK_WAIT_S = 30.0
# How often a request may retry loading the index when none could be loaded at start-up.
LOAD_RETRY_S = 0.5


class ServiceError(Exception):
    """Base class: a request the service refuses, with its HTTP status and error code."""

    status = 500
    code = "internal_error"


class NotFound(ServiceError):
    """The requested document (or page) does not exist."""

    status, code = 404, "not_found"


class StaffDisabled(ServiceError):
    """Staff routes are off because no LEXCITE_STAFF_TOKEN is configured."""

    status, code = 403, "staff_disabled"


class Unauthorized(ServiceError):
    """A staff route was called without the right bearer token."""

    status, code = 401, "unauthorized"


class TooLarge(ServiceError):
    """An uploaded document is over the size limit."""

    status, code = 413, "too_large"


class UnsupportedType(ServiceError):
    """An upload is neither JSON nor multipart, or its file type cannot be read."""

    status, code = 415, "unsupported_media_type"


class Conflict(ServiceError):
    """The change cannot be made in the corpus's present state."""

    status, code = 409, "conflict"


@dataclass(frozen=True, slots=True)
class Upload:
    """A document sent by staff: its manifest entry (without a file yet), file name and bytes."""

    meta: Meta
    name: str
    data: bytes


class Runtime:
    """The process's one engine and encoder, and the staff actions that change the corpus."""

    def __init__(self, settings: Settings, engine: Engine | None = None) -> None:
        if engine is not None and engine.data_dir.resolve() != settings.data_dir.resolve():
            raise ValueError("the engine must serve settings.data_dir")
        self.settings = settings
        self.metrics = Metrics()
        self.encoder: Encoder | None = None if engine is None else engine.encoder
        self._engine = engine
        self._rules: Rules | None = None
        self._load_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._tried = 0.0

    def start(self) -> None:
        """Load the encoder and the current generation (if any); blocking, call once."""
        if self.encoder is None:
            log.info("loading model %s", self.settings.model or "all-MiniLM-L6-v2 (bundled)")
            self.encoder = load_encoder(self.settings.model, self.settings.data_dir / "models")
        self._rules = load_rules()
        # A staff write killed halfway is finished or undone before anything is served.
        try:
            for line in build.recover(self.settings.corpus_dir, self.settings.data_dir):
                log.warning("corpus: %s", line)
        except Busy:
            log.warning("corpus: another ingest holds the lock; it settles staged writes")
        self._try_load()
        if self._engine is None:
            log.warning("no index generation in the data directory: run `lexcite ingest`")

    def _try_load(self) -> None:
        with self._load_lock:
            if self._engine is not None or self.encoder is None:
                return
            self._tried = time.monotonic()
            try:
                engine = Engine(self.settings.data_dir, self.encoder)
                engine.warm_up()
                self._engine = engine
            except (NoIndex, CorruptIndex) as err:
                log.debug("index not loaded: %s", err)

    def engine(self) -> Engine:
        """Return the engine; raise NoIndex while no generation has been published."""
        if self._engine is None and time.monotonic() - self._tried >= LOAD_RETRY_S:
            self._try_load()
        if self._engine is None:
            raise NoIndex("no index has been built yet; run `lexcite ingest`")
        return self._engine

    def readiness(self) -> tuple[str | None, bool, int]:
        """Return the generation served (None: not ready), whether degraded, and its size."""
        try:
            state = self.engine().state
        except (NoIndex, CorruptIndex):
            return None, False, 0
        return state.generation.name, state.loaded.degraded, len(state.generation.documents)

    def ask(self, question: str, k: int | None, filters: Filters | None, mode: Mode) -> Answer:
        """Given a question, return the engine's answer and count it in the metrics."""
        answer = self.engine().ask(question, k, filters, mode)
        self.metrics.observe_answer(answer)
        return answer

    def search(self, query: str, k: int, filters: Filters | None) -> list[Passage]:
        """Given a query, return the best passages."""
        return self.engine().search(query, k, filters)

    def documents(self) -> tuple[str, list[DocumentRow]]:
        """Return the generation served and its documents."""
        gen = self.engine().state.generation
        return gen.name, list(gen.documents.values())

    def document(self, document_id: str) -> tuple[DocumentRow, str]:
        """Given a document id, return its metadata and cleaned text; raise NotFound."""
        gen = self.engine().state.generation
        row = gen.documents.get(document_id)
        if row is None:
            raise NotFound(f"no document with id {document_id!r}")
        return row, gen.texts[document_id]

    def put_document(self, upload: Upload) -> Summary:
        """Add or replace a document in the corpus, ingest, and serve the new generation."""
        suffix = Path(upload.name).suffix.lower()
        if suffix not in read.SUFFIXES:
            kinds = ", ".join(sorted(read.SUFFIXES))
            raise UnsupportedType(f"{upload.name}: unsupported file type; use {kinds}")
        if len(upload.data) > read.MAX_BYTES:
            raise TooLarge(
                f"{upload.name}: over the per-file limit of {read.MAX_BYTES:,} bytes (5 MiB)"
            )
        # Everything that can be wrong with the document is found before the corpus changes.
        raw = read.parse(upload.name, upload.data)
        ingest_document(replace(upload.meta, file=upload.name), raw, self._require_rules())
        with self._write_lock:
            return self._change(lambda corpus: plan_store(corpus, upload.meta, suffix, upload.data))

    def delete_document(self, document_id: str) -> Summary:
        """Remove a document's manifest entry and file, ingest, and serve the new generation."""

        def plan(corpus: Path) -> Change:
            metas = load_manifest(corpus)
            if all(m.id != document_id for m in metas):
                raise NotFound(f"no document with id {document_id!r} in the corpus")
            if len(metas) == 1:
                raise Conflict("the last document cannot be deleted: an index needs one")
            return plan_remove(corpus, document_id)

        with self._write_lock:
            return self._change(plan)

    def _change(self, plan: Callable[[Path], Change | None]) -> Summary:
        """Plan, stage, publish and commit one write as a transaction (index.build.change)."""
        assert self.encoder is not None, "start() loads the encoder"
        s = self.settings
        summary = build.change(
            s.corpus_dir,
            s.data_dir,
            self.encoder,
            self._require_rules(),
            plan,
            lock_timeout=INGEST_LOCK_WAIT_S,
        )
        for line in summary.settled:
            log.warning("corpus: %s", line)
        if self._engine is None:
            self._try_load()
        elif generations.current_name(s.data_dir) != self._engine.state.generation.name:
            self._engine.reload()
        return summary

    def _require_rules(self) -> Rules:
        if self._rules is None:
            self._rules = load_rules()
        return self._rules


def get_runtime(request: Request) -> Runtime:
    return cast(Runtime, request.app.state.runtime)


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_metrics(runtime: RuntimeDep) -> Metrics:
    return runtime.metrics


MetricsDep = Annotated[Metrics, Depends(get_metrics)]

bearer = HTTPBearer(
    auto_error=False,
    description="Staff token (LEXCITE_STAFF_TOKEN); staff routes are off when it is unset.",
)


def require_staff(
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> None:
    """Let the request through only with the configured bearer token."""
    token = runtime.settings.staff_token
    if token is None:
        raise StaffDisabled("staff routes are off: set LEXCITE_STAFF_TOKEN to turn them on")
    if credentials is None:
        raise Unauthorized("this route needs `Authorization: Bearer <staff token>`")
    # compare_digest takes as long for a near miss as for a wild guess.
    if not hmac.compare_digest(credentials.credentials.encode(), token.encode()):
        raise Unauthorized("the staff token is not valid")


StaffDep = Annotated[None, Depends(require_staff)]


async def read_upload(request: Request, _: StaffDep) -> Upload:
    """Given a staff request (JSON or multipart with a file), return the document it sends."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json":
        try:
            doc = DocumentIn.model_validate_json(await request.body())
        except ValidationError as err:
            raise RequestValidationError(_located("body", err)) from None
        return Upload(doc.to_meta(), f"{doc.id}.{doc.format}", doc.text.encode("utf-8"))
    if kind == "multipart/form-data":
        async with request.form(max_files=1, max_fields=20) as form:
            file = form.get("file")
            fields = {k: v for k, v in form.items() if k != "file" and isinstance(v, str) and v}
            try:
                meta = DocumentFields.model_validate(fields).to_meta()
            except ValidationError as err:
                raise RequestValidationError(_located("body", err)) from None
            if not isinstance(file, UploadFile):
                raise RequestValidationError([_missing("file", "a file field is required")])
            if not file.filename:
                raise UnsupportedType("the uploaded file has no name; its suffix tells its type")
            # One byte over the limit is enough to refuse it; the rest is never read.
            data = await file.read(read.MAX_BYTES + 1)
            return Upload(meta, Path(file.filename).name, data)
    raise UnsupportedType("send the document as application/json or multipart/form-data")


UploadDep = Annotated[Upload, Depends(read_upload)]


def _located(where: str, err: ValidationError) -> list[dict[str, object]]:
    return [
        {"loc": (where, *e["loc"]), "msg": e["msg"], "type": e["type"]}
        for e in err.errors(include_url=False, include_input=False)
    ]


def _missing(field: str, message: str) -> dict[str, object]:
    return {"loc": ("body", field), "msg": message, "type": "missing"}
