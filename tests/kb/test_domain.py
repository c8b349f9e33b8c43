"""The programme's words are data (corpus/domain.toml): another programme's file changes what the answers, the
brief and the chat say, with no code change; a missing or broken file is one line naming it and the fix."""

from __future__ import annotations

import json
import socket
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from chat.ui import launch
from ingest.sync import sync_paths
from kb.ask.pipeline import KnowledgeBase
from kb.brief.build import build_brief
from kb.brief.render import to_markdown
from kb.cli import main
from kb.domain import load_domain
from kb.errors import ConfigError
from kb.settings import BUNDLED_CORPUS, Settings

# A made-up programme that appears in no corpus.
TIDEWATER = """
shared_words = "tidewater maritime apprenticeship apprenticeships"
[answers]
refusal = "The Tidewater papers here don't say."
empty_question = "Please ask something about the Tidewater papers."
[brief]
title = "Tidewater orientation brief"
session = "Tidewater orientation"
[brief.topics]
"Welding certificates" = "Which welding certificates do apprentices earn?"
"Paid training" = "How are apprentices paid while they train?"
[chat]
title = "Tidewater papers"
intro = "Answers quote the Tidewater apprenticeship papers."
placeholder = "Ask about Tidewater, e.g. What do apprentices earn?"
warm_up = "What do apprentices earn?"
[chat.starters]
"First week" = ["What do apprentices earn?", "Who teaches at the yard school?"]
"""
HANDBOOK = """# Tidewater Maritime Apprenticeship: Handbook

## Welding certificates
Apprentices earn the AWS D1.1 structural welding certificate in their first year. In the second year they earn the
AWS D3.6 underwater welding certificate at the harbor dive school. Each certificate is tested by an outside
inspector from the American Welding Society. Apprentices who fail a test may retake it after thirty days.

## Paid training
Apprentices are paid for every training hour, in the classroom and on the dry dock. Pay starts at 60 percent of
the journeyman rate and rises by 10 percent each semester. The shipyard pays the tuition of the yard school in full.
Apprentices also receive a tool allowance for boots, gloves and a welding hood.
"""


@pytest.fixture(scope="module")
def tidewater(tmp_path_factory, embedder) -> KnowledgeBase:
    """A store of the Tidewater handbook, with its domain.toml beside it in the folder that is ingested."""
    docs = tmp_path_factory.mktemp("tidewater")
    (docs / "handbook.md").write_text(HANDBOOK, encoding="utf-8")
    (docs / "domain.toml").write_text(TIDEWATER, encoding="utf-8")
    kb = KnowledgeBase(Settings(store_dir=tmp_path_factory.mktemp("tidewater-store"), reader="extractive", model="minilm",
                                domain_file=docs / "domain.toml"), embedder)
    report = sync_paths(kb, [docs], progress=False)
    assert not report.files_failed and kb.store.count() > 0  # domain.toml is skipped, not failed
    assert [d.title for d in kb.documents()] == ["Tidewater Maritime Apprenticeship: Handbook"]
    return kb


def test_the_bundled_domain_keeps_the_hrtp_words(settings):
    domain = settings.domain
    assert domain.path == BUNDLED_CORPUS / "domain.toml"
    assert domain.refusal == "The HRTP materials here don't answer that."
    assert domain.default_topics[0] == "History of high road partnerships" and len(domain.default_topics) == 5
    assert {"hrtp", "partnership", "road"} <= domain.shared  # stemmed at load


def test_another_programme_refuses_and_replies_in_its_own_words(tidewater):
    answer = tidewater.ask("What is the capital of France?")
    assert answer.refused and answer.text.startswith("The Tidewater papers here don't say. ")
    assert "HRTP" not in answer.text
    assert tidewater.ask("   ").text == "Please ask something about the Tidewater papers."
    answered = tidewater.ask("Which welding certificates do apprentices earn?")
    assert not answered.refused and "D1.1" in answered.text, answered.text


