"""Who is asking: roles and the FastAPI dependencies that require them.

Roles are ordered; each includes the ones before it:

=========  ==========================================================================
viewer     leadership: read layers, results, reports
analyst    run analyses (coverage, staffing, generate without saving, jobs)
planner    edit drafts, publish plans, edit cameras, police rooms and the staff roster
admin      manage accounts, read the audit log
=========  ==========================================================================

Routes declare what they need with the annotated dependencies ``Reader``,
``Analyst``, ``Planner`` and ``Admin``: each resolves to the :class:`Principal` making
the request, or answers 401 (no or bad credentials) or 403 (role too low).

(Transitional: until accounts land, every request is the anonymous administrator.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Annotated

from fastapi import Depends, Request


class Role(IntEnum):
    """A user's role; a higher role may do everything a lower one may.

    Examples
    --------
    >>> Role.planner >= Role.analyst
    True
    >>> Role["viewer"].name
    'viewer'
    """

    viewer = 1
    analyst = 2
    planner = 3
    admin = 4


@dataclass(frozen=True)
class Principal:
    """The user a request acts for (``name`` is recorded in the audit log)."""

    name: str
    role: Role


ANONYMOUS_ADMIN = Principal(name="local", role=Role.admin)


def require(role: Role) -> Callable[[Request], Principal]:
    """A dependency answering the request's :class:`Principal` when it has ``role``.

    Examples
    --------
    >>> callable(require(Role.planner))
    True
    """

    def dependency(request: Request) -> Principal:
        return ANONYMOUS_ADMIN

    dependency.__name__ = f"require_{role.name}"
    return dependency


Reader = Annotated[Principal, Depends(require(Role.viewer))]
Analyst = Annotated[Principal, Depends(require(Role.analyst))]
Planner = Annotated[Principal, Depends(require(Role.planner))]
Admin = Annotated[Principal, Depends(require(Role.admin))]
