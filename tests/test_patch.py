"""PATCH /customers/{customerId} (SPEC §6): every field, rejections that
change nothing, queries that follow the patch (descendants, CustomerState
readers in other zones) without recompiling the tree, readers on other
threads, and the `schedengine patch` verb."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import load_generator

from schedengine import Engine, PatchCustomer, PatchError, UnknownCustomerError
from schedengine.cli import main
from schedengine.errors import RecordError, RuleError, TreeError
from schedengine.patching import plan_patch
from schedengine.results import Change
from schedengine.testing import customer_trees, instants, schedules
from schedengine.wire import decode, detect_format, dump_customers, encode, load_customers

freezegun = pytest.importorskip("freezegun")  # a declared test dependency

UTC = timezone.utc
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
DEMO = FIXTURES / "demo.json"

# Wed 2027-03-10 in New York (EST, before the 2027-03-14 DST switch) and London (GMT).
NY_NIGHT = "2027-03-10T09:30:00Z"  # 04:30 New York, 09:30 London
NY_DAY = "2027-03-10T16:00:00Z"  # 11:00 New York, 16:00 London
NEXT_DAY = "2027-03-11T16:00:00Z"
JULY = "2027-07-06T16:15:00Z"
INSTANTS = (NY_NIGHT, NY_DAY, NEXT_DAY, JULY)

# A one-off all-day closure of Acme on 2027-03-10 (New York wall clock).
CLOSURE = {"id": "r-acme-closure", "name": "Emergency closure", "priority": 200, "state": "Holiday",
           "simpleRuleType": "Time", "frequency": "None", "isAllDay": True, "startDate": "2027-03-10"}


@pytest.fixture(params=["compiled", "reference"])
def engine(request: pytest.FixtureRequest) -> Engine:
    return Engine.from_file(DEMO, mode=request.param)


def snapshot(engine: Engine) -> tuple[Any, ...]:
    """Everything a caller can observe: the records and a grid of answers."""
    ids = engine.tree.ids()
    return (engine.tree, engine.dumps(),
            [engine.state_at(c, at) for c in ids for at in INSTANTS],
            [engine.next_change(c, NY_DAY) for c in ids])


def with_closure(engine: Engine) -> dict[str, Any]:
    schedule = engine.tree.customer("acme").schedule.to_wire()
    schedule["rules"] = [CLOSURE, *schedule["rules"]]
    return {"schedule": schedule}


def fresh(engine: Engine) -> Engine:
    """An engine built from scratch on the same records: no shared caches."""
    return Engine.from_records(engine.customers(), policy=engine.policy, mode=engine.mode)


def canonical(engine: Engine) -> str:
    """The records written from their models (an engine loaded from a file
    writes records as read, a fresh one from models)."""
    return dump_customers(engine.customers(), "json")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# ------------------------------------------------------------ every field

FIELD_CASES: list[tuple[str, str, dict[str, Any], Callable[[Engine], None]]] = [
    ("parentCustomerId", "acme-support", {"parentCustomerId": "globex"}, lambda e: (
        e.tree.parent_id("acme-support") == "globex"
        and [c.id for c in e.tree.customer("acme-support-tier2").breadcrumb]
        == ["globex", "acme-support", "acme-support-tier2"]
        and "acme-support" in e.tree.children("globex") and "acme-support" not in e.tree.children("acme"))),
    ("name", "acme", {"name": "Acme Inc."}, lambda e: (
        e.tree.customer("acme").name == "Acme Inc."
        and all(e.tree.customer(c).breadcrumb[0].name == "Acme Inc." for c in e.tree.descendants("acme"))
        and [c.name for c in e.tree.customer("acme-lordhowe").breadcrumb]
        == ["Acme Inc.", "Acme Australia (Sydney)", "Acme Lord Howe Island Office"])),
    ("referenceId", "acme-sales", {"referenceId": "ERP-42"}, lambda e: (
        e.tree.customer("acme-sales").reference_id == "ERP-42")),
    ("data (replaced, not merged)", "acme", {"data": {"tier": {"stringValue": "Platinum"}}}, lambda e: (
        {k: v.to_wire() for k, v in e.tree.customer("acme").data.items()}
        == {"tier": {"stringValue": "Platinum"}})),
    ("tagIds (resolved, ordered, deduplicated)", "acme-support",
     {"tagIds": ["tag-vip", "tag-pilot", "tag-vip"]}, lambda e: (
        [t.to_wire() for t in e.tree.customer("acme-support").tags]
        == [{"id": "tag-vip", "name": "VIP", "color": "Orange"},
            {"id": "tag-pilot", "name": "Pilot", "color": "Lime"}])),
    ("tagIds empty list clears", "acme", {"tagIds": []}, lambda e: e.tree.customer("acme").tags == []),
    ("schedule (replaced, not merged)", "acme-support",
     {"schedule": {"timeZoneId": "Europe/London", "rules": [
         {"id": "r-open", "state": "Open", "simpleRuleType": "Always"}]}}, lambda e: (
        e.tree.customer("acme-support").schedule.to_wire()
        == {"timeZoneId": "Europe/London", "rules": [{"id": "r-open", "state": "Open", "simpleRuleType": "Always"}]}
        and e.state_at("acme-support-tier2", JULY).state == "Open"
        and e.state_at("acme-support-tier2", JULY).time_zone == "Europe/London")),
    ("overrideBillingSettings + billingSettings", "acme-support",
     {"overrideBillingSettings": True, "billingSettings": {"base": {"baseCost": 5}}}, lambda e: (
        e.tree.customer("acme-support").billing_settings.to_wire() == {"base": {"baseCost": 5.0}}
        and e.tree.effective_billing_settings("acme-support-tier2").to_wire() == {"base": {"baseCost": 5.0}}
        and e.tree.effective_billing_settings("acme-sales") == e.tree.customer("acme").billing_settings)),
    ("overrideBillingSettings false", "acme-support", {"overrideBillingSettings": False}, lambda e: (
        e.tree.customer("acme-support").override_billing_settings is False)),
    ("overrideAppSettings + appSettings (replaced, not merged)", "acme-support",
     {"overrideAppSettings": True, "appSettings": {"enableSms": False}}, lambda e: (
        e.tree.customer("acme-support").app_settings.to_wire() == {"enableSms": False}
        and e.tree.effective_app_settings("acme-support-tier2").page_title is None)),
    ("overrideAppSettings off: settings come from the root", "acme-support",
     {"overrideAppSettings": False}, lambda e: (
        e.tree.effective_app_settings("acme-support") == e.tree.customer("acme").app_settings)),
]


@pytest.mark.parametrize("customer, body, check", [c[1:] for c in FIELD_CASES], ids=[c[0] for c in FIELD_CASES])
def test_each_field_replaces_the_stored_value(engine, customer, body, check):
    before = engine.tree.customer(customer)
    returned = engine.patch(customer, body)
    assert returned == engine.tree.customer(customer)
    assert check(engine)
    # Every field the body did not set is as it was (tags stand for tagIds).
    named = {"tagIds": "tags"}
    touched = {named.get(k, k) for k in body} | {"dateLastModified", "breadcrumb"}
    old, new = before.to_wire(), returned.to_wire()
    assert {k: v for k, v in new.items() if k not in touched} == {k: v for k, v in old.items() if k not in touched}
    assert canonical(fresh(engine)) == canonical(engine)


def test_every_patch_customer_field_is_covered():
    covered = {key for _, _, body, _ in FIELD_CASES for key in body}
    fields = {PatchCustomer.model_fields[f].serialization_alias or f for f in PatchCustomer.model_fields}
    wire = {"parentCustomerId", "name", "referenceId", "data", "tagIds", "schedule", "overrideBillingSettings",
            "billingSettings", "overrideAppSettings", "appSettings"}
    assert wire <= covered
    assert len(fields) == len(wire) + 1  # + customerId, tested with the rejections


@pytest.mark.parametrize("body", [
    {},
    {"ParentCustomerId": None, "Name": None, "ReferenceId": None, "Data": None, "TagIds": None,
     "Schedule": None, "OverrideBillingSettings": None, "BillingSettings": None,
     "OverrideAppSettings": None, "AppSettings": None, "CustomerId": None},
], ids=["empty", "all-null"])
def test_absent_and_null_fields_are_untouched(engine, body):
    before = engine.tree.customer("acme-support").to_wire()
    after = engine.patch("acme-support", body).to_wire()
    del before["dateLastModified"], after["dateLastModified"]
    assert after == before


@pytest.mark.parametrize("key", ["ReferenceId", "referenceId", "referenceid", "REFERENCEID", "reference_id"])
def test_body_keys_match_in_any_case(key):
    engine = Engine.from_file(DEMO)
    assert engine.patch("acme", {key: "X-1"}).reference_id == "X-1"


def test_jsv_shaped_body_with_string_scalars():
    engine = Engine.from_file(DEMO)
    body = {"Schedule": {"TimeZoneId": "America/New_York", "ForceClosed": "false", "Rules": [
        {"Id": "r-247", "Priority": "10", "State": "Business Hours", "SimpleRuleType": "Always"}]},
        "OverrideAppSettings": "true"}
    customer = engine.patch("acme-support", body)
    assert customer.schedule.rules[0].priority == 10 and customer.override_app_settings is True
    assert engine.state_at("acme-support", NY_NIGHT).state == "Business Hours"


def test_a_patch_customer_model_is_accepted_and_copied():
    engine = Engine.from_file(DEMO)
    request = PatchCustomer.model_validate({"schedule": {"rules": [{"id": "r", "state": "Open",
                                                                     "simpleRuleType": "Always"}]}})
    engine.patch("acme-support", request)
    request.schedule.rules[0].state = "Mutated later"  # must not reach the stored record
    assert engine.tree.customer("acme-support").schedule.rules[0].state == "Open"
    assert engine.state_at("acme-support", JULY).state == "Open"


def test_matching_customer_id_in_the_body_is_accepted():
    engine = Engine.from_file(DEMO)
    assert engine.patch("acme", {"CustomerId": "acme", "Name": "Acme"}).name == "Acme"


def test_date_last_modified_and_actor():
    engine = Engine.from_file(DEMO)
    previous_actor = engine.tree.customer("acme-support").last_modified_by
    with freezegun.freeze_time("2027-07-05 14:30:15.123456"):
        customer = engine.patch("acme-support", {"name": "Support"}, actor="ops@acme.example")
    assert (customer.date_last_modified, customer.last_modified_by) == ("2027-07-05T14:30:15Z", "ops@acme.example")
    with freezegun.freeze_time(datetime(2027, 7, 6, 1, 2, 3, tzinfo=timezone(timedelta(hours=-4)))):
        customer = engine.patch("acme-sales", {})
    assert customer.date_last_modified == "2027-07-06T05:02:03Z"
    assert engine.tree.customer("acme-sales").last_modified_by == "dana.whitfield@example.com"
    assert previous_actor != "ops@acme.example"
    # Descendants whose breadcrumb changed keep their own modification stamp.
    assert engine.tree.customer("acme-support-tier2").date_last_modified != "2027-07-05T14:30:15Z"


def test_breadcrumbs_of_a_moved_subtree():
    engine = Engine.from_file(DEMO)
    engine.patch("acme-sydney", {"parentCustomerId": "globex-berlin-ops", "name": "Sydney"})
    crumbs = {c: [(b.id, b.name) for b in engine.tree.customer(c).breadcrumb] for c in ("acme-sydney", "acme-lordhowe")}
    assert crumbs == {
        "acme-sydney": [("globex", "Globex GmbH"), ("globex-berlin-ops", "Globex Berlin Operations"),
                        ("acme-sydney", "Sydney")],
        "acme-lordhowe": [("globex", "Globex GmbH"), ("globex-berlin-ops", "Globex Berlin Operations"),
                          ("acme-sydney", "Sydney"), ("acme-lordhowe", "Acme Lord Howe Island Office")],
    }


# --------------------------------------------------------------- rejections

REJECTIONS = [
    ("unknown parent", "acme-support", {"parentCustomerId": "acme-supprt"}, TreeError,
     'patch of "acme-support": parentCustomerId: parent "acme-supprt" does not exist in the tree '
     '(12 customers); did you mean "acme-support"?'),
    ("cycle", "acme", {"ParentCustomerId": "acme-lordhowe"}, TreeError,
     'patch of "acme": parentCustomerId: "acme-lordhowe" is a descendant of "acme", so the parent chain '
     'would form a cycle: acme -> acme-lordhowe -> acme-sydney -> acme'),
    ("self-parent", "acme-support", {"parentCustomerId": "acme-support"}, TreeError,
     'patch of "acme-support": parentCustomerId: a customer cannot be its own parent ("acme-support")'),
    ("empty parent", "acme-support", {"parentCustomerId": ""}, TreeError,
     'patch of "acme-support": parentCustomerId: an empty id names no parent'),
    ("unknown tag id", "acme-support", {"tagIds": ["tag-support", "tag-nope"]}, RecordError,
     'patch of "acme-support": tagIds[1]: unknown tag "tag-nope" (the tree knows 11 tag(s): tag-24x7, '),
    ("startTime 25:00", "acme-support", {"schedule": {"rules": [
        {"id": "r1", "state": "Open", "frequency": "Daily", "startTime": "25:00", "endTime": "26:00"}]}},
     RuleError, 'patch of "acme-support": schedule.rules[0] (id "r1").startTime: "25:00" is not a time'),
    ("byMonthDay 32", "acme", {"schedule": {"timeZoneId": "America/New_York", "rules": [
        {"id": "r-32", "state": "Holiday", "frequency": "Monthly", "byMonthDay": [32], "isAllDay": True}]}},
     RuleError, 'patch of "acme": schedule.rules[0] (id "r-32").byMonthDay[0]: 32 is out of range'),
    ("unknown zone", "acme-support", {"schedule": {"timeZoneId": "Mars/Olympus_Mons"}}, RecordError,
     'patch of "acme-support": schedule.timeZoneId: unknown time zone "Mars/Olympus_Mons"'),
    ("wrong type", "acme-support", {"schedule": {"rules": [{"priority": "high"}]}}, RecordError,
     'patch of "acme-support": schedule.rules[0].priority: "high" is not an integer'),
    ("body names another customer", "acme-support", {"customerId": "acme"}, RecordError,
     'patch of "acme-support": customerId: the body names "acme" but the request is for "acme-support"'),
    # A later field is bad: the earlier, valid ones must not be applied either.
    ("valid fields before a bad one", "acme-support",
     {"name": "Renamed", "data": {}, "tagIds": ["tag-vip", "missing"]}, RecordError,
     'patch of "acme-support": tagIds[1]: unknown tag "missing"'),
]


@pytest.mark.parametrize("customer, body, cause, message", [r[1:] for r in REJECTIONS], ids=[r[0] for r in REJECTIONS])
def test_rejected_patch_changes_nothing(engine, customer, body, cause, message):
    before = snapshot(engine)
    with pytest.raises(PatchError) as caught:
        engine.patch(customer, body, actor="someone")
    assert str(caught.value).startswith(message)
    assert isinstance(caught.value.__cause__, cause)
    assert isinstance(caught.value, ValueError)
    assert snapshot(engine) == before


def test_unknown_customer_raises_unknown_customer_error(engine):
    before = snapshot(engine)
    with pytest.raises(UnknownCustomerError, match='unknown customer "acme-nyc"') as caught:
        engine.patch("acme-nyc", {"name": "New York"})
    assert isinstance(caught.value, KeyError)
    assert snapshot(engine) == before


def test_non_mapping_request_is_rejected():
    engine = Engine.from_file(DEMO)
    with pytest.raises(PatchError, match="expected a PatchCustomer or a dict"):
        engine.patch("acme", [("name", "x")])  # type: ignore[arg-type]


def test_plan_patch_leaves_the_tree_alone():
    engine = Engine.from_file(DEMO)
    tree, text = engine.tree, engine.dumps()
    plan = plan_patch(tree, "acme", {"name": "Acme Inc."})
    assert plan.tree is not tree and engine.tree is tree and engine.dumps() == text
    assert plan.changed == ("name",)
    assert plan.rewritten[0] == "acme" and set(plan.rewritten) == {"acme", *tree.descendants("acme")}


# ---------------------------------------- queries follow the patch, everywhere

def test_descendants_and_readers_follow_a_patched_parent(engine):
    def states() -> dict[str, str]:
        return {c: engine.state_at(c, NY_DAY).state for c in engine.tree.ids()}

    before = states()
    assert {c: before[c] for c in ("acme", "acme-sales", "acme-support", "acme-support-tier2", "acme-london")} \
        == dict.fromkeys(("acme", "acme-sales", "acme-support", "acme-support-tier2", "acme-london"), "Business Hours")

    engine.patch("acme", with_closure(engine))

    after = states()
    changed = {c for c in after if after[c] != before[c]}
    # acme itself, the inheriting acme-sales, the CustomerState readers acme-support
    # (and its inheriting child) and acme-london; Sydney, Chicago... do not read acme.
    assert changed == {"acme", "acme-sales", "acme-support", "acme-support-tier2", "acme-london"}
    assert {after[c] for c in changed} == {"Holiday"}
    tier2 = engine.state_at("acme-support-tier2", NY_DAY)
    assert (tier2.owner_id, tier2.rule_id, tier2.flow_id) == ("acme-support", "r-support-holiday", "flow-support-holiday")
    assert engine.state_at("acme-sales", NY_DAY).rule_id == "r-acme-closure"
    assert engine.state_at("acme", NEXT_DAY).state == "Business Hours"  # a one-day closure
    # next_change / timeline / explain all see it.
    assert engine.next_change("acme-support-tier2", NY_DAY) == Change(at("2027-03-11T05:00:00Z"), "Night Desk")
    assert "r-acme-closure" in {s.rule_id for s in engine.timeline("acme-sales", NY_NIGHT, NEXT_DAY)}
    assert engine.explain("acme-support-tier2", NY_DAY).result.state == "Holiday"


def test_customer_state_reader_in_another_zone(engine):
    """acme-london (Europe/London) follows acme's (America/New_York) Holiday:
    the closure covers New York's whole day, 05:00Z to 05:00Z next day."""
    assert engine.state_at("acme-london", NY_NIGHT).state == "Business Hours"
    engine.patch("acme", with_closure(engine))
    london = engine.state_at("acme-london", NY_NIGHT)  # 09:30 London = 04:30 New York
    assert (london.state, london.rule_id, london.time_zone) == ("Holiday", "r-london-follow-acme", "Europe/London")
    assert london.until == at("2027-03-11T05:00:00Z")  # midnight in New York
    segments = [(s.start, s.end, s.state) for s in engine.timeline("acme-london", "2027-03-10T00:00:00Z",
                                                                      "2027-03-11T06:00:00Z")]
    assert (at("2027-03-10T05:00:00Z"), at("2027-03-11T05:00:00Z"), "Holiday") in segments
    assert engine.state_at("acme-london", "2027-03-11T09:30:00Z").state == "Business Hours"
    explanation = engine.explain("acme-london", NY_NIGHT)
    assert explanation.steps[0].verdict == "matched" and "'Holiday'" in explanation.steps[0].why


