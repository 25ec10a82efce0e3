"""Shared types of the service stage: answers and their citations."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Citation:
    """A checkable quote: `text == document_text[start:end]` of document `document_id`."""

    n: int
    document_id: str
    title: str
    publisher: str | None
    url: str | None
    kind: str | None
    published: str | None
    section: str | None
    text: str
    start: int
    end: int
    score: float


@dataclass(frozen=True, slots=True)
class AnswerSentence:
    """One sentence of an answer, verbatim from its source, and the citations it rests on."""

    text: str
    citations: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Answer:
    """A composed answer, or an abstention (no sentences, no citations)."""

    question: str
    answer: str
    abstained: bool
    abstain_reason: str | None
    sentences: tuple[AnswerSentence, ...]
    citations: tuple[Citation, ...]
    sources_disagree: bool
    notice: str
    language: str
    urgent: bool
    index_version: str
    took_ms: float
    support: float
    timings_ms: dict[str, float] = field(default_factory=dict)
