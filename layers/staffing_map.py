"""Offline maps of staffing gaps, multi-grid alignment and incident hotspots.

Built on :mod:`beatgrid.layers.base` (one self-contained HTML file, no basemap
unless asked for) with the colours of :mod:`beatgrid.layers.style`:

* :func:`staffing_map`: beats coloured by staffing severity (``ok`` .. ``critical``;
  grey for a beat ``not judged`` for missing data) with required versus actual for
  each role (``-`` where unknown) and the failed rules in the tooltip; police rooms
  as points, flagged rooms in purple;
* :func:`alignment_map`: beats outlined with their alignment score, governance
  grids filled green (aligned) or red (misaligned, with the households affected);
* :func:`hotspot_map`: the densest half of the kernel density cells in three
  quantile classes (top 50%, 25%, 10%), Gi* hot and cold spots.

Examples
--------
>>> from beatgrid.gis import Project
>>> from beatgrid.layers.base import map_html
>>> project = Project.open("sample-geodata/ningbo-jiangbei.gpkg")
>>> html = map_html(staffing_map(project.policing.assess()))
>>> "Officers required / actual" in html and "flagged police room" in html
True
>>> "Misaligned governance grids" in map_html(alignment_map(project.policing.align()))
True
"""

from __future__ import annotations

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from beatgrid.gis.errors import InputError
from beatgrid.gis.policing.alignment import AlignmentResult
from beatgrid.gis.policing.hotspots import HotspotResult
from beatgrid.gis.policing.rules import NOT_JUDGED
from beatgrid.gis.policing.staffing import StaffingResult
from beatgrid.layers import base, style

#: Colour of a misaligned governance grid / Gi* hot spot, aligned grid, cold spot.
MISALIGNED_COLOR = style.SEVERITY_COLORS["critical"]
ALIGNED_COLOR = style.SEVERITY_COLORS["ok"]
HOT_COLOR = style.SEVERITY_COLORS["critical"]
COLD_COLOR = style.CATEGORY_PALETTE[0]
FLAGGED_ROOM_COLOR = style.CATEGORY_PALETTE[4]


def staffing_map(result: StaffingResult | gpd.GeoDataFrame, *,
                 rooms: gpd.GeoDataFrame | None = None, tiles: str | None = None,
                 title: str | None = "Staffing gaps by beat") -> folium.Map:
    """Beats coloured by staffing severity; required versus actual in the tooltip.

    Parameters
    ----------
    result
        A :class:`beatgrid.gis.policing.staffing.StaffingResult` (or its ``beats``
        GeoDataFrame: the gap columns with beat polygons).
    rooms
        The ``police_rooms`` layer (default: the one the result assessed); the
        points are drawn with the flags of ``result.rooms`` when given.
    tiles, title
        As :func:`beatgrid.layers.base.base_map`.

    Returns
    -------
    folium.Map
        Save it with :func:`beatgrid.layers.base.save_map`.
    """
    beats = result.beats if isinstance(result, StaffingResult) else result
    if rooms is None and isinstance(result, StaffingResult):
        rooms = result.police_rooms
    if not isinstance(beats, gpd.GeoDataFrame) or len(beats) == 0:
        raise InputError("no beats to map", fix="assess a project with beats or communities")
    gdf = beats.copy()
    judged = gdf["severity"] != NOT_JUDGED
    gdf["__color"] = style.severity_color(gdf["severity"].where(judged, None))
    for role in ("officers", "auxiliaries", "floating_managers", "grid_workers"):
        gdf[f"{role}_rva"] = (_figure(gdf[f"{role}_required"]) + " / "
                              + _figure(gdf[f"{role}_actual"]))
    gdf["failed"] = gdf["failed_rules"].fillna("").str.replace(";", ", ")
    m = base.base_map(gdf, tiles=tiles, title=title)
    base.add_layer(m, gdf, name="Beats by staffing severity", color_column="__color",
                   fill_opacity=0.55, tooltip_columns={
                       "beat_id": "Beat", "name": "Name", "severity": "Severity",
                       "severity_rank": "Rank (1 = worst)",
                       "officers_rva": "Officers required / actual",
                       "auxiliaries_rva": "Auxiliaries required / actual",
                       "floating_managers_rva": "Floating managers required / actual",
                       "grid_workers_rva": "Grid workers required / actual",
                       "population_actual": "Population", "population_floating": "Floating",
                       "failed": "Failed rules"})
    if rooms is not None and len(rooms):
        r = rooms.copy()
        review = getattr(result, "rooms", None)
        r["flags"] = ""
        if review is not None and len(review):
            flags = review.dropna(subset=["room_id"]).set_index("room_id")["flags"]
            r["flags"] = r["id"].astype(str).map(flags).fillna("")
        r["__color"] = np.where(r["flags"] != "", FLAGGED_ROOM_COLOR, style.DEFAULT_COLOR)
        cols = {c: c.replace("_", " ") for c in ("id", "name", "room_type", "office_condition",
                                                 "flags") if c in r.columns}
        base.add_layer(m, r, name="Police rooms", color_column="__color", radius=5,
                       tooltip_columns=cols)
    items = style.severity_legend()
    if not judged.all():
        items = items + [(f"{NOT_JUDGED} (missing data)", style.MISSING_COLOR)]
    if rooms is not None and len(rooms):
        items = items + [("flagged police room", FLAGGED_ROOM_COLOR),
                         ("police room", style.DEFAULT_COLOR)]
    base.add_legend(m, "Staffing severity", items)
    return m


def _figure(values: pd.Series) -> pd.Series:
    """Counts as text, ``-`` where unknown (missing data)."""
    return values.map(lambda v: "-" if pd.isna(v) else str(int(v)))


