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
    if "fast_start" in res:
        out += [render_fast_start(res["fast_start"])]
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


_FAST = [("status", "`hrtp status`", "", "status"),
         ("noop_ingest", "`hrtp ingest`, nothing changed", "<= 1.5 x status", "noop_ingest_vs_status"),
         ("ask_extractive", "cold `hrtp --reader extractive ask` (passages read before)", "<= 2.5 s",
          "ask_extractive_2_5s"),
         ("ask_extractive_memo_empty", "cold `hrtp --reader extractive ask` (first question ever on them)", "<= 2.5 s",
          "ask_extractive_memo_empty_2_5s"),
         ("ask_llm", "cold `hrtp --reader llm ask`", "<= model load + one warm answer", "ask_llm_vs_load_plus_warm"),
         ("ask_extractive_chat_running", "`hrtp --reader extractive ask`, `hrtp chat` running (it answers)",
          "<= 2.5 s", "ask_extractive_chat_running_2_5s"),
         ("ask_llm_chat_running", "`hrtp ask` (llm), `hrtp chat` running (it answers)",
          "<= model load + one warm answer", "ask_llm_chat_running_vs_load_plus_warm")]


def render_fast_start(fs: dict) -> str:
    """The start-up table: medians of whole processes, each goal and whether it held."""
    s, goals = fs["summary"], fs["summary"]["goals"]
    rows = []
    for key, label, goal, gkey in _FAST:
        if key not in s:
            continue
        verdict = goals.get(gkey)
        met = "" if verdict is None else ("✔" if verdict["met"] else "✘") + f" (limit {verdict['limit']} s)"
        n = len(fs["runs"][key])
        rows.append([label, s[key]["wall_s"], s[key]["min_wall_s"], s[key]["cpu_s"], n, goal, met])
    chat = goals["chat_page_5s"]
    rows.append(["`hrtp chat` to its first page", s["chat"]["page_s"], min(
        (r["page_s"] for r in fs["runs"]["chat"] if r["page_s"] is not None), default=""), "", len(fs["runs"]["chat"]),
        "<= 5 s", ("✔" if chat["met"] else "✘") + " (limit 5.0 s)"])
    rows.append(["`hrtp chat` to its start-up line (reader ready)", s["chat"]["startup_line_s"], "", "",
                 len(fs["runs"]["chat"]), "", ""])
    lines = [f"\n### Start-up, whole processes (median of {fs['rounds']} rounds; load average {fs['load_1min_start']} "
             f"at the start, {fs['load_1min_end']} at the end)",
             _table(["", "wall s (median)", "wall s (best)", "CPU s (median)", "runs", "goal", "met"], rows)]
    warm = fs.get("llm_warm")
    if warm and "warm_answer_s" in warm:
        lines.append(f"\nllm reader, same run, another process: model load {warm['model_load_s']:.1f} s, warm answer "
                     f"{warm['warm_answer_s']:.1f} s (of which generation {warm['llm_ms'] / 1000:.1f} s)")
    line = next((r["startup_line"] for r in fs["runs"]["chat"] if r.get("startup_line")), "")
    if line:
        lines.append(f"\nchat start-up line: `{line}`")
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(json.loads(Path(sys.argv[1] if len(sys.argv) > 1 else "bench-out/bench.json").read_text())))
