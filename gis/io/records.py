"""The service's tables beside the layers: accounts, tokens, the audit log, grid plans.

Both stores keep them in the project itself, as plain tables next to the layers, so a
project carries its plans and its history wherever it goes: in the GeoPackage file
(SQLite tables QGIS ignores) and in the project's PostgreSQL schema. They are defined
once here with SQLAlchemy Core (:data:`METADATA`) and created and evolved by the
Alembic migrations of :mod:`beatgrid.gis.io.migrations` (``beatgrid db upgrade``), on
both stores alike.

:class:`Records` gives transactions on them: :meth:`Records.reading` and
:meth:`Records.writing` (the latter under the project's lock, so a record written
while a layer write replaces the GeoPackage file is never lost).

Examples
--------
>>> from beatgrid.gis import Project
>>> records = Project.sample().store.records
>>> records.upgrade()
'0001'
>>> with records.reading() as conn:
...     conn.execute(sa.select(sa.func.count()).select_from(USERS)).scalar()
0
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from beatgrid.gis.errors import NotFoundError, StoreUnavailableError

__all__ = ["AUDIT", "METADATA", "PLANS", "PLAN_STEPS", "Records", "SERVICE_TABLES", "TOKENS",
           "USERS", "copy_records", "dumps", "now_utc"]

METADATA = sa.MetaData()

#: Accounts: a name, an argon2 password hash, a role, whether disabled.
USERS = sa.Table(
    "beatgrid_users", METADATA,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("password_hash", sa.Text, nullable=True),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", sa.Text, nullable=False),
)

#: API keys and session tokens (only their SHA-256 is stored).
TOKENS = sa.Table(
    "beatgrid_tokens", METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_name", sa.Text, nullable=False, index=True),
    sa.Column("token_hash", sa.Text, nullable=False, unique=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("label", sa.Text, nullable=True),
    sa.Column("created_at", sa.Text, nullable=False),
    sa.Column("expires_at", sa.Text, nullable=True),
    sa.Column("revoked", sa.Boolean, nullable=False, default=False),
)

#: Every write: who, when, what, which plan or row, versions before and after, summary.
AUDIT = sa.Table(
    "beatgrid_audit", METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.Text, nullable=False, index=True),
    sa.Column("user_name", sa.Text, nullable=False),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("target_kind", sa.Text, nullable=False),
    sa.Column("target_id", sa.Text, nullable=True),
    sa.Column("version_before", sa.Text, nullable=True),
    sa.Column("version_after", sa.Text, nullable=True),
    sa.Column("summary", sa.Text, nullable=False),
)

#: Grid plans: per community one published plan and any number of drafts.
PLANS = sa.Table(
    "beatgrid_plans", METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("community_id", sa.Text, nullable=False, index=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("owner", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("head", sa.Integer, nullable=False),
    sa.Column("base_plan_id", sa.Integer, nullable=True),
    sa.Column("created_at", sa.Text, nullable=False),
    sa.Column("updated_at", sa.Text, nullable=False),
    sa.Column("published_at", sa.Text, nullable=True),
    sa.Column("published_by", sa.Text, nullable=True),
)

#: The recorded steps of a plan (generate, move, rebalance, lock, import...).
PLAN_STEPS = sa.Table(
    "beatgrid_plan_steps", METADATA,
    sa.Column("plan_id", sa.Integer, primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("author", sa.Text, nullable=False),
    sa.Column("at", sa.Text, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
)


def now_utc() -> str:
    """The time now, UTC, ISO 8601 to the millisecond (how every record is stamped).

    Examples
    --------
    >>> now_utc().endswith("Z") and "T" in now_utc()
    True
    """
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def dumps(value: Any) -> str:
    """Compact, stable JSON of a record's payload or summary.

    Examples
    --------
    >>> dumps({"b": 1, "a": [1, 2]})
    '{"a":[1,2],"b":1}'
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)


