"""The multi-user server store: a BeatGrid project in a PostgreSQL/PostGIS schema.

Same shape as the GeoPackage store of :mod:`beatgrid.gis.io.project`: one table per
layer of :mod:`beatgrid.gis.schema` in one PostgreSQL schema (default ``beatgrid``),
plus a key/value table ``beatgrid_meta`` (schema version, CRS). Several people can
read and write the same project; QGIS opens the tables as they are (each has a
``fid`` primary key and a GiST index on ``geometry``).

Writes are transactional: every layer of one call is conformed and validated first,
then written in ONE SQLAlchemy transaction, under a per-schema advisory lock so that
two writers never interleave; on any error nothing changes. Spatial layers go
through :meth:`geopandas.GeoDataFrame.to_postgis` (GeoAlchemy2), the ``staff`` table
through :meth:`pandas.DataFrame.to_sql`. Polygon and line layers are stored as
``MultiPolygon`` / ``MultiLineString`` with the project SRID (as in the GeoPackage)
and read back as simple geometries where they have one part.

``url`` is an SQLAlchemy URL (``postgresql+psycopg://user:password@host:5432/db``;
``postgresql://`` and ``postgres://`` are taken to mean psycopg 3) or an
:class:`sqlalchemy.engine.Engine`. An unreachable server or a malformed URL raises
:class:`DatabaseError`, naming the URL with its password masked and the fix.

Examples
--------
>>> mask_url("postgresql+psycopg://planner:s3cret@db.example:5432/beatgrid")
'postgresql+psycopg://planner:***@db.example:5432/beatgrid'
>>> write_layers_pg("postgresql://planner@127.0.0.1:1/none", {})  # doctest: +SKIP
Traceback (most recent call last):
DatabaseError: cannot connect to the PostGIS database postgresql+psycopg://planner@127.0.0.1:1/none ...
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import threading
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from beatgrid.gis import schema as bg_schema
from beatgrid.gis.errors import (BeatGridError, ConflictError, InputError, NotFoundError,
                                 StoreUnavailableError, ValidationError)

__all__ = [
    "DEFAULT_SCHEMA", "DatabaseError", "mask_url", "write_layers_pg", "read_layer_pg",
    "read_project_pg", "list_layers_pg", "project_crs_pg", "copy_project_to_postgis",
    "copy_postgis_to_project", "dispose_engines",
]

DEFAULT_SCHEMA = "beatgrid"
SCHEMA_VERSION = "1"
META_TABLE = "beatgrid_meta"
FID = "fid"
GEOMETRY = "geometry"
CONNECT_TIMEOUT_S = 10

_STORED_TYPE = {"Polygon": "MultiPolygon", "MultiPolygon": "MultiPolygon",
                "LineString": "MultiLineString", "MultiLineString": "MultiLineString",
                "Point": "Point"}
_SQL_TYPES = {"str": sa.Text, "int": sa.BigInteger, "float": sa.Float(precision=53),
              "bool": sa.Boolean, "datetime": sa.DateTime}
_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_URL_FORMAT = "postgresql+psycopg://USER:PASSWORD@HOST:5432/DATABASE"


#: The PostGIS database cannot be used (server down, no PostGIS, no rights).
DatabaseError = StoreUnavailableError


# --------------------------------------------------------------------------------------
# URLs, engines, connections
# --------------------------------------------------------------------------------------

def mask_url(url) -> str:
    """``url`` as text with its password replaced by ``***`` (for messages and logs)."""
    if isinstance(url, sa.engine.Engine):
        url = url.url
    if isinstance(url, sa.engine.URL):
        return url.render_as_string(hide_password=True)
    text = str(url)
    try:
        return sa.engine.make_url(text).render_as_string(hide_password=True)
    except Exception:  # malformed: mask anything between "user:" and "@"
        return re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", text)


def _normalise_url(url: str) -> sa.engine.URL:
    try:
        parsed = sa.engine.make_url(url)
    except Exception as e:
        raise InputError(
            f"malformed database URL {mask_url(url)!r} ({e})",
            fix=f"give a URL like {_URL_FORMAT}") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if not parsed.drivername.startswith("postgresql"):
        raise InputError(
            f"database URL {mask_url(url)!r} is not a PostgreSQL URL",
            fix=f"give a URL like {_URL_FORMAT}")
    return parsed


_ENGINES: dict[str, sa.engine.Engine] = {}
_ENGINES_LOCK = threading.Lock()
_POSTGIS_CHECKED: set[str] = set()


def _engine(url) -> sa.engine.Engine:
    if isinstance(url, sa.engine.Engine):
        return url
    key = str(url)
    with _ENGINES_LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            parsed = _normalise_url(key)
            connect_args = {"connect_timeout": CONNECT_TIMEOUT_S,
                            "application_name": "beatgrid"}
            try:
                engine = sa.create_engine(parsed, pool_pre_ping=True,
                                          connect_args=connect_args)
            except (sa_exc.NoSuchModuleError, sa_exc.ArgumentError, ImportError) as e:
                raise InputError(
                    f"cannot use database URL {mask_url(key)!r}: {e}",
                    fix=f"use the psycopg 3 driver: {_URL_FORMAT}") from None
            _ENGINES[key] = engine
    return engine


def dispose_engines() -> None:
    """Close every pooled connection opened by this module (tests, shutdown)."""
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


def _translate(error: Exception, engine: sa.engine.Engine, *, action: str) -> Exception | None:
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
def _transaction(url, *, action: str):
    """A connection inside one transaction; connection problems become DatabaseError."""
    engine = _engine(url)
    try:
        with engine.begin() as conn:
            _check_postgis(conn, engine)
            yield conn
    except sa_exc.DBAPIError as e:
        translated = _translate(e, engine, action=action)
        if translated is None:
            raise
        raise translated from e


def _check_postgis(conn, engine) -> None:
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


def _check_schema_name(schema: str) -> str:
    if not isinstance(schema, str) or not _IDENT.match(schema):
        raise InputError(f"invalid PostgreSQL schema name {schema!r}",
                         fix="use lower-case letters, digits and _ (e.g. 'beatgrid')")
    return schema


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# --------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------

def _tables(conn, schema: str) -> set[str]:
    rows = conn.execute(sa.text(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = :s"),
        {"s": schema}).scalars()
    return set(rows)


def _geometry_column(conn, schema: str, table: str) -> tuple[str, int, str] | None:
    row = conn.execute(sa.text(
        "SELECT f_geometry_column, srid, type FROM geometry_columns "
        "WHERE f_table_schema = :s AND f_table_name = :t ORDER BY f_geometry_column LIMIT 1"),
        {"s": schema, "t": table}).first()
    return None if row is None else (row[0], int(row[1]), str(row[2]))


def _read_meta(conn, schema: str) -> dict:
    if META_TABLE not in _tables(conn, schema):
        return {}
    rows = conn.execute(sa.text(f"SELECT key, value FROM {_q(schema)}.{_q(META_TABLE)}"))
    return {k: v for k, v in rows}


def _project_crs(conn, schema: str) -> int:
    return int(_read_meta(conn, schema).get("crs_epsg", 4490))


def _single_parts(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One-part Multi* geometries (as stored) back to simple ones."""
    geom = gdf.geometry.array
    multi = np.isin(shapely.get_type_id(geom), (5, 6)) & (shapely.get_num_geometries(geom) == 1)
    if multi.any():
        values = np.asarray(geom, dtype=object).copy()
        values[multi] = shapely.get_geometry(values[multi], 0)
        gdf = gdf.set_geometry(gpd.GeoSeries(values, index=gdf.index, crs=gdf.crs))
    return gdf


