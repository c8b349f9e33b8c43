"""An `Embedder` stand-in that remembers vectors on disk, so large stores can be rebuilt for the latency
and recall runs without paying the encoder again. Never used where ingest throughput is measured."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from kb.models.embedder import SMALL_BATCH, Embedder


class CachedEmbedder:
    def __init__(self, inner: Embedder, path: Path) -> None:
        self.inner, self.path, self.dim = inner, path, inner.dim
        self.model_path, self.name = inner.model_path, inner.name
        self.vecs: dict[str, np.ndarray] = {}
        if path.exists():
            data = np.load(path)
            self.vecs = dict(zip(data["keys"].tolist(), data["vecs"]))
        self.misses = 0

    def embed_batch(self, texts: list[str], batch_size: int = SMALL_BATCH) -> np.ndarray:
        keys = [hashlib.sha1(t.encode()).hexdigest() for t in texts]
        todo = [i for i, k in enumerate(keys) if k not in self.vecs]
        if todo:
            self.misses += len(todo)
            for i, v in zip(todo, self.inner.embed_batch([texts[i] for i in todo], batch_size)):
                self.vecs[keys[i]] = v
        return np.stack([self.vecs[k] for k in keys]) if keys else np.zeros((0, self.dim), np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self.inner.embed_query(text)

    def vectors(self, texts: list[str]) -> np.ndarray:
        return self.inner.vectors(texts)

    def save(self) -> None:
        if self.misses:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            keys = np.array(list(self.vecs))
            np.savez(self.path, keys=keys, vecs=np.stack(list(self.vecs.values())))
            self.misses = 0
