"""The compiled fast path equals the reference evaluator: for random trees,
rules and zones (Australia/Lord_Howe included), at instants drawn uniformly,
at every window edge +-1 us, and at every DST transition +-1 us; for
state_at (with until), next_change, timeline and state_many."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schedengine import Engine
from schedengine.errors import RecordError
from schedengine.testing import customer_trees, instants
from schedengine.times import HORIZON

try:  # the `fast` extra, which `make test` installs
    import numpy
except ImportError:  # pragma: no cover
    numpy = None

UTC = timezone.utc
US = timedelta(microseconds=1)
DEMO = Path(__file__).resolve().parent.parent / "fixtures" / "demo.json"
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _transitions(zone_name: str, start: datetime, end: datetime) -> list[datetime]:
    """UTC-offset changes of a zone in [start, end), found independently of the engine."""
    from zoneinfo import ZoneInfo

    from schedengine.times import resolve_zone

    zone: ZoneInfo = resolve_zone(zone_name)
    found = []
    t = start
    offset = t.astimezone(zone).utcoffset()
    while t < end:
        nxt = t + timedelta(hours=6)
        if nxt.astimezone(zone).utcoffset() != offset:
            lo, hi = t, nxt  # bisect to the second
            while hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                if mid.astimezone(zone).utcoffset() == offset:
                    lo = mid
                else:
                    hi = mid
            found.append(hi.replace(microsecond=0))
            offset = nxt.astimezone(zone).utcoffset()
        t = nxt
    return found


def _same(a, b):
    return a == b, f"\ncompiled:  {a}\nreference: {b}"


def _probe_instants(reference: Engine, records: list[dict], start: datetime, end: datetime) -> list[datetime]:
    """Every segment boundary of every customer and every DST transition of
    every zone in the range, each -1 us, exactly, +1 us."""
    probes = {start, end - US}
    zones = {(r.get("schedule") or {}).get("timeZoneId") or "UTC" for r in records}
    edges: set[datetime] = set()
    for record in records:
        edges.update(s.start for s in reference.timeline(record["id"], start, end)[1:])
    for zone in zones:
        edges.update(_transitions(zone, start, end))
    for edge in edges:
        probes.update((edge - US, edge, edge + US))
    return sorted(probes)


@settings(max_examples=60, **SETTINGS)
@given(records=customer_trees(max_customers=4), start=instants(), days=st.integers(1, 14),
       uniform=st.lists(instants(), min_size=5, max_size=5))
def test_compiled_equals_reference(records, start, days, uniform):
    reference = Engine.from_records(records, mode="reference")
    compiled = Engine.from_records(records, mode="compiled")
    end = start + timedelta(days=days)
    probes = _probe_instants(reference, records, start, end) + uniform
    for record in records:
        cid = record["id"]
        timeline = reference.timeline(cid, start, end)
        assert _same(compiled.timeline(cid, start, end), timeline)
        for at in probes:
            assert _same(compiled.state_at(cid, at), reference.state_at(cid, at))
            ts = at.timestamp()  # the hot path's other form: epoch seconds
            assert _same(compiled.state_at(cid, ts), reference.state_at(cid, ts))
        for at in [p for p in probes if start <= p < end][:: 7]:
            _assert_next_change(compiled, reference, timeline, cid, at, end)
        # Bulk: the same probes as epoch seconds, in any order, one state name each.
        shuffled = probes[1::2] + probes[::2]
        expected = [reference.state_at(cid, at).state for at in shuffled]
        assert compiled.state_many(cid, [at.timestamp() for at in shuffled]) == expected
        if numpy is not None:
            got = compiled.state_many(cid, numpy.array([at.timestamp() for at in shuffled]))
            assert got.dtype == object and got.tolist() == expected


def _assert_next_change(compiled: Engine, reference: Engine, timeline: list, cid: str, at: datetime,
                        end: datetime) -> None:
    """Both evaluators agree on next_change. When the reference timeline shows
    the change inside the probed range, both must return it; otherwise the
    change lies beyond the range (possibly centuries away, where the
    reference steps edge by edge), and the compiled answer must lie beyond it."""
    state = next(s.state for s in timeline if s.start <= at < s.end)
    expected = next((s for s in timeline if s.start > at and s.state != state), None)
    got = compiled.next_change(cid, at)
    if expected is not None:
        assert (got.at, got.state) == (expected.start, expected.state)
        assert reference.next_change(cid, at) == got
    else:
        assert got is None or got.at >= end


@settings(max_examples=50, **SETTINGS)
@given(records=customer_trees(max_customers=3, start_year=(2398, 2399)),
       start=instants(datetime(2397, 6, 1, tzinfo=timezone.utc), datetime(2399, 12, 29, tzinfo=timezone.utc)),
       days=st.integers(1, 14), uniform=st.lists(instants(datetime(2397, 6, 1, tzinfo=timezone.utc),
                                                          datetime(2399, 12, 30, tzinfo=timezone.utc)),
                                                 min_size=3, max_size=3))
def test_compiled_equals_reference_near_the_horizon(records, start, days, uniform):
    # Rules starting in 2398-2399, with windows reaching past 2400: the reference path missed a window
    # ending after MAX_WALL at its own start, and the two paths disagreed on next_change (a helper's find,
    # through customer_trees(start_year=...)). Near the horizon the reference's scans are short.
    reference = Engine.from_records(records, mode="reference")
    compiled = Engine.from_records(records, mode="compiled")
    end = min(start + timedelta(days=days), HORIZON)
    probes = _probe_instants(reference, records, start, end) + uniform
    for record in records:
        cid = record["id"]
        assert _same(compiled.timeline(cid, start, end), reference.timeline(cid, start, end))
        for at in probes:
            assert _same(compiled.state_at(cid, at), reference.state_at(cid, at))
            assert compiled.next_change(cid, at) == reference.next_change(cid, at)


@settings(max_examples=30, **SETTINGS)
@given(records=customer_trees(max_customers=3, zones=("Australia/Lord_Howe",)),
       transition=st.sampled_from(["2027-04-04T01:59:59+11:00", "2027-10-03T02:00:00+10:30",
                                   "2025-04-06T01:59:59+11:00", "2028-10-01T02:00:00+10:30"]),
       uniform=st.lists(instants(), min_size=3, max_size=3))
def test_compiled_equals_reference_lord_howe(records, transition, uniform):
    """Half-hour DST: the wall clock jumps 30 minutes; probe the days around a transition."""
    reference = Engine.from_records(records, mode="reference")
    compiled = Engine.from_records(records, mode="compiled")
    start = datetime.fromisoformat(transition).astimezone(UTC) - timedelta(days=2)
    end = start + timedelta(days=4)
    for record in records:
        cid = record["id"]
        for at in _probe_instants(reference, records, start, end) + uniform:
            assert _same(compiled.state_at(cid, at), reference.state_at(cid, at))


def test_demo_tree_compiled_equals_reference_over_two_years():
    """Whole timelines for two years; state_at (with until) at the edges of
    the DST months and of a sample of the rest. Segments name no customer,
    so the reference's (slow) timeline is worked out once per owner."""
    reference = Engine.from_file(DEMO, mode="reference")
    compiled = Engine.from_file(DEMO, mode="compiled")
    start, end = datetime(2027, 1, 1, tzinfo=UTC), datetime(2029, 1, 1, tzinfo=UTC)
    by_owner: dict[str, list] = {}
    for customer in reference.tree.ids():
        owner = reference.tree.owner_id(customer)
        if owner not in by_owner:
            by_owner[owner] = reference.timeline(owner, start, end)
        segments = by_owner[owner]
        assert compiled.timeline(customer, start, end) == segments
        edges = [s.start for s in segments[1:]]
        sample = [e for e in edges if e.month in (3, 4, 10, 11) and e.year == 2027] + edges[::97]
        for edge in sample[::3]:
            for at in (edge - US, edge, edge + US):
                assert compiled.state_at(customer, at) == reference.state_at(customer, at)


