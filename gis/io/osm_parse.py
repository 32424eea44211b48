"""OpenStreetMap tag values to numbers: directions, lengths, tilts, levels, counts.

Pure scalar parsers, no file access. Mappers write the same value many ways; these
read them all (see each function). They return ``nan`` for an empty value and raise
:class:`ValueError` for a value they do not understand; the frame-level functions of
:mod:`beatgrid.gis.io.osm_tags` turn those into ``nan`` and a note naming the feature,
the tag and the value, and the importer reads text columns of camera files with them
(:mod:`beatgrid.gis.io.fill_columns`).

Examples
--------
>>> parse_direction("NE"), parse_direction("90-180"), parse_direction("270-90")
((45.0, nan), (135.0, 90.0), (0.0, 180.0))
>>> parse_length_m("4,5 m"), parse_length_m("13 ft")
(4.5, 3.9624)
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd

NAN = float("nan")

_COMPASS = ["N", "NNE", "NE", "ENE", "E", "ESE", "SE", "SSE",
            "S", "SSW", "SW", "WSW", "W", "WNW", "NW", "NNW"]
#: Compass abbreviations (16 points), English words and Chinese names -> degrees.
CARDINALS: dict[str, float] = {name: i * 22.5 for i, name in enumerate(_COMPASS)}
CARDINALS.update({
    "NORTH": 0.0, "EAST": 90.0, "SOUTH": 180.0, "WEST": 270.0,
    "NORTHEAST": 45.0, "SOUTHEAST": 135.0, "SOUTHWEST": 225.0, "NORTHWEST": 315.0,
    "北": 0.0, "东北": 45.0, "东": 90.0, "东南": 135.0, "南": 180.0, "西南": 225.0,
    "西": 270.0, "西北": 315.0,
})

_NUMBER = r"[-+]?\d+(?:[.,]\d+)?"
_DEG_SUFFIX = re.compile(r"\s*(°|º|deg|degs|degree|degrees|度)\s*$", re.IGNORECASE)


def is_empty(value: Any) -> bool:
    """True for a missing tag value: None, NaN, NA, NaT or blank text.

    Examples
    --------
    >>> is_empty(None), is_empty(" "), is_empty(float("nan")), is_empty("0")
    (True, True, True, False)
    """
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, str) and value.strip() == ""


def _first_of_list(value: str) -> str:
    # OSM multi-value tags are separated by ';' ("90;270"): the first value is used.
    return value.split(";")[0].strip()


#: Separators of a list of directions: ``;`` (OSM), the Chinese ``；，、``, and a comma
#: followed by a space, a non-digit or three digits (``"180, 270"``, ``"N,E"``,
#: ``"180,270"``); ``"90,5"`` stays the decimal 90.5.
_DIRECTION_LIST = re.compile(r"[;；，、]|,(?=\s|\D|\d{3})")

_FLOAT = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")


def _to_float(text: str) -> float:
    """A finite number written with a decimal point or comma (``"4,5"``), or ``1e-05``."""
    text = text.strip().replace(",", ".")
    if not _FLOAT.fullmatch(text):
        raise ValueError(text)
    out = float(text)
    if not math.isfinite(out):
        raise ValueError(text)
    return out


def _degrees(value: float) -> float:
    """``value`` modulo 360, in [0, 360) (``-1e-20 % 360`` is 360.0 in floating point)."""
    if not math.isfinite(value):
        raise ValueError(f"not a finite direction: {value!r}")
    out = value % 360.0
    return 0.0 if out >= 360.0 else out


def _one_direction(text: str) -> float:
    text = _DEG_SUFFIX.sub("", text.strip())
    key = re.sub(r"[\s_]", "", text).upper()
    if key in CARDINALS:
        return CARDINALS[key]
    # "North-East" is one direction, but "N-E" is a range (handled by the caller)
    words = key.replace("-", "")
    if len(words) > 3 and words in CARDINALS:
        return CARDINALS[words]
    return _degrees(_to_float(text))


_RANGE = re.compile(r"^\s*(-?[^-–—~]+?)\s*[-–—~]\s*([^-–—~]+?)\s*$")


def parse_direction(value: Any) -> tuple[float, float]:
    """``camera:direction`` (or ``direction``) -> (direction, field of view), degrees.

    Accepted: a number (``"90"``, ``"90.5°"``, ``"-45"`` = 315, ``"450"`` = 90); a
    compass point (``"N"``, ``"ssw"``, ``"North-East"``, ``"东北"``); a clockwise
    range (``"90-180"``, ``"E-W"``, ``"270-90"``) giving its centre and its width as the
    field of view; ``"0-360"`` or ``"0-359"`` meaning any direction (``nan``, 360). For
    a list the first value is used: ``"90;270"`` (OSM), ``"180, 270"``, ``"180，270"``
    (a comma before a space, a letter or three digits separates; ``"90,5"`` is the
    decimal 90.5). A single direction has no field of view (``nan``: the settings
    default applies). The direction returned is in [0, 360) or ``nan``.

    This is the one direction parser: ``import osm`` reads ``camera:direction`` with it
    and the file importer reads every ``direction`` value with it
    (:func:`beatgrid.gis.io.fill_columns.fill_camera_fields`).

    Raises
    ------
    ValueError
        For a value that is none of the above (also infinite numbers).

    Examples
    --------
    >>> parse_direction("SSW"), parse_direction(" 90 "), parse_direction("E-W")
    ((202.5, nan), (90.0, nan), (180.0, 180.0))
    >>> parse_direction("0-360"), parse_direction(None), parse_direction("180, 270")
    ((nan, 360.0), (nan, nan), (180.0, nan))
    """
    if is_empty(value):
        return NAN, NAN
    if isinstance(value, (int, float, np.integer, np.floating)):
        return _degrees(float(value)), NAN
    text = _DIRECTION_LIST.split(str(value))[0].strip()
    try:
        return _one_direction(text), NAN
    except ValueError:
        pass
    m = _RANGE.match(text)
    if not m:
        raise ValueError(f"not a direction: {value!r}")
    a_text, b_text = m.group(1), m.group(2)
    a, b = _one_direction(a_text), _one_direction(b_text)
    width = (b - a) % 360.0
    if width == 0.0:
        a_raw = _DEG_SUFFIX.sub("", a_text.strip())
        b_raw = _DEG_SUFFIX.sub("", b_text.strip())
        if a_raw == b_raw:
            return a, NAN
        width = 360.0
    if width >= 359.0:
        return NAN, 360.0
    return (a + width / 2.0) % 360.0, width


_UNITS_M = {
    "": 1.0, "m": 1.0, "meter": 1.0, "meters": 1.0, "metre": 1.0, "metres": 1.0, "米": 1.0,
    "cm": 0.01, "mm": 0.001, "km": 1000.0,
    "ft": 0.3048, "feet": 0.3048, "foot": 0.3048, "'": 0.3048,
    "in": 0.0254, "inch": 0.0254, "inches": 0.0254, '"': 0.0254,
}
_FEET_INCHES = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*'\s*(\d+(?:\.\d+)?)\s*\"\s*$")
_LENGTH = re.compile(r"^\s*(" + _NUMBER + r")\s*([a-zA-Z'\"米]*)\.?\s*$")


def parse_length_m(value: Any) -> float:
    """A length tag (``height``, ``camera:height``) -> metres.

    Accepted: ``"4"``, ``"4.5"``, ``"4,5"``, ``"4 m"``, ``"4m"``, ``"400 cm"``,
    ``"13 ft"``, ``"13'"``, ``"12'6\\""``, ``"4米"``; the first of a ``;`` list.

    Raises
    ------
    ValueError
        For anything else, and for negative lengths.

    Examples
    --------
    >>> parse_length_m("4 m"), parse_length_m("400 cm"), round(parse_length_m("12'6\\""), 3)
    (4.0, 4.0, 3.81)
    """
    if is_empty(value):
        return NAN
    if isinstance(value, (int, float, np.integer, np.floating)):
        out = float(value)
    else:
        text = _first_of_list(str(value))
        m = _FEET_INCHES.match(text)
        if m:
            out = float(m.group(1)) * 0.3048 + float(m.group(2)) * 0.0254
        else:
            m = _LENGTH.match(text)
            unit = m.group(2).lower() if m else None
            if not m or unit not in _UNITS_M:
                raise ValueError(f"not a length: {value!r}")
            out = _to_float(m.group(1)) * _UNITS_M[unit]
    if out < 0:
        raise ValueError(f"negative length: {value!r}")
    return round(out, 6)


def parse_tilt(value: Any) -> float:
    """``camera:angle`` / ``camera:tilt`` -> downward tilt from horizontal, degrees.

    OSM's ``camera:angle`` is the angle between the view and the horizontal plane.
    Mappers write the downward tilt as positive (``"15"``) or negative (``"-15"``);
    both mean 15 degrees down (cameras pointing up do not occur in practice).

    Raises
    ------
    ValueError
        For a non-number or a magnitude above 90.

    Examples
    --------
    >>> parse_tilt("15"), parse_tilt("-30°"), parse_tilt("20 deg"), parse_tilt("")
    (15.0, 30.0, 20.0, nan)
    """
    if is_empty(value):
        return NAN
    if isinstance(value, (int, float, np.integer, np.floating)):
        out = float(value)
    else:
        out = _to_float(_DEG_SUFFIX.sub("", _first_of_list(str(value))))
    if abs(out) > 90:
        raise ValueError(f"tilt outside -90..90: {value!r}")
    return abs(out)


def parse_levels(value: Any) -> float:
    """``building:levels`` -> storeys (``"5"``, ``"5.5"``, ``"3;5"`` -> 3, ``"2-3"`` -> 2).

    Zero or negative counts are returned as ``nan`` (the default levels then apply).

    Raises
    ------
    ValueError
        For a value with no number.

    Examples
    --------
    >>> parse_levels("6"), parse_levels("2-3"), parse_levels("0"), parse_levels(None)
    (6.0, 2.0, nan, nan)
    """
    if is_empty(value):
        return NAN
    if isinstance(value, (int, float, np.integer, np.floating)):
        out = float(value)
    else:
        m = re.match(r"^\s*(\d+(?:[.,]\d+)?)", _first_of_list(str(value)))
        if not m:
            raise ValueError(f"not a number of levels: {value!r}")
        out = _to_float(m.group(1))
    return out if out > 0 else NAN


def parse_count(value: Any) -> float:
    """A count tag (``building:flats``) -> non-negative whole number, or ``nan``.

    Raises
    ------
    ValueError
        For a non-number, a negative or a fractional count.

    Examples
    --------
    >>> parse_count("24"), parse_count(" 8 "), parse_count(None)
    (24.0, 8.0, nan)
    """
    if is_empty(value):
        return NAN
    out = float(value) if isinstance(value, (int, float, np.integer, np.floating)) \
        else _to_float(_first_of_list(str(value)))
    if out < 0 or not float(out).is_integer():
        raise ValueError(f"not a count: {value!r}")
    return out
