"""``beatgrid staffing``, ``alignment``, ``hotspots`` and ``beats``: beats and their staff.

* ``beatgrid staffing --project P [--policy F] [--out staffing.csv] [--map FILE.html]``:
  which beats are understaffed, by which rule and by how much (one row per beat),
  rolled up per responsibility area and station, and the police rooms flagged;
* ``beatgrid alignment --project P``: governance grids against beats (多格合一);
* ``beatgrid hotspots --project P``: kernel density, Gi* and period-on-period change;
* ``beatgrid beats --project P``: derive beats (one per community) and responsibility
  areas, and write them (``--dry-run`` only prints).

Thin: each command opens the project with the policy (its method tables routed by
:func:`beatgrid.gis.policing.policy.policy_sections`), calls ``project.policing``
(:class:`beatgrid.gis.policing.workflow.Policing`), writes the output files and then
prints. Numeric options are bounded when parsed (the argument types of
:mod:`beatgrid.api.commands._common`): a value out of range is refused with the option,
the value and what to give (exit 2), never ignored.
"""

from __future__ import annotations

import argparse
from typing import Any

import pandas as pd

from beatgrid.api.commands._common import (FloatArg, IntArg, add_map, add_project, add_quiet,
                                           ensure_parent, non_negative_int, positive_int,
                                           print_table, progress_bar, share)
from beatgrid.gis.policing.policy import policy_sections
from beatgrid.gis.policing.rules import NOT_JUDGED, SHORTFALL_LEVELS
from beatgrid.gis.project import Project
from beatgrid.layers.base import save_map
from beatgrid.layers.staffing_map import alignment_map, hotspot_map, staffing_map

SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3, "ok": 4}
ROLES = ("officers", "auxiliaries", "floating_managers", "grid_workers")
#: How an unknown figure (missing data) is printed.
UNKNOWN = "-"


#: ``staffing --period-days``: the days the incidents cover, > 0.
PERIOD_DAYS = FloatArg("a number of days (omit --period-days to infer it from occurred_at)",
                       minimum=0)
#: ``hotspots --period-days``: days per compared period, 0 = half the span.
CHANGE_DAYS = IntArg("a number of days (0: half the span)", minimum=0)
#: ``--snap-m``: metres, 0 = no snapping.
SNAP_M = FloatArg("a distance in metres (0: no snapping)", minimum=0, include_minimum=True)
SNAP_HELP = ("count an incident outside every beat but within this many metres of one in the "
             "nearest (default: policing beats.incident_snap_m, 5; 0: no snapping)")


def _add_policy(p: argparse.ArgumentParser) -> None:
    p.add_argument("--policy", metavar="FILE.toml",
                   help="staffing policy overriding the shipped defaults "
                        "(gis/defaults/staffing.toml; see docs/staffing.md)")


def _add_tiles(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tiles", metavar="NAME|URL",
                   help="basemap for --map: OpenStreetMap or a {z}/{x}/{y} URL template "
                        "(default: none, the map stays offline)")


def _add_limit(p: argparse.ArgumentParser) -> None:
    p.add_argument("--limit", type=non_negative_int, default=30,
                   help="rows shown per table (default 30)")


