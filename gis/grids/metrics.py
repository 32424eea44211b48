"""Metrics and codes of basic grids.

Per grid: households and deviation from the target, Polsby-Popper (4 pi A / P^2) and
convex-hull ratio (A / hull area), share of the border (inside the community) that runs
along a street, estates split. Per plan: households (min, max, mean, share in range,
largest deviation from the target), mean compactness, street-border share, estates
split and households moved against a previous plan.

Grid codes are hierarchical, in the style of CJ/T 349-2010 and Beijing DB11/T
2157-2023: district (6 digits), subdistrict (3), community (3) and a 2-digit sequence
numbered west to east in rows from north to south; the format is ``codes.format`` in
the grid settings.

Examples
--------
>>> metrics = grid_metrics(grids, communities=communities, streets=streets)  # doctest: +SKIP
>>> plan_summary(metrics, band=Band(300, 500, 400))                          # doctest: +SKIP
"""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from beatgrid.gis.crs import metric_crs
from beatgrid.gis.config import load_settings

METRIC_COLUMNS = ["id", "community_id", "households", "in_range", "deviation", "area_m2",
                  "perimeter_m", "polsby_popper", "convex_hull_ratio", "street_border_share",
                  "estates_split"]


# ------------------------------------------------------------------------------------
# Codes
# ------------------------------------------------------------------------------------

def reading_order(points: np.ndarray, *, row_height: float) -> np.ndarray:
    """Rank of points numbered west to east in rows from north to south.

    Examples
    --------
    >>> reading_order(np.array([[0, 0], [10, 0], [0, 10], [10, 10]]), row_height=5).tolist()
    [2, 3, 0, 1]
    """
    if len(points) == 0:
        return np.empty(0, dtype=int)
    y_top = points[:, 1].max()
    row = np.floor((y_top - points[:, 1]) / max(row_height, 1e-12)).astype(int)
    order = np.lexsort((points[:, 0], row))
    rank = np.empty(len(points), dtype=int)
    rank[order] = np.arange(len(points))
    return rank


def _code_parts(row) -> dict | None:
    code = re.sub(r"\D", "", str(row.get("code", "") or ""))
    if len(code) < 12:
        return None
    sub = re.sub(r"\D", "", str(row.get("subdistrict_code", "") or "")) or code[6:9]
    return {"district": code[:6], "subdistrict": sub[-3:].zfill(3), "community": code[9:12],
            "community_code": code}


def assign_codes(grids: gpd.GeoDataFrame, communities: pd.DataFrame | None, *,
                 settings: dict | None = None, taken=(), keep_ids=None,
                 keep_codes=None) -> tuple[list, list]:
    """Ids and codes of grids, numbered per community west to east, north to south.

    Parameters
    ----------
    grids
        Grids with ``community_id`` and geometry.
    communities
        Communities with ``id``, ``code`` (12-digit administrative code) and optionally
        ``subdistrict_code``; a community without a code uses ``codes.fallback_format``.
    settings
        Grid settings (``codes`` table).
    taken
        Ids already used (locked grids): never given again.
    keep_ids, keep_codes
        Per grid, an id / code to keep (stable mode), or null.

    Returns
    -------
    (ids, codes)

    Examples
    --------
    >>> import shapely, geopandas as gpd
    >>> g = gpd.GeoDataFrame({"community_id": ["C1", "C1"]}, geometry=[
    ...     shapely.box(121.51, 29.8, 121.52, 29.81), shapely.box(121.50, 29.8, 121.51, 29.81)],
    ...     crs=4490)
    >>> c = pd.DataFrame({"id": ["C1"], "code": ["330205001002"]})
    >>> assign_codes(g, c)
    (['C1-G02', 'C1-G01'], ['33020500100202', '33020500100201'])
    """
    cfg = (settings if settings is not None else load_settings("grids"))["codes"]
    n = len(grids)
    ids, codes = [None] * n, [None] * n
    if n == 0:
        return ids, codes
    info = {}
    if communities is not None and len(communities):
        for _, row in pd.DataFrame(communities).iterrows():
            info[row["id"]] = _code_parts(row)
    metric = grids.to_crs(metric_crs(grids, layer="grids")) if grids.crs is not None and \
        grids.crs.is_geographic else grids
    pts = shapely.get_coordinates(shapely.point_on_surface(metric.geometry.values))
    used = set(taken)
    # dtype=object: with pandas' string/float dtypes, where(..., None) would give NaN back
    keep_ids = [None] * n if keep_ids is None else [
        k if pd.notna(k) else None for k in pd.Series(keep_ids, dtype=object)]
    keep_codes = [None] * n if keep_codes is None else [
        k if pd.notna(k) else None for k in pd.Series(keep_codes, dtype=object)]
    used |= {k for k in keep_ids if k is not None}
    used_codes = {k for k in keep_codes if k is not None}
    comm = grids["community_id"].to_numpy(dtype=object)
    for cid in pd.unique(comm):
        rows = np.flatnonzero(comm == cid)
        area = shapely.area(metric.geometry.values[rows])
        row_h = cfg["row_height_share"] * float(np.sqrt(np.mean(area))) if len(area) else 1.0
        rank = reading_order(pts[rows], row_height=row_h)
        parts = info.get(cid)
        seq = 0
        for r in rows[np.argsort(rank)]:
            if keep_ids[r] is not None:
                ids[r] = keep_ids[r]
                codes[r] = keep_codes[r] if keep_codes[r] is not None else None
                continue
            while True:
                seq += 1
                fields = {"community_id": cid, "seq": seq, "district": "", "subdistrict": "",
                          "community": "", "community_code": ""}
                if parts:
                    fields.update(parts)
                gid = cfg["id_format"].format(**fields)
                code = (cfg["format"] if parts else cfg["fallback_format"]).format(**fields)
                if gid not in used and code not in used_codes:
                    break
            ids[r], codes[r] = gid, code
            used.add(gid)
            used_codes.add(code)
        for r in rows:
            if codes[r] is None:
                codes[r] = ""
    return ids, codes


