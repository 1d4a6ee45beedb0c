"""Benchmarks, run by hand (see README, "Benchmark"). Nothing here is imported by the app."""
