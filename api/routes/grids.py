"""HTTP endpoints of the basic-grid map editor: the stored plan, its checks, atomic units, edits.

Registered on the service by :func:`register` (auto-discovered by
:mod:`beatgrid.api.service`); the project is ``app.state.project``. The figures are those
of ``beatgrid grids`` (``gis/grid_partition.py``, ``gis/grid_checks.py``,
``gis/grid_metrics.py``, ``gis/grid_editing.py``, shipped ``gis/defaults/grids.toml``).

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

**Editing sessions.** Moves and rebalances change an in-memory editing session per
community (a :class:`~beatgrid.gis.grids.editing.PlanEditor` on the community's atomic
units, rebuilt from the stored plan), kept while the project file is unchanged, so a move
re-checks only the touched grids on the unit graph and answers in milliseconds. Nothing
is written until ``POST /grids/save``. When the file is written by anyone else
(``beatgrid grids ...``, another service) the session is stale: an edit or a save then
answers 409 (the unsaved edits are discarded) and the next request starts from the
stored plan. ``POST /grids/generate`` with ``"save": true`` replaces the plan and drops
the sessions of the communities it planned.

Bad input (unknown community, grid, unit or building, a body key or query parameter
that does not exist, a band outside ``[MIN_HOUSEHOLDS_FLOOR, MAX_HOUSEHOLDS_CEILING]``)
is a 422 answer ``{"error", "fix"}`` naming what is wrong; an edit touching a locked grid
is a 409 (:class:`~beatgrid.gis.errors.ConflictError`). Results of the stored plan are
cached per project file state.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from beatgrid.api.cache import file_state
from beatgrid.api.params import reject_unknown
from beatgrid.api.rendering import GEOJSON, GEOJSON_RESPONSES, geojson_dict, geojson_text, plain
from beatgrid.gis.errors import ConflictError, InputError

#: Layers the grid endpoints read.
GRID_LAYERS = ["communities", "streets", "buildings", "estates", "grids"]
#: Smallest ``min`` of ``POST /grids/generate`` (a smaller band asks for hundreds of
#: grids per community and keeps the generator busy for minutes).
MIN_HOUSEHOLDS_FLOOR = 50
#: Largest ``max`` of ``POST /grids/generate``.
MAX_HOUSEHOLDS_CEILING = 10_000
#: Largest request body, in bytes (a move may list every unit of a big community).
MAX_BODY_BYTES = 2 * 1024 * 1024
#: Most ids in one move.
MAX_MOVE_IDS = 100_000
#: Editing sessions kept in memory (least recently used without unsaved edits go first).
MAX_SESSIONS = 16

#: Body keys per endpoint: name -> (kind, description). Kinds: str, int, bool, ints, strs.
BODIES = {
    "generate": {
        "community_id": ("str", "plan only this community (default: every community)"),
        "min": ("int", "fewest households per grid (default: settings, 300)"),
        "max": ("int", "most households per grid (default: settings, 500)"),
        "seed": ("int", "random seed (default: settings); the plan is deterministic"),
        "keep_existing": ("bool", "keep the stored grids that are valid, re-plan the rest"),
        "save": ("bool", "write the grids and buildings.grid_id (default false: a proposal)"),
    },
    "move": {
        "community_id": ("str", "the community being edited"),
        "unit_ids": ("ints", "unit_id values of GET /grids/units"),
        "building_ids": ("strs", "building ids (their units move)"),
        "to_grid": ("str", "the grid receiving them"),
    },
    "rebalance": {
        "community_id": ("str", "the community being edited"),
        "seed": ("int", "random seed (default: settings)"),
    },
    "save": {
        "community_id": ("str", "the community whose edited plan is written"),
    },
}
_REQUIRED = {"generate": (), "move": ("community_id", "to_grid"),
             "rebalance": ("community_id",), "save": ("community_id",)}
_EXAMPLES = {
    "generate": {"community_id": "C01", "min": 300, "max": 500, "save": False},
    "move": {"community_id": "C01", "unit_ids": [12, 13], "to_grid": "C01-G03"},
    "rebalance": {"community_id": "C01"},
    "save": {"community_id": "C01"},
}
_TYPE_NAMES = {"str": "string", "int": "whole number", "bool": "true/false",
               "ints": "list of whole numbers", "strs": "list of strings"}
_JSON_TYPES = {"str": {"type": "string"}, "int": {"type": "integer"},
               "bool": {"type": "boolean"},
               "ints": {"type": "array", "items": {"type": "integer", "minimum": 0}},
               "strs": {"type": "array", "items": {"type": "string"}}}


def _openapi_body(name: str) -> dict:
    fields = BODIES[name]
    schema = {"type": "object", "additionalProperties": False,
              "required": list(_REQUIRED[name]),
              "properties": {k: {**_JSON_TYPES[kind], "description": text}
                             for k, (kind, text) in fields.items()}}
    return {"requestBody": {"required": bool(_REQUIRED[name]), "content": {
        "application/json": {"schema": schema, "example": _EXAMPLES[name]}}}}


# --------------------------------------------------------------------------------------
# Routes
# --------------------------------------------------------------------------------------

def register(app: FastAPI) -> None:
    """Add the basic-grid endpoints to ``app``."""

    @app.get("/grids", tags=["grids"], responses=GEOJSON_RESPONSES)
    def grids(request: Request, community_id: str | None = Query(
            None, description="only the grids of this community")) -> Response:
        """The stored grids with households, code, locked and per-grid metrics (EPSG:4326)."""
        _only(request, ("community_id",))
        path = _project(request)
        cid = _optional_community(path, community_id)
        text = _derived(path, ("grids", cid), lambda layers: grids_geojson(layers, cid))
        return Response(text, media_type=GEOJSON)

    @app.get("/grids/check", tags=["grids"])
    def check(request: Request, community_id: str | None = Query(
            None, description="only this community")) -> JSONResponse:
        """Every violation of the grid rules in the stored plan, as records."""
        _only(request, ("community_id",))
        path = _project(request)
        cid = _optional_community(path, community_id)
        return JSONResponse(_derived(path, ("check", cid),
                                     lambda layers: stored_violations(layers, cid)))

    @app.get("/grids/metrics", tags=["grids"])
    def metrics(request: Request, community_id: str | None = Query(
            None, description="only this community")) -> JSONResponse:
        """The plan summary of the stored grids, overall and per community."""
        _only(request, ("community_id",))
        path = _project(request)
        cid = _optional_community(path, community_id)
        return JSONResponse(_derived(path, ("metrics", cid),
                                     lambda layers: stored_metrics(layers, cid)))

    @app.get("/grids/units", tags=["grids"], responses=GEOJSON_RESPONSES)
    def units(request: Request, community_id: str | None = Query(
            None, description="the community (required)")) -> JSONResponse:
        """The atomic units of one community with their grid in the editing session."""
        _only(request, ("community_id",))
        path = _project(request)
        if not community_id:
            raise InputError("GET /grids/units needs ?community_id=ID",
                             fix="give the community, e.g. ?community_id="
                                 + (_community_ids(path)[:1] or ["C01"])[0])
        cid = _optional_community(path, community_id)
        with open_session(path, cid, editing=False) as session:
            return JSONResponse(session.units_geojson(), media_type=GEOJSON)

    @app.post("/grids/generate", tags=["grids"], responses=GEOJSON_RESPONSES,
              openapi_extra=_openapi_body("generate"))
    async def generate(request: Request) -> JSONResponse:
        """Plan grids; a proposal unless ``"save": true`` (then grids and buildings written)."""
        _only(request, ())
        params = parse_body(await request.body(), "generate")
        body = await run_in_threadpool(generate_plan, _project(request), params)
        return JSONResponse(body, media_type=GEOJSON)

    @app.post("/grids/move", tags=["grids"], openapi_extra=_openapi_body("move"))
    async def move(request: Request) -> JSONResponse:
        """Move units (or the units of buildings) into a grid; re-check the touched grids."""
        _only(request, ())
        params = parse_body(await request.body(), "move")
        return JSONResponse(await run_in_threadpool(move_units, _project(request), params))

    @app.post("/grids/rebalance", tags=["grids"], openapi_extra=_openapi_body("rebalance"))
    async def rebalance(request: Request) -> JSONResponse:
        """Repair the edited plan of a community, moving as few households as possible."""
        _only(request, ())
        params = parse_body(await request.body(), "rebalance")
        return JSONResponse(await run_in_threadpool(rebalance_plan, _project(request), params))

    @app.post("/grids/save", tags=["grids"], openapi_extra=_openapi_body("save"))
    async def save(request: Request) -> JSONResponse:
        """Write the edited plan of a community (grids and buildings.grid_id)."""
        _only(request, ())
        params = parse_body(await request.body(), "save")
        return JSONResponse(await run_in_threadpool(save_plan, _project(request), params))


# --------------------------------------------------------------------------------------
# The stored plan (cached per project file state)
# --------------------------------------------------------------------------------------

_CACHE: OrderedDict = OrderedDict()
_CACHE_SIZE = 32
_CACHE_LOCK = threading.Lock()


def _project(request: Request) -> Path:
    return Path(request.app.state.project.location)


def _cached(path: Path, key: tuple, compute: Callable):
    """``compute()``, reused while the project file is unchanged."""
    state = file_state(path)
    full = (str(path.resolve()), state, key)
    with _CACHE_LOCK:
        if full in _CACHE:
            _CACHE.move_to_end(full)
            return _CACHE[full]
    value = compute()
    if file_state(path) == state:        # not written meanwhile: the value is of this state
        with _CACHE_LOCK:
            _CACHE[full] = value
            while len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)
    return value


def _layers(path: Path) -> dict:
    """The grid layers of the project (shared: never modify them in place)."""
    from beatgrid.gis.io.project import read_project

    return _cached(path, ("layers",), lambda: read_project(path, GRID_LAYERS))


def _derived(path: Path, key: tuple, compute: Callable):
    return _cached(path, key, lambda: compute(_layers(path)))


def _settings() -> dict:
    from beatgrid.gis.config import load_settings

    return load_settings("grids")


def _community_ids(path: Path) -> list[str]:
    return [str(c) for c in _layers(path)["communities"]["id"]]


def _optional_community(path: Path, community_id) -> str | None:
    if community_id is None or community_id == "":
        return None
    known = _community_ids(path)
    if community_id not in known:
        raise InputError(f"community {community_id!r} is not in the project",
                         fix="use a community id of the project: " + _listing(known))
    return community_id


def _listing(values, limit: int = 20) -> str:
    values = [str(v) for v in values]
    if not values:
        return "(none)"
    more = f" ... ({len(values)} in all)" if len(values) > limit else ""
    return ", ".join(values[:limit]) + more


def grids_geojson(layers: dict, community_id: str | None = None) -> str:
    """The stored grids with their metrics, GeoJSON text in EPSG:4326."""
    from beatgrid.gis.grids.metrics import grid_metrics

    grids = layers["grids"]
    if community_id is not None:
        grids = grids[grids["community_id"] == community_id]
    if len(grids) == 0:
        return json.dumps({"type": "FeatureCollection", "features": []})
    settings = _settings()
    m = grid_metrics(grids, communities=layers["communities"], streets=layers["streets"],
                     buildings=layers["buildings"], settings=settings)
    m = m.rename(columns={"households": "households_counted"}).drop(columns="community_id")
    out = grids.reset_index(drop=True).merge(m, on="id", how="left")
    out = gpd.GeoDataFrame(out, geometry="geometry", crs=grids.crs)
    return geojson_text(out)


def stored_violations(layers: dict, community_id: str | None = None) -> list[dict]:
    """``check_grids`` of the stored plan, as records (one community, or all)."""
    from beatgrid.gis.grids.checks import check_grids

    grids, comm, bld = layers["grids"], layers["communities"], layers["buildings"]
    if community_id is not None:
        grids = grids[grids["community_id"] == community_id]
        comm = comm[comm["id"] == community_id]
        bld = bld[(bld["community_id"] == community_id) | bld["grid_id"].isin(set(grids["id"]))]
    return violation_records(check_grids(grids, communities=comm, buildings=bld,
                                         settings=_settings()))


def stored_metrics(layers: dict, community_id: str | None = None) -> dict:
    """The plan summary of the stored grids, overall and per community."""
    from beatgrid.gis.grids.metrics import grid_metrics, plan_summary
    from beatgrid.gis.grids.partition import band_from_settings

    settings = _settings()
    band = band_from_settings(settings)
    grids = layers["grids"]
    if community_id is not None:
        grids = grids[grids["community_id"] == community_id]
    m = grid_metrics(grids, communities=layers["communities"], streets=layers["streets"],
                     buildings=layers["buildings"], band=band, settings=settings)
    per = []
    for cid, part in m.groupby("community_id", sort=True):
        s = plan_summary(part, band=band)
        s.pop("band", None)
        per.append({"community_id": cid, **s})
    return plain({"band": band_dict(band), "summary": plan_summary(m, band=band),
                  "communities": per})


# --------------------------------------------------------------------------------------
# Editing sessions
# --------------------------------------------------------------------------------------

@dataclass
class Session:
    """The editing session of one community: a PlanEditor and the file state it is of."""

    community_id: str
    state: tuple
    editor: object
    edits: int = 0
    discarded: int = 0
    last_used: float = field(default_factory=time.monotonic)
    _features: list | None = None

    def grid_ids(self) -> list:
        """Grids of the community in the session (emptied ones included), sorted."""
        ed = self.editor
        return sorted((g for g, c in ed.grid_community.items() if c == self.community_id),
                      key=str)

    def live_grid_ids(self) -> list:
        """Grids holding at least one unit (an emptied grid is dropped on save)."""
        return [g for g in self.grid_ids() if self.editor.members.get(g)]

    def grid_record(self, gid) -> dict:
        ed = self.editor
        hh = int(round(float(ed.load.get(gid, 0.0))))
        units = len(ed.members.get(gid, ()))
        return {"grid": gid, "households": hh, "units": units,
                "in_band": bool(ed.band.lo <= hh <= ed.band.hi), "locked": gid in ed.locked,
                "empty": units == 0}

    def check(self) -> list[dict]:
        """Violations of the community's grids on the unit graph (emptied grids aside)."""
        return violation_records(self.editor.check(self.live_grid_ids()))

    def units_geojson(self) -> dict:
        """The units (EPSG:4326) with their current grid, and the grids of the session."""
        ed = self.editor
        if self._features is None:
            u = ed.units.units
            frame = gpd.GeoDataFrame({
                "unit_id": np.arange(len(u)), "community_id": u["community_id"].to_numpy(),
                "kind": u["kind"].to_numpy(), "block": u["block"].to_numpy(),
                "households": u["households"].to_numpy(),
                "buildings": u["buildings"].to_numpy(),
                "estate_id": u["estate_id"].to_numpy(dtype=object),
                "area_m2": u["area_m2"].round(1).to_numpy(),
            }, geometry=u.geometry.values, crs=u.crs)
            self._features = geojson_dict(frame)["features"]
        labels = ed.label
        for f in self._features:
            g = labels[f["properties"]["unit_id"]]
            f["properties"]["grid"] = g
            f["properties"]["grid_locked"] = g in ed.locked
        return {"type": "FeatureCollection", "features": self._features,
                "community_id": self.community_id, "band": band_dict(ed.band),
                "grids": [self.grid_record(g) for g in self.grid_ids()],
                "unsaved_edits": self.edits, "discarded_edits": self.discarded}


