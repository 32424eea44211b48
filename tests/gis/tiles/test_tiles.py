"""The pure tile logic: settings, tile maths, and tiles that decode to the features of their box.

Expected tiles are computed independently: EPSG:3857 geometries from pyogrio and pyproj,
tile extents from the WebMercatorQuad formulas, intersection with shapely.
"""

from __future__ import annotations

import math

import mapbox_vector_tile
import numpy as np
import pyogrio
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from beatgrid.gis import schema
from beatgrid.gis.errors import InputError, NotFoundError, PolicyError
from beatgrid.gis.io.writing import DERIVED_LAYERS
from beatgrid.gis.project import SAMPLE_PATH
from beatgrid.gis.tiles.grid import check_tile, tile_bounds, tile_resolution, tiles_over
from beatgrid.gis.tiles.mvt import TileLayer
from beatgrid.gis.tiles.settings import default_tile_settings, layer_choice, load_tile_settings

HALF = 20037508.342789244
EXTENT, BUFFER = 4096, 64


@pytest.fixture(scope="module")
def buildings():
    return pyogrio.read_dataframe(SAMPLE_PATH, layer="buildings")


@pytest.fixture(scope="module")
def tiled(buildings):
    return TileLayer.build("buildings", buildings, properties=["id", "households"])


# -- settings ------------------------------------------------------------------------

def test_every_layer_has_a_choice_of_existing_columns():
    shipped = default_tile_settings()
    spatial = [n for n in schema.LAYER_ORDER if schema.get_spec(n).spatial]
    derived = [n for n, kind in DERIVED_LAYERS.items() if kind is not None]
    assert sorted(shipped["layers"]) == sorted(spatial + derived)
    for name in spatial:
        columns = {c.name for c in schema.get_spec(name).columns}
        assert set(layer_choice(shipped, name).properties) <= columns, name
    assert "households" in layer_choice(shipped, "buildings").properties
    assert "code" in layer_choice(shipped, "grids").properties
    assert "seen_share_all" in layer_choice(shipped, "coverage_stats").properties


@pytest.mark.parametrize("override,words", [
    ({"tiles": {"extent": 100}}, "'tiles.extent' has value 100"),
    ({"tiles": {"min_zoom": 9, "max_zoom": 8}}, "'tiles.min_zoom' (9) is above"),
    ({"tiles": {"simplify": -1.0}}, "'tiles.simplify' has value -1.0"),
    ({"tiles": {"tile_matrix_set": "WorldCRS84Quad"}}, "only 'WebMercatorQuad'"),
    ({"features": {"default_limit": 20000}}, "is above 'features.max_limit'"),
    ({"layers": {"buildings": {"properties": ["id", "id"], "min_zoom": 13}}}, "distinct"),
    ({"layers": {"buildings": {"min_zoom": 30}}}, "'layers.buildings.min_zoom' has value 30"),
    ({"tiles": {"nosuch": 1}}, "nosuch"),
    ({"layers": {"nosuch": {"min_zoom": 1}}}, "nosuch"),
])
def test_bad_settings_are_refused_naming_the_key(override, words):
    with pytest.raises(PolicyError) as err:
        load_tile_settings(override)
    assert words in str(err.value)


def test_settings_override_from_a_file(tmp_path):
    path = tmp_path / "tiles.toml"
    path.write_text("[tiles]\nbuffer = 8\n[layers.buildings]\nmin_zoom = 15\n", encoding="utf-8")
    s = load_tile_settings(path)
    assert s["tiles"]["buffer"] == 8 and layer_choice(s, "buildings").min_zoom == 15
    assert layer_choice(s, "buildings").properties == \
        layer_choice(default_tile_settings(), "buildings").properties


# -- tile maths ----------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(lon=st.floats(-179.9, 179.9), lat=st.floats(-85.0, 85.0), z=st.integers(0, 22))
def test_the_tile_of_a_point_contains_it(lon, lat, z):
    tz, x, y = tiles_over((lon, lat, lon, lat), z)[0]  # two on an edge: either holds it
    x0, y0, x1, y1 = tile_bounds(tz, x, y)
    px = math.radians(lon) * 6378137.0
    py = math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) * 6378137.0
    tol = 1e-6 * (x1 - x0)
    assert x0 - tol <= px <= x1 + tol and y0 - tol <= py <= y1 + tol
    assert x1 - x0 == pytest.approx(2 * HALF / 2 ** z)
    assert tile_resolution(z, extent=EXTENT) == pytest.approx((x1 - x0) / EXTENT)