def register(sub: Any) -> None:
    p = sub.add_parser("staffing", help="staffing gaps per beat: required vs actual, rules, "
                                        "severity",
                       description="Check every beat against the staffing policy and report "
                                   "the gaps, the failed rules and a severity rank.")
    add_project(p)
    _add_policy(p)
    p.add_argument("--out", metavar="FILE.csv", help="write one row per beat to this CSV")
    p.add_argument("--areas-out", metavar="FILE.csv", help="write the roll-up per "
                                                           "responsibility area")
    p.add_argument("--stations-out", metavar="FILE.csv", help="write the roll-up per station")
    p.add_argument("--rooms-out", metavar="FILE.csv", help="write the police room review")
    p.add_argument("--period-days", type=PERIOD_DAYS, metavar="DAYS",
                   help="days the incidents cover, > 0 (default: policy workload.period_days, "
                        "else inferred)")
    p.add_argument("--snap-m", type=SNAP_M, metavar="METRES", help=SNAP_HELP)
    p.add_argument("--all", action="store_true", help="list every beat, not only understaffed")
    _add_limit(p)
    add_map(p)
    _add_tiles(p)
    add_quiet(p)
    p.set_defaults(func=run_staffing)

    p = sub.add_parser("alignment", help="multi-grid alignment of governance grids with beats",
                       description="For each governance grid: the share of its households and "
                                   "area in its main beat; misaligned grids; a score per beat; "
                                   "the suggested reassignment.")
    add_project(p)
    _add_policy(p)
    p.add_argument("--min-share", type=share, metavar="S",
                   help="aligned when at least this share lies in the main beat "
                        "(default: policy alignment.min_share)")
    p.add_argument("--out", metavar="FILE.csv", help="write one row per governance grid")
    p.add_argument("--beats-out", metavar="FILE.csv", help="write the score per beat")
    p.add_argument("--reassign-out", metavar="FILE.csv", help="write the suggested moves")
    _add_limit(p)
    add_map(p)
    _add_tiles(p)
    p.set_defaults(func=run_alignment)

    p = sub.add_parser("hotspots", help="incident density, Gi* hot spots and change per beat",
                       description="Kernel density of incidents, Getis-Ord Gi* on grids or "
                                   "beats with permutation p-values, and period-on-period "
                                   "change per beat.")
    add_project(p)
    _add_policy(p)
    p.add_argument("--zones", choices=("auto", "grids", "beats"), default="auto",
                   help="zones tested by Gi* (default: grids when planned, else beats)")
    p.add_argument("--permutations", type=non_negative_int, metavar="N",
                   help="Gi* permutations, >= 0 (default: policy hotspots.permutations)")
    p.add_argument("--preventable", action="store_true", help="preventable cases only")
    p.add_argument("--period-days", type=CHANGE_DAYS, metavar="DAYS",
                   help="days per compared period (default: policy, 0 = half the span)")
    p.add_argument("--snap-m", type=SNAP_M, metavar="METRES", help=SNAP_HELP)
    p.add_argument("--compare", choices=("previous", "year"),
                   help="compare with the previous period (环比) or a year before (同比)")
    p.add_argument("--out", metavar="FILE.csv", help="write the Gi* result per zone")
    p.add_argument("--change-out", metavar="FILE.csv", help="write the change per beat")
    _add_limit(p)
    add_map(p)
    _add_tiles(p)
    p.set_defaults(func=run_hotspots)

    p = sub.add_parser("beats", help="derive beats and responsibility areas and write them",
                       description="One beat per community (rural villages may share one with "
                                   "[beats] rural_merge), joined into contiguous "
                                   "responsibility areas of balanced workload.")
    add_project(p)
    _add_policy(p)
    p.add_argument("--areas", type=positive_int, metavar="K",
                   help="number of responsibility areas (default: beats / "
                        "responsibility_areas.beats_per_area per station)")
    p.add_argument("--balance-by", choices=("workload_hours", "incidents", "households",
                                            "population_actual", "beats"),
                   help="what areas balance (default: policy)")
    p.add_argument("--rederive", action="store_true",
                   help="rebuild the beats from the communities even when a beats layer exists")
    p.add_argument("--keep-areas", action="store_true",
                   help="keep loaded responsibility areas (beats take the area covering them)")
    p.add_argument("--dry-run", action="store_true", help="print, do not write")
    p.set_defaults(func=run_beats)


def _open(args: argparse.Namespace) -> Project:
    """The project, with the ``--policy`` file's tables routed to their sections."""
    return Project.open(args.project, **policy_sections(args.policy))


def _write_csv(df: pd.DataFrame, path: str | None, what: str) -> list[str]:
    """Write ``df`` when a path is given; the line to print (printed after the tables)."""
    if not path:
        return []
    df.to_csv(ensure_parent(path), index=False, encoding="utf-8")
    return [f"{what}: {len(df):,} rows written to {path}"]


def _save(m: Any, path: str | None) -> list[str]:
    if not path:
        return []
    save_map(m, ensure_parent(path))
    return [f"map written to {path}"]


def _print_lines(lines: list[str]) -> None:
    for line in lines:
        print(line)


# -- staffing ------------------------------------------------------------------------------

