"""One map layer from a GeoDataFrame: :func:`add_layer` and the GeoJSON it embeds.

A layer is drawn as one :class:`folium.GeoJson`: polygons filled, lines stroked and
points as circle markers, each feature in its own colour (from a column of CSS
colours, e.g. made with :mod:`beatgrid.layers.style`) or in one colour, with a
tooltip listing chosen columns. The features are embedded in the page in EPSG:4326
with coordinates rounded to :data:`COORD_PRECISION` decimals and their cells made
JSON-plain by :func:`beatgrid.layers.values.json_value` (text HTML-escaped, since
tooltips are built as HTML in the browser).

Examples
--------
>>> import geopandas as gpd, shapely
>>> from beatgrid.layers.offline_map import base_map
>>> from beatgrid.layers.geojson_layer import add_layer
>>> streets = gpd.GeoDataFrame({"name": ["<Huancheng Rd>"]},
...     geometry=[shapely.LineString([(121.549, 29.883), (121.563, 29.883)])], crs=4490)
>>> layer = add_layer(base_map(streets), streets, name="Streets", tooltip_columns=["name"])
>>> layer.data["features"][0]["properties"]["name"]
'&lt;Huancheng Rd&gt;'
"""

from __future__ import annotations

import html as _html
import json
from collections.abc import Mapping, Sequence
from typing import Any, Union

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from beatgrid.gis.crs import require_crs
from beatgrid.gis.errors import InputError

from beatgrid.layers import style
from beatgrid.layers.values import JSONScalar, is_missing, json_value

__all__ = ["COORD_PRECISION", "TooltipColumns", "add_layer"]

#: Decimal places kept in embedded lon/lat coordinates (6 is about 0.1 m).
COORD_PRECISION = 6

#: Columns shown in a tooltip: names, ``{column: label}``, one name, or None (the default).
TooltipColumns = Union[Sequence[str], Mapping[str, str], str, None]

#: Property holding each feature's colour in the embedded GeoJSON.
_COLOR_KEY = "__color"


def _tooltip_spec(gdf: gpd.GeoDataFrame, tooltip_columns: TooltipColumns, *,
                  layer: str) -> dict[str, str]:
    if tooltip_columns is None:
        return {c: c for c in ("id", "name") if c in gdf.columns}
    if isinstance(tooltip_columns, str):
        tooltip_columns = [tooltip_columns]
    spec = (dict(tooltip_columns) if isinstance(tooltip_columns, Mapping)
            else {c: c for c in tooltip_columns})
    geom = gdf.geometry.name
    missing = [c for c in spec if c not in gdf.columns or c == geom]
    if missing:
        raise InputError(
            f"layer {layer!r} has no column(s) {missing} for the tooltip",
            fix="use some of: " + ", ".join(str(c) for c in gdf.columns if c != geom))
    return {str(c): str(label) for c, label in spec.items()}


def _cell(v: object) -> JSONScalar:
    # tooltips are built as HTML in the browser: escape text
    value = json_value(v)
    return _html.escape(value) if isinstance(value, str) else value


def _features(geo: gpd.GeoDataFrame, props: dict[str, pd.Series]) -> dict[str, Any]:
    geoms = shapely.transform(geo.geometry.to_numpy(), lambda xy: np.round(xy, COORD_PRECISION))
    texts = shapely.to_geojson(geoms)
    columns = {k: [_cell(v) for v in s.to_numpy(dtype=object)] for k, s in props.items()}
    features = []
    for i in range(len(geoms)):
        features.append({
            "type": "Feature",
            "id": str(i),
            "properties": {k: vals[i] for k, vals in columns.items()},
            "geometry": json.loads(texts[i]),
        })
    return {"type": "FeatureCollection", "features": features}


