"""The quality gate: the bundled question sets must keep the metrics in evals/thresholds.json."""

import json

import pytest

from evals.run import DEV, TEST, load_questions, run

THRESHOLDS = json.loads((DEV.parent / "thresholds.json").read_text())


@pytest.mark.parametrize("part", [DEV, TEST], ids=["dev", "test"])
def test_answer_quality_holds(corpus_kb, part):
    result = run(corpus_kb, load_questions(part))
    got = result["retrievers"]["hybrid"]
    limits = THRESHOLDS[part.name]
    low = {k: (got[k], v) for k, v in limits["min"].items() if got[k] < v}
    high = {k: (got[k], v) for k, v in limits["max"].items() if got[k] > v}
    failing = [f"{q['id']} {q['question']}: {q['missing_facts'] or q['answer'][:80]}"
               for q in result["per_question"] if not q["ok"]]
    assert not low and not high, f"below: {low} above: {high}\nfailing questions:\n" + "\n".join(failing)


def test_question_sets_are_well_formed_and_cover_every_document(corpus_kb):
    texts = [c.text for c, _ in corpus_kb.store.iter_chunks()]
    from evals.metrics import relevant

    rows = load_questions(DEV) + load_questions(TEST)
    assert len(rows) >= 60 and len({r["id"] for r in rows}) == len(rows)
    assert sum(r["expect"] == "refuse" for r in rows) >= 12
    assert {"factual", "paraphrase", "list", "synthesis", "followup", "refuse"} <= {r["kind"] for r in rows}
    cited_docs = set()
    for r in rows:
        for quote in r["evidence"]:
            hits = [t for t in texts if relevant(t, [quote])]
            assert hits, f"{r['id']}: evidence not in the corpus: {quote!r}"
            cited_docs |= {c.path for c, _ in corpus_kb.store.iter_chunks() if c.text in hits}
    assert len(cited_docs) == 3
