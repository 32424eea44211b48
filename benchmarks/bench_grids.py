"""Benchmark: basic grids against spopt max-p and GerryChain, on five families of units.

Every family is planned by BeatGrid, spopt ``MaxPHeuristic`` and GerryChain
``recursive_tree_part`` on the **same atomic units** (street blocks and building cells,
built once by :func:`beatgrid.gis.grids.units.build_units`), each method in its own
forked process (its wall and CPU time, and its peak resident memory, are its own; a
method over ``--timeout`` seconds is stopped and reported as such):

``big``
    issue 10: one community around everything (a city's buildings imported before the
    committee boundaries exist), Voronoi-like street blocks, ``--sizes`` buildings
    (2,000 / 8,000 / 32,000) of 20-199 households (skewed to small walk-ups, mean ~68);
``large``
    issue 10: ``--communities`` communities of 2,000-20,000 households whose buildings
    hold 0-300 households (units a large share of a grid: lumpy); the other methods run
    community by community (their times summed, the peak is the largest);
``sample``
    issue 3: the generated sample district with its communities merged into one region
    (about ``--units`` units);
``narrow``
    issue 10: the sample project (``sample-geodata/ningbo-jiangbei.gpkg``, 12
    communities) in the narrow bands [300, 360] and [380, 420] (target the middle):
    where a plan exists BeatGrid must find it, where none does it must prove it
    (``infeasible`` or ``no_grid_count_fits`` in the reasons, never ``search_limit``),
    in seconds;
``million``
    the whole generated sample of ``--households`` (1,000,000) households, 400
    communities, planned from the layers by ``generate_grids(..., workers=2)`` (units
    built inside): wall time and peak memory (main process + largest worker).

BeatGrid: ``generate_grids(..., units=...)``. spopt: threshold 300 households, unit
centroids as attributes, one construction and one annealing iteration (its defaults, 99
and 10, take hours on these inputs). GerryChain: the grid count BeatGrid chose, target
households / k, epsilon so that the band is [300, 500] around the target. Figures per
method: wall and CPU seconds, regions, share of regions with 300-500 households, mean
Polsby-Popper of the regions, street-border share (of the borders between regions, the
length running along streets: unit borders between different street blocks) and peak
resident memory of the process (it includes the units it inherited, ``base MB``).

The machine is shared: CPU seconds (``time.process_time`` of the method's process) are
the better measure of the work; the load average is printed with every run. Run the
script under ``taskset -c 1`` to pin it to one core.

Usage::

    .venv/bin/python benchmarks/bench_grids.py --quick            # small sizes, ~2 minutes
    .venv/bin/python benchmarks/bench_grids.py --families big --sizes 2000,8000,32000
    .venv/bin/python benchmarks/bench_grids.py --families large --methods beatgrid
    .venv/bin/python benchmarks/bench_grids.py --families million
    .venv/bin/python benchmarks/bench_grids.py --families narrow
    .venv/bin/python benchmarks/bench_grids.py --json grids.json
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import resource
import sys
import time
import warnings
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import geopandas as gpd  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import shapely  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from grid_fixtures import big_community, large_building_district  # noqa: E402

from beatgrid.gis.config import default_config  # noqa: E402
from beatgrid.gis.grids.band import band_from_settings  # noqa: E402
from beatgrid.gis.grids.partition import generate_grids  # noqa: E402
from beatgrid.gis.grids.units import build_units  # noqa: E402
from beatgrid.gis.sample import generate_district  # noqa: E402

#: Units per household in the sample district (measured): used to size ``sample``.
UNITS_PER_HOUSEHOLD = 0.1
METHODS = ("beatgrid", "spopt", "gerrychain")
LABELS = {"beatgrid": "BeatGrid", "spopt": "spopt MaxPHeuristic",
          "gerrychain": "GerryChain recursive_tree_part"}


# -- the families ------------------------------------------------------------------------

def family_big(n_buildings: int, seed: int):
    layers = big_community(buildings=n_buildings, seed=seed)
    return layers, _units(layers)


def family_large(n_communities: int, seed: int):
    layers = large_building_district(communities=n_communities, seed=seed)
    return layers, _units(layers)


def family_sample(n_units: int, seed: int):
    households = max(5000, int(n_units / UNITS_PER_HOUSEHOLD))
    d = generate_district(households=households, seed=seed)
    comm = d["communities"]
    region = gpd.GeoDataFrame({"id": ["R"], "code": [""]},
                              geometry=[shapely.union_all(comm.geometry.values)], crs=comm.crs)
    layers = {"communities": region, "streets": d["streets"],
              "buildings": d["buildings"].assign(community_id="R"), "estates": d["estates"]}
    return layers, _units(layers)


def family_narrow():
    from beatgrid.gis import Project

    path = Path(__file__).resolve().parents[1] / "sample-geodata" / "ningbo-jiangbei.gpkg"
    layers = Project.open(path).read(["communities", "streets", "buildings", "estates"])
    return layers, _units(layers)


def _units(layers):
    return build_units(layers["communities"], layers["streets"], layers["buildings"],
                       estates=layers.get("estates"))


# -- the methods (each run in a forked process) ------------------------------------------

def run_beatgrid(layers, units, settings, _seed):
    plan = generate_grids(layers["communities"], layers["streets"], layers["buildings"],
                          units=units, settings=settings)
    gid = pd.Series(plan.unit_grid)
    labels = pd.factorize(gid)[0]
    return labels, {"reasons": plan.grids["reason"].replace("", "ok").value_counts().to_dict()}


def _per_community(units, fn):
    """Run ``fn(sub_units, sub_edges, rows)`` per community; labels made globally unique."""
    u = units.units
    e = units.edges
    labels = np.full(len(u), -1, dtype=np.int64)
    offset = 0
    for cid in pd.unique(u["community_id"]):
        rows = np.flatnonzero(u["community_id"].to_numpy() == cid)
        loc = np.full(len(u), -1, dtype=np.int64)
        loc[rows] = np.arange(len(rows))
        keep = (loc[e["i"].to_numpy()] >= 0) & (loc[e["j"].to_numpy()] >= 0)
        sub_e = pd.DataFrame({"i": loc[e["i"].to_numpy()[keep]], "j": loc[e["j"].to_numpy()[keep]]})
        got = fn(u.iloc[rows].reset_index(drop=True), sub_e, rows)
        labels[rows] = got + offset
        offset = int(labels.max()) + 1
    return labels


def run_spopt(layers, units, settings, seed):
    from libpysal.weights import W
    from spopt.region import MaxPHeuristic

    lo = band_from_settings(settings).lo

    def one(u, e, _rows):
        n = len(u)
        if u["households"].sum() < lo or n < 2:
            return np.zeros(n, dtype=np.int64)
        neigh = {i: [] for i in range(n)}
        for a, b in zip(e["i"], e["j"]):
            neigh[int(a)].append(int(b))
            neigh[int(b)].append(int(a))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            w = W(neigh, silence_warnings=True)
        gdf = u[["households", "geometry"]].copy()
        cent = shapely.get_coordinates(shapely.point_on_surface(u.geometry.values))
        gdf["cx"], gdf["cy"] = cent[:, 0], cent[:, 1]
        np.random.seed(seed)
        model = MaxPHeuristic(gdf, w, ["cx", "cy"], "households", lo, top_n=2,
                              max_iterations_construction=1, max_iterations_sa=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.solve()
        return pd.factorize(np.asarray(model.labels_))[0]

    return _per_community(units, one), {}


def run_gerrychain(layers, units, settings, seed, counts):
    import networkx as nx
    from gerrychain import Graph
    from gerrychain.partition.initial_partition_generators import recursive_tree_part

    band = band_from_settings(settings)

    def one(u, e, rows):
        k = int(counts.get(u["community_id"].iloc[0], 1))
        if k <= 1:
            return np.zeros(len(u), dtype=np.int64)
        g = nx.Graph()
        for i, h in enumerate(u["households"].to_numpy()):
            g.add_node(i, households=int(h))
        g.add_edges_from(zip(e["i"].tolist(), e["j"].tolist()))
        graph = Graph.from_networkx(g)
        target = float(u["households"].sum()) / k
        epsilon = max(min(target - band.lo, band.hi - target) / target, 0.01)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assignment = recursive_tree_part(graph, range(k), target, "households", epsilon,
                                             rng=seed)
        return np.array([assignment[i] for i in range(len(u))])

    return _per_community(units, one), {}


def _child(conn, method, layers, units, settings, seed, counts):
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        if method == "beatgrid":
            labels, extra = run_beatgrid(layers, units, settings, seed)
        elif method == "spopt":
            labels, extra = run_spopt(layers, units, settings, seed)
        else:
            labels, extra = run_gerrychain(layers, units, settings, seed, counts)
        out = {"labels": labels, "extra": extra}
    except Exception as exc:  # noqa: BLE001 - reported in the table
        out = {"error": repr(exc)[:200]}
    out["seconds"] = time.perf_counter() - t0
    out["cpu"] = time.process_time() - c0
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    conn.send(out)
    conn.close()


def run_method(method, layers, units, settings, seed, counts, timeout):
    """Run one method in a forked process; its figures, or a timeout / error row."""
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, method, layers, units, settings, seed,
                                            counts))
    proc.start()
    child.close()
    got = parent.recv() if parent.poll(timeout) else None
    if got is None:
        proc.kill()
    proc.join()
    return got


# -- figures -----------------------------------------------------------------------------

def polsby_popper(units: gpd.GeoDataFrame, labels: np.ndarray) -> np.ndarray:
    """Polsby-Popper of the union of the units of each label."""
    out = []
    geo = units.geometry.values
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.unique(labels))
    bounds = np.r_[bounds, len(labels)]
    for a, b in zip(bounds[:-1], bounds[1:]):
        parts = geo[order[a:b]]
        try:
            g = shapely.coverage_union_all(parts)
        except shapely.errors.GEOSException:
            g = shapely.union_all(parts)
        out.append(4 * np.pi * g.area / g.length ** 2 if g.length else np.nan)
    return np.array(out)


def street_share(units, labels: np.ndarray) -> float:
    """Of the borders between regions, the share of length running along streets."""
    e = units.edges
    i, j = e["i"].to_numpy(), e["j"].to_numpy()
    cut = labels[i] != labels[j]
    total = e["length_m"].to_numpy()[cut].sum()
    on = e["length_m"].to_numpy()[cut & e["street"].to_numpy()].sum()
    return float(on / total) if total else float("nan")


def figures(method, got, units, band, base_mb):
    row = {"method": LABELS[method]}
    if got is None:
        return {**row, "error": "timeout"}
    if "error" in got:
        return {**row, "error": got["error"], "seconds": round(got["seconds"], 1)}
    u = units.units
    labels = np.asarray(got["labels"])
    hh = pd.Series(u["households"].to_numpy()).groupby(labels).sum()
    row.update({
        "seconds": round(got["seconds"], 2), "cpu_s": round(got["cpu"], 2),
        "regions": int(len(hh)),
        "share_in_band": round(float(((hh >= band.lo) & (hh <= band.hi)).mean()), 3),
        "polsby_popper": round(float(np.nanmean(polsby_popper(u, labels))), 3),
        "street_share": round(street_share(units, labels), 3),
        "peak_mb": round(got["peak_mb"]), "base_mb": round(base_mb),
    })
    if got.get("extra", {}).get("reasons"):
        row["reasons"] = got["extra"]["reasons"]
    return row


def markdown(rows) -> str:
    """The rows as a Markdown table (the reasons left out)."""
    cols = [c for c in ("method", "seconds", "cpu_s", "regions", "share_in_band",
                        "polsby_popper", "street_share", "peak_mb", "base_mb", "error")
            if any(c in r for r in rows)]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        lines.append("| " + " | ".join(str(r.get(c, "")) for c in cols) + " |")
    return "\n".join(lines)


def _rss_mb() -> float:
    try:
        with open("/proc/self/status", encoding="utf-8") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:  # pragma: no cover
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def compare(name, layers, units, args, out, settings=None):
    settings = default_config().grids if settings is None else settings
    band = band_from_settings(settings)
    u = units.units
    print(f"\n## {name}: {len(u):,} units ({(u['kind'] == 'cell').sum():,} building cells), "
          f"{int(u['households'].sum()):,} households, {u['community_id'].nunique()} "
          f"communit{'y' if u['community_id'].nunique() == 1 else 'ies'}; load "
          f"{os.getloadavg()[0]:.1f}", flush=True)
    base_mb = _rss_mb()
    rows = []
    counts: dict = {}
    for method in args.methods:
        got = run_method(method, layers, units, settings, args.seed, counts, args.timeout)
        if method == "beatgrid" and got is not None and "labels" in got:
            lab = np.asarray(got["labels"])
            counts = pd.Series(lab).groupby(u["community_id"].to_numpy()).nunique().to_dict()
        rows.append(figures(method, got, units, band, base_mb))
        print(rows[-1], flush=True)
    print(markdown(rows))
    out.setdefault("comparisons", []).append({"family": name, "units": int(len(u)),
                                              "households": int(u["households"].sum()),
                                              "rows": rows})


def part_million(args, out):
    t0 = time.perf_counter()
    layers = generate_district(households=args.households, seed=args.seed)
    gen = time.perf_counter() - t0
    print(f"\n## million: {args.households:,} households, {len(layers['buildings']):,} "
          f"buildings, {len(layers['communities'])} communities (generated in {gen:.1f} s, "
          f"not counted); load {os.getloadavg()[0]:.1f}", flush=True)
    t0, c0 = time.perf_counter(), time.process_time()
    plan = generate_grids(layers["communities"], layers["streets"], layers["buildings"],
                          estates=layers["estates"], workers=args.workers)
    seconds = time.perf_counter() - t0
    self_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    child_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    g = plan.grids
    res = {"households": args.households, "seconds": round(seconds, 1),
           "cpu_s_main": round(time.process_time() - c0, 1),
           "cpu_s_workers": round(child_cpu.ru_utime + child_cpu.ru_stime, 1),
           "grids": int(len(g)), "units": int(len(plan.units.units)),
           "share_in_band": round(float(g["households"].between(300, 500).mean()), 4),
           "issues": int(len(plan.issues)), "peak_rss_mb_main": round(self_mb),
           "peak_rss_mb_largest_worker": round(child_mb), "workers": args.workers}
    print(res)
    print(f"1M-household sample: {seconds:.1f} s (target <= 30 s), peak memory "
          f"{self_mb + child_mb:,.0f} MB main + largest worker (target <= 2,048 MB)")
    out["million"] = res


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--families", default="big,large,sample,narrow,million",
                   help="comma-separated: big, large, sample, narrow, million")
    p.add_argument("--sizes", default="2000,8000,32000", help="buildings of the big family")
    p.add_argument("--communities", type=int, default=40, help="communities of the large family")
    p.add_argument("--units", type=int, default=8000, help="units of the sample family")
    p.add_argument("--households", type=int, default=1_000_000, help="size of the million family")
    p.add_argument("--workers", type=int, default=2, help="processes for the million family")
    p.add_argument("--methods", default=",".join(METHODS), help="comma-separated methods")
    p.add_argument("--timeout", type=float, default=900.0, help="seconds per method and family")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true",
                   help="small sizes: big 2,000 buildings, large 8 communities, sample 2,000 "
                        "units, no million (a few minutes)")
    p.add_argument("--json", help="write the figures to this JSON file")
    args = p.parse_args(argv)
    families = [f.strip() for f in args.families.split(",") if f.strip()]
    args.methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if args.quick:
        sizes, args.communities, args.units = [2000], 8, 2000
        families = [f for f in families if f != "million"]
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs visible, affinity "
          f"{len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else '?'}, "
          f"load {os.getloadavg()}")
    out: dict = {"load_at_start": os.getloadavg()}
    if "big" in families:
        for n in sizes:
            layers, units = family_big(n, args.seed)
            compare(f"big community, {n:,} buildings", layers, units, args, out)
    if "large" in families:
        layers, units = family_large(args.communities, args.seed)
        compare(f"large buildings, {args.communities} communities", layers, units, args, out)
    if "sample" in families:
        layers, units = family_sample(args.units, args.seed)
        compare("sample district as one region", layers, units, args, out)
    if "narrow" in families:
        layers, units = family_narrow()
        for lo, hi in ((300, 360), (380, 420)):
            settings = default_config().replace(grids={"band": {
                "min_households": lo, "max_households": hi, "target_households": (lo + hi) // 2}})
            compare(f"sample in [{lo}, {hi}]", layers, units, args, out, settings.grids)
    if "million" in families:
        part_million(args, out)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(out, f, indent=2, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
