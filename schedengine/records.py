"""Pydantic models of the wire records of ``PATCH /customers/{customerId}``.

This module is the input boundary only: it types and checks the shape of
what arrives (JSON, JSON Lines or JSV already decoded into dicts) and
nothing else. Hot paths never touch these models.

Matching follows ServiceStack: field names are case-insensitive
(``StartTime``, ``startTime``, ``starttime`` and ``start_time`` are one
field); enums are read by name (any case) or by integer. Unknown fields are
left out of the model and remembered, so that ``validate`` can report them
(see :func:`field_warnings`). Date and time strings stay strings here; the
recurrence module parses them and reports bad ones with their path.
"""

from __future__ import annotations

import enum
import json
from typing import Annotated, Any, Callable, Iterator

from pydantic import (
    AliasGenerator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    ValidationError,
    model_validator,
)
from pydantic.alias_generators import to_camel

from .errors import RecordError

__all__ = [
    "AppSettings", "BillingItem", "BillingSettings", "Customer", "CustomerBreadcrumb",
    "DayOfWeek", "EntityIntegrationData", "PatchCustomer", "Schedule", "ScheduleDay",
    "SchedulingRule", "SchedulingRuleFrequency", "SimpleSchedulingRuleTypes", "Struct",
    "Tag", "TagColors", "ThirdPartyId", "Value", "clipped", "item_path", "json_kind", "json_string", "parse_model",
    "record_id", "shown", "field_warnings", "wire_key",
]


# --------------------------------------------------------------------------- enums

class WireEnum(enum.IntEnum):
    """An enum read by name (case-insensitive) or integer, written by name."""

    @property
    def wire_name(self) -> str:
        return self.name.rstrip("_")

    @classmethod
    def parse(cls, value: Any) -> "WireEnum":
        if isinstance(value, cls):
            return value
        lookup = _ENUM_LOOKUP.get(cls)
        if lookup is None:  # every accepted spelling of every member, built once
            lookup = {}
            for member in cls:
                lookup[member.wire_name.lower()] = member
                lookup[str(member.value)] = member
            _ENUM_LOOKUP[cls] = lookup
        if isinstance(value, str):
            member = lookup.get(value.strip().lower())
            if member is not None:
                return member
        elif isinstance(value, int) and not isinstance(value, bool):
            member = lookup.get(str(value))
            if member is not None:
                return member
        names = ", ".join(m.wire_name for m in cls)
        raise ValueError(f"{shown(value)} is not a {cls.__name__} (expected one of {names}, or 0..{len(cls) - 1})")


_ENUM_LOOKUP: dict[type, dict[str, Any]] = {}


class SimpleSchedulingRuleTypes(WireEnum):
    Always = 0
    CustomerState = 1
    Time = 2


class SchedulingRuleFrequency(WireEnum):
    None_ = 0  # wire name "None": a single occurrence (or one span), no recurrence
    Secondly = 1
    Minutely = 2
    Hourly = 3
    Daily = 4
    Weekly = 5
    Monthly = 6
    Yearly = 7


class DayOfWeek(WireEnum):
    """.NET's System.DayOfWeek numbering (Sunday = 0)."""
    Sunday = 0
    Monday = 1
    Tuesday = 2
    Wednesday = 3
    Thursday = 4
    Friday = 5
    Saturday = 6


class TagColors(WireEnum):
    Magenta = 0
    Red = 1
    Volcano = 2
    Orange = 3
    Gold = 4
    Lime = 5
    Green = 6
    Cyan = 7
    Blue = 8
    GeekBlue = 9
    Purple = 10


def _enum_type(cls: type[WireEnum]) -> Any:
    return Annotated[
        cls,
        BeforeValidator(cls.parse),
        PlainSerializer(lambda member: member.wire_name, return_type=str),
    ]


RuleType = _enum_type(SimpleSchedulingRuleTypes)
Frequency = _enum_type(SchedulingRuleFrequency)
Weekday = _enum_type(DayOfWeek)
Color = _enum_type(TagColors)


