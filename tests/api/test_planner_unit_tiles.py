"""The web planner's units as vector tiles (``GET /planner/plans/{id}/units/tiles/...``).

Expected units come from ``GET /plans/{id}/units`` (GeoJSON, EPSG:4326): every unit of
the plan is in the tiles over its community, under its number, and a tile holds the
units whose polygon (in EPSG:3857, computed here with pyproj) meets the tile's box.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import mapbox_vector_tile
import pyproj
import pytest
import shapely
from fastapi.testclient import TestClient

from beatgrid.api.service import create_app
from beatgrid.gis.project import SAMPLE_PATH
from beatgrid.gis.tiles.grid import tile_bounds, tiles_over

TILES = "/planner/plans/{plan}/units/tiles/{z}/{x}/{y}"


@pytest.fixture(scope="module")
def client(tmp_path_factory) -> TestClient:
    path: Path = tmp_path_factory.mktemp("unit-tiles") / "p.gpkg"
    shutil.copyfile(SAMPLE_PATH, path)
    return TestClient(create_app(path))


@pytest.fixture(scope="module")
def plan(client) -> dict:
    r = client.post("/plans", json={"community_id": "C05", "source": "generate"})
    assert r.status_code == 201, r.text
    return r.json()


def units_of(client: TestClient, plan_id: int, z: int, x: int, y: int) -> set[int]:
    r = client.get(TILES.format(plan=plan_id, z=z, x=x, y=y))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    assert r.headers["cache-control"] == "no-cache"
    layer = mapbox_vector_tile.decode(r.content).get("units", {"features": []})
    return {f["properties"]["unit"] for f in layer["features"]}


@pytest.mark.parametrize("z", [13, 15, 16])
def test_the_tiles_over_a_community_hold_each_unit_where_it_lies(client, plan, z):
    """At zoom 16 this cuts C05's units where one polygon has a spike folding back onto
    itself: GEOS's rectangle clip refused it (a 500) until the tiler fell back to the
    full intersection."""
    fc = client.get(f"/plans/{plan['id']}/units").json()
    to_merc = pyproj.Transformer.from_crs(4326, 3857, always_xy=True)
    shapes = {f["properties"]["unit"]: shapely.geometry.shape(f["geometry"]) for f in fc["features"]}
    polys = {u: shapely.transform(p, lambda c: list(zip(*to_merc.transform(c[:, 0], c[:, 1]))))
             for u, p in shapes.items()}
    polys = {u: shapely.make_valid(p) for u, p in polys.items()}
    bounds = shapely.total_bounds(list(shapes.values()))
    seen: set[int] = set()
    for _, x, y in tiles_over(bounds, z):
        got = units_of(client, plan["id"], z, x, y)
        box = shapely.box(*tile_bounds(z, x, y))
        inside = {u for u, p in polys.items() if p.intersection(box).area > 1.0}
        assert inside <= got, (z, x, y, sorted(inside - got))
        seen |= got
    assert seen == set(polys), sorted(set(polys) ^ seen)


def test_zooms_past_the_deepest_and_tiles_off_the_grid_are_refused(client, plan):
    deepest = client.get("/planner/settings").json()["units_max_zoom"]
    assert deepest == 16
    r = client.get(TILES.format(plan=plan["id"], z=deepest + 1, x=0, y=0))
    assert r.status_code == 422
    assert r.json()["error"] == f"zoom {deepest + 1} is not served (zooms 0 to {deepest})"
    r = client.get(TILES.format(plan=plan["id"], z=2, x=4, y=0))
    assert r.status_code == 404 and "outside the WebMercatorQuad matrix" in r.json()["error"]
    r = client.get(TILES.format(plan=999_999, z=13, x=6862, y=3382))
    assert r.status_code == 404 and "999999" in r.json()["error"]
