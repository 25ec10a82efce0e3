"""Fixtures of the index tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import memoised_splitting


@pytest.fixture(scope="package", autouse=True)
def memoised_sentence_splitting() -> Iterator[None]:
    """Memoise `split_sentences` for the index tests, which ingest the corpus many times.

    pysbd recompiles its regular expressions on every call and takes ~0.6 s per corpus
    ingest, most of the time of these tests; the function is pure, so a cache changes
    nothing but speed. Package scope: tests/ingest runs the real, uncached function.
    """
    with memoised_splitting():
        yield
