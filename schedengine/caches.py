"""Helpers for the caches that readers on other threads fill while a
writer may be copying them (a patch): a bounded FIFO insert, a copy
without some keys, and a copy that keeps the entries still in use plus a
few recent others. They lean on a dict operation done in C being one step
under the GIL; none takes a lock."""

from __future__ import annotations

from typing import Any, Callable, Iterable, TypeVar

__all__ = ["copy_without", "put_bounded", "without_orphans"]

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


def without_orphans(cache: dict[K, V], live: Callable[[K, V], bool], keep: int) -> dict[K, V]:
    """A copy of `cache` with every entry `live` says is in use, and of the
    others (orphans: what patches replaced) the `keep` newest, which a later
    patch may bring back. Content-keyed caches carried from tree to tree
    would otherwise hold every schedule a tree ever had."""
    copy = dict(cache)
    orphans = [key for key, value in copy.items() if not live(key, value)]
    for key in orphans[:max(0, len(orphans) - keep)]:  # insertion order: the oldest first
        del copy[key]
    return copy
