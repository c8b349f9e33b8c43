"""Readable faces of an eval result: a terminal table, report.md, report.json and a PNG chart."""

from __future__ import annotations

import json
from pathlib import Path

from evals.run import ANSWER_KEYS, RETRIEVAL_KEYS


def table(result: dict) -> str:
    modes = list(result["retrievers"])
    keys = RETRIEVAL_KEYS + ANSWER_KEYS + ("passed",)
    rows = [f"{'metric':<20}" + "".join(f"{m:>10}" for m in modes)]
    for k in keys:
        rows.append(f"{k:<20}" + "".join(f"{result['retrievers'][m][k]:>10}" for m in modes))
    failing = [q for q in result["per_question"] if not q["ok"]]
    rows.append(f"\nanswer metrics use the {result['answer']['retriever']} retriever (what `hrtp ask` uses); "
                f"{len(failing)} of {len(result['per_question'])} questions failed:")
    rows += [f"  {q['id']} [{q['kind']}] {q['question']}\n      {why(q)}" for q in failing]
    return "\n".join(rows)


def why(q: dict) -> str:
    if q["expect"] == "refuse":
        return "answered, but the materials do not say: " + q["answer"][:160].replace("\n", " ")
    if q["refused"]:
        return "refused, but the materials answer it"
    missing = f"missing facts: {', '.join(q['missing_facts'])}" if q["missing_facts"] else ""
    ungrounded = "" if q["groundedness"] == 1.0 else f" groundedness {q['groundedness']:.2f}"
    return (missing + ungrounded).strip() + " | answer: " + q["answer"][:160].replace("\n", " ")


def markdown(result: dict, questions: str) -> str:
    modes = list(result["retrievers"])
    lines = [f"# Evaluation report\n\nQuestions: `{questions}`; answer metrics from the "
             f"`{result['answer']['retriever']}` retriever.\n", "| metric | " + " | ".join(modes) + " |",
             "|---|" + "---|" * len(modes)]
    for k in RETRIEVAL_KEYS + ANSWER_KEYS + ("passed",):
        lines.append(f"| {k} | " + " | ".join(str(result["retrievers"][m][k]) for m in modes) + " |")
    failing = [q for q in result["per_question"] if not q["ok"]]
    lines.append(f"\n## Failing questions ({len(failing)})\n")
    lines += [f"- **{q['id']}** ({q['kind']}) {q['question']}: {why(q)}" for q in failing] or ["None."]
    return "\n".join(lines) + "\n"


def chart(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    modes = list(result["retrievers"])
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    width = 0.8 / len(modes)
    for i, mode in enumerate(modes):
        vals = [result["retrievers"][mode][k] for k in RETRIEVAL_KEYS]
        left.bar([x + i * width for x in range(len(RETRIEVAL_KEYS))], vals, width, label=mode)
    left.set_xticks([x + width * (len(modes) - 1) / 2 for x in range(len(RETRIEVAL_KEYS))], RETRIEVAL_KEYS)
    left.set_ylim(0, 1.05)
    left.set_title("Retrieval (relevance from evidence quotes)")
    left.legend()
    keys = ("fact_recall", "evidence_recall", "citation_precision", "groundedness", "refusal_accuracy",
            "false_refusal_rate")
    for i, mode in enumerate(modes):
        vals = [result["retrievers"][mode][k] for k in keys]
        right.bar([x + i * width for x in range(len(keys))], vals, width, label=mode)
    right.set_xticks([x + width * (len(modes) - 1) / 2 for x in range(len(keys))],
                     [k.replace("_", "\n") for k in keys], fontsize=8)
    right.set_ylim(0, 1.05)
    right.set_title("Answers (each retriever feeding the same answerer)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(result: dict, out: Path, questions: str) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "report.json", out / "report.md", out / "chart.png"]
    paths[0].write_text(json.dumps(result, indent=2))
    paths[1].write_text(markdown(result, questions))
    chart(result, paths[2])
    return paths
