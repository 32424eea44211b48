"""Atomic units of basic grids: street blocks and, inside big blocks, building cells.

A basic grid (基础网格) is a union of atomic units. The units of a community are

* **street blocks**: the street network polygonised together with the community
  boundary (so a unit never crosses the boundary; "街巷定界"), slivers merged away
  (:mod:`beatgrid.gis.grids.blocks`);
* **building cells**: a block holding more households than
  ``units.split_share_of_band x (max - min)`` is tessellated among its buildings
  (:mod:`beatgrid.gis.grids.cells`), so that a grid border runs along a street where
  block sizes allow and otherwise *between* buildings.

Every building lies wholly in exactly one unit (a building crossing a street line is
carved out whole into the block holding most of it) and every square metre of the
community lies in exactly one unit. All geometry is computed in the metric CRS of
:func:`beatgrid.gis.crs.metric_crs`. :func:`build_units` builds them;
:func:`unit_edges` gives their adjacency.

Examples
--------
>>> from beatgrid.gis import Project
>>> layers = Project.open("sample-geodata/ningbo-jiangbei.gpkg").read(
...     ["communities", "streets", "buildings"])
>>> units = build_units(layers["communities"], layers["streets"], layers["buildings"],
...                     community_ids=["C05"])
>>> int(units.units["households"].sum()), sorted(set(units.units["kind"]))
(2082, ['block', 'cell'])
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from beatgrid.gis.config import section_or_default
from beatgrid.gis.crs import metric_crs
from beatgrid.gis.errors import InputError
from beatgrid.gis.grids.blocks import clean_topology, community_units, explode_units
from beatgrid.gis.grids.geometry import polygonal

UNIT_COLUMNS = ["community_id", "block", "kind", "households", "buildings", "estate_id",
                "area_m2", "perimeter_m", "exterior_m"]


@dataclass
class AtomicUnits:
    """The atomic units of one or more communities, in the metric CRS.

    Attributes
    ----------
    units
        One row per unit, index ``0..n-1``: ``community_id``, ``block`` (global block
        number; cells of one block share it), ``kind`` (``"block"`` or ``"cell"``),
        ``households``, ``buildings`` (count), ``estate_id`` (the estate holding most of
        the unit's households, or None), ``area_m2``, ``perimeter_m``, ``exterior_m``
        (length on the community boundary) and the polygon geometry.
    buildings
        The buildings with ``unit`` (row of ``units``; -1 for a building outside every
        community), ``households``, ``estate_id``, ``community_id`` (spatial) and the
        original ``id``; metric CRS, original index kept.
    edges
        Adjacency: ``i < j``, ``length_m`` (shared border), ``street`` (the border runs
        along a street, i.e. the units are in different blocks) and ``same_estate``.
    crs
        The metric CRS of the geometries.
    storage_crs
        The CRS of the input layers (results are written back in it).
    communities
        The community polygons (metric), indexed by community id.
    """

    units: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    edges: pd.DataFrame
    crs: pyproj.CRS
    storage_crs: pyproj.CRS | None = None
    communities: gpd.GeoSeries | None = None
    notes: list[str] = field(default_factory=list)
    #: Rows of each community, grouped once per ``units`` frame (see :meth:`of_community`).
    _rows: tuple[tuple[int, int], dict[Any, np.ndarray]] | None = field(
        default=None, init=False, repr=False, compare=False)

    def community_ids(self) -> list[Any]:
        """Community ids in input order."""
        return list(pd.unique(self.units["community_id"]))

    def of_community(self, community_id: Any) -> np.ndarray:
        """Row numbers of the units of one community (ascending).

        The rows of every community are grouped on the first call (one pass), not
        found by a scan of all units per call: a city of 4,000 communities asks for
        each of them several times.
        """
        key = (id(self.units), len(self.units))
        if self._rows is None or self._rows[0] != key:
            codes, uniques = pd.factorize(self.units["community_id"].to_numpy())
            order = np.argsort(codes, kind="stable")
            bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
            self._rows = (key, {u: order[bounds[k]:bounds[k + 1]]
                                for k, u in enumerate(uniques)})
        return self._rows[1].get(community_id, np.empty(0, dtype=np.intp))


def split_threshold(settings: Mapping[str, Any] | None = None) -> float:
    """Households above which a block is split into building cells.

    Examples
    --------
    >>> split_threshold()
    100.0
    """
    settings = section_or_default(settings, "grids")
    band = settings["band"]
    return settings["units"]["split_share_of_band"] * (
        band["max_households"] - band["min_households"])




def unit_edges(geoms: np.ndarray, *, community: np.ndarray, block: np.ndarray,
               estate: np.ndarray, min_shared: float, grid_size: float = 0.001) -> pd.DataFrame:
    """Adjacency of units: pairs sharing a border of at least ``min_shared`` metres.

    Borders are matched segment by segment (endpoints rounded to ``grid_size``), so the
    units must share exact edges (see :func:`clean_topology`).

    Returns a frame with ``i < j``, ``length_m``, ``street`` and ``same_estate``.

    Examples
    --------
    >>> geoms = np.array([shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)])
    >>> unit_edges(geoms, community=np.array(["C", "C"]), block=np.array([0, 1]),
    ...            estate=np.array([None, None]), min_shared=0.5).values.tolist()
    [[0, 1, 1.0, True, False]]
    """
    parts, part_owner = shapely.get_parts(geoms, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    owner = part_owner[ring_part]
    xy, ring = shapely.get_coordinates(rings, return_index=True)
    same = ring[:-1] == ring[1:]
    a, b = xy[:-1][same], xy[1:][same]
    unit = owner[ring[:-1][same]]
    ka = np.round(a / grid_size).astype(np.int64)
    kb = np.round(b / grid_size).astype(np.int64)
    swap = (ka[:, 0] > kb[:, 0]) | ((ka[:, 0] == kb[:, 0]) & (ka[:, 1] > kb[:, 1]))
    lo = np.where(swap[:, None], kb, ka)
    hi = np.where(swap[:, None], ka, kb)
    keys = np.column_stack([lo, hi])
    _, inv = np.unique(keys, axis=0, return_inverse=True)
    inv = inv.ravel()
    length = np.hypot(*(b - a).T)
    order = np.lexsort((unit, inv))
    inv_s, unit_s, len_s = inv[order], unit[order], length[order]
    pair = (inv_s[:-1] == inv_s[1:]) & (unit_s[:-1] != unit_s[1:])
    i = np.minimum(unit_s[:-1][pair], unit_s[1:][pair])
    j = np.maximum(unit_s[:-1][pair], unit_s[1:][pair])
    f = pd.DataFrame({"i": i, "j": j, "length_m": len_s[:-1][pair]})
    f = f[community[f["i"].to_numpy()] == community[f["j"].to_numpy()]]
    f = f.groupby(["i", "j"], as_index=False)["length_m"].sum()
    f = f[f["length_m"] >= min_shared]
    i, j = f["i"].to_numpy(np.int64), f["j"].to_numpy(np.int64)
    est_i, est_j = estate[i], estate[j]
    same_est = pd.notna(est_i) & pd.notna(est_j) & (est_i == est_j)
    return pd.DataFrame({"i": i, "j": j, "length_m": f["length_m"].to_numpy(),
                         "street": block[i] != block[j], "same_estate": np.asarray(same_est, bool)})


def _estate_of_buildings(buildings: gpd.GeoDataFrame, estates: gpd.GeoDataFrame | None) -> np.ndarray:
    est = buildings["estate_id"].to_numpy(dtype=object) if "estate_id" in buildings else \
        np.full(len(buildings), None, dtype=object)
    est = np.where(pd.isna(est), np.array(None, dtype=object), est)
    if estates is not None and len(estates):
        missing = np.array([e is None for e in est])
        if missing.any():
            pts = shapely.point_on_surface(buildings.geometry.values[missing])
            tree = shapely.STRtree(estates.geometry.values)
            pi, ei = tree.query(pts, predicate="within")
            fill = np.full(missing.sum(), None, dtype=object)
            fill[pi] = estates["id"].to_numpy(dtype=object)[ei]
            est[missing] = fill
    return est


def build_units(communities: gpd.GeoDataFrame, streets: gpd.GeoDataFrame | None,
                buildings: gpd.GeoDataFrame, *, estates: gpd.GeoDataFrame | None = None,
                settings: Mapping[str, Any] | None = None,
                community_ids: Iterable[Any] | None = None,
                split_households: float | None = None, crs: Any = None) -> AtomicUnits:
    """Build the atomic units (street blocks and building cells) of communities.

    Parameters
    ----------
    communities, streets, buildings
        Project layers (any CRS; computed in the metric CRS). ``buildings`` needs
        ``households``; ``estate_id`` is used when present.
    estates
        Optional estates layer, used for buildings without ``estate_id``.
    settings
        Grid settings (the ``grids`` section; the shipped one when None).
    community_ids
        Only these communities (default all).
    split_households
        Override of the block split threshold (households); 0 splits every block with
        two buildings or more.
    crs
        Metric CRS to compute in (default :func:`beatgrid.gis.crs.metric_crs` of the
        communities).

    Returns
    -------
    AtomicUnits

    Examples
    --------
    >>> from beatgrid.gis import Project
    >>> layers = Project.open("sample-geodata/ningbo-jiangbei.gpkg").read(
    ...     ["communities", "streets", "buildings"])
    >>> units = build_units(layers["communities"], layers["streets"], layers["buildings"],
    ...                     community_ids=["C05", "C09"])
    >>> units.units.groupby("community_id")["households"].sum().to_dict()
    {'C05': 2082, 'C09': 2714}
    """
    settings = section_or_default(settings, "grids")
    if communities is None or len(communities) == 0:
        raise InputError("the communities layer is empty",
                         fix="import community boundaries before planning grids")
    if "households" not in buildings.columns:
        raise InputError("the buildings layer has no 'households' column",
                         fix="import buildings with households (or levels to estimate them)")
    crs = metric_crs(communities, layer="communities") if crs is None else crs
    storage = communities.crs
    comm = communities.to_crs(crs)
    if community_ids is not None:
        wanted = set(map(str, community_ids))
        unknown = wanted - set(comm["id"].astype(str))
        if unknown:
            raise InputError(f"unknown community id(s): {', '.join(sorted(unknown))}",
                             fix="use ids of the communities layer")
        comm = comm[comm["id"].astype(str).isin(wanted)]
    comm = comm[~comm.geometry.is_empty & comm.geometry.notna()]
    grid = settings["units"]["precision_m"]
    cgeoms = polygonal(shapely.make_valid(shapely.set_precision(comm.geometry.values, grid)))
    bld = buildings.to_crs(crs) if len(buildings) else buildings.set_crs(crs, allow_override=True)
    bld = bld[bld.geometry.notna() & ~bld.geometry.is_empty]
    bgeoms = polygonal(shapely.make_valid(bld.geometry.values))
    bhh = pd.to_numeric(bld["households"], errors="coerce").fillna(0).to_numpy(float)
    if (bhh < 0).any():
        raise InputError("buildings have negative households",
                         fix="correct the households column (0 or more)")
    bld_est = _estate_of_buildings(bld, estates.to_crs(crs) if estates is not None
                                   and len(estates) else None)
    # -- buildings to communities (representative point)
    bcomm = np.full(len(bld), -1)
    if len(bld):
        pts = shapely.point_on_surface(bgeoms)
        tree = shapely.STRtree(cgeoms)
        pi, ci = tree.query(pts, predicate="intersects")
        order = np.argsort(pi, kind="stable")
        pi, ci = pi[order], ci[order]
        first = np.unique(pi, return_index=True)[1]
        bcomm[pi[first]] = ci[first]
    if streets is not None and len(streets):
        sgeoms = streets.to_crs(crs).geometry.values
        sgeoms = sgeoms[~shapely.is_empty(sgeoms) & ~pd.isna(sgeoms)]
        stree = shapely.STRtree(sgeoms)
    else:
        sgeoms, stree = np.empty(0, dtype=object), None
    split_at = split_threshold(settings) if split_households is None else float(split_households)
    all_geoms: list[Any] = []
    all_comm: list[Any] = []
    all_block: list[int] = []
    all_kind: list[str] = []
    unit_of = np.full(len(bld), -1)
    block_offset = 0
    cids = comm["id"].to_numpy(dtype=object)
    for c, poly in enumerate(cgeoms):
        near = sgeoms[np.sort(stree.query(poly))] if stree is not None else sgeoms
        members = np.flatnonzero(bcomm == c)
        g, blk, kind, uo = community_units(poly, near, bgeoms[members], bhh[members],
                                            settings, split_at)
        g = clean_topology(g, grid=grid)
        g, blk, kind, uo = explode_units(g, blk, kind, uo, bgeoms[members])
        # a canonical order (west to east, then south to north) makes the units, and so
        # the plans, independent of the order of the input layers
        rp = shapely.get_coordinates(shapely.point_on_surface(g))
        order = np.lexsort((np.round(rp[:, 1], 3), np.round(rp[:, 0], 3)))
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        g, blk, kind = g[order], blk[order], kind[order]
        uo = np.where(uo >= 0, rank[np.maximum(uo, 0)], -1)
        unit_of[members] = np.where(uo >= 0, uo + len(all_geoms), -1)
        all_geoms.extend(g.tolist())
        all_comm.extend([cids[c]] * len(g))
        all_block.extend((blk + block_offset).tolist())
        all_kind.extend(kind.tolist())
        block_offset += int(blk.max()) + 1 if len(blk) else 0
    geoms = np.array(all_geoms, dtype=object)
    geoms = polygonal(shapely.make_valid(geoms))
    n = len(geoms)
    assigned = unit_of >= 0
    hh = np.bincount(unit_of[assigned], weights=bhh[assigned], minlength=n)
    nbld = np.bincount(unit_of[assigned], minlength=n)
    # estate of a unit: the estate with most households (buildings when no households)
    est = np.full(n, None, dtype=object)
    if assigned.any():
        f = pd.DataFrame({"u": unit_of[assigned], "e": bld_est[assigned],
                          "w": bhh[assigned] + 1e-3})
        f = f[f["e"].notna()]
        if len(f):
            top = f.groupby(["u", "e"], sort=False)["w"].sum().reset_index().sort_values(
                ["u", "w"], ascending=[True, False]).drop_duplicates("u")
            est[top["u"].to_numpy()] = top["e"].to_numpy()
    community = np.array(all_comm, dtype=object)
    block = np.array(all_block, dtype=np.int64)
    edges = unit_edges(geoms, community=community, block=block, estate=est,
                       min_shared=0.0, grid_size=grid)
    perim = shapely.length(geoms)
    shared = np.bincount(edges["i"], weights=edges["length_m"], minlength=n) + \
        np.bincount(edges["j"], weights=edges["length_m"], minlength=n)
    edges = edges[edges["length_m"] >= settings["units"]["min_shared_border_m"]].reset_index(
        drop=True)
    units = gpd.GeoDataFrame({
        "community_id": community, "block": block, "kind": np.array(all_kind, dtype=object),
        "households": hh.round().astype(np.int64), "buildings": nbld.astype(np.int64),
        "estate_id": est, "area_m2": shapely.area(geoms), "perimeter_m": perim,
        "exterior_m": np.maximum(perim - shared, 0.0),
    }, geometry=gpd.GeoSeries(geoms, crs=crs), crs=crs)
    out_b = gpd.GeoDataFrame({
        "id": bld["id"].to_numpy(dtype=object) if "id" in bld else np.arange(len(bld)),
        "households": bhh.round().astype(np.int64), "estate_id": bld_est,
        "community_id": np.where(bcomm >= 0, cids[np.maximum(bcomm, 0)] if len(cids) else None, None),
        "unit": unit_of,
    }, geometry=gpd.GeoSeries(bgeoms, crs=crs, index=bld.index), index=bld.index, crs=crs)
    notes = []
    outside = int((bcomm < 0).sum())
    if outside:
        notes.append(f"{outside} building(s) lie outside every selected community and were left out")
    return AtomicUnits(units=units, buildings=out_b, edges=edges, crs=crs, storage_crs=storage,
                       communities=gpd.GeoSeries(cgeoms, index=cids, crs=crs), notes=notes)
