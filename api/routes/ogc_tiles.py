"""Vector tiles (Mapbox Vector Tile) of every layer with geometry, OGC API - Tiles style.

=================================================================  ======================
``GET /collections/{collectionId}/tiles``                          the tilesets of a layer
                                                                   (one: WebMercatorQuad)
``GET /collections/{collectionId}/tiles/WebMercatorQuad/tilejson.json``  its TileJSON 3.0.0
``GET /collections/{collectionId}/tiles/WebMercatorQuad/{z}/{x}/{y}``    one tile (XYZ order:
                                                                   ``x`` column, ``y`` row
                                                                   from the north)
=================================================================  ======================

Every layer with geometry has tiles: the schema layers present and the derived ones
(coverage statistics, blind spots, estate risk, camera views, camera proposals). Each
tile is one MVT layer named after the collection, carrying the attributes chosen for it
in ``gis/defaults/tiles.toml`` (households, codes, coverage level...), simplified per
zoom, empty below the layer's lowest zoom. The file store encodes them with
``mapbox-vector-tile`` over an R-tree; PostGIS with ``ST_AsMVT``; encoded tiles are kept
per stored state. A zoom outside the served range is refused (422), a tile outside the
matrix or an unknown layer is 404. Every route needs the ``viewer`` role.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from beatgrid.api.auth import Reader
from beatgrid.api.errors import COMMON_ERRORS, error_responses
from beatgrid.api.routes.layers import ReaderDep
from beatgrid.api.routes.ogc_features import JSON_TYPE, CollectionId, base_url, link
from beatgrid.gis.errors import NotFoundError
from beatgrid.gis.io.feature_reads import Snapshot
from beatgrid.gis.tiles.grid import TILE_MATRIX_SET_URI, tilejson
from beatgrid.gis.tiles.mvt import MVT_MEDIA_TYPE, field_types
from beatgrid.gis.tiles.settings import TILE_MATRIX_SET, default_tile_settings, layer_choice

router = APIRouter(tags=["OGC API - Tiles"])

ERRORS = error_responses(*COMMON_ERRORS)
SETTINGS = default_tile_settings()
MIN_ZOOM = int(SETTINGS["tiles"]["min_zoom"])
MAX_ZOOM = int(SETTINGS["tiles"]["max_zoom"])
#: OpenAPI answer of a tile.
TILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {MVT_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
          "description": "the encoded tile (empty when no feature touches it)"}}
#: The tile URL template below a collection.
TEMPLATE = "tiles/WebMercatorQuad/{z}/{x}/{y}"


def _collection(snap: Snapshot, name: str) -> None:
    if name not in snap.collections:
        raise NotFoundError(f"layer {name!r} is not a layer with geometry in the project",
                            fix="use one of: " + (", ".join(snap.collections) or "(none)"))


@router.get("/collections/{collectionId}/tiles", responses=ERRORS)
def tilesets(request: Request, reader: ReaderDep, principal: Reader,
             collectionId: CollectionId) -> dict[str, Any]:  # noqa: N803 (OGC name)
    """The tilesets of a layer: one, vector tiles on WebMercatorQuad."""
    snap = reader.snapshot()
    _collection(snap, collectionId)
    here = f"{base_url(request)}/collections/{collectionId}/tiles/WebMercatorQuad"
    return {"tilesets": [{
        "title": f"{collectionId} (vector tiles)", "dataType": "vector",
        "tileMatrixSetURI": TILE_MATRIX_SET_URI, "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
        "links": [link(f"{here}/tilejson.json", "describedby", JSON_TYPE, "TileJSON"),
                  link(f"{here}/{{z}}/{{x}}/{{y}}", "item", MVT_MEDIA_TYPE,
                       "the tiles (z/x/y: zoom, column, row)")]}]}


@router.get("/collections/{collectionId}/tiles/WebMercatorQuad/tilejson.json",
            responses=ERRORS)
def tile_json(request: Request, reader: ReaderDep, principal: Reader,
              collectionId: CollectionId) -> dict[str, Any]:  # noqa: N803 (OGC name)
    """TileJSON 3.0.0 of a layer's vector tiles (for MapLibre, Leaflet plugins, QGIS)."""
    snap = reader.snapshot()
    _collection(snap, collectionId)
    read = snap.read(collectionId)
    choice = layer_choice(reader.settings, collectionId)
    tiles = reader.settings["tiles"]
    url = f"{base_url(request)}/collections/{collectionId}/{TEMPLATE}"
    return tilejson(collectionId, tiles_url=url, bounds=read.bounds(),
                    min_zoom=max(choice.min_zoom, tiles["min_zoom"]),
                    max_zoom=tiles["max_zoom"],
                    fields=field_types(read.frame, choice.properties),
                    description=f"{collectionId} of the BeatGrid project ({TILE_MATRIX_SET})")


@router.get("/collections/{collectionId}/tiles/WebMercatorQuad/{z}/{x}/{y}",
            responses={**TILE_RESPONSES, **ERRORS}, response_class=Response)
def tile(reader: ReaderDep, principal: Reader,
         collectionId: CollectionId,  # noqa: N803 (OGC name)
         z: Annotated[int, Path(ge=MIN_ZOOM, le=MAX_ZOOM, description="zoom level",
                                examples=[15])],
         x: Annotated[int, Path(ge=0, le=2 ** MAX_ZOOM - 1,
                                description="column, from the west (0 to 2^z - 1)",
                                examples=[27446])],
         y: Annotated[int, Path(ge=0, le=2 ** MAX_ZOOM - 1,
                                description="row, from the north (0 to 2^z - 1)",
                                examples=[13525])],
         ) -> Response:
    """One vector tile of a layer."""
    data = reader.snapshot().tile(collectionId, z, x, y)
    return Response(data, media_type=MVT_MEDIA_TYPE)
