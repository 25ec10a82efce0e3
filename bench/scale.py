"""Index scaling on synthetic corpora: `python -m bench.scale SIZE [...]` builds a lexcite
generation of SIZE synthetic chunks and measures its build, memory, dense recall and the
latency of dense, lexical, hybrid and full-answer queries. Run by `python -m bench` for
10k, 100k and 1M chunks, or alone for one size.

How the corpus is made (bench/synthetic.py), and what that means for the figures:

- Text: recombined seed sentences with a Zipf vocabulary. Seed terms ("287(g)",
  "mandamus") stay far more frequent than in a real million-chunk legal corpus, which
  makes the lexical (BM25) figures pessimistic; the result says how many chunks an OR
  query matches.
- Vectors: embedding a million chunks on 2 cores would take hours, so the first
  `--sample` chunks (5,000 by default) are embedded for real with the ONNX encoder and
  every further vector is a normalised random mixture of three real ones plus a little
  noise. Queries are real embeddings of the eval questions.
- Sentences: every synthetic chunk is stored as one sentence (its whole text), so the
  sentence index holds the same vectors as the chunk index and is a copy of its file.
  Real chunks hold 3-4 sentences: a real corpus of this many chunks has a sentence index
  3-4 times larger than here.
- The dense index is lexcite's own `index.vectors.build` (exact below FLAT_LIMIT, HNSW
  above), the lexical index `index.lexical` (Tantivy, BM25), and the generation is
  written and loaded by `index.generation` exactly as `lexcite ingest` publishes one.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import gc
import hashlib
import io
import json
import pstats
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bench import machine, questions, stats
from bench.synthetic import (
    CHUNKS_PER_DOCUMENT,
    mixed_vectors,
    read_seed,
    sample_vectors,
    write_database,
)
from index import generation, lexical, vectors
from index.encoder import Encoder
from index.lexical import LexicalIndex
from index.types import Vectors

QUERIES = 100
ROUNDS = 3


def exact_top(vecs: Vectors, queries: Vectors, k: int) -> npt.NDArray[np.int64]:
    """The exact top-k rows by inner product for each query (blockwise, bounded memory)."""
    best_scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
    best_rows = np.zeros((len(queries), k), dtype=np.int64)
    block = 131_072
    for start in range(0, len(vecs), block):
        scores = queries @ vecs[start : start + block].T
        top = np.argpartition(-scores, min(k, scores.shape[1] - 1), axis=1)[:, :k]
        cand_scores = np.take_along_axis(scores, top, axis=1)
        all_scores = np.concatenate([best_scores, cand_scores], axis=1)
        all_rows = np.concatenate([best_rows, top + start], axis=1)
        order = np.argsort(-all_scores, axis=1, kind="stable")[:, :k]
        best_scores = np.take_along_axis(all_scores, order, axis=1)
        best_rows = np.take_along_axis(all_rows, order, axis=1)
    return best_rows


def recall_at(index: vectors.VectorIndex, truth: npt.NDArray[np.int64], queries: Vectors) -> float:
    """Mean share of the exact top-k that the index returns in its top-k."""
    k = truth.shape[1]
    found = 0
    for query, exact in zip(queries, truth, strict=True):
        ids, _ = index.search(query, k)
        found += len(set(ids.tolist()) & set(exact.tolist()))
    return found / truth.size


def ef_sweep(
    index: vectors.VectorIndex, truth: npt.NDArray[np.int64], queries: Vectors
) -> list[dict[str, float]]:
    """Recall@10 and latency of an HNSW index at several efSearch values (lexcite uses
    index.vectors.HNSW_EF_SEARCH); empty for an exact index. Sets the FAISS index's
    efSearch through VectorIndex's private handle, then restores it: a measurement only."""
    if index.kind != "hnsw":
        return []
    hnsw: Any = index._index.hnsw  # type: ignore[attr-defined]
    out = []
    for ef in (64, 256, 512, 1024, 1536, 2048):
        hnsw.efSearch = ef
        latency = timed(functools.partial(index.search, k=10), list(queries), 1)
        out.append({"ef_search": ef, "recall_at_10": recall_at(index, truth, queries), **latency})
    hnsw.efSearch = vectors.HNSW_EF_SEARCH
    return out


def matching_share(index: LexicalIndex, queries: Sequence[str], size: int) -> dict[str, float]:
    """The share of all chunks that lexcite's lexical query (an OR of the query's words)
    matches: what a ranker that scores every match (SQLite FTS5, which lexcite used
    before) pays for, and what Tantivy's early termination skips."""
    shares = [index.matching(q) / size for q in queries if lexical.terms(q)]
    return {"median": float(np.median(shares)), "max": max(shares)} if shares else {}


def timed(run: Any, items: Sequence[Any], rounds: int = ROUNDS) -> dict[str, float]:
    for item in items[:5]:
        run(item)
    samples = []
    for _ in range(rounds):
        for item in items:
            began = time.perf_counter()
            run(item)
            samples.append(time.perf_counter() - began)
    return stats.summary(samples)


def profile_text(profile: cProfile.Profile, lines: int = 25) -> str:
    out = io.StringIO()
    pstats.Stats(profile, stream=out).strip_dirs().sort_stats("cumulative").print_stats(lines)
    return out.getvalue()


