"""The exact model of a community's grids: an integer programme solved by HiGHS.

:func:`exact_partition` decides whether the units of a (small) community can be split
into contiguous grids of ``[lo, hi]`` households, any number of them, and returns a plan
when they can. The model (``highspy``):

* ``x[i, g]``: unit ``i`` in grid ``g`` (only ``g <= i``: grids are numbered by their
  first unit, which removes the symmetry of grid numbers); ``u[g]``: grid ``g`` used;
* every unit in one grid; a used grid holds ``lo..hi`` households; between
  ``ceil(H / hi)`` and ``floor(H / lo)`` grids;
* contiguity by separator cuts, added lazily: when a solution has a grid in pieces,
  for a piece ``C`` and a unit ``b`` of another piece, the units around ``C`` separate
  them, so ``x[a, g] + x[b, g] - 1 <= sum of x[s, g] over the separator`` (for every
  grid number ``g``); the model is solved again until its plan is contiguous;
* objective (when ``optimise``): the cut cost of the borders between grids, with the
  gap to the best bound reported.

The answer is ``optimal`` / ``feasible`` (a plan), ``infeasible`` (a proof that no plan
in the band exists on these units: every cut is valid for contiguous plans) or
``time_limit`` without a plan (nothing proven). Holes (a grid enclosing another) are not
modelled: the model is a relaxation, so its infeasibility is a proof for the real rules.

Examples
--------
>>> from beatgrid.gis.grids.unit_graph import lattice_graph
>>> g = lattice_graph(1, 4, households=[200, 200, 100, 300])
>>> r = exact_partition(g, lo=300, hi=500)
>>> r.status, r.labels.tolist(), r.gap
('optimal', [0, 0, 1, 1], 0.0)
>>> exact_partition(lattice_graph(1, 3, households=250), lo=300, hi=500).status
'infeasible'
"""

from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from beatgrid.gis.grids.unit_graph import UnitGraph, lattice_graph

__all__ = ["ExactResult", "exact_partition", "lattice_graph"]


@dataclass(frozen=True)
class ExactResult:
    """What the exact model answered.

    Attributes
    ----------
    status
        ``optimal``, ``feasible`` (a plan, not proven best), ``infeasible`` (proven: no
        plan in the band), ``time_limit`` (no plan found, nothing proven) or
        ``too_big`` (not attempted).
    labels
        Grid number per unit (``0..k-1``; in ``nodes`` order) or None.
    gap
        Relative gap between the plan's cut cost and the best bound (0 when proven
        best; None without a plan or when only feasibility was asked).
    seconds
        Time spent.
    rounds
        Models solved (each round adds the separator cuts its plan broke).
    size
        Variables and constraints of the last model.
    """

    status: str
    labels: np.ndarray | None
    gap: float | None
    seconds: float
    rounds: int = 0
    size: tuple[int, int] = (0, 0)

    @property
    def proven_infeasible(self) -> bool:
        """The model proved that no plan in the band exists."""
        return self.status == "infeasible"


