"""Camera placement: where the next N cameras should go to see what is not yet seen.

The problem is a weighted maximal covering location problem (MCLP):

* **demand**: points on a ``demand_spacing_m`` grid over the open space of the target
  zones (all estates, or one estate) that no existing camera sees; each weighs
  ``area + households x (households nearby, shared) + preventable_incidents x
  (preventable incidents nearby, shared)`` (``[placement.weights]``);
* **candidate poses**: positions and directions of a possible new camera: on building
  walls looking out, on building corners looking along the bisector, at street-lamp
  positions along streets looking both ways (``[placement]``); all with the lens of a
  new camera (fov, range, height, tilt);
* **coverage matrix** (scipy.sparse, demand x poses): a pose covers a demand point
  when the point lies in its visibility polygon (buildings occlude; see
  :mod:`beatgrid.gis.coverage.visibility`);
* **solvers**: a lazy greedy (``1 - 1/e`` guarantee, interactive speed) and an exact
  integer programme solved by HiGHS (``highspy``) that reports its optimality gap.
  Existing cameras are kept: their coverage is removed from the demand. At most one new
  camera per site when ``one_pose_per_site``.

:func:`recommend_cameras` runs the whole chain on project layers and reports, for every
zone the new cameras touch, the coverage figures before and after.

Examples
--------
>>> import numpy as np
>>> from scipy.sparse import csc_matrix
>>> from beatgrid.gis.coverage.placement import lazy_greedy
>>> A = csc_matrix(np.array([[1, 0, 0], [1, 1, 0], [0, 1, 1], [0, 0, 1]]))
>>> res = lazy_greedy(A, np.ones(4), budget=2)
>>> sorted(res.selected.tolist()), res.objective
([0, 2], 4.0)
"""

from __future__ import annotations

import heapq
import math
import time
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import csc_matrix

from beatgrid.gis.coverage.fov import camera_parameters, coverage_settings
from beatgrid.gis.crs import metric_crs
from beatgrid.gis.errors import InputError, NotFoundError
from beatgrid.gis.coverage.visibility import Occluders, visibility_polygons

__all__ = [
    "candidate_poses", "demand_points", "coverage_matrix", "lazy_greedy", "solve_ilp",
    "GreedyResult", "IlpResult", "PlacementResult", "recommend_cameras",
]


def _compass(dx, dy):
    """Compass bearing (degrees clockwise from north) of the vector (dx, dy)."""
    return np.mod(np.degrees(np.arctan2(dx, dy)), 360.0)


def candidate_poses(buildings: gpd.GeoDataFrame, streets: gpd.GeoDataFrame | None = None, *,
                    within=None, settings: dict | str | None = None) -> gpd.GeoDataFrame:
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
        Coverage settings (``[placement]``).

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
    xs, ys, dirs, kinds, sites = [], [], [], [], []
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
            xs.append(p[:, 0]), ys.append(p[:, 1])
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
            xs.append(p[:, 0]), ys.append(p[:, 1])
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
            xs.append(pt[:, 0]), ys.append(pt[:, 1]), dirs.append(direction)
            kinds.append(np.full(len(e), "lamp", dtype=object)), sites.append(site)
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