_SESSIONS: OrderedDict = OrderedDict()
_SESSION_LOCKS: dict = {}
_SESSIONS_LOCK = threading.Lock()


def _key_lock(key) -> threading.Lock:
    with _SESSIONS_LOCK:
        return _SESSION_LOCKS.setdefault(key, threading.Lock())


@contextlib.contextmanager
def open_session(path: Path, community_id: str, *, editing: bool):
    """The editing session of a community, built from the stored plan when needed.

    Held exclusively while the ``with`` block runs (edits of one community are
    serialised). With ``editing``, a session made stale by a write of the project file
    while it had unsaved edits raises :class:`ConflictError` (and is dropped).
    """
    key = (str(Path(path).resolve()), community_id)
    with _key_lock(key):
        state = file_state(path)
        with _SESSIONS_LOCK:
            session = _SESSIONS.get(key)
        discarded = 0
        if session is not None and session.state != state:
            with _SESSIONS_LOCK:
                _SESSIONS.pop(key, None)
            if session.edits and editing:
                raise ConflictError(
                    f"the project file was written since the editing session of community "
                    f"{community_id} began: its {session.edits} unsaved edit(s) are discarded",
                    fix=f"reload GET /grids/units?community_id={community_id} and redo "
                        "the edits")
            discarded, session = session.edits, None
        if session is None:
            session = _build_session(path, community_id, state)
            session.discarded = discarded
            with _SESSIONS_LOCK:
                _SESSIONS[key] = session
                _evict()
        session.last_used = time.monotonic()
        with _SESSIONS_LOCK:
            if key in _SESSIONS:
                _SESSIONS.move_to_end(key)
        yield session


