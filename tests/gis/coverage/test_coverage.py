"""Coverage statistics, blind spots, the old-estate risk ranking, derived layers, CLI."""

import math
import os
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from beatgrid.gis.config import Config
from beatgrid.gis.coverage.analysis import analyse_coverage
from beatgrid.gis.coverage.blind_spots import blind_spots
from beatgrid.gis.coverage.risk import estate_risk
from beatgrid.gis.coverage.seen import SeenIndex, dissolve_overlapping, tiling_cover, union_groups
from beatgrid.gis.coverage.stats import coverage_stats
from beatgrid.gis.coverage.visibility import camera_views
from beatgrid.gis.errors import InputError
from beatgrid.gis.io import derived

CRS = 4549               # CGCS2000 / 3-degree Gauss-Kruger CM 120E (metres)
X0, Y0 = 500000.0, 3300000.0


def _box(x0, y0, x1, y1):
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def _pt(x, y):
    return shapely.Point(X0 + x, Y0 + y)


@pytest.fixture
def scene():
    estate = gpd.GeoDataFrame({"id": ["E1"], "is_old": [True], "access": ["open"],
                               "access_doors": [0], "stairwells": [4]},
                              geometry=[_box(0, 0, 100, 60)], crs=CRS)
    buildings = gpd.GeoDataFrame({"id": ["B1"], "households": [60],
                                  "population_registered": [100],
                                  "population_floating": [50]},
                                 geometry=[_box(40, 20, 60, 40)], crs=CRS)
    cameras = gpd.GeoDataFrame({
        "id": ["c1", "c2", "c3"], "direction": [90.0, None, 180.0],
        "fov_deg": [90.0, 360.0, 90.0], "range_m": [20.0, 8.0, 20.0],
        "height_m": [0.0, 0.0, 0.0]},
        geometry=[_pt(5, 30), _pt(66, 30), _pt(50, -10)], crs=CRS)
    return {"estates": estate, "buildings": buildings, "cameras": cameras}


def _cov(override):
    """The coverage section with ``override`` applied (as ``--settings`` does)."""
    return Config.load(coverage=override).coverage


SETTINGS = _cov({"coverage": {"perimeter_step_m": 0.25}, "visibility": {"arc_step_deg": 0.5}})


def test_coverage_stats_known_answers(scene):
    views = camera_views(scene["cameras"], scene["buildings"], settings=SETTINGS)
    st = coverage_stats(views, zones={"estate": scene["estates"]},
                          buildings=scene["buildings"], cameras=scene["cameras"],
                          settings=SETTINGS).iloc[0]
    assert st["zone_type"] == "estate" and st["zone_id"] == "E1"
    assert st["open_area_m2"] == pytest.approx(6000 - 400)
    sector = math.pi * 400 / 4                                        # c1: free quarter disc
    cap = 64 * math.acos(6 / 8) - 6 * math.sqrt(64 - 36)              # c2: disc cut by the wall
    dome = math.pi * 64 - cap
    assert st["seen_share_all"] == pytest.approx((sector + dome) / 5600, rel=2e-3)
    assert st["unseen_open_m2"] == pytest.approx(5600 - sector - dome, rel=1e-3)
    # quality levels never exceed the whole view and decrease
    levels = [st[f"seen_share_{lv}"] for lv in ("all", "detect", "observe", "recognise",
                                                  "identify")]
    assert all(a >= b - 1e-12 for a, b in zip(levels, levels[1:]))
    # the dome sees 2 x sqrt(28) m of the 80 m of walls
    assert st["perimeter_seen_share"] == pytest.approx(2 * math.sqrt(28) / 80, abs=0.01)
    assert st["cameras_inside"] == 2 and st["cameras_boundary"] == 1
    assert st["households"] == 60
    assert st["cameras_per_1000_households"] == pytest.approx(2 / 60 * 1000)
    assert st["multi_seen_share"] == 0.0


def test_share_seen_by_two_or_more_cameras():
    v = gpd.GeoDataFrame({"camera_id": ["a", "b", "b"], "level": ["all", "all", "detect"]},
                         geometry=[_box(0, 0, 10, 10), _box(5, 0, 15, 10), _box(5, 0, 6, 1)],
                         crs=CRS)
    zone = gpd.GeoDataFrame({"id": ["G1"]}, geometry=[_box(0, 0, 20, 10)], crs=CRS)
    empty = gpd.GeoDataFrame({"households": []}, geometry=[], crs=CRS)
    st = coverage_stats(v, zones={"grid": zone}, buildings=empty).iloc[0]
    assert st["seen_share_all"] == pytest.approx(0.75)
    assert st["multi_seen_share"] == pytest.approx(0.25)
    assert st["seen_share_detect"] == pytest.approx(1 / 200)


