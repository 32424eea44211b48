"""What the staffing assessment can judge, natural id order and incidents snapped to beats."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from beatgrid.gis.policing.location import natural_key, natural_sort_key, place_points
from beatgrid.gis.policing.rollups import rollup
from beatgrid.gis.policing.rooms import room_review
from beatgrid.gis.policing.rules import missing_inputs, requirement_states
from beatgrid.gis.policing.staffing import assess


def beats(n: int = 3, **cols) -> pd.DataFrame:
    base = {"beat_id": [f"b{i}" for i in range(n)], "station_id": "s1",
            "population_registered": 4000, "population_floating": 1000, "households": 1500,
            "community_officers": 1, "auxiliaries": 2, "floating_managers": 2,
            "grid_workers": 3, "on_roster": True}
    base.update(cols)
    return pd.DataFrame(base)


# -- natural order -----------------------------------------------------------------------

def test_natural_key_orders_numbers_by_value_and_keeps_padded_ids():
    assert sorted(["1", "10", "11", "2", "9"], key=natural_key) == ["1", "2", "9", "10", "11"]
    assert sorted(["S10", "S2", "S1"], key=natural_key) == ["S1", "S2", "S10"]
    padded = [f"B{i:02d}" for i in range(1, 13)]
    assert sorted(padded, key=natural_key) == sorted(padded)      # the sample stays as is
    s = pd.Series(["10", "2", None, "1"], dtype=object).sort_values(key=natural_sort_key)
    assert s.iloc[:3].tolist() == ["1", "2", "10"] and pd.isna(s.iloc[3])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.integers(0, 10**6).map(str),
                          st.text("AB-_09", min_size=1, max_size=6)), max_size=30))
def test_natural_key_is_a_total_order(ids):
    once = sorted(ids, key=natural_key)
    assert sorted(reversed(once), key=natural_key) == once
    numbers = [int(i) for i in once if i.isdigit() and i == str(int(i))]
    assert numbers == sorted(numbers)


# -- what can be judged ------------------------------------------------------------------

def test_missing_inputs_reads_empty_layers_and_zero_figures():
    bld = pd.DataFrame({"households": [0, 0], "population_registered": [0, None]})
    assert missing_inputs({"staff": pd.DataFrame(columns=["beat_id"]), "buildings": bld,
                           "incidents": pd.DataFrame({"id": [1]}),
                           "police_rooms": pd.DataFrame({"id": ["r"]})}) \
        == ("staff", "population", "households")


def test_requirement_states_per_rule_and_beat():
    exact, bound = requirement_states(beats(2, grids=[0, 3]),
                                      missing=("households", "incidents"))
    assert bound["grid_workers_per_grid"].tolist() == [False, True]
    assert not exact["officers_workload"].any() and not bound["officers_workload"].any()
    assert bound["auxiliaries_ratio"].all() and not exact["auxiliaries_ratio"].any()
    assert exact["officers_population"].all()


def test_no_roster_is_never_a_shortfall():
    g = assess(beats(on_roster=False), missing=("staff",))
    assert (g["severity"] == "not judged").all() and g["failed_rules"].eq("").all()
    assert g["officers_actual"].isna().all() and g["officers_gap"].isna().all()
    assert (g["officers_required"] == 1).all() and (g["auxiliaries_required"] == 2).all()
    assert g["reasons"].str.startswith("not judged (no staff roster): officers_per_beat").all()
    assert g["severity_rank"].tolist() == [1, 2, 3]


def test_a_shortfall_against_a_lower_bound_is_still_a_shortfall():
    # population unknown: aux requirement is at least ceil(1.5 x 1) = 2; 1 auxiliary fails
    g = assess(beats(2, auxiliaries=[1, 2]), missing=("population",)).set_index("beat_id")
    assert g.loc["b0", "failed_rules"] == "auxiliaries_ratio"
    assert g.loc["b0", "severity"] == "medium"
    assert "needs at least 2 auxiliaries, has 1" in g.loc["b0", "reasons"]
    assert g.loc["b1", "severity"] == "not judged"
    assert "not judged (no population figures): officers_population" in g.loc["b1", "reasons"]
    assert pd.isna(g.loc["b1", "floating_managers_required"])
    assert g.loc["b0", "severity_rank"] == 1


def test_beat_off_the_roster_ranks_after_judged_beats():
    g = assess(beats(3, on_roster=[True, False, True], community_officers=[1, 0, 0]))
    g = g.set_index("beat_id")
    assert g.loc["b1", "severity"] == "not judged" and g.loc["b2", "severity"] == "critical"
    assert g.loc["b1", "severity_rank"] == 3
    assert "not judged (not on the staff roster)" in g.loc["b1", "reasons"]


def test_sample_like_complete_data_is_unchanged():
    g = assess(beats(2, community_officers=[1, 0]))
    assert g["officers_actual"].dtype == "int64" and g["officers_gap"].tolist() == [0, 1]
    assert g["severity"].tolist() == ["ok", "critical"]


def test_rollup_of_unknown_figures_is_unknown_and_worst_is_not_judged():
    g = assess(beats(3, station_id=["10", "2", "2"], on_roster=[True, False, True]))
    r = rollup(g, stations=pd.DataFrame({"id": ["2", "10"], "officers_total": [10, 10]}))
    assert r["station_id"].tolist() == ["2", "10"]
    two = r.set_index("station_id").loc["2"]
    assert pd.isna(two.officers_actual) and pd.isna(two.community_officer_share)
    assert two.worst_severity == "not judged" and two.understaffed_beats == 0
    assert r.set_index("station_id").loc["10", "officers_actual"] == 1


def test_room_review_without_rooms_or_roster():
    g = assess(beats(2, on_roster=False), missing=("staff",))
    assert room_review(g, None).empty and room_review(g, pd.DataFrame()).empty
    rooms = pd.DataFrame({"id": ["PR10", "PR2"], "beat_id": ["b0", "b1"], "room_type": [1, 2]})
    rv = room_review(g, rooms)
    assert rv["room_id"].tolist() == ["PR2", "PR10"]                 # natural order
    assert rv["officers_actual"].isna().all() and not rv["flagged"].any()


# -- incidents just outside every beat ---------------------------------------------------

def test_place_points_snaps_within_tolerance_and_counts_the_rest():
    polys = gpd.GeoDataFrame({"id": ["a", "b"]}, geometry=[shapely.box(0, 0, 100, 100),
                             shapely.box(100, 0, 200, 100)], crs=32651)
    pts = gpd.GeoSeries([shapely.Point(50, 50), shapely.Point(-0.05, 50),
                         shapely.Point(204, 50), shapely.Point(260, 50), None], crs=32651)
    p = place_points(pts, polys, snap_m=5.0)
    assert p.ids.tolist() == ["a", "a", "b", None, None]
    assert (p.snapped, p.outside) == (2, 2)
    assert place_points(pts, polys).outside == 4
    assert place_points(pts.to_crs(4490), polys, snap_m=5.0).snapped == 2
