"""eval/compare.py: paired differences, flips, mismatched runs and the baseline gate."""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from eval.compare import CompareError, bound_failures, compare, comparison_table, paired_interval
from eval.report import render_html
from eval.run import per_kind, summarise
from lexcite.cli import main

GOLD = [{"document": "doc", "quote": "Mandamus is a court order.", "start": 0, "end": 26}]
IDENTITY = {
    "dataset": "eval/data/questions.jsonl",
    "dataset_sha256": "a" * 64,
    "split": "test",
    "index_version": "g1",
    "model": "all-MiniLM-L6-v2",
    "reader": None,
    "code": "c1",
}


def row(
    qid: str, right: bool, answer: str | None = None, answerable: bool = True
) -> dict[str, Any]:
    """One question's measurements: answered with gold cited when right (answerable), or
    abstained when right (unanswerable)."""
    abstained = right != answerable
    cited = not abstained
    return {
        "id": qid,
        "kind": "fact" if answerable else "out_of_scope",
        "question": f"Question {qid}?",
        "answerable": answerable,
        "abstained": abstained,
        "answer": answer or ("No answer." if abstained else f"Answer to {qid}. [1]"),
        "sentences_supported": [True] if cited else [],
        "citations_exact": [True] if cited else [],
        "citations_clutter": [False] if cited else [],
        "gold_cited": answerable and right,
        "citation_precision": (1.0 if right else 0.0) if answerable and cited else None,
        "citation_recall": (1.0 if right else 0.0) if answerable else None,
        "recall@1": 1.0 if answerable else None,
        "recall@5": 1.0 if answerable else None,
        "recall@10": 1.0 if answerable else None,
        "mrr": 1.0 if answerable else None,
        "ndcg@10": 1.0 if answerable else None,
        "sources_disagree": False,
        "gold": GOLD if answerable else [],
        "citations": [],
        "support": 0.5,
        "wall_ms": 10.0,
    }


def report(rows: list[dict[str, Any]], **identity: Any) -> dict[str, Any]:
    ident = {**IDENTITY, **identity}
    return {
        "dataset": ident["dataset"],
        "split": ident["split"],
        "index_version": ident["index_version"],
        "identity": ident,
        "modes": {"hybrid": {"rows": rows, "summary": summarise(rows), "per_kind": per_kind(rows)}},
        "gate": {"thresholds_file": None, "failures": []},
    }


def rate(comparison: Any, metric: str) -> Any:
    return next(d for d in comparison.differences if d.metric == metric)


# Baseline: q1-q6 right, q7-q10 wrong. This run: q5 and q6 broken, q7 fixed, q3 still
# right with other words, the rest as they were.
OLD = [row(f"q{i}", i <= 6) for i in range(1, 11)]
NEW = [
    row("q1", True),
    row("q2", True),
    row("q3", True, answer="Other words for q3. [1]"),
    row("q4", True),
    row("q5", False),
    row("q6", False),
    row("q7", True),
    *(row(f"q{i}", False) for i in (8, 9, 10)),
]


def test_known_flips_and_differences() -> None:
    comparison = compare(report(OLD), report(NEW))
    flips = {(f.id, f.change) for f in comparison.flips}
    assert flips == {("q7", "fixed"), ("q5", "broken"), ("q6", "broken"), ("q3", "changed")}
    gold = rate(comparison, "gold_cited")
    assert (gold.old, gold.new, gold.n) == (0.6, 0.5, 10)
    assert gold.diff == pytest.approx(-0.1)
    assert gold.low < gold.diff < gold.high
    q3 = next(f for f in comparison.flips if f.id == "q3")
    assert (q3.old_answer, q3.new_answer) == ("Answer to q3. [1]", "Other words for q3. [1]")
    assert q3.gold == GOLD
    assert comparison.notes == [] and comparison.shared == 10


def test_the_same_run_has_no_flips_and_a_zero_interval() -> None:
    comparison = compare(report(OLD), report(OLD))
    assert comparison.flips == []
    gold = rate(comparison, "gold_cited")
    assert (gold.diff, gold.low, gold.high) == (0.0, 0.0, 0.0)


def test_paired_interval_matches_a_hand_computed_case() -> None:
    # Two questions: A goes 0 -> 1, B stays 1. A resample of two draws A twice (diff 1,
    # probability 1/4), once (diff 1/2, probability 1/2) or never (diff 0, 1/4), so the
    # 2.5th and 97.5th percentiles of the bootstrap distribution are 0 and 1.
    assert paired_interval([[0.0], [1.0]], [[1.0], [1.0]]) == (0.0, 1.0)
    # Every question moves by the same amount: no spread at all.
    assert paired_interval([[0.0]] * 5, [[1.0]] * 5) == (1.0, 1.0)
    # Items of unequal number weigh by their count (a rate over items, not questions):
    # one question with two items 0 -> 1 beside one with one item 1 -> 1.
    low, high = paired_interval([[0.0, 0.0], [1.0]], [[1.0, 1.0], [1.0]])
    assert (low, high) == (0.0, 1.0)


def test_a_rate_no_question_contributes_to_is_undefined() -> None:
    assert all(math.isnan(v) for v in paired_interval([[], []], [[], []]))
    assert all(math.isnan(v) for v in paired_interval([], []))


