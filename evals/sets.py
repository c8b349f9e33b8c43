"""Eval sets: a corpus and the questions about it. Light to import (the CLI lists them in --help)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from kb.settings import BUNDLED_CORPUS

HERE = Path(__file__).parent
DEV, TEST = HERE / "questions_dev.jsonl", HERE / "questions_test.jsonl"
WILD = HERE / "wild"


class QuestionFileError(ValueError):
    pass


@dataclass(frozen=True)
class EvalSet:
    name: str
    corpus: Path
    questions: Path


EVAL_SETS = {s.name: s for s in (
    EvalSet("bundled-dev", BUNDLED_CORPUS, DEV),
    EvalSet("bundled-test", BUNDLED_CORPUS, TEST),
    EvalSet("wild-dev", WILD / "dev", WILD / "questions_dev.jsonl"),
    EvalSet("wild-test", WILD / "test", WILD / "questions_test.jsonl"),
)}
DEFAULT_SETS = ("bundled-test", "wild-test")


def corpus_set(corpus: Path, questions: Path | None, split: str) -> EvalSet:
    """An eval set from a folder: either a corpus root with `<split>/` documents and `questions_<split>.jsonl`
    (like evals/wild), or a folder of documents with the questions given."""
    if questions is None and (corpus / split).is_dir() and (corpus / f"questions_{split}.jsonl").is_file():
        return EvalSet(f"{corpus.name}-{split}", corpus / split, corpus / f"questions_{split}.jsonl")
    if questions is None:
        raise QuestionFileError(f"{corpus} has no {split}/ folder with questions_{split}.jsonl beside it; "
                                "give --questions FILE")
    return EvalSet(corpus.name, corpus, questions)


def load_questions(path: Path) -> list[dict]:
    rows = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise QuestionFileError(f"{path}:{i}: not JSON ({exc.msg})") from exc
        if not isinstance(row, dict) or not isinstance(row.get("question"), str) or row.get("expect") not in ("answer", "refuse"):
            raise QuestionFileError(f'{path}:{i}: needs "question" and "expect": "answer"|"refuse"')
        row.setdefault("id", f"line{i}")
        rows.append(row)
    return rows
