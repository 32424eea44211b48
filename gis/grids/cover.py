"""Exact cover of a small part's households by candidate grids: a plan, or a proof.

Narrow bands (300-360, 380-420 households) on building cells leave the spanning-tree
searches few valid cuts, and units without households (open faces between streets, often
a connected network) make the constructive search (:mod:`beatgrid.gis.grids.grow`)
enumerate too many sets. :func:`cover_partition` covers the units with households:

1. every connected set with households in the band (narrowed by the counts: with ``k``
   grids each holds at most ``H - (k - 1) min``) is a candidate grid, enumerated once
   (ESU); a unit in no candidate set is in no grid (a proof);
2. a depth-first exact cover: the free unit with the fewest compatible candidates picks
   its grid (sets held together by their own borders first, then the cheapest border),
   pruned when a free piece admits no grid count; failed states are remembered.

Without units of no households the cover is the plan and an exhausted search a proof.
With them, each such unit is glued to a neighbour (chains end at a unit with households;
any plan gives such a gluing) and the glued graph is covered: every gluing when they are
few (all failing: a proof), else random ones for plans, and the proof is sought on the
*relaxed graph*, where a connected group of such units joins every unit it touches (every
real grid is a candidate there). Leftover units without households join a neighbouring
grid.

Examples
--------
>>> from beatgrid.gis.grids.unit_graph import lattice_graph
>>> g = lattice_graph(2, 3, households=[120, 0, 200, 180, 0, 160])
>>> r = cover_partition(g, lo=300, hi=360)
>>> sorted(np.bincount(r.labels, weights=g.h).tolist()), r.complete
([300.0, 360.0], True)
>>> r = cover_partition(lattice_graph(1, 3, households=[200, 250, 200]), lo=300, hi=400)
>>> r.labels is None, r.complete, r.detail
(True, True, 'unit 0 (200 households) is in no connected set of 300-350 households')
"""

from __future__ import annotations

import itertools
import math
import sys
import time
from dataclasses import dataclass

import numpy as np

from beatgrid.gis.grids.band import splits_into_band
from beatgrid.gis.grids.unit_graph import (UnitGraph, attach_leftovers, lattice_graph,
                                           local_adjacency)

__all__ = ["CoverResult", "cover_partition", "lattice_graph"]


@dataclass(frozen=True)
class CoverResult:
    """What the exact cover found: ``labels`` (grid number per unit, in ``nodes``
    order, or None); ``complete`` (no limit hit: None ``labels`` proves that no plan
    exists); ``detail`` (the argument of a proof); ``sets`` (candidate grids
    enumerated), ``steps`` (search states) and ``seconds``."""

    labels: np.ndarray | None
    complete: bool
    detail: str
    sets: int
    steps: int
    seconds: float


#: Sets visited per unit at most when looking for a unit in no candidate set.
LONELY_VISITS = 20_000

#: Units without households are glued every possible way (each gluing covered
#: exactly: a plan or, all failing, a proof) when there are at most this many ways.
GLUE_ALL = 256

#: Gluings drawn again in a row before the gluing stops (small parts have few).
GLUE_REPEATS = 30


class _Stop(Exception):
    """A limit (candidate sets, deadline) was reached."""


