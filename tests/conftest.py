"""Shared fixtures: the real embedding model once per session, stores in tmp dirs, the bundled corpus."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from kb.models.embedder import Embedder
from kb.models.load import get_embedder
from kb.ask.pipeline import KnowledgeBase
from kb.settings import BUNDLED_CORPUS, Settings
from ingest.sync import sync_paths

# CI checks the same generated examples on every run, so its verdict is reproducible; local runs keep exploring
# at random, and whatever they find is pinned in the test with @example.
hypothesis_settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    """No test reads the developer's store or a Chroma server from the environment."""
    for var in ("HRTP_STORE", "HRTP_CHROMA_URL", "HRTP_AUTH", "HRTP_LLM_MODEL", "HRTP_LLM_URL", "HRTP_DOMAIN"):
        monkeypatch.delenv(var, raising=False)
    # Tests quote (20 ms an answer) and embed with MiniLM (5x faster than the default mpnet); the tests of the
    # llm reader and of model changes ask for those explicitly.
    monkeypatch.setenv("HRTP_READER", "extractive")
    monkeypatch.setenv("HRTP_MODEL", "minilm")
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return get_embedder("minilm")


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(store_dir=tmp_path / "store", reader="extractive", model="minilm")


@pytest.fixture
def kb(settings, embedder) -> KnowledgeBase:
    return KnowledgeBase(settings, embedder)


@pytest.fixture(scope="session")
def corpus_kb(tmp_path_factory, embedder) -> KnowledgeBase:
    """The bundled corpus, ingested once; tests must not change it."""
    kb = KnowledgeBase(Settings(store_dir=tmp_path_factory.mktemp("corpus") / "store", reader="extractive", model="minilm"), embedder)
    report = sync_paths(kb, [BUNDLED_CORPUS], progress=False)
    assert not report.files_failed
    return kb


@pytest.fixture
def docs(tmp_path) -> Path:
    d = tmp_path / "docs"
    d.mkdir()
    return d
