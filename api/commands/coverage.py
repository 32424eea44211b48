"""Camera commands: ``coverage`` (views, statistics, blind spots, old-estate ranking) and
``cameras recommend`` (where the next N cameras should go)."""

from __future__ import annotations

import time
from pathlib import Path

from beatgrid.api.commands._common import add_map, add_project, add_settings, ensure_parent, print_table

#: Layers read for the coverage analysis.
COVERAGE_LAYERS = ["cameras", "buildings", "estates", "incidents", "grids", "beats",
                   "stations", "communities", "streets"]


def register(sub) -> None:
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
    p.add_argument("--top", type=int, default=10, help="old estates listed (default 10)")
    p.add_argument("--tiles", help="basemap for --map (default none: fully offline)")
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
    r.add_argument("--budget", type=int, required=True, metavar="N", help="new cameras to place")
    r.add_argument("--estate", metavar="ID", help="place only within this estate")
    r.add_argument("--method", choices=("greedy", "ilp"),
                   help="lazy greedy (fast) or exact integer programme with HiGHS (gap shown)")
    r.add_argument("--time-limit", type=float, metavar="S", help="ILP time limit in seconds")
    r.add_argument("--out", metavar="FILE.gpkg",
                   help="write the layers into this GeoPackage instead of the project")
    add_map(r)
    add_settings(r, name="coverage")
    r.add_argument("--tiles", help="basemap for --map (default none: fully offline)")
    r.set_defaults(func=run_recommend)


def _read(project: str):
    from beatgrid.gis.io import project as store

    return store.read_project(project, COVERAGE_LAYERS)


def _views_for_file(views):
    """Keep every camera's ``all`` row (empty when it sees nothing) and non-empty levels."""
    import shapely

    empty = shapely.is_empty(views.geometry.values)
    return views[(views["level"] == "all") | ~empty].reset_index(drop=True)


def _stored(path, name):
    """A derived layer written earlier (by ``coverage``), or None."""
    from beatgrid.gis.io.derived import list_derived, read_derived

    if name not in list_derived(path):
        return None
    df = read_derived(path, name)
    return df if len(df) else None


def run_coverage(args) -> int:
    from beatgrid.gis.coverage.analysis import analyse_coverage
    from beatgrid.gis.io.derived import write_derived

    started = time.perf_counter()
    layers = _read(args.project)
    out = analyse_coverage(layers, settings=args.settings, profile=args.profile,
                           zones=args.zones, levels=not args.no_levels)
    target = Path(args.out) if args.out else Path(args.project)
    write_derived(target, {"camera_views": _views_for_file(out["camera_views"]),
                           "blind_spots": out["blind_spots"],
                           "coverage_stats": out["coverage_stats"],
                           "estate_risk": out["estate_risk"]})
    took = time.perf_counter() - started
    views, stats = out["camera_views"], out["coverage_stats"]
    n_cams = int((views["level"] == "all").sum())
    status = views[views["level"] == "all"]["status"].value_counts().to_dict()
    print(f"{n_cams:,} cameras ({', '.join(f'{v} {k}' for k, v in status.items())}); "
          f"wrote camera_views, blind_spots, coverage_stats, estate_risk to {target} "
          f"in {took:.1f} s")
    if len(stats):
        share_cols = [c for c in stats.columns if c.startswith("seen_share_")]
        summary = stats.groupby("zone_type")[["open_area_m2", "unseen_open_m2"]].sum()
        summary["seen_share_all"] = 1 - summary["unseen_open_m2"] / summary["open_area_m2"]
        summary["zones"] = stats.groupby("zone_type").size()
        summary["cameras_inside"] = stats.groupby("zone_type")["cameras_inside"].sum()
        print("\nCoverage of open space per zone type (share seen by any camera):")
        print_table(summary.reset_index()[["zone_type", "zones", "open_area_m2",
                                           "seen_share_all", "cameras_inside"]])
        del share_cols
    bs = out["blind_spots"]
    print(f"\nBlind spots: {len(bs):,} polygons, {bs['area_m2'].sum():,.0f} m2, "
          f"{int(bs['households_around'].sum()) if len(bs) else 0:,} households around")
    risk = out["estate_risk"]
    if len(risk):
        print(f"\nOld estates by blind-spot risk (top {min(args.top, len(risk))} of {len(risk)}):")
        cols = [c for c in ("rank", "estate_id", "name", "risk_score", "seen_share_all",
                            "cameras_inside", "households", "access", "preventable_incidents")
                if c in risk.columns]
        print_table(risk[cols].head(args.top))
    if args.map:
        from beatgrid.layers.coverage_map import save_coverage_map

        est = layers.get("estates")
        proposals = _stored(target, "camera_proposals")
        path = save_coverage_map(ensure_parent(args.map), views=views, blind_spots=bs,
                                 estate_risk=risk if len(risk) else None,
                                 estates=est, cameras=layers.get("cameras"),
                                 proposals=proposals, title="Camera coverage",
                                 streets=layers.get("streets"),
                                 buildings=layers.get("buildings"), tiles=args.tiles)
        print(f"\nmap: {path}")
    return 0


def run_recommend(args) -> int:
    from beatgrid.gis.coverage.placement import recommend_cameras
    from beatgrid.gis.io.derived import write_derived

    started = time.perf_counter()
    layers = _read(args.project)
    res = recommend_cameras(layers, budget=args.budget, estate=args.estate,
                            method=args.method, settings=args.settings,
                            time_limit=args.time_limit)
    target = Path(args.out) if args.out else Path(args.project)
    write_derived(target, {"camera_proposals": res.proposals,
                           "proposal_effects": res.effects})
    info = res.info
    took = time.perf_counter() - started
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
    if info.get("stopped_early"):
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
    if args.map:
        from beatgrid.layers.coverage_map import save_coverage_map

        path = save_coverage_map(ensure_parent(args.map), proposals=res.proposals,
                                 proposal_views=res.views, estates=layers.get("estates"),
                                 estate_risk=_stored(target, "estate_risk"),
                                 views=_stored(target, "camera_views"),
                                 blind_spots=_stored(target, "blind_spots"),
                                 cameras=layers.get("cameras"),
                                 streets=layers.get("streets"),
                                 buildings=layers.get("buildings"),
                                 title="Proposed cameras", tiles=args.tiles)
        print(f"\nmap: {path}")
    return 0
