"""Clean raw lines into the reference text of a document, recording everything dropped.

The cleaned text is what every citation offset points into, so cleaning only removes
whole lines or glued-on calls to action and normalises characters; it never rewrites
the words of a kept sentence.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ingest.types import CleanText, Dropped, Hint, Line, RawLine

# Bidi embeddings/overrides/isolates and marks, zero-width characters, soft hyphen and BOM:
# invisible in a browser, but they break verbatim matching and can disguise text.
_INVISIBLE = re.compile(
    "[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)
# Flag emoji (regional indicator pairs) decorate state names in one seed ("Texas 🇺🇸,").
_FLAGS = re.compile("[ \t]*[\U0001f1e6-\U0001f1ff]+")
_SPACES = re.compile(r"[^\S\n]+")
_MARKER = re.compile(r"^(?:[•●▪◦·*+\-–—]|\d{1,3}[.)])\s+")
_WORD = re.compile(r"\w+")
_SMALL_WORDS = frozenset(
    "a an and as at but by for from in into is of on or the to vs with your you it its".split()
)
# A "Related articles" or contents list: at least this many consecutive title-case lines
# that end with a comma. Real lists in the seeds are sentence case, so they are kept.
_LIST_RUN = 3
# Token-set Jaccard above which a heading-like line is the title said again (SEO pages repeat
# it with small changes). Chosen on the seeds: real headings there score below 0.4.
_TITLE_JACCARD = 0.7


@dataclass(frozen=True, slots=True)
class Rules:
    """Compiled clutter rules (see ingest/clutter.toml)."""

    exact: frozenset[str]
    patterns: tuple[re.Pattern[str], ...]
    glued: tuple[str, ...]
    tail: tuple[re.Pattern[str], ...]


def load_rules(path: Path | None = None) -> Rules:
    """Given a rules file (default: the packaged clutter.toml), return compiled rules."""
    if path is None:
        data = tomllib.loads(resources.files("ingest").joinpath("clutter.toml").read_text("utf-8"))
    else:
        data = tomllib.loads(path.read_text("utf-8"))

    def compiled(key: str) -> tuple[re.Pattern[str], ...]:
        return tuple(re.compile(p, re.IGNORECASE) for p in data.get(key, []))

    return Rules(
        exact=frozenset(_fold(s) for s in data.get("exact", [])),
        patterns=compiled("patterns"),
        glued=tuple(sorted(data.get("glued", []), key=len, reverse=True)),
        tail=compiled("tail"),
    )


def normalise(line: str) -> str:
    """Given a raw line, return it in NFC with invisible characters removed and spaces folded."""
    # Invisible characters go first, so marks they separated can compose under NFC.
    line = _INVISIBLE.sub("", line)
    line = unicodedata.normalize("NFC", line)
    line = _FLAGS.sub("", line)
    return _SPACES.sub(" ", line).strip()


def clean(
    raw: Sequence[RawLine], rules: Rules, title: str = "", aliases: Iterable[str] = ()
) -> CleanText:
    """Given raw lines and clutter rules, return the cleaned text and what was dropped."""
    titles = [_tokens(t) for t in (title, *aliases) if t]
    kept: list[tuple[RawLine, str]] = []
    dropped: list[Dropped] = []
    in_footer = False
    for line in raw:
        text = normalise(line.text)
        if not text:
            continue
        if in_footer:
            dropped.append(Dropped(line.number, text, "page footer"))
            continue
        text, cut = _unglue(text, rules.glued)
        dropped.extend(Dropped(line.number, piece, "call to action") for piece in cut)
        if not text:
            continue
        reason = _clutter_reason(text, rules, titles)
        if reason == "page footer":
            in_footer = True
        if reason:
            dropped.append(Dropped(line.number, text, reason))
        else:
            kept.append((line, text))
    kept, listed = _drop_title_lists(kept)
    kept, repeated = _drop_repeats(kept)
    dropped.extend(listed + repeated)
    dropped.sort(key=lambda d: d.line)
    return _assemble(kept, tuple(dropped))


def _fold(text: str) -> str:
    return " ".join(text.casefold().split())


def _tokens(text: str) -> frozenset[str]:
    return frozenset(_WORD.findall(text.casefold()))


def _unglue(text: str, glued: Sequence[str]) -> tuple[str, list[str]]:
    """Cut calls to action glued onto either end of a line; return what is left and the cuts.

    The cuts move two indices instead of slicing the rest of the line each time, so a
    line made of thousands of glued phrases costs linear time (slicing: quadratic)."""
    cuts: list[str] = []
    start, end = 0, len(text)
    changed = True
    while changed and start < end:
        changed = False
        for phrase in glued:
            n = len(phrase)
            folded = phrase.casefold()
            if text[start : start + n].casefold() == folded and (
                end - start == n or (start + n < end and text[start + n].isupper())
            ):
                cuts.append(text[start : start + n])
                start, changed = start + n, True
                while start < end and text[start].isspace():
                    start += 1
            elif (
                end - start > n
                and text[end - n : end].casefold() == folded
                and text[end - n - 1] in ".!?”\"'"
            ):
                cuts.append(text[end - n : end])
                end, changed = end - n, True
                while end > start and text[end - 1].isspace():
                    end -= 1
    return text[start:end], cuts


def _clutter_reason(text: str, rules: Rules, titles: Sequence[frozenset[str]]) -> str:
    """Return why a normalised line is clutter, or "" when it is content."""
    if any(p.fullmatch(text) for p in rules.tail):
        return "page footer"
    if _fold(text) in rules.exact:
        return "promotional or navigation line"
    if any(p.fullmatch(text) for p in rules.patterns):
        return "promotional or navigation line"
    if not any(ch.isalpha() for ch in text):
        return "no words"
    if _is_title_repeat(text, titles):
        return "repeated title"
    return ""


def _is_title_repeat(text: str, titles: Sequence[frozenset[str]]) -> bool:
    if text.endswith("."):
        return False
    words = _tokens(text)
    for title in titles:
        if not words or not title:
            continue
        if len(words & title) / len(words | title) >= _TITLE_JACCARD:
            return True
        # "Introduction to <title>": the whole title plus a few words.
        if title <= words and len(words) - len(title) <= 3:
            return True
    return False


def _is_title_case(text: str) -> bool:
    words: list[str] = re.findall(r"[A-Za-z][A-Za-z’'-]*", _MARKER.sub("", text))
    significant = [w for w in words if w.lower() not in _SMALL_WORDS]
    if len(significant) < 2:
        return False
    return bool(sum(w[0].isupper() for w in significant) / len(significant) >= 0.75)


def _drop_title_lists(
    kept: list[tuple[RawLine, str]],
) -> tuple[list[tuple[RawLine, str]], list[Dropped]]:
    """Drop runs of title-case lines ending in commas: related-article or contents lists."""
    listy = [text.endswith(",") and _is_title_case(text) for _, text in kept]
    drop = [False] * len(kept)
    i = 0
    while i < len(kept):
        j = i
        while j < len(kept) and listy[j]:
            j += 1
        if j - i >= _LIST_RUN:
            drop[i:j] = [True] * (j - i)
        i = max(j, i + 1)
    dropped = [
        Dropped(line.number, text, "related-articles or contents list")
        for (line, text), gone in zip(kept, drop, strict=True)
        if gone
    ]
    return [k for k, gone in zip(kept, drop, strict=True) if not gone], dropped


def _drop_repeats(
    kept: list[tuple[RawLine, str]],
) -> tuple[list[tuple[RawLine, str]], list[Dropped]]:
    """Drop a line of three or more words that repeats an earlier kept line exactly."""
    seen: set[str] = set()
    out: list[tuple[RawLine, str]] = []
    dropped: list[Dropped] = []
    for line, text in kept:
        key = _fold(text)
        if key in seen and len(key.split()) >= 3:
            dropped.append(Dropped(line.number, text, "repeated line"))
            continue
        seen.add(key)
        out.append((line, text))
    return out, dropped


def _assemble(kept: list[tuple[RawLine, str]], dropped: tuple[Dropped, ...]) -> CleanText:
    """Join kept lines with blank lines between them, recording each line's offsets."""
    parts: list[str] = []
    lines: list[Line] = []
    pos = 0
    for raw, text in kept:
        if parts:
            parts.append("\n\n")
            pos += 2
        marker = _MARKER.match(text)
        hint = Hint.ITEM if marker and raw.hint != Hint.HEADING else raw.hint
        body = pos + (marker.end() if marker and hint == Hint.ITEM else 0)
        lines.append(Line(pos, pos + len(text), body, hint))
        parts.append(text)
        pos += len(text)
    return CleanText("".join(parts), tuple(lines), dropped)