def test_answers_after_patches_equal_a_fresh_engine(engine):
    """No stale per-customer entry survives a patch: after a series of
    patches every answer equals that of an engine built from scratch."""
    ids = engine.tree.ids()
    for c in ids:  # warm every cache first
        for t in INSTANTS:
            engine.state_at(c, t)
    engine.patch("acme", with_closure(engine))
    engine.patch("acme-support", {"parentCustomerId": "globex"})
    engine.patch("acme-sydney", {"schedule": {"timeZoneId": "", "inherit": True}})
    engine.patch("acme-lordhowe", {"parentCustomerId": "acme-chicago"})  # its zone stays its own
    engine.patch("acme-sales", {"schedule": {"rules": [{"id": "s", "state": "Sales", "frequency": "Daily",
                                                         "startTime": "9:00 AM", "endTime": "5:00 PM"}]}})
    reference = fresh(engine)
    assert canonical(engine) == canonical(reference)
    for c in ids:
        for t in INSTANTS:
            assert engine.state_at(c, t) == reference.state_at(c, t), (c, t)
            assert engine.next_change(c, t) == reference.next_change(c, t), (c, t)
        assert engine.timeline(c, NY_NIGHT, NEXT_DAY) == reference.timeline(c, NY_NIGHT, NEXT_DAY), c
    # acme-support now reads globex: no Acme closure there.
    assert engine.state_at("acme-support", NY_DAY).state == "Business Hours"
    sales = engine.state_at("acme-sales", NY_DAY)  # no zone of its own: New York, from acme
    assert (sales.state, sales.time_zone) == ("Sales", "America/New_York")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=customer_trees(max_customers=6), data=st.data(),
       probes=st.lists(instants(), min_size=3, max_size=3))
