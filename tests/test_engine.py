"""The engine over the demo tree: one line per case, run against both the
reference evaluator and the compiled fast path; plus the metamorphic
properties of SPEC §5."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schedengine import Engine, Policy, RecordError, TreeError, UnknownCustomerError, WireFormatError
from schedengine.testing import customer_trees, instants

UTC = timezone.utc
DEMO = Path(__file__).resolve().parent.parent / "fixtures" / "demo.json"


@pytest.fixture(scope="module", params=["reference", "compiled"])
def demo(request):
    return Engine.from_file(DEMO, mode=request.param)


# customer, at, state, reason, rule id
CASES = [
    # priorities: Lunch (50) beats Business Hours (10); holidays (100) beat both
    ("acme", "2027-07-06T10:00:00-04:00", "Business Hours", "rule", "r-acme-business"),
    ("acme", "2027-07-06T12:15:00-04:00", "Lunch", "rule", "r-acme-lunch"),
    ("acme", "2027-07-06T16:59:59-04:00", "Business Hours", "rule", "r-acme-business"),
    ("acme", "2027-07-06T17:00:00-04:00", "After Hours", "default", None),  # end is exclusive
    ("acme", "2027-07-06T08:59:59-04:00", "After Hours", "default", None),
    ("acme", "2027-07-10T11:00:00-04:00", "Business Hours", "rule", "r-acme-saturday"),
    ("acme", "2027-07-11T11:00:00-04:00", "After Hours", "default", None),  # Sunday
    # US federal holidays 2027 (actual dates, no observed-day shifting)
    ("acme", "2027-01-01T10:00:00-05:00", "Holiday", "rule", "r-acme-new-year"),
    ("acme", "2027-01-18T10:00:00-05:00", "Holiday", "rule", "r-acme-mlk"),
    ("acme", "2027-01-11T10:00:00-05:00", "Business Hours", "rule", "r-acme-business"),  # 2nd Monday
    ("acme", "2027-05-31T10:00:00-04:00", "Holiday", "rule", "r-acme-memorial"),
    ("acme", "2027-05-24T10:00:00-04:00", "Business Hours", "rule", "r-acme-business"),
    ("acme", "2027-06-19T11:00:00-04:00", "Holiday", "rule", "r-acme-juneteenth"),
    ("acme", "2027-07-04T11:00:00-04:00", "Holiday", "rule", "r-acme-independence"),
    ("acme", "2027-07-05T10:30:00-04:00", "Business Hours", "rule", "r-acme-business"),
    ("acme", "2027-09-06T10:00:00-04:00", "Holiday", "rule", "r-acme-labor"),
    ("acme", "2027-11-25T10:00:00-05:00", "Holiday", "rule", "r-acme-thanksgiving"),
    ("acme", "2027-11-18T10:00:00-05:00", "Business Hours", "rule", "r-acme-business"),
    ("acme", "2027-12-25T11:00:00-05:00", "Holiday", "rule", "r-acme-christmas"),
    # ... and 2028
    ("acme", "2028-01-01T11:00:00-05:00", "Holiday", "rule", "r-acme-new-year"),
    ("acme", "2028-01-17T10:00:00-05:00", "Holiday", "rule", "r-acme-mlk"),
    ("acme", "2028-05-29T10:00:00-04:00", "Holiday", "rule", "r-acme-memorial"),
    ("acme", "2028-06-19T10:00:00-04:00", "Holiday", "rule", "r-acme-juneteenth"),
    ("acme", "2028-07-04T10:00:00-04:00", "Holiday", "rule", "r-acme-independence"),
    ("acme", "2028-09-04T10:00:00-04:00", "Holiday", "rule", "r-acme-labor"),
    ("acme", "2028-11-23T10:00:00-05:00", "Holiday", "rule", "r-acme-thanksgiving"),
    ("acme", "2028-11-22T12:30:00-05:00", "Lunch", "rule", "r-acme-lunch"),
    ("acme", "2028-12-25T10:00:00-05:00", "Holiday", "rule", "r-acme-christmas"),
    ("acme", "2028-12-26T10:00:00-05:00", "Business Hours", "rule", "r-acme-business"),
    # all-day holiday windows are whole local days
    ("acme", "2027-11-25T00:00:00-05:00", "Holiday", "rule", "r-acme-thanksgiving"),
    ("acme", "2027-11-25T23:59:59-05:00", "Holiday", "rule", "r-acme-thanksgiving"),
    ("acme", "2027-11-26T00:00:00-05:00", "After Hours", "default", None),
    # inheritance: a customer without own schedule is in its owner's state
    ("acme-sales", "2027-11-25T10:00:00-05:00", "Holiday", "rule", "r-acme-thanksgiving"),
    ("acme-sales", "2027-07-06T12:15:00-04:00", "Lunch", "rule", "r-acme-lunch"),
    ("acme-support-tier2", "2027-07-06T23:30:00-04:00", "Night Desk", "rule", "r-support-night"),
    # CustomerState: support follows acme's Holiday, then its own rules
    ("acme-support", "2027-11-25T10:00:00-05:00", "Holiday", "rule", "r-support-holiday"),
    ("acme-support", "2027-11-25T23:00:00-05:00", "Holiday", "rule", "r-support-holiday"),
    ("acme-support", "2027-11-26T01:00:00-05:00", "Night Desk", "rule", "r-support-night"),
    ("acme-support", "2027-07-06T21:00:00-04:00", "After Hours", "default", None),
    ("acme-support", "2027-07-06T23:30:00-04:00", "Night Desk", "rule", "r-support-night"),
    ("acme-support", "2027-07-07T05:59:59-04:00", "Night Desk", "rule", "r-support-night"),
    ("acme-support", "2027-07-07T06:00:00-04:00", "After Hours", "default", None),
    ("acme-support", "2027-07-07T08:00:00-04:00", "Business Hours", "rule", "r-support-business"),
    # CustomerState across zones: London follows New York's Thanksgiving (NY midnight = 05:00Z)
    ("acme-london", "2027-11-25T04:59:59+00:00", "After Hours", "default", None),
    ("acme-london", "2027-11-25T05:00:00+00:00", "Holiday", "rule", "r-london-follow-acme"),
    ("acme-london", "2027-11-26T04:59:59+00:00", "Holiday", "rule", "r-london-follow-acme"),
    ("acme-london", "2027-11-26T05:00:00+00:00", "After Hours", "default", None),
    ("acme-london", "2027-11-26T09:00:00+00:00", "Business Hours", "rule", "r-london-business"),
    ("acme-london", "2027-08-30T12:00:00+01:00", "Holiday", "rule", "r-london-2027-summer"),
    ("acme-london", "2027-07-06T17:29:59+01:00", "Business Hours", "rule", "r-london-business"),
    ("acme-london", "2027-07-06T17:30:00+01:00", "After Hours", "default", None),
    # ForceClosed overrides everything
    ("acme-branch-closed", "2027-07-06T10:00:00-06:00", "After Hours", "force_closed", None),
    # Windows zone name; a one-off window across the US spring-forward gap
    ("acme-chicago", "2027-07-06T09:00:00-05:00", "Business Hours", "rule", "r-chicago-business"),
    ("acme-chicago", "2027-03-14T01:59:59-06:00", "After Hours", "default", None),
    ("acme-chicago", "2027-03-14T03:00:00-05:00", "Maintenance", "rule", "r-chicago-maintenance"),
    ("acme-chicago", "2027-03-14T03:59:59-05:00", "Maintenance", "rule", "r-chicago-maintenance"),
    ("acme-chicago", "2027-03-14T04:00:00-05:00", "After Hours", "default", None),
    # zone cascade (acme-events names no zone), Count-limited yearly, monthly 2nd Tuesday, Always
    ("acme-events", "2027-03-03T12:00:00-05:00", "Anniversary", "rule", "r-events-anniversary"),
    ("acme-events", "2028-03-03T12:00:00-05:00", "Anniversary", "rule", "r-events-anniversary"),
    ("acme-events", "2029-03-03T12:00:00-05:00", "Closed", "rule", "r-events-closed"),  # Count 5 spent
    ("acme-events", "2027-07-13T18:30:00-04:00", "Town Hall", "rule", "r-events-town-hall"),
    ("acme-events", "2027-07-20T18:30:00-04:00", "Closed", "rule", "r-events-closed"),
    # Condition without an evaluator never matches
    ("acme-sydney", "2027-07-05T10:00:00+10:00", "Business Hours", "rule", "r-sydney-business"),
    ("acme-sydney", "2027-04-25T10:00:00+10:00", "Holiday", "rule", "r-sydney-anzac"),
    # 30-minute DST zone
    ("acme-lordhowe", "2027-07-05T09:00:00+10:30", "Business Hours", "rule", "r-lordhowe-business"),
    ("acme-lordhowe", "2027-12-06T08:59:59+11:00", "After Hours", "default", None),
    ("acme-lordhowe", "2027-12-06T09:00:00+11:00", "Business Hours", "rule", "r-lordhowe-business"),
    # DST days: the night desk reads the wall clock
    ("acme-support", "2027-03-14T03:30:00-04:00", "Night Desk", "rule", "r-support-night"),
    ("acme-support", "2027-03-14T06:00:00-04:00", "After Hours", "default", None),
    ("acme-support", "2027-11-07T01:30:00-04:00", "Night Desk", "rule", "r-support-night"),  # first 01:30
    ("acme-support", "2027-11-07T01:30:00-05:00", "Night Desk", "rule", "r-support-night"),  # second 01:30
    ("acme-support", "2027-11-07T06:00:00-05:00", "After Hours", "default", None),
    # a non-US default state, an inheriting child in Berlin
    ("globex", "2027-07-11T12:00:00+02:00", "Geschlossen", "default", None),
    ("globex-berlin-ops", "2027-10-03T12:00:00+02:00", "Holiday", "rule", "r-globex-einheit"),
]


@pytest.mark.parametrize("customer, at, state, reason, rule_id", CASES)
def test_demo_tree(demo, customer, at, state, reason, rule_id):
    result = demo.state_at(customer, at)
    assert (result.state, result.reason, result.rule_id) == (state, reason, rule_id)


def test_result_fields(demo):
    r = demo.state_at("acme-sales", "2027-07-06T12:15:00-04:00")
    assert r.customer_id == "acme-sales" and r.owner_id == "acme"
    assert r.rule_name == "Lunch" and r.priority == 50 and r.flow_id == "flow-acme-lunch"
    assert r.time_zone == "America/New_York"
    assert r.at == datetime(2027, 7, 6, 16, 15, tzinfo=UTC)
    assert r.until == datetime(2027, 7, 6, 17, 0, tzinfo=UTC)
    assert demo.state_at("acme-chicago", "2027-07-06T09:00:00").time_zone == "America/Chicago"


@pytest.mark.parametrize("form", [
    "2027-07-06T12:15:00-04:00", "2027-07-06T16:15:00Z", datetime(2027, 7, 6, 16, 15, tzinfo=UTC),
    datetime(2027, 7, 6, 12, 15), "2027-07-06T12:15:00", 1814890500, 1814890500.0,
])
def test_instant_forms(demo, form):
    """Naive datetimes and offset-less strings are the owner's wall-clock time."""
    assert demo.state_at("acme", form).at == datetime(2027, 7, 6, 16, 15, tzinfo=UTC)


