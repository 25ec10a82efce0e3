"""Server-rendered pages: the visitors' question page (and its twin for other sites'
iframes, `/embed`), document views and the staff page.

Jinja2 autoescapes everything, so corpus text (which staff can upload) is shown as text;
the Content-Security-Policy forbids inline scripts as a second line of defence. The pages
work without JavaScript except for staff uploads and deletes, which need the token header.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader

from index.errors import NoIndex
from index.store import DocumentRow
from index.types import Filters
from service import logs
from service.deps import NotFound, Runtime, RuntimeDep
from service.routes import DocumentId
from service.schemas import MAX_QUESTION_CHARS
from service.types import Answer, Citation

TEMPLATES = Path(__file__).parent / "templates"
# Characters of the paragraph shown on each side of a quoted sentence in a source card.
CONTEXT_CHARS = 400
LABELS = {
    "en": {
        "answer": "Answer",
        "sources": "Sources",
        "not_covered": "Not covered by our sources",
        "disagree": "Our sources disagree on this. Read the quotes and compare them.",
        "open": "Show in document",
        "original": "Original page",
        "ask": "Ask",
        "question": "Your question",
    },
    "es": {
        "answer": "Respuesta",
        "sources": "Fuentes",
        "not_covered": "Nuestras fuentes no tratan este tema",
        "disagree": "Nuestras fuentes no coinciden en esto. Lea las citas y compárelas.",
        "open": "Ver en el documento",
        "original": "Página original",
        "ask": "Preguntar",
        "question": "Su pregunta",
    },
}
EXAMPLES = (
    "What is a 287(g) agreement?",
    "What is the task force model?",
    "Can a writ of mandamus stop immigration enforcement?",
)

templates = Jinja2Templates(
    env=Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, auto_reload=False)
)


def _as_page(request: Request) -> None:
    """Errors on a page route are rendered as a page, not as JSON."""
    request.state.html = True


router = APIRouter(include_in_schema=False, dependencies=[Depends(_as_page)])


@dataclass(frozen=True, slots=True)
class Card:
    """A source card: the citation and its sentence inside the paragraph it stands in."""

    citation: Citation
    before: str
    after: str
    link: str


@router.get("/", response_class=HTMLResponse)
def home(
    request: Request,
    runtime: RuntimeDep,
    q: Annotated[str, Query(max_length=MAX_QUESTION_CHARS)] = "",
) -> Response:
    """The visitors' page: a question box and, given `q`, the cited answer."""
    question = q.strip()
    answer = runtime.ask(question, None, None, "hybrid") if question else None
    return render(request, "index.html", visitor_view(runtime, question, answer))


@router.get("/embed", response_class=HTMLResponse)
def embed(
    request: Request,
    runtime: RuntimeDep,
    q: Annotated[str, Query(max_length=MAX_QUESTION_CHARS)] = "",
) -> Response:
    """The visitors' page without the site's header, for an iframe on another site (the
    origins in LEXCITE_EMBED_ORIGINS may frame it; static/embed.js inserts the iframe)."""
    question = q.strip()
    answer = runtime.ask(question, None, None, "hybrid") if question else None
    view = visitor_view(runtime, question, answer, embedded=True)
    return render(request, "embed.html", view)


@router.get("/documents/{document_id}", response_class=HTMLResponse)
def document(
    request: Request,
    document_id: DocumentId,
    runtime: RuntimeDep,
    start: Annotated[int | None, Query(ge=0)] = None,
    end: Annotated[int | None, Query(ge=0)] = None,
) -> Response:
    """A document's cleaned text with the span [start, end) highlighted."""
    row, text = runtime.document(document_id)
    return render(request, "document.html", document_view(row, text, start, end))


@router.get("/staff", response_class=HTMLResponse)
def staff(
    request: Request,
    runtime: RuntimeDep,
    q: Annotated[str, Query(max_length=MAX_QUESTION_CHARS)] = "",
    document_id: str = "",
    kind: str = "",
) -> Response:
    """Search with filters, the document list, uploads and deletes."""
    return render(request, "staff.html", staff_view(runtime, q.strip(), document_id, kind))


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    return templates.TemplateResponse(request, name, context, status_code=status)