# ------------------------------------------------------------------------------------
# Metrics
# ------------------------------------------------------------------------------------

def _street_share(metric_grids, comm_geoms, streets_m, snap) -> np.ndarray:
    out = np.full(len(metric_grids), np.nan)
    if streets_m is None or len(streets_m) == 0:
        return out
    stree = shapely.STRtree(streets_m)
    for i, (geom, cgeom) in enumerate(zip(metric_grids, comm_geoms)):
        border = shapely.boundary(geom)
        if cgeom is not None:
            border = shapely.difference(border, shapely.buffer(shapely.boundary(cgeom), snap))
        total = shapely.length(border)
        if total <= snap:
            continue
        near = streets_m[stree.query(shapely.buffer(geom, snap))]
        if len(near) == 0:
            out[i] = 0.0
            continue
        on = shapely.length(shapely.intersection(border, shapely.union_all(
            shapely.buffer(near, snap, quad_segs=2))))
        out[i] = min(1.0, on / total)
    return out


def grid_metrics(grids: gpd.GeoDataFrame, *, communities: gpd.GeoDataFrame | None = None,
                 streets: gpd.GeoDataFrame | None = None,
                 buildings: gpd.GeoDataFrame | None = None, band=None,
                 settings: dict | None = None) -> pd.DataFrame:
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
        A :class:`~beatgrid.gis.grids.partition.Band` (default from settings).
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
    from beatgrid.gis.grids.partition import band_from_settings

    settings = settings if settings is not None else load_settings("grids")
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

    New grids are matched one to one with old grids (greedy, by shared households);
    households not in their new grid's matched old grid count as moved.

    Examples
    --------
    >>> new = pd.Series(["x", "x", "y"]); old = pd.Series(["a", "b", "b"])
    >>> households_moved(new, old, pd.Series([10, 5, 7]))
    5
    """
    f = pd.DataFrame({"n": new.to_numpy(dtype=object), "o": old.reindex(new.index).to_numpy(dtype=object),
                      "h": pd.to_numeric(households.reindex(new.index), errors="coerce").fillna(0)})
    total = f["h"].sum()
    f = f.dropna(subset=["n", "o"])
    pairs = f.groupby(["n", "o"])["h"].sum().sort_values(ascending=False)
    used_n, used_o, kept = set(), set(), 0.0
    for (a, b), w in pairs.items():
        if a in used_n or b in used_o:
            continue
        used_n.add(a)
        used_o.add(b)
        kept += w
    return int(round(total - kept))


def plan_summary(metrics: pd.DataFrame, *, band, moved: int | None = None) -> dict:
    """One-line figures of a plan from :func:`grid_metrics`.

    Examples
    --------
    >>> from beatgrid.gis.grids.partition import Band
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


def format_summary(summary: dict) -> str:
    """The summary as ``key: value`` lines."""
    return "\n".join(f"{k}: {v}" for k, v in summary.items())
