"""Incident hotspots and trends: kernel density, Getis-Ord Gi*, period-on-period change.

* :func:`kernel_density`: incidents per km² on a square raster, quartic (biweight)
  kernel ``K(d) = 3 / (pi h²) x (1 - d²/h²)²`` for ``d < h`` (the usual crime-mapping
  kernel), bandwidth ``hotspots.kde_bandwidth_m``, cell ``hotspots.kde_cell_m``;
  the raster never exceeds ``hotspots.kde_max_cells`` cells (the cell is coarsened
  and the result says so in ``attrs``).
* :func:`gi_star`: Getis-Ord Gi* of a value per zone (basic grids or beats) with
  PySAL ``esda.G_Local(star=True)`` on binary ``libpysal`` weights (queen
  contiguity or *k* nearest neighbours) and conditional permutation p-values
  (``hotspots.permutations``, ``hotspots.seed``); a zone is a hot (cold) spot when
  its pseudo p-value is at most ``hotspots.significance`` and its z-score is
  positive (negative).
* :func:`period_change`: incidents per beat in the current period against the
  previous period (环比) or the same period a year before (同比), e.g. preventable
  cases down 10.7%.

Everything is computed in the metric CRS (:func:`beatgrid.gis.crs.to_metric`).

Examples
--------
>>> import geopandas as gpd, shapely
>>> pts = gpd.GeoDataFrame(geometry=[shapely.Point(500, 500)] * 3, crs=32651)
>>> kde = kernel_density(pts, bandwidth_m=100, cell_m=50, bounds=(0, 0, 1000, 1000))
>>> round(float(kde["density_km2"].max()), 1)   # 3 x 3 / (pi 0.1 km²) x (1 - 0.125)², 35 m off
219.3
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from beatgrid.gis.policing.beats import _metric, locate_points
from beatgrid.gis.errors import InputError
from beatgrid.gis.policing.policy import default_policy

GI_COLUMNS = ["zone_id", "value", "gi_z", "p_norm", "p_sim", "hotspot", "confidence"]
CHANGE_COLUMNS = ["beat_id", "previous", "current", "change", "pct_change", "trend"]


# --------------------------------------------------------------------------------------
# Kernel density
# --------------------------------------------------------------------------------------

def kernel_density(points: gpd.GeoDataFrame | gpd.GeoSeries, *, bandwidth_m: float | None = None,
                   cell_m: float | None = None, bounds=None, max_cells: int | None = None,
                   weights=None, policy: Mapping | None = None,
                   keep_zero: bool = False) -> gpd.GeoDataFrame:
    """Quartic kernel density of points, in points per km², on square cells.

    Parameters
    ----------
    points
        Incident points (any CRS; computed in the metric CRS).
    bandwidth_m, cell_m, max_cells
        Override ``hotspots.kde_bandwidth_m``, ``kde_cell_m``, ``kde_max_cells``.
    bounds
        ``(xmin, ymin, xmax, ymax)`` of the raster in the metric CRS; default the
        points' extent grown by the bandwidth.
    weights
        Weight per point (default 1).
    policy
        Staffing policy (``[hotspots]``); default the shipped one.
    keep_zero
        Keep cells of zero density (default: only cells with density).

    Returns
    -------
    GeoDataFrame
        Cells (polygons, in the CRS of ``points``) with ``row``, ``col`` and
        ``density_km2``. ``attrs`` holds ``cell_m``, ``bandwidth_m``,
        ``coarsened`` (True when ``max_cells`` forced a larger cell) and ``crs``
        (the metric CRS).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> pts = gpd.GeoDataFrame(geometry=[shapely.Point(0, 0)], crs=32651)
    >>> kde = kernel_density(pts, bandwidth_m=200, cell_m=400, bounds=(-200, -200, 200, 200))
    >>> len(kde), round(float(kde.density_km2.iloc[0]), 2)   # cell centre on the point
    (1, 23.87)
    """
    policy = policy if policy is not None else default_policy()
    hs = policy["hotspots"]
    h = float(hs["kde_bandwidth_m"] if bandwidth_m is None else bandwidth_m)
    cell = float(hs["kde_cell_m"] if cell_m is None else cell_m)
    limit = int(hs["kde_max_cells"] if max_cells is None else max_cells)
    if h <= 0 or cell <= 0 or limit <= 0:
        raise InputError(f"bandwidth {h!r}, cell {cell!r} and max cells {limit!r} must be > 0",
                         fix="use e.g. bandwidth_m=300, cell_m=100")
    geo = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
    if len(geo) == 0:
        raise InputError("no incidents to map", fix="import the incidents layer first")
    pm = _metric(gpd.GeoDataFrame(geometry=geo), layer="incidents")
    # centroid: robust to points stored as one-part MultiPoints
    cen = shapely.centroid(pm.geometry.array)
    x, y = shapely.get_x(cen), shapely.get_y(cen)
    ok = np.isfinite(x) & np.isfinite(y)
    w = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=float)
    x, y, w = x[ok], y[ok], w[ok]
    if bounds is None:
        bounds = (x.min() - h, y.min() - h, x.max() + h, y.max() + h)
    x0, y0, x1, y1 = map(float, bounds)
    coarsened = False
    while math.ceil((x1 - x0) / cell) * math.ceil((y1 - y0) / cell) > limit:
        cell *= 1.5
        coarsened = True
    ncol = max(1, math.ceil((x1 - x0) / cell))
    nrow = max(1, math.ceil((y1 - y0) / cell))
    grid = np.zeros(nrow * ncol)
    reach = int(math.ceil(h / cell))
    off = np.arange(-reach, reach + 1)
    di, dj = (a.ravel() for a in np.meshgrid(off, off, indexing="ij"))
    pc = np.floor((x - x0) / cell).astype(np.int64)
    pr = np.floor((y - y0) / cell).astype(np.int64)
    norm = 3.0 / (math.pi * h * h) * 1e6  # per km²
    chunk = max(1, 2_000_000 // len(di))
    for s in range(0, len(x), chunk):
        rr = pr[s:s + chunk, None] + di[None, :]
        cc = pc[s:s + chunk, None] + dj[None, :]
        cx = x0 + (cc + 0.5) * cell
        cy = y0 + (rr + 0.5) * cell
        d2 = (cx - x[s:s + chunk, None]) ** 2 + (cy - y[s:s + chunk, None]) ** 2
        k = np.where(d2 < h * h, (1.0 - d2 / (h * h)) ** 2, 0.0) * w[s:s + chunk, None]
        inside = (rr >= 0) & (rr < nrow) & (cc >= 0) & (cc < ncol) & (k > 0)
        grid += np.bincount((rr * ncol + cc)[inside], weights=k[inside], minlength=nrow * ncol)
    grid *= norm
    idx = np.arange(nrow * ncol) if keep_zero else np.flatnonzero(grid > 0)
    rows, cols = idx // ncol, idx % ncol
    polys = shapely.box(x0 + cols * cell, y0 + rows * cell, x0 + (cols + 1) * cell,
                        y0 + (rows + 1) * cell)
    out = gpd.GeoDataFrame({"row": rows, "col": cols, "density_km2": grid[idx]},
                           geometry=polys, crs=pm.crs)
    if geo.crs is not None and geo.crs != pm.crs:
        out = out.to_crs(geo.crs)
    out.attrs.update({"cell_m": cell, "bandwidth_m": h, "coarsened": coarsened,
                      "crs": pm.crs.to_string()})
    return out


# --------------------------------------------------------------------------------------
# Getis-Ord Gi*
# --------------------------------------------------------------------------------------

def spatial_weights(zones: gpd.GeoDataFrame, *, kind: str = "queen", k: int = 6):
    """Binary libpysal weights of ``zones``: ``"queen"`` contiguity or ``"knn"``.

    Queen weights of zones without any neighbour (islands) are completed with
    their nearest neighbour so every zone has a neighbourhood.
    """
    from libpysal import weights as lw

    zm = _metric(zones.reset_index(drop=True), layer="zones")
    if kind == "knn":
        kk = min(int(k), len(zm) - 1)
        if kk < 1:
            raise InputError("Gi* needs at least two zones", fix="use more zones")
        cent = np.column_stack([zm.geometry.centroid.x, zm.geometry.centroid.y])
        w = lw.KNN(cent, k=kk)
    elif kind == "queen":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            w = lw.Queen.from_dataframe(zm, use_index=False, silence_warnings=True)
        if w.islands and len(zm) > 1:
            cent = np.column_stack([zm.geometry.centroid.x, zm.geometry.centroid.y])
            knn = lw.KNN(cent, k=1)
            neigh = {i: list(w.neighbors[i]) for i in range(len(zm))}
            for i in w.islands:
                j = knn.neighbors[i][0]
                neigh[i].append(j)
                neigh[j].append(i)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                w = lw.W({i: sorted(set(v)) for i, v in neigh.items()}, silence_warnings=True)
    else:
        raise InputError(f"unknown weights {kind!r}", fix="use 'queen' or 'knn'")
    w.transform = "B"
    return w


def gi_star(zones: gpd.GeoDataFrame, values, *, weights=None, permutations: int | None = None,
            seed: int | None = None, significance: float | None = None,
            policy: Mapping | None = None, id_column: str = "id") -> pd.DataFrame:
    """Getis-Ord Gi* hot and cold spots of ``values`` over ``zones`` (PySAL esda).

    Parameters
    ----------
    zones
        Zone polygons (basic grids or beats) with ``id_column``.
    values
        Value per zone, in the order of ``zones`` (e.g. incident counts).
    weights
        ``"queen"``, ``"knn"`` or a libpysal ``W``; default ``hotspots.weights``.
    permutations, seed, significance
        Override ``hotspots.permutations`` (0: analytical p-values only),
        ``hotspots.seed`` and ``hotspots.significance``.
    policy
        Staffing policy (``[hotspots]``); default the shipped one.

    Returns
    -------
    DataFrame
        :data:`GI_COLUMNS`: ``gi_z`` (standardised Gi*), ``p_norm`` (normal
        approximation), ``p_sim`` (pseudo p-value from the permutations, NaN without
        them), ``hotspot`` (``hot``, ``cold`` or ``not significant``) and
        ``confidence`` (99, 95 or 90 percent, 0 when not significant at 90%).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> cells = [shapely.box(i, j, i + 1, j + 1) for i in range(7) for j in range(7)]
    >>> z = gpd.GeoDataFrame({"id": [f"c{i}" for i in range(49)]}, geometry=cells, crs=32651)
    >>> vals = [9 if (i // 7 <= 1 and i % 7 <= 1) else 1 for i in range(49)]
    >>> r = gi_star(z, vals, permutations=199, seed=1)
    >>> sorted(r.loc[r.hotspot == "hot", "zone_id"])
    ['c0', 'c1', 'c2', 'c7', 'c8']
    """
    from esda.getisord import G_Local

    policy = policy if policy is not None else default_policy()
    hs = policy["hotspots"]
    perms = int(hs["permutations"] if permutations is None else permutations)
    seed = int(hs["seed"] if seed is None else seed)
    alpha = float(hs["significance"] if significance is None else significance)
    y = np.asarray(values, dtype=float)
    n = len(zones)
    if len(y) != n:
        raise InputError(f"{len(y)} values for {n} zones", fix="give one value per zone")
    if n < 3:
        raise InputError(f"Gi* needs at least 3 zones, got {n}", fix="use grids or more beats")
    if isinstance(weights, str) or weights is None:
        w = spatial_weights(zones, kind=weights or hs["weights"], k=hs["knn_k"])
    else:
        w = weights
        w.transform = "B"
    out = pd.DataFrame({"zone_id": zones[id_column].astype(str).to_numpy(), "value": y})
    if not np.isfinite(y).all():
        raise InputError("Gi* values must be finite", fix="fill missing values with 0")
    if np.ptp(y) == 0:
        out["gi_z"], out["p_norm"], out["p_sim"] = 0.0, 1.0, np.nan if not perms else 1.0
        out["hotspot"], out["confidence"] = "not significant", 0
        return out[GI_COLUMNS]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = G_Local(y, w, transform="B", star=True, permutations=perms, seed=seed, n_jobs=1,
                    keep_simulations=False)
    z = np.asarray(g.Zs, dtype=float)
    p_norm = np.asarray(g.p_norm, dtype=float)
    # esda's p_norm is one-sided; double it for a two-sided test comparable to p_sim
    p_norm = np.minimum(1.0, 2 * p_norm)
    p_sim = np.asarray(g.p_sim, dtype=float) if perms else np.full(n, np.nan)
    p = p_sim if perms else p_norm
    out["gi_z"] = z
    out["p_norm"] = p_norm
    out["p_sim"] = p_sim
    sig = p <= alpha
    out["hotspot"] = np.where(sig & (z > 0), "hot", np.where(sig & (z < 0), "cold",
                                                             "not significant"))
    out["confidence"] = np.select([p <= 0.01, p <= 0.05, p <= 0.10], [99, 95, 90], 0)
    return out[GI_COLUMNS]


def zone_counts(points, zones: gpd.GeoDataFrame, *, measure: str = "count",
                id_column: str = "id") -> np.ndarray:
    """Incidents per zone (``"count"``) or per km² of the zone (``"per_km2"``)."""
    where = locate_points(points, zones.reset_index(drop=True), id_column=id_column)
    ids = zones[id_column].astype(str)
    counts = ids.map(where.value_counts()).fillna(0).to_numpy(dtype=float)
    if measure == "per_km2":
        area = _metric(zones, layer="zones").geometry.area.to_numpy() / 1e6
        return np.where(area > 0, counts / np.where(area > 0, area, 1), 0.0)
    if measure != "count":
        raise InputError(f"unknown measure {measure!r}", fix="use 'count' or 'per_km2'")
    return counts


# --------------------------------------------------------------------------------------
# Period-on-period change
# --------------------------------------------------------------------------------------

def period_windows(times, *, period_days: int = 0, compare: str = "previous", end=None):
    """The current and comparison windows ``((start, end), (start, end))``, end exclusive.

    The current period ends at the end of the day of ``end`` (default: of the last
    incident) and lasts ``period_days`` (0: half the span of ``times`` for
    ``"previous"``, the span minus 365 days, at most 365, for ``"year"``). The
    comparison period is the one just before (``"previous"``, 环比) or the same
    window a year before (``"year"``, 同比).

    Examples
    --------
    >>> t = pd.to_datetime(["2023-01-01", "2023-12-31"])
    >>> cur, prev = period_windows(t, period_days=0)
    >>> str(cur[0].date()), str(cur[1].date()), str(prev[0].date())
    ('2023-07-03', '2024-01-01', '2023-01-02')
    """
    t = pd.to_datetime(pd.Series(times), errors="coerce").dropna()
    if t.empty:
        raise InputError("the incidents have no occurred_at: no period can be compared",
                         fix="import incidents with their date and time")
    stop = (pd.Timestamp(end) if end is not None else t.max()).normalize() + pd.Timedelta(days=1)
    span = int((stop - t.min().normalize()).days)
    if compare not in ("previous", "year"):
        raise InputError(f"unknown comparison {compare!r}", fix="use 'previous' or 'year'")
    days = int(period_days)
    if days <= 0:
        days = span // 2 if compare == "previous" else min(span - 365, 365)
        if days < 1:
            raise InputError(f"the incidents cover {span} day(s): too short for a "
                             f"{'year-on-year' if compare == 'year' else 'period'} comparison",
                             fix="give period_days or import a longer incident history")
    start = stop - pd.Timedelta(days=days)
    if compare == "previous":
        prev = (start - pd.Timedelta(days=days), start)
    else:
        prev = (start - pd.DateOffset(years=1), stop - pd.DateOffset(years=1))
    return (start, stop), prev


def period_change(incidents: pd.DataFrame, beat_of_incident, *, beat_ids=None,
                  period_days: int | None = None, compare: str | None = None, end=None,
                  preventable_only: bool = False, categories=None,
                  policy: Mapping | None = None) -> pd.DataFrame:
    """Incidents per beat, current period against the comparison period.

    Parameters
    ----------
    incidents
        The ``incidents`` layer (``occurred_at``, ``category``, ``preventable``).
    beat_of_incident
        Beat id of each incident (aligned with ``incidents``).
    beat_ids
        Beats to list (default those with incidents).
    period_days, compare
        Override ``hotspots.period_days`` and ``hotspots.compare``
        (:func:`period_windows`).
    end
        Last day of the current period (default: the last incident's day).
    preventable_only
        Count preventable cases (可防性案件) only.
    categories
        Count these categories only.
    policy
        Staffing policy; default the shipped one.

    Returns
    -------
    DataFrame
        :data:`CHANGE_COLUMNS`, one row per beat and a last row ``(all)``;
        ``pct_change`` is ``100 x (current - previous) / previous`` rounded to 0.1
        (NaN when previous is 0); ``trend`` is ``down``, ``up``, ``flat`` or
        ``new``. ``attrs`` holds the windows (``current``, ``previous``).

    Examples
    --------
    >>> t = pd.to_datetime(["2023-02-01"] * 28 + ["2023-08-01"] * 25)
    >>> inc = pd.DataFrame({"occurred_at": t, "preventable": True})
    >>> r = period_change(inc, ["b1"] * 53, period_days=181, end="2023-12-31")
    >>> print(r.to_string(index=False))
    beat_id  previous  current  change  pct_change trend
         b1        28       25      -3       -10.7  down
      (all)        28       25      -3       -10.7  down
    """
    policy = policy if policy is not None else default_policy()
    hs = policy["hotspots"]
    days = hs["period_days"] if period_days is None else period_days
    how = hs["compare"] if compare is None else compare
    times = pd.to_datetime(incidents["occurred_at"], errors="coerce") \
        if "occurred_at" in incidents else pd.Series(pd.NaT, index=incidents.index)
    cur, prev = period_windows(times, period_days=days, compare=how, end=end)
    beats = pd.Series(np.asarray(beat_of_incident, dtype=object), index=incidents.index)
    keep = beats.notna()
    if preventable_only:
        keep &= incidents["preventable"].fillna(False).astype(bool)
    if categories is not None:
        keep &= incidents["category"].isin(list(categories))
    in_cur = keep & (times >= cur[0]) & (times < cur[1])
    in_prev = keep & (times >= prev[0]) & (times < prev[1])
    ids = pd.Index([str(b) for b in (beat_ids if beat_ids is not None
                                     else sorted(pd.unique(beats[keep].astype(str))))])
    c = beats[in_cur].astype(str).value_counts()
    p = beats[in_prev].astype(str).value_counts()
    out = pd.DataFrame({"beat_id": ids, "previous": ids.map(p).fillna(0).astype(int),
                        "current": ids.map(c).fillna(0).astype(int)})
    total = pd.DataFrame({"beat_id": ["(all)"], "previous": [int(in_prev.sum())],
                          "current": [int(in_cur.sum())]})
    out = pd.concat([out, total], ignore_index=True)
    out["change"] = out["current"] - out["previous"]
    prev_n = out["previous"].astype(float)
    out["pct_change"] = (100 * out["change"] / prev_n.where(prev_n > 0)).round(1)
    out["trend"] = np.select(
        [out["previous"].eq(0) & out["current"].gt(0), out["change"] < 0, out["change"] > 0],
        ["new", "down", "up"], "flat")
    out.attrs.update({"current": cur, "previous": prev, "compare": how,
                      "preventable_only": preventable_only})
    return out[CHANGE_COLUMNS]


# --------------------------------------------------------------------------------------
# The whole hotspot analysis of a project
# --------------------------------------------------------------------------------------

@dataclass
class HotspotResult:
    """What ``beatgrid hotspots`` reports.

    Attributes
    ----------
    density
        :func:`kernel_density` cells.
    zones
        The zones tested (GeoDataFrame) with the :func:`gi_star` columns.
    zone_kind
        ``"grids"`` or ``"beats"``.
    change
        :func:`period_change` per beat (None without incident times).
    notes
        What the analysis assumed or skipped.
    """

    density: gpd.GeoDataFrame
    zones: gpd.GeoDataFrame
    zone_kind: str
    change: pd.DataFrame | None
    notes: list[str] = field(default_factory=list)


def hotspots_project(layers: Mapping[str, pd.DataFrame], *, zones: str = "auto",
                     policy: Mapping | None = None, permutations: int | None = None,
                     preventable_only: bool = False, period_days: int | None = None,
                     compare: str | None = None) -> HotspotResult:
    """Kernel density, Gi* (on basic grids, or beats) and change per beat of a project.

    Parameters
    ----------
    layers
        Project layers by name.
    zones
        ``"grids"``, ``"beats"`` or ``"auto"`` (grids when the project has at least
        3, else beats).
    policy
        Staffing policy (``[hotspots]``).
    permutations
        Override ``hotspots.permutations``.
    preventable_only
        Analyse preventable cases only.
    period_days, compare
        Override ``hotspots.period_days`` and ``hotspots.compare``.
    """
    from beatgrid.gis.policing.beats import incident_beats, resolve_beats

    policy = policy if policy is not None else default_policy()
    notes: list[str] = []
    inc = layers.get("incidents")
    if inc is None or len(inc) == 0:
        raise InputError("the project has no incidents", fix="import the incidents layer first")
    if preventable_only:
        inc = inc[inc["preventable"].fillna(False).astype(bool)]
        if len(inc) == 0:
            raise InputError("the project has no preventable incidents",
                             fix="drop --preventable")
    beats, _, _ = resolve_beats(layers)
    grids = layers.get("grids")
    if zones == "auto":
        zones = "grids" if grids is not None and len(grids) >= 3 else "beats"
        if zones == "beats":
            notes.append("no basic grids: Gi* computed on beats")
    if zones not in ("grids", "beats"):
        raise InputError(f"unknown zones {zones!r}", fix="use 'grids', 'beats' or 'auto'")
    zgdf = (grids if zones == "grids" else beats).reset_index(drop=True)
    if zgdf is None or len(zgdf) < 3:
        raise InputError(f"Gi* needs at least 3 {zones}", fix="use --zones beats or plan grids")
    measure = policy["hotspots"]["measure"]
    values = zone_counts(inc.geometry, zgdf, measure=measure)
    gi = gi_star(zgdf, values, permutations=permutations, policy=policy)
    zout = gpd.GeoDataFrame(gi, geometry=zgdf.geometry.to_numpy(), crs=zgdf.crs)
    density = kernel_density(inc, policy=policy)
    if density.attrs.get("coarsened"):
        notes.append(f"density raster coarsened to {density.attrs['cell_m']:.0f} m cells "
                     "(hotspots.kde_max_cells)")
    change = None
    ib = incident_beats(inc, beats)
    try:
        change = period_change(inc, ib, beat_ids=beats["id"].astype(str).tolist(),
                               period_days=period_days, compare=compare, policy=policy)
    except InputError as exc:
        notes.append(f"no period comparison: {exc.message}")
    return HotspotResult(density=density, zones=zout, zone_kind=zones, change=change,
                         notes=notes)


__all__ = ["GI_COLUMNS", "CHANGE_COLUMNS", "kernel_density", "spatial_weights", "gi_star",
           "zone_counts", "period_windows", "period_change", "HotspotResult",
           "hotspots_project"]
