"""Readable faces of eval results (one per eval set): a terminal table, report.md, report.json, a PNG chart.
Columns are `set/reader` for answers and `set/retriever` for retrieval."""

from __future__ import annotations

import json
from pathlib import Path

from evals.run import ANSWER_KEYS, RETRIEVAL_KEYS


def _columns(results: list[dict], part: str) -> list[tuple[str, dict]]:
    return [(f"{r['set']}/{name}", metrics) for r in results for name, metrics in r[part].items()]


def _grid(cols: list[tuple[str, dict]], keys: tuple[str, ...], sep: str = "") -> list[str]:
    width = max([20] + [len(c) + 2 for c, _ in cols])
    if sep:
        rows = [f"| metric | " + " | ".join(c for c, _ in cols) + " |", "|---|" + "---|" * len(cols)]
        rows += [f"| {k} | " + " | ".join(str(mx.get(k, "")) for _, mx in cols) + " |" for k in keys]
        return rows
    rows = [f"{'metric':<20}" + "".join(f"{c:>{width}}" for c, _ in cols)]
    rows += [f"{k:<20}" + "".join(f"{str(mx.get(k, '')):>{width}}" for _, mx in cols) for k in keys]
    return rows


def why(q: dict) -> str:
    if q["expect"] == "refuse":
        near = f" (near miss: {q['near_miss']})" if q.get("near_miss") else ""
        return "answered, but the materials do not say" + near + ": " + q["answer"][:160].replace("\n", " ")
    if q["refused"]:
        dropped = "; ".join(f"{d['reason']}" for d in q.get("dropped", [])[:2])
        return "refused, but the materials answer it" + (f" (dropped: {dropped})" if dropped else "")
    missing = f"missing facts: {', '.join(q['missing_facts'])}" if q["missing_facts"] else ""
    ungrounded = "" if q["groundedness"] == 1.0 else f" groundedness {q['groundedness']:.2f}"
    return (missing + ungrounded).strip() + " | answer: " + q["answer"][:160].replace("\n", " ")


def _failing(r: dict) -> list[dict]:
    return [q for q in r["per_question"] if not q["ok"]]


def table(results: list[dict]) -> str:
    rows = ["Answers (each reader with the hybrid retriever, as `hrtp ask` runs it)"]
    rows += _grid(_columns(results, "readers"), ANSWER_KEYS)
    rows += ["", "Retrieval (a passage is relevant when it holds an evidence quote)"]
    rows += _grid(_columns(results, "retrievers"), RETRIEVAL_KEYS)
    for r in results:
        failing = _failing(r)
        rows.append(f"\n{r['set']}: {len(failing)} of {len(r['per_question'])} questions failed with the "
                    f"{r['answer']['reader']} reader:")
        rows += [f"  {q['id']} [{q['kind']}] {q['question']}\n      {why(q)}" for q in failing]
    return "\n".join(rows)


def markdown(results: list[dict]) -> str:
    lines = ["# Evaluation report", "", "Sets: " + ", ".join(f"`{r['set']}` ({r['questions']})" for r in results), "",
             "## Answers", ""] + _grid(_columns(results, "readers"), ANSWER_KEYS, "|")
    lines += ["", "## Retrieval", ""] + _grid(_columns(results, "retrievers"), RETRIEVAL_KEYS, "|")
    for r in results:
        failing = _failing(r)
        lines.append(f"\n## Failing questions in {r['set']} ({len(failing)}, {r['answer']['reader']} reader)\n")
        lines += [f"- **{q['id']}** ({q['kind']}) {q['question']}: {why(q)}" for q in failing] or ["None."]
    return "\n".join(lines) + "\n"


def chart(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8))
    for ax, part, keys, title in (
        (left, "retrievers", RETRIEVAL_KEYS, "Retrieval (relevance from evidence quotes)"),
        (right, "readers", ("fact_recall", "citation_precision", "groundedness", "refusal_accuracy",
                            "false_refusal_rate"), "Answers (hybrid retrieval)"),
    ):
        cols = _columns(results, part)
        width = 0.8 / max(1, len(cols))
        for i, (name, mx) in enumerate(cols):
            ax.bar([x + i * width for x in range(len(keys))], [mx[k] for k in keys], width, label=name)
        ax.set_xticks([x + width * (len(cols) - 1) / 2 for x in range(len(keys))],
                      [k.replace("_", "\n") for k in keys], fontsize=8)
        ax.set_ylim(0, 1.05)
        ax.set_title(title)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(results: list[dict], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "report.json", out / "report.md", out / "chart.png"]
    paths[0].write_text(json.dumps({"sets": {r["set"]: r for r in results}}, indent=2))
    paths[1].write_text(markdown(results))
    chart(results, paths[2])
    return paths
