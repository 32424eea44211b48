"""Offline map base (beatgrid.layers.base) and the shared style (beatgrid.layers.style).

These tests read the HTML only; tests/layers/test_browser_maps.py opens it in Chromium.
"""

from __future__ import annotations

import hashlib
import json
import re
from importlib import resources

import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from beatgrid.gis.errors import CRSError, InputError
from beatgrid.layers import base, style
from beatgrid.layers.assets import BUNDLE, LICENSES


# -- sample layers (EPSG:4490, Ningbo Jiangbei) -------------------------------------------

def _grids(crs=4490):
    cells = [shapely.box(121.550 + i * 0.004, 29.880 + j * 0.003,
                         121.554 + i * 0.004, 29.883 + j * 0.003)
             for i in range(3) for j in range(2)]
    households = pd.array([120, 310, 450, 520, 800, None], dtype="Int64")
    gdf = gpd.GeoDataFrame(
        {"id": [f"G{k}" for k in range(6)], "name": [f"网格{k}" for k in range(6)],
         "households": households}, geometry=cells, crs=crs)
    gdf["color"] = style.household_color(gdf["households"], minimum=300, maximum=500)
    return gdf


def _cameras(crs=4490):
    gdf = gpd.GeoDataFrame(
        {"id": ["c1", "c2"], "quality": ["identify", "blind"]},
        geometry=[shapely.Point(121.552, 29.881), shapely.Point(121.558, 29.884)], crs=crs)
    gdf["color"] = style.quality_color(gdf["quality"])
    return gdf


def _street(crs=4490):
    return gpd.GeoDataFrame({"id": ["s1"], "name": ["<b>Huancheng Rd</b>"]},
                            geometry=[shapely.LineString([(121.549, 29.883), (121.563, 29.883)])],
                            crs=crs)


@pytest.fixture
def grid_map():
    grids = _grids()
    m = base.base_map(grids, title="Basic grids 基础网格")
    base.add_layer(m, grids, name="Grids", color_column="color",
                   tooltip_columns={"id": "Grid", "name": "名称", "households": "Households"})
    base.add_layer(m, _street(), name="Streets", color=style.CONTEXT_COLOR, weight=3)
    base.add_layer(m, _cameras(), name="Cameras", color_column="color",
                   tooltip_columns=["id", "quality"])
    base.add_legend(m, "Households 户数", style.household_legend(minimum=300, maximum=500))
    return m


def _layers(m):
    return [c for c in m._children.values() if isinstance(c, folium.GeoJson)]


# -- bundled assets ---------------------------------------------------------------------

