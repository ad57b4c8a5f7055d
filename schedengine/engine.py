"""The Engine facade: load a customer tree, then ask what state a customer
is in at an instant, when it next changes, its timeline, and why.

Instants (`at`, `start`, `end`) may be aware datetimes, naive datetimes
(read as the owner's local wall-clock time, like Evo's TestSchedule), ISO
8601 strings with or without offset, or epoch seconds (int or float).
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import replace
from datetime import date, datetime, time, timedelta, timezone
from functools import partial
from fractions import Fraction
from numbers import Integral, Real
from typing import Any, Iterable, Literal, Mapping

from .compiled import MAX_CHUNKS, CompiledEvaluator, CompiledStore, is_numpy_array
from .errors import ConfigurationError, RecordError, WireFormatError
from .patching import plan_patch
from .policy import Policy
from .records import AppSettings, BillingSettings, Customer, PatchCustomer, clipped
from .reference import ReferenceEvaluator
from .results import Change, Explanation, Segment, StateResult, check_segment_count
from .times import HORIZON, MAX_DATE, MIN_DATE, epoch_datetime
from .results import Validation
from .tree import CustomerTree, validate_records
from .wire import (LIST, Envelope, Format, decoded_records, dump_customers, json_lines_record_error, parse_customers,
                   read_document, read_each_record, read_records_lazily, split_document, writable,
                   write_customers_atomic)

__all__ = ["Engine", "Instant", "validate_file"]

UTC = timezone.utc
Instant = datetime | str | int | float
Mode = Literal["compiled", "reference"]
_MICROSECOND = timedelta(microseconds=1)
# The compiled path serves instants in [MIN_INSTANT, HORIZON); the reference the rest.
MIN_INSTANT = datetime(1800, 1, 1, tzinfo=UTC)
MIN_EPOCH = (MIN_INSTANT - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()
HORIZON_EPOCH = (HORIZON - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()
# Instants a query accepts (UTC): the years record dates may have (times.MIN_DATE
# .. MAX_DATE), Python's datetime range less a year at each end, so the owner's
# wall clock, the evaluators' day-wide margins and the CLI's default week after
# an instant all stay representable.
FIRST_INSTANT = datetime.combine(MIN_DATE, time(), UTC)
END_INSTANT = datetime(MAX_DATE.year + 1, 1, 1, tzinfo=UTC)
INF = float("inf")


class Engine:
    """Answers state queries over one customer tree.

    mode="reference" serves every query from the reference evaluator;
    mode="compiled" (the default) from the compiled fast path.
    """

    def __init__(self, tree: CustomerTree, *, mode: Mode = "compiled", source_format: Format = "json",
                 max_chunks: int = MAX_CHUNKS, envelope: Envelope = LIST):
        """`source_format` and `envelope`: how the records were read, so
        writing them back in that format keeps the file's shape."""
        _check_options(mode, max_chunks)
        self.mode = mode
        self.source_format = source_format
        self.envelope = envelope
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
        _check_options(mode, max_chunks, policy)  # before the load, which may take long
        if isinstance(records, (str, bytes, Mapping)) or not isinstance(records, Iterable):
            what = "a dict (one customer? put it in a list)" if isinstance(records, Mapping) else type(records).__name__
            raise ConfigurationError(f"records: expected a list (or other iterable) of customers, found {what}")
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
        _check_options(mode, max_chunks, policy)  # before the load, which may take long
        if not isinstance(path, (str, os.PathLike)):
            raise ConfigurationError(f"path: expected a file name (str or os.PathLike), found {type(path).__name__}"
                                     + (": read it and pass the text's records to Engine.from_records"
                                        if hasattr(path, "read") else ""))
        # Records are kept as read either way (wire dicts, or JSON Lines text;
        # parsed into a bounded FIFO when needed), so writing the tree back
        # loses nothing a patch did not change.
        if validate:
            document, fmt = read_document(path)  # every record decoded now: errors name file and line
            records, envelope = split_document(document, path)
            records = decoded_records(records)
        else:
            records, fmt, envelope = read_records_lazily(path)
        try:
            tree = CustomerTree(records, policy)
        except WireFormatError as exc:
            # A JSON Lines record kept as text that does not decode: the tree
            # knows its position only; name the file, line and column as the
            # eager read does (found again on this error path alone).
            position = _record_position(exc.path)
            located = json_lines_record_error(path, position) if fmt == "jsonl" and position is not None else None
            if located is None:
                raise
            raise located from located.__cause__
        if validate:
            tree.check()
        return cls(tree, mode=mode, source_format=fmt, max_chunks=max_chunks, envelope=envelope)

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
        """The customers in input order, as copies: changing one changes nothing in
        the engine (use `patch`)."""
        return [customer.model_copy(deep=True) for customer in self.tree.records()]

    def to_file(self, path: str | os.PathLike[str], fmt: Format | None = None) -> None:
        """Write the customers atomically, in the input's format unless told otherwise."""
        fmt = fmt or self.source_format
        records, envelope = self._written(fmt)
        write_customers_atomic(path, records, fmt, envelope)

    def dumps(self, fmt: Format | None = None) -> str:
        """The text `to_file` would write (a lone surrogate escaped in JSON, a RecordError in JSV)."""
        fmt = fmt or self.source_format
        records, envelope = self._written(fmt)
        return writable(dump_customers(records, fmt, envelope), fmt, "Engine.dumps")

    def _written(self, fmt: Format) -> tuple[list[Any], Envelope]:
        """In the format it was read in, the document's shape and each record
        as read where a patch did not change it (unknown fields, key spellings
        and numbers intact: a `patch` from the CLI rewrites one customer, not
        the file); in another format, a list of every record in canonical
        camelCase."""
        if fmt == self.source_format:
            return self.tree.wire_records(), self.envelope
        return self.tree.records(), LIST

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
        """State names at many instants given as epoch seconds (int or float,
        not bool): a list (or any iterable) gives a list, a numpy array an
        object array of the same shape (with the `fast` extra installed).
        Served from the compiled form when it can answer them all exactly,
        else one reference query each. Any element that is not epoch seconds
        in range raises RecordError naming it, before anything is evaluated."""
        tree, reference, compiled = self._state
        array = is_numpy_array(instants)
        if array:
            if instants.dtype.kind not in "iuf":
                raise RecordError(f"instants: an array of {instants.dtype} is not epoch seconds", path="instants")
            values = instants.reshape(-1)  # any shape (0-d, empty, n-d) is answered flat, then reshaped
            if values.dtype.itemsize < 8:  # compared with bounds its own dtype cannot hold (float16 overflows)
                values = values.astype("float64" if values.dtype.kind == "f" else "int64")
        elif isinstance(instants, (str, bytes, Mapping)) or not isinstance(instants, Iterable):
            raise RecordError(f"instants: expected a list (or other iterable) or a numpy array of epoch seconds, "
                              f"found {type(instants).__name__}", path="instants")
        else:
            values = list(instants)
        if compiled is not None and compiled.supports(customer_id) and _all_compilable(values, array):
            states = compiled.state_many(customer_id, values)
            return states.reshape(instants.shape) if array else states
        checked = [_epoch_instant(value, i) for i, value in enumerate(values)]
        states = [reference.state_at(customer_id, at).state for at in checked]
        if array:
            import numpy as np  # present: `values` is an ndarray

            out = np.empty(len(states), dtype=object)
            out[:] = states
            return out.reshape(instants.shape)
        return states

    def next_change(self, customer_id: str, at: Instant) -> Change | None:
        state = self._state
        at = self.instant(customer_id, at, state[0])
        return self._evaluator(*state, customer_id, at).next_change(customer_id, at)

    def timeline(self, customer_id: str, start: Instant, end: Instant) -> list[Segment]:
        state = self._state
        start = self.instant(customer_id, start, state[0])
        end = self.instant(customer_id, end, state[0])
        if end < start:  # swapped arguments, most likely: an empty list would hide that
            zone = state[0].schedule(state[0].owner_id(customer_id)).zone  # as the operator typed them
            raise RecordError(f"the timeline's end {end.astimezone(zone).isoformat()} is before its start "
                              f"{start.astimezone(zone).isoformat()} ({zone.key}; a naive time the clock skips "
                              f"is read after the jump, with the offset before it)", path="end")
        # Only `start` must be in the compiled range: no change at or after the
        # horizon is reported, so a timeline reaching past it ends with one
        # segment there on either evaluator.
        tree, reference, compiled = state
        if start < MIN_INSTANT < end and compiled is not None and compiled.supports(customer_id):
            # Before the compiled range only: the rest from the compiled form (a timeline from
            # 1799 to 2028 took 29 s on the reference path alone, 1.2 s from 1800).
            head = reference.timeline(customer_id, start, MIN_INSTANT)
            tail = compiled.timeline(customer_id, MIN_INSTANT, end)
            if len(reference.timeline(customer_id, MIN_INSTANT - _MICROSECOND, MIN_INSTANT + _MICROSECOND)) == 1:
                head[-1] = replace(head[-1], end=tail.pop(0).end)  # no change at the seam
            check_segment_count(len(head) + len(tail) - 2, start, end)  # the limit is the whole call's
            return head + tail
        return self._evaluator(*state, customer_id, start).timeline(customer_id, start, end)

    def effective_billing_settings(self, customer_id: str) -> BillingSettings | None:
        """The BillingSettings that apply to the customer (SPEC §4): those of the nearest
        of itself and its ancestors whose OverrideBillingSettings is true, else the root's.
        A copy: changing it changes nothing."""
        settings = self.tree.effective_billing_settings(customer_id)
        return None if settings is None else settings.model_copy(deep=True)

    def effective_app_settings(self, customer_id: str) -> AppSettings | None:
        """The AppSettings that apply to the customer, found as effective_billing_settings
        finds those (by OverrideAppSettings). A copy."""
        settings = self.tree.effective_app_settings(customer_id)
        return None if settings is None else settings.model_copy(deep=True)

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
        or the new one. Compiled forms of unchanged schedules are reused.
        The returned customer is a copy: changing it changes nothing."""
        with self._write_lock:
            plan = plan_patch(self._state[0], customer_id, request, actor=actor)
            self._install(plan.tree, plan.affected)
        # A copy: changing it must not reach the stored record (what is written)
        # while the answers stay those of the record as patched.
        return plan.customer.model_copy(deep=True)


def _check_options(mode: Any, max_chunks: Any, policy: Any = None) -> None:
    if policy is not None and not isinstance(policy, Policy):
        raise ConfigurationError(f"policy: expected a schedengine.Policy, found {type(policy).__name__} "
                                 f"(e.g. Policy(priority='lowest-first'))")
    if mode not in ("compiled", "reference"):
        raise ConfigurationError(f"mode {mode!r} is not 'compiled' or 'reference'")
    if type(max_chunks) is not int or max_chunks < 1:  # (a bool is no count)
        raise ConfigurationError(f"max_chunks {max_chunks!r} is not a whole number of chunks of at least 1 "
                                 f"(the default is {MAX_CHUNKS:,})")


def validate_file(path: str | os.PathLike[str], policy: Policy | None = None) -> Validation:
    """Every error and warning of a customers file, in file order (what
    ``schedengine validate`` prints): where `Engine.from_file(path)` raises
    the first error, this reports them all (`tree.validate_records`).

    Raises RecordError (WireFormatError) only when the file as a whole
    cannot be read: missing or unreadable, not UTF-8, JSON or JSV that does
    not parse, no list of customers. In JSON Lines each line is a record,
    so a line that does not decode is that record's error."""
    records, _ = read_each_record(path)
    return validate_records(records, policy)


