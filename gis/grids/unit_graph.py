"""The adjacency graph of one community's atomic units, on which grids are searched.

A :class:`UnitGraph` holds per unit the households, area and length on the community
boundary, and per shared border its length, the cost of cutting it and a spanning-tree
bias. Pure numpy / scipy (no geometry): contiguity (:func:`components`,
:func:`is_contiguous`), contact with the outside (:func:`outer_contact`) and enclosed
parts (:func:`enclosed_parts`) are computed on it.

Examples
--------
>>> g = lattice_graph(3, 3, households=50)
>>> g.n, int(g.h.sum())
(9, 450)
>>> components(g, np.array([0, 2, 6])).tolist()
[0, 1, 2]
>>> is_contiguous(g, np.array([0, 1, 2]))
True
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike
from scipy.sparse.csgraph import connected_components


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

    Examples
    --------
    >>> g = lattice_graph(1, 3)
    >>> g.csr().toarray().astype(int).tolist()
    [[0, 1, 0], [1, 0, 1], [0, 1, 0]]
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
        """Number of units."""
        return len(self.h)

    def csr(self, weights: np.ndarray | None = None) -> sp.csr_matrix:
        """The symmetric adjacency matrix (edge ``weights``, default 1)."""
        w = np.ones(len(self.ei)) if weights is None else weights
        m = sp.coo_matrix((np.concatenate([w, w]), (np.concatenate([self.ei, self.ej]),
                                                     np.concatenate([self.ej, self.ei]))),
                          shape=(self.n, self.n))
        return m.tocsr()


def lattice_graph(rows: int, cols: int, *, households: ArrayLike = 20) -> UnitGraph:
    """A rows x cols lattice of unit squares (for tests and examples).

    Examples
    --------
    >>> lattice_graph(2, 2).ext.tolist()
    [2.0, 2.0, 2.0, 2.0]
    """
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


def outer_contact(g: UnitGraph, nodes: np.ndarray) -> np.ndarray:
    """Per unit, border length shared with the outside of the region ``nodes``.

    The outside is the community boundary (``g.ext``) plus the units not in ``nodes``;
    a part of the region with no such contact would be enclosed by the rest.

    Examples
    --------
    >>> outer_contact(lattice_graph(1, 3), np.array([0, 1])).tolist()
    [3.0, 3.0, 3.0]
    """
    inside = np.zeros(g.n, bool)
    inside[nodes] = True
    leave_i = inside[g.ei] & ~inside[g.ej]
    leave_j = inside[g.ej] & ~inside[g.ei]
    outer = g.ext.copy()
    outer += np.bincount(g.ei[leave_i], g.length[leave_i], g.n)
    outer += np.bincount(g.ej[leave_j], g.length[leave_j], g.n)
    return outer


def subgraph(g: UnitGraph, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Local numbering of ``nodes`` (-1 elsewhere) and the edges between them.

    Examples
    --------
    >>> loc, edges = subgraph(lattice_graph(1, 3), np.array([1, 2]))
    >>> loc.tolist(), edges.tolist()
    ([-1, 0, 1], [1])
    """
    loc = np.full(g.n, -1, dtype=np.int64)
    loc[nodes] = np.arange(len(nodes))
    keep = (loc[g.ei] >= 0) & (loc[g.ej] >= 0)
    return loc, np.flatnonzero(keep)


def components(g: UnitGraph, nodes: np.ndarray | None = None) -> np.ndarray:
    """Connected-component label of every unit (restricted to ``nodes`` when given).

    Examples
    --------
    >>> components(lattice_graph(1, 4), np.array([0, 1, 3])).tolist()
    [0, 0, 1]
    """
    if nodes is None:
        labels: np.ndarray = connected_components(g.csr(), directed=False)[1]
        return labels
    loc, eidx = subgraph(g, nodes)
    m = len(nodes)
    mat = sp.coo_matrix((np.ones(len(eidx)), (loc[g.ei[eidx]], loc[g.ej[eidx]])), shape=(m, m))
    local: np.ndarray = connected_components(mat.tocsr(), directed=False)[1]
    return local


def is_contiguous(g: UnitGraph, nodes: np.ndarray) -> bool:
    """Whether ``nodes`` form one connected piece of the graph.

    Examples
    --------
    >>> is_contiguous(lattice_graph(1, 4), np.array([0, 2]))
    False
    """
    if len(nodes) <= 1:
        return len(nodes) == 1
    return bool(components(g, nodes).max() == 0)


