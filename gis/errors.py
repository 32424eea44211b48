"""Domain errors of the BeatGrid core.

Every error the core raises for bad input is a :class:`BeatGridError`. Each one
carries what went wrong, where (layer, argument, row) and how to fix it, so the
command line can print it on one line and the service can map its class to a
status code in one table (``beatgrid.api.errors.STATUS``). The core knows nothing
of HTTP.

Examples
--------
>>> err = InputError("band min=600 is above max=500", fix="give min <= max")
>>> str(err)
'band min=600 is above max=500 Fix: give min <= max'

"""

from __future__ import annotations

from dataclasses import dataclass, field


class BeatGridError(Exception):
    """Base class of every domain error: bad input, never a bug.

    Parameters
    ----------
    message
        What is wrong, naming the layer or argument and the offending value.
    fix
        How the user can fix it (one sentence).
    """

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.message} Fix: {self.fix}" if self.fix else self.message


class InputError(BeatGridError):
    """An argument or an input file is unusable (wrong value, unknown column...)."""


class CRSError(BeatGridError):
    """A layer has no coordinate reference system, or one BeatGrid cannot use."""


class NotFoundError(BeatGridError):
    """A project, layer or feature named by the user does not exist."""


class ConflictError(BeatGridError):
    """The request contradicts the current state (a locked grid, a stale edit...)."""


class StaleVersionError(ConflictError):
    """A write started from a version that is no longer the current one.

    Parameters
    ----------
    message, fix
        As :class:`BeatGridError`.
    current
        The current version (the client re-reads it and redoes its change).

    Examples
    --------
    >>> err = StaleVersionError("plan 3 is at version 7, not 5", fix="reload", current="7")
    >>> err.current
    '7'
    """

    def __init__(self, message: str, *, fix: str | None = None, current: str | None = None
                 ) -> None:
        super().__init__(message, fix=fix)
        self.current = current


class VersionRequiredError(BeatGridError):
    """A change that does not say which version it started from (``If-Match``)."""


class AuthenticationError(BeatGridError):
    """No credentials, or credentials that do not name an active account."""


class PermissionDeniedError(BeatGridError):
    """The account's role does not allow what was asked (names the role needed)."""


class PolicyError(BeatGridError):
    """A settings or policy file is invalid: names the key, the value and the fix."""


class StoreUnavailableError(BeatGridError):
    """The store cannot be used right now: database server down, no PostGIS, no rights.

    The message names the store (a database URL with its password masked).
    """


@dataclass(frozen=True)
class Problem:
    """One problem found while validating a layer.

    Attributes
    ----------
    layer, row_id, column, value
        Where the problem is; ``row_id`` is the feature id (or the row number when
        the id itself is missing) and may be ``None`` for layer-wide problems.
    message
        What is wrong.
    fix
        How to fix it.
    severity
        ``"error"`` (the project is not usable as is) or ``"warning"`` (BeatGrid
        repaired or defaulted something; the user should know).
    """

    layer: str
    message: str
    fix: str
    row_id: object = None
    column: str | None = None
    value: object = None
    severity: str = "error"

    def format(self) -> str:
        """The problem on one line: severity, where, what, value and fix."""
        where = self.layer
        if self.row_id is not None:
            where += f" id={self.row_id}"
        if self.column:
            where += f" column={self.column}"
        value = "" if self.value is None else f" (value: {self.value!r})"
        return f"[{self.severity}] {where}: {self.message}{value}. Fix: {self.fix}"


class ValidationError(BeatGridError):
    """Raised when a layer or a project has errors; carries *all* problems at once.

    Parameters
    ----------
    problems
        Every problem found (errors and warnings); the message quotes the first error.
    """

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        errors = [p for p in self.problems if p.severity == "error"]
        first = errors[0].format() if errors else "no details"
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(f"{len(errors)} validation error(s), nothing written: {first}{more}")

    @property
    def errors(self) -> list[Problem]:
        """The error-level problems (warnings excluded)."""
        return [p for p in self.problems if p.severity == "error"]
