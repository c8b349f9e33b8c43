"""The Gradio app: `build_ui(kb)` -> gr.Blocks. An adapter over `KnowledgeBase`; no retrieval or citation
logic here. Handlers are methods of `ChatApp`, plain functions and generators a test can call directly.
"""

from __future__ import annotations

import logging
import re
import tempfile
import threading
import time
from html import escape
from pathlib import Path

import gradio as gr

from chat import feedback, sources
from chat.brief_tab import brief_tab
from chat.uploads import MAX_UPLOAD_MB, save_upload
from kb.engine import KnowledgeBase
from kb.errors import KBError
from kb.render import conversation_markdown, to_markdown
from kb.types import Answer

log = logging.getLogger(__name__)

STARTERS = {
    "New to a partnership": [
        "Who convenes a partnership?",
        "What are WED's four key principles?",
        "What do workers gain from an HRTP?",
        "What do employers gain from HRTPs?",
    ],
    "Preparing HRTP 101": [
        "What are the essential elements of a high road framework?",
        "When was the High Roads Initiative launched?",
        "What do high road strategies prioritize?",
        "What do worker organizations and unions gain?",
        "How do communities benefit from HRTPs?",
        "What does the HRTP 101 webinar cover?",
    ],
}
UPLOAD_TYPES = [".pdf", ".txt", ".md", ".html", ".htm", ".vtt", ".srt", ".mp3", ".m4a", ".wav", ".mp4", ".webm", ".ogg", ".flac"]
CSS = """
.source { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 10px; margin: 8px 0; }
.source-head { font-size: 0.92em; margin-bottom: 4px; }
.passage, .ctx, .cited { font-size: 0.9em; line-height: 1.45; }
.ctx { color: var(--body-text-color-subdued); }
mark { background: #fde68a; color: inherit; padding: 0 1px; }
.refused-note { font-weight: 600; color: #b45309; margin-bottom: 6px; }
.sources-title { font-weight: 600; }
.sources-empty { color: var(--body-text-color-subdued); font-style: italic; }
"""


