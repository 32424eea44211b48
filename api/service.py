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
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from beatgrid.api.cache import ResultCache
from beatgrid.api.errors import install_error_handlers
from beatgrid.api.limits import DEFAULT_BODY_LIMIT, BodyLimit, BodyLimitMiddleware
from beatgrid.api.routes import coverage, grids, layers, staffing
from beatgrid.gis.errors import InputError
from beatgrid.gis.io.store import open_store
from beatgrid.gis.project import Project

#: Route modules, in the order their routes are documented.
ROUTE_MODULES = (layers, grids, coverage, staffing)
#: Results of the routes kept in the app's cache.
CACHE_SIZE = 32


def create_app(project: str | Path | Project) -> FastAPI:
    """A service answering for one project (a path, a database URL or a ``Project``)."""
    if not isinstance(project, Project):
        # A missing project is not an error here: every request answers 404 until it exists.
        project = Project(open_store(project))
    app = FastAPI(title="BeatGrid", version="0.1.0", lifespan=lifespan,
                  description="Police beats, basic grids, CCTV coverage and staffing.")
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, limits=body_limits(), default=DEFAULT_BODY_LIMIT)
    app.state.project = project
    app.state.cache = ResultCache(size=CACHE_SIZE)
    for module in ROUTE_MODULES:
        setup = getattr(module, "setup", None)
        if setup is not None:
            setup(app)
        router = getattr(module, "router", None)
        if router is not None:
            app.include_router(router)
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


def body_limits() -> dict[str, BodyLimit]:
    """``path -> BodyLimit`` of every route module's ``BODY_LIMITS``.

    Examples
    --------
    >>> body_limits()["/cameras/recommend"].max_bytes
    16384
    """
    limits: dict[str, BodyLimit] = {}
    for module in ROUTE_MODULES:
        limits.update(getattr(module, "BODY_LIMITS", {}))
    return limits


def app_from_env() -> FastAPI:
    """App factory for uvicorn: the project comes from ``BEATGRID_PROJECT``."""
    path = os.environ.get("BEATGRID_PROJECT")
    if not path:
        raise InputError("BEATGRID_PROJECT is not set", fix="export BEATGRID_PROJECT=P.gpkg")
    return create_app(path)
