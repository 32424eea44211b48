"""Editing layers over HTTP (OGC API - Features Part 4) on both stores: no lost writes.

Each test runs on the sample as a GeoPackage and, with ``BEATGRID_TEST_PG_URL``, in
PostGIS (``sample_target``). Cameras, police rooms, staff rows, beats and governance
grids are created, replaced, patched and deleted; the stored layer changes exactly as
asked and nothing else; a stale ``If-Match`` gets 409 with the current ETag and writes
nothing, a missing one 428; concurrent edits of two cameras are both kept, two of one
camera from the same version: one wins, the other gets 409; every write is audited.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pandas as pd
import pytest
import shapely
from fastapi.testclient import TestClient

from beatgrid.api.service import create_app
from beatgrid.gis import Project
from beatgrid.gis.io.feature_versions import etag_of

GEOJSON = {"Content-Type": "application/geo+json"}
USER = "li"


ANALYST = "zhao"


def _client(target, schema) -> tuple[TestClient, Project, str]:
    """A client signed in as the planner ``USER`` (an API key); and an analyst's key."""
    project = Project.open(target, schema=schema)
    project.accounts.add(USER, role="planner")
    project.accounts.add(ANALYST, role="analyst")
    token = project.accounts.issue_token(USER)
    client = TestClient(create_app(project), headers={"Authorization": f"Bearer {token}"})
    return client, project, project.accounts.issue_token(ANALYST)


@pytest.fixture
def served(sample_target):
    kind, target, schema = sample_target
    client, project, analyst = _client(target, schema)
    client.schema, client.analyst = schema, analyst
    return kind, target, client, project


def _fingerprint(kind, target, project) -> object:
    """What must not change when a write is refused: the file's bytes, or the store state."""
    if kind == "gpkg":
        return hashlib.sha256(Path(target).read_bytes()).hexdigest()
    return project.store.state(), len(project.audit.entries())


def _stored(project, layer) -> pd.DataFrame:
    return project.store.read_layer(layer)


def _index(frame, layer="cameras") -> pd.DataFrame:
    key = "beat_id" if layer == "staff" else "id"
    return frame.set_index(key)


def _etag(project, layer, fid) -> str:
    frame = _stored(project, layer)
    key = "beat_id" if layer == "staff" else "id"
    return etag_of(frame, int((frame[key] == fid).to_numpy().nonzero()[0][0]))


def _point(lon, lat) -> dict:
    return {"type": "Point", "coordinates": [lon, lat]}


def _features_actions(project) -> list[dict]:
    return [e for e in project.audit.entries() if e["action"].startswith("features.")]


# --------------------------------------------------------------------------------------
# create, patch, replace, delete: the stored layer changes exactly
# --------------------------------------------------------------------------------------

