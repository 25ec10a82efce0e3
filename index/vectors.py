"""Dense vector search: the only module that imports faiss."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np

from index.types import Ids, Vectors

# Below this many vectors exact (flat) search costs well under a few milliseconds
# (about 6 ms for 100k x 384-d on this 2-core machine), so exactness wins; above it HNSW.
FLAT_LIMIT = 50_000
# HNSW graph parameters from the FAISS wiki's guidance for ~1M vectors. efSearch, the
# width of the search, trades time for recall: on the benchmark's 1M synthetic vectors
# (mixtures of real ones, more crowded than real embeddings) recall@10 against exact
# search was 0.59 at 64, 0.90 at 512 and 0.95 at 1024 (0.12, 0.70 and 1.42 ms a query),
# so lexcite searches wider than FAISS's default: a couple of milliseconds buy the
# neighbours exact search would find (bench/results/README.md has the sweep).
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 1536
# Filters that leave at most this many rows are searched exactly (a few ms at 384-d).
EXACT_FILTER_LIMIT = 50_000
EXACT_BLOCK = 65_536


class VectorIndex:
    """Inner-product search over normalised vectors; row i of the input has id i."""

    def __init__(self, index: faiss.Index) -> None:
        self._index = index

    @property
    def size(self) -> int:
        return int(self._index.ntotal)

    @property
    def kind(self) -> str:
        return "hnsw" if isinstance(self._index, faiss.IndexHNSWFlat) else "flat"

    def search(self, query: Vectors, k: int, allowed: Ids | None = None) -> tuple[Ids, Vectors]:
        """Given one query vector, return the ids and scores of its k nearest rows.

        `allowed` restricts the search to those ids inside FAISS, so a filter never
        returns fewer results than asked for while enough matching rows exist.
        """
        k = min(k, self.size if allowed is None else len(allowed))
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        hnsw = isinstance(self._index, faiss.IndexHNSWFlat)
        if allowed is not None and hnsw and len(allowed) <= EXACT_FILTER_LIMIT:
            return self._exact(query, k, allowed)
        params = None
        if allowed is not None:
            selector = faiss.IDSelectorBatch(np.ascontiguousarray(allowed, dtype=np.int64))
            if hnsw:
                params = faiss.SearchParametersHNSW(  # type: ignore[attr-defined]
                    sel=selector, efSearch=max(HNSW_EF_SEARCH, k)
                )
            else:
                params = faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
        scores, ids = self._index.search(query.reshape(1, -1), k, params=params)
        keep = ids[0] >= 0
        found, found_scores = ids[0][keep].astype(np.int64), scores[0][keep]
        if allowed is not None and len(found) < k:
            # The graph walk only meets allowed ids near the query; when the filter's rows
            # lie elsewhere it comes back short, and exact scoring is the honest answer.
            return self._exact(query, k, allowed)
        return found, found_scores

    def _exact(self, query: Vectors, k: int, allowed: Ids) -> tuple[Ids, Vectors]:
        """Score the allowed rows exactly (in blocks, so memory stays bounded)."""
        rows = np.ascontiguousarray(allowed, dtype=np.int64)
        scores = np.concatenate(
            [
                self._index.reconstruct_batch(rows[i : i + EXACT_BLOCK]) @ query.reshape(-1)
                for i in range(0, len(rows), EXACT_BLOCK)
            ]
        )
        top = np.argsort(-scores, kind="stable")[:k]
        return rows[top], scores[top].astype(np.float32)


def build(vectors: Vectors) -> VectorIndex:
    """Given normalised vectors, return an index that fits their number."""
    dimension = vectors.shape[1]
    if len(vectors) <= FLAT_LIMIT:
        index: faiss.Index = faiss.IndexFlatIP(dimension)
    else:
        index = faiss.IndexHNSWFlat(dimension, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return VectorIndex(index)


def save(index: VectorIndex, path: Path) -> None:
    """Write an index to a file."""
    faiss.write_index(index._index, str(path))


def load(path: Path) -> VectorIndex:
    """Read an index written by `save` into memory (not mmapped: see generation.load).
    An HNSW index searches with this module's efSearch, whatever it was built with."""
    index = faiss.read_index(str(path))
    if isinstance(index, faiss.IndexHNSWFlat):
        index.hnsw.efSearch = HNSW_EF_SEARCH
    return VectorIndex(index)
