"""``beatgrid grids``: generate, check, rebalance, edit and measure basic grids (基础网格).

    beatgrid grids generate  --project P [--community ID] [--min 300 --max 500] [--map F.html]
    beatgrid grids check     --project P [--community ID] [--csv F.csv] [--map F.html]
    beatgrid grids rebalance --project P [--community ID]
    beatgrid grids move      --project P --building B [--building B2] --to GRID
    beatgrid grids metrics   --project P [--csv F.csv]

``generate`` writes the ``grids`` layer and ``buildings.grid_id``; ``check`` exits 1
when the plan breaks a rule (errors; warnings are listed but do not fail).
"""

from __future__ import annotations

import time

import geopandas as gpd
import pandas as pd

from beatgrid.gis.errors import InputError, NotFoundError

from beatgrid.api.commands._common import add_map, add_project, add_settings, ensure_parent, print_table


def register(sub) -> None:
    p = sub.add_parser("grids", help="basic grids of 300-500 households: generate, check, edit",
                       description="Basic grids (基础网格): every community split into grids of "
                                   "300-500 households along streets, no gaps, no overlaps.")
    gsub = p.add_subparsers(dest="grids_command", metavar="ACTION", required=True)

    def common(q, *, band=True):
        add_project(q)
        q.add_argument("--community", action="append", metavar="ID",
                       help="only this community (repeatable; default all)")
        add_settings(q, name="grids")
        if band:
            q.add_argument("--min", type=int, dest="min_households", metavar="N",
                           help="fewest households per grid (default from settings: 300)")
            q.add_argument("--max", type=int, dest="max_households", metavar="N",
                           help="most households per grid (default from settings: 500)")

    q = gsub.add_parser("generate", help="generate grids and write them into the project")
    common(q)
    q.add_argument("--target", type=float, dest="target_households", metavar="N",
                   help="households aimed at per grid (default from settings: 400)")
    q.add_argument("--seed", type=int, help="random seed (default from settings)")
    q.add_argument("--stable", action="store_true",
                   help="keep the current plan as far as possible (fewest households moved)")
    q.add_argument("--ignore-locked", action="store_true",
                   help="re-plan locked grids too")
    q.add_argument("--workers", type=int, metavar="N",
                   help="processes planning communities in parallel (default from settings: "
                        "one per CPU for big jobs)")
    q.add_argument("--dry-run", action="store_true", help="print the result, write nothing")
    add_map(q)
    q.set_defaults(func=run_generate)

    q = gsub.add_parser("check", help="list every violation of the grid rules (exit 1 if any)")
    common(q)
    q.add_argument("--csv", metavar="FILE.csv", help="also write the violations as CSV")
    add_map(q)
    q.set_defaults(func=run_check)

    q = gsub.add_parser("rebalance", help="repair a plan after edits, moving few households")
    common(q)
    q.add_argument("--seed", type=int, help="random seed (default from settings)")
    q.add_argument("--dry-run", action="store_true", help="print the result, write nothing")
    add_map(q)
    q.set_defaults(func=run_rebalance)

    q = gsub.add_parser("move", help="move buildings (with their unit) into another grid")
    add_project(q)
    add_settings(q, name="grids")
    q.add_argument("--building", action="append", required=True, metavar="ID",
                   help="building to move (repeatable)")
    q.add_argument("--to", required=True, metavar="GRID", help="target grid id")
    q.add_argument("--dry-run", action="store_true", help="print the result, write nothing")
    q.set_defaults(func=run_move)

    q = gsub.add_parser("metrics", help="print per-grid metrics and the plan summary")
    common(q, band=True)
    q.add_argument("--csv", metavar="FILE.csv", help="also write the per-grid metrics as CSV")
    q.set_defaults(func=run_metrics)


# --------------------------------------------------------------------------------------

def _settings(args):
    from beatgrid.gis.config import load_settings

    return load_settings("grids", getattr(args, "settings", None))


def _band(args, settings):
    from beatgrid.gis.grids.partition import band_from_settings

    return band_from_settings(settings, min_households=getattr(args, "min_households", None),
                              max_households=getattr(args, "max_households", None),
                              target_households=getattr(args, "target_households", None))


def _read(path):
    from beatgrid.gis.io.project import read_project

    layers = read_project(path, ["communities", "streets", "buildings", "estates", "grids"])
    if len(layers["communities"]) == 0:
        raise InputError(f"project {str(path)!r} has no communities",
                         fix="import community boundaries (beatgrid import communities FILE)")
    return layers


def _check_communities(args, layers):
    if not args.community:
        return None
    known = set(layers["communities"]["id"].astype(str))
    unknown = [c for c in args.community if c not in known]
    if unknown:
        raise NotFoundError(f"community {', '.join(unknown)} is not in the project",
                            fix="use ids of the communities layer (beatgrid export communities)")
    return args.community


