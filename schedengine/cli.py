"""The operator CLI: ``schedengine VERB ...`` (also ``python -m schedengine``).

Exit codes: 0 ok, 1 validate found errors, 2 invalid input, 3 unknown customer,
141 stdout closed early (a pipe into `head`). Errors print one message on
stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import sys
from contextvars import ContextVar
from datetime import datetime, timedelta, timezone
from importlib import resources
from typing import Any, Callable, Sequence
from zoneinfo import ZoneInfo

from .engine import END_INSTANT, FIRST_INSTANT, Engine, iso_datetime, validate_file
from .errors import ConfigurationError, RecordError, ScheduleError, UnknownCustomerError
from .patching import changed_fields, parse_patch, plan_patch
from .policy import Policy
from .records import SHOWN_LIMIT, clipped, field_warnings, json_kind, json_string
from .render import week_grid
from .results import thawed
from .times import HORIZON
from .wire import decode, decode_text, detect_format, json_text, locked_for_update

__all__ = ["main", "main_entry"]

UTC = timezone.utc
EXIT_ERRORS = 1  # validate found errors
EXIT_INVALID = 2
EXIT_UNKNOWN = 3
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what a shell reports for a writer whose reader went away
# The last instant the library accepts (instants are before END_INSTANT, 9998-01-01 UTC): where a
# default end (timeline's start + 7 days, the end of week's week) stops instead of being refused.
LAST_INSTANT = END_INSTANT - timedelta(microseconds=1)


# What the operator typed (and $SCHEDENGINE_CUSTOMERS), for _clip_given.
_GIVEN: ContextVar[tuple[str, ...]] = ContextVar("schedengine_cli_given", default=())
# A file name is shown whole up to this length: cut, it would be no use.
PATH_LIMIT = 240


def _clip_given(message: str, bare_limit: int = PATH_LIMIT) -> str:
    """`message` with every long value the operator gave cut as `clipped`
    cuts it: quoted (JSON or repr) when longer than SHOWN_LIMIT characters,
    bare (a file name, as an error reading it shows it) when longer than
    `bare_limit`. Messages the CLI writes itself clip their values already;
    this catches those that quote a value whole (argparse's, an OS error's
    file name, an unknown customer id), so that a 5,000-character value
    never fills the screen."""
    for value in sorted({v for v in _GIVEN.get() if len(v) > SHOWN_LIMIT}, key=len, reverse=True):
        for spelled, quote in ((json_string(value), json_string), (repr(value), repr)):
            message = message.replace(spelled, clipped(value, quote))
        if len(value) > bare_limit:
            message = message.replace(value, clipped(value, str, bare_limit))
    return message


def _given_values(argv: Sequence[str]) -> tuple[str, ...]:
    """Each argument, the value of each `--option=value` too, and $SCHEDENGINE_CUSTOMERS."""
    values = [*argv, *(a.partition("=")[2] for a in argv if a.startswith("-") and "=" in a)]
    return (*values, os.environ.get("SCHEDENGINE_CUSTOMERS") or "")


class _Parser(argparse.ArgumentParser):
    """argparse with its error messages clipped like the CLI's own (argparse
    quotes an invalid choice or an unrecognised argument whole, the latter
    bare)."""

    def error(self, message: str):  # type: ignore[override]
        super().error(_clip_given(message, SHOWN_LIMIT))


def bundled_demo_path() -> str:
    return str(resources.files("schedengine") / "data" / "demo.json")


def _customers_file(args: argparse.Namespace) -> str:
    return args.customers or os.environ.get("SCHEDENGINE_CUSTOMERS") or bundled_demo_path()


def _falls_back_to_demo(args: argparse.Namespace) -> bool:
    return not args.customers and not os.environ.get("SCHEDENGINE_CUSTOMERS")


def _policy(args: argparse.Namespace) -> Policy:
    try:
        return Policy(priority=args.policy_priority, force_closed_state=args.policy_force_closed_state,
                      fallback_state=args.policy_fallback_state, default_time_zone=args.policy_default_time_zone)
    except ConfigurationError as exc:  # name the option typed, not the field it sets
        message = str(exc)
        for field in ("force_closed_state", "fallback_state", "default_time_zone"):
            message = message.replace(f"policy {field}", "--policy-" + field.replace("_", "-"))
        raise ConfigurationError(message) from None


def _engine(args: argparse.Namespace) -> Engine:
    """The tree a verb about `args.customer` reads, which must hold that customer."""
    path, policy = _customers_file(args), _policy(args)
    if _falls_back_to_demo(args):  # an operator who forgot --customers must not take demo answers for theirs
        print(f"note: no --customers and no $SCHEDENGINE_CUSTOMERS: reading the bundled demo tree ({path})",
              file=sys.stderr)
    # Queries check only the records they read (fast on large files); `validate` checks all.
    engine = Engine.from_file(path, policy=policy, mode=args.mode, validate=False)
    try:
        engine.tree.require(args.customer)
    except UnknownCustomerError:
        ids = engine.tree.ids()
        near = _near_ids(args.customer, ids)
        hint = (f"did you mean {' or '.join(json_string(n) for n in near)}?" if near
                else "did you load the right file?")
        raise UnknownCustomerError(f"{path}: unknown customer {json_string(args.customer)} (the file holds "
                                   f"{len(ids):,} customers; {hint})") from None
    return engine


# Fuzzy matching reads every id (about 10 µs each): past this many customers an
# unknown id gets only the cheap suggestion, an id that differs in case or spaces.
NEAR_MISS_LIMIT = 20_000


def _near_ids(customer_id: str, ids: Sequence[str]) -> list[str]:
    """Up to three ids an operator may have meant: the same text in another
    case or with spaces around it, else (in trees of at most NEAR_MISS_LIMIT
    customers) close spellings."""
    wanted = customer_id.strip().casefold()
    same = [i for i in ids if i.strip().casefold() == wanted]
    if same or len(ids) > NEAR_MISS_LIMIT:
        return same[:3]
    return difflib.get_close_matches(customer_id, ids, n=3, cutoff=0.8)


# A plain decimal number, as an operator types epoch seconds; not float()'s
# wider language ("nan", "inf", "1_000", non-ASCII digits).
_PLAIN_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")


def _instant_value(text: str) -> str | int | float:
    """What an instant option means, for `Engine.instant`: the text itself
    (ISO 8601, parsed as the library parses strings), or epoch seconds when
    it is a plain number that is not an ISO date. An all-digit value that is
    both is the ISO date: that is eight digits, such as 20270706; any other
    number of digits ("2027", "1814846400", "20000101120") is epoch seconds."""
    plain = text.strip()
    if not _PLAIN_NUMBER.fullmatch(plain):
        return text
    try:
        iso_datetime(plain)
    except ValueError:
        if plain.lstrip("+-").isdigit():
            try:
                return int(plain)
            except ValueError:  # more digits than int() reads (4,300): far out of range, as the float is
                pass
        return float(plain)
    return text


INSTANT_OPTIONS = ("--at", "--start", "--end")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _joined_instants(argv: Sequence[str]) -> list[str]:
    """`argv` with each instant option followed by a negative number joined
    to it: `--at -5e9` becomes `--at=-5e9`. argparse takes only `-5` and
    `-1.5` for negative numbers; `-5e9` it reads as an unknown option and
    refuses `--at` ("expected one argument"). An unambiguous abbreviation
    (`--st` for `--start`) counts as its option, as argparse reads it; `--`
    ends the options."""
    def is_instant_option(token: str) -> bool:
        return len(token) > 2 and sum(o.startswith(token) for o in INSTANT_OPTIONS) == 1

    joined: list[str] = []
    i = 0
    while i < len(argv):
        token = argv[i]
        if token == "--":
            return joined + list(argv[i:])
        following = argv[i + 1] if i + 1 < len(argv) else ""
        if is_instant_option(token) and following.startswith("-") and _is_number(following):
            joined.append(f"{token}={following}")
            i += 2
        else:
            joined.append(token)
            i += 1
    return joined


def _when(engine: Engine, customer: str, text: str | None, option: str) -> datetime:
    """The instant an option (`--at`, `--start`, `--end`) names. A refusal
    names the option and quotes the text as typed (cut when long): the
    library, given epoch seconds, would quote the number (`inf` for a
    value with 400 digits)."""
    if text is None or text.strip().lower() == "now":
        return datetime.now(UTC)
    value = _instant_value(text)
    if isinstance(value, int) and 0 <= value < 1_000_000:  # "2027" is a year to its typist, not 00:33:47
        print(f"note: {option} {text.strip()} is read as epoch seconds, "
              f"{datetime.fromtimestamp(value, UTC):%Y-%m-%dT%H:%M:%SZ}"
              + (f"; for the year write {text.strip()}-01-01" if len(text.strip()) == 4 else ""), file=sys.stderr)
    # A naive time reads the owner's zone: load the owner first, so that an unknown customer or
    # a bad record is reported as such, not as a fault of the option.
    _zone(engine, customer)
    try:
        return engine.instant(customer, value)
    except RecordError as exc:
        if isinstance(value, str):
            raise RecordError(f"{option}: {exc}", path=option) from exc
        raise RecordError(f"{option}: {clipped(text, repr)} is out of range: epoch seconds from "
                          f"{FIRST_INSTANT.timestamp():,.0f} ({FIRST_INSTANT.date()}) to before "
                          f"{END_INSTANT.timestamp():,.0f} ({END_INSTANT.date()}, UTC) are accepted",
                          path=option) from exc


def _zone(engine: Engine, customer: str) -> ZoneInfo:
    """The zone of the customer's schedule owner: the zone its wall clock reads."""
    return engine.tree.schedule(engine.tree.owner_id(customer)).zone


