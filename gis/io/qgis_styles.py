"""QGIS layer styles in a GeoPackage project: the ``layer_styles`` table, QML and SLD.

A planner who opens a BeatGrid project in QGIS sees its layers styled: QGIS loads the
default style of each layer from the GeoPackage table ``layer_styles`` (QGIS's own
schema: ``f_table_catalog``, ``f_table_schema``, ``f_table_name``,
``f_geometry_column``, ``styleName``, ``styleQML``, ``styleSLD``, ``useAsDefault``,
``description``, ``owner``, ``ui``, ``update_time``). The styles are described once, in
``styles.toml`` of the package :mod:`beatgrid.layers.styles` (colours of the maps,
renderer per layer), and rendered here as QML (QGIS) and SLD 1.1 (GeoServer, other
GIS) with the project's settings: the basic grids by households within the band of
the grids settings, the beats by staffing severity, the camera views by quality
level, the coverage figures, the blind spots, the old estates by risk, the cameras and
the proposed cameras as arrows turned to their direction.

:func:`write_layer_styles` writes a row per styled table the project holds (layers and
derived layers not there yet are left out: run it again after ``beatgrid coverage``)
under the style name :data:`STYLE_NAME`. It is idempotent: styles of other names (a
user's own) are kept, ours replaced, and a file whose styles are already current is not
touched. ``beatgrid styles --project P`` calls it.

Examples
--------
>>> import shutil, tempfile, os
>>> from beatgrid.gis.config import default_config
>>> path = os.path.join(tempfile.mkdtemp(), "p.gpkg")
>>> _ = shutil.copyfile("sample-geodata/ningbo-jiangbei.gpkg", path)
>>> write_layer_styles(path)            # the sample ships with its styles: nothing to do
[]
>>> styles = read_layer_styles(path)
>>> styles["f_table_name"].tolist()[:2], set(styles["styleName"]), bool(styles["useAsDefault"].all())
(['grids', 'beats'], {'BeatGrid'}, True)
>>> write_layer_styles(path, config=default_config().replace(grids={"band": {"min_households": 250}}))
['grids']
"""

from __future__ import annotations

import datetime as dt
import tomllib
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import pyogrio

from beatgrid.gis.config import Config, default_config
from beatgrid.gis.errors import InputError
from beatgrid.gis.grids.band import band_from_settings
from beatgrid.gis.io.gpkg_files import atomic_replace, check_header, reading

__all__ = ["STYLES_PACKAGE", "STYLE_NAME", "STYLE_COLUMNS", "TABLE", "Style", "style_specs",
           "render_styles", "write_layer_styles", "read_layer_styles"]

#: The package holding ``styles.toml``.
STYLES_PACKAGE = "beatgrid.layers.styles"
#: Name of BeatGrid's styles in ``layer_styles`` (other names are a user's and kept).
STYLE_NAME = "BeatGrid"
#: QGIS's style table in a GeoPackage.
TABLE = "layer_styles"
#: Its columns, as QGIS creates them (QgsOgrUtils::saveStyle).
STYLE_COLUMNS = ("f_table_catalog", "f_table_schema", "f_table_name", "f_geometry_column",
                 "styleName", "styleQML", "styleSLD", "useAsDefault", "description", "owner",
                 "ui", "update_time")
#: The QGIS version the QML is written for (Debian bookworm's; later ones read it).
QGIS_VERSION = "3.22.16-Białowieża"
#: Millimetres (QGIS symbol units) to pixels (SLD units) at 96 dpi.
PX_PER_MM = 3.78
_OPS = {"<": ("<", "PropertyIsLessThan"), "<=": ("<=", "PropertyIsLessThanOrEqualTo"),
        ">": (">", "PropertyIsGreaterThan"), ">=": (">=", "PropertyIsGreaterThanOrEqualTo"),
        "=": ("=", "PropertyIsEqualTo"), "!=": ("<>", "PropertyIsNotEqualTo")}
_SLD = "http://www.opengis.net/sld"
_SE = "http://www.opengis.net/se"
_OGC = "http://www.opengis.net/ogc"
_XSI = "http://www.w3.org/2001/XMLSchema-instance"
for _prefix, _uri in (("", _SLD), ("se", _SE), ("ogc", _OGC), ("xsi", _XSI),
                      ("xlink", "http://www.w3.org/1999/xlink")):
    ET.register_namespace(_prefix, _uri)


