"""Recordings go in through Whisper and answers cite the moment a thing is said. The audio is a webinar script
spoken by Debian's espeak-ng, sentence by sentence, so the second each sentence starts is known.

These tests load Whisper: run them under `flock /tmp/hrtp-model.lock`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from builders import WEBINAR, convert, make_speech, make_transcript
from chat.sources import source_card
from kb.cli import main
from kb.types import Source
from ingest.sync import sync_paths

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--autoplay-policy=no-user-gesture-required"]
SHOTS = Path(os.environ.get("HRTP_SCREENSHOTS", tempfile.gettempdir())) / "hrtp-screenshots"
QUESTION = "How many apprentices did the partnership enroll in its first year?"
FIGURE = 6  # the sentence of WEBINAR that answers QUESTION
ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen " \
       "seventeen eighteen nineteen".split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> tuple[Path, list[float]]:
    return make_speech(tmp_path_factory.mktemp("speech"))


def seconds(locator: str) -> int:
    m = re.match(r"(?:(\d+):)?(\d+):(\d\d)$", locator)
    assert m, f"{locator!r} is not a recording's time"
    return int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + int(m.group(3))


def words(text: str) -> list[str]:
    """Lower-case words, numbers spelled out as the script spells them ("342" -> three hundred forty two)."""
    def spell(n: int) -> str:
        if n >= 100:
            return f"{ONES[n // 100]} hundred" + (f" {spell(n % 100)}" if n % 100 else "")
        return ONES[n] if n < 20 else TENS[n // 10] + (f" {ONES[n % 10]}" if n % 10 else "")

    text = re.sub(r"\d+", lambda m: f" {spell(int(m.group()))} ", text.lower().replace(",", ""))
    return re.findall(r"[a-z']+", text.replace("-", " "))


def wer(reference: list[str], hypothesis: list[str]) -> float:
    row = list(range(len(hypothesis) + 1))
    for i, r in enumerate(reference, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hypothesis, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1] / len(reference)


def hrtp(store: Path, *args: str):
    result = CliRunner().invoke(main, ["--store", str(store), "--model", "minilm", "--reader", "extractive", *args],
                                catch_exceptions=False)
    return result


@pytest.fixture(scope="module")
def wav_store(speech, tmp_path_factory) -> tuple[Path, Path, dict]:
    """The WAV ingested through the CLI into a store of its own."""
    wav, _ = speech
    folder = tmp_path_factory.mktemp("wav")
    shutil.copy(wav, folder / "riverbend webinar.wav")
    store = folder.parent / (folder.name + "-store")
    result = hrtp(store, "ingest", "--json", str(folder))
    assert result.exit_code == 0, result.output
    return store, folder / "riverbend webinar.wav", json.loads(result.stdout)


def test_wav_is_transcribed_and_answers_cite_the_moment(wav_store, speech):
    store, wav, report = wav_store
    assert report["files_added"] == 1 and report["recordings_transcribed"] == 1 and not report["files_failed"]
    answer = json.loads(hrtp(store, "ask", "--json", QUESTION).stdout)
    assert not answer["refused"]
    assert re.search(r"\b342\b|three hundred forty.two", answer["answer"])
    cited = answer["citations"][0]
    first_cue = next(ln for ln in next((store / "transcripts").glob("*.vtt")).read_text().splitlines()[2:]
                     if ln and "-->" not in ln and not ln.startswith("NOTE"))
    assert first_cue.lower().startswith("welcome to this webinar")
    assert cited["source"] == str(wav) and cited["title"] == first_cue.rstrip(".")  # titled by its first cue
    assert f"  - {cited['title']}" in hrtp(store, "status").output
    assert abs(seconds(cited["locator"]) - speech[1][FIGURE]) <= 5, (cited["locator"], speech[1][FIGURE])


def test_transcript_is_kept_in_the_store_and_close_to_the_script(wav_store):
    store, wav, _ = wav_store
    (kept,) = (store / "transcripts").glob("*.vtt")
    text = kept.read_text()
    assert text.startswith("WEBVTT") and "riverbend webinar.wav" in text
    spoken = " ".join(ln for ln in text.splitlines()[2:] if ln and "-->" not in ln and not ln.startswith("NOTE"))
    assert wer(words(" ".join(WEBINAR)), words(spoken)) <= 0.15


def test_reingest_transcribes_nothing_and_a_corrected_transcript_replaces_the_machine_one(wav_store, tmp_path):
    store, wav, first = wav_store
    assert hrtp(store, "remove", str(wav)).exit_code == 0
    again = json.loads(hrtp(store, "ingest", "--json", str(wav.parent)).stdout)
    assert again["files_added"] == 1 and again["recordings_transcribed"] == 0
    assert again["chunks_total"] == first["chunks_total"]

    made = hrtp(store, "transcribe", str(wav))  # writes the transcript beside the recording, from the store
    assert made.exit_code == 0 and "the transcript kept in the store" in made.stderr
    side = wav.with_suffix(".vtt")
    assert side.read_text() == next((store / "transcripts").glob("*.vtt")).read_text()
    assert hrtp(store, "transcribe", str(wav)).exit_code == 2  # a person's corrections are never overwritten
    side.write_text(re.sub(r"pharmacy technician", "respiratory therapist", side.read_text(), flags=re.I))
    fixed = json.loads(hrtp(store, "ingest", "--json", str(wav.parent)).stdout)
    assert fixed["files_updated"] == 1 and fixed["recordings_transcribed"] == 0 and fixed["files_seen"] == 1
    answer = json.loads(hrtp(store, "ask", "--json", "Which pathway will the partnership add next year?").stdout)
    assert "respiratory therapist" in answer["answer"] and answer["citations"][0]["source"] == str(wav)
    assert "respiratory therapist" in next((store / "transcripts").glob("*.vtt")).read_text()


def test_a_recording_whose_transcript_starts_with_music_is_titled_by_its_file_name(speech, tmp_path):
    wav, _ = speech
    folder = tmp_path / "talks"
    folder.mkdir()
    shutil.copy(wav, folder / "board-meeting_march.wav")
    make_transcript(folder / "board-meeting_march.vtt", ["[Music]", *WEBINAR])  # its corrected transcript: no Whisper
    assert hrtp(tmp_path / "store", "ingest", str(folder)).exit_code == 0
    status = hrtp(tmp_path / "store", "status").output
    assert "documents: 1 (1 files)" in status and "  - board meeting march\n" in status


def test_mp3_goes_in_beside_bad_recordings_each_refused_with_its_reason(kb, docs, speech):
    wav, starts = speech
    convert(wav, docs / "webinar.mp3", "-b:a", "64k")
    (docs / "empty.mp3").write_bytes(b"")
    (docs / "notes.mp3").write_text("Agenda: welcome, partnership updates, questions.\n" * 20)
    truncated = convert(wav, docs / ".full.wav").read_bytes()
    (docs / "cut.wav").write_bytes(truncated[: len(truncated) * 2 // 5])
    whole = convert(wav, docs / ".whole.m4a", "-c:a", "aac").read_bytes()
    (docs / "cut.m4a").write_bytes(whole[: len(whole) // 2])
    subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "color=c=navy:s=160x120:d=3", "-c:v", "mpeg4",
                    str(docs / "slides.mp4")], check=True)
    subprocess.run(["sox", "-n", "-r", "16000", "-c", "1", str(docs / "silence.wav"), "trim", "0", "8"], check=True)
    (docs / "agenda.txt").write_text("The webinar agenda covers partnership updates and questions.")

    report = sync_paths(kb, [docs], progress=False)
    reasons = {Path(f.path).name: f.reason for f in report.files_failed}
    assert set(reasons) == {"empty.mp3", "notes.mp3", "cut.wav", "cut.m4a", "slides.mp4", "silence.wav"}
    assert "empty" in reasons["empty.mp3"]
    assert "text file" in reasons["notes.mp3"]
    assert "truncated" in reasons["cut.wav"] and "truncated" in reasons["cut.m4a"]
    assert "no audio track" in reasons["slides.mp4"]
    assert "no speech found" in reasons["silence.wav"]
    assert all("\n" not in r for r in reasons.values())
    assert report.files_added == 2  # the MP3 and the text file

    answer = kb.ask(QUESTION)
    assert not answer.refused and answer.sources[0].path.endswith("webinar.mp3")
    assert abs(seconds(answer.sources[0].locator) - starts[FIGURE]) <= 5


def test_an_hour_is_given_to_whisper_in_windows_cut_in_pauses():
    import numpy as np

    from ingest.audio import SAMPLE_RATE, stamp, windows

    rng = np.random.default_rng(0)
    audio = rng.uniform(-0.5, 0.5, 3600 * SAMPLE_RATE).astype(np.float32)  # loud everywhere...
    pauses = [int(t * SAMPLE_RATE) for t in (293.5, 588.0)]
    for p in pauses:
        audio[p : p + SAMPLE_RATE // 2] = 0  # ...but for two half-second pauses before the first two boundaries
    cuts = windows(audio)
    assert cuts[0][0] == 0 and cuts[-1][1] == len(audio)
    assert all(a[1] == b[0] for a, b in zip(cuts, cuts[1:])) and all(b - a <= 300 * SAMPLE_RATE for a, b in cuts)
    assert [p <= cut[1] < p + SAMPLE_RATE // 2 for p, cut in zip(pauses, cuts)] == [True, True]
    assert [stamp(s) for s in (0, 754, 3723)] == ["00:00", "12:34", "1:02:03"]

def test_a_recording_source_card_plays_it_from_the_cited_time():
    card = source_card(Source(1, "c1", "/lib/hrtp 101.mp4", "HRTP 101 webinar", "12:34", "Partnerships start..."))
    assert "<video" in card and "src='/gradio_api/file=/lib/hrtp%20101.mp4#t=754'" in card
    assert "<audio" in source_card(Source(1, "c1", "/lib/talk.m4a", "Talk", "1:02:03", "..."))
    assert "#t=3723" in source_card(Source(1, "c1", "/lib/talk.m4a", "Talk", "1:02:03", "..."))
    assert "<audio" not in source_card(Source(1, "c1", "/lib/notes.vtt", "Notes", "00:01:10", "..."))


def test_the_chat_upload_takes_a_recording_and_names_what_is_wrong_with_a_bad_one(wav_store, kb, tmp_path):
    from chat.library import Library

    store, wav, _ = wav_store
    shutil.copytree(store / "transcripts", kb.settings.store_dir / "transcripts")  # transcribed before: no Whisper
    fake = tmp_path / "minutes.mp3"
    fake.write_text("Minutes of the March partnership meeting.\n" * 10)
    library = Library(kb)
    note, table = library.upload([str(wav), str(fake)]), library.rows()
    title = json.loads(hrtp(store, "status", "--json").stdout)["titles"][0]  # its first cue (the test above)
    assert f"✅ “{title}” (riverbend webinar.wav) was added to the library" in note
    assert "❌ **minutes.mp3**: a text file, not a .mp3 recording" in note
    assert [row[1] for row in table] == ["recording"]
    assert not (kb.settings.store_dir / "uploads" / "minutes.mp3").exists()

@pytest.mark.slow
def test_in_the_browser_the_source_card_plays_the_recording_from_the_cited_time(wav_store, speech, embedder):
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (make browser-deps installs it)")
    from playwright.sync_api import sync_playwright

    from chat.ui import launch
    from kb.ask.pipeline import KnowledgeBase
    from kb.settings import Settings

    store, wav, _ = wav_store
    kb = KnowledgeBase(Settings(store_dir=store, reader="extractive", model="minilm"), embedder)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ui = launch(kb, port=port, block=False)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"http://127.0.0.1:{port}/")
            page.locator("#question textarea").fill(QUESTION)
            page.locator("#ask").click()
            page.wait_for_selector("#sources audio", timeout=60_000)
            start = page.wait_for_function("() => { const a = document.querySelector('#sources audio');"
                                           " return a.readyState >= 1 && a.currentTime; }", timeout=30_000).json_value()
            assert abs(start - speech[1][FIGURE]) <= 5  # the browser fetched the file and sits at the cited time
            assert "Welcome to this webinar" in page.locator("#sources").inner_text()  # its title: its first cue
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / "recording-source.png"), full_page=True)
            browser.close()
    finally:
        ui.close()
