"""Metrics of basic grids and of a plan.

Per grid (:func:`grid_metrics`): households and deviation from the target,
Polsby-Popper (4 pi A / P^2) and convex-hull ratio (A / hull area), share of the border
(inside the community) that runs along a street, estates split. Per plan
(:func:`plan_summary`): households (min, max, mean, share in range, largest deviation
from the target), mean compactness, street-border share, estates split and households
moved against a previous plan (:func:`households_moved`). Grid codes are in
:mod:`beatgrid.gis.grids.codes`.

Examples
--------
>>> from beatgrid.gis import Project
>>> project = Project.open("sample-geodata/ningbo-jiangbei.gpkg")
>>> plan = project.grids.generate(communities=["C05"])
>>> summary = plan_summary(plan.metrics, band=plan.band)
>>> summary["grids"], summary["share_in_range"], summary["band"]
(5, 1.0, '[300, 500] target 400')
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from beatgrid.gis.config import section_or_default
from beatgrid.gis.crs import metric_crs
from beatgrid.gis.grids.band import Band, band_from_settings
# assign_codes and reading_order were defined here before grid codes got their module
from beatgrid.gis.grids.codes import assign_codes, reading_order

__all__ = ["METRIC_COLUMNS", "grid_metrics", "households_moved", "plan_summary",
           "format_summary", "assign_codes", "reading_order"]

METRIC_COLUMNS = ["id", "community_id", "households", "in_range", "deviation", "area_m2",
                  "perimeter_m", "polsby_popper", "convex_hull_ratio", "street_border_share",
                  "estates_split"]


def _street_share(metric_grids: np.ndarray, comm_geoms: list[Any], streets_m: np.ndarray | None,
                  snap: float) -> np.ndarray:
    out = np.full(len(metric_grids), np.nan)
    if streets_m is None or len(streets_m) == 0:
        return out
    stree = shapely.STRtree(streets_m)
    rings: dict[int, Any] = {}  # the buffered boundary of each community, made once
    pad = 2 * snap
    for i, (geom, cgeom) in enumerate(zip(metric_grids, comm_geoms)):
        border = shapely.boundary(geom)
        if cgeom is not None:
            ring = rings.get(id(cgeom))
            if ring is None:
                ring = rings[id(cgeom)] = shapely.buffer(shapely.boundary(cgeom), snap)
            border = shapely.difference(border, ring)
        total = shapely.length(border)
        if total <= snap:
            continue
        near = streets_m[stree.query(shapely.buffer(geom, snap))]
        if len(near) == 0:
            out[i] = 0.0
            continue
        # only the streets' pieces near this grid: a street crossing the city is not
        # buffered whole for every grid it touches (cut 2 snap beyond the grid's box, the
        # buffer within snap of the border is the same)
        x0, y0, x1, y1 = shapely.bounds(geom)
        near = shapely.clip_by_rect(near, x0 - pad, y0 - pad, x1 + pad, y1 + pad)
        near = near[~shapely.is_empty(near)]
        if len(near) == 0:
            out[i] = 0.0
            continue
        on = shapely.length(shapely.intersection(border, shapely.union_all(
            shapely.buffer(near, snap, quad_segs=2))))
        out[i] = min(1.0, on / total)
    return out


def grid_metrics(grids: gpd.GeoDataFrame, *, communities: gpd.GeoDataFrame | None = None,
                 streets: gpd.GeoDataFrame | None = None,
                 buildings: gpd.GeoDataFrame | None = None, band: Band | None = None,
                 settings: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Metrics of every grid.

    Parameters
    ----------
    grids
        The grids layer (``id``, ``community_id``, ``households``, polygon).
    communities
        Needed for the street-border share (borders on the community boundary are not
        counted).
    streets
        Streets layer; without it ``street_border_share`` is NaN.
    buildings
        Buildings with ``grid_id``, ``households`` and ``estate_id``: households are
        recounted from them and estates split are counted.
    band
        A :class:`~beatgrid.gis.grids.band.Band` (default from settings).
    settings
        Grid settings.

    Returns
    -------
    DataFrame
        :data:`METRIC_COLUMNS`, one row per grid.

    Examples
    --------
    >>> import shapely, geopandas as gpd
    >>> g = gpd.GeoDataFrame({"id": ["a"], "community_id": ["C"], "households": [350]},
    ...     geometry=[shapely.box(0, 0, 100, 100)], crs=4550)
    >>> m = grid_metrics(g)
    >>> round(float(m.loc[0, "polsby_popper"]), 3), bool(m.loc[0, "in_range"])
    (0.785, True)
    """
    settings = section_or_default(settings, "grids")
    band = band if band is not None else band_from_settings(settings)
    if len(grids) == 0:
        return pd.DataFrame(columns=METRIC_COLUMNS)
    crs = metric_crs(grids, layer="grids")
    mg = grids.to_crs(crs)
    geoms = mg.geometry.values
    hh = pd.to_numeric(grids["households"], errors="coerce").fillna(0).to_numpy(float)
    est_split = np.zeros(len(grids), dtype=int)
    if buildings is not None and "grid_id" in buildings.columns and len(buildings):
        bh = pd.to_numeric(buildings["households"], errors="coerce").fillna(0)
        counts = bh.groupby(buildings["grid_id"]).sum()
        hh = grids["id"].map(counts).fillna(0).to_numpy(float)
        if "estate_id" in buildings.columns:
            eg = buildings[["estate_id", "grid_id"]].dropna().drop_duplicates()
            n_grids = eg.groupby("estate_id")["grid_id"].nunique()
            split = set(n_grids[n_grids > 1].index)
            per_grid = eg[eg["estate_id"].isin(split)].groupby("grid_id")["estate_id"].nunique()
            est_split = grids["id"].map(per_grid).fillna(0).astype(int).to_numpy()
    area = shapely.area(geoms)
    perim = shapely.length(geoms)
    hull = shapely.area(shapely.convex_hull(geoms))
    comm_geoms = [None] * len(grids)
    if communities is not None and len(communities):
        cm = communities.to_crs(crs).set_index("id").geometry
        comm_geoms = [cm.get(c) for c in grids["community_id"]]
    streets_m = None
    if streets is not None and len(streets):
        streets_m = streets.to_crs(crs).geometry.values
    share = _street_share(geoms, comm_geoms, streets_m, settings["checks"]["street_snap_m"])
    return pd.DataFrame({
        "id": grids["id"].to_numpy(), "community_id": grids["community_id"].to_numpy(),
        "households": hh.round().astype(int), "in_range": band.contains(hh),
        "deviation": hh - band.target, "area_m2": area, "perimeter_m": perim,
        "polsby_popper": np.where(perim > 0, 4 * np.pi * area / np.maximum(perim, 1e-12) ** 2, np.nan),
        "convex_hull_ratio": np.where(hull > 0, area / np.maximum(hull, 1e-12), np.nan),
        "street_border_share": share, "estates_split": est_split,
    })


