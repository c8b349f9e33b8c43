"""The calibration: a refusal accuracy pooled over folds counts each unanswerable question once, whatever the size
of the fold it fell in, so the cut-off it chooses for ">= 0.9" is the one that reaches it; and the answer forest it
ships scores, without scikit-learn, as it was fitted."""

import numpy as np
from sklearn.ensemble import ExtraTreesClassifier

from evals.calibrate import MIN_LEAF, SEED, TREES, _pool, _tree
from kb.ask.judge import Forest, JudgeModel


def test_refusal_accuracy_is_pooled_over_the_unanswerable_questions():
    # fold A: 10 questions, 1 unanswerable and refused wrongly; fold B: 10 questions, 9 unanswerable, all refused
    a = {"refusal_accuracy": 0.0, "fact_recall": 1.0, "refuse_questions": 1, "answer_questions": 9, "passed": 9}
    b = {"refusal_accuracy": 1.0, "fact_recall": 0.0, "refuse_questions": 9, "answer_questions": 1, "passed": 9}
    parts = [(a, 10), (b, 10)]
    assert _pool(parts, "refusal_accuracy") == 0.9  # 9 of the 10 unanswerable questions, not the folds' mean 0.5
    assert _pool(parts, "fact_recall") == 0.9
    assert _pool(parts, "passed") == 18


def test_the_shipped_forest_scores_as_scikit_learn_fitted_it(tmp_path):
    """Trees exported as calibrate ships them, saved and loaded, give scikit-learn's probabilities, a log feature
    (as the answer model's refusal probability) included."""
    rng = np.random.default_rng(3)
    raw = rng.random((200, 3)) * [1.0, 1.0, 0.01]
    X = np.column_stack([raw[:, 0], raw[:, 1], np.log10(raw[:, 2] + 1e-4)])  # what `value` makes of "log_p"
    y = (X[:, 0] + 0.3 * rng.random(200) - 0.05 * X[:, 2] > 0.7).astype(float)
    clf = ExtraTreesClassifier(n_estimators=TREES, min_samples_leaf=MIN_LEAF, random_state=SEED).fit(X, y)
    forest = Forest(("a", "b", "log_p"), [_tree(e.tree_) for e in clf.estimators_])
    JudgeModel({"bias": 0.0}, {}, answer_forest=forest).save(tmp_path / "judge.json")
    loaded = JudgeModel.load(tmp_path / "judge.json")
    probe = rng.random((80, 3)) * [1.0, 1.0, 0.01]
    ours = [loaded.answer_p({"a": a, "b": b, "p": p}) for a, b, p in probe]
    theirs = clf.predict_proba(np.column_stack([probe[:, 0], probe[:, 1], np.log10(probe[:, 2] + 1e-4)]))[:, 1]
    assert np.allclose(ours, theirs, atol=1e-3)
