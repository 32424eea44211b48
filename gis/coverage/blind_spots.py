"""Blind spots: the open space of the estates (or other zones) that no camera sees.

Per zone, its buildings and the seen pieces it touches are unioned (one vectorised
``union_all`` per size class of zones) and taken from the zone (one vectorised
``difference``), in threads. Pieces smaller than ``[coverage] min_blind_area_m2`` are
dropped; each blind spot carries the households of the buildings within
``household_radius_m`` of it.

Examples
--------
>>> import geopandas as gpd, shapely
>>> from beatgrid.gis.coverage.blind_spots import blind_spots
>>> v = gpd.GeoDataFrame({"camera_id": ["a"], "level": ["all"]},
...                      geometry=[shapely.box(0, 0, 10, 10)], crs=4547)
>>> e = {"estate": gpd.GeoDataFrame({"id": ["E1"]}, geometry=[shapely.box(0, 0, 30, 10)],
...                                 crs=4547)}
>>> b = gpd.GeoDataFrame({"households": [12]}, geometry=[shapely.box(20, 0, 30, 10)],
...                      crs=4547)
>>> blind_spots(v, zones=e, buildings=b)[["zone_id", "area_m2", "households_around"]].values.tolist()
[['E1', 100.0, 12]]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from beatgrid.gis.coverage.fov import coverage_settings
from beatgrid.gis.coverage.inputs import MetricLayers
from beatgrid.gis.coverage.seen import SeenIndex, run_chunked, union_groups
from beatgrid.gis.coverage.zones import geometry_array, zone_ids
from beatgrid.gis.crs import metric_crs

__all__ = ["blind_spots", "empty_blind_spots"]


def blind_spots(views: gpd.GeoDataFrame | None, *, zones: Mapping[str, pd.DataFrame],
                buildings: gpd.GeoDataFrame | None, settings: Mapping[str, Any] | None = None,
                seen: SeenIndex | None = None, inputs: MetricLayers | None = None
                ) -> gpd.GeoDataFrame:
    """Polygons of open space that no camera sees, inside the given zones.

    Parameters
    ----------
    views
        Camera views (ignored when ``seen`` is given).
    zones
        Zone type -> frame with ``id`` (default use: ``{"estate": estates}``).
    buildings
        Building footprints with ``households`` (subtracted; and counted around).
    settings
        The coverage section (``min_blind_area_m2``, ``household_radius_m``; default:
        the shipped one).
    seen
        A prepared :class:`~beatgrid.gis.coverage.seen.SeenIndex`.
    inputs
        The layers already in the metric CRS of ``seen`` (then ``buildings`` is taken
        from it).

    Returns
    -------
    GeoDataFrame
        ``id`` (``BS0001``...), ``zone_type``, ``zone_id``, ``area_m2``,
        ``households_around`` and the polygon, largest first, in the zones' CRS.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> v = gpd.GeoDataFrame({"camera_id": ["a"], "level": ["all"]},
    ...                      geometry=[shapely.box(0, 0, 10, 10)], crs=4547)
    >>> e = {"estate": gpd.GeoDataFrame({"id": ["E1"]}, geometry=[shapely.box(0, 0, 30, 10)],
    ...                                 crs=4547)}
    >>> b = gpd.GeoDataFrame({"households": [12]}, geometry=[shapely.box(20, 0, 30, 10)],
    ...                      crs=4547)
    >>> bs = blind_spots(v, zones=e, buildings=b)
    >>> bs[["zone_id", "area_m2", "households_around"]].values.tolist()
    [['E1', 100.0, 12]]
    """
    cfg = coverage_settings(settings)
    cov = cfg["coverage"]
    if not zones:
        return empty_blind_spots(None)
    first = next(iter(zones.values()))
    out_crs = first.crs
    crs = seen.crs if seen is not None and seen.crs is not None else metric_crs(
        first, layer="zones")
    if seen is None:
        seen = SeenIndex(views, crs=crs, multi=False)
    if inputs is None or inputs.crs != crs:
        inputs = MetricLayers(crs, buildings=buildings)
    return _blind_spots(zones, seen=seen, inputs=inputs, cov=cov)


def _blind_spots(zones: Mapping[str, pd.DataFrame], *, seen: SeenIndex, inputs: MetricLayers,
                 cov: Mapping[str, Any]) -> gpd.GeoDataFrame:
    """:func:`blind_spots` on prepared inputs.

    Per zone, the buildings and the seen pieces it touches are unioned (one vectorised
    ``union_all`` per size class of zones, :func:`union_groups`) and taken from the zone
    (one vectorised ``difference``), in threads.
    """
    crs = inputs.crs
    out_crs = next(iter(zones.values())).crs
    bgeo = inputs.bgeo
    hh = inputs.bcolumn("households")
    btree = inputs.btree
    pieces, ptree = seen.pieces["all"], seen.trees["all"]
    empty = np.zeros(0, dtype=np.int64)
    rows_geom: list[np.ndarray] = []
    rows_type: list[np.ndarray] = []
    rows_id: list[np.ndarray] = []
    for ztype, zdf in zones.items():
        zm = inputs.zones(ztype, zdf)
        ids = zone_ids(zm)
        zg = geometry_array(zm)
        bz, bb = btree.query(zg, predicate="intersects") if len(bgeo) else (empty, empty)
        pz, pp = ptree.query(zg, predicate="intersects") if len(pieces) else (empty, empty)
        # per zone: its buildings, then its pieces (in query order)
        cut = union_groups(np.concatenate([bgeo[bb], pieces[pp]]), np.concatenate([bz, pz]),
                            len(zg))
        has = ~shapely.is_missing(cut)
        rest = zg.copy()
        if has.any():
            z, c = zg[has], cut[has]
            rest[has] = run_chunked(lambda s, e: shapely.difference(z[s:e], c[s:e]), len(z),
                                 min_chunk=200)
        parts, owner = shapely.get_parts(rest, return_index=True)
        poly = shapely.get_type_id(parts) == 3
        rows_geom.append(parts[poly])
        rows_type.append(np.full(int(poly.sum()), ztype, dtype=object))
        rows_id.append(ids[owner[poly]])
    geoms = np.concatenate(rows_geom) if rows_geom else np.zeros(0, dtype=object)
    area = shapely.area(geoms) if len(geoms) else np.zeros(0)
    keep = area >= float(cov["min_blind_area_m2"])
    ztypes = np.concatenate(rows_type) if rows_type else np.zeros(0, dtype=object)
    zids = np.concatenate(rows_id).astype(object) if rows_id else np.zeros(0, dtype=object)
    geoms, area, ztypes, zids = geoms[keep], area[keep], ztypes[keep], zids[keep]
    around: np.ndarray = np.zeros(len(geoms))
    if len(geoms) and len(bgeo):
        gi, bi = btree.query(geoms, predicate="dwithin", distance=float(cov["household_radius_m"]))
        around = np.bincount(gi, weights=hh[bi], minlength=len(geoms))
    order = np.argsort(-area, kind="stable")
    out = gpd.GeoDataFrame({
        "id": [f"BS{i + 1:04d}" for i in range(len(geoms))],
        "zone_type": ztypes[order], "zone_id": zids[order], "area_m2": area[order],
        "households_around": around[order].round().astype(np.int64),
    }, geometry=gpd.GeoSeries(geoms[order], crs=crs), crs=crs)
    return out.to_crs(out_crs) if out_crs is not None else out


def empty_blind_spots(crs: Any) -> gpd.GeoDataFrame:
    """The blind-spot frame with no row (its columns typed as in :func:`blind_spots`).

    Examples
    --------
    >>> list(empty_blind_spots(4490).columns)
    ['id', 'zone_type', 'zone_id', 'area_m2', 'households_around', 'geometry']
    """
    return gpd.GeoDataFrame({"id": pd.Series([], dtype=object),
                             "zone_type": pd.Series([], dtype=object),
                             "zone_id": pd.Series([], dtype=object),
                             "area_m2": pd.Series([], dtype=float),
                             "households_around": pd.Series([], dtype=np.int64)},
                            geometry=gpd.GeoSeries([], crs=crs), crs=crs)