def add_layer(m: folium.Map | folium.FeatureGroup, gdf: gpd.GeoDataFrame | gpd.GeoSeries, *,
              name: str, color: str | None = None, color_column: str | None = None,
              tooltip_columns: TooltipColumns = None,
              fill_opacity: float = 0.45, weight: float = 1.5, opacity: float = 0.9,
              radius: float = 6.0, show: bool = True, highlight: bool = True) -> folium.GeoJson:
    """Add a layer (polygons, lines and/or points) with tooltips to a map.

    Parameters
    ----------
    m
        A map from :func:`beatgrid.layers.offline_map.base_map` (or a
        ``folium.FeatureGroup`` on it).
    gdf
        The features, in any CRS (reprojected to EPSG:4326; coordinates rounded to
        :data:`COORD_PRECISION` decimals). Rows without geometry are left out.
    name
        Layer name shown in the layer control (and in error messages).
    color
        One CSS colour for every feature (default :data:`style.DEFAULT_COLOR`); with
        ``color_column`` it is the colour of features whose colour is missing.
    color_column
        Column holding a CSS colour per feature, e.g. made with
        :func:`beatgrid.layers.style.household_color`.
    tooltip_columns
        Columns shown when hovering a feature: a list, or a mapping
        ``{column: label}`` for readable labels. ``None`` (default): ``id`` and
        ``name`` when present. ``[]``: no tooltip. Text is HTML-escaped.
    fill_opacity, weight, opacity
        Polygon fill opacity, outline/line width (px) and outline/line opacity.
        ``fill_opacity=0`` draws outlines only (boundaries).
    radius
        Radius (px) of the circle drawn for each point.
    show
        Whether the layer is switched on when the map opens.
    highlight
        Thicken a feature under the mouse.

    Returns
    -------
    folium.GeoJson
        The layer, already added to ``m``.

    Raises
    ------
    CRSError
        When ``gdf`` has no CRS.
    InputError
        When a column is missing or a colour is not a CSS colour.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> from beatgrid.layers.offline_map import base_map
    >>> cams = gpd.GeoDataFrame({"id": ["c1"], "kind": ["road"]},
    ...                         geometry=[shapely.Point(121.55, 29.88)], crs=4490)
    >>> m = base_map(cams)
    >>> layer = add_layer(m, cams, name="Cameras", color="#333333",
    ...                   tooltip_columns={"id": "Camera", "kind": "Kind"})
    >>> len(layer.data["features"])
    1
    """
    if not isinstance(m, (folium.Map, folium.FeatureGroup)):
        raise InputError(f"add_layer needs a folium map, not {type(m).__name__}",
                         fix="create the map with beatgrid.layers.base.base_map")
    if not isinstance(name, str) or not name.strip():
        raise InputError(f"layer name {name!r} is empty", fix="give the layer a name")
    if isinstance(gdf, gpd.GeoSeries):
        gdf = gpd.GeoDataFrame(geometry=gdf)
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise InputError(f"layer {name!r} is a {type(gdf).__name__}, not a GeoDataFrame",
                         fix="pass a GeoDataFrame (read it with geopandas or beatgrid)")
    require_crs(gdf, layer=name)
    fallback = style.check_color(color, what=f"layer {name!r} color") if color else \
        style.DEFAULT_COLOR
    tips = _tooltip_spec(gdf, tooltip_columns, layer=name)

    geo = gdf if gdf.crs.to_epsg() == 4326 else gdf.to_crs(4326)
    keep = ~(geo.geometry.isna() | geo.geometry.is_empty).to_numpy()
    geo = geo[keep]
    props = {c: geo[c] for c in tips}
    if color_column is not None:
        if color_column not in gdf.columns:
            raise InputError(f"layer {name!r} has no colour column {color_column!r}",
                             fix="add the column (e.g. with beatgrid.layers.style helpers) "
                                 "or pass color=")
        colours = geo[color_column].astype(object)
        bad = sorted({str(v) for v in colours if not is_missing(v)
                      and not style.is_css_color(v)})
        if bad:
            raise InputError(f"layer {name!r} column {color_column!r} holds values that are "
                             f"not CSS colours: {bad[:5]}",
                             fix="fill it with colours, e.g. from beatgrid.layers.style")
        props[_COLOR_KEY] = colours
    data = _features(geo, props)

    def style_function(feature: dict[str, Any], *, _fallback: str = fallback) -> dict[str, Any]:
        c = feature["properties"].get(_COLOR_KEY) or _fallback
        gtype = (feature.get("geometry") or {}).get("type", "")
        if "LineString" in gtype:
            return {"color": c, "weight": weight, "opacity": opacity}
        if "Point" in gtype:
            return {"color": "#333333", "weight": 1, "opacity": opacity, "fill": True,
                    "fillColor": c, "fillOpacity": 0.85}
        return {"color": c, "weight": weight, "opacity": opacity,
                "fillColor": c, "fillOpacity": fill_opacity}

    def highlight_function(feature: dict[str, Any]) -> dict[str, Any]:
        return {"weight": weight + 2, "fillOpacity": min(1.0, fill_opacity + 0.25)}

    tooltip = None
    if tips and data["features"]:
        tooltip = folium.GeoJsonTooltip(fields=list(tips),
                                        aliases=[_html.escape(v) for v in tips.values()],
                                        localize=True, sticky=True, labels=True)
    layer = folium.GeoJson(
        data, name=_html.escape(name), style_function=style_function,
        highlight_function=highlight_function if highlight else None,
        tooltip=tooltip, marker=folium.CircleMarker(radius=radius, fill=True), show=show,
    )
    layer.add_to(m)
    return layer
