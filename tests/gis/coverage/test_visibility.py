"""Occlusion: known answers on tiny scenes, invariants, accuracy against the exact overlay."""

import math

import geopandas as gpd
import numpy as np
import pytest
import shapely
import shapely.affinity
from hypothesis import given, settings
from hypothesis import strategies as st

from beatgrid.gis.coverage import visibility as V
from beatgrid.gis.coverage.raycast import Occluders
from beatgrid.gis.errors import InputError

NAN = float("nan")


def _sector_area(r, deg):
    return math.pi * r * r * deg / 360.0


def _one(x, y, direction, fov, rng, buildings, **kw):
    res = V.visibility_polygons([x], [y], direction_deg=[direction], fov_deg=[fov],
                                range_m=[rng], occluders=Occluders(buildings), **kw)
    return res.geometry[0], res


def _iou(a, b):
    inter = shapely.intersection(a, b).area
    union = a.area + b.area - inter
    return 1.0 if union == 0 else inter / union


def test_no_buildings_gives_the_sector_and_the_disc():
    g, _ = _one(0, 0, 90.0, 90.0, 30.0, [], arc_step_deg=0.5)
    assert g.area == pytest.approx(_sector_area(30, 90), rel=1e-4)
    g, _ = _one(0, 0, NAN, 360.0, 10.0, [], arc_step_deg=0.5)
    assert g.area == pytest.approx(math.pi * 100, rel=1e-4)


def test_wall_across_half_the_field_of_view():
    # camera at the origin looking east (90 deg fov, 30 m); a wall at x = 10 covers the
    # northern half of the view: north of the axis the view stops at the wall (a
    # triangle of 10 x 10 / 2), south of it the sector is free.
    wall = shapely.box(10, 0, 11, 40)
    g, _ = _one(0, 0, 90.0, 90.0, 30.0, [wall], arc_step_deg=0.25)
    expected = _sector_area(30, 45) + 50.0
    assert g.area == pytest.approx(expected, rel=1e-3)
    assert shapely.intersection(g, wall).area < 1e-9
    ref = V.reference_visibility(0, 0, direction_deg=90, fov_deg=90, range_m=30,
                                 buildings=[wall], arc_step_deg=0.25)
    assert _iou(g, ref) > 0.999


def test_dome_between_two_buildings():
    # a dome between two long buildings 3 m either side sees only the strip between them
    left, right = shapely.box(-8, -40, -3, 40), shapely.box(3, -40, 8, 40)
    g, _ = _one(0, 0, NAN, 360.0, 20.0, [left, right], arc_step_deg=0.25)
    strip = 2 * (3 * math.sqrt(400 - 9) + 400 * math.asin(3 / 20))   # |x| <= 3 in the disc
    assert g.area == pytest.approx(strip, rel=2e-3)
    assert g.bounds[0] >= -3 - 1e-6 and g.bounds[2] <= 3 + 1e-6
    assert shapely.intersection(g, shapely.union(left, right)).area < 1e-9


def test_near_blind_zone_cuts_an_annulus():
    g, _ = _one(0, 0, NAN, 360.0, 10.0, [], near_m=[4.0], arc_step_deg=0.5)
    assert g.area == pytest.approx(math.pi * (100 - 16), rel=1e-3)
    assert not g.contains(shapely.Point(0, 0))
    g, _ = _one(0, 0, 0.0, 90.0, 10.0, [], near_m=[4.0], arc_step_deg=0.5)
    assert g.area == pytest.approx(_sector_area(10, 90) - _sector_area(4, 90), rel=1e-3)


def test_wall_inside_the_near_zone_blocks_the_whole_view():
    g, res = _one(0, 0, 90.0, 60.0, 30.0, [shapely.box(2, -20, 3, 20)], near_m=[5.0])
    assert g.is_empty
    # it says so: "blocked", not "ok" with nothing seen (its quality levels too)
    assert res.status.tolist() == ["blocked"]


