"""The judgement: one calibrated probability per candidate sentence and one for the answer as a whole, in place
of a chain of vetoes.

Every check the verifier makes (kb/ask/verify.py) becomes a feature of a sentence instead of a verdict: its figures,
names and addresses found by value in a passage, the share of its words a passage holds, its closest sentence
there, whether a figure sits with what is asked, whether the model gave its marker, how close it is to the
question, whether the quoting reader picked the same thing, the model's refusal probability, retrieval scores.
A logistic model weighs them into P(the sentence is supported and answers the question); a second one weighs the
best sentences and the answer-level signals into P(the materials answer the question); that one is a small forest
of decision trees when the file has one, because on held-out dev questions it tells answerable questions from
near misses better than a weighted sum does (evals/README.md).

Both are fitted offline on the dev splits (`python -m evals.calibrate`) and shipped as data (kb/ask/judge.json);
scoring here is a dot product and a walk down each tree, so start-up stays fast.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kb.text.units import Unit

DEFAULT_MODEL = Path(__file__).with_name("judge.json")

# "log_x" is log10(x + 0.0001): the model's refusal probability matters by its order of magnitude.
SENTENCE_FEATURES = ("marker", "cited_ok", "ok", "support", "figure_absent", "name_absent", "share", "similarity",
                     "attached", "figure", "dangling", "q_sim", "q_lex", "agree", "quote", "repair", "item", "rank",
                     "log_p_refusal", "model_refused", "best_dense", "ext_refused")
# The quoting reader's own refusal (`ext_refused`) is left out of the answer forest: held out, the forest is
# better without it on every dev split (evals/README.md, "More dev data").
ANSWER_FEATURES = ("max_model", "max_quote", "n_model", "log_p_refusal", "model_refused", "best_dense",
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
class Forest:
    """Decision trees as flat arrays (scikit-learn's layout: a node's feature `f`, threshold `t`, children `l` and
    `r`, -1 at a leaf, and at a leaf `v`, the share of positives): P is the mean of the leaves a question reaches."""

    features: tuple[str, ...]
    trees: list[dict[str, list]]

    def p(self, features: dict[str, float]) -> float:
        # float32 first, as scikit-learn compares, so that the shipped trees score as they were fitted
        x = np.array([value(features, n) for n in self.features], dtype=np.float32).tolist()
        total = 0.0
        for t in self.trees:
            f, thr, left, right, node = t["f"], t["t"], t["l"], t["r"], 0
            while left[node] >= 0:
                node = left[node] if x[f[node]] <= thr[node] else right[node]
            total += t["v"][node]
        return total / len(self.trees)


@dataclass
class JudgeModel:
    """Weights (with "bias") of the sentence model, the answer model (logistic weights, or a forest), their
    cut-offs and how quotes join a model's answer."""

    sentence: dict[str, float]
    answer: dict[str, float]
    sentence_cut: float = 0.5
    answer_cut: float = 0.5
    quotes: str = "fallback"  # "never" | "fallback" (when no model sentence stands) | "add" (when they add something)
    redundant: float = 0.6  # a quote whose words the kept sentences already hold to this share adds nothing
    objected_cut: float = 0.5  # a model sentence the verifier objects to stands only this sure (evals/README.md)
    about: dict = field(default_factory=dict)
    answer_forest: Forest | None = None  # when present, P(the materials answer) comes from it, not `answer`

    @classmethod
    def load(cls, path: Path = DEFAULT_MODEL) -> "JudgeModel":
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        forest = data.pop("answer_forest", None)
        model = cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})
        if forest is not None:
            if not forest.get("trees"):
                raise ValueError(f"{path}: the answer forest has no trees; refit it with `python -m evals.calibrate`")
            model.answer_forest = Forest(tuple(forest["features"]), forest["trees"])
        return model

    def save(self, path: Path = DEFAULT_MODEL) -> None:
        data = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "answer_forest"}
        text = json.dumps(data, indent=2)
        if self.answer_forest is not None:  # one line per tree: the file stays readable at its top
            trees = ",\n    ".join(json.dumps(t, separators=(",", ":")) for t in self.answer_forest.trees)
            features = json.dumps(list(self.answer_forest.features))
            text = text[:-2] + f',\n  "answer_forest": {{\n  "features": {features},\n  "trees": [\n    {trees}\n  ]}}\n}}'
        Path(path).write_text(text + "\n", encoding="utf-8")

    def sentence_p(self, features: dict[str, float]) -> float:
        return _logistic(self.sentence, features)

    def answer_p(self, features: dict[str, float]) -> float:
        if self.answer_forest is not None:
            return self.answer_forest.p(features)
        return _logistic(self.answer, features)


def value(features: dict[str, float], name: str) -> float:
    if name.startswith("log_"):
        return math.log10(max(0.0, features.get(name[4:], 0.0)) + 1e-4)
    return features.get(name, 0.0)


def _logistic(weights: dict[str, float], features: dict[str, float]) -> float:
    z = weights.get("bias", 0.0) + sum(w * value(features, k) for k, w in weights.items() if k != "bias")
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
