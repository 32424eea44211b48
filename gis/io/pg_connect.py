"""Connections to a PostgreSQL/PostGIS database: URLs, pooled engines, transactions, errors.

The PostGIS store (:mod:`beatgrid.gis.io.postgis`) opens every read and write through
:func:`transaction`: one pooled SQLAlchemy engine per URL, PostGIS checked once per
engine, and the database errors caused by the set-up (server down, wrong password, no
database, no rights, no PostGIS) turned into :class:`DatabaseError` naming the URL with
its password masked, and the fix.

``url`` is an SQLAlchemy URL (``postgresql+psycopg://user:password@host:5432/db``;
``postgresql://`` and ``postgres://`` are taken to mean psycopg 3) or an
:class:`sqlalchemy.engine.Engine`.

Examples
--------
>>> mask_url("postgresql+psycopg://planner:s3cret@db.example:5432/beatgrid")
'postgresql+psycopg://planner:***@db.example:5432/beatgrid'
>>> with transaction("postgresql://planner@127.0.0.1:1/none", action="reading") as conn:
...     pass
Traceback (most recent call last):
...
beatgrid.gis.errors.StoreUnavailableError: cannot connect to the PostGIS database postgresql+psycopg://planner@127.0.0.1:1/none: ...
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from beatgrid.gis.errors import BeatGridError, ConflictError, InputError, StoreUnavailableError

#: Seconds to wait for the server before giving up.
CONNECT_TIMEOUT_S = 10
#: The shape of a database URL, for messages.
URL_FORMAT = "postgresql+psycopg://USER:PASSWORD@HOST:5432/DATABASE"
#: A database URL: text, a parsed URL or an engine.
Url = str | sa.engine.URL | sa.engine.Engine

#: The PostGIS database cannot be used (server down, no PostGIS, no rights).
DatabaseError = StoreUnavailableError

_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_ENGINES: dict[str, sa.engine.Engine] = {}
_ENGINES_LOCK = threading.Lock()
_POSTGIS_CHECKED: set[str] = set()


def mask_url(url: Url) -> str:
    """``url`` as text with its password replaced by ``***`` (for messages and logs).

    Examples
    --------
    >>> mask_url("postgresql://u@h/d")
    'postgresql://u@h/d'
    """
    if isinstance(url, sa.engine.Engine):
        url = url.url
    if isinstance(url, sa.engine.URL):
        return url.render_as_string(hide_password=True)
    text = str(url)
    try:
        return sa.engine.make_url(text).render_as_string(hide_password=True)
    except Exception:  # malformed: mask anything between "user:" and "@"
        return re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", text)


def normalise_url(url: str | sa.engine.URL) -> sa.engine.URL:
    """The parsed URL, with ``postgresql://`` meaning psycopg 3; :class:`InputError` otherwise.

    Examples
    --------
    >>> normalise_url("postgres://u@h/d").drivername
    'postgresql+psycopg'
    >>> normalise_url("mysql://u:pw@h/d")
    Traceback (most recent call last):
    ...
    beatgrid.gis.errors.InputError: database URL 'mysql://u:***@h/d' is not a PostgreSQL URL Fix: give a URL like postgresql+psycopg://USER:PASSWORD@HOST:5432/DATABASE
    """
    try:
        parsed = sa.engine.make_url(url)
    except Exception as e:
        raise InputError(
            f"malformed database URL {mask_url(url)!r} ({e})",
            fix=f"give a URL like {URL_FORMAT}") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if not parsed.drivername.startswith("postgresql"):
        raise InputError(
            f"database URL {mask_url(url)!r} is not a PostgreSQL URL",
            fix=f"give a URL like {URL_FORMAT}")
    return parsed


#: Connections an engine keeps open unless the settings say otherwise (``[store]
#: pg_pool_size``); as many again may be opened for a burst, then closed.
DEFAULT_POOL_SIZE = 16


def engine_for(url: Url, *, pool_size: int = DEFAULT_POOL_SIZE) -> sa.engine.Engine:
    """The pooled engine of ``url`` (one per URL and process; an engine is returned as is).

    ``pool_size`` connections are kept open and reused (it applies when the engine is
    made: the first caller for a URL sets it; the store passes the settings' value).

    Examples
    --------
    >>> engine_for("postgresql://u@h/d") is engine_for("postgresql://u@h/d")
    True
    """
    if isinstance(url, sa.engine.Engine):
        return url
    key = url.render_as_string(hide_password=False) if isinstance(url, sa.engine.URL) else str(url)
    with _ENGINES_LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            parsed = normalise_url(key)
            connect_args = {"connect_timeout": CONNECT_TIMEOUT_S,
                            "application_name": "beatgrid"}
            try:
                engine = sa.create_engine(parsed, pool_pre_ping=True,
                                          pool_size=pool_size, max_overflow=pool_size,
                                          connect_args=connect_args)
            except (sa_exc.NoSuchModuleError, sa_exc.ArgumentError, ImportError) as e:
                raise InputError(
                    f"cannot use database URL {mask_url(key)!r}: {e}",
                    fix=f"use the psycopg 3 driver: {URL_FORMAT}") from None
            _ENGINES[key] = engine
    return engine


def dispose_engines() -> None:
    """Close every pooled connection opened by this module (tests, shutdown).

    Examples
    --------
    >>> dispose_engines()
    """
    with _ENGINES_LOCK:
        for engine in _ENGINES.values():
            engine.dispose()
        _ENGINES.clear()
        _POSTGIS_CHECKED.clear()


def _sqlstate(error: Exception) -> str:
    orig = getattr(error, "orig", None)
    return str(getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None) or "")


def _reason(error: Exception) -> str:
    orig = getattr(error, "orig", None) or error
    lines = [ln.strip() for ln in str(orig).strip().splitlines() if ln.strip()]
    return " ".join(lines[:2]) if lines else type(orig).__name__


def _translate(error: Exception, engine: sa.engine.Engine, *, action: str
               ) -> BeatGridError | None:
    """A BeatGridError for a database error caused by the set-up, else None (a bug)."""
    where = mask_url(engine)
    state = _sqlstate(error)
    if isinstance(error, (sa_exc.OperationalError, sa_exc.InterfaceError)) and (
            not state or state.startswith("08") or state in ("57P03", "53300")
            or state.startswith("28") or state == "3D000"):
        if state.startswith("28"):
            fix = "check the user name and password in the URL (or the server's pg_hba.conf)"
        elif state == "3D000":
            fix = "create the database (createdb) or fix its name in the URL"
        else:
            fix = ("check that PostgreSQL is running and that host, port and database in the "
                   "URL are right (for the tests, `bash scripts/test.sh` starts a server)")
        return DatabaseError(f"cannot connect to the PostGIS database {where}: {_reason(error)}",
                             fix=fix)
    if state == "42501":
        return DatabaseError(f"permission denied {action} in {where}: {_reason(error)}",
                             fix="grant the user CREATE/USAGE on the database and schema, or "
                                 "ask the database administrator to create the schema")
    if state == "2BP01":
        return ConflictError(f"cannot replace a table in {where}: {_reason(error)}",
                             fix="drop or recreate the views that depend on the BeatGrid tables")
    if state == "40P01":
        return ConflictError(f"concurrent edit while {action} in {where}: {_reason(error)}",
                             fix="try again")
    return None


@contextlib.contextmanager
def transaction(url: Url, *, action: str) -> Iterator[sa.engine.Connection]:
    """A connection inside one transaction (committed on success, rolled back on error).

    Parameters
    ----------
    url
        The database.
    action
        What is being done (``"writing beatgrid"``), for messages.

    Raises
    ------
    DatabaseError
        The database cannot be reached or used (URL with password masked, and the fix).
    """
    engine = engine_for(url)
    try:
        with engine.begin() as conn:
            _check_postgis(conn, engine)
            yield conn
    except sa_exc.DBAPIError as e:
        translated = _translate(e, engine, action=action)
        if translated is None:
            raise
        raise translated from e


def _check_postgis(conn: sa.engine.Connection, engine: sa.engine.Engine) -> None:
    key = str(engine.url)
    if key in _POSTGIS_CHECKED:
        return
    has = conn.execute(sa.text(
        "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'postgis')")).scalar()
    if not has:
        raise DatabaseError(
            f"the database {mask_url(engine)} has no PostGIS extension",
            fix="run `CREATE EXTENSION postgis;` in that database as its owner or a superuser "
                "(Debian: apt-get install postgresql-<version>-postgis-3)")
    _POSTGIS_CHECKED.add(key)


def check_schema_name(schema: str) -> str:
    """``schema`` when it is a plain PostgreSQL identifier, else :class:`InputError`.

    Examples
    --------
    >>> check_schema_name("beatgrid")
    'beatgrid'
    >>> check_schema_name('x"; DROP TABLE y; --')
    Traceback (most recent call last):
    ...
    beatgrid.gis.errors.InputError: invalid PostgreSQL schema name 'x"; DROP TABLE y; --' Fix: use lower-case letters, digits and _ (e.g. 'beatgrid')
    """
    if not isinstance(schema, str) or not _IDENT.match(schema):
        raise InputError(f"invalid PostgreSQL schema name {schema!r}",
                         fix="use lower-case letters, digits and _ (e.g. 'beatgrid')")
    return schema


def quote(name: str) -> str:
    """``name`` as a quoted SQL identifier.

    Examples
    --------
    >>> quote("beatgrid") + "." + quote("staff")
    '"beatgrid"."staff"'
    """
    return '"' + name.replace('"', '""') + '"'
