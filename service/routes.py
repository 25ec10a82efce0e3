"""The JSON API. Each handler parses its request, calls one Runtime method and maps the
result to a response model. Plain `def` handlers run in the threadpool: the model and the
index are CPU-bound and must not block the event loop.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response
from fastapi.responses import PlainTextResponse

from index.types import Filters
from service.deps import MetricsDep, RuntimeDep, UploadDep, require_staff
from service.metrics import CONTENT_TYPE
from service.schemas import (
    DOCUMENT_ID,
    MAX_K,
    AskRequest,
    AskResponse,
    DocumentDetail,
    DocumentList,
    DocumentOut,
    Health,
    IngestResponse,
    Question,
    Ready,
    SearchResponse,
    SearchResult,
    error_responses,
    upload_body,
)

router = APIRouter()
# No router prefixes: FastAPI keeps an included route's own path in scope["route"], which
# is what the metrics label requests with.
staff = APIRouter(
    tags=["staff"],
    dependencies=[Depends(require_staff)],
    responses=error_responses(401, 403, 409, 503),
)
DocumentId = Annotated[str, Path(pattern=DOCUMENT_ID, max_length=80)]


@router.post(
    "/v1/ask",
    response_model=AskResponse,
    tags=["answers"],
    responses=error_responses(400, 413, 422, 429, 503, 504),
)
def ask(body: AskRequest, runtime: RuntimeDep) -> AskResponse:
    """Answer a question with verbatim, cited source sentences, or abstain."""
    filters = None if body.filters is None else body.filters.to_filters()
    return AskResponse.from_answer(runtime.ask(body.question, body.k, filters, body.mode))


@router.get(
    "/v1/search",
    response_model=SearchResponse,
    tags=["answers"],
    responses=error_responses(422, 429, 503, 504),
)
def search(
    runtime: RuntimeDep,
    q: Annotated[Question, Query(description="what to look for")],
    k: Annotated[int, Query(ge=1, le=MAX_K)] = 5,
    document_id: Annotated[list[str] | None, Query(description="only these documents")] = None,
    kind: Annotated[list[str] | None, Query(description="only documents of these kinds")] = None,
) -> SearchResponse:
    """Return the passages hybrid retrieval ranks highest for a query."""
    started = time.perf_counter()
    passages = runtime.search(q, k, _filters(document_id, kind))
    took = (time.perf_counter() - started) * 1000
    return SearchResponse(results=[SearchResult.from_passage(p) for p in passages], took_ms=took)


@router.get(
    "/v1/documents",
    response_model=DocumentList,
    tags=["documents"],
    responses=error_responses(429, 503),
)
def list_documents(runtime: RuntimeDep) -> DocumentList:
    """List the documents of the generation being served."""
    name, rows = runtime.documents()
    return DocumentList(documents=[DocumentOut.from_row(d) for d in rows], index_version=name)


@router.get(
    "/v1/documents/{document_id}",
    response_model=DocumentDetail,
    tags=["documents"],
    responses=error_responses(404, 422, 429, 503),
)
def get_document(document_id: DocumentId, runtime: RuntimeDep) -> DocumentDetail:
    """Return a document with the cleaned text that citation offsets point into."""
    row, text = runtime.document(document_id)
    return DocumentDetail(**DocumentOut.from_row(row).model_dump(), text=text)


@staff.post(
    "/v1/documents",
    response_model=IngestResponse,
    status_code=200,
    responses={
        201: {"model": IngestResponse, "description": "Added"},
        **error_responses(400, 413, 415, 422),
    },
    openapi_extra={"requestBody": upload_body()},
)
def post_document(upload: UploadDep, runtime: RuntimeDep, response: Response) -> IngestResponse:
    """Add or replace a document (JSON or a multipart file upload) and re-index."""
    result = IngestResponse.from_summary(upload.meta.id, runtime.put_document(upload))
    response.status_code = 201 if result.status == "added" else 200
    return result


@staff.delete(
    "/v1/documents/{document_id}",
    response_model=IngestResponse,
    responses=error_responses(404, 422),
)
def delete_document(document_id: DocumentId, runtime: RuntimeDep) -> IngestResponse:
    """Remove a document from the corpus and re-index."""
    return IngestResponse.from_summary(document_id, runtime.delete_document(document_id))


@router.get("/healthz", response_model=Health, tags=["operations"])
def healthz() -> Health:
    """The process is up."""
    return Health()


@router.get(
    "/readyz",
    response_model=Ready,
    tags=["operations"],
    responses={503: {"model": Ready, "description": "No index loaded"}},
)
def readyz(runtime: RuntimeDep, response: Response) -> Ready:
    """Ready when a generation is loaded (503 until one is)."""
    name, degraded, documents = runtime.readiness()
    response.status_code = 200 if name else 503
    return Ready(ready=bool(name), generation=name, degraded=degraded, documents=documents)


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    tags=["operations"],
    responses={200: {"content": {CONTENT_TYPE: {}}, "description": "Prometheus text"}},
)
def metrics(runtime: RuntimeDep, registry: MetricsDep) -> Response:
    """Prometheus metrics: requests, latency, abstentions and the index version."""
    body = registry.render(*runtime.readiness())
    return Response(body, media_type=CONTENT_TYPE)


def _filters(document_ids: list[str] | None, kinds: list[str] | None) -> Filters | None:
    if not document_ids and not kinds:
        return None
    return Filters(
        document_ids=frozenset(document_ids) if document_ids else None,
        kinds=frozenset(kinds) if kinds else None,
    )
