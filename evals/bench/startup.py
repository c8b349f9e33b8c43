"""Start-up figures (issue 13), each a whole `hrtp` process on one store, interleaved round by round:

- `hrtp status`; a no-op `hrtp ingest` (goal: at most 1.5 x status);
- a cold `hrtp --reader extractive ask` (goal: 2.5 s), twice per round: with the sentence-vector memo empty (the
  first question ever asked about these passages) and with it filled by the run before (a cold process whose
  passages were read before);
- a cold `hrtp --reader llm ask` against the model's load plus one warm answer measured in another process of the
  same run (goal: no more), when the packaged model is assembled. The warm process runs first, and its first
  question (another one) writes the saved prompt state the cold ask reads back;
- `hrtp chat` to its first served page (goal: 5 s) and to its start-up line (the model loaded);
- with that chat running and idle, an `hrtp ask` with each reader, which the chat answers (kb/handoff.py):
  the same goals as the cold asks. The other asks pass `--local`, so they never reach a chat.

Every process gets a cache folder of its own whose model files link to the real cache, so the memo can be
emptied without touching the user's. Wall and CPU seconds (user + system, from the kernel) and the load average
are recorded: the CPU time says what a process costs whatever else the machine is doing.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from evals.bench.measure import free_port

HRTP = str(Path(sys.executable).parent / "hrtp")
QUESTION = "Who convenes a partnership?"
WARM_FIRST = "What are WED's four key principles?"  # asked first in the warm process, so the timed one is not

# Asked while `hrtp chat` (the configured reader) runs on the store, which answers them (kb/handoff.py).
HANDED = {"ask_extractive_chat_running": [HRTP, "--reader", "extractive", "ask", QUESTION],
          "ask_llm_chat_running": [HRTP, "ask", QUESTION]}

# One process: load the llm reader, answer another question, then the benchmark one (the warm answer).
_WARM = """
import json, sys, time
from kb.ask.pipeline import KnowledgeBase
from kb.settings import Settings
kb = KnowledgeBase(Settings.from_env(store_dir=sys.argv[1], reader="llm"))
t = time.perf_counter()
reader = kb.reader
load = time.perf_counter() - t
kb.ask(sys.argv[3])
t = time.perf_counter()
answer = kb.ask(sys.argv[2])
print(json.dumps({"reader": reader.name, "model_load_s": getattr(reader.llm, "load_ms", load * 1000) / 1000,
                  "reader_ready_s": load, "warm_answer_s": time.perf_counter() - t,
                  "llm_ms": answer.timings.get("llm", 0.0)}))
"""


def run_process(cmd: list[str], env: dict[str, str], timeout: float = 1800) -> dict:
    """Wall and CPU seconds, peak RSS and exit code of one command, from the kernel's accounting of it."""
    load = os.getloadavg()[0]
    with tempfile.TemporaryFile() as out:
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.DEVNULL, env=env)
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
            time.sleep(0.005)
        wall = time.perf_counter() - t
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode(errors="replace")
    return {"wall_s": round(wall, 2), "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1), "exit": proc.returncode, "load_1min": round(load, 2),
            "stdout": text[-2000:]}


