"""The `hrtp` commands that change the library: ingest, transcribe, remove (registered in kb/cli.py through the
`hrtp.commands` entry point)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from ingest.sync import remove_path, sync_paths
from kb.cli import open_kb
from kb.errors import KBError
from kb.settings import BUNDLED_CORPUS


def register(cli: click.Group) -> None:
    @cli.command()
    @click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
    @click.option("--json", "as_json", is_flag=True, help="Print one JSON report object.")
    @click.pass_context
    def ingest(ctx: click.Context, paths: tuple[Path, ...], as_json: bool) -> None:
        """Add, update or remove documents: PATHS are files or folders (default: the bundled corpus).

        Example: hrtp ingest ~/hrtp-docs
        """
        report = sync_paths(open_kb(ctx), list(paths) or [BUNDLED_CORPUS], progress=None if not as_json else False)
        if as_json:
            click.echo(json.dumps(report.to_json()))
        else:
            click.echo(
                f"{report.files_seen} files: {report.files_added} added, {report.files_updated} updated, "
                f"{report.files_unchanged} unchanged, {report.files_removed} removed, {len(report.files_failed)} failed; "
                f"{report.chunks_embedded} chunks embedded, {report.chunks_total} in the store ({report.seconds:.1f} s)"
                + (f"; {report.recordings_transcribed} recording(s) transcribed" if report.recordings_transcribed else "")
            )
            for f in report.files_failed:
                click.echo(f"  failed: {f.path}: {f.reason}", err=True)
        ctx.exit(report.exit_code)

    @cli.command()
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Where to write the WebVTT "
                  "(default: FILE's name with .vtt, beside it, where ingest takes it as the corrected transcript).")
    @click.pass_context
    def transcribe(ctx: click.Context, file: Path, out: Path | None) -> None:
        """Write a recording's timed transcript (WebVTT) for a person to correct. Kept with the store, so a
        recording transcribed before (by ingest too) is not transcribed again. Saved beside the recording under its
        name, a corrected transcript replaces the machine one at the next `hrtp ingest`.

        Example: hrtp transcribe webinar.mp4   (writes webinar.vtt)
        """
        from ingest import audio
        from ingest.sync import file_sha

        if not audio.is_recording(file):
            raise click.UsageError(f"{file} is not a recording; give one of {', '.join(audio.RECORDINGS)}")
        out = out or file.with_suffix(".vtt")
        if out.exists():
            raise click.UsageError(f"{out} exists (a corrected transcript?); delete it or give --out another file")
        transcriber = audio.Transcriber(ctx.obj)
        text, _ = audio.transcript_vtt(file.resolve(), file_sha(file), ctx.obj, transcriber)
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise click.UsageError(f"cannot write {out}: {exc.strerror or exc}") from None
        how = "transcribed" if transcriber.transcribed else "the transcript kept in the store"
        click.echo(f"wrote {out} ({how}, {text.count(' --> ')} cues); correct it, keep it beside the recording as "
                   f"{file.with_suffix('.vtt').name} and run `hrtp ingest {file}`", err=True)


    @cli.command()
    @click.argument("path")
    @click.pass_context
    def remove(ctx: click.Context, path: str) -> None:
        """Forget an ingested file (give the path as `hrtp status --json` or the library lists it)."""
        kb = open_kb(ctx)
        if not (remove_path(kb, path) or remove_path(kb, os.path.abspath(path))):
            raise KBError(f"{path} is not in the knowledge base; see `hrtp status`.")
        click.echo(f"removed {path}")
