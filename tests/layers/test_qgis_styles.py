"""QGIS styles in the project (``beatgrid.gis.io.qgis_styles``, ``beatgrid styles``).

The shipped sample carries the ``layer_styles`` table QGIS reads (its schema); every
QML parses with the right renderer, keys on columns the layer has and covers every
value once; every SLD is a Symbology Encoding 1.1 document whose named layer is the
table; the colours are the maps'; writing is idempotent and keeps a user's styles.
QGIS itself (Debian's PyQGIS, headless) opens the project and draws the styled layers.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from beatgrid.api.cli import main
from beatgrid.gis import Project, schema
from beatgrid.gis.config import default_config
from beatgrid.gis.io.qgis_styles import (STYLE_COLUMNS, STYLE_NAME, read_layer_styles,
                                         render_styles, style_specs, write_layer_styles)
from beatgrid.gis.project import SAMPLE_PATH
from beatgrid.layers import style

SE, OGC, SLD = ("http://www.opengis.net/se", "http://www.opengis.net/ogc",
                "http://www.opengis.net/sld")
RENDERER = {"grids": "RuleRenderer", "beats": "RuleRenderer", "estates": "RuleRenderer",
            "estate_risk": "graduatedSymbol", "camera_views": "categorizedSymbol",
            "coverage_stats": "graduatedSymbol", "blind_spots": "singleSymbol",
            "cameras": "categorizedSymbol", "camera_proposals": "singleSymbol"}
#: Columns a style may key on that the stored layer gains later (the staffing severity).
LATER = {("beats", "severity")}


@pytest.fixture(scope="module")
def derived_columns():
    """Columns of the derived layers, from a coverage run and a recommendation."""
    project = Project.sample()
    res = project.coverage.analyse(levels=True)
    cols = {name: set(df.columns) for name, df in res.derived_layers().items()}
    prop = project.coverage.recommend(budget=1, estate="E40")
    cols["camera_proposals"] = set(prop.proposals.columns)
    return cols


def _columns(table, derived_columns):
    if table in schema.LAYERS:
        return set(schema.get_spec(table).column_names)
    return derived_columns[table]


def _qml(text):
    return ET.fromstring(text.split("\n", 1)[1])     # after the DOCTYPE line


# --------------------------------------------------------------------------------------
# The shipped sample
# --------------------------------------------------------------------------------------

def test_the_sample_carries_the_layer_styles_table():
    styles = read_layer_styles(SAMPLE_PATH)
    assert list(styles.columns) == list(STYLE_COLUMNS)
    assert sorted(styles["f_table_name"]) == ["beats", "cameras", "estates", "grids"]
    assert (styles["styleName"] == STYLE_NAME).all() and styles["useAsDefault"].all()
    # QGIS looks a layer's default style up by schema '' and its geometry column
    assert (styles["f_table_schema"] == "").all() and (styles["f_table_catalog"] == "").all()
    assert set(styles["f_geometry_column"]) == {"geom"}
    assert styles["update_time"].notna().all()
    import sqlite3

    with sqlite3.connect(SAMPLE_PATH) as conn:
        kind = conn.execute("SELECT data_type FROM gpkg_contents WHERE table_name = "
                            "'layer_styles'").fetchone()
        pk = [r for r in conn.execute("PRAGMA table_info(layer_styles)") if r[5]]
    assert kind == ("attributes",) and pk[0][1] == "id"


def test_the_sample_styles_are_those_of_the_shipped_settings():
    styles = read_layer_styles(SAMPLE_PATH).set_index("f_table_name")
    current = render_styles(default_config())
    for table, row in styles.iterrows():
        assert row["styleQML"] == current[table].qml, table
        assert row["styleSLD"] == current[table].sld, table


# --------------------------------------------------------------------------------------
# QML and SLD
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("table", sorted(RENDERER))
def test_each_qml_parses_with_its_renderer_on_real_columns(table, derived_columns):
    s = render_styles()[table]
    root = _qml(s.qml)
    assert root.tag == "qgis"
    renderer = root.find("renderer-v2")
    assert renderer.get("type") == RENDERER[table] == s.renderer
    cols = _columns(table, derived_columns)
    used = set()
    if renderer.get("attr"):
        used.add(renderer.get("attr"))
    for rule in renderer.iter("rule"):
        filt = rule.get("filter")
        if filt != "ELSE":
            used |= set(filt.split('"')[1::2])
    for opt in renderer.iter("Option"):
        if opt.get("name") == "field":
            used.add(opt.get("value"))
    assert used or RENDERER[table] == "singleSymbol", table
    assert used - cols <= {c for t, c in LATER if t == table}, (table, used - cols)
    # every rule, category or range points at a symbol that exists
    names = {sym.get("name") for sym in renderer.find("symbols")}
    refs = [e.get("symbol") for e in renderer.iter() if e.tag in ("rule", "category", "range")]
    assert set(refs or ["0"]) <= names and (refs or RENDERER[table] == "singleSymbol")
    geometry = {"fill", "marker"}
    assert {sym.get("type") for sym in renderer.iter("symbol")} <= geometry


@pytest.mark.parametrize("table", sorted(RENDERER))
def test_each_sld_is_symbology_encoding_named_after_its_table(table):
    s = render_styles()[table]
    root = ET.fromstring(s.sld.encode())
    assert root.tag == f"{{{SLD}}}StyledLayerDescriptor" and root.get("version") == "1.1.0"
    named = root.find(f"{{{SLD}}}NamedLayer")
    assert named.find(f"{{{SE}}}Name").text == table
    rules = list(named.iter(f"{{{SE}}}Rule"))
    assert rules
    kinds = {"fill": "PolygonSymbolizer", "marker": "PointSymbolizer"}
    wanted = f"{{{SE}}}{kinds[style_specs()[table]['symbol']]}"
    for rule in rules:
        assert rule.find(wanted) is not None, (table, rule.find(f"{{{SE}}}Name").text)
        assert rule.find(f"{{{SE}}}Name").text
    if table in ("cameras", "camera_proposals"):    # an arrow turned to the direction
        rot = root.find(f".//{{{SE}}}Rotation/{{{OGC}}}PropertyName")
        assert rot is not None and rot.text == "direction"


def _matches(rule, record):
    """Evaluate an SLD rule's filter on a record (the comparisons the styles use)."""
    if rule.find(f"{{{SE}}}ElseFilter") is not None:
        return None
    ops = {"PropertyIsLessThan": np.less, "PropertyIsLessThanOrEqualTo": np.less_equal,
           "PropertyIsGreaterThan": np.greater,
           "PropertyIsGreaterThanOrEqualTo": np.greater_equal,
           "PropertyIsEqualTo": np.equal}
    filt = rule.find(f"{{{OGC}}}Filter")
    ok = True
    for cmp in filt.iter():
        name = cmp.tag.split("}")[1]
        if name in ops:
            field = cmp.find(f"{{{OGC}}}PropertyName").text
            literal = cmp.find(f"{{{OGC}}}Literal").text
            value = record[field]
            target = type(value)(literal) if not isinstance(value, str) else literal
            ok &= bool(ops[name](value, target))
    return ok


