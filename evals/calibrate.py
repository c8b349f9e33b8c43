"""Fit the judgement (kb/ask/judge.py) on the dev splits and write it (weights and trees) to kb/ask/judge.json.

    python -m evals.calibrate [--set bundled-dev --set wild-dev] [--reuse]

1. Every dev question goes through retrieval and the judged reader's `weigh` (the model's answers come from the
   eval cache, so a re-run costs no model time); the candidates and their features are kept in
   `bench-out/judgements-<set>.pkl` (`--reuse` reads them back).
2. Labels, from the sets' facts: a candidate sentence is positive when it states one of the question's expected
   facts; every candidate of an unanswerable question is negative. The answer as a whole is positive when the
   question is answerable.
3. The sentence model is a logistic regression (numpy, L2); the answer model is a small forest of extremely
   randomised trees (scikit-learn, shipped as arrays: kb/ask/judge.py scores it without scikit-learn). Cut-offs
   and the quote policy are chosen by 5-fold cross-validation by question, replaying `decide` on held-out
   questions: the most facts for refusal accuracy >= 0.9. Each feature's weight (importance, for the forest)
   and what leaving it out costs are printed (and kept in the file's "about").
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import pickle
import random
import statistics
import tempfile
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

import numpy as np
from sklearn.ensemble import ExtraTreesClassifier

from evals import metrics as m
from evals.llm_cache import CachedLLM
from evals.sets import EVAL_SETS, load_questions
from kb.ask.pipeline import KnowledgeBase
from kb.ask.judge import ANSWER_FEATURES, DEFAULT_MODEL, SENTENCE_FEATURES, Forest, JudgeModel, value
from kb.ask.readers.judged import Judgement, JudgedReader, answer_features, decide
from kb.models.load import get_llm
from kb.settings import Settings
from ingest.sync import sync_paths

log = logging.getLogger("calibrate")
OUT = Path("bench-out")
MIN_REFUSAL_ACCURACY = 0.9
SENTENCE_CUTS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
ANSWER_CUTS = (0.1, 0.2, 0.3, 0.4) + tuple(round(0.5 + 0.025 * i, 3) for i in range(19))  # fine where refusals turn
POLICIES = ("never", "fallback", "add")
# The answer forest, chosen on dev (evals/README.md): more trees or other leaf sizes moved held-out figures by noise.
TREES, MIN_LEAF, SEED = 100, 5, 0


# 1. judgements ----------------------------------------------------------------------------------------------
def judgements(settings: Settings, set_name: str, cache: Path, reuse: bool) -> list[tuple[dict, Judgement]]:
    path = OUT / f"judgements-{set_name}.pkl"
    if reuse and path.exists():
        return pickle.loads(path.read_bytes())
    eval_set = EVAL_SETS[set_name]
    rows = load_questions(eval_set.questions)
    with tempfile.TemporaryDirectory(prefix="hrtp-calibrate-") as tmp:
        kb = KnowledgeBase(replace(settings, store_dir=Path(tmp) / "store", chroma_url=None), long_running=True)
        sync_paths(kb, [eval_set.corpus], progress=False)
        reader = kb.make_reader("judged", CachedLLM(get_llm(kb.settings), cache))
        assert isinstance(reader, JudgedReader)
        out = []
        for i, row in enumerate(rows, 1):
            history = row.get("history") or []
            q = kb.understand(row["question"], history)
            qvec = kb.embedder.embed_query(q.retrieval_query)
            passages, _ = kb.retriever.search(q.retrieval_query, qvec=qvec)
            out.append((row, reader.weigh(q, qvec, passages, history)))
            log.info("%s %d/%d", set_name, i, len(rows))
    OUT.mkdir(exist_ok=True)
    path.write_bytes(pickle.dumps(out))
    return out


# 2. labels and fitting --------------------------------------------------------------------------------------
def sentence_label(row: dict, text: str) -> int:
    return int(row["expect"] == "answer" and m.fact_recall(text, row.get("facts") or []) > 0)


def fit_logistic(X: np.ndarray, y: np.ndarray, l2: float = 1.0) -> np.ndarray:
    """Weights (bias first) by Newton's method with an L2 penalty on all but the bias."""
    X = np.hstack([np.ones((len(X), 1)), X])
    beta = np.zeros(X.shape[1])
    reg = np.eye(X.shape[1]) * l2
    reg[0, 0] = 0.0
    for _ in range(100):
        p = 1 / (1 + np.exp(-np.clip(X @ beta, -30, 30)))
        grad = X.T @ (p - y) + reg @ beta
        hess = X.T @ (X * (p * (1 - p))[:, None]) + reg + 1e-9 * np.eye(len(beta))
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.max(np.abs(step)) < 1e-7:
            break
    return beta


def as_weights(beta: np.ndarray, names: tuple[str, ...]) -> dict[str, float]:
    return {"bias": round(float(beta[0]), 4)} | {n: round(float(b), 4) for n, b in zip(names, beta[1:])}


