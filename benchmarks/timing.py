"""The one timing helper every scenario uses."""

from __future__ import annotations

import gc
from dataclasses import dataclass
from statistics import median
from time import perf_counter_ns
from typing import Any, Callable, Sequence


@dataclass(frozen=True)
class Stats:
    """Nanoseconds per operation over the samples."""
    median: float
    p90: float
    samples: int


def stats(samples: Sequence[float]) -> Stats:
    ordered = sorted(samples)
    return Stats(median(ordered), ordered[round(0.9 * (len(ordered) - 1))], len(ordered))


def measure(call: Callable[..., Any], args: Sequence[tuple], inner: int = 1) -> Stats:
    """Call `call(*a)` for each `a` in `args`, timing each run of `inner`
    consecutive calls with perf_counter_ns; one sample = that run's time / inner.
    Small operations use inner > 1 so the clock's own cost does not dominate
    (the loop's ~30 ns per call stays in: figures are conservative).
    The garbage collector is off while timing, as in `timeit`."""
    samples = []
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for i in range(0, len(args) - inner + 1, inner):
            batch = args[i:i + inner]
            start = perf_counter_ns()
            for a in batch:
                call(*a)
            samples.append((perf_counter_ns() - start) / inner)
    finally:
        if gc_was_enabled:
            gc.enable()
    return stats(samples)
