"""In-process measurements, one system per process (`python -m bench.workers SYSTEM ...`):
a fresh process makes the cold ingest include the system's imports and model load, and
its peak memory its own. Each worker writes one JSON object to --out.

    lexcite  ingest corpus/ with lexcite's own pipeline into an empty data directory
             (cold, then warm into another one, then again unchanged), then time
             Engine.ask, Engine.search (k=4) and the query encoding alone
    peer     the LangChain pipeline of bench/peer.py: load, split + embed (cold, warm),
             then time similarity_search(k=4)
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Imports of the measured systems happen inside the workers, after the clock starts.
from bench import machine, questions, stats

WARMUP = 10


def timed(run: Callable[[str], object], items: list[str], rounds: int) -> dict[str, float]:
    """Call run(item) for every item, `rounds` times over; return the latency summary."""
    for item in items[:WARMUP]:
        run(item)
    samples, cpu = [], []
    for _ in range(rounds):
        for item in items:
            started, cpu_started = time.perf_counter(), time.process_time()
            run(item)
            samples.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
    # CPU time (all the process's threads) is what a query costs whatever else the
    # machine is doing; wall time is what a user waits, and grows with the machine's load.
    cpu_ms = stats.summary(cpu)
    return {
        **stats.summary(samples),
        "cpu_p50_ms": cpu_ms["p50_ms"],
        "cpu_mean_ms": cpu_ms["mean_ms"],
    }


def lexcite(args: argparse.Namespace) -> dict[str, Any]:
    """Measure lexcite's ingest and queries with the ONNX or the PyTorch encoder."""
    started, cpu_started = time.perf_counter(), time.process_time()
    from index.build import ingest
    from index.encoder import Encoder, SentenceTransformerEncoder, bundled_model_path
    from index.onnx import OnnxEncoder
    from ingest.clean import load_rules

    encoder: Encoder
    if args.encoder == "onnx":
        encoder = OnnxEncoder(str(bundled_model_path()), args.cache)
    else:
        encoder = SentenceTransformerEncoder(str(bundled_model_path()))
    loaded = time.perf_counter()
    work: Path = args.work
    cold_dir, warm_dir = work / "cold", work / "data"
    for folder in (cold_dir, warm_dir):
        shutil.rmtree(folder, ignore_errors=True)
    rules = load_rules()
    cold = ingest(args.corpus, cold_dir, encoder, rules)
    cold_s, cold_cpu = time.perf_counter() - started, time.process_time() - cpu_started
    cpu_started = time.process_time()
    warm = ingest(args.corpus, warm_dir, encoder, rules)
    warm_cpu = time.process_time() - cpu_started
    again = ingest(args.corpus, warm_dir, encoder, rules)
    assert cold.published and warm.published and not again.published, "unexpected ingest"
    shutil.rmtree(cold_dir, ignore_errors=True)

    from service.engine import Engine

    engine_started = time.perf_counter()
    engine = Engine(warm_dir, encoder)
    engine_s = time.perf_counter() - engine_started
    items = questions.load(args.questions, args.limit)
    breakdown: dict[str, list[float]] = {}
    for item in items:
        for stage, ms in engine.ask(item).timings_ms.items():
            breakdown.setdefault(stage, []).append(ms / 1000)
    return {
        "system": f"lexcite-{args.encoder}",
        "encoder": type(encoder).__name__,
        "model_load_s": loaded - started,
        "ingest": {
            "cold_s": cold_s,
            "cold_cpu_s": cold_cpu,
            "warm_s": warm.seconds,
            "warm_cpu_s": warm_cpu,
            "reingest_s": again.seconds,
            "engine_load_s": engine_s,
            "documents": warm.counts.get("documents", 0),
            "chunks": warm.counts.get("chunks", 0),
            "sentences": warm.counts.get("sentences", 0),
            "embedded": warm.embedded,
        },
        "query": {
            "questions": len(items),
            "rounds": args.rounds,
            "ask": timed(engine.ask, items, args.rounds),
            "search": timed(lambda q: engine.search(q, k=4), items, args.rounds),
            "encode": timed(lambda q: encoder.encode([q]), items, args.rounds),
            # Engine.ask's own timings of its stages, one pass over the questions.
            "ask_stages": {k: stats.summary(v) for k, v in breakdown.items()},
        },
        "data_dir": str(warm_dir),
        "peak_rss_mib": machine.peak_rss_mib(),
    }