def cover_partition(g: UnitGraph, *, lo: float, hi: float, nodes: np.ndarray | None = None,
                    edges: np.ndarray | None = None, max_sets: int = 200_000,
                    deadline: float | None = None, seed: int = 0) -> CoverResult:
    """Plan the units ``nodes`` (default all) by an exact cover of their households.

    Parameters
    ----------
    g
        The unit graph.
    lo, hi
        Household band of a grid.
    nodes
        The units to plan (connected by ``edges``).
    edges
        Mask of the edges of ``g`` that are real borders (default all).
    max_sets
        Candidate grids enumerated at most (beyond: nothing is tried, ``complete`` False).
    deadline
        ``time.process_time()`` value (CPU seconds) at which the search stops (default
        10 s from the call where units without households need the gluing).
    seed
        Seed of the random gluing of the units without households.

    Returns
    -------
    CoverResult

    Examples
    --------
    >>> g = lattice_graph(1, 5, households=[150, 0, 150, 200, 100])
    >>> cover_partition(g, lo=300, hi=300).labels.tolist()
    [0, 0, 0, 1, 1]
    """
    t0 = time.perf_counter()
    nodes = np.arange(g.n) if nodes is None else np.asarray(nodes)
    n = len(nodes)
    adj, cost = local_adjacency(g, nodes, edges)
    h = g.h[nodes].astype(float).tolist()
    tally = [0, 0]  # candidate sets, search states

    def done(labels: np.ndarray | None, complete: bool, detail: str = "") -> CoverResult:
        return CoverResult(labels, complete, detail, tally[0], tally[1],
                           time.perf_counter() - t0)

    if sum(h) <= 0:
        return done(None, False)
    if all(x > 0 for x in h):  # no units without households: the cover is the plan
        try:
            return done(*_cover_glued(adj, cost, h, list(range(n)), lo, hi, max_sets,
                                      deadline, tally))
        except _Stop:
            return done(None, False)
    try:  # a unit in no connected set of the band (relaxed graph): a quick proof
        lonely = _Cover(adj, cost, h, lo, hi, max_sets, deadline, tally).lonely()
    except _Stop:
        return done(None, False)
    if lonely:
        return done(None, True, lonely)
    gluings = _all_gluings(adj, h)
    if gluings is not None:  # few: every one is covered, a plan or a proof
        for owner in gluings:
            try:
                glued = _cover_glued(adj, cost, h, owner, lo, hi, max_sets, deadline,
                                     tally)[0]
            except _Stop:
                return done(None, False)
            if glued is not None:
                return done(glued, True)
        return done(None, True, (
            f"every way of joining the {sum(1 for x in h if x <= 0)} unit(s) without "
            f"households to a neighbour "
            f"({len(gluings)} gluing(s)) was tried, with an exact cover of the units with "
            f"households by connected sets in [{lo:.0f}, {hi:.0f}]: none exists"))
    rng = np.random.default_rng(seed)
    start = time.process_time()
    budget = max(deadline - start, 0.0) if deadline is not None else 10.0
    # a short gluing first (plans come at once), then the proof, then gluing again
    stages = ((start + 0.3 * budget, "glue"), (start + 0.6 * budget, "proof"),
              (start + budget, "glue"))
    for until, stage in stages:
        if stage == "glue":
            glued = _glued(adj, cost, h, lo, hi, max_sets, until, rng, tally, budget)
            if glued is not None:
                return done(glued, True)
            continue
        # the relaxed graph (units without households as hubs): no cover, no plan
        cov = _Cover(adj, cost, h, lo, hi, max_sets, until, tally)
        try:
            proof = cov.prepare()
            if proof or cov.cover() is None:
                return done(None, True, proof or cov.proof_text())
        except _Stop:
            pass
    return done(None, False)


