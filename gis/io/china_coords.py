"""Chinese map coordinate systems: WGS-84, GCJ-02 ("Mars coordinates") and BD-09.

Chinese web maps publish coordinates with a deliberate, non-linear offset:

- **GCJ-02** (国测局坐标, used by AMap/Gaode, Tencent, Google China): WGS-84 shifted
  by a published obfuscation formula on the Krasovsky ellipsoid, a few hundred metres
  in most places. Outside China (the ``out_of_china`` box) GCJ-02 equals WGS-84.
- **BD-09** (百度坐标, Baidu): GCJ-02 shifted again in polar form.

The forward formulas (WGS-84 -> GCJ-02 -> BD-09) are closed form. Their inverses are
not: :func:`gcj02_to_wgs84` and :func:`bd09_to_gcj02` solve for the input by fixed-point
iteration until the forward transform of the answer lands within ``tolerance_m`` metres
(``[import] inverse_tolerance_m`` in the settings, 1 cm by default) of the given point.
The common one-step inverse is off by up to about 2 m; this one is not.

Every function is vectorised: it takes scalars or array-likes of longitudes and
latitudes (degrees) and returns a pair of float arrays (numpy scalars for scalar
input). :func:`to_wgs84` converts any geometry of a GeoDataFrame.

Examples
--------
>>> from beatgrid.gis.io.china_coords import wgs84_to_gcj02, gcj02_to_wgs84
>>> lon, lat = wgs84_to_gcj02(116.404, 39.915)
>>> round(float(lon), 6), round(float(lat), 6)
(116.410244, 39.916404)
>>> back = gcj02_to_wgs84(lon, lat)
>>> round(float(back[0]), 7), round(float(back[1]), 7)
(116.404, 39.915)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeAlias

import numpy as np
import shapely
from numpy.typing import ArrayLike

from beatgrid.gis.config import default_config
from beatgrid.gis.errors import CRSError, InputError

#: Longitudes and latitudes: numpy scalars for scalar input, float arrays otherwise.
LonLat: TypeAlias = tuple[Any, Any]

#: Coordinate systems BeatGrid understands on import.
COORD_SYSTEMS = ("wgs84", "gcj02", "bd09")

# Krasovsky 1940 ellipsoid, as used by the GCJ-02 formula.
_A = 6378245.0
_EE = 0.00669342162296594323
# BD-09 constant.
_X_PI = np.pi * 3000.0 / 180.0
# Metres per degree of latitude (mean), used to measure convergence of the inverses.
_M_PER_DEG = 111_320.0

_MAX_ITER = 50


def _arrays(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    if lon.shape != lat.shape:
        raise InputError(
            f"longitude and latitude have different shapes {lon.shape} and {lat.shape}",
            fix="pass one latitude per longitude")
    return lon, lat


def _out(lon: np.ndarray, lat: np.ndarray) -> LonLat:
    if lon.ndim == 0:
        return lon[()], lat[()]
    return lon, lat


def out_of_china(lon: ArrayLike, lat: ArrayLike) -> np.ndarray:
    """True where a point lies outside the box in which GCJ-02 applies.

    The standard rule of the published formula: longitude outside (73.66, 135.05) or
    latitude outside (3.86, 53.55). Outside the box GCJ-02 and BD-09's GCJ step are
    the identity.

    Examples
    --------
    >>> bool(out_of_china(24.94, 60.17)), bool(out_of_china(121.55, 29.88))
    (True, False)
    """
    lon, lat = _arrays(lon, lat)
    return ~((lon > 73.66) & (lon < 135.05) & (lat > 3.86) & (lat < 53.55))


def _transform_lat(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return ret


def _gcj_offset(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 minus WGS-84 at the WGS-84 point (lon, lat), in degrees (0 outside China)."""
    dlat = _transform_lat(lon - 105.0, lat - 35.0)
    dlon = _transform_lon(lon - 105.0, lat - 35.0)
    radlat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    outside = out_of_china(lon, lat)
    return np.where(outside, 0.0, dlon), np.where(outside, 0.0, dlat)


def _check_tolerance(tolerance_m: float | None) -> float:
    # the one place the shipped default is used: callers with settings pass theirs
    tol = float(default_config().core["import"]["inverse_tolerance_m"]) \
        if tolerance_m is None else float(tolerance_m)
    if not tol > 0:
        raise InputError(f"tolerance_m must be positive, got {tolerance_m!r}",
                         fix="pass a tolerance in metres such as 0.01")
    return tol


