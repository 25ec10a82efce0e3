"""The pages in a real headless Chromium against a live uvicorn (marked browser, server,
model). Screenshots go to test-artifacts/ for a person to look at."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from index.encoder import Encoder
from index.generation import Generation
from service.app import create_app
from service.engine import Engine
from tests.conftest import CORPUS_DIR, ROOT
from tests.service.conftest import AUTH, Dirs, make_settings

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.model]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "test-artifacts"
SCRIPT = "<script>alert(1)</script>"
IMAGE = '<img src=x onerror="window.__pwned=1">'
PAYLOAD_DOC = {
    "id": "zebra-payload",
    "title": f"Zebra mandamus {SCRIPT}",
    "publisher": f"Press {IMAGE}",
    "text": "Zebra mandamus is a remedy that courts grant to striped petitioners.\n\n"
    f"The payload {SCRIPT} stands inside this sentence about zebra mandamus.\n\n"
    f"A second payload {IMAGE} also stands in a sentence about zebra mandamus.",
}


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


# A firm's site, on another loopback address: another origin than lexcite's 127.0.0.1.
SITE_HOST = "127.0.0.2"
SITE_PORT = free_port(SITE_HOST)
SITE = f"http://{SITE_HOST}:{SITE_PORT}"


@pytest.fixture(scope="module")
def live_server(
    tmp_path_factory: pytest.TempPathFactory, real_encoder: Encoder, model_generation: Generation
) -> Iterator[str]:
    """uvicorn on a free loopback port, over a copy of the seed corpus and its real index;
    SITE may embed its /embed page."""
    root = tmp_path_factory.mktemp("live")
    dirs = Dirs(root / "corpus", root / "data")
    shutil.copytree(CORPUS_DIR, dirs.corpus)
    shutil.copytree(model_generation.path.parents[1], dirs.data)
    settings = make_settings(dirs, embed_origins=(SITE,))
    app = create_app(settings, Engine(dirs.data, real_encoder))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run .ci/ensure-chromium (apt-get install chromium)")
    # Imported here so that the fast suite does not need Playwright installed.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


class Watched:
    """A page that records dialogs and console errors (CSP violations are console errors)."""

    def __init__(self, browser: Any, **context: Any) -> None:
        self.context = browser.new_context(**context)
        self.page = self.context.new_page()
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.page.on("dialog", self._dialog)
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.accept_dialogs = False

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        if self.accept_dialogs:
            dialog.accept()
        else:
            dialog.dismiss()


@pytest.fixture
def watched(browser: Any) -> Iterator[Watched]:
    w = Watched(browser, viewport={"width": 1100, "height": 900})
    yield w
    w.context.close()


def test_ask_click_a_citation_and_see_the_span_in_its_document(
    live_server: str, watched: Watched, browser: Any
) -> None:
    page = watched.page
    page.goto(live_server + "/")
    page.fill("#q", "What is the task force model?")
    page.click("form.ask button")
    page.wait_for_selector(".answer .marker")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "visitor-answer.png"), full_page=True)

    page.click(".answer .marker >> nth=0")
    assert page.url.endswith("#cite-1")
    assert page.evaluate("document.querySelector(':target').id") == "cite-1"
    cited = page.inner_text("#cite-1 blockquote mark")
    api = httpx.post(live_server + "/v1/ask", json={"question": "What is the task force model?"})
    assert cited == api.json()["citations"][0]["text"]

    page.click("#cite-1 a.open")
    page.wait_for_selector("mark#hl")
    assert page.inner_text("mark#hl") == cited
    box = page.evaluate(
        "(() => { const r = document.getElementById('hl')"
        ".getBoundingClientRect(); return [r.top, r.bottom, innerHeight]; })()"
    )
    assert box[0] >= 0 and box[1] <= box[2], "the highlighted span is not scrolled into view"
    page.screenshot(path=str(ARTIFACTS / "document-highlight.png"))
    assert watched.errors == [] and watched.dialogs == []

    phone = Watched(
        browser, viewport={"width": 390, "height": 844}, is_mobile=True, device_scale_factor=2
    )
    phone.page.goto(live_server + "/?q=Can+a+writ+of+mandamus+stop+287(g)+enforcement%3F")
    width = phone.page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "the page scrolls sideways on a phone"
    phone.page.screenshot(path=str(ARTIFACTS / "visitor-phone.png"), full_page=True)
    phone.page.screenshot(path=str(ARTIFACTS / "visitor-phone-top.png"))
    phone.context.close()


def test_an_abstention_is_shown_as_not_covered(live_server: str, watched: Watched) -> None:
    watched.page.goto(live_server + "/?q=What+is+the+filing+fee+for+an+H-1B+petition%3F")
    assert "Not covered by our sources" in watched.page.inner_text("main")
    assert watched.page.locator(".cards").count() == 0
    watched.page.screenshot(path=str(ARTIFACTS / "visitor-abstention.png"), full_page=True)


def test_uploaded_payloads_never_run(live_server: str, watched: Watched) -> None:
    response = httpx.post(live_server + "/v1/documents", json=PAYLOAD_DOC, headers=AUTH, timeout=60)
    assert response.status_code in (200, 201), response.text
    text = httpx.get(live_server + "/v1/documents/zebra-payload").json()["text"]
    start = text.index(SCRIPT)
    page = watched.page
    urls = [
        "/?q=What+is+zebra+mandamus%3F",
        "/staff?q=zebra+mandamus+payload",
        f"/documents/zebra-payload?start={start}&end={start + len(SCRIPT)}",
        "/staff",
    ]
    for url in urls:
        page.goto(live_server + url)
        page.wait_for_load_state("load")
        assert page.evaluate("typeof window.__pwned") == "undefined", url
        assert page.locator("script:not([src])").count() == 0, url
        assert page.locator("img").count() == 0, url
        body = page.inner_text("body")
        if "staff?q" in url or "documents/" in url:
            assert SCRIPT in body and IMAGE in body, url
    assert page.evaluate("typeof window.__pwned") == "undefined"
    page.goto(live_server + urls[2])
    assert page.inner_text("mark#hl") == SCRIPT
    assert watched.dialogs == [], watched.dialogs


def test_staff_upload_and_delete_through_the_page(live_server: str, watched: Watched) -> None:
    page = watched.page
    watched.accept_dialogs = True
    page.goto(live_server + "/staff")
    page.fill("#token", AUTH["Authorization"].removeprefix("Bearer "))
    page.fill("#upload input[name=id]", "staff-page-note")
    page.fill("#upload input[name=title]", "A note uploaded from the staff page")
    page.fill("#upload input[name=kind]", "note")
    page.set_input_files(
        "#upload input[name=file]",
        files=[
            {
                "name": "note.md",
                "mimeType": "text/markdown",
                "buffer": b"# Note\n\nThe staff page uploads documents like this one.\n",
            }
        ],
    )
    with page.expect_navigation(timeout=60_000):
        page.click("#upload button[type=submit]")
    assert page.inner_text("#staff-status").startswith("added: staff-page-note")
    assert page.locator("button[data-delete='staff-page-note']").count() == 1
    page.fill("input[name=q]", "mandamus")
    page.select_option("select[name=kind]", "law-firm blog")
    with page.expect_navigation():
        page.click("form.search button")
    assert page.locator("ol.results li").count() > 0
    assert page.evaluate("document.documentElement.scrollWidth") <= 1100, "sideways scroll"
    page.screenshot(path=str(ARTIFACTS / "staff.png"), full_page=True)
    page.screenshot(path=str(ARTIFACTS / "staff-top.png"))

    with page.expect_navigation(timeout=60_000):
        page.click("button[data-delete='staff-page-note']")
    assert page.inner_text("#staff-status").startswith("removed: staff-page-note")
    assert page.locator("button[data-delete='staff-page-note']").count() == 0
    assert any("staff-page-note" in d for d in watched.dialogs)
    assert watched.errors == []


def test_a_wrong_token_shows_the_error(live_server: str, watched: Watched) -> None:
    page = watched.page
    page.goto(live_server + "/staff")
    page.fill("#token", "not-the-token-at-all")
    page.fill("#upload input[name=id]", "never-added")
    page.fill("#upload input[name=title]", "Never")
    page.set_input_files(
        "#upload input[name=file]",
        files=[{"name": "n.txt", "mimeType": "text/plain", "buffer": b"Never added here."}],
    )
    page.click("#upload button[type=submit]")
    page.wait_for_function(
        "document.getElementById('staff-status').textContent.startsWith('Error')"
    )
    assert "not valid" in page.inner_text("#staff-status")


def site_page(lexcite: str) -> bytes:
    """A firm's page with the README's snippet in it."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Smith &amp; Jones, immigration law</title></head>
