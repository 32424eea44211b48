"""Local repair of a plan on the unit graph: move border units between neighbouring grids.

:func:`improve` moves border units to the neighbouring grid sharing more weighted border
while every grid stays in the band and contiguous (compactness, borders on streets);
:func:`repair_band` moves them while the households out of the band fall (the closest
plan when no plan in the band was found). Both keep grids contiguous and never move
fixed units. Used after :func:`~beatgrid.gis.grids.search.tree_partition`.

Examples
--------
>>> from beatgrid.gis.grids.unit_graph import lattice_graph
>>> g = lattice_graph(1, 6, households=100)
>>> repair_band(g, np.array([0, 0, 0, 0, 0, 1]), lo=300, hi=300).tolist()
[0, 0, 0, 1, 1, 1]
"""

from __future__ import annotations

import heapq

import numpy as np

from beatgrid.gis.graph import is_connected
from beatgrid.gis.grids.unit_graph import UnitGraph, enclosed_parts, lattice_graph

__all__ = ["improve", "repair_band", "lattice_graph"]


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
    start = np.asarray(labels).copy()
    n = g.n
    adj, wadj = _adjacency(g)
    lab: list[int] = start.tolist()
    parts: dict[int, set[int]] = {}
    for i, x in enumerate(lab):
        if x >= 0:
            parts.setdefault(x, set()).add(i)
    labelled = start >= 0
    sums: np.ndarray = np.bincount(start[labelled], weights=g.h[labelled]) \
        if labelled.any() else np.zeros(0)
    load = {p: float(sums[p]) for p in parts}
    frozen = (np.zeros(n, bool) if fixed is None else np.asarray(fixed, bool)).tolist()
    h = g.h.tolist()
    for _ in range(passes):
        moved = 0
        # units are visited in order; only those sharing more cost with another part
        # than with their own can move, and a unit's standing changes only when a
        # neighbour moves (then it is queued if still ahead in this pass)
        queue = _movable(g, np.asarray(lab)).tolist()
        queued = set(queue)
        heapq.heapify(queue)
        while queue:
            i = heapq.heappop(queue)
            a = lab[i]
            if a < 0 or frozen[i]:
                continue
            gain: dict[int, float] = {}
            own = 0.0
            for j, c in zip(adj[i], wadj[i]):
                lj = lab[j]
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
            lab[i] = b
            moved += 1
            for j in adj[i]:
                if j > i and j not in queued:
                    queued.add(j)
                    heapq.heappush(queue, j)
        if not moved:
            break
    out = np.asarray(lab, dtype=start.dtype)
    changed = out != start
    if changed.any():
        gained = np.unique(out[changed])  # only a part that grew can enclose another
        if enclosed_parts(g, out, parts=gained) - enclosed_parts(g, start, parts=gained):
            return start
    return out


def _adjacency(g: UnitGraph) -> tuple[list[list[int]], list[list[float]]]:
    """Neighbours of every unit and the cost of each border, in edge order."""
    n = g.n
    m = len(g.ei)
    ends = np.concatenate([g.ei, g.ej])
    other = np.concatenate([g.ej, g.ei])
    # edge order first (as built one edge at a time), then grouped by unit
    order = np.lexsort((np.concatenate([np.arange(m), np.arange(m)]), ends))
    bounds = np.searchsorted(ends[order], np.arange(n + 1)).tolist()
    nb = other[order].tolist()
    cost = np.concatenate([g.cost, g.cost])[order].tolist()
    return ([nb[bounds[i]:bounds[i + 1]] for i in range(n)],
            [cost[bounds[i]:bounds[i + 1]] for i in range(n)])


def _movable(g: UnitGraph, labels: np.ndarray) -> np.ndarray:
    """Units sharing more cut cost with one other part than with their own (sorted)."""
    n = g.n
    ends = np.concatenate([g.ei, g.ej])
    other = np.concatenate([g.ej, g.ei])
    cost = np.concatenate([g.cost, g.cost])
    la, lb = labels[ends], labels[other]
    ok = (la >= 0) & (lb >= 0)
    ends, lb, cost, same = ends[ok], lb[ok], cost[ok], (la == lb)[ok]
    own = np.bincount(ends[same], cost[same], n)
    if (~same).sum() == 0:
        return np.empty(0, dtype=np.int64)
    key = ends[~same] * (int(labels.max()) + 1) + lb[~same]
    uk, inv = np.unique(key, return_inverse=True)
    shared = np.bincount(inv.ravel(), cost[~same], len(uk))
    unit = uk // (int(labels.max()) + 1)
    best = np.full(n, -np.inf)
    np.maximum.at(best, unit, shared)
    return np.flatnonzero(best > own + 1e-9)


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
    adj: list[list[int]] = [[] for _ in range(n)]
    for a, b in zip(g.ei.tolist(), g.ej.tolist()):
        adj[a].append(b)
        adj[b].append(a)
    parts: dict[int, set[int]] = {}
    for i, lab in enumerate(labels.tolist()):
        if lab >= 0:
            parts.setdefault(lab, set()).add(i)
    load = {p: float(g.h[list(m)].sum()) for p, m in parts.items()}
    h = g.h.tolist()
    frozen = np.zeros(n, bool) if fixed is None else fixed

    def excess(x: float) -> float:
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
