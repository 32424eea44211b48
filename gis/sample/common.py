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

from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from beatgrid.gis import schema
from beatgrid.gis.crs import gauss_kruger_3deg_epsg

#: CRS of every layer the generator returns (CGCS2000 lon/lat).
STORAGE_EPSG = 4490
#: The generator's parameters (``gis/defaults/sample.toml`` with overrides).
Params: TypeAlias = Mapping[str, Any]
#: The numpy random generator every step draws from.
Rng: TypeAlias = np.random.Generator
#: A ``[low, high]`` range of the parameters.
Pair: TypeAlias = Sequence[float]
_NAME_A = "白孔庄洪甬慈文中槐大清湾桃梅柳双新半姚城畈湖海山桥塘河泉林竹兰荷丰康乐宁和安福寿春云"
_NAME_B = "沙浦桥塘江湖园苑河山湾港岙家洋田庙堰溪岭浜墩头洲坊里"


def uniform(rng: Rng, pair: Pair, size: Any = None) -> Any:
    """Uniform draws in the settings range ``pair`` = [low, high].

    Examples
    --------
    >>> draws = uniform(np.random.default_rng(0), [2.0, 3.0], 100)
    >>> bool((draws >= 2).all() and (draws < 3).all())
    True
    """
    return rng.uniform(float(pair[0]), float(pair[1]), size)


def integers(rng: Rng, pair: Pair, size: Any = None) -> Any:
    """Whole numbers in the settings range ``pair`` = [low, high], both included.

    Examples
    --------
    >>> sorted(set(integers(np.random.default_rng(0), [1, 2], 50).tolist()))
    [1, 2]
    """
    return rng.integers(int(pair[0]), int(pair[1]) + 1, size)


def rotate(u: Any, v: Any, theta: Any) -> tuple[Any, Any]:
    """Local coordinates (u, v) turned by ``theta`` radians.

    Examples
    --------
    >>> [round(float(c), 6) for c in rotate(1.0, 0.0, np.pi / 2)]
    [0.0, 1.0]
    """
    c, s = np.cos(theta), np.sin(theta)
    return u * c - v * s, u * s + v * c


def rects(u: np.ndarray, v: np.ndarray, length: np.ndarray, depth: np.ndarray,
          theta: np.ndarray, ox: np.ndarray, oy: np.ndarray) -> np.ndarray:
    """Rectangles centred on local (u, v), sides along the frame rotated by ``theta``
    about the origin (ox, oy).

    Examples
    --------
    >>> r = rects(np.array([0.0]), np.array([0.0]), np.array([4.0]), np.array([2.0]),
    ...           np.array([np.pi / 2]), np.array([0.0]), np.array([0.0]))[0]
    >>> [round(v, 6) for v in r.bounds]
    [-1.0, -2.0, 1.0, 2.0]
    """
    du = np.array([-0.5, 0.5, 0.5, -0.5, -0.5])
    dv = np.array([-0.5, -0.5, 0.5, 0.5, -0.5])
    x, y = rotate(u[:, None] + length[:, None] * du, v[:, None] + depth[:, None] * dv,
                  theta[:, None])
    return shapely.polygons(np.stack([x + ox[:, None], y + oy[:, None]], axis=-1))


def cell_rects(cells: pd.DataFrame) -> np.ndarray:
    """The rectangles of blocks given by local bounds (u0, u1, v0, v1) and frame.

    Examples
    --------
    >>> cells = pd.DataFrame({"u0": [0], "u1": [10], "v0": [0], "v1": [5], "theta": [0.0],
    ...                       "ox": [100.0], "oy": [0.0]})
    >>> cell_rects(cells)[0].bounds
    (100.0, 0.0, 110.0, 5.0)
    """
    col = {c: cells[c].to_numpy(dtype=float) for c in ("u0", "u1", "v0", "v1", "theta", "ox", "oy")}
    return rects((col["u0"] + col["u1"]) / 2, (col["v0"] + col["v1"]) / 2, col["u1"] - col["u0"],
                 col["v1"] - col["v0"], col["theta"], col["ox"], col["oy"])


def segments_local(u0: Any, v0: Any, u1: Any, v1: Any, theta: Any, ox: Any,
                   oy: Any) -> np.ndarray:
    """Straight lines between local points, in the world frame.

    Examples
    --------
    >>> segments_local(np.array([0.0]), np.array([0.0]), np.array([5.0]), np.array([0.0]),
    ...                np.array([0.0]), np.array([1.0]), np.array([1.0]))[0].wkt
    'LINESTRING (1 1, 6 1)'
    """
    x0, y0 = rotate(u0, v0, theta)
    x1, y1 = rotate(u1, v1, theta)
    coords = np.stack([np.column_stack([x0 + ox, y0 + oy]), np.column_stack([x1 + ox, y1 + oy])],
                      axis=1)
    return shapely.linestrings(coords)


