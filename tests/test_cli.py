"""Every CLI verb on the demo tree, through main(argv): output, JSON form, exit codes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from schedengine.cli import bundled_demo_path, main

DEMO = Path(__file__).resolve().parent.parent / "fixtures" / "demo.json"


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_state_at_human(capsys):
    code, out, _ = run(capsys, "state-at", "acme", "--at", "2027-11-25T10:00:00-05:00")
    assert code == 0
    assert "state      Holiday" in out and "Thanksgiving Day" in out
    assert "until      2027-11-26T00:00:00-05:00" in out


def test_state_at_json(capsys):
    code, out, _ = run(capsys, "state-at", "acme-sales", "--at", "2027-07-06T12:15:00-04:00", "--json")
    data = json.loads(out)
    assert code == 0
    assert set(data) == {"customerId", "ownerId", "state", "reason", "ruleId", "ruleName", "priority",
                         "flowId", "flowParams", "timeZoneId", "at", "until"}
    assert (data["state"], data["ownerId"], data["at"], data["until"]) == (
        "Lunch", "acme", "2027-07-06T16:15:00+00:00", "2027-07-06T17:00:00+00:00")


def test_state_at_defaults_to_now(capsys):
    code, out, _ = run(capsys, "state-at", "acme-branch-closed")
    assert code == 0 and "After Hours" in out


def test_explain(capsys):
    code, out, _ = run(capsys, "explain", "acme-support-tier2", "--at", "2027-11-25T10:00:00-05:00")
    assert code == 0
    assert "acme-support-tier2 -> acme-support" in out and "parent state read from acme" in out


def test_next_change_count(capsys):
    code, out, _ = run(capsys, "next-change", "acme", "--at", "2027-07-06T10:00:00-04:00", "--count", "3", "--json")
    assert code == 0
    assert [c["state"] for c in json.loads(out)] == ["Lunch", "Business Hours", "After Hours"]


def test_timeline(capsys):
    code, out, _ = run(capsys, "timeline", "acme", "--start", "2027-07-06T00:00:00-04:00",
                       "--end", "2027-07-07T00:00:00-04:00")
    assert code == 0 and len(out.strip().splitlines()) == 1 + 5 and "Lunch" in out


def test_week(capsys):
    code, out, _ = run(capsys, "week", "acme-chicago", "--at", "2027-03-14T12:00:00")
    assert code == 0
    assert "Sun 2027-03-14 AAAA..MM" in out  # the skipped hour, then the maintenance window


def test_validate_demo(capsys):
    code, out, _ = run(capsys, "validate", str(DEMO))
    assert code == 0 and "12 customers" in out and "no condition evaluator" in out


def test_validate_reports_bad_rule(capsys, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"id": "x", "schedule": {"rules": [{"id": "r1", "startTime": "25:00",
                                                                    "frequency": "Daily"}]}}]))
    code, _, err = run(capsys, "validate", str(bad))
    assert code == 1 and 'customers[0] (id "x").schedule.rules[0] (id "r1").startTime' in err


def _write(tmp_path, name, records):
    path = tmp_path / name
    if name.endswith(".jsonl"):
        path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    else:
        path.write_text(json.dumps(records))
    return path


@pytest.mark.parametrize("argv", [["state-at", "--at", "2027-01-04T10:00:00"], ["next-change", "--at", "2027-01-04"],
                                  ["timeline", "--start", "2027-01-04"], ["state-at", "--at", "2027-01-04T10:00:00Z"]])
def test_a_bad_record_is_not_blamed_on_the_time_typed(capsys, tmp_path, argv):
    """A naive time reads the owner's zone, so loading the owner raised the record's error
    inside the option's parsing: `error: --at: customers[5] ...` sent operators to the time."""
    records = json.loads(DEMO.read_text())
    records[5]["schedule"]["rules"][3]["startTime"] = "25:00"
    path = _write(tmp_path, "bad.json", records)
    code, _, err = run(capsys, argv[0], "acme-sydney", "--customers", str(path), *argv[1:])
    assert code == 2
    assert err.startswith('error: customers[5] (id "acme-sydney").schedule.rules[3]'), err


def test_validate_lists_every_error_in_file_order(capsys, tmp_path):
    """It stopped at the first error: three bad customers gave one line and no summary."""
    records = json.loads(DEMO.read_text())
    records[5]["schedule"]["rules"][3]["startTime"] = "25:00"
    records[6]["schedule"]["rules"][0]["byMonthDay"] = [32]
    records[7]["schedule"]["rules"][0]["frequency"] = "Fortnightly"
    records[8]["Colour"] = "red"
    path = _write(tmp_path, "multi.json", records)
    code, out, err = run(capsys, "validate", str(path))
    assert code == 1
    assert [line.split(".schedule")[0] for line in err.splitlines()] == [
        'error: customers[5] (id "acme-sydney")', 'error: customers[6] (id "acme-lordhowe")',
        'error: customers[7] (id "acme-branch-closed")']
    assert '(id "r-sydney-business").startTime: "25:00" is not a time' in err
    assert "byMonthDay[0]: 32 is out of range" in err and '"Fortnightly" is not a SchedulingRuleFrequency' in err
    assert out.splitlines() == ["warning: customers[8] (id \"acme-chicago\"): unknown field 'Colour' is ignored",
                                f"{path}: 12 customers, 1 warning(s), 3 error(s)"]


def test_validate_lists_tree_errors_and_goes_on(capsys, tmp_path):
    records = [{"id": "root", "schedule": {"timeZoneId": "UTC"}},
               {"id": "orphan", "parentCustomerId": "ghost"},
               {"id": "a", "parentCustomerId": "b"}, {"id": "b", "parentCustomerId": "a"},
               {"id": "root", "name": "again"},
               {"id": "late", "parentCustomerId": "root",
                "schedule": {"rules": [{"id": "r1", "state": "X", "frequency": "Daily", "startTime": "25:00"}]}},
               {"name": "no id"}]
    code, out, err = run(capsys, "validate", str(_write(tmp_path, "tree.json", records)))
    assert code == 1
    assert err.splitlines() == [
        'error: customers[1] (id "orphan").parentCustomerId: parent "ghost" does not exist in the tree '
        "(1 record(s) could not be read; it may be among them)",
        'error: customers[2] (id "a").parentCustomerId: parent chain forms a cycle: "a" -> "b" -> "a"',
        'error: customers[4] (id "root"): duplicate id, already used by customers[0]',
        'error: customers[5] (id "late").schedule.rules[0] (id "r1").startTime: "25:00" is not a time (expected HH:MM)',
        "error: customers[6]: the customer has no id (every customer needs a non-empty id)"]
    assert out.endswith("7 customers, 0 warning(s), 5 error(s)\n")


