"""The "Prepare a session" tab: tick the default topics (corpus/domain.toml) or type your own, choose the documents (default all), build
a brief with the same code as `hrtp brief` (kb/brief/build.py), watch its topics appear as each is done, download it
as Markdown or as a printable HTML page. An adapter: no retrieval, ranking or citation logic here; document
text reaches the page escaped (kb/brief/render.py)."""

from __future__ import annotations

import queue
import tempfile
import threading
from html import escape
from pathlib import Path
from typing import Iterator

import gradio as gr

from kb.brief.build import MAX_TOPIC_CHARS, build_brief, clean_topics
from kb.brief.render import to_html, to_markdown
from kb.brief.model import Brief
from kb.errors import KBError

MAX_TOPICS = 12
EMPTY = "_Tick a topic or type one, then build the brief. The preview appears here._"


class BriefTab:
    """Handlers as plain methods, so a test can call them."""

    def __init__(self, kb) -> None:
        self.kb = kb
        self.domain = kb.settings.domain

    def topics(self, chosen: list[str] | None, extra: str | None) -> list[str]:
        """The ticked topics in their usual order, then the typed ones (one per line)."""
        typed = [line for line in (extra or "").splitlines() if line.strip()]
        picked = [t for t in self.domain.default_topics if t in (chosen or [])] + typed
        return clean_topics(picked)[:MAX_TOPICS] if picked else []  # nothing picked is not "the defaults" here

    def document_choices(self) -> list[tuple[str, str]]:
        """(label, stored path) of every document, for the document choice."""
        return [(f"{d.title} ({Path(d.path).name})", d.path) for d in self.kb.documents()]

    def refresh(self) -> dict:
        return gr.update(choices=self.document_choices())

    def build(self, chosen: list[str] | None, extra: str | None, docs: list[str] | None = None,
              progress=gr.Progress()) -> Iterator[tuple[str, str | None, str | None]]:
        """The preview (Markdown), once more after each topic is done, then with the paths of the .md and .html
        files to download. The brief is built in a worker thread; its progress moves the bar here."""
        topics = self.topics(chosen, extra)
        if not topics:
            yield "Tick at least one topic, or type one (one per line).", None, None
            return
        progress(0, desc="Starting")
        events: queue.Queue = queue.Queue()

        def work() -> None:
            try:
                events.put(("brief", build_brief(
                    self.kb, topics, docs=list(docs or []) or None,
                    progress=lambda done, total, desc: events.put(("progress", (done / total, desc))),
                    on_topic=lambda i, topic: events.put(("topic", topic)))))
            except BaseException as exc:  # handed to this thread, which shows or raises it
                events.put(("error", exc))

        threading.Thread(target=work, daemon=True, name="hrtp-brief").start()
        done: list = []
        while True:
            kind, value = events.get()
            if kind == "progress":
                progress(value[0], desc=value[1])
            elif kind == "topic":
                done.append(value)
                yield to_markdown(Brief(done, [], "", title=f"{self.domain.brief_title} ({len(done)} of "
                                        f"{len(topics)} topics; sources when all are done)")), None, None
            elif kind == "error":
                if isinstance(value, KBError):  # e.g. an empty store or a removed document: say what to do
                    yield escape(str(value)), None, None
                    return
                raise value
            else:
                yield self._files(value)
                return

    @staticmethod
    def _files(brief: Brief) -> tuple[str, str, str]:
        folder = Path(tempfile.mkdtemp(prefix="hrtp-brief-"))
        md_path, html_path = folder / "hrtp-session-brief.md", folder / "hrtp-session-brief.html"
        markdown = to_markdown(brief)
        md_path.write_text(markdown, encoding="utf-8")
        html_path.write_text(to_html(brief), encoding="utf-8")
        return markdown, str(md_path), str(html_path)


def brief_tab(kb) -> BriefTab:
    """The tab's components, laid out in the current Blocks context, with their handlers wired."""
    tab = BriefTab(kb)
    topics = list(tab.domain.default_topics)
    gr.Markdown(f"Build a session handout for {tab.domain.session}: per topic, key points with numbered sources, "
                "passages to read aloud word for word, and discussion prompts for the room. Topics the materials "
                "don't cover say so.")
    with gr.Row():
        chosen = gr.CheckboxGroup(topics, value=topics, label=f"{tab.domain.session} topics",
                                  elem_id="brief-topics", scale=2)
        extra = gr.Textbox(label="Other topics (one per line)", lines=3, max_lines=MAX_TOPICS,
                           max_length=MAX_TOPICS * (MAX_TOPIC_CHARS + 1), placeholder="worker voice\njob quality",
                           elem_id="brief-extra", scale=2)
    docs = gr.Dropdown(tab.document_choices(), value=[], multiselect=True, elem_id="brief-docs",
                       label="Documents to draw on (none chosen: all of them)")
    build = gr.Button("Build brief", variant="primary", elem_id="brief-build")
    with gr.Row():
        md_file = gr.DownloadButton("Download Markdown", elem_id="brief-md", size="sm")
        html_file = gr.DownloadButton("Download printable HTML", elem_id="brief-html", size="sm")
    preview = gr.Markdown(EMPTY, elem_id="brief-preview", sanitize_html=True)
    build.click(tab.build, [chosen, extra, docs], [preview, md_file, html_file], api_visibility="private")
    docs.focus(tab.refresh, None, [docs], api_visibility="private")  # documents uploaded since the page loaded
    return tab