def test_entrances_seen_share(scene):
    views = camera_views(scene["cameras"], scene["buildings"], settings=SETTINGS)
    doors = gpd.GeoDataFrame(geometry=[_pt(60, 30), _pt(40, 30)], crs=CRS)  # east, west wall
    st = coverage_stats(views, zones={"estate": scene["estates"]},
                          buildings=scene["buildings"], entrances=doors).iloc[0]
    assert st["entrances"] == 2 and st["entrances_seen_share"] == pytest.approx(0.5)


def test_blind_spots(scene):
    views = camera_views(scene["cameras"], scene["buildings"], settings=SETTINGS)
    bs = blind_spots(views, zones={"estate": scene["estates"]}, buildings=scene["buildings"],
                       settings=SETTINGS)
    assert len(bs) == 1 and bs.crs.to_epsg() == CRS
    row = bs.iloc[0]
    assert row["zone_id"] == "E1" and row["households_around"] == 60
    sector = math.pi * 100
    cap = 64 * math.acos(6 / 8) - 6 * math.sqrt(28)
    assert row["area_m2"] == pytest.approx(5600 - sector - (math.pi * 64 - cap), rel=2e-3)
    # open space only: nothing of the building, nothing seen
    assert shapely.intersection(row.geometry, scene["buildings"].geometry.iloc[0]).area < 1e-6
    seen = shapely.union_all(views[views.level == "all"].geometry.values)
    assert shapely.intersection(row.geometry, seen).area < 1e-3
    # slivers below min_blind_area_m2 are dropped
    none = blind_spots(views, zones={"estate": scene["estates"]},
                         buildings=scene["buildings"],
                         settings=_cov({"coverage": {"min_blind_area_m2": 1e9}}))
    assert len(none) == 0


def _two_estates():
    est = gpd.GeoDataFrame({"id": ["A", "B", "C"], "name": ["a", "b", "c"],
                            "is_old": [True, True, False], "access": ["open", "closed", "open"],
                            "access_doors": [0, 6, 0], "stairwells": [6, 6, 2]},
                           geometry=[_box(0, 0, 50, 50), _box(100, 0, 150, 50),
                                     _box(200, 0, 250, 50)], crs=CRS)
    bld = gpd.GeoDataFrame({"households": [100, 100, 10],
                            "population_registered": [100, 300, 10],
                            "population_floating": [300, 100, 0]},
                           geometry=[_box(20, 20, 30, 30), _box(120, 20, 130, 30),
                                     _box(220, 20, 230, 30)], crs=CRS)
    inc = gpd.GeoDataFrame({"category": ["burglary"] * 3 + ["dispute"],
                            "preventable": [True, True, True, False]},
                           geometry=[_pt(5, 5), _pt(6, 6), _pt(105, 5), _pt(110, 10)], crs=CRS)
    stats = pd.DataFrame({"zone_type": "estate", "zone_id": ["A", "B", "C"],
                          "seen_share_all": [0.1, 0.6, 0.0],
                          "cameras_inside": [0, 1, 0], "households": [100, 100, 10],
                          "cameras_per_1000_households": [0.0, 10.0, 0.0]})
    return est, bld, inc, stats


