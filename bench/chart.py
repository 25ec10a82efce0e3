"""The report's chart: lexcite / peer ratios as horizontal bars, written as plain SVG (no
plotting library needed)."""

from __future__ import annotations

import html
import math

LEXCITE = ("lexcite-onnx", "lexcite-torch")
NAN = math.nan

CHART_ROWS = (
    ("ingest_cold", "cold ingest"),
    ("ingest_warm", "warm ingest"),
    ("reingest_unchanged", "unchanged re-ingest"),
    ("ask_p50", "ask p50 (in-process)"),
    ("search_p50", "search p50 (in-process)"),
    ("http1_p50", "HTTP p50, 1 client"),
    ("http1_p99", "HTTP p99, 1 client"),
    ("http8_throughput", "HTTP answers/s, 8 clients ⁻¹"),
    ("http32_throughput", "HTTP answers/s, 32 clients ⁻¹"),
    ("peak_rss", "peak RSS (in-process)"),
)


def svg(rat: dict[str, dict[str, float]]) -> str:
    """Given lexcite / peer ratios per lexcite system (bench.report.ratios), return an SVG
    bar chart of them on a log scale (throughput inverted, so shorter is better everywhere)."""
    colours = {"lexcite-onnx": "#2b6cb0", "lexcite-torch": "#dd6b20"}
    labels = {"lexcite-onnx": "lexcite, ONNX Runtime encoder", "lexcite-torch": "lexcite, PyTorch"}
    rows = []
    for key, label in CHART_ROWS:
        values = {}
        for system in LEXCITE:
            v = rat.get(system, {}).get(key, NAN)
            if key.endswith("throughput") and v and not math.isnan(v):
                v = 1 / v
            values[system] = v
        if any(not math.isnan(v) and v > 0 for v in values.values()):
            rows.append((label, values))
    left, width, bar, gap, top = 250, 560, 11, 10, 60
    bottom = top + len(rows) * (2 * bar + gap)
    lo, hi = -2.0, 2.0  # log10 range: 0.01x .. 100x

    def x(v: float) -> float:
        return left + (min(max(math.log10(v), lo), hi) - lo) / (hi - lo) * width

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 50}" '
        f'height="{bottom + 30}" font-family="sans-serif" font-size="12">',
        '<rect width="100%" height="100%" fill="white"/>',
        '<text x="10" y="20" font-size="14" font-weight="bold">lexcite / LangChain peer '
        "(log scale, shorter is better; ⁻¹: peer / lexcite)</text>",
    ]
    for i, system in enumerate(LEXCITE):
        lx = 10 + i * 260
        parts.append(f'<rect x="{lx}" y="30" width="10" height="10" fill="{colours[system]}"/>')
        parts.append(f'<text x="{lx + 14}" y="39">{labels[system]}</text>')
    for tick in (0.01, 0.1, 0.5, 1, 2, 10, 100):
        tx = x(tick)
        stroke = "#000" if tick == 1 else "#ccc"
        parts.append(
            f'<line x1="{tx:.1f}" y1="{top - 8}" x2="{tx:.1f}" y2="{bottom}" stroke="{stroke}"/>'
        )
        parts.append(f'<text x="{tx:.1f}" y="{bottom + 16}" text-anchor="middle">{tick:g}×</text>')
    y = top
    for label, values in rows:
        parts.append(
            f'<text x="{left - 8}" y="{y + bar + 4}" text-anchor="end">{html.escape(label)}</text>'
        )
        for i, system in enumerate(LEXCITE):
            v = values[system]
            if math.isnan(v) or v <= 0:
                continue
            x0, x1, row_top = x(1.0), x(v), y + i * bar
            parts.append(
                f'<rect x="{min(x0, x1):.1f}" y="{row_top}" width="{max(abs(x1 - x0), 1):.1f}" '
                f'height="{bar - 1}" fill="{colours[system]}"/>'
            )
            parts.append(
                f'<text x="{max(x0, x1) + 4:.1f}" y="{row_top + bar - 2}" '
                f'font-size="10">{v:.2f}</text>'
            )
        y += 2 * bar + gap
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
