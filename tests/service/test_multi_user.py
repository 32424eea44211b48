"""The multi-user service on both stores: accounts and roles, plans with versions, no lost
writes, restarts that lose nothing, browsers kept out (issue 11)."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient

from beatgrid.api.service import create_app
from beatgrid.gis import Project

ROLES = ("viewer", "analyst", "planner", "admin")


@pytest.fixture
def served(sample_target):
    """The sample on each store with one account per role; the app in accounts mode."""
    kind, target, schema = sample_target
    project = Project.open(target, schema=schema)
    tokens = {}
    for role in ROLES:
        project.accounts.add(f"u_{role}", role=role, password=f"pw-{role}-12345")
        tokens[role] = project.accounts.issue_token(f"u_{role}")
    app = create_app(project)
    assert app.state.auth.mode == "accounts"
    return project, app, tokens, (target, schema)


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_sign_in_then_act_with_the_token(served):
    project, app, tokens, _ = served
    client = TestClient(app)
    r = client.post("/auth/login", json={"name": "u_planner", "password": "pw-planner-12345"})
    assert r.status_code == 200 and r.json()["role"] == "planner"
    token = r.json()["token"]
    assert client.get("/auth/me", headers=bearer(token)).json()["name"] == "u_planner"
    bad = client.post("/auth/login", json={"name": "u_planner", "password": "nope-nope"})
    assert bad.status_code == 401 and bad.json()["type"] == "AuthenticationError"
    assert client.post("/auth/logout", headers=bearer(token)).status_code == 204
    assert client.get("/auth/me", headers=bearer(token)).status_code == 401


#: (method, path, body, the lowest role allowed)
WRITES = [
    ("post", "/plans", {"community_id": "C05", "source": "empty"}, "planner"),
    ("post", "/staffing", None, "analyst"),
    ("post", "/users", {"name": "newbie", "role": "viewer", "password": "long enough 1"},
     "admin"),
]
READS = [("get", "/layers/stations", "viewer"), ("get", "/plans", "viewer"),
         ("get", "/audit", "admin"), ("get", "/users", "admin")]


@pytest.mark.parametrize("method,path,body,lowest", WRITES)
def test_role_matrix_of_writes(served, method, path, body, lowest):
    project, app, tokens, _ = served
    client = TestClient(app)
    kw = {"json": body} if body is not None else {}
    assert getattr(client, method)(path, **kw).status_code == 401
    for role in ROLES:
        if path == "/users" and kw:
            kw["json"] = {**body, "name": f"newbie_{role}"}
        r = getattr(client, method)(path, headers=bearer(tokens[role]), **kw)
        allowed = ROLES.index(role) >= ROLES.index(lowest)
        assert (r.status_code < 400) == allowed, (role, r.status_code, r.text)
        if not allowed:
            assert r.status_code == 403 and lowest in r.json()["error"]


@pytest.mark.parametrize("method,path,lowest", READS)
def test_role_matrix_of_reads(served, method, path, lowest):
    project, app, tokens, _ = served
    client = TestClient(app)
    assert client.get(path).status_code == 401
    for role in ROLES:
        r = client.get(path, headers=bearer(tokens[role]))
        assert (r.status_code == 200) == (ROLES.index(role) >= ROLES.index(lowest)), role


def test_public_read_opens_reads_not_writes(served):
    project, _, tokens, _ = served
    client = TestClient(create_app(project, public_read=True))
    assert client.get("/layers/stations").status_code == 200
    assert client.post("/plans", json={"community_id": "C05"}).status_code == 401


def test_a_disabled_account_is_refused_at_once(served):
    project, app, tokens, _ = served
    client = TestClient(app)
    assert client.get("/plans", headers=bearer(tokens["viewer"])).status_code == 200
    r = client.patch("/users/u_viewer", json={"disabled": True}, headers=bearer(tokens["admin"]))
    assert r.status_code == 200 and r.json()["disabled"] is True
    assert client.get("/plans", headers=bearer(tokens["viewer"])).status_code == 401


def test_browsers_of_other_sites_are_kept_out(served):
    project, app, tokens, _ = served
    client = TestClient(app)
    plain = client.post("/staffing", content=b"[officers]\nper_beat = 3\n",
                        headers={**bearer(tokens["admin"]), "Content-Type": "text/plain"})
    assert plain.status_code == 415 and "application/json" in plain.json()["fix"]
    cross = client.post("/plans", json={"community_id": "C05"},
                        headers={**bearer(tokens["admin"]), "Origin": "https://evil.example"})
    assert cross.status_code == 403 and "--cors-origin" in cross.json()["fix"]
    rebinding = client.get("/layers/stations", headers={**bearer(tokens["admin"]),
                                                        "Host": "evil.example"})
    assert rebinding.status_code == 400 and "--allowed-host" in rebinding.json()["fix"]
    same = client.post("/plans", json={"community_id": "C05", "source": "empty"},
                       headers={**bearer(tokens["planner"]), "Origin": "http://testserver"})
    assert same.status_code == 201


def test_plan_edits_carry_versions_and_stale_ones_get_409(served):
    project, app, tokens, _ = served
    a, b = TestClient(app), TestClient(app)
    h = bearer(tokens["planner"])
    made = a.post("/plans", json={"community_id": "C05", "source": "generate"}, headers=h)
    assert made.status_code == 201
    pid, etag = made.json()["id"], made.headers["ETag"]
    grids = [t["grid_id"] for t in made.json()["totals"]]
    assert a.post(f"/plans/{pid}/move", json={"to_grid": grids[1], "units": [0]},
                  headers=h).status_code == 428
    first = a.post(f"/plans/{pid}/move", json={"to_grid": grids[1], "units": [0]},
                   headers={**h, "If-Match": etag})
    assert first.status_code == 200 and first.json()["step"] == 3
    stale = b.post(f"/plans/{pid}/move", json={"to_grid": grids[2], "units": [1]},
                   headers={**h, "If-Match": etag})
    assert stale.status_code == 409
    assert stale.json()["current_version"] == first.headers["ETag"].strip('"')
    assert stale.headers["ETag"] == first.headers["ETag"]
    # nothing of the stale edit was recorded
    steps = a.get(f"/plans/{pid}/steps", headers=h).json()
    assert [s["kind"] for s in steps] == ["create", "generate", "move"]
    assert steps[-1]["author"] == "u_planner"
    audit = a.get("/audit", params={"action": "plans."}, headers=bearer(tokens["admin"])).json()
    assert [e["action"] for e in audit] == ["plans.create", "plans.generate", "plans.move"]
    assert audit[-1]["version_before"] == etag.strip('"')


def test_two_planners_editing_two_plans_at_once_lose_nothing(served):
    project, app, tokens, _ = served
    client = TestClient(app)
    h = bearer(tokens["planner"])
    plans = [client.post("/plans", json={"community_id": c, "source": "generate"},
                         headers=h).json() for c in ("C05", "C09")]
    errors = []

    def edit(plan):
        version = plan["version"]
        grids = [t["grid_id"] for t in plan["totals"]]
        for unit in range(6):
            r = client.post(f"/plans/{plan['id']}/move",
                            json={"to_grid": grids[unit % 2], "units": [unit],
                                  "version": version}, headers=h)
            if r.status_code != 200:
                errors.append(r.text)
                return
            version = r.json()["version"]

    threads = [threading.Thread(target=edit, args=(p,)) for p in plans]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for plan in plans:
        steps = client.get(f"/plans/{plan['id']}/steps", headers=h).json()
        assert [s["kind"] for s in steps].count("move") == 6


def test_a_restart_loses_no_recorded_step(served):
    project, app, tokens, (target, schema) = served
    h = bearer(tokens["planner"])
    client = TestClient(app)
    plan = client.post("/plans", json={"community_id": "C05", "source": "generate"},
                       headers=h).json()
    grids = [t["grid_id"] for t in plan["totals"]]
    moved = client.post(f"/plans/{plan['id']}/move", json={"to_grid": grids[1], "units": [0],
                                                           "version": plan["version"]},
                        headers=h).json()
    # a new process: a new project object and app on the same store
    again = TestClient(create_app(Project.open(target, schema=schema)))
    after = again.get(f"/plans/{plan['id']}", headers=h)
    assert after.status_code == 200
    assert after.json()["totals"] == moved["totals"] and after.json()["step"] == moved["step"]
    undone = again.post(f"/plans/{plan['id']}/undo", json={"version": moved["version"]},
                        headers=h).json()
    assert undone["totals"] == plan["totals"]


def test_publish_writes_the_grids_layer_and_compare_counts_moves(served):
    project, app, tokens, _ = served
    client = TestClient(app)
    h = bearer(tokens["planner"])
    plan = client.post("/plans", json={"community_id": "C05", "source": "generate"},
                       headers=h).json()
    viewer = client.post(f"/plans/{plan['id']}/publish", json={"version": plan["version"]},
                         headers=bearer(tokens["viewer"]))
    assert viewer.status_code == 403
    pub = client.post(f"/plans/{plan['id']}/publish", json={"version": plan["version"]},
                      headers=h)
    assert pub.status_code == 200 and pub.json()["status"] == "published"
    stored = Project.open(*served[3][:1], schema=served[3][1]).layer("grids")
    assert sorted(stored["id"]) == sorted(t["grid_id"] for t in plan["totals"])
    draft = client.post("/plans", json={"community_id": "C05"}, headers=h).json()
    assert draft["totals"] == pub.json()["totals"] and draft["ok"]
    csv = client.get(f"/plans/{draft['id']}/assignment.csv", headers=h).text
    assert csv.startswith("building_id,grid_id\n")
    imported = client.post("/plans/import", json={"community_id": "C05", "csv": csv},
                           headers=h).json()
    diff = client.get(f"/plans/{draft['id']}/compare/{imported['id']}", headers=h).json()
    # a CSV names buildings: every household and building comes back in its grid
    assert diff["households_moved"] == 0 and diff["buildings_moved"] == 0
    assert [g["households_a"] for g in diff["grids"]] == [g["households_b"] for g in diff["grids"]]
