"""SVG charts for the evaluation report, drawn as text so the page needs no JavaScript.

Every string that comes from the report goes through `esc` (html.escape).
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Okabe & Ito (2008), "Color Universal Design": distinguishable with any colour vision.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")
BLUE, GREEN, RED = PALETTE[0], PALETTE[2], PALETTE[5]
DASH = "5 4"
# Charts are drawn in a 480-unit-wide viewBox: at a 400px phone width the 13-unit text
# still renders at about 10px, and on a desktop two charts sit side by side.
CHART_WIDTH = 480.0
CHAR_WIDTH = 7.5  # rough advance of a 13px system-ui glyph, for laying out legends


def esc(value: object) -> str:
    return html.escape(str(value))


def number(value: Any) -> float:
    """Given a figure from the report (float, int, None or NaN), return a float or NaN."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def percent(value: Any, digits: int = 1) -> str:
    v = number(value)
    return "–" if math.isnan(v) else f"{100 * v:.{digits}f}%"


def fmt_ms(value: Any) -> str:
    v = number(value)
    return "–" if math.isnan(v) else f"{v:,.0f} ms"


def number_text(value: Any) -> str:
    v = number(value)
    return "–" if math.isnan(v) else f"{v:.3g}"


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
    opening = tag + "".join(f' {k}="{esc(v)}"' for k, v in pairs)
    return f"<{opening}>{esc(text)}</{tag}>" if text else f"<{opening}/>"


def _svg(height: float, label: str, body: Sequence[str]) -> str:
    return (
        f'<svg viewBox="0 0 {CHART_WIDTH:.0f} {height:.0f}" role="img" '
        f'aria-label="{esc(label)}"><title>{esc(label)}</title>{"".join(body)}</svg>'
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
    if math.isnan(threshold):
        return []
    return [(f"threshold {number_text(threshold)}", "#222", "dash")]


def _empty(label: str, message: str) -> str:
    return _svg(60, label, [_el("text", message, x=CHART_WIDTH / 2, y=34, text_anchor="middle")])


def kind_chart(report: Mapping[str, Any], modes: Sequence[str]) -> str:
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
            value = number(per_kind[m].get(kind, {}).get("correct"))
            y = top + heading + j * (bar + gap)
            width = 0.0 if math.isnan(value) else p.x(value) - p.left
            out.append(_el("rect", x=p.left, y=y, width=width, height=bar, fill=colours[m]))
            out.append(
                _el("text", percent(value, 0), class_="value", x=p.left + width + 4, y=y + bar - 2)
            )
    return _svg(p.bottom + 44, label, out)


def support_histogram(rows: Sequence[Mapping[str, Any]], threshold: float) -> str:
    """Side-by-side bars per bin: answerable and unanswerable counts, threshold dashed."""
    label = "Support scores of answerable and unanswerable questions"
    pairs = [(number(r.get("support")), bool(r["answerable"])) for r in rows]
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


def pr_chart(sweep: Sequence[Mapping[str, float]], threshold: float) -> str:
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
                f"threshold {number_text(threshold)}: precision "
                f"{percent(chosen['precision'], 0)}, recall {percent(chosen['recall'], 0)}",
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


def sweep_chart(sweep: Sequence[Mapping[str, float]], threshold: float) -> str:
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