def enclosed_parts(g: UnitGraph, labels: np.ndarray, *,
                   parts: Iterable[int] | None = None) -> set[int]:
    """Parts that enclose others (have a hole filled by other units), on the graph.

    A part encloses when, removing it, some other units cannot reach the community
    boundary (units with ``ext > 0``). Computed for all parts at once: on the graph of
    the parts (each unlabelled unit its own node) joined to one node standing for the
    outside, a one-piece part encloses exactly when it is an articulation point.

    Examples
    --------
    >>> g = lattice_graph(3, 3)
    >>> sorted(enclosed_parts(g, np.array([0, 0, 0, 0, 1, 0, 0, 0, 0])))
    [0]
    >>> sorted(enclosed_parts(g, np.array([0, 0, 0, 1, 1, 1, 2, 2, 2])))
    []
    """
    n = g.n
    labels = np.asarray(labels)
    wanted = np.unique(labels[labels >= 0]) if parts is None else np.asarray(list(parts))
    wanted = wanted[np.isin(wanted, labels)] if len(wanted) else wanted
    if len(wanted) == 0:
        return set()
    same = (labels[g.ei] == labels[g.ej]) & (labels[g.ei] >= 0)
    mat = sp.coo_matrix((np.ones(int(same.sum())), (g.ei[same], g.ej[same])), shape=(n, n))
    piece = connected_components(mat.tocsr(), directed=False)[1]
    n_pieces = int(piece.max()) + 1 if n else 0
    piece_label = np.full(n_pieces, -1, dtype=np.int64)
    piece_label[piece] = labels
    per_label = np.bincount(piece_label[piece_label >= 0], minlength=int(labels.max()) + 1)
    outside = n_pieces
    qi, qj = piece[g.ei], piece[g.ej]
    cross = qi != qj
    touching = np.flatnonzero(g.ext > 1e-6)
    a = np.concatenate([qi[cross], np.unique(piece[touching])])
    b = np.concatenate([qj[cross], np.full(len(np.unique(piece[touching])), outside)])
    qn = n_pieces + 1
    key = np.unique(np.minimum(a, b) * qn + np.maximum(a, b))
    qa, qb = key // qn, key % qn
    qmat = sp.coo_matrix((np.ones(2 * len(key)), (np.r_[qa, qb], np.r_[qb, qa])),
                         shape=(qn, qn)).tocsr()
    qcomp = connected_components(qmat, directed=False)[1]
    reach = qcomp == qcomp[outside]
    stranded = set()
    if not reach.all():
        stranded = {int(piece_label[x]) for x in np.flatnonzero(~reach[:n_pieces])}
    cut = articulation_points(qmat, outside)
    node_of = np.full(len(per_label), -1, dtype=np.int64)
    node_of[piece_label[piece_label >= 0]] = np.flatnonzero(piece_label >= 0)
    out = set()
    for p in wanted.tolist():
        if per_label[p] > 1:  # a part in pieces: remove all of them and look
            if _encloses_by_search(g, labels, p, touching):
                out.add(int(p))
            continue
        if stranded - {p} or int(node_of[p]) in cut:
            out.add(int(p))
    return out


def _encloses_by_search(g: UnitGraph, labels: np.ndarray, p: int, touching: np.ndarray) -> bool:
    n = g.n
    keep = labels != p
    m = keep[g.ei] & keep[g.ej]
    ok = touching[keep[touching]]
    ei = np.concatenate([g.ei[m], ok])
    ej = np.concatenate([g.ej[m], np.full(len(ok), n)])
    mat = sp.coo_matrix((np.ones(len(ei)), (ei, ej)), shape=(n + 1, n + 1)).tocsr()
    comp = connected_components(mat, directed=False)[1]
    return bool((comp[np.flatnonzero(keep)] != comp[n]).any())