def _invert(forward: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
            lon: np.ndarray, lat: np.ndarray, tolerance_m: float | None, name: str,
            start: tuple[np.ndarray, np.ndarray] | None = None
            ) -> tuple[np.ndarray, np.ndarray]:
    """Solve forward(x) = (lon, lat) by fixed-point iteration from ``start`` (or the input)."""
    tol = _check_tolerance(tolerance_m)
    x, y = (lon.copy(), lat.copy()) if start is None else start
    finite = np.isfinite(lon) & np.isfinite(lat)
    coslat = np.cos(np.radians(np.where(finite, lat, 0.0)))
    for _ in range(_MAX_ITER):
        fx, fy = forward(x, y)
        ex, ey = fx - lon, fy - lat
        err_m = np.hypot(ex * coslat, ey) * _M_PER_DEG
        if not np.any(finite & (err_m > tol)):
            return x, y
        x = x - ex
        y = y - ey
    raise InputError(  # pragma: no cover - the iteration contracts strongly everywhere
        f"{name} did not converge to {tol} m (largest error {np.nanmax(err_m):.3g} m)",
        fix="check that the coordinates are longitude/latitude in degrees")


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> LonLat:
    """Convert WGS-84 longitude/latitude to GCJ-02 (identity outside China).

    Examples
    --------
    >>> lon, lat = wgs84_to_gcj02([116.404, 24.94], [39.915, 60.17])
    >>> [round(float(v), 6) for v in lon], [round(float(v), 6) for v in lat]
    ([116.410244, 24.94], [39.916404, 60.17])
    """
    lon, lat = _arrays(lon, lat)
    dlon, dlat = _gcj_offset(lon, lat)
    return _out(lon + dlon, lat + dlat)


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike, *, tolerance_m: float | None = None
                   ) -> LonLat:
    """Convert GCJ-02 to WGS-84 by iteration (error below ``tolerance_m`` metres).

    Parameters
    ----------
    lon, lat
        GCJ-02 longitude and latitude in degrees (scalars or arrays).
    tolerance_m
        Largest distance, in metres, between the GCJ-02 image of the answer and the
        input; default ``[import] inverse_tolerance_m`` of the shipped settings (0.01).

    Examples
    --------
    >>> lon, lat = gcj02_to_wgs84(116.41024449916938, 39.91640428150164)
    >>> round(float(lon), 7), round(float(lat), 7)
    (116.404, 39.915)
    """
    x0, y0 = _arrays(lon, lat)

    def forward(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        dx, dy = _gcj_offset(x, y)
        return x + dx, y + dy

    return _out(*_invert(forward, x0, y0, tolerance_m, "GCJ-02 -> WGS-84"))


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> LonLat:
    """Convert GCJ-02 to BD-09 (Baidu).

    Examples
    --------
    >>> lon, lat = gcj02_to_bd09(116.404, 39.915)
    >>> round(float(lon), 6), round(float(lat), 6)
    (116.410369, 39.921337)
    """
    x, y = _arrays(lon, lat)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return _out(z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006)


def _bd09_to_gcj02_approx(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = lon - 0.0065
    y = lat - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike, *, tolerance_m: float | None = None
                  ) -> LonLat:
    """Convert BD-09 to GCJ-02: the published approximate inverse, refined by iteration.

    Examples
    --------
    >>> lon, lat = bd09_to_gcj02(116.41036949371029, 39.92133699351022)
    >>> round(float(lon), 7), round(float(lat), 7)
    (116.404, 39.915)
    """
    x0, y0 = _arrays(lon, lat)

    def forward(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        bx, by = gcj02_to_bd09(x, y)
        return np.asarray(bx), np.asarray(by)

    start = _bd09_to_gcj02_approx(x0, y0)
    return _out(*_invert(forward, x0, y0, tolerance_m, "BD-09 -> GCJ-02", start=start))


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> LonLat:
    """Convert WGS-84 to BD-09 (through GCJ-02).

    Examples
    --------
    >>> lon, lat = wgs84_to_bd09(116.404, 39.915)
    >>> round(float(lon), 6), round(float(lat), 6)
    (116.416627, 39.9227)
    """
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike, *, tolerance_m: float | None = None
                  ) -> LonLat:
    """Convert BD-09 to WGS-84 (both inverse steps iterated to ``tolerance_m``).

    Examples
    --------
    >>> lon, lat = bd09_to_wgs84(116.41662724378733, 39.922699552216216)
    >>> round(float(lon), 7), round(float(lat), 7)
    (116.404, 39.915)
    """
    tol = _check_tolerance(tolerance_m)
    # each step gets half the budget so the total stays within tolerance_m
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat, tolerance_m=tol / 2), tolerance_m=tol / 2)


