"""Merging the partitions' results into the whole project's (as one run would give).

What is computed per zone, beat or camera is simply gathered and put back in the
single run's order; the few figures that look across the whole project are redone
here, once, from the gathered ones:

* grids: the partitions' plans are merged (:func:`~beatgrid.gis.grids.partition.
  merge_plans`) and applied to the project's layers
  (:func:`~beatgrid.gis.grids.apply.apply_plan`); the summary is recomputed from the
  gathered per-grid metrics;
* coverage: the blind spots are numbered again, largest first; the old-estate risk
  normalises the preventable-incident rate by the largest of *all* ranked estates, so
  that component, the score and the rank are recomputed (:func:`rerank_estate_risk`);
* staffing: ``severity_rank`` orders every beat of the project (:func:`rerank_beats`).

Examples
--------
>>> import pandas as pd
>>> g = pd.DataFrame({"beat_id": ["B2", "B1"], "rules_failed": [1, 0], "severity": ["high", "ok"],
...                   "severity_score": [0.5, 0.0], "population_actual": [10, 20],
...                   "severity_rank": [1, 1]})
>>> rerank_beats(g)[["beat_id", "severity_rank"]].values.tolist()
[['B1', 2], ['B2', 1]]
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from beatgrid.gis.grids.apply import AppliedPlan, apply_plan
from beatgrid.gis.grids.metrics import households_moved, plan_summary
from beatgrid.gis.grids.partition import merge_plans
from beatgrid.gis.grids.plan import GridPlan
from beatgrid.gis.grids.results import GeneratedPlan
from beatgrid.gis.policing.location import natural_key
from beatgrid.gis.policing.rules import NOT_JUDGED
from beatgrid.gis.policing.staffing import StaffingResult

__all__ = ["merge_grids", "merge_coverage", "merge_staffing", "rerank_estate_risk",
           "rerank_beats", "natural_order", "order_views", "kept_views"]

#: The risk components and the ``[risk.weights]`` key of each.
RISK_COMPONENTS = {"c_uncovered": "uncovered", "c_camera_deficit": "camera_deficit",
                   "c_access_deficit": "access_deficit",
                   "c_preventable_incidents": "preventable_incidents",
                   "c_floating_share": "floating_share"}


def natural_order(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """``frame`` sorted by the natural order of ``column`` (``B2`` before ``B10``).

    Examples
    --------
    >>> import pandas as pd
    >>> natural_order(pd.DataFrame({"id": ["B10", "B2"]}), "id")["id"].tolist()
    ['B2', 'B10']
    """
    if not len(frame):
        return frame.reset_index(drop=True)
    keys = sorted(range(len(frame)), key=lambda i: natural_key(str(frame[column].iloc[i])))
    return frame.iloc[keys].reset_index(drop=True)


def _concat(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Frames concatenated (the first kept when all are empty; GeoDataFrames stay so)."""
    kept = [f for f in frames if len(f)] or list(frames[:1])
    if not kept:
        return pd.DataFrame()
    first = kept[0]
    out = pd.concat(kept, ignore_index=True)
    if isinstance(first, gpd.GeoDataFrame):
        return gpd.GeoDataFrame(out, geometry=first.geometry.name, crs=first.crs)
    return out


# --------------------------------------------------------------------------------------
# Grids
# --------------------------------------------------------------------------------------

def merge_grids(parts: Sequence[GeneratedPlan], layers: Mapping[str, pd.DataFrame], *,
                community_ids: Sequence[Any]) -> GeneratedPlan:
    """The partitions' grid plans as one :class:`~beatgrid.gis.grids.results.GeneratedPlan`.

    Parameters
    ----------
    parts
        ``generate`` of each partition (row index of the project's buildings kept).
    layers
        The project's grid layers (``communities``, ``buildings``, ``grids``...).
    community_ids
        Every community planned.
    """
    first = parts[0]
    plan: GridPlan = merge_plans([p.plan for p in parts], layers["buildings"])
    # the grids in the order of their communities in the project, as one run lists them
    pos = {str(c): i for i, c in enumerate(layers["communities"]["id"])}
    key = [pos.get(str(c), len(pos)) for c in plan.grids["community_id"]]
    plan = dataclasses.replace(plan, grids=plan.grids.iloc[np.argsort(key, kind="stable")]
                               .reset_index(drop=True))
    applied: AppliedPlan = apply_plan(layers, plan, community_ids=list(community_ids))
    # planned in the project's metric CRS: the grids back in the project's, as one run does
    crs = layers["communities"].crs
    if crs is not None and applied.grids.crs is not None and applied.grids.crs != crs:
        applied = dataclasses.replace(applied, grids=applied.grids.to_crs(crs))
    bld = applied.buildings
    old = layers["buildings"]["grid_id"] if "grid_id" in layers["buildings"] else None
    moved = None
    if old is not None and old.notna().any():
        moved = households_moved(bld["grid_id"], old, bld["households"])
    planned = set(plan.grids["community_id"])
    grids = applied.grids[applied.grids["community_id"].isin(planned)]
    metrics = _concat([p.metrics for p in parts])
    order = {gid: i for i, gid in enumerate(grids["id"])}
    if len(metrics) and "id" in metrics:
        metrics = metrics.iloc[np.argsort([order.get(g, len(order)) for g in metrics["id"]],
                                          kind="stable")].reset_index(drop=True)
    violations = _concat([p.violations for p in parts])
    return GeneratedPlan(plan=plan, band=first.band, grids=grids, metrics=metrics,
                         summary=plan_summary(metrics, band=first.band, moved=moved),
                         violations=violations, households_moved=moved, layers=applied,
                         saved=False, seconds=max(p.seconds for p in parts))


