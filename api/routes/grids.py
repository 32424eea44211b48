"""HTTP endpoints of the basic-grid map editor: the stored plan, its checks, atomic units, edits.

Every route calls ``project.grids`` (:class:`~beatgrid.gis.grids.workflow.GridPlanning`):
the figures are those of ``beatgrid grids`` with the project's grid settings.

==========================================  ===============================================
``GET /grids``                              the stored grids (GeoJSON, EPSG:4326): ``id``,
                                            ``code``, ``community_id``, ``households``,
                                            ``locked``, ``reason`` and the per-grid
                                            metrics; ``?community_id=`` to filter
``GET /grids/check``                        every violation of the stored plan (JSON
                                            records: ``grid``, ``rule``, ``figure``...)
``GET /grids/metrics``                      the plan summary, overall and per community
``GET /grids/units?community_id=C01``       the atomic units the editor drags (GeoJSON):
                                            ``unit_id``, households, ``grid`` (with the
                                            unsaved edits of the editing session)
``POST /grids/generate``                    plan grids: ``{"community_id", "min", "max",
                                            "seed", "keep_existing", "save"}`` (all
                                            optional); answers the proposal (GeoJSON with
                                            summary, issues, violations); written only
                                            with ``"save": true``
``POST /grids/move``                        ``{"community_id", "unit_ids" | "building_ids",
                                            "to_grid"}``: the re-check of the touched
                                            grids and their new households
``POST /grids/rebalance``                   ``{"community_id"}``: repair the edited plan,
                                            moving few households
``POST /grids/save``                        ``{"community_id"}``: write the edited plan
==========================================  ===============================================

**Editing sessions** (:class:`~beatgrid.gis.grids.sessions.EditingSessions`, created by
:func:`setup` in ``app.state.grid_sessions``). Moves and rebalances change an in-memory
editing session per community (a :class:`~beatgrid.gis.grids.editing.PlanEditor` on the
community's atomic units, built from the stored plan), kept while the project is
unchanged, so a move re-checks only the touched grids on the unit graph and answers in milliseconds.
Nothing is written until ``POST /grids/save``. When the project is written by anyone
else (``beatgrid grids ...``, another service) the session is stale: an edit or a save
then answers 409 (the unsaved edits are discarded) and the next request starts from the
stored plan. ``POST /grids/generate`` with ``"save": true`` replaces the plan and drops
the sessions of the communities it planned. At most :data:`MAX_SESSIONS` sessions are
kept (least recently used without unsaved edits dropped first).

Bad input (unknown community, grid, unit or building, a body key or query parameter
that does not exist, a band outside ``[MIN_HOUSEHOLDS_FLOOR, MAX_HOUSEHOLDS_CEILING]``)
is a 422 answer ``{"error", "fix"}`` naming what is wrong; an edit touching a locked grid
is a 409 (:class:`~beatgrid.gis.errors.ConflictError`). Results of the stored plan are
kept in the app's cache (:data:`beatgrid.api.deps.CacheDep`) per project state.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from typing import Annotated, Any, TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd
from fastapi import APIRouter, Body, Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from beatgrid.api.cache import ResultCache
from beatgrid.api.deps import CacheDep, ProjectDep, known_params
from beatgrid.api.errors import COMMON_ERRORS, error_responses, invalid, too_long_number
from beatgrid.api.limits import BodyLimit
from beatgrid.api.rendering import GEOJSON, GEOJSON_RESPONSES, geojson_dict, geojson_text, plain
from beatgrid.gis.errors import ConflictError, InputError
from beatgrid.gis.grids.checks import has_errors
from beatgrid.gis.grids.sessions import MAX_SESSIONS, EditingSession, EditingSessions
from beatgrid.gis.grids.workflow import GRID_LAYERS
from beatgrid.gis.project import Project

router = APIRouter(tags=["grids"], responses=error_responses(*COMMON_ERRORS))

#: Smallest ``min`` of ``POST /grids/generate`` (a smaller band asks for hundreds of
#: grids per community and keeps the generator busy for minutes).
MIN_HOUSEHOLDS_FLOOR = 50
#: Largest ``max`` of ``POST /grids/generate``.
MAX_HOUSEHOLDS_CEILING = 10_000
#: Largest request body, in bytes (a move may list every unit of a big community).
MAX_BODY_BYTES = 2 * 1024 * 1024
#: Most ids in one move.
MAX_MOVE_IDS = 100_000
#: Largest random seed.
MAX_SEED = 2 ** 32 - 1
#: What the POST routes say when given query parameters.
BODY_HINT = "no query parameters (the body is JSON)"
#: Body limits of the routes (:mod:`beatgrid.api.limits`).
BODY_LIMITS = {path: BodyLimit(MAX_BODY_BYTES, fix="send fewer ids per request")
               for path in ("/grids/generate", "/grids/move", "/grids/rebalance",
                            "/grids/save")}
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
    >>> SaveBody.model_validate(b'{"community_id": "C01"}').community_id
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


class MoveBody(GridsBody):
    """The body of ``POST /grids/move``: ``unit_ids`` or ``building_ids``.

    Examples
    --------
    >>> MoveBody.model_validate({"community_id": "C01", "unit_ids": [3, 4],
    ...                          "to_grid": "C01-G02"}).unit_ids
    [3, 4]
    """

    model_config = ConfigDict(json_schema_extra={
        "examples": [{"community_id": "C01", "unit_ids": [12, 13], "to_grid": "C01-G03"}]})

    community_id: Community
    unit_ids: list[Annotated[int, Field(ge=0)]] | None = Field(
        None, min_length=1, max_length=MAX_MOVE_IDS,
        description="unit_id values of GET /grids/units")
    building_ids: list[Annotated[str, Field(min_length=1)]] | None = Field(
        None, min_length=1, max_length=MAX_MOVE_IDS,
        description="building ids (their units move)")
    to_grid: str = Field(min_length=1, description="the grid receiving them",
                         examples=["C01-G03"])


class RebalanceBody(GridsBody):
    """The body of ``POST /grids/rebalance``.

    Examples
    --------
    >>> RebalanceBody.model_validate({"community_id": "C01"}).seed is None
    True
    """

    model_config = ConfigDict(json_schema_extra={"examples": [{"community_id": "C01"}]})

    community_id: Community
    seed: Seed = None


class SaveBody(GridsBody):
    """The body of ``POST /grids/save``."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"community_id": "C01"}]})

    community_id: Community