def _build_session(path: Path, community_id: str, state: tuple) -> Session:
    from beatgrid.gis.grids.editing import PlanEditor, plan_from_layers

    layers = _layers(path)
    grids = layers["grids"]
    plan = plan_from_layers(layers["communities"], layers["streets"], layers["buildings"],
                            grids[grids["community_id"] == community_id],
                            estates=layers["estates"], settings=_settings(),
                            community_ids=[community_id])
    return Session(community_id=community_id, state=state, editor=PlanEditor(plan))


def _evict() -> None:
    """Drop sessions beyond MAX_SESSIONS: least recently used, clean ones first."""
    while len(_SESSIONS) > MAX_SESSIONS:
        clean = [k for k, s in _SESSIONS.items() if not s.edits]
        _SESSIONS.pop(clean[0] if clean else next(iter(_SESSIONS)))


def _rekey_sessions(path: Path, old_state: tuple, new_state: tuple, changed) -> None:
    """After a write of our own that changed only the ``changed`` communities, the other
    sessions of the state written over are still those of the file: they go on."""
    root = str(Path(path).resolve())
    with _SESSIONS_LOCK:
        for (where, cid), s in _SESSIONS.items():
            if where == root and s.state == old_state and cid not in changed:
                s.state = new_state


def drop_sessions(path: Path, community_ids=None) -> dict:
    """Forget the sessions of these communities (all when None); their unsaved edits."""
    root = str(Path(path).resolve())
    dropped = {}
    with _SESSIONS_LOCK:
        for key in list(_SESSIONS):
            if key[0] == root and (community_ids is None or key[1] in community_ids):
                s = _SESSIONS.pop(key)
                if s.edits:
                    dropped[key[1]] = s.edits
    return dropped


