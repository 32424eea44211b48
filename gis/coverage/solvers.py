"""Solvers of the weighted maximal covering problem: lazy greedy and an exact ILP (HiGHS).

Given the sparse demand x pose coverage matrix ``A`` and the demand weights ``w``,
choose at most ``budget`` poses (and at most one per site) that cover the most weight:

* :func:`lazy_greedy`: Minoux's lazy greedy, the classic ``1 - 1/e`` guarantee, at
  interactive speed;
* :func:`solve_ilp`: the integer programme solved by HiGHS (``highspy``), warm-started
  with the greedy, reporting its dual bound and optimality gap.

Examples
--------
>>> import numpy as np
>>> from scipy.sparse import csc_matrix
>>> from beatgrid.gis.coverage.solvers import lazy_greedy
>>> A = csc_matrix(np.array([[1, 0, 0], [1, 1, 0], [0, 1, 1], [0, 0, 1]]))
>>> res = lazy_greedy(A, np.ones(4), budget=2)
>>> sorted(res.selected.tolist()), res.objective
([0, 2], 4.0)
"""

from __future__ import annotations

import heapq
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.sparse import csc_matrix

from beatgrid.gis.errors import InputError

__all__ = ["GreedyResult", "IlpResult", "lazy_greedy", "solve_ilp", "marginal_gains",
           "order_by_gain"]


@dataclass
class GreedyResult:
    """Result of :func:`lazy_greedy`: poses in pick order, their marginal gains, the total.

    Attributes
    ----------
    selected, gains, objective
        Poses picked (in order), the weight each newly covers, their sum.
    covered
        Per demand point: covered by a picked pose.
    evaluations, seconds
        Marginal gains computed and time taken.

    Examples
    --------
    >>> import numpy as np
    >>> r = lazy_greedy(np.array([[1, 0], [1, 1]]), np.ones(2), 2)
    >>> r.selected.tolist(), r.gains.tolist(), r.covered.tolist()
    ([0], [2.0], [True, True])
    """

    selected: np.ndarray
    gains: np.ndarray
    objective: float
    covered: np.ndarray
    evaluations: int = 0
    seconds: float = 0.0


def lazy_greedy(A: Any, weights: Any, budget: int, *, sites: Any = None) -> GreedyResult:
    """Weighted maximal covering by lazy greedy (Minoux): ``1 - 1/e`` of the optimum.

    Parameters
    ----------
    A
        Sparse demand x pose coverage matrix.
    weights
        Demand weights (>= 0).
    budget
        Poses to pick at most (stops early when nothing more can be gained).
    sites
        Optional site of each pose: at most one pose per site.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.sparse import csc_matrix
    >>> A = csc_matrix(np.array([[1, 1], [0, 1], [1, 0]]))
    >>> r = lazy_greedy(A, np.array([1.0, 1.0, 1.0]), 1)
    >>> r.selected.tolist(), r.objective
    ([0], 2.0)
    """
    t0 = time.perf_counter()
    A = csc_matrix(A)
    w = np.asarray(weights, dtype=float)
    n_d, n_p = A.shape
    if len(w) != n_d:
        raise InputError(f"weights has {len(w)} values for {n_d} demand points",
                         fix="give one weight per row of the coverage matrix")
    if budget < 0:
        raise InputError(f"budget={budget} is negative", fix="give a budget of 0 or more")
    indptr, indices = A.indptr, A.indices
    gain0 = np.bincount(np.repeat(np.arange(n_p), np.diff(indptr)), weights=w[indices],
                        minlength=n_p) if len(indices) else np.zeros(n_p)
    covered = np.zeros(n_d, dtype=bool)
    site_used: set[Any] = set()
    heap = [(-g, j) for j, g in enumerate(gain0) if g > 0]
    heapq.heapify(heap)
    picked: list[int] = []
    gains: list[float] = []
    evals = 0
    while heap and len(picked) < budget:
        neg, j = heapq.heappop(heap)
        if sites is not None and sites[j] in site_used:
            continue
        rows = indices[indptr[j]:indptr[j + 1]]
        g = float(w[rows][~covered[rows]].sum())
        evals += 1
        if g <= 0:
            continue
        if not heap or g >= -heap[0][0] - 1e-12:
            picked.append(j)
            gains.append(g)
            covered[rows] = True
            if sites is not None:
                site_used.add(sites[j])
        else:
            heapq.heappush(heap, (-g, j))
    return GreedyResult(np.asarray(picked, dtype=np.int64), np.asarray(gains),
                        float(np.sum(gains)), covered, evals, time.perf_counter() - t0)


