"""Camera visibility: the area each camera sees, cut by building footprints (occlusion).

The visible area of a camera is a 2-D visibility polygon: the points of its field of
view (sector or disc, from the near blind zone out to its range) that a straight line
from the camera reaches without crossing a building. It is split into quality zones
(one per pixel-density level of the profile, see :mod:`beatgrid.gis.coverage.fov`).

Method (vectorised over all cameras at once, in chunks)
-------------------------------------------------------
1. The buildings within range of each camera come from one STRtree query; their edges
   are kept when they come within range.
2. Rays are cast at every building corner within range (and ``vertex_eps_rad`` either
   side of it, to see past the corner), where an edge crosses one of the camera's
   circles (range, near zone, quality distances), along the two edges of the field of
   view and every ``arc_step_deg`` in between.
3. Each ray is tested only against the edges whose angular span (seen from the camera)
   contains it: the ray / edge pairs come from a ``searchsorted`` over the sorted ray
   angles, and the hit distance is one numpy expression over all pairs; the nearest hit
   per ray is a ``minimum.at`` reduction.
4. Between two consecutive rays the boundary is one straight edge or a chord of a
   circle, so the polygon through the ray ends is the exact visibility polygon up to
   the arc discretisation (and the ``eps`` either side of a corner). Quality zones and
   the near blind zone are cut per ray (``lo <= distance <= hi``), never by polygon
   overlay.

Invariants: a view lies in the camera's field of view, never inside a building. A camera
standing on a wall or inside a footprint (digitising error) is moved ``camera_offset_m``
out of the building; one deeper than ``max_snap_m`` is indoor and sees nothing.
Overlapping or touching footprints are fine: rays are also cast where their walls cross.

:func:`reference_visibility` is the slow exact construction (field of view minus
buildings minus the shadow of every edge, with shapely) used by the tests and the
benchmark.

Examples
--------
>>> import numpy as np, shapely
>>> from beatgrid.gis.coverage.visibility import Occluders, visibility_polygons
>>> wall = shapely.box(5, -20, 6, 20)            # a wall 5 m east of the camera
>>> res = visibility_polygons([0.0], [0.0], direction_deg=[90.0], fov_deg=[90.0],
...                           range_m=[30.0], occluders=Occluders([wall]))
>>> round(res.geometry[0].area, 1)    # a 90-degree triangle cut at x = 5
25.0
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import ArrayLike

from beatgrid.gis.coverage.fov import (QualityProfile, camera_parameters, coverage_settings,
                                       quality_profile)
from beatgrid.gis.coverage.raycast import TOL_OPEN, TWO_PI, Occluders, cast_chunk
from beatgrid.gis.crs import metric_crs
from beatgrid.gis.errors import InputError

__all__ = [
    "Occluders", "VisibilityResult", "visibility_polygons", "camera_views",
    "reference_visibility", "views_shapely_loop", "fov_polygon",
]


@dataclass
class VisibilityResult:
    """Views computed by :func:`visibility_polygons`.

    Attributes
    ----------
    camera
        Camera position (0-based, input order) of each view.
    level
        Level index of each view: 0 is the whole visible area (``all``), 1.. the
        quality levels in the order given.
    geometry
        Polygon / MultiPolygon of each view (empty when nothing is seen), metric CRS.
    x, y
        Camera positions used (after moving cameras off walls).
    status
        Per camera: ``"ok"``, ``"moved"`` (stood on or in a building, moved out),
        ``"indoor"`` (deep inside a building: sees nothing) or ``"blocked"`` (outside the
        buildings, moved or not, with a field of view but every part of it hidden behind
        buildings: sees nothing).
    n_rays, n_pairs
        Rays cast and ray / edge pairs tested.
    timings
        Seconds per step, when measured.

    Examples
    --------
    >>> import shapely
    >>> res = visibility_polygons([0.0, 50.0], [0.0, 0.0], direction_deg=[90.0, 270.0],
    ...                           fov_deg=[90.0, 90.0], range_m=[30.0, 30.0],
    ...                           occluders=Occluders([shapely.box(20, -5, 30, 5)]))
    >>> res.camera.tolist(), res.status.tolist()
    ([0, 1], ['ok', 'ok'])
    """

    camera: np.ndarray
    level: np.ndarray
    geometry: np.ndarray
    x: np.ndarray
    y: np.ndarray
    status: np.ndarray
    n_rays: int = 0
    n_pairs: int = 0
    timings: dict[str, float] = field(default_factory=dict)


def _as_float(values: Any, n: int, name: str, default: float | None = None) -> np.ndarray:
    if values is None:
        if default is None:
            raise InputError(f"argument {name!r} is required", fix=f"pass {name}= per camera")
        return np.full(n, float(default))
    arr = np.asarray(values, dtype=float)
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    if arr.shape != (n,):
        raise InputError(f"argument {name!r} has {arr.shape[0] if arr.ndim else 1} values for "
                         f"{n} cameras", fix=f"give one {name} per camera")
    return arr


def _snap_cameras(x: np.ndarray, y: np.ndarray, occ: Occluders, offset: float,
                  max_snap: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Move cameras standing on or inside a building ``offset`` metres out of it."""
    x, y = x.copy(), y.copy()
    status = np.zeros(len(x), dtype=np.int8)  # 0 ok, 1 moved, 2 indoor
    if len(occ) == 0 or len(x) == 0:
        return x, y, status
    for _ in range(3):
        pts = shapely.points(x, y)
        cam, geo = occ.tree.query(pts, predicate="intersects")
        cam_ok = status[cam] != 2
        cam, geo = cam[cam_ok], geo[cam_ok]
        if len(cam) == 0:
            break
        cam, first = np.unique(cam, return_index=True)
        geo = geo[first]
        depth = shapely.distance(pts[cam], shapely.boundary(occ.geoms[geo]))
        indoor = depth > max_snap
        status[cam[indoor]] = 2
        cam, geo = cam[~indoor], geo[~indoor]
        if len(cam) == 0:
            break
        grown = shapely.boundary(shapely.buffer(occ.geoms[geo], offset, quad_segs=4))
        lines = shapely.shortest_line(pts[cam], grown)
        end = shapely.get_coordinates(shapely.get_point(lines, 1))
        x[cam], y[cam] = end[:, 0], end[:, 1]
        status[cam] = 1
    return x, y, status