def fit_sentences(data, names=SENTENCE_FEATURES) -> dict[str, float]:
    X, y = [], []
    for row, j in data:
        for c in j.candidates:
            X.append([value(c.features, n) for n in names])
            y.append(sentence_label(row, c.text))
    return as_weights(fit_logistic(np.array(X), np.array(y, dtype=float)), names)


def _answer_xy(data, sentence: dict[str, float], names) -> tuple[np.ndarray, np.ndarray]:
    probe = JudgeModel(sentence, {})
    X = np.array([[value(answer_features(j, probe), n) for n in names] for _, j in data])
    return X, np.array([float(row["expect"] == "answer") for row, _ in data])


def fit_answers(data, sentence: dict[str, float], names=ANSWER_FEATURES) -> "MemoForest":
    X, y = _answer_xy(data, sentence, names)
    clf = ExtraTreesClassifier(n_estimators=TREES, min_samples_leaf=MIN_LEAF, random_state=SEED).fit(X, y)
    importance = {n: round(float(v), 4) for n, v in zip(names, clf.feature_importances_)}
    return MemoForest(tuple(names), [_tree(e.tree_) for e in clf.estimators_], importance)


def fit_answers_logistic(data, sentence: dict[str, float], names=ANSWER_FEATURES) -> dict[str, float]:
    """The answer model the judgement had before the forest (evals/answer_models.py compares them)."""
    return as_weights(fit_logistic(*_answer_xy(data, sentence, names)), names)


def _tree(t) -> dict[str, list]:
    """One fitted tree as the arrays kb/ask/judge.py walks; a leaf's value is its share of answerable questions."""
    shares = t.value[:, 0, :] / t.value[:, 0, :].sum(axis=1, keepdims=True)
    leaf = t.children_left < 0
    return {"f": [int(f) if not lf else -1 for f, lf in zip(t.feature, leaf)],
            "t": [float(x) if not lf else 0.0 for x, lf in zip(t.threshold, leaf)],
            "l": [int(x) for x in t.children_left], "r": [int(x) for x in t.children_right],
            "v": [round(float(x), 4) if lf else 0.0 for x, lf in zip(shares[:, 1], leaf)]}


@dataclass
class MemoForest(Forest):
    """The forest, remembering its answers (cross-validation replays the same question at many cut-offs), and
    how much each feature counted in its splits."""

    importance: dict[str, float] = field(default_factory=dict)
    memo: dict[tuple, float] = field(default_factory=dict, repr=False)

    def p(self, features: dict[str, float]) -> float:
        key = tuple(value(features, n) for n in self.features)
        if key not in self.memo:
            self.memo[key] = super().p(features)
        return self.memo[key]

    def plain(self) -> Forest:
        return Forest(self.features, self.trees)


# 3. replaying the decision ------------------------------------------------------------------------------------
def score(data, model: JudgeModel) -> dict[str, float]:
    facts, refused_ok, false_ref, words, passed = [], [], [], [], 0
    for row, j in data:
        draft = decide(j, model)
        if row["expect"] == "refuse":
            refused_ok.append(float(draft.refused))
            passed += draft.refused
            continue
        f = 0.0 if draft.refused else m.fact_recall(draft.text, row.get("facts") or [])
        facts.append(f)
        false_ref.append(float(draft.refused))
        passed += (not draft.refused) and f == 1.0
        if not draft.refused:
            words.append(m.words(draft.text))
    return {"fact_recall": m.mean(facts), "refusal_accuracy": m.mean(refused_ok), "false_refusals": m.mean(false_ref),
            "median_words": m.median(words), "passed": passed, "questions": len(data),
            "refuse_questions": len(refused_ok), "answer_questions": len(facts)}


def folds(data, k: int = 5, seed: int = 7):
    order = list(range(len(data)))
    random.Random(seed).shuffle(order)
    for f in range(k):
        test = {i for n, i in enumerate(order) if n % k == f}
        yield [data[i] for i in range(len(data)) if i not in test], [data[i] for i in sorted(test)]


def _parts(data, split: list[list[int]]):
    for test in split:
        held = set(test)
        yield [x for i, x in enumerate(data) if i not in held], [data[i] for i in test]


def cross_validate(data, s_names=SENTENCE_FEATURES, a_names=ANSWER_FEATURES, points=None, split=None,
                   logistic: bool = False) -> dict[tuple, dict]:
    """Held-out figures for every (sentence cut, answer cut, policy): pooled over 5 folds, or over `split` (lists
    of held-out question indices); `logistic`: the answer model the judgement had before the forest."""
    per_point: dict[tuple, list] = {}
    for train, test in folds(data) if split is None else _parts(data, split):
        ws = fit_sentences(train, s_names)
        if logistic:
            answer, forest = fit_answers_logistic(train, ws, a_names), None
        else:
            answer, forest = {}, fit_answers(train, ws, a_names)
        for point in points or itertools.product(SENTENCE_CUTS, ANSWER_CUTS, POLICIES):
            model = JudgeModel(ws, answer, *point, answer_forest=forest)
            per_point.setdefault(point, []).append((score(test, model), len(test)))
    pooled = {}
    for point, parts in per_point.items():
        pooled[point] = {key: _pool(parts, key) for key in parts[0][0]}
    return pooled


