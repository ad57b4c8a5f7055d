"""Reference evaluator: SPEC §4–§5 read literally, no caches.

For a state: convert T to the owner's wall time, walk the rules in priority
order, test Time windows with the recurrence module, and take the parent's
state for CustomerState rules. For `until`, `next_change` and `timeline`:
step from one candidate instant to the next. An outcome (state, reason,
rule) can only change where some rule that could still decide it has a
window edge, where the zone's UTC offset changes (the wall clock jumps), or
where the parent's outcome changes; between two candidates it is constant.

This module is the yardstick the compiled fast path is tested against; it
never imports `compiled`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Iterator

from .records import SimpleSchedulingRuleTypes
from .results import Change, Explanation, RuleStep, Segment, StateResult, check_segment_count
from .times import HORIZON, utc_offset_spans
from .tree import CustomerTree, OwnerSchedule, PreparedRule, normalise_state, rules_up_to

__all__ = ["ReferenceEvaluator"]

UTC = timezone.utc
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ALWAYS = SimpleSchedulingRuleTypes.Always
TIME = SimpleSchedulingRuleTypes.Time
CUSTOMER_STATE = SimpleSchedulingRuleTypes.CustomerState


@dataclass(frozen=True, slots=True)
class Outcome:
    state: str
    reason: str  # rule | force_closed | default | fallback
    rule: PreparedRule | None

    @property
    def key(self) -> tuple[str, str, int | None]:
        return (self.state, self.reason, None if self.rule is None else self.rule.index)


def _wall(schedule: OwnerSchedule, at: datetime) -> datetime:
    return at.astimezone(schedule.zone).replace(tzinfo=None)


class ReferenceEvaluator:
    """Answers every query straight from the tree's prepared schedules."""

    def __init__(self, tree: CustomerTree):
        self.tree = tree
        self.policy = tree.policy

    # ------------------------------------------------------------- one owner

    def _verdicts(self, schedule: OwnerSchedule, at: datetime,
                  parent_state: str | None) -> Iterator[tuple[PreparedRule, bool, str]]:
        """(rule, matched, why) for each rule in evaluation order, up to the first match."""
        wall = _wall(schedule, at)
        for p in schedule.rules:
            if p.condition:
                evaluator = self.policy.condition_evaluator
                if evaluator is None:
                    yield p, False, f"condition {p.condition!r}: no condition evaluator configured"
                    continue
                customer = self.tree.customer(schedule.owner_id)
                if not evaluator(self.tree.rule_model(schedule.owner_id, p), customer, at):
                    yield p, False, f"condition {p.condition!r} is false"
                    continue
            if p.kind is ALWAYS:
                yield p, True, "Always matches"
                return
            if p.kind is TIME:
                inside = p.windows.contains(wall)  # type: ignore[union-attr]
                yield p, inside, ("inside a window" if inside else "outside every window") + \
                    f" at {wall:%a %H:%M:%S} local"
                if inside:
                    return
                continue
            # CustomerState
            if parent_state is None:
                yield p, False, "no parent customer"
                continue
            matched = normalise_state(parent_state) == p.customer_state
            yield p, matched, f"parent is {parent_state!r}, rule wants {p.wanted_state!r}"
            if matched:
                return

    def _decide(self, schedule: OwnerSchedule, at: datetime, parent_state: str | None) -> Outcome:
        if schedule.force_closed:
            return Outcome(self.policy.force_closed_state, "force_closed", None)
        for p, matched, _ in self._verdicts(schedule, at, parent_state):
            if matched:
                return Outcome(p.state, "rule", p)
        if schedule.default_state:
            return Outcome(schedule.default_state, "default", None)
        return Outcome(self.policy.fallback_state, "fallback", None)

    # ------------------------------------------------------- the owner chain

    def _outcomes(self, chain: list[str], at: datetime) -> list[Outcome]:
        """Outcomes of every owner in the chain, evaluated top-down (no recursion)."""
        outcomes: list[Outcome] = [None] * len(chain)  # type: ignore[list-item]
        parent_state: str | None = None
        for i in range(len(chain) - 1, -1, -1):
            schedule = self.tree.schedule(chain[i])
            has_parent = self.tree.parent_id(chain[i]) is not None
            outcomes[i] = self._decide(schedule, at, parent_state if has_parent else None)
            parent_state = outcomes[i].state
        return outcomes

    # --------------------------------------------------- candidate instants

    def _next_candidate(self, chain: list[str], outcomes: list[Outcome], at: datetime) -> datetime | None:
        """The first instant > at where the first owner's outcome may change."""
        best: datetime | None = None
        # At each level, rules after the matched one cannot decide anything
        # until it, or a rule before it, has an edge.
        schedule = self.tree.schedule(chain[0])
        relevant = rules_up_to(() if schedule.force_closed else schedule.live_rules, _index(outcomes[0]))
        for i, oid in enumerate(chain):
            schedule = self.tree.schedule(oid)
            time_rules = [p for p in relevant if p.kind is TIME and self.tree.can_match(p)]
            best = _earliest(best, self._next_edge(schedule, time_rules, at, best))
            # A parent matters only through the states the CustomerState rules want.
            wanted = frozenset(p.customer_state for p in relevant
                               if p.kind is CUSTOMER_STATE and self.tree.can_match(p))
            if not wanted or i + 1 == len(chain):
                break
            relevant = rules_up_to(self.tree.schedule(chain[i + 1]).deciding_rules(wanted, self.policy.fallback_state),
                                   _index(outcomes[i + 1]))
        return best

    @staticmethod
    def _next_edge(schedule: OwnerSchedule, time_rules: list[PreparedRule], at: datetime,
                   before: datetime | None) -> datetime | None:
        """The first window edge (or UTC-offset change that may matter) after `at`."""
        if not time_rules:
            return None
        wall = _wall(schedule, at)
        offset = at.astimezone(schedule.zone).utcoffset()
        best = None
        alive = False
        for p in time_rules:
            edge = p.windows.next_edge(wall)  # type: ignore[union-attr]
            if edge is not None:
                best = _earliest(best, (edge - offset).replace(tzinfo=UTC))  # type: ignore[operator]
            # A fall-back can bring the wall clock back over a recent edge: a rule with a window
            # ending after a day ago (or never) makes UTC-offset changes candidates.
            first_start, last_end = p.windows.span()  # type: ignore[union-attr]
            if first_start is not None and (last_end is None or last_end > wall - timedelta(days=1)):
                alive = True
        if alive:
            best = _earliest(best, _next_transition(schedule, at, _earliest(best, before) or HORIZON))
        return best

    def _step(self, chain: list[str], at: datetime) -> Iterator[tuple[datetime, Outcome]]:
        """(instant, outcome of the chain's first owner) at each candidate after `at`."""
        outcomes = self._outcomes(chain, at)
        # A parent whose state cannot change (any more, or before `until`) changes nothing by its
        # edges: a child reading a parent that switches rule but never state walked every edge
        # to the horizon.
        schedules = [self.tree.schedule(o) for o in chain]
        level, until = self.tree.proofs.constant_from(schedules, at)
        while True:
            nxt = self._next_candidate(chain[:level], outcomes, at)
            renew = until is not None and (nxt is None or nxt >= until)
            if renew:
                nxt = until
            if nxt is None or nxt >= HORIZON:
                return
            at = nxt
            if renew:
                level, until = self.tree.proofs.constant_from(schedules, at)
            outcomes = self._outcomes(chain, at)
            yield at, outcomes[0]

    # ---------------------------------------------------------------- queries

    def state_at(self, customer_id: str, at: datetime) -> StateResult:
        owner = self.tree.owner_id(customer_id)
        chain = self.tree.state_chain(owner)
        outcome = self._outcomes(chain, at)[0]
        until = None
        for instant, later in self._step(chain, at):
            if later.key != outcome.key:
                until = instant
                break
        return self._result(customer_id, owner, outcome, at, until)

    def next_change(self, customer_id: str, at: datetime) -> Change | None:
        owner = self.tree.owner_id(customer_id)
        chain = self.tree.state_chain(owner)
        # States compare as CustomerState rules compare them (trimmed, any
        # case): "OPEN" after "Open" is no change.
        state = normalise_state(self._outcomes(chain, at)[0].state)
        while at is not None:
            start, at = at, None
            for steps, (instant, later) in enumerate(self._step(chain, start)):
                if normalise_state(later.state) != state:
                    return Change(instant, later.state)
                # Now and then, ask whether any other state is still possible, and until when.
                if steps % 256 == 0:
                    possible = self.tree.possible_states(owner, instant)
                    if possible.states <= {state}:
                        at = possible.until  # None: never; else go on from there
                        break
        return None

    def timeline(self, customer_id: str, start: datetime, end: datetime) -> list[Segment]:
        chain = self.tree.state_chain(self.tree.owner_id(customer_id))
        if end <= start:
            return []
        current = self._outcomes(chain, start)[0]
        seg_start = start
        segments = []
        for instant, outcome in self._step(chain, start):
            if instant >= end:
                break
            if outcome.key != current.key:
                check_segment_count(len(segments), start, end)
                segments.append(_segment(seg_start, instant, current))
                seg_start, current = instant, outcome
        segments.append(_segment(seg_start, end, current))
        return segments

    def explain(self, customer_id: str, at: datetime) -> Explanation:
        owner_chain = self.tree.owner_chain(customer_id)
        owner = owner_chain[-1]
        chain = self.tree.state_chain(owner)
        outcomes = self._outcomes(chain, at)
        schedule = self.tree.schedule(owner)
        parent_state = outcomes[1].state if len(outcomes) > 1 else None
        steps: list[RuleStep] = []
        seen: set[int] = set()
        if not schedule.force_closed:
            for p, matched, why in self._verdicts(schedule, at, parent_state):
                seen.add(p.index)
                steps.append(_step(p, "matched" if matched else "not matched", why))
        for p in schedule.rules:
            if p.index not in seen:
                why = "ForceClosed" if schedule.force_closed else "an earlier rule matched"
                steps.append(_step(p, "skipped", why))
        notes = []
        if len(chain) > 1:
            notes.append(f"parent state read from {chain[1]}: {outcomes[1].state!r}")
        result = self.state_at(customer_id, at)
        return Explanation(customer_id=customer_id, chain=tuple(owner_chain), time_zone=schedule.zone_name,
                           local_time=_wall(schedule, at), force_closed=schedule.force_closed,
                           steps=tuple(steps), result=result, notes=tuple(notes),
                           zone_origin=self.tree.zone_origin(owner))

    def _result(self, customer_id: str, owner: str, outcome: Outcome, at: datetime,
                until: datetime | None) -> StateResult:
        rule = outcome.rule
        return StateResult(
            customer_id=customer_id, owner_id=owner, state=outcome.state, reason=outcome.reason,
            rule_id=rule.rule_id if rule else None, rule_name=rule.name if rule else None,
            priority=rule.priority if rule else None, flow_id=rule.flow_id if rule else None,
            flow_params=rule.flow_params if rule else None, time_zone=self.tree.schedule(owner).zone_name,
            at=at.astimezone(UTC), until=until,
        )


