"""The performance benchmark: `python -m evals.bench` (see BENCHMARKS.md). Not a test; prints and writes JSON."""
