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
import time
from typing import Callable

import numpy as np

from kb.ask.claims import parse
from kb.models.embedder import Embedder
from kb.models.llm import LLM, REFUSAL_PHRASE, Generation, LLMError
from kb.ask.question import QuestionInfo
from kb.ask.readers.base import Reader, compose
from kb.types import Draft
from kb.ask.readers.lists import restore_lists
from kb.ask.readers.prompts import fit_passages, prompt_messages
from kb.settings import Settings
from kb.types import Passage
from kb.ask.verify import Evidence, Verifier

log = logging.getLogger(__name__)
NAME = "llm"

class LLMReader(Reader):
    name = NAME
    streams = True

    def __init__(self, settings: Settings, embedder: Embedder, verifier: Verifier, llm: LLM) -> None:
        self.settings = settings
        self.embedder = embedder
        self.verifier = verifier
        self.llm = llm

    def answer(self, q: QuestionInfo, qvec: np.ndarray, passages: list[Passage], history: list[dict] | None,
               on_text: Callable[[str], None] | None = None) -> Draft:
        shown, gen, timings = self.write(q, qvec, passages, history, on_text)
        draft = self.judge(q, gen.text, gen.p_refusal, {i + 1: p for i, (p, _) in enumerate(shown)}, passages)
        draft.timings.update(timings)
        return draft

    def write(self, q: QuestionInfo, qvec: np.ndarray, passages: list[Passage], history: list[dict] | None = None,
              on_text: Callable[[str], None] | None = None) -> tuple[list[tuple[Passage, str]], Generation, dict]:
        """The model's unchecked answer: the passages it was shown (numbered from 1), its text and timing."""
        shown = fit_passages(self.llm, self.embedder, qvec, passages, self.settings.llm_context_tokens,
                             self.settings.top_k)
        messages = prompt_messages(q.text, shown, history)
        t = time.perf_counter()
        try:
            gen = self.llm.generate(messages, max_tokens=self.settings.llm_max_tokens, on_text=on_text)
        except LLMError as exc:
            log.warning("the reader model failed (%s)", exc)
            raise
        return shown, gen, {"llm": (time.perf_counter() - t) * 1000}

    # what stands ----------------------------------------------------------------------------------------
    def judge(self, q: QuestionInfo, text: str, p_refusal: float | None, shown: dict[int, Passage],
              passages: list[Passage]) -> Draft:
        """The model's answer, checked: refuse when the model does (or leans to), when verification leaves
        nothing, or when the cited passages do not cover the question. Every signal is recorded."""
        answer = text.strip()
        said_no = answer.upper().startswith(REFUSAL_PHRASE) or answer.startswith(self.settings.domain.refusal)
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
            draft = self.refuse(passages, "the model found no answer")
        elif p_refusal is not None and p_refusal > self.settings.max_refusal_p:
            draft = self.refuse(passages, f"the model leaned to no answer (p={p_refusal:.2f})", dropped)
        elif not kept:
            draft = self.refuse(passages, "verification removed every sentence", dropped)
        elif cover < self.settings.min_coverage:
            draft = self.refuse(passages, f"the cited passages do not mention {missing} (coverage {cover:.2f})",
                                dropped)
        else:
            draft = compose(kept, shown, quotes, NAME, dropped)
        draft.signals = signals
        return draft


def build(settings: Settings, embedder: Embedder, verifier: Verifier, quoter, llm: LLM) -> LLMReader:
    """The registry's factory (kb/ask/readers/registry.py)."""
    return LLMReader(settings, embedder, verifier, llm)
