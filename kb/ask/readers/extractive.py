"""The extractive reader: pick passage units (sentences, list items, key-value lines, headings), cite, verify,
or refuse. Every sentence of its answer is a unit of a retrieved passage, so it cannot paraphrase wrongly; it
can only pick the wrong thing or refuse. It is the fast mode (about 20 ms) and the llm reader's fallback.

Refusal is decided on the evidence, not on similarity alone:
1. the question must be on topic: a passage close in meaning (dense cosine >= `min_dense`) or sharing its terms;
2. the chosen units must contain enough of the question's specific terms (`min_support`), unless one is
   very close in meaning to the question (`semantic_support`: paraphrases share no words);
3. what the question asks for must be there: a number for "how much", a date for "when"/"deadline", a name
   for "who is the director", and the thing itself when the question names it ("deadline", "salary").
"""

from __future__ import annotations

from dataclasses import dataclass

from typing import Callable

import numpy as np

from kb.ask.claims import Claim
from kb.models.embedder import Embedder
from kb.ask.question import QuestionInfo
from kb.ask.readers.base import Reader, compose
from kb.types import Draft
from kb.settings import Settings
from kb.text.terms import stems
from kb.types import Passage
from kb.text.units import Unit, units
from kb.ask.verify import Evidence, Verifier

NAME = "extractive"
# Unit score = W_COS * cosine(question, unit) + W_LEX * share of the question's terms it holds
# + W_RANK / passage rank. Chosen on the bundled dev questions (evals/README.md).
W_COS, W_LEX, W_RANK = 0.5, 0.4, 0.1


def unit_score(cos: float, lex: float, rank: int) -> float:
    """How well a unit answers: its closeness in meaning, its share of the asked terms, its passage's rank."""
    return W_COS * cos + W_LEX * lex + W_RANK / rank

_LISTY = ("item", "kv")


@dataclass
class Candidate:
    p: int  # index into passages
    unit: Unit
    score: float = 0.0
    lex: float = 0.0
    cos: float = 0.0

    @property
    def text(self) -> str:
        return self.unit.text


