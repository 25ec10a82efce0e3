"""The abstention text (service/safety.py)."""

from __future__ import annotations

from service import safety


def test_an_abstention_names_every_title_of_a_small_corpus() -> None:
    text = safety.not_covered("en", ["A title", "Another title"])
    assert text == "Our sources do not answer this question. They cover: A title; Another title."


def test_an_abstention_names_a_few_titles_of_a_large_corpus_and_counts_the_rest() -> None:
    titles = [f"Title {i}" for i in range(2000)]
    text = safety.not_covered("es", titles)
    assert text.count("Title ") == safety.TOPICS_SHOWN
    assert text.endswith("y 1,988 más.")


def test_the_abstention_text_is_made_once_per_language() -> None:
    covered = safety.covered(["A title"])
    assert set(covered) == set(safety.NOT_COVERED)
    assert covered["es"].startswith("Nuestras fuentes")
