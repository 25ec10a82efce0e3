"""How reading and segmenting hostile shapes scales with their size (wall clock).

    python -m bench.parsing [--out FILE] [--max-seconds S] [--sizes 25000,...] [--only TEXT]

For each shape, the input doubles until the largest size or until one run takes longer
than `--max-seconds`; each figure is the best of three runs. A shape read in linear time
keeps its seconds per MB flat as the size grows; a quadratic one doubles it per doubling.
The HTML shapes go through `ingest.read.parse` (what an upload and every ingest run), the
long line through the whole `ingest_document` (clean, segment, chunk). Run it against an
older checkout with `PYTHONPATH=<checkout> python -m bench.parsing` to get its figures
(bench/results/parsing.json holds both, bench/README.md the table).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

SHAPES: dict[str, str] = {
    "html: self-closed <div/>": "<div/>",
    "html: <div><p>x</p></div>": "<div><p>Words here.</p></div>",
    "html: stray </x>": "</x>Word ",
    "html: unclosed <span>": "<span>Word ",
    "html: end tags in comments": "<div>Word<!-- </div> -->",
    "text: one line of short sentences": "The court may act now. ",
    "text: one line of glued calls to action": "Contact Us on WhatsApp",
}
SIZES = (25_000, 50_000, 100_000, 200_000, 400_000, 800_000, 1_600_000, 5_000_000)


def runner(shape: str) -> Callable[[str], object]:
    """The function timed for a shape: HTML parse, or the ingest of one long text line."""
    from ingest.clean import load_rules
    from ingest.corpus import ingest_document
    from ingest.errors import BadDocument
    from ingest.read import parse
    from ingest.types import Meta

    if shape.startswith("html"):

        def read_html(text: str) -> object:
            try:
                return parse("page.html", text.encode("utf-8"), max_bytes=1 << 30)
            except BadDocument as err:
                return str(err)

        return read_html
    rules = load_rules()
    meta = Meta(id="bench", file="bench.txt", title="Bench")

    def ingest_line(text: str) -> object:
        raw = parse("bench.txt", ("Bench\n\n" + text + " End.\n").encode("utf-8"))
        return ingest_document(meta, raw, rules)

    return ingest_line


def measure(max_seconds: float, sizes: tuple[int, ...], only: str = "") -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for shape, unit in SHAPES.items():
        if only not in shape:
            continue
        run = runner(shape)
        for size in sizes:
            text = (unit * (size // len(unit) + 1))[:size]
            best = float("inf")
            outcome = ""
            for _ in range(3):
                started = time.perf_counter()
                result = run(text)
                best = min(best, time.perf_counter() - started)
                outcome = result if isinstance(result, str) else "read"
                if best > max_seconds:
                    break
            row = {
                "shape": shape,
                "bytes": size,
                "seconds": round(best, 4),
                "s_per_mb": round(best / size * 1e6, 3),
                "outcome": "refused" if "nested deeper" in outcome else "read",
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
            if best > max_seconds:
                break
    return rows


def main(argv: list[str] | None = None) -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--out", type=Path, help="write the rows as JSON here")
    args.add_argument("--max-seconds", type=float, default=20.0)
    args.add_argument("--sizes", default=",".join(map(str, SIZES)))
    args.add_argument("--only", default="", help="only shapes whose name holds this")
    parsed = args.parse_args(argv)
    sizes = tuple(int(s) for s in parsed.sizes.split(","))
    rows = measure(parsed.max_seconds, sizes, parsed.only)
    if parsed.out:
        parsed.out.write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
