"""Incremental sync of files and folders with the store: add, replace, remove, dedupe.

A file is known by its absolute path; its content by the SHA-256 of its bytes (`doc_sha`), from which every
chunk id derives. So an unchanged file is skipped without loading or embedding, a changed file has its chunks
replaced, identical bytes under two names are indexed once, and a file missing from a folder that was
ingested before is removed. A file that fails to load leaves whatever was indexed for it untouched.

Crash safety: chunks are upserted before their file is registered, so a killed run leaves at most orphan
chunks, which the next run deletes (it compares the chunk count with the registry) and re-creates with the
same ids. One ingest at a time per store directory (an OS file lock, released if the process dies).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import queue
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from filelock import FileLock, Timeout
from tqdm import tqdm

from ingest import audio
from ingest.chunk import Chunker
from ingest.clean import clean
from ingest.load import Segment, load
from ingest.manifest import MANIFEST_NAME, fallback_title, meta_for
from kb.domain import DOMAIN_NAME
from kb.models.embedder import Embedder
from kb.errors import ConfigError, IngestLockedError, LoadError
from kb.files import sha256_file
from kb.index.bm25 import BM25Index
from kb.text.injection import injection_in
from kb.settings import Settings
from kb.index.store import FileRecord, Store
from kb.types import Chunk, FileFailure, IngestReport

if TYPE_CHECKING:
    from kb.ask.pipeline import KnowledgeBase

log = logging.getLogger(__name__)


def discover(paths: list[Path]) -> tuple[list[Path], list[Path], list[FileFailure]]:
    """Files to ingest, the folders that were scanned (for removals), and paths that could not be walked."""
    files: list[Path] = []
    folders: list[Path] = []
    failed: list[FileFailure] = []
    for p in paths:
        p = Path(os.path.abspath(p))
        if p.is_dir():
            folders.append(p)
            for root, dirs, names in os.walk(p, followlinks=False, onerror=lambda e: failed.append(
                    FileFailure(str(e.filename), f"cannot read folder: {e.strerror}"))):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(names):
                    if name.startswith(".") or name in (MANIFEST_NAME, DOMAIN_NAME):  # settings, not documents
                        continue
                    files.append(Path(root) / name)
        elif p.exists() or p.is_symlink():
            files.append(p)
        else:
            raise ConfigError(f"{p} does not exist; give a file or folder to ingest (default: the bundled corpus).")
    # A transcript beside a recording under its name is the recording's corrected transcript: ingesting it
    # (or its folder) re-indexes the recording from it.
    files = list(dict.fromkeys(audio.recording_of(f) or f for f in files))
    return files, folders, failed


def file_sha(path: Path) -> str:
    """SHA-256 of the file's bytes, read in blocks (a no-op re-ingest reads but never parses or embeds)."""
    try:
        if path.is_symlink() and not path.exists():
            raise LoadError(str(path), "broken symbolic link, or a symbolic link loop")
        return sha256_file(path)
    except (OSError, RuntimeError) as exc:
        raise LoadError(str(path), f"cannot read the file ({getattr(exc, 'strerror', None) or exc})") from exc


class _Writer(threading.Thread):
    """Third stage: upserts batches and registers finished files while the encoder works on the next batch."""

    def __init__(self, syncer: "Syncer", writes: queue.Queue, registry: dict[str, FileRecord],
                 report: IngestReport, bar) -> None:
        super().__init__(daemon=True)
        self.syncer, self.writes, self.registry, self.report, self.bar = syncer, writes, registry, report, bar
        self.error: BaseException | None = None

    def run(self) -> None:
        while (item := self.writes.get()) is not None:
            if self.error is not None:
                continue  # drain, so the encoder never blocks on a full queue
            chunks, vectors, waiting = item
            try:
                if chunks:
                    self.syncer.store.add_chunks(chunks, vectors)
                    self.report.chunks_embedded += len(chunks)
                self.syncer._finish(waiting, self.registry, self.report, self.bar)
                self.bar.set_postfix(chunks=self.report.chunks_embedded, refresh=False)
                if chunks:  # what a killed run leaves behind: everything up to the last of these lines
                    log.debug("wrote %d chunks; %d files registered", len(chunks),
                              self.report.files_added + self.report.files_updated)
            except BaseException as exc:  # re-raised by the main thread after join
                self.error = exc


