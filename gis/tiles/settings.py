"""Settings of the map-speed reads (``gis/defaults/tiles.toml``), loaded and checked once.

Three tables: ``[features]`` (page sizes of OGC API - Features items), ``[tiles]`` (the
vector tile grid: extent, buffer, zooms, simplification per zoom, the tile cache) and
``[layers.<name>]`` (per layer: the attributes its tiles carry and the lowest zoom it is
drawn at). An override file has the same shape; unknown keys, wrong types and values out
of range are refused with :class:`~beatgrid.gis.errors.PolicyError` naming the key and
the value.

Examples
--------
>>> from beatgrid.gis.tiles.settings import load_tile_settings, layer_choice
>>> settings = load_tile_settings()
>>> settings["tiles"]["extent"], settings["features"]["max_limit"]
(4096, 10000)
>>> layer_choice(settings, "buildings").min_zoom
13
>>> load_tile_settings({"tiles": {"buffer": -1}})
Traceback (most recent call last):
...
beatgrid.gis.errors.PolicyError: tiles settings: 'tiles.buffer' has value -1: it must be a whole number from 0 to 1,024 Fix: give a whole number from 0 to 1,024 (default 64)
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from beatgrid.gis.config import Frozen, Override, load_settings
from beatgrid.gis.config_checks import is_plain_number, shown
from beatgrid.gis.errors import PolicyError

__all__ = ["LayerChoice", "TILE_MATRIX_SET", "default_tile_settings", "layer_choice",
           "load_tile_settings"]

#: The one tile matrix set served (the web map grid, EPSG:3857).
TILE_MATRIX_SET = "WebMercatorQuad"
#: Deepest zoom level a setting may name.
MAX_ZOOM = 24


@dataclass(frozen=True)
class LayerChoice:
    """What a layer's tiles carry: its attributes and the lowest zoom it is drawn at."""

    properties: tuple[str, ...]
    min_zoom: int


def _whole(source: str, key: str, value: Any, low: int, high: int, default: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise PolicyError(f"{source}: {key!r} has value {shown(value)}: it must be a whole "
                          f"number from {low:,} to {high:,}",
                          fix=f"give a whole number from {low:,} to {high:,} "
                              f"(default {default})")
    return value


def check_tile_settings(data: Mapping[str, Any], source: str) -> None:
    """The value checks of ``tiles.toml`` (the loader has checked keys and types).

    Examples
    --------
    >>> data = load_settings("tiles")
    >>> data["tiles"]["min_zoom"] = 9; data["tiles"]["max_zoom"] = 8
    >>> check_tile_settings(data, "my.toml")
    Traceback (most recent call last):
    ...
    beatgrid.gis.errors.PolicyError: my.toml: 'tiles.min_zoom' (9) is above 'tiles.max_zoom' (8) Fix: give a min_zoom at most max_zoom
    """
    shipped = load_settings("tiles")
    feats, tiles = data["features"], data["tiles"]
    f0, t0 = shipped["features"], shipped["tiles"]
    _whole(source, "features.default_limit", feats["default_limit"], 1, 1_000_000,
           f0["default_limit"])
    _whole(source, "features.max_limit", feats["max_limit"], 1, 1_000_000, f0["max_limit"])
    if feats["default_limit"] > feats["max_limit"]:
        raise PolicyError(f"{source}: 'features.default_limit' ({feats['default_limit']}) is "
                          f"above 'features.max_limit' ({feats['max_limit']})",
                          fix="give a default_limit at most max_limit")
    extent = _whole(source, "tiles.extent", tiles["extent"], 256, 65536, t0["extent"])
    _whole(source, "tiles.buffer", tiles["buffer"], 0, extent // 4, t0["buffer"])
    _whole(source, "tiles.min_zoom", tiles["min_zoom"], 0, MAX_ZOOM, t0["min_zoom"])
    _whole(source, "tiles.max_zoom", tiles["max_zoom"], 0, MAX_ZOOM, t0["max_zoom"])
    if tiles["min_zoom"] > tiles["max_zoom"]:
        raise PolicyError(f"{source}: 'tiles.min_zoom' ({tiles['min_zoom']}) is above "
                          f"'tiles.max_zoom' ({tiles['max_zoom']})",
                          fix="give a min_zoom at most max_zoom")
    simplify = tiles["simplify"]
    if not is_plain_number(simplify) or not 0 <= simplify <= 64:
        raise PolicyError(f"{source}: 'tiles.simplify' has value {shown(simplify)}: it must "
                          "be a number of tile coordinates from 0 to 64",
                          fix=f"give a number from 0 to 64 (default {t0['simplify']})")
    _whole(source, "tiles.cache_tiles", tiles["cache_tiles"], 0, 1_000_000,
           t0["cache_tiles"])
    _whole(source, "tiles.units_max_zoom", tiles["units_max_zoom"], 0, MAX_ZOOM,
           t0["units_max_zoom"])
    if tiles["tile_matrix_set"] != TILE_MATRIX_SET:
        raise PolicyError(f"{source}: 'tiles.tile_matrix_set' has value "
                          f"{shown(tiles['tile_matrix_set'])}: only {TILE_MATRIX_SET!r} is "
                          "served", fix=f"give {TILE_MATRIX_SET!r}")
    for name, layer in data["layers"].items():
        props = layer["properties"]
        if not all(isinstance(p, str) and p for p in props) or len(set(props)) != len(props):
            raise PolicyError(f"{source}: 'layers.{name}.properties' has value {shown(props)}: "
                              "it must list distinct column names",
                              fix="give a list of the layer's column names, each once")
        _whole(source, f"layers.{name}.min_zoom", layer["min_zoom"], 0, MAX_ZOOM,
               shipped["layers"][name]["min_zoom"])


def load_tile_settings(override: Override = None) -> Frozen:
    """The shipped ``tiles.toml`` with an optional override (a TOML path or a mapping).

    Raises
    ------
    PolicyError
        An unknown key, a value of the wrong type or out of range (naming it).

    Examples
    --------
    >>> load_tile_settings({"features": {"default_limit": 10}})["features"]["default_limit"]
    10
    """
    if override is None:
        return default_tile_settings()
    source = str(override) if isinstance(override, (str, Path)) else "tiles settings"
    data = load_settings("tiles", override)
    check_tile_settings(data, source)
    return Frozen(data)


@functools.lru_cache(maxsize=1)
def default_tile_settings() -> Frozen:
    """The shipped ``tiles.toml``, checked (loaded once per process).

    Examples
    --------
    >>> default_tile_settings()["tiles"]["tile_matrix_set"]
    'WebMercatorQuad'
    """
    data = load_settings("tiles")
    check_tile_settings(data, "gis/defaults/tiles.toml")
    return Frozen(data)


def layer_choice(settings: Mapping[str, Any], name: str) -> LayerChoice:
    """The attributes and lowest zoom of layer ``name`` (unlisted: no attributes, every zoom).

    Examples
    --------
    >>> layer_choice(default_tile_settings(), "grids").properties
    ('id', 'code', 'community_id', 'households', 'locked')
    """
    layer = settings["layers"].get(name)
    if layer is None:
        return LayerChoice(properties=(), min_zoom=int(settings["tiles"]["min_zoom"]))
    return LayerChoice(properties=tuple(layer["properties"]), min_zoom=int(layer["min_zoom"]))