#: Dependencies of the POST routes: no query parameters (the body's size is limited by
#: ``BODY_LIMITS`` before it is read).
POST_CHECKS = [Depends(known_params(none_hint=BODY_HINT))]


# --------------------------------------------------------------------------------------
# Editing sessions (rendering; the registry is beatgrid.gis.grids.sessions)
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


def grid_record(session: EditingSession, gid: Any) -> dict[str, Any]:
    """Households, units, band and lock of one grid of a session."""
    ed = session.editor
    hh = int(round(float(ed.load.get(gid, 0.0))))
    n_units = len(ed.members.get(gid, ()))
    return {"grid": gid, "households": hh, "units": n_units,
            "in_band": bool(ed.band.lo <= hh <= ed.band.hi), "locked": gid in ed.locked,
            "empty": n_units == 0}


def units_geojson(session: EditingSession) -> dict[str, Any]:
    """The units (EPSG:4326) with their current grid, and the grids of the session."""
    ed = session.editor
    if session.rendered is None:
        u = ed.units.units
        frame = gpd.GeoDataFrame({
            "unit_id": np.arange(len(u)), "community_id": u["community_id"].to_numpy(),
            "kind": u["kind"].to_numpy(), "block": u["block"].to_numpy(),
            "households": u["households"].to_numpy(),
            "buildings": u["buildings"].to_numpy(),
            "estate_id": u["estate_id"].to_numpy(dtype=object),
            "area_m2": u["area_m2"].round(1).to_numpy(),
        }, geometry=u.geometry.values, crs=u.crs)
        session.rendered = geojson_dict(frame)["features"]
    labels = ed.label
    for f in session.rendered:
        g = labels[f["properties"]["unit_id"]]
        f["properties"]["grid"] = g
        f["properties"]["grid_locked"] = g in ed.locked
    return {"type": "FeatureCollection", "features": session.rendered,
            "community_id": session.community_id, "band": ed.band.as_dict(),
            "grids": [grid_record(session, g) for g in session.grid_ids()],
            "unsaved_edits": session.edits, "discarded_edits": session.discarded}


# --------------------------------------------------------------------------------------
# Routes: the stored plan
# --------------------------------------------------------------------------------------

CommunityQuery = Annotated[str | None, Query(description="only this community")]


@router.get("/grids", responses=GEOJSON_RESPONSES,
            dependencies=[Depends(known_params("community_id"))])
def grids(project: ProjectDep, cache: CacheDep, community_id: Annotated[str | None, Query(
        description="only the grids of this community")] = None) -> Response:
    """The stored grids with households, code, locked and per-grid metrics (EPSG:4326)."""
    cid = optional_community(project, community_id)
    text = _cached(project, cache, ("geojson", cid), lambda: grids_geojson(project, cid))
    return Response(text, media_type=GEOJSON)


