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
    labels = labels.copy()
    start = labels.copy()
    n = g.n
    adj: list[list[int]] = [[] for _ in range(n)]
    wadj: list[list[float]] = [[] for _ in range(n)]
    for a, b, c in zip(g.ei.tolist(), g.ej.tolist(), g.cost.tolist()):
        adj[a].append(b)
        adj[b].append(a)
        wadj[a].append(c)
        wadj[b].append(c)
    parts: dict[int, set[int]] = {}
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
            gain: dict[int, float] = {}
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
