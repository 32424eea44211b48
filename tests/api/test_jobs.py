"""Background jobs of the service (api/jobs.py, api/routes/jobs.py) on the sample project.

A job's life cycle (202 and its link, progress rising, the result byte for byte the
synchronous answer), cancellation (queued: at once; running: at the next checkpoint,
nothing written), the limits per role and of the queue, time limits (background and
synchronous), a client that disconnects cancelling its synchronous run, and a prompt
shutdown.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import threading
import time
from pathlib import Path
from typing import Any, get_args

import pytest
from fastapi.responses import Response
from fastapi.testclient import TestClient

from beatgrid.api.auth import Principal, Reader, Role
from beatgrid.api.jobs import FINAL, Refused
from beatgrid.api.service import create_app
from beatgrid.gis.project import Project

SAMPLE = Path(__file__).resolve().parents[2] / "sample-geodata" / "ningbo-jiangbei.gpkg"
ASYNC = {"Prefer": "respond-async"}
#: Longest wait for a job in these tests (2 shared cores: generous).
WAIT_S = 60.0


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture()
def project(tmp_path) -> Path:
    path = tmp_path / "p.gpkg"
    shutil.copy(SAMPLE, path)
    return path


def app_for(path: Path, **core: Any):
    """An app on ``path`` with core settings overridden (``jobs=..., service=...``)."""
    return create_app(Project.open(path, core=core or None))


def wait_until(client: TestClient, url: str, done, timeout: float = WAIT_S) -> list[dict]:
    """Poll the job at ``url`` until ``done(status)``; every status seen."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get(url).json()
        seen.append(status)
        if done(status):
            return seen
        time.sleep(0.05)
    raise AssertionError(f"job never reached the state wanted: {seen[-1]}")


def finished(status: dict) -> bool:
    return status["state"] in FINAL


# --------------------------------------------------------------------------------------
# Life cycle
# --------------------------------------------------------------------------------------

def test_job_life_cycle_result_is_the_synchronous_answer(project):
    body = {"community_id": "C05", "seed": 3}
    sync = TestClient(app_for(project)).post("/grids/generate", json=body)
    assert sync.status_code == 200
    with TestClient(app_for(project)) as client:
        r = client.post("/grids/generate", json=body, headers=ASYNC)
        assert r.status_code == 202, r.text
        assert r.headers["preference-applied"] == "respond-async"
        url = r.headers["location"]
        job = r.json()
        assert url.endswith(f"/jobs/{job['id']}")
        assert job["mode"] == "async" and job["owner"] == "local"
        assert job["state"] in ("queued", "running")
        seen = wait_until(client, url, finished)
        fractions = [s["progress"] for s in seen]
        assert fractions == sorted(fractions)                    # progress never falls
        final = seen[-1]
        assert final["state"] == "succeeded" and final["progress"] == 1.0
        assert final["started"] and final["finished"] >= final["started"]
        assert [link["rel"] for link in final["links"]] == ["self", "results"]
        result = client.get(final["links"][1]["href"])
        assert result.status_code == 200
        assert result.headers["content-type"] == sync.headers["content-type"]
        assert result.content == sync.content                    # byte for byte
        listed = client.get("/jobs").json()["jobs"]
        assert [j["id"] for j in listed] == [job["id"]]
        assert client.get("/jobs", params={"state": "running"}).json()["jobs"] == []
        # a finished job is forgotten on DELETE
        assert client.delete(url).json()["state"] == "succeeded"
        assert client.get(url).status_code == 404


def test_progress_rises_through_the_stages_of_a_district_generate(project):
    with TestClient(app_for(project)) as client:
        r = client.post("/grids/generate", json={}, headers=ASYNC)
        seen = wait_until(client, r.headers["location"], finished)
    assert seen[-1]["state"] == "succeeded"
    fractions = [s["progress"] for s in seen]
    assert fractions == sorted(fractions)
    messages = {s["message"] for s in seen}
    assert "planning grids for 12 communities" in messages
    assert len({f for f in fractions if 0 < f < 1}) >= 2         # seen in between


def test_coverage_and_staffing_jobs_answer_like_the_synchronous_routes(project):
    client = TestClient(app_for(project))
    for method, url, kwargs in [
            ("GET", "/coverage/stats", {"params": {"zone_type": "estate"}}),
            ("GET", "/coverage/estate_risk", {"params": {"top": 3}}),
            ("POST", "/cameras/recommend", {"json": {"budget": 2, "estate": "E40"}}),
            ("POST", "/staffing", {"json": {"officers.per_beat": 2}})]:
        sync = client.request(method, url, **kwargs)
        r = client.request(method, url, headers=ASYNC, **kwargs)
        assert r.status_code == 202, (url, r.text)
        final = wait_until(client, r.headers["location"], finished)[-1]
        assert final["state"] == "succeeded", final
        result = client.get(r.headers["location"] + "/result")
        assert (result.status_code, result.content) == (200, sync.content), url
        assert result.headers.get("beatgrid-notes") == sync.headers.get("beatgrid-notes")


