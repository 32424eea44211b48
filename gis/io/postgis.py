"""The multi-user server store: a BeatGrid project in a PostgreSQL/PostGIS schema.

:class:`PostGISStore` implements :class:`~beatgrid.gis.io.store.Store` with the same
contract as the GeoPackage store (the same contract tests run on both): one table per
layer of :mod:`beatgrid.gis.schema` in one PostgreSQL schema (default ``beatgrid``),
the metadata table ``beatgrid_meta`` (schema version, CRS, write version), the import
log ``beatgrid_imports`` and the derived layers (see :mod:`beatgrid.gis.io.pg_tables`
for the tables). Several people can read and write the same project; QGIS opens the
tables as they are. Open it with ``Project.open("postgresql://…", schema=…)`` or
:func:`~beatgrid.gis.io.store.open_store`.

Writes are transactional: the layers are prepared as for every store
(:func:`~beatgrid.gis.io.writing.prepare_write`: conformed, reprojected, validated
against the stored layers), then written in ONE transaction, under a per-schema
advisory lock so that two writers never interleave; the write version in
``beatgrid_meta`` is bumped in the same transaction, so :meth:`PostGISStore.state`
changes on every write. On any error nothing changes.

``url`` is an SQLAlchemy URL (``postgresql+psycopg://user:password@host:5432/db``;
``postgresql://`` and ``postgres://`` are taken to mean psycopg 3) or an
:class:`sqlalchemy.engine.Engine`. An unreachable server or a malformed URL raises
:class:`DatabaseError`, naming the URL with its password masked and the fix (see
:mod:`beatgrid.gis.io.pg_connect`).

The functions :func:`copy_project_to_postgis` / :func:`copy_postgis_to_project`
(``beatgrid postgis push|pull``) copy a whole project between the stores; the
``*_pg`` functions are one-line shorthands of the store's methods.

Examples
--------
>>> store = PostGISStore("postgresql+psycopg://planner:s3cret@db.example:5432/beatgrid")
>>> store.location
'postgresql+psycopg://planner:***@db.example:5432/beatgrid (schema beatgrid)'
>>> PostGISStore("postgresql://planner@127.0.0.1:1/none").list_layers()
Traceback (most recent call last):
...
beatgrid.gis.errors.StoreUnavailableError: cannot connect to the PostGIS database postgresql+psycopg://planner@127.0.0.1:1/none: ...
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import sqlalchemy as sa

from beatgrid.gis import schema as bg_schema
from beatgrid.gis.errors import InputError, NotFoundError
from beatgrid.gis.io import pg_tables
from beatgrid.gis.io.gpkg import GeoPackageStore
from beatgrid.gis.io.locking import DEFAULT_LOCK_TIMEOUT_S, AdvisoryLock
from beatgrid.gis.io.records import Records
from beatgrid.gis.io.pg_connect import (DEFAULT_POOL_SIZE, DatabaseError, Url,
                                        check_schema_name, dispose_engines, engine_for,
                                        mask_url, transaction)
from beatgrid.gis.io.writing import (DERIVED_LAYERS, IMPORTS_TABLE, META_TABLE, SCHEMA_VERSION,
                                     BBox, Frame, check_derived_names, check_storage_crs,
                                     derived_epsg, first_storage_epsg, import_log_rows,
                                     prepare_derived, prepare_write, stored_geometry_type,
                                     utc_now)

__all__ = [
    "DEFAULT_SCHEMA", "DatabaseError", "PostGISStore", "copy_postgis_to_project",
    "copy_project_to_postgis", "dispose_engines", "list_layers_pg", "mask_url",
    "project_crs_pg", "read_layer_pg", "read_project_pg", "read_scalar", "write_layers_pg",
]

def read_scalar(url: Url, statement: sa.TextClause, params: Mapping[str, Any]) -> Any:
    """The first value of one read-only statement, on a pooled connection in autocommit
    mode: no ``BEGIN`` and ``COMMIT`` round trips, for the reads made on every request
    (the store's state, a vector tile). Database errors are raised as they are: callers
    fall back to :func:`~beatgrid.gis.io.pg_connect.transaction`, which explains them.

    Examples
    --------
    >>> read_scalar("postgresql://u@127.0.0.1:1/none", sa.text("SELECT 1"), {})
    Traceback (most recent call last):
    ...
    sqlalchemy.exc.OperationalError: ...
    """
    with engine_for(url).connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        return conn.execute(statement, params).scalar()


#: The PostgreSQL schema of a project unless told otherwise.
DEFAULT_SCHEMA = "beatgrid"
#: Default CRS of a project that does not record one.
DEFAULT_EPSG = 4490


class PostGISStore:
    """A BeatGrid project kept in one schema of a PostGIS database.

    Parameters
    ----------
    url
        SQLAlchemy URL or Engine of the database (nothing is connected until used).
    schema
        The PostgreSQL schema holding the project (created by the first write).
    lock_timeout_s
        Seconds a writer waits for the project's lock (:meth:`locked`) before giving up.
    settings
        The ``core`` settings the writes are validated with (default the shipped ones).
    pool_size
        Database connections kept open for reuse (``[store] pg_pool_size``); applies
        when this process first opens the URL.

    Raises
    ------
    InputError
        ``schema`` is not a plain identifier (lower-case letters, digits, ``_``).

    Examples
    --------
    >>> PostGISStore("postgresql://u@h/d", schema="Jiangbei")
    Traceback (most recent call last):
    ...
    beatgrid.gis.errors.InputError: invalid PostgreSQL schema name 'Jiangbei' Fix: use lower-case letters, digits and _ (e.g. 'beatgrid')
    """

    def __init__(self, url: Url, *, schema: str = DEFAULT_SCHEMA,
                 lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S,
                 settings: Mapping[str, Any] | None = None,
                 pool_size: int = DEFAULT_POOL_SIZE) -> None:
        self.url = url
        self.settings = settings
        self.schema = check_schema_name(schema)
        engine_for(url, pool_size=pool_size)  # the pool as the settings say, made once
        self.lock_timeout_s = lock_timeout_s
        self._edit_lock: AdvisoryLock | None = None
        self._records: Records | None = None
        self._meta_seen = False  # beatgrid_meta was there at the last state()

    @property
    def records(self) -> Records:
        """The service tables in the project's schema (``beatgrid db upgrade`` makes them)."""
        if self._records is None:
            self._records = Records(engine_for(self.url), schema=self.schema, lock=self.locked,
                                    location=self.location)
        return self._records

    def locked(self) -> AdvisoryLock:
        """The project's lock, to hold from a read to the write that depends on it.

        A session advisory lock of its own (each write also takes a per-transaction
        lock), re-entrant in one thread; two read-change-write sections never
        interleave, in one process or on several machines.
        """
        if self._edit_lock is None:
            self._edit_lock = AdvisoryLock(engine_for(self.url), key=f"beatgrid-edit:{self.schema}",
                                           location=self.location,
                                           timeout_s=self.lock_timeout_s)
        return self._edit_lock

    def __repr__(self) -> str:
        return f"PostGISStore({mask_url(self.url)!r}, schema={self.schema!r})"

    def _transaction(self, action: str) -> AbstractContextManager[sa.engine.Connection]:
        return transaction(self.url, action=f"{action} {self.schema}")

    # -- what is there ---------------------------------------------------------------
    @property
    def location(self) -> str:
        """The URL (password masked) and the schema.

        Examples
        --------
        >>> PostGISStore("postgresql://planner:pw@db/beatgrid", schema="jiangbei").location
        'postgresql://planner:***@db/beatgrid (schema jiangbei)'
        """
        return f"{mask_url(self.url)} (schema {self.schema})"

    def exists(self) -> bool:
        """Whether the schema holds a BeatGrid project (its metadata or a layer table)."""
        with self._transaction("reading") as conn:
            present = pg_tables.tables(conn, self.schema)
        return META_TABLE in present or any(n in present for n in bg_schema.LAYER_ORDER)

    def list_layers(self) -> list[str]:
        """Names of the schema layers stored, in :data:`~beatgrid.gis.schema.LAYER_ORDER`."""
        with self._transaction("listing") as conn:
            present = pg_tables.tables(conn, self.schema)
        return [name for name in bg_schema.LAYER_ORDER if name in present]

    def crs(self) -> int:
        """EPSG code of the stored layers (4490 when not recorded)."""
        with self._transaction("reading") as conn:
            return self._crs(conn)

    def _crs(self, conn: sa.engine.Connection, present: set[str] | None = None) -> int:
        return int(pg_tables.read_meta(conn, self.schema, present).get("crs_epsg",
                                                                       DEFAULT_EPSG))

    def meta(self) -> dict[str, str]:
        """The ``beatgrid_meta`` key/value table (empty when there is no project)."""
        with self._transaction("reading") as conn:
            return pg_tables.read_meta(conn, self.schema)

    def imports(self) -> pd.DataFrame:
        """The import log: one row per import (layer, source, coords, rows, mode, time)."""
        with self._transaction("reading") as conn:
            return pg_tables.read_imports(conn, self.schema)

    def info(self) -> pd.DataFrame:
        """Per layer stored: ``layer``, ``features``, ``geometry``, ``crs`` and the extent."""
        with self._transaction("reading") as conn:
            present = pg_tables.tables(conn, self.schema)
            rows = [{"layer": name, **pg_tables.table_info(conn, self.schema, name)}
                    for name in bg_schema.LAYER_ORDER if name in present]
        return pd.DataFrame(rows)

    def state(self) -> Hashable:
        """The location and the write version, bumped in every write transaction.

        Asked once per request by the service, so it is one statement in autocommit mode
        (:func:`read_scalar`) once the metadata table is known to exist; the first call,
        and any call after that statement failed, reads with the two statements below.
        """
        if self._meta_seen:
            try:
                version = read_scalar(self.url, sa.text(
                    f"SELECT value FROM {pg_tables.quote_table(self.schema, META_TABLE)} "
                    "WHERE key = :k"), {"k": pg_tables.VERSION_KEY})
                return (self.location, version)
            except sa.exc.DBAPIError:  # dropped meanwhile, or the server is gone
                self._meta_seen = False
        with self._transaction("reading") as conn:  # one indexed row: cheap per request
            found = conn.execute(sa.text("SELECT to_regclass(:t)"), {
                "t": pg_tables.quote_table(self.schema, META_TABLE)}).scalar()
            version = None if found is None else conn.execute(sa.text(
                f"SELECT value FROM {pg_tables.quote_table(self.schema, META_TABLE)} "
                "WHERE key = :k"), {"k": pg_tables.VERSION_KEY}).scalar()
        self._meta_seen = found is not None
        return (self.location, version)

    # -- reading ---------------------------------------------------------------------
    def _read(self, conn: sa.engine.Connection, name: str, present: set[str], *,
              bbox: BBox | None = None) -> Frame:
        spec = bg_schema.get_spec(name)
        epsg = self._crs(conn, present)
        if name not in present:
            return bg_schema.empty_layer(name, crs=epsg)
        df = pg_tables.read_table(conn, self.schema, name, spatial=spec.spatial,
                                  default_crs=epsg, bbox=bbox)
        out, _problems = bg_schema.conform_layer(df, name)
        return out

    def read_layer(self, name: str, *, bbox: BBox | None = None) -> Frame:
        """One layer, conformed to the schema (types, defaults), rows in the order written.

        Parameters
        ----------
        name
            Layer name; an unknown name raises :class:`InputError`; a schema layer that
            has no table yet reads as an empty frame with the schema's columns.
        bbox
            ``(minlon, minlat, maxlon, maxlat)`` in the project CRS: the features that
            intersect it.
        """
        bg_schema.get_spec(name)
        with self._transaction(f"reading {name} of") as conn:
            return self._read(conn, name, pg_tables.tables(conn, self.schema), bbox=bbox)

    def read_layers(self, names: Sequence[str] | None = None) -> dict[str, Frame]:
        """Several layers (default: every schema layer), read in one transaction."""
        wanted = list(names) if names is not None else list(bg_schema.LAYER_ORDER)
        for name in wanted:
            bg_schema.get_spec(name)
        with self._transaction("reading") as conn:
            present = pg_tables.tables(conn, self.schema)
            return {name: self._read(conn, name, present) for name in wanted}

    def snapshot(self) -> tuple[int, dict[str, Frame]]:
        """The project CRS and every schema layer, read in one transaction.

        Raises
        ------
        NotFoundError
            The schema holds no BeatGrid project.
        """
        with self._transaction("reading") as conn:
            present = pg_tables.tables(conn, self.schema)
            if not any(name in present for name in bg_schema.LAYER_ORDER):
                raise NotFoundError(
                    f"no BeatGrid project in schema {self.schema!r} of {mask_url(self.url)}",
                    fix="check the schema name, or copy a project in with "
                        "copy_project_to_postgis")
            return self._crs(conn, present), {name: self._read(conn, name, present)
                                              for name in bg_schema.LAYER_ORDER}

    # -- writing ---------------------------------------------------------------------
    def _lock(self, conn: sa.engine.Connection) -> set[str]:
        """One writer per project at a time (held until commit or rollback); the tables."""
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"),
                     {"k": f"beatgrid:{self.schema}"})
        conn.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {pg_tables.quote(self.schema)}"))
        return pg_tables.tables(conn, self.schema)

    def _write_layer(self, conn: sa.engine.Connection, name: str, df: Frame, epsg: int) -> None:
        spec = bg_schema.get_spec(name)
        frame = df.copy()
        for col in spec.columns:
            if col.dtype == "str" and col.name in frame.columns:
                frame[col.name] = frame[col.name].astype(object)
        dtype = {c.name: pg_tables.SQL_TYPES[c.dtype] for c in spec.columns}
        pg_tables.write_table(conn, self.schema, name, frame, epsg=epsg, dtype=dtype,
                              geometry_type=stored_geometry_type(spec) if spec.spatial
                              else None)

    def create(self, *, crs: int = DEFAULT_EPSG, overwrite: bool = False) -> None:
        """Create an empty project (every schema layer as an empty table) in the schema.

        Raises
        ------
        InputError
            ``crs`` is not a storage CRS, or the schema holds a project and
            ``overwrite`` is False (with it, the BeatGrid tables are replaced; other
            tables of the schema are kept).
        """
        check_storage_crs(crs)
        with self._transaction("creating") as conn:
            present = self._lock(conn)
            if META_TABLE in present or any(n in present for n in bg_schema.LAYER_ORDER):
                if not overwrite:
                    raise InputError(f"project {self.location!r} already exists",
                                     fix="choose another schema, or pass overwrite=True")
                pg_tables.drop_tables(conn, self.schema, [*bg_schema.LAYER_ORDER,
                                                          *DERIVED_LAYERS, META_TABLE,
                                                          IMPORTS_TABLE])
            pg_tables.write_meta(conn, self.schema, {
                "schema_version": SCHEMA_VERSION, "crs_epsg": crs, "created_at": utc_now()})
            for name in bg_schema.LAYER_ORDER:
                self._write_layer(conn, name, bg_schema.empty_layer(name, crs=crs), crs)
            pg_tables.bump_version(conn, self.schema)

    def write_layers(self, layers: Mapping[str, Frame], *, append: bool = False,
                     validate: bool = True, meta: Mapping[str, Any] | None = None,
                     crs: int | None = None) -> dict[str, int]:
        """Write layers in one transaction, all or nothing.

        Each layer is conformed to the schema (defaults, types, repaired geometries)
        and reprojected to the project CRS; with ``validate`` the references between the
        new layers and the layers already stored are checked too. Any error raises
        :class:`ValidationError` listing every problem, and nothing is written (not even
        the schema). Then all layers are written in one transaction (a layer replaces its
        table unless ``append``); a failure half-way rolls everything back.

        Parameters
        ----------
        layers
            Layer name to frame (GeoDataFrame; DataFrame for ``staff``).
        append
            Add the rows to the stored ones instead of replacing them; ids must stay unique.
        validate
            Refuse the write when the project would have errors (dangling references).
        meta
            Import record to log in ``beatgrid_imports`` (keys ``source``, ``coords``).
        crs
            Project CRS (4490 or 4326) to store in; by default the one already recorded,
            else the first layer's, else 4490. Giving it re-records the project CRS: give
            every layer then (:func:`copy_project_to_postgis` does).

        Returns
        -------
        dict
            Rows stored per layer written.

        Raises
        ------
        ValidationError
            Every problem at once; the database is unchanged.
        DatabaseError
            The database cannot be reached or used (URL with password masked, and the fix).
        """
        for name in layers:
            bg_schema.get_spec(name)
        if crs is not None:
            check_storage_crs(crs)
        with self._transaction("writing") as conn:
            present = self._lock(conn)
            stored_meta = pg_tables.read_meta(conn, self.schema, present)
            epsg = crs or int(stored_meta.get("crs_epsg", 0)) or first_storage_epsg(layers) \
                or DEFAULT_EPSG

            def read_stored(name: str) -> Frame:
                stored = self._read(conn, name, present)
                if isinstance(stored, gpd.GeoDataFrame) and stored.crs is not None \
                        and stored.crs.to_epsg() != epsg:
                    stored = stored.to_crs(epsg)
                return stored

            prepared = prepare_write(layers, epsg=epsg, append=append, validate=validate,
                                     settings=self.settings,
                                     read_stored=read_stored)  # refused: rolls back
            pg_tables.write_meta(conn, self.schema, {
                "schema_version": SCHEMA_VERSION, "crs_epsg": epsg, "updated_at": utc_now()})
            for name, df in prepared.items():
                self._write_layer(conn, name, df, epsg)
            if meta is not None:
                pg_tables.append_imports(conn, self.schema, import_log_rows(
                    meta, layers, append=append))  # one row per layer, in the order given
            pg_tables.bump_version(conn, self.schema)
            return {name: int(len(df)) for name, df in prepared.items()}

    # -- derived layers --------------------------------------------------------------
    def write_derived(self, layers: Mapping[str, Frame]) -> None:
        """Write derived layers (:data:`~beatgrid.gis.io.writing.DERIVED_LAYERS`) in one transaction."""
        check_derived_names(layers)
        with self._transaction("writing") as conn:
            present = self._lock(conn)
            stored = pg_tables.read_meta(conn, self.schema, present).get("crs_epsg")
            epsg = derived_epsg(int(stored) if stored is not None else None, layers)
            for name, df in layers.items():
                frame, gtype = prepare_derived(name, df, epsg)
                pg_tables.write_table(conn, self.schema, name, frame, geometry_type=gtype,
                                      epsg=epsg)
            pg_tables.bump_version(conn, self.schema)

    def read_derived(self, name: str) -> Frame:
        """One derived layer; :class:`~beatgrid.gis.errors.NotFoundError` when absent."""
        with self._transaction("reading") as conn:
            present = pg_tables.tables(conn, self.schema)
            if name not in DERIVED_LAYERS or name not in present:
                raise NotFoundError(f"{self.location!r} has no layer {name!r}",
                                    fix="run `beatgrid coverage` (or `beatgrid cameras "
                                        "recommend`) first")
            return pg_tables.read_table(conn, self.schema, name,
                                        spatial=DERIVED_LAYERS[name] is not None,
                                        default_crs=self._crs(conn, present), simple=False)

    def list_derived(self) -> list[str]:
        """The derived layers present."""
        with self._transaction("listing") as conn:
            present = pg_tables.tables(conn, self.schema)
        return [n for n in DERIVED_LAYERS if n in present]


