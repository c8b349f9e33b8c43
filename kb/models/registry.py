"""Every packaged model, by name: what it is called, its short aliases, the packages its pieces ship in, its
published SHA-256 and size. kb/models/cache.py assembles them; kb/models/load.py is the door that loads them."""

from __future__ import annotations

from pathlib import Path

GGUF_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
GGUF_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
GGUF_SIZE = 1_117_320_768
GGUF_PARTS = 22
WHISPER_NAME = "whisper-base"
WHISPER_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
WHISPER_SIZE = 145_217_532
WHISPER_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
MPNET_NAME = "all-mpnet-base-v2"
MPNET_PARTS = 5

EMBEDDING_MODELS = ("mpnet", "minilm")

MODEL_NAMES = {"minilm": "all-MiniLM-L6-v2", "mpnet": "all-mpnet-base-v2"}


def model_name(model: str) -> str:
    """The name vectors are recorded under, known without loading the model."""
    return MODEL_NAMES.get(model) or Path(model).name


def alias_of(name: str) -> str | None:
    """The short name (`mpnet`, `minilm`) of a packaged model's full name, or None."""
    return next((alias for alias, full in MODEL_NAMES.items() if full == name), None)
