"""Test doubles behind the project's own LLM interface (kb/models/llm.py), so logic around the model runs in
milliseconds: `ScriptedLLM` streams what a test's script says, a word at a time, as a local model does (what the
chat shows while a model writes); `KeyedLLM` answers each question from a table (the readers' judging, repair
and refusal logic)."""

from __future__ import annotations

import re
import time
from typing import Callable

from kb.models.llm import REFUSAL_PHRASE, Generation


def passages(prompt: str) -> dict[int, str]:
    """The numbered passages of the reader's last message."""
    body = prompt.rsplit("\n\nQuestion: ", 1)[0]
    return {int(m.group(1)): m.group(2) for m in re.finditer(r"^\[(\d+)\] [^\n]*\n(.*?)(?=\n\n\[\d+\] |\Z)", body, re.S | re.M)}


def best_sentence(question: str, prompt: str) -> str:
    """The passages' sentence sharing most words with the question, copied with its citation."""
    def words(text: str) -> set[str]:
        return {w[:6] for w in re.findall(r"[a-z]{4,}", text.lower())}  # "convenes" meets "convene"

    asked = words(question)
    found = [(len(asked & words(s)), n, s.strip()) for n, text in passages(prompt).items()
             for s in re.split(r"(?<=[.!?:])\s+|\n", text) if len(s.split()) > 5 and s.strip()[-1] in ".:"]
    _, n, sentence = max(found, key=lambda f: (f[0], -f[1]))
    return f"{sentence.rstrip('.:')} [{n}]."


class ScriptedLLM:
    name = "scripted"

    def __init__(self, script: Callable[[str, str], str], delay: float = 0.08) -> None:
        self.script = script  # (question, the reader's last message) -> the model's reply
        self.delay = delay

    def count_tokens(self, text: str) -> int:
        return len(text) // 4 + 1

    def generate(self, messages: list[dict], *, max_tokens: int, on_text=None) -> Generation:
        prompt = messages[-1]["content"]
        text = self.script(prompt.rsplit("Question: ", 1)[-1].strip(), prompt)
        for piece in re.findall(r"\S+\s*", text):
            if on_text:
                on_text(piece)
            time.sleep(self.delay)
        return Generation(text, None)


class KeyedLLM:
    """Answers each question from a script: the first key found in the question gives (text, p_refusal);
    anything else gets the refusal phrase. Every prompt it was given is kept in `prompts`."""

    name = "keyed"

    def __init__(self, script: dict[str, tuple[str, float]]) -> None:
        self.script = script
        self.prompts: list[list[dict]] = []

    def generate(self, messages: list[dict], *, max_tokens: int,
                 on_text: Callable[[str], None] | None = None) -> Generation:
        self.prompts.append(messages)
        question = messages[-1]["content"].rsplit("Question:", 1)[-1].lower()
        text, p = next((v for k, v in self.script.items() if k.lower() in question), (REFUSAL_PHRASE, 0.9))
        if on_text:
            on_text(text)
        return Generation(text, p)

    def count_tokens(self, text: str) -> int:
        return len(text.split()) * 4 // 3 + 1
