"""Test doubles for what is slow or outside the project: a scripted language model behind the real `LLM`
interface, so the readers' judging, repair and refusal logic runs in milliseconds."""

from __future__ import annotations

from typing import Callable

from kb.llm import REFUSAL_PHRASE, Generation


class ScriptedLLM:
    """Answers each question from a script: the first key found in the question gives (text, p_refusal);
    anything else gets the refusal phrase. Every prompt it was given is kept in `prompts`."""

    name = "scripted"

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
