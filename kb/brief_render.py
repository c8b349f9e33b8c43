"""A `Brief` (kb/brief.py) written out: Markdown to paste into slides, and one self-contained HTML page to
print. Text from documents is escaped in both: a document's HTML shows as text and never runs."""

from __future__ import annotations

import re
from html import escape

from kb.brief import Brief, Topic
from kb.types import Source, place

PROMPTS_NOTE = "Questions for the room, not facts from the materials."


def _how(topic: Topic) -> str:
    if topic.reader == "llm":
        return "condensed from the sources by the language model; each checked against the passage it cites"
    return "quoted word for word from the sources"


def _intro(brief: Brief) -> str:
    return (f"{len(brief.topics)} topic{'s' * (len(brief.topics) != 1)}. Every key point cites the numbered sources "
            "listed at the end, and verification removed anything a cited passage does not back. The passages to "
            "read aloud are quoted whole. Discussion prompts are questions for the room, not facts.")


# Markdown ---------------------------------------------------------------------------------------------------
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")
_MD_LINE_START = re.compile(r"^(\s*)(#|[-+]\s|\d+[.)]\s|>)")


def md(text: str) -> str:
    """Document text as Markdown that shows exactly that text: markup characters and HTML are escaped."""
    lines = [_MD_LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), _MD_SPECIAL.sub(r"\\\1", ln))
             for ln in text.split("\n")]
    return "\n".join(lines)


def _cites(ns) -> str:
    return "".join(f"[{n}]" for n in ns)


def to_markdown(brief: Brief) -> str:
    out = [f"# {md(brief.title)}", "", _intro(brief), ""]
    for i, t in enumerate(brief.topics, 1):
        out += [f"## {i}. {md(t.title)}", ""]
        if not t.covered:
            out += [f"_{md(t.note)}_", ""]
            continue
        out += [f"### Key points ({_how(t)})", ""]
        out += [f"- {md(p.text)} {_cites(p.cites)}" for p in t.points] + [""]
        if t.read_aloud:
            out += ["### Read aloud", ""]
            for r in t.read_aloud:
                out += [f"**{md(r.title)}** ({md(place(r.locator, text=r.text))}) [{r.n}]", ""]
                out += _quote(md(r.text)) + [""]
        if t.prompts:
            out += ["### Discussion prompts", "", f"_{PROMPTS_NOTE}_", ""]
            out += [f"{j}. {md(p.text)}" for j, p in enumerate(t.prompts, 1)] + [""]
    if brief.sources:
        out += ["## Sources", ""]
        out += [f"{s.n}. {_source_md(s)}" for s in brief.sources] + [""]
    return "\n".join(out)


def _quote(text: str) -> list[str]:
    """A blockquote that keeps the passage's lines: a line followed by another ends in a hard break (two
    spaces), else Markdown would run a list's items into one paragraph."""
    lines = [ln.rstrip() for ln in text.split("\n")]
    return ["> " + ln + ("  " if nxt.strip() else "") if ln.strip() else ">"
            for ln, nxt in zip(lines, lines[1:] + [""])]


def _source_md(s: Source) -> str:
    publisher = f", {md(s.publisher)}" if s.publisher else ""
    return f"*{md(s.title)}*{publisher} ({md(s.place)}); file `{s.path.split('/')[-1].replace('`', '')}`"


# HTML -------------------------------------------------------------------------------------------------------
CSS = """
body { font: 16px/1.5 Georgia, 'Times New Roman', serif; color: #1a1a1a; max-width: 46em; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.7em; margin-bottom: 0.2em; } h2 { font-size: 1.35em; border-bottom: 1px solid #ccc; margin-top: 1.8em; }
h3 { font-size: 1.05em; margin: 1.2em 0 0.4em; } .lede, .how, .note, .not-covered { color: #555; }
.how { font-weight: normal; font-size: 0.85em; } .not-covered { font-style: italic; }
.cite { font-size: 0.8em; color: #555; white-space: nowrap; } .cite a { color: inherit; }
blockquote { margin: 0.5em 0 1em; padding: 0.6em 1em; border-left: 4px solid #b08d57; background: #faf6ef; }
figcaption { font-size: 0.9em; color: #444; } .prompts li { margin-bottom: 0.4em; }
.sources li { margin-bottom: 0.3em; font-size: 0.92em; }
@media print {
  @page { margin: 2cm; }
  body { font-size: 11pt; max-width: none; margin: 0; padding: 0; }
  .topic { break-before: page; } .topic:first-of-type { break-before: auto; }
  blockquote { background: none; break-inside: avoid; } figure, li { break-inside: avoid; }
  h2, h3 { break-after: avoid; } a { color: inherit; text-decoration: none; }
  .sources { break-before: page; }
}
"""


def _cites_html(ns) -> str:
    return "<span class='cite'>" + "".join(f"<a href='#source-{n}'>[{n}]</a>" for n in ns) + "</span>"


def _topic_html(i: int, t: Topic) -> str:
    parts = [f"<section class='topic'><h2>{i}. {escape(t.title)}</h2>"]
    if not t.covered:
        return parts[0] + f"<p class='not-covered'>{escape(t.note)}</p></section>"
    parts.append(f"<h3>Key points <span class='how'>({escape(_how(t))})</span></h3><ul class='points'>")
    parts += [f"<li>{escape(p.text)} {_cites_html(p.cites)}</li>" for p in t.points]
    parts.append("</ul>")
    if t.read_aloud:
        parts.append("<h3>Read aloud</h3>")
        for r in t.read_aloud:
            body = escape(r.text).replace("\n", "<br>")
            parts.append(f"<figure class='read'><blockquote>{body}</blockquote><figcaption><b>{escape(r.title)}</b>"
                         f" · {escape(place(r.locator, text=r.text))} {_cites_html([r.n])}</figcaption></figure>")
    if t.prompts:
        parts.append(f"<h3>Discussion prompts</h3><p class='note'>{escape(PROMPTS_NOTE)}</p><ol class='prompts'>")
        parts += [f"<li>{escape(p.text)}</li>" for p in t.prompts]
        parts.append("</ol>")
    return "".join(parts) + "</section>"


def _source_html(s: Source) -> str:
    publisher = f", {escape(s.publisher)}" if s.publisher else ""
    quotes = " … ".join(s.quotes)
    quoted = f"<br><q>{escape(quotes)}</q>" if quotes else ""
    return (f"<li id='source-{s.n}'><i>{escape(s.title)}</i>{publisher} ({escape(s.place)}); "
            f"file <code>{escape(s.path.split('/')[-1])}</code>{quoted}</li>")


def to_html(brief: Brief) -> str:
    """One page, no scripts and nothing fetched: the stylesheet is inline, with a print layout (a topic per page)."""
    body = "".join(_topic_html(i, t) for i, t in enumerate(brief.topics, 1))
    sources = ""
    if brief.sources:
        sources = ("<section class='sources'><h2>Sources</h2><ol>" +
                   "".join(_source_html(s) for s in brief.sources) + "</ol></section>")
    return (f"<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>{escape(brief.title)}</title>"
            f"<style>{CSS}</style></head><body><header><h1>{escape(brief.title)}</h1>"
            f"<p class='lede'>{escape(_intro(brief))}</p></header>{body}{sources}</body></html>\n")
