"""ServiceStack JSV text <-> plain Python values (dict, list, str, None).

JSV is untyped: every scalar is read back as ``str`` (``True``, ``3``,
``09:00``); the pydantic records give it a type later.

What ServiceStack.Text does (JsvTypeSerializer, JsWriter, JsvFormatter,
DeserializeListWithElements, and the "JSV Format" docs page):

* A string is written bare unless it holds one of ``" : , { } [ ] CR LF``;
  then it is wrapped in ``"`` and each inner ``"`` is doubled (CSV style).
  The empty string is written ``""``.
* Nulls are never written: a null property or dictionary entry is left out,
  a null list element is an empty element (``[a,,b]``).
* Reading, an empty value is null: ``{A:,B:1}`` and ``{A:}`` give ``A`` null;
  every empty list element is null, a trailing one too (``[a,]`` is
  ``[a, null]``, ``[,]`` is ``[null, null]``); ``[]`` is the empty list.
* ``null`` is not a keyword ("treated as 'null' string literal").
* A bare key runs to the first ``:``; a bare value runs to the next ``,`` or
  closing bracket, so values such as ``America/New_York`` or ``12:00`` need
  no quotes when read.
* ServiceStack's own reader is whitespace-significant (``{A: b}`` reads
  ``" b"``); its ``JsvFormatter`` pretty-prints with line breaks, tab indents
  and ``Key: `` for display only.

What this module decides:

* Both forms are read: whitespace (space, tab, CR, LF) around keys, values
  and punctuation is insignificant and bare scalars are trimmed; a quoted
  value keeps its inner text exactly. This is the one deliberate difference
  from ServiceStack, so `dumps` also quotes strings with leading or trailing
  whitespace.
* Empty values read as ``None`` as above; ``null`` reads as the string
  ``"null"``. A trailing ``,`` before ``}`` is ignored (hand-written files);
  an empty map entry (``{A:1,,B:2}``) is an error.
* A bare value may not run across a line break: in the pretty form that is
  nearly always a missing ``,`` (ServiceStack always quotes line breaks).
* A document that does not start with ``{``, ``[`` or ``"`` is one bare
  string (its whole trimmed text), as ServiceStack reads a top-level string.
  A leading byte-order mark is skipped. Duplicate keys: the last one wins.
* `dumps` writes the compact form. ``None`` is omitted from maps and is an
  empty element in lists; a list holding only ``None`` and a top-level
  ``None`` cannot be told apart from ``[]``/nothing, so they raise
  `RecordError` instead of being written lossily. ``True``/``False`` as .NET
  writes them; ints in decimal; floats by ``repr`` without an exponent for
  ordinary magnitudes, ``NaN``/``Infinity``/``-Infinity`` as .NET parses
  them. Any ``:`` forces quotes, so the canonical form of a time is ``"09:00"``.

For every value built from dicts, lists and strings, ``loads(dumps(x)) == x``.
Both directions use explicit stacks: nesting depth is limited by memory only.
Malformed text raises `WireFormatError` with 1-based ``line``/``column`` and a
``path`` such as ``$[2].Schedule.Rules[0].StartTime``.
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal

from schedengine.errors import RecordError, WireFormatError

__all__ = ["loads", "dumps"]

_WS = " \t\r\n"
_skip_ws = re.compile(r"[ \t\r\n]*").match
# A bare value stops at a separator or any bracket; the container then
# checks that what follows is its own separator or closer.
_bare_value = re.compile(r"[^,{}\[\]]*").match
_bare_key = re.compile(r"[^:,{}\[\]]*").match
# Fast path for `Key:` (bare, one line) with the whitespace after the colon.
_simple_key = re.compile(r'([^:,{}\[\]"\r\n]+):[ \t\r\n]*').match
_needs_quotes = re.compile(r'[",:{}\[\]\r\n]').search
_EDGE = _WS + "\ufeff"  # would be trimmed (or taken for a BOM) if left bare
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z").match

# A frame of the parse stack: [container, closing char, offset of opener, current key]
_CONTAINER, _CLOSER, _OPENED_AT, _KEY = range(4)


def loads(text: str) -> object:
    """Parse JSV text (compact or pretty-printed) into dict/list/str/None."""
    if not isinstance(text, str):
        raise TypeError(f"jsv.loads() takes str, not {type(text).__name__}")
    n = len(text)
    pos = _skip_ws(text, 1 if text.startswith("\ufeff") else 0).end()
    if pos == n:
        raise _error(text, pos, [], "empty input: expected a JSV value")
    if text[pos] not in '{["':
        return text[pos:].rstrip(_WS)

    stack: list[list] = []
    while True:
        # Read one value at pos (whitespace already skipped).
        c = text[pos] if pos < n else ""
        if c == "{" or c == "[":
            frame = [{} if c == "{" else [], "}" if c == "{" else "]", pos, None]
            pos = _skip_ws(text, pos + 1).end()
            if pos < n and text[pos] == frame[_CLOSER]:
                value = frame[_CONTAINER]
                pos += 1
            else:
                stack.append(frame)
                if c == "{":
                    pos = _read_key(text, pos, stack)
                continue
        elif c == '"':
            value, pos = _read_quoted(text, pos, stack)
        else:
            end = _bare_value(text, pos).end()  # also eats trailing whitespace
            value = text[pos:end].strip(_WS) or None
            if value is not None and ("\n" in value or "\r" in value):
                brk = min(i for i in (value.find("\n"), value.find("\r")) if i >= 0)
                raise _error(text, pos + brk, stack,
                             f"bare value {value[:brk]!r} runs onto the next line; "
                             "missing ',' after it? (quote values that contain line breaks)")
            pos = end

        # Hand the value to its container; close containers as their ends arrive.
        while True:
            if pos < n and text[pos] in _WS:
                pos = _skip_ws(text, pos).end()
            if not stack:
                if pos != n:
                    raise _error(text, pos, stack,
                                 f"unexpected {_found(text, pos)} after the end of the JSV value")
                return value
            frame = stack[-1]
            container, closer = frame[_CONTAINER], frame[_CLOSER]
            c = text[pos] if pos < n else ""
            if c == "," or c == closer:
                # Attach only now, so an error before this point still has the index right.
                if closer == "}":
                    container[frame[_KEY]] = value
                else:
                    container.append(value)
                if c == ",":
                    pos += 1
                    if pos < n and text[pos] in _WS:
                        pos = _skip_ws(text, pos).end()
                    if closer == "]":
                        break
                    if not (pos < n and text[pos] == "}"):
                        pos = _read_key(text, pos, stack)
                        break
                    # a trailing comma before '}': close the map
                pos += 1
                value = container
                stack.pop()
                continue
            if not c:
                raise _unclosed(text, stack)
            after = f"the value of {frame[_KEY]!r}" if closer == "}" else "a list element"
            raise _error(text, pos, stack,
                         f"expected ',' or '{closer}' after {after}, found "
                         f"{_found(text, pos)} (missing ',' or unquoted special character?)")


def _read_key(text: str, pos: int, stack: list[list]) -> int:
    """Read `Key:` at pos into the top frame; return the position of its value."""
    frame = stack[-1]
    simple = _simple_key(text, pos)  # the common case in one regex call
    if simple:
        frame[_KEY] = simple.group(1).rstrip(_WS)
        return simple.end()
    frame[_KEY] = None  # the path names the map, not the previous entry
    n = len(text)
    if pos >= n:
        raise _unclosed(text, stack)
    if text[pos] == '"':
        key, end = _read_quoted(text, pos, stack)
        end = _skip_ws(text, end).end()
    else:
        end = _bare_key(text, pos).end()
        key = text[pos:end].strip(_WS)
        if not key:
            what = "an empty map entry" if end < n and text[end] == "," else "a map entry without a key"
            raise _error(text, pos, stack,
                         f"{what}: expected a key before {_found(text, end)}")
        if "\n" in key or "\r" in key:
            raise _error(text, pos, stack,
                         f"key {key!r} runs across a line break; missing ',' or ':'?")
    if end >= n or text[end] != ":":
        raise _error(text, end, stack,
                     f"map entry {key!r} has no ':' (found {_found(text, end)}); "
                     "write Key:Value, and quote keys that contain , { } [ ]")
    frame[_KEY] = key
    return _skip_ws(text, end + 1).end()


def _read_quoted(text: str, pos: int, stack: list[list]) -> tuple[str, int]:
    """Read the CSV-quoted string opening at pos; return it and the offset after it."""
    i = pos + 1
    while True:
        end = text.find('"', i)
        if end < 0:
            raise _error(text, pos, stack,
                         "unterminated quoted string (a '\"' inside a value is written '\"\"')")
        if not text.startswith('"', end + 1):
            break
        i = end + 2  # a doubled quote is a literal '"'
    raw = text[pos + 1:end]
    return (raw.replace('""', '"') if '""' in raw else raw), end + 1


def _unclosed(text: str, stack: list[list]) -> WireFormatError:
    frame = stack[-1]
    line, column = _line_column(text, frame[_OPENED_AT])
    opener = text[frame[_OPENED_AT]]
    return _error(text, len(text), stack,
                  f"unexpected end of input: '{opener}' opened at line {line}, column {column} "
                  f"is never closed with '{frame[_CLOSER]}' (truncated file?)")


def _line_column(text: str, pos: int) -> tuple[int, int]:
    return text.count("\n", 0, pos) + 1, pos - text.rfind("\n", 0, pos)


def _found(text: str, pos: int) -> str:
    return "end of input" if pos >= len(text) else repr(text[pos])


def _path(parts: list) -> str:
    out = ["$"]
    for part in parts:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif isinstance(part, str) and _IDENTIFIER(part):
            out.append("." + part)
        elif isinstance(part, str):
            out.append(f"[{json.dumps(part, ensure_ascii=False)}]")
        else:  # a non-str key met while writing
            out.append(f"[{part!r}]")
    return "".join(out)


def _error(text: str, pos: int, stack: list[list], message: str) -> WireFormatError:
    parts: list = []
    for frame in stack:
        if frame[_CLOSER] == "]":
            parts.append(len(frame[_CONTAINER]))
        elif frame[_KEY] is not None:
            parts.append(frame[_KEY])
        else:
            break  # inside a map, between entries
    line, column = _line_column(text, pos)
    path = _path(parts)
    return WireFormatError(f"JSV line {line}, column {column}, at {path}: {message}",
                           line=line, column=column, path=path)


# --- writing ---------------------------------------------------------------

def dumps(value: object) -> str:
    """Write dict/list/tuple/str/int/float/bool/None as compact JSV."""
    if isinstance(value, (dict, list, tuple)):
        out: list[str] = []
        stack: list[list] = []
        _open(value, out, stack)
        while stack:
            frame = stack[-1]
            it, is_map = frame[0], frame[1]
            item = next(it, _END)
            if is_map:
                while item is not _END and item[1] is None:
                    item = next(it, _END)  # ServiceStack leaves nulls out
            if item is _END:
                if not is_map and frame[2] == 1 and out[-1] == "[":
                    path = _dump_path(stack[:-1])
                    raise RecordError(f"{path}: a list holding only None cannot be written as "
                                      "JSV (it would read back as an empty list)", path=path)
                out.append("}" if is_map else "]")
                stack.pop()
                continue
            if frame[2]:
                out.append(",")
            if is_map:
                key, item = item
                frame[3] = None  # a bad key is reported at its map
                out.append(_key_text(key, stack))
                out.append(":")
                frame[3] = key
            else:
                frame[3] = frame[2]
            frame[2] += 1
            if isinstance(item, (dict, list, tuple)):
                _open(item, out, stack)
            elif item is not None:  # None in a list is an empty element
                out.append(_scalar_text(item, stack))
        return "".join(out)
    if value is None:
        raise RecordError("$: None cannot be written as a JSV document", path="$")
    return _scalar_text(value, [])


_END = object()


def _open(value: object, out: list[str], stack: list[list]) -> None:
    # frame: [iterator, is_map, items written, key/index of the item being written]
    if isinstance(value, dict):
        out.append("{")
        stack.append([iter(value.items()), True, 0, None])
    else:
        out.append("[")
        stack.append([iter(value), False, 0, None])


def _dump_path(stack: list[list]) -> str:
    return _path([frame[3] for frame in stack if frame[3] is not None])


def _key_text(key: object, stack: list[list]) -> str:
    if isinstance(key, str):
        return _string_text(key)
    if isinstance(key, (int, float)):
        return _scalar_text(key, stack)
    raise TypeError(f"{_dump_path(stack)}: JSV map keys must be str, not {type(key).__name__}")


def _scalar_text(value: object, stack: list[list]) -> str:
    if isinstance(value, str):
        return _string_text(value)
    if isinstance(value, bool):  # before int: bool is an int
        return "True" if value else "False"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float_text(value)
    raise TypeError(f"{_dump_path(stack)}: cannot write {type(value).__name__} as JSV "
                    "(pass dict, list, str, int, float, bool or None; format dates as strings)")


def _string_text(text: str) -> str:
    if text and not _needs_quotes(text) and text[0] not in _EDGE and text[-1] not in _EDGE:
        return text
    return '"' + text.replace('"', '""') + '"'


def _float_text(number: float) -> str:
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    text = repr(number)
    # repr switches to an exponent outside 1e-4..1e16; spell ordinary magnitudes out.
    if "e" in text and 1e-7 <= abs(number) < 1e21:
        text = format(Decimal(text), "f")
    return text
