"""HTTP endpoints for camera coverage: dashboards and the map editor.

The figures are those of ``beatgrid coverage`` and ``beatgrid cameras recommend``: every
route calls ``project.coverage`` (:mod:`beatgrid.gis.coverage.workflow`) with the
project's settings; nothing is ever written to the project.

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
``{"error", "fix"}`` (:mod:`beatgrid.api.errors`). Results are kept in the app's cache
(:data:`beatgrid.api.deps.CacheDep`) per project state and parameters, so a dashboard
loading several endpoints analyses the coverage once; notes (e.g. a zone layer the
project lacks) come in the ``BeatGrid-Notes`` header.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal, get_args

import pandas as pd
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.concurrency import run_in_threadpool

from beatgrid.api.auth import Analyst, Reader
from beatgrid.api.cache import ResultCache
from beatgrid.api.deps import CacheDep, ProjectDep, known_params
from beatgrid.api.errors import COMMON_ERRORS, error_responses, invalid
from beatgrid.api.jobs import respond
from beatgrid.api.limits import CEILINGS, BodySetting, LimitsDep, RequestLimits
from beatgrid.api.params import Blank, choice
from beatgrid.api.rendering import (GEOJSON_RESPONSES, NOTES_HEADER, geojson_dict,
                                    geojson_response, json_response, plain, records)
from beatgrid.api.routes.jobs import ASYNC_RESPONSES, PREFER_PARAMETER
from beatgrid.gis.config import default_config
from beatgrid.gis.coverage.analysis import CoverageResult
from beatgrid.gis.coverage.placement import PlacementResult
from beatgrid.gis.coverage.workflow import LAYERS, CameraViews
from beatgrid.gis.errors import InputError
from beatgrid.gis.progress import Progress
from beatgrid.gis.project import Project

router = APIRouter(responses=error_responses(*COMMON_ERRORS))

#: A zone type of ``GET /coverage/stats`` (layer -> type of ``[coverage] zone_layers``).
ZoneType = Literal["estate", "grid", "beat", "station", "community"]
#: Zone types of ``GET /coverage/stats``.
ZONE_TYPES: tuple[str, ...] = get_args(ZoneType)
#: Largest ``budget`` of ``POST /cameras/recommend`` (the request model's bound;
#: ``[service] max_budget`` may lower it).
MAX_BUDGET = int(CEILINGS["max_budget"])
#: Longest ILP ``time_limit`` (seconds) of ``POST /cameras/recommend`` (the model's bound;
#: ``[service] max_ilp_time_limit_s`` may lower it).
MAX_TIME_LIMIT_S = float(CEILINGS["max_ilp_time_limit_s"])
#: Largest ``top`` of ``GET /coverage/estate_risk``.
MAX_TOP = 1_000_000
#: Body limits of the routes (:mod:`beatgrid.api.limits`; ``[service.body_bytes]``).
BODY_LIMITS = {"/cameras/recommend": BodySetting(
    "cameras_recommend", fix='send a small JSON object such as {"budget": 16}')}
#: Documented answers of the long routes besides their own (:mod:`beatgrid.api.jobs`).
LONG = {"responses": ASYNC_RESPONSES, "openapi_extra": {"parameters": [PREFER_PARAMETER]}}
#: What ``POST /cameras/recommend`` says when given query parameters.
BODY_HINT = "no query parameters (the body holds them)"


class RecommendBody(BaseModel):
    """The body of ``POST /cameras/recommend`` (only ``budget`` is required).

    Examples
    --------
    >>> RecommendBody.model_validate({"budget": 16, "estate": " E40 "}).model_dump()
    {'budget': 16, 'estate': 'E40', 'method': 'greedy', 'time_limit': None}
    """

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"budget": 16, "estate": "E40", "method": "greedy"}]})

    budget: int = Field(ge=1, le=MAX_BUDGET, description="new cameras to place (at most)",
                        examples=[16])
    estate: str | None = Field(None, min_length=1, description="place only within this "
                               "estate (default: all the district's estates)",
                               examples=["E40"])
    method: Literal["greedy", "ilp", ""] | None = Field(
        "greedy", description="lazy greedy (fast) or exact integer programme (HiGHS, gap "
                              "shown); empty or null: greedy")
    time_limit: float | None = Field(None, gt=0, le=MAX_TIME_LIMIT_S,
                                     description="ILP time limit in seconds (method ilp)",
                                     examples=[30])

    @field_validator("budget", mode="before")
    @classmethod
    def _whole_number(cls, value: Any) -> Any:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_BUDGET:
            raise invalid(f"budget={value!r} is not a whole number of cameras from 1 to "
                          f"{MAX_BUDGET}", fix=f'give e.g. "budget": 16 (at most {MAX_BUDGET})')
        return value

    @field_validator("estate", mode="before")
    @classmethod
    def _estate_id(cls, value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise invalid(f"estate={value!r} is not an estate id",
                          fix='give it as text, e.g. "E40", or leave it out for all the '
                              "district's estates")
        return value.strip()

    @field_validator("method", mode="before")
    @classmethod
    def _known_method(cls, value: Any) -> Any:
        if value is None or value == "":    # empty or null counts as absent
            return "greedy"
        if not isinstance(value, str) or value not in ("greedy", "ilp"):
            raise invalid(f"method={value!r} is not allowed",
                          fix='use "greedy" (fast) or "ilp" (exact, with a time limit)')
        return value

    @field_validator("time_limit", mode="before")
    @classmethod
    def _seconds(cls, value: Any) -> Any:
        if value is None:
            return None
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and \
            math.isfinite(value) and 0 < value <= MAX_TIME_LIMIT_S
        if not ok:
            raise invalid(f"time_limit={value!r} is not a number of seconds greater than 0 "
                          f"and at most {MAX_TIME_LIMIT_S:g}",
                          fix='give e.g. "time_limit": 30 (used by method "ilp")')
        return float(value)


# --------------------------------------------------------------------------------------
# Routes
# --------------------------------------------------------------------------------------

@router.get("/coverage/stats", tags=["coverage"],
            dependencies=[Depends(known_params("zone_type"))], **LONG)
async def coverage_stats(request: Request, project: ProjectDep, cache: CacheDep,
                         principal: Reader, zone_type: Annotated[ZoneType | None, Blank, Query(
                             description="estate, grid, beat, station or community "
                                         "(default: every zone)")] = None) -> Response:
    """Coverage figures per zone: open space seen per quality level, cameras, households."""
    kind = choice("zone_type", zone_type, ZONE_TYPES, None)

    def work(progress: Progress) -> Response:
        selection = analysis(project, cache, progress).stats_for(kind)
        return json_response(records(selection.frame), list(selection.notes))

    return await respond(request, principal, kind="coverage.stats", work=work)


@router.get("/coverage/blind_spots", tags=["coverage"],
            dependencies=[Depends(known_params("estate"))],
            responses={**GEOJSON_RESPONSES, **ASYNC_RESPONSES},
            openapi_extra=LONG["openapi_extra"])
async def blind_spots(request: Request, project: ProjectDep, cache: CacheDep,
                      principal: Reader, estate: Annotated[str | None, Query(
                          description="only this estate's blind spots")] = None) -> Response:
    """Open space no camera sees (GeoJSON, EPSG:4326), largest first."""
    return await respond(request, principal, kind="coverage.blind_spots", work=lambda progress:
                         geojson_response(analysis(project, cache, progress)
                                          .blind_spots_in(estate)))


@router.get("/coverage/estate_risk", tags=["coverage"],
            dependencies=[Depends(known_params("top"))], **LONG)
async def estate_risk(request: Request, project: ProjectDep, cache: CacheDep,
                      principal: Reader, top: Annotated[
                          Annotated[int, Field(ge=1, le=MAX_TOP)] | None, Blank, Query(
                              description="only the first N estates")] = None) -> Response:
    """Old estates ranked by blind-spot risk, with every component and contribution."""
    n = top

    def work(progress: Progress) -> Response:
        res = analysis(project, cache, progress)
        risk = res.estate_risk if n is None else res.estate_risk.iloc[:n]
        return json_response(risk_records(risk, res.weights))

    return await respond(request, principal, kind="coverage.estate_risk", work=work)


@router.get("/coverage/views", tags=["coverage"],
            dependencies=[Depends(known_params("camera_id", "level"))],
            responses={**GEOJSON_RESPONSES, **ASYNC_RESPONSES},
            openapi_extra=LONG["openapi_extra"])
async def views(request: Request, project: ProjectDep, cache: CacheDep, limits: LimitsDep,
                principal: Reader, camera_id: Annotated[list[str] | None, Query(
                    description="camera id(s): repeat the parameter or separate by commas "
                                "(at most [service] max_view_cameras, 200 by default)")] = None,
                level: Annotated[str | None, Query(
                    description="only this quality level (all = the whole visible area)")
                ] = None) -> Response:
    """The visible area of one or more cameras per quality level (GeoJSON, EPSG:4326)."""
    ids = camera_ids(camera_id, limits=limits)

    def work(progress: Progress) -> Response:
        found: CameraViews = cache.get(project, ("coverage", "views", ids),
                                       ["cameras", "buildings"],
                                       lambda _layers: project.coverage.views(ids))
        if level:
            choice("level", level, found.levels, None)
        return geojson_response(found.at_level(level))

    return await respond(request, principal, kind="coverage.views", work=work)


@router.post("/cameras/recommend", tags=["cameras"],
             responses={**error_responses(413), **ASYNC_RESPONSES},
             openapi_extra=LONG["openapi_extra"],
             dependencies=[Depends(known_params(none_hint=BODY_HINT))])
async def recommend(request: Request, body: RecommendBody, project: ProjectDep,
                    cache: CacheDep, limits: LimitsDep, principal: Analyst) -> Response:
    """Recommend new cameras (position, direction) for the open space no camera sees.

    With ``Prefer: respond-async``, a background job (202 and its link)."""
    params = body.model_dump()
    where = "POST /cameras/recommend"
    limits.check_at_most(where, f"budget {body.budget:,}", body.budget, "max_budget",
                         fix=f'give a smaller "budget" (at most {limits.max_budget:,})')
    if body.time_limit is not None:
        limits.check_at_most(where, f"time_limit {body.time_limit:g} s", body.time_limit,
                             "max_ilp_time_limit_s", fix=f'give a "time_limit" of at most '
                                                         f'{limits.max_ilp_time_limit_s:g}')
    if body.estate is not None:
        await run_in_threadpool(project.coverage.check_estate, body.estate)

    def work(progress: Progress) -> Response:
        def compute(_layers: dict[str, pd.DataFrame]) -> PlacementResult:
            return project.coverage.recommend(budget=body.budget, estate=body.estate,
                                              method=body.method or "greedy",
                                              time_limit=body.time_limit, progress=progress)

        key = ("coverage", "recommend") + tuple(sorted(params.items()))
        res: PlacementResult = cache.get(project, key, LAYERS, compute)
        return json_response(recommend_body(res, params), recommend_notes(res, params))

    return await respond(request, principal, kind="cameras.recommend", work=work)


def analysis(project: Project, cache: ResultCache,
             progress: Progress | None = None) -> CoverageResult:
    """The project's coverage figures (without the views), computed once per project state.
    """
    result: CoverageResult = cache.get(
        project, ("coverage", "analysis"), LAYERS,
        lambda _layers: project.coverage.analyse(progress=progress).figures())
    return result


# --------------------------------------------------------------------------------------
# Query parameters
# --------------------------------------------------------------------------------------

def camera_ids(values: list[str] | None, *,
               limits: RequestLimits | None = None) -> tuple[str, ...]:
    """The camera ids of ``?camera_id=`` (repeated or comma-separated), each once; at
    most ``limits.max_view_cameras`` (``[service]`` settings; default the shipped ones).

    Examples
    --------
    >>> camera_ids(["CAM001,CAM002", "CAM001"])
    ('CAM001', 'CAM002')
    """
    ids = [part.strip() for v in (values or []) for part in str(v).split(",") if part.strip()]
    if not ids:
        raise InputError("no camera given", fix="add ?camera_id=ID (repeat it, or separate "
                                                "ids by commas, for several cameras)")
    unique = tuple(dict.fromkeys(ids))
    limits = limits or RequestLimits.from_settings(default_config().core)
    limits.check_at_most("GET /coverage/views", f"{len(unique):,} cameras", len(unique),
                         "max_view_cameras", fix=f"ask for at most {limits.max_view_cameras:,} "
                                                 "cameras per request")
    return unique


# --------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------

def risk_records(risk: pd.DataFrame, weights: dict[str, float] | Any) -> list[dict[str, Any]]:
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
        row["main_factor"] = max(points, key=lambda k: points[k]) if points else None
    return out


def recommend_body(res: PlacementResult, params: dict[str, Any]) -> dict[str, Any]:
    """The JSON of ``POST /cameras/recommend``."""
    info = {k: v for k, v in res.info.items() if k != "timings"}
    return {
        "budget": params["budget"], "estate": params["estate"], "method": params["method"],
        "placed": len(res.proposals),
        "info": plain(info),
        "proposals": geojson_dict(res.proposals),
        "proposal_views": geojson_dict(res.views),
        "effects": records(res.effects),
    }


def recommend_notes(res: PlacementResult, params: dict[str, Any]) -> list[str]:
    """The notes of ``POST /cameras/recommend`` (fewer cameras placed, an ignored limit)."""
    notes = []
    if res.stopped_early:
        notes.append(f"only {len(res.proposals)} of budget {params['budget']} placed: no "
                     "candidate pose sees any more unseen demand")
    if params["time_limit"] is not None and params["method"] != "ilp":
        notes.append("time_limit applies to method ilp only: ignored")
    return notes


__all__ = ["router", "RecommendBody", "risk_records", "recommend_body", "recommend_notes",
           "ZONE_TYPES", "MAX_BUDGET", "MAX_TIME_LIMIT_S", "NOTES_HEADER"]
