"""Request-body limits: refused by ``Content-Length``, and while the body streams in.

:class:`BodyLimitMiddleware` is a pure ASGI middleware in front of the routes. Each
path has a :class:`BodyLimit` (the route modules declare theirs in ``BODY_LIMITS``;
any other path gets :data:`DEFAULT_BODY_LIMIT`). A request whose ``Content-Length``
is over the limit is answered 413 at once, before a byte of the body is read; a body
without ``Content-Length`` (chunked) or with a false one is counted as its
``http.request`` messages arrive, and reading stops with a 413 as soon as the count
passes the limit. The server thus never holds more than the limit plus one chunk of a
body, however large the upload. The answer is the service's one error body
(:func:`beatgrid.api.errors.error_body`) with status 413.

Examples
--------
>>> from fastapi.testclient import TestClient
>>> from beatgrid.api.service import create_app
>>> from beatgrid.gis.project import Project
>>> client = TestClient(create_app("sample-geodata/ningbo-jiangbei.gpkg"))
>>> r = client.post("/cameras/recommend", content=b"x" * 20_000,
...                 headers={"content-type": "application/json"})
>>> r.status_code, r.json()["type"]
(413, 'InputError')
>>> r.json()["error"]
'POST /cameras/recommend: the body has 20,000 bytes, more than 16,384'

The limits come from the ``[service]`` section of the project's core settings
(``gis/defaults/settings.toml``), read once when the app is created: the body sizes
(``[service.body_bytes]``: a route module names the key of each of its paths in
``BODY_LIMITS`` with a :class:`BodySetting`), and the limits of one request
(:class:`RequestLimits`: the narrowest household band, the most communities, ids,
cameras, the longest ILP time limit and synchronous run), which the routes check
(``limits: LimitsDep``) and refuse with 422, the one error body naming the limit and
the setting. The request models keep their absolute bounds (``le=`` in the OpenAPI);
a setting may only lower those. The ``[jobs]`` settings of the background jobs
(:mod:`beatgrid.api.jobs`) are read here too (:class:`JobSettings`); both tables get
their value checks on load (:func:`check_service_settings`, :func:`check_jobs_settings`).

>>> from beatgrid.gis.config import Config
>>> app = create_app(Project.open("sample-geodata/ningbo-jiangbei.gpkg", config=Config.load(
...     core={"service": {"max_budget": 10}})))
>>> r = TestClient(app).post("/cameras/recommend", json={"budget": 11})
>>> r.status_code, r.json()["error"]
(422, 'POST /cameras/recommend: budget 11 is more than 10, the limit of one request (setting service.max_budget)')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from beatgrid.api.errors import error_response
from beatgrid.gis.config import register_validator
from beatgrid.gis.config_checks import is_plain_number, shown
from beatgrid.gis.errors import InputError, PolicyError

#: Status of a body over its limit.
TOO_LARGE = 413


@dataclass(frozen=True)
class BodyLimit:
    """The largest body a path accepts, and what to tell a client that sends more.

    Examples
    --------
    >>> BodyLimit(16 * 1024, fix="send a small JSON object").max_bytes
    16384
    """

    max_bytes: int
    fix: str


#: The limit of a path no route module names (a GET, an unknown path...).
DEFAULT_BODY_LIMIT = BodyLimit(64 * 1024, fix="send a smaller body; GET /docs shows what "
                                              "each endpoint accepts")


class BodyTooLarge(Exception):
    """Raised to the application by the counting ``receive`` once a body passes its limit."""


def declared_length(scope: Scope) -> int | None:
    """The request's ``Content-Length`` as a number (None when absent or unreadable).

    Examples
    --------
    >>> declared_length({"headers": [(b"content-length", b"12")]})
    12
    >>> declared_length({"headers": [(b"content-length", b"lots")]}) is None
    True
    """
    for key, value in scope.get("headers", ()):
        if key.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodyLimitMiddleware:
    """Refuse request bodies over their path's limit with 413, without reading them whole.

    Parameters
    ----------
    app
        The ASGI application behind.
    limits
        ``path -> BodyLimit`` of the paths with their own limit.
    default
        The limit of every other path.
    """

    def __init__(self, app: ASGIApp, *, limits: Mapping[str, BodyLimit],
                 default: BodyLimit = DEFAULT_BODY_LIMIT) -> None:
        self.app = app
        self.limits = dict(limits)
        self.default = default

    def limit_for(self, path: str) -> BodyLimit:
        """The limit of ``path``."""
        return self.limits.get(path, self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        where = f"{scope.get('method', '')} {scope['path']}"
        declared = declared_length(scope)
        if declared is not None and declared > limit.max_bytes:
            await refuse(scope, receive, send, limit,
                         f"{where}: the body has {declared:,} bytes, more than "
                         f"{limit.max_bytes:,}")
            return
        received = 0
        over = False
        started = False

        async def counted_receive() -> Message:
            nonlocal received, over
            if over:
                raise BodyTooLarge(where)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit.max_bytes:
                    over = True
                    raise BodyTooLarge(where)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if over and not started:
                return      # the application's answer to the cut body: replaced below
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not over or started:
                raise
        if over and not started:
            await refuse(scope, receive, send, limit,
                         f"{where}: the body has more than {limit.max_bytes:,} bytes")


async def refuse(scope: Scope, receive: Receive, send: Send, limit: BodyLimit,
                 message: str) -> None:
    """Answer 413 with the one error body, naming the limit and the route's fix."""
    response = error_response(InputError(message, fix=f"{limit.fix} (at most "
                                                      f"{limit.max_bytes:,} bytes)"),
                              status=TOO_LARGE)
    await response(scope, receive, send)


