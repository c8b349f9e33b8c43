"""Claims: the sentences of an answer with the sources they cite, and the `sentence [n]` text form.

Every reader produces claims; kb/ask/verify.py checks them; `render` writes the answer text every face shows.
`parse` reads a language model's free text back into claims, whatever marker style it used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from kb.text.sentences import sentence_spans

@dataclass(frozen=True)
class Claim:
    text: str
    cites: tuple[int, ...] = ()  # source numbers; empty until a citation is found for it
    item: bool = False  # a list item: rendered on its own line
    cont: bool = False  # a further sentence of the list item before it


def render(claims: list[Claim]) -> str:
    out, in_list = "", False
    for c in claims:
        body = f"{c.text} {''.join(f'[{n}]' for n in c.cites)}".rstrip()
        if c.item:
            out += f"\n- {body}"
        elif c.cont:
            out += f" {body}"
        elif in_list:  # a sentence after a list is a paragraph of its own, not part of the last item (Markdown)
            out += f"\n\n{body}"
        else:
            out += f" {body}" if out else body
        in_list = c.item or (c.cont and in_list)
    return out.strip()


def renumber(claims: list[Claim]) -> tuple[list[Claim], dict[int, int]]:
    """Source numbers in order of first citation (1, 2, ...), and the map from the old numbers."""
    order: dict[int, int] = {}
    for c in claims:
        for n in c.cites:
            order.setdefault(n, len(order) + 1)
    return [replace(c, cites=tuple(dict.fromkeys(order[n] for n in c.cites))) for c in claims], order


def split_claims(text: str) -> list[tuple[str, list[int]]]:
    """An answer's sentences with the source numbers each cites: `sentence [1]` -> ("sentence", [1])."""
    out = []
    for m in re.finditer(r"(?:^|(?<=\]))[ \t]*\n?(?:- )?(.+?)((?:\s*\[\d+\])+)", text, re.S):
        out.append((m.group(1).strip(), [int(n) for n in re.findall(r"\d+", m.group(2))]))
    return out


# A model writes markers many ways: [1], [1][2], [1, 2], [Passage 1], (1), 【1】.
_MARK = re.compile(r"\s*(?:\[(?:passages?\s*)?(\d+(?:\s*(?:,|and|&)\s*\d+)*)\]|【(\d+)】|\((?:passage\s*)?(\d+)\))", re.I)
_ITEM = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+")


def parse(text: str, n_sources: int) -> list[Claim]:
    """A model's answer as claims: one per sentence, list lines as items, markers read and removed.
    A sentence without a marker of its own takes none (verification may find one); markers naming no
    given source are dropped."""
    claims: list[Claim] = []
    for line in text.replace("\r", "").split("\n"):
        if not line.strip():
            continue
        item = bool(_ITEM.match(line))
        body = _ITEM.sub("", line).strip()
        sentences = [body[a:b] for a, b in sentence_spans(body)] or [body]
        for j, s in enumerate(_split_after_marks(sentences)):
            cites = tuple(dict.fromkeys(int(n) for g in _MARK.findall(s) for part in g if part
                                         for n in re.findall(r"\d+", part) if 1 <= int(n) <= n_sources))
            clean = _MARK.sub("", s).strip()
            clean = re.sub(r"\s+([.,;:!?])", r"\1", clean)
            if not re.search(r"\w", clean):
                if cites and claims:  # a marker standing alone after its sentence
                    claims[-1] = replace(claims[-1], cites=tuple(dict.fromkeys(claims[-1].cites + cites)))
                continue
            claims.append(Claim(clean, cites, item=item and j == 0, cont=item and j > 0))
    return claims


def _split_after_marks(sentences: list[str]) -> list[str]:
    """'A [1] B [2].' is two claims even when the sentence splitter saw one."""
    out = []
    for s in sentences:
        parts = re.split(r"(?<=\])\s+(?=[A-Z])", s)
        out.extend(p for p in parts if p.strip())
    return out
