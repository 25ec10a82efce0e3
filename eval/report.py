"""Turn an evaluation report (eval/evaluate.py) into a terminal table and one HTML page.

The page is self-contained (inline CSS, charts drawn here as SVG, no JavaScript), so a
CI artifact still opens offline and unchanged years later. Every string that comes from
the report goes through `_e` (html.escape): questions, answers and cited texts are data.
"""

from __future__ import annotations

import html
import json
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval import metrics

# The headline figures of eval/run.py:summarise(), grouped as the page shows them.
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Answers", ("sentence_support", "citation_exactness", "clutter_leakage", "gold_cited",
                 "citation_precision", "citation_recall")),
    ("Abstention", ("abstention_recall", "abstention_precision", "false_abstention")),
    ("Retrieval", ("recall@1", "recall@5", "recall@10", "mrr", "ndcg@10")),
)  # fmt: skip
METRICS = tuple(key for _, keys in GROUPS for key in keys)
LOWER_IS_BETTER = frozenset({"clutter_leakage", "false_abstention", "p50", "p95"})
MODE_ORDER = ("hybrid", "dense", "lexical")
BEST = ' class="best"'  # marks the best mode of a headline row
# Okabe & Ito (2008), "Color Universal Design": distinguishable with any colour vision.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")
BLUE, GREEN, RED = PALETTE[0], PALETTE[2], PALETTE[5]
DASH = "5 4"
# Charts are drawn in a 480-unit-wide viewBox: at a 400px phone width the 13-unit text
# still renders at about 10px, and on a desktop two charts sit side by side.
CHART_WIDTH = 480.0
CHAR_WIDTH = 7.5  # rough advance of a 13px system-ui glyph, for laying out legends


def summary_table(report: Mapping[str, Any]) -> str:
    """Given a report, return its headline figures as a plain-text table for the terminal."""
    modes = _modes(report)
    header = ["metric", *modes]
    rows = [
        [key, *(_estimate_text(_summary(report, m).get(key)) for m in modes)] for key in METRICS
    ]
    for q in ("p50", "p95"):
        latency = [f"{_ms(_summary(report, m)['latency_ms'][q]):>6}" for m in modes]
        rows.append([f"latency {q}", *latency])
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    failures = report["gate"]["failures"]
    gate = ["GATE: FAIL", *(f"  - {f}" for f in failures)] if failures else ["GATE: PASS"]
    title = (
        f"lexcite eval: {report.get('dataset', '–')} split={report.get('split', '–')} "
        f"threshold={_num_text(report.get('threshold'))}"
    )
    rule = "-" * len(line(header))
    return "\n".join([title, "", line(header), rule, *map(line, rows), rule, *gate]) + "\n"