def test_bundle_files_are_the_recorded_npm_files_and_small():
    assets = resources.files("beatgrid.layers.assets")
    total = 0
    for name, (_package, _path, sha256) in BUNDLE.items():
        data = assets.joinpath(name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == sha256, name
        total += len(data)
    assert total < 300_000
    for licence in LICENSES.values():
        text = assets.joinpath(licence).read_text(encoding="utf-8")
        assert "Copyright" in text or "copyright" in text


# -- inline, offline HTML ---------------------------------------------------------------

def test_html_inlines_leaflet_and_references_nothing_external(grid_map, tmp_path):
    path = base.save_map(grid_map, tmp_path / "out" / "grids.html")
    html = path.read_text(encoding="utf-8")
    assert "Leaflet 1.9.4" in html and "window.L" in html  # the library itself, inline
    assert "jQuery v3.7.1" in html
    assert base.external_resources(html) == []
    assert not re.search(r"<script[^>]+src=", html, re.IGNORECASE)
    assert not re.search(r"<link[^>]+rel=.?stylesheet", html, re.IGNORECASE)
    for cdn in ("cdn.jsdelivr.net", "code.jquery.com", "cdnjs.cloudflare.com",
                "bootstrapcdn.com", "sourceMappingURL"):
        assert cdn not in html
    assert "L.tileLayer" not in html  # no basemap unless asked for
    assert 'url("data:image/png;base64,' in html  # Leaflet's images inlined
    assert "<title>Basic grids 基础网格</title>" in html


def test_features_styles_and_tooltips_present(grid_map):
    grids, street, cams = _layers(grid_map)
    assert len(grids.data["features"]) == 6
    assert len(street.data["features"]) == 1 and len(cams.data["features"]) == 2
    html = base.map_html(grid_map)
    for colour in ("#4575b4", "#1a9850", "#d73027", style.MISSING_COLOR,
                   style.QUALITY_COLORS["blind"], style.CONTEXT_COLOR):
        assert colour in html
    props = grids.data["features"][0]["properties"]
    assert props["id"] == "G0" and props["households"] == 120 and props["name"] == "网格0"
    assert grids.data["features"][5]["properties"]["households"] is None
    tooltips = [c for c in grids._children.values() if isinstance(c, folium.GeoJsonTooltip)]
    assert tooltips[0].fields == ["id", "name", "households"]
    assert tooltips[0].aliases == ["Grid", "名称", "Households"]
    # text shown as HTML in tooltips is escaped
    assert street.data["features"][0]["properties"]["name"] == "&lt;b&gt;Huancheng Rd&lt;/b&gt;"


def test_legend_and_title_present(grid_map):
    html = base.map_html(grid_map)
    assert "beatgrid-legend" in html and "Households 户数" in html
    assert "below 300 households" in html and "above 500 households" in html
    assert "beatgrid-title" in html and "Basic grids 基础网格" in html
    m = base.base_map(_grids())
    base.add_legend(m, "<i>x</i>", [("a & b", "#ff0000")], position="topleft")
    html = base.map_html(m)
    assert "&lt;i&gt;x&lt;/i&gt;" in html and "a &amp; b" in html
    with pytest.raises(InputError):
        base.add_legend(m, "t", [("bad", "red; background:url(x)")])
    with pytest.raises(InputError):
        base.add_legend(m, "t", [("a", "#fff")], position="middle")


def test_layer_control_comes_after_the_layers_and_render_is_repeatable(grid_map):
    html = base.map_html(grid_map)
    control = html.index("L.control.layers(")
    for layer in _layers(grid_map):
        assert html.index(f"var {layer.get_name()} = L.geoJson(") < control
    assert html.count("L.control.layers(") == 1
    late = base.add_layer(grid_map, _cameras(), name="Late layer")
    html2 = base.map_html(grid_map)
    assert html2.count("L.control.layers(") == 1
    assert html2.index(f"var {late.get_name()} = L.geoJson(") < html2.index("L.control.layers(")
    html3 = base.map_html(grid_map)  # rendering again neither duplicates nor reorders
    assert html3.count("L.control.layers(") == 1 and html3.count("= L.geoJson(") == 4
    assert html3.index(f"var {late.get_name()} = L.geoJson(") < html3.index("L.control.layers(")
    no_control = base.base_map(_grids(), layer_control=False)
    base.add_layer(no_control, _grids(), name="Grids")
    assert "L.control.layers(" not in base.map_html(no_control)


# -- CRS and extent ---------------------------------------------------------------------

def test_missing_crs_raises_crs_error():
    grids = _grids().set_crs(None, allow_override=True)
    with pytest.raises(CRSError, match="map extent"):
        base.base_map(grids)
    m = base.base_map((121.55, 29.88, 121.57, 29.89))
    with pytest.raises(CRSError, match="Grids"):
        base.add_layer(m, grids, name="Grids")


def test_layers_are_reprojected_to_lonlat():
    metric = _grids().to_crs(4550)  # CGCS2000 3-degree GK, CM 120E (metres)
    m = base.base_map(metric)
    layer = base.add_layer(m, metric, name="Grids", color_column="color")
    x, y = layer.data["features"][0]["geometry"]["coordinates"][0][0]
    assert 121.54 < x < 121.57 and 29.87 < y < 29.89
    (s, w), (n, e) = [c for c in m._children.values()
                      if type(c).__name__ == "FitBounds"][0].bounds
    assert 121.54 < w < e < 121.57 and 29.87 < s < n < 29.89


def test_extent_from_bounds_and_single_point():
    m = base.base_map((121.55, 29.88, 121.57, 29.89))
    assert m.location == pytest.approx([29.885, 121.56])
    point = gpd.GeoDataFrame(geometry=[shapely.Point(121.55, 29.88)], crs=4326)
    m = base.base_map(point)
    (s, w), (n, e) = [c for c in m._children.values()
                      if type(c).__name__ == "FitBounds"][0].bounds
    assert n - s == pytest.approx(base.MIN_SPAN_DEG) and e - w == pytest.approx(base.MIN_SPAN_DEG)
    for bad in [(1, 2, 3), (500, 0, 501, 1), (121.6, 29.8, 121.5, 29.9), "121,29,122,30",
                (np.nan, 0, 1, 1)]:
        with pytest.raises(InputError):
            base.base_map(bad)
    with pytest.raises(InputError, match="no geometry"):
        base.base_map(_grids().iloc[:0])


# -- tiles ------------------------------------------------------------------------------

def test_tiles_only_when_asked():
    osm = base.base_map(_grids(), tiles="openstreetmap")
    html = base.map_html(osm)
    assert "L.tileLayer" in html and "tile.openstreetmap.org" in html
    assert base.external_resources(html) == []  # tiles are allowed, scripts are not
    local = base.base_map(_grids(), tiles="tiles/{z}/{x}/{y}.png")
    assert '"tiles/{z}/{x}/{y}.png"' in base.map_html(local)
    for bad in ("CartoDB positron", "https://tiles.example/tile.png", ""):
        with pytest.raises(InputError):
            base.base_map(_grids(), tiles=bad)


# -- refusing maps that would not work offline ------------------------------------------

def test_save_refuses_cdn_resources(tmp_path):
    plain = folium.Map(location=[29.88, 121.55], tiles=None)
    with pytest.raises(base.ExternalResourceError, match="cdn.jsdelivr.net"):
        base.save_map(plain, tmp_path / "plain.html")
    assert not (tmp_path / "plain.html").exists()

    m = base.base_map(_grids())
    folium.plugins.Fullscreen().add_to(m)
    with pytest.raises(base.ExternalResourceError) as err:
        base.save_map(m, tmp_path / "plugin.html")
    assert any("Fullscreen" in r or "fullscreen" in r for r in err.value.resources)

    m = base.base_map(_grids())
    folium.Marker([29.88, 121.55], icon=folium.Icon(color="red")).add_to(m)
    with pytest.raises(base.ExternalResourceError, match="folium.Icon"):
        base.map_html(m)


def test_external_resources_patterns():
    found = base.external_resources(
        '<link rel="stylesheet" href="//cdn.example/a.css">'
        "<style>@import url('https://fonts.example/f.css'); .a{background:url(http://x/y.png)}"
        "</style><img src='https://x/i.png'>")
    for url in ("//cdn.example/a.css", "https://fonts.example/f.css", "http://x/y.png",
                "https://x/i.png"):
        assert any(url in f for f in found), url
    assert base.external_resources('<a href="https://leafletjs.com">Leaflet</a>') == []
    # text in layer data is not CSS: a street note mentioning url(https://...) is fine
    data = '<script>var d = {"note": "url(https://x.cn/a)"};</script>'
    assert base.external_resources(data) == []
    assert base.external_resources('<div style="background:url(//x/y.png)"></div>')


# -- add_layer input checks -------------------------------------------------------------

def test_add_layer_input_errors():
    m = base.base_map(_grids())
    with pytest.raises(InputError, match="tooltip"):
        base.add_layer(m, _grids(), name="Grids", tooltip_columns=["nope"])
    with pytest.raises(InputError, match="colour column"):
        base.add_layer(m, _grids(), name="Grids", color_column="nope")
    bad = _grids()
    bad["color"] = "not a colour!"
    with pytest.raises(InputError, match="not CSS colours"):
        base.add_layer(m, bad, name="Grids", color_column="color")
    with pytest.raises(InputError):
        base.add_layer(m, _grids(), name="Grids", color="url(x)")
    with pytest.raises(InputError):
        base.add_layer(m, pd.DataFrame({"a": [1]}), name="Table")
    with pytest.raises(InputError):
        base.add_layer(m, _grids(), name="  ")


def test_empty_rows_and_layers_are_fine():
    grids = _grids()
    grids.loc[1, "geometry"] = None
    m = base.base_map(grids)
    layer = base.add_layer(m, grids, name="Grids", color_column="color")
    assert len(layer.data["features"]) == 5
    empty = base.add_layer(m, grids.iloc[:0], name="Nothing here", tooltip_columns=["id"])
    assert empty.data["features"] == []
    assert base.external_resources(base.map_html(m)) == []


def test_default_tooltip_and_geoseries():
    m = base.base_map(_grids())
    layer = base.add_layer(m, _grids(), name="Grids")
    tips = [c for c in layer._children.values() if isinstance(c, folium.GeoJsonTooltip)]
    assert tips[0].fields == ["id", "name"]
    layer = base.add_layer(m, _grids().geometry, name="Outlines", fill_opacity=0)
    assert not [c for c in layer._children.values() if isinstance(c, folium.GeoJsonTooltip)]
    html = base.map_html(m)
    assert '"fillOpacity": 0' in html.replace("0.0", "0")


# -- style ------------------------------------------------------------------------------

def test_severity_levels_from_thresholds():
    cuts = (0.1, 0.2, 0.3, 0.5)
    values = [0.0, 0.1, 0.15, 0.2, 0.3, 0.49, 0.5, 9]
    assert list(style.severity_for_value(values, thresholds=cuts)) == [
        "ok", "low", "low", "medium", "high", "high", "critical", "critical"]
    named = {"low": 0.1, "medium": 0.2, "high": 0.3, "critical": 0.5}
    assert style.severity_for_value(0.25, thresholds=named) == "medium"
    cover = {"low": 0.9, "medium": 0.8, "high": 0.7, "critical": 0.5}
    got = [style.severity_for_value(v, thresholds=cover, higher_is_worse=False)
           for v in (1.0, 0.9, 0.85, 0.75, 0.6, 0.2)]
    assert got == ["ok", "ok", "low", "medium", "high", "critical"]
    assert style.severity_for_value(None, thresholds=cuts) is None
    assert style.severity_value_color(float("nan"), thresholds=cuts) == style.MISSING_COLOR
    for bad in [(0.1, 0.2), (0.3, 0.2, 0.1, 0.0), {"low": 1}, "abc"]:
        with pytest.raises(InputError):
            style.severity_for_value(0.2, thresholds=bad)
    with pytest.raises(InputError):  # descending expected when lower is worse
        style.severity_for_value(0.2, thresholds=cuts, higher_is_worse=False)
    with pytest.raises(InputError):
        style.severity_color("severe")


def test_quality_and_household_helpers_vectorise():
    dori = {"detect": 25, "observe": 62, "recognise": 125, "identify": 250}
    s = pd.Series([0, 30, 70, 130, 300, None], index=list("abcdef"))
    levels = style.quality_for_density(s, thresholds=dori)
    assert isinstance(levels, pd.Series) and list(levels.index) == list("abcdef")
    assert list(levels) == ["blind", "detect", "observe", "recognise", "identify", None]
    assert list(style.quality_color(levels)) == [
        style.QUALITY_COLORS[k] for k in style.QUALITY_LEVELS] + [style.MISSING_COLOR]
    assert style.quality_color("recognize") == style.QUALITY_COLORS["recognise"]
    arr = style.household_band(np.array([100, 300, 500, 501]), minimum=300, maximum=500)
    assert isinstance(arr, np.ndarray) and list(arr) == ["below", "in_range", "in_range", "above"]
    # the band is read from the arguments, never built in
    assert style.household_band(350, minimum=400, maximum=600) == "below"
    with pytest.raises(InputError):
        style.household_band(350, minimum=500, maximum=300)
    with pytest.raises(InputError):
        style.household_band("many", minimum=300, maximum=500)


def test_palettes_and_legends_are_consistent():
    assert set(style.SEVERITY_COLORS) == set(style.SEVERITY_LEVELS)
    assert set(style.QUALITY_COLORS) == set(style.QUALITY_LEVELS)
    assert set(style.HOUSEHOLD_COLORS) == set(style.HOUSEHOLD_BANDS)
    for palette in (style.SEVERITY_COLORS, style.QUALITY_COLORS, style.HOUSEHOLD_COLORS):
        assert all(style.is_css_color(c) for c in palette.values())
        assert len(set(palette.values())) == len(palette)
    assert [c for _, c in style.severity_legend()] == list(style.SEVERITY_COLORS.values())
    assert style.household_legend(minimum=250, maximum=400,
                                  labels={"above": "too many"})[2] == ("too many", "#d73027")
    colours = style.category_colors(["b3", "b1", None, "b2", "b1"])
    assert list(colours) == ["b1", "b2", "b3"] and len(set(colours.values())) == 3
    with pytest.raises(TypeError):
        style.SEVERITY_COLORS["ok"] = "#000"  # read-only


def test_map_html_is_json_safe_for_odd_values():
    grids = _grids()
    grids["when"] = pd.Timestamp("2024-05-01 08:30")
    grids["ratio"] = [0.5, np.inf, np.nan, 1, 2, 3]
    grids["flag"] = [True, False, True, False, True, False]
    m = base.base_map(grids)
    layer = base.add_layer(m, grids, name="Grids", tooltip_columns=["when", "ratio", "flag"])
    props = [f["properties"] for f in layer.data["features"]]
    assert props[0]["when"] == "2024-05-01T08:30:00"
    assert props[1]["ratio"] is None and props[2]["ratio"] is None
    assert props[0]["flag"] is True
    json.dumps(layer.data, allow_nan=False)
