"""Serving during change: an Engine answers in several threads while ingests add, edit and
delete documents. No query fails, and every answer quotes exactly one generation."""

from __future__ import annotations

import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from index import build
from ingest.clean import Rules
from service.engine import Engine
from tests.conftest import HashingEncoder
from tests.reliability.helpers import (
    add_document,
    edit_document,
    note_text,
    remove_document,
    texts_of,
)

QUERY_THREADS = 3
QUESTIONS = (
    "What is a writ of mandamus?",
    "What does the 287(g) task force model allow local police to do?",
    "Why do 287(g) agreements make communities afraid?",
    "What must the agency owe in matter 4?",
    "Which remedy is missing in matter 9?",
    "How many days does revision 6 give the agency?",
)
Quote = tuple[str, int, int, str]  # document id, start, end, text


@dataclass
class Observed:
    """What the query threads saw, checked after the run against the generations."""

    answers: list[tuple[str, tuple[Quote, ...], tuple[str, ...]]] = field(default_factory=list)
    searches: list[tuple[Quote, ...]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    degraded: int = 0


def query_loop(engine: Engine, worker: int, stop: threading.Event, seen: Observed) -> None:
    i = worker
    while not stop.is_set():
        question = QUESTIONS[i % len(QUESTIONS)]
        try:
            if i % 2 == 0:
                answer = engine.ask(question)
                quotes = tuple((c.document_id, c.start, c.end, c.text) for c in answer.citations)
                sentences = tuple(s.text for s in answer.sentences)
                seen.answers.append((answer.index_version, quotes, sentences))
            else:
                passages = engine.search(question, k=5)
                seen.searches.append(
                    tuple((p.document_id, p.start, p.end, p.text) for p in passages)
                )
            seen.degraded += engine.state.loaded.degraded
        except Exception:  # any exception in a query thread is the failure under test
            seen.errors.append(traceback.format_exc())
        i += 1


def change_loop(
    corpus: Path,
    data: Path,
    rules: Rules,
    seconds: float,
    max_ingests: int,
    published: dict[str, dict[str, str]],
    errors: list[str],
) -> None:
    """Add, edit and delete documents and ingest after each change, recording the texts
    of every generation published (before the next ingest can prune it)."""
    encoder = HashingEncoder()
    added: list[str] = []
    deadline = time.monotonic() + seconds
    n = 0
    try:
        while time.monotonic() < deadline and n < max_ingests:
            if n % 3 == 0 or not added:
                added.append(f"note-{n}")
                add_document(corpus, added[-1], note_text(n))
            elif n % 3 == 1:
                edit_document(corpus, n)
            else:
                remove_document(corpus, added.pop(0))
            summary = build.ingest(corpus, data, encoder, rules)
            assert summary.published
            published[summary.generation] = texts_of(data, summary.generation)
            n += 1
    except Exception:
        errors.append(traceback.format_exc())


def one_generation(quotes: tuple[Quote, ...], texts: dict[str, str]) -> bool:
    return all(doc in texts and texts[doc][start:end] == text for doc, start, end, text in quotes)


@pytest.mark.parametrize(
    ("seconds", "max_ingests"),
    [
        pytest.param(3.0, 8, id="3s"),
        pytest.param(20.0, 60, id="20s", marks=pytest.mark.slow),
    ],
)
def test_queries_during_ingests_never_fail_and_quote_one_generation(
    corpus_copy: Path, data_dir: Path, rules: Rules, seconds: float, max_ingests: int
) -> None:
    first = build.ingest(corpus_copy, data_dir, HashingEncoder(), rules)
    published = {first.generation: texts_of(data_dir, first.generation)}
    engine = Engine(data_dir, HashingEncoder(), threshold=0.0)
    seen = Observed()
    stop = threading.Event()
    ingest_errors: list[str] = []
    queries = [
        threading.Thread(target=query_loop, args=(engine, w, stop, seen), daemon=True)
        for w in range(QUERY_THREADS)
    ]
    changer = threading.Thread(
        target=change_loop,
        args=(corpus_copy, data_dir, rules, seconds, max_ingests, published, ingest_errors),
    )
    started = time.monotonic()
    for thread in queries:
        thread.start()
    changer.start()
    changer.join(timeout=seconds + 60)
    time.sleep(1.0)  # let the engine pick up the last generation
    stop.set()
    for thread in queries:
        thread.join(timeout=30)
    took = time.monotonic() - started

    assert ingest_errors == []
    assert seen.errors == [], seen.errors[0]
    assert seen.degraded == 0
    served = {version for version, _, _ in seen.answers}
    assert served <= set(published)
    assert len(served) >= 2  # the engine did switch generations under load
    cited = 0
    for version, quotes, sentences in seen.answers:
        assert one_generation(quotes, published[version]), version
        for sentence in sentences:
            assert any(sentence in text for _, _, _, text in quotes)
        cited += len(quotes)
    assert cited > 0
    for quotes in seen.searches:
        assert any(one_generation(quotes, texts) for texts in published.values())
    print(
        f"\nserving summary: {len(seen.answers)} answers ({cited} citations) and "
        f"{len(seen.searches)} searches in {QUERY_THREADS} threads, "
        f"{len(published) - 1} ingests, {len(served)} generations served, "
        f"0 errors, {took:.1f} s"
    )
