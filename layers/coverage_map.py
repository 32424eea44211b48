"""The camera coverage map: what is seen at each quality level, blind spots, old estates,
cameras and proposed cameras, in one offline HTML file.

Built on :mod:`beatgrid.layers.base` (inlined Leaflet, no tiles unless asked for) with the
colours of :mod:`beatgrid.layers.style` (quality levels in blues, blind spots in red, the
old-estate risk as severity).

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

from beatgrid.gis.crs import metric_crs

from . import base, style

__all__ = ["coverage_map", "save_coverage_map", "level_colors"]

_BLUES = ("#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c",
          "#08306b")
SEEN_COLOR = "#a6bddb"
PROPOSAL_COLOR = "#ff7f00"
CAMERA_COLOR = "#333333"


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
    from beatgrid.gis.coverage import SeenIndex

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
                 levels=None, title: str = "Camera coverage", tiles: str | None = None,
                 simplify_m: float = 0.3):
    """Build the coverage map (every argument optional; at least one layer needed).

    Parameters
    ----------
    views
        Camera views (``camera_id``, ``level``); drawn dissolved, one layer per level,
        the highest density on top.
    blind_spots
        Blind-spot polygons (red) with ``area_m2`` and ``households_around``.
    estate_risk
        The old-estate ranking (outlines coloured by risk score).
    estates
        Estates (outlines; old ones dashed red when no ranking is given).
    cameras, proposals
        Existing cameras (dark points) and proposed cameras (orange points).
    proposal_views
        Visible areas of the proposed cameras (orange).
    levels
        Level order (default: as in ``views``).
    title, tiles
        See :func:`beatgrid.layers.base.base_map` (no tiles by default: offline).
    simplify_m
        Simplify drawn polygons by this many metres (smaller HTML).

    Returns
    -------
    folium.Map
    """
    layers = [g for g in (views, blind_spots, estate_risk, estates, cameras, proposals)
              if g is not None and len(g)]
    if not layers:
        from beatgrid.gis.errors import InputError
        raise InputError("nothing to draw on the coverage map",
                         fix="pass camera views, blind spots, estates or cameras")
    frame = layers[0]
    m = base.base_map(frame.to_crs(4326), title=title, tiles=tiles)
    legend = []
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
        base.add_layer(m, blind_spots, name="Blind spots", color=style.quality_color("blind"),
                       tooltip_columns=tips, fill_opacity=0.5, weight=0.8)
        legend.append(("blind spot", style.quality_color("blind")))
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
    if proposal_views is not None and len(proposal_views):
        pv = proposal_views[proposal_views["level"] == "all"] if "level" in proposal_views \
            else proposal_views
        base.add_layer(m, pv, name="Proposed cameras: view", color=PROPOSAL_COLOR,
                       tooltip_columns=[c for c in ("camera_id",) if c in pv.columns],
                       fill_opacity=0.3, weight=1.0)
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
    if legend:
        base.add_legend(m, "Coverage", legend)
    return m


def save_coverage_map(path: str | Path, **kwargs) -> Path:
    """Build :func:`coverage_map` and write it as one offline HTML file."""
    return base.save_map(coverage_map(**kwargs), path)
