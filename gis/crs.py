"""Coordinate reference systems: storage CRS and the metric CRS for computation.

Layers are stored in geographic coordinates (EPSG:4490 CGCS2000 for Chinese data,
EPSG:4326 elsewhere). Every distance and area is computed in a projected metric
CRS: the CGCS2000 3-degree Gauss-Kruger zone (EPSG:4534-4554, central meridians
75E-135E) inside China, the UTM zone elsewhere. A layer without a CRS is an
error, never a guess.

Examples
--------
>>> import geopandas as gpd, shapely
>>> gdf = gpd.GeoDataFrame(geometry=[shapely.Point(121.55, 29.88)], crs=4490)
>>> metric_crs(gdf).to_epsg()
4550
>>> round(float(to_metric(gdf).geometry.x.iloc[0]))
359919
"""

from __future__ import annotations

from typing import TypeVar

import geopandas as gpd
import numpy as np
import pyproj

from beatgrid.gis.errors import CRSError

# Rough extent of the People's Republic of China (lon/lat); inside it the CGCS2000
# Gauss-Kruger zones are used. The box also takes in neighbouring areas, where a
# 3-degree GK zone is just as accurate as UTM, so the simplification is harmless.
CHINA_BOUNDS = (73.0, 18.0, 135.5, 53.6)
_GK3_FIRST_EPSG = 4534  # CGCS2000 / 3-degree Gauss-Kruger CM 75E
_GK3_FIRST_CM = 75

#: A GeoDataFrame or a GeoSeries (functions return the type they were given).
GeoT = TypeVar("GeoT", gpd.GeoDataFrame, gpd.GeoSeries)


def in_china(lon: float, lat: float) -> bool:
    """True when the point lies in :data:`CHINA_BOUNDS`.

    Examples
    --------
    >>> in_china(121.55, 29.88), in_china(24.94, 60.17)
    (True, False)
    """
    x0, y0, x1, y1 = CHINA_BOUNDS
    return bool(x0 <= lon <= x1 and y0 <= lat <= y1)


def gauss_kruger_3deg_epsg(lon: float) -> int:
    """EPSG code of the CGCS2000 3-degree Gauss-Kruger zone (CM form) for ``lon``.

    Examples
    --------
    >>> gauss_kruger_3deg_epsg(121.55), gauss_kruger_3deg_epsg(116.4)
    (4550, 4548)
    """
    cm = int(np.clip(round(lon / 3.0) * 3, 75, 135))
    return _GK3_FIRST_EPSG + (cm - _GK3_FIRST_CM) // 3


def require_crs(gdf: gpd.GeoDataFrame | gpd.GeoSeries, *, layer: str = "input") -> pyproj.CRS:
    """Return the CRS of ``gdf``; raise :class:`CRSError` naming ``layer`` when missing.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> require_crs(gpd.GeoSeries([shapely.Point(0, 0)], crs=4490)).to_epsg()
    4490
    >>> require_crs(gpd.GeoSeries([shapely.Point(0, 0)]), layer="cameras")
    Traceback (most recent call last):
    ...
    beatgrid.gis.errors.CRSError: layer 'cameras' has no coordinate reference system Fix: set the CRS of the source data (e.g. EPSG:4490 or EPSG:4326); BeatGrid never guesses it
    """
    if gdf.crs is None:
        raise CRSError(
            f"layer {layer!r} has no coordinate reference system",
            fix="set the CRS of the source data (e.g. EPSG:4490 or EPSG:4326); "
                "BeatGrid never guesses it",
        )
    return gdf.crs


def metric_crs(gdf: gpd.GeoDataFrame | gpd.GeoSeries, *, layer: str = "input") -> pyproj.CRS:
    """The projected metric CRS for computing on ``gdf``.

    A CRS that is already projected in metres is returned unchanged; otherwise the
    centre of the data picks the CGCS2000 3-degree Gauss-Kruger zone inside China or
    the UTM zone elsewhere.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> metric_crs(gpd.GeoSeries([shapely.Point(24.94, 60.17)], crs=4326)).to_epsg()
    32635
    """
    crs = require_crs(gdf, layer=layer)
    if crs.is_projected and crs.axis_info and crs.axis_info[0].unit_name in ("metre", "meter"):
        return crs
    if len(gdf) == 0 or gdf.geometry.is_empty.all() if hasattr(gdf, "geometry") else False:
        raise CRSError(f"layer {layer!r} is empty: no metric CRS can be chosen",
                       fix="pass a layer with at least one geometry")
    geo = gdf.to_crs(4326) if not crs.is_geographic or crs.to_epsg() != 4326 else gdf
    x0, y0, x1, y1 = geo.total_bounds
    lon, lat = (x0 + x1) / 2, (y0 + y1) / 2
    if in_china(lon, lat):
        return pyproj.CRS.from_epsg(gauss_kruger_3deg_epsg(lon))
    return gpd.GeoSeries(geo.geometry if hasattr(geo, "geometry") else geo).estimate_utm_crs()


def to_metric(gdf: GeoT, *, crs: pyproj.CRS | None = None, layer: str = "input") -> GeoT:
    """``gdf`` reprojected to ``crs`` or to :func:`metric_crs` of itself.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> square = gpd.GeoSeries([shapely.box(121.55, 29.88, 121.551, 29.881)], crs=4490)
    >>> round(float(to_metric(square).area.iloc[0]))
    10714
    """
    return gdf.to_crs(crs if crs is not None else metric_crs(gdf, layer=layer))


def storage_epsg(gdf: gpd.GeoDataFrame | gpd.GeoSeries, *, layer: str = "input") -> int:
    """The storage CRS for ``gdf``: 4490 (CGCS2000) inside China, 4326 elsewhere.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> storage_epsg(gpd.GeoSeries([shapely.Point(121.55, 29.88)], crs=4326))
    4490
    """
    crs = require_crs(gdf, layer=layer)
    geo = gdf.to_crs(4326) if crs.to_epsg() != 4326 else gdf
    x0, y0, x1, y1 = geo.total_bounds
    return 4490 if in_china((x0 + x1) / 2, (y0 + y1) / 2) else 4326
