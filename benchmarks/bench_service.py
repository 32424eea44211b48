"""Benchmark: the HTTP service under concurrent load, against a real uvicorn server.

Issue #12, the read half: how fast the service answers map reads, on the file store and
(when ``BEATGRID_TEST_PG_URL`` is set) on PostGIS, with the old read path beside the new
one in the same run. Each section is a function (``SECTIONS``) taking the running
servers and giving rows of the table; a section added later (an edit round trip) is one
more function in that list.

Sections:

``layers``  ``GET /layers/buildings?bbox=...`` (166 buildings on the committed sample):
            **baseline** = the old path (the store reads and conforms the box, then the
            frame is rendered to GeoJSON: what the route did before the read cache; served
            by the benchmark's own route ``/bench/baseline/layers/{name}``) vs **new** = the
            route as it is (cached, indexed reader, features rendered once per state);
``items``   ``GET /collections/buildings/items?bbox=...&limit=1000`` (OGC API - Features);
``tiles``   ``GET /collections/{buildings,estates,communities}/tiles/WebMercatorQuad/z/x/y``
            over the district, z14 to z17: **cold** (each tile once, as a first visit
            makes them; the tile cache off) and **warm** (cycling, served from the cache).

The load is ``--connections`` concurrent clients (asyncio + httpx, keep-alive) for
``--duration`` seconds per row after a short warm-up; each row gives requests per second,
p50/p95/p99 latency, errors and the server's resident memory. The server runs in its own
process (``uvicorn``, one worker) on a free port; both share the machine's 2 cores with
the client, as a planner's laptop would.

Usage::

    .venv/bin/python benchmarks/bench_service.py                       # sample, both stores
    .venv/bin/python benchmarks/bench_service.py --duration 30 --sections layers items
    .venv/bin/python benchmarks/bench_service.py --households 1000000 # generated district
    .venv/bin/python benchmarks/bench_service.py --project P.gpkg --json out.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
#: The box of ``GET /layers/buildings`` (166 buildings on the committed sample).
BOX_166 = (121.5453, 29.9147, 121.5551, 29.9247)
#: Zoom levels of the tile section.
TILE_ZOOMS = (14, 15, 16, 17)
TILE_LAYERS = ("buildings", "estates", "communities")
#: Most tile paths cycled (fewer than the tile cache holds, so the warm row is warm).
MAX_TILES = 2000


# --------------------------------------------------------------------------------------
# The server (run in its own process: ``--serve``)
# --------------------------------------------------------------------------------------

def serve(target: str, schema: str | None, port: int, cache_tiles: int | None) -> None:
    """Run the service on ``target`` with the baseline route added (blocks)."""
    import uvicorn
    from fastapi import APIRouter, Query
    from fastapi.responses import Response

    from beatgrid.api.rendering import geojson_response
    from beatgrid.api.routes.layers import parse_bbox
    from beatgrid.api.service import create_app
    from beatgrid.gis.io.feature_reads import FeatureReader
    from beatgrid.gis.project import Project
    from beatgrid.gis.tiles.settings import load_tile_settings

    project = Project.open(target, schema=schema)
    app = create_app(project, public_read=True)  # reads without signing in
    if cache_tiles is not None:
        app.state.reader = FeatureReader(project.store, settings=load_tile_settings(
            {"tiles": {"cache_tiles": cache_tiles}}))
    baseline = APIRouter()

    @baseline.get("/bench/baseline/layers/{name}")
    def old_layer(name: str, bbox: str | None = Query(None), limit: int = 100_000) -> Response:
        """The route before the read cache: the store reads and conforms, then render."""
        box = parse_bbox(bbox)
        if name not in project.store.list_layers():
            return Response(status_code=404)
        df = project.store.read_layer(name, bbox=box) if box is not None \
            else project.layer(name)
        return geojson_response(df.iloc[:limit])

    app.include_router(baseline)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A service process answering on ``url``."""

    name: str
    target: str
    schema: str | None = None
    cache_tiles: int | None = None
    url: str = ""
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Server:
        port = free_port()
        cmd = [sys.executable, __file__, "--serve", self.target, "--port", str(port)]
        if self.schema:
            cmd += ["--schema", self.schema]
        if self.cache_tiles is not None:
            cmd += ["--cache-tiles", str(self.cache_tiles)]
        self.proc = subprocess.Popen(cmd, cwd=ROOT)
        self.url = f"http://127.0.0.1:{port}"
        import httpx

        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/health", timeout=5).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"server {self.name} exited with {self.proc.returncode}")
            time.sleep(0.2)
        raise RuntimeError(f"server {self.name} did not answer GET /health in 300 s")

    def rss_mb(self) -> float:
        import psutil

        assert self.proc is not None
        return float(psutil.Process(self.proc.pid).memory_info().rss) / 2**20

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


