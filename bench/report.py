"""Turn a suite result into ratios, target verdicts, a Markdown report and an SVG chart."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from bench import chart
from bench.stats import ratio

LEXCITE = ("lexcite-onnx", "lexcite-torch")
NAN = math.nan


def _get(data: Any, *keys: str | int, default: Any = NAN) -> Any:
    for key in keys:
        try:
            data = data[key]
        except (KeyError, IndexError, TypeError):
            return default
    return data


def _level(http: dict[str, Any], system: str, clients: int) -> dict[str, Any]:
    for level in _get(http, system, "levels", default=[]):
        if level.get("clients") == clients:
            return dict(level)
    return {}


def ratios(results: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Return lexcite / peer for every compared figure, per lexcite encoder."""
    inproc, http = results.get("in_process", {}), results.get("http", {})
    peer = inproc.get("peer", {})
    out: dict[str, dict[str, float]] = {}
    for system in LEXCITE:
        ours = inproc.get(system, {})
        if not ours and system not in http:
            continue
        row = {
            "ingest_cold": ratio(_get(ours, "ingest", "cold_s"), _get(peer, "ingest", "cold_s")),
            "ingest_warm": ratio(_get(ours, "ingest", "warm_s"), _get(peer, "ingest", "warm_s")),
            "reingest_unchanged": ratio(
                _get(ours, "ingest", "reingest_s"), _get(peer, "ingest", "reingest_s")
            ),
            "peak_rss": ratio(_get(ours, "peak_rss_mib"), _get(peer, "peak_rss_mib")),
        }
        for key in ("cold_cpu_s", "warm_cpu_s"):
            row[f"ingest_{key[:-2]}"] = ratio(_get(ours, "ingest", key), _get(peer, "ingest", key))
        for ours_key, name in (("ask", "ask"), ("search", "search"), ("encode", "encode")):
            peer_key = "encode" if ours_key == "encode" else "search"
            for p in ("p50_ms", "p99_ms", "cpu_p50_ms"):
                row[f"{name}_{p[:-3]}"] = ratio(
                    _get(ours, "query", ours_key, p), _get(peer, "query", peer_key, p)
                )
        for clients in results.get("config", {}).get("clients", []):
            a, b = _level(http, system, clients), _level(http, "peer", clients)
            for p in ("p50_ms", "p99_ms"):
                row[f"http{clients}_{p[:3]}"] = ratio(_get(a, "latency", p), _get(b, "latency", p))
            row[f"http{clients}_throughput"] = ratio(
                _get(a, "throughput_rps"), _get(b, "throughput_rps")
            )
        row["server_rss"] = ratio(
            _get(http, system, "peak_rss_mib"), _get(http, "peer", "peak_rss_mib")
        )
        out[system] = row
    return out


def _verdict(name: str, target: str, value: float, met: bool | None, unit: str) -> dict[str, Any]:
    if math.isnan(value):
        met = None
    return {"name": name, "target": target, "value": value, "unit": unit, "met": met}


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Judge the issue's targets on lexcite with the ONNX encoder (its default)."""
    r = ratios(results).get("lexcite-onnx", {})
    http = results.get("http", {})
    one, eight = _level(http, "lexcite-onnx", 1), _level(http, "lexcite-onnx", 8)
    p50 = _get(one, "latency", "p50_ms")
    p99 = _get(one, "latency", "p99_ms")
    rps = _get(eight, "throughput_rps")
    reingest = _get(results, "in_process", "lexcite-onnx", "ingest", "reingest_s")
    measured = [s for s in results.get("scale", []) if not s.get("error")]
    largest: dict[str, Any] = max(measured, key=lambda s: int(s.get("size", 0)), default={})
    big_p50 = _get(largest, "ask_ms", "p50_ms")
    big_recall = _get(largest, "recall_at_10")
    size = int(largest.get("size", 0)) if largest else 0
    at = f"at {size:,} chunks" + ("" if size >= 1_000_000 else " (1M not measured)")
    ask = r.get("ask_p50", NAN)
    cold = r.get("ingest_cold", NAN)
    return [
        _verdict("ask in-process p50 / peer similarity_search p50", "≤ 0.5×", ask, ask <= 0.5, "×"),
        _verdict("/v1/ask over HTTP p50, 1 client", "≤ 10 ms", p50, p50 <= 10, "ms"),
        _verdict("/v1/ask over HTTP p99, 1 client", "≤ 25 ms", p99, p99 <= 25, "ms"),
        _verdict("/v1/ask throughput, 8 clients", "≥ 200 /s", rps, rps >= 200, "/s"),
        _verdict("first build (cold) / peer ingest (cold)", "≤ 1.0×", cold, cold <= 1.0, "×"),
        _verdict("unchanged re-ingest", "≤ 1 s", reingest, reingest <= 1.0, "s"),
        _verdict(f"ask p50 in-process {at}", "≤ 15 ms", big_p50, big_p50 <= 15, "ms"),
        _verdict(f"dense recall@10 {at}", "≥ 0.95", big_recall, big_recall >= 0.95, ""),
    ]


