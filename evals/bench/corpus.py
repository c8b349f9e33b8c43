"""A scale corpus from real text: the bundled HRTP documents, then Debian's own documentation in
/usr/share/doc (plain-text README/copyright/.txt/.md files and gzipped changelogs and READMEs), cut into
paragraphs of 60-95 words, ten to a file. Past the end of the source it repeats with the sentences of each
paragraph rotated, so no two chunks are identical.

`pdfs()` adds the real PDF manuals of /usr/share/doc (gzipped ones unpacked) to the ingest-throughput run, so
that pypdf's extraction is part of what the pipeline must hide behind the encoder."""

from __future__ import annotations

import gzip
import re
from pathlib import Path
from typing import Iterator

from kb.settings import BUNDLED_CORPUS

DOC = Path("/usr/share/doc")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_TEXT = re.compile(r"(README|copyright|changelog|NEWS|\.txt|\.md)", re.I)


def _sources() -> Iterator[str]:
    for f in sorted(BUNDLED_CORPUS.glob("*.txt")):
        yield f.read_text(encoding="utf-8")
    for f in sorted(DOC.rglob("*")):
        if not f.is_file() or f.is_symlink() or not _TEXT.search(f.name):
            continue
        try:
            data = gzip.open(f).read() if f.suffix == ".gz" else f.read_bytes()
            yield data.decode("utf-8")
        except (OSError, UnicodeDecodeError, EOFError):
            continue


def paragraphs() -> Iterator[str]:
    """Distinct paragraphs of 60-95 words; short neighbours are joined, long ones cut. Repeats (the same
    licence text in many packages' copyright files) are skipped: ingest would index them once, and the
    corpus would fall short of its chunk count."""
    seen: set[str] = set()
    for text in _sources():
        buf: list[str] = []
        for para in re.split(r"\n\s*\n", text):
            words = para.split()
            if len(words) < 5 or sum(w.isalpha() for w in words) < len(words) * 0.6 or _CONTROL.search(para):
                continue  # tables, signatures, code; man-page text with terminal escapes
            buf += words
            while len(buf) >= 60:
                para_text = " ".join(buf[:95])
                buf = buf[95:]
                if para_text not in seen:
                    seen.add(para_text)
                    yield para_text


def _rotate(p: str, k: int) -> str:
    s = re.split(r"(?<=[.!?])\s+", p)
    k %= max(len(s), 1)
    return " ".join(s[k:] + s[:k]) + f" (variant {k})"


def build(n: int, out: Path, per_file: int = 10) -> Path:
    """`out` holds about `n` chunks' worth of paragraphs in n/per_file files (kept if already built)."""
    done = out / ".complete"
    if done.exists():
        return out
    out.mkdir(parents=True, exist_ok=True)
    source = list(_take(paragraphs(), n))
    paras = [source[i % len(source)] if i < len(source) else _rotate(source[i % len(source)], i // len(source))
             for i in range(n)]
    for f in range(0, n, per_file):
        (out / f"doc_{f // per_file:06d}.txt").write_text("\n\n".join(paras[f : f + per_file]), encoding="utf-8")
    done.write_text(str(n))
    return out


def pdfs(out: Path, count: int) -> Path:
    """`out` holds the `count` shortest PDF manuals of /usr/share/doc (gzipped ones unpacked)."""
    import io
    import shutil

    import pypdf

    found: list[tuple[int, str, bytes]] = []
    for f in sorted(DOC.rglob("*.pdf")) + sorted(DOC.rglob("*.pdf.gz")):
        try:
            data = gzip.open(f).read() if f.suffix == ".gz" else f.read_bytes()
            found.append((len(pypdf.PdfReader(io.BytesIO(data)).pages), f.name.removesuffix(".gz"), data))
        except Exception:  # noqa: BLE001 - a damaged system PDF is simply not used
            continue
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    for _, name, data in sorted(found)[:count]:
        (out / name).write_bytes(data)
    return out


def _take(it: Iterator[str], n: int) -> Iterator[str]:
    for i, x in enumerate(it):
        if i >= n:
            return
        yield x
