"""Camera coverage statistics, blind spots and the old-estate risk ranking.

Works on the camera views of :func:`beatgrid.gis.visibility.camera_views` (one polygon
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

The union of the views is dissolved per connected group of overlapping views (an
STRtree self-join and scipy's connected components), which is several times faster
than one city-wide ``union_all``.

Examples
--------
>>> import geopandas as gpd, shapely
>>> from beatgrid.gis.coverage import coverage_stats
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

from .camera_fov import coverage_settings
from .crs import metric_crs
from .errors import InputError

__all__ = [
    "SeenIndex", "dissolve_overlapping", "zones_from_layers", "coverage_stats",
    "blind_spots", "estate_risk", "analyse_coverage", "ZONE_TYPES",
]

#: Layer name -> zone_type written in coverage_stats.
ZONE_TYPES = {"estates": "estate", "grids": "grid", "beats": "beat", "stations": "station",
              "communities": "community", "governance_grids": "governance_grid",
              "responsibility_areas": "responsibility_area"}


def dissolve_overlapping(geoms) -> np.ndarray:
    """Union of polygons as disjoint pieces: one ``union_all`` per group that overlaps.

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
    _, label = connected_components(adj, directed=False)
    order = np.argsort(label, kind="stable")
    lab = label[order]
    cuts = np.r_[0, np.nonzero(np.diff(lab))[0] + 1, n]
    out = []
    for s, e in zip(cuts[:-1], cuts[1:]):
        out.append(g[order[s]] if e - s == 1 else shapely.union_all(g[order[s:e]]))
    return np.asarray(out, dtype=object)


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
        geo = v.geometry.values
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
                x = shapely.intersection(g[i[keep]], g[j[keep]])
                pieces = dissolve_overlapping(x[shapely.area(x) > 0])
            self._set("multi", pieces)

    def _set(self, name, pieces):
        pieces = np.asarray(pieces, dtype=object)
        pieces = shapely.get_parts(pieces) if len(pieces) else pieces
        pieces = pieces[shapely.area(pieces) > 0] if len(pieces) else pieces
        self.pieces[name] = pieces
        self.trees[name] = shapely.STRtree(pieces)

    def area_in(self, zones, level: str = "all"):
        """Area (m2) seen at ``level`` inside each zone polygon (metric CRS)."""
        z = np.atleast_1d(np.asarray(zones, dtype=object))
        out = np.zeros(len(z))
        pieces = self.pieces[level]
        if len(pieces) == 0 or len(z) == 0:
            return out if np.ndim(zones) else out[0]
        zi, pi = self.trees[level].query(z, predicate="intersects")
        if len(zi):
            shapely.prepare(z)
            inside = shapely.contains(z[zi], pieces[pi])
            area = np.where(inside, shapely.area(pieces[pi]), 0.0)
            part = ~inside
            area[part] = _intersection_area(z[zi[part]], pieces[pi[part]])
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


def _intersection_area(a, b, *, min_chunk: int = 2000):
    """``area(intersection(a, b))`` element-wise, in two threads for long arrays.

    Shapely releases the GIL inside its vectorised operations, so the two halves run
    on two cores.
    """
    n = len(a)
    workers = min(os.cpu_count() or 1, 4)
    if n < 2 * min_chunk or workers < 2:
        return shapely.area(shapely.intersection(a, b))
    cuts = np.linspace(0, n, workers + 1).astype(int)
    with ThreadPoolExecutor(workers) as pool:
        parts = pool.map(lambda k: shapely.area(shapely.intersection(
            a[cuts[k]:cuts[k + 1]], b[cuts[k]:cuts[k + 1]])), range(workers))
        return np.concatenate(list(parts))


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
        from .crs import require_crs
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


