"""HTTP endpoints of the basic-grid map editor: the stored plan, its checks, planning.

Every route calls ``project.grids`` (:class:`~beatgrid.gis.grids.workflow.GridPlanning`):
the figures are those of ``beatgrid grids`` with the project's grid settings. The
editing-session routes (units, move, rebalance, save) are in
:mod:`beatgrid.api.routes.grid_editing`.

==========================================  ===============================================
``GET /grids``                              the stored grids (GeoJSON, EPSG:4326): ``id``,
                                            ``code``, ``community_id``, ``households``,
                                            ``locked``, ``reason`` and the per-grid
                                            metrics; ``?community_id=`` to filter
``GET /grids/check``                        every violation of the stored plan (JSON
                                            records: ``grid``, ``rule``, ``figure``...)
``GET /grids/metrics``                      the plan summary, overall and per community
``POST /grids/generate``                    plan grids: ``{"community_id", "min", "max",
                                            "seed", "keep_existing", "save"}`` (all
                                            optional); answers the proposal (GeoJSON with
                                            summary, issues, violations); written only
                                            with ``"save": true``. A long run: with
                                            ``Prefer: respond-async`` it is a background
                                            job (202, :mod:`beatgrid.api.jobs`)
==========================================  ===============================================

**Editing sessions** (:class:`~beatgrid.gis.grids.sessions.EditingSessions`, created by
:func:`setup` in ``app.state.grid_sessions``; see
:mod:`beatgrid.api.routes.grid_editing`). ``POST /grids/generate`` with ``"save":
true`` replaces the plan and drops the sessions of the communities it planned.

Bad input (unknown community, grid, unit or building, a body key or query parameter
that does not exist, a band outside ``[MIN_HOUSEHOLDS_FLOOR, MAX_HOUSEHOLDS_CEILING]``
or narrower than ``[service] min_band_width``, more communities than ``[service]
max_communities``) is a 422 answer ``{"error", "fix"}`` naming what is wrong; an edit
touching a locked grid is a 409 (:class:`~beatgrid.gis.errors.ConflictError`). Results
of the stored plan are kept in the app's cache (:data:`beatgrid.api.deps.CacheDep`) per
project state.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Annotated, Any, TypeVar

import geopandas as gpd
import pandas as pd
from fastapi import APIRouter, Body, Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.concurrency import run_in_threadpool

from beatgrid.api.auth import Analyst, Reader, Role
from beatgrid.api.cache import ResultCache
from beatgrid.api.deps import CacheDep, ProjectDep, known_params
from beatgrid.api.errors import COMMON_ERRORS, error_responses, invalid, too_long_number
from beatgrid.api.jobs import respond
from beatgrid.api.limits import BAND_CEILING, BAND_FLOOR, BodySetting, LimitsDep
from beatgrid.api.rendering import GEOJSON, GEOJSON_RESPONSES, geojson_dict, geojson_text, plain
from beatgrid.api.routes.jobs import ASYNC_RESPONSES, PREFER_PARAMETER
from beatgrid.gis.errors import InputError, PermissionDeniedError
from beatgrid.gis.grids.sessions import MAX_SESSIONS, EditingSessions
from beatgrid.gis.grids.workflow import GRID_LAYERS
from beatgrid.gis.progress import Progress
from beatgrid.gis.project import Project

router = APIRouter(tags=["grids"], responses=error_responses(*COMMON_ERRORS))

#: Smallest ``min`` of ``POST /grids/generate`` (a smaller band asks for hundreds of
#: grids per community and keeps the generator busy for minutes).
MIN_HOUSEHOLDS_FLOOR = BAND_FLOOR
#: Largest ``max`` of ``POST /grids/generate``.
MAX_HOUSEHOLDS_CEILING = BAND_CEILING
#: Largest random seed.
MAX_SEED = 2 ** 32 - 1
#: What the POST routes say when given query parameters.
BODY_HINT = "no query parameters (the body is JSON)"
#: What a body over its limit is told (the limit: ``[service.body_bytes] grids``).
BODY_FIX = "send fewer ids per request"
#: Body limits of the routes (:mod:`beatgrid.api.limits`).
BODY_LIMITS = {"/grids/generate": BodySetting("grids", fix=BODY_FIX)}
#: Documented error answers of the POST routes (besides 404, 422, 503): 409 for an edit
#: of a locked grid or a stale session, 413 for a body over its limit.
POST_ERRORS = error_responses(409, 413)

T = TypeVar("T")


# --------------------------------------------------------------------------------------
# Request bodies
# --------------------------------------------------------------------------------------

class GridsBody(BaseModel):
    """Base of the request bodies: known keys only, JSON types as they are (a ``"3"`` is
    not a number, a ``1`` not a boolean); a body sent without a JSON content type is
    read as JSON too.

    Examples
    --------
    >>> GenerateBody.model_validate(b'{"community_id": "C01"}').community_id
    'C01'
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    @model_validator(mode="before")
    @classmethod
    def _json_text(cls, data: Any) -> Any:
        if isinstance(data, (bytes, str)):
            try:
                text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
            except UnicodeDecodeError:
                raise invalid("the body is not UTF-8 text",
                              fix="send the JSON body encoded as UTF-8") from None
            try:
                return json.loads(text) if text.strip() else {}
            except RecursionError:
                raise invalid("the body is nested too deeply to be read",
                              fix="send a flat JSON object; GET /docs shows its keys") from None
            except ValueError as exc:   # not JSON, or a number over 4,300 digits
                why = "a number of more than 4,300 digits" if too_long_number(exc) else exc
                raise invalid(f"the body is not a JSON object ({why})",
                              fix="send a JSON object; GET /docs shows its keys") from None
        return data


