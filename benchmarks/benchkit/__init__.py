"""Helpers for benchmarks/run.py: processes, the catalog, runs and the report."""
