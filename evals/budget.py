"""How many of a question's facts the reader can see, by passage budget and k: the ceiling each setting puts
on fact recall, measured without generating (dev splits only).

    python -m evals.budget [--set bundled-dev --set wild-dev]

For every answerable question: the share of its facts found in the passages as the model is shown them
(`fit_passages` under each token budget and k), and in the whole top-k passages the quoting reader reads.
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import replace
from pathlib import Path

from evals import metrics as m
from evals.sets import EVAL_SETS, load_questions
from kb.ask.pipeline import KnowledgeBase
from kb.models.load import get_llm
from kb.ask.readers.prompts import fit_passages
from kb.settings import Settings
from ingest.sync import sync_paths

BUDGETS = (350, 450, 600, 800)
KS = (3, 5, 8)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--set", dest="sets", action="append", choices=[s for s in EVAL_SETS if s.endswith("dev")])
    args = ap.parse_args(argv)
    settings = Settings.from_env()
    llm = get_llm(settings)  # its tokenizer only: nothing is generated
    print("set | k | passages read whole | " + " | ".join(f"shown at {b} tokens" for b in BUDGETS))
    for name in args.sets or ["bundled-dev", "wild-dev"]:
        rows = [r for r in load_questions(EVAL_SETS[name].questions) if r["expect"] == "answer"]
        with tempfile.TemporaryDirectory() as tmp:
            # a follow-up is resolved with the quoting reader: this script generates nothing
            kb = KnowledgeBase(replace(settings, store_dir=Path(tmp) / "s", chroma_url=None, reader="extractive"),
                               long_running=True)
            sync_paths(kb, [EVAL_SETS[name].corpus], progress=False)
            found = []
            for r in rows:
                q = kb.understand(r["question"], r.get("history") or [])
                qvec = kb.embedder.embed_query(q.retrieval_query)
                passages, _ = kb.retriever.search(q.retrieval_query, k=max(KS), qvec=qvec)
                found.append((r, q, qvec, passages))
            for k in KS:
                whole = m.mean([m.fact_recall(" ".join(p.chunk.text for p in ps[:k]), r["facts"])
                                for r, _, _, ps in found])
                cells = []
                for budget in BUDGETS:
                    cells.append(m.mean([m.fact_recall(" ".join(t for _, t in fit_passages(llm, kb.embedder, qvec, ps,
                                                                                           budget, k)),
                                                       r["facts"]) for r, q, qvec, ps in found]))
                print(f"{name} | {k} | {whole:.3f} | " + " | ".join(f"{c:.3f}" for c in cells), flush=True)


if __name__ == "__main__":
    main()
