"""The synthetic sample district: determinism, counts, topology and the seeds' patterns."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from beatgrid.gis import schema
from beatgrid.gis.crs import to_metric
from beatgrid.gis.errors import InputError, PolicyError
from beatgrid.gis.sample import generate_district
from beatgrid.gis.policing.staffing import assess_project
from beatgrid.gis.policing.policy import load_policy


@pytest.fixture(scope="module")
def district():
    return generate_district()


@pytest.fixture(scope="module")
def metric(district):
    return {name: to_metric(df) for name, df in district.items()
            if isinstance(df, gpd.GeoDataFrame) and len(df)}


@pytest.fixture(scope="module")
def per_community(district, metric):
    """Households, residents, incidents and staff per community (computed from the layers)."""
    b = district["buildings"]
    stats = b.groupby("community_id")[["households", "population_registered",
                                        "population_floating"]].sum()
    joined = gpd.sjoin(metric["incidents"], metric["communities"][["id", "geometry"]],
                       predicate="within")
    stats["incidents"] = joined.groupby("id_right").size().reindex(stats.index, fill_value=0)
    comm = district["communities"].set_index("id")
    staff = district["staff"].set_index("beat_id").loc[comm.loc[stats.index, "beat_id"]]
    return pd.concat([stats, staff.set_index(stats.index), comm[["kind"]]], axis=1)


def _same(a, b):
    if isinstance(a, gpd.GeoDataFrame):
        assert shapely.equals_exact(a.geometry.array, b.geometry.array, tolerance=0).all()
        a, b = pd.DataFrame(a.drop(columns="geometry")), pd.DataFrame(b.drop(columns="geometry"))
    pd.testing.assert_frame_equal(a, b)


# -- the project contract ---------------------------------------------------------------

def test_every_layer_conforms_and_the_project_validates(district):
    assert list(district) == schema.LAYER_ORDER
    for name, df in district.items():
        _, problems = schema.conform_layer(df, name)
        assert problems == [], (name, problems[:3])
        if schema.get_spec(name).spatial:
            assert df.crs.to_epsg() == 4490
    report = schema.validate_project(district)
    assert report.ok, report.format(limit=5)
    assert district["grids"].empty
    assert district["buildings"]["grid_id"].isna().all()


def test_same_seed_same_frames_other_seed_differs():
    a = generate_district(households=3000, seed=5)
    b = generate_district(households=3000, seed=5)
    for name in schema.LAYER_ORDER:
        _same(a[name], b[name])
    c = generate_district(households=3000, seed=6)
    assert not shapely.equals_exact(a["communities"].geometry.array,
                                    c["communities"].geometry.array, tolerance=1e-9).all()


def test_located_in_ningbo_jiangbei(district):
    x0, y0, x1, y1 = district["communities"].total_bounds
    assert 121.50 <= x0 < x1 <= 121.60 and 29.88 <= y0 < y1 <= 29.96


# -- counts -----------------------------------------------------------------------------

def test_counts_match_the_spec(district):
    comm = district["communities"]
    assert len(district["stations"]) == 2
    assert len(comm) == 12 and len(district["beats"]) == 12
    assert 3 <= (comm["kind"] == "rural").sum() <= 4
    assert abs(district["buildings"]["households"].sum() - 30_000) <= 1_500
    assert 2 <= len(district["responsibility_areas"]) <= 6
    assert 250 <= len(district["cameras"]) <= 350
    assert 1_200 <= len(district["incidents"]) <= 1_800
    assert set(district["key_places"]["kind"]) >= {"rental_house", "hotel", "internet_cafe"}


def test_estates_include_a_dozen_old_open_ones(district):
    e = district["estates"]
    old_open = e["is_old"] & (e["access"] == "open")
    assert 8 <= old_open.sum() <= 20
    assert len(e) >= 3 * old_open.sum()
    assert (e.loc[old_open, "access_doors"] < e.loc[old_open, "stairwells"]).all()
    assert (e.loc[e["access"] == "closed", "access_doors"]
            == e.loc[e["access"] == "closed", "stairwells"]).all()
    assert (e.loc[e["is_old"], "year_built"] < 2000).all()
    assert (e.loc[~e["is_old"], "year_built"] >= 2000).all()


def test_building_kinds_have_realistic_households(district):
    b = district["buildings"]
    old = b["estate_id"].isin(district["estates"].loc[district["estates"]["is_old"], "id"])
    assert b.loc[old, "households"].between(24, 36).all() and (b.loc[old, "levels"] == 6).all()
    new = b["estate_id"].notna() & ~old
    assert b.loc[new, "households"].between(60, 200).all()
    rural = b["community_id"].isin(district["communities"].query("kind == 'rural'")["id"])
    assert b.loc[rural, "households"].between(1, 2).all()
    assert (b.loc[~b["use"].isin(["residential", "mixed"]), "households"] == 0).all()
    assert str(b["households"].dtype) == "Int64"


# -- hierarchy and topology -------------------------------------------------------------

def test_communities_tile_the_district(metric):
    comm = metric["communities"]
    union = shapely.union_all(comm.geometry.array)
    assert union.geom_type == "Polygon" and len(union.interiors) == 0
    assert abs(comm.area.sum() - union.area) < 1.0  # m2: no overlaps
    tree = shapely.STRtree(comm.geometry.array)
    i, j = tree.query(comm.geometry.array, predicate="intersects")
    overlap = shapely.area(shapely.intersection(comm.geometry.array[i[i < j]],
                                                comm.geometry.array[j[i < j]]))
    assert overlap.max() < 1e-3


def test_beats_areas_and_stations_nest(district, metric):
    comm, beats = district["communities"], district["beats"]
    assert beats["id"].tolist() == [f"B{i:02d}" for i in range(1, 13)]
    assert comm["beat_id"].is_unique
    ra = metric["responsibility_areas"]
    assert (ra.geometry.geom_type == "Polygon").all()  # adjacent beats joined
    per_area = beats.groupby("responsibility_area_id").size()
    assert per_area.between(2, 6).all()
    for _, st in metric["stations"].iterrows():
        members = metric["communities"][comm["station_id"] == st["id"]]
        assert abs(members.area.sum() - st.geometry.area) < 1.0
    beat_station = beats.set_index("id")["station_id"]
    assert (beat_station[comm["beat_id"]].to_numpy() == comm["station_id"].to_numpy()).all()


def test_buildings_neither_overlap_nor_cross_streets(metric):
    b = metric["buildings"].geometry.array
    tree = shapely.STRtree(b)
    i, j = tree.query(b, predicate="intersects")
    assert (i == j).all()
    hits = tree.query(metric["streets"].geometry.array, predicate="intersects")
    assert hits.shape[1] == 0


def test_every_building_lies_in_exactly_one_community(metric):
    b = metric["buildings"]
    joined = gpd.sjoin(b[["id", "community_id", "geometry"]],
                       metric["communities"][["id", "geometry"]], predicate="within")
    assert len(joined) == len(b) and joined["id_left"].is_unique
    assert (joined["community_id"] == joined["id_right"]).all()


def test_streets_form_an_irregular_network(district, metric):
    s = metric["streets"]
    assert set(s["street_class"]) >= {"primary", "secondary", "tertiary", "residential", "lane"}
    segs = shapely.get_coordinates(shapely.get_parts(s.geometry.array))
    # many directions, not a lattice of two
    major = s[s["street_class"].isin(["residential", "tertiary"])].geometry.array
    xy = [shapely.get_coordinates(g) for g in shapely.get_parts(major)]
    angles = np.array([np.degrees(np.arctan2(*(c[-1] - c[0])[::-1])) % 180 for c in xy])
    assert len(np.unique(np.round(angles / 10))) >= 8
    assert len(segs) > 0
    # arterials run along community boundaries
    arterials = shapely.union_all(s[s["street_class"] == "primary"].geometry.array)
    edges = shapely.union_all(shapely.boundary(metric["communities"].geometry.array))
    assert shapely.length(shapely.difference(arterials, edges.buffer(0.5))) < 1.0


# -- the seeds' patterns ----------------------------------------------------------------

def test_population_inversion_in_two_or_three_communities(per_community):
    inverted = per_community["population_floating"] > per_community["population_registered"]
    assert 2 <= inverted.sum() <= 3


def test_incidents_concentrate_where_floating_residents_are(district, per_community):
    rate = per_community["incidents"] / per_community["households"]
    inverted = per_community["population_floating"] > per_community["population_registered"]
    assert rate[inverted].min() > 1.5 * rate[~inverted].median()
    inc = district["incidents"]
    assert 0.35 <= inc["preventable"].mean() <= 0.45
    assert (inc["preventable"] == inc["category"].isin(schema.PREVENTABLE_CATEGORIES)).all()
    assert (inc["occurred_at"].dt.year == 2025).all()
    assert inc["occurred_at"].dt.month.nunique() == 12


# -- the staff roster under the shipped staffing policy -----------------------------------

OFFICER_RULES = {"officers_per_beat", "officers_population", "officers_inverted",
                 "officers_room_type", "officers_workload"}
MILD_RULES = {"floating_managers_ratio", "grid_workers_per_grid"}


def _outcome(gaps):
    """Each beat's outcome: "full" (no failed rule), "severe" (an officer or auxiliary
    rule failed) or "mild" (only floating managers / grid workers short)."""
    failed = gaps["failed_rules"].map(lambda s: set(filter(None, s.split(";"))))
    severe = failed.map(lambda f: bool(f & (OFFICER_RULES | {"auxiliaries_ratio"})))
    return np.where(failed.map(len) == 0, "full", np.where(severe, "severe", "mild")), failed


@pytest.fixture(scope="module")
def staffing(district):
    return assess_project(district, policy=load_policy())


@pytest.fixture(scope="module")
def big():
    return generate_district(households=200_000, seed=0)


def test_roster_has_full_severe_and_mild_beats_under_the_shipped_policy(staffing):
    g = staffing.gaps
    outcome, failed = _outcome(g)
    counts = pd.Series(outcome).value_counts()
    # 12 beats: round(0.4 x 12) fully staffed, round(0.3 x 12) clearly short, the rest mild
    assert (counts["full"], counts["severe"], counts["mild"]) == (5, 4, 3)
    full, severe, mild = (outcome == k for k in ("full", "severe", "mild"))
    assert (g.loc[full, "severity"] == "ok").all()
    assert (g.loc[~full, "severity"] != "ok").all()
    # clearly understaffed: an officer short under 一区双警 / 人口倒挂 (and auxiliaries
    # below 1:1.5), severity high or worse
    assert (g.loc[severe, "officers_gap"] == 1).all()
    assert (g.loc[severe, "officers_required"] == 2).all()
    assert failed[severe].map(lambda f: "auxiliaries_ratio" in f).all()
    assert g.loc[severe, "severity"].isin(["high", "critical"]).all()
    # mildly short: officers and auxiliaries met, floating managers or grid workers short
    assert failed[mild].map(lambda f: bool(f) and f <= MILD_RULES).all()
    assert (g.loc[mild, ["officers_gap", "auxiliaries_gap"]] == 0).all().all()
    assert g.loc[mild, "severity"].isin(["low", "medium"]).all()
    assert failed[mild].map(lambda f: "floating_managers_ratio" in f).any()
    assert failed[mild].map(lambda f: "grid_workers_per_grid" in f).any()
    # fully staffed beats include some needing two officers (they have them)
    assert ((g["officers_required"] == 2) & full).any()
    assert (g.loc[full, "floating_managers_actual"] * 500
            >= g.loc[full, "population_floating"]).all()


def test_inversion_beats_are_clearly_understaffed(staffing):
    g = staffing.gaps
    inverted = g["population_floating"] > g["population_registered"]
    assert inverted.sum() == 2
    assert g.loc[inverted, "failed_rules"].str.contains("officers_inverted").all()
    assert (g.loc[inverted, "officers_actual"] == 1).all()
    assert g.loc[inverted, "severity"].isin(["high", "critical"]).all()
    worst = g.sort_values("severity_rank").head(4)
    assert set(g.loc[inverted, "beat_id"]) <= set(worst["beat_id"])


def test_roster_counts_estimated_grids_and_workload(district, staffing):
    g = staffing.gaps
    # no basic grids are planned: grid workers are required per ceil(households / 500)
    assert g["grids_estimated"].all()
    assert (g["grid_workers_required"] == np.ceil(g["households"] / 500)).all()
    assert (g["officers_required"] >= g["officers_workload"]).all()
    assert (g["officers_workload"] >= 1).all()  # the incidents are counted
    rooms = district["police_rooms"].set_index("beat_id")
    assert (rooms.loc[g["beat_id"], "room_type"].to_numpy()
            == np.where(g["officers_actual"] >= 2, 1, 2)).all()
    assert staffing.rooms.loc[staffing.rooms["flags"].str.contains("understaffed"),
                              "beat_id"].isin(g.loc[g["officers_gap"] > 0, "beat_id"]).all()


def test_roster_proportions_hold_at_scale(big):
    g = assess_project(big, policy=load_policy()).gaps
    outcome, _ = _outcome(g)
    counts = pd.Series(outcome).value_counts()
    n = len(g)
    assert n == 80
    assert (counts["full"], counts["severe"], counts["mild"]) == (round(0.4 * n), round(0.3 * n),
                                                                  n - 56)
    inverted = g["population_floating"] > g["population_registered"]
    assert inverted.sum() >= 10
    assert (pd.Series(outcome)[inverted.to_numpy()] == "severe").all()
    assert g.loc[outcome == "severe", "severity"].isin(["high", "critical"]).all()
    assert (g.loc[outcome == "mild", "severity"] == "low").mean() >= 0.8


def test_roster_follows_the_policy_and_settings_given():
    policy = {"floating_managers": {"floating_per_manager": 800}}
    layers = generate_district(households=15_000, seed=2, policy=policy,
                               settings={"staff": {"fully_staffed_share": 0.5,
                                                   "severely_short_share": 0.0}})
    g = assess_project(layers, policy=load_policy(policy)).gaps
    outcome, _ = _outcome(g)
    inverted = (g["population_floating"] > g["population_registered"]).to_numpy()
    assert len(g) == 6 and 1 <= inverted.sum() <= 2
    # no severe quota: only the inversion beats are clearly short
    assert (outcome == "full").sum() == 3
    assert ((outcome == "severe") == inverted).all()


def test_roster_has_its_own_random_stream():
    a = generate_district(households=3000, seed=5)
    b = generate_district(households=3000, seed=5, settings={"staff": {"spare_share": 1.0}})
    for name in ("buildings", "cameras", "incidents", "estates", "key_places"):
        _same(a[name], b[name])
    assert (b["staff"]["auxiliaries"] >= a["staff"]["auxiliaries"]).all()
    assert not a["staff"].equals(b["staff"])


def test_police_rooms_of_both_types_and_several_conditions(district):
    rooms = district["police_rooms"]
    assert set(rooms["room_type"]) == {1, 2}
    assert rooms["office_condition"].nunique() >= 3
    staff = district["staff"].set_index("beat_id")
    officers = staff.loc[rooms["beat_id"], "community_officers"].to_numpy()
    assert ((rooms["room_type"] == 1) == (officers >= 2)).all()
    assert (rooms["setting"] == "rural").sum() == (district["communities"]["kind"] == "rural").sum()


def test_cameras_mostly_watch_roads(district, metric):
    cam, m = district["cameras"], metric["cameras"]
    inside = gpd.sjoin(m, metric["estates"][["geometry"]], predicate="intersects")
    assert 0 < cam["estate_id"].notna().mean() <= 0.05
    assert inside.index.nunique() / len(cam) <= 0.05
    road = m[cam["kind"] == "road"]
    streets = shapely.union_all(metric["streets"].geometry.array)
    assert (shapely.distance(road.geometry.array, streets) < 0.5).all()
    dome = cam["direction"].isna()
    assert 0 < dome.mean() < 0.25 and (cam.loc[dome, "fov_deg"] == 360).all()
    optics = cam["focal_length_mm"].notna()
    assert optics.any() and cam.loc[optics, "resolution_h_px"].notna().all()
    fov = np.degrees(2 * np.arctan(cam.loc[optics, "sensor_width_mm"]
                                   / (2 * cam.loc[optics, "focal_length_mm"])))
    assert np.allclose(fov, cam.loc[optics, "fov_deg"], atol=0.1)
    assert cam[["fov_deg", "range_m", "height_m", "tilt_deg"]].notna().all().all()


def test_governance_grids_mostly_but_not_always_nest_in_beats(metric):
    grids = metric["governance_grids"]
    beats = metric["beats"][["id", "geometry"]].rename(columns={"id": "beat"})
    pieces = gpd.overlay(grids[["id", "geometry"]], beats, how="intersection",
                         keep_geom_type=True)
    largest = pieces.assign(a=pieces.area).groupby("id")["a"].max()
    nested = largest / grids.set_index("id").area.loc[largest.index] > 0.99
    assert 0.6 <= nested.mean() < 1.0
    assert set(grids["department"]) == {"comprehensive_governance", "city_operations"}


# -- scale, settings and input errors --------------------------------------------------

def test_counts_scale_with_households(district, big):
    assert abs(big["buildings"]["households"].sum() - 200_000) <= 10_000
    assert 70 <= len(big["communities"]) <= 90
    assert 11 <= len(big["stations"]) <= 16
    assert abs(len(big["cameras"]) - 2_000) <= 200
    assert len(big["buildings"]) > 5 * len(district["buildings"])


def test_settings_override_and_bad_input():
    few = generate_district(households=2000, settings={"cameras": {"households_per_camera": 50}})
    assert abs(len(few["cameras"]) - 40) <= 3
    with pytest.raises(PolicyError, match="unknown key"):
        generate_district(households=2000, settings={"cameras": {"per_household": 1}})
    with pytest.raises(InputError, match="households"):
        generate_district(households=10)
    with pytest.raises(InputError, match="seed"):
        generate_district(seed=-1)


def test_committed_sample_is_the_generator_output(district):
    from pathlib import Path

    from beatgrid.gis.io.project import read_project

    path = Path(__file__).resolve().parents[2] / "sample-geodata" / "ningbo-jiangbei.gpkg"
    if not path.exists():
        pytest.skip("sample-geodata/ningbo-jiangbei.gpkg is not in this checkout")
    stored = read_project(path)
    assert schema.validate_project(stored).ok
    for name in ("communities", "buildings", "cameras", "estates", "staff"):
        a, b = district[name], stored[name]
        assert len(a) == len(b), name
        key = a.columns[0]
        assert (a[key].to_numpy() == b[key].to_numpy()).all(), name
        if isinstance(a, gpd.GeoDataFrame):
            assert shapely.equals_exact(a.geometry.array, b.geometry.array, tolerance=1e-9).all()
    assert (district["buildings"]["households"].to_numpy()
            == stored["buildings"]["households"].to_numpy()).all()


# -- degenerate streets (clipping leftovers, lon/lat collapse) ------------------------------

def test_street_frame_drops_clipping_leftovers_wherever_they_are():
    from beatgrid.gis.sample.streets import MIN_STREET_PIECE_M, street_frame

    line = shapely.LineString
    geoms = np.array([
        line([(0, 0), (100, 0)]),
        shapely.MultiLineString([[(5, 5), (5 + 1e-13, 5)]]),   # nothing but a leftover
        shapely.GeometryCollection([shapely.Point(3, 3), shapely.MultiLineString(
            [[(0, 10), (50, 10)], [(50, 10), (50, 60)]])]),     # nested multi-part
        None,
        shapely.MultiLineString([[(0, 20), (1e-15, 20)], [(1e-15, 20), (40, 20)]]),
    ], dtype=object)
    s = street_frame(geoms, np.array(list("abcde"), dtype=object), comm=np.arange(5))
    assert s["street_class"].tolist() == ["a", "c", "e"]
    assert s["comm"].tolist() == [0, 2, 4]
    parts = shapely.get_parts(s["geometry"].to_numpy())
    assert (shapely.length(parts) > MIN_STREET_PIECE_M).all()
    assert shapely.get_type_id(s["geometry"].to_numpy()).tolist() == [1, 1, 1]
    assert street_frame([], "lane").empty
    assert street_frame(geoms[1:2], "lane").empty


def test_street_collapsing_in_lon_lat_is_dropped_not_emitted():
    from beatgrid.gis.sample.common import ToStorage, conformed, frame
    from beatgrid.gis.sample.district import _streets_frame

    to = ToStorage(121.55, 29.92)
    # the village road that households=1000, seed=6 clips: it starts exactly on its
    # community's edge and the clip leaves a 4e-15 m piece, a valid line in metres...
    a, b = (-17.36901870463387, 844.2703240112368), (-17.369018704633866, 844.2703240112368)
    road = shapely.MultiLineString([[a, b], [(0.0, 900.0), (80.0, 900.0)]])
    assert shapely.is_valid(road)
    # ... whose ends round to one lon/lat point: the error seed 1 at 1M households hit
    data = {"id": ["ST01"], "name": ["x路"], "street_class": ["tertiary"]}
    with pytest.raises(RuntimeError, match="Too few points in geometry component"):
        conformed(frame(data, [road], to, "streets"), "streets")
    streets = pd.DataFrame({"geometry": [road, shapely.LineString([a, b]),
                                         shapely.LineString([(0, 0), (10, 0)])],
                            "name": ["甲路", "乙路", "丙路"],
                            "street_class": ["tertiary", "lane", "lane"]})
    out = conformed(_streets_frame(streets, to), "streets")
    assert out["id"].tolist() == ["ST01", "ST02"] and out["name"].tolist() == ["甲路", "丙路"]
    assert shapely.is_valid(out.geometry.array).all()
    assert out.geometry.iloc[0].geom_type == "LineString"  # the collapsed part is gone


def test_clipping_leftovers_of_a_small_district_never_reach_the_streets(monkeypatch):
    """The root cause on a small input: households=1000, seed=6 clips a village road that
    starts on its community's edge into a ~1e-15 m leftover plus the road."""
    import beatgrid.gis.sample.streets as st

    seen = []
    original = st.street_frame

    def spy(geoms, *args, **kwargs):
        parts = shapely.get_parts(np.asarray(geoms, dtype=object))
        seen.append(float(shapely.length(parts).min()) if len(parts) else np.inf)
        return original(geoms, *args, **kwargs)

    monkeypatch.setattr(st, "street_frame", spy)
    layers = generate_district(households=1000, seed=6)
    assert min(seen) < 1e-9  # the leftover was there
    streets = layers["streets"]
    parts = shapely.get_parts(streets.geometry.array)
    assert shapely.is_valid(streets.geometry.array).all()
    assert (shapely.get_num_coordinates(shapely.remove_repeated_points(parts)) >= 2).all()
    assert (shapely.length(shapely.get_parts(to_metric(streets).geometry.array))
            > st.MIN_STREET_PIECE_M).all()
    assert schema.validate_project(layers).ok
