"""Fast path: compiled timelines, answered by bisect.

The outcome of a schedule (state, reason, rule) is piecewise constant in
time. For each distinct evaluation -- the owner's prepared schedule plus
those of the ancestors its CustomerState rules read, identified by their
fingerprints -- we compile that piecewise function one *chunk* of UTC time
at a time (2**19 s, about 6 days): the sorted instants where the outcome
may change (window edges mapped through the zone's UTC-offset spans, plus
the offset changes themselves), and the outcome on each piece, one shared
tuple per distinct outcome. A warm `state_at` is then two dict lookups, a
`bisect_right` and a seven-slot tuple build; the result reads `until` from
the chunk (the next piece's start) only when asked.

Chunks are compiled on first use, shared by every customer whose evaluation
is identical (so a million customers drawn from a few hundred templates
share a few hundred compiled forms), and kept in a bounded FIFO cache
(`MAX_CHUNKS`), so queries spread over decades cannot grow memory without
bound. Compiling a chunk asks the recurrence module only for the windows
that intersect it, whose cost does not depend on how old StartDate is.

This module never imports `reference`; the test suite proves the two equal.
"""

from __future__ import annotations

import sys
from array import array
from bisect import bisect_right
from operator import itemgetter
from collections import deque
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterator, Sequence

from .records import SimpleSchedulingRuleTypes
from .results import Change, Segment, StateResult, check_segment_count
from .recurrence import RuleWindows
from .times import HORIZON, utc_offset_spans
from .caches import copy_without, put_bounded, without_orphans
from .tree import ORPHANS_KEPT, CustomerTree, OwnerSchedule, StateProofs, normalise_state, rules_up_to

__all__ = ["CompiledEvaluator", "CHUNK_SECONDS", "MAX_CHUNKS"]

UTC = timezone.utc
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NAIVE_EPOCH = datetime(1970, 1, 1)
CHUNK_BITS = 19  # small enough that bisect reads one or two cache lines of times
CHUNK_SECONDS = 1 << CHUNK_BITS  # 524,288 s = 6.07 days
CHUNK_FLOAT = float(CHUNK_SECONDS)
# Compiled chunks kept at once (FIFO). A chunk of a business schedule holds
# about 10 pieces in about 0.6 KiB, so the default bounds the cache near
# 0.6 GB, room for a week of a million customers on 300,000 distinct
# schedules; pass Engine(max_chunks=...) to trade memory for recompiles.
MAX_CHUNKS = 1_000_000
# Pieces kept at once, per chunk allowed: a dense schedule (a window every few
# minutes) has thousands of pieces a chunk, and a count of chunks alone let
# next_change over such a schedule fill gigabytes.
PIECES_PER_CHUNK = 20
# Rule windows over one chunk's wall range remembered at once (FIFO), each a
# few hundred bytes: about 30 MB. Only ranges of at most MEMBERSHIP_WINDOWS
# windows are remembered (the sharing this serves is between business
# schedules; a dense rule's range can hold thousands).
MAX_MEMBERSHIPS = 100_000
MEMBERSHIP_WINDOWS = 64
HORIZON_TS = int(HORIZON.timestamp())  # nothing is reported at or after
DAY = 86400
ALWAYS = SimpleSchedulingRuleTypes.Always
TIME = SimpleSchedulingRuleTypes.Time
CUSTOMER_STATE = SimpleSchedulingRuleTypes.CustomerState
MIN_TS = int((datetime(1800, 1, 1) - NAIVE_EPOCH).total_seconds())


def _wall_seconds(wall: datetime) -> int:
    return (wall - NAIVE_EPOCH) // timedelta(seconds=1)


def _wall_at(seconds: int) -> datetime:
    return NAIVE_EPOCH + timedelta(seconds=seconds)


def _instant(ts: int) -> datetime:
    return EPOCH + timedelta(seconds=ts)


