"""The eval runner: every question through the same `KnowledgeBase.ask` as `hrtp ask`, once per reader, and
every retriever scored on the same questions.

An eval set is a corpus and its questions. `evaluate` ingests the corpus into a temporary store (the user's
store is never touched) and runs the questions there; `run` scores questions against an existing store.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from evals import metrics as m
from evals.sets import EvalSet, load_questions
from kb.models.embedder import Embedder
from kb.ask.pipeline import KnowledgeBase
from kb.models.llm import REFUSAL_PHRASE
from kb.ask.readers.base import Reader
from kb.ask.retrieve import MODES
from kb.settings import Settings
from ingest.sync import sync_paths

log = logging.getLogger(__name__)
ANSWER_KEYS = ("fact_recall", "evidence_recall", "citation_precision", "groundedness", "quoted", "word_overlap",
               "refusal_accuracy",
               "false_refusal_rate", "median_words", "latency_p50_ms", "latency_p95_ms", "passed",
               "model_alone_fact_recall", "model_alone_refusal_accuracy", "both_sides")
RETRIEVAL_KEYS = ("hit@1", "hit@3", "hit@5", "mrr", "ndcg@5")


@dataclass
class Scored:
    row: dict
    answer: dict
    facts: float
    evidence: float
    precision: float
    grounded: float
    quoted: float
    overlap: float  # groundedness by word overlap, independent of our verifier
    missing: list[str]

    @property
    def ok(self) -> bool:
        if self.row["expect"] == "refuse":
            return self.answer["refused"]
        return not self.answer["refused"] and self.facts == 1.0 and self.grounded == 1.0


def score_answer(kb: KnowledgeBase, row: dict, reader: Reader) -> Scored:
    raw: list[str] = []  # a model's own text, before verification: what the model alone would have said
    answer = kb.ask(row["question"], row.get("history") or [], id=row["id"], reader=reader, on_text=raw.append).to_json()
    answer["model_text"] = "".join(raw)
    refused = answer["refused"]
    sources = {c["n"]: c for c in answer["citations"]}
    if refused:
        precision = grounded = quoted = overlap = 1.0
    else:
        precision, grounded = m.verified_scores(answer["answer"], sources, kb.verifier, row["question"])
        texts = {n: c["text"] for n, c in sources.items()}
        quoted = m.citation_scores(answer["answer"], texts)[1]
        overlap = m.overlap_groundedness(answer["answer"], texts)
    facts = 0.0 if refused else m.fact_recall(answer["answer"], row.get("facts") or [])
    missing = ["(refused)"] if refused and row["expect"] == "answer" else m.missing_facts(answer["answer"], row.get("facts") or [])
    ev = 0.0 if refused else m.evidence_recall([c["text"] for c in sources.values()], row.get("evidence") or [])
    return Scored(row, answer, facts, ev, precision, grounded, quoted, overlap, missing)


def score_retrieval(kb: KnowledgeBase, row: dict, mode: str, relevant_counts: dict[str, int]) -> dict[str, float]:
    evidence = row.get("evidence") or []
    if not evidence:
        return {}
    q = kb.understand(row["question"], row.get("history") or [], mode)
    ranked, _ = kb.retriever.search(q.retrieval_query, k=5, mode=mode)
    return m.retrieval_scores([p.chunk.text for p in ranked], evidence, relevant_counts.get(row["id"], 0))


def summarise_answers(scored: list[Scored]) -> dict[str, float]:
    ans = [s for s in scored if s.row["expect"] == "answer"]
    ref = [s for s in scored if s.row["expect"] == "refuse"]
    answered = [s for s in ans if not s.answer["refused"]]
    lat = [s.answer["latency_ms"] for s in scored]
    model = [s for s in scored if s.answer["model_text"]]
    out = {
        "fact_recall": m.mean([s.facts for s in ans]),
        "evidence_recall": m.mean([s.evidence for s in ans]),
        "citation_precision": m.mean([s.precision for s in answered]),
        "groundedness": m.mean([s.grounded for s in answered]),
        "quoted": m.mean([s.quoted for s in answered]),
        "word_overlap": m.mean([s.overlap for s in answered]),
        "refusal_accuracy": m.mean([float(s.answer["refused"]) for s in ref]),
        "false_refusal_rate": m.mean([float(s.answer["refused"]) for s in ans]),
        "median_words": m.median([m.words(s.answer["answer"]) for s in answered]),
        "latency_p50_ms": m.percentile(lat, 50),
        "latency_p95_ms": m.percentile(lat, 95),
        "questions": len(scored),
        "passed": sum(s.ok for s in scored),
    }
    sides = [s for s in ans if s.row.get("also")]  # pages that disagree (evals/wild/WRITING.md, "conflict")
    if sides:  # the answer gives both documents' figures
        out["both_sides"] = m.mean([0.0 if s.answer["refused"] else
                                    float(m.fact_recall(s.answer["answer"], s.row["facts"] + s.row["also"]) == 1.0)
                                    for s in sides])
    if model:  # the model alone, unverified: facts in its own text, and how often it said it had no answer
        says_no = [REFUSAL_PHRASE in s.answer["model_text"].upper() for s in model]
        out["model_alone_fact_recall"] = m.mean([0.0 if no else m.fact_recall(s.answer["model_text"], s.row.get("facts") or [])
                                                 for s, no in zip(model, says_no) if s.row["expect"] == "answer"])
        out["model_alone_refusal_accuracy"] = m.mean([float(no) for s, no in zip(model, says_no) if s.row["expect"] == "refuse"])
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in out.items()}


def run(kb: KnowledgeBase, rows: list[dict], readers: dict[str, Reader] | None = None,
        modes: tuple[str, ...] = MODES) -> dict:
    """{"retrievers": {mode: retrieval metrics}, "readers": {name: answer metrics}, "answer": the first
    reader's metrics, "per_question": [...]} for questions against `kb`'s store."""
    readers = readers or {kb.reader.name: kb.reader}
    chunks = [c.text for c, _ in kb.store.iter_chunks()]
    counts = {r["id"]: sum(m.relevant(t, r.get("evidence") or []) for t in chunks) for r in rows}
    for reader in readers.values():
        kb.ask("warm up", reader=reader)  # the first query pays for lazy loading; it is not a measurement
    retrieval = {mode: [score_retrieval(kb, r, mode, counts) for r in rows] for mode in modes}
    by_reader = {name: [score_answer(kb, r, reader) for r in rows] for name, reader in readers.items()}
    main = next(iter(readers))
    per_question = []
    for i, s in enumerate(by_reader[main]):
        per_question.append({
            "id": s.row["id"], "kind": s.row.get("kind", ""), "question": s.row["question"], "expect": s.row["expect"],
            "ok": s.ok, "refused": s.answer["refused"], "answer": s.answer["answer"], "missing_facts": s.missing,
            "fact_recall": s.facts, "groundedness": s.grounded, "latency_ms": s.answer["latency_ms"],
            "dropped": s.answer.get("dropped", []), "near_miss": s.row.get("near_miss", ""),
            "refusal_reason": s.answer.get("refusal_reason", ""), "signals": s.answer.get("signals", {}),
            "model_text": s.answer["model_text"],
            "retrieval": {mode: retrieval[mode][i] for mode in modes},
            "citations": [{"n": c["n"], "title": c["title"], "locator": c["locator"]} for c in s.answer["citations"]],
            "readers": {name: {"ok": sc[i].ok, "refused": sc[i].answer["refused"], "answer": sc[i].answer["answer"]}
                        for name, sc in by_reader.items()},
        })
    with_ev = [i for i, r in enumerate(rows) if r["expect"] == "answer" and r.get("evidence")]
    retrievers = {mode: {k: round(m.mean([retrieval[mode][i][k] for i in with_ev]), 4) for k in RETRIEVAL_KEYS}
                  for mode in modes}
    summaries = {name: summarise_answers(sc) for name, sc in by_reader.items()}
    return {"retrievers": retrievers, "readers": summaries,
            "answer": summaries[main] | {"reader": main, "retriever": kb.settings.retriever},
            "per_question": per_question}


def evaluate(settings: Settings, eval_set: EvalSet, readers: tuple[str, ...] = (), embedder: Embedder | None = None,
             llm_cache: Path | None = None) -> dict:
    """Ingest `eval_set.corpus` into a temporary store and run its questions with each named reader."""
    rows = load_questions(eval_set.questions)
    with tempfile.TemporaryDirectory(prefix="hrtp-eval-") as tmp:
        in_tmp = replace(settings, store_dir=Path(tmp) / "store", chroma_url=None)
        kb = KnowledgeBase(in_tmp, embedder, long_running=True)
        report = sync_paths(kb, [eval_set.corpus], progress=False)
        if report.files_failed:
            log.warning("%s: %d files failed to ingest: %s", eval_set.name, len(report.files_failed),
                        [f.path for f in report.files_failed])
        result = run(kb, rows, make_readers(kb, readers, llm_cache))
    return {"set": eval_set.name, "corpus": str(eval_set.corpus), "questions": str(eval_set.questions)} | result


def make_readers(kb: KnowledgeBase, names: tuple[str, ...], llm_cache: Path | None = None) -> dict[str, Reader]:
    """Readers by name, in order; a model reader's outputs come from `llm_cache` when given."""
    from kb.ask.readers import registry
    from kb.models.load import get_llm

    out: dict[str, Reader] = {}
    for name in names or (kb.settings.reader,):
        llm = None
        if llm_cache is not None and registry.spec(name).uses_model:
            from evals.llm_cache import CachedLLM

            llm = CachedLLM(get_llm(kb.settings), llm_cache)
        out[name] = kb.make_reader(name, llm)
    return out
