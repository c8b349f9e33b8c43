"""The sources panel: every text from a document is HTML-escaped before it is shown; quotes are <mark>ed.
Each card has "Open" (the document at the passage, chat/viewer.py); `[n]` in an answer selects card n."""

from __future__ import annotations

import re
from html import escape

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
        f"<div class='passage'>{highlight(s.text, s.quotes)}</div></div>"
    )


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
