"""The verifier every answer passes: each way a small model goes wrong (issue: reader), on real passages
and with the real embedding model."""

import pytest

from kb.ask.claims import Claim, parse, render
from kb.settings import Settings
from kb.types import Chunk, Passage
from kb.ask.verify import Evidence, Verifier, numbers

LISTING = ("Grant ID: HRTP-CV-26\nApplication Deadline: March 20, 2026, 3:00 p.m. PT\n"
           "Total Funding: $4,200,000 (one-time, State General Fund)\nAward Range: $400,000 - $1,200,000 per award")
NEWS = ("In 2017, the California Workforce Development Board launched the High Roads Initiative. The academy's "
        "board chair, Luis Ortega, opened the graduation. This article was written by Dana Wu.")


def evidence(*texts: str, title: str = "Central Valley Round") -> dict[int, Evidence]:
    return {n: Evidence.of(n, Passage(Chunk(id=f"c{n}", text=t, doc_sha="d", path=f"p{n}", title=title), 1.0))
            for n, t in enumerate(texts, 1)}


@pytest.fixture(scope="module")
def verifier(embedder):
    return Verifier(Settings(), embedder)


def kept(verifier, claims, ev, question=""):
    return verifier.check(claims, ev, question, [])


def test_numbers_are_compared_by_value():
    assert numbers("$4.2 million") == numbers("$4,200,000") == {4_200_000.0}
    assert numbers("forty graduates in 2019") == {40.0, 2019.0}
    assert 1.0 not in numbers("one of the partners")  # "one" is nearly always a pronoun


def test_a_sentence_from_the_passage_stands_with_its_citation(verifier):
    good, dropped, quotes = kept(verifier, [Claim("The application deadline is March 20, 2026.", (1,))], evidence(LISTING))
    assert [c.cites for c in good] == [(1,)] and not dropped
    assert quotes[1] == ["Application Deadline: March 20, 2026, 3:00 p.m. PT"]


def test_a_figure_in_another_form_is_the_same_figure(verifier):
    good, _, _ = kept(verifier, [Claim("The round has $4.2 million in total funding.", (1,))], evidence(LISTING))
    assert len(good) == 1


def test_an_invented_date_is_dropped(verifier):
    good, dropped, _ = kept(verifier, [Claim("Applications close on June 2, 2025.", (1,))], evidence(LISTING))
    assert not good and "not in passage [1]" in dropped[0].reason


def test_a_real_figure_attached_to_the_wrong_thing_is_dropped(verifier):
    claim = Claim("The maximum award per grant is $4,200,000.", (1,))
    good, dropped, _ = kept(verifier, [claim], evidence(LISTING), "What is the maximum award per grant?")
    assert not good and "about something else" in dropped[0].reason


def test_a_bare_figure_must_sit_with_what_the_question_names(verifier):
    text = ("By county of residence, 188 graduates live in Fresno County and 93 in Merced County. "
            "Kings County residents are counted with Tulare County.")
    question = "How many people from Kings County have graduated?"
    good, dropped, _ = kept(verifier, [Claim("188", (1,))], evidence(text), question)
    assert not good and "not said of king" in dropped[0].reason
    good, _, _ = kept(verifier, [Claim("188", (1,))], evidence(text), "How many graduates live in Fresno County?")
    assert len(good) == 1
    # a question naming two things needs only one of them beside each figure
    two = "How many graduates live in Fresno County, and when did the Visalia cohort start in January?"
    good, dropped, _ = kept(verifier, [Claim("188 graduates live in Fresno County.", (1,))], evidence(text), two)
    assert len(good) == 1, dropped


def test_a_clock_time_is_not_read_as_extra_numbers():
    assert numbers("Tuesdays 9:00 a.m. to 3:30 p.m.") == {9.0, 3.0}


def test_days_and_months_beside_a_figure_are_not_another_thing_it_is_said_of(verifier):
    ev = evidence("Drop-in office hours: Tuesdays and Thursdays, 9:00 a.m. to 3:00 p.m. PT, until March 13.",
                  title="Applicant webinar")
    claim = Claim("Drop-in office hours are Tuesdays and Thursdays from 9:00 a.m. to 3:00 p.m. PT.", (1,))
    good, dropped, _ = kept(verifier, [claim], ev, "When are the drop-in office hours for HRTP-CV 2026 applicants?")
    assert len(good) == 1, dropped


