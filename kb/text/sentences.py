"""Sentence spans, shared by ingestion and answering.

Sentences come from the trained English Punkt model that llama-index ships in its package (no download), run
by nltk's Punkt code loaded without the rest of nltk (see `_punkt_module`).
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import sys
import threading
import types
from pathlib import Path

_EXTRA_ABBREV = {"dr", "mr", "mrs", "ms", "u.s", "e.g", "i.e", "etc", "inc", "vs", "no", "st", "jr", "sr"}

_PUNKT_LOCK = threading.Lock()


@functools.lru_cache(maxsize=1)
def _punkt():
    """The English Punkt sentence tokenizer, with llama-index's packaged parameters (no download)."""
    spec = importlib.util.find_spec("llama_index.core")  # finds the package without running its 2 s of imports
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("llama-index-core is not installed; it carries the Punkt sentence model (pip install -e .)")
    folder = Path(spec.submodule_search_locations[0]) / "_static" / "nltk_cache" / "tokenizers" / "punkt_tab" / "english"
    with _PUNKT_LOCK, _nltk_modules_alone():
        from nltk.tokenize import punkt

        tok = punkt.PunktSentenceTokenizer()
        tok._params = punkt.load_punkt_params(_ModelDir(folder))
    tok._params.abbrev_types.update(_EXTRA_ABBREV)
    return tok


class _ModelDir:
    """The one method of an nltk path pointer that `load_punkt_params` uses."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def join(self, name: str) -> Path:
        return self.path / name

    def __str__(self) -> str:
        return str(self.path)


@contextlib.contextmanager
def _nltk_modules_alone():
    """Import nltk modules without nltk's package __init__, which imports most of nltk with scipy.stats and
    scikit-learn: over a second of a cold `hrtp ask`, for the Punkt module and a few small siblings. Inside,
    stand-ins take the place of the packages `nltk` and `nltk.tokenize`; on leaving, every nltk module
    imported inside is taken out of sys.modules again. The objects made inside keep working (Punkt imports
    nothing more while it tokenizes; tests/kb/test_fast_start.py checks), and a later `import nltk` anywhere
    loads nltk whole, untouched by this. When nltk is already imported, this does nothing."""
    if "nltk" in sys.modules:
        yield
        return
    spec = importlib.util.find_spec("nltk")
    if spec is None or not spec.origin:
        raise RuntimeError("nltk is not installed; it comes with llama-index-core (pip install -e .)")
    root = Path(spec.origin).parent
    before = set(sys.modules)
    for name, folder in (("nltk", root), ("nltk.tokenize", root / "tokenize")):
        stand_in = types.ModuleType(name)
        stand_in.__path__ = [str(folder)]
        sys.modules[name] = stand_in
    try:
        yield
    finally:
        for name in set(sys.modules) - before:
            if name == "nltk" or name.startswith("nltk."):
                del sys.modules[name]


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """[start, end) spans of the sentences of `text`, a bullet line always its own sentence."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        if stripped:
            offset = pos + line.index(stripped[0])
            spans.extend((offset + a, offset + b) for a, b in _punkt().span_tokenize(stripped))
        pos += len(line)
    return spans