# --------------------------------------------------------------------------------------
# GeoPackage <-> PostGIS
# --------------------------------------------------------------------------------------

def copy_project_to_postgis(gpkg_path: str | Path, url: Url, *,
                            schema: str = DEFAULT_SCHEMA) -> dict[str, int]:
    """Copy every layer of a GeoPackage project into ``schema``, replacing what was there.

    The project CRS is kept. Layers absent from the GeoPackage are stored empty, so
    the database mirrors the file. One transaction (:meth:`PostGISStore.write_layers`).

    Returns
    -------
    dict
        Rows stored per layer.

    Examples
    --------
    >>> copy_project_to_postgis("no-such.gpkg", "postgresql://u@h/d")
    Traceback (most recent call last):
    ...
    beatgrid.gis.errors.NotFoundError: project 'no-such.gpkg' does not exist Fix: create it with `beatgrid sample --out` or `beatgrid import`
    """
    target = PostGISStore(url, schema=schema)
    crs, layers = GeoPackageStore(gpkg_path).snapshot()
    return target.write_layers(layers, crs=crs)


def copy_postgis_to_project(url: Url, gpkg_path: str | Path, *, schema: str = DEFAULT_SCHEMA,
                            overwrite: bool = False) -> Path:
    """Copy the project stored in ``schema`` into a GeoPackage (created when missing).

    The layers are read in one transaction; an existing GeoPackage is only written
    with ``overwrite`` (its layers are then replaced, transactionally).

    Returns
    -------
    Path
        The GeoPackage.

    Examples
    --------
    >>> copy_postgis_to_project("postgresql://u@h/d", "sample-geodata/ningbo-jiangbei.gpkg")
    Traceback (most recent call last):
    ...
    beatgrid.gis.errors.InputError: project 'sample-geodata/ningbo-jiangbei.gpkg' already exists Fix: choose another path, or pass overwrite=True (--overwrite)
    """
    target = GeoPackageStore(gpkg_path)
    if target.exists() and not overwrite:
        raise InputError(f"project {str(target.path)!r} already exists",
                         fix="choose another path, or pass overwrite=True (--overwrite)")
    _crs, layers = PostGISStore(url, schema=schema).snapshot()
    created = not target.exists()
    try:
        target.write_layers(layers)
    except BaseException:
        if created:  # a refused copy leaves no new file behind
            target.path.unlink(missing_ok=True)
        raise
    return target.path


