"""Read the text of an HTML page as lines: one linear pass that nests its own blocks.

A tree parser (lexbor, before) walks its stack of open elements for many tags, so its
work grows with the square of the depth, and a depth count made beside it is bypassed by
any shape the two read differently (`<div/>`, stray end tags, tags in comments: 360 kB of
`<div/>` took 30.6 s). Here the depth that is limited is the depth of this reader's own
stack, so nothing can nest deeper than it counts. Only what decides the lines is modelled:
block elements (each starts a line), the elements whose content is dropped, comments and
raw-text elements; inline tags (<b>, <a>, <span>) are skipped, as they never split a line.
Implied end tags follow the HTML standard for what matters here (a block closes an open
<p>, <li> closes the previous <li>, cells and rows close their siblings); see
https://html.spec.whatwg.org/multipage/parsing.html#parsing-main-inbody.

Every step is a regex match or a dictionary lookup on one token, and every element is
pushed and popped at most once, so the work is linear in the input (counted by `Work`,
tests/ingest/test_html.py; timed in bench/parsing.py).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from ingest.errors import BadDocument
from ingest.types import Hint, RawLine

# Real pages nest a few dozen blocks deep; deeper is refused (a clear error, not a limit
# on work: the work is linear whatever the depth).
MAX_HTML_DEPTH = 1_000

# Elements that start a new line of text; everything else is inline.
BLOCKS = frozenset(
    "h1 h2 h3 h4 h5 h6 p li blockquote dt dd figcaption pre td th div section article main "
    "ul ol dl table tr caption figure address center details dialog dir fieldset hgroup "
    "menu search summary".split()
)
# Elements whose whole content is dropped (scripts, page chrome, forms, pictures).
DROPPED = frozenset(
    "script style noscript template nav footer header aside form iframe svg button title".split()
)
# Their content is text to the tokenizer, up to the matching end tag (HTML "raw text" and
# "RCDATA"); `kept` ones are read as text, the rest are dropped.
_RAW_DROPPED = frozenset("script style iframe title noscript".split())
_RAW_KEPT = frozenset("textarea xmp noembed noframes plaintext".split())
_RAW = _RAW_DROPPED | _RAW_KEPT
_HEADINGS = frozenset("h1 h2 h3 h4 h5 h6".split())
# A start tag of one of these closes an open <p> (the standard's list, restricted to blocks).
_CLOSES_P = BLOCKS - {"td", "th", "tr", "caption"}
# Blocks an open list item may hold and still be closed by the next item.
_TRANSPARENT = frozenset({"div", "p", "address"})
# Scope boundaries: an end tag does not reach past these to close an outer element.
_SCOPE = frozenset({"table", "td", "th", "caption"})

_WS = "\t\n\f\r "
# A tag from `<` to the `>` that ends it: a `>` inside a quoted attribute value does not
# (`<div title=">">`). Possessive quantifiers: no backtracking, whatever the input.
_TAG = re.compile(
    rf"<(/?)([a-zA-Z][^{_WS}/>]*+)((?:[^>=]|=[{_WS}]*+(?:\"[^\"]*+\"|'[^']*+')?+)*+)>"
)
_COMMENT_END = re.compile(r"--!?>")


@dataclass
class Work:
    """What one read did: tokens looked at and stack pushes and pops (each at most one per
    element), so that tests can check the work grows linearly with the input."""

    tokens: int = 0
    pushes: int = 0
    pops: int = 0
    deepest: int = 0


class _Reader:
    """The state of one pass: the stack of open blocks and the line being gathered."""

    def __init__(self, name: str, text: str, limit: int) -> None:
        self.name = name
        self.text = text
        self.limit = limit
        self.stack: list[tuple[str, int]] = []  # (tag, serial) of each open block
        # Per stack position: the innermost position at or below it that is not _TRANSPARENT.
        self.solid: list[int] = []
        self.where: dict[str, list[int]] = {}  # tag -> stack positions, innermost last
        self.serial = 0
        self.lines: list[RawLine] = []
        self.parts: list[str] = []
        self.block: tuple[str, int] | None = None  # the block of the line being gathered
        self.work = Work()

    # --- the stack ----------------------------------------------------------------------

    def top(self, tag: str) -> int:
        """The position of the innermost open `tag`, or -1."""
        found = self.where.get(tag)
        return found[-1] if found else -1

    def in_scope(self, position: int) -> bool:
        """Whether the block at `position` is open and no table or cell stands inside it."""
        return position >= 0 and all(self.top(b) <= position for b in _SCOPE)

    def push(self, tag: str) -> None:
        self.serial += 1
        self.where.setdefault(tag, []).append(len(self.stack))
        self.stack.append((tag, self.serial))
        below = self.solid[-1] if self.solid else -1
        self.solid.append(below if tag in _TRANSPARENT else len(self.stack) - 1)
        self.work.pushes += 1
        self.work.deepest = max(self.work.deepest, len(self.stack))
        if len(self.stack) > self.limit:
            raise BadDocument(f"{self.name}: HTML nested deeper than {self.limit:,} elements")

    def pop_to(self, position: int) -> None:
        """Close the block at `position` and every block inside it."""
        while len(self.stack) > position:
            tag, _ = self.stack.pop()
            self.solid.pop()
            self.where[tag].pop()
            self.work.pops += 1

    def close_p(self) -> None:
        p = self.top("p")
        if self.in_scope(p):
            self.pop_to(p)

    # --- tokens -------------------------------------------------------------------------

    def start(self, tag: str) -> None:
        if tag in _HEADINGS:
            self.close_p()
            if self.stack and self.stack[-1][0] in _HEADINGS:
                self.pop_to(len(self.stack) - 1)  # headings do not nest
        elif tag in ("li", "dd", "dt"):
            siblings = ("li",) if tag == "li" else ("dd", "dt")
            self.close_p()
            # The previous item closes unless a list (or a block but div) opened inside it.
            item = self.solid[-1] if self.solid else -1
            if item >= 0 and self.stack[item][0] in siblings:
                self.pop_to(item)
        elif tag in ("td", "th", "tr", "caption"):
            table = self.top("table")
            if table < 0:
                return  # a cell outside a table is ignored, as browsers do
            closes = ("td", "th", "tr", "caption") if tag == "tr" else ("td", "th", "caption")
            inner = max(self.top(t) for t in closes)
            if inner > table:
                self.pop_to(inner)
        elif tag == "table":
            self.close_p()
            table = self.top("table")
            if table >= 0 and all(self.top(c) < table for c in ("td", "th", "caption")):
                self.pop_to(table)  # a table directly in a table closes the first
        elif tag in _CLOSES_P:
            self.close_p()
        self.push(tag)

    def end(self, tag: str) -> None:
        headings = _HEADINGS if tag in _HEADINGS else (tag,)
        position = max(self.top(t) for t in headings)
        if tag in _SCOPE:
            # `</table>` closes its cells; `</td>` only within its own table.
            inside = -1 if tag == "table" else self.top("table")
            if position > inside:
                self.pop_to(position)
        elif self.in_scope(position):
            self.pop_to(position)

    def add_text(self, text: str) -> None:
        block = self.stack[-1] if self.stack else None
        if block != self.block:
            self.flush()
            self.block = block
        self.parts.append(text)

    def flush(self) -> None:
        content = " ".join("".join(self.parts).split())
        self.parts.clear()
        if not content:
            return
        tag = "" if self.block is None else self.block[0]
        hint = Hint.NONE
        if tag in _HEADINGS:
            hint = Hint.HEADING
        elif tag == "li":
            hint, content = Hint.ITEM, f"• {content}"
        self.lines.append(RawLine(len(self.lines) + 1, content, hint))

    # --- the pass -----------------------------------------------------------------------

    def read(self) -> list[RawLine]:
        text, pos, size = self.text, 0, len(self.text)
        dropping: str | None = None  # the dropped element being skipped
        dropped_depth = 0
        while pos < size:
            self.work.tokens += 1
            lt = text.find("<", pos)
            if lt < 0:
                lt = size
            if lt > pos and dropping is None:
                self.add_text(html.unescape(text[pos:lt]))
            if lt >= size:
                break
            pos = self._markup(lt)
            if pos > lt:
                continue
            tag = _TAG.match(text, lt)
            if tag is None:
                if text[lt + 1 : lt + 2].isalpha() or text.startswith("</", lt):
                    break  # a tag cut off by the end of the page: the rest is inside it
                if dropping is None:
                    self.add_text("<")
                pos = lt + 1
                continue
            pos = tag.end()
            closing, name = tag.group(1) == "/", tag.group(2).lower()
            if not closing and name in _RAW:
                pos = self._raw(name, pos, keep=dropping is None and name not in _RAW_DROPPED)
                continue
            if dropping is not None:
                if name == dropping:
                    dropped_depth += -1 if closing else 1
                    if dropped_depth == 0:
                        dropping = None
                continue
            if closing:
                if name in BLOCKS:
                    self.end(name)
                continue
            if name in DROPPED:
                # A self-closed <svg/> is empty (foreign elements honour the slash).
                if not (name == "svg" and tag.group(3).endswith("/")):
                    dropping, dropped_depth = name, 1
            elif name in BLOCKS:
                self.start(name)
            elif name == "hr":
                self.close_p()
        self.flush()
        return self.lines

    def _markup(self, lt: int) -> int:
        """Skip a comment, doctype or processing instruction at `lt`; return where the text
        goes on (`lt` itself when there is none there)."""
        text = self.text
        if text.startswith("<!--", lt):
            if text.startswith(("<!-->", "<!--->"), lt):
                return text.index(">", lt + 2) + 1
            found = _COMMENT_END.search(text, lt + 4)
            return len(text) if found is None else found.end()
        if text.startswith(("<!", "<?"), lt) or (
            text.startswith("</", lt) and not text[lt + 2 : lt + 3].isalpha()
        ):
            # A doctype, CDATA, `<?...>` or `</ ...>`: a bogus comment, up to the next `>`.
            end = text.find(">", lt + 2)
            return len(text) if end < 0 else end + 1
        return lt

    def _raw(self, name: str, pos: int, keep: bool) -> int:
        """Read (`keep`) or skip the content of a raw-text element up to its end tag; return
        where the markup goes on."""
        if name == "plaintext":
            end = after = len(self.text)
        else:
            found = re.compile(rf"</{name}[{_WS}/>]", re.IGNORECASE).search(self.text, pos)
            end = len(self.text) if found is None else found.start()
            after = end if found is None else self.text.find(">", end)
            after = len(self.text) if after < 0 else after + 1
        if keep:
            content = self.text[pos:end]
            self.add_text(content if name in ("xmp", "plaintext") else html.unescape(content))
        return after


def html_lines(name: str, text: str, limit: int = MAX_HTML_DEPTH) -> list[RawLine]:
    """Given a page's name and HTML, return its lines, one per block element that holds
    text; raise BadDocument when its blocks nest deeper than `limit`."""
    return _Reader(name, text, limit).read()


def read_with_work(text: str, limit: int = MAX_HTML_DEPTH) -> tuple[list[RawLine], Work]:
    """Given HTML, return its lines and the work reading them took."""
    reader = _Reader("page.html", text, limit)
    return reader.read(), reader.work


def html_depth(text: str) -> int:
    """Given HTML, return the deepest nesting of its blocks as this reader nests them."""
    return read_with_work(text, limit=len(text) + 1)[1].deepest
