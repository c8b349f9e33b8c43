"""A disk cache of a language model's answers, for evaluation only: re-scoring a change to verification or
answerability must not wait for the model again. Keyed by the model's name (and llama.cpp build) and the
exact messages; decoding is greedy, so a cached answer is the answer the model would give. Latencies are the
ones first measured."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from pathlib import Path

from kb.models.llm import LLM, Generation


class CachedLLM:
    def __init__(self, llm: LLM, path: Path) -> None:
        self.llm = llm
        self.name = llm.name
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._db.execute("create table if not exists gen (key text primary key, value text)")
        self._lock = threading.Lock()

    def count_tokens(self, text: str) -> int:
        return self.llm.count_tokens(text)

    def generate(self, messages: list[dict], *, max_tokens: int, on_text=None) -> Generation:
        # A local model's answers also depend on the llama.cpp build (its kernels round differently).
        model = [self.name, build] if (build := getattr(self.llm, "build", None)) else self.name
        key = hashlib.sha256(json.dumps([model, max_tokens, messages], sort_keys=True).encode()).hexdigest()
        with self._lock:
            row = self._db.execute("select value from gen where key = ?", (key,)).fetchone()
        if row:
            saved = json.loads(row[0])
            gen = Generation(saved["text"], saved["p_refusal"])
            if on_text:
                on_text(gen.text)
            return gen
        gen = self.llm.generate(messages, max_tokens=max_tokens, on_text=on_text)
        with self._lock:
            self._db.execute("insert or replace into gen values (?, ?)", (key, json.dumps(gen.__dict__)))
            self._db.commit()
        return gen
