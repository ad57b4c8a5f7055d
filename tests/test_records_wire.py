"""Records and wire formats: every seed field from JSON and JSV in any key
case, round trips, and errors that name where."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings

from schedengine import jsv
from schedengine.errors import RecordError, WireFormatError
from schedengine.records import (
    Customer,
    DayOfWeek,
    PatchCustomer,
    SchedulingRuleFrequency,
    SimpleSchedulingRuleTypes,
    TagColors,
    parse_model,
    field_warnings,
)
from schedengine.testing import customer_trees
from schedengine.cli import main
from schedengine.engine import Engine
from schedengine.wire import (decode, detect_format, dump_customers, encode, load_customers, parse_customers,
                              read_records_lazily)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

# Every field of every record type, PascalCase as the seed's samples spell it.
FULL_CUSTOMER = {
    "Id": "acme", "AccountId": "acct-1", "AccountName": "Acme Holdings", "ParentCustomerId": None,
    "Breadcrumb": [{"Id": "acme", "Name": "Acme Corp"}], "IsStaging": False, "Name": "Acme Corp",
    "ReferenceId": "ERP-001",
    "Data": {"tier": {"StringValue": "gold"}, "seats": {"NumberValue": 42},
             "vip": {"BoolValue": True},
             "contacts": {"ListValue": [{"name": {"StringValue": "Ann"}}]},
             "address": {"StructValue": {"city": {"StringValue": "New York"}}}},
    "Tags": [{"Id": "t1", "Name": "Enterprise", "Color": "GeekBlue"}],
    "Schedule": {
        "TimeZoneId": "America/New_York", "Inherit": False, "ForceClosed": False,
        "DefaultState": "After Hours",
        "Rules": [{
            "Id": "r1", "Name": "Business Hours", "Priority": 10, "State": "Business Hours",
            "Source": "portal", "Condition": "", "SimpleRuleType": "Time", "CustomerState": "",
            "FlowId": "flow-main", "FlowParams": {"greeting": {"StringValue": "Welcome"}},
            "IsAllDay": False, "StartDate": "2019-01-07", "StartTime": "09:00", "EndTime": "17:00",
            "BySetPosition": [1], "ByMonth": [1, 2], "ByWeekNo": [3], "ByYearDay": [100],
            "ByMonthDay": [5], "ByDay": [{"Offset": 0, "DayOfWeek": "Monday"}], "ByHour": [9],
            "ByMinute": [0], "Interval": 1, "Count": 0, "UntilDate": "2030-01-01",
            "Frequency": "Weekly",
        }],
    },
    "IntegrationData": {"hubspot": {"ThirdPartyId": "hs-77"}},
    "OverrideBillingSettings": True,
    "BillingSettings": {name: {"BaseCost": 1.5, "RawUnitMultiplier": 1.0, "UnitCost": 0.01, "Allowance": 100}
                        for name in ("Base", "LocalNumbers", "TollFreeNumbers", "InboundVoiceCalls",
                                     "OutboundVoiceCalls", "InboundFaxes", "OutboundFaxes",
                                     "InboundSmsMessages", "OutboundSmsMessages", "AIInsights",
                                     "AILiveMinutes", "AIMessages")},
    "OverrideAppSettings": True,
    "AppSettings": {"EnablePhoneNumberManagement": True, "EnableDeviceManagement": True,
                    "EnableDialer": False, "EnableCallHistory": True, "EnableBilling": True,
                    "EnableFaxes": False, "EnableSms": True, "EnableInternationalCalls": False,
                    "PageTitle": "Acme Voice", "StringMappings": "", "ChakraTheme": "blue",
                    "CustomCss": ""},
    "DateCreated": "2019-01-02T15:04:05Z", "DateLastModified": "2026-11-01T08:00:00Z",
    "CreatedBy": "ops@acme.test", "LastModifiedBy": "ops@acme.test",
}


def _recase(value, style):
    """Rename every record key (not Struct keys, which are data) to another case."""
    def key(k):
        return {"camel": k[:1].lower() + k[1:], "lower": k.lower(), "upper": k.upper()}[style]
    if isinstance(value, dict):
        return {key(k) if k[:1].isupper() else k: _recase(v, style) for k, v in value.items()}
    if isinstance(value, list):
        return [_recase(v, style) for v in value]
    return value


def _all_set(model, path="$"):
    """Paths of fields still None after parsing a record that sets every field."""
    missing = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        if value is None and name not in ("parent_customer_id",):
            missing.append(f"{path}.{name}")
        elif hasattr(type(value), "model_fields"):
            missing += _all_set(value, f"{path}.{name}")
    return missing


@pytest.mark.parametrize("style", ["pascal", "camel", "lower", "upper"])
def test_every_seed_field_parses_from_json(style):
    data = FULL_CUSTOMER if style == "pascal" else _recase(FULL_CUSTOMER, style)
    customer = parse_model(Customer, json.loads(json.dumps(data)))
    assert _all_set(customer) == []
    assert _all_set(customer.schedule.rules[0]) == []
    assert customer.schedule.rules[0].frequency is SchedulingRuleFrequency.Weekly
    assert customer.schedule.rules[0].by_day[0].day_of_week is DayOfWeek.Monday
    assert customer.tags[0].color is TagColors.GeekBlue
    assert customer.billing_settings.ai_live_minutes.allowance == 100
    assert customer.data["address"].struct_value["city"].string_value == "New York"
    assert list(field_warnings(customer)) == []


@pytest.mark.parametrize("style", ["pascal", "camel"])
def test_every_seed_field_parses_from_jsv(style):
    data = FULL_CUSTOMER if style == "pascal" else _recase(FULL_CUSTOMER, style)
    from_json = parse_model(Customer, data)
    from_jsv = parse_model(Customer, jsv.loads(jsv.dumps(data)))
    assert from_jsv == from_json


def test_compact_servicestack_sample():
    text = '{Id:c1,Schedule:{TimeZoneId:America/New_York,Rules:[{StartTime:"09:00",IsAllDay:False,Frequency:Daily}]}}'
    [customer] = parse_customers(decode(text, "jsv"))
    rule = customer.schedule.rules[0]
    assert (customer.id, customer.schedule.time_zone_id) == ("c1", "America/New_York")
    assert (rule.start_time, rule.is_all_day, rule.frequency) == ("09:00", False, SchedulingRuleFrequency.Daily)


# The seed's sample request bodies (pretty-printed JSV, as its docs show them).
SEED_PATCH_JSV = """
{
    CustomerId: acme-support,
    ParentCustomerId: acme,
    Name: Acme Support,
    ReferenceId: SUP-9,
    Data:
    {
        tier:
        {
            StringValue: gold
        }
    },
    TagIds:
    [
        t1
    ],
    Schedule:
    {
        TimeZoneId: Eastern Standard Time,
        Inherit: False,
        ForceClosed: False,
        Rules:
        [
            {
                Id: r-lunch,
                Name: Lunch,
                Priority: 5,
                State: Lunch,
                SimpleRuleType: Time,
                StartTime: "12:00",
                EndTime: "13:00",
                ByDay:
                [
                    {
                        Offset: 0,
                        DayOfWeek: Monday
                    }
                ],
                Frequency: Weekly
            }
        ],
        DefaultState: After Hours
    },
    OverrideBillingSettings: False,
    OverrideAppSettings: False
}
"""

SEED_CUSTOMER_JSON = {
    "id": "acme-support", "accountId": "acct-1", "accountName": "Acme Holdings",
    "parentCustomerId": "acme", "breadcrumb": [{"id": "acme", "name": "Acme Corp"},
                                               {"id": "acme-support", "name": "Acme Support"}],
    "isStaging": False, "name": "Acme Support", "referenceId": "SUP-9", "data": {},
    "tags": [{"id": "t1", "name": "Enterprise", "color": "Blue"}],
    "schedule": {"timeZoneId": "America/New_York", "inherit": True, "forceClosed": False, "rules": [],
                 "defaultState": ""},
    "integrationData": {}, "overrideBillingSettings": False, "overrideAppSettings": False,
    "dateCreated": "2024-05-01T12:00:00Z", "dateLastModified": "2024-05-01T12:00:00Z",
    "createdBy": "admin", "lastModifiedBy": "admin",
}


def test_seed_patch_sample_parses():
    patch = parse_model(PatchCustomer, decode(SEED_PATCH_JSV, "jsv"))
    assert patch.customer_id == "acme-support"
    assert patch.tag_ids == ["t1"]
    assert patch.schedule.time_zone_id == "Eastern Standard Time"
    assert patch.schedule.rules[0].simple_rule_type is SimpleSchedulingRuleTypes.Time
    assert patch.schedule.rules[0].start_time == "12:00"
    assert patch.override_billing_settings is False


def test_seed_customer_sample_parses():
    customer = parse_model(Customer, SEED_CUSTOMER_JSON)
    assert customer.schedule.inherit is True
    assert [b.id for b in customer.breadcrumb] == ["acme", "acme-support"]


@pytest.mark.parametrize("case, value", [
    ("integer enum", 5), ("numeric string enum", "5"), ("lower-case name", "weekly"), ("name", "Weekly"),
])
def test_enum_by_name_or_integer(case, value):
    rule = parse_model(Customer, {"id": "x", "schedule": {"rules": [{"frequency": value}]}}).schedule.rules[0]
    assert rule.frequency is SchedulingRuleFrequency.Weekly


@pytest.mark.parametrize("data, path, fragment", [
    ({"id": "x", "schedule": {"rules": [{"frequency": "Fortnightly"}]}}, "$.schedule.rules[0].frequency",
     "is not a SchedulingRuleFrequency"),
    ({"id": "x", "schedule": {"rules": [{}, {"byMonth": ["x"]}]}}, "$.schedule.rules[1].byMonth[0]",
     '"x" is not an integer'),
    ({"id": "x", "schedule": {"forceClosed": "maybe"}}, "$.schedule.forceClosed", '"maybe" is not true or false'),
    ({"id": "x", "tags": [{"color": "Chartreuse"}]}, "$.tags[0].color", "TagColors"),
    ({"name": "no id"}, "$.id", "$: the customer has no id"),
    ({"id": "x", "schedule": {"rules": [{"byDay": [{"dayOfWeek": "Funday"}]}]}},
     "$.schedule.rules[0].byDay[0].dayOfWeek", "DayOfWeek"),
])
def test_wrong_types_raise_record_error_with_path(data, path, fragment):
    with pytest.raises(RecordError) as info:
        parse_model(Customer, data)
    assert info.value.path == path
    assert fragment in str(info.value)
    assert isinstance(info.value, ValueError)


# SPEC §7: `customers[3] (id "acme-ny").schedule.rules[2] (id "r-lunch").startTime: "25:00" is not a time`.
# Model-level errors used to leave the rule's id out, print the value twice
# (`'Funday': 'Funday' is not a DayOfWeek`) and say `dict: Field required`.
@pytest.mark.parametrize("records, message", [
    ([{"id": "c", "schedule": {"rules": [{"id": "r-ok"}, {"id": "r-bad", "byDay": [{"dayOfWeek": "Funday"}]}]}}],
     'customers[0] (id "c").schedule.rules[1] (id "r-bad").byDay[0].dayOfWeek: "Funday" is not a DayOfWeek '
     "(expected one of Sunday, Monday, Tuesday, Wednesday, Thursday, Friday, Saturday, or 0..6)"),
    ([{"id": "a"}, {"name": "no id"}], "customers[1]: the customer has no id (every customer needs a non-empty id)"),
    ([{"id": "c", "schedule": {"rules": [{"id": "r1", "priority": "high"}]}}],
     'customers[0] (id "c").schedule.rules[0] (id "r1").priority: "high" is not an integer'),
    ([{"id": "c", "schedule": {"rules": [{"ID": 7, "byDay": [{}]}]}}],
     'customers[0] (id "c").schedule.rules[0] (id "7").byDay[0]: dayOfWeek is missing (it is required here)'),
    ([{"id": "c", "tags": [{"id": "t1", "color": "Chartreuse"}]}],
     'customers[0] (id "c").tags[0] (id "t1").color: "Chartreuse" is not a TagColors'),
    ([{"id": "c", "schedule": {"forceClosed": {"yes": 1}}}],
     'customers[0] (id "c").schedule.forceClosed: an object is not true or false'),
    ([{"id": "c", "schedule": {"rules": [{"id": "r1", "frequency": 8, "priority": 1.5}]}}],
     'customers[0] (id "c").schedule.rules[0] (id "r1").priority: 1.5 is not a whole number (and 1 more problem)'),
])
def test_model_errors_name_ids_on_the_path_and_the_value_once(records, message):
    with pytest.raises(RecordError) as info:
        parse_customers(records)
    assert str(info.value).startswith(message)


def test_unknown_field_warnings_name_the_rule_id():
    customer = parse_model(Customer, {"id": "c", "schedule": {"rules": [{"id": "r-x", "Shedule": 1}, {"Foo": 2}]}})
    assert sorted(field_warnings(customer, 'customers[0] (id "c")')) == [
        ('customers[0] (id "c").schedule.rules[0] (id "r-x")', "unknown field 'Shedule' is ignored"),
        ('customers[0] (id "c").schedule.rules[1]', "unknown field 'Foo' is ignored")]


def test_record_error_names_the_customer():
    with pytest.raises(RecordError, match=r'customers\[1\] \(id "b"\)\.schedule\.inherit'):
        parse_customers([{"id": "a"}, {"id": "b", "schedule": {"inherit": "perhaps"}}])


def test_lenient_loading_collects_problems():
    problems: list = []
    customers = parse_customers([{"id": "a"}, {"id": "b", "schedule": {"inherit": "perhaps"}}],
                                on_invalid="skip", problems=problems)
    assert [c.id for c in customers] == ["a"] and len(problems) == 1


@pytest.mark.parametrize("text, line, column", [
    ("[{Id:a,Schedule:{TimeZoneId:UTC}", 1, 33),
    ('{Id:a,Name:"unterminated}', 1, 12),
    ("[\n {Id: a},\n {Id: b\n", 4, 1),
])
def test_truncated_jsv_gives_line_and_column(text, line, column):
    with pytest.raises(WireFormatError) as info:
        decode(text, "jsv", source="customers.jsv")
    assert (info.value.line, info.value.column) == (line, column)
    assert "customers.jsv" in str(info.value)


def test_bad_json_gives_line_and_column():
    with pytest.raises(WireFormatError) as info:
        decode('[\n  {"id": "a",}\n]', "json")
    assert info.value.line == 2


def test_bad_json_lines_names_the_line():
    with pytest.raises(WireFormatError) as info:
        decode('{"id": "a"}\n{"id": \n', "jsonl")
    assert info.value.line == 2


def test_unknown_fields_are_kept_out_and_reported():
    customer = parse_model(Customer, {"id": "a", "Colour": "red", "schedule": {"rules": [{"Foo": 1}]}})
    assert sorted(field_warnings(customer)) == [("$", "unknown field 'Colour' is ignored"),
                                                ("$.schedule.rules[0]", "unknown field 'Foo' is ignored")]
    assert "Colour" not in customer.to_wire()


@pytest.mark.parametrize("fmt", ["json", "jsonl", "jsv"])
@settings(max_examples=60, deadline=None)
@given(records=customer_trees(max_customers=4))
def test_round_trip(fmt, records):
    customers = parse_customers(records)
    text = dump_customers(customers, fmt)
    assert detect_format(None, text) == fmt or fmt == "jsonl" and len(customers) == 1
    assert parse_customers(decode(text, fmt)) == customers


@pytest.mark.parametrize("fmt", ["json", "jsonl", "jsv"])
def test_full_record_round_trips(fmt):
    customers = parse_customers([FULL_CUSTOMER, SEED_CUSTOMER_JSON])
    assert parse_customers(decode(encode([c.to_wire() for c in customers], fmt), fmt)) == customers


def test_document_shapes():
    one = {"id": "a"}
    for document in ([one], {"customers": [one]}, {"Results": [one]}, one):
        assert [c.id for c in parse_customers(document)] == ["a"]
    with pytest.raises(RecordError, match="exactly one list"):
        parse_customers({"a": [], "b": []})


def test_demo_fixture_json_and_jsv_are_identical():
    from_json, fmt_json = load_customers(FIXTURES / "demo.json")
    from_jsv, fmt_jsv = load_customers(FIXTURES / "demo.jsv")
    assert (fmt_json, fmt_jsv) == ("json", "jsv")
    assert len(from_json) >= 10
    assert from_json == from_jsv


def test_bundled_demo_is_the_fixture():
    from schedengine.cli import bundled_demo_path
    assert Path(bundled_demo_path()).read_text() == (FIXTURES / "demo.json").read_text()


# Regression tests: files that made json or the UTF-8 codec raise their own
# exceptions (RecursionError, UnicodeDecodeError, ValueError) out of from_file.

DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize("validate", [True, False])
@pytest.mark.parametrize("name, text, line", [
    ("deep.json", DEEP, None),
    ("deep", DEEP, None),  # the format is sniffed, which decodes too
    ("deep.jsonl", '{"id": "a"}\n{"id": "b", "data": ' + DEEP + "}\n", 2),
], ids=["json", "sniffed", "jsonl"])
def test_json_nested_too_deeply_is_a_wire_format_error(tmp_path, name, text, line, validate):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(WireFormatError, match="nested too deeply") as info:
        Engine.from_file(path, validate=validate)
    assert str(path) in str(info.value) and info.value.line == line


@pytest.mark.parametrize("validate", [True, False])
@pytest.mark.parametrize("data", ['[{"id": "a"}]'.encode("utf-16"), b"\x89PNG\r\n\x1a\n\xff\x00"],
                         ids=["utf16", "binary"])
def test_file_that_is_not_utf8_is_named(tmp_path, data, validate):
    path = tmp_path / "tree.json"
    path.write_bytes(data)
    with pytest.raises(WireFormatError, match="not UTF-8 text") as info:
        Engine.from_file(path, validate=validate)
    assert str(path) in str(info.value)


def test_utf8_with_bom_is_read(tmp_path):
    path = tmp_path / "tree.json"
    path.write_bytes(b"\xef\xbb\xbf" + b'[{"id": "a"}]')
    assert Engine.from_file(path).tree.owner_id("a") == "a"


@pytest.mark.parametrize("validate", [True, False])
@pytest.mark.parametrize("name, text, line, column", [
    ("long.json", '[{"id": "a",\n  "data": {"n": -LONG}}]', 2, 17),
    ("long.jsonl", '{"id": "x"}\n{"id": "a", "data": {"n": LONG}}\n', 2, 27),
])
def test_integer_too_long_for_int_is_a_wire_format_error(tmp_path, name, text, line, column, validate):
    path = tmp_path / name
    path.write_text(text.replace("LONG", "1" * 5000))  # json refuses ints over 4,300 digits
    with pytest.raises(WireFormatError, match="5,000 digits") as info:
        Engine.from_file(path, validate=validate)
    assert str(path) in str(info.value) and (info.value.line, info.value.column) == (line, column)


def test_json_lines_split_on_newlines_only(tmp_path):
    # U+2028 and U+0085 may stand raw in a JSON string; str.splitlines() breaks lines there.
    records = [{"id": "a", "name": "x\u2028y\x85z"}, {"id": "b"}]
    text = encode(records, "jsonl")
    assert decode(text, "jsonl") == records
    assert detect_format(None, text) == "jsonl"
    path = tmp_path / "tree.jsonl"
    path.write_text(text, encoding="utf-8")
    assert len(read_records_lazily(path)[0]) == 2


@pytest.mark.parametrize("validate", [True, False])
def test_json_lines_in_a_json_file_says_so(tmp_path, validate):
    """It said only "line 2, column 1: not valid JSON: Extra data"."""
    path = tmp_path / "tree.json"
    path.write_text('\n{"id": "a"}\n{"id": "b", "parentCustomerId": "a"}\n')
    with pytest.raises(WireFormatError) as info:
        Engine.from_file(path, validate=validate)
    assert str(info.value) == (f"{path}: line 3, column 1: not valid JSON: Extra data; it looks like JSON Lines "
                               "(one customer object per line): name the file .jsonl (or .ndjson)")
    assert (info.value.line, info.value.column) == (3, 1)


@pytest.mark.parametrize("text", ['[{"id": "a"},\n {"id": "b",}]', '{"id": "a", "x": [1,\n 2}', '[]\n]'])
def test_plain_json_errors_give_no_json_lines_hint(tmp_path, text):
    path = tmp_path / "tree.json"
    path.write_text(text)
    with pytest.raises(WireFormatError) as info:
        Engine.from_file(path)
    assert "JSON Lines" not in str(info.value)


def test_cli_undecodable_files_are_named_without_traceback(tmp_path, capsys):
    binary = tmp_path / "tree.json"
    binary.write_bytes(b"\xff\xfe\x00\x01")
    assert main(["validate", str(binary)]) == 2  # nothing in it can be checked: invalid input, as for other verbs
    assert main(["patch", "acme", str(binary), "--dry-run"]) == 2  # a bad patch body is invalid input
    err = capsys.readouterr().err
    assert err.count(f"{binary}: line 1: not UTF-8 text") == 2 and "Traceback" not in err


@pytest.mark.parametrize("name, text", [
    ("customers.json", '[{"id": "a"}, "{\\"id\\": \\"zz\\"}"]'),
    ("customers.jsonl", '{"id": "a"}\n"{\\"id\\": \\"zz\\"}"\n'),
])
def test_a_string_in_a_document_is_not_a_customer(tmp_path, name, text):
    """The tree takes a string for a JSON Lines line kept undecoded, so a
    JSON string among the records was decoded a second time: the strict
    load and validate accepted customer "zz", the lazy load refused it."""
    from schedengine.engine import validate_file

    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    message = (f"{path}: line 2: " if name.endswith(".jsonl") else "customers[1]: ") + \
        "expected a customer object, found a string"
    for validate in (True, False):
        with pytest.raises(RecordError) as info:
            Engine.from_file(path, validate=validate)
        assert str(info.value) == message
    report = validate_file(path)
    assert [f.message for f in report.findings if f.severity == "error"] == [message]


@pytest.mark.parametrize("text, fmt", [
    ('{"name": "x",}', "json"),  # a trailing comma: JSON that does not parse, not JSV
    ('[\n  {"id": "a"},\n]', "json"),
    ('{"id": "a"}\n{"id": "b",}', "jsonl"),  # one bad line of JSON Lines: that line's error
    ('{name:x}', "jsv"),
    ('{ Name: "a, b" }', "jsv"),
    ('[{Id:a},{Id:b}]', "jsv"),
])
def test_json_that_does_not_parse_is_not_read_as_jsv(text, fmt):
    assert detect_format(None, text) == fmt


def test_data_nested_deeper_than_the_models_read_says_so():
    """pydantic's depth guard calls it a cycle, after a path of thousands of characters."""
    value = {"stringValue": "x"}
    for _ in range(300):
        value = {"structValue": {"a": value}}
    with pytest.raises(RecordError) as caught:
        parse_model(Customer, {"id": "x", "data": {"a": value}}, 'customers[0] (id "x")')
    message = str(caught.value)
    assert message.startswith('customers[0] (id "x").data: nested too deeply: more than ')
    assert message.endswith(" levels of fields below it cannot be read") and len(message) < 150
    assert caught.value.path == 'customers[0] (id "x").data'


