"""Each format goes in with its locator, and answers cite it: PDF page, transcript timestamp, HTML text only."""

from pathlib import Path

import pytest

from builders import HTML, SRT, VTT, make_pdf
from ingest.chunk import chunk_text
from ingest.clean import clean
from ingest.load import load
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
