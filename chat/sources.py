"""The sources panel: every text from a document is HTML-escaped before it is shown; quotes are <mark>ed;
a recording's card plays it from the cited time."""

from __future__ import annotations

import re
from html import escape
from pathlib import Path
from urllib.parse import quote

from ingest.audio import is_recording
from kb.types import Answer, Chunk, Source

VIDEO = (".mp4", ".webm")


def highlight(text: str, quotes: tuple[str, ...] | list[str]) -> str:
    """`text` escaped, with each quoted sentence wrapped in <mark>."""
    spans = []
    for q in quotes:
        i = text.find(q)
        if i >= 0:
            spans.append((i, i + len(q)))
    out, pos = [], 0
    for a, b in sorted(spans):
        if a < pos:
            continue
        out += [escape(text[pos:a]), "<mark>", escape(text[a:b]), "</mark>"]
        pos = b
    out.append(escape(text[pos:]))
    return "".join(out).replace("\n", "<br>")


def source_card(s: Source, before: list[Chunk] = (), after: list[Chunk] = ()) -> str:
    publisher = f" · {escape(s.publisher)}" if s.publisher else ""
    context = ""
    if before or after:
        prev = "".join(f"<p class='ctx'>{escape(c.text)}</p>" for c in before)
        nxt = "".join(f"<p class='ctx'>{escape(c.text)}</p>" for c in after)
        context = (f"<details class='context'><summary>Show in context</summary>{prev}"
                   f"<p class='cited'>{highlight(s.text, s.quotes)}</p>{nxt}</details>")
    return (
        f"<div class='source' id='source-{s.n}'><div class='source-head'><b>[{s.n}] {escape(s.title)}</b>"
        f"{publisher} · <span class='locator'>{escape(s.locator)}</span></div>"
        f"{player(s)}<div class='passage'>{highlight(s.text, s.quotes)}</div>{context}</div>"
    )


def player(s: Source) -> str:
    """An HTML5 player of a cited recording, set to the cited time (a media fragment, `#t=SECONDS`), or "".
    The app serves the file from the library (`media_paths`); nothing else on disk is reachable."""
    m = re.match(r"(?:(\d+):)?(\d+):(\d\d)\b", s.locator)
    if not is_recording(s.path) or not m:
        return ""
    seconds = int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + int(m.group(3))
    tag = "video" if Path(s.path).suffix.lower() in VIDEO else "audio"
    src = escape(f"/gradio_api/file={quote(s.path)}#t={seconds}")
    return (f"<{tag} class='recording' controls preload='metadata' src='{src}' "
            f"style='width:100%;max-height:240px'>Your browser cannot play {escape(Path(s.path).name)}.</{tag}>")


def media_paths(kb) -> list[str]:
    """The files the app may serve: the recordings in the library at start, and the upload folder (where
    recordings added in the chat go)."""
    return [str(kb.settings.store_dir / "uploads")] + [d.path for d in kb.documents() if is_recording(d.path)]


def panel(answer: Answer | None, context=None) -> str:
    """HTML for the sources of `answer`; `context(chunk_id)` gives (before, chunk, after) for each."""
    if answer is None:
        return "<div class='sources-empty'>Sources for the latest answer appear here.</div>"
    if not answer.sources:
        return "<div class='sources-empty'>No sources.</div>"
    head = ("<div class='refused-note'>The materials don't answer this. Closest passages:</div>"
            if answer.refused else "<div class='sources-title'>Sources</div>")
    cards = []
    for s in answer.sources:
        before, _, after = context(s.chunk_id) if context else ([], None, [])
        cards.append(source_card(s, before[-1:], after[:1]))
    return head + "".join(cards)