#: Camera status codes of :func:`visibility_polygons` (index = code).
STATUS = ("ok", "moved", "indoor", "blocked")


def visibility_polygons(x: ArrayLike, y: ArrayLike, *, direction_deg: ArrayLike,
                        fov_deg: ArrayLike, range_m: ArrayLike, occluders: Occluders,
                        near_m: ArrayLike | None = None,
                        level_distances: ArrayLike | None = None, zones: str = "nested",
                        arc_step_deg: float = 2.0, vertex_eps_rad: float = 1e-6,
                        camera_offset_m: float = 0.05, max_snap_m: float = 5.0,
                        chunk_cameras: int = 1500, n_jobs: int = 1) -> VisibilityResult:
    """Visibility polygons of many cameras among building footprints (metric arrays).

    Parameters
    ----------
    x, y
        Camera positions in a metric CRS.
    direction_deg
        Compass direction of view (clockwise from north); NaN for a 360-degree dome.
    fov_deg, range_m
        Horizontal field of view (360 for a dome) and ground range (m).
    occluders
        :class:`Occluders` built from the building footprints (same CRS).
    near_m
        Near blind zone radius per camera (default 0).
    level_distances
        Optional ``(n_cameras, n_levels)`` ground distances of the quality levels, from
        the lowest pixel density (farthest) to the highest; each adds one view per
        camera (capped at the range).
    zones
        ``"nested"`` (level j: near .. d_j) or ``"bands"`` (level j: d_{j+1} .. d_j).
    arc_step_deg, vertex_eps_rad
        Largest angle between rays (the arc discretisation) and the offset of the rays
        either side of a corner.
    camera_offset_m, max_snap_m
        Cameras on or inside a building are moved this far out of it; deeper than
        ``max_snap_m`` they are indoor and see nothing.
    chunk_cameras, n_jobs
        Cameras per vectorised chunk; threads working on chunks at once.

    Returns
    -------
    VisibilityResult
        One view per camera and level (level 0 = the whole visible area).

    Examples
    --------
    >>> import shapely
    >>> occ = Occluders([shapely.box(-1, 5, 1, 7)])   # a kiosk 5 m north of a dome
    >>> res = visibility_polygons([0.0], [0.0], direction_deg=[float("nan")], fov_deg=[360.0],
    ...                           range_m=[10.0], occluders=occ, arc_step_deg=1.0)
    >>> round(res.geometry[0].area, 1) < round(3.14159 * 100, 1)
    True
    """
    x = np.asarray(x, dtype=float).ravel()
    n = len(x)
    y = _as_float(y, n, "y")
    direction = _as_float(direction_deg, n, "direction_deg")
    fov = _as_float(fov_deg, n, "fov_deg")
    rng = _as_float(range_m, n, "range_m")
    near = _as_float(near_m, n, "near_m", default=0.0)
    if zones not in ("nested", "bands"):
        raise InputError(f"zones={zones!r} is not a zone mode", fix="use 'nested' or 'bands'")
    if not arc_step_deg > 0:
        raise InputError(f"arc_step_deg={arc_step_deg!r} must be positive",
                         fix="use e.g. 2.0 (degrees)")
    if (rng < 0).any() or not np.isfinite(rng).all():
        bad = rng[(rng < 0) | ~np.isfinite(rng)][0]
        raise InputError(f"range_m has the value {bad!r}", fix="give finite ranges >= 0 metres")
    levels = np.zeros((n, 0)) if level_distances is None else np.asarray(level_distances, float)
    if levels.ndim != 2 or levels.shape[0] != n:
        raise InputError(f"level_distances has shape {levels.shape}, expected ({n}, n_levels)",
                         fix="give one row of level distances per camera")
    n_lev = levels.shape[1]
    dome = ~np.isfinite(direction) | (fov >= 360.0)
    span = np.where(dome, TWO_PI, np.radians(np.clip(fov, 1e-9, 360.0)))
    theta_c = np.radians(90.0 - np.nan_to_num(direction))
    a0 = np.where(dome, 0.0, np.mod(theta_c - span / 2.0, TWO_PI))
    near = np.clip(np.nan_to_num(near), 0.0, None)
    capped = np.minimum(np.nan_to_num(levels, nan=0.0), rng[:, None])
    # views: level 0 (all), then the quality levels
    v_lo = np.empty((n, n_lev + 1))
    v_hi = np.empty((n, n_lev + 1))
    v_lo[:, 0], v_hi[:, 0] = near, rng
    for j in range(n_lev):
        v_hi[:, j + 1] = capped[:, j]
        if zones == "bands" and j + 1 < n_lev:
            v_lo[:, j + 1] = np.maximum(near, capped[:, j + 1])
        else:
            v_lo[:, j + 1] = near
    circles = np.column_stack([rng, near, capped]) if n else np.zeros((0, 2 + n_lev))
    circles = np.where(circles > 0, circles, np.nan)

    occ = occluders
    xs, ys, status = _snap_cameras(x, y, occ, float(camera_offset_m), float(max_snap_m))
    rng_eff = np.where(status == 2, 0.0, rng)
    v_hi[status == 2] = 0.0          # indoor: sees nothing

    step = math.radians(float(arc_step_deg))
    eps = float(vertex_eps_rad)
    chunk = max(int(chunk_cameras), 1)
    bounds = [(s, min(s + chunk, n)) for s in range(0, n, chunk)]

    def run(b: tuple[int, int]) -> tuple[np.ndarray, int, int]:
        s, e = b
        m = e - s
        v_cam = np.repeat(np.arange(m), n_lev + 1)
        return cast_chunk(xs[s:e], ys[s:e], a0[s:e], span[s:e], dome[s:e], rng_eff[s:e],
                      circles[s:e], v_cam, v_lo[s:e].ravel(), v_hi[s:e].ravel(), occ, step, eps)

    workers = max(1, min(int(n_jobs or 1), len(bounds) or 1))
    if workers > 1:
        with ThreadPoolExecutor(workers) as pool:
            parts = list(pool.map(run, bounds))
    else:
        parts = [run(b) for b in bounds]
    geoms = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, dtype=object)
    # blocked: a field of view to see (not indoor, the range beyond the near zone) of which
    # nothing is seen: every ray hits a wall before the near zone ends
    if n:
        whole = geoms[::n_lev + 1]
        has_fov = (status != 2) & (v_hi[:, 0] > v_lo[:, 0] + TOL_OPEN)
        status = np.where(has_fov & ~(shapely.area(whole) > 0), 3, status)
    return VisibilityResult(
        camera=np.repeat(np.arange(n), n_lev + 1),
        level=np.tile(np.arange(n_lev + 1), n),
        geometry=geoms,
        x=xs, y=ys,
        status=np.array(STATUS, dtype=object)[status],
        n_rays=int(sum(p[1] for p in parts)),
        n_pairs=int(sum(p[2] for p in parts)),
    )


