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
* :func:`~beatgrid.gis.policing.trends.period_change` (in :mod:`.trends`, importable
  from here too): incidents per beat in the current period against the previous
  period (环比) or the same period a year before (同比), e.g. preventable cases down
  10.7%;
* :func:`hotspots_project`: the three on a project (``project.policing.hotspots()``).
  Incidents outside every beat (or grid) are counted in the notes, never dropped
  silently; those within ``beats.incident_snap_m`` metres of one are counted in the
  nearest (:func:`beatgrid.gis.policing.location.place_points`).

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
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from beatgrid.gis.config import section_or_default
from beatgrid.gis.crs import to_metric
from beatgrid.gis.errors import InputError
from beatgrid.gis.policing.beats import resolve_beats
from beatgrid.gis.policing.location import place_incidents, place_points
from beatgrid.gis.policing.trends import CHANGE_COLUMNS, period_change, period_windows

GI_COLUMNS = ["zone_id", "value", "gi_z", "p_norm", "p_sim", "hotspot", "confidence"]


# --------------------------------------------------------------------------------------
# Kernel density
# --------------------------------------------------------------------------------------

def kernel_density(points: gpd.GeoDataFrame | gpd.GeoSeries, *, bandwidth_m: float | None = None,
                   cell_m: float | None = None,
                   bounds: tuple[float, float, float, float] | None = None,
                   max_cells: int | None = None, weights: Any = None,
                   settings: Mapping[str, Any] | None = None,
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
    settings
        The ``policing`` settings (``[hotspots]``); default the shipped ones.
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
    hs = section_or_default(settings, "policing")["hotspots"]
    h = float(hs["kde_bandwidth_m"] if bandwidth_m is None else bandwidth_m)
    cell = float(hs["kde_cell_m"] if cell_m is None else cell_m)
    limit = int(hs["kde_max_cells"] if max_cells is None else max_cells)
    if h <= 0 or cell <= 0 or limit <= 0:
        raise InputError(f"bandwidth {h!r}, cell {cell!r} and max cells {limit!r} must be > 0",
                         fix="use e.g. bandwidth_m=300, cell_m=100")
    geo = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
    if len(geo) == 0:
        raise InputError("no incidents to map", fix="import the incidents layer first")
    pm = to_metric(gpd.GeoDataFrame(geometry=geo), layer="incidents")
    # centroid: robust to points stored as one-part MultiPoints
    cen = shapely.centroid(pm.geometry.array)
    x, y = shapely.get_x(cen), shapely.get_y(cen)
    ok = np.isfinite(x) & np.isfinite(y)
    w = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=float)
    x, y, w = x[ok], y[ok], w[ok]
    if bounds is None:
        bounds = (x.min() - h, y.min() - h, x.max() + h, y.max() + h)
    x0, y0, x1, y1 = (float(b) for b in bounds)
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

def spatial_weights(zones: gpd.GeoDataFrame, *, kind: str = "queen", k: int = 6) -> Any:
    """Binary libpysal weights of ``zones``: ``"queen"`` contiguity or ``"knn"``.

    Queen weights of zones without any neighbour (islands) are completed with
    their nearest neighbour so every zone has a neighbourhood.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> z = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1),
    ...                                shapely.box(5, 5, 6, 6)], crs=32651)
    >>> {i: [int(j) for j in n] for i, n in spatial_weights(z).neighbors.items()}
    {0: [1], 1: [0, 2], 2: [1]}
    """
    # libpysal takes about a second to import: only when Gi* is asked for
    from libpysal import weights as lw

    zm = to_metric(zones.reset_index(drop=True), layer="zones")
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