@dataclass
class _Event:
    """What the reader thread hands the writer, in file order."""

    kind: str  # "chunks" | "indexed" | "twin" | "unchanged" | "failed"
    path: Path
    chunks: list[Chunk] = field(default_factory=list)
    record: FileRecord | None = None
    reason: str = ""


class Syncer:
    """Three stages: a reader thread hashes, loads, cleans and chunks; this thread embeds batches across files;
    a writer thread upserts them and registers each file once all its chunks are in. The encoder waits on
    neither parsing nor Chroma."""

    def __init__(self, settings: Settings, store: Store, load_embedder: Callable[[], Embedder],
                 bm25: BM25Index) -> None:
        """`load_embedder` is called only when a chunk must be embedded, so a run that finds nothing new never
        loads the model."""
        self.settings, self.store, self.bm25 = settings, store, bm25
        self._load_embedder = load_embedder
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()  # identical chunk texts embed once
        self.transcriber = audio.Transcriber(settings)  # Whisper loads only when a recording is new
        self._progress: bool | None = None

    @functools.cached_property
    def embedder(self) -> Embedder:
        return self._load_embedder()

    def run(self, paths: list[Path], progress: bool | None = None) -> IngestReport:
        t0 = time.perf_counter()
        self.settings.store_dir.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.settings.store_dir / "ingest.lock"))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            raise IngestLockedError(
                f"Another `hrtp ingest` is writing to {self.settings.store_dir}; wait for it to finish and run again."
            ) from None
        try:
            report = self._sync(paths, progress)
        finally:
            lock.release()
        report.seconds = time.perf_counter() - t0
        return report

    def _sync(self, paths: list[Path], progress: bool | None) -> IngestReport:
        self._progress = progress
        files, folders, failed = discover(paths)
        report = IngestReport(files_seen=len(files), files_failed=failed)
        registry = self.store.file_records()
        events: queue.Queue[_Event | None] = queue.Queue(maxsize=8)
        writes: queue.Queue[tuple | None] = queue.Queue(maxsize=2)
        stop = threading.Event()
        bar = tqdm(total=len(files), desc="ingest", unit="file", disable=(not progress) if progress is not None else None)
        reader = threading.Thread(target=self._read_all, args=(files, dict(registry), events, stop), daemon=True)
        writer = _Writer(self, writes, registry, report, bar)
        reader.start()
        writer.start()
        batch: list[Chunk] = []
        waiting: list[_Event] = []  # files whose chunks may still sit in `batch`
        changed = False
        try:
            while (ev := events.get()) is not None and writer.error is None:
                if ev.kind in ("chunks", "indexed", "twin") and not changed:
                    self.store.bump_generation()  # readers must not trust a BM25 index from before this run
                    changed = True
                if ev.kind == "chunks":
                    batch.extend(ev.chunks)
                    if len(batch) >= self.settings.write_batch:
                        writes.put((batch, self._embed(batch), waiting))
                        batch, waiting = [], []
                    continue
                waiting.append(ev)
                if not batch:
                    writes.put(([], None, waiting))
                    waiting = []
            writes.put((batch, self._embed(batch), waiting))
        finally:
            stop.set()
            writes.put(None)
            writer.join()
            bar.close()
        if writer.error is not None:
            raise writer.error
        changed |= self._remove_missing(folders, {str(f) for f in files}, registry, report, changed)
        if changed or self._has_orphans(registry):
            self._collect_orphans(registry)
            self.store.bump_generation()
            self.bm25.rebuild()
        report.chunks_total = self.store.count()
        report.recordings_transcribed = self.transcriber.transcribed
        return report

    # reader thread ------------------------------------------------------------------------------------
    def _read_all(self, files: list[Path], registry: dict[str, FileRecord], out: queue.Queue, stop: threading.Event) -> None:
        shas = {r.doc_sha: r for r in registry.values()}
        try:
            for path in files:
                if stop.is_set():
                    return
                for ev in self._read_one(path, registry, shas):
                    out.put(ev)
        except Exception as exc:  # a bug must not hang the writer; it is reported, not swallowed
            log.exception("ingest reader failed")
            out.put(_Event("failed", Path("?"), reason=f"internal error: {exc}"))
        finally:
            out.put(None)

    def _read_one(self, path: Path, registry: dict[str, FileRecord], shas: dict[str, FileRecord]):
        try:
            sha = raw_sha = file_sha(path)
            recording = audio.is_recording(path)
            if recording and (side := audio.corrected_transcript(path)):  # a corrected transcript changes the document
                sha = hashlib.sha256(f"{raw_sha}:{file_sha(side)}".encode()).hexdigest()
            old = registry.get(str(path))
            if old and old.doc_sha == sha:
                yield _Event("unchanged", path)
                return
            meta = meta_for(path)
            twin = shas.get(sha)
            if twin:  # identical content under another name: indexed once, both names registered
                yield _Event("twin", path, record=FileRecord(
                    str(path), sha, meta.title or twin.title, twin.n_chunks, time.time(),
                    meta.publisher or twin.publisher, meta.kind or twin.kind))
                return
            if recording:
                loaded = audio.load_recording(path, raw_sha, self.settings, self.transcriber, self._progress)
            else:
                loaded = load(path, self.settings.max_file_mb)
            is_transcript = recording or path.suffix.lower() in (".vtt", ".srt")
            chunker = None
            n = 0
            for seg in loaded.segments:
                text = clean(seg.text)
                if not text:
                    continue
                if chunker is None:
                    title = meta.title or fallback_title(path, text, loaded.title)
                    kind = meta.kind or ("recording" if recording else "transcript" if is_transcript else "")
                    chunker = Chunker(doc_sha=sha, path=str(path), title=title, publisher=meta.publisher, kind=kind,
                                      url=loaded.meta.get("url", ""), max_words=self.settings.chunk_words,
                                      headings=not is_transcript)
                if phrase := injection_in(text):
                    log.warning("%s: contains instruction-like text (%r); indexed, but that sentence is never quoted "
                                "or shown to a model", path, phrase)
                chunks = chunker.feed(Segment(text, seg.page, seg.timestamp, seg.speaker))
                n += len(chunks)
                yield _Event("chunks", path, chunks)
            if chunker is None or n == 0:
                raise LoadError(str(path), "no readable text after cleaning")
            rec = FileRecord(str(path), sha, chunker.meta["title"], n, time.time(), meta.publisher, chunker.meta["kind"])
            shas[sha] = rec
            yield _Event("indexed", path, record=rec)
        except LoadError as exc:
            yield _Event("failed", path, reason=exc.reason)

    # encoder (this thread) ----------------------------------------------------------------------------
    def _embed(self, chunks: list[Chunk]) -> np.ndarray | None:
        """Vectors for `chunks`, each distinct text through the encoder once."""
        if not chunks:
            return None
        texts = [c.embed_text() for c in chunks]
        todo = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        for t, v in zip(todo, self.embedder.embed_batch(todo, self.settings.embed_batch)):
            self._vectors[t] = v
        vectors = np.stack([self._vectors[t] for t in texts])
        while len(self._vectors) > 20_000:
            self._vectors.popitem(last=False)
        return vectors

    # writer thread (see _Writer) ----------------------------------------------------------------------
    def _finish(self, waiting: list[_Event], registry: dict[str, FileRecord], report: IngestReport, bar) -> None:
        """Every chunk before these events is written: register their files, count them."""
        for ev in waiting:
            bar.update(1)
            if ev.kind == "unchanged":
                report.files_unchanged += 1
            elif ev.kind == "failed":
                report.files_failed.append(FileFailure(str(ev.path), ev.reason))
                log.warning("%s: %s", ev.path, ev.reason)
            else:
                old = registry.get(str(ev.path))
                self.store.register(ev.record)
                registry[str(ev.path)] = ev.record
                if old:
                    report.files_updated += 1
                    self._drop_if_unreferenced(old.doc_sha, registry)
                else:
                    report.files_added += 1
        waiting.clear()

    def _remove_missing(self, folders: list[Path], seen: set[str], registry: dict[str, FileRecord],
                        report: IngestReport, changed: bool) -> bool:
        """Forget files that were ingested from a scanned folder and are gone from it."""
        gone = [k for k in registry if k not in seen and any(Path(k).is_relative_to(f) for f in folders)
                and not Path(k).exists()]
        if gone and not changed:
            self.store.bump_generation()
        for key in gone:
            rec = registry.pop(key)
            self.store.unregister(key)
            report.files_removed += 1
            self._drop_if_unreferenced(rec.doc_sha, registry)
        return bool(gone)

    def _drop_if_unreferenced(self, doc_sha: str, registry: dict[str, FileRecord]) -> None:
        if not any(r.doc_sha == doc_sha for r in registry.values()):
            self.store.delete_doc(doc_sha)

    def _has_orphans(self, registry: dict[str, FileRecord]) -> bool:
        expected = sum({r.doc_sha: r.n_chunks for r in registry.values()}.values())
        return self.store.count() != expected

    def _collect_orphans(self, registry: dict[str, FileRecord]) -> None:
        live = {r.doc_sha for r in registry.values()}
        for sha in self.store.doc_shas() - live:
            log.info("removing chunks of %s left by an interrupted or failed run", sha[:12])
            self.store.delete_doc(sha)


