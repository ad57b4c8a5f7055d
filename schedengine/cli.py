"""The operator CLI: ``schedengine VERB ...`` (also ``python -m schedengine``).

Exit codes: 0 ok, 1 validate found errors, 2 invalid input, 3 unknown customer.
Errors print one message on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import sys
from datetime import datetime, timedelta, timezone
from importlib import resources
from typing import Any, Callable, Sequence

from .engine import Engine, validate_file
from .errors import RecordError, ScheduleError, UnknownCustomerError
from .patching import changed_fields, parse_patch, plan_patch
from .policy import Policy
from .records import unknown_fields
from .render import week_grid
from .results import thawed
from .wire import decode, decode_text, detect_format

__all__ = ["main", "main_entry"]

UTC = timezone.utc
EXIT_ERRORS = 1  # validate found errors
EXIT_INVALID = 2
EXIT_UNKNOWN = 3


def bundled_demo_path() -> str:
    return str(resources.files("schedengine") / "data" / "demo.json")


def _customers_file(args: argparse.Namespace) -> str:
    return args.customers or os.environ.get("SCHEDENGINE_CUSTOMERS") or bundled_demo_path()


def _policy(args: argparse.Namespace) -> Policy:
    return Policy(priority=args.policy_priority, force_closed_state=args.policy_force_closed_state,
                  fallback_state=args.policy_fallback_state, default_time_zone=args.policy_default_time_zone)


def _engine(args: argparse.Namespace) -> Engine:
    # Queries check only the records they read (fast on large files); `validate` checks all.
    return Engine.from_file(_customers_file(args), policy=_policy(args), mode=args.mode, validate=False)


def _when(engine: Engine, customer: str, text: str | None) -> datetime:
    if text is None or text == "now":
        return datetime.now(UTC)
    try:
        value: Any = float(text)  # epoch seconds
    except ValueError:
        value = text
    return engine.instant(customer, value)


def _local(engine: Engine, customer: str, at: datetime | None) -> str:
    if at is None:
        return "never"
    zone = engine.tree.schedule(engine.tree.owner_id(customer)).zone
    local = at.astimezone(zone)
    return f"{local.isoformat()} ({local:%a %d %b %H:%M} local)"


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


def _block(rows: Sequence[tuple[str, str]]) -> str:
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


# ------------------------------------------------------------------- verbs

def cmd_state_at(args: argparse.Namespace) -> int:
    engine = _engine(args)
    r = engine.state_at(args.customer, _when(engine, args.customer, args.at))
    if args.json:
        _print_json(r.to_json())
        return 0
    why = {"rule": f"rule {r.rule_name or r.rule_id or '?'}" + (f" (priority {r.priority})" if r.priority is not None else ""),
           "force_closed": "schedule is ForceClosed", "default": "no rule matched: DefaultState",
           "fallback": "no rule matched and no DefaultState: policy fallback"}[r.reason]
    rows = [("customer", r.customer_id), ("state", r.state), ("because", why)]
    if r.owner_id != r.customer_id:
        rows.append(("owner", f"{r.owner_id} (inherited)"))
    rows += [("time zone", r.time_zone), ("at", _local(engine, r.customer_id, r.at)),
             ("until", _local(engine, r.customer_id, r.until))]
    if r.flow_id:
        rows.append(("flow", r.flow_id + (f" {json.dumps(thawed(r.flow_params))}" if r.flow_params else "")))
    print(_block(rows))
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    engine = _engine(args)
    print(engine.explain(args.customer, _when(engine, args.customer, args.at)))
    return 0


def cmd_next_change(args: argparse.Namespace) -> int:
    engine = _engine(args)
    at = _when(engine, args.customer, args.at)
    changes = []
    for _ in range(max(1, args.count)):
        change = engine.next_change(args.customer, at)
        if change is None:
            break
        changes.append(change)
        at = change.at
    if args.json:
        _print_json([c.to_json() for c in changes])
        return 0
    if not changes:
        print(f"{args.customer}: the state never changes after {_local(engine, args.customer, at)}")
        return 0
    for c in changes:
        print(f"{_local(engine, args.customer, c.at)}  ->  {c.state}")
    return 0


def cmd_timeline(args: argparse.Namespace) -> int:
    engine = _engine(args)
    start = _when(engine, args.customer, args.start)
    end = _when(engine, args.customer, args.end) if args.end else start + timedelta(days=7)
    segments = engine.timeline(args.customer, start, end)
    if args.json:
        _print_json([s.to_json() for s in segments])
        return 0
    zone = engine.tree.schedule(engine.tree.owner_id(args.customer)).zone
    for s in segments:
        a, b = s.start.astimezone(zone), s.end.astimezone(zone)
        print(f"{a:%a %Y-%m-%d %H:%M} - {b:%a %Y-%m-%d %H:%M}  {s.state:<16} "
              f"{s.reason}{' ' + s.rule_id if s.rule_id else ''}")
    return 0


def cmd_week(args: argparse.Namespace) -> int:
    engine = _engine(args)
    at = _when(engine, args.customer, args.at)
    zone = engine.tree.schedule(engine.tree.owner_id(args.customer)).zone
    monday = at.astimezone(zone).date()
    monday -= timedelta(days=monday.weekday())
    start = datetime.combine(monday, datetime.min.time(), zone)
    end = datetime.combine(monday + timedelta(days=7), datetime.min.time(), zone)
    segments = engine.timeline(args.customer, start, end)
    print(f"{args.customer}: week of {monday:%a %d %b %Y}")
    print(week_grid(segments, zone, monday))
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """Every error and warning, one line each in file order (errors on
    stderr, the rest on stdout), then a summary; exit 1 if there were
    errors. A file that cannot be read at all is invalid input (exit 2)."""
    path = args.file or _customers_file(args)
    report = validate_file(path, _policy(args))
    for finding in report.findings:
        if finding.severity == "error":
            sys.stdout.flush()  # keep file order when both streams go to one place
            print(f"error: {finding}", file=sys.stderr)
        else:
            print(f"warning: {finding}")
    errors = len(report.errors)
    print(f"{path}: {report.customers:,} customers, {len(report.warnings):,} warning(s), "
          + (f"{errors:,} error(s)" if errors else "no errors"))
    return EXIT_ERRORS if errors else 0


# ------------------------------------------------------------------ patch

def _is_bundled_demo(args: argparse.Namespace, path: str) -> bool:
    """True when `path` is the demo tree installed with the package."""
    if not args.customers and not os.environ.get("SCHEDENGINE_CUSTOMERS"):
        return True
    try:
        return os.path.realpath(path) == os.path.realpath(bundled_demo_path())
    except (OSError, ValueError):
        return False


def _read_patch_body(source: str) -> dict[str, Any]:
    """A PatchCustomer body from a file or '-' (stdin), JSON or JSV (sniffed)."""
    if source == "-":
        # Bytes, decoded as a file is: a text stdin would put U+FFFD in
        # place of what is not UTF-8 and the patch would write it.
        text, name, hint = decode_text(sys.stdin.buffer.read(), "<stdin>"), "<stdin>", None
    else:
        try:
            with open(source, "rb") as handle:
                text = decode_text(handle.read(), source)
        except OSError as exc:
            raise RecordError(f"{source}: cannot read the patch body: {exc.strerror or exc}", path=source) from exc
        name, hint = source, source
    if not text.strip():
        raise RecordError(f"{name}: the patch body is empty (expected a JSON or JSV object, e.g. "
                          '{"schedule": {...}} or {Schedule:{...}})', path=name)
    fmt = detect_format(hint, text)
    body = decode(text, "json" if fmt == "jsonl" else fmt, source=name)
    if not isinstance(body, dict):
        raise RecordError(f"{name}: the patch body must be one object with PatchCustomer fields, "
                          f"found {'a list' if isinstance(body, list) else type(body).__name__}", path=name)
    return body


def _customer_summary(engine: Engine, customer: Any, changed: Sequence[str], written: str) -> str:
    schedule = customer.schedule
    if schedule is None or (schedule.inherit and customer.parent_customer_id):
        how = f"inherits from {engine.tree.owner_id(customer.id)}"
    else:
        owner = engine.tree.schedule(customer.id)
        how = (f"{owner.zone_name}, {len(schedule.rules or ())} rule(s)"
               + (", ForceClosed" if schedule.force_closed else "")
               + (f", default {schedule.default_state!r}" if schedule.default_state else ""))
    rows = [("customer", customer.id), ("name", customer.name or ""),
            ("breadcrumb", " > ".join(c.name or c.id or "?" for c in customer.breadcrumb or ())),
            ("schedule", how),
            ("tags", ", ".join(t.name or t.id or "?" for t in customer.tags or ()) or "none"),
            ("modified", (customer.date_last_modified or "?")
             + (f" by {customer.last_modified_by}" if customer.last_modified_by else "")),
            ("changed", ", ".join(changed) or "nothing (only dateLastModified)"), ("written", written)]
    return _block(rows)


def cmd_patch(args: argparse.Namespace) -> int:
    path = _customers_file(args)
    if not args.dry_run and _is_bundled_demo(args, path):
        print("error: refusing to modify the bundled demo tree installed with schedengine; pass "
              "--customers FILE (e.g. a copy of the demo: schedengine patch ... --customers my-tree.json) "
              "or set $SCHEDENGINE_CUSTOMERS, or use --dry-run to see the change", file=sys.stderr)
        return EXIT_INVALID
    body = _read_patch_body(args.patchfile)
    patch = parse_patch(body, args.customer)
    for where, name in unknown_fields(patch, "patch"):
        print(f"warning: {where}: unknown field {name!r} is ignored", file=sys.stderr)
    engine = _engine(args)
    if args.dry_run:
        plan = plan_patch(engine.tree, args.customer, patch, actor=args.actor)
        if args.json:
            _print_json(plan.customer.to_wire())
        else:
            def pretty(customer: Any) -> list[str]:
                text = json.dumps(customer.to_wire(), indent=2, ensure_ascii=False) + "\n"
                return text.splitlines(keepends=True)
            sys.stdout.writelines(difflib.unified_diff(pretty(plan.before), pretty(plan.customer),
                                                       f"{args.customer} (stored)", f"{args.customer} (patched)"))
        others = len(plan.rewritten) - 1
        note = f"; the breadcrumb of {others} descendant(s) would change too" if others else ""
        print(f"dry run: {path} was not changed{note}", file=sys.stderr)
        return 0
    customer = engine.patch(args.customer, patch, actor=args.actor)
    try:
        engine.to_file(path)
    except OSError as exc:
        print(f"error: cannot write {path}: {exc.strerror or exc}; the file is unchanged", file=sys.stderr)
        return EXIT_INVALID
    if args.json:
        _print_json(customer.to_wire())
    else:
        print(_customer_summary(engine, customer, changed_fields(patch), written=f"{path} ({engine.source_format})"))
    return 0


# ------------------------------------------------------------------ parser

def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--customers", metavar="FILE",
                   help="customers file (.json/.jsonl/.jsv); default $SCHEDENGINE_CUSTOMERS, else the bundled demo tree")
    p.add_argument("--mode", choices=("compiled", "reference"), default="compiled", help=argparse.SUPPRESS)
    p.add_argument("--policy-priority", choices=("highest-first", "lowest-first"), default="highest-first",
                   help="which Priority wins (default: highest-first)")
    p.add_argument("--policy-force-closed-state", default="After Hours", metavar="STATE")
    p.add_argument("--policy-fallback-state", default="After Hours", metavar="STATE")
    p.add_argument("--policy-default-time-zone", default="UTC", metavar="ZONE")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="schedengine",
                                     description="What state is a customer in at instant T?")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    when_help = "an instant: ISO 8601 (with offset, or local wall time of the owner), epoch seconds, or 'now' (default)"

    def verb(name: str, handler: Callable[[argparse.Namespace], int], help_text: str) -> argparse.ArgumentParser:
        p = verbs.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(handler=handler)
        return p

    p = verb("state-at", cmd_state_at, "the state of a customer at an instant")
    p.add_argument("customer")
    p.add_argument("--at", metavar="WHEN", help=when_help)
    p.add_argument("--json", action="store_true", help="print one JSON object (camelCase keys)")
    _add_common(p)

    p = verb("explain", cmd_explain, "why a customer is in its state: chain, zone, every rule")
    p.add_argument("customer")
    p.add_argument("--at", metavar="WHEN", help=when_help)
    _add_common(p)

    p = verb("next-change", cmd_next_change, "when the state name next changes")
    p.add_argument("customer")
    p.add_argument("--at", metavar="WHEN", help=when_help)
    p.add_argument("--count", type=int, default=1, metavar="N", help="list the next N changes")
    p.add_argument("--json", action="store_true")
    _add_common(p)

    p = verb("timeline", cmd_timeline, "segments of constant state over a range")
    p.add_argument("customer")
    p.add_argument("--start", metavar="WHEN", required=True)
    p.add_argument("--end", metavar="WHEN", help="default: start + 7 days")
    p.add_argument("--json", action="store_true")
    _add_common(p)

    p = verb("week", cmd_week, "a week grid of states (the week holding --at, local time)")
    p.add_argument("customer")
    p.add_argument("--at", metavar="WHEN", help=when_help)
    _add_common(p)

    p = verb("validate", cmd_validate, "check a customers file: list every error and warning, then a summary")
    p.add_argument("file", nargs="?", help="default: --customers / $SCHEDENGINE_CUSTOMERS / the demo tree")
    _add_common(p)

    p = verb("patch", cmd_patch, "apply a PATCH /customers/{id} body (JSON or JSV) and rewrite the customers file")
    p.add_argument("customer")
    p.add_argument("patchfile", metavar="PATCHFILE", help="the PatchCustomer body, JSON or JSV; '-' reads stdin")
    p.add_argument("--actor", metavar="NAME", help="recorded as lastModifiedBy")
    p.add_argument("--dry-run", action="store_true",
                   help="print a unified diff of the customer (JSON) and write nothing")
    p.add_argument("--json", action="store_true", help="print the patched CustomerInfo as JSON (camelCase)")
    _add_common(p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except UnknownCustomerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNKNOWN
    except (ScheduleError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID


def main_entry() -> None:
    sys.exit(main())
