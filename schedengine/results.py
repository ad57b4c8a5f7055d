"""Query results: immutable, slotted values with a JSON form (camelCase keys,
instants as ISO 8601 with offset)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from operator import itemgetter
from types import MappingProxyType
from typing import Any, Literal

from .errors import RecordError, ScheduleError
from .times import epoch_datetime

__all__ = ["StateResult", "Change", "Segment", "MAX_SEGMENTS", "RuleStep", "Explanation", "Finding", "Validation",
           "frozen", "thawed"]


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def frozen(value: Any) -> Any:
    """A read-only copy of a JSON-like value (flow parameters): mappings
    become read-only mappings, lists tuples. One outcome's parameters are
    shared by every result with that outcome, so no caller may change them
    for the next."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: frozen(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(frozen(v) for v in value)
    return value


def thawed(value: Any) -> Any:
    """A plain, JSON-ready copy of a `frozen` value: dicts and lists."""
    if isinstance(value, Mapping):
        return {k: thawed(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [thawed(v) for v in value]
    return value


def _hashable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return frozenset((k, _hashable(v)) for k, v in value.items())
    if isinstance(value, tuple):
        return tuple(_hashable(v) for v in value)
    return value


_FIELDS = ("customer_id", "owner_id", "state", "reason", "rule_id", "rule_name", "priority",
           "flow_id", "flow_params", "time_zone", "until", "at")
_UTC = timezone.utc


def _outcome(i: int) -> property:
    """A field of the shared outcome tuple (slot 1 of a StateResult)."""
    return property(lambda self: tuple.__getitem__(self, 1)[i])


class StateResult(tuple):
    """The state of `customer_id` at `at`, and why. `until` is the first
    instant after `at` where (state, reason, rule) changes, or None.

    Read it by field name. Underneath it is a seven-slot tuple the fast
    path builds in one step: (state, outcome, customer_id, owner, until
    source, its position in it, at as given). The outcome tuple, from `state` to
    `time_zone`, is shared by every result with that outcome. `owner` is
    the owner's id, or the tree that knows it; `at` is turned into an aware
    UTC datetime, and `until` is looked up in the compiled chunk, only when
    read, so a query pays for none of them.
    """

    __slots__ = ()
    _fields = _FIELDS

    def __new__(cls, customer_id: str, owner_id: str, state: str, reason: str, rule_id: str | None,
                rule_name: str | None, priority: int | None, flow_id: str | None,
                flow_params: dict[str, Any] | None, time_zone: str, at: datetime | float,
                until: datetime | None) -> "StateResult":
        outcome = (state, reason, rule_id, rule_name, priority, flow_id, frozen(flow_params), time_zone)
        return tuple.__new__(cls, (state, outcome, customer_id, owner_id, until, None, at))

    state = property(itemgetter(0))
    customer_id = property(itemgetter(2))
    reason = _outcome(1)  # "rule" | "force_closed" | "default" | "fallback"
    rule_id = _outcome(2)
    rule_name = _outcome(3)
    priority = _outcome(4)
    flow_id = _outcome(5)
    flow_params = _outcome(6)  # read-only: a mapping of read-only mappings and tuples
    time_zone = _outcome(7)

    @property
    def owner_id(self) -> str:
        owner = tuple.__getitem__(self, 3)
        return owner if type(owner) is str else owner.owner_id(tuple.__getitem__(self, 2))

    @property
    def until(self) -> datetime | None:
        source = tuple.__getitem__(self, 4)
        if source is None or isinstance(source, datetime):
            return source
        return source.until(tuple.__getitem__(self, 5))  # a compiled chunk and the position in it

    @property
    def at(self) -> datetime:
        at = tuple.__getitem__(self, 6)
        if type(at) is datetime and at.tzinfo is _UTC:
            return at
        if isinstance(at, datetime):
            return at.astimezone(_UTC)
        return epoch_datetime(at)

    def _normal(self) -> tuple:
        """The twelve fields in `_FIELDS` order, resolved."""
        return (self.customer_id, self.owner_id) + tuple.__getitem__(self, 1) + (self.until, self.at)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, StateResult):
            return self._normal() == other._normal()
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self) -> int:
        return hash(tuple(map(_hashable, self._normal())))

    def __reduce__(self) -> tuple:
        # Pickle and copy the resolved fields, not the compiled chunk.
        (customer_id, owner_id, state, reason, rule_id, rule_name, priority, flow_id, flow_params,
         time_zone, until, at) = self._normal()
        return (StateResult, (customer_id, owner_id, state, reason, rule_id, rule_name, priority, flow_id,
                              thawed(flow_params), time_zone, at, until))

    def __repr__(self) -> str:
        values = tuple(map(thawed, self._normal()))
        inner = ", ".join(f"{name}={values[i]!r}" for i, name in enumerate(_FIELDS))
        return f"StateResult({inner})"

    def _asdict(self) -> dict[str, Any]:
        return dict(zip(_FIELDS, self._normal()))

    def to_json(self) -> dict[str, Any]:
        return {
            "customerId": self.customer_id, "ownerId": self.owner_id, "state": self.state,
            "reason": self.reason, "ruleId": self.rule_id, "ruleName": self.rule_name,
            "priority": self.priority, "flowId": self.flow_id, "flowParams": thawed(self.flow_params),
            "timeZoneId": self.time_zone, "at": _iso(self.at), "until": _iso(self.until),
        }