def test_estate_risk_components_and_rank():
    est, bld, inc, stats = _two_estates()
    r = estate_risk(est, stats=stats, buildings=bld, incidents=inc)
    assert r["estate_id"].tolist() == ["A", "B"]          # old estates only
    assert r["rank"].tolist() == [1, 2]
    a, b = r.iloc[0], r.iloc[1]
    assert a["c_uncovered"] == pytest.approx(0.9) and b["c_uncovered"] == pytest.approx(0.4)
    assert a["c_camera_deficit"] == 1.0 and b["c_camera_deficit"] == pytest.approx(0.5)
    assert a["c_access_deficit"] == 1.0 and b["c_access_deficit"] == 0.0
    assert a["preventable_incidents"] == 2 and b["preventable_incidents"] == 1
    assert a["c_preventable_incidents"] == 1.0 and b["c_preventable_incidents"] == 0.5
    assert a["c_floating_share"] == pytest.approx(0.75)
    w = {"uncovered": 0.30, "camera_deficit": 0.20, "access_deficit": 0.20,
         "preventable_incidents": 0.20, "floating_share": 0.10}
    expect = 100 * (0.3 * 0.9 + 0.2 + 0.2 + 0.2 + 0.1 * 0.75) / 1.0
    assert a["risk_score"] == pytest.approx(expect)
    assert set(w) <= {c[2:] for c in r.columns if c.startswith("c_")}
    # the weights are configurable: only floating population counts -> B never first
    only_float = {"risk": {"weights": {"uncovered": 0.0, "camera_deficit": 0.0,
                                       "access_deficit": 0.0, "preventable_incidents": 0.0,
                                       "floating_share": 1.0}}}
    r2 = estate_risk(est, stats=stats, buildings=bld, incidents=inc, settings=_cov(only_float))
    assert r2["risk_score"].tolist() == pytest.approx([75.0, 25.0])
    # all estates when asked
    r3 = estate_risk(est, stats=stats, buildings=bld, settings=_cov({"risk": {
        "old_estates_only": False}}))
    assert sorted(r3["estate_id"]) == ["A", "B", "C"]


def test_estate_risk_rejects_zero_weights():
    est, bld, inc, stats = _two_estates()
    zero = {"risk": {"weights": {k: 0.0 for k in ("uncovered", "camera_deficit",
                                                   "access_deficit", "preventable_incidents",
                                                   "floating_share")}}}
    with pytest.raises(InputError, match="weights"):
        estate_risk(est, stats=stats, buildings=bld, settings=_cov(zero))


@pytest.fixture(scope="module")
def district():
    from beatgrid.gis.sample import generate_district

    return generate_district(households=3000, seed=1)


def test_analyse_coverage_on_the_generated_district(district):
    out = analyse_coverage(district)
    views, st, bs, risk = out.views, out.stats, out.blind_spots, out.estate_risk
    assert views.crs == district["cameras"].crs
    assert len(views) == 5 * len(district["cameras"])
    assert set(st["zone_type"]) >= {"estate", "beat", "station", "community"}
    shares = st[[c for c in st.columns if c.endswith("_share") or "share_" in c]]
    assert ((shares.fillna(0) >= 0) & (shares.fillna(0) <= 1 + 1e-9)).all().all()
    # the same district seen through beats, communities and stations: same open space
    by = st.groupby("zone_type")["open_area_m2"].sum()
    assert by["beat"] == pytest.approx(by["community"], rel=1e-6)
    assert by["station"] == pytest.approx(by["community"], rel=1e-6)
    inside = st.groupby("zone_type")["cameras_inside"].sum()
    assert inside["beat"] == len(district["cameras"])
    # blind spots: in estates, never in buildings, never seen
    bm = bs.to_crs(out.seen.crs)
    bld = district["buildings"].to_crs(out.seen.crs)
    assert shapely.intersection(shapely.union_all(bm.geometry.values),
                                shapely.union_all(bld.geometry.values)).area < 1e-3
    assert out.seen.area_in(shapely.union_all(bm.geometry.values), "all") < 1.0
    assert (bs["area_m2"] >= 10).all()
    # ranking of the old estates only, with its figures
    n_old = int(district["estates"]["is_old"].sum())
    assert len(risk) == n_old and risk["rank"].tolist() == list(range(1, n_old + 1))
    assert risk["risk_score"].between(0, 100).all()
    assert risk["risk_score"].is_monotonic_decreasing


def test_union_groups_and_dissolve_equal_the_plain_loops():
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 200, (300, 2))
    geoms = shapely.buffer(shapely.points(xy), rng.uniform(2, 12, 300), quad_segs=4)
    group = rng.integers(0, 40, 300)
    got = union_groups(geoms, group, 45)
    for k in range(45):
        members = geoms[group == k]
        if len(members):
            assert shapely.equals_exact(got[k], shapely.union_all(members), tolerance=0)
        else:
            assert got[k] is None
    parts = dissolve_overlapping(geoms)
    assert sum(shapely.area(parts)) == pytest.approx(shapely.union_all(geoms).area, rel=1e-12)
    assert all(shapely.area(shapely.intersection(a, b)) == 0
               for i, a in enumerate(parts) for b in parts[i + 1:])