Community = Annotated[str, Field(min_length=1, description="the community being edited",
                                 examples=["C01"])]
Seed = Annotated[int | None, Field(ge=0, le=MAX_SEED, description="random seed (default: "
                                   "settings); the plan is deterministic", examples=[3])]
Households = Annotated[int | None, Field(ge=MIN_HOUSEHOLDS_FLOOR, le=MAX_HOUSEHOLDS_CEILING)]


class GenerateBody(GridsBody):
    """The body of ``POST /grids/generate`` (every key optional; null counts as absent).

    Examples
    --------
    >>> GenerateBody.model_validate({"community_id": "C01", "min": 320}).min
    320
    """

    model_config = ConfigDict(json_schema_extra={
        "examples": [{"community_id": "C01", "min": 300, "max": 500, "save": False}]})

    community_id: str | None = Field(None, min_length=1, description="plan only this "
                                     "community (default: every community)")
    min: Households = Field(None, description="fewest households per grid (default: "
                            "settings, 300)")
    max: Households = Field(None, description="most households per grid (default: "
                            "settings, 500)")
    seed: Seed = None
    keep_existing: bool | None = Field(None, description="keep the stored grids that are "
                                       "valid, re-plan the rest")
    save: bool | None = Field(None, description="write the grids and buildings.grid_id "
                              "(default false: a proposal)")


POST_CHECKS = [Depends(known_params(none_hint=BODY_HINT))]


# --------------------------------------------------------------------------------------
# Editing sessions (the registry is beatgrid.gis.grids.sessions)
# --------------------------------------------------------------------------------------

def setup(app: FastAPI) -> None:
    """Create the app's editing sessions (``app.state.grid_sessions``)."""
    project: Project = app.state.project
    app.state.grid_sessions = EditingSessions(
        project.grids, size=MAX_SESSIONS,
        stale_fix="reload GET /grids/units?community_id={community_id} and redo the edits")


def get_sessions(request: Request) -> EditingSessions:
    """The app's editing sessions."""
    sessions: EditingSessions = request.app.state.grid_sessions
    return sessions