# --------------------------------------------------------------------------------------
# Limits from the settings ([service] of the core section)
# --------------------------------------------------------------------------------------

#: Absolute bounds of the request models (their ``le=`` in the OpenAPI): a
#: ``[service]`` setting may lower these limits, never raise them.
CEILINGS: dict[str, int | float] = {
    "max_move_ids": 100_000,
    "max_budget": 500,
    "max_ilp_time_limit_s": 600.0,
}
#: Smallest ``min`` and largest ``max`` households of ``POST /grids/generate``.
BAND_FLOOR, BAND_CEILING = 50, 10_000


@dataclass(frozen=True)
class BodySetting:
    """A path's body limit given by its key in the settings' ``[service.body_bytes]``.

    Examples
    --------
    >>> BodySetting("staffing", fix="send fewer keys").limit({"service": {
    ...     "body_bytes": {"staffing": 100}}}).max_bytes
    100
    """

    key: str
    fix: str

    def limit(self, core: Mapping[str, Any]) -> BodyLimit:
        """The :class:`BodyLimit` of the settings ``core``."""
        return BodyLimit(int(core["service"]["body_bytes"][self.key]), fix=self.fix)


def resolve_body_limits(declared: Mapping[str, BodyLimit | BodySetting],
                        core: Mapping[str, Any]) -> dict[str, BodyLimit]:
    """``path -> BodyLimit`` of a route module's ``BODY_LIMITS`` under the settings ``core``.

    Examples
    --------
    >>> from beatgrid.gis.config import default_config
    >>> resolve_body_limits({"/staffing": BodySetting("staffing", fix="less")},
    ...                     default_config().core)["/staffing"].max_bytes
    65536
    """
    return {path: limit.limit(core) if isinstance(limit, BodySetting) else limit
            for path, limit in declared.items()}


def default_body_limit(core: Mapping[str, Any]) -> BodyLimit:
    """The limit of every path without its own (``[service.body_bytes] default``).

    Examples
    --------
    >>> from beatgrid.gis.config import default_config
    >>> default_body_limit(default_config().core).max_bytes
    65536
    """
    return BodyLimit(int(core["service"]["body_bytes"]["default"]), fix=DEFAULT_BODY_LIMIT.fix)