# --------------------------------------------------------------------------------------
# Edits
# --------------------------------------------------------------------------------------

def _known_community(path: Path, community_id: str) -> str:
    return _optional_community(path, community_id)


def _check_target(session: Session, path: Path, to_grid: str) -> None:
    ed = session.editor
    cid = session.community_id
    if ed.grid_community.get(to_grid) == cid:
        if to_grid in ed.locked:
            raise ConflictError(f"grid {to_grid!r} is locked: nothing can move into it",
                                fix="unlock the grid (grids.locked = false) first, or move "
                                    "into another grid")
        return
    grids = _layers(path)["grids"]
    other = grids.loc[grids["id"] == to_grid, "community_id"]
    if len(other):
        raise InputError(f"grid {to_grid!r} belongs to community {other.iloc[0]}, not "
                         f"{cid}", fix="a unit stays in its community (区划不变): use a grid "
                                       f"of {cid}: " + _listing(session.grid_ids()))
    raise InputError(f"grid {to_grid!r} is not a grid of community {cid}",
                     fix="use a grid of the community: " + _listing(session.grid_ids())
                     if session.grid_ids() else
                     f"community {cid} has no grids yet: POST /grids/generate with "
                     f'"community_id": "{cid}", "save": true first')


def _units_to_move(session: Session, params: dict) -> tuple[list[int], str]:
    """Validated unit rows (and what was named) of a move."""
    ed = session.editor
    cid = session.community_id
    unit_ids, building_ids = params.get("unit_ids"), params.get("building_ids")
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
        return sorted(set(unit_ids)), "units"
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
    return sorted(set(int(r) for r in rows)), "buildings"