def run_staffing(args: argparse.Namespace) -> int:
    project = _open(args)
    with progress_bar(args, "staffing") as progress:
        res = project.policing.assess(period_days=args.period_days, snap_m=args.snap_m,
                                      progress=progress)
    g = res.gaps
    written = (_write_csv(g, args.out, "staffing")
               + _write_csv(res.areas, args.areas_out, "responsibility areas")
               + _write_csv(res.stations, args.stations_out, "stations")
               + _write_csv(res.rooms, args.rooms_out, "police rooms"))
    if args.map:
        written += _save(staffing_map(res, tiles=args.tiles), args.map)
    for note in res.notes:
        print(f"note: {note}")
    bad = g[g["severity"].isin(SHORTFALL_LEVELS)]
    open_ = int((g["severity"] == NOT_JUDGED).sum())
    levels = ", ".join(f"{n} {lv}" for lv, n in bad["severity"].value_counts().items())
    print(f"{len(g):,} beats assessed; {len(bad):,} understaffed ({levels or 'none'})"
          + (f"; {open_:,} not judged (missing data: see the notes)" if open_ else ""))
    for role in ROLES:
        print(f"  {role:18s} required {_total(g[f'{role}_required']):>7}  actual "
              f"{_total(g[f'{role}_actual']):>7}  short {_total(g[f'{role}_gap']):>6}")
    shown = (g if args.all else bad).sort_values("severity_rank")
    cols = ["severity_rank", "beat_id", "name", "population_actual", "population_floating",
            "officers_required", "officers_actual", "auxiliaries_required",
            "auxiliaries_actual", "floating_managers_required", "floating_managers_actual",
            "grid_workers_required", "grid_workers_actual", "severity", "failed_rules"]
    print("\nBeats" + ("" if args.all else " with a failed rule") + ", worst first:")
    print_table(_known(_short(shown[cols]).head(args.limit)))
    if len(shown) > args.limit:
        print(f"... {len(shown) - args.limit} more (--limit, or --out FILE.csv)")
    if open_ and not args.all:
        print(f"{open_:,} beat(s) not judged for missing data (--all lists them)")
    if res.areas["responsibility_area_id"].ne("(none)").any():
        print("\nResponsibility areas:")
        print_table(_known(_rollup_view(res.areas, "responsibility_area_id").head(args.limit)))
    print("\nStations:")
    print_table(_known(_rollup_view(res.stations, "station_id").head(args.limit)))
    _print_rooms(res.rooms, res.police_rooms, limit=args.limit)
    _print_lines(written)
    return 0


def _print_rooms(rooms: pd.DataFrame, layer: pd.DataFrame | None, *, limit: int) -> None:
    """The police room review: flagged rooms of N, beats without a room."""
    if layer is None or not len(layer):
        print("\nPolice rooms: none in the project, so none reviewed (import the police_rooms "
              "layer)")
        return
    flagged = rooms[rooms["flagged"]]
    no_room = int(rooms["room_id"].isna().sum())
    rooms_total = int(rooms["room_id"].notna().sum())
    print(f"\nPolice rooms flagged: {len(flagged) - no_room:,} of {rooms_total:,}"
          + (f"; {no_room:,} beat(s) without a police room" if no_room else ""))
    if len(flagged):
        print_table(_known(flagged[["room_id", "beat_id", "room_type", "office_condition",
                                    "officers_actual", "officers_required", "flags"]]
                           .head(limit)))


def _total(values: pd.Series) -> str:
    """A column's sum for the totals line; :data:`UNKNOWN` when no beat has the figure."""
    if len(values) and values.isna().all():
        return UNKNOWN
    return f"{int(values.sum()):,}"


