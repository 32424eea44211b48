"""One connected part of a community split into grids: proofs, searches, exact model.

:func:`solve_part` is what :mod:`beatgrid.gis.grids.community` runs on every connected
set of free units, in this order:

1. counting proofs (:mod:`beatgrid.gis.grids.feasibility`): fewer households than one
   grid (``below_min``), no grid count fits (``no_grid_count_fits``), a unit no grid can
   hold or a piece no count fits (``infeasible``, ``community_in_pieces``);
2. the search: communities of up to ``generator.forest_min_grids`` grids with
   :func:`~beatgrid.gis.grids.search.tree_partition` (the grid counts closest to
   households / target in turn), bigger ones with
   :func:`~beatgrid.gis.grids.forest.forest_partition` (every region of a level
   bisected at once, near-linear), each engine the other's fallback, all within
   ``generator.search_seconds`` (plus ``search_seconds_per_1000_units``); parts of at
   most ``exact.cover_units`` units get ``exact.cover_after_s`` of it, then the exact
   sweep (:class:`~beatgrid.gis.grids.sweep.Sweep`, a dynamic programme over the
   partitions of a short frontier: ``exact.sweep_first_seconds`` of it, and on the
   final units ``exact.sweep_seconds`` more, each slice going on where the last
   stopped): a proof (``infeasible``), or the knowledge that a plan exists; then the
   exact cover (:func:`~beatgrid.gis.grids.cover.cover_partition`: the households
   covered by connected candidate grids) within ``exact.cover_seconds``: a plan, or a
   proof (``infeasible``; a unit in no candidate grid, or every cover tried); when
   steps 3 and 4 decide nothing either, the sweep goes on for
   ``exact.sweep_last_seconds`` as the last resort;
3. the exhaustive constructive search (:func:`~beatgrid.gis.grids.grow.grow_partition`,
   grid by grid) within ``generator.grow_seconds``: a plan, or a proof when it runs to
   the end (``infeasible``); big communities of lumpy units (median households of a unit
   at least ``generator.lumpy_share`` of the band's minimum) start with it;
4. the exact model (:func:`~beatgrid.gis.grids.exact.exact_partition`, HiGHS) for parts
   of at most ``exact.max_units`` units: a plan, or the proof that none exists
   (``infeasible``), or nothing within ``exact.time_limit_s`` (``search_limit``);
5. when no plan in the band was found, the closest plan (the band widened step by
   step, then border units moved while the households out of band fall), every grid
   out of range carrying the reason.

Examples
--------
>>> from beatgrid.gis.config import default_config
>>> from beatgrid.gis.grids.band import Band
>>> from beatgrid.gis.grids.unit_graph import lattice_graph
>>> g = lattice_graph(1, 3, households=250)
>>> got = solve_part(g, np.arange(3), band=Band(300, 500, 400), settings=default_config().grids,
...                  rng=np.random.default_rng(0))
>>> got.reason, [float(g.h[p].sum()) for p in got.parts]
('infeasible', [250.0, 500.0])
>>> got.detail
'unit 0 (250 households) is in no connected set of 300-450 households (2 grid(s) fit the 750 households)'
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from beatgrid.gis.grids.band import Band, closest_count, grid_counts
from beatgrid.gis.grids.cover import CoverResult, cover_partition
from beatgrid.gis.grids.exact import exact_partition
from beatgrid.gis.grids.feasibility import piece_proof, unit_proofs
from beatgrid.gis.grids.forest import ForestStats, forest_partition
from beatgrid.gis.grids.grow import grow_partition
from beatgrid.gis.grids.plan import BELOW_MIN, INFEASIBLE, NO_GRID_COUNT_FITS, SEARCH_LIMIT
from beatgrid.gis.grids.repair import repair_band
from beatgrid.gis.grids.search import tree_partition
from beatgrid.gis.grids.sweep import Sweep, SweepResult
from beatgrid.gis.grids.unit_graph import UnitGraph

__all__ = ["PartPlan", "solve_part"]


@dataclass
class PartPlan:
    """The grids of one part: unit numbers per grid, and why it is not fully valid.

    Attributes
    ----------
    parts
        Unit numbers (of the graph) of every grid.
    reason, detail
        Empty when every grid is in the band; else the reason code and its argument.
    engine
        What found the plan: ``tree``, ``forest``, ``exact``, ``closest`` or ``none``.
    """

    parts: list[np.ndarray]
    reason: str = ""
    detail: str = ""
    engine: str = "none"


def solve_part(g: UnitGraph, nodes: np.ndarray, *, band: Band, settings: Mapping[str, Any],
               rng: np.random.Generator, real: np.ndarray | None = None,
               thorough: bool = True) -> PartPlan:
    """Split one connected set of units into grids (see the module docstring).

    Parameters
    ----------
    g
        The unit graph of the community.
    nodes
        The units to split (connected in ``g``).
    band
        The household band.
    settings
        Grid settings (``generator`` and ``exact`` tables).
    rng
        Random generator.
    real
        Mask of the edges of ``g`` that are real borders (default all; virtual edges join
        the pieces of a community).
    thorough
        False (a first pass whose failures are planned again on finer units): no
        exhaustive search nor exact model (steps 3 and 4) when the heuristics fail, and
        no closest plan: the part as one with ``search_limit`` (or the heuristics'
        closest plan when they made one).

    Returns
    -------
    PartPlan
    """
    gen = settings["generator"]
    exact_cfg = settings.get("exact", {})
    real = np.ones(len(g.ei), bool) if real is None else real
    total = float(g.h[nodes].sum())
    if total < band.lo:
        return PartPlan([nodes], BELOW_MIN, f"{total:.0f} households < {band.lo}")
    ks = grid_counts(total, band)
    if not ks:
        k = closest_count(total, band)
        detail = (f"{total:.0f} households: {math.floor(total / band.hi)} grid(s) would exceed "
                  f"{band.hi}, {math.ceil(total / band.lo) if total >= band.lo else 1} would "
                  f"fall below {band.lo}; {k} grid(s) of about {total / k:.0f}")
        return _closest(g, nodes, k, band, rng, gen, NO_GRID_COUNT_FITS, detail)
    proof = unit_proofs(g, nodes, band, real=real)
    if proof is None and not real.all():
        proof = piece_proof(g, nodes, band, real=real)
    if proof is not None:
        return _closest(g, nodes, ks[0], band, rng, gen, proof.reason, proof.detail)
    deadline = time.process_time() + float(gen.get("search_seconds", 5.0)) + \
        float(gen.get("search_seconds_per_1000_units", 1.0)) * len(nodes) / 1000
    n = len(nodes)
    small = n <= int(exact_cfg.get("cover_units", 150))
    if small:  # the exact cover decides small parts the search cannot plan quickly
        deadline = min(deadline, time.process_time() + float(exact_cfg.get("cover_after_s", 1.0)))
    found, closest = _search(g, nodes, ks, band, rng, settings, deadline, real)
    if found is not None:
        return found
    counts = f"{ks[0]} grid(s)" if len(ks) == 1 else f"{min(ks)}-{max(ks)} grids"

    def unplanned(reason: str, detail: str) -> PartPlan:
        """The closest plan (the search's, or one built now) with why none is in band."""
        if closest is not None:
            return _reasoned(closest, reason, detail)
        return _closest(g, nodes, ks[0], band, rng, gen, reason, detail)

    def to_cells(detail: str) -> PartPlan:
        """A first pass's answer: the caller plans the part again on building cells, so no
        closest plan is built (it took the search's whole time again, to be thrown away)."""
        return _reasoned(closest, SEARCH_LIMIT, detail) if closest is not None else \
            PartPlan([nodes], SEARCH_LIMIT, detail)

    plan_exists = False
    # one exact sweep of a small part, each slice going on where the last one stopped
    sweeper = Sweep(g, lo=band.lo, hi=band.hi, nodes=nodes, edges=real,
                    max_states=int(exact_cfg.get("sweep_states", 400_000))) if small else None

    def sweep(seconds: float) -> SweepResult:
        """The part's exact sweep, for ``seconds`` more of CPU time."""
        assert sweeper is not None
        return sweeper.run(deadline=time.process_time() + seconds)

    if small:  # a short sweep first: most proofs take it a fraction of a second
        swept = sweep(float(exact_cfg.get("sweep_first_seconds", 0.5)))
        if swept.status == "limit" and thorough:  # on the final units the rest, before the
            swept = sweep(float(exact_cfg.get("sweep_seconds", 3.0)))  # cover looks for plans
        if swept.status == "infeasible" and not thorough:  # to building cells, at once
            return to_cells(f"no plan in [{band.lo}, {band.hi}] on these {n} street blocks "
                            "(the exact sweep)")
        if swept.status == "infeasible":
            # a short cover names the unit no grid can hold, when one is the reason
            named = _cover(g, nodes, band, real, exact_cfg,
                           float(exact_cfg.get("explain_seconds", 0.3)))
            if named.labels is not None:  # a plan the cover checked unit by unit wins
                return PartPlan(_parts_of(nodes, named.labels), engine="cover")
            detail = (f"{named.detail} ({counts} fit the {total:.0f} households)"
                      if named.complete and named.detail else
                      _sweep_detail(swept, n, band, counts, total))
            return unplanned(INFEASIBLE, detail)
        plan_exists = swept.status == "feasible"
        covered = _cover(g, nodes, band, real, exact_cfg,  # plans only: half the time
                         float(exact_cfg.get("cover_seconds", 3.0)) * (1.0 if thorough else 0.5))
        if covered.labels is not None:
            return PartPlan(_parts_of(nodes, covered.labels), engine="cover")
        if covered.complete and thorough:
            detail = f"{covered.detail} ({counts} fit the {total:.0f} households)"
            return unplanned(INFEASIBLE, detail)
    if not thorough:
        return to_cells(f"{total:.0f} households, {counts} fit, but the search found no plan "
                        f"in [{band.lo}, {band.hi}] on street blocks")
    # the exhaustive constructive search: a plan, or a proof when it ran to the end
    grow_s = float(gen.get("grow_seconds", 5.0))
    grown = grow_partition(g, lo=band.lo, hi=band.hi, nodes=nodes, edges=real,
                           deadline=time.process_time() + grow_s)
    if grown.labels is None and not grown.complete and (g.h[nodes] == 0).any():
        glued = grow_partition(g, lo=band.lo, hi=band.hi, nodes=nodes, edges=real,
                               deadline=time.process_time() + grow_s, absorb_zeros=True)
        if glued.labels is not None:
            grown = glued
    if grown.labels is not None:
        return PartPlan(_parts_of(nodes, grown.labels), engine="grow")
    if grown.complete:
        detail = (f"every way of building grids in [{band.lo}, {band.hi}] from these {n} units "
                  f"was tried (exhaustive search, {grown.steps} candidate grid(s)): none covers "
                  f"the {total:.0f} households ({counts} fit)")
        return unplanned(INFEASIBLE, detail)
    # the exact model decides small parts: a plan, a proof, or nothing in its time
    detail = (f"{total:.0f} households, {counts} fit, but the search found no plan in "
              f"[{band.lo}, {band.hi}] within its limits")
    if n <= int(exact_cfg.get("max_units", 80)):
        res = exact_partition(g, lo=band.lo, hi=band.hi, nodes=nodes, edges=real,
                              time_limit=float(exact_cfg.get("time_limit_s", 10.0)),
                              optimise=bool(exact_cfg.get("optimise", True)),
                              max_units=int(exact_cfg.get("max_units", 80)))
        if res.labels is not None:
            return PartPlan(_parts_of(nodes, res.labels), engine="exact")
        if res.proven_infeasible:
            detail = (f"the exact model (HiGHS) proves that no plan in [{band.lo}, {band.hi}] "
                      f"exists on these {n} units ({counts} fit the {total:.0f} households)")
            return unplanned(INFEASIBLE, detail)
        detail += (f"; the exact model (HiGHS, {n} units) found no plan and no proof in "
                   f"{res.seconds:.0f} s")
    else:
        detail += f" ({n} units: too many for the exact model, exact.max_units)"
    last = float(exact_cfg.get("sweep_last_seconds", 30.0))
    if sweeper is not None and not plan_exists and last > 0:
        # the last resort, when nothing cheaper decided: the sweep again, for longer
        swept = sweep(last)
        if swept.status == "infeasible":
            detail = _sweep_detail(swept, n, band, counts, total)
            return unplanned(INFEASIBLE, detail)
        plan_exists = swept.status == "feasible"
    if plan_exists:
        detail += "; the exact sweep shows that a plan exists"
    return unplanned(SEARCH_LIMIT, detail)


def _cover(g: UnitGraph, nodes: np.ndarray, band: Band, real: np.ndarray,
           exact_cfg: Mapping[str, Any], seconds: float) -> CoverResult:
    """The exact cover of ``nodes`` within ``seconds`` of CPU time."""
    return cover_partition(g, lo=band.lo, hi=band.hi, nodes=nodes, edges=real,
                           max_sets=int(exact_cfg.get("cover_sets", 200_000)),
                           deadline=time.process_time() + seconds)


def _sweep_detail(swept: SweepResult, n: int, band: Band, counts: str, total: float) -> str:
    return (f"the exact sweep over these {n} units (every partition of its frontier, "
            f"{swept.states} states) finds no plan in [{band.lo}, {band.hi}] ({counts} fit "
            f"the {total:.0f} households)")


def _reasoned(plan: PartPlan, reason: str, detail: str) -> PartPlan:
    return PartPlan(plan.parts, reason, detail, engine=plan.engine)


def _search(g: UnitGraph, nodes: np.ndarray, ks: list[int], band: Band,
            rng: np.random.Generator, settings: Mapping[str, Any], deadline: float,
            real: np.ndarray) -> tuple[PartPlan | None, PartPlan | None]:
    """The heuristic engines: (a plan in the band or None, the closest plan if made).

    Small parts: the region-by-region search for the best counts, then the closest plan
    (the band widened, border units moved back into it), then the level-by-level
    search. Big parts: the level-by-level search, then the region-by-region one.
    """
    gen = settings["generator"]
    exact_cfg = settings.get("exact", {})
    big = ks[0] >= int(gen.get("forest_min_grids", 16))
    closest = None
    # units holding a big share of a grid each: grids of 2-3 units, where spanning-tree
    # cuts rarely land in the band but the constructive search is quick
    lumpy = _lumpy(g.h[nodes], band, gen)
    order = ("forest", "tree") if big else ("tree", "closest", "forest")
    if big and lumpy:
        order = ("grow", "forest", "tree")
    for engine in order:
        if time.process_time() > deadline:
            break
        if engine == "tree":
            for k in ks[:3]:
                labels = tree_partition(g, k, lo=band.lo, hi=band.hi, rng=rng,
                                        trees=gen["trees_per_split"],
                                        max_attempts=gen["max_attempts"],
                                        balance_weight=gen["balance_weight"], nodes=nodes,
                                        deadline=deadline)
                if labels is not None:
                    return PartPlan(_parts(labels, k), engine="tree"), None
                if time.process_time() > deadline:
                    break
        elif engine == "grow":
            grown = grow_partition(g, lo=band.lo, hi=band.hi, nodes=nodes, edges=real,
                                   deadline=min(deadline, time.process_time() + float(
                                       gen.get("grow_seconds", 5.0))))
            if grown.labels is not None:
                return PartPlan(_parts_of(nodes, grown.labels), engine="grow"), None
        elif engine == "closest":
            closest = _closest(g, nodes, ks[0], band, rng, gen, SEARCH_LIMIT, "",
                               deadline=deadline)
            if not closest.reason:
                return closest, None
        else:
            labels = forest_partition(g, ks[0], lo=band.lo, hi=band.hi, target=band.target,
                                      rng=rng, nodes=nodes, trees=int(gen.get("forest_trees", 3)),
                                      balance_weight=gen["balance_weight"], deadline=deadline,
                                      real=real, exact_units=int(exact_cfg.get("region_units", 40)),
                                      exact_seconds=float(exact_cfg.get("region_seconds", 2.0)),
                                      stats=ForestStats())
            if labels is not None:
                return PartPlan(_parts(labels, int(labels.max()) + 1), engine="forest"), None
    return None, closest


def _closest(g: UnitGraph, nodes: np.ndarray, k: int, band: Band, rng: np.random.Generator,
             gen: Mapping[str, Any], reason: str, detail: str,
             deadline: float | None = None) -> PartPlan:
    """The closest plan of ``k`` grids (band widened step by step), with the reason.

    A band proven infeasible is not tried again; lumpy units are built grid by grid first,
    big parts by the level-by-level search, the others region by region, all within
    ``generator.search_seconds`` or by ``deadline`` when that is sooner (the search's, when
    the closest plan is one of its engines); the last step, any households per grid,
    always runs: a plan of ``k`` grids, never one grid for a whole part.
    """
    total = float(g.h[nodes].sum())
    avg = total / k
    width = band.hi - band.lo
    big = k >= int(gen.get("forest_min_grids", 16))
    lumpy = _lumpy(g.h[nodes], band, gen)
    steps: tuple[float | None, ...] = (0.0, 0.1, 0.25, 0.5, 1.0, None)
    if reason == INFEASIBLE:
        steps = steps[1:]
    # the widened bands share the search's time; the last (any households) always runs
    own = time.process_time() + float(gen.get("search_seconds", 5.0))
    deadline = own if deadline is None else min(own, deadline)
    for widen in steps:
        last = widen is None
        if widen is None:
            lo, hi = 0.0, total
        else:
            lo = max(0.0, min(band.lo, avg) - widen * width)
            hi = max(band.hi, avg) + widen * width
        labels = None
        if lumpy and not last:
            grown = grow_partition(g, lo=lo, hi=hi, nodes=nodes, deadline=min(
                deadline, time.process_time() + float(gen.get("grow_seconds", 3.0))))
            if grown.labels is not None:
                labels = np.full(g.n, -1, dtype=np.int64)
                labels[nodes] = grown.labels
        if labels is None and big:
            labels = forest_partition(g, k, lo=lo, hi=hi, target=avg, rng=rng, nodes=nodes,
                                      trees=int(gen.get("forest_trees", 3)),
                                      balance_weight=gen["balance_weight"],
                                      deadline=None if last else deadline)
        elif labels is None:
            labels = tree_partition(g, k, lo=lo, hi=hi, rng=rng, trees=gen["trees_per_split"],
                                    max_attempts=gen["max_attempts"],
                                    balance_weight=gen["balance_weight"], nodes=nodes,
                                    deadline=None if last else deadline)
        if labels is not None:
            # the closest plan: move border units while the households out of band fall
            labels = repair_band(g, labels, lo=band.lo, hi=band.hi)
            parts = _parts(labels, int(labels.max()) + 1)
            if all(band.contains(g.h[p].sum()) for p in parts) and reason == SEARCH_LIMIT:
                return PartPlan(parts, engine="closest")
            return PartPlan(parts, reason, detail, engine="closest")
    return PartPlan([nodes], reason, detail)


def _lumpy(h: np.ndarray, band: Band, gen: Mapping[str, Any]) -> bool:
    """Units holding a big share of a grid each (median of those with households)."""
    filled = h[h > 0]
    return bool(len(filled)) and float(np.median(filled)) >= \
        float(gen.get("lumpy_share", 0.3)) * band.lo


def _parts_of(nodes: np.ndarray, labels: np.ndarray) -> list[np.ndarray]:
    """Unit numbers per grid from grid numbers in ``nodes`` order."""
    return [nodes[labels == i] for i in range(int(labels.max()) + 1)]


def _parts(labels: np.ndarray, k: int) -> list[np.ndarray]:
    return [np.flatnonzero(labels == i) for i in range(k)]