def move_units(path: Path, params: dict) -> dict:
    """``POST /grids/move``: move units into a grid; the re-check of the touched grids."""
    t0 = time.perf_counter()
    cid = _known_community(path, params["community_id"])
    to_grid = params["to_grid"]
    with open_session(path, cid, editing=True) as session:
        ed = session.editor
        _check_target(session, path, to_grid)
        rows, named = _units_to_move(session, params)
        locked = sorted({ed.label[r] for r in rows if ed.label[r] in ed.locked
                         and ed.label[r] != to_grid}, key=str)
        if locked:
            raise ConflictError(f"unit(s) of locked grid(s) {_listing(locked)} cannot move",
                                fix="unlock the grid (grids.locked = false) first, or leave "
                                    "its units out")
        if named == "buildings":
            res = ed.move_buildings(params["building_ids"], to_grid=to_grid)
        else:
            res = ed.move_units(rows, to_grid=to_grid)
        if res.moved_units:
            session.edits += 1
        return plain({
            "community_id": cid, "to_grid": to_grid,
            "moved_units": [int(u) for u in res.moved_units],
            "households_moved": res.households_moved,
            "grids": [session.grid_record(g) for g in res.touched],
            "violations": violation_records(res.violations),
            "ok": not _has_errors(res.violations),
            "unsaved_edits": session.edits,
            "check_ms": round(res.seconds * 1000, 3),
            "elapsed_ms": round((time.perf_counter() - t0) * 1000, 3),
        })


