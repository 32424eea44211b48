"""The search engine of big communities: every region bisected at once, level by level.

:func:`forest_partition` splits ``k`` grids out of a connected set of units the way
:func:`~beatgrid.gis.grids.search.tree_partition` does (random spanning trees whose
weights keep blocks and estates together; every tree edge evaluated as a cut; the most
compact cut whose sides can still be split into their share of grids), but it bisects
*all* regions of a level together: one random spanning forest of the regions (one tree
each, hung under a common root) gives every region's candidate cuts in one vectorised
pass. A plan of ``k`` grids needs about ``log2(k)`` levels of a few forests each, so the
cost grows as ``n log n`` in the units (not with the number of sub-problems).

The balance is feasibility-aware: a side given ``ka`` grids must hold
``ka x min <= H <= ka x max`` households, and sides of several grids are kept away from
those edges (:data:`MARGIN_SHARE` of the band per grid) so that their own splits stay
easy. A region that finds no such cut in :data:`ROUNDS` forests (:data:`SMALL_ROUNDS`
when it has at most ``exact_units`` units) is solved exactly when small: every split
enumerated (:func:`~beatgrid.gis.grids.search.exact_split`) or built grid by grid
(:func:`~beatgrid.gis.grids.grow.grow_partition`); failing that it is merged with its
neighbour sharing the longest border and the union solved again (a local step back,
never a global one).

Examples
--------
>>> from beatgrid.gis.grids.unit_graph import lattice_graph
>>> g = lattice_graph(20, 20, households=25)            # 10,000 households, 25 grids
>>> labels = forest_partition(g, 25, lo=300, hi=500, rng=np.random.default_rng(0))
>>> sums = np.bincount(labels, weights=g.h)
>>> len(sums), bool(((sums >= 300) & (sums <= 500)).all())
(25, True)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import minimum_spanning_tree

from beatgrid.gis.grids.grow import grow_partition
from beatgrid.gis.grids.search import ISLAND_PENALTY, LOOSE_PENALTY, MARGIN_SHARE, exact_split
from beatgrid.gis.grids.trees import RootedTree
from beatgrid.gis.grids.unit_graph import UnitGraph, lattice_graph, outer_contact

__all__ = ["forest_partition", "ForestStats", "lattice_graph"]

#: Forests drawn per level before a region that found no cut is helped.
ROUNDS = 4

#: Regions of at most this many grids may also peel one grid off (odd splits).
PEEL_MAX_GRIDS = 5

#: Regions of at most this many units are split exactly when the forests find no cut.
EXACT_UNITS = 14

#: Forests drawn per level before a small region (``exact_units``) is built grid by grid.
SMALL_ROUNDS = 2


@dataclass
class ForestStats:
    """What one search did: levels, forests drawn, regions merged, exact splits."""

    levels: int = 0
    forests: int = 0
    merges: int = 0
    exact: int = 0
    seconds: float = 0.0
    stopped: str = ""
    notes: list[str] = field(default_factory=list)


class _Regions:
    """Region number per unit and the grids each region must become."""

    def __init__(self, n: int, k: int, lo: float, hi: float, target: float) -> None:
        self.lo, self.hi, self.target = lo, hi, target
        self.of = np.zeros(n, dtype=np.int64)
        self.k: list[int] = [k]
        self.stuck: list[int] = [0]

    def new(self, k: int) -> int:
        self.k.append(k)
        self.stuck.append(0)
        return len(self.k) - 1


def forest_partition(g: UnitGraph, k: int, *, lo: float, hi: float, rng: np.random.Generator,
                     target: float | None = None, nodes: np.ndarray | None = None,
                     trees: int = 3,
                     balance_weight: float = 1.0, deadline: float | None = None,
                     max_merges: int | None = None, real: np.ndarray | None = None,
                     exact_units: int = 40, exact_seconds: float = 2.0,
                     stats: ForestStats | None = None) -> np.ndarray | None:
    """Split the (connected) units into ``k`` contiguous parts with households in [lo, hi].

    Parameters
    ----------
    g
        The unit graph.
    k
        Number of parts.
    lo, hi
        Household band of each part.
    rng
        Random generator (the result is deterministic for a given generator state).
    target
        Households aimed at per part (default the middle of the band): each side of a
        cut gets the part count closest to its households / target.
    nodes
        Restrict to these units (default all).
    trees
        Spanning forests drawn per level (the best cut of each region over them is kept).
    balance_weight
        Weight of household balance against compactness in the cut score.
    deadline
        ``time.process_time()`` value (CPU seconds of the process: the same on a busy
        machine) after which the search gives up.
    max_merges
        Regions merged back at most this many times (default ``2 k + 20``).
    real
        Mask of the edges of ``g`` that are real borders (for the exact model; default
        all).
    exact_units, exact_seconds
        A stuck region of at most ``exact_units`` units is built grid by grid
        (:func:`~beatgrid.gis.grids.grow.grow_partition`, any grid count) within
        ``exact_seconds``; when that fails it is merged with a neighbour and the union
        built again.
    stats
        Filled with what the search did.

    Returns
    -------
    numpy.ndarray or None
        Part label (0..k-1) per unit of ``nodes`` (-1 elsewhere), or None when the
        search gave up (deadline, or regions that could not be split even merged).

    Examples
    --------
    >>> g = lattice_graph(6, 6, households=25)
    >>> labels = forest_partition(g, 3, lo=250, hi=350, rng=np.random.default_rng(0))
    >>> sorted(np.bincount(labels, weights=g.h).astype(int).tolist())
    [250, 300, 350]
    """
    t0 = time.perf_counter()
    stats = stats if stats is not None else ForestStats()
    nodes = np.arange(g.n) if nodes is None else np.asarray(nodes)
    n = len(nodes)
    total = float(g.h[nodes].sum())
    if n == 0 or not k * lo - 1e-9 <= total <= k * hi + 1e-9:
        return None
    loc = np.full(g.n, -1, dtype=np.int64)
    loc[nodes] = np.arange(n)
    keep = (loc[g.ei] >= 0) & (loc[g.ej] >= 0)
    u, v = loc[g.ei[keep]], loc[g.ej[keep]]
    net = _Net(h=g.h[nodes], area=g.area[nodes], ext=g.ext[nodes], u=u, v=v,
               cost=g.cost[keep], length=g.length[keep], bias=g.bias[keep],
               outer=outer_contact(g, nodes)[nodes])
    regions = _Regions(n, k, lo, hi, (lo + hi) / 2 if target is None else float(target))
    max_merges = 2 * k + 20 if max_merges is None else max_merges
    while True:
        if deadline is not None and time.process_time() > deadline:
            stats.stopped = "deadline"
            break
        kr = np.asarray(regions.k)
        if not (kr >= 2).any():
            break
        stats.levels += 1
        best = _level(net, regions, lo, hi, rng, trees, balance_weight, stats)
        done = set(best)
        for r in np.flatnonzero(kr >= 2).tolist():
            if r in done or regions.k[r] < 2:  # split, or merged into another this level
                continue
            regions.stuck[r] += 1
            small = int((regions.of == r).sum()) <= exact_units
            if regions.stuck[r] < (SMALL_ROUNDS if small else ROUNDS):
                continue
            # a small region is built grid by grid; if even that fails, it is merged
            # with a neighbour and the union built again (up to twice as many units: a
            # bigger union handed back to the forests would be cut the same way again)
            while not (small and _exact(g, nodes, regions, r, lo, hi, stats, real,
                                        exact_seconds, deadline)):
                if stats.merges >= max_merges or not _merge(net, regions, r):
                    stats.stopped = "stuck"
                    break
                stats.merges += 1
                small = int((regions.of == r).sum()) <= 2 * exact_units
                if not small:
                    break
            if stats.stopped:
                break
            if deadline is not None and time.process_time() > deadline:
                stats.stopped = "deadline"
                break
        if stats.stopped:
            break
    stats.seconds += time.perf_counter() - t0
    if stats.stopped:
        return None
    live = np.flatnonzero(np.asarray(regions.k) == 1)
    number = np.full(len(regions.k), -1, dtype=np.int64)
    number[live] = np.arange(len(live))
    labels = np.full(g.n, -1, dtype=np.int64)
    labels[nodes] = number[regions.of]
    return labels


@dataclass
class _Net:
    """The units and borders of the search, in local numbering."""

    h: np.ndarray
    area: np.ndarray
    ext: np.ndarray
    u: np.ndarray
    v: np.ndarray
    cost: np.ndarray
    length: np.ndarray
    bias: np.ndarray
    outer: np.ndarray


def _level(net: _Net, regions: _Regions, lo: float, hi: float, rng: np.random.Generator,
           trees: int, balance_weight: float, stats: ForestStats) -> list[int]:
    """Draw ``trees`` forests of the open regions; split each at its best cut.

    Returns the regions split.
    """
    n = len(net.h)
    reg = regions.of
    kr_all = np.asarray(regions.k)
    active = (kr_all >= 2)[reg]
    an = np.flatnonzero(active)
    m = len(an)
    li = np.full(n, -1, dtype=np.int64)
    li[an] = np.arange(m)
    ru, rv = reg[net.u], reg[net.v]
    inner = (ru == rv) & active[net.u]
    # contact with the outside of each region: the community boundary, units outside
    # the search and the other regions (a side without any would be enclosed)
    cross = ru != rv
    outer = net.outer + np.bincount(net.u[cross], net.length[cross], n) + \
        np.bincount(net.v[cross], net.length[cross], n)
    n_reg = len(kr_all)
    tot_h = np.bincount(reg, net.h, n_reg)
    tot_a = np.bincount(reg, net.area, n_reg)
    tot_x = np.bincount(reg, net.ext, n_reg)
    tot_o = np.bincount(reg, outer, n_reg)
    eu, ev = li[net.u[inner]], li[net.v[inner]]
    ec, eb = net.cost[inner], net.bias[inner]
    rreg = reg[an]
    kv = kr_all[rreg]
    hh, aa, xx, oo = net.h[an], net.area[an], net.ext[an], outer[an]
    band = max(hi - lo, 1.0)
    margin = MARGIN_SHARE * band
    target = regions.target
    cand_score: list[np.ndarray] = []
    cand_node: list[np.ndarray] = []
    cand_tree: list[np.ndarray] = []
    cand_ka: list[np.ndarray] = []
    cand_kb: list[np.ndarray] = []
    kept: list[RootedTree] = []
    stuck = np.asarray(regions.stuck)[rreg]
    by_reg = np.argsort(rreg, kind="stable")
    seg = np.flatnonzero(np.r_[True, rreg[by_reg][1:] != rreg[by_reg][:-1]])
    for t in range(trees):
        w = 1.0 + eb + rng.random(len(eu))
        mat = sp.csr_matrix((w, (eu, ev)), shape=(m, m))
        forest = minimum_spanning_tree(mat).tocoo()
        # a random root per region (the unit of highest random key), all hung under m
        key = rng.random(m)[by_reg]
        top = np.maximum.reduceat(key, seg)
        hit = np.flatnonzero(key == np.repeat(top, np.diff(np.r_[seg, m])))
        roots = by_reg[hit[np.r_[True, np.diff(hit_region := rreg[by_reg][hit]) != 0]]]
        del hit_region
        tu = np.concatenate([forest.row, np.full(len(roots), m)])
        tv = np.concatenate([forest.col, roots])
        tmat = sp.csr_matrix((np.ones(len(tu)), (tu, tv)), shape=(m + 1, m + 1))
        tree = RootedTree.from_tree(tmat, m)
        stats.forests += 1
        lca = tree.lca(eu, ev)
        deg_c = np.bincount(eu, ec, m + 1) + np.bincount(ev, ec, m + 1)
        in_c = np.bincount(lca, ec, m + 1)
        pad = lambda q: np.r_[q, 0.0]  # noqa: E731 - the super root holds nothing
        ha = tree.subsum(pad(hh))[:m]
        hb = tot_h[rreg] - ha
        ka, kb = best_count(ha, lo, hi, target), best_count(hb, lo, hi, target)
        nonroot = (tree.pred[:m] != m) & (tree.tin[:m] >= 0)
        # big regions are halved (at most 3:1), so that the levels stay about log2(k)
        even = (kv < 6) | (np.minimum(ha, hb) >= 0.25 * tot_h[rreg])
        c = np.flatnonzero(nonroot & (ka > 0) & (kb > 0) & even)
        kept.append(tree)
        if len(c) == 0:
            continue
        area_a = tree.subsum(pad(aa))[:m][c]
        xa = tree.subsum(pad(xx))[:m][c]
        oa = tree.subsum(pad(oo))[:m][c]
        cut = (tree.subsum(deg_c) - 2 * tree.subsum(in_c))[:m][c]
        rc = rreg[c]
        area_b, xb, ob = tot_a[rc] - area_a, tot_x[rc] - xa, tot_o[rc] - oa
        a_c, b_c, ka_c, kb_c = ha[c], hb[c], ka[c], kb[c]
        iso = ((xa + cut) ** 2 / np.maximum(area_a, 1e-9)
               + (xb + cut) ** 2 / np.maximum(area_b, 1e-9)) / (4 * np.pi)
        dev = (np.abs(a_c / ka_c - target) + np.abs(b_c / kb_c - target)) / band
        island = (oa <= 1e-6) | (ob <= 1e-6)
        loose = ((ka_c >= 2) & ((a_c / ka_c < lo + margin) | (a_c / ka_c > hi - margin))) | \
            ((kb_c >= 2) & ((b_c / kb_c < lo + margin) | (b_c / kb_c > hi - margin)))
        score = iso + balance_weight * dev + ISLAND_PENALTY * island + LOOSE_PENALTY * loose
        # a cut leaving a side enclosed, or a side of several grids near the band's
        # edge, is taken only by a region that found nothing better in a whole level
        fair = ~(island | loose) | (stuck[c] >= 1)
        cand_score.append(score[fair])
        cand_node.append(c[fair])
        cand_tree.append(np.full(int(fair.sum()), t))
        cand_ka.append(ka_c[fair])
        cand_kb.append(kb_c[fair])
    if not cand_score:
        return []
    score = np.concatenate(cand_score)
    if len(score) == 0:
        return []
    node = np.concatenate(cand_node)
    tree_no = np.concatenate(cand_tree)
    ka_all = np.concatenate(cand_ka)
    kb_all = np.concatenate(cand_kb)
    creg = rreg[node]
    low = np.full(n_reg, np.inf)
    np.minimum.at(low, creg, score)
    at_low = np.flatnonzero(score == low[creg])
    _, first = np.unique(creg[at_low], return_index=True)
    win = at_low[first]
    split_regions = creg[win].tolist()
    chosen = np.full(n_reg, -1, dtype=np.int64)
    chosen[creg[win]] = np.arange(len(win))
    # side A of every split: the subtree of the chosen node in the chosen tree
    new_of = reg.copy()
    side_a = np.zeros(m, bool)
    which = chosen[rreg]
    has = which >= 0
    for t, tree in enumerate(kept):
        sel = has & (tree_no[win[np.maximum(which, 0)]] == t)
        if not sel.any():
            continue
        x = np.flatnonzero(sel)
        top = node[win[which[x]]]
        side_a[x] = tree.contains(top, x)
    new_id = {}
    for j, r in enumerate(split_regions):
        new_id[r] = regions.new(int(ka_all[win[j]]))
        regions.k[r] = int(kb_all[win[j]])
        regions.stuck[r] = 0
    moved = np.flatnonzero(side_a)
    if len(moved):
        lookup = np.full(n_reg, -1, dtype=np.int64)
        for r, nid in new_id.items():
            lookup[r] = nid
        new_of[an[moved]] = lookup[rreg[moved]]
    regions.of = new_of
    return split_regions


def best_count(households: np.ndarray, lo: float, hi: float, target: float) -> np.ndarray:
    """Per total, the grid count closest to ``households / target`` that puts every grid
    in ``[lo, hi]`` (0 where none does: ``k lo <= H <= k hi`` has no whole ``k``).

    Examples
    --------
    >>> best_count(np.array([250.0, 550.0, 800.0, 4000.0]), 300, 500, 400).tolist()
    [0, 0, 2, 10]
    """
    h = np.asarray(households, dtype=float)
    kmin = np.maximum(np.ceil(h / hi - 1e-9), 1)
    with np.errstate(divide="ignore", invalid="ignore"):  # lo 0: any count up to H
        kmax = np.floor(h / lo + 1e-9) if lo > 0 else np.maximum(h, 1.0)
    k = np.clip(np.round(h / target), kmin, kmax)
    out: np.ndarray = np.where(kmin <= kmax, k, 0).astype(np.int64)
    return out


def _exact(g: UnitGraph, nodes: np.ndarray, regions: _Regions, r: int, lo: float, hi: float,
           stats: ForestStats, real: np.ndarray | None, seconds: float,
           deadline: float | None = None) -> bool:
    """Split a small stuck region exactly; True when it was split.

    A few units: every split into the region's grid count is enumerated; else the
    region is built grid by grid (:func:`~beatgrid.gis.grids.grow.grow_partition`, any
    grid count) within ``seconds``.
    """
    members = np.flatnonzero(regions.of == r)
    k = regions.k[r]
    parts: list[np.ndarray] | None = None
    stats.exact += 1
    if len(members) <= EXACT_UNITS and (k <= 2 or len(members) <= EXACT_UNITS - 2):
        parts = exact_split(g, nodes[members], k, lo=lo, hi=hi)
    if parts is None:
        until = time.process_time() + seconds
        grown = grow_partition(g, lo=lo, hi=hi, nodes=nodes[members], edges=real,
                               deadline=until if deadline is None else min(until, deadline))
        if grown.labels is not None:
            parts = [nodes[members][grown.labels == i]
                     for i in range(int(grown.labels.max()) + 1)]
    if parts is None:
        return False
    loc = {int(x): i for i, x in enumerate(nodes[members].tolist())}
    regions.k[r] = 1
    regions.stuck[r] = 0
    for p in parts[1:]:
        nid = regions.new(1)
        regions.of[members[[loc[int(x)] for x in p.tolist()]]] = nid
    return True


def _merge(net: _Net, regions: _Regions, r: int) -> bool:
    """Merge region ``r`` with the neighbouring region sharing the longest border."""
    reg = regions.of
    a, b = reg[net.u], reg[net.v]
    touch = (a == r) & (b != r)
    other = np.concatenate([b[touch], a[(b == r) & (a != r)]])
    length = np.concatenate([net.length[touch], net.length[(b == r) & (a != r)]])
    if len(other) == 0:
        return False
    shared = np.bincount(other, length + 1e-9, len(regions.k))
    s = int(np.argmax(shared))
    regions.of[reg == s] = r
    total = float(net.h[regions.of == r].sum())
    regions.k[r] = int(best_count(np.array([total]), regions.lo, regions.hi,
                                  regions.target)[0])
    regions.k[s] = 0
    regions.stuck[r] = 0
    return True