# --------------------------------------------------------------------------------------
# Load
# --------------------------------------------------------------------------------------

@dataclass
class Row:
    """One measured line of the table."""

    section: str
    store: str
    variant: str
    requests: int
    seconds: float
    latencies_ms: list[float] = field(repr=False)
    errors: int
    rss_mb: float
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        lat = np.asarray(self.latencies_ms) if self.latencies_ms else np.asarray([np.nan])
        return {"section": self.section, "store": self.store, "variant": self.variant,
                "requests": self.requests, "rps": round(self.requests / self.seconds, 1),
                "p50_ms": round(float(np.percentile(lat, 50)), 1),
                "p95_ms": round(float(np.percentile(lat, 95)), 1),
                "p99_ms": round(float(np.percentile(lat, 99)), 1),
                "errors": self.errors, "server_rss_mb": round(self.rss_mb), "note": self.note}


async def _load(base: str, paths: Sequence[str], *, connections: int, duration: float,
                once: bool) -> tuple[int, float, list[float], int]:
    """``connections`` clients requesting ``paths`` in turn for ``duration`` seconds (or each
    path once with ``once``): requests, seconds, latencies (ms) and errors."""
    import httpx

    latencies: list[float] = []
    errors = 0
    counter = 0
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        start = time.perf_counter()
        deadline = start + duration

        async def worker() -> None:
            nonlocal errors, counter
            while True:
                i = counter
                counter += 1
                if once and i >= len(paths):
                    return
                if not once and time.perf_counter() >= deadline:
                    return
                t0 = time.perf_counter()
                try:
                    r = await client.get(paths[i % len(paths)])
                    await r.aread()
                    if r.status_code != 200:
                        errors += 1
                except httpx.HTTPError:
                    errors += 1
                latencies.append((time.perf_counter() - t0) * 1000)

        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - start
    return len(latencies), elapsed, latencies, errors


def measure(server: Server, section: str, variant: str, paths: Sequence[str], *,
            connections: int, duration: float, once: bool = False, warm: int = 20,
            note: str = "") -> Row:
    """One row: warm up (``warm`` requests), then the load."""
    if warm:
        asyncio.run(_load(server.url, paths[:warm], connections=min(connections, warm),
                          duration=0, once=True))
    n, secs, lat, err = asyncio.run(_load(server.url, paths, connections=connections,
                                          duration=duration, once=once))
    return Row(section, server.name, variant, n, secs, lat, err, server.rss_mb(), note)


# --------------------------------------------------------------------------------------
# Sections: each takes the run and gives rows
# --------------------------------------------------------------------------------------

@dataclass
class Run:
    """What every section needs: the servers per store and the load settings."""

    servers: dict[str, Server]
    cold_servers: dict[str, Server]
    box: tuple[float, float, float, float]
    district: tuple[float, float, float, float]
    connections: int
    duration: float


def section_layers(run: Run) -> list[Row]:
    """``GET /layers/buildings?bbox=``: the old path beside the cached, indexed one."""
    box = ",".join(str(v) for v in run.box)
    rows = []
    for server in run.servers.values():
        import httpx

        count = len(httpx.get(f"{server.url}/layers/buildings", params={"bbox": box},
                              timeout=120).json()["features"])
        note = f"{count} buildings"
        rows.append(measure(server, "GET /layers/buildings?bbox", "baseline (old path)",
                            [f"/bench/baseline/layers/buildings?bbox={box}"],
                            connections=run.connections, duration=run.duration, note=note))
        rows.append(measure(server, "GET /layers/buildings?bbox", "new (cached reader)",
                            [f"/layers/buildings?bbox={box}"],
                            connections=run.connections, duration=run.duration, note=note))
    return rows


