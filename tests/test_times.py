"""schedengine.times: record date/time strings, zones, UTC offset spans."""

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings, strategies as st

from schedengine.errors import RecordError
from schedengine.times import (
    MAX_DATE, MAX_WALL, MIN_DATE, MIN_WALL, parse_date, parse_time, parse_until, resolve_zone,
    utc_offset_spans,
)
from schedengine import times as times_module

UTC = timezone.utc


def epoch(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp())


# ------------------------------------------------------------------- zones

@pytest.mark.parametrize("name, key", [
    ("America/New_York", "America/New_York"),
    ("Eastern Standard Time", "America/New_York"),
    ("GMT Standard Time", "Europe/London"),
    ("Lord Howe Standard Time", "Australia/Lord_Howe"),
    ("W. Europe Standard Time", "Europe/Berlin"),
    ("UTC", "UTC"),
    ("america/new_york", "America/New_York"),
    ("  Europe/London ", "Europe/London"),
    ("eastern standard time", "America/New_York"),
    ("utc", "UTC"),  # was Etc/UTC, by the Windows name "UTC": one name, one zone, in any case
    ("Utc", "UTC"),
])
def test_resolve_zone_names(name, key):
    assert resolve_zone(name).key == key


def test_resolve_zone_passes_zoneinfo_and_defaults_to_utc():
    zone = ZoneInfo("Asia/Tokyo")
    assert resolve_zone(zone) is zone
    assert resolve_zone(None).key == "UTC"
    assert resolve_zone("  ").key == "UTC"


def test_resolve_zone_is_cached():
    assert resolve_zone("Eastern Standard Time") is resolve_zone("Eastern Standard Time")


def test_windows_names_come_from_tzlocal_table():
    from tzlocal.windows_tz import win_tz

    for windows_name, iana in list(win_tz.items())[:40]:
        assert resolve_zone(windows_name).key == ZoneInfo(iana).key


@pytest.mark.parametrize("bad", ["Mars/Olympus", "../etc/passwd", "Eastern", "Not/A_Zone"])
def test_resolve_zone_unknown(bad):
    with pytest.raises(RecordError) as info:
        resolve_zone(bad, path='customers[0] (id "x").schedule.timeZoneId')
    message = str(info.value)
    assert message.startswith('customers[0] (id "x").schedule.timeZoneId: unknown time zone "')
    assert bad in message and "Eastern Standard Time" in message
    assert info.value.path == 'customers[0] (id "x").schedule.timeZoneId'


@pytest.mark.parametrize("name", ["localtime", "posixrules", "Factory", "factory", "LocalTime", "posix/UTC",
                                  "right/America/New_York"])
def test_files_in_the_zone_directory_that_are_no_iana_zone_are_refused(name):
    """ZoneInfo opens them all: "localtime" made an answer depend on the host."""
    with pytest.raises(RecordError, match=r'^customers\[0\] \(id "x"\)\.schedule\.timeZoneId: unknown time zone') as info:
        resolve_zone(name, path='customers[0] (id "x").schedule.timeZoneId')
    assert info.value.path == 'customers[0] (id "x").schedule.timeZoneId'
    if name.lower() == "localtime":
        assert "differs between machines" in str(info.value)


@pytest.mark.parametrize("name, key", [("Etc/GMT+5", "Etc/GMT+5"), ("US/Eastern", "US/Eastern"),
                                       ("EST5EDT", "EST5EDT"), ("Zulu", "Zulu"), ("etc/utc", "Etc/UTC")])
def test_backward_and_etc_zone_names_still_resolve(name, key):
    assert resolve_zone(name).key == key


# -------------------------------------------------------------- date & time

@pytest.mark.parametrize("text, expected", [
    ("2024-03-10", date(2024, 3, 10)),
    ("2024-3-9", date(2024, 3, 9)),
    ("2024-03-10T17:30:00", date(2024, 3, 10)),
    ("2024-03-10T23:30:00Z", date(2024, 3, 10)),
    ("2024-03-10T00:00:00.0000000", date(2024, 3, 10)),
    ("2024-03-10 08:00:00-05:00", date(2024, 3, 10)),
])
def test_parse_date(text, expected):
    assert parse_date(text, path="r.startDate") == expected


