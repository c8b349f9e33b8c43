"""Warm answer latency of each reader, and the judged reader's first model token (issue: reader).

    python -m evals.bench.reader [--set bundled-test] [--set wild-test] [--limit N]

One process per run: each set is ingested into a temporary store, the reader model is loaded and warmed with
one question, then every question of the set is asked with each reader, no output cache. Printed per set and
reader: answer p50/p95 (ms), and for the judged (default) reader the time from the question to the first token of
the model's answer (the chat shows the quoted answer meanwhile) and the model's own time.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from pathlib import Path

from evals.metrics import percentile
from evals.sets import EVAL_SETS, load_questions
from kb.ask.pipeline import KnowledgeBase
from kb.settings import Settings
from ingest.sync import sync_paths

log = logging.getLogger(__name__)


def measure(set_name: str, limit: int) -> dict[str, dict[str, float]]:
    spec = EVAL_SETS[set_name]
    rows = load_questions(spec.questions)[:limit]
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env(store_dir=Path(tmp) / "store", reader="judged")
        kb = KnowledgeBase(settings, long_running=True)  # the chat's setting: its latency is what users see
        sync_paths(kb, [spec.corpus], progress=False)
        kb.ask("What is this about?")  # warm: the model's fixed prompt prefix is read here
        out: dict[str, dict[str, float]] = {}
        for name, reader in (("extractive", kb.extractive), ("judged", kb.reader)):
            total, first, model = [], [], []
            for r in rows:
                seen: list[float] = []
                t = time.perf_counter()
                a = kb.ask(r["question"], r.get("history") or [], reader=reader,
                           on_text=lambda _s: seen.append(time.perf_counter()) if not seen else None)
                total.append((time.perf_counter() - t) * 1000)
                if seen:
                    first.append((seen[0] - t) * 1000)
                model.append(a.timings.get("llm", 0.0))
            out[name] = {"questions": len(rows), "answer_p50_ms": percentile(total, 50),
                         "answer_p95_ms": percentile(total, 95)}
            if first:
                out[name] |= {"first_token_p50_ms": percentile(first, 50), "first_token_p95_ms": percentile(first, 95),
                              "model_p50_ms": percentile(model, 50)}
        return out


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
    print("| set | reader | questions | answer p50 / p95 | first token p50 / p95 | model p50 |")
    print("|---|---|---|---|---|---|")
    for s, readers in results.items():
        for name, f in readers.items():
            ft = (f"{f['first_token_p50_ms'] / 1000:.2f} / {f['first_token_p95_ms'] / 1000:.2f} s"
                  if "first_token_p50_ms" in f else "–")
            mp = f"{f['model_p50_ms'] / 1000:.2f} s" if "model_p50_ms" in f else "–"
            print(f"| {s} | {name} | {f['questions']} | {f['answer_p50_ms'] / 1000:.2f} / "
                  f"{f['answer_p95_ms'] / 1000:.2f} s | {ft} | {mp} |")


if __name__ == "__main__":
    main()
