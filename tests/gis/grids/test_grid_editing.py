"""Editing a plan: unit and building moves with incremental checks, rebalance, speed."""

from __future__ import annotations

import time

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from grid_fixtures import METRIC_EPSG, ORIGIN

from beatgrid.gis.config import default_config
from beatgrid.gis.errors import ConflictError, NotFoundError
from beatgrid.gis.grids.band import band_from_settings
from beatgrid.gis.grids.editing import PlanEditor
from beatgrid.gis.grids.plan import GridPlan
from beatgrid.gis.grids.units import AtomicUnits, unit_edges

SETTINGS = default_config().grids


def lattice_plan(n=100, cell=10.0, households=4, grid_side=10) -> GridPlan:
    """n x n square units, one building each, grids of grid_side x grid_side units."""
    x0, y0 = ORIGIN
    xs, ys = np.meshgrid(np.arange(n), np.arange(n))
    xs, ys = xs.ravel(), ys.ravel()
    geoms = shapely.box(x0 + xs * cell, y0 + ys * cell, x0 + (xs + 1) * cell, y0 + (ys + 1) * cell)
    m = len(geoms)
    comm = np.full(m, "C", dtype=object)
    block = (ys // 2) * n + xs // 2  # streets every two units
    edges = unit_edges(geoms, community=comm, block=block, estate=np.full(m, None),
                       min_shared=0.5, grid_size=1e-6)
    perim = shapely.length(geoms)
    shared = np.bincount(edges["i"], edges["length_m"], m) + np.bincount(edges["j"],
                                                                          edges["length_m"], m)
    label = np.array([f"G{(y // grid_side) * (n // grid_side) + x // grid_side:03d}"
                      for x, y in zip(xs, ys)], dtype=object)
    units = gpd.GeoDataFrame({"community_id": comm, "block": block, "kind": "cell",
                              "households": households, "buildings": 1, "estate_id": None,
                              "area_m2": cell * cell, "perimeter_m": perim,
                              "exterior_m": perim - shared, "grid_id": label},
                             geometry=geoms, crs=METRIC_EPSG)
    bld = gpd.GeoDataFrame({"id": [f"B{i}" for i in range(m)], "households": households,
                            "estate_id": None, "community_id": "C", "unit": np.arange(m)},
                           geometry=shapely.buffer(geoms, -2), crs=METRIC_EPSG)
    au = AtomicUnits(units=units, buildings=bld, edges=edges, crs=units.crs,
                     storage_crs=units.crs)
    gids = sorted(set(label))
    grids = gpd.GeoDataFrame({"id": gids, "code": gids, "community_id": "C",
                              "households": [int((label == g).sum() * households) for g in gids],
                              "locked": False, "reason": ""},
                             geometry=[shapely.union_all(geoms[label == g]) for g in gids],
                             crs=METRIC_EPSG)
    return GridPlan(grids=grids, building_grid=pd.Series(label, index=bld.index), units=au,
                    unit_grid=label, issues=pd.DataFrame(), band=band_from_settings(SETTINGS),
                    settings=SETTINGS)


@pytest.fixture(scope="module")
def big():
    return lattice_plan()


def _unit(x, y, n=100):
    return y * n + x


def test_valid_plan_checks_clean(big):
    editor = PlanEditor(big)
    assert editor.check().empty
    assert len(editor.members) == 100


def test_move_is_fast_and_rechecks_only_touched(big):
    editor = PlanEditor(big)
    t0 = time.perf_counter()
    res = editor.move_units([_unit(9, 0)], to_grid="G001")  # 10,000 buildings community
    elapsed = time.perf_counter() - t0
    assert elapsed < 0.1 and res.seconds < 0.1
    assert res.touched == ["G000", "G001"]
    assert res.households_moved == 4
    assert res.violations.empty  # 396 and 404 households: still in range
    assert set(editor.check(["G000"])["grid_id"]) <= {"G000"}


def test_move_reports_violations(big):
    editor = PlanEditor(big)
    col = [_unit(x, y) for x in (7, 8, 9) for y in range(10)]
    res = editor.move_units(col, to_grid="G001")  # 30 units: 280 and 520 households
    kinds = set(res.violations["kind"])
    assert {"households_below_min", "households_above_max"} <= kinds
    editor = PlanEditor(big)
    res = editor.move_units([_unit(x, 5) for x in range(10)], to_grid="G001")
    assert "multipart" in set(res.violations["kind"])  # G000 cut in two


def test_enclave_and_hole_detected(big):
    editor = PlanEditor(big)
    res = editor.move_units([_unit(15, 15)], to_grid="G000")
    kinds = set(res.violations["kind"])
    assert {"enclave", "multipart"} & kinds


def test_move_buildings_and_errors(big):
    editor = PlanEditor(big)
    res = editor.move_buildings(["B9"], to_grid="G001")
    assert res.moved_units == [9]
    assert editor.building_grid()["B9"] == "G001"
    with pytest.raises(NotFoundError):
        editor.move_units([0], to_grid="nope")
    with pytest.raises(NotFoundError):
        editor.move_buildings(["B-missing"], to_grid="G001")
    editor.locked.add("G002")
    with pytest.raises(ConflictError):
        editor.move_units([0], to_grid="G002")


def test_rebalance_repairs_with_few_moves(big):
    editor = PlanEditor(big)
    col = [_unit(x, y) for x in (7, 8, 9) for y in range(10)]
    editor.move_units(col, to_grid="G001")  # G000 280 households, G001 520
    assert not editor.check().empty
    res = editor.rebalance()
    assert editor.check().query("severity == 'error'").empty
    loads = np.array(list(editor.load.values()))
    assert ((loads >= 300) & (loads <= 500)).all()
    assert res.households_moved <= 2000  # only the two grids and neighbours changed
    grids = editor.grids()
    assert len(grids) == len(editor.members)
    assert grids["households"].sum() == 40_000
