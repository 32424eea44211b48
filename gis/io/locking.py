"""The project lock: one writer at a time, and writers re-read under it.

A write that reads the stored layers, changes some rows and writes them back (a plan
saved for one community, a camera moved) must hold the project's lock from the read
to the write, or two writers drop each other's work. Both stores give the same
context manager, ``store.locked()``:

- a GeoPackage takes a file lock on a hidden sibling ``.<name>.gpkg.lock``
  (:mod:`filelock`: ``flock`` on POSIX), which serialises threads of one process and
  processes on one machine alike; every write of :class:`~beatgrid.gis.io.gpkg.GeoPackageStore`
  takes it too, so a command-line run and the service never interleave;
- PostGIS takes a session advisory lock on a connection of its own
  (:class:`AdvisoryLock`), distinct from the per-transaction lock every write takes.

Both are re-entrant in one thread (a locked section may call writes that lock again)
and give up after ``store.lock_timeout_s`` of the core settings with
:class:`~beatgrid.gis.errors.StoreUnavailableError` (nothing written; retry later).

Examples
--------
>>> import tempfile, os
>>> lock = FileProjectLock(os.path.join(tempfile.mkdtemp(), "p.gpkg"), timeout_s=1.0)
>>> with lock:
...     with lock:                      # re-entrant in one thread
...         lock.held
True
>>> lock.held
False
"""

from __future__ import annotations

import threading
from pathlib import Path
from types import TracebackType
from typing import Any

import filelock

from beatgrid.gis.errors import StoreUnavailableError

__all__ = ["AdvisoryLock", "DEFAULT_LOCK_TIMEOUT_S", "FileProjectLock", "lock_path"]

#: Seconds a writer waits for the lock unless the core settings say otherwise.
DEFAULT_LOCK_TIMEOUT_S = 120.0
#: SQLSTATE of a lock wait that reached ``lock_timeout``.
LOCK_NOT_AVAILABLE = "55P03"


def lock_path(project: str | Path) -> Path:
    """The lock file of a GeoPackage project: a hidden sibling.

    Examples
    --------
    >>> lock_path("data/jiangbei.gpkg").as_posix()
    'data/.jiangbei.gpkg.lock'
    """
    path = Path(project)
    return path.with_name(f".{path.name}.lock")


def busy(location: str, timeout_s: float) -> StoreUnavailableError:
    """The error of a writer that waited ``timeout_s`` for the lock in vain.

    Examples
    --------
    >>> print(busy("p.gpkg", 2.0))
    project 'p.gpkg' is being written by another user or process (waited 2 s for its lock) Fix: retry when that write has finished; nothing was written
    """
    return StoreUnavailableError(
        f"project {location!r} is being written by another user or process "
        f"(waited {timeout_s:g} s for its lock)",
        fix="retry when that write has finished; nothing was written")


class FileProjectLock:
    """The lock of a GeoPackage project (re-entrant per thread; across processes).

    Parameters
    ----------
    project
        The ``.gpkg`` path (the lock file is :func:`lock_path` of it).
    timeout_s
        Seconds to wait before giving up.
    """

    def __init__(self, project: str | Path, *, timeout_s: float = DEFAULT_LOCK_TIMEOUT_S) -> None:
        self.project = Path(project)
        self.timeout_s = float(timeout_s)
        self._local = threading.local()

    def _lock(self) -> filelock.BaseFileLock:
        lock = getattr(self._local, "lock", None)
        if lock is None:  # one per thread: flock on separate descriptors excludes threads too
            lock = filelock.FileLock(lock_path(self.project), thread_local=False)
            self._local.lock = lock
        return lock

    @property
    def held(self) -> bool:
        """Whether this thread holds the lock."""
        lock = getattr(self._local, "lock", None)
        return bool(lock is not None and lock.is_locked)

    def __enter__(self) -> FileProjectLock:
        self.project.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._lock().acquire(timeout=self.timeout_s)
        except filelock.Timeout:
            raise busy(str(self.project), self.timeout_s) from None
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._lock().release()


class AdvisoryLock:
    """The lock of a PostGIS project: a session advisory lock (re-entrant per thread).

    Parameters
    ----------
    engine
        The SQLAlchemy engine of the database.
    key
        The lock's name (hashed by PostgreSQL's ``hashtext``).
    location
        The store's location, for the message when the wait times out.
    timeout_s
        Seconds to wait before giving up.
    """

    def __init__(self, engine: Any, *, key: str, location: str,
                 timeout_s: float = DEFAULT_LOCK_TIMEOUT_S) -> None:
        self.engine = engine
        self.key = key
        self.location = location
        self.timeout_s = float(timeout_s)
        self._local = threading.local()

    @property
    def held(self) -> bool:
        """Whether this thread holds the lock."""
        return getattr(self._local, "depth", 0) > 0

    def __enter__(self) -> AdvisoryLock:
        import sqlalchemy as sa  # only PostGIS projects need it (a second to import)

        depth = getattr(self._local, "depth", 0)
        if depth:
            self._local.depth = depth + 1
            return self
        # autocommit: a session lock needs no transaction, so taking and releasing it is
        # one round trip each (no BEGIN, no COMMIT)
        conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = conn.execute(sa.text("SELECT pg_try_advisory_lock(hashtext(:k))"),
                               {"k": self.key}).scalar()
            if not got:
                self._wait(conn)
        except BaseException:
            conn.close()
            raise
        self._local.conn = conn
        self._local.depth = 1
        return self

    def _wait(self, conn: Any) -> None:
        """Wait in the server for the lock (woken when its holder lets go), at most
        ``timeout_s``; :func:`busy` when it is still taken then."""
        import sqlalchemy as sa

        wait_ms = max(1, int(round(self.timeout_s * 1000)))  # 0 would mean no limit
        conn.execute(sa.text("SELECT set_config('lock_timeout', :t, false)"),
                     {"t": f"{wait_ms}ms"})
        try:
            conn.execute(sa.text("SELECT pg_advisory_lock(hashtext(:k))"), {"k": self.key})
        except sa.exc.OperationalError as e:
            if getattr(e.orig, "sqlstate", None) == LOCK_NOT_AVAILABLE:
                raise busy(self.location, self.timeout_s) from None
            raise
        finally:
            conn.execute(sa.text("RESET lock_timeout"))  # the pooled session as it was

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        import sqlalchemy as sa

        self._local.depth -= 1
        if self._local.depth:
            return
        conn = self._local.conn
        self._local.conn = None
        try:
            conn.execute(sa.text("SELECT pg_advisory_unlock(hashtext(:k))"), {"k": self.key})
        finally:
            conn.close()
