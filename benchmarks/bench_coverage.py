"""Benchmark: camera occlusion for a whole city, and camera placement.

    .venv/bin/python benchmarks/bench_coverage.py                 # full run (~3 minutes)
    .venv/bin/python benchmarks/bench_coverage.py --quick         # small city, seconds
    .venv/bin/python benchmarks/bench_coverage.py --json out.json --cache /tmp/bgcache

1. **Occlusion**: every camera of the scaled generated sample district (~1,000,000
   households: ~10,000 cameras among ~100,000 buildings) gets its visibility polygon,
   whole view and the four IEC 62676-4:2014 quality zones (target: at most 10 s on 2
   cores). The same step by a plain per-camera shapely loop (STRtree query, field of view
   minus buildings minus edge shadows) is timed on a random sample of cameras and
   extrapolated; its polygons give the accuracy (IoU) of the vectorised ones. A second,
   dense scene puts 10,000 cameras on estate walls among the buildings.
2. **Coverage statistics**: ``analyse_coverage`` on those views (figures per estate,
   beat, station and community, blind spots, the old-estate ranking), step by step
   (``SeenIndex``: the union of the views per level; ``coverage_stats``; ``blind_spots``;
   ``estate_risk``), and end to end with the views computed inside.
3. **Placement**: 500 new cameras among 10,000 candidate poses over 100,000 demand points
   (unseen open space of the estates) by lazy greedy (target: at most 5 s, coverage
   matrix included; the demand is the 100,000 unseen estate points nearest to the city
   centre, the poses a random 10,000 of the candidates that can see them), side by side
   with PySAL spopt's MCLP (pulp model from a dense cost
   matrix, HiGHS) and BeatGrid's own HiGHS ILP on a sub-instance small enough for spopt;
   the full instance cannot even be handed to spopt (a dense 100,000 x 10,000 cost matrix
   is 8 GB).

Figures are printed as a Markdown table (and written as JSON with ``--json``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from beatgrid.gis.config import Config
from beatgrid.gis.coverage import visibility as V
from beatgrid.gis.coverage.analysis import analyse_coverage
from beatgrid.gis.coverage.blind_spots import blind_spots
from beatgrid.gis.coverage.candidates import candidate_poses, coverage_matrix, demand_points
from beatgrid.gis.coverage.fov import camera_parameters, coverage_settings
from beatgrid.gis.coverage.raycast import Occluders
from beatgrid.gis.coverage.risk import estate_risk
from beatgrid.gis.coverage.seen import SeenIndex
from beatgrid.gis.coverage.solvers import lazy_greedy, solve_ilp
from beatgrid.gis.coverage.stats import coverage_stats
from beatgrid.gis.coverage.zones import zones_from_layers
from beatgrid.gis.crs import metric_crs

LAYERS = ("buildings", "cameras", "estates", "streets", "incidents", "beats", "stations",
          "communities")


def _now():
    return time.perf_counter()


def load_district(households: int, seed: int, cache: str | None) -> dict:
    """The generated sample district (cached as GeoParquet when ``cache`` is given)."""
    if cache:
        d = Path(cache)
        files = {k: d / f"district-{households}-{seed}-{k}.parquet" for k in LAYERS}
        if all(f.exists() for f in files.values()):
            return {k: gpd.read_parquet(f) for k, f in files.items()}
    from beatgrid.gis.sample import generate_district

    last = None
    for s in (seed, seed + 1, seed + 2):   # a seed the generator rejects: try the next one
        try:
            layers = generate_district(households=households, seed=s)
            break
        except RuntimeError as exc:
            last = exc
    else:
        raise last
    out = {k: layers[k] for k in LAYERS}
    if cache:
        Path(cache).mkdir(parents=True, exist_ok=True)
        for k, f in files.items():
            out[k].to_parquet(f)
    return out


def bench_occlusion(layers: dict, *, loop_sample: int, rows: list, figures: dict):
    cams, blds = layers["cameras"], layers["buildings"]
    crs = metric_crs(cams, layer="cameras")
    cm, bm = cams.to_crs(crs), blds.to_crs(crs)
    params = camera_parameters(cm)
    lev = params[[c for c in params.columns if c.startswith("d_")]].to_numpy()
    figures.update(cameras=len(cm), buildings=len(bm))
    t = _now()
    occ = Occluders(bm.geometry.values)
    t_occ = _now() - t
    x, y = cm.geometry.x.to_numpy(), cm.geometry.y.to_numpy()
    kw = dict(direction_deg=params["direction"].to_numpy(), fov_deg=params["fov_deg"].to_numpy(),
              range_m=params["range_m"].to_numpy(), near_m=params["near_m"].to_numpy(),
              occluders=occ)
    t = _now()
    res_all = V.visibility_polygons(x, y, **kw)
    t_all = _now() - t
    t = _now()
    res_lev = V.visibility_polygons(x, y, level_distances=lev, **kw)
    t_lev = _now() - t
    t = _now()
    views = V.camera_views(cams, blds, metric=True)
    t_views = _now() - t
    rows.append((f"occlusion: prepare {len(bm):,} buildings ({occ.n_edges:,} edges) + STRtree",
                 t_occ))
    rows.append((f"occlusion: {len(cm):,} cameras, whole view ({res_all.n_rays:,} rays, "
                 f"{res_all.n_pairs:,} ray/edge pairs)", t_all))
    rows.append((f"occlusion: {len(cm):,} cameras, whole view + 4 quality zones "
                 f"({len(res_lev.geometry):,} polygons)", t_lev))
    rows.append(("occlusion: camera_views() end to end (CRS, defaults, edges, views)", t_views))
    figures.update(occluders_s=t_occ, views_all_s=t_all, views_levels_s=t_lev,
                   camera_views_s=t_views, rays=res_all.n_rays, pairs=res_all.n_pairs)
    # invariants on everything: valid, never inside a building
    geo = res_all.geometry
    figures["invalid_views"] = int((~shapely.is_valid(geo)).sum())
    tree = shapely.STRtree(bm.geometry.values)
    vi, bi = tree.query(geo, predicate="intersects")
    inside = shapely.area(shapely.intersection(geo[vi], bm.geometry.values[bi])) if len(vi) \
        else np.zeros(1)
    figures["max_view_area_inside_a_building_m2"] = float(inside.max())
    # the per-camera shapely loop on a sample: time and accuracy
    rng = np.random.default_rng(0)
    pick = rng.choice(len(cm), min(loop_sample, len(cm)), replace=False)
    t = _now()
    ref = V.views_shapely_loop(x[pick], y[pick], direction_deg=kw["direction_deg"][pick],
                               fov_deg=kw["fov_deg"][pick], range_m=kw["range_m"][pick],
                               near_m=kw["near_m"][pick], buildings=bm.geometry.values,
                               arc_step_deg=0.25)
    t_loop = _now() - t
    per = t_loop / len(pick)
    inter = shapely.area(shapely.intersection(geo[pick], ref))
    union = shapely.area(geo[pick]) + shapely.area(ref) - inter
    iou = np.where(union > 0, inter / np.where(union > 0, union, 1), 1.0)
    rows.append((f"shapely loop, per camera (sample of {len(pick)}), extrapolated to "
                 f"{len(cm):,} cameras", per * len(cm)))
    figures.update(loop_per_camera_s=per, loop_extrapolated_s=per * len(cm),
                   iou_min=float(iou.min()), iou_mean=float(iou.mean()))
    return views


def bench_dense(layers: dict, *, n: int, rows: list, figures: dict):
    """10,000 cameras on estate walls among the buildings (many occluders per view)."""
    cfg = coverage_settings()
    blds = layers["buildings"]
    crs = metric_crs(blds, layer="buildings")
    bm = blds.to_crs(crs)
    in_est = blds["estate_id"].notna().to_numpy() if "estate_id" in blds.columns else None
    poses = candidate_poses(bm[in_est] if in_est is not None and in_est.any() else bm,
                            settings=Config.load(coverage={"placement": {
                                "use_lamps": False}}).coverage)
    rng = np.random.default_rng(1)
    poses = poses.iloc[rng.choice(len(poses), min(n, len(poses)), replace=False)]
    params = camera_parameters(poses, settings=cfg)
    lev = params[[c for c in params.columns if c.startswith("d_")]].to_numpy()
    occ = Occluders(bm.geometry.values)
    t = _now()
    res = V.visibility_polygons(poses.geometry.x.to_numpy(), poses.geometry.y.to_numpy(),
                                direction_deg=params["direction"].to_numpy(),
                                fov_deg=params["fov_deg"].to_numpy(),
                                range_m=params["range_m"].to_numpy(),
                                near_m=params["near_m"].to_numpy(), level_distances=lev,
                                occluders=occ)
    took = _now() - t
    rows.append((f"occlusion, dense: {len(poses):,} wall cameras in estates + 4 zones "
                 f"({res.n_pairs:,} ray/edge pairs)", took))
    figures.update(dense_cameras=len(poses), dense_views_levels_s=took,
                   dense_pairs=res.n_pairs)


def bench_statistics(layers: dict, views, *, rows: list, figures: dict):
    """Coverage statistics of the whole city from the views (the step after occlusion)."""
    cfg = coverage_settings()
    zones = zones_from_layers(layers, settings=cfg)
    crs = metric_crs(next(iter(zones.values())), layer="zones")
    vm = views.to_crs(crs)
    t = _now()
    seen = SeenIndex(vm, crs=crs)
    t_seen = _now() - t
    t = _now()
    stats = coverage_stats(vm, zones=zones, buildings=layers["buildings"],
                           cameras=layers["cameras"], settings=cfg, seen=seen)
    t_stats = _now() - t
    t = _now()
    bs = blind_spots(vm, zones={"estate": layers["estates"]}, buildings=layers["buildings"],
                     settings=cfg, seen=seen)
    t_blind = _now() - t
    t = _now()
    estate_risk(layers["estates"], stats=stats, buildings=layers["buildings"],
                incidents=layers["incidents"], settings=cfg)
    t_risk = _now() - t
    t = _now()
    analyse_coverage(layers, views=vm, settings=cfg)
    t_given = _now() - t
    t = _now()
    analyse_coverage(layers, settings=cfg)
    t_all = _now() - t
    n_zones = ", ".join(f"{len(z):,} {'communities' if k == 'community' else k + 's'}"
                        for k, z in zones.items())
    rows.append((f"statistics: SeenIndex (union of {len(vm):,} views per level, "
                 f"{sum(len(p) for p in seen.pieces.values()):,} pieces)", t_seen))
    rows.append((f"statistics: coverage_stats ({n_zones})", t_stats))
    rows.append((f"statistics: blind_spots ({len(bs):,} in {len(layers['estates']):,} estates)",
                 t_blind))
    rows.append(("statistics: estate_risk", t_risk))
    rows.append(("statistics: analyse_coverage() with the views given (all of the above)",
                 t_given))
    rows.append(("analyse_coverage() end to end (views + statistics)", t_all))
    figures.update(seen_index_s=t_seen, coverage_stats_s=t_stats, blind_spots_s=t_blind,
                   estate_risk_s=t_risk, statistics_s=t_given, analyse_coverage_s=t_all,
                   blind_spots=len(bs))


def bench_placement(layers: dict, views, *, n_demand: int, n_poses: int, budget: int,
                    spopt_demand: int, spopt_poses: int, spopt_budget: int, loop_sample: int,
                    rows: list, figures: dict):
    cfg = coverage_settings()
    est, blds = layers["estates"], layers["buildings"]
    crs = metric_crs(est, layer="estates")
    bm = blds.to_crs(crs)
    seen = SeenIndex(views, crs=crs, multi=False)
    t = _now()
    demand = demand_points(est.geometry, buildings=blds, seen=seen,
                             incidents=layers.get("incidents"), crs=crs, settings=cfg)
    t_dem = _now() - t
    rng = np.random.default_rng(2)
    if len(demand) > n_demand:
        # one compact part of the city: the demand points nearest to the centre of them all
        xy = shapely.get_coordinates(demand.geometry.values)
        dist = np.hypot(*(xy - np.median(xy, axis=0)).T)
        demand = demand.iloc[np.sort(np.argsort(dist, kind="stable")[:n_demand])]
    demand = demand.reset_index(drop=True)
    t = _now()
    region = shapely.buffer(shapely.convex_hull(shapely.multipoints(
        shapely.get_coordinates(demand.geometry.values))), 30.0)
    near_b = shapely.STRtree(bm.geometry.values).query(region, predicate="intersects")
    streets = layers["streets"]
    sm = streets.to_crs(crs)
    streets = streets[shapely.intersects(region, sm.geometry.values)]
    poses = candidate_poses(blds.iloc[np.unique(near_b)], streets, settings=cfg)
    poses = poses.to_crs(crs)
    near = shapely.STRtree(demand.geometry.values).query(
        poses.geometry.values, predicate="dwithin", distance=cfg["placement"]["range_m"])[0]
    poses = poses.iloc[np.unique(near)]
    if len(poses) > n_poses:
        poses = poses.iloc[np.sort(rng.choice(len(poses), n_poses, replace=False))]
    poses = poses.reset_index(drop=True)
    t_cand = _now() - t
    occ = Occluders(bm.geometry.values)
    t = _now()
    A = coverage_matrix(poses, demand, occluders=occ, settings=cfg)
    t_mat = _now() - t
    w = demand["weight"].to_numpy()
    t = _now()
    g = lazy_greedy(A, w, budget, sites=poses["site"].to_numpy())
    t_greedy = _now() - t
    rows.append((f"placement: demand points (estate open space, unseen) -> {len(demand):,} "
                 f"used", t_dem))
    rows.append((f"placement: candidate poses -> {len(poses):,} used", t_cand))
    rows.append((f"placement: coverage matrix {A.shape[0]:,} x {A.shape[1]:,} "
                 f"({A.nnz:,} non-zeros; visibility + point-in-polygon)", t_mat))
    rows.append((f"placement: lazy greedy, {len(g.selected)} cameras "
                 f"({g.evaluations:,} gain evaluations)", t_greedy))
    rows.append(("placement: matrix + greedy (the 5 s target)", t_mat + t_greedy))
    figures.update(demand=len(demand), poses=len(poses), nnz=int(A.nnz), matrix_s=t_mat,
                   greedy_s=t_greedy, placement_s=t_mat + t_greedy,
                   greedy_objective=g.objective, greedy_picked=len(g.selected),
                   demand_s=t_dem, candidates_s=t_cand)
    # the visibility step of placement by a plain shapely loop
    pick = rng.choice(len(poses), min(loop_sample, len(poses)), replace=False)
    params = camera_parameters(poses.iloc[pick], settings=cfg)
    t = _now()
    V.views_shapely_loop(poses.geometry.x.to_numpy()[pick], poses.geometry.y.to_numpy()[pick],
                         direction_deg=params["direction"].to_numpy(),
                         fov_deg=params["fov_deg"].to_numpy(),
                         range_m=params["range_m"].to_numpy(), near_m=params["near_m"].to_numpy(),
                         buildings=bm.geometry.values)
    per = (_now() - t) / len(pick)
    rows.append((f"placement visibility by shapely loop (sample {len(pick)}), extrapolated to "
                 f"{len(poses):,} poses", per * len(poses)))
    figures["placement_loop_extrapolated_s"] = per * len(poses)

    # sub-instance for spopt: the first demand points / poses with coverage
    sub_p = np.nonzero(A.getnnz(axis=0) > 0)[0][:spopt_poses]
    As = A[:, sub_p]
    sub_d = np.nonzero(As.getnnz(axis=1) > 0)[0][:spopt_demand]
    As = As[sub_d]
    ws = w[sub_d]
    t = _now()
    gs = lazy_greedy(As, ws, spopt_budget)
    t_gs = _now() - t
    t = _now()
    ilp = solve_ilp(As, ws, spopt_budget, time_limit=120)
    t_ilp = _now() - t
    rows.append((f"sub-instance {As.shape[0]:,} x {As.shape[1]:,}, p={spopt_budget}: "
                 f"lazy greedy (objective {gs.objective:,.1f})", t_gs))
    rows.append((f"sub-instance: BeatGrid HiGHS ILP (objective {ilp.objective:,.1f}, gap "
                 f"{100 * ilp.gap:.2f} %)", t_ilp))
    figures.update(sub_shape=list(As.shape), sub_greedy_s=t_gs, sub_greedy_obj=gs.objective,
                   sub_ilp_s=t_ilp, sub_ilp_obj=ilp.objective, sub_ilp_gap=ilp.gap)
    try:
        import pulp
        from spopt.locate import MCLP
    except ImportError:  # pragma: no cover - spopt is a bench extra
        rows.append(("spopt MCLP: not installed (pip install spopt)", float("nan")))
        return
    cost = np.where(As.toarray() > 0, 0.0, 100.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = _now()
        model = MCLP.from_cost_matrix(cost, ws, service_radius=1.0, p_facilities=spopt_budget)
        t_build = _now() - t
        t = _now()
        model.solve(pulp.HiGHS(msg=False, timeLimit=300))
        t_solve = _now() - t
    obj = float(model.problem.objective.value())
    cells = As.shape[0] * As.shape[1]
    full_cells = A.shape[0] * A.shape[1]
    rows.append((f"sub-instance: spopt MCLP build (dense {As.shape[0]:,} x {As.shape[1]:,} "
                 "cost matrix -> pulp)", t_build))
    rows.append((f"sub-instance: spopt MCLP solve (pulp + HiGHS; objective {obj:,.1f})",
                 t_solve))
    rows.append((f"full instance by spopt: build extrapolated (x{full_cells / cells:,.0f} "
                 f"cells; dense matrix {full_cells * 8 / 1e9:,.0f} GB): not run",
                 t_build * full_cells / cells))
    figures.update(spopt_build_s=t_build, spopt_solve_s=t_solve, spopt_obj=obj,
                   spopt_full_build_extrapolated_s=t_build * full_cells / cells)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--households", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="small city, small instances")
    ap.add_argument("--cache", help="folder to cache the generated district (GeoParquet)")
    ap.add_argument("--loop-sample", type=int, default=200)
    ap.add_argument("--demand", type=int, default=100_000)
    ap.add_argument("--poses", type=int, default=10_000)
    ap.add_argument("--budget", type=int, default=500)
    ap.add_argument("--spopt-demand", type=int, default=2_000)
    ap.add_argument("--spopt-poses", type=int, default=200)
    ap.add_argument("--spopt-budget", type=int, default=20)
    ap.add_argument("--json", help="write the figures to this JSON file")
    args = ap.parse_args(argv)
    if args.quick:
        args.households, args.loop_sample = 50_000, 50
        args.demand, args.poses, args.budget = 10_000, 1_000, 50
        args.spopt_demand, args.spopt_poses, args.spopt_budget = 500, 60, 5
    rows, figures = [], {"cpus": os.cpu_count(), "python": sys.version.split()[0]}
    t = _now()
    layers = load_district(args.households, args.seed, args.cache)
    rows.append((f"generate the sample district ({args.households:,} households)", _now() - t))
    views = bench_occlusion(layers, loop_sample=args.loop_sample, rows=rows, figures=figures)
    bench_dense(layers, n=10_000 if not args.quick else 1_000, rows=rows, figures=figures)
    bench_statistics(layers, views, rows=rows, figures=figures)
    bench_placement(layers, views, n_demand=args.demand, n_poses=args.poses,
                    budget=args.budget, spopt_demand=args.spopt_demand,
                    spopt_poses=args.spopt_poses, spopt_budget=args.spopt_budget,
                    loop_sample=args.loop_sample, rows=rows, figures=figures)
    print(f"\nBeatGrid coverage benchmark ({figures['cameras']:,} cameras, "
          f"{figures['buildings']:,} buildings; {figures['cpus']} CPUs)\n")
    print("| step | seconds |\n| --- | ---: |")
    for name, sec in rows:
        print(f"| {name} | {sec:,.2f} |")
    print(f"\naccuracy vs exact overlay on {args.loop_sample} cameras: IoU min "
          f"{figures['iou_min']:.5f}, mean {figures['iou_mean']:.5f}; invalid views "
          f"{figures['invalid_views']}; largest view area inside a building "
          f"{figures['max_view_area_inside_a_building_m2']:.2e} m2")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "figures": figures}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
