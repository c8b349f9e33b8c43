"""Server mode: the same ingest and answers through a real `chroma run` on loopback."""

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from kb.ask.pipeline import KnowledgeBase
from kb.errors import StoreError
from kb.settings import BUNDLED_CORPUS, Settings
from ingest.sync import sync_paths


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory):
    port = free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    chroma = Path(sys.executable).parent / "chroma"
    proc = subprocess.Popen([str(chroma), "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1)
            break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("chroma run did not start within 60 s")
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def test_ingest_and_ask_through_a_chroma_server(chroma_url, embedder, tmp_path):
    settings = Settings(store_dir=tmp_path / "local", chroma_url=chroma_url, reader="extractive", model="minilm")
    kb = KnowledgeBase(settings, embedder)
    report = sync_paths(kb, [BUNDLED_CORPUS], progress=False)
    assert report.files_added == 3 and not report.files_failed
    assert not (tmp_path / "local" / "chroma").exists()  # the chunks live on the server
    answer = kb.ask("What are WED's four key principles?")
    assert "Community Focused" in answer.text and not answer.refused

    # A second machine (its own local dir) sees the same index and re-ingest embeds nothing.
    other = KnowledgeBase(Settings(store_dir=tmp_path / "other", chroma_url=chroma_url, reader="extractive", model="minilm"), embedder)
    assert other.status()["documents"] == 3
    assert sync_paths(other, [BUNDLED_CORPUS], progress=False).chunks_embedded == 0
    assert "Intermediary organizations" in other.ask("Who convenes a partnership?").text


def test_an_unreachable_server_is_a_clear_error(tmp_path):
    with pytest.raises(StoreError, match="Cannot reach the Chroma server .*`chroma run --path"):
        KnowledgeBase(Settings(store_dir=tmp_path, chroma_url=f"http://127.0.0.1:{free_port()}"))


def test_a_chat_on_a_chroma_server_answers_ask_from_a_fresh_folder(chroma_url, embedder, tmp_path, monkeypatch):
    """With a server the local folder may not exist yet: the chat makes it for its record and answers."""
    import os

    from test_resident import HANDED_OVER, ask, start_chat, stop

    seed = KnowledgeBase(Settings(store_dir=tmp_path / "seed", chroma_url=chroma_url, reader="extractive",
                                  model="minilm"), embedder)
    sync_paths(seed, [BUNDLED_CORPUS], progress=False)
    monkeypatch.setenv("HRTP_CHROMA_URL", chroma_url)
    fresh = tmp_path / "fresh"
    proc = start_chat(fresh, dict(os.environ))
    try:
        answer, log = ask(fresh, "Who convenes a partnership?")
        assert f"{HANDED_OVER} {proc.pid}" in log and "Intermediary organizations" in answer["answer"]
    finally:
        stop(proc)