def fov_polygon(x: float, y: float, *, direction_deg: float, fov_deg: float, range_m: float,
                near_m: float = 0.0, arc_step_deg: float = 0.25) -> shapely.Geometry:
    """The field of view without occlusion: sector (or disc) from ``near_m`` to ``range_m``.

    Examples
    --------
    >>> round(fov_polygon(0, 0, direction_deg=0, fov_deg=90, range_m=10).area, 1)
    78.5
    """
    dome = not np.isfinite(direction_deg) or fov_deg >= 360
    if range_m <= 0:
        return shapely.Polygon()
    if dome:
        k = max(int(math.ceil(360.0 / arc_step_deg)), 8)
        t = np.linspace(0, TWO_PI, k, endpoint=False)
        outer = shapely.Polygon(np.column_stack([x + range_m * np.cos(t), y + range_m * np.sin(t)]))
    else:
        span = math.radians(fov_deg)
        a0 = math.radians(90.0 - direction_deg) - span / 2
        k = max(int(math.ceil(fov_deg / arc_step_deg)), 1)
        t = a0 + np.linspace(0, span, k + 1)
        pts = np.column_stack([x + range_m * np.cos(t), y + range_m * np.sin(t)])
        outer = shapely.Polygon(np.vstack([[x, y], pts]))
    if near_m > 0:
        k = max(int(math.ceil(360.0 / arc_step_deg)), 8)
        t = np.linspace(0, TWO_PI, k, endpoint=False)
        inner = shapely.Polygon(np.column_stack([x + near_m * np.cos(t), y + near_m * np.sin(t)]))
        outer = outer.difference(inner)
    return outer


