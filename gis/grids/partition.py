"""The basic-grid generator: communities split into contiguous 300-500-household grids.

For each community the atomic units (:mod:`beatgrid.gis.grids.units`) are partitioned
into ``k`` contiguous grids with households in ``[min, max]`` (settings
``band.min_households`` / ``band.max_households``; ``k`` is the feasible count closest
to ``households / target``), preferring borders on streets, compact shapes and whole
estates (:mod:`beatgrid.gis.grids.community`, :mod:`beatgrid.gis.grids.solve`; the
searches in :mod:`beatgrid.gis.grids.search`, :mod:`beatgrid.gis.grids.forest` and
:mod:`beatgrid.gis.grids.grow`, the exact model in :mod:`beatgrid.gis.grids.exact`).
:func:`generate_grids` plans every community (in parallel processes for big jobs),
keeps locked grids, re-plans a community whose blocks are too lumpy with every block
split into building cells (where a proof of infeasibility must hold to be reported),
and numbers the grids (:mod:`beatgrid.gis.grids.codes`). The result is deterministic for
a given seed (unless a search reaches its CPU-time limit, ``generator.search_seconds``).
When no valid plan exists the community still
gets the closest plan, and every grid out of range carries a named reason
(:data:`~beatgrid.gis.grids.plan.REASONS`).

Examples
--------
>>> from beatgrid.gis import Project
>>> layers = Project.open("sample-geodata/ningbo-jiangbei.gpkg").read(
...     ["communities", "streets", "buildings", "estates"])
>>> plan = generate_grids(layers["communities"], layers["streets"], layers["buildings"],
...                       estates=layers["estates"], community_ids=["C05"], seed=0)
>>> plan.grids[["id", "households", "reason"]].sort_values("id").values.tolist()
[['C05-G01', 402, ''], ['C05-G02', 486, ''], ['C05-G03', 368, ''], ['C05-G04', 396, ''], ['C05-G05', 430, '']]
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from beatgrid.gis.config import section_or_default
from beatgrid.gis.crs import metric_crs
from beatgrid.gis.errors import InputError
from beatgrid.gis.grids.band import Band, band_from_settings, grid_counts
from beatgrid.gis.grids.codes import assign_codes
from beatgrid.gis.grids.community import Issue, partition_community
from beatgrid.gis.grids.geometry import union_groups
from beatgrid.gis.grids.plan import (INFEASIBLE, REASONS, SEARCH_LIMIT, GridPlan, community_rng,
                                     match_previous, previous_unit_grid)
from beatgrid.gis.grids.units import AtomicUnits, build_units

# Names notebooks and scripts import from this module (they lived here before the split).
__all__ = ["generate_grids", "merge_plans", "GridPlan", "REASONS", "Band",
           "band_from_settings", "grid_counts"]

#: A community re-planned on finer units: units, unit rows, labels, reasons, issues.
_Retry = tuple[AtomicUnits, np.ndarray, np.ndarray, list[str], list[Issue]]

#: Reasons that depend on the units searched: a community failing with one is planned
#: again on building cells.
SEARCHED = (INFEASIBLE, SEARCH_LIMIT)


def generate_grids(communities: gpd.GeoDataFrame, streets: gpd.GeoDataFrame | None,
                   buildings: gpd.GeoDataFrame, *, estates: gpd.GeoDataFrame | None = None,
                   previous: gpd.GeoDataFrame | None = None, stable: bool = False,
                   respect_locked: bool = True, community_ids: Iterable[Any] | None = None,
                   min_households: int | None = None, max_households: int | None = None,
                   target_households: float | None = None, seed: int | None = None,
                   settings: Mapping[str, Any] | None = None, units: AtomicUnits | None = None,
                   workers: int | None = None, crs: Any = None) -> GridPlan:
    """Generate basic grids for communities.

    Parameters
    ----------
    communities, streets, buildings
        Project layers (storage CRS). ``buildings`` needs ``households``; its
        ``grid_id`` is read as the previous plan.
    estates
        Optional estates layer (for buildings without ``estate_id``).
    previous
        The current grids layer. Its locked grids are kept as they are (with
        ``respect_locked``); with ``stable`` the plan moves as few households as possible.
    stable
        Keep the previous plan where it is valid; re-plan only what must change.
    respect_locked
        Keep grids with ``locked`` True (their area and buildings) untouched.
    community_ids
        Plan only these communities (default all).
    min_households, max_households, target_households
        Band overrides (default from settings ``band``).
    seed
        Random seed (default settings ``generator.seed``).
    settings
        Grid settings (the ``grids`` section; the shipped one when None).
    units
        Prebuilt atomic units (skips building them; locked grids then are not removed).
    workers
        Processes planning communities in parallel (default ``generator.workers``; 0:
        one per CPU). Small jobs always run in this process.
    crs
        Metric CRS to compute in (default: chosen from the communities).

    Returns
    -------
    GridPlan

    Examples
    --------
    >>> from beatgrid.gis import Project
    >>> layers = Project.open("sample-geodata/ningbo-jiangbei.gpkg").read(
    ...     ["communities", "streets", "buildings"])
    >>> plan = generate_grids(layers["communities"], layers["streets"], layers["buildings"],
    ...                       community_ids=["C05", "C09"], seed=1)
    >>> bool(plan.grids["households"].between(300, 500).all()), plan.issues.empty
    (True, True)
    >>> int(plan.building_grid.notna().sum())        # the buildings of C05 and C09
    55
    """
    settings = section_or_default(settings, "grids")
    if community_ids is not None:
        community_ids = list(community_ids)
    if crs is None:
        crs = units.crs if units is not None else metric_crs(communities, layer="communities")
    kwargs: dict[str, Any] = dict(estates=estates, previous=previous, stable=stable,
                  respect_locked=respect_locked, min_households=min_households,
                  max_households=max_households, target_households=target_households, seed=seed,
                  settings=settings, crs=crs)
    n_workers = _worker_count(workers, settings, communities, buildings, community_ids, units)
    if n_workers > 1:
        return _generate_parallel(communities, streets, buildings, community_ids, n_workers,
                                  kwargs)
    band = band_from_settings(settings, min_households=min_households,
                              max_households=max_households, target_households=target_households)
    seed = settings["generator"]["seed"] if seed is None else int(seed)
    storage = communities.crs
    locked = _locked(previous, community_ids) if respect_locked else None
    comm = communities
    bld = buildings
    if locked is not None and len(locked) and units is None:
        comm, bld = _without_locked(communities, buildings, locked)
    own_units = units is None
    if units is None:
        units = build_units(comm, streets, bld, estates=estates, settings=settings,
                            community_ids=community_ids, crs=crs)
    prev_unit = previous_unit_grid(units, buildings, previous) if stable else None
    unit_label = np.full(len(units.units), -1, dtype=np.int64)
    grid_comm: list[Any] = []
    grid_reason: list[str] = []
    grid_prev: list[Any] = []
    issues: list[Issue] = []
    wanted = None if community_ids is None else {str(c) for c in community_ids}
    for cid in units.community_ids():
        if wanted is not None and str(cid) not in wanted:  # units given for more of them
            continue
        rng = community_rng(seed, cid)
        idx_c = units.of_community(cid)
        prev_c = prev_unit[idx_c] if prev_unit is not None else None
        u_c = units.units.iloc[idx_c]
        splittable = ((u_c["kind"] == "block") & (u_c["buildings"] >= 2)).any()
        # blocks first; the thorough steps (exhaustive search, exact model) run on the
        # building cells when the blocks fail
        retry_possible = own_units and prev_c is None and bool(splittable)
        idx, labels, reasons, iss = partition_community(units, cid, band=band, settings=settings,
                                                        rng=rng, previous=prev_c,
                                                        thorough=not retry_possible)
        if retry_possible and any(
                i["reason"] in SEARCHED for i in iss):
            # blocks too lumpy? plan on building cells: a plan, or a proof on the finest
            # units (a proof on street blocks is none: cells may allow a plan)
            retry = _retry_finer(comm, streets, bld, estates, settings, cid, band, rng, crs)
            units, idx, labels, reasons, iss, unit_label = _splice(units, retry, cid, unit_label)
        offset = len(grid_comm)
        unit_label[idx] = np.where(labels >= 0, labels + offset, -1)
        grid_comm.extend([cid] * len(reasons))
        grid_reason.extend(reasons)
        if prev_c is not None:
            grid_prev.extend(match_previous(labels, prev_c,
                                            units.units["households"].to_numpy()[idx],
                                            len(reasons)))
        else:
            grid_prev.extend([None] * len(reasons))
        issues.extend(iss)
    return _assemble(units, unit_label, grid_comm, grid_reason, grid_prev, issues, band,
                     settings, buildings, communities, locked, storage,
                     previous if stable else None)


def _worker_count(workers: int | None, settings: Mapping[str, Any],
                  communities: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame,
                  community_ids: Sequence[Any] | None, units: AtomicUnits | None) -> int:
    if units is not None:
        return 1
    workers = settings["generator"]["workers"] if workers is None else int(workers)
    if workers == 0:
        workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
            os.cpu_count() or 1)
    n_comm = len(communities) if community_ids is None else len(set(community_ids))
    if workers <= 1 or n_comm < 2 or len(buildings) < settings["generator"]["parallel_min_buildings"]:
        return 1
    return min(workers, n_comm)


#: The job of the forked worker processes (inherited on fork, never pickled).
_JOB: dict[str, Any] = {}


def _run_chunk(chunk: list[Any]) -> GridPlan:
    j = _JOB
    comm = j["communities"]
    mine = comm["id"].isin(set(chunk)).to_numpy()
    bld = j["buildings"][np.isin(j["bcomm"], np.flatnonzero(mine))]
    streets = j["streets"]
    if streets is not None and len(streets):
        hit = shapely.STRtree(streets.geometry.values).query(comm.geometry.values[mine])[1]
        streets = streets.iloc[np.unique(hit)]
    return generate_grids(comm[mine], streets, bld, community_ids=chunk, workers=1,
                          **j["kwargs"])


def _generate_parallel(communities: gpd.GeoDataFrame, streets: gpd.GeoDataFrame | None,
                       buildings: gpd.GeoDataFrame, community_ids: Sequence[Any] | None,
                       n_workers: int, kwargs: dict[str, Any]) -> GridPlan:
    """Plan communities in ``n_workers`` forked processes and merge the plans.

    Each process gets whole communities with their buildings (by representative point)
    and the streets near them, so the plans are the same as in one process.
    """
    wanted = None if community_ids is None else set(map(str, community_ids))
    if wanted is not None:
        unknown = wanted - set(map(str, communities["id"]))
        if unknown:
            raise InputError(f"unknown community id(s): {', '.join(sorted(unknown))}",
                             fix="use ids of the communities layer")
    ids = [c for c in communities["id"] if wanted is None or str(c) in wanted]
    pts = shapely.point_on_surface(buildings.to_crs(communities.crs).geometry.values)
    pi, ci = shapely.STRtree(communities.geometry.values).query(pts, predicate="intersects")
    bcomm = np.full(len(buildings), -1)
    bcomm[pi[::-1]] = ci[::-1]
    # balance by buildings: biggest communities first, a few chunks per worker
    load = pd.Series(np.bincount(bcomm[bcomm >= 0], minlength=len(communities)),
                     index=communities["id"].to_numpy())
    ids.sort(key=lambda c: -float(load.get(c, 0)))
    n_chunks = min(len(ids), n_workers * 2)
    chunks = [ids[i::n_chunks] for i in range(n_chunks)]
    _JOB.update(communities=communities, streets=streets, buildings=buildings, bcomm=bcomm,
                kwargs=kwargs)
    try:
        ctx = mp.get_context("fork")
        with ctx.Pool(n_workers) as pool:
            plans = pool.map(_run_chunk, chunks, chunksize=1)
    finally:
        _JOB.clear()
    return merge_plans(plans, buildings)


def merge_plans(plans: Sequence[GridPlan | None], buildings: pd.DataFrame) -> GridPlan:
    """One :class:`~beatgrid.gis.grids.plan.GridPlan` from plans of disjoint sets of
    communities (planned in separate processes).

    Examples
    --------
    >>> from beatgrid.gis import Project
    >>> layers = Project.open("sample-geodata/ningbo-jiangbei.gpkg").read(
    ...     ["communities", "streets", "buildings"])
    >>> a, b = (generate_grids(layers["communities"], layers["streets"], layers["buildings"],
    ...                        community_ids=[c]) for c in ("C05", "C09"))
    >>> merged = merge_plans([a, b], layers["buildings"])
    >>> len(merged.grids) == len(a.grids) + len(b.grids)
    True
    """
    done = [p for p in plans if p is not None]
    first = done[0]
    units_frames: list[pd.DataFrame] = []
    edges: list[pd.DataFrame] = []
    blds: list[pd.DataFrame] = []
    offset = 0
    block_offset = 0
    for p in done:
        u = p.units.units.copy()
        u["block"] = u["block"] + block_offset
        block_offset = int(u["block"].max()) + 1 if len(u) else block_offset
        units_frames.append(u)
        edges.append(p.units.edges.assign(i=p.units.edges["i"] + offset,
                                          j=p.units.edges["j"] + offset))
        b = p.units.buildings
        b = b.assign(unit=np.where(b["unit"].to_numpy() >= 0, b["unit"].to_numpy() + offset, -1))
        blds.append(b)
        offset += len(u)
    units = gpd.GeoDataFrame(pd.concat(units_frames, ignore_index=True), geometry="geometry",
                             crs=first.units.crs)
    b = gpd.GeoDataFrame(pd.concat(blds), geometry="geometry", crs=first.units.crs)
    b = b.sort_values("unit", ascending=False)
    b = b[~b.index.duplicated()].reindex(buildings.index)
    b["unit"] = b["unit"].fillna(-1).astype(int)
    au = AtomicUnits(units=units, buildings=b, edges=pd.concat(edges, ignore_index=True),
                     crs=first.units.crs, storage_crs=first.units.storage_crs,
                     communities=pd.concat([p.units.communities for p in done]),
                     notes=sorted({n for p in done for n in p.units.notes}))
    grids = gpd.GeoDataFrame(pd.concat([p.grids for p in done], ignore_index=True),
                             geometry="geometry", crs=first.grids.crs)
    grids = grids.drop_duplicates("id")  # locked grids come back from every worker
    bgrid = pd.Series(None, index=buildings.index, dtype=object)
    for p in done:
        got = p.building_grid.dropna()
        bgrid.loc[got.index] = got.to_numpy()
    issues = pd.concat([p.issues for p in done], ignore_index=True)
    return GridPlan(grids=grids, building_grid=bgrid, units=au,
                    unit_grid=units["grid_id"].to_numpy(dtype=object), issues=issues,
                    band=first.band, settings=first.settings)


def _retry_finer(communities: gpd.GeoDataFrame, streets: gpd.GeoDataFrame | None,
                 buildings: gpd.GeoDataFrame, estates: gpd.GeoDataFrame | None,
                 settings: Mapping[str, Any], cid: Any, band: Band, rng: np.random.Generator,
                 crs: Any) -> _Retry:
    """Re-plan one community with every block split into building cells."""
    fine = build_units(communities, streets, buildings, estates=estates, settings=settings,
                       community_ids=[cid], split_households=0, crs=crs)
    idx, labels, reasons, iss = partition_community(fine, cid, band=band, settings=settings, rng=rng)
    return fine, idx, labels, reasons, iss


def _splice(units: AtomicUnits, retry: _Retry, cid: Any, unit_label: np.ndarray
            ) -> tuple[AtomicUnits, np.ndarray, np.ndarray, list[str], list[Issue], np.ndarray]:
    """Replace the units of community ``cid`` with the finer ones of ``retry``."""
    fine, idx_f, labels, reasons, iss = retry
    keep = units.units["community_id"].to_numpy() != cid
    old_rows = np.flatnonzero(keep)
    remap = np.full(len(units.units), -1, dtype=np.int64)
    remap[old_rows] = np.arange(len(old_rows))
    base = len(old_rows)
    fu = fine.units.copy()
    fu["block"] = fu["block"] + int(units.units["block"].max()) + 1
    new_units = pd.concat([units.units[keep], fu], ignore_index=True)
    new_units = gpd.GeoDataFrame(new_units, geometry="geometry", crs=units.crs)
    e = units.edges
    ok = keep[e["i"].to_numpy()] & keep[e["j"].to_numpy()]
    e_old = e[ok].assign(i=remap[e["i"].to_numpy()[ok]], j=remap[e["j"].to_numpy()[ok]])
    e_new = fine.edges.assign(i=fine.edges["i"] + base, j=fine.edges["j"] + base)
    edges = pd.concat([e_old, e_new], ignore_index=True)
    b = units.buildings.copy()
    fb = fine.buildings
    old_u = b["unit"].to_numpy()
    b["unit"] = np.where(old_u >= 0, remap[np.maximum(old_u, 0)], -1)
    inf = fb.index[fb["unit"].to_numpy() >= 0]
    b.loc[inf, "unit"] = fb.loc[inf, "unit"].to_numpy() + base
    merged = AtomicUnits(units=new_units, buildings=b, edges=edges, crs=units.crs,
                         storage_crs=units.storage_crs, communities=units.communities,
                         notes=units.notes)
    new_label = np.full(len(new_units), -1, dtype=np.int64)
    new_label[:base] = unit_label[old_rows]
    return merged, idx_f + base, labels, reasons, iss, new_label


def _locked(previous: gpd.GeoDataFrame | None, community_ids: Sequence[Any] | None
            ) -> gpd.GeoDataFrame | None:
    if previous is None or len(previous) == 0 or "locked" not in previous.columns:
        return None
    lk = previous[previous["locked"].fillna(False).astype(bool)]
    if community_ids is not None:
        lk = lk[lk["community_id"].astype(str).isin(set(map(str, community_ids)))]
    return lk if len(lk) else None


def _without_locked(communities: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame,
                    locked: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Communities minus their locked grids; buildings of locked grids left out."""
    comm = communities.copy()
    lk = locked.to_crs(comm.crs)
    geoms = comm.geometry.values.copy()
    for i, cid in enumerate(comm["id"].tolist()):
        mine = lk[lk["community_id"] == cid]
        if len(mine):
            geoms[i] = shapely.difference(geoms[i], shapely.union_all(mine.geometry.values))
    comm = comm.set_geometry(gpd.GeoSeries(geoms, index=comm.index, crs=comm.crs))
    in_locked = buildings["grid_id"].isin(set(locked["id"])) if "grid_id" in buildings else \
        pd.Series(False, index=buildings.index)
    return comm, buildings[~in_locked]


