"""The chat a staff member can check, in Debian's chromium (Playwright): only checked text ever appears in the
answer area (recorded by a MutationObserver at every update) while a scripted reader model writes; `[1]`
selects its source and "Open" shows the passage highlighted in its document (a PDF page image, a text);
conversations survive a reload and a restart; removing a document asks first and can be undone."""

import re
import shutil
import socket
import tempfile

import pytest

from builders import make_pdf
from chat.answer_view import QUOTING, READING
from chat.ui import launch
from fakes import ScriptedLLM, best_sentence
from kb.ask.pipeline import KnowledgeBase
from kb.ask.readers.llm import LLMReader
from kb.settings import BUNDLED_CORPUS, Settings
from test_browser import ARGS, CHROMIUM, SHOTS

from playwright.sync_api import sync_playwright  # noqa: E402  (test_browser skips the module without chromium)
from ingest.sync import sync_paths

UNSUPPORTED = "The Riverside Care HRTP has a cohort size of 24 trainees [1]. Classes start each March and September [1]."
PILOT = ["The Fresno pilot report describes a welding partnership in the Central Valley.",
         "Results\nThe Fresno welding pilot trained forty apprentices in its first year.\n"
         "Graduates joined union contractors across the valley."]


def script(question: str, prompt: str) -> str:
    """The model's reply per question: the refusal case writes the prompt's kind of made-up example, the
    dropped case adds one made-up sentence to a copied one, otherwise a sentence copied from the passages."""
    if "Riverside" in question:
        return UNSUPPORTED
    if question.startswith("Tell me"):
        return best_sentence(question, prompt) + " Classes start each March and September [1]."
    return best_sentence(question, prompt)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def store(tmp_path_factory, embedder):
    docs = tmp_path_factory.mktemp("docs")
    for f in BUNDLED_CORPUS.iterdir():
        shutil.copy(f, docs / f.name)
    make_pdf(docs / "fresno-pilot.pdf", PILOT, title="Fresno Welding Pilot Report")
    settings = Settings(store_dir=tmp_path_factory.mktemp("store"), reader="llm", model="minilm")
    kb = KnowledgeBase(settings, embedder)
    sync_paths(kb, [docs], progress=False)
    return settings


def serve(settings, embedder):
    """`hrtp chat` on the store, its reader model a scripted one behind the real LLM interface."""
    kb = KnowledgeBase(settings, embedder, long_running=True)
    kb.__dict__["reader"] = LLMReader(settings, embedder, kb.verifier, ScriptedLLM(script))
    port = free_port()
    return launch(kb, port=port, block=False), f"http://127.0.0.1:{port}/"


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(tempfile.mkdtemp(), executable_path=CHROMIUM, headless=True,
                                                   args=ARGS, viewport={"width": 1500, "height": 1000},
                                                   accept_downloads=True)
        yield ctx
        ctx.close()


@pytest.fixture(scope="module")
def app(store, embedder, browser):
    ui, url = serve(store, embedder)
    page = browser.new_page()
    page.goto(url)
    page.wait_for_selector("#chat")
    yield page, url
    page.close()
    ui.close()


BOT = '#chat [data-testid="bot"] .message-content'
RECORD = """() => {
  // The answer area at every DOM change; the sources panel as painted (a frame's DOM, after all its changes).
  window.__seen = []; window.__painted = [];
  const text = (el) => (el ? el.textContent : '').replace(/\\s+/g, ' ').trim();
  const bots = () => document.querySelectorAll('#chat [data-testid="bot"] .message-content');
  const snap = () => {
    const all = bots(), last = all[all.length - 1];
    let rest = '', quotes = [];
    if (last) {
      const clone = last.cloneNode(true);
      quotes = [...clone.querySelectorAll('blockquote')].map(text);
      clone.querySelectorAll('blockquote').forEach((b) => b.remove());
      rest = text(clone);
    }
    window.__seen.push({count: all.length, rest, quotes});
    if (!window.__frame) window.__frame = requestAnimationFrame(() => {
      window.__frame = 0;
      const all = bots(), last = all[all.length - 1];
      window.__painted.push({count: all.length, pending: !!(last && last.querySelector('blockquote')),
                             sources: text(document.querySelector('#sources'))});
    });
  };
  window.__observer && window.__observer.disconnect();
  window.__observer = new MutationObserver(snap);
  for (const id of ['#chat', '#sources'])
    window.__observer.observe(document.querySelector(id), {subtree: true, childList: true, characterData: true});
}"""