def test_blocked_only_when_a_field_of_view_is_hidden():
    wall = [shapely.box(2, -20, 3, 20)]
    # looking away from the wall: ok; no range or a near zone beyond the range: nothing
    # to see, so nothing is blocked
    for direction, rng, near in ((270.0, 30.0, 0.0), (90.0, 0.0, 0.0), (90.0, 4.0, 5.0)):
        _, res = _one(0, 0, direction, 60.0, rng, wall, near_m=[near])
        assert res.status.tolist() == ["ok"], (direction, rng, near)
    # a camera moved off a wall that it faces: blocked, with its levels empty too
    res = V.visibility_polygons([3.0], [0.0], direction_deg=[270.0], fov_deg=[60.0],
                                range_m=[30.0], near_m=[5.0], occluders=Occluders(wall),
                                level_distances=[[20.0, 10.0]])
    assert res.status.tolist() == ["blocked"] and all(g.is_empty for g in res.geometry)
    # an indoor camera stays indoor
    _, res = _one(2.5, 0, 90.0, 60.0, 30.0, [shapely.box(-20, -20, 20, 20)])
    assert res.status.tolist() == ["indoor"]


def test_camera_views_reports_blocked_cameras():
    crs = 4547
    cams = gpd.GeoDataFrame({"id": ["free", "faces_wall"], "direction": [270.0, 90.0],
                             "fov_deg": [60.0, 60.0], "range_m": [30.0, 30.0],
                             "height_m": [8.0, 8.0], "tilt_deg": [15.0, 15.0]},
                            geometry=[shapely.Point(0, 0), shapely.Point(0, 0)], crs=crs)
    walls = gpd.GeoDataFrame(geometry=[shapely.box(2, -20, 3, 20)], crs=crs)
    v = V.camera_views(cams, walls)
    whole = v[v["level"] == "all"].set_index("camera_id")
    assert whole.loc["free", "status"] == "ok" and whole.loc["free", "area_m2"] > 0
    assert whole.loc["faces_wall", "status"] == "blocked"
    assert whole.loc["faces_wall", "area_m2"] == 0
    assert set(v[v["camera_id"] == "faces_wall"]["status"]) == {"blocked"}


def test_nested_and_banded_quality_zones():
    occ = Occluders([shapely.box(12, -2, 14, 2)])
    kw = dict(direction_deg=[90.0], fov_deg=[60.0], range_m=[30.0], near_m=[1.0],
              occluders=occ, arc_step_deg=1.0, level_distances=[[25.0, 15.0, 8.0]])
    nested = V.visibility_polygons([0.0], [0.0], zones="nested", **kw).geometry
    bands = V.visibility_polygons([0.0], [0.0], zones="bands", **kw).geometry
    whole = nested[0]
    for k in range(1, 4):
        assert shapely.difference(nested[k], whole).area < 1e-6
    assert nested[1].area > nested[2].area > nested[3].area > 0
    # bands partition the first level's zone
    assert sum(b.area for b in bands[1:]) == pytest.approx(nested[1].area, rel=1e-6)
    assert shapely.intersection(bands[1], bands[2]).area < 1e-6
    assert bands[3].area == pytest.approx(nested[3].area, rel=1e-9)


def test_camera_on_a_wall_is_moved_out_and_indoor_camera_sees_nothing():
    house = shapely.box(0, 0, 10, 10)
    g, res = _one(10.0, 5.0, 90.0, 90.0, 20.0, [house])        # on the east wall
    assert res.status[0] == "moved" and res.x[0] > 10.0
    assert g.area > 0.9 * _sector_area(20, 90)
    assert shapely.intersection(g, house).area < 1e-9
    g, res = _one(9.8, 5.0, NAN, 360.0, 20.0, [house])          # just inside: moved out
    assert res.status[0] == "moved"
    assert shapely.intersection(g, house).area < 1e-9
    g, res = _one(5.0, 5.0, NAN, 360.0, 20.0, [shapely.box(-20, -20, 30, 30)])
    assert res.status[0] == "indoor" and g.is_empty


