"""Buildings and estates: building sites on every block, households, lanes, estates.

Each block (or hamlet) gets a lattice of building sites of its kind, set back from every
street and never overlapping (:func:`sites`); residential sites are taken until each
community holds its households (:func:`allocate`); lanes run between building rows
(:func:`lanes`) and every block of walk-ups or high-rises becomes an estate, the old ones
mostly open with few access doors (:func:`estates`).

Examples
--------
>>> import numpy as np
>>> fit_targets(np.array([100.0, 100.0]), np.array([50.0, 400.0]), 1.0).tolist()
[50.0, 150.0]
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from beatgrid.gis.sample.common import (Params, Rng, integers, names, only, rects,
                                        segments_local, uniform)
from beatgrid.gis.sample.layout import Layout, Plan
from beatgrid.gis.sample.streets import road_pieces, street_frame

RESIDENTIAL_KINDS = ("walkup", "highrise", "urban_village", "house")
ESTATE_KINDS = ("walkup", "highrise")
LANE_CLASS = {"walkup": "lane", "urban_village": "lane", "house": "lane", "highrise": "service"}


def sites(groups: pd.DataFrame, lay: Layout, p: Params, rng: Rng) -> pd.DataFrame:
    """Every possible building position: a lattice per block (cell) or hamlet (disk).

    Parameters
    ----------
    groups
        Blocks and hamlets (:func:`beatgrid.gis.sample.streets.urban_grid`,
        :func:`~beatgrid.gis.sample.streets.villages`); ``ny``, ``v_start`` and ``py``
        (rows, first row, row pitch) are added to it.
    lay
        :class:`beatgrid.gis.sample.layout.Layout`.
    p, rng
        Sample settings and numpy Generator.

    Returns
    -------
    DataFrame
        One row per site inside its community's setback: group, comm, kind, local
        position and size, frame and rectangle ``geometry``.
    """
    bt = p["buildings"]
    kind = groups["kind"].to_numpy()
    n = len(groups)
    dims = {k: np.zeros(n) for k in ("length_m", "depth_m", "gap_m", "row_gap_m")}
    for name in np.unique(kind):
        m = kind == name
        for key, arr in dims.items():
            arr[m] = uniform(rng, bt[name][key], int(m.sum()))
    L, D, gap, row_gap = dims["length_m"], dims["depth_m"], dims["gap_m"], dims["row_gap_m"]
    g = {c: groups[c].to_numpy(dtype=float) for c in ("u0", "u1", "v0", "v1", "margin")}
    width, height = g["u1"] - g["u0"] - 2 * g["margin"], g["v1"] - g["v0"] - 2 * g["margin"]
    px, py = L + gap, D + row_gap
    nx = np.floor((width + gap) / px).clip(0).astype(int)
    ny = np.floor((height + row_gap) / py).clip(0).astype(int)
    u_start = g["u0"] + g["margin"] + (width - (nx * px - gap)) / 2 + L / 2
    v_start = g["v0"] + g["margin"] + (height - (ny * py - row_gap)) / 2 + D / 2
    groups["ny"], groups["v_start"], groups["py"] = ny, v_start, py
    count = nx * ny
    gi = np.repeat(np.arange(n), count)
    k = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    ix, iy = k % nx[gi], k // nx[gi]
    out = pd.DataFrame({"group": gi, "comm": groups["comm"].to_numpy()[gi], "kind": kind[gi],
                        "u": u_start[gi] + ix * px[gi], "v": v_start[gi] + iy * py[gi],
                        "ix": ix, "iy": iy, "L": L[gi], "D": D[gi], "py": py[gi]})
    for c in ("theta", "ox", "oy"):
        out[c] = groups[c].to_numpy(dtype=float)[gi]
    radius = groups["radius"].to_numpy(dtype=float)[gi]
    out["radius"] = radius
    in_disk = np.isnan(radius) | (np.hypot(out.u, out.v) + np.hypot(out.L, out.D) / 2
                                  <= radius)
    out = out[in_disk].reset_index(drop=True)
    geom = rects(out.u.to_numpy(), out.v.to_numpy(), out.L.to_numpy(), out.D.to_numpy(),
                 out.theta.to_numpy(), out.ox.to_numpy(), out.oy.to_numpy())
    setback = p["streets"]["setback_m"]
    inner = shapely.buffer(lay.polys, -max(setback["primary"], setback["secondary"]),
                           join_style="mitre")
    inside = shapely.within(geom, inner[out["comm"].to_numpy()])
    out["geometry"] = geom
    return out[inside].reset_index(drop=True)


def clear_of_roads(sites: pd.DataFrame, roads: pd.DataFrame, p: Params) -> pd.DataFrame:
    """Drop building sites closer to a curved or village road than its setback."""
    if not len(roads) or not len(sites):
        return sites
    s = p["streets"]
    pieces, owner = road_pieces(roads, s["segment_m"])
    distance = roads["street_class"].map(s["setback_m"]).to_numpy(dtype=float)[owner]
    tree = shapely.STRtree(sites["geometry"].to_numpy())
    hit = tree.query(pieces, predicate="dwithin", distance=distance)[1]
    return sites.drop(index=np.unique(hit)).reset_index(drop=True)


def _building_attributes(sites: pd.DataFrame, p: Params, rng: Rng) -> None:
    bt = p["buildings"]
    n = len(sites)
    kind = sites["kind"].to_numpy()
    levels, units, hh = np.ones(n, int), np.ones(n, int), np.zeros(n, int)
    use = np.full(n, "residential", dtype=object)
    for name in np.unique(kind):
        m, spec = kind == name, bt[name]
        k = int(m.sum())
        levels[m] = integers(rng, spec["levels"], k)
        if name not in RESIDENTIAL_KINDS:
            use[m] = name
            continue
        if "per_landing" in spec:
            units[m] = integers(rng, spec["units"], k)
            hh[m] = np.clip(units[m] * levels[m] * integers(rng, spec["per_landing"], k),
                            *spec["households"])
        else:
            hh[m] = integers(rng, spec["households"], k)
        use[m & (rng.random(n) < spec["mixed_share"])] = "mixed"
    sites["levels"], sites["units"], sites["households"], sites["use"] = levels, units, hh, use


def allocate(sites: pd.DataFrame, plan: Plan, p: Params, rng: Rng) -> pd.DataFrame:
    """Draw each site's storeys, units, households and use, then pick residential sites
    until each community holds its households; non-residential sites are all kept."""
    _building_attributes(sites, p, rng)
    comm = sites["comm"].to_numpy()
    res = sites["kind"].isin(RESIDENTIAL_KINDS).to_numpy()
    n = len(plan.target)
    capacity = np.bincount(comm[res], weights=sites["households"][res], minlength=n)
    target = fit_targets(plan.target.astype(float), capacity, p["population"]["capacity_use"])
    # fill order: old walk-up blocks first, then blocks in random order (row by row);
    # hamlets from the centre outwards
    rank = rng.permutation(sites["group"].max() + 1)[sites["group"]]
    rank = rank + (sites["kind"] != "walkup").to_numpy() * (sites["group"].max() + 1)
    hamlet = (sites["kind"] == "house").to_numpy()
    spread = np.hypot(sites.u, sites.v) / sites["radius"].fillna(1.0)
    noise = rng.uniform(0, p["villages"]["fill_noise"], len(sites))
    key = np.where(hamlet, spread + noise,
                   rank * 1e6 + sites["iy"] * 1e3 + sites["ix"])
    order = np.lexsort((key, comm))
    sorted_hh = np.where(res, sites["households"], 0)[order]
    cum = pd.Series(sorted_hh).groupby(comm[order]).cumsum().to_numpy()
    take = np.zeros(len(sites), bool)
    take[order] = (cum - sorted_hh / 2) < target[comm[order]]
    keep = ~res | (take & res)
    return sites[keep].reset_index(drop=True)


def fit_targets(target: np.ndarray, capacity: np.ndarray, use: float) -> np.ndarray:
    """Cap targets at a share of capacity and hand the shortfall to communities with room.

    Examples
    --------
    >>> fit_targets(np.array([100, 50]), np.array([80, 200]), 0.9).tolist()
    [72.0, 78.0]
    """
    cap = np.floor(capacity * use)
    fitted = np.minimum(target, cap)
    slack = cap - fitted
    short = target.sum() - fitted.sum()
    if short > 0 and slack.sum() > 0:
        fitted += np.minimum(slack, np.floor(short * slack / slack.sum()))
    return fitted


def lanes(buildings: pd.DataFrame, groups: pd.DataFrame, lay: Layout, p: Params
          ) -> pd.DataFrame:
    """Lanes (service roads in high-rise estates) in every other gap between building rows."""
    b = buildings[buildings["kind"].isin(list(LANE_CLASS))]
    if not len(b):
        return street_frame([], "lane")
    q = b["iy"] // 2
    ext = b.assign(q=q, lo=b.u - b.L / 2, hi=b.u + b.L / 2).groupby(["group", "q"])
    rows = ext.agg(lo=("lo", "min"), hi=("hi", "max")).reset_index()
    g = groups.loc[rows["group"]].reset_index(drop=True)
    ok = (2 * rows["q"] + 1 < g["ny"]).to_numpy()
    rows, g = rows[ok].reset_index(drop=True), g[ok].reset_index(drop=True)
    hamlet = np.isfinite(g["radius"].to_numpy(dtype=float))
    pad = p["streets"]["setback_m"]["lane"] + 1
    lo = np.where(hamlet, rows["lo"] - pad, g["u0"])
    hi = np.where(hamlet, rows["hi"] + pad, g["u1"])
    v = (g["v_start"] + 2 * rows["q"] * g["py"] + g["py"] / 2).to_numpy()
    line = segments_local(lo, v, hi, v, g["theta"].to_numpy(), g["ox"].to_numpy(),
                          g["oy"].to_numpy())
    comm = g["comm"].to_numpy()
    line = only(shapely.intersection(line, lay.polys[comm]), 1)
    ok = shapely.length(line) > pad
    cls = g["kind"].map(LANE_CLASS).to_numpy()
    return street_frame(line[ok], cls[ok], comm=comm[ok], rural=lay.rural[comm[ok]])


def estates(buildings: pd.DataFrame, lay: Layout, roads: pd.DataFrame, p: Params, rng: Rng
            ) -> pd.DataFrame:
    """One estate per block of walk-ups or high-rises: the buildings' hull grown a little,
    cut back from roads crossing it; old estates mostly open with few access doors.

    Adds ``estate`` (estate position, NaN outside estates) to ``buildings``.
    """
    s, e = p["streets"], p["estates"]
    m = buildings["kind"].isin(ESTATE_KINDS).to_numpy()
    group = buildings["group"].to_numpy()[m]
    uniq, inverse = np.unique(group, return_inverse=True)
    hull = shapely.convex_hull(shapely.multipolygons(buildings["geometry"].to_numpy()[m],
                                                     indices=inverse))
    first = np.unique(inverse, return_index=True)[1]
    sel = buildings[m].iloc[first]
    comm = sel["comm"].to_numpy()
    geom = shapely.intersection(shapely.buffer(hull, s["estate_margin_m"], join_style="mitre"),
                                lay.polys[comm])
    if len(roads):
        cut = shapely.union_all(shapely.buffer(roads["geometry"].to_numpy(),
                                               s["estate_road_clearance_m"]))
        hit = shapely.intersects(geom, cut)
        geom[hit] = shapely.difference(geom[hit], cut)
    geom = only(geom, 2)
    old = (sel["kind"] == "walkup").to_numpy()
    k = len(uniq)
    stairwells = np.bincount(inverse, weights=buildings["units"].to_numpy()[m], minlength=k)
    open_ = np.zeros(k, bool)
    olds = rng.permutation(np.flatnonzero(old))
    open_[olds[:round(e["old_open_share"] * len(olds))]] = True
    doors = np.where(open_, np.round(stairwells * uniform(rng, e["old_access_door_share"], k)),
                     stairwells)
    years = np.where(old, integers(rng, p["buildings"]["walkup"]["year_built"], k),
                     integers(rng, p["buildings"]["highrise"]["year_built"], k))
    label = names(k, [""], rng)
    suffix = np.where(old, rng.choice(["小区", "新村"], k),
                      rng.choice(["花园", "苑", "家园", "府", "公寓"], k))
    out = pd.DataFrame({"group": uniq, "comm": comm, "is_old": old,
                        "access": np.where(open_, "open", "closed"),
                        "access_doors": doors.astype(int),
                        "stairwells": stairwells.astype(int), "year_built": years,
                        "name": label + suffix, "geometry": geom})
    buildings["estate"] = pd.Series(np.arange(k), index=uniq).reindex(buildings["group"]).to_numpy()
    buildings.loc[~buildings["kind"].isin(ESTATE_KINDS), "estate"] = np.nan
    return out
