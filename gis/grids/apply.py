"""Writing a plan or an editor's state back into the ``grids`` layer and ``buildings.grid_id``.

The one place where grids and buildings are merged after planning (used by
:class:`~beatgrid.gis.grids.workflow.GridPlanning` for ``generate``, ``rebalance``,
``move`` and ``save``). Both functions are pure: they return the new grids layer and
buildings frame, and the caller writes them.

The rules, the same for every write:

- grids of communities not planned (or not edited) are kept as they are;
- every building of a planned community takes the grid of its unit;
- a building of another community pointing at a grid that no longer exists loses its
  ``grid_id`` (no stale ids);
- a grid that is kept keeps its id and code; a grid made by an edit
  (:meth:`~beatgrid.gis.grids.editing.PlanEditor.rebalance`) gets a fresh id and code.

Examples
--------
>>> from beatgrid.gis import Project
>>> project = Project.open("sample-geodata/ningbo-jiangbei.gpkg")
>>> layers = project.read(["communities", "buildings", "grids"])
>>> plan = project.grids.generate(communities=["C05"]).plan
>>> applied = apply_plan(layers, plan, community_ids=["C05"])
>>> sorted(set(applied.grids["community_id"])), int(applied.buildings["grid_id"].notna().sum())
(['C05'], 23)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from beatgrid.gis.grids.codes import assign_codes
from beatgrid.gis.grids.editing import PlanEditor
from beatgrid.gis.grids.geometry import valid_polygons
from beatgrid.gis.grids.plan import GridPlan

#: Columns of the grids layer written.
GRID_COLUMNS = ["id", "code", "community_id", "households", "locked", "reason"]


@dataclass(frozen=True)
class AppliedPlan:
    """The grids layer and the buildings after a plan (to be written together).

    Attributes
    ----------
    grids
        The whole grids layer (storage CRS).
    buildings
        The buildings layer with ``grid_id``.
    """

    grids: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame


@dataclass(frozen=True)
class AppliedEdit(AppliedPlan):
    """The layers after writing an editor's state, and what changed.

    Attributes
    ----------
    saved
        The grids written from the editor (storage CRS), ids and codes final.
    removed
        Ids of the grids emptied by the edits (dropped).
    renamed
        Grids made by the edits: editor id -> the id written.
    plan
        The editor's plan as written (ids final), to go on editing from.
    """

    saved: gpd.GeoDataFrame
    removed: list[Any]
    renamed: dict[Any, Any]
    plan: GridPlan


def apply_plan(layers: Mapping[str, pd.DataFrame], plan: GridPlan, *,
               community_ids: Iterable[Any] | None = None) -> AppliedPlan:
    """The grids layer and buildings after ``plan`` of ``community_ids`` (others kept).

    Parameters
    ----------
    layers
        The stored ``grids``, ``buildings`` and ``communities``.
    plan
        A plan of the communities (:func:`~beatgrid.gis.grids.partition.generate_grids`).
    community_ids
        The communities planned (default all: every stored grid is replaced).

    Returns
    -------
    AppliedPlan

    Examples
    --------
    >>> from beatgrid.gis import Project
    >>> project = Project.open("sample-geodata/ningbo-jiangbei.gpkg")
    >>> plan = project.grids.generate(communities=["C09"]).plan
    >>> applied = apply_plan(project.read(["communities", "buildings", "grids"]), plan)
    >>> len(applied.grids) == len(plan.grids)
    True
    """
    old = layers["grids"]
    wanted = None if community_ids is None else list(community_ids)
    planned = set(plan.grids["community_id"]) | set(wanted or [])
    if wanted is None:
        planned = set(layers["communities"]["id"])
    keep = old[~old["community_id"].isin(planned)] if len(old) else old
    cols = GRID_COLUMNS
    new = plan.grids[cols + ["geometry"]]
    if len(keep):
        keep = keep.to_crs(new.crs)
        keep = keep.assign(reason=keep["reason"] if "reason" in keep else "")
        grids = gpd.GeoDataFrame(pd.concat([keep[cols + ["geometry"]], new], ignore_index=True),
                                 geometry="geometry", crs=new.crs)
    else:
        grids = new
    bld = layers["buildings"].copy()
    in_planned = bld.index.isin(plan.building_grid.index[plan.building_grid.notna()])
    removed = set(old["id"]) - set(grids["id"]) if len(old) else set()
    bld.loc[in_planned, "grid_id"] = plan.building_grid[plan.building_grid.notna()].reindex(
        bld.index[in_planned]).to_numpy()
    stale = bld["grid_id"].isin(removed) & ~in_planned
    bld.loc[stale, "grid_id"] = None
    return AppliedPlan(grids=grids, buildings=bld)


def apply_editor(layers: Mapping[str, pd.DataFrame], editor: PlanEditor, *,
                 grid_ids: Iterable[Any] | None = None) -> AppliedEdit:
    """The grids layer and buildings with the editor's grids written.

    Parameters
    ----------
    layers
        The stored ``grids``, ``buildings`` and ``communities`` (for codes).
    editor
        The editor (its plan was made from the stored layers).
    grid_ids
        Write only these grids of the editor (e.g. the grids an edit touched; default
        every grid of the editor). The buildings of the editor's communities always
        take the grid of their unit.

    Returns
    -------
    AppliedEdit

    Examples
    --------
    >>> from beatgrid.gis import Project
    >>> project = Project.open("sample-geodata/ningbo-jiangbei.gpkg")
    >>> editor = PlanEditor(project.grids.generate(communities=["C05"]).plan)
    >>> applied = apply_editor(project.read(["communities", "buildings", "grids"]), editor)
    >>> sorted(applied.saved["id"]) == sorted(editor.members), applied.renamed
    (True, {})
    """
    stored = layers["grids"]
    scope = set(editor.grid_community if grid_ids is None else grid_ids)
    old = stored[stored["id"].isin(scope)].set_index("id")
    written = sorted((g for g in scope if editor.members.get(g)), key=str)
    new = editor.grids(written).to_crs(stored.crs)
    new = new.set_geometry(valid_polygons(new.geometry.values), crs=new.crs)
    new["locked"] = [g in editor.locked for g in new["id"]]
    new["reason"] = [_text(old["reason"].get(g, "")) if "reason" in old else ""
                     for g in new["id"]]
    # grids made by an edit (or without a code) get a proper id and code
    known = [g in old.index and bool(_text(old["code"].get(g, ""))) for g in new["id"]]
    renamed: dict[Any, Any] = {}
    if not all(known):
        others = set(stored.loc[~stored["id"].isin(scope), "id"])
        # object Series: a None must stay None (a str Series would turn it into NaN, which
        # assign_codes then keeps as the id)
        keep_ids = pd.Series([g if k else None for g, k in zip(new["id"], known)], dtype=object)
        keep_codes = pd.Series([c if k else None for c, k in zip(new["code"], known)],
                               dtype=object)
        ids, codes = assign_codes(new, layers["communities"], settings=editor.settings,
                                  taken=others, keep_ids=keep_ids, keep_codes=keep_codes)
        renamed = {g: i for g, i, k in zip(new["id"], ids, known) if not k and g != i}
        new["id"], new["code"] = ids, codes
    cols = GRID_COLUMNS + ["geometry"]
    rest = stored[~stored["id"].isin(scope)]
    rest = rest.assign(reason=rest["reason"] if "reason" in rest else "")
    grids = gpd.GeoDataFrame(pd.concat([rest[cols], new[cols]], ignore_index=True),
                             geometry="geometry", crs=stored.crs)
    labels = np.array([renamed.get(g, g) for g in editor.label], dtype=object)
    bu = editor.building_unit
    placed = bu.to_numpy() >= 0
    bgrid = pd.Series(np.where(placed, labels[np.maximum(bu.to_numpy(), 0)], None),
                      index=bu.index, dtype=object)
    bld = layers["buildings"].copy()
    sel = bld["id"].isin(set(bgrid.index[placed]))
    bld.loc[sel, "grid_id"] = bgrid.reindex(bld.loc[sel, "id"]).to_numpy()
    gone = set(old.index) - set(new["id"])
    bld.loc[~sel & bld["grid_id"].isin(gone), "grid_id"] = None
    saved = new.reset_index(drop=True)
    units = dataclasses.replace(editor.units, units=editor.units.units.assign(grid_id=labels))
    plan = GridPlan(grids=saved, building_grid=bgrid, units=units, unit_grid=labels,
                    issues=editor.plan.issues, band=editor.band, settings=editor.settings)
    return AppliedEdit(grids=grids, buildings=bld, saved=saved,
                       removed=sorted(gone, key=str), renamed=renamed, plan=plan)


def _text(value: Any) -> str:
    """A text attribute as stored: null as ``""``."""
    return str(value) if isinstance(value, str) or pd.notna(value) else ""
