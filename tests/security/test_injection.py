"""Injection: corpus fields and reflected parameters render inert on every page, and the
staff token is checked in constant time.

What tests/service already proves is not repeated: `<script>` / `onerror` payloads in an
uploaded document are shown as text (test_pages.py) and never run in Chromium
(test_browser.py); staff routes refuse a missing or wrong token (401) or are off (403), and
every route is either on the public allow-list or staff-only (test_http_staff.py). Added
here: fields the API refuses but the manifest accepts (`lexcite add --url`, hand edits),
every URL-bearing attribute, `</textarea>` / `</title>` breakouts, and the token check.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from index import build
from ingest.clean import load_rules
from ingest.corpus import store_document
from ingest.errors import ManifestError
from ingest.types import Meta
from service.pages import TEMPLATES
from tests.conftest import HashingEncoder
from tests.security.conftest import assert_clean_error
from tests.service.conftest import AUTH, TOKEN, Dirs, MakeClient

SCRIPT = "<script>alert(1)</script>"
BREAKOUTS = (
    SCRIPT,
    '"><img src=x onerror=alert(1)>',
    "'><svg onload=alert(1)>",
    "</textarea><script>alert(2)</script>",
    "</title><script>alert(3)</script>",
    '<a href="javascript:alert(4)">click</a>',
    '<iframe srcdoc="<script>alert(5)</script>"></iframe>',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(6)">',
    "<base href=//evil.example/><style>*{display:none}</style>",
    "{{ 7*7 }}{% raw %}<!--",
)
TEXT = "Zebra payload number {n} is quoted here: {payload} and nothing runs.\n\n"
# One document per URL: each would be a link if the pages trusted the manifest.
URLS = (
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "//evil.example/x",
    'https://example.org/" onmouseover="alert(1)',
    "https://example.org/</a><script>alert(1)</script>",
)
SAFE_URL = re.compile(r"^(/(?!/)|#|\?|https?://)")
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "srcdoc", "data", "poster", "xlink:href"}


def template_tags() -> set[str]:
    """Every tag the templates write: anything else on a page came from data."""
    found: set[str] = set()
    for template in Path(TEMPLATES).glob("*.html"):
        found |= {t.lower() for t in re.findall(r"</?([a-zA-Z][a-zA-Z0-9]*)", template.read_text())}
    return found


ALLOWED_TAGS = template_tags()


class Markup(HTMLParser):
    """Collects what a browser would act on: tags, attributes, inline script text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.end_tags: set[str] = set()
        self.text: list[str] = []
        self.inline_script = ""
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self.end_tags.add(tag)
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.inline_script += data
        else:
            self.text.append(data)


def assert_inert(html: str, where: str) -> Markup:
    """Assert a page holds only the templates' own markup; return what it holds."""
    page = Markup()
    page.feed(html)
    page.close()
    tags = {t for t, _ in page.tags} | page.end_tags
    assert tags <= ALLOWED_TAGS, f"{where}: tags from data: {tags - ALLOWED_TAGS}"
    assert not page.inline_script.strip(), f"{where}: inline script {page.inline_script[:80]!r}"
    for tag, attrs in page.tags:
        assert not [a for a in attrs if a.startswith("on")], f"{where}: handler on <{tag}>"
        if tag == "script":
            assert attrs.get("src") == "/static/app.js", f"{where}: script {attrs}"
        if tag == "meta":
            assert set(attrs) <= {"charset", "name", "content"}, f"{where}: meta {attrs}"
        for name in URL_ATTRIBUTES & set(attrs):
            # A browser drops tabs, newlines and leading blanks before reading a scheme.
            url = re.sub(r"[\x00-\x20]", "", attrs[name]).lower()
            if tag == "link" and attrs.get("rel") == "icon" and url == "data:,":
                continue  # the empty favicon of base.html
            assert SAFE_URL.match(url), f"{where}: <{tag} {name}={attrs[name]!r}>"
    return page