def articulation_points(mat: sp.csr_matrix, root: int) -> set[int]:
    """Articulation points of the component of ``root`` in an undirected graph (CSR).

    Tarjan's low-link depth-first search, iterative (no recursion limit); linear in the
    edges. (networkx has one too, but building its graph costs far more than the search
    on the part graphs of big communities.)

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> a, b = [0, 1, 1, 3], [1, 2, 3, 4]                  # 0-1-2, 1-3-4
    >>> m = sp.coo_matrix((np.ones(8), (a + b, b + a)), shape=(5, 5)).tocsr()
    >>> sorted(articulation_points(m, 0))
    [1, 3]
    """
    indptr, indices = mat.indptr.tolist(), mat.indices.tolist()
    n = mat.shape[0]
    disc = [-1] * n
    low = [0] * n
    parent = [-1] * n
    children = [0] * n
    out: set[int] = set()
    disc[root] = low[root] = 0
    time_ = 1
    stack = [(root, indptr[root])]
    while stack:
        v, pos = stack[-1]
        if pos < indptr[v + 1]:
            stack[-1] = (v, pos + 1)
            w = indices[pos]
            if disc[w] < 0:
                parent[w] = v
                children[v] += 1
                disc[w] = low[w] = time_
                time_ += 1
                stack.append((w, indptr[w]))
            elif w != parent[v] and disc[w] < low[v]:
                low[v] = disc[w]
        else:
            stack.pop()
            p = parent[v]
            if p >= 0:
                if low[v] < low[p]:
                    low[p] = low[v]
                if p != root and low[v] >= disc[p]:
                    out.add(p)
    if children[root] > 1:
        out.add(root)
    return out


def attach_leftovers(adj: Sequence[Iterable[int]], labels: np.ndarray, *,
                     lowest: bool = False) -> None:
    """Units left without a grid (label < 0: units without households) join a
    neighbouring grid, in rounds until none is next to one; ``labels`` is changed in
    place. The grid of the first neighbour in ``adj``'s order is taken, or the lowest
    grid number with ``lowest`` (for neighbour sets, whose order is not the caller's).

    Examples
    --------
    >>> labels = np.array([0, -1, -1, 1])
    >>> attach_leftovers([[1], [0, 2], [1, 3], [2]], labels)
    >>> labels.tolist()
    [0, 0, 0, 1]
    >>> labels = np.array([1, -1, 0])
    >>> attach_leftovers([{1}, {0, 2}, {1}], labels, lowest=True)
    >>> labels.tolist()
    [1, 0, 0]
    """
    left = [i for i in range(len(labels)) if labels[i] < 0]
    while left:
        rest = []
        for i in left:
            near = [labels[j] for j in adj[i] if labels[j] >= 0]
            if near:
                labels[i] = min(near) if lowest else near[0]
            else:
                rest.append(i)
        if len(rest) == len(left):
            break
        left = rest


def local_edges(g: UnitGraph, nodes: np.ndarray, edges: np.ndarray | None = None
                ) -> tuple[list[int], list[int], list[float]]:
    """The edges of ``g`` between ``nodes`` (self-loops left out), in the graph's order,
    with the nodes numbered ``0..len(nodes)-1``: (first ends, second ends, cut costs).

    ``edges`` is a mask over the graph's edges (default all).

    Examples
    --------
    >>> local_edges(lattice_graph(1, 3), np.array([1, 2]))
    ([0], [1], [1.0])
    """
    loc = np.full(g.n, -1, dtype=np.int64)
    loc[nodes] = np.arange(len(nodes))
    real = np.ones(len(g.ei), bool) if edges is None else np.asarray(edges, bool)
    keep = real & (loc[g.ei] >= 0) & (loc[g.ej] >= 0) & (g.ei != g.ej)
    return loc[g.ei[keep]].tolist(), loc[g.ej[keep]].tolist(), g.cost[keep].tolist()


def local_adjacency(g: UnitGraph, nodes: np.ndarray, edges: np.ndarray | None = None
                    ) -> tuple[list[set[int]], dict[tuple[int, int], float]]:
    """Neighbour sets and summed cut costs (both directions) of ``nodes``, numbered
    ``0..len(nodes)-1``, over the edges of the mask ``edges`` (default all).

    Examples
    --------
    >>> adj, cost = local_adjacency(lattice_graph(1, 3), np.array([1, 2]))
    >>> adj, cost
    ([{1}, {0}], {(0, 1): 1.0, (1, 0): 1.0})
    """
    adj: list[set[int]] = [set() for _ in range(len(nodes))]
    cost: dict[tuple[int, int], float] = {}
    for a, b, c in zip(*local_edges(g, nodes, edges)):
        adj[a].add(b)
        adj[b].add(a)
        cost[(a, b)] = cost.get((a, b), 0.0) + c
        cost[(b, a)] = cost.get((b, a), 0.0) + c
    return adj, cost