SessionsDep = Annotated[EditingSessions, Depends(get_sessions)]


# --------------------------------------------------------------------------------------
# Routes: the stored plan
# --------------------------------------------------------------------------------------

CommunityQuery = Annotated[str | None, Query(description="only this community")]


@router.get("/grids", responses=GEOJSON_RESPONSES,
            dependencies=[Depends(known_params("community_id"))])
def grids(project: ProjectDep, cache: CacheDep, principal: Reader,
          community_id: Annotated[str | None, Query(
              description="only the grids of this community")] = None) -> Response:
    """The stored grids with households, code, locked and per-grid metrics (EPSG:4326)."""
    cid = optional_community(project, community_id)
    text = _cached(project, cache, ("geojson", cid), lambda: grids_geojson(project, cid))
    return Response(text, media_type=GEOJSON)


@router.get("/grids/check", dependencies=[Depends(known_params("community_id"))])
def check(project: ProjectDep, cache: CacheDep, principal: Reader,
          community_id: CommunityQuery = None) -> JSONResponse:
    """Every violation of the grid rules in the stored plan, as records."""
    cid = optional_community(project, community_id)
    return JSONResponse(_cached(project, cache, ("check", cid), lambda: violation_records(
        project.grids.check(communities=_only(cid), measure=False).violations)))


@router.get("/grids/metrics", dependencies=[Depends(known_params("community_id"))])
def metrics(project: ProjectDep, cache: CacheDep, principal: Reader,
            community_id: CommunityQuery = None) -> JSONResponse:
    """The plan summary of the stored grids, overall and per community."""
    cid = optional_community(project, community_id)

    def compute() -> Any:
        m = project.grids.metrics(communities=_only(cid))
        return plain({"band": m.band.as_dict(), "summary": m.summary,
                      "communities": m.by_community()})

    return JSONResponse(_cached(project, cache, ("metrics", cid), compute))



# --------------------------------------------------------------------------------------
# Routes: planning
# --------------------------------------------------------------------------------------

@router.post("/grids/generate",
             responses={**GEOJSON_RESPONSES, **POST_ERRORS, **ASYNC_RESPONSES},
             dependencies=POST_CHECKS, openapi_extra={"parameters": [PREFER_PARAMETER]})
async def generate(request: Request, project: ProjectDep, sessions: SessionsDep,
                   limits: LimitsDep, principal: Analyst, body: Annotated[
                       GenerateBody, Body(default_factory=GenerateBody)]) -> Response:
    """Plan grids; a proposal unless ``"save": true`` (then grids and buildings written).

    With ``Prefer: respond-async``, a background job (202 and its link)."""
    if body.save and principal.role < Role.planner:
        raise PermissionDeniedError(f"POST /grids/generate: saving a plan needs the planner "
                                    f"role; user {principal.name!r} is {principal.role.name}",
                                    fix='leave out "save": true to get a proposal, or ask an '
                                        "administrator for the role")

    def prepare() -> str | None:
        project.grids.require_communities()
        cid = optional_community(project, body.community_id)
        n = 1 if cid is not None else len(project.grids.community_ids())
        limits.check_at_most("POST /grids/generate", f"planning {n:,} communities", n,
                             "max_communities", fix='name one community ("community_id")')
        if body.min is not None or body.max is not None:
            band = project.grids.band(min_households=body.min, max_households=body.max)
            limits.check_band("POST /grids/generate", band.lo, band.hi)
        return cid

    cid = await run_in_threadpool(prepare)
    return await respond(request, principal, kind="grids.generate",
                         work=lambda progress: generated(project, sessions, body, cid, progress))


