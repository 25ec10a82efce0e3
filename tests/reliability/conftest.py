"""Fixtures of the reliability tests (the shared ones live in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import memoised_splitting


@pytest.fixture(scope="package", autouse=True)
def memoised_sentence_splitting() -> Iterator[None]:
    """Memoise `split_sentences` for in-process ingests, as tests/index/conftest.py does.

    pysbd takes ~0.6 s per corpus ingest and these tests ingest hundreds of times; the
    function is pure, so a cache changes nothing but speed. Child processes (the crash
    tests) run the real, uncached function, which widens the window a kill can land in.
    """
    with memoised_splitting():
        yield
