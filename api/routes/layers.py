"""``/health``, ``/layers``, ``/layers/{name}`` and ``/validate``: the project's layers.

==========================================  ===============================================
``GET /health``                             the service is up; the project and whether it
                                            exists
``GET /layers``                             layers, feature counts, geometry type, CRS,
                                            extent
``GET /layers/{name}?bbox=&limit=``         one layer as GeoJSON (EPSG:4326); the
                                            ``staff`` table as JSON records
``GET /validate``                           every schema problem of the project at once
==========================================  ===============================================
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from beatgrid.api.deps import ProjectDep
from beatgrid.api.rendering import GEOJSON_RESPONSES, geojson_response
from beatgrid.gis import schema
from beatgrid.gis.errors import InputError, NotFoundError

router = APIRouter()

BBox = tuple[float, float, float, float]


def parse_bbox(bbox: str | None) -> BBox | None:
    """``minlon,minlat,maxlon,maxlat`` as four floats (None when not given).

    Examples
    --------
    >>> parse_bbox("121.5,29.9,121.6,30.0")
    (121.5, 29.9, 121.6, 30.0)
    >>> parse_bbox("1,2,3")
    Traceback (most recent call last):
    ...
    beatgrid.gis.errors.InputError: bbox '1,2,3' is not minlon,minlat,maxlon,maxlat Fix: give four comma-separated numbers with min < max
    """
    if bbox is None:
        return None
    try:
        values = tuple(float(v) for v in bbox.split(","))
    except ValueError:
        values = ()
    if len(values) != 4 or values[0] >= values[2] or values[1] >= values[3]:
        raise InputError(f"bbox {bbox!r} is not minlon,minlat,maxlon,maxlat",
                         fix="give four comma-separated numbers with min < max")
    return (values[0], values[1], values[2], values[3])


@router.get("/health")
def health(project: ProjectDep) -> dict[str, Any]:
    """The service is up."""
    return {"status": "ok", "project": project.location, "exists": project.store.exists()}


@router.get("/layers")
def layers(project: ProjectDep) -> list[dict[str, Any]]:
    """Layers, feature counts, geometry types, CRS and extents."""
    result: list[dict[str, Any]] = json.loads(project.info().to_json(orient="records"))
    return result


@router.get("/layers/{name}", responses=GEOJSON_RESPONSES)
def layer(project: ProjectDep, name: str,
          bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat")] = None,
          limit: Annotated[int, Query(ge=1, le=1_000_000)] = 100_000) -> Response:
    """One layer as GeoJSON (EPSG:4326), or JSON records for a table."""
    spec = schema.get_spec(name)
    if name not in project.store.list_layers():
        raise NotFoundError(f"layer {name!r} is not in the project",
                            fix="GET /layers lists the layers present")
    df = project.layer(name, bbox=parse_bbox(bbox))
    df = df.iloc[:limit]
    if not spec.spatial:
        return Response(df.to_json(orient="records"), media_type="application/json")
    return geojson_response(df)


@router.get("/validate")
def validate(project: ProjectDep) -> dict[str, Any]:
    """Every schema problem of the project."""
    report = project.validate()
    frame = report.to_frame()
    frame = frame.astype(object).where(frame.notna(), None)
    return {"ok": report.ok, "errors": len(report.errors), "warnings": len(report.warnings),
            "problems": [{k: (v if isinstance(v, (str, int, float, bool, type(None)))
                              else str(v)) for k, v in row.items()}
                         for row in frame.to_dict("records")]}
