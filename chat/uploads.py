"""Uploaded files: size limit, type checked by content as well as extension, sanitised names inside the store.

A saved upload never leaves `<store>/uploads/`, never overwrites another document (a name already taken by
different content gets a numbered variant), and identical content reuses the file already there.
"""

from __future__ import annotations

import re
import shutil
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ingest.load import RECORDINGS, SUPPORTED, detect_encoding
from kb.errors import LoadError
from kb.files import sha256_file

MAX_UPLOAD_MB = 50


@dataclass
class Saved:
    path: Path | None
    name: str
    error: str = ""
    sha: str = ""  # of the content: the store's doc_sha
    existed: bool = False  # the same content was already saved under this name


def safe_name(name: str) -> str:
    """A file name with no directory part, no leading dots, only letters, digits, space, dot, dash, underscore."""
    base = unicodedata.normalize("NFKC", Path(name.replace("\\", "/")).name)
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    stem = re.sub(r"[^\w .-]+", "_", stem).strip(" ._") or "document"
    ext = re.sub(r"[^A-Za-z0-9]+", "", ext).lower()
    return f"{stem[:100]}.{ext}" if ext else stem[:100]


def check_content(path: Path, ext: str) -> str:
    """Why the bytes of `path` are not what its extension claims, or ""."""
    with path.open("rb") as fh:
        head = fh.read(64 * 1024)
    if not head.strip():
        return "the file is empty"
    if ext == ".pdf":
        return "" if head.lstrip().startswith(b"%PDF") else "not a PDF (the content does not start with %PDF)"
    if ext in RECORDINGS:
        return ""  # decoded at ingest, which names what is wrong with it (ingest/audio.py)
    try:
        detect_encoding(path, head)
    except LoadError as exc:
        return exc.reason
    return ""


def save_upload(src: Path, original_name: str, uploads: Path, max_mb: int = MAX_UPLOAD_MB) -> Saved:
    name = safe_name(original_name)
    ext = Path(name).suffix.lower()
    if ext not in SUPPORTED + RECORDINGS:
        return Saved(None, name, f"unsupported type {ext or '(none)'}; upload PDF, TXT, MD, HTML, VTT, SRT or a "
                                 "recording (MP3, M4A, WAV, MP4, WEBM, OGG, FLAC)")
    size = src.stat().st_size
    if size > max_mb * 1024 * 1024:
        return Saved(None, name, f"{size / 2**20:.1f} MB is over the {max_mb} MB upload limit")
    problem = check_content(src, ext)
    if problem:
        return Saved(None, name, problem)
    uploads.mkdir(parents=True, exist_ok=True)
    digest = sha256_file(src)
    target = uploads / name
    n = 1
    while target.exists():
        if sha256_file(target) == digest:
            return Saved(target, name, sha=digest, existed=True)  # the same document again: nothing to overwrite
        n += 1
        target = uploads / f"{Path(name).stem}-{n}{ext}"
    if target.resolve().parent != uploads.resolve():  # belt and braces: safe_name already has no directory
        return Saved(None, name, "refused: the name points outside the upload folder")
    shutil.copyfile(src, target)
    return Saved(target, target.name, sha=digest)
