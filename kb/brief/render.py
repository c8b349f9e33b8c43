"""A `Brief` (kb/brief/build.py) written out: Markdown to paste into slides, and one self-contained HTML page to
print. Text from documents is escaped in both: a document's HTML shows as text and never runs."""

from __future__ import annotations

import re
from html import escape

from kb.brief.model import Brief, Near, Topic
from kb.types import Source

PROMPTS_NOTE = "Questions for the room, not facts from the materials."


def _how(topic: Topic) -> str:
    if topic.reader in ("llm", "judged"):
        return "condensed from the sources by the language model; each checked against the passage it cites"
    return "quoted word for word from the sources"


def _intro(brief: Brief) -> str:
    return (f"{len(brief.topics)} topic{'s' * (len(brief.topics) != 1)}. Every key point cites the numbered sources "
            "listed at the end, and verification removed anything a cited passage does not back. The passages to "
            "read aloud are quoted whole. Discussion prompts are questions for the room, not facts.")


def _drawn_from(brief: Brief) -> list[str]:
    """The documents a brief was limited to, by title (empty: it drew on every document)."""
    return brief.doc_titles or [p.rsplit("/", 1)[-1] for p in brief.docs]


CLOSEST_NOTE = "The closest passages in the materials:"


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
    if _drawn_from(brief):
        out += ["Drawn from: " + "; ".join(f"*{md(d)}*" for d in _drawn_from(brief)) + ".", ""]
    for i, t in enumerate(brief.topics, 1):
        out += [f"## {i}. {md(t.title)}", ""]
        if not t.covered:
            out += [f"_{md(t.note)}_", ""]
            if t.closest:
                out += [CLOSEST_NOTE, ""] + [f"- {_near_md(n)}" for n in t.closest] + [""]
            continue
        out += [f"### Key points ({_how(t)})", ""]
        for p in t.points:
            out.append(f"- {md(p.text)} {_cites(p.cites)}")
            out += [f"  - {md(item)}" for item in p.items]
        out.append("")
        if t.read_aloud:
            out += ["### Read aloud", ""]
            for r in t.read_aloud:
                out += [f"**{md(r.title)}** ({md(r.locator)}) [{r.n}]", ""]
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


def _where(n: Near) -> str:
    """A closest passage's locator, unless it is only its opening words, which the excerpt shows anyway."""
    return "" if n.locator.startswith("“") else f" ({n.locator})"


def _near_md(n: Near) -> str:
    return f"*{md(n.title)}*{md(_where(n))}: “{md(n.text)}”"


def _source_md(s: Source) -> str:
    publisher = f", {md(s.publisher)}" if s.publisher else ""
    return f"*{md(s.title)}*{publisher} ({md(s.place)}); file `{s.path.split('/')[-1].replace('`', '')}`"


# HTML -------------------------------------------------------------------------------------------------------
# The print layout: A4 and Letter alike (margins fit both), a topic per page, each topic's sources as its
# footnotes (the list at the end is for the screen), nothing a link or a colour needs to explain.
CSS = """
body { font: 16px/1.5 Georgia, 'Times New Roman', serif; color: #1a1a1a; max-width: 46em; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.7em; margin-bottom: 0.2em; } h2 { font-size: 1.35em; border-bottom: 1px solid #ccc; margin-top: 1.8em; }
h3 { font-size: 1.05em; margin: 1.2em 0 0.4em; } .lede, .how, .note, .not-covered { color: #555; }
.how { font-weight: normal; font-size: 0.85em; } .not-covered { font-style: italic; }
.cite { font-size: 0.8em; color: #555; white-space: nowrap; } .cite a { color: inherit; }
blockquote { margin: 0.5em 0 1em; padding: 0.6em 1em; border-left: 4px solid #b08d57; background: #faf6ef; }
figcaption { font-size: 0.9em; color: #444; } .prompts li { margin-bottom: 0.4em; }
.sources li { margin-bottom: 0.3em; font-size: 0.92em; }
ul.items { margin: 0.3em 0 0.5em; } ul.items li { margin-bottom: 0.2em; }
.closest li { margin-bottom: 0.4em; color: #333; } .drawn { font-size: 0.92em; color: #444; }
.footnotes { display: none; }
@media print {
  @page { size: auto; margin: 18mm 17mm 20mm; @bottom-center { content: counter(page); font-size: 9pt; } }
  body { font-size: 11pt; max-width: none; margin: 0; padding: 0; }
  .topic { break-before: page; } .topic:first-of-type { break-before: auto; }
  blockquote { background: none; break-inside: avoid; } figure, li { break-inside: avoid; }
  h2, h3 { break-after: avoid; } a { color: inherit; text-decoration: none; }
  .footnotes { display: block; margin-top: 1.5em; border-top: 0.5pt solid #999; padding-top: 0.4em;
               font-size: 8.5pt; line-height: 1.35; color: #333; break-inside: avoid; }
  .footnotes ol { margin: 0; padding-left: 2.2em; } .footnotes li { margin: 0 0 0.2em; } code { font-size: 0.9em; }
  .sources { display: none; }
}
"""