def test_a_failed_job_answers_its_error(project):
    client = TestClient(app_for(project))
    r = client.get("/coverage/blind_spots", params={"estate": "E99"}, headers=ASYNC)
    assert r.status_code == 202
    final = wait_until(client, r.headers["location"], finished)[-1]
    assert final["state"] == "failed" and "E99" in final["error"]["error"]
    result = client.get(r.headers["location"] + "/result")
    sync = client.get("/coverage/blind_spots", params={"estate": "E99"})
    assert (result.status_code, result.json()) == (sync.status_code, sync.json())


def test_bad_requests_are_refused_before_any_job(project):
    client = TestClient(app_for(project))
    r = client.post("/cameras/recommend", json={"budget": 2, "estate": "E99"}, headers=ASYNC)
    assert r.status_code == 422 and "E99" in r.json()["error"]
    r = client.post("/staffing", json={"officers.nope": 1}, headers=ASYNC)
    assert r.status_code == 422 and "nope" in r.json()["error"]
    assert client.get("/jobs").json()["jobs"] == []
    assert client.get("/jobs/nosuch").status_code == 404
    r = client.get("/jobs", params={"state": "done"})
    assert r.status_code == 422 and set(r.json()) == {"error", "fix", "type"}


# --------------------------------------------------------------------------------------
# Cancelling
# --------------------------------------------------------------------------------------

def test_cancel_a_running_job_stops_it_and_writes_nothing(project):
    before = sha256(project)
    with TestClient(app_for(project)) as client:
        r = client.post("/grids/generate", json={"save": True}, headers=ASYNC)
        url = r.headers["location"]
        wait_until(client, url, lambda s: s["message"].startswith("planning"))
        t0 = time.monotonic()
        cancel = client.delete(url)
        assert cancel.status_code in (200, 202)
        final = wait_until(client, url, finished)[-1]
        stopped_s = time.monotonic() - t0
        assert final["state"] == "cancelled" and final["message"] == "cancelled by local"
        assert final["progress"] < 1.0
        result = client.get(url + "/result")
        assert result.status_code == 409 and "cancelled" in result.json()["error"]
    # the planning step is the longest without a checkpoint (2.6 s on the sample alone)
    assert stopped_s < 15, stopped_s
    assert sha256(project) == before


def test_cancel_a_queued_job_at_once(project):
    settings = {"jobs": {"workers": 1}}
    with TestClient(app_for(project, **settings)) as client:
        first = client.post("/grids/generate", json={"community_id": "C05"}, headers=ASYNC)
        second = client.post("/grids/generate", json={"community_id": "C09"}, headers=ASYNC)
        assert second.json()["state"] == "queued"
        r = client.delete(second.headers["location"])
        assert r.status_code == 200
        assert r.json()["state"] == "cancelled" and r.json()["started"] is None
        assert wait_until(client, first.headers["location"], finished)[-1]["state"] == \
            "succeeded"
        assert client.get(second.headers["location"]).json()["started"] is None


# --------------------------------------------------------------------------------------
# Limits
# --------------------------------------------------------------------------------------

def test_limits_per_user_and_of_the_queue(project):
    settings = {"jobs": {"workers": 1, "max_queued": 1, "max_per_user": {"admin": 3}}}
    with TestClient(app_for(project, **settings)) as client:
        urls = []
        for body in ({}, {"community_id": "C09"}):       # the district: seconds
            r = client.post("/grids/generate", json=body, headers=ASYNC)
            assert r.status_code == 202
            urls.append(r.headers["location"])
        assert client.get(urls[1]).json()["state"] == "queued"
        full = client.post("/grids/generate", json={"community_id": "C01"}, headers=ASYNC)
        assert full.status_code == 503, full.text
        assert "setting jobs.max_queued" in full.json()["error"]
        assert full.headers["retry-after"]
        for url in reversed(urls):
            client.delete(url)
    settings = {"jobs": {"max_per_user": {"admin": 1}}}
    with TestClient(app_for(project, **settings)) as client:
        first = client.post("/grids/generate", json={"community_id": "C05"}, headers=ASYNC)
        assert first.status_code == 202
        r = client.post("/grids/generate", json={"community_id": "C09"}, headers=ASYNC)
        assert r.status_code == 429, r.text
        assert "setting jobs.max_per_user.admin" in r.json()["error"]
        assert r.json()["type"] == "InputError" and r.headers["retry-after"]
        # the synchronous answer is not a background job: not limited per user
        assert client.post("/grids/generate", json={"community_id": "C09"}).status_code == 200
        client.delete(first.headers["location"])


