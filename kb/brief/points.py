"""What may be a brief's key point: a claim, never a heading or a title; and a list the materials give as a list,
whole, as one point with its items.

Headings, titles and section paths are in every passage a reader sees (the prompt names each passage by them),
so a model copies them as if they were facts ("Riverside Care HRTP: Launch Memo: Riverside Care HRTP: Launch
Memo."), and they verify, since the passage holds them. `not_a_claim` says why a point is only labels.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kb.text.terms import stems
from kb.types import Chunk, Passage
from kb.text.units import Unit, units

_CITE = re.compile(r"\s*\[\d+\]")
_WORD = re.compile(r"[A-Za-z][\w'’-]*")
MAX_ITEMS = 12  # a longer run of items is a table of contents, not a point
LIST_WINDOW = 4  # lists are looked for in the best-ranked passages only


def labels(chunk: Chunk) -> list[str]:
    """The passage's title, its section path and each part of it, and its heading lines, longest first."""
    found = {chunk.title, chunk.section, *chunk.section.split(" > "),
             *(u.text for u in units(chunk.text) if u.kind == "heading")}
    return sorted((s.strip() for s in found if s and s.strip()), key=len, reverse=True)


def not_a_claim(text: str, chunks: list[Chunk]) -> str:
    """Why `text` is not a key point ("" when it is one): it is a question or a list's lead-in, or, once the
    titles, section names and headings of the passages it comes from are taken out, fewer than four words
    are left or none of them is an ordinary lower-case word (a run of capitalised labels)."""
    body = _CITE.sub("", text).strip()
    if body.endswith(("?", ":")):
        return "a question or a lead-in, not a claim"
    rest = body
    for label in sorted({s for c in chunks for s in labels(c)}, key=len, reverse=True):
        rest = re.sub(re.escape(label), " ", rest, flags=re.I)
    words = _WORD.findall(rest)
    if len(words) < 4 or sum(w[0].islower() and len(w) > 2 for w in words) < 2:
        return "a heading or title, not a claim"
    return ""


@dataclass
class WholeList:
    """A lead-in line ("... based upon 4 key principles:") and every item of its list, each item's first sentence."""

    lead: str
    items: list[str]
    passage: int  # index of the retrieved passage that holds the lead-in
    chunks: list[Chunk]  # the passages the list runs over, the lead-in's first
    lines: set[tuple[str, int]]  # (chunk id, line) of every item: units on them are this point's
    said: list[str]  # every sentence of the lead-in and the item lines: a point backed by one says it again


def whole_list(passages: list[Passage], terms: list[str], min_support: float, store) -> WholeList | None:
    """The best-ranked list whose lead-in (with its section) names the topic's terms, with every item, also
    those that run on into the next passages of its document."""
    want = set(terms)
    if not want:
        return None
    for i, p in enumerate(passages[:LIST_WINDOW]):
        us = units(p.chunk.text)
        for j, lead in enumerate(us):
            if not lead.text.rstrip().endswith(":") or lead.kind == "item":
                continue
            named = len(want & set(stems(f"{lead.text} {p.chunk.section}"))) / len(want)
            if named < min_support:
                continue
            items, lines, said = _items_after(us, j, p.chunk)
            chunks = [p.chunk]
            while items and _runs_to_end(us) and len(items) <= MAX_ITEMS:
                nxt = _next_chunk(store, chunks[-1])
                if nxt is None:
                    break
                more_units = units(nxt.text)
                more, more_lines, more_said = _items_after(more_units, -1, nxt)
                if not more:
                    break
                items, lines, said = items + more, lines | more_lines, said + more_said
                chunks, us = chunks + [nxt], more_units
            if 2 <= len(items) <= MAX_ITEMS and all(u.quotable for u in items):
                return WholeList(lead.text, [u.text for u in items], i, chunks, lines, [lead.text, *said])
    return None


def _items_after(us: list[Unit], j: int, chunk: Chunk) -> tuple[list[Unit], set[tuple[str, int]], list[str]]:
    """The item units (first sentences) of the run of item lines right after unit `j` (-1: from the top), their
    (chunk id, line)s and every sentence on those lines."""
    items: list[Unit] = []
    said: list[str] = []
    for u in us[j + 1:]:
        if u.kind != "item" and (not items or u.line != items[-1].line):  # an item's later sentences share its line
            break
        items += [u] * (u.kind == "item")
        said.append(u.text)
    return items, {(chunk.id, u.line) for u in items}, said


def _runs_to_end(us: list[Unit]) -> bool:
    """The passage ends inside a list: its last unit is on an item's line."""
    return bool(us) and us[-1].line in {u.line for u in us if u.kind == "item"}


def _next_chunk(store, chunk: Chunk) -> Chunk | None:
    after = [c for c in store.chunks_between(chunk.doc_sha, chunk.end, chunk.end + 16) if c.start >= chunk.end]
    return after[0] if after else None


def restates(text: str, found: WholeList, quotes: list[str]) -> bool:
    """A point that says again what the list says: it is backed by a sentence of the lead-in or an item's line."""
    own = _CITE.sub("", text).strip().rstrip(".")
    return any(q in s or s in q for q in quotes for s in found.said) or any(own in s for s in found.said)
