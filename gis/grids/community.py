"""Partition one community's atomic units into contiguous grids in the household band.

:func:`partition_community` builds the community's unit graph
(:func:`community_graph`: street borders cheap to cut, borders between buildings and
through estates dear), gives every unit holding more than ``max`` households its own
grid, splits the rest piece by piece with :func:`~beatgrid.gis.grids.solve.solve_part`
(proofs by counting, the spanning-tree searches, the exhaustive search, the exact model)
and improves the borders (:func:`~beatgrid.gis.grids.repair.improve`). When no plan in
the band exists, the closest plan is kept and each grid out of range gets a reason
(:data:`~beatgrid.gis.grids.plan.REASONS`). With a previous plan (stable mode) the valid
previous grids are kept and only the rest is re-planned.

The pieces of a community are the components of its units joined by shared borders; units
whose outlines touch along a line shorter than ``units.min_shared_border_m`` are joined
too (they are no separate pieces: a grid holding both is one polygon). Only true pieces
are joined by virtual edges, and a grid spanning one is reported as
``community_in_pieces``; pieces that can each have their own grids are planned apart.

Examples
--------
>>> from beatgrid.gis import Project
>>> from beatgrid.gis.config import default_config
>>> from beatgrid.gis.grids.band import band_from_settings
>>> from beatgrid.gis.grids.units import build_units
>>> layers = Project.open("sample-geodata/ningbo-jiangbei.gpkg").read(
...     ["communities", "streets", "buildings"])
>>> units = build_units(layers["communities"], layers["streets"], layers["buildings"],
...                     community_ids=["C05"])
>>> idx, labels, reasons, issues = partition_community(
...     units, "C05", band=band_from_settings(), settings=default_config().grids,
...     rng=np.random.default_rng(0))
>>> len(reasons), issues
(5, [])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from beatgrid.gis.grids.band import Band, grid_counts
from beatgrid.gis.grids.plan import COMMUNITY_IN_PIECES, INDIVISIBLE_UNIT_OVER_MAX
from beatgrid.gis.grids.repair import improve
from beatgrid.gis.grids.search import tree_partition
from beatgrid.gis.grids.solve import solve_part
from beatgrid.gis.grids.unit_graph import UnitGraph, components
from beatgrid.gis.grids.units import AtomicUnits

#: One infeasibility of a community: community_id, reason, households, detail.
Issue = dict[str, Any]
#: What partitioning a community gives: its unit rows, grid number per unit, reason per
#: grid number, infeasibilities.
CommunityPlan = tuple[np.ndarray, np.ndarray, list[str], list[Issue]]


def community_graph(units: AtomicUnits, idx: np.ndarray, *, settings: Mapping[str, Any],
                    previous: np.ndarray | None = None) -> tuple[UnitGraph, np.ndarray]:
    """The :class:`~beatgrid.gis.grids.unit_graph.UnitGraph` of the units ``idx`` (one
    community).

    Components are joined by zero-cost virtual edges between their nearest units, so the
    graph is connected; the second value flags virtual edges.

    Parameters
    ----------
    units
        Atomic units (all communities).
    idx
        The community's unit rows.
    settings
        Grid settings (``generator`` table: border costs).
    previous
        Previous grid id per unit of ``idx`` (stable mode): its borders cost less.

    Examples
    --------
    >>> from beatgrid.gis import Project
    >>> from beatgrid.gis.config import default_config
    >>> from beatgrid.gis.grids.units import build_units
    >>> layers = Project.open("sample-geodata/ningbo-jiangbei.gpkg").read(
    ...     ["communities", "streets", "buildings"])
    >>> units = build_units(layers["communities"], layers["streets"], layers["buildings"],
    ...                     community_ids=["C05"])
    >>> g, virtual = community_graph(units, units.of_community("C05"),
    ...                              settings=default_config().grids)
    >>> g.n == len(units.units), bool(virtual.any())
    (True, False)
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
    h = u["households"].to_numpy(float)[idx]
    comp = components(UnitGraph(h=h, area=h, ext=h, ei=ei, ej=ej, length=length, cost=length,
                                bias=length))
    if comp.max() > 0:
        # units that do touch (a border shorter than units.min_shared_border_m, or not
        # matched vertex for vertex) are joined for real: only true pieces stay apart
        xi, xj, xl = _touching(u.geometry.values[idx], comp)
        if len(xi):
            blk = u["block"].to_numpy()[idx]
            est = u["estate_id"].to_numpy(dtype=object)[idx]
            ei, ej = np.concatenate([ei, xi]), np.concatenate([ej, xj])
            length = np.concatenate([length, xl])
            street = np.concatenate([street, blk[xi] != blk[xj]])
            same_est = np.concatenate([same_est, np.array(
                [a is not None and a == a and a == b for a, b in zip(est[xi], est[xj])], bool)])
    cost = length * np.where(street, 1.0, gen["non_street_border_cost"]) \
        + length * gen["estate_border_cost"] * same_est
    bias = np.where(street, 1.0, 0.0) + np.where(same_est, 0.0, 0.5)
    if previous is not None:
        differ = np.array([a != b for a, b in zip(previous[ei], previous[ej])], dtype=bool)
        cost = np.where(differ, cost * gen["previous_border_bonus"], cost)
        bias = bias + np.where(differ, 1.0, 0.0)
    g = UnitGraph(h=h, area=u["area_m2"].to_numpy()[idx],
                  ext=u["exterior_m"].to_numpy()[idx], ei=ei, ej=ej, length=length,
                  cost=cost, bias=bias)
    virtual = np.zeros(len(ei), bool)
    if comp.max() > 0:
        comp = components(g)
    if comp.max() > 0:
        cent = shapely.get_coordinates(shapely.point_on_surface(u.geometry.values[idx]))
        vi, vj = _join_components(cent, comp)
        m = len(vi)
        g = UnitGraph(h=g.h, area=g.area, ext=g.ext, ei=np.concatenate([ei, vi]),
                         ej=np.concatenate([ej, vj]), length=np.concatenate([length, np.zeros(m)]),
                         cost=np.concatenate([cost, np.zeros(m)]),
                         bias=np.concatenate([bias, np.full(m, 3.0)]))
        virtual = np.concatenate([virtual, np.ones(m, bool)])
    return g, virtual