@router.get("/grids/check", dependencies=[Depends(known_params("community_id"))])
def check(project: ProjectDep, cache: CacheDep,
          community_id: CommunityQuery = None) -> JSONResponse:
    """Every violation of the grid rules in the stored plan, as records."""
    cid = optional_community(project, community_id)
    return JSONResponse(_cached(project, cache, ("check", cid), lambda: violation_records(
        project.grids.check(communities=_only(cid), measure=False).violations)))


@router.get("/grids/metrics", dependencies=[Depends(known_params("community_id"))])
def metrics(project: ProjectDep, cache: CacheDep,
            community_id: CommunityQuery = None) -> JSONResponse:
    """The plan summary of the stored grids, overall and per community."""
    cid = optional_community(project, community_id)

    def compute() -> Any:
        m = project.grids.metrics(communities=_only(cid))
        return plain({"band": m.band.as_dict(), "summary": m.summary,
                      "communities": m.by_community()})

    return JSONResponse(_cached(project, cache, ("metrics", cid), compute))


@router.get("/grids/units", responses=GEOJSON_RESPONSES,
            dependencies=[Depends(known_params("community_id"))])
def units(project: ProjectDep, sessions: SessionsDep, community_id: Annotated[str | None, Query(
        description="the community (required)")] = None) -> JSONResponse:
    """The atomic units of one community with their grid in the editing session."""
    if not community_id:
        raise InputError("GET /grids/units needs ?community_id=ID",
                         fix="give the community, e.g. ?community_id="
                             + (project.grids.community_ids()[:1] or ["C01"])[0])
    cid = known_community(project, community_id)
    with sessions.open(cid, editing=False) as session:
        return JSONResponse(units_geojson(session), media_type=GEOJSON)


# --------------------------------------------------------------------------------------
# Routes: planning and editing
# --------------------------------------------------------------------------------------

@router.post("/grids/generate", responses={**GEOJSON_RESPONSES, **POST_ERRORS},
             dependencies=POST_CHECKS)
def generate(project: ProjectDep, sessions: SessionsDep, body: Annotated[
        GenerateBody, Body(default_factory=GenerateBody)]) -> JSONResponse:
    """Plan grids; a proposal unless ``"save": true`` (then grids and buildings written)."""
    state = sessions.state()
    project.grids.require_communities()
    cid = optional_community(project, body.community_id)
    communities = _only(cid)
    result = project.grids.generate(communities=communities, min_households=body.min,
                                    max_households=body.max, seed=body.seed,
                                    stable=bool(body.keep_existing), save=bool(body.save))
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


@router.post("/grids/move", responses=POST_ERRORS, dependencies=POST_CHECKS)
def move(project: ProjectDep, sessions: SessionsDep, body: MoveBody) -> JSONResponse:
    """Move units (or the units of buildings) into a grid; re-check the touched grids."""
    t0 = time.perf_counter()
    cid = known_community(project, body.community_id)
    with sessions.open(cid, editing=True) as session:
        ed = session.editor
        _check_target(project, session, body.to_grid)
        rows = _units_to_move(session, body)
        locked = sorted({ed.label[r] for r in rows if ed.label[r] in ed.locked
                         and ed.label[r] != body.to_grid}, key=str)
        if locked:
            raise ConflictError(f"unit(s) of locked grid(s) {_listing(locked)} cannot move",
                                fix="unlock the grid (grids.locked = false) first, or leave "
                                    "its units out")
        if body.building_ids is not None:
            res = ed.move_buildings(body.building_ids, to_grid=body.to_grid)
        else:
            res = ed.move_units(rows, to_grid=body.to_grid)
        if res.moved_units:
            session.edits += 1
        return JSONResponse(plain({
            "community_id": cid, "to_grid": body.to_grid,
            "moved_units": [int(u) for u in res.moved_units],
            "households_moved": res.households_moved,
            "grids": [grid_record(session, g) for g in res.touched],
            "violations": violation_records(res.violations),
            "ok": not has_errors(res.violations),
            "unsaved_edits": session.edits,
            "check_ms": round(res.seconds * 1000, 3),
            "elapsed_ms": round((time.perf_counter() - t0) * 1000, 3),
        }))


