"""In a real browser (Debian's chromium, headless, driven by Playwright): ask a starter question, see the
answer and its source; a document's HTML shows as text and never runs."""

import os
import shutil
import socket
import tempfile
from pathlib import Path

import pytest

from chat.ui import launch
from kb.engine import KnowledgeBase
from kb.settings import BUNDLED_CORPUS, Settings

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
SHOTS = Path(os.environ.get("HRTP_SCREENSHOTS", tempfile.gettempdir())) / "hrtp-screenshots"
HOSTILE = ("The Oakland pipeline partnership published this note: <img src=x onerror=\"window.__xss=1\"> and "
           "<script>window.__xss=2</script> are strings in its handbook about safety signage.")

if not os.path.exists(CHROMIUM):
    if os.environ.get("CI"):
        pytest.fail("chromium is missing in CI: `make test` installs it (make browser-deps)", pytrace=False)
    pytest.skip("chromium is not installed (make browser-deps installs it)", allow_module_level=True)

from playwright.sync_api import sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def app_url(tmp_path_factory, embedder):
    docs = tmp_path_factory.mktemp("docs")
    for f in BUNDLED_CORPUS.iterdir():
        shutil.copy(f, docs / f.name)
    (docs / "signage.txt").write_text(HOSTILE)
    kb = KnowledgeBase(Settings(store_dir=tmp_path_factory.mktemp("store")), embedder)
    kb.ingest([docs], progress=False)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ui = launch(kb, port=port, block=False)
    yield f"http://127.0.0.1:{port}/"
    ui.close()


@pytest.fixture(scope="module")
def page(app_url):
    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(tempfile.mkdtemp(), executable_path=CHROMIUM, headless=True,
                                                   args=ARGS, viewport={"width": 1400, "height": 1000})
        pg = ctx.new_page()
        dialogs = []
        pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        pg.dialogs = dialogs
        pg.goto(app_url)
        yield pg
        ctx.close()


def test_a_starter_question_gets_an_answer_and_a_source(page):
    page.get_by_role("button", name="What are WED's four key principles?").click()
    page.wait_for_selector("#sources .source", timeout=60_000)
    chat = page.locator("#chat").inner_text()
    assert "Worker Centered" in chat and "[1]" in chat
    sources = page.locator("#sources").inner_text()
    assert "Championing High Road Partnerships (WED)" in sources
    assert page.locator("#sources mark").count() >= 4  # the quoted sentences are highlighted
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "starter-answer.png"), full_page=True)


def test_document_html_shows_as_text_and_never_runs(page):
    page.locator("#question textarea").fill("What strings are in the Oakland pipeline partnership handbook?")
    page.locator("#ask").click()
    page.wait_for_function("document.querySelector('#sources').innerText.includes('signage.txt') || "
                           "document.querySelector('#sources').innerText.includes('Oakland')", timeout=60_000)
    assert page.evaluate("window.__xss") is None
    assert not page.dialogs
    assert "<img src=x" in page.locator("#sources").inner_text()
    assert page.locator("#sources img").count() == 0 and page.locator("#chat img[src='x']").count() == 0
    page.screenshot(path=str(SHOTS / "hostile-document.png"), full_page=True)
