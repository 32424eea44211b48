"""The audit log: every write, who made it, when, what, versions before and after.

Who is acting is a context variable set once per request by the service (the signed-in
user) or per run by the command line (``cli:<login>``, as administrator of the file):
:func:`acting_as`. Every write of a :class:`~beatgrid.gis.workspace.Workspace`, an
account change and every step of a plan adds a row with :func:`record`, in the
transaction (and under the project lock) of the change it describes.

Examples
--------
>>> from beatgrid.gis import Project
>>> project = Project.sample()
>>> with acting_as("li", "planner"):
...     project.write({"staff": project.layer("staff")})
>>> entry = project.audit.entries()[-1]
>>> entry["user_name"], entry["action"], entry["target_id"]
('li', 'layers.write', 'staff')
"""

from __future__ import annotations

import contextvars
import getpass
import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from beatgrid.gis.io.records import AUDIT, Records, dumps, now_utc

__all__ = ["Actor", "AuditLog", "acting_as", "current_actor", "record", "set_actor",
           "version_tag"]


def version_tag(state: Any) -> str | None:
    """A short, stable tag of a store's :meth:`state` (how layer versions are logged).

    Examples
    --------
    >>> version_tag(7) == version_tag(7), len(version_tag(("a", 1))), version_tag(None)
    (True, 12, None)
    """
    if state is None:
        return None
    return hashlib.sha256(repr(state).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Actor:
    """Who a write is made for: a user name and role name."""

    name: str
    role: str


def _local_actor() -> Actor:
    try:
        login = getpass.getuser()
    except (KeyError, OSError):
        login = "unknown"
    return Actor(name=f"cli:{login}", role="admin")


_ACTOR: contextvars.ContextVar[Actor | None] = contextvars.ContextVar("beatgrid_actor",
                                                                     default=None)


def current_actor() -> Actor:
    """Who is acting now (the local login, as ``cli:<login>``, unless set).

    Examples
    --------
    >>> current_actor().name.startswith("cli:")
    True
    """
    return _ACTOR.get() or _local_actor()


@contextmanager
def acting_as(name: str, role: str) -> Iterator[Actor]:
    """Record the writes made inside the block as ``name`` with ``role``.

    Examples
    --------
    >>> with acting_as("zhao", "admin") as actor:
    ...     current_actor() == actor
    True
    """
    actor = Actor(name=name, role=role)
    token = _ACTOR.set(actor)
    try:
        yield actor
    finally:
        _ACTOR.reset(token)


def set_actor(name: str, role: str) -> Actor:
    """Make ``name`` the acting user for the rest of the current context.

    For a context that ends by itself (the service's per-request context); elsewhere
    use :func:`acting_as`, which restores the previous actor.

    Examples
    --------
    >>> import contextvars
    >>> contextvars.copy_context().run(set_actor, "zhou", "viewer").name
    'zhou'
    """
    actor = Actor(name=name, role=role)
    _ACTOR.set(actor)
    return actor


def record(conn: sa.engine.Connection, *, action: str, target_kind: str,
           target_id: Any = None, before: Any = None, after: Any = None,
           summary: Mapping[str, Any] | None = None) -> None:
    """Add one row to the audit log in the transaction of ``conn``."""
    actor = current_actor()
    conn.execute(AUDIT.insert().values(
        at=now_utc(), user_name=actor.name, role=actor.role, action=action,
        target_kind=target_kind, target_id=None if target_id is None else str(target_id),
        version_before=None if before is None else str(before),
        version_after=None if after is None else str(after),
        summary=dumps(dict(summary or {}))))


class AuditLog:
    """Reading the audit log of a project.

    Parameters
    ----------
    records
        The store's service tables.
    """

    def __init__(self, records: Records) -> None:
        self.records = records

    def entries(self, *, user: str | None = None, action: str | None = None,
                target_kind: str | None = None, target_id: str | None = None,
                since: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        """Entries, oldest first, filtered (``action`` matches a prefix: ``plans.``).

        Examples
        --------
        >>> from beatgrid.gis import Project
        >>> Project.sample().audit.entries()
        []
        """
        if self.records.revision() is None:
            return []
        query = sa.select(AUDIT)
        if user:
            query = query.where(AUDIT.c.user_name == user)
        if action:
            query = query.where(AUDIT.c.action.startswith(action))
        if target_kind:
            query = query.where(AUDIT.c.target_kind == target_kind)
        if target_id:
            query = query.where(AUDIT.c.target_id == str(target_id))
        if since:
            query = query.where(AUDIT.c.at >= since)
        query = query.order_by(AUDIT.c.id.desc()).limit(int(limit))
        with self.records.reading() as conn:
            rows = conn.execute(query).mappings().all()
        out = [dict(r) for r in reversed(rows)]
        for row in out:
            row["summary"] = json.loads(row["summary"] or "{}")
        return out

    def write_layers(self, names: Sequence[str], rows: Mapping[str, int], *,
                     before: Any, after: Any, mode: str) -> None:
        """Record a write of layers (one row per layer) under the project's lock."""
        self.records.require_current(auto=self.records.schema is None)
        with self.records.writing() as conn:
            for name in names:
                record(conn, action="layers.write", target_kind="layer", target_id=name,
                       before=version_tag(before), after=version_tag(after),
                       summary={"rows": int(rows.get(name, 0)), "mode": mode})
