"""The `hrtp` command: a thin face over kb.engine. Domain errors become one line on stderr and an exit code.

Exit codes: 0 ok; 1 some inputs failed (ingest: some files; ask --questions: some lines); 2 usage error or
nothing could be done; 130 interrupted.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import click

from kb.errors import KBError
from kb.settings import BUNDLED_CORPUS, Settings
from kb.render import to_text

log = logging.getLogger("hrtp")


def _setup_logging(verbose: int) -> None:
    level = logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    for noisy in ("sentence_transformers", "bm25s", "chromadb", "httpx", "transformers", "urllib3"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


class _Group(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except KBError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--store", type=click.Path(file_okay=False, path_type=Path), envvar="HRTP_STORE",
              help="Store directory (default .hrtp under the working directory; env HRTP_STORE).")
@click.option("--chroma-url", envvar="HRTP_CHROMA_URL", help="Use a Chroma server, e.g. http://127.0.0.1:8000.")
@click.option("--model", "model_path", envvar="HRTP_MODEL", help="A local sentence-transformers model folder.")
@click.option("-v", "--verbose", count=True, help="-v for progress logs, -vv for debug.")
@click.pass_context
def main(ctx: click.Context, store: Path | None, chroma_url: str | None, model_path: str | None, verbose: int) -> None:
    """hrtp: a knowledge base and cited-answer chatbot over High Road Training Partnership materials."""
    _setup_logging(verbose)
    ctx.obj = Settings.from_env(store_dir=store, chroma_url=chroma_url, model_path=model_path)


def _kb(ctx: click.Context):
    from kb.engine import KnowledgeBase

    return KnowledgeBase(ctx.obj)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON report object.")
@click.pass_context
def ingest(ctx: click.Context, paths: tuple[Path, ...], as_json: bool) -> None:
    """Add, update or remove documents: PATHS are files or folders (default: the bundled corpus).

    Example: hrtp ingest ~/hrtp-docs
    """
    report = _kb(ctx).ingest(list(paths) or [BUNDLED_CORPUS], progress=None if not as_json else False)
    if as_json:
        click.echo(json.dumps(report.to_json()))
    else:
        click.echo(
            f"{report.files_seen} files: {report.files_added} added, {report.files_updated} updated, "
            f"{report.files_unchanged} unchanged, {report.files_removed} removed, {len(report.files_failed)} failed; "
            f"{report.chunks_embedded} chunks embedded, {report.chunks_total} in the store ({report.seconds:.1f} s)"
        )
        for f in report.files_failed:
            click.echo(f"  failed: {f.path}: {f.reason}", err=True)
    ctx.exit(report.exit_code)


@main.command()
@click.argument("question", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the contract in the README).")
@click.option("--questions", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help='A JSONL file, one {"id"?, "question", "history"?} per line; prints one JSON object per line.')
@click.option("--retriever", type=click.Choice(["hybrid", "dense", "bm25"]), help="Which retriever (default hybrid).")
@click.pass_context
def ask(ctx: click.Context, question: str | None, as_json: bool, questions: Path | None, retriever: str | None) -> None:
    """Answer a question from the materials, with numbered, verified citations.

    Example: hrtp ask "What are WED's four key principles?"
    """
    if bool(question) == bool(questions):
        raise click.UsageError("give either a QUESTION or --questions FILE")
    kb = _kb(ctx)
    if question:
        answer = kb.ask(question, mode=retriever)
        click.echo(json.dumps(answer.to_json()) if as_json else to_text(answer))
        return
    failed = 0
    with questions.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                if not isinstance(item, dict) or not isinstance(item.get("question"), str):
                    raise ValueError('each line needs a "question" string')
                answer = kb.ask(item["question"], item.get("history") or [], mode=retriever, id=item.get("id"))
                click.echo(json.dumps(answer.to_json()))
            except ValueError as exc:
                failed += 1
                click.echo(json.dumps({"id": None, "line": lineno, "error": f"{questions}:{lineno}: {exc}"}))
    ctx.exit(1 if failed else 0)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind; 0.0.0.0 exposes the app.")
@click.option("--port", default=7860, show_default=True, type=int)
@click.option("--auth", envvar="HRTP_AUTH", help="USER:PASS turns on the login (env HRTP_AUTH).")
@click.pass_context
def chat(ctx: click.Context, host: str, port: int, auth: str | None) -> None:
    """Serve the chat app in the browser (ingest first; the store must not be empty).

    Example: hrtp chat --port 7860
    """
    from chat.ui import launch

    credentials = None
    if auth:
        user, sep, password = auth.partition(":")
        if not sep or not user or not password:
            raise click.UsageError("--auth must look like USER:PASS")
        credentials = (user, password)
    kb = _kb(ctx)
    if kb.store.count() == 0:
        from kb.errors import EmptyStoreError

        raise EmptyStoreError(kb.store.location)
    click.echo(f"HRTP chat on http://{host}:{port} (Ctrl+C to stop)")
    launch(kb, host=host, port=port, auth=credentials)


@main.command("eval")
@click.option("--questions", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A question set (JSONL, format in evals/README.md); default: the bundled test part.")
@click.option("--json", "as_json", is_flag=True, help="Print {retrievers, answer, per_question} as JSON.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Write report.json, report.md, chart.png.")
@click.pass_context
def eval_(ctx: click.Context, questions: Path | None, as_json: bool, out: Path | None) -> None:
    """Score answers and retrievers (dense, bm25, hybrid) on a question set, through the same code as `ask`.

    Example: hrtp eval --out reports/
    """
    from evals.report import table, write
    from evals.run import TEST, QuestionFileError, load_questions, run

    path = questions or TEST
    try:
        rows = load_questions(path)
    except QuestionFileError as exc:
        raise click.UsageError(str(exc)) from None
    kb = _kb(ctx)
    if kb.store.count() == 0:
        from kb.errors import EmptyStoreError

        raise EmptyStoreError(kb.store.location)
    result = run(kb, rows)
    if out:
        for p in write(result, out, str(path)):
            log.info("wrote %s", p)
    click.echo(json.dumps(result) if as_json else table(result))


@main.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Show the store, the model and what is indexed."""
    info = _kb(ctx).status()
    if as_json:
        click.echo(json.dumps(info))
        return
    click.echo(f"store:     {info['store']} ({info['backend']})\nmodel:     {info['model']}")
    click.echo(f"documents: {info['documents']} ({info['files']} files)\nchunks:    {info['chunks']}")
    for t in info["titles"]:
        click.echo(f"  - {t}")


@main.command()
@click.argument("path")
@click.pass_context
def remove(ctx: click.Context, path: str) -> None:
    """Forget an ingested file (give the path as `hrtp status --json` or the library lists it)."""
    import os

    kb = _kb(ctx)
    if not (kb.remove(path) or kb.remove(os.path.abspath(path))):
        raise KBError(f"{path} is not in the knowledge base; see `hrtp status`.")
    click.echo(f"removed {path}")


if __name__ == "__main__":  # pragma: no cover
    main()
