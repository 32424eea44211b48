"""Plan checks: every violation kind triggered and asserted with its grid and figure."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely
import shapely.affinity
from grid_fixtures import METRIC_EPSG, ORIGIN

from beatgrid.gis.errors import InputError
from beatgrid.gis.grids.checks import (VIOLATIONS, check_grids, format_violations,
                                      has_errors)


def _t(g):
    return shapely.affinity.translate(g, *ORIGIN)


def _gdf(data, geoms):
    return gpd.GeoDataFrame(data, geometry=[_t(g) for g in geoms], crs=METRIC_EPSG).to_crs(4490)


COMM = _gdf({"id": ["C"]}, [shapely.box(0, 0, 200, 100)])
A = shapely.box(0, 0, 100, 100)
B = shapely.box(100, 0, 200, 100)


def _grids(geoms=(A, B), households=(350, 400), ids=("A", "B"), comm=("C", "C")):
    return _gdf({"id": list(ids), "community_id": list(comm), "households": list(households)},
                list(geoms))


def _buildings(specs):
    """specs: (id, households, grid_id, geometry)."""
    return _gdf({"id": [s[0] for s in specs], "households": [s[1] for s in specs],
                 "grid_id": [s[2] for s in specs]}, [s[3] for s in specs])


OK_BUILDINGS = [("a1", 350, "A", shapely.box(20, 20, 40, 40)),
                ("b1", 400, "B", shapely.box(120, 20, 140, 40))]


def _kinds(v):
    return sorted(set(v["kind"]))


def test_clean_plan_has_no_violation():
    v = check_grids(_grids(), communities=COMM, buildings=_buildings(OK_BUILDINGS))
    assert v.empty and not has_errors(v)


def test_households_out_of_range():
    b = _buildings([("a1", 250, "A", shapely.box(20, 20, 40, 40)),
                    ("b1", 520, "B", shapely.box(120, 20, 140, 40))])
    v = check_grids(_grids(households=(250, 520)), communities=COMM, buildings=b)
    low = v[v["kind"] == "households_below_min"].iloc[0]
    high = v[v["kind"] == "households_above_max"].iloc[0]
    assert (low["grid_id"], low["value"], low["rule"]) == ("A", 250, "households >= 300")
    assert (high["grid_id"], high["value"], high["rule"]) == ("B", 520, "households <= 500")


def test_households_mismatch_is_a_warning():
    v = check_grids(_grids(households=(300, 400)), communities=COMM,
                    buildings=_buildings(OK_BUILDINGS))
    assert _kinds(v) == ["households_mismatch"]
    assert v["severity"].iloc[0] == "warning" and not has_errors(v)
    assert v["value"].iloc[0] == 300


def test_multipart():
    a = shapely.MultiPolygon([shapely.box(0, 0, 100, 40), shapely.box(0, 60, 100, 100)])
    rest = shapely.difference(shapely.box(0, 0, 200, 100), a)
    v = check_grids(_grids(geoms=(a, rest)), communities=COMM)
    row = v[v["kind"] == "multipart"]
    assert row["grid_id"].tolist() == ["A"] and row["value"].iloc[0] == 2


def test_hole_and_enclave():
    inner = shapely.box(40, 40, 60, 60)
    grids = _grids(geoms=(A.difference(inner), B, inner), households=(350, 400, 300),
                   ids=("A", "B", "D"), comm=("C", "C", "C"))
    v = check_grids(grids, communities=COMM)
    hole = v[v["kind"] == "hole"].iloc[0]
    encl = v[v["kind"] == "enclave"].iloc[0]
    assert hole["grid_id"] == "A" and abs(hole["value"] - 400) < 1
    assert encl["grid_id"] == "D" and encl["other_id"] == "A"


def test_gap_area_and_unassigned_building():
    b = _buildings(OK_BUILDINGS + [("x", 12, None, shapely.box(92, 5, 98, 10))])
    v = check_grids(_grids(geoms=(shapely.box(0, 0, 90, 100), B)), communities=COMM, buildings=b)
    gap = v[v["kind"] == "gap"].iloc[0]
    assert abs(gap["value"] - 1000) < 1 and gap["community_id"] == "C"
    un = v[v["kind"] == "building_unassigned"].iloc[0]
    assert "x" in un["message"] and un["value"] == 12


def test_unknown_grid_id_is_unassigned():
    b = _buildings(OK_BUILDINGS + [("y", 3, "ZZ", shapely.box(50, 50, 55, 55))])
    v = check_grids(_grids(), communities=COMM, buildings=b)
    assert "unknown grid 'ZZ'" in v[v["kind"] == "building_unassigned"]["message"].iloc[0]


def test_overlap():
    v = check_grids(_grids(geoms=(A, shapely.box(90, 0, 200, 100))), communities=COMM)
    ov = v[v["kind"] == "overlap"].iloc[0]
    assert (ov["grid_id"], ov["other_id"]) == ("A", "B") and abs(ov["value"] - 1000) < 1


def test_outside_community_and_unknown_community():
    v = check_grids(_grids(geoms=(A, shapely.box(100, 0, 210, 100))), communities=COMM)
    out = v[v["kind"] == "outside_community"].iloc[0]
    assert out["grid_id"] == "B" and abs(out["value"] - 1000) < 1
    v = check_grids(_grids(comm=("C", "Q")), communities=COMM)
    assert "does not exist" in v[v["kind"] == "outside_community"]["message"].iloc[0]


def test_building_cut_by_grid_border():
    b = _buildings(OK_BUILDINGS + [("c", 10, "A", shapely.box(95, 40, 105, 60))])
    v = check_grids(_grids(households=(360, 400)), communities=COMM, buildings=b)
    cut = v[v["kind"] == "building_cut"].iloc[0]
    assert cut["grid_id"] == "A" and abs(cut["value"] - 100) < 0.5
    assert "building c" in cut["message"]


def test_building_on_community_boundary_is_a_warning():
    b = _buildings(OK_BUILDINGS + [("e", 0, "B", shapely.box(195, 40, 205, 60))])
    v = check_grids(_grids(), communities=COMM, buildings=b)
    assert _kinds(v) == ["building_on_community_boundary"]
    assert not has_errors(v)


def test_incremental_check_limits_to_grids():
    b = _buildings([("a1", 250, "A", shapely.box(20, 20, 40, 40)),
                    ("b1", 520, "B", shapely.box(120, 20, 140, 40))])
    v = check_grids(_grids(households=(250, 520)), communities=COMM, buildings=b,
                    grid_ids=["B"])
    assert set(v["grid_id"]) == {"B"}


def test_every_kind_documented_and_formatted():
    assert set(VIOLATIONS) >= {"households_below_min", "households_above_max", "multipart",
                               "hole", "enclave", "gap", "building_unassigned", "overlap",
                               "outside_community", "building_cut"}
    v = check_grids(_grids(geoms=(A, shapely.box(90, 0, 200, 100))), communities=COMM)
    text = format_violations(v)
    assert "[error] overlap: grid A (community C)" in text and "rule:" in text


def test_no_grids_reports_gap_and_missing_columns_rejected():
    empty = _grids().iloc[:0]
    v = check_grids(empty, communities=COMM)
    assert v["kind"].tolist() == ["gap"]
    with pytest.raises(InputError, match="community_id"):
        check_grids(_grids().drop(columns=["community_id"]), communities=COMM)
