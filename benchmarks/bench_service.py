"""Benchmark: the HTTP service under load, against real uvicorn servers (issues #11, #12).

Each section is a function of ``SECTIONS`` taking the run (servers, settings) and giving
rows: requests (or moves) per second, p50/p95/p99 latency, errors, the server's resident
memory and CPU seconds, and the machine's load average over the row. The servers run in
their own processes (uvicorn, one worker) on free ports, on the project file and, when
``BEATGRID_TEST_PG_URL`` is set, on PostGIS (the project copied into schema
``bench_service``); they share the machine's cores with the client.

Sections:

``layers``    ``GET /layers/buildings?bbox=`` : the old path (the store reads and conforms
              the box, then GeoJSON; the benchmark's route ``/bench/baseline/layers``) vs
              the route as it is (the cached, indexed reader);
``items``     ``GET /collections/buildings/items?bbox=...&limit=1000`` (a box of about
              1,000 buildings on ``--households``; 166 on the committed sample) and pages
              of 100 (OGC API - Features);
``tiles``     vector tiles of buildings, estates and communities, z14-z17 over the district:
              **made** (the tile cache off, each tile made per request) and **cached**;
``edit``      one planner, a 10,000-building community (``--buildings``; the generator of
              the grid tests): ``--moves`` moves of a border unit into the neighbouring grid
              and back, each ``POST /plans/{id}/move`` with ``If-Match``: the move, the
              re-check of the touched grids, the recorded step. Target p95 <= 100 ms;
``planners``  8 planners (threads, one keep-alive client each) editing 8 communities of the
              sample at once for ``--planners-duration`` (30) s: moves per second, p50/p95,
              errors, and lost steps (answered moves that are not recorded steps: must be 0).

**tipg beside BeatGrid.** With ``--tipg-python PATH`` (the interpreter of a virtualenv
holding tipg and uvicorn) the ``items`` and ``tiles`` sections also load tipg serving the
same PostGIS tables (schema ``bench_service``; its tile buffer set to BeatGrid's 64 and its
tiles carrying BeatGrid's attributes, ``properties=``). BeatGrid-on-PostGIS and tipg rows
are measured interleaved (``--slices`` alternating slices of each row), so a change in the
machine's load hits both alike. Without the option (or when PATH does not exist) tipg is
skipped with a message. Set-up, once, outside the project's venv::

    python3 -m venv /tmp/tipg-venv && /tmp/tipg-venv/bin/pip install tipg uvicorn

Usage::

    .venv/bin/python benchmarks/bench_service.py                   # sample, every section
    source scripts/_bootstrap.sh && bg_pg_start benchsvc           # PostGIS (sets the URL)
    .venv/bin/python benchmarks/bench_service.py --households 1000000 --duration 20 \\
        --sections items tiles edit planners --tipg-python /tmp/tipg-venv/bin/python
    .venv/bin/python benchmarks/bench_service.py --sections edit --buildings 2000 --moves 50
    .venv/bin/python benchmarks/bench_service.py --project P.gpkg --json out.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from bench_servers import Server, binned_assignment, editing_server

ROOT = Path(__file__).resolve().parents[1]
#: The box of ``GET /layers/buildings`` (166 buildings on the committed sample).
BOX_166 = (121.5453, 29.9147, 121.5551, 29.9247)
TILE_ZOOMS = (14, 15, 16, 17)
TILE_LAYERS = ("buildings", "estates", "communities")
#: Most tile paths cycled (fewer than the tile cache holds, so the cached row is cached).
MAX_TILES = 2000
#: The PostgreSQL schema the project is copied into (and tipg serves).
PG_SCHEMA = "bench_service"


# --------------------------------------------------------------------------------------
# Servers
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
    def old_layer(name: str, bbox: str | None = Query(None)) -> Response:
        """The route before the read cache: the store reads and conforms, then render."""
        box = parse_bbox(bbox)
        return geojson_response(project.store.read_layer(name, bbox=box) if box is not None
                                else project.layer(name))

    app.include_router(baseline)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def beatgrid_server(name: str, target: str, schema: str | None = None,
                    cache_tiles: int | None = None) -> Server:
    """This script's ``--serve`` (the service with public reads and the baseline route)."""
    cmd = [sys.executable, __file__, "--serve", target, "--port", "{port}"]
    cmd += ["--schema", schema] if schema else []
    cmd += ["--cache-tiles", str(cache_tiles)] if cache_tiles is not None else []
    return Server(name, cmd)


