"""The one door to the models: `get_embedder` and `get_llm` give the process-wide instance for the settings,
`export_onnx` makes an embedder's ONNX export now (`hrtp prepare`). Nothing heavy loads at import."""

from __future__ import annotations

import hashlib
import logging
import threading
from pathlib import Path

from kb.errors import ConfigError
from kb.models.embedder import Embedder, OnnxEmbedder, TorchEmbedder, VectorMemo
from kb.models.llm import LLM, LocalLLM, ServerLLM
from kb.models.registry import MODEL_NAMES, model_name

log = logging.getLogger(__name__)

_CACHE: dict[tuple[str, str, bool], Embedder] = {}
_LOCK = threading.Lock()
BACKENDS = ("auto", "onnx", "torch")


def get_embedder(model: str = "mpnet", cache: Path | None = None, backend: str = "auto", *,
                 packed: bool = False) -> Embedder:
    """The process-wide embedder for `model` (mpnet, minilm or a folder); packaged models come from kb/weights.
    backend: "onnx" (or fail), "torch" (sentence-transformers), "auto" (ONNX, else sentence-transformers).
    packed: ONNX weights packed at load, for a long-running process (slower to load, faster to encode)."""
    if backend not in BACKENDS:
        raise ConfigError(f"embedding backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    from kb.models.cache import default_cache_dir, embedding_model_path

    cache = cache or default_cache_dir()
    packed = packed and backend != "torch"  # sentence-transformers has nothing to pack: one model either way
    with _LOCK:
        key = (model, backend, packed)
        if key not in _CACHE:
            path = embedding_model_path(model, cache)
            _CACHE[key] = _load(model, path, cache, backend, packed)
        return _CACHE[key]


def export_onnx(model: str, cache: Path) -> Path:
    """Make (or find current) the ONNX export of `model` now, trying again if it failed before: `hrtp prepare`.
    Raises kb.onnx_export.ExportError."""
    from kb.models.cache import embedding_model_path
    from kb.models.onnx import onnx_export_dir

    path = embedding_model_path(model, cache)
    return onnx_export_dir(_file_key(model, path), path, cache, retry=True)


def _file_key(model: str, path: Path) -> str:
    """What the model's export and memo are named by. A folder given by path may share its name with another:
    its files are named by the path too."""
    name = model_name(model)
    return name if model in MODEL_NAMES else f"{name}-{hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:8]}"


def _load(model: str, path: Path, cache: Path, backend: str, packed: bool) -> Embedder:
    from kb.models.cache import source_stamp
    from kb.models.onnx import onnx_export_dir

    name, key = model_name(model), _file_key(model, path)
    embedder: Embedder | None = None
    if backend != "torch":
        try:
            embedder = OnnxEmbedder(onnx_export_dir(key, path, cache), name, source=str(path), packed=packed)
        except Exception as exc:  # no export, or one ONNX Runtime cannot load: sentence-transformers still works
            if backend == "onnx":
                raise ConfigError(f"The ONNX export of {name} cannot be used ({exc}); run `hrtp prepare`, or drop "
                                  "the ONNX backend to use sentence-transformers.") from exc
            log.warning("embedding with sentence-transformers (slower to start): the ONNX export of %s cannot be "
                        "used: %s", name, exc)
    embedder = embedder or TorchEmbedder(str(path), name)
    # Named by the model files' stamp: vectors of a changed model are never taken for the new one's.
    embedder.memo = VectorMemo(cache / "vectors" / f"{key}-{source_stamp(path)}.sqlite", embedder.dim)
    return embedder


_LOCAL: dict[str, LocalLLM] = {}
_LOCAL_LOCK = threading.Lock()


def get_llm(settings) -> LLM:
    """The process-wide model for these settings: a server when `llm_url` is set, else a local GGUF (the
    packaged one unless `llm_model` names another), loaded once per process."""
    if settings.llm_url:
        return ServerLLM(settings.llm_url)
    from kb.models.cache import reader_model_path

    path = str(Path(settings.llm_model).expanduser() if settings.llm_model else reader_model_path(settings.cache_dir))
    with _LOCAL_LOCK:
        if path not in _LOCAL:
            _LOCAL[path] = LocalLLM(Path(path), settings.llm_threads, settings.cache_dir / "llm-state")
        return _LOCAL[path]
