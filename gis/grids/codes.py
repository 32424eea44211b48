"""Ids and codes of basic grids, numbered west to east in rows from north to south.

Grid codes are hierarchical, in the style of CJ/T 349-2010 and Beijing DB11/T
2157-2023: district (6 digits), subdistrict (3), community (3) and a 2-digit sequence
numbered west to east in rows from north to south; the format is ``codes.format`` in
the grid settings (``codes.fallback_format`` for a community without a 12-digit code,
``codes.id_format`` for the ids).

Examples
--------
>>> import shapely, geopandas as gpd
>>> grids = gpd.GeoDataFrame({"community_id": ["C05", "C05"]}, geometry=[
...     shapely.box(121.52, 29.90, 121.53, 29.91), shapely.box(121.51, 29.90, 121.52, 29.91)],
...     crs=4490)
>>> assign_codes(grids, pd.DataFrame({"id": ["C05"], "code": ["330205005001"]}))
(['C05-G02', 'C05-G01'], ['33020500500102', '33020500500101'])
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from beatgrid.gis.config import section_or_default
from beatgrid.gis.crs import metric_crs


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


def _code_parts(row: Mapping[str, Any]) -> dict[str, str] | None:
    code = re.sub(r"\D", "", str(row.get("code", "") or ""))
    if len(code) < 12:
        return None
    sub = re.sub(r"\D", "", str(row.get("subdistrict_code", "") or "")) or code[6:9]
    return {"district": code[:6], "subdistrict": sub[-3:].zfill(3), "community": code[9:12],
            "community_code": code}


def assign_codes(grids: gpd.GeoDataFrame, communities: pd.DataFrame | None, *,
                 settings: Mapping[str, Any] | None = None, taken: Iterable[Any] = (),
                 keep_ids: Iterable[Any] | None = None,
                 keep_codes: Iterable[Any] | None = None) -> tuple[list[Any], list[Any]]:
    """Ids and codes of grids, numbered per community west to east, north to south.

    Parameters
    ----------
    grids
        Grids with ``community_id`` and geometry.
    communities
        Communities with ``id``, ``code`` (12-digit administrative code) and optionally
        ``subdistrict_code``; a community without a code uses ``codes.fallback_format``.
    settings
        Grid settings (``codes`` table; the shipped ones when None).
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
    cfg = section_or_default(settings, "grids")["codes"]
    n = len(grids)
    ids: list[Any] = [None] * n
    codes: list[Any] = [None] * n
    if n == 0:
        return ids, codes
    info: dict[Any, dict[str, str] | None] = {}
    if communities is not None and len(communities):
        for _, row in pd.DataFrame(communities).iterrows():
            info[row["id"]] = _code_parts(row)
    metric = grids.to_crs(metric_crs(grids, layer="grids")) if grids.crs is not None and \
        grids.crs.is_geographic else grids
    pts = shapely.get_coordinates(shapely.point_on_surface(metric.geometry.values))
    used = set(taken)
    # dtype=object: with pandas' string/float dtypes, where(..., None) would give NaN back
    kept_ids: list[Any] = [None] * n if keep_ids is None else [
        k if pd.notna(k) else None for k in pd.Series(list(keep_ids), dtype=object)]
    kept_codes: list[Any] = [None] * n if keep_codes is None else [
        k if pd.notna(k) else None for k in pd.Series(list(keep_codes), dtype=object)]
    used |= {k for k in kept_ids if k is not None}
    used_codes = {k for k in kept_codes if k is not None}
    comm = grids["community_id"].to_numpy(dtype=object)
    for cid in pd.unique(comm):
        rows = np.flatnonzero(comm == cid)
        area = shapely.area(metric.geometry.values[rows])
        row_h = cfg["row_height_share"] * float(np.sqrt(np.mean(area))) if len(area) else 1.0
        rank = reading_order(pts[rows], row_height=row_h)
        parts = info.get(cid)
        seq = 0
        for r in rows[np.argsort(rank)]:
            if kept_ids[r] is not None:
                ids[r] = kept_ids[r]
                codes[r] = kept_codes[r] if kept_codes[r] is not None else None
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
