"""A proof by sweeping the units: a frontier-based dynamic programme over partitions.

:func:`sweep_feasible` decides whether the units of a small part can be split into
connected grids of ``[lo, hi]`` households (units without households may stay out of
every grid: they join a neighbouring grid afterwards). The units are taken one by one in
an order that keeps the *frontier* (units taken that still have neighbours not taken)
short (greedy, from the best start); that order and its reverse are raced, the run
holding fewer states going on, and the first to end decides (any order gives the exact
answer, but the states needed can differ tenfold). A state is the partition of the frontier into open
groups with their households; the next unit starts a group or joins any set of the
groups of its taken neighbours (merging them, within ``hi``); a group with no unit left
on the frontier is closed and must hold ``lo..hi`` households (or none). States that
differ only in the households spent above ``lo`` by closed groups keep the smallest:
that *slack* (plus what open groups already hold above ``lo``) can never exceed
``H - kmin lo``. Every plan is one path through the states, so no state left at the
end is a proof; a state reaching the end means a plan exists. The states of a step are
numpy rows, extended, renumbered and deduplicated together (ten times faster than one by
one: C01 of the sample at [380, 420], 570,000 states, in under 3 s of CPU instead of 26 s),
and a :class:`Sweep` runs in slices of time, each going on where the last stopped.

It complements the exact cover (:mod:`beatgrid.gis.grids.cover`), whose proof ignores
that two grids cannot share a unit without households: the sweep counts those exactly.

Examples
--------
>>> from beatgrid.gis.grids.unit_graph import lattice_graph
>>> sweep_feasible(lattice_graph(2, 3, households=[120, 0, 200, 180, 0, 160]), lo=300,
...                hi=360).status
'feasible'
>>> r = sweep_feasible(lattice_graph(1, 3, households=[200, 0, 250]), lo=200, hi=240)
>>> r.status, r.states
('infeasible', 3)
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from beatgrid.gis.grids.unit_graph import UnitGraph, lattice_graph, local_adjacency

__all__ = ["Sweep", "SweepResult", "sweep_feasible", "lattice_graph"]

#: Start units tried for the sweep order (the one with the shortest frontier is kept).
ORDER_STARTS = 40


@dataclass(frozen=True)
class SweepResult:
    """What the sweep found.

    Attributes
    ----------
    status
        ``feasible`` (a plan exists), ``infeasible`` (proven: none) or ``limit`` (the
        deadline or the state limit was reached: nothing proven).
    states
        States visited.
    width
        Longest frontier of the order used.
    seconds
        Time spent.
    """

    status: str
    states: int
    width: int
    seconds: float


def sweep_feasible(g: UnitGraph, *, lo: float, hi: float, nodes: np.ndarray | None = None,
                   edges: np.ndarray | None = None, deadline: float | None = None,
                   max_states: int = 400_000) -> SweepResult:
    """Whether the units ``nodes`` (default all) admit a plan in ``[lo, hi]``.

    Parameters
    ----------
    g
        The unit graph.
    lo, hi
        Household band of a grid.
    nodes
        The units (connected by ``edges``).
    edges
        Mask of the edges of ``g`` that are real borders (default all).
    deadline
        ``time.process_time()`` value (CPU seconds) at which the sweep stops.
    max_states
        States of one step at most (beyond: ``limit``).

    Returns
    -------
    SweepResult

    Examples
    --------
    >>> sweep_feasible(lattice_graph(1, 3, households=250), lo=300, hi=500).status
    'infeasible'
    """
    return Sweep(g, lo=lo, hi=hi, nodes=nodes, edges=edges,
                 max_states=max_states).run(deadline=deadline)


class Sweep:
    """The exact sweep of some units, run in slices of CPU time: each :meth:`run` goes on
    where the last one stopped (a part's short first sweep is not done again later).

    Parameters are those of :func:`sweep_feasible`.

    Examples
    --------
    >>> s = Sweep(lattice_graph(3, 3, households=[90, 0, 120] * 3), lo=300, hi=340)
    >>> s.run(deadline=0.0).status  # no time at all: nothing decided yet
    'limit'
    >>> r = s.run()
    >>> r.status, r.states
    ('feasible', 66)
    """

    def __init__(self, g: UnitGraph, *, lo: float, hi: float, nodes: np.ndarray | None = None,
                 edges: np.ndarray | None = None, max_states: int = 400_000) -> None:
        t0 = time.perf_counter()
        nodes = np.arange(g.n) if nodes is None else np.asarray(nodes)
        adj, _ = local_adjacency(g, nodes, edges)
        h = g.h[nodes].astype(float).tolist()
        total = sum(h)
        kmin, kmax = math.ceil(total / hi - 1e-9), math.floor(total / lo + 1e-9)
        self._decided: str | None = None
        self._runs: list[Iterator[tuple[str | None, int, int]]] = []
        self._width = 0
        if total <= 0 or kmin > kmax:
            self._decided = "infeasible" if total > 0 else "feasible"
        else:
            hi = min(hi, total - (kmin - 1) * lo)
            self._width, order = _order(adj)
            self._runs = [_sweep(adj, h, o, lo, hi, total - kmin * lo, max_states)
                          for o in (order, order[::-1])]
        self._sizes = [1] * len(self._runs)
        self._done = [0] * len(self._runs)
        self._alive = list(range(len(self._runs)))
        self._seconds = time.perf_counter() - t0

    def run(self, *, deadline: float | None = None) -> SweepResult:
        """Sweep until decided, out of states, or ``deadline`` (``time.process_time()``)."""
        t0 = time.perf_counter()
        status = self._decided or self._race(deadline)
        self._seconds += time.perf_counter() - t0
        return SweepResult(status, sum(self._done), self._width, self._seconds)

    def _race(self, deadline: float | None) -> str:
        """Run the orders side by side, always advancing the one holding the fewest
        states; the first to end decides (every order gives the exact answer, but the
        states one needs can differ tenfold: C01 of the sample at [380, 420] takes 2.7
        million states one way, 275,000 the other)."""
        while self._alive:
            if deadline is not None and time.process_time() > deadline:
                return "limit"
            k = min(self._alive, key=lambda r: self._sizes[r])
            status, self._done[k], self._sizes[k] = next(self._runs[k])
            if status in ("feasible", "infeasible"):
                self._decided = status
                return status
            if status == "limit":
                self._alive.remove(k)
        self._decided = "limit"  # every order ran out of states: nothing more to do
        return "limit"


def _order(adj: list[set[int]]) -> tuple[int, list[int]]:
    """A unit order with a short frontier: greedily the unit that leaves the fewest
    taken units with neighbours not taken, from the best of a few starts."""
    n = len(adj)
    starts = sorted(range(n), key=lambda v: (len(adj[v]), v))[:ORDER_STARTS]
    best: tuple[tuple[int, int], list[int]] | None = None
    for s in starts:
        order, taken = [s], {s}
        left = [len(a) for a in adj]  # neighbours not taken, per unit
        for x in adj[s]:
            left[x] -= 1
        width = 1 if adj[s] else 0
        sizes = [width]
        cand = set(adj[s])

        def after(w: int) -> int:
            """The frontier's length once ``w`` is taken."""
            closed = (left[w] == 0) + sum(1 for u in adj[w] if u in taken and left[u] == 1)
            return width + 1 - closed

        while cand:
            w = min(cand, key=lambda w: (after(w), w))
            width = after(w)
            order.append(w)
            taken.add(w)
            cand.discard(w)
            for x in adj[w]:
                left[x] -= 1
                if x not in taken:
                    cand.add(x)
            sizes.append(width)
        order += [v for v in range(n) if v not in taken]  # other pieces (not expected)
        key = (max(sizes), sum(sizes))
        if best is None or key < best[0]:
            best = (key, order)
    assert best is not None
    return best[0][0], best[1]


def _sweep(adj: list[set[int]], h: list[float], order: list[int], lo: float, hi: float,
           slack: float, max_states: int) -> Iterator[tuple[str | None, int, int]]:
    """The dynamic programme, step by step: yields (None, states visited, states held)
    every ``CHUNK`` states, then (``feasible``, ``infeasible`` or ``limit``, ...).

    The states of a step are arrays (one row each, numpy throughout: about ten times
    faster than a loop over them): ``labels`` (group of each frontier unit, numbered in
    order of first appearance), ``weights`` (households of each group, by number) and
    ``spent`` (slack used by closed groups)."""
    pos = {v: i for i, v in enumerate(order)}
    last = [max([pos[v]] + [pos[w] for w in adj[v]]) for v in range(len(order))]
    states = _States(np.zeros((1, 0), dtype=np.int8), np.zeros((1, 0)), np.zeros(1))
    frontier: list[int] = []
    visited = 0
    for i, v in enumerate(order):
        grown = frontier + [v]
        step = _Step(back=[k for k, u in enumerate(frontier) if u in adj[v]],
                     keep=[k for k, u in enumerate(grown) if last[u] != i],
                     drop=[k for k, u in enumerate(grown) if last[u] == i],
                     h=h[v], lo=lo, hi=hi, slack=slack)
        found: list[_States] = []
        for c in range(0, len(states.spent), CHUNK):
            yield None, visited, len(states.spent)
            part = states.rows(slice(c, c + CHUNK))
            visited += len(part.spent)
            found += [s for pick in range(1 << len(step.back))
                      if (s := _extend(part, step, pick)) is not None]
        if not found:
            yield "infeasible", visited, 0
            return
        states = _distinct(_States.concat(found))
        if len(states.spent) > max_states:
            yield "limit", visited, len(states.spent)
            return
        frontier = [grown[k] for k in step.keep]
    yield "feasible", visited, len(states.spent)


#: States extended at once (between two looks at the deadline).
CHUNK = 8_192

#: Odd 64-bit constants of the row hash (splitmix / murmur finalisers).
_MIX = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9,
                 0xD6E8FEB86659FD93, 0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53,
                 0x94D049BB133111EB, 0xBF58476D1CE4E5B9], dtype=np.uint64)
