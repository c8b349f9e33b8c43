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

import hashlib
import logging
import os
import time
from pathlib import Path

from filelock import FileLock, Timeout
from tqdm import tqdm

from ingest.chunk import chunk_document
from ingest.clean import clean
from ingest.load import SUPPORTED, Segment, load
from ingest.manifest import MANIFEST_NAME, fallback_title, meta_for
from kb.embedding import Embedder
from kb.errors import ConfigError, IngestLockedError, LoadError
from kb.lexical import BM25Index
from kb.settings import Settings
from kb.store import FileRecord, Store
from kb.types import FileFailure, IngestReport

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
                    if name.startswith(".") or name == MANIFEST_NAME:
                        continue
                    files.append(Path(root) / name)
        elif p.exists() or p.is_symlink():
            files.append(p)
        else:
            raise ConfigError(f"{p} does not exist; give a file or folder to ingest (default: the bundled corpus).")
    return files, folders, failed


def read_file(path: Path, max_mb: int) -> bytes:
    try:
        if path.is_symlink() and not path.exists():
            raise LoadError(str(path), "broken symbolic link, or a symbolic link loop")
        size = path.stat().st_size
        if size > max_mb * 1024 * 1024:
            raise LoadError(str(path), f"file is {size / 2**20:.0f} MB, over the {max_mb} MB limit (HRTP_MAX_FILE_MB)")
        return path.read_bytes()
    except LoadError:
        raise
    except (OSError, RuntimeError) as exc:
        raise LoadError(str(path), f"cannot read the file ({getattr(exc, 'strerror', None) or exc})") from exc


class Syncer:
    def __init__(self, settings: Settings, store: Store, embedder: Embedder, bm25: BM25Index) -> None:
        self.settings, self.store, self.embedder, self.bm25 = settings, store, embedder, bm25

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
        files, folders, failed = discover(paths)
        report = IngestReport(files_seen=len(files), files_failed=failed)
        registry = self.store.file_records()
        changed = False
        seen: set[str] = set()
        bar = tqdm(files, desc="ingest", unit="file", disable=(not progress) if progress is not None else None)
        for path in bar:
            key = str(path)
            seen.add(key)
            try:
                data = read_file(path, self.settings.max_file_mb)
                sha = hashlib.sha256(data).hexdigest()
                old = registry.get(key)
                if old and old.doc_sha == sha:
                    report.files_unchanged += 1
                    continue
                if not changed:
                    self.store.bump_generation()  # readers must not trust a BM25 index from before this run
                    changed = True
                rec, embedded = self._index(path, data, sha, registry)
            except LoadError as exc:
                report.files_failed.append(FileFailure(exc.path, exc.reason))
                log.warning("%s: %s", exc.path, exc.reason)
                continue
            report.chunks_embedded += embedded
            registry[key] = rec
            if old:
                report.files_updated += 1
                self._drop_if_unreferenced(old.doc_sha, registry)
            else:
                report.files_added += 1
            bar.set_postfix(chunks=report.chunks_embedded)
        gone = [k for k in registry if k not in seen and any(Path(k).is_relative_to(f) for f in folders)
                and not Path(k).exists()]
        if gone and not changed:
            self.store.bump_generation()
            changed = True
        for key in gone:
            rec = registry.pop(key)
            self.store.unregister(key)
            report.files_removed += 1
            self._drop_if_unreferenced(rec.doc_sha, registry)
        if changed or self._has_orphans(registry):
            self._collect_orphans(registry)
            self.store.bump_generation()
            self.bm25.rebuild()
        report.chunks_total = self.store.count()
        return report

    def _index(self, path: Path, data: bytes, sha: str, registry: dict[str, FileRecord]) -> tuple[FileRecord, int]:
        """Index one file's content (unless the same bytes are indexed already) and register its path."""
        twin = next((r for r in registry.values() if r.doc_sha == sha), None)
        meta = meta_for(path)
        if twin:  # identical content under another name: indexed once, both names registered
            rec = FileRecord(str(path), sha, meta.title or twin.title, twin.n_chunks, time.time(),
                             meta.publisher or twin.publisher, meta.kind or twin.kind)
            self.store.register(rec)
            return rec, 0
        loaded = load(path, data)
        segments = [Segment(clean(s.text), s.page, s.timestamp, s.speaker) for s in loaded.segments]
        if not any(s.text for s in segments):
            raise LoadError(str(path), "no readable text after cleaning")
        title = meta.title or fallback_title(path, segments[0].text, loaded.title)
        is_transcript = path.suffix.lower() in (".vtt", ".srt")
        _, chunks = chunk_document(
            segments, doc_sha=sha, path=str(path), title=title, publisher=meta.publisher,
            kind=meta.kind or ("transcript" if is_transcript else ""), max_words=self.settings.chunk_words,
            headings=not is_transcript,
        )
        vectors = self.embedder.embed_batch([c.embed_text() for c in chunks], self.settings.embed_batch)
        self.store.add_chunks(chunks, vectors)
        rec = FileRecord(str(path), sha, title, len(chunks), time.time(), meta.publisher, chunks[0].kind)
        self.store.register(rec)
        return rec, len(chunks)

    def _drop_if_unreferenced(self, doc_sha: str, registry: dict[str, FileRecord]) -> None:
        if not any(r.doc_sha == doc_sha for r in registry.values()):
            self.store.delete_doc(doc_sha)

    def _has_orphans(self, registry: dict[str, FileRecord]) -> bool:
        expected = sum({r.doc_sha: r.n_chunks for r in registry.values()}.values())
        return self.store.count() != expected

    def _collect_orphans(self, registry: dict[str, FileRecord]) -> None:
        live = {r.doc_sha for r in registry.values()}
        for sha in self.store.doc_shas() - live:
            log.info("removing chunks of %s left by an interrupted run", sha[:12])
            self.store.delete_doc(sha)


def remove_document(store: Store, bm25: BM25Index, path: str) -> bool:
    """Forget one ingested path (and its chunks when no other name holds the same content)."""
    registry = store.file_records()
    rec = registry.pop(path, None)
    if rec is None:
        return False
    store.bump_generation()
    store.unregister(path)
    if not any(r.doc_sha == rec.doc_sha for r in registry.values()):
        store.delete_doc(rec.doc_sha)
    store.bump_generation()
    bm25.rebuild()
    return True


__all__ = ["Syncer", "discover", "remove_document", "SUPPORTED"]
