"""Reading and writing customer records: JSON, JSON Lines and ServiceStack JSV.

Input shapes accepted (any format): a list of customers, an object holding
one list of customers (``{"customers": [...]}``, ServiceStack's
``{"Results": [...]}``...), or a single customer object. JSON Lines holds
one customer per line (blank lines ignored).

Writers emit camelCase keys with null fields left out, in the same format
the input came in; ``parse(write(x)) == x`` for every record set. JSON has
no NaN or Infinity: a non-finite number is written as the string "NaN",
"Infinity" or "-Infinity" (.NET's named literals), which reads back as the
number. A document written back in its own format keeps its shape
(`Envelope`): the object around the list, or the lone customer object.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Literal, Sequence

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; see locked_for_update
    fcntl = None  # type: ignore[assignment]

from . import jsv
from .errors import RecordError, WireFormatError
from .records import Customer, WireModel, item_path, json_kind, json_string, parse_model, record_id, wire_key

__all__ = ["Format", "Envelope", "LIST", "detect_format", "decode", "encode", "customer_list", "split_document",
           "parse_customers", "load_customers", "dump_customers", "write_customers_atomic", "locked_for_update",
           "read_document", "read_records_lazily", "decode_text", "json_text", "json_lines_record_error",
           "read_each_record", "decoded_records"]

Format = Literal["json", "jsonl", "jsv"]
_EXTENSIONS: dict[str, Format] = {".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl", ".jsv": "jsv"}


def _is_json(text: str) -> bool:
    """True when `text` is JSON, or starts as JSON that json cannot decode for
    being too deep or holding too long a number (decode() then says which)."""
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return False
    except (ValueError, RecursionError):
        return True
    return True


def _lines(text: str) -> list[str]:
    """JSON Lines records split on newlines only: str.splitlines() would also
    split inside strings at U+2028, U+0085 and others that JSON leaves raw."""
    return text.split("\n")


def detect_format(path: str | os.PathLike[str] | None, text: str) -> Format:
    """By file extension, else by content: JSON parses as JSON; several JSON
    objects on separate lines are JSON Lines; anything else is JSV, unless its
    first field name is in double quotes, as JSV never writes one: that is JSON
    that does not parse (a trailing comma, say), and decoding it as JSON says
    where, where JSV would read its escapes and nulls as text."""
    if path is not None:
        fmt = _EXTENSIONS.get(Path(path).suffix.lower())
        if fmt is not None:
            _check_named_format(path, fmt, text)
            return fmt
    stripped = text.strip()
    if _is_json(stripped):
        return "json"
    json_shaped = _QUOTED_FIRST_KEY.match(stripped) is not None
    lines = [ln for ln in _lines(stripped) if ln.strip()]
    if len(lines) > 1 and all(ln.lstrip().startswith("{") and ln.rstrip().endswith("}") for ln in lines):
        if json_shaped or all(_is_json(ln) for ln in lines):
            return "jsonl"
    return "json" if json_shaped else "jsv"


_QUOTED_FIRST_KEY = re.compile(r'\ufeff?\s*\[?\s*\{\s*"')  # leading space and BOM allowed: no strip() copy needed
_LEADING_BRACKET = re.compile(r"\ufeff?\s*[\[{]")
_SEVERAL_LINES = re.compile(r"\S[ \t\r]*\n\s*\S")


def _check_named_format(path: str | os.PathLike[str], fmt: Format, text: str) -> None:
    """Refuse content that the name's format would misread without a word:
    JSON named .jsv (read as JSV, `"name": null` is the text "null" and escapes
    stay literal) and one JSON document over several lines named .jsonl (an
    error for every line)."""
    # No copy of the text: a customers file may hold gigabytes. JSON Lines of two or more
    # records never parse as one JSON document, and json.loads stops at the second.
    if fmt == "jsv" and _QUOTED_FIRST_KEY.match(text):
        raise WireFormatError(f"{path}: the name says JSV but this is JSON (its first field name is in double "
                              "quotes, which JSV never writes): name the file .json", path=str(path))
    if fmt == "jsonl" and _LEADING_BRACKET.match(text) and _is_json(text) and _SEVERAL_LINES.search(text):
        raise WireFormatError(f"{path}: the name says JSON Lines but this is one JSON document over several "
                              "lines: name the file .json", path=str(path))


# An integer token outside strings; fractions and exponents are left out
# because float() takes any number of digits.
_INTEGER = re.compile(r'"(?:[^"\\]|\\.)*"|(?<![\d.eE+-])-?(\d+)(?![\d.eE])')


def _load_json(text: str, source: str, *, line: int | None = None, path: str = "$") -> Any:
    """json.loads with every way it fails raised as a WireFormatError naming
    `source` and the position. `line` is the file line of a JSON Lines record,
    `text` then holds that one line."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        pos, what, cause = exc.pos, f"not valid JSON: {exc.msg}", exc
    except RecursionError as exc:  # json's decoder recurses once per nested array/object
        pos, what, cause = None, ("not readable JSON: arrays and objects are nested too deeply (more than "
                                  f"about {sys.getrecursionlimit():,} levels)"), exc
    except ValueError as exc:  # int() refuses more than sys.get_int_max_str_digits() digits
        limit = sys.get_int_max_str_digits()
        token = next((m for m in _INTEGER.finditer(text) if m[1] and len(m[1]) > limit), None)
        pos = token.start() if token else None
        what = (f"not readable JSON: an integer with {len(token[1]):,} digits (at most {limit:,})"
                if token else f"not readable JSON: {exc}")
        cause = exc
    column = None
    if pos is not None:
        line = line or text.count("\n", 0, pos) + 1
        column = pos - text.rfind("\n", 0, pos)
    where = f"line {line}, column {column}: " if column else f"line {line}: " if line else ""
    raise WireFormatError(f"{source}: {where}{what}", line=line, column=column, path=path) from cause


