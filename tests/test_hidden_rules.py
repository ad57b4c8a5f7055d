"""A Time rule hidden by an earlier one: every window of it lies inside a
window of an earlier unconditional rule, so it never decides anything.

An all-day Monthly "Lunch" rule on the 25th that hides a Monthly "Business
Hours" rule on the same day, with "Lunch" as the default state, never
changes state; next_change walked every edge to the horizon to learn that
(3.6 s compiled, 4.3 s reference). RuleWindows.within proves the hiding
from the two definitions; CustomerTree.possible_states leaves hidden rules
out, and validate warns about them."""

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, event, given, settings, strategies as st

from schedengine import Engine
from schedengine.recurrence import WORK, rule_windows
from schedengine.times import HORIZON
from schedengine.tree import normalise_state

UTC = timezone.utc
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def rule(rule_id, state, priority, **fields):
    return {"id": rule_id, "simpleRuleType": "Time", "state": state, "priority": priority,
            "startDate": "2024-01-25", **fields}


MONTHLY_25TH = {"frequency": "Monthly", "byMonthDay": [25]}
LUNCH_DAY = [rule("lunch", "Lunch", 2, isAllDay=True, **MONTHLY_25TH),
             rule("bh", "Business Hours", 1, startTime="09:00", endTime="17:00", **MONTHLY_25TH)]


def owner(rules, default="Lunch", zone="Europe/London"):
    return [{"id": "c", "schedule": {"timeZoneId": zone, "defaultState": default, "rules": rules}},
            {"id": "kid", "parentCustomerId": "c", "schedule": {"inherit": True}}]


@pytest.mark.parametrize("mode", ["compiled", "reference"])
def test_a_hidden_rule_does_not_make_next_change_walk_to_the_horizon(mode):
    engine = Engine.from_records(owner(LUNCH_DAY), mode=mode)
    WORK.items = 0
    for cid in ("c", "kid"):
        assert engine.next_change(cid, "2027-01-01T00:00:00Z") is None
    assert WORK.items < 1_000  # (before: every 25th to 2400)
    assert engine.state_at("c", "2027-01-25T10:00:00Z").rule_id == "lunch"


def test_validate_names_the_hidden_rule_and_what_hides_it():
    warnings = Engine.from_records(owner(LUNCH_DAY)).validate()
    assert ('customers[0] (id "c").schedule.rules[1] (id "bh")',
            'never decides: each of its windows lies inside a window of rules[0] (id "lunch"), '
            "which is evaluated first and matches there") in warnings


def test_a_conditional_rule_hides_nothing():
    rules = [{**LUNCH_DAY[0], "condition": "queue.depth > 10"}, LUNCH_DAY[1]]
    engine = Engine.from_records(owner(rules))
    assert not any("never decides" in message for _, message in engine.validate())
    change = engine.next_change("c", "2027-01-01T00:00:00Z")
    assert change is not None and change.state == "Business Hours"


# (fields of the earlier rule, fields of the later one, whether the later one is hidden)
PAIRS = {
    "the same rule twice": ({}, {}, True),
    "all day around business hours": ({"isAllDay": True}, {}, True),
    "an earlier StartDate, Interval 1": ({"startDate": "2020-03-25"}, {}, True),
    "a later UntilDate": ({"untilDate": "2030-01-01"}, {"untilDate": "2029-12-31"}, True),
    "an UntilDate only on the later rule": ({}, {"untilDate": "2029-12-31"}, True),
    "the same Count and StartDate": ({"count": 12, "isAllDay": True}, {"count": 12}, True),
    "the same Interval 2 and StartDate": ({"interval": 2, "isAllDay": True}, {"interval": 2}, True),
    "a Count that runs longer": ({"count": 12, "isAllDay": True}, {"count": 13}, False),
    "a window that starts later": ({"startTime": "10:00"}, {}, False),
    "a window that ends earlier": ({"endTime": "16:59"}, {}, False),
    "a later StartDate": ({"startDate": "2024-02-25"}, {}, False),
    "an earlier UntilDate": ({"untilDate": "2029-12-31"}, {"untilDate": "2030-01-01"}, False),
    # an UntilDate on the 25th at 12:00 keeps the later rule's 09:00 occurrence, not the earlier's 13:00
    "an UntilDate with a time between the two starts": (
        {"startTime": "13:00", "endTime": "18:00", "untilDate": "2029-01-25T12:00:00"},
        {"startTime": "13:00", "endTime": "14:00", "untilDate": "2029-01-25T12:00:00"}, True),
    "an earlier StartDate with Interval 2 (out of phase)": ({"startDate": "2023-12-25", "interval": 2},
                                                            {"interval": 2}, False),
    "an earlier StartDate with a Count": ({"startDate": "2020-03-25", "count": 200}, {"count": 200}, False),
    "another day of the month": ({"byMonthDay": [24]}, {}, False),
    "a time filter": ({"byHour": [9]}, {"byHour": [9]}, False),
}


