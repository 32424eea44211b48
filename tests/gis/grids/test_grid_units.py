"""Atomic units: street blocks and building cells cover each community exactly."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
import shapely.affinity
from grid_fixtures import METRIC_EPSG, ORIGIN, make_district

from beatgrid.gis.config import default_config
from beatgrid.gis.errors import InputError
from beatgrid.gis.grids.blocks import street_blocks
from beatgrid.gis.grids.cells import tessellate_block
from beatgrid.gis.grids.units import build_units

SETTINGS = default_config().grids


@pytest.fixture(scope="module")
def district():
    return make_district(rows=1, cols=2, seed=4)


@pytest.fixture(scope="module")
def units(district):
    d = district
    return build_units(d["communities"], d["streets"], d["buildings"], estates=d["estates"])


def test_units_cover_each_community_exactly(units):
    for cid, poly in units.communities.items():
        geoms = units.units.geometry.values[units.of_community(cid)]
        union = shapely.union_all(geoms)
        assert shapely.area(shapely.symmetric_difference(union, poly)) < 0.01
        assert abs(shapely.area(geoms).sum() - union.area) < 0.01  # no overlaps


def test_every_building_in_exactly_one_unit_and_whole(units):
    b = units.buildings
    assert (b["unit"] >= 0).all()
    geo = units.units.geometry.values
    for k, (geom, u, cid) in enumerate(zip(b.geometry.values, b["unit"], b["community_id"])):
        inside = shapely.intersection(geom, units.communities[cid])
        outside_unit = shapely.area(shapely.difference(inside, geo[u]))
        assert outside_unit < 0.01 * max(geom.area, 1), (k, outside_unit)
    assert units.units["households"].sum() == b["households"].sum()


def test_big_blocks_split_into_cells_small_kept(units):
    u = units.units
    threshold = 0.5 * 200
    per_block = u.groupby("block").agg(hh=("households", "sum"), kind=("kind", "first"),
                                       n=("households", "size"))
    assert (per_block.loc[per_block["kind"] == "block", "hh"] <= threshold).all()
    assert (per_block["kind"] == "cell").any()


def test_edges_street_flag_and_lengths(units):
    e = units.edges
    assert (e["i"] < e["j"]).all()
    assert (e["length_m"] >= SETTINGS["units"]["min_shared_border_m"]).all()
    blocks = units.units["block"].to_numpy()
    assert (e["street"] == (blocks[e["i"]] != blocks[e["j"]])).all()


def test_street_blocks_split_square():
    square = shapely.box(0, 0, 100, 100)
    lines = np.array([shapely.LineString([(50, -10), (50, 110)]),
                      shapely.LineString([(-10, 50), (110, 50)])])
    faces = street_blocks(square, lines, settings=SETTINGS)
    assert len(faces) == 4
    assert abs(shapely.area(faces).sum() - 10000) < 1e-6


def test_tessellation_partitions_block_and_keeps_buildings_whole():
    block = shapely.box(0, 0, 120, 60)
    fps = np.array([shapely.box(x, y, x + 14, y + 9) for x in range(5, 110, 20)
                    for y in (5, 30)], dtype=object)
    cells = tessellate_block(block, fps, settings=SETTINGS)
    assert len(cells) == len(fps)
    assert abs(shapely.area(cells).sum() - block.area) < 0.01
    assert shapely.area(shapely.symmetric_difference(shapely.union_all(cells), block)) < 0.01
    assert all(shapely.area(shapely.difference(f, c)) < 1e-6 for f, c in zip(fps, cells))


def _at_origin(geoms):
    return [shapely.affinity.translate(g, *ORIGIN) for g in geoms]


def test_building_across_a_street_is_carved_whole():
    comm = gpd.GeoDataFrame({"id": ["C"]}, geometry=_at_origin([shapely.box(0, 0, 200, 100)]),
                            crs=METRIC_EPSG).to_crs(4490)
    street = gpd.GeoDataFrame({"id": ["s"]}, geometry=_at_origin(
        [shapely.LineString([(100, -5), (100, 105)])]), crs=METRIC_EPSG).to_crs(4490)
    bld = gpd.GeoDataFrame({"id": ["a", "b"], "households": [40, 20]}, geometry=_at_origin(
        [shapely.box(90, 40, 104, 60), shapely.box(20, 20, 40, 30)]),
        crs=METRIC_EPSG).to_crs(4490)
    u = build_units(comm, street, bld)
    geo = u.units.geometry.values
    a = u.buildings.geometry.values[0]
    assert shapely.area(shapely.difference(a, geo[u.buildings["unit"].iloc[0]])) < 1e-3
    assert len(geo) == 2
    assert abs(shapely.area(geo).sum() - u.communities["C"].area) < 0.01


def test_building_households_negative_rejected(district):
    bad = district["buildings"].copy()
    bad.loc[bad.index[0], "households"] = -3
    with pytest.raises(InputError, match="negative"):
        build_units(district["communities"], district["streets"], bad)


def test_unknown_community_rejected(district):
    with pytest.raises(InputError, match="unknown community"):
        build_units(district["communities"], district["streets"], district["buildings"],
                    community_ids=["nope"])