# --------------------------------------------------------------------------------------
# Coverage
# --------------------------------------------------------------------------------------

def rerank_estate_risk(risk: pd.DataFrame, *, weights: Mapping[str, float]) -> pd.DataFrame:
    """Old estates ranked again after gathering them from several partitions.

    Every component but the preventable-incident one is the estate's own; that one is
    the estate's preventable cases per 1,000 households divided by the largest among
    *all* ranked estates (:func:`~beatgrid.gis.coverage.risk.estate_risk`), so it is
    recomputed, then the score (``100 x sum(w c) / sum(w)``) and the rank (score
    descending, then estate id).

    Examples
    --------
    >>> import pandas as pd
    >>> r = pd.DataFrame({"rank": [1, 1], "estate_id": ["E1", "E2"], "risk_score": [0.0, 0.0],
    ...     "c_uncovered": [0.5, 0.5], "c_camera_deficit": [1.0, 1.0], "c_access_deficit": [0, 0],
    ...     "c_preventable_incidents": [1.0, 1.0], "c_floating_share": [0.0, 0.0],
    ...     "preventable_per_1000_households": [2.0, 4.0]})
    >>> w = {"uncovered": 0.3, "camera_deficit": 0.2, "access_deficit": 0.2,
    ...      "preventable_incidents": 0.2, "floating_share": 0.1}
    >>> out = rerank_estate_risk(r, weights=w)
    >>> out["estate_id"].tolist(), out["c_preventable_incidents"].tolist()
    (['E2', 'E1'], [1.0, 0.5])
    """
    if not len(risk) or "preventable_per_1000_households" not in risk:
        return risk.reset_index(drop=True)
    out = risk.drop(columns="rank").copy()
    rate = out["preventable_per_1000_households"].to_numpy(float)
    top = rate.max() if len(rate) else 0.0
    out["c_preventable_incidents"] = rate / top if top > 0 else np.zeros(len(rate))
    comps = {c: (out[c].to_numpy(float), weights[w]) for c, w in RISK_COMPONENTS.items()}
    wsum = sum(float(v[1]) for v in comps.values())
    out["risk_score"] = 100.0 * sum(float(wt) * c for c, wt in comps.values()) / wsum
    out = out.sort_values(["risk_score", "estate_id"], ascending=[False, True],
                          kind="stable").reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out


def _in_order(frame: pd.DataFrame, keys: Sequence[tuple[Any, ...]],
              order: Mapping[tuple[Any, ...], int]) -> pd.DataFrame:
    pos = np.array([order.get(k, len(order)) for k in keys], dtype=np.int64)
    return frame.iloc[np.argsort(pos, kind="stable")].reset_index(drop=True)


def order_views(views: Sequence[pd.DataFrame], *, camera_order: Sequence[str],
                levels: Sequence[str]) -> pd.DataFrame:
    """Views gathered from several tasks, in the order of one run: the cameras' order
    (``camera_order``), then the levels' (``levels``).

    Examples
    --------
    >>> import pandas as pd
    >>> a = pd.DataFrame({"camera_id": ["c2", "c2"], "level": ["detect", "all"]})
    >>> b = pd.DataFrame({"camera_id": ["c1"], "level": ["all"]})
    >>> order_views([a, b], camera_order=["c1", "c2"], levels=["all", "detect"]).values.tolist()
    [['c1', 'all'], ['c2', 'all'], ['c2', 'detect']]
    """
    cam_pos = {str(c): i for i, c in enumerate(camera_order)}
    lvl_pos = {lv: i for i, lv in enumerate(levels)}
    v = _concat(views)
    if len(v):
        key = np.array([cam_pos.get(str(c), len(cam_pos)) * (len(lvl_pos) + 1)
                        + lvl_pos.get(str(lv), len(lvl_pos))
                        for c, lv in zip(v["camera_id"], v["level"])], dtype=np.int64)
        v = v.iloc[np.argsort(key, kind="stable")].reset_index(drop=True)
    return v


