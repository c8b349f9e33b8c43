"""What the answer area shows: only checked text.

While the reader model works, the area shows the quoted (extractive) answer inside a labelled block, never the
model's own words: verification judges the whole answer (its coverage, and possibly a refusal decided after the
last sentence), so no sentence of the model's is certain until the checked `Answer` exists. Then the checked
answer replaces the block, with `[n]` as links that select source n. A refusal banner only on a refusal.
"""

from __future__ import annotations

import re
from html import escape

from kb.types import Answer

QUOTING = "Quoted from the sources while the answer is checked"
READING = "Reading the sources; the checked answer follows"
_CITE = re.compile(r"\[(\d+)\]")


def pending(quick: Answer | None) -> str:
    """The labelled quote block shown while the model reads (a blockquote whose first line says what it is)."""
    if quick is None or quick.refused or not quick.text.strip():
        return f"> _{READING}…_"
    body = escape(quick.text, quote=False)
    return f"> **{QUOTING}:**\n>\n" + "\n".join(f"> {ln}" if ln.strip() else ">" for ln in body.splitlines())


def cite_links(text: str, turn: int) -> str:
    """`[n]` -> a link the page's script turns into "select source n of this turn" (href only names it)."""
    return _CITE.sub(lambda m: f"[\\[{m.group(1)}\\]](#cite-{turn}-{m.group(1)})", text)


def final(answer: Answer, turn: int, upto: int | None = None, titles: dict[str, str] | None = None) -> str:
    """The checked answer, escaped (a document's HTML shows as text), `[n]` linked. A refusal says so plainly;
    sentences verification removed are counted, so nobody wonders where words went. `upto`: only the answer's
    first `upto` characters (streaming a finished answer claim by claim: each step a prefix of the last).
    An answer asked within chosen documents names them (`titles`: path -> title)."""
    text = cite_links(escape(answer.text[:upto] if upto else answer.text, quote=False), turn)
    if answer.refused and answer.sources:
        text = f"**Not in the materials.** {text.replace('listed below', 'in the sources panel')}"
    if upto is not None:
        return text
    if answer.dropped:
        n = len(answer.dropped)
        text += f"\n\n_{n} sentence{'s' if n > 1 else ''} removed: not supported by the sources._"
    if answer.docs:
        names = [(titles or {}).get(p) or p.rsplit("/", 1)[-1] for p in answer.docs]
        text += "\n\n_Searched only: " + "; ".join(f"“{escape(n, quote=False)}”" for n in names) + "._"
    return text


def claim_ends(answer: Answer) -> list[int]:
    """Where each cited claim of a finished answer ends, for showing it claim by claim."""
    if answer.refused:
        return []
    return [m.end() for m in _CITE.finditer(answer.text) if not answer.text[m.end():].lstrip().startswith("[")][:-1]
