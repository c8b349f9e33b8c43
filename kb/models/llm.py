"""Language-model backends for the llm reader: one interface, two ways to run a model.

    LLM.generate(messages, max_tokens=..., on_text=...) -> Generation
    ├── LocalLLM   a GGUF file through llama-cpp-python (default: the packaged Qwen2.5-Coder-1.5B-Instruct)
    └── ServerLLM  an OpenAI-compatible /v1/chat/completions server (llama.cpp's server, vLLM, Ollama): the way
                   a team with a GPU machine serves many users

Decoding is greedy (temperature 0), so an answer is reproducible. Besides the text, a generation reports
`p_refusal`: the probability the model gave, at its first step, to the first token of the refusal phrase.
That is the model's own answerability judgement, read for free from the answer it writes anyway.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from kb.errors import ConfigError, KBError

log = logging.getLogger(__name__)

REFUSAL_PHRASE = "NO ANSWER"
N_CTX = 4096


class LLMError(KBError):
    """The model could not answer (server down, bad reply); the reader falls back to quoting."""


@dataclass
class Generation:
    text: str
    p_refusal: float | None  # None when the backend cannot report token probabilities


class LLM(Protocol):
    name: str

    def generate(self, messages: list[dict], *, max_tokens: int,
                 on_text: Callable[[str], None] | None = None) -> Generation: ...

    def count_tokens(self, text: str) -> int: ...


class LocalLLM:
    """A GGUF model in this process. One generation at a time (the model holds one KV cache); the longest
    prompt prefix shared with the previous call is reused, so the fixed instructions are read once."""

    def __init__(self, model_path: Path, threads: int = 0, state_dir: Path | None = None) -> None:
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise ConfigError("llama-cpp-python is not installed; run `make setup` (it builds it for this CPU), "
                              "or use --reader extractive.") from exc
        if not Path(model_path).is_file():
            raise ConfigError(f"No GGUF model at {model_path}; give --llm-model PATH or run `hrtp prepare`.")
        t = time.perf_counter()
        self._llm = Llama(model_path=str(model_path), n_ctx=N_CTX, n_batch=512, verbose=False,
                          n_threads=threads or os.cpu_count() or 2)
        self.path = Path(model_path)
        self.name = self.path.name
        self.build = _build_id()
        self.load_ms = (time.perf_counter() - t) * 1000
        self._lock = threading.Lock()
        first = self._llm.tokenize(REFUSAL_PHRASE.encode(), add_bos=False, special=False)[0]
        self._refusal_ids = [first]
        log.info("loaded %s in %.1f s", self.name, self.load_ms / 1000)
        # The model's memory of a whole earlier prompt, kept on disk: a new process reads it back instead of
        # re-reading the fixed instructions and examples (about 5 s on 2 cores); only the shared prefix is used.
        # Named by the model file, the context size and the llama.cpp build: a state computed by other kernels
        # would answer (very slightly) differently from a fresh process.
        self._state = (Path(state_dir) / f"{self.name}.{self.path.stat().st_size}.ctx{N_CTX}.{self.build}.kv"
                       if state_dir else None)
        self.restored_tokens = self._restore() if self._state else 0

    def _restore(self) -> int:
        import ctypes

        import llama_cpp

        if not self._state.is_file():
            return 0
        tokens = (llama_cpp.llama_token * N_CTX)()
        count = ctypes.c_size_t(0)
        if not llama_cpp.llama_state_load_file(self._llm.ctx, str(self._state).encode(), tokens, N_CTX,
                                               ctypes.byref(count)):
            log.warning("could not read the saved model state %s; it will be written again", self._state)
            self._state.unlink(missing_ok=True)
            return 0
        n = int(count.value)
        self._llm.input_ids[:n] = tokens[:n]  # what generate() compares a new prompt with, token by token
        self._llm.n_tokens = n
        log.info("restored %d prompt tokens of model state", n)
        return n

    def _save(self) -> None:
        import llama_cpp

        ids = self._llm.input_ids[: self._llm.n_tokens].tolist()
        tmp = self._state.with_suffix(f".tmp{os.getpid()}")
        try:
            self._state.parent.mkdir(parents=True, exist_ok=True)
            if llama_cpp.llama_state_save_file(self._llm.ctx, str(tmp).encode(),
                                               (llama_cpp.llama_token * len(ids))(*ids), len(ids)):
                os.replace(tmp, self._state)
                for old in self._state.parent.glob(f"{self.name}.*.kv"):  # left by another build or context size
                    if old != self._state:
                        old.unlink(missing_ok=True)
        except OSError as exc:
            log.info("model state not saved (%s)", exc)
        finally:
            tmp.unlink(missing_ok=True)

    def count_tokens(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode(), add_bos=False, special=False))

    def generate(self, messages: list[dict], *, max_tokens: int,
                 on_text: Callable[[str], None] | None = None) -> Generation:
        from llama_cpp import LogitsProcessorList

        first: list[float] = []

        def watch(_ids, scores):  # called before each token is sampled; the first call is the answer's first token
            if not first:
                z = scores - np.max(scores)
                p = np.exp(z)
                first.append(float(p[self._refusal_ids].sum() / p.sum()))
            return scores

        parts: list[str] = []
        with self._lock:
            stream = self._llm.create_chat_completion(
                messages, temperature=0.0, max_tokens=max_tokens, stream=True,
                logits_processor=LogitsProcessorList([watch]))
            for chunk in stream:
                delta = chunk["choices"][0].get("delta", {}).get("content")
                if delta:
                    parts.append(delta)
                    if on_text:
                        on_text(delta)
            if self._state and not self.restored_tokens and not self._state.exists():
                self._save()
        return Generation("".join(parts), first[0] if first else None)


def _build_id() -> str:
    """Which llama.cpp build runs here: its version and the CPU features it was compiled with."""
    import llama_cpp

    info = llama_cpp.llama_print_system_info().decode(errors="replace")
    return hashlib.sha256(f"{llama_cpp.__version__} {info}".encode()).hexdigest()[:10]


class ServerLLM:
    """A model behind an OpenAI-compatible HTTP API; streams with server-sent events."""

    def __init__(self, url: str, model: str | None = None, timeout: float = 120.0) -> None:
        import httpx

        self.url = url.rstrip("/")
        if not self.url.endswith("/v1"):
            self.url += "/v1"
        self.name = model or "server"
        self._client = httpx.Client(timeout=timeout)
        self._logprobs = True  # asked for until the server refuses them
        try:
            got = self._client.get(f"{self.url}/models")
            got.raise_for_status()
            ids = [m.get("id") for m in got.json().get("data", [])]
            if not model and ids:
                self.name = ids[0]
        except Exception as exc:
            raise ConfigError(f"Cannot reach the model server at {url} ({exc.__class__.__name__}); start it (for example "
                              "`python -m llama_cpp.server --model FILE.gguf`) or drop --llm-url.") from exc

    def count_tokens(self, text: str) -> int:
        return int(len(text.split()) * 1.4) + 1  # servers do not expose a tokenizer; English runs ~1.3-1.4 per word

    def generate(self, messages: list[dict], *, max_tokens: int,
                 on_text: Callable[[str], None] | None = None) -> Generation:
        body = {"model": self.name, "messages": messages, "temperature": 0, "max_tokens": max_tokens, "stream": True}
        try:
            return self._stream(body, on_text)
        except LLMError:
            if not self._logprobs:
                raise
            self._logprobs = False  # some servers refuse logprobs; answer without the refusal probability
            log.info("the model server refused logprobs; answering without them")
            return self._stream(body, on_text)

    def _stream(self, body: dict, on_text) -> Generation:
        import httpx

        if self._logprobs:
            body = body | {"logprobs": True, "top_logprobs": 5}
        parts: list[str] = []
        p_refusal: float | None = None
        try:
            with self._client.stream("POST", f"{self.url}/chat/completions", json=body) as resp:
                if resp.status_code >= 400:
                    raise LLMError(f"the model server answered {resp.status_code}: {resp.read()[:200]!r}")
                for line in resp.iter_lines():
                    if not line.startswith("data:") or line.strip() == "data: [DONE]":
                        continue
                    choice = (json.loads(line[5:]).get("choices") or [{}])[0]
                    if p_refusal is None and self._logprobs:
                        p_refusal = _refusal_from_logprobs(choice.get("logprobs"))
                    delta = (choice.get("delta") or {}).get("content")
                    if delta:
                        parts.append(delta)
                        if on_text:
                            on_text(delta)
        except httpx.HTTPError as exc:
            raise LLMError(f"the model server at {self.url} failed ({exc.__class__.__name__}); is it still running?") from exc
        return Generation("".join(parts), p_refusal)


def _refusal_from_logprobs(logprobs: dict | None) -> float | None:
    content = (logprobs or {}).get("content") or []
    if not content:
        return None
    top = content[0].get("top_logprobs") or [{"token": content[0].get("token", ""), "logprob": content[0].get("logprob", -99)}]
    word = REFUSAL_PHRASE.split()[0]
    return float(sum(np.exp(t["logprob"]) for t in top if t.get("token", "").strip() and
                     word.startswith(t["token"].strip()) and t["token"].strip().isupper()))


def smoke_test(model_path: Path, threads: int = 0) -> dict[str, float]:
    """Load the model and generate one token, in a child process: a llama-cpp-python build that uses
    instructions this CPU lacks dies with SIGILL, and that must be a clear setup error, not a crash at the
    first question."""
    import subprocess
    import sys

    code = ("import json, sys, time; from pathlib import Path; from kb.models.llm import LocalLLM; t = time.perf_counter(); "
            f"llm = LocalLLM(Path({str(model_path)!r}), {threads}); "
            "g = llm.generate([{'role': 'user', 'content': 'Say OK.'}], max_tokens=1); "
            "print(json.dumps({'load_s': llm.load_ms / 1000, 'total_s': time.perf_counter() - t}))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    if proc.returncode == -4:
        raise ConfigError("llama-cpp-python was built for instructions this CPU lacks (Illegal instruction). Rebuild "
                          "it: `make rebuild-llm` (CMAKE_ARGS with AMX off, see the Makefile).")
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise ConfigError(f"the reader model failed its smoke test ({tail}); run `make setup` again.")
    return json.loads(proc.stdout.strip().splitlines()[-1])