@pytest.mark.parametrize("case", list(PAIRS))
def test_which_rules_hide_which(case):
    earlier, later, hidden = PAIRS[case]
    base = {"frequency": "Monthly", "byMonthDay": [25], "startDate": "2024-01-25", "startTime": "09:00",
            "endTime": "17:00", "simpleRuleType": "Time"}
    a, b = rule_windows({**base, **earlier}, "UTC"), rule_windows({**base, **later}, "UTC")
    assert b.within(a) is hidden
    if hidden:
        _assert_inside(b, a, datetime(2024, 1, 1), datetime(2034, 1, 1))


def _assert_inside(inner, outer, start, end):
    """Every window of `inner` in [start, end) lies inside the union of `outer`'s."""
    for low, high in inner.windows(start, end):
        assert any(a <= low and high <= b for a, b in outer.windows(low - timedelta(days=2), high)), (low, high)


@st.composite
def same_day_rules(draw):
    """Two Time rules that fire on days of one pattern (drawn), each with its own window,
    StartDate, Interval, and end; about half of them drawn so that the later one is hidden."""
    frequency = draw(st.sampled_from(["Daily", "Weekly", "Monthly", "Yearly"]))
    pattern = {"simpleRuleType": "Time", "frequency": frequency}
    if frequency in ("Daily", "Weekly") and draw(st.booleans()):
        pattern["byDay"] = [{"dayOfWeek": d} for d in draw(st.sets(st.sampled_from(WEEKDAYS), min_size=1, max_size=4))]
    if frequency == "Monthly":
        if draw(st.booleans()):
            pattern["byDay"] = [{"dayOfWeek": draw(st.sampled_from(WEEKDAYS)), "offset": draw(st.sampled_from([1, 2, -1]))}]
        else:
            pattern["byMonthDay"] = draw(st.sets(st.sampled_from([1, 15, 28, 29, 31, -1]), min_size=1, max_size=2))
    if frequency == "Yearly":
        pattern["byMonth"] = [draw(st.integers(1, 12))]
        if draw(st.booleans()):
            pattern["byDay"] = [{"dayOfWeek": draw(st.sampled_from(WEEKDAYS)), "offset": draw(st.sampled_from([1, -1]))}]
    if {"byDay", "byMonthDay", "byMonth"} & set(pattern) and draw(st.integers(0, 3)) == 0:
        pattern["bySetPosition"] = [draw(st.sampled_from([1, -1]))]
    interval = draw(st.integers(1, 3))
    count = draw(st.sampled_from([None, None, 3, 40]))
    hide = draw(st.booleans())

    def one(earlier):
        fields = dict(pattern, interval=interval if hide else draw(st.integers(1, 3)))
        day = 0 if hide and not earlier else draw(st.integers(0, 70))
        fields["startDate"] = (datetime(2024, 1, 1) + timedelta(days=day)).date().isoformat()
        if draw(st.integers(0, 4)) == 0:
            fields["isAllDay"] = True
        else:
            start = draw(st.integers(0, 95)) * 15
            length = draw(st.integers(1, 96)) * 15
            fields["startTime"] = f"{start // 60:02d}:{start % 60:02d}"
            fields["endTime"] = f"{(start + length) // 60 % 24:02d}:{(start + length) % 60:02d}"
        if count and (hide or draw(st.booleans())):
            fields["count"] = count
        elif draw(st.integers(0, 3)) == 0:
            fields["untilDate"] = (datetime(2025, 1, 1) + timedelta(days=draw(st.integers(0, 700)))).isoformat()[
                : draw(st.sampled_from([10, 19]))]
        return fields

    first = one(True)
    second = one(False)
    if hide:  # same start, window inside the first's: hidden unless the ends disagree
        second["startDate"] = first["startDate"]
        second.pop("isAllDay", None)
        if first.get("isAllDay"):
            second["startTime"], second["endTime"] = "09:00", "17:00"
        else:
            second["startTime"] = second["endTime"] = first["startTime"]
            second["endTime"] = first["endTime"]
    return first, second


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pair=same_day_rules(), zone=st.sampled_from(["UTC", "America/New_York", "Australia/Lord_Howe"]))
def test_a_rule_proved_hidden_has_every_window_inside_the_other(pair, zone):
    earlier, later = (rule_windows(fields, zone) for fields in pair)
    hidden = later.within(earlier)
    event(f"hidden: {hidden}")
    if hidden:
        _assert_inside(later, earlier, datetime(2023, 12, 1), datetime(2028, 1, 1))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pair=same_day_rules(), states=st.lists(st.sampled_from(["Open", "open ", "Closed"]), min_size=3, max_size=3),
       day=st.integers(0, 700), zone=st.sampled_from(["UTC", "America/New_York", "Australia/Lord_Howe"]))
