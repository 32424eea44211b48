"""City-scale runs on a dask cluster: grids, coverage and staffing, partitioned by station.

A project of a whole city (millions of households, hundreds of thousands of cameras)
is cut into one partition per police station, with the halo of neighbouring buildings
and cameras the visibility needs (:mod:`beatgrid.gis.batch.partition`). Each partition
is computed as one dask.distributed task by the same orchestration as the
single-machine run (:mod:`beatgrid.gis.batch.tasks`), and the results are merged into
exactly what one run gives (:mod:`beatgrid.gis.batch.merge`) and written through the
project (:class:`~beatgrid.gis.batch.runner.BatchRunner`). The command line:
``beatgrid batch grids|coverage|staffing --project P [--workers N | --scheduler URL]``.

Needs the optional ``dask`` extra (``pip install 'beatgrid[dask]'``).

Examples
--------
>>> from beatgrid.gis import Project
>>> from beatgrid.gis.batch import BatchRunner, Source
>>> project = Project.sample()
>>> with BatchRunner(project, source=Source(project.location), workers=1,
...                  processes=False, progress=False) as runner:
...     report = runner.grids(save=True)
>>> report.partitions, int(project.layer("grids")["households"].sum())
(2, 29984)
"""

from beatgrid.gis.batch.memory import MemoryStore
from beatgrid.gis.batch.partition import Partition, coverage_halo_m, station_partitions
from beatgrid.gis.batch.runner import KINDS, BatchReport, BatchRunner, default_workers, makespan
from beatgrid.gis.batch.synthetic import SyntheticCountry
from beatgrid.gis.batch.tasks import PartCost, Source
from beatgrid.gis.batch.tiled import national_views, tiled_views
from beatgrid.gis.batch.tiles import TileGrid, view_reach_m

__all__ = ["KINDS", "BatchReport", "BatchRunner", "MemoryStore", "PartCost", "Partition",
           "Source", "SyntheticCountry", "TileGrid", "coverage_halo_m", "default_workers",
           "makespan", "national_views", "station_partitions", "tiled_views", "view_reach_m"]
