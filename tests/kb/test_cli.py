"""The `hrtp` command through its real entry point: JSON contracts, exit codes, one-line errors."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from kb.cli import main

HRTP = str(Path(sys.executable).parent / "hrtp")


@pytest.fixture
def run(tmp_path):
    store = tmp_path / "clistore"

    def invoke(*args: str):
        return CliRunner().invoke(main, ["--store", str(store), *args], catch_exceptions=False)

    return invoke


def test_console_script_ingests_and_answers_in_json(tmp_path):
    env_store = str(tmp_path / "s")
    ingest = subprocess.run([HRTP, "--store", env_store, "ingest", "--json"], capture_output=True, text=True, timeout=300)
    assert ingest.returncode == 0, ingest.stderr
    report = json.loads(ingest.stdout)
    assert report["files_added"] == 3 and report["chunks_embedded"] == report["chunks_total"] > 0
    assert set(report) == {"files_seen", "files_added", "files_updated", "files_unchanged", "files_removed",
                           "files_failed", "chunks_embedded", "chunks_total", "seconds", "recordings_transcribed"}
    ask = subprocess.run([HRTP, "--store", env_store, "ask", "--json", "What are WED's four key principles?"],
                         capture_output=True, text=True, timeout=300)
    assert ask.returncode == 0, ask.stderr
    answer = json.loads(ask.stdout)
    assert answer["refused"] is False and "Worker Centered" in answer["answer"]
    assert "Traceback" not in ask.stderr


def test_reingest_embeds_nothing_and_status_reports_the_corpus(run):
    assert run("ingest", "--json").exit_code == 0
    again = json.loads(run("ingest", "--json").output)
    assert again["chunks_embedded"] == 0 and again["files_unchanged"] == 3
    status = json.loads(run("status", "--json").output)
    assert status["documents"] == 3 and status["chunks"] == again["chunks_total"]
    assert "Championing High Road Partnerships (WED)" in status["titles"]


def test_ask_prints_answer_and_numbered_sources(run):
    run("ingest")
    result = run("ask", "Who convenes a partnership?")
    assert result.exit_code == 0
    assert "Intermediary organizations convene" in result.output
    assert "Sources:\n[1] High Road Training Partnerships: Overview Brochure" in result.output


def test_questions_file_gives_one_json_line_per_question(run, tmp_path):
    run("ingest")
    qfile = tmp_path / "q.jsonl"
    qfile.write_text("\n".join(json.dumps(q) for q in [
        {"id": "a", "question": "What are WED's four key principles?"},
        {"id": "b", "question": "Explain the second one.",
         "history": [{"role": "user", "content": "What are WED's four key principles?"}]},
        {"id": "c", "question": "What is the capital of France?"},
    ]) + "\n")
    result = run("ask", "--json", "--questions", str(qfile))
    assert result.exit_code == 0
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [r["id"] for r in rows] == ["a", "b", "c"]
    assert "Worker Centered" in rows[1]["answer"] and rows[2]["refused"] is True
    assert all(r["latency_ms"] > 0 for r in rows)


def test_a_bad_line_in_the_questions_file_is_reported_and_the_rest_answered(run, tmp_path):
    run("ingest")
    qfile = tmp_path / "q.jsonl"
    qfile.write_text('{"id": "ok", "question": "Who convenes a partnership?"}\nnot json\n')
    result = run("ask", "--json", "--questions", str(qfile))
    assert result.exit_code == 1
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert rows[0]["id"] == "ok" and "q.jsonl:2" in rows[1]["error"]


def test_ingest_exit_codes(run, tmp_path):
    docs = tmp_path / "d"
    docs.mkdir()
    (docs / "good.txt").write_text("The welding partnership trained forty apprentices in Fresno.")
    (docs / "bad.pdf").write_bytes(b"not a pdf")
    result = run("ingest", str(docs))
    assert result.exit_code == 1
    assert "bad.pdf: not a PDF" in result.output
    only_bad = tmp_path / "e"
    only_bad.mkdir()
    (only_bad / "bad.pdf").write_bytes(b"not a pdf")
    assert run("ingest", str(only_bad)).exit_code == 2
    missing = run("ingest", str(tmp_path / "nope"))
    assert missing.exit_code == 2 and "does not exist" in missing.output


def test_asking_an_empty_store_says_what_to_do(run):
    result = run("ask", "Who convenes a partnership?")
    assert result.exit_code == 2
    assert "is empty" in result.output and "hrtp ingest" in result.output