def peer(args: argparse.Namespace) -> dict[str, Any]:
    """Measure the LangChain pipeline's ingest and similarity_search(k=4)."""
    started, cpu_started = time.perf_counter(), time.process_time()
    from bench import peer as pipeline

    embeddings = pipeline.load_embeddings()
    loaded = time.perf_counter()
    texts = pipeline.raw_texts(args.corpus)
    store = pipeline.ingest(texts, embeddings)
    cold_s, cold_cpu = time.perf_counter() - started, time.process_time() - cpu_started
    warm_started, cpu_started = time.perf_counter(), time.process_time()
    store = pipeline.ingest(texts, embeddings)
    warm_s, warm_cpu = time.perf_counter() - warm_started, time.process_time() - cpu_started
    items = questions.load(args.questions, args.limit)
    return {
        "system": "peer",
        "encoder": "HuggingFaceEmbeddings (sentence-transformers, PyTorch)",
        "model_load_s": loaded - started,
        "ingest": {
            "cold_s": cold_s,
            "cold_cpu_s": cold_cpu,
            "warm_s": warm_s,
            "warm_cpu_s": warm_cpu,
            # LangChain's FAISS.from_documents has no incremental mode: a re-ingest of an
            # unchanged corpus is a full one.
            "reingest_s": warm_s,
            "documents": len(texts),
            "chunks": pipeline.chunk_count(store),
            "embedded": pipeline.chunk_count(store),
        },
        "query": {
            "questions": len(items),
            "rounds": args.rounds,
            "search": timed(lambda q: pipeline.search(store, q), items, args.rounds),
            "encode": timed(lambda q: embeddings.embed_query(q), items, args.rounds),
        },
        "peak_rss_mib": machine.peak_rss_mib(),
    }


def export(args: argparse.Namespace) -> dict[str, Any]:
    """Time the one-time ONNX export into an empty cache folder, then a cached load."""
    from index.encoder import bundled_model_path
    from index.onnx import OnnxEncoder

    shutil.rmtree(args.cache, ignore_errors=True)
    started = time.perf_counter()
    OnnxEncoder(str(bundled_model_path()), args.cache)
    exported = time.perf_counter()
    OnnxEncoder(str(bundled_model_path()), args.cache)
    return {
        "export_s": exported - started,
        "cached_load_s": time.perf_counter() - exported,
        "peak_rss_mib": machine.peak_rss_mib(),
    }


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.workers", description=__doc__)
    p.add_argument("system", choices=("lexcite", "peer", "export"))
    p.add_argument("--out", type=Path, required=True, help="JSON file to write")
    p.add_argument("--corpus", type=Path, default=questions.ROOT / "corpus")
    p.add_argument("--work", type=Path, help="lexcite: folder for its data directories")
    p.add_argument("--cache", type=Path, help="ONNX graph cache folder")
    p.add_argument("--encoder", choices=("onnx", "torch"), default="onnx")
    p.add_argument("--questions", type=Path, default=questions.DEFAULT)
    p.add_argument("--limit", type=int, help="use only the first N questions")
    p.add_argument("--rounds", type=int, default=2, help="passes over the questions")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    run = {"lexcite": lexcite, "peer": peer, "export": export}[args.system]
    before = machine.load_average()
    result = run(args)
    # Other work on the machine slows a measurement: keep the load it ran under with it.
    result["load_average"] = {"start": before, "end": machine.load_average()}
    args.out.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
