"""The search engine of the grid generator: recursive spanning-tree bisection and local repair.

Pure numpy / scipy on the adjacency graph of one community's atomic units (no
geometry). :func:`tree_partition` splits the units into ``k`` contiguous parts whose
households lie in ``[lo, hi]``: it draws random spanning trees whose weights keep the
cells of one street block (and of one estate) together, evaluates every tree edge as a
cut in one vectorised pass (households, area and the street-weighted border length of
both sides, via subtree sums over the DFS order and lowest common ancestors), keeps the
most compact cut that leaves both sides splittable, and recurses with backtracking.
:func:`improve` then moves border units between neighbouring parts while this lowers
the weighted border length, keeping every part contiguous and in the band.

Examples
--------
>>> import numpy as np
>>> g = lattice_graph(6, 6, households=25)
>>> labels = tree_partition(g, 3, lo=250, hi=350, rng=np.random.default_rng(0))
>>> sorted(np.bincount(labels, weights=g.h).astype(int).tolist())
[300, 300, 300]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components, depth_first_order, minimum_spanning_tree

from beatgrid.gis.graph import is_connected


@dataclass
class UnitGraph:
    """Adjacency graph of the units of one community (local indices ``0..n-1``).

    Attributes
    ----------
    h, area, ext
        Households, area (m2) and length on the community boundary (m) per unit.
    ei, ej
        Edge end points (``ei < ej`` not required).
    length
        Shared border length (m) per edge (0 for virtual edges).
    cost
        Cost of cutting the edge (length weighted: streets 1, between buildings
        ``non_street_border_cost``, through an estate more).
    bias
        Spanning-tree weight offset: low keeps two units together in the trees.
    """

    h: np.ndarray
    area: np.ndarray
    ext: np.ndarray
    ei: np.ndarray
    ej: np.ndarray
    length: np.ndarray
    cost: np.ndarray
    bias: np.ndarray

    @property
    def n(self) -> int:
        return len(self.h)

    def csr(self, weights: np.ndarray | None = None) -> sp.csr_matrix:
        w = np.ones(len(self.ei)) if weights is None else weights
        m = sp.coo_matrix((np.concatenate([w, w]), (np.concatenate([self.ei, self.ej]),
                                                     np.concatenate([self.ej, self.ei]))),
                          shape=(self.n, self.n))
        return m.tocsr()


def outer_contact(g, nodes) -> np.ndarray:
    """Per unit, border length shared with the outside of the region ``nodes``.

    The outside is the community boundary (``g.ext``) plus the units not in ``nodes``;
    a part of the region with no such contact would be enclosed by the rest.
    """
    inside = np.zeros(g.n, bool)
    inside[nodes] = True
    leave_i = inside[g.ei] & ~inside[g.ej]
    leave_j = inside[g.ej] & ~inside[g.ei]
    outer = g.ext.copy()
    outer += np.bincount(g.ei[leave_i], g.length[leave_i], g.n)
    outer += np.bincount(g.ej[leave_j], g.length[leave_j], g.n)
    return outer


def lattice_graph(rows: int, cols: int, *, households=20) -> UnitGraph:
    """A rows x cols lattice of unit squares (for tests and examples)."""
    n = rows * cols
    idx = np.arange(n).reshape(rows, cols)
    ei = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    ej = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    ext = np.zeros(n)
    for r in range(rows):
        for c in range(cols):
            ext[idx[r, c]] = (r == 0) + (r == rows - 1) + (c == 0) + (c == cols - 1)
    h = np.broadcast_to(np.asarray(households, dtype=float), (n,)).astype(float)
    m = len(ei)
    return UnitGraph(h=h, area=np.ones(n), ext=ext, ei=ei, ej=ej, length=np.ones(m),
                     cost=np.ones(m), bias=np.zeros(m))


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


class _Budget:
    def __init__(self, attempts: int):
        self.left = attempts
        self.failed: set = set()  # (k, units) sub-problems known to have no split

    def spend(self) -> bool:
        self.left -= 1
        return self.left >= 0


def _subgraph(g: UnitGraph, nodes: np.ndarray, emask_cache: dict | None = None):
    loc = np.full(g.n, -1, dtype=np.int64)
    loc[nodes] = np.arange(len(nodes))
    keep = (loc[g.ei] >= 0) & (loc[g.ej] >= 0)
    return loc, np.flatnonzero(keep)


def _structure(u, v, m):
    """A CSR matrix of the edges (upper triangle) and the edge order of its data."""
    a, b = np.minimum(u, v), np.maximum(u, v)
    order = np.lexsort((b, a))
    a, b = a[order], b[order]
    indptr = np.concatenate([[0], np.cumsum(np.bincount(a, minlength=m))])
    mat = sp.csr_matrix((np.ones(len(a)), b, indptr), shape=(m, m))
    return mat, order


def _subtree_sizes(dp: np.ndarray, tin: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """Subtree sizes from the depths along a DFS preorder (``dp``).

    The subtree of ``v`` ends at the first later position whose depth is not greater
    than ``depth[v]``; found for all nodes at once by binary descent over a sparse table
    of range minima.
    """
    m = len(dp)
    table = [dp]
    span = 1
    while 2 * span <= m:
        prev = table[-1]
        table.append(np.minimum(prev[:-span], prev[span:]))
        span *= 2
    pos = tin + 1
    for k in range(len(table) - 1, -1, -1):
        width = 1 << k
        ok = pos + width <= m
        idx = np.flatnonzero(ok)
        if len(idx) == 0:
            continue
        deeper = table[k][pos[idx]] > depth[idx]
        pos[idx[deeper]] += width
    return pos - tin


def _tree_cuts(g: UnitGraph, nodes: np.ndarray, eidx: np.ndarray, loc: np.ndarray,
               rng: np.random.Generator, extra: np.ndarray | None = None, structure=None):
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
    size = _subtree_sizes(depth[order], tin, depth)

    def subsum(q):
        cs = np.concatenate([[0.0], np.cumsum(q[order])])
        return cs[tin + size] - cs[tin]

    levels = len(up)

    def contains(a, x):
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


def _best_cuts(g, nodes, k, lo, hi, rng, trees, balance_weight):
    """Candidate cuts of ``nodes`` into two sides over several trees, best first."""
    loc, eidx = _subgraph(g, nodes)
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
                   nodes: np.ndarray | None = None) -> np.ndarray | None:
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
    budget = _Budget(max_attempts + 2 * k)  # every bisection of a big k needs a round
    parts = _split(g, nodes, k, lo, hi, rng, trees, balance_weight, budget)
    if parts is None:
        return None
    labels = np.full(g.n, -1, dtype=np.int64)
    for i, p in enumerate(parts):
        labels[p] = i
    return labels


def _split(g, nodes, k, lo, hi, rng, trees, balance_weight, budget):
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

    def attempt(members, ka, kb):
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


def _known_failure(budget, nodes, members, ka, kb) -> bool:
    return (ka, nodes[members].tobytes()) in budget.failed or \
        (kb, nodes[~members].tobytes()) in budget.failed


def _exact_two(g, nodes, lo, hi):
    """Best contiguous two-way split of a few units in the band, by enumeration (or None)."""
    n = len(nodes)
    loc, eidx = _subgraph(g, nodes)
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

    def connected(m):
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


def _exact_k(g, nodes, k, lo, hi, budget):
    """Split a few units into ``k`` contiguous parts in the band by enumeration (or None).

    One part is chosen among the connected subsets in the band (shortest border first),
    the rest is split recursively (memoised failures).
    """
    n = len(nodes)
    total = g.h[nodes].sum()
    if not k * lo <= total <= k * hi:
        return None
    if k == 1:
        return [nodes] if gs_connected(g, nodes) else None
    loc, eidx = _subgraph(g, nodes)
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
        if not gs_connected(g, part):
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


def gs_connected(g: UnitGraph, nodes: np.ndarray) -> bool:
    """Whether ``nodes`` form one connected piece of the graph."""
    if len(nodes) <= 1:
        return len(nodes) == 1
    return components(g, nodes).max() == 0


def components(g: UnitGraph, nodes: np.ndarray | None = None) -> np.ndarray:
    """Connected-component label of every unit (restricted to ``nodes`` when given)."""
    if nodes is None:
        return connected_components(g.csr(), directed=False)[1]
    loc, eidx = _subgraph(g, nodes)
    m = len(nodes)
    mat = sp.coo_matrix((np.ones(len(eidx)), (loc[g.ei[eidx]], loc[g.ej[eidx]])), shape=(m, m))
    return connected_components(mat.tocsr(), directed=False)[1]


def improve(g: UnitGraph, labels: np.ndarray, *, lo: float, hi: float, passes: int = 3,
            fixed: np.ndarray | None = None) -> np.ndarray:
    """Move border units to the neighbouring part while it lowers the weighted border.

    A unit moves from part A to part B when it shares more cut cost with B than with A,
    both parts stay in ``[lo, hi]`` (or do not get further from it) and A stays
    contiguous. Parts labelled -1 and units in ``fixed`` never move.

    Examples
    --------
    >>> g = lattice_graph(2, 4, households=100)
    >>> lab = np.array([0, 0, 1, 1, 0, 1, 1, 0])
    >>> improve(g, lab, lo=300, hi=500).tolist()
    [0, 0, 1, 1, 0, 0, 1, 1]
    """
    labels = labels.copy()
    start = labels.copy()
    n = g.n
    adj = [[] for _ in range(n)]
    wadj = [[] for _ in range(n)]
    for a, b, c in zip(g.ei.tolist(), g.ej.tolist(), g.cost.tolist()):
        adj[a].append(b)
        adj[b].append(a)
        wadj[a].append(c)
        wadj[b].append(c)
    parts: dict[int, set] = {}
    for i, lab in enumerate(labels.tolist()):
        if lab >= 0:
            parts.setdefault(lab, set()).add(i)
    load = {p: float(g.h[list(s)].sum()) for p, s in parts.items()}
    frozen = np.zeros(n, bool) if fixed is None else fixed
    h = g.h.tolist()
    for _ in range(passes):
        moved = 0
        for i in range(n):
            a = labels[i]
            if a < 0 or frozen[i]:
                continue
            gain = {}
            own = 0.0
            for j, c in zip(adj[i], wadj[i]):
                lj = labels[j]
                if lj == a:
                    own += c
                elif lj >= 0:
                    gain[lj] = gain.get(lj, 0.0) + c
            if not gain:
                continue
            b, shared = max(gain.items(), key=lambda t: t[1])
            if shared <= own + 1e-9:
                continue
            la, lb = load[a] - h[i], load[b] + h[i]
            ok_a = lo <= la <= hi or (la > hi) or (h[i] == 0)
            ok_b = lo <= lb <= hi or (lb < lo) or (h[i] == 0)
            if not (ok_a and ok_b) or len(parts[a]) == 1:
                continue
            if not is_connected(adj, parts[a], removed=i):
                continue
            parts[a].discard(i)
            parts[b].add(i)
            load[a], load[b] = la, lb
            labels[i] = b
            moved += 1
        if not moved:
            break
    changed = labels != start
    if changed.any():
        gained = np.unique(labels[changed])  # only a part that grew can enclose another
        if enclosed_parts(g, labels, parts=gained) - enclosed_parts(g, start, parts=gained):
            return start
    return labels


def repair_band(g: UnitGraph, labels: np.ndarray, *, lo: float, hi: float,
                passes: int = 20, fixed: np.ndarray | None = None) -> np.ndarray:
    """Move border units between neighbouring parts while the total excess out of the band falls.

    The excess of a part is how far its households lie outside ``[lo, hi]``. Parts stay
    contiguous; units in ``fixed`` and labels -1 never move. Used on the closest plan
    when no plan in the band was found.

    Examples
    --------
    >>> g = lattice_graph(1, 6, households=100)
    >>> repair_band(g, np.array([0, 0, 0, 0, 0, 1]), lo=300, hi=300).tolist()
    [0, 0, 0, 1, 1, 1]
    """
    labels = labels.copy()
    n = g.n
    adj = [[] for _ in range(n)]
    for a, b in zip(g.ei.tolist(), g.ej.tolist()):
        adj[a].append(b)
        adj[b].append(a)
    parts: dict[int, set] = {}
    for i, lab in enumerate(labels.tolist()):
        if lab >= 0:
            parts.setdefault(lab, set()).add(i)
    load = {p: float(g.h[list(m)].sum()) for p, m in parts.items()}
    h = g.h.tolist()
    frozen = np.zeros(n, bool) if fixed is None else fixed

    def excess(x):
        return max(0.0, lo - x, x - hi)

    for _ in range(passes):
        moved = 0
        for i in range(n):
            a = labels[i]
            if a < 0 or frozen[i] or h[i] == 0 or len(parts[a]) == 1:
                continue
            if excess(load[a]) == 0 and not any(
                    labels[j] >= 0 and excess(load[labels[j]]) > 0 for j in adj[i]):
                continue
            best, best_gain = None, 1e-9
            for j in adj[i]:
                b = labels[j]
                if b < 0 or b == a:
                    continue
                gain = excess(load[a]) + excess(load[b]) - excess(load[a] - h[i]) \
                    - excess(load[b] + h[i])
                if gain > best_gain:
                    best, best_gain = b, gain
            if best is None or not is_connected(adj, parts[a], removed=i):
                continue
            parts[a].discard(i)
            parts[best].add(i)
            load[a] -= h[i]
            load[best] += h[i]
            labels[i] = best
            moved += 1
        if not moved:
            break
    return labels


def enclosed_parts(g: UnitGraph, labels: np.ndarray, *, parts=None) -> set:
    """Parts that enclose others (have a hole filled by other units), on the graph.

    A part encloses when, removing it, some other units cannot reach the community
    boundary (units with ``ext > 0``).

    Examples
    --------
    >>> g = lattice_graph(3, 3)
    >>> sorted(enclosed_parts(g, np.array([0, 0, 0, 0, 1, 0, 0, 0, 0])))
    [0]
    """
    out = set()
    n = g.n
    touching = g.ext > 1e-6
    for p in np.unique(labels[labels >= 0]) if parts is None else parts:
        keep = labels != p
        if keep.all():
            continue
        m = keep[g.ei] & keep[g.ej]
        # node n is the outside, joined to every unit on the community boundary
        ei = np.concatenate([g.ei[m], np.flatnonzero(touching & keep)])
        ej = np.concatenate([g.ej[m], np.full((touching & keep).sum(), n)])
        mat = sp.coo_matrix((np.ones(len(ei)), (ei, ej)), shape=(n + 1, n + 1)).tocsr()
        comp = connected_components(mat, directed=False)[1]
        if (comp[np.flatnonzero(keep)] != comp[n]).any():
            out.add(int(p))
    return out