@dataclass(frozen=True)
class RequestLimits:
    """The limits of one request (``[service]`` settings), checked by the routes.

    Each check raises :class:`~beatgrid.gis.errors.InputError` (422) naming the request,
    the value, the limit and the setting.

    Examples
    --------
    >>> from beatgrid.gis.config import default_config
    >>> limits = RequestLimits.from_settings(default_config().core)
    >>> limits.min_band_width, limits.request_time_limit_s
    (50, 300.0)
    >>> limits.check_band("POST /grids/generate", 380, 420)
    Traceback (most recent call last):
    ...
    beatgrid.gis.errors.InputError: POST /grids/generate: the band 380-420 is 40 households wide, narrower than 50, the limit of one request (setting service.min_band_width) Fix: widen the band (max - min at least 50), or run it from the command line (beatgrid grids generate)
    """

    request_time_limit_s: float
    max_running_requests: int
    min_band_width: int
    max_communities: int
    max_move_ids: int
    max_budget: int
    max_ilp_time_limit_s: float
    max_view_cameras: int
    max_snap_m: float

    @classmethod
    def from_settings(cls, core: Mapping[str, Any]) -> RequestLimits:
        """The limits of the core settings' ``[service]`` table (checked)."""
        check_service_settings(core, "settings")
        service = core["service"]
        return cls(**{name: service[name] for name in cls.__dataclass_fields__})

    def check_band(self, where: str, lo: int, hi: int) -> None:
        """Refuse a household band narrower than ``min_band_width``."""
        if hi - lo < self.min_band_width:
            raise InputError(f"{where}: the band {lo}-{hi} is {hi - lo} households wide, "
                             f"narrower than {self.min_band_width}, {_LIMIT} "
                             "(setting service.min_band_width)",
                             fix=f"widen the band (max - min at least {self.min_band_width}), "
                                 "or run it from the command line (beatgrid grids generate)")

    def check_at_most(self, where: str, what: str, value: float, key: str, *,
                      fix: str) -> None:
        """Refuse ``value`` (``what``: "budget 600") over the limit named by ``key``."""
        limit = getattr(self, key)
        if value > limit:
            raise InputError(f"{where}: {what} is more than {limit:,g}, {_LIMIT} "
                             f"(setting service.{key})", fix=fix)


@dataclass(frozen=True)
class JobSettings:
    """The ``[jobs]`` settings (and the synchronous limits of ``[service]``).

    Examples
    --------
    >>> from beatgrid.gis.config import default_config
    >>> s = JobSettings.from_settings(default_config().core)
    >>> s.workers, s.max_per_user["viewer"], s.time_limit_s["analyst"]
    (2, 0, 1800.0)
    """

    workers: int
    max_queued: int
    keep_finished: int
    keep_finished_minutes: float
    shutdown_wait_s: float
    cancel_wait_s: float
    max_per_user: Mapping[str, int]
    time_limit_s: Mapping[str, float]
    request_time_limit_s: float
    max_running_requests: int

    @classmethod
    def from_settings(cls, core: Mapping[str, Any]) -> JobSettings:
        """The settings of the core section ``core`` (checked)."""
        check_jobs_settings(core, "settings")
        jobs, service = core["jobs"], core["service"]
        return cls(workers=jobs["workers"], max_queued=jobs["max_queued"],
                   keep_finished=jobs["keep_finished"],
                   keep_finished_minutes=jobs["keep_finished_minutes"],
                   shutdown_wait_s=jobs["shutdown_wait_s"], cancel_wait_s=jobs["cancel_wait_s"],
                   max_per_user=dict(jobs["max_per_user"]),
                   time_limit_s=dict(jobs["time_limit_s"]),
                   request_time_limit_s=service["request_time_limit_s"],
                   max_running_requests=service["max_running_requests"])


#: How a refusal names the limits of this module.
_LIMIT = "the limit of one request"


def setup_limits(app: FastAPI) -> RequestLimits:
    """Read the limits of the app's project settings into ``app.state.limits``."""
    limits = RequestLimits.from_settings(app.state.project.config.core)
    app.state.limits = limits
    return limits