class ChatApp:
    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.store_dir = kb.settings.store_dir
        self.uploads = self.store_dir / "uploads"

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

    def respond(self, message: str, chat: list[dict], turns: list[Answer]):
        """Generator. With the model reader: the quoted answer at once, then the model's words as it writes
        them (marked as being checked), then the verified answer with a note for any sentence removed, and
        the sources panel. With the quoting reader: the answer claim by claim."""
        message = (message or "").strip()
        if not message:
            yield chat, turns, gr.skip(), ""
            return
        chat = chat + [{"role": "user", "content": escape(message[:2000])}]
        draft = ""
        try:
            for kind, value in self.kb.stream(message, self._history(turns)):
                if kind == "quick":
                    quick = display_text(value) if not value.refused else ""
                    note = f"_Quoting the sources while the reader checks its answer…_\n\n{quick}".strip()
                    yield chat + [{"role": "assistant", "content": note}], turns, sources.panel(value, self.kb.context), ""
                elif kind == "text":
                    draft += value
                    shown = f"_Checking against the sources…_\n\n{escape(draft, quote=False)}"
                    yield chat + [{"role": "assistant", "content": shown}], turns, gr.skip(), ""
                else:
                    answer = value
        except KBError as exc:
            answer = Answer(message, str(exc), True)
        turns = turns + [answer]
        full = display_text(answer)
        if not draft:  # quoting reader: one claim at a time, each yield a new list (Gradio diffs what it is given)
            for end in [m.end() for m in re.finditer(r"\]", full)][:-1]:
                yield chat + [{"role": "assistant", "content": full[:end]}], turns, gr.skip(), ""
                time.sleep(0.02)
        yield chat + [{"role": "assistant", "content": full}], turns, sources.panel(answer, self.kb.context), ""

    def api_chat(self, message: str) -> str:
        """The `/chat` endpoint: the answer with its citations written out (Markdown)."""
        return to_markdown(self.ask(message, []))

    def show_sources(self, turns: list[Answer], data: gr.SelectData) -> str:
        i = data.index // 2 if isinstance(data.index, int) else 0
        return sources.panel(turns[i], self.kb.context) if 0 <= i < len(turns) else gr.skip()

    def vote(self, turns: list[Answer], comment: str, data: gr.LikeData) -> tuple[str, str]:
        i = data.index // 2 if isinstance(data.index, int) else len(turns) - 1
        if not (0 <= i < len(turns)):
            return "Nothing to rate yet.", comment
        kind = "up" if data.liked else "down"
        feedback.record(self.store_dir, turns[i].to_json(), kind, comment or "")
        return f"Thanks: your {'thumbs up' if data.liked else 'thumbs down'} on answer {i + 1} was saved.", ""

    def export(self, turns: list[Answer]) -> str | None:
        if not turns:
            return None
        path = Path(tempfile.mkdtemp(prefix="hrtp-export-")) / "hrtp-conversation.md"
        path.write_text(conversation_markdown(turns), encoding="utf-8")
        return str(path)

    # library ------------------------------------------------------------------------------------------
    def documents(self) -> list[list]:
        return [[d.title, d.kind or "-", d.n_chunks, time.strftime("%Y-%m-%d %H:%M", time.localtime(d.ingested_at)), d.path]
                for d in self.kb.documents()]

    def document_choices(self) -> list[tuple[str, str]]:
        return [(f"{d.title} ({Path(d.path).name})", d.path) for d in self.kb.documents()]

    def upload(self, files: list[str] | None, progress=gr.Progress()) -> tuple[str, list[list], dict]:
        lines, saved = [], []
        for f in files or []:
            p = Path(getattr(f, "name", f))
            result = save_upload(p, p.name, self.uploads)
            if result.error:
                lines.append(f"- ❌ **{escape(result.name)}**: {escape(result.error)}")
            else:
                saved.append(result.path)
        if saved:
            progress(0.1, desc=f"Ingesting {len(saved)} file(s)")
            report = self.kb.ingest(saved, progress=False)
            failed = {f.path: f.reason for f in report.files_failed}
            for p in saved:
                if str(p) in failed:
                    lines.append(f"- ❌ **{escape(p.name)}**: {escape(failed[str(p)])}")
                    p.unlink(missing_ok=True)
                else:
                    lines.append(f"- ✅ **{escape(p.name)}** is in the library")
            progress(1.0)
        return "\n".join(lines) or "Choose files to upload.", self.documents(), gr.update(choices=self.document_choices())

    def remove(self, path: str | None) -> tuple[str, list[list], dict]:
        if not path:
            return "Choose a document to remove.", self.documents(), gr.update()
        removed = self.kb.remove(path)
        p = Path(path)
        if removed and p.parent.resolve() == self.uploads.resolve():
            p.unlink(missing_ok=True)  # an upload lives only in the store; a folder on disk is the user's
        note = f"Removed {escape(p.name)}." if removed else f"{escape(p.name)} was not in the library."
        return note, self.documents(), gr.update(choices=self.document_choices(), value=None)


def display_text(answer: Answer) -> str:
    """Escaped for the chat (a document's HTML shows as text); a refusal says so plainly; sentences that
    verification removed are counted, so nobody wonders where the draft's words went."""
    text = escape(answer.text, quote=False)
    if answer.refused and answer.sources:
        text = f"**Not in the materials.** {text.replace('listed below', 'in the sources panel')}"
    if answer.dropped:
        n = len(answer.dropped)
        text += f"\n\n_{n} sentence{'s' if n > 1 else ''} removed: not supported by the sources._"
    return text