def test_overlapping_buildings():
    a = shapely.box(5, -6, 15, 2)
    b = shapely.affinity.rotate(shapely.box(8, -2, 20, 6), 20)
    for direction, fov in ((90.0, 120.0), (NAN, 360.0)):
        g, _ = _one(0, 0, direction, fov, 30.0, [a, b], arc_step_deg=0.5)
        ref = V.reference_visibility(0, 0, direction_deg=direction, fov_deg=fov, range_m=30,
                                     buildings=[a, b], arc_step_deg=0.5)
        assert _iou(g, ref) > 0.999
        assert shapely.intersection(g, shapely.union(a, b)).area < 1e-6


def _scene(seed, n_buildings=40, size=160.0):
    rng = np.random.default_rng(seed)
    polys = []
    while len(polys) < n_buildings:
        cx, cy = rng.uniform(0, size, 2)
        w, h = rng.uniform(4, 22, 2)
        p = shapely.affinity.rotate(shapely.box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2),
                                    rng.uniform(0, 180))
        if rng.random() < 0.3:  # L-shaped footprint (concave corners)
            p = p.difference(shapely.box(cx, cy, cx + w, cy + h))
            if p.geom_type != "Polygon":
                continue
        if any(p.buffer(0.5).intersects(q) for q in polys):
            continue
        polys.append(p)
    u = shapely.union_all(polys)
    cams = []
    while len(cams) < 24:
        pt = rng.uniform(15, size - 15, 2)
        if not u.intersects(shapely.Point(pt)):
            cams.append(pt)
    cams = np.array(cams)
    n = len(cams)
    direction = rng.uniform(0, 360, n)
    direction[::4] = NAN
    fov = rng.uniform(20, 220, n)
    fov[::4] = 360.0
    rng_m = rng.uniform(8, 60, n)
    near = np.where(np.arange(n) % 3 == 0, rng.uniform(0.5, 6, n), 0.0)
    return polys, u, cams, direction, fov, rng_m, near


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_invariants_and_accuracy_on_random_scenes(seed):
    polys, u, cams, direction, fov, rng_m, near = _scene(seed)
    res = V.visibility_polygons(cams[:, 0], cams[:, 1], direction_deg=direction, fov_deg=fov,
                                range_m=rng_m, near_m=near, occluders=Occluders(polys),
                                arc_step_deg=1.0)
    assert shapely.is_valid(res.geometry).all()
    for i, g in enumerate(res.geometry):
        x, y = cams[i]
        # inside the field of view (the exact sector: its arc, not a chord, bounds the view)
        sector = V.fov_polygon(x, y, direction_deg=direction[i], fov_deg=fov[i],
                               range_m=rng_m[i], arc_step_deg=0.1)
        assert shapely.difference(g, sector.buffer(1e-3)).area < 1e-9
        # never inside a building
        assert shapely.intersection(g, u).area < 1e-6
        # IoU >= 0.99 against the exact overlay (here far better)
        ref = V.reference_visibility(x, y, direction_deg=direction[i], fov_deg=fov[i],
                                     range_m=rng_m[i], near_m=near[i], buildings=polys,
                                     arc_step_deg=1.0)
        assert _iou(g, ref) >= 0.999, (seed, i)


@settings(max_examples=30, deadline=None)
@given(cx=st.floats(-30, 30), cy=st.floats(-30, 30), w=st.floats(1, 25), h=st.floats(1, 25),
       angle=st.floats(0, 180), direction=st.floats(0, 359.9), fov=st.floats(5, 360),
       rng_m=st.floats(5, 60))
