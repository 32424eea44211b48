"""HTTP endpoints for leadership dashboards: staffing gaps, roll-ups, beat map, alignment, hotspots.

An :class:`~fastapi.APIRouter` included by :func:`beatgrid.api.service.create_app`;
every route calls ``project.policing`` (:class:`beatgrid.gis.policing.workflow.Policing`)
through the app's result cache and renders the answer.

=========================================  ================================================
``GET /staffing``                          per-beat gaps (JSON records, worst first) under
                                           the project's staffing policy
``POST /staffing``                         the same under a policy given as the body: TOML
                                           text, or JSON overrides (nested or dotted keys)
``GET /staffing/areas``                    roll-up per responsibility area
``GET /staffing/stations``                 roll-up per station
``GET /staffing/beats.geojson``            beats with severity and required / actual per
                                           role (GeoJSON, EPSG:4326, for map views)
``GET /alignment?min_share=0.9``           governance grids against beats (多格合一)
``GET /hotspots?zones=grids|beats``        Gi* per zone, change per beat, density peak
                                           (also ``permutations=99``,
                                           ``preventable=true``)
=========================================  ================================================

In the JSON, ``failed_rules`` and ``reasons`` are lists (one reason per failed rule)
and the roll-ups' ``rules_failed`` is an object ``{rule: beats}``. The assessment's
notes (derived beats, estimated grids...) come in the ``BeatGrid-Notes`` header (a
JSON list). Bad parameters, unknown parameters (``?policy=`` included: no server path
is ever read) and invalid policies are 422 answers with ``{"error", "fix"}``
(:mod:`beatgrid.api.errors`). Results are cached per project state, policy and
parameters (``app.state.cache``), so a dashboard loading several endpoints computes
once.

The ``POST /staffing`` body is read by :func:`policy_from_body` rather than a pydantic
model: it may be TOML text as well as JSON, and JSON keys may be dotted
(``{"officers.per_beat": 2}``); the policy loader checks every key and value and
names the bad one.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable, Iterator, Mapping
from typing import Annotated, Any, Literal

import geopandas as gpd
import pandas as pd
import shapely
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from beatgrid.api.auth import Analyst, Reader
from beatgrid.api.cache import ResultCache
from beatgrid.api.deps import CacheDep, ProjectDep, known_params
from beatgrid.api.errors import COMMON_ERRORS, error_responses, too_long_number
from beatgrid.api.jobs import respond
from beatgrid.api.limits import BodySetting, LimitsDep
from beatgrid.api.params import Blank
from beatgrid.api.rendering import (GEOJSON_RESPONSES, NOTES_HEADER, geojson_response,
                                    json_response, records)
from beatgrid.api.routes.jobs import ASYNC_RESPONSES, PREFER_PARAMETER
from beatgrid.gis.config_checks import MAX_DEPTH, check_depth, check_numbers
from beatgrid.gis.errors import InputError, PolicyError
from beatgrid.gis.policing.hotspots import HotspotResult
from beatgrid.gis.policing.policy import policy_sections
from beatgrid.gis.policing.staffing import StaffingResult
from beatgrid.gis.policing.workflow import ALIGNMENT_LAYERS, HOTSPOT_LAYERS, STAFFING_LAYERS
from beatgrid.gis.progress import Progress
from beatgrid.gis.project import Project

#: Largest ``permutations`` accepted by ``GET /hotspots`` (the time grows linearly).
MAX_PERMUTATIONS = 9999
#: What the messages about a policy body call it.
POLICY_SOURCE = "staffing policy"
#: Body limits of the routes (:mod:`beatgrid.api.limits`).
BODY_LIMITS = {"/staffing": BodySetting(
    "staffing", fix="send only the keys that differ from the shipped policy")}
#: Zone kinds of ``GET /hotspots``.
ZoneKind = Literal["auto", "grids", "beats"]
_POLICY_BODY = {
    "required": False,
    "content": {
        "application/toml": {"schema": {"type": "string"},
                             "example": "[officers]\ntwo_officer_population = 8000\n"},
        "application/json": {"schema": {"type": "object"},
                             "example": {"officers.two_officer_population": 8000}},
    },
}


def refuse_policy_param(request: Request) -> None:
    """Refuse ``?policy=``: the service reads no path on the server (POST the policy)."""
    if "policy" in request.query_params:
        raise InputError("the staffing policy cannot be given as a query parameter "
                         "(the service reads no paths on the server)",
                         fix="POST /staffing with the policy TOML text, or JSON overrides, "
                             "as the request body")


#: Query checks of the routes without parameters.
_NO_PARAMS = [Depends(refuse_policy_param), Depends(known_params())]

router = APIRouter(responses=error_responses(*COMMON_ERRORS))


# --------------------------------------------------------------------------------------
# Routes
# --------------------------------------------------------------------------------------

@router.get("/staffing", tags=["staffing"], dependencies=_NO_PARAMS)
def staffing(project: ProjectDep, cache: CacheDep, principal: Reader) -> Response:
    """Staffing gaps per beat under the shipped policy, worst first."""
    return _gaps_response(assessment(project, cache, None))


@router.post("/staffing", tags=["staffing"], dependencies=_NO_PARAMS,
             openapi_extra={"requestBody": _POLICY_BODY, "parameters": [PREFER_PARAMETER]},
             responses={**error_responses(413), **ASYNC_RESPONSES})
async def staffing_with_policy(request: Request, project: ProjectDep, cache: CacheDep,
                               principal: Analyst) -> Response:
    """Staffing gaps per beat under the policy in the body (TOML, or JSON overrides).

    With ``Prefer: respond-async``, a background job (202 and its link)."""
    body = await request.body()
    override = policy_from_body(body, request.headers.get("content-type", ""))
    if override is not None:     # checked now: a bad policy is refused, not a failed job
        await run_in_threadpool(lambda: project.config.replace(**policy_sections(override)))
    return await respond(request, principal, kind="staffing.assess", work=lambda progress:
                         _gaps_response(assessment(project, cache, override, progress)))


@router.get("/staffing/areas", tags=["staffing"], dependencies=_NO_PARAMS)
def staffing_areas(project: ProjectDep, cache: CacheDep, principal: Reader) -> Response:
    """Gaps summed per responsibility area (shipped policy)."""
    res = assessment(project, cache, None)
    return json_response(rollup_records(res.areas), res.notes)


@router.get("/staffing/stations", tags=["staffing"], dependencies=_NO_PARAMS)
def staffing_stations(project: ProjectDep, cache: CacheDep, principal: Reader) -> Response:
    """Gaps summed per station, with the community officers' share (shipped policy)."""
    res = assessment(project, cache, None)
    return json_response(rollup_records(res.stations), res.notes)


