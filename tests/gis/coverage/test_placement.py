"""Camera placement: candidates, coverage matrix, lazy greedy, HiGHS ILP, recommendations."""

import math

import geopandas as gpd
import numpy as np
import pytest
import shapely
from scipy.sparse import csc_matrix

from beatgrid.gis.config import Config
from beatgrid.gis.coverage import placement as P
from beatgrid.gis.coverage.candidates import candidate_poses, coverage_matrix, demand_points
from beatgrid.gis.coverage.raycast import Occluders
from beatgrid.gis.coverage.solvers import lazy_greedy, solve_ilp
from beatgrid.gis.errors import InputError, NotFoundError


def _cov(override):
    """The coverage section with ``override`` applied (as ``--settings`` does)."""
    return Config.load(coverage=override).coverage

CRS = 4549
X0, Y0 = 500000.0, 3300000.0


def _box(x0, y0, x1, y1):
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def _pt(x, y):
    return shapely.Point(X0 + x, Y0 + y)


# A small instance solved by hand: six demand points of weight 1,
# pose 0 sees {0, 1, 2, 3}, pose 1 sees {0, 1, 4}, pose 2 sees {2, 3, 5}.
# With two cameras the greedy takes pose 0 first (4 points) and then one more point (5);
# the optimum is poses 1 and 2, which see all six.
HAND = csc_matrix(np.array([
    [1, 1, 0],
    [1, 1, 0],
    [1, 0, 1],
    [1, 0, 1],
    [0, 1, 0],
    [0, 0, 1],
]))


def test_lazy_greedy_on_the_hand_instance():
    r = lazy_greedy(HAND, np.ones(6), 2)
    assert r.selected[0] == 0 and r.objective == 5.0
    assert r.gains.tolist() == [4.0, 1.0]
    assert r.covered.sum() == 5


def test_ilp_returns_the_hand_optimum_with_zero_gap():
    r = solve_ilp(HAND, np.ones(6), 2)
    assert sorted(r.selected.tolist()) == [1, 2]
    assert r.objective == 6.0 and r.gap == 0.0 and r.status == "Optimal"
    assert r.bound == pytest.approx(6.0)
    # a warm start from the greedy does not change the optimum
    r2 = solve_ilp(HAND, np.ones(6), 2, warm_start=[0, 1])
    assert sorted(r2.selected.tolist()) == [1, 2]


def test_weights_budget_and_sites():
    w = np.array([1, 1, 1, 1, 10, 1.0])
    assert lazy_greedy(HAND, w, 1).selected.tolist() == [1]
    # poses 1 and 2 stand at one site: only one of them may be taken
    r = solve_ilp(HAND, np.ones(6), 2, sites=np.array([0, 1, 1]))
    assert sorted(r.selected.tolist()) in ([0, 1], [0, 2]) and r.objective == 5.0
    g = lazy_greedy(HAND, np.ones(6), 3, sites=np.array([0, 1, 1]))
    assert len(g.selected) == 2
    # nothing left to gain: the greedy stops before the budget
    assert len(lazy_greedy(HAND, np.ones(6), 10).selected) == 3
    with pytest.raises(InputError, match="weights"):
        lazy_greedy(HAND, np.ones(5), 2)


def test_greedy_matches_brute_force_on_random_instances():
    from itertools import combinations

    rng = np.random.default_rng(0)
    for _ in range(5):
        A = csc_matrix((rng.random((30, 8)) < 0.25).astype(np.int8))
        w = rng.random(30)
        best = max(w[(A[:, list(c)].sum(axis=1).A1 > 0)].sum() for c in combinations(range(8), 3))
        ilp = solve_ilp(A, w, 3)
        assert ilp.objective == pytest.approx(best)
        greedy = lazy_greedy(A, w, 3)
        assert greedy.objective >= (1 - 1 / math.e) * best - 1e-9


def test_candidate_poses_look_out_of_walls_and_along_streets():
    b = gpd.GeoDataFrame(geometry=[_box(0, 0, 30, 10)], crs=CRS)
    street = gpd.GeoDataFrame(geometry=[shapely.LineString([(X0 - 20, Y0 - 20),
                                                            (X0 + 40, Y0 - 20)])], crs=CRS)
    c = candidate_poses(b, street)
    walls = c[c.kind == "wall"]
    assert len(walls) == 6 and len(c[c.kind == "corner"]) == 4
    # every wall pose stands just outside and looks away from the building
    assert not shapely.intersects(b.geometry.iloc[0], walls.geometry.values).any()
    south = walls[walls.geometry.y < Y0]
    assert (south.direction.round() == 180).all()
    lamps = c[c.kind == "lamp"]
    assert len(lamps) == 4 and set(lamps.direction.round()) == {90.0, 270.0}
    assert lamps.groupby("site").size().eq(2).all()
    assert (c[["fov_deg", "range_m"]].to_numpy() == [90.0, 30.0]).all()
    only_walls = candidate_poses(b, street, settings=_cov({"placement": {
        "use_corners": False, "use_lamps": False, "wall_spacing_m": 5.0}}))
    assert set(only_walls.kind) == {"wall"} and len(only_walls) == 2 * (6 + 2)


def test_coverage_matrix_respects_occlusion():
    poses = gpd.GeoDataFrame({"direction": [90.0, 270.0], "fov_deg": [90.0, 90.0],
                              "range_m": [20.0, 20.0], "height_m": [0.0, 0.0],
                              "tilt_deg": [0.0, 0.0]},
                             geometry=[_pt(0, 0), _pt(0, 0)], crs=CRS)
    demand = gpd.GeoDataFrame(geometry=[_pt(5, 0), _pt(15, 0), _pt(-5, 0), _pt(0, 5)],
                              crs=CRS)
    occ = Occluders([_box(10, -2, 11, 2)])
    A = coverage_matrix(poses, demand, occluders=occ).toarray()
    assert A.tolist() == [[1, 0], [0, 0], [0, 1], [0, 0]]


