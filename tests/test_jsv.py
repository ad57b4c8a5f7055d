"""schedengine.jsv: ServiceStack JSV reading and writing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schedengine import jsv
from schedengine.errors import RecordError, WireFormatError

COMPACT = ('{Id:c1,Schedule:{TimeZoneId:America/New_York,Rules:[{StartTime:"09:00",'
           'Name:"a ""quoted"" name, with comma"}]}}')

PRETTY = """\
{
    Id: acme,
    Schedule:
    {
        TimeZoneId: America/New_York,
        Rules:
        [
            {
                Name: Lunch,
                StartTime: "12:00",
                ByDay: [ { DayOfWeek: Monday }, { DayOfWeek: Friday } ]
            }
        ]
    }
}
"""

PRETTY_VALUE = {
    "Id": "acme",
    "Schedule": {
        "TimeZoneId": "America/New_York",
        "Rules": [{"Name": "Lunch", "StartTime": "12:00",
                   "ByDay": [{"DayOfWeek": "Monday"}, {"DayOfWeek": "Friday"}]}],
    },
}


def test_compact_sample():
    assert jsv.loads(COMPACT) == {
        "Id": "c1",
        "Schedule": {"TimeZoneId": "America/New_York",
                     "Rules": [{"StartTime": "09:00", "Name": 'a "quoted" name, with comma'}]},
    }


def test_compact_sample_writes_back_identically():
    assert jsv.dumps(jsv.loads(COMPACT)) == COMPACT


def test_pretty_sample():
    assert jsv.loads(PRETTY) == PRETTY_VALUE


def test_pretty_and_compact_forms_are_equal():
    compact = jsv.dumps(PRETTY_VALUE)
    assert compact == ('{Id:acme,Schedule:{TimeZoneId:America/New_York,Rules:[{Name:Lunch,'
                       'StartTime:"12:00",ByDay:[{DayOfWeek:Monday},{DayOfWeek:Friday}]}]}}')
    assert jsv.loads(compact) == jsv.loads(PRETTY)


def test_jsvformatter_layout_with_tabs_and_crlf():
    # ServiceStack's JsvFormatter: tab indents, "Key: " and the opener on its own line.
    text = "{\r\n\tId: acme,\r\n\tSchedule: \r\n\t{\r\n\t\tTimeZoneId: UTC,\r\n\t\tRules: []\r\n\t}\r\n}"
    assert jsv.loads(text) == {"Id": "acme", "Schedule": {"TimeZoneId": "UTC", "Rules": []}}


# (text, expected) -- one case per line
READ_CASES = [
    # ServiceStack's documented examples
    ("{A:1,B:2,C:3,D:4}", {"A": "1", "B": "2", "C": "3", "D": "4"}),
    ("[1,2,3,4,5]", ["1", "2", "3", "4", "5"]),
    ("{Foo:Bar,Greet:Hello World!}", {"Foo": "Bar", "Greet": "Hello World!"}),
    ('{Name:"Me, Junior"}', {"Name": "Me, Junior"}),
    ('{Size:"2"" x 1"""}', {"Size": '2" x 1"'}),
    # scalars stay strings: typing happens in the records
    ("{IsAllDay:True,Count:3,Price:1.5}", {"IsAllDay": "True", "Count": "3", "Price": "1.5"}),
    ("{A:null}", {"A": "null"}),
    # ':' and '/' belong to bare values; only the first ':' ends a key
    ("{At:2027-01-01T09:00:00Z,Zone:America/New_York}", {"At": "2027-01-01T09:00:00Z", "Zone": "America/New_York"}),
    ("{ StartTime : 12:00 }", {"StartTime": "12:00"}),
    ("{Url:http://x.test/a?b=c}", {"Url": "http://x.test/a?b=c"}),
    # empty values are None (ServiceStack reads them as null)
    ("{A:,B:1}", {"A": None, "B": "1"}),
    ("{A:}", {"A": None}),
    ("{ A: , B: 1 }", {"A": None, "B": "1"}),
    ("[a,,b]", ["a", None, "b"]),
    ("[a,]", ["a", None]),
    ("[,a]", [None, "a"]),
    ("[,]", [None, None]),
    ('{A:""}', {"A": ""}),
    ('[""]', [""]),
    # empty containers
    ("{}", {}),
    ("[]", []),
    ("{ }", {}),
    ("[ \n ]", []),
    ("{A:{},B:[]}", {"A": {}, "B": []}),
    ("[[],{}]", [[], {}]),
    # quoting and escapes
    ('{A:""""}', {"A": '"'}),
    ('{A:"a""b"}', {"A": 'a"b'}),
    ('{A:"{x:[1,2]}"}', {"A": "{x:[1,2]}"}),
    ('{A:"  padded  "}', {"A": "  padded  "}),
    ('{A:"line1\nline2"}', {"A": "line1\nline2"}),
    ('{A:"tab\there"}', {"A": "tab\there"}),
    ('{A: "quoted" , B:x}', {"A": "quoted", "B": "x"}),
    ('{A:a"b}', {"A": 'a"b'}),  # a bare value may hold a quote, as ServiceStack reads it
    ('{"Odd, key":1,"":2}', {"Odd, key": "1", "": "2"}),
    ('{ "K" : v }', {"K": "v"}),
    ("{A:inner  spaces kept}", {"A": "inner  spaces kept"}),
    ("{A:héllo → 世界}", {"A": "héllo → 世界"}),
    # leniencies for hand-written files
    ("{A:1,}", {"A": "1"}),
    ("{\n  A: 1,\n}", {"A": "1"}),
    ("{A:1,A:2}", {"A": "2"}),  # last duplicate wins
    ("\ufeff{A:1}", {"A": "1"}),  # a byte-order mark is skipped
    # top level
    ("[{A:1},{A:2}]", [{"A": "1"}, {"A": "2"}]),
    ("hello", "hello"),
    ("  hello world  \n", "hello world"),
    ("a,b}", "a,b}"),  # a bare top-level string is the whole trimmed text
    ('"a,b"', "a,b"),
    ('""', ""),
    ("  {A:1}  \n", {"A": "1"}),
]


