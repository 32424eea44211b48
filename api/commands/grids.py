"""``beatgrid grids``: generate, check, rebalance, edit and measure basic grids (基础网格).

    beatgrid grids generate  --project P [--community ID] [--min 300 --max 500] [--map F.html]
    beatgrid grids check     --project P [--community ID] [--csv F.csv] [--map F.html]
    beatgrid grids rebalance --project P [--community ID]
    beatgrid grids move      --project P --building B [--building B2] --to GRID
    beatgrid grids metrics   --project P [--csv F.csv]

``generate`` writes the ``grids`` layer and ``buildings.grid_id``; ``check`` exits 1
when the plan breaks a rule (errors; warnings are listed but do not fail). Every action
goes through ``project.grids`` (:class:`beatgrid.gis.grids.workflow.GridPlanning`);
output files (CSV, map) are written before the results are printed.
"""

from __future__ import annotations

import argparse
from typing import Any

import geopandas as gpd
import pandas as pd

from beatgrid.api.commands._common import (add_map, add_project, add_quiet, add_settings,
                                           ensure_parent, non_negative_int, positive_float,
                                           positive_int, print_table, progress_bar, seed)
from beatgrid.gis.grids.band import Band
from beatgrid.gis.grids.checks import format_violations
from beatgrid.gis.grids.metrics import format_summary
from beatgrid.gis.grids.plan import REASONS
from beatgrid.gis.grids.results import GeneratedPlan
from beatgrid.gis.project import Project
from beatgrid.layers.grids_map import save_grids_map


def register(sub: Any) -> None:
    """Add ``beatgrid grids ...`` to the subcommands."""
    p = sub.add_parser("grids", help="basic grids of 300-500 households: generate, check, edit",
                       description="Basic grids (基础网格): every community split into grids of "
                                   "300-500 households along streets, no gaps, no overlaps.")
    gsub = p.add_subparsers(dest="grids_command", metavar="ACTION", required=True)

    def common(q: argparse.ArgumentParser, *, band: bool = True) -> None:
        add_project(q)
        q.add_argument("--community", action="append", metavar="ID",
                       help="only this community (repeatable; default all)")
        add_settings(q, name="grids")
        if band:
            q.add_argument("--min", type=positive_int, dest="min_households", metavar="N",
                           help="fewest households per grid (default from settings: 300)")
            q.add_argument("--max", type=positive_int, dest="max_households", metavar="N",
                           help="most households per grid (default from settings: 500)")

    q = gsub.add_parser("generate", help="generate grids and write them into the project")
    common(q)
    q.add_argument("--target", type=positive_float, dest="target_households", metavar="N",
                   help="households aimed at per grid (default from settings: 400)")
    q.add_argument("--seed", type=seed, help="random seed (default from settings)")
    q.add_argument("--stable", action="store_true",
                   help="keep the current plan as far as possible (fewest households moved)")
    q.add_argument("--ignore-locked", action="store_true",
                   help="re-plan locked grids too")
    q.add_argument("--workers", type=non_negative_int, metavar="N",
                   help="processes planning communities in parallel (default from settings: "
                        "one per CPU for big jobs)")
    q.add_argument("--dry-run", action="store_true", help="print the result, write nothing")
    add_map(q)
    add_quiet(q)
    q.set_defaults(func=run_generate)

    q = gsub.add_parser("check", help="list every violation of the grid rules (exit 1 if any)")
    common(q)
    q.add_argument("--csv", metavar="FILE.csv", help="also write the violations as CSV")
    add_map(q)
    q.set_defaults(func=run_check)

    q = gsub.add_parser("rebalance", help="repair a plan after edits, moving few households")
    common(q)
    q.add_argument("--seed", type=seed, help="random seed (default from settings)")
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

def _open(args: argparse.Namespace) -> Project:
    """The project with the grid settings of ``--settings``; it must have communities."""
    project = Project.open(args.project, grids=getattr(args, "settings", None))
    project.grids.require_communities()
    return project


def _write_map(path: str, project: Project, grids: gpd.GeoDataFrame, band: Band,
               violations: pd.DataFrame, title: str) -> None:
    comm = project.layer("communities")
    if len(grids):
        comm = comm[comm["id"].isin(set(grids["community_id"]))]
    save_grids_map(ensure_parent(path), grids, minimum=band.lo, maximum=band.hi,
                   communities=comm, violations=violations, title=title)


