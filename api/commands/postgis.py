"""``beatgrid postgis push|pull|layers``: the multi-user PostGIS store."""

from __future__ import annotations

import os

from beatgrid.gis.errors import InputError

from beatgrid.api.commands._common import add_project, print_table

URL_ENV = "BEATGRID_PG_URL"


def register(sub) -> None:
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


def _url(args) -> str:
    url = args.url or os.environ.get(URL_ENV)
    if not url:
        raise InputError("no database URL given",
                         fix=f"pass --url postgresql+psycopg://user:pw@host/db or set {URL_ENV}")
    return url


def run_postgis(args) -> int:
    from beatgrid.gis.io import postgis

    url = _url(args)
    if args.verb == "push":
        counts = postgis.copy_project_to_postgis(args.project, url, schema=args.schema)
        print(f"pushed {args.project} to {postgis.mask_url(url)} schema {args.schema}: " +
              ", ".join(f"{n:,} {layer}" for layer, n in counts.items() if n))
    elif args.verb == "pull":
        from beatgrid.gis.io.project import project_info

        path = postgis.copy_postgis_to_project(url, args.project, schema=args.schema,
                                               overwrite=args.overwrite)
        info = project_info(path)
        print(f"pulled schema {args.schema} into {path}: " +
              ", ".join(f"{n:,} {layer}" for layer, n in zip(info["layer"], info["features"])
                        if n))
    else:
        import pandas as pd

        names = postgis.list_layers_pg(url, schema=args.schema)
        print_table(pd.DataFrame({"layer": names}))
    return 0