def test_validate_reports_a_customers_own_rule_errors_under_an_ancestors_bad_zone(capsys, tmp_path):
    # the bad zone is reported once, at the ancestor; the rules read in it used to go unchecked
    records = [{"id": "root", "schedule": {"timeZoneId": "Mars/Olympus",
                                           "rules": [{"state": "Open", "simpleRuleType": "Always"}]}},
               {"id": "kid", "parentCustomerId": "root", "schedule": {"inherit": True, "rules": [
                   {"id": "x", "state": "S", "startTime": "25:00", "frequency": "Daily"}]}},
               {"id": "kid2", "parentCustomerId": "root", "schedule": {"rules": [
                   {"id": "ok", "state": "S", "startTime": "09:00", "frequency": "Daily"},
                   {"id": "y", "state": "S", "simpleRuleType": "CustomerState"}]}}]
    code, out, err = run(capsys, "validate", str(_write(tmp_path, "tree.json", records)))
    assert code == 1
    assert err.splitlines() == [
        'error: customers[0] (id "root").schedule.timeZoneId: unknown time zone "Mars/Olympus" (expected an IANA '
        'name such as "America/New_York" or a Windows name such as "Eastern Standard Time")',
        'error: customers[2] (id "kid2").schedule.rules[1] (id "y").customerState: a CustomerState rule needs the '
        'parent state to match (e.g. "Holiday")']
    assert out.splitlines()[1:] == [
        'warning: customers[1] (id "kid").schedule.rules[0] (id "x").startTime: "25:00" is not a time (expected '
        'HH:MM) (ignored while the customer inherits; an error once Inherit is cleared)',
        f"{tmp_path / 'tree.json'}: 3 customers, 2 warning(s), 2 error(s)"]


def test_validate_warns_about_a_rule_that_never_fires(capsys, tmp_path):
    day = {"isAllDay": True, "startDate": "2026-01-01", "state": "Holiday"}
    records = [{"id": "c", "schedule": {"timeZoneId": "Europe/London", "defaultState": "Open", "rules": [
        {"id": "feb30", "frequency": "Yearly", "byMonth": [2], "byMonthDay": [30], **day},
        {"id": "friday13", "frequency": "Monthly", "byMonthDay": [13], "byDay": [{"dayOfWeek": "Friday"}], **day},
        # 03:05 is in phase (every 7 minutes from Thursday 00:00) on Thursdays only
        {"id": "phase", "frequency": "Minutely", "interval": 7, "byDay": [{"dayOfWeek": "Monday"}], "byHour": [3],
         "byMinute": [5], "startDate": "2026-01-01", "startTime": "00:00", "endTime": "00:01", "state": "X"},
        {"id": "until", "frequency": "Daily", "startDate": "2026-01-01", "untilDate": "2025-01-01", "state": "X"}]}}]
    code, out, err = run(capsys, "validate", str(_write(tmp_path, "tree.json", records)))
    assert code == 0 and err == ""
    never = ("the rule never fires before 2400-01-01 (the evaluation horizon): its By* fields, Interval and "
             "StartDate leave no occurrence (e.g. 30 February)")
    assert out.splitlines() == [
        f'warning: customers[0] (id "c").schedule.rules[0] (id "feb30"): {never}',
        f'warning: customers[0] (id "c").schedule.rules[2] (id "phase"): {never}',
        'warning: customers[0] (id "c").schedule.rules[3] (id "until").untilDate: UntilDate "2025-01-01" is before '
        "the start 2026-01-01 00:00: the rule never fires",  # said once
        f"{tmp_path / 'tree.json'}: 1 customers, 3 warning(s), no errors"]


def test_validate_json_lines_reports_each_broken_line(capsys, tmp_path):
    path = _write(tmp_path, "tree.jsonl", [{"id": "a"}, '{"id": broken', "", {"id": "c", "parentCustomerId": "a"},
                                           "[1, 2]", {"id": "d", "Foo": 1}])
    code, out, err = run(capsys, "validate", str(path))
    assert code == 1
    assert err.splitlines() == [f"error: {path}: line 2, column 8: not valid JSON: Expecting value",
                                f"error: {path}: line 5: expected a customer object, found an array"]
    assert out.splitlines() == ["warning: customers[4] (id \"d\"): unknown field 'Foo' is ignored",
                                f"{path}: 5 customers, 1 warning(s), 2 error(s)"]


@pytest.mark.parametrize("name, content, fragment", [
    ("missing.json", None, "cannot read"),
    ("syntax.json", '[{"id": "a"},\n {"id": }]', "line 2, column 9: not valid JSON"),
    ("utf16.json", '[{"id": "a"}]'.encode("utf-16"), "not UTF-8 text"),
    ("shape.json", '{"a": [], "b": []}', "shape.json: $: expected a list of customers, or an object holding"),
    ("number.json", "42", "number.json: $: expected a list of customers, found a number"),
    ("text.jsv", "hello world", "text.jsv: $: expected a list of customers, found a string"),
    ("broken.jsv", "[{Id:a,Schedule:{TimeZoneId:UTC}", "broken.jsv: JSV line 1, column 33"),
])
@pytest.mark.parametrize("verb", [["validate"], ["state-at", "a", "--customers"]])
def test_a_file_that_cannot_be_read_is_invalid_input_named_by_file(capsys, tmp_path, name, content, fragment, verb):
    """Exit 2 like every other verb (validate's was 1, "validate found errors"); the message names the
    file (a document holding no list of customers did not)."""
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    code, out, err = run(capsys, *verb, str(path))
    assert (code, out) == (2, "") and fragment in err and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize("argv, code, fragment", [
    (["state-at", "nobody"], 3, 'unknown customer "nobody"'),
    (["state-at", "acme", "--at", "yesterday-ish"], 2, "is not an ISO 8601 instant"),
    (["state-at", "acme", "--customers", "/no/such/file.json"], 2, "cannot read"),
])
def test_errors_exit_codes_without_traceback(capsys, argv, code, fragment):
    got, out, err = run(capsys, *argv)
    assert got == code and fragment in err and "Traceback" not in err


