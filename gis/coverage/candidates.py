"""Camera placement inputs: candidate poses, weighted demand points, the coverage matrix.

The weighted maximal covering location problem (MCLP) of
:mod:`beatgrid.gis.coverage.placement` is built from:

* **candidate poses** (:func:`candidate_poses`): positions and directions of a possible
  new camera: on building walls looking out, on building corners looking along the
  bisector, at street-lamp positions along streets looking both ways (``[placement]``);
  all with the lens of a new camera (fov, range, height, tilt);
* **demand** (:func:`demand_points`): points on a ``demand_spacing_m`` grid over the
  open space of the target zones that no existing camera sees; each weighs ``area +
  households x (households nearby, shared) + preventable_incidents x (preventable
  incidents nearby, shared)`` (``[placement.weights]``);
* **coverage matrix** (:func:`coverage_matrix`, scipy.sparse, demand x poses): a pose
  covers a demand point when the point lies in its visibility polygon (buildings
  occlude; see :mod:`beatgrid.gis.coverage.visibility`).

Examples
--------
>>> import geopandas as gpd, shapely
>>> from beatgrid.gis.coverage.candidates import candidate_poses
>>> b = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 30, 10)], crs=4547)
>>> candidate_poses(b).kind.value_counts().to_dict()
{'wall': 6, 'corner': 4}
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import csc_matrix

from beatgrid.gis.coverage.fov import camera_parameters, coverage_settings
from beatgrid.gis.coverage.raycast import Occluders
from beatgrid.gis.coverage.seen import SeenIndex
from beatgrid.gis.coverage.visibility import visibility_polygons
from beatgrid.gis.crs import metric_crs
from beatgrid.gis.errors import InputError

__all__ = ["candidate_poses", "demand_points", "coverage_matrix"]


def _compass(dx: Any, dy: Any) -> np.ndarray:
    """Compass bearing (degrees clockwise from north) of the vector (dx, dy)."""
    return np.mod(np.degrees(np.arctan2(dx, dy)), 360.0)


def candidate_poses(buildings: gpd.GeoDataFrame, streets: gpd.GeoDataFrame | None = None, *,
                    within: shapely.Geometry | None = None,
                    settings: Mapping[str, Any] | None = None) -> gpd.GeoDataFrame:
    """Candidate camera poses (position and direction) on walls, corners and street lamps.

    Parameters
    ----------
    buildings
        Footprints (any CRS).
    streets
        Street lines for lamp positions (optional).
    within
        Optional polygon (same CRS as ``buildings``): keep poses inside it.
    settings
        The coverage section (``[placement]``; default: the shipped one).

    Returns
    -------
    GeoDataFrame
        Points in the metric CRS with ``site`` (poses at one site share it), ``kind``
        (``wall``, ``corner``, ``lamp``), ``direction`` and the lens columns
        ``fov_deg``, ``range_m``, ``height_m``, ``tilt_deg``.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> b = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 30, 10)], crs=4547)
    >>> c = candidate_poses(b)
    >>> c.kind.value_counts().to_dict()
    {'wall': 6, 'corner': 4}
    >>> sorted(c[c.kind == "corner"].direction.round().tolist())
    [45.0, 135.0, 225.0, 315.0]
    """
    cfg = coverage_settings(settings)
    pl = cfg["placement"]
    crs = metric_crs(buildings, layer="buildings") if len(buildings) else (
        metric_crs(streets, layer="streets") if streets is not None and len(streets) else None)
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    dirs: list[np.ndarray] = []
    kinds: list[np.ndarray] = []
    sites: list[np.ndarray] = []
    off = float(pl["site_offset_m"])
    n_sites = 0
    if crs is not None and len(buildings):
        g = shapely.orient_polygons(buildings.to_crs(crs).geometry.values)
        parts = shapely.get_parts(g)
        rings = shapely.get_exterior_ring(parts)
        xy, ring = shapely.get_coordinates(rings, return_index=True)
        same = ring[1:] == ring[:-1]
        a, b = xy[:-1][same], xy[1:][same]
        d = b - a
        ln = np.hypot(d[:, 0], d[:, 1])
        ok = ln > 1e-9
        a, d, ln, er = a[ok], d[ok], ln[ok], ring[:-1][same][ok]
        normal = np.column_stack([d[:, 1], -d[:, 0]]) / ln[:, None]   # outward (CCW ring)
        if pl["use_walls"]:
            k = np.maximum(np.floor(ln / float(pl["wall_spacing_m"])).astype(np.int64), 1)
            e = np.repeat(np.arange(len(a)), k)
            loc = np.arange(len(e)) - np.repeat(np.cumsum(k) - k, k)
            frac = (loc + 0.5) / np.repeat(k, k)
            p = a[e] + d[e] * frac[:, None] + normal[e] * off
            xs.append(p[:, 0])
            ys.append(p[:, 1])
            dirs.append(_compass(normal[e, 0], normal[e, 1]))
            kinds.append(np.full(len(e), "wall", dtype=object))
            sites.append(n_sites + np.arange(len(e)))
            n_sites += len(e)
        if pl["use_corners"] and len(a):
            # corner at the start of each edge: previous edge of the same ring
            first = np.r_[True, er[1:] != er[:-1]]
            last_of_ring = np.r_[np.nonzero(first)[0][1:] - 1, len(er) - 1]
            prev = np.arange(len(a)) - 1
            prev[first] = last_of_ring
            dp = d[prev] / ln[prev][:, None]
            dc = d / ln[:, None]
            convex = dp[:, 0] * dc[:, 1] - dp[:, 1] * dc[:, 0] > 1e-9
            bis = normal + normal[prev]
            bl = np.hypot(bis[:, 0], bis[:, 1])
            ok = convex & (bl > 1e-9)
            bis = bis[ok] / bl[ok][:, None]
            p = a[ok] + bis * off * math.sqrt(2.0)
            xs.append(p[:, 0])
            ys.append(p[:, 1])
            dirs.append(_compass(bis[:, 0], bis[:, 1]))
            kinds.append(np.full(len(p), "corner", dtype=object))
            sites.append(n_sites + np.arange(len(p)))
            n_sites += len(p)
    if pl["use_lamps"] and streets is not None and len(streets) and crs is not None:
        lines = shapely.get_parts(streets.to_crs(crs).geometry.values)
        ln = shapely.length(lines)
        spacing = float(pl["lamp_spacing_m"])
        k = np.maximum(np.round(ln / spacing).astype(np.int64), 1)
        e = np.repeat(np.arange(len(lines)), k)
        loc = np.arange(len(e)) - np.repeat(np.cumsum(k) - k, k)
        pos = (loc + 0.5) * ln[e] / np.repeat(k, k) if len(e) else np.zeros(0)
        pt = shapely.get_coordinates(shapely.line_interpolate_point(lines[e], pos))
        ahead = shapely.get_coordinates(shapely.line_interpolate_point(lines[e],
                                                                       np.minimum(pos + 1, ln[e])))
        behind = shapely.get_coordinates(shapely.line_interpolate_point(lines[e],
                                                                        np.maximum(pos - 1, 0)))
        fwd = _compass(ahead[:, 0] - behind[:, 0], ahead[:, 1] - behind[:, 1])
        site = n_sites + np.arange(len(e))
        for direction in (fwd, np.mod(fwd + 180.0, 360.0)):
            xs.append(pt[:, 0])
            ys.append(pt[:, 1])
            dirs.append(direction)
            kinds.append(np.full(len(e), "lamp", dtype=object))
            sites.append(site)
        n_sites += len(e)
    x = np.concatenate(xs) if xs else np.zeros(0)
    y = np.concatenate(ys) if ys else np.zeros(0)
    out = gpd.GeoDataFrame({
        "site": np.concatenate(sites).astype(np.int64) if sites else np.zeros(0, np.int64),
        "kind": np.concatenate(kinds) if kinds else np.zeros(0, dtype=object),
        "direction": np.concatenate(dirs) if dirs else np.zeros(0),
    }, geometry=gpd.GeoSeries(shapely.points(x, y) if len(x) else [], crs=crs), crs=crs)
    for col in ("fov_deg", "range_m", "height_m", "tilt_deg"):
        out[col] = float(pl[col])
    if within is not None and len(out):
        poly = gpd.GeoSeries([within], crs=buildings.crs).to_crs(crs).iloc[0]
        shapely.prepare(poly)
        out = out[shapely.intersects(poly, out.geometry.values)].reset_index(drop=True)
    return out


def demand_points(zones: gpd.GeoSeries | gpd.GeoDataFrame, *, buildings: gpd.GeoDataFrame,
                  seen: SeenIndex | None = None, incidents: gpd.GeoDataFrame | None = None,
                  crs: Any = None, settings: Mapping[str, Any] | None = None
                  ) -> gpd.GeoDataFrame:
    """Weighted demand points: open space of ``zones`` on a grid, minus what is seen.

    Parameters
    ----------
    zones
        Polygons (GeoSeries / GeoDataFrame) of the target area.
    buildings
        Footprints with ``households`` (excluded; their households weight the points).
    seen
        :class:`~beatgrid.gis.coverage.seen.SeenIndex` of the existing cameras (points
        seen are dropped).
    incidents
        Incidents with ``preventable`` (only preventable ones weigh).
    crs
        Metric CRS (default from ``zones``).
    settings
        The coverage section (``[placement]``; default: the shipped one).

    Returns
    -------
    GeoDataFrame
        Points (metric CRS) with ``weight``, ``households_w``, ``incidents_w`` and
        ``zone`` (position of the zone in ``zones``).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> z = gpd.GeoSeries([shapely.box(0, 0, 20, 10)], crs=4547)
    >>> b = gpd.GeoDataFrame({"households": [0]}, geometry=[shapely.box(10, 0, 20, 10)],
    ...                      crs=4547)
    >>> len(demand_points(z, buildings=b))      # 5 m grid over the free half: 2 x 2
    4
    """
    cfg = coverage_settings(settings)
    pl, w = cfg["placement"], cfg["placement"]["weights"]
    zs = zones.geometry if isinstance(zones, gpd.GeoDataFrame) else zones
    crs = crs or metric_crs(zs, layer="zones")
    zg = zs.to_crs(crs).values if len(zs) else np.zeros(0, dtype=object)
    step = float(pl["demand_spacing_m"])
    if step <= 0:
        raise InputError(f"demand_spacing_m={step} must be positive", fix="use e.g. 5.0")
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    zi: list[np.ndarray] = []
    for k, z in enumerate(zg):
        if z is None or z.is_empty:
            continue
        x0, y0, x1, y1 = z.bounds
        gx = np.arange(math.floor(x0 / step) * step + step / 2, x1, step)
        gy = np.arange(math.floor(y0 / step) * step + step / 2, y1, step)
        if not len(gx) or not len(gy):
            continue
        grid_x, grid_y = np.meshgrid(gx, gy)
        X, Y = grid_x.ravel(), grid_y.ravel()
        shapely.prepare(z)
        inside = shapely.contains_xy(z, X, Y)
        xs.append(X[inside])
        ys.append(Y[inside])
        zi.append(np.full(inside.sum(), k))
    x = np.concatenate(xs) if xs else np.zeros(0)
    y = np.concatenate(ys) if ys else np.zeros(0)
    zone = np.concatenate(zi) if zi else np.zeros(0, np.int64)
    pts = shapely.points(x, y) if len(x) else np.zeros(0, dtype=object)
    bld = buildings.to_crs(crs) if len(buildings) else buildings
    bgeo = bld.geometry.values if len(bld) else np.zeros(0, dtype=object)
    if len(pts) and len(bgeo):
        inb = np.unique(shapely.STRtree(bgeo).query(pts, predicate="intersects")[0])
        keep = np.ones(len(pts), bool)
        keep[inb] = False
        pts, x, y, zone = pts[keep], x[keep], y[keep], zone[keep]
    n = len(pts)
    hh_w: np.ndarray = np.zeros(n)
    inc_w: np.ndarray = np.zeros(n)
    if n:
        ptree = shapely.STRtree(pts)
        if len(bgeo) and "households" in bld.columns:
            hh = pd.to_numeric(bld["households"], errors="coerce").fillna(0).to_numpy()
            has = np.nonzero(hh > 0)[0]
            if len(has):
                bi, pi = ptree.query(bgeo[has], predicate="dwithin",
                                     distance=float(w["household_radius_m"]))
                share = hh[has][bi] / np.bincount(bi, minlength=len(has))[bi]
                hh_w = np.bincount(pi, weights=share, minlength=n)
        if incidents is not None and len(incidents):
            inc = incidents.to_crs(crs)
            if "preventable" in inc.columns:
                inc = inc[inc["preventable"].fillna(False).astype(bool)]
            if len(inc):
                ii, pi = ptree.query(inc.geometry.values, predicate="dwithin",
                                     distance=float(w["incident_radius_m"]))
                share = 1.0 / np.bincount(ii, minlength=len(inc))[ii]
                inc_w = np.bincount(pi, weights=share, minlength=n)
    weight = float(w["area"]) + float(w["households"]) * hh_w \
        + float(w["preventable_incidents"]) * inc_w
    out = gpd.GeoDataFrame({"weight": weight, "households_w": hh_w, "incidents_w": inc_w,
                            "zone": zone},
                           geometry=gpd.GeoSeries(pts, crs=crs), crs=crs)
    if seen is not None and n:
        out = out[~seen.covers_points(out.geometry.values, "all")].reset_index(drop=True)
    return out


def coverage_matrix(poses: gpd.GeoDataFrame, demand: gpd.GeoDataFrame, *,
                    occluders: Occluders, settings: Mapping[str, Any] | None = None,
                    return_views: bool = False) -> Any:
    """Sparse demand x pose matrix: 1 where the pose's visibility polygon holds the point.

    ``poses`` and ``demand`` must be in the metric CRS of ``occluders``. Returns the
    ``csc_matrix`` (and the view polygons with ``return_views``).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> poses = gpd.GeoDataFrame({"direction": [90.0], "fov_deg": [90.0], "range_m": [20.0],
    ...                           "height_m": [0.0], "tilt_deg": [0.0]},
    ...                          geometry=[shapely.Point(0, 0)], crs=4547)
    >>> demand = gpd.GeoDataFrame(geometry=shapely.points([[5, 0], [15, 0], [-5, 0]]), crs=4547)
    >>> occ = Occluders([shapely.box(10, -1, 11, 1)])
    >>> coverage_matrix(poses, demand, occluders=occ).toarray().ravel().tolist()
    [1, 0, 0]
    """
    cfg = coverage_settings(settings)
    vis = cfg["visibility"]
    n_p, n_d = len(poses), len(demand)
    if n_p == 0 or n_d == 0:
        m = csc_matrix((n_d, n_p), dtype=np.int8)
        return (m, np.zeros(n_p, dtype=object)) if return_views else m
    params = camera_parameters(poses, settings=cfg)
    res = visibility_polygons(
        poses.geometry.x.to_numpy(), poses.geometry.y.to_numpy(),
        direction_deg=params["direction"].to_numpy(), fov_deg=params["fov_deg"].to_numpy(),
        range_m=params["range_m"].to_numpy(), near_m=params["near_m"].to_numpy(),
        occluders=occluders, arc_step_deg=vis["arc_step_deg"],
        vertex_eps_rad=vis["vertex_eps_rad"], camera_offset_m=vis["camera_offset_m"],
        max_snap_m=vis["max_snap_m"], chunk_cameras=vis["chunk_cameras"])
    views = res.geometry
    tree = shapely.STRtree(demand.geometry.values)
    pi, di = tree.query(views, predicate="intersects")
    m = csc_matrix((np.ones(len(pi), dtype=np.int8), (di, pi)), shape=(n_d, n_p))
    return (m, views) if return_views else m
