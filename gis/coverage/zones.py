"""Zone layers of the coverage analysis and the zone holding each point.

The statistics are computed per zone of the polygon layers in :data:`ZONE_TYPES`
(estates, grids, beats, stations, communities...). :func:`zones_from_layers` picks the
non-empty ones from project layers; :func:`first_zone` (and :func:`first_of_pairs` on
pairs already queried) tells which zone holds each point: a building's point on its
surface, a proposed camera.

Examples
--------
>>> import shapely
>>> from beatgrid.gis.coverage.zones import first_zone
>>> zones = [shapely.box(0, 0, 10, 10), shapely.box(10, 0, 20, 10)]
>>> first_zone(shapely.points([[5, 5], [15, 5], [25, 5]]), zones).tolist()
[0, 1, -1]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import shapely

from beatgrid.gis.coverage.fov import coverage_settings
from beatgrid.gis.errors import InputError

__all__ = ["ZONE_TYPES", "zones_from_layers", "first_zone", "first_of_pairs", "point_pairs",
           "geometry_array", "zone_ids"]

#: Layer name -> zone_type written in coverage_stats.
ZONE_TYPES = {"estates": "estate", "grids": "grid", "beats": "beat", "stations": "station",
              "communities": "community", "governance_grids": "governance_grid",
              "responsibility_areas": "responsibility_area"}


def zones_from_layers(layers: Mapping[str, pd.DataFrame | None],
                      names: Iterable[str] | None = None, *,
                      settings: Mapping[str, Any] | None = None) -> dict[str, pd.DataFrame]:
    """Zone frames keyed by zone type from project layers (non-empty ones only).

    Parameters
    ----------
    layers
        Project layers by name.
    names
        Layers to take (default ``[coverage] zone_layers``), of :data:`ZONE_TYPES`.
    settings
        The coverage section (default: the shipped one).

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


def point_pairs(points: Any, zone_geoms: Any) -> tuple[np.ndarray, np.ndarray]:
    """(point, zone) index pairs of every point inside (or on) every zone.

    Examples
    --------
    >>> import shapely
    >>> p, z = point_pairs(shapely.points([[10, 5]]), [shapely.box(0, 0, 10, 10),
    ...                                               shapely.box(10, 0, 20, 10)])
    >>> p.tolist(), z.tolist()
    ([0, 0], [0, 1])
    """
    if len(points) == 0 or len(zone_geoms) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    p, z = shapely.STRtree(zone_geoms).query(points, predicate="intersects")
    return p, z


def first_of_pairs(p: np.ndarray, z: np.ndarray, n_points: int) -> np.ndarray:
    """The first zone of each point in (point, zone) pairs; -1 for a point in none.

    The pairs come from :func:`point_pairs` (an STRtree query); "first" is the first
    pair of the point in the query's order.

    Examples
    --------
    >>> import numpy as np
    >>> first_of_pairs(np.array([0, 0, 2]), np.array([4, 1, 3]), 3).tolist()
    [4, -1, 3]
    """
    out = np.full(n_points, -1, dtype=np.int64)
    if len(p):
        first = np.unique(p, return_index=True)[1]
        out[p[first]] = z[first]
    return out


def first_zone(points: Any, zone_geoms: Any) -> np.ndarray:
    """Index of the zone holding each point (-1 when none; the first when several).

    A point on the boundary of two zones is in both; the first one the STRtree query
    gives is taken.

    Examples
    --------
    >>> import shapely
    >>> first_zone(shapely.points([[1, 1], [9, 9]]), [shapely.box(0, 0, 2, 2)]).tolist()
    [0, -1]
    """
    p, z = point_pairs(points, zone_geoms)
    return first_of_pairs(p, z, len(points))


def geometry_array(gdf: Any) -> np.ndarray:
    """The geometries of a frame as a numpy object array (empty when None or empty).

    Examples
    --------
    >>> geometry_array(None).shape
    (0,)
    """
    if gdf is None or not len(gdf):
        return np.zeros(0, dtype=object)
    return np.asarray(gdf.geometry.values, dtype=object)


def zone_ids(zones: pd.DataFrame) -> np.ndarray:
    """The ``id`` of each zone as text (the index when there is no ``id`` column).

    Examples
    --------
    >>> import pandas as pd
    >>> zone_ids(pd.DataFrame({"id": [7, 8]})).tolist()
    ['7', '8']
    """
    if "id" in zones.columns:
        return zones["id"].astype(str).to_numpy()
    return np.asarray(zones.index.astype(str))
