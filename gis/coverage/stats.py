"""Coverage figures per zone: open space seen per quality level, walls, cameras, households.

For every zone of the zone layers (estates, grids, beats, stations, communities), from
the :class:`~beatgrid.gis.coverage.seen.SeenIndex` of the camera views
(:func:`coverage_stats`):

* ``open_area_m2``: the zone minus building footprints;
* ``seen_share_<level>``: share of the open space seen at that quality level or better
  (``all``: seen at all); ``multi_seen_share``: seen by two or more cameras;
* ``perimeter_seen_share``: share of the building walls of the zone seen from outside
  (walls sampled every ``perimeter_step_m``); ``entrances_seen_share`` when entrance
  points are given;
* ``cameras_inside`` / ``cameras_boundary`` (outside, within ``boundary_road_m`` of the
  zone: the cameras on its boundary roads), ``households`` and
  ``cameras_per_1000_households`` (inside cameras).

Every zone layer is measured in one vectorised pass (no loop per zone); a layer drawn as
another one (beats = communities) is measured once, and a layer whose zones are tiled by
a finer layer (stations made of communities) adds up the finer figures instead of
intersecting again. Buildings lie inside or outside a zone by their point on surface
unless they are near its boundary; only the walls of buildings next to the seen area
are sampled. The results are those of the direct computation (per zone and per piece)
up to floating-point rounding.

Examples
--------
>>> import geopandas as gpd, shapely
>>> from beatgrid.gis.coverage.stats import coverage_stats
>>> crs = 4547
>>> views = gpd.GeoDataFrame({"camera_id": ["c1"], "level": ["all"]},
...                          geometry=[shapely.box(0, 0, 10, 10)], crs=crs)
>>> zone = gpd.GeoDataFrame({"id": ["E1"]}, geometry=[shapely.box(0, 0, 20, 10)], crs=crs)
>>> empty = gpd.GeoDataFrame({"households": []}, geometry=[], crs=crs)
>>> s = coverage_stats(views, zones={"estate": zone}, buildings=empty)
>>> float(s["seen_share_all"].iloc[0])
0.5
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from beatgrid.gis.coverage.fov import coverage_settings
from beatgrid.gis.coverage.inputs import MetricLayers
from beatgrid.gis.coverage.seen import (EDGE_M, SeenIndex, intersection_area, ring_segments,
                                        tiling_cover)
from beatgrid.gis.coverage.zones import (first_of_pairs, first_zone, geometry_array,
                                         point_pairs, zone_ids)
from beatgrid.gis.crs import metric_crs
from beatgrid.gis.errors import InputError

__all__ = ["coverage_stats", "wall_samples"]


def wall_samples(buildings_geoms: Any, step: float, offset: float
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points ``offset`` m outside every building wall, every ``step`` m.

    Returns the coordinates ``(n, 2)``, the wall length each point stands for and the
    building index of each point.

    Examples
    --------
    >>> import shapely
    >>> xy, length, owner = wall_samples([shapely.box(0, 0, 4, 2)], 2.0, 0.1)
    >>> len(xy), float(length.sum()), xy[0].round(2).tolist()
    (6, 12.0, [4.1, 1.0])
    """
    g = np.asarray(buildings_geoms, dtype=object)
    if len(g) == 0:
        return np.zeros((0, 2)), np.zeros(0), np.zeros(0, dtype=np.int64)
    g = shapely.orient_polygons(g)         # exteriors counter-clockwise, holes clockwise
    parts, part_b = shapely.get_parts(g, return_index=True)
    rings, ring_p = shapely.get_rings(parts, return_index=True)
    xy, ring_i = shapely.get_coordinates(rings, return_index=True)
    same = ring_i[1:] == ring_i[:-1]
    a, b = xy[:-1][same], xy[1:][same]
    owner = part_b[ring_p[ring_i[:-1][same]]]
    d = b - a
    length = np.hypot(d[:, 0], d[:, 1])
    ok = length > 0
    a, d, length, owner = a[ok], d[ok], length[ok], owner[ok]
    k = np.maximum(np.round(length / step).astype(np.int64), 1)
    e = np.repeat(np.arange(len(a)), k)
    loc = np.arange(len(e)) - np.repeat(np.cumsum(k) - k, k)
    frac = (loc + 0.5) / np.repeat(k, k)
    normal = np.column_stack([d[:, 1], -d[:, 0]]) / length[:, None]  # right = outside
    p = a[e] + d[e] * frac[:, None] + normal[e] * offset
    return p, (length / k)[e], owner[e]


