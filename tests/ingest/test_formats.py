"""Each format goes in with its locator, and answers cite it: PDF page, transcript timestamp, HTML text only."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from builders import HTML, SRT, VTT, make_pdf, make_transcript
from ingest.chunk import chunk_text
from ingest.clean import clean
from ingest.load import load
from ingest.manifest import cue_title
from kb.cli import main
from kb.ask.render import to_text
from kb.types import place
from ingest.sync import sync_paths


def chunks_of(kb, name):
    return [c for c, _ in kb.store.iter_chunks() if Path(c.path).name == name]


def test_pdf_pages_are_kept_per_chunk(kb, docs):
    make_pdf(docs / "pilot.pdf", [
        "WELDING PILOT REPORT\n\nThe Fresno pilot trained forty welders for union contractors.",
        "COHORT OUTCOMES\n\nEvery graduate of the second cohort completed a registered apprenticeship.",
    ], title="Welding Pilot Report")
    report = sync_paths(kb, [docs], progress=False)
    assert report.files_added == 1 and not report.files_failed
    pages = {c.page for c in chunks_of(kb, "pilot.pdf")}
    assert pages == {1, 2}
    answer = kb.ask("Did graduates of the second cohort complete an apprenticeship?")
    assert not answer.refused
    assert answer.sources[0].locator == "p. 2"
    assert answer.sources[0].title == "Welding Pilot Report"


def test_vtt_cues_merge_into_turns_with_timestamp_and_speaker(kb, docs):
    (docs / "session.vtt").write_text(VTT, encoding="utf-8")
    sync_paths(kb, [docs], progress=False)
    answer = kb.ask("How many graduates did the Fresno welding cohort place?")
    assert not answer.refused
    assert "thirty graduates" in answer.text
    assert answer.sources[0].locator == "00:01:10 (Ben Ortiz)"
    assert answer.sources[0].place == "01:10 (Ben Ortiz)"  # what people read (chat, CLI text)
    assert "(01:10 (Ben Ortiz))" in to_text(answer) and "00:01:10" not in to_text(answer)


def test_utf16_srt_transcript_is_read(kb, docs):
    (docs / "briefing.srt").write_bytes(SRT.encode("utf-16"))  # with BOM
    report = sync_paths(kb, [docs], progress=False)
    assert not report.files_failed
    answer = kb.ask("Where does the bus mechanics program train apprentices?")
    assert "Oakland yard" in answer.text
    assert answer.sources[0].locator == "00:03:07 (Joe Park)"


def test_transcripts_are_titled_by_their_first_cue(docs, tmp_path):
    (docs / "session.vtt").write_text(VTT, encoding="utf-8")  # a short first cue, after a speaker's voice tag
    make_transcript(docs / "mechanics_briefing.srt", [
        "Joe Park: The bus mechanics apprenticeship at the Oakland yard trains forty apprentices a year with the "
        "transit union and two community colleges.", "Joe Park: Questions are welcome at the end."])
    make_transcript(docs / "board-meeting_march.vtt", [
        "[MUSIC]", "♪ ♪", "Good evening and welcome to the March board meeting of the partnership."])
    run = CliRunner()
    assert run.invoke(main, ["--store", str(tmp_path / "s"), "ingest", str(docs)]).exit_code == 0
    status = run.invoke(main, ["--store", str(tmp_path / "s"), "status"]).output
    titles = [ln[4:] for ln in status.splitlines() if ln.startswith("  - ")]
    assert sorted(titles) == [
        "The bus mechanics apprenticeship at the Oakland yard trains forty…",  # cut at a word, ten words
        "Welcome to the pipeline session of the apprenticeship webinar",
        "board meeting march",  # the first cue is only music: the file name
    ]


@pytest.mark.parametrize("cue,title", [
    ("Good morning. This is the applicant webinar for the Southland fund, program year 2025.",
     "Good morning. This is the applicant webinar for the Southland fund…"),  # to a clause's end
    ("Welcome to the HRTP webinar. Today we cover the round three application and its deadlines.",
     "Welcome to the HRTP webinar"),  # its first sentence
    ("um, so welcome everyone to the session about careers in the construction trades and how to apply",
     "So welcome everyone to the session about careers…"),  # ten words, less the dangling "in the"
    ("(APPLAUSE) >> Um.", ""),
])
def test_a_long_first_cue_is_cut_at_a_sentence_clause_or_word(cue, title):
    assert cue_title(cue) == title


def test_people_read_locators_never_character_offsets():
    assert place("chars 1830-2276", "Program Goals", "x") == "§ Program Goals"
    assert place("chars 0-90", "", "The hotel housekeeping partnership created a ladder to supervisor.") == \
        "“The hotel housekeeping partnership created a…”"
    assert place("01:02:03 (Ana)") == "01:02:03 (Ana)" and place("p. 4") == "p. 4"


def test_latin1_text_is_decoded_not_mangled(kb, docs):
    (docs / "cafe.txt").write_bytes("Café workers in San José formed a culinary training partnership.".encode("latin-1"))
    sync_paths(kb, [docs], progress=False)
    (chunk,) = chunks_of(kb, "cafe.txt")
    assert "Café workers in San José" in chunk.text


def test_html_keeps_visible_text_only(kb, docs):
    (docs / "notes.html").write_text(HTML, encoding="utf-8")
    sync_paths(kb, [docs], progress=False)
    (chunk,) = chunks_of(kb, "notes.html")
    assert chunk.title == "Hospitality Partnership Notes"
    assert "ladder from room attendant to supervisor" in chunk.text
    assert "• Ergonomics training for room attendants" in chunk.text
    for hidden in ("tracking pixel", "do not index me", "color: red", "Home | About"):
        assert hidden not in chunk.text


def test_markdown_headings_name_sections(kb, docs):
    (docs / "guide.md").write_text("# Partner Guide\n\n## Recruitment\n\nPartners recruit from reentry programs "
                                   "and community colleges across the region.\n", encoding="utf-8")
    sync_paths(kb, [docs], progress=False)
    (chunk,) = chunks_of(kb, "guide.md")
    assert chunk.title == "Partner Guide"
    assert chunk.section == "Partner Guide > Recruitment"


def test_all_caps_line_is_a_heading_and_lists_stay_with_their_intro():
    text = clean((Path(__file__).parents[2] / "corpus" / "004_8062b040de50f6b4.txt").read_text())
    spans = chunk_text(text, max_words=160)
    list_chunk = next(text[s:e] for s, e, _ in spans if "4 key principles:" in text[s:e])
    assert all(p in list_chunk for p in ("Industry Driven", "Worker Centered", "Community Focused", "Results Measured"))
    brochure = clean((Path(__file__).parents[2] / "corpus" / "000_a2dfeb2a8231d9d3.txt").read_text())
    sections = {sec for _, _, sec in chunk_text(brochure, 160)}
    assert "HOW DO HIGH ROAD PARTNERSHIPS WORK?" in sections
    assert "HRTP CORE COMPONENTS > Worker-Centered" in sections


def test_chunks_are_exact_slices_that_cover_the_document(corpus_kb):
    for chunk, _ in corpus_kb.store.iter_chunks():
        assert chunk.end - chunk.start == len(chunk.text)
        assert chunk.text.strip() == chunk.text


@pytest.mark.parametrize("name,data,reason", [
    ("empty.txt", b"", "empty"),
    ("noise.txt", bytes(range(256)) * 20, "not a text file"),
    ("fake.pdf", b"this is not a pdf at all", "not a PDF"),
    ("slides.pptx", b"PK\x03\x04 zip", "unsupported file type"),
])
def test_unreadable_files_get_a_reason(tmp_path, name, data, reason):
    from kb.errors import LoadError

    (tmp_path / name).write_bytes(data)
    with pytest.raises(LoadError) as err:
        load(tmp_path / name)
    assert reason in err.value.reason
