"""Query results: immutable, slotted values with a JSON form (camelCase keys,
instants as ISO 8601 with offset)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

__all__ = ["StateResult", "Change", "Segment", "RuleStep", "Explanation"]


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


class StateResult(NamedTuple):
    """The state of `customer_id` at `at`, and why. `until` is the first
    instant after `at` where (state, reason, rule) changes, or None.

    A NamedTuple rather than a dataclass: the fast path builds one per
    query, and a tuple is several times cheaper to construct."""

    customer_id: str
    owner_id: str
    state: str
    reason: str  # "rule" | "force_closed" | "default" | "fallback"
    rule_id: str | None
    rule_name: str | None
    priority: int | None
    flow_id: str | None
    flow_params: dict[str, Any] | None
    time_zone: str
    at: datetime
    until: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {
            "customerId": self.customer_id, "ownerId": self.owner_id, "state": self.state,
            "reason": self.reason, "ruleId": self.rule_id, "ruleName": self.rule_name,
            "priority": self.priority, "flowId": self.flow_id, "flowParams": self.flow_params,
            "timeZoneId": self.time_zone, "at": _iso(self.at), "until": _iso(self.until),
        }


@dataclass(frozen=True, slots=True)
class Change:
    """The first instant after a query where the state name differs."""

    at: datetime
    state: str

    def to_json(self) -> dict[str, Any]:
        return {"at": _iso(self.at), "state": self.state}


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

    def __str__(self) -> str:
        r = self.result
        lines = [
            f"customer   {self.customer_id}",
            f"owner      {' -> '.join(self.chain)}" + ("" if len(self.chain) > 1 else " (own schedule)"),
            f"time zone  {self.time_zone}",
            f"at         {r.at.isoformat()} = {self.local_time.strftime('%a %Y-%m-%d %H:%M:%S')} local",
        ]
        if self.force_closed:
            lines.append("schedule   ForceClosed: rules are not evaluated")
        if self.steps:
            lines.append("rules (evaluation order):")
            for s in self.steps:
                label = s.name or s.rule_id or f"rule #{s.index}"
                prio = "-" if s.priority is None else str(s.priority)
                lines.append(f"  [{s.index}] {label!s:<24} prio {prio:>4}  {s.kind:<13} "
                             f"-> {s.state or '':<15} {s.verdict:<11} {s.why}")
        lines.extend(f"note       {n}" for n in self.notes)
        until = r.until.isoformat() if r.until else "never"
        lines.append(f"result     {r.state}  (reason {r.reason}"
                     + (f", rule {r.rule_name or r.rule_id}" if r.reason == "rule" else "")
                     + f"; until {until})")
        return "\n".join(lines)
