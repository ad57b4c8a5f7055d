"""The baseline: a naive dateutil evaluator, written the way a user would
without schedengine, and independently of its internals (it imports nothing
from the package).

Per query: convert T to the owner's wall time with zoneinfo, walk the rules
by priority (highest first, ties in list order), and for a Time rule ask a
cached `dateutil.rrule.rrule` -- DTSTART = the original StartDate+StartTime,
no re-anchoring -- for its latest occurrence at or before that wall time
(`before(wall, inc=True)`, which replays the rule from DTSTART on every
call), then check `wall < occurrence + duration`. Windows crossing midnight
also check the occurrence before that one. Always matches; CustomerState
reads the parent's state recursively; a Condition never matches.

`timeline` collects candidate edges with `rrule.between` over the window per
rule (and the parents' rules that CustomerState reads), maps each wall-time
edge to UTC with both folds, evaluates `state_at` at each candidate and merges
runs of equal state. `next_change` does that one week at a time, up to a year.

Good enough for ordinary instants on the demo tree; exotic rules (BYSETPOS
with Weekly, Yearly BYMONTHDAY without BYMONTH, date-time UntilDates in a DST
gap...) follow dateutil's reading, not the project's.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from dateutil import rrule as du

UTC = timezone.utc
DAY = timedelta(days=1)
AFTER_HOURS = "After Hours"  # the engine's default force-closed and fallback state
FREQUENCIES = {"secondly": du.SECONDLY, "minutely": du.MINUTELY, "hourly": du.HOURLY,
               "daily": du.DAILY, "weekly": du.WEEKLY, "monthly": du.MONTHLY, "yearly": du.YEARLY}
WEEKDAYS = (du.SU, du.MO, du.TU, du.WE, du.TH, du.FR, du.SA)  # .NET numbering: Sunday = 0
WEEKDAY_NAMES = {d: WEEKDAYS[i] for i, d in enumerate(
    ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"))}
RULE_KINDS = ("always", "customerstate", "time")  # by wire integer
FREQUENCY_NAMES = (None, "secondly", "minutely", "hourly", "daily", "weekly", "monthly", "yearly")


def clock(text: str) -> int:
    """'09:00', '09:00:00', '9:00 AM', '24:00' -> seconds since midnight."""
    text = text.strip().upper()
    suffix = text[-2:] if text[-2:] in ("AM", "PM") else ""
    parts = [int(p) for p in text.removesuffix(suffix).strip().split(":")]
    hours = parts[0] % 12 + (12 if suffix == "PM" else 0) if suffix else parts[0]
    return hours * 3600 + parts[1] * 60 + (parts[2] if len(parts) > 2 else 0)


def zone_named(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except Exception:
        from tzlocal.windows_tz import win_tz  # Windows names, e.g. "Eastern Standard Time"
        return ZoneInfo(win_tz[name])


def _weekday(entry: dict) -> du.weekday:
    """A ByDay entry {offset, dayOfWeek} -> MO, TU(2), FR(-1)..."""
    day = entry["dayOfWeek"]
    weekday = WEEKDAYS[day] if isinstance(day, int) else WEEKDAY_NAMES[day.strip().lower()]
    return weekday(entry["offset"]) if entry.get("offset") else weekday


def _name(value: object, names: tuple) -> str | None:
    if isinstance(value, int):
        return names[value]
    return str(value).strip().lower() if value is not None else None


class TimeRule:
    """A Time rule: occurrence starts from dateutil (or one fixed span) plus a duration."""

    def __init__(self, rule: dict, zone: ZoneInfo):
        start_day = date.fromisoformat(rule["startDate"][:10]) if rule.get("startDate") else date(1970, 1, 1)
        start_text, end_text = rule.get("startTime"), rule.get("endTime")
        all_day = bool(rule.get("isAllDay")) or not (start_text or end_text)
        start = 0 if all_day else clock(start_text or "00:00")
        end = 86400 if all_day or not end_text else clock(end_text)
        seconds = end - start if end > start else end - start + 86400
        self.duration = timedelta(seconds=seconds)
        self.wraps = not all_day and end <= start  # crosses midnight: check one more occurrence
        self.dtstart = datetime.combine(start_day, time()) + timedelta(seconds=start)
        frequency = _name(rule.get("frequency"), FREQUENCY_NAMES)
        until_text = rule.get("untilDate")
        until = None
        if until_text:
            until = datetime.fromisoformat(until_text) if "T" in until_text else \
                datetime.combine(date.fromisoformat(until_text), time(23, 59, 59))
            if until.tzinfo is not None:
                until = until.astimezone(zone).replace(tzinfo=None)
        self.rrule = None
        if frequency in (None, "none"):  # one window, or one span up to UntilDate
            last = self.dtstart + self.duration
            if until is not None and until.date() > start_day:
                last = datetime.combine(until.date(), time()) + timedelta(seconds=end)
            self.span = (self.dtstart, last)
            return
        by_day = [_weekday(d) for d in rule.get("byDay") or ()]
        count = rule.get("count") or 0
        self.rrule = du.rrule(
            FREQUENCIES[frequency], dtstart=self.dtstart, interval=max(1, rule.get("interval") or 1),
            wkst=du.MO, count=count if count > 0 else None, until=until,
            byweekday=by_day or None, bymonth=rule.get("byMonth") or None,
            bymonthday=rule.get("byMonthDay") or None, byyearday=rule.get("byYearDay") or None,
            byweekno=rule.get("byWeekNo") or None, byhour=rule.get("byHour") or None,
            byminute=rule.get("byMinute") or None, bysetpos=rule.get("bySetPosition") or None)

    def contains(self, wall: datetime) -> bool:
        if self.rrule is None:
            return self.span[0] <= wall < self.span[1]
        last = self.rrule.before(wall, inc=True)
        if last is None:
            return False
        if wall < last + self.duration:
            return True
        if self.wraps:
            previous = self.rrule.before(last)
            return previous is not None and wall < previous + self.duration
        return False

    def edges(self, lo: datetime, hi: datetime) -> list[datetime]:
        """Window starts and ends (wall time) of windows meeting [lo, hi)."""
        if self.rrule is None:
            return list(self.span)
        starts = self.rrule.between(lo - self.duration, hi, inc=True)
        return starts + [s + self.duration for s in starts]


class NaiveEvaluator:
    def __init__(self, records: list[dict]):
        self.customers = {r["id"]: r for r in records}
        self._rules: dict[str, list[tuple[dict, TimeRule | None]]] = {}  # owner -> ordered rules

    # ---------------------------------------------------------------- tree
    def parent(self, customer_id: str) -> str | None:
        return self.customers[customer_id].get("parentCustomerId") or None

    def owner(self, customer_id: str) -> str:
        while True:
            schedule = self.customers[customer_id].get("schedule")
            parent = self.parent(customer_id)
            if parent is None or (schedule is not None and not schedule.get("inherit")):
                return customer_id
            customer_id = parent

    def zone(self, owner: str) -> ZoneInfo:
        cid: str | None = owner
        while cid is not None:
            name = ((self.customers[cid].get("schedule") or {}).get("timeZoneId") or "").strip()
            if name:
                return zone_named(name)
            cid = self.parent(cid)
        return ZoneInfo("UTC")

    def rules(self, owner: str) -> list[tuple[dict, TimeRule | None]]:
        ordered = self._rules.get(owner)
        if ordered is None:
            zone = self.zone(owner)
            rules = (self.customers[owner].get("schedule") or {}).get("rules") or []
            rules = sorted(rules, key=lambda r: -(r.get("priority") or 0))  # stable: ties keep list order
            ordered = [(r, TimeRule(r, zone) if self.kind(r) == "time" else None) for r in rules]
            self._rules[owner] = ordered
        return ordered

    @staticmethod
    def kind(rule: dict) -> str:
        return _name(rule.get("simpleRuleType", "Time"), RULE_KINDS)

    # ------------------------------------------------------------- queries
    def state_at(self, customer_id: str, at: datetime | float) -> str:
        if not isinstance(at, datetime):
            at = datetime.fromtimestamp(at, UTC)
        owner = self.owner(customer_id)
        schedule = self.customers[owner].get("schedule") or {}
        if schedule.get("forceClosed"):
            return AFTER_HOURS
        wall = at.astimezone(self.zone(owner)).replace(tzinfo=None)
        for rule, windows in self.rules(owner):
            if (rule.get("condition") or "").strip():
                continue  # no condition evaluator
            kind = self.kind(rule)
            if kind == "always":
                return rule.get("state") or ""
            if kind == "customerstate":
                parent = self.parent(owner)
                wanted = (rule.get("customerState") or "").strip().lower()
                if parent and self.state_at(parent, at).strip().lower() == wanted:
                    return rule.get("state") or ""
            elif windows is not None and windows.contains(wall):
                return rule.get("state") or ""
        default = schedule.get("defaultState") or ""
        return default if default.strip() else AFTER_HOURS

    def _edges(self, customer_id: str, start: datetime, end: datetime) -> set[datetime]:
        owner = self.owner(customer_id)
        zone = self.zone(owner)
        lo = start.astimezone(zone).replace(tzinfo=None) - DAY
        hi = end.astimezone(zone).replace(tzinfo=None) + DAY
        edges: set[datetime] = set()
        for rule, windows in self.rules(owner):
            if windows is not None:
                for wall in windows.edges(lo, hi):
                    edges.update(wall.replace(tzinfo=zone, fold=f).astimezone(UTC) for f in (0, 1))
            elif self.kind(rule) == "customerstate" and self.parent(owner):
                edges |= self._edges(self.parent(owner), start, end)
        return edges

    def timeline(self, customer_id: str, start: datetime, end: datetime) -> list[tuple[datetime, datetime, str]]:
        state, seg_start, segments = self.state_at(customer_id, start), start, []
        for t in sorted(e for e in self._edges(customer_id, start, end) if start < e < end):
            later = self.state_at(customer_id, t)
            if later != state:
                segments.append((seg_start, t, state))
                seg_start, state = t, later
        segments.append((seg_start, end, state))
        return segments

    def next_change(self, customer_id: str, at: datetime) -> tuple[datetime, str] | None:
        first = self.state_at(customer_id, at)
        for week in range(53):
            segments = self.timeline(customer_id, at + week * 7 * DAY, at + (week + 1) * 7 * DAY)
            for seg_start, _, state in segments:
                if state != first:
                    return seg_start, state
        return None