def test_until_and_next_change(demo):
    r = demo.state_at("acme", "2027-07-06T10:00:00-04:00")
    assert r.until == datetime(2027, 7, 6, 16, 0, tzinfo=UTC)  # lunch at 12:00 EDT
    change = demo.next_change("acme", "2027-07-06T10:00:00-04:00")
    assert (change.at, change.state) == (datetime(2027, 7, 6, 16, 0, tzinfo=UTC), "Lunch")
    assert demo.state_at("acme-branch-closed", "2027-07-06T10:00:00Z").until is None
    assert demo.next_change("acme-branch-closed", "2027-07-06T10:00:00Z") is None


def test_timeline_of_a_day(demo):
    segments = demo.timeline("acme", "2027-07-06T00:00:00-04:00", "2027-07-07T00:00:00-04:00")
    assert [(s.start.astimezone(UTC).hour, s.state) for s in segments] == [
        (4, "After Hours"), (13, "Business Hours"), (16, "Lunch"), (17, "Business Hours"), (21, "After Hours")]


def test_spring_forward_night_is_seven_hours(demo):
    """22:00-06:00 wall clock across the gap lasts 7 real hours."""
    segments = demo.timeline("acme-support", "2027-03-13T21:00:00-05:00", "2027-03-14T07:00:00-04:00")
    night = next(s for s in segments if s.state == "Night Desk")
    assert night.end - night.start == timedelta(hours=7)