def section_items(run: Run) -> list[Row]:
    """OGC API - Features items of a box, 1,000 per page, and pages of the whole layer."""
    box = ",".join(str(v) for v in run.box)
    rows = []
    for server in run.servers.values():
        import httpx

        matched = httpx.get(f"{server.url}/collections/buildings/items",
                            params={"bbox": box, "limit": 1}, timeout=120).json()["numberMatched"]
        rows.append(measure(server, "GET /collections/buildings/items?bbox", "new",
                            [f"/collections/buildings/items?bbox={box}&limit=1000"],
                            connections=run.connections, duration=run.duration,
                            note=f"{matched} buildings matched"))
        pages = [f"/collections/buildings/items?limit=100&offset={i * 100}" for i in range(20)]
        rows.append(measure(server, "GET /collections/buildings/items (pages)", "new", pages,
                            connections=run.connections, duration=run.duration,
                            note="100 per page, offsets 0-1900"))
    return rows


def tile_paths(district: Sequence[float]) -> list[str]:
    """Every tile of the tile layers over the district, z14-z17, interleaved by zoom."""
    from beatgrid.gis.tiles.grid import tiles_over

    paths = []
    for z in TILE_ZOOMS:
        for (tz, x, y) in tiles_over(district, z):
            for layer in TILE_LAYERS:
                paths.append(f"/collections/{layer}/tiles/WebMercatorQuad/{tz}/{x}/{y}")
    rng = np.random.default_rng(0)
    order = rng.permutation(len(paths))[:MAX_TILES]  # a large district: a random sample
    return [paths[i] for i in order]


def section_tiles(run: Run) -> list[Row]:
    """Vector tiles z14-z17 over the district: made (cache off) and cached."""
    paths = tile_paths(run.district)
    from beatgrid.gis.tiles.grid import tiles_over

    cx, cy = (run.district[0] + run.district[2]) / 2, (run.district[1] + run.district[3]) / 2
    _, x13, y13 = tiles_over((cx, cy, cx, cy), 13)[0]
    prepare = [f"/collections/{layer}/tiles/WebMercatorQuad/13/{x13}/{y13}"
               for layer in TILE_LAYERS]  # each layer read and prepared once, not timed
    rows = []
    for name, server in run.cold_servers.items():
        asyncio.run(_load(server.url, prepare, connections=1, duration=0, once=True))
        rows.append(measure(server, "tiles z14-z17", "cold (made each time)", paths,
                            connections=run.connections, duration=run.duration, warm=0,
                            note=f"{len(paths)} tiles of {', '.join(TILE_LAYERS)}"))
    for name, server in run.servers.items():
        asyncio.run(_load(server.url, paths, connections=run.connections, duration=0,
                          once=True))  # fill the cache
        rows.append(measure(server, "tiles z14-z17", "warm (tile cache)", paths,
                            connections=run.connections, duration=run.duration,
                            note=f"{len(paths)} tiles"))
    return rows


#: The sections, in the order they run (``--sections`` picks some).
SECTIONS: dict[str, Callable[[Run], list[Row]]] = {
    "layers": section_layers,
    "items": section_items,
    "tiles": section_tiles,
}


# --------------------------------------------------------------------------------------
# Set-up and report
# --------------------------------------------------------------------------------------

def prepare_project(args: argparse.Namespace, folder: Path) -> Path:
    """The GeoPackage benchmarked: ``--project`` (copied), a generated district, or the sample."""
    path = folder / "bench.gpkg"
    if args.project:
        shutil.copyfile(args.project, path)
    elif args.households:
        from beatgrid.gis.project import Project

        t0 = time.perf_counter()
        Project.sample(path, households=args.households)
        print(f"generated {args.households:,} households in {time.perf_counter() - t0:.0f} s",
              flush=True)
    else:
        shutil.copyfile(ROOT / "sample-geodata" / "ningbo-jiangbei.gpkg", path)
    return path


