"""The chat app: handlers called directly, uploads, feedback, export, and the served app through gradio_client."""

import json
import socket
from pathlib import Path

import pytest
from gradio_client import Client

from builders import make_pdf
from chat.ui import ChatApp, display_text, launch
from chat.uploads import safe_name, save_upload
from kb.settings import BUNDLED_CORPUS


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Like:  # the fields of gr.LikeData the handler reads
    def __init__(self, index, liked):
        self.index, self.liked = index, liked


def run_chat(app, question, turns=None):
    steps = list(app.respond(question, [], turns or []))
    chat, turns, panel, box = steps[-1]
    return steps, chat, turns, panel


def test_answers_stream_in_and_the_sources_panel_fills(corpus_kb):
    steps, chat, turns, panel = run_chat(ChatApp(corpus_kb), "What are WED's four key principles?")
    assert len(steps) > 2  # streamed, not one final message
    partial = steps[1][0][-1]["content"]
    assert partial and len(partial) < len(chat[-1]["content"])
    assert "Worker Centered" in chat[-1]["content"] and "[1]" in chat[-1]["content"]
    assert "Championing High Road Partnerships (WED)" in panel and "<mark>" in panel
    assert "Show in context" in panel


def test_a_refusal_is_shown_as_such_with_closest_sources(corpus_kb):
    _, chat, turns, panel = run_chat(ChatApp(corpus_kb), "What is the deadline to apply for an HRTP grant?")
    assert chat[-1]["content"].startswith("**Not in the materials.**")
    assert "Closest passages" in panel and "class='source'" in panel


def test_follow_up_uses_the_conversation(corpus_kb):
    app = ChatApp(corpus_kb)
    _, _, turns, _ = run_chat(app, "What are WED's four key principles?")
    _, chat, _, _ = run_chat(app, "Explain the second one.", turns)
    assert "Worker Centered" in chat[-1]["content"] and "Community Focused" not in chat[-1]["content"]


@pytest.mark.parametrize("question", ["x" * 100_000, "\x00\x01\x1b[2J", "¿Qué es HRTP?"])
def test_odd_questions_get_a_reply_not_a_crash(corpus_kb, question):
    _, chat, _, _ = run_chat(ChatApp(corpus_kb), question)
    assert chat[-1]["content"]


def test_empty_question_does_nothing(corpus_kb):
    steps = list(ChatApp(corpus_kb).respond("   ", [], []))
    assert steps[-1][0] == [] and steps[-1][1] == []


def test_votes_and_comments_go_to_the_feedback_file(kb):
    kb.ingest([BUNDLED_CORPUS], progress=False)
    app = ChatApp(kb)
    _, _, turns, _ = run_chat(app, "Who convenes a partnership?")
    note, cleared = app.vote(turns, "Clear and useful", Like(1, True))
    assert "saved" in note and cleared == ""
    app.vote(turns, "", Like(1, False))
    rows = [json.loads(line) for line in (kb.settings.store_dir / "feedback.jsonl").read_text().splitlines()]
    assert [r["vote"] for r in rows] == ["up", "down"]
    assert rows[0]["comment"] == "Clear and useful" and rows[0]["question"] == "Who convenes a partnership?"
    assert rows[0]["citations"][0]["title"] == "High Road Training Partnerships: Overview Brochure"
    assert "Intermediary organizations" in rows[0]["answer"] and rows[0]["time"]


def test_export_writes_markdown_with_citations(corpus_kb):
    app = ChatApp(corpus_kb)
    _, _, turns, _ = run_chat(app, "Who convenes a partnership?")
    _, _, turns, _ = run_chat(app, "What is the capital of France?", turns)
    text = Path(app.export(turns)).read_text()
    assert "## Q: Who convenes a partnership?" in text
    assert "1. *High Road Training Partnerships: Overview Brochure*" in text
    assert "**Closest sources**" in text
    assert app.export([]) is None


def test_document_html_is_escaped_in_the_chat():
    from kb.types import Answer

    shown = display_text(Answer("q", "<img src=x onerror=alert(1)> said so [1]", False))
    assert "<img" not in shown and "&lt;img" in shown


# uploads ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("raw,safe", [
    ("../../etc/passwd.txt", "passwd.txt"), ("..\\..\\win.ini.md", "win.ini.md"), (".hidden.txt", "hidden.txt"),
    ("Guía de socios (v2).PDF", "Guía de socios _v2.pdf"), ("a/b/<script>.html", "script.html"),
])
def test_upload_names_are_sanitised(raw, safe):
    assert safe_name(raw) == safe


