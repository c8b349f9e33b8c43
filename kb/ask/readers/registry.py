"""Every reader, by name, in one place: settings, the CLI's choices, the chat's handoff, the evals and the
session brief all take reader names and readers from here. Importing it loads no reader."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kb.ask.readers.base import Reader
    from kb.ask.readers.extractive import ExtractiveReader
    from kb.ask.verify import Verifier
    from kb.models.embedder import Embedder
    from kb.models.llm import LLM
    from kb.settings import Settings


@dataclass(frozen=True)
class ReaderSpec:
    name: str
    help: str
    uses_model: bool  # needs the language model (the evals' answer cache wraps it)
    where: str  # "module:factory"; the factory takes (settings, embedder, verifier, quoter, llm)


READERS: dict[str, ReaderSpec] = {s.name: s for s in (
    ReaderSpec("judged", "the model writes, the quoting reader quotes, a calibrated judgement keeps what is "
               "backed and asked (default)", True, "kb.ask.readers.judged:build"),
    ReaderSpec("llm", "the model writes; mechanical checks drop what the passages do not back", True,
               "kb.ask.readers.llm:build"),
    ReaderSpec("extractive", "quotes sentences of the passages: fast, never paraphrases", False,
               "kb.ask.readers.extractive:build"),
)}
NAMES = tuple(READERS)


def spec(name: str) -> ReaderSpec:
    from kb.errors import ConfigError

    if name not in READERS:
        raise ConfigError(f"the reader must be one of {', '.join(NAMES)}, not {name!r}")
    return READERS[name]


def build(name: str, settings: "Settings", embedder: "Embedder", verifier: "Verifier", quoter: "ExtractiveReader",
          llm: "LLM | None" = None) -> "Reader":
    """The reader `name` over these parts; a model reader needs `llm`."""
    module, _, factory = spec(name).where.partition(":")
    return getattr(importlib.import_module(module), factory)(settings, embedder, verifier, quoter, llm)
