"""Naming the project of a command: ``--project P.gpkg`` or ``--database-url URL``."""

from __future__ import annotations

import argparse
import os

from beatgrid.gis.errors import InputError
from beatgrid.gis.project import Project

#: Environment variable naming the multi-user database.
DATABASE_URL_ENV = "BEATGRID_DATABASE_URL"


def add_store_target(parser: argparse.ArgumentParser) -> None:
    """``--project P.gpkg`` | ``--database-url URL`` (``$BEATGRID_DATABASE_URL``) ``--schema``."""
    parser.add_argument("--project", "-p", metavar="P.gpkg",
                        help="the project file (one user); or use --database-url")
    parser.add_argument("--database-url", metavar="URL",
                        help="PostGIS database of a multi-user project, "
                             "postgresql+psycopg://user:pw@host/db "
                             f"(default ${DATABASE_URL_ENV})")
    parser.add_argument("--schema", default=None,
                        help="database schema of the project (default beatgrid)")


def store_target(args: argparse.Namespace) -> str:
    """The project path or database URL the arguments name.

    Raises
    ------
    InputError
        Both or neither given.
    """
    url = getattr(args, "database_url", None) or None
    if args.project and url:
        raise InputError("both --project and --database-url were given",
                         fix="give one: a project file, or a database")
    target = args.project or url or os.environ.get(DATABASE_URL_ENV)
    if not target:
        raise InputError("no project given",
                         fix=f"pass --project P.gpkg or --database-url URL (or set "
                             f"{DATABASE_URL_ENV})")
    return str(target)


def open_target(args: argparse.Namespace) -> Project:
    """The :class:`Project` the arguments name (it must exist)."""
    return Project.open(store_target(args), schema=getattr(args, "schema", None))