def _layer_key(zg: np.ndarray) -> bytes:
    """A key equal for two zone layers with the same polygons in the same order."""
    wkb = shapely.to_wkb(zg) if len(zg) else []
    return b"|".join(w if w is not None else b"-" for w in wkb) + b"#%d" % len(zg)


def _measure_layers(layers: Sequence[np.ndarray], seen: SeenIndex, inputs: MetricLayers
                    ) -> dict[bytes, dict[str, Any]]:
    """Measures of each distinct zone layer (polygon arrays), keyed by :func:`_layer_key`.

    Each layer is measured in one vectorised pass (:func:`_zone_measures`), finest
    first; a layer drawn as another one (beats = communities, 一区一警) is measured once,
    and a layer whose zones are each tiled by zones of a finer layer (stations made of
    communities) adds up the finer measures instead of intersecting again.
    """
    done: dict[bytes, dict[str, Any]] = {}
    tilings: list[tuple[np.ndarray, dict[str, Any]]] = []
    for zg in sorted(layers, key=len, reverse=True):
        key = _layer_key(zg)
        if key in done:
            continue
        measured = None
        for finer_zg, finer in tilings:
            measured = _nested_measures(zg, finer_zg, finer, inputs)
            if measured is not None:
                break
        if measured is None:
            measured = _zone_measures(zg, seen, inputs)
        done[key] = measured
        if measured["tiles"]:
            tilings.append((zg, measured))
    return done


def _nested_measures(zg: np.ndarray, finer_zg: np.ndarray, finer: dict[str, Any],
                     inputs: MetricLayers) -> dict[str, Any] | None:
    """Measures of ``zg`` summed from a finer tiling layer, or None when it does not nest.

    Each zone must be covered by the finer zones whose points on surface it holds, their
    areas adding up to its own (relative 1e-9): then the building area and the areas
    seen are their sums.
    """
    n = len(zg)
    if n == 0 or len(finer_zg) == 0 or (shapely.is_missing(zg) | shapely.is_empty(zg)).any():
        return None
    cp, pz = point_pairs(shapely.point_on_surface(finer_zg), zg)
    if len(np.unique(cp)) != len(cp):
        return None
    if not shapely.covered_by(finer_zg[cp], zg[pz]).all():
        return None
    area = shapely.area(zg)
    if not np.allclose(np.bincount(pz, weights=finer["area"][cp], minlength=n), area,
                       rtol=1e-9, atol=1e-6):
        return None
    out = {"area": area, "tiles": False}
    for name, values in finer.items():
        if name not in ("area", "tiles", "zb"):
            out[name] = np.bincount(pz, weights=values[cp], minlength=n).astype(float)
    rp, rz = point_pairs(inputs.brep, zg)
    out["zb"] = first_of_pairs(rp, rz, len(inputs.bgeo)) if len(inputs.bgeo) \
        else np.zeros(0, dtype=np.int64)
    return out


def _fills(zg: np.ndarray) -> bool:
    """Whether the zones cover most (80 %) of their convex hull (a tiling worth using)."""
    xy = shapely.get_coordinates(zg)
    if len(xy) < 3:
        return False
    hull = shapely.area(shapely.convex_hull(shapely.multipoints(xy)))
    return hull > 0 and float(np.nansum(shapely.area(zg))) >= 0.8 * hull


