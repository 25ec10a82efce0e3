"""Evaluate lexcite on a question set: every retrieval mode, a threshold sweep, the gate."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eval import metrics
from eval.dataset import Question, locate, select
from eval.run import THRESHOLDS, Answerer, check, collect, gate, load_clutter, per_kind, summarise

CALIBRATION = Path(__file__).resolve().parents[1] / "service" / "calibration.json"
# The bound on wrongly refused answerable questions; calibration keeps within it.
MAX_FALSE_ABSTENTION = 0.05


def evaluate(
    questions: Sequence[Question],
    answerer: Answerer,
    *,
    split: str,
    modes: Sequence[str] = ("hybrid",),
    thresholds: Path | None = THRESHOLDS,
    progress: bool = True,
    meta: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Given questions and an answerer, return the full report (see eval/README.md)."""
    texts = answerer.texts()
    chosen = select(locate(questions, texts), split)
    clutter = load_clutter()
    report: dict[str, Any] = {
        "split": split,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **(meta or {}),
        "modes": {},
    }
    for mode in modes:
        rows = [check(r, texts, clutter) for r in collect(chosen, answerer, mode, progress)]
        report["modes"][mode] = {
            "summary": summarise(rows),
            "per_kind": per_kind(rows),
            "rows": rows,
        }
    main = report["modes"][modes[0]]
    supports = [r["support"] for r in main["rows"]]
    if all(s is not None for s in supports):
        report["sweep"] = metrics.threshold_sweep(supports, [r["answerable"] for r in main["rows"]])
    failures = gate(main["summary"], thresholds) if thresholds is not None else []
    report["gate"] = {
        "thresholds_file": thresholds.name if thresholds else None,
        "failures": failures,
    }
    return report


def calibrate(
    questions: Sequence[Question], answerer: Answerer, dataset: str, progress: bool = True
) -> dict[str, Any]:
    """Run the dev split with the relevance threshold off and return the calibrated
    threshold record. Questions the composer refuses at any threshold (a how-many question
    whose figure the sources do not give) are left out of the sweep and counted as
    abstained in the record's rates."""
    report = evaluate(questions, answerer, split="dev", thresholds=None, progress=progress)
    rows = report["modes"]["hybrid"]["rows"]
    open_rows = [r for r in rows if not r["abstained"]]
    threshold = metrics.calibrate(
        [float(r["support"]) for r in open_rows],
        [bool(r["answerable"]) for r in open_rows],
        MAX_FALSE_ABSTENTION,
    )
    answerable = [bool(r["answerable"]) for r in rows]
    abstain = [bool(r["abstained"]) or float(r["support"]) < threshold for r in rows]
    unanswerable = [not a for a in answerable]
    return {
        "abstain_below": round(threshold, 4),
        "calibrated_on": f"{dataset} split=dev ({len(rows)} questions)",
        "rule": f"highest abstention recall with false abstention <= {MAX_FALSE_ABSTENTION}",
        "dev_abstention_recall": sum(a and u for a, u in zip(abstain, unanswerable, strict=True))
        / max(1, sum(unanswerable)),
        "dev_false_abstention": sum(a and not u for a, u in zip(abstain, unanswerable, strict=True))
        / max(1, sum(answerable)),
        "created": report["created"],
    }


def save_calibration(record: dict[str, Any], path: Path = CALIBRATION) -> None:
    """Write the calibration record that the service reads its threshold from."""
    path.write_text(json.dumps(record, indent=2) + "\n")
