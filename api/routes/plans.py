"""``/plans``: grid plans with drafts, recorded steps, undo, comparison and publication.

==============================================  ============================================
``GET /plans?community_id=&status=``            plans, newest first
``POST /plans``                                 a new draft (from the published grids,
                                                empty, or generated); 201
``POST /plans/import``                          a new draft from an assignment CSV
``GET /plans/{id}``                             the plan at its step: totals per grid,
                                                broken rules in words, version (``ETag``)
``GET /plans/{id}/grids``                       its grids as GeoJSON
``GET /plans/{id}/units``                       its units (blocks and building cells) with
                                                their grid, as GeoJSON
``GET /plans/{id}/steps``                       the recorded steps
``GET /plans/{id}/assignment.csv``              ``building_id,grid_id`` per building
``GET /plans/{a}/compare/{b}``                  grids changed, households and buildings
                                                moved (``?format=geojson``: the units)
``POST /plans/{id}/generate|move|rebalance``    a step (planner)
``POST /plans/{id}/lock``                       lock or unlock a grid (planner)
``POST /plans/{id}/grids``                      add an empty grid (planner)
``DELETE /plans/{id}/grids/{grid_id}``          remove a grid; its units become unassigned
``POST /plans/{id}/undo|redo``                  go to another recorded step (planner)
``POST /plans/{id}/publish``                    write the grids layer (planner)
==============================================  ============================================

Every change states the version it started from: the ``If-Match`` header with the
``ETag`` read (or ``"version"`` in the body). Without one: 428; a stale one: 409 with the
current version (body ``current_version`` and ``ETag``), and nothing changes.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from beatgrid.api.auth import Planner, Reader
from beatgrid.api.deps import ProjectDep
from beatgrid.api.errors import COMMON_ERRORS, error_responses
from beatgrid.api.limits import BodySetting
from beatgrid.api.rendering import GEOJSON_RESPONSES, geojson_response, records
from beatgrid.gis.errors import InputError, VersionRequiredError
from beatgrid.gis.plans import PlanView

router = APIRouter(tags=["plans"])

ERRORS = error_responses(*COMMON_ERRORS, 401, 403, 413)
CHANGE_ERRORS = error_responses(*COMMON_ERRORS, 401, 403, 409, 413, 428)
PlanId = Annotated[int, Path(ge=1, le=2**31 - 1, description="the plan's id")]

#: Largest body of each route: its key in the settings' ``[service.body_bytes]``.
BODY_LIMITS = {"/plans/import": BodySetting(
    "plans_import", fix="import the buildings of one community (or raise "
                        "service.body_bytes.plans_import)")}


class Strict(BaseModel):
    """Request bodies refuse unknown keys."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Versioned(Strict):
    """A change: the version it started from, unless sent as ``If-Match``."""

    version: int | None = Field(None, ge=1, description="the plan version the change "
                                                        "started from (or If-Match)")


class NewPlan(Strict):
    community_id: str = Field(min_length=1, max_length=64)
    name: str | None = Field(None, max_length=200)
    source: Literal["published", "empty", "generate"] = "published"
    seed: int | None = Field(None, ge=0, le=2**32 - 1)


class ImportPlan(Strict):
    community_id: str = Field(min_length=1, max_length=64)
    name: str | None = Field(None, max_length=200)
    csv: str = Field(description="building_id,grid_id per building (a header line first)",
                     max_length=20_000_000)


class Generate(Versioned):
    seed: int | None = Field(None, ge=0, le=2**32 - 1)
    min_households: int | None = Field(None, ge=1, le=100_000)
    max_households: int | None = Field(None, ge=1, le=100_000)


class Move(Versioned):
    to_grid: str = Field(min_length=1, max_length=64)
    units: list[Annotated[int, Field(ge=0, le=10_000_000)]] | None = Field(
        None, max_length=100_000, description="unit numbers (GET /plans/{id}/units)")
    buildings: list[Annotated[str, Field(max_length=64)]] | None = Field(
        None, max_length=100_000, description="building ids (their units move)")


class Lock(Versioned):
    grid_id: str = Field(min_length=1, max_length=64)
    locked: bool = True


class AddGrid(Versioned):
    grid_id: str | None = Field(None, min_length=1, max_length=64)


class GoTo(Versioned):
    to_step: int | None = Field(None, ge=1, le=2**31 - 1)


class GridTotal(BaseModel):
    grid_id: str
    code: str
    households: int
    units: int
    locked: bool
    in_band: bool


class RuleBroken(BaseModel):
    kind: str
    severity: str
    grid_id: Any = None
    community_id: Any = None
    message: str
    rule: str | None = None


