"""Compare two evaluation reports question by question: paired differences, flips, a gate.

A release asks "is this better or worse than what we ship, and where?". Two runs are
compared over the questions both answered (same id, same question, same gold): each
headline rate's difference gets a paired bootstrap interval (the same resampled questions
for both runs, so a change that fixes six questions and breaks five shows as the noise it
is), and every question whose outcome or answer changed is listed.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from eval import metrics
from eval.run import RATES, correct, items

# What makes two reports comparable, as `identity` records it.
IDENTITY_KEYS = ("dataset", "dataset_sha256", "split", "index_version", "model", "reader", "code")
# Rates where lower is better: their bound is on a rise, not a drop.
LOWER_IS_BETTER = frozenset({"clutter_leakage", "false_abstention", "false_disagreement"})
MAIN_MODES = ("hybrid", "dense", "lexical", "rrf")


class CompareError(Exception):
    """A report cannot be read, or the two reports share no question or mode."""


@dataclass(frozen=True, slots=True)
class Difference:
    """One rate in both runs over their shared questions, with a paired 95% interval."""

    metric: str
    old: float
    new: float
    diff: float
    low: float
    high: float
    n: int  # shared questions that contribute to this rate in either run


@dataclass(frozen=True, slots=True)
class Flip:
    """A shared question whose outcome (fixed, broken) or answer text (changed) moved."""

    id: str
    kind: str
    change: str
    question: str
    old_answer: str
    new_answer: str
    old_abstained: bool
    new_abstained: bool
    gold: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Comparison:
    """What `compare` finds: identities, notes on what differs, figures, flips, failures."""

    mode: str
    baseline: dict[str, Any]
    current: dict[str, Any]
    notes: list[str]
    shared: int
    differences: list[Difference]
    flips: list[Flip]
    failures: list[str]


def load_report(path: Path) -> dict[str, Any]:
    """Given a report.json path, return the report."""
    try:
        report: dict[str, Any] = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as err:
        raise CompareError(f"{path}: not a readable report ({err})") from err
    if not isinstance(report, dict) or not isinstance(report.get("modes"), dict):
        raise CompareError(f"{path}: not a lexcite evaluation report (no 'modes')")
    return report


def dataset_sha256(path: Path) -> str:
    """Return the sha256 of a question set's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def code_version(root: Path) -> str:
    """Return the git commit of the code at root ("+dirty" with uncommitted changes), or
    "unknown" outside a git checkout."""
    git = shutil.which("git")
    if git is None:
        return "unknown"
    try:
        head = subprocess.run(  # noqa: S603 - git, fixed arguments
            [git, "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(  # noqa: S603 - git, fixed arguments
            [git, "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def identity(report: Mapping[str, Any]) -> dict[str, Any]:
    """Given a report, return what identifies its run (None where an old report lacks it)."""
    recorded = report.get("identity") or {}
    return {key: recorded.get(key, report.get(key)) for key in IDENTITY_KEYS}


def paired_interval(
    old: Sequence[Sequence[float]], new: Sequence[Sequence[float]], seed: int = 0
) -> tuple[float, float]:
    """Given, per shared question, its items of one rate in each run, return the 95%
    percentile-bootstrap interval of new minus old, resampling questions (both runs' items
    of a drawn question go together: the paired bootstrap, Efron & Tibshirani 1993, 10.3).
    Resamples where either rate is undefined (no items) are left out."""
    n = len(old)
    if n == 0:
        return math.nan, math.nan
    sums = np.array([[sum(o), sum(w)] for o, w in zip(old, new, strict=True)], dtype=float)
    counts = np.array([[len(o), len(w)] for o, w in zip(old, new, strict=True)], dtype=float)
    draws = np.random.default_rng(seed).integers(0, n, size=(metrics.BOOTSTRAP_RESAMPLES, n))
    total, count = sums[draws].sum(axis=1), counts[draws].sum(axis=1)
    defined = (count > 0).all(axis=1)
    if not defined.any():
        return math.nan, math.nan
    rates = total[defined] / count[defined]
    diffs = sorted((rates[:, 1] - rates[:, 0]).tolist())
    return metrics.percentile(diffs, 2.5), metrics.percentile(diffs, 97.5)


def compare(
    baseline: Mapping[str, Any],
    current: Mapping[str, Any],
    bounds: Mapping[str, Any] | None = None,
) -> Comparison:
    """Given a baseline report, a current one and optional bounds ({"max_drop": {metric:
    points}, "max_rise": {...}} as fractions), return their comparison."""
    mode = _shared_mode(baseline, current)
    old_id, new_id = identity(baseline), identity(current)
    notes = _notes(old_id, new_id)
    old_rows = {r["id"]: r for r in baseline["modes"][mode]["rows"]}
    new_rows = {r["id"]: r for r in current["modes"][mode]["rows"]}
    same = [i for i in old_rows if i in new_rows and _same_question(old_rows[i], new_rows[i])]
    reworded = sum(1 for i in old_rows if i in new_rows) - len(same)
    if reworded:
        notes.append(f"{reworded} ids are in both runs with other wording or gold: left out")
    only_old, only_new = len(old_rows) - len(same) - reworded, len(new_rows) - len(same) - reworded
    if only_old or only_new:
        notes.append(
            f"compared on the {len(same)} shared questions "
            f"({only_old} only in the baseline, {only_new} only in this run)"
        )
    if not same:
        raise CompareError("the two reports share no question: " + "; ".join(notes))
    old_items = [items(old_rows[i]) for i in same]
    new_items = [items(new_rows[i]) for i in same]
    differences = [_difference(key, old_items, new_items) for key in RATES]
    flips = [f for i in same if (f := _flip(old_rows[i], new_rows[i])) is not None]
    failures = bound_failures(differences, bounds or {})
    return Comparison(mode, old_id, new_id, notes, len(same), differences, flips, failures)


def bound_failures(differences: Sequence[Difference], bounds: Mapping[str, Any]) -> list[str]:
    """Given differences and bounds, return the bounds broken: a rate fell (rose, for the
    lower-is-better ones) by more than allowed AND its paired interval lies wholly on the
    worse side of zero, so noise alone does not fail a release."""
    by_metric = {d.metric: d for d in differences}
    failures = []
    for section, worse in (("max_drop", -1.0), ("max_rise", 1.0)):
        for key, allowed in (bounds.get(section) or {}).items():
            if key not in by_metric:
                raise CompareError(f"baseline bound {section}.{key}: no such rate")
            if (key in LOWER_IS_BETTER) != (worse > 0):
                raise CompareError(
                    f"baseline bound {section}.{key}: {key} is "
                    f"{'lower' if key in LOWER_IS_BETTER else 'higher'} is better; "
                    f"bound it under {'max_rise' if key in LOWER_IS_BETTER else 'max_drop'}"
                )
            d = by_metric[key]
            moved = worse * d.diff
            sure = d.high < 0 if worse < 0 else d.low > 0
            if moved > float(allowed) and sure:
                verb = "fell" if worse < 0 else "rose"
                failures.append(
                    f"{key} {verb} by {100 * moved:.1f} points ({d.old:.3f} -> {d.new:.3f}, "
                    f"paired 95% interval [{100 * d.low:+.1f}, {100 * d.high:+.1f}]), "
                    f"more than the {100 * float(allowed):.1f} allowed ({section}, by "
                    f"{100 * (moved - float(allowed)):.1f})"
                )
    return failures


def comparison_table(comp: Comparison) -> str:
    """Given a comparison, return it as plain text for the terminal: figures, then flips
    with both answers and the gold."""
    lines = [
        f"Compared with the baseline ({comp.mode}, {comp.shared} shared questions)",
        *(f"  note: {n}" for n in comp.notes),
        "",
        f"{'metric':<22}{'baseline':>9}{'this run':>9}{'diff':>8}  paired 95% interval",
    ]
    for d in comp.differences:
        if math.isnan(d.old) and math.isnan(d.new):
            continue
        lines.append(
            f"{d.metric:<22}{_pct(d.old):>9}{_pct(d.new):>9}{_points(d.diff):>8}  "
            f"[{_points(d.low)}, {_points(d.high)}] n={d.n}"
        )
    counts = {c: sum(f.change == c for f in comp.flips) for c in ("fixed", "broken", "changed")}
    lines += ["", "Flips: " + ", ".join(f"{n} {c}" for c, n in counts.items())]
    for f in comp.flips:
        lines += [
            f"  [{f.change}] {f.id} ({f.kind}) {f.question}",
            f"    baseline: {_answer_text(f.old_answer, f.old_abstained)}",
            f"    this run: {_answer_text(f.new_answer, f.new_abstained)}",
            *(f"    gold: {g['document']}: {g['quote']}" for g in f.gold),
        ]
    if not comp.flips:
        lines.append("  none")
    verdict = ["BASELINE GATE: FAIL", *(f"  - {x}" for x in comp.failures)]
    lines += ["", *(verdict if comp.failures else ["BASELINE GATE: PASS"])]
    return "\n".join(lines) + "\n"


# --- pieces ---------------------------------------------------------------------------


def _shared_mode(baseline: Mapping[str, Any], current: Mapping[str, Any]) -> str:
    shared = [m for m in current["modes"] if m in baseline["modes"]]
    if not shared:
        raise CompareError("the two reports share no retrieval mode")
    return next((m for m in MAIN_MODES if m in shared), shared[0])


def _notes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    notes = []
    unrecorded = [k for k in IDENTITY_KEYS if old[k] is None and new[k] is not None]
    if unrecorded:
        notes.append(f"the baseline records no {', '.join(unrecorded)} (an older report)")
    if "dataset_sha256" not in unrecorded and (
        old["dataset_sha256"] != new["dataset_sha256"] or old["dataset"] != new["dataset"]
    ):
        notes.append(
            f"different question sets: baseline {old['dataset']} "
            f"({_short(old['dataset_sha256'])}), this run {new['dataset']} "
            f"({_short(new['dataset_sha256'])})"
        )
    if old["split"] != new["split"]:
        notes.append(f"different splits: baseline {old['split']}, this run {new['split']}")
    for key in ("index_version", "model", "reader", "code"):
        if old[key] != new[key] and key not in unrecorded:
            notes.append(f"{key}: {old[key]} -> {new[key]}")
    return notes


def _same_question(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    def quotes(row: Mapping[str, Any]) -> list[tuple[str, str]]:
        return sorted((g["document"], g["quote"]) for g in row.get("gold", []))

    return bool(
        old["question"] == new["question"]
        and old["answerable"] == new["answerable"]
        and quotes(old) == quotes(new)
    )


def _difference(
    key: str, old: Sequence[Mapping[str, list[float]]], new: Sequence[Mapping[str, list[float]]]
) -> Difference:
    o = [row[key] for row in old]
    w = [row[key] for row in new]
    old_rate, new_rate = _rate(o), _rate(w)
    low, high = paired_interval(o, w)
    n = sum(1 for a, b in zip(o, w, strict=True) if a or b)
    return Difference(key, old_rate, new_rate, new_rate - old_rate, low, high, n)


def _rate(per_question: Sequence[Sequence[float]]) -> float:
    values = [v for vs in per_question for v in vs]
    return sum(values) / len(values) if values else math.nan


def _flip(old: Mapping[str, Any], new: Mapping[str, Any]) -> Flip | None:
    was, now = correct(old), correct(new)
    if was == now and (old["answer"], old["abstained"]) == (new["answer"], new["abstained"]):
        return None
    change = "changed" if was == now else ("fixed" if now else "broken")
    return Flip(
        str(new["id"]),
        str(new["kind"]),
        change,
        str(new["question"]),
        str(old["answer"]),
        str(new["answer"]),
        bool(old["abstained"]),
        bool(new["abstained"]),
        list(new.get("gold", [])),
    )


def _answer_text(answer: str, abstained: bool) -> str:
    return f"(abstained) {answer}" if abstained else answer


def _pct(value: float) -> str:
    return "–" if math.isnan(value) else f"{100 * value:.1f}%"


def _points(value: float) -> str:
    return "–" if math.isnan(value) else f"{100 * value:+.1f}"


def _short(digest: Any) -> str:
    return str(digest)[:12] if digest else "no hash recorded"