def _week_after(engine: Engine, customer: str, start: datetime) -> datetime:
    """`start` + 7 days of the owner's local calendar: the same wall time a
    week later, read as a naive instant is (so a local midnight gives a local
    midnight, whatever DST change lies between). Past the last instant the
    library accepts, it is that instant (LAST_INSTANT): the operator gave a
    start, not this end, and a refusal quoting it would puzzle them."""
    zone = _zone(engine, customer)
    wall = start.astimezone(zone).replace(tzinfo=None, fold=0) + timedelta(days=7)
    if wall.replace(tzinfo=zone) > LAST_INSTANT:
        print(f"note: the default end (--start + 7 days, {wall.replace(tzinfo=zone).isoformat()}) is past the "
              f"last accepted instant; the timeline ends at {LAST_INSTANT.astimezone(zone).isoformat()} instead "
              f"(instants must be before {END_INSTANT.date()} UTC; pass --end to choose the end)", file=sys.stderr)
        return LAST_INSTANT
    return engine.instant(customer, wall)


def _local(engine: Engine, customer: str, at: datetime) -> str:
    local = at.astimezone(_zone(engine, customer))
    return f"{local.isoformat()} ({local:%a %d %b %H:%M} local)"


HORIZON_TEXT = f"the horizon, {HORIZON:%Y-%m-%dT%H:%MZ}"


