"""Long requests as jobs: worker threads, progress, cancellation, limits per role.

The long routes (``POST /grids/generate``, the coverage analyses, ``POST
/cameras/recommend``, ``POST /staffing`` with a policy) hand their work to
:func:`respond`, a function ``work(progress) -> Response`` that computes the route's
answer and reports its progress (:mod:`beatgrid.gis.progress`):

- with ``Prefer: respond-async`` (RFC 7240, as OGC API - Processes does) the work is
  queued as a **background job** and the answer is ``202 Accepted`` with the job's
  status and its link (``Location: /jobs/{id}``); a worker thread of the app's
  :class:`JobManager` runs it; ``GET /jobs/{id}`` shows its state (queued, running,
  succeeded, failed, cancelled), its progress (fraction and message) and, once done,
  the link to its result: the very answer the request would have had at once. The job
  survives the client going away; ``DELETE /jobs/{id}`` cancels it.
- without it the work runs at once, as a job of its own (``mode: sync``, listed while
  it runs) in a thread of its own, and the answer is the work's, unchanged. A client
  that disconnects cancels the work; a run longer than ``[service]
  request_time_limit_s`` is stopped and refused (422).

Cancellation is cooperative: the work's progress callback raises
:class:`~beatgrid.gis.progress.Cancelled` at its next checkpoint once the job is
cancelled or past its time limit (``[jobs.time_limit_s]`` per role). At shutdown every
job is told to stop and the service waits at most ``[jobs] shutdown_wait_s``; the
threads are daemons, so a computation between two checkpoints never holds up the exit.

Limits (``[jobs]`` of the core settings, read when the app is created): ``workers``
threads, ``max_queued`` jobs waiting (beyond: 503), ``max_per_user`` jobs queued or
running per user by role (beyond: 429; 0: the role may not start jobs, 403), finished
jobs kept ``keep_finished`` / ``keep_finished_minutes``.

A job runs in a copy of the context of the request that started it
(:mod:`contextvars`), so what it writes is recorded in the audit log as the act of the
request's user (:func:`beatgrid.gis.audit.set_actor`).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from beatgrid.api.auth import Principal, Role
from beatgrid.api.errors import error_body, error_response, status_of
from beatgrid.api.limits import JobSettings
from beatgrid.gis.errors import BeatGridError, InputError, NotFoundError, PermissionDeniedError
from beatgrid.gis.progress import Cancelled, CancelToken, Progress

log = logging.getLogger(__name__)

#: A job's state.
JobState = Literal["queued", "running", "succeeded", "failed", "cancelled"]
#: States a job never leaves.
FINAL: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})
#: The preference (RFC 7240) asking for a background job.
RESPOND_ASYNC = "respond-async"
#: How often a request answered at once checks that its client is still there (seconds).
DISCONNECT_POLL_S = 0.25
#: What the work of a job computes: the route's answer, reporting to ``progress``.
Work = Callable[[Progress], Response]


class Refused(Exception):
    """A request the jobs refuse with a status of their own (429, 503).

    The app answers it with the one error body (:func:`install_refusal_handler`).
    """

    def __init__(self, error: BeatGridError, *, status: int,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(str(error))
        self.error, self.status, self.headers = error, status, dict(headers or {})


def install_refusal_handler(app: FastAPI) -> None:
    """Answer :class:`Refused` with its status and the one error body."""

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused) -> JSONResponse:  # noqa: ARG001
        return error_response(exc.error, status=exc.status, headers=exc.headers)


def now_text() -> str:
    """The current time, UTC, ISO 8601 to the millisecond (``...Z``)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(eq=False)