def _cites_html(ns) -> str:
    return "<span class='cite'>" + "".join(f"<a href='#source-{n}'>[{n}]</a>" for n in ns) + "</span>"


def _topic_html(i: int, t: Topic, sources: dict[int, Source]) -> str:
    parts = [f"<section class='topic'><h2>{i}. {escape(t.title)}</h2>"]
    if not t.covered:
        near = ""
        if t.closest:
            near = (f"<p>{escape(CLOSEST_NOTE)}</p><ul class='closest'>" + "".join(
                f"<li><i>{escape(n.title)}</i>{escape(_where(n))}: “{escape(n.text)}”</li>" for n in t.closest)
                + "</ul>")
        return parts[0] + f"<p class='not-covered'>{escape(t.note)}</p>{near}</section>"
    parts.append(f"<h3>Key points <span class='how'>({escape(_how(t))})</span></h3><ul class='points'>")
    for p in t.points:
        items = "".join(f"<li>{escape(item)}</li>" for item in p.items)
        parts.append(f"<li>{escape(p.text)} {_cites_html(p.cites)}" + (f"<ul class='items'>{items}</ul>" if items else "")
                     + "</li>")
    parts.append("</ul>")
    if t.read_aloud:
        parts.append("<h3>Read aloud</h3>")
        for r in t.read_aloud:
            body = escape(r.text).replace("\n", "<br>")
            parts.append(f"<figure class='read'><blockquote>{body}</blockquote><figcaption><b>{escape(r.title)}</b>"
                         f" · {escape(r.locator)} {_cites_html([r.n])}</figcaption></figure>")
    if t.prompts:
        parts.append(f"<h3>Discussion prompts</h3><p class='note'>{escape(PROMPTS_NOTE)}</p><ol class='prompts'>")
        parts += [f"<li>{escape(p.text)}</li>" for p in t.prompts]
        parts.append("</ol>")
    return "".join(parts) + _footnotes(t, sources) + "</section>"


def _footnotes(t: Topic, sources: dict[int, Source]) -> str:
    """The topic's sources at its foot, for print: the page of a topic carries what its [n] refer to."""
    cited = sorted({n for p in t.points for n in p.cites} | {r.n for r in t.read_aloud})
    notes = "".join(f"<li value='{n}'>{_source_line(sources[n])}</li>" for n in cited if n in sources)
    return f"<aside class='footnotes'><ol>{notes}</ol></aside>" if notes else ""


def _source_line(s: Source) -> str:
    publisher = f", {escape(s.publisher)}" if s.publisher else ""
    return f"<i>{escape(s.title)}</i>{publisher} ({escape(s.locator)}); file <code>{escape(s.path.split('/')[-1])}</code>"


def _source_html(s: Source) -> str:
    quotes = " … ".join(s.quotes)
    quoted = f"<br><q>{escape(quotes)}</q>" if quotes else ""
    return f"<li id='source-{s.n}'>{_source_line(s)}{quoted}</li>"


def to_html(brief: Brief) -> str:
    """One page, no scripts and nothing fetched: the stylesheet is inline, with a print layout (a topic per page)."""
    by_n = {s.n: s for s in brief.sources}
    body = "".join(_topic_html(i, t, by_n) for i, t in enumerate(brief.topics, 1))
    drawn = _drawn_from(brief)
    drawn_html = ("<p class='drawn'>Drawn from: " + "; ".join(f"<i>{escape(d)}</i>" for d in drawn) + ".</p>"
                  if drawn else "")
    sources = ""
    if brief.sources:
        sources = ("<section class='sources'><h2>Sources</h2><ol>" +
                   "".join(_source_html(s) for s in brief.sources) + "</ol></section>")
    return (f"<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>{escape(brief.title)}</title>"
            f"<style>{CSS}</style></head><body><header><h1>{escape(brief.title)}</h1>"
            f"<p class='lede'>{escape(_intro(brief))}</p>{drawn_html}</header>{body}{sources}</body></html>\n")
