"""The judgement: one calibrated probability per candidate sentence and one for the answer as a whole, in place
of a chain of vetoes.

Every check the verifier makes (kb/ask/verify.py) becomes a feature of a sentence instead of a verdict: its figures,
names and addresses found by value in a passage, the share of its words a passage holds, its closest sentence
there, whether a figure sits with what is asked, whether the model gave its marker, how close it is to the
question, whether the quoting reader picked the same thing, the model's refusal probability, retrieval scores.
A logistic model weighs them into P(the sentence is supported and answers the question); a second one weighs the
best sentences and the answer-level signals into P(the materials answer the question).

The coefficients are fitted offline on the dev splits (`python -m evals.calibrate`) and shipped as data
(kb/ask/judge.json); scoring here is a dot product, so start-up stays fast.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from kb.text.units import Unit

DEFAULT_MODEL = Path(__file__).with_name("judge.json")

# "log_x" is log10(x + 0.0001): the model's refusal probability matters by its order of magnitude.
SENTENCE_FEATURES = ("marker", "cited_ok", "ok", "support", "figure_absent", "name_absent", "share", "similarity",
                     "attached", "figure", "dangling", "q_sim", "q_lex", "agree", "quote", "repair", "item", "rank",
                     "log_p_refusal", "model_refused", "best_dense", "ext_refused")
ANSWER_FEATURES = ("max_model", "max_quote", "n_model", "log_p_refusal", "model_refused", "best_dense", "ext_refused",
                   "model_ok", "model_similarity", "model_agree")


@dataclass
class Candidate:
    """A sentence the answer could say: written by the model, quoted by the extractive reader, or a quote that
    repairs a model sentence saying the same thing."""

    text: str
    source: str  # "model" | "quote" | "repair"
    n: int  # the passage it is cited to: its rank among the retrieved passages, from 1
    features: dict[str, float]
    item: bool = False
    cont: bool = False
    reason: str = ""  # the verifier's objection at that passage; "" when every check passes
    invents: str = ""  # a figure, name or address its passage lacks, or a sentence cut off: never shown
    unit: Unit | None = None  # the passage's sentence that backs it best (highlighted in the source)
    of: int = -1  # a repair: the index of the model sentence it stands in for
    p: float = 0.0


@dataclass
class JudgeModel:
    """Weights (with "bias") of the two logistic models, their cut-offs and how quotes join a model's answer."""

    sentence: dict[str, float]
    answer: dict[str, float]
    sentence_cut: float = 0.5
    answer_cut: float = 0.5
    quotes: str = "fallback"  # "never" | "fallback" (when no model sentence stands) | "add" (when they add something)
    redundant: float = 0.6  # a quote whose words the kept sentences already hold to this share adds nothing
    about: dict = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path = DEFAULT_MODEL) -> "JudgeModel":
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def save(self, path: Path = DEFAULT_MODEL) -> None:
        data = {k: getattr(self, k) for k in self.__dataclass_fields__}
        Path(path).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")

    def sentence_p(self, features: dict[str, float]) -> float:
        return _logistic(self.sentence, features)

    def answer_p(self, features: dict[str, float]) -> float:
        return _logistic(self.answer, features)


def value(features: dict[str, float], name: str) -> float:
    if name.startswith("log_"):
        return math.log10(max(0.0, features.get(name[4:], 0.0)) + 1e-4)
    return features.get(name, 0.0)


def _logistic(weights: dict[str, float], features: dict[str, float]) -> float:
    z = weights.get("bias", 0.0) + sum(w * value(features, k) for k, w in weights.items() if k != "bias")
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
