"""`python -m evals.bench.audio [--minutes 1,10,60]`: speech-to-text speed and memory on recordings of those
lengths (the espeak-ng webinar of evals/bench/speech.py, repeated). Each length is transcribed in a process
of its own, so its peak memory is its own: model load seconds, transcription seconds, real-time factor
(transcription time / audio time) and peak resident memory. Loads Whisper: run it under
`flock /tmp/hrtp-model.lock`, on a quiet machine when the figures matter.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from evals.bench.speech import make_speech


def recording(folder: Path, minutes: float) -> Path:
    """The webinar repeated, cut to `minutes`, as a 64 kb/s MP3 (what a webinar download usually is)."""
    one, _ = make_speech(folder, "once")
    length = float(subprocess.run(["soxi", "-D", str(one)], check=True, capture_output=True, text=True).stdout)
    wav = folder / f"{minutes:g}min.wav"
    repeats = int(minutes * 60 // length) + 1
    subprocess.run(["sox", *[str(one)] * repeats, str(wav), "trim", "0", str(minutes * 60)], check=True)
    mp3 = wav.with_suffix(".mp3")
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-i", str(wav), "-b:a", "64k", str(mp3)], check=True)
    wav.unlink()
    return mp3


def measure_one(path: Path, cache: Path) -> dict:
    """In this process: load Whisper, transcribe `path` as ingest does, report times and peak memory."""
    from ingest.audio import SAMPLE_RATE, Transcriber, decode
    from kb.settings import Settings
    from kb.models.cache import whisper_model_dir

    whisper_model_dir(cache)  # assembled before timing
    transcriber = Transcriber(Settings(cache_dir=cache))
    t0 = time.perf_counter()
    transcriber.model
    t1 = time.perf_counter()
    cues = transcriber.transcribe(path, progress=False)
    t2 = time.perf_counter()
    audio_s = len(decode(path)) / SAMPLE_RATE
    return {"audio_min": round(audio_s / 60, 2), "load_s": round(t1 - t0, 2), "transcribe_s": round(t2 - t1, 1),
            "rtf": round((t2 - t1) / audio_s, 3), "cues": len(cues),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(prog="python -m evals.bench.audio", description=__doc__)
    ap.add_argument("--minutes", default="1,10,60", help="recording lengths, comma separated")
    ap.add_argument("--one", type=Path, help=argparse.SUPPRESS)  # the child process: measure this file
    ap.add_argument("--cache", type=Path, default=None, help="model cache (default: the Settings default)")
    args = ap.parse_args(argv)
    from kb.settings import Settings

    cache = args.cache or Settings.from_env().cache_dir
    if args.one:
        print(json.dumps(measure_one(args.one, cache)))
        return []
    rows = []
    with tempfile.TemporaryDirectory(prefix="hrtp-audio-bench-") as tmp:
        for minutes in (float(m) for m in args.minutes.split(",") if m):
            mp3 = recording(Path(tmp), minutes)
            out = subprocess.run([sys.executable, "-m", "evals.bench.audio", "--one", str(mp3), "--cache", str(cache)],
                                 check=True, capture_output=True, text=True).stdout
            rows.append(json.loads(out.strip().splitlines()[-1]))
            mp3.unlink()
    print("| audio | model load | transcription | real-time factor | peak memory |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['audio_min']:g} min | {r['load_s']} s | {r['transcribe_s']} s | {r['rtf']} | {r['peak_rss_mb']} MB |")
    return rows


if __name__ == "__main__":
    main()
