"""ingest/segment.py: structure and exact-offset sentences."""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest import segment as segment_module
from ingest.clean import Rules, clean
from ingest.errors import BadDocument
from ingest.read import parse
from ingest.segment import classify, content_id, segment, split_sentences
from ingest.types import CleanText, Document, Hint, LineKind, RawLine, Sentence
from tests.ingest.strategies import raw_documents


def cleaned(rules: Rules, *lines: str, hint: Hint = Hint.NONE) -> CleanText:
    return clean([RawLine(n, t, hint) for n, t in enumerate(lines, 1)], rules)


def check_sentences(text: str, clean_text: CleanText, sentences: Sequence[Sentence]) -> None:
    """The sentence invariants: exact offsets, in order, no overlap, within one line."""
    spans = [(line.body_start, line.end) for line in clean_text.lines]
    previous_end = 0
    for s in sentences:
        assert s.text == text[s.start : s.end]
        assert 0 <= previous_end <= s.start < s.end <= len(text)
        assert any(ch.isalnum() for ch in s.text)
        assert s.text == s.text.strip()
        assert any(a <= s.start and s.end <= b for a, b in spans), "a sentence crosses lines"
        assert re.fullmatch("[0-9a-f]{16}", s.id)
        previous_end = s.end
    assert len({s.id for s in sentences}) == len(sentences)


# --- the seed corpus ------------------------------------------------------------------


def test_every_seed_sentence_round_trips(real_documents: dict[str, Document]) -> None:
    for doc in real_documents.values():
        assert doc.sentences
        for s in doc.sentences:
            assert s.text == doc.text[s.start : s.end]
            assert s.document_id == doc.id
        previous = 0
        for s in doc.sentences:
            assert previous <= s.start
            previous = s.end
        assert len({s.id for s in doc.sentences}) == len(doc.sentences)


def test_seed_sentences_carry_their_section(real_documents: dict[str, Document]) -> None:
    doc = real_documents["visaverge-287g-task-force-model"]
    training = next(s for s in doc.sentences if "four-week mandatory training" in s.text)
    assert training.section == "Training and Oversight for Participating Officers"
    assert training.kind == LineKind.PARAGRAPH
    first = real_documents["task-force-model-mandamus"].sentences[0]
    assert first.section == real_documents["task-force-model-mandamus"].meta.title


def test_seed_list_items_lose_their_bullet_and_trailing_comma(
    real_documents: dict[str, Document],
) -> None:
    doc = real_documents["community-trust-287g-mandamus"]
    items = [s for s in doc.sentences if s.kind == LineKind.ITEM]
    assert "Increased distrust of law enforcement" in {s.text for s in items}
    assert all(not s.text.startswith(("•", "-", "1.")) for s in items)
    assert all(not s.text.endswith(",") for s in items)


def test_numbered_sub_headings_become_sections(real_documents: dict[str, Document]) -> None:
    doc = real_documents["287g-agreement-writ-of-mandamus"]
    sections = {s.section for s in doc.sentences}
    assert {"Civil Rights Lawsuits", "Injunctions Against Enforcement"} <= sections
    # ...but numbered items with a sentence of their own stay items.
    assert any(s.text.startswith("Racial Profiling: Locals report") for s in doc.sentences)


# --- classify -------------------------------------------------------------------------


def test_short_unpunctuated_lines_followed_by_text_are_headings(rules: Rules) -> None:
    text = cleaned(
        rules,
        "Why It Matters",
        "Because courts can act.",
        "What Is Mandamus?",
        "A writ that compels.",
        "A closing line without a full stop",
    )
    assert classify(text) == [
        LineKind.HEADING,
        LineKind.PARAGRAPH,
        LineKind.HEADING,
        LineKind.PARAGRAPH,
        LineKind.PARAGRAPH,  # the last line stands over nothing
    ]


def test_hinted_headings_and_items(rules: Rules) -> None:
    text = clean(
        [
            RawLine(1, "Short heading.", Hint.HEADING),
            RawLine(2, "1. Civil Rights Lawsuits"),
            RawLine(3, "People can sue."),
            RawLine(4, "1. An item that is a sentence."),
            RawLine(5, "- another item"),
        ],
        rules,
    )
    assert classify(text) == [
        LineKind.HEADING,
        LineKind.HEADING,
        LineKind.PARAGRAPH,
        LineKind.ITEM,
        LineKind.ITEM,
    ]


def test_headings_name_the_section_of_what_follows(rules: Rules) -> None:
    text = cleaned(rules, "Lead sentence here.", "The Heading", "Body one. Body two.")
    sentences = segment(text, "doc", "The Title")
    assert [(s.section, s.text) for s in sentences] == [
        ("The Title", "Lead sentence here."),
        ("The Heading", "Body one."),
        ("The Heading", "Body two."),
    ]


