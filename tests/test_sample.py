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


def test_some_beats_are_understaffed_under_the_seeds_rules(per_community):
    s = per_community
    actual = s["population_registered"] + s["population_floating"]
    needs_two = (actual > 10_000) | (s["population_floating"] > s["population_registered"])
    short_officers = needs_two & (s["community_officers"] < 2)
    short_auxiliaries = s["auxiliaries"] < 1.5 * s["community_officers"]
    assert short_officers.any() and (needs_two & (s["community_officers"] >= 2)).any()
    assert short_auxiliaries.any() and not short_auxiliaries.all()
    assert (s["floating_managers"] < s["population_floating"] / 500).any()
    assert (s["grid_workers"] >= 1).all()


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

def test_counts_scale_with_households(district):
    big = generate_district(households=200_000, seed=0)
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

    path = Path(__file__).resolve().parents[1] / "sample-geodata" / "ningbo-jiangbei.gpkg"
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