def demand_points(zones, *, buildings: gpd.GeoDataFrame, seen=None,
                  incidents: gpd.GeoDataFrame | None = None, crs=None,
                  settings: dict | str | None = None) -> gpd.GeoDataFrame:
    """Weighted demand points: open space of ``zones`` on a grid, minus what is seen.

    Parameters
    ----------
    zones
        Polygons (GeoSeries / GeoDataFrame) of the target area.
    buildings
        Footprints with ``households`` (excluded; their households weight the points).
    seen
        :class:`beatgrid.gis.coverage.analysis.SeenIndex` of the existing cameras (points seen
        are dropped).
    incidents
        Incidents with ``preventable`` (only preventable ones weigh).
    crs
        Metric CRS (default from ``zones``).

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
    xs, ys, zi = [], [], []
    for k, z in enumerate(zg):
        if z is None or z.is_empty:
            continue
        x0, y0, x1, y1 = z.bounds
        gx = np.arange(math.floor(x0 / step) * step + step / 2, x1, step)
        gy = np.arange(math.floor(y0 / step) * step + step / 2, y1, step)
        if not len(gx) or not len(gy):
            continue
        X, Y = np.meshgrid(gx, gy)
        X, Y = X.ravel(), Y.ravel()
        shapely.prepare(z)
        inside = shapely.contains_xy(z, X, Y)
        xs.append(X[inside]), ys.append(Y[inside]), zi.append(np.full(inside.sum(), k))
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
    hh_w = np.zeros(n)
    inc_w = np.zeros(n)
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
                    occluders: Occluders, settings: dict | str | None = None,
                    return_views: bool = False):
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


@dataclass
class GreedyResult:
    """Result of :func:`lazy_greedy`: poses in pick order, their marginal gains, the total."""

    selected: np.ndarray
    gains: np.ndarray
    objective: float
    covered: np.ndarray
    evaluations: int = 0
    seconds: float = 0.0


def lazy_greedy(A, weights, budget: int, *, sites=None) -> GreedyResult:
    """Weighted maximal covering by lazy greedy (Minoux): ``1 - 1/e`` of the optimum.

    Parameters
    ----------
    A
        Sparse demand x pose coverage matrix.
    weights
        Demand weights (>= 0).
    budget
        Poses to pick at most (stops early when nothing more can be gained).
    sites
        Optional site of each pose: at most one pose per site.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.sparse import csc_matrix
    >>> A = csc_matrix(np.array([[1, 1], [0, 1], [1, 0]]))
    >>> r = lazy_greedy(A, np.array([1.0, 1.0, 1.0]), 1)
    >>> r.selected.tolist(), r.objective
    ([0], 2.0)
    """
    t0 = time.perf_counter()
    A = csc_matrix(A)
    w = np.asarray(weights, dtype=float)
    n_d, n_p = A.shape
    if len(w) != n_d:
        raise InputError(f"weights has {len(w)} values for {n_d} demand points",
                         fix="give one weight per row of the coverage matrix")
    if budget < 0:
        raise InputError(f"budget={budget} is negative", fix="give a budget of 0 or more")
    indptr, indices = A.indptr, A.indices
    gain0 = np.bincount(np.repeat(np.arange(n_p), np.diff(indptr)), weights=w[indices],
                        minlength=n_p) if len(indices) else np.zeros(n_p)
    covered = np.zeros(n_d, dtype=bool)
    site_used = set()
    heap = [(-g, j) for j, g in enumerate(gain0) if g > 0]
    heapq.heapify(heap)
    picked, gains = [], []
    evals = 0
    while heap and len(picked) < budget:
        neg, j = heapq.heappop(heap)
        if sites is not None and sites[j] in site_used:
            continue
        rows = indices[indptr[j]:indptr[j + 1]]
        g = float(w[rows][~covered[rows]].sum())
        evals += 1
        if g <= 0:
            continue
        if not heap or g >= -heap[0][0] - 1e-12:
            picked.append(j)
            gains.append(g)
            covered[rows] = True
            if sites is not None:
                site_used.add(sites[j])
        else:
            heapq.heappush(heap, (-g, j))
    return GreedyResult(np.asarray(picked, dtype=np.int64), np.asarray(gains),
                        float(np.sum(gains)), covered, evals, time.perf_counter() - t0)


@dataclass
class IlpResult:
    """Result of :func:`solve_ilp`: poses chosen, objective, dual bound and relative gap."""

    selected: np.ndarray
    objective: float
    bound: float
    gap: float
    status: str
    seconds: float = 0.0
    info: dict = field(default_factory=dict)


def solve_ilp(A, weights, budget: int, *, sites=None, time_limit: float = 60.0,
              mip_rel_gap: float = 0.0, warm_start=None) -> IlpResult:
    """Exact weighted maximal covering as an integer programme, solved by HiGHS.

    ``max sum_i w_i y_i`` s.t. ``y_i <= sum_{j covers i} x_j``, ``sum_j x_j <= budget``,
    (``sum_{j in site} x_j <= 1``), ``x`` binary, ``0 <= y <= 1``. Demand points no pose
    covers are left out. The gap is HiGHS' relative MIP gap ``|bound - objective| /
    |objective|`` (0 when proven optimal).

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.sparse import csc_matrix
    >>> A = csc_matrix(np.array([[1, 0, 0], [1, 1, 0], [0, 1, 1], [0, 0, 1]]))
    >>> r = solve_ilp(A, np.ones(4), 2)
    >>> sorted(r.selected.tolist()), r.objective, r.gap
    ([0, 2], 4.0, 0.0)
    """
    import highspy

    t0 = time.perf_counter()
    A = csc_matrix(A)
    w = np.asarray(weights, dtype=float)
    keep_rows = np.nonzero((A.getnnz(axis=1) > 0) & (w > 0))[0]
    A = A[keep_rows]
    w = w[keep_rows]
    n_d, n_p = A.shape
    site_rows = {}
    if sites is not None:
        s = np.asarray(sites)
        uniq, inv, counts = np.unique(s, return_inverse=True, return_counts=True)
        multi = counts[inv] > 1
        for k, j in zip(inv[multi], np.nonzero(multi)[0]):
            site_rows.setdefault(int(k), []).append(int(j))
    site_list = list(site_rows.values())
    n_rows = n_d + 1 + len(site_list)
    # column-wise matrix: x_j columns (coverage rows -1, budget +1, site +1), y_i columns
    x_site = {}
    for r, js in enumerate(site_list):
        for j in js:
            x_site[j] = n_d + 1 + r
    starts, index, value = [0], [], []
    for j in range(n_p):
        rows = A.indices[A.indptr[j]:A.indptr[j + 1]]
        index.extend(rows.tolist())
        value.extend([-1.0] * len(rows))
        index.append(n_d)
        value.append(1.0)
        if j in x_site:
            index.append(x_site[j])
            value.append(1.0)
        starts.append(len(index))
    for i in range(n_d):
        index.append(i)
        value.append(1.0)
        starts.append(len(index))
    lp = highspy.HighsLp()
    lp.num_col_ = n_p + n_d
    lp.num_row_ = n_rows
    lp.col_cost_ = np.r_[np.zeros(n_p), w]
    lp.col_lower_ = np.zeros(n_p + n_d)
    lp.col_upper_ = np.ones(n_p + n_d)
    lp.row_lower_ = np.full(n_rows, -highspy.kHighsInf)
    lp.row_upper_ = np.r_[np.zeros(n_d), float(budget), np.ones(len(site_list))]
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.asarray(starts, dtype=np.int32)
    lp.a_matrix_.index_ = np.asarray(index, dtype=np.int32)
    lp.a_matrix_.value_ = np.asarray(value, dtype=float)
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.integrality_ = [highspy.HighsVarType.kInteger] * n_p + \
        [highspy.HighsVarType.kContinuous] * n_d
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit))
    h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
    h.setOptionValue("threads", 1)
    h.passModel(lp)
    if warm_start is not None and len(warm_start):
        x0 = np.zeros(n_p)
        x0[np.asarray(warm_start, dtype=np.int64)] = 1.0
        y0 = np.minimum(1.0, A @ x0)
        sol = highspy.HighsSolution()
        sol.col_value = list(np.r_[x0, y0])
        sol.value_valid = True
        try:
            h.setSolution(sol)
        except Exception:  # pragma: no cover - older highspy
            pass
    h.run()
    status = h.modelStatusToString(h.getModelStatus())
    info = h.getInfo()
    col = np.asarray(h.getSolution().col_value) if info.primal_solution_status else np.zeros(0)
    selected = np.nonzero(col[:n_p] > 0.5)[0] if len(col) else np.zeros(0, dtype=np.int64)
    x = np.zeros(n_p)
    x[selected] = 1
    objective = float(w[(A @ x) > 0].sum()) if n_p else 0.0
    bound = float(info.mip_dual_bound) if math.isfinite(info.mip_dual_bound) else objective
    gap = float(info.mip_gap) if math.isfinite(info.mip_gap) else (
        abs(bound - objective) / max(abs(objective), 1e-12))
    if gap < 1e-9:
        gap = 0.0
    return IlpResult(selected.astype(np.int64), objective, bound, gap, status,
                     time.perf_counter() - t0,
                     {"nodes": int(info.mip_node_count), "rows": n_rows, "cols": n_p + n_d})


@dataclass
class PlacementResult:
    """What :func:`recommend_cameras` returns.

    Attributes
    ----------
    proposals
        ``camera_proposals``: points (storage CRS) with ``id``, ``rank``, ``kind``,
        ``direction``, ``fov_deg``, ``range_m``, ``height_m``, ``tilt_deg``, ``gain``
        (weighted demand newly seen), ``gain_area_m2``, ``zone_id``.
    effects
        Per zone affected: the coverage figures before and after (``*_before``,
        ``*_after``).
    views
        The new cameras' visible areas (``camera_views`` shape).
    info
        Method, objective, gap, counts and timings.
    """

    proposals: gpd.GeoDataFrame
    effects: pd.DataFrame
    views: gpd.GeoDataFrame
    info: dict


def recommend_cameras(layers: dict, *, budget: int, estate: str | None = None,
                      method: str | None = None, settings: dict | str | None = None,
                      seen=None, existing_views: gpd.GeoDataFrame | None = None,
                      time_limit: float | None = None) -> PlacementResult:
    """Recommend ``budget`` new cameras for the district or for one estate.

    Parameters
    ----------
    layers
        Project layers: ``buildings``, ``cameras``, ``estates``, ``streets``,
        ``incidents`` and the zone layers for the before/after report.
    budget
        New cameras to place (at most).
    estate
        Estate id: place only inside (or within ``estate_margin_m`` of) this estate, for
        its open space. None: all estates of the district.
    method
        ``"greedy"`` or ``"ilp"`` (default ``[placement] method``).
    settings
        Coverage settings override.
    seen, existing_views
        What the existing cameras see (computed when neither is given).
    time_limit
        ILP time limit in seconds (default ``[placement] ilp_time_limit_s``).

    Returns
    -------
    PlacementResult

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> crs = 4547
    >>> est = gpd.GeoDataFrame({"id": ["E1"], "is_old": [True]},
    ...                        geometry=[shapely.box(0, 0, 60, 40)], crs=crs)
    >>> bld = gpd.GeoDataFrame({"id": ["B1"], "households": [24]},
    ...                        geometry=[shapely.box(20, 15, 40, 25)], crs=crs)
    >>> cams = gpd.GeoDataFrame({"id": []}, geometry=[], crs=crs)
    >>> r = recommend_cameras({"estates": est, "buildings": bld, "cameras": cams},
    ...                       budget=2, estate="E1")
    >>> len(r.proposals), r.info["method"]
    (2, 'greedy')
    """
    from beatgrid.gis.coverage.analysis import SeenIndex, coverage_stats, zones_from_layers
    from beatgrid.gis.coverage.visibility import camera_views

    t0 = time.perf_counter()
    cfg = coverage_settings(settings)
    pl = cfg["placement"]
    method = method or pl["method"]
    if method not in ("greedy", "ilp"):
        raise InputError(f"placement method {method!r} is unknown", fix="use 'greedy' or 'ilp'")
    if int(budget) != budget or budget < 1:
        raise InputError(f"--budget {budget!r} must be a whole number of cameras >= 1",
                         fix="give e.g. --budget 10")
    budget = int(budget)
    buildings = layers.get("buildings")
    estates = layers.get("estates")
    cams = layers.get("cameras")
    if estates is None or not len(estates):
        raise InputError("the project has no estates: placement targets estate open space",
                         fix="import or draw the estates layer first")
    crs = metric_crs(estates, layer="estates")
    if buildings is None:
        buildings = gpd.GeoDataFrame({"households": []}, geometry=[], crs=estates.crs)
    if cams is None:
        cams = gpd.GeoDataFrame({"id": []}, geometry=[], crs=estates.crs)
    timings = {}
    # target zones
    if estate is not None:
        ids = estates["id"].astype(str)
        if str(estate) not in set(ids):
            raise NotFoundError(f"estate {estate!r} is not in the estates layer",
                                fix="use an id such as " + ", ".join(ids.iloc[:5]))
        target = estates[ids == str(estate)]
    else:
        target = estates
    target_m = target.to_crs(crs)
    # what the existing cameras see (near the target only)
    t = time.perf_counter()
    if seen is None:
        if existing_views is None:
            reach = float(np.nanmax(pd.to_numeric(cams.get("range_m", pd.Series([0.0])),
                                                  errors="coerce").fillna(0).to_numpy(),
                                    initial=0.0)) + 200.0
            area = shapely.buffer(shapely.union_all(target_m.geometry.values), reach)
            cam_m = cams.to_crs(crs) if len(cams) else cams
            near = cam_m[shapely.intersects(area, cam_m.geometry.values)] if len(cam_m) \
                else cam_m
            bld_m = buildings.to_crs(crs) if len(buildings) else buildings
            existing_views = camera_views(near, bld_m, settings=cfg, metric=True) \
                if len(near) else None
        seen = SeenIndex(existing_views, crs=crs, multi=False) if existing_views is not None \
            and len(existing_views) else None
    timings["existing_views_s"] = time.perf_counter() - t
    # demand
    t = time.perf_counter()
    demand = demand_points(target_m.geometry, buildings=buildings, seen=seen,
                           incidents=layers.get("incidents"), crs=crs, settings=cfg)
    timings["demand_s"] = time.perf_counter() - t
    # candidates
    t = time.perf_counter()
    within = None
    if estate is not None:
        within = gpd.GeoSeries(target_m.geometry.values, crs=crs).buffer(
            float(pl["estate_margin_m"])).to_crs(buildings.crs if len(buildings)
                                                 else estates.crs).iloc[0]
    bld_in = buildings
    if len(buildings):
        zone = shapely.buffer(shapely.union_all(target_m.geometry.values),
                              float(pl["range_m"]))
        bm = buildings.to_crs(crs)
        bld_in = buildings[shapely.intersects(zone, bm.geometry.values)]
    streets = layers.get("streets")
    poses = candidate_poses(bld_in, streets, within=within, settings=cfg)
    if len(poses) and poses.crs != crs:
        poses = poses.to_crs(crs)
    if len(poses) and len(demand):
        near = shapely.STRtree(demand.geometry.values).query(
            poses.geometry.values, predicate="dwithin", distance=float(pl["range_m"]))[0]
        poses = poses.iloc[np.unique(near)].reset_index(drop=True)
    timings["candidates_s"] = time.perf_counter() - t
    # coverage matrix
    t = time.perf_counter()
    occ = Occluders(buildings.to_crs(crs).geometry.values if len(buildings) else [])
    A, views = coverage_matrix(poses, demand, occluders=occ, settings=cfg, return_views=True)
    timings["matrix_s"] = time.perf_counter() - t
    w = demand["weight"].to_numpy(float)
    sites = poses["site"].to_numpy() if pl["one_pose_per_site"] and len(poses) else None
    t = time.perf_counter()
    greedy = lazy_greedy(A, w, budget, sites=sites)
    info = {"method": method, "budget": budget, "estate": estate, "candidates": len(poses),
            "demand_points": len(demand), "demand_weight": float(w.sum()),
            "greedy_objective": greedy.objective}
    selected, gains = greedy.selected, greedy.gains
    if method == "ilp":
        ilp = solve_ilp(A, w, budget, sites=sites, warm_start=greedy.selected,
                        time_limit=float(time_limit if time_limit is not None
                                         else pl["ilp_time_limit_s"]),
                        mip_rel_gap=float(pl["ilp_mip_rel_gap"]))
        info.update({"objective": ilp.objective, "bound": ilp.bound, "gap": ilp.gap,
                     "status": ilp.status})
        if ilp.objective >= greedy.objective - 1e-9:
            selected = _order_by_gain(A, w, ilp.selected)
            gains = _marginal_gains(A, w, selected)
    else:
        info["objective"] = greedy.objective
    timings["solve_s"] = time.perf_counter() - t
    step = float(pl["demand_spacing_m"])
    chosen = poses.iloc[selected].reset_index(drop=True)
    cell = step * step
    gain_pts = np.zeros(len(selected))
    cov = np.zeros(A.shape[0], dtype=bool)
    for k, j in enumerate(selected):
        rows = A.indices[A.indptr[j]:A.indptr[j + 1]]
        gain_pts[k] = (~cov[rows]).sum()
        cov[rows] = True
    info["covered_weight_share"] = float(w[cov].sum() / w.sum()) if w.sum() > 0 else 0.0
    info["stopped_early"] = len(selected) < budget
    est_m = estates.to_crs(crs)
    zone_idx = _first_zone(chosen.geometry.values, est_m.geometry.values)
    est_ids = est_m["id"].astype(str).to_numpy()
    proposals = gpd.GeoDataFrame({
        "id": [f"NEW{k + 1:03d}" for k in range(len(chosen))],
        "rank": np.arange(1, len(chosen) + 1),
        "kind": chosen["kind"].to_numpy(),
        "direction": chosen["direction"].to_numpy().round(1),
        "fov_deg": chosen["fov_deg"].to_numpy(),
        "range_m": chosen["range_m"].to_numpy(),
        "height_m": chosen["height_m"].to_numpy(),
        "tilt_deg": chosen["tilt_deg"].to_numpy(),
        "gain": np.asarray(gains, dtype=float),
        "gain_area_m2": gain_pts * cell,
        "estate_id": np.where(zone_idx >= 0, est_ids[np.maximum(zone_idx, 0)], None),
    }, geometry=gpd.GeoSeries(chosen.geometry.values, crs=crs), crs=crs)
    # before / after per zone touched by the new views
    t = time.perf_counter()
    new_cams = proposals[["id", "direction", "fov_deg", "range_m", "height_m", "tilt_deg",
                          "geometry"]].copy()
    with_levels = existing_views is None or not len(existing_views) or bool(
        levels_of(existing_views))
    new_views = camera_views(new_cams, buildings.to_crs(crs) if len(buildings) else
                             buildings, settings=cfg, metric=True, levels=with_levels) \
        if len(new_cams) else None
    effects = _effects(layers, new_views, new_cams, existing_views, crs, cfg,
                       zones_from_layers, coverage_stats, SeenIndex)
    timings["effects_s"] = time.perf_counter() - t
    timings["total_s"] = time.perf_counter() - t0
    info["timings"] = timings
    out_crs = cams.crs if cams.crs is not None else estates.crs
    views_out = new_views.to_crs(out_crs) if new_views is not None else None
    return PlacementResult(proposals.to_crs(out_crs), effects, views_out, info)


def _first_zone(points, zones):
    out = np.full(len(points), -1, dtype=np.int64)
    if len(points) and len(zones):
        p, z = shapely.STRtree(zones).query(points, predicate="intersects")
        f = np.unique(p, return_index=True)[1]
        out[p[f]] = z[f]
    return out


def _marginal_gains(A, w, order):
    cov = np.zeros(A.shape[0], dtype=bool)
    gains = []
    for j in order:
        rows = A.indices[A.indptr[j]:A.indptr[j + 1]]
        gains.append(float(w[rows][~cov[rows]].sum()))
        cov[rows] = True
    return np.asarray(gains)


def _order_by_gain(A, w, chosen):
    """Order a chosen set greedily (largest marginal gain first) for reporting."""
    sub = csc_matrix(A)[:, chosen]
    r = lazy_greedy(sub, w, len(chosen))
    rest = [j for j in range(len(chosen)) if j not in set(r.selected.tolist())]
    return np.asarray(chosen)[np.r_[r.selected, rest].astype(np.int64)]


def levels_of(views) -> list:
    """Quality level names present in views, in order (without ``all``)."""
    return [lv for lv in dict.fromkeys(views["level"].astype(str)) if lv != "all"]


def _effects(layers, new_views, new_cams, existing_views, crs, cfg, zones_from_layers,
             coverage_stats, SeenIndex):
    cols = ["zone_type", "zone_id"]
    if new_views is None or not len(new_views):
        return pd.DataFrame(columns=cols)
    zdict = zones_from_layers(layers, settings=cfg)
    reach = shapely.union_all(new_views[new_views.level == "all"].geometry.values)
    affected = {}
    for ztype, zdf in zdict.items():
        zm = zdf.to_crs(crs)
        hit = shapely.intersects(reach, zm.geometry.values) | shapely.intersects(
            shapely.union_all(new_cams.geometry.values), zm.geometry.values)
        if hit.any():
            affected[ztype] = zm[hit]
    if not affected:
        return pd.DataFrame(columns=cols)
    buildings = layers.get("buildings")
    cams = layers.get("cameras")
    allz = shapely.union_all(np.concatenate([z.geometry.values for z in affected.values()]))
    pad = shapely.buffer(allz, 200.0)
    ev = existing_views.to_crs(crs) if existing_views is not None and len(existing_views) \
        else new_views.iloc[:0]
    cam_m = cams.to_crs(crs) if cams is not None and len(cams) else None
    if cam_m is not None:
        # cameras near the affected zones whose views were not computed yet
        ids = cam_m["id"].astype(str) if "id" in cam_m.columns else cam_m.index.astype(str)
        have = set(ev["camera_id"].astype(str)) if len(ev) else set()
        todo = cam_m[shapely.intersects(pad, cam_m.geometry.values) & ~ids.isin(have).to_numpy()]
        if len(todo):
            from beatgrid.gis.coverage.visibility import camera_views
            more = camera_views(todo, buildings.to_crs(crs), settings=cfg, metric=True,
                                levels=len(levels_of(new_views)) > 0)
            ev = gpd.GeoDataFrame(pd.concat([ev, more], ignore_index=True), geometry="geometry",
                                  crs=crs)
    ev = ev[shapely.intersects(pad, ev.geometry.values)] if len(ev) else ev
    nested = cfg["visibility"]["zones"] == "nested"
    levels = levels_of(new_views)
    before_seen = SeenIndex(ev, crs=crs, levels=levels, nested=nested)
    both = pd.concat([ev, new_views], ignore_index=True)
    after_seen = SeenIndex(gpd.GeoDataFrame(both, geometry="geometry", crs=crs), crs=crs,
                           levels=levels, nested=nested)
    cam_m = cams.to_crs(crs) if cams is not None and len(cams) else None
    cam_after = new_cams[["id", "geometry"]] if cam_m is None else gpd.GeoDataFrame(
        pd.concat([cam_m[["geometry"]], new_cams[["geometry"]]], ignore_index=True),
        geometry="geometry", crs=crs)
    b = coverage_stats(ev, zones=affected, buildings=buildings, cameras=cam_m, settings=cfg,
                       seen=before_seen, nested=nested)
    a = coverage_stats(both, zones=affected, buildings=buildings, cameras=cam_after,
                       settings=cfg, seen=after_seen, nested=nested)
    figures = [c for c in b.columns if c.startswith("seen_share_")] + [
        "multi_seen_share", "perimeter_seen_share", "cameras_inside",
        "cameras_per_1000_households"]
    out = b[["zone_type", "zone_id", "households", "open_area_m2"]].copy()
    for c in figures:
        out[f"{c}_before"] = b[c].to_numpy()
        out[f"{c}_after"] = a[c].to_numpy()
    out["new_cameras"] = a["cameras_inside"].to_numpy() - b["cameras_inside"].to_numpy()
    return pd.DataFrame(out).reset_index(drop=True)
