"""Find a cleaned document's structure: headings, list items and exact-offset sentences."""

from __future__ import annotations

import functools
import hashlib
import re
from collections import Counter
from collections.abc import Iterator

from ingest.types import CleanText, Hint, Line, LineKind, Sentence

# Lines without sentence punctuation and at most this many words read as headings in
# plain-text pages (the seeds' longest real heading has 12 words).
_HEADING_WORDS = 14
_NUMBERED = re.compile(r"^\d{1,3}[.)]\s")


def content_id(*parts: str) -> str:
    """Given the parts that make something what it is, return a stable 16-hex-digit id."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8"))
    return digest.hexdigest()[:16]


def classify(clean: CleanText) -> list[LineKind]:
    """Given cleaned text, return the kind of each of its lines."""
    kinds: list[LineKind] = []
    lines = clean.lines
    for i, line in enumerate(lines):
        text = clean.text[line.start : line.end]
        next_line = lines[i + 1] if i + 1 < len(lines) else None
        kinds.append(_kind(text, line, next_line))
    return kinds


def _kind(text: str, line: Line, next_line: Line | None) -> LineKind:
    if line.hint == Hint.HEADING:
        return LineKind.HEADING
    followed_by_text = next_line is not None and next_line.hint != Hint.ITEM
    if line.hint == Hint.ITEM:
        # "1. Civil Rights Lawsuits" standing over a paragraph is a numbered sub-heading.
        if _NUMBERED.match(text) and _heading_like(text, 8) and followed_by_text:
            return LineKind.HEADING
        return LineKind.ITEM
    if next_line is not None and _heading_like(text, _HEADING_WORDS):
        return LineKind.HEADING
    return LineKind.PARAGRAPH


def _heading_like(text: str, max_words: int) -> bool:
    words = text.split()
    if len(words) > max_words or text[-1] in ".!,;:…\"”'’":
        return False
    if text.endswith("?"):
        # A short question standing alone ("What Is the Task Force Model?").
        return len(words) <= 12
    return True


@functools.cache
def _segmenter() -> object:
    import pysbd

    return pysbd.Segmenter(language="en", clean=False)


# pysbd's work grows with the square of what it is given (one line of short sentences: 25 /
# 50 / 100 kB took 1.5 / 4.6 / 20.6 s), so a longer line is cut into windows of at most
# this many characters, each ending at a sentence end (else at a space), and each window is
# segmented alone. The longest line of the bundled corpus has 827 characters, so its
# segmentation is unchanged (tests/ingest/test_bundled_corpus.py); a window of 2,000 takes
# pysbd ~20 ms (bench/parsing.py).
WINDOW = 2_000
# A sentence end: terminal punctuation, closing quotes or brackets, then white space.
_SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]*\s+")


def windows(text: str, size: int = WINDOW) -> Iterator[tuple[int, int]]:
    """Given running text, yield `[start, end)` windows of at most `size` characters that
    cover it in order, each cut after the last sentence end (else space) of its second half."""
    start = 0
    while len(text) - start > size:
        limit = start + size
        ends = [m.end() for m in _SENTENCE_END.finditer(text, start + size // 2, limit)]
        space = text.rfind(" ", start + size // 2, limit)
        cut = ends[-1] if ends else space + 1 if space >= 0 else limit
        yield start, cut
        start = cut
    yield start, len(text)


def split_sentences(text: str) -> Iterator[tuple[int, int]]:
    """Given running text, yield `[start, end)` of each sentence, trimmed of spaces."""
    if len(text) <= WINDOW:
        yield from _split(text)
        return
    for first, last in windows(text):
        for start, end in _split(text[first:last]):
            yield first + start, first + end


def _split(text: str) -> Iterator[tuple[int, int]]:
    pieces: list[str] = _segmenter().segment(text)  # type: ignore[attr-defined]
    pos = 0
    for piece in pieces:
        piece = piece.strip()
        if not piece:
            continue
        # pysbd returns the pieces in order but not their offsets: find each from the last.
        start = text.find(piece, pos)
        if start < 0:  # pysbd altered the piece; fall back to the rest of the text
            start = pos
            piece = text[pos:].strip()
        end = start + len(piece)
        yield start, end
        pos = end
    if pos < len(text.rstrip()):
        rest = text[pos:]
        lead = len(rest) - len(rest.lstrip())
        yield pos + lead, len(text.rstrip())


def segment(clean: CleanText, document_id: str, title: str) -> list[Sentence]:
    """Given cleaned text, return its sentences with exact offsets, each in its section."""
    sentences: list[Sentence] = []
    seen: Counter[str] = Counter()
    section = title
    for line, kind in zip(clean.lines, classify(clean), strict=True):
        body = clean.text[line.body_start : line.end]
        if kind == LineKind.HEADING:
            section = body
            continue
        for start, end in split_sentences(body):
            start, end = line.body_start + start, line.body_start + end
            # List items in the seeds end in a comma ("Reduced crime reporting,"): not quoted.
            while end > start and clean.text[end - 1] in ",; ":
                end -= 1
            text = clean.text[start:end]
            if not any(ch.isalnum() for ch in text):
                continue
            seen[text] += 1
            sid = content_id(document_id, text, str(seen[text]))
            sentences.append(Sentence(sid, document_id, section, kind, start, end, text))
    return sentences
