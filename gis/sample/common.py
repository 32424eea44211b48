"""Shared helpers of the sample generator: random ranges, rotated rectangles, names, ids.

Everything works on numpy arrays in the district's local metric frame (metres around
the district centre); :class:`ToStorage` converts to CGCS2000 at the end and
:func:`frame` builds a schema layer from columns and local geometries.

Examples
--------
>>> import numpy as np
>>> rect = rects(np.array([0.0]), np.array([0.0]), np.array([4.0]), np.array([2.0]),
...              np.array([0.0]), np.array([10.0]), np.array([0.0]))[0]
>>> rect.bounds, float(rect.area)
((8.0, -1.0, 12.0, 1.0), 8.0)
>>> ids("B", 3).tolist()
['B01', 'B02', 'B03']
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from beatgrid.gis import schema
from beatgrid.gis.crs import gauss_kruger_3deg_epsg

#: CRS of every layer the generator returns (CGCS2000 lon/lat).
STORAGE_EPSG = 4490
_NAME_A = "白孔庄洪甬慈文中槐大清湾桃梅柳双新半姚城畈湖海山桥塘河泉林竹兰荷丰康乐宁和安福寿春云"
_NAME_B = "沙浦桥塘江湖园苑河山湾港岙家洋田庙堰溪岭浜墩头洲坊里"


def uniform(rng, pair, size=None):
    """Uniform draws in the settings range ``pair`` = [low, high]."""
    return rng.uniform(float(pair[0]), float(pair[1]), size)


def integers(rng, pair, size=None):
    """Whole numbers in the settings range ``pair`` = [low, high], both included."""
    return rng.integers(int(pair[0]), int(pair[1]) + 1, size)


def rotate(u, v, theta):
    """Local coordinates (u, v) turned by ``theta`` radians."""
    c, s = np.cos(theta), np.sin(theta)
    return u * c - v * s, u * s + v * c


def rects(u, v, length, depth, theta, ox, oy):
    """Rectangles centred on local (u, v), sides along the frame rotated by ``theta``
    about the origin (ox, oy)."""
    du = np.array([-0.5, 0.5, 0.5, -0.5, -0.5])
    dv = np.array([-0.5, -0.5, 0.5, 0.5, -0.5])
    x, y = rotate(u[:, None] + length[:, None] * du, v[:, None] + depth[:, None] * dv,
                  theta[:, None])
    return shapely.polygons(np.stack([x + ox[:, None], y + oy[:, None]], axis=-1))


def cell_rects(cells):
    """The rectangles of blocks given by local bounds (u0, u1, v0, v1) and frame."""
    col = {c: cells[c].to_numpy(dtype=float) for c in ("u0", "u1", "v0", "v1", "theta", "ox", "oy")}
    return rects((col["u0"] + col["u1"]) / 2, (col["v0"] + col["v1"]) / 2, col["u1"] - col["u0"],
                 col["v1"] - col["v0"], col["theta"], col["ox"], col["oy"])


def segments_local(u0, v0, u1, v1, theta, ox, oy):
    """Straight lines between local points, in the world frame."""
    x0, y0 = rotate(u0, v0, theta)
    x1, y1 = rotate(u1, v1, theta)
    coords = np.stack([np.column_stack([x0 + ox, y0 + oy]), np.column_stack([x1 + ox, y1 + oy])],
                      axis=1)
    return shapely.linestrings(coords)


def names(n, suffixes, rng, *, unique=True):
    """``n`` Chinese-looking place names (two characters + a suffix), unique when asked."""
    size = len(_NAME_A) * len(_NAME_B)
    picks = rng.choice(size, n, replace=False) if unique and n <= size else rng.integers(0, size, n)
    suffix = rng.choice(list(suffixes), n) if n else []
    out = pd.Series([_NAME_A[i // len(_NAME_B)] + _NAME_B[i % len(_NAME_B)] + s
                     for i, s in zip(picks, suffix)], dtype=object)
    if unique:
        rank = out.groupby(out).cumcount()
        out = out.where(rank == 0, out + (rank + 1).astype(str))
    return np.array(out, dtype=object)


def only(geoms, dim):
    """Keep the parts of dimension ``dim`` (1 lines, 2 polygons) of clipped geometries;
    a geometry with none (a touching point) becomes empty."""
    geoms = np.array(geoms, dtype=object)
    tid = shapely.get_type_id(geoms)
    for k in np.flatnonzero(tid == 7):
        parts = [g for g in shapely.get_parts(geoms[k]) if shapely.get_dimensions(g) == dim]
        geoms[k] = shapely.union_all(parts) if parts else shapely.GeometryCollection()
    wrong = (tid != 7) & (shapely.get_dimensions(geoms) != dim)
    geoms[wrong] = shapely.GeometryCollection()
    return geoms


def valid_lines(geoms):
    """Line geometries with every component that is not a valid line removed.

    A component with fewer than two distinct points (a piece so short that both its ends
    round to the same lon/lat: "Too few points in geometry component") or with invalid
    coordinates is dropped; a geometry with no component left becomes empty. Valid
    geometries are returned unchanged.

    Examples
    --------
    >>> import shapely
    >>> g = shapely.MultiLineString([[(0, 0), (1, 0)], [(5, 5), (5, 5)]])
    >>> valid_lines([g, shapely.LineString([(2, 2), (2, 2)])]).tolist()
    [<LINESTRING (0 0, 1 0)>, <GEOMETRYCOLLECTION EMPTY>]
    """
    geoms = np.array(geoms, dtype=object)
    bad = ~shapely.is_valid(geoms) | ~np.isin(shapely.get_type_id(geoms), (1, 5))
    for k in np.flatnonzero(bad):
        parts = [g for g in shapely.get_parts(geoms[k])
                 if shapely.get_type_id(g) == 1 and shapely.is_valid(g)]
        geoms[k] = (parts[0] if len(parts) == 1 else shapely.MultiLineString(parts) if parts
                    else shapely.GeometryCollection())
    return geoms


def ids(prefix, n, width=2):
    """Feature ids ``prefix`` + zero-padded 1..n (at least ``width`` digits)."""
    width = max(width, len(str(n)))
    return np.array([f"{prefix}{i:0{width}d}" for i in range(1, n + 1)], dtype=object)


class ToStorage:
    """Local metres -> CGCS2000 lon/lat through the 3-degree Gauss-Kruger zone.

    Parameters
    ----------
    lon, lat
        The district centre (the local origin).
    """

    def __init__(self, lon, lat):
        epsg = gauss_kruger_3deg_epsg(lon)
        fwd = pyproj.Transformer.from_crs(STORAGE_EPSG, epsg, always_xy=True)
        self.x0, self.y0 = fwd.transform(lon, lat)
        self.inv = pyproj.Transformer.from_crs(epsg, STORAGE_EPSG, always_xy=True)

    def __call__(self, geoms):
        def f(xy):
            lon, lat = self.inv.transform(xy[:, 0] + self.x0, xy[:, 1] + self.y0)
            return np.column_stack([lon, lat])
        return shapely.transform(np.asarray(geoms, dtype=object), f)

    def bearing(self, a, b):
        """Azimuth (degrees clockwise from true north) from local points a to b."""
        lon0, lat0 = self.inv.transform(a[:, 0] + self.x0, a[:, 1] + self.y0)
        lon1, lat1 = self.inv.transform(b[:, 0] + self.x0, b[:, 1] + self.y0)
        az = pyproj.Geod(ellps="GRS80").inv(lon0, lat0, lon1, lat1)[0]
        return np.mod(np.round(az, 1), 360.0)


def frame(data: dict, geoms, to_storage, layer) -> gpd.GeoDataFrame:
    """Layer ``layer`` from columns (those of its schema are kept) and local geometries
    (already in CGCS2000 when ``to_storage`` is None)."""
    spec = schema.get_spec(layer)
    df = pd.DataFrame({c: data[c] for c in spec.column_names if c in data})
    geoms = np.asarray(geoms, dtype=object) if to_storage is None else to_storage(geoms)
    return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geoms, crs=STORAGE_EPSG),
                            crs=STORAGE_EPSG)


def conformed(df, layer):
    """``df`` conformed to the schema of ``layer``; a schema error is a generator bug."""
    out, problems = schema.conform_layer(df, layer)
    errors = [p for p in problems if p.severity == "error"]
    if errors:  # a bug in the generator, not bad input
        raise RuntimeError(f"sample layer {layer!r} breaks the schema: {errors[0].format()}")
    return out.reset_index(drop=True)
