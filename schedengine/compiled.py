"""Fast path: compiled timelines, answered by bisect.

The outcome of a schedule (state, reason, rule) is piecewise constant in
time. For each distinct evaluation -- the owner's prepared schedule plus
those of the ancestors its CustomerState rules read, identified by their
fingerprints -- we compile that piecewise function one *chunk* of UTC time
at a time (2**21 s, about 24 days): the sorted instants where the outcome
may change (window edges mapped through the zone's UTC-offset spans, plus
the offset changes themselves), the outcome on each piece, and the `until`
of each piece. A warm `state_at` is then a dict lookup, a `bisect_right`
and a tuple build.

Chunks are compiled on first use, shared by every customer whose evaluation
is identical (so a million customers drawn from a few hundred templates
share a few hundred compiled forms), and kept in a bounded FIFO cache
(`MAX_CHUNKS`), so queries spread over decades cannot grow memory without
bound. Compiling a chunk asks the recurrence module only for the windows
that intersect it, whose cost does not depend on how old StartDate is.

This module never imports `reference`; the test suite proves the two equal.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections import deque
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterator, Sequence

from .records import SimpleSchedulingRuleTypes
from .results import Change, Segment, StateResult
from .times import MAX_WALL, utc_offset_spans
from .tree import CustomerTree, OwnerSchedule, PreparedRule, normalise_state

__all__ = ["CompiledEvaluator", "CHUNK_SECONDS", "MAX_CHUNKS"]

UTC = timezone.utc
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NAIVE_EPOCH = datetime(1970, 1, 1)
CHUNK_BITS = 21
CHUNK_SECONDS = 1 << CHUNK_BITS  # 2,097,152 s = 24.27 days
CHUNK_FLOAT = float(CHUNK_SECONDS)
# Compiled chunks kept at once (FIFO). A chunk of a business schedule holds
# about 50 pieces and some 12 KiB, so the default bounds the cache near 2.4 GB;
# pass Engine(max_chunks=...) to trade memory for recompiles.
MAX_CHUNKS = 200_000
HORIZON_TS = int((MAX_WALL - NAIVE_EPOCH).total_seconds())  # nothing is reported at or after
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


class _Chunk:
    """[start, start + CHUNK_SECONDS): change instants, outcomes, untils."""

    __slots__ = ("times", "keys", "protos", "rows")

    def __init__(self, times: list[int], keys: list[tuple], protos: list[tuple]):
        # Floats: queries arrive as float epoch seconds, and bisect over a
        # list of the same type avoids CPython's slow mixed int/float compare.
        self.times = array("d", times)  # times[0] == chunk start; strictly increasing
        self.keys = keys  # outcome identity (state, reason, rule index) per piece
        self.protos = protos  # StateResult fields from `state` to `time_zone` per piece
        # protos + (until,): the middle of a StateResult. The last piece may
        # run on into later chunks; its row is completed on first use.
        rows: list[Any] = [proto + (_instant(t),) for proto, t in zip(protos, times[1:])]
        rows.append(None)
        self.rows = rows


class _Compiled:
    """One distinct evaluation: an owner schedule and the ancestors it reads."""

    __slots__ = ("chain", "parents", "chunks", "time_zone", "protos", "keys")

    def __init__(self, chain: Sequence[OwnerSchedule], parents: Sequence[bool]):
        self.chain = tuple(chain)  # owner first, then the owners its CustomerState rules read
        self.parents = tuple(parents)  # whether each owner has a parent at all
        self.chunks: dict[int, _Chunk] = {}
        self.time_zone = chain[0].zone_name
        self.protos: dict[tuple, tuple] = {}
        self.keys: dict[tuple, tuple] = {}


class CompiledEvaluator:
    """Same queries as the reference evaluator, served from compiled chunks.

    Schedules with conditional rules under a condition evaluator cannot be
    compiled (the condition may depend on anything); `supports()` says so
    and the Engine sends those queries to the reference evaluator.
    """

    def __init__(self, tree: CustomerTree, store: "CompiledStore | None" = None):
        self.tree = tree
        # What state_at does with what it cannot answer exactly (other forms
        # of instant, beyond the horizon, conditional schedules); the Engine
        # sets its general path here.
        self.fallback: Callable[[str, Any], StateResult] = _unanswerable
        self.policy = tree.policy
        self.store = store if store is not None else CompiledStore()
        # customer id -> (owner id, compiled form, (customer id, owner id), compilable)
        self._entries: dict[str, tuple[str, _Compiled, tuple[str, str], bool]] = {}

    # -------------------------------------------------------------- entries

    def _entry(self, customer_id: str) -> tuple[str, _Compiled, tuple[str, str], bool]:
        entry = self._entries.get(customer_id)
        if entry is None:
            owner = self.tree.owner_id(customer_id)
            owners = self.tree.state_chain(owner)
            chain = [self.tree.schedule(oid) for oid in owners]
            parents = [self.tree.parent_id(oid) is not None for oid in owners]
            key = (self.policy.force_closed_state, self.policy.fallback_state,
                   tuple(parents), tuple(s.fingerprint for s in chain))
            compiled = self.store.forms.get(key)
            if compiled is None:
                compiled = _Compiled(chain, parents)
                self.store.forms[key] = compiled
            compilable = self.policy.condition_evaluator is None or not any(
                p.condition for s in chain for p in s.live_rules)
            entry = (owner, compiled, (customer_id, owner), compilable)
            self._entries[customer_id] = entry
        return entry

    def supports(self, customer_id: str) -> bool:
        """False for a schedule whose conditional rules a condition evaluator decides."""
        return self._entry(customer_id)[3]

    # ------------------------------------------------------------ hot path

    def state_at(self, customer_id: str, at: Any) -> StateResult:
        """The hot path for aware datetimes and epoch seconds (int or float);
        anything else goes to the fallback (the Engine's general path)."""
        entry = self._entries.get(customer_id) or self._entry(customer_id)
        kind = type(at)
        if kind is datetime:
            zone = at.tzinfo
            if zone is None:
                return self.fallback(customer_id, at)
            ts = at.timestamp()
            if zone is not UTC:
                at = at.astimezone(UTC)
        elif kind is float or kind is int:
            ts = at
        else:
            return self.fallback(customer_id, at)
        if not entry[3] or not MIN_TS <= ts < HORIZON_TS:
            return self.fallback(customer_id, at)
        idx = ts // CHUNK_FLOAT  # a float key finds the int key: equal numbers hash alike
        chunk = entry[1].chunks.get(idx) or self._chunk(entry[1], int(idx))
        i = bisect_right(chunk.times, ts) - 1
        row = chunk.rows[i] or self._last_row(entry[1], chunk)
        return tuple.__new__(StateResult, entry[2] + row + (at,))

    def state_many(self, customer_id: str, timestamps: Any) -> list[str] | Any:
        """State names at many epoch-second instants (any order, each within
        the horizon). A numpy array is answered with numpy (an object array
        of names); anything else with a plain loop (a list of names)."""
        compiled = self._entry(customer_id)[1]
        if _is_numpy_array(timestamps):
            return self._state_many_numpy(compiled, timestamps)
        chunks = compiled.chunks
        out: list[str] = []
        append = out.append
        last_idx = None
        times: list[float] = []
        protos: list[tuple] = []
        for ts in timestamps:
            idx = int(ts // CHUNK_SECONDS)
            if idx != last_idx:
                chunk = chunks.get(idx) or self._chunk(compiled, idx)
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
        for idx in np.unique(chunk_ids).tolist():
            chunk = compiled.chunks.get(idx) or self._chunk(compiled, idx)
            bounds.extend(chunk.times)
            codes.extend(names.setdefault(p[0], len(names)) for p in chunk.protos)
        positions = np.searchsorted(np.asarray(bounds), ts, side="right") - 1
        labels = np.empty(len(names), dtype=object)
        for name, code in names.items():
            labels[code] = name
        return labels[np.asarray(codes, dtype=np.int64)[positions]]

    # -------------------------------------------------------- other queries

    def _pieces_after(self, compiled: _Compiled, ts: float) -> Iterator[tuple[int, tuple, tuple]]:
        """(start, key, proto) of every piece starting after `ts`, in order,
        skipping quiet stretches where no rule has an edge; stops at the horizon."""
        idx = int(ts // CHUNK_SECONDS)
        while idx * CHUNK_SECONDS < HORIZON_TS:
            chunk = compiled.chunks.get(idx) or self._chunk(compiled, idx)
            for t, key, proto in zip(chunk.times, chunk.keys, chunk.protos):
                if t > ts:
                    yield t, key, proto
            idx += 1
            if len(chunk.times) == 1:
                # A chunk without change: jump to where an edge could next occur.
                quiet_end = self._quiet_until(compiled, idx * CHUNK_SECONDS)
                if quiet_end is None:
                    return
                idx = max(idx, quiet_end // CHUNK_SECONDS)

    def _last_row(self, compiled: _Compiled, chunk: _Chunk) -> tuple:
        """Complete the row of a chunk's last piece: find where its outcome ends."""
        key = chunk.keys[-1]
        until = None
        for t, later, _ in self._pieces_after(compiled, chunk.times[-1]):
            if later != key:
                until = _instant(t)
                break
        row = chunk.protos[-1] + (until,)
        chunk.rows[-1] = row
        return row

    def _locate(self, compiled: _Compiled, ts: float) -> tuple[tuple, tuple]:
        idx = int(ts // CHUNK_SECONDS)
        chunk = compiled.chunks.get(idx) or self._chunk(compiled, idx)
        i = bisect_right(chunk.times, ts) - 1
        return chunk.keys[i], chunk.protos[i]

    def next_change(self, customer_id: str, at: datetime) -> Change | None:
        owner, compiled = self._entry(customer_id)[:2]
        ts = at.timestamp()
        _, proto = self._locate(compiled, ts)
        current = normalise_state(proto[0])
        checked_chunk = None
        for t, _, later in self._pieces_after(compiled, ts):
            if later[0] != proto[0]:
                return Change(_instant(t), later[0])
            # Now and then, ask whether any other state is still possible at all.
            chunk = int(t // CHUNK_SECONDS) // 64
            if chunk != checked_chunk:
                checked_chunk = chunk
                if self.tree.possible_states(owner, _instant(t)) <= {current}:
                    return None
        return None

    def timeline(self, customer_id: str, start: datetime, end: datetime) -> list[Segment]:
        if end <= start:
            return []
        compiled = self._entry(customer_id)[1]
        key, proto = self._locate(compiled, start.timestamp())
        seg_start = start.astimezone(UTC)
        end = end.astimezone(UTC)
        end_ts = end.timestamp()
        segments = []
        for t, later_key, later in self._pieces_after(compiled, start.timestamp()):
            if t >= end_ts:
                break
            if later_key != key:
                instant = _instant(t)
                segments.append(Segment(seg_start, instant, proto[0], proto[1], proto[2]))
                seg_start, key, proto = instant, later_key, later
        segments.append(Segment(seg_start, end, proto[0], proto[1], proto[2]))
        return segments

    # ---------------------------------------------------------- compilation

    def _chunk(self, compiled: _Compiled, idx: int) -> _Chunk:
        chunk = compile_chunk(compiled, idx, self.policy.force_closed_state, self.policy.fallback_state)
        self.store.remember(compiled, idx, chunk)
        return chunk

    def _quiet_until(self, compiled: _Compiled, ts: int) -> int | None:
        """A lower bound on the next instant >= ts at which a rule that can
        change the owner's outcome has a window edge; None if none ever has."""
        best: int | None = None
        relevant = compiled.chain[0].live_rules if not compiled.chain[0].force_closed else ()
        for i, schedule in enumerate(compiled.chain):
            for p in relevant:
                if p.kind is not TIME or not self.tree.can_match(p):
                    continue
                # Start a day early: a fall-back can replay recent wall times.
                wall = datetime.fromtimestamp(ts, schedule.zone).replace(tzinfo=None) - timedelta(days=1)
                edge = p.windows.next_edge(wall)  # type: ignore[union-attr]
                if edge is not None:
                    bound = _wall_seconds(edge) - 2 * DAY  # any UTC offset is within a day
                    best = bound if best is None else min(best, bound)
            # A parent matters only through the states the CustomerState rules want.
            wanted = frozenset(p.customer_state for p in relevant if p.kind is CUSTOMER_STATE)
            if not wanted or i + 1 == len(compiled.chain):
                break
            relevant = compiled.chain[i + 1].deciding_rules(wanted, self.policy.fallback_state)
        return best


class CompiledStore:
    """Compiled forms by evaluation identity, and the bounded chunk cache.
    One store may serve successive trees (after a patch), so unchanged
    schedules are not compiled again."""

    def __init__(self, max_chunks: int = MAX_CHUNKS):
        self.max_chunks = max_chunks
        self.forms: dict[tuple, _Compiled] = {}
        self._order: deque[tuple[_Compiled, int]] = deque()
        self.chunks_compiled = 0  # work counter for tests

    def remember(self, compiled: _Compiled, idx: int, chunk: _Chunk) -> None:
        compiled.chunks[idx] = chunk
        self._order.append((compiled, idx))
        self.chunks_compiled += 1
        while len(self._order) > self.max_chunks:
            old, old_idx = self._order.popleft()
            old.chunks.pop(old_idx, None)


# -------------------------------------------------------------- compiling

def _unanswerable(customer_id: str, at: Any) -> StateResult:
    raise ValueError(f"the compiled path cannot answer {at!r} for {customer_id!r} exactly; "
                     "use Engine.state_at, which falls back to the reference evaluator")


def _is_numpy_array(value: Any) -> bool:
    return type(value).__module__ == "numpy" and type(value).__name__ == "ndarray"


def _membership(windows: list[tuple[datetime, datetime]]) -> tuple[list[int], list[int]]:
    starts = [_wall_seconds(a) for a, _ in windows]
    ends = [_wall_seconds(b) for _, b in windows]
    return starts, ends


def _inside(starts: list[int], ends: list[int], wall: int) -> bool:
    i = bisect_right(starts, wall) - 1
    return i >= 0 and wall < ends[i]


def compile_chunk(compiled: _Compiled, idx: int, force_closed_state: str, fallback_state: str) -> _Chunk:
    t0 = idx * CHUNK_SECONDS
    t1 = t0 + CHUNK_SECONDS
    candidates = {t0}
    # Per owner in the chain: offset spans, and each live Time rule's windows in wall seconds.
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
                starts, ends = _membership(p.windows.windows(_wall_at(lo), _wall_at(hi)))  # type: ignore[union-attr]
                rules[p.index] = (starts, ends)
                for a, b, off in spans:
                    for edge in starts + ends:
                        t = edge - off
                        if a <= t < b:
                            candidates.add(t)
            candidates.update(a for a, _, _ in spans)
        layers.append((schedule, spans, rules))
    times = sorted(t for t in candidates if t0 <= t < t1 and (t == t0 or t < HORIZON_TS))
    keys: list[tuple] = []
    protos: list[tuple] = []
    out_times: list[int] = []
    for t in times:
        key = _decide_chain(compiled, layers, t, force_closed_state, fallback_state)
        if keys and keys[-1] == key:
            continue
        out_times.append(t)
        keys.append(compiled.keys.setdefault(key, key))  # one tuple per distinct outcome
        protos.append(_proto(compiled, key))
    return _Chunk(out_times, keys, protos)


def _decide_chain(compiled: _Compiled, layers: list, t: int, force_closed_state: str,
                  fallback_state: str) -> tuple:
    """Outcome key (state, reason, rule index) of the chain's first owner at t."""
    parent_state: str | None = None
    key: tuple = ()
    for i in range(len(layers) - 1, -1, -1):
        schedule, spans, rules = layers[i]
        has_parent = compiled.parents[i]
        key = _decide(schedule, spans, rules, t, parent_state if has_parent else None,
                      force_closed_state, fallback_state)
        parent_state = key[0]
    return key


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
            rule = next(p.rule for p in compiled.chain[0].rules if p.index == index)
        params = None
        if rule is not None and rule.flow_params is not None:
            params = {k: v.to_wire() for k, v in rule.flow_params.items()}
        proto = (state, reason, rule.id if rule else None, rule.name if rule else None,
                 rule.priority if rule else None, rule.flow_id if rule else None, params,
                 compiled.time_zone)
        compiled.protos[key] = proto
    return proto
