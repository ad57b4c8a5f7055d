"""The demo tree (fixtures/demo.json) and the large-tree generator (fixtures/generate.py)."""

from __future__ import annotations

import calendar
import io
import json
import os
import subprocess
import sys
import zoneinfo
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from conftest import load_generator
from tzlocal.windows_tz import win_tz

from schedengine.records import Customer, field_warnings, parse_model

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")  # date.weekday()
MON_FRI = set(WEEKDAYS[:5])


@pytest.fixture(scope="module")
def generator() -> Any:
    return load_generator()


@pytest.fixture(scope="module")
def demo() -> list[dict[str, Any]]:
    return json.loads((FIXTURES / "demo.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def by_id(demo: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {record["id"]: record for record in demo}


@pytest.fixture(scope="module")
def sample(generator: Any) -> list[dict[str, Any]]:
    return list(generator.generate_records(10_000, seed=2024))


# ----------------------------------------------------------------------- helpers

def check_tree(records: list[dict[str, Any]]) -> None:
    """Unique ids, every parent exists and comes first, breadcrumbs root-first ending in self."""
    seen: dict[str, dict[str, Any]] = {}
    for i, record in enumerate(records):
        cid = record["id"]
        assert cid not in seen, f"customers[{i}]: duplicate id {cid!r}"
        parent_id = record.get("parentCustomerId")
        crumb = {"id": cid, "name": record["name"]}
        if parent_id:
            assert parent_id in seen, f"customers[{i}] ({cid}): parent {parent_id!r} missing or after its child"
            assert record["breadcrumb"] == [*seen[parent_id]["breadcrumb"], crumb], cid
        else:
            assert record["breadcrumb"] == [crumb], cid
        seen[cid] = record


def is_known_zone(zone: str) -> bool:
    if zone in win_tz:
        return True
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def nth_weekday(year: int, month: int, offset: int, weekday: str) -> date:
    days = [date(year, month, d) for d in range(1, calendar.monthrange(year, month)[1] + 1)]
    matching = [d for d in days if WEEKDAYS[d.weekday()] == weekday]
    return matching[offset - 1] if offset > 0 else matching[offset]


def starts_on_occurrence(rule: dict[str, Any]) -> bool:
    """Is the rule's StartDate one of its own occurrences (so DTSTART quirks cannot matter)?"""
    start = date.fromisoformat(rule["startDate"][:10])
    frequency = rule.get("frequency")
    if frequency in ("Weekly", "Monthly", "Yearly") and rule.get("byDay"):
        for entry in rule["byDay"]:
            offset = entry.get("offset") or 0
            if offset and nth_weekday(start.year, start.month, offset, entry["dayOfWeek"]) == start:
                break
            if not offset and WEEKDAYS[start.weekday()] == entry["dayOfWeek"]:
                break
        else:
            return False
    if rule.get("byMonth") and start.month not in rule["byMonth"]:
        return False
    if rule.get("byMonthDay") and start.day not in rule["byMonthDay"]:
        return False
    return True


def rule_types(records: list[dict[str, Any]]) -> Counter[str]:
    return Counter(rule.get("simpleRuleType", "?") for r in records for rule in r["schedule"].get("rules") or ())


# ---------------------------------------------------------------------- demo tree

DEMO_IDS = {
    "acme", "acme-sales", "acme-support", "acme-support-tier2", "acme-london", "acme-sydney", "acme-lordhowe",
    "acme-branch-closed", "acme-chicago", "acme-events", "globex", "globex-berlin-ops",
}


def test_every_demo_record_parses(demo: list[dict[str, Any]]) -> None:
    for i, record in enumerate(demo):
        customer = parse_model(Customer, record, f"customers[{i}]")
        assert list(field_warnings(customer, f"customers[{i}]")) == []
        assert customer.to_wire() == record  # camelCase, nothing lost, nothing null


def test_demo_tree_is_consistent(demo: list[dict[str, Any]]) -> None:
    assert {r["id"] for r in demo} == DEMO_IDS
    check_tree(demo)


def test_demo_zones_are_iana_or_windows_names(demo: list[dict[str, Any]]) -> None:
    for record in demo:
        zone = record["schedule"].get("timeZoneId") or ""
        if zone:
            assert is_known_zone(zone), (record["id"], zone)
        else:  # empty zone: only inheriting customers and the zone-cascade example
            assert record["schedule"]["inherit"] or record["id"] == "acme-events", record["id"]


@pytest.mark.parametrize("name, month, expected", [
    ("New Year's Day", 1, {"byMonthDay": [1]}),
    ("Martin Luther King Jr. Day", 1, {"byDay": [{"offset": 3, "dayOfWeek": "Monday"}]}),
    ("Memorial Day", 5, {"byDay": [{"offset": -1, "dayOfWeek": "Monday"}]}),
    ("Juneteenth", 6, {"byMonthDay": [19]}),
    ("Independence Day", 7, {"byMonthDay": [4]}),
    ("Labor Day", 9, {"byDay": [{"offset": 1, "dayOfWeek": "Monday"}]}),
    ("Thanksgiving Day", 11, {"byDay": [{"offset": 4, "dayOfWeek": "Thursday"}]}),
    ("Christmas Day", 12, {"byMonthDay": [25]}),
])
def test_acme_federal_holidays(by_id: dict[str, dict[str, Any]], name: str, month: int,
                               expected: dict[str, Any]) -> None:
    rules = by_id["acme"]["schedule"]["rules"]
    (rule,) = [r for r in rules if r["name"] == name]
    top = max(r["priority"] for r in rules)
    assert (rule["frequency"], rule["state"], rule["isAllDay"], rule["priority"]) == ("Yearly", "Holiday", True, top)
    assert rule["byMonth"] == [month]
    assert {k: rule[k] for k in expected} == expected
    assert "byDay" not in expected or "byMonthDay" not in rule  # actual dates, no observed-day shifting


def time_rules(record: dict[str, Any], state: str) -> list[tuple[str, set[str], str, str]]:
    return [(r["frequency"], {d["dayOfWeek"] for d in r.get("byDay") or ()}, r.get("startTime"), r.get("endTime"))
            for r in record["schedule"]["rules"] if r.get("state") == state and r.get("simpleRuleType") == "Time"]


def test_demo_acme(by_id: dict[str, dict[str, Any]]) -> None:
    acme = by_id["acme"]
    schedule = acme["schedule"]
    assert (schedule["timeZoneId"], schedule["defaultState"], schedule["inherit"]) == (
        "America/New_York", "After Hours", False)
    assert sorted(time_rules(acme, "Business Hours")) == [
        ("Weekly", MON_FRI, "09:00", "17:00"), ("Weekly", {"Saturday"}, "10:00", "14:00")]
    (lunch,) = [r for r in schedule["rules"] if r["state"] == "Lunch"]
    assert time_rules(acme, "Lunch") == [("Weekly", MON_FRI, "12:00", "13:00")] and lunch["flowId"]
    assert lunch["priority"] > max(r["priority"] for r in schedule["rules"] if r["state"] == "Business Hours")
    assert acme["overrideBillingSettings"] and acme["overrideAppSettings"]
    assert acme["billingSettings"] and acme["appSettings"]["pageTitle"] and acme["integrationData"] and acme["data"]


@pytest.mark.parametrize("customer_id, parent_id", [
    ("acme-sales", "acme"), ("acme-support-tier2", "acme-support"), ("globex-berlin-ops", "globex"),
])
def test_demo_inheriting_customers(by_id: dict[str, dict[str, Any]], customer_id: str, parent_id: str) -> None:
    record = by_id[customer_id]
    assert record["parentCustomerId"] == parent_id
    assert record["schedule"]["inherit"] is True and not record["schedule"]["rules"]


def test_demo_acme_support(by_id: dict[str, dict[str, Any]]) -> None:
    record = by_id["acme-support"]
    rules = record["schedule"]["rules"]
    top = max(rules, key=lambda r: r["priority"])
    assert (top["simpleRuleType"], top["customerState"], top["state"]) == ("CustomerState", "Holiday", "Holiday")
    assert time_rules(record, "Night Desk") == [("Daily", set(), "22:00", "06:00")]  # crosses midnight
    assert time_rules(record, "Business Hours") == [("Weekly", MON_FRI, "08:00", "20:00")]
    assert record["schedule"]["defaultState"] == "After Hours"


def test_demo_acme_london(by_id: dict[str, dict[str, Any]]) -> None:
    record = by_id["acme-london"]
    rules = record["schedule"]["rules"]
    assert record["parentCustomerId"] == "acme" and record["schedule"]["timeZoneId"] == "Europe/London"
    assert [r["customerState"] for r in rules if r["simpleRuleType"] == "CustomerState"] == ["Holiday"]
    one_offs = {r["startDate"] for r in rules if r.get("frequency") == "None" and r.get("isAllDay")}
    assert {"2027-05-03", "2027-05-31", "2027-08-30", "2027-12-27", "2027-12-28"} <= one_offs
    assert all(date.fromisoformat(d).weekday() < 5 for d in one_offs)  # bank holidays (and substitutes): weekdays
    assert time_rules(record, "Business Hours") == [("Weekly", MON_FRI, "09:00", "17:30")]


def test_demo_other_offices(by_id: dict[str, dict[str, Any]]) -> None:
    sydney = by_id["acme-sydney"]
    assert sydney["schedule"]["timeZoneId"] == "Australia/Sydney"
    assert ("Weekly", MON_FRI, "08:30", "17:00") in time_rules(sydney, "Business Hours")
    assert [r["state"] for r in sydney["schedule"]["rules"] if r.get("condition") == "queue.depth > 10"] == ["Overflow"]

    lord_howe = by_id["acme-lordhowe"]
    assert lord_howe["schedule"]["timeZoneId"] == "Australia/Lord_Howe"
    assert time_rules(lord_howe, "Business Hours") == [("Weekly", MON_FRI, "09:00", "17:00")]

    closed = by_id["acme-branch-closed"]["schedule"]
    assert closed["forceClosed"] is True and closed["rules"]

    chicago = by_id["acme-chicago"]
    assert chicago["schedule"]["timeZoneId"] == "Central Standard Time"
    assert win_tz["Central Standard Time"] == "America/Chicago"
    assert time_rules(chicago, "Business Hours") == [("Weekly", MON_FRI, "08:00", "16:00")]
    (maintenance,) = [r for r in chicago["schedule"]["rules"] if r["state"] == "Maintenance"]
    assert {k: maintenance[k] for k in ("frequency", "startDate", "startTime", "untilDate", "endTime")} == {
        "frequency": "None", "startDate": "2027-03-14", "startTime": "02:00",
        "untilDate": "2027-03-14", "endTime": "04:00"}  # 2027-03-14 02:00-03:00 does not exist in Chicago

    globex = by_id["globex"]
    assert "parentCustomerId" not in globex and globex["schedule"]["timeZoneId"] == "Europe/Berlin"


def test_demo_acme_events(by_id: dict[str, dict[str, Any]]) -> None:
    record = by_id["acme-events"]
    schedule = record["schedule"]
    assert record["parentCustomerId"] == "acme" and schedule["timeZoneId"] == "" and not schedule["inherit"]
    by_state = {r["state"]: r for r in schedule["rules"]}
    always = by_state["Closed"]
    assert always["simpleRuleType"] == "Always"
    assert always["priority"] == min(r["priority"] for r in schedule["rules"])
    town_hall = by_state["Town Hall"]
    assert (town_hall["frequency"], town_hall["interval"], town_hall["byDay"]) == (
        "Monthly", 1, [{"offset": 2, "dayOfWeek": "Tuesday"}])
    assert (town_hall["startTime"], town_hall["endTime"]) == ("18:00", "20:00")
    anniversary = by_state["Anniversary"]
    assert (anniversary["frequency"], anniversary["count"], anniversary["startDate"]) == ("Yearly", 5, "2024-03-03")
    assert "untilDate" not in anniversary


def test_demo_recurring_rules_start_on_an_occurrence(demo: list[dict[str, Any]]) -> None:
    for record in demo:
        for rule in record["schedule"].get("rules") or ():
            if rule.get("startDate") and rule.get("frequency") not in (None, "None", "Daily"):
                assert starts_on_occurrence(rule), (record["id"], rule["id"])


# ---------------------------------------------------------------------- generator

def test_generator_is_deterministic(generator: Any, sample: list[dict[str, Any]]) -> None:
    again = list(generator.generate_records(10_000, seed=2024))
    assert json.dumps(again) == json.dumps(sample)
    other = list(generator.generate_records(1_000, seed=2025))
    assert json.dumps(other) != json.dumps(sample[:1_000])


def test_generator_shorter_run_is_a_prefix(generator: Any, sample: list[dict[str, Any]]) -> None:
    assert json.dumps(list(generator.generate_records(777, seed=2024))) == json.dumps(sample[:777])


def test_generator_does_not_depend_on_hash_seed(generator: Any, tmp_path: Path) -> None:
    out = tmp_path / "tree.jsonl"
    env = dict(os.environ, PYTHONHASHSEED="12345")
    subprocess.run([sys.executable, str(FIXTURES / "generate.py"), "--customers", "300", "--seed", "9",
                    "--format", "jsonl", "-o", str(out)], check=True, env=env)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == list(generator.generate_records(300, seed=9))


def test_generator_tree_shape(sample: list[dict[str, Any]]) -> None:
    assert len(sample) == 10_000
    check_tree(sample)
    depths = Counter(len(r["breadcrumb"]) for r in sample)
    assert max(depths) == 6 and depths[1] > 20  # a forest, nested up to 6 levels
    assert all(r["schedule"]["inherit"] is False for r in sample if not r.get("parentCustomerId"))


def test_generator_about_70_percent_inherit(sample: list[dict[str, Any]]) -> None:
    inheriting = [r for r in sample if r["schedule"]["inherit"]]
    assert 0.67 <= len(inheriting) / len(sample) <= 0.73
    assert all(not r["schedule"]["rules"] for r in inheriting)
    assert all(r["schedule"]["rules"] for r in sample if not r["schedule"]["inherit"])


def test_every_generated_record_parses(sample: list[dict[str, Any]]) -> None:
    for i, record in enumerate(sample):
        customer = parse_model(Customer, record, f"customers[{i}]")
        assert list(field_warnings(customer)) == [], record["id"]


def test_generated_schedules_are_varied(sample: list[dict[str, Any]]) -> None:
    own = [r for r in sample if not r["schedule"]["inherit"]]
    zones = Counter(r["schedule"]["timeZoneId"] for r in own)
    assert all(is_known_zone(z) for z in zones if z)
    assert len([z for z in zones if z and z not in win_tz]) >= 20
    assert any(z in win_tz for z in zones) and zones[""] > 0  # Windows names; zone cascade
    assert {"Australia/Lord_Howe", "America/Phoenix", "Asia/Kolkata"} <= set(zones)
    assert set(rule_types(own)) == {"Time", "CustomerState", "Always"}
    rules = [rule for r in own for rule in r["schedule"]["rules"]]
    assert {rule.get("frequency") for rule in rules} >= {"None", "Daily", "Weekly", "Monthly", "Yearly"}
    assert any(rule.get("frequency") == "None" and rule.get("isAllDay") for rule in rules)  # per-customer closures
    assert any(rule.get("condition") for rule in rules)
    crosses_midnight = [rule for rule in rules if rule.get("state") in ("Night Desk", "On Call")]
    assert crosses_midnight
    assert len({json.dumps([{k: v for k, v in rule.items() if k not in ("id", "flowId", "flowParams")}
                            for rule in r["schedule"]["rules"] if rule.get("frequency") != "None"])
                for r in own}) >= 200
    assert any(r["schedule"]["forceClosed"] for r in own)


def test_generated_recurring_rules_start_on_an_occurrence(sample: list[dict[str, Any]]) -> None:
    for record in sample:
        for rule in record["schedule"]["rules"]:
            if rule.get("frequency") not in (None, "None", "Daily"):
                assert starts_on_occurrence(rule), (record["id"], rule)


@pytest.mark.parametrize("max_depth", [1, 2, 3])
def test_generator_max_depth(generator: Any, max_depth: int) -> None:
    records = list(generator.generate_records(2_000, seed=5, max_depth=max_depth))
    assert len(records) == 2_000
    check_tree(records)
    assert max(len(r["breadcrumb"]) for r in records) == max_depth


def test_generator_streams_and_checks_arguments(generator: Any) -> None:
    records = generator.generate_records(10**9, seed=1)  # lazy: nothing is built up front
    assert iter(records) is records and next(records)["id"]
    assert list(generator.generate_records(0, seed=1)) == []
    for bad in ({"n": -1}, {"n": 10, "max_depth": 0}, {"n": 1.5}):
        with pytest.raises(ValueError):
            generator.generate_records(**{"seed": 1, **bad})  # raised at the call, not at next()


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
@pytest.mark.parametrize("n", [0, 1, 2_500])
def test_generator_cli_writes_what_generate_records_yields(generator: Any, tmp_path: Path, fmt: str,
                                                           n: int) -> None:
    out = tmp_path / f"tree.{fmt}"
    assert generator.main(["--customers", str(n), "--seed", "11", "--format", fmt, "-o", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    loaded = json.loads(text) if fmt == "json" else [json.loads(line) for line in text.splitlines()]
    assert loaded == list(generator.generate_records(n, seed=11))
    buffer = io.StringIO()
    assert generator.write_records(generator.generate_records(n, seed=11), buffer, fmt) == n
    assert buffer.getvalue() == text


def test_generator_into_a_pipe_closed_early_prints_no_traceback() -> None:
    """`generate.py -n 500 | head` (fixtures/README.md) printed a BrokenPipeError traceback."""
    script = Path(__file__).resolve().parent.parent / "fixtures" / "generate.py"
    done = subprocess.run(f"'{sys.executable}' '{script}' -n 500 | head -c 100 > /dev/null; echo ${{PIPESTATUS[0]}}",
                          shell=True, executable="/bin/bash", capture_output=True, text=True)
    assert done.stderr == "" and done.stdout.strip() in ("0", "141")
