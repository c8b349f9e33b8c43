"""The one typed settings object. Built once per entry point and passed down; never read at import time.

Precedence: explicit overrides (CLI flags, test code) > environment (HRTP_*) > defaults below.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kb.ask.readers.registry import NAMES as READERS
from kb.ask.readers.registry import spec
from kb.models.cache import default_cache_dir

if TYPE_CHECKING:
    from kb.domain import Domain

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
    model: str = field(
        default="mpnet",
        metadata={"env": "HRTP_MODEL", "help": "Embedding model: mpnet, minilm, or a local sentence-transformers folder."},
    )
    collection: str = field(default="hrtp_chunks", metadata={"help": "Chroma collection holding the chunks."})
    chunk_words: int = field(default=100, metadata={"env": "HRTP_CHUNK_WORDS", "help": "Soft maximum words per chunk."})
    embed_batch: int = field(default=4, metadata={"help": "Encoder batch size. Small batches are the fastest with ONNX "
                             "Runtime on 2 cores: mpnet ingests the wild dev corpus at 10.1 chunks/s at 4, 8.9 at 16."})
    write_batch: int = field(default=256, metadata={"help": "Chunks per encode call and Chroma write during ingest; "
                             "large, so the encoder can sort them by length and pad little."})
    top_k: int = field(default=5, metadata={"env": "HRTP_TOP_K", "help": "Passages handed to the answerer."})
    candidate_k: int = field(default=50, metadata={"help": "Candidates each retriever returns before fusion."})
    dense_weight: float = field(default=0.4, metadata={"help": "Share of the dense score in the fusion (BM25: the rest); "
                                "chosen on the wild dev split (kb/ask/retrieve.py)."})
    retriever: str = field(default="hybrid", metadata={"help": "hybrid | dense | bm25"})
    # The extractive reader's refusal gate (see kb/ask/readers/extractive.py). Chosen from the dev question set; see evals/README.md.
    min_dense: float = field(default=0.25, metadata={"help": "Below this best-passage cosine the question is off topic "
                             "(dev: off-topic <= 0.10, answerable >= 0.44)."})
    min_support: float = field(default=0.50, metadata={"env": "HRTP_MIN_SUPPORT", "help": "Share of the question's specific terms the evidence must contain."})
    semantic_support: float = field(default=0.70, metadata={"env": "HRTP_SEMANTIC_SUPPORT", "help": "A quoted sentence this similar to the question "
                                    "supports it even without shared terms (paraphrases)."})
    max_answer_words: int = field(default=80, metadata={"help": "Target length of a factual answer."})
    hnsw_ef: int = field(default=200, metadata={"help": "HNSW ef_construction and ef_search."})
    hnsw_m: int = field(default=32, metadata={"help": "HNSW max_neighbors."})
    max_file_mb: int = field(default=200, metadata={"help": "Files larger than this are refused at ingest (recordings "
                             "excepted: a one-hour video is larger, and only its audio is read)."})
    whisper_language: str = field(default="en", metadata={"env": "HRTP_WHISPER_LANGUAGE", "help": "Language spoken in "
                                  "recordings (a Whisper code); empty: detected per recording."})
    whisper_threads: int = field(default=2, metadata={"env": "HRTP_WHISPER_THREADS", "help": "CPU threads for speech-to-text."})
    domain_file: Path = field(
        default=BUNDLED_CORPUS / "domain.toml",
        metadata={"env": "HRTP_DOMAIN", "help": "The programme's words: shared words, refusal text, brief topics, "
                  "the chat's starters (kb/domain.py)."},
    )
    cache_dir: Path = field(
        default_factory=default_cache_dir,
        metadata={"env": "HRTP_CACHE", "help": "Where packaged model files are assembled once (about 1.6 GB)."},
    )
    # Readers (kb/ask/readers/registry.py). Chosen on the wild dev split; see evals/README.md.
    reader: str = field(default="judged", metadata={"env": "HRTP_READER", "help": " | ".join(READERS)})
    llm_model: str | None = field(default=None, metadata={"env": "HRTP_LLM_MODEL",
                                  "help": "A GGUF file for the llm reader; default: the packaged Qwen2.5-Coder-1.5B."})
    llm_url: str | None = field(default=None, metadata={"env": "HRTP_LLM_URL",
                                "help": "An OpenAI-compatible server (llama.cpp, vLLM, Ollama) instead of a local GGUF."})
    llm_threads: int = field(default=0, metadata={"env": "HRTP_LLM_THREADS", "help": "CPU threads; 0: all cores."})
    llm_context_tokens: int = field(default=450, metadata={"env": "HRTP_LLM_CONTEXT_TOKENS", "help": "Token budget for the passages in a prompt."})
    llm_max_tokens: int = field(default=160, metadata={"help": "Longest answer the model may write."})
    # Verification (kb/ask/verify.py) and answerability, measured on the wild dev split.
    verify_overlap: float = field(default=0.6, metadata={"env": "HRTP_VERIFY_OVERLAP", "help": "Share of a sentence's content words its passage must hold..."})
    verify_similarity: float = field(default=0.75, metadata={"env": "HRTP_VERIFY_SIMILARITY", "help": "...or this cosine to one sentence of the passage."})
    verify_attachment: float = field(default=0.3, metadata={"env": "HRTP_VERIFY_ATTACHMENT", "help": "Share of a sentence's words that must sit beside "
                                     "a figure it states, in the passage."})
    min_coverage: float = field(default=0.0, metadata={"env": "HRTP_MIN_COVERAGE", "help": "Share (by rarity) of the "
                                "question's terms the cited passages must mention. 0: on the wild dev split every threshold "
                                "refused good answers without stopping one more near miss (evals/README.md)."})
    max_refusal_p: float = field(default=0.05, metadata={"env": "HRTP_MAX_REFUSAL_P", "help": "Refuse when the model's probability of its "
                                 "refusal phrase is above this."})

    def __post_init__(self) -> None:
        spec(self.reader)  # an unknown reader is named here, with the ones there are

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
        for key in ("store_dir", "cache_dir", "domain_file"):
            if key in values:
                values[key] = Path(values[key])  # type: ignore[arg-type]
        return cls(**values)  # type: ignore[arg-type]

    @property
    def chroma_dir(self) -> Path:
        return self.store_dir / "chroma"

    @property
    def domain(self) -> "Domain":
        """The programme's words in `domain_file`, read once per file."""
        from kb.domain import load_domain

        return load_domain(self.domain_file)


def _coerce(f: dataclasses.Field, raw: str) -> object:
    default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
    if isinstance(default, bool):
        return raw.lower() in {"1", "true", "yes"}
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    if isinstance(default, Path):
        return Path(raw)
    return raw
