"""Text renderings for operators: the week grid of the `week` verb."""

from __future__ import annotations

import math
import string
from bisect import bisect_right
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .records import json_string
from .results import Segment
from .times import MAX_DATE, MIN_DATE, utc_offset_spans
from .tree import normalise_state

__all__ = ["week_grid"]

SLOT_MINUTES = 30
LEGEND_WIDTH = 100
SKIPPED = "."  # a wall-clock time the zone skips (spring forward)
CHANGES = "*"  # the state changes within the cell
SHARED = "?"  # any one of the states left without a symbol of their own
OUTSIDE = " "  # no segment covers the cell: the week runs past the instants the engine accepts
# Symbols a state may get: capitals and digits, then lower case, then the
# printable ASCII punctuation that does not mean something else in the grid
# (the markers above, the ruler's '|', the legend's '=').
POOL = ("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqrstuvwxyz"
        + "".join(c for c in string.punctuation if c not in SKIPPED + CHANGES + SHARED + "|="))


def _symbols(states: list[str]) -> dict[str, str]:
    """One character per state, in order: an ASCII letter or digit of its
    name (upper case) when free, else the next free one in POOL. Once POOL
    is used up, every further state is drawn as SHARED."""
    taken: dict[str, str] = {}
    used: set[str] = set()
    for state in states:
        wanted = [c for c in state.upper() if c.isascii() and c.isalnum()] + list(POOL)
        symbol = next((c for c in wanted if c not in used), SHARED)
        taken[state] = symbol
        used.add(symbol)
    return taken


def _named(state: str) -> str:
    """A state name as the legend shows it: quoted when blank, so it is seen."""
    return state if state.strip() else f'"{state}"'


def _wrapped(entries: list[str], head: str = "", sep: str = "  ", width: int = LEGEND_WIDTH) -> list[str]:
    """`head`, then the entries with `sep` between them, in lines of at most
    `width` characters where the entries allow (one too long keeps a line to
    itself). No entries, no lines."""
    if not entries:
        return []
    lines: list[str] = []
    line, fresh = (head + " " if head else ""), True
    for entry in entries:
        if not fresh and len(line) + len(sep) + len(entry) > width:
            lines.append(line + sep.rstrip())
            line, fresh = "", True
        line += entry if fresh else sep + entry
        fresh = False
    return [x.rstrip() for x in lines + [line]]


