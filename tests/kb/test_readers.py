"""Every reader, made by name from the one registry, around a scripted model (tests/fakes.py): what the llm
reader keeps, drops and refuses, and what each reader says when nothing was retrieved. Milliseconds a test."""

import numpy as np
import pytest

from ingest.sync import sync_paths
from kb.ask.pipeline import KnowledgeBase
from kb.ask.readers import registry
from kb.errors import ConfigError
from kb.settings import Settings
from tests.builders import LISTING
from tests.fakes import KeyedLLM

BAKERY = """# Riverside Bakers Partnership

The Riverside Bakers Partnership trains bread and pastry bakers for union bakeries in Riverside County.
Its twelve-week course runs twice a year, in February and in August.
Graduates start at $23.40 an hour at partner bakeries.
"""


@pytest.fixture
def bakery_kb(kb: KnowledgeBase, docs) -> KnowledgeBase:
    (docs / "welding-listing.txt").write_text(LISTING, encoding="utf-8")
    (docs / "bakers.md").write_text(BAKERY, encoding="utf-8")
    assert not sync_paths(kb, [docs], progress=False).files_failed
    return kb


def llm_answer(kb: KnowledgeBase, question: str, text: str, p_refusal: float = 0.01):
    return kb.ask(question, reader=kb.make_reader("llm", KeyedLLM({question[:20]: (text, p_refusal)})))


def test_the_llm_reader_keeps_a_backed_sentence_and_drops_an_invented_figure_with_its_reason(bakery_kb):
    answer = llm_answer(bakery_kb, "What do Riverside bakers earn, and how long is the course?",
                        "Graduates start at $23.40 an hour at partner bakeries [1]. The course costs $900 [1].")
    assert not answer.refused and "$23.40" in answer.text and "$900" not in answer.text
    (dropped,) = answer.dropped
    assert "$900" in dropped.text and "not in passage" in dropped.reason


def test_the_llm_reader_refuses_when_the_model_leans_to_no_answer_and_shows_the_closest_passages(bakery_kb):
    answer = llm_answer(bakery_kb, "When does the Riverside Bakers Partnership course run?",
                        "It runs in February and in August [1].", p_refusal=0.6)
    assert answer.refused and answer.text.startswith(bakery_kb.settings.domain.refusal)
    assert answer.sources and "leaned to no answer" in answer.reason


def test_the_llm_reader_refuses_when_the_model_says_no_answer(bakery_kb):
    answer = llm_answer(bakery_kb, "Who founded the Riverside Bakers Partnership?", "NO ANSWER")
    assert answer.refused and answer.text.startswith(bakery_kb.settings.domain.refusal) and "NO ANSWER" not in answer.text


@pytest.mark.parametrize("name", registry.NAMES)
def test_every_reader_says_nothing_relevant_is_indexed_when_no_passage_was_found(bakery_kb, name):
    reader = bakery_kb.make_reader(name, KeyedLLM({}))
    q = bakery_kb.understand("What do Riverside bakers earn?")
    draft = reader.read(q, np.zeros(4, dtype=np.float32), [])
    assert draft.refused and draft.text.startswith(bakery_kb.settings.domain.refusal) and "Nothing relevant is indexed" in draft.text
    assert draft.reader == name


def test_an_unknown_reader_is_named_with_the_ones_there_are(bakery_kb):
    for make in (lambda: bakery_kb.make_reader("oracle"), lambda: Settings(reader="oracle")):
        with pytest.raises(ConfigError) as err:
            make()
        assert "oracle" in str(err.value) and all(n in str(err.value) for n in registry.NAMES)
