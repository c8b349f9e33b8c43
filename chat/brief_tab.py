"""The "Prepare a session" tab: tick HRTP 101 topics or type your own, build a brief with the same code as
`hrtp brief` (kb/brief.py), preview it, download it as Markdown or as a printable HTML page. An adapter: no
retrieval, ranking or citation logic here; document text reaches the page escaped (kb/brief_render.py)."""

from __future__ import annotations

import tempfile
from html import escape
from pathlib import Path

import gradio as gr

from kb.brief import DEFAULT_TOPICS, MAX_TOPIC_CHARS, build_brief, clean_topics, to_html, to_markdown
from kb.errors import KBError

MAX_TOPICS = 12
EMPTY = "_Tick a topic or type one, then build the brief. The preview appears here._"


class BriefTab:
    """Handlers as plain methods, so a test can call them."""

    def __init__(self, kb) -> None:
        self.kb = kb

    @staticmethod
    def topics(chosen: list[str] | None, extra: str | None) -> list[str]:
        """The ticked topics in their usual order, then the typed ones (one per line)."""
        typed = [line for line in (extra or "").splitlines() if line.strip()]
        picked = [t for t in DEFAULT_TOPICS if t in (chosen or [])] + typed
        return clean_topics(picked)[:MAX_TOPICS] if picked else []  # nothing picked is not "the defaults" here

    def build(self, chosen: list[str] | None, extra: str | None,
              progress=gr.Progress()) -> tuple[str, str | None, str | None]:
        """The preview (Markdown) and the paths of the .md and .html files to download."""
        topics = self.topics(chosen, extra)
        if not topics:
            return "Tick at least one topic, or type one (one per line).", None, None
        progress(0, desc="Starting")
        try:
            brief = build_brief(self.kb, topics, progress=lambda done, total, desc: progress(done / total, desc=desc))
        except KBError as exc:  # e.g. an empty store: say what to do
            return escape(str(exc)), None, None
        folder = Path(tempfile.mkdtemp(prefix="hrtp-brief-"))
        md_path, html_path = folder / "hrtp-session-brief.md", folder / "hrtp-session-brief.html"
        markdown = to_markdown(brief)
        md_path.write_text(markdown, encoding="utf-8")
        html_path.write_text(to_html(brief), encoding="utf-8")
        return markdown, str(md_path), str(html_path)


def brief_tab(kb) -> BriefTab:
    """The tab's components, laid out in the current Blocks context, with their handlers wired."""
    tab = BriefTab(kb)
    gr.Markdown("Build a handout for an HRTP 101 session: per topic, key points with numbered sources, passages "
                "to read aloud word for word, and discussion prompts for the room. Topics the materials don't "
                "cover say so.")
    with gr.Row():
        chosen = gr.CheckboxGroup(list(DEFAULT_TOPICS), value=list(DEFAULT_TOPICS), label="HRTP 101 topics",
                                  elem_id="brief-topics", scale=2)
        extra = gr.Textbox(label="Other topics (one per line)", lines=3, max_lines=MAX_TOPICS,
                           max_length=MAX_TOPICS * (MAX_TOPIC_CHARS + 1), placeholder="worker voice\njob quality",
                           elem_id="brief-extra", scale=2)
    build = gr.Button("Build brief", variant="primary", elem_id="brief-build")
    with gr.Row():
        md_file = gr.DownloadButton("Download Markdown", elem_id="brief-md", size="sm")
        html_file = gr.DownloadButton("Download printable HTML", elem_id="brief-html", size="sm")
    preview = gr.Markdown(EMPTY, elem_id="brief-preview", sanitize_html=True)
    build.click(tab.build, [chosen, extra], [preview, md_file, html_file], api_visibility="private")
    return tab
