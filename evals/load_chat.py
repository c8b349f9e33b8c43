"""A bounded load test of `hrtp chat` on loopback: N clients ask M questions each through the /chat API.

    python -m evals.load_chat [--clients 20] [--questions 25] [--store .hrtp]

Starts the app itself on a free 127.0.0.1 port (or uses --url), stops by itself, prints errors and
latency percentiles as JSON. Traffic goes only to this machine.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from evals.metrics import percentile
from evals.sets import DEV, TEST, load_questions


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, seconds: float = 180) -> None:
    t = time.time()
    while time.time() - t < seconds:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {seconds:.0f} s")


def load(url: str, clients: int, per_client: int) -> dict:
    from gradio_client import Client

    pool = [q["question"] for q in load_questions(DEV) + load_questions(TEST)]
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        try:
            client = Client(url, verbose=False)
        except Exception as exc:  # counted: the report says how many clients could not connect
            with lock:
                errors.append(f"client {i}: {exc}")
            return
        for j in range(per_client):
            q = pool[(i * per_client + j) % len(pool)]
            t = time.perf_counter()
            try:
                text = client.predict(q, api_name="/chat")
                ok = isinstance(text, str) and text.strip()
            except Exception as exc:  # counted, see above
                ok, text = False, str(exc)
            with lock:
                latencies.append((time.perf_counter() - t) * 1000)
                if not ok:
                    errors.append(f"client {i} q{j}: {str(text)[:100]}")

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=900)
    wall = time.perf_counter() - t0
    return {"clients": clients, "questions_each": per_client, "requests": len(latencies), "errors": len(errors),
            "error_samples": errors[:5], "p50_ms": round(percentile(latencies, 50), 1),
            "p95_ms": round(percentile(latencies, 95), 1), "wall_s": round(wall, 1),
            "throughput_rps": round(len(latencies) / wall, 2)}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m evals.load_chat", description=__doc__)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--questions", type=int, default=25)
    ap.add_argument("--store", default=".hrtp")
    ap.add_argument("--url", help="an app already running; default: start one")
    args = ap.parse_args(argv)
    proc = None
    url = args.url
    if not url:
        port = _free_port()
        url = f"http://127.0.0.1:{port}/"
        hrtp = str(Path(sys.executable).parent / "hrtp")
        proc = subprocess.Popen([hrtp, "--store", args.store, "chat", "--port", str(port)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait(url)
        result = load(url, args.clients, args.questions)
    finally:
        if proc:
            proc.terminate()
            proc.wait(timeout=30)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
