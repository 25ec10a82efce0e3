"""Read source files (txt, md, html, pdf) into raw lines: the I/O edge of ingestion."""

from __future__ import annotations

import io
import re
from pathlib import Path

from ingest.errors import BadDocument
from ingest.html import MAX_HTML_DEPTH, html_depth, html_lines
from ingest.types import Hint, RawLine

SUFFIXES = frozenset({".txt", ".text", ".md", ".markdown", ".html", ".htm", ".pdf"})
# A seed article is ~12 kB; 5 MB of text is far beyond any article and keeps memory bounded.
MAX_BYTES = 5 * 1024 * 1024

_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_MD_ITEM = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)])\s+\S")
__all__ = ["MAX_HTML_DEPTH", "SUFFIXES", "html_depth", "parse", "read"]


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
            lines = html_lines(name, text)
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