def test_customers_from_environment(capsys, tmp_path, monkeypatch):
    copy = tmp_path / "tree.jsv"
    shutil.copy(DEMO.with_suffix(".jsv"), copy)
    monkeypatch.setenv("SCHEDENGINE_CUSTOMERS", str(copy))
    code, out, _ = run(capsys, "state-at", "acme-london", "--at", "2027-11-25T12:00:00Z")
    assert code == 0 and "Holiday" in out


def test_python_dash_m_entry_point():
    done = subprocess.run([sys.executable, "-m", "schedengine", "state-at", "acme", "--at",
                           "2027-11-25T10:00:00-05:00", "--json"], capture_output=True, text=True)
    assert done.returncode == 0 and json.loads(done.stdout)["state"] == "Holiday"


# --- regression: instants on the command line are read as the library reads strings

@pytest.mark.parametrize("text, expected", [
    ("20270706", "2027-07-06T00:00:00-04:00"),          # ISO 8601 basic date, not epoch seconds
    ("20270706T121500", "2027-07-06T12:15:00-04:00"),   # basic date-time
    ("2027-07-06", "2027-07-06T00:00:00-04:00"),
    ("2027W271", "2027-07-05T00:00:00-04:00"),           # ISO week date
    (" 2027-07-06T16:15:00z ", "2027-07-06T12:15:00-04:00"),
    ("1814846400", "2027-07-06T00:00:00-04:00"),        # epoch seconds: a plain number that is not an ISO date
    ("1814846400.5", "2027-07-06T00:00:00.500000-04:00"),
    ("2027", "1969-12-31T19:33:47-05:00"),              # not an ISO date for Python either: epoch seconds
    ("-86400", "1969-12-30T19:00:00-05:00"),
    # fromisoformat took the ninth digit for the date-time separator: 2000-01-01 20:00
    ("20000101120", "2603-10-12T11:38:40-04:00"),
])
def test_at_reads_iso_before_epoch_seconds(capsys, text, expected):
    code, out, err = run(capsys, "state-at", "acme", "--at", text, "--json")
    assert code == 0, err
    at = datetime.fromisoformat(json.loads(out)["at"])
    assert at == datetime.fromisoformat(expected)


@pytest.mark.parametrize("text", ["now", "NOW", "Now", " now "])
def test_at_now_in_any_case(capsys, text):
    before = datetime.now(timezone.utc)
    code, out, err = run(capsys, "state-at", "acme", "--at", text, "--json")
    assert code == 0, err
    assert before <= datetime.fromisoformat(json.loads(out)["at"]) <= datetime.now(timezone.utc)


def test_start_and_end_read_basic_iso_dates(capsys):
    code, out, err = run(capsys, "timeline", "acme", "--start", "20270706", "--end", "20270707", "--json")
    assert code == 0, err
    segments = json.loads(out)
    assert (segments[0]["start"], segments[-1]["end"]) == ("2027-07-06T04:00:00+00:00", "2027-07-07T04:00:00+00:00")


@pytest.mark.parametrize("text, fragment", [
    ("00010101", "out of range"),    # ISO wins even out of range: not epoch seconds 10101
    ("nan", "not an ISO 8601 instant"),
    ("1_000", "not an ISO 8601 instant"),
])
def test_at_refusals(capsys, text, fragment):
    code, _, err = run(capsys, "state-at", "acme", "--at", text)
    assert code == 2 and fragment in err and "Traceback" not in err


# --- regression: output piped into `head` (the reader goes away) ends quietly with 141

@pytest.mark.parametrize("argv, code", [
    (["state-at", "acme", "--at", "2027-07-06"], 141),
    (["state-at", "acme", "--at", "2027-07-06", "--json"], 141),
    (["explain", "acme", "--at", "2027-07-06"], 141),
    (["next-change", "acme", "--at", "2027-07-06", "--count", "5"], 141),
    (["timeline", "acme", "--start", "2027-01-01", "--end", "2029-01-01"], 141),
    (["week", "acme", "--at", "2027-07-06"], 141),
    (["validate", str(DEMO)], 141),
    (["patch", "acme", "-", "--dry-run", "--customers", str(DEMO)], 141),
    (["--help"], 0),  # argparse drops help text it cannot write, and exits 0
])
def test_closed_stdout_is_not_a_traceback(argv, code):
    read_end, write_end = os.pipe()
    os.close(read_end)  # like `| head` that has already exited: every write fails with EPIPE
    try:
        done = subprocess.run([sys.executable, "-m", "schedengine", *argv], stdout=write_end,
                              stderr=subprocess.PIPE, input=b'{"name": "Acme"}', text=False)
    finally:
        os.close(write_end)
    err = done.stderr.decode()
    assert done.returncode == code, err
    assert "Traceback" not in err and "BrokenPipeError" not in err and "Exception ignored" not in err


# --- regression: --count 0 and --count -3 printed one change

@pytest.mark.parametrize("count", ["0", "-3", "two", "1.5"])
def test_next_change_count_below_one_is_refused(capsys, count):
    with pytest.raises(SystemExit) as exited:
        main(["next-change", "acme", "--at", "2027-07-06T18:00:00-04:00", "--count", count])
    out, err = capsys.readouterr()
    assert exited.value.code == 2 and out == ""
    assert f"--count: {count!r} is not a whole number of changes (1 or more)" in err and "Traceback" not in err


# --- every option and argument of every verb says what it is in --help

def test_every_option_of_every_verb_has_help():
    import argparse

    from schedengine.cli import build_parser

    verbs = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    missing = [f"{name} {action.dest}" for name, parser in verbs.choices.items() for action in parser._actions
               if action.help is None]
    assert missing == []


# --- regression: timeline's default end was start + 168 h, 01:00 or 23:00 local across a DST change

@pytest.mark.parametrize("start, end", [
    ("2027-03-10", "2027-03-17T04:00:00+00:00"),            # spring forward inside: local midnight to midnight
    ("2027-11-01", "2027-11-08T05:00:00+00:00"),            # fall back inside
    ("2027-03-10T09:30:00", "2027-03-17T13:30:00+00:00"),   # same wall time, 09:30 -04:00
    ("2027-07-06T12:00:00Z", "2027-07-13T12:00:00+00:00"),  # no change inside: exactly 168 h
    ("2027-03-07T02:30:00", "2027-03-14T07:30:00+00:00"),   # 02:30 is skipped on 14 March: read as a naive --end is
])
def test_timeline_default_end_is_a_week_of_the_local_calendar(capsys, start, end):
    code, out, err = run(capsys, "timeline", "acme", "--start", start, "--json")
    assert code == 0, err
    assert json.loads(out)[-1]["end"] == end


