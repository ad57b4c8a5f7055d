"""The scenarios: one function each, returning table rows. Seeded; every
scenario measures our operation and the naive baseline in the same process.
Instants are uniform over +-3 years around 2026-11-27 UTC unless said."""

from __future__ import annotations

import importlib.util
import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import cached_property
from pathlib import Path
from random import Random
from typing import Any, Callable, Sequence

from schedengine import Engine

from .naive import NaiveEvaluator, du
from .timing import Stats, measure, stats

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "fixtures" / "demo.json"
UTC = timezone.utc
CENTER = datetime(2026, 11, 27, tzinfo=UTC).timestamp()
SPREAD = 3 * 365.25 * 86400
US, MS = 1_000, 1_000_000
# A deployment setting for big in-memory trees (glibc >= 2.35, Linux THP in
# "madvise" or "always"): Python objects from glibc malloc, which asks for
# transparent huge pages, so random access over gigabytes misses the TLB less.
HUGE_PAGES_ENV = {"PYTHONMALLOC": "malloc", "GLIBC_TUNABLES": "glibc.malloc.hugetlb=1"}


@dataclass
class Row:
    """One line of the table. `unit`: "time" (ns per operation), "rate" (ns
    per item, also shown as items/s), "factor" (a plain ratio), "bytes"."""
    scenario: str
    operation: str
    median: float | None  # None: not measured (n/a)
    p90: float | None = None
    baseline: float | None = None
    goal: str = ""
    met: bool | None = None
    unit: str = "time"
    note: str = ""

    @classmethod
    def of(cls, scenario: str, operation: str, ours: Stats | None, base: Stats | None = None,
           goal: str = "", met: bool | None = None, **extra: Any) -> "Row":
        return cls(scenario, operation, ours and ours.median, ours and ours.p90, base and base.median,
                   goal, met, **extra)

    @property
    def ratio(self) -> float | None:
        if self.unit in ("time", "rate") and self.median and self.baseline:
            return self.baseline / self.median
        return None


@dataclass
class Context:
    """Sizes and shared inputs; picklable, so each scenario can run in a fresh process."""
    quick: bool
    workdir: str
    queries: int  # warm queries per scenario
    naive_queries: int  # the baseline is ~10^4x slower: fewer queries
    tree_customers: int
    cold_customers: int
    age_engines: int
    bulk_instants: int
    cli_runs: int
    scale_customers: int = 1_000_000
    huge_pages: bool = False  # scenario 9 runs under HUGE_PAGES_ENV (set by the runner, not here)

    @classmethod
    def make(cls, quick: bool, workdir: str) -> "Context":
        if quick:
            return cls(True, workdir, 1_000, 10, 300, 10, 3, 10_000, 1)
        return cls(False, workdir, 20_000, 300, 10_000, 200, 30, 1_000_000, 5)

    @property
    def tree_path(self) -> str:
        return os.path.join(self.workdir, f"tree-{self.tree_customers}.jsonl")

    @cached_property
    def demo_records(self) -> list[dict]:
        return json.loads(DEMO.read_text(encoding="utf-8"))

    @cached_property
    def tree_records(self) -> list[dict]:
        with open(self.tree_path, encoding="utf-8") as lines:
            return [json.loads(line) for line in lines]

    def __getstate__(self) -> dict:  # ship the sizes, not the loaded records
        return {k: v for k, v in self.__dict__.items() if k not in ("demo_records", "tree_records")}