def rebalance_plan(path: Path, params: dict) -> dict:
    """``POST /grids/rebalance``: repair the community's edited plan."""
    cid = _known_community(path, params["community_id"])
    with open_session(path, cid, editing=True) as session:
        ed = session.editor
        if not session.grid_ids():
            raise InputError(f"community {cid} has no grids to rebalance",
                             fix=f'POST /grids/generate with "community_id": "{cid}" first')
        res = ed.rebalance([cid], seed=params.get("seed"))
        if res.moved_units:
            session.edits += 1
        violations = session.check()
        return plain({
            "community_id": cid,
            "moved_units": {str(int(u)): ed.label[u] for u in res.moved_units},
            "households_moved": res.households_moved,
            "grids": [session.grid_record(g) for g in session.grid_ids()],
            "touched": [g for g in res.touched if g is not None],
            "violations": violations,
            "ok": not any(v["severity"] == "error" for v in violations),
            "unsaved_edits": session.edits,
            "seconds": round(res.seconds, 3),
        })


def save_plan(path: Path, params: dict) -> dict:
    """``POST /grids/save``: write the edited plan of a community."""
    cid = _known_community(path, params["community_id"])
    with open_session(path, cid, editing=True) as session:
        if not session.edits:
            return {"saved": False, "community_id": cid, "unsaved_edits": 0,
                    "message": f"community {cid} has no unsaved edits: the stored plan "
                               "is the edited plan"}
        return plain(_write_session(path, session))


def _write_session(path: Path, session: Session) -> dict:
    from beatgrid.gis.grids.checks import check_grids
    from beatgrid.gis.grids.editing import PlanEditor
    from beatgrid.gis.grids.metrics import assign_codes
    from beatgrid.gis.grids.partition import GridPlan
    from beatgrid.gis.io.project import write_layers

    ed = session.editor
    cid = session.community_id
    layers = _layers(path)
    stored = layers["grids"]
    old = stored[stored["community_id"] == cid].set_index("id")
    new = ed.grids(session.live_grid_ids()).to_crs(stored.crs)
    new = new.set_geometry(_valid(new.geometry.values), crs=new.crs)
    new["locked"] = [g in ed.locked for g in new["id"]]
    new["reason"] = [str(old["reason"].get(g, "") or "") if "reason" in old else ""
                     for g in new["id"]]
    # grids made by rebalance (or without a code) get a proper id and code
    known = [g in old.index and bool(str(old["code"].get(g, "") or "")) for g in new["id"]]
    renamed = {}
    if not all(known):
        others = set(stored.loc[stored["community_id"] != cid, "id"])
        # object Series: a None must stay None (a str Series would turn it into NaN, which
        # assign_codes then keeps as the id)
        keep_ids = pd.Series([g if k else None for g, k in zip(new["id"], known)], dtype=object)
        keep_codes = pd.Series([c if k else None for c, k in zip(new["code"], known)],
                               dtype=object)
        ids, codes = assign_codes(new, layers["communities"], settings=ed.settings,
                                  taken=others, keep_ids=keep_ids, keep_codes=keep_codes)
        renamed = {g: i for g, i, k in zip(new["id"], ids, known) if not k and g != i}
        new["id"], new["code"] = ids, codes
    cols = ["id", "code", "community_id", "households", "locked", "reason", "geometry"]
    rest = stored[stored["community_id"] != cid]
    rest = rest.assign(reason=rest["reason"] if "reason" in rest else "")
    merged = gpd.GeoDataFrame(pd.concat([rest[cols], new[cols]], ignore_index=True),
                              geometry="geometry", crs=stored.crs)
    labels = np.array([renamed.get(g, g) for g in ed.label], dtype=object)
    bu = ed.building_unit
    bgrid = pd.Series(np.where(bu.to_numpy() >= 0, labels[np.maximum(bu.to_numpy(), 0)], None),
                      index=bu.index, dtype=object)
    mine = bgrid.index[bu.to_numpy() >= 0]
    bld = layers["buildings"].copy()
    sel = bld["id"].isin(set(mine))
    bld.loc[sel, "grid_id"] = bgrid.reindex(bld.loc[sel, "id"]).to_numpy()
    gone = set(old.index) - set(new["id"])
    bld.loc[~sel & bld["grid_id"].isin(gone), "grid_id"] = None
    old_state = session.state
    write_layers(path, {"grids": merged, "buildings": bld})
    _rekey_sessions(path, old_state, file_state(path), {cid})
    # the session goes on from what was written: same units, saved ids
    saved = new.reset_index(drop=True)
    ed.units.units["grid_id"] = labels
    plan = GridPlan(grids=saved, building_grid=bgrid, units=ed.units, unit_grid=labels,
                    issues=ed.plan.issues, band=ed.band, settings=ed.settings)
    session.editor = PlanEditor(plan)
    session.state = file_state(path)
    session.edits = 0
    comm = layers["communities"]
    violations = check_grids(saved, communities=comm[comm["id"] == cid],
                             buildings=bld[bld["grid_id"].isin(set(saved["id"]))],
                             band=ed.band, settings=ed.settings)
    return {"saved": True, "community_id": cid,
            "grids": [{"id": r.id, "code": r.code, "households": int(r.households),
                       "locked": bool(r.locked)} for r in saved.itertuples()],
            "households": int(saved["households"].sum()), "removed": sorted(gone, key=str),
            "renamed": renamed, "violations": violation_records(violations),
            "ok": not _has_errors(violations), "unsaved_edits": 0}


