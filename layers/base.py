"""Offline folium maps: the base every BeatGrid map (grids, coverage, staffing) builds on.

A map made here is one self-contained HTML file: Leaflet (and the small jQuery that
folium's popups call) are inlined from :mod:`beatgrid.layers.assets`, Leaflet's
images are inlined as data URIs, and no basemap tiles are loaded unless asked for.
The file opens from disk, from an e-mail attachment or on a police intranet with no
internet access, and it loads nothing from outside the machine.

The workflow:

>>> import geopandas as gpd, shapely
>>> from beatgrid.layers import base, style
>>> grids = gpd.GeoDataFrame(
...     {"id": ["g1", "g2"], "households": [280, 420]},
...     geometry=[shapely.box(121.55, 29.88, 121.56, 29.89),
...               shapely.box(121.56, 29.88, 121.57, 29.89)], crs=4490)
>>> grids["color"] = style.household_color(grids["households"], minimum=300, maximum=500)
>>> m = base.base_map(grids, title="Basic grids")
>>> layer = base.add_layer(m, grids, name="Grids", color_column="color",
...                        tooltip_columns={"id": "Grid", "households": "Households"})
>>> legend = base.add_legend(m, "Households", style.household_legend(minimum=300, maximum=500))
>>> html = base.map_html(m)           # or base.save_map(m, "grids.html")
>>> "https://cdn" in html
False

Only :func:`base_map` maps inline the bundle. Any folium element may be added to
them, but one that loads a library from a CDN (most ``folium.plugins``) or needs
one that is not bundled (``folium.Icon``) makes :func:`save_map` and
:func:`map_html` raise :class:`ExternalResourceError` instead of writing a map that
is silently broken offline.
"""

from __future__ import annotations

import base64
import functools
import html as _html
import json
import math
import re
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from folium.template import Template

from beatgrid.gis.crs import require_crs
from beatgrid.gis.errors import InputError

from beatgrid.layers import style

__all__ = [
    "OfflineMap", "ExternalResourceError", "base_map", "add_layer", "add_legend",
    "save_map", "map_html", "external_resources",
]

ASSETS_PACKAGE = "beatgrid.layers.assets"

#: Smallest extent (degrees) a map is fitted to: a single point or a tiny layer is
#: shown with about 200 m around it rather than at an absurd zoom.
MIN_SPAN_DEG = 0.002
#: Deepest zoom of a BeatGrid map (Leaflet needs one when there is no tile layer).
MAX_ZOOM = 20
#: Tile names accepted besides URL templates.
NAMED_TILES = ("OpenStreetMap",)
#: Decimal places kept in embedded lon/lat coordinates (6 is about 0.1 m).
COORD_PRECISION = 6


class ExternalResourceError(RuntimeError):
    """A map would load JavaScript, CSS or images from outside the machine.

    Raised by :func:`save_map` and :func:`map_html`; ``resources`` lists what was
    found (URLs, or the feature that needs a library BeatGrid does not bundle).
    """

    def __init__(self, resources_found: list[str]):
        self.resources = list(resources_found)
        super().__init__(
            "the map references resources that are not bundled (it would not work "
            "offline): " + "; ".join(self.resources)
            + ". Fix: build the map with beatgrid.layers.base.base_map/add_layer and "
              "avoid folium plugins and folium.Icon (use circle markers)")


# -- bundled assets --------------------------------------------------------------------

def _asset_bytes(name: str) -> bytes:
    return resources.files(ASSETS_PACKAGE).joinpath(name).read_bytes()


def _data_uri(name: str) -> str:
    return "data:image/png;base64," + base64.b64encode(_asset_bytes(name)).decode("ascii")


_SOURCE_MAP = re.compile(r"^\s*//[#@]\s*sourceMappingURL=.*$", re.MULTILINE)


@functools.lru_cache(maxsize=None)
def _leaflet_js() -> str:
    return _SOURCE_MAP.sub("", _asset_bytes("leaflet.js").decode("utf-8"))


@functools.lru_cache(maxsize=None)
def _jquery_js() -> str:
    return _SOURCE_MAP.sub("", _asset_bytes("jquery.slim.min.js").decode("utf-8"))


