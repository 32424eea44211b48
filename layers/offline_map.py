"""The offline map itself: :func:`base_map` and the :class:`OfflineMap` it returns.

An :class:`OfflineMap` is a :class:`folium.Map` that writes the bundled Leaflet into
its page (:mod:`beatgrid.layers.inline`) instead of linking a CDN, has no basemap
unless one is asked for, and keeps its layer control listing every layer.
:func:`base_map` fits it to a layer or to bounds and puts a title on it; layers and
legends are added with :func:`beatgrid.layers.geojson_layer.add_layer` and
:func:`beatgrid.layers.legend.add_legend` (all re-exported by
:mod:`beatgrid.layers.base`).

Examples
--------
>>> from beatgrid.layers.offline_map import base_map
>>> m = base_map((121.50, 29.85, 121.60, 29.92), title="Jiangbei")
>>> type(m).__name__, m.get_root().title
('OfflineMap', 'Jiangbei')
"""

from __future__ import annotations

import html as _html
import math
from collections.abc import Sequence
from typing import Any, Union, cast
from urllib.parse import urlsplit

import folium
import geopandas as gpd
import numpy as np
from branca.element import Figure, MacroElement
from folium.template import Template

from beatgrid.gis.crs import require_crs
from beatgrid.gis.errors import InputError

from beatgrid.layers.inline import inline_assets

__all__ = ["MIN_SPAN_DEG", "MAX_ZOOM", "NAMED_TILES", "Extent", "OfflineMap", "MapTitle",
           "base_map"]

#: Smallest extent (degrees) a map is fitted to: a single point or a tiny layer is
#: shown with about 200 m around it rather than at an absurd zoom.
MIN_SPAN_DEG = 0.002
#: Deepest zoom of a BeatGrid map (Leaflet needs one when there is no tile layer).
MAX_ZOOM = 20
#: Tile names accepted besides URL templates.
NAMED_TILES = ("OpenStreetMap",)

#: What a map is fitted to: a layer with a CRS, or ``(min_lon, min_lat, max_lon, max_lat)``.
Extent = Union[gpd.GeoDataFrame, gpd.GeoSeries, Sequence[float], np.ndarray]


class OfflineMap(folium.Map):
    """A :class:`folium.Map` that inlines the bundled Leaflet instead of CDN links.

    It also keeps the layer control last (so it lists every layer, whenever layers
    are added) and adds one when the map has overlay layers and none was added.
    Build it with :func:`base_map`.

    Parameters
    ----------
    *args, **kwargs
        As :class:`folium.Map`.
    layer_control
        Add a layer control on render when the map has overlay layers and none.

    Examples
    --------
    >>> m = OfflineMap(location=[29.88, 121.55], tiles=None, layer_control=False)
    >>> m.default_js, m.default_css
    ([], [])
    """

    def __init__(self, *args: Any, layer_control: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # instance lists: folium's add_js_link would otherwise mutate a class list
        self.default_js = []
        self.default_css = []
        self.layer_control = layer_control

    # folium's Map.render returns None where branca types Element.render as -> str
    def render(self, **kwargs: Any) -> None:  # type: ignore[override]
        """Render into the page (folium's render, with the bundle and the layer control)."""
        figure = cast(Figure, self.get_root())
        for name, element in inline_assets():
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


class MapTitle(MacroElement):
    """A title shown at the top centre of the map (and as the page ``<title>``).

    The text is HTML-escaped. :func:`base_map` adds it when given ``title=``.

    Examples
    --------
    >>> MapTitle("Grids <b>").text
    'Grids &lt;b&gt;'
    """

    _template = Template("""
        {% macro html(this, kwargs) %}
        <div id="{{ this.get_name() }}" class="beatgrid-title">{{ this.text }}</div>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.getContainer().appendChild(
            document.getElementById({{ this.get_name()|tojson }}));
        {% endmacro %}
    """)

    def __init__(self, title: str) -> None:
        super().__init__()
        self._name = "MapTitle"
        self.text = _html.escape(title)


def _extent_lonlat(gdf_or_bounds: Extent) -> tuple[float, float, float, float]:
    bounds: tuple[float, ...]
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
    return x0, y0, x1, y1


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


def base_map(gdf_or_bounds: Extent, *, tiles: str | None = None, attr: str | None = None,
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
        cast(Figure, m.get_root()).title = _html.escape(str(title))
        m.add_child(MapTitle(str(title)))
    return m