@router.get("/staffing/beats.geojson", tags=["staffing"], dependencies=_NO_PARAMS,
            responses=GEOJSON_RESPONSES)
def staffing_beats(project: ProjectDep, cache: CacheDep, principal: Reader) -> Response:
    """Beats with severity and required / actual per role, GeoJSON in EPSG:4326."""
    res = assessment(project, cache, None)
    gdf = res.beats.copy()
    for col in ("failed_rules", "reasons"):
        gdf[col] = split_list(gdf[col], ";" if col == "failed_rules" else "; ")
    return geojson_response(gdf, res.notes)


@router.get("/alignment", tags=["alignment"],
            dependencies=[Depends(refuse_policy_param), Depends(known_params("min_share"))])
def alignment(project: ProjectDep, cache: CacheDep, principal: Reader,
              min_share: Annotated[Annotated[float, Field(gt=0, le=1)] | None, Blank, Query(
                  description="aligned when at least this share is in the main beat, "
                              "in (0, 1] (default: policy)")] = None) -> Response:
    """Governance grids against beats: per grid, per beat, suggested reassignment."""
    share = min_share
    res = cache.get(project, ("alignment", share), ALIGNMENT_LAYERS,
                    lambda _layers: project.policing.align(min_share=share))
    mis = res.misaligned
    return json_response({
        "min_share": res.min_share,
        "summary": {"governance_grids": len(res.grids), "misaligned": len(mis),
                    "households_affected": int(mis["households_affected"].sum())},
        "grids": records(res.grids), "beats": records(res.beats),
        "reassignments": records(res.reassignments)})


