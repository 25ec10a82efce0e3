"""The public shapes of the HTTP API, kept apart from the internal types they are made from.

Request models validate what a client sends; response models say exactly what it gets back,
so `/docs` stays accurate. `from_*` constructors are the one place internal types
(`service.types`, `index.search.Passage`, `index.store.DocumentRow`) become public ones.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from index.build import Summary
from index.search import Passage
from index.store import DocumentRow
from index.types import Filters
from ingest.corpus import real_date
from ingest.types import Meta
from service.types import Answer, Citation

MAX_QUESTION_CHARS = 1000
MAX_K = 20
# The manifest's id rule (ingest/corpus.py `_ID`), checked here so a bad id never reaches
# the corpus folder or the manifest.
DOCUMENT_ID = r"^[a-z0-9][a-z0-9-]{0,79}$"
# YYYY, YYYY-MM or YYYY-MM-DD: the manifest stores dates as text and compares them as text.
# The pattern (in /openapi.json) allows only months 01-12 and the days each month can have;
# `real_date` then refuses what a pattern cannot say (29 February outside leap years).
_YEAR = r"(?:[1-9]\d{3}|0[1-9]\d\d|00[1-9]\d|000[1-9])"
_MONTH_DAY = (
    r"(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])"
    r"|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)"
    r"|02-(?:0[1-9]|1\d|2\d)"
)
DATE = rf"^{_YEAR}(?:-(?:0[1-9]|1[0-2])|-(?:{_MONTH_DAY}))?$"


def _real_date(text: str) -> str:
    if not real_date(text):
        raise ValueError("not a real date (YYYY, YYYY-MM or YYYY-MM-DD)")
    return text


# A date that exists: 2024-02-29, not 2024-02-30 or 2024-13-45.
# The pattern is documented in /openapi.json; the check itself is `real_date`, so that a
# refusal says "not a real date" rather than quoting the pattern.
Date = Annotated[str, Field(json_schema_extra={"pattern": DATE}), AfterValidator(_real_date)]
# Only web links are stored: a `javascript:` URL would become a link on the pages.
WEB_URL = r"^https?://[^\s<>\"']+$"

Question = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_QUESTION_CHARS)
]
Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Mode = Literal["hybrid", "rrf", "dense", "lexical"]


class Strict(BaseModel):
    """A request model that rejects fields it does not know (a typo is an error, not a no-op)."""

    model_config = ConfigDict(extra="forbid")


# --- errors ---------------------------------------------------------------------------


class ErrorBody(BaseModel):
    code: str = Field(examples=["no_index"])
    message: str
    request_id: str = Field(
        description="the response's X-Request-ID: quote it when reporting a problem",
        examples=["0f8fad5bd9cb469fa165e0e3f6e4a5c2"],
    )


class ErrorResponse(BaseModel):
    """Every error, whatever its status: `{"error": {"code": ..., "message": ...}}`."""

    error: ErrorBody


def error_responses(*statuses: int) -> dict[int | str, dict[str, object]]:
    """Return the OpenAPI `responses` entry documenting the error envelope for statuses."""
    return {status: {"model": ErrorResponse} for status in statuses}


# --- ask ------------------------------------------------------------------------------


class FiltersIn(Strict):
    document_ids: list[Short] | None = Field(default=None, max_length=100)
    kinds: list[Short] | None = Field(default=None, max_length=20)
    published_from: Date | None = None
    published_to: Date | None = None

    def to_filters(self) -> Filters:
        return Filters(
            document_ids=None if self.document_ids is None else frozenset(self.document_ids),
            kinds=None if self.kinds is None else frozenset(self.kinds),
            published_from=self.published_from,
            published_to=self.published_to,
        )


class AskRequest(Strict):
    question: Question = Field(examples=["What is a 287(g) agreement?"])
    k: int | None = Field(default=None, ge=1, le=MAX_K, description="passages to retrieve")
    filters: FiltersIn | None = None
    mode: Mode = "hybrid"


class SentenceOut(BaseModel):
    text: str = Field(description="verbatim from the cited sources")
    citations: list[int]


class CitationOut(BaseModel):
    n: int
    document_id: str
    title: str
    publisher: str | None
    url: str | None
    kind: str | None
    published: str | None
    section: str | None
    text: str = Field(description="equals the document's cleaned text[start:end]")
    start: int
    end: int
    score: float

    @classmethod
    def from_citation(cls, c: Citation) -> CitationOut:
        return cls(
            n=c.n,
            document_id=c.document_id,
            title=c.title,
            publisher=c.publisher,
            url=c.url,
            kind=c.kind,
            published=c.published,
            section=c.section,
            text=c.text,
            start=c.start,
            end=c.end,
            score=c.score,
        )


class AskResponse(BaseModel):
    question: str
    answer: str = Field(description="the answer sentences joined, with [n] citation markers")
    abstained: bool
    abstain_reason: str | None
    sentences: list[SentenceOut]
    citations: list[CitationOut]
    sources_disagree: bool
    notice: str
    language: str
    urgent: bool
    index_version: str
    took_ms: float
    timings_ms: dict[str, float]

    @classmethod
    def from_answer(cls, a: Answer) -> AskResponse:
        return cls(
            question=a.question,
            answer=a.answer,
            abstained=a.abstained,
            abstain_reason=a.abstain_reason,
            sentences=[SentenceOut(text=s.text, citations=list(s.citations)) for s in a.sentences],
            citations=[CitationOut.from_citation(c) for c in a.citations],
            sources_disagree=a.sources_disagree,
            notice=a.notice,
            language=a.language,
            urgent=a.urgent,
            index_version=a.index_version,
            took_ms=round(a.took_ms, 3),
            timings_ms={k: round(v, 3) for k, v in a.timings_ms.items()},
        )


# --- search ---------------------------------------------------------------------------


class SearchResult(BaseModel):
    document_id: str
    title: str
    section: str
    text: str
    start: int
    end: int
    score: float
    dense_score: float

    @classmethod
    def from_passage(cls, p: Passage) -> SearchResult:
        return cls(
            document_id=p.document_id,
            title=p.title,
            section=p.section,
            text=p.text,
            start=p.start,
            end=p.end,
            score=round(p.score, 6),
            dense_score=round(p.dense_score, 6),
        )


class SearchResponse(BaseModel):
    results: list[SearchResult]
    took_ms: float


# --- documents ------------------------------------------------------------------------


class DocumentOut(BaseModel):
    id: str
    title: str
    publisher: str | None
    kind: str | None
    url: str | None
    published: str | None
    chunks: int
    sentences: int
    sha256: str = Field(description="SHA-256 of the cleaned text")

    @classmethod
    def from_row(cls, d: DocumentRow) -> DocumentOut:
        return cls(
            id=d.id,
            title=d.title,
            publisher=d.publisher,
            kind=d.kind,
            url=d.url,
            published=d.published,
            chunks=d.chunks,
            sentences=d.sentences,
            sha256=d.sha256,
        )


class DocumentDetail(DocumentOut):
    text: str = Field(description="the cleaned text that every citation offset points into")


class DocumentList(BaseModel):
    documents: list[DocumentOut]
    index_version: str


class DocumentFields(Strict):
    """The manifest fields of a document sent by staff (multipart form fields)."""

    id: Annotated[str, Field(pattern=DOCUMENT_ID, examples=["ice-287g-fact-sheet"])]
    title: Short
    publisher: Short | None = None
    kind: Short | None = None
    published: Date | None = None
    url: Annotated[str, Field(pattern=WEB_URL, max_length=2000)] | None = None
    licence: Annotated[str, Field(max_length=1000)] | None = None

    def to_meta(self) -> Meta:
        """The manifest entry, without a file yet."""
        return Meta(
            id=self.id,
            file="",
            title=self.title,
            publisher=self.publisher,
            kind=self.kind,
            published=self.published,
            url=self.url,
            licence=self.licence,
        )


class DocumentIn(DocumentFields):
    """A document posted as JSON (a multipart upload sends the same fields and a file)."""

    text: str = Field(min_length=1, description="the document itself, in `format`")
    format: Literal["txt", "md", "html"] = "txt"


def upload_body() -> dict[str, object]:
    """The OpenAPI request body of a document upload: JSON, or form fields and a file."""
    form = DocumentFields.model_json_schema()
    form["properties"]["file"] = {
        "type": "string",
        "format": "binary",
        "description": ".txt, .md, .html or .pdf",
    }
    form["required"] = [*form.get("required", []), "file"]
    return {
        "required": True,
        "content": {
            "application/json": {"schema": DocumentIn.model_json_schema()},
            "multipart/form-data": {"schema": form},
        },
    }


class ProblemOut(BaseModel):
    document: str
    message: str


class IngestResponse(BaseModel):
    """What a staff change did to the index."""

    status: Literal["added", "changed", "removed", "unchanged"]
    document_id: str
    generation: str
    published: bool = Field(description="whether a new generation was published")
    added: list[str]
    changed: list[str]
    removed: list[str]
    unchanged: list[str]
    problems: list[ProblemOut]
    embedded: int
    reused: int
    seconds: float

    @classmethod
    def from_summary(cls, document_id: str, summary: Summary) -> IngestResponse:
        status: Literal["added", "changed", "removed", "unchanged"] = "unchanged"
        if document_id in summary.added:
            status = "added"
        elif document_id in summary.changed:
            status = "changed"
        elif document_id in summary.removed:
            status = "removed"
        return cls(
            status=status,
            document_id=document_id,
            generation=summary.generation,
            published=summary.published,
            added=list(summary.added),
            changed=list(summary.changed),
            removed=list(summary.removed),
            unchanged=list(summary.unchanged),
            problems=[ProblemOut(document=p.document, message=p.message) for p in summary.problems],
            embedded=summary.embedded,
            reused=summary.reused,
            seconds=round(summary.seconds, 3),
        )


# --- operations -----------------------------------------------------------------------


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Ready(BaseModel):
    ready: bool
    generation: str | None
    degraded: bool
    documents: int