@pytest.mark.parametrize("text", ["2024-02-30", "10/03/2024", "", "2024-13-01", "tomorrow"])
def test_parse_date_errors(text):
    with pytest.raises(RecordError, match=r'^r\.startDate: ".*" is not a date \(expected YYYY-MM-DD\)'):
        parse_date(text, path="r.startDate")


@pytest.mark.parametrize("text, seconds", [
    ("00:00", 0), ("09:00", 9 * 3600), ("9:05", 9 * 3600 + 300), ("23:59:59", 86399),
    ("17:30:15.500", 17 * 3600 + 30 * 60 + 15),
    ("9:05 PM", 21 * 3600 + 300), ("9:05pm", 21 * 3600 + 300), ("12:00 AM", 0), ("12:30 PM", 12 * 3600 + 1800),
    ("11 PM", 23 * 3600), ("7:00:30 a.m.", 7 * 3600 + 30),
    ("2024-03-10T08:15:00", 8 * 3600 + 900), ("2024-03-10T08:15:00Z", 8 * 3600 + 900),
])
def test_parse_time(text, seconds):
    assert parse_time(text, path="r.startTime") == seconds


def test_parse_time_24_only_for_end_times():
    assert parse_time("24:00", path="r.endTime", allow_24=True) == 86400
    assert parse_time("24:00:00", path="r.endTime", allow_24=True) == 86400
    with pytest.raises(RecordError, match=r'^r\.startTime: "24:00" is only allowed as an end time'):
        parse_time("24:00", path="r.startTime")


@pytest.mark.parametrize("text", ["25:00", "24:30", "12:60", "13:00 PM", "0:30 AM", "noon", "", "9"])
def test_parse_time_errors(text):
    with pytest.raises(RecordError) as info:
        parse_time(text, path="rules[2].startTime", allow_24=True)
    assert str(info.value) == f'rules[2].startTime: "{text}" is not a time (expected HH:MM)'


def test_parse_until():
    ny = ZoneInfo("America/New_York")
    assert parse_until("2024-12-31", ny, path="u") == datetime(2024, 12, 31, 23, 59, 59, 999999)
    assert parse_until("2024-12-31T08:00:00", ny, path="u") == datetime(2024, 12, 31, 8)
    # Z and offsets are converted to the zone's wall clock (EST here, EDT in July)
    assert parse_until("2024-12-31T13:00:00Z", ny, path="u") == datetime(2024, 12, 31, 8)
    assert parse_until("2024-07-01T13:00:00Z", ny, path="u") == datetime(2024, 7, 1, 9)
    assert parse_until("2024-07-01T13:00:00+02:00", ny, path="u") == datetime(2024, 7, 1, 7)
    with pytest.raises(RecordError, match=r'^u: "2024-31-12" is not a date or date-time'):
        parse_until("2024-31-12", ny, path="u")
    # A fraction of a second is dropped, as in times: the compiled path kept
    # whole seconds and the reference the fraction, so a Frequency None span
    # ending at 10:00:00.5 was open at 10:00:00.25 on one path only.
    assert parse_until("2024-12-31T08:00:00.5", ny, path="u") == datetime(2024, 12, 31, 8)
    assert parse_until("2024-12-31T13:00:00.9999999Z", ny, path="u") == datetime(2024, 12, 31, 8)


def test_horizon_constants():
    assert MIN_WALL == datetime(1800, 1, 1) and MAX_WALL == datetime(2400, 1, 1)


# ------------------------------------------------------------- offset spans

def test_new_york_2024_transitions_exact():
    ny = ZoneInfo("America/New_York")
    spans = utc_offset_spans(ny, epoch(2024, 1, 1), epoch(2025, 1, 1))
    assert spans == [
        (epoch(2024, 1, 1), epoch(2024, 3, 10, 7), -5 * 3600),
        (epoch(2024, 3, 10, 7), epoch(2024, 11, 3, 6), -4 * 3600),
        (epoch(2024, 11, 3, 6), epoch(2025, 1, 1), -5 * 3600),
    ]


