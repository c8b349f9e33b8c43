"""`python -m evals.bench [--scales 1000,10000] [--out bench-out]`: every figure of BENCHMARKS.md in one run."""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import time
from pathlib import Path

from evals import run as evalrun
from evals import sets
from evals.bench import corpus, measure, naive, startup, table
from evals.bench.cache import CachedEmbedder
from kb.models.load import get_embedder
from kb.ask.pipeline import KnowledgeBase
from kb.settings import BUNDLED_CORPUS, Settings
from ingest.sync import sync_paths

log = logging.getLogger("bench")


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m evals.bench", description=__doc__)
    ap.add_argument("--scales", default="1000,10000", help="chunk counts for latency and recall (add 100000)")
    ap.add_argument("--ingest-scale", type=int, default=1000, help="corpus size for the alternating ingest run")
    ap.add_argument("--ingest-pdfs", type=int, default=5, help="real PDF manuals from /usr/share/doc added to it")
    ap.add_argument("--noop-scale", type=int, default=10000, help="corpus for no-op re-ingest (files = scale/10)")
    ap.add_argument("--rounds", type=int, default=2, help="alternations of pipeline vs raw encode")
    ap.add_argument("--recall-from", type=int, default=10000, help="smallest scale whose HNSW recall is measured")
    ap.add_argument("--ef-sweep", default="100,200,400,800", help="HNSW ef_search values probed for recall")
    ap.add_argument("--startup-rounds", type=int, default=3, help="rounds of the start-up processes (cold)")
    ap.add_argument("--out", type=Path, default=Path("bench-out"))
    ap.add_argument("--skip", default="", help="comma list of: ingest,noop,latency,recall,cold,naive,server")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    for noisy in ("chromadb", "httpx", "sentence_transformers", "bm25s", "kb", "ingest"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    skip = set(filter(None, args.skip.split(",")))
    scales = [int(s) for s in args.scales.split(",") if s]
    out, work = args.out, measure.temp_root()
    base = Settings.from_env()
    emb = get_embedder(base.model, base.cache_dir)
    emb.memo = None  # sentence vectors from earlier runs on disk would make this run's cold passes warm
    cached = CachedEmbedder(emb, out / "vectors.npz")
    questions = sets.load_questions(sets.DEV) + sets.load_questions(sets.TEST)
    res: dict = {"machine": _machine(), "started": time.strftime("%Y-%m-%d %H:%M:%S")}

    def folder(n: int) -> Path:
        return corpus.build(n, out / f"corpus-{n}")

    if "ingest" not in skip:
        log.info("ingest vs encode limit: %d chunks of text and %d PDFs", args.ingest_scale, args.ingest_pdfs)
        pdfs = corpus.pdfs(out / "pdfs", args.ingest_pdfs)
        res["ingest"] = measure.ingest_vs_limit(emb, [folder(args.ingest_scale), pdfs], work, args.rounds)
        res["ingest"]["pdfs"] = sorted(p.name for p in pdfs.iterdir())
    if "noop" not in skip:
        n = args.noop_scale
        log.info("full ingest and no-op re-ingest of %d files", n // 10)
        full, _ = measure.ingest_once(emb, [folder(n)], measure.fresh_store(work, "noop"))
        res["full_ingest"] = full
        res["noop"] = measure.noop_reingest(emb, folder(n), work / "noop", full["seconds"])
    bundled = KnowledgeBase(measure.bench_settings(measure.fresh_store(work, "bundled")), emb)
    sync_paths(bundled, [BUNDLED_CORPUS], progress=False)
    if "latency" not in skip:
        res["latency"] = {"bundled": measure.latency(bundled, questions)}
    for n in scales:
        kb = _store_with(cached, folder(n), work / f"scale{n}", BUNDLED_CORPUS)
        cached.save()
        log.info("store at %d chunks ready", kb.store.count())
        res.setdefault("peak_rss_mb_after_build", {})[str(n)] = _peak_rss_mb()
        if "latency" not in skip:
            res["latency"][str(n)] = measure.latency(kb, questions) | {"chunks": kb.store.count()}
        if "recall" not in skip and n >= args.recall_from:
            probes = [q["question"] for q in questions] + [c.text for c, _ in list(kb.store.iter_chunks())[:: max(1, n // 130)]]
            sweep = tuple(int(e) for e in args.ef_sweep.split(",") if e)
            res.setdefault("recall", {})[str(n)] = measure.hnsw_recall(kb, probes, sweep=sweep)
    if "cold" not in skip:
        log.info("start-up: status, no-op ingest, cold ask, chat to page (%d rounds, whole processes)", args.startup_rounds)
        res["fast_start"] = startup.fast_start(work / "bundled", args.startup_rounds)
    if "naive" not in skip:
        res["naive"] = _naive_vs_ours(emb, cached, folder(1000), work, questions)
    if "server" not in skip:
        res["server"] = _server_latency(cached, folder(1000), work, questions)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(res, indent=2))
    print(table.render(res))
    print(f"\n(all figures: {out / 'bench.json'})")
    shutil.rmtree(work, ignore_errors=True)
    return res


def _store_with(emb, *folders: Path) -> KnowledgeBase:
    store = folders[1]
    kb = KnowledgeBase(measure.bench_settings(store), emb)
    sync_paths(kb, [folders[0], folders[2]], progress=False)
    return kb


def _naive_vs_ours(emb, cached, distractors: Path, work: Path, questions: list[dict]) -> dict:
    mixed = work / "mixed"
    shutil.copytree(distractors, mixed, ignore=shutil.ignore_patterns(".complete"))
    for f in BUNDLED_CORPUS.glob("*.txt"):
        shutil.copy(f, mixed / f.name)
    peer = naive.run(emb, mixed, work / "naive-store", questions)
    ours_kb = KnowledgeBase(measure.bench_settings(work / "ours-mixed"), emb)
    t = time.perf_counter()
    sync_paths(ours_kb, [mixed], progress=False)
    secs = time.perf_counter() - t
    ours = evalrun.run(ours_kb, questions, modes=("hybrid",))["retrievers"]["hybrid"]
    return {"corpus": f"bundled corpus + {distractors.name} (distractors)", "naive": peer,
            "ours": {"chunks": ours_kb.store.count(), "ingest_seconds": round(secs, 2),
                     "chunks_per_s": round(ours_kb.store.count() / secs, 1),
                     "latency_ms": {"p50": ours["latency_p50_ms"], "p95": ours["latency_p95_ms"]},
                     "retrieval": {k: ours[k] for k in ("hit@1", "hit@3", "hit@5", "mrr", "ndcg@5")},
                     "answers": {k: ours[k] for k in ("fact_recall", "refusal_accuracy", "groundedness")}}}


def _server_latency(cached, folder: Path, work: Path, questions: list[dict]) -> dict:
    server = measure.ChromaServer(work / "server-data")
    try:
        kb = KnowledgeBase(measure.bench_settings(work / "server-local", chroma_url=server.url), cached)
        sync_paths(kb, [folder, BUNDLED_CORPUS], progress=False)
        kb.embedder  # noqa: B018 - the query side uses the real model through the cache wrapper
        return measure.latency(kb, questions) | {"chunks": kb.store.count(), "url": "loopback"}
    finally:
        server.close()


def _peak_rss_mb() -> float:
    """This process's peak RSS so far: an upper bound for ingesting the scale (it also holds the vector cache)."""
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _machine() -> dict:
    import os

    mem = next((ln.split()[1] for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal")), "0")
    return {"cores": os.cpu_count(), "memory_gib": round(int(mem) / 2**20, 1)}


if __name__ == "__main__":
    main()