def _until(engine: Engine, customer: str, at: datetime, until: datetime | None) -> str:
    """`until` for people: None means no change before the horizon, which is
    "never" only from an instant before it."""
    if until is not None:
        return _local(engine, customer, until)
    return f"never (no change before {HORIZON_TEXT})" if at < HORIZON else f"not computed past {HORIZON_TEXT}"


def _note_past_horizon(what: str) -> None:
    """Say that an answer reaches past the horizon, where changes are not
    computed (docs/semantics.md, "Horizon"): printed as facts they would mislead."""
    print(f"note: {what} {HORIZON_TEXT}: changes from then on are not computed, and rule windows stop at "
          f"wall time 2400-01-01 (docs/semantics.md, \"Horizon\")", file=sys.stderr)


def _print_json(value: Any) -> None:
    print(json_text(value, indent=2))


def _block(rows: Sequence[tuple[str, str]]) -> str:
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


# ------------------------------------------------------------------- verbs

def _engine_at(args: argparse.Namespace) -> tuple[Engine, datetime]:
    """The engine and the instant of a verb that answers at `--at`, noting one past the horizon."""
    engine = _engine(args)
    at = _when(engine, args.customer, args.at, "--at")
    if at >= HORIZON:
        _note_past_horizon("--at is at or after")
    return engine, at


