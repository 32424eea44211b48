"""Camera commands: ``coverage`` (views, statistics, blind spots, old-estate ranking) and
``cameras recommend`` (where the next N cameras should go).

Both open the project with ``--settings`` as its coverage section (camera defaults
included), call ``project.coverage`` (:mod:`beatgrid.gis.coverage.workflow`), write the
layers and the map, then print the report."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from beatgrid.api.commands._common import (add_map, add_project, add_quiet, add_settings,
                                           ensure_parent, non_negative_int, positive_float,
                                           positive_int, print_table, progress_bar)
from beatgrid.gis import Project
from beatgrid.layers.coverage_map import save_coverage_map


def register(sub: Any) -> None:
    """Add ``coverage`` and ``cameras recommend`` to the subcommands ``sub``."""
    p = sub.add_parser(
        "coverage",
        help="camera views cut by buildings, coverage per zone, blind spots, old-estate risk",
        description="Compute every camera's visible area (occluded by buildings, split into "
                    "quality levels), the coverage figures per estate, grid, beat and "
                    "station, the blind spots and the old-estate risk ranking; write the "
                    "layers camera_views, blind_spots, coverage_stats and estate_risk into "
                    "the project (or --out).")
    add_project(p)
    p.add_argument("--out", metavar="FILE.gpkg",
                   help="write the layers into this GeoPackage instead of the project")
    add_map(p)
    add_settings(p, name="coverage")
    p.add_argument("--profile", help="quality profile (default from the settings: "
                                     "iec62676_2014; also iec62676_2025)")
    p.add_argument("--zones", choices=("nested", "bands"),
                   help="quality zones: nested (seen at this level or better) or bands")
    p.add_argument("--no-levels", action="store_true",
                   help="only the whole visible area per camera (faster)")
    p.add_argument("--top", type=non_negative_int, default=10, help="old estates listed (default 10)")
    p.add_argument("--tiles", help="basemap for --map (default none: fully offline)")
    add_quiet(p)
    p.set_defaults(func=run_coverage)

    cams = sub.add_parser("cameras", help="camera planning (recommend new cameras)")
    csub = cams.add_subparsers(dest="cameras_command", metavar="ACTION", required=True)
    r = csub.add_parser(
        "recommend", help="recommend N new cameras (position, direction) for what is unseen",
        description="Choose new camera poses (walls, corners, street lamps) that see the most "
                    "weighted open space no camera sees yet (weights: households, "
                    "preventable incidents); write the layers camera_proposals and "
                    "proposal_effects (before/after figures per zone).")
    add_project(r)
    r.add_argument("--budget", type=positive_int, required=True, metavar="N", help="new cameras to place")
    r.add_argument("--estate", metavar="ID", help="place only within this estate")
    r.add_argument("--method", choices=("greedy", "ilp"),
                   help="lazy greedy (fast) or exact integer programme with HiGHS (gap shown)")
    r.add_argument("--time-limit", type=positive_float, metavar="S", help="ILP time limit in seconds")
    r.add_argument("--out", metavar="FILE.gpkg",
                   help="write the layers into this GeoPackage instead of the project")
    add_map(r)
    add_settings(r, name="coverage")
    r.add_argument("--tiles", help="basemap for --map (default none: fully offline)")
    add_quiet(r)
    r.set_defaults(func=run_recommend)


def run_coverage(args: argparse.Namespace) -> int:
    """``beatgrid coverage``: analyse, write the layers (and the map), then report."""
    started = time.perf_counter()
    project = Project.open(args.project, coverage=args.settings)
    with progress_bar(args, "coverage") as progress:
        res = project.coverage.analyse(profile=args.profile, zones=args.zones,
                                       levels=not args.no_levels, save=True, out=args.out,
                                       progress=progress)
    target = Path(args.out) if args.out else Path(args.project)
    took = time.perf_counter() - started
    map_path = None
    if args.map:
        risk = res.estate_risk
        map_path = save_coverage_map(
            ensure_parent(args.map), views=res.views, blind_spots=res.blind_spots,
            estate_risk=risk if len(risk) else None, estates=project.layer("estates"),
            cameras=project.layer("cameras"),
            proposals=project.coverage.derived("camera_proposals", out=args.out),
            title="Camera coverage", streets=project.layer("streets"),
            buildings=project.layer("buildings"), tiles=args.tiles)
    status = res.camera_status()
    print(f"{res.n_cameras:,} cameras ({', '.join(f'{v} {k}' for k, v in status.items())}); "
          f"wrote camera_views, blind_spots, coverage_stats, estate_risk to {target} "
          f"in {took:.1f} s")
    if len(res.stats):
        print("\nCoverage of open space per zone type (share seen by any camera):")
        print_table(res.zone_summary())
    bs = res.blind_spots
    print(f"\nBlind spots: {len(bs):,} polygons, {bs['area_m2'].sum():,.0f} m2, "
          f"{int(bs['households_around'].sum()) if len(bs) else 0:,} households around")
    risk = res.estate_risk
    if len(risk):
        print(f"\nOld estates by blind-spot risk (top {min(args.top, len(risk))} of {len(risk)}):")
        cols = [c for c in ("rank", "estate_id", "name", "risk_score", "seen_share_all",
                            "cameras_inside", "households", "access", "preventable_incidents")
                if c in risk.columns]
        print_table(risk[cols].head(args.top))
    if map_path is not None:
        print(f"\nmap: {map_path}")
    return 0


def run_recommend(args: argparse.Namespace) -> int:
    """``beatgrid cameras recommend``: recommend, write the layers (and the map), report."""
    started = time.perf_counter()
    project = Project.open(args.project, coverage=args.settings)
    with progress_bar(args, "cameras recommend") as progress:
        res = project.coverage.recommend(budget=args.budget, estate=args.estate,
                                         method=args.method, time_limit=args.time_limit,
                                         save=True, out=args.out, progress=progress)
    target = Path(args.out) if args.out else Path(args.project)
    took = time.perf_counter() - started
    map_path = None
    if args.map:
        stored = project.coverage.derived
        map_path = save_coverage_map(
            ensure_parent(args.map), proposals=res.proposals, proposal_views=res.views,
            estates=project.layer("estates"),
            estate_risk=stored("estate_risk", out=args.out),
            views=stored("camera_views", out=args.out),
            blind_spots=stored("blind_spots", out=args.out),
            cameras=project.layer("cameras"), streets=project.layer("streets"),
            buildings=project.layer("buildings"), title="Proposed cameras", tiles=args.tiles)
    info = res.info
    where = f"estate {args.estate}" if args.estate else "the district's estates"
    print(f"{len(res.proposals)} new camera(s) for {where} from {info['candidates']:,} "
          f"candidate poses over {info['demand_points']:,} unseen demand points "
          f"({info['method']}); wrote camera_proposals, proposal_effects to {target} "
          f"in {took:.1f} s")
    if info["method"] == "ilp":
        print(f"ILP: objective {info['objective']:,.2f}, bound {info['bound']:,.2f}, "
              f"gap {100 * info['gap']:.3f} % ({info['status']}); greedy "
              f"{info['greedy_objective']:,.2f}")
    print(f"weighted unseen demand now covered: {100 * info['covered_weight_share']:.1f} %")
    if res.stopped_early:
        print(f"note: only {len(res.proposals)} of --budget {args.budget} placed: no candidate "
              "pose sees any more unseen demand (add candidate sites or widen the area)")
    if len(res.proposals):
        print_table(res.proposals.drop(columns="geometry")[
            ["id", "rank", "kind", "direction", "fov_deg", "range_m", "gain", "gain_area_m2",
             "estate_id"]])
    eff = res.effects
    if len(eff):
        print("\nBefore / after per zone affected:")
        cols = ["zone_type", "zone_id", "seen_share_all_before", "seen_share_all_after",
                "cameras_inside_before", "cameras_inside_after",
                "cameras_per_1000_households_before", "cameras_per_1000_households_after"]
        print_table(eff[[c for c in cols if c in eff.columns]])
    if map_path is not None:
        print(f"\nmap: {map_path}")
    return 0
