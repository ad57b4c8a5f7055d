"""What a query accepts as an instant, and that everything else is refused
with a RecordError (the documented family), never an OverflowError or a
TypeError from deep inside: at the extremes of Python's datetime range, for
numbers no float holds, in the hot path of a warm customer, and element by
element in state_many."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schedengine import Engine, RecordError
from schedengine.engine import END_INSTANT, FIRST_INSTANT
from schedengine.reference import ReferenceEvaluator

UTC = timezone.utc
DEMO = Path(__file__).resolve().parent.parent / "fixtures" / "demo.json"
US = timedelta(microseconds=1)
CUSTOMERS = ("acme", "acme-sydney", "acme-lordhowe", "acme-support-tier2")  # west, east, half-hour DST, inheriting


@pytest.fixture(scope="module")
def engines() -> tuple[Engine, Engine]:
    compiled, reference = Engine.from_file(DEMO), Engine.from_file(DEMO, mode="reference")
    for customer in CUSTOMERS:  # warm: the hot path holds a chunk for each
        compiled.state_at(customer, datetime(2026, 11, 27, tzinfo=UTC))
    return compiled, reference


def every_query(engine: Engine, customer: str, at) -> list:
    return [engine.state_at(customer, at), engine.next_change(customer, at), engine.explain(customer, at),
            engine.timeline(customer, at, at)]


@pytest.mark.parametrize("at", [FIRST_INSTANT, END_INSTANT - US])
@pytest.mark.parametrize("customer", CUSTOMERS)
def test_the_first_and_last_accepted_instants_answer_in_every_zone(engines, customer, at):
    compiled, reference = engines
    assert every_query(compiled, customer, at)[:2] == every_query(reference, customer, at)[:2]


@pytest.mark.parametrize("at", [FIRST_INSTANT.timestamp(), int(FIRST_INSTANT.timestamp()), FIRST_INSTANT.isoformat(),
                                (END_INSTANT - timedelta(seconds=1)).timestamp(), (END_INSTANT - US).isoformat()])
def test_every_form_of_them_is_accepted(engines, at):
    compiled, reference = engines
    assert compiled.state_at("acme-sydney", at) == reference.state_at("acme-sydney", at)


@pytest.mark.parametrize("at", [
    FIRST_INSTANT - US, END_INSTANT, datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC),
    datetime.max.replace(tzinfo=timezone(timedelta(hours=-12))), datetime.min, datetime.max,
    "9999-12-31T23:59:59Z", "0001-01-01T00:00:00+14:00", 10 ** 400, -10 ** 400, 2 ** 63, 1e300,
    float("inf"), -float("inf"), float("nan"), True, Decimal("1800000000"), None, [1800000000.0], "tomorrow",
])
@pytest.mark.parametrize("customer", CUSTOMERS)
@pytest.mark.parametrize("mode", [0, 1])
def test_anything_else_is_a_record_error(engines, mode, customer, at):
    with pytest.raises(RecordError):
        engines[mode].state_at(customer, at)
    with pytest.raises(RecordError):
        engines[mode].next_change(customer, at)
    with pytest.raises(RecordError):
        engines[mode].explain(customer, at)
    with pytest.raises(RecordError):
        engines[mode].timeline(customer, at, END_INSTANT - US)


@pytest.mark.parametrize("number", [1_800_000_000, 1_800_000_000.25])
def test_any_real_number_is_epoch_seconds(engines, number):
    compiled, reference = engines
    expected = reference.state_at("acme", float(number))
    forms = [Fraction(number)]
    try:
        import numpy
        forms += [numpy.float64(number), numpy.int64(number)] if number == int(number) else [numpy.float64(number)]
    except ImportError:
        pass
    for form in forms:
        assert compiled.state_at("acme", form) == expected
        assert reference.state_at("acme", form) == expected


def test_a_date_is_the_owners_midnight(engines):
    compiled, reference = engines
    midnight = datetime(2027, 7, 5)
    assert compiled.state_at("acme-sydney", date(2027, 7, 5)) == reference.state_at("acme-sydney", midnight)


offsets = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))


# Anywhere, and often within a few days of either end of the accepted range.
walls = st.one_of(st.datetimes(), st.datetimes(max_value=datetime(2, 1, 3)),
                  st.datetimes(min_value=datetime(9997, 12, 30)))


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(wall=walls, zone=offsets | st.none(), customer=st.sampled_from(CUSTOMERS))
def test_every_datetime_answers_or_is_refused_alike(engines, wall, zone, customer):
    """Over Python's whole datetime range, aware or naive: both evaluators
    answer the same, or both refuse with a RecordError."""
    at = wall if zone is None else wall.replace(tzinfo=zone)
    outcomes = []
    for engine in engines:
        try:
            outcomes.append(("answer", engine.state_at(customer, at)))
        except RecordError as exc:
            outcomes.append(("refused", str(exc)))
    assert outcomes[0] == outcomes[1]
    if zone is not None:
        accepted = FIRST_INSTANT <= at < END_INSTANT
        assert outcomes[0][0] == ("answer" if accepted else "refused")


# ------------------------------------------------------------------ timeline

def test_a_timeline_whose_end_is_before_its_start_is_refused(engines):
    for engine in engines:
        assert engine.timeline("acme", "2027-07-05T12:00Z", "2027-07-05T12:00Z") == []
        with pytest.raises(RecordError, match="end .* is before its start"):
            engine.timeline("acme", "2027-07-05T12:00Z", "2027-07-05T11:59Z")


@pytest.mark.parametrize("end", ["2400-01-01T00:00:00Z", "2403-06-01T00:00:00Z"])
def test_a_timeline_reaching_the_horizon_comes_from_the_compiled_form(engines, end):
    """Only its start need be inside [1800, 2400): past the horizon no change
    is reported by either evaluator. (Sent to the reference, the last ten
    years took 35 s.)"""
    compiled, reference = engines
    start = "2399-10-01T00:00:00Z"
    expected = {c: reference.timeline(c, start, end) for c in CUSTOMERS}
    with mock.patch.object(ReferenceEvaluator, "timeline", side_effect=AssertionError("reference used")):
        for customer in CUSTOMERS:
            assert compiled.timeline(customer, start, end) == expected[customer]


# ---------------------------------------------------------------- state_many

@pytest.mark.parametrize("values, culprit", [
    ([1.8e9, float("nan")], r"instants\[1\]: nan"),
    ([float("nan"), 1.8e9], r"instants\[0\]: nan"),
    ([1.8e9, 10 ** 400], r"instants\[1\]: 1000.* is out of range"),
    ([1.8e9, 1e300], r"instants\[1\]: 1e\+300 is out of range"),
    ([1.8e9, float("inf")], r"instants\[1\]: inf is out of range"),
    ([1.8e9, True], r"instants\[1\]: True is not epoch seconds"),
    ([1.8e9, "2027-07-05"], r"instants\[1\]: '2027-07-05' is not epoch seconds"),
    ([1.8e9, None], r"instants\[1\]: None is not epoch seconds"),
])
@pytest.mark.parametrize("mode", [0, 1])
def test_state_many_names_the_first_bad_instant(engines, mode, values, culprit):
    with pytest.raises(RecordError, match=culprit):
        engines[mode].state_many("acme", values)


def test_state_many_reads_an_iterator_once(engines):
    """Instants outside [1800, 2400) go to the reference evaluator one by one;
    they used to be read from the iterator a second time, which was empty."""
    compiled, _ = engines
    values = [datetime(1700, 1, 1, tzinfo=UTC).timestamp(), datetime(2027, 7, 5, 14, tzinfo=UTC).timestamp()]
    expected = [compiled.state_at("acme", t).state for t in values]
    assert compiled.state_many("acme", iter(values)) == expected
    assert compiled.state_many("acme", (t for t in values)) == expected


def test_state_many_with_numpy_refuses_what_is_not_epoch_seconds_and_keeps_the_shape(engines):
    numpy = pytest.importorskip("numpy")
    compiled, reference = engines
    for bad, culprit in ((numpy.array(["2027-07-05"]), "array of <U10"), (numpy.array([True]), "array of bool"),
                         (numpy.array([1.8e9, numpy.nan]), r"instants\[1\]")):
        for engine in engines:
            with pytest.raises(RecordError, match=culprit):
                engine.state_many("acme", bad)
    far = datetime(2500, 1, 1, tzinfo=UTC).timestamp()
    grid = numpy.array([[1.8e9, far], [far, 1.9e9]])
    for engine in engines:
        out = engine.state_many("acme", grid)
        assert out.shape == grid.shape and out.dtype == object
        assert out.tolist() == [[reference.state_at("acme", float(t)).state for t in row] for row in grid]


def test_a_float_just_below_a_whole_second_stays_below_it():
    """-1e-20 - floor(-1e-20) rounds to 1.0 in floats: the microseconds
    reached 1,000,000 and the instant landed on 00:00:00, past the edge."""
    from schedengine.times import epoch_datetime

    assert epoch_datetime(-1e-20) == datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    assert epoch_datetime(1e9 - 1e-7) == datetime.fromtimestamp(1e9 - 1, UTC).replace(microsecond=999999)


@pytest.mark.parametrize("offset", [-3e-7, -6e-7, -1e-6, 0.0, 3e-7, 6e-7])
def test_a_float_within_a_microsecond_of_an_edge_is_on_the_same_side_on_every_path(offset):
    """The compiled path compares the float itself; the others converted it
    with datetime.fromtimestamp, which rounds to the nearest microsecond, so
    0.3 µs before 09:00 was Closed on one path, Open on the other, and the
    compiled `until` equalled the `at` it reported. Floats are now read
    rounded down to the microsecond, which keeps every whole-second edge
    on the same side."""
    records = [{"id": "c", "schedule": {"timeZoneId": "UTC", "defaultState": "Closed", "rules": [
        {"id": "r", "state": "Open", "simpleRuleType": "Time", "frequency": "Daily",
         "startDate": "2027-01-01", "startTime": "09:00", "endTime": "17:00"}]}}]
    edge = datetime(2027, 3, 1, 9, tzinfo=UTC)
    ts = edge.timestamp() + offset
    expected = "Open" if ts >= edge.timestamp() else "Closed"
    compiled, reference = (Engine.from_records(records, mode=mode) for mode in ("compiled", "reference"))
    for engine in (compiled, reference):
        result = engine.state_at("c", ts)
        assert result.state == expected
        assert result.at < result.until
        assert (result.at >= edge) == (expected == "Open")
        assert engine.state_many("c", [ts]) == [expected]
    assert compiled.state_at("c", ts) == reference.state_at("c", ts)
    assert compiled.next_change("c", ts) == reference.next_change("c", ts)


# --- probe M: numpy scalars of small dtypes overflowed ("out of range"); state_many raised bare
# --- TypeError/ValueError and gave a (0, 3) array back as (0,); constructors raised bare errors

@pytest.mark.parametrize("mode", ["compiled", "reference"])
def test_numpy_scalars_of_every_dtype_are_epoch_seconds(mode):
    np = pytest.importorskip("numpy")
    engine = Engine.from_file(DEMO, mode=mode)
    for value, seconds in ((np.int8(5), 5), (np.int16(300), 300), (np.uint8(5), 5), (np.uint16(60000), 60000),
                           (np.float16(5.0), 5), (np.int64(1814970900), 1814970900)):
        assert engine.state_at("acme", value).at == datetime.fromtimestamp(seconds, timezone.utc), value
    assert list(engine.state_many("acme", np.array([5, 60], dtype=np.int16))) == ["After Hours"] * 2
    with pytest.raises(RecordError, match="is not an instant"):
        engine.state_at("acme", np.float32("nan"))
    for duration in (np.timedelta64(5, "s"), np.timedelta64(5, "ns")):  # a probe's: bare TypeError / read as 5 s
        with pytest.raises(RecordError, match=r"is not an instant \(a duration"):
            engine.state_at("acme", duration)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # float16 bounds overflowed in a cast, with a RuntimeWarning
        assert list(engine.state_many("acme", np.array([5, 60], dtype=np.float16))) == ["After Hours"] * 2


@pytest.mark.parametrize("mode", ["compiled", "reference"])
def test_state_many_keeps_any_array_shape_and_refuses_what_is_not_a_collection(mode):
    np = pytest.importorskip("numpy")
    engine = Engine.from_file(DEMO, mode=mode)
    for shape in ((), (3, 0), (0, 3), (2, 2)):
        answer = engine.state_many("acme", np.full(shape, 1814970900.0))
        assert answer.shape == shape and answer.dtype == object
        assert set(answer.ravel()) <= {"Business Hours"}
    for bad in (None, 1814970900, "1814970900", {"at": 1}):
        with pytest.raises(RecordError, match=r"^instants: expected a list \(or other iterable\) or a numpy array"):
            engine.state_many("acme", bad)


@pytest.mark.parametrize("call, says", [
    (lambda: Engine.from_file(None), "path: expected a file name"),
    (lambda: Engine.from_file(b"demo.json"), "path: expected a file name"),
    (lambda: Engine.from_records(None), "records: expected a list"),
    (lambda: Engine.from_records({"id": "a"}), r"found a dict \(one customer\? put it in a list\)"),
    (lambda: Engine.from_records([], policy="lowest-first"), "policy: expected a schedengine.Policy, found str"),
    (lambda: Engine.from_file(DEMO, {"priority": "lowest-first"}), "policy: expected a schedengine.Policy"),
])
def test_wrong_constructor_arguments_are_configuration_errors(call, says):
    from schedengine.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match=says):
        call()