def _summary(grids, layers, band, settings, *, buildings=None, moved=None):
    from beatgrid.gis.grids.metrics import format_summary, grid_metrics, plan_summary

    metrics = grid_metrics(grids, communities=layers["communities"], streets=layers["streets"],
                           buildings=buildings, band=band, settings=settings)
    print(format_summary(plan_summary(metrics, band=band, moved=moved)))
    return metrics


def _write_map(path, grids, layers, band, violations, title):
    from beatgrid.layers.grids_map import save_grids_map

    comm = layers["communities"]
    if len(grids):
        comm = comm[comm["id"].isin(set(grids["community_id"]))]
    save_grids_map(ensure_parent(path), grids, minimum=band.lo, maximum=band.hi,
                   communities=comm, violations=violations, title=title)
    print(f"map written to {path}")


def _merged_layers(layers, plan, communities):
    """The grids layer and buildings after a plan of ``communities`` (others kept)."""
    old = layers["grids"]
    planned = set(plan.grids["community_id"]) | set(communities or [])
    if communities is None:
        planned = set(layers["communities"]["id"])
    keep = old[~old["community_id"].isin(planned)] if len(old) else old
    cols = ["id", "code", "community_id", "households", "locked", "reason"]
    new = plan.grids[cols + ["geometry"]]
    if len(keep):
        keep = keep.to_crs(new.crs)
        keep = keep.assign(reason=keep["reason"] if "reason" in keep else "")
        grids = gpd.GeoDataFrame(pd.concat([keep[cols + ["geometry"]], new], ignore_index=True),
                                 geometry="geometry", crs=new.crs)
    else:
        grids = new
    bld = layers["buildings"].copy()
    in_planned = bld.index.isin(plan.building_grid.index[plan.building_grid.notna()])
    removed = set(old["id"]) - set(grids["id"]) if len(old) else set()
    bld.loc[in_planned, "grid_id"] = plan.building_grid[plan.building_grid.notna()].reindex(
        bld.index[in_planned]).to_numpy()
    stale = bld["grid_id"].isin(removed) & ~in_planned
    bld.loc[stale, "grid_id"] = None
    return grids, bld


def _print_issues(plan):
    from beatgrid.gis.grids.partition import REASONS

    if len(plan.issues) == 0:
        return
    print(f"{len(plan.issues)} communit{'y' if len(plan.issues) == 1 else 'ies'} without a "
          "fully valid plan (closest plan written):")
    for _, r in plan.issues.iterrows():
        meaning, fix = REASONS.get(r["reason"], ("", ""))
        print(f"  {r['community_id']}: {r['reason']} - {r['detail']} "
              f"(grids {', '.join(map(str, r['grid_ids']))}). Fix: {fix}")


def run_generate(args) -> int:
    from beatgrid.gis.grids.checks import check_grids, format_violations, has_errors
    from beatgrid.gis.grids.metrics import households_moved
    from beatgrid.gis.grids.partition import generate_grids
    from beatgrid.gis.io.project import write_layers

    settings = _settings(args)
    band = _band(args, settings)
    layers = _read(args.project)
    communities = _check_communities(args, layers)
    t0 = time.perf_counter()
    plan = generate_grids(layers["communities"], layers["streets"], layers["buildings"],
                          estates=layers["estates"], previous=layers["grids"] if len(
                              layers["grids"]) else None, stable=args.stable,
                          respect_locked=not args.ignore_locked, community_ids=communities,
                          min_households=band.lo, max_households=band.hi,
                          target_households=band.target, seed=args.seed, settings=settings,
                          workers=getattr(args, "workers", None))
    seconds = time.perf_counter() - t0
    grids, bld = _merged_layers(layers, plan, communities)
    moved = None
    if "grid_id" in layers["buildings"] and layers["buildings"]["grid_id"].notna().any():
        moved = households_moved(bld["grid_id"], layers["buildings"]["grid_id"], bld["households"])
    print(f"{len(plan.grids)} grids for {plan.grids['community_id'].nunique()} communities "
          f"in {seconds:.1f} s")
    mine = grids[grids["community_id"].isin(set(plan.grids["community_id"]))]
    _summary(mine, layers, band, settings, buildings=bld, moved=moved)
    _print_issues(plan)
    violations = check_grids(mine, communities=layers["communities"][
        layers["communities"]["id"].isin(set(mine["community_id"]))],
        buildings=bld[bld["grid_id"].isin(set(mine["id"]))], band=band, settings=settings)
    if has_errors(violations):
        print(f"{int((violations['severity'] == 'error').sum())} violation(s) remain:")
        print(format_violations(violations[violations["severity"] == "error"], limit=20))
    if not args.dry_run:
        write_layers(args.project, {"grids": grids, "buildings": bld})
        print(f"grids and buildings.grid_id written to {args.project}")
    if args.map:
        _write_map(args.map, mine, layers, band, violations, "Basic grids")
    return 0


