"""Rooted spanning trees (and forests) as flat arrays: subtree sums and lowest common
ancestors, vectorised with numpy.

A tree is given by its DFS preorder and predecessors (as from
:func:`scipy.sparse.csgraph.depth_first_order`). In preorder the subtree of a node is a
contiguous run, so any per-node quantity is summed over every subtree at once with one
cumulative sum (:meth:`RootedTree.subsum`); the end of each run is found by binary
descent over a sparse table of depths (:func:`subtree_sizes`). Lowest common ancestors
of many pairs are found together by binary lifting (:meth:`RootedTree.lca`). The grid
search (:mod:`beatgrid.gis.grids.search`, :mod:`beatgrid.gis.grids.forest`) evaluates
every tree edge as a cut with these.

Examples
--------
>>> import scipy.sparse as sp
>>> # the path 0 - 1 - 2 - 3 rooted at 0
>>> tree = sp.csr_matrix((np.ones(3), ([0, 1, 2], [1, 2, 3])), shape=(4, 4))
>>> t = RootedTree.from_tree(tree, 0)
>>> t.subsum(np.array([1.0, 2.0, 3.0, 4.0])).tolist()
[10.0, 9.0, 7.0, 4.0]
>>> t.lca(np.array([3, 2]), np.array([1, 3])).tolist()
[1, 2]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import depth_first_order


def subtree_sizes(dp: np.ndarray, tin: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """Subtree sizes from the depths along a DFS preorder (``dp``).

    The subtree of ``v`` ends at the first later position whose depth is not greater
    than ``depth[v]``; found for all nodes at once by binary descent over a sparse table
    of range minima.

    Examples
    --------
    >>> depth = np.array([0, 1, 2, 1])            # preorder 0, 1, 2, 3; 2 below 1
    >>> subtree_sizes(depth, np.arange(4), depth).tolist()
    [4, 2, 1, 1]
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
    sizes: np.ndarray = pos - tin
    return sizes


@dataclass
class RootedTree:
    """A rooted tree on nodes ``0..m-1`` as arrays.

    Attributes
    ----------
    root
        The root.
    order
        DFS preorder.
    pred
        Parent of every node (the root is its own parent).
    tin, size
        Position in ``order`` and subtree size: the subtree of ``v`` is
        ``order[tin[v]:tin[v] + size[v]]``.
    up
        Binary-lifting table: ``up[k][v]`` is the ``2**k``-th ancestor of ``v``.
    """

    root: int
    order: np.ndarray
    pred: np.ndarray
    tin: np.ndarray
    size: np.ndarray
    up: list[np.ndarray]

    @classmethod
    def from_tree(cls, tree: sp.spmatrix, root: int) -> RootedTree:
        """Root a tree (or a forest joined under ``root``) given as a sparse matrix.

        Nodes not reached from ``root`` keep ``tin = -1`` and ``size = 0``.
        """
        m = tree.shape[0]
        order, pred = depth_first_order(tree, root, directed=False, return_predecessors=True)
        pred = pred.astype(np.int64)
        pred[root] = root
        seen = pred >= 0
        pred[~seen] = np.flatnonzero(~seen)
        up = [pred]
        depth = (np.arange(m) != root).astype(np.int64) * seen
        anc = pred
        while True:
            depth = depth + depth[anc] * (anc != root)
            nxt = anc[anc]
            if (nxt == anc).all():
                break
            up.append(nxt)
            anc = nxt
        tin = np.full(m, -1, dtype=np.int64)
        tin[order] = np.arange(len(order))
        size = np.zeros(m, dtype=np.int64)
        size[order] = subtree_sizes(depth[order], tin[order], depth[order])
        return cls(root=root, order=order, pred=pred, tin=tin, size=size, up=up)

    def subsum(self, q: np.ndarray) -> np.ndarray:
        """Sum of ``q`` over the subtree of every node."""
        cs = np.concatenate([[0.0], np.cumsum(q[self.order])])
        t = np.maximum(self.tin, 0)
        out: np.ndarray = cs[t + self.size] - cs[t]
        return out

    def contains(self, a: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Whether ``x`` lies in the subtree of ``a`` (elementwise)."""
        tin = self.tin
        inside: np.ndarray = (tin[a] <= tin[x]) & (tin[x] < tin[a] + self.size[a])
        return inside

    def lca(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Lowest common ancestor of every pair ``(u[i], v[i])``."""
        a = np.asarray(u).copy()
        v = np.asarray(v)
        for k in range(len(self.up) - 1, -1, -1):
            nxt = self.up[k][a]
            a = np.where(~self.contains(nxt, v), nxt, a)
        out: np.ndarray = np.where(self.contains(a, v), a, self.pred[a])
        return out
