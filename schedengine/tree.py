"""The customer tree: parents, schedule owners, the zone cascade, effective
settings, and each owner's schedule prepared for evaluation.

Everything walks the tree iteratively, so a 100,000-deep chain works. A
`CustomerTree` is never changed after construction: a patch builds a new one
(sharing what did not change), which lets readers on other threads keep
using the old tree safely.
"""

from __future__ import annotations

import hashlib
import json
import re
from bisect import bisect_right
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from math import lcm
from typing import Any, Iterable, Iterator, Mapping, NamedTuple, Sequence
from zoneinfo import ZoneInfo

from .caches import copy_without, put_bounded, without_orphans
from .errors import RecordError, ScheduleError, ScheduleWarning, TreeError, UnknownCustomerError, WireFormatError
from .policy import Policy, order_rules
from .records import (
    item_path,
    json_kind,
    json_string,
    parse_model,
    record_id,
    field_warnings,
    wire_key,
    AppSettings,
    BillingSettings,
    Customer,
    CustomerBreadcrumb,
    Schedule,
    SchedulingRule,
    SimpleSchedulingRuleTypes,
    Tag,
)
from .recurrence import STEADY_PERIOD_LIMIT, RuleWindows, check_rule, kind_warnings, rule_kind, rule_windows
from .results import Finding, Validation, frozen
from .times import MAX_WALL, resolve_zone

__all__ = ["CustomerTree", "OwnerSchedule", "PreparedRule", "customer_label", "validate_records", "MODEL_CACHE"]

ALWAYS = SimpleSchedulingRuleTypes.Always
TIME = SimpleSchedulingRuleTypes.Time
CUSTOMER_STATE = SimpleSchedulingRuleTypes.CustomerState


def customer_label(position: int | None, customer_id: str) -> str:
    """`customers[3] (id "acme-ny")`: the prefix of every message about a record."""
    return item_path("customers" if position is not None else "customer", position, customer_id)


def normalise_state(name: str | None) -> str:
    """State names compare trimmed and case-insensitively (SPEC §4)."""
    return (name or "").strip().casefold()


def rules_up_to(rules: Sequence["PreparedRule"], index: int | None) -> Sequence["PreparedRule"]:
    """`rules` (a prefix of an owner's live rules, in evaluation order) cut
    after the rule whose record index is `index`, if it is among them: the
    rules after the one deciding now cannot decide anything until it, or a
    rule before it, has an edge."""
    for n, p in enumerate(rules):
        if p.index == index:
            return rules[: n + 1]
    return rules


# Customers read lazily (JSON Lines text, wire dicts) are parsed into models
# when first needed and kept only in a FIFO of this many: a model is ~20 KB
# against ~1 KB of text, and once a customer's owner and schedule are
# prepared (and kept) its model is rarely needed again, so a process that
# touches all of a million customers does not grow by 20 GB.
MODEL_CACHE = 10_000
UTC_ZONE = ZoneInfo("UTC")  # the stand-in zone of rule_errors_in_any_zone
DAY = timedelta(days=1)
#: Most levels whose steady states (StateProofs._steady_states), and schedules whose hidden
#: rules (StateProofs.hidden), are remembered.
STEADY_CACHE = 10_000
_ABSENT = object()  # not in a cache (a cached schedule may be None)

_PATH_MARK = "\x00rule\x00"  # stands for a rule's path in shared warnings
# Fields that do not change when a Time rule's windows are open.
_NOT_WINDOWS = {"id", "name", "priority", "state", "source", "condition", "flow_id", "flow_params",
                "customer_state", "simple_rule_type"}


def _windows_key(rule: SchedulingRule, zone: ZoneInfo) -> tuple[str, str]:
    return (zone.key, rule.model_dump_json(exclude=_NOT_WINDOWS))


@dataclass(frozen=True, slots=True, eq=False)  # by identity: flow_params is not hashable
class PreparedRule:
    """A rule ready to evaluate: its kind resolved, its windows compiled,
    and the fields a result reports. It does not keep the rule's model
    (~2 KB each, and prepared schedules are kept for every owner a process
    has queried): `CustomerTree.rule_model` reads that again when needed."""

    index: int  # position in Schedule.Rules
    kind: SimpleSchedulingRuleTypes
    state: str
    windows: RuleWindows | None  # Time rules only
    customer_state: str | None  # normalised, CustomerState rules only
    condition: str | None  # non-empty Condition text
    rule_id: str | None
    name: str | None
    priority: int | None
    flow_id: str | None
    flow_params: Mapping[str, Any] | None  # read-only (results.frozen)
    wanted_state: str | None  # CustomerState as written, for messages

    @property
    def label(self) -> str:
        return self.name or self.rule_id or f"rule #{self.index}"


@dataclass(frozen=True, slots=True)
class OwnerSchedule:
    """An owner's schedule as the evaluators read it."""

    owner_id: str
    zone: ZoneInfo
    zone_name: str  # as resolved (IANA key)
    force_closed: bool
    default_state: str | None
    rules: tuple[PreparedRule, ...]  # evaluation order
    # Rules after an unconditional Always rule can never decide anything.
    live_rules: tuple[PreparedRule, ...]
    reads_parent: bool  # some live rule is a CustomerState rule
    fingerprint: str  # equal fingerprints = identical evaluation (SHA-256 of the zone and the schedule)

    def deciding_rules(self, wanted: frozenset[str], fallback_state: str) -> tuple[PreparedRule, ...]:
        """The rules whose window edges can change whether this owner's state
        is one of `wanted` (normalised names): every rule up to the last one
        that gives a wanted state, or all of them when the default (or
        fallback) state is wanted. A child's CustomerState rule needs no
        more of its parent than this."""
        if self.force_closed:
            return ()
        live = self.live_rules
        ends_in_always = bool(live) and live[-1].kind is ALWAYS and not live[-1].condition
        if not ends_in_always and normalise_state(self.default_state or fallback_state) in wanted:
            return live
        last = -1
        for i, p in enumerate(live):
            if normalise_state(p.state) in wanted:
                last = i
        return live[: last + 1]