def cmd_state_at(args: argparse.Namespace) -> int:
    engine, at = _engine_at(args)
    r = engine.state_at(args.customer, at)
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
             ("until", _until(engine, r.customer_id, r.at, r.until))]
    if r.flow_id:
        rows.append(("flow", r.flow_id + (f" {json_text(thawed(r.flow_params))}" if r.flow_params else "")))
    print(_block(rows))
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    engine, at = _engine_at(args)
    explanation = engine.explain(args.customer, at)
    if args.json:
        _print_json(explanation.to_json())
    else:
        print(explanation)
    return 0


def cmd_next_change(args: argparse.Namespace) -> int:
    engine, at = _engine_at(args)
    changes = []
    for _ in range(args.count):
        change = engine.next_change(args.customer, at)
        if change is None:
            break
        changes.append(change)
        at = change.at
        if not args.json:  # each line as it is found: `--count 100000 | head` stops early
            print(f"{_local(engine, args.customer, change.at)}  ->  {change.state}")
    if args.json:
        _print_json([c.to_json() for c in changes])
    elif not changes:
        print(f"{args.customer}: no change after {_local(engine, args.customer, at)} before {HORIZON_TEXT}")
    if len(changes) < args.count and changes:
        sys.stdout.flush()  # the note after the lines it is about, when both streams go to one place
        print(f"note: {len(changes)} of the {args.count} changes asked for: no other change before "
              f"{HORIZON_TEXT}", file=sys.stderr)
    return 0


def cmd_timeline(args: argparse.Namespace) -> int:
    if args.start is not None and args.start_at is not None:
        args.verb_parser.error("--start and --at both give the start: give one")
    engine = _engine(args)
    start = _when(engine, args.customer, args.start if args.start_at is None else args.start_at,
                  "--start" if args.start_at is None else "--at")
    if args.end:
        end = _when(engine, args.customer, args.end, "--end")
    else:
        end = _week_after(engine, args.customer, start)
    if end > HORIZON:
        _note_past_horizon("the timeline runs past")
    segments = engine.timeline(args.customer, start, end)
    if args.json:
        _print_json([s.to_json() for s in segments])
        return 0
    zone = _zone(engine, args.customer)
    # Precision from the local times: an offset with seconds (LMT, Monrovia's
    # -00:44:30 until 1972) puts seconds there that the UTC bounds lack.
    bounds = [t.astimezone(zone) for s in segments for t in (s.start, s.end)]
    spec = ("microseconds" if any(t.microsecond for t in bounds) else
            "seconds" if any(t.second for t in bounds) else "minutes")

    def shown(t: datetime) -> str:  # local time with its offset: a fall-back's repeated hour reads unambiguously
        local = t.astimezone(zone)
        return f"{local:%a} {local.isoformat(sep=' ', timespec=spec)}"

    def why(s: Any) -> str:
        if s.reason != "rule":
            return s.reason
        name = engine.state_at(args.customer, s.start).rule_name  # a segment is one outcome: ask at its start
        return "rule " + (f"{name} ({s.rule_id})" if name and s.rule_id and name != s.rule_id
                          else name or s.rule_id or "(no id or name)")

    width = max((len(s.state) for s in segments), default=0)
    print(f"{args.customer}: {len(segments)} segment{'s' if len(segments) != 1 else ''}, local time in {zone.key}")
    for s in segments:
        print(f"{shown(s.start)} - {shown(s.end)}  {s.state:<{width}}  {why(s)}")
    return 0