@dataclass(frozen=True, slots=True)
class Change:
    """The first instant after a query where the state name differs."""

    at: datetime
    state: str

    def to_json(self) -> dict[str, Any]:
        return {"at": _iso(self.at), "state": self.state}


# Segments one timeline call may return. A rule with a 30-second window
# every minute has a million in a year (about 230 MB of them): a longer range
# is refused with a RecordError rather than exhausting memory.
MAX_SEGMENTS = 1_000_000


def check_segment_count(count: int, start: datetime, end: datetime) -> None:
    """Called before a timeline appends another segment to the `count` it
    has; the last segment is appended after the loop, so that makes count + 2."""
    if count + 2 > MAX_SEGMENTS:
        raise RecordError(f"the timeline from {_iso(start)} to {_iso(end)} has more than {MAX_SEGMENTS:,} "
                          "segments (the limit for one call); ask for a shorter range", path="end")


@dataclass(frozen=True, slots=True)
class Segment:
    """A maximal interval [start, end) of constant outcome."""

    start: datetime
    end: datetime
    state: str
    reason: str
    rule_id: str | None

    def to_json(self) -> dict[str, Any]:
        return {"start": _iso(self.start), "end": _iso(self.end), "state": self.state,
                "reason": self.reason, "ruleId": self.rule_id}


@dataclass(frozen=True, slots=True)
class RuleStep:
    """One rule as `explain` saw it, in evaluation order."""

    index: int  # position in the schedule's Rules list
    rule_id: str | None
    name: str | None
    priority: int | None
    kind: str
    state: str | None
    verdict: str  # "matched" | "not matched" | "skipped"
    why: str

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "ruleId": self.rule_id, "name": self.name, "priority": self.priority,
                "kind": self.kind, "state": self.state, "verdict": self.verdict, "why": self.why}


@dataclass(frozen=True, slots=True)
class Explanation:
    """Everything that decided a state: chain, zone, wall time, every rule."""

    customer_id: str
    chain: tuple[str, ...]  # customer, ..., owner (the inheritance walk)
    time_zone: str
    local_time: datetime  # naive wall-clock time in time_zone
    force_closed: bool
    steps: tuple[RuleStep, ...]
    result: StateResult
    notes: tuple[str, ...] = field(default=())
    zone_origin: str | None = None  # where time_zone comes from, when not the owner's own TimeZoneId as is

    def to_json(self) -> dict[str, Any]:
        return {"customerId": self.customer_id, "chain": list(self.chain), "timeZoneId": self.time_zone,
                "zoneOrigin": self.zone_origin, "localTime": self.local_time.isoformat(),
                "forceClosed": self.force_closed, "rules": [s.to_json() for s in self.steps],
                "notes": list(self.notes), "result": self.result.to_json()}

    def __str__(self) -> str:
        from zoneinfo import ZoneInfo  # the zone name is already resolved

        r = self.result
        zone = ZoneInfo(self.time_zone)
        lines = [
            f"customer   {self.customer_id}",
            f"owner      {' -> '.join(self.chain)}" + ("" if len(self.chain) > 1 else " (own schedule)"),
            f"time zone  {self.time_zone}" + (f" ({self.zone_origin})" if self.zone_origin else ""),
            f"at         {r.at.astimezone(zone).isoformat()} ({self.local_time:%a %Y-%m-%d %H:%M:%S} wall clock)",
        ]
        if self.force_closed:
            lines.append("schedule   ForceClosed: rules are not evaluated")
        if self.steps:
            lines.append("rules, in evaluation order:")
            labels = [s.name or s.rule_id or f"rule #{s.index}" for s in self.steps]
            width = max(len(label) for label in labels)
            state_width = max(len(s.state or "") for s in self.steps)
            for s, label in zip(self.steps, labels):
                prio = "-" if s.priority is None else str(s.priority)
                lines.append(f"  {'[' + str(s.index) + ']':>5} {label:<{width}}  prio {prio:>4}  {s.kind:<13} "
                             f"{s.state or '':<{state_width}}  {s.verdict:<11}  {s.why}")
        lines.extend(f"note       {n}" for n in self.notes)
        why = {"rule": f"rule {r.rule_name or r.rule_id}", "force_closed": "ForceClosed",
               "default": "DefaultState", "fallback": "policy fallback"}[r.reason]
        until = r.until.astimezone(zone).isoformat() if r.until else "never"
        lines.append(f"result     {r.state} ({why}) until {until}")
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem `validate` found: an error (the record cannot be used as
    it is) or a warning (it can, but probably not as meant)."""

    severity: Literal["error", "warning"]
    position: int | None  # the record's index in the input (None: not one record's)
    path: str | None  # where, e.g. 'customers[3] (id "acme-ny").schedule.rules[2] (id "r-lunch").startTime'
    message: str  # the whole line, the path first
    error: ScheduleError | None = None  # an error's exception (its __cause__ kept)

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class Validation:
    """Everything `validate_records` found, findings in input order."""

    customers: int  # records read (including those with errors)
    findings: tuple[Finding, ...]

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "warning")

    @property
    def ok(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)
