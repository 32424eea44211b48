"""Rendering shared by the HTTP routes: JSON records, GeoJSON and the notes header.

Every capability's route module answers the same way: frames as JSON records (NaN
as null), layers as GeoJSON in EPSG:4326, and the notes of a computation (for
example "grid counts estimated") in the ``BeatGrid-Notes`` header as a JSON list.

Layers read through :class:`~beatgrid.gis.io.feature_reads.FeatureReader` are rendered
feature by feature (:func:`feature_texts`): each feature's GeoJSON text is made once
per stored state and kept with the layer, so a page or a box costs a join of texts.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from fastapi.responses import JSONResponse, Response

from beatgrid.gis.io.feature_reads import LayerRead

#: Response header carrying the notes of a computation, as a JSON list of strings.
NOTES_HEADER = "BeatGrid-Notes"
#: Media type of GeoJSON answers.
GEOJSON = "application/geo+json"
#: OpenAPI ``responses=`` entry for routes answering GeoJSON.
GEOJSON_RESPONSES: dict[int | str, dict[str, Any]] = {200: {"content": {GEOJSON: {}}}}


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame as JSON-ready records (NaN as null, geometry dropped)."""
    if "geometry" in df.columns:
        df = pd.DataFrame(df.drop(columns="geometry"))
    return json.loads(df.to_json(orient="records", date_format="iso"))


def plain(value: Any) -> Any:
    """JSON-ready: numpy scalars as Python ones, NaN and infinities as null.

    Examples
    --------
    >>> plain({"a": np.int64(3), "b": [np.float64("nan"), 1.5], "c": np.bool_(True)})
    {'a': 3, 'b': [None, 1.5], 'c': True}
    """
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray, set)):
        return [plain(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, str):
        return value
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def to_4326(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``gdf`` in EPSG:4326 (unchanged when it already is, or has no CRS)."""
    if gdf.crs is not None and gdf.crs.to_epsg() != 4326:
        return gdf.to_crs(4326)
    return gdf


def json_default(value: Any) -> Any:
    """JSON for what :mod:`json` cannot write: times as ISO 8601 text, NaT as null.

    Examples
    --------
    >>> json_default(pd.Timestamp("2024-03-01 08:30")), json_default(pd.NaT)
    ('2024-03-01T08:30:00', None)
    """
    if value is pd.NaT or value is None:
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return plain(value)


def geojson_text(gdf: gpd.GeoDataFrame) -> str:
    """A GeoDataFrame as GeoJSON text in EPSG:4326 (times as ISO 8601 text).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> g = gpd.GeoDataFrame({"at": pd.to_datetime(["2024-03-01 08:30"])},
    ...                      geometry=[shapely.Point(121.5, 29.9)], crs=4326)
    >>> '"at": "2024-03-01T08:30:00"' in geojson_text(g)
    True
    """
    return to_4326(gdf).to_json(drop_id=True, to_wgs84=False, default=json_default)


def geojson_dict(gdf: gpd.GeoDataFrame | None) -> dict[str, Any]:
    """A GeoDataFrame as a GeoJSON object in EPSG:4326 (``None``: no features)."""
    if gdf is None:
        return {"type": "FeatureCollection", "features": []}
    return json.loads(geojson_text(gdf))


def notes_header(notes: Iterable[str]) -> dict[str, str]:
    """The notes header for a response (empty when there are no notes)."""
    items = list(notes)
    return {NOTES_HEADER: json.dumps(items, ensure_ascii=True)} if items else {}


def json_response(content: Any, notes: Iterable[str] = ()) -> JSONResponse:
    """A JSON answer with the computation's notes in :data:`NOTES_HEADER`."""
    return JSONResponse(content, headers=notes_header(notes))


def geojson_response(gdf: gpd.GeoDataFrame, notes: Iterable[str] = ()) -> Response:
    """A GeoJSON answer (EPSG:4326) with the computation's notes."""
    return Response(geojson_text(gdf), media_type=GEOJSON, headers=notes_header(notes))


def feature_texts(layer: LayerRead, rows: Sequence[int] | np.ndarray, *,
                  ids: bool = False, properties: Sequence[str] | None = None) -> list[str]:
    """The GeoJSON text (EPSG:4326) of each feature of ``rows``, made once per stored state.

    Each text is what :func:`geojson_text` writes for that feature: a page of them
    joined by :func:`collection_text` equals ``geojson_text(frame.iloc[rows])``. With
    ``ids`` every feature carries its ``id`` member (the layer's feature id); with
    ``properties`` only those attributes (made for this call, not kept).

    Examples
    --------
    >>> from beatgrid.gis.io.feature_reads import FeatureReader
    >>> from beatgrid.gis.io.store import open_store
    >>> beats = FeatureReader(open_store("sample-geodata/ningbo-jiangbei.gpkg")).snapshot().read("beats")
    >>> text = collection_text(feature_texts(beats, [0, 1]))
    >>> text == geojson_text(beats.frame.iloc[[0, 1]])
    True
    >>> feature_texts(beats, [0], ids=True)[0][:16]
    '{"id": "B01", "t'
    """
    wanted = [int(r) for r in rows]
    cache: dict[int, str] = {} if properties is not None else layer.memo(("geojson", ids), dict)
    missing = sorted({r for r in wanted if r not in cache})
    if missing:
        frame = layer.memo("epsg4326", lambda: to_4326(layer.frame))
        part = frame.iloc[missing]
        if properties is not None:
            part = part[[*properties, part.geometry.name]]
        if ids:
            part = part.set_axis(pd.Index(layer.feature_ids[missing], dtype=object))
        features = part.to_geo_dict(drop_id=not ids)["features"]
        for row, feature in zip(missing, features):
            cache[row] = json.dumps(feature, default=json_default)
    return [cache[r] for r in wanted]


def collection_text(texts: Iterable[str], **members: Any) -> str:
    """A GeoJSON FeatureCollection from feature texts, with more top-level ``members``.

    Examples
    --------
    >>> collection_text(['{"type": "Feature"}'], numberReturned=1)
    '{"type": "FeatureCollection", "features": [{"type": "Feature"}], "numberReturned": 1}'
    """
    extra = "".join(f", {json.dumps(k)}: {json.dumps(v, default=json_default)}"
                    for k, v in members.items())
    return '{"type": "FeatureCollection", "features": [' + ", ".join(texts) + "]" + extra + "}"