_EPS = 1e-9


@dataclass(frozen=True)
class _States:
    """Sweep states as rows: frontier labels, group households by label, slack spent."""

    labels: np.ndarray
    weights: np.ndarray
    spent: np.ndarray

    def rows(self, index: slice | np.ndarray) -> _States:
        return _States(self.labels[index], self.weights[index], self.spent[index])

    @staticmethod
    def concat(parts: list[_States]) -> _States:
        return _States(np.concatenate([p.labels for p in parts]),
                       np.concatenate([p.weights for p in parts]),
                       np.concatenate([p.spent for p in parts]))


@dataclass(frozen=True)
class _Step:
    """One unit taken: its frontier neighbours (``back``), the positions of the grown
    frontier that stay (``keep``) or leave it (``drop``), its households and the band."""

    back: list[int]
    keep: list[int]
    drop: list[int]
    h: float
    lo: float
    hi: float
    slack: float


def _extend(states: _States, step: _Step, pick: int) -> _States | None:
    """The states after the unit joins the groups of the ``back`` positions in the bit
    set ``pick`` (only states where those are whole groups: each join is made once)."""
    sel = [k for b, k in enumerate(step.back) if pick >> b & 1]
    other = [k for b, k in enumerate(step.back) if not pick >> b & 1]
    valid = np.ones(len(states.spent), dtype=bool)
    for a in sel:
        for b in other:
            valid &= states.labels[:, a] != states.labels[:, b]
    if not valid.all():
        states = states.rows(np.flatnonzero(valid))
    lab, n = states.labels, len(states.spent)
    if n == 0:
        return None
    f = lab.shape[1]
    r = np.arange(n)
    joined = np.zeros((n, f + 1), dtype=bool)
    for a in sel:
        joined[r, lab[:, a]] = True
    weights = np.zeros((n, f + 1))  # label f: the new group; joined labels are gone
    weights[:, :f] = np.where(joined[:, :f], 0.0, states.weights)
    weights[:, f] = step.h + states.weights.sum(1) - weights.sum(1)
    grown = np.empty((n, f + 1), dtype=np.int8)
    grown[:, :f] = np.where(joined[r[:, None], lab], f, lab)
    grown[:, f] = f
    kept = grown[:, step.keep]
    spent = states.spent.copy()
    ok = weights[:, f] <= step.hi + _EPS
    for j, d in enumerate(step.drop):  # a group closes when none of its units stays
        g = grown[:, d]
        closes = ~(kept == g[:, None]).any(1)
        for d0 in step.drop[:j]:
            closes &= grown[:, d0] != g
        w = weights[r, g]
        held = closes & (w > _EPS)
        ok &= ~(held & (w < step.lo - _EPS))
        spent += np.where(held, w - step.lo, 0.0)
        weights[r[closes], g[closes]] = 0.0
    ok &= spent + np.maximum(weights - step.lo, 0.0).sum(1) <= step.slack + _EPS
    if not ok.any():
        return None
    return _canonical(kept[ok], weights[ok], spent[ok])