@pytest.mark.parametrize(("table", "field", "values"), [
    ("grids", "households", np.arange(0, 1201)),
    ("estate_risk", "risk_score", np.linspace(0, 100, 2001)),
    ("coverage_stats", "seen_share_all", np.linspace(0, 1, 1001)),
])
def test_classes_cover_every_value_once(table, field, values):
    config = default_config().replace(grids={"band": {"min_households": 320,
                                                      "max_households": 480}})
    root = ET.fromstring(render_styles(config)[table].sld.encode())
    rules = list(root.iter(f"{{{SE}}}Rule"))
    for v in values:
        hits = [r.find(f"{{{SE}}}Name").text for r in rules if _matches(r, {field: v})]
        assert len(hits) == 1, (table, v, hits)
    if table == "grids":      # the band of the settings, not 300-500
        names = [r.find(f"{{{SE}}}Name").text for r in rules]
        assert names[0] == "below 320 households" and names[-1] == "above 480 households"
        assert [n for v in (319, 320, 480, 481)
                for n in names if _matches(rules[names.index(n)], {field: v})] == [
            "below 320 households", "320 to 360", "440 to 480", "above 480 households"]


def test_colours_are_the_maps():
    specs = style_specs()
    grids = [r["color"] for r in specs["grids"]["rules"]]
    assert grids == [style.HOUSEHOLD_COLORS["below"], *style.IN_RANGE_SHADES,
                     style.HOUSEHOLD_COLORS["above"]]
    beats = {r["label"]: r["color"] for r in specs["beats"]["rules"] if not r.get("else")}
    assert beats == dict(style.SEVERITY_COLORS)
    views = {c["value"]: c["color"] for c in specs["camera_views"]["categories"]}
    assert all(views[lv] == style.QUALITY_COLORS[lv] for lv in style.QUALITY_LEVELS[1:])
    assert specs["blind_spots"]["color"] == style.QUALITY_COLORS["blind"]
    risk = [r["color"] for r in specs["estate_risk"]["ranges"]]
    assert risk == [style.SEVERITY_COLORS[lv] for lv in style.SEVERITY_LEVELS]


# --------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------

