"""The leadership summary as rows to show and as map layers: what the dashboard receives.

* :func:`beat_rows` and :func:`estate_rows`: the ranked tables with their display
  values (rules and staff to add in words, shares as percentages) in one language;
  the report prints the same rows.
* :func:`dashboard_data`: everything the dashboard page shows for a station and a
  language, as one JSON-ready mapping (``GET /dashboard/data``).
* :func:`map_layers`: the maps' layers as GeoJSON in EPSG:4326
  (``GET /dashboard/layers.geojson``); every feature carries its ``station_id`` so the
  page filters by station without asking again.

Examples
--------
>>> from beatgrid.gis import Project
>>> from beatgrid.layers.leadership import leadership_summary
>>> s = leadership_summary(Project.open("sample-geodata/ningbo-jiangbei.gpkg"),
...                        proposal_estates=1)
>>> beat_rows(s, lang="en")[0]["to_add"]
'1 officer, 2 auxiliaries and 4 floating-population managers'
>>> d = dashboard_data(s, station="S01", lang="zh")
>>> d["figures"]["beats"], d["labels"]["station"], len(d["findings"]) > 1
(7, '派出所', True)
>>> sorted(map_layers(s))[:3]
['beats', 'blind_spots', 'buildings']
"""

from __future__ import annotations

import json
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from beatgrid.gis.policing.rules import ROLES
from beatgrid.layers.leadership import LeadershipSummary
from beatgrid.layers.report_charts import PALETTE, percent, roles_chart, seen_chart
from beatgrid.layers.report_i18n import LANGS, labels_for, rule_label, severity_label
from beatgrid.layers.report_text import figure_cards, findings, to_add

__all__ = ["beat_rows", "estate_rows", "dashboard_data", "map_layers", "COORD_DECIMALS"]

#: Decimals kept in the maps' coordinates (1e-6 degree: about 0.1 m).
COORD_DECIMALS = 6


def _int(value: Any) -> int | None:
    return None if pd.isna(value) else int(value)


def beat_rows(summary: LeadershipSummary, *, station: str | None = None,
              lang: str) -> list[dict[str, Any]]:
    """The beats worst first, with display values: rules failed and staff to add."""
    rows = []
    for _, r in summary.beat_table(station).iterrows():
        rules = [x for x in str(r["failed_rules"]).split(";") if x]
        row: dict[str, Any] = {
            "rank": _int(r["severity_rank"]), "beat_id": str(r["beat_id"]),
            "name": str(r["name"]), "station_id": str(r["station_id"]),
            "severity": str(r["severity"]),
            "severity_text": severity_label(str(r["severity"]), lang),
            "failed_rules": rules, "rules_text": [rule_label(x, lang) for x in rules],
            "to_add": to_add(r, lang) if rules else "",
            "population_actual": _int(r["population_actual"]),
        }
        for role in ROLES:
            for k in ("required", "actual", "gap"):
                row[f"{role}_{k}"] = _int(r[f"{role}_{k}"])
        rows.append(row)
    return rows


def estate_rows(summary: LeadershipSummary, *, station: str | None = None,
                lang: str) -> list[dict[str, Any]]:
    """The old estates by risk, with the seen share and the proposed cameras' effect."""
    rows = []
    for _, r in summary.estate_table(station).iterrows():
        after = float(r["seen_share_after"])
        rows.append({
            "rank": _int(r["rank"]), "estate_id": str(r["estate_id"]), "name": str(r["name"]),
            "station_id": str(r["station_id"]), "risk_score": round(float(r["risk_score"]), 1),
            "seen_share": float(r["seen_share_all"]), "seen_text": percent(r["seen_share_all"]),
            "cameras_inside": int(r["cameras_inside"]), "households": int(r["households"]),
            "access": str(r["access"]),
            "preventable_incidents": int(r["preventable_incidents"]),
            "proposed_cameras": int(r["proposed_cameras"]),
            "seen_share_after": None if not np.isfinite(after) else after,
            "after_text": percent(after) if np.isfinite(after) else "",
        })
    return rows


