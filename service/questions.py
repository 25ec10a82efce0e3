"""What a question asks for, and what a sentence offers it: the question's type, the term
it asks to define, the figure it wants; whether a sentence fits the type, states a number
or leans on the sentence before it. Pure functions over text (stemmed as the lexical
index stems, index.lexical.stems).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from index.lexical import STOPWORDS, stems
from ingest.types import LineKind, Sentence

_TERM = re.compile(r"[a-z0-9]+(?:\([a-z]\))?")
# Sentences that set a scene rather than say something ("Imagine ...", "Here’s ...",
# "To understand X, you need ...").
_FILLER = re.compile(
    r"^(?:imagine|think of|think about|let’s|let's|sounds|so,|well,|now,|here’s|here's|ever |"
    r"to understand )",
    re.IGNORECASE,
)
# Sentences that lean on the one before them ("That’s basically what ... is.").
_REFERENTIAL = re.compile(r"^(?:that’s|that's|this is|these|those|it’s|it's|they|such)\b", re.I)
# Numbers, in digits or small words ("four-week", "two main models").
_NUMBER = re.compile(r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|dozen)\b", re.I)
# A section of a statute ("287(g)") names a law; it states no quantity.
_SECTION = re.compile(r"\b\d+\([a-z]\)", re.IGNORECASE)
# Questions that ask for a count or an amount. ("How long" and "how often" are left out:
# "Legal battles can drag on" answers "How long does mandamus take?" without a number.)
_QUANTITY = re.compile(r"\bhow (?:many|much)\b", re.IGNORECASE)
# What "how many" counts: the next words ("how many [police agencies]").
_COUNTED = re.compile(r"\bhow many\s+(\S+(?:\s+\S+)?)", re.IGNORECASE)
# Years and month names: what a when-question's answer states.
_DATE = re.compile(
    r"\b(?:1[89]\d\d|20\d\d|january|february|march|april|may|june|july|august|september|"
    r"october|november|december)\b",
    re.IGNORECASE,
)
# The term a definition question asks about: "What is [a 287(g) agreement]?", "Define
# [mandamus] for ...", "What does [full-scale indemnification] mean ...".
_DEFINED = re.compile(
    r"\b(?:what(?:'s|’s| is| are)(?: meant by)?|define|what does|meaning of)\s+"
    r"(?:an?\s+|the\s+)?(.+?)(?:\s+(?:mean|means|for|in|to|under|when|if)\b|\?|$)",
    re.IGNORECASE,
)
# A longer "term" is a question of its own, not a term.
DEFINED_WORDS = 4
# A sentence that defines a term names it among its first words ("The 287(g) Agreement
# allows ..."), not in passing ("A writ of mandamus ... under 287(g) Agreements").
SUBJECT_WORDS = 8
# Words that give a reason: what a why-question's answer has.
_CAUSE = re.compile(r"\b(?:because|due to|since|leads? to|leading to|risk|fear|so that)\b", re.I)
QUESTION_TYPES = ("when", "how_many", "who", "definition", "why", "list", "other")


def tokens(text: str) -> list[str]:
    """Given text, return its lower-cased words, "287(g)" as one."""
    return _TERM.findall(text.casefold())


@functools.lru_cache(maxsize=1 << 16)
def sentence_stems(text: str, section: str) -> frozenset[str]:
    """The stems of a sentence and of its section heading (cached, like `terms`)."""
    return frozenset(stems(text)) | _heading_stems(section)


@functools.lru_cache(maxsize=1 << 14)
def _heading_stems(section: str) -> frozenset[str]:
    # Cached on its own: a section's sentences share it, and a large corpus has far more
    # sentences than the sentence cache holds.
    return frozenset(stems(section))


@functools.lru_cache(maxsize=1 << 16)
def terms(text: str) -> frozenset[str]:
    """Given text, return its content terms: lower-cased, stop words out, plural -s off.
    Cached: the same source sentences come back as candidates for many questions."""
    out = set()
    for token in tokens(text):
        if token in STOPWORDS or len(token) < 2:
            continue
        if len(token) > 4 and token.endswith("s") and not token.endswith("ss"):
            token = token[:-1]
        out.add(token)
    return frozenset(out)


def defined_term(question: str) -> frozenset[str]:
    """Given a question, return the stems of the term it asks to define (empty if none)."""
    found = _DEFINED.search(question)
    term = frozenset(stems(found.group(1))) if found else frozenset()
    return term if len(term) <= DEFINED_WORDS else frozenset()


def question_type(question: str) -> str:
    """Given an (English) question, return its type, one of QUESTION_TYPES."""
    q = question.casefold()
    # "When" asks for a time at the start of a question ("When did ...?", "Since when
    # ..."), not as a conjunction ("What do courts do when complaints ...?").
    if re.search(r"^\W*(?:since )?when\b|\b(?:what|which) (?:year|date|month)\b", q):
        return "when"
    if re.search(r"\bhow (?:many|much|long|often)\b", q):
        return "how_many"
    if re.search(r"^\s*who\b|\bwho (?:is|are|was|were)\b", q):
        return "who"
    if re.search(r"\bwhy\b|\breason", q):
        return "why"
    if re.search(
        r"\b(?:list|examples?|ways?|options|alternatives|types|kinds|steps|what are the|"
        r"which (?:states|agencies|groups)|consequences|risks|concerns|gaps|limitations)\b",
        q,
    ):
        return "list"
    if re.search(r"\b(?:what is|what's|what are|define|meaning of|what does .+ mean)\b", q):
        return "definition"
    return "other"


def fits(qtype: str, sentence: Sentence, term: frozenset[str] = frozenset()) -> float:
    """1 when the sentence has what the question's type asks for (a date, a number, a
    cause, a list item, the defined term as its subject), else 0."""
    text = sentence.text
    match qtype:
        case "when":
            return 1.0 if _DATE.search(text) else 0.0
        case "how_many":
            return 1.0 if states_number(text) else 0.0
        case "definition":
            # "That’s basically what the 287(g) Agreement is." names the term but its
            # subject is "that": it defines nothing on its own.
            if not term or leans_on_context(text):
                return 0.0
            return 1.0 if term <= frozenset(stems(" ".join(text.split()[:SUBJECT_WORDS]))) else 0.0
        case "why":
            return 1.0 if _CAUSE.search(text) else 0.0
        case "list":
            return 1.0 if sentence.kind == LineKind.ITEM else 0.0
    return 0.0


def states_number(text: str) -> bool:
    """Whether a text states a number (a section of a statute such as "287(g)" is none)."""
    return _NUMBER.search(_SECTION.sub("", text)) is not None


def gives_figure(question: str, texts: Sequence[str]) -> bool:
    """Whether the chosen sentences give the figure a "how many" or "how much" question
    asks for: a number, and for "how many X" in a sentence that names X ("15 agencies",
    not "every two years" for "How many minutes ...?"). True for other questions."""
    if not _QUANTITY.search(question):
        return True
    counted = _COUNTED.search(question)
    unit = frozenset(stems(counted.group(1))) if counted else frozenset()
    return any(
        states_number(text) and (not unit or unit & sentence_stems(text, "")) for text in texts
    )


def leans_on_context(text: str) -> bool:
    """Whether a sentence is filler ("Imagine ...", "Here’s ...") or leans on the one before
    it ("That’s basically what ... is."): little to quote on its own."""
    return bool(_FILLER.match(text) or _REFERENTIAL.match(text))
