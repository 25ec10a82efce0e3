"""ingest/read.py: files in, raw lines out; what is not a document is refused clearly."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from ingest import read
from ingest.errors import BadDocument
from ingest.read import MAX_HTML_DEPTH, html_depth, parse
from ingest.types import Hint, RawLine


def texts(lines: list[RawLine]) -> list[str]:
    return [line.text for line in lines if line.text.strip()]


def tiny_pdf(*lines: str) -> bytes:
    """Return a one-page PDF (Helvetica) showing the given lines of ASCII text."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    page = writer.add_blank_page(612, 792)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})}
    )
    shown = " 0 -20 Td ".join(f"({line}) Tj" for line in lines)
    content = DecodedStreamObject()
    content.set_data(f"BT /F1 12 Tf 72 720 Td {shown} ET".encode("latin-1"))
    page[NameObject("/Contents")] = writer._add_object(content)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# --- plain text -----------------------------------------------------------------------


def test_text_lines_are_numbered_from_one() -> None:
    lines = parse("a.txt", b"First line.\n\nThird line.\r\nFourth.")
    assert [(line.number, line.text) for line in lines] == [
        (1, "First line."),
        (2, ""),
        (3, "Third line."),
        (4, "Fourth."),
    ]
    assert all(line.hint == Hint.NONE for line in lines)


def test_utf8_byte_order_mark_is_not_text() -> None:
    lines = parse("a.txt", "\ufeffMandamus compels.".encode())
    assert lines[0].text == "Mandamus compels."


def test_read_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "doc.txt"
    path.write_text("A writ of mandamus compels action.\n", encoding="utf-8")
    assert texts(read.read(path)) == ["A writ of mandamus compels action."]


def test_suffix_is_case_insensitive() -> None:
    assert texts(parse("NOTE.TXT", b"Some text here.")) == ["Some text here."]


# --- bad files ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("binary.txt", b"PK\x03\x04\x00\x00binary\x00data", "looks binary (contains NUL bytes)"),
        ("empty.txt", b"", "the file is empty"),
        ("blank.txt", b" \n\t\r\n   \n", "the file is empty"),
        ("blank.md", "\u00a0\n\u2003\n".encode(), "no text found"),
        ("latin1.txt", "Petición de mandamus, señor.".encode("latin-1"), "not valid UTF-8"),
        ("report.docx", b"Some words.", "unsupported file type '.docx'"),
        ("README", b"Some words.", "unsupported file type '(none)'"),
        ("broken.pdf", b"%PDF-1.4 this is not really a pdf", "not a readable PDF"),
    ],
)
def test_bad_files_are_refused_with_a_clear_message(name: str, data: bytes, message: str) -> None:
    with pytest.raises(BadDocument) as err:
        parse(name, data)
    assert name in str(err.value)
    assert message in str(err.value)


def test_non_utf8_message_says_where_and_what_to_do() -> None:
    with pytest.raises(BadDocument, match=r"byte 12\); save it as UTF-8"):
        parse("latin1.txt", "Mandamus: señor".encode("latin-1"))


def test_huge_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    with path.open("wb") as handle:  # sparse: no disk space is used
        handle.truncate(read.MAX_BYTES + 1)
    with pytest.raises(BadDocument, match="over the 5,242,880-byte limit"):
        read.read(path)


def test_size_limit_applies_to_bytes_as_well() -> None:
    with pytest.raises(BadDocument, match="11 bytes is over the 10-byte limit"):
        parse("a.txt", b"hello world", max_bytes=10)


def test_missing_file_is_a_bad_document(tmp_path: Path) -> None:
    with pytest.raises(BadDocument, match=r"gone\.txt: cannot be read"):
        read.read(tmp_path / "gone.txt")


# --- Markdown -------------------------------------------------------------------------


def test_markdown_headings_and_items() -> None:
    source = (
        "# Writs of Mandamus ##\n"
        "\n"
        "Some running text.\n"
        "### When it helps\n"
        "- A dash item.\n"
        "* A star item.\n"
        "  + An indented plus item.\n"
        "1. A numbered item.\n"
        "2) Another numbered item.\n"
        "#hashtag is not a heading\n"
    )
    lines = [line for line in parse("a.md", source.encode()) if line.text]
    assert [(line.text, line.hint) for line in lines] == [
        ("Writs of Mandamus", Hint.HEADING),
        ("Some running text.", Hint.NONE),
        ("When it helps", Hint.HEADING),
        ("- A dash item.", Hint.ITEM),
        ("* A star item.", Hint.ITEM),
        ("  + An indented plus item.", Hint.ITEM),
        ("1. A numbered item.", Hint.ITEM),
        ("2) Another numbered item.", Hint.ITEM),
        ("#hashtag is not a heading", Hint.NONE),
    ]


