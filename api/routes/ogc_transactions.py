"""OGC API - Features, Part 4 (Create, Replace, Update, Delete): editing layers over HTTP.

==================================================  =========================================
``POST /collections/{collectionId}/items``          add a feature: 201, ``Location``, ``ETag``
``PUT /collections/{collectionId}/items/{featureId}``  replace it: 200, the new ``ETag``
``PATCH /collections/{collectionId}/items/{featureId}``  a JSON merge patch (RFC 7396) of
                                                    its properties and/or geometry: 200, ``ETag``
``DELETE /collections/{collectionId}/items/{featureId}``  delete it: 204
==================================================  =========================================

The editable layers are :data:`~beatgrid.gis.io.feature_edits.EDITABLE_LAYERS`:
cameras, police rooms, the staff roster, beats and governance grids (any other is
refused with 422 naming them). Bodies are GeoJSON Features in EPSG:4326 (the staff
roster has ``"geometry": null``) sent as ``application/geo+json`` or
``application/json`` (``PATCH`` also ``application/merge-patch+json``; anything else:
415). Each answer carries the feature's new ``ETag``, a hash of its stored content
(:mod:`beatgrid.gis.io.feature_versions`), which ``GET`` of the feature gives too.

No lost writes: ``PUT``, ``PATCH`` and ``DELETE`` require ``If-Match`` with the ETag the
change was made from; without it 428 (Precondition Required), and when the feature has
changed since 409 with the current version (``current_version`` and the ``ETag``
header); nothing is written then. Each edit runs under the project's lock
(:class:`~beatgrid.gis.io.feature_edits.FeatureEditor`): it is validated by the schema
(422 with every problem in ``problems``), refused when the id exists (``POST``: 409)
or does not (404), when other features refer to a deleted one (409 naming them), and
recorded in the audit log. Every route needs the ``planner`` role.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import quote

import geopandas as gpd
import pandas as pd
from fastapi import APIRouter, Depends, FastAPI, Header, Path, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from beatgrid.api.auth import Planner
from beatgrid.api.deps import ProjectDep
from beatgrid.api.errors import COMMON_ERRORS, ErrorBody, error_responses
from beatgrid.api.jobs import Refused, install_refusal_handler
from beatgrid.api.rendering import GEOJSON, json_default, records, to_4326
from beatgrid.gis.errors import InputError
from beatgrid.gis.io.feature_edits import EDITABLE_LAYERS, EditResult, FeatureEditor
from beatgrid.gis.io.feature_versions import etag, parse_if_match

router = APIRouter(tags=["OGC API - Features: editing"])

#: Media types of a feature body; ``PATCH`` also takes a merge patch's own.
FEATURE_TYPES = ("application/geo+json", "application/json")
MERGE_PATCH = "application/merge-patch+json"
#: Conformance classes of OGC API - Features Part 4 these routes implement.
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/features",
]
PRECONDITION_REQUIRED = 428
UNSUPPORTED_TYPE = 415

_ETAG_HEADER = {"ETag": {"description": "the feature's version (its content hash): send it "
                                        "back in If-Match to change the feature",
                         "schema": {"type": "string"}}}
_FEATURE_CONTENT = {GEOJSON: {"schema": {"type": "object"}}}
_ERRORS: dict[int | str, dict[str, Any]] = error_responses(401, 403, *COMMON_ERRORS, 409,
                                                            413, 415)
_VERSIONED_ERRORS: dict[int | str, dict[str, Any]] = {
    **_ERRORS, PRECONDITION_REQUIRED: {
        "model": ErrorBody, "description": "If-Match is missing: GET the feature and send "
                                           "its ETag"}}


def _body_types(model: str, *types: str) -> dict[str, Any]:
    """``openapi_extra`` documenting the body's other media types (FastAPI gives JSON)."""
    schema = {"$ref": f"#/components/schemas/{model}"}
    return {"requestBody": {"content": {t: {"schema": schema} for t in types}}}

CollectionId = Annotated[str, Path(description="an editable layer: " + ", ".join(EDITABLE_LAYERS),
                                   examples=["cameras"])]
FeatureId = Annotated[str, Path(description="the feature's id (staff: its beat_id)",
                                examples=["CAM001"])]
IfMatch = Annotated[str | None, Header(
    alias="If-Match", description="the ETag of the feature the change was made from "
                                  "(required: 428 without it, 409 when stale; * for any)")]

_GEOMETRY = Field(None, description="a GeoJSON geometry in EPSG:4326 (longitude, latitude); "
                                    "null for the staff roster",
                  examples=[{"type": "Point", "coordinates": [121.545, 29.915]}])
_PROPERTIES = Field(None, description="the feature's attributes (GET /collections/{id}/items "
                                      "shows them; a staff row: beat_id and the counts)",
                    examples=[{"kind": "entrance", "direction": 90, "fov_deg": 90}])


