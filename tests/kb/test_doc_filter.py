"""Asking within chosen documents: `hrtp ask --doc`, through the real CLI and a real Chroma store in a tmp dir."""

import json

import pytest
from click.testing import CliRunner

from kb.cli import main
from kb.errors import DocumentNotFoundError
from kb.settings import BUNDLED_CORPUS

WED = "Championing High Road Partnerships (WED)"
MEMO = ("# Riverside Care HRTP: Launch Memo\n\nThe Riverside Care partnership trains certified nursing assistants. "
        "Its key principles are worker voice, paid training hours and a guaranteed interview with a partner clinic.\n")


@pytest.fixture
def run(tmp_path):
    store = tmp_path / "clistore"

    def invoke(*args: str):
        return CliRunner().invoke(main, ["--store", str(store), *args], catch_exceptions=False)

    memo = tmp_path / "uploads" / "riverside-memo.md"
    memo.parent.mkdir()
    memo.write_text(MEMO)
    assert invoke("ingest", str(BUNDLED_CORPUS), str(memo)).exit_code == 0
    invoke.memo = str(memo.resolve())
    return invoke


def _ask(run, question, *args):
    result = run("ask", "--local", "--json", question, *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.mark.parametrize("retriever", ["hybrid", "dense", "bm25"])
def test_doc_limits_every_retriever_to_the_chosen_document(run, retriever):
    question = "What are the key principles of the partnership?"
    everywhere = _ask(run, question, "--retriever", retriever)
    assert "docs" not in everywhere  # no filter: the JSON is as it always was
    assert {c["title"] for c in everywhere["citations"]} - {WED}  # other documents answer too

    within = _ask(run, question, "--retriever", retriever, "--doc", WED)
    assert within["citations"] and {c["title"] for c in within["citations"]} == {WED}
    assert within["docs"] == sorted({c["source"] for c in within["citations"]})


def test_doc_takes_a_title_a_file_name_or_a_path_and_repeats(run):
    question = "Who does the partnership train?"
    by_name = _ask(run, question, "--doc", "riverside-memo.md")
    by_path = _ask(run, question, "--doc", run.memo)
    assert by_name["docs"] == by_path["docs"] == [run.memo]
    assert "nursing assistants" in by_name["answer"]
    both = _ask(run, question, "--doc", "riverside", "--doc", "wed")  # parts of a path and of a title
    assert len(both["docs"]) == 2 and run.memo in both["docs"]


def test_text_answer_says_where_it_looked(run):
    result = run("ask", "--local", "Who does the partnership train?", "--doc", "riverside-memo.md")
    assert result.exit_code == 0
    assert "(searched only: riverside-memo.md)" in result.output
    assert "Sources:\n[1] Riverside Care HRTP: Launch Memo" in result.output


def test_unknown_document_is_one_line_naming_it_and_how_to_list_documents(run):
    result = run("ask", "--local", "What are the principles?", "--doc", WED, "--doc", "Nonexistent Handbook")
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert "'Nonexistent Handbook'" in result.output and "`hrtp status`" in result.output
    assert "Traceback" not in result.output


def test_core_resolves_titles_and_reports_every_missing_name(corpus_kb):
    paths = corpus_kb.resolve_docs([WED.lower()])
    assert [corpus_kb.store.file_records()[p].title for p in paths] == [WED]
    with pytest.raises(DocumentNotFoundError) as err:
        corpus_kb.resolve_docs(["nope", WED, "  "])
    assert err.value.names == ["nope", "  "]
    passages, _ = corpus_kb.retriever.search("theory of change", k=8, sources=paths)
    assert passages and {p.chunk.title for p in passages} == {WED}