# --------------------------------------------------------------------------------------
# Shorthands: one store call each
# --------------------------------------------------------------------------------------

def write_layers_pg(url: Url, layers: Mapping[str, Frame], *, schema: str = DEFAULT_SCHEMA,
                    append: bool = False, validate: bool = True,
                    crs: int | None = None) -> dict[str, int]:
    """``PostGISStore(url, schema=schema).write_layers(layers, ...)``: rows stored per layer."""
    return PostGISStore(url, schema=schema).write_layers(layers, append=append,
                                                         validate=validate, crs=crs)


def read_layer_pg(url: Url, layer: str, *, schema: str = DEFAULT_SCHEMA) -> Frame:
    """``PostGISStore(url, schema=schema).read_layer(layer)``."""
    return PostGISStore(url, schema=schema).read_layer(layer)


def read_project_pg(url: Url, layers: Sequence[str] | None = None, *,
                    schema: str = DEFAULT_SCHEMA) -> dict[str, Frame]:
    """``PostGISStore(url, schema=schema).read_layers(layers)``."""
    return PostGISStore(url, schema=schema).read_layers(layers)


def list_layers_pg(url: Url, *, schema: str = DEFAULT_SCHEMA) -> list[str]:
    """``PostGISStore(url, schema=schema).list_layers()``."""
    return PostGISStore(url, schema=schema).list_layers()


def project_crs_pg(url: Url, *, schema: str = DEFAULT_SCHEMA) -> int:
    """``PostGISStore(url, schema=schema).crs()``."""
    return PostGISStore(url, schema=schema).crs()
