"""Beats (gis/policing/beats.py) and responsibility areas (gis/policing/areas.py)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from beatgrid.gis.policing.areas import (area_polygons, assign_loaded_areas, balance_weights,
                                         connected_components, grow_regions,
                                         responsibility_areas)
from beatgrid.gis.policing.beats import beat_summary, derive_beats, resolve_beats
from beatgrid.gis.policing.location import adjacency
from beatgrid.gis.errors import InputError

X0, Y0, D = 121.50, 29.80, 0.01


def box(i, j):
    return shapely.box(X0 + i * D, Y0 + j * D, X0 + (i + 1) * D, Y0 + (j + 1) * D)


def lattice_beats(n, m=None, *, station=None):
    m = m or n
    cells = [(i, j) for j in range(m) for i in range(n)]
    return gpd.GeoDataFrame({"id": [f"b{k}" for k in range(len(cells))],
                             "station_id": station},
                            geometry=[box(i, j) for i, j in cells], crs=4490)


@pytest.fixture
def comms():
    return gpd.GeoDataFrame({"id": ["c1", "c2", "v1", "v2"], "name": ["甲", "乙", "丙村", "丁村"],
                             "kind": ["urban", "urban", "rural", "rural"],
                             "station_id": ["S1", "S1", "S1", "S1"]},
                            geometry=[box(0, 0), box(1, 0), box(0, 1), box(1, 1)], crs=4490)


def test_derive_one_beat_per_community(comms):
    beats, beat_of = derive_beats(comms)
    assert beats["id"].tolist() == ["c1", "c2", "v1", "v2"]
    assert beats["station_id"].tolist() == ["S1"] * 4
    assert beat_of.to_dict() == {"c1": "c1", "c2": "c2", "v1": "v1", "v2": "v2"}


def test_rural_villages_share_a_beat_up_to_the_household_cap(comms):
    hh = {"c1": 3000, "c2": 2000, "v1": 600, "v2": 700}
    beats, beat_of = derive_beats(comms, households=hh, rural_merge=True,
                                  rural_max_households=1500)
    assert beat_of["v1"] == beat_of["v2"] == "v1"             # 1,300 <= 1,500
    assert beat_of["c1"] == "c1" and beat_of["c2"] == "c2"    # urban never merged
    assert len(beats) == 3
    assert beats.set_index("id").loc["v1", "name"] == "丙村/丁村"
    beats, beat_of = derive_beats(comms, households=hh, rural_merge=True,
                                  rural_max_households=1000)
    assert beat_of["v1"] != beat_of["v2"]


def test_derived_beats_keep_existing_beat_ids(comms):
    c = comms.assign(beat_id=["B1", "B2", "B3", "B4"])
    beats, beat_of = derive_beats(c)
    assert beats["id"].tolist() == ["B1", "B2", "B3", "B4"]


def test_resolve_beats_sources(comms):
    beats, beat_of, source = resolve_beats({"communities": comms})
    assert source == "derived" and len(beats) == 4
    c = comms.assign(beat_id=["B1", "B1", "B2", "B2"])
    beats, beat_of, source = resolve_beats({"communities": c})
    assert source == "communities.beat_id" and beats["id"].tolist() == ["B1", "B2"]
    layer = gpd.GeoDataFrame({"id": ["X", "Y"], "station_id": [None, None]},
                             geometry=[box(0, 0).union(box(1, 0)), box(0, 1).union(box(1, 1))],
                             crs=4490)
    beats, beat_of, source = resolve_beats({"communities": comms, "beats": layer})
    assert source == "layer"
    assert beat_of.to_dict() == {"c1": "X", "c2": "X", "v1": "Y", "v2": "Y"}   # by location
    assert beats["station_id"].tolist() == ["S1", "S1"]                       # from communities
    with pytest.raises(InputError):
        resolve_beats({})


def test_beat_summary_counts_everything(comms):
    pt = lambda i, j, f=0.5: shapely.Point(X0 + (i + f) * D, Y0 + (j + f) * D)  # noqa: E731
    bld = gpd.GeoDataFrame({
        "households": [300, 200, 50], "population_registered": [600, 300, 100],
        "population_floating": [900, 100, 20], "community_id": ["c1", None, "v1"]},
        geometry=[pt(0, 0).buffer(1e-4), pt(0, 0, 0.3).buffer(1e-4), pt(0, 1).buffer(1e-4)],
        crs=4490)
    inc = gpd.GeoDataFrame({"category": ["burglary", "dispute", "dispute"],
                            "preventable": [True, False, False]},
                           geometry=[pt(0, 0), pt(0, 0, 0.2), shapely.Point(0, 0)], crs=4490)
    rooms = gpd.GeoDataFrame({"id": ["r1", "r2"], "room_type": [1, 2], "beat_id": ["c1", None],
                              "office_condition": ["second_floor", "independent"]},
                             geometry=[pt(0, 0), pt(1, 0)], crs=4490)
    grids = gpd.GeoDataFrame({"id": ["g1", "g2"], "community_id": ["c1", "c1"]},
                             geometry=[box(0, 0), box(0, 0)], crs=4490)
    staff = pd.DataFrame({"beat_id": ["c1", "c1", "c2"], "community_officers": [1, 1, 1],
                          "auxiliaries": [2, 1, 0], "floating_managers": [1, 0, 0],
                          "grid_workers": [0, 0, 0]})
    s = beat_summary({"communities": comms, "buildings": bld, "incidents": inc,
                      "police_rooms": rooms, "grids": grids, "staff": staff}).set_index("beat_id")
    c1 = s.loc["c1"]
    assert (c1.households, c1.population_registered, c1.population_floating) == (500, 900, 1000)
    assert c1.population_actual == 1900 and c1.floating_ratio == pytest.approx(1000 / 900)
    assert (c1.incidents, c1.incidents_preventable, c1.grids) == (2, 1, 2)
    assert (c1.room_id, c1.room_type, c1.office_condition) == ("r1", 1, "second_floor")
    assert (c1.community_officers, c1.auxiliaries, c1.floating_managers) == (2, 3, 1)
    assert s.loc["c2", "room_id"] == "r2"                     # located by position
    assert s.loc["v1", "households"] == 50 and not s.loc["v1", "on_roster"]
    assert np.isnan(s.loc["v2", "floating_ratio"])
    # 0.01 deg x 0.01 deg at 29.8 N: 0.966 km x 1.109 km
    assert s.loc["c1", "area_km2"] == pytest.approx(0.966 * 1.109, rel=0.01)


# -- responsibility areas -----------------------------------------------------------------

def contiguous(beats, labels):
    adj = adjacency(beats)
    return all(len(connected_components(adj, list(np.flatnonzero(labels == lab)))) == 1
               for lab in set(labels))


@pytest.mark.parametrize("k", [2, 3, 4, 6])
def test_equal_weights_split_evenly_and_contiguously(k):
    b = lattice_beats(6)
    a = responsibility_areas(b, k=k, weights=np.ones(36))
    loads = pd.Series(1, index=a.to_numpy()).groupby(level=0).sum()
    assert len(loads) == k and loads.max() - loads.min() == 0
    assert contiguous(b, a.to_numpy())


def test_unequal_weights_are_balanced():
    b = lattice_beats(6)
    w = np.random.default_rng(1).integers(1, 10, 36).astype(float)
    a = responsibility_areas(b, k=4, weights=w)
    loads = pd.Series(w, index=a.to_numpy()).groupby(level=0).sum()
    assert loads.max() - loads.min() <= 9          # within one beat's largest weight
    assert contiguous(b, a.to_numpy())


def test_areas_stay_within_stations_and_components():
    left = lattice_beats(2, 3, station="S1")
    right = lattice_beats(2, 3, station="S2").assign(id=lambda d: "r" + d["id"])
    right = right.set_geometry(right.geometry.translate(2 * D, 0))
    b = pd.concat([left, right], ignore_index=True)
    a = responsibility_areas(b, beats_per_area=3)
    assert all(x.startswith("RA-S1-") for x in a[:6]) and all(x.startswith("RA-S2-")
                                                                for x in a[6:])
    assert a.nunique() == 4
    # two separate pieces need two areas even when one is asked for
    apart = lattice_beats(1, 1).pipe(lambda d: pd.concat([d, d.assign(
        id="far", geometry=[box(5, 5)])], ignore_index=True))
    assert responsibility_areas(apart, k=1).nunique() == 2


def test_grow_regions_chain_and_errors():
    adj = [{1}, {0, 2}, {1, 3}, {2}]
    assert grow_regions(adj, [3, 1, 1, 3], [[0, 0], [1, 0], [2, 0], [3, 0]], 2).tolist() \
        == [0, 0, 1, 1]
    with pytest.raises(InputError):
        grow_regions(adj, [1, -1, 1, 1], np.zeros((4, 2)), 2)


def test_balance_weights_fallbacks():
    s = pd.DataFrame({"beat_id": ["a", "b"], "households": [100, 300], "incidents": [0, 0]})
    assert balance_weights(s, balance_by="incidents").tolist() == [100, 300]   # all zero
    assert balance_weights(s, balance_by="beats").tolist() == [1, 1]
    hours = pd.Series({"a": 2.0, "b": 6.0})
    assert balance_weights(s, balance_by="workload_hours", workload_hours=hours).tolist() \
        == [2.0, 6.0]
    with pytest.raises(InputError):
        balance_weights(s, balance_by="workload_hours")


def test_area_polygons_and_loaded_areas():
    b = lattice_beats(2, 1, station="S1")
    areas = area_polygons(b, ["RA-1", "RA-1"])
    assert areas["id"].tolist() == ["RA-1"] and areas["station_id"].tolist() == ["S1"]
    assert areas.geometry.iloc[0].area == pytest.approx(2 * D * D)
    loaded = gpd.GeoDataFrame({"id": ["L1", "L2"]}, geometry=[box(0, 0).buffer(D * 0.1),
                                                              box(1, 0)], crs=4490)
    assert assign_loaded_areas(b, loaded).tolist() == ["L1", "L2"]
    kept = b.assign(responsibility_area_id=["X", None])
    assert assign_loaded_areas(kept, loaded).tolist() == ["X", "L2"]
