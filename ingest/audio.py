"""Recordings in: audio and video files transcribed by Whisper base (faster-whisper on CTranslate2, with its
Silero voice-activity filter) and indexed like a transcript, a sentence or two a passage, each cited by the
time it is spoken (`mm:ss`).

The transcript is kept as WebVTT in `<store>/transcripts/<SHA-256 of the recording>.vtt`, so re-ingesting a
recording (changed name, another folder, removed and added again) transcribes nothing. A transcript beside
the recording with its name (`talk.mp4` + `talk.vtt`, what `hrtp transcribe` writes for a person to correct)
replaces the machine one. Whisper runs in the ingest, under the store's ingest lock, never beside a second
ingest's Whisper on the same store.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ingest.load import RECORDINGS, Cue, Loaded, Segment, decode_text, parse_cues
from ingest.manifest import cue_title, name_title
from kb.errors import ConfigError, LoadError
from kb.settings import Settings

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000  # what Whisper reads
WINDOW_S = 300  # Whisper gets about five minutes at once: it computes the features of all it is given together
TRUNCATED = 0.9  # decoding less than this share of the duration the file declares means it was cut short
SHORT_PASSAGE = 12  # words: a passage shorter than this ("Okay. Next slide.") takes the next cue in too
MAX_CUE_WORDS = 40  # a sentence longer than this is cut (Whisper's punctuation can be sparse)


def is_recording(path: str | Path) -> bool:
    return Path(path).suffix.lower() in RECORDINGS


def corrected_transcript(recording: Path) -> Path | None:
    """The transcript a person keeps beside the recording, under its name, if there is one."""
    side = recording.with_suffix(".vtt")
    return side if side.is_file() else None


def recording_of(vtt: Path) -> Path | None:
    """The recording a `.vtt` file is the corrected transcript of (same folder, same name), if any."""
    if vtt.suffix.lower() != ".vtt":
        return None
    return next((p for ext in RECORDINGS for p in (vtt.with_suffix(ext), vtt.with_suffix(ext.upper())) if p.is_file()),
                None)


def stamp(seconds: float) -> str:
    """A recording's locator: `mm:ss`, or `h:mm:ss` past the first hour."""
    h, rest = divmod(int(seconds), 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60:02d}:{rest % 60:02d}"


class Transcriber:
    """Whisper base, loaded on first use and kept for the files that follow."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.transcribed = 0  # recordings that went through Whisper (not the kept transcript)

    @functools.cached_property
    def model(self):
        from faster_whisper import WhisperModel

        from kb.models.cache import whisper_model_dir

        path = whisper_model_dir(self.settings.cache_dir)
        try:
            return WhisperModel(str(path), device="cpu", compute_type="int8", cpu_threads=self.settings.whisper_threads,
                                local_files_only=True)
        except (RuntimeError, ValueError, OSError) as exc:
            raise ConfigError(f"The speech-to-text model in {path} does not load ({exc}); delete that folder and run "
                              "`hrtp prepare`.") from exc

    def transcribe(self, path: Path, progress: bool | None = None) -> list[Cue]:
        """Sentence cues of the speech in `path`; a progress bar in minutes of audio. LoadError when the file
        is not a recording that can be decoded, or holds no speech."""
        from tqdm import tqdm

        audio = decode(path)
        minutes = len(audio) / SAMPLE_RATE / 60
        bar = tqdm(total=minutes, unit="min", desc=f"transcribe {path.name}"[:40], leave=False,
                   disable=(not progress) if progress is not None else None,
                   bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total:.1f} min of audio [{elapsed}<{remaining}]")
        words = []
        with bar:
            for a, b in windows(audio):
                offset = a / SAMPLE_RATE
                segments, _ = self.model.transcribe(audio[a:b], language=self.settings.whisper_language or None,
                                                    vad_filter=True, word_timestamps=True)
                for seg in segments:
                    words += [Word(offset + w.start, offset + w.end, w.word) for w in seg.words or []]
                    bar.update(max(0.0, min((offset + seg.end) / 60, minutes) - bar.n))
                bar.update(max(0.0, b / SAMPLE_RATE / 60 - bar.n))
        self.transcribed += 1
        cues = sentence_cues(words)
        if not cues:
            raise LoadError(str(path), "no speech found (silence, music or noise only)")
        return cues


@dataclass
class Word:
    start: float
    end: float
    word: str


def windows(audio, seconds: int = WINDOW_S) -> list[tuple[int, int]]:
    """[start, end) sample ranges of about `seconds` each, cut at the quietest fifth of a second in the ten
    seconds before each boundary, so a cut falls in a pause, not in a word."""
    import numpy as np

    frame, cuts, size = SAMPLE_RATE // 5, [0], seconds * SAMPLE_RATE
    while len(audio) - cuts[-1] > size + 30 * SAMPLE_RATE:  # no window shorter than half a minute
        hi = cuts[-1] + size
        lo = hi - 10 * SAMPLE_RATE
        energy = np.square(audio[lo:hi]).reshape(-1, frame).mean(axis=1)
        cuts.append(lo + int(energy.argmin()) * frame + frame // 2)
    return list(zip(cuts, cuts[1:] + [len(audio)]))


def decode(path: Path):
    """The recording's first audio track as 16 kHz mono float32. Each way a file can fail is one reason."""
    import av
    from faster_whisper.audio import decode_audio

    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(4096)
    except OSError as exc:
        raise LoadError(str(path), f"cannot read the file ({exc.strerror or exc})") from exc
    if size == 0:
        raise LoadError(str(path), "the file is empty")
    if _looks_like_text(head):
        raise LoadError(str(path), f"a text file, not a {path.suffix.lower()} recording; is the extension wrong?")
    riff = int.from_bytes(head[4:8], "little") + 8 if head[:4] == b"RIFF" and head[8:12] == b"WAVE" else 0
    if size < riff < 0xFFFFFFFF:  # FFmpeg takes a WAV's length from the file, not its header
        raise LoadError(str(path), f"truncated: its header declares {riff / 2**20:.1f} MB but the file holds "
                                   f"{size / 2**20:.1f} MB; copy the whole file again")
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.audio:
                what = "the video has no audio track" if container.streams.video else "no audio track found"
                raise LoadError(str(path), f"{what}; nothing to transcribe")
            declared = container.duration / 1_000_000 if container.duration else None
        audio = decode_audio(str(path), sampling_rate=SAMPLE_RATE)
    except (av.error.FFmpegError, OSError, ValueError, EOFError) as exc:
        raise LoadError(str(path), f"damaged or truncated: the recording could not be decoded ({_short(exc)})") from exc
    seconds = len(audio) / SAMPLE_RATE
    if seconds < 0.1:
        raise LoadError(str(path), "damaged or truncated: no audio could be decoded from it")
    if declared and seconds < TRUNCATED * declared - 1:
        raise LoadError(str(path), f"truncated: it declares {stamp(declared)} of audio but only {stamp(seconds)} "
                                   "could be decoded; copy the whole file again")
    return audio