def test_london_and_lord_howe_half_hour_dst():
    london = utc_offset_spans(ZoneInfo("Europe/London"), epoch(2024, 1, 1), epoch(2025, 1, 1))
    assert [(s, o) for s, _, o in london] == [
        (epoch(2024, 1, 1), 0), (epoch(2024, 3, 31, 1), 3600), (epoch(2024, 10, 27, 1), 0)]
    howe = utc_offset_spans(ZoneInfo("Australia/Lord_Howe"), epoch(2024, 1, 1), epoch(2025, 1, 1))
    # 02:00 LHDT (+11) -> 01:30 LHST (+10:30) on 7 April; 02:00 -> 02:30 on 6 October
    assert [(s, o) for s, _, o in howe] == [
        (epoch(2024, 1, 1), 39600), (epoch(2024, 4, 6, 15), 37800), (epoch(2024, 10, 5, 15, 30), 39600)]


def test_spans_clip_inside_a_year_and_across_years():
    ny = ZoneInfo("America/New_York")
    assert utc_offset_spans(ny, epoch(2024, 5, 1), epoch(2024, 5, 2)) == [
        (epoch(2024, 5, 1), epoch(2024, 5, 2), -4 * 3600)]
    spans = utc_offset_spans(ny, epoch(2023, 6, 1), epoch(2025, 6, 1))
    assert len(spans) == 5 and spans[0][0] == epoch(2023, 6, 1) and spans[-1][1] == epoch(2025, 6, 1)
    assert utc_offset_spans(ny, 10, 10) == []


def test_spans_work_at_the_horizon_edges():
    ny = ZoneInfo("America/New_York")
    early = utc_offset_spans(ny, epoch(1800, 1, 1), epoch(1801, 1, 1))
    assert early == [(epoch(1800, 1, 1), epoch(1801, 1, 1), -(4 * 3600 + 56 * 60 + 2))]  # LMT
    late = utc_offset_spans(ny, epoch(2399, 1, 1), epoch(2400, 1, 1))
    assert [o for _, _, o in late] == [-5 * 3600, -4 * 3600, -5 * 3600]


def test_year_cache_is_reused():
    zone = ZoneInfo("Europe/Paris")
    utc_offset_spans(zone, epoch(2031, 1, 1), epoch(2031, 2, 1))
    cached = times_module._YEAR_CACHE[(zone, 2031)]
    utc_offset_spans(zone, epoch(2031, 5, 1), epoch(2031, 6, 1))
    assert times_module._YEAR_CACHE[(zone, 2031)] is cached


ZONES = ["America/New_York", "Europe/London", "Australia/Lord_Howe", "Africa/Casablanca",
         "Asia/Kolkata", "America/Sao_Paulo", "Pacific/Apia", "Europe/Moscow"]


@settings(max_examples=60, deadline=None)
@given(zone=st.sampled_from(ZONES),
       start=st.integers(epoch(1850, 1, 1), epoch(2390, 1, 1)),
       length=st.integers(1, 3 * 366 * 86400))
def test_spans_tile_and_match_zoneinfo(zone, start, length):
    tz = ZoneInfo(zone)
    end = start + length
    spans = utc_offset_spans(tz, start, end)
    assert spans[0][0] == start and spans[-1][1] == end
    for (a, b, off), (c, _, off2) in zip(spans, spans[1:]):
        assert b == c and off != off2
    for a, b, off in spans:
        assert a < b
        for t in (a, b - 1, (a + b) // 2):
            assert datetime.fromtimestamp(t, tz).utcoffset().total_seconds() == off
    # every transition zoneinfo knows inside the range is a span boundary (sampled hourly near them)
    boundaries = {a for a, _, _ in spans[1:]}
    for a in boundaries:
        before = datetime.fromtimestamp(a - 1, tz).utcoffset()
        after = datetime.fromtimestamp(a, tz).utcoffset()
        assert before != after


# ------------------------------------------------- date range (probe regressions)

@pytest.mark.parametrize("text", ["0001-12-31", "9998-01-01", "9999-12-31", "9999-12-31T23:00:00",
                                  "9999-12-31T24:00"])
def test_dates_outside_years_2_to_9997_are_record_errors(text):
    ny = ZoneInfo("America/New_York")
    expected = rf'^r\.startDate: "{text}" is out of range: dates must lie in years 0002\.\.9997$'
    with pytest.raises(RecordError, match=expected) as info:
        parse_date(text, path="r.startDate")
    assert info.value.path == "r.startDate"
    with pytest.raises(RecordError, match=r'^u: ".*" is out of range: dates must lie in years 0002\.\.9997$'):
        parse_until(text, ny, path="u")


def test_date_range_bounds_are_accepted():
    ny = ZoneInfo("America/New_York")
    assert MIN_DATE == date(2, 1, 1) and MAX_DATE == date(9997, 12, 31)
    assert parse_date("0002-01-01", path="d") == MIN_DATE
    assert parse_date("9997-12-31", path="d") == MAX_DATE
    assert parse_until("9997-12-31", ny, path="u") == datetime(9997, 12, 31, 23, 59, 59, 999999)
    assert parse_until("9997-12-31T24:00", ny, path="u") == datetime(9998, 1, 1)
    assert parse_until("9997-12-31T23:00:00-12:00", ZoneInfo("Pacific/Kiritimati"), path="u").year == 9998


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([1, 2, 9997, 9998, 9999]) | st.integers(0, 9999), st.integers(1, 12), st.integers(1, 28), st.integers(0, 24),
       st.sampled_from(["", "Z", "+14:00", "-12:00", "+23:59"]))