class Job:
    """One run of a long request: what, whose, where it stands, its answer."""

    id: str
    kind: str
    request: str
    owner: str
    role: str
    mode: Literal["async", "sync"]
    work: Work
    time_limit_s: float
    limit_setting: str
    state: JobState = "queued"
    progress: float = 0.0
    message: str = "queued"
    created: str = field(default_factory=now_text)
    started: str | None = None
    finished: str | None = None
    finished_at: float | None = None
    response: Response | None = None
    error: dict[str, Any] | None = None
    error_status: int | None = None
    exception: BaseException | None = None
    token: CancelToken = field(default_factory=CancelToken)
    context: contextvars.Context = field(default_factory=contextvars.copy_context)
    done: threading.Event = field(default_factory=threading.Event)
    waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = field(default_factory=list)

    @property
    def final(self) -> bool:
        """Whether the job has ended (succeeded, failed or cancelled)."""
        return self.state in FINAL

    def limit_error(self) -> InputError:
        """The error of a run stopped by its time limit."""
        who = (f"a background job of the {self.role} role" if self.mode == "async"
               else "a request answered at once")
        fix = ("ask for less (one community, a smaller budget), or ask an administrator to "
               "raise the limit" if self.mode == "async" else
               f"send it with the header 'Prefer: {RESPOND_ASYNC}' to run it as a background "
               "job (GET /jobs/{id} follows it), or ask for less (one community, a smaller "
               "budget)")
        return InputError(f"{self.request} ran longer than {self.time_limit_s:,g} s, the "
                          f"time limit of {who} (setting {self.limit_setting})", fix=fix)