def get_limits(request: Request) -> RequestLimits:
    """The app's :class:`RequestLimits` (read from its project's settings once)."""
    limits: RequestLimits | None = getattr(request.app.state, "limits", None)
    return limits if limits is not None else setup_limits(request.app)


LimitsDep = Annotated[RequestLimits, Depends(get_limits)]


# --------------------------------------------------------------------------------------
# Value checks of the settings
# --------------------------------------------------------------------------------------

def _number(source: str, key: str, value: Any, *, low: float, high: float | None = None,
            whole: bool = False, above: bool = False) -> None:
    ok = is_plain_number(value) and (not whole or isinstance(value, int)) and (
        value > low if above else value >= low) and (high is None or value <= high)
    if not ok:
        rule = (("above " if above else "at least ") + f"{low:,g}"
                + (f" and at most {high:,g}" if high is not None else ""))
        kind = "a whole number" if whole else "a number"
        raise PolicyError(f"{source}: {key!r} has value {shown(value)}: it must be {kind} "
                          f"{rule}", fix=f"give {kind} {rule} (gis/defaults/settings.toml "
                                         "shows the default)")


def check_service_settings(core: Mapping[str, Any], source: str) -> None:
    """The value checks of the core settings' ``[service]`` table.

    Examples
    --------
    >>> from beatgrid.gis.config import Config
    >>> Config.load(core={"service": {"max_budget": 900}})
    Traceback (most recent call last):
    ...
    beatgrid.gis.errors.PolicyError: core settings: 'service.max_budget' has value 900: it must be a whole number at least 1 and at most 500 Fix: give a whole number at least 1 and at most 500 (gis/defaults/settings.toml shows the default)
    """
    service = core["service"]
    for key in ("max_running_requests", "max_communities", "max_view_cameras"):
        _number(source, f"service.{key}", service[key], low=1, whole=True)
    for key in ("max_move_ids", "max_budget"):
        _number(source, f"service.{key}", service[key], low=1, high=CEILINGS[key], whole=True)
    _number(source, "service.min_band_width", service["min_band_width"], low=0,
            high=BAND_CEILING - BAND_FLOOR, whole=True)
    _number(source, "service.request_time_limit_s", service["request_time_limit_s"], low=0,
            above=True)
    _number(source, "service.max_ilp_time_limit_s", service["max_ilp_time_limit_s"], low=0,
            high=CEILINGS["max_ilp_time_limit_s"], above=True)
    _number(source, "service.max_snap_m", service["max_snap_m"], low=0)
    for key, value in service["body_bytes"].items():
        _number(source, f"service.body_bytes.{key}", value, low=1, whole=True)


register_validator("core", check_service_settings)


def check_jobs_settings(core: Mapping[str, Any], source: str) -> None:
    """The value checks of the core settings' ``[jobs]`` table.

    Examples
    --------
    >>> from beatgrid.gis.config import Config
    >>> Config.load(core={"jobs": {"max_per_user": {"analyst": -1}}})
    Traceback (most recent call last):
    ...
    beatgrid.gis.errors.PolicyError: core settings: 'jobs.max_per_user.analyst' has value -1: it must be a whole number at least 0 Fix: give a whole number at least 0 (gis/defaults/settings.toml shows the default)
    """
    jobs = core["jobs"]
    for key in ("workers", "max_queued", "keep_finished"):
        _number(source, f"jobs.{key}", jobs[key], low=1, whole=True)
    _number(source, "jobs.keep_finished_minutes", jobs["keep_finished_minutes"], low=0,
            above=True)
    for key in ("shutdown_wait_s", "cancel_wait_s"):
        _number(source, f"jobs.{key}", jobs[key], low=0)
    for role, value in jobs["max_per_user"].items():
        _number(source, f"jobs.max_per_user.{role}", value, low=0, whole=True)
    for role, value in jobs["time_limit_s"].items():
        _number(source, f"jobs.time_limit_s.{role}", value, low=0, above=True)


register_validator("core", check_jobs_settings)
