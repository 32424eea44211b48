"""The PostGIS store: round trips, all-or-nothing writes, absent layers, bad URLs.

Needs a PostGIS database (``BEATGRID_TEST_PG_URL``; ``bash scripts/test.sh`` starts
one). Each test works in its own schema (``pg_schema``), so they run in parallel.
"""

from __future__ import annotations

import threading

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import sqlalchemy as sa

from beatgrid.api.errors import status_of
from beatgrid.gis import schema
from beatgrid.gis.errors import InputError, NotFoundError, ValidationError
from beatgrid.gis.io import pg_tables
from beatgrid.gis.io import postgis as pg
from beatgrid.gis.io.pg_connect import normalise_url

LON, LAT = 121.55, 29.88  # Ningbo, Jiangbei


def _beats():
    return gpd.GeoDataFrame(
        {"id": ["B01", "B02"], "name": ["孔浦警务区", "白沙警务区"]},
        geometry=[shapely.box(LON, LAT, LON + 0.01, LAT + 0.01),
                  shapely.box(LON + 0.01, LAT, LON + 0.02, LAT + 0.01)], crs=4490)


def _buildings(n=4, prefix="b"):
    geoms = [shapely.box(LON + i * 1e-3, LAT, LON + i * 1e-3 + 2e-4, LAT + 2e-4)
             for i in range(n)]
    # one two-part building (a block split by a passage) stays a MultiPolygon
    geoms[-1] = shapely.MultiPolygon([
        shapely.box(LON, LAT + 1e-3, LON + 1e-4, LAT + 1.1e-3),
        shapely.box(LON + 2e-4, LAT + 1e-3, LON + 3e-4, LAT + 1.1e-3)])
    return gpd.GeoDataFrame(
        {"id": [f"{prefix}{i}" for i in range(n)],
         "households": [36 * (i + 1) for i in range(n - 1)] + [0],
         "levels": [6, 11, 18, 2][:n] if n <= 4 else [6] * n,
         "use": ["residential"] * (n - 1) + ["commercial"],
         "population_registered": np.arange(n) * 50,
         "address": [f"江北区孔浦街道{i}号" for i in range(n)]},
        geometry=geoms, crs=4490)


def _cameras():
    return gpd.GeoDataFrame(
        {"id": ["c1", "c2", "c3"], "kind": ["road", "entrance", "estate_internal"],
         "direction": [90.0, np.nan, 275.5], "range_m": [40.0, np.nan, 25.0],
         "resolution_h_px": [1920, None, 2560]},
        geometry=[shapely.Point(LON + 1e-3, LAT + 1e-3), shapely.Point(LON + 2e-3, LAT),
                  shapely.Point(LON, LAT + 2e-3)], crs=4490)


def _staff():
    return pd.DataFrame({"beat_id": ["B01", "B02"], "community_officers": [2, 1],
                         "auxiliaries": [3, 2], "grid_workers": [6, 4]})


def _engine(url, **kw):
    return sa.create_engine(normalise_url(url), **kw)


def _scalar(url, sql, **params):
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(sql), params).scalar()
    finally:
        engine.dispose()


@pytest.mark.postgis
def test_round_trip_keeps_types_crs_and_geometry(pg_url, pg_schema):
    layers = {"beats": _beats(), "buildings": _buildings(), "cameras": _cameras(),
              "staff": _staff()}
    counts = pg.write_layers_pg(pg_url, layers, schema=pg_schema)
    assert counts == {"beats": 2, "buildings": 4, "cameras": 3, "staff": 2}
    assert pg.list_layers_pg(pg_url, schema=pg_schema) == ["beats", "buildings", "cameras",
                                                           "staff"]
    assert pg.project_crs_pg(pg_url, schema=pg_schema) == 4490

    b = pg.read_layer_pg(pg_url, "buildings", schema=pg_schema)
    assert isinstance(b, gpd.GeoDataFrame) and b.crs.to_epsg() == 4490
    assert b["id"].tolist() == ["b0", "b1", "b2", "b3"]  # written order
    assert b["households"].dtype == "Int64" and b["households"].tolist() == [36, 72, 108, 0]
    assert b["population_registered"].tolist() == [0, 50, 100, 150]
    assert b["levels"].tolist() == [6, 11, 18, 2]
    assert b["use"].tolist() == ["residential"] * 3 + ["commercial"]
    assert b["address"].iloc[2] == "江北区孔浦街道2号"
    assert b["households_estimated"].dtype == bool and not b["households_estimated"].any()
    assert b.geom_type.tolist() == ["Polygon"] * 3 + ["MultiPolygon"]
    assert shapely.equals_exact(b.geometry.array, _buildings().geometry.array,
                                tolerance=1e-12).all()
    for col in schema.LAYERS["buildings"].column_names:
        assert col in b.columns

    c = pg.read_layer_pg(pg_url, "cameras", schema=pg_schema)
    assert c.crs.to_epsg() == 4490 and set(c.geom_type) == {"Point"}
    assert c["direction"].dtype == float
    assert c["direction"].iloc[0] == 90.0 and np.isnan(c["direction"].iloc[1])
    assert c["direction"].iloc[2] == 275.5
    assert c["range_m"].isna().tolist() == [False, True, False]
    assert c["resolution_h_px"].dtype == "Int64"
    assert c["resolution_h_px"].isna().tolist() == [False, True, False]
    assert c["kind"].tolist() == ["road", "entrance", "estate_internal"]
    assert np.allclose(c.geometry.x, _cameras().geometry.x, rtol=0, atol=1e-12)

    s = pg.read_layer_pg(pg_url, "staff", schema=pg_schema)
    assert type(s) is pd.DataFrame and "geometry" not in s.columns
    assert s["beat_id"].tolist() == ["B01", "B02"]
    assert s["community_officers"].tolist() == [2, 1] and s["grid_workers"].tolist() == [6, 4]
    assert s["floating_managers"].tolist() == [0, 0]  # default filled

    beats = pg.read_layer_pg(pg_url, "beats", schema=pg_schema)
    assert beats["name"].tolist() == ["孔浦警务区", "白沙警务区"]


