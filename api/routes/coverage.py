"""HTTP endpoints for camera coverage: dashboards and the map editor.

Registered on the service by :func:`register` (auto-discovered by
:mod:`beatgrid.api.service`); the project is ``app.state.project``. The figures are those
of ``beatgrid coverage`` and ``beatgrid cameras recommend`` (``gis/coverage.py``,
``gis/camera_placement.py``, shipped ``gis/defaults/coverage.toml``); nothing is ever
written to the project.

=============================================  ============================================
``GET /coverage/stats?zone_type=estate``       coverage figures per zone (JSON records):
                                               ``estate``, ``grid``, ``beat``, ``station``
                                               or ``community``; all zones when omitted
``GET /coverage/blind_spots?estate=E36``       open space no camera sees (GeoJSON,
                                               EPSG:4326) with ``area_m2`` and
                                               ``households_around``, largest first
``GET /coverage/estate_risk?top=10``           old estates ranked by blind-spot risk (JSON
                                               records): every component ``c_*``, the raw
                                               figures and ``contributions`` (points of the
                                               score per component, adding up to it)
``GET /coverage/views?camera_id=C0001``        the visible area of one or more cameras per
                                               quality level (GeoJSON, EPSG:4326;
                                               ``camera_id`` repeated or comma-separated,
                                               optional ``level``)
``POST /cameras/recommend``                    new camera poses for what is unseen: body
                                               ``{"budget": 16, "estate": "E36",
                                               "method": "greedy" | "ilp",
                                               "time_limit": 30}``; answers the proposals
                                               and their views (GeoJSON), the solver
                                               figures and the before / after figures per
                                               zone touched
=============================================  ============================================

Bad parameters (an unknown zone type, estate or camera, a budget that is not a whole
number from 1 to :data:`MAX_BUDGET`, unknown parameters or body keys) are 422 answers
``{"error", "fix"}`` (:mod:`beatgrid.api.errors`). Results are cached per project file
state and parameters, so a dashboard loading several endpoints analyses the coverage
once; notes (e.g. a zone layer the project lacks) come in the ``BeatGrid-Notes`` header.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable

import numpy as np
import pandas as pd
from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from beatgrid.gis.errors import InputError

from beatgrid.api.cache import ProjectCache
from beatgrid.api.params import choice, reject_unknown
from beatgrid.api.rendering import (GEOJSON_RESPONSES, NOTES_HEADER, geojson_dict, geojson_response,
                        json_response, plain, records)
from beatgrid.api.commands.coverage import COVERAGE_LAYERS

#: Zone types of ``GET /coverage/stats`` (layer -> type of ``[coverage] zone_layers``).
ZONE_TYPES = ("estate", "grid", "beat", "station", "community")
#: Largest ``budget`` of ``POST /cameras/recommend``.
MAX_BUDGET = 500
#: Longest ILP ``time_limit`` (seconds) of ``POST /cameras/recommend``.
MAX_TIME_LIMIT_S = 600.0
#: Most cameras in one ``GET /coverage/views``.
MAX_VIEW_CAMERAS = 200
#: Largest body of ``POST /cameras/recommend``, in bytes.
MAX_BODY_BYTES = 16 * 1024
_RECOMMEND_BODY = {
    "required": True,
    "content": {"application/json": {
        "schema": {"type": "object", "required": ["budget"], "properties": {
            "budget": {"type": "integer", "minimum": 1, "maximum": MAX_BUDGET},
            "estate": {"type": "string"},
            "method": {"type": "string", "enum": ["greedy", "ilp"]},
            "time_limit": {"type": "number", "exclusiveMinimum": 0,
                           "maximum": MAX_TIME_LIMIT_S}}},
        "example": {"budget": 16, "estate": "E40", "method": "greedy"}}},
}
_LAYER_OF = {"estate": "estates", "grid": "grids", "beat": "beats", "station": "stations",
             "community": "communities"}


# --------------------------------------------------------------------------------------
# Routes
# --------------------------------------------------------------------------------------

def register(app: FastAPI) -> None:
    """Add the coverage and camera-placement endpoints to ``app``."""

    @app.get("/coverage/stats", tags=["coverage"])
    def coverage_stats(request: Request,
                       zone_type: str | None = Query(
                           None, description="estate, grid, beat, station or community "
                                             "(default: every zone)")) -> Response:
        """Coverage figures per zone: open space seen per quality level, cameras, households."""
        _only(request, ("zone_type",))
        kind = choice("zone_type", zone_type, ZONE_TYPES, None)
        res = _analysis(request)
        stats = res["coverage_stats"]
        notes = []
        if kind is not None:
            stats = stats[stats["zone_type"] == kind]
            if not len(stats):
                notes.append(f"the project has no {_LAYER_OF[kind]}: no {kind} figures"
                             + (" (plan the basic grids with `beatgrid grids`)"
                                if kind == "grid" else ""))
        return json_response(records(stats), notes)

    @app.get("/coverage/blind_spots", tags=["coverage"], responses=GEOJSON_RESPONSES)
    def blind_spots(request: Request,
                    estate: str | None = Query(None, description="only this estate's "
                                                                 "blind spots")) -> Response:
        """Open space no camera sees (GeoJSON, EPSG:4326), largest first."""
        _only(request, ("estate",))
        res = _analysis(request)
        bs = res["blind_spots"]
        if estate:
            _known_estate(estate, res["estates"])
            bs = bs[(bs["zone_type"] == "estate") & (bs["zone_id"] == estate)]
        return geojson_response(bs)

    @app.get("/coverage/estate_risk", tags=["coverage"])
    def estate_risk(request: Request,
                    top: str | None = Query(None, description="only the first N estates")
                    ) -> Response:
        """Old estates ranked by blind-spot risk, with every component and contribution."""
        _only(request, ("top",))
        n = _integer("top", top, low=1, high=1_000_000)
        res = _analysis(request)
        risk = res["estate_risk"]
        if n is not None:
            risk = risk.iloc[:n]
        return json_response(risk_records(risk, res["weights"]))

    @app.get("/coverage/views", tags=["coverage"], responses=GEOJSON_RESPONSES)
    def views(request: Request,
              camera_id: list[str] | None = Query(
                  None, description="camera id(s): repeat the parameter or separate by "
                                    f"commas (at most {MAX_VIEW_CAMERAS})"),
              level: str | None = Query(None, description="only this quality level "
                                        "(all = the whole visible area)")) -> Response:
        """The visible area of one or more cameras per quality level (GeoJSON, EPSG:4326)."""
        _only(request, ("camera_id", "level"))
        ids = _camera_ids(camera_id)
        out = _cached(request, ("views", ids), ["cameras", "buildings"], _views(ids))
        if level:
            present = list(dict.fromkeys(out["level"].astype(str)))
            choice("level", level, tuple(present), None)
            out = out[out["level"] == level]
        return geojson_response(out)

    @app.post("/cameras/recommend", tags=["cameras"],
              openapi_extra={"requestBody": _RECOMMEND_BODY})
    async def recommend(request: Request) -> Response:
        """Recommend new cameras (position, direction) for the open space no camera sees."""
        _only(request, ())
        params = recommend_params(await request.body())
        return await run_in_threadpool(_recommend_response, request, params)


# --------------------------------------------------------------------------------------
# Computation (cached per project state and parameters)
# --------------------------------------------------------------------------------------

_CACHE = ProjectCache(size=8)


def _cached(request: Request, key: tuple, layers: list[str], compute: Callable):
    """``compute(layers)`` for the project, reused while the file is unchanged."""
    return _CACHE.get_for(request, key, layers, compute)


def _analyse(layers: dict) -> dict:
    from beatgrid.gis.coverage.fov import coverage_settings
    from beatgrid.gis.coverage.analysis import analyse_coverage

    out = analyse_coverage(layers)
    out.pop("seen", None)
    out.pop("camera_views", None)          # GET /coverage/views computes its cameras only
    out["estates"] = layers.get("estates")
    out["weights"] = dict(coverage_settings()["risk"]["weights"])
    return out


def _analysis(request: Request) -> dict:
    """Statistics, blind spots and the old-estate ranking of the project (cached)."""
    return _cached(request, ("analysis",), COVERAGE_LAYERS, _analyse)


def _views(ids: tuple[str, ...]):
    def compute(layers):
        from beatgrid.gis.coverage.visibility import camera_views

        cams = layers["cameras"]
        have = pd.Series(cams["id"].astype(str).to_numpy() if "id" in cams.columns
                         else cams.index.astype(str))
        unknown = [i for i in ids if i not in set(have)]
        if unknown:
            raise InputError(f"camera(s) {', '.join(map(repr, unknown))} not in the cameras "
                             "layer", fix="use ids such as " + ", ".join(have.iloc[:5]))
        chosen = cams[have.isin(ids).to_numpy()]
        return camera_views(chosen, _near(layers["buildings"], chosen))
    return compute


def _near(buildings, cams, margin_m: float = 50.0):
    """The buildings within reach of ``cams`` (their range + a margin)."""
    import shapely

    from beatgrid.gis.coverage.fov import camera_parameters
    from beatgrid.gis.crs import metric_crs

    if buildings is None or not len(buildings) or not len(cams):
        return buildings
    crs = metric_crs(cams, layer="cameras")
    reach = float(np.nanmax(camera_parameters(cams.to_crs(crs))["range_m"].to_numpy())) \
        + margin_m
    area = shapely.buffer(shapely.union_all(cams.to_crs(crs).geometry.values), reach)
    bm = buildings.to_crs(crs)
    return buildings[shapely.intersects(area, bm.geometry.values)]


def _recommend(params: dict):
    def compute(layers):
        from beatgrid.gis.coverage.placement import recommend_cameras

        if params["estate"] is not None:
            _known_estate(params["estate"], layers.get("estates"))
        return recommend_cameras(layers, budget=params["budget"], estate=params["estate"],
                                 method=params["method"], time_limit=params["time_limit"])
    return compute


def _recommend_response(request: Request, params: dict) -> JSONResponse:
    key = ("recommend",) + tuple(sorted(params.items()))
    res = _cached(request, key, COVERAGE_LAYERS, _recommend(params))
    return json_response(recommend_body(res, params), recommend_notes(res, params))


# --------------------------------------------------------------------------------------
# Parameters and the request body
# --------------------------------------------------------------------------------------

def _only(request: Request, allowed: tuple[str, ...]) -> None:
    reject_unknown(request, allowed, none_hint="no query parameters (the body holds them)")


def _integer(name: str, value, *, low: int, high: int):
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = None
    if number is None or not low <= number <= high:
        raise InputError(f"{name}={value!r} is not a whole number from {low:,} to {high:,}",
                         fix=f"give {name} as a whole number from {low:,} to {high:,}")
    return number


def _camera_ids(values) -> tuple[str, ...]:
    ids = [part.strip() for v in (values or []) for part in str(v).split(",") if part.strip()]
    if not ids:
        raise InputError("no camera given", fix="add ?camera_id=ID (repeat it, or separate "
                                                "ids by commas, for several cameras)")
    ids = tuple(dict.fromkeys(ids))
    if len(ids) > MAX_VIEW_CAMERAS:
        raise InputError(f"{len(ids):,} cameras asked for, more than {MAX_VIEW_CAMERAS}",
                         fix=f"ask for at most {MAX_VIEW_CAMERAS} cameras per request")
    return ids


def _known_estate(estate: str, estates) -> None:
    ids = estates["id"].astype(str) if estates is not None and len(estates) else pd.Series(
        [], dtype=str)
    if estate not in set(ids):
        raise InputError(f"estate {estate!r} is not in the estates layer",
                         fix="use an estate id such as " + ", ".join(ids.iloc[:5])
                         if len(ids) else "import or draw the estates layer first")


def recommend_params(body: bytes) -> dict:
    """The parameters of a ``POST /cameras/recommend`` body, checked.

    Examples
    --------
    >>> recommend_params(b'{"budget": 16, "estate": "E40"}')
    {'budget': 16, 'estate': 'E40', 'method': 'greedy', 'time_limit': None}
    >>> recommend_params(b'{"budget": 0}')
    Traceback (most recent call last):
    ...
    beatgrid.gis.errors.InputError: budget=0 is not a whole number of cameras from 1 to 500 ...
    """
    if len(body) > MAX_BODY_BYTES:
        raise InputError(f"the body has {len(body):,} bytes, more than {MAX_BODY_BYTES:,}",
                         fix='send a small JSON object such as {"budget": 16}')
    try:
        data = json.loads(body.decode("utf-8-sig")) if body.strip() else None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"the body is not valid JSON: {exc}",
                         fix='send a JSON object such as {"budget": 16, "estate": "E40"}'
                         ) from None
    if not isinstance(data, dict):
        raise InputError("the body must be a JSON object with at least a budget",
                         fix='send e.g. {"budget": 16, "estate": "E40", "method": "greedy"}')
    allowed = ("budget", "estate", "method", "time_limit")
    for key in data:
        if key not in allowed:
            raise InputError(f"unknown key {key!r} in the body",
                             fix="use only: " + ", ".join(allowed))
    budget = data.get("budget")
    if isinstance(budget, float) and budget.is_integer():
        budget = int(budget)
    if isinstance(budget, bool) or not isinstance(budget, int) or not 1 <= budget <= MAX_BUDGET:
        raise InputError(f"budget={budget!r} is not a whole number of cameras from 1 to "
                         f"{MAX_BUDGET}", fix=f'give e.g. "budget": 16 (at most {MAX_BUDGET})')
    estate = data.get("estate")
    if estate is not None and (not isinstance(estate, str) or not estate.strip()):
        raise InputError(f"estate={estate!r} is not an estate id",
                         fix='give the id of an estate as text, e.g. "estate": "E40", or '
                             "leave it out for all the district's estates")
    method = data.get("method") or "greedy"
    if method not in ("greedy", "ilp"):
        raise InputError(f"method={method!r} is not allowed",
                         fix='use "greedy" (fast) or "ilp" (exact, with a time limit)')
    limit = data.get("time_limit")
    if limit is not None:
        ok = isinstance(limit, (int, float)) and not isinstance(limit, bool) and \
            math.isfinite(limit) and 0 < limit <= MAX_TIME_LIMIT_S
        if not ok:
            raise InputError(f"time_limit={limit!r} is not a number of seconds greater than 0 "
                             f"and at most {MAX_TIME_LIMIT_S:g}",
                             fix='give e.g. "time_limit": 30 (used by method "ilp")')
        limit = float(limit)
    return {"budget": budget, "estate": estate.strip() if estate else None, "method": method,
            "time_limit": limit}


# --------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------

def risk_records(risk: pd.DataFrame, weights: dict) -> list[dict]:
    """The ranking as records with ``contributions``: points of the score per component.

    ``contributions[k] = 100 x w_k c_k / sum(w)``, so they add up to ``risk_score``;
    ``main_factor`` is the component giving the most points.

    Examples
    --------
    >>> import pandas as pd
    >>> r = pd.DataFrame({"rank": [1], "estate_id": ["E1"], "risk_score": [65.0],
    ...                   "c_uncovered": [1.0], "c_camera_deficit": [1.0],
    ...                   "c_access_deficit": [0.75], "c_preventable_incidents": [0.0],
    ...                   "c_floating_share": [0.0]})
    >>> w = {"uncovered": 0.3, "camera_deficit": 0.2, "access_deficit": 0.2,
    ...      "preventable_incidents": 0.2, "floating_share": 0.1}
    >>> rec = risk_records(r, w)[0]
    >>> rec["contributions"]["uncovered"], rec["main_factor"]
    (30.0, 'uncovered')
    >>> round(sum(rec["contributions"].values()), 6) == rec["risk_score"]
    True
    """
    total = float(sum(float(v) for v in weights.values()))
    out = records(risk)
    for row in out:
        points = {k: round(100.0 * float(w) * float(row.get(f"c_{k}") or 0.0) / total, 6)
                  if total > 0 else 0.0 for k, w in weights.items()}
        row["contributions"] = points
        row["main_factor"] = max(points, key=points.get) if points else None
    return out


def recommend_body(res, params: dict) -> dict:
    """The JSON of ``POST /cameras/recommend``."""
    info = {k: v for k, v in res.info.items() if k != "timings"}
    views = res.views
    return {
        "budget": params["budget"], "estate": params["estate"], "method": params["method"],
        "placed": len(res.proposals),
        "info": plain(info),
        "proposals": geojson_dict(res.proposals),
        "proposal_views": geojson_dict(views),
        "effects": records(res.effects),
    }


def recommend_notes(res, params: dict) -> list[str]:
    notes = []
    if res.info.get("stopped_early"):
        notes.append(f"only {len(res.proposals)} of budget {params['budget']} placed: no "
                     "candidate pose sees any more unseen demand")
    if params["time_limit"] is not None and params["method"] != "ilp":
        notes.append("time_limit applies to method ilp only: ignored")
    return notes



__all__ = ["register", "records", "risk_records", "recommend_params", "recommend_body",
           "ZONE_TYPES", "MAX_BUDGET", "MAX_TIME_LIMIT_S", "MAX_VIEW_CAMERAS", "NOTES_HEADER"]