def exact_partition(g: UnitGraph, *, lo: float, hi: float, nodes: np.ndarray | None = None,
                    edges: np.ndarray | None = None, time_limit: float = 10.0,
                    optimise: bool = True, max_units: int = 150,
                    max_rounds: int = 200) -> ExactResult:
    """Solve the exact model on the units ``nodes`` (default all) of ``g``.

    Parameters
    ----------
    g
        The unit graph.
    lo, hi
        Household band of a grid.
    nodes
        The units to plan (default all).
    edges
        Which edges of ``g`` are real borders (default all; virtual edges joining the
        pieces of a community must be left out: a grid cannot span pieces).
    time_limit
        Seconds for all rounds together.
    optimise
        Minimise the cut cost (and report the gap); else stop at the first plan.
    max_units
        Larger sets of units are not attempted (status ``too_big``).
    max_rounds
        Rounds of separator cuts at most (then ``time_limit``).

    Returns
    -------
    ExactResult

    Examples
    --------
    >>> g = lattice_graph(2, 3, households=100)
    >>> r = exact_partition(g, lo=300, hi=300)
    >>> r.status, sorted(np.bincount(r.labels, weights=g.h).tolist())
    ('optimal', [300.0, 300.0])
    """
    t0 = time.perf_counter()
    nodes = np.arange(g.n) if nodes is None else np.asarray(nodes)
    n = len(nodes)
    h = g.h[nodes].astype(float)
    total = float(h.sum())
    kmin = max(1, math.ceil(total / hi - 1e-9))
    kmax = min(math.floor(total / lo + 1e-9), n)
    if n == 0 or kmin > kmax:
        return ExactResult("infeasible", None, None, time.perf_counter() - t0)
    if n > max_units:
        return ExactResult("too_big", None, None, time.perf_counter() - t0)
    loc = np.full(g.n, -1, dtype=np.int64)
    loc[nodes] = np.arange(n)
    real = np.ones(len(g.ei), bool) if edges is None else np.asarray(edges, bool)
    keep = real & (loc[g.ei] >= 0) & (loc[g.ej] >= 0) & (g.ei != g.ej)
    a, b = loc[g.ei[keep]], loc[g.ej[keep]]
    key = np.minimum(a, b) * n + np.maximum(a, b)
    uk, inv = np.unique(key, return_inverse=True)
    eu, ev = uk // n, uk % n
    ecost = np.bincount(inv.ravel(), g.cost[keep], len(uk))
    model = _Model(n, kmax, eu, ev, ecost)
    model.base(h, lo, hi, kmin)
    adj = sp.csr_matrix((np.ones(2 * len(eu)), (np.r_[eu, ev], np.r_[ev, eu])), shape=(n, n))
    rounds = 0
    # phase 1: any plan in the band (or the proof that none exists)
    status, labels, rounds = _cut_loop(model, adj, t0, time_limit, max_rounds, rounds)
    if labels is None:
        return ExactResult(status, None, None, time.perf_counter() - t0, rounds, model.size())
    gap: float | None = None
    if optimise:  # phase 2: the cheapest cut, from the plan found
        plan_cost = _cut_cost(labels, eu, ev, ecost)
        model.objective(True, labels)
        status2, better, rounds = _cut_loop(model, adj, t0, time_limit, max_rounds, rounds)
        bound = model.bound()
        if better is not None and status2 == "optimal":
            labels, gap = better, 0.0
        else:
            if better is not None and _cut_cost(better, eu, ev, ecost) < plan_cost:
                labels = better
            cost = _cut_cost(labels, eu, ev, ecost)
            gap = max(0.0, (cost - bound) / cost) if cost > 0 and bound is not None else None
        status = "optimal" if gap == 0.0 else "feasible"
    _, labels = np.unique(labels, return_inverse=True)
    return ExactResult(status, labels.astype(np.int64), gap, time.perf_counter() - t0, rounds,
                       model.size())


def _cut_cost(labels: np.ndarray, eu: np.ndarray, ev: np.ndarray, ecost: np.ndarray) -> float:
    return float(ecost[labels[eu] != labels[ev]].sum())


def _cut_loop(model: _Model, adj: sp.csr_matrix, t0: float, time_limit: float,
              max_rounds: int, rounds: int) -> tuple[str, np.ndarray | None, int]:
    """Solve, add the separator cuts the plan breaks, solve again: until contiguous."""
    while True:
        left = time_limit - (time.perf_counter() - t0)
        if left <= 0 or rounds >= max_rounds:
            return "time_limit", None, rounds
        rounds += 1
        status, labels = model.solve(left)
        if labels is None:
            return status, None, rounds
        cuts = _separators(adj, labels)
        if not cuts:
            return status, labels, rounds
        for a_, b_, sep in cuts:
            model.separator(a_, b_, sep)


def _separators(adj: sp.csr_matrix, labels: np.ndarray) -> list[tuple[int, int, np.ndarray]]:
    """For every grid in pieces: (a unit of a piece, a unit of another, the separator)."""
    out = []
    n = len(labels)
    for gg in np.unique(labels):
        members = np.flatnonzero(labels == gg)
        if len(members) < 2:
            continue
        sub = adj[members][:, members]
        k, comp = connected_components(sub, directed=False)
        if k < 2:
            continue
        big = int(np.argmax(np.bincount(comp)))
        b_unit = int(members[np.flatnonzero(comp == big)[0]])
        for c in range(k):
            if c == big:
                continue
            piece = members[comp == c]
            inside = np.zeros(n, bool)
            inside[piece] = True
            ring = np.unique(adj[piece].indices)
            ring = ring[~inside[ring]]
            out.append((int(piece[0]), b_unit, ring))
    return out