def test_fall_back_night_is_nine_hours(demo):
    segments = demo.timeline("acme-support", "2027-11-06T21:00:00-04:00", "2027-11-07T07:00:00-05:00")
    night = next(s for s in segments if s.state == "Night Desk")
    assert night.end - night.start == timedelta(hours=9)


# ---------------------------------------------------------------- policies

def _tiny(rules, **schedule):
    return [{"id": "p", "schedule": {"timeZoneId": "UTC", "rules": rules, **schedule}},
            {"id": "c", "parentCustomerId": "p", "schedule": {"inherit": True}}]


@pytest.mark.parametrize("mode", ["reference", "compiled"])
@pytest.mark.parametrize("priority, expected", [("highest-first", "High"), ("lowest-first", "Low")])
def test_priority_order(mode, priority, expected):
    rules = [{"simpleRuleType": "Always", "priority": 1, "state": "Low"},
             {"simpleRuleType": "Always", "priority": 9, "state": "High"}]
    engine = Engine.from_records(_tiny(rules), Policy(priority=priority), mode=mode)
    assert engine.state_at("c", 0).state == expected


@pytest.mark.parametrize("mode", ["reference", "compiled"])
@pytest.mark.parametrize("priority", ["highest-first", "lowest-first"])
def test_equal_priorities_keep_list_order(mode, priority):
    rules = [{"simpleRuleType": "Always", "priority": 5, "state": "First"},
             {"simpleRuleType": "Always", "priority": 5, "state": "Second"}]
    engine = Engine.from_records(_tiny(rules), Policy(priority=priority), mode=mode)
    assert engine.state_at("p", 0).state == "First"


@pytest.mark.parametrize("mode", ["reference", "compiled"])
@pytest.mark.parametrize("priority, first, second, state, reported", [
    ("highest-first", None, -1, "First", None),
    ("highest-first", -1, None, "Second", None),  # missing = 0 > -1
    ("lowest-first", None, 1, "First", None),
    ("lowest-first", 1, None, "Second", None),  # missing = 0 < 1
    ("highest-first", 0, None, "First", 0),  # equal to 0: list order
    ("highest-first", None, 0, "First", None),
])
def test_a_missing_priority_orders_as_0_and_is_reported_as_missing(mode, priority, first, second, state, reported):
    """The order counts a missing Priority as 0; a result reports the rule's
    Priority as the record gives it (None, JSON null), not an invented 0."""
    rules = [{"simpleRuleType": "Always", "state": "First"}, {"simpleRuleType": "Always", "state": "Second"}]
    for rule, value in zip(rules, (first, second)):
        if value is not None:
            rule["priority"] = value
    result = Engine.from_records(_tiny(rules), Policy(priority=priority), mode=mode).state_at("c", 0)
    assert (result.state, result.priority, result.to_json()["priority"]) == (state, reported, reported)


@pytest.mark.parametrize("state", [None, "", "  "])
def test_a_rule_without_state_is_a_validate_warning(state):
    """SPEC §4: a matching rule gives its State. Without one the state was
    silently "" (state-at printed an empty state). It still is -- the rule
    may route by its flowId -- but `validate` names the rule."""
    rule = {"id": "r-open", "simpleRuleType": "Always", "flowId": "flow-1"}
    if state is not None:
        rule["state"] = state
    engine = Engine.from_records(_tiny([rule, {"id": "r-ok", "simpleRuleType": "Always", "state": "Open"}]))
    assert engine.state_at("c", 0).state == (state or "")
    assert [w for w in engine.validate() if w[0].endswith(".state")] == [
        ('customers[0] (id "p").schedule.rules[0] (id "r-open").state',
         "the rule has no State: when it matches, the state name is empty (flowId 'flow-1' is still reported); "
         'set State (e.g. "Business Hours")')]