def test_camera_round_trip_changes_exactly_what_was_asked(served):
    kind, target, client, project = served
    before = _index(_stored(project, "cameras"))

    r = client.post("/collections/cameras/items", headers=GEOJSON, json={
        "type": "Feature", "geometry": _point(121.5452, 29.9151),
        "properties": {"kind": "entrance", "direction": 45, "fov_deg": 90, "range_m": 30}})
    assert r.status_code == 201, r.text
    assert r.headers["location"].endswith("/collections/cameras/items/CAM301")
    assert r.headers["content-type"].startswith("application/geo+json")
    created = r.json()
    assert created["id"] == "CAM301" and created["geometry"]["coordinates"] == [121.5452, 29.9151]
    assert r.headers["etag"] == _etag(project, "cameras", "CAM301")
    after = _index(_stored(project, "cameras"))
    assert list(after.index) == [*before.index, "CAM301"]
    pd.testing.assert_frame_equal(after.loc[before.index], before)
    new = after.loc["CAM301"]
    assert (new["kind"], new["direction"], new["fov_deg"], new["range_m"]) == \
        ("entrance", 45.0, 90.0, 30.0)

    # PATCH one property: that cell changes, the geometry stays exactly as stored
    tag = r.headers["etag"]
    r = client.patch("/collections/cameras/items/CAM001", headers={"If-Match": _etag(
        project, "cameras", "CAM001")}, json={"properties": {"direction": 135.5}})
    assert r.status_code == 200, r.text
    patched = _index(_stored(project, "cameras"))
    expected = after.copy()
    expected.loc["CAM001", "direction"] = 135.5
    pd.testing.assert_frame_equal(patched, expected)
    assert r.headers["etag"] == _etag(project, "cameras", "CAM001")

    # PATCH the geometry (a merge patch: coordinates only): the camera moves
    r = client.patch("/collections/cameras/items/CAM301", headers={"If-Match": tag},
                     json={"geometry": {"coordinates": [121.5461, 29.9160]}})
    assert r.status_code == 200, r.text
    moved = _index(_stored(project, "cameras"))
    assert moved.loc["CAM301", "geometry"].equals(shapely.Point(121.5461, 29.9160))
    pd.testing.assert_frame_equal(moved.drop(index="CAM301"), patched.drop(index="CAM301"))

    # PUT replaces: properties not given go back to their defaults
    r = client.put("/collections/cameras/items/CAM301", headers={"If-Match": r.headers["etag"],
                                                                 **GEOJSON},
                   json={"type": "Feature", "geometry": _point(121.547, 29.917),
                         "properties": {"kind": "road"}})
    assert r.status_code == 200, r.text
    replaced = _index(_stored(project, "cameras")).loc["CAM301"]
    assert replaced["kind"] == "road" and pd.isna(replaced["direction"])
    assert replaced["geometry"].equals(shapely.Point(121.547, 29.917))

    # DELETE: the layer is what it was, but for the patched direction of CAM001
    r = client.delete("/collections/cameras/items/CAM301", headers={"If-Match": r.headers["etag"]})
    assert r.status_code == 204 and r.content == b""
    pd.testing.assert_frame_equal(_index(_stored(project, "cameras")),
                                  expected.drop(index="CAM301"))

    rows = _features_actions(project)
    assert [(e["action"], e["target_id"], e["user_name"]) for e in rows] == [
        ("features.create", "cameras/CAM301", USER), ("features.update", "cameras/CAM001", USER),
        ("features.update", "cameras/CAM301", USER), ("features.replace", "cameras/CAM301", USER),
        ("features.delete", "cameras/CAM301", USER)]
    assert all(e["summary"]["layer"] == "cameras" for e in rows)
    assert rows[1]["summary"]["changed"] == ["direction"]
    assert rows[2]["summary"]["changed"] == ["geometry"]
    assert rows[0]["version_before"] is None and rows[-1]["version_after"] is None
    assert rows[1]["version_after"] == _etag(project, "cameras", "CAM001").strip('"')


def test_police_room_and_staff_row(served):
    kind, target, client, project = served
    rooms = _index(_stored(project, "police_rooms"))
    r = client.post("/collections/police_rooms/items", json={
        "type": "Feature", "id": "PR99", "geometry": _point(121.5401, 29.9120),
        "properties": {"name": "新警务室", "room_type": 1, "beat_id": "B02", "station_id": "S01"}})
    assert r.status_code == 201, r.text
    stored = _index(_stored(project, "police_rooms"))
    assert stored.loc["PR99", ["room_type", "beat_id"]].tolist() == [1, "B02"]
    pd.testing.assert_frame_equal(stored.drop(index="PR99"), rooms)

    # a reference to a beat that does not exist: 422 naming it, nothing written
    tag = r.headers["etag"]
    state = _fingerprint(kind, target, project)
    r = client.patch("/collections/police_rooms/items/PR99", headers={"If-Match": tag},
                     json={"properties": {"beat_id": "B99", "room_type": 3}})
    assert r.status_code == 422
    problems = {(p["column"], p["message"].split(";")[0]) for p in r.json()["problems"]}
    assert problems == {("beat_id", "refers to a missing beats feature"),
                        ("room_type", "value is not allowed")}
    assert _fingerprint(kind, target, project) == state

    # the staff roster: a table, features with geometry null, the id is beat_id
    staff = _index(_stored(project, "staff"), "staff")
    r = client.patch("/collections/staff/items/B03", headers={"If-Match": _etag(
        project, "staff", "B03")}, json={"properties": {"auxiliaries": 4}})
    assert r.status_code == 200, r.text
    assert r.json()["geometry"] is None and r.json()["properties"]["auxiliaries"] == 4
    r = client.delete("/collections/staff/items/B04",
                      headers={"If-Match": _etag(project, "staff", "B04")})
    assert r.status_code == 204
    r = client.post("/collections/staff/items", json={
        "type": "Feature", "geometry": None,
        "properties": {"beat_id": "B04", "community_officers": 2, "grid_workers": 9}})
    assert r.status_code == 201, r.text
    assert r.headers["location"].endswith("/collections/staff/items/B04")
    expected = staff.copy()
    expected.loc["B03", "auxiliaries"] = 4
    expected.loc["B04", ["community_officers", "auxiliaries", "floating_managers",
                         "grid_workers"]] = [2, 0, 0, 9]
    after = _index(_stored(project, "staff"), "staff")
    pd.testing.assert_frame_equal(after.sort_index(), expected.sort_index())

    r = client.post("/collections/staff/items", json={"type": "Feature", "geometry": None,
                                                      "properties": {"beat_id": "B05"}})
    assert r.status_code == 409 and "exists already" in r.json()["error"]
    r = client.post("/collections/staff/items", json={
        "type": "Feature", "geometry": _point(121.54, 29.91), "properties": {"beat_id": "B77"}})
    assert r.status_code == 422 and "has no geometry" in r.json()["error"]
    assert [e["target_id"] for e in _features_actions(project)] == [
        "police_rooms/PR99", "staff/B03", "staff/B04", "staff/B04"]