@pytest.mark.parametrize(("text", "expected"), READ_CASES)
def test_loads(text, expected):
    assert jsv.loads(text) == expected


def test_loads_keeps_key_order():
    assert list(jsv.loads("{Z:1,A:2,M:3}")) == ["Z", "A", "M"]


# (value, expected compact text) -- one case per line
WRITE_CASES = [
    ({"A": "1", "B": "x y"}, "{A:1,B:x y}"),
    ({"A": None, "B": "1"}, "{B:1}"),  # ServiceStack leaves nulls out
    ({"A": None}, "{}"),
    (["a", None, "b"], "[a,,b]"),
    ([None, None], "[,]"),
    (["a", None], "[a,]"),
    ({"A": ""}, '{A:""}'),
    ({"A": 'a"b'}, '{A:"a""b"}'),
    ({"A": "a,b"}, '{A:"a,b"}'),
    ({"A": "09:00"}, '{A:"09:00"}'),
    ({"A": "{x}"}, '{A:"{x}"}'),
    ({"A": "[x]"}, '{A:"[x]"}'),
    ({"A": " x"}, '{A:" x"}'),
    ({"A": "x\t"}, '{A:"x\t"}'),
    ({"A": "a\nb"}, '{A:"a\nb"}'),
    ({"A": "a\rb"}, '{A:"a\rb"}'),
    ({"A": "null"}, "{A:null}"),
    ({"A": "America/New_York"}, "{A:America/New_York}"),
    ({"Odd, key": "1", "": "2"}, '{"Odd, key":1,"":2}'),
    ({"A": True, "B": False, "C": 3, "D": -2}, "{A:True,B:False,C:3,D:-2}"),
    ({"A": 1.5, "B": 3.0, "C": 1e16, "D": 1e-05}, "{A:1.5,B:3.0,C:10000000000000000,D:0.00001}"),
    ([float("nan"), float("inf"), float("-inf")], "[NaN,Infinity,-Infinity]"),
    ({1: "a"}, "{1:a}"),
    (("a", "b"), "[a,b]"),
    ({}, "{}"),
    ([], "[]"),
    ([[]], "[[]]"),
    ("hello", "hello"),
    ("", '""'),
    ("\ufeffx", '"\ufeffx"'),
    (7, "7"),
]


@pytest.mark.parametrize(("value", "expected"), WRITE_CASES)
def test_dumps(value, expected):
    assert jsv.dumps(value) == expected


@pytest.mark.parametrize("value", [[None], {"A": [None]}, None])
def test_dumps_refuses_to_lose_a_none(value):
    with pytest.raises(RecordError):
        jsv.dumps(value)


def test_dumps_none_only_list_error_names_the_list():
    with pytest.raises(RecordError) as info:
        jsv.dumps({"Rules": [{"ByDay": [None]}]})
    assert info.value.path == "$.Rules[0].ByDay"


