"""Shared types of the ingest stage: every later stage speaks in these."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class LineKind(StrEnum):
    """What a line of cleaned text is: a heading, a list item or running text."""

    HEADING = "heading"
    ITEM = "item"
    PARAGRAPH = "paragraph"


class Hint(StrEnum):
    """What a reader knows about a raw line from its format (HTML tags, Markdown marks)."""

    NONE = ""
    HEADING = "heading"
    ITEM = "item"


@dataclass(frozen=True, slots=True)
class RawLine:
    """One line of a source file as read, with its 1-based line number."""

    number: int
    text: str
    hint: Hint = Hint.NONE


@dataclass(frozen=True, slots=True)
class Dropped:
    """A piece of raw text that cleaning removed, and why (for `lexcite ingest --explain`)."""

    line: int
    text: str
    reason: str


@dataclass(frozen=True, slots=True)
class Line:
    """A kept line: `[start, end)` into the cleaned text; `body_start` skips a list marker."""

    start: int
    end: int
    body_start: int
    hint: Hint


@dataclass(frozen=True, slots=True)
class CleanText:
    """The reference text of a document, the lines it is made of and what was dropped."""

    text: str
    lines: tuple[Line, ...]
    dropped: tuple[Dropped, ...]


@dataclass(frozen=True, slots=True)
class Sentence:
    """A citable unit: `text == document_text[start:end]`; `id` is a content hash."""

    id: str
    document_id: str
    section: str
    kind: LineKind
    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class Chunk:
    """Whole consecutive sentences of one section, used as retrieval context."""

    id: str
    document_id: str
    section: str
    start: int
    end: int
    text: str
    sentence_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Meta:
    """What the corpus manifest says of a document."""

    id: str
    file: str
    title: str
    publisher: str | None = None
    kind: str | None = None
    published: str | None = None
    retrieved: str | None = None
    url: str | None = None
    licence: str | None = None
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Document:
    """A fully ingested document: its cleaned text and everything cut from it."""

    meta: Meta
    sha256: str
    text: str
    sentences: tuple[Sentence, ...]
    chunks: tuple[Chunk, ...]
    dropped: tuple[Dropped, ...] = field(default=())

    @property
    def id(self) -> str:
        return self.meta.id