@functools.lru_cache(maxsize=None)
def _leaflet_css() -> str:
    css = _asset_bytes("leaflet.css").decode("utf-8")
    return re.sub(r"url\((['\"]?)images/([\w.-]+\.png)\1\)",
                  lambda mt: f'url("{_data_uri(mt.group(2))}")', css)


@functools.lru_cache(maxsize=None)
def _default_icon_js() -> str:
    # Leaflet finds its default marker images through a path read from the CSS; with
    # inlined CSS that path would be wrong, so give it the images as data URIs.
    return ("(function(){var D=L.Icon.Default;D.imagePath='';D.mergeOptions("
            + json.dumps({"iconUrl": _data_uri("marker-icon.png"),
                          "iconRetinaUrl": _data_uri("marker-icon-2x.png"),
                          "shadowUrl": _data_uri("marker-shadow.png")})
            + ");})();")


_BEATGRID_CSS = f"""
.leaflet-container {{ background: {style.BACKGROUND_COLOR}; }}
.beatgrid-title {{ position: absolute; top: 10px; left: 50%; transform: translateX(-50%);
  z-index: 1000; max-width: 60%; padding: 6px 14px; border-radius: 4px;
  background: rgba(255,255,255,0.92); box-shadow: 0 1px 5px rgba(0,0,0,0.4);
  font: 600 16px/1.3 system-ui, "Noto Sans CJK SC", "Microsoft YaHei", sans-serif;
  text-align: center; pointer-events: none; }}
.beatgrid-legend {{ padding: 6px 10px; border-radius: 4px; background: rgba(255,255,255,0.92);
  box-shadow: 0 1px 5px rgba(0,0,0,0.4); line-height: 18px; color: #222;
  font: 13px/1.4 system-ui, "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; }}
.beatgrid-legend .beatgrid-legend-title {{ font-weight: 600; margin-bottom: 4px; }}
.beatgrid-legend .beatgrid-legend-item {{ display: flex; align-items: center; gap: 6px; }}
.beatgrid-legend .beatgrid-swatch {{ display: inline-block; width: 14px; height: 14px;
  border: 1px solid rgba(0,0,0,0.35); border-radius: 2px; flex: none; }}
.foliumtooltip table {{ border-collapse: collapse; }}
.foliumtooltip th {{ text-align: left; padding-right: 8px; font-weight: 600; }}
"""


def _script_safe(code: str) -> str:
    return re.sub(r"</(script)", r"<\\/\1", code, flags=re.IGNORECASE)


def _style_safe(code: str) -> str:
    return re.sub(r"</(style)", r"<\\/\1", code, flags=re.IGNORECASE)


class InlineScript(Element):
    """A ``<script>`` whose code is written into the page (no ``src``)."""

    _template = Template("<script>{{ this.code }}</script>\n")

    def __init__(self, code: str):
        super().__init__()
        self._name = "InlineScript"
        self.code = _script_safe(code)


class InlineStyle(Element):
    """A ``<style>`` element whose CSS is written into the page (no ``<link>``)."""

    _template = Template("<style>{{ this.code }}</style>\n")

    def __init__(self, code: str):
        super().__init__()
        self._name = "InlineStyle"
        self.code = _style_safe(code)


def _inline_assets() -> list[tuple[str, Element]]:
    return [
        ("leaflet_css", InlineStyle(_leaflet_css())),
        ("beatgrid_css", InlineStyle(_BEATGRID_CSS)),
        ("leaflet", InlineScript(_leaflet_js())),
        ("leaflet_default_icon", InlineScript(_default_icon_js())),
        ("jquery", InlineScript(_jquery_js())),
    ]


