"""A webinar script spoken by Debian's espeak-ng, one sentence at a time, so each sentence's start is known;
the recording tests and the speech-to-text benchmark use it."""

from __future__ import annotations

import subprocess
from pathlib import Path

WEBINAR = [
    "Welcome to this webinar about the Riverbend Healthcare Training Partnership.",
    "Riverbend is a partnership of hospitals, a nurses union and a community college in the Central Valley.",
    "The partnership was convened by the Valley Workforce Board in the spring.",
    "Its goal is to train entry level workers for careers in patient care.",
    "Workers help design the curriculum, and supervisors mentor each trainee on the job.",
    "Classes meet in the evening so that parents can attend after their shifts.",
    "In its first year, the partnership enrolled three hundred forty two apprentices.",
    "Most of them were nursing assistants who wanted to become licensed vocational nurses.",
    "Employers paid for tuition, books and childcare during the program.",
    "The union negotiated a wage increase for every graduate.",
    "The community college awarded credit for work experience.",
    "Next year the partnership plans to add a pharmacy technician pathway.",
    "Thank you for joining us, and please send your questions to the partnership staff.",
]
GAP_S = 0.5  # silence between sentences


def make_speech(folder: Path, name: str = "webinar", sentences: list[str] = WEBINAR) -> tuple[Path, list[float]]:
    """`folder/name.wav` (16 kHz mono) and the second at which each sentence starts."""
    parts, starts, t = [], [], 0.0
    for i, sentence in enumerate(sentences):
        part = folder / f".{name}-{i:02d}.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "160", "-w", str(part), sentence], check=True)
        subprocess.run(["sox", str(part), "-r", "16000", "-c", "1", str(part) + ".r.wav", "pad", "0", str(GAP_S)],
                       check=True)
        starts.append(t)
        t += float(subprocess.run(["soxi", "-D", str(part) + ".r.wav"], check=True, capture_output=True,
                                  text=True).stdout)
        parts.append(str(part) + ".r.wav")
    out = folder / f"{name}.wav"
    subprocess.run(["sox", *parts, str(out)], check=True)
    for p in folder.glob(f".{name}-*"):
        p.unlink()
    return out, starts


def convert(src: Path, dest: Path, *args: str) -> Path:
    """`src` re-encoded by ffmpeg into `dest` (format from its extension)."""
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-i", str(src), *args, str(dest)], check=True)
    return dest
