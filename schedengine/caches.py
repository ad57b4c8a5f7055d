"""Two helpers for the caches that readers on other threads fill while a
writer may be copying them (a patch): a bounded FIFO insert and a copy
without some keys. Both lean on a dict operation done in C being one step
under the GIL; neither takes a lock."""

from __future__ import annotations

from typing import Any, Iterable, TypeVar

__all__ = ["copy_without", "put_bounded"]

K = TypeVar("K")
V = TypeVar("V")


def put_bounded(cache: dict[K, V], key: K, value: V, limit: int) -> None:
    """cache[key] = value, first dropping the oldest entry if the cache holds `limit`."""
    if len(cache) >= limit:
        try:
            del cache[next(iter(cache))]
        except (KeyError, RuntimeError, StopIteration):  # another thread dropped it first
            pass
    cache[key] = value


def copy_without(cache: dict[K, V], gone: Iterable[Any]) -> dict[K, V]:
    """A copy of `cache` less the keys in `gone`. dict() copies in one step,
    where iterating the cache in Python could see it change size."""
    copy = dict(cache)
    for key in gone:
        copy.pop(key, None)
    return copy
