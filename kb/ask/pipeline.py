"""`KnowledgeBase`: the one core the CLI, the chat UI and the evals call. It owns no logic of its own beyond
wiring: store + embedder + BM25 -> retriever -> question analysis -> reader -> verifier -> typed `Answer`.
"""

from __future__ import annotations

import functools
import logging
import os
import queue
import threading
import time
from dataclasses import dataclass, replace
from typing import Iterator

import numpy as np

from kb.models.embedder import Embedder
from kb.models.registry import alias_of, model_name
from kb.models.load import get_embedder
from kb.errors import ConfigError, DocumentNotFoundError, EmptyStoreError
from kb.index.bm25 import BM25Index
from kb.ask.question import QuestionInfo, analyse, is_follow_up, last_turn, list_items, ordinal_of
from kb.ask.readers import registry
from kb.ask.readers.base import Reader
from kb.ask.readers.extractive import ExtractiveReader
from kb.ask.retrieve import Retriever
from kb.settings import Settings
from kb.index.store import FileRecord, Store
from kb.types import Answer, Chunk, Passage
from kb.ask.verify import Verifier

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 2000


class KnowledgeBase:
    def __init__(self, settings: Settings, embedder: Embedder | None = None, *, long_running: bool = False) -> None:
        """long_running: this process answers many questions (the chat, an eval, a questions file), so the
        embedder packs its weights at load: slower to start, faster to answer (BENCHMARKS.md)."""
        self.settings = settings
        self._embedder = embedder
        self._long_running = long_running
        self.store = Store(settings)
        self.bm25 = BM25Index(self.store, settings.store_dir / "bm25" / settings.collection)

    @functools.cached_property
    def embedder(self) -> Embedder:
        return self._embedder or get_embedder(self.settings.model, self.settings.cache_dir, packed=self._long_running)

    @functools.cached_property
    def retriever(self) -> Retriever:
        self.ensure_same_model()
        return Retriever(self.settings, self.store, self.embedder, self.bm25)

    def ensure_same_model(self) -> None:
        """Vectors from two models cannot be compared: a store built with another embedding model is
        re-embedded once, with a message, before it is searched or added to."""
        built_with = self.store.embedding_model()
        model = self._embedder.name if self._embedder else model_name(self.settings.model)
        if not built_with:
            self.store.set_embedding_model(model)
        elif built_with != model:
            n = self.store.count()
            log.warning("The store at %s was built with %s; re-embedding its %d passages with %s (once; "
                        "--model %s keeps the old one).", self.store.location, built_with, n, model,
                        alias_of(built_with) or built_with)
            t = time.perf_counter()
            self.store.reembed(lambda texts: self.embedder.embed_batch(texts, self.settings.embed_batch), model)
            self.bm25.rebuild()
            log.warning("re-embedded %d passages in %.0f s", n, time.perf_counter() - t)

    @functools.cached_property
    def verifier(self) -> Verifier:
        return Verifier(self.settings, self.embedder, self.bm25.term_stats)

    @functools.cached_property
    def extractive(self) -> ExtractiveReader:
        return ExtractiveReader(self.settings, self.embedder, self.verifier)

    @functools.cached_property
    def reader(self) -> Reader:
        """The configured reader. When the language model cannot be loaded, quoting still works: the
        extractive reader answers and the reason is logged once."""
        try:
            return self.make_reader(self.settings.reader)
        except ConfigError as exc:
            if self.settings.reader == "extractive":
                raise
            log.warning("answering by quoting (extractive reader): %s", exc)
            return self.extractive

    def make_reader(self, name: str, llm=None) -> Reader:
        """The reader `name` (kb/ask/readers/registry.py); a model reader over `llm`, by default the one the
        settings name (evals pass a cached one)."""
        if registry.spec(name).uses_model and llm is None:
            from kb.models.load import get_llm

            llm = get_llm(self.settings)
        return registry.build(name, self.settings, self.embedder, self.verifier, self.extractive, llm)

    # asking -------------------------------------------------------------------------------------------
    def ask(self, question: str, history: list[dict] | None = None, *, mode: str | None = None,
            id: str | None = None, reader: Reader | None = None, on_text=None, docs: list[str] | None = None) -> Answer:
        """Answer `question` from the store. `reader` overrides the configured one (evals compare them);
        `on_text` receives a language model's text as it is written (the chat streams it); `docs`, titles or
        paths (see `resolve_docs`), limits the answer to those documents."""
        found = self._retrieve(question, history, mode, id, docs)
        if isinstance(found, Answer):
            return found
        return self._answer(found, reader or self.reader, history, on_text, id)

    def resolve_docs(self, names: list[str]) -> list[str]:
        """The stored paths of the documents named by `names`, each a path (as ingested, or relative to here),
        a title, a file name or a part of a title or path (every document it matches). Raises
        `DocumentNotFoundError` naming every name that matches nothing."""
        records = self.store.file_records()
        found: list[str] = []
        missing = []
        for name in names:
            paths = _match_doc(name, records)
            missing += [name] if not paths else []
            found += [p for p in paths if p not in found]
        if missing:
            raise DocumentNotFoundError(missing)
        return found

    def stream(self, question: str, history: list[dict] | None = None,
               docs: list[str] | None = None) -> Iterator[tuple[str, object]]:
        """Answer as events for a face that shows progress: ("quick", Answer) the quoted answer, at once, when
        the configured reader is a model; ("text", str) the model's words as it writes them; ("final", Answer)
        the verified answer. Both readers read the same retrieved passages; the model runs in a worker
        thread; events arrive in order."""
        found = self._retrieve(question, history, None, docs=docs)
        if isinstance(found, Answer) or not self.reader.streams:
            yield "final", found if isinstance(found, Answer) else self._answer(found, self.reader, history)
            return
        events: queue.Queue = queue.Queue()
        yield "quick", self._answer(found, self.extractive, history)

        def work() -> None:
            try:
                events.put(("final", self._answer(found, self.reader, history, lambda t: events.put(("text", t)))))
            except BaseException as exc:  # handed to the caller's thread, which raises it
                events.put(("error", exc))

        threading.Thread(target=work, daemon=True).start()
        while True:
            kind, value = events.get()
            if kind == "error":
                raise value  # type: ignore[misc]
            yield kind, value
            if kind == "final":
                return

    def _retrieve(self, question: str, history: list[dict] | None, mode: str | None,
                  id: str | None = None, docs: list[str] | None = None) -> "_Found | Answer":
        """The question understood and its passages ranked; an `Answer` when there is nothing to ask."""
        t0 = time.perf_counter()
        sources = self.resolve_docs(docs) if docs else None
        question = (question or "").strip()
        if not question:
            return Answer(question, self.settings.domain.empty_question, True, id=id)
        if self.store.count() == 0:
            raise EmptyStoreError(self.store.location)
        question = question[:MAX_QUESTION_CHARS]
        q = self.understand(question, history, mode)
        t = time.perf_counter()
        qvec = self.embedder.embed_query(q.retrieval_query)
        embed_ms = (time.perf_counter() - t) * 1000
        passages, timings = self.retriever.search(q.retrieval_query, mode=mode, qvec=qvec, sources=sources)
        return _Found(question, q, qvec, passages, {"embed": embed_ms, **timings}, t0, sources or [])

    def _answer(self, found: "_Found", reader: Reader, history: list[dict] | None, on_text=None,
                id: str | None = None) -> Answer:
        t = time.perf_counter()
        draft = self._read(reader, found.q, found.qvec, found.passages, history, on_text)
        timings = {**found.timings, **draft.timings, "answer": (time.perf_counter() - t) * 1000}
        timings["total"] = (time.perf_counter() - found.t0) * 1000
        if draft.refused:
            log.info("refused %r: %s", found.question[:80], draft.reason)
        for d in draft.dropped:
            log.info("dropped %r: %s", d.text[:80], d.reason)
        return Answer(found.question, draft.text, draft.refused, draft.sources, timings, found.q.retrieval_query, id,
                      draft.reader, draft.dropped, draft.reason, draft.signals, found.docs)

    def _read(self, reader: Reader, q, qvec, passages, history, on_text):
        from kb.models.llm import LLMError

        try:
            return reader.read(q, qvec, passages, history, on_text=on_text)
        except LLMError as exc:  # a model server that went away: quote instead of failing the question
            log.warning("answering by quoting this time: %s", exc)
            return self.extractive.read(q, qvec, passages, history)

    def understand(self, question: str, history: list[dict] | None = None, mode: str | None = None) -> QuestionInfo:
        """The question as retrieval and the readers see it: its retrieval query and terms, a follow-up
        resolved against the conversation."""
        return analyse(question, self.settings.domain.shared, history, focus=self._focus(question, history, mode))

    def _focus(self, question: str, history: list[dict] | None, mode: str | None) -> str | None:
        """For "explain the second one": the item it points at, from the last answer's list."""
        n = ordinal_of(question) if history and is_follow_up(question, self.settings.domain.shared) else None
        if n is None:
            return None
        items = list_items(last_turn(history, "assistant"))
        if not items and last_turn(history, "user"):
            items = list_items(self.ask(last_turn(history, "user"), mode=mode).text)
        if not items or abs(n) > len(items) or n == 0:
            return None
        return items[n - 1] if n > 0 else items[-1]

    # the library --------------------------------------------------------------------------------------
    def retitle(self, path: str, title: str) -> bool:
        """Give an ingested file's document the title a person chose (every name holding that content)."""
        records = self.store.file_records()
        rec = records.get(path)
        if rec is None:
            return False
        self.store.bump_generation()
        self.store.set_title(rec.doc_sha, title)
        for r in records.values():
            if r.doc_sha == rec.doc_sha:
                self.store.register(replace(r, title=title))
        self.store.bump_generation()
        self.bm25.rebuild()
        return True

    def document(self, chunk_id: str) -> tuple[Chunk | None, list[Chunk]]:
        """A cited passage and all its document's passages in order, for opening a citation."""
        (chunk,) = self.store.get_chunks([chunk_id]) or [None]
        if chunk is None:
            return None, []
        return chunk, self.store.chunks_between(chunk.doc_sha, -1, 1 << 62)

    def documents(self) -> list[FileRecord]:
        return sorted(self.store.file_records().values(), key=lambda r: r.title.lower())

    def status(self) -> dict:
        from kb.handoff import fingerprint, running

        docs = self.documents()
        chat = running(self.settings)
        return {
            "store": self.store.location,
            "backend": "chroma-server" if self.settings.chroma_url else "chroma-disk",
            "model": self.store.embedding_model() or self.settings.model,
            "reader": self.settings.reader,
            "documents": len({d.doc_sha for d in docs}),
            "files": len(docs),
            "chunks": self.store.count(),
            "titles": sorted({d.title for d in docs}),
            # the chat serving this store, and whether `hrtp ask` with these settings is handed to it
            "chat": chat and {"pid": chat["pid"], "answers_ask": chat["fingerprint"] == fingerprint(self.settings)},
        }


__all__ = ["KnowledgeBase"]


@dataclass(frozen=True)
class _Found:
    """One question's retrieval, read by one or more readers."""

    question: str
    q: QuestionInfo
    qvec: np.ndarray
    passages: list[Passage]
    timings: dict[str, float]
    t0: float
    docs: list[str]  # the document filter's stored paths; empty: all documents


def _match_doc(name: str, records: dict[str, FileRecord]) -> list[str]:
    """The stored paths `name` names: exactly (path, absolute path, title, file name), else by containment."""
    name = name.strip()
    if not name:
        return []
    if name in records:
        return [name]
    absolute = os.path.abspath(os.path.expanduser(name))
    if absolute in records:
        return [absolute]
    low = name.lower()
    for exact in (lambda r: r.title.lower() == low, lambda r: os.path.basename(r.path).lower() == low,
                  lambda r: low in r.title.lower() or low in r.path.lower()):
        paths = sorted(p for p, r in records.items() if exact(r))
        if paths:
            return paths
    return []