class _Chunk(tuple):
    """[start, end): the instants where the outcome changes and the outcome
    of each piece, as one flat tuple: (start, end, times, form, outcome of
    piece 0, outcome of piece 1, ...). Flat, so the hot path reaches a
    piece's outcome without another object (at a million customers each
    object not in the CPU cache costs ~200 ns); nothing per piece but a
    float and a pointer, so a chunk of 10 pieces is about 0.5 KiB."""

    __slots__ = ()

    def __new__(cls, form: "_Compiled", times: list[int], protos: list[tuple], start: float = 0.0) -> "_Chunk":
        start = float(start)
        end = start + CHUNK_FLOAT if times else start  # empty: contains nothing
        # Floats: queries arrive as float epoch seconds, and bisect over
        # values of the same type avoids CPython's slow mixed int/float compare.
        # times[0] == start; strictly increasing. Each outcome is its form's
        # one shared tuple for it (see _proto).
        return tuple.__new__(cls, (start, end, array("d", times), form, *protos))

    start = property(itemgetter(0))
    end = property(itemgetter(1))
    times = property(itemgetter(2))
    form = property(itemgetter(3))

    @property
    def protos(self) -> tuple[tuple, ...]:
        return self[FIRST_PIECE:]

    def until(self, position: int) -> datetime | None:
        """When the outcome at `position` (FIRST_PIECE + piece) ends: the next
        piece's start (neighbours always differ), or for the last piece the
        first later change, which the form finds once and keeps."""
        times = self[2]
        piece = position - FIRST_PIECE
        if piece + 1 < len(times):
            return _instant(times[piece + 1])
        return self[3].tail_until(self)


FIRST_PIECE = 4  # a chunk's index of the outcome of its piece 0


