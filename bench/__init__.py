"""Benchmarks: `make bench` runs them and prints numbers and ratios (never asserted in tests)."""