def generated(project: Project, sessions: EditingSessions, body: GenerateBody,
              community_id: str | None, progress: Progress) -> JSONResponse:
    """The answer of ``POST /grids/generate`` (the plan as GeoJSON, summary, issues)."""
    state = sessions.state()
    communities = _only(community_id)
    result = project.grids.generate(communities=communities, min_households=body.min,
                                    max_households=body.max, seed=body.seed,
                                    stable=bool(body.keep_existing), save=bool(body.save),
                                    progress=progress)
    mine = result.grids
    out = mine.reset_index(drop=True).merge(
        result.metrics.drop(columns=["community_id", "households"]), on="id", how="left")
    answer = geojson_dict(gpd.GeoDataFrame(out, geometry="geometry", crs=mine.crs))
    discarded: dict[str, int] = {}
    if result.saved:
        discarded = sessions.drop(communities)
        sessions.rekey(state, sessions.state(), set(result.plan.grids["community_id"]))
    answer.update(plain({
        "saved": result.saved, "band": result.band.as_dict(), "summary": result.summary,
        "issues": result.issues(), "violations": violation_records(result.violations),
        "ok": result.ok, "discarded_edits": discarded}))
    return JSONResponse(answer, media_type=GEOJSON)


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------

def _cached(project: Project, cache: ResultCache, key: tuple[Any, ...],
            compute: Callable[[], T]) -> T:
    """``compute()`` (it reads the project itself), kept while the project is unchanged."""
    result: T = cache.get(project, ("grids", *key), GRID_LAYERS, lambda _layers: compute())
    return result


def _only(community_id: str | None) -> list[str] | None:
    return None if community_id is None else [community_id]


def optional_community(project: Project, community_id: str | None) -> str | None:
    """``community_id`` when given (it must be in the project), else None (all)."""
    if community_id is None or community_id == "":
        return None
    return known_community(project, community_id)


def known_community(project: Project, community_id: str) -> str:
    """``community_id``, a community of the project (422 otherwise)."""
    known = project.grids.community_ids()
    if community_id not in known:
        raise InputError(f"community {community_id!r} is not in the project",
                         fix="use a community id of the project: " + listing(known))
    return community_id


def listing(values: Iterable[Any], limit: int = 20) -> str:
    shown = [str(v) for v in values]
    if not shown:
        return "(none)"
    more = f" ... ({len(shown)} in all)" if len(shown) > limit else ""
    return ", ".join(shown[:limit]) + more


def grids_geojson(project: Project, community_id: str | None = None) -> str:
    """The stored grids with their metrics, GeoJSON text in EPSG:4326."""
    result = project.grids.metrics(communities=_only(community_id))
    stored = result.grids
    if len(stored) == 0:
        return json.dumps({"type": "FeatureCollection", "features": []})
    m = result.metrics.rename(columns={"households": "households_counted"}).drop(
        columns="community_id")
    out = stored.reset_index(drop=True).merge(m, on="id", how="left")
    return geojson_text(gpd.GeoDataFrame(out, geometry="geometry", crs=stored.crs))



def violation_records(violations: pd.DataFrame | None) -> list[dict[str, Any]]:
    """Violations as records: ``grid``, ``community_id``, ``rule`` (the kind),
    ``severity``, ``figure`` (value) and its ``unit``, ``requirement`` (the rule text),
    ``message`` and ``other_grid``.

    Examples
    --------
    >>> v = pd.DataFrame([{"kind": "households_below_min", "severity": "error",
    ...     "grid_id": "C01-G02", "community_id": "C01", "other_id": None, "value": 250.0,
    ...     "unit": "households", "rule": "households >= 300", "message": "250 households"}])
    >>> violation_records(v)[0]["rule"], violation_records(v)[0]["figure"]
    ('households_below_min', 250.0)
    """
    if violations is None:
        return []
    return [plain({"grid": r["grid_id"], "community_id": r["community_id"], "rule": r["kind"],
                   "severity": r["severity"], "figure": r["value"], "unit": r["unit"],
                   "requirement": r["rule"], "message": r["message"],
                   "other_grid": r["other_id"]})
            for r in violations.to_dict("records")]