def hidden_rules(live: Sequence[PreparedRule]) -> dict[int, tuple[PreparedRule, datetime]]:
    """{index of a Time rule: (the earlier rule that hides it, the wall time from which it
    does)} for the live Time rules that never decide an outcome, at least from that time on,
    because each of their windows lies inside a window of an earlier unconditional Time rule,
    which therefore matches first. Proofs: RuleWindows.within (rules firing on days of the
    same pattern: for ever) and RuleWindows.inside_steady (a rule that repeats every few days,
    such as one every ten minutes: from where it repeats), against the first STEADY_HIDERS
    repeating rules only, so that a schedule of a thousand rules stays cheap."""
    same_pattern: dict[tuple, list[PreparedRule]] = {}
    repeating: list[PreparedRule] = []
    hidden: dict[int, tuple[PreparedRule, datetime]] = {}
    for p in live:
        if p.kind is not TIME:
            continue
        windows: RuleWindows = p.windows  # type: ignore[assignment]
        pattern = windows.date_pattern()
        if pattern is not None:
            same_days = same_pattern.setdefault(pattern, [])
            hider = next((q for q in same_days if windows.within(q.windows)), None)  # type: ignore[arg-type]
            if hider is not None:
                hidden[p.index] = (hider, datetime.min)
            else:
                for q in repeating:
                    since = windows.inside_steady(q.windows)  # type: ignore[arg-type]
                    if since is not None:
                        hidden[p.index] = (q, since)
                        break
            if not p.condition:
                same_days.append(p)
        if not p.condition and len(repeating) < STEADY_HIDERS and windows.steady() is not None:
            repeating.append(p)
    return hidden


#: Repeating rules of a schedule against which hidden_rules tries RuleWindows.inside_steady.
STEADY_HIDERS = 8
_NOT_HIDDEN = (None, datetime.max)


def _covers(windows: RuleWindows, wall: datetime) -> bool:
    """Whether the rule's windows hold every wall time from `wall` on."""
    start = windows.covered_from()
    return start is not None and start <= wall


class Possible(NamedTuple):
    """The normalised names of every state a level of a state chain could be in at some
    instant after a given one and before `until` (None: for ever)."""
    states: frozenset[str]
    until: datetime | None


class StateProofs:
    """Proofs that a state can no longer change, over prepared schedules alone: no records,
    no tree. Its caches are keyed by content (schedule fingerprints), so one instance serves a
    tree and every tree a patch derives from it (the same policy), and compiled forms hold it
    without holding a tree."""

    def __init__(self, policy: Policy):
        self.policy = policy
        # (fingerprint, live rule indexes, parent state) -> a level's steady states (_steady_states)
        self._steady: dict[tuple, frozenset[str]] = {}
        self._hidden: dict[str, dict[int, tuple[PreparedRule, datetime]]] = {}  # fingerprint -> hidden_rules

    def can_match(self, rule: PreparedRule) -> bool:
        """False for a conditional rule when no condition evaluator is set."""
        return not rule.condition or self.policy.condition_evaluator is not None

    def constant_from(self, chain: Sequence[OwnerSchedule], at: datetime) -> tuple[int, datetime | None]:
        """The first level (>= 1) of a state chain that cannot change the level below it after
        `at` and before the instant given with it (None: for ever), else (len(chain), None):
        until then no window edge at that level or above can change the owner's outcome. A
        level cannot when its state cannot change, or when it can never be in a state that a
        CustomerState rule of the level below wants (that rule never matches)."""
        if len(chain) < 2:
            return len(chain), None
        levels = self.possible_by_level(chain, at)
        for i in range(1, len(chain)):
            below = chain[i - 1]
            wanted = () if below.force_closed else [
                p.customer_state for p in below.live_rules if p.kind is CUSTOMER_STATE and self.can_match(p)]
            if len(levels[i].states) == 1 or levels[i].states.isdisjoint(wanted):
                return i, levels[i].until
        return len(chain), None

    def possible_by_level(self, chain: Sequence[OwnerSchedule], at: datetime) -> list[Possible]:
        """For each owner of a state chain (the owner first, then the owners its CustomerState
        rules read, as CustomerTree.state_chain lists them), the states it could be in after
        `at` (Possible): an over-approximation, used only to prove that a state cannot change
        (for ever, or before a rule's UntilDate). Time rules whose last window has ended are
        left out, and so are CustomerState rules whose wanted state the parent can no longer
        reach. A level holds no longer than the level it reads."""
        levels: list[Possible] = []
        parent_states: frozenset[str] = frozenset()
        until: datetime | None = None
        for schedule in reversed(chain):
            states: set[str] = set()
            if schedule.force_closed:
                states.add(normalise_state(self.policy.force_closed_state))
            else:
                hidden = self.hidden(schedule)
                wall = at.astimezone(schedule.zone).replace(tzinfo=None) - DAY
                tail = True
                alive: list[PreparedRule] = []
                for p in schedule.live_rules:
                    if not self.can_match(p) or hidden.get(p.index, _NOT_HIDDEN)[1] <= wall:
                        continue
                    if p.kind is TIME:
                        start, end = p.windows.span()  # type: ignore[union-attr]
                        if start is None or (end is not None and end <= wall):
                            continue  # no window now or later
                    elif p.kind is CUSTOMER_STATE and p.customer_state not in parent_states:
                        continue
                    alive.append(p)
                    states.add(normalise_state(p.state))
                    # An unconditional rule that matches at every wall time from now on
                    # leaves nothing to the rules after it, nor to the default.
                    covered = p.kind is ALWAYS or (p.kind is TIME and _covers(p.windows, wall))  # type: ignore[arg-type]
                    if covered and not p.condition:
                        tail = False
                        break
                if tail:
                    states.add(normalise_state(schedule.default_state or self.policy.fallback_state))
                if len(states) > 1:
                    steady = self._steady_states(schedule, alive, parent_states, wall)
                    if steady is not None:
                        states, end = steady  # type: ignore[assignment]
                        until = min((t for t in (until, end) if t is not None), default=None)  # None: for ever
            parent_states = frozenset(states)
            levels.append(Possible(parent_states, until))
        return levels[::-1]

    def hidden(self, schedule: OwnerSchedule) -> dict[int, tuple[PreparedRule, datetime]]:
        """hidden_rules of the schedule, worked out when first asked (by next_change, until and
        validate: first state_at queries do not pay for it)."""
        found = self._hidden.get(schedule.fingerprint)
        if found is None:
            found = hidden_rules(schedule.live_rules)
            put_bounded(self._hidden, schedule.fingerprint, found, STEADY_CACHE)
        return found

    def _steady_states(self, schedule: OwnerSchedule, alive: list[PreparedRule], parent_states: frozenset[str],
                       wall: datetime) -> tuple[frozenset[str], datetime | None] | None:
        """The exact states (normalised) of one level at every wall time from `wall` on, when its
        rules repeat from there (RuleWindows.repeats): one common period holds them all. With
        them, the instant up to which that holds: None (for ever), or a day before the earliest
        UntilDate of a repeating rule, provided one period and two days fit before it. None when
        some rule does not repeat (Monthly, Yearly), a conditional rule may match, or a
        CustomerState rule's parent may be in more than one state.

        Without this a schedule whose state never changes but whose rules keep changing (two
        shifts of "Open" around the clock) made next_change walk every edge to the horizon, or
        to the shifts' UntilDate (2390: 63 s)."""
        parent = next(iter(parent_states)) if len(parent_states) == 1 else None
        period = 86400
        end = MAX_WALL
        for p in alive:
            if p.condition or (p.kind is CUSTOMER_STATE and parent is None):
                return None
            if p.kind is TIME:
                repeats = p.windows.repeats()  # type: ignore[union-attr]
                if repeats is None or repeats[0] > wall:
                    return None
                period = lcm(period, repeats[1])
                end = min(end, repeats[2] or MAX_WALL)
        if period > STEADY_PERIOD_LIMIT or wall + timedelta(seconds=period) + 2 * DAY > end:
            return None
        # Up to `end` each rule's windows are those of the rule without an end. The instant a
        # day before it has a wall time before it, whatever the UTC offset.
        until = None if end >= MAX_WALL else (end - DAY).replace(tzinfo=schedule.zone).astimezone(timezone.utc)
        key = (schedule.fingerprint, tuple(p.index for p in alive), parent)
        found = self._steady.get(key)
        if found is not None:
            return found, until
        # The states at one period's every window edge: the same as at every later wall time.
        end = wall + timedelta(seconds=period)
        windows = {p.index: p.windows.windows(wall, end) for p in alive if p.kind is TIME}  # type: ignore[union-attr]
        points = {wall, *(edge for spans in windows.values() for span in spans for edge in span if wall < edge < end)}
        default = normalise_state(schedule.default_state or self.policy.fallback_state)
        states: set[str] = set()
        for x in points:
            for p in alive:
                if (p.kind is ALWAYS or (p.kind is CUSTOMER_STATE and p.customer_state == parent)
                        or (p.kind is TIME and any(a <= x < b for a, b in windows[p.index]))):
                    states.add(normalise_state(p.state))
                    break
            else:
                states.add(default)
        found = frozenset(states)
        put_bounded(self._steady, key, found, STEADY_CACHE)
        return found, until


