"""python -m benchmarks [--quick] [--scale] [--only NAMES] [--out FILE]: run the scenarios,
print a Markdown table, write it as JSON (default benchmarks/results/latest.json)."""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, replace
from typing import Any, Callable

from . import scenarios
from .scenarios import Context, Row

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def isolated(function: Callable[[Context], Any], ctx: Context, env: dict[str, str] | None = None) -> Any:
    """Run one scenario in a fresh interpreter: no caches, garbage or peak RSS
    carried over from the scenarios before it. `env` is added to its
    environment (read when the interpreter starts)."""
    saved = dict(os.environ)
    os.environ.update(env or {})
    try:
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            return pool.submit(function, ctx).result()
    finally:
        os.environ.clear()
        os.environ.update(saved)


def show_time(ns: float) -> str:
    for unit, size in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= size or unit == "µs":
            return f"{ns / size:.3g} {unit}"
    raise AssertionError


def show(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "factor":
        return f"{value:,.0f}×" if value >= 10 else f"{value:.2f}×"
    if unit == "bytes":
        return f"{value / 1e9:.2f} GB"
    if unit == "rate":
        per_second = 1e9 / value
        rate = (f"{per_second / 1e6:.2f}M/s" if per_second >= 1e6 else
                f"{per_second / 1e3:.3g}k/s" if per_second >= 1e3 else f"{per_second:.3g}/s")
        return f"{show_time(value)} ({rate})"
    return show_time(value)


def table(rows: list[Row]) -> str:
    lines = ["| scenario | operation | median | p90 | baseline median | ratio (baseline/ours) | goal | met? |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ratio = f"{r.ratio:,.0f}×" if r.ratio and r.ratio >= 10 else f"{r.ratio:.2f}×" if r.ratio else "—"
        met = {True: "yes", False: "**no**", None: "n/a" if r.goal else "—"}[r.met]
        p90 = show(r.p90, r.unit) if r.p90 is not None else "—"
        base = show(r.baseline, r.unit) if r.baseline is not None else "—"
        lines.append(f"| {r.scenario} | {r.operation} | {show(r.median, r.unit)} | {p90} | {base} | {ratio} "
                     f"| {r.goal or '—'} | {met} |")
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    return {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "python": sys.version.split()[0], "implementation": platform.python_implementation(),
            "cpu_count": os.cpu_count(), "load_average_at_start": os.getloadavg()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run of a few seconds")
    parser.add_argument("--scale", action="store_true", help="add the 1,000,000-customer scenario (minutes)")
    parser.add_argument("--scale-customers", type=int, default=1_000_000, metavar="N",
                        help="size of the --scale tree (default 1,000,000)")
    parser.add_argument("--only", metavar="NAMES", help="comma-separated scenario functions to run "
                        f"(of {', '.join(f.__name__ for f in [*scenarios.SCENARIOS, scenarios.scale])})")
    parser.add_argument("--out", help="JSON results file (default: benchmarks/results/latest.json, "
                                      "or quick.json with --quick)")
    args = parser.parse_args(argv)
    out = args.out or os.path.join(RESULTS, "quick.json" if args.quick else "latest.json")
    started, host = time.time(), machine()
    with tempfile.TemporaryDirectory(prefix="schedengine-bench-") as workdir:
        ctx = Context.make(args.quick, workdir)
        ctx.scale_customers = args.scale_customers
        scenarios.write_tree(ctx.tree_path, ctx.tree_customers)
        check = isolated(scenarios.check_baseline, ctx)
        print(f"baseline check: naive agrees with Engine.state_at on {check['agree']}/{check['queries']} "
              f"random demo queries", file=sys.stderr, flush=True)
        rows: list[Row] = []
        chosen = ([scenarios.scale] if args.scale else []) + scenarios.SCENARIOS
        if args.only:
            names = set(args.only.split(","))
            chosen = [f for f in [scenarios.scale, *scenarios.SCENARIOS] if f.__name__ in names]
        runs: list[tuple[Callable[[Context], Any], Context, dict[str, str] | None]] = []
        for function in chosen:
            runs.append((function, ctx, None))
            if function is scenarios.scale and sys.platform == "linux":  # and once more, deployed on huge pages
                runs.append((function, replace(ctx, huge_pages=True), scenarios.HUGE_PAGES_ENV))
        for function, run_ctx, env in runs:
            t0 = time.time()
            try:
                new = isolated(function, run_ctx, env)
            except Exception as exc:  # e.g. the child ran out of memory: keep the other results
                new = [Row(f"{function.__doc__.split(':')[0]} (failed)", function.__name__, None,
                           note=f"{type(exc).__name__}: {exc}")]
            print(f"{function.__name__}: {time.time() - t0:.1f} s", file=sys.stderr)
            print(table(new).split("\n", 2)[2], file=sys.stderr, flush=True)
            rows.extend(new)
    rows.sort(key=lambda r: int(r.scenario.split()[0]))
    print(f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(started))}, {host['platform']}, Python {host['python']}, "
          f"{host['cpu_count']} CPUs, load average {host['load_average_at_start'][0]:.2f} at start; "
          f"baseline agrees with Engine.state_at on {check['agree']}/{check['queries']} demo queries\n")
    print(table(rows))
    missed = [f"{r.scenario}: {r.operation}" for r in rows if r.met is False]
    print(f"\n{len(missed)} goal(s) not met" + "".join(f"\n- {m}" for m in missed))
    report = {"date": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)), "quick": args.quick,
              "seconds": round(time.time() - started, 1), "machine": host, "baseline_check": check,
              "rows": [asdict(r) | {"ratio": r.ratio} for r in rows]}
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=1, ensure_ascii=False)
    print(f"written {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