def test_statistics_shortcuts_equal_the_direct_computation(district):
    """Shared layers, nested layers, tilings and point-on-surface building areas give the
    figures of the plain computation: each layer alone, each zone alone."""
    out = analyse_coverage(district)
    st, seen = out.stats, out.seen
    crs = seen.crs
    bld = district["buildings"].to_crs(crs)
    walls = shapely.union_all(bld.geometry.values)
    figures = ["area_m2", "building_area_m2", "open_area_m2", "unseen_open_m2",
               "multi_seen_share", "perimeter_m", "perimeter_seen_share", "cameras_inside",
               "cameras_boundary", "households"] + [c for c in st.columns
                                                     if c.startswith("seen_share_")]
    for ztype, layer in [("community", "communities"), ("beat", "beats"),
                         ("station", "stations"), ("estate", "estates")]:
        mine = st[st["zone_type"] == ztype].reset_index(drop=True)
        alone = coverage_stats(None, zones={ztype: district[layer]},
                                 buildings=district["buildings"],
                                 cameras=district["cameras"], seen=seen)
        for col in figures:
            assert np.allclose(mine[col], alone[col], rtol=1e-9, atol=1e-9, equal_nan=True), \
                (ztype, col)
        # zone by zone: no tiling, no sharing, exact building areas
        zones = district[layer].to_crs(crs).geometry.values
        for k, z in enumerate(zones):
            open_m2 = mine.loc[k, "open_area_m2"]
            assert mine.loc[k, "building_area_m2"] == pytest.approx(
                shapely.intersection(z, walls).area, rel=1e-9, abs=1e-6)
            for level in seen.pieces:
                col = "multi_seen_share" if level == "multi" else f"seen_share_{level}"
                if open_m2 > 0:
                    assert mine.loc[k, col] * open_m2 == pytest.approx(
                        min(seen.area_in(z, level), open_m2), rel=1e-9, abs=1e-6)
    # stations are made of communities here: their figures add up
    if "station_id" in district["communities"].columns:
        com = st[st["zone_type"] == "community"].merge(
            district["communities"][["id", "station_id"]], left_on="zone_id", right_on="id")
        sta = st[st["zone_type"] == "station"].set_index("zone_id")
        summed = com.groupby("station_id")[["open_area_m2", "unseen_open_m2", "households",
                                            "cameras_inside"]].sum()
        assert np.allclose(summed, sta.loc[summed.index, summed.columns], rtol=1e-9)


def test_tiling_cover_saves_intersections_not_accuracy():
    grid = [shapely.box(x, y, x + 10, y + 10) for x in range(0, 30, 10) for y in range(0, 20, 10)]
    tiling = tiling_cover(grid)
    assert tiling is not None and tiling.union.area == pytest.approx(600)
    assert tiling_cover(grid + [shapely.box(5, 5, 15, 15)]) is None       # overlaps
    views = gpd.GeoDataFrame({"camera_id": ["a", "b", "c"], "level": ["all"] * 3},
                             geometry=[shapely.box(3, 3, 17, 14), shapely.box(22, 1, 35, 9),
                                       shapely.Point(12, 12).buffer(6)], crs=CRS)
    seen = SeenIndex(views, crs=CRS, multi=False)
    zones = np.asarray(grid, dtype=object)
    fast = seen.area_in(zones, "all", cover=tiling)
    slow = np.array([seen.area_in(z, "all") for z in zones])
    assert np.allclose(fast, slow, rtol=1e-12, atol=1e-9)
    # the piece leaving the tiling (x up to 35) is intersected exactly, not completed
    assert fast.sum() == pytest.approx(shapely.intersection(
        shapely.union_all(views.geometry.values), tiling.union).area, rel=1e-12)