def test_random_patches_on_a_warm_engine_equal_a_fresh_engine(records, data, probes):
    """Whatever a patch carries over (owners, zones, prepared schedules,
    compiled entries of customers outside the patched subtree) is exactly
    what a fresh engine would work out: random trees, every customer
    queried before each patch, three patches in a row."""
    engine = Engine.from_records(records)
    ids = engine.tree.ids()
    for _ in range(3):
        for c in ids:
            for t in probes:
                engine.state_at(c, t)
        target = data.draw(st.sampled_from(ids))
        below = {target, *engine.tree.descendants(target)}
        kind = data.draw(st.sampled_from(["parent", "schedule", "inherit"]))
        if kind == "parent" and len(below) < len(ids):
            body = {"parentCustomerId": data.draw(st.sampled_from([c for c in ids if c not in below]))}
        elif kind == "inherit" and engine.tree.parent_id(target) is not None:
            body = {"schedule": {"inherit": True}}
        else:
            body = {"schedule": data.draw(schedules(allow_customer_state=True))}
        engine.patch(target, body)
        reference = fresh(engine)
        for c in ids:
            for t in probes:
                assert engine.state_at(c, t) == reference.state_at(c, t), (target, body, c, t)


def test_alternating_two_schedules_compiles_each_form_once():
    engine = Engine.from_file(DEMO)
    store = engine._store
    original = engine.tree.customer("acme-support").schedule.to_wire()
    other = {"timeZoneId": "America/New_York", "defaultState": "Closed", "rules": [
        {"id": "b", "state": "Desk", "frequency": "Daily", "startTime": "06:00", "endTime": "18:00"}]}
    counts = []
    for i in range(6):
        engine.patch("acme-support", {"schedule": other if i % 2 == 0 else original})
        for c in ("acme-support", "acme-support-tier2"):
            for t in INSTANTS:
                engine.state_at(c, t)
        counts.append(store.chunks_compiled)
    assert counts[1] == counts[-1]  # after one A -> B -> A round, nothing is compiled again


def test_schedules_replaced_by_patches_are_not_kept_for_ever(monkeypatch):
    """A probe's: 20,000 "add a holiday" patches on the 12-customer demo left 20,011
    prepared schedules and 40,002 compiled forms, and RSS grew 20 KB a patch. Now
    what no customer uses is kept only among the ORPHANS_KEPT newest."""
    kept = 5
    monkeypatch.setattr("schedengine.tree.ORPHANS_KEPT", kept)
    monkeypatch.setattr("schedengine.compiled.ORPHANS_KEPT", kept)
    engine = Engine.from_file(DEMO)
    base = engine.tree.customer("acme").schedule.to_wire()
    sizes = []
    for i in range(60):
        holiday = {"id": f"h{i}", "state": "Holiday", "priority": 200, "isAllDay": True, "frequency": "None",
                   "startDate": (datetime(2027, 1, 4) + timedelta(days=i)).date().isoformat()}
        engine.patch("acme", {"schedule": {**base, "rules": [*base["rules"], holiday]}})
        assert engine.state_at("acme", holiday["startDate"] + "T12:00:00").state == "Holiday"
        engine.state_at("acme-sales", "2027-07-06T12:15:00-04:00")
        tree, store = engine.tree, engine._store
        sizes.append((len(tree._by_fingerprint), len(tree._windows), len(store.forms), len(store._order)))
    in_use = 12  # at most one schedule per customer
    assert max(s[0] for s in sizes) <= in_use + 2 * kept + 1
    assert max(s[2] for s in sizes) <= in_use + 2 * kept + 1
    assert max(s[3] for s in sizes) <= 2 * (in_use + 2 * kept + 1)  # a chunk or two a form here
    assert max(s[1] for s in sizes) < 60  # the demo's rules, and the kept schedules' holidays
    fresh_engine = Engine.from_records(engine.tree.records())
    for c in engine.tree.ids():
        for t in INSTANTS:
            assert engine.state_at(c, t) == fresh_engine.state_at(c, t)


