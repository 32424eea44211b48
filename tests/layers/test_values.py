"""JSON-plain cells (beatgrid.layers.values) and the modules behind beatgrid.layers.base."""

from __future__ import annotations

import datetime as dt
import decimal
import json

import numpy as np
import pandas as pd
import pytest

from beatgrid.layers import base, geojson_layer, html_output, inline, legend, offline_map, style
from beatgrid.layers.values import is_missing, json_value


@pytest.mark.parametrize("value, expected", [
    (None, None), (float("nan"), None), (np.float64("nan"), None), (pd.NA, None),
    (pd.NaT, None), (np.inf, None), (-np.inf, None), (np.float32("inf"), None),
    (np.int64(7), 7), (np.uint8(255), 255), (np.float32(1.5), 1.5), (2.25, 2.25),
    (True, True), (np.bool_(False), False), ("网格 <1>", "网格 <1>"),
    (pd.Timestamp("2024-05-01 08:30"), "2024-05-01T08:30:00"),
    (np.datetime64("2024-05-01T08:30"), "2024-05-01T08:30:00"),
    (pd.Timestamp("2024-05-01", tz="Asia/Shanghai"), "2024-05-01T00:00:00+08:00"),
    (decimal.Decimal("1.10"), "1.10"), (dt.date(2024, 5, 1), "2024-05-01"),
])
def test_json_value(value, expected):
    got = json_value(value)
    assert got == expected and type(got) is type(expected)
    json.dumps(got, allow_nan=False)


def test_is_missing_is_for_cells_only():
    assert all(is_missing(v) for v in (None, float("nan"), np.float64("nan"), pd.NA, pd.NaT))
    assert not any(is_missing(v) for v in (0, 0.0, "", False, "nan", np.inf))
    assert style.is_missing is is_missing  # the colour helpers use the same test


def test_bool_is_not_taken_for_int():
    assert json_value(True) is True and json_value(np.bool_(True)) is True


# -- beatgrid.layers.base gathers the map API of the modules it was split into ---------

BASE_NAMES = {  # every public name base.py defined before the split
    "ASSETS_PACKAGE": inline, "InlineScript": inline, "InlineStyle": inline,
    "MIN_SPAN_DEG": offline_map, "MAX_ZOOM": offline_map, "NAMED_TILES": offline_map,
    "OfflineMap": offline_map, "MapTitle": offline_map, "base_map": offline_map,
    "COORD_PRECISION": geojson_layer, "add_layer": geojson_layer,
    "Legend": legend, "add_legend": legend,
    "ExternalResourceError": html_output, "external_resources": html_output,
    "map_html": html_output, "save_map": html_output,
}


@pytest.mark.parametrize("name", sorted(BASE_NAMES))
def test_base_re_exports(name):
    assert getattr(base, name) is getattr(BASE_NAMES[name], name)
    assert name in base.__all__


def test_re_exported_constants_keep_their_values():
    assert (base.MIN_SPAN_DEG, base.MAX_ZOOM, base.COORD_PRECISION) == (0.002, 20, 6)
    assert base.NAMED_TILES == ("OpenStreetMap",)
    assert base.ASSETS_PACKAGE == "beatgrid.layers.assets"
    assert legend.LEGEND_POSITIONS == ("topleft", "topright", "bottomleft", "bottomright")
