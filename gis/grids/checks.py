"""Checks of a basic-grid plan: every violation of the grid rules, with grid, figure and rule.

Violation kinds (:data:`VIOLATIONS`):

``households_below_min`` / ``households_above_max``
    households of the grid (recounted from ``buildings.grid_id`` when given) out of
    ``[band.min_households, band.max_households]``;
``households_mismatch``
    the stored ``households`` differs from the recount (warning);
``multipart``
    the grid is in several pieces;
``hole`` / ``enclave``
    the grid has a hole; a grid lies wholly inside another grid's hole;
``gap``
    part of a community in no grid (area over ``checks.area_tolerance_m2``);
``building_unassigned``
    a building in no grid (``grid_id`` empty or unknown);
``overlap``
    two grids overlap;
``outside_community``
    a grid crosses the boundary of its community (or its community is unknown);
``building_cut``
    a grid border cuts a building (more than ``checks.building_cut_share`` of its
    footprint lies outside the grid it belongs to);
``building_on_community_boundary``
    a building crosses its community boundary: a data problem, not the plan's (warning).

Examples
--------
>>> from beatgrid.gis import Project
>>> project = Project.open("sample-geodata/ningbo-jiangbei.gpkg")     # no grids planned yet
>>> violations = check_grids(project.layer("grids"), communities=project.layer("communities"))
>>> sorted(set(violations["kind"])), len(violations), has_errors(violations)
(['gap'], 12, True)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from beatgrid.gis.config import section_or_default
from beatgrid.gis.crs import metric_crs
from beatgrid.gis.errors import InputError
from beatgrid.gis.grids.band import Band, band_from_settings

#: Violation kind -> (severity, rule text).
VIOLATIONS: dict[str, tuple[str, str]] = {
    "households_below_min": ("error", "households >= {lo}"),
    "households_above_max": ("error", "households <= {hi}"),
    "households_mismatch": ("warning", "stored households = households of its buildings"),
    "multipart": ("error", "a grid is one piece"),
    "hole": ("error", "a grid has no holes"),
    "enclave": ("error", "a grid is not enclosed by another grid"),
    "gap": ("error", "every square metre of a community is in a grid (无缝覆盖)"),
    "building_unassigned": ("error", "every building is in a grid"),
    "overlap": ("error", "grids do not overlap"),
    "outside_community": ("error", "a grid stays inside its community (区划不变)"),
    "building_cut": ("error", "grid borders run between buildings, never through one"),
    "building_on_community_boundary": ("warning", "a building lies inside one community"),
}

VIOLATION_COLUMNS = ["kind", "severity", "grid_id", "community_id", "other_id", "value", "unit",
                     "rule", "message"]


@dataclass(frozen=True)
class Violation:
    """One broken rule: which grid, what figure, which rule.

    Examples
    --------
    >>> violation("gap", None, "C01", 12.5, "m2", "12 m2 in no grid").rule
    'every square metre of a community is in a grid (无缝覆盖)'
    """

    kind: str
    grid_id: Any
    community_id: Any
    value: float
    unit: str
    rule: str
    message: str
    other_id: Any = None
    severity: str = "error"


def violation(kind: str, grid_id: Any, community_id: Any, value: float, unit: str,
              message: str, band: Band | None = None, other_id: Any = None) -> Violation:
    """A :class:`Violation` of ``kind`` (its severity and rule from :data:`VIOLATIONS`).

    Examples
    --------
    >>> violation("households_below_min", "G1", "C", 250, "households", "250 households",
    ...           band=Band(300, 500, 400)).rule
    'households >= 300'
    """
    sev, rule = VIOLATIONS[kind]
    if band is not None:
        rule = rule.format(lo=band.lo, hi=band.hi)
    return Violation(kind=kind, grid_id=grid_id, community_id=community_id, value=float(value),
                     unit=unit, rule=rule, message=message, other_id=other_id, severity=sev)


def violation_frame(violations: Iterable[Violation]) -> pd.DataFrame:
    """Violations as a frame of :data:`VIOLATION_COLUMNS` (empty with the columns).

    Examples
    --------
    >>> list(violation_frame([]).columns) == VIOLATION_COLUMNS
    True
    """
    violations = list(violations)
    if not violations:
        return pd.DataFrame(columns=VIOLATION_COLUMNS)
    return pd.DataFrame([asdict(v) for v in violations])[VIOLATION_COLUMNS]


def check_grids(grids: gpd.GeoDataFrame, *, communities: gpd.GeoDataFrame | None = None,
                buildings: gpd.GeoDataFrame | None = None,
                grid_ids: Iterable[Any] | None = None, band: Band | None = None,
                settings: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """List every violation of the grid rules.

    Parameters
    ----------
    grids
        The grids layer (``id``, ``community_id``, ``households``, polygons).
    communities
        The communities layer; needed for gaps and boundary crossings.
    buildings
        Buildings with ``households`` and ``grid_id``; needed for the household
        recount, unassigned and cut buildings.
    grid_ids
        Check only these grids (incremental re-check after an edit): geometry checks
        are limited to them and their neighbours, gaps to their communities.
    band
        A :class:`~beatgrid.gis.grids.band.Band` (default from settings).
    settings
        Grid settings (``checks`` table; the shipped ones when None).

    Returns
    -------
    DataFrame
        :data:`VIOLATION_COLUMNS`, one row per violation (empty when the plan is clean).

    Examples
    --------
    >>> import shapely, geopandas as gpd
    >>> g = gpd.GeoDataFrame({"id": ["a", "b"], "community_id": ["C", "C"],
    ...     "households": [250, 400]}, geometry=[shapely.box(0, 0, 10, 10),
    ...     shapely.box(5, 0, 20, 10)], crs=4550)
    >>> check_grids(g)[["kind", "grid_id", "value"]].values.tolist()
    [['households_below_min', 'a', 250.0], ['overlap', 'a', 50.0]]
    """
    settings = section_or_default(settings, "grids")
    if grid_ids is not None:
        grid_ids = list(grid_ids)
    band = band if band is not None else band_from_settings(settings)
    cfg = settings["checks"]
    tol = cfg["area_tolerance_m2"]
    out: list[Violation] = []
    if grids is None or len(grids) == 0:
        if communities is not None and len(communities):
            for cid in communities["id"]:
                out.append(violation("gap", None, cid, 0, "m2", "the community has no grid"))
        return violation_frame(out)
    for col in ("id", "community_id"):
        if col not in grids.columns:
            raise InputError(f"the grids layer has no {col!r} column",
                             fix="import or generate grids with id and community_id")
    crs = metric_crs(grids, layer="grids")
    g = grids.to_crs(crs).reset_index(drop=True)
    geoms = shapely.make_valid(g.geometry.values)
    ids = g["id"].to_numpy(dtype=object)
    comm_of = g["community_id"].to_numpy(dtype=object)
    focus = np.ones(len(g), bool) if grid_ids is None else np.isin(ids, list(grid_ids))
    gid_index = {k: i for i, k in enumerate(ids)}

    # -- households ----------------------------------------------------------------
    stored = pd.to_numeric(g.get("households", pd.Series(0, index=g.index)),
                           errors="coerce").fillna(0).to_numpy(float)
    hh = stored
    bld = None
    if buildings is not None and len(buildings) and "grid_id" in buildings.columns:
        bld = buildings.to_crs(crs)
        bh = pd.to_numeric(bld["households"], errors="coerce").fillna(0)
        counted = bh.groupby(bld["grid_id"]).sum()
        hh = g["id"].map(counted).fillna(0).to_numpy(float)
        for i in np.flatnonzero(focus & (np.abs(hh - stored) > 0.5)):
            out.append(violation("households_mismatch", ids[i], comm_of[i], stored[i], "households",
                          f"stored {stored[i]:.0f} households, its buildings hold {hh[i]:.0f}"))
    for i in np.flatnonzero(focus):
        if hh[i] < band.lo:
            out.append(violation("households_below_min", ids[i], comm_of[i], hh[i], "households",
                          f"{hh[i]:.0f} households, {band.lo - hh[i]:.0f} below the minimum",
                          band=band))
        elif hh[i] > band.hi:
            out.append(violation("households_above_max", ids[i], comm_of[i], hh[i], "households",
                          f"{hh[i]:.0f} households, {hh[i] - band.hi:.0f} above the maximum",
                          band=band))

    # -- shape: pieces, holes, enclaves ---------------------------------------------
    parts_n = shapely.get_num_geometries(geoms)
    for i in np.flatnonzero(focus):
        parts = shapely.get_parts(geoms[i])
        parts = parts[shapely.area(parts) > tol]
        if len(parts) > 1:
            out.append(violation("multipart", ids[i], comm_of[i], len(parts), "pieces",
                          f"the grid is in {len(parts)} pieces"))
        holes = [shapely.Polygon(r) for p in parts for r in p.interiors]
        holes = [h for h in holes if h.area > tol]
        if holes:
            out.append(violation("hole", ids[i], comm_of[i], sum(h.area for h in holes), "m2",
                          f"{len(holes)} hole(s) of {sum(h.area for h in holes):,.0f} m2"))
    del parts_n
    shells = shapely.polygons(shapely.get_exterior_ring(shapely.get_parts(geoms)))
    shell_owner = shapely.get_parts(geoms, return_index=True)[1]
    tree = shapely.STRtree(geoms)
    # grids whose piece lies inside another grid's outline: enclave
    si, gi = tree.query(shells, predicate="contains")
    for s, j in zip(si, gi):
        owner = shell_owner[s]
        if owner == j or not (focus[owner] or focus[j]):
            continue
        out.append(violation("enclave", ids[j], comm_of[j], shapely.area(geoms[j]), "m2",
                      f"the grid lies inside grid {ids[owner]}", other_id=ids[owner]))

    # -- overlaps -------------------------------------------------------------------
    a, b = tree.query(geoms, predicate="intersects")
    keep = (a < b) & (focus[a] | focus[b])
    a, b = a[keep], b[keep]
    if len(a):
        area = shapely.area(shapely.intersection(geoms[a], geoms[b]))
        for x, y, ar in zip(a, b, area):
            if ar > tol:
                out.append(violation("overlap", ids[x], comm_of[x], ar, "m2",
                              f"overlaps grid {ids[y]} by {ar:,.0f} m2", other_id=ids[y]))

    # -- communities: outside and gaps ----------------------------------------------
    cm = None
    if communities is not None and len(communities):
        cm = communities.to_crs(crs).set_index("id").geometry
        cm = gpd.GeoSeries(shapely.make_valid(cm.values), index=cm.index, crs=crs)
        for i in np.flatnonzero(focus):
            cgeom = cm.get(comm_of[i])
            if cgeom is None:
                out.append(violation("outside_community", ids[i], comm_of[i], shapely.area(geoms[i]),
                              "m2", f"community {comm_of[i]!r} does not exist"))
                continue
            outside = shapely.area(shapely.difference(geoms[i], cgeom))
            if outside > tol:
                out.append(violation("outside_community", ids[i], comm_of[i], outside, "m2",
                              f"{outside:,.0f} m2 lie outside community {comm_of[i]}"))
        comms = pd.unique(comm_of[focus]) if grid_ids is not None else cm.index
        for cid in comms:
            if cid not in cm.index:
                continue
            mine = geoms[comm_of == cid]
            rest = shapely.difference(cm[cid], shapely.union_all(mine)) if len(mine) else cm[cid]
            for part in shapely.get_parts(rest):
                if part.area > tol:
                    # a gap fully enclosed by one grid is already reported as its hole
                    out.append(violation("gap", None, cid, part.area, "m2",
                                  f"{part.area:,.0f} m2 of community {cid} in no grid near "
                                  f"({part.representative_point().x:.0f}, "
                                  f"{part.representative_point().y:.0f})"))

    # -- buildings ------------------------------------------------------------------
    if bld is not None:
        bgeo = shapely.make_valid(bld.geometry.values)
        bgid = bld["grid_id"].to_numpy(dtype=object)
        row = np.array([gid_index.get(x, -1) if x is not None and x == x else -1 for x in bgid])
        check_b = np.ones(len(bld), bool) if grid_ids is None else np.isin(bgid, list(grid_ids))
        bids = bld["id"].to_numpy(dtype=object) if "id" in bld else bld.index.to_numpy()
        if grid_ids is None:
            for k in np.flatnonzero(row < 0):
                known = bgid[k] is not None and bgid[k] == bgid[k]
                out.append(violation("building_unassigned", bgid[k] if known else None, None,
                              float(pd.to_numeric(bld["households"].iloc[k], errors="coerce") or 0),
                              "households", f"building {bids[k]} is in no grid"
                              + (f" (unknown grid {bgid[k]!r})" if known else "")))
        sel = np.flatnonzero((row >= 0) & check_b)
        if len(sel):
            bg = bgeo[sel]
            ggeo = geoms[row[sel]]
            barea = np.maximum(shapely.area(bg), 1e-9)
            cgeo = np.array([cm.get(comm_of[r]) if cm is not None else None for r in row[sel]],
                            dtype=object)
            has_c = np.array([c is not None for c in cgeo])
            inside_c = bg.copy()
            if has_c.any():
                # only the buildings not wholly inside their community are cut (a prepared
                # community answers that fast; intersecting 250,000 buildings with their
                # community polygons was most of the check on a city's partition)
                idx = np.flatnonzero(has_c)
                shapely.prepare(cgeo[idx])
                todo = idx[~shapely.covers(cgeo[idx], bg[idx])]
                inside_c[todo] = shapely.intersection(bg[todo], cgeo[todo])
                off = shapely.area(bg[has_c]) - shapely.area(inside_c[has_c])
                for k, o in zip(sel[has_c], off):
                    if o > cfg["building_cut_share"] * max(shapely.area(bgeo[k]), 1e-9):
                        r = row[k]
                        out.append(violation("building_on_community_boundary", ids[r], comm_of[r], o, "m2",
                                      f"building {bids[k]} has {o:,.0f} m2 outside community "
                                      f"{comm_of[r]}"))
            cut = np.zeros(len(sel))
            shapely.prepare(ggeo)
            todo = np.flatnonzero(~shapely.covers(ggeo, inside_c))
            cut[todo] = shapely.area(shapely.difference(inside_c[todo], ggeo[todo]))
            for k, c, ba in zip(sel, cut, barea):
                if c > cfg["building_cut_share"] * ba:
                    r = row[k]
                    out.append(violation("building_cut", ids[r], comm_of[r], c, "m2",
                                  f"building {bids[k]} has {c:,.0f} m2 of {ba:,.0f} m2 outside "
                                  f"its grid"))
    return violation_frame(out)


def has_errors(violations: pd.DataFrame) -> bool:
    """Whether any violation is an error (warnings do not fail ``grids check``).

    Examples
    --------
    >>> has_errors(violation_frame([]))
    False
    """
    return bool(len(violations) and (violations["severity"] == "error").any())


def format_violations(violations: pd.DataFrame, *, limit: int | None = 200) -> str:
    """Readable lines: ``[severity] kind: grid G (community C): message; rule: ...``.

    Examples
    --------
    >>> print(format_violations(violation_frame([violation("gap", None, "C01", 20, "m2",
    ...                                                    "20 m2 in no grid")])))
    [error] gap: no grid (community C01): 20 m2 in no grid; rule: every square metre of a community is in a grid (无缝覆盖)
    """
    lines = []
    for _, v in violations.head(limit or len(violations)).iterrows():
        where = f"grid {v['grid_id']}" if v["grid_id"] is not None else "no grid"
        lines.append(f"[{v['severity']}] {v['kind']}: {where} (community {v['community_id']}): "
                     f"{v['message']}; rule: {v['rule']}")
    if limit and len(violations) > limit:
        lines.append(f"... {len(violations) - limit} more (see --csv)")
    return "\n".join(lines)