# --- HTML -----------------------------------------------------------------------------

PAGE = """<!doctype html>
<html><head><title>Page title</title>
<style>.x { content: "STYLE TEXT"; }</style>
<script>var s = "SCRIPT TEXT";</script></head>
<body>
<nav>NAV TEXT</nav>
<h2>How mandamus works</h2>
<p>A writ of mandamus compels an official to act.</p>
<ul><li>It needs a clear duty.</li><li>It needs no other remedy.</li></ul>
<noscript>NOSCRIPT TEXT</noscript>
<footer>FOOTER TEXT</footer>
</body></html>"""


def test_html_text_is_read_and_scripts_styles_and_chrome_are_dropped() -> None:
    got = texts(parse("page.html", PAGE.encode()))
    joined = "\n".join(got)
    assert "A writ of mandamus compels an official to act." in got
    assert "How mandamus works" in joined
    assert "It needs a clear duty." in joined
    for gone in ("STYLE TEXT", "SCRIPT TEXT", "NAV TEXT", "NOSCRIPT TEXT", "FOOTER TEXT"):
        assert gone not in joined


def test_html_entities_are_decoded() -> None:
    got = texts(parse("a.htm", b"<p>Fees &amp; costs &mdash; &#8220;quoted&#8221;.</p>"))
    assert got == ["Fees & costs \u2014 \u201cquoted\u201d."]


def test_html_headings_and_list_items_are_hinted() -> None:
    lines = [line for line in parse("page.html", PAGE.encode()) if line.text]
    hints = {line.text: line.hint for line in lines}
    assert hints["How mandamus works"] == Hint.HEADING
    assert hints["• It needs a clear duty."] == Hint.ITEM


def test_html_inline_markup_does_not_split_a_paragraph() -> None:
    html = b"<p>The writ <b>compels</b> an <a href='#'>agency</a> to act.</p>"
    assert texts(parse("a.html", html)) == ["The writ compels an agency to act."]


def test_deeply_nested_html_is_read_up_to_the_depth_limit() -> None:
    depth = MAX_HTML_DEPTH - 1
    html = "<div>" * depth + "<p>Deep paragraph text here.</p>" + "</div>" * depth
    assert "Deep paragraph text here." in texts(parse("deep.html", html.encode()))
    bare = "<div>" * depth + "Deep bare text." + "</div>" * depth
    assert "Deep bare text." in texts(parse("deep2.html", bare.encode()))


def test_html_nested_beyond_the_limit_is_refused_clearly() -> None:
    depth = 10_000
    html = "<div>" * depth + "Deep bare text." + "</div>" * depth
    with pytest.raises(BadDocument, match="nested deeper than 1,000"):
        parse("deep.html", html.encode())


def test_implicitly_closed_and_void_tags_do_not_count_as_nesting() -> None:
    html = "<ul>" + "<li>item<br><img src=x>" * 5_000 + "</ul>" + "<p>para" * 5_000
    assert html_depth(html) == 2  # the list and one item at a time


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        (b"<body>Loose body text.<p>A paragraph.</p></body>", "Loose body text."),
        (b"<div>Text in a div.</div><p>A paragraph.</p>", "Text in a div."),
        (b"<ul><li>Item text.<ul><li>Sub item.</li></ul></li></ul>", "Item text."),
    ],
    ids=["body", "div", "li-with-sublist"],
)
def test_html_text_outside_leaf_blocks_is_kept(html: bytes, expected: str) -> None:
    assert expected in " ".join(texts(parse("a.html", html)))


def test_deeply_nested_blocks_are_read() -> None:
    depth = MAX_HTML_DEPTH
    html = "<blockquote>" * depth + "Deep quote." + "</blockquote>" * depth
    assert "Deep quote." in texts(parse("deep.html", html.encode()))


def test_html_without_text_is_refused() -> None:
    with pytest.raises(BadDocument, match="no text found"):
        parse("empty.html", b"<html><body><script>x()</script><div> </div></body></html>")


# --- PDF ------------------------------------------------------------------------------


def test_tiny_pdf_is_read() -> None:
    data = tiny_pdf("Mandamus compels an official to act.", "A second line of text.")
    assert texts(parse("tiny.pdf", data)) == [
        "Mandamus compels an official to act.",
        "A second line of text.",
    ]


def test_pdf_without_text_is_refused() -> None:
    with pytest.raises(BadDocument, match="no text found"):
        parse("blank.pdf", tiny_pdf())
