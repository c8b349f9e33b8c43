"""Eval metrics (pure functions) and `hrtp eval` through the real entry point."""

import json

from click.testing import CliRunner

from evals import metrics as m
from evals.llm_cache import CachedLLM
from kb.cli import main
from kb.models.llm import Generation


def test_relevance_ignores_case_punctuation_and_spacing():
    assert m.relevant("In 2017, the California  Workforce-Development Board", ["california workforce development"])
    assert not m.relevant("In 2017 the Board", ["2018"])


def test_retrieval_scores_rank_the_first_relevant_passage():
    s = m.retrieval_scores(["noise", "the end goal is X", "more noise"], ["end goal"], n_relevant=1)
    assert s == {"hit@1": 0.0, "hit@3": 1.0, "hit@5": 1.0, "mrr": 0.5, "ndcg@5": s["ndcg@5"]}
    assert 0.6 < s["ndcg@5"] < 0.64  # 1/log2(3)
    assert m.retrieval_scores(["x"], ["y"], 1)["mrr"] == 0.0


def test_fact_recall_accepts_any_wording_of_a_fact():
    facts = [["14", "fourteen"], ["2000"], ["construction"]]
    assert m.fact_recall("It highlighted fourteen partnerships in 2000. [1]", facts) == 2 / 3
    assert m.missing_facts("It highlighted fourteen partnerships in 2000. [1]", facts) == ["construction"]
    assert m.fact_recall("no", []) == 1.0
    assert m.fact_recall("2000s", [["2000"]]) == 0.0  # whole words only


def test_citation_precision_and_groundedness():
    sources = {1: "Intermediary organizations convene workers and employers.", 2: "Unrelated text."}
    good = "Intermediary organizations convene workers and employers. [1]"
    assert m.citation_scores(good, sources) == (1.0, 1.0)
    wrong_source = "Intermediary organizations convene workers and employers. [2]"
    assert m.citation_scores(wrong_source, sources) == (0.0, 0.0)
    invented = good + " HRTP grants are due in March."
    assert m.citation_scores(invented, sources) == (1.0, 0.5)


def test_both_sides_counts_answers_giving_both_pages_figures_of_a_conflict():
    from evals.run import Scored, summarise_answers

    conflict = {"expect": "answer", "facts": [["$665"]], "also": [["$595"]]}

    def scored(text, refused=False, row=conflict):
        return Scored(row, {"answer": text, "refused": refused, "latency_ms": 1.0, "model_text": ""},
                      1.0, 1.0, 1.0, 1.0, 1.0, 1.0, [])
    got = summarise_answers([scored("The stipend is $665 a week [1]; a 2025 article said $595 [2]."),
                             scored("The stipend is $665 a week [1]."), scored("$665 and $595", refused=True)])
    assert got["both_sides"] == round(1 / 3, 4)
    assert "both_sides" not in summarise_answers([scored("$665", row={"expect": "answer", "facts": [["$665"]]})])


def test_percentiles_and_words():
    assert m.percentile([5, 1, 3, 2, 4], 50) == 3 and m.percentile([1, 2, 3, 4, 100], 95) == 100
    assert m.words("One two [1] three. [2]") == 3


def test_hrtp_eval_json_and_reports(tmp_path):
    store = str(tmp_path / "store")
    runner = CliRunner()
    assert runner.invoke(main, ["--store", store, "ingest"]).exit_code == 0
    qfile = tmp_path / "q.jsonl"
    qfile.write_text("\n".join(json.dumps(r) for r in [
        {"id": "a", "kind": "factual", "question": "Who convenes a partnership?", "expect": "answer",
         "facts": [["intermediary organizations"]], "evidence": ["Intermediary organizations convene"]},
        {"id": "r", "kind": "refuse", "question": "What is the capital of France?", "expect": "refuse",
         "facts": [], "evidence": []},
    ]))
    out = tmp_path / "report"
    result = runner.invoke(main, ["--store", store, "eval", "--questions", str(qfile), "--json", "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)["sets"]["q"]
    assert {"retrievers", "readers", "answer", "per_question"} <= set(data)
    assert set(data["retrievers"]) == {"dense", "bm25", "hybrid"} and set(data["readers"]) == {"extractive"}
    assert data["retrievers"]["hybrid"]["hit@1"] == 1.0 and data["answer"]["refusal_accuracy"] == 1.0
    assert [q["ok"] for q in data["per_question"]] == [True, True]
    assert {p.name for p in out.iterdir()} == {"report.json", "report.md", "chart.png"}
    assert (out / "chart.png").read_bytes()[:4] == b"\x89PNG"


def test_a_bad_question_file_is_a_usage_error(tmp_path):
    qfile = tmp_path / "q.jsonl"
    qfile.write_text('{"question": "no expect"}\n')
    result = CliRunner().invoke(main, ["--store", str(tmp_path / "s"), "eval", "--questions", str(qfile)])
    assert result.exit_code == 2 and "q.jsonl:1" in result.output


class _Model:
    """Stands in for the reader model (the cache is what is tested): counts the times it is asked."""

    name = "reader.gguf"

    def __init__(self, build: str) -> None:
        self.build, self.calls = build, 0

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def generate(self, messages, *, max_tokens, on_text=None) -> Generation:
        self.calls += 1
        return Generation(f"Answer {self.calls} of {self.build} [1].", 0.01)


def test_the_eval_cache_replays_an_answer_but_not_one_from_another_llama_build(tmp_path):
    question = [{"role": "user", "content": "[1] A passage.\n\nQuestion: what?"}]
    model = _Model("build-a")
    first = CachedLLM(model, tmp_path / "llm.sqlite").generate(question, max_tokens=40)
    streamed: list[str] = []
    again = CachedLLM(model, tmp_path / "llm.sqlite").generate(question, max_tokens=40, on_text=streamed.append)
    assert model.calls == 1 and (again.text, again.p_refusal) == (first.text, first.p_refusal)
    assert "".join(streamed) == first.text  # a replayed answer still reaches the stream
    other = _Model("build-b")  # other kernels round differently: its answer is the model's own, not the cached one
    assert CachedLLM(other, tmp_path / "llm.sqlite").generate(question, max_tokens=40).text == "Answer 1 of build-b [1]."
    assert other.calls == 1
