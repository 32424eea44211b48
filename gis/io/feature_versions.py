"""The version of one stored feature: a content hash, and the checks of ``If-Match``.

A feature's version is a hash of what is stored, not a counter kept beside it, so it
changes with every edit whoever makes it (the service, the command line, QGIS writing
the GeoPackage) and is the same on both stores for the same content:
:func:`feature_version` is the first 16 hexadecimal digits of the SHA-256 of the
feature's canonical form, a compact JSON text of

- its properties (every column but the geometry, sorted by name; missing values as
  null, whole numbers as integers whatever the column type, times as ISO 8601), and
- its geometry as WKB (2D, little-endian, as stored: in the project CRS).

The HTTP service sends it as the feature's ``ETag`` (:func:`etag`) and requires it back
in ``If-Match`` on every change (:func:`parse_if_match`, :func:`check_version`): a
change made from an older version is refused with
:class:`~beatgrid.gis.errors.StaleVersionError` carrying the current one.

Examples
--------
>>> from beatgrid.gis.io.store import open_store
>>> cameras = open_store("sample-geodata/ningbo-jiangbei.gpkg").read_layer("cameras")
>>> version = feature_version(cameras, 0)
>>> len(version), version == feature_version(cameras.iloc[[0]], 0)
(16, True)
>>> moved = cameras.copy()
>>> moved.loc[0, "direction"] = 90.0
>>> feature_version(moved, 0) == version
False
>>> etag(version) == f'"{version}"'
True
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from beatgrid.gis.errors import StaleVersionError

__all__ = ["ANY_VERSION", "canonical_value", "changed_columns", "check_version", "etag",
           "etag_of", "feature_record", "feature_version", "parse_if_match", "version_matches"]

#: Hexadecimal digits of a version (64 bits of the SHA-256).
VERSION_DIGITS = 16
#: ``If-Match: *``: any current version of an existing feature.
ANY_VERSION = "*"
#: Largest whole number written as an integer (beyond it floats are not exact).
_EXACT_INT = 2 ** 53


def canonical_value(value: Any) -> Any:
    """A property value as it enters the version: plain JSON, one form per value.

    Examples
    --------
    >>> canonical_value(np.int64(3)), canonical_value(3.0), canonical_value(2.5)
    (3, 3, 2.5)
    >>> canonical_value(float("nan")), canonical_value(pd.NA), canonical_value(np.bool_(True))
    (None, None, True)
    >>> canonical_value(pd.Timestamp("2024-03-01 08:30"))
    '2024-03-01T08:30:00'
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        if math.isnan(number):
            return None
        if math.isinf(number):
            return repr(number)
        return int(number) if number.is_integer() and abs(number) < _EXACT_INT else number
    if isinstance(value, (dt.datetime, dt.date, pd.Timestamp)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, str):
        return value
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def feature_record(frame: pd.DataFrame, row: int) -> tuple[dict[str, Any], Any]:
    """``(properties, geometry)`` of the feature at position ``row`` (geometry None for a table).

    Examples
    --------
    >>> from beatgrid.gis.io.store import open_store
    >>> staff = open_store("sample-geodata/ningbo-jiangbei.gpkg").read_layer("staff")
    >>> feature_record(staff, 0)
    ({'auxiliaries': 1, 'beat_id': 'B01', 'community_officers': 1, 'floating_managers': 7, 'grid_workers': 7}, None)
    """
    geometry_column = _geometry_column(frame)
    record = frame.iloc[int(row)]
    properties = {str(c): canonical_value(record[c]) for c in sorted(map(str, frame.columns))
                  if c != geometry_column}
    geometry = record[geometry_column] if geometry_column is not None else None
    return properties, geometry


def _geometry_column(frame: pd.DataFrame) -> str | None:
    if not isinstance(frame, gpd.GeoDataFrame):
        return None
    try:
        return str(frame.geometry.name)
    except AttributeError:  # a GeoDataFrame without an active geometry column
        return None


def _geometry_text(geometry: Any) -> str | None:
    if geometry is None or shapely.is_missing(geometry) or shapely.is_empty(geometry):
        return None
    text: str = shapely.to_wkb(geometry, hex=True, output_dimension=2, byte_order=1,
                               include_srid=False)
    return text


