"""What questions ask for and what sentences offer (service/questions.py)."""

from __future__ import annotations

import pytest

from index.lexical import stems
from service import questions


def test_stems_match_the_forms_of_a_word() -> None:
    assert stems("Supervision")[0] == stems("supervises")[0]
    assert stems("the 287(g) officers’ work") == ["287", "offic", "work"]


@pytest.mark.parametrize(
    ("question", "term"),
    [
        ("What is a 287(g) agreement?", {"287", "agreement"}),
        ("What's a community oversight board?", {"communiti", "oversight", "board"}),
        ("Can you define mandamus for someone with no legal background?", {"mandamus"}),
        (
            "What does “full-scale indemnification” mean for agencies?",
            {"full", "scale", "indemnif"},
        ),
        ("Why do people stop calling the police?", set()),
    ],
)
def test_the_term_a_definition_question_asks_about(question: str, term: set[str]) -> None:
    assert questions.defined_term(question) == term


def test_a_statute_section_is_not_a_number() -> None:
    assert not questions.states_number("The 287(g) program grew.")
    assert questions.states_number("It is active in 15 agencies.")
    assert questions.states_number("This four-week training is mandatory.")


def test_how_many_wants_the_number_of_what_it_counts() -> None:
    years = ["Officers retrain every two years."]
    agencies = ["It is active in 15 agencies."]
    assert not questions.gives_figure("How many minutes does it take to read?", years)
    assert questions.gives_figure("How many police agencies take part?", agencies)
    assert questions.gives_figure("How much training do officers get?", years)
    assert questions.gives_figure("Who trains the officers?", years)


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("When did the Task Force Model come back?", "when"),
        ("On what date was the order signed?", "when"),
        ("How did courts respond when complaints were filed?", "other"),
        ("How many agencies take part?", "how_many"),
        ("Who trains the officers?", "who"),
        ("Why do people stop calling the police?", "why"),
        ("What are the main criticisms of 287(g)?", "list"),
        ("What is a writ of mandamus?", "definition"),
        ("Does mandamus stop enforcement?", "other"),
    ],
)
def test_question_types(question: str, kind: str) -> None:
    assert questions.question_type(question) == kind
