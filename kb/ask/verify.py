"""Verification: a sentence of an answer survives only if the passage it cites backs it. Mechanical checks,
the same for every reader (a verbatim quote passes them trivially; a model's sentence must earn it):

1. citation: it cites a given passage; a sentence without a marker gets one only when exactly one passage
   passes every other check;
2. facts: every number, amount, date, e-mail address, web address and proper name in it occurs in a passage
   it cites (numbers compared by value: "$4.2 million" = "4,200,000");
3. content: most of its content words are in the cited passage, or it is close in meaning (embeddings) to
   one sentence of it;
4. attachment: a figure it states sits, in the passage, with what the sentence attaches it to ("maximum award"
   is not the "total funding" line that holds the same amount).

The answer as a whole must also be about what was asked: the question's rare terms (weighted by how rare
they are in the whole store) must be covered by the cited passages (`coverage`). Failures are returned as
`Dropped` with a reason a person can read.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np

from kb.ask.claims import Claim
from kb.models.embedder import Embedder
from kb.index.bm25 import TermStats
from kb.settings import Settings
from kb.text.terms import NUMBER_WORDS, STOPWORDS, stems
from kb.types import Dropped, Passage
from kb.text.units import Unit, units
from kb.text.lines import heading_text


# numbers ----------------------------------------------------------------------------------------------------
_NUM = re.compile(r"(?<![\w.:])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(?:\s*(million|billion|thousand|mil|bn|[kmb])\b)?", re.I)
_SCALE = {"thousand": 1e3, "k": 1e3, "million": 1e6, "mil": 1e6, "m": 1e6, "billion": 1e9, "bn": 1e9, "b": 1e9}


def numbers(text: str) -> set[float]:
    """Every number in `text` by value: "$4.2 million" -> 4200000.0, "forty" -> 40.0, "8/29/2018" -> 8, 29, 2018."""
    out: set[float] = set()
    for m in _NUM.finditer(text):
        value = float(m.group(1).replace(",", ""))
        scale = (m.group(2) or "").lower()
        out.add(round(value * _SCALE.get(scale, 1.0), 2))
    for w in re.findall(r"[a-z]+(?:-[a-z]+)?", text.lower()):
        parts = w.split("-")
        if all(p in NUMBER_WORDS for p in parts):
            out.add(float(sum(NUMBER_WORDS[p] for p in parts)))
    return out


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(r"\b(?:https?://|www\.)[^\s)\]]+|\b[\w-]+(?:\.[\w-]+)*\.(?:org|com|gov|edu|net|us)\b(?:/[^\s)\]]*)?", re.I)
# "The deadline was [1]." - a sentence whose answer went missing ends on a word that needs one after it.
_DANGLING = re.compile(r"\b(?:is|are|was|were|be|been|the|a|an|of|and|or|including)\W*$", re.I)
_TOKEN = re.compile(r"[^\W\d_][\w'’&-]*")


def names(text: str) -> set[str]:
    """Capitalised words that name something, lowercased, hyphenated ones in parts. A sentence's first word is
    left out: capitalised by position, not by meaning ("Until March 6" names March, not "until")."""
    out = set()
    for t in _TOKEN.findall(text)[1:]:
        if not t[0].isupper():
            continue
        for part in re.split(r"[-&]", t):
            w = _base(_fold(part))
            if len(w) > 1 and w not in STOPWORDS:
                out.add(w)
    return out


def name_phrases(text: str) -> tuple[frozenset[str], ...]:
    """`names`, grouped by runs of capitalised words: "the Merced site in January 2026" -> {merced}, {january}."""
    runs: list[set[str]] = []
    prev_end: int | None = None
    for m in list(_TOKEN.finditer(text))[1:]:
        got = names("x " + m.group())
        if not got:
            prev_end = None
            continue
        if runs and prev_end is not None and text[prev_end:m.start()].strip() == "":
            runs[-1] |= got
        else:
            runs.append(set(got))
        prev_end = m.end()
    return tuple(frozenset(r) for r in runs)


def _base(w: str) -> str:
    return re.sub(r"(?:'s|’s|s)$", "", w) if len(w) > 3 else w


# Capitalised by convention, not names of another thing: "Tuesdays 9:00 a.m. PT", "March 13".
_CALENDAR = {_base(w) for w in ("january february march april may june july august september october november "
                                "december monday tuesday wednesday thursday friday saturday sunday mondays tuesdays "
                                "wednesdays thursdays fridays saturdays sundays pt pst pdt et est edt ct mt").split()}


def _fold(text: str) -> str:
    """Lowercase without accents: "Baños" and "Banos" are one name."""
    return "".join(ch for ch in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(ch))


def _word_forms(text: str) -> set[str]:
    ws = re.findall(r"[^\W_]+", _fold(text))
    return set(ws) | {_base(w) for w in ws}


# evidence -----------------------------------------------------------------------------------------------------
@dataclass
class Evidence:
    """One numbered passage, analysed once per answer."""

    n: int
    passage: Passage
    units: list[Unit] = field(default_factory=list)
    context: str = ""  # title and section: they name what a passage is about
    text_lower: str = ""
    stems: set[str] = field(default_factory=set)
    numbers: set[float] = field(default_factory=set)
    words: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, n: int, p: Passage) -> "Evidence":
        c = p.chunk
        context = f"{c.title}. {c.section}. {c.speaker or ''}"
        full = f"{c.text}\n{context}"
        us = [u for u in units(c.text) if u.quotable]
        return cls(n, p, us, context, full.lower(), set(stems(full)), numbers(full), _word_forms(full))


@dataclass(frozen=True)
class Asked:
    """What the question asks about: its terms weighted by rarity, and the names and numbers in it, which a
    figure given as its answer must sit with."""

    weights: dict[str, float] = field(default_factory=dict)
    names: frozenset[str] = frozenset()
    numbers: frozenset[float] = frozenset()
    phrases: tuple[frozenset[str], ...] = ()  # the names as the question groups them: "Kings County", "January"


@dataclass
class Check:
    ok: bool
    reason: str = ""
    unit: Unit | None = None  # the sentence of the passage that backs the claim best


@dataclass
class Measure:
    """One sentence measured against one passage: what each check found."""

    dangling: bool = False
    missing_numbers: list[float] = field(default_factory=list)
    missing_address: str = ""
    missing_names: list[str] = field(default_factory=list)
    share: float = 1.0  # of the sentence's content words, the part the passage holds
    has_content: bool = False
    unit: Unit | None = None  # the passage's sentence closest in meaning, and its cosine
    similarity: float = 0.0
    figures: list[float] = field(default_factory=list)
    attachment: str = ""  # why a figure does not sit with what is asked ("" when it does)

    def check(self, n: int, settings: Settings) -> Check:
        """The verdict, first failure first: a dangling sentence, a figure, address or name the passage lacks,
        content it does not say, a figure said of something else."""
        if self.dangling:
            return Check(False, "the sentence stops before its answer")
        if self.missing_numbers:
            return Check(False, f"{_fmt(self.missing_numbers[0])} is not in passage [{n}]")
        if self.missing_address:
            return Check(False, f"{self.missing_address} is not in passage [{n}]")
        if self.missing_names:
            return Check(False, f"{self.missing_names[0]!r} is not in passage [{n}]")
        if self.has_content and self.share < settings.verify_overlap and \
                (self.unit is None or self.similarity < settings.verify_similarity):
            sim = f"{self.similarity:.2f}" if self.unit is not None else "n/a"
            return Check(False, f"passage [{n}] does not say this (shared words {self.share:.0%}, closest "
                                f"sentence {sim})")
        if self.attachment:
            return Check(False, self.attachment)
        return Check(True, unit=self.unit)


class Verifier:
    def __init__(self, settings: Settings, embedder: Embedder, stats: Callable[[], TermStats] | None = None) -> None:
        self.settings = settings
        self.embedder = embedder
        self._stats = stats or (lambda: TermStats({}, 0))  # how rare each word is in the store (kb/index/bm25.py)

    def term_stats(self) -> TermStats:
        """How rare each word is in the store (kb/index/bm25.py)."""
        return self._stats()

    def asked(self, question: str, terms: list[str], stats: TermStats | None = None) -> Asked:
        stats = stats or self._stats()
        return Asked(self._weights(terms, stats), frozenset(names(question)), frozenset(numbers(question)),
                     name_phrases(question))

    def check(self, claims: list[Claim], evidence: dict[int, Evidence], question: str = "",
              question_terms: list[str] = ()) -> tuple[list[Claim], list[Dropped], dict[int, list[str]]]:
        """The claims that stand (each citing at least one passage), those dropped with a reason, and for each
        passage the sentences of it that back the kept claims (for highlighting). A claim whose cited passage
        does not back it, or that cites none, is cited to another passage only when exactly one backs it."""
        stats = self._stats()
        weights = self.asked(question, list(question_terms), stats)
        kept: list[Claim] = []
        dropped: list[Dropped] = []
        quotes: dict[int, list[str]] = {}
        for claim in claims:
            cites = [n for n in claim.cites if n in evidence]
            results = [(n, self.supports(claim.text, evidence[n], weights, stats)) for n in cites]
            good = [(n, r) for n, r in results if r.ok]
            if not good:
                others = [(n, self.supports(claim.text, ev, weights, stats)) for n, ev in evidence.items() if n not in cites]
                alone = [(n, r) for n, r in others if r.ok]
                if len(alone) == 1:
                    good = alone
                else:
                    why = results[0][1].reason if results else "it cites no passage"
                    if len(alone) > 1:
                        why += f", and {len(alone)} other passages could back it"
                    dropped.append(Dropped(claim.text, why))
                    continue
            kept.append(replace(claim, cites=tuple(n for n, _ in good)))
            for n, r in good:
                if r.unit is not None and r.unit.text not in quotes.setdefault(n, []):
                    quotes[n].append(r.unit.text)
        return kept, dropped, quotes

    @staticmethod
    def _weights(terms, stats: TermStats) -> dict[str, float]:
        """Question terms the store knows, weighted by rarity; a term no passage uses (a paraphrase's own
        words) says nothing about which passage answers, so it weighs nothing. An empty store weighs all alike."""
        return {t: stats.idf(t) if stats.n else 1.0 for t in dict.fromkeys(terms)
                if not _is_number(t) and (stats.known(t) or not stats.n)}

    # one claim against one passage ---------------------------------------------------------------------
    def supports(self, text: str, ev: Evidence, question: Asked | None = None,
                 stats: TermStats | None = None) -> Check:
        """Whether passage `ev` backs sentence `text`; `question` holds the question's terms and weights,
        which a figure must sit with too (a bare "$1,500,000" answers what was asked)."""
        return self.measure(text, ev, question, stats).check(ev.n, self.settings)

    def measure(self, text: str, ev: Evidence, question: Asked | None = None,
                stats: TermStats | None = None) -> "Measure":
        """Every check of `text` against passage `ev`, none skipped: the verdict (`Measure.check`) and the
        features the judgement weighs (kb/ask/judge.py)."""
        asked = question or Asked()
        m = Measure(dangling=bool(_DANGLING.search(text)))
        m.missing_numbers = [v for v in numbers(text) if v not in ev.numbers and v not in asked.numbers]
        for pattern, what in ((_EMAIL, "address"), (_URL, "web address")):
            for hit in pattern.finditer(text):
                if hit.group(0).lower().rstrip(".") not in ev.text_lower and not m.missing_address:
                    m.missing_address = f"the {what} {hit.group(0)}"
        m.missing_names = sorted(n for n in names(text) if n not in ev.words and n not in asked.names)
        content = [s for s in dict.fromkeys(stems(text)) if not _is_number(s)]
        best = self._best_unit(text, ev)
        if best is not None:
            m.unit, m.similarity = best
        m.share = sum(s in ev.stems for s in content) / len(content) if content else 1.0
        m.has_content = bool(content)
        m.figures = sorted(numbers(text) - asked.numbers)  # a number the question gave ("AB 2719") is not the answer
        if not m.missing_numbers:
            for v in m.figures:
                m.attachment = self._attached(text, v, ev, asked, stats or self._stats())
                if m.attachment:
                    break
        return m

    def _best_unit(self, text: str, ev: Evidence) -> tuple[Unit, float] | None:
        if not ev.units:
            return None
        vecs = self.embedder.vectors([text] + [u.text for u in ev.units])
        sims = vecs[1:] @ vecs[0]
        i = int(np.argmax(sims))
        return ev.units[i], float(sims[i])

    def _attached(self, text: str, value: float, ev: Evidence, question: Asked, stats: TermStats) -> str:
        """A figure must sit, in the passage, with what is asked about it: most of the words of the sentence and
        the question (weighted by rarity; the question's names and numbers count double) must be found in the
        unit holding it, that unit's heading, the section or the document's title."""
        idf = (lambda t: stats.idf(t)) if stats.n else (lambda t: 1.0)
        weights = {s: idf(s) for s in stems(text) if not _is_number(s)} | question.weights
        named = {s for n in question.names for s in stems(n)}
        weights = {t: w * (2 if t in named else 1) for t, w in weights.items()}
        others = (set(question.numbers) | numbers(text)) - {value}  # "the 2023 round": its year must be there too
        total = sum(weights.values()) + 2 * len(others) * max(weights.values(), default=1.0)
        if not total and not question.names:
            return ""
        around = f"{ev.passage.chunk.title}. {ev.passage.chunk.section}."
        best, other_of = 0.0, ""
        for u in ev.units:
            if value not in numbers(u.text):
                continue
            close = f"{u.text} {_heading_before(ev, u)} {around}"
            # "188 graduates live in Fresno County" does not answer a question about Kings County: a unit that
            # names something else, and not what the question names, holds a figure about that something else.
            # A question naming two things ("the Merced site ... in January") needs only one of them here.
            forms = _word_forms(close)
            absent = sorted(n for n in question.names if n not in forms)
            if absent and not any(p <= forms for p in question.phrases) and \
                    names(u.text) - question.names - _word_forms(around) - _CALENDAR:
                other_of = other_of or absent[0]
                continue
            ctx, nums = set(stems(close)), numbers(close)
            found = sum(w for t, w in weights.items() if t in ctx)
            found += sum(2 * max(weights.values(), default=1.0) for v in others if v in nums)
            best = max(best, found / total if total else 1.0)
            if best >= self.settings.verify_attachment:
                return ""
        if other_of and not best:
            return f"{_fmt(value)} in passage [{ev.n}] is not said of {other_of}"
        return f"{_fmt(value)} in passage [{ev.n}] is about something else ({best:.0%} of what is asked sits with it)"

    # the answer as a whole ------------------------------------------------------------------------------
    def coverage(self, question_terms: list[str], evidence: list[Evidence]) -> tuple[float, list[str]]:
        """How much of what the question asks about the cited passages mention (its terms the store knows,
        weighted by rarity), and the terms they miss."""
        weights = self._weights(question_terms, self._stats())
        if not weights:
            return 1.0, []
        have = set().union(*(ev.stems for ev in evidence)) if evidence else set()
        missing = sorted(t for t in weights if t not in have)
        return 1.0 - sum(weights[t] for t in missing) / sum(weights.values()), missing


def _heading_before(ev: Evidence, u: Unit) -> str:
    text = ev.passage.chunk.text[: u.start]
    heads = [heading_text(ln) for ln in text.split("\n") if ln.strip().startswith("#")]
    return heads[-1] if heads else ""


def _is_number(stem: str) -> bool:
    return bool(re.fullmatch(r"[\d.,]+", stem))


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if v == int(v) else f"{v:,}"