def _cells(zone: ZoneInfo, monday: date, covered: tuple[float, float] | None = None,
           ) -> list[list[list[tuple[float, float]]]]:
    """Per local day, per cell: the intervals of real time (UTC epoch
    seconds) in which the wall clock shows a time inside the cell. Usually
    one; two for a cell repeated by a fall-back; none for a cell a
    spring-forward skips. UTC offsets are looked up only within `covered`
    (the segments' range, when it is less than the week: the first and last
    weeks the engine accepts), and the nearest one stands for the rest of
    the week, whose cells show no state anyway."""
    first = datetime.combine(monday, time())
    week_start = first.replace(tzinfo=zone).timestamp()
    week_end = datetime.combine(monday + timedelta(days=7), time(), zone).timestamp()
    lo, hi = (max(week_start, covered[0]), min(week_end, covered[1])) if covered else (week_start, week_end)
    spans = utc_offset_spans(zone, math.floor(lo), math.ceil(hi))
    if spans:
        spans[0] = (min(spans[0][0], week_start), *spans[0][1:])
        spans[-1] = (spans[-1][0], max(spans[-1][1], week_end), spans[-1][2])
    wall0 = (first - datetime(1970, 1, 1)) // timedelta(seconds=1)  # the week's first wall time, as if UTC
    days = []
    for day in range(7):
        row = []
        for slot in range(24 * 60 // SLOT_MINUTES):
            lo = wall0 + (day * 24 * 60 + slot * SLOT_MINUTES) * 60
            hi = lo + SLOT_MINUTES * 60
            parts = [(max(s0, lo - offset, week_start), min(s1, hi - offset, week_end)) for s0, s1, offset in spans]
            row.append([(a, b) for a, b in parts if a < b])
        days.append(row)
    return days


def week_grid(segments: list[Segment], zone: ZoneInfo, monday: date) -> str:
    """A 7 x 48 grid, one row a local day and one cell 30 minutes of
    wall-clock time, with a legend. A cell stands for every instant at which
    the wall clock shows a time inside it (twice over for the hour a
    fall-back repeats). It shows the symbol of the state that holds all
    through it, CHANGES ('*') when the state changes within it, and SKIPPED
    ('.') when the wall clock skips it. A state that never holds a whole cell
    gets no symbol: the legend lists it as seen only within '*' cells.
    Segments that cover less than the week (the first and last weeks of the
    instants the engine accepts) leave the cells outside them OUTSIDE
    (blank); a cell on the edge is drawn from its part inside.

    State names compare as SPEC §4 compares them, trimmed and
    case-insensitively: "Open" and "OPEN " are one state, with one symbol,
    named by the spelling it first has in the week; the legend lists the
    other spellings after it (``O = Open (also "OPEN ")``)."""
    keys = [normalise_state(s.state) for s in segments]
    spellings: dict[str, list[str]] = {}  # per state, in the order the week first shows each
    for s, key in zip(segments, keys):
        seen = spellings.setdefault(key, [])
        if s.state not in seen:
            seen.append(s.state)
    starts = [s.start.timestamp() for s in segments]

    def states_within(parts: list[tuple[float, float]]) -> list[str] | None:
        if not parts:
            return None
        found: list[str] = []
        for a, b in parts:
            j = max(bisect_right(starts, a) - 1, 0)
            while j < len(segments) and starts[j] < b:
                if segments[j].end.timestamp() > a and keys[j] not in found:
                    found.append(keys[j])
                j += 1
        return found

    covered = (starts[0], segments[-1].end.timestamp()) if segments else None
    held = [[states_within(parts) for parts in row] for row in _cells(zone, monday, covered)]
    whole = {cell[0] for row in held for cell in row if cell is not None and len(cell) == 1}
    states = list(spellings)
    by_name = _symbols([spellings[k][0] for k in states if k in whole])
    symbol = {k: by_name[spellings[k][0]] for k in states if k in whole}

    def named(key: str) -> str:
        first, *others = spellings[key]
        return _named(first) + (f" (also {', '.join(map(json_string, others))})" if others else "")

    def shown(cell: list[str] | None) -> str:
        if cell is None:
            return SKIPPED
        return symbol[cell[0]] if len(cell) == 1 else CHANGES if cell else OUTSIDE

    grid = ["".join(shown(cell) for cell in row) for row in held]
    drawn = "".join(grid)

    def day_label(day: date) -> str:  # isoformat, not %Y: glibc writes year 2 as "2", not "0002"
        return f"{day:%a} {day.isoformat()}"

    pad = " " * len(day_label(monday) + " ")
    lines = [pad + "".join(f"{h:<4d}" for h in range(0, 24, 2)).rstrip(), pad + "| " * 24]
    lines += [f"{day_label(monday + timedelta(days=day))} {cells}" for day, cells in enumerate(grid)]
    lines.append("")
    lines.append(f"one cell = {SLOT_MINUTES} minutes of wall-clock time in {zone.key}, "
                 "drawn as the state that holds all through it")
    markers = [f"{CHANGES} = the state changes within the cell"] if CHANGES in drawn else []
    markers += [f"{SKIPPED} = a time the wall clock skips"] if SKIPPED in drawn else []
    markers += ([f"blank = outside the instants schedengine accepts ({MIN_DATE} to before "
                 f"{MAX_DATE.year + 1}-01-01 UTC)"] if OUTSIDE in drawn else [])
    lines += _wrapped(markers)
    lines += _wrapped([f"{symbol[k]} = {named(k)}" for k in states if k in whole and symbol[k] != SHARED])
    shared = [named(k) for k in states if k in whole and symbol[k] == SHARED]
    lines += _wrapped(shared, f"{SHARED} = any one of these states (more states than symbols):", ", ")
    lines += _wrapped([named(k) for k in states if k not in whole],
                      f"within {CHANGES} cells only (never a whole cell):", ", ")
    return "\n".join(lines)