@pytest.mark.parametrize("kind", ["Always", "CustomerState"])
def test_time_fields_on_another_kind_of_rule_are_a_validate_warning(kind):
    """docs/recurrence.md promised it; only check_rule said so, never validate."""
    rule = {"id": "r", "simpleRuleType": kind, "customerState": "Open", "state": "Open",
            "startTime": "09:00", "endTime": "17:00", "frequency": "Daily"}
    warnings = Engine.from_records(_tiny([rule])).validate()
    assert ('customers[0] (id "p").schedule.rules[0] (id "r")',
            f"SimpleRuleType is {kind}: the time and recurrence fields are ignored") in warnings


def test_a_bad_rule_in_an_inheriting_schedule_is_a_validate_warning():
    """Ignored while the customer inherits, the rule was never prepared, so
    validate said nothing of a start time of 25:00 that fails every query
    once Inherit is cleared."""
    records = _tiny([{"id": "r-open", "simpleRuleType": "Always", "state": "Open"}])
    records[1]["schedule"]["rules"] = [{"id": "r-bad", "state": "X", "startTime": "25:00", "frequency": "Daily"}]
    engine = Engine.from_records(records)
    assert engine.state_at("c", 0).state == "Open"
    assert [w for w in engine.validate() if "r-bad" in w[0]] == [
        ('customers[1] (id "c").schedule.rules[0] (id "r-bad").startTime',
         '"25:00" is not a time (expected HH:MM) (ignored while the customer inherits; an error once Inherit is '
         'cleared)')]


def test_a_bad_zone_in_an_inheriting_schedule_is_a_validate_warning():
    """validate checked an inheriting schedule only when it had rules, while
    a patch storing the same schedule was refused."""
    records = _tiny([{"id": "r-open", "simpleRuleType": "Always", "state": "Open"}])
    records[1]["schedule"]["timeZoneId"] = "Mars/X"
    engine = Engine.from_records(records)
    assert [w for w in engine.validate() if "Mars" in w[1]] == [
        ('customers[1] (id "c").schedule.timeZoneId',
         'unknown time zone "Mars/X" (expected an IANA name such as "America/New_York" or a Windows name such as '
         '"Eastern Standard Time") (ignored while the customer inherits; an error once Inherit is cleared)')]


@pytest.mark.parametrize("zone, at", [("UTC", "2024-08-16T20:00:00Z"), ("UTC", "2024-08-17T05:00:00Z"),
                                      ("America/New_York", "2024-03-10T05:00:00Z")])
@pytest.mark.parametrize("mode", ["reference", "compiled"])
def test_next_change_compares_state_names_as_customer_state_rules_do(mode, zone, at):
    """"OPEN" after "Open" is no change (SPEC §4 compares states trimmed and
    in any case). Each path used to compare exact names in one check and
    folded names in the other, so the answer depended on where chunk and
    DST boundaries fell, and the two paths disagreed."""
    rules = [{"id": "r", "state": "OPEN", "simpleRuleType": "Time", "frequency": "Daily",
              "startDate": "2024-01-01", "startTime": "09:00", "endTime": "17:00"}]
    engine = Engine.from_records(_tiny(rules, defaultState="Open", timeZoneId=zone), mode=mode)
    assert engine.next_change("c", at) is None
    rules.append({"id": "late", "state": "Closed", "simpleRuleType": "Time", "frequency": "None",
                  "startDate": "2024-09-02", "startTime": "20:00", "endTime": "21:00"})
    engine = Engine.from_records(_tiny(rules, defaultState="Open", timeZoneId=zone), mode=mode)
    assert engine.next_change("c", at).state == "Closed"


@pytest.mark.parametrize("mode", ["reference", "compiled"])
def test_default_then_fallback(mode):
    result = Engine.from_records(_tiny([], defaultState="Closed"), mode=mode).state_at("c", 0)
    assert (result.state, result.reason) == ("Closed", "default")
    engine = Engine.from_records(_tiny([]), Policy(fallback_state="Voicemail"), mode=mode)
    assert (engine.state_at("c", 0).state, engine.state_at("c", 0).reason) == ("Voicemail", "fallback")


@pytest.mark.parametrize("mode", ["reference", "compiled"])
def test_force_closed_state_from_policy(mode):
    engine = Engine.from_file(DEMO, Policy(force_closed_state="Closed"), mode=mode)
    assert engine.state_at("acme-branch-closed", "2027-07-06T10:00:00Z").state == "Closed"


@pytest.mark.parametrize("mode", ["reference", "compiled"])
def test_condition_evaluator(mode):
    calls = []

    def evaluator(rule, customer, at):
        calls.append((rule.id, customer.id))
        return True

    engine = Engine.from_file(DEMO, Policy(condition_evaluator=evaluator), mode=mode)
    assert engine.state_at("acme-sydney", "2027-07-05T10:00:00+10:00").state == "Overflow"
    assert ("r-sydney-overflow", "acme-sydney") in calls