class _Compiled:
    """One distinct evaluation: an owner schedule and the ancestors it reads.
    It needs no tree: everything it reads is in `chain`, so the chunks
    cached after a patch never keep an old tree alive."""

    __slots__ = ("chain", "parents", "chunks", "empty", "edges", "tails", "time_zone", "protos", "store",
                 "force_closed_state", "fallback_state", "proofs")

    def __init__(self, chain: Sequence[OwnerSchedule], parents: Sequence[bool], store: "CompiledStore",
                 force_closed_state: str, fallback_state: str, proofs: StateProofs):
        self.chain = tuple(chain)  # owner first, then the owners its CustomerState rules read
        self.parents = tuple(parents)  # whether each owner has a parent at all
        # Chunk index -> chunk, for chunks wholly inside [MIN_TS, HORIZON_TS):
        # the hot path answers from these without checking the range.
        self.chunks: dict[int, _Chunk] = {}
        self.empty = _Chunk(self, [], [])  # contains no instant: the hot path's start
        self.edges: dict[int, _Chunk] = {}  # the (at most two) chunks straddling MIN_TS or HORIZON_TS
        self.time_zone = chain[0].zone_name
        self.protos: dict[tuple, tuple] = {}  # outcome key -> its one shared outcome tuple
        self.tails: dict[float, datetime | None] = {}  # chunk start -> `until` of its last piece
        self.store = store
        self.force_closed_state = force_closed_state
        self.fallback_state = fallback_state
        self.proofs = proofs  # (content-keyed, like the form: holds no tree)

    def chunk(self, idx: int) -> _Chunk:
        chunk = self.chunks.get(idx) or self.edges.get(idx)
        if chunk is None:
            chunk = compile_chunk(self, idx)
            start = idx * CHUNK_SECONDS
            if MIN_TS <= start and start + CHUNK_SECONDS <= HORIZON_TS:
                self.store.remember(self, idx, chunk)
            else:
                self.edges[idx] = chunk
                self.store.chunks_compiled += 1
        return chunk

    def piece_at(self, ts: float) -> tuple[_Chunk, int]:
        """The chunk holding `ts`, and the position of its piece's outcome in it."""
        chunk = self.chunk(int(ts // CHUNK_SECONDS))
        return chunk, bisect_right(chunk.times, ts) + FIRST_PIECE - 1

    def pieces_after(self, ts: float) -> Iterator[tuple[float, tuple]]:
        """(start, outcome) of every piece starting after `ts`, in order,
        skipping quiet stretches where no rule has an edge; stops at the horizon."""
        idx = int(ts // CHUNK_SECONDS)
        while idx * CHUNK_SECONDS < HORIZON_TS:
            chunk = self.chunk(idx)
            for t, proto in zip(chunk.times, chunk.protos):
                if t > ts:
                    yield t, proto
            idx += 1
            if len(chunk.times) == 1:
                # A chunk without change: jump to where an edge could next occur.
                quiet_end = self.quiet_until(idx * CHUNK_SECONDS, chunk[FIRST_PIECE])
                if quiet_end is None:
                    return
                idx = max(idx, quiet_end // CHUNK_SECONDS)

    def tail_until(self, chunk: _Chunk) -> datetime | None:
        """Where the outcome of a chunk's last piece ends, looking into later chunks."""
        if chunk.start in self.tails:
            return self.tails[chunk.start]
        last, until = chunk[-1], None
        for t, later in self.pieces_after(chunk.times[-1]):
            if later is not last:  # one tuple per distinct outcome: identity is equality
                until = _instant(t)
                break
        self.tails[chunk.start] = until
        return until

    def quiet_until(self, ts: int, proto: tuple) -> int | None:
        """A lower bound on the next instant >= ts at which a rule that can
        change the owner's outcome has a window edge; None if none ever has.
        `proto`: the owner's outcome just before ts. At each level of the
        chain only the rules up to the one deciding now count: a rule after
        it cannot decide anything until a rule before it (or it) has an edge.
        (A shadowed rule with an edge every hour would otherwise make every
        chunk to the horizon be compiled.)"""
        best: int | None = None
        key = next(k for k, v in self.protos.items() if v is proto)
        relevant = rules_up_to(self.chain[0].live_rules, key[2]) if not self.chain[0].force_closed else ()
        keys: list[tuple] = []  # each level's outcome at ts, worked out if a parent is read
        # A parent whose state cannot change (any more, or before `until`) changes nothing by
        # its edges (see reference._step).
        level, until = self.proofs.constant_from(self.chain, _instant(ts))
        moving = self.chain[:level]
        if until is not None:
            best = int(until.timestamp())
        for i, schedule in enumerate(moving):
            for p in relevant:
                # A conditional rule is compiled only when no evaluator is set:
                # then it never matches, and its edges change nothing.
                if p.kind is not TIME or p.condition:
                    continue
                # Start a day early: a fall-back can replay recent wall times.
                wall = datetime.fromtimestamp(ts, schedule.zone).replace(tzinfo=None) - timedelta(days=1)
                edge = p.windows.next_edge(wall)  # type: ignore[union-attr]
                if edge is not None:
                    bound = _wall_seconds(edge) - 2 * DAY  # any UTC offset is within a day
                    best = bound if best is None else min(best, bound)
            # A parent matters only through the states the CustomerState rules want.
            wanted = frozenset(p.customer_state for p in relevant if p.kind is CUSTOMER_STATE and not p.condition)
            if not wanted or i + 1 == len(moving):
                break
            if not keys:
                layers = _layers(self, ts, ts + 1, remember=False)  # one instant: no other form asks for it
                keys = _decide_levels(self, layers, ts, self.force_closed_state, self.fallback_state)
            relevant = rules_up_to(self.chain[i + 1].deciding_rules(wanted, self.fallback_state), keys[i + 1][2])
        return best


def _hot_path(hot: dict[str, _Chunk], tree: CustomerTree, slow: Callable[[str, Any], StateResult]
              ) -> Callable[[str, Any], StateResult]:
    """state_at for the cases that matter to a call router -- a known
    customer, a float, int or aware datetime, a chunk already compiled --
    in as few bytecodes and as few distinct objects as possible (at a
    million customers each object not in the CPU cache costs more than the
    bytecodes); everything else goes to `slow`.

    `hot` maps each customer it may serve to the chunk its last query used:
    calls arrive at about "now", so most queries fall in that chunk, and at
    a million customers skipping the form's chunk dict skips three cache
    misses. Out-of-range instants need no test here: `hot` and a form's
    `chunks` hold only chunks wholly inside the range. The result reads its
    owner from `tree` and its `until` from the chunk when asked."""
    get_chunk = hot.get
    new = tuple.__new__

    def state_at(customer_id: str, at: Any) -> StateResult:
        try:
            chunk = get_chunk(customer_id)
        except TypeError:  # unhashable: the slow path names it unknown
            chunk = None
        if chunk is not None:
            kind = type(at)
            if kind is float:
                ts = at
            elif kind is datetime:
                zone = at.tzinfo
                if zone is not UTC and (zone is None or at.utcoffset() is None):
                    return slow(customer_id, at)  # naive: the owner's wall clock
                ts = at.timestamp()
            elif kind is int:
                ts = at
            else:
                return slow(customer_id, at)
            if not chunk[0] <= ts < chunk[1]:
                try:
                    chunk = chunk[3].chunks.get(ts // CHUNK_FLOAT)  # a float key finds the int key
                except OverflowError:  # an int beyond any float: the slow path says so
                    chunk = None
                if chunk is None:
                    return slow(customer_id, at)
                hot[customer_id] = chunk
            i = bisect_right(chunk[2], ts) + 3  # FIRST_PIECE - 1
            proto = chunk[i]
            return new(StateResult, (proto[0], proto, customer_id, tree, chunk, i, at))
        return slow(customer_id, at)

    return state_at


# customer id -> (owner id, compiled form, whether the compiled form may answer at all)
_Entry = tuple[str, _Compiled, bool]


class CompiledEvaluator:
    """Same queries as the reference evaluator, served from compiled chunks.

    Schedules with conditional rules under a condition evaluator cannot be
    compiled (the condition may depend on anything); `supports()` says so
    and the Engine sends those queries to the reference evaluator.
    """

    def __init__(self, tree: CustomerTree, store: "CompiledStore | None" = None,
                 previous: "CompiledEvaluator | None" = None, affected: Sequence[str] = ()):
        """`previous`: the evaluator of the tree this one replaces after a
        patch; its entries for customers outside `affected` carry over."""
        self.tree = tree
        # What state_at does with what it cannot answer exactly (naive
        # datetimes, strings, beyond the horizon, conditional schedules); the
        # Engine sets its general path here.
        self.fallback: Callable[[str, Any], StateResult] = _unanswerable
        self.policy = tree.policy
        self.store = store if store is not None else CompiledStore()
        self._entries: dict[str, _Entry] = {}
        # customer id -> the chunk its last hot query used (at first its form's
        # empty chunk), for customers whose form may answer. Each keeps that
        # one chunk alive even after the cache drops it: at most one per customer.
        self._hot: dict[str, _Chunk] = {}
        if previous is not None:
            self._entries = copy_without(previous._entries, affected)
            self._hot = copy_without(previous._hot, affected)
            self.store.drop_orphans(self._entries)
        # An instance attribute, so a query is one plain function call.
        self.state_at = _hot_path(self._hot, tree, self._state_at_slow)

    # -------------------------------------------------------------- entries

    def _entry(self, customer_id: str) -> _Entry:
        try:
            entry = self._entries.get(customer_id)
        except TypeError:  # unhashable
            self.tree.require(customer_id)  # raises UnknownCustomerError
            raise
        if entry is None:
            owner = self.tree.owner_id(customer_id)
            owners = self.tree.state_chain(owner)
            chain = [self.tree.schedule(oid) for oid in owners]
            parents = [self.tree.parent_id(oid) is not None for oid in owners]
            policy = self.policy
            key = (policy.force_closed_state, policy.fallback_state,
                   tuple(parents), tuple(s.fingerprint for s in chain))
            compiled = self.store.forms.get(key)
            if compiled is None:
                compiled = _Compiled(chain, parents, self.store, policy.force_closed_state,
                                     policy.fallback_state, self.tree.proofs)
                self.store.forms[key] = compiled
            compilable = policy.condition_evaluator is None or not any(
                p.condition for s in chain for p in s.live_rules)
            entry = (owner, compiled, compilable)
            self._entries[customer_id] = entry
            if compilable:
                self._hot[customer_id] = compiled.empty
        return entry

    def supports(self, customer_id: str) -> bool:
        """False for a schedule whose conditional rules a condition evaluator decides."""
        return self._entry(customer_id)[2]

    # ------------------------------------------------------------ state_at

    def state_at(self, customer_id: str, at: Any) -> StateResult:  # replaced per instance by __init__
        """The state at an aware datetime or epoch seconds (int or float);
        anything else goes to the fallback (the Engine's general path)."""
        raise AssertionError("CompiledEvaluator.__init__ binds state_at")

    def _state_at_slow(self, customer_id: str, at: Any) -> StateResult:
        """Whatever the hot path passed on: a first query, a chunk not yet
        compiled, or an instant it must hand to the fallback."""
        kind = type(at)
        if isinstance(at, datetime) and at.tzinfo is not None and at.utcoffset() is not None:
            ts = at.timestamp()
        elif kind is float or kind is int:
            ts = at
        else:
            return self.fallback(customer_id, at)
        if not self._entry(customer_id)[2] or not MIN_TS <= ts < HORIZON_TS:
            return self.fallback(customer_id, at)
        return self.answer(customer_id, at, ts)

    def answer(self, customer_id: str, at: Any, ts: float | None = None) -> StateResult:
        """state_at for an aware datetime (or epoch seconds `ts`) the caller
        knows to be in range, on a schedule `supports()` accepts: never
        falls back. Leaves the customer pointing at the chunk it used."""
        owner, compiled, _ = self._entry(customer_id)
        if ts is None:
            ts = at.timestamp()
        chunk, i = compiled.piece_at(ts)
        if compiled.chunks.get(int(ts // CHUNK_SECONDS)) is chunk:  # not a chunk at the range's ends
            self._hot[customer_id] = chunk
        proto = chunk[i]
        return tuple.__new__(StateResult, (proto[0], proto, customer_id, owner, chunk, i, at))

    def state_many(self, customer_id: str, timestamps: Any) -> list[str] | Any:
        """State names at many epoch-second instants (any order, each within
        the horizon). A numpy array is answered with numpy (an object array
        of names); anything else with a plain loop (a list of names)."""
        compiled = self._entry(customer_id)[1]
        if is_numpy_array(timestamps):
            return self._state_many_numpy(compiled, timestamps)
        out: list[str] = []
        append = out.append
        last_idx = None
        times: Any = ()
        protos: tuple[tuple, ...] = ()
        chunks = compiled.chunks
        for ts in timestamps:
            idx = ts // CHUNK_FLOAT
            if idx != last_idx:
                chunk = chunks.get(idx) or compiled.chunk(int(idx))
                times, protos, last_idx = chunk.times, chunk.protos, idx
            append(protos[bisect_right(times, ts) - 1][0])
        return out

    def _state_many_numpy(self, compiled: _Compiled, timestamps: Any) -> Any:
        import numpy as np

        ts = np.asarray(timestamps, dtype=np.float64)
        if ts.size == 0:
            return np.empty(0, dtype=object)
        chunk_ids = np.floor_divide(ts, CHUNK_SECONDS).astype(np.int64)
        # One sorted array of change instants over every chunk touched, then a
        # single searchsorted; states are coded as small ints meanwhile.
        names: dict[str, int] = {}
        bounds: list[float] = []
        codes: list[int] = []
        first = int(chunk_ids.min())  # which chunks occur, by a mask: O(n), where np.unique sorts
        present = np.zeros(int(chunk_ids.max()) - first + 1, dtype=bool)
        present[chunk_ids - first] = True
        for idx in (np.flatnonzero(present) + first).tolist():
            chunk = compiled.chunk(idx)
            bounds.extend(chunk.times)
            codes.extend(names.setdefault(p[0], len(names)) for p in chunk.protos)
        positions = np.searchsorted(np.asarray(bounds), ts, side="right") - 1
        labels = np.empty(len(names), dtype=object)
        for name, code in names.items():
            labels[code] = name
        return labels[np.asarray(codes, dtype=np.int64)[positions]]

    # -------------------------------------------------------- other queries

    def next_change(self, customer_id: str, at: datetime) -> Change | None:
        owner, compiled, _ = self._entry(customer_id)
        ts = at.timestamp()
        chunk, i = compiled.piece_at(ts)
        state = chunk[i][0]
        current = normalise_state(state)
        start: float | None = ts
        while start is not None:
            checked_chunk = None
            for t, later in compiled.pieces_after(start):
                if later[0] != state and normalise_state(later[0]) != current:  # states compare as in §4
                    return Change(_instant(t), later[0])
                # Now and then, ask whether any other state is still possible, and until when.
                block = int(t // CHUNK_SECONDS) // 64
                if block != checked_chunk:
                    checked_chunk = block
                    possible = self.tree.possible_states(owner, _instant(t))
                    if possible.states <= {current}:
                        start = possible.until and possible.until.timestamp()  # None: never
                        break
            else:
                return None
        return None

    def timeline(self, customer_id: str, start: datetime, end: datetime) -> list[Segment]:
        if end <= start:
            return []
        compiled = self._entry(customer_id)[1]
        chunk, i = compiled.piece_at(start.timestamp())
        proto = chunk[i]
        seg_start = start.astimezone(UTC)
        end = end.astimezone(UTC)
        end_ts = end.timestamp()
        segments = []
        for t, later in compiled.pieces_after(start.timestamp()):
            if t >= end_ts:
                break
            if later is not proto:
                check_segment_count(len(segments), start, end)
                instant = _instant(t)
                segments.append(Segment(seg_start, instant, proto[0], proto[1], proto[2]))
                seg_start, proto = instant, later
        segments.append(Segment(seg_start, end, proto[0], proto[1], proto[2]))
        return segments


class CompiledStore:
    """Compiled forms by evaluation identity, and the bounded chunk cache.
    One store may serve successive trees (after a patch), so unchanged
    schedules are not compiled again."""

    def __init__(self, max_chunks: int = MAX_CHUNKS):
        self.max_chunks = max_chunks
        self.max_pieces = max_chunks * PIECES_PER_CHUNK
        self.pieces = 0  # in the chunks remembered
        self.forms: dict[tuple, _Compiled] = {}
        self._order: deque[tuple[_Compiled, int, int]] = deque()  # (form, chunk index, pieces)
        self.chunks_compiled = 0  # work counter for tests
        self._memberships: dict[tuple, tuple[tuple[int, ...], tuple[int, ...]]] = {}
        self.windows_computed = 0  # work counter for tests

    def drop_orphans(self, entries: dict[str, _Entry]) -> None:
        """After a patch: keep the forms the new tree's entries use and the
        ORPHANS_KEPT newest others, so forms stay bounded by the customers
        queried, not by the schedules patches ever installed. (Chunks of a
        dropped form leave the chunk cache with it: a cached chunk keeps its
        form, and the form its schedules, alive.) Pruned in batches: when the
        orphans are twice as many as those kept."""
        if len(self.forms) > len(entries) + 2 * ORPHANS_KEPT:
            used = {id(entry[1]) for entry in entries.values()}
            self.forms = without_orphans(self.forms, lambda _, form: id(form) in used, ORPHANS_KEPT)
            kept = {id(form) for form in self.forms.values()}
            order = deque(item for item in list(self._order) if id(item[0]) in kept)
            self._order, self.pieces = order, sum(item[2] for item in order)

    def membership(self, windows: RuleWindows, lo: int, hi: int, remember: bool = True
                   ) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """A rule's windows meeting wall seconds [lo, hi), as (starts, ends)
        in wall seconds. Remembered (FIFO, at most MAX_MEMBERSHIPS): forms
        that share a rule in the same zone ask for the same chunk's range,
        so most first queries of a large tree find it here."""
        key = (windows, lo, hi)
        found = self._memberships.get(key)
        if found is None:
            spans = windows.windows(_wall_at(lo), _wall_at(hi))
            found = (tuple(_wall_seconds(a) for a, _ in spans), tuple(_wall_seconds(b) for _, b in spans))
            if remember and len(spans) <= MEMBERSHIP_WINDOWS:
                put_bounded(self._memberships, key, found, MAX_MEMBERSHIPS)
            self.windows_computed += 1
        return found

    def remember(self, compiled: _Compiled, idx: int, chunk: _Chunk) -> None:
        compiled.chunks[idx] = chunk
        pieces = len(chunk) - FIRST_PIECE
        self._order.append((compiled, idx, pieces))
        self.pieces += pieces
        self.chunks_compiled += 1
        while len(self._order) > self.max_chunks or (self.pieces > self.max_pieces and len(self._order) > 1):
            try:
                old, old_idx, old_pieces = self._order.popleft()
            except IndexError:  # another thread emptied it first
                break
            self.pieces -= old_pieces
            old.chunks.pop(old_idx, None)
            old.tails.pop(float(old_idx * CHUNK_SECONDS), None)


# -------------------------------------------------------------- compiling

def _unanswerable(customer_id: str, at: Any) -> StateResult:
    raise ValueError(f"the compiled path cannot answer {at!r} for {customer_id!r} exactly; "
                     "use Engine.state_at, which falls back to the reference evaluator")


def is_numpy_array(value: Any) -> bool:
    """Without importing numpy, which is optional."""
    return type(value).__module__ == "numpy" and type(value).__name__ == "ndarray"


def _inside(starts: list[int], ends: list[int], wall: int) -> bool:
    i = bisect_right(starts, wall) - 1
    return i >= 0 and wall < ends[i]


def _layers(compiled: _Compiled, t0: int, t1: int, remember: bool = True) -> list:
    """Per owner in the chain, for UTC [t0, t1): (schedule, its UTC-offset
    spans, each live Time rule's windows in wall seconds by rule index);
    `remember`: whether the store keeps the windows for other forms."""
    layers = []
    for schedule in compiled.chain:
        if schedule.force_closed:
            layers.append((schedule, [], {}))
            break
        spans = utc_offset_spans(schedule.zone, t0, t1)
        rules: dict[int, tuple[list[int], list[int]]] = {}
        time_rules = [p for p in schedule.live_rules if p.kind is TIME]
        if time_rules:
            lo = min(a + off for a, _, off in spans)
            hi = max(b + off for _, b, off in spans)
            for p in time_rules:
                rules[p.index] = compiled.store.membership(p.windows, lo, hi, remember)  # type: ignore[arg-type]
        layers.append((schedule, spans, rules))
    return layers


def compile_chunk(compiled: _Compiled, idx: int) -> _Chunk:
    force_closed_state, fallback_state = compiled.force_closed_state, compiled.fallback_state
    t0 = idx * CHUNK_SECONDS
    t1 = t0 + CHUNK_SECONDS
    candidates = {t0}
    layers = _layers(compiled, t0, t1)
    for _, spans, rules in layers:
        if rules:
            for starts, ends in rules.values():
                for a, b, off in spans:
                    for edge in starts + ends:
                        t = edge - off
                        if a <= t < b:
                            candidates.add(t)
            candidates.update(a for a, _, _ in spans)
    times = sorted(t for t in candidates if t0 <= t < t1 and (t == t0 or t < HORIZON_TS))
    protos: list[tuple] = []
    out_times: list[int] = []
    for t in times:
        proto = _proto(compiled, _decide_chain(compiled, layers, t, force_closed_state, fallback_state))
        if protos and protos[-1] is proto:
            continue
        out_times.append(t)
        protos.append(proto)
    return _Chunk(compiled, out_times, protos, t0)


def _decide_chain(compiled: _Compiled, layers: list, t: int, force_closed_state: str,
                  fallback_state: str) -> tuple:
    """Outcome key (state, reason, rule index) of the chain's first owner at t."""
    return _decide_levels(compiled, layers, t, force_closed_state, fallback_state)[0]


def _decide_levels(compiled: _Compiled, layers: list, t: int, force_closed_state: str,
                   fallback_state: str) -> list[tuple]:
    """Outcome key of each owner of the chain (those `layers` reach) at t, top-down."""
    parent_state: str | None = None
    keys: list[tuple] = [()] * len(layers)
    for i in range(len(layers) - 1, -1, -1):
        schedule, spans, rules = layers[i]
        has_parent = compiled.parents[i]
        keys[i] = _decide(schedule, spans, rules, t, parent_state if has_parent else None,
                          force_closed_state, fallback_state)
        parent_state = keys[i][0]
    return keys


def _decide(schedule: OwnerSchedule, spans: list, rules: dict, t: int, parent_state: str | None,
            force_closed_state: str, fallback_state: str) -> tuple:
    if schedule.force_closed:
        return (force_closed_state, "force_closed", None)
    wall = None
    for p in schedule.live_rules:
        if p.condition:
            continue  # no evaluator (conditional schedules are not compiled otherwise)
        if p.kind is ALWAYS:
            return (p.state, "rule", p.index)
        if p.kind is TIME:
            if wall is None:
                wall = t + _offset(spans, t)
            starts, ends = rules[p.index]
            if _inside(starts, ends, wall):
                return (p.state, "rule", p.index)
        elif parent_state is not None and normalise_state(parent_state) == p.customer_state:
            return (p.state, "rule", p.index)
    if schedule.default_state:
        return (schedule.default_state, "default", None)
    return (fallback_state, "fallback", None)


def _offset(spans: list, t: int) -> int:
    for a, b, off in spans:
        if a <= t < b:
            return off
    raise AssertionError(f"instant {t} outside the chunk's offset spans")


def _proto(compiled: _Compiled, key: tuple) -> tuple:
    proto = compiled.protos.get(key)
    if proto is None:
        state, reason, index = key
        rule = None
        if index is not None:
            rule = next(p for p in compiled.chain[0].rules if p.index == index)
        proto = (sys.intern(state), reason, rule.rule_id if rule else None, rule.name if rule else None,
                 rule.priority if rule else None, rule.flow_id if rule else None,
                 rule.flow_params if rule else None, compiled.time_zone)
        compiled.protos[key] = proto
    return proto
