"""Coordinate reference systems: storage CRS and the metric CRS for computation.

Layers are stored in geographic coordinates (EPSG:4490 CGCS2000 for Chinese data,
EPSG:4326 elsewhere). Every distance and area is computed in a projected metric
CRS: the CGCS2000 3-degree Gauss-Kruger zone (EPSG:4534-4554, central meridians
75E-135E) inside China, the UTM zone elsewhere. A layer without a CRS is an
error, never a guess.

Coordinates must mean something in their CRS: :func:`coordinate_problems` finds the
features outside the CRS's area of use (metres read as degrees, latitude 96, swapped
columns, degrees read as metres, NaN or 0, 0) and says which fix fits;
:func:`distant_layers` warns about a layer far from the project's other layers. Their
tolerances are the ``[validation]`` table of the ``core`` settings (``settings.toml``).

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

import functools
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from beatgrid.gis.config import register_validator, section_or_default
from beatgrid.gis.errors import CRSError, PolicyError, Problem, ValidationError

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


def storage_epsg(gdf: gpd.GeoDataFrame | gpd.GeoSeries, *, layer: str = "input",
                 settings: Mapping[str, Any] | None = None) -> int:
    """The storage CRS for ``gdf``: 4490 (CGCS2000) inside China, 4326 elsewhere.

    ``settings`` is the ``core`` settings section (default: the shipped one), for the
    tolerance of the coordinate check.

    Raises
    ------
    ValidationError
        Coordinates that mean nothing in the CRS of ``gdf`` (see
        :func:`coordinate_problems`): the CRS cannot be chosen, nor the layer moved.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> storage_epsg(gpd.GeoSeries([shapely.Point(121.55, 29.88)], crs=4326))
    4490
    """
    crs = require_crs(gdf, layer=layer)
    problems = coordinate_problems(
        gdf, layer=layer,
        tolerance_deg=validation_settings(settings)["area_of_use_tolerance_deg"])
    if any(p.severity == "error" for p in problems):
        raise ValidationError(problems)
    geo = gdf.to_crs(4326) if crs.to_epsg() != 4326 else gdf
    x0, y0, x1, y1 = geo.total_bounds
    return 4490 if in_china((x0 + x1) / 2, (y0 + y1) / 2) else 4326


def validation_settings(settings: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    """The ``[validation]`` table of the ``core`` settings (``settings`` is that section).

    Examples
    --------
    >>> validation_settings()["far_layer_km"]
    50.0
    """
    table: Mapping[str, Any] = section_or_default(settings, "core")["validation"]
    return table


def area_of_use(crs: pyproj.CRS) -> tuple[float, float, float, float] | None:
    """``(west, south, east, north)`` in degrees where ``crs`` is meant to be used.

    Examples
    --------
    >>> area_of_use(pyproj.CRS.from_epsg(4490))
    (73.62, 16.7, 134.77, 53.56)
    """
    aou = crs.area_of_use
    if aou is None:
        return None
    west, south, east, north = (float(v) for v in aou.bounds)
    return west, south, east, north


def _corners_lonlat(bounds: np.ndarray, crs: pyproj.CRS) -> tuple[np.ndarray, np.ndarray]:
    """Longitudes and latitudes (n, 4) of the corners of ``bounds`` (n, 4) in ``crs``."""
    xs = bounds[:, [0, 0, 2, 2]]
    ys = bounds[:, [1, 3, 1, 3]]
    if crs.is_geographic:
        return xs, ys
    to_geo = pyproj.Transformer.from_crs(crs, crs.geodetic_crs or 4326, always_xy=True)
    with np.errstate(all="ignore"):
        lon, lat = to_geo.transform(xs.ravel(), ys.ravel(), errcheck=False)
    return np.asarray(lon).reshape(xs.shape), np.asarray(lat).reshape(ys.shape)


def _inside_corners(lon: np.ndarray, lat: np.ndarray, box: tuple[float, float, float, float],
                    tol: float) -> np.ndarray:
    """Whether each corner lies in ``box`` widened by ``tol`` (and on the globe)."""
    west, south, east, north = box
    with np.errstate(invalid="ignore"):
        lat_ok = (lat >= max(south - tol, -90.0)) & (lat <= min(north + tol, 90.0))
        on_globe = (lon >= -180.0) & (lon <= 180.0)
        if west <= east:
            lon_ok = (lon >= west - tol) & (lon <= east + tol)
        else:  # the area crosses the antimeridian
            lon_ok = (lon >= west - tol) | (lon <= east + tol)
    return np.asarray(lat_ok & lon_ok & on_globe & np.isfinite(lon) & np.isfinite(lat))


def _inside(lon: np.ndarray, lat: np.ndarray, box: tuple[float, float, float, float],
            tol: float) -> np.ndarray:
    """Whether every corner (axis 1) lies in ``box`` widened by ``tol`` (and on the globe)."""
    return np.all(_inside_corners(lon, lat, box, tol), axis=1)


@functools.lru_cache(maxsize=64)
def _crs_name(epsg: int) -> str:
    return str(pyproj.CRS.from_epsg(epsg).name)


def _zoned_gauss_kruger(x: float) -> int | None:
    """The CGCS2000 Gauss-Kruger zone CRS whose zone number prefixes easting ``x``."""
    zone = int(x // 1_000_000)
    if 25 <= zone <= 45:  # 3-degree zones 25-45: EPSG:4513-4533
        return 4513 + zone - 25
    if 13 <= zone <= 23:  # 6-degree zones 13-23: EPSG:4491-4501
        return 4491 + zone - 13
    return None


def _crs_words(crs: pyproj.CRS, box: tuple[float, float, float, float] | None
               ) -> tuple[str, str]:
    """How messages name ``crs`` (``EPSG:4490``) and its area of use (in parentheses)."""
    epsg = crs.to_epsg()
    name = f"EPSG:{epsg}" if epsg else crs.name
    where = "" if box is None else (
        f" ({crs.area_of_use.name.rstrip('.') if crs.area_of_use else ''}: "
        f"lon {box[0]:g} to {box[2]:g}, lat {box[1]:g} to {box[3]:g})")
    return name, where


def _diagnose(x: float, y: float, crs: pyproj.CRS, words: tuple[str, str],
              box: tuple[float, float, float, float] | None, tol: float) -> tuple[str, str]:
    """(message, fix) for a feature at ``x, y`` outside the area of use of ``crs``."""
    name, where = words
    if crs.is_geographic:
        if abs(x) > 180 and abs(y) > 90:
            zone = _zoned_gauss_kruger(x)
            example = (f"--crs EPSG:{zone} ({_crs_name(zone)})" if zone
                       else "e.g. --crs EPSG:4547 for CGCS2000 / 3-degree Gauss-Kruger CM 114E")
            return (f"coordinates are not longitude/latitude of {name}: they look like "
                    "projected metres",
                    f"give the file's CRS with {example} (in a GeoJSON: its 'crs' member); "
                    "see the data's documentation")
        swapped = box is not None and bool(_inside_corners(np.array(y), np.array(x), box, tol))
        if swapped:
            return (f"coordinates lie outside the area of use of {name}{where}; longitude "
                    "and latitude look swapped",
                    "swap the columns (--lon-col/--lat-col) or the axis order of the source")
        if abs(y) > 90 or abs(x) > 180:
            axis, limit = ("latitude", 90) if abs(y) > 90 else ("longitude", 180)
            return (f"coordinates are not longitude/latitude: {axis} beyond {limit} degrees",
                    "check the coordinate columns (--lon-col/--lat-col) and their values, "
                    "or give the file's CRS with --crs")
        return (f"coordinates lie outside the area of use of {name}{where}",
                "check the coordinates and the CRS (EPSG:4326 for data outside China; "
                "give the file's CRS with --crs)")
    if abs(x) <= 180 and abs(y) <= 90:
        return (f"coordinates look like longitude/latitude, not {name} ({crs.name}) metres",
                "declare the data's CRS as geographic: --crs EPSG:4490 (CGCS2000) or "
                "EPSG:4326 (WGS84), or correct the CRS in the file")
    return (f"coordinates lie outside the area of use of {name}{where}",
            "give the file's CRS with --crs (the one the coordinates were measured in), "
            "or correct the coordinates")


def coordinate_problems(gdf: gpd.GeoDataFrame | gpd.GeoSeries, *, layer: str,
                        ids: Sequence[Any] | pd.Series | None = None,
                        tolerance_deg: float | None = None) -> list[Problem]:
    """An error for each feature whose coordinates mean nothing in the CRS of ``gdf``.

    A feature is refused when a corner of its bounds lies outside the area of use of
    the CRS (pyproj ``CRS.area_of_use``) widened by ``tolerance_deg``, or off the globe,
    or when its coordinates are NaN, infinite, or 0, 0 (a missing value in a geographic
    CRS). The fix says what the numbers look like: projected metres in a geographic
    CRS, swapped longitude/latitude, degrees in a projected CRS. Empty geometries and
    a frame without a CRS are left to the schema checks.

    Parameters
    ----------
    gdf
        The features.
    layer
        Layer name, for the problems.
    ids
        Feature ids, aligned with the rows (default: the ``id`` column, else row numbers).
    tolerance_deg
        Degrees allowed outside the area of use (default: the ``core`` settings,
        ``[validation] area_of_use_tolerance_deg``).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> cams = gpd.GeoDataFrame({"id": ["ok", "metres", "lat96", "swapped"]}, geometry=[
    ...     shapely.Point(121.55, 29.88), shapely.Point(1228591, 3310000),
    ...     shapely.Point(121.55, 96), shapely.Point(29.88, 121.55)], crs=4490)
    >>> for p in coordinate_problems(cams, layer="cameras"):
    ...     print(p.row_id, p.value, "|", p.fix[:40])
    metres (1228591.0, 3310000.0) | give the file's CRS with e.g. --crs EPSG
    lat96 (121.55, 96.0) | check the coordinate columns (--lon-col/
    swapped (29.88, 121.55) | swap the columns (--lon-col/--lat-col) o
    """
    crs = gdf.crs
    if crs is None or len(gdf) == 0:
        return []
    tol = float(validation_settings()["area_of_use_tolerance_deg"]
                if tolerance_deg is None else tolerance_deg)
    geom = np.asarray(gdf.geometry.array if isinstance(gdf, gpd.GeoDataFrame) else gdf.array,
                      dtype=object)
    present = ~(shapely.is_missing(geom) | shapely.is_empty(geom))
    if ids is None:
        ids = (gdf["id"].astype(object).tolist() if isinstance(gdf, gpd.GeoDataFrame)
               and "id" in gdf.columns else [f"row {i}" for i in range(len(gdf))])
    ids = list(ids)
    bounds = shapely.bounds(geom)
    finite = np.isfinite(bounds).all(axis=1)
    box = area_of_use(crs)
    lon, lat = _corners_lonlat(np.where(finite[:, None], bounds, 0.0), crs)
    corners_ok = _inside_corners(lon, lat, box or (-180.0, -90.0, 180.0, 90.0),
                                 tol if box is not None else 0.0)
    inside = corners_ok.all(axis=1)
    null = crs.is_geographic & finite & (np.abs(bounds) == 0).all(axis=1)
    problems: list[Problem] = []
    words = _crs_words(crs, box)
    for pos in np.flatnonzero(present & ~(finite & inside & ~null)):
        x0, y0, x1, y1 = (float(v) for v in bounds[pos])
        value: Any = (x0, y0) if (x0, y0) == (x1, y1) else (x0, y0, x1, y1)
        if not finite[pos]:
            message, fix = ("coordinates are missing (NaN or infinite)",
                            "give the feature its coordinates, or remove the row")
            value = None
        elif null[pos]:
            message, fix = ("coordinates are 0, 0 (a missing value, not a place)",
                            "give the feature its coordinates, or remove the row")
        else:
            corner = int(np.argmin(corners_ok[pos]))
            cx, cy = bounds[pos][[0, 0, 2, 2][corner]], bounds[pos][[1, 3, 1, 3][corner]]
            message, fix = _diagnose(float(cx), float(cy), crs, words, box, tol)
        problems.append(Problem(layer=layer, row_id=_plain(ids[pos]), column="geometry",
                                value=value, message=message, fix=fix))
    return problems


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _extent_lonlat(gdf: pd.DataFrame) -> tuple[float, float, float, float] | None:
    """The finite, on-the-globe extent of a spatial frame in lon/lat, or None."""
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.crs is None or len(gdf) == 0:
        return None
    bounds = shapely.bounds(np.asarray(gdf.geometry.array, dtype=object))
    bounds = bounds[np.isfinite(bounds).all(axis=1)]
    if len(bounds) == 0:
        return None
    lon, lat = _corners_lonlat(bounds, gdf.crs)
    ok = _inside(lon, lat, (-180.0, -90.0, 180.0, 90.0), 0.0)
    if not ok.any():
        return None
    return (float(lon[ok].min()), float(lat[ok].min()), float(lon[ok].max()),
            float(lat[ok].max()))


def extent_distance_km(a: tuple[float, float, float, float],
                       b: tuple[float, float, float, float]) -> float:
    """Geodesic distance (km) between the nearest points of two lon/lat extents.

    Examples
    --------
    >>> round(extent_distance_km((121.5, 29.9, 121.6, 30.0), (116.3, 39.9, 116.5, 40.0)))
    1189
    >>> extent_distance_km((0, 0, 2, 2), (1, 1, 3, 3))
    0.0
    """
    def nearest(lo1: float, hi1: float, lo2: float, hi2: float) -> tuple[float, float]:
        if hi1 < lo2:
            return hi1, lo2
        if hi2 < lo1:
            return lo1, hi2
        middle = (max(lo1, lo2) + min(hi1, hi2)) / 2
        return middle, middle
    lon_a, lon_b = nearest(a[0], a[2], b[0], b[2])
    lat_a, lat_b = nearest(a[1], a[3], b[1], b[3])
    if (lon_a, lat_a) == (lon_b, lat_b):
        return 0.0
    _, _, metres = pyproj.Geod(ellps="WGS84").inv(lon_a, lat_a, lon_b, lat_b)
    return float(metres) / 1000.0


def distant_layers(layers: Mapping[str, pd.DataFrame | None], *,
                   among: Sequence[str] | None = None,
                   far_km: float | None = None) -> list[Problem]:
    """A warning for each layer lying far from most of the project's other layers.

    A layer is far when its extent lies more than ``far_km`` from the extents of more
    than half of the other spatial layers (so ten layers in one city and two in
    another flag the two; two layers alone, far apart, flag both). The warning names
    the smallest of those distances.

    Parameters
    ----------
    layers
        Layer name to frame (non-spatial and empty layers are skipped).
    among
        The layers to judge (default: all); each is compared with all the others.
    far_km
        Distance that draws a warning (default: the ``core`` settings,
        ``[validation] far_layer_km``).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> beats = gpd.GeoDataFrame({"id": ["B1"]}, geometry=[shapely.box(121.5, 29.9, 121.6, 30.0)],
    ...                          crs=4490)
    >>> cams = gpd.GeoDataFrame({"id": ["c1"]}, geometry=[shapely.Point(116.4, 39.9)], crs=4490)
    >>> print(distant_layers({"beats": beats, "cameras": cams}, among=["cameras"])[0].format())
    [warning] cameras column=geometry: layer lies 1,192 km or more from 1 of the project's 1 other layers (beats) (value: 1192.4). Fix: check that it belongs to this project and that its CRS is right (re-import it with --crs)
    """
    far = float(validation_settings()["far_layer_km"] if far_km is None else far_km)
    extents = {name: ext for name, df in layers.items()
               if df is not None and (ext := _extent_lonlat(df)) is not None}
    problems: list[Problem] = []
    for name in (among if among is not None else list(extents)):
        if name not in extents:
            continue
        distances = {other: extent_distance_km(extents[name], ext)
                     for other, ext in extents.items() if other != name}
        far_from = [other for other, km in distances.items() if km > far]
        if not distances or 2 * len(far_from) <= len(distances):
            continue
        km = min(distances[other] for other in far_from)
        shown = ", ".join(far_from[:3]) + (" ..." if len(far_from) > 3 else "")
        problems.append(Problem(
            layer=name, column="geometry", value=round(km, 1), severity="warning",
            message=f"layer lies {km:,.0f} km or more from {len(far_from)} of the "
                    f"project's {len(distances)} other layers ({shown})",
            fix="check that it belongs to this project and that its CRS is right "
                "(re-import it with --crs)"))
    return problems


def _check_validation_settings(section: Mapping[str, Any], source: str) -> None:
    """Value checks of the ``core`` section's ``[validation]`` table."""
    table = section.get("validation", {})
    checks = {"area_of_use_tolerance_deg": (0.0, 10.0, "degrees from 0 to 10, e.g. 1.0"),
              "far_layer_km": (0.0, None, "kilometres above 0, e.g. 50.0"),
              "reference_match_ratio": (0.0, 1.0, "a ratio above 0, at most 1, e.g. 0.8")}
    for key, (low, high, words) in checks.items():
        value = table.get(key)
        if value is None:
            continue
        strict_low = key != "area_of_use_tolerance_deg"
        bad = (not np.isfinite(value) or (value <= low if strict_low else value < low)
               or (high is not None and value > high))
        if bad:
            raise PolicyError(f"{source}: 'validation.{key}' has value {value!r}",
                              fix=f"give 'validation.{key}' {words}")


register_validator("core", _check_validation_settings)
