"""Geometry helpers of basic grids: polygonal parts, robust overlays, unions of units.

Atomic units share exact edges (:func:`beatgrid.gis.grids.blocks.clean_topology`), so a
grid, a union of units, is computed as a coverage union (:func:`union_units`); the
helpers here keep overlays of real-world data (slightly invalid footprints, boundaries
that do not quite close) from failing.

Examples
--------
>>> import shapely
>>> grid = union_units(np.array([shapely.box(0, 0, 10, 10), shapely.box(10, 0, 20, 10)]),
...                    grid=1e-6, min_hole_m2=0.01)
>>> grid.area, grid.geom_type
(200.0, 'Polygon')
>>> polygonal(shapely.GeometryCollection([shapely.box(0, 0, 1, 1), shapely.Point(5, 5)]))
<POLYGON ((1 0, 1 1, 0 1, 0 0, 1 0))>
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import shapely

#: Units smaller than this (m2) are degenerate leftovers of overlays and are dropped.
TINY_AREA_M2 = 1e-4

#: Snap-rounding grid (m) of the fallback when a floating-point overlay fails.
ROBUST_GRID_M = 1e-6


def polygonal(geoms: Any) -> Any:
    """Keep only the polygonal parts of each geometry (overlays may return collections).

    Parameters
    ----------
    geoms
        One geometry or an array of them.

    Returns
    -------
    shapely.Geometry or numpy.ndarray
        Like ``geoms``: (Multi)Polygons, an empty polygon where nothing polygonal is left.

    Examples
    --------
    >>> polygonal(np.array([shapely.LineString([(0, 0), (1, 1)])], dtype=object))[0].is_empty
    True
    """
    arr = np.atleast_1d(np.asarray(geoms, dtype=object))
    types = shapely.get_type_id(arr)
    bad = np.flatnonzero(~np.isin(types, (3, 6)))
    for i in bad:
        g = arr[i]
        if g is None:
            arr[i] = shapely.Polygon()
            continue
        parts = shapely.get_parts(g)
        parts = parts[np.isin(shapely.get_type_id(parts), (3, 6))]
        arr[i] = shapely.multipolygons(shapely.get_parts(parts)) if len(parts) > 1 else (
            parts[0] if len(parts) else shapely.Polygon())
    return arr if np.ndim(geoms) else arr[0]


def robust(op: Callable[..., Any], *geoms: Any, **kwargs: Any) -> Any:
    """Run a shapely overlay; on a topology error, retry on valid inputs with snap-rounding.

    Examples
    --------
    >>> robust(shapely.intersection, shapely.box(0, 0, 2, 2), shapely.box(1, 1, 3, 3)).area
    1.0
    """
    try:
        return op(*geoms, **kwargs)
    except shapely.errors.GEOSException:
        fixed = [shapely.make_valid(g) if not isinstance(g, (int, float)) else g for g in geoms]
        return op(*fixed, grid_size=ROBUST_GRID_M, **kwargs)


def dissolve(parts: np.ndarray) -> Any:
    """Union of polygons forming a coverage (fast path), or a robust union.

    Examples
    --------
    >>> dissolve(np.array([shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)])).area
    2.0
    """
    try:
        return shapely.coverage_union_all(parts)
    except shapely.errors.GEOSException:
        return polygonal(robust(shapely.union_all, parts))


def union_units(parts: np.ndarray, *, grid: float, min_hole_m2: float) -> Any:
    """The polygon of a grid: the union of its units, numerical sliver holes removed.

    Parameters
    ----------
    parts
        The unit polygons (metric CRS), sharing exact edges.
    grid
        Snap-rounding grid (m) of the fallback union (``units.precision_m``).
    min_hole_m2
        Holes smaller than this are numerical leftovers (``units.sliver_hole_m2``).

    Examples
    --------
    >>> union_units(np.array([], dtype=object), grid=1e-6, min_hole_m2=0.01).is_empty
    True
    """
    if len(parts) == 0:
        return shapely.Polygon()
    if len(parts) == 1:
        return parts[0]
    # units share exact edges (blocks.clean_topology): a coverage union is exact
    # and fast; anything odd falls back to a snap-rounded union
    try:
        out = shapely.coverage_union_all(parts)
        if shapely.is_valid(out) and abs(shapely.area(out) - shapely.area(parts).sum()) <= \
                1e-6 * max(shapely.area(out), 1.0):
            return drop_slivers(out, min_hole_m2=min_hole_m2)
    except shapely.errors.GEOSException:
        pass
    return drop_slivers(shapely.union_all(parts, grid_size=grid), min_hole_m2=min_hole_m2)


def union_groups(geoms: np.ndarray, labels: np.ndarray, n_groups: int, *, grid: float,
                 min_hole_m2: float) -> np.ndarray:
    """:func:`union_units` of every group of units at once (label ``-1``: no group).

    The coverage unions run in one call over a padded 2-D array; a group whose union is
    not valid or loses area falls back to :func:`union_units`. The result equals
    ``[union_units(geoms[labels == i], ...) for i in range(n_groups)]``.

    Examples
    --------
    >>> boxes = np.array([shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1),
    ...                   shapely.box(5, 0, 6, 1)])
    >>> [g.area for g in union_groups(boxes, np.array([0, 0, 1]), 2, grid=1e-6,
    ...                               min_hole_m2=0.01)]
    [2.0, 1.0]
    """
    out = np.empty(n_groups, dtype=object)
    out[:] = [shapely.Polygon()] * n_groups
    ok = labels >= 0
    if not ok.any():
        return out
    lab = labels[ok]
    src = np.asarray(geoms, dtype=object)[ok]
    order = np.argsort(lab, kind="stable")
    lab_s = lab[order]
    starts = np.searchsorted(lab_s, np.arange(n_groups + 1))
    count = np.diff(starts)
    single = np.flatnonzero(count == 1)
    out[single] = src[order[starts[single]]]
    multi = np.flatnonzero(count > 1)
    if len(multi) == 0:
        return out
    rows = np.full(n_groups, -1, dtype=np.int64)
    rows[multi] = np.arange(len(multi))
    pos = np.arange(len(lab_s)) - starts[lab_s]
    table = np.full((len(multi), int(count.max())), None, dtype=object)
    in_multi = rows[lab_s] >= 0
    table[rows[lab_s[in_multi]], pos[in_multi]] = src[order[in_multi]]
    area_in = np.bincount(lab, weights=shapely.area(src), minlength=n_groups)[multi]
    try:
        merged = shapely.coverage_union_all(table, axis=1)
        fine = shapely.is_valid(merged) & (np.abs(shapely.area(merged) - area_in)
                                           <= 1e-6 * np.maximum(shapely.area(merged), 1.0))
    except shapely.errors.GEOSException:
        merged = np.full(len(multi), None, dtype=object)
        fine = np.zeros(len(multi), bool)
    holes = fine & (shapely.get_num_interior_rings(merged) > 0) | fine & (
        shapely.get_num_geometries(merged) > 1)
    for i in np.flatnonzero(holes):
        merged[i] = drop_slivers(merged[i], min_hole_m2=min_hole_m2)
    for i in np.flatnonzero(~fine):
        g = multi[i]
        merged[i] = union_units(src[order[starts[g]:starts[g + 1]]], grid=grid,
                                min_hole_m2=min_hole_m2)
    out[multi] = merged
    return out


def drop_slivers(geom: Any, *, min_hole_m2: float) -> Any:
    """Remove holes below ``min_hole_m2`` (numerical leftovers of a union).

    Such holes (1e-9 m2 and the like) collapse to invalid rings once stored in
    geographic coordinates; real holes (an enclave, a locked grid) are far larger.

    Examples
    --------
    >>> donut = shapely.box(0, 0, 10, 10).difference(shapely.box(4, 4, 4.001, 4.001))
    >>> len(drop_slivers(donut, min_hole_m2=0.01).interiors)
    0
    """
    polys = shapely.get_parts(geom)
    fixed = []
    for poly in polys:
        if poly.geom_type != "Polygon" or not poly.interiors:
            fixed.append(poly)
            continue
        holes = [r for r in poly.interiors if shapely.Polygon(r).area > min_hole_m2]
        fixed.append(shapely.Polygon(poly.exterior, holes))
    return fixed[0] if len(fixed) == 1 else shapely.MultiPolygon(fixed)


def valid_polygons(geoms: Any) -> np.ndarray:
    """Polygons made valid (only the invalid ones change).

    A union of units can hold a hole of a few nanosquare metres (units not quite an exact
    coverage) that collapses when reprojected to the storage CRS.

    Examples
    --------
    >>> bowtie = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
    >>> valid_polygons([bowtie])[0].geom_type
    'MultiPolygon'
    """
    out = np.asarray(geoms, dtype=object).copy()
    bad = ~shapely.is_valid(out)
    if bad.any():
        out[bad] = polygonal(shapely.make_valid(out[bad]))
    return out