@pytest.fixture
def payload_client(dirs: Dirs, make_client: MakeClient) -> TestClient:
    """An app whose corpus holds documents with hostile fields, put in the manifest the
    way `lexcite add` does (which, unlike the API, accepts any URL)."""
    for n, url in enumerate(URLS):
        payload = BREAKOUTS[n % len(BREAKOUTS)]
        meta = Meta(
            id=f"zebra-payload-{n}",
            file="",
            title=f"Zebra {n} {payload}",
            publisher=f"Press {BREAKOUTS[(n + 1) % len(BREAKOUTS)]}",
            kind=f"kind {BREAKOUTS[(n + 2) % len(BREAKOUTS)]}",
            url=url,
        )
        text = "".join(TEXT.format(n=n, payload=p) for p in BREAKOUTS)
        try:
            store_document(dirs.corpus, meta, ".txt", text.encode())
        except ManifestError:
            # The corpus refuses a non-web url (test_non_web_urls_are_refused_by_the_corpus);
            # the document's other hostile fields are still stored and checked.
            store_document(dirs.corpus, replace(meta, url=None), ".txt", text.encode())
    build.ingest(dirs.corpus, dirs.data, HashingEncoder(), load_rules())
    return make_client()


def test_hostile_corpus_fields_render_inert_on_every_page(payload_client: TestClient) -> None:
    client = payload_client
    documents = client.get("/v1/documents").json()["documents"]
    hostile = sorted(d["id"] for d in documents if d["id"].startswith("zebra-payload"))
    assert len(hostile) >= 2, "the manifest refused nearly every hostile entry"
    kinds = sorted({d["kind"] for d in documents if d["kind"]})
    pages = {
        "/": client.get("/"),
        "/?q": client.get("/", params={"q": "zebra payload quoted here"}),
        "/embed?q": client.get("/embed", params={"q": "zebra payload quoted here"}),
        "/staff": client.get("/staff"),
        "/staff?q": client.get("/staff", params={"q": "zebra payload", "kind": kinds[0]}),
    }
    for doc in hostile:
        text = client.get(f"/v1/documents/{doc}").json()["text"]
        start = text.index(BREAKOUTS[0])
        pages[doc] = client.get(f"/documents/{doc}?start={start}&end={start + len(SCRIPT)}")
    answered = client.post("/v1/ask", json={"question": "zebra payload quoted here"}).json()
    assert any(c["document_id"].startswith("zebra-payload") for c in answered["citations"])
    for where, response in pages.items():
        assert response.status_code == 200, where
        page = assert_inert(response.text, where)
        if where.startswith("zebra-payload") or where.endswith("?q"):
            shown = "".join(page.text)
            assert SCRIPT in shown, f"{where}: the payload is not shown as text"
    for doc in hostile:
        url = URLS[int(doc.rsplit("-", 1)[1])]
        assert f'href="{url}' not in pages[doc].text


@pytest.mark.parametrize("payload", BREAKOUTS)
def test_reflected_parameters_render_inert(client: TestClient, payload: str) -> None:
    responses = {
        "/?q": client.get("/", params={"q": payload}),
        "/embed?q": client.get("/embed", params={"q": payload}),
        "/staff?q": client.get(
            "/staff", params={"q": payload, "kind": payload, "document_id": payload}
        ),
        "404 page": client.get(f"/documents/no-such-{len(payload)}", params={"start": payload}),
    }
    for where, response in responses.items():
        assert response.status_code in (200, 404, 422), where
        assert_inert(response.text, where)


def test_the_api_never_serves_a_non_web_url(payload_client: TestClient) -> None:
    urls = [d["url"] for d in payload_client.get("/v1/documents").json()["documents"]]
    assert all(url is None or SAFE_URL.match(url) for url in urls), urls


