"""A running `hrtp chat` answers `hrtp ask` on its store (kb/handoff.py): the same answer as asked alone, handed
over only with the same settings and the right token, and never a failure when the chat is gone."""

from __future__ import annotations

import json
import os
import queue
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from evals.bench.measure import free_port
from evals.bench.startup import stop

HRTP = str(Path(sys.executable).parent / "hrtp")
QUESTION = "Who convenes a partnership?"
HANDED_OVER = "answered by the chat running as pid"


def start_chat(store: Path, env: dict[str, str], timeout: float = 180) -> subprocess.Popen:
    """`hrtp chat` on `store`, returned once its start-up line says it answers `hrtp ask`."""
    proc = subprocess.Popen([HRTP, "--store", str(store), "chat", "--port", str(free_port())], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(ln) for ln in proc.stdout], daemon=True).start()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            line = lines.get(timeout=1)
            if line.startswith("HRTP chat on"):
                if "answers `hrtp ask`" in line:
                    return proc
                break
        except queue.Empty:
            pass
    proc.kill()
    pytest.fail(f"hrtp chat did not start answering `hrtp ask` (exit {proc.poll()})")


def ask(store: Path, *args: str, env: dict[str, str] | None = None) -> tuple[dict, str]:
    run = subprocess.run([HRTP, "-v", "--store", str(store), "ask", "--json", *args], capture_output=True, text=True,
                         timeout=300, env=env)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout), run.stderr


def same_answer(a: dict, b: dict) -> bool:
    timeless = ("latency_ms", "timings_ms")
    return {k: v for k, v in a.items() if k not in timeless} == {k: v for k, v in b.items() if k not in timeless}


@pytest.fixture(scope="module")
def chat(corpus_kb):
    """A chat on the bundled corpus, quoting reader, MiniLM (the env the autouse fixture gives each test)."""
    store = corpus_kb.settings.store_dir
    env = {k: v for k, v in os.environ.items() if not k.startswith("HRTP_")}
    env |= {"HRTP_READER": "extractive", "HRTP_MODEL": "minilm"}
    proc = start_chat(store, env)
    yield store, proc
    stop(proc)


def test_ask_is_answered_by_the_running_chat_with_the_same_answer(chat):
    store, proc = chat
    handed, log = ask(store, QUESTION)
    assert f"{HANDED_OVER} {proc.pid}" in log
    alone, log_alone = ask(store, "--local", QUESTION)
    assert HANDED_OVER not in log_alone
    assert same_answer(handed, alone)
    assert not handed["refused"] and handed["citations"]
    text = subprocess.run([HRTP, "--store", str(store), "ask", QUESTION], capture_output=True, text=True, timeout=300)
    assert "Intermediary organizations convene" in text.stdout and "Sources:\n[1]" in text.stdout


def test_the_running_chat_answers_within_the_documents_asked_for(chat):
    store, proc = chat
    wed = "Championing High Road Partnerships (WED)"
    handed, log = ask(store, "What are the key principles?", "--doc", wed)
    assert f"{HANDED_OVER} {proc.pid}" in log
    alone, _ = ask(store, "--local", "What are the key principles?", "--doc", wed)
    assert same_answer(handed, alone) and len(handed["docs"]) == 1
    assert handed["citations"] and {c["title"] for c in handed["citations"]} == {wed}
    missing = subprocess.run([HRTP, "--store", str(store), "ask", QUESTION, "--doc", "no such memo"],
                             capture_output=True, text=True, timeout=300)
    assert missing.returncode == 2 and "'no such memo'" in missing.stderr and "Traceback" not in missing.stderr


def status(store: Path) -> str:
    return subprocess.run([HRTP, "--store", str(store), "status"], capture_output=True, text=True, timeout=300).stdout


def test_other_settings_are_answered_alone(chat, monkeypatch):
    store, proc = chat
    assert f"chat:      running (pid {proc.pid}); `hrtp ask` is answered there" in status(store)
    monkeypatch.setenv("HRTP_TOP_K", "2")
    answer, log = ask(store, QUESTION)
    assert HANDED_OVER not in log and "other settings" in log
    assert not answer["refused"] and len(answer["citations"]) <= 2
    assert "other settings: `hrtp ask` answers alone" in status(store)


def test_the_endpoint_needs_the_token_and_listens_on_loopback_only(chat):
    store, _ = chat
    record = json.loads((store / "resident.json").read_text())
    assert (store / "resident.json").stat().st_mode & 0o077 == 0  # the token is the owner's
    body = json.dumps({"question": QUESTION, "fingerprint": record["fingerprint"]}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{record['port']}/ask", data=body, method="POST",
                                     headers={"Authorization": "Bearer wrong"})
    with pytest.raises(urllib.error.HTTPError) as denied:
        urllib.request.urlopen(request, timeout=30)
    assert denied.value.code == 403
    outside = [a for a in {i[4][0] for i in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)}
               if not a.startswith("127.")]
    for address in outside:
        with pytest.raises(OSError):
            socket.create_connection((address, record["port"]), timeout=2).close()


def test_a_chat_that_is_gone_leaves_ask_working(corpus_kb, tmp_path):
    store = corpus_kb.settings.store_dir
    env = {k: v for k, v in os.environ.items() if not k.startswith("HRTP_")} | {"HRTP_READER": "extractive",
                                                                                 "HRTP_MODEL": "minilm"}
    other = tmp_path / "copy"
    shutil.copytree(store, other, ignore=shutil.ignore_patterns("resident.json"))
    proc = start_chat(other, env)
    stop(proc)  # a stop by the service manager (SIGTERM) takes its file away
    assert not (other / "resident.json").exists(), proc.returncode
    assert "chat:      not running" in status(other)
    from kb.handoff import fingerprint
    from kb.settings import Settings

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    left = {"port": free_port(), "token": "t", "fingerprint": fingerprint(Settings.from_env(store_dir=other))}
    for pid, why in ((int(dead.stdout), "has exited"), (os.getpid(), "did not answer")):  # killed; a port gone
        (other / "resident.json").write_text(json.dumps(left | {"pid": pid}))
        answer, log = ask(other, QUESTION)
        assert not answer["refused"] and HANDED_OVER not in log and why in log
    (other / "resident.json").chmod(0o666)  # a file anyone could have written is not followed
    answer, log = ask(other, QUESTION)
    assert HANDED_OVER not in log and "must be yours" in log