def cmd_week(args: argparse.Namespace) -> int:
    engine = _engine(args)
    at = _when(engine, args.customer, args.at, "--at")
    zone = _zone(engine, args.customer)
    monday = at.astimezone(zone).date()
    monday -= timedelta(days=monday.weekday())
    # The first and last weeks of the accepted range are drawn up to its ends (blank beyond).
    start = max(datetime.combine(monday, datetime.min.time(), zone), FIRST_INSTANT)
    end = min(datetime.combine(monday + timedelta(days=7), datetime.min.time(), zone), LAST_INSTANT)
    if end > HORIZON:
        _note_past_horizon("the week runs past")
    segments = engine.timeline(args.customer, start, end)
    print(f"{args.customer}: week of {monday:%a %d %b} {monday.year:04d}")  # %Y gives "2" for year 0002
    print(week_grid(segments, zone, monday))
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """Every error and warning, one line each in file order (errors on
    stderr, the rest on stdout), then a summary; exit 1 if there were
    errors. A file that cannot be read at all is invalid input (exit 2)."""
    if args.file and args.customers and args.file != args.customers:
        print(_clip_given(f"error: two files to validate: {args.file} and --customers {args.customers}; "
                          "give one"), file=sys.stderr)
        return EXIT_INVALID
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
        plain = " (plain text: JSV reads text that is not in braces as one string)" if isinstance(body, str) else ""
        raise RecordError(f"{name}: the patch body must be one object with PatchCustomer fields, "
                          f"found {json_kind(body)}{plain}", path=name)
    return body


def _customer_summary(engine: Engine, customer: Any, changed: Sequence[str], written: str,
                      actor: str | None) -> str:
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
             + (f" by {customer.last_modified_by}" if customer.last_modified_by and actor else
                f" (lastModifiedBy still names {customer.last_modified_by}: pass --actor to record who)"
                if customer.last_modified_by else "")),
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
    noted = list(field_warnings(patch, "patch"))
    for where, message in noted:
        print(f"warning: {where}: {message}", file=sys.stderr)

    def refused_as_empty() -> bool:  # asked once the customer is known to be in the file
        if changed_fields(patch) or args.allow_empty:
            return False
        # The API takes an empty PATCH (it touches dateLastModified); from an operator it is a mistake.
        source = "<stdin>" if args.patchfile == "-" else args.patchfile
        print(_clip_given(f"error: {source}: the patch body sets no field"
                          + (" it knows (see the warnings above)" if noted else "")
                          + f"; {path} is unchanged (--allow-empty applies it, updating only dateLastModified)"),
              file=sys.stderr)
        return True

    if args.dry_run:
        engine = _engine(args)
        if refused_as_empty():
            return EXIT_INVALID
        plan = plan_patch(engine.tree, args.customer, patch, actor=args.actor)
        _print_schedule_warnings(plan.tree, args.customer)
        if args.json:
            _print_json(plan.customer.to_wire())
        else:
            def pretty(customer: Any) -> list[str]:
                text = json_text(customer.to_wire(), indent=2) + "\n"
                return text.splitlines(keepends=True)
            sys.stdout.writelines(difflib.unified_diff(pretty(plan.before), pretty(plan.customer),
                                                       f"{args.customer} (stored)", f"{args.customer} (patched)"))
        others = len(plan.rewritten) - 1
        note = f"; the breadcrumb of {others} descendant(s) would change too" if others else ""
        print(f"dry run: {path} was not changed{note}", file=sys.stderr)
        return 0
    with locked_for_update(path):  # read, patch and write: another patch of the file waits its turn
        engine = _engine(args)
        if refused_as_empty():
            return EXIT_INVALID
        customer = engine.patch(args.customer, patch, actor=args.actor)
        try:
            engine.to_file(path)
        except OSError as exc:
            print(_clip_given(f"error: cannot write {path}: {exc.strerror or exc}; the file is unchanged"),
                  file=sys.stderr)
            return EXIT_INVALID
    _print_schedule_warnings(engine.tree, args.customer)
    if args.json:
        _print_json(customer.to_wire())
    else:
        print(_customer_summary(engine, customer, changed_fields(patch), written=f"{path} ({engine.source_format})",
                                actor=args.actor))
    return 0


def _print_schedule_warnings(tree: Any, customer_id: str) -> None:
    """What `validate` would warn about the patched customer (a rule with no State, say),
    said while the operator can still mend it."""
    for where, message in tree.check_customer(customer_id):
        print(f"warning: {where}: {message}", file=sys.stderr)


