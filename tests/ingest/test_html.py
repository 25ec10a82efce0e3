"""The HTML reader nests its own blocks, so the depth it limits is the depth it builds,
and its work (tokens, pushes, pops) grows linearly with the input, whatever its shape.

The shapes that slipped past the old depth scan beside lexbor (self-closed `<div/>`,
stray end tags, end tags inside comments or attribute values) are refused or read here,
and hypothesis strings hostile fragments together and counts the work. Wall-clock
scaling is measured in bench/parsing.py, not here.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.errors import BadDocument
from ingest.html import MAX_HTML_DEPTH, html_depth, read_with_work
from ingest.read import parse
from ingest.types import Hint

DEEP = MAX_HTML_DEPTH + 1


@pytest.mark.parametrize(
    "html",
    [
        "<div/>" * DEEP + "Text.",
        "<div>" * DEEP + "</span>" * DEEP + "Text.",
        "<div><!-- </div> -->" * DEEP + "Text.",
        '<div title="</div>">' * DEEP + "Text.",
        "<div><p></p>" * DEEP + "Text.",
        "<section><b></b><i>" * DEEP + "Text.",
    ],
    ids=[
        "self-closed",
        "stray-end-tags",
        "end-tags-in-comments",
        "end-tags-in-attributes",
        "closed-paragraphs",
        "inline-between",
    ],
)
def test_shapes_that_nest_are_counted_as_they_nest(html: str) -> None:
    assert html_depth(html) >= DEEP
    with pytest.raises(BadDocument, match="nested deeper than 1,000"):
        parse("deep.html", html.encode())


def test_a_deep_page_is_refused_as_soon_as_it_passes_the_limit() -> None:
    _lines, work = read_with_work("<div>" * (MAX_HTML_DEPTH - 1) + "Text.")
    assert work.deepest == MAX_HTML_DEPTH - 1
    with pytest.raises(BadDocument):
        read_with_work("<div/>" * 500_000)  # stops at element 1,001, not at the end


@pytest.mark.parametrize(
    ("html", "lines"),
    [
        ("<p>One.<p>Two.", ["One.", "Two."]),
        ("<p>Before.<div>Inside.</div>After.", ["Before.", "Inside.", "After."]),
        ("<ul><li>A.<li>B.</ul>", ["• A.", "• B."]),
        ("<ul><li><div>A.<li>B.</ul>", ["A.", "• B."]),
        ("<table><tr><td>A.<td>B.<tr><td>C.</table>", ["A.", "B.", "C."]),
        ("<td>Not in a table.</td>", ["Not in a table."]),
        ("<div>A <!-- <div> --> B.</div>", ["A B."]),
        ("<div>x &lt; y &amp;&amp; <b>z</b>.</div>", ["x < y && z."]),
        ("<p>Keep<svg/> this.</p>", ["Keep this."]),
        ("<p>Drop<svg><text>svg</text></svg> that.</p>", ["Drop that."]),
        ("<nav><script>'</nav>'</script>Menu</nav><p>Body.</p>", ["Body."]),
        ("<div title='a > b'>Quoted.</div>", ["Quoted."]),
        ("<h2>Head<h3>Sub</h3>", ["Head", "Sub"]),
        ("<p>Cut off <div", ["Cut off"]),
        ("<p>a < b and c<d.</p>", ["a < b and c"]),
    ],
)
def test_blocks_and_implied_end_tags_follow_the_standard(html: str, lines: list[str]) -> None:
    assert [line.text for line in parse("a.html", html.encode())] == lines


def test_headings_and_items_keep_their_hints() -> None:
    got = parse("a.html", b"<h2>Title</h2><ol><li>First</li></ol>")
    assert [(line.text, line.hint) for line in got] == [
        ("Title", Hint.HEADING),
        ("• First", Hint.ITEM),
    ]


# Fragments that stress a tag-soup reader: every way to open, close, hide or misnest.
FRAGMENTS = [
    "<div>",
    "</div>",
    "<div/>",
    "<p>",
    "</p>",
    "<li>",
    "</li>",
    "<ul>",
    "<td>",
    "<tr>",
    "<table>",
    "</table>",
    "<h2>",
    "</h3>",
    "<b>",
    "</b>",
    "<span>",
    "</x>",
    "<!-- </div> -->",
    "<!--",
    "-->",
    "<script>",
    "</script>",
    "<nav>",
    "</nav>",
    "<svg/>",
    "<svg>",
    '<a t="',
    '">',
    "<",
    ">",
    "&amp;",
    "text. ",
    "<br>",
    "<?x>",
    "<!doctype html>",
    "<textarea>",
]


@settings(max_examples=60, deadline=None)
@given(
    pattern=st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=8),
    repeats=st.integers(min_value=1, max_value=400),
)
def test_work_grows_linearly_with_the_input_whatever_its_shape(
    pattern: list[str], repeats: int
) -> None:
    html = "".join(pattern) * repeats
    _lines, work = read_with_work(html, limit=len(html) + 1)
    # The reader moves forward from one `<` to the next (a tag, comment or raw-text
    # element is matched once, from where it starts): one token per `<`, and every element
    # is pushed once and popped at most once. So the work is at most 3 steps per `<`.
    tags = html.count("<")
    assert work.tokens <= tags + 1
    assert work.pops <= work.pushes <= tags
    assert work.tokens + work.pushes + work.pops <= 3 * tags + 1
