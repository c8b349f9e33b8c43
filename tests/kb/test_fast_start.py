"""Fast start (issue 13): the ONNX embedder gives sentence-transformers' vectors, a no-op ingest loads no model,
a cold `ask` imports neither torch nor the whole of nltk, and what makes that so (the vector memo, Punkt loaded
alone, the export's fallback) behaves."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from evals.sets import DEV, TEST, load_questions
from kb.models.embedder import OnnxEmbedder, TorchEmbedder, VectorMemo
from kb.models.load import export_onnx, get_embedder
from kb.ask.pipeline import KnowledgeBase
from kb.settings import BUNDLED_CORPUS, Settings
from kb.text.units import units
from kb.models.cache import default_cache_dir, minilm_path
from ingest.sync import sync_paths

HRTP = str(Path(sys.executable).parent / "hrtp")
HEAVY = ("torch", "sentence_transformers", "transformers", "scipy.stats", "sklearn", "llama_index.core")


def _corpus_texts(kb: KnowledgeBase) -> list[str]:
    """Everything the embedder is given for the bundled corpus: every stored chunk (as embedded at ingest),
    every sentence unit a reader or the verifier embeds, and the evaluation questions (as queries)."""
    chunks = [c for c, _ in kb.store.iter_chunks()]
    texts = [c.embed_text() for c in chunks]
    texts += [u.text for c in chunks for u in units(c.text)]
    texts += [q["question"] for q in load_questions(DEV) + load_questions(TEST)]
    return list(dict.fromkeys(texts))


@pytest.mark.parametrize("model", ["minilm", "mpnet"])  # the tests' model and the default one
@pytest.mark.parametrize("packed", [False, True], ids=["one-shot", "long-running"])  # hrtp ask; the chat
def test_onnx_vectors_match_sentence_transformers_on_the_whole_bundled_corpus(corpus_kb, model, packed):
    texts = _corpus_texts(corpus_kb)
    onnx = get_embedder(model, backend="onnx", packed=packed)
    torch = get_embedder(model, backend="torch")
    assert isinstance(onnx, OnnxEmbedder) and isinstance(torch, TorchEmbedder)
    assert onnx.name == torch.name and onnx.dim == torch.dim
    got = onnx.embed_batch(texts)  # at the batch size ingest and the readers use
    want = torch.embed_batch(texts, batch_size=16)
    cosines = np.sum(got * want, axis=1)
    assert len(texts) > 150 and cosines.min() >= 0.9999, texts[int(np.argmin(cosines))]
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_a_store_built_with_sentence_transformers_is_searched_alike_by_onnx(tmp_path):
    """Existing stores stay valid: vectors written by the torch embedder, questions embedded by ONNX."""
    settings = Settings(store_dir=tmp_path / "store", reader="extractive", model="minilm")
    built = KnowledgeBase(settings, get_embedder("minilm", backend="torch"))
    sync_paths(built, [BUNDLED_CORPUS], progress=False)
    onnx, torch = get_embedder("minilm", backend="onnx"), get_embedder("minilm", backend="torch")
    for q in load_questions(DEV)[:20]:
        by_onnx = [c.id for c, _ in built.store.query(onnx.embed_query(q["question"]), 5)]
        by_torch = [c.id for c, _ in built.store.query(torch.embed_query(q["question"]), 5)]
        assert by_onnx == by_torch, q["question"]


# what a user sees at the command line ------------------------------------------------------------------------
def _run_traced(*args: str) -> subprocess.CompletedProcess:
    """The real `hrtp` entry point, with Python reporting every module it imports (on stderr)."""
    return subprocess.run([sys.executable, "-X", "importtime", HRTP, *args], capture_output=True, text=True,
                          timeout=600)


def _imported(stderr: str) -> set[str]:
    return {line.rsplit("|", 1)[1].strip() for line in stderr.splitlines() if line.startswith("import time:")}


@pytest.fixture
def cli_store(tmp_path) -> Path:
    store = tmp_path / "cli"
    first = subprocess.run([HRTP, "--store", str(store), "ingest", "--json"], capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["chunks_embedded"] > 0
    return store


def test_a_no_op_ingest_never_loads_the_embedding_model(cli_store):
    again = _run_traced("-v", "--store", str(cli_store), "ingest")
    assert again.returncode == 0, again.stderr[-2000:]
    assert "3 unchanged" in again.stdout and "0 chunks embedded" in again.stdout
    assert "loading embedding model" not in again.stderr  # the line the embedder logs whenever it loads
    loaded = _imported(again.stderr)
    assert not loaded & {"onnxruntime", "tokenizers", *HEAVY}, loaded & {"onnxruntime", "tokenizers", *HEAVY}
    assert "bm25s" not in loaded  # nothing changed, so BM25 is neither rebuilt nor loaded


def test_a_changed_file_still_loads_the_model_and_embeds(cli_store, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "note.txt").write_text("The partnership meets every second Tuesday to review apprenticeship wages.\n")
    added = subprocess.run([HRTP, "-v", "--store", str(cli_store), "ingest", "--json", str(docs)],
                           capture_output=True, text=True, timeout=600)
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["chunks_embedded"] == 1
    assert "loading embedding model" in added.stderr
    assert "DEBUG" not in added.stderr  # bm25s, imported late now, sets its logger to DEBUG; -v must not show it


def test_a_cold_extractive_ask_imports_no_torch_and_not_all_of_nltk(cli_store):
    asked = _run_traced("--store", str(cli_store), "--reader", "extractive", "ask", "--json",
                        "What are WED's four key principles?")
    assert asked.returncode == 0, asked.stderr[-2000:]
    assert "Worker Centered" in json.loads(asked.stdout)["answer"]
    loaded = _imported(asked.stderr)
    assert "onnxruntime" in loaded and not loaded & set(HEAVY), loaded & set(HEAVY)
    assert "nltk.tokenize.punkt" in loaded and "nltk.collocations" not in loaded


def test_a_one_shot_ask_ends_at_once_with_its_output_whole_and_its_sentence_vectors_kept(cli_store, tmp_path):
    """`hrtp ask` leaves without Python's teardown (kb.cli.run): all it printed must arrive, through a pipe,
    with its exit code, and the sentence vectors it made must be there for the next process."""
    from evals.bench.startup import private_cache

    cache = private_cache(default_cache_dir(), tmp_path)  # the models, but an empty sentence-vector memo
    env = os.environ | {"HRTP_CACHE": str(cache)}
    question = "Who convenes a partnership?"
    asked = subprocess.run([HRTP, "--store", str(cli_store), "--reader", "extractive", "ask", "--json", "--local",
                            question], capture_output=True, text=True, env=env, timeout=600)
    assert asked.returncode == 0, asked.stderr[-2000:]
    answer = json.loads(asked.stdout)  # a line cut short would not parse
    assert answer["citations"] and not answer["refused"]
    (memo,) = (cache / "vectors").glob("*.sqlite")
    with sqlite3.connect(memo) as db:
        assert db.execute("SELECT COUNT(*) FROM vec").fetchone()[0] >= len(answer["citations"])

    wrong = subprocess.run([HRTP, "--store", str(cli_store), "ask"], capture_output=True, text=True, env=env, timeout=60)
    assert wrong.returncode == 2 and "give either a QUESTION or --questions FILE" in wrong.stderr


def test_the_startup_benchmark_measures_whole_processes(cli_store):
    from evals.bench.startup import fast_start
    from evals.bench.table import render_fast_start

    res = fast_start(cli_store, rounds=1, llm=False)
    s = res["summary"]
    for key in ("status", "noop_ingest", "ask_extractive", "ask_extractive_memo_empty"):
        run = res["runs"][key][0]
        assert run["exit"] == 0 and run["wall_s"] > 0 and run["cpu_s"] > 0, (key, run)
    assert "0 chunks embedded" in res["runs"]["noop_ingest"][0]["stdout"]
    assert "Sources:" in res["runs"]["ask_extractive_memo_empty"][0]["stdout"]
    chat = res["runs"]["chat"][0]
    assert chat["page_s"] > 0 and chat["startup_line"].startswith("HRTP chat on http://127.0.0.1:")
    handed = res["runs"]["ask_extractive_chat_running"][0]  # answered by the chat of that round
    assert handed["exit"] == 0 and "Sources:" in handed["stdout"]
    assert set(s["goals"]) >= {"noop_ingest_vs_status", "ask_extractive_2_5s", "chat_page_5s",
                               "ask_extractive_chat_running_2_5s"}
    table = render_fast_start(res)
    assert "### Start-up, whole processes" in table and "| `hrtp chat` to its first page |" in table


def test_prepare_reports_both_onnx_exports():
    done = subprocess.run([HRTP, "prepare", "--no-llm"], capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr
    for name in ("mpnet", "minilm"):
        assert f"ONNX export of {name}: " in done.stdout, done.stdout + done.stderr


# the pieces ------------------------------------------------------------------------------------------------
PUNKT_CHECK = r"""
import json, sys
from pathlib import Path
from kb.text.sentences import sentence_spans
texts = [p.read_text(errors="replace") for p in sorted(Path(sys.argv[1]).glob("*.txt"))]
texts += [json.loads(line)["question"] for f in sys.argv[2:] for line in open(f) if line.strip()]
ours = [sentence_spans(t) for t in texts]
left = sorted(m for m in sys.modules if m == "nltk" or m.startswith("nltk."))
import os, nltk, llama_index.core                      # the whole of nltk, configured as before
from nltk.tokenize import PunktTokenizer
nltk.data.path.insert(0, os.path.join(os.path.dirname(llama_index.core.__file__), "_static", "nltk_cache"))
ref = PunktTokenizer("english")
ref._params.abbrev_types.update({"dr", "mr", "mrs", "ms", "u.s", "e.g", "i.e", "etc", "inc", "vs", "no", "st", "jr", "sr"})
def spans(text):
    out, pos = [], 0
    for line in text.splitlines(keepends=True):
        s = line.strip()
        if s:
            off = pos + line.index(s[0])
            out += [(off + a, off + b) for a, b in ref.span_tokenize(s)]
        pos += len(line)
    return out