class OfflineMap(folium.Map):
    """A :class:`folium.Map` that inlines the bundled Leaflet instead of CDN links.

    It also keeps the layer control last (so it lists every layer, whenever layers
    are added) and adds one when the map has overlay layers and none was added.
    Build it with :func:`base_map`.
    """

    def __init__(self, *args, layer_control: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        # instance lists: folium's add_js_link would otherwise mutate a class list
        self.default_js = []
        self.default_css = []
        self.layer_control = layer_control

    def render(self, **kwargs):
        figure = self.get_root()
        for name, element in _inline_assets():
            figure.header.add_child(element, name=name)
        controls = self._finish_layer_control()
        super().render(**kwargs)
        # a second render keeps the scripts' first positions: the layer control must
        # still come after layers added since
        for key in controls:
            if key in figure.script._children:
                figure.script._children.move_to_end(key)

    def _finish_layer_control(self) -> list[str]:
        controls = [k for k, c in self._children.items() if isinstance(c, folium.LayerControl)]
        if not controls and self.layer_control:
            overlays = [c for c in self._children.values()
                        if isinstance(c, folium.map.Layer) and c.control]
            if overlays:
                control = folium.LayerControl(collapsed=False, position="topright")
                self.add_child(control)
                controls = [control.get_name()]
        for key in controls:
            self._children.move_to_end(key)
        return controls


# -- map elements ----------------------------------------------------------------------

class MapTitle(MacroElement):
    """A title shown at the top centre of the map (and as the page ``<title>``)."""

    _template = Template("""
        {% macro html(this, kwargs) %}
        <div id="{{ this.get_name() }}" class="beatgrid-title">{{ this.text }}</div>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.getContainer().appendChild(
            document.getElementById({{ this.get_name()|tojson }}));
        {% endmacro %}
    """)

    def __init__(self, title: str):
        super().__init__()
        self._name = "MapTitle"
        self.text = _html.escape(title)


class Legend(MacroElement):
    """A legend box (title and colour swatches) as a Leaflet control."""

    _template = Template("""
        {% macro html(this, kwargs) %}
        <div id="{{ this.get_name() }}" class="beatgrid-legend leaflet-control">
          {%- if this.title %}<div class="beatgrid-legend-title">{{ this.title }}</div>{% endif %}
          {%- for label, color in this.items %}
          <div class="beatgrid-legend-item"><span class="beatgrid-swatch"
            style="background:{{ color }}"></span><span>{{ label }}</span></div>
          {%- endfor %}
        </div>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control({position: {{ this.position|tojson }}});
        {{ this.get_name() }}.onAdd = function (map) {
            var div = document.getElementById({{ this.get_name()|tojson }});
            L.DomEvent.disableClickPropagation(div);
            L.DomEvent.disableScrollPropagation(div);
            return div;
        };
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, title: str | None, items: list[tuple[str, str]], *, position: str):
        super().__init__()
        self._name = "Legend"
        self.title = _html.escape(title) if title else ""
        self.items = [(_html.escape(label), color) for label, color in items]
        self.position = position


_POSITIONS = ("topleft", "topright", "bottomleft", "bottomright")


# -- base_map --------------------------------------------------------------------------

def _extent_lonlat(gdf_or_bounds) -> tuple[float, float, float, float]:
    if isinstance(gdf_or_bounds, (gpd.GeoDataFrame, gpd.GeoSeries)):
        require_crs(gdf_or_bounds, layer="map extent")
        geo = gdf_or_bounds if gdf_or_bounds.crs.to_epsg() == 4326 else gdf_or_bounds.to_crs(4326)
        geoms = geo.geometry if isinstance(geo, gpd.GeoDataFrame) else geo
        geoms = geoms[~(geoms.isna() | geoms.is_empty)]
        if len(geoms) == 0:
            raise InputError("the layer given for the map extent has no geometry",
                             fix="pass a layer with at least one feature, or bounds "
                                 "(min_lon, min_lat, max_lon, max_lat)")
        bounds = tuple(float(v) for v in geoms.total_bounds)
    elif (isinstance(gdf_or_bounds, (str, bytes))
          or not isinstance(gdf_or_bounds, (Sequence, np.ndarray))):
        raise InputError(f"map extent {gdf_or_bounds!r} is neither a GeoDataFrame nor bounds",
                         fix="pass a GeoDataFrame/GeoSeries with a CRS, or "
                             "(min_lon, min_lat, max_lon, max_lat) in degrees")
    else:
        values = list(gdf_or_bounds)
        try:
            bounds = tuple(float(v) for v in values)
        except (TypeError, ValueError):
            bounds = ()
        if len(bounds) != 4:
            raise InputError(f"map bounds {values!r} must be 4 numbers",
                             fix="pass (min_lon, min_lat, max_lon, max_lat) in degrees "
                                 "(EPSG:4326 or EPSG:4490)")
    x0, y0, x1, y1 = bounds
    ok = (all(math.isfinite(v) for v in bounds) and -180 <= x0 <= x1 <= 180
          and -90 <= y0 <= y1 <= 90)
    if not ok:
        raise InputError(f"map bounds {bounds!r} are not (min_lon, min_lat, max_lon, max_lat) "
                         "in degrees", fix="give longitude/latitude bounds with min <= max "
                                           "(EPSG:4326 or EPSG:4490)")
    return bounds


def _pad(lo: float, hi: float, limit: float) -> tuple[float, float]:
    if hi - lo >= MIN_SPAN_DEG:
        return lo, hi
    mid = (lo + hi) / 2
    return max(-limit, mid - MIN_SPAN_DEG / 2), min(limit, mid + MIN_SPAN_DEG / 2)


def _tile_layer(tiles: str, attr: str | None) -> folium.TileLayer:
    if not isinstance(tiles, str) or not tiles.strip():
        raise InputError(f"tiles {tiles!r} is not a tile name or URL template",
                         fix="pass None (no basemap), 'OpenStreetMap', or a template "
                             "such as 'https://tiles.example/{z}/{x}/{y}.png'")
    named = {t.lower(): t for t in NAMED_TILES}
    if tiles.strip().lower() in named:
        return folium.TileLayer(named[tiles.strip().lower()], name="basemap", max_zoom=19,
                                control=True)
    if not all(k in tiles for k in ("{z}", "{x}", "{y}")):
        raise InputError(f"tiles {tiles!r} is neither {NAMED_TILES} nor a URL template",
                         fix="a template must contain {z}, {x} and {y}")
    if attr is None:
        host = urlsplit(tiles).netloc or "local tiles"
        attr = "Map tiles: " + _html.escape(host)
    return folium.TileLayer(tiles, attr=attr, name="basemap", max_zoom=MAX_ZOOM,
                            max_native_zoom=19, control=True)


def base_map(gdf_or_bounds, *, tiles: str | None = None, attr: str | None = None,
             title: str | None = None, layer_control: bool = True,
             prefer_canvas: bool = False, width: str = "100%",
             height: str = "100%") -> OfflineMap:
    """An offline map fitted to a layer or to bounds, with no basemap by default.

    Parameters
    ----------
    gdf_or_bounds
        A GeoDataFrame or GeoSeries with a CRS (any CRS; usually EPSG:4490 or
        EPSG:4326, reprojected to EPSG:4326 for display), or bounds
        ``(min_lon, min_lat, max_lon, max_lat)`` in degrees. The map is fitted to
        it (at least :data:`MIN_SPAN_DEG` wide and high).
    tiles
        ``None`` (default): no basemap, nothing is ever downloaded. Only when the
        user asks: ``"OpenStreetMap"``, or a URL template with ``{z}``, ``{x}``,
        ``{y}`` (an intranet tile server, or a relative path to a folder of tiles
        beside the HTML file).
    attr
        Attribution (HTML) of a URL-template basemap; defaults to its host name.
    title
        Shown at the top of the map and as the page title.
    layer_control
        Add a layer switcher listing the layers (kept last, added on render).
    prefer_canvas
        Draw vector layers on a canvas instead of SVG: faster for tens of thousands
        of features (e.g. every building of a district).
    width, height
        CSS size of the map (default: the whole page).

    Returns
    -------
    OfflineMap
        A :class:`folium.Map` whose HTML inlines the bundled Leaflet.

    Raises
    ------
    CRSError
        When a GeoDataFrame has no CRS.
    InputError
        When the layer is empty, the bounds are not lon/lat, or ``tiles`` is unusable.

    Examples
    --------
    >>> m = base_map((121.50, 29.85, 121.60, 29.92), title="Jiangbei")
    >>> m.options["max_zoom"]
    20
    >>> m_osm = base_map((121.50, 29.85, 121.60, 29.92), tiles="OpenStreetMap")
    """
    x0, y0, x1, y1 = _extent_lonlat(gdf_or_bounds)
    x0, x1 = _pad(x0, x1, 180.0)
    y0, y1 = _pad(y0, y1, 90.0)
    m = OfflineMap(location=[(y0 + y1) / 2, (x0 + x1) / 2], zoom_start=13, tiles=None,
                   width=width, height=height, control_scale=True, zoom_snap=0.25,
                   prefer_canvas=prefer_canvas,
                   layer_control=layer_control)
    m.options["max_zoom"] = MAX_ZOOM
    if tiles is not None:
        m.add_child(_tile_layer(tiles, attr))
    m.fit_bounds([[y0, x0], [y1, x1]], padding=(12, 12))
    if title:
        m.get_root().title = _html.escape(str(title))
        m.add_child(MapTitle(str(title)))
    return m


# -- add_layer -------------------------------------------------------------------------

def _tooltip_spec(gdf, tooltip_columns, *, layer: str) -> dict[str, str]:
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


def _json_value(v):
    if style._is_missing(v):
        return None
    if isinstance(v, (pd.Timestamp, np.datetime64)):
        return pd.Timestamp(v).isoformat()
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v) if math.isfinite(v) else None
    # tooltips are built as HTML in the browser: escape text
    return _html.escape(str(v))


def _features(geo: gpd.GeoDataFrame, props: dict[str, pd.Series]) -> dict:
    geoms = shapely.transform(geo.geometry.to_numpy(), lambda xy: np.round(xy, COORD_PRECISION))
    texts = shapely.to_geojson(geoms)
    columns = {k: [_json_value(v) for v in s.to_numpy(dtype=object)] for k, s in props.items()}
    features = []
    for i in range(len(geoms)):
        features.append({
            "type": "Feature",
            "id": str(i),
            "properties": {k: vals[i] for k, vals in columns.items()},
            "geometry": json.loads(texts[i]),
        })
    return {"type": "FeatureCollection", "features": features}


_COLOR_KEY = "__color"


def add_layer(m: folium.Map, gdf, *, name: str, color: str | None = None,
              color_column: str | None = None,
              tooltip_columns: Sequence[str] | Mapping[str, str] | None = None,
              fill_opacity: float = 0.45, weight: float = 1.5, opacity: float = 0.9,
              radius: float = 6.0, show: bool = True, highlight: bool = True) -> folium.GeoJson:
    """Add a layer (polygons, lines and/or points) with tooltips to a map.

    Parameters
    ----------
    m
        A map from :func:`base_map` (or a ``folium.FeatureGroup`` on it).
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
        bad = sorted({str(v) for v in colours if not style._is_missing(v)
                      and not style.is_css_color(v)})
        if bad:
            raise InputError(f"layer {name!r} column {color_column!r} holds values that are "
                             f"not CSS colours: {bad[:5]}",
                             fix="fill it with colours, e.g. from beatgrid.layers.style")
        props[_COLOR_KEY] = colours
    data = _features(geo, props)

    def style_function(feature, *, _fallback=fallback):
        c = feature["properties"].get(_COLOR_KEY) or _fallback
        gtype = (feature.get("geometry") or {}).get("type", "")
        if "LineString" in gtype:
            return {"color": c, "weight": weight, "opacity": opacity}
        if "Point" in gtype:
            return {"color": "#333333", "weight": 1, "opacity": opacity, "fill": True,
                    "fillColor": c, "fillOpacity": 0.85}
        return {"color": c, "weight": weight, "opacity": opacity,
                "fillColor": c, "fillOpacity": fill_opacity}

    def highlight_function(feature):
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


# -- legend ----------------------------------------------------------------------------

def add_legend(m: folium.Map, title: str | None, items: Sequence[tuple[str, str]], *,
               position: str = "bottomright") -> Legend:
    """Add a legend box: a title and one colour swatch per ``(label, colour)`` item.

    Parameters
    ----------
    m
        The map.
    title
        Legend title (e.g. ``"Households per grid"``); ``None`` for none.
    items
        ``[(label, css_colour), ...]``, e.g. from :func:`style.severity_legend`.
    position
        ``"topleft"``, ``"topright"``, ``"bottomleft"`` or ``"bottomright"``.

    Returns
    -------
    Legend
        The legend element, already on the map (several legends stack).

    Examples
    --------
    >>> m = base_map((121.50, 29.85, 121.60, 29.92))
    >>> legend = add_legend(m, "Severity", [("ok", "#1a9641"), ("critical", "#d7191c")])
    """
    if position not in _POSITIONS:
        raise InputError(f"legend position {position!r} is unknown",
                         fix="use one of: " + ", ".join(_POSITIONS))
    checked = []
    for item in items:
        if not (isinstance(item, (tuple, list)) and len(item) == 2):
            raise InputError(f"legend item {item!r} is not (label, colour)",
                             fix="pass a list of (label, colour) pairs")
        label, colour = item
        checked.append((str(label), style.check_color(colour, what=f"legend colour of {label!r}")))
    legend = Legend(title, checked, position=position)
    m.add_child(legend)
    return legend


# -- output ----------------------------------------------------------------------------

_URL = r"""\s*["']?\s*(?:https?:)?//"""
_TAG_PATTERNS = [
    re.compile(r"<script\b[^>]*\bsrc\s*=" + _URL + r"[^\s\"'>]*", re.IGNORECASE),
    re.compile(r"<link\b[^>]*\bhref\s*=" + _URL + r"[^\s\"'>]*", re.IGNORECASE),
    re.compile(r"<(?:img|iframe|embed|source|audio|video)\b[^>]*\bsrc\s*=" + _URL
               + r"[^\s\"'>]*", re.IGNORECASE),
]
_CSS_PATTERNS = [
    re.compile(r"@import\s+(?:url\()?" + _URL + r"[^\s\"')]*", re.IGNORECASE),
    re.compile(r"url\(" + _URL + r"[^\s\"')]*", re.IGNORECASE),
]
_CSS_PARTS = [
    re.compile(r"<style\b[^>]*>(.*?)</style>", re.IGNORECASE | re.DOTALL),
    re.compile(r"\bstyle\s*=\s*\"([^\"]*)\"", re.IGNORECASE),
    re.compile(r"\bstyle\s*=\s*'([^']*)'", re.IGNORECASE),
]
#: code that needs a library BeatGrid does not bundle -> why
_UNBUNDLED = {
    "L.AwesomeMarkers": "folium.Icon (Leaflet.awesome-markers is not bundled)",
    "$.ajax(": "a layer loaded over the network (GeoJson embed=False)",
}


def external_resources(html: str) -> list[str]:
    """What in a map's HTML would load from outside the machine, or is not bundled.

    Finds ``<script src>``, ``<link href>``, ``<img/iframe src>``, and ``url()`` and
    ``@import`` in ``<style>`` blocks and ``style`` attributes, pointing to
    ``http(s)://`` or ``//`` URLs; and folium features that need an unbundled library.
    Basemap tiles (URLs inside ``L.tileLayer`` calls) are not
    reported: they are there only when asked for with ``tiles=``.

    Examples
    --------
    >>> external_resources('<script src="https://cdn.example/x.js"></script>')
    ['<script src="https://cdn.example/x.js']
    >>> external_resources("<script>var a = 1;</script>")
    []
    """
    found: list[str] = []
    for pattern in _TAG_PATTERNS:
        found.extend(mt.group(0) for mt in pattern.finditer(html))
    for part in _CSS_PARTS:  # url() and @import count only in CSS, not in layer data
        for css in part.finditer(html):
            for pattern in _CSS_PATTERNS:
                found.extend(mt.group(0) for mt in pattern.finditer(css.group(1)))
    found.extend(why for marker, why in _UNBUNDLED.items() if marker in html)
    return list(dict.fromkeys(found))


def map_html(m: folium.Map) -> str:
    """The complete, self-contained HTML of a map (e.g. for a web response).

    Raises
    ------
    ExternalResourceError
        When the HTML would load a script, stylesheet or image from outside the
        machine (see :func:`external_resources`).

    Examples
    --------
    >>> html = map_html(base_map((121.50, 29.85, 121.60, 29.92)))
    >>> html.startswith("<!DOCTYPE html>")
    True
    """
    html = m.get_root().render()
    found = external_resources(html)
    if found:
        raise ExternalResourceError(found)
    return html


def save_map(m: folium.Map, path: str | Path) -> Path:
    """Write a map as one self-contained HTML file (UTF-8) and return its path.

    Parent folders are created. The file works offline when opened from disk.

    Raises
    ------
    ExternalResourceError
        When the map would load anything from outside the machine (nothing is
        written then).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     out = save_map(base_map((121.50, 29.85, 121.60, 29.92)),
    ...                    pathlib.Path(folder) / "maps" / "extent.html")
    ...     out.name, out.stat().st_size > 100_000
    ('extent.html', True)
    """
    html = map_html(m)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path