def names(n: int, suffixes: Sequence[str], rng: Rng, *, unique: bool = True) -> np.ndarray:
    """``n`` Chinese-looking place names (two characters + a suffix), unique when asked.

    Examples
    --------
    >>> out = names(3, ["社区"], np.random.default_rng(0))
    >>> len(set(out)), all(n.endswith("社区") for n in out)
    (3, True)
    """
    size = len(_NAME_A) * len(_NAME_B)
    picks = rng.choice(size, n, replace=False) if unique and n <= size else rng.integers(0, size, n)
    suffix: Any = rng.choice(list(suffixes), n) if n else []
    out = pd.Series([_NAME_A[i // len(_NAME_B)] + _NAME_B[i % len(_NAME_B)] + s
                     for i, s in zip(picks, suffix)], dtype=object)
    if unique:
        rank = out.groupby(out).cumcount()
        out = out.where(rank == 0, out + (rank + 1).astype(str))
    return np.array(out, dtype=object)


def only(geoms: Any, dim: int) -> np.ndarray:
    """Keep the parts of dimension ``dim`` (1 lines, 2 polygons) of clipped geometries;
    a geometry with none (a touching point) becomes empty.

    Examples
    --------
    >>> touching = shapely.box(0, 0, 1, 1).intersection(shapely.box(1, 0, 2, 1))
    >>> [g.geom_type for g in only([shapely.box(0, 0, 1, 1), touching], 2)]
    ['Polygon', 'GeometryCollection']
    """
    geoms = np.array(geoms, dtype=object)
    tid = shapely.get_type_id(geoms)
    for k in np.flatnonzero(tid == 7):
        parts = [g for g in shapely.get_parts(geoms[k]) if shapely.get_dimensions(g) == dim]
        geoms[k] = shapely.union_all(parts) if parts else shapely.GeometryCollection()
    wrong = (tid != 7) & (shapely.get_dimensions(geoms) != dim)
    geoms[wrong] = shapely.GeometryCollection()
    return geoms


def valid_lines(geoms: Any) -> np.ndarray:
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


def ids(prefix: str, n: int, width: int = 2) -> np.ndarray:
    """Feature ids ``prefix`` + zero-padded 1..n (at least ``width`` digits).

    Examples
    --------
    >>> ids("CAM", 120).tolist()[:2]
    ['CAM001', 'CAM002']
    """
    width = max(width, len(str(n)))
    return np.array([f"{prefix}{i:0{width}d}" for i in range(1, n + 1)], dtype=object)


class ToStorage:
    """Local metres -> CGCS2000 lon/lat through the 3-degree Gauss-Kruger zone.

    Parameters
    ----------
    lon, lat
        The district centre (the local origin).

    Examples
    --------
    >>> to = ToStorage(121.55, 29.92)
    >>> p = to(np.array([shapely.Point(0, 0)]))[0]
    >>> round(p.x, 6), round(p.y, 6)
    (121.55, 29.92)
    """

    def __init__(self, lon: float, lat: float) -> None:
        epsg = gauss_kruger_3deg_epsg(lon)
        fwd = pyproj.Transformer.from_crs(STORAGE_EPSG, epsg, always_xy=True)
        self.x0, self.y0 = fwd.transform(lon, lat)
        self.inv = pyproj.Transformer.from_crs(epsg, STORAGE_EPSG, always_xy=True)

    def __call__(self, geoms: Any) -> np.ndarray:
        """Local geometries (metres) in CGCS2000 lon/lat."""
        def f(xy: np.ndarray) -> np.ndarray:
            lon, lat = self.inv.transform(xy[:, 0] + self.x0, xy[:, 1] + self.y0)
            return np.column_stack([lon, lat])
        return shapely.transform(np.asarray(geoms, dtype=object), f)

    def bearing(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Azimuth (degrees clockwise from true north) from local points a to b.

        Examples
        --------
        >>> ToStorage(121.55, 29.92).bearing(np.array([[0.0, 0.0]]), np.array([[0.0, 100.0]]))
        array([359.3])
        """
        lon0, lat0 = self.inv.transform(a[:, 0] + self.x0, a[:, 1] + self.y0)
        lon1, lat1 = self.inv.transform(b[:, 0] + self.x0, b[:, 1] + self.y0)
        az = pyproj.Geod(ellps="GRS80").inv(lon0, lat0, lon1, lat1)[0]
        return np.mod(np.round(az, 1), 360.0)


def frame(data: Mapping[str, Any], geoms: Any, to_storage: ToStorage | None,
          layer: str) -> gpd.GeoDataFrame:
    """Layer ``layer`` from columns (those of its schema are kept) and local geometries
    (already in CGCS2000 when ``to_storage`` is None).

    Examples
    --------
    >>> f = frame({"id": ["K1"], "kind": ["hotel"], "note": ["x"]}, [shapely.Point(121.55, 29.92)],
    ...           None, "key_places")
    >>> list(f.columns), f.crs.to_epsg()
    (['id', 'kind', 'geometry'], 4490)
    """
    spec = schema.get_spec(layer)
    df = pd.DataFrame({c: data[c] for c in spec.column_names if c in data})
    geoms = np.asarray(geoms, dtype=object) if to_storage is None else to_storage(geoms)
    return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geoms, crs=STORAGE_EPSG),
                            crs=STORAGE_EPSG)


def conformed(df: pd.DataFrame, layer: str) -> pd.DataFrame:
    """``df`` conformed to the schema of ``layer``; a schema error is a generator bug.

    Examples
    --------
    >>> f = frame({"id": ["K1"]}, [shapely.Point(121.55, 29.92)], None, "key_places")
    >>> conformed(f, "key_places")[["id", "kind", "name"]].values.tolist()
    [['K1', 'other', '']]
    """
    out, problems = schema.conform_layer(df, layer)
    errors = [p for p in problems if p.severity == "error"]
    if errors:  # a bug in the generator, not bad input
        raise RuntimeError(f"sample layer {layer!r} breaks the schema: {errors[0].format()}")
    return out.reset_index(drop=True)
