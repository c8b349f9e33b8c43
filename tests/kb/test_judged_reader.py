"""The judged reader's decisions around the model, with a scripted model: what stands, how it is cited, when the
answer is refused, and that the judgement (weights and trees) comes from data."""

import pytest

from kb.ask.pipeline import KnowledgeBase
from kb.ask.judge import ANSWER_FEATURES, DEFAULT_MODEL, SENTENCE_FEATURES, Forest, JudgeModel
from kb.ask.readers.judged import JudgedReader
from tests.builders import LISTING
from tests.fakes import KeyedLLM
from ingest.sync import sync_paths

BAKERY = """# Riverside Bakers Partnership

The Riverside Bakers Partnership trains bread and pastry bakers for union bakeries in Riverside County.
Its twelve-week course runs twice a year, in February and in August.
Graduates start at $23.40 an hour at partner bakeries.
"""


@pytest.fixture
def welding_kb(kb: KnowledgeBase, docs) -> KnowledgeBase:
    (docs / "welding-listing.txt").write_text(LISTING, encoding="utf-8")
    (docs / "bakers.md").write_text(BAKERY, encoding="utf-8")
    assert not sync_paths(kb, [docs], progress=False).files_failed
    return kb


def ask(kb: KnowledgeBase, question: str, script: dict, model: JudgeModel | None = None):
    reader = kb.make_reader("judged", KeyedLLM(script))
    assert isinstance(reader, JudgedReader)
    if model is not None:
        reader.model = model
    return kb.ask(question, reader=reader)


def test_a_right_sentence_without_a_marker_is_kept_and_cited_to_its_passage(welding_kb):
    answer = ask(welding_kb, "When does the Riverside Bakers Partnership course run?",
                 {"course run": ("The twelve-week course runs twice a year, in February and in August.", 0.01)})
    assert not answer.refused, answer.reason
    assert "February and in August" in answer.text and answer.text.rstrip().endswith("[1]")
    assert answer.sources[0].path.endswith("bakers.md")


def test_a_figure_said_of_something_else_is_not_given_as_the_answer(welding_kb):
    # The listing gives total funding, not the largest award: the model's sentence attaches it wrongly.
    answer = ask(welding_kb, "What is the largest single award in Metro Welding Round 3?",
                 {"largest": ("The largest single award is $4,200,000 [1].", 0.02)})
    assert "4,200,000" not in answer.text or answer.refused
    assert answer.refused or not any("largest" in s.lower() for s in answer.text.split("\n"))


def test_a_number_the_passages_do_not_hold_is_never_shown(welding_kb):
    answer = ask(welding_kb, "What do Riverside bakers earn when they graduate?",
                 {"earn": ("Graduates start at $25.10 an hour at partner bakeries [1].", 0.01)})
    assert "25.10" not in answer.text
    assert any("25.10" in d.text and "not in passage" in d.reason for d in answer.dropped), answer.dropped


def test_a_model_sentence_that_fails_gives_way_to_the_quote_saying_the_same(welding_kb):
    # "begin" and a reordering: the passage's own sentence says it, and is what the answer shows.
    answer = ask(welding_kb, "How much do graduates of the Riverside Bakers Partnership start at?",
                 {"start at": ("Graduates of the partnership begin on $23.40 hourly at the partner bakeries [1].", 0.01)})
    assert not answer.refused, answer.reason
    assert "$23.40" in answer.text


def test_the_judgement_comes_from_its_data_file(welding_kb, tmp_path):
    model = JudgeModel.load()
    assert set(SENTENCE_FEATURES) <= set(model.sentence)
    assert model.answer_forest is not None and model.answer_forest.features == ANSWER_FEATURES
    assert DEFAULT_MODEL.name == "judge.json"
    question, script = ("When does the Riverside Bakers Partnership course run?",
                        {"course run": ("The course runs twice a year, in February and in August [1].", 0.01)})
    assert not ask(welding_kb, question, script).refused
    # The same reader with a file whose answer trees call every question unanswerable refuses it.
    never = {"f": [-1], "t": [0.0], "l": [-1], "r": [-1], "v": [0.0]}
    doubting = JudgeModel(model.sentence, {}, model.sentence_cut, model.answer_cut, model.quotes,
                          answer_forest=Forest(ANSWER_FEATURES, [never, never]))
    doubting.save(tmp_path / "judge.json")
    refused = ask(welding_kb, question, script, JudgeModel.load(tmp_path / "judge.json"))
    assert refused.refused and "closest passages" in refused.text


def test_the_model_saying_no_answer_with_no_quote_to_give_is_a_refusal(welding_kb):
    answer = ask(welding_kb, "Who chairs the Metro Welding Partnership's board?", {})
    assert answer.refused
    assert answer.sources, "a refusal shows the closest passages"
