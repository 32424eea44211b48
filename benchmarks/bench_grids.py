"""Benchmark: basic grids (issue #3) against spopt max-p and GerryChain, and the 1M sample.

Part 1 feeds the *same atomic units* (street blocks and building cells of one region,
about ``--units`` of them) to

* BeatGrid (:func:`beatgrid.gis.grids.partition.generate_grids` with ``units=``; the
  ``project.grids.generate`` of a project calls it),
* spopt ``MaxPHeuristic`` (threshold 300 households, attributes: unit centroids; one
  construction and one annealing iteration by default — spopt's defaults, 99 and 10,
  take far longer),
* GerryChain ``recursive_tree_part`` (the count BeatGrid chose, target households / k,
  epsilon so that the band is [300, 500] around the target),

and prints, for each, the time, the share of regions with 300-500 households and the
mean Polsby-Popper of the regions. Targets: BeatGrid at least 50 x faster than spopt,
100 % in range where a valid plan exists, compactness no worse than GerryChain's.

Part 2 plans the whole generated sample of ``--households`` (1,000,000) households on at
most 2 cores: wall time (target <= 60 s) and peak memory (target <= 4 GB: the largest
resident set of this process plus that of the largest worker).

Usage::

    .venv/bin/python benchmarks/bench_grids.py                      # both parts
    .venv/bin/python benchmarks/bench_grids.py --units 8000 --skip-million
    .venv/bin/python benchmarks/bench_grids.py --skip-spopt --households 200000
    .venv/bin/python benchmarks/bench_grids.py --json results.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
import warnings

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "2")
if hasattr(os, "sched_setaffinity"):
    try:
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:2])
    except OSError:  # pragma: no cover
        pass

import geopandas as gpd  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import shapely  # noqa: E402

from beatgrid.gis.config import default_config  # noqa: E402
from beatgrid.gis.grids.band import band_from_settings  # noqa: E402
from beatgrid.gis.grids.partition import generate_grids  # noqa: E402
from beatgrid.gis.grids.units import build_units  # noqa: E402
from beatgrid.gis.sample import generate_district  # noqa: E402

#: Units per household in the sample district (measured): used to size part 1.
UNITS_PER_HOUSEHOLD = 0.1


def region_units(n_units: int, seed: int):
    """Atomic units of one region of about ``n_units`` units (the sample, communities merged)."""
    households = max(5000, int(n_units / UNITS_PER_HOUSEHOLD))
    layers = generate_district(households=households, seed=seed)
    comm = layers["communities"]
    region = gpd.GeoDataFrame({"id": ["R"], "code": [""]},
                              geometry=[shapely.union_all(comm.geometry.values)], crs=comm.crs)
    bld = layers["buildings"].assign(community_id="R")
    units = build_units(region, layers["streets"], bld, estates=layers["estates"])
    return region, layers, bld, units


def polsby_popper(units: gpd.GeoDataFrame, labels: np.ndarray) -> np.ndarray:
    """Polsby-Popper of the union of the units of each label."""
    out = []
    geo = units.geometry.values
    for lab in np.unique(labels):
        parts = geo[labels == lab]
        try:
            g = shapely.coverage_union_all(parts)
        except shapely.errors.GEOSException:
            g = shapely.union_all(parts)
        out.append(4 * np.pi * g.area / g.length ** 2 if g.length else np.nan)
    return np.array(out)


def summarise(name, seconds, units, labels, lo, hi):
    hh = pd.Series(units["households"].to_numpy()).groupby(labels).sum()
    pp = polsby_popper(units, labels)
    return {"method": name, "seconds": round(seconds, 2), "regions": int(len(hh)),
            "share_in_range": round(float(((hh >= lo) & (hh <= hi)).mean()), 3),
            "min": int(hh.min()), "max": int(hh.max()),
            "polsby_popper_mean": round(float(np.nanmean(pp)), 3)}


def run_beatgrid(region, layers, bld, units, settings):
    t0 = time.perf_counter()
    plan = generate_grids(region, layers["streets"], bld, units=units, settings=settings)
    seconds = time.perf_counter() - t0
    gid = pd.Series(plan.unit_grid)
    labels = pd.factorize(gid)[0]
    return seconds, labels, int(gid.nunique())


def run_spopt(units, edges, threshold, seed, construction=1, sa=1):
    from libpysal.weights import W
    from spopt.region import MaxPHeuristic

    n = len(units)
    neigh = {i: [] for i in range(n)}
    for a, b in zip(edges["i"], edges["j"]):
        neigh[int(a)].append(int(b))
        neigh[int(b)].append(int(a))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = W(neigh, silence_warnings=True)
    gdf = units[["households", "geometry"]].copy()
    cent = shapely.get_coordinates(shapely.point_on_surface(units.geometry.values))
    gdf["cx"], gdf["cy"] = cent[:, 0], cent[:, 1]
    np.random.seed(seed)
    t0 = time.perf_counter()
    model = MaxPHeuristic(gdf, w, ["cx", "cy"], "households", threshold, top_n=2,
                          max_iterations_construction=construction, max_iterations_sa=sa)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.solve()
    return time.perf_counter() - t0, np.asarray(model.labels_)


def run_gerrychain(units, edges, k, lo, hi, seed):
    import networkx as nx
    from gerrychain import Graph
    from gerrychain.partition.initial_partition_generators import recursive_tree_part

    g = nx.Graph()
    for i, h in enumerate(units["households"].to_numpy()):
        g.add_node(i, households=int(h))
    g.add_edges_from(zip(edges["i"].tolist(), edges["j"].tolist()))
    graph = Graph.from_networkx(g)
    total = float(units["households"].sum())
    target = total / k
    epsilon = min(target - lo, hi - target) / target
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assignment = recursive_tree_part(graph, range(k), target, "households", epsilon,
                                         rng=seed)
    seconds = time.perf_counter() - t0
    return seconds, np.array([assignment[i] for i in range(len(units))])


def part_one(args, out):
    settings = default_config().grids
    band = band_from_settings(settings)
    t0 = time.perf_counter()
    region, layers, bld, units = region_units(args.units, args.seed)
    u = units.units
    print(f"region: {len(u):,} atomic units ({(u['kind'] == 'cell').sum():,} building cells), "
          f"{int(u['households'].sum()):,} households, units built in "
          f"{time.perf_counter() - t0:.1f} s")
    rows = []
    seconds, labels, k = run_beatgrid(region, layers, bld, units, settings)
    rows.append(summarise("BeatGrid", seconds, u, labels, band.lo, band.hi))
    print(rows[-1], flush=True)
    if not args.skip_gerrychain:
        try:
            seconds, labels = run_gerrychain(u, units.edges, k, band.lo, band.hi, args.seed)
            rows.append(summarise("GerryChain recursive_tree_part", seconds, u, labels,
                                  band.lo, band.hi))
        except Exception as exc:  # noqa: BLE001 - report and go on
            rows.append({"method": "GerryChain recursive_tree_part", "error": repr(exc)[:200]})
        print(rows[-1], flush=True)
    if not args.skip_spopt:
        seconds, labels = run_spopt(u, units.edges, band.lo, args.seed,
                                    args.spopt_construction, args.spopt_sa)
        rows.append(summarise("spopt MaxPHeuristic", seconds, u, labels, band.lo, band.hi))
        print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    print(table.to_string(index=False))
    bg = rows[0]
    sp = next((r for r in rows if r["method"].startswith("spopt") and "seconds" in r), None)
    if sp:
        print(f"BeatGrid is {sp['seconds'] / max(bg['seconds'], 1e-9):.0f} x faster than spopt")
    out["comparison"] = rows
    out["units"] = int(len(u))


def part_two(args, out):
    t0 = time.perf_counter()
    layers = generate_district(households=args.households, seed=args.seed)
    gen = time.perf_counter() - t0
    print(f"sample: {args.households:,} households, {len(layers['buildings']):,} buildings, "
          f"{len(layers['communities'])} communities (generated in {gen:.1f} s, not counted)",
          flush=True)
    t0 = time.perf_counter()
    plan = generate_grids(layers["communities"], layers["streets"], layers["buildings"],
                          estates=layers["estates"], workers=args.workers)
    seconds = time.perf_counter() - t0
    self_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    g = plan.grids
    res = {"households": args.households, "seconds": round(seconds, 1),
           "grids": int(len(g)), "units": int(len(plan.units.units)),
           "share_in_range": round(float(g["households"].between(300, 500).mean()), 4),
           "issues": int(len(plan.issues)), "peak_rss_mb_main": round(self_mb),
           "peak_rss_mb_largest_worker": round(child_mb), "workers": args.workers}
    print(res)
    print(f"1M-household sample: {seconds:.1f} s (target <= 60 s), peak memory "
          f"{self_mb + child_mb:,.0f} MB main + largest worker (target <= 4,096 MB)")
    out["million"] = res


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--units", type=int, default=8000, help="atomic units of part 1")
    p.add_argument("--households", type=int, default=1_000_000, help="sample size of part 2")
    p.add_argument("--workers", type=int, default=2, help="processes for part 2 (2 cores)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--skip-spopt", action="store_true", help="spopt takes minutes")
    p.add_argument("--spopt-construction", type=int, default=1,
                   help="spopt max_iterations_construction (its default 99 takes hours here)")
    p.add_argument("--spopt-sa", type=int, default=1,
                   help="spopt max_iterations_sa (its default is 10)")
    p.add_argument("--skip-gerrychain", action="store_true")
    p.add_argument("--skip-comparison", action="store_true")
    p.add_argument("--skip-million", action="store_true")
    p.add_argument("--json", help="write the figures to this JSON file")
    args = p.parse_args(argv)
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs visible, "
          f"affinity {len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else '?'}")
    out: dict = {}
    if not args.skip_comparison:
        part_one(args, out)
    if not args.skip_million:
        part_two(args, out)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(out, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