def test_osm_extract_cameras():
    pyrosm = pytest.importorskip("pyrosm")
    from beatgrid.gis.crs import metric_crs
    from beatgrid.gis.io.osm import cameras_layer, read_osm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        layers = read_osm(pyrosm.get_data("test_pbf"))
    blds, streets = layers["buildings"], layers["streets"]
    # the test extract carries no surveillance node: nothing is seen, all is blind
    views = camera_views(layers["cameras"], blds)
    assert len(views) == 0
    crs = metric_crs(blds)
    zone = gpd.GeoDataFrame({"id": ["osm"]}, geometry=[shapely.box(
        *blds.to_crs(crs).total_bounds)], crs=crs).to_crs(blds.crs)
    st = coverage_stats(views, zones={"estate": zone}, buildings=blds).iloc[0]
    assert st["seen_share_all"] == 0.0 and st["households"] > 0
    # OSM-tagged camera nodes on the extract's streets, through the OSM normaliser
    rng = np.random.default_rng(7)
    lines = streets.to_crs(crs).geometry.values
    pick = rng.choice(len(lines), 24)
    pts = shapely.line_interpolate_point(lines[pick], rng.random(24), normalized=True)
    raw = gpd.GeoDataFrame({
        "id": np.arange(24), "man_made": "surveillance",
        "camera:type": np.where(np.arange(24) % 3 == 0, "dome", "fixed"),
        "camera:direction": [f"{d:.0f}" for d in rng.uniform(0, 360, 24)],
        "height": "5"}, geometry=gpd.GeoSeries(pts, crs=crs).to_crs(4326), crs=4326)
    cams = cameras_layer(raw, epsg=4326, notes=[])
    views = camera_views(cams, blds, metric=True, levels=False)
    assert len(views) == 24 and shapely.is_valid(views.geometry.values).all()
    walls = shapely.union_all(blds.to_crs(crs).geometry.values)
    assert shapely.area(shapely.intersection(views.geometry.values, walls)).max() < 1e-6
    domes = views.set_index("camera_id").loc[cams[cams.fov_deg == 360]["id"], "area_m2"]
    assert (domes <= math.pi * 30 ** 2 + 1e-6).all()


def test_derived_layers_roundtrip_and_transactional(tmp_path, scene, monkeypatch):
    path = tmp_path / "p.gpkg"
    views = camera_views(scene["cameras"], scene["buildings"])
    derived.write_derived(path, {"camera_views": views})
    back = derived.read_derived(path, "camera_views")
    assert len(back) == len(views) and back.crs.to_epsg() == 4490
    before = path.read_bytes()
    with pytest.raises(InputError, match="unknown derived"):
        derived.write_derived(path, {"views": views})

    import pyogrio
    calls = []

    def boom(df, p, layer=None, **kw):
        calls.append(layer)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real(df, p, layer=layer, **kw)

    real = pyogrio.write_dataframe
    monkeypatch.setattr(pyogrio, "write_dataframe", boom)
    with pytest.raises(RuntimeError):
        derived.write_derived(path, {"camera_views": views.iloc[:1],
                                     "blind_spots": views.iloc[:1]})
    assert path.read_bytes() == before
    assert [f for f in os.listdir(tmp_path) if f.endswith(".tmp.gpkg")] == []


def test_coverage_command(tmp_path, district, capsys):
    from beatgrid.api.cli import main
    from beatgrid.gis.io.project import write_layers

    project = tmp_path / "d.gpkg"
    assert main(["coverage", "--project", str(project)]) == 2
    assert "does not exist" in capsys.readouterr().err
    write_layers(project, district, validate=False)
    assert main(["coverage", "--project", str(project), "--profile", "nope"]) == 2
    assert "unknown quality profile 'nope'" in capsys.readouterr().err
    out = tmp_path / "cov.gpkg"
    html = tmp_path / "cov.html"
    assert main(["coverage", "--project", str(project), "--out", str(out),
                 "--map", str(html)]) == 0
    assert set(derived.list_derived(out)) == {"camera_views", "blind_spots", "coverage_stats",
                                              "estate_risk"}
    st = derived.read_derived(out, "coverage_stats")
    assert {"zone_type", "zone_id", "seen_share_all", "seen_share_identify",
            "perimeter_seen_share", "cameras_inside", "cameras_boundary",
            "cameras_per_1000_households", "multi_seen_share"} <= set(st.columns)
    bs = derived.read_derived(out, "blind_spots")
    assert "area_m2" in bs.columns and bs.crs.to_epsg() == 4490
    text = html.read_text(encoding="utf-8")
    assert "Blind spots" in text and "Seen: identify" in text and "https://cdn" not in text
    # into the project itself, with a profile and bands
    assert main(["coverage", "--project", str(project), "--profile", "iec62676_2025",
                 "--zones", "bands"]) == 0
    v = derived.read_derived(project, "camera_views")
    assert "scrutinise" in set(v["level"]) or "discern" in set(v["level"])
