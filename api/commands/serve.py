"""``beatgrid serve``: run the HTTP service on a project."""

from __future__ import annotations

from beatgrid.api.commands._common import add_project


def register(sub) -> None:
    p = sub.add_parser("serve", help="serve a project over HTTP (FastAPI)")
    add_project(p)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default loopback)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.set_defaults(func=run_serve)


def run_serve(args) -> int:
    import uvicorn

    from beatgrid.api.service import create_app
    from beatgrid.gis.io.project import list_layers

    list_layers(args.project)  # a missing project is a clear error before starting
    uvicorn.run(create_app(args.project), host=args.host, port=args.port, log_level="info")
    return 0