class FeatureIn(BaseModel):
    """A GeoJSON Feature to create or to replace one with (``bbox`` and ``links`` ignored)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    type: Literal["Feature"] = "Feature"
    id: str | int | None = Field(None, description="the feature's id (POST: default the next "
                                                   "one of the layer's ids; PUT: the path's)")
    geometry: dict[str, Any] | None = _GEOMETRY
    properties: dict[str, str | int | float | bool | None] | None = _PROPERTIES
    bbox: list[float] | None = Field(None, description="ignored")
    links: list[dict[str, Any]] | None = Field(None, description="ignored (what GET answers)")


class FeaturePatch(BaseModel):
    """A JSON merge patch of a GeoJSON Feature: the members given change, null clears."""

    model_config = ConfigDict(extra="forbid", strict=True)

    type: Literal["Feature"] | None = None
    id: str | int | None = Field(None, description="if given, the path's id")
    geometry: dict[str, Any] | None = Field(
        None, description="merged into the geometry (EPSG:4326); left out: the geometry "
                          "is kept as stored", examples=[{"coordinates": [121.546, 29.916]}])
    properties: dict[str, str | int | float | bool | None] | None = Field(
        None, description="the properties to change (null: back to the default)",
        examples=[{"direction": 135}])
    bbox: list[float] | None = Field(None, description="ignored")
    links: list[dict[str, Any]] | None = Field(None, description="ignored")


T = TypeVar("T")


class EditThread:
    """The thread feature edits run on, one at a time (started on first use, again after
    :meth:`close`).

    Edits wait for the project's lock anyway; a thread that lives on keeps its warm
    state (PROJ builds its coordinate transformations once per thread: 0.1-0.3 s each).
    """

    def __init__(self) -> None:
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    async def run(self, edit: Callable[[], T]) -> T:
        """``edit()`` on the thread, in the caller's context (the acting user)."""
        context = contextvars.copy_context()
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1,
                                                    thread_name_prefix="beatgrid-edits")
            executor = self._executor
        return await asyncio.get_running_loop().run_in_executor(executor, context.run, edit)

    def close(self) -> None:
        """Stop the thread: an edit under way finishes, none queued starts."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)


def setup(app: FastAPI) -> None:
    """The edits' thread, and the one error body for the refusals of these routes (415, 428)."""
    install_refusal_handler(app)
    app.state.feature_edits = EditThread()


async def shutdown(app: FastAPI) -> None:
    """Stop the edits' thread."""
    app.state.feature_edits.close()


async def run_edit(request: Request, edit: Callable[[], T]) -> T:
    """Run ``edit`` on the app's edits thread, as the request's user."""
    thread: EditThread = request.app.state.feature_edits
    return await thread.run(edit)


async def json_body(request: Request) -> None:
    """Refuse (415) a body that is not GeoJSON or JSON (a browser's text/plain POST)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    allowed = (*FEATURE_TYPES, MERGE_PATCH) if request.method == "PATCH" else FEATURE_TYPES
    if media not in allowed:
        raise Refused(InputError(
            f"{request.method} {request.url.path}: a body of type {media or '(none)'!r} is "
            "not accepted", fix="send the GeoJSON Feature with Content-Type: "
                                + " or ".join(allowed)), status=UNSUPPORTED_TYPE)


JsonBody = Depends(json_body)


def expected_version(request: Request, if_match: str | None) -> tuple[str, ...]:
    """The versions ``If-Match`` names; 428 when it is missing or empty."""
    versions = parse_if_match(if_match or "")
    if not versions:
        where = f"{request.method} {request.url.path}"
        raise Refused(InputError(
            f"{where}: If-Match is required (the ETag of the feature you changed)",
            fix=f"GET {request.url.path} and send its ETag header back as If-Match"),
            status=PRECONDITION_REQUIRED)
    return versions


def feature_json(result: EditResult, base: str) -> dict[str, Any]:
    """The feature as stored, as GeoJSON (EPSG:4326) with its id and links.

    ``base`` is the service's root URL (no trailing slash).
    """
    frame = result.feature
    if isinstance(frame, gpd.GeoDataFrame):
        part = to_4326(frame).set_axis(pd.Index([result.feature_id], dtype=object))
        feature: dict[str, Any] = part.to_geo_dict(drop_id=False)["features"][0]
    else:
        feature = {"type": "Feature", "id": result.feature_id, "geometry": None,
                   "properties": records(frame)[0]}
    feature = json.loads(json.dumps(feature, default=json_default))
    feature["links"] = [
        {"href": item_url(base, result.layer, result.feature_id), "rel": "self",
         "type": GEOJSON, "title": "this feature"},
        {"href": f"{base}/collections/{result.layer}", "rel": "collection",
         "type": "application/json", "title": "the collection"}]
    return feature


def item_url(base: str, layer: str, feature_id: str) -> str:
    """The URL of a feature."""
    return f"{base}/collections/{layer}/items/{quote(feature_id, safe='')}"


def base_url(request: Request) -> str:
    """The service's root URL, without the trailing slash."""
    return str(request.base_url).rstrip("/")


