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
end is a proof; a state reaching the end means a plan exists.

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

__all__ = ["SweepResult", "sweep_feasible", "lattice_graph"]

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
    t0 = time.perf_counter()
    nodes = np.arange(g.n) if nodes is None else np.asarray(nodes)
    adj, _ = local_adjacency(g, nodes, edges)
    h = g.h[nodes].astype(float).tolist()
    total = sum(h)
    kmin, kmax = math.ceil(total / hi - 1e-9), math.floor(total / lo + 1e-9)
    if total <= 0 or kmin > kmax:
        return SweepResult("infeasible" if total > 0 else "feasible", 0, 0,
                           time.perf_counter() - t0)
    hi = min(hi, total - (kmin - 1) * lo)
    slack = total - kmin * lo
    width, order = _order(adj)
    status, states = _race([_sweep(adj, h, o, lo, hi, slack, max_states)
                            for o in (order, order[::-1])], deadline)
    return SweepResult(status, states, width, time.perf_counter() - t0)


def _race(runs: list[Iterator[tuple[str | None, int, int]]], deadline: float | None
          ) -> tuple[str, int]:
    """Run sweeps of the same units in different orders side by side, always advancing
    the one holding the fewest states; the first to end decides (every order gives the
    exact answer, but the states one needs can differ tenfold: C01 of the sample at
    [380, 420] takes 2.7 million states one way, 275,000 the other)."""
    sizes = [1] * len(runs)
    done = [0] * len(runs)
    alive = list(range(len(runs)))
    while alive:
        if deadline is not None and time.process_time() > deadline:
            return "limit", sum(done)
        k = min(alive, key=lambda r: sizes[r])
        status, done[k], sizes[k] = next(runs[k])
        if status in ("feasible", "infeasible"):
            return status, sum(done)
        if status == "limit":
            alive.remove(k)
    return "limit", sum(done)


def _order(adj: list[set[int]]) -> tuple[int, list[int]]:
    """A unit order with a short frontier: greedily the unit that leaves the fewest
    taken units with neighbours not taken, from the best of a few starts."""
    n = len(adj)
    starts = sorted(range(n), key=lambda v: (len(adj[v]), v))[:ORDER_STARTS]
    best: tuple[tuple[int, int], list[int]] | None = None
    for s in starts:
        order = [s]
        taken = {s}
        open_ = {s} if adj[s] else set()
        sizes = [len(open_)]
        cand = set(adj[s])
        while cand:
            def after(w: int) -> int:
                closed = sum(1 for u in open_ | {w}
                             if all(x in taken or x == w for x in adj[u]))
                return len(open_) + 1 - closed

            w = min(cand, key=lambda w: (after(w), w))
            order.append(w)
            taken.add(w)
            cand.discard(w)
            cand |= {x for x in adj[w] if x not in taken}
            open_ = {u for u in open_ | {w} if any(x not in taken for x in adj[u])}
            sizes.append(len(open_))
        order += [v for v in range(n) if v not in taken]  # other pieces (not expected)
        key = (max(sizes), sum(sizes))
        if best is None or key < best[0]:
            best = (key, order)
    assert best is not None
    return best[0][0], best[1]


def _sweep(adj: list[set[int]], h: list[float], order: list[int], lo: float, hi: float,
           slack: float, max_states: int) -> Iterator[tuple[str | None, int, int]]:
    """The dynamic programme, step by step: yields (None, states visited, states held)
    every few thousand states, then (``feasible``, ``infeasible`` or ``limit``, ...)."""
    pos = {v: i for i, v in enumerate(order)}
    last = [max([pos[v]] + [pos[w] for w in adj[v]]) for v in range(len(order))]
    # state: (group of each frontier unit, households of each group) -> least slack used
    states: dict[tuple[tuple[int, ...], tuple[float, ...]], float] = {((), ()): 0.0}
    frontier: list[int] = []
    visited = 0
    eps = 1e-9
    for i, v in enumerate(order):
        yield None, visited, len(states)
        back = [k for k, u in enumerate(frontier) if u in adj[v]]
        grown = frontier + [v]
        keep = [k for k, u in enumerate(grown) if last[u] != i]
        nxt: dict[tuple[tuple[int, ...], tuple[float, ...]], float] = {}
        for (lab, w), used in states.items():
            visited += 1
            if visited % 4096 == 0:
                yield None, visited, max(len(states), len(nxt))
            near = sorted({lab[k] for k in back})
            for pick in range(1 << len(near)):
                merged = [near[b] for b in range(len(near)) if pick >> b & 1]
                wt = h[v] + sum(w[t] for t in merged)
                if wt > hi + eps:
                    continue
                new = [(-1 if x in merged else x) for x in lab] + [-1]
                weight = {x: w[x] for x in range(len(w)) if x not in merged}
                weight[-1] = wt
                kept = [new[k] for k in keep]
                alive = set(kept)
                spent = used
                ok = True
                for x in set(new) - alive:  # groups closing now
                    if weight[x] > 0:
                        if weight[x] < lo - eps:
                            ok = False
                            break
                        spent += weight[x] - lo
                if not ok or spent + sum(max(0.0, weight[x] - lo) for x in alive) > slack + eps:
                    continue
                rename: dict[int, int] = {}
                canon = tuple(rename.setdefault(x, len(rename)) for x in kept)
                cw = [0.0] * len(rename)
                for x, r in rename.items():
                    cw[r] = weight[x]
                key = (canon, tuple(cw))
                if nxt.get(key, math.inf) > spent:
                    nxt[key] = spent
        if not nxt:
            yield "infeasible", visited, 0
            return
        if len(nxt) > max_states:
            yield "limit", visited, len(nxt)
            return
        states = nxt
        frontier = [grown[k] for k in keep]
    yield "feasible", visited, len(states)