def render_html(report: Mapping[str, Any]) -> str:
    """Given a report, return one self-contained HTML page: figures, charts and failures."""
    modes = _modes(report)
    main = modes[0] if modes else None
    rows: list[Mapping[str, Any]] = report["modes"][main]["rows"] if main else []
    threshold = _num(report.get("threshold"))
    sweep = report.get("sweep") or []
    charts = [
        _figure(
            _kind_chart(report, modes),
            "Share of questions answered right, per kind: "
            "the gold sentence cited, or a correct abstention.",
        ),
        _figure(
            _support_histogram(rows, threshold),
            f"Support score of each {_e(main)} answer; the system abstains below the threshold.",
        ),
        _figure(
            _pr_chart(sweep, threshold),
            "Abstention precision against recall as the "
            "threshold sweeps over the observed support scores.",
        ),
        _figure(
            _sweep_chart(sweep, threshold),
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
<title>{_e(title)}</title>
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
<section id="failures"><h2>Failures ({_e(main)}, {len(wrong)} of {len(rows)})</h2>
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
    _write_atomic(json_path, data)
    _write_atomic(html_path, page)
    return json_path, html_path


def _write_atomic(path: Path, text: str) -> None:
    """Write text to path through a temporary sibling and os.replace: never half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --- figures and text ---------------------------------------------------------------


def _e(value: object) -> str:
    return html.escape(str(value))


def _num(value: Any) -> float:
    """Given a figure from the report (float, int, None or NaN), return a float or NaN."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _pct(value: Any, digits: int = 1) -> str:
    v = _num(value)
    return "–" if math.isnan(v) else f"{100 * v:.{digits}f}%"


def _ms(value: Any) -> str:
    v = _num(value)
    return "–" if math.isnan(v) else f"{v:,.0f} ms"


def _num_text(value: Any) -> str:
    v = _num(value)
    return "–" if math.isnan(v) else f"{v:.3g}"


def _estimate_parts(est: Mapping[str, Any] | None) -> tuple[str, str, int]:
    """Given an Estimate as a dict, return its value, its "[low–high]" interval and n."""
    est = est or {}
    low, high = _num(est.get("low")), _num(est.get("high"))
    ci = "" if math.isnan(low) or math.isnan(high) else f"[{100 * low:.1f}–{100 * high:.1f}]"
    return _pct(est.get("value")), ci, int(est.get("n") or 0)


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
        ("threshold", _num_text(report.get("threshold"))),
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
        f"<div><dt>{_e(k)}</dt><dd>{_e('–' if v is None else v)}</dd></div>" for k, v in meta
    )
    source = (
        f" against <code>{_e(gate['thresholds_file'])}</code>"
        if gate.get("thresholds_file")
        else ""
    )
    if failures:
        listed = "".join(f"<li>{_e(f)}</li>" for f in failures)
        n = len(failures)
        banner = (
            f'<div class="gate fail"><strong>Gate: FAIL</strong> {n} check'
            f"{'s' if n > 1 else ''} failed{source} ({_e(main)})<ul>{listed}</ul></div>"
        )
    else:
        banner = (
            f'<div class="gate pass"><strong>Gate: PASS</strong> every check passed{source}</div>'
        )
    return f'<header><h1>lexcite evaluation</h1><dl class="meta">{items}</dl>{banner}</header>'


def _headline_table(report: Mapping[str, Any], modes: Sequence[str]) -> str:
    head = "".join(f'<th scope="col">{_e(m)}</th>' for m in modes)
    body = []
    for group, keys in GROUPS:
        body.append(f'<tr class="group"><th colspan="{len(modes) + 1}">{group}</th></tr>')
        for key in keys:
            ests = [_summary(report, m).get(key) or {} for m in modes]
            best = _best([_num(e.get("value")) for e in ests], key in LOWER_IS_BETTER)
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
            name = _e(key).replace("_", "_<wbr>")  # break long names only after an underscore
            body.append(f'<tr><th scope="row"><code>{name}</code>{lower}</th>{"".join(cells)}</tr>')
    body.append(f'<tr class="group"><th colspan="{len(modes) + 1}">Latency</th></tr>')
    for q in ("p50", "p95"):
        values = [_num(_summary(report, m)["latency_ms"][q]) for m in modes]
        best = _best(values, lower=True)
        cells = [
            f'<td{BEST if top else ""}><span class="v">{_ms(v)}</span></td>'
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
        where = f" — {_e(c['section'])}" if c.get("section") else ""
        cites.append(
            f'<li><p class="src">[{_e(c.get("n", i + 1))}] <b>{_e(c.get("title", ""))}</b>'
            f"{where}<br><code>{_e(c['document_id'])} [{span[1]}:{span[2]}]</code> "
            f"score {_num_text(c.get('score'))}{badges}</p>"
            f"<blockquote>{_e(c['text'])}</blockquote></li>"
        )
    gold_items = "".join(
        f"<li><code>{_e(g['document'])} [{_e(g['start'])}:{_e(g['end'])}]</code> "
        f"<q>{_e(g['quote'])}</q></li>"
        for g in row.get("gold", [])
    )
    facts = [
        f"support {_num_text(row.get('support'))}",
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
        f'<article class="failure"><h3><span class="qid">{_e(row["id"])}</span> '
        f'<span class="tag">{_e(row["kind"])}</span> {_e(row["question"])}</h3>'
        f'<ul class="problems">{"".join(f"<li>{_e(p)}</li>" for p in problems)}</ul>'
        f'<p class="facts">{" · ".join(facts)}</p>'
        f'<h4>Answer</h4><blockquote class="answer">{_e(row.get("answer", ""))}</blockquote>'
        f"<h4>Cited</h4>{cited}<h4>Gold</h4>{golds}</article>"
    )


def _figure(svg: str, caption: str) -> str:
    return f"<figure>{svg}<figcaption>{caption}</figcaption></figure>"


# --- SVG charts -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Plot:
    """A chart's plot area in SVG units and the data ranges it maps onto."""

    left: float
    top: float
    width: float
    height: float
    x0: float = 0.0
    x1: float = 1.0
    y0: float = 0.0
    y1: float = 1.0

    def x(self, v: float) -> float:
        return self.left + (v - self.x0) / (self.x1 - self.x0) * self.width

    def y(self, v: float) -> float:
        return self.top + self.height - (v - self.y0) / (self.y1 - self.y0) * self.height

    @property
    def bottom(self) -> float:
        return self.top + self.height


Ticks = Sequence[tuple[float, str]]


def _el(tag: str, text: str = "", **attrs: object) -> str:
    """One SVG element: `class_` and `stroke_width` become class and stroke-width, floats
    are rounded to 0.1 unit, and attribute values and text are escaped."""
    pairs = (
        (k.rstrip("_").replace("_", "-"), f"{v:.1f}" if isinstance(v, float) else v)
        for k, v in attrs.items()
    )
    opening = tag + "".join(f' {k}="{_e(v)}"' for k, v in pairs)
    return f"<{opening}>{_e(text)}</{tag}>" if text else f"<{opening}/>"


def _svg(height: float, label: str, body: Sequence[str]) -> str:
    return (
        f'<svg viewBox="0 0 {CHART_WIDTH:.0f} {height:.0f}" role="img" '
        f'aria-label="{_e(label)}"><title>{_e(label)}</title>{"".join(body)}</svg>'
    )


def _ticks(lo: float, hi: float, count: int = 5, integer: bool = False) -> list[float]:
    """Round tick values within [lo, hi]: steps of 1, 2, 2.5 or 5 times a power of ten."""
    raw = max((hi - lo) / count, 1e-9)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    step = max(step, 1.0) if integer else step
    first = math.ceil(lo / step - 1e-9)
    return [round(i * step, 10) for i in range(first, math.floor(hi / step + 1e-9) + 1)]


PERCENT_TICKS = [(v, f"{100 * v:.0f}%") for v in (0, 0.25, 0.5, 0.75, 1)]


def _legend(items: Sequence[tuple[str, str, str]], left: float) -> tuple[list[str], float]:
    """Given (label, colour, swatch) items, return a legend that wraps to the chart width
    and the height it takes. A swatch is "rect", "line", "dash" or "ring"."""
    out: list[str] = []
    x, y = left, 12.0
    for label, colour, swatch in items:
        width = 34 + CHAR_WIDTH * len(label)
        if x > left and x + width > CHART_WIDTH:
            x, y = left, y + 18
        if swatch == "rect":
            out.append(_el("rect", x=x, y=y - 10, width=12, height=12, fill=colour))
        elif swatch == "ring":
            out.append(_el("circle", class_="ring", cx=x + 7, cy=y - 4, r=5))
        else:
            out.append(_line(x, y - 4, x + 16, y - 4, colour, DASH if swatch == "dash" else "none"))
        out.append(_el("text", label, x=x + 20, y=y))
        x += width
    return out, y + 20


def _axes(p: _Plot, xticks: Ticks, yticks: Ticks, xlabel: str, ylabel: str) -> list[str]:
    """Given a plot area, its ticks and axis titles, return its grid, axes and labels."""
    out = []
    for v, text in yticks:
        out.append(_el("line", class_="grid", x1=p.left, x2=p.left + p.width, y1=p.y(v), y2=p.y(v)))
        out.append(_el("text", text, x=p.left - 6, y=p.y(v) + 4, text_anchor="end"))
    for v, text in xticks:
        out.append(_el("line", class_="grid", x1=p.x(v), x2=p.x(v), y1=p.top, y2=p.bottom))
        out.append(_el("text", text, x=p.x(v), y=p.bottom + 16, text_anchor="middle"))
    corner = f"M{p.left:.1f} {p.top:.1f}V{p.bottom:.1f}H{p.left + p.width:.1f}"
    middle = p.top + p.height / 2
    return [
        *out,
        _el("path", class_="axis", d=corner),
        _el("text", xlabel, class_="title", x=p.left + p.width / 2, y=p.bottom + 36),
        _el("text", ylabel, class_="title", transform=f"translate(14 {middle:.1f}) rotate(-90)"),
    ]


def _line(x1: float, y1: float, x2: float, y2: float, colour: str, dash: str = "none") -> str:
    return _el("line", x1=x1, y1=y1, x2=x2, y2=y2, stroke=colour, stroke_width=2.5,
               stroke_dasharray=dash)  # fmt: skip


def _threshold_line(p: _Plot, threshold: float) -> str:
    return _line(p.x(threshold), p.top, p.x(threshold), p.bottom, "#222", DASH)


def _threshold_item(threshold: float) -> list[tuple[str, str, str]]:
    return [] if math.isnan(threshold) else [(f"threshold {_num_text(threshold)}", "#222", "dash")]


def _empty(label: str, message: str) -> str:
    return _svg(60, label, [_el("text", message, x=CHART_WIDTH / 2, y=34, text_anchor="middle")])


def _kind_chart(report: Mapping[str, Any], modes: Sequence[str]) -> str:
    """Horizontal grouped bars, one group per question kind and one bar per mode: kind
    names stay readable at phone width, however many kinds the set has."""
    label = "Correct answers per question kind and retrieval mode"
    per_kind = {m: report["modes"][m]["per_kind"] for m in modes}
    kinds = sorted({k for m in modes for k in per_kind[m]})
    if not kinds:
        return _empty(label, "no questions")
    colours = {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(modes)}
    bar, gap, heading = 12.0, 2.0, 18.0
    group = heading + len(modes) * (bar + gap) + 10
    legend, top = _legend([(m, colours[m], "rect") for m in modes], 30)
    p = _Plot(30, top, CHART_WIDTH - 30 - 44, len(kinds) * group)
    out = [*legend, *_axes(p, PERCENT_TICKS, [], "correct (%)", "question kind")]
    for i, kind in enumerate(kinds):
        top = p.top + i * group
        n = next(per_kind[m][kind]["n"] for m in modes if kind in per_kind[m])
        out.append(_el("text", f"{kind} (n={n})", class_="kind", x=p.left + 4, y=top + 14))
        for j, m in enumerate(modes):
            value = _num(per_kind[m].get(kind, {}).get("correct"))
            y = top + heading + j * (bar + gap)
            width = 0.0 if math.isnan(value) else p.x(value) - p.left
            out.append(_el("rect", x=p.left, y=y, width=width, height=bar, fill=colours[m]))
            out.append(
                _el("text", _pct(value, 0), class_="value", x=p.left + width + 4, y=y + bar - 2)
            )
    return _svg(p.bottom + 44, label, out)


def _support_histogram(rows: Sequence[Mapping[str, Any]], threshold: float) -> str:
    """Side-by-side bars per bin: answerable and unanswerable counts, threshold dashed."""
    label = "Support scores of answerable and unanswerable questions"
    pairs = [(_num(r.get("support")), bool(r["answerable"])) for r in rows]
    pairs = [(s, a) for s, a in pairs if not math.isnan(s)]
    if not pairs:
        return _empty(label, "no support scores in this run")
    values = [s for s, _ in pairs] + ([] if math.isnan(threshold) else [threshold])
    # Bin edges on multiples of 0.05 so the bins line up with round tick labels.
    lo, hi = math.floor(min(values) * 20) / 20, math.ceil(max(values) * 20) / 20
    hi, bins = max(hi, lo + 0.05), 20
    counts = {True: [0] * bins, False: [0] * bins}
    for s, answerable in pairs:
        counts[answerable][min(int((s - lo) / (hi - lo) * bins), bins - 1)] += 1
    yticks = _ticks(0, max(1, *counts[True], *counts[False]), 4, integer=True)
    items = [("answerable", BLUE, "rect"), ("unanswerable", RED, "rect")]
    legend, top = _legend([*items, *_threshold_item(threshold)], 46)
    p = _Plot(46, top, CHART_WIDTH - 46 - 14, 200, lo, hi, 0, yticks[-1])
    xticks = [(t, f"{t:g}") for t in _ticks(lo, hi)]
    out = [
        *legend,
        *_axes(p, xticks, [(t, f"{t:g}") for t in yticks], "support score", "questions"),
    ]
    half = (p.width / bins - 2) / 2
    for i in range(bins):
        for k, (answerable, colour) in enumerate(((True, BLUE), (False, RED))):
            if count := counts[answerable][i]:
                x, y = p.left + i * p.width / bins + 1 + k * half, p.y(count)
                out.append(_el("rect", x=x, y=y, width=half, height=p.bottom - y, fill=colour))
    if not math.isnan(threshold):
        out.append(_threshold_line(p, threshold))
    return _svg(p.bottom + 44, label, out)


def _polyline(p: _Plot, points: Sequence[tuple[float, float]], colour: str) -> str:
    coords = " ".join(f"{p.x(x):.1f},{p.y(y):.1f}" for x, y in points)
    return _el("polyline", points=coords, fill="none", stroke=colour, stroke_width=2.5)


def _pr_chart(sweep: Sequence[Mapping[str, float]], threshold: float) -> str:
    """Abstention precision against recall over the sweep; the chosen threshold circled."""
    label = "Abstention precision-recall curve"
    if not sweep:
        return _empty(label, "no threshold sweep in this report")
    rows = sorted(sweep, key=lambda r: r["threshold"])
    items = [("sweep", BLUE, "line")]
    chosen = (
        None if math.isnan(threshold) else min(rows, key=lambda r: abs(r["threshold"] - threshold))
    )
    if chosen:
        items.append(
            (
                f"threshold {_num_text(threshold)}: precision "
                f"{_pct(chosen['precision'], 0)}, recall {_pct(chosen['recall'], 0)}",
                "",
                "ring",
            )
        )
    legend, top = _legend(items, 60)
    # A 2% margin around [0, 1] keeps points on the edges (often, with few questions) visible.
    p = _Plot(60, top, CHART_WIDTH - 60 - 16, 220, -0.02, 1.02, -0.02, 1.02)
    out = [*legend, *_axes(p, PERCENT_TICKS, PERCENT_TICKS, "abstention recall", "precision")]
    points = [(r["recall"], r["precision"]) for r in rows]
    out.append(_polyline(p, points, BLUE))
    out += [_el("circle", cx=p.x(x), cy=p.y(y), r=3, fill=BLUE) for x, y in sorted(set(points))]
    if chosen:
        out.append(
            _el("circle", class_="ring", cx=p.x(chosen["recall"]), cy=p.y(chosen["precision"]), r=8)
        )
    return _svg(p.bottom + 44, label, out)


def _sweep_chart(sweep: Sequence[Mapping[str, float]], threshold: float) -> str:
    """Abstention recall, precision and false abstention against the threshold."""
    label = "Abstention rates against the threshold"
    if not sweep:
        return _empty(label, "no threshold sweep in this report")
    rows = sorted(sweep, key=lambda r: r["threshold"])
    ts = [r["threshold"] for r in rows] + ([] if math.isnan(threshold) else [threshold])
    lo, hi = min(ts), max(max(ts), min(ts) + 1e-3)
    lines = [
        ("recall", "abstention recall", GREEN),
        ("precision", "abstention precision", BLUE),
        ("false_abstention", "false abstention", RED),
    ]
    items = [(name, colour, "line") for _, name, colour in lines]
    legend, top = _legend([*items, *_threshold_item(threshold)], 60)
    p = _Plot(60, top, CHART_WIDTH - 60 - 16, 220, lo, hi, -0.02, 1.02)
    xticks = [(t, f"{t:g}") for t in _ticks(lo, hi)]
    out = [*legend, *_axes(p, xticks, PERCENT_TICKS, "threshold (support score)", "rate")]
    out += [_polyline(p, [(r["threshold"], r[key]) for r in rows], c) for key, _, c in lines]
    if not math.isnan(threshold):
        out.append(_threshold_line(p, threshold))
    return _svg(p.bottom + 44, label, out)


CSS = """
:root{color-scheme:light;--ink:#1d1d1f;--muted:#5f6368;--line:#dadce0;--bg:#fff;--soft:#f6f7f9}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);
font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1100px;margin:0 auto;padding:1rem 1rem 3rem}
h1{font-size:1.7rem;margin:.5rem 0}h2{font-size:1.3rem;margin:2rem 0 .6rem;
border-bottom:1px solid var(--line);padding-bottom:.2rem}
h3{font-size:1.02rem;margin:0 0 .4rem}h4{font-size:.8rem;text-transform:uppercase;
letter-spacing:.04em;color:var(--muted);margin:.8rem 0 .2rem}
code{font:.88em ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow-wrap:anywhere}
.meta{display:flex;flex-wrap:wrap;gap:.3rem 1.6rem;margin:0 0 1rem}
.meta dt{font-size:.75rem;color:var(--muted);text-transform:uppercase;letter-spacing:.04em}
.meta dd{margin:0;overflow-wrap:anywhere}
.gate{padding:.7rem 1rem;border-radius:8px;border-left:6px solid}
.gate ul{margin:.4rem 0 0;padding-left:1.2rem}
.pass{background:#e8f5ec;border-color:#1e8e3e}.fail{background:#fdecea;border-color:#c5221f}
.note{color:var(--muted);font-size:.9rem;margin:.2rem 0 .6rem}
.scroll{overflow-x:auto}
table{border-collapse:collapse;font-variant-numeric:tabular-nums;min-width:100%}
th,td{padding:.35rem .6rem;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
thead th{font-size:.85rem;background:var(--soft)}
td{text-align:right}th code{overflow-wrap:normal}.v,.ci span{white-space:nowrap}
tr.group th{background:var(--soft);font-size:.78rem;text-transform:uppercase;
letter-spacing:.05em;color:var(--muted)}
.v{display:block}.ci{display:block;font-size:.78rem;color:var(--muted)}
td.best .v{font-weight:700}.lower{display:block;font-size:.75rem;color:var(--muted)}
.charts{display:grid;align-items:start;gap:1.2rem;
grid-template-columns:repeat(auto-fit,minmax(min(100%,440px),1fr))}
figure{margin:0;padding:.6rem;border:1px solid var(--line);border-radius:8px}
figcaption{font-size:.85rem;color:var(--muted);margin-top:.3rem}
svg{display:block;width:100%;height:auto}
svg text{font-size:13px;fill:var(--ink)}svg text.title{fill:var(--muted);text-anchor:middle}
svg text.kind{font-weight:600}svg text.value{font-size:12px}
svg .grid{stroke:#eceef1}svg .axis{stroke:#777;fill:none}
svg .ring{fill:none;stroke:var(--ink);stroke-width:2}
.failure{border:1px solid var(--line);border-left:5px solid #c5221f;border-radius:8px;
padding:.8rem 1rem;margin:0 0 1rem}
.qid{font:600 .85rem ui-monospace,Menlo,Consolas,monospace;color:var(--muted)}
.tag{display:inline-block;font-size:.72rem;font-weight:600;padding:0 .4rem;border-radius:4px;
background:#e8eaed;vertical-align:.1em}.tag.gold{background:#e6f4ea;color:#137333}
.tag.bad{background:#fce8e6;color:#a50e0e}
.problems{margin:.2rem 0;padding-left:1.2rem;color:#a50e0e;font-weight:600}
.facts{margin:.2rem 0;color:var(--muted);font-size:.88rem}
blockquote{margin:.2rem 0;padding:.3rem .8rem;border-left:3px solid var(--line);
background:var(--soft);white-space:pre-wrap;overflow-wrap:anywhere}
.golds{padding-left:1.3rem;margin:.2rem 0}
.cites{list-style:none;padding:0;margin:.2rem 0}.cites li{margin-bottom:.5rem}
.src{margin:0;font-size:.9rem}q{overflow-wrap:anywhere}
@media (max-width:520px){main{padding:.6rem .6rem 2rem}th,td{padding:.3rem .25rem}
table{font-size:.9rem}.ci{font-size:.7rem}
h1{font-size:1.4rem}.failure{padding:.6rem .7rem}}
"""