def test_dumps_rejects_unsupported_types_with_path():
    import datetime
    with pytest.raises(TypeError, match=r"\$\.Rules\[1\]\.StartDate: cannot write date"):
        jsv.dumps({"Rules": [{}, {"StartDate": datetime.date(2027, 1, 1)}]})
    with pytest.raises(TypeError, match=r"\$\.A: JSV map keys must be str, not tuple"):
        jsv.dumps({"A": {("a",): "b"}})


def test_loads_rejects_bytes():
    with pytest.raises(TypeError):
        jsv.loads(b"{A:1}")


# (text, line, column, path, message fragment) -- one case per line
ERROR_CASES = [
    ('{A:"abc', 1, 4, "$.A", "unterminated quoted string"),
    ('{"A:1}', 1, 2, "$", "unterminated quoted string"),
    ('"abc', 1, 1, "$", "unterminated quoted string"),
    ("{A:1", 1, 5, "$.A", "'{' opened at line 1, column 1 is never closed"),
    ("[1,2", 1, 5, "$[1]", "'[' opened at line 1, column 1 is never closed"),
    ("{A:{B:[", 1, 8, "$.A.B[0]", "'[' opened at line 1, column 7 is never closed"),
    ("{A:1,", 1, 6, "$", "never closed"),
    ("{", 1, 2, "$", "never closed"),
    ("", 1, 1, "$", "empty input"),
    ("  \n  ", 2, 3, "$", "empty input"),
    ("{A:1}x", 1, 6, "$", "unexpected 'x' after the end"),
    ("{A:1}}", 1, 6, "$", "unexpected '}' after the end"),
    ('"abc"def', 1, 6, "$", "unexpected 'd' after the end"),
    ("[1] [2]", 1, 5, "$", "after the end"),
    ("{A,B:1}", 1, 3, "$", "map entry 'A' has no ':'"),
    ("{A}", 1, 3, "$", "map entry 'A' has no ':'"),
    ('{"A",B:1}', 1, 5, "$", "map entry 'A' has no ':'"),
    ("{A:{B}}", 1, 6, "$.A", "map entry 'B' has no ':'"),
    ("{:1}", 1, 2, "$", "without a key"),
    ("{A:1,,B:2}", 1, 6, "$", "empty map entry"),
    ('{A:"x"y}', 1, 7, "$.A", "expected ',' or '}' after the value of 'A', found 'y'"),
    ("{A:1]", 1, 5, "$.A", "expected ',' or '}'"),
    ("[1}", 1, 3, "$[0]", "expected ',' or ']' after a list element, found '}'"),
    ("{A:x{y}}", 1, 5, "$.A", "found '{'"),
    ("[a,b[c]]", 1, 5, "$[1]", "found '['"),
    ("[{A:1}{A:2}]", 1, 7, "$[0]", "found '{'"),
    ("{A\nB:1}", 1, 2, "$", "runs across a line break"),
]


@pytest.mark.parametrize(("text", "line", "column", "path", "fragment"), ERROR_CASES)
def test_malformed_input(text, line, column, path, fragment):
    with pytest.raises(WireFormatError) as info:
        jsv.loads(text)
    error = info.value
    assert (error.line, error.column, error.path) == (line, column, path)
    assert f"line {line}, column {column}" in str(error)
    assert path in str(error)
    assert fragment in str(error)


def test_error_is_a_value_error():
    with pytest.raises(ValueError):
        jsv.loads("{A")


def test_error_path_through_lists_and_maps():
    text = '[{},{},{Id:x,Schedule:{Rules:[{StartTime:"09:00}]}}]'
    with pytest.raises(WireFormatError) as info:
        jsv.loads(text)
    assert info.value.path == "$[2].Schedule.Rules[0].StartTime"
    assert (info.value.line, info.value.column) == (1, text.index('"') + 1)


def test_error_path_quotes_odd_keys():
    with pytest.raises(WireFormatError) as info:
        jsv.loads('{"a b":[x}')
    assert info.value.path == '$["a b"][0]'


def test_missing_comma_in_pretty_form_points_at_the_line_end():
    text = "{\n    Name: Lunch\n    StartTime: \"12:00\"\n}"
    with pytest.raises(WireFormatError) as info:
        jsv.loads(text)
    assert (info.value.line, info.value.column, info.value.path) == (2, 16, "$.Name")
    assert "missing ','" in str(info.value)


