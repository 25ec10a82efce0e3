"""Whether two sources disagree on what a question asks: one says under a negation what
the other says plainly ("limited in stopping ... enforcement" against "can halt ...
enforcement practices"). Pure functions over scored sentences.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping, Sequence

from index.lexical import STOPWORDS, stems
from service.questions import tokens
from service.types import Scored

_NEGATION = re.compile(
    r"\b(?:not|never|cannot|can’t|can't|won’t|won't|isn’t|isn't|no|limited|reluctant)\b", re.I
)
# BM25's idf (Lucene's form) of a word in half of the chunks: the words that rank are above.
_RANKS = math.log(2)
# Words that mean the same action when sources are compared for disagreement.
_SAME_ACTION = {"halt": "stop", "halting": "stop", "stopping": "stop", "stops": "stop"}


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """The share of their union that two term sets have in common (0 for two empty sets)."""
    return len(a & b) / len(a | b) if a or b else 0.0


@functools.lru_cache(maxsize=1 << 16)
def _polarity(text: str) -> tuple[frozenset[str], frozenset[str]]:
    """Return (terms said under a negation, terms said plainly) of a sentence (cached, like
    `terms`)."""
    words = [_SAME_ACTION.get(t, t) for t in tokens(text)]
    negated: set[str] = set()
    plain: set[str] = set()
    scope = 0
    for token in words:
        if _NEGATION.fullmatch(token) or token in {"t"}:
            scope = 3  # a negation governs the next few content words ("not to stop action")
            continue
        if token in STOPWORDS:
            continue
        (negated if scope > 0 else plain).add(token)
        scope = max(0, scope - 1)
    return frozenset(negated), frozenset(plain)


def asked_terms(question: str, rarity: Mapping[str, float]) -> frozenset[str]:
    """The question's words (as `_polarity` reads them) that say what it is about: those
    whose stem is in at most half of the chunks (BM25 idf above log 2, the words that
    rank, see index.lexical.LexicalIndex.ranking_terms)."""
    words = {_SAME_ACTION.get(t, t) for t in tokens(question)}
    return frozenset(w for w in words if any(rarity.get(s, 0.0) > _RANKS for s in stems(w)))


def find_disagreement(
    chosen: Sequence[Scored], pool: Sequence[Scored], threshold: float, asked: frozenset[str]
) -> tuple[Scored, Scored] | None:
    """Return a chosen sentence and a relevant one from another source that contradicts it.

    Two sentences disagree when one says under a negation a word of the question (`asked`)
    that the other says plainly ("limited in stopping ... enforcement" against "can halt
    ... enforcement" for "Can mandamus stop 287(g) enforcement?") and both are about the
    question (each above the abstention threshold). A clash on a word the question does
    not ask about, or on one nearly every source uses ("287(g)"), is no disagreement
    about the answer: on dev such clashes flagged 8 of 43 answers that had none.
    """
    relevant = [s for s in pool if 0.5 * (s.candidate.dense + s.candidate.context) >= threshold]
    for a in chosen:
        neg_a, pos_a = _polarity(a.candidate.sentence.text)
        for b in relevant:
            if b.candidate.sentence.document_id == a.candidate.sentence.document_id:
                continue
            neg_b, pos_b = _polarity(b.candidate.sentence.text)
            clash = ((neg_a & pos_b) | (neg_b & pos_a)) & asked
            if clash and jaccard(a.terms, b.terms) >= 0.05 and len(a.terms & b.terms) >= 2:
                return a, b
    return None