class _Model:
    """The HiGHS model and its rows (the base rows, then separator cuts)."""

    def __init__(self, n: int, kmax: int, eu: np.ndarray, ev: np.ndarray,
                 ecost: np.ndarray) -> None:
        self.n, self.kmax = n, kmax
        self.eu, self.ev = eu, ev
        ig = [(i, g) for i in range(n) for g in range(min(i + 1, kmax))]
        self.ig_i = np.array([p[0] for p in ig], dtype=np.int64)
        self.ig_g = np.array([p[1] for p in ig], dtype=np.int64)
        self.nx = len(ig)
        self.xcol = np.full((n, kmax), -1, dtype=np.int64)
        self.xcol[self.ig_i, self.ig_g] = np.arange(self.nx)
        self.col_u = self.nx + np.arange(kmax)
        n_cols = self.nx + kmax
        self.ecost = ecost
        # z[e] >= x[i, g] - x[j, g]: border e is cut (its cost counts in phase 2 only)
        self.col_z = n_cols + np.arange(len(eu))
        n_cols += len(eu)
        self.n_cols = n_cols
        self.solver = _new_solver()
        self.solver.setOptionValue("output_flag", False)
        self.solver.setOptionValue("threads", 1)
        self.n_rows = 0

    def size(self) -> tuple[int, int]:
        return self.n_cols, self.n_rows

    def base(self, h: np.ndarray, lo: float, hi: float, kmin: int) -> None:
        import highspy

        n, kmax, nx_ = self.n, self.kmax, self.nx
        cost = np.zeros(self.n_cols)
        lower = np.zeros(self.n_cols)
        upper = np.ones(self.n_cols)
        lower[self.col_u[0]] = 1.0
        self.solver.addVars(self.n_cols, lower, upper)
        self.solver.changeColsCost(self.n_cols, np.arange(self.n_cols, dtype=np.int32), cost)
        integer = np.r_[np.arange(nx_), self.col_u].astype(np.int32)
        self.solver.changeColsIntegrality(
            len(integer), integer,
            np.array([highspy.HighsVarType.kInteger] * len(integer)))
        rows: list[tuple[float, float, list[int], list[float]]] = []
        for i in range(n):  # every unit in one grid
            cols = self.xcol[i][self.xcol[i] >= 0].tolist()
            rows.append((1.0, 1.0, cols, [1.0] * len(cols)))
        for gg in range(kmax):  # households of a used grid in [lo, hi]; x <= u
            members = np.flatnonzero(self.ig_g == gg)
            cols = members.tolist() + [int(self.col_u[gg])]
            rows.append((0.0, math.inf, cols, h[self.ig_i[members]].tolist() + [-lo]))
            rows.append((-math.inf, 0.0, cols, h[self.ig_i[members]].tolist() + [-hi]))
            for c in members.tolist():
                rows.append((-math.inf, 0.0, [c, int(self.col_u[gg])], [1.0, -1.0]))
        for gg in range(kmax - 1):  # used grids first
            rows.append((0.0, math.inf, [int(self.col_u[gg]), int(self.col_u[gg + 1])],
                         [1.0, -1.0]))
        rows.append((float(kmin), float(kmax), self.col_u.tolist(), [1.0] * kmax))
        # a unit too small to be a grid alone has a neighbour in its grid (valid for
        # contiguous plans: the first separator cuts, added up front)
        nbrs: list[list[int]] = [[] for _ in range(n)]
        for i, j in zip(self.eu.tolist(), self.ev.tolist()):
            nbrs[i].append(j)
            nbrs[j].append(i)
        for i in np.flatnonzero(h < lo).tolist():
            for gg in range(min(i + 1, kmax)):
                cols = [int(self.xcol[i, gg])]
                vals = [1.0]
                for j in nbrs[i]:
                    if self.xcol[j, gg] >= 0:
                        cols.append(int(self.xcol[j, gg]))
                        vals.append(-1.0)
                rows.append((-math.inf, 0.0, cols, vals))
        if len(self.col_z):
            for e, (i, j) in enumerate(zip(self.eu.tolist(), self.ev.tolist())):
                z = int(self.col_z[e])
                for gg in range(min(max(i, j) + 1, kmax)):
                    ci, cj = int(self.xcol[i, gg]), int(self.xcol[j, gg])
                    for s, t in ((ci, cj), (cj, ci)):
                        if s < 0:
                            continue
                        cols = [s, z] + ([t] if t >= 0 else [])
                        vals = [1.0, -1.0] + ([-1.0] if t >= 0 else [])
                        rows.append((-math.inf, 0.0, cols, vals))
        self._add(rows)

    def separator(self, a: int, b: int, sep: np.ndarray) -> None:
        """x[a, g] + x[b, g] - sum_{s in sep} x[s, g] <= 1 for every grid number g."""
        rows = []
        for gg in range(min(a, b) + 1):
            if gg >= self.kmax:
                break
            cols = [int(self.xcol[a, gg]), int(self.xcol[b, gg])]
            vals = [1.0, 1.0]
            for s in sep.tolist():
                c = int(self.xcol[s, gg])
                if c >= 0:
                    cols.append(c)
                    vals.append(-1.0)
            rows.append((-math.inf, 1.0, cols, vals))
        self._add(rows)

    def _add(self, rows: list[tuple[float, float, list[int], list[float]]]) -> None:
        if not rows:
            return
        lo_ = np.array([r[0] for r in rows])
        up_ = np.array([r[1] for r in rows])
        starts = np.cumsum([0] + [len(r[2]) for r in rows[:-1]]).astype(np.int32)
        idx = np.concatenate([np.asarray(r[2], dtype=np.int32) for r in rows])
        val = np.concatenate([np.asarray(r[3], dtype=float) for r in rows])
        inf = 1e30
        self.solver.addRows(len(rows), np.clip(lo_, -inf, inf), np.clip(up_, -inf, inf),
                            len(idx), starts, idx, val)
        self.n_rows += len(rows)

    def objective(self, on: bool, start: np.ndarray | None = None) -> None:
        """Count the cut cost (phase 2), starting from the plan ``start``."""
        import highspy

        cost = self.ecost if on else np.zeros(len(self.col_z))
        self.solver.changeColsCost(len(self.col_z), self.col_z.astype(np.int32), cost)
        if start is not None:
            col = np.zeros(self.n_cols)
            col[self.xcol[np.arange(self.n), start]] = 1.0
            col[self.col_u[np.unique(start)]] = 1.0
            col[self.col_z] = (start[self.eu] != start[self.ev]).astype(float)
            sol = highspy.HighsSolution()
            sol.col_value = col.tolist()
            sol.value_valid = True
            try:
                self.solver.setSolution(sol)
            except Exception:  # pragma: no cover - an older highspy
                pass

    def bound(self) -> float | None:
        """The best bound on the cut cost of the last phase-2 solve."""
        value = float(self.solver.getInfo().mip_dual_bound)
        return value if math.isfinite(value) else None

    def solve(self, seconds: float) -> tuple[str, np.ndarray | None]:
        import highspy

        self.solver.setOptionValue("time_limit", float(max(seconds, 0.01)))
        self.solver.run()
        status = self.solver.getModelStatus()
        info = self.solver.getInfo()
        if status == highspy.HighsModelStatus.kInfeasible:
            return "infeasible", None
        if not info.primal_solution_status:
            return "time_limit", None
        sol = np.asarray(self.solver.getSolution().col_value)
        x = sol[: self.nx] > 0.5
        labels = np.full(self.n, -1, dtype=np.int64)
        labels[self.ig_i[x]] = self.ig_g[x]
        optimal = status == highspy.HighsModelStatus.kOptimal
        return ("optimal" if optimal else "feasible"), labels


def _new_solver() -> Any:
    """A ``highspy.Highs`` without its banner on the standard output."""
    import highspy  # the compiled solver is loaded only when an exact solve is asked for

    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # pragma: no cover - no file descriptor 1
        return highspy.Highs()
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        return highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