def iso_datetime(text: str) -> datetime:
    """`datetime.fromisoformat` (any case of Z), except where it reads a digit as the
    date-time separator: an all-digit text is ISO only as a basic date, YYYYMMDD
    (fromisoformat read 20000101120 as 2000-01-01 20:00, and 1111111111111 as
    1111-11-11 11:11). ValueError for what is not an ISO 8601 date-time."""
    plain = text.strip()
    if plain.isdigit() and len(plain) != 8:
        raise ValueError(f"{plain!r} is not an ISO 8601 date-time")
    return datetime.fromisoformat(plain.replace("z", "Z"))


def to_instant(at: Instant, zone_of_owner: Any) -> datetime:
    """Aware UTC datetime from any accepted instant form, within
    [FIRST_INSTANT, END_INSTANT). `zone_of_owner` is called only for naive input."""
    given = at
    if type(at).__name__ == "timedelta64":  # numpy registers it as an Integral; a duration is no instant
        raise RecordError(f"{_shown(at)} is not an instant (a duration; epoch seconds are a plain number)", path="at")
    if isinstance(at, Real) and type(at) not in (int, float, Fraction) and not isinstance(at, bool):
        # A numpy scalar computes in its own dtype, where an int16's microseconds overflow.
        at = int(at) if isinstance(at, Integral) else float(at)
    if isinstance(at, bool) or (isinstance(at, float) and at != at):
        raise RecordError(f"{_shown(at)} is not an instant", path="at")
    try:
        if isinstance(at, Real):  # int, float, numpy scalars, Fraction
            at = epoch_datetime(at)
        elif isinstance(at, str):
            try:
                at = iso_datetime(at)
            except ValueError as exc:
                raise RecordError(f"{_shown(at)} is not an ISO 8601 instant (e.g. 2027-07-05T10:30:00-04:00)",
                                  path="at") from exc
        elif isinstance(at, date) and not isinstance(at, datetime):
            at = datetime(at.year, at.month, at.day)
        if not isinstance(at, datetime):
            raise RecordError(f"{_shown(at)} is not an instant (expected a datetime, ISO string or epoch seconds)",
                              path="at")
        if at.tzinfo is None or at.tzinfo.utcoffset(at) is None:
            at = at.replace(tzinfo=zone_of_owner())
        at = at.astimezone(UTC)
    except (OverflowError, OSError, ValueError) as exc:
        if isinstance(exc, RecordError):
            raise
        at = None
    if at is None or not FIRST_INSTANT <= at < END_INSTANT:
        raise RecordError(f"{_shown(given)} is out of range: instants from {FIRST_INSTANT.date()} to before "
                          f"{END_INSTANT.date()} (UTC) are accepted", path="at")
    return at


