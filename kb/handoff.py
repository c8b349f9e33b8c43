"""A running `hrtp chat` answers `hrtp ask` for the shell, so a one-shot question does not pay again for
starting the libraries and loading the models. The chat gives `serve_ask` its own answer callback; this module
knows only the record, the token and HTTP.

The chat serves one endpoint, `POST /ask`, on a loopback port of its own, and says where in
`<store>/resident.json` (owner-only, 0600): its port, its pid, a random token and a fingerprint of every
setting that shapes an answer. `hrtp ask` reads that file with the standard library alone and hands the
question over only when the process is alive, the fingerprints are equal (same store, models and
thresholds) and the token is accepted; otherwise, or on any failure, it answers in its own process as it
always did. The endpoint grants nothing new: whoever can read the token can read the store itself.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable

from kb.settings import Settings

log = logging.getLogger(__name__)

FILE = "resident.json"
MAX_BODY = 64 * 1024


def fingerprint(settings: Settings) -> str:
    """Every setting but the reader (a request names its own): two processes with equal fingerprints give the
    same answer to the same question."""
    values = {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings) if f.name != "reader"}
    for key in ("store_dir", "cache_dir", "domain_file"):
        values[key] = str(Path(values[key]).resolve())
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:16]


# the chat's side ------------------------------------------------------------------------------------------
class Resident:
    """The endpoint, served from a daemon thread until `close()`."""

    def __init__(self, settings: Settings, respond: Callable[[dict], tuple[int, dict]]) -> None:
        self.respond = respond  # a request with the right fingerprint -> (HTTP status, body): the chat answers
        self.token = secrets.token_urlsafe(24)
        self.fingerprint = fingerprint(settings)
        self.path = settings.store_dir / FILE
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, name="hrtp-resident", daemon=True).start()
        record = {"port": self.port, "pid": os.getpid(), "token": self.token, "fingerprint": self.fingerprint}
        self.path.parent.mkdir(parents=True, exist_ok=True)  # with a Chroma server, nothing else may have made it
        tmp = self.path.with_name(f".{FILE}.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(record, fh)
        os.replace(tmp, self.path)
        log.info("answering `hrtp ask` for this store on 127.0.0.1:%d", self.port)

    def answer(self, request: dict) -> tuple[int, dict]:
        if request.get("fingerprint") != self.fingerprint:
            return 409, {"error": "this chat runs with other settings"}
        return self.respond(request)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        try:
            if json.loads(self.path.read_text()).get("pid") == os.getpid():  # another chat may have taken over
                self.path.unlink()
        except (OSError, ValueError):
            pass


def serve_ask(settings: Settings, respond: Callable[[dict], tuple[int, dict]]) -> Resident | None:
    """Start answering `hrtp ask` for this store with `respond`; None (with a warning) when the record cannot be
    written."""
    try:
        return Resident(settings, respond)
    except OSError as exc:  # e.g. a read-only store folder: the chat works, `hrtp ask` answers alone
        log.warning("`hrtp ask` will not be handed to this chat: cannot write %s (%s)", settings.store_dir,
                    exc.strerror or exc)
        return None


def _handler(resident: Resident) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (the http.server name)
            if self.path != "/ask":
                return self._reply(404, {"error": "not found"})
            sent = self.headers.get("Authorization", "").removeprefix("Bearer ")
            if not hmac.compare_digest(sent.encode(), resident.token.encode()):
                return self._reply(403, {"error": "bad token"})
            length = int(self.headers.get("Content-Length") or 0)
            if not 0 < length <= MAX_BODY:
                return self._reply(413, {"error": f"the body must be 1 to {MAX_BODY} bytes"})
            try:
                request = json.loads(self.rfile.read(length))
            except ValueError:
                return self._reply(400, {"error": "the body is not JSON"})
            self._reply(*resident.answer(request if isinstance(request, dict) else {}))

        def _reply(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args) -> None:  # noqa: A002 (the http.server signature)
            log.debug("resident: " + format, *args)

    return Handler


# the shell's side -----------------------------------------------------------------------------------------
def running(settings: Settings) -> dict | None:
    """The record of the chat answering for this store ({"port", "pid", "token", "fingerprint"}) while its
    process is alive; None when there is none or it has gone."""
    path = settings.store_dir / FILE
    try:
        st = path.stat()
        if st.st_uid != os.getuid() or st.st_mode & 0o022:  # someone else could have pointed it anywhere
            log.info("ignoring %s: it must be yours and writable by you alone", path)
            return None
        record = json.loads(path.read_text())
        record["port"], record["pid"], record["token"] = int(record["port"]), int(record["pid"]), str(record["token"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.info("ignoring %s: %s", path, exc)
        return None
    try:
        os.kill(record["pid"], 0)
    except ProcessLookupError:
        log.info("the chat that wrote %s has exited", path)
        return None
    except PermissionError:
        pass  # another user's process under a reused pid: the connection or the token will fail
    return record


def forward(settings: Settings, question: str, reader: str | None = None, retriever: str | None = None,
            timeout: float = 600, docs: list[str] | None = None) -> dict | None:
    """The running chat's answer, {"answer": Answer JSON, "text": the CLI's text}; None when no chat with these
    settings is running or it cannot answer (the caller then answers itself)."""
    record = running(settings)
    if record is None:
        return None
    if record.get("fingerprint") != fingerprint(settings):
        log.info("a chat runs on this store with other settings; answering here")
        return None
    port, pid, token = record["port"], record["pid"], record["token"]
    body = json.dumps({"question": question, "reader": reader or settings.reader, "retriever": retriever,
                       "docs": docs or [], "fingerprint": record["fingerprint"]}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/ask", data=body, method="POST", headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            result = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        log.info("the chat (pid %d) did not answer: HTTP %d %s", pid, exc.code, exc.read()[:200].decode(errors="replace"))
        return None
    except (OSError, ValueError) as exc:
        log.info("the chat (pid %d) did not answer: %s; answering here", pid, exc)
        return None
    log.info("answered by the chat running as pid %d", pid)
    return result
