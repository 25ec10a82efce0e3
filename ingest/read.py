"""Read source files (txt, md, html, pdf) into raw lines: the I/O edge of ingestion."""

from __future__ import annotations

import io
import re
from pathlib import Path

from ingest.errors import BadDocument
from ingest.types import Hint, RawLine

SUFFIXES = frozenset({".txt", ".text", ".md", ".markdown", ".html", ".htm", ".pdf"})
# A seed article is ~12 kB; 5 MB of text is far beyond any article and keeps memory bounded.
MAX_BYTES = 5 * 1024 * 1024

_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_MD_ITEM = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)])\s+\S")
# Elements that start a new line of text; everything else is inline.
_BLOCK_TAGS = frozenset(
    "h1 h2 h3 h4 h5 h6 p li blockquote dt dd figcaption pre td th div section article main "
    "body ul ol dl table tr caption figure address".split()
)
_HTML_DROP = "script,style,noscript,template,nav,footer,header,aside,form,iframe,svg,button"


def read(path: Path, max_bytes: int = MAX_BYTES) -> list[RawLine]:
    """Given a path, return its raw lines; raise BadDocument for what is not a document."""
    try:
        size = path.stat().st_size
    except OSError as err:
        raise BadDocument(f"{path.name}: cannot be read ({err.strerror})") from err
    if size > max_bytes:
        raise BadDocument(f"{path.name}: {size:,} bytes is over the {max_bytes:,}-byte limit")
    return parse(path.name, path.read_bytes(), max_bytes)


def parse(name: str, data: bytes, max_bytes: int = MAX_BYTES) -> list[RawLine]:
    """Given a file name and its bytes, return its raw lines, read by the name's suffix."""
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        kinds = ", ".join(sorted(SUFFIXES))
        raise BadDocument(f"{name}: unsupported file type {suffix or '(none)'!r}; use {kinds}")
    if len(data) > max_bytes:
        raise BadDocument(f"{name}: {len(data):,} bytes is over the {max_bytes:,}-byte limit")
    if not data.strip():
        raise BadDocument(f"{name}: the file is empty")
    if suffix == ".pdf":
        lines = _pdf_lines(name, data)
    else:
        text = _decode(name, data)
        if suffix in {".html", ".htm"}:
            lines = _html_lines(name, text)
        elif suffix in {".md", ".markdown"}:
            lines = _markdown_lines(text)
        else:
            lines = [RawLine(n, line) for n, line in enumerate(text.splitlines(), 1)]
    if not any(line.text.strip() for line in lines):
        raise BadDocument(f"{name}: no text found")
    return lines


def _decode(name: str, data: bytes) -> str:
    if b"\x00" in data:
        raise BadDocument(f"{name}: looks binary (contains NUL bytes), not a text document")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise BadDocument(f"{name}: not valid UTF-8 (byte {err.start}); save it as UTF-8") from err


def _markdown_lines(text: str) -> list[RawLine]:
    lines = []
    for number, line in enumerate(text.splitlines(), 1):
        heading = _MD_HEADING.match(line)
        if heading:
            lines.append(RawLine(number, heading.group(1), Hint.HEADING))
        elif _MD_ITEM.match(line):
            lines.append(RawLine(number, line, Hint.ITEM))
        else:
            lines.append(RawLine(number, line))
    return lines


# Real pages nest a few dozen elements deep. The HTML parser's cost grows with the square
# of the depth (40,000 nested <div>s: seconds), so deeper pages are refused before parsing.
MAX_HTML_DEPTH = 1_000
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)[^>]*?(/?)>")
# Void elements never open, and these are closed implicitly by their next sibling.
_NOT_NESTING = frozenset(
    "area base br col embed hr img input link meta source track wbr "
    "p li td th tr dt dd option thead tbody tfoot colgroup".split()
)


def html_depth(text: str) -> int:
    """Given HTML, return the deepest nesting of its elements (one linear scan)."""
    depth = deepest = 0
    for closing, tag, self_closing in _TAG.findall(text):
        if tag.lower() in _NOT_NESTING or self_closing:
            continue
        depth = max(0, depth - 1) if closing else depth + 1
        deepest = max(deepest, depth)
    return deepest


def _html_lines(name: str, text: str) -> list[RawLine]:
    """Read the text of an HTML page as lines, one per block element that holds text.

    One pass over the tree in document order: each text node joins the line of its
    nearest block ancestor, so text directly in <body> or a <div> is kept, inline tags
    (<b>, <a>) don't split a paragraph, and deep nesting costs linear time. selectolax
    (lexbor, C) parses without recursion, so deep nesting cannot exhaust Python's stack.
    """
    from selectolax.lexbor import LexborHTMLParser

    if html_depth(text) > MAX_HTML_DEPTH:
        raise BadDocument(f"{name}: HTML nested deeper than {MAX_HTML_DEPTH:,} elements")
    tree = LexborHTMLParser(text)
    for node in tree.css(_HTML_DROP):
        node.decompose()
    if tree.body is None:
        return []
    lines: list[RawLine] = []
    block_id: int | None = None
    block_tag = ""
    parts: list[str] = []

    def flush() -> None:
        content = " ".join("".join(parts).split())
        if content:
            hint = Hint.NONE
            if block_tag[:1] == "h" and block_tag[1:].isdigit():
                hint = Hint.HEADING
            elif block_tag == "li":
                hint, content = Hint.ITEM, f"• {content}"
            lines.append(RawLine(len(lines) + 1, content, hint))
        parts.clear()

    for node in tree.body.traverse(include_text=True):
        if node.tag != "-text":
            continue
        block = node.parent
        while block is not None and block.tag not in _BLOCK_TAGS:
            block = block.parent
        key = None if block is None else block.mem_id
        if key != block_id:
            flush()
            block_id, block_tag = key, "" if block is None else str(block.tag)
        parts.append(node.text(deep=False) or "")
    flush()
    return lines


def _pdf_lines(name: str, data: bytes) -> list[RawLine]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, TypeError) as err:
        raise BadDocument(f"{name}: not a readable PDF ({err})") from err
    text = "\n".join(pages)
    return [RawLine(n, line) for n, line in enumerate(text.splitlines(), 1)]
