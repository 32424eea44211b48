"""The basic-grid generator: communities split into contiguous 300-500-household grids.

For each community the atomic units (:mod:`beatgrid.gis.grids.units`) are partitioned
into ``k`` contiguous grids with households in ``[min, max]`` (settings
``band.min_households`` / ``band.max_households``; ``k`` is the feasible count closest
to ``households / target``), preferring borders on streets, compact shapes and whole
estates (:mod:`beatgrid.gis.grids.search`). The result is deterministic for a given seed.

When no valid plan exists the community still gets the closest plan, and every grid out
of range carries a named reason (:data:`REASONS`):

``below_min``
    the community (or the part left free by locked grids) has fewer than ``min``
    households: one grid;
``no_grid_count_fits``
    no whole number of grids fits the total (501-599 households with 300-500): the
    count with the smallest deviation, balanced;
``indivisible_unit_over_max``
    one unit (a single building, or a block of one building) holds more than ``max``:
    it forms its own grid;
``no_valid_partition_found``
    a count fits but the search found no contiguous plan in the band (units too lumpy
    even after splitting every block into building cells): the closest plan found;
``community_in_pieces``
    the community (or its free part) is in several pieces that cannot each form a
    grid: a grid spans pieces.

Examples
--------
>>> plan = generate_grids(communities, streets, buildings, seed=0)   # doctest: +SKIP
>>> plan.grids[["id", "households", "reason"]]                      # doctest: +SKIP
"""

from __future__ import annotations

import functools

import math
import os
import zlib
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from beatgrid.gis.grids import search as gs
from beatgrid.gis.grids.units import AtomicUnits, build_units
from beatgrid.gis.errors import InputError
from beatgrid.gis.config import load_settings

BELOW_MIN = "below_min"
NO_GRID_COUNT_FITS = "no_grid_count_fits"
INDIVISIBLE_UNIT_OVER_MAX = "indivisible_unit_over_max"
NO_VALID_PARTITION_FOUND = "no_valid_partition_found"
COMMUNITY_IN_PIECES = "community_in_pieces"

#: Infeasibility reasons: code -> (meaning, what the planner can do).
REASONS = {
    BELOW_MIN: ("fewer households than the minimum of one grid",
                "merge the community's grid with a neighbour's by hand or lower band.min_households"),
    NO_GRID_COUNT_FITS: ("no whole number of grids puts every grid in the band",
                         "accept the closest plan or widen the band in the grids settings"),
    INDIVISIBLE_UNIT_OVER_MAX: ("a single building or block holds more than the maximum",
                                "split the building's households by entrance, or accept the grid"),
    NO_VALID_PARTITION_FOUND: ("a grid count fits but no contiguous plan in the band was found",
                               "add lanes to the streets layer, or edit the closest plan by hand"),
    COMMUNITY_IN_PIECES: ("the community is in several pieces; a grid spans pieces",
                          "check the community boundary for slivers and exclaves"),
}


@dataclass(frozen=True)
class Band:
    """The household band of one grid and the size aimed at."""

    lo: int
    hi: int
    target: float

    def contains(self, households) -> np.ndarray:
        h = np.asarray(households)
        return (h >= self.lo) & (h <= self.hi)


def band_from_settings(settings: dict, *, min_households=None, max_households=None,
                       target_households=None) -> Band:
    """The :class:`Band` of the settings, with optional overrides; checked.

    Examples
    --------
    >>> band_from_settings(load_settings("grids"))
    Band(lo=300, hi=500, target=400.0)
    """
    b = settings["band"]
    lo = b["min_households"] if min_households is None else min_households
    hi = b["max_households"] if max_households is None else max_households
    target = b["target_households"] if target_households is None else target_households
    if lo is None or hi is None or lo < 1 or hi < lo:
        raise InputError(f"household band [{lo}, {hi}] is not valid",
                         fix="give 1 <= --min <= --max (e.g. --min 300 --max 500)")
    if not lo <= target <= hi:
        target = (lo + hi) / 2
    return Band(int(lo), int(hi), float(target))


