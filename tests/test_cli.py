"""Every CLI verb on the demo tree, through main(argv): output, JSON form, exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from schedengine.cli import main

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
    assert code == 0 and len(out.strip().splitlines()) == 5 and "Lunch" in out


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
        'error: customer "a": parent chain forms a cycle: a -> b -> a',
        'error: customers[4] (id "root"): duplicate id, already used by customers[0]',
        'error: customers[5] (id "late").schedule.rules[0] (id "r1").startTime: "25:00" is not a time (expected HH:MM)',
        "error: customers[6]: the customer has no id (every customer needs a non-empty id)"]
    assert out.endswith("7 customers, 0 warning(s), 5 error(s)\n")


def test_validate_json_lines_reports_each_broken_line(capsys, tmp_path):
    path = _write(tmp_path, "tree.jsonl", [{"id": "a"}, '{"id": broken', "", {"id": "c", "parentCustomerId": "a"},
                                           "[1, 2]", {"id": "d", "Foo": 1}])
    code, out, err = run(capsys, "validate", str(path))
    assert code == 1
    assert err.splitlines() == [f"error: {path}: line 2, column 8: not valid JSON: Expecting value",
                                "error: customers[3]: expected a customer object, found list"]
    assert out.splitlines() == ["warning: customers[4] (id \"d\"): unknown field 'Foo' is ignored",
                                f"{path}: 5 customers, 1 warning(s), 2 error(s)"]


@pytest.mark.parametrize("name, content, fragment", [
    ("missing.json", None, "cannot read"),
    ("syntax.json", '[{"id": "a"},\n {"id": }]', "line 2, column 9: not valid JSON"),
    ("utf16.json", '[{"id": "a"}]'.encode("utf-16"), "not UTF-8 text"),
    ("shape.json", '{"a": [], "b": []}', "expected a list of customers"),
    ("broken.jsv", "[{Id:a,Schedule:{TimeZoneId:UTC}", "broken.jsv: JSV line 1, column 33"),
])
def test_validate_a_file_that_cannot_be_read_is_invalid_input(capsys, tmp_path, name, content, fragment):
    """Exit 2 like every other verb (it was 1, "validate found errors")."""
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    code, out, err = run(capsys, "validate", str(path))
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
