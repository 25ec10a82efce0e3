"""The release gate passes a grounded answerer and fails a broken one."""

from __future__ import annotations

from typing import Any

from eval.dataset import Gold, Question
from eval.evaluate import evaluate
from eval.run import THRESHOLDS

TEXT = "Mandamus is a court order. Officers train for four weeks in Charleston."
TEXTS = {"doc": TEXT}
QUESTIONS = [
    Question(
        "q1",
        "What is mandamus?",
        "definition",
        "en",
        True,
        (Gold("doc", "Mandamus is a court order."),),
        "test",
    ),
    Question(
        "q2",
        "How long is the training?",
        "fact",
        "en",
        True,
        (Gold("doc", "Officers train for four weeks in Charleston."),),
        "test",
    ),
    Question("q3", "What is the H-1B filing fee?", "out_of_scope", "en", False, (), "test"),
]


class Answerer:
    """Answers each question with its gold sentence, cited at an offset `shift` away."""

    def __init__(self, shift: int = 0) -> None:
        self.shift = shift

    def ask(self, question: str, mode: str) -> dict[str, Any]:
        q = next(q for q in QUESTIONS if q.question == question)
        if not q.answerable:
            return {
                "answer": "Not covered.",
                "abstained": True,
                "sentences": [],
                "citations": [],
                "support": 0.1,
                "took_ms": 1.0,
            }
        quote = q.gold[0].quote
        start = TEXT.index(quote) + self.shift
        citation = {
            "n": 1,
            "document_id": "doc",
            "text": quote,
            "start": start,
            "end": start + len(quote),
        }
        return {
            "answer": f"{quote} [1]",
            "abstained": False,
            "sentences": [{"text": quote, "citations": [1]}],
            "citations": [citation],
            "support": 0.9,
            "took_ms": 1.0,
        }

    def search(self, query: str, k: int, mode: str) -> list[dict[str, Any]]:
        return [{"document_id": "doc", "start": 0, "end": len(TEXT)}]

    def texts(self) -> dict[str, str]:
        return TEXTS


def test_grounded_answerer_passes_the_gate() -> None:
    report = evaluate(QUESTIONS, Answerer(), split="test", thresholds=THRESHOLDS, progress=False)
    summary = report["modes"]["hybrid"]["summary"]
    assert summary["citation_exactness"]["value"] == 1.0
    assert summary["gold_cited"]["value"] == 1.0
    assert report["gate"]["failures"] == []


def test_answerer_citing_wrong_offsets_fails_the_gate() -> None:
    report = evaluate(
        QUESTIONS, Answerer(shift=1), split="test", thresholds=THRESHOLDS, progress=False
    )
    failures = report["gate"]["failures"]
    assert any(f.startswith("citation_exactness") for f in failures), failures
