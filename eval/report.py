"""Turn an evaluation report (eval/evaluate.py) into a terminal table and one HTML page.

The page is self-contained (inline CSS, charts drawn here as SVG, no JavaScript), so a
CI artifact still opens offline and unchanged years later. Every string that comes from
the report goes through `esc` (html.escape): questions, answers and cited texts are data.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from eval import metrics
from eval.charts import (
    esc,
    fmt_ms,
    kind_chart,
    number,
    number_text,
    percent,
    pr_chart,
    support_histogram,
    sweep_chart,
)
from eval.style import CSS
from ingest.corpus import write_atomically

# The headline figures of eval/run.py:summarise(), grouped as the page shows them.
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Answers", ("sentence_support", "citation_exactness", "clutter_leakage", "gold_cited",
                 "citation_precision", "citation_recall")),
    ("Abstention", ("abstention_recall", "abstention_precision", "false_abstention")),
    ("Disagreement", ("disagreement_flagged", "false_disagreement")),
    ("Retrieval", ("recall@1", "recall@5", "recall@10", "mrr", "ndcg@10")),
)  # fmt: skip
METRICS = tuple(key for _, keys in GROUPS for key in keys)
LOWER_IS_BETTER = frozenset(
    {"clutter_leakage", "false_abstention", "false_disagreement", "p50", "p95"}
)
MODE_ORDER = ("hybrid", "dense", "lexical")
BEST = ' class="best"'  # marks the best mode of a headline row


def summary_table(report: Mapping[str, Any]) -> str:
    """Given a report, return its headline figures as a plain-text table for the terminal."""
    modes = _modes(report)
    header = ["metric", *modes]
    rows = [
        [key, *(_estimate_text(_summary(report, m).get(key)) for m in modes)] for key in METRICS
    ]
    for q in ("p50", "p95"):
        latency = [f"{fmt_ms(_summary(report, m)['latency_ms'][q]):>6}" for m in modes]
        rows.append([f"latency {q}", *latency])
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    failures = report["gate"]["failures"]
    gate = ["GATE: FAIL", *(f"  - {f}" for f in failures)] if failures else ["GATE: PASS"]
    title = (
        f"lexcite eval: {report.get('dataset', '–')} split={report.get('split', '–')} "
        f"threshold={number_text(report.get('threshold'))}"
    )
    rule = "-" * len(line(header))
    return "\n".join([title, "", line(header), rule, *map(line, rows), rule, *gate]) + "\n"


def render_html(report: Mapping[str, Any]) -> str:
    """Given a report, return one self-contained HTML page: figures, charts and failures."""
    modes = _modes(report)
    main = modes[0] if modes else None
    rows: list[Mapping[str, Any]] = report["modes"][main]["rows"] if main else []
    threshold = number(report.get("threshold"))
    sweep = report.get("sweep") or []
    charts = [
        _figure(
            kind_chart(report, modes),
            "Share of questions answered right, per kind: "
            "the gold sentence cited, or a correct abstention.",
        ),
        _figure(
            support_histogram(rows, threshold),
            f"Support score of each {esc(main)} answer; the system abstains below the threshold.",
        ),
        _figure(
            pr_chart(sweep, threshold),
            "Abstention precision against recall as the "
            "threshold sweeps over the observed support scores.",
        ),
        _figure(
            sweep_chart(sweep, threshold),
            "Abstention recall, precision and the "
            "false-abstention rate (answerable questions refused) against the threshold.",
        ),
    ]
    wrong = [(r, p) for r in rows if (p := _problems(r))]
    failures = (
        "".join(_failure(r, p) for r, p in wrong) or "<p>None: every question went right.</p>"
    )
    title = f"lexcite evaluation: {report.get('dataset', '')} ({report.get('split', '')})"
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title>
<style>{CSS}</style>
</head>
<body>
<main>
{_header(report, main)}
<section id="headline"><h2>Headline figures</h2>
<p class="note">Each cell: value, 95% bootstrap interval and the number of items it is over.
The best mode per row is in bold; <i>lower is better</i> where marked.</p>
<div class="scroll">{_headline_table(report, modes)}</div></section>
<section id="charts"><h2>Charts</h2><div class="charts">{"".join(charts)}</div></section>
{_compared(report.get("comparison"), {r["id"] for r, _ in wrong})}
<section id="failures"><h2>Failures ({esc(main)}, {len(wrong)} of {len(rows)})</h2>
{failures}</section>
</main>
</body>
</html>
"""


