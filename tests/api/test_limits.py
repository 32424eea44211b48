"""The limits of one request come from the settings ([service], [service.body_bytes]).

Each limit lowered in the project's settings is refused with 422 (413 for a body), the
one error body naming the value, the limit and the setting, before anything runs; the
shipped limits keep every request of the sample as it was. Also: the settings' value
checks, ``GET /hotspots?snap_m=``, and the policy body checked like every settings file.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import pytest
import shapely
from fastapi.testclient import TestClient

from beatgrid.api.service import body_limits, create_app
from beatgrid.gis.config import Config
from beatgrid.gis.errors import PolicyError
from beatgrid.gis.project import Project

SAMPLE = Path(__file__).resolve().parents[2] / "sample-geodata" / "ningbo-jiangbei.gpkg"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("limits") / "p.gpkg"
    shutil.copy(SAMPLE, path)
    return path


def client_for(path: Path, **service: Any) -> TestClient:
    return TestClient(create_app(Project.open(path, core={"service": service})))


def refused(r, status: int, *words: str) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error", "fix", "type"}, body
    for word in words:
        assert word in body["error"], (word, body)
    return body


# (service settings, method, url, request, words of the error)
CASES = [
    ({"min_band_width": 100}, "POST", "/grids/generate",
     {"json": {"community_id": "C05", "min": 350, "max": 420}},
     ["the band 350-420 is 70 households wide", "narrower than 100",
      "setting service.min_band_width"]),
    ({"min_band_width": 100}, "POST", "/grids/generate",     # one end given: the other is
     {"json": {"community_id": "C05", "min": 450}},          # the project's (500)
     ["the band 450-500", "setting service.min_band_width"]),
    ({"max_communities": 5}, "POST", "/grids/generate", {"json": {}},
     ["planning 12 communities is more than 5", "setting service.max_communities"]),
    ({"max_budget": 10}, "POST", "/cameras/recommend", {"json": {"budget": 11}},
     ["budget 11 is more than 10", "setting service.max_budget"]),
    ({"max_ilp_time_limit_s": 5.0}, "POST", "/cameras/recommend",
     {"json": {"budget": 2, "method": "ilp", "time_limit": 30}},
     ["time_limit 30 s is more than 5", "setting service.max_ilp_time_limit_s"]),
    ({"max_view_cameras": 2}, "GET", "/coverage/views",
     {"params": {"camera_id": "CAM001,CAM002,CAM003"}},
     ["3 cameras is more than 2", "setting service.max_view_cameras"]),
    ({"max_move_ids": 2}, "POST", "/grids/move",
     {"json": {"community_id": "C05", "unit_ids": [1, 2, 3], "to_grid": "C05-G01"}},
     ["a move of 3 ids is more than 2", "setting service.max_move_ids"]),
    ({"max_snap_m": 50.0}, "GET", "/hotspots", {"params": {"snap_m": 60}},
     ["snap_m 60 is more than 50", "setting service.max_snap_m"]),
]


@pytest.mark.parametrize("case", CASES, ids=[f"{c[2]} {next(iter(c[0]))}" for c in CASES])
def test_a_request_over_a_limit_of_the_settings_is_refused(project, case):
    service, method, url, kwargs, words = case
    before = sha256(project)
    client = client_for(project, **service)
    body = refused(client.request(method, url, **kwargs), 422, *words)
    assert body["type"] == "InputError" and body["fix"]
    # refused before anything ran: no job recorded, nothing written
    assert client.get("/jobs").json()["jobs"] == []
    assert sha256(project) == before


def test_the_shipped_limits_accept_what_they_accepted(project):
    client = client_for(project)
    r = client.post("/grids/generate", json={"community_id": "C05", "min": 320, "max": 480})
    assert r.status_code == 200 and r.json()["band"]["min"] == 320
    refused(client.post("/grids/generate", json={"community_id": "C05", "min": 380,
                                                  "max": 420}),
            422, "narrower than 50", "setting service.min_band_width")
    # the request models keep their absolute bounds (documented in the OpenAPI)
    refused(client.post("/cameras/recommend", json={"budget": 501}), 422, "budget=501")


def test_body_limits_come_from_the_settings(project):
    client = client_for(project, body_bytes={"staffing": 100, "default": 50})
    body = refused(client.post("/staffing", content=b"[officers]\n" + b"#" * 200,
                               headers={"content-type": "application/toml"}), 413,
                   "more than 100")
    assert "at most 100 bytes" in body["fix"]
    refused(client.post("/layers", content=b"x" * 60,
                        headers={"content-type": "application/json"}), 413, "more than 50")
    assert body_limits(Config.load(core={"service": {"body_bytes": {"grids": 10}}}))[
        "/grids/move"].max_bytes == 10
    assert body_limits()["/grids/save"].max_bytes == 2 * 1024 * 1024


@pytest.mark.parametrize("override, words", [
    ({"service": {"max_budget": 900}}, ["'service.max_budget'", "at most 500"]),
    ({"service": {"min_band_width": -1}}, ["'service.min_band_width'", "at least 0"]),
    ({"service": {"request_time_limit_s": 0}}, ["'service.request_time_limit_s'", "above 0"]),
    ({"service": {"body_bytes": {"grids": 0}}}, ["'service.body_bytes.grids'"]),
    ({"jobs": {"workers": 0}}, ["'jobs.workers'", "at least 1"]),
    ({"jobs": {"max_per_user": {"planner": 1.5}}}, ["'jobs.max_per_user.planner'"]),
    ({"jobs": {"time_limit_s": {"admin": float("nan")}}}, ["'jobs.time_limit_s.admin'"]),
])
def test_settings_values_are_checked(override, words):
    with pytest.raises(PolicyError) as err:
        Config.load(core=override)
    for word in words:
        assert word in str(err.value), (word, str(err.value))


def test_hotspots_snap_m(tmp_path):
    path = tmp_path / "p.gpkg"
    shutil.copy(SAMPLE, path)
    project = Project.open(path)
    incidents, beats = project.layer("incidents"), project.layer("beats")
    edge = shapely.union_all(beats.to_crs(4547).geometry.values)
    moved = incidents.to_crs(4547)
    on_edge = edge.boundary.interpolate(0.0)
    far_west = shapely.Point(edge.bounds[0] - 1000, on_edge.y)
    outside = shapely.shortest_line(edge.boundary, far_west).interpolate(30.0)
    assert not edge.contains(outside)
    moved.loc[moved.index[0], "geometry"] = outside     # 30 m outside the district
    project.write({"incidents": moved.to_crs(incidents.crs)})
    client = TestClient(create_app(path))
    query = {"zones": "beats", "permutations": 0}
    default = client.get("/hotspots", params=query).json()     # 5 m: left outside
    assert "1 incident(s) lie outside every beat" in " ".join(default["notes"])
    snapped = client.get("/hotspots", params={**query, "snap_m": 100}).json()
    assert "within 100 m of one" in " ".join(snapped["notes"])
    assert sum(z["value"] for z in snapped["zones"]) == \
        sum(z["value"] for z in default["zones"]) + 1        # counted in its beat
    for bad in ("-1", "nan", "inf", "x"):
        refused(client.get("/hotspots", params={**query, "snap_m": bad}), 422, "snap_m")


@pytest.mark.parametrize("content, ctype, words", [
    (b'{"' + b"a." * 40 + b'b": 1}', "application/json", ["nested more than 16 deep"]),
    (b"x = " + b"[" * 3000 + b"]" * 3000, "application/toml", ["nested more than 16 deep"]),
    (b"[officers]\nper_beat = " + b"9" * 400 + b"\n", "application/toml",
     ["'officers.per_beat'", "at most 2**53"]),
    (b'{"officers.per_beat": NaN}', "application/json",
     ["'officers.per_beat'", "finite number"]),
])
def test_the_policy_body_is_checked_like_every_settings_file(project, content, ctype, words):
    body = refused(client_for(project).post("/staffing", content=content,
                                            headers={"content-type": ctype}), 422, *words)
    assert body["type"] == "PolicyError" and body["error"].startswith("staffing policy: ")