@pytest.mark.parametrize("at", ["1901-03-01T12:00:00Z", "1995-06-01T12:00:00Z", "2199-12-31T23:59:59Z",
                                "2399-12-31T12:00:00Z", "2400-06-01T00:00:00Z", "2600-01-01T00:00:00Z"])
def test_far_instants(at):
    """Exact far from today; past the horizon no change is reported."""
    reference = Engine.from_file(DEMO, mode="reference")
    compiled = Engine.from_file(DEMO, mode="compiled")
    for customer in ("acme", "acme-support", "acme-london", "acme-events"):
        assert compiled.state_at(customer, at) == reference.state_at(customer, at)
        assert compiled.next_change(customer, at) == reference.next_change(customer, at)


@pytest.mark.parametrize("container", ["list", "numpy"])
def test_state_many_edge_cases(container):
    """Empty input, ints, and instants outside [1800, 2400) (answered one
    by one by the reference evaluator) give the same names as state_at."""
    if container == "numpy":
        pytest.importorskip("numpy")
    engine = Engine.from_file(DEMO)
    wrap = (lambda xs: numpy.array(xs)) if container == "numpy" else list
    assert list(engine.state_many("acme", wrap([]))) == []
    inside = [datetime(2027, 7, 5, h, tzinfo=UTC).timestamp() for h in (3, 14, 23)]
    outside = [datetime(1700, 1, 1, tzinfo=UTC).timestamp(), datetime(2500, 1, 1, tzinfo=UTC).timestamp()]
    for values in ([int(t) for t in inside], inside + outside, outside):
        expected = [engine.state_at("acme", float(t)).state for t in values]
        assert list(engine.state_many("acme", wrap(values))) == expected


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Europe/Berlin", "UTC", "America/New_York",
                                  "Pacific/Pago_Pago", "Australia/Lord_Howe"])