class Records:
    """Transactions on the service tables of one project.

    Parameters
    ----------
    engine
        The SQLAlchemy engine (SQLite on the GeoPackage file, or PostgreSQL).
    schema
        The PostgreSQL schema of the project (None for a GeoPackage).
    lock
        A callable giving the project's lock (:meth:`locked`).
    location
        The store's location, for messages.
    quiet_lock
        A callable giving the lock held by :meth:`writing` (default ``lock``): the
        GeoPackage store's tells it that the layers did not change.
    """

    def __init__(self, engine: sa.engine.Engine, *, schema: str | None,
                 lock: Any, location: str, quiet_lock: Any = None) -> None:
        self.engine = engine
        self.schema = schema
        self._project_lock = lock
        self._lock_of = quiet_lock if quiet_lock is not None else lock
        self.location = location
        self._current = False
        self._guard = threading.Lock()
        self.path: Path | None = None

    @classmethod
    def for_file(cls, path: str | Path, *, lock: Any, quiet_lock: Any = None) -> Records:
        """Records in a GeoPackage file (one connection per transaction: the file may be
        replaced between two).

        Examples
        --------
        >>> from beatgrid.gis.io.locking import FileProjectLock
        >>> Records.for_file("x.gpkg", lock=FileProjectLock("x.gpkg")).schema is None
        True
        """
        engine = sa.create_engine(f"sqlite:///{Path(path)}", poolclass=NullPool)

        @sa.event.listens_for(engine, "connect")
        def _timeout(dbapi_conn: Any, _: Any) -> None:
            dbapi_conn.execute("PRAGMA busy_timeout = 30000")

        records = cls(engine, schema=None, lock=lock, location=str(path), quiet_lock=quiet_lock)
        records.path = Path(path)
        return records

    def _connect(self) -> sa.engine.Connection:
        if self.path is not None and not self.path.exists():  # SQLite would make an empty file
            raise NotFoundError(f"project {self.location!r} does not exist",
                                fix="create it with `beatgrid sample --out` or "
                                    "`beatgrid import`")
        conn = self.engine.connect()
        if self.schema is not None:
            conn = conn.execution_options(schema_translate_map={None: self.schema})
        return conn

    # -- the tables' revision ------------------------------------------------------
    def revision(self) -> str | None:
        """The Alembic revision the tables are at (None: not created yet).

        Examples
        --------
        >>> from beatgrid.gis import Project
        >>> store = Project.sample().store
        >>> store.records.revision() is None
        True
        """
        from beatgrid.gis.io.migrations import current_revision

        with self._connect() as conn:
            return current_revision(conn, schema=self.schema)

    def upgrade(self) -> str:
        """Create or migrate the tables to the newest revision (under the project's lock).

        Returns the revision reached.
        """
        from beatgrid.gis.io.migrations import head_revision, upgrade

        with self._lock_of():
            with self._connect() as conn:
                with conn.begin():
                    upgrade(conn, schema=self.schema)
        self._current = True
        return head_revision()

    def require_current(self, *, auto: bool) -> None:
        """Make sure the tables are at the newest revision.

        Missing tables are created. ``auto`` also migrates older ones (a GeoPackage
        does so silently); otherwise an older revision is
        :class:`~beatgrid.gis.errors.StoreUnavailableError` naming ``beatgrid db upgrade``
        (a database is migrated when its administrator decides).
        """
        if self._current:
            return
        from beatgrid.gis.io.migrations import head_revision

        with self._guard:
            if self._current:
                return
            have = self.revision()
            if have == head_revision():
                self._current = True
                return
            if not auto and have is not None:  # absent tables are simply created
                raise StoreUnavailableError(
                    f"the service tables of {self.location} are at revision "
                    f"{have or 'none'}, this BeatGrid needs {head_revision()}",
                    fix="run `beatgrid db upgrade --database-url URL` once")
            self.upgrade()

    # -- transactions --------------------------------------------------------------
    @contextmanager
    def reading(self) -> Iterator[sa.engine.Connection]:
        """A connection to read the tables (a snapshot on PostgreSQL)."""
        with self._connect() as conn:
            with conn.begin():
                yield conn

    @contextmanager
    def writing(self) -> Iterator[sa.engine.Connection]:
        """A transaction on the tables, under the project's lock; committed on success."""
        with self._lock_of():
            with self._connect() as conn:
                with conn.begin():
                    yield conn

    def locked(self) -> AbstractContextManager[Any]:
        """The project's lock (to span a read of the tables and a layer write)."""
        lock: AbstractContextManager[Any] = self._project_lock()
        return lock


#: The service tables, in the order they are copied.
SERVICE_TABLES = (USERS, TOKENS, AUDIT, PLANS, PLAN_STEPS)


def copy_records(source: Records, target: Records) -> dict[str, int]:
    """Copy every service table from one store to another (replacing the target's rows).

    Both are brought to the newest revision first; the target's copy is one
    transaction. Returns the rows copied per table.

    Examples
    --------
    >>> from beatgrid.gis import Project
    >>> a, b = Project.sample(), Project.sample()
    >>> _ = a.accounts.add("wang", role="planner")
    >>> copy_records(a.store.records, b.store.records)["beatgrid_users"]
    1
    >>> [u.name for u in b.accounts.users()]
    ['wang']
    """
    source.require_current(auto=source.schema is None)
    target.require_current(auto=True)
    with source.reading() as conn:
        rows = {t.name: [dict(r._mapping) for r in conn.execute(sa.select(t)).all()]
                for t in SERVICE_TABLES}
    with target.writing() as conn:
        for table in reversed(SERVICE_TABLES):
            conn.execute(table.delete())
        for table in SERVICE_TABLES:
            if rows[table.name]:
                conn.execute(table.insert(), rows[table.name])
            if conn.dialect.name == "postgresql" and "id" in table.c:  # ids copied as they are
                top = conn.execute(sa.select(sa.func.max(table.c.id))).scalar() or 0
                conn.execute(sa.text("SELECT setval(pg_get_serial_sequence(:t, 'id'), :v, false)"),
                             {"t": f'"{target.schema}".{table.name}', "v": int(top) + 1})
    return {name: len(values) for name, values in rows.items()}