<body><h1>Smith &amp; Jones</h1><p>Questions about 287(g)? Ask our assistant:</p>
<script src="{lexcite}/static/embed.js" async></script>
<p id="after">Call us on 555-0100.</p></body></html>""".encode()


@pytest.fixture(scope="module")
def sites(live_server: str) -> Iterator[tuple[str, str]]:
    """The firm's site (allowed to embed) and another (not), each serving site_page."""
    page = site_page(live_server)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: object) -> None:
            pass

    servers = [ThreadingHTTPServer((SITE_HOST, SITE_PORT), Handler)]
    servers.append(ThreadingHTTPServer(("127.0.0.3", 0), Handler))
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield SITE, f"http://127.0.0.3:{servers[1].server_address[1]}"
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def test_a_site_embeds_the_assistant_and_a_visitor_asks_through_it(
    sites: tuple[str, str], live_server: str, watched: Watched
) -> None:
    allowed, _ = sites
    page = watched.page
    page.goto(allowed + "/")
    frame = page.frame_locator("iframe.lexcite-frame")
    frame.locator("#q").fill("What is the task force model?")
    frame.locator("form.ask button").click()
    frame.locator(".answer .marker").first.wait_for()
    inner = next(f for f in page.frames if f.url.startswith(live_server + "/embed?q="))
    cited = inner.inner_text("#cite-1 blockquote mark")
    api = httpx.post(live_server + "/v1/ask", json={"question": "What is the task force model?"})
    assert cited == api.json()["citations"][0]["text"]
    # The frame grew to its answer (static/embed.js hears the page's height), and the host
    # page is still the firm's.
    page.wait_for_function(
        "document.querySelector('iframe.lexcite-frame').getBoundingClientRect().height > 640"
    )
    assert page.url == allowed + "/" and page.inner_text("#after") == "Call us on 555-0100."
    # A source opens in a new tab, outside the frame.
    with page.context.expect_page() as opened:
        inner.click("#cite-1 a.open")
    document = opened.value
    document.wait_for_selector("mark#hl")
    assert document.inner_text("mark#hl") == cited
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "embedded.png"), full_page=True)
    assert watched.errors == [] and watched.dialogs == []


def test_a_site_not_listed_cannot_frame_the_assistant(
    sites: tuple[str, str], live_server: str, watched: Watched
) -> None:
    _, other = sites
    page = watched.page
    page.goto(other + "/")
    page.wait_for_selector("iframe.lexcite-frame")
    # Chromium reports the refusal on the console once the frame's response arrives.
    deadline = time.monotonic() + 20
    while not any("frame-ancestors" in e for e in watched.errors):
        assert time.monotonic() < deadline, f"the frame was not refused: {watched.errors}"
        page.wait_for_timeout(100)
    assert not any(f.url.startswith(live_server) and f.query_selector("#q") for f in page.frames)
