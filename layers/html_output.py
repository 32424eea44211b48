"""The HTML of a map, checked to load nothing from outside the machine.

:func:`map_html` renders a map to one self-contained page and :func:`save_map`
writes it to a file; both first look for anything the page would fetch from the
network (:func:`external_resources`) and raise :class:`ExternalResourceError`
rather than hand over a map that is silently broken offline: a ``<script src>``,
``<link href>`` or ``<img src>`` to an ``http(s)://`` or ``//`` URL, a CSS
``url()``/``@import`` of one, or a folium feature that needs a library BeatGrid does
not bundle (``folium.Icon``, ``GeoJson(embed=False)``).

Examples
--------
>>> import folium
>>> from beatgrid.layers.html_output import ExternalResourceError, map_html
>>> try:                                # a plain folium.Map links Leaflet from a CDN
...     map_html(folium.Map(tiles=None))
... except ExternalResourceError as error:
...     print(len(error.resources) > 0)
True
"""

from __future__ import annotations

import re
from pathlib import Path

import folium

__all__ = ["ExternalResourceError", "external_resources", "map_html", "save_map"]


class ExternalResourceError(RuntimeError):
    """A map would load JavaScript, CSS or images from outside the machine.

    Raised by :func:`save_map` and :func:`map_html`; ``resources`` lists what was
    found (URLs, or the feature that needs a library BeatGrid does not bundle).

    Examples
    --------
    >>> ExternalResourceError(['<script src="https://cdn.example/x.js']).resources
    ['<script src="https://cdn.example/x.js']
    """

    def __init__(self, resources_found: list[str]) -> None:
        self.resources = list(resources_found)
        super().__init__(
            "the map references resources that are not bundled (it would not work "
            "offline): " + "; ".join(self.resources)
            + ". Fix: build the map with beatgrid.layers.base.base_map/add_layer and "
              "avoid folium plugins and folium.Icon (use circle markers)")


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
    >>> from beatgrid.layers.offline_map import base_map
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
    >>> from beatgrid.layers.offline_map import base_map
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
