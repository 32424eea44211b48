"""HTTP endpoints of api/routes/staffing.py on the committed sample project.

The sample district (sample-geodata/ningbo-jiangbei.gpkg: 12 beats in 2 stations and
3 responsibility areas, governance grids, a year of incidents, no planned basic grids)
is regenerated when its generator changes, so the expected figures are read from the
copy under test (its layers, and the gis functions the endpoints wrap) rather than
written here.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from beatgrid.api.routes.staffing import NOTES_HEADER
from beatgrid.api.service import create_app
from beatgrid.gis import Project
from beatgrid.gis.policing.alignment import align_project
from beatgrid.gis.policing.hotspots import hotspots_project
from beatgrid.gis.policing.staffing import SEVERITY_LEVELS, assess_project
from beatgrid.gis.policing.workflow import ALIGNMENT_LAYERS, HOTSPOT_LAYERS, STAFFING_LAYERS

SAMPLE = Path(__file__).resolve().parents[2] / "sample-geodata" / "ningbo-jiangbei.gpkg"
ROLES = ("officers", "auxiliaries", "floating_managers", "grid_workers")
WORST_FIRST = {level: i for i, level in enumerate(reversed(SEVERITY_LEVELS))}


def _client(directory: Path) -> TestClient:
    path = directory / "p.gpkg"
    shutil.copy(SAMPLE, path)
    return TestClient(create_app(path))


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    return _client(tmp_path_factory.mktemp("sample"))


@pytest.fixture(scope="module")
def layers(client):
    """Every layer the endpoints read, from the copy under test."""
    names = sorted(set(STAFFING_LAYERS) | set(ALIGNMENT_LAYERS) | set(HOTSPOT_LAYERS))
    return Project.open(client.app.state.project.location).read(names)


@pytest.fixture(scope="module")
def expected(layers):
    return assess_project(layers)


@pytest.fixture(scope="module")
def gaps(client):
    r = client.get("/staffing")
    assert r.status_code == 200
    return r


def total(rows, column):
    return sum(row[column] for row in rows)


# -- staffing -----------------------------------------------------------------------------

def test_gaps_per_beat_worst_first(gaps, layers, expected):
    rows = gaps.json()
    beat_ids = set(layers["beats"]["id"])
    assert len(rows) == len(layers["beats"]) == 12 and {r["beat_id"] for r in rows} == beat_ids
    assert [r["severity_rank"] for r in rows] == list(range(1, 13))
    ranks = [WORST_FIRST[r["severity"]] for r in rows]
    assert ranks == sorted(ranks)                                    # critical ... ok
    assert [r["severity_score"] for r in rows] == sorted((r["severity_score"] for r in rows),
                                                         reverse=True)
    for r in rows:
        assert isinstance(r["failed_rules"], list) and isinstance(r["reasons"], list)
        assert len(r["failed_rules"]) == len(r["reasons"]) == r["rules_failed"]
        assert (r["severity"] == "ok") == (r["failed_rules"] == [])
        for role in ROLES:
            assert r[f"{role}_gap"] == max(r[f"{role}_required"] - r[f"{role}_actual"], 0)
    # the same figures as the Python API, beat by beat
    want = expected.gaps.set_index("beat_id")
    for r in rows:
        w = want.loc[r["beat_id"]]
        assert r["failed_rules"] == [x for x in w["failed_rules"].split(";") if x]
        assert r["population_actual"] == w["population_actual"]
        assert all(r[f"{role}_{what}"] == w[f"{role}_{what}"]
                   for role in ROLES for what in ("required", "actual", "gap"))
        assert r["severity"] == w["severity"] and r["severity_rank"] == w["severity_rank"]
    # staff come from the roster; the population rule binds above 10,000 (shipped policy)
    staff = layers["staff"].set_index("beat_id")["community_officers"]
    assert all(r["officers_actual"] == staff[r["beat_id"]] for r in rows)
    assert all(r["officers_required"] >= 2 for r in rows if r["population_actual"] > 10_000)
    assert "grid counts estimated" in json.loads(gaps.headers[NOTES_HEADER])[-1]


def test_rollups_per_area_and_station(client, gaps, layers):
    rows = gaps.json()
    areas = client.get("/staffing/areas").json()
    assert [a["responsibility_area_id"] for a in areas] == sorted(
        set(layers["beats"]["responsibility_area_id"]))
    assert total(areas, "beats") == 12
    assert total(areas, "understaffed_beats") == sum(r["severity"] != "ok" for r in rows)
    for a in areas:
        beats = [r for r in rows if r["responsibility_area_id"] == a["responsibility_area_id"]]
        assert a["beats"] == len(beats)
        for role in ROLES:
            assert a[f"{role}_gap"] == total(beats, f"{role}_gap")
        assert isinstance(a["rules_failed"], dict)
        assert sum(a["rules_failed"].values()) == total(beats, "rules_failed")
    stations = {s["station_id"]: s for s in client.get("/staffing/stations").json()}
    assert set(stations) == set(layers["stations"]["id"]) and len(stations) == 2
    officers_total = layers["stations"].set_index("id")["officers_total"]
    for sid, s in stations.items():
        assert s["beats"] == sum(r["station_id"] == sid for r in rows)
        assert s["officers_total"] == officers_total[sid]
        assert s["community_officer_share"] == pytest.approx(
            s["officers_actual"] / s["officers_total"], abs=1e-4)


def test_beats_geojson_for_map_views(client, gaps):
    r = client.get("/staffing/beats.geojson")
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    features = r.json()["features"]
    assert len(features) == 12
    lon, lat = features[0]["geometry"]["coordinates"][0][0][:2]
    assert 121.4 < lon < 121.7 and 29.8 < lat < 30.0                  # EPSG:4326 degrees
    by_beat = {row["beat_id"]: row for row in gaps.json()}
    for f in features:
        p = f["properties"]
        row = by_beat[p["beat_id"]]
        assert p["severity"] == row["severity"] and p["failed_rules"] == row["failed_rules"]
        assert all(p[f"{role}_{what}"] == row[f"{role}_{what}"]
                   for role in ROLES for what in ("required", "actual"))


@pytest.mark.parametrize("body,content_type", [
    ("[officers]\nper_beat = 3\n", "application/toml"),
    ('{"officers": {"per_beat": 3}}', "application/json"),
    ('{"officers.per_beat": 3}', "application/json"),
    ('"[officers]\\nper_beat = 3"', "application/json"),          # TOML text as a JSON string
])
def test_post_policy_as_toml_or_json(client, body, content_type):
    headers = {"content-type": content_type} if content_type else {}
    r = client.post("/staffing", content=body.encode(), headers=headers)
    assert r.status_code == 200, r.text
    rows = r.json()
    assert len(rows) == 12
    # three officers per beat is above every other officer rule of the shipped policy
    assert all(row["officers_required"] == 3 for row in rows)
    assert all(("officers_per_beat" in row["failed_rules"]) == (row["officers_actual"] < 3)
               for row in rows)


def test_an_untyped_policy_body_is_refused_as_browsers_send_it_cross_site(client):
    r = client.post("/staffing", content=b"[officers]\nper_beat = 3\n")
    assert r.status_code == 415 and "application/json" in r.json()["fix"]


def test_post_without_body_is_the_shipped_policy(client, gaps):
    assert client.post("/staffing").json() == gaps.json()


@pytest.mark.parametrize("body,content_type,error,fix", [
    ('{"officers": {"two_officers": 2}}', "application/json",
     "unknown key 'officers.two_officers' (value 2)", "officers.two_officer_count"),
    ("[auxiliaries]\nper_officer = -1.5\n", "application/toml",
     "'auxiliaries.per_officer' has value -1.5: it must be >= 0", "(default 1.5)"),
    ('{"severity.high": "lots"}', "application/json",
     "'severity.high' has value 'lots'", "like the default 1.5"),
    ("[officers\n", "application/toml", "not valid TOML", "TOML syntax"),
    ("[1, 2]", "application/json", "not an object", "JSON object"),
])
def test_bad_policy_is_422_naming_key_value_and_fix(client, body, content_type, error, fix):
    r = client.post("/staffing", content=body.encode(), headers={"content-type": content_type})
    assert r.status_code == 422
    assert error in r.json()["error"] and fix in r.json()["fix"]
    assert r.json()["type"] == "PolicyError"


# -- alignment and hotspots ---------------------------------------------------------------

def test_alignment(client, layers):
    body = client.get("/alignment").json()
    want = align_project(layers)
    assert body["min_share"] == 0.9
    assert body["summary"] == {
        "governance_grids": len(layers["governance_grids"]), "misaligned": len(want.misaligned),
        "households_affected": int(want.misaligned["households_affected"].sum())}
    assert len(body["grids"]) == 60 and len(body["beats"]) == 12
    assert sum(not g["aligned"] for g in body["grids"]) == body["summary"]["misaligned"] >= 1
    assert [g["main_beat"] for g in body["grids"]] == want.grids["main_beat"].tolist()
    assert [b["alignment_score"] for b in body["beats"]] == pytest.approx(
        want.beats["alignment_score"].tolist())
    moved = {m["grid_id"] for m in body["reassignments"]}
    assert moved and moved <= {g["grid_id"] for g in body["grids"] if not g["aligned"]}
    looser = client.get("/alignment", params={"min_share": 0.5}).json()
    assert looser["min_share"] == 0.5
    assert looser["summary"]["misaligned"] <= body["summary"]["misaligned"]


def test_hotspots_on_beats(client, layers):
    r = client.get("/hotspots", params={"zones": "beats", "permutations": 99})
    assert r.status_code == 200
    body = r.json()
    want = hotspots_project(layers, zones="beats", permutations=99)
    assert body["zone_kind"] == "beats" and body["permutations"] == 99
    assert [z["zone_id"] for z in body["zones"]] == sorted(layers["beats"]["id"])
    assert [z["hotspot"] for z in body["zones"]] == want.zones["hotspot"].tolist()
    assert total(body["zones"], "value") <= len(layers["incidents"])
    assert body["hot"] == sum(z["hotspot"] == "hot" for z in body["zones"])
    assert all(0 < z["p_sim"] <= 1 for z in body["zones"])
    change = body["change"]
    assert change["compare"] == "previous" and len(change["current"]) == 2
    assert {c["beat_id"] for c in change["beats"]} == set(layers["beats"]["id"]) | {"(all)"}
    assert 121.4 < body["density"]["peak_lon"] < 121.7 and body["density"]["cells"] > 0
    prev = client.get("/hotspots", params={"zones": "beats", "permutations": 0,
                                           "preventable": "true"}).json()
    assert prev["preventable_only"] is True and body["preventable_only"] is False
    preventable = int(layers["incidents"]["preventable"].fillna(False).astype(bool).sum())
    assert total(prev["zones"], "value") <= preventable < len(layers["incidents"])
    assert all(z["p_sim"] is None for z in prev["zones"])           # no permutations
    assert client.get("/hotspots").json()["permutations"] == 999      # the policy's


def test_hotspots_on_grids_without_grids_is_422(client, layers):
    assert len(layers["grids"]) < 3, "the sample plans no basic grids"
    r = client.get("/hotspots", params={"zones": "grids"})
    assert r.status_code == 422
    assert "3 basic grids" in r.json()["error"] and "zones=beats" in r.json()["fix"]


# -- bad requests -------------------------------------------------------------------------

@pytest.mark.parametrize("url,error", [
    ("/hotspots?zones=districts", "zones='districts' is not allowed"),
    ("/hotspots?permutations=-1", "permutations='-1' is not a whole number from 0 to 9999"),
    ("/hotspots?permutations=ten", "permutations='ten' is not a whole number"),
    ("/hotspots?permutations=100000", "permutations='100000'"),
    ("/hotspots?preventable=maybe", "preventable='maybe' is not true or false"),
    ("/alignment?min_share=0", "min_share='0' is not a number greater than 0"),
    ("/alignment?min_share=1.5", "min_share='1.5'"),
    ("/staffing?policy=/etc/city.toml", "cannot be given as a query parameter"),
    ("/staffing/areas?station=S01", "unknown query parameter 'station'"),
])
def test_bad_parameters_are_422_with_fix(client, url, error):
    r = client.get(url)
    assert r.status_code == 422
    assert error in r.json()["error"] and r.json()["fix"]


def test_missing_project_is_404(tmp_path):
    r = TestClient(create_app(tmp_path / "missing.gpkg")).get("/staffing")
    assert r.status_code == 404 and "does not exist" in r.json()["error"]


def test_results_follow_project_changes(tmp_path):
    client = _client(tmp_path)
    before = {r["beat_id"]: r for r in client.get("/staffing").json()}
    beat = min(before)
    project = Project.open(client.app.state.project.location)
    staff = project.layer("staff")
    staff.loc[staff["beat_id"] == beat, "community_officers"] += 5
    project.write({"staff": staff}, validate=False)
    after = {r["beat_id"]: r for r in client.get("/staffing").json()}
    assert after[beat]["officers_actual"] == before[beat]["officers_actual"] + 5
    assert after[beat]["officers_gap"] == 0
    assert not any(r.startswith("officers_") for r in after[beat]["failed_rules"])
