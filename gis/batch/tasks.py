"""The work of one partition, as a function a dask worker runs.

Each task gets a :class:`Source` (how to reopen the project: a GeoPackage path or a
``postgresql://`` URL, which every worker must be able to reach), the
:class:`~beatgrid.gis.config.Config`, its :class:`~beatgrid.gis.batch.partition.
Partition` and the small frames the runner already holds; it reads the heavy layers
(buildings, incidents) of its region and halo by bounding box, builds a
:class:`~beatgrid.gis.workspace.Workspace` over them
(:class:`~beatgrid.gis.batch.memory.MemoryStore`) and calls the capability on it, the
same orchestration as the single-machine run. It returns plain frames, which the runner
merges (:mod:`beatgrid.gis.batch.merge`).

Examples
--------
>>> from beatgrid.gis.batch.partition import station_partitions
>>> from beatgrid.gis.io.store import open_store
>>> from beatgrid.gis.workspace import Workspace
>>> ws = Workspace(open_store("sample-geodata/ningbo-jiangbei.gpkg"))
>>> part = station_partitions(ws)[0]
>>> out = staffing_part(Source("sample-geodata/ningbo-jiangbei.gpkg"), ws.config, part,
...                     frames=staffing_frames(ws, part), period_days=365)
>>> sorted(out.result.gaps["station_id"].unique()), len(out.result.gaps)
(['S01'], 7)
"""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import shapely

from beatgrid.gis.batch.memory import MemoryStore
from beatgrid.gis.batch.partition import Partition
from beatgrid.gis.config import Config
from beatgrid.gis.coverage.workflow import CoverageAnalysis
from beatgrid.gis.grids.results import GeneratedPlan
from beatgrid.gis.grids.workflow import GRID_LAYERS, GridPlanning
from beatgrid.gis.io.store import open_store
from beatgrid.gis.policing.beats import resolve_beats
from beatgrid.gis.policing.location import place_incidents
from beatgrid.gis.policing.staffing import StaffingResult
from beatgrid.gis.policing.workflow import STAFFING_LAYERS, Policing
from beatgrid.gis.workspace import Workspace

__all__ = ["Source", "PartCost", "GridsPart", "CoveragePart", "StaffingPart", "grid_slices",
           "grids_part", "coverage_part",
           "staffing_part", "staffing_frames", "peak_rss_mb"]


@dataclass(frozen=True)
class Source:
    """How a worker reopens the project.

    Attributes
    ----------
    target
        The GeoPackage path or the ``postgresql://`` URL (with its password: the
        store's ``location`` masks it).
    schema
        The PostGIS schema (None: the default).
    """

    target: str
    schema: str | None = None

    def open(self, config: Config) -> Workspace:
        """The project as a :class:`~beatgrid.gis.workspace.Workspace`."""
        return Workspace(open_store(self.target, schema=self.schema), config=config)


