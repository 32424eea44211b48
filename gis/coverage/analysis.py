"""Camera coverage statistics, blind spots and the old-estate risk ranking.

Works on the camera views of :func:`beatgrid.gis.coverage.visibility.camera_views` (one polygon
per camera and quality level; the views never enter a building) and the zone layers
(estates, grids, beats, stations, communities). Everything is computed in the metric
CRS; results come back in the CRS of the zones.

Per zone (:func:`coverage_stats`):

* ``open_area_m2``: the zone minus building footprints;
* ``seen_share_<level>``: share of the open space seen at that quality level or better
  (``all``: seen at all); ``multi_seen_share``: seen by two or more cameras;
* ``perimeter_seen_share``: share of the building walls of the zone seen from outside
  (walls sampled every ``perimeter_step_m``); ``entrances_seen_share`` when entrance
  points are given;
* ``cameras_inside`` / ``cameras_boundary`` (outside, within ``boundary_road_m`` of the
  zone: the cameras on its boundary roads), ``households`` and
  ``cameras_per_1000_households`` (inside cameras).

Blind spots (:func:`blind_spots`) are the polygons of open space inside the blind-spot
zones (estates by default) that no camera sees, with their area and the households of
the buildings around them. :func:`estate_risk` ranks old estates by a documented,
configurable score whose components are all shown (``docs/coverage.md``).

How it stays fast on a city (10,000 cameras, 100,000 buildings, thousands of zones):

* the union of the views is dissolved per connected group of overlapping views (an
  STRtree self-join and scipy's connected components), the groups of one size class in
  one vectorised ``union_all`` (:func:`_union_groups`), in threads: several times faster
  than one city-wide ``union_all``, with no Python loop per group;
* every zone layer is measured in one vectorised pass (no loop per zone): a seen piece
  inside a zone counts whole, only the pieces straddling a boundary are intersected, and
  in a layer that tiles the district (communities, beats) the last share of a straddling
  piece is the rest of its area (:class:`Tiling`);
* a layer drawn as another one (beats = communities) is measured once, and a layer
  whose zones are tiled by a finer layer (stations made of communities) adds up the finer
  figures instead of intersecting again;
* buildings lie inside or outside a zone by their point on surface unless they are near
  its boundary; only the walls of buildings next to the seen area are sampled;
* :func:`analyse_coverage` converts every layer to the metric CRS once (the views are
  computed in it) and shares the buildings' index and points with all the steps.

The results are those of the direct computation (per zone and per piece) up to
floating-point rounding.

Examples
--------
>>> import geopandas as gpd, shapely
>>> from beatgrid.gis.coverage.analysis import coverage_stats
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

import os
from concurrent.futures import ThreadPoolExecutor

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from beatgrid.gis.coverage.fov import coverage_settings
from beatgrid.gis.crs import metric_crs
from beatgrid.gis.errors import InputError

__all__ = [
    "SeenIndex", "Tiling", "dissolve_overlapping", "tiling_cover", "zones_from_layers",
    "coverage_stats", "blind_spots", "estate_risk", "analyse_coverage", "ZONE_TYPES",
]

#: Layer name -> zone_type written in coverage_stats.
ZONE_TYPES = {"estates": "estate", "grids": "grid", "beats": "beat", "stations": "station",
              "communities": "community", "governance_grids": "governance_grid",
              "responsibility_areas": "responsibility_area"}


def dissolve_overlapping(geoms) -> np.ndarray:
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
        merged = _union_groups(g[multi], label[multi], n_groups)
        out[counts > 1] = merged[counts > 1]
    return out


def _workers(n: int, min_chunk: int) -> int:
    """Threads worth starting for ``n`` items (shapely releases the GIL in GEOS calls)."""
    workers = min(os.cpu_count() or 1, 4)
    return 1 if workers < 2 or n < 2 * min_chunk else min(workers, n // min_chunk)


def _chunked(func, n: int, *, min_chunk: int = 2000) -> np.ndarray:
    """``func(start, stop)`` over ``range(n)`` in chunks run by threads, concatenated."""
    workers = _workers(n, min_chunk)
    if workers < 2:
        return func(0, n)
    cuts = np.linspace(0, n, workers + 1).astype(int)
    with ThreadPoolExecutor(workers) as pool:
        parts = pool.map(lambda k: func(cuts[k], cuts[k + 1]), range(workers))
        return np.concatenate(list(parts))


def _union_groups(geoms, group, n: int) -> np.ndarray:
    """``union_all`` of ``geoms`` per group index: an array of ``n`` (None: empty group).

    The same as ``[union_all(geoms[group == k]) for k in range(n)]`` (members in their
    order), without the Python loop: the groups are padded with None (which
    ``union_all`` skips) into one 2-D array per size class (1, 2, 3-4, 5-8, ...) and
    reduced along the rows, in threads.
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
        out[rows] = _chunked(lambda a, b, t=table: shapely.union_all(t[a:b], axis=1),
                             len(rows), min_chunk=max(1, 4000 // width))
    return out


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

    def __init__(self, views: gpd.GeoDataFrame, *, crs=None, levels=None, nested: bool = True,
                 multi: bool = True):
        if not {"camera_id", "level"} <= set(views.columns):
            raise InputError("camera views need the columns camera_id and level",
                             fix="pass the output of visibility.camera_views")
        self.crs = crs if crs is not None else (metric_crs(views, layer="camera_views")
                                                if len(views) else None)
        v = views.to_crs(self.crs) if len(views) and self.crs is not None else views
        present = list(dict.fromkeys(v["level"].astype(str)))
        if levels is None:
            levels = [lv for lv in present if lv != "all"]
        self.levels = ["all"] + [lv for lv in levels if lv != "all"]
        geo = np.asarray(v.geometry.values, dtype=object)
        lev = v["level"].astype(str).to_numpy()
        self.pieces, self.trees = {}, {}
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
                x = _chunked(lambda s, e: shapely.intersection(a[s:e], b[s:e]), len(a))
                pieces = dissolve_overlapping(x[shapely.area(x) > 0])
            self._set("multi", pieces)

    def _set(self, name, pieces):
        pieces = np.asarray(pieces, dtype=object)
        pieces = shapely.get_parts(pieces) if len(pieces) else pieces
        pieces = pieces[shapely.area(pieces) > 0] if len(pieces) else pieces
        self.pieces[name] = pieces
        self.trees[name] = shapely.STRtree(pieces)

    def area_in(self, zones, level: str = "all", *, cover=None):
        """Area (m2) seen at ``level`` inside each zone polygon (metric CRS).

        A piece inside a zone counts whole; a piece straddling zone boundaries is
        intersected with each zone. ``cover`` is the :class:`Tiling` of ``zones`` when no
        two of them overlap (:func:`tiling_cover`; communities, beats and stations tile
        the district): a straddling piece inside the tiling then gets its share of the
        last zone it touches as the rest of its area, one intersection fewer per piece.
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
            area[straddle] = _intersection_area(z[zi[straddle]], pieces[pi[straddle]])
            if len(rest):
                known = np.ones(len(zi), dtype=bool)
                known[rest] = False
                other = np.bincount(pi[known], weights=area[known], minlength=len(pieces))
                area[rest] = np.maximum(piece_area[rest] - other[pi[rest]], 0.0)
            np.add.at(out, zi, area)
        return out if np.ndim(zones) else out[0]

    def covers_points(self, points, level: str = "all", tolerance: float = 0.0):
        """True for each point inside (or within ``tolerance`` of) the area seen at ``level``."""
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

    def geometry(self, level: str = "all"):
        """The area seen at ``level`` as one (Multi)Polygon."""
        return shapely.union_all(self.pieces[level]) if len(self.pieces[level]) \
            else shapely.Polygon()


#: Zone boundaries are indexed as edges at most this long (tight bounding boxes).
_EDGE_M = 50.0


def _ring_segments(geoms):
    """Every edge of the rings of ``geoms`` as a 2-point line, with its geometry index."""
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
    """

    def __init__(self, union):
        self.union = union
        shapely.prepare(union)
        segs, _ = _ring_segments([shapely.segmentize(union, _EDGE_M)])
        self._edges = shapely.STRtree(segs)

    def holds(self, pieces) -> np.ndarray:
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


def tiling_cover(zones) -> Tiling | None:
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


def _intersection_area(a, b, *, min_chunk: int = 2000):
    """``area(intersection(a, b))`` element-wise, in threads for long arrays.

    Shapely releases the GIL inside its vectorised operations, so the chunks run on
    several cores.
    """
    return _chunked(lambda s, e: shapely.area(shapely.intersection(a[s:e], b[s:e])), len(a),
                    min_chunk=min_chunk)


def zones_from_layers(layers: dict, names=None, *, settings: dict | str | None = None) -> dict:
    """Zone frames keyed by zone type from project layers (non-empty ones only).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> e = gpd.GeoDataFrame({"id": ["E1"]}, geometry=[shapely.box(0, 0, 1, 1)], crs=4490)
    >>> list(zones_from_layers({"estates": e, "grids": e.iloc[:0]}))
    ['estate']
    """
    cfg = coverage_settings(settings)
    names = names if names is not None else cfg["coverage"]["zone_layers"]
    out = {}
    for name in names:
        if name not in ZONE_TYPES:
            raise InputError(f"zone layer {name!r} is not a polygon zone layer",
                             fix="use some of: " + ", ".join(ZONE_TYPES))
        df = layers.get(name)
        if df is not None and len(df):
            out[ZONE_TYPES[name]] = df
    return out


def _metric(gdf, crs, layer):
    if gdf is None:
        return None
    if gdf.crs is None:
        from beatgrid.gis.crs import require_crs
        require_crs(gdf, layer=layer)
    return gdf.to_crs(crs) if len(gdf) else gdf.set_crs(crs, allow_override=True)


def _assign(points, zone_geoms):
    """Index of the zone holding each point (-1 when none; the first when several)."""
    out = np.full(len(points), -1, dtype=np.int64)
    if len(points) == 0 or len(zone_geoms) == 0:
        return out
    tree = shapely.STRtree(zone_geoms)
    p, z = tree.query(points, predicate="intersects")
    first = np.unique(p, return_index=True)[1]
    out[p[first]] = z[first]
    return out


def _wall_samples(buildings_geoms, step, offset):
    """Points ``offset`` m outside every building wall, every ``step`` m.

    Returns the coordinates ``(n, 2)``, the wall length each point stands for and the
    building index of each point.
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


class _Inputs:
    """The layers of the statistics in the metric CRS, converted once and shared.

    :func:`analyse_coverage` builds one for :func:`coverage_stats`, :func:`blind_spots`
    and :func:`estate_risk`, so the buildings (and their STRtree, points on surface and
    wall samples) and the zones are converted and prepared once.
    """

    def __init__(self, crs, *, buildings=None, cameras=None, entrances=None, incidents=None):
        self.crs = crs
        self._src = {"buildings": buildings, "cameras": cameras, "entrances": entrances,
                     "incidents": incidents}
        self._cache: dict = {}

    def _memo(self, key, make):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def frame(self, name: str):
        """The layer ``name`` in the metric CRS (None when not given)."""
        return self._memo(("frame", name), lambda: _metric(self._src[name], self.crs, name))

    def points(self, name: str) -> np.ndarray:
        df = self.frame(name)
        return _geoms(df)

    def zones(self, ztype: str, zdf):
        """A zone layer in the metric CRS (cached per frame)."""
        return self._memo(("zones", ztype, id(zdf)), lambda: (zdf, _metric(zdf, self.crs, ztype)))[1]

    @property
    def bgeo(self) -> np.ndarray:
        return self._memo("bgeo", lambda: _geoms(self.frame("buildings")))

    def bcolumn(self, col: str) -> np.ndarray:
        """A numeric building column (0 where missing; zeros when absent)."""
        def make():
            bld = self.frame("buildings")
            if bld is None or col not in bld.columns or not len(bld):
                return np.zeros(len(self.bgeo))
            return pd.to_numeric(bld[col], errors="coerce").fillna(0).to_numpy()
        return self._memo(("bcol", col), make)

    @property
    def barea(self) -> np.ndarray:
        return self._memo("barea", lambda: shapely.area(self.bgeo) if len(self.bgeo)
                          else np.zeros(0))

    @property
    def brep(self) -> np.ndarray:
        """A point on the surface of each building (which zone it belongs to)."""
        return self._memo("brep", lambda: shapely.point_on_surface(self.bgeo) if len(self.bgeo)
                          else np.zeros(0, dtype=object))

    @property
    def btree(self):
        return self._memo("btree", lambda: shapely.STRtree(self.bgeo))

    @property
    def perimeter(self) -> np.ndarray:
        """Wall length of each building (every ring)."""
        return self._memo("perimeter", lambda: shapely.length(self.bgeo) if len(self.bgeo)
                          else np.zeros(0))


def _geoms(gdf) -> np.ndarray:
    """The geometries of a frame as a numpy object array (empty when None)."""
    if gdf is None or not len(gdf):
        return np.zeros(0, dtype=object)
    return np.asarray(gdf.geometry.values, dtype=object)


def _layer_key(zg) -> bytes:
    """A key equal for two zone layers with the same polygons in the same order."""
    wkb = shapely.to_wkb(zg) if len(zg) else []
    return b"|".join(w if w is not None else b"-" for w in wkb) + b"#%d" % len(zg)


def _measure_layers(layers, seen: SeenIndex, inputs: _Inputs) -> dict:
    """Measures of each distinct zone layer (polygon arrays), keyed by :func:`_layer_key`.

    Each layer is measured in one vectorised pass (:func:`_zone_measures`), finest
    first; a layer drawn as another one (beats = communities, 一区一警) is measured once,
    and a layer whose zones are each tiled by zones of a finer layer (stations made of
    communities) adds up the finer measures instead of intersecting again.
    """
    done: dict = {}
    tilings = []
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


def _nested_measures(zg, finer_zg, finer: dict, inputs: _Inputs):
    """Measures of ``zg`` summed from a finer tiling layer, or None when it does not nest.

    Each zone must be covered by the finer zones whose points on surface it holds, their
    areas adding up to its own (relative 1e-9): then the building area and the areas
    seen are their sums.
    """
    n = len(zg)
    if n == 0 or len(finer_zg) == 0 or (shapely.is_missing(zg) | shapely.is_empty(zg)).any():
        return None
    cp, pz = _point_pairs(shapely.point_on_surface(finer_zg), zg)
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
    rp, rz = _point_pairs(inputs.brep, zg)
    out["zb"] = _first_zone(rp, rz, len(inputs.bgeo)) if len(inputs.bgeo) \
        else np.zeros(0, dtype=np.int64)
    return out


def _fills(zg) -> bool:
    """Whether the zones cover most (80 %) of their convex hull (a tiling worth using)."""
    xy = shapely.get_coordinates(zg)
    if len(xy) < 3:
        return False
    hull = shapely.area(shapely.convex_hull(shapely.multipoints(xy)))
    return hull > 0 and float(np.nansum(shapely.area(zg))) >= 0.8 * hull


def _zone_measures(zg, seen: SeenIndex, inputs: _Inputs) -> dict:
    """Area, building area and area seen per level of each zone polygon (metric).

    Also ``zb``: the zone holding each building's point on surface (the first when
    several; -1 when none).
    """
    shapely.prepare(zg)
    n = len(zg)
    bgeo = inputs.bgeo
    out = {"area": shapely.area(zg) if n else np.zeros(0)}
    rp, rz = _point_pairs(inputs.brep, zg)
    out["zb"] = _first_zone(rp, rz, len(bgeo)) if len(bgeo) else np.zeros(0, dtype=np.int64)
    out["building_area"] = _building_area(zg, rp, rz, inputs) if len(bgeo) and n \
        else np.zeros(n)
    cover = tiling_cover(zg) if _fills(zg) else None
    out["tiles"] = cover is not None
    for name in seen.pieces:
        out[name] = seen.area_in(zg, name, cover=cover)
    return out


def _point_pairs(points, zone_geoms):
    """(point, zone) index pairs of every point inside (or on) every zone."""
    if len(points) == 0 or len(zone_geoms) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return shapely.STRtree(zone_geoms).query(points, predicate="intersects")


def _first_zone(p, z, n_points):
    """The first zone of each point in the pairs (-1 when none), as :func:`_assign`."""
    out = np.full(n_points, -1, dtype=np.int64)
    if len(p):
        first = np.unique(p, return_index=True)[1]
        out[p[first]] = z[first]
    return out


def _building_area(zg, rp, rz, inputs: _Inputs) -> np.ndarray:
    """Building footprint area inside each zone.

    A one-polygon building whose bounding box meets no (short) boundary edge of a zone
    cannot cross that boundary: it is inside the zone when its point on surface is
    (pairs ``rp``, ``rz``), else outside. Only the buildings along the boundaries, and
    buildings of several parts, are intersected.
    """
    n = len(zg)
    bgeo, barea = inputs.bgeo, inputs.barea
    segs, seg_z = _ring_segments(shapely.segmentize(zg, _EDGE_M))
    near = np.zeros(0, dtype=np.int64)
    if len(segs):
        b, s = shapely.STRtree(segs).query(bgeo)            # bounding boxes only
        near = np.unique(b.astype(np.int64) * n + seg_z[s])
    single = shapely.get_type_id(bgeo) == 3
    far = single[rp] & ~np.isin(rp.astype(np.int64) * n + rz, near)
    area = np.bincount(rz[far], weights=barea[rp[far]], minlength=n).astype(float)
    keys = [near]
    multi = np.nonzero(~single)[0]
    if len(multi):
        mb, mz = shapely.STRtree(zg).query(bgeo[multi], predicate="intersects")
        keys.append(multi[mb].astype(np.int64) * n + mz)
    keys = np.unique(np.concatenate(keys))
    eb, ez = keys // n, keys % n
    hit = shapely.intersects(zg[ez], bgeo[eb]) if len(keys) else np.zeros(0, dtype=bool)
    eb, ez = eb[hit], ez[hit]
    if len(eb):
        inside = shapely.contains(zg[ez], bgeo[eb])
        ba = np.where(inside, barea[eb], 0.0)
        if (~inside).any():
            ba[~inside] = _intersection_area(zg[ez[~inside]], bgeo[eb[~inside]])
        area += np.bincount(ez, weights=ba, minlength=n)
    return area


def coverage_stats(views: gpd.GeoDataFrame, *, zones: dict, buildings: gpd.GeoDataFrame,
                   cameras: gpd.GeoDataFrame | None = None, entrances=None,
                   settings: dict | str | None = None, seen: SeenIndex | None = None,
                   nested: bool | None = None) -> gpd.GeoDataFrame:
    """Coverage figures per zone (see the module docstring for the columns).

    Parameters
    ----------
    views
        Camera views (:func:`beatgrid.gis.coverage.visibility.camera_views`).
    zones
        Zone type -> zone frame with an ``id`` column (e.g. from
        :func:`zones_from_layers`).
    buildings
        Building footprints with ``households``.
    cameras
        Camera points, for the inside / boundary counts (optional).
    entrances
        Optional entrance points (e.g. OSM ``entrance=*``); adds the share seen.
    settings
        Coverage settings override.
    seen
        A prepared :class:`SeenIndex` (built from ``views`` when None).
    nested
        Whether the views are nested zones (default from ``[visibility] zones``).

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
    inputs = _Inputs(crs, buildings=buildings, cameras=cameras, entrances=entrances)
    return _coverage_stats(zones, seen=seen, inputs=inputs, cov=cfg["coverage"])


def _coverage_stats(zones: dict, *, seen: SeenIndex, inputs: _Inputs, cov: dict):
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
        wall_xy, wall_len, owner = _wall_samples(bgeo[near_b], float(cov["perimeter_step_m"]),
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
        ids = zm["id"].astype(str).to_numpy() if "id" in zm.columns else \
            np.asarray(zm.index.astype(str))
        layers.append((ztype, zdf, ids, _geoms(zm)))
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
                ez = _assign(ent_pts, zg)
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


def _in_crs(zdf, zg_metric, crs, out_crs) -> np.ndarray:
    """The zone polygons in ``out_crs``: the layer's own when it is in that CRS."""
    if out_crs is None:
        return zg_metric
    if zdf.crs is not None and zdf.crs == out_crs:
        return _geoms(zdf)
    return np.asarray(gpd.GeoSeries(zg_metric, crs=crs).to_crs(out_crs).values, dtype=object)


def blind_spots(views: gpd.GeoDataFrame | None, *, zones: dict, buildings: gpd.GeoDataFrame,
                settings: dict | str | None = None, seen: SeenIndex | None = None
                ) -> gpd.GeoDataFrame:
    """Polygons of open space that no camera sees, inside the given zones.

    Parameters
    ----------
    views
        Camera views (ignored when ``seen`` is given).
    zones
        Zone type -> frame with ``id`` (default use: ``{"estate": estates}``).
    buildings
        Building footprints with ``households`` (subtracted; and counted around).
    settings
        Coverage settings (``min_blind_area_m2``, ``household_radius_m``).
    seen
        A prepared :class:`SeenIndex`.

    Returns
    -------
    GeoDataFrame
        ``id`` (``BS0001``...), ``zone_type``, ``zone_id``, ``area_m2``,
        ``households_around`` and the polygon, largest first, in the zones' CRS.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> v = gpd.GeoDataFrame({"camera_id": ["a"], "level": ["all"]},
    ...                      geometry=[shapely.box(0, 0, 10, 10)], crs=4547)
    >>> e = {"estate": gpd.GeoDataFrame({"id": ["E1"]}, geometry=[shapely.box(0, 0, 30, 10)],
    ...                                 crs=4547)}
    >>> b = gpd.GeoDataFrame({"households": [12]}, geometry=[shapely.box(20, 0, 30, 10)],
    ...                      crs=4547)
    >>> bs = blind_spots(v, zones=e, buildings=b)
    >>> bs[["zone_id", "area_m2", "households_around"]].values.tolist()
    [['E1', 100.0, 12]]
    """
    cfg = coverage_settings(settings)
    cov = cfg["coverage"]
    if not zones:
        return _empty_blind(None)
    first = next(iter(zones.values()))
    out_crs = first.crs
    crs = seen.crs if seen is not None and seen.crs is not None else metric_crs(
        first, layer="zones")
    if seen is None:
        seen = SeenIndex(views, crs=crs, multi=False)
    inputs = _Inputs(crs, buildings=buildings)
    return _blind_spots(zones, seen=seen, inputs=inputs, cov=cov)


def _blind_spots(zones: dict, *, seen: SeenIndex, inputs: _Inputs, cov: dict):
    """:func:`blind_spots` on prepared inputs.

    Per zone, the buildings and the seen pieces it touches are unioned (one vectorised
    ``union_all`` per size class of zones, :func:`_union_groups`) and taken from the zone
    (one vectorised ``difference``), in threads.
    """
    crs = inputs.crs
    out_crs = next(iter(zones.values())).crs
    bgeo = inputs.bgeo
    hh = inputs.bcolumn("households")
    btree = inputs.btree
    pieces, ptree = seen.pieces["all"], seen.trees["all"]
    empty = np.zeros(0, dtype=np.int64)
    rows_geom, rows_type, rows_id = [], [], []
    for ztype, zdf in zones.items():
        zm = inputs.zones(ztype, zdf)
        ids = zm["id"].astype(str).to_numpy() if "id" in zm.columns else \
            np.asarray(zm.index.astype(str))
        zg = _geoms(zm)
        bz, bb = btree.query(zg, predicate="intersects") if len(bgeo) else (empty, empty)
        pz, pp = ptree.query(zg, predicate="intersects") if len(pieces) else (empty, empty)
        # per zone: its buildings, then its pieces (in query order)
        cut = _union_groups(np.concatenate([bgeo[bb], pieces[pp]]), np.concatenate([bz, pz]),
                            len(zg))
        has = ~shapely.is_missing(cut)
        rest = zg.copy()
        if has.any():
            z, c = zg[has], cut[has]
            rest[has] = _chunked(lambda s, e: shapely.difference(z[s:e], c[s:e]), len(z),
                                 min_chunk=200)
        parts, owner = shapely.get_parts(rest, return_index=True)
        poly = shapely.get_type_id(parts) == 3
        rows_geom.append(parts[poly])
        rows_type.append(np.full(int(poly.sum()), ztype, dtype=object))
        rows_id.append(ids[owner[poly]])
    geoms = np.concatenate(rows_geom) if rows_geom else np.zeros(0, dtype=object)
    area = shapely.area(geoms) if len(geoms) else np.zeros(0)
    keep = area >= float(cov["min_blind_area_m2"])
    ztypes = np.concatenate(rows_type) if rows_type else np.zeros(0, dtype=object)
    zids = np.concatenate(rows_id).astype(object) if rows_id else np.zeros(0, dtype=object)
    geoms, area, ztypes, zids = geoms[keep], area[keep], ztypes[keep], zids[keep]
    around = np.zeros(len(geoms))
    if len(geoms) and len(bgeo):
        gi, bi = btree.query(geoms, predicate="dwithin", distance=float(cov["household_radius_m"]))
        around = np.bincount(gi, weights=hh[bi], minlength=len(geoms))
    order = np.argsort(-area, kind="stable")
    out = gpd.GeoDataFrame({
        "id": [f"BS{i + 1:04d}" for i in range(len(geoms))],
        "zone_type": ztypes[order], "zone_id": zids[order], "area_m2": area[order],
        "households_around": around[order].round().astype(np.int64),
    }, geometry=gpd.GeoSeries(geoms[order], crs=crs), crs=crs)
    return out.to_crs(out_crs) if out_crs is not None else out


def _empty_blind(crs):
    return gpd.GeoDataFrame({"id": pd.Series([], dtype=object),
                             "zone_type": pd.Series([], dtype=object),
                             "zone_id": pd.Series([], dtype=object),
                             "area_m2": pd.Series([], dtype=float),
                             "households_around": pd.Series([], dtype=np.int64)},
                            geometry=gpd.GeoSeries([], crs=crs), crs=crs)


def estate_risk(estates: gpd.GeoDataFrame, *, stats: pd.DataFrame,
                buildings: gpd.GeoDataFrame, incidents: gpd.GeoDataFrame | None = None,
                settings: dict | str | None = None) -> gpd.GeoDataFrame:
    """Rank (old) estates by the blind-spot risk score, with every figure behind it.

    ``risk_score = 100 x sum_k w_k c_k / sum_k w_k`` with components in [0, 1]
    (weights in ``[risk.weights]``):

    * ``c_uncovered = 1 - seen_share_all`` (open space seen by no camera);
    * ``c_camera_deficit = 1 - min(1, cameras_per_1000_households / target)``;
    * ``c_access_deficit = (open + door_gap) / 2``: ``open`` is 1 for an open estate,
      ``door_gap = 1 - min(1, access_doors / stairwells)`` (when stairwells are unknown,
      ``door_gap = open``);
    * ``c_preventable_incidents``: preventable incidents (estate grown by
      ``incident_buffer_m``) per 1,000 households, divided by the largest among the
      ranked estates;
    * ``c_floating_share``: floating / (registered + floating) residents.

    Parameters
    ----------
    estates
        The estates layer (``is_old``, ``access``, ``access_doors``, ``stairwells``).
    stats
        :func:`coverage_stats` rows (those with ``zone_type == "estate"`` are used).
    buildings
        Buildings with ``households``, ``population_registered``, ``population_floating``.
    incidents
        Incidents with ``preventable`` (optional).

    Returns
    -------
    GeoDataFrame
        ``rank``, ``estate_id``, ``name``, ``risk_score``, the components, the raw
        figures and the estate polygon; highest risk first.

    Examples
    --------
    >>> import geopandas as gpd, shapely, pandas as pd
    >>> e = gpd.GeoDataFrame({"id": ["A", "B"], "is_old": [True, True],
    ...                       "access": ["open", "closed"], "access_doors": [0, 6],
    ...                       "stairwells": [6, 6]},
    ...                      geometry=[shapely.box(0, 0, 10, 10), shapely.box(20, 0, 30, 10)],
    ...                      crs=4547)
    >>> st = pd.DataFrame({"zone_type": "estate", "zone_id": ["A", "B"],
    ...                    "seen_share_all": [0.1, 0.9], "cameras_inside": [0, 3],
    ...                    "households": [100, 100], "cameras_per_1000_households": [0.0, 30.0]})
    >>> b = gpd.GeoDataFrame({"households": []}, geometry=[], crs=4547)
    >>> r = estate_risk(e, stats=st, buildings=b)
    >>> r["estate_id"].tolist(), r["rank"].tolist()
    (['A', 'B'], [1, 2])
    """
    cfg = coverage_settings(settings)
    return _estate_risk(estates, stats=stats, buildings=buildings, incidents=incidents,
                        rk=cfg["risk"])


def _estate_risk(estates, *, stats, buildings, incidents, rk: dict,
                 inputs: _Inputs | None = None):
    """:func:`estate_risk`, sharing ``inputs`` when they are in the estates' metric CRS."""
    w = rk["weights"]
    keep = np.ones(len(estates), dtype=bool)
    if rk["old_estates_only"] and "is_old" in estates.columns:
        keep = estates["is_old"].fillna(False).astype(bool).to_numpy()
    crs = metric_crs(estates, layer="estates") if len(estates) else None
    if not keep.any():
        cols = ["rank", "estate_id", "name", "risk_score"]
        return gpd.GeoDataFrame({c: [] for c in cols}, geometry=gpd.GeoSeries([], crs=estates.crs),
                                crs=estates.crs)
    if inputs is None or inputs.crs != crs:
        inputs = _Inputs(crs, buildings=buildings, incidents=incidents)
    em = inputs.zones("estate", estates)[keep]
    ids = em["id"].astype(str).to_numpy()
    st = stats[stats["zone_type"] == "estate"].drop_duplicates("zone_id").set_index("zone_id")
    st = st.reindex(ids)
    seen_all = st["seen_share_all"].to_numpy(float) if "seen_share_all" in st else np.zeros(len(em))
    cams_in = st["cameras_inside"].to_numpy(float) if "cameras_inside" in st else np.zeros(len(em))

    # residents of the estate's buildings (point on surface inside the estate)
    bld = inputs.frame("buildings")
    zg = _geoms(em)
    if len(bld):
        zb = _assign(inputs.brep, zg)
        has = zb >= 0

        def total(col):
            v = inputs.bcolumn(col)
            return np.bincount(zb[has], weights=v[has], minlength=len(zg))
        households, reg, flo = (total("households"), total("population_registered"),
                                total("population_floating"))
    else:
        households = st["households"].to_numpy(float) if "households" in st else np.zeros(len(zg))
        reg = flo = np.zeros(len(zg))
    # preventable incidents
    prev = np.zeros(len(zg))
    inc = inputs.frame("incidents")
    if inc is not None and len(inc):
        if "preventable" in inc.columns:
            inc = inc[inc["preventable"].fillna(False).astype(bool)]
        if len(inc):
            grown = shapely.buffer(zg, float(rk["incident_buffer_m"])) \
                if rk["incident_buffer_m"] > 0 else zg
            zi, _ = shapely.STRtree(inc.geometry.values).query(grown, predicate="intersects")
            prev = np.bincount(zi, minlength=len(zg)).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        per1000 = np.where(households > 0, 1000.0 * cams_in / households, 0.0)
        target = float(rk["target_cameras_per_1000_households"])
        c_unc = 1.0 - np.nan_to_num(seen_all, nan=0.0)
        c_cam = 1.0 - np.minimum(1.0, per1000 / target) if target > 0 else np.zeros(len(zg))
        is_open = (em["access"].astype(str).to_numpy() == "open").astype(float) \
            if "access" in em.columns else np.zeros(len(zg))
        doors = pd.to_numeric(em.get("access_doors", pd.Series(0, index=em.index)),
                              errors="coerce").fillna(0).to_numpy(float)
        stairs = pd.to_numeric(em.get("stairwells", pd.Series(np.nan, index=em.index)),
                               errors="coerce").to_numpy(float)
        door_gap = np.where(np.isfinite(stairs) & (stairs > 0),
                            1.0 - np.minimum(1.0, doors / np.where(stairs > 0, stairs, 1.0)),
                            is_open)
        c_acc = (is_open + door_gap) / 2.0
        prev_rate = np.where(households > 0, 1000.0 * prev / households, prev)
        top = prev_rate.max() if len(prev_rate) else 0.0
        c_inc = prev_rate / top if top > 0 else np.zeros(len(zg))
        people = reg + flo
        c_flo = np.where(people > 0, flo / people, 0.0)
    comps = {"c_uncovered": (c_unc, w["uncovered"]),
             "c_camera_deficit": (c_cam, w["camera_deficit"]),
             "c_access_deficit": (c_acc, w["access_deficit"]),
             "c_preventable_incidents": (c_inc, w["preventable_incidents"]),
             "c_floating_share": (c_flo, w["floating_share"])}
    wsum = sum(float(v[1]) for v in comps.values())
    if wsum <= 0:
        raise InputError("the risk weights add up to 0",
                         fix="give at least one positive weight in [risk.weights]")
    score = 100.0 * sum(float(wt) * c for c, wt in comps.values()) / wsum
    out = pd.DataFrame({
        "estate_id": ids,
        "name": em["name"].astype(str).to_numpy() if "name" in em.columns else "",
        "risk_score": score,
        **{k: v[0] for k, v in comps.items()},
        "seen_share_all": seen_all,
        "cameras_inside": cams_in.astype(np.int64) if np.isfinite(cams_in).all() else cams_in,
        "households": households.round().astype(np.int64),
        "cameras_per_1000_households": per1000,
        "access": em["access"].astype(str).to_numpy() if "access" in em.columns else "",
        "access_doors": doors, "stairwells": stairs,
        "preventable_incidents": prev.astype(np.int64),
        "preventable_per_1000_households": prev_rate,
        "population_registered": reg.round().astype(np.int64),
        "population_floating": flo.round().astype(np.int64),
    })
    out = gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(_geoms(estates)[keep],
                                                       crs=estates.crs), crs=estates.crs)
    out = out.sort_values(["risk_score", "estate_id"], ascending=[False, True],
                          kind="stable").reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out


def analyse_coverage(layers: dict, *, settings: dict | str | None = None,
                     profile: str | None = None, zones: str | None = None,
                     levels: bool = True, zone_layers=None, entrances=None,
                     n_jobs: int | None = None, views: gpd.GeoDataFrame | None = None) -> dict:
    """Views, coverage statistics, blind spots and the old-estate ranking from project layers.

    Parameters
    ----------
    layers
        Project layers (``cameras``, ``buildings``, zone layers, ``estates``,
        ``incidents``), e.g. from :func:`beatgrid.gis.io.project.read_project`.
    settings, profile, zones, levels, n_jobs
        See :func:`beatgrid.gis.coverage.visibility.camera_views`.
    zone_layers
        Layers to compute statistics for (default ``[coverage] zone_layers``).
    entrances
        Optional entrance points for the entrance share.
    views
        Views already computed (skips the visibility step).

    Returns
    -------
    dict
        ``camera_views``, ``coverage_stats``, ``blind_spots``, ``estate_risk``
        (GeoDataFrames in the cameras' CRS) and ``seen`` (the :class:`SeenIndex`).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> crs = 4547
    >>> cams = gpd.GeoDataFrame({"id": ["c1"], "direction": [90.0], "fov_deg": [90.0],
    ...                          "range_m": [20.0], "height_m": [0.0]},
    ...                         geometry=[shapely.Point(1, 10)], crs=crs)
    >>> est = gpd.GeoDataFrame({"id": ["E1"], "is_old": [True], "access": ["open"]},
    ...                        geometry=[shapely.box(0, 0, 40, 20)], crs=crs)
    >>> bld = gpd.GeoDataFrame({"id": ["B1"], "households": [30]},
    ...                        geometry=[shapely.box(25, 2, 35, 18)], crs=crs)
    >>> out = analyse_coverage({"cameras": cams, "buildings": bld, "estates": est})
    >>> sorted(k for k in out if k != "seen")
    ['blind_spots', 'camera_views', 'coverage_stats', 'estate_risk']
    >>> out["estate_risk"]["estate_id"].tolist()
    ['E1']
    """
    from beatgrid.gis.coverage.visibility import camera_views

    cfg = coverage_settings(settings)
    cams = layers.get("cameras")
    blds = layers.get("buildings")
    if cams is None:
        raise InputError("the project has no cameras layer",
                         fix="import cameras first (`beatgrid import` or the OSM importer)")
    if blds is None:
        blds = gpd.GeoDataFrame({"households": []}, geometry=[], crs=cams.crs)
    nested_mode = (zones or cfg["visibility"]["zones"]) == "nested"
    zdict = zones_from_layers(layers, zone_layers, settings=cfg)
    ref = next(iter(zdict.values())) if zdict else cams
    crs = metric_crs(ref if len(ref) else cams, layer="zones")
    if views is None:
        # computed in the metric CRS: one conversion (for the result) instead of two
        views_m = camera_views(cams, blds, profile=profile, zones=zones, levels=levels,
                               settings=cfg, n_jobs=n_jobs, metric=True)
        views = views_m.to_crs(cams.crs) if len(views_m) and cams.crs is not None \
            and views_m.crs != cams.crs else views_m
    else:
        views_m = views
    if len(views_m) and views_m.crs is not None and views_m.crs != crs:
        views_m = views_m.to_crs(crs)
    seen = SeenIndex(views_m, crs=crs, nested=nested_mode)
    inputs = _Inputs(crs, buildings=blds, cameras=cams, entrances=entrances,
                     incidents=layers.get("incidents"))
    cov = cfg["coverage"]
    out = {"camera_views": views, "seen": seen}
    if zdict:
        out["coverage_stats"] = _coverage_stats(zdict, seen=seen, inputs=inputs, cov=cov)
    else:
        out["coverage_stats"] = gpd.GeoDataFrame({"zone_type": [], "zone_id": []},
                                                 geometry=gpd.GeoSeries([], crs=cams.crs),
                                                 crs=cams.crs)
    bs_layers = zones_from_layers(layers, cov["blind_spot_layers"], settings=cfg)
    out["blind_spots"] = _blind_spots(bs_layers, seen=seen, inputs=inputs, cov=cov) \
        if bs_layers else _empty_blind(cams.crs)
    estates = layers.get("estates")
    if estates is not None and len(estates):
        out["estate_risk"] = _estate_risk(estates, stats=out["coverage_stats"], buildings=blds,
                                          incidents=layers.get("incidents"), rk=cfg["risk"],
                                          inputs=inputs)
    else:
        out["estate_risk"] = gpd.GeoDataFrame({"rank": [], "estate_id": []},
                                              geometry=gpd.GeoSeries([], crs=cams.crs),
                                              crs=cams.crs)
    return out
