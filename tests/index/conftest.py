"""Fixtures of the index tests."""

from __future__ import annotations

import functools
from collections.abc import Iterator

import pytest

from ingest import segment


@pytest.fixture(scope="package", autouse=True)
def memoised_sentence_splitting() -> Iterator[None]:
    """Memoise `split_sentences` for the index tests, which ingest the corpus many times.

    pysbd recompiles its regular expressions on every call and takes ~0.6 s per corpus
    ingest, most of the time of these tests; the function is pure, so a cache changes
    nothing but speed. Package scope: tests/ingest runs the real, uncached function.
    """
    original = segment.split_sentences

    @functools.cache
    def cached(text: str) -> tuple[tuple[int, int], ...]:
        return tuple(original(text))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(segment, "split_sentences", cached)
        yield
