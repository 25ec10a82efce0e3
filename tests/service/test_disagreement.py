"""Whether sources disagree on what a question asks (service/disagreement.py)."""

from __future__ import annotations

from dataclasses import replace

from service import answer, disagreement
from service.types import Candidate
from tests.service.test_answer import candidate


def sources_disagree(question: str, first: str, second: str) -> bool:
    a = candidate(first, 0.7, row=0, context=0.7)
    b = candidate(second, 0.7, row=1, context=0.7)
    b = Candidate(b.row, replace(b.sentence, document_id="other"), 0.7, 0, 0.7)
    scored = answer.score(question, "other", [a, b])
    rarity = {"mandamus": 1.0, "stop": 1.5, "enforc": 1.2, "287": 0.1}
    asked = disagreement.asked_terms(question, rarity)
    return disagreement.find_disagreement(scored[:1], scored, 0.5, asked) is not None


def test_sources_disagree_on_what_the_question_asks() -> None:
    assert sources_disagree(
        "Can mandamus stop 287(g) enforcement?",
        "A writ of mandamus is limited in stopping discretionary enforcement abuses.",
        "A writ of mandamus can halt or modify 287(g) enforcement practices.",
    )


def test_a_clash_on_a_word_the_question_does_not_ask_about_is_no_disagreement() -> None:
    assert not sources_disagree(
        "What is a 287(g) agreement?",
        "A writ of mandamus is limited in stopping discretionary enforcement abuses.",
        "A writ of mandamus can halt or modify 287(g) enforcement practices.",
    )


def test_a_negation_reaches_only_the_next_few_words() -> None:
    negated, plain = disagreement._polarity(
        "Courts want no other adequate remedy before issuing mandamus."
    )
    assert "remedy" in negated
    assert "mandamus" in plain