def _print_issues(result: GeneratedPlan) -> None:
    issues = result.plan.issues
    if len(issues) == 0:
        return
    n = issues["community_id"].nunique()
    kept = "closest plan written" if result.saved else "closest plan shown, nothing written"
    print(f"{n} communit{'y' if n == 1 else 'ies'} without a fully valid plan ({kept}):")
    for _, r in issues.iterrows():
        meaning, fix = REASONS.get(r["reason"], ("", ""))
        print(f"  {r['community_id']}: {r['reason']} - {r['detail']} "
              f"(grids {', '.join(map(str, r['grid_ids']))}). Fix: {fix}")


def run_generate(args: argparse.Namespace) -> int:
    """``beatgrid grids generate``."""
    project = _open(args)
    with progress_bar(args, "grids generate") as progress:
        result = project.grids.generate(
            communities=args.community, min_households=args.min_households,
            max_households=args.max_households, target_households=args.target_households,
            seed=args.seed, stable=args.stable, respect_locked=not args.ignore_locked,
            workers=args.workers, save=not args.dry_run, progress=progress)
    return _report_plan(args, project, result)


def _report_plan(args: argparse.Namespace, project: Project, result: GeneratedPlan) -> int:
    """Write the map, then print what ``generate`` / ``rebalance`` did."""
    if args.map:
        _write_map(args.map, project, result.grids, result.band, result.violations,
                   "Basic grids")
    plan = result.plan
    print(f"{len(plan.grids)} grids for {plan.grids['community_id'].nunique()} communities "
          f"in {result.seconds:.1f} s")
    print(format_summary(result.summary))
    _print_issues(result)
    violations = result.violations
    if not result.ok:
        print(f"{int((violations['severity'] == 'error').sum())} violation(s) remain:")
        print(format_violations(violations[violations["severity"] == "error"], limit=20))
    if result.saved:
        print(f"grids and buildings.grid_id written to {args.project}")
    if args.map:
        print(f"map written to {args.map}")
    return 0


def run_check(args: argparse.Namespace) -> int:
    """``beatgrid grids check``: exit 1 when the plan breaks a rule."""
    project = _open(args)
    result = project.grids.check(communities=args.community,
                                 min_households=args.min_households,
                                 max_households=args.max_households)
    violations = result.violations
    if args.csv:
        violations.to_csv(ensure_parent(args.csv), index=False)
    if args.map:
        _write_map(args.map, project, result.grids, result.band, violations,
                   "Basic grids: check")
    print(f"checked {len(result.grids)} grids of {result.communities} communities in "
          f"{result.seconds:.1f} s")
    if result.summary is not None:
        print(format_summary(result.summary))
    if len(violations):
        counts = violations.groupby(["severity", "kind"]).size().reset_index(name="count")
        print_table(counts)
        print(format_violations(violations, limit=200))
    print(f"{len(result.errors)} violation(s), {len(result.warnings)} warning(s)")
    if args.csv:
        print(f"violations written to {args.csv}")
    if args.map:
        print(f"map written to {args.map}")
    return 0 if result.ok else 1


def run_rebalance(args: argparse.Namespace) -> int:
    """``beatgrid grids rebalance``: ``generate --stable`` keeping locked grids."""
    project = _open(args)
    result = project.grids.rebalance(communities=args.community,
                                     min_households=args.min_households,
                                     max_households=args.max_households, seed=args.seed,
                                     save=not args.dry_run)
    return _report_plan(args, project, result)


def run_move(args: argparse.Namespace) -> int:
    """``beatgrid grids move``: exit 1 when a touched grid breaks a rule."""
    project = _open(args)
    result = project.grids.move_buildings(args.building, to_grid=args.to,
                                          save=not args.dry_run)
    res = result.edit
    print(f"moved {len(res.moved_units)} unit(s), {res.households_moved} households, "
          f"into {args.to}; re-checked {', '.join(map(str, res.touched))} in "
          f"{res.seconds * 1000:.1f} ms")
    if len(res.violations):
        print(format_violations(res.violations))
    if result.saved is not None:
        print(f"written to {args.project}")
    return 0 if result.ok else 1


def run_metrics(args: argparse.Namespace) -> int:
    """``beatgrid grids metrics``."""
    project = _open(args)
    result = project.grids.metrics(communities=args.community,
                                   min_households=args.min_households,
                                   max_households=args.max_households)
    if len(result.grids) == 0:
        print("the project has no grids (run beatgrid grids generate)")
        return 0
    if args.csv:
        result.metrics.to_csv(ensure_parent(args.csv), index=False)
    print(format_summary(result.summary))
    print_table(result.metrics.drop(columns=["area_m2", "perimeter_m"]), max_rows=100)
    if args.csv:
        print(f"metrics written to {args.csv}")
    return 0