def decode(text: str, fmt: Format, *, source: str = "<input>") -> Any:
    """Text -> plain Python values (dicts, lists, scalars)."""
    if fmt == "json":
        return _load_json(text, source)
    if fmt == "jsonl":
        items = []
        for number, line in enumerate(_lines(text), start=1):
            if line.strip():
                items.append(_load_json(line, source, line=number, path=f"$[{len(items)}]"))
        return items
    if fmt == "jsv":
        try:
            return jsv.loads(text)
        except WireFormatError as exc:
            raise WireFormatError(f"{source}: {exc}", line=exc.line, column=exc.column, path=exc.path) from exc
    raise ValueError(f"unknown format {fmt!r} (expected json, jsonl or jsv)")


def _named_floats(value: Any) -> Any:
    """`value` with every non-finite float replaced by its .NET name."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if value != value else "Infinity" if value > 0 else "-Infinity"
    if isinstance(value, dict):
        return {k: _named_floats(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_named_floats(v) for v in value]
    return value


def json_text(value: Any, **options: Any) -> str:
    """json.dumps that never writes NaN or Infinity, which are not JSON (a
    strict reader such as JavaScript's JSON.parse refuses them)."""
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False, **options)
    except ValueError:  # a non-finite float somewhere: rare, so only then walk the value
        return json.dumps(_named_floats(value), ensure_ascii=False, allow_nan=False, **options)


def encode(value: Any, fmt: Format) -> str:
    """Plain values -> text in `fmt` (compact JSV; JSON Lines wants a list)."""
    if fmt == "json":
        return json_text(value, indent=2) + "\n"
    if fmt == "jsonl":
        return "".join(json_text(item, separators=(",", ":")) + "\n" for item in value)
    if fmt == "jsv":
        return jsv.dumps(value) + "\n"
    raise ValueError(f"unknown format {fmt!r} (expected json, jsonl or jsv)")


