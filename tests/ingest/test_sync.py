"""Incremental sync: unchanged files embed nothing, changes replace, removals delete, duplicates index once,
bad files are reported without losing anything, and BM25 always agrees with Chroma."""

import shutil

import pytest

from builders import make_pdf
from kb.errors import IngestLockedError
from kb.settings import BUNDLED_CORPUS
from ingest.sync import sync_paths, remove_path

WELDING = "The Fresno welding partnership trained forty apprentices with the boilermakers union."
TRANSIT = "The Oakland transit partnership trains bus mechanics through a joint labor-management program."


def bm25_ids(kb):
    kb.bm25.ensure_current()
    return set(kb.bm25._ids)


def chroma_ids(kb):
    return {c.id for c, _ in kb.store.iter_chunks()}


def test_reingesting_the_unchanged_corpus_embeds_nothing(kb, tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(BUNDLED_CORPUS, corpus)
    first = sync_paths(kb, [corpus], progress=False)
    assert first.files_added == 3 and first.chunks_embedded == first.chunks_total > 0
    again = sync_paths(kb, [corpus], progress=False)
    assert (again.files_unchanged, again.chunks_embedded, again.files_added) == (3, 0, 0)
    assert again.chunks_total == first.chunks_total


def test_a_changed_file_has_its_chunks_replaced(kb, docs):
    (docs / "a.txt").write_text(WELDING)
    sync_paths(kb, [docs], progress=False)
    (docs / "a.txt").write_text(TRANSIT)
    report = sync_paths(kb, [docs], progress=False)
    assert report.files_updated == 1 and report.chunks_embedded == 1 and report.chunks_total == 1
    texts = [c.text for c, _ in kb.store.iter_chunks()]
    assert texts == [TRANSIT]
    assert bm25_ids(kb) == chroma_ids(kb)
    assert kb.bm25.search("boilermakers welding Fresno", 5) == []


def test_a_file_removed_from_an_ingested_folder_is_deleted(kb, docs):
    (docs / "a.txt").write_text(WELDING)
    (docs / "b.txt").write_text(TRANSIT)
    sync_paths(kb, [docs], progress=False)
    (docs / "a.txt").unlink()
    report = sync_paths(kb, [docs], progress=False)
    assert report.files_removed == 1 and report.chunks_total == 1
    assert [r.path for r in kb.documents()] == [str(docs / "b.txt")]
    assert bm25_ids(kb) == chroma_ids(kb)
    assert kb.ask("How many apprentices did the Fresno welding partnership train?").refused


def test_identical_content_under_two_names_is_indexed_once(kb, docs):
    (docs / "a.txt").write_text(WELDING)
    (docs / "copy of a.txt").write_text(WELDING)
    report = sync_paths(kb, [docs], progress=False)
    assert report.files_added == 2 and report.chunks_embedded == 1 and report.chunks_total == 1
    (docs / "a.txt").unlink()  # the other name still holds the content
    sync_paths(kb, [docs], progress=False)
    assert kb.store.count() == 1


def test_a_corrupt_file_beside_good_ones_is_reported_and_the_rest_go_in(kb, docs):
    (docs / "good.txt").write_text(WELDING)
    make_pdf(docs / "good.pdf", [TRANSIT])
    (docs / "broken.pdf").write_bytes(make_pdf(docs / "tmp.pdf", [TRANSIT]).read_bytes()[:300])
    (docs / "tmp.pdf").unlink()
    (docs / "empty.md").write_bytes(b"")
    report = sync_paths(kb, [docs], progress=False)
    failed = {f.path.rsplit("/", 1)[-1]: f.reason for f in report.files_failed}
    assert set(failed) == {"broken.pdf", "empty.md"}
    assert "damaged or truncated" in failed["broken.pdf"] and "empty" in failed["empty.md"]
    assert report.files_added == 2 and report.exit_code == 1
    assert not kb.ask("How are Oakland bus mechanics trained?").refused


def test_a_file_that_turns_bad_keeps_what_was_indexed(kb, docs):
    make_pdf(docs / "report.pdf", [WELDING])
    sync_paths(kb, [docs], progress=False)
    (docs / "report.pdf").write_bytes(b"%PDF-1.4 garbage")
    report = sync_paths(kb, [docs], progress=False)
    assert len(report.files_failed) == 1 and report.exit_code == 2
    assert kb.store.count() == 1
    assert "forty apprentices" in kb.ask("How many apprentices did the Fresno welding partnership train?").text


def test_orphan_chunks_from_an_interrupted_run_are_collected(kb, docs):
    (docs / "a.txt").write_text(WELDING)
    sync_paths(kb, [docs], progress=False)
    # What a run killed after writing chunks but before registering its file leaves behind:
    from ingest.chunk import chunk_document
    from ingest.load import Segment

    _, orphans = chunk_document([Segment(TRANSIT)], doc_sha="f" * 64, path=str(docs / "gone.txt"), title="gone")
    kb.store.add_chunks(orphans, kb.embedder.embed_batch([c.text for c in orphans]))
    assert kb.store.count() == 2
    sync_paths(kb, [docs], progress=False)
    assert kb.store.count() == 1 and bm25_ids(kb) == chroma_ids(kb)


def test_a_second_ingest_on_the_same_store_is_refused(kb, docs):
    from filelock import FileLock

    (docs / "a.txt").write_text(WELDING)
    kb.settings.store_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(str(kb.settings.store_dir / "ingest.lock")):
        with pytest.raises(IngestLockedError, match="Another `hrtp ingest`"):
            sync_paths(kb, [docs], progress=False)
    assert sync_paths(kb, [docs], progress=False).files_added == 1  # the lock went with its holder


def test_removing_a_document_takes_it_out_of_both_retrievers(kb, docs):
    (docs / "a.txt").write_text(WELDING)
    (docs / "b.txt").write_text(TRANSIT)
    sync_paths(kb, [docs], progress=False)
    assert remove_path(kb, str(docs / "a.txt"))
    assert kb.store.count() == 1 and bm25_ids(kb) == chroma_ids(kb)
    assert not remove_path(kb, str(docs / "a.txt"))


def test_a_running_process_finds_what_another_process_ingests_and_forgets_what_it_removes(kb, docs):
    """The chat keeps one store open for hours while `hrtp ingest` / `hrtp remove` run beside it."""
    import subprocess
    import sys
    from pathlib import Path

    hrtp = [str(Path(sys.executable).parent / "hrtp"), "--store", str(kb.settings.store_dir)]
    (docs / "a.txt").write_text(TRANSIT)
    sync_paths(kb, [docs], progress=False)
    question = "How many apprentices did the Fresno welding partnership train?"
    assert kb.ask(question).refused

    (docs / "b.txt").write_text(WELDING)
    subprocess.run(hrtp + ["ingest", str(docs)], check=True, capture_output=True, timeout=300)
    passages, _ = kb.retriever.search(question, mode="dense")
    assert passages[0].chunk.path == str(docs / "b.txt")  # the vector index, not only BM25
    answer = kb.ask(question)
    assert not answer.refused and "forty apprentices" in answer.text

    subprocess.run(hrtp + ["remove", str(docs / "b.txt")], check=True, capture_output=True, timeout=300)
    passages, _ = kb.retriever.search(question, mode="dense")
    assert [p.chunk.path for p in passages] == [str(docs / "a.txt")]
    assert kb.ask(question).refused