@router.get("/hotspots", tags=["hotspots"],
            dependencies=[Depends(refuse_policy_param),
                          Depends(known_params("zones", "permutations", "preventable",
                                               "snap_m"))])
def hotspots(project: ProjectDep, cache: CacheDep, limits: LimitsDep, principal: Reader,
             zones: Annotated[ZoneKind | None, Blank, Query(
                 description="grids, beats or auto (default: grids when at least 3 are "
                             "planned)")] = None,
             permutations: Annotated[Annotated[int, Field(ge=0, le=MAX_PERMUTATIONS)] | None,
                                     Blank, Query(description="Gi* permutations (default: "
                                                              "policy)")] = None,
             preventable: Annotated[bool | None, Blank, Query(
                 description="preventable cases only")] = None,
             snap_m: Annotated[Annotated[float, Field(ge=0, allow_inf_nan=False)] | None, Blank,
                               Query(description="incidents outside every zone but within "
                                                 "this many metres of one count in the "
                                                 "nearest (default: policing "
                                                 "beats.incident_snap_m; at most [service] "
                                                 "max_snap_m)")] = None) -> Response:
    """Getis-Ord Gi* per zone, period-on-period change per beat, density peak."""
    kind = zones or "auto"
    perms = permutations
    prev = bool(preventable)
    if snap_m is not None:
        limits.check_at_most("GET /hotspots", f"snap_m {snap_m:g}", snap_m, "max_snap_m",
                             fix=f"give a distance of at most {limits.max_snap_m:g} metres")
    snap = float(project.config.policing["beats"]["incident_snap_m"] if snap_m is None
                 else snap_m)
    if kind == "grids":
        planned = len(project.layer("grids"))
        if planned < 3:
            raise InputError(f"Gi* on grids needs at least 3 basic grids; the project has "
                             f"{planned}", fix="ask for ?zones=beats, or plan the grids first "
                                               "(beatgrid grids)")
    count = None if perms is None else int(perms)
    res = cache.get(project, ("hotspots", kind, count, prev, snap), HOTSPOT_LAYERS,
                    lambda _layers: project.policing.hotspots(
                        zones=kind, permutations=count, preventable_only=prev, snap_m=snap))
    return json_response(hotspot_body(res, res.permutations, prev), res.notes)


# --------------------------------------------------------------------------------------
# Computation (cached per project state and policy)
# --------------------------------------------------------------------------------------

def assessment(project: Project, cache: ResultCache, policy: Mapping[str, Any] | None,
               progress: Progress | None = None) -> StaffingResult:
    """``project.policing.assess(policy=...)``, reused while the project is unchanged."""
    key = ("staffing", json.dumps(policy, sort_keys=True, default=str) if policy else None)
    result: StaffingResult = cache.get(
        project, key, STAFFING_LAYERS,
        lambda _layers: project.policing.assess(policy=policy, progress=progress))
    return result


# --------------------------------------------------------------------------------------
# Parameters and the policy body
# --------------------------------------------------------------------------------------

def policy_from_body(body: bytes, content_type: str) -> dict[str, Any] | None:
    """The policy override of a ``POST /staffing`` body (None: the project's policy).

    JSON (``Content-Type: application/json``, or a body starting with ``{``): an object
    of overrides, nested tables or dotted keys (``{"officers.per_beat": 2}``), or a
    string holding TOML text. Anything else is read as TOML text. The body's shape is
    checked here with the checks every settings file gets
    (:mod:`beatgrid.gis.config_checks`: at most
    :data:`~beatgrid.gis.config_checks.MAX_DEPTH` tables or lists deep, dotted key parts
    included; plain numbers of at most 2**53: :func:`checked`); the keys and values are
    checked when the policy is applied (``project.policing.assess(policy=...)``). The
    body's size is limited before it is read (``BODY_LIMITS``, :mod:`beatgrid.api.limits`).

    Examples
    --------
    >>> policy_from_body(b'{"officers.per_beat": 2}', "application/json")
    {'officers': {'per_beat': 2}}
    >>> policy_from_body(b"[officers]\\nper_beat = 2\\n", "application/toml")
    {'officers': {'per_beat': 2}}
    >>> policy_from_body(b"  ", "") is None
    True
    >>> policy_from_body(b'{"' + b"a." * 20 + b'b": 1}', "application/json")
    Traceback (most recent call last):
    ...
    beatgrid.gis.errors.PolicyError: staffing policy: tables or lists are nested more than 16 deep Fix: write the keys of gis/defaults/*.toml, at most a few tables deep
    """
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError("the policy body is not UTF-8 text",
                         fix="send the TOML or JSON policy encoded as UTF-8") from None
    if not text.strip():
        return None
    if "json" in content_type.lower() or text.lstrip().startswith("{"):
        override = _json(text)
        if isinstance(override, str):
            return checked(_toml(override))
        if not isinstance(override, Mapping):
            raise PolicyError(f"the policy body is JSON {type(override).__name__}, not an object",
                              fix='send a JSON object of overrides, e.g. {"officers": '
                                  '{"per_beat": 2}}, or TOML text')
        check_depth(override, source=POLICY_SOURCE)
        return checked(_nest(override))
    return checked(_toml(text))


