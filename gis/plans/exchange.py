"""Comparing two plans, and plans as assignment CSVs (building id -> grid).

An assignment CSV has two columns, ``building_id`` and ``grid_id`` (one row per
building of the community; the names of redistricting tools' "block assignment" files).
Reading one, each unit takes the grid holding most of its households, and units
without households the grid of most of their neighbours.

``project.plans.compare``, ``export_csv`` and ``import_csv`` call these functions.

Examples
--------
>>> from beatgrid.gis import Project
>>> project = Project.sample()
>>> plan = project.plans.create("C05", source="generate")
>>> text = project.plans.export_csv(plan.id)
>>> text.splitlines()[0]
'building_id,grid_id'
>>> copy = project.plans.import_csv("C05", text, name="copy")
>>> project.plans.compare(plan.id, copy.id).households_moved
0
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any
import geopandas as gpd
import numpy as np
import pandas as pd

from beatgrid.gis.errors import InputError
from beatgrid.gis.grids.editing import PlanEditor
from beatgrid.gis.grids.units import AtomicUnits
from beatgrid.gis.plans.replay import PlanState, fill_empty_units, labels_from_buildings
from beatgrid.gis.plans.view import PlanView

__all__ = ["PlanComparison", "assignment_state", "compare_plans", "export_assignment",
           "read_assignment"]

#: Most rows of an assignment CSV read.
MAX_ROWS = 1_000_000


@dataclass
class PlanComparison:
    """What differs between two plans of one community.

    Attributes
    ----------
    grids
        Per grid of either plan: ``grid_id``, ``households_a``, ``households_b``,
        ``units_a``, ``units_b``, ``changed``.
    units
        The units whose grid differs (storage CRS): ``unit``, ``grid_a``, ``grid_b``,
        ``households``, ``buildings``, polygon.
    households_moved, buildings_moved
        Households and buildings of units assigned in both plans whose grid differs.
    """

    grids: pd.DataFrame
    units: gpd.GeoDataFrame
    households_moved: int
    buildings_moved: int


def compare_plans(a: PlanView, b: PlanView, ea: PlanEditor, eb: PlanEditor, *, crs: Any
                  ) -> PlanComparison:
    """Grids changed and households and buildings moved from plan ``a`` to plan ``b``
    (their views and editors, on the same units); the units in ``crs``."""
    la, lb = ea.label, eb.label
    u = ea.units.units
    both = np.array([x is not None and y is not None for x, y in zip(la, lb)], dtype=bool)
    differ = np.array([x != y for x, y in zip(la, lb)], dtype=bool)
    moved = both & differ
    hh = u["households"].to_numpy(int)
    nb = u["buildings"].to_numpy(int)
    ids = sorted(set(a.totals["grid_id"]) | set(b.totals["grid_id"]), key=str)
    ta, tb = a.totals.set_index("grid_id"), b.totals.set_index("grid_id")
    ma = {g: set(ea.members.get(g, set())) for g in ids}
    mb = {g: set(eb.members.get(g, set())) for g in ids}
    grids = pd.DataFrame({
        "grid_id": ids,
        "households_a": [int(ta["households"].get(g, 0)) for g in ids],
        "households_b": [int(tb["households"].get(g, 0)) for g in ids],
        "units_a": [len(ma[g]) for g in ids], "units_b": [len(mb[g]) for g in ids],
        "changed": [ma[g] != mb[g] for g in ids]})
    rows = np.flatnonzero(differ)
    units = gpd.GeoDataFrame({"unit": rows, "grid_a": la[rows], "grid_b": lb[rows],
                              "households": hh[rows], "buildings": nb[rows]},
                             geometry=u.geometry.values[rows], crs=u.crs)
    return PlanComparison(grids=grids, units=units.to_crs(crs),
                          households_moved=int(hh[moved].sum()),
                          buildings_moved=int(nb[moved].sum()))


def export_assignment(editor: PlanEditor) -> str:
    """A plan's editor as an assignment CSV: ``building_id,grid_id`` per building."""
    bgrid = editor.building_grid()
    frame = pd.DataFrame({"building_id": bgrid.index.astype(str),
                          "grid_id": bgrid.to_numpy(dtype=object)})
    frame = frame.sort_values("building_id", kind="stable")
    return frame.to_csv(index=False, lineterminator="\n")


def read_assignment(text: str) -> dict[str, str]:
    """``building_id -> grid_id`` from an assignment CSV.

    Examples
    --------
    >>> read_assignment("building_id,grid_id\\nB1,G1\\nB2,\\n")
    {'B1': 'G1'}
    >>> read_assignment("id,grid\\nB1,G1\\n")
    Traceback (most recent call last):
    ...
    beatgrid.gis.errors.InputError: the assignment CSV has columns id, grid, not building_id and grid_id Fix: give a CSV with a header building_id,grid_id (one row per building)
    """
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False,
                            nrows=MAX_ROWS + 1)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeError) as e:
        raise InputError(f"the assignment CSV cannot be read: {e}",
                         fix="give a CSV with a header building_id,grid_id") from None
    if list(frame.columns[:2]) != ["building_id", "grid_id"]:
        raise InputError(f"the assignment CSV has columns {', '.join(map(str, frame.columns))}, "
                         "not building_id and grid_id",
                         fix="give a CSV with a header building_id,grid_id (one row per "
                             "building)")
    if len(frame) > MAX_ROWS:
        raise InputError(f"the assignment CSV has more than {MAX_ROWS:,} rows",
                         fix="give the buildings of one community")
    frame = frame[frame["grid_id"].str.strip() != ""]
    dup = frame["building_id"][frame["building_id"].duplicated()]
    if len(dup):
        raise InputError(f"building {dup.iloc[0]!r} appears twice in the assignment CSV",
                         fix="give each building once")
    return dict(zip(frame["building_id"].str.strip(), frame["grid_id"].str.strip()))


def assignment_state(units: AtomicUnits, text: str, *, community_id: str
                     ) -> tuple[PlanState, int]:
    """The plan state of an assignment CSV on a community's units, and its rows.

    Raises
    ------
    InputError
        Unreadable CSV, or buildings that are not in the community (the first named).
    """
    assignment = read_assignment(text)
    b = units.buildings
    known = set(b["id"].astype(str))
    unknown = [k for k in assignment if k not in known]
    if unknown:
        raise InputError(f"{len(unknown)} building(s) of the CSV are not in community "
                         f"{community_id}, e.g. {', '.join(unknown[:3])}",
                         fix="give the buildings of this community (ids of the buildings "
                             "layer)")
    labels = fill_empty_units(labels_from_buildings(
        b["unit"].to_numpy(), b["households"].to_numpy(float), b["id"].astype(str).tolist(),
        assignment, n_units=len(units.units)), units)
    grids = {g: str(community_id) for g in sorted(set(assignment.values()))}
    return PlanState(labels=labels, grids=grids), len(assignment)