def test_missing_comma_after_quoted_value_in_pretty_form():
    text = '{\n    StartTime: "12:00"\n    EndTime: "13:00"\n}'
    with pytest.raises(WireFormatError) as info:
        jsv.loads(text)
    assert (info.value.line, info.value.column, info.value.path) == (3, 5, "$.StartTime")


def test_missing_bracket_in_pretty_form():
    text = PRETTY.replace("        ]\n", "")
    with pytest.raises(WireFormatError) as info:
        jsv.loads(text)
    assert (info.value.line, info.value.column, info.value.path) == (13, 5, "$.Schedule.Rules[0]")
    assert "expected ',' or ']'" in str(info.value)


def test_truncated_pretty_sample():
    text = PRETTY[: PRETTY.index("Monday")]
    with pytest.raises(WireFormatError) as info:
        jsv.loads(text)
    assert info.value.path == "$.Schedule.Rules[0].ByDay[0].DayOfWeek"
    assert "never closed" in str(info.value)


# --- deep nesting: explicit stacks, no recursion limit ------------------------

DEPTH = 10_000


def _depth(value) -> int:
    depth = 0
    while isinstance(value, (list, dict)) and value:
        value = value[0] if isinstance(value, list) else next(iter(value.values()))
        depth += 1
    return depth


def test_deep_lists():
    text = "[" * DEPTH + "x" + "]" * DEPTH
    value = jsv.loads(text)
    assert _depth(value) == DEPTH
    assert jsv.dumps(value) == text


def test_deep_maps():
    text = "{A:" * DEPTH + "x" + "}" * DEPTH
    value = jsv.loads(text)
    assert _depth(value) == DEPTH
    assert jsv.dumps(value) == text


def test_deep_error_path():
    with pytest.raises(WireFormatError) as info:
        jsv.loads("[" * DEPTH)
    assert info.value.path == "$" + "[0]" * DEPTH  # element 0 of the innermost list


# --- round trips ----------------------------------------------------------------

# Text rich in what JSV treats specially, plus any other unicode.
special_text = st.text(
    alphabet=st.one_of(st.sampled_from(list(' \t\r\n",:{}[]""\ufeff\xa0')), st.characters()),
    max_size=12,
)
texts = st.one_of(special_text, st.sampled_from(["", "null", "True", "12:00", "America/New_York"]))
values = st.recursive(
    texts,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(texts, children, max_size=4),
    ),
    max_leaves=25,
)


@settings(max_examples=400)
@given(values)
def test_round_trip(value):
    assert jsv.loads(jsv.dumps(value)) == value


@given(values)
def test_canonical_text_round_trip(value):
    text = jsv.dumps(value)
    assert jsv.dumps(jsv.loads(text)) == text


def _pretty(value, indent=0) -> str:
    """Reference pretty-printer in the seed's style, to compare with the compact form."""
    pad, inner = "  " * indent, "  " * (indent + 1)
    if isinstance(value, dict):
        if not value:
            return "{ }"
        entries = [f"{inner}{jsv.dumps(k) if k else chr(34) * 2} :\n{inner}  {_pretty(v, indent + 2)}"
                   for k, v in value.items()]
        return "{\n" + ",\n".join(entries) + "\n" + pad + "}"
    if isinstance(value, list):
        if not value:
            return "[ ]"
        return "[\n" + ",\n".join(inner + _pretty(v, indent + 1) for v in value) + "\n" + pad + "]"
    return jsv.dumps(value)


@given(st.one_of(st.lists(values, max_size=4), st.dictionaries(texts, values, max_size=4)))
def test_pretty_form_reads_like_compact_form(value):
    assert jsv.loads(_pretty(value)) == value


@given(st.lists(st.one_of(st.none(), texts), min_size=2, max_size=5))
def test_lists_with_none_round_trip(value):
    assert jsv.loads(jsv.dumps(value)) == value


@given(st.dictionaries(texts, st.one_of(st.none(), texts), max_size=5))
def test_none_map_values_are_left_out(value):
    assert jsv.loads(jsv.dumps(value)) == {k: v for k, v in value.items() if v is not None}


@given(st.text(alphabet=st.sampled_from(list('{}[],:" \n\tab')), max_size=30))
def test_any_text_parses_or_raises_wire_format_error(text):
    try:
        jsv.loads(text)
    except WireFormatError as error:
        assert error.line >= 1 and error.column >= 1 and error.path.startswith("$")
