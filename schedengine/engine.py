"""The Engine facade: load a customer tree, then ask what state a customer
is in at an instant, when it next changes, its timeline, and why.

Instants (`at`, `start`, `end`) may be aware datetimes, naive datetimes
(read as the owner's local wall-clock time, like Evo's TestSchedule), ISO
8601 strings with or without offset, or epoch seconds (int or float).
"""

from __future__ import annotations

import os
import threading
from datetime import date, datetime, timezone
from functools import partial
from typing import Any, Iterable, Literal, Mapping

from .compiled import MAX_CHUNKS, CompiledEvaluator, CompiledStore, is_numpy_array
from .errors import RecordError
from .patching import plan_patch
from .policy import Policy
from .records import Customer, PatchCustomer
from .reference import HORIZON, ReferenceEvaluator
from .results import Change, Explanation, Segment, StateResult
from .tree import CustomerTree
from .wire import (Format, dump_customers, parse_customers, read_document, read_records_lazily,
                   write_customers_atomic)

__all__ = ["Engine", "Instant"]

UTC = timezone.utc
Instant = datetime | str | int | float
Mode = Literal["compiled", "reference"]
# The compiled path serves instants in [MIN_INSTANT, HORIZON); the reference the rest.
MIN_INSTANT = datetime(1800, 1, 1, tzinfo=UTC)
MIN_EPOCH = (MIN_INSTANT - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()
HORIZON_EPOCH = (HORIZON - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()


class Engine:
    """Answers state queries over one customer tree.

    mode="reference" serves every query from the reference evaluator;
    mode="compiled" (the default) from the compiled fast path.
    """

    def __init__(self, tree: CustomerTree, *, mode: Mode = "compiled", source_format: Format = "json",
                 max_chunks: int = MAX_CHUNKS):
        if mode not in ("compiled", "reference"):
            raise ValueError(f"mode {mode!r} is not 'compiled' or 'reference'")
        self.mode = mode
        self.source_format = source_format
        self._store = CompiledStore(max_chunks)
        self._write_lock = threading.Lock()  # patches are read-modify-write
        self._install(tree)

    def _install(self, tree: CustomerTree, affected: tuple[str, ...] = ()) -> None:
        """Swap in a tree and its evaluators in one assignment, so a reader on
        another thread sees either the old tree or the new one, never a mix.
        After a patch, what the old evaluator knew about customers outside
        `affected` carries over."""
        reference = ReferenceEvaluator(tree)
        compiled = None
        if self.mode == "compiled":
            previous = self._state[2] if affected else None
            compiled = CompiledEvaluator(tree, self._store, previous, affected)
            compiled.fallback = partial(self._state_at, tree, reference, compiled)
        self._state = (tree, reference, compiled)
        # The hot path: state_at goes straight to the compiled evaluator, whose
        # fallback is bound to the same tree (so a patch cannot mix two trees).
        self.state_at = compiled.state_at if compiled else partial(self._state_at, tree, reference, None)

    # ------------------------------------------------------------ building

    @classmethod
    def from_records(cls, records: Iterable[Customer | dict[str, Any]], policy: Policy | None = None,
                     mode: Mode = "compiled", *, validate: bool = True, max_chunks: int = MAX_CHUNKS
                     ) -> "Engine":
        """Customers as models or wire dicts (any key case). With `validate`
        (the default) every schedule is checked now, so a bad rule fails the
        load rather than a later query."""
        records = list(records)
        raw = [r for r in records if not isinstance(r, Customer)]
        if raw:
            parsed = iter(parse_customers(raw))
            records = [r if isinstance(r, Customer) else next(parsed) for r in records]
        tree = CustomerTree(records, policy)
        if validate:
            tree.check()
        return cls(tree, mode=mode, max_chunks=max_chunks)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], policy: Policy | None = None,
                  mode: Mode = "compiled", *, validate: bool = True, max_chunks: int = MAX_CHUNKS
                  ) -> "Engine":
        """Load `.json`, `.jsonl` or `.jsv` (the format is also sniffed from the content).

        With validate=False records are checked only when first used: the
        tree's shape (ids, parents, cycles) is still checked at once, but a
        bad rule surfaces at the first query that reads it. A one-shot query
        on a large file then costs little more than reading it."""
        if validate:
            document, fmt = read_document(path)
            records: list[Any] = parse_customers(document)
        else:
            records, fmt = read_records_lazily(path)
        tree = CustomerTree(records, policy)
        if validate:
            tree.check()
        return cls(tree, mode=mode, source_format=fmt, max_chunks=max_chunks)

    @property
    def tree(self) -> CustomerTree:
        return self._state[0]

    def _evaluator(self, tree: CustomerTree, reference: ReferenceEvaluator,
                   compiled: CompiledEvaluator | None, customer_id: str, *instants: datetime) -> Any:
        """The compiled evaluator where it can answer exactly, else the reference."""
        if (compiled is not None and all(MIN_INSTANT <= at < HORIZON for at in instants)
                and compiled.supports(customer_id)):
            return compiled
        return reference

    @property
    def policy(self) -> Policy:
        return self.tree.policy

    def customers(self) -> list[Customer]:
        return self.tree.records()

    def to_file(self, path: str | os.PathLike[str], fmt: Format | None = None) -> None:
        """Write the customers atomically, in the input's format unless told otherwise."""
        write_customers_atomic(path, self.tree.records(), fmt or self.source_format)

    def dumps(self, fmt: Format | None = None) -> str:
        return dump_customers(self.tree.records(), fmt or self.source_format)

    # ------------------------------------------------------------- queries
    # Each query reads self._state once, so a concurrent patch cannot give it
    # the zone of one tree and the answer of another.

    def instant(self, customer_id: str, at: Instant, tree: CustomerTree | None = None) -> datetime:
        """Normalise `at` to an aware UTC datetime (naive = the owner's wall clock)."""
        tree = tree or self.tree
        return to_instant(at, lambda: tree.schedule(tree.owner_id(customer_id)).zone)

    def state_at(self, customer_id: str, at: Instant) -> StateResult:  # replaced per instance by _install
        """The state of `customer_id` at `at` (see the module docstring for instants)."""
        raise AssertionError("Engine._install binds state_at")

    def _state_at(self, tree: CustomerTree, reference: ReferenceEvaluator, compiled: CompiledEvaluator | None,
                  customer_id: str, at: Instant) -> StateResult:
        """The general path: any form of instant, any schedule."""
        at = self.instant(customer_id, at, tree)
        if compiled is not None and MIN_INSTANT <= at < HORIZON and compiled.supports(customer_id):
            return compiled.answer(customer_id, at)
        return reference.state_at(customer_id, at)

    def state_many(self, customer_id: str, instants: Any) -> Any:
        """State names at many instants given as epoch seconds: a list (or
        any iterable) gives a list, a numpy array an object array (with the
        `fast` extra installed). Served from the compiled form when it can
        answer them all exactly, else one reference query each."""
        tree, reference, compiled = self._state
        if compiled is not None and compiled.supports(customer_id):
            values = instants if is_numpy_array(instants) else list(instants)
            if len(values) == 0:
                return compiled.state_many(customer_id, values)
            # numpy's own min and max: the builtins would box every element.
            lo, hi = (values.min(), values.max()) if is_numpy_array(values) else (min(values), max(values))
            if MIN_EPOCH <= lo and hi < HORIZON_EPOCH:
                return compiled.state_many(customer_id, values)
        return [reference.state_at(customer_id, to_instant(float(at), None)).state for at in instants]

    def next_change(self, customer_id: str, at: Instant) -> Change | None:
        state = self._state
        at = self.instant(customer_id, at, state[0])
        return self._evaluator(*state, customer_id, at).next_change(customer_id, at)

    def timeline(self, customer_id: str, start: Instant, end: Instant) -> list[Segment]:
        state = self._state
        start = self.instant(customer_id, start, state[0])
        end = self.instant(customer_id, end, state[0])
        return self._evaluator(*state, customer_id, start, end).timeline(customer_id, start, end)

    def explain(self, customer_id: str, at: Instant) -> Explanation:
        """The reference evaluator's account (explaining is never hot)."""
        tree, reference, _ = self._state
        return reference.explain(customer_id, self.instant(customer_id, at, tree))

    def validate(self) -> list[tuple[str, str]]:
        """Warnings as (path, message); raises the first error."""
        return self.tree.check()

    # ------------------------------------------------------------ patching

    def patch(self, customer_id: str, request: PatchCustomer | Mapping[str, Any],
              actor: str | None = None) -> Customer:
        """Apply a ``PATCH /customers/{customerId}`` body; return the patched
        CustomerInfo. `request` is a PatchCustomer or a dict in wire form
        (JSON or JSV keys, any case). Semantics: `schedengine.patching`.

        Validation comes first: the whole new tree is built and every
        schedule the patch can affect is prepared; only then is it installed,
        in one assignment. A rejected patch raises PatchError (an unknown
        customer UnknownCustomerError) and leaves the engine exactly as it
        was. Writers are serialised; readers never wait and see the old tree
        or the new one. Compiled forms of unchanged schedules are reused."""
        with self._write_lock:
            plan = plan_patch(self._state[0], customer_id, request, actor=actor)
            self._install(plan.tree, plan.affected)
            return plan.customer


def to_instant(at: Instant, zone_of_owner: Any) -> datetime:
    """Aware UTC datetime from any accepted instant form. `zone_of_owner` is
    called only for naive input."""
    if isinstance(at, bool):
        raise RecordError(f"{at!r} is not an instant", path="at")
    if isinstance(at, (int, float)):
        try:
            return datetime.fromtimestamp(at, UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise RecordError(f"{at!r} is out of range as epoch seconds", path="at") from exc
    if isinstance(at, str):
        text = at.strip()
        try:
            parsed = datetime.fromisoformat(text.replace("z", "Z"))
        except ValueError as exc:
            raise RecordError(f"{at!r} is not an ISO 8601 instant (e.g. 2027-07-05T10:30:00-04:00)",
                              path="at") from exc
        at = parsed
    if isinstance(at, datetime):
        if at.tzinfo is None or at.tzinfo.utcoffset(at) is None:
            return at.replace(tzinfo=zone_of_owner()).astimezone(UTC)
        return at.astimezone(UTC)
    if isinstance(at, date):
        return to_instant(datetime(at.year, at.month, at.day), zone_of_owner)
    raise RecordError(f"{at!r} is not an instant (expected a datetime, ISO string or epoch seconds)",
                      path="at")
