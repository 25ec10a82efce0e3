"""Metrics, as pure functions over spans and answers. Each is defined in eval/README.md."""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Span = tuple[str, int, int]  # document id, start, end
# Bootstrap resamples for confidence intervals (Efron & Tibshirani 1993, percentile method).
BOOTSTRAP_RESAMPLES = 2000
_NUMBER = re.compile(r"\d[\d,.]*")
_WORD = re.compile(r"\w+")


def overlaps(a: Span, b: Span) -> bool:
    """Whether two spans share at least one character of the same document."""
    return a[0] == b[0] and a[1] < b[2] and b[1] < a[2]


def recall_at_k(retrieved: Sequence[Span], gold: Sequence[Span], k: int) -> float:
    """Share of gold spans that some passage of the top k overlaps."""
    if not gold:
        return 0.0
    top = retrieved[:k]
    return sum(any(overlaps(r, g) for r in top) for g in gold) / len(gold)


def reciprocal_rank(retrieved: Sequence[Span], gold: Sequence[Span]) -> float:
    """1 / rank of the first passage that overlaps a gold span (0 when none does)."""
    for rank, r in enumerate(retrieved, 1):
        if any(overlaps(r, g) for g in gold):
            return 1.0 / rank
    return 0.0


def ndcg_at_k(retrieved: Sequence[Span], gold: Sequence[Span], k: int = 10) -> float:
    """nDCG@k with binary gains (Järvelin & Kekäläinen 2002): a passage is relevant when
    it overlaps a gold span; the ideal ranking puts min(#gold, k) relevant passages first."""
    gains = [1.0 if any(overlaps(r, g) for g in gold) else 0.0 for r in retrieved[:k]]
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains))
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(gold), k)))
    return dcg / ideal if ideal else 0.0


def citation_exact(citation: Mapping[str, Any], texts: Mapping[str, str]) -> bool:
    """Whether a citation's text is exactly its document's cleaned text [start:end]."""
    text = texts.get(citation["document_id"])
    return text is not None and text[citation["start"] : citation["end"]] == citation["text"]


def sentence_supported(sentence: Mapping[str, Any], citations: Mapping[int, Any]) -> bool:
    """Whether an answer sentence stands verbatim in the text of every citation it lists."""
    cited = [citations.get(n) for n in sentence["citations"]]
    return bool(cited) and all(c is not None and sentence["text"] in c["text"] for c in cited)


def support_score(sentence: str, source: str) -> float:
    """Support of a possibly non-extractive sentence by a source text, in [0, 1].

    1.0 when the sentence is contained verbatim. Otherwise the share of the sentence's
    words found in the source, set to 0 when the sentence has a number the source lacks
    (a changed date or amount is unsupported however many words match).
    """
    if sentence in source:
        return 1.0
    numbers = set(_NUMBER.findall(sentence))
    if numbers - set(_NUMBER.findall(source)):
        return 0.0
    words = _WORD.findall(sentence.casefold())
    have = set(_WORD.findall(source.casefold()))
    return sum(w in have for w in words) / len(words) if words else 0.0


def has_clutter(text: str, clutter: Sequence[str]) -> bool:
    """Whether any clutter string appears in a text (case-insensitive)."""
    folded = text.casefold()
    return any(c.casefold() in folded for c in clutter)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100) with linear interpolation between order statistics."""
    if not values:
        return math.nan
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low, high = math.floor(pos), math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


@dataclass(frozen=True, slots=True)
class Estimate:
    """A rate with its 95% bootstrap confidence interval and the number it is over."""

    value: float
    low: float
    high: float
    n: int


def rate(values: Sequence[float], seed: int = 0) -> Estimate:
    """Given per-item scores (0/1 or fractions), return their mean with a 95% bootstrap CI."""
    if not values:
        return Estimate(math.nan, math.nan, math.nan, 0)
    mean = sum(values) / len(values)
    rng = random.Random(seed)  # noqa: S311 - resampling, not cryptography
    n = len(values)
    means = sorted(
        sum(values[rng.randrange(n)] for _ in range(n)) / n for _ in range(BOOTSTRAP_RESAMPLES)
    )
    return Estimate(mean, percentile(means, 2.5), percentile(means, 97.5), n)


def threshold_sweep(
    supports: Sequence[float], answerable: Sequence[bool], steps: int = 101
) -> list[dict[str, float]]:
    """Abstention precision / recall / false-abstention rate for thresholds over [min, max]."""
    if not supports:
        return []
    low, high = min(supports), max(supports)
    rows = []
    for i in range(steps):
        t = low + (high - low) * i / (steps - 1)
        abstain = [s < t for s in supports]
        tp = sum(a and not ok for a, ok in zip(abstain, answerable, strict=True))
        fp = sum(a and ok for a, ok in zip(abstain, answerable, strict=True))
        negatives = sum(not ok for ok in answerable)
        positives = sum(answerable)
        rows.append(
            {
                "threshold": t,
                "precision": tp / (tp + fp) if tp + fp else 1.0,
                "recall": tp / negatives if negatives else 0.0,
                "false_abstention": fp / positives if positives else 0.0,
            }
        )
    return rows


def calibrate(
    supports: Sequence[float], answerable: Sequence[bool], max_false_abstention: float = 0.05
) -> float:
    """The threshold with the best abstention recall whose false-abstention rate stays
    within the bound; ties go to the lower threshold (fewer refusals)."""
    best: tuple[float, float] | None = None
    for row in threshold_sweep(supports, answerable, steps=401):
        if row["false_abstention"] <= max_false_abstention:
            key = (row["recall"], -row["threshold"])
            if best is None or key > (best[0], -best[1]):
                best = (row["recall"], row["threshold"])
    return 0.0 if best is None else best[1]


Metric = Callable[[Sequence[Span], Sequence[Span]], float]
