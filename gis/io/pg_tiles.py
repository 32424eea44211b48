"""Vector tiles made by PostGIS (``ST_AsMVT``) from a project's tables.

The database does the work: the GiST index finds the features of the tile (widened by
the buffer), ``ST_SimplifyPreserveTopology`` simplifies them per zoom,
``ST_AsMVTGeom`` clips, brings them to tile coordinates and drops what collapses,
``ST_AsMVT`` encodes. The steps and the attributes are those of
:class:`beatgrid.gis.tiles.mvt.TileLayer` (the file store's encoder), so both stores
give the same features per tile: feature id = ``fid + 1`` (the row number + 1), times as
ISO 8601 text, missing values left out.

Examples
--------
>>> sql = tile_sql("beatgrid", "beats", ["id", "name"], datetimes=set(), srid=4490)
>>> "ST_AsMVT" in sql and '"beatgrid"."beats"' in sql
True
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from beatgrid.gis.io.pg_connect import Url, quote, transaction
from beatgrid.gis.io.pg_tables import FID, GEOMETRY, quote_table
from beatgrid.gis.io.postgis import read_scalar

__all__ = ["postgis_tile", "table_columns", "tile_sql"]


def table_columns(url: Url, schema: str, table: str) -> dict[str, str]:
    """Column name -> PostgreSQL data type of ``schema.table`` (empty when absent)."""
    with transaction(url, action=f"reading the columns of {schema}.{table} in") as conn:
        rows = conn.execute(sa.text(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = :s AND table_name = :t ORDER BY ordinal_position"),
            {"s": schema, "t": table})
        return {str(name): str(kind) for name, kind in rows}


def tile_sql(schema: str, table: str, columns: Sequence[str], *, datetimes: set[str],
             srid: int) -> str:
    """The ``ST_AsMVT`` query of one layer's tile (parameters ``z, x, y, margin, extent,
    buffer, tolerance``; the layer is named ``table``).

    Examples
    --------
    >>> print(tile_sql("s", "incidents", ["occurred_at"], datetimes={"occurred_at"},
    ...                srid=4490).splitlines()[5].strip())
    to_char("occurred_at", 'YYYY-MM-DD"T"HH24:MI:SS') AS "occurred_at",
    """
    props = []
    for col in columns:
        if col in datetimes:
            props.append(f"to_char({quote(col)}, 'YYYY-MM-DD\"T\"HH24:MI:SS') AS {quote(col)},")
        else:
            props.append(f"{quote(col)},")
    g = quote(GEOMETRY)
    lines = [
        # the wide envelope in the table's CRS, once: rows are tested in their own CRS
        # (the GiST index, no transform per row); a Web Mercator rectangle is a
        # longitude/latitude rectangle, so the test is exact
        "WITH env AS (SELECT ST_TileEnvelope(:z, :x, :y) AS tile,",
        "                    ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => :margin),",
        f"                                 {int(srid)}) AS wide),",
        "rows AS (",
        f"  SELECT {quote(FID)} + 1 AS __fid,",
        *(f"         {p}" for p in props),
        f"         ST_AsMVTGeom(CASE WHEN :tolerance > 0 AND GeometryType({g}) <> 'POINT'",
        f"                      THEN ST_SimplifyPreserveTopology(ST_Transform({g}, 3857),",
        "                                                      :tolerance)",
        f"                      ELSE ST_Transform({g}, 3857) END,",
        "                      env.tile, :extent, :buffer, true) AS __geom",
        f"  FROM {quote_table(schema, table)} AS t, env",
        f"  WHERE ST_Intersects({g}, env.wide)",
        ")",
        f"SELECT ST_AsMVT(rows.*, {_literal(table)}, :extent, '__geom', '__fid') FROM rows",
        "WHERE __geom IS NOT NULL",
    ]
    return "\n".join(lines)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def postgis_tile(url: Url, schema: str, table: str, *, z: int, x: int, y: int,
                 columns: Sequence[str], datetimes: set[str], srid: int, extent: int,
                 buffer: int, tolerance: float) -> bytes:
    """One tile of ``schema.table`` encoded by PostGIS (empty bytes when nothing is in it).

    Parameters
    ----------
    columns
        Attributes to carry (columns of the table); ``datetimes`` those that are times.
    srid
        SRID of the table's geometry column.
    extent, buffer
        Tile coordinates per side and the margin past the edge.
    tolerance
        Simplification tolerance in EPSG:3857 metres (0: none).
    """
    sql = sa.text(tile_sql(schema, table, columns, datetimes=datetimes, srid=srid))
    params = {"z": z, "x": x, "y": y, "margin": buffer / extent, "extent": extent,
              "buffer": buffer, "tolerance": float(tolerance)}
    try:  # one statement, no transaction round trips (a tile per request)
        data = read_scalar(url, sql, params)
    except sa.exc.DBAPIError:  # again in a transaction, which explains the error
        with transaction(url, action=f"making a tile of {table} in") as conn:
            data = conn.execute(sql, params).scalar()
    return bytes(data) if data is not None else b""