def test_a_name_found_in_no_passage_is_dropped(verifier):
    claim = Claim("Governor Jerry Brown launched the High Roads Initiative in 2017.", (1,))
    good, dropped, _ = kept(verifier, [claim], evidence(NEWS))
    assert not good and dropped[0].reason == "'brown' is not in passage [1]"  # the first missing name


def test_a_sentence_with_its_answer_missing_is_dropped(verifier):
    good, dropped, _ = kept(verifier, [Claim("The application deadline was", (1,))], evidence(LISTING))
    assert not good and "stops before its answer" in dropped[0].reason


def test_a_sentence_the_passage_does_not_say_is_dropped(verifier):
    good, dropped, _ = kept(verifier, [Claim("Applicants must employ a licensed grant writer.", (1,))], evidence(LISTING))
    assert not good and "does not say this" in dropped[0].reason


def test_a_missing_or_wrong_marker_is_given_only_to_the_one_passage_that_backs_it(verifier):
    ev = evidence(NEWS, LISTING)
    good, _, _ = kept(verifier, [Claim("The application deadline is March 20, 2026.", ())], ev)
    assert good[0].cites == (2,)  # no marker: exactly one passage backs it
    good, _, _ = kept(verifier, [Claim("The application deadline is March 20, 2026.", (1,))], ev)
    assert good[0].cites == (2,)  # a wrong marker: cited to the passage that backs it
    both = evidence(LISTING, LISTING)
    good, dropped, _ = kept(verifier, [Claim("The application deadline is March 20, 2026.", ())], both)
    assert not good and dropped[0].reason == "it cites no passage, and 2 other passages could back it"


def test_model_text_is_read_into_claims_whatever_its_marker_style():
    claims = parse("The deadline is March 20 [2]. It funds partnerships (1).\n- Composition: two clinics [Passage 1]", 2)
    assert [(c.text, c.cites, c.item) for c in claims] == [
        ("The deadline is March 20.", (2,), False), ("It funds partnerships.", (1,), False),
        ("Composition: two clinics", (1,), True)]
    assert render(claims) == "The deadline is March 20. [2] It funds partnerships. [1]\n- Composition: two clinics [1]"
    assert [c.cites for c in parse("See [7] and [0].", 2)] == [()]  # markers naming no given passage are dropped


PRINCIPLES_TEXT = ("WED believes partnerships work when they follow 4 key principles:\n\n"
                   "• Industry Driven - Employers and Labor bring first-hand knowledge of the work. Thru partnership, "
                   "training standards are industry-valued.\n\n"
                   "• Worker Centered - Respecting worker's insights is part of inclusion.\n\n"
                   "• Community Focused - Economic growth alone does not guarantee equity.\n\n"
                   "• Results Measured - Partnerships address issues through measurable outcomes.\n\n"
                   "Unions have a long tradition of training.")


def test_a_shortened_list_gets_its_labels_and_missing_items_back_as_quotes():
    from kb.ask.readers.lists import asked_count, restore_lists
    assert asked_count("What are WED's four key principles?") == 4
    assert asked_count("Who convenes a partnership?") == 0
    model = parse("Thru partnership, training standards are industry-valued [1]\n"
                  "- Worker Centered - Respecting worker's insights is part of inclusion [1]\n"
                  "- Partnerships address issues through measurable outcomes [1]", 1)
    out = render(restore_lists(model, evidence(PRINCIPLES_TEXT), "What are WED's four key principles?"))
    lines = out.split("\n")
    assert [ln.split(" - ")[0] for ln in lines] == ["- Industry Driven", "- Worker Centered", "- Community Focused",
                                                    "- Results Measured"], out
    assert "Economic growth alone does not guarantee equity. [1]" in lines[2]
    # without a count in the question nothing is added; a label is still put back
    out = render(restore_lists(model[:1], evidence(PRINCIPLES_TEXT), "Tell me more about the first one."))
    assert out == "- Industry Driven - Thru partnership, training standards are industry-valued [1]", out