# --------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------

def generate_plan(path: Path, params: dict) -> dict:
    """``POST /grids/generate``: the plan (GeoJSON with summary, issues and violations)."""
    from beatgrid.gis.grids.checks import check_grids
    from beatgrid.gis.grids.metrics import grid_metrics, households_moved, plan_summary
    from beatgrid.gis.grids.partition import REASONS, band_from_settings, generate_grids
    from beatgrid.gis.io.project import write_layers

    from beatgrid.api.commands.grids import _merged_layers

    state = file_state(path)
    layers = _layers(path)
    if len(layers["communities"]) == 0:
        raise InputError("the project has no communities",
                         fix="import community boundaries (beatgrid import communities FILE)")
    cid = _optional_community(path, params.get("community_id"))
    settings = _settings()
    lo, hi = params.get("min"), params.get("max")
    for name, value in (("min", lo), ("max", hi)):
        if value is not None and not MIN_HOUSEHOLDS_FLOOR <= value <= MAX_HOUSEHOLDS_CEILING:
            raise InputError(f"{name}={value} is outside {MIN_HOUSEHOLDS_FLOOR} to "
                             f"{MAX_HOUSEHOLDS_CEILING} households",
                             fix=f"give {name} from {MIN_HOUSEHOLDS_FLOOR} to "
                                 f"{MAX_HOUSEHOLDS_CEILING} (the shipped band is "
                                 f"{settings['band']['min_households']}-"
                                 f"{settings['band']['max_households']})")
    band = band_from_settings(settings, min_households=lo, max_households=hi)
    seed = params.get("seed")
    if seed is not None and not 0 <= seed < 2 ** 32:
        raise InputError(f"seed={seed} is not from 0 to {2 ** 32 - 1}",
                         fix="give a whole number from 0 to 4294967295")
    communities = [cid] if cid is not None else None
    stored = layers["grids"]
    plan = generate_grids(layers["communities"], layers["streets"], layers["buildings"],
                          estates=layers["estates"], previous=stored if len(stored) else None,
                          stable=bool(params.get("keep_existing")), respect_locked=True,
                          community_ids=communities, min_households=band.lo,
                          max_households=band.hi, target_households=band.target, seed=seed,
                          settings=settings)
    grids, bld = _merged_layers(layers, plan, communities)
    planned = set(plan.grids["community_id"])
    mine = grids[grids["community_id"].isin(planned)]
    comm = layers["communities"]
    violations = check_grids(mine, communities=comm[comm["id"].isin(planned)],
                             buildings=bld[bld["grid_id"].isin(set(mine["id"]))], band=band,
                             settings=settings)
    metrics = grid_metrics(mine, communities=comm, streets=layers["streets"], buildings=bld,
                           band=band, settings=settings)
    moved = None
    old_gid = layers["buildings"]["grid_id"]
    if old_gid.notna().any():
        moved = households_moved(bld["grid_id"], old_gid, bld["households"])
    out = mine.reset_index(drop=True).merge(
        metrics.drop(columns=["community_id", "households"]), on="id", how="left")
    out = gpd.GeoDataFrame(out, geometry="geometry", crs=mine.crs)
    body = geojson_dict(out)
    issues = []
    for r in plan.issues.to_dict("records"):
        meaning, fix = REASONS.get(r["reason"], ("", ""))
        issues.append({"community_id": r["community_id"], "reason": r["reason"],
                       "households": r["households"], "detail": r["detail"],
                       "grid_ids": list(r.get("grid_ids") or []), "meaning": meaning,
                       "fix": fix})
    saved, discarded = bool(params.get("save")), {}
    if saved:
        write_layers(path, {"grids": grids, "buildings": bld})
        discarded = drop_sessions(path, communities)
        _rekey_sessions(path, state, file_state(path), planned)
    body.update(plain({
        "saved": saved, "band": band_dict(band),
        "summary": plan_summary(metrics, band=band, moved=moved),
        "issues": issues, "violations": violation_records(violations),
        "ok": not _has_errors(violations), "discarded_edits": discarded}))
    return body


