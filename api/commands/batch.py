"""``beatgrid batch grids|coverage|staffing``: city-scale runs on a dask cluster.

    beatgrid batch grids    --project P.gpkg [--workers N | --scheduler tcp://HOST:PORT]
    beatgrid batch coverage --database-url postgresql://... [--schema S] [--workers N]
    beatgrid batch staffing --project P.gpkg [--out staffing.csv]
    beatgrid batch coverage --project P.gpkg --tiles 10 [--out tiles.csv]

One task per police station (with the halo of buildings and cameras the visibility
needs), or with ``--tiles KM`` (coverage) one task per square tile of the cameras,
reading only the buildings of its halo: the camera views of a country, written as the
derived layer ``camera_views``.

Tasks run on a local cluster of ``--workers`` processes (default: one per CPU) or on
the workers of an existing scheduler (they must reach the same file or database).
The results are those of ``beatgrid grids generate``, ``beatgrid coverage`` and
``beatgrid staffing`` and are written the same way: grids and coverage into the
project, staffing into ``--out``. Thin: parse, call
:class:`beatgrid.gis.batch.BatchRunner`, print.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from beatgrid.api.commands._common import (add_settings, ensure_parent, positive_float,
                                           positive_int, print_table, seed)
from beatgrid.gis.batch import KINDS, BatchReport, BatchRunner, Source, tiled_views
from beatgrid.gis.errors import InputError
from beatgrid.gis.project import Project

SETTINGS_SECTION = {"grids": "grids", "coverage": "coverage", "staffing": "policy"}


def register(sub: Any) -> None:
    """Add ``beatgrid batch KIND`` to the subcommands."""
    p = sub.add_parser(
        "batch", help="grids, coverage or staffing of a whole city on a dask cluster",
        description="Run grids, coverage or staffing partitioned by police station (with a "
                    "halo of neighbouring buildings and cameras) as dask.distributed tasks, "
                    "on a local cluster or an existing scheduler; the results are those of "
                    "the single-machine commands, merged and written through the project.")
    kinds = p.add_subparsers(dest="kind", metavar="KIND", required=True)
    for kind in KINDS:
        q = kinds.add_parser(kind, help=f"{kind} of every station, one task per station")
        where = q.add_mutually_exclusive_group(required=True)
        where.add_argument("--project", "-p", metavar="P.gpkg",
                           help="the BeatGrid project (GeoPackage)")
        where.add_argument("--database-url", metavar="URL",
                           help="a PostGIS project: postgresql://user:pw@host/db")
        q.add_argument("--schema", help="database schema of the project (default beatgrid)")
        run = q.add_mutually_exclusive_group()
        run.add_argument("--workers", type=positive_int, metavar="N",
                         help="local worker processes (default: one per CPU)")
        run.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                         help="an existing dask scheduler (its workers must reach the "
                              "project)")
        q.add_argument("--station", action="append", metavar="ID",
                       help="only this station (repeatable; default all)")
        q.add_argument("--partitions", type=positive_int, metavar="N",
                       help="tasks of whole neighbouring stations (default 4 per worker)")
        q.add_argument("--no-progress", action="store_true", help="no progress bar")
        add_settings(q, name=SETTINGS_SECTION[kind])
        if kind == "grids":
            q.add_argument("--seed", type=seed, help="random seed (default from settings)")
            q.add_argument("--dry-run", action="store_true", help="print, write nothing")
        elif kind == "coverage":
            q.add_argument("--profile", help="quality profile (default from the settings)")
            q.add_argument("--no-levels", action="store_true",
                           help="only the whole visible area per camera (faster)")
            q.add_argument("--dry-run", action="store_true", help="print, write nothing")
            q.add_argument("--tiles", type=positive_float, metavar="KM",
                           help="by square tiles of KM km instead of stations: the camera "
                                "views only (the national scale)")
            q.add_argument("--out", metavar="FILE.csv",
                           help="with --tiles: write one row per tile")
        else:
            q.add_argument("--out", metavar="FILE.csv", help="write one row per beat")
        q.set_defaults(func=run_batch)


def run_batch(args: argparse.Namespace) -> int:
    """``beatgrid batch KIND``: open the project, run on the cluster, write, report."""
    if args.kind == "coverage" and not args.tiles and (args.out is not None):
        raise InputError(f"--out {args.out} needs --tiles (one row per tile)",
                         fix="add --tiles KM, or leave --out out")
    if args.kind == "coverage" and args.tiles and (args.station or args.partitions):
        raise InputError("--station and --partitions cut by stations; --tiles cuts by "
                         f"{args.tiles:g} km tiles", fix="give either --tiles or those")
    target = args.project or args.database_url
    project = Project.open(target, schema=args.schema,
                           **{SETTINGS_SECTION[args.kind]: args.settings})
    # workers (of a scheduler too) reopen the file: by its absolute path
    where = str(target if args.database_url else Path(target).resolve())
    runner = BatchRunner(project, source=Source(where, args.schema),
                         workers=args.workers, scheduler=args.scheduler,
                         progress=not args.no_progress, stations=args.station,
                         partitions=args.partitions)
    with runner:
        if args.kind == "grids":
            report = runner.grids(seed=args.seed, save=not args.dry_run)
        elif args.kind == "coverage" and args.tiles:
            report = tiled_views(runner, size_m=1000 * args.tiles, profile=args.profile,
                                 levels=not args.no_levels, save=not args.dry_run)
            if args.out:
                report.result["tiles"].to_csv(ensure_parent(args.out), index=False)
        elif args.kind == "coverage":
            report = runner.coverage(profile=args.profile, levels=not args.no_levels,
                                     save=not args.dry_run)
        else:
            report = runner.staffing()
            if args.out:
                report.result.gaps.to_csv(ensure_parent(args.out), index=False)
    _print(report, project.location, args)
    return 0


def _print(report: BatchReport, location: str, args: argparse.Namespace) -> None:
    where = f"wrote to {location}" if report.saved else "nothing written"
    if args.kind == "staffing" and args.out:
        where = f"wrote {args.out}"
    elif args.kind == "coverage" and args.out:
        where += f"; wrote {args.out}"
    unit = "tile(s)" if report.kind == "coverage-tiles" else "partition(s)"
    print(f"batch {report.kind}: {report.partitions} {unit} on {report.workers} "
          f"worker(s) in {report.seconds:.1f} s; {where}")
    res = report.result
    if report.kind == "coverage-tiles":
        t = res["tiles"]
        print(f"{int(t['cameras'].sum()):,} cameras; {int(t['buildings_read'].sum()):,} "
              f"buildings read, {int(t['buildings_in_reach'].sum()):,} within reach of a "
              f"camera; visible area {t['view_area_m2'].sum() / 1e6:,.2f} km2; status "
              + ", ".join(f"{s} {int(t[f'status_{s}'].sum()):,}"
                          for s in ("ok", "moved", "indoor", "blocked")))
    elif report.kind == "grids":
        s = res.summary
        print(f"{s['grids']:,} grids, {100 * s['share_in_range']:.1f} % within "
              f"{res.band.lo}-{res.band.hi} households; {len(res.violations)} violation(s)")
    elif report.kind == "coverage":
        views, risk = res["camera_views"], res["estate_risk"]
        n = int((views["level"] == "all").sum()) if len(views) else 0
        print(f"{n:,} cameras; {len(res['blind_spots']):,} blind spots; "
              f"{len(res['coverage_stats']):,} zones")
        if len(risk):
            print_table(risk[["rank", "estate_id", "risk_score", "seen_share_all"]].head(10))
    else:
        under = res.understaffed
        print(f"{len(res.gaps):,} beats, {len(under):,} understaffed")
        if len(under):
            print_table(under[["severity_rank", "beat_id", "severity", "failed_rules"]].head(10))
    slowest = sorted(report.costs, key=lambda c: -c.seconds)[:3]
    print("slowest partitions: " + ", ".join(f"{c.key} {c.seconds:.1f} s" for c in slowest)
          + f"; peak memory per worker {max(report.worker_peak_mb.values()):,.0f} MB")