@dataclass(frozen=True)
class Envelope:
    """What a document holds besides its customer list, so that writing the
    list back in the same format keeps the document's shape."""

    outer: tuple[tuple[str, Any], ...] = ()  # the holding object's items, the list's own value None
    key: str | None = None  # the holding object's key for the list
    single: bool = False  # the document was one customer object

    def wrap(self, records: list[Any]) -> Any:
        if self.single and len(records) == 1:
            return records[0]
        if self.key is None:
            return records
        return {k: records if k == self.key else v for k, v in self.outer}


LIST = Envelope()  # a bare list of customers
_CUSTOMER_FIELDS = frozenset(wire_key(name) for name in Customer.model_fields)
_CUSTOMER_LISTS = frozenset(wire_key(name) for name, field in Customer.model_fields.items()
                            if "list[" in str(field.annotation))  # breadcrumb, tags


def split_document(document: Any, source: str | os.PathLike[str] | None = None
                   ) -> tuple[list[Any], Envelope]:
    """The customer records inside a decoded document (see the module
    docstring), and the envelope that puts them back. `source`, the file
    the document was read from, starts the message when there are none."""
    where = f"{source}: $" if source is not None else "$"
    if isinstance(document, list):
        return document, LIST
    if isinstance(document, dict):
        # An envelope holds one list that is not one of a customer's own lists: a customer
        # with no id (or "CustomerId") is not an envelope of its Breadcrumb or Tags, while
        # {"accountId": ..., "name": ..., "customers": [...]} is one, whatever its other keys.
        keys = [k for k, v in document.items() if isinstance(v, list) and wire_key(str(k)) not in _CUSTOMER_LISTS]
        if any(wire_key(str(k)) == "id" for k in document) or (
                len(keys) != 1 and any(wire_key(str(k)) in _CUSTOMER_FIELDS for k in document)):
            return [document], Envelope(single=True)
        if len(keys) == 1:
            key = keys[0]
            outer = tuple((k, None if k == key else v) for k, v in document.items())
            return document[key], Envelope(outer, key)
        found = f"found the keys {', '.join(map(json_string, document))}" if document else "found an empty object"
        raise RecordError(f"{where}: expected a list of customers, or an object holding exactly one list "
                          f"({found})", path="$")
    raise RecordError(f"{where}: expected a list of customers, found {json_kind(document)}", path="$")


def customer_list(document: Any, source: str | os.PathLike[str] | None = None) -> list[Any]:
    """The list of customer records inside a decoded document (read from the file `source`)."""
    return split_document(document, source)[0]


def decoded_records(records: list[Any], *, keep_going: bool = False) -> list[Any]:
    """Decoded customer records for a CustomerTree, which takes a string for
    a JSON Lines line kept undecoded: a string *found in* a document is not
    a customer, and must not be decoded a second time. The first raises a
    RecordError naming it; with `keep_going` each is replaced by its error
    (what validate_records reports as that record's)."""
    out = records
    for i, item in enumerate(records):
        if isinstance(item, str):
            error = RecordError(f"customers[{i}]: expected a customer object, found a string",
                                path=f"customers[{i}]")
            if not keep_going:
                raise error
            if out is records:
                out = list(records)
            out[i] = error
    return out


def parse_customers(document: Any, *, on_invalid: Literal["raise", "skip"] = "raise",
                    problems: list[RecordError] | None = None) -> list[Customer]:
    """Decoded document -> Customer models. Strict by default; with
    on_invalid="skip" bad records are left out and their errors appended to
    `problems`."""
    customers = []
    for i, item in enumerate(customer_list(document)):
        where = item_path("customers", i, record_id(item))
        try:
            if not isinstance(item, dict):
                raise RecordError(f"{where}: expected a customer object, found {json_kind(item)}", path=where)
            customers.append(parse_model(Customer, item, where))
        except RecordError as exc:
            if on_invalid == "raise":
                raise
            if problems is not None:
                problems.append(exc)
    return customers