# each mean is pooled over the questions it is a mean of: refusal accuracy over the unanswerable ones
_OVER = {"refusal_accuracy": "refuse_questions", "fact_recall": "answer_questions", "false_refusals": "answer_questions"}
_COUNTS = ("passed", "questions", "refuse_questions", "answer_questions")


def _pool(parts, key: str) -> float:
    if key in _COUNTS:
        return sum(p[key] for p, _ in parts)
    weights = [p[_OVER[key]] if key in _OVER else n for p, n in parts]
    total = sum(weights)
    return sum(p[key] * w for (p, _), w in zip(parts, weights)) / total if total else 0.0


def choose(pooled: dict[tuple, dict]) -> tuple[tuple, dict]:
    ok = {p: r for p, r in pooled.items() if r["refusal_accuracy"] >= MIN_REFUSAL_ACCURACY} or pooled
    best = max(ok, key=lambda p: (round(ok[p]["fact_recall"], 3), ok[p]["passed"], -ok[p]["median_words"]))
    return best, ok[best]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--set", dest="sets", action="append", choices=[s for s in EVAL_SETS if s.endswith("dev")])
    ap.add_argument("--reuse", action="store_true", help="read the saved judgements instead of re-running")
    ap.add_argument("--llm-cache", type=Path, help="model answers cache (default: <cache>/eval-llm.sqlite)")
    ap.add_argument("--out", type=Path, default=DEFAULT_MODEL)
    ap.add_argument("--ablate", action="store_true", help="also refit without each feature")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = Settings.from_env()
    cache = args.llm_cache or settings.cache_dir / "eval-llm.sqlite"
    sets = args.sets or ["bundled-dev", "wild-dev"]
    by_set = {s: judgements(settings, s, cache, args.reuse) for s in sets}
    data = [x for s in sets for x in by_set[s]]
    pooled = cross_validate(data)
    point, figures = choose(pooled)
    ws = fit_sentences(data)
    forest = fit_answers(data, ws)
    model = JudgeModel(ws, {}, *point, answer_forest=forest)
    per_set = {s: score(by_set[s], model) for s in sets}
    for floor in (0.5, 0.6, 0.7, 0.8, 0.9):
        ok = {p: r for p, r in pooled.items() if r["refusal_accuracy"] >= floor}
        if ok:
            p = max(ok, key=lambda p: (ok[p]["fact_recall"], ok[p]["passed"]))
            print(f"refusal accuracy >= {floor}: {p}", json.dumps({k: round(v, 3) for k, v in ok[p].items()}))
    print(f"chosen: sentence cut {point[0]}, answer cut {point[1]}, quotes {point[2]}")
    print("held-out (5-fold) on", "+".join(sets), json.dumps({k: round(v, 3) for k, v in figures.items()}))
    for s, r in per_set.items():
        print("in-sample", s, json.dumps({k: round(v, 3) for k, v in r.items()}))
    print("sentence weights:", json.dumps(ws))
    print("answer forest, feature importance:", json.dumps(forest.importance))
    ablation = {}
    if args.ablate:
        for name in SENTENCE_FEATURES:
            names = tuple(n for n in SENTENCE_FEATURES if n != name)
            r = cross_validate(data, s_names=names, points=[point])[point]
            ablation[f"sentence:{name}"] = {k: round(r[k], 3) for k in ("fact_recall", "refusal_accuracy", "passed")}
            print("without", name, ablation[f"sentence:{name}"])
        for name in ANSWER_FEATURES:
            names = tuple(n for n in ANSWER_FEATURES if n != name)
            r = cross_validate(data, a_names=names, points=[point])[point]
            ablation[f"answer:{name}"] = {k: round(r[k], 3) for k in ("fact_recall", "refusal_accuracy", "passed")}
            print("without", name, ablation[f"answer:{name}"])
    model.answer_forest = forest.plain()
    model.about = {"fitted": date.today().isoformat(), "sets": sets, "questions": len(data),
                   "answer_forest": {"trees": TREES, "min_leaf": MIN_LEAF, "importance": forest.importance},
                   "candidates": sum(len(j.candidates) for _, j in data),
                   "held_out": {k: round(v, 4) for k, v in figures.items()}, "ablation": ablation,
                   "how": "python -m evals.calibrate (evals/README.md)"}
    model.save(args.out)
    print("wrote", args.out, f"(median candidates per question {statistics.median(len(j.candidates) for _, j in data)})")


if __name__ == "__main__":
    main()
