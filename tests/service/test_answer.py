"""The answer composer, on hand-made candidates (pure code: no model, no index)."""

from __future__ import annotations

import numpy as np
import pytest

from index.lexical import stems
from index.store import DocumentRow
from ingest.types import LineKind, Sentence
from service import answer
from service.answer import Candidate

DOC = DocumentRow("doc", "A title", None, None, None, None, None, None, "doc.txt", "0", 1, 3)


def candidate(
    text: str, dense: float, row: int = 0, section: str = "Intro", context: float = 0.0
) -> Candidate:
    start = row * 1000
    sentence = Sentence(
        f"s{row}", "doc", section, LineKind.PARAGRAPH, start, start + len(text), text
    )
    return Candidate(row, sentence, dense, 0, context)


def compose(pool: list[Candidate], decoy: float = 0.0, threshold: float = 0.0) -> answer.Answer:
    return answer.compose(
        question="Which agency supervises 287(g) officers?",
        search_question="Which agency supervises 287(g) officers?",
        pool=pool,
        documents={"doc": DOC},
        threshold=threshold,
        notice="notice",
        language="en",
        urgent=False,
        index_version="v",
        not_covered="not covered",
        decoy=decoy,
    )


def test_stems_match_the_forms_of_a_word() -> None:
    assert stems("Supervision")[0] == stems("supervises")[0]
    assert stems("the 287(g) officers’ work") == ["287", "offic", "work"]


def test_coverage_weighs_rare_words_more() -> None:
    wanted = {"supervis": 3.0, "287": 0.1}
    rare = candidate("ICE supervises them.", 0.5).sentence
    common = candidate("The 287(g) program grew.", 0.5, row=1).sentence
    assert answer.coverage(wanted, rare) == pytest.approx(3.0 / 3.1)
    assert answer.coverage(wanted, common) == pytest.approx(0.1 / 3.1)


def test_coverage_counts_the_section_heading() -> None:
    item = candidate("ICE oversees their activities.", 0.5, section="Supervision").sentence
    assert answer.coverage({"supervis": 1.0}, item) == 1.0


def test_rarity_decides_between_equally_similar_sentences() -> None:
    pool = [
        candidate("The 287(g) program has grown a lot in recent years.", 0.5, row=0),
        candidate("ICE supervises the officers who sign these deals.", 0.5, row=1),
    ]
    rarity = {"agenc": 2.0, "supervis": 3.0, "287": 0.1, "offic": 0.5}
    best = answer.score("Which agency supervises 287(g) officers?", "other", pool, rarity=rarity)
    assert best[0].candidate.row == 1


def test_a_sentence_that_leans_on_the_one_before_ranks_below_a_self_contained_one() -> None:
    pool = [
        candidate("That’s basically what the 287(g) Agreement is.", 0.6, row=0),
        candidate("The 287(g) Agreement lets local police enforce immigration law.", 0.6, row=1),
    ]
    best = answer.score("What is a 287(g) agreement?", "definition", pool)
    assert best[0].candidate.row == 1


def test_a_question_only_page_clutter_answers_is_refused() -> None:
    pool = [candidate("ICE supervises the officers.", 0.40)]
    refused = compose(pool, decoy=0.40 + answer.DECOY_MARGIN)
    assert refused.abstained
    assert refused.abstain_reason == "page_clutter_only"
    assert refused.citations == ()


def test_clutter_close_to_a_good_source_does_not_refuse() -> None:
    pool = [candidate("ICE supervises the officers.", 0.70)]
    answered = compose(pool, decoy=0.70 + answer.DECOY_MARGIN - 0.01)
    assert not answered.abstained
    assert [c.text for c in answered.citations] == ["ICE supervises the officers."]


def test_decoy_similarity_is_the_best_cosine_or_zero_without_clutter() -> None:
    query = np.array([1.0, 0.0], dtype=np.float32)
    clutter = np.array([[0.6, 0.8], [0.0, 1.0]], dtype=np.float32)
    assert answer.decoy_similarity(clutter, query) == pytest.approx(0.6)
    assert answer.decoy_similarity(np.zeros((0, 2), dtype=np.float32), query) == 0.0


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("When did the Task Force Model come back?", "when"),
        ("How many agencies take part?", "how_many"),
        ("Who trains the officers?", "who"),
        ("Why do people stop calling the police?", "why"),
        ("What are the main criticisms of 287(g)?", "list"),
        ("What is a writ of mandamus?", "definition"),
        ("Does mandamus stop enforcement?", "other"),
    ],
)
def test_question_types(question: str, kind: str) -> None:
    assert answer.question_type(question) == kind