class JobManager:
    """The app's jobs: a bounded queue, worker threads, per-role limits, retention.

    Parameters
    ----------
    settings
        The ``[jobs]`` (and synchronous ``[service]``) settings.

    Examples
    --------
    >>> from fastapi.responses import JSONResponse
    >>> from beatgrid.api.auth import Principal, Role
    >>> from beatgrid.gis.config import default_config
    >>> jobs = JobManager(JobSettings.from_settings(default_config().core))
    >>> job = jobs.submit(lambda progress: JSONResponse({"answer": 42}), kind="demo",
    ...                   request="POST /demo",
    ...                   principal=Principal(name="local", role=Role.admin))
    >>> job.done.wait(10), job.state, job.response.body
    (True, 'succeeded', b'{"answer":42}')
    >>> jobs.shutdown()                                  # nothing left running
    []
    """

    def __init__(self, settings: JobSettings) -> None:
        self.settings = settings
        self._jobs: dict[str, Job] = {}
        self._lock = threading.RLock()
        self._queue: list[Job] = []
        self._wake = threading.Condition(self._lock)
        self._threads: list[threading.Thread] = []
        self._requests = threading.BoundedSemaphore(settings.max_running_requests)
        self._closed = False

    # -- starting jobs -----------------------------------------------------------------
    def submit(self, work: Work, *, kind: str, request: str, principal: Principal) -> Job:
        """Queue ``work`` as a background job of ``principal`` (refused past the limits)."""
        role = principal.role.name
        allowed = int(self.settings.max_per_user.get(role, 0))
        with self._lock:
            self._refuse_when_closed()
            if allowed <= 0:
                raise PermissionDeniedError(
                    f"{request}: the {role} role may not start background jobs (setting "
                    f"jobs.max_per_user.{role} is 0)",
                    fix="send the request without 'Prefer: respond-async' to be answered at "
                        "once, or ask an administrator")
            mine = [j for j in self._jobs.values() if j.owner == principal.name
                    and j.mode == "async" and not j.final]
            if len(mine) >= allowed:
                raise Refused(InputError(
                    f"{request}: user {principal.name!r} has {len(mine)} background job(s) "
                    f"queued or running, the most a user of the {role} role may have "
                    f"(setting jobs.max_per_user.{role})",
                    fix="wait for one to finish (GET /jobs), or cancel one (DELETE "
                        "/jobs/{id})"), status=429, headers={"Retry-After": "10"})
            if len(self._queue) >= self.settings.max_queued:
                raise Refused(InputError(
                    f"{request}: {len(self._queue)} background jobs are waiting, the most "
                    "the service queues (setting jobs.max_queued)",
                    fix="retry in a while"), status=503, headers={"Retry-After": "30"})
            limit = float(self.settings.time_limit_s.get(role, 0.0))
            job = Job(id=uuid.uuid4().hex, kind=kind, request=request, owner=principal.name,
                      role=role, mode="async", work=work, time_limit_s=limit,
                      limit_setting=f"jobs.time_limit_s.{role}")
            self._jobs[job.id] = job
            self._queue.append(job)
            self._start_workers()
            self._wake.notify()
            self._trim()
        return job

    def start_sync(self, work: Work, *, kind: str, request: str,
                   principal: Principal) -> Job:
        """Run ``work`` at once in a thread of its own (``mode: sync``)."""
        with self._lock:
            self._refuse_when_closed()
            job = Job(id=uuid.uuid4().hex, kind=kind, request=request, owner=principal.name,
                      role=principal.role.name, mode="sync", work=work,
                      time_limit_s=float(self.settings.request_time_limit_s),
                      limit_setting="service.request_time_limit_s")
            job.token.deadline = time.monotonic() + job.time_limit_s
            self._jobs[job.id] = job
        threading.Thread(target=self._run_sync, args=(job,), daemon=True,
                         name=f"beatgrid-request-{job.id[:8]}").start()
        return job

    def _refuse_when_closed(self) -> None:
        if self._closed:
            raise Refused(InputError("the service is stopping: no new work is started",
                                     fix="retry once the service is back"), status=503,
                          headers={"Retry-After": "30"})

    def _start_workers(self) -> None:
        self._threads = [t for t in self._threads if t.is_alive()]
        while len(self._threads) < self.settings.workers:
            thread = threading.Thread(target=self._worker, daemon=True,
                                      name=f"beatgrid-job-worker-{len(self._threads)}")
            self._threads.append(thread)
            thread.start()

    # -- running -----------------------------------------------------------------------
    def _worker(self) -> None:
        while True:
            with self._lock:
                while not self._queue and not self._closed:
                    self._wake.wait()
                if self._closed and not self._queue:
                    return
                job = self._queue.pop(0)
            self._execute(job)

    def _run_sync(self, job: Job) -> None:
        while not self._requests.acquire(timeout=DISCONNECT_POLL_S):
            if job.final or job.token.reason is not None:
                self._finish_stopped(job)
                return
        try:
            self._execute(job)
        finally:
            self._requests.release()

    def _execute(self, job: Job) -> None:
        with self._lock:
            if job.final:
                return
            if job.token.reason is not None:
                self._finish_stopped(job)
                return
            job.state, job.started, job.message = "running", now_text(), "started"
            if job.mode == "async":
                job.token.deadline = time.monotonic() + job.time_limit_s
        job.token.forward = lambda fraction, message: self._record(job, fraction, message)
        try:
            response = job.context.run(job.work, job.token)   # the request's actor
        except Cancelled:
            self._finish_stopped(job)
        except BeatGridError as exc:
            self._keep_for_request(job, exc)
            self._finish(job, "failed", error=error_body(exc), status=status_of(exc),
                         message=exc.message)
        except Exception as exc:  # a bug: logged, answered as the app answers bugs
            log.exception("job %s (%s) failed", job.id, job.request)
            self._keep_for_request(job, exc)
            self._finish(job, "failed", status=500, message="internal error", error={
                "error": "internal error: the job could not be completed",
                "fix": "retry; if it persists, report it with the server log",
                "type": "InternalError"})
        else:
            job.response = response
            self._finish(job, "succeeded", message="done")

    @staticmethod
    def _keep_for_request(job: Job, exc: Exception) -> None:
        """Keep the error of a request answered at once, for it to raise (without the
        traceback: its frames hold the layers)."""
        if job.mode == "sync":
            job.exception = exc.with_traceback(None)

    def _record(self, job: Job, fraction: float, message: str) -> None:
        with self._lock:
            if not job.final:
                job.progress = max(job.progress, round(float(fraction), 4))
                job.message = message

    def _finish_stopped(self, job: Job) -> None:
        """End a job its token stopped: cancelled, or failed past its time limit."""
        if job.token.cancelled:
            self._finish(job, "cancelled", message=job.token.reason or "cancelled")
        else:
            err = job.limit_error()
            self._finish(job, "failed", error=error_body(err), status=422, message=err.message)

    def _finish(self, job: Job, state: JobState, *, message: str,
                error: dict[str, Any] | None = None, status: int | None = None) -> None:
        with self._lock:
            if job.final:
                return
            job.state, job.message, job.finished = state, message, now_text()
            job.finished_at = time.monotonic()
            if state == "succeeded":
                job.progress = 1.0
            job.error, job.error_status = error, status
            if job in self._queue:
                self._queue.remove(job)
            if job.mode == "sync" and state == "succeeded":
                self._jobs.pop(job.id, None)     # answered: nothing left to show
            waiters, job.waiters = job.waiters, []
            job.done.set()
        for loop, event in waiters:
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # the request's event loop is closed: nobody waits
                pass

    # -- reading and cancelling ----------------------------------------------------------
    def get(self, job_id: str, principal: Principal) -> Job:
        """The job ``job_id`` of ``principal`` (any job for an administrator)."""
        with self._lock:
            self._trim()
            job = self._jobs.get(job_id)
        if job is None or not self.may_see(principal, job):
            raise NotFoundError(f"job {job_id!r} does not exist (or no longer: finished jobs "
                                f"are kept {self.settings.keep_finished_minutes:,g} minutes)",
                                fix="GET /jobs lists your jobs")
        return job

    def listing(self, principal: Principal, *, state: str | None = None) -> list[Job]:
        """The jobs ``principal`` may see, newest first (optionally in one ``state``)."""
        with self._lock:
            self._trim()
            jobs = [j for j in self._jobs.values() if self.may_see(principal, j)]
        jobs = [j for j in jobs if state is None or j.state == state]
        return sorted(jobs, key=lambda j: j.created, reverse=True)

    @staticmethod
    def may_see(principal: Principal, job: Job) -> bool:
        """The owner and the administrators see a job."""
        return principal.role >= Role.admin or job.owner == principal.name

    def cancel(self, job: Job, reason: str) -> None:
        """Stop ``job``: at once when queued, at its next checkpoint when running."""
        with self._lock:
            if job.final:
                return
            job.token.cancel(reason)
            if job.state == "queued":
                self._finish(job, "cancelled", message=reason)
            else:
                job.message = f"cancelling: {reason}"

    def forget(self, job: Job) -> None:
        """Drop a finished job and its result."""
        with self._lock:
            self._jobs.pop(job.id, None)

    def notify(self, job: Job, loop: asyncio.AbstractEventLoop, event: asyncio.Event) -> None:
        """Set ``event`` (in ``loop``) when ``job`` ends."""
        with self._lock:
            if job.final:
                event.set()
            else:
                job.waiters.append((loop, event))

    def _trim(self) -> None:
        """Forget finished jobs past the retention settings (the oldest first)."""
        keep_s = 60.0 * self.settings.keep_finished_minutes
        done = sorted((j for j in self._jobs.values() if j.final),
                      key=lambda j: j.finished_at or 0.0)
        old = [j for j in done if time.monotonic() - (j.finished_at or 0.0) > keep_s]
        extra = done[:max(0, len(done) - self.settings.keep_finished)]
        for job in {*old, *extra}:
            self._jobs.pop(job.id, None)

    # -- stopping ----------------------------------------------------------------------
    def shutdown(self, wait_s: float | None = None) -> list[Job]:
        """Cancel every job and wait at most ``wait_s`` (``shutdown_wait_s``) for them.

        New work is refused (503) while it waits; afterwards the manager accepts work
        again (an app whose lifespan starts anew, as test clients do). Returns the jobs
        still running when the wait ended (their threads are daemons).
        """
        wait_s = self.settings.shutdown_wait_s if wait_s is None else wait_s
        with self._lock:
            self._closed = True
            live = [j for j in self._jobs.values() if not j.final]
            self._wake.notify_all()
        try:
            for job in live:
                self.cancel(job, "the service is stopping")
            deadline = time.monotonic() + wait_s
            for job in live:
                job.done.wait(max(0.0, deadline - time.monotonic()))
        finally:
            with self._lock:
                self._closed = False
        return [j for j in live if not j.final]


