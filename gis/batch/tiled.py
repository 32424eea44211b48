"""Tiled camera coverage on a dask cluster: a project's cameras, or a generated country.

:func:`tiled_views` computes the views of every camera of a project by square tiles
(:mod:`beatgrid.gis.batch.tiles`): the client reads the cameras only (a point layer,
small even for a country), cuts them into tiles and sends each tile's cameras to a
worker, which reads the buildings of its tile and halo from the project by bounding box
and computes the exact occlusion. The views come back in the order of one run and are
written as the derived layer ``camera_views`` (what ``beatgrid coverage`` writes for the
views; the zone figures are the station batch's, :meth:`BatchRunner.coverage
<beatgrid.gis.batch.runner.BatchRunner.coverage>`).

:func:`national_views` is the same tiled run on a :class:`~beatgrid.gis.batch.synthetic.
SyntheticCountry`: each worker *generates* its tile's buildings and cameras and its halo
(instead of reading them) and returns the tile's summary only, so neither the client nor
a worker ever holds the country.

Examples
--------
>>> from beatgrid.gis import Project
>>> from beatgrid.gis.batch import BatchRunner, Source
>>> project = Project.sample()
>>> with BatchRunner(project, source=Source(project.location), workers=1,
...                  processes=False, progress=False) as runner:
...     report = tiled_views(runner, size_m=1000, levels=False, save=True)
>>> report.partitions, int(report.result["tiles"]["cameras"].sum())
(11, 300)
>>> len(project.store.read_derived("camera_views"))
300
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import pyproj

from beatgrid.gis.batch.merge import kept_views, order_views
from beatgrid.gis.batch.runner import BatchReport, BatchRunner
from beatgrid.gis.batch.synthetic import SyntheticCountry
from beatgrid.gis.batch.tasks import PartCost, Source, peak_rss_mb
from beatgrid.gis.batch.tiles import Tile, TileGrid, TileViews, tile_views, view_reach_m
from beatgrid.gis.config import Config
from beatgrid.gis.coverage.fov import coverage_settings, quality_profile
from beatgrid.gis.crs import gauss_kruger_3deg_epsg, metric_crs
from beatgrid.gis.errors import InputError

__all__ = ["tiled_views", "national_views", "coverage_tile", "national_tile", "run_crs"]


def run_crs(cameras: Any) -> pyproj.CRS | None:
    """The metric CRS every tile computes in: one run's (:func:`~beatgrid.gis.crs.
    metric_crs` of all the cameras) when they lie in one 3-degree Gauss-Kruger zone (or
    the layer is already metric), else None: each tile takes the zone of its own cameras
    (a country spans many zones; one zone's projection far from its meridian would
    distort the views).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> city = gpd.GeoDataFrame(geometry=[shapely.Point(121.6, 30), shapely.Point(121.7, 30)],
    ...                         crs=4490)
    >>> country = gpd.GeoDataFrame(geometry=[shapely.Point(121.6, 30), shapely.Point(101.7, 30)],
    ...                            crs=4490)
    >>> run_crs(city).to_epsg(), run_crs(country)
    (4550, None)
    """
    if not len(cameras):
        return None
    crs = pyproj.CRS(cameras.crs)
    if not crs.is_geographic:
        return metric_crs(cameras, layer="cameras")
    lon = cameras.to_crs(4326).geometry.x.to_numpy(float)
    zones = {gauss_kruger_3deg_epsg(float(v)) for v in (np.nanmin(lon), np.nanmax(lon))}
    return metric_crs(cameras, layer="cameras") if len(zones) == 1 else None


def _cost(summary: Mapping[str, Any], read_s: float, read_cpu: float) -> PartCost:
    return PartCost(key=str(summary["tile"]), seconds=float(summary["seconds"]) + read_s,
                    peak_mb=peak_rss_mb(), cpu_seconds=float(summary["cpu_seconds"]) + read_cpu,
                    size={"cameras": int(summary["cameras"]),
                          "buildings": int(summary["buildings_read"]),
                          "buildings_in_reach": int(summary["buildings_in_reach"])})


def coverage_tile(source: Source, config: Config, tile: Tile, *, cameras: Any,
                  grid: TileGrid, halo_m: float, crs: Any,
                  options: Mapping[str, Any]) -> tuple[TileViews, PartCost]:
    """One tile of :func:`tiled_views` on a worker: read the buildings within ``halo_m``
    of the tile's cameras from the project, compute their views."""
    t0, c0 = time.perf_counter(), time.process_time()
    x0, y0, x1, y1 = (float(v) for v in cameras.total_bounds)
    box = grid.grow((x0, y0, x1, y1), halo_m)
    buildings = source.open(config).layer("buildings", bbox=box)
    read_s, read_cpu = time.perf_counter() - t0, time.process_time() - c0
    out = tile_views(cameras, buildings, key=tile.key, settings=config.coverage, crs=crs,
                     **options)
    return out, _cost(out.summary, read_s, read_cpu)


def tiled_views(runner: BatchRunner, *, size_m: float, profile: str | None = None,
                zones: str | None = None, levels: bool = True, save: bool = True
                ) -> BatchReport:
    """The views of every camera of ``runner.project``, computed by tiles of ``size_m``.

    The same views as one run (:func:`~beatgrid.gis.coverage.visibility.camera_views` of
    all cameras among all buildings) when the cameras lie in one Gauss-Kruger zone
    (:func:`run_crs`). With ``save`` they are written as the derived layer
    ``camera_views``.

    Returns
    -------
    BatchReport
        ``kind`` ``coverage-tiles``; ``result`` ``{"tiles": one row per tile,
        "camera_views": the views}``; ``costs`` per tile.
    """
    started, stages = time.perf_counter(), {}
    project = runner.project
    cfg = coverage_settings(project.config.coverage)
    prof = quality_profile(profile, settings=cfg)
    cams = project.layer("cameras")
    if not len(cams):
        raise InputError(f"project {project.location!r} has no cameras to tile",
                         fix="import cameras first (beatgrid import cameras FILE)")
    grid = TileGrid.covering(cams, size_m=size_m)
    tiles = grid.tiles_of(cams)
    owner = grid.owner(cams)
    halo = float(view_reach_m(cams, settings=cfg, profile=prof.name).max())
    crs = run_crs(cams)
    options = {"profile": prof.name, "zones": zones, "levels": levels, "keep_views": True}
    jobs = []
    for i, tile in enumerate(tiles):
        mine = runner.put(cams[owner == i])
        jobs.append((tile.key, coverage_tile, (runner.source, project.config, tile),
                     {"cameras": mine, "grid": grid, "halo_m": halo, "crs": crs,
                      "options": options}))
    stages["prepare"] = time.perf_counter() - started
    t = time.perf_counter()
    done = runner.run_tasks("coverage", jobs, unit="tiles")
    stages["compute"] = time.perf_counter() - t
    t = time.perf_counter()
    ordered = [done[tile.key] for tile in tiles]
    views = order_views([d[0].views for d in ordered], camera_order=list(cams["id"].astype(str)),
                        levels=["all", *prof.levels])
    summary = pd.DataFrame([d[0].summary for d in ordered])
    stages["merge"] = time.perf_counter() - t
    t = time.perf_counter()
    if save:
        project.store.write_derived({"camera_views": kept_views({"camera_views": views})[
            "camera_views"]})
    stages["write"] = time.perf_counter() - t
    return BatchReport(kind="coverage-tiles", partitions=len(tiles), workers=runner.n_workers,
                       seconds=time.perf_counter() - started, stages=stages,
                       costs=tuple(d[1] for d in ordered), worker_peak_mb=runner.worker_peaks(),
                       result={"tiles": summary, "camera_views": views}, saved=save)


def national_tile(country: SyntheticCountry, tile: Tile, *, halo_m: float,
                  settings: Mapping[str, Any] | None, options: Mapping[str, Any]
                  ) -> tuple[TileViews, PartCost]:
    """One tile of :func:`national_views` on a worker: generate the tile's cameras and the
    buildings of its cells and of the neighbouring cells within ``halo_m``, compute the
    views, return the summary (with ``buildings_own``: the tile's own buildings, and
    ``generate_s``, ``generate_cpu``)."""
    t0, c0 = time.perf_counter(), time.process_time()
    grid = TileGrid(dx=tile.bounds[2] - tile.bounds[0], dy=tile.bounds[3] - tile.bounds[1],
                    geographic=False)
    own = country.cells_in(tile.bounds)
    cams = country.cameras(own)
    buildings = country.buildings(country.cells_in(grid.grow(tile.bounds, halo_m)))
    gen_s, gen_cpu = time.perf_counter() - t0, time.process_time() - c0
    out = tile_views(cams, buildings, key=tile.key, settings=settings, keep_views=False,
                     **options)
    summary = {**out.summary, "generate_s": gen_s, "generate_cpu": gen_cpu,
               "buildings_own": int(country.building_counts[own[:, 0], own[:, 1]].sum())}
    return TileViews(views=None, summary=summary), _cost(summary, gen_s, gen_cpu)


def national_views(runner: BatchRunner, country: SyntheticCountry, *, size_m: float,
                   profile: str | None = None, levels: bool = True,
                   fraction: float = 1.0) -> BatchReport:
    """The views of every camera of a generated country, by tiles of ``size_m`` metres
    (whole cells), aggregated per tile (nothing is written; no project is needed).

    ``fraction`` < 1 runs the tiles of the south of the country holding about that share
    of its buildings (a measured fraction, to extrapolate from).

    Returns
    -------
    BatchReport
        ``result`` ``{"tiles": one row per tile}``; ``costs`` per tile.
    """
    if size_m % country.cell_m:
        raise InputError(f"tile size {size_m!r} m is not a whole number of "
                         f"{country.cell_m:g} m cells", fix="give whole kilometres")
    started, stages = time.perf_counter(), {}
    cfg = coverage_settings(runner.project.config.coverage)
    prof = quality_profile(profile, settings=cfg)
    k = int(size_m // country.cell_m)
    rows, cols = country.building_counts.shape
    x0, y0 = country.bounds[:2]
    grid = TileGrid(dx=size_m, dy=size_m, geographic=False)
    per_row = np.add.reduceat(country.building_counts.sum(axis=1), np.arange(0, rows, k))
    last = int(np.searchsorted(np.cumsum(per_row), fraction * per_row.sum() - 0.5)) + 1
    tiles = []
    for r in range(min(last, len(per_row))):
        for c in range(0, cols, k):
            if country.building_counts[r * k:(r + 1) * k, c:c + k].any():
                t = grid.tile(r, c // k)
                b = t.bounds
                tiles.append(Tile(t.key, t.row, t.col, (b[0] + x0, b[1] + y0, b[2] + x0,
                                                        b[3] + y0)))
    halo = float(view_reach_m(pd.DataFrame({"range_m": [country.max_range_m]}),
                              settings=cfg)[0])
    data = runner.put(country)
    options = {"profile": prof.name, "levels": levels}
    jobs = [(t.key, national_tile, (data, t), {"halo_m": halo, "settings": cfg,
                                                "options": options}) for t in tiles]
    stages["prepare"] = time.perf_counter() - started
    t1 = time.perf_counter()
    done = runner.run_tasks("national coverage", jobs, unit="tiles")
    stages["compute"] = time.perf_counter() - t1
    ordered = [done[t.key] for t in tiles]
    summary = pd.DataFrame([d[0].summary for d in ordered])
    return BatchReport(kind="national-coverage", partitions=len(tiles),
                       workers=runner.n_workers, seconds=time.perf_counter() - started,
                       stages=stages, costs=tuple(d[1] for d in ordered),
                       worker_peak_mb=runner.worker_peaks(), result={"tiles": summary})
