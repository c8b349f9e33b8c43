"""The Library tab's handlers: uploads (saying so when a file is already indexed), removal that names the file,
asks first and can be undone (until the next upload or for `UNDO_SECONDS`), and titles a person can edit.
Documents are shown by their title everywhere; the file name only where two titles are the same."""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass
from html import escape
from pathlib import Path

from chat.uploads import save_upload
from kb.ask.pipeline import KnowledgeBase
from ingest.sync import sync_paths, remove_path, restore_document

log = logging.getLogger(__name__)
UNDO_SECONDS = 600
FORMATS = {".pdf": "PDF", ".html": "web page", ".htm": "web page", ".md": "Markdown", ".txt": "text",
           ".vtt": "transcript", ".srt": "transcript"}


@dataclass
class Trashed:
    removed: object  # ingest.sync.Removed
    title: str
    name: str
    at: float
    kept_file: Path | None  # an upload's file, set aside until the undo expires


class Library:
    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.uploads = kb.settings.store_dir / "uploads"
        self.trash: Trashed | None = None

    # what is indexed ------------------------------------------------------------------------------------
    def rows(self) -> list[list]:
        return [[d.title, d.kind or FORMATS.get(Path(d.path).suffix.lower(), "-"), d.n_chunks,
                 time.strftime("%Y-%m-%d %H:%M", time.localtime(d.ingested_at)), Path(d.path).name]
                for d in self.kb.documents()]

    def choices(self) -> list[tuple[str, str]]:
        docs = self.kb.documents()
        titles = [d.title for d in docs]
        return [(d.title if titles.count(d.title) == 1 else f"{d.title} ({Path(d.path).name})", d.path) for d in docs]

    def title_of(self, path: str | None) -> str:
        rec = self.kb.store.file_records().get(path or "")
        return rec.title if rec else ""

    # uploads --------------------------------------------------------------------------------------------
    def upload(self, files: list) -> str:
        lines, saved = [], []
        registry = self.kb.store.file_records()
        by_sha = {r.doc_sha: r for r in registry.values()}
        for f in files or []:
            p = Path(getattr(f, "name", f))
            result = save_upload(p, p.name, self.uploads)
            if result.error:
                lines.append(f"- ❌ **{escape(result.name)}**: {escape(result.error)}")
            elif result.sha in by_sha:
                twin = by_sha[result.sha]
                if not result.existed and str(result.path) not in registry:
                    result.path.unlink(missing_ok=True)  # nothing new: keep no second copy
                lines.append(f"- ℹ️ **{escape(result.name)}** is already in the library, as “{escape(twin.title)}”"
                             f" ({escape(Path(twin.path).name)}); nothing changed.")
            else:
                saved.append(result.path)
        if saved:
            self.expire(force=True)  # an ingest ends the undo of a removal
            report = sync_paths(self.kb, saved, progress=False)
            failed = {f.path: f.reason for f in report.files_failed}
            titles = {r.path: r.title for r in self.kb.store.file_records().values()}
            for p in saved:
                if str(p) in failed:
                    lines.append(f"- ❌ **{escape(p.name)}**: {escape(failed[str(p)])}")
                    p.unlink(missing_ok=True)
                else:
                    lines.append(f"- ✅ “{escape(titles.get(str(p), p.name))}” ({escape(p.name)}) was added to the library")
        return "\n".join(lines) or "Choose files to upload."

    # removing, with a question first and an undo after ----------------------------------------------------
    def confirm_text(self, path: str | None) -> str:
        if not path:
            return ""
        return (f"Remove “{escape(self.title_of(path))}” (file {escape(Path(path).name)}) from the library? Answers "
                "will no longer cite it. You can undo this for 10 minutes, until the next upload.")

    def remove(self, path: str | None) -> str:
        if not path:
            return "Choose a document to remove."
        title = self.title_of(path)
        self.expire(force=True)
        removed = remove_path(self.kb, path)
        p = Path(path)
        if removed is None:
            return f"{escape(p.name)} was not in the library."
        kept = None
        if p.parent.resolve() == self.uploads.resolve() and p.exists():
            kept = self.uploads / ".removed" / p.name  # an upload lives only in the store: set aside, not deleted
            kept.parent.mkdir(exist_ok=True)
            shutil.move(p, kept)
        self.trash = Trashed(removed, title, p.name, time.time(), kept)
        return f"Removed “{escape(title)}” ({escape(p.name)})."

    def can_undo(self) -> bool:
        self.expire()
        return self.trash is not None

    def undo(self) -> str:
        if not self.can_undo():
            return "Nothing to undo (an undo lasts 10 minutes, until the next upload)."
        t, self.trash = self.trash, None
        if t.kept_file:
            shutil.move(t.kept_file, self.uploads / t.kept_file.name)
        restore_document(self.kb.store, self.kb.bm25, t.removed)
        return f"“{escape(t.title)}” ({escape(t.name)}) is back in the library."

    def expire(self, force: bool = False) -> None:
        if self.trash and (force or time.time() - self.trash.at > UNDO_SECONDS):
            if self.trash.kept_file:
                self.trash.kept_file.unlink(missing_ok=True)
            self.trash = None

    # titles ---------------------------------------------------------------------------------------------
    def retitle(self, path: str | None, title: str) -> str:
        title = " ".join((title or "").split())[:200]
        if not path:
            return "Choose a document first."
        if not title:
            return "Type a title."
        if not self.kb.retitle(path, title):
            return f"{escape(Path(path).name)} is not in the library."
        return f"Renamed {escape(Path(path).name)} to “{escape(title)}”."
