"""ingest/clean.py: clutter goes, content stays, characters are normalised."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest import clean as clean_module
from ingest.clean import Rules, clean, load_rules, normalise
from ingest.types import Document, Hint, RawLine
from tests.conftest import CORPUS_DIR, clutter_strings

CLUTTER = clutter_strings()
INVISIBLE = [
    "\u202e",
    "\u2066",
    "\u2067",
    "\u2068",
    "\u2069",
    "\u200e",
    "\u200b",
    "\u200d",
    "\ufeff",
]


def raw(*lines: str, hint: Hint = Hint.NONE) -> list[RawLine]:
    return [RawLine(n, text, hint) for n, text in enumerate(lines, 1)]


def kept_lines(text: str) -> list[str]:
    return text.split("\n\n") if text else []


# --- the seed clutter -----------------------------------------------------------------


def test_clutter_fixture_lists_only_strings_found_in_the_seeds() -> None:
    seeds = "\n".join(p.read_text("utf-8") for p in (CORPUS_DIR / "documents").glob("*.txt"))
    missing = [s for s in CLUTTER if s.casefold() not in seeds.casefold()]
    assert len(CLUTTER) > 90
    assert missing == []


def test_no_clutter_survives_in_any_cleaned_text(real_documents: dict[str, Document]) -> None:
    survivors = [
        (doc_id, s)
        for doc_id, doc in real_documents.items()
        for s in CLUTTER
        if s.casefold() in doc.text.casefold()
    ]
    assert survivors == []


def test_no_clutter_in_any_sentence_or_chunk(real_documents: dict[str, Document]) -> None:
    pieces = [s.text for d in real_documents.values() for s in d.sentences]
    pieces += [c.text for d in real_documents.values() for c in d.chunks]
    pieces += [c.section for d in real_documents.values() for c in d.chunks]
    survivors = {s for s in CLUTTER for p in pieces if s.casefold() in p.casefold()}
    assert survivors == set()


def test_glued_calls_to_action_are_cut_and_the_sentences_kept(
    real_documents: dict[str, Document],
) -> None:
    doc = real_documents["officer-misconduct-287g-mandamus"]
    sentences = {s.text for s in doc.sentences}
    assert "But why does this misconduct happen?" in sentences
    assert "Sounds straightforward, right?" in sentences
    cut = {(d.text, d.reason) for d in doc.dropped}
    assert ("Contact Us on WhatsApp", "call to action") in cut
    assert ("Book a Free Writ of Mandamus Call", "call to action") in cut


def test_real_content_that_looks_similar_is_kept(real_documents: dict[str, Document]) -> None:
    misconduct = real_documents["officer-misconduct-287g-mandamus"]
    assert (
        "Mandamus is a court order that compels a government official or agency to perform "
        "a duty they are legally obligated to complete."
    ) in {s.text for s in misconduct.sentences}
    # The contents list of 004 goes, but the headings it lists stay.
    lines = kept_lines(misconduct.text)
    for heading in (
        "Mandamus Basics: A Legal Spotlight",
        "Key Takeaways",
        "Where Do Oversight Gaps Lie?",
    ):
        assert heading in lines
        assert {s.section for s in misconduct.sentences} >= {heading}
    trust = real_documents["community-trust-287g-mandamus"]
    items = {s.text for s in trust.sentences}
    assert {"Increased distrust of law enforcement", "Reduced crime reporting"} <= items
    # A sentence that merely mentions a call to action's words is not a call to action.
    agreement = real_documents["287g-agreement-writ-of-mandamus"]
    assert any("writ of mandamus" in s.text.lower() for s in agreement.sentences)


def test_repeated_title_lines_are_dropped(real_documents: dict[str, Document]) -> None:
    for doc in real_documents.values():
        titles = {t.casefold() for t in (doc.meta.title, *doc.meta.aliases)}
        standalone = [line for line in kept_lines(doc.text) if line.casefold() in titles]
        assert standalone == [], doc.id
        assert any(d.reason == "repeated title" for d in doc.dropped), doc.id
    visaverge = real_documents["visaverge-287g-task-force-model"]
    repeats = [d for d in visaverge.dropped if d.reason == "repeated title"]
    assert [d.line for d in repeats] == [3, 21, 22]


def test_the_title_inside_a_sentence_is_kept(real_documents: dict[str, Document]) -> None:
    doc = real_documents["task-force-model-mandamus"]
    assert doc.sentences[0].text.startswith(
        "Have you ever wondered why the Task Force Model: The Most Dangerous 287(g) Tool"
    )


def test_lines_without_words_are_dropped(real_documents: dict[str, Document]) -> None:
    doc = real_documents["287g-agreement-writ-of-mandamus"]
    assert any(d.text == "2" and d.reason == "no words" for d in doc.dropped)
    for d in real_documents.values():
        assert all(any(ch.isalpha() for ch in line) for line in kept_lines(d.text))


def test_flag_emoji_leave_no_space_before_the_comma(real_documents: dict[str, Document]) -> None:
    text = real_documents["visaverge-287g-task-force-model"].text
    assert "These states include Florida, Texas, Oklahoma, Idaho, and Kansas." in text
    assert " ," not in text
    assert not re.search("[\U0001f1e6-\U0001f1ff]", text)


def test_cleaned_seed_texts_are_nfc_without_invisible_characters(
    real_documents: dict[str, Document],
) -> None:
    for doc in real_documents.values():
        assert unicodedata.is_normalized("NFC", doc.text)
        assert not any(ch in doc.text for ch in INVISIBLE)
        assert "\u00a0" not in doc.text


# --- normalise ------------------------------------------------------------------------


@pytest.mark.parametrize("char", INVISIBLE, ids=[f"U+{ord(c):04X}" for c in INVISIBLE])
def test_invisible_characters_are_removed(char: str) -> None:
    assert normalise(f"Man{char}damus {char}compels{char}.") == "Mandamus compels."


def test_flags_are_removed_without_leaving_space_before_punctuation() -> None:
    assert normalise("Florida 🇺🇸, Texas 🇺🇸 and Kansas 🇺🇸.") == "Florida, Texas and Kansas."
    assert normalise("🇺🇸 Texas") == "Texas"


def test_nfc_and_space_folding() -> None:
    assert normalise("  Cafe\u0301\u00a0 and\t\tnai\u0308ve  ") == "Café and naïve"
    assert unicodedata.is_normalized("NFC", normalise("Cafe\u0301"))


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=60))
def test_normalise_leaves_no_invisible_characters_or_outer_spaces(line: str) -> None:
    out = normalise(line.replace("\n", " "))
    assert not any(ch in out for ch in INVISIBLE)
    assert not re.search("[\U0001f1e6-\U0001f1ff]", out)
    assert out == out.strip()
    assert "  " not in out


def test_normalise_output_is_nfc_even_when_invisibles_separate_combining_marks() -> None:
    out = normalise("Cafe\u200b\u0301 is open.")
    assert out == "Café is open."
    assert unicodedata.is_normalized("NFC", out)


# --- clean ----------------------------------------------------------------------------


def test_kept_lines_are_joined_by_blank_lines_with_exact_offsets(rules: Rules) -> None:
    result = clean(raw("First line here.", "", "  Second   line. ", "• An item,"), rules)
    assert result.text == "First line here.\n\nSecond line.\n\n• An item,"
    spans = [result.text[line.start : line.end] for line in result.lines]
    assert spans == ["First line here.", "Second line.", "• An item,"]
    item = result.lines[2]
    assert item.hint == Hint.ITEM
    assert result.text[item.body_start : item.end] == "An item,"


def test_exact_rules_match_whole_lines_case_insensitively(rules: Rules) -> None:
    result = clean(raw("PROMOTIONAL   banner", "A Promotional Banner is an advert."), rules)
    assert result.text == "A Promotional Banner is an advert."
    assert result.dropped[0].reason == "promotional or navigation line"


def test_glued_phrases_are_cut_from_either_end(rules: Rules) -> None:
    result = clean(
        raw(
            "Visit mandamus.comThe court may act.",
            "The court may act again.Visit Our Contact Page",
            "Visit mandamus.com is where the ad points.",
        ),
        rules,
    )
    assert kept_lines(result.text) == [
        "The court may act.",
        "The court may act again.",
        "Visit mandamus.com is where the ad points.",
    ]
    assert [d.text for d in result.dropped] == ["Visit mandamus.com", "Visit Our Contact Page"]


def test_footer_drops_everything_after_it(rules: Rules) -> None:
    result = clean(raw("Real content here.", "Share This Article", "Real-looking text."), rules)
    assert result.text == "Real content here."
    assert [d.reason for d in result.dropped] == ["page footer", "page footer"]


def test_title_case_comma_lists_go_only_from_three_lines(rules: Rules) -> None:
    two = clean(
        raw("Intro text here.", "• Legal Rights In Detention,", "• The Role Of ICE,"), rules
    )
    assert len(two.lines) == 3
    three = clean(
        raw(
            "Intro text.", "• Legal Rights In Detention,", "• The Role Of ICE,", "• How To Appeal,"
        ),
        rules,
    )
    assert three.text == "Intro text."
    assert {d.reason for d in three.dropped} == {"related-articles or contents list"}
    sentence_case = clean(
        raw(
            "• Reduced crime reporting,", "• Increased vigilante justice,", "• Strained relations,"
        ),
        rules,
    )
    assert len(sentence_case.lines) == 3


def test_repeated_lines_are_dropped_from_three_words(rules: Rules) -> None:
    result = clean(
        raw("Key Takeaways", "A repeated line here.", "Key Takeaways", "A repeated line here."),
        rules,
    )
    assert kept_lines(result.text) == ["Key Takeaways", "A repeated line here.", "Key Takeaways"]
    assert [(d.line, d.reason) for d in result.dropped] == [(4, "repeated line")]


def test_title_and_alias_repeats_are_dropped_but_not_sentences(rules: Rules) -> None:
    result = clean(
        raw(
            "Writs of Mandamus Explained",
            "Introduction to Writs of Mandamus Explained",
            "Mandamus Explained Simply",
            "Writs of Mandamus Explained.",
            "Why Courts Hesitate",
        ),
        rules,
        title="Writs of Mandamus Explained",
        aliases=["Mandamus Explained Simply"],
    )
    assert kept_lines(result.text) == ["Writs of Mandamus Explained.", "Why Courts Hesitate"]
    assert [d.reason for d in result.dropped] == ["repeated title"] * 3


def test_dropped_pieces_are_in_line_order(rules: Rules) -> None:
    result = clean(raw("Archives", "Content line.", "Contact Us on WhatsAppBut why?"), rules)
    assert [d.line for d in result.dropped] == sorted(d.line for d in result.dropped)


def test_custom_rules_file(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text("exact = [\"Buy Now\"]\npatterns = ['Ad: .*']\ntail = ['The End']\n")
    rules = load_rules(path)
    result = clean(raw("buy now", "Ad: shoes", "Kept line.", "The End", "Gone line."), rules)
    assert result.text == "Kept line."


def test_markdown_plus_items_have_their_marker_skipped(rules: Rules) -> None:
    result = clean(raw("+ A plus item.", hint=Hint.ITEM), rules)
    line = result.lines[0]
    assert result.text[line.body_start : line.end] == "A plus item."


def _unglue_by_slicing(text: str, glued: Sequence[str]) -> tuple[str, list[str]]:
    """The former _unglue, which sliced the rest of the line at every cut (quadratic)."""
    cuts: list[str] = []
    changed = True
    while changed and text:
        changed = False
        for phrase in glued:
            n = len(phrase)
            if text[:n].casefold() == phrase.casefold() and (len(text) == n or text[n].isupper()):
                cuts.append(text[:n])
                text, changed = text[n:].lstrip(), True
            elif (
                len(text) > n
                and text[-n:].casefold() == phrase.casefold()
                and text[-n - 1] in ".!?”\"'"
            ):
                cuts.append(text[-n:])
                text, changed = text[:-n].rstrip(), True
    return text, cuts


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "Contact Us on WhatsApp",
                "Visit mandamus.com",
                "VISIT MANDAMUS.COM",
                " ",
                ".",
                "But why?",
                "it",
                "Sentence.",
                "\u00df",
                "Visit Our Contact Page",
            ]
        ),
        max_size=12,
    )
)
def test_ungluing_by_indices_cuts_what_slicing_cut(parts: list[str]) -> None:
    rules = load_rules()
    text = "".join(parts)
    assert clean_module._unglue(text, rules.glued) == _unglue_by_slicing(text, rules.glued)
