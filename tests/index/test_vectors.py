"""index/vectors.py: flat or HNSW by size; filtered search; save and load.

Flat results are compared against a brute-force numpy reference.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index import vectors
from index.types import Vectors


def unit_vectors(n: int, dimension: int = 16, seed: int = 0) -> Vectors:
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(n, dimension)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def brute_force(v: Vectors, query: Vectors, k: int, allowed: list[int] | None = None) -> list[int]:
    """The reference: ids of the k highest inner products (ties broken by id)."""
    rows = list(range(len(v))) if allowed is None else sorted(set(allowed))
    scores = v[rows] @ query
    order = sorted(range(len(rows)), key=lambda i: (-scores[i], rows[i]))
    return [rows[i] for i in order[:k]]


def test_small_collections_use_exact_flat_search() -> None:
    index = vectors.build(unit_vectors(50))
    assert index.kind == "flat"
    assert index.size == 50


def test_collections_above_the_flat_limit_use_hnsw(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vectors, "FLAT_LIMIT", 20)
    assert vectors.build(unit_vectors(20)).kind == "flat"
    index = vectors.build(unit_vectors(21))
    assert index.kind == "hnsw"
    assert index.size == 21


def test_a_loaded_hnsw_index_searches_with_this_versions_width(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(vectors, "FLAT_LIMIT", 20)
    monkeypatch.setattr(vectors, "HNSW_EF_SEARCH", 16)
    vectors.save(vectors.build(unit_vectors(50)), tmp_path / "old.faiss")
    monkeypatch.setattr(vectors, "HNSW_EF_SEARCH", 300)
    loaded = vectors.load(tmp_path / "old.faiss")
    assert loaded._index.hnsw.efSearch == 300  # type: ignore[attr-defined]


def test_flat_search_matches_the_reference() -> None:
    v = unit_vectors(200)
    index = vectors.build(v)
    ids, scores = index.search(v[7], 10)
    assert ids.tolist() == brute_force(v, v[7], 10)
    assert ids[0] == 7
    assert scores[0] == pytest.approx(1.0, abs=1e-5)
    assert list(scores) == sorted(scores, reverse=True)
    assert ids.dtype == np.int64


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 120),
    k=st.integers(1, 30),
    allowed=st.lists(st.integers(0, 119), unique=True, max_size=40),
    seed=st.integers(0, 5),
)
def test_flat_filtered_search_returns_exactly_the_allowed_best(
    n: int, k: int, allowed: list[int], seed: int
) -> None:
    v = unit_vectors(n, seed=seed)
    allowed = [a for a in allowed if a < n]
    index = vectors.build(v)
    query = unit_vectors(1, seed=seed + 100)[0]
    ids, _ = index.search(query, k, np.asarray(allowed, dtype=np.int64))
    assert set(ids.tolist()) <= set(allowed)
    assert len(ids) == min(k, len(allowed))
    assert ids.tolist() == brute_force(v, query, k, allowed)


def test_unfiltered_search_never_returns_more_than_there_is() -> None:
    index = vectors.build(unit_vectors(3))
    ids, _ = index.search(unit_vectors(1, seed=9)[0], 10)
    assert sorted(ids.tolist()) == [0, 1, 2]


def test_empty_filter_returns_nothing() -> None:
    index = vectors.build(unit_vectors(10))
    ids, scores = index.search(unit_vectors(1)[0], 5, np.zeros(0, dtype=np.int64))
    assert len(ids) == 0 and len(scores) == 0


def test_hnsw_search_finds_the_nearest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vectors, "FLAT_LIMIT", 10)
    v = unit_vectors(500)
    index = vectors.build(v)
    assert index.kind == "hnsw"
    ids, _ = index.search(v[42], 5)
    assert ids[0] == 42
    assert len(ids) == 5
    allowed = np.arange(0, 500, 2, dtype=np.int64)  # a broad filter: half the rows
    ids, _ = index.search(v[42], 10, allowed)
    assert len(ids) == 10
    assert set(ids.tolist()) <= set(allowed.tolist())


def clustered(n_near: int = 3000, n_far: int = 10, dimension: int = 16) -> Vectors:
    """Many vectors around +e1, a few around -e1 (the far ones are rows n_near...)."""
    rng = np.random.default_rng(0)
    axis = np.zeros(dimension, dtype=np.float32)
    axis[0] = 1.0
    near = axis + 0.3 * rng.normal(size=(n_near, dimension))
    far = -axis + 0.3 * rng.normal(size=(n_far, dimension))
    v = np.vstack([near, far]).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_hnsw_filtered_search_returns_min_k_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vectors, "FLAT_LIMIT", 100)
    v = clustered()
    index = vectors.build(v)
    assert index.kind == "hnsw"
    allowed = np.arange(3000, 3010, dtype=np.int64)
    ids, _ = index.search(v[0], 10, allowed)
    assert sorted(ids.tolist()) == allowed.tolist()


def test_hnsw_filtered_search_above_the_exact_limit_returns_min_k_allowed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(vectors, "FLAT_LIMIT", 100)
    monkeypatch.setattr(vectors, "EXACT_FILTER_LIMIT", 5)  # stands in for 50,000
    v = clustered()
    index = vectors.build(v)
    allowed = np.arange(3000, 3010, dtype=np.int64)
    ids, _ = index.search(v[0], 10, allowed)
    assert sorted(ids.tolist()) == allowed.tolist()


@pytest.mark.parametrize("flat_limit", [vectors.FLAT_LIMIT, 10])
def test_save_and_load_round_trip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flat_limit: int
) -> None:
    monkeypatch.setattr(vectors, "FLAT_LIMIT", flat_limit)
    v = unit_vectors(300)
    index = vectors.build(v)
    path = tmp_path / "chunks.faiss"
    vectors.save(index, path)
    loaded = vectors.load(path)
    assert (loaded.kind, loaded.size) == (index.kind, index.size)
    for row in (0, 17, 299):
        a_ids, a_scores = index.search(v[row], 8)
        b_ids, b_scores = loaded.search(v[row], 8)
        assert a_ids.tolist() == b_ids.tolist()
        np.testing.assert_allclose(a_scores, b_scores, rtol=1e-6)
    allowed = np.asarray([3, 5, 8], dtype=np.int64)
    assert sorted(loaded.search(v[5], 8, allowed)[0].tolist()) == [3, 5, 8]