# --- regression: timeline printed local times without an offset ("01:30 - 01:00" at a fall-back) and only rule ids

def test_timeline_prints_offsets_the_zone_and_rule_names(capsys, tmp_path):
    tree = tmp_path / "fallback.json"
    tree.write_text(json.dumps([{"id": "c", "schedule": {
        "timeZoneId": "America/New_York", "defaultState": "Closed",
        "rules": [{"id": "r", "name": "Nightly batch", "state": "Batch", "frequency": "Daily",
                   "startDate": "2027-01-01", "startTime": "01:30", "endTime": "02:00"}]}}]))
    code, out, err = run(capsys, "timeline", "c", "--customers", str(tree),
                         "--start", "2027-11-07T00:00", "--end", "2027-11-07T04:00")
    assert code == 0, err
    assert out.splitlines() == [
        "c: 5 segments, local time in America/New_York",
        "Sun 2027-11-07 00:00-04:00 - Sun 2027-11-07 01:30-04:00  Closed  default",
        "Sun 2027-11-07 01:30-04:00 - Sun 2027-11-07 01:00-05:00  Batch   rule Nightly batch (r)",
        "Sun 2027-11-07 01:00-05:00 - Sun 2027-11-07 01:30-05:00  Closed  default",
        "Sun 2027-11-07 01:30-05:00 - Sun 2027-11-07 02:00-05:00  Batch   rule Nightly batch (r)",
        "Sun 2027-11-07 02:00-05:00 - Sun 2027-11-07 04:00-05:00  Closed  default",
    ]


def test_timeline_shows_seconds_when_a_bound_has_them(capsys):
    code, out, err = run(capsys, "timeline", "acme", "--start", "2027-07-06T11:59:30", "--end", "2027-07-06T12:30")
    assert code == 0, err
    assert out.splitlines()[1:] == [
        "Tue 2027-07-06 11:59:30-04:00 - Tue 2027-07-06 12:00:00-04:00  Business Hours  rule Business Hours (r-acme-business)",
        "Tue 2027-07-06 12:00:00-04:00 - Tue 2027-07-06 12:30:00-04:00  Lunch           rule Lunch (r-acme-lunch)",
    ]


def test_timeline_shows_the_seconds_of_an_offset_with_seconds(capsys, tmp_path):
    """Monrovia was at -00:44:30 until 1972: whole UTC minutes are local
    times with 30 seconds, which the precision (chosen from UTC) cut off."""
    tree = tmp_path / "monrovia.json"
    tree.write_text(json.dumps([{"id": "m", "schedule": {"timeZoneId": "Africa/Monrovia", "defaultState": "Closed"}}]))
    code, out, err = run(capsys, "timeline", "m", "--customers", str(tree), "--start", "1970-03-02T00:00:00Z",
                         "--end", "1970-03-02T01:00:00Z")
    assert code == 0, err
    assert out.splitlines()[1] == "Sun 1970-03-01 23:15:30-00:44:30 - Mon 1970-03-02 00:15:30-00:44:30  Closed  default"


# --- regression: week crashed (StopIteration) with more than 36 states

def many_states_tree(tmp_path, n):
    """n states, each holding one 30-minute cell of the week of Mon 2027-07-05 (UTC)."""
    rules = []
    for i in range(n):
        day, slot = divmod(i, 48)
        start = datetime(2027, 7, 5 + day, slot // 2, 30 * (slot % 2))
        end = "24:00" if slot == 47 else f"{(slot + 1) // 2:02d}:{30 * ((slot + 1) % 2):02d}"
        rules.append({"id": f"r{i}", "state": f"S{i:03d}", "startDate": start.date().isoformat(),
                      "startTime": f"{start:%H:%M}", "endTime": end})
    tree = tmp_path / "many.json"
    tree.write_text(json.dumps([{"id": "c", "schedule": {"timeZoneId": "UTC", "defaultState": "Idle",
                                                          "rules": rules}}]))
    return tree


def grid_cells(out):
    return "".join(line[15:] for line in out.splitlines() if line[:3] in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat",
                                                                           "Sun") and line[3:4] == " ")


@pytest.mark.parametrize("n", [36, 37, 48, 88])
def test_week_has_a_symbol_for_each_of_many_states(capsys, tmp_path, n):
    code, out, err = run(capsys, "week", "c", "--at", "2027-07-06", "--customers", str(many_states_tree(tmp_path, n)))
    assert code == 0, err
    cells = grid_cells(out)
    assert len(cells) == 7 * 48 and "?" not in cells and len(set(cells[:n])) == n  # one symbol each, all distinct
    assert all(c.isascii() and c.isprintable() and c not in " .*" for c in cells)
    for i in range(n):
        assert f"{cells[i]} = S{i:03d}" in out


def test_week_shares_one_symbol_once_the_symbols_run_out(capsys, tmp_path):
    code, out, err = run(capsys, "week", "c", "--at", "2027-07-06", "--customers", str(many_states_tree(tmp_path, 200)))
    assert code == 0, err
    cells = grid_cells(out)
    assert "?" in cells and len(set(cells)) <= 90
    assert "? = any one of these states (more states than symbols): " in out
    assert "S199" in out.split("? = any one of these states")[1]


# --- regression: week drew no cell for a state shorter than a cell, yet listed it in the legend

def week_of(capsys, tmp_path, customers, customer="c", at="2027-07-06"):
    tree = tmp_path / "tree.json"
    tree.write_text(json.dumps(customers))
    code, out, err = run(capsys, "week", customer, "--at", at, "--customers", str(tree))
    assert code == 0, err
    return out


def row(out, day):
    return next(line[15:] for line in out.splitlines() if line.startswith(day))


def daily(rule_id, state, start, end):
    return {"id": rule_id, "state": state, "frequency": "Daily", "startDate": "2027-01-01",
            "startTime": start, "endTime": end}


def test_week_marks_a_cell_the_state_changes_in_and_a_state_that_never_fills_one(capsys, tmp_path):
    out = week_of(capsys, tmp_path, [{"id": "c", "schedule": {
        "timeZoneId": "UTC", "defaultState": "Open", "rules": [daily("b", "Break", "10:10", "10:25")]}}])
    assert row(out, "Tue 2027-07-06") == "O" * 20 + "*" + "O" * 27
    assert "one cell = 30 minutes of wall-clock time in UTC, drawn as the state that holds all through it" in out
    assert "* = the state changes within the cell" in out
    assert "within * cells only (never a whole cell): Break" in out
    assert "= Break" not in out  # no symbol that appears in no cell