def test_patch_recompiles_only_what_it_affects():
    """A patch on a 2,000-customer tree compiles chunks for the patched owner
    and the CustomerState readers below it, not for the tree."""
    engine = Engine.from_records(load_generator().generate_records(2000, seed=11))
    tree, store = engine.tree, engine._store
    ids = tree.ids()
    instants = ("2027-03-10T15:00:00Z", "2027-03-10T21:00:00Z")

    def answers() -> dict[tuple[str, str], Any]:
        # Resolved now (until is read lazily), so the chunk counts below are exact.
        return {(c, t): engine.state_at(c, t)._asdict() for c in ids for t in instants}

    def reads_from(owner: str) -> list[str]:
        """Owners below `owner` whose CustomerState rules read it."""
        return [d for d in tree.descendants(owner) if tree.owner_id(d) == d and tree.schedule(d).reads_parent
                and tree.owner_id(tree.parent_id(d)) == owner]

    # An owner with a small subtree holding both inheriting customers and readers.
    target = next(c for c in ids if tree.owner_id(c) == c and 3 <= len(tree.descendants(c)) <= 60
                  and reads_from(c) and any(tree.owner_id(d) == c for d in tree.descendants(c)))
    before = answers()
    warm = store.chunks_compiled
    assert answers() == before and store.chunks_compiled == warm  # warm means warm

    schedule = tree.customer(target).schedule.to_wire()
    schedule["rules"] = [{"id": "closed-today", "state": "Holiday", "priority": 1000, "frequency": "Daily",
                          "startDate": "2027-03-10", "startTime": "00:00", "endTime": "23:30", "count": 1},
                         *schedule.get("rules", ())]
    engine.patch(target, {"schedule": schedule})
    after = answers()
    delta = store.chunks_compiled - warm

    affected = {target, *engine.tree.descendants(target)}
    assert 0 < delta <= 4 * len(affected)  # two instants (+ one look-ahead) per affected customer at most
    assert delta * 100 < warm  # the tree was not recompiled
    changed = {c for (c, t) in after if after[c, t] != before[c, t]}
    assert changed <= affected
    assert any(engine.tree.owner_id(c) == target for c in changed - {target})  # an inheriting descendant
    assert set(reads_from(target)) & changed  # a CustomerState reader
    reference = Engine.from_records(engine.customers())
    assert after == {(c, t): reference.state_at(c, t)._asdict() for c in ids for t in instants}


def test_a_patch_on_a_lazily_read_tree_parses_and_prepares_only_what_it_affects(tmp_path, monkeypatch):
    """On a JSON Lines tree loaded with validate=False a patch parses only
    the records it reads, leaves the rest as text, and the customers it
    cannot affect keep their prepared schedules and compiled entries."""
    from schedengine import tree as tree_module

    path = tmp_path / "tree.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in load_generator().generate_records(2000, seed=5)))
    engine = Engine.from_file(path, validate=False)
    tree = engine.tree
    ids = tree.ids()
    at = "2027-03-10T15:00:00Z"
    for c in ids:
        engine.state_at(c, at)
    target = next(c for c in ids if tree.owner_id(c) == c and 2 <= len(tree.descendants(c)) <= 20)
    affected = {target, *tree.descendants(target)}

    parsed: list[str] = []
    prepared: list[str] = []
    real_parse, real_prepare = tree_module.parse_model, tree_module.CustomerTree._prepare
    monkeypatch.setattr(tree_module, "parse_model", lambda cls, raw, label: parsed.append(label) or
                        real_parse(cls, raw, label))
    monkeypatch.setattr(tree_module.CustomerTree, "_prepare", lambda self, owner: prepared.append(owner) or
                        real_prepare(self, owner))
    compiled_before = engine._store.chunks_compiled
    engine.patch(target, {"name": "Renamed", "schedule": {"timeZoneId": "Europe/London", "rules": [
        {"id": "open", "state": "Open", "simpleRuleType": "Always"}]}})
    assert len(parsed) <= 2 * len(affected) + 10  # the customer, its descendants, a few ancestors
    assert sum(isinstance(r, str) for r in engine.tree._customers.values()) >= len(ids) - len(affected)

    parsed.clear(), prepared.clear()
    for c in ids:
        if c not in affected:
            engine.state_at(c, at)
    assert parsed == [] and prepared == [] and engine._store.chunks_compiled == compiled_before
    assert engine.state_at(target, at).state == "Open"
    reference = Engine.from_records(engine.customers())
    for c in ids:
        assert engine.state_at(c, at) == reference.state_at(c, at), c


def test_a_tag_ids_patch_on_a_lazily_read_tree_reads_only_the_tags(tmp_path, monkeypatch):
    """Resolving tagIds needs every tag the tree defines: from records read
    lazily that is their tags, not whole models; the result is the eager one."""
    from schedengine import tree as tree_module
    from schedengine.records import Customer

    records = list(load_generator().generate_records(500, seed=8))
    path = tmp_path / "tree.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    lazy, eager = Engine.from_file(path, validate=False), Engine.from_records(records)
    target = records[-1]["id"]
    tag_ids = sorted({t["id"] for r in records for t in r.get("tags") or ()})[:2]
    assert len(tag_ids) == 2
    whole: list[str] = []
    real_parse = tree_module.parse_model
    monkeypatch.setattr(tree_module, "parse_model", lambda cls, raw, label: (
        whole.append(label) if cls is Customer else None) or real_parse(cls, raw, label))
    patched = lazy.patch(target, {"tagIds": tag_ids})
    assert len(whole) <= 10  # the customer and its ancestors, not the tree
    assert patched.tags == eager.patch(target, {"tagIds": tag_ids}).tags
    assert [t.id for t in patched.tags] == tag_ids


# ------------------------------------------------------------ concurrency

@pytest.mark.parametrize("loading", ["eager", "lazy"])
def test_readers_see_the_old_or_the_new_tree(loading, tmp_path, monkeypatch):
    """4 readers hammer queries while a writer swaps acme-support's schedule
    200 times: every answer is one of the two precomputed ones. Lazily: the
    demo as JSON Lines, with room for 2 parsed models, so readers evict
    models while the writer copies the caches."""
    if loading == "eager":
        engine = Engine.from_file(DEMO)
    else:
        from schedengine import tree as tree_module
        from schedengine.wire import dump_customers

        monkeypatch.setattr(tree_module, "MODEL_CACHE", 2)
        path = tmp_path / "demo.jsonl"
        path.write_text(dump_customers(load_customers(DEMO)[0], "jsonl"))
        engine = Engine.from_file(path, validate=False)
    schedule_a = engine.tree.customer("acme-support").schedule.to_wire()
    schedule_b = {"timeZoneId": "Europe/London", "defaultState": "Closed", "rules": [
        {"id": "b-desk", "name": "Desk", "priority": 5, "state": "Desk", "frequency": "Daily",
         "startTime": "06:00", "endTime": "18:00"}]}
    queries = [("state_at", c, t) for c in ("acme-support", "acme-support-tier2", "acme") for t in INSTANTS]
    queries += [("next_change", "acme-support-tier2", NY_DAY), ("timeline", "acme-support", NY_NIGHT)]

    def ask(e: Engine, query: tuple[str, str, str]) -> Any:
        verb, customer, when = query
        if verb == "timeline":
            return e.timeline(customer, when, NEXT_DAY)
        return getattr(e, verb)(customer, when)

    expected = []
    for schedule in (schedule_a, schedule_b):
        other = Engine.from_file(DEMO)
        other.patch("acme-support", {"schedule": schedule})
        expected.append([ask(other, q) for q in queries])
    assert expected[0] != expected[1]

    done = threading.Event()
    reads = [0]
    seen: set[int] = set()
    problems: list[str] = []

    def reader() -> None:
        while not done.is_set():
            for i, q in enumerate(queries):
                try:
                    answer = ask(engine, q)
                except Exception as exc:  # noqa: BLE001 - any exception is a failure
                    problems.append(f"{q}: {type(exc).__name__}: {exc}")
                    return
                if answer == expected[0][i]:
                    seen.add(0)
                elif answer == expected[1][i]:
                    seen.add(1)
                else:
                    problems.append(f"{q}: {answer!r} is neither answer")
                    return
                reads[0] += 1

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        for i in range(200):
            engine.patch("acme-support", {"schedule": schedule_b if i % 2 == 0 else schedule_a}, actor="writer")
            mark, deadline = reads[0], time.monotonic() + 5
            while reads[0] < mark + 8 and time.monotonic() < deadline and not problems:
                time.sleep(0)  # let the readers see this tree
    finally:
        done.set()
        for t in threads:
            t.join(timeout=30)
    assert not problems, problems[:5]
    assert seen == {0, 1}
    assert [ask(engine, q) for q in queries] == expected[0]  # 200 swaps: back to A


# ------------------------------------------------------------- to_file

