"""Thumbs up/down with an optional comment, appended to `<store>/feedback.jsonl`."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

_LOCK = threading.Lock()


def record(store_dir: Path, answer: dict, vote: str, comment: str = "") -> dict:
    entry = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "question": answer.get("question", ""),
        "answer": answer.get("answer", ""),
        "refused": answer.get("refused"),
        "citations": [{k: c.get(k) for k in ("n", "title", "locator", "source")} for c in answer.get("citations", [])],
        "vote": vote,
        "comment": comment.strip(),
    }
    store_dir.mkdir(parents=True, exist_ok=True)
    with _LOCK, (store_dir / "feedback.jsonl").open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
    return entry