@router.post("/grids/rebalance", responses=POST_ERRORS, dependencies=POST_CHECKS)
def rebalance(project: ProjectDep, sessions: SessionsDep, body: RebalanceBody) -> JSONResponse:
    """Repair the edited plan of a community, moving as few households as possible."""
    cid = known_community(project, body.community_id)
    with sessions.open(cid, editing=True) as session:
        ed = session.editor
        if not session.grid_ids():
            raise InputError(f"community {cid} has no grids to rebalance",
                             fix=f'POST /grids/generate with "community_id": "{cid}" first')
        res = ed.rebalance([cid], seed=body.seed)
        if res.moved_units:
            session.edits += 1
        violations = violation_records(ed.check(session.live_grid_ids()))
        return JSONResponse(plain({
            "community_id": cid,
            "moved_units": {str(int(u)): ed.label[u] for u in res.moved_units},
            "households_moved": res.households_moved,
            "grids": [grid_record(session, g) for g in session.grid_ids()],
            "touched": [g for g in res.touched if g is not None],
            "violations": violations,
            "ok": not any(v["severity"] == "error" for v in violations),
            "unsaved_edits": session.edits,
            "seconds": round(res.seconds, 3),
        }))


@router.post("/grids/save", responses=POST_ERRORS, dependencies=POST_CHECKS)
def save(project: ProjectDep, sessions: SessionsDep, body: SaveBody) -> JSONResponse:
    """Write the edited plan of a community (grids and buildings.grid_id)."""
    cid = known_community(project, body.community_id)
    with sessions.open(cid, editing=True) as session:
        if not session.edits:
            return JSONResponse({
                "saved": False, "community_id": cid, "unsaved_edits": 0,
                "message": f"community {cid} has no unsaved edits: the stored plan is the "
                           "edited plan"})
        written = sessions.save(session)     # the session goes on from what was written
        applied = written.applied
        saved = applied.saved
        return JSONResponse(plain({
            "saved": True, "community_id": cid,
            "grids": [{"id": r.id, "code": r.code, "households": int(r.households),
                       "locked": bool(r.locked)} for r in saved.itertuples()],
            "households": int(saved["households"].sum()), "removed": applied.removed,
            "renamed": applied.renamed, "violations": violation_records(written.violations),
            "ok": written.ok, "unsaved_edits": 0}))


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
                         fix="use a community id of the project: " + _listing(known))
    return community_id


def _listing(values: Iterable[Any], limit: int = 20) -> str:
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


def _check_target(project: Project, session: EditingSession, to_grid: str) -> None:
    ed = session.editor
    cid = session.community_id
    if ed.grid_community.get(to_grid) == cid:
        if to_grid in ed.locked:
            raise ConflictError(f"grid {to_grid!r} is locked: nothing can move into it",
                                fix="unlock the grid (grids.locked = false) first, or move "
                                    "into another grid")
        return
    stored = project.layer("grids")
    other = stored.loc[stored["id"] == to_grid, "community_id"]
    if len(other):
        raise InputError(f"grid {to_grid!r} belongs to community {other.iloc[0]}, not "
                         f"{cid}", fix="a unit stays in its community (区划不变): use a grid "
                                       f"of {cid}: " + _listing(session.grid_ids()))
    raise InputError(f"grid {to_grid!r} is not a grid of community {cid}",
                     fix="use a grid of the community: " + _listing(session.grid_ids())
                     if session.grid_ids() else
                     f"community {cid} has no grids yet: POST /grids/generate with "
                     f'"community_id": "{cid}", "save": true first')


def _units_to_move(session: EditingSession, body: MoveBody) -> list[int]:
    """Validated unit rows of a move."""
    ed = session.editor
    cid = session.community_id
    unit_ids, building_ids = body.unit_ids, body.building_ids
    if (unit_ids is None) == (building_ids is None):
        raise InputError("POST /grids/move needs either unit_ids or building_ids",
                         fix='give one of them, e.g. {"unit_ids": [12, 13]} (unit_id of '
                             'GET /grids/units) or {"building_ids": ["B00042"]}')
    n = len(ed.label)
    if unit_ids is not None:
        bad = [u for u in unit_ids if not 0 <= u < n]
        if bad:
            raise InputError(f"unit(s) {_listing(bad, 5)} do not exist in community {cid}",
                             fix=f"use unit_id values of GET /grids/units?community_id={cid} "
                                 f"(0 to {n - 1})")
        return sorted(set(unit_ids))
    assert building_ids is not None
    bu = ed.building_unit
    unknown = [b for b in building_ids if b not in bu.index]
    if unknown:
        raise InputError(f"building(s) {_listing(unknown, 5)} are not in the project",
                         fix="use ids of the buildings layer")
    rows = bu.loc[building_ids].to_numpy()
    outside = [b for b, r in zip(building_ids, rows) if r < 0]
    if outside:
        raise InputError(f"building(s) {_listing(outside, 5)} do not lie in community {cid}",
                         fix="move buildings of the community being edited only")
    return sorted(set(int(r) for r in rows))


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