def test_the_shared_words_are_the_programme_s(tidewater, settings):
    question = "Is the Tidewater apprenticeship paid like HRTP partnerships?"
    assert tidewater.understand(question).specific == {"paid", "hrtp", "partnership"}  # HRTP words count here
    assert KnowledgeBase(settings).understand(question).specific == {"tidewat", "apprenticeship", "paid"}


def test_the_brief_defaults_to_the_programme_s_title_and_topics(tidewater):
    brief = build_brief(tidewater)
    assert [t.title for t in brief.topics] == ["Welding certificates", "Paid training"]
    assert brief.topics[0].covered and any("D1.1" in p.text for p in brief.topics[0].points)
    assert to_markdown(brief).startswith("# Tidewater orientation brief\n")


def test_hrtp_domain_names_the_file_for_the_cli(tidewater):
    env = {"HRTP_DOMAIN": str(tidewater.settings.domain_file)}
    store = ["--store", str(tidewater.settings.store_dir)]
    out = CliRunner().invoke(main, [*store, "brief", "--json"], env=env, catch_exceptions=False)
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["title"] == "Tidewater orientation brief"
    assert [t["topic"] for t in data["topics"]] == ["Welding certificates", "Paid training"]
    out = CliRunner().invoke(main, [*store, "ask", "--local", "What is the capital of France?"], env=env)
    assert out.exit_code == 0 and out.stdout.startswith("The Tidewater papers here don't say.")


def test_the_chat_page_shows_the_programme_s_words(tidewater):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ui = launch(tidewater, port=port, block=False)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/config", timeout=30) as r:
            config = json.load(r)
    finally:
        ui.close()
    props = [c.get("props", {}) for c in config["components"]]
    values = [p.get("value") for p in props]
    assert config["title"] == "Tidewater papers"
    assert "## Tidewater papers\nAnswers quote the Tidewater apprenticeship papers." in values
    assert any(p.get("placeholder") == "Ask about Tidewater, e.g. What do apprentices earn?" for p in props)
    assert {"What do apprentices earn?", "Who teaches at the yard school?", "**First week:**"} <= set(map(str, values))
    assert not any("HRTP" in str(v) for v in values)
    topics = next(p for p in props if p.get("elem_id") == "brief-topics")
    assert topics["label"] == "Tidewater orientation topics"
    assert topics["value"] == ["Welding certificates", "Paid training"]


# a file that cannot be used --------------------------------------------------------------------------------
def _one_line_naming(exc: pytest.ExceptionInfo, path: Path, *words: str) -> None:
    message = str(exc.value)
    assert "\n" not in message and str(path.resolve()) in message, message
    assert all(w in message for w in words), message


def test_a_missing_file_says_which_and_how_to_fix_it(tmp_path):
    with pytest.raises(ConfigError) as exc:
        load_domain(tmp_path / "nowhere.toml")
    _one_line_naming(exc, tmp_path / "nowhere.toml", "does not exist", "HRTP_DOMAIN")


@pytest.mark.parametrize("text, words", [
    ('shared_words = "a b\n[answers\n', ("not valid TOML", "line")),  # a typo
    (TIDEWATER.replace('refusal = "The Tidewater papers here don\'t say."\n', ""), ("answers.refusal",)),
    (TIDEWATER.replace('"First week" = [', '"First week" = [1, '), ('chat.starters."First week"',)),
    (TIDEWATER.replace("[brief.topics]", "[brief.places]"), ("brief.topics",)),
])
def test_a_broken_file_names_itself_and_the_key(tmp_path, text, words):
    path = tmp_path / "domain.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_domain(path)
    _one_line_naming(exc, path, *words, "corpus/domain.toml")


def test_the_cli_reports_a_broken_file_in_one_line(tidewater, tmp_path):
    broken = tmp_path / "domain.toml"
    broken.write_text("[answers\n", encoding="utf-8")
    out = CliRunner().invoke(main, ["--store", str(tidewater.settings.store_dir), "ask", "--local",
                                    "Which welding certificates do apprentices earn?"],
                             env={"HRTP_DOMAIN": str(broken)})
    assert out.exit_code == 2
    assert out.stderr.strip().count("\n") == 0 and str(broken.resolve()) in out.stderr, out.stderr
    assert "Traceback" not in out.output
