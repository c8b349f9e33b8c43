"""The measurements. Each returns plain dicts of figures; __main__ prints and saves them."""

from __future__ import annotations

import json
import logging
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

from evals.bench.table import STAGES
from evals.metrics import percentile
from kb.models.embedder import Embedder
from kb.ask.pipeline import KnowledgeBase
from kb.settings import Settings
from ingest.sync import sync_paths

log = logging.getLogger(__name__)


def bench_settings(store: Path, **overrides) -> Settings:
    """The configured settings (HRTP_MODEL etc.) on a bench store. Answers quote: at these scales the
    benchmark measures retrieval, which is what grows with the store; the llm reader's own latency is
    measured by `hrtp eval` and the start-up lines."""
    return Settings.from_env(store_dir=store, reader="extractive", **overrides)

def fresh_store(root: Path, name: str) -> Path:
    d = root / name
    shutil.rmtree(d, ignore_errors=True)
    return d


def encode_limit(emb: Embedder, texts: list[str]) -> dict:
    """The embedder's raw encode of `texts` (no store, no parsing) at its best batch size (chosen on a sample)."""
    sample = texts[:256]
    best, best_rate = 64, 0.0
    for bs in (4, 8, 16, 32, 64):  # 4 is the pipeline's own (Settings.embed_batch)
        t = time.perf_counter()
        emb.embed_batch(sample, batch_size=bs)
        rate = len(sample) / (time.perf_counter() - t)
        if rate > best_rate:
            best, best_rate = bs, rate
    t = time.perf_counter()
    emb.embed_batch(texts, batch_size=best)
    secs = time.perf_counter() - t
    return {"batch_size": best, "seconds": round(secs, 2), "chunks_per_s": round(len(texts) / secs, 1)}


def ingest_once(emb, folders: list[Path], store: Path) -> tuple[dict, KnowledgeBase]:
    kb = KnowledgeBase(bench_settings(store), emb)
    t = time.perf_counter()
    report = sync_paths(kb, folders, progress=False)
    secs = time.perf_counter() - t
    return {"seconds": round(secs, 2), "chunks": report.chunks_total,
            "chunks_per_s": round(report.chunks_total / secs, 1)}, kb


def ingest_vs_limit(emb: Embedder, folders: list[Path], work: Path, rounds: int) -> dict:
    """End-to-end ingest against raw encode of the same chunk texts, alternating, in one run."""
    runs, limits, texts = [], [], None
    for r in range(rounds):
        res, kb = ingest_once(emb, folders, fresh_store(work, f"ingest{r}"))
        runs.append(res)
        if texts is None:
            texts = [c.embed_text() for c, _ in kb.store.iter_chunks()]
        limits.append(encode_limit(emb, texts))
    pipe = max(x["chunks_per_s"] for x in runs)
    limit = max(x["chunks_per_s"] for x in limits)
    return {"chunks": runs[0]["chunks"], "pipeline": runs, "encode_limit": limits,
            "overhead_pct": round((limit / pipe - 1) * 100, 1)}


def noop_reingest(emb, folder: Path, store: Path, full_seconds: float) -> dict:
    kb = KnowledgeBase(bench_settings(store), emb)
    t = time.perf_counter()
    report = sync_paths(kb, [folder], progress=False)
    secs = time.perf_counter() - t
    return {"files": report.files_seen, "seconds": round(secs, 2), "chunks_embedded": report.chunks_embedded,
            "full_ingest_seconds": full_seconds, "ratio_pct": round(secs / full_seconds * 100, 2)}


def latency(kb: KnowledgeBase, questions: list[dict], rounds: int = 2) -> dict:
    """Warm p50/p95 per stage over the eval questions (the first pass warms caches and is not counted)."""
    for q in questions:
        kb.ask(q["question"], q.get("history"))
    stages: dict[str, list[float]] = {s: [] for s in STAGES}
    for _ in range(rounds):
        for q in questions:
            a = kb.ask(q["question"], q.get("history"))
            for s in STAGES:
                stages[s].append(a.timings.get(s, 0.0))
    return {s: {"p50": round(percentile(v, 50), 2), "p95": round(percentile(v, 95), 2)} for s, v in stages.items()}