def grid_counts(households: float, band: Band) -> list[int]:
    """Feasible grid counts for a total, best (closest to ``households / target``) first.

    Examples
    --------
    >>> b = Band(300, 500, 400)
    >>> grid_counts(1700, b), grid_counts(550, b), grid_counts(250, b)
    ([4, 5], [], [])
    """
    kmin, kmax = math.ceil(households / band.hi), math.floor(households / band.lo)
    ks = [k for k in range(max(kmin, 1), kmax + 1)]
    return sorted(ks, key=lambda k: (abs(k - households / band.target), k))


def closest_count(households: float, band: Band) -> int:
    """The grid count with the smallest deviation from the band (when none fits)."""
    best, best_dev = 1, math.inf
    for k in {max(1, math.floor(households / band.hi)), max(1, math.ceil(households / band.hi)),
              max(1, math.floor(households / band.lo)), max(1, math.ceil(households / band.lo))}:
        avg = households / k
        dev = max(0.0, band.lo - avg, avg - band.hi)
        if dev < best_dev - 1e-9 or (abs(dev - best_dev) < 1e-9 and k < best):
            best, best_dev = k, dev
    return best


@dataclass
class GridPlan:
    """A plan of basic grids.

    Attributes
    ----------
    grids
        The grids layer (storage CRS): ``id``, ``code``, ``community_id``,
        ``households``, ``locked``, ``reason`` (empty when the grid is fine) and the
        polygon.
    building_grid
        Grid id of every input building (index of the input buildings; None for a
        building outside every community).
    units
        The atomic units used, with ``unit_grid`` (grid id per unit).
    unit_grid
        Grid id per unit (object array).
    issues
        One row per infeasibility: ``community_id``, ``reason``, ``households``,
        ``grid_ids``, ``detail``.
    """

    grids: gpd.GeoDataFrame
    building_grid: pd.Series
    units: AtomicUnits
    unit_grid: np.ndarray
    issues: pd.DataFrame
    band: Band
    settings: dict = field(default_factory=dict)


# ------------------------------------------------------------------------------------
# One community
# ------------------------------------------------------------------------------------

def community_graph(units: AtomicUnits, idx: np.ndarray, *, settings: dict,
                    previous: np.ndarray | None = None) -> tuple[gs.UnitGraph, np.ndarray]:
    """The :class:`~beatgrid.gis.grids.search.UnitGraph` of the units ``idx`` (one community).

    Components are joined by zero-cost virtual edges between their nearest units, so the
    graph is connected; the second value flags virtual edges.
    """
    gen = settings["generator"]
    u = units.units
    loc = np.full(len(u), -1, dtype=np.int64)
    loc[idx] = np.arange(len(idx))
    e = units.edges
    ei, ej = loc[e["i"].to_numpy()], loc[e["j"].to_numpy()]
    keep = (ei >= 0) & (ej >= 0)
    ei, ej = ei[keep], ej[keep]
    length = e["length_m"].to_numpy()[keep]
    street = e["street"].to_numpy()[keep]
    same_est = e["same_estate"].to_numpy()[keep]
    cost = length * np.where(street, 1.0, gen["non_street_border_cost"]) \
        + length * gen["estate_border_cost"] * same_est
    bias = np.where(street, 1.0, 0.0) + np.where(same_est, 0.0, 0.5)
    if previous is not None:
        differ = np.array([a != b for a, b in zip(previous[ei], previous[ej])], dtype=bool)
        cost = np.where(differ, cost * gen["previous_border_bonus"], cost)
        bias = bias + np.where(differ, 1.0, 0.0)
    g = gs.UnitGraph(h=u["households"].to_numpy(float)[idx], area=u["area_m2"].to_numpy()[idx],
                     ext=u["exterior_m"].to_numpy()[idx], ei=ei, ej=ej, length=length,
                     cost=cost, bias=bias)
    virtual = np.zeros(len(ei), bool)
    comp = gs.components(g)
    if comp.max() > 0:
        cent = shapely.get_coordinates(shapely.point_on_surface(u.geometry.values[idx]))
        vi, vj = _join_components(cent, comp)
        m = len(vi)
        g = gs.UnitGraph(h=g.h, area=g.area, ext=g.ext, ei=np.concatenate([ei, vi]),
                         ej=np.concatenate([ej, vj]), length=np.concatenate([length, np.zeros(m)]),
                         cost=np.concatenate([cost, np.zeros(m)]),
                         bias=np.concatenate([bias, np.full(m, 3.0)]))
        virtual = np.concatenate([virtual, np.ones(m, bool)])
    return g, virtual