# --------------------------------------------------------------------------------------
# The glue of the long routes
# --------------------------------------------------------------------------------------

def get_jobs(request: Request) -> JobManager:
    """The app's :class:`JobManager` (``app.state.jobs``, made by :func:`setup_jobs`)."""
    jobs: JobManager | None = getattr(request.app.state, "jobs", None)
    return jobs if jobs is not None else setup_jobs(request.app)


def setup_jobs(app: FastAPI) -> JobManager:
    """Create the app's :class:`JobManager` from its project's settings."""
    jobs = JobManager(JobSettings.from_settings(app.state.project.config.core))
    app.state.jobs = jobs
    return jobs


def wants_async(request: Request) -> bool:
    """Whether the request prefers ``respond-async`` (RFC 7240; several headers or values).

    Examples
    --------
    >>> from starlette.requests import Request
    >>> wants_async(Request({"type": "http", "headers": [(b"prefer", b"wait=5, Respond-Async")]}))
    True
    >>> wants_async(Request({"type": "http", "headers": [(b"prefer", b"return=minimal")]}))
    False
    """
    for value in request.headers.getlist("prefer"):
        for preference in value.split(","):
            token = preference.split(";", 1)[0].split("=", 1)[0].strip().lower()
            if token == RESPOND_ASYNC:
                return True
    return False