def _canonical(kept: np.ndarray, weights: np.ndarray, spent: np.ndarray) -> _States:
    """Number the groups of each row in order of first appearance on the frontier."""
    n, width = kept.shape
    r = np.arange(n)
    first = np.full(weights.shape, width, dtype=np.int8)
    for j in range(width - 1, -1, -1):
        first[r, kept[:, j]] = j
    rank = np.argsort(first, axis=1, kind="stable")
    number = np.empty_like(rank)
    number[r[:, None], rank] = np.arange(weights.shape[1])
    return _States(number[r[:, None], kept].astype(np.int8),
                   np.take_along_axis(weights, rank[:, :width], 1), spent)


def _distinct(states: _States) -> _States:
    """One state per distinct (labels, weights), with the least slack spent: rows
    grouped by a 64-bit hash, checked equal (else grouped exactly)."""
    lab, wts = states.labels, states.weights
    key = np.zeros(len(lab), dtype=np.uint64)
    bits = wts.view(np.uint64)
    for j in range(lab.shape[1]):
        key = (key ^ lab[:, j].astype(np.uint64)) * _MIX[j % 8]
        key = (key ^ bits[:, j]) * _MIX[(j + 3) % 8]
        key ^= key >> np.uint64(29)
    order = np.argsort(key)
    ks = key[order]
    start = np.ones(len(order), dtype=bool)
    start[1:] = ks[1:] != ks[:-1]
    a, b = order[1:][~start[1:]], order[:-1][~start[1:]]
    if not ((lab[a] == lab[b]).all() and (wts[a] == wts[b]).all()):
        return _distinct_exact(states)  # a hash collision (not seen in practice)
    starts = np.flatnonzero(start)
    return _States(lab[order[starts]], wts[order[starts]],
                   np.minimum.reduceat(states.spent[order], starts))


def _distinct_exact(states: _States) -> _States:
    """:func:`_distinct` by sorting whole rows."""
    order = np.argsort(states.spent, kind="stable")
    rows = np.ascontiguousarray(np.concatenate(
        [states.labels.astype(np.float64), states.weights], 1)[order])
    _, first = np.unique(rows.view(np.dtype((np.void, rows.itemsize * rows.shape[1]))).ravel(),
                         return_index=True)
    return states.rows(order[first])