def _zone_measures(zg: np.ndarray, seen: SeenIndex, inputs: MetricLayers) -> dict[str, Any]:
    """Area, building area and area seen per level of each zone polygon (metric).

    Also ``zb``: the zone holding each building's point on surface (the first when
    several; -1 when none).
    """
    shapely.prepare(zg)
    n = len(zg)
    bgeo = inputs.bgeo
    out = {"area": shapely.area(zg) if n else np.zeros(0)}
    rp, rz = point_pairs(inputs.brep, zg)
    out["zb"] = first_of_pairs(rp, rz, len(bgeo)) if len(bgeo) else np.zeros(0, dtype=np.int64)
    out["building_area"] = _building_area(zg, rp, rz, inputs) if len(bgeo) and n \
        else np.zeros(n)
    cover = tiling_cover(zg) if _fills(zg) else None
    out["tiles"] = cover is not None
    for name in seen.pieces:
        out[name] = seen.area_in(zg, name, cover=cover)
    return out


def _building_area(zg: np.ndarray, rp: np.ndarray, rz: np.ndarray, inputs: MetricLayers
                   ) -> np.ndarray:
    """Building footprint area inside each zone.

    A one-polygon building whose bounding box meets no (short) boundary edge of a zone
    cannot cross that boundary: it is inside the zone when its point on surface is
    (pairs ``rp``, ``rz``), else outside. Only the buildings along the boundaries, and
    buildings of several parts, are intersected.
    """
    n = len(zg)
    bgeo, barea = inputs.bgeo, inputs.barea
    segs, seg_z = ring_segments(shapely.segmentize(zg, EDGE_M))
    near = np.zeros(0, dtype=np.int64)
    if len(segs):
        b, s = shapely.STRtree(segs).query(bgeo)            # bounding boxes only
        near = np.unique(b.astype(np.int64) * n + seg_z[s])
    single = shapely.get_type_id(bgeo) == 3
    far = single[rp] & ~np.isin(rp.astype(np.int64) * n + rz, near)
    area = np.bincount(rz[far], weights=barea[rp[far]], minlength=n).astype(float)
    key_parts = [near]
    multi = np.nonzero(~single)[0]
    if len(multi):
        mb, mz = shapely.STRtree(zg).query(bgeo[multi], predicate="intersects")
        key_parts.append(multi[mb].astype(np.int64) * n + mz)
    keys = np.unique(np.concatenate(key_parts))
    eb, ez = keys // n, keys % n
    hit = shapely.intersects(zg[ez], bgeo[eb]) if len(keys) else np.zeros(0, dtype=bool)
    eb, ez = eb[hit], ez[hit]
    if len(eb):
        inside = shapely.contains(zg[ez], bgeo[eb])
        ba = np.where(inside, barea[eb], 0.0)
        if (~inside).any():
            ba[~inside] = intersection_area(zg[ez[~inside]], bgeo[eb[~inside]])
        area += np.bincount(ez, weights=ba, minlength=n)
    return area