def checked(override: dict[str, Any]) -> dict[str, Any]:
    """``override`` when it passes the checks every settings value gets
    (:func:`~beatgrid.gis.config_checks.check_depth`,
    :func:`~beatgrid.gis.config_checks.check_numbers`).

    Examples
    --------
    >>> checked({"officers": {"per_beat": 2}})
    {'officers': {'per_beat': 2}}
    >>> checked({"officers": {"per_beat": 10 ** 400}})
    Traceback (most recent call last):
    ...
    beatgrid.gis.errors.PolicyError: staffing policy: 'officers.per_beat' has value <a 401-digit number>: it is too large (at most 2**53 in size) Fix: give a number of a sensible size
    """
    check_depth(override, source=POLICY_SOURCE)
    for key, value in override.items():
        check_numbers(value, source=POLICY_SOURCE, key=str(key))
    return override


#: The fix of a policy body holding a number no count or threshold can be.
_NUMBER_FIX = ("give the count or threshold the policy asks for (the shipped staffing.toml "
               "shows each key's default)")


def _parse(text: str, *, loads: Callable[[str], Any], kind: str, fix: str) -> Any:
    """``loads(text)``, its failures as :class:`PolicyError` (depth, huge number, syntax)."""
    try:
        return loads(text)
    except RecursionError:  # the words of check_depth: the body is deeper than MAX_DEPTH
        raise PolicyError(f"{POLICY_SOURCE}: tables or lists are nested more than "
                          f"{MAX_DEPTH} deep", fix="write the keys of gis/defaults/*.toml, "
                                                   "at most a few tables deep") from None
    except ValueError as exc:       # a decode error, or a number over 4,300 digits
        if too_long_number(exc):
            raise PolicyError("the policy body holds a number of more than 4,300 digits",
                              fix=_NUMBER_FIX) from None
        raise PolicyError(f"the policy body is not valid {kind}: {exc}", fix=fix) from None


def _json(text: str) -> Any:
    return _parse(text, loads=json.loads, kind="JSON",
                  fix='send a JSON object of overrides, e.g. {"officers": {"per_beat": 2}}')


def _toml(text: str) -> dict[str, Any]:
    parsed: dict[str, Any] = _parse(
        text, loads=tomllib.loads, kind="TOML",
        fix="correct the TOML syntax at the position given, or send JSON overrides with "
            "Content-Type: application/json")
    return parsed


def _nest(override: Mapping[str, Any]) -> dict[str, Any]:
    """Expand dotted keys: ``{"officers.per_beat": 2}`` -> ``{"officers": {"per_beat": 2}}``.

    Examples
    --------
    >>> _nest({"officers.per_beat": 2, "officers": {"type1_room_min": 2}})
    {'officers': {'per_beat': 2, 'type1_room_min': 2}}
    """
    out: dict[str, Any] = {}
    for path, value in _leaves(override, ()):
        node = out
        for depth, part in enumerate(path[:-1], start=1):
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise PolicyError(f"staffing policy: {'.'.join(path[:depth])!r} is given both "
                                  "as a value and as a table", fix="give each key once")
        leaf = path[-1]
        if isinstance(value, dict) and not value and isinstance(node.get(leaf), dict):
            continue
        if leaf in node:
            raise PolicyError(f"staffing policy: {'.'.join(path)!r} is given twice",
                              fix="give each key once")
        node[leaf] = value
    return out