def test_a_schedule_that_never_changes_never_reports_a_change(zone):
    """Windows are generated up to wall time 2400-01-01, which east of UTC
    comes before 2400-01-01T00:00Z: with the horizon there, the end of the
    last window was reported as a change to the fallback state (a probe's
    find, on the compiled path only). The horizon is a day earlier now."""
    records = [{"id": "a", "schedule": {"timeZoneId": zone, "rules": [
        {"simpleRuleType": "Time", "frequency": "Daily", "startDate": "2022-12-25", "isAllDay": True,
         "state": "Open"},
        {"simpleRuleType": "Time", "frequency": "Weekly", "startDate": "2023-07-24", "startTime": "22:30",
         "state": "Closed"}]}}]
    compiled, reference = Engine.from_records(records), Engine.from_records(records, mode="reference")
    # (From 2027 it is the same answer, after walking 370 years of weekly edges: seconds.)
    for at in ("2390-01-01T00:00:00Z", "2399-06-01T00:00:00Z"):
        for engine in (compiled, reference):
            assert engine.next_change("a", at) is None and engine.state_at("a", at).until is None
    start, end = "2399-12-29T00:00:00Z", "2400-01-03T00:00:00Z"
    assert compiled.timeline("a", start, end) == reference.timeline("a", start, end)
    assert [s.state for s in compiled.timeline("a", start, end)] == ["Open"]


