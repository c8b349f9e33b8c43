"""The llm reader: a language model reads the passages and writes a short cited answer; verification decides
what of it stands.

The prompt is a fixed prefix (instructions and three examples we wrote for it, about workforce programs that
appear in no document or question set) followed by the numbered passages and the question. The prefix is
identical on every call, so a local model reads it once per process. Passages are given whole in rank order
until `llm_context_tokens` is spent; a passage that does not fit whole gives its sentences closest to the
question.

Answerability, from three mechanical signals (each measured alone and together in evals/README.md):
- the model's own judgement: the probability of its refusal phrase at the first step (`max_refusal_p`);
- coverage: the cited passages must mention what the question asks about (`min_coverage`, kb/ask/verify.py);
- verification: a sentence the passages do not back is dropped (and reported); nothing left means refusal.

A list the model shortened gets its labels and left-out items back, as quotes (kb/ask/readers/lists.py).
"""

from __future__ import annotations

import logging
import re
import time
from typing import Callable

import numpy as np

from kb.ask.claims import REFUSAL, parse
from kb.models.embedder import Embedder
from kb.models.llm import LLM, REFUSAL_PHRASE, Generation, LLMError
from kb.ask.question import QuestionInfo
from kb.ask.readers.base import compose, refusal
from kb.types import Draft
from kb.ask.readers.lists import restore_lists
from kb.settings import Settings
from kb.types import Passage
from kb.text.units import readable, units
from kb.ask.verify import Evidence, Verifier

log = logging.getLogger(__name__)
NAME = "llm"

SYSTEM = f"""You answer questions from staff of workforce training partnerships, using only the numbered passages in the last message. The passages are excerpts of documents.
Rules:
- Answer in one to three complete sentences that say what the question asks about, like "The application deadline is May 3, 2024 [1]." For a list, write one item per line starting with "- ".
- End every sentence and every list item with the number of the passage it comes from, like [2].
- Copy names, numbers, amounts and dates exactly as the passage writes them.
- Say only what a passage states. If no passage states the answer to exactly what is asked, reply with exactly: {REFUSAL_PHRASE}"""

# Examples written for this prompt: fictional programs that appear in no corpus and no question set.
EXAMPLES = [
    ("""[1] Harbor Kitchen Partnership: Program facts
Cohort size: 24 trainees
The 12-week course starts each March and September. Graduates earn at least $21.50 an hour at partner hotels.

[2] Harbor Kitchen Partnership: History
The partnership was founded in 2019 by the culinary workers' union and four downtown hotels.

Question: How long is the course, and what do graduates earn?""",
     "The Harbor Kitchen course lasts 12 weeks [1]. Its graduates earn at least $21.50 an hour at partner hotels [1]."),
    ("""[1] Coastal Care Partnership: Agreement
Each partner signs the agreement, which sets out:
• Composition: two clinics, the home care workers' union and a community college.
• Commitment: every partner stays for at least three years.

Question: what does the partnership agreement cover?""",
     "The Coastal Care Partnership agreement covers:\n"
     "- Composition: two clinics, the home care workers' union and a community college [1]\n"
     "- Commitment: every partner stays for at least three years [1]"),
    ("""[1] Metro Trades Fund: Round 2 solicitation
Total funding available: $3,000,000
Applicants must be a partnership of at least one employer and one labor organization.

Question: What is the largest grant a single applicant can get?""", REFUSAL_PHRASE),
]