def ask_and_record(page, question: str) -> tuple[list[dict], list[dict], str]:
    page.evaluate(RECORD)
    n = page.locator(BOT).count()
    page.locator("#question textarea").fill(question)
    page.locator("#ask").click()
    page.wait_for_function(f"(() => {{ const m = document.querySelectorAll('{BOT}'); return m.length > {n} && "
                           "!m[m.length - 1].querySelector('blockquote') && !!document.querySelector('#sources .source');"
                           " })()", timeout=120_000)
    page.wait_for_timeout(500)
    seen = [s for s in page.evaluate("window.__seen") if s["count"] > n]  # the new answer's area only
    painted = [s for s in page.evaluate("window.__painted") if s["count"] > n]
    return seen, painted, seen[-1]["rest"]


def check_only_checked_text(seen: list[dict], painted: list[dict], final: str, refused: bool) -> None:
    assert len(seen) > 3, "the observer saw the answer area change"
    for s in seen:
        assert s["rest"] in final, f"shown but not in the final answer: {s['rest']!r}"
        for q in s["quotes"]:  # the only other text: the labelled quote block
            assert q.startswith(QUOTING) or q.startswith(READING), q
    for s in painted:
        if s["pending"] or not refused:
            assert "don't answer this" not in s["sources"], "a refusal note while the answer was pending"
    for words in ("NO ANSWER", "Riverside", "March and September", "24 trainees"):
        assert not any(words in s["rest"] or any(words in q for q in s["quotes"]) for s in seen), words


def test_an_answer_shows_quotes_then_only_the_checked_answer(app):
    page, _ = app
    seen, painted, final = ask_and_record(page, "Who convenes a partnership?")
    assert "[1]" in final and "Not in the materials" not in final
    assert any(q.startswith(QUOTING) for s in seen for q in s["quotes"]), "the quoted answer showed first"
    check_only_checked_text(seen, painted, final, refused=False)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "chat-answer.png"), full_page=True)


def test_a_refusal_never_shows_the_models_made_up_words(app):
    page, _ = app
    seen, painted, final = ask_and_record(page, "What is the cohort size of the Riverside Care HRTP?")
    assert final.startswith("Not in the materials.")
    check_only_checked_text(seen, painted, final, refused=True)
    assert "don't answer this" in page.locator("#sources").inner_text()
    page.screenshot(path=str(SHOTS / "chat-refusal.png"), full_page=True)


def test_a_dropped_sentence_is_never_on_screen(app):
    page, _ = app
    seen, painted, final = ask_and_record(page, "Tell me how many apprentices the Fresno welding pilot trained.")
    assert "1 sentence removed" in final
    check_only_checked_text(seen, painted, final, refused=False)


def test_citation_selects_its_source_and_open_shows_the_highlighted_pdf_page(app):
    page, _ = app
    ask_and_record(page, "How many apprentices did the Fresno welding pilot train?")
    last = page.locator(BOT).last
    last.locator("a", has_text="[1]").first.click()
    page.wait_for_selector("#sources .source.selected#source-1", timeout=30_000)
    card = page.locator("#sources .source.selected")
    assert "Fresno Welding Pilot Report" in card.inner_text() and "p. 2" in card.inner_text()
    card.locator("button.open-source").click()
    page.wait_for_selector("#viewer .pdf-page img", timeout=60_000)
    assert int(page.locator("#viewer .doc").get_attribute("data-highlights")) > 0
    assert "p. 2" in page.locator("#viewer .viewer-head").inner_text()
    assert page.locator("#viewer img").evaluate("img => img.naturalWidth") > 500
    page.screenshot(path=str(SHOTS / "chat-pdf-open.png"), full_page=True)


def test_open_shows_a_text_document_scrolled_to_the_highlighted_passage(app):
    page, _ = app
    ask_and_record(page, "Who convenes a partnership?")
    page.locator("#sources .source").first.locator("button.open-source").click()
    page.wait_for_selector("#viewer .doc.text p.cited mark", timeout=30_000)
    cited = page.locator("#viewer p.cited")
    assert "convene" in cited.inner_text().lower()
    box, doc = cited.bounding_box(), page.locator("#viewer .doc").bounding_box()
    assert doc["y"] - 5 <= box["y"] <= doc["y"] + doc["height"], "the passage is scrolled into view"
    page.screenshot(path=str(SHOTS / "chat-text-open.png"), full_page=True)


