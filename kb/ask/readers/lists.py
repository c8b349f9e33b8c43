"""Lists a small model shortens: put back an item's label, and the items it left out.

A 1.5B model asked for "the four key principles" copies the body of each bullet and often drops its label
("Industry Driven - ") or a whole bullet. Both repairs are quotes of the cited passage, so they stay inside
the product's promise:
- a kept claim that quotes a labelled item ("Label - text" or "Label: text") without its label gets it back;
- when the question asks for N things and the answer quotes items of one list of exactly N items, the items
  it left out are added (their first sentence), citing the same passage;
- an item under a label its list already gave is not said twice (`tidy_lists`).
"""

from __future__ import annotations

import re
from dataclasses import replace

from kb.ask.claims import Claim
from kb.text.terms import words
from kb.text.units import Unit
from kb.ask.verify import Evidence, names

_LABEL = re.compile(r"^([A-Z][\w'’&/]*(?:\s+[\w'’&/]+){0,4})\s*(?:[-–—]|:)\s+(?=\S)")
_COUNT_WORDS = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten".split())}
_COUNT = re.compile(r"\b(\d{1,2}|" + "|".join(_COUNT_WORDS) + r")\s+(?:\w+\s+){0,3}?\w+s\b", re.I)


def asked_count(question: str) -> int:
    """N when the question asks for N things: "What are WED's four key principles?" -> 4; else 0."""
    m = _COUNT.search(question)
    if not m:
        return 0
    n = m.group(1).lower()
    return int(n) if n.isdigit() else _COUNT_WORDS[n]


def label_of(text: str) -> str:
    """A list item's label: "Worker Centered" of "Worker Centered - Respecting ..."; "" when it has none."""
    m = _LABEL.match(text)
    return m.group(1) if m else ""


def is_lead_in(text: str) -> bool:
    """A sentence that introduces a list ("The partnership offers:")."""
    return text.rstrip().endswith(":")


def tidy_lists(claims: list[Claim]) -> list[Claim]:
    """A list says each item once: a later item under a label its passage's list already gave (a quote of the
    item's other sentence, beside the model's) is left out with its continuations, and a continuation repeating
    its own item's label loses it. A lead-in with no item after it says nothing and goes."""
    seen: set[tuple] = set()
    out: list[Claim] = []
    skipping, current = False, ""
    for c in claims:
        if c.cont and skipping:
            continue
        label = label_of(c.text).lower()
        if c.item:
            skipping = bool(label) and (c.cites, label) in seen
            if skipping:
                continue
            if label:
                seen.add((c.cites, label))
            current = label
        elif c.cont and label and label == current:
            c = replace(c, text=_LABEL.sub("", c.text, count=1))
        elif not c.cont:
            skipping, current = False, ""
        out.append(c)
    return [c for i, c in enumerate(out) if not is_lead_in(c.text) or (i + 1 < len(out) and out[i + 1].item)]


def _items_by_line(ev: Evidence) -> dict[int, Unit]:
    return {u.line: u for u in ev.units if u.kind == "item"}


def _quoted_unit(text: str, ev: Evidence) -> Unit | None:
    """The unit of the passage the claim copies: most of the claim's words, in a unit of similar length."""
    mine = set(words(text))
    best, best_share = None, 0.0
    for u in ev.units:
        theirs = set(words(u.text))
        if not mine or not theirs:
            continue
        share = len(mine & theirs) / len(mine)
        if share >= 0.8 and len(mine & theirs) >= 0.6 * len(theirs) and share > best_share:
            best, best_share = u, share
    return best


def restore_lists(kept: list[Claim], evidence: dict[int, Evidence], question: str) -> list[Claim]:
    out: list[tuple[Claim, int | None]] = []  # each claim with the item line it quotes, if any
    lists: dict[int, set[int]] = {}  # passage n -> item lines the answer quotes
    for c in kept:
        ev = evidence.get(c.cites[0]) if len(c.cites) == 1 else None
        u = _quoted_unit(c.text, ev) if ev else None
        item = _items_by_line(ev).get(u.line) if u else None
        if item is None:
            out.append((c, None))
            continue
        lists.setdefault(ev.n, set()).add(item.line)
        label = label_of(item.text)
        if label and label.lower() not in c.text.lower():
            c = replace(c, text=f"{label} - {_positional(c.text, ev)}", item=True, cont=False)
        out.append((c, item.line))
    claims = [c for c, _ in out]
    n = asked_count(question)
    if n < 2 or len(lists) != 1:
        return claims
    (ev_n, quoted), = lists.items()
    items = _items_by_line(evidence[ev_n])
    group = _run_of_items(sorted(items), min(quoted))
    if len(group) != n or not quoted <= set(group) or len(quoted) == n:
        return claims
    # The list, whole and in the passage's order, where the answer's first quote of it stood.
    first = next(i for i, (_, line) in enumerate(out) if line is not None)
    listed = [(c, line) for c, line in out if line is not None]
    listed += [(Claim(items[line].text, (ev_n,), item=True), line) for line in group if line not in quoted]
    listed.sort(key=lambda cl: cl[1])  # stable: a claim's continuation stays after its item
    rest = [c for c, line in out[first:] if line is None]
    return [c for c, _ in out[:first]] + [replace(c, item=True, cont=False) if i == 0 or listed[i - 1][1] != ln
                                          else replace(c, item=False, cont=True)
                                          for i, (c, ln) in enumerate(listed)] + rest


def _positional(text: str, ev: Evidence) -> str:
    """The text, its first word lowercased when only its place made it a capital: behind a label it would read as
    a name the passage lacks ("Trainees get ..." of a passage saying "participants")."""
    first = text.split(maxsplit=1)[0] if text.strip() else ""
    if first[:1].isupper() and first[1:].islower() and names("x " + first) - ev.words:
        return text[0].lower() + text[1:]
    return text


def _run_of_items(lines: list[int], start: int) -> list[int]:
    """The consecutive item lines (blank lines and item continuations between them allowed) around `start`."""
    i = lines.index(start)
    lo = hi = i
    while lo > 0 and lines[lo] - lines[lo - 1] <= 3:
        lo -= 1
    while hi + 1 < len(lines) and lines[hi + 1] - lines[hi] <= 3:
        hi += 1
    return lines[lo : hi + 1]