def _record_position(path: str | None) -> int | None:
    """N of the path ``customers[N]`` that CustomerTree gives a record it cannot decode."""
    match = re.fullmatch(r"customers\[(\d+)\]", path or "")
    return int(match[1]) if match else None


def _all_compilable(values: Any, array: bool) -> bool:
    """Whether every element is finite epoch seconds the compiled form
    serves (1800 to the horizon): one pass in C over a list of floats and
    ints, numpy's own reductions over an array."""
    if len(values) == 0:
        return True
    if array:
        lo, hi = values.min(), values.max()  # NaN anywhere makes both NaN
    else:
        if not set(map(type, values)) <= {float, int}:
            return False
        try:
            total = sum(values)  # NaN or inf if any element is; min/max alone may skip a NaN
        except OverflowError:  # an int too large for a float
            return False
        if total != total or total in (INF, -INF):
            return False
        lo, hi = min(values), max(values)
    return bool(MIN_EPOCH <= lo and hi < HORIZON_EPOCH)


def _epoch_instant(value: Any, index: int) -> datetime:
    """One element of state_many's instants as an aware UTC datetime."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise RecordError(f"instants[{index}]: {_shown(value)} is not epoch seconds", path=f"instants[{index}]")
    try:
        return to_instant(value, None)
    except RecordError as exc:
        raise RecordError(f"instants[{index}]: {exc}", path=f"instants[{index}]") from None


def _shown(value: Any) -> str:
    """An instant as a message quotes it: its repr, long ones cut and their length given."""
    return clipped(value.isoformat() if isinstance(value, datetime) else value, repr)
