"""A tiny run of the benchmark: it runs end to end and writes the figures BENCHMARKS.md is made from.
(Speed goals are never asserted here; the real run is `python -m evals.bench`.)"""

import json

from evals.bench.__main__ import main


def test_benchmark_smoke_run_writes_its_figures(tmp_path, capsys):
    out = tmp_path / "bench"
    res = main(["--scales", "300", "--ingest-scale", "60", "--ingest-pdfs", "1", "--recall-from", "300", "--ef-sweep", "50", "--noop-scale", "60", "--rounds", "1",
                "--out", str(out), "--skip", "cold,naive,server"])
    saved = json.loads((out / "bench.json").read_text())
    assert saved["machine"]["cores"] >= 1
    assert len(saved["ingest"]["pdfs"]) == 1  # a real Debian PDF manual goes through pypdf in the ingest run
    assert saved["ingest"]["chunks"] > 0 and saved["ingest"]["encode_limit"][0]["chunks_per_s"] > 0
    assert saved["noop"]["chunks_embedded"] == 0 and saved["noop"]["files"] == 6
    for scale in ("bundled", "300"):
        assert set(saved["latency"][scale]) >= {"embed", "dense", "bm25", "fusion", "answer", "total"}
        assert saved["latency"][scale]["total"]["p50"] > 0
    recall = saved["recall"]["300"]
    assert 0.9 <= recall["recall@5"] <= 1 and recall["chunks"] > 300
    assert 0.9 <= recall["sweep"]["50"]["recall@5"] <= 1  # ef_search 50, probed in a fresh process
    assert res == saved
    printed = capsys.readouterr().out  # the table a person reads
    for heading in ("Ingest throughput", "No-op re-ingest", "Warm answer latency", "HNSW recall@5"):
        assert f"### {heading}" in printed
    assert "| 300 |" in printed
