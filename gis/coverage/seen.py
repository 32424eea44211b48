"""What the cameras see, as an index: the union of the views per quality level.

The engine of the coverage statistics and the blind spots. :class:`SeenIndex` dissolves
the camera views of each level into disjoint pieces with an STRtree, and measures the
area seen inside any zone polygons (:meth:`SeenIndex.area_in`) or tells which points are
seen (:meth:`SeenIndex.covers_points`). How it stays fast on a city:

* the union of the views is dissolved per connected group of overlapping views (an
  STRtree self-join and scipy's connected components), the groups of one size class in
  one vectorised ``union_all`` (:func:`union_groups`), in threads: several times faster
  than one city-wide ``union_all``, with no Python loop per group;
* a seen piece inside a zone counts whole, only the pieces straddling a boundary are
  intersected, and in zones that tile the district (communities, beats: a
  :class:`Tiling`) the last share of a straddling piece is the rest of its area.

Examples
--------
>>> import geopandas as gpd, shapely
>>> from beatgrid.gis.coverage.seen import SeenIndex
>>> views = gpd.GeoDataFrame({"camera_id": ["a", "b"], "level": ["all", "all"]},
...     geometry=[shapely.box(0, 0, 2, 2), shapely.box(1, 0, 3, 2)], crs=4547)
>>> seen = SeenIndex(views)
>>> len(seen.pieces["all"]), float(seen.area_in(shapely.box(0, 0, 10, 10)))
(1, 6.0)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from beatgrid.gis.crs import metric_crs
from beatgrid.gis.errors import InputError

__all__ = ["SeenIndex", "Tiling", "dissolve_overlapping", "tiling_cover", "union_groups",
           "run_chunked", "intersection_area", "ring_segments", "EDGE_M"]


def dissolve_overlapping(geoms: Any) -> np.ndarray:
    """Union of polygons as disjoint pieces: one ``union_all`` per group that overlaps.

    The groups are the connected components of an STRtree self-join; the unions of the
    groups run as one vectorised ``union_all`` per group size class, in threads.

    Examples
    --------
    >>> import shapely
    >>> parts = dissolve_overlapping([shapely.box(0, 0, 2, 2), shapely.box(1, 0, 3, 2),
    ...                               shapely.box(10, 0, 11, 1)])
    >>> sorted(round(p.area, 1) for p in parts)
    [1.0, 6.0]
    """
    g = np.asarray(geoms, dtype=object)
    if len(g) == 0:
        return g
    g = g[~(shapely.is_missing(g) | shapely.is_empty(g))]
    n = len(g)
    if n == 0:
        return g
    tree = shapely.STRtree(g)
    i, j = tree.query(g, predicate="intersects")
    adj = coo_matrix((np.ones(len(i), dtype=np.int8), (i, j)), shape=(n, n))
    n_groups, label = connected_components(adj, directed=False)
    counts = np.bincount(label, minlength=n_groups)
    out = np.empty(n_groups, dtype=object)
    single = counts[label] == 1
    out[label[single]] = g[single]
    multi = ~single
    if multi.any():
        merged = union_groups(g[multi], label[multi], n_groups)
        out[counts > 1] = merged[counts > 1]
    return out


def _workers(n: int, min_chunk: int) -> int:
    """Threads worth starting for ``n`` items (shapely releases the GIL in GEOS calls)."""
    workers = min(os.cpu_count() or 1, 4)
    return 1 if workers < 2 or n < 2 * min_chunk else min(workers, n // min_chunk)


def run_chunked(func: Callable[[int, int], np.ndarray], n: int, *, min_chunk: int = 2000
                ) -> np.ndarray:
    """``func(start, stop)`` over ``range(n)`` in chunks run by threads, concatenated.

    Shapely releases the GIL inside its vectorised operations, so the chunks of a long
    array run on several cores (at most 4 threads, each with ``min_chunk`` items or more).

    Examples
    --------
    >>> import numpy as np
    >>> run_chunked(lambda a, b: np.arange(a, b) * 2, 5).tolist()
    [0, 2, 4, 6, 8]
    """
    workers = _workers(n, min_chunk)
    if workers < 2:
        return func(0, n)
    cuts = [int(c) for c in np.linspace(0, n, workers + 1).astype(int)]
    with ThreadPoolExecutor(workers) as pool:
        parts = pool.map(lambda k: func(cuts[k], cuts[k + 1]), range(workers))
        return np.concatenate(list(parts))


def union_groups(geoms: Any, group: Any, n: int) -> np.ndarray:
    """``union_all`` of ``geoms`` per group index: an array of ``n`` (None: empty group).

    The same as ``[union_all(geoms[group == k]) for k in range(n)]`` (members in their
    order), without the Python loop: the groups are padded with None (which
    ``union_all`` skips) into one 2-D array per size class (1, 2, 3-4, 5-8, ...) and
    reduced along the rows, in threads.

    Examples
    --------
    >>> import shapely
    >>> u = union_groups([shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1),
    ...                   shapely.box(5, 5, 6, 6)], [0, 0, 2], 3)
    >>> u[0].area, u[1], u[2].area
    (2.0, None, 1.0)
    """
    geoms = np.asarray(geoms, dtype=object)
    group = np.asarray(group, dtype=np.int64)
    out = np.full(n, None, dtype=object)
    if len(geoms) == 0:
        return out
    order = np.argsort(group, kind="stable")
    g, x = group[order], geoms[order]
    counts = np.bincount(g, minlength=n)
    starts = np.cumsum(counts) - counts
    pos = np.arange(len(g)) - starts[g]
    size_class = np.ceil(np.log2(np.maximum(counts, 1))).astype(np.int64)
    for c in np.unique(size_class[counts > 0]):
        rows = np.nonzero((size_class == c) & (counts > 0))[0]
        width = int(counts[rows].max())
        row_of = np.full(n, -1, dtype=np.int64)
        row_of[rows] = np.arange(len(rows))
        member = row_of[g] >= 0
        table = np.full((len(rows), width), None, dtype=object)
        table[row_of[g[member]], pos[member]] = x[member]
        out[rows] = run_chunked(_union_rows(table), len(rows), min_chunk=max(1, 4000 // width))
    return out


def _union_rows(table: np.ndarray) -> Callable[[int, int], np.ndarray]:
    """``union_all`` of the rows ``a:b`` of a 2-D table of geometries (None skipped)."""
    def union(a: int, b: int) -> np.ndarray:
        return np.asarray(shapely.union_all(table[a:b], axis=1))
    return union


class SeenIndex:
    """What the cameras see: per quality level, the union of the views as disjoint pieces.

    Parameters
    ----------
    views
        Camera views (``camera_id``, ``level``, polygon), any CRS; converted to ``crs``.
    crs
        Metric CRS to work in (default: :func:`beatgrid.gis.crs.metric_crs` of ``views``).
    levels
        Level names from the lowest density up (default: as they appear after ``all``).
    nested
        True when each level's views already hold everything seen at that level or
        better (``zones="nested"``); False for bands (the higher levels are added).
    multi
        Also build the area seen by two or more cameras (level ``all``).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> v = gpd.GeoDataFrame({"camera_id": ["a", "b"], "level": ["all", "all"]},
    ...     geometry=[shapely.box(0, 0, 2, 2), shapely.box(1, 0, 3, 2)], crs=4547)
    >>> idx = SeenIndex(v)
    >>> zone = shapely.box(0, 0, 3, 2)
    >>> float(idx.area_in(zone, "all")), float(idx.area_in(zone, "multi"))
    (6.0, 2.0)
    """

    def __init__(self, views: gpd.GeoDataFrame, *, crs: Any = None,
                 levels: Sequence[str] | None = None, nested: bool = True,
                 multi: bool = True) -> None:
        if not {"camera_id", "level"} <= set(views.columns):
            raise InputError("camera views need the columns camera_id and level",
                             fix="pass the output of visibility.camera_views")
        self.crs = crs if crs is not None else (metric_crs(views, layer="camera_views")
                                                if len(views) else None)
        v = views.to_crs(self.crs) if len(views) and self.crs is not None else views
        present = list(dict.fromkeys(v["level"].astype(str)))
        if levels is None:
            levels = [lv for lv in present if lv != "all"]
        self.levels: list[str] = ["all"] + [lv for lv in levels if lv != "all"]
        geo = np.asarray(v.geometry.values, dtype=object)
        lev = v["level"].astype(str).to_numpy()
        self.pieces: dict[str, np.ndarray] = {}
        self.trees: dict[str, shapely.STRtree] = {}
        for k, name in enumerate(self.levels):
            if name == "all" or nested:
                mask = lev == name
            else:
                mask = np.isin(lev, self.levels[k:])
            self._set(name, dissolve_overlapping(geo[mask]))
        if multi:
            mask = lev == "all"
            g = geo[mask]
            cam = v["camera_id"].astype(str).to_numpy()[mask]
            ok = ~(shapely.is_missing(g) | shapely.is_empty(g))
            g, cam = g[ok], cam[ok]
            pieces = np.zeros(0, dtype=object)
            if len(g):
                i, j = shapely.STRtree(g).query(g, predicate="intersects")
                keep = (i < j) & (cam[i] != cam[j])
                a, b = g[i[keep]], g[j[keep]]
                x = run_chunked(lambda s, e: shapely.intersection(a[s:e], b[s:e]), len(a))
                pieces = dissolve_overlapping(x[shapely.area(x) > 0])
            self._set("multi", pieces)

    def _set(self, name: str, pieces: Any) -> None:
        pieces = np.asarray(pieces, dtype=object)
        pieces = shapely.get_parts(pieces) if len(pieces) else pieces
        pieces = pieces[shapely.area(pieces) > 0] if len(pieces) else pieces
        self.pieces[name] = pieces
        self.trees[name] = shapely.STRtree(pieces)

    def area_in(self, zones: Any, level: str = "all", *, cover: Tiling | None = None) -> Any:
        """Area (m2) seen at ``level`` inside each zone polygon (metric CRS).

        A piece inside a zone counts whole; a piece straddling zone boundaries is
        intersected with each zone. ``cover`` is the :class:`Tiling` of ``zones`` when no
        two of them overlap (:func:`tiling_cover`; communities, beats and stations tile
        the district): a straddling piece inside the tiling then gets its share of the
        last zone it touches as the rest of its area, one intersection fewer per piece.

        Returns an array of areas for an array of zones, a float for one polygon.
        """
        z = np.atleast_1d(np.asarray(zones, dtype=object))
        out = np.zeros(len(z))
        pieces = self.pieces[level]
        if len(pieces) == 0 or len(z) == 0:
            return out if np.ndim(zones) else out[0]
        zi, pi = self.trees[level].query(z, predicate="intersects")
        if len(zi):
            shapely.prepare(z)
            piece_area = shapely.area(pieces[pi])
            inside = shapely.contains(z[zi], pieces[pi])
            area = np.where(inside, piece_area, 0.0)
            straddle = np.nonzero(~inside)[0]
            rest = np.zeros(0, dtype=np.int64)
            if cover is not None and len(straddle):
                # the last straddling pair of every piece that lies inside the tiling
                sp = pi[straddle]
                last = straddle[len(sp) - 1 - np.unique(sp[::-1], return_index=True)[1]]
                rest = last[cover.holds(pieces[pi[last]])]
                straddle = np.setdiff1d(straddle, rest, assume_unique=True)
            area[straddle] = intersection_area(z[zi[straddle]], pieces[pi[straddle]])
            if len(rest):
                known = np.ones(len(zi), dtype=bool)
                known[rest] = False
                other = np.bincount(pi[known], weights=area[known], minlength=len(pieces))
                area[rest] = np.maximum(piece_area[rest] - other[pi[rest]], 0.0)
            np.add.at(out, zi, area)
        return out if np.ndim(zones) else out[0]

    def covers_points(self, points: Any, level: str = "all", tolerance: float = 0.0
                      ) -> np.ndarray:
        """True for each point inside (or within ``tolerance`` of) the area seen at ``level``.

        Examples
        --------
        >>> import geopandas as gpd, shapely
        >>> v = gpd.GeoDataFrame({"camera_id": ["a"], "level": ["all"]},
        ...                      geometry=[shapely.box(0, 0, 2, 2)], crs=4547)
        >>> SeenIndex(v).covers_points(shapely.points([[1, 1], [3, 1]])).tolist()
        [True, False]
        """
        pts = np.asarray(points, dtype=object)
        out = np.zeros(len(pts), dtype=bool)
        if len(self.pieces[level]) == 0 or len(pts) == 0:
            return out
        if tolerance > 0:
            i, _ = self.trees[level].query(pts, predicate="dwithin", distance=tolerance)
        else:
            i, _ = self.trees[level].query(pts, predicate="intersects")
        out[i] = True
        return out

    def geometry(self, level: str = "all") -> shapely.Geometry:
        """The area seen at ``level`` as one (Multi)Polygon.

        Examples
        --------
        >>> import geopandas as gpd, shapely
        >>> v = gpd.GeoDataFrame({"camera_id": ["a", "b"], "level": ["all", "all"]},
        ...     geometry=[shapely.box(0, 0, 2, 2), shapely.box(1, 0, 3, 2)], crs=4547)
        >>> SeenIndex(v).geometry().area
        6.0
        """
        return shapely.union_all(self.pieces[level]) if len(self.pieces[level]) \
            else shapely.Polygon()


#: Zone boundaries are indexed as edges at most this long (tight bounding boxes).
EDGE_M = 50.0


def ring_segments(geoms: Any) -> tuple[np.ndarray, np.ndarray]:
    """Every edge of the rings of ``geoms`` as a 2-point line, with its geometry index.

    Examples
    --------
    >>> import shapely
    >>> segs, owner = ring_segments([shapely.box(0, 0, 1, 1), shapely.box(5, 5, 6, 6)])
    >>> len(segs), owner.tolist()
    (8, [0, 0, 0, 0, 1, 1, 1, 1])
    """
    g = np.asarray(geoms, dtype=object)
    if len(g) == 0:
        return np.zeros(0, dtype=object), np.zeros(0, dtype=np.int64)
    parts, part_g = shapely.get_parts(g, return_index=True)
    rings, ring_p = shapely.get_rings(parts, return_index=True)
    xy, ring_i = shapely.get_coordinates(rings, return_index=True)
    same = ring_i[1:] == ring_i[:-1]
    segs = shapely.linestrings(np.stack([xy[:-1][same], xy[1:][same]], axis=1)) \
        if same.any() else np.zeros(0, dtype=object)
    return segs, part_g[ring_p[ring_i[:-1][same]]]


class Tiling:
    """Zone polygons that do not overlap: their union and an index of its boundary.

    Built by :func:`tiling_cover`; :meth:`SeenIndex.area_in` uses it to save one
    intersection per piece straddling zones.

    Examples
    --------
    >>> import shapely
    >>> t = Tiling(shapely.box(0, 0, 10, 10))
    >>> t.holds([shapely.box(1, 1, 2, 2), shapely.box(9, 9, 11, 11)]).tolist()
    [True, False]
    """

    def __init__(self, union: shapely.Geometry) -> None:
        self.union = union
        shapely.prepare(union)
        segs, _ = ring_segments([shapely.segmentize(union, EDGE_M)])
        self._edges = shapely.STRtree(segs)

    def holds(self, pieces: Any) -> np.ndarray:
        """True for each polygon (connected, touching the union) inside the union.

        A polygon whose bounding box meets no edge of the union's boundary cannot cross
        it, so it lies inside; the others are tested exactly.
        """
        pieces = np.asarray(pieces, dtype=object)
        near = np.zeros(len(pieces), dtype=bool)
        if len(pieces):
            near[self._edges.query(pieces)[0]] = True
        out = ~near
        if near.any():
            out[near] = shapely.covered_by(pieces[near], self.union)
        return out


def tiling_cover(zones: Any) -> Tiling | None:
    """The :class:`Tiling` of zone polygons that do not overlap, else None.

    Zones tile when no two share interior points: communities, beats and stations do.

    Examples
    --------
    >>> import shapely
    >>> tiling_cover([shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)]).union.area
    2.0
    >>> tiling_cover([shapely.box(0, 0, 1, 1), shapely.box(0.5, 0, 2, 1)]) is None
    True
    """
    z = np.asarray(zones, dtype=object)
    if len(z) < 2 or (shapely.is_missing(z) | shapely.is_empty(z)).any():
        return None
    i, j = shapely.STRtree(z).query(z, predicate="intersects")
    k = i < j
    if k.any() and shapely.relate_pattern(z[i[k]], z[j[k]], "T********").any():
        return None
    return Tiling(shapely.union_all(z))


def intersection_area(a: np.ndarray, b: np.ndarray, *, min_chunk: int = 2000) -> np.ndarray:
    """``area(intersection(a, b))`` element-wise, in threads for long arrays.

    Shapely releases the GIL inside its vectorised operations, so the chunks run on
    several cores.

    Examples
    --------
    >>> import numpy as np, shapely
    >>> a = np.array([shapely.box(0, 0, 2, 2)], dtype=object)
    >>> intersection_area(a, np.array([shapely.box(1, 1, 3, 3)], dtype=object)).tolist()
    [1.0]
    """
    return run_chunked(lambda s, e: shapely.area(shapely.intersection(a[s:e], b[s:e])), len(a),
                    min_chunk=min_chunk)
