"""HTTP endpoints of the background jobs: list, status, result, cancel.

A long request sent with ``Prefer: respond-async`` (``POST /grids/generate``, ``GET
/coverage/*``, ``POST /cameras/recommend``, ``POST /staffing``) answers ``202`` with
the status of its job and ``Location: /jobs/{id}`` (:mod:`beatgrid.api.jobs`):

================================  ====================================================
``GET /jobs``                     your jobs (every job for an administrator), newest
                                  first; ``?state=running`` to filter
``GET /jobs/{id}``                the job's state (queued, running, succeeded, failed,
                                  cancelled), ``progress`` (0 to 1) and ``message``,
                                  owner, times, error, and the ``results`` link
``GET /jobs/{id}/result``         the answer the request would have had at once (same
                                  status, headers and bytes); 409 while the job runs
                                  or when it was cancelled
``DELETE /jobs/{id}``             cancel a queued or running job (its owner or an
                                  administrator: another user's job is not found,
                                  404): 200 once it stopped, 202 while it is stopping;
                                  a finished job is forgotten
================================  ====================================================

:func:`setup` creates the app's :class:`~beatgrid.api.jobs.JobManager` and request
limits from the project's settings (``[jobs]``, ``[service]``); :func:`shutdown` (run
when the service stops) cancels every job and waits at most ``[jobs]
shutdown_wait_s``.

Examples
--------
>>> from fastapi.testclient import TestClient
>>> from beatgrid.api.service import create_app
>>> client = TestClient(create_app("sample-geodata/ningbo-jiangbei.gpkg"))
>>> job = client.post("/staffing", json={"officers.per_beat": 2},
...                   headers={"Prefer": "respond-async"})
>>> job.status_code, job.json()["state"] in ("queued", "running", "succeeded")
(202, True)
>>> import time
>>> while client.get(job.headers["location"]).json()["state"] != "succeeded":
...     time.sleep(0.1)
>>> client.get(job.headers["location"] + "/result").json()[0]["officers_required"] >= 2
True
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from beatgrid.api.auth import Reader
from beatgrid.api.deps import known_params
from beatgrid.api.errors import ErrorBody, error_responses
from beatgrid.api.jobs import (JobManager, get_jobs, install_refusal_handler, setup_jobs,
                               status_document)
from beatgrid.api.limits import setup_limits
from beatgrid.api.params import Blank
from beatgrid.gis.errors import ConflictError

router = APIRouter(tags=["jobs"], responses=error_responses(404, 422))

#: A job's state, as a query parameter.
StateParam = Literal["queued", "running", "succeeded", "failed", "cancelled"]


class JobLink(BaseModel):
    """A link of a job: ``self`` (its status), ``results`` (the answer, once done)."""

    href: str
    rel: str
    type: str
    title: str


class JobStatus(BaseModel):
    """The status of a job (``GET /jobs/{id}``; also the body of a ``202`` answer)."""

    id: str = Field(description="the job's id")
    kind: str = Field(description="what it computes", examples=["grids.generate"])
    request: str = Field(description="the request it answers",
                         examples=["POST /grids/generate"])
    mode: Literal["async", "sync"] = Field(description="async: a background job (Prefer: "
                                           "respond-async); sync: a request answered at once")
    state: StateParam
    progress: float = Field(ge=0, le=1, description="share of the work done")
    message: str = Field(description="what it is doing, or why it ended")
    owner: str = Field(description="the user who started it")
    created: str = Field(description="ISO 8601, UTC")
    started: str | None = None
    finished: str | None = None
    time_limit_s: float = Field(description="longest run allowed (settings)")
    error: ErrorBody | None = Field(None, description="why it failed (failed jobs)")
    links: list[JobLink]


class JobList(BaseModel):
    """``GET /jobs``: the jobs you may see, newest first."""

    jobs: list[JobStatus]


#: Documented answers of the long routes: 202 (a background job) and its refusals.
ASYNC_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {"model": JobStatus, "description": "With `Prefer: respond-async`: the request "
          "runs as a background job; `Location` is its status (GET /jobs/{id})"},
    403: {"model": ErrorBody, "description": "The role may not start background jobs "
          "(setting jobs.max_per_user), or may not save (POST /grids/generate)"},
    429: {"model": ErrorBody, "description": "The user has as many background jobs as "
          "the role allows (setting jobs.max_per_user)"},
    503: {"model": ErrorBody, "description": "The job queue is full, the service is "
          "stopping, or the store cannot be reached"},
}


#: The ``Prefer`` header of the long routes, for the OpenAPI (``openapi_extra``; the
#: header is read by :func:`beatgrid.api.jobs.respond`).
PREFER_PARAMETER = {
    "name": "Prefer", "in": "header", "required": False,
    "description": "`respond-async` (RFC 7240): run the request as a background job and "
                   "answer 202 with its link at once (GET /jobs/{id} follows it)",
    "schema": {"type": "string"},
}


def setup(app: FastAPI) -> None:
    """The app's jobs, request limits and the answer of refused jobs (403, 429, 503)."""
    setup_limits(app)
    setup_jobs(app)
    install_refusal_handler(app)


