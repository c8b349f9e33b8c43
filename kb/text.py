"""Text primitives shared by ingestion and answering: sentence spans, term analysis, normalisation.

Sentences come from the trained English Punkt model that llama-index ships in its package (no download).
"""

from __future__ import annotations

import functools
import os
import re

import Stemmer

_WS = re.compile(r"\s+")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_EXTRA_ABBREV = {"dr", "mr", "mrs", "ms", "u.s", "e.g", "i.e", "etc", "inc", "vs", "no", "st", "jr", "sr"}

# Function words plus the question scaffolding ("what is", "explain", "tell me about").
STOPWORDS = frozenset(
    """a an the and or but if of to in on at by for with from as into about over under than then
    is are was were be been being am do does did done doing have has had having can could should would
    will shall may might must it its this that these those there their them they we our us you your i me my
    he she his her who whom whose which what when where why how not no nor so too very just also any all
    each every some such own same other more most much many few both either neither one ones s t
    tell explain describe give list name say says said mean means meaning define definition please
    according materials material document documents kind kinds type types way ways thing things
    get got make makes made let lets like well use used using need needs""".split()
)


@functools.lru_cache(maxsize=1)
def _punkt():
    import llama_index.core
    import nltk
    from nltk.tokenize import PunktTokenizer

    cache = os.path.join(os.path.dirname(llama_index.core.__file__), "_static", "nltk_cache")
    if cache not in nltk.data.path:
        nltk.data.path.insert(0, cache)
    tok = PunktTokenizer("english")
    tok._params.abbrev_types.update(_EXTRA_ABBREV)
    return tok


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


def normalize_ws(text: str) -> str:
    return _WS.sub(" ", text).strip()


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


@functools.lru_cache(maxsize=1)
def stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def stems(text: str) -> list[str]:
    """Stemmed content words (stopwords dropped), in order."""
    ws = [w for w in words(text) if w not in STOPWORDS and len(w) > 1]
    return stemmer().stemWords(ws)
