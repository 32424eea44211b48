"""Hotspots and trends (gis/hotspots.py): kernel density, Gi*, period-on-period change."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from beatgrid.gis.errors import InputError
from beatgrid.gis.policing.hotspots import (GI_COLUMNS, gi_star, hotspots_project, kernel_density,
                                   period_change, period_windows, zone_counts)
from beatgrid.gis.policing.settings import load_policing_settings

CRS = 32651


def lattice(n=7, size=100.0):
    cells = [shapely.box(i * size, j * size, (i + 1) * size, (j + 1) * size)
             for j in range(n) for i in range(n)]
    return gpd.GeoDataFrame({"id": [f"c{k}" for k in range(n * n)]}, geometry=cells, crs=CRS)


# -- kernel density --------------------------------------------------------------------------

def test_quartic_kernel_value_at_the_point():
    # K(0) = 3 / (pi h²): h = 0.2 km -> 23.87 per km² for one point at a cell centre
    pts = gpd.GeoDataFrame(geometry=[shapely.Point(0, 0)], crs=CRS)
    kde = kernel_density(pts, bandwidth_m=200, cell_m=400, bounds=(-200, -200, 200, 200))
    assert kde["density_km2"].iloc[0] == pytest.approx(3 / (math.pi * 0.2 ** 2))


def test_density_integrates_to_the_number_of_points():
    rng = np.random.default_rng(0)
    xy = rng.uniform(2000, 8000, size=(200, 2))
    pts = gpd.GeoDataFrame(geometry=shapely.points(xy), crs=CRS)
    kde = kernel_density(pts, bandwidth_m=300, cell_m=25)
    total = (kde["density_km2"] * (kde.attrs["cell_m"] / 1000) ** 2).sum()
    assert total == pytest.approx(200, rel=0.01)
    assert not kde.attrs["coarsened"]


def test_raster_is_coarsened_to_max_cells():
    pts = gpd.GeoDataFrame(geometry=[shapely.Point(0, 0), shapely.Point(10000, 10000)], crs=CRS)
    kde = kernel_density(pts, bandwidth_m=300, cell_m=10, max_cells=10000)
    assert kde.attrs["coarsened"] and kde.attrs["cell_m"] > 10
    assert kde.crs.to_epsg() == CRS


def test_kde_in_geographic_crs_returns_geographic_cells():
    pts = gpd.GeoDataFrame(geometry=[shapely.Point(121.55, 29.88)] * 2, crs=4490)
    kde = kernel_density(pts)
    assert kde.crs.to_epsg() == 4490 and len(kde) > 0


def test_kde_without_points_is_an_error():
    with pytest.raises(InputError):
        kernel_density(gpd.GeoDataFrame(geometry=[], crs=CRS))


# -- Gi* -----------------------------------------------------------------------------------

def test_gi_star_finds_the_planted_cluster():
    z = lattice()
    vals = np.ones(49)
    vals[[0, 1, 7, 8]] = 9            # a 2 x 2 block of high counts in the corner
    r = gi_star(z, vals, permutations=199, seed=1)
    assert list(r.columns) == GI_COLUMNS
    hot = set(r.loc[r.hotspot == "hot", "zone_id"])
    assert {"c0", "c1", "c7", "c8"} <= hot
    assert r.loc[r.zone_id == "c0", "gi_z"].iloc[0] > 3
    assert r.loc[r.zone_id == "c48", "hotspot"].iloc[0] != "hot"


def test_gi_star_is_reproducible_with_a_seed_and_handles_constant_values():
    z = lattice(5)
    vals = np.random.default_rng(3).poisson(4, 25)
    a = gi_star(z, vals, permutations=99, seed=7)
    b = gi_star(z, vals, permutations=99, seed=7)
    assert a["p_sim"].tolist() == b["p_sim"].tolist()
    flat = gi_star(z, np.full(25, 3.0), permutations=99)
    assert (flat["hotspot"] == "not significant").all()


def test_gi_star_analytical_and_knn_weights():
    z = lattice()
    vals = np.ones(49)
    vals[[0, 1, 7, 8]] = 9
    r = gi_star(z, vals, permutations=0, weights="knn")
    assert r["p_sim"].isna().all()
    assert "c0" in set(r.loc[r.hotspot == "hot", "zone_id"])


def test_gi_star_input_errors():
    z = lattice(3)
    with pytest.raises(InputError, match="one value per zone"):
        gi_star(z, [1, 2])
    with pytest.raises(InputError, match="at least 3"):
        gi_star(z.iloc[:2], [1, 2])


def test_zone_counts_and_islands():
    z = lattice(3)
    pts = gpd.GeoSeries([shapely.Point(50, 50)] * 3 + [shapely.Point(250, 250)], crs=CRS)
    counts = zone_counts(pts, z)
    assert counts[0] == 3 and counts[8] == 1 and counts.sum() == 4
    per = zone_counts(pts, z, measure="per_km2")
    assert per[0] == pytest.approx(300)          # 3 in 0.01 km²
    # a zone far from the others (an island) still gets a neighbour
    island = pd.concat([z, gpd.GeoDataFrame({"id": ["far"]},
                                            geometry=[shapely.box(5000, 5000, 5100, 5100)],
                                            crs=CRS)], ignore_index=True)
    r = gi_star(island, np.r_[counts, 0], permutations=99)
    assert len(r) == 10


# -- period-on-period change ------------------------------------------------------------------

def test_preventable_cases_down_10_7_percent():
    # 28 preventable cases in the first half, 25 in the second: (25 - 28) / 28 = -10.7%
    t = pd.to_datetime(["2023-02-01"] * 28 + ["2023-08-01"] * 25 + ["2023-08-02"] * 4)
    inc = pd.DataFrame({"occurred_at": t, "category": ["burglary"] * 53 + ["dispute"] * 4,
                        "preventable": [True] * 53 + [False] * 4})
    r = period_change(inc, ["b1"] * 57, period_days=181, end="2023-12-31",
                      preventable_only=True)
    row = r.set_index("beat_id").loc["b1"]
    assert row[["previous", "current", "change", "pct_change", "trend"]].tolist() == \
        [28, 25, -3, -10.7, "down"]
    everything = period_change(inc, ["b1"] * 57, period_days=181, end="2023-12-31")
    assert everything.set_index("beat_id").loc["b1", "current"] == 29


def test_year_on_year_and_trends():
    t = pd.to_datetime(["2022-03-01", "2022-03-02", "2023-03-01", "2023-03-05", "2023-03-06"])
    inc = pd.DataFrame({"occurred_at": t})
    r = period_change(inc, ["a", "b", "a", "a", "c"], period_days=31, compare="year",
                      end="2023-03-31").set_index("beat_id")
    assert (r.loc["a", "previous"], r.loc["a", "current"], r.loc["a", "trend"]) == (1, 2, "up")
    assert r.loc["a", "pct_change"] == 100.0
    assert (r.loc["b", "current"], r.loc["b", "trend"]) == (0, "down")
    assert r.loc["c", "trend"] == "new" and np.isnan(r.loc["c", "pct_change"])
    assert r.loc["(all)", "previous"] == 2 and r.loc["(all)", "current"] == 3


def test_period_windows():
    t = pd.to_datetime(["2023-01-01", "2023-12-31"])
    (c0, c1), (p0, p1) = period_windows(t, period_days=0)
    assert (c1 - c0).days == 182 and p1 == c0 and (p1 - p0).days == 182
    with pytest.raises(InputError, match="too short"):
        period_windows(t, compare="year")
    with pytest.raises(InputError, match="occurred_at"):
        period_windows([None])


# -- project -------------------------------------------------------------------------------

def test_hotspots_project_on_beats():
    z = lattice(4, size=500.0).rename(columns={})
    beats = z.to_crs(4490)
    rng = np.random.default_rng(5)
    # a cluster over the 2 x 2 block of beats c0, c1, c4, c5, and background noise
    xy = np.r_[rng.uniform(0, 1000, (160, 2)), rng.uniform(0, 2000, (40, 2))]
    inc = gpd.GeoDataFrame({"category": "burglary", "preventable": True,
                            "occurred_at": pd.Timestamp("2023-01-01")
                            + pd.to_timedelta(rng.integers(0, 365, 200), unit="D")},
                           geometry=shapely.points(xy), crs=CRS).to_crs(4490)
    settings = load_policing_settings({"hotspots": {"permutations": 99}})
    res = hotspots_project({"beats": beats, "incidents": inc}, settings=settings)
    assert res.zone_kind == "beats"
    hot = set(res.zones.loc[res.zones.hotspot == "hot", "zone_id"])
    assert hot and hot <= {"c0", "c1", "c4", "c5"}
    assert res.change is not None and res.change["beat_id"].iloc[-1] == "(all)"
    assert len(res.density) > 0
    with pytest.raises(InputError, match="no incidents"):
        hotspots_project({"beats": beats})