def kept_views(layers: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The layers with ``camera_views`` as :meth:`CoverageResult.derived_layers
    <beatgrid.gis.coverage.analysis.CoverageResult.derived_layers>` stores them: every
    camera's ``all`` row, and the levels it sees (a non-empty view).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> v = gpd.GeoDataFrame({"camera_id": ["c1", "c1"], "level": ["all", "identify"]},
    ...                      geometry=[shapely.Polygon(), shapely.Polygon()])
    >>> kept_views({"camera_views": v})["camera_views"]["level"].tolist()
    ['all']
    """
    views = layers["camera_views"]
    if len(views):
        empty = shapely.is_empty(views.geometry.values)
        views = views[(views["level"] == "all").to_numpy() | ~empty].reset_index(drop=True)
    return {**layers, "camera_views": views}


def merge_coverage(views: Sequence[pd.DataFrame], stats: Sequence[pd.DataFrame],
                   blind: Sequence[pd.DataFrame], risk: Sequence[pd.DataFrame], *,
                   camera_order: Sequence[str], zone_order: Mapping[tuple[str, str], int],
                   levels: Sequence[str], weights: Mapping[str, float]
                   ) -> dict[str, pd.DataFrame]:
    """The derived coverage layers of the whole project from the partitions'.

    Views in the cameras' order (then the levels'), figures in the zones' order,
    blind spots numbered again largest first (``BS0001``...), risk ranked again.

    Returns
    -------
    dict
        ``camera_views``, ``coverage_stats``, ``blind_spots``, ``estate_risk``.
    """
    v = order_views(views, camera_order=camera_order, levels=levels)
    s = _concat(stats)
    if len(s):
        s = _in_order(s, list(zip(s["zone_type"].astype(str), s["zone_id"].astype(str))),
                      zone_order)
    b = _concat(blind)
    if len(b):
        b = b.iloc[np.argsort(-b["area_m2"].to_numpy(float), kind="stable")]
        b = b.reset_index(drop=True)
        b["id"] = [f"BS{i + 1:04d}" for i in range(len(b))]
    r = rerank_estate_risk(_concat(risk), weights=weights)
    return {"camera_views": v, "coverage_stats": s, "blind_spots": b, "estate_risk": r}


# --------------------------------------------------------------------------------------
# Staffing
# --------------------------------------------------------------------------------------

def rerank_beats(gaps: pd.DataFrame) -> pd.DataFrame:
    """Beats in the natural order of their ids, ``severity_rank`` over all of them.

    The order of :func:`~beatgrid.gis.policing.staffing.assess`: beats with a failed
    rule first (worst score, most rules failed, largest population), then those judged
    ok, then those not judged.
    """
    g = natural_order(gaps, "beat_id")
    if not len(g):
        return g
    failed = g["rules_failed"].to_numpy() > 0
    unjudged = (g["severity"].astype(str) == NOT_JUDGED).to_numpy() & ~failed
    judged_class = np.where(failed, 0, np.where(unjudged, 2, 1))
    population = g["population_actual"].fillna(0).to_numpy(float)
    order = np.lexsort((-population, -g["rules_failed"].to_numpy(), -g["severity_score"]
                        .to_numpy(float), judged_class))
    rank = np.empty(len(g), dtype=np.int64)
    rank[order] = np.arange(1, len(g) + 1)
    g["severity_rank"] = rank
    return g


def merge_staffing(parts: Sequence[StaffingResult]) -> StaffingResult:
    """One :class:`~beatgrid.gis.policing.staffing.StaffingResult` from the partitions'.

    Beats, areas, stations and rooms are gathered in the natural order of their ids
    and the beats ranked again (:func:`rerank_beats`); the notes are those of every
    partition (each once).
    """
    first = parts[0]
    gaps = rerank_beats(_concat([p.gaps for p in parts]))
    beats = _concat([p.beats for p in parts])
    if len(beats):
        beats = beats.drop(columns="severity_rank").merge(
            gaps[["beat_id", "severity_rank"]], on="beat_id", how="left")
        beats = gpd.GeoDataFrame(natural_order(beats, "beat_id"), geometry="geometry",
                                 crs=first.beats.crs)
    workload = pd.concat([p.workload for p in parts])
    if len(workload):
        workload = workload.loc[sorted(workload.index, key=lambda b: natural_key(str(b)))]
    rooms = _concat([p.rooms for p in parts])
    if len(rooms) and "room_id" in rooms:
        rooms = natural_order(rooms, "room_id")
    notes = tuple(dict.fromkeys(n for p in parts for n in p.notes))
    missing = tuple(dict.fromkeys(m for p in parts for m in p.missing))
    return StaffingResult(
        gaps=gaps, beats=beats, workload=workload,
        areas=natural_order(_concat([p.areas for p in parts]), "responsibility_area_id"),
        stations=natural_order(_concat([p.stations for p in parts]), "station_id"),
        rooms=rooms, policy=first.policy, notes=notes, police_rooms=None, missing=missing,
        incidents_snapped=sum(p.incidents_snapped for p in parts),
        incidents_outside=sum(p.incidents_outside for p in parts))
