"""What the model is shown: the instructions and examples of the answer prompt, the passages fitted to its token
budget (`fit_passages`, shared with the session brief) and each passage's heading."""

from __future__ import annotations

import re

import numpy as np

from kb.models.embedder import Embedder
from kb.models.llm import LLM, REFUSAL_PHRASE
from kb.text.units import readable, units
from kb.types import Passage

SYSTEM = f"""You answer questions from staff of workforce training partnerships, using only the numbered passages in the last message. The passages are excerpts of documents.
Rules:
- Answer in one to three complete sentences that say what the question asks about, like "The application deadline is May 3, 2024 [1]." For a list, write one item per line starting with "- ".
- End every sentence and every list item with the number of the passage it comes from, like [2].
- Copy names, numbers, amounts and dates exactly as the passage writes them.
- Say only what a passage states. If no passage states the answer to exactly what is asked, reply with exactly: {REFUSAL_PHRASE}"""

# Examples written for this prompt: fictional programs that appear in no corpus and no question set.
EXAMPLES = [
    ("""[1] Harbor Kitchen Partnership: Program facts
Cohort size: 24 trainees
The 12-week course starts each March and September. Graduates earn at least $21.50 an hour at partner hotels.

[2] Harbor Kitchen Partnership: History
The partnership was founded in 2019 by the culinary workers' union and four downtown hotels.

Question: How long is the course, and what do graduates earn?""",
     "The Harbor Kitchen course lasts 12 weeks [1]. Its graduates earn at least $21.50 an hour at partner hotels [1]."),
    ("""[1] Coastal Care Partnership: Agreement
Each partner signs the agreement, which sets out:
• Composition: two clinics, the home care workers' union and a community college.
• Commitment: every partner stays for at least three years.

Question: what does the partnership agreement cover?""",
     "The Coastal Care Partnership agreement covers:\n"
     "- Composition: two clinics, the home care workers' union and a community college [1]\n"
     "- Commitment: every partner stays for at least three years [1]"),
    ("""[1] Metro Trades Fund: Round 2 solicitation
Total funding available: $3,000,000
Applicants must be a partnership of at least one employer and one labor organization.

Question: What is the largest grant a single applicant can get?""", REFUSAL_PHRASE),
]


def fit_passages(llm: LLM, embedder: Embedder, qvec: np.ndarray, passages: list[Passage], budget: int,
                 k: int) -> list[tuple[Passage, str]]:
    """The first `k` passages in rank order while `budget` tokens last. A passage longer than its share (the
    first one's is double) gives the units closest to the question, in document order, so lower-ranked
    passages still fit."""
    k = min(len(passages), k)
    share = max(60, budget // (k + 1))
    shown: list[tuple[Passage, str]] = []
    for rank, p in enumerate(passages[:k]):
        cap = min(budget, share * (2 if rank == 0 else 1))
        text = readable(p.chunk.text)
        cost = llm.count_tokens(text) + 12
        if cost > cap:
            text = _closest_units(llm, embedder, p, qvec, cap - 12)
            cost = llm.count_tokens(text) + 12
        if not text or cost > budget:
            break
        shown.append((p, text))
        budget -= cost
    return shown or [(passages[0], readable(passages[0].chunk.text))]


def _closest_units(llm: LLM, embedder: Embedder, p: Passage, qvec: np.ndarray, budget: int) -> str:
    us = [u for u in units(p.chunk.text) if u.quotable]
    if not us:
        return ""
    sims = embedder.vectors([u.text for u in us]) @ qvec
    chosen, spent = [], 0
    for i in np.argsort(-sims):
        cost = llm.count_tokens(us[i].text) + 2
        if spent + cost > budget:
            continue
        chosen.append(int(i))
        spent += cost
    lines: list[str] = []
    prev = -1
    for i in sorted(chosen):
        if lines and us[i].line == us[prev].line:
            lines[-1] += " " + us[i].text
        else:
            lines.append(("• " if us[i].kind == "item" else "") + us[i].text)
        prev = i
    return "\n".join(lines)


def prompt_messages(question: str, shown: list[tuple[Passage, str]], history: list[dict] | None) -> list[dict]:
    """The chat messages for the model: instructions, the examples, the last turns, the passages, the question."""
    msgs = [{"role": "system", "content": SYSTEM}]
    for user, assistant in EXAMPLES:
        msgs += [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
    for turn in (history or [])[-4:]:
        if turn.get("role") in ("user", "assistant") and isinstance(turn.get("content"), str):
            msgs.append({"role": turn["role"], "content": re.sub(r"\s*\[\d+\]", "", turn["content"])[:1200]})
    blocks = [f"[{i}] {heading(p)}\n{text}" for i, (p, text) in enumerate(shown, 1)]
    msgs.append({"role": "user", "content": "\n\n".join(blocks) + f"\n\nQuestion: {question}"})
    return msgs


def heading(p: Passage) -> str:
    """A passage's heading in the prompt: its document title and section (or page or time)."""
    c = p.chunk
    where = c.section or (c.locator if c.page is not None or c.timestamp else "")
    return f"{c.title}: {where}" if where else c.title
