"""The search engine of the grid generator: recursive spanning-tree bisection.

Pure numpy / scipy on the adjacency graph of one community's atomic units
(:class:`~beatgrid.gis.grids.unit_graph.UnitGraph`, no geometry).
:func:`tree_partition` splits the units into ``k`` contiguous parts whose households lie
in ``[lo, hi]``: it draws random spanning trees whose weights keep the cells of one
street block (and of one estate) together, evaluates every tree edge as a cut in one
vectorised pass (households, area and the street-weighted border length of both sides,
via subtree sums over the DFS order and lowest common ancestors), keeps the most compact
cut that leaves both sides splittable, and recurses with backtracking. Local repair of a
plan (:func:`~beatgrid.gis.grids.repair.improve`) is in :mod:`beatgrid.gis.grids.repair`.

Examples
--------
>>> g = lattice_graph(6, 6, households=25)
>>> labels = tree_partition(g, 3, lo=250, hi=350, rng=np.random.default_rng(0))
>>> sorted(np.bincount(labels, weights=g.h).astype(int).tolist())
[300, 300, 300]
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import depth_first_order, minimum_spanning_tree

from beatgrid.gis.grids.trees import subtree_sizes
from beatgrid.gis.grids.unit_graph import (UnitGraph, is_contiguous, lattice_graph,
                                           outer_contact, subgraph)

__all__ = ["tree_partition", "exact_split", "lattice_graph"]

#: Two-way splits of at most this many units are solved exactly (all subsets).
EXACT_MAX_UNITS = 14

#: Splits into more parts of at most this many units are solved exactly too.
EXACT_MAX_UNITS_K = 12

#: Score added to a cut that leaves one side enclosed by the other (kept only as a last resort).
ISLAND_PENALTY = 10.0

#: Sides of several grids should keep their mean this share of the band away from its edges.
MARGIN_SHARE = 0.25

#: Score added to a cut leaving a side of several grids with a mean near the band's edge.
LOOSE_PENALTY = 5.0

#: Cuts of one round tried (with their sub-problems) before new trees are drawn.
TRIES_PER_ROUND = 4

#: Regions with more units than this draw half the trees per bisection (at least 2).
BIG_REGION_UNITS = 1000

#: Rounds of ``trees`` spanning trees one sub-problem may draw before it gives up.
ROUNDS_PER_SPLIT = 3


#: A cut: (score, members of side A, grids of side A, grids of side B).
Cut = tuple[float, np.ndarray, int, int]
#: Parts of a split: the unit numbers of each part, or None when no split was found.
Parts = list[np.ndarray] | None


class _Budget:
    def __init__(self, attempts: int, deadline: float | None = None) -> None:
        self.left = attempts
        self.deadline = deadline
        self.failed: set[tuple[int, bytes]] = set()  # sub-problems known to have no split

    def spend(self) -> bool:
        """Use one round; False when the budget is exhausted (or the time is up)."""
        self.left -= 1
        if self.deadline is not None and time.process_time() > self.deadline:
            self.left = -1
        return self.left >= 0



def _structure(u: np.ndarray, v: np.ndarray, m: int) -> tuple[sp.csr_matrix, np.ndarray]:
    """A CSR matrix of the edges (upper triangle) and the edge order of its data."""
    a, b = np.minimum(u, v), np.maximum(u, v)
    order = np.lexsort((b, a))
    a, b = a[order], b[order]
    indptr = np.concatenate([[0], np.cumsum(np.bincount(a, minlength=m))])
    mat = sp.csr_matrix((np.ones(len(a)), b, indptr), shape=(m, m))
    return mat, order


def _tree_cuts(g: UnitGraph, nodes: np.ndarray, eidx: np.ndarray, loc: np.ndarray,
               rng: np.random.Generator, extra: np.ndarray | None = None,
               structure: tuple[sp.csr_matrix, np.ndarray] | None = None
               ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], int] | None:
    """Draw one random spanning tree of ``nodes``; evaluate the cut of every tree edge.

    Returns (child nodes in local numbering, their subtree membership helper, per-cut
    quantities) or None when the nodes are not connected.
    """
    m = len(nodes)
    u, v = loc[g.ei[eidx]], loc[g.ej[eidx]]
    w = 1.0 + g.bias[eidx] + rng.random(len(eidx))
    if structure is None:
        structure = _structure(u, v, m)
    mat, perm = structure
    mat.data = w[perm]
    tree = minimum_spanning_tree(mat)
    if tree.nnz != m - 1:
        return None
    root = int(rng.integers(m))
    order, pred = depth_first_order(tree, root, directed=False, return_predecessors=True)
    if len(order) != m:
        return None
    pred = pred.astype(np.int64)
    pred[root] = root
    # depth by pointer jumping; the successive ancestors are the binary-lifting table
    up = [pred]
    depth = (np.arange(m) != root).astype(np.int64)
    anc = pred
    while True:
        depth = depth + depth[anc] * (anc != root)
        nxt = anc[anc]
        if (nxt == anc).all():
            break
        up.append(nxt)
        anc = nxt
    tin = np.empty(m, dtype=np.int64)
    tin[order] = np.arange(m)
    size = subtree_sizes(depth[order], tin, depth)

    def subsum(q: np.ndarray) -> np.ndarray:
        cs = np.concatenate([[0.0], np.cumsum(q[order])])
        return cs[tin + size] - cs[tin]

    levels = len(up)

    def contains(a: np.ndarray, x: np.ndarray) -> np.ndarray:
        return (tin[a] <= tin[x]) & (tin[x] < tin[a] + size[a])

    a = u.copy()
    for k in range(levels - 1, -1, -1):
        nxt = up[k][a]
        move = ~contains(nxt, v)
        a = np.where(move, nxt, a)
    lca = np.where(contains(a, v), a, pred[a])
    cost, length = g.cost[eidx], g.length[eidx]
    deg_c = np.bincount(u, cost, m) + np.bincount(v, cost, m)
    deg_l = np.bincount(u, length, m) + np.bincount(v, length, m)
    in_c = np.bincount(lca, cost, m)
    in_l = np.bincount(lca, length, m)
    hh = g.h[nodes]
    quantities = {
        "h": subsum(hh), "area": subsum(g.area[nodes]), "ext": subsum(g.ext[nodes]),
        "cut_cost": subsum(deg_c) - 2 * subsum(in_c),
        "cut_len": subsum(deg_l) - 2 * subsum(in_l),
    }
    if extra is not None:
        quantities["extra"] = subsum(extra)
    return tin, size, quantities, root


def _best_cuts(g: UnitGraph, nodes: np.ndarray, k: int, lo: float, hi: float,
               rng: np.random.Generator, trees: int, balance_weight: float
               ) -> tuple[np.ndarray, list[Cut]]:
    """Candidate cuts of ``nodes`` into two sides over several trees, best first."""
    loc, eidx = subgraph(g, nodes)
    structure = _structure(loc[g.ei[eidx]], loc[g.ej[eidx]], len(nodes))
    total_h = float(g.h[nodes].sum())
    total_a = float(g.area[nodes].sum())
    total_ext = float(g.ext[nodes].sum())
    # contact of each unit with the outside of the region (community boundary or units
    # outside): a side without any would be enclosed by the other side (an enclave)
    outer = outer_contact(g, nodes)
    outer_q = outer[nodes]
    total_outer = float(outer_q.sum())
    target = total_h / k
    band = max(hi - lo, 1.0)
    options = {(k // 2, k - k // 2), (k - k // 2, k // 2)}
    if k > 3:  # peeling one grid off keeps odd remainders feasible
        options |= {(1, k - 1), (k - 1, 1)}
    cands = []
    # big regions have many valid cuts per tree: fewer trees find as good a cut
    for _ in range(trees if len(nodes) <= BIG_REGION_UNITS else max(2, trees // 2)):
        res = _tree_cuts(g, nodes, eidx, loc, rng, extra=outer_q, structure=structure)
        if res is None:
            return loc, []
        tin, size, q, root = res
        ha, hb = q["h"], total_h - q["h"]
        aa, ab = q["area"], total_a - q["area"]
        xa, xb = q["ext"], total_ext - q["ext"]
        cut = q["cut_cost"]
        not_root = np.ones(len(nodes), bool)
        not_root[root] = False
        for ka, kb in options:
            ok = not_root & (ha >= ka * lo) & (ha <= ka * hi) & (hb >= kb * lo) & (hb <= kb * hi)
            if not ok.any():
                continue
            c = np.flatnonzero(ok)
            iso = ((xa[c] + cut[c]) ** 2 / np.maximum(aa[c], 1e-9)
                   + (xb[c] + cut[c]) ** 2 / np.maximum(ab[c], 1e-9)) / (4 * np.pi)
            dev = (np.abs(ha[c] / ka - target) + np.abs(hb[c] / kb - target)) / band
            # peeling costs a little: balanced bisection keeps both halves compact
            peel = 0.5 if min(ka, kb) == 1 and k > 3 else 0.0
            oa = q["extra"][c]
            island = (oa <= 1e-6) | (total_outer - oa <= 1e-6)
            # a side of several grids whose mean is near the band's edge leaves its own
            # splits almost no room: keep such cuts for when nothing better exists
            margin = MARGIN_SHARE * band
            loose = np.zeros(len(c), bool)
            for kk, hh in ((ka, ha[c]), (kb, hb[c])):
                if kk >= 2:
                    loose |= (hh / kk < lo + margin) | (hh / kk > hi - margin)
            score = iso + balance_weight * dev + peel + ISLAND_PENALTY * island \
                + LOOSE_PENALTY * loose
            for ci, s in zip(c.tolist(), score.tolist()):
                cands.append((s, ci, ka, kb, tin, size))
    cands.sort(key=lambda t: t[0])
    # distinct cuts only
    out, seen = [], set()
    for s, ci, ka, kb, tin, size in cands:
        members = (tin >= tin[ci]) & (tin < tin[ci] + size[ci])
        key = (hash(members.tobytes()), ka)
        if key in seen:
            continue
        seen.add(key)
        out.append((s, members, ka, kb))
        if len(out) >= 6:
            break
    return loc, out


def tree_partition(g: UnitGraph, k: int, *, lo: float, hi: float, rng: np.random.Generator,
                   trees: int = 4, max_attempts: int = 60, balance_weight: float = 1.0,
                   nodes: np.ndarray | None = None,
                   deadline: float | None = None) -> np.ndarray | None:
    """Split the (connected) graph into ``k`` contiguous parts with households in [lo, hi].

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
    trees
        Spanning trees drawn per bisection.
    max_attempts
        Rounds of spanning trees drawn in total (plus 10 per part) before giving up.
    balance_weight
        Weight of household balance against compactness in the cut score.
    nodes
        Restrict to these units (default all).
    deadline
        ``time.process_time()`` value (CPU seconds) after which no new round is started.

    Returns
    -------
    numpy.ndarray or None
        Part label (0..k-1) per unit of ``nodes`` (-1 elsewhere), or None when no
        partition was found within the budget.

    Examples
    --------
    >>> g = lattice_graph(4, 4, households=100)
    >>> labels = tree_partition(g, 4, lo=300, hi=500, rng=np.random.default_rng(1))
    >>> np.bincount(labels, weights=g.h).tolist()
    [400.0, 400.0, 400.0, 400.0]
    """
    nodes = np.arange(g.n) if nodes is None else np.asarray(nodes)
    budget = _Budget(max_attempts + 2 * k, deadline)  # every bisection of a big k needs a round
    parts = _split(g, nodes, k, lo, hi, rng, trees, balance_weight, budget)
    if parts is None:
        return None
    labels = np.full(g.n, -1, dtype=np.int64)
    for i, p in enumerate(parts):
        labels[p] = i
    return labels


def _split(g: UnitGraph, nodes: np.ndarray, k: int, lo: float, hi: float,
           rng: np.random.Generator, trees: int, balance_weight: float, budget: _Budget
           ) -> Parts:
    total = g.h[nodes].sum()
    if not (k * lo - 1e-9 <= total <= k * hi + 1e-9):
        return None
    if k == 1:
        return [nodes]
    if (k == 2 and len(nodes) <= EXACT_MAX_UNITS) or len(nodes) <= EXACT_MAX_UNITS_K:
        key = (k, nodes.tobytes())
        if key in budget.failed:
            return None
        got = _exact_two(g, nodes, lo, hi) if k == 2 else _exact_k(g, nodes, k, lo, hi, budget)
        if got is None:
            budget.failed.add(key)
        return got
    # a sub-problem gets a few rounds only: an infeasible one (the parent's cut left
    # units that cannot be split) fails fast and the parent tries its next cut. Cuts
    # that leave a side enclosed by the other are tried last.
    islands = []

    def attempt(members: np.ndarray, ka: int, kb: int) -> Parts:
        a, b = nodes[members], nodes[~members]
        if (ka, a.tobytes()) in budget.failed or (kb, b.tobytes()) in budget.failed:
            return None
        if len(b) < len(a):  # the smaller side first: it fails fast and cheaply
            a, b, ka, kb = b, a, kb, ka
        ra = _split(g, a, ka, lo, hi, rng, trees, balance_weight, budget)
        if ra is None:
            return None
        rb = _split(g, b, kb, lo, hi, rng, trees, balance_weight, budget)
        return None if rb is None else ra + rb

    for _ in range(ROUNDS_PER_SPLIT):
        if not budget.spend():
            break
        loc, cands = _best_cuts(g, nodes, k, lo, hi, rng, trees, balance_weight)
        tried = 0
        for score, members, ka, kb in cands:
            if score >= ISLAND_PENALTY:
                islands.append((score, members, ka, kb))
                continue
            if _known_failure(budget, nodes, members, ka, kb):
                continue
            got = attempt(members, ka, kb)
            if got is not None:
                return got
            tried += 1
            if tried == TRIES_PER_ROUND:
                break
    for score, members, ka, kb in sorted(islands, key=lambda t: t[0])[:3]:
        got = attempt(members, ka, kb)
        if got is not None:
            return got
    budget.failed.add((k, nodes.tobytes()))
    return None


def exact_split(g: UnitGraph, nodes: np.ndarray, k: int, *, lo: float, hi: float) -> Parts:
    """Split a few units (at most :data:`EXACT_MAX_UNITS`) into ``k`` contiguous parts in
    the band by enumeration; None when no such split exists (a proof for these units).

    Examples
    --------
    >>> g = lattice_graph(1, 4, households=[200, 200, 100, 300])
    >>> [p.tolist() for p in exact_split(g, np.arange(4), 2, lo=300, hi=500)]
    [[0, 1], [2, 3]]
    >>> exact_split(g, np.arange(3), 2, lo=300, hi=500) is None
    True
    """
    nodes = np.asarray(nodes)
    if k == 1:
        total = g.h[nodes].sum()
        return [nodes] if lo <= total <= hi and is_contiguous(g, nodes) else None
    if k == 2:
        return _exact_two(g, nodes, lo, hi)
    return _exact_k(g, nodes, k, lo, hi, _Budget(0))


def _known_failure(budget: _Budget, nodes: np.ndarray, members: np.ndarray, ka: int,
                   kb: int) -> bool:
    return (ka, nodes[members].tobytes()) in budget.failed or \
        (kb, nodes[~members].tobytes()) in budget.failed


def _exact_two(g: UnitGraph, nodes: np.ndarray, lo: float, hi: float) -> Parts:
    """Best contiguous two-way split of a few units in the band, by enumeration (or None)."""
    n = len(nodes)
    loc, eidx = subgraph(g, nodes)
    u, v = loc[g.ei[eidx]], loc[g.ej[eidx]]
    hh = g.h[nodes]
    total = hh.sum()
    masks = np.arange(1, 2 ** (n - 1), dtype=np.int64)  # the last unit always in side B
    bits = ((masks[:, None] >> np.arange(n)) & 1).astype(bool)
    sums = bits.astype(float) @ hh
    ok = (sums >= lo) & (sums <= hi) & (total - sums >= lo) & (total - sums <= hi)
    if not ok.any():
        return None
    masks, bits = masks[ok], bits[ok]
    cut = (bits[:, u] != bits[:, v]).astype(float) @ g.cost[eidx]
    nbr = [0] * n
    for a, b in zip(u.tolist(), v.tolist()):
        nbr[a] |= 1 << b
        nbr[b] |= 1 << a
    full = (1 << n) - 1

    def connected(m: int) -> bool:
        reach = m & -m
        while True:
            grow = reach
            x = reach
            while x:
                low = x & -x
                grow |= nbr[low.bit_length() - 1]
                x ^= low
            grow &= m
            if grow == reach:
                return reach == m
            reach = grow
    outer = outer_contact(g, nodes)
    oa = bits.astype(float) @ outer[nodes]
    island = (oa <= 1e-6) | (outer[nodes].sum() - oa <= 1e-6)
    for i in np.lexsort((cut, island)):
        m = int(masks[i])
        if connected(m) and connected(full ^ m):
            return [nodes[bits[i]], nodes[~bits[i]]]
    return None


def _exact_k(g: UnitGraph, nodes: np.ndarray, k: int, lo: float, hi: float,
             budget: _Budget) -> Parts:
    """Split a few units into ``k`` contiguous parts in the band by enumeration (or None).

    One part is chosen among the connected subsets in the band (shortest border first),
    the rest is split recursively (memoised failures).
    """
    n = len(nodes)
    total = g.h[nodes].sum()
    if not k * lo <= total <= k * hi:
        return None
    if k == 1:
        return [nodes] if is_contiguous(g, nodes) else None
    loc, eidx = subgraph(g, nodes)
    u, v = loc[g.ei[eidx]], loc[g.ej[eidx]]
    hh = g.h[nodes]
    # the part holding the first unit: every subset with bit 0 set
    masks = (np.arange(2 ** (n - 1), dtype=np.int64) << 1) | 1
    bits = ((masks[:, None] >> np.arange(n)) & 1).astype(bool)
    sums = bits.astype(float) @ hh
    rest = total - sums
    ok = (sums >= lo) & (sums <= hi) & (rest >= (k - 1) * lo) & (rest <= (k - 1) * hi)
    if not ok.any():
        return None
    bits = bits[ok]
    cut = (bits[:, u] != bits[:, v]).astype(float) @ g.cost[eidx]
    for i in np.argsort(cut, kind="stable"):
        part, others = nodes[bits[i]], nodes[~bits[i]]
        if not is_contiguous(g, part):
            continue
        key = (k - 1, others.tobytes())
        if key in budget.failed:
            continue
        sub = _exact_two(g, others, lo, hi) if k - 1 == 2 else _exact_k(
            g, others, k - 1, lo, hi, budget)
        if sub is None:
            budget.failed.add(key)
            continue
        return [part] + sub
    return None
