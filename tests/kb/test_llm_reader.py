"""The llm reader with the real packaged model (loaded once per session): it reads, and verification holds it
to the passages. Few tests, each several seconds of model time."""

import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from kb.ask.claims import split_claims
from kb.ask.pipeline import KnowledgeBase
from kb.ask.readers.prompts import fit_passages, prompt_messages
from kb.models.llm import LocalLLM
from kb.models.load import get_llm
from kb.settings import BUNDLED_CORPUS, Settings
from kb.types import Chunk, Passage
from kb.ask.verify import Evidence
from tests.builders import LISTING
from ingest.sync import sync_paths

pytestmark = pytest.mark.slow
FAQ = Path(__file__).parents[2] / "evals/wild/dev/b-bay-transit-hospitality/hospitality-careers-bridge-faq.html"
PRINCIPLES = ("Industry Driven", "Worker Centered", "Community Focused", "Results Measured")


@pytest.fixture(scope="session")
def llm_kb(tmp_path_factory, embedder) -> KnowledgeBase:
    corpus = tmp_path_factory.mktemp("llm-corpus")
    for f in BUNDLED_CORPUS.iterdir():
        (corpus / f.name).write_bytes(f.read_bytes())
    (corpus / "welding-listing.txt").write_text(LISTING, encoding="utf-8")
    (corpus / FAQ.name).write_bytes(FAQ.read_bytes())  # a wild-dev page: stipends for two programs of three
    kb = KnowledgeBase(Settings(store_dir=tmp_path_factory.mktemp("llm") / "store", reader="llm", model="minilm"),
                       embedder)
    assert not sync_paths(kb, [corpus], progress=False).files_failed
    assert kb.reader.name == "llm", "the llm reader did not load: run `make setup`"
    return kb


def every_sentence_is_backed(kb, answer):
    """Re-check the printed answer: each sentence against each source it cites, as a reader would."""
    by_n = {s.n: s for s in answer.sources}
    claims = split_claims(answer.text)
    assert claims, answer.text
    for text, ns in claims:
        for n in ns:
            s = by_n[n]
            chunk = Chunk(id=s.chunk_id, text=s.text, doc_sha="", path=s.path, title=s.title, section=s.section)
            assert kb.verifier.supports(text, Evidence.of(n, Passage(chunk, 0.0))).ok, (text, s.text)


def test_the_four_principles_with_citations(llm_kb):
    answer = llm_kb.ask("What are WED's four key principles?")
    assert not answer.refused and answer.reader == "llm", answer.text
    for principle in PRINCIPLES:
        assert principle.lower() in answer.text.lower()
    assert re.search(r"\[\d\]", answer.text)
    assert answer.sources[0].title == "Championing High Road Partnerships (WED)"
    assert answer.timings["llm"] > 0
    every_sentence_is_backed(llm_kb, answer)


def test_a_paraphrase_the_quoting_reader_refuses_is_answered(llm_kb):
    question = ("Can someone who is still learning the local language take the hotel courses, "
                "and in which tongues are they taught?")
    assert llm_kb.ask(question, reader=llm_kb.extractive).refused
    answer = llm_kb.ask(question)
    assert not answer.refused, answer.text
    assert "spanish" in answer.text.lower() and "tagalog" in answer.text.lower(), answer.text
    every_sentence_is_backed(llm_kb, answer)


NEAR_MISS = "How much is the weekly stipend for the Steward-to-Cook program?"  # the page gives two other programs'


def test_a_near_miss_the_model_would_answer_is_stopped_by_verification(llm_kb):
    q = llm_kb.understand(NEAR_MISS)
    qvec = llm_kb.embedder.embed_query(q.retrieval_query)
    passages, _ = llm_kb.retriever.search(q.retrieval_query, qvec=qvec)
    reader = llm_kb.reader
    shown = fit_passages(reader.llm, llm_kb.embedder, qvec, passages, llm_kb.settings.llm_context_tokens,
                         llm_kb.settings.top_k)
    raw = reader.llm.generate(prompt_messages(NEAR_MISS, shown, None), max_tokens=80).text
    assert re.search(r"\$\d{3}", raw), raw  # the model alone gives a stipend: another program's, or none at all
    answer = llm_kb.ask(NEAR_MISS)
    assert answer.refused and answer.text.startswith(llm_kb.settings.domain.refusal)
    assert not re.search(r"\$\d", answer.text)
    assert any(re.search(r"\$\d", d.text) and re.search(r"not in passage|not said of|about something else", d.reason)
               for d in answer.dropped), answer.dropped


