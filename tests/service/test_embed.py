"""Embedding on other sites: /embed may be framed by LEXCITE_EMBED_ORIGINS only (CSP
frame-ancestors), every other page never; static/embed.js inserts the frame."""

from __future__ import annotations

import html.parser

import pytest
from fastapi.testclient import TestClient

from tests.service.conftest import MakeClient

FIRM = "https://firm.example"
CLINIC = "https://*.clinic.example:8443"
PAGES = ["/", "/?q=What+is+a+287(g)+agreement%3F", "/staff", "/documents/nope", "/v1/documents"]


def frame_ancestors(response: object) -> str:
    csp: str = response.headers["content-security-policy"]  # type: ignore[attr-defined]
    return next(d.strip() for d in csp.split(";") if d.strip().startswith("frame-ancestors"))


def test_by_default_no_page_may_be_framed(client: TestClient) -> None:
    for path in ["/embed", "/embed?q=mandamus", *PAGES]:
        response = client.get(path)
        assert response.headers["x-frame-options"] == "DENY", path
        assert frame_ancestors(response) == "frame-ancestors 'none'", path


def test_the_embed_page_may_be_framed_by_the_configured_origins_only(
    make_client: MakeClient,
) -> None:
    client = make_client(embed_origins=(FIRM, CLINIC))
    for path in ["/embed", "/embed?q=What+is+a+287(g)+agreement%3F", "/embed?q=" + "x" * 1001]:
        response = client.get(path)
        assert "x-frame-options" not in response.headers, path
        assert frame_ancestors(response) == f"frame-ancestors {FIRM} {CLINIC}", path
        csp = response.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "unsafe-inline" not in csp
    for path in PAGES:  # the staff page's delete buttons must never sit in someone's frame
        response = client.get(path)
        assert response.headers["x-frame-options"] == "DENY", path
        assert frame_ancestors(response) == "frame-ancestors 'none'", path


class Links(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.anchors: list[dict[str, str | None]] = []
        self.forms: list[dict[str, str | None]] = []
        self.body: dict[str, str | None] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.anchors.append(dict(attrs))
        elif tag == "form":
            self.forms.append(dict(attrs))
        elif tag == "body":
            self.body = dict(attrs)


def parse(text: str) -> Links:
    links = Links()
    links.feed(text)
    return links


def test_the_embed_page_asks_in_its_frame_and_opens_sources_in_a_new_tab(
    client: TestClient,
) -> None:
    start = parse(client.get("/embed").text)
    assert start.forms == [{"class": "ask", "method": "get", "action": "/embed", "role": "search"}]
    assert start.body == {"class": "embedded"}
    assert all(
        a["href"].startswith("/embed?q=") for a in start.anchors if "q=" in (a["href"] or "")
    )
    response = client.get("/embed?q=What+is+the+task+force+model%3F")
    assert response.status_code == 200
    page = parse(response.text)
    sources = [a for a in page.anchors if (a["href"] or "").startswith("/documents/")]
    assert sources, "no source card"
    assert all(a.get("target") == "_blank" for a in sources)
    assert 'class="site"' not in response.text.split("<main>")[0]  # no site header
    # The visitors' own page keeps its links in the tab.
    own = parse(client.get("/?q=What+is+the+task+force+model%3F").text)
    assert all("target" not in a for a in own.anchors)


def test_the_embed_script_is_served_as_javascript(client: TestClient) -> None:
    response = client.get("/static/embed.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(
        ("text/javascript", "application/javascript")
    )
    assert '"/embed"' in response.text


@pytest.mark.parametrize("question", ["What is a 287(g) agreement?", "x" * 1001])
def test_embed_answers_like_the_visitors_page(client: TestClient, question: str) -> None:
    embedded = client.get("/embed", params={"q": question})
    own = client.get("/", params={"q": question})
    assert embedded.status_code == own.status_code
    if own.status_code == 200:
        marker = '<p class="answer">'
        assert (
            own.text.split(marker)[1].split("</p>")[0]
            == embedded.text.split(marker)[1].split("</p>")[0]
        )
