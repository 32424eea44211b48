"""Camera placement: where the next N cameras should go to see what is not yet seen.

The problem is a weighted maximal covering location problem (MCLP): the demand is the
open space of the target estates that no existing camera sees, the candidates are new
camera poses on walls, corners and street lamps, and a pose covers a demand point in
its visibility polygon (:mod:`beatgrid.gis.coverage.candidates`); the solvers are a
lazy greedy and an exact integer programme (:mod:`beatgrid.gis.coverage.solvers`).
Existing cameras are kept: their coverage is removed from the demand. At most one new
camera per site when ``one_pose_per_site``.

:func:`recommend_cameras` runs the whole chain on project layers and reports, for every
zone the new cameras touch, the coverage figures before and after. On a project, call
``project.coverage.recommend(budget=...)`` (:mod:`beatgrid.gis.coverage.workflow`).

Examples
--------
>>> import geopandas as gpd, shapely
>>> from beatgrid.gis.coverage.placement import recommend_cameras
>>> est = gpd.GeoDataFrame({"id": ["E1"]}, geometry=[shapely.box(0, 0, 60, 40)], crs=4547)
>>> bld = gpd.GeoDataFrame({"households": [24]}, geometry=[shapely.box(20, 15, 40, 25)],
...                        crs=4547)
>>> r = recommend_cameras({"estates": est, "buildings": bld}, budget=1)
>>> r.proposals[["id", "kind", "estate_id"]].values.tolist()
[['NEW001', 'wall', 'E1']]
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from beatgrid.gis.coverage.candidates import candidate_poses, coverage_matrix, demand_points
from beatgrid.gis.coverage.fov import coverage_settings
from beatgrid.gis.coverage.raycast import Occluders
from beatgrid.gis.coverage.seen import SeenIndex
from beatgrid.gis.coverage.solvers import lazy_greedy, marginal_gains, order_by_gain, solve_ilp
from beatgrid.gis.coverage.stats import coverage_stats
from beatgrid.gis.coverage.visibility import camera_views
from beatgrid.gis.coverage.zones import first_zone, zones_from_layers
from beatgrid.gis.crs import metric_crs
from beatgrid.gis.errors import InputError, NotFoundError

__all__ = ["PlacementResult", "recommend_cameras", "levels_of"]


@dataclass(frozen=True)
class PlacementResult:
    """What :func:`recommend_cameras` returns.

    Attributes
    ----------
    proposals
        ``camera_proposals``: points (storage CRS) with ``id``, ``rank``, ``kind``,
        ``direction``, ``fov_deg``, ``range_m``, ``height_m``, ``tilt_deg``, ``gain``
        (weighted demand newly seen), ``gain_area_m2``, ``zone_id``.
    effects
        Per zone affected: the coverage figures before and after (``*_before``,
        ``*_after``).
    views
        The new cameras' visible areas (``camera_views`` shape; None when none placed).
    info
        Method, objective, gap, counts and timings.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> est = gpd.GeoDataFrame({"id": ["E1"]}, geometry=[shapely.box(0, 0, 40, 20)], crs=4547)
    >>> bld = gpd.GeoDataFrame({"households": [10]}, geometry=[shapely.box(15, 8, 25, 12)],
    ...                        crs=4547)
    >>> r = recommend_cameras({"estates": est, "buildings": bld}, budget=20)
    >>> len(r.proposals), r.stopped_early, r.info["covered_weight_share"]  # nothing more to see
    (8, True, 0.75)
    """

    proposals: gpd.GeoDataFrame
    effects: pd.DataFrame
    views: gpd.GeoDataFrame | None
    info: dict[str, Any]

    @property
    def stopped_early(self) -> bool:
        """Fewer cameras placed than the budget: no candidate sees any more demand."""
        return bool(self.info.get("stopped_early"))


def recommend_cameras(layers: Mapping[str, pd.DataFrame | None], *, budget: int,
                      estate: str | None = None, method: str | None = None,
                      settings: Mapping[str, Any] | None = None, seen: SeenIndex | None = None,
                      existing_views: gpd.GeoDataFrame | None = None,
                      time_limit: float | None = None) -> PlacementResult:
    """Recommend ``budget`` new cameras for the district or for one estate.

    Parameters
    ----------
    layers
        Project layers: ``buildings``, ``cameras``, ``estates``, ``streets``,
        ``incidents`` and the zone layers for the before/after report.
    budget
        New cameras to place (at most).
    estate
        Estate id: place only inside (or within ``estate_margin_m`` of) this estate, for
        its open space. None: all estates of the district.
    method
        ``"greedy"`` or ``"ilp"`` (default ``[placement] method``).
    settings
        The coverage section (default: the shipped one).
    seen, existing_views
        What the existing cameras see (computed when neither is given).
    time_limit
        ILP time limit in seconds (default ``[placement] ilp_time_limit_s``).

    Returns
    -------
    PlacementResult

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> crs = 4547
    >>> est = gpd.GeoDataFrame({"id": ["E1"], "is_old": [True]},
    ...                        geometry=[shapely.box(0, 0, 60, 40)], crs=crs)
    >>> bld = gpd.GeoDataFrame({"id": ["B1"], "households": [24]},
    ...                        geometry=[shapely.box(20, 15, 40, 25)], crs=crs)
    >>> cams = gpd.GeoDataFrame({"id": []}, geometry=[], crs=crs)
    >>> r = recommend_cameras({"estates": est, "buildings": bld, "cameras": cams},
    ...                       budget=2, estate="E1")
    >>> len(r.proposals), r.info["method"]
    (2, 'greedy')
    """
    t0 = time.perf_counter()
    cfg = coverage_settings(settings)
    pl = cfg["placement"]
    method = method or pl["method"]
    if method not in ("greedy", "ilp"):
        raise InputError(f"placement method {method!r} is unknown", fix="use 'greedy' or 'ilp'")
    if int(budget) != budget or budget < 1:
        raise InputError(f"--budget {budget!r} must be a whole number of cameras >= 1",
                         fix="give e.g. --budget 10")
    budget = int(budget)
    buildings = layers.get("buildings")
    estates = layers.get("estates")
    cams = layers.get("cameras")
    if estates is None or not len(estates):
        raise InputError("the project has no estates: placement targets estate open space",
                         fix="import or draw the estates layer first")
    crs = metric_crs(estates, layer="estates")
    if buildings is None:
        buildings = gpd.GeoDataFrame({"households": []}, geometry=[], crs=estates.crs)
    if cams is None:
        cams = gpd.GeoDataFrame({"id": []}, geometry=[], crs=estates.crs)
    timings: dict[str, float] = {}
    # target zones
    if estate is not None:
        ids = estates["id"].astype(str)
        if str(estate) not in set(ids):
            raise NotFoundError(f"estate {estate!r} is not in the estates layer",
                                fix="use an id such as " + ", ".join(ids.iloc[:5]))
        target = estates[ids == str(estate)]
    else:
        target = estates
    target_m = target.to_crs(crs)
    # what the existing cameras see (near the target only)
    t = time.perf_counter()
    if seen is None:
        if existing_views is None:
            reach = float(np.nanmax(pd.to_numeric(cams.get("range_m", pd.Series([0.0])),
                                                  errors="coerce").fillna(0).to_numpy(),
                                    initial=0.0)) + 200.0
            area = shapely.buffer(shapely.union_all(target_m.geometry.values), reach)
            cam_m = cams.to_crs(crs) if len(cams) else cams
            near = cam_m[shapely.intersects(area, cam_m.geometry.values)] if len(cam_m) \
                else cam_m
            bld_m = buildings.to_crs(crs) if len(buildings) else buildings
            existing_views = camera_views(near, bld_m, settings=cfg, metric=True) \
                if len(near) else None
        seen = SeenIndex(existing_views, crs=crs, multi=False) if existing_views is not None \
            and len(existing_views) else None
    timings["existing_views_s"] = time.perf_counter() - t
    # demand
    t = time.perf_counter()
    demand = demand_points(target_m.geometry, buildings=buildings, seen=seen,
                           incidents=layers.get("incidents"), crs=crs, settings=cfg)
    timings["demand_s"] = time.perf_counter() - t
    # candidates
    t = time.perf_counter()
    within = None
    if estate is not None:
        within = gpd.GeoSeries(target_m.geometry.values, crs=crs).buffer(
            float(pl["estate_margin_m"])).to_crs(buildings.crs if len(buildings)
                                                 else estates.crs).iloc[0]
    bld_in = buildings
    if len(buildings):
        zone = shapely.buffer(shapely.union_all(target_m.geometry.values),
                              float(pl["range_m"]))
        bm = buildings.to_crs(crs)
        bld_in = buildings[shapely.intersects(zone, bm.geometry.values)]
    streets = layers.get("streets")
    poses = candidate_poses(bld_in, streets, within=within, settings=cfg)
    if len(poses) and poses.crs != crs:
        poses = poses.to_crs(crs)
    if len(poses) and len(demand):
        near = shapely.STRtree(demand.geometry.values).query(
            poses.geometry.values, predicate="dwithin", distance=float(pl["range_m"]))[0]
        poses = poses.iloc[np.unique(near)].reset_index(drop=True)
    timings["candidates_s"] = time.perf_counter() - t
    # coverage matrix
    t = time.perf_counter()
    occ = Occluders(buildings.to_crs(crs).geometry.values if len(buildings) else [])
    A, views = coverage_matrix(poses, demand, occluders=occ, settings=cfg, return_views=True)
    timings["matrix_s"] = time.perf_counter() - t
    w = demand["weight"].to_numpy(float)
    sites = poses["site"].to_numpy() if pl["one_pose_per_site"] and len(poses) else None
    t = time.perf_counter()
    greedy = lazy_greedy(A, w, budget, sites=sites)
    info = {"method": method, "budget": budget, "estate": estate, "candidates": len(poses),
            "demand_points": len(demand), "demand_weight": float(w.sum()),
            "greedy_objective": greedy.objective}
    selected, gains = greedy.selected, greedy.gains
    if method == "ilp":
        ilp = solve_ilp(A, w, budget, sites=sites, warm_start=greedy.selected,
                        time_limit=float(time_limit if time_limit is not None
                                         else pl["ilp_time_limit_s"]),
                        mip_rel_gap=float(pl["ilp_mip_rel_gap"]))
        info.update({"objective": ilp.objective, "bound": ilp.bound, "gap": ilp.gap,
                     "status": ilp.status})
        if ilp.objective >= greedy.objective - 1e-9:
            selected = order_by_gain(A, w, ilp.selected)
            gains = marginal_gains(A, w, selected)
    else:
        info["objective"] = greedy.objective
    timings["solve_s"] = time.perf_counter() - t
    step = float(pl["demand_spacing_m"])
    chosen = poses.iloc[selected].reset_index(drop=True)
    cell = step * step
    gain_pts = np.zeros(len(selected))
    cov = np.zeros(A.shape[0], dtype=bool)
    for k, j in enumerate(selected):
        rows = A.indices[A.indptr[j]:A.indptr[j + 1]]
        gain_pts[k] = (~cov[rows]).sum()
        cov[rows] = True
    info["covered_weight_share"] = float(w[cov].sum() / w.sum()) if w.sum() > 0 else 0.0
    info["stopped_early"] = len(selected) < budget
    est_m = estates.to_crs(crs)
    zone_idx = first_zone(chosen.geometry.values, est_m.geometry.values)
    est_ids = est_m["id"].astype(str).to_numpy()
    proposals = gpd.GeoDataFrame({
        "id": [f"NEW{k + 1:03d}" for k in range(len(chosen))],
        "rank": np.arange(1, len(chosen) + 1),
        "kind": chosen["kind"].to_numpy(),
        "direction": chosen["direction"].to_numpy().round(1),
        "fov_deg": chosen["fov_deg"].to_numpy(),
        "range_m": chosen["range_m"].to_numpy(),
        "height_m": chosen["height_m"].to_numpy(),
        "tilt_deg": chosen["tilt_deg"].to_numpy(),
        "gain": np.asarray(gains, dtype=float),
        "gain_area_m2": gain_pts * cell,
        "estate_id": np.where(zone_idx >= 0, est_ids[np.maximum(zone_idx, 0)], None),
    }, geometry=gpd.GeoSeries(chosen.geometry.values, crs=crs), crs=crs)
    # before / after per zone touched by the new views
    t = time.perf_counter()
    new_cams = proposals[["id", "direction", "fov_deg", "range_m", "height_m", "tilt_deg",
                          "geometry"]].copy()
    with_levels = existing_views is None or not len(existing_views) or bool(
        levels_of(existing_views))
    new_views = camera_views(new_cams, buildings.to_crs(crs) if len(buildings) else
                             buildings, settings=cfg, metric=True, levels=with_levels) \
        if len(new_cams) else None
    effects = _effects(layers, new_views, new_cams, existing_views, crs, cfg)
    timings["effects_s"] = time.perf_counter() - t
    timings["total_s"] = time.perf_counter() - t0
    info["timings"] = timings
    out_crs = cams.crs if cams.crs is not None else estates.crs
    views_out = new_views.to_crs(out_crs) if new_views is not None else None
    return PlacementResult(proposals.to_crs(out_crs), effects, views_out, info)


def levels_of(views: pd.DataFrame) -> list[str]:
    """Quality level names present in views, in order (without ``all``).

    Examples
    --------
    >>> import pandas as pd
    >>> levels_of(pd.DataFrame({"level": ["all", "detect", "all", "detect", "observe"]}))
    ['detect', 'observe']
    """
    return [lv for lv in dict.fromkeys(views["level"].astype(str)) if lv != "all"]


def _effects(layers: Mapping[str, pd.DataFrame | None], new_views: gpd.GeoDataFrame | None,
             new_cams: gpd.GeoDataFrame, existing_views: gpd.GeoDataFrame | None, crs: Any,
             cfg: Mapping[str, Any]) -> pd.DataFrame:
    cols = ["zone_type", "zone_id"]
    if new_views is None or not len(new_views):
        return pd.DataFrame(columns=cols)
    zdict = zones_from_layers(layers, settings=cfg)
    reach = shapely.union_all(new_views[new_views.level == "all"].geometry.values)
    affected: dict[str, gpd.GeoDataFrame] = {}
    for ztype, zdf in zdict.items():
        zm = zdf.to_crs(crs)
        hit = shapely.intersects(reach, zm.geometry.values) | shapely.intersects(
            shapely.union_all(new_cams.geometry.values), zm.geometry.values)
        if hit.any():
            affected[ztype] = zm[hit]
    if not affected:
        return pd.DataFrame(columns=cols)
    buildings = layers.get("buildings")
    cams = layers.get("cameras")
    allz = shapely.union_all(np.concatenate([z.geometry.values for z in affected.values()]))
    pad = shapely.buffer(allz, 200.0)
    ev = existing_views.to_crs(crs) if existing_views is not None and len(existing_views) \
        else new_views.iloc[:0]
    cam_m = cams.to_crs(crs) if cams is not None and len(cams) else None
    if cam_m is not None:
        # cameras near the affected zones whose views were not computed yet
        ids = cam_m["id"].astype(str) if "id" in cam_m.columns else cam_m.index.astype(str)
        have = set(ev["camera_id"].astype(str)) if len(ev) else set()
        todo = cam_m[shapely.intersects(pad, cam_m.geometry.values) & ~ids.isin(have).to_numpy()]
        if len(todo):
            bld_m = buildings.to_crs(crs) if buildings is not None \
                else gpd.GeoDataFrame(geometry=[], crs=crs)
            more = camera_views(todo, bld_m, settings=cfg, metric=True,
                                levels=len(levels_of(new_views)) > 0)
            ev = gpd.GeoDataFrame(pd.concat([ev, more], ignore_index=True), geometry="geometry",
                                  crs=crs)
    ev = ev[shapely.intersects(pad, ev.geometry.values)] if len(ev) else ev
    nested = cfg["visibility"]["zones"] == "nested"
    levels = levels_of(new_views)
    before_seen = SeenIndex(ev, crs=crs, levels=levels, nested=nested)
    both = pd.concat([ev, new_views], ignore_index=True)
    after_seen = SeenIndex(gpd.GeoDataFrame(both, geometry="geometry", crs=crs), crs=crs,
                           levels=levels, nested=nested)
    cam_m = cams.to_crs(crs) if cams is not None and len(cams) else None
    cam_after = new_cams[["id", "geometry"]] if cam_m is None else gpd.GeoDataFrame(
        pd.concat([cam_m[["geometry"]], new_cams[["geometry"]]], ignore_index=True),
        geometry="geometry", crs=crs)
    b = coverage_stats(ev, zones=affected, buildings=buildings, cameras=cam_m, settings=cfg,
                       seen=before_seen, nested=nested)
    a = coverage_stats(both, zones=affected, buildings=buildings, cameras=cam_after,
                       settings=cfg, seen=after_seen, nested=nested)
    figures = [c for c in b.columns if c.startswith("seen_share_")] + [
        "multi_seen_share", "perimeter_seen_share", "cameras_inside",
        "cameras_per_1000_households"]
    out = b[["zone_type", "zone_id", "households", "open_area_m2"]].copy()
    for c in figures:
        out[f"{c}_before"] = b[c].to_numpy()
        out[f"{c}_after"] = a[c].to_numpy()
    out["new_cameras"] = a["cameras_inside"].to_numpy() - b["cameras_inside"].to_numpy()
    return pd.DataFrame(out).reset_index(drop=True)