def status_document(job: Job, request: Request) -> dict[str, Any]:
    """The JSON of a job's status (``GET /jobs/{id}``), with its links."""
    links = [{"href": str(request.url_for("job_status", job_id=job.id)), "rel": "self",
              "type": "application/json", "title": "this job's status"}]
    if job.mode == "async" and job.state in ("succeeded", "failed"):
        links.append({"href": str(request.url_for("job_result", job_id=job.id)),
                      "rel": "results", "type": job.response.media_type if job.response
                      is not None and job.response.media_type else "application/json",
                      "title": "the answer of the request"})
    return {"id": job.id, "kind": job.kind, "request": job.request, "mode": job.mode,
            "state": job.state, "progress": job.progress, "message": job.message,
            "owner": job.owner, "created": job.created, "started": job.started,
            "finished": job.finished, "time_limit_s": job.time_limit_s, "error": job.error,
            "links": links}


async def respond(request: Request, principal: Principal, *, kind: str, work: Work) -> Response:
    """The answer of a long route: a background job (``Prefer: respond-async``: 202 with
    its link) or the work's own answer, computed at once and cancelled when the client
    disconnects."""
    jobs = get_jobs(request)
    where = f"{request.method} {request.url.path}"
    if wants_async(request):
        job = jobs.submit(work, kind=kind, request=where, principal=principal)
        url = str(request.url_for("job_status", job_id=job.id))
        return JSONResponse(status_document(job, request), status_code=202,
                            headers={"Location": url, "Preference-Applied": RESPOND_ASYNC})
    job = jobs.start_sync(work, kind=kind, request=where, principal=principal)
    event = asyncio.Event()
    jobs.notify(job, asyncio.get_running_loop(), event)
    while not job.done.is_set():
        try:
            await asyncio.wait_for(event.wait(), timeout=DISCONNECT_POLL_S)
        except asyncio.TimeoutError:
            pass
        if job.done.is_set():
            break
        if await request.is_disconnected():
            jobs.cancel(job, "the client disconnected")
            return Response(status_code=499)     # nobody reads it
        if job.token.expired:
            raise job.limit_error()
    if job.exception is not None:
        error, job.exception = job.exception, None
        raise error
    if job.response is None:   # stopped: past its time limit, or the service is stopping
        if job.token.cancelled:
            raise Refused(InputError(f"{where} was stopped: {job.token.reason}",
                                     fix="retry once the service is back"), status=503)
        raise job.limit_error()
    return job.response


__all__ = ["JobManager", "Job", "JobState", "Refused", "respond", "get_jobs",
           "setup_jobs", "wants_async", "status_document", "install_refusal_handler",
           "RESPOND_ASYNC", "FINAL"]