def write_report(report: Mapping[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """Given a report, write report.json and report.html into out_dir; return both paths."""
    # Render both before writing either, so a rendering error leaves the old pair intact.
    data = json.dumps(dict(report), indent=2, ensure_ascii=False, allow_nan=True) + "\n"
    page = render_html(report)
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, html_path = out_dir / "report.json", out_dir / "report.html"
    write_atomically(json_path, data.encode("utf-8"))
    write_atomically(html_path, page.encode("utf-8"))
    return json_path, html_path


# --- figures and text ---------------------------------------------------------------


def _estimate_parts(est: Mapping[str, Any] | None) -> tuple[str, str, int]:
    """Given an Estimate as a dict, return its value, its "[low–high]" interval and n."""
    est = est or {}
    low, high = number(est.get("low")), number(est.get("high"))
    ci = "" if math.isnan(low) or math.isnan(high) else f"[{100 * low:.1f}–{100 * high:.1f}]"
    return percent(est.get("value")), ci, int(est.get("n") or 0)


def _estimate_text(est: Mapping[str, Any] | None) -> str:
    value, ci, n = _estimate_parts(est)
    # Fixed sub-widths ("100.0%", "[100.0–100.0]") keep the columns aligned.
    return f"{value:>6} {ci:<13} n={n}"


def _modes(report: Mapping[str, Any]) -> list[str]:
    """The report's modes, hybrid first: the shipped mode, then its ablations."""
    present = list(report["modes"])
    return [m for m in MODE_ORDER if m in present] + [m for m in present if m not in MODE_ORDER]


def _summary(report: Mapping[str, Any], mode: str) -> Mapping[str, Any]:
    summary: Mapping[str, Any] = report["modes"][mode]["summary"]
    return summary


def _problems(row: Mapping[str, Any]) -> list[str]:
    """Given a per-question row, return what went wrong with it (empty: nothing)."""
    out = []
    if row["answerable"] and row["abstained"]:
        out.append("abstained, but the sources answer it")
    elif row["answerable"] and not row["gold_cited"]:
        out.append("gold sentence not cited")
    elif not row["answerable"] and not row["abstained"]:
        out.append("answered, but the sources do not answer it")
    for key, what in (
        ("sentences_supported", "unsupported sentence"),
        ("citations_exact", "inexact citation"),
    ):
        if bad := sum(not ok for ok in row.get(key, [])):
            out.append(f"{bad} {what}{'s' if bad > 1 else ''}")
    if dirty := sum(map(bool, row.get("citations_clutter", []))):
        out.append(f"{dirty} citation{'s' if dirty > 1 else ''} with clutter")
    return out


# --- HTML sections ------------------------------------------------------------------


def _header(report: Mapping[str, Any], main: str | None) -> str:
    gate = report["gate"]
    failures = gate["failures"]
    meta = [
        ("dataset", report.get("dataset")),
        ("split", report.get("split")),
        ("created", report.get("created")),
        ("index version", report.get("index_version")),
        ("threshold", number_text(report.get("threshold"))),
    ]
    if main:
        q = _summary(report, main)["questions"]
        meta.append(
            (
                "questions",
                f"{q['all']} ({q['answerable']} answerable, {q['unanswerable']} unanswerable)",
            )
        )
    items = "".join(
        f"<div><dt>{esc(k)}</dt><dd>{esc('–' if v is None else v)}</dd></div>" for k, v in meta
    )
    source = (
        f" against <code>{esc(gate['thresholds_file'])}</code>"
        if gate.get("thresholds_file")
        else ""
    )
    if failures:
        listed = "".join(f"<li>{esc(f)}</li>" for f in failures)
        n = len(failures)
        banner = (
            f'<div class="gate fail"><strong>Gate: FAIL</strong> {n} check'
            f"{'s' if n > 1 else ''} failed{source} ({esc(main)})<ul>{listed}</ul></div>"
        )
    else:
        banner = (
            f'<div class="gate pass"><strong>Gate: PASS</strong> every check passed{source}</div>'
        )
    return f'<header><h1>lexcite evaluation</h1><dl class="meta">{items}</dl>{banner}</header>'


def _headline_table(report: Mapping[str, Any], modes: Sequence[str]) -> str:
    head = "".join(f'<th scope="col">{esc(m)}</th>' for m in modes)
    body = []
    for group, keys in GROUPS:
        body.append(f'<tr class="group"><th colspan="{len(modes) + 1}">{group}</th></tr>')
        for key in keys:
            ests = [_summary(report, m).get(key) or {} for m in modes]
            best = _best([number(e.get("value")) for e in ests], key in LOWER_IS_BETTER)
            cells = []
            for est, top in zip(ests, best, strict=True):
                value, ci, n = _estimate_parts(est)
                cls = BEST if top else ""
                # Two unbreakable pieces: at phone width "n=" wraps below the interval.
                cells.append(
                    f'<td{cls}><span class="v">{value}</span><span class="ci"><span>'
                    f"{ci}</span> <span>n={n}</span></span></td>"
                )
            lower = ' <i class="lower">lower is better</i>' if key in LOWER_IS_BETTER else ""
            name = esc(key).replace("_", "_<wbr>")  # break long names only after an underscore
            body.append(f'<tr><th scope="row"><code>{name}</code>{lower}</th>{"".join(cells)}</tr>')
    body.append(f'<tr class="group"><th colspan="{len(modes) + 1}">Latency</th></tr>')
    for q in ("p50", "p95"):
        values = [number(_summary(report, m)["latency_ms"][q]) for m in modes]
        best = _best(values, lower=True)
        cells = [
            f'<td{BEST if top else ""}><span class="v">{fmt_ms(v)}</span></td>'
            for v, top in zip(values, best, strict=True)
        ]
        body.append(f'<tr><th scope="row"><code>latency {q}</code></th>{"".join(cells)}</tr>')
    return (
        f'<table class="headline"><thead><tr><th scope="col">metric</th>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _best(values: Sequence[float], lower: bool) -> list[bool]:
    """Which values are the best of the row; none when they are all equal (no winner)."""
    finite = [v for v in values if not math.isnan(v)]
    if len(set(finite)) < 2:
        return [False] * len(values)
    top = min(finite) if lower else max(finite)
    return [v == top for v in values]


def _failure(row: Mapping[str, Any], problems: Sequence[str]) -> str:
    gold = [(g["document"], int(g["start"]), int(g["end"])) for g in row.get("gold", [])]
    cites = []
    for i, c in enumerate(row.get("citations", [])):
        span = (c["document_id"], int(c["start"]), int(c["end"]))
        tags = [("gold", "gold")] if any(metrics.overlaps(span, g) for g in gold) else []
        if i < len(row.get("citations_exact", [])) and not row["citations_exact"][i]:
            tags.append(("bad", "inexact"))
        if i < len(row.get("citations_clutter", [])) and row["citations_clutter"][i]:
            tags.append(("bad", "clutter"))
        badges = "".join(f' <span class="tag {cls}">{label}</span>' for cls, label in tags)
        where = f" — {esc(c['section'])}" if c.get("section") else ""
        cites.append(
            f'<li><p class="src">[{esc(c.get("n", i + 1))}] <b>{esc(c.get("title", ""))}</b>'
            f"{where}<br><code>{esc(c['document_id'])} [{span[1]}:{span[2]}]</code> "
            f"score {number_text(c.get('score'))}{badges}</p>"
            f"<blockquote>{esc(c['text'])}</blockquote></li>"
        )
    gold_items = "".join(
        f"<li><code>{esc(g['document'])} [{esc(g['start'])}:{esc(g['end'])}]</code> "
        f"<q>{esc(g['quote'])}</q></li>"
        for g in row.get("gold", [])
    )
    facts = [
        f"support {number_text(row.get('support'))}",
        "answerable" if row["answerable"] else "unanswerable",
        "abstained" if row["abstained"] else "answered",
    ]
    if row.get("sources_disagree"):
        facts.append("sources disagree")
    cited = f'<ul class="cites">{"".join(cites)}</ul>' if cites else "<p>nothing</p>"
    golds = (
        f'<ul class="golds">{gold_items}</ul>'
        if gold_items
        else "<p>none: the sources do not answer it</p>"
    )
    return (
        f'<article class="failure" id="q-{esc(row["id"])}"><h3>'
        f'<span class="qid">{esc(row["id"])}</span> '
        f'<span class="tag">{esc(row["kind"])}</span> {esc(row["question"])}</h3>'
        f'<ul class="problems">{"".join(f"<li>{esc(p)}</li>" for p in problems)}</ul>'
        f'<p class="facts">{" · ".join(facts)}</p>'
        f'<h4>Answer</h4><blockquote class="answer">{esc(row.get("answer", ""))}</blockquote>'
        f"<h4>Cited</h4>{cited}<h4>Gold</h4>{golds}</article>"
    )


def _compared(comparison: Mapping[str, Any] | None, failed: set[str]) -> str:
    """The "compared with" section: the baseline, notes, paired differences, flips (each
    linked, with both answers and the gold; to its failure card when it still fails)."""
    if not comparison:
        return ""
    base = comparison["baseline"]
    who = ", ".join(
        f"{k} {esc(base.get(k) or '–')}" for k in ("dataset", "split", "index_version", "code")
    )
    notes = "".join(f"<li>{esc(n)}</li>" for n in comparison["notes"])
    rows = []
    for d in comparison["differences"]:
        if math.isnan(number(d["old"])) and math.isnan(number(d["new"])):
            continue
        low, high = number(d["low"]), number(d["high"])
        ci = "–" if math.isnan(low) else f"[{100 * low:+.1f}, {100 * high:+.1f}]"
        rows.append(
            f'<tr><th scope="row"><code>{esc(d["metric"])}</code></th><td>{percent(d["old"])}'
            f"</td><td>{percent(d['new'])}</td><td>{100 * number(d['diff']):+.1f}</td>"
            f"<td>{ci}</td><td>{esc(d['n'])}</td></tr>"
        )
    flips = comparison["flips"]
    links = ", ".join(
        f'<a href="#flip-{esc(f["id"])}">{esc(f["id"])}</a> ({esc(f["change"])})' for f in flips
    )
    cards = "".join(_flip_card(f, f["id"] in failed) for f in flips)
    failures = comparison["failures"]
    verdict = (
        '<div class="gate fail"><strong>Baseline gate: FAIL</strong><ul>'
        + "".join(f"<li>{esc(f)}</li>" for f in failures)
        + "</ul></div>"
        if failures
        else '<div class="gate pass"><strong>Baseline gate: PASS</strong></div>'
    )
    counts = ", ".join(
        f"{sum(f['change'] == c for f in flips)} {c}" for c in ("fixed", "broken", "changed")
    )
    return f"""<section id="compared"><h2>Compared with the baseline</h2>
<p class="note">Baseline: {who}. {esc(comparison["shared"])} shared questions
({esc(comparison["mode"])}); intervals are paired bootstrap 95% intervals of the
difference, in points.</p>
{f"<ul>{notes}</ul>" if notes else ""}{verdict}
<div class="scroll"><table class="headline"><thead><tr><th scope="col">metric</th>
<th scope="col">baseline</th><th scope="col">this run</th><th scope="col">diff</th>
<th scope="col">interval</th><th scope="col">n</th></tr></thead>
<tbody>{"".join(rows)}</tbody></table></div>
<h3>Flips: {counts}</h3><p>{links or "none"}</p>{cards}</section>"""


def _flip_card(flip: Mapping[str, Any], failing: bool) -> str:
    def said(answer: str, abstained: bool) -> str:
        return ("<i>abstained:</i> " if abstained else "") + esc(answer)

    golds = "".join(
        f"<li><code>{esc(g['document'])}</code> <q>{esc(g['quote'])}</q></li>" for g in flip["gold"]
    )
    card = f' · <a href="#q-{esc(flip["id"])}">its failure card</a>' if failing else ""
    return (
        f'<article class="failure flip {esc(flip["change"])}" id="flip-{esc(flip["id"])}">'
        f'<h3><span class="qid">{esc(flip["id"])}</span> <span class="tag">'
        f'{esc(flip["change"])}</span> <span class="tag">{esc(flip["kind"])}</span> '
        f'{esc(flip["question"])}</h3><p class="facts">{esc(flip["change"])}{card}</p>'
        f"<h4>Baseline</h4><blockquote>{said(flip['old_answer'], flip['old_abstained'])}"
        f"</blockquote><h4>This run</h4><blockquote>"
        f"{said(flip['new_answer'], flip['new_abstained'])}</blockquote>"
        f"<h4>Gold</h4>{f'<ul class=golds>{golds}</ul>' if golds else '<p>none: abstain</p>'}"
        "</article>"
    )


def _figure(svg: str, caption: str) -> str:
    return f"<figure>{svg}<figcaption>{caption}</figcaption></figure>"