def _join_components(points: np.ndarray, comp: np.ndarray):
    """Edges joining components (Kruskal over the nearest point pairs of components)."""
    from scipy.spatial import cKDTree

    labels = comp.copy()
    vi, vj = [], []
    while labels.max() != labels.min():
        best = None
        for c in np.unique(labels):
            inside = np.flatnonzero(labels == c)
            outside = np.flatnonzero(labels != c)
            d, j = cKDTree(points[outside]).query(points[inside])
            k = int(np.argmin(d))
            cand = (d[k], inside[k], outside[j[k]])
            if best is None or cand[0] < best[0]:
                best = cand
        _, a, b = best
        vi.append(a)
        vj.append(b)
        labels[labels == labels[b]] = labels[a]
    return np.array(vi, dtype=np.int64), np.array(vj, dtype=np.int64)


def _solve_part(g, nodes, band, rng, gen, settings):
    """Partition one connected set of units; returns (list of node arrays, reason, detail)."""
    total = float(g.h[nodes].sum())
    if total < band.lo:
        return [nodes], BELOW_MIN, f"{total:.0f} households < {band.lo}"
    kw = dict(rng=rng, trees=gen["trees_per_split"], max_attempts=gen["max_attempts"],
              balance_weight=gen["balance_weight"], nodes=nodes)
    ks = grid_counts(total, band)
    for k in ks[:3]:
        labels = gs.tree_partition(g, k, lo=band.lo, hi=band.hi, **kw)
        if labels is not None:
            return _parts(labels, k), "", ""
    if ks:
        reason, k = NO_VALID_PARTITION_FOUND, ks[0]
        detail = f"{total:.0f} households, {k} grid(s) fit but no contiguous plan was found"
    else:
        reason, k = NO_GRID_COUNT_FITS, closest_count(total, band)
        detail = (f"{total:.0f} households: {math.floor(total / band.hi)} grid(s) would exceed "
                  f"{band.hi}, {math.ceil(total / band.lo) if total >= band.lo else 1} would "
                  f"fall below {band.lo}; {k} grid(s) of about {total / k:.0f}")
    avg = total / k
    width = band.hi - band.lo
    for widen in (0.0, 0.1, 0.25, 0.5, 1.0, None):
        if widen is None:
            lo, hi = 0.0, total
        else:
            lo = max(0.0, min(band.lo, avg) - widen * width)
            hi = max(band.hi, avg) + widen * width
        labels = gs.tree_partition(g, k, lo=lo, hi=hi, **kw)
        if labels is not None:
            # the closest plan: move border units while the households out of band fall
            labels = gs.repair_band(g, labels, lo=band.lo, hi=band.hi)
            parts = _parts(labels, k)
            if all(band.contains(g.h[p].sum()) for p in parts):
                return parts, "", ""
            return parts, reason, detail
    return [nodes], reason, detail


def _parts(labels, k):
    return [np.flatnonzero(labels == i) for i in range(k)]