def test_week_a_state_that_fills_cells_keeps_its_symbol_where_it_also_changes_mid_cell(capsys, tmp_path):
    out = week_of(capsys, tmp_path, [{"id": "c", "schedule": {
        "timeZoneId": "UTC", "defaultState": "Closed", "rules": [daily("o", "Open", "09:15", "17:00")]}}])
    assert row(out, "Tue 2027-07-06") == "C" * 18 + "*" + "O" * 15 + "C" * 14
    assert "C = Closed  O = Open" in out and "cells only" not in out


def test_week_cells_without_changes_have_no_star_line(capsys):
    code, out, _ = run(capsys, "week", "acme-chicago", "--at", "2027-07-06")
    assert code == 0 and "*" not in out and "skips" not in out and "cells only" not in out


def test_week_a_fall_back_cell_covers_both_passes_of_the_repeated_hour(capsys, tmp_path):
    # c reads the wall clock: 01:30-02:00 is Batch on both passes, so the cell is Batch.
    out = week_of(capsys, tmp_path, [{"id": "c", "schedule": {
        "timeZoneId": "America/New_York", "defaultState": "Closed",
        "rules": [daily("r", "Batch", "01:30", "02:00")]}}], at="2027-11-07")
    assert row(out, "Sun 2027-11-07") == "CCCBCCCC" + "C" * 40
    # child follows a UTC parent that is Busy 05:00-05:30Z: 01:00-01:30 on the first pass only.
    out = week_of(capsys, tmp_path, [
        {"id": "p", "schedule": {"timeZoneId": "UTC", "defaultState": "Idle",
                                 "rules": [daily("busy", "Busy", "05:00", "05:30")]}},
        {"id": "c", "parentCustomerId": "p", "schedule": {
            "timeZoneId": "America/New_York", "defaultState": "Closed",
            "rules": [{"id": "f", "simpleRuleType": "CustomerState", "customerState": "Busy", "state": "Follow"}]}},
    ], at="2027-11-07")
    assert row(out, "Sun 2027-11-07")[:4] == "CC*C"
    assert row(out, "Sat 2027-11-06")[:4] == "CCFC"


def test_week_symbols_are_ascii_and_a_blank_state_is_shown_quoted(capsys, tmp_path):
    out = week_of(capsys, tmp_path, [{"id": "c", "schedule": {
        "timeZoneId": "UTC", "defaultState": "営業中", "rules": [daily("b", " ", "12:00", "13:00")]}}])
    cells = row(out, "Tue 2027-07-06")
    assert cells.isascii() and len(cells) == 48 and len(set(cells)) == 2
    assert f'{cells[24]} = " "' in out and f"{cells[0]} = 営業中" in out


# --- regression: an id holding a quote, backslash or line break was printed raw inside (id "...")

def test_ids_in_paths_are_quoted_as_json(capsys, tmp_path):
    weird, rule = 'we"ird\\id\n', 'r"1'
    path = _write(tmp_path, "quotes.json", [
        {"id": weird, "schedule": {"timeZoneId": "UTC", "rules": [{"id": rule, "startTime": "25:00",
                                                                   "frequency": "Daily"}]}},
        {"id": "plain", "schedule": {"timeZoneId": "UTC", "rules": [{"id": "r-ok", "startTime": "24:30"}]}}])
    code, _, err = run(capsys, "validate", str(path))
    assert code == 1
    assert err.splitlines() == [
        r'error: customers[0] (id "we\"ird\\id\n").schedule.rules[0] (id "r\"1").startTime: "25:00" is not a time '
        "(expected HH:MM)",
        'error: customers[1] (id "plain").schedule.rules[0] (id "r-ok").startTime: "24:30" is not a time '
        "(expected HH:MM)"]  # an ordinary id reads as before


def test_patch_messages_quote_ids_as_json(capsys, tmp_path):
    tree = _write(tmp_path, "tree.json", [{"id": 'a"b', "schedule": {"timeZoneId": "UTC"}}])
    body = tmp_path / "body.json"
    body.write_text(json.dumps({"tagIds": ["no\\such"]}))
    code, _, err = run(capsys, "patch", 'a"b', str(body), "--customers", str(tree), "--dry-run")
    assert code == 2
    assert err.startswith(r'error: patch of "a\"b": tagIds[0]: unknown tag "no\\such" (the tree knows 0 tag(s))')


@pytest.mark.parametrize("dry_run", [[], ["--dry-run"]])
def test_patch_says_what_validate_would_warn_about_the_patched_customer(capsys, tmp_path, dry_run):
    """A probe's: a rule with no State was installed silently; `validate` then warned and
    `state-at` printed an empty state, the name a router picks the call flow by."""
    tree = _write(tmp_path, "tree.json", json.loads(DEMO.read_text()))
    body = tmp_path / "body.json"
    body.write_text(json.dumps({"schedule": {"rules": [
        {"id": "x", "frequency": "Daily", "startDate": "2027-01-01", "startTime": "09:00", "endTime": "17:00"}]}}))
    code, _, err = run(capsys, "patch", "acme-support", str(body), "--customers", str(tree), *dry_run)
    assert code == 0
    assert ('warning: customers[2] (id "acme-support").schedule.rules[0] (id "x").state: the rule has no State'
            in err.splitlines()[0])


# --- regression: a 5,000-character value was quoted whole (or gave Python's int-limit message)

LONG_DIGITS, LONG_TEXT = "9" * 5000, "x" * 5000


@pytest.mark.parametrize("argv, code, fragment", [
    (["state-at", "acme", "--at", LONG_DIGITS], 2, "--at: '999"),
    (["state-at", "acme", f"--at={LONG_DIGITS}.5"], 2, "--at: '999"),  # not "inf", the number it reads as
    (["state-at", "acme", "--at", LONG_TEXT], 2, "is not an ISO 8601 instant"),
    (["timeline", "acme", "--start", "2027-07-06", "--end", LONG_TEXT], 2, "--end: 'xxx"),
    (["state-at", LONG_TEXT], 3, 'unknown customer "xxx'),
    (["state-at", "acme", "--policy-default-time-zone", LONG_TEXT], 2, 'unknown time zone "xxx'),
    (["next-change", "acme", "--count", LONG_TEXT], 2, "--count: 'xxx"),
    (["state-at", "acme", "--policy-priority", LONG_TEXT], 2, "invalid choice: 'xxx"),
    ([LONG_TEXT], 2, "invalid choice: 'xxx"),
    (["state-at", "acme", LONG_TEXT], 2, "unrecognized arguments: xxx"),
])
def test_a_long_value_is_quoted_short_with_its_length(capsys, argv, code, fragment):
    try:
        got, out, err = run(capsys, *argv)
    except SystemExit as exited:  # argparse's refusals
        got, (out, err) = exited.code, capsys.readouterr()
    assert got == code and out == ""
    assert fragment in err and "Traceback" not in err and "int_max_str_digits" not in err
    assert "...' (5,0" in err or '..." (5,0' in err or "... (5,0" in err
    assert "x" * 61 not in err and "9" * 61 not in err
    assert max(len(line) for line in err.splitlines()) < 250


