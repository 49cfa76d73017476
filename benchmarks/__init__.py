"""Benchmark scripts; run one with ``python -m benchmarks.bench_<topic>``."""
