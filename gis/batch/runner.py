"""``BatchRunner``: grids, coverage and staffing of a whole city on a dask cluster.

The project is cut into one partition per police station
(:mod:`beatgrid.gis.batch.partition`); each partition is one dask.distributed task
(:mod:`beatgrid.gis.batch.tasks`) run on a :class:`distributed.LocalCluster` of
``workers`` processes (one thread each; default: one per CPU of the machine) or on the
workers of an existing scheduler (``scheduler="tcp://host:8786"``: every worker must
reach the same GeoPackage path or database URL). The results are merged as one run
would give them (:mod:`beatgrid.gis.batch.merge`) and written through the project's
store: grids into ``grids`` and ``buildings.grid_id``, coverage into the derived
layers; staffing is returned (the command writes the CSV).

dask.distributed is an optional dependency (``pip install 'beatgrid[dask]'``).

Examples
--------
>>> from beatgrid.gis import Project
>>> from beatgrid.gis.batch import BatchRunner, Source
>>> project = Project.sample()
>>> with BatchRunner(project, source=Source(project.location), workers=1,
...                  processes=False, progress=False) as runner:
...     report = runner.staffing()
>>> report.partitions, len(report.result.gaps), report.result.gaps["severity_rank"].is_unique
(2, 12, True)
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from beatgrid.gis.batch.merge import kept_views, merge_coverage, merge_grids, merge_staffing
from beatgrid.gis.batch.partition import (Partition, coverage_halo_m, group_partitions,
                                          station_partitions)
from beatgrid.gis.batch.tasks import (PartCost, Source, coverage_part, grid_slices, grids_part,
                                      peak_rss_mb, staffing_frames, staffing_part)
from beatgrid.gis.coverage.fov import coverage_settings, quality_profile
from beatgrid.gis.coverage.zones import ZONE_TYPES
from beatgrid.gis.crs import metric_crs
from beatgrid.gis.errors import InputError, StoreUnavailableError
from beatgrid.gis.grids.workflow import GRID_LAYERS, GridPlanning
from beatgrid.gis.policing.beats import resolve_beats
from beatgrid.gis.policing.location import place_incidents
from beatgrid.gis.policing.workload import infer_period_days
from beatgrid.gis.workspace import Workspace

__all__ = ["BatchRunner", "BatchReport", "KINDS", "default_workers", "makespan"]

#: What a batch run computes.
KINDS = ("grids", "coverage", "staffing")
#: Partitions per worker by default: enough to balance the load, few enough that each
#: task's fixed cost (opening, reading, the analysis' set-up) and halo stay small.
TASKS_PER_WORKER = 4
#: Seconds to wait for an existing scheduler to answer.
CONNECT_TIMEOUT_S = 15


@dataclass(frozen=True)
class BatchReport:
    """What a batch run did.

    Attributes
    ----------
    kind
        ``grids``, ``coverage`` or ``staffing``.
    partitions, workers
        Partitions computed and dask workers used.
    seconds
        Wall time, reading and writing included.
    stages
        Wall seconds of each stage (``prepare``, ``compute``, ``merge``, ``write``).
    costs
        Per partition: seconds on its worker, peak memory, features (:class:`PartCost`).
    worker_peak_mb
        Peak resident memory of each worker process (MB; in-process workers share one).
    result
        ``grids``: a :class:`~beatgrid.gis.grids.results.GeneratedPlan`; ``coverage``:
        the derived layers by name; ``staffing``: a
        :class:`~beatgrid.gis.policing.staffing.StaffingResult`.
    saved
        Whether the result was written into the project.
    """

    kind: str
    partitions: int
    workers: int
    seconds: float
    stages: Mapping[str, float]
    costs: tuple[PartCost, ...]
    worker_peak_mb: Mapping[str, float]
    result: Any
    saved: bool = False


def default_workers() -> int:
    """One worker per CPU this process may use.

    Examples
    --------
    >>> default_workers() >= 1
    True
    """
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
        else (os.cpu_count() or 1)


def makespan(seconds: Sequence[float], workers: int) -> float:
    """Wall time of tasks of these durations on ``workers`` (longest first, each to the
    worker free first): the estimate for a cluster of that size.

    Examples
    --------
    >>> makespan([4, 3, 3, 2], 2)
    6.0
    """
    free = np.zeros(max(1, int(workers)))
    for s in sorted(seconds, reverse=True):
        i = int(np.argmin(free))
        free[i] += float(s)
    return float(free.max())


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise InputError("batch runs need dask.distributed, which is not installed",
                         fix="pip install 'beatgrid[dask]'") from None
    return distributed


class BatchRunner:
    """Runs the capabilities partition by partition on a dask cluster.

    Parameters
    ----------
    project
        The project (its layers, configuration and store: results are written there).
    source
        How workers reopen the project (:class:`~beatgrid.gis.batch.tasks.Source`).
    workers
        Worker processes of the local cluster (default :func:`default_workers`).
    scheduler
        Address of an existing dask scheduler (``tcp://host:8786``) instead of a local
        cluster.
    processes
        Local workers as processes (True) or threads of this process (tests).
    progress
        Show a progress bar on standard error.
    stations
        Only these stations (default all).
    partitions
        Tasks to cut the project into, each made of whole neighbouring stations
        (:func:`~beatgrid.gis.batch.partition.group_partitions`; default
        :data:`TASKS_PER_WORKER` per worker, at most one per station).
    connect_timeout
        Seconds to wait for ``scheduler`` to answer.

    Use it as a context manager: the cluster starts on entry and stops on exit.
    """

    def __init__(self, project: Workspace, *, source: Source, workers: int | None = None,
                 scheduler: str | None = None, processes: bool = True, progress: bool = True,
                 stations: Sequence[str] | None = None, partitions: int | None = None,
                 connect_timeout: float = CONNECT_TIMEOUT_S) -> None:
        if workers is not None and workers < 1:
            raise InputError(f"workers {workers!r} must be at least 1",
                             fix="give a whole number of workers >= 1, or omit it")
        if partitions is not None and partitions < 1:
            raise InputError(f"partitions {partitions!r} must be at least 1",
                             fix="give a whole number of partitions >= 1, or omit it")
        if workers is not None and scheduler is not None:
            raise InputError("give either workers or scheduler, not both",
                             fix="--workers starts a local cluster; --scheduler uses yours")
        self.project = project
        self.source = source
        self.workers = workers
        self.scheduler = scheduler
        self.processes = processes
        self.progress = progress
        self.stations = stations
        self.connect_timeout = connect_timeout
        self.partitions = partitions
        self._client: Any = None
        self._cluster: Any = None
        self._log_level = logging.NOTSET

    # -- the cluster -----------------------------------------------------------------
    def __enter__(self) -> BatchRunner:
        dd = _distributed()
        log = logging.getLogger("distributed")
        self._log_level = log.level
        if not log.isEnabledFor(logging.DEBUG):      # dask's INFO lines are not for users
            log.setLevel(logging.ERROR)
        if self.scheduler:
            try:
                self._client = dd.Client(self.scheduler, timeout=self.connect_timeout)
            except (OSError, TimeoutError) as exc:
                log.setLevel(self._log_level)
                raise StoreUnavailableError(
                    f"cannot reach the dask scheduler {self.scheduler!r}: {exc}",
                    fix="start it (`dask scheduler`, then `dask worker ADDRESS` on each "
                        "machine) or leave --scheduler out to run on this machine") from None
        else:
            import dask

            # Workers come from a fork server (a clean, single-threaded process that has
            # imported the libraries once): they start in a second, and never inherit a
            # lock another thread held (forking this process, which runs dask's threads,
            # can leave a worker deadlocked). Elsewhere they are spawned.
            method = _start_method()
            with dask.config.set({"distributed.worker.multiprocessing-method": method}):
                self._cluster = dd.LocalCluster(
                    n_workers=self.workers or default_workers(), threads_per_worker=1,
                    processes=self.processes, dashboard_address=":0",
                    # a task's error reaches the client as its exception; what the
                    # workers log at ERROR is shutdown noise (a heartbeat to a scheduler
                    # already closed printed a traceback after a 10-million run)
                    silence_logs=logging.CRITICAL)
            self._client = dd.Client(self._cluster)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._client is not None:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()
        self._client = self._cluster = None
        logging.getLogger("distributed").setLevel(self._log_level)

    @property
    def n_workers(self) -> int:
        """Workers of the cluster."""
        return len(self._require().scheduler_info()["workers"])

    def _require(self) -> Any:
        if self._client is None:
            raise InputError("the batch runner is not started",
                             fix="use it in a `with BatchRunner(...) as runner:` block")
        return self._client

    def run_tasks(self, kind: str, jobs: Sequence[tuple[str, Callable[..., Any],
                                                         tuple[Any, ...], dict[str, Any]]],
                  *, unit: str = "partitions") -> dict[str, Any]:
        """Submit one task per ``(key, function, args, kwargs)``, show the progress bar
        (``kind: unit``), gather the results by key (a failed task cancels the others
        and raises)."""
        dd = _distributed()
        client = self._require()
        futures = {client.submit(fn, *args, key=f"beatgrid-{kind}-{key}-{time.time_ns()}",
                                 pure=False, **kwargs): key for key, fn, args, kwargs in jobs}
        out: dict[str, Any] = {}
        with self._bar(f"{kind}: {unit}", len(futures)) as advance:
            try:
                for fut, res in dd.as_completed(list(futures), with_results=True):
                    out[futures[fut]] = res
                    advance()
            except BaseException:
                client.cancel(list(futures))
                raise
        return out

    @contextmanager
    def _bar(self, label: str, total: int) -> Iterator[Callable[[], None]]:
        if not self.progress:
            yield lambda: None
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        with Progress("[progress.description]{task.description}", BarColumn(),
                      MofNCompleteColumn(), TimeElapsedColumn(),
                      console=Console(stderr=True), transient=False) as bar:
            task = bar.add_task(label, total=total)
            yield lambda: bar.advance(task)

    def put(self, obj: Any) -> Any:
        """``obj`` sent to the workers once (a future to pass to tasks)."""
        return _put(self._require(), obj)

    def worker_peaks(self) -> dict[str, float]:
        """Peak resident memory (MB) of each worker process, by worker address."""
        return {str(k): float(v) for k, v in self._require().run(peak_rss_mb).items()}

    def _partitions(self) -> list[Partition]:
        parts = station_partitions(self.project, stations=self.stations)
        return group_partitions(parts, self.partitions or TASKS_PER_WORKER * self.n_workers)

    def _report(self, kind: str, parts: list[Partition], started: float,
                stages: dict[str, float], costs: Sequence[PartCost], result: Any,
                saved: bool) -> BatchReport:
        return BatchReport(kind=kind, partitions=len(parts), workers=self.n_workers,
                           seconds=time.perf_counter() - started, stages=stages,
                           costs=tuple(sorted(costs, key=lambda c: c.key)),
                           worker_peak_mb=self.worker_peaks(), result=result, saved=saved)

    # -- grids -----------------------------------------------------------------------
    def grids(self, *, save: bool = True, **options: Any) -> BatchReport:
        """Plan the basic grids of every community, one station per task.

        ``options`` are those of :meth:`GridPlanning.generate
        <beatgrid.gis.grids.workflow.GridPlanning.generate>` (``min_households``,
        ``max_households``, ``target_households``, ``seed``, ``stable``,
        ``respect_locked``). With ``save`` the grids and ``buildings.grid_id`` are
        written in one transaction.
        """
        started, stages = time.perf_counter(), {}
        GridPlanning(self.project).band(**{k: options.get(k) for k in (
            "min_households", "max_households", "target_households")})   # checked first
        parts = self._partitions()
        layers = self.project.read(GRID_LAYERS)
        crs = self.project.store.crs()
        # every partition plans in the metric CRS one run chooses for the whole project
        # (a city may straddle two Gauss-Kruger zones; a partition alone would pick its own)
        metric = metric_crs(layers["communities"], layer="communities")
        client = self._require()
        jobs = []
        for part in parts:
            data = _put(client, _in_crs(grid_slices(layers, part), metric))
            jobs.append((part.key, grids_part, (self.project.config, part),
                         {"layers": data, "crs": crs, "options": options}))
        stages["prepare"] = time.perf_counter() - started
        t = time.perf_counter()
        done = self.run_tasks("grids", jobs)
        stages["compute"] = time.perf_counter() - t
        t = time.perf_counter()
        ordered = [done[p.key] for p in parts]
        ids = [c for p in parts for c in p.community_ids]
        result = merge_grids([d.result for d in ordered], layers, community_ids=ids)
        stages["merge"] = time.perf_counter() - t
        t = time.perf_counter()
        if save:
            self.project.write({"grids": result.layers.grids,
                                "buildings": result.layers.buildings})
        stages["write"] = time.perf_counter() - t
        return self._report("grids", parts, started, stages, [d.cost for d in ordered],
                            result, save)

    # -- coverage --------------------------------------------------------------------
    def coverage(self, *, profile: str | None = None, zones: str | None = None,
                 levels: bool = True, save: bool = True) -> BatchReport:
        """Camera coverage of every zone, one station (and its halo) per task.

        The same figures as :meth:`CoverageAnalysis.analyse
        <beatgrid.gis.coverage.workflow.CoverageAnalysis.analyse>`; with ``save`` the
        derived layers are written into the project.
        """
        started, stages = time.perf_counter(), {}
        config = self.project.config
        cfg = coverage_settings(config.coverage)
        prof = quality_profile(profile, settings=cfg)
        parts = self._partitions()
        cams = self.project.layer("cameras")
        halo = coverage_halo_m(cams, settings=cfg, profile=profile)
        zone_names = list(dict.fromkeys([*cfg["coverage"]["zone_layers"],
                                         *cfg["coverage"]["blind_spot_layers"]]))
        zone_layers = {n: self.project.layer(n) for n in zone_names if n in ZONE_TYPES}
        regions = np.asarray([p.region for p in parts], dtype=object)
        owner = {n: _owners(df, regions) for n, df in zone_layers.items()}
        # the metric CRS of one run: that of the first zone layer with zones (else cameras)
        ref = next((df for n, df in zone_layers.items()
                    if n in cfg["coverage"]["zone_layers"] and len(df)), cams)
        metric = metric_crs(ref if len(ref) else cams, layer="zones")
        # views are computed in the cameras' own metric CRS (of all of them), as one run does
        cam_metric = metric_crs(cams, layer="cameras") if len(cams) else metric
        cam_owner = _owners(cams, regions)
        client = self._require()
        jobs = []
        options = {"profile": profile, "zones": zones, "levels": levels}
        for i, part in enumerate(parts):
            mine = {n: df[owner[n] == i] for n, df in zone_layers.items()}
            near = cams[shapely.intersects(shapely.box(*part.bbox(halo_m=halo)),
                                           cams.geometry.values)] if len(cams) else cams
            own = [str(c) for c in cams["id"][cam_owner == i]]
            data = _put(client, {"zones": _in_crs(mine, metric),
                                 "cameras": _in_crs({"c": near}, cam_metric)["c"]})
            jobs.append((part.key, _coverage_job, (self.source, config, part, data),
                         {"own_cameras": own, "halo_m": halo,
                          "crs": self.project.store.crs(), "options": options}))
        stages["prepare"] = time.perf_counter() - started
        t = time.perf_counter()
        done = self.run_tasks("coverage", jobs)
        stages["compute"] = time.perf_counter() - t
        t = time.perf_counter()
        ordered = [done[p.key] for p in parts]
        zone_order = {(ZONE_TYPES[n], str(z)): k for k, (n, z) in enumerate(
            (n, z) for n in cfg["coverage"]["zone_layers"] if n in zone_layers
            for z in zone_layers[n]["id"])}
        layers = merge_coverage([d.views for d in ordered], [d.stats for d in ordered],
                                [d.blind_spots for d in ordered],
                                [d.estate_risk for d in ordered],
                                camera_order=[str(c) for c in cams["id"]],
                                zone_order=zone_order, levels=["all", *prof.levels],
                                weights=cfg["risk"]["weights"])
        layers = _restored(layers, zone_layers, crs=cams.crs)
        stages["merge"] = time.perf_counter() - t
        t = time.perf_counter()
        if save:
            self.project.store.write_derived(kept_views(layers))
        stages["write"] = time.perf_counter() - t
        return self._report("coverage", parts, started, stages, [d.cost for d in ordered],
                            layers, save)

    # -- staffing --------------------------------------------------------------------
    def staffing(self, *, period_days: float | None = None,
                 snap_m: float | None = None) -> BatchReport:
        """Staffing gaps of every beat, one station per task (nothing is written).

        The incidents are placed in the beats once for the whole project and the
        period they cover is inferred once from all of them, so every beat's figures
        are those of :meth:`Policing.assess
        <beatgrid.gis.policing.workflow.Policing.assess>`.
        """
        started, stages = time.perf_counter(), {}
        config = self.project.config
        parts = self._partitions()
        snap = float(config.policing["beats"]["incident_snap_m"] if snap_m is None else snap_m)
        incidents = self.project.layer("incidents")
        beats = resolve_beats({"beats": self.project.layer("beats"),
                               "communities": self.project.layer("communities")})[0]
        placed = place_incidents(incidents, beats, snap_m=snap).ids
        if period_days is None and not config.policy["workload"]["period_days"] \
                and len(incidents):
            period_days = float(infer_period_days(incidents["occurred_at"]))
        client = self._require()
        jobs = []
        for part in parts:
            data = _put(client, staffing_frames(self.project, part, incident_beat=placed))
            jobs.append((part.key, staffing_part, (self.source, config, part),
                         {"frames": data, "period_days": period_days,
                          "options": {"snap_m": snap_m}}))
        stages["prepare"] = time.perf_counter() - started
        t = time.perf_counter()
        done = self.run_tasks("staffing", jobs)
        stages["compute"] = time.perf_counter() - t
        t = time.perf_counter()
        ordered = [done[p.key] for p in parts]
        result = merge_staffing([d.result for d in ordered])
        stages["merge"] = time.perf_counter() - t
        return self._report("staffing", parts, started, stages, [d.cost for d in ordered],
                            result, False)

    def run(self, kind: str, **options: Any) -> BatchReport:
        """:meth:`grids`, :meth:`coverage` or :meth:`staffing` by name."""
        if kind not in KINDS:
            raise InputError(f"batch kind {kind!r} is not one of {', '.join(KINDS)}",
                             fix=f"use one of {', '.join(KINDS)}")
        method: Callable[..., BatchReport] = getattr(self, kind)
        return method(**options)


def _start_method() -> str:
    """``forkserver`` (preloading the batch tasks' libraries) where there is one, else
    ``spawn``."""
    if sys.platform != "linux" or "forkserver" not in mp.get_all_start_methods():
        return "spawn"
    mp.get_context("forkserver").set_forkserver_preload(
        ["distributed", "beatgrid.gis.batch.tasks"])
    return "forkserver"


def _put(client: Any, obj: Any) -> Any:
    """``obj`` sent to the cluster once, as one object (a future to pass to tasks).

    A dict is wrapped: ``scatter`` would send each value under its key as name, and
    the partitions' frames of the same layer would overwrite each other.
    """
    return client.scatter([obj], hash=False)[0]


def _coverage_job(source: Source, config: Any, part: Partition, data: Mapping[str, Any],
                  **kwargs: Any) -> Any:
    return coverage_part(source, config, part, zones=data["zones"], cameras=data["cameras"],
                         **kwargs)


def _in_crs(frames: Mapping[str, pd.DataFrame], crs: Any) -> dict[str, pd.DataFrame]:
    """Spatial frames reprojected to ``crs`` (row index kept; tables as they are)."""
    return {name: df.to_crs(crs) if isinstance(df, gpd.GeoDataFrame) and df.crs is not None
            else df for name, df in frames.items()}


def _restored(layers: Mapping[str, pd.DataFrame], zone_layers: Mapping[str, pd.DataFrame], *,
              crs: Any) -> dict[str, pd.DataFrame]:
    """The merged coverage layers in the project's CRS, as one run gives them: views and
    blind spots brought back from the metric CRS (as one run does), figures and risk on
    the zones' own polygons."""
    out = dict(layers)
    for name in ("camera_views", "blind_spots"):
        df = out[name]
        if isinstance(df, gpd.GeoDataFrame) and df.crs is not None and crs is not None:
            out[name] = df.to_crs(crs)
    own = {(ZONE_TYPES[n], str(z)): g for n, df in zone_layers.items()
           for z, g in zip(df["id"], df.geometry.values)}
    for name, key in (("coverage_stats", lambda d: zip(d["zone_type"], d["zone_id"])),
                      ("estate_risk", lambda d: (("estate", e) for e in d["estate_id"]))):
        df = out[name]
        if isinstance(df, gpd.GeoDataFrame) and len(df):
            geoms = [own.get((str(t), str(z))) for t, z in key(df)]
            out[name] = gpd.GeoDataFrame(df.drop(columns=df.geometry.name),
                                         geometry=gpd.GeoSeries(geoms, index=df.index, crs=crs),
                                         crs=crs)
    return out


def _owners(frame: pd.DataFrame, regions: np.ndarray) -> np.ndarray:
    """Index of the region owning each feature: the first holding its point on surface,
    else the nearest (-1 for an empty geometry)."""
    n = len(frame)
    out = np.full(n, -1, dtype=np.int64)
    if n == 0 or len(regions) == 0:
        return out
    geoms = frame.geometry.values
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    pts = shapely.point_on_surface(np.asarray(geoms, dtype=object)[ok])
    tree = shapely.STRtree(regions)
    pi, ri = tree.query(pts, predicate="intersects")
    got = np.full(len(pts), -1, dtype=np.int64)
    got[pi[::-1]] = ri[::-1]                      # the first region of each point
    lost = np.flatnonzero(got < 0)
    if len(lost):
        got[lost] = tree.query_nearest(pts[lost], return_distance=False, all_matches=False)[1]
    out[np.flatnonzero(ok)] = got
    return out
