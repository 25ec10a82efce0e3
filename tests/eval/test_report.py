"""eval/report.py: the terminal table, the self-contained HTML page and the written pair."""

from __future__ import annotations

import copy
import json
import math
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from eval.report import METRICS, render_html, summary_table, write_report

XSS = "<script>alert(1)</script>"
VOID = {"meta", "br", "wbr", "hr", "img", "input", "link"}


def estimate(value: float, n: int = 4) -> dict[str, Any]:
    return {"value": value, "low": value - 0.1, "high": value + 0.1, "n": n}


def row(
    qid: str,
    kind: str,
    answerable: bool,
    abstained: bool,
    gold_cited: bool,
    exact: bool = True,
    question: str = "What is mandamus?",
) -> dict[str, Any]:
    citations = (
        []
        if abstained
        else [
            {
                "n": 1,
                "document_id": "doc-a",
                "title": "Mandamus & you",
                "section": "Basics",
                "text": "Mandamus is a court order.",
                "start": 10,
                "end": 36,
                "score": 0.61,
            },
        ]
    )
    return {
        "id": qid,
        "kind": kind,
        "answerable": answerable,
        "abstained": abstained,
        "support": 0.61 if answerable else 0.12,
        "sentences_supported": [True] * len(citations),
        "citations_exact": [exact] * len(citations),
        "citations_clutter": [False] * len(citations),
        "gold_cited": gold_cited,
        "question": question,
        "answer": "No answer in our sources." if abstained else "Mandamus is a court order. [1]",
        "citations": citations,
        "sources_disagree": False,
        "wall_ms": 12.0,
        "gold": [
            {"document": "doc-a", "quote": "Mandamus is a court order.", "start": 10, "end": 36}
        ]
        if answerable
        else [],
    }


def mode(rows: list[dict[str, Any]], value: float) -> dict[str, Any]:
    summary: dict[str, Any] = {key: estimate(value) for key in METRICS}
    summary["latency_ms"] = {"p50": 12.0, "p95": 40.0, "n": len(rows)}
    summary["questions"] = {"all": len(rows), "answerable": 4, "unanswerable": 2}
    per_kind = {"fact": {"n": 4, "correct": 0.25}, "out_of_scope": {"n": 2, "correct": 0.5}}
    return {"summary": summary, "per_kind": per_kind, "rows": rows}


ROWS = [
    row("q-right", "fact", True, False, True),
    row("q-missed", "fact", True, False, False, question=XSS),
    row("q-refused", "fact", True, True, False),
    row("q-inexact", "fact", True, False, True, exact=False),
    row("q-abstained", "out_of_scope", False, True, False),
    row("q-answered", "out_of_scope", False, False, False),
]


@pytest.fixture
def report() -> dict[str, Any]:
    return {
        "dataset": "eval/data/questions.jsonl",
        "split": "test",
        "created": "2026-01-01T00:00:00Z",
        "index_version": "v1",
        "threshold": 0.3,
        # Insertion order puts hybrid last: the report must still show it first.
        "modes": {"lexical": mode(ROWS, 0.5), "dense": mode(ROWS, 0.6), "hybrid": mode(ROWS, 0.75)},
        "sweep": [
            {
                "threshold": 0.1 + i / 20,
                "precision": 1 - i / 20,
                "recall": i / 10,
                "false_abstention": i / 20,
            }
            for i in range(11)
        ],
        "gate": {"thresholds_file": "eval/thresholds.toml", "failures": []},
    }


def failing(report: dict[str, Any]) -> dict[str, Any]:
    report["gate"]["failures"] = ["gold_cited = 0.650 is below the minimum 0.9"]
    return report


