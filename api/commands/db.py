"""``beatgrid db upgrade|load|dump``: the multi-user PostGIS project.

``upgrade`` brings the service tables (accounts, audit, plans) to this BeatGrid's
revision (Alembic migrations); ``load`` copies a project file into the database
(layers, then accounts, audit and plans) and ``dump`` copies the database into a
project file, each copy of layers in one transaction, as ``postgis push|pull`` do.
"""

from __future__ import annotations

import argparse
import os

from beatgrid.api.commands._stores import DATABASE_URL_ENV, add_store_target, store_target
from beatgrid.gis.errors import InputError
from beatgrid.gis.io.store import is_database_url, open_store


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``db upgrade|load|dump`` to the subcommands."""
    p = sub.add_parser("db", help="the multi-user database: migrate, load a project, dump it")
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True)
    for verb, text in (("upgrade", "create or migrate the service tables (Alembic)"),
                       ("load", "copy a project file into the database (layers, accounts, "
                                "audit, plans)"),
                       ("dump", "copy the database into a project file")):
        q = verbs.add_parser(verb, help=text)
        add_store_target(q)
        if verb == "dump":
            q.add_argument("--overwrite", action="store_true",
                           help="replace an existing project file's layers")
        q.set_defaults(func=run_db)


def database(args: argparse.Namespace) -> str:
    """The database URL (``--database-url`` or the environment)."""
    url = args.database_url or os.environ.get(DATABASE_URL_ENV)
    if not url or not is_database_url(url):
        raise InputError("no database URL given",
                         fix=f"pass --database-url postgresql+psycopg://user:pw@host/db "
                             f"or set {DATABASE_URL_ENV}")
    return str(url)


def run_db(args: argparse.Namespace) -> int:
    """``beatgrid db …``."""
    # Lazy on purpose: SQLAlchemy and the PostGIS store load only for database commands.
    from beatgrid.gis.io import postgis
    from beatgrid.gis.io.records import copy_records

    schema = args.schema or postgis.DEFAULT_SCHEMA
    if args.verb == "upgrade":
        store = open_store(store_target(args), schema=schema)
        revision = store.records.upgrade()
        print(f"{store.location}: service tables at revision {revision}")
        return 0
    if not args.project:
        raise InputError(f"db {args.verb} needs the project file",
                         fix="pass --project P.gpkg")
    url = database(args)
    database_store = postgis.PostGISStore(url, schema=schema)
    if args.verb == "load":
        counts = postgis.copy_project_to_postgis(args.project, url, schema=schema)
        copied = copy_records(open_store(args.project).records, database_store.records)
        source, target = args.project, database_store.location
    else:
        path = postgis.copy_postgis_to_project(url, args.project, schema=schema,
                                               overwrite=args.overwrite)
        copied = copy_records(database_store.records, open_store(path).records)
        counts = {}
        source, target = database_store.location, str(path)
    print(f"copied {source} to {target}: " + ", ".join(
        [f"{n:,} {layer}" for layer, n in counts.items() if n]
        + [f"{n:,} {table.removeprefix('beatgrid_')}" for table, n in copied.items() if n]))
    return 0