@pytest.mark.parametrize("mode", ["reference", "compiled"])
def test_default_time_zone_from_policy(mode):
    records = [{"id": "x", "schedule": {"rules": [{"startTime": "09:00", "endTime": "17:00", "frequency": "Daily"}]}}]
    engine = Engine.from_records(records, Policy(default_time_zone="Asia/Tokyo"), mode=mode)
    assert engine.state_at("x", "2027-07-06T09:30:00+09:00").state != "After Hours"
    assert engine.state_at("x", "2027-07-06T09:30:00+09:00").time_zone == "Asia/Tokyo"


def test_customer_state_on_root_never_matches():
    records = [{"id": "r", "schedule": {"rules": [{"simpleRuleType": "CustomerState", "customerState": "X",
                                                   "state": "Y"}], "defaultState": "D"}}]
    assert Engine.from_records(records).state_at("r", 0).state == "D"


# ---------------------------------------------------------------- tree errors

@pytest.mark.parametrize("records, fragment", [
    ([{"id": "a"}, {"id": "a"}], "duplicate id"),
    ([{"id": "a", "parentCustomerId": "ghost"}], 'parent "ghost" does not exist'),
    ([{"id": "a", "parentCustomerId": "b"}, {"id": "b", "parentCustomerId": "a"}],
     'customers[0] (id "a").parentCustomerId: parent chain forms a cycle: "a" -> "b" -> "a"'),
    ([{"id": "a", "parentCustomerId": "a"}], 'cycle: "a" -> "a"'),
    # named from the member first in the input, whichever the walk met first
    ([{"id": "d", "parentCustomerId": "b"}, {"id": "c", "parentCustomerId": "b"}, {"id": "b", "parentCustomerId": "c"}],
     'customers[1] (id "c").parentCustomerId: parent chain forms a cycle: "c" -> "b" -> "c"'),
    ([{"id": 'say "hi"', "parentCustomerId": 'say "hi"'}], r'cycle: "say \"hi\"" -> "say \"hi\""'),
])
def test_tree_errors_name_the_chain(records, fragment):
    with pytest.raises(TreeError) as caught:
        Engine.from_records(records)
    assert fragment in str(caught.value)


def test_unknown_customer(demo):
    with pytest.raises(UnknownCustomerError, match=r'unknown customer "nobody" \(the tree has 12 customers'):
        demo.state_at("nobody", 0)


def test_an_id_that_is_not_a_string_is_named_with_its_type():
    """A record's numeric id is read as its text; state_at(42) said 'unknown customer "42"' of a tree holding "42"."""
    engine = Engine.from_records([{"id": 42}])
    assert engine.state_at("42", 0).customer_id == "42"
    with pytest.raises(UnknownCustomerError, match=r'^unknown customer 42 \(an id is a string, not int; pass "42"\)$'):
        engine.state_at(42, 0)
    with pytest.raises(UnknownCustomerError, match=r"^unknown customer None \(an id is a string, not NoneType\)$"):
        engine.next_change(None, 0)


def test_deep_chain_without_recursion():
    depth = 100_000
    records = [{"id": "n0", "schedule": {"timeZoneId": "Europe/London", "rules": [
        {"simpleRuleType": "Always", "state": "Open"}]}}]
    records += [{"id": f"n{i}", "parentCustomerId": f"n{i - 1}", "schedule": {"inherit": True}}
                for i in range(1, depth)]
    engine = Engine.from_records(records, validate=False)
    result = engine.state_at(f"n{depth - 1}", 0)
    assert (result.state, result.owner_id, result.time_zone) == ("Open", "n0", "Europe/London")


def test_deep_customer_state_chain():
    """Each level follows its parent's state: evaluated without recursion."""
    depth = 3_000
    records = [{"id": "n0", "schedule": {"timeZoneId": "UTC", "rules": [{"simpleRuleType": "Always", "state": "Holiday"}]}}]
    records += [{"id": f"n{i}", "parentCustomerId": f"n{i - 1}", "schedule": {"timeZoneId": "UTC", "rules": [
        {"simpleRuleType": "CustomerState", "customerState": "holiday ", "state": "Holiday"}]}}
        for i in range(1, depth)]
    for mode in ("reference", "compiled"):
        engine = Engine.from_records(records, mode=mode)
        assert engine.state_at(f"n{depth - 1}", 0).state == "Holiday"


# ---------------------------------------------------------------- explain

def test_explain_holiday(demo):
    text = str(demo.explain("acme", "2027-11-25T10:00:00-05:00"))
    assert "Thanksgiving Day" in text and "matched" in text and "Holiday" in text
    assert "America/New_York" in text and "Thu 2027-11-25 10:00:00" in text


def test_explain_inherited_and_customer_state(demo):
    explanation = demo.explain("acme-support-tier2", "2027-11-25T10:00:00-05:00")
    assert explanation.chain == ("acme-support-tier2", "acme-support")
    assert explanation.result.state == "Holiday"
    assert any("parent state read from acme" in n for n in explanation.notes)


def test_explain_condition_without_evaluator(demo):
    text = str(demo.explain("acme-sydney", "2027-07-05T10:00:00+10:00"))
    assert "no condition evaluator configured" in text


# ---------------------------------------------------------------- properties