def test_single_building_matches_the_exact_overlay(cx, cy, w, h, angle, direction, fov, rng_m):
    b = shapely.affinity.rotate(shapely.box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2),
                                angle)
    if b.distance(shapely.Point(0, 0)) < 0.5:
        return
    d = NAN if fov >= 360 else direction
    g, _ = _one(0, 0, d, fov, rng_m, [b], arc_step_deg=1.0)
    ref = V.reference_visibility(0, 0, direction_deg=d, fov_deg=fov, range_m=rng_m,
                                 buildings=[b], arc_step_deg=1.0)
    assert shapely.is_valid(g)
    assert shapely.intersection(g, b).area < 1e-6
    assert _iou(g, ref) >= 0.999


def test_default_arc_step_meets_the_accuracy_target():
    polys, u, cams, direction, fov, rng_m, near = _scene(5)
    res = V.visibility_polygons(cams[:, 0], cams[:, 1], direction_deg=direction, fov_deg=fov,
                                range_m=rng_m, near_m=near, occluders=Occluders(polys))
    for i, g in enumerate(res.geometry):
        ref = V.reference_visibility(cams[i, 0], cams[i, 1], direction_deg=direction[i],
                                     fov_deg=fov[i], range_m=rng_m[i], near_m=near[i],
                                     buildings=polys, arc_step_deg=0.1)
        assert _iou(g, ref) >= 0.99


def test_chunks_and_threads_give_the_same_views():
    polys, u, cams, direction, fov, rng_m, near = _scene(3)
    kw = dict(direction_deg=direction, fov_deg=fov, range_m=rng_m, near_m=near,
              occluders=Occluders(polys))
    a = V.visibility_polygons(cams[:, 0], cams[:, 1], **kw).geometry
    b = V.visibility_polygons(cams[:, 0], cams[:, 1], chunk_cameras=5, n_jobs=2, **kw).geometry
    assert all(shapely.equals_exact(x, y, tolerance=1e-9) for x, y in zip(a, b))


def test_camera_views_frame_and_crs():
    crs = 4549  # CGCS2000 GK CM 120E (metric)
    cams = gpd.GeoDataFrame({"id": ["c1", "c2"], "direction": [90.0, None],
                             "fov_deg": [90.0, 360.0], "range_m": [30.0, 15.0]},
                            geometry=[shapely.Point(500000, 3300000),
                                      shapely.Point(500050, 3300000)], crs=crs)
    blds = gpd.GeoDataFrame({"id": ["b1"]}, geometry=[shapely.box(500010, 3300000, 500012,
                                                                   3300020)], crs=crs)
    geo = cams.to_crs(4490)
    v = V.camera_views(geo, blds.to_crs(4490))
    assert v.crs.to_epsg() == 4490
    assert v["level"].tolist()[:5] == ["all", "detect", "observe", "recognise", "identify"]
    assert set(v["camera_id"]) == {"c1", "c2"}
    assert (v["area_m2"] >= 0).all() and (v["status"] == "ok").all()
    allv = v[v.level == "all"].set_index("camera_id")
    assert allv.loc["c2", "area_m2"] == pytest.approx(math.pi * 225, rel=0.01)
    only = V.camera_views(geo, blds.to_crs(4490), levels=False, metric=True)
    assert only["level"].unique().tolist() == ["all"] and only.crs.is_projected


def test_bad_arguments_name_the_argument():
    occ = Occluders([])
    with pytest.raises(InputError, match="fov_deg"):
        V.visibility_polygons([0.0, 1.0], [0.0, 1.0], direction_deg=[0.0, 0.0], fov_deg=[90.0],
                              range_m=[10.0, 10.0], occluders=occ)
    with pytest.raises(InputError, match="zones"):
        V.visibility_polygons([0.0], [0.0], direction_deg=[0.0], fov_deg=[90.0],
                              range_m=[10.0], occluders=occ, zones="rings")
    with pytest.raises(InputError, match="range_m"):
        V.visibility_polygons([0.0], [0.0], direction_deg=[0.0], fov_deg=[90.0],
                              range_m=[-1.0], occluders=occ)