def partition_community(units: AtomicUnits, community_id, *, band: Band, settings: dict,
                        rng: np.random.Generator, previous: np.ndarray | None = None):
    """Partition the units of one community.

    Parameters
    ----------
    units
        Atomic units (all communities).
    community_id
        The community.
    band
        Household band.
    settings
        Grid settings.
    rng
        Random generator.
    previous
        Previous grid id per unit of the community (stable mode), or None.

    Returns
    -------
    (idx, labels, reasons, issues)
        ``idx``: the community's unit rows; ``labels``: grid number per unit of ``idx``;
        ``reasons``: reason per grid number; ``issues``: list of dicts.
    """
    gen = settings["generator"]
    idx = units.of_community(community_id)
    g, virtual = community_graph(units, idx, settings=settings, previous=previous)
    n = g.n
    labels = np.full(n, -1, dtype=np.int64)
    reasons: list[str] = []
    issues: list[dict] = []
    if n == 0:
        return idx, labels, reasons, issues
    if previous is not None:
        return _stable(units, community_id, idx, g, virtual, previous, band, settings, rng)
    big = np.flatnonzero(g.h > band.hi)
    for b in big:
        labels[b] = len(reasons)
        reasons.append(INDIVISIBLE_UNIT_OVER_MAX)
    if len(big):
        issues.append(_issue(community_id, INDIVISIBLE_UNIT_OVER_MAX, g.h[big].sum(),
                             f"{len(big)} unit(s) over {band.hi}: "
                             + ", ".join(f"{v:.0f}" for v in g.h[big])))
    free = np.flatnonzero(labels < 0)
    _solve_free(g, free, labels, reasons, issues, community_id, band, rng, gen, settings)
    labels = gs.improve(g, labels, lo=band.lo, hi=band.hi, passes=gen["improve_passes"],
                        fixed=np.isin(np.arange(n), big))
    _flag_pieces(g, virtual, labels, reasons, issues, community_id)
    return idx, labels, reasons, issues


def _solve_free(g, free, labels, reasons, issues, community_id, band, rng, gen, settings):
    """Partition the free units (labels -1) component by component, in place."""
    if len(free) == 0:
        return
    comp = gs.components(g, free)
    for c in np.unique(comp):
        nodes = free[comp == c]
        total = g.h[nodes].sum()
        if total < band.lo:
            # a remainder too small for a grid joins an adjacent grid out of range already
            host = _adjacent_label(g, nodes, labels, prefer=[INDIVISIBLE_UNIT_OVER_MAX], reasons=reasons)
            if host is not None and (total == 0 or reasons[host]):
                labels[nodes] = host
                continue
        parts, reason, detail = _solve_part(g, nodes, band, rng, gen, settings)
        for p in parts:
            labels[p] = len(reasons)
            hh = g.h[p].sum()
            reasons.append(reason if reason and not band.contains(hh) else "")
        if reason:
            issues.append(_issue(community_id, reason, total, detail))


def _adjacent_label(g, nodes, labels, *, prefer=(), reasons=()):
    inside = np.zeros(g.n, bool)
    inside[nodes] = True
    a = inside[g.ei] & ~inside[g.ej]
    b = inside[g.ej] & ~inside[g.ei]
    other = np.concatenate([g.ej[a], g.ei[b]])
    shared = np.concatenate([g.length[a], g.length[b]])
    lab = labels[other]
    ok = lab >= 0
    if not ok.any():
        return None
    lab, shared = lab[ok], shared[ok]
    totals = pd.Series(shared).groupby(lab).sum()
    if prefer:
        pref = [x for x in totals.index if reasons[x] in prefer]
        if pref:
            totals = totals.loc[pref]
    return int(totals.idxmax())


def _flag_pieces(g, virtual, labels, reasons, issues, community_id):
    if not virtual.any():
        return
    vi, vj = g.ei[virtual], g.ej[virtual]
    spans = np.unique(labels[vi][labels[vi] == labels[vj]])
    for s in spans:
        if s >= 0 and not reasons[s]:
            reasons[s] = COMMUNITY_IN_PIECES
    if len(spans):
        issues.append(_issue(community_id, COMMUNITY_IN_PIECES, float(g.h.sum()),
                             f"{len(spans)} grid(s) span separate pieces of the community"))