def test_writing_is_idempotent_and_keeps_a_users_styles(tmp_path):
    path = tmp_path / "p.gpkg"
    shutil.copyfile(SAMPLE_PATH, path)
    assert write_layer_styles(path) == []                    # the sample is current
    before = path.read_bytes()
    assert write_layer_styles(path) == [] and path.read_bytes() == before
    # a user's own default style of the grids, saved by QGIS under another name
    rows = read_layer_styles(path)
    mine = rows[rows["f_table_name"] == "grids"].assign(styleName="mine", useAsDefault=True)
    rows.loc[rows["f_table_name"] == "grids", "useAsDefault"] = False
    import pandas as pd
    import pyogrio

    pyogrio.write_dataframe(pd.concat([rows, mine], ignore_index=True), path,
                            layer="layer_styles", driver="GPKG", layer_options={"FID": "id"})
    changed = write_layer_styles(path, config=default_config().replace(
        grids={"band": {"max_households": 450}}))
    assert changed == ["grids"]
    rows = read_layer_styles(path).set_index(["f_table_name", "styleName"])
    assert rows.loc[("grids", "mine"), "useAsDefault"]          # still the user's default
    assert not rows.loc[("grids", STYLE_NAME), "useAsDefault"]
    assert "above 450 households" in rows.loc[("grids", STYLE_NAME), "styleSLD"]
    assert len(rows) == 5


def test_derived_layers_are_styled_when_written(tmp_path):
    project = Project.sample(tmp_path / "p.gpkg")
    assert "camera_views" not in set(read_layer_styles(project.location)["f_table_name"])
    project.coverage.analyse(levels=False, save=True)   # the store styles what it adds
    styled = set(read_layer_styles(project.location)["f_table_name"])
    assert styled == {"grids", "beats", "estates", "cameras", "estate_risk", "camera_views",
                      "coverage_stats", "blind_spots"}
    assert write_layer_styles(project.location, config=project.config) == []  # current
    # the layers themselves are untouched
    assert len(project.layer("buildings")) == 2706
    assert len(project.coverage.derived("camera_views")) > 0


def test_a_new_project_is_styled_but_a_users_band_is_kept(tmp_path):
    from beatgrid.gis.io.gpkg import GeoPackageStore

    store = GeoPackageStore(tmp_path / "new.gpkg")
    store.create(crs=4490)
    assert set(read_layer_styles(store.path)["f_table_name"]) == {"grids", "beats", "estates",
                                                                  "cameras"}
    narrow = default_config().replace(grids={"band": {"max_households": 450}})
    assert write_layer_styles(store.path, config=narrow) == ["grids"]
    qml = read_layer_styles(store.path).set_index("f_table_name").at["grids", "styleQML"]
    store.write_derived({})                           # a later write adds, never resets
    assert read_layer_styles(store.path).set_index("f_table_name").at["grids",
                                                                       "styleQML"] == qml
    assert "450" in qml


def test_cli_styles(tmp_path, capsys):
    path = tmp_path / "p.gpkg"
    shutil.copyfile(SAMPLE_PATH, path)
    assert main(["styles", "--project", str(path)]) == 0
    out = capsys.readouterr().out
    assert "4 layer(s) styled" in out and "already current" in out
    assert main(["styles", "--project", "postgresql://u@h/db"]) == 2
    assert "styles are written into GeoPackage projects" in capsys.readouterr().err


# --------------------------------------------------------------------------------------
# QGIS itself, when installed
# --------------------------------------------------------------------------------------

def test_qgis_opens_the_project_and_draws_each_layer_styled(tmp_path, qgis_python):
    """QGIS (Debian's, headless) opens the sample, loads each layer's default style from
    ``layer_styles`` and draws it: the old estates red, the grids in their band colours,
    the cameras as arrows."""
    path = tmp_path / "p.gpkg"
    shutil.copyfile(SAMPLE_PATH, path)
    Project.open(path).grids.generate(communities=["C03", "C05", "C07"], save=True)
    out = Path(os.environ.get("BEATGRID_SCREENSHOT_DIR") or tmp_path) / "qgis"
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_RUNTIME_DIR=str(tmp_path))
    proc = subprocess.run([qgis_python, str(Path(__file__).with_name("qgis_render.py")),
                           str(path), str(out), "estates", "grids", "beats", "cameras"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    shown = json.loads(proc.stdout.strip().splitlines()[-1])
    for name in ("estates", "grids", "beats", "cameras"):
        assert shown[name]["loaded"], (name, shown[name])
        assert shown[name]["renderer"] == RENDERER[name], (name, shown[name])
    from PIL import Image

    def share(name, rgb, tol=40):
        pixels = np.asarray(Image.open(shown[name]["png"]).convert("RGB")).reshape(-1, 3)
        return float((np.abs(pixels.astype(int) - rgb).max(axis=1) <= tol).mean())

    red = (0xd7, 0x19, 0x1c)                    # the old estates' colour (styles.toml)
    # old estates: their red (blended at the style's opacity over white), and newer ones
    assert share("estates", np.array(red) * 0.25 + 255 * 0.75) > 0.005
    assert share("estates", np.array((0x55, 0x55, 0x55)) * 0.25 + 255 * 0.75) > 0.005
    # grids: more than one colour class drawn, and not only the "else" grey
    pixels = np.asarray(Image.open(shown["grids"]["png"]).convert("RGB")).reshape(-1, 3)
    colours = {tuple(c) for c in pixels[::7] // 16 * 16} - {(240, 240, 240)}
    assert len(colours) >= 3
    assert share("cameras", np.array((255, 255, 255)), tol=0) < 0.999   # arrows drawn