def build_ui(kb: KnowledgeBase) -> gr.Blocks:
    app = ChatApp(kb)
    with gr.Blocks(title="HRTP knowledge base", analytics_enabled=False) as ui:
        turns = gr.State([])
        gr.Markdown("## HRTP knowledge base\nAnswers quote the High Road Training Partnership materials; "
                    "every sentence cites a numbered source. If the materials don't say, it tells you.")
        with gr.Tab("Ask"):
            with gr.Row():
                with gr.Column(scale=3):
                    chat = gr.Chatbot(label="Conversation", height=460, feedback_options=("Like", "Dislike"),
                                      elem_id="chat", sanitize_html=True)
                    with gr.Row():
                        box = gr.Textbox(placeholder="Ask about HRTPs, e.g. Who convenes a partnership?",
                                         show_label=False, scale=5, elem_id="question", max_length=4000)
                        send = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
                    starters: list[gr.Button] = []
                    for group, questions in STARTERS.items():
                        gr.Markdown(f"**{group}:**")
                        with gr.Row():
                            starters += [gr.Button(q, size="sm", elem_classes=["starter"]) for q in questions]
                    with gr.Row():
                        comment = gr.Textbox(placeholder="Comment (optional), then rate an answer",
                                             show_label=False, scale=4)
                        export = gr.DownloadButton("Export conversation", scale=1, size="sm")
                        clear = gr.Button("New conversation", scale=1, size="sm")
                    status = gr.Markdown()
                with gr.Column(scale=2):
                    panel = gr.HTML(sources.panel(None), elem_id="sources")
        with gr.Tab("Library"):
            table = gr.Dataframe(app.documents(), headers=["title", "kind", "chunks", "ingested", "path"],
                                 interactive=False, label="Indexed documents")
            files = gr.File(file_count="multiple", file_types=UPLOAD_TYPES,
                            label=f"Upload PDF, TXT, MD, HTML, VTT, SRT or a recording (up to {MAX_UPLOAD_MB} MB each)")
            add = gr.Button("Add to the library", variant="primary")
            with gr.Row():
                which = gr.Dropdown(app.document_choices(), label="Remove a document", scale=4)
                drop = gr.Button("Remove", variant="stop", scale=1)
            library_note = gr.Markdown()
        with gr.Tab("Prepare a session"):
            brief_tab(kb)

        ask_out = [chat, turns, panel, box]
        box.submit(app.respond, [box, chat, turns], ask_out, api_visibility="private")
        send.click(app.respond, [box, chat, turns], ask_out, api_visibility="private")
        for b in starters:
            b.click(app.respond, [b, chat, turns], ask_out, api_visibility="private")
        chat.like(app.vote, [turns, comment], [status, comment], api_visibility="private")
        chat.select(app.show_sources, [turns], [panel], api_visibility="private")
        export.click(app.export, [turns], [export], api_visibility="private")
        clear.click(lambda: ([], [], sources.panel(None), ""), None, [chat, turns, panel, status],
                    api_visibility="private")
        add.click(app.upload, [files], [library_note, table, which], api_visibility="private")
        drop.click(app.remove, [which], [library_note, table, which], api_visibility="private")
        gr.api(app.api_chat, api_name="chat")
    return ui


def launch(kb: KnowledgeBase, host: str = "127.0.0.1", port: int = 7860, auth: tuple[str, str] | None = None,
           block: bool = True) -> gr.Blocks:
    """Serve the app. The page is up first; one question then warms every path (models, caches) in the
    background, so the first person to ask does not pay for it."""
    ui = build_ui(kb)
    ui.queue(default_concurrency_limit=4)
    ui.launch(server_name=host, server_port=port, auth=auth, prevent_thread_lock=True, css=CSS,
              max_file_size=f"{MAX_UPLOAD_MB}mb", show_error=True, quiet=not block,
              allowed_paths=sources.media_paths(kb))
    warm = threading.Thread(target=kb.ask, args=("What are WED's four key principles?",), daemon=True)
    warm.start()
    if block:
        ui.block_thread()
    return ui
