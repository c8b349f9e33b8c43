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
    if first and len(first.split()) <= TITLE_WORDS and first[-1] not in ".,;:":
        return first.lstrip("# ")[:120]
    return name_title(path)


def name_title(path: Path) -> str:
    return re.sub(r"[_-]+", " ", path.stem).strip() or path.name


TITLE_WORDS = 12
# Caption noise: [music], (applause), ♪ lyrics ♪, ">>" speaker changes; and words that are noise on their own
_NOISE = re.compile(r"\[[^\]]*\]|\([^)]*\)|♪[^♪]*♪|[♪♫♬]|>>+")
_NOISE_WORDS = {"music", "applause", "laughter", "silence", "inaudible", "crosstalk", "noise", "um", "uh", "er", "hmm",
                "mm"}
_FILLER = re.compile(r"^(?:(?:um+|uh+|er|hmm+)\b[,.]?\s*)+", re.I)
_DANGLING = {"a", "an", "the", "and", "or", "but", "of", "to", "for", "in", "on", "at", "by", "with", "from", "as",
             "that", "is", "are", "was", "our", "your", "this", "we", "i"}


def cue_title(text: str) -> str:
    """A transcript's title from its first cue: the cue itself when it is short, else its first sentence when
    that has 4 to 12 words, else its first clause of 8 to 12 words or its first 10 words, with "…". Empty
    when the cue is only noise ("[music]", "Um.")."""
    text = _FILLER.sub("", re.sub(r"\s+", " ", _NOISE.sub(" ", text)).strip())
    words = text.split()
    if not [w for w in words if re.sub(r"\W+", "", w.lower()) not in _NOISE_WORDS | {""}]:
        return ""
    cut = ""
    if len(words) > TITLE_WORDS:
        end = next((i for i in range(3, TITLE_WORDS) if words[i][-1] in ".?!"), None)
        if end is None:
            cut = "…"
            end = next((i for i in range(TITLE_WORDS - 1, 6, -1) if words[i][-1] in ",;:"), None)
        if end is None:  # no clause ends there: ten words, not ending on "the", "of" and the like
            end = 9
            while end > 4 and words[end].lower() in _DANGLING:
                end -= 1
        words = words[: end + 1]
    title = " ".join(words).rstrip(",;:. ").strip("\"“”'- ")
    return (title[:1].upper() + title[1:])[:120] + cut