def tipg_server(python: str, pg_url: str) -> Server:
    """tipg (uvicorn, one worker) on the benchmark's PostGIS schema."""
    return Server("tipg (PostGIS)", [
        python, "-m", "uvicorn", "tipg.main:app", "--host", "127.0.0.1", "--port", "{port}",
        "--log-level", "warning", "--no-access-log"], health="/healthz", env={
        "DATABASE_URL": pg_url.replace("postgresql+psycopg://", "postgresql://"),
        "TIPG_DB_SCHEMAS": json.dumps([PG_SCHEMA]), "TIPG_TILE_BUFFER": "64",
        "TIPG_MAX_FEATURES_PER_QUERY": "10000"})


# --------------------------------------------------------------------------------------
# Load
# --------------------------------------------------------------------------------------

@dataclass
class Row:
    """One measured line of the table."""

    section: str
    server: str
    variant: str
    requests: int
    seconds: float
    latencies_ms: list[float] = field(repr=False)
    errors: int
    rss_mb: float
    cpu_s: float
    load: tuple[float, float]
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        lat = np.asarray(self.latencies_ms) if self.latencies_ms else np.asarray([np.nan])
        return {"section": self.section, "server": self.server, "variant": self.variant,
                "requests": self.requests, "rps": round(self.requests / self.seconds, 1),
                **{f"p{q}_ms": round(float(np.percentile(lat, q)), 1) for q in (50, 95, 99)},
                "errors": self.errors, "server_rss_mb": round(self.rss_mb),
                "server_cpu_s": round(self.cpu_s, 1),
                "load": f"{self.load[0]:.1f}-{self.load[1]:.1f}", "note": self.note}


async def _load(base: str, paths: Sequence[str], *, connections: int, duration: float,
                once: bool, start_at: int = 0) -> tuple[int, float, list[float], int]:
    """``connections`` clients requesting ``paths`` in turn for ``duration`` seconds (or each
    path once with ``once``): requests, seconds, latencies (ms) and errors."""
    import httpx

    latencies: list[float] = []
    errors = 0
    counter = start_at
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
                    errors += r.status_code != 200
                except httpx.HTTPError:
                    errors += 1
                latencies.append((time.perf_counter() - t0) * 1000)

        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - start
    return len(latencies), elapsed, latencies, errors


@dataclass
class Load:
    """One server and the paths it is asked, measured in slices."""

    server: Server
    section: str
    variant: str
    paths: Sequence[str]
    note: str = ""
    done: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    cpu_s: float = 0.0

    def slice(self, connections: int, duration: float) -> None:
        _, cpu0 = self.server.usage()
        n, secs, lat, err = asyncio.run(_load(self.server.url, self.paths,
                                              connections=connections, duration=duration,
                                              once=False, start_at=self.done))
        self.cpu_s += self.server.usage()[1] - cpu0
        self.done += n
        self.seconds += secs
        self.latencies += lat
        self.errors += err


def measure(loads: Sequence[Load], *, connections: int, duration: float, slices: int = 1,
            warm: int = 20) -> list[Row]:
    """Rows of ``loads`` run in turn, each in ``slices`` slices of ``duration / slices``
    seconds alternating with the others' (after ``warm`` requests each, not timed)."""
    for load in loads:
        if warm:
            asyncio.run(_load(load.server.url, load.paths[:warm], once=True, duration=0,
                              connections=min(connections, warm)))
    low, high = os.getloadavg()[0], os.getloadavg()[0]
    for _ in range(slices):
        for load in loads:
            load.slice(connections, duration / slices)
            low, high = min(low, os.getloadavg()[0]), max(high, os.getloadavg()[0])
    return [Row(x.section, x.server.name, x.variant, x.done, x.seconds, x.latencies, x.errors,
                x.server.usage()[0], x.cpu_s, (low, high), x.note) for x in loads]


# --------------------------------------------------------------------------------------
# Read sections
# --------------------------------------------------------------------------------------

