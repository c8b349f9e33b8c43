"""Conversations kept per store in SQLite (`<store>/conversations.sqlite3`, the standard library's sqlite3):
each answer as its `Answer.to_json()`, so a reopened conversation has its sources, and the JSON and Markdown
exports come from the same record. One connection per call: Gradio runs handlers in several threads."""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import closing
from pathlib import Path

from kb.ask.render import conversation_markdown
from kb.types import Answer

FILE = "conversations.sqlite3"
SCHEMA = """
CREATE TABLE IF NOT EXISTS conversation (id INTEGER PRIMARY KEY, title TEXT NOT NULL, created REAL NOT NULL,
                                         updated REAL NOT NULL);
CREATE TABLE IF NOT EXISTS turn (conversation INTEGER NOT NULL REFERENCES conversation(id) ON DELETE CASCADE,
                                 n INTEGER NOT NULL, answer TEXT NOT NULL, PRIMARY KEY (conversation, n));
"""


class Conversations:
    def __init__(self, store_dir: Path) -> None:
        self.path = store_dir / FILE
        store_dir.mkdir(parents=True, exist_ok=True)
        with closing(self._db()) as db:
            db.executescript(SCHEMA)

    def _db(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10)
        db.execute("PRAGMA foreign_keys = ON")
        return db

    def add(self, conversation: int | None, answer: Answer) -> int:
        """Append an answer; a new conversation (titled by its first question) when `conversation` is None
        or was deleted meanwhile. Returns the conversation's id."""
        now = time.time()
        with closing(self._db()) as db, db:
            if conversation is None or not db.execute("SELECT 1 FROM conversation WHERE id = ?", (conversation,)).fetchone():
                title = " ".join(answer.question.split())[:80] or "Untitled"
                conversation = db.execute("INSERT INTO conversation (title, created, updated) VALUES (?, ?, ?)",
                                          (title, now, now)).lastrowid
            n = db.execute("SELECT COUNT(*) FROM turn WHERE conversation = ?", (conversation,)).fetchone()[0]
            db.execute("INSERT INTO turn VALUES (?, ?, ?)", (conversation, n, json.dumps(answer.to_json())))
            db.execute("UPDATE conversation SET updated = ? WHERE id = ?", (now, conversation))
        return conversation

    def list(self) -> list[tuple[int, str, float]]:
        """(id, title, updated), the latest first."""
        with closing(self._db()) as db:
            return db.execute("SELECT id, title, updated FROM conversation ORDER BY updated DESC, id DESC").fetchall()

    def title(self, conversation: int) -> str:
        with closing(self._db()) as db:
            row = db.execute("SELECT title FROM conversation WHERE id = ?", (conversation,)).fetchone()
        return row[0] if row else ""

    def turns(self, conversation: int) -> list[Answer]:
        with closing(self._db()) as db:
            rows = db.execute("SELECT answer FROM turn WHERE conversation = ? ORDER BY n", (conversation,)).fetchall()
        return [Answer.from_json(json.loads(r[0])) for r in rows]

    def delete(self, conversation: int) -> None:
        with closing(self._db()) as db, db:
            db.execute("DELETE FROM conversation WHERE id = ?", (conversation,))

    def to_json(self, conversation: int) -> dict:
        return {"title": self.title(conversation), "turns": [a.to_json() for a in self.turns(conversation)]}

    def to_markdown(self, conversation: int) -> str:
        return conversation_markdown(self.turns(conversation), self.title(conversation))

    def export(self, conversation: int, folder: Path) -> tuple[str, str]:
        """The conversation as Markdown and as JSON files in `folder`, from the same record: (md, json) paths."""
        folder.mkdir(parents=True, exist_ok=True)
        md, js = folder / f"hrtp-conversation-{conversation}.md", folder / f"hrtp-conversation-{conversation}.json"
        md.write_text(self.to_markdown(conversation), encoding="utf-8")
        js.write_text(json.dumps(self.to_json(conversation), ensure_ascii=False, indent=2), encoding="utf-8")
        return str(md), str(js)
