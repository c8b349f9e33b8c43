"""`hrtp chat` (registered in kb/cli.py through the `hrtp.commands` entry point), and its answers to `hrtp ask`
handed over by kb/handoff.py."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from kb.cli import open_kb

if TYPE_CHECKING:
    from kb.ask.pipeline import KnowledgeBase


def register(cli: click.Group) -> None:
    @cli.command()
    @click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind; 0.0.0.0 exposes the app.")
    @click.option("--port", default=7860, show_default=True, type=int)
    @click.option("--auth", envvar="HRTP_AUTH", help="USER:PASS turns on the login (env HRTP_AUTH).")
    @click.pass_context
    def chat(ctx: click.Context, host: str, port: int, auth: str | None) -> None:
        """Serve the chat app in the browser (ingest first; the store must not be empty).

        Example: hrtp chat --port 7860
        """
        import signal
        import time

        t = time.perf_counter()
        from chat.ui import launch
        from kb.handoff import serve_ask

        credentials = None
        if auth:
            user, sep, password = auth.partition(":")
            if not sep or not user or not password:
                raise click.UsageError("--auth must look like USER:PASS")
            credentials = (user, password)
        kb = open_kb(ctx, long_running=True, not_empty=True)
        ui = launch(kb, host=host, port=port, auth=credentials, block=False)  # the page first: Gradio alone takes 3 s
        served = time.perf_counter() - t
        t = time.perf_counter()
        reader = kb.reader  # then the language model, once; a question asked meanwhile waits for it
        llm = reader.llm
        model = f" with {llm.name}" if llm else ""
        loaded = time.perf_counter() - t
        resident = None
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # a service manager's stop still runs the clean-up
        try:  # everything after the handler inside: a stop right after the start-up line still removes the record
            resident = serve_ask(kb.settings, lambda request: answer_request(kb, request))  # `hrtp ask` on this store is answered here from now on
            handing = "answers `hrtp ask` on this store; " if resident else ""
            click.echo(f"HRTP chat on http://{host}:{port} (page up in {served:.1f} s; reader: {reader.name}{model}, "
                       f"loaded in {loaded:.1f} s; {handing}Ctrl+C to stop)")
            ui.block_thread()
        finally:
            if resident:
                resident.close()


def answer_request(kb: "KnowledgeBase", request: dict) -> tuple[int, dict]:
    """An `hrtp ask` handed to this chat (kb/handoff.py checked its token and settings): (HTTP status, body)."""
    from kb.ask.readers import registry
    from kb.ask.render import to_text
    from kb.errors import KBError

    question = request.get("question")
    if not isinstance(question, str):
        return 400, {"error": 'a "question" string is required'}
    docs = request.get("docs") or []
    if not isinstance(docs, list) or not all(isinstance(d, str) for d in docs):
        return 400, {"error": '"docs" must be a list of titles or paths'}
    name = request.get("reader") or kb.settings.reader
    if name not in registry.READERS:
        return 400, {"error": f"no reader named {name!r}"}
    try:
        reader = kb.reader if name == kb.settings.reader else kb.make_reader(name)
        answer = kb.ask(question, mode=request.get("retriever"), reader=reader, docs=docs or None)
    except (KBError, ValueError) as exc:
        return 422, {"error": str(exc)}
    return 200, {"answer": answer.to_json(), "text": to_text(answer)}