@dataclass(frozen=True)
class PartCost:
    """What one partition cost on its worker.

    Attributes
    ----------
    key
        The partition (station id).
    seconds
        Wall time of the task (reading included).
    cpu_seconds
        CPU time of the worker process during the task (all its threads): the work
        itself, whatever else the machine was doing.
    peak_mb
        Peak resident memory of the worker process so far (MB).
    size
        Features the task worked on, by layer.
    """

    key: str
    seconds: float
    peak_mb: float
    size: Mapping[str, int] = field(default_factory=dict)
    cpu_seconds: float = 0.0


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MB (Linux reports kB, macOS bytes).

    Examples
    --------
    >>> peak_rss_mb() > 0
    True
    """
    peak = float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    return peak / 1e6 if sys.platform == "darwin" else peak / 1e3


def _memory(layers: Mapping[str, pd.DataFrame], config: Config, crs: int, key: str
            ) -> Workspace:
    return Workspace(MemoryStore(layers, crs=crs, label=f"partition {key}"), config=config)


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _cost(key: str, started: tuple[float, float], layers: Mapping[str, pd.DataFrame]
          ) -> PartCost:
    return PartCost(key=key, seconds=time.perf_counter() - started[0], peak_mb=peak_rss_mb(),
                    size={name: int(len(df)) for name, df in layers.items()},
                    cpu_seconds=time.process_time() - started[1])


# --------------------------------------------------------------------------------------
# Grids
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class GridsPart:
    """The grids of one partition (:meth:`GridPlanning.generate
    <beatgrid.gis.grids.workflow.GridPlanning.generate>` on its communities)."""

    result: GeneratedPlan
    cost: PartCost


def grids_part(config: Config, part: Partition, *, layers: Mapping[str, pd.DataFrame],
               crs: int, options: Mapping[str, Any]) -> GridsPart:
    """Plan the basic grids of the partition's communities.

    ``layers`` are the partition's slices of :data:`~beatgrid.gis.grids.workflow.
    GRID_LAYERS` with the project's row index kept (so the plans merge by it);
    ``options`` go to ``generate`` (band, seed, stable...). Planned in one process
    (``workers=1``): the worker is the unit of parallelism.
    """
    started = _clock()
    ws = _memory(layers, config, crs, part.key)
    result = GridPlanning(ws).generate(communities=list(part.community_ids), workers=1,
                                       save=False, **options)
    return GridsPart(result=result, cost=_cost(part.key, started, layers))


def grid_slices(layers: Mapping[str, pd.DataFrame], part: Partition) -> dict[str, pd.DataFrame]:
    """The partition's share of the grid layers (row index kept).

    Its communities, their buildings (by ``community_id``, or by location for buildings
    that name none), their estates and stored grids, and the streets that touch them.

    Examples
    --------
    >>> from beatgrid.gis import Project
    >>> from beatgrid.gis.batch.partition import station_partitions
    >>> p = Project.open("sample-geodata/ningbo-jiangbei.gpkg")
    >>> part = station_partitions(p)[1]
    >>> sl = grid_slices(p.read(GRID_LAYERS), part)
    >>> sorted(sl["communities"]["id"]) == list(part.community_ids), sl["buildings"].index.min() > 0
    (True, True)
    """
    ids = set(part.community_ids)
    comm = layers["communities"]
    mine = comm[comm["id"].astype(str).isin(ids)]
    bld = layers["buildings"]
    # by community_id, and by location (the planner places a building by its point on
    # surface): a superset does no harm, other communities' buildings are not planned
    take = bld["community_id"].astype(object).isin(ids).to_numpy().copy() \
        if "community_id" in bld else np.zeros(len(bld), dtype=bool)
    if len(bld) and len(mine):
        pts = shapely.point_on_surface(bld.geometry.values)
        hit = shapely.STRtree(pts).query(mine.geometry.values, predicate="intersects")[1]
        take[hit] = True
    out = {"communities": mine, "buildings": bld[take]}
    for name in ("estates", "grids"):
        df = layers[name]
        out[name] = df[df["community_id"].astype(object).isin(ids).to_numpy()] if len(df) \
            else df
    streets = layers["streets"]
    if len(streets):
        near = shapely.STRtree(streets.geometry.values).query(mine.geometry.values)[1]
        streets = streets.iloc[np.unique(near)]
    out["streets"] = streets
    return out


# --------------------------------------------------------------------------------------
# Coverage
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CoveragePart:
    """The coverage of one partition: its own cameras' views, its zones' figures and
    blind spots, and its old estates' risk components (ranked again once merged)."""

    views: pd.DataFrame
    stats: pd.DataFrame
    blind_spots: pd.DataFrame
    estate_risk: pd.DataFrame
    cost: PartCost


def coverage_part(source: Source, config: Config, part: Partition, *,
                  zones: Mapping[str, pd.DataFrame], cameras: pd.DataFrame,
                  own_cameras: list[str], halo_m: float, crs: int,
                  options: Mapping[str, Any]) -> CoveragePart:
    """Camera coverage of the partition's zones.

    ``zones`` are the zone layers' features owned by the partition, ``cameras`` those
    within ``halo_m`` of its region (their views can reach into it); the buildings are
    read within ``2 * halo_m`` (they hide what those cameras see) and the incidents
    within ``halo_m``. Only the views of ``own_cameras`` are returned (each camera is
    owned by one partition).
    """
    started = _clock()
    ws = source.open(config)
    layers = dict(zones)
    layers["cameras"] = cameras
    layers["buildings"] = ws.layer("buildings", bbox=part.bbox(halo_m=2 * halo_m))
    layers["incidents"] = ws.layer("incidents", bbox=part.bbox(halo_m=halo_m))
    res = CoverageAnalysis(_memory(layers, config, crs, part.key)).analyse(
        save=False, **options)
    views = res.views[res.views["camera_id"].astype(str).isin(set(own_cameras))]
    return CoveragePart(views=views, stats=res.stats, blind_spots=res.blind_spots,
                        estate_risk=res.estate_risk, cost=_cost(part.key, started, layers))


# --------------------------------------------------------------------------------------
# Staffing
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StaffingPart:
    """The staffing assessment of one partition's beats."""

    result: StaffingResult
    cost: PartCost


def staffing_frames(project: Workspace, part: Partition, *,
                    incident_beat: pd.Series | None = None) -> dict[str, pd.DataFrame]:
    """The small layers of a partition's staffing: its station, areas, beats, communities,
    police rooms, grids, staff and incidents.

    ``incident_beat`` is the beat of each incident of the project (placed once for the
    whole project, snapping included); by default the incidents are placed here.
    """
    beats_all = project.layer("beats")
    out: dict[str, pd.DataFrame] = {}
    keep = {"stations": ("id", {part.key}), "responsibility_areas": ("id", set(part.area_ids)),
            "beats": ("id", set(part.beat_ids)), "communities": ("id", set(part.community_ids)),
            "police_rooms": ("beat_id", set(part.beat_ids)),
            "grids": ("community_id", set(part.community_ids)),
            "staff": ("beat_id", set(part.beat_ids))}
    for name, (col, ids) in keep.items():
        df = beats_all if name == "beats" else project.layer(name)
        out[name] = df[df[col].astype(object).isin(ids).to_numpy()] if len(df) else df
    incidents = project.layer("incidents")
    if incident_beat is None:
        snap = float(project.config.policing["beats"]["incident_snap_m"])
        resolved = resolve_beats({"beats": beats_all,
                                  "communities": project.layer("communities")})[0]
        incident_beat = place_incidents(incidents, resolved, snap_m=snap).ids
    mine = incident_beat.reindex(incidents.index).astype(object).isin(set(part.beat_ids))
    out["incidents"] = incidents[mine.to_numpy()]
    return out


def staffing_part(source: Source, config: Config, part: Partition, *,
                  frames: Mapping[str, pd.DataFrame], period_days: float | None,
                  options: Mapping[str, Any] | None = None) -> StaffingPart:
    """Assess the staffing of the partition's beats.

    ``frames`` are :func:`staffing_frames`; the buildings are read here, by the region's
    bounding box. ``period_days`` must be the whole project's (inferred once from all
    incidents), so each beat's workload is the same as in one run.
    """
    started = _clock()
    ws = source.open(config)
    layers = dict(frames)
    layers["buildings"] = ws.layer("buildings", bbox=part.bbox())
    missing = [n for n in STAFFING_LAYERS if n not in layers]
    for name in missing:
        layers[name] = ws.layer(name)
    res = Policing(_memory(layers, config, ws.store.crs(), part.key)).assess(
        period_days=period_days, **dict(options or {}))
    return StaffingPart(result=res, cost=_cost(part.key, started, layers))