def district_and_box(path: Path, households: int | None) -> tuple[tuple[float, ...],
                                                                    tuple[float, ...]]:
    """The buildings' extent, and the box of the layers/items sections."""
    import pyogrio

    bounds = pyogrio.read_info(path, layer="buildings", force_total_bounds=True)["total_bounds"]
    district = tuple(float(v) for v in bounds)
    if not households:
        return district, BOX_166
    # about 1,000 buildings around the centre of a generated district
    import shapely

    df = pyogrio.read_dataframe(path, layer="buildings", columns=[])
    c = shapely.centroid(np.asarray(df.geometry.array))
    cx, cy = (district[0] + district[2]) / 2, (district[1] + district[3]) / 2
    d = np.maximum(np.abs(shapely.get_x(c) - cx), np.abs(shapely.get_y(c) - cy))
    half = float(np.sort(d)[min(999, len(d) - 1)])
    return district, (cx - half, cy - half, cx + half, cy + half)


def print_table(rows: list[Row]) -> None:
    cols = ["section", "store", "variant", "requests", "rps", "p50_ms", "p95_ms", "p99_ms",
            "errors", "server_rss_mb", "note"]
    print("\n| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for row in rows:
        d = row.as_dict()
        print("| " + " | ".join(str(d[c]) for c in cols) + " |")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--serve", metavar="TARGET", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--schema", help=argparse.SUPPRESS)
    ap.add_argument("--cache-tiles", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--project", help="a GeoPackage project to benchmark (copied)")
    ap.add_argument("--households", type=int, help="generate a district of this size")
    ap.add_argument("--duration", type=float, default=10.0, help="seconds per row (10)")
    ap.add_argument("--connections", type=int, default=8, help="concurrent clients (8)")
    ap.add_argument("--sections", nargs="+", choices=list(SECTIONS), default=list(SECTIONS))
    ap.add_argument("--stores", nargs="+", choices=["gpkg", "postgis"],
                    default=["gpkg", "postgis"],
                    help="postgis runs only when BEATGRID_TEST_PG_URL is set")
    ap.add_argument("--json", help="write the rows to this JSON file")
    args = ap.parse_args(argv)
    if args.serve:
        serve(args.serve, args.schema, args.port, args.cache_tiles)
        return 0

    folder = Path(tempfile.mkdtemp(prefix="beatgrid-bench-service-"))
    servers: dict[str, Server] = {}
    cold: dict[str, Server] = {}
    try:
        path = prepare_project(args, folder)
        district, box = district_and_box(path, args.households)
        targets: list[tuple[str, str, str | None]] = []
        if "gpkg" in args.stores:
            targets.append(("gpkg", str(path), None))
        pg_url = os.environ.get("BEATGRID_TEST_PG_URL", "").strip()
        if "postgis" in args.stores and pg_url:
            from beatgrid.gis.io.postgis import copy_project_to_postgis, dispose_engines

            copy_project_to_postgis(path, pg_url, schema="bench_service")
            dispose_engines()
            targets.append(("postgis", pg_url, "bench_service"))
        elif "postgis" in args.stores:
            print("PostGIS skipped: BEATGRID_TEST_PG_URL is not set", flush=True)
        for name, target, schema in targets:
            servers[name] = Server(name, target, schema)
            servers[name].start()
            if "tiles" in args.sections:
                cold[name] = Server(name, target, schema, cache_tiles=0)
                cold[name].start()
        run = Run(servers=servers, cold_servers=cold, box=box, district=district,
                  connections=args.connections, duration=args.duration)
        rows: list[Row] = []
        for name in args.sections:
            print(f"section {name} ...", flush=True)
            rows += SECTIONS[name](run)
        print_table(rows)
        if args.json:
            Path(args.json).write_text(json.dumps([r.as_dict() for r in rows], indent=1),
                                       encoding="utf-8")
    finally:
        for server in [*servers.values(), *cold.values()]:
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