def test_beats_and_governance_grids(served):
    kind, target, client, project = served
    square = {"type": "Polygon", "coordinates": [[[121.560, 29.930], [121.562, 29.930],
                                                   [121.562, 29.932], [121.560, 29.932],
                                                   [121.560, 29.930]]]}
    r = client.post("/collections/beats/items", json={
        "type": "Feature", "geometry": square,
        "properties": {"name": "新警务区", "station_id": "S01"}})
    assert r.status_code == 201, r.text
    assert r.json()["id"] == "B13"
    r = client.patch("/collections/beats/items/B13", headers={"If-Match": r.headers["etag"]},
                     json={"properties": {"name": "试点警务区"}})
    assert r.status_code == 200
    tag = r.headers["etag"]
    assert _index(_stored(project, "beats")).loc["B13", "name"] == "试点警务区"

    # a beat others refer to cannot go: 409 naming them, nothing written
    state = _fingerprint(kind, target, project)
    r = client.delete("/collections/beats/items/B01", headers={"If-Match": "*"})
    assert r.status_code == 409
    assert r.json()["error"] == ("beats feature 'B01' is referred to by communities C01; "
                                 "police_rooms PR01; staff B01")
    assert _fingerprint(kind, target, project) == state
    r = client.delete("/collections/beats/items/B13", headers={"If-Match": tag})
    assert r.status_code == 204
    assert "B13" not in set(_stored(project, "beats")["id"])

    grids = _stored(project, "governance_grids")
    r = client.put(f"/collections/governance_grids/items/{grids['id'].iloc[0]}",
                   headers={"If-Match": _etag(project, "governance_grids", grids["id"].iloc[0])},
                   json={"type": "Feature", "geometry": square,
                         "properties": {"name": "城运网格", "department": "city_operations"}})
    assert r.status_code == 200, r.text
    after = _index(_stored(project, "governance_grids"))
    first = after.loc[grids["id"].iloc[0]]
    assert (first["name"], first["department"]) == ("城运网格", "city_operations")
    assert first["geometry"].equals(shapely.geometry.shape(square))
    pd.testing.assert_frame_equal(after.iloc[1:], _index(grids).iloc[1:])


# --------------------------------------------------------------------------------------
# refusals: stale or missing versions, bad requests, roles
# --------------------------------------------------------------------------------------