async def edited(request: Request, edit: Callable[[], EditResult], *, status: int = 200
                 ) -> JSONResponse:
    """Run an edit on the edits' thread and answer the feature with its new ETag
    (and its ``Location`` when created)."""
    base = base_url(request)

    def run() -> tuple[EditResult, dict[str, Any]]:
        result = edit()
        return result, feature_json(result, base)

    result, feature = await run_edit(request, run)
    assert result.version is not None
    headers = {"ETag": etag(result.version)}
    if status == 201:
        headers["Location"] = item_url(base, result.layer, result.feature_id)
    return JSONResponse(feature, status_code=status, media_type=GEOJSON, headers=headers)


@router.post("/collections/{collectionId}/items", status_code=201, response_class=Response,
             dependencies=[JsonBody], openapi_extra=_body_types("FeatureIn", GEOJSON),
             responses={201: {"description": "created: the feature as stored, its ETag and "
                                             "its URL (Location)", "content": _FEATURE_CONTENT,
                              "headers": {**_ETAG_HEADER, "Location": {
                                  "description": "the new feature's URL",
                                  "schema": {"type": "string"}}}},
                        **_ERRORS})
async def create_item(request: Request, project: ProjectDep, principal: Planner,
                collectionId: CollectionId,  # noqa: N803 (OGC name)
                body: FeatureIn) -> Response:
    """Add a feature to an editable layer (its id: the body's, else the next one).

    409 when a feature with that id exists; 422 with every schema problem (types,
    ranges, allowed values, coordinates outside the project's area, references).
    """
    feature = body.model_dump(exclude={"bbox", "links"})
    return await edited(request, lambda: FeatureEditor(project).create(collectionId, feature),
                        status=201)


@router.put("/collections/{collectionId}/items/{featureId}", response_class=Response,
            dependencies=[JsonBody], openapi_extra=_body_types("FeatureIn", GEOJSON),
            responses={200: {"description": "replaced: the feature as stored and its new ETag",
                             "content": _FEATURE_CONTENT, "headers": _ETAG_HEADER},
                       **_VERSIONED_ERRORS})
async def replace_item(request: Request, project: ProjectDep, principal: Planner,
                 collectionId: CollectionId, featureId: FeatureId,  # noqa: N803
                 body: FeatureIn, if_match: IfMatch = None) -> Response:
    """Replace a feature (properties not given take their defaults); needs ``If-Match``."""
    expected = expected_version(request, if_match)
    feature = body.model_dump(exclude={"bbox", "links"})
    return await edited(request, lambda: FeatureEditor(project).replace(
        collectionId, featureId, feature, expected=expected))


@router.patch("/collections/{collectionId}/items/{featureId}", response_class=Response,
              dependencies=[JsonBody],
              openapi_extra=_body_types("FeaturePatch", GEOJSON, MERGE_PATCH),
              responses={200: {"description": "updated: the feature as stored and its new ETag",
                               "content": _FEATURE_CONTENT, "headers": _ETAG_HEADER},
                         **_VERSIONED_ERRORS})
async def update_item(request: Request, project: ProjectDep, principal: Planner,
                collectionId: CollectionId, featureId: FeatureId,  # noqa: N803
                body: FeaturePatch, if_match: IfMatch = None) -> Response:
    """Change some properties and/or the geometry (a JSON merge patch); needs ``If-Match``.

    ``{"properties": {"direction": 135}}`` turns a camera; ``{"geometry": {"coordinates":
    [121.546, 29.916]}}`` moves it; a property set to null goes back to its default.
    """
    expected = expected_version(request, if_match)
    patch = body.model_dump(exclude_unset=True, exclude={"bbox", "links"})
    return await edited(request, lambda: FeatureEditor(project).update(
        collectionId, featureId, patch, expected=expected))


@router.delete("/collections/{collectionId}/items/{featureId}", status_code=204,
               response_class=Response,
               responses={204: {"description": "deleted"}, **_VERSIONED_ERRORS})
async def delete_item(request: Request, project: ProjectDep, principal: Planner,
                collectionId: CollectionId, featureId: FeatureId,  # noqa: N803
                if_match: IfMatch = None) -> Response:
    """Delete a feature no other feature refers to (409 names those that do); needs ``If-Match``."""
    expected = expected_version(request, if_match)
    await run_edit(request, lambda: FeatureEditor(project).delete(
        collectionId, featureId, expected=expected))
    return Response(status_code=204)