def run_check(args) -> int:
    from beatgrid.gis.grids.checks import check_grids, format_violations, has_errors

    settings = _settings(args)
    band = _band(args, settings)
    layers = _read(args.project)
    communities = _check_communities(args, layers)
    grids, comm, bld = layers["grids"], layers["communities"], layers["buildings"]
    if communities:
        grids = grids[grids["community_id"].isin(communities)]
        comm = comm[comm["id"].isin(communities)]
        bld = bld[bld["community_id"].isin(communities) | bld["grid_id"].isin(set(grids["id"]))]
    t0 = time.perf_counter()
    violations = check_grids(grids, communities=comm, buildings=bld, band=band,
                             settings=settings)
    print(f"checked {len(grids)} grids of {len(comm)} communities in "
          f"{time.perf_counter() - t0:.1f} s")
    if len(grids):
        _summary(grids, layers, band, settings, buildings=bld)
    errors = violations[violations["severity"] == "error"]
    warnings_ = violations[violations["severity"] != "error"]
    if len(violations):
        counts = violations.groupby(["severity", "kind"]).size().reset_index(name="count")
        print_table(counts)
        print(format_violations(violations, limit=200))
    print(f"{len(errors)} violation(s), {len(warnings_)} warning(s)")
    if args.csv:
        violations.to_csv(ensure_parent(args.csv), index=False)
        print(f"violations written to {args.csv}")
    if args.map:
        _write_map(args.map, grids, layers, band, violations, "Basic grids: check")
    return 1 if has_errors(violations) else 0


def run_rebalance(args) -> int:
    args.stable = True
    args.ignore_locked = False
    args.target_households = None
    args.workers = None
    return run_generate(args)


def run_move(args) -> int:
    from beatgrid.gis.grids.editing import PlanEditor, plan_from_layers
    from beatgrid.gis.grids.checks import format_violations
    from beatgrid.gis.io.project import write_layers

    settings = _settings(args)
    layers = _read(args.project)
    grids = layers["grids"]
    if args.to not in set(grids["id"]):
        raise NotFoundError(f"grid {args.to!r} is not in the project",
                            fix="use an id of the grids layer (beatgrid grids metrics)")
    cid = grids.loc[grids["id"] == args.to, "community_id"].iloc[0]
    bld = layers["buildings"]
    unknown = [b for b in args.building if b not in set(bld["id"])]
    if unknown:
        raise NotFoundError(f"building(s) {', '.join(unknown)} not in the project",
                            fix="use ids of the buildings layer")
    comm_grids = grids[grids["community_id"] == cid]
    plan = plan_from_layers(layers["communities"], layers["streets"], bld, comm_grids,
                            estates=layers["estates"], settings=settings, community_ids=[cid])
    editor = PlanEditor(plan)
    res = editor.move_buildings(args.building, to_grid=args.to)
    print(f"moved {len(res.moved_units)} unit(s), {res.households_moved} households, "
          f"into {args.to}; re-checked {', '.join(map(str, res.touched))} in "
          f"{res.seconds * 1000:.1f} ms")
    if len(res.violations):
        print(format_violations(res.violations))
    if not args.dry_run:
        new = editor.grids(res.touched)
        old = grids.set_index("id")
        new["locked"] = [bool(old["locked"].get(g, False)) for g in new["id"]]
        new["code"] = [old["code"].get(g, "") for g in new["id"]]
        rest = grids[~grids["id"].isin(set(res.touched))]
        out = gpd.GeoDataFrame(pd.concat([rest, new.to_crs(grids.crs)], ignore_index=True),
                               geometry="geometry", crs=grids.crs)
        bg = editor.building_grid()
        b2 = bld.copy()
        sel = b2["id"].isin(bg.index)
        b2.loc[sel, "grid_id"] = bg.reindex(b2.loc[sel, "id"]).to_numpy()
        write_layers(args.project, {"grids": out, "buildings": b2})
        print(f"written to {args.project}")
    return 1 if len(res.violations) and (res.violations["severity"] == "error").any() else 0


def run_metrics(args) -> int:
    settings = _settings(args)
    band = _band(args, settings)
    layers = _read(args.project)
    communities = _check_communities(args, layers)
    grids = layers["grids"]
    if communities:
        grids = grids[grids["community_id"].isin(communities)]
    if len(grids) == 0:
        print("the project has no grids (run beatgrid grids generate)")
        return 0
    metrics = _summary(grids, layers, band, settings, buildings=layers["buildings"])
    print_table(metrics.drop(columns=["area_m2", "perimeter_m"]), max_rows=100)
    if args.csv:
        metrics.to_csv(ensure_parent(args.csv), index=False)
        print(f"metrics written to {args.csv}")
    return 0

