"""`hrtp eval` (registered in kb/cli.py through the `hrtp.commands` entry point)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import click

from evals.sets import DEFAULT_SETS, EVAL_SETS
from kb.ask.readers.registry import NAMES as READERS
from kb.cli import open_kb

log = logging.getLogger("hrtp")


def register(cli: click.Group) -> None:
    @cli.command("eval")
    @click.option("--set", "sets", multiple=True, type=click.Choice(list(EVAL_SETS)),
                  help="A bundled eval set (repeatable); default: bundled-test and wild-test side by side.")
    @click.option("--corpus", type=click.Path(exists=True, file_okay=False, path_type=Path),
                  help="Evaluate on this folder, ingested into a temporary store (your store is not touched).")
    @click.option("--split", type=click.Choice(["dev", "test"]), default="test", show_default=True,
                  help="With --corpus DIR holding dev/ and test/ (like evals/wild): which split.")
    @click.option("--questions", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                  help="A question set (JSONL, format in evals/README.md); alone, it is run against your store.")
    @click.option("--reader", "readers", help="Readers to compare, comma-separated (e.g. extractive,llm); "
                  "default: the configured one.")
    @click.option("--json", "as_json", is_flag=True, help='Print {"sets": {name: result}} as JSON.')
    @click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Write report.json, report.md, chart.png.")
    @click.option("--llm-cache", type=click.Path(dir_okay=False, path_type=Path),
                  help="Reuse the model's earlier answers to identical prompts (to re-score verification quickly).")
    @click.pass_context
    def eval_(ctx: click.Context, sets: tuple[str, ...], corpus: Path | None, split: str, questions: Path | None,
              readers: str | None, as_json: bool, out: Path | None, llm_cache: Path | None) -> None:
        """Score answers (each reader) and retrievers (dense, bm25, hybrid) on question sets, through the same
        code as `ask`.

        Examples: hrtp eval; hrtp eval --corpus evals/wild --split dev --reader extractive,llm
        """
        from evals.report import table, write
        from evals.run import evaluate, make_readers, run
        from evals.sets import QuestionFileError, corpus_set, load_questions

        names = tuple(r.strip() for r in (readers or "").split(",") if r.strip())
        for name in names:
            if name not in READERS:
                raise click.UsageError(f"--reader takes {', '.join(READERS)}, not {name!r}")
        settings = ctx.obj
        try:
            if questions and not corpus and not sets:  # a question set against the user's own store
                rows = load_questions(questions)
                kb = open_kb(ctx, long_running=True, not_empty=True)
                result = run(kb, rows, make_readers(kb, names, llm_cache))
                results = [{"set": questions.stem, "corpus": kb.store.location, "questions": str(questions)} | result]
            else:
                chosen = [EVAL_SETS[s] for s in sets]
                if corpus:
                    chosen.append(corpus_set(corpus, questions, split))
                results = [evaluate(settings, s, names, llm_cache=llm_cache) for s in chosen or
                           [EVAL_SETS[s] for s in DEFAULT_SETS]]
        except QuestionFileError as exc:
            raise click.UsageError(str(exc)) from None
        if out:
            for p in write(results, out):
                log.info("wrote %s", p)
        click.echo(json.dumps({"sets": {r["set"]: r for r in results}}) if as_json else table(results))
