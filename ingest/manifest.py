"""Per-folder manifests (`manifest.toml`) that give documents a human title, publisher and kind."""

from __future__ import annotations

import functools
import logging
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.toml"


@dataclass(frozen=True)
class DocMeta:
    title: str = ""
    publisher: str = ""
    kind: str = ""
    description: str = ""


@functools.lru_cache(maxsize=256)
def _read(folder: Path, mtime: float) -> dict[str, DocMeta]:
    try:
        data = tomllib.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        log.warning("%s: ignored (%s)", folder / MANIFEST_NAME, exc)
        return {}
    out = {}
    for entry in data.get("document", []):
        if isinstance(entry, dict) and entry.get("file"):
            out[str(entry["file"])] = DocMeta(
                **{k: str(entry.get(k, "")) for k in ("title", "publisher", "kind", "description")}
            )
    return out


def meta_for(path: Path) -> DocMeta:
    manifest = path.parent / MANIFEST_NAME
    try:
        mtime = manifest.stat().st_mtime
    except OSError:
        return DocMeta()
    return _read(path.parent, mtime).get(path.name, DocMeta())


def fallback_title(path: Path, text: str, from_file: str = "") -> str:
    """A title from the file itself: its own metadata, a short first line, or the file name."""
    if from_file:
        return from_file[:120]
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    if first and len(first.split()) <= 12 and first[-1] not in ".,;:":
        return first.lstrip("# ")[:120]
    return re.sub(r"[_-]+", " ", path.stem).strip() or path.name