async def shutdown(app: FastAPI) -> None:
    """Cancel every job; wait at most ``[jobs] shutdown_wait_s`` for them to stop."""
    jobs: JobManager | None = getattr(app.state, "jobs", None)
    if jobs is not None:
        await asyncio.to_thread(jobs.shutdown)


JobId = Annotated[str, Path(description="the job's id (from its 202 answer or GET /jobs)",
                            max_length=64)]


@router.get("/jobs", response_model=JobList, dependencies=[Depends(known_params("state"))])
def list_jobs(request: Request, principal: Reader, state: Annotated[
        StateParam | None, Blank, Query(description="only the jobs in this state")] = None
              ) -> JSONResponse:
    """Your jobs (every job for an administrator), newest first."""
    jobs = get_jobs(request).listing(principal, state=state)
    return JSONResponse({"jobs": [status_document(job, request) for job in jobs]})


@router.get("/jobs/{job_id}", name="job_status", response_model=JobStatus,
            dependencies=[Depends(known_params())])
def job_status(request: Request, principal: Reader, job_id: JobId) -> JSONResponse:
    """A job's state, progress (fraction and message), times, error and result link."""
    job = get_jobs(request).get(job_id, principal)
    return JSONResponse(status_document(job, request))


@router.get("/jobs/{job_id}/result", name="job_result",
            responses={200: {"content": {"application/json": {}, "application/geo+json": {}},
                             "description": "The answer of the request, as it would have "
                                            "been given at once"},
                       **error_responses(409, 503)},
            dependencies=[Depends(known_params())])
def job_result(request: Request, principal: Reader, job_id: JobId) -> Response:
    """The answer of a finished job: its bytes, status and headers (or its error)."""
    job = get_jobs(request).get(job_id, principal)
    if job.state == "succeeded" and job.response is not None:
        return job.response
    if job.state == "failed" and job.error is not None:
        return JSONResponse(job.error, status_code=job.error_status or 500)
    if job.state == "cancelled":
        raise ConflictError(f"job {job.id} was cancelled ({job.message}): it has no result",
                            fix="run the request again")
    if job.mode == "sync":
        raise ConflictError(f"job {job.id} answers its request at once: its result goes "
                            "to that request only",
                            fix="send the request with 'Prefer: respond-async' to keep its "
                                "result")
    raise ConflictError(f"job {job.id} is {job.state} ({100 * job.progress:.0f} %: "
                        f"{job.message}): its result is not ready",
                        fix=f"poll GET /jobs/{job.id} until its state is succeeded")


@router.delete("/jobs/{job_id}", response_model=JobStatus,
               responses={202: {"model": JobStatus, "description": "The job is stopping "
                                "(it stops at its next checkpoint)"}},
               dependencies=[Depends(known_params())])
async def cancel_job(request: Request, principal: Reader, job_id: JobId) -> Response:
    """Cancel a queued or running job (its owner or an administrator); forget a finished
    one."""
    jobs = get_jobs(request)
    job = jobs.get(job_id, principal)      # another user's job is not found (404)
    if job.final:
        jobs.forget(job)
        return JSONResponse(status_document(job, request))
    jobs.cancel(job, f"cancelled by {principal.name}")
    deadline = time.monotonic() + jobs.settings.cancel_wait_s
    while not job.final and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return JSONResponse(status_document(job, request), status_code=200 if job.final else 202)


__all__ = ["router", "setup", "shutdown", "JobStatus", "JobList", "ASYNC_RESPONSES",
           "PREFER_PARAMETER"]
