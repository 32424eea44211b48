"""Camera views by square tiles: the exact occlusion of a country, one tile at a time.

A national camera layer (tens of thousands of cameras among millions of buildings) is
processed the way large vector analyses are: the extent is cut into square *tiles* of
``size_m`` metres; each camera belongs to the tile holding it (half-open cells: exactly
one); a tile's task reads only the buildings within the *halo* of its cameras
(:func:`view_reach_m`: the farthest a view can reach, snapping included), keeps those
within reach of a camera, computes the views with the coverage code itself
(:func:`~beatgrid.gis.coverage.visibility.camera_views`: the exact occlusion, not
sampled rays) and returns the views and a one-row summary. Memory is bounded by the
largest tile and its halo, never by the country; the views of a camera do not depend on
the tile cut (a test compares them with one run).

Examples
--------
>>> import geopandas as gpd, shapely
>>> cams = gpd.GeoDataFrame({"id": ["a", "b"], "range_m": [30.0, 30.0], "direction": [90.0, 0.0]},
...                         geometry=[shapely.Point(10, 10), shapely.Point(2500, 10)], crs=4547)
>>> grid = TileGrid.covering(cams, size_m=1000)
>>> [t.key for t in grid.tiles_of(cams)], grid.owner(cams).tolist()
(['T0_0', 'T0_2'], [0, 1])
>>> blds = gpd.GeoDataFrame({"id": ["w"]}, geometry=[shapely.box(20, -20, 21, 40)], crs=4547)
>>> out = tile_views(cams.iloc[:1], blds, key="T0_0", levels=False)
>>> out.summary["cameras"], out.summary["buildings_in_reach"], round(out.summary["view_area_m2"])
(1, 1, 87)
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from beatgrid.gis.coverage.fov import camera_parameters, coverage_settings, quality_profile
from beatgrid.gis.coverage.visibility import camera_views
from beatgrid.gis.crs import metric_crs
from beatgrid.gis.errors import InputError

__all__ = ["Tile", "TileGrid", "TileViews", "view_reach_m", "tile_views", "STATUSES",
           "M_PER_DEG"]

#: Metres per degree of latitude (WGS84 / CGCS2000 mean).
M_PER_DEG = 111_320.0
#: Camera statuses counted per tile (those of :func:`camera_views`).
STATUSES = ("ok", "moved", "indoor", "blocked")
#: Snapping is repeated up to this many times (a camera moved out of one building into
#: another): the halo allows for each.
_SNAP_ROUNDS = 3


@dataclass(frozen=True)
class Tile:
    """One square tile: its key (``T<row>_<col>``), row, column and bounds (the grid's CRS)."""

    key: str
    row: int
    col: int
    bounds: tuple[float, float, float, float]


@dataclass(frozen=True)
class TileGrid:
    """Square tiles of ``size_m`` metres over a CRS, anchored at whole multiples of the size.

    In a geographic CRS (longitude / latitude) a tile is ``size_m`` tall and as wide at
    the latitude ``lat0`` (the middle of the data): its sides are in degrees.

    Examples
    --------
    >>> g = TileGrid(dx=1000.0, dy=1000.0, geographic=False)
    >>> g.tile(2, 3).bounds, g.tile(2, 3).key
    ((3000.0, 2000.0, 4000.0, 3000.0), 'T2_3')
    """

    dx: float
    dy: float
    geographic: bool
    unit_m: float = 1.0

    @classmethod
    def covering(cls, frame: gpd.GeoDataFrame, *, size_m: float) -> TileGrid:
        """The grid for ``frame``'s CRS (in degrees at its middle latitude when geographic).

        Raises
        ------
        InputError
            ``size_m`` is not positive, or ``frame`` has no CRS.
        """
        if not size_m > 0:
            raise InputError(f"tile size {size_m!r} m must be positive",
                             fix="give the tile side in km, e.g. --tiles 10")
        if frame.crs is None:
            raise InputError("the cameras have no CRS: they cannot be tiled",
                             fix="import the cameras with their coordinate system")
        crs = pyproj.CRS(frame.crs)
        if not crs.is_geographic:
            unit = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0
            return cls(dx=size_m / unit, dy=size_m / unit, geographic=False, unit_m=unit)
        lat = 0.0
        if len(frame):
            y0, y1 = frame.total_bounds[[1, 3]]
            lat = float((y0 + y1) / 2) if np.isfinite([y0, y1]).all() else 0.0
        dy = size_m / M_PER_DEG
        return cls(dx=dy / max(math.cos(math.radians(min(abs(lat), 85.0))), 1e-6), dy=dy,
                   geographic=True)

    def tile(self, row: int, col: int) -> Tile:
        """The tile at ``row``, ``col``."""
        x0, y0 = col * self.dx, row * self.dy
        return Tile(key=f"T{row}_{col}", row=int(row), col=int(col),
                    bounds=(x0, y0, x0 + self.dx, y0 + self.dy))

    def cells(self, frame: gpd.GeoDataFrame) -> np.ndarray:
        """``(row, col)`` of the tile holding each feature's point (``floor``: one tile)."""
        xy = shapely.get_coordinates(shapely.point_on_surface(frame.geometry.values))
        return np.column_stack([np.floor(xy[:, 1] / self.dy),
                                np.floor(xy[:, 0] / self.dx)]).astype(np.int64)

    def tiles_of(self, frame: gpd.GeoDataFrame) -> list[Tile]:
        """The tiles holding at least one feature, by row then column."""
        cells = np.unique(self.cells(frame), axis=0) if len(frame) else np.zeros((0, 2), int)
        return [self.tile(int(r), int(c)) for r, c in cells]

    def owner(self, frame: gpd.GeoDataFrame) -> np.ndarray:
        """Position of each feature's tile in :meth:`tiles_of`."""
        cells = self.cells(frame)
        if not len(cells):
            return np.zeros(0, dtype=np.int64)
        return np.unique(cells, axis=0, return_inverse=True)[1].ravel().astype(np.int64)

    def grow(self, bounds: tuple[float, float, float, float], halo_m: float
             ) -> tuple[float, float, float, float]:
        """``bounds`` grown by ``halo_m`` metres (in degrees when geographic)."""
        x0, y0, x1, y1 = bounds
        if not self.geographic:
            h = halo_m / self.unit_m
            return (x0 - h, y0 - h, x1 + h, y1 + h)
        dy = 1.05 * halo_m / M_PER_DEG
        lat = min(max(abs(y0), abs(y1)) + dy, 89.0)
        dx = dy / math.cos(math.radians(lat))
        return (x0 - dx, y0 - dy, x1 + dx, y1 + dy)


def view_reach_m(cameras: pd.DataFrame, *, settings: Mapping[str, Any] | None = None,
                 profile: str | None = None) -> np.ndarray:
    """Per camera, how far from its recorded position a building can change its view.

    Its ground range (:func:`~beatgrid.gis.coverage.fov.camera_parameters`) plus the
    distance snapping may move it (``[visibility] max_snap_m + camera_offset_m``, for
    each of the snapping rounds), plus one metre.

    Examples
    --------
    >>> import pandas as pd
    >>> view_reach_m(pd.DataFrame({"range_m": [30.0, 80.0]})).tolist()
    [46.15, 96.15]
    """
    cfg = coverage_settings(settings)
    vis = cfg["visibility"]
    snap = _SNAP_ROUNDS * (float(vis["max_snap_m"]) + float(vis["camera_offset_m"]))
    rng = camera_parameters(cameras, profile=profile, settings=cfg)["range_m"]
    return np.nan_to_num(rng.to_numpy(float), nan=0.0) + snap + 1.0


@dataclass(frozen=True)
class TileViews:
    """What one tile's task gives: the views of its cameras (None when not kept) and a
    one-row ``summary`` (cameras, buildings read and within reach, statuses, areas,
    seconds, CPU seconds, peak memory)."""

    views: gpd.GeoDataFrame | None
    summary: Mapping[str, Any]


def tile_views(cameras: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame, *, key: str,
               settings: Mapping[str, Any] | None = None, profile: str | None = None,
               zones: str | None = None, levels: bool = True, crs: Any = None,
               keep_views: bool = True) -> TileViews:
    """The views of a tile's cameras among the buildings read for it (tile and halo).

    Only the buildings within :func:`view_reach_m` of a camera enter the occlusion (the
    others cannot change a view); the views are those of
    :func:`~beatgrid.gis.coverage.visibility.camera_views` computed in ``crs`` (default:
    the cameras' metric CRS), given back in the cameras' CRS.

    Parameters
    ----------
    cameras
        The tile's own cameras (every column of the ``cameras`` layer it has).
    buildings
        The buildings read for the tile (a superset is fine).
    key
        The tile's key, for the summary.
    settings, profile, zones, levels
        As :func:`~beatgrid.gis.coverage.visibility.camera_views`.
    crs
        The metric CRS to compute in (one for the whole run, so the views are those of
        one run; None: the tile's own).
    keep_views
        Return the views (False: the summary only, for runs that only aggregate).
    """
    started, cpu = time.perf_counter(), time.process_time()
    cfg = coverage_settings(settings)
    prof = quality_profile(profile, settings=cfg)
    work = metric_crs(cameras, layer="cameras") if crs is None else pyproj.CRS(crs)
    cam_m = cameras.to_crs(work)
    near = buildings
    if len(buildings) and len(cameras):
        bld_m = buildings.to_crs(work)
        reach = view_reach_m(cam_m, settings=cfg, profile=prof.name)
        hit = shapely.STRtree(bld_m.geometry.values).query(
            cam_m.geometry.values, predicate="dwithin", distance=reach)[1]
        near = bld_m.iloc[np.unique(hit)]
    views = camera_views(cam_m, near, profile=prof, zones=zones, levels=levels,
                         settings=cfg, metric=True)
    whole = views[(views["level"] == "all").to_numpy()] if len(views) else views
    status = whole["status"].value_counts() if len(whole) else pd.Series(dtype=int)
    summary: dict[str, Any] = {
        "tile": key, "cameras": int(len(cameras)), "buildings_read": int(len(buildings)),
        "buildings_in_reach": int(len(near)),
        **{f"status_{s}": int(status.get(s, 0)) for s in STATUSES},
        "view_area_m2": float(whole["area_m2"].sum()) if len(whole) else 0.0,
        "seen_area_m2": float(shapely.area(shapely.union_all(whole.geometry.values)))
        if len(whole) else 0.0}
    for level in prof.levels if levels else ():
        mine = views[(views["level"] == level).to_numpy()]
        summary[f"area_{level}_m2"] = float(mine["area_m2"].sum())
    out = None
    if keep_views:
        out = views.to_crs(cameras.crs) if cameras.crs is not None and len(views) else views
    summary["seconds"] = time.perf_counter() - started
    summary["cpu_seconds"] = time.process_time() - cpu
    return TileViews(views=out, summary=summary)
