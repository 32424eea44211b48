"""Benchmark: editing grid plans over HTTP, alone and with 8 planners at once (issue 11).

Two sections, each against a real ``beatgrid serve`` (uvicorn, one process) on a free
port, on the project file and, when ``BEATGRID_TEST_PG_URL`` is set, on PostGIS:

``round-trip``  one planner on a community of ``--buildings`` (10,000) buildings (the
                one-big-community generator of the grid tests): a draft from an
                assignment CSV, then ``--moves`` moves of one border unit into the
                neighbouring grid and back. Each is ``POST /plans/{id}/move`` with
                ``If-Match``: the move, the re-check of the touched grids and the recorded
                step (one row in the store, under the project lock). Target: p95 <= 100 ms.
``planners``    8 planners (threads, each with its own keep-alive client) editing plans of
                8 communities of the sample at once for ``--duration`` (30) seconds.
                Reported: moves per second, p50/p95, conflicts, and whether every
                answered move is a recorded step (no lost step).

Usage::

    .venv/bin/python benchmarks/bench_editing.py                 # both sections
    .venv/bin/python benchmarks/bench_editing.py --buildings 2000 --moves 50 --duration 5
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from grid_fixtures import big_community  # noqa: E402  (the generator of the grid tests)

from beatgrid.gis import Project  # noqa: E402
from beatgrid.gis.project import SAMPLE_PATH  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``beatgrid serve`` in a subprocess, stopped on exit."""

    def __init__(self, target: str, schema: str | None = None) -> None:
        self.port = free_port()
        where = ["--database-url", target, "--schema", schema] if schema else ["--project", target]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "beatgrid.api.cli", "serve", *where, "--port", str(self.port),
             "--auth", "local"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.3)
        raise RuntimeError("the server did not start")

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def binned_assignment(project: Project, community_id: str, households: int = 400) -> str:
    """An assignment CSV putting buildings into square bins of about ``households``."""
    bld = project.layer("buildings").to_crs(3857)
    bld = bld[bld["community_id"] == community_id]
    xy = np.c_[bld.geometry.centroid.x, bld.geometry.centroid.y]
    total = float(bld["households"].sum())
    span = xy.max(axis=0) - xy.min(axis=0)
    bins = max(1, int(round(np.sqrt(total / households))))
    cell = (xy - xy.min(axis=0)) // (span / bins + 1e-9)
    grid = [f"{community_id}-B{int(a):02d}{int(b):02d}" for a, b in cell]
    return pd.DataFrame({"building_id": bld["id"], "grid_id": grid}).to_csv(index=False)


def border_moves(client: httpx.Client, base: str, plan_id: int, count: int) -> list[tuple[int, str]]:
    """Units on a grid border and the neighbouring grid to move each into."""
    units = client.get(f"{base}/plans/{plan_id}/units").json()["features"]
    import shapely

    geoms = [shapely.geometry.shape(f["geometry"]) for f in units]
    grid = [f["properties"]["grid_id"] for f in units]
    tree = shapely.STRtree(geoms)
    out: list[tuple[int, str]] = []
    for i, g in enumerate(geoms):
        for j in tree.query(g, predicate="touches"):
            if grid[j] != grid[i] and grid[j] is not None and grid[i] is not None:
                out.append((i, grid[j]))
                break
        if len(out) >= count:
            break
    return out