def test_possible_states_hold_every_state_the_timeline_reaches(pair, states, day, zone):
    # The tree-level proof: every state reached over 400 days (a Yearly rule's every day
    # and more) from `at` is among the possible ones; the reference timeline does not use it.
    rules = [{**fields, "state": state, "priority": 2 - i} for i, (fields, state) in enumerate(zip(pair, states))]
    engine = Engine.from_records(owner(rules, default=states[2], zone=zone), mode="reference")
    at = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=day)
    possible = engine.tree.possible_states("c", at)
    end = min(at + timedelta(days=400), possible.until or HORIZON)
    reached = {normalise_state(s.state) for s in engine.timeline("c", at, end)}
    assert reached <= possible.states, (reached, possible)


# ------------------------------------------------------------ hidden by a rule that repeats

EVERY_TEN_MINUTES = rule("open", "Open", 20, frequency="Minutely", interval=10, startTime="00:00", endTime="00:05",
                         startDate="2020-01-01")
MONTHLY_BLIP = rule("blip", "Other", 10, frequency="Monthly", byMonthDay=[25], startTime="00:00", endTime="00:02",
                    startDate="2020-01-25")


@pytest.mark.parametrize("mode", ["compiled", "reference"])
def test_a_rule_hidden_by_one_that_repeats_does_not_make_next_change_walk(mode):
    """A probe's: "Open" every ten minutes and a default "open" never change state; a Monthly rule
    inside the first window of the 25th kept "Other" possible, and next_change walked an edge
    every five minutes to the horizon: over 100 s, and 1.2 GB of chunks."""
    engine = Engine.from_records(owner([EVERY_TEN_MINUTES, MONTHLY_BLIP], default="open"), mode=mode)
    WORK.items = 0
    assert engine.next_change("c", "2027-07-06T12:00:00Z") is None
    assert WORK.items < 20_000
    assert ('customers[0] (id "c").schedule.rules[1] (id "blip")',
            'never decides: each of its windows lies inside a window of rules[0] (id "open"), '
            "which is evaluated first and matches there") in engine.validate()


def test_a_rule_hidden_only_from_some_time_on_is_not_warned_about():
    early = {**MONTHLY_BLIP, "startDate": "2019-12-25"}  # its first window, before the other rule starts, decides
    engine = Engine.from_records(owner([EVERY_TEN_MINUTES, early], default="open"))
    assert not any("never decides" in message for _, message in engine.validate())
    assert engine.state_at("c", "2019-12-25T00:01:00Z").state == "Other"
    assert engine.next_change("c", "2027-07-06T12:00:00Z") is None


@st.composite
def repeating_and_daily(draw):
    """A rule that repeats (Daily, Weekly, Hourly, Minutely; maybe on some weekdays), and a
    once-a-day rule (Daily to Yearly), with windows drawn near each other's."""
    frequency = draw(st.sampled_from(["Daily", "Weekly", "Hourly", "Minutely"]))
    start = draw(st.integers(0, 23 * 4)) * 15
    length = draw(st.integers(1, 24 * 4)) * 15
    repeating = {"simpleRuleType": "Time", "frequency": frequency, "startDate": "2024-01-0" + str(draw(st.integers(1, 9))),
                 "startTime": f"{start // 60:02d}:{start % 60:02d}",
                 "endTime": f"{(start + length) // 60 % 24:02d}:{(start + length) % 60:02d}",
                 "interval": draw(st.sampled_from([1, 1, 2, 3])) * (15 if frequency == "Minutely" else 1)}
    if draw(st.booleans()):
        repeating["byDay"] = [{"dayOfWeek": d} for d in draw(st.sets(st.sampled_from(WEEKDAYS), min_size=4, max_size=7))]
    inner = draw(st.integers(0, 24 * 4)) * 15
    daily = {"simpleRuleType": "Time", "frequency": draw(st.sampled_from(["Daily", "Weekly", "Monthly", "Yearly"])),
             "startDate": f"2024-0{draw(st.integers(1, 9))}-1{draw(st.integers(0, 9))}",
             "startTime": f"{min(inner, 1425) // 60:02d}:{min(inner, 1425) % 60:02d}",
             "endTime": f"{(min(inner, 1425) + draw(st.integers(1, 8)) * 15) // 60 % 24:02d}:"
                        f"{(min(inner, 1425) + draw(st.integers(1, 8)) * 15) % 60:02d}"}
    return repeating, daily


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pair=repeating_and_daily(), zone=st.sampled_from(["UTC", "America/New_York", "Australia/Lord_Howe"]))
def test_a_rule_proved_inside_a_repeating_one_has_every_later_window_inside_it(pair, zone):
    try:
        repeating, daily = (rule_windows(fields, zone) for fields in pair)
    except Exception:  # a window longer than the step, and such: refused, nothing to compare
        return
    since = daily.inside_steady(repeating)
    event(f"hidden: {since is not None}")
    if since is not None:
        _assert_inside(daily, repeating, max(since, datetime(2024, 1, 1)), datetime(2027, 6, 1))
