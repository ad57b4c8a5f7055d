"""Text renderings for operators: the week grid of the `week` verb."""

from __future__ import annotations

import string
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from .results import Segment

__all__ = ["week_grid"]

UTC = timezone.utc
SLOT_MINUTES = 30


SKIPPED = "."  # a wall-clock time the zone skips (spring forward)
SHARED = "?"  # any one of the states left without a symbol of their own
# Symbols a state may get: capitals and digits, then lower case, then the
# printable ASCII punctuation that does not mean something else in the grid
# (the markers above, the ruler's '|', the legend's '=').
POOL = ("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqrstuvwxyz"
        + "".join(c for c in string.punctuation if c not in SKIPPED + SHARED + "*|="))


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


def week_grid(segments: list[Segment], zone: ZoneInfo, monday: date) -> str:
    """A 7 x 48 grid (one row a local day, one cell 30 minutes of wall-clock
    time) of the state at the start of each cell, with a legend. Cells that
    do not exist (a spring-forward gap) show '.'."""
    states: list[str] = []
    for s in segments:
        if s.state not in states:
            states.append(s.state)
    symbol = _symbols(states)
    pad = " " * len(f"{monday:%a %Y-%m-%d} ")
    lines = [pad + "".join(f"{h:<4d}" for h in range(0, 24, 2)).rstrip(), pad + "| " * 24]
    for day in range(7):
        current = monday + timedelta(days=day)
        cells = []
        for slot in range(24 * 60 // SLOT_MINUTES):
            wall = datetime.combine(current, time()) + timedelta(minutes=slot * SLOT_MINUTES)
            local = wall.replace(tzinfo=zone)
            if local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall:
                cells.append(SKIPPED)  # the wall clock skips this time
                continue
            at = local.astimezone(UTC)
            state = next((s.state for s in segments if s.start <= at < s.end), None)
            cells.append(symbol[state] if state is not None else " ")
        lines.append(f"{current:%a %Y-%m-%d} " + "".join(cells))
    own = [s for s in states if symbol[s] != SHARED]
    shared = [s for s in states if symbol[s] == SHARED]
    legend = "  ".join(f"{symbol[s]} = {_named(s)}" for s in own)
    lines.append("")
    lines.append(f"one cell = {SLOT_MINUTES} minutes of wall-clock time in {zone.key};  {legend}")
    if shared:
        lines.append(f"{SHARED} = any one of these states (more states than symbols): "
                     + ", ".join(_named(s) for s in shared))
    return "\n".join(lines)