@pytest.mark.parametrize("fields, hour", [
    ({"frequency": "None", "startTime": "12:00", "untilDate": "2500-01-01"}, 16),  # "closed from 6 July on"
    ({"frequency": "None", "isAllDay": True, "untilDate": "2450-01-01"}, 4),
])
def test_a_window_reaching_past_2400_is_found_at_its_start(fields, hour):
    # A probe's find: a window ending after MAX_WALL sorted after the bisect key (start, MAX_WALL), so the
    # reference path did not see it at its own start and reported the next DST change instead.
    records = [{"id": "c", "schedule": {"timeZoneId": "America/New_York", "defaultState": "Open", "rules": [
        {"id": "closed", "simpleRuleType": "Time", "startDate": "2027-07-06", "state": "Closed", **fields}]}}]
    opening = datetime(2027, 7, 6, hour, tzinfo=timezone.utc)
    for mode in ("compiled", "reference"):
        engine = Engine.from_records(records, mode=mode)
        assert engine.state_at("c", "2027-07-01T00:00:00Z").until == opening
        assert engine.next_change("c", "2027-07-01T00:00:00Z").at == opening
        assert engine.state_at("c", opening).state == "Closed"
        assert [s.state for s in engine.timeline("c", "2027-07-01T00:00:00Z", "2027-07-10T00:00:00Z")] == \
            ["Open", "Closed"]


@pytest.mark.parametrize("records, cid", [
    (None, "acme-london"),  # the demo tree
    ([{"id": "c", "schedule": {"timeZoneId": "UTC", "defaultState": "Closed", "rules": [  # a change at the seam
        {"id": "r", "simpleRuleType": "Time", "frequency": "Daily", "startDate": "1799-06-01", "startTime": "00:00",
         "endTime": "12:00", "state": "Open"}]}}], "c"),
])
def test_a_timeline_from_before_1800_is_the_reference_one(records, cid):
    """Before 1800 only the reference evaluator answers; a timeline starting there is served
    by it up to 1800 and by the compiled form after (the reference alone: 29 s for 1799-2028),
    joined at 1800 into one segment when nothing changes there."""
    if records is None:
        compiled, reference = Engine.from_file(DEMO), Engine.from_file(DEMO, mode="reference")
    else:
        compiled, reference = Engine.from_records(records), Engine.from_records(records, mode="reference")
    for start, end in [("1799-12-31T20:00:00Z", "1800-01-03T00:00:00Z"), ("1799-11-01T00:00:00Z", "1800-01-01T00:00:01Z"),
                       ("1799-12-31T23:59:59Z", "1800-01-01T12:00:00Z")]:
        assert compiled.timeline(cid, start, end) == reference.timeline(cid, start, end)


def test_a_timeline_across_1800_keeps_the_segment_limit(monkeypatch):
    """A probe's: the parts before and after 1800 were each checked against MAX_SEGMENTS, their
    join was not: compiled mode returned 1,058,157 segments where reference mode refused."""
    import schedengine.results as results

    monkeypatch.setattr(results, "MAX_SEGMENTS", 1000)
    records = [{"id": "p", "schedule": {"timeZoneId": "UTC", "defaultState": "Closed", "rules": [
        {"id": "bh", "frequency": "Weekly", "startDate": "1700-01-04", "startTime": "09:00", "endTime": "17:00",
         "state": "Open", "byDay": [{"dayOfWeek": d} for d in ("Monday", "Tuesday", "Wednesday", "Thursday",
                                                                "Friday")]}]}}]
    start = datetime(1799, 1, 1, tzinfo=timezone.utc)
    answers = {}
    for mode in ("compiled", "reference"):
        engine = Engine.from_records(records, mode=mode)
        with pytest.raises(RecordError, match="has more than 1,000 segments") as refused:
            engine.timeline("p", start, datetime(1801, 1, 1, tzinfo=timezone.utc))
        answers[mode] = (str(refused.value), engine.timeline("p", start, datetime(1799, 12, 31, tzinfo=timezone.utc)),
                         engine.timeline("p", start, datetime(1800, 1, 20, tzinfo=timezone.utc)))
    assert answers["compiled"] == answers["reference"]
    assert len(answers["compiled"][2]) <= 1000
