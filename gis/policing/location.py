"""Where features lie: the polygon holding each point, neighbouring polygons, clean ids.

Shared by every policing module (beats, responsibility areas, staffing, alignment,
hotspots):

* :func:`locate_points` gives the id of the polygon holding each point, and
  :func:`incident_beats` the beat of each incident;
* :func:`adjacency` gives the neighbours of each polygon (queen contiguity, with a
  tolerance in metres for digitising slivers and gaps);
* :func:`clean_id` reads an id cell as text (``None`` when missing or empty).

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

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from beatgrid.gis.crs import to_metric


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


def incident_beats(incidents: gpd.GeoDataFrame | None, beats: gpd.GeoDataFrame) -> pd.Series:
    """Beat id of each incident (by location), with the index of ``incidents``.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> beats = gpd.GeoDataFrame({"id": ["B1"]}, geometry=[shapely.box(0, 0, 10, 10)], crs=3857)
    >>> inc = gpd.GeoDataFrame(geometry=[shapely.Point(5, 5), shapely.Point(50, 5)], crs=3857)
    >>> incident_beats(inc, beats).tolist()
    ['B1', None]
    """
    if incidents is None or len(incidents) == 0:
        return pd.Series(dtype=object)
    return locate_points(incidents.geometry, beats)


__all__ = ["clean_id", "adjacency", "locate_points", "incident_beats"]