def test_mismatched_datasets_and_splits_are_reported_and_only_shared_questions_compared() -> None:
    baseline = report(OLD)
    current = report(
        [*NEW[:9], row("q99", True)],  # q10 dropped, q99 new
        dataset="other.jsonl",
        dataset_sha256="b" * 64,
        split="dev",
        code="c2",
    )
    comparison = compare(baseline, current)
    notes = " | ".join(comparison.notes)
    assert "different question sets" in notes and "other.jsonl" in notes
    assert "different splits: baseline test, this run dev" in notes
    assert "code: c1 -> c2" in notes
    assert "9 shared questions (1 only in the baseline, 1 only in this run)" in notes
    assert comparison.shared == 9
    assert "q99" not in {f.id for f in comparison.flips}
    gold = rate(comparison, "gold_cited")
    assert (gold.old, gold.new) == (6 / 9, 5 / 9)


def test_a_reworded_question_is_not_compared() -> None:
    reworded = [dict(r) for r in NEW]
    reworded[4] = {**reworded[4], "question": "Something else entirely?"}
    comparison = compare(report(OLD), report(reworded))
    assert comparison.shared == 9
    assert "q5" not in {f.id for f in comparison.flips}
    assert any("other wording" in n for n in comparison.notes)


def test_reports_sharing_no_question_are_an_error() -> None:
    with pytest.raises(CompareError, match="share no question"):
        compare(report(OLD), report([row("x1", True)]))


def test_a_real_drop_fails_its_bound_and_noise_does_not() -> None:
    bounds = {"max_drop": {"gold_cited": 0.02}, "max_rise": {"false_abstention": 0.02}}
    baseline = [row(f"q{i}", True) for i in range(40)]
    # 10 of 40 broken (refused): gold cited -25 points, false abstention +25.
    broken = [row(f"q{i}", i >= 10) for i in range(40)]
    failures = compare(report(baseline), report(broken), bounds).failures
    assert len(failures) == 2
    assert failures[1].startswith("false_abstention rose by 25.0 points (0.000 -> 0.250")
    assert failures[0].startswith("gold_cited fell by 25.0 points (1.000 -> 0.750")
    assert "more than the 2.0 allowed (max_drop, by 23.0)" in failures[0]
    # Five fixed and six broken out of 40: one point down, well within noise.
    before = [row(f"q{i}", i >= 5) for i in range(40)]
    after = [row(f"q{i}", i < 5 or i >= 11) for i in range(40)]
    shuffled = compare(report(before), report(after), {"max_drop": {"gold_cited": 0.0}})
    assert rate(shuffled, "gold_cited").diff < 0
    assert shuffled.failures == []


def test_a_rise_in_false_abstention_fails_its_bound() -> None:
    baseline = [row(f"q{i}", True) for i in range(30)]
    refused = [row(f"q{i}", True, answerable=True) for i in range(20)] + [
        {**row(f"q{i}", False), "abstained": True, "citation_precision": None}
        for i in range(20, 30)
    ]
    failures = bound_failures(
        compare(report(baseline), report(refused)).differences,
        {"max_rise": {"false_abstention": 0.02}},
    )
    assert len(failures) == 1 and failures[0].startswith("false_abstention rose by 33.3 points")


def test_a_bound_on_the_wrong_side_or_an_unknown_rate_is_an_error() -> None:
    comparison = compare(report(OLD), report(NEW))
    with pytest.raises(CompareError, match="max_rise"):
        bound_failures(comparison.differences, {"max_drop": {"false_abstention": 0.02}})
    with pytest.raises(CompareError, match="no such rate"):
        bound_failures(comparison.differences, {"max_drop": {"gold_citd": 0.02}})


def test_terminal_and_html_show_both_answers_and_the_gold() -> None:
    comparison = compare(report(OLD), report(NEW))
    text = comparison_table(comparison)
    assert "[broken] q5 (fact) Question q5?" in text
    assert "baseline: Answer to q5. [1]" in text and "this run: (abstained) No answer." in text
    assert "gold: doc: Mandamus is a court order." in text
    assert "1 fixed, 2 broken, 1 changed" in text and "BASELINE GATE: PASS" in text
    current = report(NEW)
    current["comparison"] = asdict(comparison)
    page = render_html(current)
    assert '<section id="compared">' in page
    assert '<a href="#flip-q5">q5</a> (broken)' in page and 'id="flip-q5"' in page
    assert "Other words for q3. [1]" in page


def test_cli_compare_exits_1_naming_the_bound(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps(report([row(f"q{i}", True) for i in range(40)])))
    new.write_text(json.dumps(report([row(f"q{i}", i >= 10) for i in range(40)])))
    thresholds = tmp_path / "t.toml"
    thresholds.write_text("[baseline.max_drop]\ngold_cited = 0.02\n")
    code = main(["eval", "compare", str(old), str(new), "--thresholds", str(thresholds)])
    out, err = capsys.readouterr()
    assert code == 1
    assert "Flips: 0 fixed, 10 broken, 0 changed" in out
    assert "gold_cited fell by 25.0 points" in err
    assert main(["eval", "compare", str(old), str(old), "--thresholds", str(thresholds)]) == 0


def test_cli_compare_of_a_missing_or_foreign_file_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    foreign = tmp_path / "x.json"
    foreign.write_text('{"hello": 1}')
    assert main(["eval", "compare", str(tmp_path / "nope.json"), str(foreign)]) == 1
    assert "not a readable report" in capsys.readouterr().err
    assert main(["eval", "compare", str(foreign), str(foreign)]) == 1
    assert "not a lexcite evaluation report" in capsys.readouterr().err
    assert main(["eval", "compare", str(foreign)]) == 1
    assert "two reports" in capsys.readouterr().err


def test_an_older_report_without_identity_is_compared_with_a_note() -> None:
    baseline = report(OLD)
    del baseline["identity"]
    comparison = compare(baseline, report(NEW))
    assert comparison.notes == [
        "the baseline records no dataset_sha256, model, code (an older report)"
    ]
    assert comparison.shared == 10