def _leaves(override: Mapping[str, Any],
            prefix: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    for key, value in override.items():
        path = prefix + tuple(str(key).split("."))
        if isinstance(value, Mapping) and value:
            yield from _leaves(value, path)
        else:
            yield path, (dict(value) if isinstance(value, Mapping) else value)


# --------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------

def split_list(values: pd.Series, sep: str) -> pd.Series:
    """``"a;b"`` -> ``["a", "b"]`` (``""`` -> ``[]``), per value.

    Examples
    --------
    >>> import pandas as pd
    >>> split_list(pd.Series(["a;b", "", None]), ";").tolist()
    [['a', 'b'], [], []]
    """
    return values.map(lambda v: [p for p in str(v).split(sep) if p] if isinstance(v, str) else [])


def gap_records(gaps: pd.DataFrame) -> list[dict[str, Any]]:
    """Per-beat gaps, worst first, with ``failed_rules`` and ``reasons`` as lists.

    Examples
    --------
    >>> import pandas as pd
    >>> from beatgrid.gis.policing.staffing import assess
    >>> b = pd.DataFrame({"beat_id": ["a", "b"], "population_registered": [9000, 100],
    ...     "population_floating": [2000, 0], "community_officers": [1, 1],
    ...     "auxiliaries": [3, 2]})
    >>> [(r["beat_id"], r["severity"], r["failed_rules"]) for r in gap_records(assess(b))]
    [('a', 'high', ['officers_population', 'floating_managers_ratio']), ('b', 'ok', [])]
    """
    g = gaps.sort_values("severity_rank").copy()
    g["failed_rules"] = split_list(g["failed_rules"], ";")
    g["reasons"] = split_list(g["reasons"], "; ")
    return records(g)


def rollup_records(rollup: pd.DataFrame) -> list[dict[str, Any]]:
    """Roll-up rows with ``rules_failed`` as ``{rule: beats}``."""
    out = records(rollup)
    for row in out:
        row["rules_failed"] = {rule: int(n) for rule, n in
                               (part.rsplit(":", 1) for part in
                                filter(None, (row.get("rules_failed") or "").split(";")))}
    return out


def hotspot_body(res: HotspotResult, permutations: int | None,
                 preventable_only: bool = False) -> dict[str, Any]:
    """The JSON of ``GET /hotspots``: zones, change per beat and the density peak."""
    zones = res.zones
    body: dict[str, Any] = {
        "zone_kind": res.zone_kind,
        "permutations": permutations,
        "preventable_only": preventable_only,
        "hot": res.hot,
        "cold": res.cold,
        "zones": records(zones),
        "change": None,
        "density": None,
        "notes": list(res.notes),
    }
    if res.change is not None:
        attrs = res.change.attrs
        body["change"] = {
            "compare": attrs.get("compare"),
            "current": [pd.Timestamp(t).isoformat() for t in attrs.get("current", ())],
            "previous": [pd.Timestamp(t).isoformat() for t in attrs.get("previous", ())],
            "beats": records(res.change),
        }
    d = res.density
    if len(d):
        top = d.loc[[d["density_km2"].idxmax()]]
        x0, y0, x1, y1 = top.total_bounds
        peak = gpd.GeoSeries([shapely.Point((x0 + x1) / 2, (y0 + y1) / 2)], crs=d.crs) \
            .to_crs(4326).iloc[0]
        body["density"] = {"cells": len(d), "cell_m": float(d.attrs.get("cell_m", 0)),
                           "bandwidth_m": float(d.attrs.get("bandwidth_m", 0)),
                           "peak_km2": round(float(top["density_km2"].iloc[0]), 3),
                           "peak_lon": round(peak.x, 6), "peak_lat": round(peak.y, 6)}
    return body


def _gaps_response(res: StaffingResult) -> JSONResponse:
    return json_response(gap_records(res.gaps), res.notes)


__all__ = ["router", "assessment", "policy_from_body", "refuse_policy_param", "records",
           "gap_records", "rollup_records", "split_list", "hotspot_body", "MAX_PERMUTATIONS",
           "BODY_LIMITS", "checked", "POLICY_SOURCE", "NOTES_HEADER"]