def test_a_viewer_may_not_start_jobs_nor_see_others(project):
    app = app_for(project)
    client = TestClient(app)
    job = client.post("/staffing", json={}, headers=ASYNC).json()
    reader = get_args(Reader)[1].dependency
    app.dependency_overrides[reader] = lambda: Principal(name="chief", role=Role.viewer)
    r = client.get("/coverage/stats", headers=ASYNC)
    assert r.status_code == 403 and "jobs.max_per_user.viewer" in r.json()["error"]
    assert client.get("/coverage/stats").status_code == 200     # read at once: allowed
    assert client.get("/jobs").json()["jobs"] == []
    assert client.get(f"/jobs/{job['id']}").status_code == 404
    assert client.delete(f"/jobs/{job['id']}").status_code == 404


def test_time_limit_of_a_background_job(project):
    settings = {"jobs": {"time_limit_s": {"admin": 0.2}}}
    with TestClient(app_for(project, **settings)) as client:
        r = client.post("/grids/generate", json={}, headers=ASYNC)
        final = wait_until(client, r.headers["location"], finished)[-1]
        assert final["state"] == "failed", final
        assert "setting jobs.time_limit_s.admin" in final["error"]["error"]
        result = client.get(r.headers["location"] + "/result")
        assert result.status_code == 422 and "ran longer than 0.2 s" in result.json()["error"]


def test_time_limit_of_a_synchronous_request_answers_at_the_limit(project):
    settings = {"service": {"request_time_limit_s": 0.5}}
    client = TestClient(app_for(project, **settings))
    t0 = time.monotonic()
    r = client.post("/grids/generate", json={})
    took = time.monotonic() - t0
    assert r.status_code == 422, r.text
    assert "setting service.request_time_limit_s" in r.json()["error"]
    assert "Prefer: respond-async" in r.json()["fix"]
    assert took < 3.0, took             # the whole district takes 4 s on the sample alone


# --------------------------------------------------------------------------------------
# A client that goes away, and a service that stops
# --------------------------------------------------------------------------------------

async def call_and_disconnect(app, path: str, body: bytes, after_s: float) -> float:
    """POST ``body`` to ``path`` over raw ASGI; the client leaves after ``after_s``."""
    gone = asyncio.Event()
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict:
        if messages:
            return messages.pop(0)
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        pass

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": b"", "root_path": "", "client": ("127.0.0.1", 50000),
             "server": ("testserver", 80),
             "headers": [(b"host", b"testserver"), (b"content-type", b"application/json"),
                         (b"content-length", str(len(body)).encode())]}
    asyncio.get_running_loop().call_later(after_s, gone.set)
    t0 = time.monotonic()
    await app(scope, receive, send)
    return time.monotonic() - t0


def test_a_client_that_disconnects_cancels_its_synchronous_run(project):
    before = sha256(project)
    app = app_for(project)
    took = asyncio.run(call_and_disconnect(app, "/grids/generate",
                                           json.dumps({"save": True}).encode(), 0.5))
    assert took < 2.0, took                          # the request ends with its client
    jobs = app.state.jobs
    (job,) = [j for j in jobs.listing(Principal(name="local", role=Role.admin))]
    assert job.mode == "sync"
    assert job.done.wait(WAIT_S)
    assert job.state == "cancelled" and job.message == "the client disconnected"
    assert sha256(project) == before                 # save: true, yet nothing written
    client = TestClient(app)
    status = client.get(f"/jobs/{job.id}").json()
    assert status["state"] == "cancelled" and status["mode"] == "sync"
    assert client.get(f"/jobs/{job.id}/result").status_code == 409


def test_shutdown_is_prompt_and_refuses_new_work_meanwhile(project):
    settings = {"jobs": {"shutdown_wait_s": 0.5}}
    app = app_for(project, **settings)
    admin = Principal(name="local", role=Role.admin)
    with TestClient(app) as client:
        r = client.post("/grids/generate", json={}, headers=ASYNC)
        url = r.headers["location"]
        wait_until(client, url, lambda s: s["message"].startswith("planning"))
        t0 = time.monotonic()
    took = time.monotonic() - t0                 # the lifespan's end: cancel, wait 0.5 s
    assert took < 2.0, took
    jobs = app.state.jobs
    job = jobs.get(url.rsplit("/", 1)[1], admin)
    assert job.token.cancelled and job.token.reason == "the service is stopping"
    # while a shutdown waits for a running job, new work is refused (503)
    with TestClient(app) as client:                          # the lifespan starts again
        r = client.post("/grids/generate", json={}, headers=ASYNC)
        wait_until(client, r.headers["location"], lambda s: s["state"] == "running")
        stopping = threading.Thread(target=jobs.shutdown, args=(WAIT_S,))
        stopping.start()
        time.sleep(0.2)
        with pytest.raises(Refused) as refused:
            jobs.submit(lambda progress: Response(), kind="x", request="POST /x",
                        principal=admin)
        assert refused.value.status == 503 and "stopping" in str(refused.value)
        stopping.join()
        assert client.get(r.headers["location"]).json()["state"] == "cancelled"
    assert job.done.wait(WAIT_S) and job.state == "cancelled"