def decode_text(data: bytes, source: str) -> str:
    """UTF-8 bytes (a leading BOM is dropped) -> str; anything else is a
    WireFormatError naming `source`."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        utf16 = " (it looks like UTF-16)" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else ""
        raise WireFormatError(f"{source}: line {line}: not UTF-8 text{utf16}: byte 0x{data[exc.start]:02x} at "
                              f"offset {exc.start:,} cannot be decoded; save the file as UTF-8",
                              line=line, path=source) from exc


def _read_text(path: str | os.PathLike[str]) -> str:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise RecordError(f"{path}: cannot read: {exc.strerror or exc}", path=str(path)) from exc
    return decode_text(data, str(path))


def _decode_file(text: str, fmt: Format, path: str | os.PathLike[str]) -> Any:
    """decode() for a customers file: JSON that fails after a first line
    holding a whole object is most likely JSON Lines named .json, and the
    message says so. In JSON Lines each line must be a customer object."""
    if fmt == "jsonl":
        records: list[dict[str, Any]] = []
        for number, line in enumerate(_lines(text), start=1):
            if line.strip():
                records.append(_json_line_record(line, str(path), number, len(records)))
        return records
    try:
        return decode(text, fmt, source=str(path))
    except WireFormatError as exc:
        if fmt != "json" or exc.line is None:
            raise
        stripped = text.lstrip()
        first = stripped.split("\n", 1)[0]
        first_line = text.count("\n", 0, len(text) - len(stripped)) + 1
        if exc.line <= first_line or not first.strip().startswith("{"):
            raise
        try:
            whole = isinstance(json.loads(first), dict)
        except (ValueError, RecursionError):
            whole = False
        if not whole:
            raise
        raise WireFormatError(f"{exc}; it looks like JSON Lines (one customer object per line): name the "
                              "file .jsonl (or .ndjson)", line=exc.line, column=exc.column, path=exc.path
                              ) from exc.__cause__


def read_document(path: str | os.PathLike[str]) -> tuple[Any, Format]:
    """Read and decode a file; returns (plain values, format)."""
    text = _read_text(path)
    fmt = detect_format(path, text)
    return _decode_file(text, fmt, path), fmt


def read_records_lazily(path: str | os.PathLike[str]) -> tuple[list[Any], Format, Envelope]:
    """The customer records of a file, undecoded where that saves memory:
    JSON Lines gives each record's line of text (a few times smaller than
    the dict it decodes to), other formats give wire dicts."""
    text = _read_text(path)
    fmt = detect_format(path, text)
    if fmt == "jsonl":
        return [line for line in _lines(text) if line.strip()], fmt, LIST
    records, envelope = split_document(_decode_file(text, fmt, path), path)
    return decoded_records(records), fmt, envelope


def read_each_record(path: str | os.PathLike[str]) -> tuple[list[Any], Format]:
    """The customer records of a file, decoded, for validation: as
    read_document() and customer_list(), except that in JSON Lines, where
    each line is a record, a line that does not decode does not stop the
    reading: its WireFormatError (file, line, column) stands in its place.
    Anything that spoils the whole file (unreadable, not UTF-8, JSON or JSV
    that does not parse, no list of customers) raises."""
    text = _read_text(path)
    fmt = detect_format(path, text)
    if fmt != "jsonl":
        return decoded_records(customer_list(_decode_file(text, fmt, path), path), keep_going=True), fmt
    records: list[Any] = []
    for number, line in enumerate(_lines(text), start=1):
        if line.strip():
            try:
                records.append(_json_line_record(line, str(path), number, len(records)))
            except WireFormatError as exc:
                records.append(exc)
    return decoded_records(records, keep_going=True), fmt


def _json_line_record(line: str, source: str, number: int, index: int) -> dict[str, Any]:
    """One JSON Lines record: a JSON object on line `number` of `source`."""
    record = _load_json(line, source, line=number, path=f"$[{index}]")
    if not isinstance(record, dict):
        raise WireFormatError(f"{source}: line {number}: expected a customer object, found {json_kind(record)}",
                              line=number, path=f"$[{index}]")
    return record


def json_lines_record_error(path: str | os.PathLike[str], index: int) -> WireFormatError | None:
    """The error decode() gives for record `index` (0-based; blank lines do
    not count) of the JSON Lines file `path`, naming the file and the file's
    line and column; None if that record decodes.

    A lazy load keeps each record's text but not its line number (a list of
    them would cost a million-line file 8 MB, and blank lines make the two
    differ), so the error path reads the file again to find it."""
    try:
        text = _read_text(path)
    except RecordError:  # gone or changed since: the caller keeps its own message
        return None
    seen = -1
    for number, line in enumerate(_lines(text), start=1):
        if line.strip():
            seen += 1
            if seen == index:
                try:
                    _json_line_record(line, str(path), number, index)
                except WireFormatError as exc:
                    return exc
                return None
    return None


def load_customers(path: str | os.PathLike[str], **options: Any) -> tuple[list[Customer], Format]:
    document, fmt = read_document(path)
    return parse_customers(document, **options), fmt


def dump_customers(customers: Iterable[WireModel | dict[str, Any]], fmt: Format = "json",
                   envelope: Envelope = LIST) -> str:
    """Models are written in camelCase (`to_wire()`), wire dicts as they are,
    inside `envelope`."""
    return encode(envelope.wrap([c.to_wire() if isinstance(c, WireModel) else c for c in customers]), fmt)


_SURROGATE = re.compile("[\ud800-\udfff]")


def writable(text: str, fmt: Format, path: str | os.PathLike[str]) -> str:
    """`text` as it can be written in UTF-8. A lone surrogate (JSON's "\\ud800"
    reads as one) has no UTF-8 form: JSON and JSON Lines write it back as the
    escape it was read from (it can only stand inside a string); JSV has no
    escapes, so that is a RecordError naming `path`, before anything is written."""
    match = _SURROGATE.search(text)
    if match is None:
        return text
    if fmt in ("json", "jsonl"):
        return _SURROGATE.sub(lambda m: f"\\u{ord(m[0]):04x}", text)
    line = text.count("\n", 0, match.start()) + 1
    raise RecordError(f"{path}: line {line} of the JSV to write holds a lone surrogate "
                      f"(U+{ord(match[0]):04X}), which JSV cannot carry; write JSON instead, "
                      "or remove it", path=str(path))


def _utf8(text: str, fmt: Format, path: str | os.PathLike[str]) -> bytes:
    try:
        return text.encode("utf-8")  # one pass, in C: surrogates are rare
    except UnicodeEncodeError:
        return writable(text, fmt, path).encode("utf-8")


def write_customers_atomic(path: str | os.PathLike[str], customers: Sequence[WireModel | dict[str, Any]],
                           fmt: Format, envelope: Envelope = LIST) -> None:
    """Write to a temporary file beside `path`, fsync, then rename over it:
    the original stays intact if anything fails. A symbolic link is
    followed: the file it names is replaced, the link stays a link."""
    data = _utf8(dump_customers(customers, fmt, envelope), fmt, path)
    target = Path(os.path.realpath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or ".")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if target.exists():
            os.chmod(tmp, target.stat().st_mode & 0o7777)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


@contextmanager
def locked_for_update(path: str | os.PathLike[str]) -> Iterator[None]:
    """Hold an exclusive advisory lock on the file at `path` for a
    read-modify-write, so that two processes patching the same file take
    turns instead of one silently undoing the other. A writer replaces the
    file (a new inode), so a process that waited re-locks until the lock it
    holds is on the file the path names now. Without `fcntl` (Windows) this
    does nothing. A missing file is the reader's error to report."""
    if fcntl is None:
        yield
        return
    real = os.path.realpath(path)
    while True:
        try:
            fd = os.open(real, os.O_RDONLY)
        except OSError:
            yield  # unreadable: reading it will say why
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                named, held = os.stat(real), os.fstat(fd)
                current = (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)
            except FileNotFoundError:
                current = False
            if current:
                yield
                return
        finally:
            os.close(fd)  # closing releases the lock
