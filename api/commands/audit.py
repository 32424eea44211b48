"""``beatgrid audit``: the project's audit log (who wrote what, when, versions before and after).

Every write to a project is logged (:mod:`beatgrid.gis.audit`): layer writes, feature
edits over HTTP, account changes and the steps of grid plans. This command prints the
log, oldest first, as a table or as JSON, filtered by user, action (a prefix:
``features.`` gives every feature edit) and time.

Examples
--------
>>> from beatgrid.api.cli import main
>>> main(["audit", "--project", "sample-geodata/ningbo-jiangbei.gpkg"])
(none)
0
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from beatgrid.gis import Project
from beatgrid.gis.errors import InputError

from beatgrid.api.commands._common import add_project, positive_int, print_table

#: Entries shown unless ``--limit`` says otherwise (the most recent ones).
DEFAULT_LIMIT = 100
#: Longest summary shown in the table (``--json`` gives it whole).
SUMMARY_WIDTH = 60
#: Columns of the table, as named in the log.
COLUMNS = ("at", "user_name", "role", "action", "target_id", "version_before",
           "version_after", "summary")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``audit`` to the subcommands."""
    p = sub.add_parser("audit", help="print the project's audit log (every write: who, when, "
                                     "what, versions before and after)")
    add_project(p)
    p.add_argument("--schema", default=None,
                   help="database schema of a PostGIS project (default beatgrid)")
    p.add_argument("--user", help="only this user's entries (e.g. li, or cli:<login> for the "
                                  "command line)")
    p.add_argument("--action", help="only actions starting with this (layers.write, features., "
                                    "plans., users.)")
    p.add_argument("--since", metavar="ISO", help="only entries at or after this time "
                                                  "(2026-12-07 or 2026-12-07T08:30+08:00; a "
                                                  "time without a zone is UTC)")
    p.add_argument("--limit", type=positive_int, default=DEFAULT_LIMIT,
                   help=f"the most recent N entries (default {DEFAULT_LIMIT})")
    p.add_argument("--json", action="store_true", help="print the entries as JSON")
    p.set_defaults(func=run_audit)


def since_text(value: str) -> str:
    """``--since`` as the log stamps times (UTC, ``YYYY-MM-DDTHH:MM:SS.mmmZ``).

    Examples
    --------
    >>> since_text("2026-12-07"), since_text("2026-12-07T08:30+08:00")
    ('2026-12-07T00:00:00.000Z', '2026-12-07T00:30:00.000Z')
    >>> since_text("yesterday")
    Traceback (most recent call last):
    ...
    beatgrid.gis.errors.InputError: --since 'yesterday' is not an ISO 8601 date or time Fix: give e.g. 2026-12-07 or 2026-12-07T08:30:00+08:00
    """
    text = value.strip()
    try:
        when = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z"))
                                      else text)
    except ValueError:
        raise InputError(f"--since {value!r} is not an ISO 8601 date or time",
                         fix="give e.g. 2026-12-07 or 2026-12-07T08:30:00+08:00") from None
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def summary_text(summary: Any) -> str:
    """A summary on one line: ``key=value`` pairs, lists joined by commas, cut to fit.

    Examples
    --------
    >>> summary_text({"layer": "cameras", "changed": ["direction", "geometry"]})
    'changed=direction,geometry layer=cameras'
    """
    if not isinstance(summary, dict):
        return str(summary)
    parts = []
    for key in sorted(summary):
        value = summary[key]
        shown = ",".join(map(str, value)) if isinstance(value, list) else str(value)
        parts.append(f"{key}={shown}")
    text = " ".join(parts)
    return text if len(text) <= SUMMARY_WIDTH else text[:SUMMARY_WIDTH - 3] + "..."


def run_audit(args: argparse.Namespace) -> int:
    """``beatgrid audit``: print the entries asked for."""
    since = since_text(args.since) if args.since else None
    project = Project.open(args.project, schema=args.schema)
    entries = project.audit.entries(user=args.user or None, action=args.action or None,
                                    since=since, limit=args.limit)
    if args.json:
        print(json.dumps(entries, ensure_ascii=False, indent=2, default=str))
        return 0
    table = pd.DataFrame([{c: e.get(c) for c in COLUMNS} for e in entries],
                         columns=list(COLUMNS))
    table["summary"] = table["summary"].map(summary_text)
    table = table.rename(columns={"user_name": "user", "target_id": "target",
                                  "version_before": "before", "version_after": "after"})
    print_table(table.fillna(""), max_rows=max(60, len(table)))
    return 0
