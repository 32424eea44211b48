"""Offline folium maps: the base every BeatGrid map (grids, coverage, staffing) builds on.

A map made here is one self-contained HTML file: Leaflet (and the small jQuery that
folium's popups call) are inlined from :mod:`beatgrid.layers.assets`, Leaflet's
images are inlined as data URIs, and no basemap tiles are loaded unless asked for.
The file opens from disk, from an e-mail attachment or on a police intranet with no
internet access, and it loads nothing from outside the machine.

This module gathers the map-building API in one place; each part lives in a module
of its own:

* :mod:`beatgrid.layers.offline_map` -- :func:`base_map`, :class:`OfflineMap`,
  :class:`MapTitle`;
* :mod:`beatgrid.layers.geojson_layer` -- :func:`add_layer`;
* :mod:`beatgrid.layers.legend` -- :func:`add_legend`, :class:`Legend`;
* :mod:`beatgrid.layers.html_output` -- :func:`map_html`, :func:`save_map`,
  :func:`external_resources`, :class:`ExternalResourceError`;
* :mod:`beatgrid.layers.inline` -- the bundled Leaflet and jQuery written into the
  page (:class:`InlineScript`, :class:`InlineStyle`).

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

from beatgrid.layers.geojson_layer import COORD_PRECISION, add_layer
from beatgrid.layers.html_output import (
    ExternalResourceError,
    external_resources,
    map_html,
    save_map,
)
from beatgrid.layers.inline import ASSETS_PACKAGE, InlineScript, InlineStyle
from beatgrid.layers.legend import Legend, add_legend
from beatgrid.layers.offline_map import (
    MAX_ZOOM,
    MIN_SPAN_DEG,
    NAMED_TILES,
    MapTitle,
    OfflineMap,
    base_map,
)

__all__ = [
    "OfflineMap", "ExternalResourceError", "base_map", "add_layer", "add_legend",
    "save_map", "map_html", "external_resources",
    # also importable from here, as before the split
    "ASSETS_PACKAGE", "COORD_PRECISION", "MAX_ZOOM", "MIN_SPAN_DEG", "NAMED_TILES",
    "InlineScript", "InlineStyle", "Legend", "MapTitle",
]