@pytest.mark.parametrize("argv", [
    ["state-at", "acme", "--customers", "/no/such/" + LONG_TEXT],
    ["patch", "acme", "/no/such/" + LONG_TEXT, "--dry-run"],
])
def test_a_long_file_name_is_cut_at_240_characters(capsys, argv):
    """A file name is shown whole up to 240 characters (cut at 60 it would
    be no use), and cut with its length beyond."""
    code, out, err = run(capsys, *argv)
    assert (code, out) == (2, "") and err.count("\n") == 1
    assert "/no/such/xxx" in err and "... (5,009 characters): cannot read" in err and "x" * 241 not in err


# --- regression: `--at -5e9` was refused ("expected one argument"): argparse took -5e9 for an option

@pytest.mark.parametrize("text, expected", [
    ("-5e9", "1811-07-23T15:06:40+00:00"),
    ("-5E+9", "1811-07-23T15:06:40+00:00"),
    ("-1.5", "1969-12-31T23:59:58.500000+00:00"),
    ("-.5e1", "1969-12-31T23:59:55+00:00"),
    ("-86400", "1969-12-31T00:00:00+00:00"),
])
def test_negative_epoch_seconds_in_any_float_form(capsys, text, expected):
    code, out, err = run(capsys, "state-at", "acme", "--at", text, "--json")
    assert code == 0, err
    assert json.loads(out)["at"] == expected
    code, out, err = run(capsys, "timeline", "acme", "--start", text, "--end", "-1e-6", "--json")  # and --start, --end
    assert code == 0, err
    assert (json.loads(out)[0]["start"], json.loads(out)[-1]["end"]) == (expected, "1969-12-31T23:59:59.999999+00:00")


def test_negative_epoch_seconds_after_an_abbreviated_option_and_not_after_double_dash(capsys):
    code, out, err = run(capsys, "next-change", "acme", "--a", "-5e9", "--json")
    assert code == 0, err
    with pytest.raises(SystemExit):
        main(["state-at", "--", "acme", "--at", "-5e9"])  # after "--" nothing is an option: two extra arguments
    assert "unrecognized arguments: --at -5e9" in capsys.readouterr().err


PAST_HORIZON = ("note: {} the horizon, 2399-12-31T00:00Z: changes from then on are not computed, and rule "
                'windows stop at wall time 2400-01-01 (docs/semantics.md, "Horizon")\n')


# --- regression: near the end of the accepted range (instants before 9998-01-01 UTC) a default end past it
# --- was refused, quoting an instant the operator never typed

def test_timeline_default_end_stops_at_the_last_accepted_instant(capsys):
    code, out, err = run(capsys, "timeline", "acme", "--start", "9997-12-30T00:00:00Z", "--json")
    assert code == 0, err
    segments = json.loads(out)
    assert (segments[0]["start"], segments[-1]["end"]) == ("9997-12-30T00:00:00+00:00",
                                                           "9997-12-31T23:59:59.999999+00:00")
    assert err == ("note: the default end (--start + 7 days, 9998-01-05T19:00:00-05:00) is past the last accepted "
                   "instant; the timeline ends at 9997-12-31T18:59:59.999999-05:00 instead (instants must be before "
                   "9998-01-01 UTC; pass --end to choose the end)\n" + PAST_HORIZON.format("the timeline runs past"))
    code, out, err = run(capsys, "timeline", "acme", "--start", "9997-12-24T00:00:00Z", "--json")  # a week fits
    assert (code, err, json.loads(out)[-1]["end"]) == (0, PAST_HORIZON.format("the timeline runs past"),
                                                       "9997-12-31T00:00:00+00:00")
    code, out, err = run(capsys, "timeline", "acme", "--start", "9997-12-30T00:00:00Z", "--end", "9998-01-02")
    assert code == 2 and err.startswith("error: --end: '9998-01-02' is out of range")  # an end typed is checked


@pytest.mark.parametrize("at, first, last", [
    ("9997-12-31T12:00:00Z", "Mon 9997-12-29 " + "A" * 48, "Sun 9998-01-04 " + " " * 48),
    ("0002-01-01T00:00:00Z", "Mon 0001-12-31 " + " " * 38 + "A" * 10, "Sun 0002-01-06 " + "A" * 48),
])
def test_week_at_either_end_of_the_accepted_range_is_drawn_up_to_it(capsys, at, first, last):
    code, out, err = run(capsys, "week", "acme", "--at", at)
    assert (code, err) == (0, PAST_HORIZON.format("the week runs past") if at > "2399" else "")
    rows = [line for line in out.splitlines() if line[:3] in ("Mon", "Sun") and line[3:4] == " "]
    assert (rows[0], rows[-1]) == (first, last)
    assert "blank = outside the instants schedengine accepts (0002-01-01 to before 9998-01-01 UTC)" in out
    assert "A = After Hours" in out


# --- regression: week drew "Open" and "OPEN " (equal as SPEC §4 compares states) as two states

def test_week_draws_states_equal_but_for_case_and_spaces_as_one(capsys, tmp_path):
    out = week_of(capsys, tmp_path, [{"id": "c", "schedule": {
        "timeZoneId": "UTC", "defaultState": "Open",
        "rules": [daily("b", "OPEN ", "10:00", "12:00"), daily("m", " open", "14:10", "14:20"),
                  daily("x", "Closed", "18:00", "19:00")]}}])
    assert row(out, "Tue 2027-07-06") == "O" * 36 + "CC" + "O" * 10  # no second symbol, no '*' at 14:00
    assert 'O = Open (also "OPEN ", " open")  C = Closed' in out  # the first spelling names it
    assert set(grid_cells(out)) == {"O", "C"} and "the state changes within the cell" not in out