def _issue(community_id, reason, households, detail):
    return {"community_id": community_id, "reason": reason, "households": int(round(households)),
            "detail": detail}


def _stable(units, community_id, idx, g, virtual, previous, band, settings, rng):
    """Keep valid previous grids; re-plan the rest, absorbing neighbours only as needed."""
    gen = settings["generator"]
    n = g.n
    labels = np.full(n, -1, dtype=np.int64)
    reasons: list[str] = []
    issues: list[dict] = []
    prev = pd.Series(previous).where(pd.notna(pd.Series(previous)), None)
    groups = {}
    for i, p in enumerate(prev.tolist()):
        if p is not None:
            groups.setdefault(p, []).append(i)
    big = set(np.flatnonzero(g.h > band.hi).tolist())
    kept = {}
    for p, members in groups.items():
        members = np.array(members)
        if set(members.tolist()) & big:
            continue
        if band.contains(g.h[members].sum()) and gs.components(g, members).max() == 0:
            kept[p] = members
    for p, members in kept.items():
        labels[members] = len(reasons)
        reasons.append("")
    for b in sorted(big):
        labels[b] = len(reasons)
        reasons.append(INDIVISIBLE_UNIT_OVER_MAX)
    fixed_big = np.zeros(n, bool)
    fixed_big[list(big)] = True
    for _ in range(len(kept) + 1):
        free = np.flatnonzero(labels < 0)
        if len(free) == 0:
            break
        comp = gs.components(g, free)
        trouble = None
        for c in np.unique(comp):
            nodes = free[comp == c]
            total = g.h[nodes].sum()
            if total == 0:
                host = _adjacent_label(g, nodes, labels)
                if host is not None:
                    labels[nodes] = host
                    continue
            if grid_counts(total, band):
                got = None
                for k in grid_counts(total, band)[:2]:
                    got = gs.tree_partition(g, k, lo=band.lo, hi=band.hi, rng=rng,
                                            trees=gen["trees_per_split"],
                                            max_attempts=gen["max_attempts"],
                                            balance_weight=gen["balance_weight"], nodes=nodes)
                    if got is not None:
                        break
                if got is not None:
                    for i in range(k):
                        labels[got == i] = len(reasons)
                        reasons.append("")
                    continue
            trouble = nodes
            break
        if trouble is None:
            continue
        # absorb the adjacent kept grid sharing most border and try again
        host = _adjacent_label(g, trouble, np.where(fixed_big, -1, labels))
        if host is None:
            _solve_free(g, trouble, labels, reasons, issues, community_id, band, rng, gen, settings)
            continue
        labels[labels == host] = -1
        reasons[host] = "(absorbed)"
    free = np.flatnonzero(labels < 0)
    if len(free):
        _solve_free(g, free, labels, reasons, issues, community_id, band, rng, gen, settings)
    # drop absorbed numbers
    live = sorted(set(labels.tolist()) - {-1})
    remap = {old: new for new, old in enumerate(live)}
    labels = np.array([remap.get(x, -1) for x in labels.tolist()], dtype=np.int64)
    reasons = [reasons[old] for old in live]
    if big:
        issues.append(_issue(community_id, INDIVISIBLE_UNIT_OVER_MAX, g.h[list(big)].sum(),
                             f"{len(big)} unit(s) over {band.hi}"))
    _flag_pieces(g, virtual, labels, reasons, issues, community_id)
    return idx, labels, reasons, issues


# ------------------------------------------------------------------------------------
# The whole plan
# ------------------------------------------------------------------------------------

def _rng(seed: int, community_id) -> np.random.Generator:
    return np.random.default_rng([int(seed), zlib.crc32(str(community_id).encode())])


