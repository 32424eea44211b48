"""A plan's state from its recorded steps: snapshots and the edits after them.

A snapshot step (``create``, ``generate``, ``rebalance``, ``import``, ``remove_grid``)
records the grid of every unit (``labels``), the plan's grids and locks, the grid of
every building and a fingerprint of the units; the other steps record only what they
change (``move``: units and target grid; ``lock``/``unlock``: a grid; ``add_grid``).
The state at a step is the last snapshot at or before it with the later edits applied
(:func:`state_at`); no geometry is computed.

When the project's buildings changed since a snapshot (the units' fingerprint
differs), each unit takes the grid holding most of its households in the snapshot's
building assignment (:func:`labels_from_buildings`) and the state says ``remapped``.

Examples
--------
>>> import numpy as np
>>> labels_from_buildings(np.array([0, 0, 1]), np.array([10.0, 5.0, 3.0]),
...                       ["b1", "b2", "b3"], {"b1": "G1", "b2": "G2"}, n_units=3)
['G1', None, None]
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from beatgrid.gis.grids.band import Band
from beatgrid.gis.grids.editing import PlanEditor
from beatgrid.gis.grids.plan import GridPlan
from beatgrid.gis.grids.units import AtomicUnits

__all__ = ["PlanState", "editor_from_state", "fill_empty_units", "labels_from_buildings",
           "snapshot",
           "state_at", "units_fingerprint"]

#: Step kinds that record a whole state.
SNAPSHOT_KINDS = ("create", "generate", "rebalance", "import", "remove_grid")


@dataclass
class PlanState:
    """The state of a plan at one step (on its community's units).

    Attributes
    ----------
    labels
        Grid id per unit (None: unassigned).
    grids
        Grid id -> community id (grids with no unit included).
    locked
        Locked grid ids.
    codes
        Grid id -> code (as stored when the plan came from the published grids).
    remapped
        The project's buildings changed since the snapshot (labels carried over by building).
    violations
        The broken rules of the state's grids once checked (kept with the cached editor
        and updated for the grids an edit touches).
    """

    labels: list[Any]
    grids: dict[Any, Any]
    locked: set[Any] = field(default_factory=set)
    codes: dict[Any, str] = field(default_factory=dict)
    remapped: bool = False
    violations: pd.DataFrame | None = None


def units_fingerprint(units: AtomicUnits) -> str:
    """A hash of the units' buildings (which building is in which unit).

    Examples
    --------
    >>> from beatgrid.gis import Project
    >>> units = Project.open("sample-geodata/ningbo-jiangbei.gpkg").plans.units("C05")
    >>> units_fingerprint(units) == units_fingerprint(units), len(units_fingerprint(units))
    (True, 16)
    """
    b = units.buildings
    pairs = sorted(zip(b["id"].astype(str).tolist(), b["unit"].astype(int).tolist()))
    text = f"{len(units.units)}|" + ";".join(f"{i}:{u}" for i, u in pairs)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def labels_from_buildings(building_unit: np.ndarray, households: np.ndarray,
                          building_ids: Sequence[Any], building_grid: Mapping[str, Any], *,
                          n_units: int) -> list[Any]:
    """Grid per unit: the grid holding most of the unit's households (None when none)."""
    best: dict[int, tuple[float, Any]] = {}
    tally: dict[tuple[int, Any], float] = {}
    for unit, hh, bid in zip(building_unit.tolist(), households.tolist(), building_ids):
        gid = building_grid.get(str(bid))
        if unit < 0 or gid is None:
            continue
        key = (int(unit), gid)
        tally[key] = tally.get(key, 0.0) + float(hh) + 1e-9
        if tally[key] > best.get(int(unit), (-1.0, None))[0]:
            best[int(unit)] = (tally[key], gid)
    return [best[i][1] if i in best else None for i in range(n_units)]