def _f(value: Any, digits: int = 1) -> str:
    if not isinstance(value, int | float) or math.isnan(value):
        return "–"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def _x(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.2f}×"


def markdown(results: dict[str, Any]) -> str:
    """Return the report: machine, in-process, HTTP and scale tables, targets, notes."""
    m = results.get("machine", {})
    inproc, http = results.get("in_process", {}), results.get("http", {})
    rat = ratios(results)
    systems = [s for s in (*LEXCITE, "peer") if s in inproc]
    lines = [
        "# lexcite benchmark",
        "",
        f"Measured {m.get('when', '?')} on {m.get('cpu', '?')}, {m.get('usable_cores', '?')} "
        f"cores, {m.get('ram_gib', '?')} GiB RAM, Python {m.get('python', '?')}; load average "
        f"{m.get('load_average_start', '?')} at the start and {m.get('load_average_end', '?')} "
        "at the end (other work on the machine slows every column alike, but not evenly).",
        "",
        "Reproduce: `python -m bench` (see bench/README.md). Ratios are lexcite / peer: "
        "below 1 is better for lexcite, except throughput (above 1 is better).",
        "",
        "![ratios](chart.svg)",
        "",
        "## Ingest and in-process queries",
        "",
        "| figure | "
        + " | ".join(systems)
        + " | "
        + " | ".join(f"{s} / peer" for s in LEXCITE if s in rat)
        + " |",
        "|---|" + "---:|" * (len(systems) + len([s for s in LEXCITE if s in rat])),
    ]

    def row(label: str, keys: tuple[str, ...], ratio_key: str | None, digits: int = 1) -> None:
        cells = []
        for system in systems:
            use = keys
            if system == "peer" and len(keys) > 1 and keys[-2] == "ask":
                use = (*keys[:-2], "search", keys[-1])
            cells.append(_f(_get(inproc.get(system, {}), *use), digits))
        ratio_cells = [
            _x(rat[s].get(ratio_key, NAN)) if ratio_key else "" for s in LEXCITE if s in rat
        ]
        lines.append(f"| {label} | " + " | ".join(cells + ratio_cells) + " |")

    row("model load, s", ("model_load_s",), None, 2)
    row(
        "cold ingest (fresh process: imports, model, ingest), s",
        ("ingest", "cold_s"),
        "ingest_cold",
        2,
    )
    row("cold ingest, CPU s (all threads)", ("ingest", "cold_cpu_s"), "ingest_cold_cpu", 2)
    row("warm ingest (model loaded), s", ("ingest", "warm_s"), "ingest_warm", 2)
    row("warm ingest, CPU s (all threads)", ("ingest", "warm_cpu_s"), "ingest_warm_cpu", 2)
    row("re-ingest, unchanged corpus, s", ("ingest", "reingest_s"), "reingest_unchanged", 3)
    row("chunks indexed", ("ingest", "chunks"), None, 0)
    row("texts embedded", ("ingest", "embedded"), None, 0)
    row("ask p50, ms (peer: similarity_search k=4)", ("query", "ask", "p50_ms"), "ask_p50", 2)
    row("ask p99, ms (peer: similarity_search k=4)", ("query", "ask", "p99_ms"), "ask_p99", 2)
    row("search k=4 p50, ms", ("query", "search", "p50_ms"), "search_p50", 2)
    row("search k=4 p99, ms", ("query", "search", "p99_ms"), "search_p99", 2)
    row("query encoding alone p50, ms", ("query", "encode", "p50_ms"), "encode_p50", 2)
    row("ask CPU p50, ms", ("query", "ask", "cpu_p50_ms"), "ask_cpu_p50", 2)
    row("search k=4 CPU p50, ms", ("query", "search", "cpu_p50_ms"), "search_cpu_p50", 2)
    row("query encoding CPU p50, ms", ("query", "encode", "cpu_p50_ms"), "encode_cpu_p50", 2)
    row("peak RSS of the process, MiB", ("peak_rss_mib",), "peak_rss", 0)
    stages = _get(inproc, "lexcite-onnx", "query", "ask_stages", default={})
    if stages:
        parts = ", ".join(f"{k} {_f(v.get('p50_ms'), 2)} ms" for k, v in stages.items())
        lines += ["", f"Where lexcite-onnx's ask spends its time (p50 per stage): {parts}."]
    n_q = _get(inproc, "peer", "query", "questions", default=0)
    rounds = _get(inproc, "peer", "query", "rounds", default=0)
    lines += [
        "",
        f"Queries: {n_q} questions of eval/data/questions.jsonl, {rounds} rounds, after a "
        "10-question warm-up. lexcite's ask is Engine.ask (hybrid retrieval, sentence "
        "selection, composition); its search is Engine.search(k=4), hybrid. CPU figures "
        "are the process's CPU time (all threads): what the work costs whatever else runs "
        "on the machine, where wall times grow with its load.",
        "",
    ]
    if http:
        clients = results.get("config", {}).get("clients", [])
        lines += [
            "## /v1/ask over HTTP (uvicorn on 127.0.0.1, one worker)",
            "",
            "| clients | system | requests | errors | p50 ms | p99 ms | answers/s "
            "| pipeline p50 ms (its took_ms) | server CPU ms per answer | server peak RSS MiB |",
            "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for n in clients:
            for system in (*LEXCITE, "peer"):
                level = _level(http, system, n)
                if not level:
                    continue
                errors = sum(level.get("errors", {}).values())
                lines.append(
                    f"| {n} | {system} | {level.get('requests', 0)} | {errors} | "
                    f"{_f(_get(level, 'latency', 'p50_ms'), 2)} | "
                    f"{_f(_get(level, 'latency', 'p99_ms'), 2)} | "
                    f"{_f(level.get('throughput_rps', NAN))} | "
                    f"{_f(_get(level, 'pipeline', 'p50_ms'), 2)} | "
                    f"{_f(level.get('server_cpu_ms_per_request', NAN), 2)} | "
                    f"{_f(_get(http, system, 'peak_rss_mib'), 0)} |"
                )
        lines += ["", "| ratio (lexcite / peer) | " + " | ".join(LEXCITE) + " |", "|---|---:|---:|"]
        for n in clients:
            for key, label in (("p50", "p50"), ("p99", "p99"), ("throughput", "answers/s")):
                cells = [_x(rat.get(s, {}).get(f"http{n}_{key}", NAN)) for s in LEXCITE]
                lines.append(f"| {n} clients {label} | " + " | ".join(cells) + " |")
        for system, note in http.items():
            if isinstance(note, dict) and note.get("skipped"):
                lines.append(f"\n{system}: not measured ({note['skipped']}).")
        lines.append("")
    scale = results.get("scale", [])
    if scale:
        lines += [
            "## Scale (synthetic corpora; see bench/scale.py for how they are made)",
            "",
            "| chunks | dense index | build s | of which dense / lexical / rest | peak RSS MiB "
            "| disk MiB | recall@10 | efSearch for recall ≥ 0.95 | dense p50/p99 ms | "
            "lexical p50/p99 ms | chunks an OR query matches (median) | hybrid retrieval "
            "p50/p99 ms | ask p50/p99 ms | engine load s |",
            "|---:|---|---:|---|---:|---:|---:|---|---|---|---:|---|---|---:|",
        ]
        for s in scale:
            if s.get("error"):
                lines.append(f"| {s.get('size', 0):,} | {s['error']} |" + " |" * 12)
                continue
            ph = s.get("phases", {})
            rest = (
                s.get("build_s", NAN)
                - ph.get("dense_index_s", NAN)
                - ph.get("lexical_index_s", NAN)
            )

            def pair(key: str, s: dict[str, Any] = s) -> str:
                return f"{_f(_get(s, key, 'p50_ms'), 2)} / {_f(_get(s, key, 'p99_ms'), 2)}"

            enough = [e for e in s.get("ef_search_sweep", []) if e["recall_at_10"] >= 0.95]
            ef = "exact" if s.get("dense_index") == "flat" else "> 2048"
            if enough:
                e = enough[0]
                ef = f"{e['ef_search']} (p50 {_f(e['p50_ms'], 2)} ms)"
            share = _get(s, "lexical_matching_share", "median")
            lines.append(
                f"| {s['size']:,} | {s.get('dense_index')} | {_f(s.get('build_s'))} | "
                f"{_f(ph.get('dense_index_s'))} / {_f(ph.get('lexical_index_s'))} / {_f(rest)} | "
                f"{_f(s.get('peak_rss_mib'), 0)} | {_f(s.get('disk_mib'), 0)} | "
                f"{_f(s.get('recall_at_10'), 3)} | {ef} | {pair('dense_ms')} | "
                f"{pair('lexical_ms')} | {_f(share * 100, 0)} % | "
                f"{pair('hybrid_retrieval_ms')} | {pair('ask_ms')} | "
                f"{_f(s.get('engine_load_s'), 2)} |"
            )
        lines.append("")
    lines += [
        "## Targets (lexcite with the ONNX encoder)",
        "",
        "| target | bound | measured | met |",
        "|---|---|---:|---|",
    ]
    for t in targets(results):
        met = {True: "met", False: "**not met**", None: "not measured"}[t["met"]]
        value = "–" if math.isnan(t["value"]) else f"{_f(t['value'], 2)} {t['unit']}".strip()
        lines.append(f"| {t['name']} | {t['target']} | {value} | {met} |")
    export = results.get("export", {})
    lines += [
        "",
        "## Notes",
        "",
        f"- One-time ONNX export (first use of a model): {_f(export.get('export_s'), 1)} s; a "
        f"cached graph then loads in {_f(export.get('cached_load_s'), 2)} s.",
        "- In-process figures are, per system, the pass with the lowest query p50 of "
        f"{len(next(iter(results.get('in_process_runs', {}).values()), []) or [0])} "
        "interleaved passes (every pass is in results.json, `in_process_runs`).",
        "- LangChain's FAISS has no incremental ingest: the peer's re-ingest is a full one.",
        "- Scale corpora are synthetic (bench/scale.py): beyond 5,000 real embeddings the "
        "vectors are mixtures of them, a crowded distribution that makes recall@10 of an "
        "approximate index a hard test; seed terms keep the lexical OR query matching about "
        "two thirds of all chunks, a pessimistic case for BM25 latency (Tantivy's block-max "
        "WAND skips most of them).",
    ]
    lines += [f"- {note}" for note in [*results.get("notes", []), *derived_notes(results)]]
    packages = ", ".join(f"{k} {v}" for k, v in m.get("packages", {}).items())
    lines += ["", f"Packages: {packages}.", ""]
    return "\n".join(lines)


def derived_notes(results: dict[str, Any]) -> list[str]:
    """What the figures imply, computed from them: throughput ceilings, refusals, scale."""
    notes = []
    cores = _get(results, "machine", "usable_cores", default=0) or 0
    for level in _get(results, "http", "lexcite-onnx", "levels", default=[]):
        cpu = level.get("server_cpu_ms_per_request", NAN)
        if cores and not math.isnan(cpu) and level.get("clients") == 8:
            notes.append(
                f"lexcite-onnx at 8 clients: the server spends {cpu:.1f} ms of CPU per answer, "
                f"so {cores} cores can give at most {cores * 1000 / cpu:.0f} answers/s even if "
                "nothing else ran (the load generator shares the cores); measured "
                f"{level.get('throughput_rps', NAN):.0f}/s."
            )
    refused = {
        system: sum(level.get("errors", {}).get("503", 0) for level in data.get("levels", []))
        for system, data in results.get("http", {}).items()
        if isinstance(data, dict)
    }
    if any(refused.values()):
        counts = ", ".join(f"{s} {n}" for s, n in refused.items() if n)
        notes.append(
            f"HTTP 503 answers ({counts}) are lexcite's load shedding (service/shedding.py: at "
            "most 32 requests in flight), refusing at once rather than queueing; they are "
            "counted as errors and not in answers/s."
        )
    for s in results.get("scale", []):
        load_s, rss = s.get("engine_load_s"), s.get("engine_load_rss_mib")
        if s.get("size", 0) >= 1_000_000 and load_s is not None:
            notes.append(
                f"At {s['size']:,} chunks the engine takes {load_s:.0f} s and {rss / 1024:.1f} "
                "GiB to load a generation (profile in results.json, scale[].engine_load_profile)."
            )
    return notes


def write(results: dict[str, Any], out_dir: Path) -> list[Path]:
    """Write results.json, README.md (the report) and chart.svg into out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    results = {**results, "ratios": ratios(results), "targets": targets(results)}
    paths = [out_dir / "results.json", out_dir / "README.md", out_dir / "chart.svg"]
    paths[0].write_text(json.dumps(results, indent=2, allow_nan=True) + "\n")
    paths[1].write_text(markdown(results))
    paths[2].write_text(chart.svg(results["ratios"]))
    return paths


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.report [RESULTS_JSON]`: render README.md and chart.svg again from a
    results.json (after a change to this module), beside it."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else Path(__file__).resolve().parent / "results" / "results.json"
    results = json.loads(path.read_text())
    write(results, path.parent)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