def test_check_tile_refuses_zooms_and_tiles_outside():
    check_tile(3, 7, 7)
    with pytest.raises(InputError):
        check_tile(23, 0, 0, max_zoom=22)
    with pytest.raises(NotFoundError):
        check_tile(3, 8, 0)
    with pytest.raises(NotFoundError):
        check_tile(3, 0, -1)


# -- tiles ---------------------------------------------------------------------------

def expected_ids(buildings, z, x, y) -> tuple[set[str], set[str]]:
    """Ids that must be in the tile, and those that may be (a part inside the buffer
    smaller than a tile unit collapses when snapped to the grid)."""
    merc = np.asarray(buildings.to_crs(3857).geometry.array)
    size = 2 * HALF / 2 ** z
    x0, y1 = -HALF + x * size, HALF - y * size
    m = size * BUFFER / EXTENT
    box = shapely.box(x0 - m, y1 - size - m, x0 + size + m, y1 + m)
    touching = shapely.intersects(merc, box)
    inside = shapely.area(shapely.intersection(merc, box)) / (size / EXTENT) ** 2
    ids = buildings["id"].to_numpy()
    return set(ids[touching & (inside >= 2)]), set(ids[touching])


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(lon=st.floats(121.534, 121.566), lat=st.floats(29.908, 29.931), z=st.integers(14, 18))
def test_a_tile_decodes_to_the_buildings_of_its_box(tiled, buildings, lon, lat, z):
    _, x, y = tiles_over((lon, lat, lon, lat), z)[0]
    data = tiled.tile(z, x, y, extent=EXTENT, buffer=BUFFER, simplify=1.0)
    features = mapbox_vector_tile.decode(data).get("buildings", {}).get("features", [])
    must, may = expected_ids(buildings, z, x, y)
    got = {f["properties"]["id"] for f in features}
    assert must <= got <= may
    assert len(got) == len(features)
    for f in features:
        row = buildings.iloc[f["id"] - 1]
        assert f["properties"] == {"id": row["id"], "households": int(row["households"])}
        geom = shapely.geometry.shape(f["geometry"])
        assert geom.is_valid and geom.area > 0
        lo, hi = -BUFFER - 1, EXTENT + BUFFER + 1
        bx0, by0, bx1, by1 = geom.bounds
        assert lo <= bx0 and bx1 <= hi and lo <= by0 and by1 <= hi  # clipped to the buffer


def test_simplification_removes_vertices_and_keeps_the_features():
    communities = pyogrio.read_dataframe(SAMPLE_PATH, layer="communities")
    layer = TileLayer.build("communities", communities, properties=["id"])
    _, x, y = tiles_over((121.55, 29.92, 121.55, 29.92), 13)[0]
    kw = {"extent": EXTENT, "buffer": BUFFER}
    rows0, plain = layer.tile_geometries(13, x, y, simplify=0.0, **kw)
    rows1, simple = layer.tile_geometries(13, x, y, simplify=8.0, **kw)
    assert shapely.get_num_coordinates(simple).sum() < \
        0.9 * shapely.get_num_coordinates(plain).sum()
    assert rows1.tolist() == rows0.tolist()
    # the tolerance is in tile units: twice the metres one zoom further out
    assert tile_resolution(12, extent=EXTENT) == pytest.approx(2 * tile_resolution(13,
                                                                                   extent=EXTENT))


def test_buildings_smaller_than_a_tile_unit_are_left_out(tiled, buildings):
    _, x, y = tiles_over((121.55, 29.92, 121.55, 29.92), 8)[0]
    rows, geoms = tiled.tile_geometries(8, x, y, extent=EXTENT, buffer=BUFFER, simplify=1.0)
    # at zoom 8 a tile unit is ~150 m: most buildings collapse, the rest are valid
    assert len(rows) < len(buildings) / 2
    assert shapely.is_valid(geoms).all()