def test_uploads_are_checked_by_content_size_and_name(tmp_path):
    uploads = tmp_path / "store" / "uploads"
    fake = tmp_path / "fake.pdf"
    fake.write_text("I am not a PDF")
    assert "not a PDF" in save_upload(fake, "fake.pdf", uploads).error
    exe = tmp_path / "tool.exe"
    exe.write_bytes(b"MZ\x90\x00")
    assert "unsupported type" in save_upload(exe, "tool.exe", uploads).error
    binary = tmp_path / "notes.txt"
    binary.write_bytes(bytes(range(256)) * 10)
    assert "not a text file" in save_upload(binary, "notes.txt", uploads).error
    big = tmp_path / "big.txt"
    big.write_text("a" * (2 * 1024 * 1024))
    assert "over the 1 MB upload limit" in save_upload(big, "big.txt", uploads, max_mb=1).error
    evil = tmp_path / "evil.txt"
    evil.write_text("The welding partnership trains apprentices.")
    saved = save_upload(evil, "../../../outside.txt", uploads)
    assert saved.path == uploads / "outside.txt" and not (tmp_path / "outside.txt").exists()


def test_an_upload_never_overwrites_another_document(tmp_path):
    uploads = tmp_path / "uploads"
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("First report about welding apprentices.")
    b.write_text("Second report about transit mechanics.")
    first = save_upload(a, "report.txt", uploads)
    second = save_upload(b, "report.txt", uploads)
    again = save_upload(a, "report.txt", uploads)
    assert first.path.name == "report.txt" and second.path.name == "report-2.txt" and again.path == first.path
    assert first.path.read_text() == a.read_text()


def test_library_upload_ingests_reports_failures_and_removes(kb, tmp_path):
    kb.ingest([BUNDLED_CORPUS], progress=False)
    app = ChatApp(kb)
    good = make_pdf(tmp_path / "pilot report.pdf", ["The Fresno welding pilot trained forty apprentices."])
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(good.read_bytes()[:200])
    note, table, _ = app.upload([str(good), str(bad)])
    assert "✅ **pilot report.pdf**" in note and "❌ **broken.pdf**" in note
    assert len(table) == 4 and any(row[4].endswith("uploads/pilot report.pdf") for row in table)
    assert not (kb.settings.store_dir / "uploads" / "broken.pdf").exists()
    assert "forty apprentices" in kb.ask("How many apprentices did the Fresno welding pilot train?").text
    path = next(row[4] for row in table if row[4].endswith("pilot report.pdf"))
    note, table, _ = app.remove(path)
    assert "Removed" in note and len(table) == 3 and not Path(path).exists()
    assert kb.ask("How many apprentices did the Fresno welding pilot train?").refused


# the served app ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def served(corpus_kb):
    port = free_port()
    ui = launch(corpus_kb, port=port, block=False)
    yield f"http://127.0.0.1:{port}/", port
    ui.close()


def test_the_chat_api_answers_with_citations_written_out(served):
    client = Client(served[0], verbose=False)
    text = client.predict("What are WED's four key principles?", api_name="/chat")
    assert "Worker Centered" in text and "[1]" in text
    assert "1. *Championing High Road Partnerships (WED)*" in text


def test_the_app_listens_on_loopback_only(served):
    port = served[1]
    listening = [line.split()[1] for line in Path("/proc/net/tcp").read_text().splitlines()[1:]
                 if line.split()[3] == "0A"]
    mine = [addr for addr in listening if int(addr.split(":")[1], 16) == port]
    assert mine == ["0100007F:%04X" % port]  # 127.0.0.1 only


def test_twenty_concurrent_clients_asking_25_questions_each_get_no_errors(served):
    # The load test of BENCHMARKS.md (python -m evals.load_chat), bounded: it stops by itself.
    from evals.load_chat import load

    result = load(served[0], clients=20, per_client=25)
    assert result["requests"] == 500
    assert result["errors"] == 0, result["error_samples"]


def test_with_auth_unauthenticated_calls_are_refused(corpus_kb):
    port = free_port()
    ui = launch(corpus_kb, port=port, auth=("staff", "s3cret"), block=False)
    try:
        with pytest.raises(Exception):
            Client(f"http://127.0.0.1:{port}/", verbose=False).predict("Who convenes a partnership?", api_name="/chat")
        ok = Client(f"http://127.0.0.1:{port}/", auth=("staff", "s3cret"), verbose=False)
        assert "Intermediary organizations" in ok.predict("Who convenes a partnership?", api_name="/chat")
    finally:
        ui.close()