def fill_empty_units(labels: list[Any], units: AtomicUnits) -> list[Any]:
    """Units without households and no grid take the grid most of their neighbours have.

    (A street block with no building belongs to no grid by its buildings; the grid
    around it takes it, so the plan has no gap.)
    """
    out = list(labels)
    hh = units.units["households"].to_numpy(float)
    e = units.edges
    adj: dict[int, list[int]] = {}
    for a, b in zip(e["i"].tolist(), e["j"].tolist()):
        adj.setdefault(a, []).append(b)
        adj.setdefault(b, []).append(a)
    for _ in range(len(out)):  # spreads inwards, one ring per pass
        changed = False
        for i, g in enumerate(out):
            if g is not None or hh[i] > 0:
                continue
            near = [out[j] for j in adj.get(i, []) if out[j] is not None]
            if near:
                out[i] = max(sorted(set(near), key=str), key=near.count)
                changed = True
        if not changed:
            break
    return out


def snapshot(editor: PlanEditor, *, codes: Mapping[Any, str], fingerprint: str
             ) -> dict[str, Any]:
    """The payload of a snapshot step recording an editor's state."""
    bgrid = editor.building_grid()
    return {
        "labels": [None if g is None else str(g) for g in editor.label.tolist()],
        "grids": {str(g): str(c) for g, c in editor.grid_community.items()},
        "locked": sorted(str(g) for g in editor.locked),
        "codes": {str(g): str(c) for g, c in codes.items() if c},
        "buildings": {str(b): str(g) for b, g in bgrid.items() if g is not None},
        "fingerprint": fingerprint,
    }


def state_at(steps: Sequence[Mapping[str, Any]], units: AtomicUnits, *, fingerprint: str
             ) -> PlanState:
    """The state after ``steps`` (a snapshot then the edits after it, from the ledger)."""
    if not steps or "labels" not in steps[0]["payload"]:
        raise ValueError("the steps must start with a snapshot")
    first = steps[0]["payload"]
    remapped = first.get("fingerprint") != fingerprint
    if remapped:
        b = units.buildings
        labels = fill_empty_units(labels_from_buildings(
            b["unit"].to_numpy(), b["households"].to_numpy(float), b["id"].astype(str).tolist(),
            first.get("buildings", {}), n_units=len(units.units)), units)
    else:
        labels = list(first["labels"])
    state = PlanState(labels=labels, grids=dict(first["grids"]),
                      locked=set(first.get("locked", [])), codes=dict(first.get("codes", {})),
                      remapped=remapped)
    n = len(labels)
    for step in steps[1:]:
        p, kind = step["payload"], step["kind"]
        if kind == "move":
            for i in p["units"]:
                if 0 <= int(i) < n:
                    state.labels[int(i)] = p["to"]
        elif kind == "lock":
            state.locked.add(p["grid"])
        elif kind == "unlock":
            state.locked.discard(p["grid"])
        elif kind == "add_grid":
            state.grids[p["grid"]] = p["community_id"]
    return state


def editor_from_state(state: PlanState, units: AtomicUnits, *, band: Band,
                      settings: Mapping[str, Any], crs: Any) -> PlanEditor:
    """A :class:`PlanEditor` holding ``state`` on ``units``."""
    ids = list(state.grids)
    grids = gpd.GeoDataFrame({
        "id": ids, "code": [state.codes.get(g, "") for g in ids],
        "community_id": [state.grids[g] for g in ids],
        "households": [0] * len(ids), "locked": [g in state.locked for g in ids],
        "reason": [""] * len(ids)}, geometry=gpd.GeoSeries([None] * len(ids), crs=crs), crs=crs)
    labels = np.array(state.labels, dtype=object)
    b = units.buildings
    unit = b["unit"].to_numpy()
    bgrid = pd.Series(np.where(unit >= 0, labels[np.maximum(unit, 0)] if len(labels) else None,
                               None), index=b.index, dtype=object)
    plan = GridPlan(grids=grids, building_grid=bgrid, units=units, unit_grid=labels,
                    issues=pd.DataFrame(columns=["community_id", "reason", "households",
                                                 "detail", "grid_ids"]),
                    band=band, settings=settings)
    return PlanEditor(plan)
