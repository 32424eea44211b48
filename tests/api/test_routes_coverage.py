"""HTTP endpoints of api/routes/coverage.py on a copy of the committed sample project.

The sample district (sample-geodata/ningbo-jiangbei.gpkg) is regenerated when its
generator changes, so the expected figures are read from the copy under test (its layers
and the gis functions the endpoints wrap) and the sample's documented patterns are
checked as relations ("few cameras inside estates", "old estates are blind spots"),
not as exact counts.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient

import beatgrid.gis.coverage.workflow as workflow
from beatgrid.api.rendering import NOTES_HEADER
from beatgrid.api.routes.coverage import MAX_BUDGET
from beatgrid.api.service import create_app
from beatgrid.gis import Project
from beatgrid.gis.coverage.fov import coverage_settings
from beatgrid.gis.coverage.visibility import camera_views
from beatgrid.gis.coverage.workflow import LAYERS

SAMPLE = Path(__file__).resolve().parents[2] / "sample-geodata" / "ningbo-jiangbei.gpkg"
ZONE_LAYERS = {"estate": "estates", "beat": "beats", "station": "stations",
               "community": "communities"}


def _client(directory: Path) -> TestClient:
    path = directory / "p.gpkg"
    shutil.copy(SAMPLE, path)
    return TestClient(create_app(path))


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    return _client(tmp_path_factory.mktemp("sample"))


@pytest.fixture(scope="module")
def layers(client):
    return Project.open(client.app.state.project.location).read(list(LAYERS))


@pytest.fixture(scope="module")
def expected(client):
    return Project.open(client.app.state.project.location).coverage.analyse()


@pytest.fixture(scope="module")
def risk(client):
    r = client.get("/coverage/estate_risk")
    assert r.status_code == 200, r.text
    return r.json()


def lonlat_ok(coords) -> bool:
    xy = np.asarray(coords, dtype=float).reshape(-1, 2)
    return bool(((xy[:, 0] > 121.4) & (xy[:, 0] < 121.7) & (xy[:, 1] > 29.8)
                 & (xy[:, 1] < 30.0)).all())


# -- statistics ---------------------------------------------------------------------------

def test_stats_per_zone_type(client, layers, expected):
    want = expected.stats
    for ztype, layer in ZONE_LAYERS.items():
        r = client.get("/coverage/stats", params={"zone_type": ztype})
        assert r.status_code == 200, r.text
        rows = r.json()
        assert len(rows) == len(layers[layer]) > 0
        assert [row["zone_id"] for row in rows] == layers[layer]["id"].astype(str).tolist()
        w = want[want["zone_type"] == ztype]
        assert [row["seen_share_all"] for row in rows] == pytest.approx(
            w["seen_share_all"].tolist(), nan_ok=True)
        assert [row["cameras_inside"] for row in rows] == w["cameras_inside"].tolist()
        for row in rows:
            assert "geometry" not in row
            assert row["area_m2"] == pytest.approx(row["building_area_m2"] + row["open_area_m2"])
            shares = [v for k, v in row.items() if "share" in k and v is not None]
            assert all(0 <= v <= 1 + 1e-9 for v in shares)
            # nested quality levels: seeing a face is rarer than seeing anything at all
            assert row["seen_share_identify"] <= row["seen_share_detect"] \
                <= row["seen_share_all"] + 1e-9
    everything = client.get("/coverage/stats").json()
    assert len(everything) == len(want)
    # the beats tile the district: every camera stands in one beat
    beats = [row for row in everything if row["zone_type"] == "beat"]
    assert sum(row["cameras_inside"] for row in beats) == len(layers["cameras"])
    # the seeds' pattern: few cameras inside the estates, where most households live
    estates = [row for row in everything if row["zone_type"] == "estate"]
    inside = sum(row["cameras_inside"] for row in estates)
    assert inside < 0.1 * len(layers["cameras"])
    assert sum(row["households"] for row in estates) > 0.2 * sum(row["households"]
                                                                 for row in beats)


def test_stats_for_a_zone_layer_the_project_lacks(client, layers):
    assert not len(layers["grids"]), "the sample plans no basic grids"
    r = client.get("/coverage/stats", params={"zone_type": "grid"})
    assert r.status_code == 200 and r.json() == []
    assert "no grids" in json.loads(r.headers[NOTES_HEADER])[0]


# -- blind spots and the ranking ----------------------------------------------------------

def test_blind_spots_geojson(client, layers, expected):
    r = client.get("/coverage/blind_spots")
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    features = r.json()["features"]
    assert len(features) == len(expected.blind_spots) > 0
    props = [f["properties"] for f in features]
    areas = [p["area_m2"] for p in props]
    min_area = coverage_settings()["coverage"]["min_blind_area_m2"]
    assert all(a >= min_area > 0 for a in areas)
    assert areas == sorted(areas, reverse=True)                        # largest first
    assert len({p["id"] for p in props}) == len(props)
    assert all(p["households_around"] >= 0 for p in props)
    assert sum(p["households_around"] > 0 for p in props) > len(props) / 2
    assert {p["zone_id"] for p in props} <= set(layers["estates"]["id"])
    assert lonlat_ok(features[0]["geometry"]["coordinates"][0])        # EPSG:4326 degrees
    # blind spots are unseen open space: per estate never more than the unseen area
    stats = {row["zone_id"]: row for row in
             client.get("/coverage/stats", params={"zone_type": "estate"}).json()}
    per_estate: dict = {}
    for p in props:
        per_estate[p["zone_id"]] = per_estate.get(p["zone_id"], 0.0) + p["area_m2"]
    for estate, area in per_estate.items():
        assert area <= stats[estate]["unseen_open_m2"] + 1e-3
    # and they contain no building and no seen space
    gdf = gpd.GeoDataFrame.from_features(features, crs=4326).to_crs(expected.seen.crs)
    union = shapely.union_all(gdf.geometry.values)
    assert expected.seen.area_in(union, "all") < 1.0
    # one estate only
    top = props[0]["zone_id"]
    only = client.get("/coverage/blind_spots", params={"estate": top}).json()["features"]
    assert only and {f["properties"]["zone_id"] for f in only} == {top}
    assert len(only) == sum(p["zone_id"] == top for p in props)


def test_estate_risk_ranked_and_explained(client, layers, risk, expected):
    estates = layers["estates"]
    old = set(estates.loc[estates["is_old"].astype(bool), "id"])
    assert [row["rank"] for row in risk] == list(range(1, len(old) + 1))
    assert {row["estate_id"] for row in risk} == old
    scores = [row["risk_score"] for row in risk]
    assert scores == sorted(scores, reverse=True)
    assert [row["estate_id"] for row in risk] == expected.estate_risk["estate_id"].tolist()
    weights = coverage_settings()["risk"]["weights"]
    for row in risk:
        assert set(row["contributions"]) == set(weights)
        assert sum(row["contributions"].values()) == pytest.approx(row["risk_score"], abs=1e-4)
        assert row["main_factor"] == max(row["contributions"], key=row["contributions"].get)
        for k in weights:
            assert 0 <= row[f"c_{k}"] <= 1
        assert row["c_uncovered"] == pytest.approx(1 - row["seen_share_all"])
    # the seeds' pattern: the riskiest old estate is open and barely watched
    assert risk[0]["access"] == "open" and risk[0]["seen_share_all"] < 0.5
    top3 = client.get("/coverage/estate_risk", params={"top": 3}).json()
    assert top3 == risk[:3]


# -- camera views --------------------------------------------------------------------------

def test_views_of_cameras_by_level(client, layers):
    ids = layers["cameras"]["id"].astype(str).tolist()[:2]
    r = client.get("/coverage/views", params={"camera_id": ",".join(ids)})
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    features = r.json()["features"]
    props = [f["properties"] for f in features]
    assert {p["camera_id"] for p in props} == set(ids)
    levels = ["all", "detect", "observe", "recognise", "identify"]
    want = camera_views(layers["cameras"][layers["cameras"]["id"].isin(ids)],
                        layers["buildings"])
    for cam in ids:
        mine = {p["level"]: p["area_m2"] for p in props if p["camera_id"] == cam}
        assert list(mine) == levels
        # nested zones: each level holds the denser ones
        assert all(mine[a] >= mine[b] - 1e-9 for a, b in zip(levels, levels[1:]))
        assert mine["all"] > 0
        w = want[want["camera_id"] == cam].set_index("level")["area_m2"]
        assert [mine[lv] for lv in levels] == pytest.approx(w[levels].tolist(), rel=1e-9)
    assert lonlat_ok(features[0]["geometry"]["coordinates"][0])
    # repeated parameter and one level
    r2 = client.get(f"/coverage/views?camera_id={ids[0]}&camera_id={ids[1]}&level=observe")
    assert [f["properties"]["level"] for f in r2.json()["features"]] == ["observe", "observe"]


# -- recommending cameras ------------------------------------------------------------------

def test_recommend_in_the_riskiest_old_estate(client, risk):
    path = Path(client.app.state.project.location)
    store = client.app.state.project.store
    before = (path.stat().st_mtime_ns, path.stat().st_size, store.list_layers())
    estate = risk[0]["estate_id"]
    r = client.post("/cameras/recommend", json={"budget": 16, "estate": estate})
    assert r.status_code == 200, r.text
    body = r.json()
    placed = body["placed"]
    assert 1 <= placed <= 16 and body["method"] == "greedy"
    proposals = body["proposals"]["features"]
    assert len(proposals) == placed
    assert [f["properties"]["rank"] for f in proposals] == list(range(1, placed + 1))
    assert {f["properties"]["estate_id"] for f in proposals} == {estate}
    gains = [f["properties"]["gain"] for f in proposals]
    assert all(g > 0 for g in gains) and gains == sorted(gains, reverse=True)
    assert lonlat_ok([f["geometry"]["coordinates"] for f in proposals])
    views = body["proposal_views"]["features"]
    assert {f["properties"]["camera_id"] for f in views} == {f["properties"]["id"]
                                                              for f in proposals}
    # before / after: the estate is seen more, with the new cameras inside it
    eff = {(e["zone_type"], e["zone_id"]): e for e in body["effects"]}
    mine = eff[("estate", estate)]
    assert mine["seen_share_all_after"] > mine["seen_share_all_before"] + 0.1
    assert mine["cameras_inside_after"] == mine["cameras_inside_before"] + placed
    assert mine["new_cameras"] == placed
    assert mine["seen_share_all_before"] == pytest.approx(risk[0]["seen_share_all"])
    assert 0 < body["info"]["covered_weight_share"] <= 1
    # nothing written to the project
    assert (path.stat().st_mtime_ns, path.stat().st_size, store.list_layers()) == before


def test_recommend_ilp_is_at_least_the_greedy(client, risk):
    estate = risk[1]["estate_id"]
    body = client.post("/cameras/recommend", json={"budget": 3, "estate": estate,
                                                   "method": "ilp", "time_limit": 20}).json()
    info = body["info"]
    assert body["method"] == info["method"] == "ilp" and body["placed"] == 3
    assert info["objective"] >= info["greedy_objective"] - 1e-6
    assert info["bound"] >= info["objective"] - 1e-6 and 0 <= info["gap"] <= 1


# -- bad requests ---------------------------------------------------------------------------

@pytest.mark.parametrize("url,error", [
    ("/coverage/stats?zone_type=district", "zone_type='district' is not allowed"),
    ("/coverage/stats?zone=estate", "unknown query parameter 'zone'"),
    ("/coverage/blind_spots?estate=E999", "estate 'E999' is not in the estates layer"),
    ("/coverage/estate_risk?top=0", "top='0' is not a whole number"),
    ("/coverage/estate_risk?top=ten", "top='ten' is not a whole number"),
    ("/coverage/views", "no camera given"),
    ("/coverage/views?camera_id=NOPE", "'NOPE' not in the cameras layer"),
    ("/coverage/views?camera_id=CAM001&level=face", "level='face' is not allowed"),
    ("/cameras/recommend?budget=3", "unknown query parameter 'budget'"),
])
def test_bad_parameters_are_422_with_fix(client, url, error):
    r = client.post(url, json={"budget": 1}) if url.startswith("/cameras") else client.get(url)
    assert r.status_code == 422, r.text
    assert error in r.json()["error"] and r.json()["fix"]


@pytest.mark.parametrize("body,error", [
    ({"budget": 0}, "budget=0 is not a whole number of cameras from 1"),
    ({"budget": -4}, "budget=-4"),
    ({"budget": 2.5}, "budget=2.5"),
    ({"budget": "ten"}, "budget='ten'"),
    ({"budget": True}, "budget=True"),
    ({"budget": MAX_BUDGET + 1}, f"budget={MAX_BUDGET + 1}"),
    ({"estate": "E01"}, "budget is required"),
    ({"budget": 4, "estate": "E999"}, "estate 'E999' is not in the estates layer"),
    ({"budget": 4, "estate": 7}, "estate=7 is not an estate id"),
    ({"budget": 4, "estate": "  "}, "estate='  ' is not an estate id"),
    ({"budget": "16"}, "budget='16'"),
    ({"budget": 4, "time_limit": True}, "time_limit=True"),
    ({"budget": 4, "method": "exact"}, "method='exact' is not allowed"),
    ({"budget": 4, "method": "ilp", "time_limit": 0}, "time_limit=0"),
    ({"budget": 4, "method": "ilp", "time_limit": 1e6}, "time_limit=1000000.0"),
    ({"budget": 4, "where": "E01"}, "unknown key 'where'"),
    ([16], "not a JSON object"),
    ("16 cameras", "not a JSON object"),
])
def test_bad_recommend_body_is_422_naming_it(client, body, error):
    if isinstance(body, str):
        r = client.post("/cameras/recommend", content=body.encode(),
                        headers={"content-type": "application/json"})
    else:
        r = client.post("/cameras/recommend", json=body)
    assert r.status_code == 422, r.text
    assert error in r.json()["error"] and r.json()["fix"]
    assert r.json()["type"] == "InputError"


def test_missing_project_is_404(tmp_path):
    r = TestClient(create_app(tmp_path / "missing.gpkg")).get("/coverage/stats")
    assert r.status_code == 404 and "does not exist" in r.json()["error"]


# -- caching ---------------------------------------------------------------------------------

def test_valid_bodies_as_before():
    """Whole-number floats, a padded estate id and an empty method were accepted before."""
    from beatgrid.api.routes.coverage import RecommendBody

    body = RecommendBody.model_validate({"budget": 16.0, "estate": " E40 ", "method": ""})
    assert body.model_dump() == {"budget": 16, "estate": "E40", "method": "greedy",
                                 "time_limit": None}
    assert RecommendBody.model_validate({"budget": 2, "method": None}).method == "greedy"


def test_two_apps_share_no_cache(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a, b = _client(tmp_path / "a"), _client(tmp_path / "b")
    assert a.app.state.cache is not b.app.state.cache


def test_results_cached_until_the_project_changes(tmp_path, monkeypatch):
    calls = []
    real = workflow.analyse_coverage
    monkeypatch.setattr(workflow, "analyse_coverage",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    client = _client(tmp_path)
    risk = client.get("/coverage/estate_risk").json()
    client.get("/coverage/stats")
    client.get("/coverage/blind_spots")
    assert len(calls) == 1                                   # one analysis for three answers
    # a new camera inside the riskiest estate: the figures follow the file
    estate = risk[0]["estate_id"]
    project = Project.open(client.app.state.project.location)
    cams = project.layer("cameras")
    est = project.layer("estates").set_index("id").loc[[estate]]
    spot = est.geometry.representative_point().iloc[0]
    new = cams.iloc[[0]].copy()
    new["id"], new["estate_id"], new["kind"] = "CAMNEW", estate, "estate_internal"
    new = new.set_geometry([spot], crs=cams.crs)
    project.write({"cameras": gpd.pd.concat([cams, new], ignore_index=True)}, validate=False)
    after = {row["zone_id"]: row for row in
             client.get("/coverage/stats", params={"zone_type": "estate"}).json()}
    assert len(calls) == 2
    assert after[estate]["cameras_inside"] == risk[0]["cameras_inside"] + 1
    assert after[estate]["seen_share_all"] >= risk[0]["seen_share_all"]