@pytest.mark.postgis
def test_tables_have_declared_geometry_type_srid_index_and_key(pg_url, pg_schema):
    layers = {"buildings": _buildings(2), "cameras": _cameras(), "staff": _staff(),
              "beats": _beats(), "grids": schema.empty_layer("grids")}
    pg.write_layers_pg(pg_url, layers, schema=pg_schema)
    engine = _engine(pg_url)
    try:
        with engine.connect() as conn:
            cols = dict(conn.execute(sa.text(
                "SELECT f_table_name, type || ':' || srid FROM geometry_columns "
                "WHERE f_table_schema = :s"), {"s": pg_schema}).all())
            gist = set(conn.execute(sa.text(
                "SELECT tablename FROM pg_indexes WHERE schemaname = :s "
                "AND indexdef ILIKE '%USING gist%'"), {"s": pg_schema}).scalars())
            pkeys = set(conn.execute(sa.text(
                "SELECT tc.table_name FROM information_schema.table_constraints tc "
                "WHERE tc.table_schema = :s AND tc.constraint_type = 'PRIMARY KEY'"),
                {"s": pg_schema}).scalars())
            households_type = conn.execute(sa.text(
                "SELECT data_type FROM information_schema.columns WHERE table_schema = :s "
                "AND table_name = 'buildings' AND column_name = 'households'"),
                {"s": pg_schema}).scalar()
    finally:
        engine.dispose()
    # polygons stored as MultiPolygon like the GeoPackage; an empty layer keeps its type
    assert cols == {"buildings": "MULTIPOLYGON:4490", "cameras": "POINT:4490",
                    "beats": "MULTIPOLYGON:4490", "grids": "MULTIPOLYGON:4490"}
    assert gist == {"buildings", "cameras", "beats", "grids"}
    assert pkeys == {"buildings", "cameras", "beats", "grids", "staff", "beatgrid_meta"}
    assert households_type == "bigint"
    empty = pg.read_layer_pg(pg_url, "grids", schema=pg_schema)
    assert len(empty) == 0 and empty.crs.to_epsg() == 4490


@pytest.mark.postgis
def test_wgs84_project_keeps_its_crs_and_reprojects_other_layers(pg_url, pg_schema):
    pg.write_layers_pg(pg_url, {"cameras": _cameras().to_crs(4326)}, schema=pg_schema)
    assert pg.project_crs_pg(pg_url, schema=pg_schema) == 4326
    # a later CGCS2000 layer is brought to the project CRS
    pg.write_layers_pg(pg_url, {"buildings": _buildings(2)}, schema=pg_schema)
    b = pg.read_layer_pg(pg_url, "buildings", schema=pg_schema)
    assert b.crs.to_epsg() == 4326
    assert _scalar(pg_url, "SELECT Find_SRID(:s, 'buildings', 'geometry')", s=pg_schema) == 4326


