"""``beatgrid serve``: the HTTP service on a project file (one user) or PostGIS (many)."""

from __future__ import annotations

import argparse

from beatgrid.api.commands._common import port
from beatgrid.api.commands._stores import add_store_target, open_target


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``serve`` to the subcommands."""
    p = sub.add_parser("serve", help="serve a project over HTTP (FastAPI)")
    add_store_target(p)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default loopback)")
    p.add_argument("--port", type=port, default=8000, help="port (default 8000)")
    p.add_argument("--public-read", action="store_true",
                   help="reads need no sign-in (writes always need a role)")
    p.add_argument("--auth", choices=("local", "accounts"), default=None,
                   help="local: one user, no sign-in; accounts: sign-in and roles "
                        "(default: accounts when the project has users or is a database)")
    p.add_argument("--allowed-host", action="append", default=[], metavar="NAME",
                   help="a host name the service is reached by (repeat; loopback names "
                        "are always allowed)")
    p.add_argument("--cors-origin", action="append", default=[], metavar="URL",
                   help="an origin whose web pages may call the service (repeat; none by "
                        "default)")
    p.set_defaults(func=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    """``beatgrid serve``: a missing or unreadable project is one clear error, before serving."""
    project = open_target(args)
    project.store.list_layers()  # a damaged file or an unusable database: one line, exit 2
    records = project.store.records  # accounts, plans, audit: created, or at this revision
    records.require_current(auto=records.schema is None)
    # Lazy on purpose: the web stack (FastAPI, uvicorn and every route) is loaded only
    # to serve, not by every start of the command line.
    import uvicorn

    from beatgrid.api.service import create_app

    app = create_app(project, public_read=args.public_read or None, auth_mode=args.auth,
                     allowed_hosts=args.allowed_host, cors_origins=args.cors_origin)
    print(f"serving {project.location} at http://{args.host}:{args.port} "
          f"({app.state.auth.mode} mode{', public reads' if app.state.auth.public_read else ''})",
          flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info",
                timeout_graceful_shutdown=5)
    return 0
