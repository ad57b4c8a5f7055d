"""Evaluation policy: the operator's choices that the records do not carry,
and the one function that orders a schedule's rules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Literal, Sequence

from .errors import ConfigurationError, RecordError
from .times import resolve_zone

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
        # Checked here, so a bad option is reported as the operator's and not
        # blamed on the first record that happens to need it.
        if self.priority not in _ORDERS:
            raise ConfigurationError(f"policy priority {self.priority!r} is not one of {', '.join(_ORDERS)}")
        for name in ("force_closed_state", "fallback_state"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ConfigurationError(f"policy {name} {value!r} is not a state name (a non-empty string)")
        if not isinstance(self.default_time_zone, str):
            raise ConfigurationError(f"policy default_time_zone {self.default_time_zone!r} is not a zone name")
        try:
            resolve_zone(self.default_time_zone)
        except RecordError as exc:
            raise ConfigurationError(f"policy default_time_zone: {exc}") from None
        if self.condition_evaluator is not None and not callable(self.condition_evaluator):
            raise ConfigurationError(f"policy condition_evaluator {self.condition_evaluator!r} is not callable")


def order_rules(priorities: Sequence[int | None], policy: Policy) -> list[int]:
    """Indices of rules in evaluation order. Equal priorities keep list order
    (the sort is stable); a missing Priority counts as 0."""
    sign = -1 if policy.priority == "highest-first" else 1
    return sorted(range(len(priorities)), key=lambda i: sign * (priorities[i] or 0))