same = sum(o == spans(t) for o, t in zip(ours, texts))
print(json.dumps({"texts": len(texts), "same": same, "sentences": sum(map(len, ours)), "nltk_left": left,
                  "after": [list(s) for s in sentence_spans("Dr. Smith met the U.S. team. They agreed.")]}))
"""


def test_punkt_loaded_alone_splits_exactly_like_nltk_and_leaves_nltk_untouched():
    done = subprocess.run([sys.executable, "-c", PUNKT_CHECK, str(BUNDLED_CORPUS), str(DEV), str(TEST)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    res = json.loads(done.stdout)
    assert res["same"] == res["texts"] > 60 and res["sentences"] > 100
    assert res["nltk_left"] == []  # nothing of nltk stays registered: a later `import nltk` loads it whole
    assert res["after"] == [[0, 28], [29, 41]]  # still works once the real nltk is imported


def test_sentence_vectors_are_kept_for_the_next_process(tmp_path):
    first = OnnxEmbedder(export_onnx("minilm", default_cache_dir()), "all-MiniLM-L6-v2")
    first.memo = VectorMemo(tmp_path / "memo.sqlite", first.dim)
    texts = ["Partners meet monthly.", "The fund pays for 12 weeks of training.", "Partners meet monthly."]
    made = first.vectors(texts)
    assert np.allclose(made, first.embed_batch(texts), atol=1e-6)

    later = VectorMemo(tmp_path / "memo.sqlite", first.dim)  # what the next process opens
    kept = later.get(texts)
    assert set(kept) == set(texts)
    assert np.array_equal(np.stack([kept[t] for t in texts]), made)


def test_vector_memo_keeps_the_newest_when_full(tmp_path):
    memo = VectorMemo(tmp_path / "memo.sqlite", 4, limit=1000)
    for i in range(3):
        memo.put({f"text {i}-{j}": np.full(4, j, dtype=np.float32) for j in range(600)})
    assert len(memo.get([f"text 2-{j}" for j in range(600)])) == 600
    assert len(memo.get([f"text 0-{j}" for j in range(600)])) < 600


def test_a_model_that_cannot_be_exported_falls_back_to_sentence_transformers(tmp_path, caplog):
    """A CLS-pooled copy of MiniLM: not a layout the export reproduces, so the embedder is sentence-transformers,
    with a warning that says why, and the failure is remembered instead of being tried at every start."""
    folder = tmp_path / "cls-model"
    shutil.copytree(minilm_path(), folder)
    pooling = folder / "1_Pooling" / "config.json"
    config = json.loads(pooling.read_text())
    config.update({"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False})
    pooling.write_text(json.dumps(config))
    cache = tmp_path / "cache"
    with caplog.at_level("WARNING", logger="kb.models.embedder"):
        emb = get_embedder(str(folder), cache)
    assert isinstance(emb, TorchEmbedder)
    assert "only Transformer + mean Pooling" in caplog.text
    assert list((cache / "onnx").glob("*.failed"))
    assert not [p for p in (cache / "onnx").iterdir() if p.is_dir()]  # nothing half-made is left