_TO_WGS84: dict[str, Callable[..., LonLat]] = {
    "wgs84": lambda lon, lat: (np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)),
    "gcj02": gcj02_to_wgs84,
    "bd09": bd09_to_wgs84,
}
_FROM_WGS84: dict[str, Callable[..., LonLat]] = {
    "wgs84": lambda lon, lat: (np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)),
    "gcj02": wgs84_to_gcj02,
    "bd09": wgs84_to_bd09,
}

_ALIASES = {
    "wgs84": "wgs84", "wgs-84": "wgs84", "wgs_84": "wgs84", "epsg:4326": "wgs84",
    "gcj02": "gcj02", "gcj-02": "gcj02", "gcj": "gcj02", "mars": "gcj02", "amap": "gcj02",
    "gaode": "gcj02",
    "bd09": "bd09", "bd-09": "bd09", "bd09ll": "bd09", "baidu": "bd09",
}


def check_coords(name: str | None, *, argument: str = "coords") -> str:
    """Normalise a coordinate-system name (``"GCJ-02"`` -> ``"gcj02"``) or raise.

    Raises
    ------
    InputError
        For an unknown name, listing the known ones.

    Examples
    --------
    >>> check_coords("GCJ-02"), check_coords("baidu")
    ('gcj02', 'bd09')
    """
    key = str(name).strip().lower() if name is not None else ""
    if key not in _ALIASES:
        raise InputError(f"unknown coordinate system {argument}={name!r}",
                         fix="use one of: " + ", ".join(COORD_SYSTEMS))
    return _ALIASES[key]


def convert(lon: ArrayLike, lat: ArrayLike, *, source: str, target: str = "wgs84") -> LonLat:
    """Convert coordinates between any two of :data:`COORD_SYSTEMS`.

    Examples
    --------
    >>> lon, lat = convert(116.404, 39.915, source="wgs84", target="bd09")
    >>> round(float(lon), 6)
    116.416627
    """
    source = check_coords(source, argument="source")
    target = check_coords(target, argument="target")
    if source == target:
        return _out(*_arrays(lon, lat))
    wlon, wlat = _TO_WGS84[source](lon, lat)
    return _out(*_arrays(*_FROM_WGS84[target](wlon, wlat)))


def to_wgs84(gdf: Any, *, source: str = "gcj02", tolerance_m: float | None = None) -> Any:
    """Return a copy of ``gdf`` (GeoDataFrame or GeoSeries) with WGS-84 coordinates.

    Every vertex of every geometry (points, lines, polygons, multi-parts; z kept) is
    converted from ``source``. The CRS label is kept (the data are longitude/latitude
    before and after); ``attrs["coords_source"]`` records ``source``.

    Parameters
    ----------
    gdf
        Geographic data whose coordinates are in ``source``.
    source
        ``"gcj02"``, ``"bd09"`` or ``"wgs84"`` (a copy, unchanged).
    tolerance_m
        Accuracy of the iterative inverse, in metres (default from the settings).

    Raises
    ------
    InputError
        For an unknown ``source``.
    CRSError
        When ``gdf`` has a projected CRS: the offsets apply to longitude/latitude only.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> gcj = gpd.GeoDataFrame(geometry=[shapely.Point(116.41024449916938, 39.91640428150164)],
    ...                        crs=4326)
    >>> p = to_wgs84(gcj, source="gcj02").geometry.iloc[0]
    >>> round(p.x, 7), round(p.y, 7)
    (116.404, 39.915)
    """
    source = check_coords(source, argument="source")
    crs = getattr(gdf, "crs", None)
    if source != "wgs84" and crs is not None and not crs.is_geographic:
        raise CRSError(
            f"cannot convert {source.upper()} coordinates of data in projected CRS "
            f"{crs.to_string()}",
            fix="GCJ-02/BD-09 offsets apply to longitude/latitude: import the original "
                "lon/lat data, or use coords=wgs84")
    out = gdf.copy()
    if source != "wgs84":
        conv = _TO_WGS84[source]

        def fn(coords: np.ndarray) -> np.ndarray:
            res = coords.copy()
            x, y = conv(coords[:, 0], coords[:, 1], tolerance_m=tolerance_m)
            res[:, 0], res[:, 1] = x, y
            return res

        geoms = shapely.transform(np.asarray(out.geometry.array if hasattr(out, "geometry")
                                             else out.array, dtype=object),
                                  fn, include_z=None)
        if hasattr(out, "set_geometry"):
            out[out.geometry.name] = geoms
            out = out.set_crs(crs, allow_override=True) if crs is not None else out
        else:
            out = type(out)(geoms, index=out.index, crs=crs)
    out.attrs["coords_source"] = source
    return out