@dataclass
class Run:
    """What every section needs: the servers and the settings."""

    args: argparse.Namespace
    servers: dict[str, Server]
    cold_servers: dict[str, Server]
    tipg: Server | None
    box: tuple[float, ...]
    district: tuple[float, ...]
    pg_url: str | None
    folder: Path

    def measure(self, loads: Sequence[Load], **kw: Any) -> list[Row]:
        kw.setdefault("slices", self.args.slices if len(loads) > 1 else 1)
        return measure(loads, connections=self.args.connections, duration=self.args.duration,
                       **kw)


def _get(url: str, path: str, **params: Any) -> Any:
    import httpx

    r = httpx.get(url + path, params=params, timeout=300)
    r.raise_for_status()
    return r.json()


def section_layers(run: Run) -> list[Row]:
    """``GET /layers/buildings?bbox=``: the old path beside the cached, indexed one."""
    box = ",".join(str(v) for v in run.box)
    rows = []
    for server in run.servers.values():
        note = f"{len(_get(server.url, '/layers/buildings', bbox=box)['features'])} buildings"
        rows += run.measure([
            Load(server, "GET /layers/buildings?bbox", "old path",
                 [f"/bench/baseline/layers/buildings?bbox={box}"], note),
            Load(server, "GET /layers/buildings?bbox", "cached reader",
                 [f"/layers/buildings?bbox={box}"], note)])
    return rows


def section_items(run: Run) -> list[Row]:
    """OGC API - Features items of a box (1,000 per page) and pages of the whole layer."""
    box = ",".join(str(v) for v in run.box)
    page = [f"/collections/buildings/items?limit=100&offset={i * 100}" for i in range(20)]
    rows = []
    for kind, paths in (("bbox, limit=1000", [f"/collections/buildings/items?bbox={box}"
                                              "&limit=1000"]),
                        ("pages of 100", page)):
        section = f"items ({kind})"
        loads = []
        for server in run.servers.values():
            matched = _get(server.url, "/collections/buildings/items", bbox=box,
                           limit=1)["numberMatched"]
            note = f"{matched} matched" if "bbox" in kind else "offsets 0-1900"
            loads.append(Load(server, section, "", paths, note))
        if run.tipg is not None:
            theirs = [p.replace("/buildings/", f"/{PG_SCHEMA}.buildings/") for p in paths]
            loads.append(Load(run.tipg, section, "", theirs, loads[-1].note))
        rows += run.measure(loads)
    return rows


def tile_paths(district: Sequence[float]) -> list[str]:
    """Tiles of the tile layers over the district, z14-z17 (a random sample of at most
    ``MAX_TILES``), as ``/collections/{layer}/tiles/WebMercatorQuad/z/x/y``."""
    from beatgrid.gis.tiles.grid import tiles_over

    paths = [f"/collections/{layer}/tiles/WebMercatorQuad/{tz}/{x}/{y}"
             for z in TILE_ZOOMS for (tz, x, y) in tiles_over(district, z)
             for layer in TILE_LAYERS]
    order = np.random.default_rng(0).permutation(len(paths))[:MAX_TILES]
    return [paths[i] for i in order]


def tipg_tile_path(path: str) -> str:
    """The same tile from tipg, carrying BeatGrid's attributes of the layer."""
    from beatgrid.gis.tiles.settings import default_tile_settings, layer_choice

    layer = path.split("/")[2]
    props = layer_choice(default_tile_settings(), layer).properties
    return (path.replace(f"/{layer}/", f"/{PG_SCHEMA}.{layer}/")
            + "?properties=" + ",".join(props))


def section_tiles(run: Run) -> list[Row]:
    """Vector tiles z14-z17 over the district: made per request, and from the cache."""
    paths = tile_paths(run.district)
    note = f"{len(paths)} tiles of {', '.join(TILE_LAYERS)}"
    cx, cy = (run.district[0] + run.district[2]) / 2, (run.district[1] + run.district[3]) / 2
    from beatgrid.gis.tiles.grid import tiles_over

    _, x13, y13 = tiles_over((cx, cy, cx, cy), 13)[0]
    prepare = [f"/collections/{layer}/tiles/WebMercatorQuad/13/{x13}/{y13}"
               for layer in TILE_LAYERS]  # each layer read and prepared once, not timed
    loads = []
    for server in run.cold_servers.values():
        asyncio.run(_load(server.url, prepare, connections=1, duration=0, once=True))
        loads.append(Load(server, "tiles z14-z17", "made per request", paths, note))
    if run.tipg is not None:
        loads.append(Load(run.tipg, "tiles z14-z17", "made per request",
                          [tipg_tile_path(p) for p in paths], note))
    rows = run.measure(loads, warm=0)
    cached = []
    for server in run.servers.values():
        asyncio.run(_load(server.url, paths, connections=run.args.connections, duration=0,
                          once=True))  # fill the cache
        cached.append(Load(server, "tiles z14-z17", "tile cache", paths, note))
    return rows + run.measure(cached)