# ------------------------------------------------------------------ parser

def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--customers", metavar="FILE",
                   help="customers file (.json, .jsonl or .ndjson, .jsv; any other name is sniffed from its content); "
                        "default $SCHEDENGINE_CUSTOMERS, else the bundled demo tree")
    p.add_argument("--mode", choices=("compiled", "reference"), default="compiled", help=argparse.SUPPRESS)
    p.add_argument("--policy-priority", choices=("highest-first", "lowest-first"), default="highest-first",
                   help="which Priority wins (default: highest-first)")
    p.add_argument("--policy-force-closed-state", default="After Hours", metavar="STATE",
                   help="the state of a ForceClosed schedule (default: After Hours)")
    p.add_argument("--policy-fallback-state", default="After Hours", metavar="STATE",
                   help="the state when no rule matches and there is no DefaultState (default: After Hours)")
    p.add_argument("--policy-default-time-zone", default="UTC", metavar="ZONE",
                   help="the zone of an owner with no TimeZoneId on itself or an ancestor, IANA or Windows name "
                        "(default: UTC)")


def _count(text: str) -> int:
    """--count: a whole number, at least 1 (argparse turns the refusal into a usage error, exit 2)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{clipped(text, repr)} is not a whole number of changes (1 or more)")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="schedengine", description="What state is a customer in at instant T?")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    when_help = ("an instant: ISO 8601 (with an offset, or else the owner's local wall time; basic forms such as "
                 "20270706 or 20270706T121500 too), epoch seconds (a plain number that is not an ISO date: "
                 "20270706 is a date, 1814846400 epoch seconds; negative in any form too, -86400 or -5e9), "
                 "or 'now' (any case)")
    customer_help = "the customer's Id"

    def verb(name: str, handler: Callable[[argparse.Namespace], int], help_text: str,
             description: str | None = None) -> argparse.ArgumentParser:
        p = verbs.add_parser(name, help=help_text, description=description or help_text)
        p.set_defaults(handler=handler, verb_parser=p)
        return p

    p = verb("state-at", cmd_state_at, "the state of a customer at an instant")
    p.add_argument("customer", help=customer_help)
    p.add_argument("--at", metavar="WHEN", help=when_help + "; default: now")
    p.add_argument("--json", action="store_true", help="print one JSON object (camelCase keys)")
    _add_common(p)

    p = verb("explain", cmd_explain, "why a customer is in its state: chain, zone, every rule")
    p.add_argument("customer", help=customer_help)
    p.add_argument("--at", metavar="WHEN", help=when_help + "; default: now")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object: customerId, chain, timeZoneId, zoneOrigin, localTime (wall clock), "
                        "forceClosed, rules (each index, ruleId, name, priority, kind, state, verdict, why), "
                        "notes, result (as state-at --json)")
    _add_common(p)

    p = verb("next-change", cmd_next_change, "when the state name next changes")
    p.add_argument("customer", help=customer_help)
    p.add_argument("--at", metavar="WHEN", help=when_help + "; default: now")
    p.add_argument("--count", type=_count, default=1, metavar="N", help="list the next N changes (N >= 1; default: 1)")
    p.add_argument("--json", action="store_true",
                   help='print a JSON list of the changes, each {"at": ISO 8601 in UTC, "state": ...}')
    _add_common(p)

    p = verb("timeline", cmd_timeline, "segments of constant state over a range")
    p.add_argument("customer", help=customer_help)
    p.add_argument("--start", metavar="WHEN",
                   help="the start of the range (or --at, as the other verbs spell it); " + when_help + "; default: now")
    p.add_argument("--at", dest="start_at", metavar="WHEN", help=argparse.SUPPRESS)
    p.add_argument("--end", metavar="WHEN", help="the end of the range, exclusive, read as --start is; "
                                                 "default: start + 7 days (the same local wall time a week later), "
                                                 "stopping at the last accepted instant (9997-12-31T23:59:59.999999Z, "
                                                 "with a note on stderr) when that is past it")
    p.add_argument("--json", action="store_true",
                   help='print a JSON list of the segments, each {"start", "end" (ISO 8601 in UTC), "state", '
                        '"reason", "ruleId"}')
    _add_common(p)

    p = verb("week", cmd_week, "a week grid of states (the week holding --at, local time)",
             "A grid of the week holding --at, Monday to Sunday in the owner's local time: one row a day, one "
             "cell 30 minutes of wall-clock time. A cell shows the symbol of the state that holds all through "
             "it (both passes of an hour a fall-back repeats), '*' where the state changes within it, '.' where "
             "the wall clock skips it. The legend names each symbol, and lists the states seen only within "
             "'*' cells. State names compare trimmed and in any case, as rules compare them: 'Open' and "
             "'OPEN ' are one state, named by its first spelling in the week. The first and last weeks of the "
             "accepted instants (0002-01-01 to before 9998-01-01 UTC) are drawn up to those ends, blank beyond.")
    p.add_argument("customer", help=customer_help)
    p.add_argument("--at", metavar="WHEN", help=when_help + "; default: now")
    _add_common(p)

    p = verb("validate", cmd_validate, "check a customers file: list every error and warning, then a summary")
    p.add_argument("file", nargs="?", help="default: --customers / $SCHEDENGINE_CUSTOMERS / the demo tree")
    _add_common(p)

    p = verb("patch", cmd_patch, "apply a PATCH /customers/{id} body (JSON or JSV) and rewrite the customers file")
    p.add_argument("customer", help=customer_help)
    p.add_argument("patchfile", metavar="PATCHFILE", help="the PatchCustomer body, JSON or JSV; '-' reads stdin")
    p.add_argument("--actor", metavar="NAME", help="recorded as lastModifiedBy")
    p.add_argument("--dry-run", action="store_true",
                   help="print a unified diff of the customer (JSON) and write nothing")
    p.add_argument("--json", action="store_true", help="print the patched CustomerInfo as JSON (camelCase)")
    p.add_argument("--allow-empty", action="store_true",
                   help="apply a body that sets no field, which updates only dateLastModified (and lastModifiedBy "
                        "with --actor); without it such a body is refused")
    _add_common(p)
    return parser


def _run(argv: Sequence[str] | None) -> int:
    argv = _joined_instants(sys.argv[1:] if argv is None else argv)
    _GIVEN.set(_given_values(argv))
    parser = build_parser()
    args, extras = parser.parse_known_args(argv)
    if extras:  # refused by the verb's parser, which prints the verb's usage, not the top level's
        verb_parser = args.verb_parser
        options = [o for action in verb_parser._actions for o in action.option_strings if o.startswith("--")]
        unknown = next((e.partition("=")[0] for e in extras if e.startswith("-")), None)
        near = difflib.get_close_matches(unknown, options, n=1) if unknown else []
        verb_parser.error(f"unrecognized arguments: {' '.join(extras)}"
                          + (f" (did you mean {near[0]}?)" if near else ""))
    try:
        return args.handler(args)
    except UnknownCustomerError as exc:
        print(f"error: {_clip_given(str(exc))}", file=sys.stderr)
        return EXIT_UNKNOWN
    except (ScheduleError, ValueError) as exc:
        print(f"error: {_clip_given(str(exc))}", file=sys.stderr)
        return EXIT_INVALID


def _stdout_to_devnull() -> None:
    """After a broken pipe: point stdout at the null device, so that the
    interpreter's final flush of what is still buffered does not fail too."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no real file behind sys.stdout (io.UnsupportedOperation is both)
        pass


def _escape_unencodable() -> None:
    """Print what the terminal's encoding cannot hold (a lone surrogate that JSON
    keeps, say) as a backslash escape rather than fail: a patch already written
    must not then be reported as an error."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")


def main(argv: Sequence[str] | None = None) -> int:
    _escape_unencodable()
    try:
        try:
            return _run(argv)
        finally:
            sys.stdout.flush()  # a reader that went away shows here, not at interpreter exit
    except BrokenPipeError:  # e.g. `schedengine timeline ... | head`: stop quietly, as `cat` would
        _stdout_to_devnull()
        return EXIT_BROKEN_PIPE


def main_entry() -> None:
    sys.exit(main())