def test_a_label_put_back_does_not_turn_the_first_word_into_a_name(verifier):
    from kb.ask.readers.lists import restore_lists
    ev = evidence("What participants earn:\n\n• Credentials: MC3 certificate, OSHA 30, NFPA 70E awareness, forklift "
                  "operator card and Radiation Worker I\n\n• Pay: $21 an hour during training")
    model = parse("Trainees get MC3 certificate, OSHA 30, NFPA 70E awareness, forklift operator card and Radiation "
                  "Worker I [1]", 1)
    out = restore_lists(model, ev, "What credentials do trainees get?")
    assert out[0].text.startswith("Credentials - trainees get MC3"), out[0].text
    good, dropped, _ = kept(verifier, out, ev, "What credentials do trainees get?")
    assert len(good) == 1 and not dropped, dropped  # "Trainees" behind the label was read as a name
    # a first word the passage has keeps its capital
    ev = evidence("• Credentials: MC3 certificate and OSHA 30\n\n• Pay: trainees earn $21 an hour during training")
    out = restore_lists(parse("Trainees earn $21 an hour during training [1]", 1), ev, "What is the pay?")
    assert out[0].text == "Pay - Trainees earn $21 an hour during training", out[0].text


def test_a_list_names_each_item_once_and_a_sentence_after_it_is_its_own_paragraph():
    from kb.ask.readers.lists import restore_lists, tidy_lists
    # the model quotes the second sentence of "Industry Driven"; the quoting reader adds the item's first one
    model = parse("Thru partnership, training standards are industry-valued [1]\n"
                  "- Worker Centered - Respecting worker's insights is part of inclusion [1]", 1)
    quote = Claim("Industry Driven - Employers and Labor bring first-hand knowledge of the work.", (1,), item=True)
    after = Claim("Unions have a long tradition of training.", (1,))
    claims = restore_lists(model + [quote, after], evidence(PRINCIPLES_TEXT), "What are WED's four key principles?")
    out = render(tidy_lists(claims))
    assert out.count("Industry Driven") == 1 and "industry-valued" in out, out
    assert out.endswith("[1]\n\nUnions have a long tradition of training. [1]"), out  # not in the last item
    # no count in the question: the repeated item is left out; another passage's item of that label stays
    again = [Claim("Industry Driven - Thru partnership, training standards are industry-valued", (1,), item=True),
             Claim("Worker Centered - Respecting worker's insights is part of inclusion", (1,), item=True),
             Claim("Industry Driven - Employers and Labor bring first-hand knowledge of the work.", (1,), item=True),
             Claim("Industry Driven - Another program's own principle.", (2,), item=True),
             Claim("It costs nothing:", (1,))]
    out = render(tidy_lists(again))
    assert out.count("Industry Driven") == 2 and "Employers and Labor" not in out, out
    assert "Another program's own principle" in out and "It costs nothing" not in out, out  # a bare lead-in goes


def test_a_lead_in_stands_before_its_own_list_and_a_second_list_keeps_its_own():
    from kb.ask.judge import Candidate
    from kb.ask.readers.judged import _lead_ins_first
    from kb.text.units import Unit

    def cand(text, line, kind="item"):
        return Candidate(text, "quote", 1, {}, item=kind == "item", unit=Unit(0, 1, kind, text, line))
    covers, tuition, books = cand("It covers:", 1, "sentence"), cand("Tuition", 2), cand("Books", 3)
    excludes, housing = cand("It does not cover:", 4, "sentence"), cand("Housing", 5)
    # quotes join after the model's items: each lead-in moves before the first item of its own list
    items = {1: {2, 3, 5}}
    order = _lead_ins_first([tuition, books, housing, covers, excludes], items)
    assert [c.text for c in order] == ["It covers:", "Tuition", "Books", "It does not cover:", "Housing"]
    assert _lead_ins_first([tuition, excludes], items) == [tuition]  # no item of its list kept: it says nothing