def previous_unit_grid(units: AtomicUnits, buildings: gpd.GeoDataFrame,
                       grids: gpd.GeoDataFrame | None) -> np.ndarray:
    """Grid id of the previous plan for every unit.

    A unit takes the grid holding most of its households (``buildings.grid_id``);
    units without households take the grid covering most of their area.
    """
    n = len(units.units)
    out = np.full(n, None, dtype=object)
    b = units.buildings
    if "grid_id" in buildings.columns:
        gid = buildings["grid_id"].reindex(b.index)
        f = pd.DataFrame({"u": b["unit"].to_numpy(), "g": gid.to_numpy(dtype=object),
                          "w": b["households"].to_numpy(float) + 1e-3})
        f = f[(f["u"] >= 0) & f["g"].notna()]
        if len(f):
            top = f.groupby(["u", "g"])["w"].sum().reset_index().sort_values(
                ["u", "w"], ascending=[True, False]).drop_duplicates("u")
            out[top["u"].to_numpy()] = top["g"].to_numpy()
    if grids is not None and len(grids):
        missing = np.flatnonzero(pd.isna(out))
        if len(missing):
            gg = grids.to_crs(units.crs)
            geoms = units.units.geometry.values[missing]
            tree = shapely.STRtree(gg.geometry.values)
            ui, gi = tree.query(geoms, predicate="intersects")
            area = shapely.area(shapely.intersection(geoms[ui], gg.geometry.values[gi]))
            f = pd.DataFrame({"u": ui, "g": gi, "a": area}).sort_values(
                ["u", "a"], ascending=[True, False]).drop_duplicates("u")
            f = f[f["a"] > 0.5 * shapely.area(geoms[f["u"].to_numpy()])]
            out[missing[f["u"].to_numpy()]] = gg["id"].to_numpy(dtype=object)[f["g"].to_numpy()]
    return out


