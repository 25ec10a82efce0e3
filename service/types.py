"""Shared types of the service stage: answers and their citations, and the candidate
sentences an answer is chosen from."""

from __future__ import annotations

from dataclasses import dataclass, field

from ingest.types import Sentence


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


@dataclass(frozen=True, slots=True)
class Candidate:
    """A sentence from a retrieved passage, with its similarity to the question.

    `context` is the similarity of the sentence's chunk (section heading included): a
    list item such as "Supervision: ICE oversees ..." means little without its section.
    `asked` is the similarity of the question the text asks just before this sentence
    ("But why does this misconduct happen? Often, it's due to ..."), or 0.
    """

    row: int
    sentence: Sentence
    dense: float
    passage_rank: int
    context: float = 0.0
    asked: float = 0.0


@dataclass(frozen=True, slots=True)
class Scored:
    """A candidate with its composite score and the terms it has."""

    candidate: Candidate
    score: float
    coverage: float
    terms: frozenset[str]
