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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from beatgrid.gis.coverage.fov import QualityProfile, camera_parameters, coverage_settings, quality_profile
from beatgrid.gis.crs import metric_crs
from beatgrid.gis.errors import InputError

__all__ = [
    "Occluders", "VisibilityResult", "visibility_polygons", "camera_views",
    "reference_visibility", "views_shapely_loop", "fov_polygon",
]

TWO_PI = 2.0 * np.pi
_KEY = 8.0  # ray sort key = local camera index * _KEY + angle (angle < 2 pi < 8)
_TOL_ANGLE = 1e-9
_TOL_U = 1e-9
_TOL_T = 1e-9
_TOL_OPEN = 1e-7


def _ragged(starts, counts):
    """Concatenate ``arange(s, s + c)`` for every (s, c): the gather index of ragged runs."""
    starts = np.asarray(starts, dtype=np.int64)
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    ends = np.cumsum(counts)
    offs = np.repeat(ends - counts, counts)
    return np.repeat(starts, counts) + (np.arange(total, dtype=np.int64) - offs)


def _local(counts):
    """Position of each element inside its run, for runs of ``counts`` elements."""
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    ends = np.cumsum(counts)
    return np.arange(total, dtype=np.int64) - np.repeat(ends - counts, counts)


class Occluders:
    """Building footprints prepared for ray casting: an STRtree and flat edge arrays.

    Parameters
    ----------
    geometries
        Polygons / MultiPolygons in a metric CRS (holes are walls too). Empty and
        missing geometries are ignored.

    Examples
    --------
    >>> import shapely
    >>> occ = Occluders([shapely.box(0, 0, 10, 5)])
    >>> len(occ), occ.n_edges
    (1, 4)
    """

    def __init__(self, geometries):
        geoms = np.asarray(geometries, dtype=object)
        if geoms.ndim == 0:
            geoms = geoms.reshape(1)
        ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        ok &= np.isin(shapely.get_type_id(geoms), (3, 6))
        self.geoms = geoms[ok]
        self.source_index = np.nonzero(ok)[0]
        self.tree = shapely.STRtree(self.geoms)
        parts, part_geom = shapely.get_parts(self.geoms, return_index=True)
        rings, ring_part = shapely.get_rings(parts, return_index=True)
        coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
        same = coord_ring[1:] == coord_ring[:-1]
        a, b = coords[:-1][same], coords[1:][same]
        edge_geom = part_geom[ring_part[coord_ring[:-1][same]]]
        keep = (a[:, 0] != b[:, 0]) | (a[:, 1] != b[:, 1])
        a, b, edge_geom = a[keep], b[keep], edge_geom[keep]
        self.x0, self.y0 = np.ascontiguousarray(a[:, 0]), np.ascontiguousarray(a[:, 1])
        self.x1, self.y1 = np.ascontiguousarray(b[:, 0]), np.ascontiguousarray(b[:, 1])
        n = len(self.geoms)
        self.edge_start = np.searchsorted(edge_geom, np.arange(n)).astype(np.int64)
        self.edge_count = (np.searchsorted(edge_geom, np.arange(n), side="right")
                           - self.edge_start).astype(np.int64)
        # where the walls of two footprints cross (overlapping buildings), the nearest wall
        # changes between corners: those crossing points get rays too
        i, j = self.tree.query(self.geoms)
        pair = i < j
        i, j = i[pair], j[pair]
        hit = shapely.intersects(self.geoms[i], self.geoms[j]) if len(i) else np.zeros(0, bool)
        i, j = i[hit], j[hit]
        px = np.zeros((0, 2))
        owner = np.zeros(0, dtype=np.int64)
        if len(i):
            cross = shapely.intersection(shapely.boundary(self.geoms[i]),
                                         shapely.boundary(self.geoms[j]))
            xy, k = shapely.get_coordinates(cross, return_index=True)
            px = np.vstack([xy, xy])
            owner = np.concatenate([i[k], j[k]])
            order = np.argsort(owner, kind="stable")
            px, owner = px[order], owner[order]
        self.cx, self.cy = np.ascontiguousarray(px[:, 0]), np.ascontiguousarray(px[:, 1])
        self.cross_start = np.searchsorted(owner, np.arange(n)).astype(np.int64)
        self.cross_count = (np.searchsorted(owner, np.arange(n), side="right")
                            - self.cross_start).astype(np.int64)

    def __len__(self) -> int:
        return len(self.geoms)

    @property
    def n_edges(self) -> int:
        return len(self.x0)


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
        Per camera: ``"ok"``, ``"moved"`` (stood on or in a building, moved out) or
        ``"indoor"`` (deep inside a building: sees nothing).
    """

    camera: np.ndarray
    level: np.ndarray
    geometry: np.ndarray
    x: np.ndarray
    y: np.ndarray
    status: np.ndarray
    n_rays: int = 0
    n_pairs: int = 0
    timings: dict = field(default_factory=dict)


def _as_float(values, n, name, default=None):
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


def _snap_cameras(x, y, occ: Occluders, offset: float, max_snap: float):
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


def _chunk(cx, cy, a0, span, dome, rng, circles, v_cam, v_lo, v_hi, occ: Occluders,
           step, eps):
    """Views of one chunk of cameras (see the module docstring for the method)."""
    n = len(cx)
    # ---- 1. candidate edges ---------------------------------------------------------
    live = np.nonzero(rng > 0)[0]
    if len(occ) and len(live):
        qc, qg = occ.tree.query(shapely.points(cx[live], cy[live]), predicate="dwithin",
                                distance=rng[live])
        qc = live[qc]
    else:
        qc = qg = np.zeros(0, dtype=np.int64)
    cnt = occ.edge_count[qg] if len(qg) else np.zeros(0, dtype=np.int64)
    e = _ragged(occ.edge_start[qg], cnt) if len(qg) else np.zeros(0, dtype=np.int64)
    ec = np.repeat(qc, cnt)
    ax, ay = occ.x0[e] - cx[ec], occ.y0[e] - cy[ec]
    bx, by = occ.x1[e] - cx[ec], occ.y1[e] - cy[ec]
    ex, ey = bx - ax, by - ay
    l2 = ex * ex + ey * ey
    adote = ax * ex + ay * ey
    us = np.clip(-adote / l2, 0.0, 1.0)
    dx_, dy_ = ax + us * ex, ay + us * ey
    near_ok = dx_ * dx_ + dy_ * dy_ <= rng[ec] ** 2 * (1 + 1e-9) + 1e-12
    # angular span of each edge seen from the camera
    alpha_a = np.arctan2(ay, ax)
    alpha_b = np.arctan2(by, bx)
    delta = np.mod(alpha_b - alpha_a, TWO_PI)
    ccw = delta <= np.pi
    phs = np.mod(np.where(ccw, alpha_a, alpha_b) - a0[ec], TWO_PI)
    phe = phs + np.where(ccw, delta, TWO_PI - delta)
    in_fov = dome[ec] | (phs <= span[ec] + _TOL_ANGLE) | (phe >= TWO_PI - _TOL_ANGLE)
    keep = near_ok & in_fov
    ec, ax, ay, ex, ey, l2, adote = ec[keep], ax[keep], ay[keep], ex[keep], ey[keep], \
        l2[keep], adote[keep]
    alpha_a, phs, phe = alpha_a[keep], phs[keep], phe[keep]

    # ---- 2. ray angles ----------------------------------------------------------------
    n_u = np.maximum(np.ceil(span / step).astype(np.int64), 1)
    n_uc = np.where(dome, n_u, n_u + 1)
    u_cam = np.repeat(np.arange(n), n_uc)
    u_phi = _local(n_uc) * np.repeat(span / n_u, n_uc)
    # corners within range, eps either side
    a_in = ax * ax + ay * ay <= rng[ec] ** 2
    va = np.mod(alpha_a[a_in] - a0[ec[a_in]], TWO_PI)
    vc = ec[a_in]
    v_phi = np.concatenate([va, np.mod(va - eps, TWO_PI), np.mod(va + eps, TWO_PI)])
    w_cam = np.concatenate([vc, vc, vc])
    # crossings of edges with the camera circles
    k = circles.shape[1]
    rad = circles[ec]                                            # (E, K)
    cc = (ax * ax + ay * ay)[:, None] - rad * rad
    disc = adote[:, None] ** 2 - l2[:, None] * cc
    with np.errstate(invalid="ignore"):
        sq = np.sqrt(np.where(disc >= 0, disc, np.nan))
    c_phi, c_cam = [], []
    for sign in (-1.0, 1.0):
        u = (-adote[:, None] + sign * sq) / l2[:, None]
        ok = (u >= 0) & (u <= 1) & np.isfinite(u)
        rows, _cols = np.nonzero(ok)
        uu = u[ok]
        px, py = ax[rows] + uu * ex[rows], ay[rows] + uu * ey[rows]
        c_phi.append(np.mod(np.arctan2(py, px) - a0[ec[rows]], TWO_PI))
        c_cam.append(ec[rows])
    del k
    r_cam = np.concatenate([u_cam, w_cam] + c_cam)
    r_phi = np.concatenate([u_phi, v_phi] + c_phi)
    ok = dome[r_cam] | (r_phi <= span[r_cam] + 1e-12)
    r_cam, r_phi = r_cam[ok], r_phi[ok]
    r_phi = np.where(dome[r_cam], r_phi, np.minimum(r_phi, span[r_cam]))
    r_phi = np.where(dome[r_cam] & (r_phi >= TWO_PI - eps / 10), 0.0, r_phi)
    order = np.lexsort((r_phi, r_cam))
    r_cam, r_phi = r_cam[order], r_phi[order]
    dup = np.zeros(len(r_cam), dtype=bool)
    dup[1:] = (r_cam[1:] == r_cam[:-1]) & (r_phi[1:] - r_phi[:-1] < eps / 10)
    r_cam, r_phi = r_cam[~dup], r_phi[~dup]
    n_rays = len(r_cam)
    ray_start = np.searchsorted(r_cam, np.arange(n)).astype(np.int64)
    ray_count = np.searchsorted(r_cam, np.arange(n), side="right") - ray_start
    theta = r_phi + a0[r_cam]
    rcos, rsin = np.cos(theta), np.sin(theta)

    # ---- 3. ray / edge pairs and nearest hits -----------------------------------------
    key = r_cam * _KEY + r_phi
    base = ec * _KEY
    lo1 = np.searchsorted(key, base + phs - _TOL_ANGLE, side="left")
    hi1 = np.searchsorted(key, base + np.minimum(phe, TWO_PI) + _TOL_ANGLE, side="right")
    wrap = phe > TWO_PI
    lo2 = np.searchsorted(key, base[wrap] - _TOL_ANGLE, side="left")
    hi2 = np.searchsorted(key, base[wrap] + (phe[wrap] - TWO_PI) + _TOL_ANGLE, side="right")
    edge_ids = np.arange(len(ec))
    p_edge = np.concatenate([np.repeat(edge_ids, hi1 - lo1),
                             np.repeat(edge_ids[wrap], hi2 - lo2)])
    p_ray = np.concatenate([_ragged(lo1, hi1 - lo1), _ragged(lo2, hi2 - lo2)])
    dxr, dyr = rcos[p_ray], rsin[p_ray]
    pax, pay, pex, pey = ax[p_edge], ay[p_edge], ex[p_edge], ey[p_edge]
    denom = dxr * pey - dyr * pex
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (pax * pey - pay * pex) / denom
        u = (pax * dyr - pay * dxr) / denom
    hit = np.where((np.abs(denom) > 1e-15) & (t > _TOL_T) & (u >= -_TOL_U) & (u <= 1 + _TOL_U),
                   t, np.inf)
    r = rng[r_cam].copy()
    if len(p_ray):
        np.minimum.at(r, p_ray, hit)
    n_pairs = len(p_ray)

    # ---- 4. views ---------------------------------------------------------------------
    geoms = _build_views(cx, cy, dome, r, rcos, rsin, ray_start, ray_count,
                         v_cam, v_lo, v_hi)
    return geoms, n_rays, n_pairs


def _build_views(cx, cy, dome, r, rcos, rsin, ray_start, ray_count, v_cam, v_lo, v_hi):
    """Polygons of every view (camera, lo, hi) from the per-ray free distances ``r``."""
    nv = len(v_cam)
    out = np.empty(nv, dtype=object)
    out[:] = shapely.Polygon()
    m = ray_count[v_cam]
    valid = (m > 0) & (v_hi > v_lo + _TOL_OPEN)
    vdome = dome[v_cam]
    zero_lo = v_lo <= _TOL_OPEN
    ring_coords, ring_lens, ring_view = [], [], []   # simple polygons, one ring each
    ann_views = []

    def pts(view, ray, rad):
        return np.column_stack([cx[v_cam[view]] + rad * rcos[ray],
                                cy[v_cam[view]] + rad * rsin[ray]])

    # (a) directional, no inner circle: camera + chain
    sel = np.nonzero(valid & zero_lo & ~vdome)[0]
    if len(sel):
        mm = m[sel]
        ring_len = mm + 2
        starts = np.cumsum(ring_len) - ring_len
        total = int(ring_len.sum())
        coords = np.empty((total, 2))
        vv = np.repeat(sel, mm)
        ray = _ragged(ray_start[v_cam[sel]], mm)
        pos = np.repeat(starts + 1, mm) + _local(mm)
        coords[pos] = pts(vv, ray, np.minimum(r[ray], v_hi[vv]))
        origin = np.column_stack([cx[v_cam[sel]], cy[v_cam[sel]]])
        coords[starts] = origin
        coords[starts + mm + 1] = origin
        ring_coords.append(coords)
        ring_lens.append(ring_len)
        ring_view.append(sel)
    # (b) dome, no inner circle: closed chain
    sel = np.nonzero(valid & zero_lo & vdome & (m >= 3))[0]
    if len(sel):
        mm = m[sel]
        ring_len = mm + 1
        starts = np.cumsum(ring_len) - ring_len
        coords = np.empty((int(ring_len.sum()), 2))
        vv = np.repeat(sel, mm)
        ray = _ragged(ray_start[v_cam[sel]], mm)
        coords[np.repeat(starts, mm) + _local(mm)] = pts(vv, ray, np.minimum(r[ray], v_hi[vv]))
        coords[starts + mm] = coords[starts]
        ring_coords.append(coords)
        ring_lens.append(ring_len)
        ring_view.append(sel)
    # (c) with an inner circle: runs of rays that reach beyond it
    sel = np.nonzero(valid & ~zero_lo)[0]
    if len(sel):
        mm = m[sel]
        vv = np.repeat(sel, mm)
        ray = _ragged(ray_start[v_cam[sel]], mm)
        h = np.minimum(r[ray], v_hi[vv])
        is_open = h > v_lo[vv] + _TOL_OPEN
        n_open = np.add.reduceat(is_open.astype(np.int64), np.cumsum(mm) - mm) \
            if len(mm) else np.zeros(0, dtype=np.int64)
        starts_v = np.cumsum(mm) - mm
        annulus = vdome[sel] & (n_open == mm) & (mm >= 3)
        linear = (n_open > 0) & ~annulus
        if annulus.any():
            ann_views.append((sel[annulus], ray_start[v_cam[sel[annulus]]], mm[annulus]))
        if linear.any():
            lsel, lstart, lm = sel[linear], starts_v[linear], mm[linear]
            rot = vdome[lsel]
            # first closed ray of a dome view: rotate the view so that it starts there
            first_closed = np.zeros(len(lsel), dtype=np.int64)
            if rot.any():
                closed_idx = np.nonzero(~is_open)[0]
                owner = np.searchsorted(starts_v, closed_idx, side="right") - 1
                f_owner, f_first = np.unique(owner, return_index=True)
                lin_pos = np.searchsorted(starts_v, lstart)  # view position in sel
                fc = np.full(len(sel), 0, dtype=np.int64)
                fc[f_owner] = closed_idx[f_first] - starts_v[f_owner]
                first_closed = np.where(rot, fc[lin_pos], 0)
            new_m = lm + rot.astype(np.int64)
            j = _local(new_m)
            src = np.repeat(lstart, new_m) + np.mod(j + np.repeat(first_closed, new_m),
                                                     np.repeat(lm, new_m))
            lv = np.repeat(lsel, new_m)
            lray, lh, lopen = ray[src], h[src], is_open[src]
            first = np.zeros(len(src), dtype=bool)
            first[np.cumsum(new_m) - new_m] = True
            last = np.zeros(len(src), dtype=bool)
            last[np.cumsum(new_m) - 1] = True
            prev_open = np.zeros(len(src), dtype=bool)
            prev_open[1:] = lopen[:-1]
            prev_open &= ~first
            next_open = np.zeros(len(src), dtype=bool)
            next_open[:-1] = lopen[1:]
            next_open &= ~last
            rs = np.nonzero(lopen & ~prev_open)[0]
            re = np.nonzero(lopen & ~next_open)[0]
            rs = rs - (~first[rs]).astype(np.int64)
            re = re + (~last[re]).astype(np.int64)
            rl = re - rs + 1
            good = rl >= 2
            rs, re, rl = rs[good], re[good], rl[good]
            if len(rs):
                ring_len = 2 * rl + 1
                starts = np.cumsum(ring_len) - ring_len
                coords = np.empty((int(ring_len.sum()), 2))
                loc = _local(rl)
                outer = np.repeat(rs, rl) + loc
                inner = np.repeat(re, rl) - loc
                ov = lv[outer]
                coords[np.repeat(starts, rl) + loc] = pts(
                    ov, lray[outer], np.maximum(lh[outer], v_lo[ov]))
                coords[np.repeat(starts + rl, rl) + loc] = pts(lv[inner], lray[inner],
                                                               v_lo[lv[inner]])
                coords[starts + 2 * rl] = coords[starts]
                ring_coords.append(coords)
                ring_lens.append(ring_len)
                ring_view.append(lv[rs])

    polys, pview = [], []
    if ring_coords:
        coords = np.concatenate(ring_coords)
        lens = np.concatenate(ring_lens)
        ring_id = np.repeat(np.arange(len(lens)), lens)
        rings = shapely.linearrings(coords, indices=ring_id)
        polys.append(shapely.polygons(rings))
        pview.append(np.concatenate(ring_view))
    for views, rstart, mm in ann_views:
        vv = np.repeat(views, mm)
        ray = _ragged(rstart, mm)
        shell_c = pts(vv, ray, np.minimum(r[ray], v_hi[vv]))
        hole_c = pts(vv, ray, v_lo[vv])
        idx = np.repeat(np.arange(len(views)), mm)
        shells = shapely.linearrings(_close(shell_c, mm), indices=_close_idx(idx, mm))
        holes = shapely.linearrings(_close(hole_c, mm), indices=_close_idx(idx, mm))
        polys.append(shapely.polygons(shells, holes=holes[:, None]))
        pview.append(views)
    if polys:
        polys = np.concatenate(polys)
        pview = np.concatenate(pview)
        order = np.argsort(pview, kind="stable")
        polys, pview = polys[order], pview[order]
        uniq, first, counts = np.unique(pview, return_index=True, return_counts=True)
        single = counts == 1
        out[uniq[single]] = polys[first[single]]
        multi = ~single
        if multi.any():
            mask = np.isin(pview, uniq[multi])
            _, dense = np.unique(pview[mask], return_inverse=True)
            tmp = shapely.multipolygons(polys[mask], indices=dense)
            out[uniq[multi]] = tmp
    return out


def _close(coords, mm):
    starts = np.cumsum(mm) - mm
    return np.insert(coords, np.cumsum(mm), coords[starts], axis=0)


def _close_idx(idx, mm):
    starts = np.cumsum(mm) - mm
    return np.insert(idx, np.cumsum(mm), idx[starts])


def visibility_polygons(x, y, *, direction_deg, fov_deg, range_m, occluders: Occluders,
                        near_m=None, level_distances=None, zones: str = "nested",
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

    def run(b):
        s, e = b
        m = e - s
        v_cam = np.repeat(np.arange(m), n_lev + 1)
        return _chunk(xs[s:e], ys[s:e], a0[s:e], span[s:e], dome[s:e], rng_eff[s:e],
                      circles[s:e], v_cam, v_lo[s:e].ravel(), v_hi[s:e].ravel(), occ, step, eps)

    workers = max(1, min(int(n_jobs or 1), len(bounds) or 1))
    if workers > 1:
        with ThreadPoolExecutor(workers) as pool:
            parts = list(pool.map(run, bounds))
    else:
        parts = [run(b) for b in bounds]
    geoms = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, dtype=object)
    return VisibilityResult(
        camera=np.repeat(np.arange(n), n_lev + 1),
        level=np.tile(np.arange(n_lev + 1), n),
        geometry=geoms,
        x=xs, y=ys,
        status=np.array(["ok", "moved", "indoor"], dtype=object)[status],
        n_rays=int(sum(p[1] for p in parts)),
        n_pairs=int(sum(p[2] for p in parts)),
    )


def fov_polygon(x: float, y: float, *, direction_deg: float, fov_deg: float, range_m: float,
                near_m: float = 0.0, arc_step_deg: float = 0.25):
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
                         range_m: float, buildings, near_m: float = 0.0,
                         arc_step_deg: float = 0.25):
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


def views_shapely_loop(x, y, *, direction_deg, fov_deg, range_m, buildings, near_m=None,
                       arc_step_deg: float = 2.0):
    """Per-camera shapely loop (STRtree query + :func:`reference_visibility`): the baseline.

    Returns one polygon per camera (whole visible area). Used by the benchmark to
    compare with the vectorised :func:`visibility_polygons`.
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
                 levels: bool = True, settings: dict | str | None = None,
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
        Coverage settings override (dict or TOML path).
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
        (``ok``, ``moved``, ``indoor``) and the polygon.

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


def _empty_views(crs):
    return gpd.GeoDataFrame({"camera_id": pd.Series([], dtype=object),
                             "level": pd.Series([], dtype=object),
                             "px_per_m": pd.Series([], dtype=float),
                             "area_m2": pd.Series([], dtype=float),
                             "status": pd.Series([], dtype=object)},
                            geometry=gpd.GeoSeries([], crs=crs), crs=crs)