# --- probe L: a customer object with no id was read as an envelope of its Breadcrumb (or Tags) list:
# --- validate passed, state-at answered for the breadcrumb entry, patch wrote into Breadcrumb[0]

@pytest.mark.parametrize("document, hint", [
    ({"CustomerId": "acme", "Name": "Acme", "Breadcrumb": [{"Id": "acme", "Name": "Acme"}],
      "Schedule": {"TimeZoneId": "UTC", "DefaultState": "Closed"}}, '; it has "CustomerId", which is not read as id'),
    ({"Name": "Acme", "Tags": [{"Id": "t1", "Name": "Gold"}]}, ""),
])
def test_a_customer_without_an_id_is_not_an_envelope(tmp_path, document, hint):
    from schedengine.engine import validate_file

    path = tmp_path / "one.json"
    path.write_text(json.dumps(document))
    message = f"customers[0]: the customer has no id (every customer needs a non-empty id{hint})"
    for validate in (True, False):
        with pytest.raises(RecordError) as info:
            Engine.from_file(path, validate=validate)
        assert str(info.value) == message
    assert [f.message for f in validate_file(path).findings] == [message]


@pytest.mark.parametrize("document", [
    {"data": [{"id": "a"}]},  # an envelope key that is also a customer field
    {"Results": [{"id": "a"}], "Total": 1, "Meta": {"page": 1}},
])
def test_an_envelope_holds_its_list(tmp_path, document):
    path = tmp_path / "env.json"
    path.write_text(json.dumps(document))
    assert Engine.from_file(path).tree.ids() == ["a"]


