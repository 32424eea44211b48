"""OGC API - Features, Part 1 (Core) and the GeoJSON class: the layers for QGIS and web maps.

==================================================  =========================================
``GET /``                                           landing page (links to the rest)
``GET /conformance``                                the conformance classes implemented
``GET /collections``                                every layer with geometry (schema and
                                                    derived), extent and CRS
``GET /collections/{collectionId}``                 one of them
``GET /collections/{collectionId}/items``           its features (GeoJSON, EPSG:4326): ``bbox``,
                                                    ``limit``, ``offset`` (``next``/``prev``
                                                    links), ``properties``, ``datetime``,
                                                    ``<column>=<value>`` filters
``GET /collections/{collectionId}/items/{featureId}``  one feature
==================================================  =========================================

Features come from the app's :class:`~beatgrid.gis.io.feature_reads.FeatureReader`
(read and indexed once per stored state), in the stored order; ``numberMatched`` counts
what the filters select, ``numberReturned`` the page. A feature's id is its layer's id
column (``estate_id`` of ``estate_risk``; the row number from 1 for the derived layers
without one). A bad parameter is refused with 422, an unknown collection or feature with
404, both with the one error body. Every route needs the ``viewer`` role.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import Field

from beatgrid.api.auth import Reader
from beatgrid.api.errors import COMMON_ERRORS, error_responses, shown
from beatgrid.api.params import Blank
from beatgrid.api.rendering import GEOJSON, GEOJSON_RESPONSES, collection_text, feature_texts
from beatgrid.api.routes.ogc_transactions import CONFORMANCE as TRANSACTIONS
from beatgrid.api.routes.layers import ReaderDep, parse_bbox
from beatgrid.gis import schema
from beatgrid.gis.errors import InputError, NotFoundError
from beatgrid.gis.io.feature_reads import LayerRead, Snapshot
from beatgrid.gis.io.feature_versions import etag_of
from beatgrid.gis.tiles.settings import default_tile_settings

router = APIRouter(tags=["OGC API - Features"])

ERRORS = error_responses(*COMMON_ERRORS)
#: Page sizes (``[features]`` of ``gis/defaults/tiles.toml``).
DEFAULT_LIMIT = int(default_tile_settings()["features"]["default_limit"])
MAX_LIMIT = int(default_tile_settings()["features"]["max_limit"])
#: Largest ``offset`` accepted.
MAX_OFFSET = 1_000_000_000
#: The CRS of every answer (longitude, latitude).
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
]
#: Query parameters of ``/items`` besides the attribute filters.
ITEM_PARAMS = ("bbox", "limit", "offset", "datetime", "properties", "f")
JSON_TYPE = "application/json"

CollectionId = Annotated[str, Path(description="a layer with geometry (GET /collections "
                                               "lists them)", examples=["buildings"])]


def link(href: str, rel: str, type_: str, title: str = "") -> dict[str, str]:
    """One link object (``title`` left out when empty)."""
    out = {"href": href, "rel": rel, "type": type_}
    if title:
        out["title"] = title
    return out


def base_url(request: Request) -> str:
    """The service's root URL, without the trailing slash."""
    return str(request.base_url).rstrip("/")


# --------------------------------------------------------------------------------------
# Landing page, conformance, collections
# --------------------------------------------------------------------------------------

@router.get("/", responses=ERRORS)
def landing_page(request: Request, principal: Reader) -> dict[str, Any]:
    """The landing page: links to the API definition, the conformance and the collections."""
    base = base_url(request)
    return {"title": "BeatGrid",
            "description": "Police beats, basic grids, CCTV coverage and staffing: the "
                           "project's layers as OGC API - Features and vector tiles.",
            "links": [
                link(f"{base}/", "self", JSON_TYPE, "this document"),
                link(f"{base}/openapi.json", "service-desc",
                     "application/vnd.oai.openapi+json;version=3.0", "the API definition"),
                link(f"{base}/docs", "service-doc", "text/html", "the API documentation"),
                link(f"{base}/conformance", "conformance", JSON_TYPE,
                     "the conformance classes implemented"),
                link(f"{base}/collections", "data", JSON_TYPE, "the layers"),
            ]}


