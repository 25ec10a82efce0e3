"""Server-rendered pages: the question page, source cards, document views, escaping."""

from __future__ import annotations

import html
import re
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient

from service.pages import document_link, paragraph
from service.types import Answer, AnswerSentence, Citation
from tests.service.conftest import AUTH

PAYLOAD = '<script>alert(1)</script> and <img src=x onerror="window.__pwned=1">'


def fake_answer(**changes: object) -> Answer:
    citation = Citation(
        1,
        "task-force-model-mandamus",
        "Title <b>bold</b>",
        None,
        None,
        "law-firm blog",
        None,
        "Section",
        "Quoted.",
        0,
        7,
        0.9,
    )
    answer = Answer(
        "q?",
        "Quoted. [1]",
        False,
        None,
        (AnswerSentence("Quoted.", (1,)),),
        (citation,),
        False,
        "A notice.",
        "en",
        False,
        "gen",
        1.0,
        0.9,
    )
    return replace(answer, **changes)  # type: ignore[arg-type]


def test_the_question_page_works_without_javascript(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    text = page.text
    assert '<form class="ask" method="get" action="/"' in text and 'name="q"' in text
    assert '<meta name="viewport"' in text and '<html lang="en">' in text
    assert "<script>" not in text and 'src="/static/app.js"' in text


def test_an_answer_has_markers_cards_and_links(client: TestClient) -> None:
    page = client.get("/", params={"q": "What is a 287(g) agreement?"}).text
    api = client.post("/v1/ask", json={"question": "What is a 287(g) agreement?"}).json()
    assert not api["abstained"]
    for c in api["citations"]:
        assert f'href="#cite-{c["n"]}"' in page and f'id="cite-{c["n"]}"' in page
        link = html.escape(document_link(c["document_id"], c["start"], c["end"]))
        assert f'href="{link}"' in page
        assert f"<mark>{html.escape(c['text'], quote=False)}</mark>" in page.replace("&#39;", "'")
    assert html.escape(api["notice"], quote=False) in page.replace("&#39;", "'")


def test_an_abstention_says_the_sources_do_not_cover_it(client: TestClient) -> None:
    page = client.get("/", params={"q": "How do I bake sourdough bread?"}).text
    assert "Not covered by our sources" in page
    assert 'class="cards"' not in page


def test_disagreement_is_shown_as_a_banner(client: TestClient) -> None:
    client.app.state.runtime.ask = lambda *a: fake_answer(sources_disagree=True)  # type: ignore[attr-defined]
    page = client.get("/", params={"q": "anything"}).text
    assert "Our sources disagree on this" in page


def test_the_page_language_follows_the_answer(client: TestClient) -> None:
    client.app.state.runtime.ask = lambda *a: fake_answer(language="es")  # type: ignore[attr-defined]
    page = client.get("/", params={"q": "¿Qué es?"}).text
    assert '<html lang="es">' in page and "Fuentes" in page


def test_corpus_text_is_escaped(client: TestClient) -> None:
    client.app.state.runtime.ask = lambda *a: fake_answer()  # type: ignore[attr-defined]
    page = client.get("/", params={"q": PAYLOAD}).text
    assert "Title &lt;b&gt;bold&lt;/b&gt;" in page
    assert "<script>alert" not in page and "<img src=x" not in page


def test_an_uploaded_payload_is_shown_as_text_everywhere(client: TestClient) -> None:
    text = f"Zebra payloads are tested here: {PAYLOAD} is shown as plain text.\n\nMore zebra words."
    doc = {"id": "payload-doc", "title": f"Payload {PAYLOAD}", "text": text}
    assert client.post("/v1/documents", json=doc, headers=AUTH).status_code == 201
    stored = client.get("/v1/documents/payload-doc").json()["text"]
    assert "<script>alert(1)</script>" in stored
    start = stored.index("<script>")
    pages = [
        client.get("/", params={"q": "zebra payloads tested"}).text,
        client.get("/staff", params={"q": "zebra payloads"}).text,
        client.get(f"/documents/payload-doc?start={start}&end={start + 25}").text,
    ]
    for page in pages:
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "<script>alert" not in page and "<img src=x" not in page


def test_the_document_view_highlights_the_span(client: TestClient) -> None:
    doc = client.get("/v1/documents/task-force-model-mandamus").json()
    start, end = 100, 160
    page = client.get(f"/documents/task-force-model-mandamus?start={start}&end={end}").text
    marked = re.search(r'<mark id="hl">(.*?)</mark>', page, re.S)
    assert marked is not None
    assert html.unescape(marked.group(1)) == doc["text"][start:end]
    assert html.escape(doc["title"], quote=False) in page.replace("&#39;", "'")


@pytest.mark.parametrize("query", ["start=50&end=10", "start=0&end=99999999", "start=5"])
def test_a_bad_span_shows_the_whole_document(client: TestClient, query: str) -> None:
    page = client.get(f"/documents/task-force-model-mandamus?{query}")
    assert page.status_code == 200
    assert '<mark id="hl">' not in page.text and "not in this version" in page.text


def test_page_errors_are_pages(client: TestClient) -> None:
    missing = client.get("/documents/no-such-document")
    assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]
    assert "Not found" in missing.text
    negative = client.get("/documents/task-force-model-mandamus?start=-1&end=3")
    assert negative.status_code == 422 and "text/html" in negative.headers["content-type"]
    long = client.get("/", params={"q": "x" * 1001})
    assert long.status_code == 422


def test_the_staff_page_lists_documents_and_searches_with_filters(client: TestClient) -> None:
    page = client.get("/staff").text
    assert page.count("data-delete=") == 5 and 'id="upload"' in page and 'id="token"' in page
    assert '<option value="news">news</option>' in page
    found = client.get("/staff", params={"q": "mandamus", "kind": "news"}).text
    results = re.findall(r'<a href="/documents/([a-z0-9-]+)\?start=', found)
    assert results and set(results) == {"visaverge-287g-task-force-model"}
    one = client.get("/staff", params={"q": "mandamus", "document_id": "task-force-model-mandamus"})
    assert set(re.findall(r'<a href="/documents/([a-z0-9-]+)\?start=', one.text)) == {
        "task-force-model-mandamus"
    }


def test_the_staff_page_says_when_staff_changes_are_off(make_client) -> None:  # type: ignore[no-untyped-def]
    page = make_client(staff_token=None).get("/staff").text
    assert "Uploads and deletes are off" in page and "disabled" in page


def test_paragraph_is_bounded_by_blank_lines() -> None:
    text = "First para.\n\nBefore it. The quote. After it.\n\nLast para."
    start = text.index("The quote.")
    assert paragraph(text, start, start + 10) == ("Before it. ", " After it.")
    assert paragraph("Only. Text.", 0, 5) == ("", " Text.")


def test_paragraph_cuts_long_context_at_words() -> None:
    text = "word " * 300 + "QUOTE" + " tail" * 300
    start = text.index("QUOTE")
    before, after = paragraph(text, start, start + 5, limit=50)
    assert before.startswith("… ") and len(before) <= 52 and before.endswith("word ")
    assert after.endswith(" …") and len(after) <= 52 and after.startswith(" tail")


def test_static_files_are_served(client: TestClient) -> None:
    css = client.get("/static/style.css")
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]
    js = client.get("/static/app.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    assert len(js.text) < 4000  # "a tiny vanilla JS file"
