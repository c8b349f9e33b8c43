"""Question sets, metrics, the eval runner and benchmarks."""