def coverage_stats(views: gpd.GeoDataFrame, *, zones: dict, buildings: gpd.GeoDataFrame,
                   cameras: gpd.GeoDataFrame | None = None, entrances=None,
                   settings: dict | str | None = None, seen: SeenIndex | None = None,
                   nested: bool | None = None) -> gpd.GeoDataFrame:
    """Coverage figures per zone (see the module docstring for the columns).

    Parameters
    ----------
    views
        Camera views (:func:`beatgrid.gis.visibility.camera_views`).
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
    cov = cfg["coverage"]
    if not zones:
        raise InputError("no zones given for coverage statistics",
                         fix="pass zones={'estate': estates, ...} with at least one layer")
    first = next(iter(zones.values()))
    out_crs = first.crs
    crs = seen.crs if seen is not None and seen.crs is not None else metric_crs(
        first, layer="zones")
    if nested is None:
        nested = cfg["visibility"]["zones"] == "nested"
    if seen is None:
        seen = SeenIndex(views, crs=crs, nested=nested)
    levels = seen.levels
    bld = _metric(buildings, crs, "buildings")
    bgeo = bld.geometry.values if len(bld) else np.zeros(0, dtype=object)
    hh = pd.to_numeric(bld["households"], errors="coerce").fillna(0).to_numpy() \
        if "households" in bld.columns and len(bld) else np.zeros(len(bgeo))
    barea = shapely.area(bgeo) if len(bgeo) else np.zeros(0)
    brep = shapely.point_on_surface(bgeo) if len(bgeo) else np.zeros(0, dtype=object)
    btree = shapely.STRtree(bgeo)
    wall_xy, wall_len, wall_b = _wall_samples(bgeo, float(cov["perimeter_step_m"]),
                                              float(cov["perimeter_offset_m"]))
    wall_seen = np.zeros(len(wall_b), dtype=bool)
    if len(seen.pieces["all"]) and len(bgeo):
        # only the walls of buildings touching the seen area can be seen
        near_b = np.unique(seen.trees["all"].query(
            bgeo, predicate="dwithin", distance=2 * float(cov["perimeter_offset_m"]))[0])
        cand = np.nonzero(np.isin(wall_b, near_b))[0]
        wall_seen[cand] = seen.covers_points(shapely.points(wall_xy[cand]), "all")
    cams = _metric(cameras, crs, "cameras") if cameras is not None else None
    cam_pts = cams.geometry.values if cams is not None and len(cams) else np.zeros(0, object)
    ent = _metric(entrances, crs, "entrances") if entrances is not None else None
    ent_pts = ent.geometry.values if ent is not None and len(ent) else np.zeros(0, object)
    ent_seen = seen.covers_points(ent_pts, "all", float(cov["entrance_tolerance_m"]))

    frames = []
    for ztype, zdf in zones.items():
        zm = _metric(zdf, crs, ztype)
        zg = zm.geometry.values
        n = len(zg)
        ids = zm["id"].astype(str).to_numpy() if "id" in zm.columns else \
            np.asarray(zm.index.astype(str))
        shapely.prepare(zg)
        area = shapely.area(zg)
        # building area inside each zone
        bz, bb = btree.query(zg, predicate="intersects") if len(bgeo) else (
            np.zeros(0, int), np.zeros(0, int))
        inside = shapely.contains(zg[bz], bgeo[bb]) if len(bz) else np.zeros(0, bool)
        ba = np.where(inside, barea[bb], 0.0) if len(bz) else np.zeros(0)
        if len(bz) and (~inside).any():
            ba[~inside] = shapely.area(shapely.intersection(zg[bz[~inside]], bgeo[bb[~inside]]))
        b_area = np.bincount(bz, weights=ba, minlength=n) if len(bz) else np.zeros(n)
        open_area = np.maximum(area - b_area, 0.0)
        rec = {"zone_type": ztype, "zone_id": ids, "area_m2": area,
               "building_area_m2": b_area, "open_area_m2": open_area}
        with np.errstate(divide="ignore", invalid="ignore"):
            for name in levels:
                s = seen.area_in(zg, name)
                rec[f"seen_share_{name}"] = np.where(open_area > 0,
                                                     np.minimum(s / open_area, 1.0), np.nan)
                if name == "all":
                    rec["unseen_open_m2"] = np.maximum(open_area - s, 0.0)
            m = seen.area_in(zg, "multi") if "multi" in seen.pieces else np.zeros(n)
            rec["multi_seen_share"] = np.where(open_area > 0, np.minimum(m / open_area, 1.0),
                                               np.nan)
            # buildings of the zone: by a point on their surface
            zb = _assign(brep, zg) if len(bgeo) else np.zeros(0, int)
            has = zb >= 0
            households = np.bincount(zb[has], weights=hh[has], minlength=n)
            wz = zb[wall_b] if len(wall_b) else np.zeros(0, int)
            wk = wz >= 0
            per = np.bincount(wz[wk], weights=wall_len[wk], minlength=n)
            per_seen = np.bincount(wz[wk], weights=wall_len[wk] * wall_seen[wk], minlength=n)
            rec["perimeter_m"] = per
            rec["perimeter_seen_share"] = np.where(per > 0, per_seen / per, np.nan)
            if ent is not None:
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
        frame = gpd.GeoDataFrame(rec, geometry=gpd.GeoSeries(zg, crs=crs), crs=crs)
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    out = gpd.GeoDataFrame(out, geometry="geometry", crs=crs)
    return out.to_crs(out_crs) if out_crs is not None else out


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
    bld = _metric(buildings, crs, "buildings")
    bgeo = bld.geometry.values if len(bld) else np.zeros(0, dtype=object)
    hh = pd.to_numeric(bld["households"], errors="coerce").fillna(0).to_numpy() \
        if "households" in bld.columns and len(bld) else np.zeros(len(bgeo))
    btree = shapely.STRtree(bgeo)
    pieces, ptree = seen.pieces["all"], seen.trees["all"]
    rows_geom, rows_type, rows_id = [], [], []
    for ztype, zdf in zones.items():
        zm = _metric(zdf, crs, ztype)
        ids = zm["id"].astype(str).to_numpy() if "id" in zm.columns else \
            np.asarray(zm.index.astype(str))
        zg = zm.geometry.values
        bz, bb = btree.query(zg, predicate="intersects") if len(bgeo) else ([], [])
        pz, pp = ptree.query(zg, predicate="intersects") if len(pieces) else ([], [])
        bz, bb, pz, pp = map(np.asarray, (bz, bb, pz, pp))
        bsplit = np.searchsorted(bz, np.arange(len(zg) + 1)) if len(bz) else None
        psplit = np.searchsorted(pz, np.arange(len(zg) + 1)) if len(pz) else None
        for k, z in enumerate(zg):
            cut = []
            if bsplit is not None:
                cut.append(bgeo[bb[bsplit[k]:bsplit[k + 1]]])
            if psplit is not None:
                cut.append(pieces[pp[psplit[k]:psplit[k + 1]]])
            cut = np.concatenate(cut) if cut else np.zeros(0, dtype=object)
            rest = shapely.difference(z, shapely.union_all(cut)) if len(cut) else z
            parts = shapely.get_parts(rest)
            parts = parts[shapely.get_type_id(parts) == 3]
            rows_geom.append(parts)
            rows_type.extend([ztype] * len(parts))
            rows_id.extend([ids[k]] * len(parts))
    geoms = np.concatenate(rows_geom) if rows_geom else np.zeros(0, dtype=object)
    area = shapely.area(geoms) if len(geoms) else np.zeros(0)
    keep = area >= float(cov["min_blind_area_m2"])
    ztypes = np.asarray(rows_type, dtype=object)
    zids = np.asarray(rows_id, dtype=object)
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
    rk = cfg["risk"]
    w = rk["weights"]
    est = estates.copy()
    if rk["old_estates_only"] and "is_old" in est.columns:
        est = est[est["is_old"].fillna(False).astype(bool)]
    crs = metric_crs(estates, layer="estates") if len(estates) else None
    if not len(est):
        cols = ["rank", "estate_id", "name", "risk_score"]
        return gpd.GeoDataFrame({c: [] for c in cols}, geometry=gpd.GeoSeries([], crs=estates.crs),
                                crs=estates.crs)
    em = est.to_crs(crs)
    ids = em["id"].astype(str).to_numpy()
    st = stats[stats["zone_type"] == "estate"].drop_duplicates("zone_id").set_index("zone_id")
    st = st.reindex(ids)
    seen_all = st["seen_share_all"].to_numpy(float) if "seen_share_all" in st else np.zeros(len(em))
    cams_in = st["cameras_inside"].to_numpy(float) if "cameras_inside" in st else np.zeros(len(em))

    # residents of the estate's buildings (point on surface inside the estate)
    bld = _metric(buildings, crs, "buildings")
    zg = em.geometry.values
    if len(bld):
        zb = _assign(shapely.point_on_surface(bld.geometry.values), zg)
        has = zb >= 0

        def total(col):
            if col not in bld.columns:
                return np.zeros(len(zg))
            v = pd.to_numeric(bld[col], errors="coerce").fillna(0).to_numpy()
            return np.bincount(zb[has], weights=v[has], minlength=len(zg))
        households, reg, flo = (total("households"), total("population_registered"),
                                total("population_floating"))
    else:
        households = st["households"].to_numpy(float) if "households" in st else np.zeros(len(zg))
        reg = flo = np.zeros(len(zg))
    # preventable incidents
    prev = np.zeros(len(zg))
    if incidents is not None and len(incidents):
        inc = _metric(incidents, crs, "incidents")
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
    out = gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(zg, crs=crs), crs=crs)
    out = out.sort_values(["risk_score", "estate_id"], ascending=[False, True],
                          kind="stable").reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out.to_crs(estates.crs)


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
        See :func:`beatgrid.gis.visibility.camera_views`.
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
    from .visibility import camera_views

    cfg = coverage_settings(settings)
    cams = layers.get("cameras")
    blds = layers.get("buildings")
    if cams is None:
        raise InputError("the project has no cameras layer",
                         fix="import cameras first (`beatgrid import` or the OSM importer)")
    if blds is None:
        blds = gpd.GeoDataFrame({"households": []}, geometry=[], crs=cams.crs)
    nested_mode = (zones or cfg["visibility"]["zones"]) == "nested"
    if views is None:
        views = camera_views(cams, blds, profile=profile, zones=zones, levels=levels,
                             settings=cfg, n_jobs=n_jobs)
    zdict = zones_from_layers(layers, zone_layers, settings=cfg)
    ref = next(iter(zdict.values())) if zdict else cams
    crs = metric_crs(ref if len(ref) else cams, layer="zones")
    seen = SeenIndex(views, crs=crs, nested=nested_mode)
    out = {"camera_views": views, "seen": seen}
    if zdict:
        out["coverage_stats"] = coverage_stats(views, zones=zdict, buildings=blds, cameras=cams,
                                               entrances=entrances, settings=cfg, seen=seen,
                                               nested=nested_mode)
    else:
        out["coverage_stats"] = gpd.GeoDataFrame({"zone_type": [], "zone_id": []},
                                                 geometry=gpd.GeoSeries([], crs=cams.crs),
                                                 crs=cams.crs)
    bs_layers = zones_from_layers(layers, cfg["coverage"]["blind_spot_layers"], settings=cfg)
    out["blind_spots"] = blind_spots(views, zones=bs_layers, buildings=blds, settings=cfg,
                                     seen=seen) if bs_layers else _empty_blind(cams.crs)
    estates = layers.get("estates")
    if estates is not None and len(estates):
        out["estate_risk"] = estate_risk(estates, stats=out["coverage_stats"], buildings=blds,
                                         incidents=layers.get("incidents"), settings=cfg)
    else:
        out["estate_risk"] = gpd.GeoDataFrame({"rank": [], "estate_id": []},
                                              geometry=gpd.GeoSeries([], crs=cams.crs),
                                              crs=cams.crs)
    return out