def _glued(adj: list[set[int]], cost: dict[tuple[int, int], float], h: list[float],
           lo: float, hi: float, max_sets: int, until: float, rng: np.random.Generator,
           tally: list[int], budget: float) -> np.ndarray | None:
    """Plans of the units with every unit without households glued at random to a
    neighbour (grown from the units with households): each gluing leaves a graph
    without such units, whose cover is a plan. Tried until ``until``."""
    n = len(h)
    seen: set[tuple[int, ...]] = set()
    repeats = 0
    while time.process_time() < until and repeats < GLUE_REPEATS:
        owner = [i if h[i] > 0 else -1 for i in range(n)]
        open_ = [z for z in range(n) if owner[z] < 0]
        while open_:
            ready = [z for z in open_ if any(owner[y] >= 0 for y in adj[z])]
            if not ready:
                break
            rng.shuffle(ready)
            for z in ready[: max(1, len(ready) // 3)]:
                near = sorted(owner[y] for y in adj[z] if owner[y] >= 0)
                owner[z] = near[int(rng.integers(len(near)))]
            open_ = [z for z in open_ if owner[z] < 0]
        key = tuple(owner)
        repeats = repeats + 1 if key in seen else 0
        if key in seen:
            continue
        seen.add(key)
        attempt = min(until, time.process_time() + max(0.2, budget / 10))
        try:
            glued = _cover_glued(adj, cost, h, owner, lo, hi, max_sets, attempt, tally)[0]
        except _Stop:
            continue
        if glued is not None:
            return glued
    return None


def _all_gluings(adj: list[set[int]], h: list[float]) -> list[list[int]] | None:
    """Every distinct gluing (owner per unit) of the units without households, or None
    when there are more than :data:`GLUE_ALL` ways: each such unit points to a
    neighbour, chains end at a unit with households (in any plan, a tree of its grid
    from the units with households gives such pointers)."""
    zeros = [z for z in range(len(h)) if h[z] <= 0]
    ways = 1
    for z in zeros:
        ways *= max(1, len(adj[z]))
        if ways > GLUE_ALL:
            return None
    seen: set[tuple[int, ...]] = set()
    out: list[list[int]] = []
    for choice in itertools.product(*[sorted(adj[z]) for z in zeros]):
        point = dict(zip(zeros, choice))
        owner = [i if h[i] > 0 else -1 for i in range(len(h))]
        ok = True
        for z in zeros:
            path, x = [], z
            while owner[x] < 0 and x not in path:
                path.append(x)
                x = point.get(x, x)
            if owner[x] < 0:  # a cycle of units without households
                ok = False
                break
            for y in path:
                owner[y] = owner[x]
        key = tuple(owner)
        if ok and key not in seen:
            seen.add(key)
            out.append(owner)
    return out


def _cover_glued(adj: list[set[int]], cost: dict[tuple[int, int], float], h: list[float],
                 owner: list[int], lo: float, hi: float, max_sets: int,
                 deadline: float | None, tally: list[int]
                 ) -> tuple[np.ndarray | None, bool, str]:
    """(The plan of one gluing (every unit merged into its owner) or None when its
    exact cover has none, True, the argument); raises :class:`_Stop` at a limit."""
    n = len(h)
    roots = sorted({o for o in owner if o >= 0})
    index = {r: k for k, r in enumerate(roots)}
    back = [index[o] if o >= 0 else -1 for o in owner]
    gadj: list[set[int]] = [set() for _ in roots]
    gcost: dict[tuple[int, int], float] = {}
    for (a, b), c in cost.items():
        x, y = back[a], back[b]
        if x >= 0 and y >= 0 and x != y:
            gadj[x].add(y)
            gcost[(x, y)] = gcost.get((x, y), 0.0) + c
    gh = [0.0] * len(roots)
    for i in range(n):
        if back[i] >= 0:
            gh[back[i]] += h[i]
    cov = _Cover(gadj, gcost, gh, lo, hi, max_sets, deadline, tally)
    proof = cov.prepare()
    got = None if proof else cov.cover()
    if got is None:
        return None, True, proof or cov.proof_text()
    glabels = np.full(len(roots), -1, dtype=np.int64)
    for i, s in enumerate(got):
        glabels[cov.members(s)] = i
    labels = np.array([glabels[b] if b >= 0 else -1 for b in back], dtype=np.int64)
    attach_leftovers(adj, labels, lowest=True)
    return labels, True, ""


class _Cover:
    """The relaxed graph of the units with households, its candidate sets and search."""

    def __init__(self, adj: list[set[int]], cost: dict[tuple[int, int], float],
                 h: list[float], lo: float, hi: float, max_sets: int,
                 deadline: float | None, tally: list[int]) -> None:
        self.adj, self.cost, self.h = adj, cost, h
        self.tally = tally
        self.lo, self.hi = lo, hi
        self.max_sets, self.deadline = max_sets, deadline
        self.n_sets = 0
        self.steps = 0
        self.hh = [i for i in range(len(h)) if h[i] > 0]

    def _tick(self) -> None:
        self.steps += 1
        self.tally[1] += 1
        if self.steps % 256 == 0 and self.deadline is not None and \
                time.process_time() > self.deadline:
            raise _Stop

    def prepare(self) -> str:
        """Enumerate the candidate sets; the proof when a unit is in none (else "")."""
        h, lo, hi = self.h, self.lo, self.hi
        total = sum(h)
        kmin, kmax = math.ceil(total / hi - 1e-9), math.floor(total / lo + 1e-9)
        if kmin > kmax:
            return f"no whole number of grids of {lo:.0f}-{hi:.0f} fits {total:.0f} households"
        lo2, hi2 = max(lo, total - (kmax - 1) * hi), min(hi, total - (kmin - 1) * lo)
        self.lo2, self.hi2 = lo2, hi2
        order = self._order()
        rank = {u: r for r, u in enumerate(order)}
        m = len(order)
        self.unit = order
        self.rh = [h[u] for u in order]
        self.radj = self._relaxed(rank)
        sets = self._enumerate(lo2, hi2)
        covered = 0
        for per in sets:
            for s, _ in per:
                covered |= s
        full = (1 << m) - 1
        if covered != full:
            r = ((full & ~covered) & -(full & ~covered)).bit_length() - 1
            u = order[r]
            return (f"unit {u} ({h[u]:.0f} households) is in no connected set of "
                    f"{lo2:.0f}-{hi2:.0f} households")
        # sets joined by their own borders first (they need no units without
        # households), then the cheapest border
        direct = self._direct(rank)
        self.by_min = [[s for s, _ in sorted(per, key=lambda t: (not self._joined(t[0], direct),
                                                                 t[1]))] for per in sets]
        return ""

    def lonely(self) -> str:
        """The proof that a unit is in no candidate set, found unit by unit (each search
        stops at its first set; one over :data:`LONELY_VISITS` visits proves nothing)."""
        h, lo, hi = self.h, self.lo, self.hi
        total = sum(h)
        kmin, kmax = math.ceil(total / hi - 1e-9), math.floor(total / lo + 1e-9)
        if kmin > kmax:
            return ""
        lo2, hi2 = max(lo, total - (kmax - 1) * hi), min(hi, total - (kmin - 1) * lo)
        order = self._order()
        rank = {u: r for r, u in enumerate(order)}
        self.unit = order
        self.rh = rh = [h[u] for u in order]
        radj = self._relaxed(rank)
        for v in sorted(range(len(order)), key=lambda r: -rh[r]):
            visits = [0]

            def grow(s: int, total_: float, ext: int, excl: int) -> bool | None:
                visits[0] += 1
                self._tick()
                if visits[0] > LONELY_VISITS:
                    return None
                if total_ >= lo2:
                    return True
                while ext:
                    low = ext & -ext
                    ext ^= low
                    w = low.bit_length() - 1
                    if total_ + rh[w] > hi2:
                        continue
                    new = radj[w] & ~excl
                    got = grow(s | low, total_ + rh[w], ext | new, excl | new)
                    if got is not False:
                        return got
                return False

            if rh[v] <= hi2 and grow(1 << v, rh[v], radj[v], (1 << v) | radj[v]) is not False:
                continue
            u = order[v]
            return (f"unit {u} ({h[u]:.0f} households) is in no connected set of "
                    f"{lo2:.0f}-{hi2:.0f} households")
        return ""

    def proof_text(self) -> str:
        """The argument of an exhausted search."""
        return (f"every way of covering the {len(self.hh)} units with households by connected "
                f"sets of {self.lo2:.0f}-{self.hi2:.0f} households was tried (exact cover, "
                f"{self.n_sets} candidate grid(s)): none exists")

    def _order(self) -> list[int]:
        """Units with households in breadth-first order over the real graph, from the
        one with the fewest neighbours (a sweep: the search's frontier stays short)."""
        h, adj = self.h, self.adj
        start = min(self.hh, key=lambda u: (len(adj[u]), -h[u], u))
        seen = {start}
        queue = [start]
        i = 0
        while i < len(queue):
            for w in sorted(adj[queue[i]]):
                if w not in seen:
                    seen.add(w)
                    queue.append(w)
            i += 1
        order = [u for u in queue if h[u] > 0]
        return order + [u for u in self.hh if u not in seen]

    def _relaxed(self, rank: dict[int, int]) -> list[int]:
        """Neighbour bit masks (by rank) of the relaxed graph."""
        h, adj = self.h, self.adj
        n = len(h)
        hub = [-1] * n
        hubs: list[int] = []
        for z in range(n):
            if h[z] > 0 or hub[z] >= 0:
                continue
            hub[z] = len(hubs)
            stack, touch = [z], 0
            while stack:
                x = stack.pop()
                for y in adj[x]:
                    if h[y] > 0:
                        touch |= 1 << rank[y]
                    elif hub[y] < 0:
                        hub[y] = hub[z]
                        stack.append(y)
            hubs.append(touch)
        radj = [0] * len(rank)
        for u, r in rank.items():
            mask = 0
            for y in adj[u]:
                mask |= (1 << rank[y]) if h[y] > 0 else hubs[hub[y]]
            radj[r] = mask & ~(1 << r)
        return radj

    def _enumerate(self, lo: float, hi: float) -> list[list[tuple[int, float]]]:
        """Connected sets of the relaxed graph with households in [lo, hi], by their
        lowest rank (each set once), with a border cost for the order of trial."""
        rh, radj = self.rh, self.radj
        m = len(rh)
        out: list[list[tuple[int, float]]] = [[] for _ in range(m)]
        # the border of a set on the real graph: its units' costs less the shared ones
        unit, cost = self.unit, self.cost
        own = [sum(c for (a, _), c in cost.items() if a == u) for u in unit]
        pair: dict[tuple[int, int], float] = {}
        for ra, u in enumerate(unit):
            for rb, w in enumerate(unit):
                c = cost.get((u, w))
                if c is not None:
                    pair[(ra, rb)] = c
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(limit, 4 * m + 1000))
        try:
            for v in range(m):
                above = ~((1 << (v + 1)) - 1)
                self._grow(v, 1 << v, rh[v], radj[v] & above, (1 << v) | radj[v], own[v],
                           out[v], above, own, pair, lo, hi)
        finally:
            sys.setrecursionlimit(limit)
        return out

    def _grow(self, v: int, s: int, total: float, ext: int, excl: int, border: float,
              out: list[tuple[int, float]], above: int, own: list[float],
              pair: dict[tuple[int, int], float], lo: float, hi: float) -> None:
        """ESU enumeration (Wernicke): extend ``s`` by units of ``ext`` only."""
        self._tick()
        if total >= lo:
            out.append((s, border))
            self.n_sets += 1
            self.tally[0] += 1
            if self.n_sets > self.max_sets:
                raise _Stop
        rh, radj = self.rh, self.radj
        while ext:
            low = ext & -ext
            ext ^= low
            w = low.bit_length() - 1
            if total + rh[w] > hi:
                continue
            new = radj[w] & above & ~excl
            shared = 0.0
            x = s
            while x:
                b = x & -x
                x ^= b
                shared += pair.get((w, b.bit_length() - 1), 0.0)
            self._grow(v, s | low, total + rh[w], ext | new, excl | new,
                       border + own[w] - 2 * shared, out, above, own, pair, lo, hi)

    def _direct(self, rank: dict[int, int]) -> list[int]:
        """Neighbour bit masks (by rank) over shared borders only."""
        out = [0] * len(rank)
        for u, r in rank.items():
            for y in self.adj[u]:
                if y in rank:
                    out[r] |= 1 << rank[y]
        return out

    @staticmethod
    def _joined(s: int, direct: list[int]) -> bool:
        """The units of ``s`` are contiguous by their own shared borders."""
        comp = s & -s
        frontier = comp
        while frontier:
            f = frontier & -frontier
            frontier ^= f
            nb = direct[f.bit_length() - 1] & s & ~comp
            comp |= nb
            frontier |= nb
        return comp == s

    def _viable(self, free: int) -> bool:
        """Every piece of the free units (relaxed graph) admits a grid count."""
        rh, radj, lo, hi = self.rh, self.radj, self.lo, self.hi
        x = free
        while x:
            comp = x & -x
            frontier = comp
            total = 0.0
            while frontier:
                f = frontier & -frontier
                frontier ^= f
                i = f.bit_length() - 1
                total += rh[i]
                nb = radj[i] & free & ~comp
                comp |= nb
                frontier |= nb
            if not splits_into_band(total, lo, hi):
                return False
            x &= ~comp
        return True

    def cover(self) -> list[int] | None:
        """Candidate sets (bit masks by rank) covering every unit once, or None.

        The free unit with the fewest compatible candidate sets is covered first (ties:
        the lowest rank), trying its sets in their order."""
        self.failed: set[int] = set()
        sets = [s for per in self.by_min for s in per]
        m = len(self.rh)
        words = (m + 63) // 64
        mask = (1 << 64) - 1
        self.words = np.array([[(s >> (64 * k)) & mask for k in range(words)] for s in sets],
                              dtype=np.uint64).reshape(len(sets), words)
        bits = np.unpackbits(self.words.view(np.uint8), axis=1, bitorder="little")
        self.member = bits[:, :m].astype(bool)
        self.sets = sets
        return self._mrv(0, np.arange(len(sets)))

    def _mrv(self, cov: int, idx: np.ndarray) -> list[int] | None:
        m = len(self.rh)
        full = (1 << m) - 1
        if cov == full:
            return []
        if cov in self.failed:
            return None
        self._tick()
        free = full & ~cov
        freemask = np.array([free >> r & 1 for r in range(m)], dtype=bool)
        counts = self.member[idx].sum(axis=0)
        counts = np.where(freemask, counts, np.iinfo(np.int64).max)
        e = int(np.argmin(counts))
        if counts[e] == 0:
            self.failed.add(cov)
            return None
        mine = idx[self.member[idx, e]]
        for j in mine.tolist():
            s = self.sets[j]
            if not self._viable(free & ~s):
                continue
            clash = (self.words[idx] & self.words[j]).any(axis=1)
            rest = self._mrv(cov | s, idx[~clash])
            if rest is not None:
                return [s] + rest
        self.failed.add(cov)
        return None

    def members(self, s: int) -> list[int]:
        """The units of a candidate set."""
        out = []
        while s:
            b = s & -s
            s ^= b
            out.append(self.unit[b.bit_length() - 1])
        return out
