"""schedengine: what state is a telephony customer in at instant T?

    >>> from schedengine import Engine
    >>> engine = Engine.from_file("fixtures/demo.json")  # from the project's root
    >>> engine.state_at("acme", "2027-07-04T10:30:00-04:00").state
    'Holiday'
    >>> engine.state_at("acme", "2027-07-05T10:30:00-04:00").state
    'Business Hours'
"""

from .engine import Engine
from .errors import (
    ConfigurationError,
    PatchError,
    RecordError,
    RuleError,
    ScheduleError,
    ScheduleWarning,
    TreeError,
    UnknownCustomerError,
    WireFormatError,
)
from .policy import Policy
from .recurrence import rule_to_rrule, to_rrule_string
from .records import Customer, PatchCustomer, Schedule, SchedulingRule
from .results import Change, Explanation, Segment, StateResult

__all__ = [
    "Change", "ConfigurationError", "Customer", "Engine", "Explanation", "PatchCustomer", "PatchError", "Policy",
    "RecordError", "RuleError", "Schedule", "ScheduleError", "ScheduleWarning", "SchedulingRule",
    "Segment", "StateResult", "TreeError", "UnknownCustomerError", "WireFormatError",
    "rule_to_rrule", "to_rrule_string",
]
