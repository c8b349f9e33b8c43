"""The shapes that cross every boundary, and their JSON form.

`Answer.to_json()` is the contract evaluation scripts read (README, "JSON contract"); keep it stable.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any


def place(locator: str, section: str = "", text: str = "") -> str:
    """A locator for people ("p. 4", "§ Section", "01:10 (Ana Lopez)", or the passage's opening words), never
    character offsets: `locator` keeps those for JSON and scripts."""
    if locator.startswith("chars "):
        if section:
            return f"§ {section}"
        words = text.split()[:6]
        return f"“{' '.join(words)}…”" if words else "the whole document"
    m = re.match(r"00:(\d\d:\d\d)(.*)", locator)  # a transcript under an hour reads 12:34
    return m.group(1) + m.group(2) if m else locator


@dataclass(frozen=True)
class Chunk:
    """One indexed passage: an exact slice [start, end) of its document's cleaned text."""

    id: str
    text: str
    doc_sha: str
    path: str
    title: str
    section: str = ""
    start: int = 0
    end: int = 0
    page: int | None = None  # PDFs: the chunk's page (1-based); chunks never span pages
    timestamp: str | None = None  # transcripts: start of the first cue, HH:MM:SS
    speaker: str | None = None
    publisher: str = ""
    kind: str = ""
    url: str = ""  # where the document came from, when it says (a scraped page's `URL Source:` line)

    @property
    def locator(self) -> str:
        """Where a person finds the passage: its page, timestamp or section, else its opening words. Character
        offsets are for programs (`start`, `end`; "chars" in the JSON)."""
        if self.page is not None:
            return f"p. {self.page}"
        if self.timestamp:
            return f"{self.timestamp} ({self.speaker})" if self.speaker else self.timestamp
        if self.section:
            parts = self.section.split(" > ")
            if len(parts) > 1 and _letters(parts[0]) in (_letters(self.title), _letters(self.title.split(":")[0])):
                parts = parts[1:]  # the document's own title heading says again what the title says
            return "§ " + " > ".join(parts)
        return opening_words(self.text)

    @property
    def place(self) -> str:
        return place(self.locator, self.section, self.text)

    def embed_text(self) -> str:
        """What the encoder sees: the section heading gives a short passage its context. (The document title,
        shared by all of a document's chunks, made dense retrieval worse on both dev sets.)"""
        return f"{self.section}.\n{self.text}" if self.section else self.text

    def search_text(self) -> str:
        """What BM25 sees: the title too, since it names the program a passage is about ("ETD runs 612 buses"
        under "Eastshore Transit District")."""
        return f"{self.title}.\n{self.embed_text()}"

    def to_metadata(self) -> dict[str, Any]:
        meta = {k: v for k, v in asdict(self).items() if k not in {"id", "text"} and v is not None}
        return meta

    @classmethod
    def from_record(cls, id: str, text: str, meta: dict[str, Any]) -> "Chunk":
        known = {f for f in cls.__dataclass_fields__ if f not in {"id", "text"}}
        return cls(id=id, text=text, **{k: v for k, v in meta.items() if k in known})


def _letters(text: str) -> str:
    return re.sub(r"[\W_]+", "", text).lower()


def opening_words(text: str, n: int = 6) -> str:
    """“The first six words…” of a passage, without list or heading markers: a place to find it by."""
    words = re.sub(r"^[\s#•*>-]+", "", text).split()
    return "“" + " ".join(words[:n]) + ("…" if len(words) > n else "") + "”"


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its scores (dense cosine, BM25, fused)."""

    chunk: Chunk
    score: float
    dense: float = 0.0
    bm25: float = 0.0
    rank: int = 0


@dataclass(frozen=True)
class Source:
    """A numbered source of an answer: the passage a reader opens to check a claim."""

    n: int
    chunk_id: str
    path: str
    title: str
    locator: str
    text: str
    publisher: str = ""
    kind: str = ""
    section: str = ""
    quotes: tuple[str, ...] = ()  # the sentences of `text` the answer quotes (for highlighting)
    score: float = 0.0
    url: str = ""
    start: int = 0  # the passage's character offsets in its document's cleaned text
    end: int = 0

    @classmethod
    def from_passage(cls, n: int, p: "Passage", quotes: list[str] | tuple[str, ...] = ()) -> "Source":
        c = p.chunk
        return cls(n=n, chunk_id=c.id, path=c.path, title=c.title, locator=c.locator, text=c.text,
                   publisher=c.publisher, kind=c.kind, section=c.section, quotes=tuple(quotes), score=p.score,
                   url=c.url, start=c.start, end=c.end)

    @property
    def place(self) -> str:
        return place(self.locator, self.section, self.text)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Source":
        return cls(n=d["n"], chunk_id=d.get("chunk_id", ""), path=d.get("source", ""), title=d.get("title", ""),
                   locator=d.get("locator", ""), text=d.get("text", ""), publisher=d.get("publisher", ""),
                   section=d.get("section", ""), quotes=tuple(d.get("quotes", ())), url=d.get("url", ""))

    def to_json(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "source": self.path,
            "title": self.title,
            "locator": self.locator,
            "text": self.text,
            "publisher": self.publisher,
            "section": self.section,
            "quotes": list(self.quotes),
            "chunk_id": self.chunk_id,
            "url": self.url,
            "chars": [self.start, self.end],
        }


@dataclass(frozen=True)
class Dropped:
    """A sentence the checks removed from an answer, and why (a person reads the reason)."""

    text: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"text": self.text, "reason": self.reason}


@dataclass
class Draft:
    """What a reader returns: the answer text with its sources, before the pipeline adds timings."""

    text: str
    refused: bool
    sources: list[Source]
    reason: str = ""  # why it refused (for logs and the eval report)
    dropped: list[Dropped] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    reader: str = ""
    signals: dict[str, float] = field(default_factory=dict)  # answerability evidence, for calibration


@dataclass
class Answer:
    question: str
    text: str
    refused: bool
    sources: list[Source] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # milliseconds per stage
    retrieval_query: str = ""
    id: str | None = None
    reader: str = ""
    dropped: list[Dropped] = field(default_factory=list)  # Dropped: sentences the checks removed
    reason: str = ""  # why it refused, for a person checking the answer
    signals: dict[str, float] = field(default_factory=dict)  # answerability evidence (kb/ask/readers/llm.py)
    docs: list[str] = field(default_factory=list)  # the document filter (stored paths); empty: all documents

    @property
    def latency_ms(self) -> float:
        return round(self.timings.get("total", 0.0), 2)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "question": self.question,
            "answer": self.text,
            "refused": self.refused,
            "citations": [s.to_json() for s in self.sources],
            "latency_ms": self.latency_ms,
            "timings_ms": {k: round(v, 2) for k, v in self.timings.items()},
            "retrieval_query": self.retrieval_query,
            "reader": self.reader,
            "dropped": [d.to_json() for d in self.dropped],
        } | ({"refusal_reason": self.reason} if self.refused and self.reason else {}) | \
            ({"signals": {k: round(v, 4) for k, v in self.signals.items()}} if self.signals else {}) | \
            ({"docs": list(self.docs)} if self.docs else {})

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Answer":
        """The inverse of `to_json` (a kept conversation is reopened from it)."""
        return cls(d["question"], d["answer"], bool(d["refused"]), [Source.from_json(c) for c in d.get("citations", [])],
                   dict(d.get("timings_ms", {})), d.get("retrieval_query", ""), d.get("id"), d.get("reader", ""),
                   [Dropped(x["text"], x["reason"]) for x in d.get("dropped", [])], d.get("refusal_reason", ""),
                   dict(d.get("signals", {})), list(d.get("docs", [])))


@dataclass
class FileFailure:
    path: str
    reason: str


@dataclass
class IngestReport:
    files_seen: int = 0
    files_added: int = 0
    files_updated: int = 0
    files_unchanged: int = 0
    files_removed: int = 0
    files_failed: list[FileFailure] = field(default_factory=list)
    chunks_embedded: int = 0
    chunks_total: int = 0
    seconds: float = 0.0
    recordings_transcribed: int = 0  # by Whisper in this run; a recording whose transcript is kept counts 0

    @property
    def exit_code(self) -> int:
        if not self.files_failed:
            return 0
        ok = self.files_added + self.files_updated + self.files_unchanged
        return 1 if ok else 2

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["seconds"] = round(self.seconds, 3)
        return out
