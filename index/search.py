"""Hybrid retrieval: dense (FAISS) and lexical (BM25) chunk search, fused."""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal, ParamSpec, TypeVar

import numpy as np

from index import store
from index.encoder import Encoder
from index.generation import Generation
from index.types import Filters, Vectors

Mode = Literal["hybrid", "rrf", "dense", "lexical"]
MODES: tuple[Mode, ...] = ("hybrid", "rrf", "dense", "lexical")
# "hybrid" mixes min-max normalised dense and BM25 scores, this share dense: the convex
# combination of Bruch, Gai & Ingber (TOIS 2023). It beat reciprocal rank fusion ("rrf")
# on every retrieval metric of the dev split, and 0.5 beat 0.3 and 0.7 there
# (eval/README.md, "Fusion").
DENSE_WEIGHT = 0.5
# Reciprocal rank fusion constant from Cormack, Clarke & Büttcher (SIGIR 2009), k = 60.
RRF_K = 60
# Each retriever contributes this many candidates per requested result before fusion.
CANDIDATES_PER_RESULT = 4
MIN_CANDIDATES = 40

# FAISS and Tantivy release the GIL while they search, so a query's lexical half runs in
# one of these threads beside its dense half (and an answer's sentence search beside
# both): one question uses both cores. Threads start on first use; more than the cores,
# so one request's search never waits behind another's in the queue.
SEARCH_THREADS = 8
_POOL = ThreadPoolExecutor(max_workers=SEARCH_THREADS, thread_name_prefix="lexcite-search")
_P = ParamSpec("_P")
_T = TypeVar("_T")

