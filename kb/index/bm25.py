"""BM25 over exactly the chunks in the store, persisted beside it and tagged with the store's generation.

The index is rebuilt from Chroma's own records (never from files on disk), so it cannot disagree with the
dense side: when the generation recorded with the saved index differs from the store's, it is rebuilt once
and saved. Ingest rebuilds it at the end of every run that changed something, so queries never pay for it.
"""

from __future__ import annotations

import json
import math
import logging
import shutil
import threading
from collections import Counter
from pathlib import Path
from dataclasses import dataclass

import numpy as np

from kb.index.store import Store
from kb.text.terms import stemmer, stems

log = logging.getLogger(__name__)
FORMAT = 2  # what an index holds (2: title in the text, term counts); a cache of another format is rebuilt


def _bm25s():
    """bm25s, imported on first use: with scipy it is 0.2 s that `hrtp status` and a no-op ingest do not need.
    Importing it sets its logger to DEBUG, where it logs every index build; that is put back to WARNING."""
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


def _tokenize(texts: list[str]):
    return _bm25s().tokenize(texts, stopwords="en", stemmer=stemmer(), show_progress=False)


class BM25Index:
    def __init__(self, store: Store, cache_dir: Path) -> None:
        self.store = store
        self.cache_dir = cache_dir
        self.generation: str | None = None
        self._ids: list[str] = []
        self._df: dict[str, int] = {}  # how many chunks hold each stem: the verifier weighs question terms by it
        self._bm25: bm25s.BM25 | None = None
        self._lock = threading.Lock()

    def ensure_current(self, generation: str | None = None) -> None:
        """Load or rebuild when the store has changed since this index was made (one cheap read per call, none
        when the caller has just read the store's `generation`)."""
        gen = self.store.generation() if generation is None else generation
        if gen == self.generation:
            return
        with self._lock:
            if gen != self.generation and not self._load(gen):
                self.rebuild(gen)

    def rebuild(self, generation: str | None = None) -> None:
        gen = self.store.generation() if generation is None else generation
        ids, texts = [], []
        df: Counter[str] = Counter()
        for chunk, _ in self.store.iter_chunks():
            ids.append(chunk.id)
            texts.append(chunk.search_text())
            df.update(set(stems(texts[-1])))
        bm25 = None
        if texts:
            bm25 = _bm25s().BM25()
            bm25.index(_tokenize(texts), show_progress=False)
        self._ids, self._bm25, self._df, self.generation = ids, bm25, dict(df), gen
        self._save()
        log.info("BM25 rebuilt over %d chunks (generation %s)", len(ids), gen)

    def term_stats(self) -> "TermStats":
        """How rare each stem is across the chunks in the store now (a snapshot)."""
        self.ensure_current()
        return TermStats(self._df, len(self._ids))

    def search(self, query: str, k: int, generation: str | None = None,
               only: set[str] | None = None) -> list[tuple[str, float]]:
        """The k best chunks for `query`; with `only`, among those chunk ids alone (a document filter)."""
        self.ensure_current(generation)
        if self._bm25 is None or not self._ids or only == set():
            return []
        tokens = _tokenize([query])
        if not tokens.vocab:
            return []
        mask = None
        if only is not None:  # scored among the chosen chunks, not filtered after a top-k over all of them
            mask = np.fromiter((i in only for i in self._ids), dtype=np.float32, count=len(self._ids))
        docs, scores = self._bm25.retrieve(tokens, k=min(k, len(self._ids)), show_progress=False, weight_mask=mask)
        return [(self._ids[int(d)], float(s)) for d, s in zip(docs[0], scores[0]) if s > 0]

    # persistence --------------------------------------------------------------------------------------
    def _save(self) -> None:
        tmp = self.cache_dir.with_name(self.cache_dir.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self._bm25 is not None:
            self._bm25.save(str(tmp / "bm25"))
        (tmp / "meta.json").write_text(json.dumps({"format": FORMAT, "generation": self.generation, "ids": self._ids,
                                                   "df": self._df}))
        shutil.rmtree(self.cache_dir, ignore_errors=True)
        tmp.rename(self.cache_dir)  # readers see the old index or the new one, never half of one

    def _load(self, gen: str) -> bool:
        try:
            meta = json.loads((self.cache_dir / "meta.json").read_text())
            if meta["generation"] != gen or meta.get("format") != FORMAT:
                return False
            bm25 = _bm25s().BM25.load(str(self.cache_dir / "bm25")) if meta["ids"] else None
        except (OSError, ValueError, KeyError):
            return False
        self._ids, self._bm25, self._df, self.generation = meta["ids"], bm25, meta["df"], gen
        return True


@dataclass(frozen=True)
class TermStats:
    df: dict[str, int]  # chunks holding each stem
    n: int  # chunks in the store

    def known(self, stem: str) -> bool:
        return self.df.get(stem, 0) > 0

    def idf(self, stem: str) -> float:
        """BM25's inverse document frequency; a stem the store never saw weighs most."""
        d = self.df.get(stem, 0)
        return math.log(1 + (self.n - d + 0.5) / (d + 0.5))
