"""Export a sentence-transformers model to ONNX, once, and check it against sentence-transformers.

The query path then runs the same network through ONNX Runtime and `tokenizers` (kb/models/embedder.py), with no
torch in the process, so a cold `hrtp ask` does not pay for importing sentence-transformers.

What is written into the output folder:
- `model.onnx` + `model.onnx.data`: the transformer (token ids and mask in, last hidden states out), with
  ONNX Runtime's graph optimisations already applied and the weights in a separate file, so a process loads
  it by mapping the file (milliseconds) instead of parsing and re-optimising 440 MB (1.5-3 s).
- `tokenizer.json`: the model's fast tokenizer as sentence-transformers runs it.
- `meta.json`: max sequence length, padding token, dimension, and how closely the export matched.

Pooling (mean over the mask) and normalisation stay in numpy, as sentence-transformers does them. Only that
layout (Transformer, mean Pooling, Normalize) is exported; anything else raises `ExportError` and the caller
keeps sentence-transformers. Needs torch, sentence-transformers and the `onnx` package (torch.onnx.export
writes its graph through it); none of them is imported at query time.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from kb.models.cache import lock, source_stamp

log = logging.getLogger(__name__)

FORMAT = 1  # what an export folder holds; an export of another format is made again
MIN_COSINE = 0.9999  # an export whose vectors differ more from sentence-transformers' is refused

# Probes for the check at export time: short and long, padded in one batch, and one past the length limit.
PROBES = [
    "Who convenes a High Road Training Partnership?",
    "  Leading and trailing spaces, tabs\tand\nnewlines.  ",
    "Workforce Equity & Diversity (WED): four key principles; 3.5% of $1,200,000 — “quoted”, naïve café.",
    "x",
    " ".join(["The partnership trains incumbent workers and new hires in the regional health-care sector."] * 60),
]


class ExportError(Exception):
    """The model cannot be exported or its export does not reproduce its vectors."""


def export(source: Path, out: Path) -> dict:
    """Export the sentence-transformers folder `source` into the empty folder `out`; return its meta."""
    try:
        with warnings.catch_warnings():  # the tracer's warnings are about code paths the checks below cover
            warnings.simplefilter("ignore")
            return _export(source, out)
    except ExportError:
        raise
    except Exception as exc:  # torch's exporter and ONNX Runtime fail in many ways; each means "no export"
        raise ExportError(f"{exc.__class__.__name__}: {str(exc)[:300]}") from exc


def _export(source: Path, out: Path) -> dict:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a hub lookup would hang on an offline machine
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import onnx  # noqa: F401 - torch.onnx.export needs it; a clear message beats torch's
        import onnxruntime as ort
        import torch
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise ExportError(f"{exc.name} is not installed (pip install -e . installs it)") from exc

    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    t = time.perf_counter()
    st = SentenceTransformer(str(source), device="cpu")
    kinds = [type(m).__name__ for m in st]
    if kinds[:2] != ["Transformer", "Pooling"] or getattr(st[1], "pooling_mode", None) != "mean" \
            or any(k != "Normalize" for k in kinds[2:]):
        raise ExportError(f"only Transformer + mean Pooling (+ Normalize) models are exported, not {kinds}")
    tokenizer = st.tokenizer
    if not hasattr(tokenizer, "backend_tokenizer"):
        raise ExportError("the model has no fast tokenizer to run without transformers")

    class _Hidden(torch.nn.Module):
        def __init__(self, model) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            return self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    sample = tokenizer(PROBES[:3], padding=True, truncation=True, max_length=st.max_seq_length, return_tensors="pt")
    raw = out / "raw.onnx"
    with torch.no_grad():
        torch.onnx.export(_Hidden(st[0].auto_model.eval()), (sample["input_ids"], sample["attention_mask"]), str(raw),
                          input_names=["input_ids", "attention_mask"], output_names=["hidden"], opset_version=17,
                          dynamic_axes={n: {0: "batch", 1: "tokens"} for n in ("input_ids", "attention_mask", "hidden")},
                          dynamo=False)
    _optimise(ort, raw, out / "model.onnx", "model.onnx.data")
    raw.unlink()
    tokenizer.backend_tokenizer.save(str(out / "tokenizer.json"))
    meta = {"format": FORMAT, "max_seq_length": int(st.max_seq_length), "dim": int(st.get_embedding_dimension()),
            "pad_id": int(tokenizer.pad_token_id), "pad_token": str(tokenizer.pad_token),
            "onnxruntime": ort.__version__, "source": str(source)}
    (out / "meta.json").write_text(json.dumps(meta, indent=1))

    from kb.models.embedder import OnnxEmbedder  # the runtime path itself, exactly as queries will use it

    got = OnnxEmbedder(out, "check").embed_batch(PROBES, batch_size=len(PROBES))
    want = st.encode(PROBES, batch_size=len(PROBES), normalize_embeddings=True, convert_to_numpy=True,
                     show_progress_bar=False)
    worst = float(np.min(np.sum(got * want, axis=1)))
    if worst < MIN_COSINE:
        raise ExportError(f"the ONNX vectors differ from sentence-transformers' (cosine {worst:.6f} < {MIN_COSINE})")
    meta["check_min_cosine"] = round(worst, 8)  # the caller writes the final meta.json
    log.info("exported %s to ONNX in %.0f s (cosine to sentence-transformers >= %.6f)", source.name,
             time.perf_counter() - t, worst)
    return meta


def _optimise(ort, raw: Path, target: Path, data_name: str) -> None:
    """ONNX Runtime's own graph optimisations, applied once and saved with the weights in a separate file
    (which a session maps instead of copying). Basic and extended levels only: the layout-specific level
    would tie the file to this CPU."""
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    so.optimized_model_filepath = str(target)
    so.log_severity_level = 3
    so.add_session_config_entry("session.optimized_model_external_initializers_file_name", data_name)
    so.add_session_config_entry("session.optimized_model_external_initializers_min_size_in_bytes", "1024")
    ort.InferenceSession(str(raw), so, providers=["CPUExecutionProvider"])


# ONNX exports of the embedding models ------------------------------------------------------------------
def onnx_export_dir(name: str, source: Path, cache: Path, retry: bool = False) -> Path:
    """The ONNX export of the sentence-transformers folder `source`, made on first use (about a minute for
    mpnet; `hrtp prepare` makes it at setup). Raises kb.onnx_export.ExportError when it cannot be made; a
    failed export is remembered (not tried at every start) until the model changes or `retry` is given."""
    target = cache / "onnx" / name
    failed = target.with_name(name + ".failed")
    stamp = source_stamp(source)
    if _export_is_current(target, stamp):
        return target
    with lock(cache, f"onnx-{name}"):
        if _export_is_current(target, stamp):
            return target
        if not retry and _failed_before(failed, stamp):
            raise ExportError(f"{failed.read_text().splitlines()[1]} (remembered in {failed}; `hrtp prepare` tries again)")
        log.warning("exporting the embedding model %s to ONNX into %s (once)", name, target)
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{name}-") as tmp:
            work = Path(tmp) / "export"
            work.mkdir()
            try:
                meta = export(source, work) | {"source_stamp": stamp}
            except ExportError as exc:
                failed.write_text(f"{stamp}\n{exc}\n")
                raise
            (work / "meta.json").write_text(json.dumps(meta, indent=1))
            if target.exists():  # an export of another source or ONNX Runtime version
                shutil.rmtree(target)
            os.replace(work, target)
            failed.unlink(missing_ok=True)
    return target


def _failed_before(failed: Path, stamp: str) -> bool:
    try:
        return failed.read_text().splitlines()[0] == stamp
    except (OSError, IndexError):
        return False


def _export_is_current(target: Path, stamp: str) -> bool:
    try:
        meta = json.loads((target / "meta.json").read_text())
    except (OSError, ValueError):
        return False
    if meta.get("format") != FORMAT or meta.get("source_stamp") != stamp or "check_min_cosine" not in meta:
        return False
    import onnxruntime  # needed a moment later by the embedder anyway

    return meta.get("onnxruntime") == onnxruntime.__version__