def generate_grids(communities: gpd.GeoDataFrame, streets: gpd.GeoDataFrame | None,
                   buildings: gpd.GeoDataFrame, *, estates: gpd.GeoDataFrame | None = None,
                   previous: gpd.GeoDataFrame | None = None, stable: bool = False,
                   respect_locked: bool = True, community_ids=None, min_households=None,
                   max_households=None, target_households=None, seed: int | None = None,
                   settings: dict | None = None, units: AtomicUnits | None = None,
                   workers: int | None = None, crs=None) -> GridPlan:
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
        Grid settings (``load_settings("grids")`` when None).
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
    >>> plan = generate_grids(layers["communities"], layers["streets"],
    ...                       layers["buildings"], seed=1)               # doctest: +SKIP
    >>> plan.grids["households"].between(300, 500).all()                 # doctest: +SKIP
    True
    """
    settings = settings if settings is not None else load_settings("grids")
    if crs is None:
        from beatgrid.gis.crs import metric_crs

        crs = metric_crs(communities, layer="communities")
    kwargs = dict(estates=estates, previous=previous, stable=stable,
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
    locked = _locked(previous, communities, community_ids) if respect_locked else None
    comm = communities
    bld = buildings
    if locked is not None and len(locked) and units is None:
        comm, bld = _without_locked(communities, buildings, locked)
    own_units = units is None
    if own_units:
        units = build_units(comm, streets, bld, estates=estates, settings=settings,
                            community_ids=community_ids, crs=crs)
    prev_unit = previous_unit_grid(units, buildings, previous) if stable else None
    unit_label = np.full(len(units.units), -1, dtype=np.int64)
    grid_comm, grid_reason, grid_prev = [], [], []
    issues = []
    for cid in units.community_ids():
        rng = _rng(seed, cid)
        idx_c = units.of_community(cid)
        prev_c = prev_unit[idx_c] if prev_unit is not None else None
        idx, labels, reasons, iss = partition_community(units, cid, band=band, settings=settings,
                                                        rng=rng, previous=prev_c)
        u_c = units.units.iloc[idx_c]
        splittable = ((u_c["kind"] == "block") & (u_c["buildings"] >= 2)).any()
        if own_units and prev_c is None and splittable and any(
                i["reason"] == NO_VALID_PARTITION_FOUND for i in iss):
            retry = _retry_finer(comm, streets, bld, estates, settings, cid, band, rng, crs)
            if retry is not None:
                units, idx, labels, reasons, iss, unit_label = _splice(units, retry, cid, unit_label)
        offset = len(grid_comm)
        unit_label[idx] = np.where(labels >= 0, labels + offset, -1)
        grid_comm.extend([cid] * len(reasons))
        grid_reason.extend(reasons)
        if prev_c is not None:
            grid_prev.extend(_match_previous(labels, prev_c, units.units["households"].to_numpy()[idx],
                                             len(reasons)))
        else:
            grid_prev.extend([None] * len(reasons))
        issues.extend(iss)
    return _assemble(units, unit_label, grid_comm, grid_reason, grid_prev, issues, band,
                     settings, buildings, communities, locked, storage,
                     previous if stable else None)


def _worker_count(workers, settings, communities, buildings, community_ids, units) -> int:
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


_JOB: dict = {}


def _run_chunk(chunk):
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


def _generate_parallel(communities, streets, buildings, community_ids, n_workers, kwargs):
    """Plan communities in ``n_workers`` forked processes and merge the plans.

    Each process gets whole communities with their buildings (by representative point)
    and the streets near them, so the plans are the same as in one process.
    """
    import multiprocessing as mp

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


def merge_plans(plans: list, buildings) -> GridPlan:
    """One :class:`GridPlan` from plans of disjoint sets of communities."""
    plans = [p for p in plans if p is not None]
    first = plans[0]
    units_frames, edges, blds = [], [], []
    offset = 0
    block_offset = 0
    for p in plans:
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
                     communities=pd.concat([p.units.communities for p in plans]),
                     notes=sorted({n for p in plans for n in p.units.notes}))
    grids = gpd.GeoDataFrame(pd.concat([p.grids for p in plans], ignore_index=True),
                             geometry="geometry", crs=first.grids.crs)
    grids = grids.drop_duplicates("id")  # locked grids come back from every worker
    bgrid = pd.Series(None, index=buildings.index, dtype=object)
    for p in plans:
        got = p.building_grid.dropna()
        bgrid.loc[got.index] = got.to_numpy()
    issues = pd.concat([p.issues for p in plans], ignore_index=True)
    return GridPlan(grids=grids, building_grid=bgrid, units=au,
                    unit_grid=units["grid_id"].to_numpy(dtype=object), issues=issues,
                    band=first.band, settings=first.settings)


def _retry_finer(communities, streets, buildings, estates, settings, cid, band, rng, crs):
    """Re-plan one community with every block split into building cells."""
    fine = build_units(communities, streets, buildings, estates=estates, settings=settings,
                       community_ids=[cid], split_households=0, crs=crs)
    idx, labels, reasons, iss = partition_community(fine, cid, band=band, settings=settings, rng=rng)
    if any(i["reason"] == NO_VALID_PARTITION_FOUND for i in iss):
        return None
    return fine, idx, labels, reasons, iss


def _splice(units: AtomicUnits, retry, cid, unit_label):
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


def _match_previous(labels, prev_c, hh, k):
    """Previous grid id kept by each new grid (greedy by shared households)."""
    f = pd.DataFrame({"l": labels, "p": prev_c, "w": hh + 1e-3})
    f = f[(f["l"] >= 0) & f["p"].notna()]
    out = [None] * k
    if not len(f):
        return out
    pairs = f.groupby(["l", "p"])["w"].sum().sort_values(ascending=False)
    used_l, used_p = set(), set()
    for (lab, p), _ in pairs.items():
        if lab in used_l or p in used_p:
            continue
        out[lab] = p
        used_l.add(lab)
        used_p.add(p)
    return out


def _locked(previous, communities, community_ids):
    if previous is None or len(previous) == 0 or "locked" not in previous.columns:
        return None
    lk = previous[previous["locked"].fillna(False).astype(bool)]
    if community_ids is not None:
        lk = lk[lk["community_id"].astype(str).isin(set(map(str, community_ids)))]
    return lk if len(lk) else None


def _without_locked(communities, buildings, locked):
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


def _assemble(units, unit_label, grid_comm, grid_reason, grid_prev, issues, band, settings,
              buildings, communities, locked, storage, previous=None) -> GridPlan:
    from beatgrid.gis.grids.metrics import assign_codes

    grid = settings["units"]["precision_m"]
    u = units.units
    ng = len(grid_comm)
    ok = unit_label >= 0
    hh = np.bincount(unit_label[ok], weights=u["households"].to_numpy(float)[ok], minlength=ng)
    order = np.argsort(unit_label, kind="stable")
    lab_sorted = unit_label[order]
    starts = np.searchsorted(lab_sorted, np.arange(ng + 1))
    geoms = np.empty(ng, dtype=object)
    ugeo = u.geometry.values
    for gi in range(ng):
        part = ugeo[order[starts[gi]:starts[gi + 1]]]
        geoms[gi] = _union(part, grid)
    grids = gpd.GeoDataFrame({
        "community_id": np.array(grid_comm, dtype=object), "households": hh.round().astype(int),
        "locked": False, "reason": np.array(grid_reason, dtype=object),
        "previous_id": np.array(grid_prev, dtype=object),
    }, geometry=gpd.GeoSeries(geoms, crs=units.crs), crs=units.crs)
    grids = grids.to_crs(storage)
    taken = set() if locked is None else set(locked["id"])
    keep_ids = keep_codes = None
    if previous is not None and len(previous):
        old_code = previous.set_index("id")["code"] if "code" in previous else pd.Series(dtype=object)
        keep_ids = grids["previous_id"].where(~grids["previous_id"].isin(taken))
        keep_codes = keep_ids.map(old_code)
    ids, codes = assign_codes(grids, communities, settings=settings, taken=taken,
                              keep_ids=keep_ids, keep_codes=keep_codes)
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


def _union(parts: np.ndarray, grid: float):
    if len(parts) == 0:
        return shapely.Polygon()
    if len(parts) == 1:
        return parts[0]
    # units share exact edges (atomic_units.clean_topology): a coverage union is exact
    # and fast; anything odd falls back to a snap-rounded union
    try:
        out = shapely.coverage_union_all(parts)
        if shapely.is_valid(out) and abs(shapely.area(out) - shapely.area(parts).sum()) <= \
                1e-6 * max(shapely.area(out), 1.0):
            return _drop_slivers(out)
    except shapely.errors.GEOSException:
        pass
    return _drop_slivers(shapely.union_all(parts, grid_size=grid))


@functools.lru_cache(maxsize=1)
def _sliver_hole_m2() -> float:
    return float(load_settings("grids")["units"]["sliver_hole_m2"])


def _drop_slivers(geom):
    """Remove holes below ``[units] sliver_hole_m2`` (numerical leftovers of a union).

    Such holes (1e-9 m2 and the like) collapse to invalid rings once stored in
    geographic coordinates; real holes (an enclave, a locked grid) are far larger.
    """
    min_area = _sliver_hole_m2()
    polys = shapely.get_parts(geom)
    fixed = []
    for poly in polys:
        if poly.geom_type != "Polygon" or not poly.interiors:
            fixed.append(poly)
            continue
        holes = [r for r in poly.interiors if shapely.Polygon(r).area > min_area]
        fixed.append(shapely.Polygon(poly.exterior, holes))
    return fixed[0] if len(fixed) == 1 else shapely.MultiPolygon(fixed)