# --------------------------------------------------------------------- base model

_WIRE_KEYS: dict[str, str] = {}


def wire_key(name: str) -> str:
    """Normalise a field name for case-insensitive matching (memoised: the
    same few hundred spellings recur in every record)."""
    key = _WIRE_KEYS.get(name)
    if key is None:
        # Underscores between words are ignored (`start_time`), leading ones are not:
        # `_id` is a database's field, not the customer's Id.
        bare = name.lstrip("_")
        key = name[:len(name) - len(bare)] + bare.replace("_", "").lower()
        if len(_WIRE_KEYS) < 10_000:
            _WIRE_KEYS[name] = key
    return key


def _camel(field_name: str) -> str:
    # "ai_insights" -> "aiInsights"; acronyms stay readable in camelCase.
    return to_camel(field_name)


class WireModel(BaseModel):
    """Base of every record: case-insensitive field names, unknown fields kept aside."""

    model_config = ConfigDict(
        alias_generator=AliasGenerator(serialization_alias=_camel),
        populate_by_name=True,
        extra="ignore",
        coerce_numbers_to_str=True,
        validate_assignment=False,
    )

    @model_validator(mode="wrap")
    @classmethod
    def _match_fields(cls, data: Any, handler: Any) -> Any:
        if not isinstance(data, dict):
            return handler(data)
        by_key = _field_keys(cls)
        matched: dict[str, Any] = {}
        notes: list[str] = []  # what field_warnings says: unknown or twice-spelled keys
        for key, value in data.items():
            name = by_key.get(key) or by_key.get(wire_key(str(key)))
            if name is None:
                notes.append(f"unknown field {str(key)!r} is ignored")
            else:
                if name in matched:
                    notes.append(_spelled_twice(by_key, data, name, key))
                matched[name] = value
        model = handler(matched)
        if notes:
            model.__dict__["_notes"] = tuple(notes)
        return model

    def __eq__(self, other: object) -> bool:
        # Field values only: unknown wire fields do not make two records differ.
        if type(self) is not type(other):
            return NotImplemented
        return all(getattr(self, f) == getattr(other, f) for f in type(self).model_fields)

    __hash__ = None  # type: ignore[assignment]

    def to_wire(self) -> dict[str, Any]:
        """camelCase dict with null fields left out (what the writers emit)."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


def _spelled_twice(by_key: dict[str, str], data: dict[Any, Any], name: str, key: Any) -> str:
    first = next(k for k in data if (by_key.get(k) or by_key.get(wire_key(str(k)))) == name)
    return f"field {_camel(name)!r} is spelled twice, {str(first)!r} and {str(key)!r}: the last is read"


_FIELD_KEYS: dict[int, dict[str, str]] = {}  # by id(cls): hashing a model class is slow


def _field_keys(cls: type[BaseModel]) -> dict[str, str]:
    keys = _FIELD_KEYS.get(id(cls))
    if keys is None:
        keys = {wire_key(name): name for name in cls.model_fields}
        keys.update({_camel(name): name for name in cls.model_fields})  # the common spelling, no folding
        _FIELD_KEYS[id(cls)] = keys
    return keys


# ------------------------------------------------------------------ struct values

class Value(WireModel):
    """protobuf-like dynamic value (ServiceStack's ``Value``)."""
    bool_value: bool | None = None
    string_value: str | None = None
    number_value: float | None = None
    list_value: list[dict[str, "Value"]] | None = None
    struct_value: dict[str, "Value"] | None = None


# A Struct's keys are user data, so they are matched exactly (no case folding).
Struct = dict[str, Value]


# ------------------------------------------------------------------------ records

class ScheduleDay(WireModel):
    """One BYDAY entry: ``Offset`` n != 0 is the n-th such weekday (negative: from the end)."""
    offset: int | None = None
    day_of_week: Weekday


class SchedulingRule(WireModel):
    id: str | None = None
    name: str | None = None
    priority: int | None = None
    state: str | None = None
    source: str | None = None
    condition: str | None = None
    simple_rule_type: RuleType | None = None
    customer_state: str | None = None
    flow_id: str | None = None
    flow_params: Struct | None = None
    is_all_day: bool | None = None
    start_date: str | None = None
    start_time: str | None = None
    end_time: str | None = None
    by_set_position: list[int] | None = None
    by_month: list[int] | None = None
    by_week_no: list[int] | None = None
    by_year_day: list[int] | None = None
    by_month_day: list[int] | None = None
    by_day: list[ScheduleDay] | None = None
    by_hour: list[int] | None = None
    by_minute: list[int] | None = None
    interval: int | None = None
    count: int | None = None
    until_date: str | None = None
    frequency: Frequency | None = None


class Schedule(WireModel):
    time_zone_id: str | None = None
    inherit: bool | None = None
    force_closed: bool | None = None
    rules: list[SchedulingRule] | None = None
    default_state: str | None = None


class BillingItem(WireModel):
    base_cost: float | None = None
    raw_unit_multiplier: float | None = None
    unit_cost: float | None = None
    allowance: float | None = None


class BillingSettings(WireModel):
    base: BillingItem | None = None
    local_numbers: BillingItem | None = None
    toll_free_numbers: BillingItem | None = None
    inbound_voice_calls: BillingItem | None = None
    outbound_voice_calls: BillingItem | None = None
    inbound_faxes: BillingItem | None = None
    outbound_faxes: BillingItem | None = None
    inbound_sms_messages: BillingItem | None = None
    outbound_sms_messages: BillingItem | None = None
    ai_insights: BillingItem | None = None
    ai_live_minutes: BillingItem | None = None
    ai_messages: BillingItem | None = None


class AppSettings(WireModel):
    enable_phone_number_management: bool | None = None
    enable_device_management: bool | None = None
    enable_dialer: bool | None = None
    enable_call_history: bool | None = None
    enable_billing: bool | None = None
    enable_faxes: bool | None = None
    enable_sms: bool | None = None
    enable_international_calls: bool | None = None
    page_title: str | None = None
    string_mappings: str | None = None
    chakra_theme: str | None = None
    custom_css: str | None = None


class Tag(WireModel):
    id: str | None = None
    name: str | None = None
    color: Color | None = None


class CustomerBreadcrumb(WireModel):
    id: str | None = None
    name: str | None = None


class EntityIntegrationData(WireModel):
    third_party_id: str | None = None


ThirdPartyId = EntityIntegrationData  # the seed's name for the same shape


class Customer(WireModel):
    """``CustomerInfo``: one customer as the API returns it."""
    id: str
    account_id: str | None = None
    account_name: str | None = None
    parent_customer_id: str | None = None
    breadcrumb: list[CustomerBreadcrumb] | None = None
    is_staging: bool | None = None
    name: str | None = None
    reference_id: str | None = None
    data: Struct | None = None
    tags: list[Tag] | None = None
    schedule: Schedule | None = None
    integration_data: dict[str, EntityIntegrationData] | None = None
    override_billing_settings: bool | None = None
    billing_settings: BillingSettings | None = None
    override_app_settings: bool | None = None
    app_settings: AppSettings | None = None
    date_created: str | None = None
    date_last_modified: str | None = None
    created_by: str | None = None
    last_modified_by: str | None = None


class PatchCustomer(WireModel):
    """Body of ``PATCH /customers/{customerId}``: present fields replace stored ones whole."""
    customer_id: str | None = None
    parent_customer_id: str | None = None
    name: str | None = None
    reference_id: str | None = None
    data: Struct | None = None
    tag_ids: list[str] | None = None
    schedule: Schedule | None = None
    override_billing_settings: bool | None = None
    billing_settings: BillingSettings | None = None
    override_app_settings: bool | None = None
    app_settings: AppSettings | None = None


# ----------------------------------------------------------------------- helpers
# Every message about a record names where, in one style (SPEC §7):
#   customers[3] (id "acme-ny").schedule.rules[2] (id "r-lunch").startTime: "25:00" is not a time
# A list element that has an id is named by position *and* id. `item_path`
# builds that step; parse_model, field_warnings, wire.parse_customers and the
# tree all use it.

def record_id(item: Any) -> str | None:
    """The id a message shows for a list element: a model's `id`, or a wire
    dict's `id` field (any spelling; the last wins, as the model reads it)
    when it is text or a number. None when there is none to show."""
    if isinstance(item, BaseModel):
        ident = item.__dict__.get("id")
    elif isinstance(item, dict):
        ident = None
        for key, value in item.items():
            if isinstance(key, str) and wire_key(key) == "id":
                ident = value
    else:
        return None
    if isinstance(ident, bool) or not isinstance(ident, (str, int, float)):
        return None
    text = str(ident)
    return text if text.strip() else None


def json_string(text: Any) -> str:
    """`text` as JSON writes a string, non-ASCII kept (``"acme-ny"``,
    ``"a\\"b"``): how a message quotes an id, so that a quote, backslash or
    line break inside it cannot end the quotes or the line."""
    return json.dumps(str(text), ensure_ascii=False)


def json_kind(value: Any) -> str:
    """What a decoded JSON value is, in JSON's words ("an array", not "list")."""
    kinds = {dict: "an object", list: "an array", str: "a string", bool: "true or false", type(None): "null",
             int: "a number", float: "a number"}
    return kinds.get(type(value)) or f"a {type(value).__name__}"


def item_path(base: str, index: int | None, ident: Any = None) -> str:
    """``base[index]``, with `` (id "x")`` when the element has an id:
    ``customers[3] (id "acme-ny")``, ``schedule.rules[2] (id "r-lunch")``;
    the id quoted by :func:`json_string`."""
    where = f"{base}[{index}]" if index is not None else base
    if ident is None or not str(ident).strip():
        return where
    return f"{where} (id {json_string(ident)})"


SHOWN_LIMIT = 60  # the most characters of a value a message quotes


def clipped(value: Any, quote: Callable[[Any], str] = json_string, limit: int = SHOWN_LIMIT) -> str:
    """`quote(value)` when that is at most `limit` characters. Longer, a
    string is cut inside its quotes and followed by its length
    (``"99999...9999..." (5,000 characters)``); anything else is its
    spelling cut the same way (``1234...5678... (4,000 characters)``). So a
    message quotes about 60 characters of a value, however long it is,
    and says that it is longer."""
    whole = quote(value)
    if len(whole) <= limit:
        return whole
    if not isinstance(value, str) or len(quote("")) != 2:
        return f"{whole[:limit - 3]}... ({len(whole):,} characters)"
    keep = 0  # the longest start whose quoted form leaves room for "..."
    while keep < len(value) and len(quote(value[: keep + 1])) <= limit - 3:
        keep += 1
    head = quote(value[:keep])
    return f"{head[:-1]}...{head[-1]} ({len(value):,} characters)"


def shown(value: Any) -> str:
    """A value found in a record, as a message quotes it: JSON spelling
    (``"25:00"``, ``true``, ``null``), an object or list by kind, long text
    cut by :func:`clipped`."""
    if isinstance(value, dict) or isinstance(value, BaseModel):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "a list"
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    return clipped(value, json_string if isinstance(value, str) else repr)


def _step(node: Any, name: str) -> Any:
    """The value of field `name` (a model field name) in a wire dict, matched as the model matches it."""
    if not isinstance(node, dict):
        return None
    if name in node:  # Struct keys are exact; also the common spelling
        return node[name]
    found = None
    key = wire_key(name)
    for k, value in node.items():
        if isinstance(k, str) and wire_key(k) == key:
            found = value
    return found


def _loc_to_path(loc: tuple[Any, ...], data: Any = None) -> str:
    """Turn a pydantic error location into a camelCase wire path; list
    elements of `data` (the input) that have an id are named with it."""
    parts: list[str] = []
    node = data
    for item in loc:
        if isinstance(item, int):
            node = node[item] if isinstance(node, list) and -len(node) <= item < len(node) else None
            parts.append(item_path("", item, record_id(node)))
        else:
            text = str(item)
            if "[" in text or "(" in text:  # validator-internal location steps
                continue
            node = _step(node, text)
            parts.append("." + _camel(text))
    return "".join(parts)


# What a pydantic error type expected, in the words of a message: `"x" is not an integer`.
_EXPECTED = {
    "int_parsing": "an integer", "int_type": "an integer", "int_from_float": "a whole number",
    "int_parsing_size": "an integer of a usable size", "float_parsing": "a number", "float_type": "a number",
    "finite_number": "a finite number", "bool_parsing": "true or false", "bool_type": "true or false",
    "string_type": "text", "list_type": "a list", "dict_type": "an object", "model_type": "an object",
    "model_attributes_type": "an object",
}


# pydantic's error types for values nested deeper than it validates (pydantic-core 2.46 and
# before; 2.50 and later).
_TOO_DEEP = frozenset(("recursion_loop", "recursion_depth_exceeded"))


def _problem(cls: type[WireModel], data: Any, path: str, error: Any) -> tuple[str, str]:
    """(where, what) of one pydantic error about `data`: the path and a plain sentence."""
    loc = tuple(error["loc"])
    where = path + _loc_to_path(loc, data)
    if error["type"] == "missing":
        parent = path + _loc_to_path(loc[:-1], data)
        field = _camel(str(loc[-1]))
        if cls is Customer and len(loc) == 1:
            near = [k for k in data if isinstance(k, str) and wire_key(k).endswith(wire_key(field))] \
                if isinstance(data, dict) else []
            hint = f"; it has {shown(near[0])}, which is not read as {field}" if near else ""
            return parent, f"the customer has no {field} (every customer needs a non-empty {field}{hint})"
        return parent, f"{field} is missing (it is required here)"
    if error["type"] in _TOO_DEEP:  # pydantic's depth guard, which called it a cycle: records hold none
        return (path + _loc_to_path(loc[:1], data),
                f"nested too deeply: more than {len(loc) - 1:,} levels of fields below it cannot be read")
    message = error["msg"]
    if message.startswith("Value error, "):  # our validators' words, which quote the value
        return where, message[len("Value error, "):]
    expected = _EXPECTED.get(error["type"])
    if expected is not None:
        return where, f"{shown(error.get('input'))} is not {expected}"
    return where, f"{shown(error.get('input'))}: {message}"


def parse_model(cls: type[WireModel], data: Any, path: str = "$") -> Any:
    """Validate `data` as `cls`; a failure becomes a RecordError naming the
    path (the first problem, and how many more there are)."""
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where, what = _problem(cls, data, path, first)
        count = exc.error_count()
        more = f" (and {count - 1} more problem{'s' if count > 2 else ''})" if count > 1 else ""
        field = where if first["type"] in _TOO_DEEP else path + _loc_to_path(tuple(first["loc"]), data)
        raise RecordError(f"{where}: {what}{more}", path=field) from exc


def field_warnings(model: Any, path: str = "$") -> Iterator[tuple[str, str]]:
    """Yield (path, message) for every wire field that matched no model
    field, and every field a record spells twice (`Schedule` and `schedule`,
    `Id` and `ID`), of which the last is read."""
    stack: list[tuple[str, Any]] = [(path, model)]
    while stack:
        where, node = stack.pop()
        if isinstance(node, BaseModel):
            for message in node.__dict__.get("_notes", ()):
                yield where, message
            for field in type(node).model_fields:
                stack.append((f"{where}.{_camel(field)}", getattr(node, field)))
        elif isinstance(node, list):
            stack.extend((item_path(where, i, record_id(item)), item) for i, item in enumerate(node))
        elif isinstance(node, dict):
            stack.extend((f"{where}.{key}", item) for key, item in node.items())