@dataclass
class IlpResult:
    """Result of :func:`solve_ilp`: poses chosen, objective, dual bound and relative gap.

    Attributes
    ----------
    selected, objective, bound, gap
        Poses chosen, the weight they cover, HiGHS' dual bound and relative gap.
    status
        HiGHS' model status (``Optimal``, ``Time limit reached``...).
    seconds, info
        Time taken; branch-and-bound nodes and the size of the programme.

    Examples
    --------
    >>> import numpy as np
    >>> r = solve_ilp(np.array([[1, 0], [0, 1]]), np.array([1.0, 2.0]), 1)
    >>> r.selected.tolist(), r.objective, r.status
    ([1], 2.0, 'Optimal')
    """

    selected: np.ndarray
    objective: float
    bound: float
    gap: float
    status: str
    seconds: float = 0.0
    info: dict[str, int] = field(default_factory=dict)


def solve_ilp(A: Any, weights: Any, budget: int, *, sites: Any = None,
              time_limit: float = 60.0, mip_rel_gap: float = 0.0, warm_start: Any = None
              ) -> IlpResult:
    """Exact weighted maximal covering as an integer programme, solved by HiGHS.

    ``max sum_i w_i y_i`` s.t. ``y_i <= sum_{j covers i} x_j``, ``sum_j x_j <= budget``,
    (``sum_{j in site} x_j <= 1``), ``x`` binary, ``0 <= y <= 1``. Demand points no pose
    covers are left out. The gap is HiGHS' relative MIP gap ``|bound - objective| /
    |objective|`` (0 when proven optimal).

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.sparse import csc_matrix
    >>> A = csc_matrix(np.array([[1, 0, 0], [1, 1, 0], [0, 1, 1], [0, 0, 1]]))
    >>> r = solve_ilp(A, np.ones(4), 2)
    >>> sorted(r.selected.tolist()), r.objective, r.gap
    ([0, 2], 4.0, 0.0)
    """
    import highspy  # the compiled solver is loaded only when an exact solve is asked for

    t0 = time.perf_counter()
    A = csc_matrix(A)
    w = np.asarray(weights, dtype=float)
    keep_rows = np.nonzero((A.getnnz(axis=1) > 0) & (w > 0))[0]
    A = A[keep_rows]
    w = w[keep_rows]
    n_d, n_p = A.shape
    site_rows: dict[int, list[int]] = {}
    if sites is not None:
        s = np.asarray(sites)
        uniq, inv, counts = np.unique(s, return_inverse=True, return_counts=True)
        multi = counts[inv] > 1
        for k, pose in zip(inv[multi], np.nonzero(multi)[0]):
            site_rows.setdefault(int(k), []).append(int(pose))
    site_list = list(site_rows.values())
    n_rows = n_d + 1 + len(site_list)
    # column-wise matrix: x_j columns (coverage rows -1, budget +1, site +1), y_i columns
    x_site: dict[int, int] = {}
    for r, js in enumerate(site_list):
        for j in js:
            x_site[j] = n_d + 1 + r
    starts: list[int] = [0]
    index: list[int] = []
    value: list[float] = []
    for j in range(n_p):
        rows = A.indices[A.indptr[j]:A.indptr[j + 1]]
        index.extend(rows.tolist())
        value.extend([-1.0] * len(rows))
        index.append(n_d)
        value.append(1.0)
        if j in x_site:
            index.append(x_site[j])
            value.append(1.0)
        starts.append(len(index))
    for i in range(n_d):
        index.append(i)
        value.append(1.0)
        starts.append(len(index))
    lp = highspy.HighsLp()
    lp.num_col_ = n_p + n_d
    lp.num_row_ = n_rows
    lp.col_cost_ = np.r_[np.zeros(n_p), w]
    lp.col_lower_ = np.zeros(n_p + n_d)
    lp.col_upper_ = np.ones(n_p + n_d)
    lp.row_lower_ = np.full(n_rows, -highspy.kHighsInf)
    lp.row_upper_ = np.r_[np.zeros(n_d), float(budget), np.ones(len(site_list))]
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.asarray(starts, dtype=np.int32)
    lp.a_matrix_.index_ = np.asarray(index, dtype=np.int32)
    lp.a_matrix_.value_ = np.asarray(value, dtype=float)
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.integrality_ = [highspy.HighsVarType.kInteger] * n_p + \
        [highspy.HighsVarType.kContinuous] * n_d
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit))
    h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
    h.setOptionValue("threads", 1)
    h.passModel(lp)
    if warm_start is not None and len(warm_start):
        x0 = np.zeros(n_p)
        x0[np.asarray(warm_start, dtype=np.int64)] = 1.0
        y0 = np.minimum(1.0, A @ x0)
        sol = highspy.HighsSolution()
        sol.col_value = list(np.r_[x0, y0])
        sol.value_valid = True
        try:
            h.setSolution(sol)
        except Exception:  # pragma: no cover - older highspy
            pass
    h.run()
    status = h.modelStatusToString(h.getModelStatus())
    info = h.getInfo()
    col = np.asarray(h.getSolution().col_value) if info.primal_solution_status else np.zeros(0)
    selected = np.nonzero(col[:n_p] > 0.5)[0] if len(col) else np.zeros(0, dtype=np.int64)
    x = np.zeros(n_p)
    x[selected] = 1
    objective = float(w[(A @ x) > 0].sum()) if n_p else 0.0
    bound = float(info.mip_dual_bound) if math.isfinite(info.mip_dual_bound) else objective
    gap = float(info.mip_gap) if math.isfinite(info.mip_gap) else (
        abs(bound - objective) / max(abs(objective), 1e-12))
    if gap < 1e-9:
        gap = 0.0
    return IlpResult(selected.astype(np.int64), objective, bound, gap, status,
                     time.perf_counter() - t0,
                     {"nodes": int(info.mip_node_count), "rows": n_rows, "cols": n_p + n_d})


