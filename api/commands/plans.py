"""``beatgrid plans …``: grid plans with drafts, history and publication (``project.plans``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from beatgrid.api.commands._common import print_table
from beatgrid.api.commands._stores import add_store_target, open_target
from beatgrid.gis.errors import InputError
from beatgrid.gis.plans import PlanView


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``plans …`` to the subcommands."""
    p = sub.add_parser("plans", help="grid plans: drafts, steps, undo, compare, publish")
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True)
    specs = {
        "list": "list the plans", "create": "a new draft of a community",
        "show": "a plan's grids and broken rules", "steps": "a plan's recorded steps",
        "undo": "go back a step (or to --to-step)", "redo": "go forward a step",
        "rebalance": "repair the grids that break a rule",
        "publish": "write the plan's grids into the project",
        "compare": "households and buildings moved between two plans",
        "export": "the plan as an assignment CSV (building_id,grid_id)",
        "import": "a new draft from an assignment CSV",
    }
    for verb, text in specs.items():
        q = verbs.add_parser(verb, help=text)
        add_store_target(q)
        if verb in ("show", "steps", "undo", "redo", "rebalance", "publish", "export",
                    "compare"):
            q.add_argument("plan", type=int, help="the plan id")
        if verb == "compare":
            q.add_argument("other", type=int, help="the plan compared with")
        if verb in ("list", "create", "import"):
            q.add_argument("--community", required=verb != "list", help="community id")
        if verb == "create":
            q.add_argument("--source", choices=("published", "empty", "generate"),
                           default="published", help="start from (default published)")
        if verb in ("create", "import"):
            q.add_argument("--name", default=None, help="the draft's name")
        if verb in ("undo", "redo"):
            q.add_argument("--to-step", type=int, default=None, help="the step to go to")
        if verb == "export":
            q.add_argument("--out", default="-", help="CSV file (default standard output)")
        if verb == "import":
            q.add_argument("--csv", required=True, help="assignment CSV (building_id,grid_id)")
        q.set_defaults(func=run_plans)


def show(view: PlanView) -> None:
    """Print a plan: its record, totals per grid and broken rules."""
    print(f"plan {view.id} ({view.name}) of {view.community_id}: {view.status}, "
          f"step {view.step} of {view.last_step}, version {view.version}, owner {view.owner}"
          + (" - buildings changed since, carried over by building" if view.remapped else ""))
    print_table(view.totals)
    if view.unassigned_units:
        print(f"{view.unassigned_units} units in no grid")
    for message in view.violations.get("message", pd.Series(dtype=str)).tolist():
        print(f"broken: {message}")


def run_plans(args: argparse.Namespace) -> int:
    """``beatgrid plans …``."""
    plans = open_target(args).plans
    verb = args.verb
    if verb == "list":
        rows = plans.list_plans(community_id=args.community)
        print_table(pd.DataFrame(rows, columns=["id", "community_id", "name", "owner", "status",
                                                "version", "head", "updated_at"]))
        return 0
    if verb == "steps":
        print_table(pd.DataFrame(plans.steps(args.plan)))
        return 0
    if verb == "compare":
        diff = plans.compare(args.plan, args.other)
        print(f"{diff.households_moved:,} households and {diff.buildings_moved:,} buildings "
              f"move from plan {args.plan} to plan {args.other}")
        print_table(diff.grids)
        return 0
    if verb == "export":
        text = plans.export_csv(args.plan)
        if args.out == "-":
            sys.stdout.write(text)
        else:
            Path(args.out).write_text(text, encoding="utf-8")
        return 0
    if verb == "import":
        path = Path(args.csv)
        if not path.is_file():
            raise InputError(f"--csv {args.csv!r} is not a file", fix="give the CSV's path")
        view = plans.import_csv(args.community, path.read_text(encoding="utf-8-sig"),
                                name=args.name)
    elif verb == "create":
        view = plans.create(args.community, name=args.name, source=args.source)
    elif verb == "undo":
        view = plans.undo(args.plan, to_step=args.to_step)
    elif verb == "redo":
        view = plans.redo(args.plan, to_step=args.to_step)
    elif verb == "rebalance":
        view = plans.rebalance(args.plan)
    elif verb == "publish":
        view = plans.publish(args.plan)
    else:
        view = plans.get(args.plan)
    show(view)
    return 0
