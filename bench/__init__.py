"""Benchmarks: the model zoo (bench/zoo) and the benches that measure it (bench/forward.py)."""
