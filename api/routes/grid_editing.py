"""HTTP endpoints of the grid map editor's editing sessions: units, move, rebalance, save.

The routes of :mod:`beatgrid.api.routes.grids` (the stored plan, ``POST
/grids/generate``) and these share the request conventions and helpers of that module.

==========================================  ===============================================
``GET /grids/units?community_id=C01``       the atomic units the editor drags (GeoJSON):
                                            ``unit_id``, households, ``grid`` (with the
                                            unsaved edits of the editing session)
``POST /grids/move``                        ``{"community_id", "unit_ids" | "building_ids",
                                            "to_grid"}``: the re-check of the touched
                                            grids and their new households
``POST /grids/rebalance``                   ``{"community_id"}``: repair the edited plan,
                                            moving few households
``POST /grids/save``                        ``{"community_id"}``: write the edited plan
==========================================  ===============================================

**Editing sessions** (:class:`~beatgrid.gis.grids.sessions.EditingSessions`, created by
:func:`beatgrid.api.routes.grids.setup` in ``app.state.grid_sessions``). Moves and
rebalances change an in-memory editing session per community (a
:class:`~beatgrid.gis.grids.editing.PlanEditor` on the community's atomic units, built
from the stored plan), kept while the project is unchanged, so a move re-checks only the
touched grids on the unit graph and answers in milliseconds. Nothing is written until
``POST /grids/save``. When the project is written by anyone else (``beatgrid grids
...``, another service) the session is stale: an edit or a save then answers 409 (the
unsaved edits are discarded) and the next request starts from the stored plan. At most
:data:`~beatgrid.gis.grids.sessions.MAX_SESSIONS` sessions are kept (least recently used
without unsaved edits dropped first). A move lists at most ``[service] max_move_ids``
ids (settings; 422 beyond).
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import geopandas as gpd
import numpy as np
from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from pydantic import ConfigDict, Field

from beatgrid.api.auth import Planner, Reader
from beatgrid.api.deps import ProjectDep, known_params
from beatgrid.api.errors import COMMON_ERRORS, error_responses
from beatgrid.api.limits import CEILINGS, BodySetting, LimitsDep
from beatgrid.api.rendering import GEOJSON, GEOJSON_RESPONSES, geojson_dict, plain
from beatgrid.api.routes.grids import (BODY_FIX, POST_CHECKS, POST_ERRORS, Community,
                                       GridsBody, Seed, SessionsDep, known_community, listing,
                                       violation_records)
from beatgrid.gis.errors import ConflictError, InputError
from beatgrid.gis.grids.checks import has_errors
from beatgrid.gis.grids.sessions import EditingSession
from beatgrid.gis.project import Project

router = APIRouter(tags=["grids"], responses=error_responses(*COMMON_ERRORS))

#: Most ids in one move (the request model's bound; ``[service] max_move_ids`` may lower it).
MAX_MOVE_IDS = int(CEILINGS["max_move_ids"])
#: Body limits of the routes (:mod:`beatgrid.api.limits`; ``[service.body_bytes] grids``).
BODY_LIMITS = {path: BodySetting("grids", fix=BODY_FIX)
               for path in ("/grids/move", "/grids/rebalance", "/grids/save")}


# --------------------------------------------------------------------------------------
# Request bodies
# --------------------------------------------------------------------------------------

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




# --------------------------------------------------------------------------------------
# Rendering a session
# --------------------------------------------------------------------------------------

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
# Routes
# --------------------------------------------------------------------------------------

@router.get("/grids/units", responses=GEOJSON_RESPONSES,
            dependencies=[Depends(known_params("community_id"))])
def units(project: ProjectDep, sessions: SessionsDep, principal: Reader,
          community_id: Annotated[str | None, Query(
              description="the community (required)")] = None) -> JSONResponse:
    """The atomic units of one community with their grid in the editing session."""
    if not community_id:
        raise InputError("GET /grids/units needs ?community_id=ID",
                         fix="give the community, e.g. ?community_id="
                             + (project.grids.community_ids()[:1] or ["C01"])[0])
    cid = known_community(project, community_id)
    with sessions.open(cid, editing=False, owner=principal.name) as session:
        return JSONResponse(units_geojson(session), media_type=GEOJSON)



@router.post("/grids/move", responses=POST_ERRORS, dependencies=POST_CHECKS)
def move(project: ProjectDep, sessions: SessionsDep, limits: LimitsDep, principal: Planner,
         body: MoveBody) -> JSONResponse:
    """Move units (or the units of buildings) into a grid; re-check the touched grids."""
    t0 = time.perf_counter()
    ids = body.unit_ids if body.unit_ids is not None else body.building_ids or []
    limits.check_at_most("POST /grids/move", f"a move of {len(ids):,} ids", len(ids),
                         "max_move_ids", fix="move fewer units per request")
    cid = known_community(project, body.community_id)
    with sessions.open(cid, editing=True, owner=principal.name) as session:
        ed = session.editor
        _check_target(project, session, body.to_grid)
        rows = _units_to_move(session, body)
        locked = sorted({ed.label[r] for r in rows if ed.label[r] in ed.locked
                         and ed.label[r] != body.to_grid}, key=str)
        if locked:
            raise ConflictError(f"unit(s) of locked grid(s) {listing(locked)} cannot move",
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
def rebalance(project: ProjectDep, sessions: SessionsDep, principal: Planner,
              body: RebalanceBody) -> JSONResponse:
    """Repair the edited plan of a community, moving as few households as possible."""
    cid = known_community(project, body.community_id)
    with sessions.open(cid, editing=True, owner=principal.name) as session:
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
def save(project: ProjectDep, sessions: SessionsDep, principal: Planner,
         body: SaveBody) -> JSONResponse:
    """Write the edited plan of a community (grids and buildings.grid_id)."""
    cid = known_community(project, body.community_id)
    with sessions.open(cid, editing=True, owner=principal.name) as session:
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
                                       f"of {cid}: " + listing(session.grid_ids()))
    raise InputError(f"grid {to_grid!r} is not a grid of community {cid}",
                     fix="use a grid of the community: " + listing(session.grid_ids())
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
            raise InputError(f"unit(s) {listing(bad, 5)} do not exist in community {cid}",
                             fix=f"use unit_id values of GET /grids/units?community_id={cid} "
                                 f"(0 to {n - 1})")
        return sorted(set(unit_ids))
    assert building_ids is not None
    bu = ed.building_unit
    unknown = [b for b in building_ids if b not in bu.index]
    if unknown:
        raise InputError(f"building(s) {listing(unknown, 5)} are not in the project",
                         fix="use ids of the buildings layer")
    rows = bu.loc[building_ids].to_numpy()
    outside = [b for b, r in zip(building_ids, rows) if r < 0]
    if outside:
        raise InputError(f"building(s) {listing(outside, 5)} do not lie in community {cid}",
                         fix="move buildings of the community being edited only")
    return sorted(set(int(r) for r in rows))