def _raw_fields(record: dict[str, Any], *keys: str) -> list[Any]:
    """A wire dict's fields by normalised name (any case), in one pass, as
    records.py matches them: of keys differing only in case (`schedule`,
    `Schedule`) the last wins, so a lazily read record says what its parsed
    model says."""
    found = dict.fromkeys(keys)
    for name, value in record.items():
        if isinstance(name, str):
            key = wire_key(name)
            if key in found:
                found[key] = value
    return [found[key] for key in keys]


def _raw_field(record: dict[str, Any], key: str) -> Any:
    return _raw_fields(record, key)[0]


def _wire_dict(record: str | dict[str, Any], position: int) -> dict[str, Any]:
    """A stored lazy record as a wire dict: a JSON Lines record is kept as
    text until needed, a dict is already one."""
    if not isinstance(record, str):
        return record
    try:
        raw = json.loads(record)
    except ValueError as exc:
        raise WireFormatError(f"customers[{position}]: not valid JSON: {exc}", path=f"customers[{position}]") from exc
    except RecursionError:
        raise WireFormatError(f"customers[{position}]: nested too deeply to decode",
                              path=f"customers[{position}]") from None
    if not isinstance(raw, dict):  # a JSON Lines line: the engine names the file and line
        raise WireFormatError(f"customers[{position}]: expected a customer object, found {json_kind(raw)}",
                              path=f"customers[{position}]")
    return raw


def _differs(before: Customer, after: Customer, field: str) -> bool:
    """Whether a field's value changed. NaN != NaN, so a field holding a NaN (a Data
    numberValue, say) would always count as changed and be rewritten from the model,
    losing what only the record kept: such values are compared by their dumps."""
    if getattr(before, field) == getattr(after, field):
        return False

    def dump(customer: Customer) -> str:
        return json.dumps(customer.model_dump(include={field}), sort_keys=True, default=str)
    return dump(before) != dump(after)


def _with_changes(raw: dict[str, Any], before: Customer, after: Customer) -> dict[str, Any]:
    """`raw` (the wire dict `before` was read from) with each field whose value
    differs in `after` replaced, every spelling of it, by after's camelCase one."""
    changed = {wire_key(f) for f in Customer.model_fields if _differs(before, after, f)}
    new = {wire_key(k): (k, v) for k, v in after.to_wire().items()}  # a field set to None is absent
    out: dict[str, Any] = {}
    for key, value in raw.items():
        field = wire_key(key) if isinstance(key, str) else None
        if field not in changed:
            out[key] = value
        elif field in new:  # where the field was, so a diff of the file shows just the change
            out.setdefault(*new[field])
    for field in changed & new.keys():  # fields the record did not have before
        out.setdefault(*new[field])
    return out


def _raw_id(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)


def _raw_identity(customer: Any, position: int) -> tuple[str, str | None]:
    """(id, parent id) of a record as the tree reads them, without parsing
    it whole; RecordError for a record that is not a customer object or has
    no usable id."""
    if isinstance(customer, (dict, str)):
        raw = _wire_dict(customer, position)
        value, parent_value = _raw_fields(raw, "id", "parentcustomerid")
        if not isinstance(value, str) and type(value) not in (int, float):
            parse_model(Customer, raw, f"customers[{position}]")  # let the model say what is wrong
        cid, parent = str(value), _raw_id(parent_value)  # a number becomes text, as the model reads it
    elif isinstance(customer, Customer):
        cid, parent = customer.id, customer.parent_customer_id or None
    else:
        raise RecordError(f"customers[{position}]: expected a customer object, found {json_kind(customer)}",
                          path=f"customers[{position}]")
    if not cid.strip():  # "" is how a record says "no parent": it cannot name a customer
        raise RecordError(f"customers[{position}].id: a customer's id must not be empty",
                          path=f"customers[{position}].id")
    return cid, parent


def _duplicate_error(position: int, customer_id: str, first: int) -> TreeError:
    return TreeError(f"{customer_label(position, customer_id)}: duplicate id, already used by customers[{first}]",
                     chain=(customer_id,))


def _missing_parent_error(position: int | None, customer_id: str, parent: str, note: str = "") -> TreeError:
    return TreeError(f"{customer_label(position, customer_id)}.parentCustomerId: parent {json_string(parent)} "
                     f"does not exist in the tree{note}", chain=(customer_id, parent))