def wants_html(request: Request) -> bool:
    """Whether an error on this request should be a page (it was for a page route)."""
    return bool(getattr(request.state, "html", False))


def error_page(
    request: Request, status: int, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    context = {"status": status, "message": message, "request_id": logs.current()}
    response = render(request, "error.html", context, status)
    response.headers.update(headers or {})
    return response


def visitor_view(
    runtime: Runtime, question: str, answer: Answer | None, embedded: bool = False
) -> dict[str, Any]:
    """Given a question and its answer, return what the visitors' page (or, `embedded`, its
    twin for iframes) shows."""
    lang = answer.language if answer is not None else "en"
    cards = [] if answer is None else [_card(runtime, c) for c in answer.citations]
    return {
        "lang": lang,
        "labels": LABELS.get(lang, LABELS["en"]),
        "question": question,
        "answer": answer,
        "cards": cards,
        "examples": EXAMPLES,
        "max_chars": MAX_QUESTION_CHARS,
        "action": "/embed" if embedded else "/",
        "embedded": embedded,
    }


def _card(runtime: Runtime, c: Citation) -> Card:
    link = document_link(c.document_id, c.start, c.end)
    try:
        _, text = runtime.document(c.document_id)
    except NotFound:  # the document left the index since the answer: show the quote alone
        return Card(c, "", "", link)
    if text[c.start : c.end] != c.text:
        return Card(c, "", "", link)
    before, after = paragraph(text, c.start, c.end)
    return Card(c, before, after, link)


def document_link(document_id: str, start: int, end: int) -> str:
    return f"/documents/{quote(document_id)}?start={start}&end={end}#hl"


def paragraph(text: str, start: int, end: int, limit: int = CONTEXT_CHARS) -> tuple[str, str]:
    """Given a span, return the text before and after it in its paragraph (blank-line bound),
    each cut to about `limit` characters at a word boundary."""
    first = text.rfind("\n\n", 0, start)
    first = 0 if first < 0 else first + 2
    last = text.find("\n\n", end)
    last = len(text) if last < 0 else last
    before, after = text[first:start], text[end:last]
    if len(before) > limit:
        cut = before[-limit:]
        before = "… " + cut[cut.find(" ") + 1 :]
    if len(after) > limit:
        cut = after[:limit]
        after = cut[: cut.rfind(" ")] + " …"
    return before, after


def document_view(
    row: DocumentRow, text: str, start: int | None, end: int | None
) -> dict[str, Any]:
    """Given a document and an optional span, return the document page's parts."""
    asked = start is not None or end is not None
    valid = start is not None and end is not None and start < end <= len(text)
    if valid:
        assert start is not None and end is not None
        parts = (text[:start], text[start:end], text[end:])
    else:
        parts = (text, "", "")
    return {
        "lang": "en",
        "document": row,
        "before": parts[0],
        "mark": parts[1],
        "after": parts[2],
        "bad_span": asked and not valid,
    }


def staff_view(runtime: Runtime, q: str, document_id: str, kind: str) -> dict[str, Any]:
    """Return the staff page's document list and, given a query, its search results."""
    try:
        generation, documents = runtime.documents()
    except NoIndex:
        generation, documents = None, []
    ids = {d.id for d in documents}
    kinds = sorted({d.kind for d in documents if d.kind})
    filters = None
    if document_id in ids or kind in kinds:
        filters = Filters(
            document_ids=frozenset([document_id]) if document_id in ids else None,
            kinds=frozenset([kind]) if kind in kinds else None,
        )
    results = runtime.search(q, 10, filters) if q and documents else []
    return {
        "lang": "en",
        "generation": generation,
        "documents": documents,
        "kinds": kinds,
        "q": q,
        "document_id": document_id,
        "kind": kind,
        "results": results,
        "link": document_link,
        "staff_on": runtime.settings.staff_token is not None,
    }