def _touching(geoms: np.ndarray, comp: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs of units of different components whose outlines share a line (length > 0)."""
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="intersects")
    keep = (a < b) & (comp[a] != comp[b])
    a, b = a[keep], b[keep]
    if len(a) == 0:
        return a, b, np.zeros(0)
    shared = shapely.length(shapely.intersection(shapely.boundary(geoms[a]),
                                                 shapely.boundary(geoms[b])))
    ok = shared > 1e-6
    return a[ok].astype(np.int64), b[ok].astype(np.int64), shared[ok]


def _join_components(points: np.ndarray, comp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Edges joining components (Kruskal over the nearest point pairs of components)."""
    labels = comp.copy()
    vi: list[int] = []
    vj: list[int] = []
    while labels.max() != labels.min():
        best: tuple[float, int, int] | None = None
        for c in np.unique(labels):
            inside = np.flatnonzero(labels == c)
            outside = np.flatnonzero(labels != c)
            d, j = cKDTree(points[outside]).query(points[inside])
            k = int(np.argmin(d))
            cand = (d[k], inside[k], outside[j[k]])
            if best is None or cand[0] < best[0]:
                best = cand
        assert best is not None
        _, a, b = best
        vi.append(a)
        vj.append(b)
        labels[labels == labels[b]] = labels[a]
    return np.array(vi, dtype=np.int64), np.array(vj, dtype=np.int64)


def partition_community(units: AtomicUnits, community_id: Any, *, band: Band,
                        settings: Mapping[str, Any], rng: np.random.Generator,
                        previous: np.ndarray | None = None,
                        thorough: bool = True) -> CommunityPlan:
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
    thorough
        Run the exhaustive search and the exact model where the heuristics fail (False:
        the closest plan at once, with ``search_limit``; for a first pass on street
        blocks that is re-planned on building cells when it fails).

    Returns
    -------
    (idx, labels, reasons, issues)
        ``idx``: the community's unit rows; ``labels``: grid number per unit of ``idx``;
        ``reasons``: reason per grid number; ``issues``: list of dicts.

    Examples
    --------
    >>> from beatgrid.gis import Project
    >>> from beatgrid.gis.config import default_config
    >>> from beatgrid.gis.grids.band import Band
    >>> from beatgrid.gis.grids.units import build_units
    >>> layers = Project.open("sample-geodata/ningbo-jiangbei.gpkg").read(
    ...     ["communities", "streets", "buildings"])
    >>> units = build_units(layers["communities"], layers["streets"], layers["buildings"],
    ...                     community_ids=["C05"])
    >>> _, labels, reasons, issues = partition_community(
    ...     units, "C05", band=Band(2500, 3000, 2750), settings=default_config().grids,
    ...     rng=np.random.default_rng(0))
    >>> reasons, issues[0]["reason"]                      # 2082 households < 2500
    (['below_min'], 'below_min')
    """
    gen = settings["generator"]
    idx = units.of_community(community_id)
    g, virtual = community_graph(units, idx, settings=settings, previous=previous)
    n = g.n
    labels = np.full(n, -1, dtype=np.int64)
    reasons: list[str] = []
    issues: list[Issue] = []
    if n == 0:
        return idx, labels, reasons, issues
    if previous is not None:
        return _stable(community_id, idx, g, virtual, previous, band, settings, rng)
    big = np.flatnonzero(g.h > band.hi)
    for b in big:
        labels[b] = len(reasons)
        reasons.append(INDIVISIBLE_UNIT_OVER_MAX)
    if len(big):
        issues.append(_issue(community_id, INDIVISIBLE_UNIT_OVER_MAX, g.h[big].sum(),
                             f"{len(big)} unit(s) over {band.hi}: "
                             + ", ".join(f"{v:.0f}" for v in g.h[big])))
    free = np.flatnonzero(labels < 0)
    _solve_free(g, free, labels, reasons, issues, community_id, band, rng, settings, ~virtual,
                thorough)
    labels = improve(g, labels, lo=band.lo, hi=band.hi, passes=gen["improve_passes"],
                        fixed=np.isin(np.arange(n), big))
    _flag_pieces(g, virtual, labels, reasons, issues, community_id)
    return idx, labels, reasons, issues


def _pieces(g: UnitGraph, nodes: np.ndarray, band: Band, real: np.ndarray) -> list[np.ndarray]:
    """The pieces of ``nodes`` (joined by real borders) when each can have its own grids,
    else ``[nodes]`` (a grid will have to span pieces)."""
    if real.all():
        return [nodes]
    sub = UnitGraph(h=g.h, area=g.area, ext=g.ext, ei=g.ei[real], ej=g.ej[real],
                    length=g.length[real], cost=g.cost[real], bias=g.bias[real])
    comp = components(sub, nodes)
    if comp.max() == 0:
        return [nodes]
    pieces = [nodes[comp == c] for c in np.unique(comp)]
    if all(grid_counts(float(g.h[p].sum()), band) for p in pieces):
        return pieces
    return [nodes]


def _solve_free(g: UnitGraph, free: np.ndarray, labels: np.ndarray, reasons: list[str],
                issues: list[Issue], community_id: Any, band: Band, rng: np.random.Generator,
                settings: Mapping[str, Any], real: np.ndarray, thorough: bool = True) -> None:
    """Partition the free units (labels -1) component by component, in place."""
    if len(free) == 0:
        return
    comp = components(g, free)
    for c in np.unique(comp):
        nodes = free[comp == c]
        total = g.h[nodes].sum()
        if total < band.lo:
            # a remainder too small for a grid joins an adjacent grid out of range already
            host = _adjacent_label(g, nodes, labels, prefer=[INDIVISIBLE_UNIT_OVER_MAX], reasons=reasons)
            if host is not None and (total == 0 or reasons[host]):
                labels[nodes] = host
                continue
        for piece in _pieces(g, nodes, band, real):
            got = solve_part(g, piece, band=band, settings=settings, rng=rng, real=real,
                             thorough=thorough)
            for p in got.parts:
                labels[p] = len(reasons)
                hh = g.h[p].sum()
                reasons.append(got.reason if got.reason and not band.contains(hh) else "")
            if got.reason:
                issues.append(_issue(community_id, got.reason, g.h[piece].sum(), got.detail))


def _adjacent_label(g: UnitGraph, nodes: np.ndarray, labels: np.ndarray, *,
                    prefer: Sequence[str] = (), reasons: Sequence[str] = ()) -> int | None:
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


def _flag_pieces(g: UnitGraph, virtual: np.ndarray, labels: np.ndarray, reasons: list[str],
                 issues: list[Issue], community_id: Any) -> None:
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


def _issue(community_id: Any, reason: str, households: float, detail: str) -> Issue:
    return {"community_id": community_id, "reason": reason, "households": int(round(households)),
            "detail": detail}


def _stable(community_id: Any, idx: np.ndarray, g: UnitGraph, virtual: np.ndarray,
            previous: np.ndarray, band: Band, settings: Mapping[str, Any],
            rng: np.random.Generator) -> CommunityPlan:
    """Keep valid previous grids; re-plan the rest, absorbing neighbours only as needed."""
    gen = settings["generator"]
    n = g.n
    labels = np.full(n, -1, dtype=np.int64)
    reasons: list[str] = []
    issues: list[Issue] = []
    prev = pd.Series(previous).where(pd.notna(pd.Series(previous)), None)
    groups: dict[Any, list[int]] = {}
    for i, p in enumerate(prev.tolist()):
        if p is not None:
            groups.setdefault(p, []).append(i)
    big = set(np.flatnonzero(g.h > band.hi).tolist())
    kept: dict[Any, np.ndarray] = {}
    for p, rows in groups.items():
        members = np.array(rows)
        if set(members.tolist()) & big:
            continue
        if band.contains(g.h[members].sum()) and components(g, members).max() == 0:
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
        comp = components(g, free)
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
                    got = tree_partition(g, k, lo=band.lo, hi=band.hi, rng=rng,
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
            _solve_free(g, trouble, labels, reasons, issues, community_id, band, rng, settings,
                        ~virtual)
            continue
        labels[labels == host] = -1
        reasons[host] = "(absorbed)"
    free = np.flatnonzero(labels < 0)
    if len(free):
        _solve_free(g, free, labels, reasons, issues, community_id, band, rng, settings,
                    ~virtual)
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