def round_trip(base: str, csv: str, community_id: str, moves: int) -> dict[str, Any]:
    """p50/p95 of move round trips on one plan (there and back again)."""
    with httpx.Client(timeout=60) as client:
        plan = client.post(f"{base}/plans/import", json={"community_id": community_id,
                                                          "csv": csv})
        plan.raise_for_status()
        plan_id, etag = plan.json()["id"], plan.headers["ETag"]
        grid_of = {t["grid_id"]: t for t in plan.json()["totals"]}
        pairs = border_moves(client, base, plan_id, max(1, moves // 2))
        units = client.get(f"{base}/plans/{plan_id}/units").json()["features"]
        home = {i: units[i]["properties"]["grid_id"] for i, _ in pairs}
        times = []
        for k in range(moves):
            unit, there = pairs[(k // 2) % len(pairs)]
            target = there if k % 2 == 0 else home[unit]
            t0 = time.perf_counter()
            r = client.post(f"{base}/plans/{plan_id}/move", json={"to_grid": target,
                                                                    "units": [unit]},
                            headers={"If-Match": etag})
            times.append(time.perf_counter() - t0)
            r.raise_for_status()
            etag = r.headers["ETag"]
        steps = client.get(f"{base}/plans/{plan_id}/steps").json()
    ms = np.array(times) * 1000
    return {"grids": len(grid_of), "moves": moves, "p50_ms": float(np.percentile(ms, 50)),
            "p95_ms": float(np.percentile(ms, 95)), "max_ms": float(ms.max()),
            "steps_recorded": sum(1 for s in steps if s["kind"] == "move")}


def planners(base: str, communities: list[str], duration: float) -> dict[str, Any]:
    """8 planners moving units in 8 plans at once; every answered move must be a step."""
    with httpx.Client(timeout=60) as c:
        plans = [c.post(f"{base}/plans", json={"community_id": cid, "source": "generate"}).json()
                 for cid in communities]
    latencies: list[float] = []
    done = {p["id"]: 0 for p in plans}
    errors: list[str] = []
    lock = threading.Lock()
    stop = time.monotonic() + duration

    def work(plan: dict[str, Any]) -> None:
        grids = [t["grid_id"] for t in plan["totals"]]
        version = plan["version"]
        with httpx.Client(timeout=60) as client:
            units = client.get(f"{base}/plans/{plan['id']}/units").json()["features"]
            own = [i for i, f in enumerate(units) if f["properties"]["grid_id"] == grids[0]]
            k = 0
            while time.monotonic() < stop:
                unit = own[k % len(own)]
                target = grids[1] if (k // len(own)) % 2 == 0 else grids[0]
                t0 = time.perf_counter()
                r = client.post(f"{base}/plans/{plan['id']}/move",
                                json={"to_grid": target, "units": [unit], "version": version})
                with lock:
                    latencies.append(time.perf_counter() - t0)
                if r.status_code != 200:
                    errors.append(f"{r.status_code} {r.text[:80]}")
                    return
                version = r.json()["version"]
                done[plan["id"]] += 1
                k += 1

    threads = [threading.Thread(target=work, args=(p,)) for p in plans]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - t0
    with httpx.Client(timeout=60) as c:
        recorded = {pid: sum(1 for s in c.get(f"{base}/plans/{pid}/steps").json()
                             if s["kind"] == "move") for pid in done}
    ms = np.array(latencies) * 1000
    return {"planners": len(plans), "seconds": round(wall, 1), "moves": sum(done.values()),
            "moves_per_s": round(sum(done.values()) / wall, 1),
            "p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95)),
            "errors": len(errors), "lost_steps": sum(done[p] - recorded[p] for p in done)}


def stores(path: Path) -> list[tuple[str, str, str | None]]:
    """(label, target, schema) of each store to run on."""
    out: list[tuple[str, str, str | None]] = [("gpkg", str(path), None)]
    url = os.environ.get("BEATGRID_TEST_PG_URL")
    if url:
        from beatgrid.gis.io.postgis import copy_project_to_postgis

        schema = f"bench_{os.getpid()}_{path.stem}"
        copy_project_to_postgis(path, url, schema=schema)
        out.append(("postgis", url, schema))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buildings", type=int, default=10_000)
    parser.add_argument("--moves", type=int, default=200)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--sections", nargs="+", default=["round-trip", "planners"])
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-editing-"))
    rows = []
    try:
        if "round-trip" in args.sections:
            big = Project.open(work / "big.gpkg", create=True)
            big.write(big_community(buildings=args.buildings, seed=1))
            csv = binned_assignment(big, "C000")
            for label, target, schema in stores(work / "big.gpkg"):
                with Server(target, schema) as server:
                    row = round_trip(server.url, csv, "C000", args.moves)
                rows.append({"section": "round-trip", "store": label,
                             "buildings": args.buildings, **row})
                print(rows[-1], flush=True)
        if "planners" in args.sections:
            sample = work / "sample.gpkg"
            shutil.copyfile(SAMPLE_PATH, sample)
            comms = sorted(Project.open(sample).layer("communities")["id"])[:8]
            for label, target, schema in stores(sample):
                with Server(target, schema) as server:
                    row = planners(server.url, comms, args.duration)
                rows.append({"section": "planners", "store": label, **row})
                print(rows[-1], flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(pd.DataFrame(rows).to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
