"""The sources panel: every text from a document is HTML-escaped before it is shown; quotes are <mark>ed;
a recording's card plays it from the cited time. Each card has "Open" (the document at the passage,
chat/viewer.py); `[n]` in an answer selects card n."""

from __future__ import annotations

import re
from html import escape
from pathlib import Path
from urllib.parse import quote

from ingest.audio import is_recording
from kb.types import Answer, Source


def locate(text: str, needle: str) -> tuple[int, int] | None:
    """Where `needle` is in `text`: exactly, else word for word whatever the spacing and punctuation between
    (a bullet, a line break, a PDF's hyphen), else from its first to its last few words."""
    needle = needle.strip()
    if not needle:
        return None
    i = text.find(needle)
    if i >= 0:
        return i, i + len(needle)
    words = re.findall(r"\w+", needle)
    if not words:
        return None
    m = re.search(r"\W+".join(map(re.escape, words)), text, re.I)
    if m:
        return m.span()
    if len(words) >= 12:
        head = re.search(r"\W+".join(map(re.escape, words[:6])), text, re.I)
        tail = head and re.compile(r"\W+".join(map(re.escape, words[-6:])), re.I).search(text, head.end())
        if tail and tail.end() - head.start() < 3 * len(needle):
            return head.start(), tail.end()
    return None

VIDEO = (".mp4", ".webm")


def highlight(text: str, quotes: tuple[str, ...] | list[str]) -> str:
    """`text` escaped, with each quoted sentence wrapped in <mark>."""
    spans = sorted(s for s in (locate(text, q) for q in quotes) if s)
    out, pos = [], 0
    for a, b in spans:
        if a < pos:
            continue
        out += [escape(text[pos:a]), "<mark>", escape(text[a:b]), "</mark>"]
        pos = b
    out.append(escape(text[pos:]))
    return "".join(out).replace("\n", "<br>")


def source_card(s: Source, turn: int | None = None, selected: bool = False) -> str:
    publisher = f" · {escape(s.publisher)}" if s.publisher else ""
    opener = (f" <button class='open-source' data-action='open|{turn}|{s.n}' title='Show the document at this "
              f"passage'>Open</button>") if turn is not None else ""
    return (
        f"<div class='source{' selected' if selected else ''}' id='source-{s.n}'><div class='source-head'>"
        f"<b>[{s.n}] {escape(s.title)}</b>{publisher} · <span class='locator'>{escape(s.place)}</span>{opener}</div>"
        f"{player(s)}<div class='passage'>{highlight(s.text, s.quotes)}</div></div>"
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


def panel(answer: Answer | None, turn: int | None = None, selected: int | None = None, pending: bool = False) -> str:
    """HTML for the sources of `answer` (turn `turn` of the conversation). `pending`: the passages the reader is
    reading; no verdict yet, so never "the materials don't answer this"."""
    if pending and (answer is None or not answer.sources):
        return "<div class='sources-empty'>Reading the sources…</div>"
    if answer is None:
        return "<div class='sources-empty'>Sources for the latest answer appear here.</div>"
    if not answer.sources:
        return "<div class='sources-empty'>No sources.</div>"
    if pending:
        head = "<div class='sources-title'>Passages being read</div>"
        turn = None  # their numbers are the quotes', not the checked answer's
    elif answer.refused:
        head = "<div class='refused-note'>The materials don't answer this. Closest passages:</div>"
    else:
        head = "<div class='sources-title'>Sources</div>"
    return head + "".join(source_card(s, turn, s.n == selected) for s in answer.sources)