def reference_visibility(x: float, y: float, *, direction_deg: float, fov_deg: float,
                         range_m: float, buildings: Any, near_m: float = 0.0,
                         arc_step_deg: float = 0.25) -> shapely.Geometry:
    """Exact visibility polygon of one camera by polygon overlay (slow, for tests).

    The field of view (:func:`fov_polygon`) minus every building minus the shadow of
    every building edge (the region behind the edge as seen from the camera). The
    camera must stand outside the buildings.

    Examples
    --------
    >>> import shapely
    >>> v = reference_visibility(0, 0, direction_deg=90, fov_deg=90, range_m=30,
    ...                          buildings=[shapely.box(5, -20, 6, 20)])
    >>> round(v.area, 1)
    25.0
    """
    view = fov_polygon(x, y, direction_deg=direction_deg, fov_deg=fov_deg, range_m=range_m,
                       near_m=near_m, arc_step_deg=arc_step_deg)
    geoms = np.asarray(list(buildings), dtype=object)
    if len(geoms) == 0 or view.is_empty:
        return view
    geoms = geoms[shapely.dwithin(geoms, shapely.Point(x, y), range_m)]
    if len(geoms) == 0:
        return view
    occ = Occluders(geoms)
    ax, ay = occ.x0 - x, occ.y0 - y
    bx, by = occ.x1 - x, occ.y1 - y
    far = 4.0 * range_m
    shadows = []
    for i in range(occ.n_edges):
        ta, tb = math.atan2(ay[i], ax[i]), math.atan2(by[i], bx[i])
        d = (tb - ta + math.pi) % TWO_PI - math.pi   # signed angle a -> b, |d| < pi
        ts = ta + np.linspace(0, d, 9)
        arc = np.column_stack([x + far * np.cos(ts), y + far * np.sin(ts)])
        ring = np.vstack([[occ.x0[i], occ.y0[i]], [occ.x1[i], occ.y1[i]], arc[::-1]])
        shadows.append(shapely.make_valid(shapely.Polygon(ring)))
    blocked = shapely.union_all(np.concatenate([geoms, np.asarray(shadows, dtype=object)]))
    return shapely.difference(view, blocked)


