"""Benchmarks: named, seeded scenarios, each measured against the naive
dateutil baseline (`benchmarks.naive`) in the same run.

    python -m benchmarks            # everything but the 1,000,000-customer scenario
    python -m benchmarks --quick    # small sizes: a smoke run (seconds)
    python -m benchmarks --scale    # also the 1,000,000-customer scenario (minutes)

See docs/benchmarks.md.
"""
