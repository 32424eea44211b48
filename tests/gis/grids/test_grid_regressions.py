"""Regressions found by the map-editor endpoints: refused moves, emptied grids, ids, slivers."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from test_grid_editing import lattice_plan
from grid_fixtures import METRIC_EPSG

from beatgrid.gis.errors import ConflictError, NotFoundError
from beatgrid.gis.grids.codes import assign_codes
from beatgrid.gis.grids.editing import PlanEditor
from beatgrid.gis.grids.geometry import union_units


@pytest.fixture(scope="module")
def plan():
    return lattice_plan(n=20, households=4, grid_side=10)  # 4 grids of 100 units, 400 households


def test_refused_move_changes_nothing(plan):
    editor = PlanEditor(plan)
    before = dict(editor.load)
    editor.locked.add("G001")
    with pytest.raises(ConflictError):
        editor.move_units([0, 10], to_grid="G002")  # unit 0 is free, unit 10 in locked G001
    with pytest.raises(NotFoundError):
        editor.move_units([1, 10**6], to_grid="G002")
    assert editor.load == before
    assert editor.label[0] == "G000" and editor.label[1] == "G000"


def test_emptied_grid_is_dissolved_not_a_violation(plan):
    editor = PlanEditor(plan)
    g000 = sorted(editor.members["G000"])
    editor.move_units(g000[:50], to_grid="G001")
    editor.move_units(g000[50:], to_grid="G002")
    violations = editor.check()
    assert violations.empty or "G000" not in set(violations["grid_id"])
    assert sum(editor.load[g] for g in editor.members if editor.members[g]) == 1600


def test_new_grids_get_real_ids_with_pandas_string_dtypes():
    grids = gpd.GeoDataFrame({"community_id": ["C1", "C1"]},
                             geometry=[shapely.box(0, 0, 10, 10), shapely.box(20, 0, 30, 10)],
                             crs=METRIC_EPSG)
    ids, codes = assign_codes(grids, None, keep_ids=["C1-G01", None], keep_codes=["X", None])
    assert ids[0] == "C1-G01"
    assert isinstance(ids[1], str) and ids[1] != "C1-G01" and ids[1] == ids[1]  # not NaN
    assert all(isinstance(c, str) and c for c in codes)


def test_union_drops_numerical_sliver_holes():
    outer = shapely.box(0, 0, 100, 100)
    sliver = shapely.box(50, 50, 50 + 1e-5, 50 + 1e-4)  # 1e-9 m2
    donut = shapely.Polygon(outer.exterior, [sliver.exterior])
    real_hole = shapely.Polygon(outer.exterior, [shapely.box(10, 10, 20, 20).exterior])
    parts = np.array([donut, shapely.box(100, 0, 200, 100)])
    assert len(shapely.get_parts(union_units(parts, grid=1e-6, min_hole_m2=0.01))[0]
               .interiors) == 0
    kept = union_units(np.array([real_hole, shapely.box(100, 0, 200, 100)]), grid=1e-6,
                       min_hole_m2=0.01)
    assert len(shapely.get_parts(kept)[0].interiors) == 1