def _looks_like_text(head: bytes) -> bool:
    try:
        sample = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:
            return False
        sample = head[: exc.start].decode("utf-8")
    return bool(sample.strip()) and all(ch.isprintable() or ch in "\t\n\r\f" for ch in sample)


def _short(exc: BaseException) -> str:
    return re.sub(r"\s+", " ", re.sub(r"\[Errno -?\d+\] ", "", str(exc)) or exc.__class__.__name__)[:120]


def sentence_cues(words) -> list[Cue]:
    """Whisper's timed words cut into sentences (at . ? ! or every MAX_CUE_WORDS words), so a passage starts
    where its first sentence is spoken."""
    cues: list[Cue] = []
    cur: list = []
    for w in words:
        cur.append(w)
        if w.word.strip().endswith((".", "?", "!")) or len(cur) >= MAX_CUE_WORDS:
            cues.append(Cue(cur[0].start, "".join(x.word for x in cur).strip(), end=cur[-1].end))
            cur = []
    if cur:
        cues.append(Cue(cur[0].start, "".join(x.word for x in cur).strip(), end=cur[-1].end))
    return [c for c in cues if c.text]


def to_vtt(cues: list[Cue], note: str = "") -> str:
    def t(s: float) -> str:
        ms = round(s * 1000)
        return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"

    head = "WEBVTT\n\n" + (f"NOTE {note}\n\n" if note else "")
    return head + "".join(f"{t(c.start)} --> {t(c.end if c.end is not None else c.start)}\n{c.text}\n\n" for c in cues)


def _write_atomic(target: Path, text: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def transcript_vtt(path: Path, recording_sha: str, settings: Settings, transcriber: Transcriber,
                   progress: bool | None = None) -> tuple[str, Path]:
    """The recording's transcript as WebVTT text and the file it came from: a corrected transcript beside the
    recording (copied into the store, replacing the machine one), else the one kept in the store, else
    Whisper's, which is then kept."""
    kept = settings.store_dir / "transcripts" / f"{recording_sha}.vtt"
    side = corrected_transcript(path)
    if side is not None:
        data = side.read_bytes()
        text = decode_text(side, data)
        parse_cues(side, text)  # a broken correction fails here, naming its file; the machine one stays
        _write_atomic(kept, text)
        log.info("%s: using the corrected transcript %s", path, side)
        return text, side
    if kept.is_file():
        return kept.read_text(encoding="utf-8"), kept
    cues = transcriber.transcribe(path, progress)
    text = to_vtt(cues, f"machine transcript of {path.name} (sha256 {recording_sha}) by Whisper base; correct it "
                        f"and save it beside the recording as {path.stem}.vtt")
    _write_atomic(kept, text)
    return text, kept


def load_recording(path: Path, recording_sha: str, settings: Settings, transcriber: Transcriber,
                   progress: bool | None = None) -> Loaded:
    """A recording as passages of a sentence or more, each with the time it starts; titled by its first cue
    (the file name when that is only noise)."""
    text, source = transcript_vtt(path, recording_sha, settings, transcriber, progress)
    segments: list[Segment] = []
    cues = parse_cues(source, text)
    for cue in cues:
        last = segments[-1] if segments else None
        if last is not None and len(last.text.split()) < SHORT_PASSAGE and cue.speaker in (None, last.speaker):
            last.text += " " + cue.text
        else:
            segments.append(Segment(cue.text, timestamp=stamp(cue.start), speaker=cue.speaker))
    return Loaded(segments, title=cue_title(cues[0].text) or name_title(path))
