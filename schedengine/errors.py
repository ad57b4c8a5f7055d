"""The exception family. Every error schedengine raises on purpose is a
`ScheduleError`; each member also subclasses the builtin a caller already
catches, so `except ValueError` / `except KeyError` keep working.

ScheduleError
 ├─ RecordError (ValueError)          bad input records; .path names where
 │   ├─ WireFormatError               malformed JSON / JSON Lines / JSV text; .line, .column
 │   └─ RuleError                     a rule that cannot be evaluated (range, combination, limit)
 ├─ TreeError (ValueError)            missing parent, cycle, duplicate id; .chain
 ├─ PatchError (ValueError)           a PATCH request rejected; nothing was changed
 ├─ ConfigurationError (ValueError)   a Policy or Engine option is wrong (not the records)
 └─ UnknownCustomerError (KeyError)   a query named a customer the tree does not hold

Warnings (not raised, collected by `validate`): `ScheduleWarning`.
"""

from __future__ import annotations


class ScheduleError(Exception):
    """Base of every error schedengine raises on purpose."""


class RecordError(ScheduleError, ValueError):
    """An input record is wrong; `path` says where (``customers[3].schedule.rules[2].startTime``)."""

    def __init__(self, message: str, *, path: str | None = None):
        super().__init__(message)
        self.path = path


class WireFormatError(RecordError):
    """Text that is not valid JSON, JSON Lines or JSV; `line`/`column` are 1-based."""

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None,
                 path: str | None = None):
        super().__init__(message, path=path)
        self.line = line
        self.column = column


class RuleError(RecordError):
    """A scheduling rule whose fields cannot be turned into a recurrence."""


class TreeError(ScheduleError, ValueError):
    """The customer tree is inconsistent; `chain` lists the ids involved."""

    def __init__(self, message: str, *, chain: tuple[str, ...] = ()):
        super().__init__(message)
        self.chain = chain


class PatchError(ScheduleError, ValueError):
    """A PATCH request was rejected; the engine is exactly as it was."""


class ConfigurationError(ScheduleError, ValueError):
    """A Policy or Engine option is wrong: the operator's choice, not the records."""


class UnknownCustomerError(ScheduleError, KeyError):
    """A query named a customer id that the tree does not hold."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class ScheduleWarning(UserWarning):
    """Something suspicious but evaluable (unknown field, rule that never fires...)."""

    def __init__(self, message: str, *, path: str | None = None):
        super().__init__(message)
        self.path = path
