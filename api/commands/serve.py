"""``beatgrid serve``: run the HTTP service on a project (a GeoPackage or a PostGIS URL)."""

from __future__ import annotations

import argparse

from beatgrid.gis import Project

from beatgrid.api.commands._common import add_project, port


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``serve`` to the subcommands."""
    p = sub.add_parser("serve", help="serve a project over HTTP (FastAPI)")
    add_project(p)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default loopback)")
    p.add_argument("--port", type=port, default=8000, help="port (default 8000)")
    p.set_defaults(func=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    """``beatgrid serve``: a missing or unreadable project is one clear error, before serving."""
    project = Project.open(args.project)
    project.store.list_layers()  # a damaged file or an unusable database: one line, exit 2
    # Lazy on purpose: the web stack (FastAPI, uvicorn and every route) is loaded only
    # to serve, not by every start of the command line.
    import uvicorn

    from beatgrid.api.service import create_app

    uvicorn.run(create_app(project), host=args.host, port=args.port, log_level="info")
    return 0