def hnsw_recall(kb: KnowledgeBase, queries: list[str], k: int = 5, sweep: tuple[int, ...] = ()) -> dict:
    """Chroma's HNSW top-k against exact search over the stored vectors, at the store's ef_search and, for
    each value in `sweep`, at that ef_search (probed in a fresh process: Chroma applies a modified ef_search
    only when it reopens the index)."""
    ids, vecs = [], []
    for chunk, v in kb.store.iter_chunks(include_vectors=True):
        ids.append(chunk.id)
        vecs.append(v)
    matrix = np.asarray(vecs, dtype=np.float32)
    qvecs = np.stack([kb.embedder.embed_query(q) for q in queries])
    sims = qvecs @ matrix.T
    exact = np.argsort(-sims, axis=1)[:, :k]
    index = {cid: i for i, cid in enumerate(ids)}

    def score(approx: list[list[str]]) -> dict:
        hits, strict = [], []
        for row, got in enumerate(approx):
            kth = sims[row, exact[row, -1]]
            strict.append(len({ids[i] for i in exact[row]} & set(got)) / k)
            # Ties: several chunks can share (nearly) one vector, and "the" exact top-k is then arbitrary
            # among them. A result as similar as the exact k-th best is a correct one.
            hits.append(sum(sims[row, index[a]] >= kth - 1e-5 for a in got) / k)
        return {"recall@5": round(float(np.mean(hits)), 4), "recall@5_ids": round(float(np.mean(strict)), 4)}

    out = {"queries": len(queries), "chunks": len(ids), "ef_search": kb.settings.hnsw_ef,
           "max_neighbors": kb.settings.hnsw_m,
           **score([[c.id for c, _ in kb.store.query(qv, k)] for qv in qvecs])}
    if sweep and not kb.settings.chroma_url:
        out["sweep"] = {}
        for ef in sweep:
            _set_ef_search(kb, ef)
            approx, ms = _probe_fresh(str(kb.settings.chroma_dir), kb.settings.collection, qvecs, k)
            out["sweep"][str(ef)] = score(approx) | {"dense_p50_ms": round(percentile(ms, 50), 2),
                                                     "dense_p95_ms": round(percentile(ms, 95), 2)}
        _set_ef_search(kb, kb.settings.hnsw_ef)
    return out


def _set_ef_search(kb: KnowledgeBase, ef: int) -> None:
    import warnings

    with warnings.catch_warnings():  # Chroma warns that a collection without an embedding function is "legacy"
        warnings.simplefilter("ignore", DeprecationWarning)
        kb.store.chunks.modify(configuration={"hnsw": {"ef_search": ef}})


_PROBE = """
import json, sys, time
import chromadb, numpy as np
from chromadb.config import Settings
path, name, vec_file, k = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
col = chromadb.PersistentClient(path=path, settings=Settings(anonymized_telemetry=False)).get_collection(name)
qvecs = np.load(vec_file)
col.query(query_embeddings=[qvecs[0]], n_results=k)  # load the index
ids, ms = [], []
for q in qvecs:
    t = time.perf_counter()
    ids.append(col.query(query_embeddings=[q], n_results=k, include=[])["ids"][0])
    ms.append((time.perf_counter() - t) * 1000)
print(json.dumps({"ids": ids, "ms": ms}))
"""


def _probe_fresh(chroma_dir: str, collection: str, qvecs: np.ndarray, k: int) -> tuple[list[list[str]], list[float]]:
    with tempfile.TemporaryDirectory() as tmp:
        vec_file = str(Path(tmp) / "q.npy")
        np.save(vec_file, qvecs)
        done = subprocess.run([sys.executable, "-c", _PROBE, chroma_dir, collection, vec_file, str(k)],
                              capture_output=True, text=True, check=True)
    res = json.loads(done.stdout.strip().splitlines()[-1])
    return res["ids"], res["ms"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ChromaServer:
    def __init__(self, root: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        chroma = str(Path(sys.executable).parent / "chroma")
        self.proc = subprocess.Popen([chroma, "run", "--path", str(root), "--host", "127.0.0.1", "--port", str(self.port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{self.url}/api/v2/heartbeat", timeout=1)
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("chroma run did not start")

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def temp_root() -> Path:
    return Path(tempfile.mkdtemp(prefix="hrtp-bench-"))
