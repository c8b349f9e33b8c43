"""Compare answer models for the judgement on the saved dev judgements: the logistic one it had and the shipped
forest, held out three ways (leave one cluster of documents out, and 5-fold by question with two seeds).

    python -m evals.answer_models          # after `python -m evals.calibrate` has saved bench-out/judgements-*.pkl
    python -m evals.answer_models --curve  # the forest's held-out AUC against the share of training data used

For each split and model it prints the held-out AUC of P(the materials answer), the share of answerable questions
answered where nine in ten unanswerable ones are refused, and the whole reader replayed (`decide`) at the
cut-offs the calibration would choose. About three minutes; no model time.
"""

from __future__ import annotations

import argparse
import pickle
import random

import numpy as np
from sklearn.metrics import roc_auc_score

from evals import calibrate as cal
from kb.ask.judge import JudgeModel
from kb.ask.readers.judged import answer_features


def _logistic(train, ws):
    return JudgeModel(ws, cal.fit_answers_logistic(train, ws))


def _forest(train, ws):
    return JudgeModel(ws, {}, answer_forest=cal.fit_answers(train, ws))


MODELS = {"logistic": _logistic, "forest (shipped)": _forest}


def splits(data) -> dict[str, list[list[int]]]:
    cluster = [r["id"][:2] if r["id"].startswith("w") else "bundled" for r, _ in data]
    out = {"leave one cluster out": [[i for i, c in enumerate(cluster) if c == g] for g in sorted(set(cluster))]}
    for seed in (7, 11):
        order = list(range(len(data)))
        random.Random(seed).shuffle(order)
        out[f"5-fold, seed {seed}"] = [[i for n, i in enumerate(order) if n % 5 == f] for f in range(5)]
    return out


def held_out(data, split: list[list[int]], name: str) -> tuple[float, float, dict]:
    """Held-out AUC of P(the materials answer), the share of answerable questions answered where nine in ten
    unanswerable ones fall below it, and the whole reader replayed at the cut-offs the calibration would choose."""
    y = np.array([float(r["expect"] == "answer") for r, _ in data])
    p = np.zeros(len(data))
    for test in split:
        held = set(test)
        train = [x for i, x in enumerate(data) if i not in held]
        fitted = MODELS[name](train, cal.fit_sentences(train))
        for i in test:
            p[i] = fitted.answer_p(answer_features(data[i][1], fitted))
    refused = np.sort(p[y == 0])
    line = refused[int(np.ceil(cal.MIN_REFUSAL_ACCURACY * len(refused))) - 1]
    point, figures = cal.choose(cal.cross_validate(data, split=split, logistic=name == "logistic"))
    return roc_auc_score(y, p), float(np.mean(p[y == 1] > line)), {"point": point, **figures}


def learning_curve(data, split: list[list[int]], shares=(0.4, 0.6, 0.8, 1.0), draws: int = 3) -> dict[float, float]:
    """Held-out AUC of the answer forest when each fold trains on a random share of its training questions
    (mean over `draws`): whether more dev questions would still pay (evals/README.md, "More dev data")."""
    y = np.array([float(r["expect"] == "answer") for r, _ in data])
    out = {}
    for share in shares:
        aucs = []
        for draw in range(draws if share < 1 else 1):
            p = np.zeros(len(data))
            for test in split:
                held = set(test)
                train = [x for i, x in enumerate(data) if i not in held]
                random.Random(draw).shuffle(train)
                train = train[: int(share * len(train))]
                fitted = _forest(train, cal.fit_sentences(train))
                for i in test:
                    p[i] = fitted.answer_p(answer_features(data[i][1], fitted))
            aucs.append(roc_auc_score(y, p))
        out[share] = float(np.mean(aucs))
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--curve", action="store_true", help="the forest's held-out AUC by share of training data")
    curve = ap.parse_args(argv).curve
    data = [x for s in ("bundled-dev", "wild-dev") for x in pickle.loads((cal.OUT / f"judgements-{s}.pkl").read_bytes())]
    for split, folds in splits(data).items():
        if curve:
            aucs = learning_curve(data, folds)
            print(f"{split:22s} AUC by training share:", ", ".join(f"{s}: {a:.3f}" for s, a in aucs.items()))
            continue
        for name in MODELS:
            auc, answered, r = held_out(data, folds, name)
            print(f"{split:22s} {name:17s} AUC {auc:.3f}  answered at refusal accuracy 0.9: {answered:.2f}  "
                  f"replayed {r['point']}: fact recall {r['fact_recall']:.3f}, refusal accuracy "
                  f"{r['refusal_accuracy']:.3f}, passed {r['passed']}", flush=True)


if __name__ == "__main__":
    main()
