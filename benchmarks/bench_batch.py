"""Benchmark: city-scale grids, coverage and staffing on dask, and national-scale coverage.

    nice .venv/bin/python benchmarks/bench_batch.py                       # 10,000,000 households
    .venv/bin/python benchmarks/bench_batch.py --households 1000000       # what fits a shared machine
    .venv/bin/python benchmarks/bench_batch.py --project /tmp/city.gpkg --json batch.json
    .venv/bin/python benchmarks/bench_batch.py --national                 # 70,000 cameras, 14M buildings
    .venv/bin/python benchmarks/bench_batch.py --national --fraction 0.25 --tile-km 10

**City** (the default):

1. *The city*: the sample generator at scale (``generate_district``: 10 households per
   building, 1 camera per 100, ~2,500 households per community, ~6 communities per
   station), written to a GeoPackage project (reused with ``--project`` when the file
   exists).
2. *Batch runs* (:class:`beatgrid.gis.batch.BatchRunner`, partitions of whole stations,
   4 per worker): grids (planned and written), coverage (views, figures, blind spots,
   risk; written as derived layers) and staffing, each on a fresh local cluster of 1 and
   of 2 worker processes (one thread each). Per run: wall seconds of each stage
   (``prepare``: reading and cutting the layers on the client; ``compute`` on the
   workers; ``merge`` and ``write`` on the client), CPU seconds of the tasks (summed over
   workers) and of the client process, the peak resident memory of each worker (and what
   an idle worker holds: the libraries), the load average, and the speed-up of 2 workers
   over 1.
3. *Estimates for 16 and 64 workers* from the measured per-partition costs: the runs cut
   the city into 4 and 8 partitions, so the sums of their task CPU seconds give a fixed
   cost per task ``a`` and the work ``W`` (``sum = tasks x a + W``); on ``w`` workers the
   ``4 w`` tasks (at most one per station) take ``ceil(tasks / w) x (a + W / tasks)``,
   plus the client's CPU seconds as measured (reading, merging and writing one file do
   not shrink with workers). An estimate, not a measurement: workers as fast as one
   core of this machine, even partitions, a client not slowed by them.

**National** (``--national``): :func:`beatgrid.gis.batch.national_views` on a
:class:`~beatgrid.gis.batch.SyntheticCountry` of 14,000,000 buildings and 70,000 cameras
in 1 km cells, by square tiles of ``--tile-km`` km. No GeoPackage is built (writing 14M
footprints would take longer than the run): each worker generates its tile's cameras and
the buildings of its cells plus the neighbouring cells within the halo, computes the
exact occlusion of the coverage code for its cameras among the buildings within their
reach, and returns a one-row summary. Per run: wall and CPU seconds (generation and
occlusion apart), peak memory per worker against the largest tile, and the makespan on
16 and 64 workers from the per-tile CPU seconds (longest first: an estimate). With
``--fraction f`` only the tiles of the south holding about ``f`` of the buildings run, and
the whole country is extrapolated linearly from them (stated as such).

Figures are printed as Markdown tables (and written as JSON with ``--json``).
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from beatgrid.gis import Project
from beatgrid.gis.batch import (BatchRunner, MemoryStore, Source, SyntheticCountry, makespan,
                                national_views)
from beatgrid.gis.batch.synthetic import NATIONAL_BUILDINGS, NATIONAL_CAMERAS
from beatgrid.gis.batch.tasks import peak_rss_mb
from beatgrid.gis.io.store import open_store
from beatgrid.gis.workspace import Workspace

KINDS = ("grids", "coverage", "staffing")
#: The issue's reference: an open-source viewshed tool, France's 69,000 cameras, 78 min on
#: 8 cores (15-63 rays per camera).
REFERENCE = {"cameras": 69_000, "minutes": 78.0, "cores": 8}


def load() -> float:
    """The one-minute load average."""
    return os.getloadavg()[0]


def make_city(path: Path, households: int, seed: int) -> dict:
    """Generate the district and write it (skipped when ``path`` exists)."""
    if path.exists():
        p = Project.open(path)
        info = p.info().set_index("layer")["features"].to_dict()
        return {"reused": True, "features": info}
    from beatgrid.gis.sample import generate_district

    t0, c0 = time.perf_counter(), time.process_time()
    layers = generate_district(households=households, seed=seed)
    t1, c1 = time.perf_counter(), time.process_time()
    store = open_store(path)
    store.write_layers(layers, validate=False, meta={"source": f"bench_batch seed={seed}"})
    t2, c2 = time.perf_counter(), time.process_time()
    return {"reused": False, "generate_s": t1 - t0, "generate_cpu": c1 - c0,
            "write_s": t2 - t1, "write_cpu": c2 - c1, "load_avg": load(),
            "features": {k: int(len(v)) for k, v in layers.items()}}


def run_once(path: Path, kind: str, workers: int) -> dict:
    """One batch run on a fresh local cluster of ``workers`` processes."""
    project = Project.open(path)
    t0 = time.perf_counter()
    with BatchRunner(project, source=Source(str(path)), workers=workers,
                     progress=False) as runner:
        started = time.perf_counter() - t0
        idle = max(runner.worker_peaks().values())
        c0 = time.process_time()
        report = runner.run(kind)
        client_cpu = time.process_time() - c0
    costs = [{"key": c.key, "seconds": c.seconds, "cpu": c.cpu_seconds, "peak_mb": c.peak_mb,
              **c.size} for c in report.costs]
    return {"kind": kind, "workers": workers, "seconds": report.seconds,
            "cluster_start_s": started, "stages": dict(report.stages),
            "partitions": report.partitions, "client_cpu": client_cpu,
            "worker_peak_mb": max(report.worker_peak_mb.values()), "worker_idle_mb": idle,
            "load_avg": load(), "client_peak_mb": peak_rss_mb(), "costs": costs}


def cost_model(runs: list[dict]) -> tuple[float, float]:
    """(CPU seconds per task, CPU seconds of work in all) from runs cut into different
    numbers of partitions: the sum of task CPU seconds is ``tasks x a + W`` in each."""
    pts = sorted({(len(r["costs"]), sum(c["cpu"] for c in r["costs"])) for r in runs})
    if len(pts) < 2 or pts[0][0] == pts[-1][0]:
        return 0.0, pts[0][1]
    (n1, t1), (n2, t2) = pts[0], pts[-1]
    a = max(0.0, (t2 - t1) / (n2 - n1))
    return a, max(t1 - n1 * a, 0.0)


def estimate(runs: list[dict], workers: int, stations: int) -> float:
    """Seconds on ``workers`` workers (:func:`cost_model`; the client's CPU seconds, the
    smallest measured, added)."""
    a, work = cost_model(runs)
    client = min(r["client_cpu"] for r in runs)
    tasks = max(1, min(4 * workers, stations))
    return client + -(-tasks // workers) * (a + work / tasks)


def city(args: argparse.Namespace) -> dict:
    path = args.project or Path(os.environ.get("TMPDIR", "/tmp")) / \
        f"bench-batch-{args.households}-{args.seed}.gpkg"
    made = make_city(path, args.households, args.seed)
    f = made["features"]
    print(f"# Batch benchmark: {args.households:,} households "
          f"({f.get('buildings', 0):,} buildings, {f.get('cameras', 0):,} cameras, "
          f"{f.get('communities', 0):,} communities, {f.get('stations', 0):,} stations)\n")
    if not made["reused"]:
        print(f"generated in {made['generate_s']:.0f} s ({made['generate_cpu']:.0f} s CPU), "
              f"written in {made['write_s']:.0f} s ({made['write_cpu']:.0f} s CPU) to {path} "
              f"({path.stat().st_size / 1e6:,.0f} MB); load average {made['load_avg']:.1f}\n")
    runs = []
    kinds = args.kinds.split(",")
    for kind in kinds:
        for w in (int(x) for x in args.workers.split(",")):
            run = run_once(path, kind, w)
            runs.append(run)
            st = run["stages"]
            print(f"{kind} on {w} worker(s): {run['seconds']:.0f} s (prepare "
                  f"{st.get('prepare', 0):.0f}, compute {st.get('compute', 0):.0f}, merge "
                  f"{st.get('merge', 0):.0f}, write {st.get('write', 0):.0f}); task CPU "
                  f"{sum(c['cpu'] for c in run['costs']):,.0f} s, client CPU "
                  f"{run['client_cpu']:,.0f} s; peak memory {run['worker_peak_mb']:,.0f} MB "
                  f"per worker (idle {run['worker_idle_mb']:,.0f} MB), client "
                  f"{run['client_peak_mb']:,.0f} MB; load average {run['load_avg']:.1f}",
                  flush=True)
    print("\n| run | workers | partitions | wall s | compute wall s | task CPU s | client CPU s "
          "| speed-up (wall / compute / CPU) | peak MB per worker | estimate 16 workers s | "
          "estimate 64 workers s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    out: dict[str, Any] = {"households": args.households, "city": made, "runs": runs}
    stations = int(f.get("stations", 1))
    for kind in kinds:
        mine = [r for r in runs if r["kind"] == kind]
        one = next((r for r in mine if r["workers"] == 1), mine[0])
        for r in mine:
            sp_total = one["seconds"] / r["seconds"]
            sp_comp = one["stages"]["compute"] / max(r["stages"]["compute"], 1e-9)
            # load-independent: the 1-worker run's task CPU over the makespan of this
            # run's task CPU seconds on its workers
            sp_cpu = sum(c["cpu"] for c in one["costs"]) / max(
                makespan([c["cpu"] for c in r["costs"]], r["workers"]), 1e-9)
            est = (f"{estimate(mine, 16, stations):,.0f} | {estimate(mine, 64, stations):,.0f}"
                   if r is one else " | ")
            print(f"| {kind} | {r['workers']} | {r['partitions']} | {r['seconds']:,.0f} | "
                  f"{r['stages']['compute']:,.0f} | {sum(c['cpu'] for c in r['costs']):,.0f} | "
                  f"{r['client_cpu']:,.0f} | {sp_total:.2f} / {sp_comp:.2f} / {sp_cpu:.2f} | "
                  f"{r['worker_peak_mb']:,.0f} | {est} |")
        a, work = cost_model(mine)
        out[f"{kind}_model"] = {"cpu_per_task": a, "work_cpu": work,
                                "estimate_16": estimate(mine, 16, stations),
                                "estimate_64": estimate(mine, 64, stations)}
        print(f"| {kind}: cost model | | | | | {a:.1f} s per task + {work:,.0f} s of work | | "
              "| | (estimate) | (estimate) |")
    return out


def national(args: argparse.Namespace) -> dict:
    t0 = time.perf_counter()
    country = SyntheticCountry.create(buildings=args.buildings, cameras=args.cameras,
                                      seed=args.seed)
    rows, cols = country.building_counts.shape
    print(f"# National-scale coverage: {args.buildings:,} buildings, {args.cameras:,} cameras "
          f"in {rows} x {cols} km ({int((country.building_counts > 0).sum()):,} inhabited "
          f"cells; counts drawn in {time.perf_counter() - t0:.1f} s), tiles of "
          f"{args.tile_km:g} km, fraction {args.fraction:g}\n")
    ws = Workspace(MemoryStore({}, crs=country.crs, label="synthetic country"))
    out: dict[str, Any] = {"buildings": args.buildings, "cameras": args.cameras,
                           "tile_km": args.tile_km, "fraction": args.fraction, "runs": []}
    for w in (int(x) for x in args.workers.split(",")):
        with BatchRunner(ws, source=Source("synthetic"), workers=w,
                         progress=not args.no_progress) as runner:
            idle = max(runner.worker_peaks().values())
            c0 = time.process_time()
            rep = national_views(runner, country, size_m=args.tile_km * 1000,
                                 fraction=args.fraction)
            client_cpu = time.process_time() - c0
        tiles = rep.result["tiles"]
        cpu = np.array([c.cpu_seconds for c in rep.costs])
        done_b, done_c = int(tiles["buildings_own"].sum()), int(tiles["cameras"].sum())
        scale = args.buildings / max(done_b, 1)
        biggest = tiles.sort_values("buildings_read").iloc[-1]
        run = {"workers": w, "tiles": rep.partitions, "seconds": rep.seconds,
               "task_cpu": float(cpu.sum()), "client_cpu": client_cpu,
               "generate_s": float(tiles["generate_s"].sum()),
               "generate_cpu": float(tiles["generate_cpu"].sum()),
               "occlusion_cpu": float(tiles["cpu_seconds"].sum()),
               "buildings": done_b, "cameras": done_c,
               "buildings_in_reach": int(tiles["buildings_in_reach"].sum()),
               "view_area_km2": float(tiles["view_area_m2"].sum() / 1e6),
               "statuses": {s: int(tiles[f"status_{s}"].sum()) for s in
                            ("ok", "moved", "indoor", "blocked")},
               "worker_peak_mb": max(rep.worker_peak_mb.values()), "worker_idle_mb": idle,
               "largest_tile": {"tile": biggest["tile"], "buildings_read":
                                int(biggest["buildings_read"]), "cameras": int(biggest["cameras"])},
               "load_avg": load(), "scale_to_country": scale,
               "estimate_16": makespan(list(cpu * scale), 16) if scale > 1.0001
               else makespan(list(cpu), 16),
               "estimate_64": makespan(list(cpu * scale), 64) if scale > 1.0001
               else makespan(list(cpu), 64)}
        out["runs"].append(run)
        print(f"{w} worker(s): {rep.partitions:,} tiles, {done_b:,} buildings, {done_c:,} "
              f"cameras in {rep.seconds:,.0f} s wall (load average {run['load_avg']:.1f}); "
              f"task CPU {run['task_cpu']:,.0f} s (generation {run['generate_cpu']:,.0f} s, "
              f"occlusion CPU {run['occlusion_cpu']:,.0f} s), client CPU {client_cpu:,.1f} s; "
              f"peak memory {run['worker_peak_mb']:,.0f} MB per worker (idle {idle:,.0f} MB; "
              f"largest tile {run['largest_tile']['buildings_read']:,} buildings read); "
              f"{run['buildings_in_reach']:,} buildings within reach of a camera; views "
              f"{run['view_area_km2']:,.1f} km2; statuses {run['statuses']}", flush=True)
        if scale > 1.0001:
            print(f"  EXTRAPOLATED linearly to the whole country (x{scale:.2f}): "
                  f"{rep.seconds * scale:,.0f} s wall at this load, "
                  f"{run['task_cpu'] * scale:,.0f} s of task CPU "
                  f"(~{run['task_cpu'] * scale / w / 60:,.1f} min on {w} free core(s))")
    ref_core_min = REFERENCE["minutes"] * REFERENCE["cores"]
    for run in out["runs"]:
        ours = run["task_cpu"] * run["scale_to_country"] / 60
        print(f"\nReference (issue 14): {REFERENCE['cameras']:,} cameras in "
              f"{REFERENCE['minutes']:g} min on {REFERENCE['cores']} cores = {ref_core_min:,.0f} "
              f"core-minutes, sampled rays; here {ours:,.1f} core-minutes for "
              f"{args.cameras:,} cameras, exact occlusion, buildings generated included. "
              f"Estimate (makespan of the per-tile CPU seconds): "
              f"{run['estimate_16']:,.0f} s on 16 workers, {run['estimate_64']:,.0f} s on 64.")
        break
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--households", type=int, default=10_000_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", default=None, help="local worker counts (default 1,2; "
                                                    "--national: 2)")
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--project", type=Path,
                    help="the city's GeoPackage (generated when missing; default a temp file)")
    ap.add_argument("--national", action="store_true",
                    help="national-scale coverage on a generated country instead")
    ap.add_argument("--buildings", type=int, default=NATIONAL_BUILDINGS)
    ap.add_argument("--cameras", type=int, default=NATIONAL_CAMERAS)
    ap.add_argument("--tile-km", type=float, default=10.0)
    ap.add_argument("--fraction", type=float, default=1.0)
    ap.add_argument("--no-progress", action="store_true")
    ap.add_argument("--json", type=Path, help="write the figures as JSON")
    args = ap.parse_args()
    args.workers = args.workers or ("2" if args.national else "1,2")
    # the store warns about each grid polygon it repairs on writing: not news here
    warnings.filterwarnings("ignore", category=UserWarning)
    print(f"(2-core machine shared with other jobs: CPU {psutil.cpu_count()} logical, load "
          f"average {load():.1f} at start)\n")
    out = national(args) if args.national else city(args)
    if args.json:
        args.json.write_text(json.dumps(out, indent=1, default=float), encoding="utf-8")


if __name__ == "__main__":
    main()