# --- sentences ------------------------------------------------------------------------


def test_split_sentences_gives_trimmed_spans() -> None:
    text = "Dr. Smith filed in the U.S. court. It worked!  Did it?  "
    spans = list(split_sentences(text))
    assert [text[a:b] for a, b in spans] == [
        "Dr. Smith filed in the U.S. court.",
        "It worked!",
        "Did it?",
    ]


def test_sentences_are_trimmed_after_a_trailing_comma_is_cut(rules: Rules) -> None:
    text = cleaned(rules, "• Reduced crime reporting ,", "• Increased vigilante justice ;")
    assert [s.text for s in segment(text, "doc", "T")] == [
        "Reduced crime reporting",
        "Increased vigilante justice",
    ]


def test_repeated_sentences_get_distinct_stable_ids(rules: Rules) -> None:
    text = cleaned(rules, "Yes. No. Yes.", "Yes.")
    first = segment(text, "doc", "T")
    again = segment(text, "doc", "T")
    assert [s.text for s in first] == ["Yes.", "No.", "Yes.", "Yes."]
    assert len({s.id for s in first}) == 4
    assert [s.id for s in first] == [s.id for s in again]
    other = segment(text, "other-doc", "T")
    assert not {s.id for s in first} & {s.id for s in other}


def test_content_id_is_a_stable_16_digit_hash() -> None:
    assert content_id("a", "b") == content_id("a", "b")
    assert content_id("a", "b") != content_id("ab")
    assert re.fullmatch("[0-9a-f]{16}", content_id("x"))
    # Pinned: ids are stored and cited, so the hash must not change between releases.
    assert content_id("doc", "Text.", "1") == "608de2580863f83c"


# --- properties -----------------------------------------------------------------------


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw_documents())
def test_generated_documents_keep_exact_non_overlapping_offsets(
    rules: Rules, document: str
) -> None:
    try:
        lines = parse("doc.txt", document.encode("utf-8"))
    except BadDocument:
        return
    text = clean(lines, rules, title="A Generated Title")
    sentences = segment(text, "generated", "A Generated Title")
    check_sentences(text.text, text, sentences)
    again = segment(text, "generated", "A Generated Title")
    assert [s.id for s in again] == [s.id for s in sentences]


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))
def test_split_sentences_spans_are_ordered_and_inside_the_text(text: str) -> None:
    previous = 0
    for a, b in split_sentences(text):
        assert previous <= a <= b <= len(text)
        previous = b


# --- long lines -------------------------------------------------------------------------

LINE_PARTS = [
    "The court may act now. ",
    "Sec. 287(g) ",
    "U.S. ",
    "e.g. ",
    "“Quoted.” ",
    "word ",
    "x",
    "! ",
    "? ",
    "   ",
    "(see 8 U.S.C. § 1357). ",
]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    parts=st.lists(st.sampled_from(LINE_PARTS), min_size=1, max_size=6),
    repeats=st.integers(min_value=1, max_value=500),
)
def test_pysbd_is_given_bounded_windows_so_work_is_linear(parts: list[str], repeats: int) -> None:
    """pysbd's work grows faster than linearly with its input; each call gets at most
    WINDOW characters and the calls together get each character once, so the work is
    linear in the line's length (bench/parsing.py times it)."""
    line = "".join(parts) * repeats
    seen: list[int] = []
    real = segment_module._segmenter()

    class Counting:
        def segment(self, text: str) -> list[str]:
            seen.append(len(text))
            return real.segment(text)  # type: ignore[attr-defined, no-any-return]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(segment_module, "_segmenter", lambda: Counting())
        spans = list(split_sentences(line))
    assert max(seen) <= segment_module.WINDOW
    assert sum(seen) == len(line)
    for start, end in spans:  # still exact, trimmed, in order and not overlapping
        assert line[start:end] == line[start:end].strip() != ""
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))


def test_windows_cut_after_a_sentence_end_else_a_space() -> None:
    text = "Word " * 300 + "The end. " + "word " * 300
    cuts = list(segment_module.windows(text, size=2_000))
    assert cuts[0][1] == text.index("The end. ") + len("The end. ")
    assert [a for a, _ in cuts[1:]] == [b for _, b in cuts[:-1]]
    unbroken = "x" * 5_000
    assert list(segment_module.windows(unbroken, size=2_000)) == [
        (0, 2_000),
        (2_000, 4_000),
        (4_000, 5_000),
    ]