@pytest.mark.postgis
def test_invalid_second_layer_writes_nothing(pg_url, pg_schema):
    pg.write_layers_pg(pg_url, {"buildings": _buildings(2, prefix="old")}, schema=pg_schema)
    bad = _cameras()
    bad.loc[1, "kind"] = "drone"          # not an allowed kind
    bad.loc[2, "direction"] = 400.0       # out of range
    with pytest.raises(ValidationError) as err:
        pg.write_layers_pg(pg_url, {"buildings": _buildings(4, prefix="new"), "cameras": bad},
                           schema=pg_schema)
    messages = [p.format() for p in err.value.problems]
    assert any("cameras id=c2 column=kind" in m for m in messages)
    assert any("cameras id=c3 column=direction" in m for m in messages)
    # the first (valid) layer was not written either
    assert pg.read_layer_pg(pg_url, "buildings", schema=pg_schema)["id"].tolist() == \
        ["old0", "old1"]
    assert pg.list_layers_pg(pg_url, schema=pg_schema) == ["buildings"]


@pytest.mark.postgis
def test_failure_while_writing_rolls_everything_back(pg_url, pg_schema, monkeypatch):
    pg.write_layers_pg(pg_url, {"buildings": _buildings(2, prefix="old")}, schema=pg_schema)
    real = pg_tables.write_table
    written = []

    def flaky(conn, schema_name, name, df, **kw):
        if written:  # the first layer went into the database; the second one breaks
            raise RuntimeError("disk full (simulated)")
        real(conn, schema_name, name, df, **kw)
        written.append(name)

    monkeypatch.setattr(pg_tables, "write_table", flaky)
    with pytest.raises(RuntimeError, match="simulated"):
        pg.write_layers_pg(pg_url, {"buildings": _buildings(3, prefix="new"),
                                    "cameras": _cameras()}, schema=pg_schema)
    assert written == ["buildings"]
    monkeypatch.undo()
    assert pg.read_layer_pg(pg_url, "buildings", schema=pg_schema)["id"].tolist() == \
        ["old0", "old1"]
    assert pg.list_layers_pg(pg_url, schema=pg_schema) == ["buildings"]


@pytest.mark.postgis
def test_failed_first_write_leaves_no_schema(pg_url, pg_schema):
    bad = _buildings(2)
    bad["households"] = [-1, 5]
    with pytest.raises(ValidationError):
        pg.write_layers_pg(pg_url, {"buildings": bad}, schema=pg_schema)
    assert _scalar(pg_url, "SELECT count(*) FROM information_schema.schemata "
                   "WHERE schema_name = :s", s=pg_schema) == 0


@pytest.mark.postgis
def test_dangling_reference_is_refused(pg_url, pg_schema):
    staff = _staff()
    with pytest.raises(ValidationError, match="refers to a missing beats feature"):
        pg.write_layers_pg(pg_url, {"staff": staff}, schema=pg_schema)
    pg.write_layers_pg(pg_url, {"beats": _beats()}, schema=pg_schema)
    pg.write_layers_pg(pg_url, {"staff": staff}, schema=pg_schema)  # now the beats exist
    assert len(pg.read_layer_pg(pg_url, "staff", schema=pg_schema)) == 2


@pytest.mark.postgis
def test_absent_layer_reads_empty_and_unknown_layer_is_an_error(pg_url, pg_schema):
    # schema not even created yet
    grids = pg.read_layer_pg(pg_url, "grids", schema=pg_schema)
    assert isinstance(grids, gpd.GeoDataFrame) and len(grids) == 0
    assert grids.crs.to_epsg() == 4490
    assert list(grids.columns) == list(schema.empty_layer("grids").columns)
    staff = pg.read_layer_pg(pg_url, "staff", schema=pg_schema)
    assert type(staff) is pd.DataFrame and len(staff) == 0
    assert pg.list_layers_pg(pg_url, schema=pg_schema) == []
    pg.write_layers_pg(pg_url, {"cameras": _cameras().to_crs(4326)}, schema=pg_schema)
    # an absent layer of an existing project has the project's CRS
    assert pg.read_layer_pg(pg_url, "incidents", schema=pg_schema).crs.to_epsg() == 4326
    with pytest.raises(InputError, match="unknown layer 'roads'"):
        pg.read_layer_pg(pg_url, "roads", schema=pg_schema)
    with pytest.raises(InputError, match="unknown layer"):
        pg.write_layers_pg(pg_url, {"roads": _cameras()}, schema=pg_schema)
    with pytest.raises(InputError, match="schema name"):
        pg.read_layer_pg(pg_url, "grids", schema='x"; DROP TABLE y; --')


@pytest.mark.postgis
def test_append_keeps_rows_and_ids_unique(pg_url, pg_schema):
    pg.write_layers_pg(pg_url, {"cameras": _cameras()}, schema=pg_schema)
    more = _cameras().iloc[:2].copy()
    more["id"] = ["c4", "c5"]
    pg.write_layers_pg(pg_url, {"cameras": more}, schema=pg_schema, append=True)
    back = pg.read_layer_pg(pg_url, "cameras", schema=pg_schema)
    assert back["id"].tolist() == ["c1", "c2", "c3", "c4", "c5"]
    assert np.isnan(back["direction"].iloc[4])
    with pytest.raises(ValidationError, match="id is used by 2 features"):
        pg.write_layers_pg(pg_url, {"cameras": more}, schema=pg_schema, append=True)
    assert len(pg.read_layer_pg(pg_url, "cameras", schema=pg_schema)) == 5