def gi_star(zones: gpd.GeoDataFrame, values: Any, *, weights: Any = None,
            permutations: int | None = None, seed: int | None = None,
            significance: float | None = None, settings: Mapping[str, Any] | None = None,
            id_column: str = "id") -> pd.DataFrame:
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
    settings
        The ``policing`` settings (``[hotspots]``); default the shipped ones.

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
    # esda (and numba, when installed) take seconds to import: only when Gi* is asked for
    from esda.getisord import G_Local

    hs = section_or_default(settings, "policing")["hotspots"]
    perms = int(hs["permutations"] if permutations is None else permutations)
    rng_seed = int(hs["seed"] if seed is None else seed)
    alpha = float(hs["significance"] if significance is None else significance)
    if perms < 0:
        raise InputError(f"Gi* permutations {perms} must be >= 0",
                         fix="give 0 (analytical p-values) or e.g. 999 permutations")
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
        g = G_Local(y, w, transform="B", star=True, permutations=perms, seed=rng_seed, n_jobs=1,
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


def zone_counts(points: gpd.GeoSeries | gpd.GeoDataFrame, zones: gpd.GeoDataFrame, *,
                measure: str = "count", id_column: str = "id",
                snap_m: float = 0.0) -> np.ndarray[Any, Any]:
    """Incidents per zone (``"count"``) or per km² of the zone (``"per_km2"``).

    ``snap_m``: a point outside every zone but within this many metres of one counts
    in the nearest (:func:`beatgrid.gis.policing.location.place_points`).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> z = gpd.GeoDataFrame({"id": ["a", "b"]}, geometry=[shapely.box(0, 0, 1000, 1000),
    ...                       shapely.box(1000, 0, 3000, 1000)], crs=32651)
    >>> pts = gpd.GeoSeries([shapely.Point(500, 500)] * 2 + [shapely.Point(1500, 500)], crs=32651)
    >>> zone_counts(pts, z).tolist(), zone_counts(pts, z, measure="per_km2").tolist()
    ([2.0, 1.0], [2.0, 0.5])
    """
    where = place_points(points, zones.reset_index(drop=True), snap_m=snap_m,
                         id_column=id_column).ids
    return _per_zone(where, zones, measure=measure, id_column=id_column)


def _per_zone(where: pd.Series, zones: gpd.GeoDataFrame, *, measure: str,
              id_column: str = "id") -> np.ndarray[Any, Any]:
    ids = zones[id_column].astype(str)
    counts = ids.map(where.value_counts()).fillna(0).to_numpy(dtype=float)
    if measure == "per_km2":
        area = to_metric(zones, layer="zones").geometry.area.to_numpy() / 1e6
        return np.where(area > 0, counts / np.where(area > 0, area, 1), 0.0)
    if measure != "count":
        raise InputError(f"unknown measure {measure!r}", fix="use 'count' or 'per_km2'")
    return counts


# --------------------------------------------------------------------------------------
# The whole hotspot analysis of a project
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class HotspotResult:
    """What ``beatgrid hotspots`` reports (``project.policing.hotspots()``).

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
    permutations, weights, significance
        The Gi* permutations, spatial weights and p-value cut used.
    notes
        What the analysis assumed or skipped, with the incidents outside every beat
        (or grid) and those snapped to the nearest.
    incidents_snapped, incidents_outside
        Incidents just outside every beat counted in the nearest (within
        ``beats.incident_snap_m``), and incidents left outside every beat (not counted
        per beat; the density includes them).
    """

    density: gpd.GeoDataFrame
    zones: gpd.GeoDataFrame
    zone_kind: str
    change: pd.DataFrame | None
    permutations: int
    weights: str
    significance: float
    notes: tuple[str, ...] = ()
    incidents_snapped: int = 0
    incidents_outside: int = 0

    @property
    def hot(self) -> int:
        """Zones that are Gi* hot spots."""
        return int((self.zones["hotspot"] == "hot").sum())

    @property
    def cold(self) -> int:
        """Zones that are Gi* cold spots."""
        return int((self.zones["hotspot"] == "cold").sum())


def hotspots_project(layers: Mapping[str, pd.DataFrame], *, zones: str = "auto",
                     settings: Mapping[str, Any] | None = None,
                     permutations: int | None = None, preventable_only: bool = False,
                     period_days: int | None = None, compare: str | None = None,
                     snap_m: float | None = None) -> HotspotResult:
    """Kernel density, Gi* (on basic grids, or beats) and change per beat of a project.

    The computation behind ``project.policing.hotspots()``, on layers in memory.

    Parameters
    ----------
    layers
        ``incidents``, ``beats``, ``communities`` and ``grids``.
    zones
        ``"grids"``, ``"beats"`` or ``"auto"`` (grids when the project has at least
        3, else beats).
    settings
        The ``policing`` settings (``[hotspots]``); default the shipped ones.
    permutations
        Override ``hotspots.permutations``.
    preventable_only
        Analyse preventable cases only.
    period_days, compare
        Override ``hotspots.period_days`` and ``hotspots.compare``.
    snap_m
        Override ``beats.incident_snap_m``: incidents outside every beat (grid) but
        within this many metres of one count in the nearest.

    Returns
    -------
    HotspotResult

    Raises
    ------
    InputError
        No incidents (or no preventable ones), unknown ``zones``, fewer than 3 zones.

    Examples
    --------
    >>> from beatgrid.gis import Project
    >>> layers = Project.open("sample-geodata/ningbo-jiangbei.gpkg").read(
    ...     ["beats", "communities", "grids", "incidents"])
    >>> res = hotspots_project(layers, permutations=0)
    >>> res.zone_kind, len(res.zones), res.notes[0]
    ('beats', 12, 'no basic grids: Gi* computed on beats')
    >>> res.change["beat_id"].iloc[-1]
    '(all)'
    """
    pol = section_or_default(settings, "policing")
    hs = pol["hotspots"]
    snap = float(pol["beats"]["incident_snap_m"] if snap_m is None else snap_m)
    notes: list[str] = []
    if period_days is not None and period_days < 0:
        raise InputError(f"period_days {period_days!r} must be >= 0",
                         fix="give the days of each compared period, or 0 for half the span")
    if snap < 0 or not np.isfinite(snap):
        raise InputError(f"snap_m {snap!r} must be a distance >= 0 in metres",
                         fix="give e.g. 5 (metres), or 0 not to snap")
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
    tested = grids if zones == "grids" else beats
    if tested is None or len(tested) < 3:
        raise InputError(f"Gi* needs at least 3 {zones}", fix="use --zones beats or plan grids")
    zgdf = tested.reset_index(drop=True)
    perms = int(hs["permutations"] if permutations is None else permutations)
    in_beats = place_incidents(inc, beats, snap_m=snap)
    in_zones = in_beats if zones == "beats" else place_points(inc.geometry, zgdf, snap_m=snap)
    notes += in_beats.notes(uncounted="not counted per beat (Gi*, change; the density map "
                            "includes them)" if zones == "beats"
                            else "not counted in the change per beat")
    if zones == "grids":
        notes += in_zones.notes(where="grid", uncounted="not counted in Gi*")
    values = _per_zone(in_zones.ids, zgdf, measure=hs["measure"])
    gi = gi_star(zgdf, values, permutations=perms, settings=settings)
    zout = gpd.GeoDataFrame(gi, geometry=zgdf.geometry.to_numpy(), crs=zgdf.crs)
    density = kernel_density(inc, settings=settings)
    if density.attrs.get("coarsened"):
        notes.append(f"density raster coarsened to {density.attrs['cell_m']:.0f} m cells "
                     "(hotspots.kde_max_cells)")
    change = None
    try:
        change = period_change(inc, in_beats.ids, beat_ids=beats["id"].astype(str).tolist(),
                               period_days=period_days, compare=compare, settings=settings)
    except InputError as exc:
        notes.append(f"no period comparison: {exc.message}")
    return HotspotResult(density=density, zones=zout, zone_kind=zones, change=change,
                         permutations=perms, weights=str(hs["weights"]),
                         significance=float(hs["significance"]), notes=tuple(notes),
                         incidents_snapped=in_beats.snapped,
                         incidents_outside=in_beats.outside)


__all__ = ["GI_COLUMNS", "kernel_density", "spatial_weights", "gi_star", "zone_counts",
           "HotspotResult", "hotspots_project",
           # re-exported from beatgrid.gis.policing.trends, where they live
           "CHANGE_COLUMNS", "period_windows", "period_change"]
