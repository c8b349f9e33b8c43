"""The chat app: handlers called directly, uploads, feedback, export, and the served app through gradio_client."""

import json
import socket
from pathlib import Path

import pytest
from gradio_client import Client

from builders import make_pdf
from chat.answer_view import final
from chat.conversations import Conversations
from chat.library import Library
from chat.ui import ChatApp, launch
from chat.uploads import safe_name, save_upload
from kb.settings import BUNDLED_CORPUS
from ingest.sync import sync_paths


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Like:  # the fields of gr.LikeData the handler reads
    def __init__(self, index, liked):
        self.index, self.liked = index, liked


def run_chat(app, question, turns=None):
    steps = list(app.respond(question, [], turns or []))
    chat, turns, panel, box = steps[-1][:4]
    return steps, chat, turns, panel


def test_answers_stream_in_and_the_sources_panel_fills(corpus_kb):
    steps, chat, turns, panel = run_chat(ChatApp(corpus_kb), "What are WED's four key principles?")
    assert len(steps) > 2  # streamed, not one final message
    partial = steps[1][0][-1]["content"]
    assert partial and len(partial) < len(chat[-1]["content"])
    assert "Worker Centered" in chat[-1]["content"] and "[\\[1\\]]" in chat[-1]["content"]
    assert "Championing High Road Partnerships (WED)" in panel and "<mark>" in panel
    assert "data-action='open|0|1'" in panel  # each card opens its document
    assert "](#cite-0-1)" in chat[-1]["content"]  # [1] selects source 1 of this turn
    assert "chars " not in panel  # locators for people


def test_a_refusal_is_shown_as_such_with_closest_sources(corpus_kb):
    _, chat, turns, panel = run_chat(ChatApp(corpus_kb), "What is the deadline to apply for an HRTP grant?")
    assert chat[-1]["content"].startswith("**Not in the materials.**")
    assert "Closest passages" in panel and "class='source'" in panel


def test_asking_within_chosen_documents_cites_only_them_and_says_so(corpus_kb):
    app = ChatApp(corpus_kb)
    wed = next(r.path for r in corpus_kb.documents() if r.title == "Championing High Road Partnerships (WED)")
    *_, last = app.respond("Who convenes a partnership?", [], [], None, [wed])
    answer = last[1][-1]
    assert answer.docs == [wed] and {s.path for s in answer.sources} == {wed}
    assert "_Searched only: “Championing High Road Partnerships (WED)”._" in last[0][-1]["content"]
    *_, last = app.respond("Who convenes a partnership?", [], [], None, [])
    assert "Searched only" not in last[0][-1]["content"]


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
    sync_paths(kb, [BUNDLED_CORPUS], progress=False)
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


def test_a_conversation_is_kept_and_both_exports_come_from_its_record(corpus_kb, tmp_path):
    app = ChatApp(corpus_kb)
    steps = list(app.respond("Who convenes a partnership?", [], [], None))
    turns, conv = steps[-1][1], steps[-1][4]
    steps = list(app.respond("What is the capital of France?", steps[-1][0], turns, conv))
    assert steps[-1][4] == conv  # the same conversation
    md, js = steps[-1][6]["value"], steps[-1][7]["value"]  # written already: the first click downloads
    text = Path(md).read_text()
    assert text.startswith("# Who convenes a partnership?") and "## Q: What is the capital of France?" in text
    assert "1. *High Road Training Partnerships: Overview Brochure*" in text and "**Closest sources**" in text
    record = json.loads(Path(js).read_text())
    assert [t["question"] for t in record["turns"]] == ["Who convenes a partnership?", "What is the capital of France?"]
    assert record["turns"][0]["citations"][0]["quotes"]
    # another process on the same store reopens it, sources and all
    again = Conversations(corpus_kb.settings.store_dir)
    assert (conv, "Who convenes a partnership?") in [(i, t) for i, t, _ in again.list()]
    reopened = again.turns(conv)
    assert [a.to_json() for a in reopened] == record["turns"]
    chat, turns2, panel = ChatApp(corpus_kb).reopen(conv)[:3]
    assert len(chat) == 4 and "Intermediary organizations" in chat[1]["content"] and "Closest passages" in panel
    assert "<mark>" in ChatApp(corpus_kb).act("cite|0|1|7", turns2)[0]  # the first answer's sources, quotes marked
    app.delete(conv)
    assert conv not in [i for i, _, _ in again.list()]