def run(
    size: int,
    work: Path,
    sample: int,
    corpus: Path,
    encoder: Encoder,
    end_to_end: bool = True,
    queries: int = QUERIES,
) -> dict[str, Any]:
    """Build a generation of `size` synthetic chunks in `work` and measure it."""
    from index.search import Searcher, normalise_query
    from service.engine import Engine

    began = time.perf_counter()
    data = work / f"data-{size}"
    shutil.rmtree(data, ignore_errors=True)
    seed = read_seed(corpus)
    name = generation.new_name(hashlib.sha256(f"synthetic:{size}".encode()).hexdigest())
    phases: dict[str, float] = {}
    # Lexical queries take about a second each at 1M chunks: one pass there, three below.
    rounds = ROUNDS if size <= 100_000 else 1
    with generation.staging(data, name) as tmp:
        mark = time.perf_counter()
        inputs, phases["lexical_index_s"] = write_database(tmp / "meta.sqlite", seed, size, sample)
        phases["database_s"] = time.perf_counter() - mark - phases["lexical_index_s"]
        mark = time.perf_counter()
        real = sample_vectors(inputs, encoder, work / "samples")
        phases["sample_embed_s"] = time.perf_counter() - mark
        mark = time.perf_counter()
        vecs = mixed_vectors(real, size)
        phases["vectors_s"] = time.perf_counter() - mark
        mark = time.perf_counter()
        index = vectors.build(vecs)
        phases["dense_index_s"] = time.perf_counter() - mark
        items = questions.load(limit=queries)
        query_vecs = encoder.encode([normalise_query(q) for q in items])
        truth = exact_top(vecs, query_vecs, 10)
        recall = recall_at(index, truth, query_vecs)
        dense = timed(functools.partial(index.search, k=10), list(query_vecs), rounds)
        sweep = ef_sweep(index, truth, query_vecs)
        mark = time.perf_counter()
        np.save(tmp / "chunks.npy", vecs)
        shutil.copyfile(tmp / "chunks.npy", tmp / "sentences.npy")
        vectors.save(index, tmp / "chunks.faiss")
        shutil.copyfile(tmp / "chunks.faiss", tmp / "sentences.faiss")
        kind = index.kind
        del index, vecs
        gc.collect()
        generation.write_manifest(
            tmp,
            {
                "name": name,
                "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "model": {"name": encoder.name, "dimension": encoder.dimension},
                "corpus_hash": name,
                "counts": {"documents": -(-size // CHUNKS_PER_DOCUMENT), "chunks": size},
                "vector_index": kind,
                "synthetic": True,
            },
        )
        generation.publish(data, tmp, name)
        phases["write_and_publish_s"] = time.perf_counter() - mark
    build_s = time.perf_counter() - began
    build_rss = machine.peak_rss_mib()
    bm25 = LexicalIndex(data / generation.GENERATIONS / name / generation.LEXICAL)
    normalised = [normalise_query(q) for q in items]
    lexical_ms = timed(lambda q: bm25.search(q, 40), normalised, rounds)
    matched = matching_share(bm25, normalised, size)
    result: dict[str, Any] = {
        "size": size,
        "sample": len(real),
        "dense_index": kind,
        "build_s": build_s,
        "phases": phases,
        "build_peak_rss_mib": build_rss,
        "disk_mib": round(sum(p.stat().st_size for p in data.rglob("*") if p.is_file()) / 2**20),
        "recall_at_10": recall,
        "ef_search_sweep": sweep,
        "dense_ms": dense,
        "lexical_ms": lexical_ms,
        "lexical_matching_share": matched,
        "encode_ms": timed(lambda q: encoder.encode([q]), normalised),
    }
    if end_to_end:
        profile = cProfile.Profile()
        before = machine.rss_mib()
        mark = time.perf_counter()
        profile.enable()
        engine = Engine(data, encoder)
        profile.disable()
        result["engine_load_s"] = time.perf_counter() - mark
        result["engine_load_rss_mib"] = machine.rss_mib() - before
        result["engine_load_profile"] = profile_text(profile)
        searcher = Searcher(engine.state.generation, encoder)
        pairs = list(zip(normalised, query_vecs, strict=True))
        result["hybrid_retrieval_ms"] = timed(
            lambda p: searcher.search(p[0], 6, query_vector=p[1]), pairs, rounds
        )
        result["ask_ms"] = timed(engine.ask, items, rounds)
        profile = cProfile.Profile()
        profile.enable()
        for q in items[:20]:
            engine.ask(q)
        profile.disable()
        result["ask_profile"] = profile_text(profile)
    result["peak_rss_mib"] = machine.peak_rss_mib()
    result["total_s"] = time.perf_counter() - began
    return result


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__)
    p.add_argument("size", type=int, help="chunks in the synthetic corpus, e.g. 100000")
    p.add_argument("--sample", type=int, default=5000, help="chunks embedded for real")
    p.add_argument("--queries", type=int, default=QUERIES, help="eval questions to query with")
    p.add_argument("--work", type=Path, help="folder for the generation (default: a temp one)")
    p.add_argument("--keep", action="store_true", help="keep the generation afterwards")
    p.add_argument("--cache", type=Path, help="ONNX graph cache folder")
    p.add_argument("--corpus", type=Path, default=questions.ROOT / "corpus")
    p.add_argument("--no-e2e", action="store_true", help="skip loading the engine")
    p.add_argument("--out", type=Path, help="write the result here as JSON (default: print)")
    return p


def main(argv: list[str] | None = None) -> int:
    import tempfile

    from index.encoder import load_encoder

    args = parser().parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="lexcite-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    encoder = load_encoder(None, args.cache)
    try:
        result = run(
            args.size,
            work,
            min(args.sample, args.size),
            args.corpus,
            encoder,
            end_to_end=not args.no_e2e,
            queries=args.queries,
        )
    finally:
        if not args.keep:
            shutil.rmtree(work / f"data-{args.size}", ignore_errors=True)
            if args.work is None:
                shutil.rmtree(work, ignore_errors=True)
    text = json.dumps(result, indent=2)
    if args.out:
        args.out.write_text(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