def _index(outcome: Outcome) -> int | None:
    """The record index of the rule that gave `outcome` (None: no rule did)."""
    return outcome.rule.index if outcome.rule is not None else None


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def _next_transition(schedule: OwnerSchedule, at: datetime, before: datetime) -> datetime | None:
    """The first UTC-offset change of the owner's zone after `at` and before `before`."""
    start = int((at - EPOCH).total_seconds() // 1)
    limit = int((before - EPOCH).total_seconds()) + 1
    while start < limit:
        stop = min(start + 366 * 86400, limit)
        spans = utc_offset_spans(schedule.zone, start, stop)
        for span_start, _, _ in spans[1:]:
            instant = EPOCH + timedelta(seconds=span_start)
            if at < instant < before:
                return instant
        start = stop
    return None


def _segment(start: datetime, end: datetime, outcome: Outcome) -> Segment:
    rule_id = outcome.rule.rule_id if outcome.rule is not None else None
    return Segment(start=start, end=end, state=outcome.state, reason=outcome.reason, rule_id=rule_id)


def _step(p: PreparedRule, verdict: str, why: str) -> RuleStep:
    return RuleStep(index=p.index, rule_id=p.rule_id, name=p.name, priority=p.priority,
                    kind=p.kind.wire_name, state=p.state, verdict=verdict, why=why)