def test_week_names_a_merged_state_by_its_first_spelling_in_the_week(capsys, tmp_path):
    out = week_of(capsys, tmp_path, [{"id": "c", "schedule": {
        "timeZoneId": "UTC", "defaultState": "closed",
        "rules": [daily("o", "Open", "09:00", "17:00"), {**daily("b", "CLOSED", "12:10", "12:20"), "priority": 1}]}}])
    assert row(out, "Tue 2027-07-06") == "C" * 18 + "O" * 6 + "*" + "O" * 9 + "C" * 14
    # CLOSED holds no whole cell, yet it is the state closed is: not a state "within * cells only"
    assert 'C = closed (also "CLOSED")  O = Open' in out and "cells only" not in out


@pytest.mark.parametrize("name, text", [("empty.jsonl", ""), ("empty.json", "[]"), ("blank.jsonl", "\n\n")])
def test_validate_warns_about_an_input_with_no_customers(capsys, tmp_path, name, text):
    """A probe's: an export cut short to nothing passed `validate` clean."""
    path = tmp_path / name
    path.write_text(text)
    code, out, _ = run(capsys, "validate", str(path))
    assert code == 0
    assert out.splitlines() == ["warning: the input holds no customers", f"{path}: 0 customers, 1 warning(s), no errors"]


# --- probe I: an operator who forgot --customers got demo answers with no hint; an unknown id
# --- did not say which file was read nor what was meant

def test_falling_back_to_the_bundled_demo_says_so(capsys, monkeypatch):
    monkeypatch.delenv("SCHEDENGINE_CUSTOMERS")
    code, out, err = run(capsys, "state-at", "acme", "--at", "2027-07-06T10:00:00-04:00")
    assert code == 0 and "state      Business Hours" in out
    assert err == f"note: no --customers and no $SCHEDENGINE_CUSTOMERS: reading the bundled demo tree ({bundled_demo_path()})\n"
    monkeypatch.setenv("SCHEDENGINE_CUSTOMERS", "")  # empty counts as unset
    assert run(capsys, "state-at", "acme")[2].startswith("note: no --customers")
    assert run(capsys, "state-at", "acme", "--customers", str(DEMO))[2] == ""  # named: no note


@pytest.mark.parametrize("typed, hint", [
    ("ACME", 'did you mean "acme"?'),
    (" acme-sales ", 'did you mean "acme-sales"?'),
    ("acme-suport", 'did you mean "acme-support"?'),
    ("nobody", "did you load the right file?"),
])
def test_an_unknown_customer_names_the_file_and_a_near_miss(capsys, typed, hint):
    code, out, err = run(capsys, "next-change", typed, "--customers", str(DEMO))
    assert (code, out) == (3, "")
    assert err == f'error: {DEMO}: unknown customer "{typed}" (the file holds 12 customers; {hint})\n'


def test_a_large_tree_suggests_only_another_case(capsys, monkeypatch):
    monkeypatch.setattr("schedengine.cli.NEAR_MISS_LIMIT", 5)  # the demo's 12 customers count as large
    assert run(capsys, "state-at", "acme-suport", "--customers", str(DEMO))[2].endswith("did you load the right file?)\n")
    assert run(capsys, "state-at", "Acme", "--customers", str(DEMO))[2].endswith('did you mean "acme"?)\n')


# --- probe I: past the horizon (2399-12-31T00:00Z) the CLI printed "until never" and "the state
# --- never changes" as facts, and next-change printed fewer changes than asked with no word why

def test_answers_past_the_horizon_say_so(capsys):
    code, out, err = run(capsys, "state-at", "acme", "--at", "2399-12-31T12:00")
    assert code == 0 and "state      Lunch" in out
    assert "until      not computed past the horizon, 2399-12-31T00:00Z" in out
    assert err == PAST_HORIZON.format("--at is at or after")
    code, out, err = run(capsys, "next-change", "acme", "--at", "2399-12-30T12:00", "--count", "3")
    assert out.splitlines() == ["2399-12-30T13:00:00-05:00 (Thu 30 Dec 13:00 local)  ->  Business Hours",
                                "2399-12-30T17:00:00-05:00 (Thu 30 Dec 17:00 local)  ->  After Hours"]
    assert err == "note: 2 of the 3 changes asked for: no other change before the horizon, 2399-12-31T00:00Z\n"
    code, out, err = run(capsys, "next-change", "acme", "--at", "2399-12-31T12:00Z")
    assert out == ("acme: no change after 2399-12-31T07:00:00-05:00 (Fri 31 Dec 07:00 local) before the horizon, "
                   "2399-12-31T00:00Z\n")
    assert run(capsys, "explain", "acme", "--at", "2400-06-01")[2] == PAST_HORIZON.format("--at is at or after")
    end_before = run(capsys, "timeline", "acme", "--start", "2399-12-20", "--end", "2399-12-30T19:00")
    assert end_before[0] == 0 and end_before[2] == ""  # ends at 2399-12-31T00:00Z: all before the horizon
    end_after = run(capsys, "timeline", "acme", "--start", "2399-12-20", "--end", "2399-12-30T19:01")
    assert end_after[2] == PAST_HORIZON.format("the timeline runs past")


def test_a_state_that_never_changes_says_never_before_the_horizon(capsys, tmp_path):
    path = tmp_path / "always.json"
    path.write_text(json.dumps([{"id": "c", "schedule": {"timeZoneId": "UTC", "rules": [
        {"id": "r", "state": "Open", "simpleRuleType": "Always"}]}}]))
    code, out, err = run(capsys, "state-at", "c", "--at", "2027-01-01T00:00Z", "--customers", str(path))
    assert (code, err) == (0, "") and "until      never (no change before the horizon, 2399-12-31T00:00Z)" in out
    code, out, err = run(capsys, "next-change", "c", "--at", "2027-01-01T00:00Z", "--customers", str(path))
    assert out == "c: no change after 2027-01-01T00:00:00+00:00 (Fri 01 Jan 00:00 local) before the horizon, " \
                  "2399-12-31T00:00Z\n" and err == ""


# --- probe I: "--at 2027" answered for 1970-01-01T00:33:47Z without a word

