"""Work of the evaluators, counted (never timed): the work of a first
compiled query does not grow with the age of StartDate, identical
schedules share one compiled form, and a rule that can decide nothing is
not walked."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from schedengine import Engine
from schedengine.recurrence import WORK

UTC = timezone.utc
WEEKDAYS = [{"dayOfWeek": d} for d in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")]


def business_schedule(start_year: int) -> dict:
    """Eight rules: holidays, lunch, weekday and Saturday hours, all starting in `start_year`."""
    def rule(**fields):
        return {"simpleRuleType": "Time", "startDate": f"{start_year}-01-02", **fields}
    return {"timeZoneId": "America/New_York", "defaultState": "After Hours", "rules": [
        rule(state="Holiday", priority=100, frequency="Yearly", isAllDay=True, byMonth=[1], byMonthDay=[1]),
        rule(state="Holiday", priority=100, frequency="Yearly", isAllDay=True, byMonth=[7], byMonthDay=[4]),
        rule(state="Holiday", priority=100, frequency="Yearly", isAllDay=True, byMonth=[11],
             byDay=[{"dayOfWeek": "Thursday", "offset": 4}]),
        rule(state="Holiday", priority=100, frequency="Yearly", isAllDay=True, byMonth=[12], byMonthDay=[25]),
        rule(state="Lunch", priority=50, frequency="Weekly", byDay=WEEKDAYS, startTime="12:00", endTime="13:00"),
        rule(state="Business Hours", priority=10, frequency="Weekly", byDay=WEEKDAYS, startTime="09:00",
             endTime="17:00"),
        rule(state="Business Hours", priority=10, frequency="Weekly", interval=2,
             byDay=[{"dayOfWeek": "Saturday"}], startTime="10:00", endTime="14:00"),
        rule(state="Night Desk", priority=20, frequency="Daily", startTime="22:00", endTime="06:00"),
    ]}


def first_query_work(start_year: int) -> int:
    engine = Engine.from_records([{"id": "c", "schedule": business_schedule(start_year)}])
    engine.tree.schedule("c")  # preparing rules (and their first occurrence) is load work
    for p in engine.tree.schedule("c").rules:
        p.windows.span()
    WORK.items = 0
    engine.state_at("c", datetime(2027, 3, 10, 15, 0, tzinfo=UTC))
    return WORK.items


def test_first_query_work_does_not_grow_with_start_date_age():
    recent, old = first_query_work(2026), first_query_work(1995)
    assert recent > 0
    assert old <= recent * 1.2  # replaying from 1995 would pull thousands more occurrences


def test_identical_schedules_share_one_compiled_form():
    records = [{"id": f"c{i}", "schedule": business_schedule(2020)} for i in range(200)]
    engine = Engine.from_records(records)
    at = datetime(2027, 3, 10, 15, 0, tzinfo=UTC)
    engine.state_at("c0", at)
    store = engine._store
    compiled_after_first = store.chunks_compiled
    for i in range(1, 200):
        engine.state_at(f"c{i}", at)
    assert store.chunks_compiled == compiled_after_first
    assert len(store.forms) == 1


def test_chunk_cache_is_bounded():
    engine = Engine.from_records([{"id": "c", "schedule": business_schedule(2020)}])
    engine._store.max_chunks = 10
    for year in range(1990, 2060):
        engine.state_at("c", datetime(year, 6, 1, tzinfo=UTC))
    assert sum(len(form.chunks) for form in engine._store.forms.values()) <= 10
    assert engine.state_at("c", datetime(2027, 6, 1, 14, tzinfo=UTC)).state == "Business Hours"  # recompiled


def test_chunk_cache_is_bounded_by_pieces_too():
    """A dense schedule has thousands of pieces a chunk: next_change walking such chunks to the
    horizon (a probe's find) filled gigabytes under a bound that counted chunks only."""
    every_ten_minutes = {"timeZoneId": "UTC", "defaultState": "Closed", "rules": [
        {"simpleRuleType": "Time", "frequency": "Minutely", "interval": 10, "startDate": "2020-01-01",
         "startTime": "00:00", "endTime": "00:05", "state": "Open"}]}
    engine = Engine.from_records([{"id": "c", "schedule": every_ten_minutes}], max_chunks=50)
    store = engine._store
    for week in range(200):
        engine.state_at("c", datetime(2027, 1, 1, tzinfo=UTC) + timedelta(weeks=week))
    pieces_a_chunk = 2 * 6 * 24 * 6  # two a window, six windows an hour, about six days
    assert store.max_pieces == 50 * 20 < pieces_a_chunk + 50 * 20
    assert store.pieces == sum(len(c.times) for f in store.forms.values() for c in f.chunks.values())
    assert store.pieces <= store.max_pieces + pieces_a_chunk  # one chunk of them (before: 200 chunks)
    assert len(store._memberships) == 0  # each range holds hundreds of windows: not remembered


def test_forms_that_share_a_rule_compute_its_windows_once_per_chunk():
    """Two customers whose schedules differ in one holiday: the second
    customer's first query computes only that holiday's windows; the seven
    rules they share come from the store's memo."""
    own, other = business_schedule(2026), business_schedule(2026)
    other["rules"][0] = {**other["rules"][0], "byMonth": [2], "byMonthDay": [2]}
    records = [{"id": "a", "schedule": own}, {"id": "b", "schedule": other}]
    engine, reference = Engine.from_records(records), Engine.from_records(records, mode="reference")
    store = engine._store
    at = datetime(2027, 2, 2, 15, tzinfo=UTC)
    assert engine.state_at("a", at) == reference.state_at("a", at)
    first = store.windows_computed
    assert first == 8 and store.chunks_compiled == 1
    assert engine.state_at("b", at) == reference.state_at("b", at)  # a Holiday: its own rule decides
    assert engine.state_at("b", at).state == "Holiday"
    assert store.windows_computed - first == 1 and store.chunks_compiled == 2


# A shadowed rule's edges change nothing: neither path may walk them to the
# horizon (each used to: about 40 s, tens of millions of occurrences).
ALWAYS_OPEN = {"id": "always-open", "state": "Open", "priority": 2, "simpleRuleType": "Time",
               "frequency": "Daily", "startDate": "2020-01-01", "isAllDay": True}
OWN_SHADOWED = [{"id": "c", "schedule": {"timeZoneId": "UTC", "rules": [
    ALWAYS_OPEN, {"id": "pulse", "state": "Pulse", "priority": 1, "simpleRuleType": "Time", "frequency": "Hourly",
                  "startDate": "2020-01-01", "startTime": "00:00", "endTime": "00:10"}]}}]
PARENT_SHADOWED = [
    {"id": "p", "schedule": {"timeZoneId": "UTC", "rules": [
        ALWAYS_OPEN, {"id": "closed", "state": "Closed", "priority": 1, "simpleRuleType": "Time",
                      "frequency": "Daily", "startDate": "2020-01-01", "startTime": "00:00", "endTime": "01:00"}]}},
    {"id": "c", "parentCustomerId": "p", "schedule": {"timeZoneId": "UTC", "defaultState": "Open", "rules": [
        {"id": "follow", "state": "Closed", "simpleRuleType": "CustomerState", "customerState": "Closed"}]}}]


@pytest.mark.parametrize("mode", ["compiled", "reference"])
@pytest.mark.parametrize("records", [OWN_SHADOWED, PARENT_SHADOWED], ids=["own rule", "parent's rule"])
def test_a_shadowed_rule_is_not_walked_to_the_horizon(records, mode):
    engine = Engine.from_records(records, mode=mode)
    at = datetime(2027, 1, 1, 12, tzinfo=UTC)
    WORK.items = 0
    assert engine.state_at("c", at).until is None
    assert engine.next_change("c", at) is None
    assert WORK.items < 1_000
