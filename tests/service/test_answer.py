"""The answer composer, on hand-made candidates (pure code: no model, no index)."""

from __future__ import annotations

import pytest

from index.store import DocumentRow
from ingest.types import LineKind, Sentence
from service import answer
from service.types import Answer, Candidate

DOC = DocumentRow("doc", "A title", None, None, None, None, None, None, "doc.txt", "0", 1, 3)


def candidate(
    text: str, dense: float, row: int = 0, section: str = "Intro", context: float = 0.0
) -> Candidate:
    start = row * 1000
    sentence = Sentence(
        f"s{row}", "doc", section, LineKind.PARAGRAPH, start, start + len(text), text
    )
    return Candidate(row, sentence, dense, 0, context)


def compose(pool: list[Candidate], threshold: float = 0.0) -> Answer:
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
    )


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


def test_below_the_threshold_it_abstains_and_cites_nothing() -> None:
    pool = [candidate("ICE supervises the officers.", 0.30, context=0.30)]
    refused = compose(pool, threshold=0.31)
    assert refused.abstained
    assert refused.abstain_reason == "not_covered"
    assert refused.answer == "not covered"
    assert refused.citations == ()


def test_an_answer_cites_each_sentence_verbatim_numbered_in_order_of_use() -> None:
    pool = [
        candidate("ICE supervises the officers.", 0.70, row=0, context=0.6),
        candidate("ICE supervises their immigration work closely.", 0.68, row=1, context=0.6),
    ]
    answered = compose(pool, threshold=0.5)
    assert not answered.abstained
    assert [c.n for c in answered.citations] == list(range(1, len(answered.citations) + 1))
    for sentence, citation in zip(answered.sentences, answered.citations, strict=True):
        assert sentence.text == citation.text
        assert sentence.citations == (citation.n,)
    assert answered.answer.startswith("ICE supervises the officers. [1]")


def test_a_definition_names_its_term_as_its_subject() -> None:
    pool = [
        candidate("A writ of mandamus is limited in stopping abuses under 287(g) Agreements.", 0.6),
        candidate("That’s basically what the 287(g) Agreement is.", 0.6, row=1),
        candidate(
            "The 287(g) Agreement allows local police to enforce immigration law.", 0.6, row=2
        ),
    ]
    best = answer.score("What is a 287(g) agreement?", "definition", pool)
    assert best[0].candidate.row == 2


def test_a_text_question_lends_its_match_only_when_it_asks_the_same() -> None:
    # The text asks "What does this mean for families?" (0.65 like the visitor's question):
    # not the same question, so its answer keeps its own low similarity.
    text = candidate("For many families, it means anxiety.", 0.1).sentence
    follows = Candidate(0, text, 0.1, 0, 0.5, 0.65)
    plain = candidate("It deputizes local police.", 0.3, row=1, context=0.5)
    scored = answer.score("What is it?", "other", [follows, plain])
    assert scored[0].candidate.row == 1
    same = Candidate(0, text, 0.1, 0, 0.5, 0.9)
    assert answer.score("What is it?", "other", [same, plain])[0].candidate.row == 0


def test_a_how_many_question_the_sources_give_no_number_for_is_refused() -> None:
    pool = [candidate("ICE supervises the officers who take part.", 0.70, context=0.6)]
    refused = answer.compose(
        question="How many officers take part?",
        search_question="How many officers take part?",
        pool=pool,
        documents={"doc": DOC},
        threshold=0.5,
        notice="notice",
        language="en",
        urgent=False,
        index_version="v",
        not_covered="not covered",
    )
    assert refused.abstained
    assert refused.abstain_reason == "number_not_covered"
    assert refused.citations == ()
