"""``beatgrid postgis push|pull|layers``: the multi-user PostGIS store.

``push`` copies a GeoPackage project into a PostgreSQL schema and ``pull`` a schema
into a GeoPackage, each in one transaction (:func:`~beatgrid.gis.io.postgis.
copy_project_to_postgis`, :func:`~beatgrid.gis.io.postgis.copy_postgis_to_project`);
``layers`` lists what the schema holds. Any other command works on the database
directly with ``--project postgresql://…`` (the default schema ``beatgrid``).
"""

from __future__ import annotations

import argparse
import os

import pandas as pd

from beatgrid.gis.errors import InputError
from beatgrid.gis.io.gpkg import GeoPackageStore

from beatgrid.api.commands._common import add_project, print_table

URL_ENV = "BEATGRID_PG_URL"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``postgis push|pull|layers`` to the subcommands."""
    p = sub.add_parser("postgis", help="copy a project to or from a PostGIS database")
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True)
    for verb, text in (("push", "copy every layer of the project into PostGIS (one transaction)"),
                       ("pull", "copy every layer from PostGIS into a new project file"),
                       ("layers", "list the layers stored in PostGIS")):
        q = verbs.add_parser(verb, help=text)
        if verb != "layers":
            add_project(q)
        q.add_argument("--url", default=None,
                       help=f"database URL, e.g. postgresql+psycopg://user:pw@host/db "
                            f"(default: ${URL_ENV})")
        q.add_argument("--schema", default="beatgrid", help="database schema (default beatgrid)")
        if verb == "pull":
            q.add_argument("--overwrite", action="store_true",
                           help="replace the layers of an existing project file")
        q.set_defaults(func=run_postgis)


def database_url(args: argparse.Namespace) -> str:
    """``--url``, else ``$BEATGRID_PG_URL``; :class:`InputError` when neither is given."""
    url = args.url or os.environ.get(URL_ENV)
    if not url:
        raise InputError("no database URL given",
                         fix=f"pass --url postgresql+psycopg://user:pw@host/db or set {URL_ENV}")
    return str(url)


def run_postgis(args: argparse.Namespace) -> int:
    """``beatgrid postgis push|pull|layers``."""
    url = database_url(args)
    # Lazy on purpose: SQLAlchemy (about a second to import) is loaded only by the
    # commands that use a database, not by every start of the command line.
    from beatgrid.gis.io import postgis

    if args.verb == "push":
        counts = postgis.copy_project_to_postgis(args.project, url, schema=args.schema)
        print(f"pushed {args.project} to {postgis.mask_url(url)} schema {args.schema}: " +
              ", ".join(f"{n:,} {layer}" for layer, n in counts.items() if n))
    elif args.verb == "pull":
        path = postgis.copy_postgis_to_project(url, args.project, schema=args.schema,
                                               overwrite=args.overwrite)
        info = GeoPackageStore(path).info()
        print(f"pulled schema {args.schema} into {path}: " +
              ", ".join(f"{n:,} {layer}" for layer, n in zip(info["layer"], info["features"])
                        if n))
    else:
        names = postgis.PostGISStore(url, schema=args.schema).list_layers()
        print_table(pd.DataFrame({"layer": names}))
    return 0