def _cycle_error(cycle: Sequence[str], positions: Mapping[str, int]) -> TreeError:
    """`cycle` runs from a customer back to itself: [a, b, a]. Named from the
    member that comes first in the input, at its parentCustomerId."""
    members = list(cycle[:-1])
    first = min(range(len(members)), key=lambda i: positions.get(members[i], len(positions)))
    members = members[first:] + members[:first]
    members.append(members[0])
    return TreeError(f"{customer_label(positions.get(members[0]), members[0])}.parentCustomerId: parent chain "
                     f"forms a cycle: " + " -> ".join(map(json_string, members)), chain=tuple(members))


def _cycles(parents: Mapping[str, str | None]) -> Iterator[list[str]]:
    """Each cycle of parent links (every parent is a key of `parents`), as
    [a, b, ..., a], in the order the walk from the customers meets them."""
    done: set[str] = set()
    for start in parents:
        path: list[str] = []
        on_path: set[str] = set()
        cid: str | None = start
        while cid is not None and cid not in done:
            if cid in on_path:
                yield path[path.index(cid):] + [cid]
                break
            path.append(cid)
            on_path.add(cid)
            cid = parents[cid]
        done.update(path)


# Prepared schedules and compiled forms no customer uses any more (a patch replaced
# them) that are kept, newest first, for a patch that brings them back.
ORPHANS_KEPT = 1_000


