"""``/``: the web planner (grid plans painted on a map in the browser) and its files.

==========================================  ===============================================
``GET /`` (a browser: ``Accept: text/html``)  the planner page (MapLibre GL JS); other
                                            clients get the OGC API landing page (JSON)
``GET /planner/assets/{name}``              the page's scripts and style, and MapLibre's
``GET /planner/settings``                   what the page needs besides the plans API:
                                            the household band of a grid (viewer)
``GET /planner/plans/{id}/units``           the plan's units in a compact form: their
                                            grid, households, buildings and polygons
                                            (integer offsets of 1e-6 degree): what the
                                            page paints with (viewer).
                                            ``?geometry=false``: the grids only
``GET /planner/plans/{id}/units/tiles/      the same units as Mapbox Vector Tiles (layer
{z}/{x}/{y}``                               ``units``, attribute ``unit``), what the map
                                            draws: zooms 0 to ``[tiles]
                                            units_max_zoom``; cut once and kept (viewer)
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

import itertools
import json
import threading
from collections.abc import Callable, Mapping
from importlib import resources
from typing import Annotated, Any

import geopandas as gpd
import numpy as np
import shapely
from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.routing import APIRoute
from starlette.datastructures import Headers, QueryParams
from starlette.routing import Match
from starlette.types import Scope

from beatgrid.api.auth import Reader
from beatgrid.api.deps import ProjectDep, known_params
from beatgrid.api.errors import COMMON_ERRORS, error_responses
from beatgrid.api.rendering import json_default
from beatgrid.gis.errors import NotFoundError
from beatgrid.gis.tiles.cache import TileCache
from beatgrid.gis.tiles.grid import check_tile
from beatgrid.gis.tiles.mvt import MVT_MEDIA_TYPE, TileLayer, decode_tile
from beatgrid.gis.tiles.settings import default_tile_settings

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
#: Coordinates of the compact units are integers of this fraction of a degree (about
#: 0.1 m): the polygons as drawn, a seventh of the GeoJSON text.
UNIT_SCALE = 1_000_000
#: Communities whose encoded polygons are kept (the units of the plans opened lately).
UNITS_KEPT = 4


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
    app.state.planner_units = UnitShapes()
    app.state.planner_unit_tiles = UnitTiles(default_tile_settings())


@router.get("/planner/settings", dependencies=_NONE)
def planner_settings(request: Request, principal: Reader, project: ProjectDep
                     ) -> dict[str, Any]:
    """What the planner needs besides the plans API: the household band of a basic grid
    (``grids`` settings), to judge the totals it shows before the service answers, and
    the deepest zoom of the units' tiles (``tiles`` settings)."""
    band = project.plans.band
    return {"band": {"min_households": int(band.lo), "max_households": int(band.hi),
                     "target_households": float(band.target)},
            "units_max_zoom": int(request.app.state.planner_unit_tiles.settings["units_max_zoom"])}


class PerUnits:
    """One value made per built units (an :class:`~beatgrid.gis.grids.units.AtomicUnits`)
    for the last :data:`UNITS_KEPT` of them: the plans book builds the units once per
    stored state, so a new state makes new units and a new value."""

    def __init__(self) -> None:
        self._kept: dict[int, tuple[Any, Any]] = {}
        self._lock = threading.Lock()
        self._making = threading.Lock()  # one make at a time: the map asks for 4 tiles at once

    def _find(self, units: Any) -> Any:
        with self._lock:
            kept = self._kept.get(id(units))
        return kept[1] if kept is not None and kept[0] is units else None

    def get(self, units: Any, make: Callable[[Any], Any]) -> Any:
        """The value kept for ``units``, made by ``make(units)`` the first time."""
        value = self._find(units)
        if value is not None:
            return value
        with self._making:
            value = self._find(units)
            if value is not None:
                return value
            value = make(units)
            with self._lock:
                if len(self._kept) >= UNITS_KEPT:
                    self._kept.pop(next(iter(self._kept)))
                self._kept[id(units)] = (units, value)
        return value


class UnitShapes:
    """The encoded polygons of the units of a few communities (JSON text), made once per
    built units."""

    def __init__(self) -> None:
        self._kept = PerUnits()

    def text(self, units: Any) -> str:
        """The JSON members ``origin``, ``coords``, ``rings``, ``polygons``, ``parts`` of
        ``units`` (an :class:`~beatgrid.gis.grids.units.AtomicUnits`)."""
        text: str = self._kept.get(
            units, lambda u: encode_polygons(u.units.geometry.to_crs(4326).values))
        return text


def encode_polygons(geoms: Any) -> str:
    """Polygons as JSON members: ``origin`` (lon, lat of the first point, in
    1/:data:`UNIT_SCALE` degree), ``coords`` (x, y of every point as the difference from
    the point before, in the same unit), ``rings`` (points per ring), ``polygons``
    (rings per polygon) and ``parts`` (polygons per feature).

    Examples
    --------
    >>> from shapely.geometry import box
    >>> text = encode_polygons([box(121.5, 29.8, 121.500002, 29.800001)])
    >>> json.loads("{" + text + "}")["coords"]
    [0, 0, 0, 1, -2, 0, 0, -1, 2, 0]
    >>> json.loads("{" + text + "}")["rings"], json.loads("{" + text + "}")["parts"]
    ([5], [1])
    """
    kinds, coords, offsets = shapely.to_ragged_array(list(geoms))
    q = np.rint(np.asarray(coords)[:, :2] * UNIT_SCALE).astype(np.int64)
    if kinds == shapely.GeometryType.POLYGON:
        rings, polys = offsets
        parts = np.ones(len(polys) - 1, dtype=np.int64)
    else:
        rings, polys, feats = offsets
        parts = np.diff(feats)
    origin = q[0].tolist() if len(q) else [0, 0]
    delta = np.diff(q, axis=0, prepend=q[:1]).ravel() if len(q) else q.ravel()
    return (f'"origin": {json.dumps(origin)}, "coords": {json.dumps(delta.tolist())}, '
            f'"rings": {json.dumps(np.diff(rings).tolist())}, '
            f'"polygons": {json.dumps(np.diff(polys).tolist())}, '
            f'"parts": {json.dumps(parts.tolist())}')