def generator() -> Any:
    spec = importlib.util.spec_from_file_location("fixtures_generate", ROOT / "fixtures" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def write_tree(path: str, customers: int, seed: int = 7) -> None:
    with open(path, "w", encoding="utf-8") as out:
        generator().write_records(generator().generate_records(customers, seed=seed), out, "jsonl")


def instants(rng: Random, n: int, center: float = CENTER, spread: float = SPREAD) -> list[float]:
    return [center + rng.uniform(-spread, spread) for _ in range(n)]


def random_queries(rng: Random, ids: Sequence[str], n: int) -> list[tuple[str, datetime]]:
    return [(rng.choice(ids), datetime.fromtimestamp(t, UTC)) for t in instants(rng, n)]


def warm(call: Callable[..., Any], queries: Sequence[tuple], inner: int = 1) -> Stats:
    """Measure after one untimed pass over the same queries."""
    for q in queries:
        call(*q)
    return measure(call, queries, inner)


def ids_of(records: list[dict]) -> list[str]:
    return [r["id"] for r in records]


# ------------------------------------------------------------------ scenarios

def check_baseline(ctx: Context) -> dict:
    """Spot-check: the naive baseline against Engine.state_at on the demo tree."""
    engine, naive = Engine.from_file(DEMO), NaiveEvaluator(ctx.demo_records)
    queries = random_queries(Random(0), ids_of(ctx.demo_records), 40 if ctx.quick else 400)
    wrong = [(c, at.isoformat()) for c, at in queries if naive.state_at(c, at) != engine.state_at(c, at).state]
    return {"queries": len(queries), "agree": len(queries) - len(wrong), "disagreements": wrong[:10]}


def goal_rows(name: str, operation: str, ours: Stats, base: Stats, limit: float) -> list[Row]:
    """Goal 1's two parts as two rows: the time, and the ratio to the baseline."""
    return [Row.of(name, operation, ours, base, f"≤ {limit / US:g} µs", ours.median <= limit),
            Row(name, f"{operation}: naive ÷ ours", base.median / ours.median, goal="≥ 10,000×",
                met=base.median >= 10_000 * ours.median, unit="factor")]


def warm_demo(ctx: Context) -> list[Row]:
    """1 and 2: warm state_at on the demo tree, aware datetime and epoch float."""
    engine, naive = Engine.from_file(DEMO), NaiveEvaluator(ctx.demo_records)
    queries = random_queries(Random(1), ids_of(ctx.demo_records), ctx.queries)
    floats = [(c, at.timestamp()) for c, at in queries]
    rows = []
    for name, qs, kind, limit in (("1 demo, warm", queries, "aware datetime", 1 * US),
                                  ("2 demo, warm", floats, "epoch float", 0.6 * US)):
        ours = warm(engine.state_at, qs, inner=100)
        base = warm(naive.state_at, qs[:ctx.naive_queries])
        rows += goal_rows(name, f"state_at(id, {kind})", ours, base, limit)
    return rows


def warm_tree(ctx: Context) -> list[Row]:
    """3: warm state_at on a generated tree, random customers, aware datetime and epoch float."""
    engine, naive = Engine.from_file(ctx.tree_path), NaiveEvaluator(ctx.tree_records)
    queries = random_queries(Random(3), ids_of(ctx.tree_records), ctx.queries)
    floats = [(c, at.timestamp()) for c, at in queries]
    base = warm(naive.state_at, queries[:ctx.naive_queries])
    rows = []
    for qs, kind, limit in ((queries, "aware datetime", 1 * US), (floats, "epoch float", 0.6 * US)):
        ours = warm(engine.state_at, qs, inner=100)
        rows += goal_rows(f"3 {ctx.tree_customers:,} customers, warm", f"state_at(random id, {kind})",
                          ours, base, limit)
    return rows


def cold_tree(ctx: Context) -> list[Row]:
    """4: the first state_at per customer in a freshly loaded engine (its own
    process, so process-wide zone caches start cold too)."""
    rng = Random(4)
    customers = rng.sample(ids_of(ctx.tree_records), ctx.cold_customers)
    queries = [(c, datetime.fromtimestamp(t, UTC)) for c, t in zip(customers, instants(rng, len(customers)))]
    rows = []
    base = measure(NaiveEvaluator(ctx.tree_records).state_at, queries)
    for validate in (False, True):
        engine = Engine.from_file(ctx.tree_path, validate=validate)
        ours = measure(engine.state_at, queries)  # each customer once: every call is its first
        rows.append(Row.of(f"4 {ctx.tree_customers:,} customers, cold", f"first state_at per customer "
                           f"(loaded with validate={validate})", ours, base, "≤ 2 ms", ours.median <= 2 * MS))
    return rows


def business_hours(year: int) -> dict:
    """8 rules: Mon-Fri 9-17, lunch, Saturday, five yearly holidays; every
    StartDate is the rule's first occurrence in `year`."""
    def first(freq: int, **by: Any) -> str:
        return du.rrule(freq, dtstart=datetime(year, 1, 1), count=1, **by)[0].date().isoformat()

    def hours(name: str, priority: int, state: str, days: tuple, start: str, end: str) -> dict:
        return {"name": name, "priority": priority, "state": state, "simpleRuleType": "Time",
                "frequency": "Weekly", "byDay": [{"dayOfWeek": DAY_NAMES[d.weekday]} for d in days],
                "startDate": first(du.WEEKLY, byweekday=days), "startTime": start, "endTime": end}

    def holiday(name: str, month: int, day: int | None = None, nth: du.weekday | None = None) -> dict:
        by = {"bymonthday": day} if day else {"byweekday": nth}
        rule = {"name": name, "priority": 100, "state": "Holiday", "simpleRuleType": "Time",
                "frequency": "Yearly", "isAllDay": True, "byMonth": [month],
                "startDate": first(du.YEARLY, bymonth=month, **by)}
        if day:
            rule["byMonthDay"] = [day]
        else:
            rule["byDay"] = [{"offset": nth.n, "dayOfWeek": DAY_NAMES[nth.weekday]}]
        return rule

    weekdays = (du.MO, du.TU, du.WE, du.TH, du.FR)
    rules = [
        hours("Business Hours", 10, "Business Hours", weekdays, "09:00", "17:00"),
        hours("Lunch", 50, "Lunch", weekdays, "12:00", "13:00"),
        hours("Saturday", 10, "Business Hours", (du.SA,), "10:00", "14:00"),
        holiday("New Year's Day", 1, day=1),
        holiday("Independence Day", 7, day=4),
        holiday("Labor Day", 9, nth=du.MO(1)),
        holiday("Thanksgiving", 11, nth=du.TH(4)),
        holiday("Christmas Day", 12, day=25),
    ]
    return {"id": f"office-{year}", "schedule": {"timeZoneId": "America/New_York",
                                                 "defaultState": "After Hours", "rules": rules}}


DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def start_date_age(ctx: Context) -> list[Row]:
    """5: the first (cold) state_at on fresh engines, StartDates in 1995 vs
    2026, instants in 2027. Fresh Engine / NaiveEvaluator per query (built
    untimed); process-wide zone tables are warm after an untimed first round."""
    rng = Random(5)
    start, end = datetime(2027, 1, 1, tzinfo=UTC).timestamp(), datetime(2028, 1, 1, tzinfo=UTC).timestamp()
    at = [datetime.fromtimestamp(rng.uniform(start, end), UTC) for _ in range(ctx.age_engines)]
    results: dict[tuple[str, int], Stats] = {}
    for year in (1995, 2026):
        record = business_hours(year)
        cid = record["id"]
        Engine.from_records([record]).state_at(cid, at[0])  # untimed: warms zone tables, imports
        engines = [Engine.from_records([record], validate=False) for _ in at]
        results["ours", year] = measure(lambda e, t: e.state_at(cid, t), list(zip(engines, at)))
        naives = [NaiveEvaluator([record]) for _ in at]
        results["naive", year] = measure(lambda n, t: n.state_at(cid, t), list(zip(naives, at)))
    rows = [Row.of("5 StartDate age, cold", f"first state_at in 2027, StartDates in {year}",
                   results["ours", year], results["naive", year]) for year in (1995, 2026)]
    ours = results["ours", 1995].median / results["ours", 2026].median
    naive = results["naive", 1995].median / results["naive", 2026].median
    rows.append(Row("5 StartDate age, cold", "cost ratio 1995 ÷ 2026", ours, baseline=naive,
                    goal="≤ 1.5×", met=ours <= 1.5, unit="factor"))
    return rows


def other_queries(ctx: Context) -> list[Row]:
    """6: until / next_change / one-week timeline, warm, demo tree."""
    engine, naive = Engine.from_file(DEMO), NaiveEvaluator(ctx.demo_records)
    queries = random_queries(Random(6), ids_of(ctx.demo_records), ctx.queries // 10)
    week = timedelta(days=7)
    few = queries[:max(2, ctx.naive_queries // 10)]
    ops = [
        ("until: state_at(...).until", lambda c, t: engine.state_at(c, t).until, naive.next_change),
        ("next_change", engine.next_change, naive.next_change),
        ("timeline, one week", lambda c, t: engine.timeline(c, t, t + week),
         lambda c, t: naive.timeline(c, t, t + week)),
    ]
    return [Row.of("6 demo, warm", name, warm(ours, queries, inner=10), warm(base, few))
            for name, ours, base in ops]


def bulk(ctx: Context) -> list[Row]:
    """7: engine.state_many over many instants (per instant; goal as instants/s).
    n/a, with the reason, when state_many is missing or refuses the input."""
    engine, naive = Engine.from_file(DEMO), NaiveEvaluator(ctx.demo_records)
    cid, n = "acme-support", ctx.bulk_instants
    timestamps = instants(Random(7), n)
    base = warm(naive.state_at, [(cid, t) for t in timestamps[:ctx.naive_queries]])

    def numpy_array() -> Any:
        import numpy
        return numpy.array(timestamps)

    rows = []
    for kind, make, goal, limit in (("list of floats", lambda: timestamps, "≥ 1M/s", 1_000),
                                    ("numpy array", numpy_array, "≥ 5M/s", 200)):
        operation = f"state_many(id, {kind})"
        try:
            values = make()
            if list(engine.state_many(cid, values[:3])) != [naive.state_at(cid, t) for t in timestamps[:3]]:
                raise ValueError(f"state_many({kind}) disagrees with the baseline")
            engine.state_many(cid, values)  # warm-up
            ours = stats([measure(engine.state_many, [(cid, values)]).median / n for _ in range(5)])
            rows.append(Row.of(f"7 bulk, {n:,} instants", operation, ours, base, goal, ours.median <= limit,
                               unit="rate"))
        except Exception as exc:  # no state_many yet, no numpy, or arrays refused
            rows.append(Row(f"7 bulk, {n:,} instants", operation, None, baseline=base.median, goal=goal,
                            unit="rate", note=f"{type(exc).__name__}: {exc}"[:160]))
    return rows


def cli(ctx: Context) -> list[Row]:
    """8: wall time of a one-shot CLI query on the generated tree vs bare `import schedengine`."""
    customer = Random(8).choice(ids_of(ctx.tree_records))
    command = [sys.executable, "-m", "schedengine", "state-at", customer, "--customers", ctx.tree_path,
               "--at", "2027-07-05T10:30:00-04:00"]

    def wall(argv: list[str]) -> Stats:
        def run() -> None:
            subprocess.run(argv, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        run()  # warm-up: page cache, .pyc files
        return measure(run, [()] * ctx.cli_runs)

    ours = wall(command)
    base = wall([sys.executable, "-c", "import schedengine"])
    return [Row.of(f"8 CLI, {ctx.tree_customers:,} customers", "python -m schedengine state-at (subprocess)",
                   ours, base, "≤ 1 s", ours.median <= 1_000 * MS)]


def peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


def huge_pages_in_use() -> int:
    """Bytes of this process's memory on transparent huge pages (0 where unknown)."""
    try:
        with open("/proc/self/smaps_rollup", encoding="ascii") as smaps:
            for line in smaps:
                if line.startswith("AnonHugePages:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def scale(ctx: Context) -> list[Row]:
    """9: a 1,000,000-customer tree: load until the first answer, peak RSS,
    warm random (customer, instant within a week) queries."""
    path = os.path.join(ctx.workdir, f"tree-{ctx.scale_customers}.jsonl")
    if not os.path.exists(path):
        subprocess.run([sys.executable, str(ROOT / "fixtures" / "generate.py"), "--customers",
                        str(ctx.scale_customers), "--seed", "42", "-o", path], check=True)
    start = time.perf_counter_ns()
    engine = Engine.from_file(path, validate=False)
    with open(path, encoding="utf-8") as lines:
        first = json.loads(next(lines))["id"]
    engine.state_at(first, CENTER)
    load = time.perf_counter_ns() - start
    load_rss = peak_rss()
    ids = engine.tree.ids()
    rng = Random(9)
    monday = datetime(2026, 11, 23, tzinfo=UTC).timestamp()
    queries = [(rng.choice(ids), datetime.fromtimestamp(monday + rng.uniform(0, 7 * 86400), UTC))
               for _ in range(200_000)]
    ours = warm(engine.state_at, queries, inner=100)
    rss = peak_rss()
    name = f"9 scale, {ctx.scale_customers:,} customers"
    if ctx.huge_pages:
        name += f", huge pages ({huge_pages_in_use() / 1e9:.1f} GB in use)"
    return [
        Row(name, "Engine.from_file(validate=False) + first answer", load, goal="≤ 120 s", met=load <= 120e9),
        Row(name, "peak RSS after the load", load_rss, goal="≤ 8 GB", met=load_rss <= 8e9, unit="bytes"),
        Row(name, "peak RSS after the load and 2×200,000 queries", rss, goal="≤ 8 GB", met=rss <= 8e9,
            unit="bytes"),
        Row.of(name, "warm state_at(random id, instant in one week)", ours, None, "≥ 500k/s",
               ours.median <= 2 * US, unit="rate"),
    ]


SCENARIOS = [cold_tree, start_date_age, warm_demo, warm_tree, other_queries, bulk, cli]