class PlanOut(BaseModel):
    """A plan at its step."""

    id: int
    community_id: str
    name: str
    owner: str
    status: str
    version: int
    step: int
    last_step: int
    ok: bool
    unassigned_units: int
    remapped: bool
    totals: list[GridTotal]
    violations: list[RuleBroken]


def plan_out(view: PlanView, response: Response | None = None) -> PlanOut:
    """The answer for a plan (and its version as the ``ETag`` header)."""
    if response is not None:
        response.headers["ETag"] = f'"{view.version}"'
    v = view.violations
    keep = [c for c in ("kind", "severity", "grid_id", "community_id", "message", "rule")
            if c in v.columns]
    return PlanOut(id=view.id, community_id=view.community_id, name=view.name, owner=view.owner,
                   status=view.status, version=view.version, step=view.step,
                   last_step=view.last_step, ok=view.ok, unassigned_units=view.unassigned_units,
                   remapped=view.remapped,
                   totals=[GridTotal(**r) for r in records(view.totals)],
                   violations=[RuleBroken(**r) for r in records(v[keep])])


def expected_version(request: Request, body: Versioned | None) -> int:
    """The version a change started from: ``If-Match`` or the body's ``version``.

    Raises
    ------
    VersionRequiredError
        Neither is given (428).
    InputError
        ``If-Match`` is not a plan version.
    """
    header = request.headers.get("if-match")
    if header:
        text = header.strip().removeprefix("W/").strip('"')
        if not text.isdigit():
            raise InputError(f"If-Match {header!r} is not a plan version",
                             fix='send the ETag of GET /plans/{id}, e.g. If-Match: "7"')
        return int(text)
    if body is not None and body.version is not None:
        return int(body.version)
    raise VersionRequiredError("the change does not say which plan version it started from",
                               fix='send If-Match with the ETag of GET /plans/{id} (e.g. '
                                   'If-Match: "7"), or "version" in the body')


@router.get("/plans", responses=ERRORS)
def list_plans(project: ProjectDep, principal: Reader,
               community_id: Annotated[str | None, Query(max_length=64)] = None,
               status: Annotated[Literal["draft", "published", "archived"] | None,
                                 Query()] = None) -> list[dict[str, Any]]:
    """Plans, newest first (optionally of one community or status)."""
    return project.plans.list_plans(community_id=community_id, status=status)


@router.post("/plans", status_code=201, responses=ERRORS)
def create_plan(body: NewPlan, project: ProjectDep, principal: Planner,
                response: Response) -> PlanOut:
    """A new draft of a community, owned by the user."""
    view = project.plans.create(body.community_id, name=body.name, source=body.source,
                                seed=body.seed)
    response.headers["Location"] = f"/plans/{view.id}"
    return plan_out(view, response)


@router.post("/plans/import", status_code=201, responses=ERRORS)
def import_plan(body: ImportPlan, project: ProjectDep, principal: Planner,
                response: Response) -> PlanOut:
    """A new draft from an assignment CSV (``building_id,grid_id``)."""
    view = project.plans.import_csv(body.community_id, body.csv, name=body.name)
    response.headers["Location"] = f"/plans/{view.id}"
    return plan_out(view, response)


@router.get("/plans/{plan_id}", responses=ERRORS)
def get_plan(plan_id: PlanId, project: ProjectDep, principal: Reader,
             response: Response) -> PlanOut:
    """The plan at its step, with its version as ``ETag``."""
    return plan_out(project.plans.get(plan_id), response)


@router.get("/plans/{plan_id}/grids", responses={**ERRORS, **GEOJSON_RESPONSES})
def plan_grids(plan_id: PlanId, project: ProjectDep, principal: Reader) -> Response:
    """The plan's grids (unions of their units) as GeoJSON."""
    return geojson_response(project.plans.grids(plan_id))


@router.get("/plans/{plan_id}/units", responses={**ERRORS, **GEOJSON_RESPONSES})
def plan_units(plan_id: PlanId, project: ProjectDep, principal: Reader) -> Response:
    """The community's units with their grid (``unit`` is what ``move`` takes)."""
    return geojson_response(project.plans.units_frame(plan_id))


@router.get("/plans/{plan_id}/steps", responses=ERRORS)
def plan_steps(plan_id: PlanId, project: ProjectDep, principal: Reader) -> list[dict[str, Any]]:
    """The recorded steps: seq, kind, author, time, summary."""
    return project.plans.steps(plan_id)


@router.get("/plans/{plan_id}/assignment.csv", response_class=Response,
            responses={**ERRORS, 200: {"content": {"text/csv": {}},
                                       "description": "building_id,grid_id per building"}})
def plan_assignment(plan_id: PlanId, project: ProjectDep, principal: Reader) -> Response:
    """The plan as an assignment CSV."""
    return Response(project.plans.export_csv(plan_id), media_type="text/csv",
                             headers={"Content-Disposition":
                                      f'attachment; filename="plan-{plan_id}.csv"'})


