"""Text renderings for operators: the week grid of the `week` verb."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from .results import Segment

__all__ = ["week_grid"]

UTC = timezone.utc
SLOT_MINUTES = 30


def _symbols(states: list[str]) -> dict[str, str]:
    """One character per state: its initial when free, else the next free letter or digit."""
    taken: dict[str, str] = {}
    pool = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    for state in states:
        wanted = [c for c in state.upper() if c.isalnum()] + list(pool)
        taken[state] = next(c for c in wanted if c not in taken.values())
    return taken


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
                cells.append(".")  # the wall clock skips this time
                continue
            at = local.astimezone(UTC)
            state = next((s.state for s in segments if s.start <= at < s.end), None)
            cells.append(symbol[state] if state is not None else " ")
        lines.append(f"{current:%a %Y-%m-%d} " + "".join(cells))
    legend = "  ".join(f"{symbol[s]} = {s}" for s in states)
    lines.append("")
    lines.append(f"one cell = {SLOT_MINUTES} minutes of wall-clock time in {zone.key};  {legend}")
    return "\n".join(lines)