# --- probe L: JSON named .jsv was read as JSV without a word ({"name": null} renamed the customer "null");
# --- pretty JSON named .jsonl gave an error for every line and no hint

@pytest.mark.parametrize("name, text, says", [
    ("t.jsv", '[{"Id": "a", "Name": null}]', "the name says JSV but this is JSON"),
    ("t.jsv", '\ufeff  {"Id": "a"}', "the name says JSV but this is JSON"),
    ("t.jsonl", '[\n  {"id": "a"},\n  {"id": "b"}\n]\n', "the name says JSON Lines but this is one JSON document"),
])
def test_content_the_name_would_misread_is_refused(tmp_path, name, text, says):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    for validate in (True, False):
        with pytest.raises(WireFormatError, match=f"^{path}: {says}.*: name the file .json$"):
            Engine.from_file(path, validate=validate)


@pytest.mark.parametrize("name, text", [
    ("t.jsv", '[{Id:a,Name:"say ""hi"""}]'),
    ("t.jsonl", '{"id": "a"}\n\n'),  # one record: also one JSON document, on one line
    ("t.jsonl", '{"id": "a"}\n{"id": "b"}\n'),
])
def test_content_the_name_reads_right_is_read(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    assert Engine.from_file(path).tree.ids()[0] == "a"


def test_a_json_patch_body_named_jsv_is_refused(capsys, tmp_path):
    body = tmp_path / "b.jsv"
    body.write_text('{"name": null}')
    assert main(["patch", "acme", str(body), "--dry-run"]) == 2
    assert capsys.readouterr().err.startswith(f"error: {body}: the name says JSV but this is JSON")


# --- probe L: a second spelling of a field silently replaced the first, and a database's `_id`
# --- replaced the customer's Id

def test_a_field_spelled_twice_is_warned_and_the_last_read(tmp_path):
    from schedengine.engine import validate_file

    path = tmp_path / "t.json"
    path.write_text(json.dumps([{"Id": "acme", "Schedule": {"DefaultState": "Closed"},
                                 "schedule": {"DefaultState": "Open"}, "_id": "65f0c1e2a9"}]))
    engine = Engine.from_file(path)
    assert engine.tree.ids() == ["acme"] and engine.state_at("acme", "2027-01-01T00:00Z").state == "Open"
    assert [f.message for f in validate_file(path).findings] == [
        "customers[0] (id \"acme\"): field 'schedule' is spelled twice, 'Schedule' and 'schedule': the last is read",
        "customers[0] (id \"acme\"): unknown field '_id' is ignored"]


def test_inner_underscores_still_match():
    assert parse_model(Customer, {"id": "a", "parent_customer_id": "p", "__weird": 1}).parent_customer_id == "p"


@pytest.mark.parametrize("document", [
    {"accountId": "x", "name": "export", "customers": [{"id": "a"}]},  # a probe's: metadata named like customer fields
    {"Tags": [], "customers": [{"id": "a"}]},
])
def test_an_envelope_may_carry_fields_a_customer_also_has(tmp_path, document):
    path = tmp_path / "env.json"
    path.write_text(json.dumps(document))
    assert Engine.from_file(path).tree.ids() == ["a"]