class CustomerTree:
    """Customers by id with their parent links, validated on construction.

    Raises TreeError for a duplicate id, a parent that does not exist, or a
    cycle, naming the chain. Customers may be given as models, as wire
    dicts, or as JSON texts (lines of a JSON Lines file); the last two are
    validated into models the first time they are needed, so a one-shot
    query on a large file parses only the customers it reads (`check()`
    parses them all).
    """

    def __init__(self, customers: Iterable[Customer | dict[str, Any] | str], policy: Policy | None = None,
                 positions: Sequence[int] | None = None):
        self.policy = policy or Policy()
        self._customers: dict[str, Customer | dict[str, Any] | str] = {}
        self._parent: dict[str, str | None] = {}
        self._position: dict[str, int] = {}
        for i, customer in enumerate(customers):
            pos = positions[i] if positions is not None else i
            cid, parent = _raw_identity(customer, pos)
            if cid in self._customers:
                raise _duplicate_error(pos, cid, self._position[cid])
            self._customers[cid] = customer
            self._parent[cid] = parent
            self._position[cid] = pos
        self._children: dict[str, list[str]] = {}
        for cid, parent in self._parent.items():
            if parent is None:
                continue
            if parent not in self._customers:
                raise _missing_parent_error(self._position[cid], cid, parent)
            self._children.setdefault(parent, []).append(cid)
        self._check_cycles()
        self._models: dict[str, Customer] = {}  # parsed lazy records, at most MODEL_CACHE (FIFO)
        self._schedule_models: dict[str, Schedule | None] = {}  # their schedules alone, likewise
        # The record as read (JSON text or wire dict) of each customer a patch
        # has replaced by a model: what wire_records() writes its unchanged fields from.
        self._originals: dict[str, dict[str, Any] | str] = {}
        self._owner: dict[str, str] = {}
        self._zone_name: dict[str, str] = {}
        self._schedules: dict[str, OwnerSchedule] = {}
        self._windows: dict[tuple[str, str], RuleWindows] = {}
        self._by_fingerprint: dict[str, OwnerSchedule] = {}
        self._rule_warnings: dict[tuple[str, str], list[ScheduleWarning]] = {}
        self.proofs = StateProofs(self.policy)  # content-keyed: shared with derived trees

    def derive(self, replaced: dict[str, Customer], affected: Iterable[str]) -> "CustomerTree":
        """A new tree in which the customers in `replaced` (already in the
        tree) have new records: what a patch installs. Everything else is
        shared or copied, not parsed again -- records read lazily stay text
        -- and the owners, zones and prepared schedules worked out for
        customers outside `affected` (the patched customer and its
        descendants, the only ones whose answers a patch can change) carry
        over, so a patch on a million-customer tree costs a few dict copies."""
        new = CustomerTree.__new__(CustomerTree)
        new.policy = self.policy
        new._customers = {**self._customers, **replaced}
        new._originals = {**self._originals, **{cid: self._customers[cid] for cid in replaced
                                                if not isinstance(self._customers[cid], Customer)}}
        new._position = self._position  # never changed after construction: shared
        moved = {cid: model.parent_customer_id or None for cid, model in replaced.items()
                 if (model.parent_customer_id or None) != self._parent[cid]}
        new._parent = {**self._parent, **moved} if moved else self._parent
        new._children = dict(self._children) if moved else self._children
        for cid, parent in moved.items():
            if parent is not None and parent not in new._customers:
                raise _missing_parent_error(new._position.get(cid), cid, parent)
            old = self._parent[cid]
            if old is not None:
                new._children[old] = [k for k in new._children[old] if k != cid]
            if parent is not None:  # among its new siblings in input order, as __init__ puts it
                kids = new._children.get(parent, [])
                at = bisect_right([new._position[k] for k in kids], new._position[cid])
                new._children[parent] = [*kids[:at], cid, *kids[at:]]
            new._check_cycle_through(cid)
        gone = {*affected, *replaced}
        new._models = copy_without(self._models, gone)
        new._schedule_models = copy_without(self._schedule_models, gone)
        new._owner = copy_without(self._owner, gone)
        new._zone_name = copy_without(self._zone_name, gone)
        new._schedules = copy_without(self._schedules, gone)
        # Keyed by content (rule and zone, schedule digest): valid in any tree, and carried
        # over; but only while in use, or among the ORPHANS_KEPT newest that patches replaced,
        # so that a tree does not keep every schedule it ever had.
        if len(self._by_fingerprint) > len(new._schedules) + 2 * ORPHANS_KEPT:  # in batches
            in_use = {s.fingerprint for s in new._schedules.values()}
            new._by_fingerprint = without_orphans(self._by_fingerprint, lambda f, _: f in in_use, ORPHANS_KEPT)
            kept = {id(p.windows) for s in new._by_fingerprint.values() for p in s.rules if p.windows is not None}
            new._windows = without_orphans(self._windows, lambda _, w: id(w) in kept, 0)
            new._rule_warnings = {k: v for k, v in self._rule_warnings.items() if k in new._windows}
        else:
            new._by_fingerprint = dict(self._by_fingerprint)
            new._windows = dict(self._windows)
            new._rule_warnings = dict(self._rule_warnings)
        new.proofs = self.proofs
        return new

    def _check_cycle_through(self, customer_id: str) -> None:
        """Raise TreeError if the parent chain from `customer_id` loops
        (a new parent link can close a cycle only through the customers moved)."""
        chain = [customer_id]
        seen = {customer_id}
        parent = self._parent[customer_id]
        while parent is not None:
            chain.append(parent)
            if parent in seen:
                raise _cycle_error(chain[chain.index(parent):], self._position)
            seen.add(parent)
            parent = self._parent[parent]

    # ----------------------------------------------------------------- basics

    def __len__(self) -> int:
        return len(self._customers)

    def __contains__(self, customer_id: object) -> bool:
        return customer_id in self._customers

    def __iter__(self) -> Iterator[Customer]:
        return (self.customer(cid) for cid in self._customers)

    def ids(self) -> list[str]:
        return list(self._customers)

    def customer(self, customer_id: str) -> Customer:
        """The stored model itself, shared by the tree's caches: read it, never change it
        (Engine.customers() and Engine.patch() give copies)."""
        try:
            record = self._customers[customer_id]
        except (KeyError, TypeError):
            raise self._unknown(customer_id) from None
        if isinstance(record, Customer):
            return record
        models = self._models
        model = models.get(customer_id)
        if model is None:
            raw = _wire_dict(record, self._position[customer_id])
            model = parse_model(Customer, raw, self.label(customer_id))
            put_bounded(models, customer_id, model, MODEL_CACHE)
        return model

    def _unknown(self, customer_id: Any) -> UnknownCustomerError:
        if not isinstance(customer_id, str):  # 42 for "42": shown as the same text, so say what it was
            try:
                held = str(customer_id) in self._customers
            except Exception:  # a str() that fails: nothing to suggest
                held = False
            hint = f'; pass "{customer_id}"' if held else ""
            return UnknownCustomerError(f"unknown customer {customer_id!r:.80} (an id is a string, not "
                                        f"{type(customer_id).__name__}{hint})")
        return UnknownCustomerError(f"unknown customer {json_string(customer_id)} (the tree has "
                                    f"{len(self._customers):,} customers; did you load the right file?)")

    def require(self, customer_id: Any) -> None:
        """Raise UnknownCustomerError unless the tree holds `customer_id` (parsing nothing)."""
        try:
            if customer_id in self._customers:
                return
        except TypeError:  # unhashable
            pass
        raise self._unknown(customer_id)

    def schedule_record(self, customer_id: str) -> Schedule | None:
        """The customer's Schedule record. Of a lazily stored customer only
        that field is parsed (and kept in a FIFO of MODEL_CACHE): owners,
        zones and prepared schedules read nothing else, so a first query
        does not parse the billing, settings, data and tags it never uses."""
        self.require(customer_id)
        record = self._customers[customer_id]
        if isinstance(record, Customer):
            return record.schedule
        model = self._models.get(customer_id)
        if model is not None:
            return model.schedule
        schedule = self._schedule_models.get(customer_id, _ABSENT)
        if schedule is _ABSENT:
            raw = _wire_dict(record, self._position[customer_id])
            value = _raw_field(raw, "schedule")
            where = f"{self.label(customer_id)}.schedule"
            schedule = None if value is None else parse_model(Schedule, value, where)
            put_bounded(self._schedule_models, customer_id, schedule, MODEL_CACHE)
        return schedule  # type: ignore[return-value]

    def tags(self) -> dict[str, Tag]:
        """Every tag the customers define, by id; the first definition in
        input order wins. A record read lazily is not parsed whole for this,
        only its tags: a patch with tagIds on a million-customer tree reads
        each line's JSON, not a million models."""
        found: dict[str, Tag] = {}
        for cid, record in self._customers.items():
            model = record if isinstance(record, Customer) else self._models.get(cid)
            if model is not None:
                defined: Iterable[Tag] = model.tags or ()
            else:
                raw = _wire_dict(record, self._position[cid])
                listed = _raw_field(raw, "tags")
                if listed is not None and not isinstance(listed, list):
                    listed = self.customer(cid).tags  # not a list: the model reports it
                defined = [parse_model(Tag, t, item_path(f"{self.label(cid)}.tags", i, record_id(t)))
                           for i, t in enumerate(listed or ())]
            for tag in defined:
                if tag.id and tag.id not in found:
                    found[tag.id] = tag
        return found

    def position(self, customer_id: str) -> int | None:
        return self._position.get(customer_id)

    def parent_id(self, customer_id: str) -> str | None:
        self.require(customer_id)
        return self._parent[customer_id]

    def children(self, customer_id: str) -> list[str]:
        return list(self._children.get(customer_id, ()))

    def ancestors(self, customer_id: str) -> list[str]:
        """Parent, grandparent, ... up to the root."""
        chain = []
        parent = self.parent_id(customer_id)
        while parent is not None:
            chain.append(parent)
            parent = self._parent[parent]
        return chain

    def descendants(self, customer_id: str) -> list[str]:
        """Every customer below `customer_id`, parents before children."""
        out: list[str] = []
        stack = list(reversed(self._children.get(customer_id, ())))
        while stack:
            cid = stack.pop()
            out.append(cid)
            stack.extend(reversed(self._children.get(cid, ())))
        return out

    def label(self, customer_id: str) -> str:
        return customer_label(self._position.get(customer_id), customer_id)

    def _check_cycles(self) -> None:
        for cycle in _cycles(self._parent):
            raise _cycle_error(cycle, self._position)

    # --------------------------------------------------- owners and time zones

    def inherits(self, customer_id: str) -> bool:
        """True when the customer's state is its parent's (no schedule, or Inherit)."""
        if self._parent[customer_id] is None:
            return False
        schedule = self.schedule_record(customer_id)
        return schedule is None or bool(schedule.inherit)

    def owner_chain(self, customer_id: str) -> list[str]:
        """[customer, parent, ..., owner]: the inheritance walk to the schedule owner."""
        self.require(customer_id)
        chain = [customer_id]
        while self.inherits(chain[-1]):
            chain.append(self._parent[chain[-1]])  # type: ignore[arg-type]
        return chain

    def owner_id(self, customer_id: str) -> str:
        try:
            owner = self._owner.get(customer_id)
        except TypeError:  # unhashable
            raise self._unknown(customer_id) from None
        if owner is None:
            chain = self.owner_chain(customer_id)
            owner = chain[-1]
            for cid in chain:
                self._owner[cid] = owner
        return owner

    def zone_name(self, owner_id: str) -> str:
        """The owner's TimeZoneId, else the nearest ancestor's, else the policy default."""
        name = self._zone_name.get(owner_id)
        if name is None:
            name = self.policy.default_time_zone
            walked = []
            cid: str | None = owner_id
            while cid is not None:
                cached = self._zone_name.get(cid)
                if cached is not None:
                    name = cached
                    break
                walked.append(cid)
                schedule = self.schedule_record(cid)
                if schedule is not None and schedule.time_zone_id and schedule.time_zone_id.strip():
                    name = schedule.time_zone_id.strip()
                    # Checked here, so a bad zone is blamed on the customer that names
                    # it, not on a descendant that inherits it (cached: cheap).
                    resolve_zone(name, path=f"{self.label(cid)}.schedule.timeZoneId")
                    break
                cid = self._parent[cid]
            for w in walked:
                self._zone_name[w] = name
        return name

    def zone_origin(self, owner_id: str) -> str | None:
        """Where the owner's zone comes from, for people (`explain`), or None
        when the owner names it as it is known."""
        key = self.schedule(owner_id).zone_name
        cid: str | None = owner_id
        while cid is not None:
            schedule = self.schedule_record(cid)
            if schedule is not None and schedule.time_zone_id and schedule.time_zone_id.strip():
                written = schedule.time_zone_id.strip()
                as_written = f"TimeZoneId {json_string(written)}" if written != key else None
                if cid == owner_id:
                    return as_written and f"its {as_written}"
                return f"from {cid}" + (f", whose {as_written}" if as_written else "") + f": {owner_id} names none"
            cid = self._parent[cid]
        return f"the policy default: neither {owner_id} nor an ancestor names a zone"

    # ------------------------------------------------------------- schedules

    def schedule(self, owner_id: str) -> OwnerSchedule:
        """The owner's schedule prepared for evaluation (built once, then kept)."""
        prepared = self._schedules.get(owner_id)
        if prepared is None:
            prepared = self._prepare(owner_id)
            self._schedules[owner_id] = prepared
        return prepared

    def check_own_schedule(self, cid: str) -> None:
        """Prepare the customer's own schedule even while it inherits (and so
        is never evaluated), raising its first error: the rules take effect
        as soon as Inherit is cleared. Kept nowhere."""
        if self.owner_id(cid) == cid:
            self.schedule(cid)
        elif self.schedule_record(cid) is not None:
            self._prepare(cid)

    def rule_errors_in_any_zone(self, cid: str) -> list[ScheduleError]:
        """The errors of the customer's own rules that do not depend on the
        time zone, each rule prepared in UTC: what validation can still say
        about them while the zone they would be read in is bad (an
        ancestor's, reported at the ancestor)."""
        schedule = self.schedule_record(cid)
        found: list[ScheduleError] = []
        base = f"{self.label(cid)}.schedule.rules"
        for index, rule in enumerate(schedule.rules or () if schedule else ()):
            try:
                self._prepare_rule(index, rule, UTC_ZONE, item_path(base, index, rule.id))
            except ScheduleError as exc:
                found.append(exc)
        return found

    def _prepare(self, owner_id: str) -> OwnerSchedule:
        schedule = self.schedule_record(owner_id)
        label = self.label(owner_id)
        zone_name = self.zone_name(owner_id)
        zone = resolve_zone(zone_name, path=f"{label}.schedule.timeZoneId")
        # Identical schedules (a template used by thousands of customers) are
        # prepared once and shared.
        body = zone.key + "|" + (schedule.model_dump_json(exclude={"inherit", "time_zone_id"})
                                 if schedule else "")
        # A digest, not the text (kilobytes per schedule): keys of this map and of compiled forms.
        fingerprint = hashlib.sha256(body.encode()).hexdigest()
        shared = self._by_fingerprint.get(fingerprint)
        if shared is not None:
            return replace(shared, owner_id=owner_id)
        rules: list[SchedulingRule] = list(schedule.rules or ()) if schedule else []
        prepared: list[PreparedRule] = []
        for index in order_rules([r.priority for r in rules], self.policy):
            rule = rules[index]
            path = item_path(f"{label}.schedule.rules", index, rule.id)
            prepared.append(self._prepare_rule(index, rule, zone, path))
        live: list[PreparedRule] = []
        for p in prepared:
            live.append(p)
            if p.kind is ALWAYS and not p.condition:
                break
        force_closed = bool(schedule and schedule.force_closed)
        default_state = (schedule.default_state or None) if schedule else None
        if default_state is not None and not default_state.strip():
            default_state = None
        result = OwnerSchedule(
            owner_id=owner_id, zone=zone, zone_name=zone.key, force_closed=force_closed,
            default_state=default_state, rules=tuple(prepared), live_rules=tuple(live),
            reads_parent=any(p.kind is CUSTOMER_STATE for p in live),
            fingerprint=fingerprint,
        )
        self._by_fingerprint[fingerprint] = result
        return result

    def _prepare_rule(self, index: int, rule: SchedulingRule, zone: ZoneInfo, path: str) -> PreparedRule:
        kind = rule_kind(rule)
        windows = None
        if kind is TIME:
            key = _windows_key(rule, zone)
            windows = self._windows.get(key)
            if windows is None:
                windows = rule_windows(rule, zone, path=path)
                self._windows[key] = windows
        elif kind is CUSTOMER_STATE and not (rule.customer_state or "").strip():
            raise RecordError(f"{path}.customerState: a CustomerState rule needs the parent state "
                              f"to match (e.g. \"Holiday\")", path=f"{path}.customerState")
        params = rule.flow_params
        return PreparedRule(
            index=index, kind=kind, state=rule.state or "",
            windows=windows,
            customer_state=normalise_state(rule.customer_state) if kind is CUSTOMER_STATE else None,
            condition=(rule.condition or "").strip() or None,
            rule_id=rule.id, name=rule.name, priority=rule.priority, flow_id=rule.flow_id,
            flow_params=None if params is None else frozen({k: v.to_wire() for k, v in params.items()}),
            wanted_state=rule.customer_state,
        )

    def rule_model(self, owner_id: str, rule: PreparedRule) -> SchedulingRule:
        """The record of an owner's prepared rule (for a condition evaluator)."""
        return self.schedule_record(owner_id).rules[rule.index]  # type: ignore[union-attr,index]

    def state_chain(self, owner_id: str) -> list[str]:
        """[owner, its parent's owner, ...] as far up as CustomerState rules
        read: the owners whose states a state of `owner_id` depends on."""
        chain = [owner_id]
        while True:
            schedule = self.schedule(chain[-1])
            parent = self._parent[chain[-1]]
            if schedule.force_closed or not schedule.reads_parent or parent is None:
                return chain
            chain.append(self.owner_id(parent))

    def can_match(self, rule: PreparedRule) -> bool:
        """False for a conditional rule when no condition evaluator is set."""
        return self.proofs.can_match(rule)

    def possible_states(self, owner_id: str, at: datetime) -> Possible:
        """Every state the owner could be in after `at`, and until when that holds
        (StateProofs.possible_by_level)."""
        return self.proofs.possible_by_level([self.schedule(o) for o in self.state_chain(owner_id)], at)[0]

    def hidden(self, schedule: OwnerSchedule) -> dict[int, tuple[PreparedRule, datetime]]:
        return self.proofs.hidden(schedule)

    def check(self) -> list[tuple[str, str]]:
        """Prepare every owner's schedule (raising the first error) and return
        warnings as (path, message). `validate_records` collects every error instead."""
        warnings: list[tuple[str, str]] = []
        for cid in self._customers:
            warnings.extend(self.check_customer(cid))
        return warnings

    def check_customer(self, cid: str) -> list[tuple[str, str]]:
        """check() for one customer: its record and, if it owns its schedule,
        the schedule prepared (raising the first error); its warnings."""
        warnings: list[tuple[str, str]] = []
        customer = self.customer(cid)
        label = self.label(cid)
        schedule = customer.schedule
        if schedule is not None and schedule.inherit and not customer.parent_customer_id:
            warnings.append((f"{label}.schedule.inherit", "Inherit is set on a root customer and is ignored"))
        if self.owner_id(cid) != cid:
            if schedule is not None and schedule.rules:
                warnings.append((f"{label}.schedule.rules",
                                 f"{len(schedule.rules)} rule(s) are ignored: the customer inherits "
                                 f"from {self.owner_id(cid)}"))
            if schedule is not None and (schedule.rules or (schedule.time_zone_id or "").strip()):
                try:
                    self.check_own_schedule(cid)
                except ScheduleError as exc:  # not an error while ignored; it will be once Inherit is cleared
                    path = getattr(exc, "path", None) or f"{label}.schedule"
                    detail = str(exc).removeprefix(f"{path}: ")
                    if path.startswith(label):
                        warnings.append((path, f"{detail} (ignored while the customer inherits; an error once "
                                         "Inherit is cleared)"))
                    else:  # an ancestor's bad zone, reported at the ancestor: the rules' own errors still count
                        warnings.extend((e.path or label, f"{str(e).removeprefix(f'{e.path}: ')} (ignored while "
                                         "the customer inherits; an error once Inherit is cleared)")
                                        for e in self.rule_errors_in_any_zone(cid))
            return warnings
        owner = self.schedule(cid)
        hidden = self.hidden(owner)
        for p in owner.rules:
            path = item_path(f"{label}.schedule.rules", p.index, p.rule_id)
            if not p.state.strip():
                warnings.append((f"{path}.state", "the rule has no State: when it matches, the state name is "
                                 "empty" + (f" (flowId {p.flow_id!r} is still reported)" if p.flow_id else "")
                                 + '; set State (e.g. "Business Hours")'))
            if p.kind is TIME:
                warnings.extend(self._time_rule_warnings(schedule.rules[p.index], owner.zone, path))  # type: ignore[union-attr,index]
            else:
                warnings.extend((w.path or path, str(w)) for w in kind_warnings(schedule.rules[p.index], path))  # type: ignore[union-attr,index]
            if p.condition and self.policy.condition_evaluator is None:
                warnings.append((f"{path}.condition", f"condition {p.condition!r} never matches: "
                                 "no condition evaluator is configured"))
            if p.kind is CUSTOMER_STATE and not customer.parent_customer_id:
                warnings.append((path, "a CustomerState rule on a root customer never matches"))
            if p not in owner.live_rules:
                warnings.append((path, "never evaluated: an earlier Always rule always matches"))
            hider, since = hidden.get(p.index, _NOT_HIDDEN)
            # (warned about only when hidden from its first window on: then it never decides at all)
            if hider is not None and since <= (p.windows.first_start() or datetime.max):  # type: ignore[union-attr]
                warnings.append((path, f"never decides: each of its windows lies inside a window of "
                                 f"{item_path('rules', hider.index, hider.rule_id)}, which is evaluated "
                                 "first and matches there"))
        return warnings

    def _time_rule_warnings(self, rule: SchedulingRule, zone: ZoneInfo, path: str) -> list[tuple[str, str]]:
        """check_rule's warnings, computed once per distinct rule and zone."""
        key = _windows_key(rule, zone)
        found = self._rule_warnings.get(key)
        if found is None:
            found = check_rule(rule, zone, path=_PATH_MARK)
            windows = self._windows.get(key)
            # (check_rule already says so for an UntilDate before the start, or a start past 2400)
            if windows is not None and windows.first_start() is None and not any(
                    "never fires" in str(w) for w in found):
                found.append(ScheduleWarning(
                    f"the rule never fires before {MAX_WALL:%Y-%m-%d} (the evaluation horizon): its By* "
                    "fields, Interval and StartDate leave no occurrence (e.g. 30 February)", path=_PATH_MARK))
            self._rule_warnings[key] = found
        return [((w.path or _PATH_MARK).replace(_PATH_MARK, path), str(w).replace(_PATH_MARK, path))
                for w in found]

    # --------------------------------------------------- settings, breadcrumbs

    def _nearest_override(self, customer_id: str, flag: str) -> Customer:
        cid: str | None = customer_id
        last = self.customer(customer_id)
        while cid is not None:
            last = self.customer(cid)
            if getattr(last, flag):
                return last
            cid = self._parent[cid]
        return last  # the root

    def effective_billing_settings(self, customer_id: str) -> BillingSettings | None:
        return self._nearest_override(customer_id, "override_billing_settings").billing_settings

    def effective_app_settings(self, customer_id: str) -> AppSettings | None:
        return self._nearest_override(customer_id, "override_app_settings").app_settings

    def name(self, customer_id: str) -> str | None:
        """The customer's Name, read without parsing the rest of a record kept
        as read: a breadcrumb needs the names of ancestors that may hold a
        field a patch of their descendant must not trip on."""
        record = self._customers.get(customer_id)
        if record is not None and not isinstance(record, Customer) and customer_id not in self._models:
            name = _raw_field(_wire_dict(record, self._position[customer_id]), "name")
            if name is None or isinstance(name, str):
                return name
        return self.customer(customer_id).name  # parsed, or a name the model must read (42 -> "42")

    def breadcrumb(self, customer_id: str) -> list[CustomerBreadcrumb]:
        """Root first, the customer itself last."""
        ids = [customer_id] + self.ancestors(customer_id)
        return [CustomerBreadcrumb(id=cid, name=self.name(cid)) for cid in reversed(ids)]

    def records(self) -> list[Customer]:
        """The customers in input order (every one validated)."""
        return [self.customer(cid) for cid in self._customers]

    def wire_records(self) -> list[dict[str, Any]]:
        """The customers in input order as wire dicts, losing nothing that was
        read: a record stored as read (loaded lazily) is returned as read --
        its key spellings, the fields no model knows, numbers a model would
        round -- and a record a patch replaced keeps all that in the fields
        the patch left alone. Models built any other way give `to_wire()`."""
        out = []
        for cid, record in self._customers.items():
            position = self._position[cid]
            if not isinstance(record, Customer):
                out.append(_wire_dict(record, position))
            elif cid in self._originals:
                raw = _wire_dict(self._originals[cid], position)
                out.append(_with_changes(raw, parse_model(Customer, raw, self.label(cid)), record))
            else:
                out.append(record.to_wire())
        return out


