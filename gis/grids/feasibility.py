"""Proofs that no plan in the band exists, by counting (no search).

Each check returns a :class:`Proof` (the reason code and the argument in words) or None:

* :func:`count_proof`: no whole number ``k`` has ``k x min <= H <= k x max`` (the
  community's households ``H`` cannot be shared out: ``below_min`` or
  ``no_grid_count_fits``);
* :func:`unit_proofs`: a unit that no grid can hold: alone it is below ``min``, and with
  any of its neighbours above ``max`` (every grid holding it is either the unit alone or
  holds a neighbour too, since grids are contiguous);
* :func:`piece_proof`: a piece of the community (units joined by shared borders) whose
  households admit no grid count: a grid would have to span pieces.

A unit larger than ``max`` is reported by the partitioner itself
(``indivisible_unit_over_max``). These proofs hold on the units they are given: a proof
on street blocks is re-checked on building cells before it is reported.

Examples
--------
>>> from beatgrid.gis.grids.band import Band
>>> from beatgrid.gis.grids.unit_graph import lattice_graph
>>> band = Band(300, 500, 400)
>>> count_proof(550, band).reason
'no_grid_count_fits'
>>> g = lattice_graph(1, 3, households=[100, 450, 100])
>>> unit_proofs(g, np.arange(3), band) is None              # 450 + 100 > 500
False
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from beatgrid.gis.grids.band import Band, grid_counts
from beatgrid.gis.grids.plan import BELOW_MIN, COMMUNITY_IN_PIECES, INFEASIBLE, NO_GRID_COUNT_FITS
from beatgrid.gis.grids.unit_graph import UnitGraph, components, lattice_graph

__all__ = ["Proof", "count_proof", "unit_proofs", "piece_proof", "lattice_graph"]


@dataclass(frozen=True)
class Proof:
    """Why no plan in the band exists: a reason code and the argument.

    Examples
    --------
    >>> Proof("infeasible", "unit 3 cannot join a grid").reason
    'infeasible'
    """

    reason: str
    detail: str


def count_proof(households: float, band: Band) -> Proof | None:
    """No grid count fits ``households`` (the community, or one of its pieces).

    Examples
    --------
    >>> from beatgrid.gis.grids.band import Band
    >>> count_proof(250, Band(300, 500, 400)).detail
    '250 households < 300: not one grid'
    >>> count_proof(1700, Band(300, 500, 400)) is None
    True
    """
    if households < band.lo:
        return Proof(BELOW_MIN, f"{households:.0f} households < {band.lo}: not one grid")
    if grid_counts(households, band):
        return None
    below = math.floor(households / band.hi)
    above = math.ceil(households / band.lo)
    return Proof(NO_GRID_COUNT_FITS,
                 f"{households:.0f} households: {below} grid(s) would hold more than "
                 f"{band.hi} each, {above} fewer than {band.lo}")


def unit_proofs(g: UnitGraph, nodes: np.ndarray, band: Band, *,
                real: np.ndarray | None = None) -> Proof | None:
    """A unit no grid can hold: below ``min`` alone, above ``max`` with any neighbour.

    Parameters
    ----------
    g
        The unit graph.
    nodes
        The units considered (their borders with other units are ignored).
    band
        The household band.
    real
        Mask of the edges that are real borders (virtual edges joining pieces of the
        community are no way into a grid); default all.

    Examples
    --------
    >>> from beatgrid.gis.grids.band import Band
    >>> g = lattice_graph(1, 4, households=[100, 450, 100, 300])
    >>> unit_proofs(g, np.arange(4), Band(300, 500, 400)).detail
    'unit 0 (100 households) cannot be in any grid: alone it is below 300, and with any neighbour (smallest: 450) above 500'
    >>> unit_proofs(lattice_graph(1, 2, households=[0, 450]), np.arange(2),
    ...             Band(300, 500, 400)) is None
    True
    """
    nodes = np.asarray(nodes)
    inside = np.zeros(g.n, bool)
    inside[nodes] = True
    ok = inside[g.ei] & inside[g.ej]
    if real is not None:
        ok &= np.asarray(real, bool)
    ends = np.concatenate([g.ei[ok], g.ej[ok]])
    other = np.concatenate([g.ej[ok], g.ei[ok]])
    smallest = np.full(g.n, np.inf)
    np.minimum.at(smallest, ends, g.h[other])
    h = g.h
    lonely = inside & (h < band.lo) & (h > 0) & (h + smallest > band.hi)
    if not lonely.any():
        return None
    i = int(np.flatnonzero(lonely)[0])
    more = int(lonely.sum()) - 1
    near = "no neighbour" if not np.isfinite(smallest[i]) else \
        f"any neighbour (smallest: {smallest[i]:.0f})"
    text = (f"unit {i} ({h[i]:.0f} households) cannot be in any grid: alone it is below "
            f"{band.lo}, and with {near} above {band.hi}")
    if not np.isfinite(smallest[i]):
        text = (f"unit {i} ({h[i]:.0f} households) cannot be in any grid: alone it is below "
                f"{band.lo} and it has no neighbour")
    if more:
        text += f" ({more} more such unit(s))"
    return Proof(INFEASIBLE, text)


def piece_proof(g: UnitGraph, nodes: np.ndarray, band: Band, *,
                real: np.ndarray) -> Proof | None:
    """A piece of ``nodes`` (joined by real borders) that admits no grid count.

    Pieces without households are left aside (they join a grid of another piece, which
    the plan reports as a grid in pieces).

    Examples
    --------
    >>> from beatgrid.gis.grids.band import Band
    >>> g = lattice_graph(1, 4, households=[200, 200, 100, 50])
    >>> real = np.array([True, True, False])        # the last unit is a separate piece
    >>> piece_proof(g, np.arange(4), Band(300, 500, 400), real=real).reason
    'community_in_pieces'
    """
    nodes = np.asarray(nodes)
    sub = UnitGraph(h=g.h, area=g.area, ext=g.ext, ei=g.ei[real], ej=g.ej[real],
                    length=g.length[real], cost=g.cost[real], bias=g.bias[real])
    comp = components(sub, nodes)
    if comp.max() == 0:
        return None
    for c in np.unique(comp):
        total = float(g.h[nodes[comp == c]].sum())
        if total > 0 and count_proof(total, band) is not None:
            n_pieces = int(comp.max()) + 1
            return Proof(COMMUNITY_IN_PIECES,
                         f"the community is in {n_pieces} pieces; one holds {total:.0f} "
                         f"households, which no whole number of grids in "
                         f"[{band.lo}, {band.hi}] fits")
    return None
