"""``/``: the web planner (grid plans painted on a map in the browser) and its files.

==========================================  ===============================================
``GET /`` (a browser: ``Accept: text/html``)  the planner page (MapLibre GL JS); other
                                            clients get the OGC API landing page (JSON)
``GET /planner/assets/{name}``              the page's scripts and style, and MapLibre's
``GET /planner/settings``                   what the page needs besides the plans API:
                                            the household band of a grid (viewer)
==========================================  ===============================================

The page edits plans through the plans API (``/plans``, :mod:`beatgrid.api.routes.plans`)
and reads the layers through ``/layers``: it holds no state of its own on the server.
The page and its files are static and open to anyone who reaches the service (the
sign-in form is on the page; every request it makes carries the user's token), so they
are added by :func:`setup` outside the role checks; they are left out of the OpenAPI.
They refuse to be framed by another site.

Examples
--------
>>> from fastapi.testclient import TestClient
>>> from beatgrid.api.service import create_app
>>> client = TestClient(create_app("sample-geodata/ningbo-jiangbei.gpkg"))
>>> client.get("/", headers={"Accept": "text/html"}).text.startswith("<!DOCTYPE html>")
True
>>> client.get("/", headers={"Accept": "application/json"}).json()["title"]
'BeatGrid'
>>> client.get("/planner/settings").json()["band"]
{'min_households': 300, 'max_households': 500, 'target_households': 400.0}
"""

from __future__ import annotations

from importlib import resources
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Path
from fastapi.responses import HTMLResponse, Response
from fastapi.routing import APIRoute
from starlette.datastructures import Headers, QueryParams
from starlette.routing import Match
from starlette.types import Scope

from beatgrid.api.auth import Reader
from beatgrid.api.deps import ProjectDep, known_params
from beatgrid.api.errors import COMMON_ERRORS, error_responses
from beatgrid.gis.errors import NotFoundError

router = APIRouter(tags=["planner"], responses=error_responses(*COMMON_ERRORS))

#: Files served under ``/planner/assets/``: name -> (path in beatgrid.layers.assets,
#: media type). The page's modules import each other by these names.
ASSETS = {
    "planner.js": ("planner.js", "text/javascript; charset=utf-8"),
    "planner-api.js": ("planner-api.js", "text/javascript; charset=utf-8"),
    "planner-i18n.js": ("planner-i18n.js", "text/javascript; charset=utf-8"),
    "planner-map.js": ("planner-map.js", "text/javascript; charset=utf-8"),
    "planner-paint.js": ("planner-paint.js", "text/javascript; charset=utf-8"),
    "planner-panels.js": ("planner-panels.js", "text/javascript; charset=utf-8"),
    "planner-edit.js": ("planner-edit.js", "text/javascript; charset=utf-8"),
    "planner-view.js": ("planner-view.js", "text/javascript; charset=utf-8"),
    "planner-compare.js": ("planner-compare.js", "text/javascript; charset=utf-8"),
    "planner-cameras.js": ("planner-cameras.js", "text/javascript; charset=utf-8"),
    "planner.css": ("planner.css", "text/css; charset=utf-8"),
    "maplibre-gl.js": ("maplibre/maplibre-gl.js", "text/javascript; charset=utf-8"),
    "maplibre-gl.css": ("maplibre/maplibre-gl.css", "text/css; charset=utf-8"),
    "maplibre-LICENSE.txt": ("maplibre/LICENSE.txt", "text/plain; charset=utf-8"),
}
#: How long a browser may keep an asset before asking again (the answer carries the
#: installed files' own ETag-free content; a new version changes the page).
ASSET_MAX_AGE_S = 300
#: Headers of every file served: never framed by another site (clickjacking).
FRAME_HEADERS = {"X-Frame-Options": "DENY",
                 "Content-Security-Policy": "frame-ancestors 'none'",
                 "X-Content-Type-Options": "nosniff"}
_NONE = [Depends(known_params())]


def wants_html(scope: Scope) -> bool:
    """Whether a request is a browser asking for a page (``Accept`` names HTML and no
    ``f=json``).

    Examples
    --------
    >>> wants_html({"type": "http", "headers": [(b"accept", b"text/html,*/*;q=0.8")],
    ...             "query_string": b""})
    True
    >>> wants_html({"type": "http", "headers": [(b"accept", b"*/*")], "query_string": b""})
    False
    >>> wants_html({"type": "http", "headers": [(b"accept", b"text/html")],
    ...             "query_string": b"f=json"})
    False
    """
    accept = Headers(scope=scope).get("accept", "").lower()
    fmt = QueryParams(scope.get("query_string", b"")).get("f", "").lower()
    return "text/html" in accept and fmt in ("", "html")


class PageRoute(APIRoute):
    """A route that answers only browsers asking for HTML; others go to the next route
    of the same path (``GET /``: the OGC API landing page)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if match is Match.FULL and not wants_html(scope):
            return Match.NONE, {}
        return match, child


def _asset(path: str) -> bytes:
    return resources.files("beatgrid.layers.assets").joinpath(path).read_bytes()


def planner_page() -> HTMLResponse:
    """The planner page (it signs in and then calls ``/auth``, ``/layers`` and ``/plans``)."""
    return HTMLResponse(_asset("planner.html").decode("utf-8"),
                        headers={"Cache-Control": "no-cache", **FRAME_HEADERS})


def planner_asset(name: Annotated[str, Path(max_length=64)]) -> Response:
    """One of the page's files (:data:`ASSETS`)."""
    if name not in ASSETS:
        raise NotFoundError(f"no planner asset {name!r}",
                            fix="the page loads " + ", ".join(ASSETS))
    path, media = ASSETS[name]
    return Response(_asset(path), media_type=media,
                    headers={"Cache-Control": f"max-age={ASSET_MAX_AGE_S}", **FRAME_HEADERS})


def setup(app: FastAPI) -> None:
    """Add the page and its files, open to all (the sign-in form is on the page).

    They are added before the routes of the later modules, so a browser asking ``/``
    for HTML gets the page and everyone else the OGC API landing page.
    """
    pages = APIRouter(route_class=PageRoute)
    pages.add_api_route("/", planner_page, methods=["GET"], include_in_schema=False,
                        response_class=HTMLResponse)
    app.include_router(pages)
    files = APIRouter()
    files.add_api_route("/planner/assets/{name}", planner_asset, methods=["GET"],
                        include_in_schema=False, dependencies=_NONE)
    app.include_router(files)


@router.get("/planner/settings", dependencies=_NONE)
def planner_settings(principal: Reader, project: ProjectDep) -> dict[str, Any]:
    """What the planner needs besides the plans API: the household band of a basic grid
    (``grids`` settings), to judge the totals it shows before the service answers."""
    band = project.plans.band
    return {"band": {"min_households": int(band.lo), "max_households": int(band.hi),
                     "target_households": float(band.target)}}
