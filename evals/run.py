"""The eval runner: every question through the same `KnowledgeBase.ask` as `hrtp ask`, once per retriever."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from evals import metrics as m
from kb.engine import KnowledgeBase
from kb.retrieve import MODES

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
DEV, TEST = HERE / "questions_dev.jsonl", HERE / "questions_test.jsonl"
ANSWER_KEYS = ("fact_recall", "evidence_recall", "citation_precision", "groundedness", "refusal_accuracy",
               "false_refusal_rate", "median_words", "latency_p50_ms", "latency_p95_ms")
RETRIEVAL_KEYS = ("hit@1", "hit@3", "hit@5", "mrr", "ndcg@5")


class QuestionFileError(ValueError):
    pass


def load_questions(path: Path) -> list[dict]:
    rows = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise QuestionFileError(f"{path}:{i}: not JSON ({exc.msg})") from exc
        if not isinstance(row, dict) or not isinstance(row.get("question"), str) or row.get("expect") not in ("answer", "refuse"):
            raise QuestionFileError(f'{path}:{i}: needs "question" and "expect": "answer"|"refuse"')
        row.setdefault("id", f"line{i}")
        rows.append(row)
    return rows


@dataclass
class Scored:
    row: dict
    answer: dict
    retrieval: dict[str, float]
    facts: float
    evidence: float
    precision: float
    grounded: float
    missing: list[str]

    @property
    def ok(self) -> bool:
        if self.row["expect"] == "refuse":
            return self.answer["refused"]
        return not self.answer["refused"] and self.facts == 1.0 and self.grounded == 1.0


def score_one(kb: KnowledgeBase, row: dict, mode: str, relevant_counts: dict[str, int]) -> Scored:
    answer = kb.ask(row["question"], row.get("history") or [], mode=mode, id=row["id"]).to_json()
    ranked, _ = kb.retriever.search(answer["retrieval_query"] or row["question"], k=5, mode=mode)
    evidence = row.get("evidence") or []
    retrieval = m.retrieval_scores([p.chunk.text for p in ranked], evidence, relevant_counts.get(row["id"], 0)) \
        if evidence else {}
    sources = {c["n"]: c["text"] for c in answer["citations"]}
    refused = answer["refused"]
    precision, grounded = (1.0, 1.0) if refused else m.citation_scores(answer["answer"], sources)
    facts = 0.0 if refused else m.fact_recall(answer["answer"], row.get("facts") or [])
    missing = ["(refused)"] if refused and row["expect"] == "answer" else m.missing_facts(answer["answer"], row.get("facts") or [])
    ev = 0.0 if refused else m.evidence_recall(list(sources.values()), evidence)
    return Scored(row, answer, retrieval, facts, ev, precision, grounded, missing)


def summarise(scored: list[Scored]) -> dict[str, float]:
    ans = [s for s in scored if s.row["expect"] == "answer"]
    ref = [s for s in scored if s.row["expect"] == "refuse"]
    answered = [s for s in ans if not s.answer["refused"]]
    with_ev = [s for s in ans if s.retrieval]
    lat = [s.answer["latency_ms"] for s in scored]
    out = {k: m.mean([s.retrieval[k] for s in with_ev]) for k in RETRIEVAL_KEYS}
    out.update({
        "fact_recall": m.mean([s.facts for s in ans]),
        "evidence_recall": m.mean([s.evidence for s in ans]),
        "citation_precision": m.mean([s.precision for s in answered]),
        "groundedness": m.mean([s.grounded for s in answered]),
        "refusal_accuracy": m.mean([float(s.answer["refused"]) for s in ref]),
        "false_refusal_rate": m.mean([float(s.answer["refused"]) for s in ans]),
        "median_words": m.median([m.words(s.answer["answer"]) for s in answered]),
        "latency_p50_ms": m.percentile(lat, 50),
        "latency_p95_ms": m.percentile(lat, 95),
        "questions": len(scored),
        "passed": sum(s.ok for s in scored),
    })
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in out.items()}


def run(kb: KnowledgeBase, rows: list[dict], modes: tuple[str, ...] = MODES) -> dict:
    """{"retrievers": {mode: metrics}, "answer": metrics of the configured retriever, "per_question": [...]}."""
    chunks = [c.text for c, _ in kb.store.iter_chunks()]
    counts = {r["id"]: sum(m.relevant(t, r.get("evidence") or []) for t in chunks) for r in rows}
    kb.ask("warm up")  # the first query pays for lazy loading; it is not a measurement
    by_mode = {mode: [score_one(kb, r, mode, counts) for r in rows] for mode in modes}
    main = kb.settings.retriever if kb.settings.retriever in by_mode else modes[-1]
    per_question = []
    for i, s in enumerate(by_mode[main]):
        per_question.append({
            "id": s.row["id"], "kind": s.row.get("kind", ""), "question": s.row["question"], "expect": s.row["expect"],
            "ok": s.ok, "refused": s.answer["refused"], "answer": s.answer["answer"], "missing_facts": s.missing,
            "fact_recall": s.facts, "groundedness": s.grounded, "latency_ms": s.answer["latency_ms"],
            "retrieval": {mode: by_mode[mode][i].retrieval for mode in modes},
            "citations": [{"n": c["n"], "title": c["title"], "locator": c["locator"]} for c in s.answer["citations"]],
        })
    summaries = {mode: summarise(sc) for mode, sc in by_mode.items()}
    return {"retrievers": summaries, "answer": {k: summaries[main][k] for k in ANSWER_KEYS} | {"retriever": main},
            "per_question": per_question}
