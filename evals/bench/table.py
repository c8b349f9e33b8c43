"""The benchmark's figures as Markdown tables: printed by `python -m evals.bench`, and the tables of
BENCHMARKS.md (`python -m evals.bench.table bench-out/bench.json`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

STAGES = ("embed", "dense", "bm25", "fusion", "answer", "total")  # the stages of Answer.timings, in order


def _pair(d: dict) -> str:
    return f"{d['p50']} / {d['p95']}"


def _table(head: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def render(res: dict) -> str:
    out = [f"machine: {res['machine']['cores']} cores, {res['machine']['memory_gib']} GiB; started {res['started']}"]
    if "ingest" in res:
        ing = res["ingest"]
        rows = [[f"round {i + 1}", p["chunks_per_s"], f"{e['chunks_per_s']} (batch {e['batch_size']})"]
                for i, (p, e) in enumerate(zip(ing["pipeline"], ing["encode_limit"]))]
        out += [f"\n### Ingest throughput, {ing['chunks']} chunks (text files + PDFs: {', '.join(ing.get('pdfs', []))})",
                _table(["", "pipeline chunks/s", "raw encode chunks/s"], rows),
                f"\npipeline overhead over the encoder (best vs best): {ing['overhead_pct']}%"]
    if "noop" in res:
        n, full = res["noop"], res["full_ingest"]
        out += ["\n### No-op re-ingest", _table(
            ["files", "chunks", "full ingest s", "no-op s", "ratio", "embedded"],
            [[n["files"], full["chunks"], full["seconds"], n["seconds"], f"{n['ratio_pct']}%", n["chunks_embedded"]]])]
    if "latency" in res:
        scales = list(res["latency"])
        rows = [[s, res["latency"][s].get("chunks", "bundled")] +
                [_pair(res["latency"][s][st]) for st in STAGES] for s in scales]
        if "server" in res:
            srv = res["server"]
            rows.append(["server (loopback)", srv["chunks"]] + [_pair(srv[st]) for st in STAGES])
        out += ["\n### Warm answer latency, ms (p50 / p95)", _table(["scale", "chunks", *STAGES], rows)]
    if "recall" in res:
        rows = []
        for s, r in res["recall"].items():
            rows.append([s, r["chunks"], f"{r['ef_search']} (store)", r["recall@5"], r["recall@5_ids"], ""])
            for ef, sw in r.get("sweep", {}).items():
                rows.append([s, r["chunks"], ef, sw["recall@5"], sw["recall@5_ids"],
                             f"{sw['dense_p50_ms']} / {sw['dense_p95_ms']}"])
        out += ["\n### HNSW recall@5 against exact search",
                _table(["scale", "chunks", "ef_search", "recall@5 (ties counted)", "recall@5 (ids)",
                        "raw query ms p50 / p95"], rows)]
    if "peak_rss_mb_after_build" in res:
        out += ["\n### Peak RSS of the benchmark process after building each scale (MB)",
                _table(["scale", "peak RSS MB"], [[s, v] for s, v in res["peak_rss_mb_after_build"].items()])]
    if "cold_start" in res:
        c = res["cold_start"]
        out += ["\n### Cold start", _table(["", "seconds", "peak RSS MB"],
                                            [["hrtp ask (invocation to answer)", c["ask_seconds"], c["ask_peak_rss_mb"]],
                                             ["hrtp chat (invocation to served page)", c["chat_served_seconds"],
                                              c["chat_peak_rss_mb"]]])]
    if "naive" in res:
        nv, ours = res["naive"]["naive"], res["naive"]["ours"]
        keys = ("hit@1", "hit@3", "hit@5", "mrr", "ndcg@5")
        out += [f"\n### Naive llama-index peer vs ours ({res['naive']['corpus']})", _table(
            ["", "chunks", "ingest chunks/s", "latency p50 / p95 ms", *keys],
            [["naive (SentenceSplitter 1024/200, top-2 dense)", nv["chunks"], nv["chunks_per_s"],
              _pair(nv["latency_ms"]), *(nv["retrieval"][k] for k in keys)],
             ["ours (hybrid, full answer)", ours["chunks"], ours["chunks_per_s"],
              _pair(ours["latency_ms"]), *(ours["retrieval"][k] for k in keys)]])]
    return "\n".join(out)


if __name__ == "__main__":
    print(render(json.loads(Path(sys.argv[1] if len(sys.argv) > 1 else "bench-out/bench.json").read_text())))
