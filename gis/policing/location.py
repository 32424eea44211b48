"""Where features lie: the polygon holding each point, neighbouring polygons, clean ids.

Shared by every policing module (beats, responsibility areas, staffing, alignment,
hotspots):

* :func:`locate_points` gives the id of the polygon holding each point, and
  :func:`incident_beats` the beat of each incident;
* :func:`adjacency` gives the neighbours of each polygon (queen contiguity, with a
  tolerance in metres for digitising slivers and gaps);
* :func:`clean_id` reads an id cell as text (``None`` when missing or empty), and
  :func:`natural_key` / :func:`natural_sort_key` order ids naturally (``2`` before
  ``10``, ``B2`` before ``B10``), as every policing output listed by id is ordered;
* :func:`place_points` and :func:`place_incidents` count the points outside every
  polygon and snap those within a tolerance (``beats.incident_snap_m``) to the
  nearest polygon (:class:`Placement`).

Distances are computed in the metric CRS of :func:`beatgrid.gis.crs.to_metric`.

Examples
--------
>>> from beatgrid.gis import Project
>>> project = Project.open("sample-geodata/ningbo-jiangbei.gpkg")
>>> beats = project.layer("beats")
>>> located = incident_beats(project.layer("incidents"), beats)
>>> bool(located.notna().all()), sorted(located.unique()) == sorted(beats["id"])
(True, True)
>>> len(adjacency(beats)) == len(beats)
True
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from beatgrid.gis.crs import to_metric

_DIGITS = re.compile(r"([0-9]+)")


def clean_id(value: Any) -> str | None:
    """An id cell as text: ``None`` for a missing value (None, NaN, NA) or empty text.

    Examples
    --------
    >>> clean_id("B01"), clean_id(7), clean_id(float("nan")), clean_id(""), clean_id(None)
    ('B01', '7', None, None, None)
    """
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    text = str(value)
    return text if text else None


def natural_key(value: Any) -> tuple[Any, ...]:
    """Sort key of an id read naturally: runs of digits compare as numbers.

    ``1, 2, 10`` (not ``1, 10, 2``), ``B2`` before ``B10``; ids of the same width
    (``B01`` ... ``B12``) keep their text order; equal numbers written differently
    (``B01``, ``B1``) are ordered by their digits as text. A missing id sorts last.

    Examples
    --------
    >>> sorted(["10", "2", "1", "B10", "B2", "B01"], key=natural_key)
    ['1', '2', '10', 'B01', 'B2', 'B10']
    >>> sorted(["S02", None, "S01"], key=natural_key)
    ['S01', 'S02', None]
    """
    text = clean_id(value)
    if text is None:
        return (1, ())
    parts = _DIGITS.split(text)
    # even positions are text, odd positions digits: compared position by position
    return (0, tuple((int(p), p) if i % 2 else (p,) for i, p in enumerate(parts)))


def natural_sort_key(values: pd.Series) -> pd.Series:
    """``sort_values(key=...)`` argument ordering ids naturally (see :func:`natural_key`).

    Numeric and boolean columns are returned unchanged, so it can be given to a
    sort on several columns.

    Examples
    --------
    >>> df = pd.DataFrame({"station_id": ["10", "2", "1"], "beats": [3, 2, 1]})
    >>> df.sort_values("station_id", key=natural_sort_key)["station_id"].tolist()
    ['1', '2', '10']
    """
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return values
    keys = [natural_key(v) for v in values]
    order = sorted(range(len(keys)), key=keys.__getitem__)
    rank = np.empty(len(keys), dtype=np.int64)
    rank[order] = np.arange(len(keys))
    return pd.Series(rank, index=values.index)


def adjacency(gdf: gpd.GeoDataFrame, *, tolerance_m: float = 1.0) -> list[set[int]]:
    """Neighbours of each polygon (positions): polygons within ``tolerance_m`` metres.

    Shared edges and shared corners both count (queen contiguity); the tolerance
    absorbs digitising slivers and gaps.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> g = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1),
    ...                                shapely.box(5, 5, 6, 6)], crs=3857)
    >>> adjacency(g)
    [{1}, {0}, set()]
    """
    n = len(gdf)
    out: list[set[int]] = [set() for _ in range(n)]
    if n == 0:
        return out
    geoms = to_metric(gdf, layer="beats").geometry.array
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="dwithin", distance=float(tolerance_m))
    for a, b in zip(left.tolist(), right.tolist()):
        if a != b:
            out[a].add(b)
            out[b].add(a)
    return out


def locate_points(points: gpd.GeoSeries | gpd.GeoDataFrame, polygons: gpd.GeoDataFrame, *,
                  id_column: str = "id") -> pd.Series:
    """Id of the polygon containing each point (``None`` outside every polygon).

    ``points`` is a GeoSeries (or GeoDataFrame) of points in any CRS; a point on a
    shared border takes the first polygon found. The result has the index of
    ``points``.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> polys = gpd.GeoDataFrame({"id": ["a", "b"]}, geometry=[shapely.box(0, 0, 1, 1),
    ...                           shapely.box(1, 0, 2, 1)], crs=3857)
    >>> pts = gpd.GeoSeries([shapely.Point(.5, .5), shapely.Point(1.5, .5),
    ...                      shapely.Point(9, 9)], crs=3857)
    >>> list(locate_points(pts, polys))
    ['a', 'b', None]
    """
    geo = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
    out = pd.Series([None] * len(geo), index=geo.index, dtype=object)
    if len(geo) == 0 or len(polygons) == 0:
        return out
    if geo.crs is not None and polygons.crs is not None and geo.crs != polygons.crs:
        geo = geo.to_crs(polygons.crs)
    tree = shapely.STRtree(polygons.geometry.array)
    pts = np.asarray(geo.array, dtype=object)
    valid = ~(shapely.is_missing(pts) | shapely.is_empty(pts))
    ppos, gpos = tree.query(pts[valid], predicate="intersects")
    valid_idx = np.flatnonzero(valid)
    if len(ppos):
        first = pd.Series(gpos).groupby(ppos).first()
        ids = polygons[id_column].astype(str).to_numpy()
        vals = np.array(out.to_numpy(), dtype=object)
        vals[valid_idx[first.index.to_numpy()]] = ids[first.to_numpy()]
        out = pd.Series(vals, index=geo.index, dtype=object)
    return out


@dataclass(frozen=True)
class Placement:
    """Where points lie: the polygon of each point, after snapping, and the counts.

    Attributes
    ----------
    ids
        Polygon id of each point (index of the points); ``None`` for a point outside
        every polygon and farther than ``snap_m`` from all of them.
    snapped
        Points outside every polygon but within ``snap_m`` metres of one: they take
        the nearest polygon (a point digitised centimetres outside the outer edge).
    outside
        Points left outside (not counted per polygon), with those without a location.
    snap_m
        The snapping tolerance used, in metres (0: none).
    """

    ids: pd.Series
    snapped: int = 0
    outside: int = 0
    snap_m: float = 0.0

    def notes(self, *, what: str = "incident", where: str = "beat",
              uncounted: str = "not counted") -> list[str]:
        """The counts in words, for a result's notes (none when every point lies inside).

        Examples
        --------
        >>> notes = Placement(pd.Series(["a", None]), snapped=2, outside=1, snap_m=5.0).notes()
        >>> for note in notes:
        ...     print(note)
        2 incident(s) lay outside every beat but within 5 m of one (beats.incident_snap_m):
        counted in the nearest beat
        1 incident(s) lie outside every beat, more than 5 m from one (beats.incident_snap_m):
        not counted
        """
        out = []
        if self.snapped:
            out.append(f"{self.snapped} {what}(s) lay outside every {where} but within "
                       f"{self.snap_m:g} m of one (beats.incident_snap_m): counted in the "
                       f"nearest {where}")
        if self.outside:
            how = f", more than {self.snap_m:g} m from one (beats.incident_snap_m)" \
                if self.snap_m > 0 else " (no snapping: beats.incident_snap_m or --snap-m is 0)"
            out.append(f"{self.outside} {what}(s) lie outside every {where}{how}: {uncounted}")
        return out


def place_points(points: gpd.GeoSeries | gpd.GeoDataFrame, polygons: gpd.GeoDataFrame, *,
                 snap_m: float = 0.0, id_column: str = "id") -> Placement:
    """The polygon holding each point; points just outside snapped to the nearest one.

    Parameters
    ----------
    points
        Points in any CRS (a GeoSeries or GeoDataFrame).
    polygons
        Polygons with ``id_column``.
    snap_m
        A point outside every polygon but within this many metres of one (measured
        in the metric CRS of :func:`beatgrid.gis.crs.to_metric`) takes the nearest;
        0 disables snapping.
    id_column
        The polygons' id column.

    Returns
    -------
    Placement

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> beats = gpd.GeoDataFrame({"id": ["B1"]}, geometry=[shapely.box(0, 0, 100, 100)],
    ...                          crs=32651)
    >>> pts = gpd.GeoSeries([shapely.Point(50, 50), shapely.Point(100.02, 50),
    ...                      shapely.Point(130, 50)], crs=32651)
    >>> p = place_points(pts, beats, snap_m=5)
    >>> p.ids.tolist(), p.snapped, p.outside
    (['B1', 'B1', None], 1, 1)
    """
    located = locate_points(points, polygons, id_column=id_column)
    miss = located.isna().to_numpy()
    snapped = 0
    if snap_m > 0 and miss.any() and len(polygons):
        geo = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
        if geo.crs is None:
            geo = geo.set_crs(polygons.crs)
        poly_m = to_metric(polygons.reset_index(drop=True), layer="beats")
        pts = np.asarray(geo[miss].to_crs(poly_m.crs).array, dtype=object)
        valid = np.flatnonzero(~(shapely.is_missing(pts) | shapely.is_empty(pts)))
        tree = shapely.STRtree(poly_m.geometry.array)
        near_pt, near_poly = tree.query_nearest(pts[valid], max_distance=float(snap_m),
                                                all_matches=False)
        if len(near_pt):
            ids = polygons[id_column].astype(str).to_numpy()
            vals = np.array(located.to_numpy(), dtype=object)
            vals[np.flatnonzero(miss)[valid[near_pt]]] = ids[near_poly]
            located = pd.Series(vals, index=located.index, dtype=object)
            snapped = len(near_pt)
    return Placement(ids=located, snapped=snapped, outside=int(located.isna().sum()),
                     snap_m=float(snap_m))


def place_incidents(incidents: gpd.GeoDataFrame | None, beats: gpd.GeoDataFrame, *,
                    snap_m: float = 0.0) -> Placement:
    """:func:`place_points` of the incidents in the beats (an empty placement without any).

    Examples
    --------
    >>> from beatgrid.gis import Project
    >>> project = Project.open("sample-geodata/ningbo-jiangbei.gpkg")
    >>> p = place_incidents(project.layer("incidents"), project.layer("beats"), snap_m=5)
    >>> p.snapped, p.outside, p.notes()
    (0, 0, [])
    """
    if incidents is None or len(incidents) == 0:
        return Placement(ids=pd.Series(dtype=object), snap_m=float(snap_m))
    return place_points(incidents.geometry, beats, snap_m=snap_m)


def incident_beats(incidents: gpd.GeoDataFrame | None, beats: gpd.GeoDataFrame, *,
                   snap_m: float = 0.0) -> pd.Series:
    """Beat id of each incident (by location), with the index of ``incidents``.

    ``snap_m``: incidents outside every beat but within this many metres of one take
    the nearest (:func:`place_incidents` also counts them).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> beats = gpd.GeoDataFrame({"id": ["B1"]}, geometry=[shapely.box(0, 0, 10, 10)], crs=3857)
    >>> inc = gpd.GeoDataFrame(geometry=[shapely.Point(5, 5), shapely.Point(50, 5)], crs=3857)
    >>> incident_beats(inc, beats).tolist()
    ['B1', None]
    """
    return place_incidents(incidents, beats, snap_m=snap_m).ids


__all__ = ["clean_id", "natural_key", "natural_sort_key", "adjacency", "locate_points",
           "Placement", "place_points", "place_incidents", "incident_beats"]