def households_moved(new: pd.Series, old: pd.Series, households: pd.Series) -> int:
    """Households whose grid changed between two plans, ids aside.

    Only households in a grid in both plans count: a building that had no grid before
    (a community planned for the first time) or has none now is not "moved". New grids
    are matched one to one with old grids (greedy, by shared households); households
    not in their new grid's matched old grid count as moved.

    Examples
    --------
    >>> new = pd.Series(["x", "x", "y"]); old = pd.Series(["a", "b", "b"])
    >>> households_moved(new, old, pd.Series([10, 5, 7]))
    5
    >>> households_moved(pd.Series(["x", "x", "y"]), pd.Series(["a", None, None]),
    ...                  pd.Series([10, 5, 7]))                 # first planned: not moved
    0
    """
    f = pd.DataFrame({"n": new.to_numpy(dtype=object), "o": old.reindex(new.index).to_numpy(dtype=object),
                      "h": pd.to_numeric(households.reindex(new.index), errors="coerce").fillna(0)})
    f = f.dropna(subset=["n", "o"])
    total = f["h"].sum()
    pairs = f.groupby(["n", "o"])["h"].sum().sort_values(ascending=False)
    used_n, used_o, kept = set(), set(), 0.0
    for (a, b), w in pairs.items():
        if a in used_n or b in used_o:
            continue
        used_n.add(a)
        used_o.add(b)
        kept += w
    return int(round(total - kept))


def plan_summary(metrics: pd.DataFrame, *, band: Band,
                 moved: int | None = None) -> dict[str, Any]:
    """One-line figures of a plan from :func:`grid_metrics`.

    Examples
    --------
    >>> m = pd.DataFrame({"households": [300, 450, 520], "in_range": [True, True, False],
    ...     "deviation": [-100, 50, 120], "polsby_popper": [.5, .6, .7],
    ...     "convex_hull_ratio": [.8, .9, 1.], "street_border_share": [1., .5, np.nan],
    ...     "estates_split": [0, 1, 1], "perimeter_m": [1, 1, 1]})
    >>> plan_summary(m, band=Band(300, 500, 400))["share_in_range"]
    0.667
    """
    h = metrics["households"].to_numpy(float)
    out = {
        "grids": int(len(metrics)), "households": int(h.sum()) if len(h) else 0,
        "min": int(h.min()) if len(h) else 0, "max": int(h.max()) if len(h) else 0,
        "mean": round(float(h.mean()), 1) if len(h) else 0.0,
        "share_in_range": round(float(metrics["in_range"].mean()), 3) if len(h) else 1.0,
        "largest_deviation": int(np.abs(metrics["deviation"]).max()) if len(h) else 0,
        "polsby_popper_mean": round(float(metrics["polsby_popper"].mean()), 3) if len(h) else np.nan,
        "convex_hull_ratio_mean": round(float(metrics["convex_hull_ratio"].mean()), 3)
        if len(h) else np.nan,
        "street_border_share": round(float(np.nanmean(metrics["street_border_share"])), 3)
        if metrics["street_border_share"].notna().any() else np.nan,
        "estates_split": int((metrics["estates_split"] > 0).sum()),
        "band": f"[{band.lo}, {band.hi}] target {band.target:g}",
    }
    if moved is not None:
        out["households_moved"] = int(moved)
    return out


def format_summary(summary: Mapping[str, Any]) -> str:
    """The summary as ``key: value`` lines.

    Examples
    --------
    >>> print(format_summary({"grids": 5, "min": 300}))
    grids: 5
    min: 300
    """
    return "\n".join(f"{k}: {v}" for k, v in summary.items())
