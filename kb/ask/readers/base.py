"""Readers turn a question and its ranked passages into a draft answer in which every sentence cites a passage.

    Reader.read(q, qvec, passages, history, on_text) -> Draft
    ├── ExtractiveReader  quotes sentences of the passages: 20 ms, never paraphrases; the fast mode and fallback
    ├── LLMReader         a language model reads and writes; kb/ask/verify.py keeps only what the passages back
    └── JudgedReader      both of the above, and a calibrated judgement of each sentence (the default)

The base class handles "no passages" once; a refusal opens with the domain's refusal sentence
(corpus/domain.toml) and lists the closest passages.
Readers are made by name in kb/ask/readers/registry.py.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Callable

import numpy as np

from kb.ask.claims import Claim, render, renumber
from kb.ask.question import QuestionInfo
from kb.settings import Settings
from kb.types import Draft, Dropped, Passage, Source


class Reader(ABC):
    name: str
    streams: bool = False  # calls `on_text` with its words as it writes them
    settings: Settings
    llm = None  # the language model a model reader writes with (the session brief uses it too)

    def read(self, q: QuestionInfo, qvec: np.ndarray, passages: list[Passage], history: list[dict] | None = None,
             on_text: Callable[[str], None] | None = None) -> Draft:
        if not passages:
            return self.refuse(passages, "no passages")
        return self.answer(q, qvec, passages, history, on_text)

    def refuse(self, passages: list[Passage], reason: str, dropped: list[Dropped] | None = None) -> Draft:
        return refusal(self.settings.domain.refusal, passages, reason, self.name, dropped)

    @abstractmethod
    def answer(self, q: QuestionInfo, qvec: np.ndarray, passages: list[Passage], history: list[dict] | None,
               on_text: Callable[[str], None] | None) -> Draft:
        """The draft for at least one passage."""


def refusal(text: str, passages: list[Passage], reason: str, reader: str,
            dropped: list[Dropped] | None = None) -> Draft:
    """The materials don't answer: say so (`text`, the domain's refusal sentence), and show the closest passages."""
    if not passages:
        return Draft(text + " Nothing relevant is indexed.", True, [], reason, dropped or [], reader=reader)
    closest = [Source.from_passage(i + 1, p) for i, p in enumerate(passages[:3])]
    return Draft(f"{text} The closest passages are listed below.", True, closest, reason, dropped or [],
                 reader=reader)


def compose(claims: list[Claim], passages_by_n: dict[int, Passage], quotes: dict[int, list[str]],
            reader: str, dropped: list[Dropped]) -> Draft:
    """Kept claims as the answer: sources renumbered in order of first citation."""
    claims, order = renumber(claims)
    sources = [Source.from_passage(new, passages_by_n[old], quotes.get(old, [])) for old, new in order.items()]
    return Draft(render(claims), False, sources, dropped=dropped, reader=reader)
