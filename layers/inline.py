"""The bundled Leaflet, jQuery and BeatGrid's own CSS, written into a map's page.

Every BeatGrid map carries its libraries inside its HTML: the files of
:mod:`beatgrid.layers.assets` go into ``<script>`` and ``<style>`` elements (no
``src``, no ``<link>``), Leaflet's images become ``data:`` URIs, and source-map
comments are dropped so that the browser's developer tools fetch nothing either.
:class:`beatgrid.layers.offline_map.OfflineMap` adds :func:`inline_assets` to the
page header when it renders.

Examples
--------
>>> from beatgrid.layers.inline import inline_assets
>>> [name for name, _ in inline_assets()]
['leaflet_css', 'beatgrid_css', 'leaflet', 'leaflet_default_icon', 'jquery']
"""

from __future__ import annotations

import base64
import functools
import json
import re
from importlib import resources

from branca.element import Element
from folium.template import Template

from beatgrid.layers import style

__all__ = ["ASSETS_PACKAGE", "BEATGRID_CSS", "InlineScript", "InlineStyle", "inline_assets"]

#: The package holding the bundled files (see :mod:`beatgrid.layers.assets`).
ASSETS_PACKAGE = "beatgrid.layers.assets"

_SOURCE_MAP = re.compile(r"^\s*//[#@]\s*sourceMappingURL=.*$", re.MULTILINE)


def _asset_bytes(name: str) -> bytes:
    return resources.files(ASSETS_PACKAGE).joinpath(name).read_bytes()


def _data_uri(name: str) -> str:
    return "data:image/png;base64," + base64.b64encode(_asset_bytes(name)).decode("ascii")


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


#: BeatGrid's CSS for every map: background, title box, legend box, tooltip table.
BEATGRID_CSS = f"""
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


class InlineScript(Element):
    """A ``<script>`` whose code is written into the page (no ``src``).

    ``</script`` inside the code is escaped so the code cannot close its element.

    Examples
    --------
    >>> "</script" in InlineScript("var a = '</script>';").code
    False
    """

    _template = Template("<script>{{ this.code }}</script>\n")

    def __init__(self, code: str) -> None:
        super().__init__()
        self._name = "InlineScript"
        self.code = re.sub(r"</(script)", r"<\\/\1", code, flags=re.IGNORECASE)


class InlineStyle(Element):
    """A ``<style>`` element whose CSS is written into the page (no ``<link>``).

    Examples
    --------
    >>> InlineStyle("p { color: red; }").render()
    '<style>p { color: red; }</style>'
    """

    _template = Template("<style>{{ this.code }}</style>\n")

    def __init__(self, code: str) -> None:
        super().__init__()
        self._name = "InlineStyle"
        self.code = re.sub(r"</(style)", r"<\\/\1", code, flags=re.IGNORECASE)


def inline_assets() -> list[tuple[str, Element]]:
    """The elements a map page needs in its header, as ``(name, element)`` pairs.

    Leaflet's CSS (images as ``data:`` URIs), :data:`BEATGRID_CSS`, Leaflet, the
    default marker images for Leaflet, and jQuery (slim), in that order. New
    elements each call: add them to one page only.

    Returns
    -------
    list of (str, branca.element.Element)
        The header child name (the same on every render, so a second render
        replaces rather than repeats them) and the element.

    Examples
    --------
    >>> name, element = inline_assets()[2]
    >>> name, "Leaflet 1.9.4" in element.code, "sourceMappingURL" in element.code
    ('leaflet', True, False)
    """
    return [
        ("leaflet_css", InlineStyle(_leaflet_css())),
        ("beatgrid_css", InlineStyle(BEATGRID_CSS)),
        ("leaflet", InlineScript(_leaflet_js())),
        ("leaflet_default_icon", InlineScript(_default_icon_js())),
        ("jquery", InlineScript(_jquery_js())),
    ]
