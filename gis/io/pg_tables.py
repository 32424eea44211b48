"""Tables of a BeatGrid project in a PostgreSQL schema: read and write them on a connection.

The storage half of :class:`~beatgrid.gis.io.postgis.PostGISStore`. Every function
takes an open connection (:func:`beatgrid.gis.io.pg_connect.transaction`), so a store
call runs them all in one transaction.

A table has a ``fid`` bigint primary key (the row order), typed columns and, for
spatial layers, a ``geometry`` column of the declared type (``MultiPolygon``,
``MultiLineString`` or ``Point``, as in the GeoPackage) with the project SRID and a
GiST index; QGIS opens the tables as they are. Spatial frames go through
:meth:`geopandas.GeoDataFrame.to_postgis` (GeoAlchemy2), tables through
:meth:`pandas.DataFrame.to_sql`. Beside the layers: ``beatgrid_meta`` (key/value:
schema version, CRS, times and the write ``version`` that :meth:`PostGISStore.state`
reads) and ``beatgrid_imports`` (the import log).

Examples
--------
>>> quote_table("beatgrid", "staff")
'"beatgrid"."staff"'
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa

from beatgrid.gis.io.pg_connect import quote
from beatgrid.gis.io.writing import (IMPORT_COLUMNS, IMPORTS_TABLE, META_TABLE, BBox, Frame,
                                     single_parts)

#: The primary key column of every table (the row order).
FID = "fid"
#: The geometry column of every spatial table.
GEOMETRY = "geometry"
#: Schema column type -> SQL type.
SQL_TYPES: dict[str, Any] = {"str": sa.Text, "int": sa.BigInteger,
                             "float": sa.Float(precision=53), "bool": sa.Boolean,
                             "datetime": sa.DateTime}
#: Write version key of ``beatgrid_meta`` (bumped by every write).
VERSION_KEY = "version"
_GEOMETRY_NAMES = {t.upper(): t for t in ("Point", "LineString", "Polygon", "MultiPoint",
                                          "MultiLineString", "MultiPolygon",
                                          "GeometryCollection", "Geometry")}


def quote_table(schema: str, table: str) -> str:
    """``"schema"."table"``.

    Examples
    --------
    >>> quote_table("t", 'a"b')
    '"t"."a""b"'
    """
    return f"{quote(schema)}.{quote(table)}"


def tables(conn: sa.engine.Connection, schema: str) -> set[str]:
    """The tables of ``schema`` (empty when the schema does not exist)."""
    rows = conn.execute(sa.text(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = :s"),
        {"s": schema}).scalars()
    return {str(r) for r in rows}


def geometry_column(conn: sa.engine.Connection, schema: str, table: str
                    ) -> tuple[str, int, str] | None:
    """``(column, srid, type)`` of the geometry of ``table``, or None for a table without one."""
    row = conn.execute(sa.text(
        "SELECT f_geometry_column, srid, type FROM geometry_columns "
        "WHERE f_table_schema = :s AND f_table_name = :t ORDER BY f_geometry_column LIMIT 1"),
        {"s": schema, "t": table}).first()
    return None if row is None else (str(row[0]), int(row[1]), str(row[2]))


def geometry_type_name(sql_type: str) -> str:
    """PostGIS's ``MULTIPOLYGON`` as OGR names it (``MultiPolygon``).

    Examples
    --------
    >>> geometry_type_name("MULTILINESTRING")
    'MultiLineString'
    """
    return _GEOMETRY_NAMES.get(sql_type.upper(), sql_type)


# --------------------------------------------------------------------------------------
# Metadata and the import log
# --------------------------------------------------------------------------------------

def read_meta(conn: sa.engine.Connection, schema: str, present: set[str] | None = None
              ) -> dict[str, str]:
    """The key/value metadata (empty when there is none)."""
    if META_TABLE not in (tables(conn, schema) if present is None else present):
        return {}
    rows = conn.execute(sa.text(f"SELECT key, value FROM {quote_table(schema, META_TABLE)}"))
    return {str(k): str(v) for k, v in rows}


def write_meta(conn: sa.engine.Connection, schema: str, values: Mapping[str, Any]) -> None:
    """Set metadata keys (the table is created when missing)."""
    table = quote_table(schema, META_TABLE)
    conn.execute(sa.text(
        f"CREATE TABLE IF NOT EXISTS {table} (key text PRIMARY KEY, value text NOT NULL)"))
    for key, value in values.items():
        conn.execute(sa.text(
            f"INSERT INTO {table} (key, value) VALUES (:k, :v) "
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"),
            {"k": key, "v": str(value)})


def bump_version(conn: sa.engine.Connection, schema: str) -> None:
    """Add one to the write version (in the writing transaction: readers see it at commit)."""
    table = quote_table(schema, META_TABLE)
    conn.execute(sa.text(
        f"CREATE TABLE IF NOT EXISTS {table} (key text PRIMARY KEY, value text NOT NULL)"))
    conn.execute(sa.text(
        f"INSERT INTO {table} AS m (key, value) VALUES (:k, '1') "
        "ON CONFLICT (key) DO UPDATE SET value = (CAST(m.value AS bigint) + 1)::text"),
        {"k": VERSION_KEY})


def read_imports(conn: sa.engine.Connection, schema: str, present: set[str] | None = None
                 ) -> pd.DataFrame:
    """The import log, oldest first."""
    if IMPORTS_TABLE not in (tables(conn, schema) if present is None else present):
        return pd.DataFrame(columns=list(IMPORT_COLUMNS))
    columns = ", ".join(quote(c) for c in IMPORT_COLUMNS)
    return pd.read_sql(sa.text(f"SELECT {columns} FROM {quote_table(schema, IMPORTS_TABLE)} "
                               f"ORDER BY {quote(FID)}"), conn)


def append_imports(conn: sa.engine.Connection, schema: str,
                   rows: Sequence[Mapping[str, Any]]) -> None:
    """Add rows to the import log (the table is created when missing)."""
    table = quote_table(schema, IMPORTS_TABLE)
    conn.execute(sa.text(
        f"CREATE TABLE IF NOT EXISTS {table} ({quote(FID)} bigserial PRIMARY KEY, "
        "layer text, source text, coords text, rows bigint, mode text, imported_at text)"))
    columns = ", ".join(quote(c) for c in IMPORT_COLUMNS)
    values = ", ".join(f":{c}" for c in IMPORT_COLUMNS)
    for row in rows:
        conn.execute(sa.text(f"INSERT INTO {table} ({columns}) VALUES ({values})"),
                     {c: row.get(c) for c in IMPORT_COLUMNS})


# --------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------

def read_table(conn: sa.engine.Connection, schema: str, table: str, *, spatial: bool,
               default_crs: int, bbox: BBox | None = None, simple: bool = True) -> Frame:
    """A table in ``fid`` order without ``fid``.

    Parameters
    ----------
    spatial
        Read the geometry (a GeoDataFrame) when the table has one.
    simple
        Make one-part Multi* geometries simple (as for the project layers).
    default_crs
        CRS of a geometry column without SRID.
    bbox
        Keep the features whose geometry intersects this box (in the table's SRID).
    """
    columns = set(conn.execute(sa.text(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = :s AND table_name = :t"), {"s": schema, "t": table}).scalars())
    order = f" ORDER BY {quote(FID)}" if FID in columns else ""
    geom_info = geometry_column(conn, schema, table) if spatial else None
    where, params = "", {}
    if geom_info is not None and bbox is not None:
        where = (f" WHERE ST_Intersects({quote(geom_info[0])}, "
                 "ST_MakeEnvelope(:x0, :y0, :x1, :y1, :srid))")
        params = {"x0": bbox[0], "y0": bbox[1], "x1": bbox[2], "y1": bbox[3],
                  "srid": geom_info[1] if geom_info[1] > 0 else default_crs}
    sql = sa.text(f"SELECT * FROM {quote_table(schema, table)}{where}{order}")
    df: Frame
    if geom_info is not None:
        geom_col, srid, _ = geom_info
        df = gpd.read_postgis(sql.bindparams(**params) if params else sql, conn,
                              geom_col=geom_col, crs=srid if srid > 0 else default_crs)
        if geom_col != GEOMETRY:
            df = df.rename_geometry(GEOMETRY)
        if simple:
            df = single_parts(df)
    else:
        df = pd.read_sql(sql, conn)
    if FID in df.columns:
        df = df.drop(columns=FID)
    return df.reset_index(drop=True)


def _multi(frame: gpd.GeoDataFrame, geometry_type: str) -> gpd.GeoDataFrame:
    """Simple polygons / lines promoted to their Multi* type (as the column is declared)."""
    if not geometry_type.startswith("Multi"):
        return frame
    geom = np.asarray(frame.geometry.array, dtype=object)
    single = shapely.get_type_id(geom) == (3 if geometry_type == "MultiPolygon" else 1)
    if not single.any():
        return frame
    promoted = geom.copy()
    make = shapely.multipolygons if geometry_type == "MultiPolygon" else shapely.multilinestrings
    promoted[single] = make(geom[single][:, None])
    return frame.set_geometry(gpd.GeoSeries(promoted, index=frame.index, crs=frame.crs))


def write_table(conn: sa.engine.Connection, schema: str, name: str, df: Frame, *,
                geometry_type: str | None, epsg: int,
                dtype: Mapping[str, Any] | None = None) -> None:
    """Replace table ``name`` by ``df``: ``fid`` key, declared geometry type and SRID, GiST index.

    Parameters
    ----------
    geometry_type
        ``MultiPolygon``, ``MultiLineString`` or ``Point``; None for a table without
        geometry.
    epsg
        SRID of the geometry column.
    dtype
        SQL types of some columns (the others are inferred).
    """
    table = quote_table(schema, name)
    frame = df.reset_index(drop=True).drop(columns=[FID], errors="ignore")  # fid is ours
    if geometry_type is not None:
        frame = _multi(frame, geometry_type)
    frame.index.name = FID
    frame = frame.reset_index()  # fid becomes the first column (no extra pandas index)
    types = {k: v for k, v in (dtype or {}).items() if k in frame.columns}
    types[FID] = sa.BigInteger
    conn.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        if geometry_type is not None:
            frame.to_postgis(name, conn, schema=schema, if_exists="fail", index=False,
                             dtype=types)
        else:
            pd.DataFrame(frame).to_sql(name, conn, schema=schema, if_exists="fail",
                                       index=False, dtype=types)
    conn.execute(sa.text(f"ALTER TABLE {table} ADD PRIMARY KEY ({quote(FID)})"))
    if geometry_type is None:
        return
    # Declared type and SRID, whatever the rows held (an empty layer is GEOMETRY otherwise)
    info = geometry_column(conn, schema, name)
    assert info is not None  # to_postgis wrote a geometry column
    _, srid, gtype = info
    if gtype.upper() != geometry_type.upper() or srid != epsg:
        using = f"ST_Multi({quote(GEOMETRY)})" if geometry_type.startswith("Multi") \
            else quote(GEOMETRY)
        conn.execute(sa.text(
            f"ALTER TABLE {table} ALTER COLUMN {quote(GEOMETRY)} "
            f"TYPE geometry({geometry_type}, {int(epsg)}) USING ST_SetSRID({using}, {int(epsg)})"))
    has_gist = conn.execute(sa.text(
        "SELECT EXISTS (SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "JOIN pg_am a ON a.oid = c.relam WHERE i.indrelid = CAST(:t AS regclass) "
        "AND a.amname = 'gist')"), {"t": table}).scalar()
    if not has_gist:
        conn.execute(sa.text(
            f"CREATE INDEX {quote('idx_' + name + '_geometry')} ON {table} "
            f"USING GIST ({quote(GEOMETRY)})"))


def drop_tables(conn: sa.engine.Connection, schema: str, names: Sequence[str]) -> None:
    """Drop the named tables of ``schema`` that exist."""
    present = tables(conn, schema)
    for name in names:
        if name in present:
            conn.execute(sa.text(f"DROP TABLE {quote_table(schema, name)}"))


def table_info(conn: sa.engine.Connection, schema: str, name: str) -> dict[str, Any]:
    """``features``, ``geometry``, ``crs`` and extent of a table (as ``project_info`` lists)."""
    table = quote_table(schema, name)
    geom = geometry_column(conn, schema, name)
    if geom is None:
        count = conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()
        return {"features": int(count or 0), "geometry": "(table)", "crs": "",
                "xmin": np.nan, "ymin": np.nan, "xmax": np.nan, "ymax": np.nan}
    column, srid, gtype = geom
    g = quote(column)
    row = conn.execute(sa.text(
        f"SELECT count(*), ST_XMin(ST_Extent({g})), ST_YMin(ST_Extent({g})), "
        f"ST_XMax(ST_Extent({g})), ST_YMax(ST_Extent({g})) FROM {table}")).one()
    bounds = [np.nan if v is None else float(v) for v in row[1:]]
    return {"features": int(row[0]), "geometry": geometry_type_name(gtype),
            "crs": f"EPSG:{srid}" if srid > 0 else "", "xmin": bounds[0], "ymin": bounds[1],
            "xmax": bounds[2], "ymax": bounds[3]}