def alignment_map(alignment: AlignmentResult, governance_grids: gpd.GeoDataFrame | None = None,
                  beats: gpd.GeoDataFrame | None = None, *, tiles: str | None = None,
                  title: str | None = "Multi-grid alignment") -> folium.Map:
    """Governance grids (aligned / misaligned) over beat outlines with their scores.

    Parameters
    ----------
    alignment
        :class:`beatgrid.gis.policing.alignment.AlignmentResult`.
    governance_grids, beats
        The polygons (``id``) the result refers to (default: those it keeps,
        ``alignment.governance_grids`` and ``alignment.beat_polygons``).
    """
    governance_grids = governance_grids if governance_grids is not None \
        else alignment.governance_grids
    beats = beats if beats is not None else alignment.beat_polygons
    if governance_grids is None or beats is None:
        raise InputError("the alignment result keeps no polygons to map",
                         fix="pass governance_grids= and beats=, or use align_project()")
    g = governance_grids.reset_index(drop=True).copy()
    info = alignment.grids.set_index("grid_id")
    g = g.join(info.drop(columns=[c for c in ("name", "department") if c in info.columns]),
               on=g["id"].astype(str).rename("grid_id"))
    g["__color"] = np.where(g["aligned"].fillna(False).astype(bool), ALIGNED_COLOR,
                            MISALIGNED_COLOR)
    g["share_pct"] = (100 * g["share"]).round(1)
    b = beats.reset_index(drop=True).copy()
    score = alignment.beats.set_index("beat_id")
    b["alignment_score"] = b["id"].astype(str).map(score["alignment_score"]).round(3)
    b["misaligned_grids"] = b["id"].astype(str).map(score["misaligned_grids"])
    m = base.base_map(g if len(g) else b, tiles=tiles, title=title)
    tips = {"id": "Grid", "department": "Department", "main_beat": "Main beat",
            "share_pct": "Share in main beat %", "households": "Households",
            "households_affected": "Households outside main beat"}
    ok = g["aligned"].fillna(False).astype(bool)
    base.add_layer(m, g[ok], name="Aligned governance grids", color_column="__color",
                   fill_opacity=0.3, weight=1.0, tooltip_columns=tips)
    # misaligned grids drawn on top of the aligned ones (departments' grids overlap)
    base.add_layer(m, g[~ok], name="Misaligned governance grids", color_column="__color",
                   fill_opacity=0.55, weight=2.0, tooltip_columns=tips)
    base.add_layer(m, b, name="Beats", color=style.CONTEXT_COLOR, fill_opacity=0.0, weight=2.5,
                   tooltip_columns={"id": "Beat", "alignment_score": "Alignment score",
                                    "misaligned_grids": "Misaligned grids"})
    base.add_legend(m, "Governance grids", [
        (f"aligned (>= {alignment.min_share:.0%} in one beat)", ALIGNED_COLOR),
        ("misaligned", MISALIGNED_COLOR), ("beat boundary", style.CONTEXT_COLOR)])
    return m


def hotspot_map(result: HotspotResult, *, tiles: str | None = None,
                title: str | None = "Incident hotspots") -> folium.Map:
    """Kernel density (quantile classes) and Gi* hot / cold spots.

    Parameters
    ----------
    result
        :class:`beatgrid.gis.policing.hotspots.HotspotResult`.
    """
    dens = result.density.copy()
    zones = result.zones.copy()
    m = base.base_map(zones, tiles=tiles, title=title)
    if len(dens):
        # the densest half of the cells, in three classes (the map stays light)
        levels = ("low", "medium", "high", "critical")
        q = np.quantile(dens["density_km2"], [0.5, 0.75, 0.9])
        cls = np.searchsorted(q, dens["density_km2"].to_numpy(), side="right")
        dens["level"] = np.array(levels, dtype=object)[cls]
        dens = dens[cls > 0]
        dens["__color"] = style.severity_color(dens["level"])
        dens["density"] = dens["density_km2"].round(1)
        base.add_layer(m, dens, name="Incident density (per km²)", color_column="__color",
                       fill_opacity=0.5, weight=0, highlight=False,
                       tooltip_columns={"density": "Incidents per km²", "level": "Class"})
    zones["__color"] = np.select([zones["hotspot"] == "hot", zones["hotspot"] == "cold"],
                                 [HOT_COLOR, COLD_COLOR], style.MISSING_COLOR)
    zones["gi_z"] = zones["gi_z"].round(2)
    sig = zones[zones["hotspot"] != "not significant"]
    base.add_layer(m, zones, name=f"{result.zone_kind.capitalize()} (Gi*)",
                   color=style.CONTEXT_COLOR, fill_opacity=0.0, weight=0.8,
                   tooltip_columns={"zone_id": "Zone", "value": "Incidents", "gi_z": "Gi* z",
                                    "p_sim": "p (permutations)", "hotspot": "Spot"})
    if len(sig):
        base.add_layer(m, sig, name="Gi* hot and cold spots", color_column="__color",
                       fill_opacity=0.25, weight=2.5,
                       tooltip_columns={"zone_id": "Zone", "value": "Incidents",
                                        "gi_z": "Gi* z", "p_sim": "p (permutations)",
                                        "confidence": "Confidence %", "hotspot": "Spot"})
    items = [(f"density: {label}", style.SEVERITY_COLORS[lv]) for lv, label in
             (("medium", "top 50%"), ("high", "top 25%"), ("critical", "top 10%"))]
    items += [("Gi* hot spot", HOT_COLOR), ("Gi* cold spot", COLD_COLOR)]
    base.add_legend(m, "Hotspots", items)
    return m


__all__ = ["staffing_map", "alignment_map", "hotspot_map"]
