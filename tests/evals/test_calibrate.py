"""The calibration's held-out figures: a refusal accuracy pooled over folds counts each unanswerable question once,
whatever the size of the fold it fell in, so the cut-off it chooses for ">= 0.9" is the one that reaches it."""

from evals.calibrate import _pool


def test_refusal_accuracy_is_pooled_over_the_unanswerable_questions():
    # fold A: 10 questions, 1 unanswerable and refused wrongly; fold B: 10 questions, 9 unanswerable, all refused
    a = {"refusal_accuracy": 0.0, "fact_recall": 1.0, "refuse_questions": 1, "answer_questions": 9, "passed": 9}
    b = {"refusal_accuracy": 1.0, "fact_recall": 0.0, "refuse_questions": 9, "answer_questions": 1, "passed": 9}
    parts = [(a, 10), (b, 10)]
    assert _pool(parts, "refusal_accuracy") == 0.9  # 9 of the 10 unanswerable questions, not the folds' mean 0.5
    assert _pool(parts, "fact_recall") == 0.9
    assert _pool(parts, "passed") == 18
