"""ingest/chunk.py: chunks are whole consecutive sentences of one section."""

from __future__ import annotations

import re
from collections.abc import Sequence

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.chunk import MAX_CHARS, chunk
from ingest.clean import Rules, clean
from ingest.errors import BadDocument
from ingest.read import parse
from ingest.segment import segment
from ingest.types import Chunk, Document, RawLine, Sentence
from tests.ingest.strategies import raw_documents


def check_chunks(
    text: str, sentences: Sequence[Sentence], chunks: Sequence[Chunk], max_chars: int
) -> None:
    """The chunk invariants: exact offsets; whole sentences of one section, in order."""
    by_id = {s.id: s for s in sentences}
    # Together the chunks hold every sentence exactly once, in document order.
    assert [i for c in chunks for i in c.sentence_ids] == [s.id for s in sentences]
    for c in chunks:
        members = [by_id[i] for i in c.sentence_ids]
        assert members
        assert c.text == text[c.start : c.end]
        assert (c.start, c.end) == (members[0].start, members[-1].end)
        assert {s.section for s in members} == {c.section}
        assert {s.document_id for s in members} == {c.document_id}
        assert len(members) == 1 or c.end - c.start <= max_chars
        assert re.fullmatch("[0-9a-f]{16}", c.id)
    assert len({c.id for c in chunks}) == len(chunks)


def test_every_seed_chunk_round_trips(real_documents: dict[str, Document]) -> None:
    for doc in real_documents.values():
        assert doc.chunks
        check_chunks(doc.text, doc.sentences, doc.chunks, MAX_CHARS)


def test_seed_chunks_do_not_cross_sections(real_documents: dict[str, Document]) -> None:
    doc = real_documents["visaverge-287g-task-force-model"]
    training = next(c for c in doc.chunks if "four-week mandatory training" in c.text)
    assert training.section == "Training and Oversight for Participating Officers"
    assert "Funding Allocations" not in training.text


def test_sentences_are_grouped_up_to_the_size_limit(rules: Rules) -> None:
    lines = [RawLine(1, "Alpha one is here. Beta two is here. Gamma three is here.")]
    text = clean(lines, rules)
    sentences = segment(text, "doc", "T")
    assert len(chunk(sentences, text.text, max_chars=1000)) == 1
    small = chunk(sentences, text.text, max_chars=40)
    assert [c.text for c in small] == [
        "Alpha one is here. Beta two is here.",
        "Gamma three is here.",
    ]
    single = chunk(sentences, text.text, max_chars=5)  # a long sentence is a chunk of its own
    assert [c.text for c in single] == [s.text for s in sentences]


def test_a_heading_starts_a_new_chunk(rules: Rules) -> None:
    raw = ["First part here.", "A Heading", "Second part here."]
    text = clean([RawLine(n, t) for n, t in enumerate(raw, 1)], rules)
    chunks = chunk(segment(text, "doc", "T"), text.text)
    assert [(c.section, c.text) for c in chunks] == [
        ("T", "First part here."),
        ("A Heading", "Second part here."),
    ]


def test_identical_chunks_get_distinct_ids(rules: Rules) -> None:
    raw = ["Same", "Text here.", "Same", "Text here. And more."]
    text = clean([RawLine(n, t) for n, t in enumerate(raw, 1)], rules)
    chunks = chunk(segment(text, "doc", "T"), text.text, max_chars=12)
    assert [c.text for c in chunks] == ["Text here.", "Text here.", "And more."]
    assert len({c.id for c in chunks}) == 3


def test_no_sentences_no_chunks() -> None:
    assert chunk([], "") == []


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw_documents(), st.sampled_from([1, 40, 120, MAX_CHARS]))
def test_generated_documents_chunk_into_whole_sentences(
    rules: Rules, document: str, max_chars: int
) -> None:
    try:
        lines = parse("doc.txt", document.encode("utf-8"))
    except BadDocument:
        return
    text = clean(lines, rules)
    sentences = segment(text, "generated", "Title")
    check_chunks(text.text, sentences, chunk(sentences, text.text, max_chars), max_chars)
