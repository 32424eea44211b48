"""An exhaustive constructive search for communities of lumpy units.

When units hold a large share of a grid each (buildings of 150-300 households against
a 300-500 band), a grid is two or three units and spanning-tree cuts rarely land in the
band. :func:`grow_partition` builds the plan grid by grid instead: it takes the most
constrained free unit (fewest free neighbours, then most households), enumerates the
connected sets of free units holding it whose households lie in ``[lo, hi]`` (cheapest
border first), and recurses, pruning a choice as soon as the free units left include a
connected piece whose households admit no grid count, or a unit that no grid can hold
any more (below ``lo`` alone, above ``hi`` with any free neighbour). Failed sets of free
units are remembered.

Units without households are put in a grid only where they hold it together; those
left over at the end join a neighbouring grid (any plan can be reduced to such grids, so
nothing is lost). The search is complete: when it ends without hitting a limit
(``max_sets`` sets per unit, ``max_steps`` in all, the deadline), no plan exists on these
units and the answer is a proof (``complete`` is True).

Examples
--------
>>> from beatgrid.gis.grids.unit_graph import lattice_graph
>>> g = lattice_graph(2, 3, households=[250, 100, 200, 250, 180, 160])
>>> r = grow_partition(g, lo=300, hi=500)
>>> sorted(np.bincount(r.labels, weights=g.h).tolist()), r.complete
([300.0, 340.0, 500.0], True)
>>> r = grow_partition(lattice_graph(1, 3, households=250), lo=300, hi=500)
>>> r.labels is None, r.complete
(True, True)
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from beatgrid.gis.grids.band import splits_into_band
from beatgrid.gis.grids.unit_graph import UnitGraph, attach_leftovers, lattice_graph, local_edges

__all__ = ["GrowResult", "grow_partition", "lattice_graph"]


@dataclass(frozen=True)
class GrowResult:
    """What the constructive search found.

    Attributes
    ----------
    labels
        Grid number per unit (in ``nodes`` order), or None.
    complete
        No limit was hit: a None ``labels`` proves that no plan exists on these units.
    steps
        Grids tried.
    seconds
        Time spent.
    """

    labels: np.ndarray | None
    complete: bool
    steps: int
    seconds: float


#: Frontier units whose candidate grids are counted before one is branched on.
PICK_AMONG = 4

#: Sets visited while enumerating the candidate grids of one unit at most (beyond: the
#: search is incomplete; units without households can make the sets very many).
VISITS_PER_UNIT = 5_000


class _Stop(Exception):
    """A limit of the search was reached."""


def grow_partition(g: UnitGraph, *, lo: float, hi: float, nodes: np.ndarray | None = None,
                   edges: np.ndarray | None = None, max_sets: int = 400,
                   max_steps: int = 200_000, deadline: float | None = None,
                   absorb_zeros: bool = False) -> GrowResult:
    """Plan the units ``nodes`` (default all) grid by grid, exhaustively.

    Parameters
    ----------
    g
        The unit graph.
    lo, hi
        Household band of a grid.
    nodes
        The units to plan.
    edges
        Mask of the edges of ``g`` that are real borders (default all).
    max_sets
        Candidate grids enumerated per unit at most (beyond: the search is incomplete).
    max_steps
        Grids tried in all at most.
    deadline
        ``time.process_time()`` value (CPU seconds) at which the search stops.
    absorb_zeros
        Glue every unit without households to a neighbour first (the one sharing the
        costliest border): far fewer sets to try where such units are many, but a
        failure then proves nothing (``complete`` is False).

    Returns
    -------
    GrowResult

    Examples
    --------
    >>> g = lattice_graph(1, 4, households=[200, 200, 100, 300])
    >>> grow_partition(g, lo=300, hi=500).labels.tolist()        # 500 and 300
    [1, 1, 1, 0]
    """
    t0 = time.perf_counter()
    nodes = np.arange(g.n) if nodes is None else np.asarray(nodes)
    n = len(nodes)
    # neighbour lists in the order the edges come (the search's order depends on it)
    adj: list[list[int]] = [[] for _ in range(n)]
    cost: list[dict[int, float]] = [{} for _ in range(n)]
    for a, b, c in zip(*local_edges(g, nodes, edges)):
        if b not in cost[a]:
            adj[a].append(b)
            adj[b].append(a)
        cost[a][b] = cost[a].get(b, 0.0) + c
        cost[b][a] = cost[b].get(a, 0.0) + c
    h = g.h[nodes].astype(float).tolist()
    rep = list(range(n))
    if absorb_zeros:
        rep = _glue_zeros(adj, cost, h)
        adj, cost, h, back = _contract(adj, cost, h, rep)
    state = _Search(adj, cost, h, lo, hi, max_sets, max_steps, deadline)
    try:
        grids = state.run((1 << len(h)) - 1)
    except _Stop:
        return GrowResult(None, False, state.steps, time.perf_counter() - t0)
    if grids is None:
        complete = not state.capped and not absorb_zeros
        return GrowResult(None, complete, state.steps, time.perf_counter() - t0)
    labels = np.full(len(h), -1, dtype=np.int64)
    for i, members in enumerate(grids):
        labels[members] = i
    attach_leftovers(adj, labels)
    if absorb_zeros:
        labels = labels[back]
    return GrowResult(labels, True, state.steps, time.perf_counter() - t0)


def _glue_zeros(adj: list[list[int]], cost: list[dict[int, float]], h: list[float]) -> list[int]:
    """For every unit, the unit it is glued to: units without households join the
    neighbour with households sharing the costliest border (through other such units
    when they have none)."""
    n = len(h)
    rep = [i if h[i] > 0 else -1 for i in range(n)]
    changed = True
    while changed:
        changed = False
        for i in range(n):
            if rep[i] >= 0:
                continue
            near = [(c, rep[j]) for j, c in cost[i].items() if rep[j] >= 0]
            if near:
                rep[i] = max(near)[1]
                changed = True
    return [r if r >= 0 else i for i, r in enumerate(rep)]


def _contract(adj: list[list[int]], cost: list[dict[int, float]], h: list[float],
              rep: list[int]) -> tuple[list[list[int]], list[dict[int, float]], list[float],
                                       np.ndarray]:
    """The graph of the glued units; ``back`` maps each unit to its glued node."""
    roots = sorted(set(rep))
    index = {r: k for k, r in enumerate(roots)}
    back = np.array([index[r] for r in rep], dtype=np.int64)
    m = len(roots)
    nadj: list[list[int]] = [[] for _ in range(m)]
    ncost: list[dict[int, float]] = [{} for _ in range(m)]
    nh = [0.0] * m
    for i in range(len(h)):
        a = int(back[i])
        nh[a] += h[i]
        for j, c in cost[i].items():
            b = int(back[j])
            if a == b:
                continue
            if b not in ncost[a]:
                nadj[a].append(b)
            ncost[a][b] = ncost[a].get(b, 0.0) + c
    return nadj, ncost, nh, back


class _Search:
    def __init__(self, adj: list[list[int]], cost: list[dict[int, float]], h: list[float],
                 lo: float, hi: float, max_sets: int, max_steps: int,
                 deadline: float | None) -> None:
        self.adj, self.cost, self.h = adj, cost, h
        self.lo, self.hi = lo, hi
        self.max_sets, self.max_steps, self.deadline = max_sets, max_steps, deadline
        self.failed: set[int] = set()
        self.steps = 0
        self.capped = False

    def run(self, free: int) -> list[list[int]] | None:
        """Grids covering the free units (bit mask), or None when there are none."""
        if free in self.failed:
            return None
        units = _bits(free)
        if not units or all(self.h[u] == 0 for u in units):
            return []
        choices = self._pick(units, free)
        if choices is None:  # a unit no grid can hold any more
            self.failed.add(free)
            return None
        for members, mask in choices:
            self.steps += 1
            if self.steps > self.max_steps or (
                    self.deadline is not None and time.process_time() > self.deadline):
                raise _Stop
            rest = free & ~mask
            if not self._viable(rest, members):
                continue
            sub = self.run(rest)
            if sub is not None:
                return [members] + sub
        self.failed.add(free)
        return None

    def _pick(self, units: list[int], free: int) -> list[tuple[list[int], int]] | None:
        """The candidate grids of the most constrained unit on the frontier (free units
        next to planned ones; at the start, the unit with the fewest neighbours), or None
        when one of those units has no candidate grid left."""
        h, adj = self.h, self.adj
        frontier = [u for u in units if h[u] > 0 and any(not free >> w & 1 for w in adj[u])]
        if not frontier:
            frontier = [min((u for u in units if h[u] > 0),
                            key=lambda u: (len(adj[u]), -h[u]))]
        best: list[tuple[list[int], int]] | None = None
        # the few tightest by a cheap measure (free neighbours, then households) are
        # compared by their candidate grids
        tight = sorted(frontier, key=lambda u: (sum(1 for w in adj[u] if free >> w & 1),
                                                -h[u], u))[:PICK_AMONG]
        for u in tight:
            got = self._grids(u, free)
            if not got:
                return None
            if best is None or len(got) < len(best):
                best = got
                if len(best) == 1:
                    break
        return best

    def _grids(self, u: int, free: int) -> list[tuple[list[int], int]]:
        """Connected sets of free units holding ``u`` with households in [lo, hi]."""
        h, hi, lo, adj = self.h, self.hi, self.lo, self.adj
        out: list[tuple[float, list[int], int]] = []
        limit = self.max_sets
        visits = [0]

        cost = self.cost

        def extend(members: list[int], mask: int, total: float, ext: list[int],
                   seen: int, border: float) -> None:
            visits[0] += 1
            if len(out) >= limit or visits[0] > VISITS_PER_UNIT:
                self.capped = True
                return
            if visits[0] % 512 == 0 and self.deadline is not None and \
                    time.process_time() > self.deadline:
                raise _Stop
            if total >= lo and self._needs_its_zeros(members, mask):
                out.append((border, list(members), mask))
            for i, v in enumerate(ext):
                if total + h[v] > hi:
                    continue
                new_seen = seen
                more = []
                for w in adj[v]:
                    if free >> w & 1 and not new_seen >> w & 1:
                        new_seen |= 1 << w
                        more.append(w)
                members.append(v)
                grown = mask | (1 << v)
                step = sum(c if not grown >> w & 1 else -c for w, c in cost[v].items())
                extend(members, grown, total + h[v], ext[i + 1:] + more, new_seen,
                       border + step)
                members.pop()
                if len(out) >= limit or visits[0] > VISITS_PER_UNIT:
                    return

        seen = 1 << u
        first = []
        for w in adj[u]:
            if free >> w & 1 and not seen >> w & 1:
                seen |= 1 << w
                first.append(w)
        extend([u], 1 << u, h[u], first, seen, sum(cost[u].values()))
        out.sort(key=lambda t: t[0])
        return [(m, k) for _, m, k in out]

    def _needs_its_zeros(self, members: list[int], mask: int) -> bool:
        """Every unit without households in the set holds it together (else the set
        without it is the same grid: units without households left over join a
        neighbouring grid at the end, so only such minimal sets are tried)."""
        h, adj = self.h, self.adj
        for z in members:
            if h[z] != 0 or len(members) == 1:
                continue
            rest = mask & ~(1 << z)
            start = next(v for v in members if v != z)
            seen = 1 << start
            stack = [start]
            while stack:
                x = stack.pop()
                for y in adj[x]:
                    if rest >> y & 1 and not seen >> y & 1:
                        seen |= 1 << y
                        stack.append(y)
            if seen == rest:
                return False
        return True

    def _viable(self, rest: int, members: list[int]) -> bool:
        """Every free piece can still be shared out, every free unit still placed."""
        h, lo, hi, adj = self.h, self.lo, self.hi, self.adj
        # units next to the new grid lost neighbours: can they still be in a grid?
        for v in members:
            for w in adj[v]:
                if rest >> w & 1 and 0 < h[w] < lo:
                    if not any(rest >> x & 1 and h[w] + h[x] <= hi for x in adj[w]):
                        return False
        # the free pieces around the new grid must each admit a grid count
        seen = 0
        for v in members:
            for w in adj[v]:
                if not rest >> w & 1 or seen >> w & 1:
                    continue
                total = 0.0
                stack = [w]
                seen |= 1 << w
                while stack:
                    x = stack.pop()
                    total += h[x]
                    for y in adj[x]:
                        if rest >> y & 1 and not seen >> y & 1:
                            seen |= 1 << y
                            stack.append(y)
                if total > 0 and not splits_into_band(total, lo, hi):
                    return False
        return True


def _bits(mask: int) -> list[int]:
    out = []
    while mask:
        low = mask & -mask
        out.append(low.bit_length() - 1)
        mask ^= low
    return out
