"""Latency summaries: percentiles by the nearest-rank method, in milliseconds."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """Given samples and q in [0, 100], return the nearest-rank q-th percentile (Hyndman &
    Fan 1996, definition 1): a value that was observed, never an interpolation."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def summary(seconds: Sequence[float]) -> dict[str, float]:
    """Given latencies in seconds, return n, p50, p90, p99, mean and max in milliseconds."""
    ms = [s * 1000 for s in seconds]
    return {
        "n": float(len(ms)),
        "p50_ms": percentile(ms, 50),
        "p90_ms": percentile(ms, 90),
        "p99_ms": percentile(ms, 99),
        "mean_ms": sum(ms) / len(ms) if ms else math.nan,
        "max_ms": max(ms) if ms else math.nan,
    }


def ratio(ours: float, theirs: float) -> float:
    """lexcite / peer; NaN when either is missing or the peer's is zero."""
    if math.isnan(ours) or math.isnan(theirs) or theirs == 0:
        return math.nan
    return ours / theirs
