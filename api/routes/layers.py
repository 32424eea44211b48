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

``bbox`` is four finite numbers in degrees, ``minlon,minlat,maxlon,maxlat`` with min <
max, longitudes in [-180, 180] and latitudes in [-90, 90]; a table without geometry
(``staff``) takes no ``bbox``. Both are refused with 422 and the one error body.

Layers are read through the app's :class:`~beatgrid.gis.io.feature_reads.FeatureReader`
(``app.state.reader``, set up here and shared with the OGC API routes): read and indexed
once per stored state, a box is an R-tree query, the features come in the stored order.
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.responses import Response

from beatgrid.api.auth import Reader
from beatgrid.api.deps import ProjectDep
from beatgrid.api.errors import COMMON_ERRORS, error_responses, shown
from beatgrid.api.rendering import GEOJSON, GEOJSON_RESPONSES, collection_text, feature_texts
from beatgrid.gis import schema
from beatgrid.gis.errors import InputError, NotFoundError
from beatgrid.gis.io.feature_reads import FeatureReader

router = APIRouter()

#: Documented error answers of the routes reading the project.
ERRORS = error_responses(*COMMON_ERRORS)

#: Largest ``limit`` of ``GET /layers/{name}``.
MAX_FEATURES = 1_000_000

BBox = tuple[float, float, float, float]
#: What ``bbox`` must be, told by every refusal.
BBOX_FIX = ("give four comma-separated numbers in degrees, minlon,minlat,maxlon,maxlat, "
            "with min < max, longitudes from -180 to 180 and latitudes from -90 to 90")


def setup(app: FastAPI) -> None:
    """The app's feature reader over its project's store (``app.state.reader``)."""
    app.state.reader = FeatureReader(app.state.project.store)


def get_reader(request: Request) -> FeatureReader:
    """The app's :class:`FeatureReader`."""
    reader: FeatureReader = request.app.state.reader
    return reader


ReaderDep = Annotated[FeatureReader, Depends(get_reader)]


def parse_bbox(bbox: str | None) -> BBox | None:
    """``minlon,minlat,maxlon,maxlat`` as four finite floats in degrees (None when not given).

    Examples
    --------
    >>> parse_bbox("121.5,29.9,121.6,30.0")
    (121.5, 29.9, 121.6, 30.0)
    >>> parse_bbox("1,2,3")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    beatgrid.gis.errors.InputError: bbox '1,2,3' is not minlon,minlat,maxlon,maxlat Fix: give four comma-separated numbers in degrees, ...
    >>> parse_bbox("nan,29.9,121.6,30.0")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    beatgrid.gis.errors.InputError: bbox 'nan,29.9,121.6,30.0': 'nan' is not a finite number Fix: ...
    """
    if bbox is None:
        return None
    parts = bbox.split(",")
    try:
        values = tuple(float(v) for v in parts)
    except ValueError:
        values = ()
    if len(values) != 4:
        raise InputError(f"bbox {shown(bbox)} is not minlon,minlat,maxlon,maxlat",
                         fix=BBOX_FIX)
    for part, value in zip(parts, values):
        if not math.isfinite(value):
            raise InputError(f"bbox {shown(bbox)}: {shown(part.strip())} is not a finite number",
                             fix=BBOX_FIX)
    for value, bound, what in ((values[0], 180, "longitude"), (values[2], 180, "longitude"),
                               (values[1], 90, "latitude"), (values[3], 90, "latitude")):
        if abs(value) > bound:
            raise InputError(f"bbox {shown(bbox)}: {what} {value:g} is outside -{bound} to "
                             f"{bound}",
                             fix=BBOX_FIX)
    if values[0] >= values[2] or values[1] >= values[3]:
        raise InputError(f"bbox {shown(bbox)} is not minlon,minlat,maxlon,maxlat (min must "
                         "be below max)", fix=BBOX_FIX)
    return (values[0], values[1], values[2], values[3])


@router.get("/health", responses=error_responses(503))
def health(project: ProjectDep, principal: Reader) -> dict[str, Any]:
    """The service is up."""
    return {"status": "ok", "project": project.location, "exists": project.store.exists()}


@router.get("/layers", responses=ERRORS)
def layers(project: ProjectDep, principal: Reader) -> list[dict[str, Any]]:
    """Layers, feature counts, geometry types, CRS and extents."""
    result: list[dict[str, Any]] = json.loads(project.info().to_json(orient="records"))
    return result


@router.get("/layers/{name}", responses={**GEOJSON_RESPONSES, **ERRORS})
def layer(reader: ReaderDep, principal: Reader,
          name: Annotated[str, Path(description="a layer of the schema",
                                    json_schema_extra={"enum": list(schema.LAYER_ORDER)})],
          bbox: Annotated[str | None, Query(
              description="minlon,minlat,maxlon,maxlat in degrees (spatial layers only)",
              examples=["121.54,29.91,121.55,29.92"])] = None,
          limit: Annotated[int, Query(ge=1, le=MAX_FEATURES,
                                      description="at most this many features")] = 100_000
          ) -> Response:
    """One layer as GeoJSON (EPSG:4326), or JSON records for a table."""
    # the features come in the stored order (with a bbox as without)
    spec = schema.get_spec(name)
    box = parse_bbox(bbox)
    if box is not None and not spec.spatial:
        raise InputError(f"layer {name!r} is a table without geometry: bbox does not apply "
                         f"(bbox={shown(bbox)})", fix=f"leave bbox out: GET /layers/{name}")
    snap = reader.snapshot()
    if name not in snap.layers:
        raise NotFoundError(f"layer {name!r} is not in the project",
                            fix="GET /layers lists the layers present")
    read = snap.read(name)
    if not spec.spatial:
        return Response(read.frame.iloc[:limit].to_json(orient="records"),
                        media_type="application/json")
    rows = read.select(bbox=box) if box is not None else np.arange(len(read.frame))
    return Response(collection_text(feature_texts(read, rows[:limit])), media_type=GEOJSON)


@router.get("/validate", responses=ERRORS)
def validate(project: ProjectDep, principal: Reader) -> dict[str, Any]:
    """Every schema problem of the project."""
    report = project.validate()
    frame = report.to_frame()
    frame = frame.astype(object).where(frame.notna(), None)
    return {"ok": report.ok, "errors": len(report.errors), "warnings": len(report.warnings),
            "problems": [{k: (v if isinstance(v, (str, int, float, bool, type(None)))
                              else str(v)) for k, v in row.items()}
                         for row in frame.to_dict("records")]}