@pytest.mark.parametrize("fmt, suffix", [("json", ".json"), ("jsonl", ".jsonl"), ("jsv", ".jsv")])
def test_to_file_keeps_the_input_format(tmp_path, fmt, suffix):
    path = tmp_path / f"customers{suffix}"
    Engine.from_file(DEMO).to_file(path, fmt)
    engine = Engine.from_file(path)
    assert engine.source_format == fmt
    engine.patch("acme", {"name": "Acme Inc."})
    engine.to_file(path)
    text = path.read_text(encoding="utf-8")
    assert detect_format(None, text) == fmt  # by content, not by the name
    customers, read_fmt = load_customers(path)
    assert read_fmt == fmt and customers == engine.customers()
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left


# ------------------------------------------------------------------- CLI

JSV_BODY = ("{Schedule:{TimeZoneId:America/New_York,DefaultState:After Hours,Rules:["
            "{Id:r-support-247,Name:Support 24x7,Priority:10,State:Business Hours,SimpleRuleType:Always}]}}")


@pytest.fixture
def tree_file(tmp_path, monkeypatch) -> Path:
    monkeypatch.delenv("SCHEDENGINE_CUSTOMERS", raising=False)
    path = tmp_path / "customers.json"
    shutil.copyfile(DEMO, path)
    return path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _stdin(body: str | bytes) -> io.TextIOWrapper:
    """A stand-in for sys.stdin, bytes underneath as the real one has."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")


def test_cli_patch_with_a_jsv_body(tree_file, tmp_path, capsys):
    body = tmp_path / "patch.jsv"
    body.write_text(JSV_BODY)
    code, out, _ = run(capsys, "state-at", "acme-support", "--at", NY_NIGHT, "--customers", str(tree_file))
    assert code == 0 and "Night Desk" in out

    with freezegun.freeze_time("2027-03-09 12:00:00"):
        code, out, err = run(capsys, "patch", "acme-support", str(body), "--customers", str(tree_file),
                             "--actor", "ops@acme.example")
    assert code == 0, err
    assert "changed     schedule" in out and "2027-03-09T12:00:00Z by ops@acme.example" in out
    assert f"written     {tree_file} (json)" in out

    code, out, _ = run(capsys, "state-at", "acme-support", "--at", NY_NIGHT, "--customers", str(tree_file))
    assert code == 0 and "Business Hours" in out and "Support 24x7" in out
    code, out, _ = run(capsys, "state-at", "acme-support-tier2", "--at", NY_NIGHT, "--json",
                       "--customers", str(tree_file))
    assert json.loads(out)["ruleId"] == "r-support-247"
    stored = {c.id: c for c in load_customers(tree_file)[0]}
    assert stored["acme-support"].last_modified_by == "ops@acme.example"
    assert detect_format(None, tree_file.read_text()) == "json"


def test_cli_patch_json_output_and_stdin_body(tree_file, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", _stdin('{"name": "Acme Support Desk", "tagIds": ["tag-vip"]}'))
    code, out, err = run(capsys, "patch", "acme-support", "-", "--customers", str(tree_file), "--json")
    assert code == 0, err
    info = json.loads(out)
    assert info["name"] == "Acme Support Desk" and info["tags"] == [{"id": "tag-vip", "name": "VIP", "color": "Orange"}]
    assert info["breadcrumb"][-1] == {"id": "acme-support", "name": "Acme Support Desk"}


def test_cli_patch_refuses_a_stdin_body_that_is_not_utf8(tree_file, capsys, monkeypatch):
    """Read as text, the undecodable byte became U+FFFD and was written."""
    original = tree_file.read_bytes()
    monkeypatch.setattr(sys, "stdin", _stdin(b'{"name": "caf\xe9"}'))
    code, out, err = run(capsys, "patch", "acme-support", "-", "--customers", str(tree_file))
    assert code != 0 and out == ""
    assert err.strip() == ("error: <stdin>: line 1: not UTF-8 text: byte 0xe9 at offset 13 cannot be decoded; "
                           "save the file as UTF-8")
    assert tree_file.read_bytes() == original


def test_cli_dry_run_prints_a_diff_and_writes_nothing(tree_file, tmp_path, capsys):
    body = tmp_path / "patch.jsv"
    body.write_text(JSV_BODY)
    original, mtime = tree_file.read_bytes(), tree_file.stat().st_mtime_ns
    code, out, err = run(capsys, "patch", "acme-support", str(body), "--customers", str(tree_file), "--dry-run")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[:2] == ["--- acme-support (stored)", "+++ acme-support (patched)"]
    assert '-        "id": "r-support-night",' in lines
    assert '+        "id": "r-support-247",' in lines
    assert "was not changed" in err
    assert tree_file.read_bytes() == original and tree_file.stat().st_mtime_ns == mtime
    assert sorted(p.name for p in tmp_path.iterdir()) == ["customers.json", "patch.jsv"]


def test_cli_refuses_to_write_the_bundled_demo(tmp_path, capsys, monkeypatch):
    import schedengine.cli as cli

    demo = tmp_path / "installed-demo.json"
    shutil.copyfile(DEMO, demo)
    monkeypatch.setattr(cli, "bundled_demo_path", lambda: str(demo))
    monkeypatch.delenv("SCHEDENGINE_CUSTOMERS", raising=False)
    body = tmp_path / "patch.json"
    body.write_text('{"name": "Renamed"}')
    original = demo.read_bytes()

    code, out, err = run(capsys, "patch", "acme", str(body))
    assert code == 2 and "--customers" in err and "bundled demo" in err and out == ""
    code, _, err = run(capsys, "patch", "acme", str(body), "--customers", str(demo))  # named explicitly
    assert code == 2 and "bundled demo" in err
    code, out, _ = run(capsys, "patch", "acme", str(body), "--dry-run")
    assert code == 0 and '+  "name": "Renamed",' in out.splitlines()
    assert demo.read_bytes() == original

    monkeypatch.setenv("SCHEDENGINE_CUSTOMERS", str(tmp_path / "mine.json"))
    shutil.copyfile(DEMO, tmp_path / "mine.json")
    code, _, err = run(capsys, "patch", "acme", str(body))
    assert code == 0, err
    assert demo.read_bytes() == original


def test_cli_write_is_atomic(tree_file, tmp_path, capsys, monkeypatch):
    body = tmp_path / "patch.json"
    body.write_text('{"name": "Renamed"}')
    original = tree_file.read_bytes()

    def failing_replace(src: Any, dst: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    code, out, err = run(capsys, "patch", "acme", str(body), "--customers", str(tree_file))
    assert code == 2 and "No space left on device" in err and "the file is unchanged" in err
    assert tree_file.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["customers.json", "patch.json"]


@pytest.mark.parametrize("fmt", ["jsonl", "jsv"])
def test_cli_patch_keeps_the_file_format(tmp_path, capsys, fmt, monkeypatch):
    monkeypatch.delenv("SCHEDENGINE_CUSTOMERS", raising=False)
    path = tmp_path / f"customers.{fmt}"
    Engine.from_file(DEMO).to_file(path, fmt)
    body = tmp_path / "patch.jsv"
    body.write_text("{ReferenceId:X-9}")
    code, out, err = run(capsys, "patch", "acme-sales", str(body), "--customers", str(path))
    assert code == 0, err
    assert f"written     {path} ({fmt})" in out
    assert detect_format(None, path.read_text()) == fmt
    assert {c.id: c for c in load_customers(path)[0]}["acme-sales"].reference_id == "X-9"


@pytest.mark.parametrize("argv, body, code, fragment", [
    (["acme-support"], '{"tagIds": ["tag-nope"]}', 2, 'error: patch of "acme-support": tagIds[0]: unknown tag "tag-nope"'),
    (["acme"], '{"parentCustomerId": "acme-lordhowe"}', 2, "would form a cycle: acme -> acme-lordhowe"),
    (["acme-nyc"], '{"name": "x"}', 3, 'customers.json: unknown customer "acme-nyc"'),
    (["acme"], '[{"name": "x"}]', 2, "must be one object"),
    (["acme"], "{name: [unclosed", 2, "error: "),
    (["acme"], "   ", 2, "the patch body is empty"),
])
def test_cli_rejections_exit_non_zero_and_write_nothing(tree_file, tmp_path, capsys, argv, body, code, fragment):
    patch_file = tmp_path / "body.txt"
    patch_file.write_text(body)
    original = tree_file.read_bytes()
    got, out, err = run(capsys, "patch", *argv, str(patch_file), "--customers", str(tree_file))
    assert (got, out) == (code, "")
    assert fragment in err and "Traceback" not in err
    assert tree_file.read_bytes() == original


def test_cli_warns_about_unknown_body_fields(tree_file, tmp_path, capsys):
    body = tmp_path / "patch.json"
    body.write_text('{"Shedule": {"forceClosed": true}, "name": "Acme"}')
    code, _, err = run(capsys, "patch", "acme", str(body), "--customers", str(tree_file))
    assert code == 0
    assert "warning: patch: unknown field 'Shedule' is ignored" in err


def test_cli_missing_body_file(tree_file, tmp_path, capsys):
    code, _, err = run(capsys, "patch", "acme", str(tmp_path / "nope.json"), "--customers", str(tree_file))
    assert code == 2 and "cannot read the patch body" in err


def test_cli_dry_run_on_the_installed_demo_tree(tmp_path, capsys, monkeypatch):
    from schedengine.cli import bundled_demo_path

    monkeypatch.delenv("SCHEDENGINE_CUSTOMERS", raising=False)
    monkeypatch.setattr(Engine, "to_file", lambda *a, **k: pytest.fail("must never write the package data"))
    demo = Path(bundled_demo_path())
    original = demo.read_bytes()
    body = tmp_path / "patch.jsv"
    body.write_text(JSV_BODY)
    code, out, _ = run(capsys, "patch", "acme-support", str(body), "--dry-run")
    assert code == 0 and out.startswith("--- acme-support (stored)\n+++ acme-support (patched)\n")
    code, out, err = run(capsys, "patch", "acme-support", str(body))
    assert (code, out) == (2, "") and "pass --customers FILE" in err
    assert demo.read_bytes() == original


def test_an_actor_that_is_not_a_string_is_refused():
    """Stored as given, a list made the written file unreadable."""
    engine = Engine.from_file(DEMO)
    before = engine.tree.customer("acme")
    with pytest.raises(PatchError, match=r"actor: \['bob'\] is not a string"):
        engine.patch("acme", {"name": "Renamed"}, actor=["bob"])
    assert engine.tree.customer("acme") == before


@pytest.mark.parametrize("actor", ["", "   ", "\t"])
def test_an_empty_actor_is_refused(actor, tmp_path, capsys, monkeypatch):
    """`--actor ""` (a script's unset variable) set lastModifiedBy to ""."""
    engine = Engine.from_file(DEMO)
    before = engine.tree.customer("acme")
    with pytest.raises(PatchError, match=r"^patch of \"acme\": actor: '.*' names nobody") as info:
        engine.patch("acme", {"name": "Renamed"}, actor=actor)
    assert isinstance(info.value.__cause__, RecordError)
    assert engine.tree.customer("acme") == before
    path = tmp_path / "tree.json"
    shutil.copy(DEMO, path)
    monkeypatch.setattr(sys, "stdin", _stdin('{"name": "Renamed"}'))
    code, _, err = run(capsys, "patch", "acme", "-", "--customers", str(path), "--actor", actor)
    assert code == 2 and "actor: " in err and "names nobody" in err
    assert path.read_bytes() == DEMO.read_bytes()


@pytest.mark.parametrize("fmt", ["json", "jsonl", "jsv"])
def test_cli_patch_rewrites_one_customer_not_the_file(tmp_path, capsys, fmt, monkeypatch):
    """Every record a patch did not change is written back as read -- fields
    no model knows, key spellings, numbers a float would round -- and the
    patched one keeps all that in the fields the patch left alone. Writing
    each record from its model used to drop them all, silently."""
    monkeypatch.delenv("SCHEDENGINE_CUSTOMERS", raising=False)
    records = json.loads(DEMO.read_text(encoding="utf-8"))
    sales = next(r for r in records if r["id"] == "acme-sales")
    sales["customField"] = {"keep": [1, 2]}
    sales["data"] = {"seats": {"numberValue": 12345678901234567890}}
    sales["ReferenceId"] = sales.pop("referenceId", "REF")
    support = next(r for r in records if r["id"] == "acme-support")
    support["legacyCode"] = "L-7"
    path = tmp_path / f"customers.{fmt}"
    path.write_text(encode(records, fmt), encoding="utf-8")
    before = decode(path.read_text(encoding="utf-8"), fmt)

    monkeypatch.setattr(sys, "stdin", _stdin('{"name": "Support Desk"}'))
    code, _, err = run(capsys, "patch", "acme-support", "-", "--customers", str(path), "--actor", "ops")
    assert code == 0, err
    after = decode(path.read_text(encoding="utf-8"), fmt)
    changed = {r["id"] for r, s in zip(after, before) if r != s}
    assert changed == {"acme-support", "acme-support-tier2"}  # the patched one, and a breadcrumb below it
    patched = next(r for r in after if r["id"] == "acme-support")
    old = next(r for r in before if r["id"] == "acme-support")
    assert patched["legacyCode"] == "L-7" and patched["name"] == "Support Desk" and patched["lastModifiedBy"] == "ops"
    assert list(patched) == list(old)  # in place: a diff of the file shows only what changed
    assert {k for k in patched if patched[k] != old[k]} == {"name", "breadcrumb", "dateLastModified", "lastModifiedBy"}
    assert Engine.from_file(path).tree.customer("acme-support").name == "Support Desk"


def test_writing_in_another_format_is_canonical(tmp_path):
    """Converting (JSON Lines in, JSV out) writes every record from its model."""
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps({"id": "a", "Name": "A", "customField": 1}) + "\n")
    engine = Engine.from_file(path, validate=False)
    assert json.loads(engine.dumps("jsonl")) == {"id": "a", "Name": "A", "customField": 1}
    assert engine.dumps("json") == encode([{"id": "a", "name": "A"}], "json")


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_a_lone_surrogate_is_written_back_as_its_escape(tmp_path, capsys, fmt, monkeypatch):
    """JSON reads "\\ud800" as a lone surrogate, which has no UTF-8 form: the
    write used to fail (the patch was lost, with a message naming nothing)."""
    monkeypatch.delenv("SCHEDENGINE_CUSTOMERS", raising=False)
    records = [{"id": "a", "name": "odd \ud800 name"}, {"id": "b"}]
    path = tmp_path / f"customers.{fmt}"
    path.write_text(encode(records, fmt).replace("\ud800", "\\ud800"), encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", _stdin('{"name": "B"}'))
    code, _, err = run(capsys, "patch", "b", "-", "--customers", str(path))
    assert code == 0, err
    assert "\\ud800" in path.read_text(encoding="utf-8")
    assert Engine.from_file(path).tree.customer("a").name == "odd \ud800 name"
    with pytest.raises(RecordError, match="lone surrogate"):
        Engine.from_file(path).to_file(tmp_path / "out.jsv", "jsv")
    assert not (tmp_path / "out.jsv").exists()


# ------------------------------------------------------------ the file as a whole

@pytest.mark.parametrize("fmt", ["json", "jsv"])
@pytest.mark.parametrize("validate", [True, False])
def test_a_patch_keeps_the_object_around_the_customer_list(tmp_path, fmt, validate):
    """{"Results": [...], "Total": ...} is read; it used to be written back as
    a bare list, dropping everything beside the list."""
    records = decode(DEMO.read_text(encoding="utf-8"), "json")
    document = {"Results": records, "Total": len(records), "Offset": 0, "Meta": {"exportedBy": "tool"}}
    path = tmp_path / f"wrapped.{fmt}"
    path.write_text(encode(document, fmt), encoding="utf-8")
    engine = Engine.from_file(path, validate=validate)
    engine.patch("acme", {"referenceId": "W"})
    engine.to_file(path)
    after = decode(path.read_text(encoding="utf-8"), fmt)
    assert list(after) == ["Results", "Total", "Offset", "Meta"]
    before = decode(encode(document, fmt), fmt)  # JSV has no numbers: "12"
    assert {k: v for k, v in after.items() if k != "Results"} == {k: v for k, v in before.items() if k != "Results"}
    assert [r["id"] for r in after["Results"]] == [r["id"] for r in records]
    assert Engine.from_file(path).tree.customer("acme").reference_id == "W"
    # In another format the records are written canonically, as a list.
    assert isinstance(decode(engine.dumps("jsonl" if fmt == "json" else "json"), "json" if fmt == "jsv" else "jsonl"),
                      list)


def test_a_file_holding_one_customer_object_stays_one_object(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("SCHEDENGINE_CUSTOMERS", raising=False)
    globex = next(r for r in decode(DEMO.read_text(encoding="utf-8"), "json") if r["id"] == "globex")
    path = tmp_path / "single.json"
    path.write_text(json.dumps(globex), encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", _stdin('{"referenceId": "S"}'))
    code, _, err = run(capsys, "patch", "globex", "-", "--customers", str(path))
    assert code == 0, err
    after = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(after, dict) and after["referenceId"] == "S" and after["id"] == "globex"


def test_a_patch_through_a_symlink_writes_the_file_it_names(tmp_path, capsys, monkeypatch):
    """os.replace onto the link used to replace the link with a plain file
    and leave the real file as it was."""
    monkeypatch.delenv("SCHEDENGINE_CUSTOMERS", raising=False)
    (tmp_path / "real").mkdir()
    real = tmp_path / "real" / "tree.json"
    shutil.copyfile(DEMO, real)
    link = tmp_path / "link.json"
    link.symlink_to(real)
    monkeypatch.setattr(sys, "stdin", _stdin('{"referenceId": "via-link"}'))
    code, _, err = run(capsys, "patch", "acme", "-", "--customers", str(link))
    assert code == 0, err
    assert link.is_symlink() and link.resolve() == real.resolve()
    assert Engine.from_file(real).tree.customer("acme").reference_id == "via-link"
    assert sorted(p.name for p in (tmp_path / "real").iterdir()) == ["tree.json"]  # no temporary left behind


def test_an_update_lock_waits_and_follows_a_replaced_file(tmp_path):
    """A second read-modify-write waits for the first; when the first has
    replaced the file, the second holds its lock on the new file."""
    from schedengine.wire import locked_for_update

    path = tmp_path / "customers.json"
    path.write_text("old", encoding="utf-8")
    acquired, seen = threading.Event(), []

    def second() -> None:
        with locked_for_update(path):
            acquired.set()
            seen.append(path.read_text(encoding="utf-8"))

    with locked_for_update(path):
        waiter = threading.Thread(target=second)
        waiter.start()
        assert not acquired.wait(0.5)  # held: the second waits
        fresh = tmp_path / "fresh.tmp"
        fresh.write_text("new", encoding="utf-8")
        os.replace(fresh, path)  # what a writer does
    waiter.join(10)
    assert acquired.is_set() and seen == ["new"]


def test_a_cli_patch_waits_for_another_update_of_the_file(tree_file):
    """Each process read the file, patched one customer and wrote it back:
    without a lock between processes, one of two concurrent patches was
    silently undone. Here another writer holds the lock and replaces the
    file; the CLI's patch must wait, then apply to the new content."""
    import subprocess
    from schedengine.wire import locked_for_update

    env = {**os.environ, "PYTHONPATH": str(FIXTURES.parent)}
    with locked_for_update(tree_file):
        proc = subprocess.Popen([sys.executable, "-m", "schedengine", "patch", "acme", "-", "--customers",
                                 str(tree_file)], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, env=env)
        proc.stdin.write(b'{"referenceId": "from-the-cli"}')
        proc.stdin.close()
        time.sleep(2)  # time to start, read and write, were it not waiting
        assert proc.poll() is None
        other = Engine.from_file(tree_file)
        other.patch("globex", {"referenceId": "from-the-other"})
        other.to_file(tree_file)
    assert proc.wait(120) == 0, proc.stderr.read()
    tree = Engine.from_file(tree_file).tree
    assert (tree.customer("acme").reference_id, tree.customer("globex").reference_id) == ("from-the-cli",
                                                                                          "from-the-other")


def test_json_writers_never_write_nan_or_infinity(tmp_path, capsys):
    """.NET writes NaN in JSV; JSON has no such token, and a strict reader
    (JavaScript's JSON.parse) refused what we wrote. The named strings read
    back as the numbers."""
    path = tmp_path / "nan.jsv"
    path.write_text("[{Id:n,Schedule:{TimeZoneId:UTC,Rules:[{Id:r,State:Open,SimpleRuleType:Always,FlowId:f,"
                    "FlowParams:{x:{NumberValue:NaN},y:{NumberValue:Infinity},z:{NumberValue:-Infinity}}}]}}]\n",
                    encoding="utf-8")

    def strict(text: str) -> Any:
        return json.loads(text, parse_constant=lambda token: pytest.fail(f"{token} is not JSON"))

    code, out, err = run(capsys, "state-at", "n", "--at", "2027-07-06T00:00:00Z", "--json", "--customers", str(path))
    assert code == 0, err
    params = strict(out)["flowParams"]
    assert params == {"x": {"numberValue": "NaN"}, "y": {"numberValue": "Infinity"},
                      "z": {"numberValue": "-Infinity"}}
    engine = Engine.from_file(path)
    for fmt in ("json", "jsonl"):
        out_path = tmp_path / f"out.{fmt}"
        engine.to_file(out_path, fmt)
        text = out_path.read_text(encoding="utf-8")
        records = [strict(line) for line in text.splitlines()] if fmt == "jsonl" else strict(text)
        assert records[0]["schedule"]["rules"][0]["flowParams"]["x"] == {"numberValue": "NaN"}
        value = Engine.from_file(out_path).tree.customer("n").schedule.rules[0].flow_params["y"].number_value
        assert value == float("inf")


def test_a_patch_cannot_store_a_bad_rule_in_an_inheriting_schedule(engine):
    """acme-sales inherits, so its rules are never evaluated; the bad rule
    used to be stored, to fail every query once Inherit was cleared."""
    body = {"schedule": {"inherit": True, "rules": [{"id": "r-bad", "state": "X", "startTime": "25:00",
                                                     "frequency": "Daily"}]}}
    before = snapshot(engine)
    with pytest.raises(PatchError, match=r'rules\[0\] \(id "r-bad"\)\.startTime: "25:00" is not a time'):
        engine.patch("acme-sales", body)
    assert snapshot(engine) == before
    # A bad rule already stored (validate warns of it) does not hold up a
    # patch that leaves the schedule alone.
    stored = Engine.from_records([{"id": "p", "schedule": {"timeZoneId": "UTC"}},
                                  {"id": "c", "parentCustomerId": "p", **body}])
    assert stored.patch("c", {"name": "C"}).name == "C"


# ------------------------------------------------------------ a probe's finds (session 7)

def test_a_nan_in_data_does_not_make_every_patch_rewrite_the_field(tmp_path, capsys, monkeypatch):
    """NaN != NaN, so a field holding one counted as changed by every patch and was
    written from the model: a big integer rounded, an unknown key dropped."""
    monkeypatch.delenv("SCHEDENGINE_CUSTOMERS", raising=False)
    data = {"ratio": {"numberValue": "NaN"}, "account": {"numberValue": 12345678901234567890, "note": "kept"}}
    path = tmp_path / "customers.json"
    path.write_text(json.dumps([{"id": "root", "name": "Root", "data": data},
                                {"id": "kid", "parentCustomerId": "root", "name": "Kid", "data": data}]))
    monkeypatch.setattr(sys, "stdin", _stdin('{"name": "Root renamed"}'))
    code, _, err = run(capsys, "patch", "root", "-", "--customers", str(path))
    assert code == 0, err
    root, kid = json.loads(path.read_text())
    assert root["name"] == "Root renamed" and kid["breadcrumb"][0]["name"] == "Root renamed"
    assert root["data"] == kid["data"] == data


def test_a_value_the_terminal_cannot_encode_is_printed_escaped_not_an_error(tmp_path):
    """A lone surrogate (which JSON keeps) in a patched name: the file was written,
    then printing the summary failed and the CLI exited 2, as if nothing was done."""
    path = tmp_path / "customers.json"
    shutil.copyfile(DEMO, path)
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "SCHEDENGINE_CUSTOMERS": ""}
    for extra in (("--dry-run",), (), ("--json",)):
        done = subprocess.run([sys.executable, "-m", "schedengine", "patch", "acme-sales", "-", "--customers",
                               str(path), *extra], input=b'{"name": "Sales \\ud800"}', capture_output=True, env=env)
        assert done.returncode == 0, done.stderr
        assert b"Sales \\ud800" in done.stdout
    assert Engine.from_file(path).tree.customer("acme-sales").name == "Sales \ud800"


def test_a_json_body_with_a_slip_is_a_json_error_not_jsv(tree_file, capsys, monkeypatch):
    """A trailing comma made the body not JSON, so it was read as JSV: "\\u00e9"
    stayed literal and null became the text "null", with exit 0."""
    before = tree_file.read_bytes()
    monkeypatch.setattr(sys, "stdin", _stdin('{\n  "name": "Caf\\u00e9",\n  "referenceId": null,\n}\n'))
    code, _, err = run(capsys, "patch", "acme-sales", "-", "--customers", str(tree_file))
    assert code == 2
    assert err == "error: <stdin>: line 4, column 1: not valid JSON: Expecting property name enclosed in double quotes\n"
    assert tree_file.read_bytes() == before


def test_the_returned_customer_and_customers_are_copies(engine):
    """Changing the returned model changed what is written, not what is answered."""
    written = engine.dumps()
    customer = engine.patch("acme-events", {"name": "Events"})
    customer.schedule.force_closed = True
    customer.name = "changed"
    engine.customers()[0].name = "changed too"
    assert engine.tree.customer("acme-events").name == "Events"
    assert engine.dumps() != written and '"changed' not in engine.dumps()
    assert engine.state_at("acme-events", JULY).state == fresh(engine).state_at("acme-events", JULY).state


def test_a_bad_rule_stored_in_a_descendant_is_named_as_stored():
    records = [{"id": "c", "name": "C", "schedule": {"timeZoneId": "UTC"}},
               {"id": "d", "parentCustomerId": "c", "name": "D",
                "schedule": {"rules": [{"id": "r", "startTime": "25:00", "frequency": "Daily"}]}}]
    engine = Engine.from_records(records, validate=False)
    with pytest.raises(PatchError) as caught:
        engine.patch("c", {"name": "C2"})
    assert str(caught.value) == (
        'patch of "c": customers[1] (id "d").schedule.rules[0] (id "r").startTime: "25:00" is not a time '
        '(expected HH:MM) (already so in the stored record of "d", whose schedule the patch affects: '
        'mend that record first)')


def test_dumps_gives_what_to_file_writes_for_a_lone_surrogate():
    """dumps('jsv') returned text no UTF-8 writer could take, where to_file refused."""
    engine = Engine.from_records([{"id": "a", "name": "x\ud800y"}])
    assert "x\\ud800y" in engine.dumps("json") and "x\\ud800y" in engine.dumps("jsonl")
    with pytest.raises(RecordError, match=r"^Engine.dumps: line 1 of the JSV to write holds a lone surrogate"):
        engine.dumps("jsv")


def test_a_rename_that_would_rewrite_too_many_breadcrumb_entries_is_refused(monkeypatch):
    """Each breadcrumb lists every ancestor: renaming the root of a 20,000-deep chain built
    200 million entries (1.7 GB), of a 100,000-deep one 24 GB (a probe's finds). Here with
    a limit of 20,000 entries, as the default of 10,000,000 is for a 4,500-deep chain."""
    from schedengine import patching

    monkeypatch.setattr(patching, "MAX_BREADCRUMB_ENTRIES", 20_000)
    depth = 250  # 31,375 entries below the root
    records = [{"id": "n0", "name": "root"}] + [{"id": f"n{i}", "name": f"n{i}", "parentCustomerId": f"n{i - 1}"}
                                                 for i in range(1, depth)]
    engine = Engine.from_records(records)
    with pytest.raises(PatchError, match="its 249 descendants, more than 20,000 entries in all"):
        engine.patch("n0", {"name": "root 2"})
    assert engine.tree.customer("n0").name == "root"
    assert engine.patch("n170", {"name": "deep"}).breadcrumb[-1].name == "deep"  # 79 below it: 16,765 entries
    assert engine.tree.customer("n249").breadcrumb[170].name == "deep"


# --- probe I: a body whose only field was misspelt "succeeded" (exit 0), rewrote the whole file and
# --- bumped dateLastModified; without --actor the summary named the previous modifier as this one's author

@pytest.mark.parametrize("body, says", [
    ('{"Shedule": {"rules": []}}', "sets no field it knows (see the warnings above)"),
    ("{}", "sets no field;"),
    ('{"schedule": null}', "sets no field;"),  # null is "unchanged" (SPEC §6)
])
def test_a_body_that_sets_no_field_is_refused_and_writes_nothing(tree_file, tmp_path, capsys, body, says):
    patch_file = tmp_path / "body.json"
    patch_file.write_text(body)
    original = tree_file.read_bytes()
    for dry_run in ([], ["--dry-run"]):
        code, out, err = run(capsys, "patch", "acme-support", str(patch_file), "--customers", str(tree_file),
                             *dry_run)
        assert (code, out) == (2, "") and says in err
        assert err.endswith(f"{tree_file} is unchanged (--allow-empty applies it, updating only "
                            "dateLastModified)\n")
    assert tree_file.read_bytes() == original


def test_allow_empty_touches_only_the_stamp(tree_file, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", _stdin("{}"))
    code, out, err = run(capsys, "patch", "acme-support", "-", "--customers", str(tree_file), "--allow-empty")
    assert (code, err) == (0, "")
    assert "changed     nothing (only dateLastModified)" in out
    assert ("(lastModifiedBy still names ops-bot@acme.example: pass --actor to record who)" in out)
    before = {c.id: c for c in Engine.from_file(DEMO).tree.records()}
    after = {c.id: c for c in Engine.from_file(tree_file).tree.records()}
    assert [i for i in before if before[i] != after[i]] == ["acme-support"]
    assert before["acme-support"].model_copy(update={"date_last_modified": None}) == \
        after["acme-support"].model_copy(update={"date_last_modified": None})


def test_the_summary_names_the_actor_given(tree_file, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", _stdin('{"name": "Support"}'))
    code, out, _ = run(capsys, "patch", "acme-support", "-", "--customers", str(tree_file), "--actor", "me@x")
    assert code == 0 and out.splitlines()[5].endswith("Z by me@x")


# --- probe L: a field of an ancestor or descendant unrelated to the patch made it fail with a bare
# --- RecordError (no "patch of" prefix, not a PatchError); an ancestor only lends its name

def _tree_with_bad_fields(tmp_path: Path) -> Engine:
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in [
        {"Id": "p", "Name": "P", "IsStaging": "maybe", "Schedule": {"TimeZoneId": "UTC", "DefaultState": "Closed"}},
        {"Id": "c", "ParentCustomerId": "p", "Name": "C"},
        {"Id": "g", "ParentCustomerId": "c", "Name": "G", "Tags": [{"Id": "t", "Color": "Chartreuse"}]},
    ]) + "\n")
    return Engine.from_file(path, validate=False)


def test_an_ancestors_unrelated_bad_field_does_not_stop_a_patch(tmp_path):
    engine = _tree_with_bad_fields(tmp_path)
    patched = engine.patch("c", {"schedule": {"timeZoneId": "UTC", "defaultState": "Open"}})
    assert [(b.id, b.name) for b in patched.breadcrumb] == [("p", "P"), ("c", "C")]
    assert engine.state_at("c", "2027-01-01T00:00:00Z").state == "Open"


def test_a_descendant_that_cannot_be_rewritten_is_a_patch_error(tmp_path):
    engine = _tree_with_bad_fields(tmp_path)
    with pytest.raises(PatchError, match=r'^patch of "c": a new name or parent rewrites the breadcrumb of its '
                                         r'descendant "g", whose stored record cannot be read: customers\[2\] '
                                         r'\(id "g"\)\.tags\[0\] \(id "t"\)\.color: "Chartreuse" is not') as info:
        engine.patch("c", {"name": "C2"})
    assert isinstance(info.value.__cause__, RecordError)
    with pytest.raises(PatchError, match=r'^patch of "p": its stored record cannot be read: customers\[0\] '
                                         r'\(id "p"\)\.isStaging: "maybe" is not true or false'):
        engine.patch("p", {"name": "P2"})
    assert engine.tree.name("c") == "C"  # nothing half-applied


def test_an_unknown_customer_comes_before_an_empty_body(tree_file, capsys, monkeypatch):
    """A probe's: `patch acme-nyc - <<< '{}'` said the body was empty (exit 2), where docs/patch.md
    shows the unknown customer (exit 3)."""
    for dry_run in ([], ["--dry-run"]):
        monkeypatch.setattr(sys, "stdin", _stdin("{}"))
        code, out, err = run(capsys, "patch", "acme-nyc", "-", "--customers", str(tree_file), *dry_run)
        assert (code, out) == (3, "")
        assert err == (f'error: {tree_file}: unknown customer "acme-nyc" (the file holds 12 customers; did you '
                       "load the right file?)\n")