def test_document_html_is_escaped_in_the_chat():
    from kb.types import Answer

    shown = final(Answer("q", "<img src=x onerror=alert(1)> said so [1]", False), 0)
    assert "<img" not in shown and "&lt;img" in shown


def test_open_shows_a_transcript_at_its_timestamp_and_a_pdf_page_highlighted(kb, docs):
    from builders import VTT
    from chat import viewer

    (docs / "session.vtt").write_text(VTT, encoding="utf-8")
    make_pdf(docs / "pilot.pdf", ["Cover page.", "The Fresno pilot trained forty welders for union contractors."])
    sync_paths(kb, [docs], progress=False)
    source = kb.ask("How many graduates did the Fresno welding cohort place?").sources[0]
    shown = viewer.view(source, *kb.document(source.chunk_id))
    assert "<p class='cited'><span class='ts'>01:10 (Ben Ortiz)</span>" in shown and "<mark>" in shown
    source = kb.ask("How many welders did the Fresno pilot train?").sources[0]
    assert source.place == "p. 2"
    shown = viewer.view(source, *kb.document(source.chunk_id))
    assert "<img alt='page 2 of" in shown and "data-highlights='0'" not in shown


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


def test_library_upload_ingests_reports_failures_removes_and_undoes(kb, tmp_path):
    sync_paths(kb, [BUNDLED_CORPUS], progress=False)
    lib = Library(kb)
    good = make_pdf(tmp_path / "pilot report.pdf", ["The Fresno welding pilot trained forty apprentices."],
                    title="Fresno Welding Pilot Report")
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(good.read_bytes()[:200])
    note = lib.upload([str(good), str(bad)])
    assert "✅ “Fresno Welding Pilot Report” (pilot report.pdf)" in note and "❌ **broken.pdf**" in note
    rows = lib.rows()
    assert len(rows) == 4 and ["Fresno Welding Pilot Report", "PDF", 1] == rows[1][:3]  # by title
    assert not (kb.settings.store_dir / "uploads" / "broken.pdf").exists()
    assert "already in the library, as “Fresno Welding Pilot Report”" in lib.upload([str(good)])
    question = "How many apprentices did the Fresno welding pilot train?"
    assert "forty apprentices" in kb.ask(question).text
    path = str(kb.settings.store_dir / "uploads" / "pilot report.pdf")
    assert lib.confirm_text(path).startswith("Remove “Fresno Welding Pilot Report” (file pilot report.pdf)")
    assert "Removed" in lib.remove(path) and len(lib.rows()) == 3 and not Path(path).exists()
    assert kb.ask(question).refused
    assert "is back in the library" in lib.undo()
    assert Path(path).exists() and len(lib.rows()) == 4 and "forty apprentices" in kb.ask(question).text
    assert "Nothing to undo" in lib.undo()


def test_an_undo_ends_after_ten_minutes_and_its_upload_is_then_deleted(kb, docs):
    (docs / "fresno.txt").write_text("The Fresno welding pilot trained forty apprentices in 2023.")
    lib = Library(kb)
    lib.upload([str(docs / "fresno.txt")])
    path = kb.settings.store_dir / "uploads" / "fresno.txt"
    lib.remove(str(path))
    kept = lib.trash.kept_file
    assert kept.exists() and lib.can_undo()
    lib.trash.at -= 601  # as if removed eleven minutes ago
    assert not lib.can_undo() and "Nothing to undo" in lib.undo()
    assert not kept.exists() and not path.exists() and lib.rows() == []


def test_a_title_edited_in_the_library_is_what_sources_show(kb, docs):
    (docs / "fresno.txt").write_text("The Fresno welding pilot trained forty apprentices in 2023.")
    sync_paths(kb, [docs], progress=False)
    lib = Library(kb)
    assert "Renamed" in lib.retitle(str(docs / "fresno.txt"), "  Fresno pilot,   final report ")
    answer = kb.ask("How many apprentices did the Fresno welding pilot train?")
    assert answer.sources[0].title == "Fresno pilot, final report"
    assert lib.choices() == [("Fresno pilot, final report", str(docs / "fresno.txt"))]


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