@router.get("/conformance", responses=ERRORS)
def conformance(principal: Reader) -> dict[str, list[str]]:
    """The conformance classes implemented."""
    return {"conformsTo": [*CONFORMANCE, *TRANSACTIONS]}


def describe(snap: Snapshot, name: str, base: str) -> dict[str, Any]:
    """The collection object of layer ``name``."""
    derived = name not in schema.LAYERS
    title = name.replace("_", " ")
    description = (f"derived layer {name} (written by `beatgrid coverage` / "
                   "`beatgrid cameras recommend`)") if derived \
        else schema.get_spec(name).description
    read = snap.read(name)
    out: dict[str, Any] = {
        "id": name, "title": title, "description": description, "itemType": "feature",
        "crs": [CRS84], "storageCrs": f"http://www.opengis.net/def/crs/EPSG/0/{snap.crs}",
        "links": [
            link(f"{base}/collections/{name}", "self", JSON_TYPE, "this collection"),
            link(f"{base}/collections/{name}/items", "items", GEOJSON, "its features"),
            link(f"{base}/collections/{name}/tiles/WebMercatorQuad/tilejson.json",
                 "describedby", JSON_TYPE, "TileJSON of its vector tiles"),
            link(f"{base}/collections/{name}/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}",
                 "item", "application/vnd.mapbox-vector-tile", "its vector tiles (XYZ)"),
        ]}
    extent: dict[str, Any] = {}
    bounds = read.bounds()
    if bounds is not None:
        extent["spatial"] = {"bbox": [list(bounds)], "crs": CRS84}
    times = read.time_extent()
    if times is not None:
        extent["temporal"] = {"interval": [[_iso(times[0]), _iso(times[1])]],
                              "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}
    if extent:
        out["extent"] = extent
    return out


def _iso(t: pd.Timestamp) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


@router.get("/collections", responses=ERRORS)
def collections(request: Request, reader: ReaderDep, principal: Reader) -> dict[str, Any]:
    """Every layer with geometry: the schema layers present, then the derived ones."""
    snap = reader.snapshot()
    base = base_url(request)
    return {"links": [link(f"{base}/collections", "self", JSON_TYPE, "this document")],
            "collections": [describe(snap, name, base) for name in snap.collections]}


@router.get("/collections/{collectionId}", responses=ERRORS)
def collection(request: Request, reader: ReaderDep, principal: Reader,
               collectionId: CollectionId) -> dict[str, Any]:  # noqa: N803 (OGC name)
    """One layer: its extent, CRS and links."""
    snap = reader.snapshot()
    _spatial(snap, collectionId)
    return describe(snap, collectionId, base_url(request))


def _spatial(snap: Snapshot, name: str) -> LayerRead:
    read = snap.read(name)
    if not read.spatial:
        raise NotFoundError(f"layer {name!r} is a table without geometry: it is not a "
                            "collection", fix=f"read it with GET /layers/{name}")
    return read


# --------------------------------------------------------------------------------------
# Items
# --------------------------------------------------------------------------------------

def parse_datetime(value: str | None
                   ) -> tuple[pd.Timestamp | None, pd.Timestamp | None] | None:
    """``datetime`` as an interval: an instant, ``start/end``, ``../end`` or ``start/..``.

    A date alone is the whole day; times with a zone are taken in UTC, times without one
    as stored.

    Examples
    --------
    >>> parse_datetime("2024-03-01")
    (Timestamp('2024-03-01 00:00:00'), Timestamp('2024-03-01 23:59:59.999999999'))
    >>> parse_datetime("../2024-03-01T08:00:00Z")
    (None, Timestamp('2024-03-01 08:00:00'))
    """
    if value is None:
        return None
    fix = ("give an RFC 3339 time or date (2024-03-01T08:30:00Z, 2024-03-01) or an "
           "interval start/end with .. for an open end")
    parts = value.split("/")
    if len(parts) > 2:
        raise InputError(f"datetime {shown(value)} is not a time or an interval", fix=fix)

    def one(text: str, end: bool) -> pd.Timestamp | None:
        if text in ("", ".."):
            return None
        try:
            t = pd.Timestamp(text)
        except (ValueError, TypeError, OverflowError):
            raise InputError(f"datetime {shown(value)}: {shown(text)} is not a time",
                             fix=fix) from None
        if t is pd.NaT:
            raise InputError(f"datetime {shown(value)}: {shown(text)} is not a time", fix=fix)
        if t.tzinfo is not None:
            t = t.tz_convert("UTC").tz_localize(None)
        if end and len(text) == 10:  # a date: up to its end
            t = t + pd.Timedelta(days=1) - pd.Timedelta(1, "ns")
        return t

    if len(parts) == 1:
        if value in ("", ".."):
            raise InputError(f"datetime {shown(value)} is not a time", fix=fix)
        return one(value, False), one(value, True)
    start, end = one(parts[0], False), one(parts[1], True)
    if start is not None and end is not None and start > end:
        raise InputError(f"datetime {shown(value)}: the start is after the end", fix=fix)
    return start, end


def parse_filters(request: Request, read: LayerRead) -> dict[str, str]:
    """The ``<column>=<value>`` filters of the query, each value normalised to the column's text.

    Raises
    ------
    InputError
        A parameter that is neither an items parameter nor a column of the layer, or a
        value the column cannot hold.
    """
    frame = read.frame
    columns = [c for c in frame.columns if c != "geometry"]
    out: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        if name in ITEM_PARAMS:
            continue
        if name not in columns:
            raise InputError(f"unknown query parameter {name!r} for {request.url.path}",
                             fix="use " + ", ".join(ITEM_PARAMS) + " or a column of the "
                                 f"layer to filter on: {', '.join(columns)}")
        if name in out:
            raise InputError(f"{name!r} is given twice", fix="filter each column once")
        dtype = frame[name].dtype
        try:
            if pd.api.types.is_bool_dtype(dtype):
                if value.lower() not in ("true", "false", "1", "0"):
                    raise ValueError(value)
                out[name] = "true" if value.lower() in ("true", "1") else "false"
            elif pd.api.types.is_integer_dtype(dtype):
                out[name] = str(int(value))
            elif pd.api.types.is_float_dtype(dtype):
                out[name] = str(float(value))
            else:
                out[name] = value
        except ValueError:
            raise InputError(f"{name}={shown(value)} is not a value of column {name!r} "
                             f"({dtype})", fix=f"give a {dtype} value") from None
    return out


def parse_properties(value: str | None, read: LayerRead) -> list[str] | None:
    """``properties=a,b``: the attributes to return (None: all)."""
    if value is None:
        return None
    columns = [c for c in read.frame.columns if c != "geometry"]
    wanted = [p.strip() for p in value.split(",") if p.strip()]
    unknown = [p for p in wanted if p not in columns]
    if unknown:
        raise InputError(f"properties {shown(value)}: {', '.join(map(repr, unknown))} "
                         f"not in layer {read.name!r}",
                         fix="use columns among: " + ", ".join(columns))
    return list(dict.fromkeys(wanted))


@router.get("/collections/{collectionId}/items", responses={**GEOJSON_RESPONSES, **ERRORS})
def items(request: Request, reader: ReaderDep, principal: Reader,
          collectionId: CollectionId,  # noqa: N803 (OGC name)
          bbox: Annotated[str | None, Query(
              description="minlon,minlat,maxlon,maxlat in degrees (CRS84): the features "
                          "that intersect it", examples=["121.54,29.91,121.55,29.92"])] = None,
          limit: Annotated[Annotated[int, Field(ge=1, le=MAX_LIMIT)] | None, Blank, Query(
              description=f"features per page (default {DEFAULT_LIMIT})")] = None,
          offset: Annotated[Annotated[int, Field(ge=0, le=MAX_OFFSET)] | None, Blank, Query(
              description="features skipped (the next link sets it)")] = None,
          datetime: Annotated[str | None, Query(
              description="an instant or an interval (start/end, .. for an open end): the "
                          "features whose time falls in it (layers with a time: incidents); "
                          "ignored by layers without one",
              examples=["2024-03-01/2024-03-31"])] = None,
          properties: Annotated[str | None, Query(
              description="comma-separated attributes to return (default: all)",
              examples=["id,households"])] = None,
          f: Annotated[Literal["json", "geojson", ""] | None, Query(
              description="the format: GeoJSON (the only one)")] = None,
          ) -> Response:
    """The features of a layer, a page at a time, filtered by box, time and attributes.

    Any other query parameter naming a column of the layer filters on it
    (``?station_id=S01``; booleans as true/false).
    """
    snap = reader.snapshot()
    read = _spatial(snap, collectionId)
    box = parse_bbox(bbox)
    equals = parse_filters(request, read)
    chosen = parse_properties(properties, read)
    rows = read.select(bbox=box, equals=equals, interval=parse_datetime(datetime))
    limit = DEFAULT_LIMIT if limit is None else limit
    offset = 0 if offset is None else offset
    page = rows[offset:offset + limit]
    links = [link(str(request.url), "self", GEOJSON, "this page")]
    if offset + limit < len(rows):
        links.append(link(str(request.url.include_query_params(offset=offset + limit,
                                                               limit=limit)),
                          "next", GEOJSON, "the next page"))
    if offset > 0:
        links.append(link(str(request.url.include_query_params(
            offset=max(0, offset - limit), limit=limit)), "prev", GEOJSON, "the previous page"))
    links.append(link(f"{base_url(request)}/collections/{collectionId}", "collection",
                      JSON_TYPE, "the collection"))
    text = collection_text(feature_texts(read, page, ids=True, properties=chosen), numberMatched=int(len(rows)),
                           numberReturned=int(len(page)),
                           timeStamp=dt.datetime.now(dt.timezone.utc).strftime(
                               "%Y-%m-%dT%H:%M:%SZ"), links=links)
    return Response(text, media_type=GEOJSON)


@router.get("/collections/{collectionId}/items/{featureId}",
            responses={**GEOJSON_RESPONSES, **ERRORS})
def item(request: Request, reader: ReaderDep, principal: Reader,
         collectionId: CollectionId,  # noqa: N803 (OGC name)
         featureId: Annotated[str, Path(description="the feature's id",  # noqa: N803
                                        examples=["BLD0001"])],
         properties: Annotated[str | None, Query(
             description="comma-separated attributes to return (default: all)")] = None,
         f: Annotated[Literal["json", "geojson", ""] | None, Query(
             description="the format: GeoJSON (the only one)")] = None,
         ) -> Response:
    """One feature of a layer, by id."""
    snap = reader.snapshot()
    read = _spatial(snap, collectionId)
    for name in request.query_params:
        if name not in ("properties", "f"):
            raise InputError(f"unknown query parameter {name!r} for {request.url.path}",
                             fix="use properties or f")
    row = read.row_of(featureId)
    feature = json.loads(feature_texts(read, [row], ids=True,
                                       properties=parse_properties(properties, read))[0])
    base = base_url(request)
    feature["links"] = [
        link(str(request.url), "self", GEOJSON, "this feature"),
        link(f"{base}/collections/{collectionId}", "collection", JSON_TYPE, "the collection")]
    return JSONResponse(feature, media_type=GEOJSON,
                        headers={"ETag": etag_of(read.frame, row)})