def coverage_stats(views: gpd.GeoDataFrame | None, *, zones: Mapping[str, pd.DataFrame],
                   buildings: gpd.GeoDataFrame | None,
                   cameras: gpd.GeoDataFrame | None = None, entrances: Any = None,
                   settings: Mapping[str, Any] | None = None, seen: SeenIndex | None = None,
                   nested: bool | None = None, inputs: MetricLayers | None = None
                   ) -> gpd.GeoDataFrame:
    """Coverage figures per zone (see the module docstring for the columns).

    Parameters
    ----------
    views
        Camera views (:func:`beatgrid.gis.coverage.visibility.camera_views`; ignored
        when ``seen`` is given).
    zones
        Zone type -> zone frame with an ``id`` column (e.g. from
        :func:`beatgrid.gis.coverage.zones.zones_from_layers`).
    buildings
        Building footprints with ``households``.
    cameras
        Camera points, for the inside / boundary counts (optional).
    entrances
        Optional entrance points (e.g. OSM ``entrance=*``); adds the share seen.
    settings
        The coverage section (default: the shipped one).
    seen
        A prepared :class:`~beatgrid.gis.coverage.seen.SeenIndex` (built from ``views``
        when None).
    nested
        Whether the views are nested zones (default from ``[visibility] zones``).
    inputs
        The layers already converted to the metric CRS of ``seen``, shared with the
        other measures (then ``buildings``, ``cameras`` and ``entrances`` are taken
        from it).

    Returns
    -------
    GeoDataFrame
        One row per zone with ``zone_type``, ``zone_id``, the figures and the zone
        polygon, in the CRS of the first zone layer.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> v = gpd.GeoDataFrame({"camera_id": ["a"], "level": ["all"]},
    ...                      geometry=[shapely.box(0, 0, 10, 10)], crs=4547)
    >>> z = {"grid": gpd.GeoDataFrame({"id": ["G1"]}, geometry=[shapely.box(0, 0, 10, 20)],
    ...                               crs=4547)}
    >>> b = gpd.GeoDataFrame({"households": [40]}, geometry=[shapely.box(0, 10, 10, 20)],
    ...                      crs=4547)
    >>> s = coverage_stats(v, zones=z, buildings=b)
    >>> float(s.open_area_m2.iloc[0]), float(s.seen_share_all.iloc[0]), int(s.households.iloc[0])
    (100.0, 1.0, 40)
    """
    cfg = coverage_settings(settings)
    if not zones:
        raise InputError("no zones given for coverage statistics",
                         fix="pass zones={'estate': estates, ...} with at least one layer")
    first = next(iter(zones.values()))
    crs = seen.crs if seen is not None and seen.crs is not None else metric_crs(
        first, layer="zones")
    if nested is None:
        nested = cfg["visibility"]["zones"] == "nested"
    if seen is None:
        seen = SeenIndex(views, crs=crs, nested=nested)
    if inputs is None or inputs.crs != crs:
        inputs = MetricLayers(crs, buildings=buildings, cameras=cameras, entrances=entrances)
    return _coverage_stats(zones, seen=seen, inputs=inputs, cov=cfg["coverage"])


