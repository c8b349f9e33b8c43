"""Warm answer latency of each reader, measured through the chat's path (`KnowledgeBase.stream`).

    python -m evals.bench.reader [--set bundled-test] [--set wild-test] [--limit N]

One process per run: each set is ingested into a temporary store, the reader model is loaded and warmed with
one question, then every question of the set is asked with each reader of the registry (`kb/ask/readers/registry.py`), no output
cache. The readers take turns, each on its own question at each step, so a load on the machine that comes and
goes falls on all of them alike (and, from three questions, no reader finds the model's cache holding its
question's prompt). Printed per set and reader: the checked answer p50/p95 (the "final" event: what the chat
then shows), the first text shown (the "quick" quoted answer a model reader's chat shows while the model
reads; for the extractive reader its answer), the model's first token (never shown: the chat waits for the
checked answer) and the model's own time. The model readers' times include the quoted answer computed first.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from evals.metrics import percentile
from evals.sets import EVAL_SETS, load_questions
from ingest.sync import sync_paths
from kb.ask.pipeline import KnowledgeBase
from kb.ask.readers.registry import NAMES as READERS
from kb.settings import Settings

log = logging.getLogger(__name__)


def measure(set_name: str, limit: int) -> dict[str, dict[str, float]]:
    spec = EVAL_SETS[set_name]
    rows = load_questions(spec.questions)[:limit]
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env(store_dir=Path(tmp) / "store")
        kb = KnowledgeBase(settings, long_running=True)  # the chat's setting: its latency is what users see
        sync_paths(kb, [spec.corpus], progress=False)
        kb.ask("What is this about?")  # warm: the model's fixed prompt prefix is read here
        chats, times = {}, {}
        for name in READERS:
            # one KnowledgeBase per reader over the same store, embedder and process-wide model: `stream`
            # answers with the configured reader, as the chat started with `--reader NAME` does
            chats[name] = kb if name == settings.reader else KnowledgeBase(replace(settings, reader=name),
                                                                           kb.embedder, long_running=True)
            if chats[name] is not kb:
                chats[name].ask("What is this about?")  # warm its own readers and indexes as above
            times[name] = _Times()
        n = len(rows)
        for i in range(n):
            for k, name in enumerate(READERS):
                times[name].add(chats[name], rows[(i - k * n // len(READERS)) % n])
        return {name: t.summary() for name, t in times.items()}


class _Times:
    """One reader's times through `KnowledgeBase.stream`, in ms from the question."""

    def __init__(self) -> None:
        self.total: list[float] = []
        self.shown: list[float] = []
        self.first: list[float] = []
        self.model: list[float] = []

    def add(self, kb: KnowledgeBase, r: dict) -> None:
        t = time.perf_counter()
        at: dict[str, float] = {}
        for kind, value in kb.stream(r["question"], r.get("history") or []):
            at.setdefault(kind, (time.perf_counter() - t) * 1000)
            if kind == "final":
                self.model.append(value.timings.get("llm", 0.0))
        self.total.append(at["final"])
        self.shown.append(at.get("quick", at["final"]))
        if "text" in at:
            self.first.append(at["text"])

    def summary(self) -> dict[str, float]:
        total, shown, first, model = self.total, self.shown, self.first, self.model
        f = {"questions": len(total), "answer_p50_ms": percentile(total, 50), "answer_p95_ms": percentile(total, 95),
             "shown_p50_ms": percentile(shown, 50), "shown_p95_ms": percentile(shown, 95)}
        if first:
            f |= {"first_token_p50_ms": percentile(first, 50), "first_token_p95_ms": percentile(first, 95),
                  "model_p50_ms": percentile(model, 50)}
        return f


def _s(f: dict[str, float], key: str) -> str:
    return f"{f[key + '_p50_ms'] / 1000:.2f} / {f[key + '_p95_ms'] / 1000:.2f} s" if key + "_p50_ms" in f else "–"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", action="append", dest="sets", choices=sorted(EVAL_SETS))
    ap.add_argument("--limit", type=int, default=1000, help="at most N questions per set")
    ap.add_argument("--out", type=Path, default=Path("bench-out/reader.json"))
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    results = {s: measure(s, args.limit) for s in args.sets or ["bundled-test", "wild-test"]}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print("| set | reader | questions | checked answer p50 / p95 | first text shown p50 / p95 "
          "| model's first token p50 / p95 | model p50 |")
    print("|---|---|---|---|---|---|---|")
    for s, readers in results.items():
        for name, f in readers.items():
            mp = f"{f['model_p50_ms'] / 1000:.2f} s" if "model_p50_ms" in f else "–"
            print(f"| {s} | {name} | {f['questions']} | {_s(f, 'answer')} | {_s(f, 'shown')} | "
                  f"{_s(f, 'first_token')} | {mp} |")


if __name__ == "__main__":
    main()
