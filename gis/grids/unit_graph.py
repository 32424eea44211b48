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

from collections.abc import Iterable
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