@pytest.mark.postgis
def test_concurrent_appends_lose_nothing(pg_url, pg_schema):
    pg.write_layers_pg(pg_url, {"cameras": _cameras()}, schema=pg_schema)
    errors = []

    def writer(tag):
        try:
            for i in range(3):
                cam = _cameras().iloc[:1].copy()
                cam["id"] = [f"{tag}{i}"]
                pg.write_layers_pg(pg_url, {"cameras": cam}, schema=pg_schema, append=True)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(t,)) for t in ("x", "y")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    ids = pg.read_layer_pg(pg_url, "cameras", schema=pg_schema)["id"].tolist()
    assert sorted(ids) == sorted(["c1", "c2", "c3", "x0", "x1", "x2", "y0", "y1", "y2"])


@pytest.mark.postgis
def test_geopackage_round_trip_through_postgis(pg_url, pg_schema, tmp_path):
    from beatgrid.gis.io import project as gpkg

    src = tmp_path / "src.gpkg"
    gpkg.write_layers(src, {"beats": _beats(), "buildings": _buildings(), "cameras": _cameras(),
                            "staff": _staff()})
    counts = pg.copy_project_to_postgis(src, pg_url, schema=pg_schema)
    assert counts["buildings"] == 4 and counts["grids"] == 0 and len(counts) == len(
        schema.LAYER_ORDER)
    dst = tmp_path / "dst.gpkg"
    assert pg.copy_postgis_to_project(pg_url, dst, schema=pg_schema) == dst
    with pytest.raises(InputError, match="already exists"):
        pg.copy_postgis_to_project(pg_url, dst, schema=pg_schema)
    a, b = gpkg.read_project(src), gpkg.read_project(dst)
    assert gpkg.project_crs(dst) == 4490
    for name in schema.LAYER_ORDER:
        left, right = a[name], b[name]
        assert list(right.columns) == list(left.columns), name
        if isinstance(left, gpd.GeoDataFrame):
            assert right.crs == left.crs, name
            assert shapely.equals_exact(left.geometry.array, right.geometry.array,
                                        tolerance=1e-12).all(), name
            left, right = pd.DataFrame(left.drop(columns="geometry")), \
                pd.DataFrame(right.drop(columns="geometry"))
        pd.testing.assert_frame_equal(left, right, check_dtype=False, obj=name)
    with pytest.raises(NotFoundError):
        pg.copy_postgis_to_project(pg_url, tmp_path / "x.gpkg", schema=pg_schema + "_none")


@pytest.mark.postgis
def test_database_without_postgis_is_named_with_fix(pg_url):
    import uuid

    name = f"nogis_{uuid.uuid4().hex[:8]}"
    admin = _engine(pg_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f"CREATE DATABASE {name}"))
        url = normalise_url(pg_url).set(database=name)
        with pytest.raises(pg.DatabaseError, match="has no PostGIS extension") as err:
            pg.list_layers_pg(url.render_as_string(hide_password=False))
        assert "CREATE EXTENSION postgis" in err.value.fix
    finally:
        pg.dispose_engines()
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


# -- no server needed ---------------------------------------------------------------------

def test_connection_refused_names_masked_url_and_fix():
    url = "postgresql://planner:s3cret@127.0.0.1:1/beatgrid"
    with pytest.raises(pg.DatabaseError) as err:
        pg.read_layer_pg(url, "cameras")
    text = str(err.value)
    assert "s3cret" not in text
    assert "postgresql+psycopg://planner:***@127.0.0.1:1/beatgrid" in text
    assert "PostgreSQL is running" in err.value.fix
    assert status_of(err.value) == 503


@pytest.mark.parametrize("url", ["mysql://u:pw@host/db", "not a url at all",
                                 "postgresql+nodriver://u:pw@host/db"])
def test_bad_url_is_a_clear_error(url):
    with pytest.raises(pg.InputError) as err:
        pg.write_layers_pg(url, {"cameras": _cameras()})
    assert "pw" not in str(err.value).replace("postgresql", "")
    assert err.value.fix and status_of(err.value) == 422


def test_mask_url():
    assert pg.mask_url("postgresql+psycopg://u:secret@h:5432/d") == \
        "postgresql+psycopg://u:***@h:5432/d"
    assert pg.mask_url("postgresql://u@h/d") == "postgresql://u@h/d"