def _read_layer(conn, schema: str, layer: str, tables: set[str] | None = None):
    spec = bg_schema.get_spec(layer)
    tables = _tables(conn, schema) if tables is None else tables
    if layer not in tables:
        return bg_schema.empty_layer(layer, crs=_project_crs(conn, schema))
    columns = set(conn.execute(sa.text(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = :s AND table_name = :t"), {"s": schema, "t": layer}).scalars())
    order = f" ORDER BY {_q(FID)}" if FID in columns else ""
    sql = sa.text(f"SELECT * FROM {_q(schema)}.{_q(layer)}{order}")
    geom_info = _geometry_column(conn, schema, layer) if spec.spatial else None
    if spec.spatial and geom_info is not None:
        geom_col, srid, _ = geom_info
        crs = srid if srid > 0 else _project_crs(conn, schema)
        df = gpd.read_postgis(sql, conn, geom_col=geom_col, crs=crs)
        if geom_col != GEOMETRY:
            df = df.rename_geometry(GEOMETRY)
        df = _single_parts(df)
    else:
        df = pd.read_sql(sql, conn)
    if FID in df.columns:
        df = df.drop(columns=FID)
    out, _problems = bg_schema.conform_layer(df.reset_index(drop=True), layer)
    return out


def read_layer_pg(url, layer: str, *, schema: str = DEFAULT_SCHEMA):
    """Read one layer from the PostGIS store, conformed to the schema (types, defaults).

    Parameters
    ----------
    url
        SQLAlchemy URL or Engine of the database.
    layer
        Layer name; an unknown name raises :class:`InputError`; a schema layer that
        has no table yet reads as an empty frame with the schema's columns.
    schema
        PostgreSQL schema holding the project.

    Returns
    -------
    GeoDataFrame (DataFrame for ``staff``), rows in the order they were written.
    """
    bg_schema.get_spec(layer)
    _check_schema_name(schema)
    with _transaction(url, action=f"reading {schema}.{layer}") as conn:
        return _read_layer(conn, schema, layer)


def read_project_pg(url, layers: list[str] | None = None, *, schema: str = DEFAULT_SCHEMA):
    """Read the given layers (default: every schema layer) into a dict of frames."""
    names = list(layers) if layers is not None else list(bg_schema.LAYER_ORDER)
    for name in names:
        bg_schema.get_spec(name)
    _check_schema_name(schema)
    with _transaction(url, action=f"reading {schema}") as conn:
        tables = _tables(conn, schema)
        return {name: _read_layer(conn, schema, name, tables) for name in names}


def list_layers_pg(url, *, schema: str = DEFAULT_SCHEMA) -> list[str]:
    """Names of the BeatGrid layers stored in ``schema``, in :data:`schema.LAYER_ORDER`."""
    _check_schema_name(schema)
    with _transaction(url, action=f"listing {schema}") as conn:
        present = _tables(conn, schema)
    return [name for name in bg_schema.LAYER_ORDER if name in present]


def project_crs_pg(url, *, schema: str = DEFAULT_SCHEMA) -> int:
    """EPSG code the project in ``schema`` stores its layers in (4490 when not recorded)."""
    _check_schema_name(schema)
    with _transaction(url, action=f"reading {schema}") as conn:
        return _project_crs(conn, schema)


# --------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------

def _storage_frame(df, spec) -> pd.DataFrame:
    """The frame as stored: fid index, object strings, Multi* geometries."""
    out = df.reset_index(drop=True).drop(columns=[FID], errors="ignore")  # fid is ours
    for col in spec.columns:
        if col.dtype == "str" and col.name in out.columns:
            out[col.name] = out[col.name].astype(object)
    if spec.spatial:
        target = {_STORED_TYPE[t] for t in spec.geometry_types}.pop()
        if target.startswith("Multi"):
            geom = np.asarray(out.geometry.array, dtype=object)
            single = shapely.get_type_id(geom) == (3 if target == "MultiPolygon" else 1)
            if single.any():
                promoted = geom.copy()
                make = shapely.multipolygons if target == "MultiPolygon" else \
                    shapely.multilinestrings
                promoted[single] = make(geom[single][:, None])
                out = out.set_geometry(gpd.GeoSeries(promoted, index=out.index, crs=out.crs))
    out.index.name = FID
    return out


def _write_one(conn, schema: str, name: str, df, epsg: int) -> None:
    spec = bg_schema.get_spec(name)
    table = f"{_q(schema)}.{_q(name)}"
    frame = _storage_frame(df, spec)
    frame = frame.reset_index()  # fid becomes the first column (no extra pandas index)
    dtype = {c.name: _SQL_TYPES[c.dtype] for c in spec.columns if c.name in frame.columns}
    dtype[FID] = sa.BigInteger
    conn.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        if spec.spatial:
            frame.to_postgis(name, conn, schema=schema, if_exists="fail", index=False,
                             dtype=dtype)
        else:
            pd.DataFrame(frame).to_sql(name, conn, schema=schema, if_exists="fail",
                                       index=False, dtype=dtype)
    conn.execute(sa.text(f"ALTER TABLE {table} ADD PRIMARY KEY ({_q(FID)})"))
    if not spec.spatial:
        return
    # Declared type and SRID, whatever the rows held (an empty layer is GEOMETRY otherwise)
    target = {_STORED_TYPE[t] for t in spec.geometry_types}.pop()
    _, srid, gtype = _geometry_column(conn, schema, name)
    if gtype.upper() != target.upper() or srid != epsg:
        using = f"ST_Multi({_q(GEOMETRY)})" if target.startswith("Multi") else _q(GEOMETRY)
        conn.execute(sa.text(
            f"ALTER TABLE {table} ALTER COLUMN {_q(GEOMETRY)} "
            f"TYPE geometry({target}, {int(epsg)}) USING ST_SetSRID({using}, {int(epsg)})"))
    has_gist = conn.execute(sa.text(
        "SELECT EXISTS (SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "JOIN pg_am a ON a.oid = c.relam WHERE i.indrelid = CAST(:t AS regclass) "
        "AND a.amname = 'gist')"), {"t": f"{_q(schema)}.{_q(name)}"}).scalar()
    if not has_gist:
        conn.execute(sa.text(
            f"CREATE INDEX {_q('idx_' + name + '_geometry')} ON {table} "
            f"USING GIST ({_q(GEOMETRY)})"))


def _write_meta(conn, schema: str, values: dict) -> None:
    table = f"{_q(schema)}.{_q(META_TABLE)}"
    conn.execute(sa.text(
        f"CREATE TABLE IF NOT EXISTS {table} (key text PRIMARY KEY, value text NOT NULL)"))
    for key, value in values.items():
        conn.execute(sa.text(
            f"INSERT INTO {table} (key, value) VALUES (:k, :v) "
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"),
            {"k": key, "v": str(value)})


def _first_crs(layers: dict) -> int | None:
    for df in layers.values():
        if isinstance(df, gpd.GeoDataFrame) and df.crs is not None:
            epsg = df.crs.to_epsg()
            if epsg in bg_schema.STORAGE_EPSG:
                return epsg
    return None


def write_layers_pg(url, layers: dict, *, schema: str = DEFAULT_SCHEMA, append: bool = False,
                    validate: bool = True, crs: int | None = None) -> dict[str, int]:
    """Write layers into the PostGIS store, all or nothing.

    Each layer is conformed to the schema (defaults, types, repaired geometries) and
    reprojected to the project CRS; with ``validate`` the references between the new
    layers and the layers already stored are checked too. Any error raises
    :class:`ValidationError` listing every problem, and nothing is written. Then all
    layers are written in one transaction (a layer replaces its table unless
    ``append``); a failure half-way rolls everything back.

    Parameters
    ----------
    url
        SQLAlchemy URL or Engine.
    layers
        Layer name to frame (GeoDataFrame; DataFrame for ``staff``).
    schema
        PostgreSQL schema of the project; created when missing.
    append
        Add the rows to the stored ones instead of replacing them; ids must stay unique.
    validate
        Refuse the write when references would dangle.
    crs
        Project CRS (4490 or 4326) to store in; by default the one already recorded,
        else the first layer's, else 4490. Giving it re-records the project CRS: give
        every layer then (``copy_project_to_postgis`` does).

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
    _check_schema_name(schema)
    for name in layers:
        bg_schema.get_spec(name)
    if crs is not None and crs not in bg_schema.STORAGE_EPSG:
        raise InputError(f"project CRS EPSG:{crs} is not a storage CRS",
                         fix="use 4490 (CGCS2000) or 4326 (WGS84)")
    with _transaction(url, action=f"writing {schema}") as conn:
        # One writer per project at a time: held until commit or rollback.
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"),
                     {"k": f"beatgrid:{schema}"})
        conn.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {_q(schema)}"))
        tables = _tables(conn, schema)
        meta = _read_meta(conn, schema)
        epsg = crs or int(meta.get("crs_epsg", 0)) or _first_crs(layers) or 4490
        prepared, problems = {}, []
        for name, df in layers.items():
            spec = bg_schema.get_spec(name)
            if spec.spatial and isinstance(df, gpd.GeoDataFrame) and df.crs is not None \
                    and df.crs.to_epsg() != epsg:
                df = df.to_crs(epsg)
            if append and name in tables:
                stored = _read_layer(conn, schema, name, tables)
                if spec.spatial and stored.crs is not None and stored.crs.to_epsg() != epsg:
                    stored = stored.to_crs(epsg)
                if len(stored):
                    df = pd.concat([stored, df], ignore_index=True)
                    if spec.spatial:
                        df = gpd.GeoDataFrame(df, geometry=GEOMETRY, crs=epsg)
            out, layer_problems = bg_schema.conform_layer(df, name)
            prepared[name] = out
            problems.extend(layer_problems)
        if validate:
            others = [n for n in bg_schema.LAYER_ORDER if n not in prepared]
            stored = {n: _read_layer(conn, schema, n, tables) for n in others if n in tables}
            problems.extend(bg_schema.check_references({**stored, **prepared}))
        if any(p.severity == "error" for p in problems):
            raise ValidationError(problems)  # rolls back (the schema creation too)
        bg_schema.warn_problems(problems)
        _write_meta(conn, schema, {"schema_version": SCHEMA_VERSION, "crs_epsg": epsg,
                                   "updated_at": _now()})
        for name in bg_schema.LAYER_ORDER:
            if name in prepared:
                _write_one(conn, schema, name, prepared[name], epsg)
        return {name: int(len(prepared[name])) for name in prepared}


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


# --------------------------------------------------------------------------------------
# GeoPackage <-> PostGIS
# --------------------------------------------------------------------------------------

def copy_project_to_postgis(gpkg_path, url, *, schema: str = DEFAULT_SCHEMA) -> dict[str, int]:
    """Copy every layer of a GeoPackage project into ``schema``, replacing what was there.

    The project CRS is kept. Layers absent from the GeoPackage are stored empty, so
    the database mirrors the file. Transactional like :func:`write_layers_pg`.

    Returns
    -------
    dict
        Rows stored per layer.
    """
    from beatgrid.gis.io.project import project_crs, read_project

    layers = read_project(gpkg_path)
    return write_layers_pg(url, layers, schema=schema, crs=project_crs(gpkg_path))


def copy_postgis_to_project(url, gpkg_path, *, schema: str = DEFAULT_SCHEMA,
                            overwrite: bool = False) -> Path:
    """Copy the project stored in ``schema`` into a GeoPackage (created when missing).

    An existing GeoPackage is only written with ``overwrite`` (its layers are then
    replaced, transactionally, by :func:`beatgrid.gis.io.project.write_layers`).

    Returns
    -------
    Path
        The GeoPackage.
    """
    from beatgrid.gis.io.project import create_project, write_layers

    path = Path(gpkg_path)
    if path.suffix.lower() != ".gpkg":
        raise InputError(f"project {str(path)!r} is not a GeoPackage",
                         fix="give a project path ending in .gpkg")
    if path.exists() and not overwrite:
        raise InputError(f"project {str(path)!r} already exists",
                         fix="choose another path, or pass overwrite=True (--overwrite)")
    _check_schema_name(schema)
    with _transaction(url, action=f"reading {schema}") as conn:
        tables = _tables(conn, schema)
        if not any(name in tables for name in bg_schema.LAYER_ORDER):
            raise NotFoundError(
                f"no BeatGrid project in schema {schema!r} of {mask_url(url)}",
                fix="check the schema name, or copy a project in with copy_project_to_postgis")
        epsg = _project_crs(conn, schema)
        layers = {name: _read_layer(conn, schema, name, tables)
                  for name in bg_schema.LAYER_ORDER}
    created = not path.exists()
    if created:
        create_project(path, crs=epsg)
    try:
        return write_layers(path, layers)
    except BaseException:
        if created:
            path.unlink(missing_ok=True)
        raise