class Balance(HTMLParser):
    """Records tags that close out of order or never close."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(tag)


def section(page: str, name: str) -> str:
    start = page.index(f'<section id="{name}">')
    return page[start : page.index("</section>", start)]


def test_summary_table_has_every_metric_and_mode_hybrid_first(report: dict[str, Any]) -> None:
    table = summary_table(report)
    for key in (*METRICS, "latency p50", "latency p95"):
        assert key in table
    header = next(line for line in table.splitlines() if line.startswith("metric"))
    assert header.split() == ["metric", "hybrid", "dense", "lexical"]
    assert "75.0% [65.0–85.0] n=4" in " ".join(table.split())  # value, 95% CI, n
    assert "12 ms" in table and "40 ms" in table


def test_summary_table_gate_pass_and_fail(report: dict[str, Any]) -> None:
    assert summary_table(report).rstrip().endswith("GATE: PASS")
    table = summary_table(failing(report))
    assert "GATE: FAIL" in table and "GATE: PASS" not in table
    assert "  - gold_cited = 0.650 is below the minimum 0.9" in table


def test_nan_figures_show_a_dash(report: dict[str, Any]) -> None:
    # As read back from report.json, where a rate over no items is a bare NaN.
    report["modes"]["hybrid"]["summary"]["abstention_precision"] = json.loads(
        '{"value": NaN, "low": NaN, "high": NaN, "n": 0}'
    )
    report["modes"]["dense"]["summary"]["latency_ms"]["p95"] = math.nan
    report["modes"]["hybrid"]["per_kind"]["fact"]["correct"] = math.nan
    line = next(x for x in summary_table(report).splitlines() if x.startswith("abstention_prec"))
    assert line.split()[1:3] == ["–", "n=0"]
    page = render_html(report)
    assert re.search(r"\bnan\b", page, re.IGNORECASE) is None  # no "nan%", "NaN ms"
    assert "–" in section(page, "headline")


def test_render_html_is_one_complete_self_contained_page(report: dict[str, Any]) -> None:
    page = render_html(report)
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    assert '<meta name="viewport"' in page and "<style>" in page
    assert section(page, "charts").count("<svg") == 4
    for external in ("<script", "<link", "src=", "http://", "https://", "@import", "url("):
        assert external not in page
    parser = Balance()
    parser.feed(page)
    assert parser.errors == [] and parser.stack == []


def test_render_html_shows_modes_side_by_side_and_the_chart_values(
    report: dict[str, Any],
) -> None:
    page = render_html(report)
    head = section(page, "headline")
    assert head.index(">hybrid<") < head.index(">dense<") < head.index(">lexical<")
    charts = section(page, "charts")
    assert ">25%<" in charts and ">fact (n=4)<" in charts  # per-kind values on the bars
    assert "threshold 0.3" in charts  # the threshold marked on the histogram and sweep


def test_render_html_escapes_every_string_from_the_data(report: dict[str, Any]) -> None:
    report["modes"]["hybrid"]["per_kind"][XSS] = {"n": 1, "correct": 1.0}
    report["dataset"] = XSS
    page = render_html(report)
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in section(page, "failures")
    assert "Mandamus &amp; you" in page


def test_render_html_gate_banner(report: dict[str, Any]) -> None:
    assert "Gate: PASS" in render_html(report)
    page = render_html(failing(report))
    assert "Gate: FAIL" in page and "gold_cited = 0.650 is below the minimum 0.9" in page


def test_render_html_lists_every_hybrid_failure_and_nothing_else(report: dict[str, Any]) -> None:
    failures = section(render_html(report), "failures")
    assert "Failures (hybrid, 4 of 6)" in failures
    for qid, what in [
        ("q-missed", "gold sentence not cited"),
        ("q-refused", "abstained, but the sources answer it"),
        ("q-inexact", "1 inexact citation"),
        ("q-answered", "answered, but the sources do not answer it"),
    ]:
        article = failures[failures.index(f">{qid}<") :].split("</article>")[0]
        assert what in article
    assert "q-right" not in failures and "q-abstained" not in failures
    # Each cited text with its document and offsets, and the gold quotes.
    assert "doc-a [10:36]" in failures and "Mandamus is a court order." in failures
    assert "none: the sources do not answer it" in failures


def test_render_html_without_sweep_or_support_scores(report: dict[str, Any]) -> None:
    del report["sweep"]
    for r in report["modes"]["hybrid"]["rows"]:
        r["support"] = None
    charts = section(render_html(report), "charts")
    assert "no threshold sweep in this report" in charts
    assert "no support scores in this run" in charts


def test_write_report_writes_both_files_and_json_round_trips(
    report: dict[str, Any], tmp_path: Path
) -> None:
    report["modes"]["hybrid"]["summary"]["mrr"] = estimate(math.nan, 0)
    out = tmp_path / "runs" / "today"
    json_path, html_path = write_report(report, out)
    assert (json_path, html_path) == (out / "report.json", out / "report.html")
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "report.json"]
    loaded = json.loads(json_path.read_text("utf-8"))
    # NaN != NaN, so compare the canonical JSON of both sides.
    assert json.dumps(loaded, sort_keys=True) == json.dumps(report, sort_keys=True)
    assert html_path.read_text("utf-8") == render_html(report)


def test_write_report_leaves_the_old_pair_when_rendering_fails(
    report: dict[str, Any], tmp_path: Path
) -> None:
    write_report(report, tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    broken = copy.deepcopy(report)
    del broken["gate"]
    with pytest.raises(KeyError):
        write_report(broken, tmp_path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