def views_shapely_loop(x: Any, y: Any, *, direction_deg: Any, fov_deg: Any, range_m: Any,
                       buildings: Any, near_m: Any = None, arc_step_deg: float = 2.0
                       ) -> np.ndarray:
    """Per-camera shapely loop (STRtree query + :func:`reference_visibility`): the baseline.

    Returns one polygon per camera (whole visible area). Used by the benchmark to
    compare with the vectorised :func:`visibility_polygons`.

    Examples
    --------
    >>> import shapely
    >>> v = views_shapely_loop([0.0], [0.0], direction_deg=[90.0], fov_deg=[90.0],
    ...                        range_m=[30.0], buildings=[shapely.box(5, -20, 6, 20)])
    >>> round(v[0].area, 1)
    25.0
    """
    geoms = np.asarray(list(buildings), dtype=object)
    tree = shapely.STRtree(geoms)
    n = len(x)
    near = np.zeros(n) if near_m is None else np.asarray(near_m, float)
    out = np.empty(n, dtype=object)
    for i in range(n):
        idx = tree.query(shapely.Point(x[i], y[i]), predicate="dwithin", distance=range_m[i])
        out[i] = reference_visibility(x[i], y[i], direction_deg=direction_deg[i],
                                      fov_deg=fov_deg[i], range_m=range_m[i],
                                      buildings=geoms[idx], near_m=near[i],
                                      arc_step_deg=arc_step_deg)
    return out


