"""The camera coverage map: what is seen at each quality level, blind spots, old estates,
cameras and proposed cameras, in one offline HTML file.

Built on :mod:`beatgrid.layers.base` (inlined Leaflet, no tiles unless asked for) with the
colours of :mod:`beatgrid.layers.style` (quality levels in blues, the old-estate risk as
severity outlines: green to red). Two colours are this map's own, so nothing on it
shares a colour with the risk outlines: blind spots in magenta (:data:`BLIND_COLOR`,
not the shared red of ``quality_color("blind")``, which a "risk critical" outline
would hide) and proposed cameras in teal (:data:`PROPOSAL_COLOR`, not the orange of
"risk high"). Streets (thin grey) and building footprints (light grey) are optional
context layers under everything, switched on and off in the layer control.

Examples
--------
>>> import geopandas as gpd, shapely
>>> from beatgrid.layers.coverage_map import coverage_map
>>> views = gpd.GeoDataFrame({"camera_id": ["c1", "c1"], "level": ["all", "detect"]},
...     geometry=[shapely.box(121.550, 29.880, 121.551, 29.881),
...               shapely.box(121.550, 29.880, 121.5505, 29.8805)], crs=4490)
>>> m = coverage_map(views=views, title="Coverage")
>>> from beatgrid.layers.base import map_html
>>> "Seen: detect" in map_html(m)
True
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from beatgrid.gis.coverage.seen import SeenIndex
from beatgrid.gis.crs import metric_crs
from beatgrid.gis.errors import InputError
from beatgrid.layers import base, style

__all__ = ["coverage_map", "save_coverage_map", "level_colors", "BLIND_COLOR",
           "PROPOSAL_COLOR", "STREET_COLOR", "BUILDING_COLOR"]

_BLUES = ("#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c",
          "#08306b")
SEEN_COLOR = "#a6bddb"
#: Blind spots: magenta (ColorBrewer PiYG), apart from the red of "risk critical".
BLIND_COLOR = "#d01c8b"
#: Proposed cameras and their views: teal (ColorBrewer Dark2), apart from "risk high".
PROPOSAL_COLOR = "#1b9e77"
CAMERA_COLOR = "#333333"
#: Context: street centre lines (thin grey) and building footprints (light grey).
STREET_COLOR = "#969696"
BUILDING_COLOR = "#bdbdbd"
BUILDING_FILL_OPACITY = 0.55


def level_colors(levels) -> dict:
    """Colour of each quality level: the shared DORI colours, else blues by rank.

    Examples
    --------
    >>> level_colors(["detect", "identify"])["identify"]
    '#08306b'
    >>> len(set(level_colors(["overview", "outline", "discern"]).values()))
    3
    """
    levels = list(levels)
    out = {}
    for k, name in enumerate(levels):
        key = "recognise" if name == "recognize" else name
        if key in style.QUALITY_COLORS and key != "blind":
            out[name] = style.QUALITY_COLORS[key]
        else:
            pos = 1 + round(k * (len(_BLUES) - 2) / max(len(levels) - 1, 1))
            out[name] = _BLUES[min(pos, len(_BLUES) - 1)]
    return out


def _dissolved(views: gpd.GeoDataFrame, levels, simplify_m: float) -> dict:
    crs = metric_crs(views, layer="camera_views")
    seen = SeenIndex(views, crs=crs, levels=levels, multi=False)
    out = {}
    for name in seen.levels:
        pieces = seen.pieces[name]
        if simplify_m > 0 and len(pieces):
            pieces = shapely.simplify(pieces, simplify_m)
        out[name] = gpd.GeoDataFrame({"level": [name] * len(pieces)},
                                     geometry=gpd.GeoSeries(pieces, crs=crs), crs=crs)
    return out


def coverage_map(*, views: gpd.GeoDataFrame | None = None,
                 blind_spots: gpd.GeoDataFrame | None = None,
                 estate_risk: gpd.GeoDataFrame | None = None,
                 estates: gpd.GeoDataFrame | None = None,
                 cameras: gpd.GeoDataFrame | None = None,
                 proposals: gpd.GeoDataFrame | None = None,
                 proposal_views: gpd.GeoDataFrame | None = None,
                 streets: gpd.GeoDataFrame | None = None,
                 buildings: gpd.GeoDataFrame | None = None,
                 levels=None, title: str = "Camera coverage", tiles: str | None = None,
                 simplify_m: float = 0.3, show_context: bool = True):
    """Build the coverage map (every argument optional; at least one layer needed).

    Parameters
    ----------
    views
        Camera views (``camera_id``, ``level``); drawn dissolved, one layer per level,
        the highest density on top.
    blind_spots
        Blind-spot polygons (magenta) with ``area_m2`` and ``households_around``.
    estate_risk
        The old-estate ranking (outlines coloured by risk score).
    estates
        Estates (outlines; old ones dashed red when no ranking is given).
    cameras, proposals
        Existing cameras (dark points) and proposed cameras (teal points).
    proposal_views
        Visible areas of the proposed cameras (teal).
    streets, buildings
        Context layers drawn under everything: street lines (thin grey) and building
        footprints (light grey, with their households on hover); each one can be
        switched off in the layer control.
    levels
        Level order (default: as in ``views``).
    title, tiles
        See :func:`beatgrid.layers.base.base_map` (no tiles by default: offline).
    simplify_m
        Simplify drawn polygons by this many metres (smaller HTML).
    show_context
        Whether the context layers are switched on when the map opens.

    Returns
    -------
    folium.Map
    """
    layers = [g for g in (views, blind_spots, estate_risk, estates, cameras, proposals)
              if g is not None and len(g)]
    if not layers:
        raise InputError("nothing to draw on the coverage map",
                         fix="pass camera views, blind spots, estates or cameras")
    frame = layers[0]
    m = base.base_map(frame.to_crs(4326), title=title, tiles=tiles)
    legend, context = [], []
    if buildings is not None and len(buildings):
        tips = {c: lab for c, lab in (("id", "Building"), ("households", "Households"))
                if c in buildings.columns}
        base.add_layer(m, buildings[[*tips, buildings.geometry.name]], name="Buildings",
                       color=BUILDING_COLOR, tooltip_columns=tips,
                       fill_opacity=BUILDING_FILL_OPACITY, weight=0.5, highlight=False,
                       show=show_context)
        context.append(("building", BUILDING_COLOR))
    if streets is not None and len(streets):
        tips = {"name": "Street"} if "name" in streets.columns else []
        base.add_layer(m, streets[[*tips, streets.geometry.name]], name="Streets",
                       color=STREET_COLOR, tooltip_columns=tips, weight=1.0, opacity=0.8,
                       highlight=False, show=show_context)
        context.append(("street", STREET_COLOR))
    if views is not None and len(views):
        order = levels or [lv for lv in dict.fromkeys(views["level"].astype(str)) if lv != "all"]
        colors = level_colors(order)
        dissolved = _dissolved(views, order, simplify_m)
        base.add_layer(m, dissolved["all"], name="Seen (any quality)", color=SEEN_COLOR,
                       tooltip_columns={"level": "Level"}, fill_opacity=0.35, weight=0.5)
        legend.append(("seen", SEEN_COLOR))
        for name in order:
            if name in dissolved:
                base.add_layer(m, dissolved[name], name=f"Seen: {name}", color=colors[name],
                               tooltip_columns={"level": "Level"}, fill_opacity=0.45,
                               weight=0.5)
                legend.append((name, colors[name]))
    if blind_spots is not None and len(blind_spots):
        tips = {c: lab for c, lab in (("id", "Blind spot"), ("zone_id", "Zone"),
                                      ("area_m2", "Area (m2)"),
                                      ("households_around", "Households around"))
                if c in blind_spots.columns}
        base.add_layer(m, blind_spots, name="Blind spots", color=BLIND_COLOR,
                       tooltip_columns=tips, fill_opacity=0.45, weight=1.0)
        legend.append(("blind spot", BLIND_COLOR))
    if proposal_views is not None and len(proposal_views):
        pv = proposal_views[proposal_views["level"] == "all"] if "level" in proposal_views \
            else proposal_views
        base.add_layer(m, pv, name="Proposed cameras: view", color=PROPOSAL_COLOR,
                       tooltip_columns=[c for c in ("camera_id",) if c in pv.columns],
                       fill_opacity=0.6, weight=1.0)
    if estate_risk is not None and len(estate_risk):
        r = estate_risk.copy()
        score = r["risk_score"].to_numpy(float)
        r["color"] = style.severity_value_color(score, thresholds=(20.0, 40.0, 60.0, 80.0))
        tips = {c: c.replace("_", " ") for c in (
            "rank", "estate_id", "name", "risk_score", "seen_share_all", "cameras_inside",
            "households", "access", "access_doors", "stairwells", "preventable_incidents",
            "population_floating") if c in r.columns}
        base.add_layer(m, r, name="Old estates (risk)", color_column="color",
                       tooltip_columns=tips, fill_opacity=0.0, weight=3.0)
        legend.extend([(f"risk {lv}", style.severity_color(lv))
                       for lv in ("low", "medium", "high", "critical")])
    elif estates is not None and len(estates):
        e = estates.copy()
        old = e["is_old"].fillna(False).astype(bool) if "is_old" in e.columns else False
        e["color"] = np.where(old, style.SEVERITY_COLORS["critical"], style.CONTEXT_COLOR)
        base.add_layer(m, e, name="Estates (old in red)", color_column="color",
                       tooltip_columns=[c for c in ("id", "name", "is_old") if c in e.columns],
                       fill_opacity=0.0, weight=2.0)
    if cameras is not None and len(cameras):
        base.add_layer(m, cameras, name="Cameras", color=CAMERA_COLOR, radius=3,
                       tooltip_columns=[c for c in ("id", "kind", "direction", "range_m")
                                        if c in cameras.columns])
        legend.append(("camera", CAMERA_COLOR))
    if proposals is not None and len(proposals):
        base.add_layer(m, proposals, name="Proposed cameras", color=PROPOSAL_COLOR, radius=6,
                       tooltip_columns=[c for c in ("id", "rank", "kind", "direction",
                                                    "fov_deg", "range_m", "gain",
                                                    "estate_id") if c in proposals.columns])
        legend.append(("proposed camera", PROPOSAL_COLOR))
    if legend or context:
        base.add_legend(m, "Coverage", legend + context[::-1])
    return m


def save_coverage_map(path: str | Path, **kwargs) -> Path:
    """Build :func:`coverage_map` and write it as one offline HTML file."""
    return base.save_map(coverage_map(**kwargs), path)