def test_asking_within_a_chosen_document(app):
    page, _ = app
    page.locator("#doc-filter input").click()
    page.get_by_role("option", name="Fresno Welding Pilot Report").click()
    page.keyboard.press("Escape")
    _, _, final = ask_and_record(page, "Who trained apprentices?")
    assert "Searched only: “Fresno Welding Pilot Report”." in final
    assert set(re.findall(r"\[\d+\] ([^·]+?) ·", page.locator("#sources").inner_text())) == {"Fresno Welding Pilot Report"}
    page.screenshot(path=str(SHOTS / "chat-doc-filter.png"), full_page=True)
    page.locator("#doc-filter .remove-all").click()  # back to the whole library
    page.wait_for_function("!document.querySelector('#doc-filter').innerText.includes('Fresno')")


def test_a_conversation_survives_a_reload_and_a_restart(app, store, embedder, browser):
    page, url = app
    page.get_by_role("button", name="New conversation").click()
    page.wait_for_function(f"document.querySelectorAll('{BOT}').length === 0")
    _, _, answer = ask_and_record(page, "What are WED's four key principles?")
    with page.expect_download(timeout=30_000) as info:  # the first click downloads
        page.locator("#export-json").click()
    assert "What are WED's four key principles?" in open(info.value.path(), encoding="utf-8").read()
    page.reload()
    page.wait_for_selector("#conversations label", timeout=30_000)
    page.locator("#conversations label", has_text="What are WED's four key principles?").first.click()
    page.wait_for_selector("#sources .source", timeout=30_000)
    assert answer[:60] in " ".join(page.locator("#chat").inner_text().split())

    restarted, url2 = serve(store, embedder)  # a second `hrtp chat` on the same store
    try:
        other = browser.new_page()
        other.goto(url2)
        other.locator("#conversations label", has_text="What are WED's four key principles?").first.click()
        other.wait_for_selector("#sources .source", timeout=30_000)
        assert answer[:60] in " ".join(other.locator("#chat").inner_text().split())
        assert "Championing High Road Partnerships (WED)" in other.locator("#sources").inner_text()
        other.screenshot(path=str(SHOTS / "chat-reopened.png"), full_page=True)
        other.locator("#delete-conversation").click()
        other.wait_for_function("!document.querySelector('#chat').innerText.includes('four key principles')")
        assert "What are WED's four key principles?" not in other.locator("#conversations").inner_text()
        other.close()
    finally:
        restarted.close()


def wait_text(page, selector: str, text: str) -> None:
    page.wait_for_function("([s, t]) => document.querySelector(s).innerText.includes(t)", arg=[selector, text],
                           timeout=30_000)


def test_remove_asks_first_names_the_document_and_can_be_undone(app):
    page, _ = app
    page.get_by_role("tab", name="Library").click()
    library = page.locator("#library")
    assert "Fresno Welding Pilot Report" in library.inner_text()
    page.locator("#remove").click()
    wait_text(page, "#library-note", "Choose a document to remove first")
    page.locator("#doc-pick input").click()
    page.get_by_role("option", name="Fresno Welding Pilot Report").click()
    page.locator("#remove").click()
    question = page.locator("#remove-question")
    question.wait_for()
    assert re.search(r"Remove “Fresno Welding Pilot Report” \(file fresno-pilot.pdf\)", question.inner_text())
    page.screenshot(path=str(SHOTS / "library-confirm.png"), full_page=True)
    page.locator("#remove-yes").click()
    page.wait_for_function("!document.querySelector('#library').innerText.includes('Fresno Welding Pilot Report')")
    wait_text(page, "#library-note", "Removed “Fresno Welding Pilot Report” (fresno-pilot.pdf)")
    page.screenshot(path=str(SHOTS / "library-removed.png"), full_page=True)
    page.locator("#undo").click()
    page.wait_for_function("document.querySelector('#library').innerText.includes('Fresno Welding Pilot Report')")
    wait_text(page, "#library-note", "is back in the library")
    page.get_by_role("tab", name="Ask").click()