def camera_views(cameras: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame, *,
                 profile: QualityProfile | str | None = None, zones: str | None = None,
                 levels: bool = True, settings: Mapping[str, Any] | None = None,
                 n_jobs: int | None = None, metric: bool = False) -> gpd.GeoDataFrame:
    """The visible area of every camera, cut by buildings and split into quality zones.

    Parameters
    ----------
    cameras
        The ``cameras`` layer (any CRS; defaults of empty fields per
        :func:`beatgrid.gis.coverage.fov.camera_parameters`).
    buildings
        The ``buildings`` layer (footprints).
    profile
        Quality profile name (default ``[fov] profile``).
    zones
        ``"nested"`` or ``"bands"`` (default ``[visibility] zones``).
    levels
        False: only the whole visible area (level ``all``).
    settings
        The coverage section (default: the shipped one; see
        :func:`beatgrid.gis.coverage.fov.coverage_settings`).
    n_jobs
        Threads working on chunks of cameras (default 1: the vectorised code is already
        fast and threads gain little, numpy holding the GIL between operations).
    metric
        Return the views in the metric CRS used for computing (else the cameras' CRS).

    Returns
    -------
    GeoDataFrame
        ``camera_id``, ``level`` (``all`` then the profile's levels), ``px_per_m``
        (minimum density of the level; NaN for ``all``), ``area_m2``, ``status``
        (``ok``; ``moved``: stood on or in a building, moved out of it; ``indoor``: deep
        inside a building, sees nothing; ``blocked``: its whole field of view is hidden
        behind buildings, sees nothing) and the polygon.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> cams = gpd.GeoDataFrame({"id": ["c1"], "direction": [90.0], "fov_deg": [90.0],
    ...                          "range_m": [30.0], "height_m": [0.0]},
    ...                         geometry=[shapely.Point(0, 0)], crs=4547)
    >>> blds = gpd.GeoDataFrame({"id": ["b1"]}, geometry=[shapely.box(5, -20, 6, 20)], crs=4547)
    >>> v = camera_views(cams, blds, levels=False)
    >>> v[["camera_id", "level"]].values.tolist(), round(float(v.area_m2.iloc[0]), 1)
    ([['c1', 'all']], 25.0)

    A camera facing a wall nearer than its near blind zone sees nothing: ``blocked``.

    >>> cams["height_m"] = 8.0                  # near blind zone: 8.2 m, the wall at 5 m
    >>> camera_views(cams, blds, levels=False)[["status", "area_m2"]].values.tolist()
    [['blocked', 0.0]]
    """
    cfg = coverage_settings(settings)
    if not isinstance(profile, QualityProfile):
        profile = quality_profile(profile, settings=cfg)
    vis = cfg["visibility"]
    zones = zones or vis["zones"]
    crs = metric_crs(cameras, layer="cameras") if len(cameras) else (
        metric_crs(buildings, layer="buildings") if len(buildings) else None)
    if crs is None:
        return _empty_views(cameras.crs)
    cam_m = cameras.to_crs(crs)
    bld_m = buildings.to_crs(crs) if len(buildings) else buildings
    params = camera_parameters(cam_m, profile=profile, settings=cfg)
    lev = params[[f"d_{name}" for name in profile.levels]].to_numpy(float) if levels else None
    occ = Occluders(bld_m.geometry.values if len(bld_m) else [])
    if n_jobs is None:
        n_jobs = 1
    res = visibility_polygons(
        cam_m.geometry.x.to_numpy(), cam_m.geometry.y.to_numpy(),
        direction_deg=params["direction"].to_numpy(), fov_deg=params["fov_deg"].to_numpy(),
        range_m=params["range_m"].to_numpy(), near_m=params["near_m"].to_numpy(),
        level_distances=lev, zones=zones, occluders=occ,
        arc_step_deg=vis["arc_step_deg"], vertex_eps_rad=vis["vertex_eps_rad"],
        camera_offset_m=vis["camera_offset_m"], max_snap_m=vis["max_snap_m"],
        chunk_cameras=vis["chunk_cameras"], n_jobs=n_jobs)
    names = np.array(["all"] + (list(profile.levels) if levels else []), dtype=object)
    ppm = np.array([np.nan] + (list(profile.px_per_m) if levels else []))
    ids = cameras["id"].astype(str).to_numpy() if "id" in cameras.columns \
        else np.asarray(cameras.index.astype(str))
    out = gpd.GeoDataFrame({
        "camera_id": ids[res.camera],
        "level": names[res.level],
        "px_per_m": ppm[res.level],
        "area_m2": shapely.area(res.geometry),
        "status": res.status[res.camera],
    }, geometry=gpd.GeoSeries(res.geometry, crs=crs), crs=crs)
    return out if metric else out.to_crs(cameras.crs)


def _empty_views(crs: Any) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"camera_id": pd.Series([], dtype=object),
                             "level": pd.Series([], dtype=object),
                             "px_per_m": pd.Series([], dtype=float),
                             "area_m2": pd.Series([], dtype=float),
                             "status": pd.Series([], dtype=object)},
                            geometry=gpd.GeoSeries([], crs=crs), crs=crs)
