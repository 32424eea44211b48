"""Oracles for the grid engines' property tests: brute force on tiny unit graphs.

``brute_force_feasible`` enumerates every partition of a graph of at most ten units;
``plan_in_band`` checks a generated plan; ``assert_valid_labels`` checks a plan the engines return against the rules (every unit in
a grid, each grid one piece and in the band); ``small_lattice`` and ``SMALL_LATTICES``
give the random lattices the engines are compared on.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np
from hypothesis import strategies as st

from beatgrid.gis.grids.unit_graph import UnitGraph, is_contiguous, lattice_graph

#: The bands the engines are compared in: the default and the two narrow ones.
BANDS = [(300, 500), (300, 360), (380, 420)]
#: Keyword arguments of :func:`small_lattice`, drawn by hypothesis.
SMALL_LATTICES = st.fixed_dictionaries({
    "seed": st.integers(0, 10_000), "rows": st.integers(1, 2), "cols": st.integers(2, 4),
    "zeros": st.floats(0.0, 0.5)})


def small_lattice(*, seed: int, rows: int, cols: int, zeros: float = 0.0,
                  households: tuple[int, int] = (20, 300)) -> UnitGraph:
    """A ``rows`` x ``cols`` lattice of units with random households, a share ``zeros``
    of them without any."""
    rng = np.random.default_rng(seed)
    h = rng.integers(*households, rows * cols) * (rng.random(rows * cols) >= zeros)
    return lattice_graph(rows, cols, households=h)


def _partitions(items: list[int]) -> Iterator[list[tuple[int, ...]]]:
    if not items:
        yield []
        return
    first, others = items[0], items[1:]
    for r in range(len(others) + 1):
        for combo in itertools.combinations(others, r):
            rest = [x for x in others if x not in combo]
            for tail in _partitions(rest):
                yield [(first, *combo), *tail]


def brute_force_feasible(g: UnitGraph, lo: float, hi: float) -> bool:
    """Whether some partition of ``g`` into connected parts of ``lo`` to ``hi``
    households exists (every partition tried: at most about ten units)."""
    assert g.n <= 10, "brute force is for tiny graphs"
    return any(all(lo <= g.h[list(b)].sum() <= hi and is_contiguous(g, np.array(b)) for b in p)
               for p in _partitions(list(range(g.n))))


def plan_in_band(plan, cid: str | None = None) -> bool:
    """Whether every grid of a :class:`GridPlan` (of community ``cid``) is in its band."""
    g = plan.grids if cid is None else plan.grids[plan.grids["community_id"] == cid]
    return bool(g["households"].between(plan.band.lo, plan.band.hi).all())


def assert_valid_labels(g: UnitGraph, labels: np.ndarray, lo: float, hi: float) -> None:
    """Every unit in a grid (units without households too), each grid connected and in
    the band."""
    assert (labels >= 0).all()
    for p in np.unique(labels):
        members = np.flatnonzero(labels == p)
        assert is_contiguous(g, members)
        assert lo <= g.h[members].sum() <= hi
