"""Ray casting of camera views among building footprints, vectorised over many cameras.

The engine behind :func:`beatgrid.gis.coverage.visibility.visibility_polygons`:
:class:`Occluders` holds the footprints as flat edge arrays with an STRtree, and
:func:`cast_chunk` computes the views of one chunk of cameras in four vectorised steps
(candidate edges, ray angles, nearest hits, view polygons; the method is described in
:mod:`beatgrid.gis.coverage.visibility`). Nothing here loops over cameras in Python.

Examples
--------
>>> import shapely
>>> from beatgrid.gis.coverage.raycast import Occluders
>>> occ = Occluders([shapely.box(0, 0, 10, 5), shapely.box(5, 2, 15, 8)])
>>> len(occ), occ.n_edges, len(occ.cx)    # the walls cross twice: rays there, per footprint
(2, 8, 4)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely

__all__ = ["Occluders", "cast_chunk", "TWO_PI", "TOL_OPEN"]

TWO_PI = 2.0 * np.pi
_KEY = 8.0  # ray sort key = local camera index * _KEY + angle (angle < 2 pi < 8)
_TOL_ANGLE = 1e-9
_TOL_U = 1e-9
_TOL_T = 1e-9
#: Distances closer than this (metres) count as equal: an empty band, a closed ray.
TOL_OPEN = 1e-7


def _ragged(starts: Any, counts: Any) -> np.ndarray:
    """Concatenate ``arange(s, s + c)`` for every (s, c): the gather index of ragged runs."""
    starts = np.asarray(starts, dtype=np.int64)
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    ends = np.cumsum(counts)
    offs = np.repeat(ends - counts, counts)
    return np.repeat(starts, counts) + (np.arange(total, dtype=np.int64) - offs)


def _local(counts: Any) -> np.ndarray:
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

    def __init__(self, geometries: Any) -> None:
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
        """Number of wall edges."""
        return len(self.x0)


def cast_chunk(cx: np.ndarray, cy: np.ndarray, a0: np.ndarray, span: np.ndarray,
               dome: np.ndarray, rng: np.ndarray, circles: np.ndarray, v_cam: np.ndarray,
               v_lo: np.ndarray, v_hi: np.ndarray, occ: Occluders, step: float, eps: float
               ) -> tuple[np.ndarray, int, int]:
    """Views of one chunk of cameras (see :mod:`beatgrid.gis.coverage.visibility`).

    Parameters
    ----------
    cx, cy
        Camera positions (metric CRS).
    a0, span
        Start angle (radians, counter-clockwise from east) and angular width of each
        field of view.
    dome
        True for a 360-degree camera.
    rng
        Ground range of each camera (0: sees nothing).
    circles
        ``(n_cameras, k)`` radii where rays are also cast (range, near zone, quality
        distances; NaN for none).
    v_cam, v_lo, v_hi
        One entry per view: the camera (position in the chunk) and the distance band
        ``lo <= d <= hi`` it holds.
    occ
        The footprints.
    step, eps
        Largest angle between rays and the offset of the rays beside a corner (radians).

    Returns
    -------
    (geometries, n_rays, n_pairs)
        One polygon per view (empty when nothing is seen), the rays cast and the ray /
        edge pairs tested.

    Examples
    --------
    >>> import numpy as np, shapely
    >>> occ = Occluders([shapely.box(5, -20, 6, 20)])
    >>> g, n_rays, n_pairs = cast_chunk(
    ...     np.zeros(1), np.zeros(1), np.array([-np.pi / 4]), np.array([np.pi / 2]),
    ...     np.array([False]), np.array([30.0]), np.array([[30.0, np.nan]]), np.zeros(1, int),
    ...     np.zeros(1), np.array([30.0]), occ, np.radians(2.0), 1e-6)
    >>> round(g[0].area, 1)
    25.0
    """
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


def _build_views(cx: np.ndarray, cy: np.ndarray, dome: np.ndarray, r: np.ndarray,
                 rcos: np.ndarray, rsin: np.ndarray, ray_start: np.ndarray,
                 ray_count: np.ndarray, v_cam: np.ndarray, v_lo: np.ndarray,
                 v_hi: np.ndarray) -> np.ndarray:
    """Polygons of every view (camera, lo, hi) from the per-ray free distances ``r``."""
    nv = len(v_cam)
    out = np.empty(nv, dtype=object)
    out[:] = shapely.Polygon()
    m = ray_count[v_cam]
    valid = (m > 0) & (v_hi > v_lo + TOL_OPEN)
    vdome = dome[v_cam]
    zero_lo = v_lo <= TOL_OPEN
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
        is_open = h > v_lo[vv] + TOL_OPEN
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
        all_polys = np.concatenate(polys)
        all_view = np.concatenate(pview)
        order = np.argsort(all_view, kind="stable")
        all_polys, all_view = all_polys[order], all_view[order]
        uniq, first, counts = np.unique(all_view, return_index=True, return_counts=True)
        single = counts == 1
        out[uniq[single]] = all_polys[first[single]]
        multi = ~single
        if multi.any():
            mask = np.isin(all_view, uniq[multi])
            _, dense = np.unique(all_view[mask], return_inverse=True)
            tmp = shapely.multipolygons(all_polys[mask], indices=dense)
            out[uniq[multi]] = tmp
    return out


def _close(coords: np.ndarray, mm: np.ndarray) -> np.ndarray:
    starts = np.cumsum(mm) - mm
    return np.insert(coords, np.cumsum(mm), coords[starts], axis=0)


def _close_idx(idx: np.ndarray, mm: np.ndarray) -> np.ndarray:
    starts = np.cumsum(mm) - mm
    return np.insert(idx, np.cumsum(mm), idx[starts])
