"""Tile maths of the WebMercatorQuad grid (OGC Two Dimensional Tile Matrix Set), via morecantile.

A tile is ``(z, x, y)`` with ``0 <= x, y < 2**z`` (``y`` counted from the north, as in
XYZ / OGC API - Tiles). :func:`check_tile` refuses a zoom outside the served range
(:class:`~beatgrid.gis.errors.InputError`) and a tile outside the matrix
(:class:`~beatgrid.gis.errors.NotFoundError`); :func:`tile_bounds` gives a tile's extent
in EPSG:3857 metres (with a margin for the encoding buffer), :func:`tiles_over` the tiles
covering a lon/lat box, :func:`tilejson` the TileJSON 3.0.0 document of a layer.

Examples
--------
>>> from beatgrid.gis.tiles.grid import tile_bounds, tiles_over
>>> [round(v) for v in tile_bounds(14, 13722, 6762)]
[13526297, 3495312, 13528743, 3497758]
>>> len(tiles_over((121.533, 29.907, 121.567, 29.932), 15))
16
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import morecantile

from beatgrid.gis.errors import InputError, NotFoundError

__all__ = ["TILE_MATRIX_SET_URI", "check_tile", "tile_bounds", "tile_resolution",
           "tilejson", "tiles_over"]

#: The tile matrix set (morecantile's definition of the OGC one).
TMS = morecantile.tms.get("WebMercatorQuad")
#: Its OGC identifier.
TILE_MATRIX_SET_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"

BBox = tuple[float, float, float, float]


def check_tile(z: int, x: int, y: int, *, min_zoom: int = 0, max_zoom: int = 24) -> None:
    """Refuse a zoom outside ``[min_zoom, max_zoom]`` and a tile outside the matrix.

    Raises
    ------
    InputError
        ``z`` is not served.
    NotFoundError
        ``x`` or ``y`` is outside ``0 .. 2**z - 1``.

    Examples
    --------
    >>> check_tile(2, 4, 0)
    Traceback (most recent call last):
    ...
    beatgrid.gis.errors.NotFoundError: tile 2/4/0 is outside the WebMercatorQuad matrix (x and y from 0 to 3 at zoom 2) Fix: give x and y from 0 to 3
    """
    if not min_zoom <= z <= max_zoom:
        raise InputError(f"zoom {z} is not served (zooms {min_zoom} to {max_zoom})",
                         fix=f"give a zoom from {min_zoom} to {max_zoom}")
    top = 2 ** z - 1
    if not (0 <= x <= top and 0 <= y <= top):
        raise NotFoundError(f"tile {z}/{x}/{y} is outside the WebMercatorQuad matrix (x and y "
                            f"from 0 to {top} at zoom {z})",
                            fix=f"give x and y from 0 to {top}")


def tile_bounds(z: int, x: int, y: int, *, margin: float = 0.0) -> BBox:
    """The tile's extent in EPSG:3857 metres, widened by ``margin`` (a share of its side).

    Examples
    --------
    >>> b = tile_bounds(0, 0, 0)
    >>> round(b[2]), round(b[0])
    (20037508, -20037508)
    >>> w = tile_bounds(0, 0, 0, margin=0.5)
    >>> round(w[2] / b[2], 3)
    2.0
    """
    b = TMS.xy_bounds(morecantile.Tile(x, y, z))
    dx, dy = (b.right - b.left) * margin, (b.top - b.bottom) * margin
    return (b.left - dx, b.bottom - dy, b.right + dx, b.top + dy)


def tile_resolution(z: int, *, extent: int) -> float:
    """Metres per tile coordinate at zoom ``z`` (the side of a tile / ``extent``).

    Examples
    --------
    >>> round(tile_resolution(14, extent=4096), 3)
    0.597
    """
    b = tile_bounds(z, 0, 0)
    return (b[2] - b[0]) / extent


def tiles_over(bbox: Sequence[float], zoom: int) -> list[tuple[int, int, int]]:
    """The tiles ``(z, x, y)`` at ``zoom`` covering ``(minlon, minlat, maxlon, maxlat)``.

    Examples
    --------
    >>> tiles_over((121.545, 29.915, 121.548, 29.918), 16)
    [(16, 54894, 27055), (16, 54895, 27055), (16, 54894, 27056), (16, 54895, 27056)]
    """
    w, s, e, n = (float(v) for v in bbox)
    return [(t.z, t.x, t.y) for t in TMS.tiles(w, s, e, n, [zoom])]


def tilejson(name: str, *, tiles_url: str, bounds: Sequence[float] | None, min_zoom: int,
             max_zoom: int, fields: Mapping[str, str], description: str = "",
             attribution: str = "BeatGrid") -> dict[str, Any]:
    """The TileJSON 3.0.0 document of one vector tile layer (named ``name``).

    Parameters
    ----------
    tiles_url
        The URL template, with ``{z}``, ``{x}`` and ``{y}``.
    bounds
        ``(minlon, minlat, maxlon, maxlat)`` of the data (None: the whole world).
    fields
        Attribute name -> type word (``"String"``, ``"Number"``, ``"Boolean"``).

    Examples
    --------
    >>> doc = tilejson("beats", tiles_url="http://h/{z}/{x}/{y}", bounds=None, min_zoom=0,
    ...                max_zoom=22, fields={"id": "String"})
    >>> doc["tilejson"], doc["vector_layers"][0]["id"], doc["bounds"]
    ('3.0.0', 'beats', [-180.0, -85.0511287798066, 180.0, 85.0511287798066])
    """
    box = list(bounds) if bounds is not None else [-180.0, -85.0511287798066, 180.0,
                                                   85.0511287798066]
    if any(v != v for v in box):  # NaN: an empty layer
        box = [-180.0, -85.0511287798066, 180.0, 85.0511287798066]
    centre = [(box[0] + box[2]) / 2, (box[1] + box[3]) / 2, max(min_zoom, min(max_zoom, 14))]
    return {"tilejson": "3.0.0", "name": name, "description": description,
            "attribution": attribution, "scheme": "xyz", "tiles": [tiles_url],
            "minzoom": min_zoom, "maxzoom": max_zoom, "bounds": [float(v) for v in box],
            "center": centre,
            "vector_layers": [{"id": name, "description": description, "minzoom": min_zoom,
                               "maxzoom": max_zoom, "fields": dict(fields)}]}