class ExtractiveReader(Reader):
    name = NAME

    def __init__(self, settings: Settings, embedder: Embedder, verifier: Verifier) -> None:
        self.settings = settings
        self.embedder = embedder
        self.verifier = verifier

    def answer(self, q: QuestionInfo, qvec: np.ndarray, passages: list[Passage], history: list[dict] | None,
               on_text: Callable[[str], None] | None = None) -> Draft:
        picked, reason = self.propose(q, qvec, passages)
        if reason:
            return self.refuse(passages, reason)
        return self._compose(q, picked, passages)

    def propose(self, q: QuestionInfo, qvec: np.ndarray, passages: list[Passage]) -> tuple[list[Candidate], str]:
        """The units this reader would quote, and why it would refuse them instead ("" when it would not)."""
        if max(p.dense for p in passages) < self.settings.min_dense and not any(p.bm25 > 0 for p in passages):
            return [], "off topic"  # neither meaning nor words are near anything indexed
        cands = self._score(q, qvec, passages)
        if not cands:
            return [], "no sentences"
        picked = self._pick(q, cands, passages)
        return picked, self._unsupported(q, picked, passages)

    def claims(self, q: QuestionInfo, picked: list[Candidate]) -> list[Claim]:
        """The picked units as claims citing their passage (numbered by rank in `passages`, from 1)."""
        out: list[Claim] = []
        for c in picked:
            listy = c.unit.kind in _LISTY and q.is_list
            cont = c.unit.kind == "sentence" and bool(out) and out[-1].item
            out.append(Claim(c.text, (c.p + 1,), item=listy, cont=cont))
        return out

    # scoring ------------------------------------------------------------------------------------------
    def _score(self, q: QuestionInfo, qvec: np.ndarray, passages: list[Passage]) -> list[Candidate]:
        cands: list[Candidate] = []
        for i, p in enumerate(passages):
            for u in units(p.chunk.text):
                if not u.quotable or not _answers_something(u):
                    continue
                cands.append(Candidate(i, u))
        if not cands:
            return []
        sims = self.embedder.vectors([c.text for c in cands]) @ qvec
        want = q.specific or frozenset(q.terms)
        for c, sim in zip(cands, sims):
            p = passages[c.p]
            context = set(stems(c.text)) | set(stems(p.chunk.section))
            c.lex = len(want & context) / len(want) if want else 0.0
            c.cos = float(sim)
            c.score = unit_score(c.cos, c.lex, p.rank)
        cands.sort(key=lambda c: -c.score)
        return cands

    # selection ----------------------------------------------------------------------------------------
    def _pick(self, q: QuestionInfo, cands: list[Candidate], passages: list[Passage]) -> list[Candidate]:
        best = cands[0]
        if q.focus:
            return self._whole_item(best, cands)
        if q.is_list:
            items = self._list_at(best, cands, passages)
            if items:
                return items
        picked = [best]
        words = len(best.text.split())
        for c in cands[1:4]:
            if c.score < best.score * 0.85 or c.cos < self.settings.min_dense:
                break
            n = len(c.text.split())
            if words + n > self.settings.max_answer_words:
                continue
            picked.append(c)
            words += n
        # A list item is one unit of meaning: "• Community Focused - <definition>. <what it means in practice>."
        # keeps its later sentences when its first one answers.
        for c in list(picked):
            if c.unit.kind == "item":
                for rest in self._whole_item(c, cands)[1:]:
                    n = len(rest.text.split())
                    if rest not in picked and words + n <= self.settings.max_answer_words:
                        picked.append(rest)
                        words += n
        return sorted(picked, key=lambda c: (passages[c.p].rank, c.unit.start))

    def _list_at(self, best: Candidate, cands: list[Candidate], passages: list[Passage]) -> list[Candidate]:
        """When the best passage holds a list (bullets, numbered items or `Label: value` lines) that answers,
        its intro line and each item's first sentence."""
        mine = sorted((c for c in cands if c.p == best.p), key=lambda c: c.unit.start)
        items = [c for c in mine if c.unit.kind in _LISTY]
        if len(items) < 2:
            return []
        first = items[0].unit.start
        intro = [c for c in mine if c.unit.end <= first and c.text.rstrip().endswith(":") and c.unit.kind != "kv"][-1:]
        return intro + items

    def _whole_item(self, best: Candidate, cands: list[Candidate]) -> list[Candidate]:
        """Every unit on the line (list item) the best unit is on."""
        same = [c for c in cands if c.p == best.p and c.unit.line == best.unit.line]
        return sorted(same, key=lambda c: c.unit.start)

    # the refusal gate ---------------------------------------------------------------------------------
    def _unsupported(self, q: QuestionInfo, picked: list[Candidate], passages: list[Passage]) -> str:
        quoted = " ".join(c.text for c in picked)
        # A question that names the document ("the webinar", "WED's") is supported by the cited document's title.
        context = set(stems(quoted)) | {s for c in picked for s in stems(f"{passages[c.p].chunk.section} "
                                                                         f"{passages[c.p].chunk.title}")}
        want = q.specific
        close = max(c.cos for c in picked) >= self.settings.semantic_support
        if want and not q.focus and not close:
            support = len(want & context) / len(want)
            if support < self.settings.min_support:
                return f"support {support:.2f}: missing {sorted(want - context)}"
        for facet in q.facets:
            if facet.nouns and not facet.nouns & context:
                return f"{facet.name}: the evidence never mentions {sorted(facet.nouns)}"
            # The fact must sit with the thing asked about: "K-12" beside "higher wages" is no wage floor.
            if not any(facet.entity.search(c.text) and (not facet.nouns or facet.nouns & set(stems(c.text)))
                       for c in picked):
                return f"{facet.name}: no {facet.name} in the evidence"
        return ""

    # output -------------------------------------------------------------------------------------------
    def _compose(self, q: QuestionInfo, picked: list[Candidate], passages: list[Passage]) -> Draft:
        numbers: dict[int, int] = {}
        claims: list[Claim] = []
        for c in picked:
            n = numbers.setdefault(c.p, len(numbers) + 1)
            listy = c.unit.kind in _LISTY and q.is_list
            cont = c.unit.kind == "sentence" and bool(claims) and claims[-1].item
            claims.append(Claim(c.text, (n,), item=listy, cont=cont))
        by_n = {n: passages[p] for p, n in numbers.items()}
        evidence = {n: Evidence.of(n, p) for n, p in by_n.items()}
        kept, dropped, quotes = self.verifier.check(claims, evidence, q.text, sorted(q.specific or q.terms))
        if not kept:
            return self.refuse(passages, "verification removed every sentence", dropped)
        return compose(kept, by_n, quotes, NAME, dropped)


def _answers_something(u: Unit) -> bool:
    """Fragments, and headings that are titles or questions, answer nothing; a key-value line, a list item or
    a heading that states a figure or a date can."""
    text = u.text
    if text.endswith("?"):
        return False
    if u.kind in ("kv", "item"):
        return True
    if u.kind == "heading":
        return any(ch.isdigit() for ch in text) and len(text.split()) >= 3
    return len(text.split()) >= 4 and not text.isupper()


def build(settings: Settings, embedder: Embedder, verifier: Verifier, quoter: "ExtractiveReader | None",
          llm=None) -> ExtractiveReader:
    """The registry's factory (kb/ask/readers/registry.py)."""
    return quoter or ExtractiveReader(settings, embedder, verifier)
