"""index/search.py and index/lexical.py: hybrid and lexical retrieval with filters."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index import lexical
from index.encoder import Encoder
from index.generation import Generation
from index.search import MODES, Searcher, fuse, normalise_query
from index.types import Filters
from tests.conftest import HashingEncoder

CHARLESTON = "four-week mandatory training, held in Charleston"
MISCONDUCT = "officer-misconduct-287g-mandamus"


# --- normalise_query ------------------------------------------------------------------


@pytest.mark.parametrize(
    "spelling", ["287g", "287G", "287 g", "287-G", "287 (g)", "287(g)", "287( g )", "２８７ｇ"]
)
def test_section_287g_spellings_are_unified(spelling: str) -> None:
    assert normalise_query(f"what is a {spelling} agreement") == "what is a 287(g) agreement"


@pytest.mark.parametrize("text", ["287 going", "287 gallons", "2287g", "287", "g 287"])
def test_other_numbers_and_words_are_left_alone(text: str) -> None:
    assert normalise_query(text) == text


def test_curly_quotes_become_straight_and_spaces_fold() -> None:
    assert normalise_query("  the \u201cTask Force\u201d   model\u2019s \u2018reach\u2019 ") == (
        "the \"Task Force\" model's 'reach'"
    )


# --- fuse (reciprocal rank fusion) ----------------------------------------------------


def test_fuse_matches_a_hand_computed_example() -> None:
    scores = fuse([[10, 20, 30], [30, 10]])
    assert scores == pytest.approx(
        {10: 1 / 61 + 1 / 62, 20: 1 / 62, 30: 1 / 63 + 1 / 61}, rel=1e-12
    )
    assert sorted(scores, key=lambda r: -scores[r]) == [10, 30, 20]
    assert fuse([[5, 6]], k=1) == {5: 1 / 2, 6: 1 / 3}
    assert fuse([]) == {}


@given(st.lists(st.lists(st.integers(0, 50), unique=True, max_size=20), max_size=4))
def test_fuse_scores_every_ranked_row_by_its_ranks(rankings: list[list[int]]) -> None:
    scores = fuse(rankings)
    assert set(scores) == {row for ranking in rankings for row in ranking}
    for row, score in scores.items():
        expected = sum(1 / (60 + r.index(row) + 1) for r in rankings if row in r)
        assert score == pytest.approx(expected)


# --- the lexical index ------------------------------------------------------------------


def test_lexical_terms_drop_stopwords_and_repeats() -> None:
    assert lexical.terms("What is the four-week training?") == ["four", "week", "training"]
    assert lexical.terms("Training TRAINING training") == ["training"]
    assert lexical.terms("what is the") == []
    assert lexical.terms("") == []


EVIL = [
    '"',
    '""',
    '"unterminated phrase',
    "*",
    "training*",
    "NEAR(",
    "NEAR(training charleston, 2)",
    ":",
    "text:training",
    "-",
    "- training",
    "a - b",
    "^training",
    "AND OR NOT",
    "training AND",
    "(",
    ")",
    "{section text}: training",
    "+",
    "\\",
    "'; DROP TABLE chunks; --",
    "287(g)",
    "\u0000",
]


@pytest.mark.parametrize("query", EVIL)
def test_query_syntax_in_a_query_cannot_break_the_search(
    hashed_generation: Generation, query: str
) -> None:
    hits = hashed_generation.lexical.search(query, 10)
    assert all(0 <= row < len(hashed_generation.chunks) for row, _ in hits)
    filtered = hashed_generation.lexical.search(query, 10, allowed=[0, 1, 2])
    assert {row for row, _ in filtered} <= {0, 1, 2}


def test_a_filtered_lexical_search_ranks_and_scores_as_the_unfiltered_one(
    hashed_generation: Generation,
) -> None:
    query = "287(g) task force officers mandamus"
    everything = hashed_generation.lexical.search(query, len(hashed_generation.chunks))
    allowed = sorted(row for row, _ in everything)[::2]
    filtered = hashed_generation.lexical.search(query, 3, allowed=allowed)
    expected = [(row, score) for row, score in everything if row in set(allowed)][:3]
    assert [row for row, _ in filtered] == [row for row, _ in expected]
    assert [score for _, score in filtered] == pytest.approx([score for _, score in expected])


def test_an_empty_filter_finds_nothing(hashed_generation: Generation) -> None:
    assert hashed_generation.lexical.search("training", 5, allowed=[]) == []


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=40))
def test_any_query_text_is_safe(hashed_generation: Generation, query: str) -> None:
    hits = hashed_generation.lexical.search(query, 5)
    assert len(hits) <= 5
    scores = [score for _, score in hits]
    assert scores == sorted(scores, reverse=True)


def test_bm25_ranks_the_charleston_passages_first(hashed_generation: Generation) -> None:
    hits = hashed_generation.lexical.search("four-week training Charleston", 5)
    top = [hashed_generation.chunks[row].text for row, _ in hits[:2]]
    # Both passages that mention the training in Charleston (one is the key takeaways).
    assert all("four-week" in text and "Charleston" in text for text in top)
    assert any(CHARLESTON in text for text in top)


# --- Searcher (with the test encoder) --------------------------------------------------


@pytest.fixture(scope="module")
def searcher(hashed_generation: Generation) -> Searcher:
    return Searcher(hashed_generation, HashingEncoder())


def test_passages_point_into_their_documents(searcher: Searcher) -> None:
    gen = searcher.generation
    passages = searcher.search("mandamus compels an agency", k=8)
    assert len(passages) == 8
    for p in passages:
        assert gen.texts[p.document_id][p.start : p.end] == p.text
        assert p.title == gen.documents[p.document_id].title
        assert p.chunk_id == gen.chunks[p.row].id
    scores = [p.score for p in passages]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize("mode", MODES)
def test_each_mode_returns_results(searcher: Searcher, mode: str) -> None:
    passages = searcher.search("four-week training", k=5, mode=mode)  # type: ignore[arg-type]
    assert len(passages) == 5
    if mode == "dense":
        assert all(p.lexical_rank is None and p.dense_rank is not None for p in passages)
    if mode == "lexical":
        assert all(p.dense_rank is None and p.lexical_rank is not None for p in passages)
        assert "Charleston" in passages[0].text


def test_a_document_filter_keeps_only_that_document(searcher: Searcher) -> None:
    n_chunks = searcher.generation.documents[MISCONDUCT].chunks
    assert n_chunks >= 10
    filters = Filters(document_ids=frozenset({MISCONDUCT}))
    for mode in MODES:
        passages = searcher.search("four-week training", k=10, filters=filters, mode=mode)
        assert all(p.document_id == MISCONDUCT for p in passages), mode
    hybrid = searcher.search("four-week training", k=10, filters=filters)
    assert len(hybrid) == 10
    everything = searcher.search("four-week training", k=50, filters=filters)
    assert len(everything) == n_chunks


def test_a_kind_filter(searcher: Searcher) -> None:
    passages = searcher.search("training", k=10, filters=Filters(kinds=frozenset({"news"})))
    assert passages
    assert {p.document_id for p in passages} == {"visaverge-287g-task-force-model"}


def test_a_filter_that_matches_nothing_returns_nothing(searcher: Searcher) -> None:
    assert searcher.search("training", filters=Filters(document_ids=frozenset({"nope"}))) == []
    assert searcher.search("training", filters=Filters(published_from="2999-01-01")) == []


def test_a_query_of_stopwords_still_gets_dense_results(searcher: Searcher) -> None:
    assert searcher.search("what is the", k=3, mode="lexical") == []
    assert len(searcher.search("what is the", k=3)) == 3


def test_a_given_query_vector_is_used(searcher: Searcher) -> None:
    vector = np.asarray(searcher.generation.chunk_vectors[7])
    passages = searcher.search("", k=1, mode="dense", query_vector=vector)
    assert passages[0].row == 7
    assert passages[0].dense_score == pytest.approx(1.0, abs=1e-5)


# --- with the real model --------------------------------------------------------------


@pytest.mark.model
def test_real_encoder_is_normalised_minilm(real_encoder: Encoder) -> None:
    assert real_encoder.name == "sentence-transformers/all-MiniLM-L6-v2"
    assert real_encoder.dimension == 384
    vectors = real_encoder.encode(["A writ of mandamus.", "Training in Charleston."])
    assert vectors.shape == (2, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    assert real_encoder.encode([]).shape == (0, 384)


@pytest.mark.model
def test_four_week_training_finds_the_charleston_passage_first(
    model_generation: Generation, real_encoder: Encoder
) -> None:
    passages = Searcher(model_generation, real_encoder).search("four-week training")
    assert CHARLESTON in passages[0].text
    assert passages[0].document_id == "visaverge-287g-task-force-model"


@pytest.mark.model
@pytest.mark.parametrize("mode", MODES)
def test_real_model_modes_return_results(
    model_generation: Generation, real_encoder: Encoder, mode: str
) -> None:
    passages = Searcher(model_generation, real_encoder).search(
        "four-week training",
        k=5,
        mode=mode,  # type: ignore[arg-type]
    )
    assert len(passages) == 5
    assert any(CHARLESTON in p.text for p in passages)


@pytest.mark.model
def test_real_model_document_filter(model_generation: Generation, real_encoder: Encoder) -> None:
    assert model_generation.documents[MISCONDUCT].chunks >= 10
    filters = Filters(document_ids=frozenset({MISCONDUCT}))
    passages = Searcher(model_generation, real_encoder).search(
        "four-week training", k=10, filters=filters
    )
    assert len(passages) == 10
    assert {p.document_id for p in passages} == {MISCONDUCT}
