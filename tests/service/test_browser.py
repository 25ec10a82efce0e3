"""The pages in a real headless Chromium against a live uvicorn (marked browser, server,
model). Screenshots go to test-artifacts/ for a person to look at."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def live_server(
    tmp_path_factory: pytest.TempPathFactory, real_encoder: Encoder, model_generation: Generation
) -> Iterator[str]:
    """uvicorn on a free loopback port, over a copy of the seed corpus and its real index."""
    root = tmp_path_factory.mktemp("live")
    dirs = Dirs(root / "corpus", root / "data")
    shutil.copytree(CORPUS_DIR, dirs.corpus)
    shutil.copytree(model_generation.path.parents[1], dirs.data)
    app = create_app(make_settings(dirs), Engine(dirs.data, real_encoder))
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