@pytest.mark.parametrize("mode", ["reference", "compiled"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=customer_trees(max_customers=4), start=instants(), hours=st.integers(1, 24 * 20))
def test_timeline_tiles_and_agrees_with_state_at(mode, records, start, hours):
    engine = Engine.from_records(records, mode=mode)
    end = start + timedelta(hours=hours)
    customer = records[-1]["id"]
    segments = engine.timeline(customer, start, end)
    assert segments[0].start == start and segments[-1].end == end
    for a, b in zip(segments, segments[1:]):
        assert a.end == b.start
        assert (a.state, a.reason, a.rule_id) != (b.state, b.reason, b.rule_id) or a.rule_id is None
    for s in segments:
        r = engine.state_at(customer, s.start)
        assert (r.state, r.reason, r.rule_id) == (s.state, s.reason, s.rule_id)
        before_end = engine.state_at(customer, s.end - timedelta(microseconds=1))
        assert before_end.state == s.state
        if s.end < end:
            assert r.until == s.end


@pytest.mark.parametrize("mode", ["reference", "compiled"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=customer_trees(max_customers=4), at=instants())
def test_next_change_agrees_with_state_at(mode, records, at):
    engine = Engine.from_records(records, mode=mode)
    customer = records[-1]["id"]
    state = engine.state_at(customer, at).state
    change = engine.next_change(customer, at)
    if change is None:
        return
    assert change.at > at
    assert engine.state_at(customer, change.at).state == change.state != state
    assert engine.state_at(customer, change.at - timedelta(microseconds=1)).state == state


@settings(max_examples=30, deadline=None)
@given(records=customer_trees(max_customers=5), at=instants(), seed=st.integers(0, 2**32))
def test_record_order_does_not_matter(records, at, seed):
    shuffled = records[:]
    random.Random(seed).shuffle(shuffled)
    a, b = Engine.from_records(records), Engine.from_records(shuffled)
    for record in records:
        assert a.state_at(record["id"], at) == b.state_at(record["id"], at)


def test_lazy_load_parses_only_what_a_query_reads(tmp_path):
    """A one-shot query on a large file validates only the records it reads;
    `validate` (the default) checks them all."""
    import json

    records = [{"id": "root", "schedule": {"timeZoneId": "UTC", "rules": [{"simpleRuleType": "Always", "state": "Open"}]}}]
    records += [{"id": f"c{i}", "parentCustomerId": "root", "schedule": {"inherit": True}} for i in range(500)]
    records.append({"id": "broken", "parentCustomerId": "root",
                    "schedule": {"rules": [{"startTime": "25:00", "frequency": "Daily"}]}})
    path = tmp_path / "tree.json"
    path.write_text(json.dumps(records))
    engine = Engine.from_file(path, validate=False)
    assert engine.state_at("c7", 0).state == "Open"
    assert engine.tree._models == {}  # no whole record is parsed for a state...
    assert sorted(engine.tree._schedule_models) == ["c7", "root"]  # ...only the schedules it reads
    with pytest.raises(ValueError, match=r'customers\[501\] \(id "broken"\)\.schedule\.rules\[0\]'):
        engine.state_at("broken", 0)
    with pytest.raises(ValueError, match="25:00"):
        Engine.from_file(path)


def test_a_lazily_read_record_answers_from_its_schedule_alone(tmp_path):
    """With validate=False a state query parses only the schedule: a bad
    field elsewhere is reported when the whole record is read, not before."""
    import json

    record = {"id": "solo", "billingSettings": {"base": {"baseCost": "a lot"}},
              "schedule": {"timeZoneId": "UTC", "rules": [{"simpleRuleType": "Always", "state": "Open"}]}}
    path = tmp_path / "tree.jsonl"
    path.write_text(json.dumps(record) + "\n")
    engine = Engine.from_file(path, validate=False)
    assert engine.state_at("solo", 0).state == "Open"
    with pytest.raises(RecordError, match=r"billingSettings\.base\.baseCost"):
        engine.tree.customer("solo")
    with pytest.raises(RecordError, match="baseCost"):
        Engine.from_file(path)


def test_lazily_read_customers_keep_a_bounded_number_of_parsed_models(tmp_path, monkeypatch):
    """A process that touches every customer of a large JSON Lines tree keeps
    MODEL_CACHE parsed models, not one per customer; answers and records are
    unchanged."""
    from schedengine import tree as tree_module
    from schedengine.wire import dump_customers, load_customers

    monkeypatch.setattr(tree_module, "MODEL_CACHE", 3)
    customers, _ = load_customers(DEMO)
    path = tmp_path / "demo.jsonl"
    path.write_text(dump_customers(customers, "jsonl"))
    lazy, eager = Engine.from_file(path, validate=False), Engine.from_file(DEMO)
    instants = [datetime(2027, 11, 25, h, tzinfo=UTC) for h in (3, 15, 22)]
    for _ in range(2):  # the second round re-parses what the first evicted
        for customer in customers:
            for at in instants:
                assert lazy.state_at(customer.id, at) == eager.state_at(customer.id, at)
            assert lazy.explain(customer.id, instants[1]) == eager.explain(customer.id, instants[1])
            assert len(lazy.tree._models) <= 3 and len(lazy.tree._schedule_models) <= 3
    assert lazy.tree.records() == customers
    assert len(lazy.tree._models) <= 3


# ------------------------------------------------- validate: every problem

def test_validate_records_on_a_good_tree_gives_the_strict_checks_warnings():
    from schedengine.tree import validate_records

    report = validate_records(json.loads(DEMO.read_text()))
    assert report.ok and report.customers == 12
    assert [(f.path, f.message) for f in report.warnings] == [
        (path, f"{path}: {message}") for path, message in Engine.from_file(DEMO).validate()]


@pytest.mark.parametrize("cache", [1, 10_000])
def test_validate_records_blames_an_inherited_problem_on_its_record_once(cache, monkeypatch):
    """Children whose zone comes from a bad ancestor do not repeat its
    error; a child under a record that does not parse is not blamed for it.
    Either way with a model cache too small to keep anything."""
    from schedengine import tree as tree_module
    from schedengine.tree import validate_records

    monkeypatch.setattr(tree_module, "MODEL_CACHE", cache)
    always = {"simpleRuleType": "Always", "state": "Open"}
    records = [{"id": f"kid{i}", "parentCustomerId": "zoneless", "schedule": {"rules": [always]}} for i in range(3)]
    records += [{"id": "zoneless", "parentCustomerId": "mars", "schedule": {"inherit": True}},
                {"id": "mars", "schedule": {"timeZoneId": "Mars/Base", "inherit": True, "rules": [always]}},
                {"id": "enum", "schedule": {"rules": [{"frequency": "Fortnightly"}]}},
                {"id": "below-enum", "parentCustomerId": "enum", "schedule": {"rules": [always]}}]
    report = validate_records(records)
    assert [(f.position, f.message.split(":")[0]) for f in report.errors] == [
        (4, 'customers[4] (id "mars").schedule.timeZoneId'),
        (5, 'customers[5] (id "enum").schedule.rules[0].frequency')]
    assert isinstance(report.errors[0].error, RecordError) and report.errors[0].error.path.endswith("timeZoneId")
    assert report.warnings == ()  # a customer whose check stops at an error gets no warnings


# ------------------------------------------- input the tree and engine refuse

@pytest.mark.parametrize("validate", [True, False])
def test_keys_differing_only_in_case_read_the_same_loaded_either_way(tmp_path, validate):
    """The last of `schedule`/`Schedule` wins, as in the parsed model: a lazily
    read tree (the CLI's) used to take the first, and answer differently."""
    import json

    records = [{"id": "p1", "schedule": {"rules": [{"simpleRuleType": "Always", "state": "One"}]}},
               {"id": "p2", "schedule": {"rules": [{"simpleRuleType": "Always", "state": "Two"}]}},
               {"id": "c", "parentCustomerId": "p1", "ParentCustomerId": "p2",
                "schedule": {"rules": [{"simpleRuleType": "Always", "state": "Open"}]},
                "Schedule": {"inherit": True}},
               {"ID": "x", "id": "y"}]
    path = tmp_path / "tree.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    engine = Engine.from_file(path, validate=validate)
    assert engine.state_at("c", 0).state == "Two"
    assert engine.tree.parent_id("c") == "p2"
    assert engine.tree.ids()[-1] == "y" == engine.tree.customer("y").id


@pytest.mark.parametrize("record", [{"id": ""}, {"id": "  "}, {"name": "no id"}, {"id": None}, {"id": True}])
@pytest.mark.parametrize("validate", [True, False])
def test_a_customer_needs_a_real_id(record, validate):
    with pytest.raises(RecordError, match=r"customers\[1\].*id"):
        Engine.from_records([{"id": "ok"}, record], validate=validate)


def test_a_numeric_id_is_read_as_text():
    assert Engine.from_records([{"id": 5}, {"id": "6", "parentCustomerId": 5}]).tree.parent_id("6") == "5"


@pytest.mark.parametrize("customer_id", [["acme"], {}, None, 5])
def test_an_id_that_is_not_in_the_tree_is_unknown_whatever_its_type(demo, customer_id):
    demo.state_at("acme", 1.8e9)  # the compiled hot path is warm
    for query in (lambda: demo.state_at(customer_id, 1.8e9), lambda: demo.state_at(customer_id, "2027-07-05 10:00"),
                  lambda: demo.next_change(customer_id, 1.8e9), lambda: demo.timeline(customer_id, 1.8e9, 1.9e9),
                  lambda: demo.state_many(customer_id, [1.8e9]), lambda: demo.explain(customer_id, 1.8e9)):
        with pytest.raises(UnknownCustomerError):
            query()


def test_a_line_nested_too_deeply_is_a_wire_format_error(tmp_path):
    path = tmp_path / "deep.jsonl"
    path.write_text('{"id": "a"}\n{"id": "b", "data": ' + "[" * 100_000 + "]" * 100_000 + "}\n")
    with pytest.raises(WireFormatError, match=r"deep.jsonl: line 2: not readable JSON: .* nested too deeply"):
        Engine.from_file(path, validate=False)  # a lazy load decodes each line once, for its id


@pytest.mark.parametrize("validate", [True, False])
def test_a_broken_json_lines_record_names_the_file_line_either_way(tmp_path, validate):
    """The query verbs load lazily (validate=False): a line that did not
    decode was reported as `customers[1]: not valid JSON: ... line 1
    column 8`, with no file and the record's line, not the file's. Blank
    lines make the two differ."""
    path = tmp_path / "broken.jsonl"
    path.write_text('{"id": "a"}\n\n   \n{"id": broken}\n{"id": "c"}\n')
    with pytest.raises(WireFormatError) as info:
        Engine.from_file(path, validate=validate)
    assert str(info.value) == f"{path}: line 4, column 8: not valid JSON: Expecting value"
    assert (info.value.line, info.value.column) == (4, 8)
    assert isinstance(info.value.__cause__, ValueError)


@pytest.mark.parametrize("mode", ["reference", "compiled"])
def test_a_timeline_stops_at_max_segments(mode, monkeypatch):
    """A rule with a 30-second window every minute makes a million segments a
    year: past MAX_SEGMENTS a timeline is refused, not built in memory."""
    from schedengine import results

    engine = Engine.from_records([{"id": "tick", "schedule": {"timeZoneId": "UTC", "rules": [
        {"simpleRuleType": "Time", "frequency": "Minutely", "startDate": "2027-01-01",
         "startTime": "00:00:00", "endTime": "00:00:30", "state": "On"}]}}], mode=mode)
    monkeypatch.setattr(results, "MAX_SEGMENTS", 12)  # the reference takes ~0.1 s a segment here
    assert len(engine.timeline("tick", "2027-07-05T00:00Z", "2027-07-05T00:06Z")) == 12
    with pytest.raises(RecordError, match="more than 12 segments"):
        engine.timeline("tick", "2027-07-05T00:00Z", "2027-07-05T00:06:31Z")


@pytest.mark.parametrize("option, fragment", [
    ({"priority": "biggest-first"}, "priority 'biggest-first'"),
    ({"fallback_state": None}, "fallback_state None is not a state name"),
    ({"force_closed_state": "  "}, "force_closed_state '  '"),
    ({"default_time_zone": "Mars/Olympus"}, 'default_time_zone: unknown time zone "Mars/Olympus"'),
    ({"condition_evaluator": "yes"}, "condition_evaluator 'yes' is not callable"),
])
def test_a_bad_policy_option_is_the_operators_error(option, fragment):
    """Checked when the Policy is made: a bad default zone used to surface as
    an error in the first record without a zone of its own."""
    from schedengine import ConfigurationError

    with pytest.raises(ConfigurationError, match=fragment):
        Policy(**option)


@pytest.mark.parametrize("options, fragment", [
    ({"max_chunks": -5}, "max_chunks -5 is not a whole number"),
    ({"max_chunks": 0}, "max_chunks 0 is not"),
    ({"max_chunks": "x"}, "max_chunks 'x' is not"),
    ({"max_chunks": None}, "max_chunks None is not"),
    ({"max_chunks": True}, "max_chunks True is not"),
    ({"mode": "fast"}, "mode 'fast' is not"),
])
def test_a_bad_engine_option_is_refused_before_the_load(options, fragment, tmp_path):
    """max_chunks was never checked: an IndexError or TypeError at the first query."""
    from schedengine import ConfigurationError

    for build in (lambda: Engine.from_file(tmp_path / "not-read.json", **options),
                  lambda: Engine.from_records([{"id": "a"}], **options)):
        with pytest.raises(ConfigurationError, match=fragment):
            build()


def test_cli_names_a_bad_policy_option_not_the_file(capsys):
    from schedengine.cli import main

    assert main(["state-at", "acme", "--customers", str(DEMO), "--policy-default-time-zone", "Mars/Olympus"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --policy-default-time-zone: ") and "customers[" not in err


def test_a_bad_inherited_zone_is_blamed_on_the_customer_that_names_it():
    records = [{"id": "p", "schedule": {"timeZoneId": "Mars/Olympus"}},
               {"id": "c", "parentCustomerId": "p",
                "schedule": {"rules": [{"simpleRuleType": "Always", "state": "Open"}]}}]
    engine = Engine.from_records(records, validate=False)
    with pytest.raises(RecordError, match=r'^customers\[0\] \(id "p"\)\.schedule\.timeZoneId: unknown time zone'):
        engine.state_at("c", 0)


@pytest.mark.parametrize("text", ["20000101120", "1111111111111", "2027"])
def test_an_all_digit_string_is_iso_only_as_yyyymmdd(demo, text):
    """fromisoformat reads any ninth character as the date-time separator: 1111111111111 was 1111-11-11 11:11."""
    with pytest.raises(RecordError, match="is not an ISO 8601 instant"):
        demo.state_at("acme", text)
    assert demo.state_at("acme", "20270706").at == datetime(2027, 7, 6, 4, tzinfo=timezone.utc)


def test_effective_settings_come_from_the_nearest_override_or_the_root():
    """SPEC §4: BillingSettings and AppSettings inherit through their Override* flags."""
    def billing(cost):
        return {"base": {"baseCost": cost}}
    records = [
        {"id": "root", "billingSettings": billing(1), "appSettings": {"pageTitle": "Root"}},
        {"id": "mid", "parentCustomerId": "root", "overrideBillingSettings": True, "billingSettings": billing(2),
         "appSettings": {"pageTitle": "Mid, not overriding"}},
        {"id": "leaf", "parentCustomerId": "mid", "billingSettings": billing(3)},
    ]
    engine = Engine.from_records(records)
    assert [engine.effective_billing_settings(c).base.base_cost for c in ("root", "mid", "leaf")] == [1, 2, 2]
    assert [engine.effective_app_settings(c).page_title for c in ("root", "mid", "leaf")] == ["Root"] * 3
    engine.effective_billing_settings("leaf").base.base_cost = 99  # a copy
    assert engine.effective_billing_settings("leaf").base.base_cost == 2
    with pytest.raises(UnknownCustomerError):
        engine.effective_app_settings("nobody")