def feature_version(frame: pd.DataFrame, row: int) -> str:
    """The version of the feature at position ``row`` of a layer as stored (16 hex digits).

    ``frame`` is the layer as the store reads it (project CRS, conformed): the version
    of a feature does not depend on the other rows, their order or the column order.

    Examples
    --------
    >>> from beatgrid.gis.io.store import open_store
    >>> beats = open_store("sample-geodata/ningbo-jiangbei.gpkg").read_layer("beats")
    >>> feature_version(beats, 0) == feature_version(beats.iloc[::-1], 11)
    True
    """
    properties, geometry = feature_record(frame, row)
    text = json.dumps({"geometry": _geometry_text(geometry), "properties": properties},
                      sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:VERSION_DIGITS]


def etag(version: str) -> str:
    """The ``ETag`` header value of a version (a strong, quoted entity tag).

    Examples
    --------
    >>> etag("0123456789abcdef")
    '"0123456789abcdef"'
    """
    return f'"{version}"'


def etag_of(frame: pd.DataFrame, row: int) -> str:
    """The ``ETag`` header value of the feature at position ``row`` (what GET answers).

    Examples
    --------
    >>> from beatgrid.gis.io.store import open_store
    >>> rooms = open_store("sample-geodata/ningbo-jiangbei.gpkg").read_layer("police_rooms")
    >>> etag_of(rooms, 0) == etag(feature_version(rooms, 0))
    True
    """
    return etag(feature_version(frame, row))


def parse_if_match(header: str) -> tuple[str, ...]:
    """The versions an ``If-Match`` header names (``*`` stays ``*``).

    Entity tags may be quoted or bare and separated by commas; weak tags (``W/"..."``)
    are kept but never match (``If-Match`` compares strongly, RFC 9110).

    Examples
    --------
    >>> parse_if_match('"abc", "def"'), parse_if_match("abc"), parse_if_match(" * ")
    (('abc', 'def'), ('abc',), ('*',))
    >>> parse_if_match('W/"abc"')
    ('W/abc',)
    """
    out: list[str] = []
    for part in header.split(","):
        tag = part.strip()
        if not tag:
            continue
        weak = tag[:2].upper() == "W/"
        if weak:
            tag = tag[2:].strip()
        if len(tag) >= 2 and tag[0] == tag[-1] == '"':
            tag = tag[1:-1]
        out.append(f"W/{tag}" if weak else tag)
    return tuple(out)


def version_matches(current: str, expected: str | Sequence[str]) -> bool:
    """Whether ``current`` is one of the versions ``expected`` (``*`` matches any).

    Examples
    --------
    >>> version_matches("abc", ["x", "abc"]), version_matches("abc", "*"), version_matches("abc", "x")
    (True, True, False)
    """
    wanted = (expected,) if isinstance(expected, str) else tuple(expected)
    return ANY_VERSION in wanted or current in wanted


def check_version(what: str, current: str, expected: str | Sequence[str] | None, *,
                  reread: str) -> None:
    """Refuse a change made from another version than ``current``.

    Parameters
    ----------
    what
        The feature, for the message (``"cameras feature 'CAM001'"``).
    current
        Its version now.
    expected
        The version(s) the change was made from (None: no check).
    reread
        Where the client reads the current version, for the fix.

    Raises
    ------
    StaleVersionError
        ``current`` is not among ``expected`` (its ``current`` is the version now).

    Examples
    --------
    >>> check_version("cameras feature 'CAM001'", "abc", ["abc"], reread="GET it")
    >>> check_version("cameras feature 'CAM001'", "abc", ["old"], reread="GET it")
    Traceback (most recent call last):
    ...
    beatgrid.gis.errors.StaleVersionError: cameras feature 'CAM001' is at version abc, not old: it changed since you read it Fix: GET it and redo your change on it (its ETag is the current version)
    """
    if expected is None or version_matches(current, expected):
        return
    given = ", ".join((expected,) if isinstance(expected, str) else expected) or "(none)"
    raise StaleVersionError(f"{what} is at version {current}, not {given}: it changed since "
                            "you read it",
                            fix=f"{reread} and redo your change on it (its ETag is the current "
                                "version)", current=current)


def changed_columns(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
                    ) -> list[str]:
    """Names whose canonical value differs between two feature records (sorted).

    Examples
    --------
    >>> changed_columns({"a": 1, "b": 2}, {"a": 1, "b": 3, "c": None})
    ['b']
    """
    old, new = dict(before or {}), dict(after or {})
    return sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