# --------------------------------------------------------------------------------------
# Editing sections (issue #11)
# --------------------------------------------------------------------------------------

def edit_stores(run: Run, path: Path, schema: str) -> list[tuple[str, str, str | None]]:
    """(name, target, schema) of each store an editing section runs on."""
    out: list[tuple[str, str, str | None]] = []
    if "gpkg" in run.args.stores:
        out.append(("gpkg", str(path), None))
    if "postgis" in run.args.stores and run.pg_url:
        from beatgrid.gis.io.postgis import copy_project_to_postgis, dispose_engines

        copy_project_to_postgis(path, run.pg_url, schema=schema)
        dispose_engines()
        out.append(("postgis", run.pg_url, schema))
    return out


def border_moves(units: list[dict[str, Any]], count: int) -> list[tuple[int, str]]:
    """Units on a grid border and the neighbouring grid to move each into."""
    import shapely.geometry

    geoms = [shapely.geometry.shape(f["geometry"]) for f in units]
    grid = [f["properties"]["grid_id"] for f in units]
    tree = shapely.STRtree(geoms)
    out: list[tuple[int, str]] = []
    for i, g in enumerate(geoms):
        j = next((j for j in tree.query(g, predicate="touches")
                  if grid[j] not in (grid[i], None) and grid[i] is not None), None)
        if j is not None:
            out.append((i, grid[j]))
        if len(out) >= count:
            break
    return out