_QUOTES = str.maketrans({"‘": "'", "’": "'", "‚": "'", "“": '"', "”": '"', "„": '"', "´": "'"})
# "287g", "287 g", "287-g", "287 (g)", "section 287 g" all mean Section 287(g).
_SECTION = re.compile(r"\b287\s*[-(]?\s*g\s*\)?(?![a-z])", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Passage:
    """A retrieved chunk with where it stands and how it scored."""

    row: int
    chunk_id: str
    document_id: str
    title: str
    section: str
    start: int
    end: int
    text: str
    score: float
    dense_score: float
    dense_rank: int | None
    lexical_rank: int | None


def normalise_query(query: str) -> str:
    """Given a user's query, return it with quotes, spacing and "287g" spellings unified."""
    query = unicodedata.normalize("NFKC", query).translate(_QUOTES)
    query = _SECTION.sub("287(g)", query)
    return " ".join(query.split())


def in_background(work: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> Future[_T]:
    """Start a search in a search thread; its result() returns it or raises its error."""
    return _POOL.submit(work, *args, **kwargs)


def fuse(rankings: list[list[int]], k: int = RRF_K) -> dict[int, float]:
    """Given ranked lists of ids, return each id's reciprocal-rank-fusion score."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, row in enumerate(ranking, 1):
            scores[row] = scores.get(row, 0.0) + 1.0 / (k + rank)
    return scores


def weighted_sum(
    dense: dict[int, float], lexical: dict[int, float], dense_weight: float
) -> dict[int, float]:
    """Given each retriever's scores, return their convex combination after min-max
    normalisation; an id one retriever did not return scores 0 there."""

    def normalised(scores: dict[int, float]) -> dict[int, float]:
        if not scores:
            return {}
        low, high = min(scores.values()), max(scores.values())
        span = high - low or 1.0
        return {row: (value - low) / span for row, value in scores.items()}

    d, lex = normalised(dense), normalised(lexical)
    return {
        row: dense_weight * d.get(row, 0.0) + (1 - dense_weight) * lex.get(row, 0.0)
        for row in d.keys() | lex.keys()
    }


@dataclass(frozen=True, slots=True)
class Retrieved:
    """What a retrieval found: passages, the query's vector, similar sentences' rows, and
    how long embedding the query took (ms)."""

    passages: list[Passage]
    vector: Vectors
    sentence_rows: list[int]
    encode_ms: float


class Searcher:
    """Searches one generation with one encoder; safe to share between threads."""

    def __init__(self, generation: Generation, encoder: Encoder) -> None:
        self.generation = generation
        self.encoder = encoder

    def embed(self, query: str) -> Vectors:
        """Return the normalised embedding of an already normalised query."""
        return np.asarray(self.encoder.encode([query])[0], dtype=np.float32)

    def similar_sentences(self, vector: Vectors, k: int, chunks: Iterable[int] | None) -> list[int]:
        """Return the rows of the k sentences most similar to a query vector, among the
        sentences of the given chunk rows (None: all), filtered inside the vector search
        like chunks are."""
        gen = self.generation
        allowed = None
        if chunks is not None:
            kept = set(chunks)
            rows = [r for r, c in enumerate(gen.sentence_chunk) if c in kept]
            allowed = np.asarray(rows, dtype=np.int64)
        ids, _ = gen.sentence_index.search(vector, k, allowed)
        return [int(i) for i in ids]

    def search(
        self,
        query: str,
        k: int = 5,
        filters: Filters | None = None,
        mode: Mode = "hybrid",
        query_vector: Vectors | None = None,
    ) -> list[Passage]:
        """Given a query, return the k best passages that pass the filters, best first."""
        return self.retrieve(query, k, filters, mode, query_vector=query_vector).passages

    def retrieve(
        self,
        query: str,
        k: int = 5,
        filters: Filters | None = None,
        mode: Mode = "hybrid",
        sentences: int = 0,
        query_vector: Vectors | None = None,
    ) -> Retrieved:
        """Given a query, return the k best passages that pass the filters, the query's
        vector, and (with `sentences`) the rows of that many most similar sentences.

        The lexical search needs no vector: it starts first, in a search thread, and runs
        while the query is embedded and the dense searches run.
        """
        text = normalise_query(query)
        gen = self.generation
        allowed = None
        if filters is not None and filters.active:
            allowed = np.asarray(store.filtered_chunk_rows(gen.db, filters), dtype=np.int64)
        pool = max(MIN_CANDIDATES, CANDIDATES_PER_RESULT * k)
        allowed_rows = None if allowed is None else allowed.tolist()
        lexical_job = None
        if mode != "dense":
            lexical_job = in_background(gen.lexical.search, text, pool, allowed_rows)
        started = time.perf_counter()
        vector = self.embed(text) if query_vector is None else query_vector
        encoded = time.perf_counter()
        sentence_job = None
        if sentences > 0:
            sentence_job = in_background(self.similar_sentences, vector, sentences, allowed_rows)
        dense: list[int] = []
        dense_hits: dict[int, float] = {}
        if mode != "lexical":
            ids, scores = gen.chunk_index.search(vector, pool, allowed)
            dense = [int(i) for i in ids]
            dense_hits = dict(zip(dense, (float(x) for x in scores), strict=True))
        lexical: list[int] = []
        lexical_hits: dict[int, float] = {}
        if lexical_job is not None:
            hits = lexical_job.result()
            lexical = [row for row, _ in hits]
            lexical_hits = dict(hits)
        if mode == "rrf":
            fused = fuse([r for r in (dense, lexical) if r])
        else:
            fused = weighted_sum(dense_hits, lexical_hits, DENSE_WEIGHT)
        best = sorted(fused, key=lambda row: (-fused[row], row))[:k]
        passages = []
        if best:
            best_rows = np.asarray(best, dtype=np.int64)
            dense_scores = np.asarray(gen.chunk_vectors[best_rows] @ vector, dtype=np.float32)
            dense_rank = {row: i for i, row in enumerate(dense, 1)}
            lexical_rank = {row: i for i, row in enumerate(lexical, 1)}
            passages = [
                self._passage(
                    row, fused[row], float(ds), dense_rank.get(row), lexical_rank.get(row)
                )
                for row, ds in zip(best, dense_scores, strict=True)
            ]
        similar = [] if sentence_job is None else sentence_job.result()
        return Retrieved(passages, vector, similar, (encoded - started) * 1000)

    def _passage(
        self, row: int, score: float, dense_score: float, d_rank: int | None, l_rank: int | None
    ) -> Passage:
        chunk = self.generation.chunks[row]
        title = self.generation.documents[chunk.document_id].title
        return Passage(
            row,
            chunk.id,
            chunk.document_id,
            title,
            chunk.section,
            chunk.start,
            chunk.end,
            chunk.text,
            score,
            dense_score,
            d_rank,
            l_rank,
        )
