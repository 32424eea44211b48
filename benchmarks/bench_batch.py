"""Benchmark: city-scale grids, coverage and staffing on dask (``beatgrid batch``).

    nice .venv/bin/python benchmarks/bench_batch.py                       # 10,000,000 households
    .venv/bin/python benchmarks/bench_batch.py --households 200000        # minutes, not an hour
    .venv/bin/python benchmarks/bench_batch.py --project /tmp/city.gpkg --json batch.json

1. **The city**: the sample generator at scale (``generate_district``: 10,000,000
   households are about 1,000,000 buildings, 100,000 cameras, 4,000 communities in 670
   police stations), written to a GeoPackage project (reused with ``--project`` when the
   file exists).
2. **Batch runs** (:class:`beatgrid.gis.batch.BatchRunner`, one task per station): grids
   (planned and written), coverage (views, figures, blind spots, risk; written as derived
   layers) and staffing, each on a fresh local cluster of 1 and of 2 workers (forked
   processes, one thread each). Per run: the wall time of each stage (``prepare`` on the
   client: reading and cutting the layers; ``compute`` on the workers; ``merge`` and
   ``write`` on the client), the peak resident memory of each worker process and of the
   client, and the speed-up of 2 workers over 1.
3. **Estimates for 16 and 64 workers**, from the measured per-partition costs: the 1- and
   2-worker runs cut the city into 4 and 8 partitions (4 per worker), so the sums of
   their task seconds give a fixed cost per task ``a`` and the work ``W`` itself
   (``sum = tasks x a + W``); on W workers the 4 x W tasks take
   ``ceil(tasks / W) x (a + W / tasks)``, plus the client's stages as measured (they do
   not shrink with workers). An estimate, not a measurement: it assumes workers as fast
   as this machine's, perfectly even partitions and a client whose reading and writing
   (one GeoPackage file) is not slowed by them.
4. **National-scale coverage** (70,000 cameras among 14,000,000 buildings) cannot be
   generated here (the sample generator gives ~10 buildings and 0.1 camera per 10
   households); it is extrapolated from the measured coverage tasks: a least-squares fit
   of task seconds on the task's cameras and buildings (halo included), applied to tiles
   of the same size as the stations measured, plus the client's stages scaled by the
   number of features. Stated as an extrapolation.

Figures are printed as Markdown tables (and written as JSON with ``--json``).
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from pathlib import Path

import numpy as np
import psutil

from beatgrid.gis import Project
from beatgrid.gis.batch import BatchRunner, Source, makespan
from beatgrid.gis.batch.tasks import peak_rss_mb
from beatgrid.gis.io.store import open_store

KINDS = ("grids", "coverage", "staffing")
#: The national case of the issue.
NATIONAL = {"cameras": 70_000, "buildings": 14_000_000}


def make_city(path: Path, households: int, seed: int) -> dict:
    """Generate the district and write it (skipped when ``path`` exists)."""
    if path.exists():
        p = Project.open(path)
        info = p.info().set_index("layer")["features"].to_dict()
        return {"reused": True, "features": info}
    from beatgrid.gis.sample import generate_district

    t0 = time.perf_counter()
    layers = generate_district(households=households, seed=seed)
    t1 = time.perf_counter()
    store = open_store(path)
    store.write_layers(layers, validate=False, meta={"source": f"bench_batch seed={seed}"})
    t2 = time.perf_counter()
    return {"reused": False, "generate_s": t1 - t0, "write_s": t2 - t1,
            "features": {k: int(len(v)) for k, v in layers.items()}}


def run_once(path: Path, kind: str, workers: int) -> dict:
    """One batch run on a fresh local cluster of ``workers`` processes."""
    project = Project.open(path)
    inherited = psutil.Process().memory_info().rss / 1e6   # forked workers start with it
    t0 = time.perf_counter()
    with BatchRunner(project, source=Source(str(path)), workers=workers,
                     progress=False) as runner:
        started = time.perf_counter() - t0
        report = runner.run(kind)
    costs = [{"key": c.key, "seconds": c.seconds, "cpu": c.cpu_seconds, "peak_mb": c.peak_mb,
              **c.size} for c in report.costs]
    return {"kind": kind, "workers": workers, "seconds": report.seconds,
            "cluster_start_s": started, "stages": dict(report.stages),
            "partitions": report.partitions,
            "worker_peak_mb": max(report.worker_peak_mb.values()),
            "inherited_mb": inherited, "load_avg": os.getloadavg(),
            "client_peak_mb": peak_rss_mb(), "costs": costs}


def cost_model(runs: list[dict]) -> tuple[float, float]:
    """(seconds per task, seconds of work in all) from two runs cut into different numbers
    of partitions: the sum of task seconds is ``tasks x a + W`` in both."""
    pts = sorted({(len(r["costs"]), sum(c.get("cpu") or c["seconds"] for c in r["costs"]))
                  for r in runs})
    if len(pts) < 2 or pts[0][0] == pts[-1][0]:
        n, total = pts[0]
        return 0.0, total
    (n1, t1), (n2, t2) = pts[0], pts[-1]
    a = max(0.0, (t2 - t1) / (n2 - n1))
    return a, max(t1 - n1 * a, 0.0)


def estimate(runs: list[dict], workers: int, stations: int) -> float:
    """Seconds on ``workers`` workers: the client's stages as measured (the smallest of
    the runs) + the compute stage of ``4 x workers`` tasks (at most one per station), each
    ``a + W / tasks`` (:func:`cost_model`), ``ceil(tasks / workers)`` of them per worker."""
    a, work = cost_model(runs)
    serial = min(sum(v for k, v in r["stages"].items() if k != "compute") for r in runs)
    tasks = max(1, min(4 * workers, stations))
    return serial + -(-tasks // workers) * (a + work / tasks)


def national(coverage_run: dict, features: dict) -> dict:
    """Extrapolate the coverage to :data:`NATIONAL` from the measured tasks.

    Task seconds are fitted as ``a x cameras + b x buildings + c`` over the tasks (their
    halo included); the national tasks hold the national features times the halo
    duplication measured here, in tiles of the mean measured size.
    """
    costs = coverage_run["costs"]
    cams = np.array([c.get("cameras", 0) for c in costs], dtype=float)
    blds = np.array([c.get("buildings", 0) for c in costs], dtype=float)
    secs = np.array([c.get("cpu") or c["seconds"] for c in costs], dtype=float)
    design = np.column_stack([cams, blds, np.ones(len(costs))])
    coef, *_ = np.linalg.lstsq(design, secs, rcond=None)
    coef = np.maximum(coef, 0)
    per_cam, per_bld, per_task = (float(v) for v in coef)
    cam_dup = cams.sum() / max(features.get("cameras", 1), 1)     # halo duplication
    bld_dup = blds.sum() / max(features.get("buildings", 1), 1)
    tiles = NATIONAL["buildings"] * bld_dup / max(float(blds.mean()), 1.0)
    task_total = (per_cam * NATIONAL["cameras"] * cam_dup
                  + per_bld * NATIONAL["buildings"] * bld_dup + per_task * tiles)
    # the client reads the cameras and the zones and writes the views (a few per camera):
    # its stages scale with the cameras
    scale = NATIONAL["cameras"] / max(features.get("cameras", 1), 1)
    serial = sum(v for k, v in coverage_run["stages"].items() if k != "compute") * scale
    fitted = design @ coef
    r2 = 1 - ((fitted - secs) ** 2).sum() / max(((secs - secs.mean()) ** 2).sum(), 1e-12)
    return {"per_camera_s": per_cam, "per_building_s": per_bld, "per_task_s": per_task,
            "camera_halo_factor": cam_dup, "building_halo_factor": bld_dup, "tiles": tiles,
            "task_seconds_total": task_total, "client_stages_s": serial,
            "on_2_cores_s": serial + task_total / 2, "fit_r2": float(r2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--households", type=int, default=10_000_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", default="1,2", help="local worker counts (default 1,2)")
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--project", type=Path,
                    help="the city's GeoPackage (generated when missing; default a temp file)")
    ap.add_argument("--json", type=Path, help="write the figures as JSON")
    args = ap.parse_args()
    # the store warns about each grid polygon it repairs on writing: not news here
    warnings.filterwarnings("ignore", category=UserWarning)
    path = args.project or Path(os.environ.get("TMPDIR", "/tmp")) / \
        f"bench-batch-{args.households}-{args.seed}.gpkg"
    city = make_city(path, args.households, args.seed)
    f = city["features"]
    print(f"# Batch benchmark: {args.households:,} households "
          f"({f.get('buildings', 0):,} buildings, {f.get('cameras', 0):,} cameras, "
          f"{f.get('communities', 0):,} communities, {f.get('stations', 0):,} stations)\n")
    if not city["reused"]:
        print(f"generated in {city['generate_s']:.0f} s, written in {city['write_s']:.0f} s "
              f"to {path} ({path.stat().st_size / 1e6:,.0f} MB)\n")
    runs = []
    for kind in args.kinds.split(","):
        for w in (int(x) for x in args.workers.split(",")):
            run = run_once(path, kind, w)
            runs.append(run)
            st = run["stages"]
            print(f"{kind} on {w} worker(s): {run['seconds']:.0f} s (prepare "
                  f"{st.get('prepare', 0):.0f}, compute {st.get('compute', 0):.0f}, merge "
                  f"{st.get('merge', 0):.0f}, write {st.get('write', 0):.0f}); peak memory "
                  f"{run['worker_peak_mb']:,.0f} MB per worker ({run['inherited_mb']:,.0f} MB of "
                  f"it the client's at fork), client {run['client_peak_mb']:,.0f} MB; task CPU "
                  f"{sum(c['cpu'] for c in run['costs']):,.0f} s; load average "
                  f"{run['load_avg'][0]:.1f}", flush=True)
    print("\n| run | workers | partitions | total s | compute s | speed-up (total / compute) "
          "| peak MB per worker | estimate 16 workers s | estimate 64 workers s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    out = {"households": args.households, "city": city, "runs": runs}
    for kind in args.kinds.split(","):
        mine = [r for r in runs if r["kind"] == kind]
        one = next((r for r in mine if r["workers"] == 1), mine[0])
        for r in mine:
            sp_total = one["seconds"] / r["seconds"]
            sp_comp = one["stages"]["compute"] / max(r["stages"]["compute"], 1e-9)
            stations = int(city["features"].get("stations", 1))
            est = (f"{estimate(mine, 16, stations):,.0f} | {estimate(mine, 64, stations):,.0f}"
                   if r is one else "  |  ")
            print(f"| {kind} | {r['workers']} | {r['partitions']} | {r['seconds']:,.0f} | "
                  f"{r['stages']['compute']:,.0f} | {sp_total:.2f} / {sp_comp:.2f} | "
                  f"{r['worker_peak_mb']:,.0f} | {est} |")
        stations = int(city["features"].get("stations", 1))
        a, work = cost_model(mine)
        out[f"{kind}_model"] = {"seconds_per_task": a, "work_seconds": work}
        out[f"{kind}_estimate_16"] = estimate(mine, 16, stations)
        out[f"{kind}_estimate_64"] = estimate(mine, 64, stations)
        print(f"| {kind}: cost model | | | | | {a:.1f} s per task + {work:,.0f} s of work | "
              f"| (estimate) | (estimate) |")
    covs = [r for r in runs if r["kind"] == "coverage"]
    if covs:
        cov = dict(covs[0], costs=[c for r in covs for c in r["costs"]])
        nat = national(cov, f)
        out["national"] = nat
        print(f"\nNational-scale coverage, EXTRAPOLATED (not measured): "
              f"{NATIONAL['cameras']:,} cameras among {NATIONAL['buildings']:,} buildings in "
              f"~{nat['tiles']:,.0f} station-sized tiles: {nat['task_seconds_total']:,.0f} s "
              f"of tasks (fit: {1e3 * nat['per_camera_s']:.2f} ms per camera, "
              f"{1e6 * nat['per_building_s']:.1f} us per building, "
              f"{1e3 * nat['per_task_s']:.0f} ms per task; R2 {nat['fit_r2']:.2f}) + "
              f"{nat['client_stages_s']:,.0f} s on the client = ~{nat['on_2_cores_s'] / 60:,.1f} "
              "min on this 2-core machine")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1, default=float), encoding="utf-8")


if __name__ == "__main__":
    main()