class LLMReader:
    name = NAME

    def __init__(self, settings: Settings, embedder: Embedder, verifier: Verifier, llm: LLM) -> None:
        self.settings = settings
        self.embedder = embedder
        self.verifier = verifier
        self.llm = llm

    def read(self, q: QuestionInfo, qvec: np.ndarray, passages: list[Passage],
             history: list[dict] | None = None, on_text: Callable[[str], None] | None = None) -> Draft:
        if not passages:
            return refusal(passages, "no passages", NAME)
        shown, gen, timings = self.write(q, qvec, passages, history, on_text)
        draft = self.judge(q, gen.text, gen.p_refusal, {i + 1: p for i, (p, _) in enumerate(shown)}, passages)
        draft.timings.update(timings)
        return draft

    def write(self, q: QuestionInfo, qvec: np.ndarray, passages: list[Passage], history: list[dict] | None = None,
              on_text: Callable[[str], None] | None = None) -> tuple[list[tuple[Passage, str]], Generation, dict]:
        """The model's unchecked answer: the passages it was shown (numbered from 1), its text and timing."""
        shown = self._fit(q, qvec, passages)
        messages = self.messages(q.text, shown, history)
        t = time.perf_counter()
        try:
            gen = self.llm.generate(messages, max_tokens=self.settings.llm_max_tokens, on_text=on_text)
        except LLMError as exc:
            log.warning("the reader model failed (%s)", exc)
            raise
        return shown, gen, {"llm": (time.perf_counter() - t) * 1000}

    # the prompt -------------------------------------------------------------------------------------------
    def messages(self, question: str, shown: list[tuple[Passage, str]], history: list[dict] | None) -> list[dict]:
        msgs = [{"role": "system", "content": SYSTEM}]
        for user, assistant in EXAMPLES:
            msgs += [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
        for turn in (history or [])[-4:]:
            if turn.get("role") in ("user", "assistant") and isinstance(turn.get("content"), str):
                msgs.append({"role": turn["role"], "content": re.sub(r"\s*\[\d+\]", "", turn["content"])[:1200]})
        blocks = [f"[{i}] {_heading(p)}\n{text}" for i, (p, text) in enumerate(shown, 1)]
        msgs.append({"role": "user", "content": "\n\n".join(blocks) + f"\n\nQuestion: {question}"})
        return msgs

    def _fit(self, q: QuestionInfo, qvec: np.ndarray, passages: list[Passage]) -> list[tuple[Passage, str]]:
        """Passages in rank order while the budget lasts. A passage longer than its share (the first one's is
        double) gives the units closest to the question, in document order, so lower-ranked passages still fit."""
        budget = self.settings.llm_context_tokens
        k = min(len(passages), self.settings.top_k)
        share = max(60, budget // (k + 1))
        shown: list[tuple[Passage, str]] = []
        for rank, p in enumerate(passages[:k]):
            cap = min(budget, share * (2 if rank == 0 else 1))
            text = readable(p.chunk.text)
            cost = self.llm.count_tokens(text) + 12
            if cost > cap:
                text = self._closest_units(p, qvec, cap - 12)
                cost = self.llm.count_tokens(text) + 12
            if not text or cost > budget:
                break
            shown.append((p, text))
            budget -= cost
        return shown or [(passages[0], readable(passages[0].chunk.text))]

    def _closest_units(self, p: Passage, qvec: np.ndarray, budget: int) -> str:
        us = [u for u in units(p.chunk.text) if u.quotable]
        if not us:
            return ""
        sims = self.embedder.vectors([u.text for u in us]) @ qvec
        chosen, spent = [], 0
        for i in np.argsort(-sims):
            cost = self.llm.count_tokens(us[i].text) + 2
            if spent + cost > budget:
                continue
            chosen.append(int(i))
            spent += cost
        lines: list[str] = []
        for i in sorted(chosen):
            if lines and us[i].line == us[prev].line:
                lines[-1] += " " + us[i].text
            else:
                lines.append(("• " if us[i].kind == "item" else "") + us[i].text)
            prev = i
        return "\n".join(lines)

    # what stands ----------------------------------------------------------------------------------------
    def judge(self, q: QuestionInfo, text: str, p_refusal: float | None, shown: dict[int, Passage],
              passages: list[Passage]) -> Draft:
        """The model's answer, checked: refuse when the model does (or leans to), when verification leaves
        nothing, or when the cited passages do not cover the question. Every signal is recorded."""
        answer = text.strip()
        said_no = answer.upper().startswith(REFUSAL_PHRASE) or answer.startswith(REFUSAL)
        claims = [] if said_no else [c for c in parse(answer, len(shown)) if REFUSAL_PHRASE not in c.text.upper()]
        evidence = {n: Evidence.of(n, p) for n, p in shown.items()}
        terms = sorted(q.specific or q.terms)
        kept, dropped, quotes = self.verifier.check(claims, evidence, q.text, terms)
        kept = restore_lists(kept, evidence, q.text)
        cited = [evidence[n] for n in sorted({n for c in kept for n in c.cites})]
        cover, missing = self.verifier.coverage(terms, cited or list(evidence.values()))
        signals = {"p_refusal": -1.0 if p_refusal is None else p_refusal, "model_refused": float(said_no),
                   "claims": float(len(claims)), "kept": float(len(kept)), "coverage": cover,
                   "best_dense": max(p.dense for p in passages)}
        if said_no:
            draft = refusal(passages, "the model found no answer", NAME)
        elif p_refusal is not None and p_refusal > self.settings.max_refusal_p:
            draft = refusal(passages, f"the model leaned to no answer (p={p_refusal:.2f})", NAME, dropped)
        elif not kept:
            draft = refusal(passages, "verification removed every sentence", NAME, dropped)
        elif cover < self.settings.min_coverage:
            draft = refusal(passages, f"the cited passages do not mention {missing} (coverage {cover:.2f})", NAME,
                            dropped)
        else:
            draft = compose(kept, shown, quotes, NAME, dropped)
        draft.signals = signals
        return draft


def _heading(p: Passage) -> str:
    c = p.chunk
    where = c.section or (c.locator if c.page is not None or c.timestamp else "")
    return f"{c.title}: {where}" if where else c.title