def test_demand_weights_share_households_and_incidents():
    zone = gpd.GeoSeries([_box(0, 0, 40, 20)], crs=CRS)
    bld = gpd.GeoDataFrame({"households": [30]}, geometry=[_box(15, 5, 25, 15)], crs=CRS)
    inc = gpd.GeoDataFrame({"preventable": [True, False]},
                           geometry=[_pt(2, 2), _pt(38, 18)], crs=CRS)
    d = demand_points(zone, buildings=bld, incidents=inc)
    assert len(d) == 32 - 4                    # 5 m grid minus the 4 cells in the building
    assert d["households_w"].sum() == pytest.approx(30.0)
    assert d["incidents_w"].sum() == pytest.approx(1.0)     # the preventable one only
    assert (d["weight"] == 1.0 + d["households_w"] + 5.0 * d["incidents_w"]).all()


def _courtyards():
    # An estate split by one building into a west and an east courtyard (25 x 20 m each).
    # Candidates: the west and east walls only; a preventable incident in the east one.
    est = gpd.GeoDataFrame({"id": ["E1"], "is_old": [True], "access": ["open"]},
                           geometry=[_box(0, 0, 60, 20)], crs=CRS)
    bld = gpd.GeoDataFrame({"id": ["B1"], "households": [40]},
                           geometry=[_box(25, 0, 35, 20)], crs=CRS)
    inc = gpd.GeoDataFrame({"id": ["I1"], "preventable": [True]}, geometry=[_pt(50, 10)],
                           crs=CRS)
    cams = gpd.GeoDataFrame({"id": []}, geometry=[], crs=CRS)
    beats = gpd.GeoDataFrame({"id": ["B"]}, geometry=[_box(-50, -50, 110, 70)], crs=CRS)
    layers = {"estates": est, "buildings": bld, "incidents": inc, "cameras": cams,
              "beats": beats}
    settings = _cov({"placement": {"use_corners": False, "use_lamps": False,
                                   "wall_spacing_m": 20.0}})
    return layers, settings


def test_recommend_cameras_hand_solved_estate():
    layers, settings = _courtyards()
    one = P.recommend_cameras(layers, budget=1, estate="E1", settings=settings)
    assert len(one.proposals) == 1
    p = one.proposals.to_crs(CRS).iloc[0]
    # the east courtyard (the incident) wins: the camera on the east wall looking east
    assert p.geometry.x > X0 + 35 and p["direction"] == pytest.approx(90.0)
    assert p["kind"] == "wall" and p["estate_id"] == "E1" and p["gain"] > 0
    two = P.recommend_cameras(layers, budget=2, estate="E1", settings=settings)
    assert sorted(two.proposals["direction"].round()) == [90.0, 270.0]
    ilp = P.recommend_cameras(layers, budget=2, estate="E1", settings=settings, method="ilp")
    assert ilp.info["gap"] == 0.0
    assert ilp.info["objective"] == pytest.approx(two.info["objective"])
    # before / after for the zones the new cameras touch
    eff = two.effects.set_index(["zone_type", "zone_id"])
    e1 = eff.loc[("estate", "E1")]
    assert e1["seen_share_all_before"] == 0.0 and e1["seen_share_all_after"] > 0.3
    assert e1["cameras_inside_before"] == 0 and e1["cameras_inside_after"] == 2
    assert eff.loc[("beat", "B"), "new_cameras"] == 2
    assert two.views is not None and set(two.views["camera_id"]) == {"NEW001", "NEW002"}


def test_recommend_cameras_errors():
    layers, settings = _courtyards()
    with pytest.raises(NotFoundError, match="estate 'E9'"):
        P.recommend_cameras(layers, budget=1, estate="E9")
    with pytest.raises(InputError, match="budget"):
        P.recommend_cameras(layers, budget=0)
    with pytest.raises(InputError, match="method"):
        P.recommend_cameras(layers, budget=1, method="annealing")


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    from beatgrid.gis.io.project import write_layers
    from beatgrid.gis.sample import generate_district

    path = tmp_path_factory.mktemp("place") / "d.gpkg"
    layers = generate_district(households=3000, seed=1)
    write_layers(path, layers, validate=False)
    return path, layers


def test_recommend_command(project, tmp_path):
    from beatgrid.api.cli import main
    from beatgrid.gis.io import derived

    path, layers = project
    old = layers["estates"][layers["estates"]["is_old"]]["id"].iloc[0]
    out = tmp_path / "prop.gpkg"
    html = tmp_path / "prop.html"
    assert main(["cameras", "recommend", "--project", str(path), "--budget", "4",
                 "--estate", old, "--out", str(out), "--map", str(html)]) == 0
    prop = derived.read_derived(out, "camera_proposals")
    assert 1 <= len(prop) <= 4 and prop.crs.to_epsg() == 4490
    assert {"direction", "fov_deg", "range_m", "gain"} <= set(prop.columns)
    assert (prop["gain"] > 0).all()
    eff = derived.read_derived(out, "proposal_effects")
    assert "seen_share_all_after" in eff.columns
    assert "Proposed cameras" in html.read_text(encoding="utf-8")
    assert main(["cameras", "recommend", "--project", str(path), "--budget", "3",
                 "--method", "ilp", "--time-limit", "20", "--out", str(out)]) == 0
    assert len(derived.read_derived(out, "camera_proposals")) == 3
