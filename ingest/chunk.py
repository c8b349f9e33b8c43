"""Structure-aware chunking with stable, content-derived ids.

The cleaned segments of a document are joined into one text; every chunk is an exact slice of it
([start, end) offsets), so a sentence quoted from a chunk is a sentence of the document.
Blocks are paragraphs, bullet items and headings (Markdown `#`, an ALL-CAPS line, or a short title-like line
standing alone). A heading opens a new chunk and names the section of what follows; a list stays with the
line that introduces it; a paragraph longer than a chunk is cut between sentences.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from ingest.load import Segment
from kb.text.sentences import sentence_spans
from kb.text.lines import heading_level, heading_text, is_item, is_key_value
from kb.types import Chunk

SEP = "\n\n"


@dataclass
class Block:
    start: int
    end: int
    kind: str  # "heading" | "bullet" | "para"
    level: int = 0
    words: int = 0


def join_segments(segments: list[Segment]) -> tuple[str, list[tuple[int, int, Segment]]]:
    """The document text and each segment's [start, end) span in it."""
    parts, spans, pos = [], [], 0
    for seg in segments:
        if not seg.text:
            continue
        if parts:
            pos += len(SEP)
        spans.append((pos, pos + len(seg.text), seg))
        parts.append(seg.text)
        pos += len(seg.text)
    return SEP.join(parts), spans


def blocks_of(text: str, headings: bool = True) -> list[Block]:
    """Every non-empty line is a block: cleaning already unwrapped the line breaks inside sentences. List
    items, numbered items and runs of `Label: value` lines are all "bullet" blocks: a list stays together."""
    out: list[Block] = []
    pos = 0
    lines = text.split("\n")
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped:
            level = heading_level(lines, i) if headings else 0
            kind = "heading" if level else "bullet" if is_item(stripped) or is_key_value(stripped) else "para"
            out.append(Block(pos, pos + len(line), kind, level, len(stripped.split())))
        pos += len(line) + 1
    return out


def chunk_text(text: str, max_words: int, headings: bool = True,
               stack: list[tuple[int, str]] | None = None) -> list[tuple[int, int, str]]:
    """[(start, end, section)] covering every block of `text`, in order. `stack` (the open headings) is read
    and updated in place, so a heading on one page still names the sections on the next."""
    out: list[tuple[int, int, str]] = []
    stack = [] if stack is None else stack
    cur: list[Block] = []
    cur_section = " > ".join(t for _, t in stack)

    def flush() -> None:
        nonlocal cur
        if cur:
            out.append((cur[0].start, cur[-1].end, cur_section))
        cur = []

    for b in blocks_of(text, headings):
        if b.kind == "heading":
            if not (cur and all(x.kind == "heading" for x in cur)):
                flush()
            title = heading_text(text[b.start : b.end])
            stack[:] = [(lvl, t) for lvl, t in stack if lvl < b.level] + [(b.level, title)]
            cur_section = " > ".join(t for _, t in stack)
            cur.append(b)
            continue
        size = sum(x.words for x in cur)
        in_list = b.kind == "bullet" and cur and (cur[-1].kind == "bullet" or text[cur[-1].end - 1] == ":")
        limit = max_words * 2 if in_list else max_words
        if cur and size + b.words > limit and not all(x.kind == "heading" for x in cur):
            flush()
        if b.words > max_words:
            for s, e in _split_long(text, b, max_words):
                cur.append(Block(s, e, b.kind, words=len(text[s:e].split())))
                flush()
        else:
            cur.append(b)
    flush()
    return out


def _split_long(text: str, b: Block, max_words: int) -> list[tuple[int, int]]:
    pieces: list[tuple[int, int]] = []
    start, words = None, 0
    for s, e in sentence_spans(text[b.start : b.end]):
        n = len(text[b.start + s : b.start + e].split())
        if start is not None and words + n > max_words:
            pieces.append((start, last))
            start, words = None, 0
        if start is None:
            start = b.start + s
        words += n
        last = b.start + e
    if start is not None:
        pieces.append((start, last))
    return pieces or [(b.start, b.end)]


class Chunker:
    """Chunks a document one segment at a time (a page, a transcript turn, a block of a long text file), so
    a document never has to be in memory whole. Offsets are in the text `join_segments` would build."""

    def __init__(self, *, doc_sha: str, path: str, title: str, publisher: str = "", kind: str = "", url: str = "",
                 max_words: int = 160, headings: bool = True) -> None:
        self.meta = dict(doc_sha=doc_sha, path=path, title=title, publisher=publisher, kind=kind, url=url)
        self.max_words, self.headings = max_words, headings
        self.offset = 0
        self.stack: list[tuple[int, str]] = []
        self.started = False

    def feed(self, seg: Segment) -> list[Chunk]:
        if not seg.text:
            return []
        if self.started:
            self.offset += len(SEP)
        self.started = True
        base, text = self.offset, seg.text
        self.offset += len(text)
        out = []
        for start, end, section in chunk_text(text, self.max_words, self.headings, self.stack):
            body = text[start:end]
            start, end = base + start, base + end
            cid = hashlib.sha256(f"{self.meta['doc_sha']}:{start}:{body}".encode()).hexdigest()[:32]
            out.append(Chunk(id=cid, text=body, section=section, start=start, end=end, page=seg.page,
                             timestamp=seg.timestamp, speaker=seg.speaker, **self.meta))
        return out


def chunk_document(segments: list[Segment], **kwargs) -> tuple[str, list[Chunk]]:
    """The whole document's text and its chunks (for callers that have every segment at hand)."""
    chunker = Chunker(**kwargs)
    chunks = [c for seg in segments for c in chunker.feed(seg)]
    return join_segments(segments)[0], chunks