def _known(df: pd.DataFrame, floatfmt: str = "{:,.3f}") -> pd.DataFrame:
    """``df`` for printing: unknown figures (NA) shown as :data:`UNKNOWN`."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype != object and out[col].isna().any():
            fmt = floatfmt if pd.api.types.is_float_dtype(out[col]) else "{:d}"
            out[col] = [UNKNOWN if pd.isna(v) else fmt.format(v) for v in out[col]]
    return out


def _short(df: pd.DataFrame) -> pd.DataFrame:
    out = df.rename(columns=lambda c: c.replace("floating_managers", "fm")
                    .replace("grid_workers", "gw").replace("auxiliaries", "aux")
                    .replace("officers", "off").replace("_required", "_req")
                    .replace("_actual", "_act").replace("population_", "pop_")
                    .replace("severity_rank", "rank"))
    if "failed_rules" in out:
        out["failed_rules"] = out["failed_rules"].str.replace(";", ",")
    return out


def _rollup_view(df: pd.DataFrame, key: str) -> pd.DataFrame:
    cols = [key, "beats", "understaffed_beats", "population_actual", "officers_required",
            "officers_actual", "officers_gap", "auxiliaries_gap", "floating_managers_gap",
            "grid_workers_gap", "worst_severity"]
    if "community_officer_share" in df:
        cols.append("community_officer_share")
    return _short(df[cols])


# -- alignment -----------------------------------------------------------------------------

def run_alignment(args: argparse.Namespace) -> int:
    res = _open(args).policing.align(min_share=args.min_share)
    g = res.grids
    mis = res.misaligned
    written = (_write_csv(g, args.out, "governance grids")
               + _write_csv(res.beats, args.beats_out, "beats")
               + _write_csv(res.reassignments, args.reassign_out, "reassignments"))
    if args.map:
        written += _save(alignment_map(res, tiles=args.tiles), args.map)
    print(f"{len(g):,} governance grids; {len(mis):,} misaligned (less than "
          f"{res.min_share:.0%} of their households, or area, in one beat); "
          f"{int(mis['households_affected'].sum()):,} households affected")
    if len(mis):
        print("\nMisaligned governance grids, most households affected first:")
        view = mis[["grid_id", "department", "households", "beats_touched", "main_beat",
                    "households_share", "area_share", "households_affected"]]
        print_table(view.head(args.limit))
        if len(mis) > args.limit:
            print(f"... {len(mis) - args.limit} more (--out FILE.csv)")
    print("\nAlignment score per beat (lowest first):")
    print_table(res.beats.sort_values("alignment_score", na_position="last")
                [["beat_id", "governance_grids", "main_of", "misaligned_grids", "households",
                  "households_aligned", "alignment_score"]].head(args.limit))
    if len(res.reassignments):
        print("\nSuggested reassignment (each governance grid to the beat holding most of its "
              "households):")
        print_table(res.reassignments.head(args.limit), floatfmt="{:,.0f}")
    _print_lines(written)
    return 0


# -- hotspots ------------------------------------------------------------------------------

def run_hotspots(args: argparse.Namespace) -> int:
    res = _open(args).policing.hotspots(
        zones=args.zones, permutations=args.permutations, preventable_only=args.preventable,
        period_days=args.period_days, compare=args.compare, snap_m=args.snap_m)
    z = res.zones
    table = pd.DataFrame(z.drop(columns="geometry"))
    written = _write_csv(table, args.out, "zones")
    if res.change is not None:
        written += _write_csv(res.change, args.change_out, "change")
    if args.map:
        written += _save(hotspot_map(res, tiles=args.tiles), args.map)
    for note in res.notes:
        print(f"note: {note}")
    print(f"Getis-Ord Gi* on {len(z):,} {res.zone_kind} ({res.weights} weights, "
          f"{res.permutations} permutations, p <= {res.significance}): {res.hot} hot, "
          f"{res.cold} cold")
    spots = table[table["hotspot"] != "not significant"].sort_values("gi_z", ascending=False)
    if len(spots):
        print_table(spots.head(args.limit))
    d = res.density
    if len(d):
        top = d.sort_values("density_km2", ascending=False).iloc[0]
        c = top.geometry.centroid
        print(f"\nKernel density: {len(d):,} cells of {d.attrs['cell_m']:.0f} m, bandwidth "
              f"{d.attrs['bandwidth_m']:.0f} m; peak {top.density_km2:,.1f} incidents/km² "
              f"at {c.x:.5f}, {c.y:.5f}")
    if res.change is not None:
        ch = res.change
        cur, prev = ch.attrs["current"], ch.attrs["previous"]
        what = "preventable cases" if args.preventable else "incidents"
        day = pd.Timedelta(days=1)
        print(f"\nChange in {what} per beat: {cur[0]:%Y-%m-%d}..{cur[1] - day:%Y-%m-%d} "
              f"vs {prev[0]:%Y-%m-%d}..{prev[1] - day:%Y-%m-%d}")
        total = ch[ch["beat_id"] == "(all)"]
        body = ch[ch["beat_id"] != "(all)"].sort_values("pct_change", na_position="last")
        print_table(pd.concat([body.head(args.limit), total]), floatfmt="{:,.1f}")
    _print_lines(written)
    return 0


# -- beats ---------------------------------------------------------------------------------

def run_beats(args: argparse.Namespace) -> int:
    plan = _open(args).policing.beats(
        areas=args.areas, balance_by=args.balance_by, rederive=args.rederive,
        keep_areas=args.keep_areas, save=not args.dry_run)
    if plan.derived:
        print(f"{len(plan.beats):,} beats derived from {plan.communities:,} communities")
        for name in plan.updated:
            print(f"{name}: beat_id updated to the derived beats")
    else:
        print(f"{len(plan.beats):,} beats in the project")
    if plan.area_loads is not None:
        w = plan.area_loads
        print(f"{len(plan.areas):,} responsibility areas balancing {plan.balance_by}: per area "
              f"min {w.min():,.1f}, mean {w.mean():,.1f}, max {w.max():,.1f}")
    print_table(plan.area_members)
    if args.dry_run:
        print("dry run: nothing written")
        return 0
    print(f"written to {args.project}: " + ", ".join(plan.writes))
    return 0
