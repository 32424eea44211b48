"""The BeatGrid HTTP service (FastAPI): an app factory over one :class:`Project`.

Thin: each route parses its request (pydantic models, query parameters), calls the
project's capability and renders the answer. Start it with
``beatgrid serve --project P`` or ``uvicorn 'beatgrid.api.service:app_from_env'
--factory`` with ``BEATGRID_PROJECT`` set. The routes live in ``api/routes/`` (one
module per capability, each an ``APIRouter`` with an optional ``setup(app)`` for its
state); domain errors map to status codes in :mod:`beatgrid.api.errors`; shared
dependencies are in :mod:`beatgrid.api.deps`.

Every answer that is not a success is the one error body ``{"error", "fix", "type"}``
(:class:`~beatgrid.api.errors.ErrorBody`), documented in the OpenAPI for every route
reading the project (:data:`~beatgrid.api.errors.COMMON_ERRORS`): 422 (bad input), 404
(the project or what is named does not exist), 503 (the store cannot be reached), and
where they apply 409 (a conflicting edit) and 413 (a body over the route's limit:
:mod:`beatgrid.api.limits`, refused by ``Content-Length`` and while the body streams
in; each route module names its limits in ``BODY_LIMITS``).

Examples
--------
>>> from fastapi.testclient import TestClient
>>> client = TestClient(create_app("sample-geodata/ningbo-jiangbei.gpkg"))
>>> client.get("/layers/stations").json()["features"][0]["properties"]["id"]
'S01'
>>> client.get("/layers/nope").status_code
422
>>> client.get("/nosuch").json()["error"]
'no endpoint GET /nosuch'
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI
from starlette.middleware.cors import CORSMiddleware

from beatgrid.api.auth import AuthSettings, baseline, mark_route_roles
from beatgrid.api.cache import ResultCache
from beatgrid.api.errors import error_responses, install_error_handlers
from beatgrid.api.limits import (BodyLimit, BodyLimitMiddleware, default_body_limit,
                                 resolve_body_limits)
from beatgrid.api.routes import (accounts, coverage, dashboard, grid_editing, grids, jobs,
                                 layers, ogc_features, ogc_tiles, ogc_transactions, planner,
                                 plans, staffing)
from beatgrid.api.security import DEFAULT_HOSTS, SameOriginJsonMiddleware, TrustedHosts
from beatgrid.gis.config import Config, resolve
from beatgrid.gis.errors import InputError
from beatgrid.gis.io.store import open_store
from beatgrid.gis.project import Project

#: Route modules, in the order their routes are documented.
ROUTE_MODULES = (layers, grids, grid_editing, plans, coverage, staffing, dashboard, planner,
                 jobs, accounts, ogc_features, ogc_transactions, ogc_tiles)
#: Results of the routes kept in the app's cache.
CACHE_SIZE = 32


def create_app(project: str | Path | Project, *, public_read: bool | None = None,
               auth_mode: str | None = None, allowed_hosts: Sequence[str] = (),
               cors_origins: Sequence[str] = ()) -> FastAPI:
    """A service answering for one project (a path, a database URL or a ``Project``).

    Parameters
    ----------
    project
        The project served.
    public_read
        Reads need no sign-in (default: the core setting ``auth.public_read``).
    auth_mode
        ``local`` (one user, no sign-in) or ``accounts``; default: accounts when the
        project has some or is in PostGIS (:class:`~beatgrid.api.auth.AuthSettings`).
    allowed_hosts
        Host names the service answers to besides the loopback ones.
    cors_origins
        Origins whose pages may call the service (CORS; none by default).
    """
    if not isinstance(project, Project):
        # A missing project is not an error here: every request answers 404 until it exists.
        project = Project(open_store(project))
    exists = project.store.exists()
    app = FastAPI(title="BeatGrid", version="0.1.0", lifespan=lifespan,
                  description="Police beats, basic grids, CCTV coverage and staffing.")
    app.state.auth = AuthSettings.for_project(project, public_read=public_read,
                                              mode=auth_mode or (None if exists else "local"))
    install_error_handlers(app)
    hosts = [*DEFAULT_HOSTS, *project.config.core.get("auth", {}).get("allowed_hosts", []),
             *allowed_hosts]
    app.add_middleware(SameOriginJsonMiddleware, cors_origins=cors_origins)
    # outside the JSON check: an oversized body is 413 whatever its type
    app.add_middleware(BodyLimitMiddleware, limits=body_limits(project.config),
                       default=default_body_limit(project.config.core))
    if cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(cors_origins),
                           allow_methods=["*"], allow_headers=["*"],
                           expose_headers=["ETag", "Location"])
    app.add_middleware(TrustedHosts, allowed=hosts)
    app.state.project = project
    app.state.cache = ResultCache(size=CACHE_SIZE)
    for module in ROUTE_MODULES:
        setup = getattr(module, "setup", None)
        if setup is not None:
            setup(app)
        router = getattr(module, "router", None)
        if router is not None:
            mark_route_roles(router.routes)
            app.include_router(router, dependencies=[Depends(baseline)],
                               responses=error_responses(401, 403))
        else:  # transitional: modules still registering on the app
            module.register(app)
    return app


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start-up and shutdown: each route module's optional ``async shutdown(app)`` runs at stop."""
    yield
    for module in reversed(ROUTE_MODULES):
        shutdown = getattr(module, "shutdown", None)
        if shutdown is not None:
            await shutdown(app)


def body_limits(config: Config | None = None) -> dict[str, BodyLimit]:
    """``path -> BodyLimit`` of every route module's ``BODY_LIMITS`` under the settings of
    ``config`` (``[service.body_bytes]``; default the shipped settings).

    Examples
    --------
    >>> body_limits()["/cameras/recommend"].max_bytes
    16384
    >>> body_limits(Config.load(core={"service": {"body_bytes": {"staffing": 1000}}}))[
    ...     "/staffing"].max_bytes
    1000
    """
    core = resolve(config).core
    limits: dict[str, BodyLimit] = {}
    for module in ROUTE_MODULES:
        limits.update(resolve_body_limits(getattr(module, "BODY_LIMITS", {}), core))
    return limits


def app_from_env() -> FastAPI:
    """App factory for uvicorn: the project comes from ``BEATGRID_PROJECT``."""
    path = os.environ.get("BEATGRID_PROJECT")
    if not path:
        raise InputError("BEATGRID_PROJECT is not set", fix="export BEATGRID_PROJECT=P.gpkg")
    return create_app(path)