def stop(proc: subprocess.Popen, grace: float = 30) -> None:
    """SIGTERM (the chat cleans up after itself), then SIGKILL after `grace` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def wait_idle(pid: int, timeout: float = 180, quiet_s: float = 0.05) -> None:
    """Until process `pid` uses under `quiet_s` CPU seconds in half a second (the chat's warm-up question done)."""
    tick = os.sysconf("SC_CLK_TCK")

    def cpu() -> float:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick

    deadline = time.monotonic() + timeout
    before = cpu()
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = cpu()
        if now - before < quiet_s:
            return
        before = now


def chat_to_page(store: Path, env: dict[str, str], port: int, timeout: float = 300,
                 then: dict[str, list[str]] | None = None) -> dict:
    """Seconds from launching `hrtp chat` to its first served page, and to its start-up line; then, once the
    chat is idle, each command of `then` (an `hrtp ask` the chat answers), timed as a whole process."""
    load = os.getloadavg()[0]
    t = time.perf_counter()
    proc = subprocess.Popen([HRTP, "--store", str(store), "chat", "--port", str(port)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=env, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(ln) for ln in proc.stdout], daemon=True).start()
    page = line = None
    text = ""
    try:
        while time.perf_counter() - t < timeout and proc.poll() is None and (page is None or line is None):
            if page is None:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
                    page = round(time.perf_counter() - t, 2)
                except OSError:
                    pass
            while not lines.empty():
                got = lines.get()
                if got.startswith("HRTP chat on") and line is None:
                    line, text = round(time.perf_counter() - t, 2), got.strip()
            time.sleep(0.05)
        handed = {}
        if line is not None and then:
            wait_idle(proc.pid)
            handed = {name: run_process(cmd, env) for name, cmd in then.items()}
    finally:
        stop(proc)
    return {"page_s": page, "startup_line_s": line, "startup_line": text, "load_1min": round(load, 2), **handed}


def llm_available(env: dict[str, str]) -> bool:
    """The packaged reader model is assembled (or another is configured): never assembled for a benchmark."""
    if env.get("HRTP_LLM_URL") or env.get("HRTP_LLM_MODEL"):
        return True
    from kb.models.cache import default_cache_dir
    from kb.models.registry import GGUF_NAME

    base = Path(env["HRTP_CACHE"]) if env.get("HRTP_CACHE") else default_cache_dir()
    return (base / GGUF_NAME).is_file() and (base / (GGUF_NAME + ".sha256")).is_file()


def private_cache(real: Path, work: Path) -> Path:
    """A cache folder whose entries link to the real cache's model files, without its vector memo and without
    the reader's saved prompt state (which may hold the benchmark's own question, read back whole)."""
    cache = work / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    for entry in real.iterdir() if real.is_dir() else []:
        if entry.name not in ("vectors", "llm-state") and not entry.name.endswith(".lock") \
                and not (cache / entry.name).exists():
            (cache / entry.name).symlink_to(entry)
    return cache


def fast_start(store: Path, rounds: int = 3, llm: bool | None = None, port: int = 0) -> dict:
    """All start-up figures on `store` (ingested with the bundled corpus), `rounds` times each, interleaved."""
    from kb.settings import Settings

    real_cache = Settings.from_env().cache_dir
    work = Path(tempfile.mkdtemp(prefix="hrtp-startup-"))
    try:
        cache = private_cache(real_cache, work)
        env = dict(os.environ, HRTP_CACHE=str(cache), HRTP_STORE=str(store))
        env.pop("HRTP_CHROMA_URL", None)
        llm = llm_available(env) if llm is None else llm
        handed = {k: v for k, v in HANDED.items() if llm or "llm" not in k}
        runs: dict[str, list[dict]] = {k: [] for k in ("status", "noop_ingest", "ask_extractive_memo_empty",
                                                        "ask_extractive", "chat", *handed)}
        out: dict = {"question": QUESTION, "rounds": rounds, "load_1min_start": round(os.getloadavg()[0], 2)}
        for _ in range(rounds):
            runs["status"].append(run_process([HRTP, "status"], env))
            runs["noop_ingest"].append(run_process([HRTP, "ingest"], env))
            shutil.rmtree(cache / "vectors", ignore_errors=True)
            ask = [HRTP, "--reader", "extractive", "ask", "--local", QUESTION]
            runs["ask_extractive_memo_empty"].append(run_process(ask, env))
            runs["ask_extractive"].append(run_process(ask, env))
            chat = chat_to_page(store, env, port or free_port(), then=handed)
            for name in handed:
                runs[name].append(chat.pop(name))
            runs["chat"].append(chat)
        if llm:  # the warm process first: its first question writes the saved prompt state the cold ask reads
            warm = subprocess.run([sys.executable, "-c", _WARM, str(store), QUESTION, WARM_FIRST], env=env,
                                  capture_output=True, text=True, timeout=3600)
            out["llm_warm"] = json.loads(warm.stdout.strip().splitlines()[-1]) if warm.returncode == 0 else \
                {"error": warm.stderr.strip().splitlines()[-1:]}
            runs["ask_llm"] = [run_process([HRTP, "--reader", "llm", "ask", "--local", QUESTION], env)]
        out["runs"] = runs
        out["load_1min_end"] = round(os.getloadavg()[0], 2)
        out["summary"] = summarise(out)
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)