def _coverage_stats(zones: Mapping[str, pd.DataFrame], *, seen: SeenIndex,
                    inputs: MetricLayers, cov: Mapping[str, Any]) -> gpd.GeoDataFrame:
    """:func:`coverage_stats` on prepared inputs (see :func:`_measure_layers`)."""
    crs = inputs.crs
    out_crs = next(iter(zones.values())).crs
    levels = seen.levels
    bgeo = inputs.bgeo
    hh = inputs.bcolumn("households")
    perimeter = inputs.perimeter
    wall_len, wall_b = np.zeros(0), np.zeros(0, dtype=np.int64)
    if len(seen.pieces["all"]) and len(bgeo):
        # only the walls of buildings touching the seen area can be seen: sample those
        near_b = np.unique(seen.trees["all"].query(
            bgeo, predicate="dwithin", distance=2 * float(cov["perimeter_offset_m"]))[0])
        wall_xy, wall_len, owner = wall_samples(bgeo[near_b], float(cov["perimeter_step_m"]),
                                                 float(cov["perimeter_offset_m"]))
        wall_b = near_b[owner]
        wall_len = wall_len * seen.covers_points(shapely.points(wall_xy), "all")
    cam_pts = inputs.points("cameras")
    has_entrances = inputs.frame("entrances") is not None
    ent_pts = inputs.points("entrances")
    ent_seen = seen.covers_points(ent_pts, "all", float(cov["entrance_tolerance_m"]))

    layers = []
    for ztype, zdf in zones.items():
        zm = inputs.zones(ztype, zdf)
        ids = zone_ids(zm)
        layers.append((ztype, zdf, ids, geometry_array(zm)))
    done = _measure_layers([lay[3] for lay in layers], seen, inputs)
    frames = []
    for ztype, zdf, ids, zg in layers:
        n = len(zg)
        measured = done[_layer_key(zg)]
        zb = measured["zb"]
        area = measured["area"]
        b_area = measured["building_area"]
        open_area = np.maximum(area - b_area, 0.0)
        rec = {"zone_type": ztype, "zone_id": ids, "area_m2": area,
               "building_area_m2": b_area, "open_area_m2": open_area}
        with np.errstate(divide="ignore", invalid="ignore"):
            for name in levels:
                s = measured[name]
                rec[f"seen_share_{name}"] = np.where(open_area > 0,
                                                     np.minimum(s / open_area, 1.0), np.nan)
                if name == "all":
                    rec["unseen_open_m2"] = np.maximum(open_area - s, 0.0)
            m = measured["multi"] if "multi" in measured else np.zeros(n)
            rec["multi_seen_share"] = np.where(open_area > 0, np.minimum(m / open_area, 1.0),
                                               np.nan)
            # buildings of the zone: by a point on their surface (zb)
            has = zb >= 0
            households = np.bincount(zb[has], weights=hh[has], minlength=n)
            per = np.bincount(zb[has], weights=perimeter[has], minlength=n)
            wz = zb[wall_b] if len(wall_b) else np.zeros(0, int)
            wk = wz >= 0
            per_seen = np.bincount(wz[wk], weights=wall_len[wk], minlength=n)
            rec["perimeter_m"] = per
            rec["perimeter_seen_share"] = np.where(per > 0, per_seen / per, np.nan)
            if has_entrances:
                ez = first_zone(ent_pts, zg)
                ek = ez >= 0
                ne = np.bincount(ez[ek], minlength=n)
                ns = np.bincount(ez[ek], weights=ent_seen[ek].astype(float), minlength=n)
                rec["entrances"] = ne
                rec["entrances_seen_share"] = np.where(ne > 0, ns / np.maximum(ne, 1), np.nan)
            if len(cam_pts):
                ztree = shapely.STRtree(zg)
                ci, cz = ztree.query(cam_pts, predicate="intersects")
                cin = np.bincount(cz, minlength=n)
                di, dz = ztree.query(cam_pts, predicate="dwithin",
                                     distance=float(cov["boundary_road_m"]))
                # near (within boundary_road_m) but not inside: the boundary-road cameras
                key_in = ci.astype(np.int64) * n + cz
                bd = ~np.isin(di.astype(np.int64) * n + dz, key_in)
                cbd = np.bincount(dz[bd], minlength=n) if len(dz) else np.zeros(n, int)
            else:
                cin = np.zeros(n, dtype=np.int64)
                cbd = np.zeros(n, dtype=np.int64)
            rec["cameras_inside"] = cin
            rec["cameras_boundary"] = cbd
            rec["households"] = households.round().astype(np.int64)
            rec["cameras_per_1000_households"] = np.where(households > 0,
                                                          1000.0 * cin / households, np.nan)
        frames.append(pd.DataFrame(rec).assign(
            geometry=_in_crs(zdf, zg, crs, out_crs)))
    out = pd.concat(frames, ignore_index=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=out_crs if out_crs is not None
                            else crs)


def _in_crs(zdf: pd.DataFrame, zg_metric: np.ndarray, crs: Any, out_crs: Any) -> np.ndarray:
    """The zone polygons in ``out_crs``: the layer's own when it is in that CRS."""
    if out_crs is None:
        return zg_metric
    if zdf.crs is not None and zdf.crs == out_crs:
        return geometry_array(zdf)
    return np.asarray(gpd.GeoSeries(zg_metric, crs=crs).to_crs(out_crs).values, dtype=object)