@pytest.mark.parametrize("typed, note", [
    ("2027", "note: --at 2027 is read as epoch seconds, 1970-01-01T00:33:47Z; for the year write 2027-01-01\n"),
    ("86400", "note: --at 86400 is read as epoch seconds, 1970-01-02T00:00:00Z\n"),
    ("1814846400", ""),  # a plausible epoch: no note
    ("-86400", ""),  # negative: deliberate
    ("20270706", ""),  # an ISO date
])
def test_a_small_plain_number_is_flagged_as_epoch_seconds(capsys, typed, note):
    code, _, err = run(capsys, "state-at", "acme", "--at", typed)
    assert (code, err) == (0, note)


# --- probe I: explain named the zone but not where it came from (a Windows name, an ancestor's, the default)

@pytest.mark.parametrize("customer, line", [
    ("acme-chicago", 'time zone  America/Chicago (its TimeZoneId "Central Standard Time")'),
    ("acme-events", "time zone  America/New_York (from acme: acme-events names none)"),
    ("acme", "time zone  America/New_York"),
    ("acme-sales", "time zone  America/New_York"),  # inherits acme's schedule: acme names it
])
def test_explain_says_where_the_zone_comes_from(capsys, customer, line):
    code, out, _ = run(capsys, "explain", customer, "--at", "2027-07-06T10:00:00Z")
    assert code == 0 and out.splitlines()[2] == line


def test_explain_names_the_policy_default_zone(capsys, tmp_path):
    path = tmp_path / "t.json"
    path.write_text(json.dumps([{"id": "root", "schedule": {"timeZoneId": " "}},
                                {"id": "c", "parentCustomerId": "root", "schedule": {"rules": []}},
                                {"id": "w", "parentCustomerId": "root", "schedule": {"timeZoneId": "eastern standard time"}}]))
    code, out, _ = run(capsys, "explain", "c", "--customers", str(path), "--at", "2027-01-01T00:00Z",
                       "--policy-default-time-zone", "Tokyo Standard Time")
    assert code == 0 and out.splitlines()[2] == \
        "time zone  Asia/Tokyo (the policy default: neither c nor an ancestor names a zone)"
    code, out, _ = run(capsys, "explain", "w", "--customers", str(path), "--at", "2027-01-01T00:00Z")
    assert out.splitlines()[2] == 'time zone  America/New_York (its TimeZoneId "eastern standard time")'


# --- probe I: option inconsistencies an operator trips on

def test_timeline_starts_now_by_default_and_takes_at_as_other_verbs_do(capsys):
    at = run(capsys, "timeline", "acme", "--at", "2027-07-06", "--json")
    start = run(capsys, "timeline", "acme", "--start", "2027-07-06", "--json")
    assert at[0] == 0 and at == start
    with pytest.raises(SystemExit):  # a probe's: given both, the last one silently won
        main(["timeline", "acme", "--at", "2027-07-06", "--start", "2027-07-07"])
    assert capsys.readouterr().err.endswith("error: --start and --at both give the start: give one\n")
    code, out, _ = run(capsys, "timeline", "acme", "--json")
    first = datetime.fromisoformat(json.loads(out)[0]["start"])
    assert code == 0 and abs((first - datetime.now(timezone.utc)).total_seconds()) < 60


@pytest.mark.parametrize("argv, says", [
    (["state-at", "acme", "--att", "2027-01-01"], "schedengine state-at: error: unrecognized arguments: --att "
                                                  "2027-01-01 (did you mean --at?)"),
    (["timeline", "acme", "--ned=2027-01-01"], "schedengine timeline: error: unrecognized arguments: "
                                               "--ned=2027-01-01 (did you mean --end?)"),
    (["week", "acme", "surplus"], "schedengine week: error: unrecognized arguments: surplus"),
])
def test_an_unknown_option_gets_the_verbs_usage_and_a_suggestion(capsys, argv, says):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.startswith(f"usage: schedengine {argv[0]} ")
    assert err.splitlines()[-1] == says


@pytest.mark.parametrize("argv, says", [
    (["--policy-fallback-state", "  "], "error: --policy-fallback-state '  ' is not a state name"),
    (["--policy-force-closed-state", ""], "error: --policy-force-closed-state '' is not a state name"),
    (["--policy-default-time-zone", "Mars/Olympus"], 'error: --policy-default-time-zone: unknown time zone '
                                                     '"Mars/Olympus"'),
])
def test_a_bad_policy_option_is_named_as_typed(capsys, argv, says):
    for verb in (["state-at", "acme"], ["validate"]):
        code, out, err = run(capsys, *verb, *argv)
        assert (code, out) == (2, "") and err.startswith(says), err


def test_validate_refuses_two_files(capsys):
    code, out, err = run(capsys, "validate", str(DEMO), "--customers", str(DEMO.with_suffix(".jsv")))
    assert (code, out) == (2, "") and err.startswith("error: two files to validate: ")
    assert run(capsys, "validate", str(DEMO), "--customers", str(DEMO))[0] == 0  # the same file twice is one


def test_explain_json_holds_what_the_text_shows(capsys):
    code, out, _ = run(capsys, "explain", "acme-sales", "--at", "2027-07-06T12:15:00-04:00", "--json")
    data = json.loads(out)
    assert code == 0 and data["chain"] == ["acme-sales", "acme"] and data["localTime"] == "2027-07-06T12:15:00"
    assert (data["timeZoneId"], data["zoneOrigin"], data["forceClosed"]) == ("America/New_York", None, False)
    lunch = next(r for r in data["rules"] if r["name"] == "Lunch")
    assert lunch == {"index": 8, "ruleId": "r-acme-lunch", "name": "Lunch", "priority": 50, "kind": "Time",
                     "state": "Lunch", "verdict": "matched", "why": "inside a window at Tue 12:15:00 local"}
    state_at = json.loads(run(capsys, "state-at", "acme-sales", "--at", "2027-07-06T12:15:00-04:00", "--json")[1])
    assert data["result"] == state_at


def test_an_end_before_a_start_in_a_gap_is_shown_in_local_time(capsys):
    """Probes I and K: the refusal printed both bounds in UTC, and did not say that 02:15 on Lord
    Howe's spring-forward day (skipped: 02:00 -> 02:30) reads as 02:45, after the 02:40 typed."""
    code, out, err = run(capsys, "timeline", "acme-lordhowe", "--start", "2024-10-06T02:15",
                         "--end", "2024-10-06T02:40")
    assert (code, out) == (2, "")
    assert err == ("error: the timeline's end 2024-10-06T02:40:00+11:00 is before its start 2024-10-06T02:45:00+11:00 "
                   "(Australia/Lord_Howe; a naive time the clock skips is read after the jump, with the offset "
                   "before it)\n")