@dataclass(frozen=True)
class Style:
    """One table's style: QML (QGIS), SLD 1.1 and a title.

    Examples
    --------
    >>> s = render_styles()["blind_spots"]
    >>> s.renderer, s.qml.startswith("<!DOCTYPE qgis"), "<se:PolygonSymbolizer>" in s.sld
    ('singleSymbol', True, True)
    """

    table: str
    title: str
    renderer: str
    qml: str
    sld: str


def style_specs() -> dict[str, dict[str, Any]]:
    """The table specs of ``styles.toml`` (:data:`STYLES_PACKAGE`), as shipped.

    Examples
    --------
    >>> sorted(style_specs())[:3]
    ['beats', 'blind_spots', 'camera_proposals']
    """
    text = resources.files(STYLES_PACKAGE).joinpath("styles.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def _context(config: Config) -> dict[str, Any]:
    """The values the specs' ``{names}`` take: the household band and its shades."""
    band = band_from_settings(config.grids)
    step = (band.hi - band.lo) / 4
    ctx: dict[str, Any] = {"min_households": band.lo, "max_households": band.hi}
    for k in (1, 2, 3):
        ctx[f"in_range_{k}"] = int(round(band.lo + k * step))
    return ctx


def _fill(value: Any, ctx: Mapping[str, Any]) -> Any:
    """A spec value with its ``{names}`` filled in (a number stays a number)."""
    if not isinstance(value, str) or "{" not in value:
        return value
    text = value.format(**ctx)
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() else number


def _rgba(color: str, opacity: float = 1.0) -> str:
    """``#rrggbb`` as QGIS's ``r,g,b,a``."""
    h = color.lstrip("#")
    if len(h) != 6:
        raise InputError(f"style colour {color!r} is not #rrggbb",
                         fix="write colours as #rrggbb in styles.toml")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"{r},{g},{b},{round(255 * max(0.0, min(1.0, opacity)))}"


# --------------------------------------------------------------------------------------
# QML
# --------------------------------------------------------------------------------------

def _options(parent: ET.Element, props: Mapping[str, str]) -> None:
    """Symbol layer properties, both as ``<Option>`` (QGIS >= 3.26) and ``<prop>``."""
    opt = ET.SubElement(parent, "Option", type="Map")
    for k, v in props.items():
        ET.SubElement(opt, "Option", name=k, type="QString", value=v)
    for k, v in props.items():
        ET.SubElement(parent, "prop", k=k, v=v)


def _data_defined(parent: ET.Element, rotation: str | None = None) -> None:
    dd = ET.SubElement(parent, "data_defined_properties")
    opt = ET.SubElement(dd, "Option", type="Map")
    ET.SubElement(opt, "Option", name="name", type="QString", value="")
    props = ET.SubElement(opt, "Option", name="properties")
    if rotation:
        props.set("type", "Map")
        angle = ET.SubElement(props, "Option", name="angle", type="Map")
        ET.SubElement(angle, "Option", name="active", type="bool", value="true")
        ET.SubElement(angle, "Option", name="field", type="QString", value=rotation)
        ET.SubElement(angle, "Option", name="type", type="int", value="2")
    ET.SubElement(opt, "Option", name="type", type="QString", value="collection")


def _qml_symbol(parent: ET.Element, name: str, spec: Mapping[str, Any], paint: Mapping[str, Any],
                *, level: int = 0) -> None:
    """One QGIS symbol: a simple fill, or a simple marker (an arrow turned by a field)."""
    color = paint.get("color", spec.get("color", "#3b6fb6"))
    opacity = float(paint.get("opacity", spec.get("opacity", 1.0)))
    stroke = paint.get("stroke", spec.get("stroke", color))
    width = float(paint.get("stroke_width", spec.get("stroke_width", 0.26)))
    kind = spec["symbol"]
    sym = ET.SubElement(parent, "symbol", type=kind, name=name, alpha="1",
                        clip_to_extent="1", force_rhr="0")
    _data_defined(sym)
    layer = ET.SubElement(sym, "layer", {"class": "SimpleFill" if kind == "fill"
                                         else "SimpleMarker", "enabled": "1", "locked": "0",
                                         "pass": str(level)})
    if kind == "fill":
        _options(layer, {
            "border_width_map_unit_scale": "3x:0,0,0,0,0,0", "color": _rgba(color, opacity),
            "joinstyle": "bevel", "offset": "0,0", "offset_map_unit_scale": "3x:0,0,0,0,0,0",
            "offset_unit": "MM", "outline_color": _rgba(stroke),
            "outline_style": "solid" if width > 0 else "no", "outline_width": f"{width:g}",
            "outline_width_unit": "MM", "style": "solid"})
        _data_defined(layer)
    else:
        _options(layer, {
            "angle": "0", "color": _rgba(color, opacity), "horizontal_anchor_point": "1",
            "joinstyle": "bevel", "name": "arrow", "offset": "0,0",
            "offset_map_unit_scale": "3x:0,0,0,0,0,0", "offset_unit": "MM",
            "outline_color": _rgba(stroke), "outline_style": "solid",
            "outline_width": f"{width:g}", "outline_width_unit": "MM",
            "scale_method": "diameter", "size": f"{float(spec.get('size', 3.0)):g}",
            "size_map_unit_scale": "3x:0,0,0,0,0,0", "size_unit": "MM",
            "vertical_anchor_point": "1"})
        _data_defined(layer, spec.get("rotation"))


def _expression(where: Sequence[Sequence[Any]]) -> str:
    """QGIS expression of AND-ed ``[field, op, value]`` conditions."""
    parts = []
    for field, op, value in where:
        literal = _literal(value, quote="'")
        parts.append(f'"{field}" {_OPS[op][0]} {literal}')
    return " AND ".join(parts)


def _qml(table: str, spec: Mapping[str, Any], ctx: Mapping[str, Any]) -> tuple[str, str]:
    """(QML document, renderer type) of one table."""
    root = ET.Element("qgis", version=QGIS_VERSION, styleCategories="Symbology")
    kind = spec["renderer"]
    levels = "1" if kind == "categories" else "0"
    renderer = ET.Element("renderer-v2", symbollevels=levels, enableorderby="0",
                          forceraster="0", referencescale="-1")
    root.append(renderer)
    symbols = ET.Element("symbols")
    if kind == "rules":
        renderer.set("type", "RuleRenderer")
        rules = ET.SubElement(renderer, "rules", key=f"{{beatgrid-{table}}}")
        for i, rule in enumerate(spec["rules"]):
            filt = "ELSE" if rule.get("else") else _expression(
                [[f, op, _fill(v, ctx)] for f, op, v in rule["where"]])
            ET.SubElement(rules, "rule", key=f"{{beatgrid-{table}-{i}}}", symbol=str(i),
                          label=str(_fill(rule["label"], ctx)), filter=filt)
            _qml_symbol(symbols, str(i), spec, rule)
        renderer.append(symbols)
    elif kind == "categories":
        renderer.set("type", "categorizedSymbol")
        renderer.set("attr", spec["field"])
        cats = ET.SubElement(renderer, "categories")
        for i, cat in enumerate(spec["categories"]):
            ET.SubElement(cats, "category", render="true", value=str(cat["value"]),
                          symbol=str(i), label=str(cat["label"]))
            _qml_symbol(symbols, str(i), spec, cat, level=i)
        renderer.append(symbols)
        _source_symbol(renderer, spec)
    elif kind == "ranges":
        renderer.set("type", "graduatedSymbol")
        renderer.set("attr", spec["field"])
        renderer.set("graduatedMethod", "GraduatedColor")
        ranges = ET.SubElement(renderer, "ranges")
        for i, rng in enumerate(spec["ranges"]):
            ET.SubElement(ranges, "range", render="true", symbol=str(i),
                          lower=f"{float(rng['lower']):.15f}", upper=f"{float(rng['upper']):.15f}",
                          label=str(rng["label"]))
            _qml_symbol(symbols, str(i), spec, rng)
        renderer.append(symbols)
        _source_symbol(renderer, spec)
        method = ET.SubElement(renderer, "classificationMethod", id="Manual")
        ET.SubElement(method, "symmetricMode", enabled="0", symmetrypoint="0", astride="0")
        ET.SubElement(method, "labelFormat", format="%1 - %2", labelprecision="2",
                      trimtrailingzeroes="1")
        ET.SubElement(method, "parameters")
        ET.SubElement(method, "extraInformation")
    elif kind == "single":
        renderer.set("type", "singleSymbol")
        _qml_symbol(symbols, "0", spec, spec)
        renderer.append(symbols)
    else:
        raise InputError(f"styles.toml [{table}]: renderer {kind!r} is unknown",
                         fix="use rules, categories, ranges or single")
    ET.SubElement(renderer, "rotation")
    ET.SubElement(renderer, "sizescale")
    for tag, text in (("blendMode", "0"), ("featureBlendMode", "0"), ("layerOpacity", "1")):
        ET.SubElement(root, tag).text = text
    ET.indent(root)
    qml = ("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
           + ET.tostring(root, encoding="unicode") + "\n")
    return qml, renderer.get("type", "")


def _source_symbol(renderer: ET.Element, spec: Mapping[str, Any]) -> None:
    src = ET.SubElement(renderer, "source-symbol")
    _qml_symbol(src, "0", spec, {"color": "#9e9e9e"})


# --------------------------------------------------------------------------------------
# SLD
# --------------------------------------------------------------------------------------

def _q(ns: str, tag: str) -> str:
    return f"{{{ns}}}{tag}"


def _svg(parent: ET.Element, name: str, value: str) -> None:
    ET.SubElement(parent, _q(_SE, "SvgParameter"), name=name).text = value


def _sld_filter(rule: ET.Element, where: Sequence[Sequence[Any]]) -> None:
    filt = ET.SubElement(rule, _q(_OGC, "Filter"))
    target = ET.SubElement(filt, _q(_OGC, "And")) if len(where) > 1 else filt
    for field, op, value in where:
        cmp = ET.SubElement(target, _q(_OGC, _OPS[op][1]))
        ET.SubElement(cmp, _q(_OGC, "PropertyName")).text = str(field)
        ET.SubElement(cmp, _q(_OGC, "Literal")).text = _literal(value, quote="")


def _literal(value: Any, *, quote: str) -> str:
    """``value`` written as an expression literal: booleans as ``true``/``false`` (QGIS
    reads a GeoPackage boolean column as a boolean, which never equals 1), numbers
    compactly, text between ``quote``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return f"{quote}{value}{quote}" if isinstance(value, str) else str(value)


def _sld_symbolizer(rule: ET.Element, spec: Mapping[str, Any], paint: Mapping[str, Any]) -> None:
    color = paint.get("color", spec.get("color", "#3b6fb6"))
    opacity = float(paint.get("opacity", spec.get("opacity", 1.0)))
    stroke = paint.get("stroke", spec.get("stroke", color))
    width = float(paint.get("stroke_width", spec.get("stroke_width", 0.26)))
    if spec["symbol"] == "fill":
        sym = ET.SubElement(rule, _q(_SE, "PolygonSymbolizer"))
        fill = ET.SubElement(sym, _q(_SE, "Fill"))
        _svg(fill, "fill", color)
        _svg(fill, "fill-opacity", f"{opacity:g}")
        if width > 0:
            line = ET.SubElement(sym, _q(_SE, "Stroke"))
            _svg(line, "stroke", stroke)
            _svg(line, "stroke-width", f"{max(1, round(width * PX_PER_MM))}")
        return
    sym = ET.SubElement(rule, _q(_SE, "PointSymbolizer"))
    graphic = ET.SubElement(sym, _q(_SE, "Graphic"))
    mark = ET.SubElement(graphic, _q(_SE, "Mark"))
    ET.SubElement(mark, _q(_SE, "WellKnownName")).text = "triangle"
    fill = ET.SubElement(mark, _q(_SE, "Fill"))
    _svg(fill, "fill", color)
    line = ET.SubElement(mark, _q(_SE, "Stroke"))
    _svg(line, "stroke", stroke)
    _svg(line, "stroke-width", f"{max(1, round(width * PX_PER_MM))}")
    ET.SubElement(graphic, _q(_SE, "Size")).text = \
        f"{round(float(spec.get('size', 3.0)) * PX_PER_MM)}"
    if spec.get("rotation"):
        rot = ET.SubElement(graphic, _q(_SE, "Rotation"))
        ET.SubElement(rot, _q(_OGC, "PropertyName")).text = spec["rotation"]


def _sld(table: str, spec: Mapping[str, Any], ctx: Mapping[str, Any], title: str) -> str:
    """SLD 1.1 (Symbology Encoding) of one table: one rule per class."""
    root = ET.Element(_q(_SLD, "StyledLayerDescriptor"), version="1.1.0")
    root.set(_q(_XSI, "schemaLocation"),
             f"{_SLD} http://schemas.opengis.net/sld/1.1.0/StyledLayerDescriptor.xsd")
    named = ET.SubElement(root, _q(_SLD, "NamedLayer"))
    ET.SubElement(named, _q(_SE, "Name")).text = table
    user = ET.SubElement(named, _q(_SLD, "UserStyle"))
    ET.SubElement(user, _q(_SE, "Name")).text = table
    desc = ET.SubElement(user, _q(_SE, "Description"))
    ET.SubElement(desc, _q(_SE, "Title")).text = title
    fts = ET.SubElement(user, _q(_SE, "FeatureTypeStyle"))
    kind = spec["renderer"]
    classes: list[tuple[str, list[list[Any]] | None, Mapping[str, Any]]] = []
    if kind == "rules":
        for rule in spec["rules"]:
            where = None if rule.get("else") else \
                [[f, op, _fill(v, ctx)] for f, op, v in rule["where"]]
            classes.append((str(_fill(rule["label"], ctx)), where, rule))
    elif kind == "categories":
        classes = [(str(c["label"]), [[spec["field"], "=", c["value"]]], c)
                   for c in spec["categories"]]
    elif kind == "ranges":
        last = len(spec["ranges"]) - 1
        classes = [(str(r["label"]), [[spec["field"], ">=", float(r["lower"])],
                                      [spec["field"], "<=" if i == last else "<",
                                       float(r["upper"])]], r)
                   for i, r in enumerate(spec["ranges"])]
    else:
        classes = [(title, [], spec)]
    for label, where, paint in classes:
        rule_el = ET.SubElement(fts, _q(_SE, "Rule"))
        ET.SubElement(rule_el, _q(_SE, "Name")).text = label
        d = ET.SubElement(rule_el, _q(_SE, "Description"))
        ET.SubElement(d, _q(_SE, "Title")).text = label
        if where is None:
            ET.SubElement(rule_el, _q(_SE, "ElseFilter"))
        elif where:
            _sld_filter(rule_el, where)
        _sld_symbolizer(rule_el, spec, paint)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") \
        + "\n"


def render_styles(config: Config | None = None) -> dict[str, Style]:
    """Every table's :class:`Style`, with the project's settings filled in.

    Examples
    --------
    >>> from beatgrid.gis.config import default_config
    >>> grids = render_styles(default_config().replace(grids={"band": {"min_households": 320}}))["grids"]
    >>> grids.renderer, "below 320 households" in grids.sld, grids.title
    ('RuleRenderer', True, 'Basic grids by households within the band 320-500')
    """
    ctx = _context(config if config is not None else default_config())
    out = {}
    for table, spec in style_specs().items():
        title = str(_fill(spec["title"], ctx))
        qml, renderer = _qml(table, spec, ctx)
        out[table] = Style(table=table, title=title, renderer=renderer, qml=qml,
                           sld=_sld(table, spec, ctx, title))
    return out


# --------------------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------------------

def read_layer_styles(path: str | Path) -> pd.DataFrame:
    """The ``layer_styles`` table of a GeoPackage (empty, with its columns, when absent).

    Examples
    --------
    >>> read_layer_styles("sample-geodata/ningbo-jiangbei.gpkg")["f_table_name"].tolist()
    ['grids', 'beats', 'estates', 'cameras']
    """
    path = Path(path)
    check_header(path)
    with reading(path):
        names = {str(n) for n, _ in pyogrio.list_layers(path)}
    if TABLE not in names:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in STYLE_COLUMNS})
    with reading(path, layer=TABLE):
        df = pyogrio.read_dataframe(path, layer=TABLE, read_geometry=False)
    return pd.DataFrame(df)


def _geometry_columns(path: Path, tables: Sequence[str]) -> dict[str, str]:
    """Geometry column of each spatial table present (QGIS keys styles by it)."""
    with reading(path):
        present = {str(n): g for n, g in pyogrio.list_layers(path)}
    out = {}
    for table in tables:
        if table in present and present[table]:
            with reading(path, layer=table):
                out[table] = str(pyogrio.read_info(path, layer=table)["geometry_name"] or "geom")
    return out


def _rows(path: Path, config: Config | None, old: pd.DataFrame, *, missing_only: bool
          ) -> tuple[pd.DataFrame, list[str]]:
    """The table with BeatGrid's styles of the tables present; the tables (re)styled."""
    styles = render_styles(config)
    geoms = _geometry_columns(path, list(styles))
    now = pd.Timestamp(dt.datetime.now(dt.UTC)).floor("ms")
    rows = old[list(STYLE_COLUMNS)].copy() if len(old) else pd.DataFrame(columns=STYLE_COLUMNS)
    changed = []
    for table, geom in geoms.items():
        s = styles[table]
        ours = (rows["f_table_name"] == table) & (rows["styleName"] == STYLE_NAME)
        theirs_default = ((rows["f_table_name"] == table) & ~ours
                          & rows["useAsDefault"].fillna(False).astype(bool)).any()
        new = {"f_table_catalog": "", "f_table_schema": "", "f_table_name": table,
               "f_geometry_column": geom, "styleName": STYLE_NAME, "styleQML": s.qml,
               "styleSLD": s.sld, "useAsDefault": not theirs_default, "description": s.title,
               "owner": "", "ui": None, "update_time": now}
        if ours.any() and missing_only:
            continue
        if ours.any():
            i = rows.index[ours][0]
            same = all(rows.at[i, k] == new[k] for k in ("f_geometry_column", "styleQML",
                                                         "styleSLD", "useAsDefault",
                                                         "description"))
            if same:
                continue
            for k, v in new.items():
                rows.at[i, k] = v
        else:
            rows = pd.concat([rows, pd.DataFrame([new])], ignore_index=True)
        changed.append(table)
    return rows, changed


def write_layer_styles(path: str | Path, *, config: Config | None = None,
                       atomic: bool = True, missing_only: bool = False) -> list[str]:
    """Write BeatGrid's QGIS styles of the tables ``path`` holds into ``layer_styles``.

    Parameters
    ----------
    path
        A GeoPackage project.
    config
        The project's configuration (the household band of the grid style; default
        the shipped settings).
    atomic
        Write into a copy that replaces the file when done (the store's rule). False
        writes in place: for a caller already writing into a temporary copy (the
        store, inside its own ``atomic_replace``).
    missing_only
        Style only the tables that have no BeatGrid style yet, leaving the others as
        they are (what the store does when it creates a project or writes a derived
        layer; ``beatgrid styles`` rewrites them all from the project's settings).

    Returns
    -------
    list of str
        The tables whose style was written or changed (empty: already current, the
        file untouched).

    Examples
    --------
    >>> import shutil, tempfile, os
    >>> from beatgrid.gis.config import default_config
    >>> path = os.path.join(tempfile.mkdtemp(), "p.gpkg")
    >>> _ = shutil.copyfile("sample-geodata/ningbo-jiangbei.gpkg", path)
    >>> write_layer_styles(path, config=default_config().replace(grids={"band": {"max_households": 450}}))
    ['grids']
    """
    path = Path(path)
    old = read_layer_styles(path)
    rows, changed = _rows(path, config, old, missing_only=missing_only)
    if not changed:
        return []
    rows = rows.reset_index(drop=True)
    rows["useAsDefault"] = rows["useAsDefault"].fillna(False).astype(bool)
    rows["update_time"] = pd.to_datetime(rows["update_time"], utc=True)
    if atomic:
        with atomic_replace(path, copy=True) as tmp:
            _write(tmp, rows)
    else:
        _write(path, rows)
    return changed


def _write(path: Path, rows: pd.DataFrame) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        pyogrio.write_dataframe(rows, path, layer=TABLE, driver="GPKG",
                                layer_options={"FID": "id"})
