"""The Gradio app: `build_ui(kb)` -> gr.Blocks. An adapter over `KnowledgeBase`; no retrieval or citation
logic here. Handlers are methods of `ChatApp` (and `Library`, chat/library.py), plain functions and generators
a test can call directly.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from html import escape
from pathlib import Path

import gradio as gr

from chat import answer_view, feedback, sources, viewer
from chat.brief_tab import brief_tab
from chat.conversations import Conversations
from chat.library import Library
from chat.uploads import MAX_UPLOAD_MB
from kb.ask.pipeline import KnowledgeBase
from kb.errors import KBError
from kb.ask.render import to_markdown
from kb.types import Answer

log = logging.getLogger(__name__)

UPLOAD_TYPES = [".pdf", ".txt", ".md", ".html", ".htm", ".vtt", ".srt", ".mp3", ".m4a", ".wav", ".mp4", ".webm", ".ogg", ".flac"]
CSS = """
.source { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 10px; margin: 8px 0; }
.source.selected { border: 2px solid #d97706; box-shadow: 0 0 0 3px #fde68a; }
.source-head { font-size: 0.92em; margin-bottom: 4px; }
.open-source { margin-left: 6px; padding: 0 8px; border: 1px solid var(--border-color-primary); border-radius: 6px;
               font-size: 0.9em; cursor: pointer; background: var(--button-secondary-background-fill); }
.passage { font-size: 0.9em; line-height: 1.45; }
mark { background: #fde68a; color: inherit; padding: 0 1px; }
.refused-note { font-weight: 600; color: #b45309; margin-bottom: 6px; }
.sources-title { font-weight: 600; }
.sources-empty, .viewer-empty { color: var(--body-text-color-subdued); font-style: italic; }
#viewer .doc { max-height: 70vh; overflow: auto; border: 1px solid var(--border-color-primary); border-radius: 8px;
               padding: 6px; }
#viewer .doc.text p { font-size: 0.9em; line-height: 1.5; margin: 0 0 8px; }
#viewer .doc.text p.cited { background: #fef9c3; border-left: 3px solid #d97706; padding: 4px 6px; }
#viewer .ts { color: var(--body-text-color-subdued); font-variant-numeric: tabular-nums; }
#viewer .pdf-page { position: relative; }
#viewer .pdf-page img { width: max(100%, 760px); display: block; }  /* a page's body text stays readable */
#viewer .pdf-page .cited { position: absolute; left: 0; width: 1px; height: 1px; scroll-margin: 120px; }
.viewer-head { margin: 4px 0 6px; }
.hidden-action { display: none !important; }
#chat a[href^="#cite-"] { text-decoration: none; font-weight: 600; }
"""
# `[n]` links and "Open" buttons: a click names its action in a hidden box and presses a hidden button, so the
# server renders the selected card or the document (document text never reaches this script).
JS = """
() => {
  if (window.__hrtpActions) return;
  window.__hrtpActions = true;
  document.addEventListener('click', (e) => {
    const el = e.target.closest('a[href^="#cite-"], button.open-source');
    if (!el) return;
    e.preventDefault(); e.stopPropagation();
    const action = el.dataset.action || ('cite|' + el.getAttribute('href').slice(6).replace('-', '|'));
    const box = document.querySelector('#ui-action textarea, #ui-action input');
    box.value = action + '|' + Date.now();
    box.dispatchEvent(new Event('input', {bubbles: true}));
    setTimeout(() => document.querySelector('#ui-go').click(), 50);
  }, true);
}
"""
SCROLL = """
() => {
  const open = (document.querySelector('#ui-action textarea, #ui-action input') || {}).value || '';
  const el = open.startsWith('open') ? document.querySelector('#viewer .cited')
                                     : document.querySelector('#sources .selected');
  if (el) el.scrollIntoView({block: 'center'});
}
"""


class ChatApp:
    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.store_dir = kb.settings.store_dir
        self.conversations = Conversations(self.store_dir)
        self.exports = Path(tempfile.mkdtemp(prefix="hrtp-export-"))

    # chat ----------------------------------------------------------------------------------------------
    def _history(self, turns: list[Answer]) -> list[dict]:
        history = []
        for a in turns[-3:]:
            history += [{"role": "user", "content": a.question}, {"role": "assistant", "content": a.text}]
        return history

    def ask(self, message: str, turns: list[Answer]) -> Answer:
        try:
            return self.kb.ask(message, self._history(turns))
        except KBError as exc:  # e.g. an empty store: say what to do, in the chat
            return Answer(message, str(exc), True)

    def titles(self) -> dict[str, str]:
        return {r.path: r.title for r in self.kb.store.file_records().values()}

    def respond(self, message: str, chat: list[dict], turns: list[Answer], conv: int | None = None,
                docs: list[str] | None = None):
        """Generator of (chat, turns, sources panel, question box, conversation id, conversation list,
        Markdown export, JSON export). Only checked text reaches the answer area (chat/answer_view.py):
        with the model reader, the quoted answer in a labelled block while the model reads, then the checked
        answer; with the quoting reader, the checked answer claim by claim. The answer is kept (SQLite).
        `docs`: stored paths to ask within (the document filter); none: the whole library."""
        message = (message or "").strip()
        skip = (gr.skip(),) * 4
        if not message:
            yield chat, turns, gr.skip(), "", *skip
            return
        chat = chat + [{"role": "user", "content": escape(message[:2000])}]
        yield (chat + [{"role": "assistant", "content": answer_view.pending(None)}], turns,
               sources.panel(None, pending=True), "", *skip)
        try:
            for kind, value in self.kb.stream(message, self._history(turns), docs=docs or None):
                if kind == "quick":
                    yield (chat + [{"role": "assistant", "content": answer_view.pending(value)}], turns,
                           sources.panel(value, pending=True), "", *skip)
                elif kind == "final":
                    answer = value
                # ("text", words): the model's unchecked words are never shown
        except KBError as exc:
            answer = Answer(message, str(exc), True)
        t = len(turns)
        turns = turns + [answer]
        conv = self.conversations.add(conv, answer)
        for end in answer_view.claim_ends(answer) if answer.reader == "extractive" else []:
            yield chat + [{"role": "assistant", "content": answer_view.final(answer, t, end)}], turns, gr.skip(), "", *skip
            time.sleep(0.02)
        yield (chat + [{"role": "assistant", "content": answer_view.final(answer, t, titles=self.titles())}], turns,
               sources.panel(answer, t), "", conv, self.conversation_list(conv), *self.export_buttons(conv))

    def api_chat(self, message: str) -> str:
        """The `/chat` endpoint: the answer with its citations written out (Markdown)."""
        return to_markdown(self.ask(message, []))

    def show_sources(self, turns: list[Answer], data: gr.SelectData) -> str:
        i = data.index // 2 if isinstance(data.index, int) else 0
        return sources.panel(turns[i], i) if 0 <= i < len(turns) else gr.skip()

    def act(self, action: str, turns: list[Answer]) -> tuple[str, str]:
        """A click on `[n]` ("cite|turn|n|nonce") selects source n of that turn; "Open" ("open|turn|n|nonce")
        also shows it in its document. Returns (sources panel, document viewer)."""
        try:
            kind, t, n = action.split("|")[:3]
            answer, n = turns[int(t)], int(n)
            source = next(s for s in answer.sources if s.n == n)
        except (ValueError, IndexError, StopIteration):
            return gr.skip(), gr.skip()
        panel = sources.panel(answer, int(t), selected=n)
        if kind != "open":
            return panel, gr.skip()
        return panel, viewer.view(source, *self.kb.document(source.chunk_id))

    def vote(self, turns: list[Answer], comment: str, data: gr.LikeData) -> tuple[str, str]:
        i = data.index // 2 if isinstance(data.index, int) else len(turns) - 1
        if not (0 <= i < len(turns)):
            return "Nothing to rate yet.", comment
        kind = "up" if data.liked else "down"
        feedback.record(self.store_dir, turns[i].to_json(), kind, comment or "")
        return f"Thanks: your {'thumbs up' if data.liked else 'thumbs down'} on answer {i + 1} was saved.", ""

    # conversations -------------------------------------------------------------------------------------
    def conversation_list(self, selected: int | None = None) -> dict:
        return gr.update(choices=[(title, i) for i, title, _ in self.conversations.list()], value=selected)

    def export_buttons(self, conv: int | None) -> tuple[dict, dict]:
        """Both exports written as the conversation changes, so a single click downloads."""
        if conv is None:
            return gr.update(value=None, interactive=False), gr.update(value=None, interactive=False)
        md, js = self.conversations.export(conv, self.exports)
        return gr.update(value=md, interactive=True), gr.update(value=js, interactive=True)

    def messages(self, turns: list[Answer]) -> list[dict]:
        chat, titles = [], self.titles()
        for t, a in enumerate(turns):
            chat += [{"role": "user", "content": escape(a.question[:2000])},
                     {"role": "assistant", "content": answer_view.final(a, t, titles=titles)}]
        return chat

    def reopen(self, conv: int | None):
        """(chat, turns, panel, conversation id, list, Markdown export, JSON export, viewer) of a kept conversation."""
        turns = self.conversations.turns(conv) if conv is not None else []
        if not turns:
            return self.new()
        return (self.messages(turns), turns, sources.panel(turns[-1], len(turns) - 1), conv,
                self.conversation_list(conv), *self.export_buttons(conv), viewer.EMPTY)

    def new(self):
        return [], [], sources.panel(None), None, self.conversation_list(None), *self.export_buttons(None), viewer.EMPTY

    def delete(self, conv: int | None):
        if conv is not None:
            self.conversations.delete(conv)
        return self.new()


def build_ui(kb: KnowledgeBase) -> gr.Blocks:
    app, lib = ChatApp(kb), Library(kb)
    domain = kb.settings.domain  # the page's words (corpus/domain.toml)
    with gr.Blocks(title=domain.chat_title, analytics_enabled=False) as ui:
        turns, conv = gr.State([]), gr.State(None)
        gr.Markdown(f"## {domain.chat_title}\n{domain.chat_intro}")
        with gr.Tab("Ask") as ask_tab:
            with gr.Row():
                with gr.Column(scale=1, min_width=200):
                    new = gr.Button("New conversation", size="sm", elem_id="new-conversation")
                    convs = gr.Radio([], label="Conversations", elem_id="conversations")
                    delete = gr.Button("Delete conversation", size="sm", variant="stop", elem_id="delete-conversation")
                    export_md = gr.DownloadButton("Export Markdown", size="sm", interactive=False, elem_id="export-md")
                    export_js = gr.DownloadButton("Export JSON", size="sm", interactive=False, elem_id="export-json")
                with gr.Column(scale=3):
                    chat = gr.Chatbot(label="Conversation", height=460, feedback_options=("Like", "Dislike"),
                                      elem_id="chat", sanitize_html=True)
                    with gr.Row():
                        box = gr.Textbox(placeholder=domain.placeholder,
                                         show_label=False, scale=5, elem_id="question", max_length=4000)
                        send = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
                    within = gr.Dropdown(lib.choices(), value=[], multiselect=True, elem_id="doc-filter",
                                         label="Ask within documents (none chosen: the whole library)")
                    starters: list[gr.Button] = []
                    for group, questions in domain.starters:
                        gr.Markdown(f"**{group}:**")
                        with gr.Row():
                            starters += [gr.Button(q, size="sm", elem_classes=["starter"]) for q in questions]
                    comment = gr.Textbox(placeholder="Comment (optional), then rate an answer", show_label=False)
                    status = gr.Markdown()
                with gr.Column(scale=2):
                    panel = gr.HTML(sources.panel(None), elem_id="sources")
                    view = gr.HTML(viewer.EMPTY, elem_id="viewer")
                    action = gr.Textbox(elem_id="ui-action", elem_classes=["hidden-action"], show_label=False)
                    go = gr.Button("go", elem_id="ui-go", elem_classes=["hidden-action"])
        with gr.Tab("Library"):
            library_tab(lib)
        with gr.Tab("Prepare a session"):
            brief_tab(kb)

        conv_out = [chat, turns, panel, conv, convs, export_md, export_js, view]
        ask_out = [chat, turns, panel, box, conv, convs, export_md, export_js]
        for trigger, source in [(box.submit, box), (send.click, box)] + [(b.click, b) for b in starters]:
            trigger(app.respond, [source, chat, turns, conv, within], ask_out, api_visibility="private")
        chat.like(app.vote, [turns, comment], [status, comment], api_visibility="private")
        chat.select(app.show_sources, [turns], [panel], api_visibility="private")
        go.click(app.act, [action, turns], [panel, view], api_visibility="private").then(
            None, js=SCROLL, api_visibility="private")
        convs.input(app.reopen, [convs], conv_out, api_visibility="private")
        new.click(app.new, None, conv_out, api_visibility="private")
        delete.click(app.delete, [conv], conv_out, api_visibility="private")
        ui.load(None, js=JS, api_visibility="private")
        ui.load(lambda: (app.conversation_list(), gr.update(choices=lib.choices())), None, [convs, within],
                api_visibility="private")
        ask_tab.select(lambda chosen: gr.update(choices=lib.choices(), value=[p for p in chosen or [] if lib.title_of(p)]),
                       [within], [within], api_visibility="private")  # the library may have changed
        gr.api(app.api_chat, api_name="chat")
    return ui


def library_tab(lib: Library) -> None:
    """The Library tab, laid out in the current Blocks context, with its handlers wired."""
    table = gr.Dataframe(lib.rows(), headers=["title", "format", "passages", "ingested", "file"],
                         interactive=False, label="Indexed documents", elem_id="library")
    files = gr.File(file_count="multiple", file_types=UPLOAD_TYPES,
                    label=f"Upload PDF, TXT, MD, HTML, VTT, SRT or a recording (up to {MAX_UPLOAD_MB} MB each)")
    add = gr.Button("Add to the library", variant="primary")
    with gr.Row():
        which = gr.Dropdown(lib.choices(), value=None, label="Document", scale=3, elem_id="doc-pick")
        title = gr.Textbox(label="Title", scale=3, elem_id="doc-title")
        save = gr.Button("Save title", scale=1, elem_id="save-title")
        drop = gr.Button("Remove…", variant="stop", scale=1, elem_id="remove")
    with gr.Row(visible=False) as confirm:
        question = gr.Markdown(elem_id="remove-question")
        yes = gr.Button("Yes, remove", variant="stop", elem_id="remove-yes", scale=0)
        no = gr.Button("Cancel", elem_id="remove-no", scale=0)
    with gr.Row():
        note = gr.Markdown(elem_id="library-note")
        undo = gr.Button("Undo remove", visible=False, elem_id="undo", size="sm", scale=0)

    def refreshed(message: str, keep: str | None = None):
        return message, lib.rows(), gr.update(choices=lib.choices(), value=keep), gr.update(visible=lib.can_undo())

    def ask_first(path: str | None):
        if not path:
            return gr.update(visible=False), "", "Choose a document to remove first."
        return gr.update(visible=True), lib.confirm_text(path), ""

    which.change(lambda p: (lib.title_of(p), gr.update(visible=False)), [which], [title, confirm],
                 api_visibility="private")
    drop.click(ask_first, [which], [confirm, question, note], api_visibility="private")
    no.click(lambda: gr.update(visible=False), None, [confirm], api_visibility="private")
    yes.click(lambda p: (*refreshed(lib.remove(p)), gr.update(visible=False), ""), [which],
              [note, table, which, undo, confirm, title], api_visibility="private")
    undo.click(lambda: refreshed(lib.undo()), None, [note, table, which, undo], api_visibility="private")
    save.click(lambda p, t: refreshed(lib.retitle(p, t), p), [which, title], [note, table, which, undo],
               api_visibility="private")
    add.click(lambda f: refreshed(lib.upload(f)), [files], [note, table, which, undo], api_visibility="private")


def launch(kb: KnowledgeBase, host: str = "127.0.0.1", port: int = 7860, auth: tuple[str, str] | None = None,
           block: bool = True) -> gr.Blocks:
    """Serve the app. The page is up first; one question then warms every path (models, caches) in the
    background, so the first person to ask does not pay for it."""
    ui = build_ui(kb)
    ui.queue(default_concurrency_limit=4)
    ui.launch(server_name=host, server_port=port, auth=auth, prevent_thread_lock=True, css=CSS,
              max_file_size=f"{MAX_UPLOAD_MB}mb", show_error=True, quiet=not block,
              allowed_paths=sources.media_paths(kb))
    warm = threading.Thread(target=kb.ask, args=(kb.settings.domain.warm_up,), daemon=True)
    warm.start()
    if block:
        ui.block_thread()
    return ui
