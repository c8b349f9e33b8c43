"""Plain renderings of an `Answer` shared by every face: terminal text (CLI), Markdown (export, chat API)."""

from __future__ import annotations

import textwrap

from kb.types import Answer, Source


def _excerpt(s: Source, limit: int = 300) -> str:
    body = " ... ".join(s.quotes) if s.quotes else (s.text[:limit] + ("..." if len(s.text) > limit else ""))
    return " ".join(body.split())


def to_text(answer: Answer) -> str:
    """The answer, then each numbered source with its title, locator and the quoted passage."""
    out = [answer.text, "", "Closest sources:" if answer.refused else "Sources:"]
    if answer.docs:  # a document filter: say where the answer was looked for
        out.insert(1, "(searched only: " + "; ".join(p.rsplit("/", 1)[-1] for p in answer.docs) + ")")
    for s in answer.sources:
        out.append(f"[{s.n}] {s.title} ({s.place})")
        out.append(textwrap.indent(textwrap.fill(f'"{_excerpt(s)}"', 100), "    "))
    return "\n".join(out)


def to_markdown(answer: Answer) -> str:
    """The answer with its citations written out, as Markdown."""
    heading = "**Closest sources** (the materials don't answer this):" if answer.refused else "**Sources:**"
    lines = [answer.text, "", heading]
    for s in answer.sources:
        publisher = f", {s.publisher}" if s.publisher else ""
        lines.append(f"{s.n}. *{s.title}*{publisher} ({s.place}): \"{_excerpt(s)}\"")
    return "\n".join(lines)


def conversation_markdown(turns: list[Answer], title: str = "HRTP knowledge base conversation") -> str:
    parts = [f"# {title}", ""]
    for a in turns:
        parts += [f"## Q: {a.question}", "", to_markdown(a), ""]
    return "\n".join(parts)