def dashboard_data(summary: LeadershipSummary, *, station: str | None = None,
                   lang: str) -> dict[str, Any]:
    """What the dashboard shows for ``station`` (None: all) in ``lang``, JSON-ready."""
    station = summary.check_station(station)
    figures = summary.figures(station)
    return {
        "station": station, "lang": lang, "langs": list(LANGS),
        "stations": [{"id": str(i), "name": str(n)}
                     for i, n in zip(summary.stations["id"], summary.stations["name"])],
        "labels": labels_for(lang), "palette": dict(PALETTE),
        "figures": figures.as_dict(), "cards": figure_cards(figures, lang=lang),
        "beats": beat_rows(summary, station=station, lang=lang),
        "estates": estate_rows(summary, station=station, lang=lang),
        "charts": {"roles": roles_chart(figures, lang=lang),
                   "seen": seen_chart(summary, station=station, lang=lang)},
        "findings": [{"kind": f.kind, "subject": f.subject, "title": f.title,
                      "text": f.text, "level": f.level}
                     for f in findings(summary, station=station, lang=lang)],
        "notes": list(summary.notes), "project": summary.project,
        "computed_at": summary.computed_at,
    }


def _geojson(frame: gpd.GeoDataFrame, columns: list[str]) -> dict[str, Any]:
    """``frame``'s ``columns`` and geometry as a GeoJSON FeatureCollection in EPSG:4326."""
    keep = [c for c in columns if c in frame.columns]
    gdf = gpd.GeoDataFrame(frame[keep], geometry=frame.geometry.values, crs=frame.crs)
    if gdf.crs is not None and gdf.crs.to_epsg() != 4326:
        gdf = gdf.to_crs(4326)
    gdf = gdf[~gdf.geometry.is_empty & gdf.geometry.notna()]
    gdf = gdf.set_geometry(gdf.geometry.set_precision(10 ** -COORD_DECIMALS))
    out: dict[str, Any] = json.loads(gdf.to_json(na="null", drop_id=True))
    return out


def map_layers(summary: LeadershipSummary) -> dict[str, dict[str, Any]]:
    """The dashboard maps' layers: name -> GeoJSON FeatureCollection (EPSG:4326)."""
    beats = summary.beats.copy()
    beats["failed_rules"] = beats["failed_rules"].astype(str)
    est = summary.estates.copy()
    est["seen_share"] = est["seen_share_all"].astype(float)
    est["seen_text"] = est["seen_share_all"].map(percent)
    est["after_text"] = est["seen_share_after"].map(
        lambda v: percent(v) if np.isfinite(v) else "")
    props = summary.proposals.copy()
    props["station_id"] = props["estate_id"].map(
        dict(zip(summary.estates["estate_id"], summary.estates["station_id"])))
    stations = summary.stations.rename(columns={"id": "station_id"})
    spots = summary.blind_spots
    old_spots = spots[spots["zone_id"].astype(str).isin(set(summary.estates["estate_id"]))]
    return {
        "stations": _geojson(stations, ["station_id", "name"]),
        "beats": _geojson(beats, ["beat_id", "name", "station_id", "severity",
                                  "severity_rank", "failed_rules"]),
        "estates": _geojson(est, ["estate_id", "name", "station_id", "rank", "risk_score",
                                  "seen_share", "seen_text", "after_text",
                                  "proposed_cameras"]),
        "blind_spots": _geojson(old_spots, ["zone_id", "station_id", "area_m2"]),
        "cameras": _geojson(summary.cameras, ["id", "status", "station_id"]),
        "proposals": _geojson(props, ["id", "estate_id", "station_id", "kind",
                                      "direction"]),
        "streets": _geojson(summary.context["streets"], ["name", "street_class"]),
        "buildings": _geojson(summary.context["buildings"], []),
    }