def test_refusals_write_nothing(served):
    """A stale If-Match (409 with the current ETag), a missing one (428), other body types
    (415), unknown layers, ids and properties, schema problems (422), an existing id (409),
    roles (403, 401)."""
    kind, target, client, project = served
    old = _etag(project, "cameras", "CAM002")
    r = client.patch("/collections/cameras/items/CAM002", headers={"If-Match": old},
                     json={"properties": {"direction": 10}})
    assert r.status_code == 200
    current = r.headers["etag"]
    state = _fingerprint(kind, target, project)
    for method, body in (("patch", {"properties": {"direction": 20}}),
                         ("put", {"type": "Feature", "geometry": _point(121.54, 29.91),
                                  "properties": {}}),
                         ("delete", None)):
        r = client.request(method.upper(), "/collections/cameras/items/CAM002",
                           headers={"If-Match": old}, json=body)
        assert r.status_code == 409, (method, r.text)
        assert r.headers["etag"] == current
        assert r.json()["type"] == "StaleVersionError"
        assert f'"{r.json()["current_version"]}"' == current
    assert _fingerprint(kind, target, project) == state
    assert _index(_stored(project, "cameras")).loc["CAM002", "direction"] == 10

    # an edit made outside the service (QGIS, the command line) makes the ETag stale too
    tag = _etag(project, "cameras", "CAM004")
    cams = _stored(project, "cameras")
    cams.loc[cams["id"] == "CAM004", "height_m"] = 9.5
    Project.open(target, schema=client.schema).store.write_layers({"cameras": cams},
                                                                  validate=False)
    r = client.patch("/collections/cameras/items/CAM004", headers={"If-Match": tag},
                     json={"properties": {"direction": 1}})
    assert r.status_code == 409
    assert r.headers["etag"] == _etag(project, "cameras", "CAM004") != tag

    state = _fingerprint(kind, target, project)
    for method, body in (("PATCH", {"properties": {"direction": 20}}),
                         ("PUT", {"type": "Feature", "geometry": _point(121.54, 29.91)}),
                         ("DELETE", None)):
        r = client.request(method, "/collections/cameras/items/CAM003", json=body)
        assert r.status_code == 428, (method, r.text)
        assert "If-Match is required" in r.json()["error"]
    r = client.post("/collections/cameras/items", content=b'{"type": "Feature"}',
                    headers={"Content-Type": "text/plain"})
    assert r.status_code == 415
    r = client.patch("/collections/cameras/items/CAM003", content=b'{}',
                     headers={"Content-Type": "text/plain", "If-Match": "*"})
    assert r.status_code == 415
    r = client.post("/collections/buildings/items", json={"type": "Feature"})
    assert r.status_code == 422 and "cameras" in r.json()["fix"]
    r = client.post("/collections/castles/items", json={"type": "Feature"})
    assert r.status_code == 422 and r.json()["error"] == "unknown layer 'castles'"
    r = client.post("/collections/cameras/items", json={
        "type": "Feature", "id": "CAM001", "geometry": _point(121.54, 29.91)})
    assert r.status_code == 409 and "exists already" in r.json()["error"]
    r = client.patch("/collections/cameras/items/NOPE", headers={"If-Match": "*"},
                     json={"properties": {"direction": 1}})
    assert r.status_code == 404
    r = client.post("/collections/cameras/items", json={  # Paris, and a direction of 400
        "type": "Feature", "geometry": _point(2.35, 48.85), "properties": {"direction": 400}})
    assert r.status_code == 422
    assert {p["column"] for p in r.json()["problems"]} == {"geometry", "direction"}
    r = client.post("/collections/cameras/items", json={
        "type": "Feature", "geometry": _point(121.54, 29.91), "properties": {"colour": "red"}})
    assert r.status_code == 422 and "colour" in r.json()["error"]
    r = client.patch("/collections/cameras/items/CAM003", headers={"If-Match": "*"},
                     json={"id": "CAM999"})
    assert r.status_code == 422 and "cannot change" in r.json()["error"]
    # writes need the planner role (an analyst: 403; nobody: 401)
    body = {"type": "Feature", "geometry": _point(121.54, 29.91)}
    r = client.post("/collections/cameras/items", json=body,
                    headers={"Authorization": f"Bearer {client.analyst}"})
    assert r.status_code == 403 and "planner" in r.json()["error"]
    r = client.patch("/collections/cameras/items/CAM001", json={"properties": {}},
                     headers={"Authorization": "", "If-Match": "*"})
    assert r.status_code == 401
    assert _fingerprint(kind, target, project) == state


# --------------------------------------------------------------------------------------
# concurrency
# --------------------------------------------------------------------------------------

def _together(*calls):
    results: list = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def run(i, call):
        start.wait()
        results[i] = call()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_concurrent_patches(served):
    """Two cameras at once: both kept; one camera twice from one version: one wins."""
    kind, target, client, project = served
    tags = {cid: _etag(project, "cameras", cid) for cid in ("CAM010", "CAM020")}
    results = _together(*(lambda cid=cid, d=d: client.patch(
        f"/collections/cameras/items/{cid}", headers={"If-Match": tags[cid]},
        json={"properties": {"direction": d}}) for cid, d in (("CAM010", 11.0),
                                                               ("CAM020", 22.0))))
    assert [r.status_code for r in results] == [200, 200]
    stored = _index(_stored(project, "cameras"))
    assert stored.loc[["CAM010", "CAM020"], "direction"].tolist() == [11.0, 22.0]
    assert len(_features_actions(project)) == 2

    # two of one camera from one version: one wins, the other gets 409
    tag = _etag(project, "cameras", "CAM030")
    results = _together(*(lambda d=d: client.patch(
        "/collections/cameras/items/CAM030", headers={"If-Match": tag},
        json={"properties": {"direction": d}}) for d in (33.0, 66.0)))
    assert sorted(r.status_code for r in results) == [200, 409]
    winner = next(r for r in results if r.status_code == 200)
    loser = next(r for r in results if r.status_code == 409)
    assert loser.headers["etag"] == winner.headers["etag"]
    kept = _index(_stored(project, "cameras")).loc["CAM030", "direction"]
    assert kept == winner.json()["properties"]["direction"]
    assert len(_features_actions(project)) == 3