def test_a_follow_up_is_read_against_the_conversation(llm_kb):
    first = llm_kb.ask("What are WED's four key principles?")
    history = [{"role": "user", "content": "What are WED's four key principles?"},
               {"role": "assistant", "content": first.text}]
    answer = llm_kb.ask("Explain the second one.", history)
    assert not answer.refused, answer.text
    assert "worker" in answer.text.lower()
    every_sentence_is_backed(llm_kb, answer)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_reader_can_use_an_openai_compatible_server(llm_kb, tmp_path):
    model = llm_kb.reader.llm
    assert isinstance(model, LocalLLM)
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(model.path), "--host",
                               "127.0.0.1", "--port", str(port), "--n_ctx", "4096"],
                              stdout=subprocess.DEVNULL, stderr=(tmp_path / "server.log").open("w"))
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/v1/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            pytest.fail("llama_cpp.server did not start:\n" + (tmp_path / "server.log").read_text()[-2000:])
        settings = Settings(store_dir=llm_kb.settings.store_dir, reader="llm", model="minilm", llm_url=url)
        remote = KnowledgeBase(settings, llm_kb.embedder)
        assert get_llm(settings).name.endswith(".gguf")  # the server names the file it serves
        answer = remote.ask("What are WED's four key principles?")
        assert not answer.refused and answer.reader == "llm", answer.text
        for principle in PRINCIPLES:
            assert principle.lower() in answer.text.lower()
        every_sentence_is_backed(remote, answer)
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_the_chat_shows_only_labelled_quotes_until_the_checked_answer(llm_kb):
    from chat.answer_view import QUOTING, READING
    from chat.ui import ChatApp

    steps = list(ChatApp(llm_kb).respond("What are WED's four key principles?", [], []))
    shown = [chat[-1]["content"] for chat, *_ in steps]
    for pending in shown[:-1]:  # while the model reads: labelled quotes or "reading", never its own words
        assert pending.startswith((f"> **{QUOTING}:**", f"> _{READING}")), pending
    assert any(s.startswith(f"> **{QUOTING}:**") for s in shown[:-1])
    assert "Worker Centered".lower() in shown[-1].lower() and "(#cite-0-1)" in shown[-1]  # [1], linked
    final = list(ChatApp(llm_kb).respond(NEAR_MISS, [], []))[-1][0][-1]["content"]
    assert final.startswith("**Not in the materials.**")
    assert not re.search(r"\$\d", final.split("sources panel")[0])


def test_a_new_process_reads_the_fixed_prompt_back_from_disk_and_answers_the_same(llm_kb, tmp_path):
    path = llm_kb.reader.llm.path
    passage = Passage(Chunk(id="c", text=LISTING, doc_sha="d", path="p", title="Metro Welding listing"), 1.0)
    ask = lambda q: prompt_messages(q, [(passage, LISTING)], None)  # noqa: E731
    stale = tmp_path / f"{path.name}.{path.stat().st_size}.ctx4096.another-build.kv"
    stale.write_bytes(b"written by another llama.cpp build")  # never read: other kernels, other numbers
    first = LocalLLM(path, state_dir=tmp_path)
    assert first.restored_tokens == 0
    first.generate(ask("When is the application deadline?"), max_tokens=20)  # writes the state file
    (state,) = tmp_path.iterdir()  # and drops the other build's
    assert state != stale
    second = LocalLLM(path, state_dir=tmp_path)
    assert second.restored_tokens > 400  # the instructions and examples, read back instead of re-read
    question = ask("Who may apply?")
    assert second.generate(question, max_tokens=30).text == first.generate(question, max_tokens=30).text
    del first, second
    state.write_bytes(b"not a model state")  # a damaged file is dropped, not trusted
    third = LocalLLM(path, state_dir=tmp_path)
    assert third.restored_tokens == 0 and not state.exists()


def test_the_default_reader_answers_the_principles_as_well_as_quoting_does(llm_kb):
    judged = llm_kb.make_reader("judged", llm_kb.reader.llm)
    question = "What are WED's four key principles?"
    quoted = llm_kb.ask(question, reader=llm_kb.extractive)
    answer = llm_kb.ask(question, reader=judged)
    assert not answer.refused and answer.reader == "judged", answer.text
    for principle in PRINCIPLES:
        assert principle.lower() in quoted.text.lower()
        assert answer.text.lower().count(principle.lower()) == 1, answer.text  # each once: a list, not a pile
    every_sentence_is_backed(llm_kb, answer)


def test_the_default_reader_refuses_a_near_miss_the_model_would_answer(llm_kb):
    answer = llm_kb.ask(NEAR_MISS, reader=llm_kb.make_reader("judged", llm_kb.reader.llm))
    assert answer.refused and answer.text.startswith(llm_kb.settings.domain.refusal), answer.text
    assert not re.search(r"\$\d", answer.text)