def marginal_gains(A: Any, w: np.ndarray, order: Any) -> np.ndarray:
    """The weight each pose of ``order`` newly covers, taken in that order.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.sparse import csc_matrix
    >>> A = csc_matrix(np.array([[1, 1], [0, 1]]))
    >>> marginal_gains(A, np.ones(2), [0, 1]).tolist()
    [1.0, 1.0]
    """
    cov = np.zeros(A.shape[0], dtype=bool)
    gains = []
    for j in order:
        rows = A.indices[A.indptr[j]:A.indptr[j + 1]]
        gains.append(float(w[rows][~cov[rows]].sum()))
        cov[rows] = True
    return np.asarray(gains)


def order_by_gain(A: Any, w: np.ndarray, chosen: Any) -> np.ndarray:
    """Order a chosen set greedily (largest marginal gain first) for reporting.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.sparse import csc_matrix
    >>> A = csc_matrix(np.array([[1, 1], [0, 1]]))
    >>> order_by_gain(A, np.ones(2), [0, 1]).tolist()
    [1, 0]
    """
    sub = csc_matrix(A)[:, chosen]
    r = lazy_greedy(sub, w, len(chosen))
    rest = [j for j in range(len(chosen)) if j not in set(r.selected.tolist())]
    return np.asarray(chosen)[np.r_[r.selected, rest].astype(np.int64)]