@router.get("/planner/plans/{plan_id}/units",
            dependencies=[Depends(known_params("geometry"))])
def planner_units(plan_id: Annotated[int, Path(ge=1, le=2**31 - 1)], request: Request,
                  principal: Reader, project: ProjectDep,
                  geometry: Annotated[bool, Query(description="the polygons too")] = True
                  ) -> Response:
    """The plan's units for the page: per unit (numbers as in ``GET /plans/{id}/units``)
    its ``grid`` (null: in none), ``households``, ``buildings`` and ``kind``; with
    ``geometry`` its polygons in EPSG:4326 (:func:`encode_polygons`). A seventh of the
    GeoJSON and made in a fraction of its time: the page draws a community of 10,000
    buildings from it."""
    editor = project.plans.editor(plan_id)
    u = editor.units.units
    head = {"plan_id": plan_id, "n": len(u), "scale": UNIT_SCALE,
            "grid": [None if g is None else str(g) for g in editor.label],
            "households": u["households"].to_numpy(int).tolist(),
            "buildings": u["buildings"].to_numpy(int).tolist(),
            "kind": u["kind"].astype(str).tolist()}
    text = json.dumps(head, default=json_default)
    if geometry:
        text = text[:-1] + ", " + request.app.state.planner_units.text(editor.units) + "}"
    return Response(text, media_type="application/json")


class UnitTiles:
    """Vector tiles of the units of a few communities: layer ``units``, one feature per
    unit with its number in ``unit`` (the numbers of ``GET /plans/{id}/units``), cut with
    the ``[tiles]`` settings' extent, buffer and simplification (the map's own tiling of
    10,000 units in the browser took it a second). Each tile is cut once per built units
    and kept (the last ``cache_tiles``; 0 keeps none).

    Examples
    --------
    >>> from beatgrid.gis import Project
    >>> units = Project.open("sample-geodata/ningbo-jiangbei.gpkg").plans.units("C05")
    >>> tiles = UnitTiles(default_tile_settings())
    >>> features = decode_tile(tiles.tile(units, 13, 6862, 3382))["units"]["features"]
    >>> len(features) == len(units.units), sorted(f["properties"]["unit"] for f in features)[:3]
    (True, [0, 1, 2])
    >>> tiles.tile(units, 13, 6862, 3382) is tiles.tile(units, 13, 6862, 3382)
    True
    """

    def __init__(self, settings: Mapping[str, Any]) -> None:
        self.settings = settings["tiles"]
        self._layers = PerUnits()
        self._tiles = TileCache(size=int(self.settings["cache_tiles"]))
        self._serial = itertools.count()

    def layer(self, units: Any) -> tuple[TileLayer, int]:
        """The units ready for tiling, and the serial number their tiles are kept under."""
        def make(u: Any) -> tuple[TileLayer, int]:
            frame = gpd.GeoDataFrame({"unit": np.arange(len(u.units))},
                                     geometry=u.units.geometry.values, crs=u.units.crs)
            return TileLayer.build("units", frame, properties=["unit"]), next(self._serial)
        kept: tuple[TileLayer, int] = self._layers.get(units, make)
        return kept

    def tile(self, units: Any, z: int, x: int, y: int) -> bytes:
        """The encoded tile ``z/x/y`` of ``units`` (an
        :class:`~beatgrid.gis.grids.units.AtomicUnits`).

        Raises
        ------
        InputError
            ``z`` is above ``[tiles] units_max_zoom``.
        NotFoundError
            ``x`` or ``y`` is outside the tile matrix at ``z``.
        """
        check_tile(z, x, y, max_zoom=int(self.settings["units_max_zoom"]))
        layer, serial = self.layer(units)
        key = (serial, z, x, y)
        data = self._tiles.get(key)
        if data is None:
            data = layer.tile(z, x, y, extent=int(self.settings["extent"]),
                              buffer=int(self.settings["buffer"]),
                              simplify=float(self.settings["simplify"]))
            self._tiles.put(key, data)
        return data


@router.get("/planner/plans/{plan_id}/units/tiles/{z}/{x}/{y}", dependencies=_NONE,
            response_class=Response,
            responses={200: {"content": {MVT_MEDIA_TYPE: {}},
                             "description": "a Mapbox Vector Tile"}})
def planner_unit_tile(plan_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
                      z: Annotated[int, Path(ge=0, le=24, description="zoom level")],
                      x: Annotated[int, Path(ge=0, le=2**24 - 1, description="column")],
                      y: Annotated[int, Path(ge=0, le=2**24 - 1, description="row")],
                      request: Request, principal: Reader, project: ProjectDep) -> Response:
    """One vector tile of the plan's units (:class:`UnitTiles`): what the page's map
    draws, coloured by the page (MapLibre feature state) from ``GET
    /planner/plans/{id}/units``. Never kept by the browser: the units of a plan change
    when its community's streets or buildings do."""
    units = project.plans.editor(plan_id).units
    data = request.app.state.planner_unit_tiles.tile(units, z, x, y)
    return Response(data, media_type=MVT_MEDIA_TYPE, headers={"Cache-Control": "no-cache"})