# --------------------------------------------------------------------------------------
# Parameters and bodies
# --------------------------------------------------------------------------------------

def _only(request: Request, allowed: tuple[str, ...]) -> None:
    reject_unknown(request, allowed, none_hint="no query parameters (the body is JSON)")


def parse_body(raw: bytes, endpoint: str) -> dict:
    """The JSON body of ``POST /grids/<endpoint>``, checked against :data:`BODIES`.

    Keys given as null count as absent.

    Examples
    --------
    >>> parse_body(b'{"community_id": "C01", "unit_ids": [3, 4], "to_grid": "C01-G02"}', "move")
    {'community_id': 'C01', 'unit_ids': [3, 4], 'to_grid': 'C01-G02'}
    >>> parse_body(b'{"community_id": "C01", "to_grid": 7}', "move")
    Traceback (most recent call last):
    ...
    beatgrid.gis.errors.InputError: POST /grids/move: to_grid must be a non-empty string, not 7 ...
    """
    fields, where = BODIES[endpoint], f"POST /grids/{endpoint}"
    usage = "send a JSON object with " + ", ".join(
        f"{k} ({_TYPE_NAMES[kind]})" for k, (kind, _) in fields.items())
    if len(raw) > MAX_BODY_BYTES:
        raise InputError(f"{where}: the body has {len(raw):,} bytes, more than "
                         f"{MAX_BODY_BYTES:,}", fix="send fewer ids per request")
    try:
        text = raw.decode("utf-8-sig")
        data = json.loads(text) if text.strip() else {}
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{where}: the body is not valid JSON ({exc})", fix=usage) from None
    if not isinstance(data, dict):
        raise InputError(f"{where}: the body is JSON {type(data).__name__}, not an object",
                         fix=usage)
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise InputError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))}", fix=usage)
    out = {}
    for key, value in data.items():
        if value is None:
            continue
        out[key] = _typed(where, key, fields[key][0], value, usage)
    missing = [k for k in _REQUIRED[endpoint] if k not in out]
    if missing:
        raise InputError(f"{where}: {', '.join(missing)} {'is' if len(missing) == 1 else 'are'}"
                         " required", fix=usage)
    return out


def _typed(where: str, key: str, kind: str, value, usage: str):
    def bad(expected):
        shown = json.dumps(value)
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        return InputError(f"{where}: {key} must be {expected}, not {shown}", fix=usage)

    if kind == "str":
        if not isinstance(value, str) or not value:
            raise bad("a non-empty string")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad("a whole number")
        return value
    if not isinstance(value, list) or not value:
        raise bad("a non-empty list")
    if len(value) > MAX_MOVE_IDS:
        raise bad(f"a list of at most {MAX_MOVE_IDS:,} ids")
    if kind == "ints":
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            raise bad("a list of whole numbers (unit_id of GET /grids/units)")
        return value
    if not all(isinstance(v, str) and v for v in value):
        raise bad("a list of strings (building ids)")
    return value


# --------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------

def band_dict(band) -> dict:
    return {"min": band.lo, "max": band.hi, "target": band.target}


def violation_records(violations: pd.DataFrame) -> list[dict]:
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
    return [plain({"grid": r["grid_id"], "community_id": r["community_id"], "rule": r["kind"],
                   "severity": r["severity"], "figure": r["value"], "unit": r["unit"],
                   "requirement": r["rule"], "message": r["message"],
                   "other_grid": r["other_id"]})
            for r in violations.to_dict("records")]


def _has_errors(violations: pd.DataFrame) -> bool:
    return bool(len(violations) and (violations["severity"] == "error").any())


def _valid(geoms: np.ndarray) -> np.ndarray:
    """Polygons made valid: a union of units can hold a hole of a few nanosquare metres
    (units not quite an exact coverage) that collapses when reprojected to the storage CRS."""
    import shapely

    from beatgrid.gis.grids.units import polygonal

    geoms = np.asarray(geoms, dtype=object).copy()
    bad = ~shapely.is_valid(geoms)
    if bad.any():
        geoms[bad] = polygonal(shapely.make_valid(geoms[bad]))
    return geoms



__all__ = ["register", "BODIES", "GRID_LAYERS", "MIN_HOUSEHOLDS_FLOOR",
           "MAX_HOUSEHOLDS_CEILING", "MAX_SESSIONS", "Session", "open_session",
           "drop_sessions", "file_state", "parse_body", "violation_records", "plain",
           "grids_geojson", "stored_violations", "stored_metrics", "generate_plan",
           "move_units", "rebalance_plan", "save_plan"]
