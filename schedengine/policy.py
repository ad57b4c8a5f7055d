"""Evaluation policy: the operator's choices that the records do not carry,
and the one function that orders a schedule's rules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Literal, Sequence

__all__ = ["Policy", "ConditionEvaluator", "order_rules"]

# (rule, customer, at) -> bool; `at` is an aware UTC datetime.
ConditionEvaluator = Callable[[Any, Any, Any], bool]

_ORDERS = ("highest-first", "lowest-first")


@dataclass(frozen=True, slots=True)
class Policy:
    """How to read schedules where the records leave a choice.

    priority: "highest-first" (default: a larger Priority wins) or "lowest-first".
    force_closed_state: the state of a ForceClosed schedule.
    fallback_state: the state when no rule matches and DefaultState is empty.
    default_time_zone: the zone when neither the owner nor an ancestor names one.
    condition_evaluator: decides rules with a non-empty Condition; without one
        such rules never match.
    """

    priority: Literal["highest-first", "lowest-first"] = "highest-first"
    force_closed_state: str = "After Hours"
    fallback_state: str = "After Hours"
    default_time_zone: str = "UTC"
    condition_evaluator: ConditionEvaluator | None = None

    def __post_init__(self) -> None:
        if self.priority not in _ORDERS:
            raise ValueError(f"policy priority {self.priority!r} is not one of {', '.join(_ORDERS)}")


def order_rules(priorities: Sequence[int | None], policy: Policy) -> list[int]:
    """Indices of rules in evaluation order. Equal priorities keep list order
    (the sort is stable); a missing Priority counts as 0."""
    sign = -1 if policy.priority == "highest-first" else 1
    return sorted(range(len(priorities)), key=lambda i: sign * (priorities[i] or 0))
