"""A plan of basic grids (:class:`GridPlan`), the reasons a grid may be out of range, and
how a new plan keeps the grids of a previous one.

When no valid plan exists the community still gets the closest plan, and every grid out
of range carries a named reason (:data:`REASONS`):

``below_min``
    the community (or the part left free by locked grids) has fewer than ``min``
    households: one grid;
``no_grid_count_fits``
    no whole number of grids fits the total (501-599 households with 300-500): the
    count with the smallest deviation, balanced;
``indivisible_unit_over_max``
    one unit (a single building, or a block of one building) holds more than ``max``:
    it forms its own grid;
``infeasible``
    a count fits but no contiguous plan in the band exists, proven on the building
    cells: a unit no grid can hold (below ``min`` alone, above ``max`` with any
    neighbour), or the exact model (HiGHS) proven infeasible: the closest plan found;
``search_limit``
    a count fits, nothing proves a plan impossible, but the search (and the exact model,
    for small communities) found none within its limits (``generator.search_seconds``,
    ``exact.time_limit_s``): the closest plan found;
``community_in_pieces``
    the community (or its free part) is in several pieces that cannot each form a
    grid: a grid spans pieces.

``no_valid_partition_found`` (plans of older versions) meant either of the two above.

Examples
--------
>>> sorted(REASONS)[:2]
['below_min', 'community_in_pieces']
>>> match_previous(np.array([0, 0, 1]), np.array(["a", "b", "b"], dtype=object),
...                np.array([10.0, 5.0, 7.0]), 2)
['a', 'b']
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from beatgrid.gis.grids.band import Band
from beatgrid.gis.grids.units import AtomicUnits

BELOW_MIN = "below_min"
NO_GRID_COUNT_FITS = "no_grid_count_fits"
INDIVISIBLE_UNIT_OVER_MAX = "indivisible_unit_over_max"
INFEASIBLE = "infeasible"
SEARCH_LIMIT = "search_limit"
COMMUNITY_IN_PIECES = "community_in_pieces"
#: The reason of older plans for what is now ``infeasible`` or ``search_limit``.
NO_VALID_PARTITION_FOUND = "no_valid_partition_found"

#: Infeasibility reasons: code -> (meaning, what the planner can do).
REASONS: dict[str, tuple[str, str]] = {
    BELOW_MIN: ("fewer households than the minimum of one grid",
                "merge the community's grid with a neighbour's by hand or lower band.min_households"),
    NO_GRID_COUNT_FITS: ("no whole number of grids puts every grid in the band",
                         "accept the closest plan or widen the band in the grids settings"),
    INDIVISIBLE_UNIT_OVER_MAX: ("a single building or block holds more than the maximum",
                                "split the building's households by entrance, or accept the grid"),
    INFEASIBLE: ("a grid count fits but no contiguous plan in the band exists (proven)",
                 "split a building's households by entrance, add lanes to the streets layer, "
                 "or widen the band in the grids settings"),
    SEARCH_LIMIT: ("a grid count fits but no plan in the band was found within the search "
                   "limits (none is proven impossible)",
                   "raise generator.search_seconds and exact.time_limit_s in the grids "
                   "settings, or edit the closest plan by hand"),
    NO_VALID_PARTITION_FOUND: ("(older plans) no contiguous plan in the band was found",
                               "generate the community again for a proof or a plan"),
    COMMUNITY_IN_PIECES: ("the community is in several pieces; a grid spans pieces",
                          "check the community boundary for slivers and exclaves"),
}


@dataclass
class GridPlan:
    """A plan of basic grids.

    Attributes
    ----------
    grids
        The grids layer (storage CRS): ``id``, ``code``, ``community_id``,
        ``households``, ``locked``, ``reason`` (empty when the grid is fine) and the
        polygon.
    building_grid
        Grid id of every input building (index of the input buildings; None for a
        building outside every community).
    units
        The atomic units used, with ``unit_grid`` (grid id per unit).
    unit_grid
        Grid id per unit (object array).
    issues
        One row per infeasibility: ``community_id``, ``reason``, ``households``,
        ``grid_ids``, ``detail``.
    band
        The household band planned for.
    settings
        The grid settings planned with.
    """

    grids: gpd.GeoDataFrame
    building_grid: pd.Series
    units: AtomicUnits
    unit_grid: np.ndarray
    issues: pd.DataFrame
    band: Band
    settings: Mapping[str, Any] = field(default_factory=dict)


def community_rng(seed: int, community_id: Any) -> np.random.Generator:
    """The random generator of one community: the plan of a community depends on the
    seed and its id only (not on the other communities planned, nor their order).

    Examples
    --------
    >>> int(community_rng(0, "C01").integers(100)) == int(community_rng(0, "C01").integers(100))
    True
    """
    return np.random.default_rng([int(seed), zlib.crc32(str(community_id).encode())])


def previous_unit_grid(units: AtomicUnits, buildings: gpd.GeoDataFrame,
                       grids: gpd.GeoDataFrame | None) -> np.ndarray:
    """Grid id of the previous plan for every unit.

    A unit takes the grid holding most of its households (``buildings.grid_id``);
    units without households take the grid covering most of their area.

    Examples
    --------
    >>> from beatgrid.gis import Project
    >>> from beatgrid.gis.grids.units import build_units
    >>> layers = Project.open("sample-geodata/ningbo-jiangbei.gpkg").read(
    ...     ["communities", "streets", "buildings"])
    >>> units = build_units(layers["communities"], layers["streets"], layers["buildings"],
    ...                     community_ids=["C05"])
    >>> set(previous_unit_grid(units, layers["buildings"], None))   # nothing planned yet
    {None}
    """
    n = len(units.units)
    out = np.full(n, None, dtype=object)
    b = units.buildings
    if "grid_id" in buildings.columns:
        gid = buildings["grid_id"].reindex(b.index)
        f = pd.DataFrame({"u": b["unit"].to_numpy(), "g": gid.to_numpy(dtype=object),
                          "w": b["households"].to_numpy(float) + 1e-3})
        f = f[(f["u"] >= 0) & f["g"].notna()]
        if len(f):
            top = f.groupby(["u", "g"])["w"].sum().reset_index().sort_values(
                ["u", "w"], ascending=[True, False]).drop_duplicates("u")
            out[top["u"].to_numpy()] = top["g"].to_numpy()
    if grids is not None and len(grids):
        missing = np.flatnonzero(pd.isna(out))
        if len(missing):
            gg = grids.to_crs(units.crs)
            geoms = units.units.geometry.values[missing]
            tree = shapely.STRtree(gg.geometry.values)
            ui, gi = tree.query(geoms, predicate="intersects")
            area = shapely.area(shapely.intersection(geoms[ui], gg.geometry.values[gi]))
            f = pd.DataFrame({"u": ui, "g": gi, "a": area}).sort_values(
                ["u", "a"], ascending=[True, False]).drop_duplicates("u")
            f = f[f["a"] > 0.5 * shapely.area(geoms[f["u"].to_numpy()])]
            out[missing[f["u"].to_numpy()]] = gg["id"].to_numpy(dtype=object)[f["g"].to_numpy()]
    return out


def match_previous(labels: np.ndarray, previous: np.ndarray, households: np.ndarray,
                   k: int) -> list[Any]:
    """Previous grid id kept by each of ``k`` new grids (greedy by shared households).

    Parameters
    ----------
    labels
        New grid number (``0..k-1``; -1 for none) per unit.
    previous
        Previous grid id per unit (None for none).
    households
        Households per unit.
    k
        Number of new grids.

    Returns
    -------
    list
        Per new grid, the previous grid id it keeps, or None.

    Examples
    --------
    >>> match_previous(np.array([0, 1, 1]), np.array(["a", "a", None], dtype=object),
    ...                np.array([1.0, 5.0, 5.0]), 2)
    [None, 'a']
    """
    prev_c, hh = previous, households
    f = pd.DataFrame({"l": labels, "p": prev_c, "w": hh + 1e-3})
    f = f[(f["l"] >= 0) & f["p"].notna()]
    out = [None] * k
    if not len(f):
        return out
    pairs = f.groupby(["l", "p"])["w"].sum().sort_values(ascending=False)
    used_l, used_p = set(), set()
    for (lab, p), _ in pairs.items():
        if lab in used_l or p in used_p:
            continue
        out[lab] = p
        used_l.add(lab)
        used_p.add(p)
    return out
