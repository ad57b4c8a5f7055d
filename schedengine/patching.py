"""Applying a ``PATCH /customers/{customerId}`` body (SPEC §6).

`plan_patch` is pure: from a tree and a request it builds a new
`CustomerTree` with the same policy (`CustomerTree.derive`: the patched
records replaced, the rest shared), validates everything the patch can
affect, and returns the result. It never changes
the tree it is given. `Engine.patch` installs the new tree in one
assignment, so a rejected patch changes nothing and a reader on another
thread sees the old tree or the new one, never a mix.

Semantics (also in ``docs/patch.md``):

- a field present and non-null in the body replaces the stored value whole:
  ``schedule``, ``data``, ``billingSettings`` and ``appSettings`` are
  replaced, never merged; an absent or null field is left as it is (so a
  patch cannot clear a field);
- ``tagIds`` are resolved against the tags the tree knows (every customer's
  ``tags``, by id; the first definition in input order wins) and replace
  the customer's ``tags``, in the body's order, duplicates dropped;
- ``parentCustomerId`` re-parents: the parent must exist, must not be the
  customer itself or one of its descendants; an empty id is rejected (a
  patch cannot turn a customer into a root);
- ``customerId`` in the body, when present, must equal the path's id;
- ``dateLastModified`` becomes the current UTC time (``2027-07-05T14:30:00Z``),
  ``lastModifiedBy`` the actor when one is given (a non-blank string);
- ``breadcrumb`` (root first, the customer last) is recomputed for the
  customer, and for every descendant when the customer's name or parent
  changed.

Every rejection is a `PatchError` whose message starts with
``patch of "<id>":`` and names the field; the underlying `RecordError` or
`TreeError` is kept as ``__cause__``. An unknown customer id raises
`UnknownCustomerError`, as every other query does.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping

from .errors import PatchError, RecordError, ScheduleError, TreeError
from .records import Customer, CustomerBreadcrumb, PatchCustomer, Tag, json_string, parse_model
from .tree import CustomerTree

__all__ = ["PatchPlan", "changed_fields", "known_tags", "parse_patch", "plan_patch", "utc_stamp",
           "REPLACED_FIELDS"]

# PatchCustomer fields copied onto the customer as they are (same field name).
REPLACED_FIELDS = ("parent_customer_id", "name", "reference_id", "data", "schedule",
                   "override_billing_settings", "billing_settings", "override_app_settings",
                   "app_settings")
_WIRE_NAMES = {
    "parent_customer_id": "parentCustomerId", "name": "name", "reference_id": "referenceId",
    "data": "data", "tag_ids": "tagIds", "schedule": "schedule",
    "override_billing_settings": "overrideBillingSettings", "billing_settings": "billingSettings",
    "override_app_settings": "overrideAppSettings", "app_settings": "appSettings",
}
_SHOWN_TAGS = 8  # how many known tag ids an "unknown tag" message lists


@dataclass(frozen=True, slots=True)
class PatchPlan:
    """A validated patch, not yet installed."""

    tree: CustomerTree  # the whole tree with the patch applied
    before: Customer  # the stored record before the patch
    customer: Customer  # the patched record (what PATCH returns: CustomerInfo)
    changed: tuple[str, ...]  # wire names of the fields the body set, e.g. ("schedule", "tagIds")
    affected: tuple[str, ...]  # the customer and its descendants: whose answers may change
    rewritten: tuple[str, ...]  # ids of every record that differs from before (customer first)


def utc_stamp(now: datetime | None = None) -> str:
    """``2027-07-05T14:30:00Z``: the stamp format of the records (seconds, UTC, Z)."""
    now = datetime.now(timezone.utc) if now is None else now.astimezone(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%SZ")


def _prefix(customer_id: str) -> str:
    return f"patch of {json_string(customer_id)}"


def parse_patch(request: PatchCustomer | Mapping[str, Any], customer_id: str) -> PatchCustomer:
    """The request as a private PatchCustomer (a model is deep-copied, so
    changing it later cannot reach the stored records; a dict is read with
    wire rules: JSON or JSV keys, any case)."""
    if isinstance(request, PatchCustomer):
        return request.model_copy(deep=True)
    if not isinstance(request, Mapping):
        raise PatchError(f"{_prefix(customer_id)}: expected a PatchCustomer or a dict in wire form, "
                         f"found {type(request).__name__}")
    try:
        return parse_model(PatchCustomer, dict(request), "$")
    except RecordError as exc:
        detail = str(exc)
        detail = detail[2:] if detail.startswith("$.") else detail
        raise PatchError(f"{_prefix(customer_id)}: {detail}") from exc


def changed_fields(patch: PatchCustomer) -> tuple[str, ...]:
    """Wire names of the fields a body sets (present and non-null), in PatchCustomer order."""
    return tuple(wire for field, wire in _WIRE_NAMES.items() if getattr(patch, field) is not None)


def known_tags(tree: CustomerTree) -> dict[str, Tag]:
    """Every tag the tree knows, by id; the first definition in input order wins."""
    return tree.tags()


#: Most breadcrumb entries (one per ancestor, in each rewritten breadcrumb) one patch may write.
MAX_BREADCRUMB_ENTRIES = 10_000_000


def _rejected(customer_id: str, detail: str, cause: BaseException) -> PatchError:
    error = PatchError(f"{_prefix(customer_id)}: {detail}")
    error.__cause__ = cause
    return error


def _suggest(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.8)
    return f"; did you mean {json_string(close[0])}?" if close else ""


def _check_parent(tree: CustomerTree, customer_id: str, parent_id: str) -> None:
    if not parent_id.strip():
        detail = ('parentCustomerId: an empty id names no parent (a patch cannot make a customer a '
                  'root; leave the field out to keep the current parent)')
        raise _rejected(customer_id, detail, TreeError(detail, chain=(customer_id,)))
    if parent_id == customer_id:
        detail = f"parentCustomerId: a customer cannot be its own parent ({json_string(customer_id)})"
        raise _rejected(customer_id, detail, TreeError(detail, chain=(customer_id, customer_id)))
    if parent_id not in tree:
        detail = (f"parentCustomerId: parent {json_string(parent_id)} does not exist in the tree "
                  f'({len(tree):,} customers){_suggest(parent_id, tree.ids())}')
        raise _rejected(customer_id, detail, TreeError(detail, chain=(customer_id, parent_id)))
    above = tree.ancestors(parent_id)
    if customer_id in above:
        # parent_id is a descendant: customer -> parent_id -> ... -> customer
        cycle = (customer_id, parent_id, *above[: above.index(customer_id) + 1])
        detail = (f"parentCustomerId: {json_string(parent_id)} is a descendant of {json_string(customer_id)}, "
                  f'so the parent chain would form a cycle: {" -> ".join(cycle)}')
        raise _rejected(customer_id, detail, TreeError(detail, chain=cycle))


def _resolve_tags(tree: CustomerTree, customer_id: str, tag_ids: list[str]) -> list[Tag]:
    known = known_tags(tree)
    tags: list[Tag] = []
    seen: set[str] = set()
    for i, tag_id in enumerate(tag_ids):
        tag = known.get(tag_id)
        if tag is None:
            ids = sorted(known)
            shown = ", ".join(ids[:_SHOWN_TAGS]) + (", ..." if len(ids) > _SHOWN_TAGS else "")
            detail = (f"tagIds[{i}]: unknown tag {json_string(tag_id)} (the tree knows {len(ids)} tag(s)"
                      f'{": " + shown if ids else ""}){_suggest(tag_id, ids)}')
            raise _rejected(customer_id, detail, RecordError(detail, path=f"tagIds[{i}]"))
        if tag_id not in seen:
            seen.add(tag_id)
            tags.append(tag)
    return tags


def _breadcrumbs(tree: CustomerTree, customer_id: str, parent_id: str | None, name: str | None,
                 with_descendants: bool) -> dict[str, list[CustomerBreadcrumb]]:
    """New breadcrumbs of the customer (and its descendants), root first.
    `parent_id` is already checked: the customer is not among its ancestors.
    Each breadcrumb lists every ancestor, so a deep subtree's add up to the
    square of its depth: beyond MAX_BREADCRUMB_ENTRIES the patch is refused."""
    above = [parent_id, *tree.ancestors(parent_id)] if parent_id else []
    descendants = tree.descendants(customer_id) if with_descendants else []  # parents before children
    _check_breadcrumb_entries(tree, customer_id, descendants, len(above) + 1)
    base = [CustomerBreadcrumb(id=a, name=tree.name(a)) for a in reversed(above)]
    crumbs = {customer_id: [*base, CustomerBreadcrumb(id=customer_id, name=name)]}
    for cid in descendants:
        crumbs[cid] = [*crumbs[tree.parent_id(cid)], CustomerBreadcrumb(id=cid, name=tree.name(cid))]  # type: ignore[index]
    return crumbs


def _check_breadcrumb_entries(tree: CustomerTree, customer_id: str, descendants: list[str], depth: int) -> None:
    """Refuse a rename or move whose new breadcrumbs (the customer's, at `depth`, and its
    descendants') would hold more than MAX_BREADCRUMB_ENTRIES entries: renaming the root of a
    20,000-deep chain built 200 million of them (1.7 GB); of a 100,000-deep one, 24 GB."""
    depths = {customer_id: depth}
    total = depth
    for cid in descendants:
        depths[cid] = depths[tree.parent_id(cid)] + 1  # type: ignore[index]
        total += depths[cid]
        if total > MAX_BREADCRUMB_ENTRIES:
            detail = (f"a new name or parent would rewrite the breadcrumbs of its {len(descendants):,} "
                      f"descendants, more than {MAX_BREADCRUMB_ENTRIES:,} entries in all (each lists every "
                      "ancestor; the limit for one patch): the subtree is too deep to keep breadcrumbs for")
            raise _rejected(customer_id, detail, RecordError(detail, path="breadcrumb"))


def plan_patch(tree: CustomerTree, customer_id: str, request: PatchCustomer | Mapping[str, Any], *,
               actor: str | None = None, now: datetime | None = None) -> PatchPlan:
    """Apply `request` to a copy of the tree and validate the result.

    Raises UnknownCustomerError for an unknown `customer_id`, PatchError for
    anything else wrong; `tree` itself is never changed."""
    tree.require(customer_id)
    try:
        before = tree.customer(customer_id)
    except RecordError as exc:
        raise _rejected(customer_id, f"its stored record cannot be read: {exc}", exc) from exc
    patch = parse_patch(request, customer_id)
    if patch.customer_id is not None and patch.customer_id != customer_id:
        detail = (f"customerId: the body names {json_string(patch.customer_id)} but the request is for "
                  f"{json_string(customer_id)} (leave customerId out, or make them equal)")
        raise _rejected(customer_id, detail, RecordError(detail, path="customerId"))

    changed = changed_fields(patch)
    update: dict[str, Any] = {f: getattr(patch, f) for f in REPLACED_FIELDS if getattr(patch, f) is not None}
    if patch.parent_customer_id is not None and patch.parent_customer_id != before.parent_customer_id:
        _check_parent(tree, customer_id, patch.parent_customer_id)
    if patch.tag_ids is not None:
        update["tags"] = _resolve_tags(tree, customer_id, patch.tag_ids)
    update["date_last_modified"] = utc_stamp(now)
    if actor is not None:
        if not isinstance(actor, str):  # stored unchecked, it would make the written file unreadable
            detail = f"actor: {actor!r} is not a string (who made the change, e.g. a user id)"
            raise _rejected(customer_id, detail, RecordError(detail, path="actor"))
        if not actor.strip():  # `--actor ""` from a script whose variable was unset
            detail = (f"actor: {actor!r} names nobody (who made the change, e.g. a user id; leave the actor "
                      "out to keep lastModifiedBy as it is)")
            raise _rejected(customer_id, detail, RecordError(detail, path="actor"))
        update["last_modified_by"] = actor

    parent_id = update.get("parent_customer_id", before.parent_customer_id) or None
    name = update.get("name", before.name)
    moved_or_renamed = parent_id != (before.parent_customer_id or None) or name != before.name
    crumbs = _breadcrumbs(tree, customer_id, parent_id, name, with_descendants=moved_or_renamed)
    update["breadcrumb"] = crumbs.pop(customer_id)
    patched = before.model_copy(update=update)
    replaced: dict[str, Customer] = {customer_id: patched}
    for cid, crumb in crumbs.items():
        try:
            old = tree.customer(cid)
        except RecordError as exc:  # the descendant's record must be rewritten, and cannot be read
            detail = (f"a new name or parent rewrites the breadcrumb of its descendant {json_string(cid)}, "
                      f"whose stored record cannot be read: {exc}")
            raise _rejected(customer_id, detail, exc) from exc
        if old.breadcrumb != crumb:
            replaced[cid] = old.model_copy(update={"breadcrumb": crumb})

    # A patch can change the answers of the customer and its descendants
    # only: every answer depends on the customer's ancestors alone.
    affected = (customer_id, *tree.descendants(customer_id))
    try:
        new_tree = tree.derive(replaced, affected)
    except TreeError as exc:  # the checks above should have caught it; keep the tree's words
        raise _rejected(customer_id, str(exc), exc) from exc
    _check_affected(new_tree, tree, customer_id, affected, own_schedule="schedule" in changed)
    return PatchPlan(tree=new_tree, before=before, customer=patched, changed=changed,
                     affected=affected, rewritten=tuple(replaced))


def _check_affected(tree: CustomerTree, old_tree: CustomerTree, customer_id: str, affected: tuple[str, ...],
                    own_schedule: bool) -> None:
    """Prepare the schedule of every owner the patch can change (the
    customer's own, and those of descendants, whose zone may cascade from
    it), so a bad rule is rejected now rather than at a later query; with
    `own_schedule` (the patch sets it) the customer's own schedule even
    while it inherits: a bad rule is not stored to fail once Inherit is cleared.
    A descendant's schedule that fails in `old_tree` too is said to be stored
    so: the operator must mend that record, not the body."""
    own_label = tree.label(customer_id)
    done: set[str] = set()
    for cid in affected:
        owner = tree.owner_id(cid)
        if owner in done:  # the customer comes first, so its own schedule is always checked
            continue
        done.add(owner)
        try:
            tree.schedule(owner)
            if cid == customer_id and own_schedule:
                tree.check_own_schedule(cid)
        except ScheduleError as exc:
            detail = str(exc)
            for lead in (own_label + ".", own_label + ": "):
                if detail.startswith(lead):
                    detail = detail[len(lead):]
                    break
            if owner != customer_id and _schedule_fails(old_tree, owner):
                detail += (f" (already so in the stored record of {json_string(owner)}, whose schedule the "
                           f"patch affects: mend that record first)")
            raise _rejected(customer_id, detail, exc) from exc


def _schedule_fails(tree: CustomerTree, owner_id: str) -> bool:
    try:
        tree.schedule(owner_id)
    except ScheduleError:
        return True
    return False
