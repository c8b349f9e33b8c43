"""Sentence embeddings from the packaged models, loaded once per process; nothing is fetched from a hub.

    Embedder.embed_batch(texts) -> unit float32 vectors    the one method a backend provides
    ├── OnnxEmbedder   ONNX Runtime + `tokenizers` over an export of the model made once (kb/models/onnx.py):
    │                  no torch in the process, so a cold `hrtp ask` starts in about a second
    └── TorchEmbedder  sentence-transformers: the reference the export is checked against (cosine >= 0.9999,
                       tests/kb/test_fast_start.py), and the fallback when no export can be made

Both give the same vectors, so a store built by one is searched by the other. `get_embedder` picks ONNX unless
told otherwise, and falls back to sentence-transformers with a warning that says why.

`vectors()` (passage sentences, which the readers and the verifier embed for every question) is also kept on
disk (`VectorMemo`): a sentence embedded once, by any process, is not embedded again by the next one (with
mpnet, most of a cold `hrtp ask`; BENCHMARKS.md).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from kb.errors import ConfigError

log = logging.getLogger(__name__)

# ONNX Runtime on 2 cores encodes mpnet fastest a few texts at a time (BENCHMARKS.md); sorted by length, small
# batches also pad little.
SMALL_BATCH = 4


class Embedder:
    """Unit-normalised float32 vectors, so a dot product is the cosine. Subclasses set `name`, `model_path`
    and `dim` and implement `_encode`."""

    name: str
    model_path: str
    dim: int

    def __init__(self) -> None:
        self._lock = threading.Lock()  # inference from several UI threads at once only thrashes 2 cores
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()  # sentences readers and the verifier re-embed
        self.memo: VectorMemo | None = None  # the same, on disk, shared by every process (set by get_embedder)

    def embed_batch(self, texts: list[str], batch_size: int = SMALL_BATCH) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            return self._encode(texts, batch_size)

    def _encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        raise NotImplementedError

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_batch([text])[0]

    def vectors(self, texts: list[str]) -> np.ndarray:
        """Vectors for short texts that come back often (passage sentences), from a bounded cache."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        missing = [t for t in dict.fromkeys(texts) if t not in self._recent]
        if missing:
            found = self.memo.get(missing) if self.memo else {}
            todo = [t for t in missing if t not in found]
            if todo:
                made = dict(zip(todo, self.embed_batch(todo)))
                if self.memo:
                    self.memo.put(made)
                found |= made
            for t in missing:
                self._recent[t] = found[t]
            while len(self._recent) > 50_000:
                self._recent.popitem(last=False)
        return np.stack([self._recent[t] for t in texts])


class VectorMemo:
    """Vectors of short texts by the hash of the text, in SQLite, for one model. Best effort: a memo that
    cannot be read or written (disk full, locked too long) only costs the time to embed again."""

    def __init__(self, path: Path, dim: int, limit: int = 200_000) -> None:
        self.path, self.dim, self.limit = path, dim, limit
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._puts = 0

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(self.path), timeout=2.0, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")  # readers never wait for a writer in another process
            self._db.execute("CREATE TABLE IF NOT EXISTS vec (key BLOB PRIMARY KEY, v BLOB NOT NULL)")
        return self._db

    @staticmethod
    def _key(text: str) -> bytes:
        return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()

    def get(self, texts: list[str]) -> dict[str, np.ndarray]:
        keys = {self._key(t): t for t in texts}
        found: dict[str, np.ndarray] = {}
        try:
            with self._lock:
                db = self._conn()
                items = list(keys)
                for i in range(0, len(items), 500):  # SQLite's limit on bound parameters
                    part = items[i : i + 500]
                    rows = db.execute(f"SELECT key, v FROM vec WHERE key IN ({','.join('?' * len(part))})", part)
                    for key, blob in rows:
                        vec = np.frombuffer(blob, dtype=np.float32)
                        if vec.shape == (self.dim,):
                            found[keys[key]] = vec
        except (sqlite3.Error, OSError) as exc:
            log.debug("vector memo %s unreadable: %s", self.path, exc)
        return found

    def put(self, vectors: dict[str, np.ndarray]) -> None:
        try:
            with self._lock:
                db = self._conn()
                db.executemany("INSERT OR REPLACE INTO vec (key, v) VALUES (?, ?)",
                               [(self._key(t), np.asarray(v, dtype=np.float32).tobytes()) for t, v in vectors.items()])
                self._puts += len(vectors)
                if self._puts >= 1000:  # keep the newest `limit`: rowids grow with every insert or replace
                    self._puts = 0
                    db.execute("DELETE FROM vec WHERE rowid <= (SELECT MAX(rowid) FROM vec) - ?", (self.limit,))
        except (sqlite3.Error, OSError) as exc:
            log.debug("vector memo %s not written: %s", self.path, exc)


class OnnxEmbedder(Embedder):
    """The exported network through ONNX Runtime; tokenising, mean pooling and normalising as
    sentence-transformers does them."""

    def __init__(self, folder: Path, name: str, source: str = "", packed: bool = False) -> None:
        super().__init__()
        import onnxruntime as ort
        from tokenizers import Tokenizer

        meta = json.loads((folder / "meta.json").read_text())
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # optimised once, at export
        so.intra_op_num_threads = os.cpu_count() or 1
        so.inter_op_num_threads = 1
        so.log_severity_level = 3
        # Threads that spin waiting for work steal the core the other jobs on this machine need.
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # Unpacked, the weights stay in the mapped file: milliseconds to load, for a one-shot command. Packed
        # once at load (0.4 s for mpnet), they encode faster for a process that answers many questions.
        so.add_session_config_entry("session.disable_prepacking", "0" if packed else "1")
        log.info("loading embedding model %s (ONNX Runtime, %s)", name, folder)
        self._session = ort.InferenceSession(str(folder / "model.onnx"), so, providers=["CPUExecutionProvider"])
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.enable_truncation(meta["max_seq_length"])
        self._tokenizer.enable_padding(pad_id=meta["pad_id"], pad_token=meta["pad_token"])
        self.name, self.model_path, self.dim = name, source or str(folder), int(meta["dim"])

    def _encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths together: little padding
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            encoded = self._tokenizer.encode_batch([texts[i] for i in rows])
            ids = np.array([e.ids for e in encoded], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
            (hidden,) = self._session.run(None, {"input_ids": ids, "attention_mask": mask})
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
            out[rows] = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return out


class TorchEmbedder(Embedder):
    """sentence-transformers on torch: the reference implementation."""

    def __init__(self, model_path: str, name: str = "") -> None:
        super().__init__()
        if not Path(model_path).is_dir():
            raise ConfigError(f"Embedding model not found at {model_path}; set HRTP_MODEL to mpnet, minilm or a local model folder.")
        # A hub lookup would hang on this offline machine; the model is local.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # "Loading weights" bars on every start are noise, not progress

        log.info("loading embedding model %s (sentence-transformers)", model_path)
        self.model_path = model_path
        self.name = name or Path(model_path).name
        self._model = SentenceTransformer(model_path, device="cpu")
        self.dim = int(self._model.get_embedding_dimension())

    def _encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        vecs = self._model.encode(texts, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False,
                                  convert_to_numpy=True)
        return vecs.astype(np.float32, copy=False)