def test_extreme_dates_raise_record_errors_only(year, month, day, hour, offset):
    text = f"{year:04d}-{month:02d}-{day:02d}"
    stamp = f"{text}T{hour:02d}:00:00{offset}"
    for zone in (ZoneInfo("Pacific/Kiritimati"), ZoneInfo("Etc/GMT+12")):
        for value in (text, stamp):
            try:
                parse_until(value, zone, path="u")
            except RecordError:
                pass
    for value in (text, stamp):
        try:
            parse_date(value, path="d")
        except RecordError:
            pass


@pytest.mark.parametrize("start, end", [
    (epoch(1, 6, 1), epoch(1, 7, 1)), (epoch(9999, 1, 1), epoch(9999, 2, 1)),
    (-10**20, 0), (0, 10**20),
])
def test_offset_spans_outside_their_range_are_record_errors(start, end):
    with pytest.raises(RecordError, match=r"UTC offsets of America/New_York are only computed from "
                                          r"0002-01-01 to 9999-01-01 UTC"):
        utc_offset_spans(ZoneInfo("America/New_York"), start, end)


def test_offset_spans_at_their_range_ends():
    ny = ZoneInfo("America/New_York")
    assert [s[2] for s in utc_offset_spans(ny, epoch(2, 1, 1), epoch(2, 1, 2))] == [-17762]
    assert len(utc_offset_spans(ny, epoch(9998, 1, 1), epoch(9999, 1, 1))) == 3


# --- probe L: .NET's end of day 23:59:59.9999999 lost its fraction, so an all-day rule closed for a
# --- second every night

@pytest.mark.parametrize("text, start, end", [
    ("23:59:59.9999999", 86399, 86400),
    ("2027-01-01T23:59:59.9999999", 86399, 86400),
    ("2027-01-01T09:00:00.0000001", 32400, 32401),  # a 100 ns tick rounds an end up in either form
    ("09:00:00.0000001", 32400, 32401),
    ("12:00\u202fPM", 43200, 43200),  # a probe's: .NET 8 (ICU 72+) writes a narrow no-break space
    ("9:30\u00a0AM", 34200, 34200),
    ("09:00:00.5", 32400, 32401),
    ("09:00:00.000", 32400, 32400),
    ("17:00", 61200, 61200),
])
def test_a_fraction_of_a_second_rounds_an_end_up_and_a_start_down(text, start, end):
    assert (parse_time(text, path=None), parse_time(text, path=None, allow_24=True)) == (start, end)


def test_an_end_of_day_written_by_dotnet_leaves_no_gap():
    from schedengine import Engine

    records = [{"id": "c", "schedule": {"timeZoneId": "UTC", "defaultState": "Closed", "rules": [
        {"id": "r", "state": "Open", "frequency": "Daily", "startDate": "2027-01-01", "startTime": "00:00:00",
         "endTime": "23:59:59.9999999"}]}}]
    for mode in ("compiled", "reference"):
        engine = Engine.from_records(records, mode=mode)
        assert engine.state_at("c", "2027-03-01T23:59:59.5Z").state == "Open"
        assert engine.next_change("c", "2027-03-01T12:00:00Z") is None