def _assemble(units: AtomicUnits, unit_label: np.ndarray, grid_comm: list[Any],
              grid_reason: list[str], grid_prev: list[Any], issues: list[Issue], band: Band,
              settings: Mapping[str, Any], buildings: gpd.GeoDataFrame,
              communities: gpd.GeoDataFrame, locked: gpd.GeoDataFrame | None, storage: Any,
              previous: gpd.GeoDataFrame | None = None) -> GridPlan:
    grid = settings["units"]["precision_m"]
    min_hole = settings["units"]["sliver_hole_m2"]
    u = units.units
    ng = len(grid_comm)
    ok = unit_label >= 0
    hh = np.bincount(unit_label[ok], weights=u["households"].to_numpy(float)[ok], minlength=ng)
    geoms = union_groups(u.geometry.values, unit_label, ng, grid=grid, min_hole_m2=min_hole)
    grids = gpd.GeoDataFrame({
        "community_id": np.array(grid_comm, dtype=object), "households": hh.round().astype(int),
        "locked": False, "reason": np.array(grid_reason, dtype=object),
        "previous_id": np.array(grid_prev, dtype=object),
    }, geometry=gpd.GeoSeries(geoms, crs=units.crs), crs=units.crs)
    taken = set() if locked is None else set(locked["id"])
    keep_ids = keep_codes = None
    if previous is not None and len(previous):
        old_code = previous.set_index("id")["code"] if "code" in previous else pd.Series(dtype=object)
        keep_ids = grids["previous_id"].where(~grids["previous_id"].isin(taken))
        keep_codes = keep_ids.map(old_code)
    # numbered on the metric geometries (the storage CRS is often geographic)
    ids, codes = assign_codes(grids, communities, settings=settings, taken=taken,
                              keep_ids=keep_ids, keep_codes=keep_codes)
    grids = grids.to_crs(storage)
    grids.insert(0, "id", ids)
    grids.insert(1, "code", codes)
    unit_gid = np.full(len(u), None, dtype=object)
    unit_gid[ok] = grids["id"].to_numpy(dtype=object)[unit_label[ok]]
    b = units.buildings
    bgrid = pd.Series(None, index=buildings.index, dtype=object)
    ub = b["unit"].to_numpy()
    has = ub >= 0
    bgrid.loc[b.index[has]] = unit_gid[ub[has]]
    if locked is not None and len(locked):
        lk = locked.to_crs(storage).copy()
        lk["reason"] = ""
        lk["previous_id"] = lk["id"]
        in_locked = buildings["grid_id"].isin(set(lk["id"])) if "grid_id" in buildings else \
            pd.Series(False, index=buildings.index)
        bgrid.loc[in_locked[in_locked].index] = buildings.loc[in_locked, "grid_id"]
        counts = pd.to_numeric(buildings.loc[in_locked, "households"], errors="coerce").fillna(0) \
            .groupby(buildings.loc[in_locked, "grid_id"]).sum()
        lk["households"] = lk["id"].map(counts).fillna(0).round().astype(int)
        cols = ["id", "code", "community_id", "households", "locked", "reason", "previous_id",
                "geometry"]
        grids = gpd.GeoDataFrame(pd.concat([grids[cols], lk[cols]], ignore_index=True),
                                 geometry="geometry", crs=storage)
    issue_df = pd.DataFrame(issues, columns=["community_id", "reason", "households", "detail"])
    if len(issue_df):
        gids = grids.groupby(["community_id", "reason"])["id"].apply(list)
        issue_df["grid_ids"] = [gids.get((c, r), []) for c, r in
                                zip(issue_df["community_id"], issue_df["reason"])]
    else:
        issue_df["grid_ids"] = []
    units.units["grid_id"] = unit_gid
    return GridPlan(grids=grids, building_grid=bgrid, units=units, unit_grid=unit_gid,
                    issues=issue_df, band=band, settings=settings)