def section_edit(run: Run) -> list[Row]:
    """The edit round trip on one 10,000-building community (target p95 <= 100 ms)."""
    import httpx

    sys.path.insert(0, str(ROOT / "tests"))
    from grid_fixtures import big_community  # the generator of the grid tests

    from beatgrid.gis import Project

    path = run.folder / "edit.gpkg"
    big = Project.open(path, create=True)
    big.write(big_community(buildings=run.args.buildings, seed=1))
    csv = binned_assignment(big, "C000")
    rows = []
    for name, target, schema in edit_stores(run, path, "bench_edit"):
        with editing_server(name, target, schema) as server, \
                httpx.Client(base_url=server.url, timeout=60) as client:
            plan = client.post("/plans/import", json={"community_id": "C000", "csv": csv})
            plan.raise_for_status()
            plan_id, etag = plan.json()["id"], plan.headers["ETag"]
            units = client.get(f"/plans/{plan_id}/units").json()["features"]
            pairs = border_moves(units, max(1, run.args.moves // 2))
            home = {i: units[i]["properties"]["grid_id"] for i, _ in pairs}
            times, errors, load = [], 0, [os.getloadavg()[0]] * 2
            _, cpu0 = server.usage()
            t_all = time.perf_counter()
            for k in range(run.args.moves):
                unit, there = pairs[(k // 2) % len(pairs)]
                t0 = time.perf_counter()
                r = client.post(f"/plans/{plan_id}/move", headers={"If-Match": etag},
                                json={"to_grid": there if k % 2 == 0 else home[unit],
                                      "units": [unit]})
                times.append((time.perf_counter() - t0) * 1000)
                if r.status_code != 200:
                    errors += 1
                    continue
                etag = r.headers["ETag"]
                now = os.getloadavg()[0]
                load = [min(load[0], now), max(load[1], now)]
            wall = time.perf_counter() - t_all
            rss, cpu1 = server.usage()
            steps = client.get(f"/plans/{plan_id}/steps").json()
            recorded = sum(1 for s in steps if s["kind"] == "move")
        rows.append(Row("edit round trip", name, "1 planner", len(times), wall, times, errors,
                        rss, cpu1 - cpu0, (load[0], load[1]),
                        f"{run.args.buildings:,} buildings, {len(home)} border units; "
                        f"{recorded} of {len(times) - errors} moves recorded"))
    return rows


def section_planners(run: Run) -> list[Row]:
    """8 planners editing plans of 8 communities at once; every answered move a step."""
    import httpx

    from beatgrid.gis import Project
    from beatgrid.gis.project import SAMPLE_PATH

    path = run.folder / "planners.gpkg"
    shutil.copyfile(SAMPLE_PATH, path)
    communities = sorted(Project.open(path).layer("communities")["id"])[:run.args.planners]
    rows = []
    for name, target, schema in edit_stores(run, path, "bench_planners"):
        with editing_server(name, target, schema) as server:
            with httpx.Client(base_url=server.url, timeout=120) as c:
                plans = [c.post("/plans", json={"community_id": cid, "source": "generate"})
                         .json() for cid in communities]
            latencies: list[float] = []
            done = {p["id"]: 0 for p in plans}
            errors: list[str] = []
            stop = time.monotonic() + run.args.planners_duration

            def work(plan: dict[str, Any]) -> None:
                grids, version = [t["grid_id"] for t in plan["totals"]], plan["version"]
                with httpx.Client(base_url=server.url, timeout=120) as client:
                    units = client.get(f"/plans/{plan['id']}/units").json()["features"]
                    own = [i for i, f in enumerate(units)
                           if f["properties"]["grid_id"] == grids[0]]
                    k = 0
                    while time.monotonic() < stop:
                        target = grids[1] if (k // len(own)) % 2 == 0 else grids[0]
                        t0 = time.perf_counter()
                        r = client.post(f"/plans/{plan['id']}/move", json={
                            "to_grid": target, "units": [own[k % len(own)]],
                            "version": version})
                        latencies.append((time.perf_counter() - t0) * 1000)
                        if r.status_code != 200:
                            errors.append(f"{r.status_code} {r.text[:80]}")
                            return
                        version, k = r.json()["version"], k + 1
                        done[plan["id"]] += 1

            threads = [threading.Thread(target=work, args=(p,)) for p in plans]
            load0, (_, cpu0) = os.getloadavg()[0], server.usage()
            t0 = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - t0
            rss, cpu1 = server.usage()
            load1 = os.getloadavg()[0]
            with httpx.Client(base_url=server.url, timeout=120) as c:
                lost = sum(done[p] - sum(1 for s in c.get(f"/plans/{p}/steps").json()
                                         if s["kind"] == "move") for p in done)
        rows.append(Row("planners at once", name, f"{len(plans)} planners", sum(done.values()),
                        wall, latencies, len(errors), rss, cpu1 - cpu0,
                        (min(load0, load1), max(load0, load1)),
                        f"{lost} lost steps" + (f"; first error {errors[0]}" if errors else "")))
    return rows


#: The sections, in the order they run (``--sections`` picks some).
SECTIONS: dict[str, Callable[[Run], list[Row]]] = {
    "layers": section_layers,
    "items": section_items,
    "tiles": section_tiles,
    "edit": section_edit,
    "planners": section_planners,
}
READ_SECTIONS = ("layers", "items", "tiles")


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


def district_and_box(path: Path) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The buildings' extent, and the items box: 166 buildings on the committed sample,
    about 1,000 around the district's centre otherwise."""
    import pyogrio
    import shapely

    bounds = pyogrio.read_info(path, layer="buildings", force_total_bounds=True)["total_bounds"]
    district = tuple(float(v) for v in bounds)
    df = pyogrio.read_dataframe(path, layer="buildings", columns=[])
    if len(df) < 5000:
        return district, BOX_166
    c = shapely.centroid(np.asarray(df.geometry.array))
    cx, cy = (district[0] + district[2]) / 2, (district[1] + district[3]) / 2
    d = np.maximum(np.abs(shapely.get_x(c) - cx), np.abs(shapely.get_y(c) - cy))
    half = float(np.sort(d)[999])
    return district, (cx - half, cy - half, cx + half, cy + half)


def print_table(rows: list[Row]) -> None:
    cols = ["section", "server", "variant", "requests", "rps", "p50_ms", "p95_ms", "p99_ms",
            "errors", "server_rss_mb", "server_cpu_s", "load", "note"]
    print("\n| " + " | ".join(cols) + " |\n|" + "---|" * len(cols))
    for row in rows:
        d = row.as_dict()
        print("| " + " | ".join(str(d[c]) for c in cols) + " |", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--serve", metavar="TARGET", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--schema", help=argparse.SUPPRESS)
    ap.add_argument("--cache-tiles", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--project", help="a GeoPackage project to read (copied)")
    ap.add_argument("--households", type=int, help="generate a district of this size")
    ap.add_argument("--duration", type=float, default=10.0, help="seconds per read row (10)")
    ap.add_argument("--slices", type=int, default=3,
                    help="alternating slices of the rows compared (3)")
    ap.add_argument("--connections", type=int, default=8, help="concurrent clients (8)")
    ap.add_argument("--buildings", type=int, default=10_000, help="edit: community size")
    ap.add_argument("--moves", type=int, default=200, help="edit: moves timed (200)")
    ap.add_argument("--planners", type=int, default=8, help="planners: how many (8)")
    ap.add_argument("--planners-duration", type=float, default=30.0,
                    help="planners: seconds (30)")
    ap.add_argument("--sections", nargs="+", choices=list(SECTIONS), default=list(SECTIONS))
    ap.add_argument("--stores", nargs="+", choices=["gpkg", "postgis"],
                    default=["gpkg", "postgis"],
                    help="postgis runs only when BEATGRID_TEST_PG_URL is set")
    ap.add_argument("--tipg-python", metavar="PATH",
                    help="python of a venv with tipg and uvicorn: tipg beside BeatGrid")
    ap.add_argument("--json", help="write the rows to this JSON file")
    args = ap.parse_args(argv)
    if args.serve:
        serve(args.serve, args.schema, args.port, args.cache_tiles)
        return 0

    folder = Path(tempfile.mkdtemp(prefix="beatgrid-bench-service-"))
    started: list[Server] = []
    pg_url = os.environ.get("BEATGRID_TEST_PG_URL", "").strip() or None
    if "postgis" in args.stores and not pg_url:
        print("PostGIS skipped: BEATGRID_TEST_PG_URL is not set", flush=True)
    print(f"load average at the start: {os.getloadavg()}", flush=True)
    try:
        run = Run(args, {}, {}, None, (), (), pg_url, folder)
        if any(s in READ_SECTIONS for s in args.sections):
            path = prepare_project(args, folder)
            run.district, run.box = district_and_box(path)
            targets: list[tuple[str, str, str | None]] = []
            if "gpkg" in args.stores:
                targets.append(("BeatGrid (GeoPackage)", str(path), None))
            if "postgis" in args.stores and pg_url:
                from beatgrid.gis.io.postgis import copy_project_to_postgis, dispose_engines

                t0 = time.perf_counter()
                copy_project_to_postgis(path, pg_url, schema=PG_SCHEMA)
                dispose_engines()
                print(f"copied into PostGIS in {time.perf_counter() - t0:.0f} s", flush=True)
                targets.append(("BeatGrid (PostGIS)", pg_url, PG_SCHEMA))
                if args.tipg_python and Path(args.tipg_python).exists():
                    run.tipg = tipg_server(args.tipg_python, pg_url)
                else:
                    print("tipg skipped: give --tipg-python PATH (see the docstring)",
                          flush=True)
            for name, target, schema in targets:
                run.servers[name] = beatgrid_server(name, target, schema)
                if "tiles" in args.sections:
                    run.cold_servers[name] = beatgrid_server(name, target, schema,
                                                             cache_tiles=0)
            for server in [*run.servers.values(), *run.cold_servers.values(),
                           *([run.tipg] if run.tipg else [])]:
                started.append(server)
                server.start()
        rows: list[Row] = []
        for name in args.sections:
            print(f"section {name} ...", flush=True)
            new = SECTIONS[name](run)
            print_table(new)
            rows += new
        print_table(rows)
        if args.json:
            Path(args.json).write_text(json.dumps([r.as_dict() for r in rows], indent=1),
                                       encoding="utf-8")
    finally:
        for server in started:
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)
    print(f"load average at the end: {os.getloadavg()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