@dataclass
class Removed:
    """What `remove_document` took out, so it can be put back (the chat's undo)."""

    record: FileRecord
    chunks: list[Chunk]  # empty when another name still holds the same content
    vectors: np.ndarray | None


def remove_document(store: Store, bm25: BM25Index, path: str) -> Removed | None:
    """Forget one ingested path (and its chunks when no other name holds the same content)."""
    registry = store.file_records()
    rec = registry.pop(path, None)
    if rec is None:
        return None
    chunks, vectors = [], None
    if not any(r.doc_sha == rec.doc_sha for r in registry.values()):
        chunks = store.chunks_between(rec.doc_sha, -1, 1 << 62)
        got = store.get_vectors([c.id for c in chunks])
        vectors = np.stack([got[c.id] for c in chunks]) if chunks else None
    store.bump_generation()
    store.unregister(path)
    if chunks:
        store.delete_doc(rec.doc_sha)
    store.bump_generation()
    bm25.rebuild()
    return Removed(rec, chunks, vectors)


def restore_document(store: Store, bm25: BM25Index, removed: Removed) -> None:
    """Put back what `remove_document` took out."""
    store.bump_generation()
    if removed.chunks:
        store.add_chunks(removed.chunks, removed.vectors)
    store.register(removed.record)
    store.bump_generation()
    bm25.rebuild()


def sync_paths(kb: "KnowledgeBase", paths: list[Path], progress: bool | None = None) -> IngestReport:
    """Add, update or remove the documents under `paths` in `kb`'s store (the `hrtp ingest` command). The
    embedding model loads only if something must be embedded: a no-op ingest never pays for it."""
    kb.ensure_same_model()
    return Syncer(kb.settings, kb.store, lambda: kb.embedder, kb.bm25).run(paths, progress)


def remove_path(kb: "KnowledgeBase", path: str) -> Removed | None:
    """Forget one ingested file; returns what `restore_document` needs to undo it, or None if not indexed."""
    return remove_document(kb.store, kb.bm25, path)