# ------------------------------------------------------------- validation

_LABEL = re.compile(r"customers\[(\d+)\]")


def _without_parent(record: Customer | dict[str, Any] | str, position: int) -> Customer | dict[str, Any]:
    """The record as a root: its parentCustomerId (every spelling) left out."""
    if isinstance(record, Customer):
        return record.model_copy(update={"parent_customer_id": None})
    raw = _wire_dict(record, position)
    return {k: v for k, v in raw.items() if not (isinstance(k, str) and wire_key(k) == "parentcustomerid")}


def validate_records(records: Sequence[Customer | dict[str, Any] | str | RecordError],
                     policy: Policy | None = None) -> Validation:
    """Every error and warning of a list of customer records, in input order:
    what ``schedengine validate`` prints. The strict path
    (``CustomerTree(records)`` then ``check()``, as ``Engine.from_file``
    does) raises the first error; this goes on.

    An item that is a RecordError stands for a record that could not be read
    (a JSON Lines line that does not decode): it is that record's error.

    Found: per record, the first problem of its fields (and how many more);
    in the tree, a duplicate id (the first record keeps it), a parent that
    does not exist, and each cycle; per schedule owner, the first error of
    its schedule. Warnings: unknown fields, and what ``check()`` warns about.
    A record without a usable id, or with a duplicate one, is left out of the
    tree; one whose parent is missing, or that is on a cycle, is checked as a
    root and gets no schedule warnings (they would describe a tree it is not
    in). An error a customer meets in an ancestor's record (an inherited zone
    that does not exist, say) is reported once, at the ancestor.

    Memory stays as the strict path's: records are parsed into the tree's
    bounded cache one at a time, never all kept."""
    policy = policy or Policy()
    findings: list[Finding] = []

    def error(position: int, exc: ScheduleError) -> None:
        findings.append(Finding("error", position, getattr(exc, "path", None), str(exc), exc))

    def warning(position: int, path: str, message: str) -> None:
        findings.append(Finding("warning", position, path, f"{path}: {message}"))

    kept: list[Any] = []
    positions: list[int] = []
    first: dict[str, int] = {}  # id -> position of the record that keeps it
    parents: dict[str, str | None] = {}
    unread = 0
    for i, item in enumerate(records):
        if isinstance(item, RecordError):
            error(i, item)
            unread += 1
            continue
        try:
            cid, parent = _raw_identity(item, i)
        except RecordError as exc:
            error(i, exc)
            unread += 1
            continue
        if cid in first:
            error(i, _duplicate_error(i, cid, first[cid]))
            continue
        first[cid] = i
        parents[cid] = parent
        kept.append(item)
        positions.append(i)

    rooted: set[str] = set()  # checked as roots: the parent is missing, or on a cycle
    note = (f" ({unread:,} record(s) could not be read; it may be among them)" if unread else "")
    for cid, parent in parents.items():
        if parent is not None and parent not in parents:
            error(first[cid], _missing_parent_error(first[cid], cid, parent, note))
            rooted.add(cid)
    for cid in rooted:
        parents[cid] = None
    for cycle in list(_cycles(parents)):
        members = cycle[:-1]
        error(min(first[c] for c in members), _cycle_error(cycle, first))
        for c in members:
            parents[c] = None
            rooted.add(c)
    if rooted:
        ids = list(parents)
        kept = [_without_parent(item, pos) if cid in rooted else item
                for cid, item, pos in zip(ids, kept, positions)]
    tree = CustomerTree(kept, policy, positions=positions)

    by_position = {pos: cid for cid, pos in first.items()}
    broken: set[str] = set()  # records whose fields do not parse (reported at their own turn)

    def parses(cid: str) -> bool:
        if cid in broken:
            return False
        try:
            tree.customer(cid)
        except RecordError:
            return False
        return True

    for cid in tree.ids():
        position = first[cid]
        try:
            model = tree.customer(cid)
        except RecordError as exc:
            error(position, exc)
            broken.add(cid)
            continue
        label = tree.label(cid)
        for where, message in field_warnings(model, label):
            warning(position, where, message)
        try:
            found = tree.check_customer(cid)
        except ScheduleError as exc:
            named = _LABEL.match(str(exc))
            other = by_position.get(int(named[1])) if named else None
            if other is None or other == cid:
                error(position, exc)
            else:
                if parses(other):  # else that record's own turn reports it
                    error(first[other], exc)
                if tree.owner_id(cid) == cid:  # the bad zone is an ancestor's: this customer's rules still count
                    for rule_error in tree.rule_errors_in_any_zone(cid):
                        error(position, rule_error)
            continue
        if cid not in rooted:
            for where, message in found:
                warning(position, where, message)

    seen: set[tuple[str, str]] = set()
    unique = []
    for f in sorted(findings, key=lambda f: f.position if f.position is not None else -1):
        key = (f.severity, f.message)
        if key not in seen:
            seen.add(key)
            unique.append(f)
    if not records:  # an export cut short reads as a clean empty list
        unique.append(Finding("warning", None, None, "the input holds no customers"))
    return Validation(customers=len(records), findings=tuple(unique))
