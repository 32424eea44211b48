"""The BeatGrid HTTP service (FastAPI): layers as GeoJSON, validation, info.

Thin: parse, call ``gis/``, render. Start it with ``beatgrid serve --project P``
or ``uvicorn 'beatgrid.api.service:app_from_env' --factory`` with
``BEATGRID_PROJECT`` set. Domain errors map to 4xx in :mod:`beatgrid.api.errors`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

from fastapi import FastAPI, Query
from fastapi.responses import Response

from beatgrid.gis import schema
from beatgrid.gis.errors import InputError, NotFoundError
from beatgrid.gis.io import project as store

from beatgrid.api.errors import install_error_handlers
from beatgrid.api.rendering import GEOJSON_RESPONSES, geojson_response


def _parse_bbox(bbox: str | None):
    if bbox is None:
        return None
    try:
        values = tuple(float(v) for v in bbox.split(","))
    except ValueError:
        values = ()
    if len(values) != 4 or values[0] >= values[2] or values[1] >= values[3]:
        raise InputError(f"bbox {bbox!r} is not minlon,minlat,maxlon,maxlat",
                         fix="give four comma-separated numbers with min < max")
    return values


def create_app(project: str | Path) -> FastAPI:
    """A service answering for one project file."""
    project = Path(project)
    app = FastAPI(title="BeatGrid", version="0.1.0",
                  description="Police beats, basic grids, CCTV coverage and staffing.")
    install_error_handlers(app)
    app.state.project = project

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok", "project": str(project), "exists": project.exists()}

    @app.get("/layers")
    def layers() -> list[dict]:
        info = store.project_info(project)
        return json.loads(info.to_json(orient="records"))

    @app.get("/layers/{name}", responses=GEOJSON_RESPONSES)
    def layer(name: str,
              bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat")] = None,
              limit: Annotated[int, Query(ge=1, le=1_000_000)] = 100_000) -> Response:
        spec = schema.get_spec(name)
        if name not in store.list_layers(project):
            raise NotFoundError(f"layer {name!r} is not in the project",
                                fix="GET /layers lists the layers present")
        df = store.read_layer(project, name, bbox=_parse_bbox(bbox))
        df = df.iloc[:limit]
        if not spec.spatial:
            return Response(df.to_json(orient="records"), media_type="application/json")
        return geojson_response(df)

    @app.get("/validate")
    def validate() -> dict:
        report = schema.validate_project(store.read_project(project))
        frame = report.to_frame()
        frame = frame.astype(object).where(frame.notna(), None)
        return {"ok": report.ok, "errors": len(report.errors), "warnings": len(report.warnings),
                "problems": [{k: (v if isinstance(v, (str, int, float, bool, type(None)))
                                  else str(v)) for k, v in row.items()}
                             for row in frame.to_dict("records")]}

    for register in _extra_routes():
        register(app)
    return app


def _extra_routes():
    """Route modules of the capabilities (``api/routes/*.py`` with ``register(app)``)."""
    import importlib
    import pkgutil

    from beatgrid.api import routes

    for info in sorted(pkgutil.iter_modules(routes.__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            yield importlib.import_module(f"beatgrid.api.routes.{info.name}").register


def app_from_env() -> FastAPI:
    """App factory for uvicorn: the project comes from ``BEATGRID_PROJECT``."""
    path = os.environ.get("BEATGRID_PROJECT")
    if not path:
        raise InputError("BEATGRID_PROJECT is not set", fix="export BEATGRID_PROJECT=P.gpkg")
    return create_app(path)