@pytest.mark.parametrize("url", URLS)
def test_non_web_urls_are_refused_by_the_corpus(dirs: Dirs, url: str) -> None:
    meta = Meta(id="hostile-url", file="", title="Hostile url", url=url)
    with pytest.raises(ManifestError, match="http:// or https://"):
        store_document(dirs.corpus, meta, ".txt", b"A plain sentence about mandamus.")


def test_the_templates_write_no_tag_that_data_could_abuse() -> None:
    assert "script" in ALLOWED_TAGS and "a" in ALLOWED_TAGS  # the scan found the templates
    abusable = {"img", "svg", "iframe", "textarea", "style", "base", "object", "embed", "math"}
    assert not ALLOWED_TAGS & abusable


# --- the staff token ------------------------------------------------------------------


def test_the_staff_token_is_compared_with_compare_digest_alone(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = hmac.compare_digest
    calls: list[tuple[object, object]] = []

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    guess = "g" * len(TOKEN)
    wrong = client.delete("/v1/documents/no-such-doc", headers={"Authorization": f"Bearer {guess}"})
    assert wrong.status_code == 401
    right = client.delete("/v1/documents/no-such-doc", headers=AUTH)
    assert right.status_code == 404  # past the token check: the document does not exist
    assert (guess.encode(), TOKEN.encode()) in calls
    assert (TOKEN.encode(), TOKEN.encode()) in calls
    # The decision is compare_digest's alone: no `==` shortcut before or after it.
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: False)
    assert client.delete("/v1/documents/no-such-doc", headers=AUTH).status_code == 401
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: True)
    admitted = client.delete("/v1/documents/no-such-doc", headers={"Authorization": "Bearer x"})
    assert admitted.status_code == 404


@pytest.mark.parametrize(
    "value",
    [
        "Bearer ",
        "Bearer" + " " * 3,
        f"Bearer {TOKEN[:-1]}",
        f"Bearer {TOKEN} ",
        f"Bearer  {TOKEN}x",
        f"Token {TOKEN}",
        f"Bearer {TOKEN.upper()}",
        "Bearer " + "t" * 65_536,
        "Bearer \u00e9\u00e8\u00ff" + TOKEN[3:],
    ],
    ids=["empty", "blank", "prefix", "trailing-space", "suffix", "scheme", "case", "64k", "latin1"],
)
def test_odd_authorization_headers_are_401_not_500(client: TestClient, value: str) -> None:
    response = client.delete(
        "/v1/documents/task-force-model-mandamus",
        headers=[(b"authorization", value.encode("latin-1"))],
    )
    if value == f"Bearer {TOKEN} ":
        # Header values lose surrounding blanks (RFC 9110 5.5): it is the right token.
        assert response.status_code == 200 and response.json()["status"] == "removed"
        return
    assert_clean_error(response, 401, "unauthorized")


@pytest.mark.parametrize("method", ["PUT", "PATCH", "OPTIONS", "TRACE"])
@pytest.mark.parametrize("path", ["/v1/documents", "/v1/documents/task-force-model-mandamus"])
def test_other_methods_on_staff_paths_change_nothing(
    client: TestClient, dirs: Dirs, method: str, path: str
) -> None:
    manifest = (dirs.corpus / "manifest.toml").read_bytes()
    response = client.request(method, path, headers=AUTH, json={"id": "x", "title": "X"})
    assert_clean_error(response, 405, "method_not_allowed")
    assert (dirs.corpus / "manifest.toml").read_bytes() == manifest


def test_the_token_never_appears_in_a_response(client: TestClient) -> None:
    client.delete("/v1/documents/no-such-doc", headers=AUTH)
    for path in ("/", "/staff", "/openapi.json", "/docs", "/metrics", "/readyz", "/v1/documents"):
        assert TOKEN not in client.get(path, headers=AUTH).text, path
    wrong = client.delete("/v1/documents/no-such-doc", headers={"Authorization": "Bearer abc"})
    assert TOKEN not in wrong.text and "abc" not in wrong.text