@router.get("/plans/{plan_id}/compare/{other_id}", responses={**ERRORS, **GEOJSON_RESPONSES})
def compare_plans(plan_id: PlanId, other_id: PlanId, project: ProjectDep, principal: Reader,
                  format: Annotated[Literal["json", "geojson"], Query()] = "json") -> Any:
    """What changes from this plan to the other: grids, households and buildings moved."""
    diff = project.plans.compare(plan_id, other_id)
    if format == "geojson":
        return geojson_response(diff.units)
    return {"households_moved": diff.households_moved, "buildings_moved": diff.buildings_moved,
            "grids": records(diff.grids)}


@router.post("/plans/{plan_id}/generate", responses=CHANGE_ERRORS)
def generate(plan_id: PlanId, body: Generate, request: Request, project: ProjectDep,
             principal: Planner, response: Response) -> PlanOut:
    """Replace the draft's grids by a new plan of the generator (one step)."""
    view = project.plans.generate(plan_id, expected=expected_version(request, body),
                                  seed=body.seed, min_households=body.min_households,
                                  max_households=body.max_households)
    return plan_out(view, response)


@router.post("/plans/{plan_id}/move", responses=CHANGE_ERRORS)
def move(plan_id: PlanId, body: Move, request: Request, project: ProjectDep,
         principal: Planner, response: Response) -> PlanOut:
    """Move units (or the units of buildings) into a grid (one step)."""
    view = project.plans.move(plan_id, to_grid=body.to_grid, units=body.units,
                              buildings=body.buildings,
                              expected=expected_version(request, body))
    return plan_out(view, response)


@router.post("/plans/{plan_id}/rebalance", responses=CHANGE_ERRORS)
def rebalance(plan_id: PlanId, body: Versioned, request: Request, project: ProjectDep,
              principal: Planner, response: Response) -> PlanOut:
    """Repair the grids that break a rule, moving few households (locked grids kept)."""
    return plan_out(project.plans.rebalance(plan_id, expected=expected_version(request, body)),
                    response)


@router.post("/plans/{plan_id}/lock", responses=CHANGE_ERRORS)
def lock(plan_id: PlanId, body: Lock, request: Request, project: ProjectDep,
         principal: Planner, response: Response) -> PlanOut:
    """Lock (or unlock, ``locked: false``) a grid."""
    view = project.plans.lock(plan_id, body.grid_id, locked=body.locked,
                              expected=expected_version(request, body))
    return plan_out(view, response)


@router.post("/plans/{plan_id}/grids", responses=CHANGE_ERRORS)
def add_grid(plan_id: PlanId, body: AddGrid, request: Request, project: ProjectDep,
             principal: Planner, response: Response) -> PlanOut:
    """Add an empty grid."""
    view = project.plans.add_grid(plan_id, grid_id=body.grid_id,
                                  expected=expected_version(request, body))
    return plan_out(view, response)


@router.delete("/plans/{plan_id}/grids/{grid_id}", responses=CHANGE_ERRORS)
def remove_grid(plan_id: PlanId, grid_id: Annotated[str, Path(max_length=64)],
                request: Request, project: ProjectDep, principal: Planner,
                response: Response) -> PlanOut:
    """Remove a grid (its units become unassigned)."""
    view = project.plans.remove_grid(plan_id, grid_id, expected=expected_version(request, None))
    return plan_out(view, response)


@router.post("/plans/{plan_id}/undo", responses=CHANGE_ERRORS)
def undo(plan_id: PlanId, body: GoTo, request: Request, project: ProjectDep,
         principal: Planner, response: Response) -> PlanOut:
    """Go back to a step (default the one before)."""
    view = project.plans.undo(plan_id, to_step=body.to_step,
                              expected=expected_version(request, body))
    return plan_out(view, response)


@router.post("/plans/{plan_id}/redo", responses=CHANGE_ERRORS)
def redo(plan_id: PlanId, body: GoTo, request: Request, project: ProjectDep,
         principal: Planner, response: Response) -> PlanOut:
    """Go forward to a step undone (default the next)."""
    view = project.plans.redo(plan_id, to_step=body.to_step,
                              expected=expected_version(request, body))
    return plan_out(view, response)


@router.post("/plans/{plan_id}/publish", responses=CHANGE_ERRORS)
def publish(plan_id: PlanId, body: Versioned, request: Request, project: ProjectDep,
            principal: Planner, response: Response) -> PlanOut:
    """Write the draft's grids and ``buildings.grid_id``; it becomes the published plan."""
    return plan_out(project.plans.publish(plan_id, expected=expected_version(request, body)),
                    response)