def summarise(res: dict) -> dict:
    """Medians per measurement and each goal's verdict."""
    runs = res["runs"]

    def med(name: str, key: str = "wall_s") -> float | None:
        vals = [r[key] for r in runs.get(name, []) if r.get(key) is not None]
        return round(statistics.median(vals), 2) if vals else None

    s: dict = {name: {"wall_s": med(name), "cpu_s": med(name, "cpu_s"), "min_wall_s": min(
        (r["wall_s"] for r in runs[name]), default=None)} for name in runs if name != "chat"}
    s["chat"] = {"page_s": med("chat", "page_s"), "startup_line_s": med("chat", "startup_line_s")}
    goals = {"noop_ingest_vs_status": _goal(s["noop_ingest"]["wall_s"], 1.5 * s["status"]["wall_s"]),
             "ask_extractive_2_5s": _goal(s["ask_extractive"]["wall_s"], 2.5),
             "ask_extractive_memo_empty_2_5s": _goal(s["ask_extractive_memo_empty"]["wall_s"], 2.5),
             "chat_page_5s": _goal(s["chat"]["page_s"], 5.0)}
    warm = res.get("llm_warm") or {}
    goals["ask_extractive_chat_running_2_5s"] = _goal(s["ask_extractive_chat_running"]["wall_s"], 2.5)
    if "ask_llm" in s and "warm_answer_s" in warm:
        limit = warm["model_load_s"] + warm["warm_answer_s"]
        goals["ask_llm_vs_load_plus_warm"] = _goal(s["ask_llm"]["wall_s"], limit)
        if "ask_llm_chat_running" in s:
            goals["ask_llm_chat_running_vs_load_plus_warm"] = _goal(s["ask_llm_chat_running"]["wall_s"], limit)
    s["goals"] = goals
    return s


def _goal(value: float | None, limit: float) -> dict:
    return {"value": value, "limit": round(limit, 2), "met": value is not None and value <= limit}


def main(argv: list[str] | None = None) -> dict:
    """`python -m evals.bench.startup [--store DIR] [--rounds 3] [--no-llm]`: the start-up figures alone, on a
    store of the bundled corpus (made in a temporary folder unless given)."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m evals.bench.startup", description=main.__doc__)
    ap.add_argument("--store", type=Path, help="a store holding the bundled corpus (default: one made now)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-llm", action="store_true", help="skip the llm reader's cold ask")
    ap.add_argument("--out", type=Path, help="write the figures as JSON here")
    args = ap.parse_args(argv)
    tmp = None
    store = args.store
    if store is None:
        tmp = Path(tempfile.mkdtemp(prefix="hrtp-startup-store-"))
        store = tmp / "store"
        made = subprocess.run([HRTP, "--store", str(store), "ingest"], capture_output=True, text=True)
        if made.returncode != 0:
            raise SystemExit(f"ingesting the bundled corpus failed: {made.stderr.strip()[-500:]}")
    try:
        res = {"fast_start": fast_start(store, args.rounds, llm=False if args.no_llm else None)}
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    if args.out:
        args.out.write_text(json.dumps(res, indent=2))
    from evals.bench.table import render_fast_start

    print(render_fast_start(res["fast_start"]))
    return res


if __name__ == "__main__":
    main()
