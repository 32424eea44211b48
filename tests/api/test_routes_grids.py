"""HTTP endpoints of api/routes/grids.py (the basic-grid map editor) on the sample project.

The sample district (sample-geodata/ningbo-jiangbei.gpkg: 12 communities, no grids
planned) is regenerated when its generator changes, so the tests assert relations (a
generated plan checks clean, a move breaks exactly the grids it touches, rebalance
repairs them, totals of households are preserved, what is saved is what GET answers),
reading the expected figures from the copy under test.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import shapely
from fastapi.testclient import TestClient

from beatgrid.api.service import create_app
from beatgrid.gis.io import project as store

SAMPLE = Path(__file__).resolve().parents[2] / "sample-geodata" / "ningbo-jiangbei.gpkg"
RANGE_RULES = {"households_below_min", "households_above_max"}


def _client(directory: Path) -> TestClient:
    path = directory / "p.gpkg"
    shutil.copy(SAMPLE, path)
    return TestClient(create_app(path))


def _path(client) -> Path:
    return Path(client.app.state.project.location)


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    return _client(tmp_path_factory.mktemp("grids"))


@pytest.fixture(scope="module")
def planned(client):
    """The whole district planned and saved (POST /grids/generate with save)."""
    r = client.post("/grids/generate", json={"save": True})
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture(scope="module")
def communities(client, planned):
    """Communities with two grids or more, fewest buildings first (fast sessions)."""
    grids = store.read_layer(_path(client), "grids")
    counts = grids.groupby("community_id").size()
    bld = store.read_layer(_path(client), "buildings").groupby("community_id").size()
    return sorted((c for c in counts.index if counts[c] >= 2), key=lambda c: (bld.get(c, 0), c))


def stored_grids(client, community_id=None) -> dict:
    params = {"community_id": community_id} if community_id else {}
    r = client.get("/grids", params=params)
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    return {f["properties"]["id"]: f for f in r.json()["features"]}


def units_of(client, community_id) -> dict:
    r = client.get("/grids/units", params={"community_id": community_id})
    assert r.status_code == 200, r.text
    return r.json()


def neighbour(features: dict, grid_id) -> str:
    """The grid sharing the longest border with ``grid_id``."""
    geo = {g: shapely.geometry.shape(f["geometry"]) for g, f in features.items()}
    return max((g for g in geo if g != grid_id),
               key=lambda g: shapely.length(shapely.intersection(geo[grid_id].boundary,
                                                                 geo[g].boundary)))


def community_households(client, community_id) -> int:
    b = store.read_layer(_path(client), "buildings")
    return int(b.loc[b["community_id"] == community_id, "households"].sum())


# -- before planning ----------------------------------------------------------------------

def test_unplanned_project_and_a_proposal_that_is_not_written(tmp_path):
    client = _client(tmp_path)
    path = _path(client)
    assert client.get("/grids").json() == {"type": "FeatureCollection", "features": []}
    comm = store.read_layer(path, "communities")
    gaps = client.get("/grids/check").json()          # every community is still a gap
    assert sorted(v["community_id"] for v in gaps) == sorted(comm["id"])
    assert {v["rule"] for v in gaps} == {"gap"} and all(v["grid"] is None for v in gaps)
    m = client.get("/grids/metrics").json()            # NaN means become null, not a 500
    assert m["summary"]["grids"] == 0 and m["summary"]["polsby_popper_mean"] is None
    cid = comm["id"].iloc[0]
    before = client.app.state.project.store.state()
    r = client.post("/grids/generate", json={"community_id": cid, "seed": 3})
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    body = r.json()
    assert body["saved"] is False and client.app.state.project.store.state() == before
    props = [f["properties"] for f in body["features"]]
    assert {p["community_id"] for p in props} == {cid}
    assert sum(p["households"] for p in props) == community_households(client, cid)
    assert body["summary"]["grids"] == len(props)
    if not body["issues"]:
        assert body["ok"] and body["violations"] == []
        assert all(300 <= p["households"] <= 500 and p["in_range"] for p in props)
    assert client.get("/grids").json()["features"] == []             # nothing written
    same = client.post("/grids/generate", json={"community_id": cid, "seed": 3}).json()
    assert [f["properties"]["households"] for f in same["features"]] == \
        [p["households"] for p in props]                              # deterministic


# -- the stored plan ----------------------------------------------------------------------

def test_generated_plan_is_saved_and_checks_clean(client, planned):
    path = _path(client)
    assert planned["saved"] and planned["ok"] and planned["issues"] == []
    assert client.get("/grids/check").json() == []
    grids = stored_grids(client)
    stored = store.read_layer(path, "grids")
    bld = store.read_layer(path, "buildings")
    assert set(grids) == set(stored["id"]) and len(grids) == planned["summary"]["grids"]
    # every household of a community is in exactly one grid, each grid in the band
    in_comm = bld[bld["community_id"].notna()]
    assert sum(f["properties"]["households"] for f in grids.values()) == \
        in_comm["households"].sum() == planned["summary"]["households"]
    counted = bld.groupby("grid_id")["households"].sum()
    comm_code = store.read_layer(path, "communities").set_index("id")["code"]
    for gid, f in grids.items():
        p = f["properties"]
        assert p["households"] == p["households_counted"] == counted[gid]
        assert 300 <= p["households"] <= 500 and p["in_range"] and p["locked"] is False
        assert 0 < p["polsby_popper"] <= 1 and 0 <= p["street_border_share"] <= 1
        assert p["code"].startswith(comm_code[p["community_id"]]) and len(p["code"]) == 14
    lon, lat = next(iter(grids.values()))["geometry"]["coordinates"][0][0][:2]
    assert 121.4 < lon < 121.7 and 29.8 < lat < 30.0                  # EPSG:4326 degrees
    m = client.get("/grids/metrics").json()
    assert m["summary"]["share_in_range"] == 1.0 and m["summary"]["grids"] == len(grids)
    assert sum(c["households"] for c in m["communities"]) == m["summary"]["households"]
    assert {c["community_id"] for c in m["communities"]} == set(stored["community_id"])


def test_keep_existing_keeps_a_valid_plan(client, planned, communities):
    cid = communities[0]
    before = stored_grids(client, cid)
    body = client.post("/grids/generate", json={"community_id": cid,
                                                "keep_existing": True}).json()
    assert body["saved"] is False and body["summary"]["households_moved"] == 0
    assert {f["properties"]["id"]: f["properties"]["households"] for f in body["features"]} \
        == {g: f["properties"]["households"] for g, f in before.items()}


# -- editing ------------------------------------------------------------------------------

def test_move_rebalance_save(client, planned):
    path = _path(client)
    grids = stored_grids(client)
    small = min(grids, key=lambda g: (grids[g]["properties"]["households"], g))
    cid = grids[small]["properties"]["community_id"]
    mine = stored_grids(client, cid)
    total = community_households(client, cid)
    units = units_of(client, cid)
    # the units cover the community: every household once, every unit in a stored grid
    assert sum(f["properties"]["households"] for f in units["features"]) == total
    assert {f["properties"]["grid"] for f in units["features"]} == set(mine)
    assert {g["grid"]: g["households"] for g in units["grids"]} == \
        {g: f["properties"]["households"] for g, f in mine.items()}
    assert units["unsaved_edits"] == 0
    # empty the smallest grid into its neighbour: both out of range, nothing else
    big = neighbour(mine, small)
    h_small, h_big = (mine[g]["properties"]["households"] for g in (small, big))
    moving = [f["properties"]["unit_id"] for f in units["features"]
              if f["properties"]["grid"] == small]
    r = client.post("/grids/move", json={"community_id": cid, "unit_ids": moving,
                                         "to_grid": big})
    assert r.status_code == 200, r.text
    res = r.json()
    assert sorted(res["moved_units"]) == sorted(moving) and res["households_moved"] == h_small
    touched = {g["grid"]: g for g in res["grids"]}
    assert set(touched) == {small, big}
    assert touched[small]["households"] == 0 and touched[small]["empty"]
    assert touched[big]["households"] == h_small + h_big > 500
    # the emptied grid is dissolved (no "0 households" violation); the neighbour is over
    assert {v["grid"] for v in res["violations"]} == {big}
    assert sorted((v["grid"], v["rule"]) for v in res["violations"]
                  if v["rule"] in RANGE_RULES) == [(big, "households_above_max")]
    figure = {v["grid"]: v["figure"] for v in res["violations"] if v["rule"] in RANGE_RULES}
    assert figure == {big: h_small + h_big} and not res["ok"]
    # unsaved: the stored plan is unchanged, the session shows the edit
    assert stored_grids(client, cid)[small]["properties"]["households"] == h_small
    after = units_of(client, cid)
    assert after["unsaved_edits"] == 1
    assert all(f["properties"]["grid"] == big for f in after["features"]
               if f["properties"]["unit_id"] in set(moving))
    # rebalance repairs it with every household still in one grid
    r = client.post("/grids/rebalance", json={"community_id": cid})
    assert r.status_code == 200, r.text
    rb = r.json()
    assert rb["ok"] and rb["violations"] == [] and rb["households_moved"] > 0
    live = [g for g in rb["grids"] if not g["empty"]]
    assert all(g["in_band"] for g in live) and sum(g["households"] for g in live) == total
    # save: GET /grids and the buildings reflect it, and the full geometric check is clean
    r = client.post("/grids/save", json={"community_id": cid})
    assert r.status_code == 200, r.text
    sv = r.json()
    assert sv["saved"] and sv["ok"] and sv["violations"] == [] and sv["households"] == total
    saved = {g["id"]: g["households"] for g in sv["grids"]}
    assert saved == {g["grid"] if g["grid"] not in sv["renamed"] else sv["renamed"][g["grid"]]:
                     g["households"] for g in live}
    now = stored_grids(client, cid)
    assert {g: f["properties"]["households"] for g, f in now.items()} == saved
    assert all(300 <= h <= 500 for h in saved.values()) and sum(saved.values()) == total
    assert all(f["properties"]["code"] for f in now.values())
    bld = store.read_layer(path, "buildings")
    assert bld[bld["grid_id"].isin(set(saved))].groupby("grid_id")["households"].sum() \
        .to_dict() == saved
    assert client.get("/grids/check", params={"community_id": cid}).json() == []
    assert client.get("/grids/check").json() == []
    assert len(stored_grids(client)) == len(grids) - len(sv["removed"]) + \
        len(set(saved) - set(mine))
    # the session goes on from the saved plan
    again = units_of(client, cid)
    assert again["unsaved_edits"] == 0 and {g["grid"] for g in again["grids"]} == set(saved)
    assert client.post("/grids/save", json={"community_id": cid}).json()["saved"] is False


def test_move_buildings_and_back(client, planned, communities):
    cid = communities[1]
    mine = stored_grids(client, cid)
    home = min(mine)
    other = neighbour(mine, home)
    bld = store.read_layer(_path(client), "buildings")
    building = bld.loc[(bld["grid_id"] == home) & (bld["households"] > 0), "id"].iloc[0]
    before = {g: f["properties"]["households"] for g, f in mine.items()}
    r = client.post("/grids/move", json={"community_id": cid, "building_ids": [building],
                                         "to_grid": other})
    assert r.status_code == 200, r.text
    res = r.json()
    assert len(res["moved_units"]) == 1 and res["households_moved"] > 0
    hh = {g["grid"]: g["households"] for g in res["grids"]}
    assert set(hh) == {home, other}
    assert hh[home] == before[home] - res["households_moved"]
    assert hh[other] == before[other] + res["households_moved"]
    assert {v["grid"] for v in res["violations"]} <= {home, other}   # only touched grids
    back = client.post("/grids/move", json={"community_id": cid,
                                            "unit_ids": res["moved_units"], "to_grid": home})
    assert back.status_code == 200 and back.json()["ok"] and back.json()["violations"] == []
    assert {g["grid"]: g["households"] for g in back.json()["grids"]} == \
        {home: before[home], other: before[other]}


def test_locked_grid_is_a_conflict(client, planned, communities):
    cid = communities[2]
    path = _path(client)
    grids = store.read_layer(path, "grids")
    mine = grids[grids["community_id"] == cid]
    locked = mine["id"].iloc[0]
    grids.loc[grids["id"] == locked, "locked"] = True
    store.write_layers(path, {"grids": grids})
    free = next(g for g in mine["id"] if g != locked)
    units = units_of(client, cid)
    assert next(g for g in units["grids"] if g["grid"] == locked)["locked"]
    u_free = next(f["properties"]["unit_id"] for f in units["features"]
                  if f["properties"]["grid"] == free)
    u_locked = next(f["properties"]["unit_id"] for f in units["features"]
                    if f["properties"]["grid"] == locked)
    for body in ({"unit_ids": [u_free], "to_grid": locked},
                 {"unit_ids": [u_locked], "to_grid": free}):
        r = client.post("/grids/move", json={"community_id": cid, **body})
        assert r.status_code == 409, r.text
        assert r.json()["type"] == "ConflictError" and locked in r.json()["error"]
        assert r.json()["fix"]
    assert units_of(client, cid)["unsaved_edits"] == 0            # nothing half-done
    assert stored_grids(client, cid)[locked]["properties"]["locked"] is True


def test_a_write_by_someone_else_discards_unsaved_edits(client, planned, communities):
    cid = communities[3]
    path = _path(client)
    units = units_of(client, cid)
    grids = sorted(g["grid"] for g in units["grids"])
    u = next(f["properties"]["unit_id"] for f in units["features"]
             if f["properties"]["grid"] == grids[0])
    move = {"community_id": cid, "unit_ids": [u], "to_grid": grids[1]}
    assert client.post("/grids/move", json=move).status_code == 200
    store.write_layers(path, {"grids": store.read_layer(path, "grids")})   # e.g. the CLI
    r = client.post("/grids/move", json=move)
    assert r.status_code == 409 and "1 unsaved edit" in r.json()["error"], r.text
    r = client.post("/grids/move", json=move)                     # a fresh session
    assert r.status_code == 200 and units_of(client, cid)["unsaved_edits"] == 1


def test_saving_one_community_keeps_the_unsaved_edits_of_another(client, planned, communities):
    editing, saving = communities[4], communities[5]
    moves = {}
    for cid in (editing, saving):
        units = units_of(client, cid)
        grids = sorted(g["grid"] for g in units["grids"])
        u = next(f["properties"]["unit_id"] for f in units["features"]
                 if f["properties"]["grid"] == grids[0])
        moves[cid] = {"community_id": cid, "unit_ids": [u], "to_grid": grids[1]}
        assert client.post("/grids/move", json=moves[cid]).status_code == 200
    assert client.post("/grids/save", json={"community_id": saving}).json()["saved"]
    r = client.post("/grids/move", json=moves[editing])
    assert r.status_code == 200 and r.json()["unsaved_edits"] == 1     # a no-op move: kept
    assert units_of(client, editing)["unsaved_edits"] == 1


# -- bad input ----------------------------------------------------------------------------

def _bad_requests(planned, communities):
    grids = {}
    for f in planned["features"]:
        grids.setdefault(f["properties"]["community_id"], []).append(f["properties"]["id"])
    a, b = communities[0], communities[1]
    ga, gb = sorted(grids[a]), sorted(grids[b])
    move = {"community_id": a, "to_grid": ga[0]}
    return [
        ("get", "/grids", {"community_id": "NOPE"}, None, "'NOPE'"),
        ("get", "/grids/check", {"communty_id": a}, None, "'communty_id'"),
        ("get", "/grids/units", {}, None, "community_id"),
        ("get", "/grids/units", {"community_id": "NOPE"}, None, "'NOPE'"),
        ("post", "/grids/move", None, {**move, "community_id": "NOPE", "unit_ids": [0]}, "'NOPE'"),
        ("post", "/grids/move", None, {**move, "to_grid": f"{a}-G99", "unit_ids": [0]},
         f"'{a}-G99'"),
        ("post", "/grids/move", None, {**move, "to_grid": gb[0], "unit_ids": [0]},
         f"belongs to community {b}"),
        ("post", "/grids/move", None, {**move, "unit_ids": [0, 999999]}, "999999"),
        ("post", "/grids/move", None, {**move, "unit_ids": [-1]}, "-1"),
        ("post", "/grids/move", None, move, "unit_ids or building_ids"),
        ("post", "/grids/move", None, {**move, "unit_ids": [0], "building_ids": ["X"]},
         "either"),
        ("post", "/grids/move", None, {**move, "building_ids": ["NO-SUCH-BUILDING"]},
         "NO-SUCH-BUILDING"),
        ("post", "/grids/move", None, {**move, "unit_ids": ["3"]}, "unit_ids"),
        ("post", "/grids/move", None, {**move, "unit_ids": [], },
         "unit_ids: List should have at least 1"),
        ("post", "/grids/move", None, {**move, "unit_ids": [0], "to": "x"}, "'to'"),
        ("post", "/grids/move", None, {"unit_ids": [0]}, "community_id is required"),
        ("post", "/grids/move", None, "not json", "not a JSON object"),
        ("post", "/grids/move", None, [1, 2], "not a JSON object"),
        ("post", "/grids/generate", None, {"min": 600, "max": 500}, "[600, 500]"),
        ("post", "/grids/generate", None, {"min": 10}, "min: Input should be greater than or "
         "equal to 50"),
        ("post", "/grids/generate", None, {"max": 10**9}, "max: Input should be less than or "
         "equal to 10000"),
        ("post", "/grids/generate", None, {"seed": -1}, "seed: Input should be greater than or "
         "equal to 0 (value: -1)"),
        ("post", "/grids/generate", None, {"save": "yes"}, "save: Input should be a valid boolean"),
        ("post", "/grids/generate", None, {"min": 300.5}, "valid integer"),
        ("post", "/grids/generate", None, {"community_id": "NOPE"}, "'NOPE'"),
        ("post", "/grids/generate?save=true", None, {}, "'save'"),
        ("post", "/grids/rebalance", None, {}, "community_id is required"),
        ("post", "/grids/save", None, {"community_id": "NOPE"}, "'NOPE'"),
    ]


def test_bad_input_is_422_naming_the_culprit(client, planned, communities):
    bld = store.read_layer(_path(client), "buildings")
    a, b = communities[0], communities[1]
    other_building = bld.loc[bld["community_id"] == b, "id"].iloc[0]
    cases = _bad_requests(planned, communities) + [
        ("post", "/grids/move", None, {"community_id": a, "to_grid": min(
            f["properties"]["id"] for f in planned["features"]
            if f["properties"]["community_id"] == a), "building_ids": [other_building]},
         f"do not lie in community {a}")]
    before = client.app.state.project.store.state()
    for method, url, params, body, text in cases:
        if method == "get":
            r = client.get(url, params=params)
        elif isinstance(body, str):
            r = client.post(url, content=body, headers={"content-type": "application/json"})
        else:
            r = client.post(url, json=body)
        assert r.status_code == 422, (url, body, r.status_code, r.text)
        err = r.json()
        assert set(err) >= {"error", "fix"} and err["fix"], (url, body, err)
        assert text in err["error"], (url, body, err["error"])
    assert client.app.state.project.store.state() == before       # nothing written
    assert units_of(client, a)["unsaved_edits"] == 0              # nothing moved


def test_a_form_encoded_body_is_refused_as_browsers_send_it_cross_site(client, planned,
                                                                       communities):
    r = client.post("/grids/save", content='{"community_id": "%s"}' % communities[0],
                    headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 415, r.text
    assert "application/json" in r.json()["fix"]


def test_two_apps_share_no_editing_session(tmp_path):
    first = _client(tmp_path)
    assert first.post("/grids/generate", json={"community_id": "C05", "save": True}).json()[
        "saved"]
    second = TestClient(create_app(_path(first)))
    units = units_of(first, "C05")
    grids = sorted(g["grid"] for g in units["grids"])
    u = next(f["properties"]["unit_id"] for f in units["features"]
             if f["properties"]["grid"] == grids[0])
    move = {"community_id": "C05", "unit_ids": [u], "to_grid": grids[1]}
    assert first.post("/grids/move", json=move).json()["unsaved_edits"] == 1
    assert units_of(second, "C05")["unsaved_edits"] == 0
    assert first.app.state.grid_sessions is not second.app.state.grid_sessions
