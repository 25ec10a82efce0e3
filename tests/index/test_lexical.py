"""index/lexical.py: the Tantivy BM25 index, built in a folder and read back."""

from __future__ import annotations

from pathlib import Path

import pytest

from index import lexical
from index.lexical import LexicalIndex

CHUNKS = [  # as index.build.chunk_input makes them: section heading, then text
    "Overview\nThe county signed a 287(g) agreement with ICE.",
    "Overview\nUnder 287(g) officers screen people booked into the jail.",
    "Training\nThe 287(g) officers trained for four weeks in Charleston.",
    "Mandamus\nA writ of mandamus asks a court to order an official to act.",
]


@pytest.fixture
def index(tmp_path: Path) -> LexicalIndex:
    assert lexical.build(tmp_path / "lexical", CHUNKS) == len(CHUNKS)
    return LexicalIndex(tmp_path / "lexical")


def test_rows_are_the_chunks_order_and_words_are_stemmed(index: LexicalIndex) -> None:
    assert index.size == len(CHUNKS)
    assert [row for row, _ in index.search("mandamus", 5)] == [3]
    # "trains" and "week" meet "trained" and "weeks" through the English stemmer.
    assert [row for row, _ in index.search("trains week", 5)] == [2]


def test_headings_are_searched_with_the_text(index: LexicalIndex) -> None:
    hits = dict(index.search("training charleston", 5))
    assert set(hits) == {2}
    heading_only = dict(index.search("overview", 5))
    assert set(heading_only) == {0, 1}


def test_words_in_more_than_half_the_chunks_do_not_rank(index: LexicalIndex) -> None:
    assert index.matching("287(g)") == 3
    assert index.ranking_terms("287(g) officers in the jail") == ["officers", "jail"]
    # When every word is that common, they are all kept rather than none.
    assert index.ranking_terms("287(g)") == ["287", "g"]
    assert [row for row, _ in index.search("287(g) jail", 5)] == [1]


def test_a_generation_folder_is_built_once(tmp_path: Path) -> None:
    lexical.build(tmp_path / "lexical", CHUNKS)
    with pytest.raises(FileExistsError):
        lexical.build(tmp_path / "lexical", CHUNKS)


def test_lock_files_are_not_content(tmp_path: Path) -> None:
    lexical.build(tmp_path / "lexical", CHUNKS)
    names = [p.name for p in lexical.files(tmp_path / "lexical")]
    assert "meta.json" in names
    assert not any(name.endswith(".lock") for name in names)
