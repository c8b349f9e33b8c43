"""What a session brief is: per topic, cited key points, passages to read aloud, prompts for the room, and the
closest passages of a topic the materials do not cover. Built by kb/brief/build.py, printed by render.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kb.text.units import units
from kb.types import Passage, Source

NEAR_CHARS = 280  # how much of a closest passage an uncovered topic shows


@dataclass
class Point:
    text: str  # a claim; for a list, its lead-in line
    cites: tuple[int, ...]  # brief-wide source numbers
    quotes: tuple[str, ...] = ()  # the sentences of the cited passages that back it
    items: tuple[str, ...] = ()  # a list the materials give as a list: every item, in order

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "citations": list(self.cites), "quotes": list(self.quotes),
                "items": list(self.items)}


@dataclass
class Near:
    """One of the closest passages to a topic the materials do not cover."""

    title: str
    locator: str
    text: str  # the passage's opening, cut at a word
    path: str
    start: int
    end: int

    @classmethod
    def of(cls, p: Passage) -> "Near":
        c = p.chunk
        text = " ".join(u.text for u in units(c.text) if u.kind != "heading" and u.quotable)
        if len(text) > NEAR_CHARS:
            text = text[:NEAR_CHARS].rsplit(" ", 1)[0] + " …"
        return cls(c.title, c.locator, text, c.path, c.start, c.end)

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "locator": self.locator, "text": self.text, "source": self.path,
                "chars": [self.start, self.end]}


@dataclass
class ReadAloud:
    n: int  # the source it is
    title: str
    locator: str
    text: str  # the whole passage, verbatim

    def to_json(self) -> dict[str, Any]:
        return {"n": self.n, "title": self.title, "locator": self.locator, "text": self.text}


@dataclass
class Prompt:
    """A question for the room, not a statement of fact; `cites` are the sources it draws on."""

    text: str
    cites: tuple[int, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "citations": list(self.cites)}


@dataclass
class Topic:
    title: str
    covered: bool
    note: str = ""  # why a topic has no points
    reader: str = ""
    points: list[Point] = field(default_factory=list)
    read_aloud: list[ReadAloud] = field(default_factory=list)
    prompts: list[Prompt] = field(default_factory=list)
    closest: list[Near] = field(default_factory=list)  # an uncovered topic's nearest passages

    def to_json(self) -> dict[str, Any]:
        return {"topic": self.title, "covered": self.covered, "note": self.note, "reader": self.reader,
                "points": [p.to_json() for p in self.points], "read_aloud": [r.to_json() for r in self.read_aloud],
                "prompts": [p.to_json() for p in self.prompts], "closest": [n.to_json() for n in self.closest]}


@dataclass
class Brief:
    topics: list[Topic]
    sources: list[Source]
    reader: str
    title: str  # the domain's brief title (corpus/domain.toml)
    docs: list[str] = field(default_factory=list)  # the documents it draws on (stored paths); empty: all
    doc_titles: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "reader": self.reader, "topics": [t.to_json() for t in self.topics],
                "sources": [s.to_json() for s in self.sources], "docs": self.docs, "doc_titles": self.doc_titles}
