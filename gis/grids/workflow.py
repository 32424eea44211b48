"""``project.grids``: the one orchestration of basic grids (generate, check, edit, save).

:class:`GridPlanning` reads the project's layers, computes with the project's grid
settings and writes through the project; the command line (``beatgrid grids``), the
HTTP service (``/grids``) and the notebooks all call it. Its methods take keyword-only
options and return small frozen results (frames, summary figures:
:mod:`beatgrid.gis.grids.results`):

==================================  ===============================================
``band(min_households=...)``        the household band (settings and overrides)
``generate(communities=...)``       plan grids (``save=True`` writes them):
                                    :class:`GeneratedPlan`
``rebalance(communities=...)``      re-plan keeping valid grids (``generate --stable``)
``check(communities=...)``          every violation of the stored plan: :class:`PlanCheck`
``metrics(communities=...)``        per-grid metrics and the summary: :class:`PlanMetrics`
``editor(community_id)``            a :class:`~beatgrid.gis.grids.editing.PlanEditor` on
                                    the stored plan of a community
``save(editor)``                    write an editor's grids: :class:`SavedEdit`
``move_buildings(ids, to_grid=)``   move buildings into a grid and write it: :class:`Moved`
==================================  ===============================================

Examples
--------
>>> from beatgrid.gis import Project
>>> project = Project.sample()                       # a writable copy of the sample
>>> plan = project.grids.generate(communities=["C05"], save=True)
>>> plan.summary["grids"], plan.summary["share_in_range"], plan.ok
(5, 1.0, True)
>>> project.grids.check(communities=["C05"]).violations.empty
True
>>> project.grids.metrics().summary["grids"]
5
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from beatgrid.gis.errors import InputError, NotFoundError
from beatgrid.gis.grids.apply import AppliedEdit, apply_editor, apply_plan
from beatgrid.gis.grids.band import Band, band_from_settings
from beatgrid.gis.grids.checks import check_grids
from beatgrid.gis.grids.editing import PlanEditor, plan_from_layers
from beatgrid.gis.grids.metrics import grid_metrics, households_moved, plan_summary
from beatgrid.gis.grids.partition import generate_grids
from beatgrid.gis.grids.results import GeneratedPlan, Moved, PlanCheck, PlanMetrics, SavedEdit
from beatgrid.gis.progress import Progress, report, steps
from beatgrid.gis.workspace import Workspace

__all__ = ["GRID_LAYERS", "GridPlanning", "GeneratedPlan", "PlanCheck", "PlanMetrics",
           "SavedEdit", "Moved"]

#: Layers the grid workflow reads.
GRID_LAYERS = ["communities", "streets", "buildings", "estates", "grids"]


class GridPlanning:
    """``project.grids``: basic grids of a project (generate, check, metrics, edit, save).

    Parameters
    ----------
    project
        The project's workspace (its layers, settings and store).

    Examples
    --------
    >>> from beatgrid.gis import Project
    >>> grids = Project.open("sample-geodata/ningbo-jiangbei.gpkg").grids
    >>> grids.band(min_households=320)
    Band(lo=320, hi=500, target=400.0)
    >>> grids.community_ids()[:3]
    ['C01', 'C02', 'C03']
    """

    def __init__(self, project: Workspace) -> None:
        self.project = project

    def __repr__(self) -> str:
        return f"GridPlanning({self.project.location!r})"

    # -- inputs ----------------------------------------------------------------------
    def band(self, *, min_households: int | None = None, max_households: int | None = None,
             target_households: float | None = None) -> Band:
        """The household band of the project's settings, with overrides (checked)."""
        return band_from_settings(self.project.config.grids, min_households=min_households,
                                  max_households=max_households,
                                  target_households=target_households)

    def layers(self, *, progress: Progress | None = None,
               share: float = 0.1) -> dict[str, pd.DataFrame]:
        """The layers grids are planned from (:data:`GRID_LAYERS`).

        ``progress`` is told of each layer read, up to ``share`` of the work.
        """
        return {name: self.project.layer(name)
                for name in steps(progress, GRID_LAYERS, end=share, message="reading {item}")}

    def community_ids(self) -> list[str]:
        """Ids of the project's communities."""
        return [str(c) for c in self.project.layer("communities")["id"]]

    def require_communities(self) -> None:
        """Raise :class:`~beatgrid.gis.errors.InputError` when the project has no communities.

        Examples
        --------
        >>> from beatgrid.gis import Project
        >>> Project.open("sample-geodata/ningbo-jiangbei.gpkg").grids.require_communities()
        """
        if len(self.project.layer("communities")) == 0:
            raise InputError(f"project {self.project.location!r} has no communities",
                             fix="import community boundaries (beatgrid import communities FILE)")

    def known_communities(self, communities: Iterable[Any] | None) -> list[Any] | None:
        """``communities`` checked against the project (None or empty: all).

        Raises
        ------
        NotFoundError
            A community is not in the project.

        Examples
        --------
        >>> from beatgrid.gis import Project
        >>> Project.open("sample-geodata/ningbo-jiangbei.gpkg").grids.known_communities(["C99"])
        Traceback (most recent call last):
        ...
        beatgrid.gis.errors.NotFoundError: community C99 is not in the project Fix: use ids of the communities layer (beatgrid export communities)
        """
        wanted = list(communities or [])
        if not wanted:
            return None
        known = set(self.community_ids())
        unknown = [str(c) for c in wanted if c not in known]
        if unknown:
            raise NotFoundError(f"community {', '.join(unknown)} is not in the project",
                                fix="use ids of the communities layer (beatgrid export "
                                    "communities)")
        return wanted

    # -- planning --------------------------------------------------------------------
    def generate(self, *, communities: Iterable[Any] | None = None,
                 min_households: int | None = None, max_households: int | None = None,
                 target_households: float | None = None, seed: int | None = None,
                 stable: bool = False, respect_locked: bool = True, workers: int | None = None,
                 save: bool = False, progress: Progress | None = None) -> GeneratedPlan:
        """Plan grids for communities, check and measure them; write them with ``save``.

        Parameters
        ----------
        communities
            Plan only these communities (default all); the grids of the others are kept.
        min_households, max_households, target_households
            Band overrides (default: the project's grid settings).
        seed
            Random seed (default ``generator.seed``); the plan is deterministic.
        stable
            Keep the stored plan where it is valid (fewest households moved).
        respect_locked
            Keep locked grids as they are.
        workers
            Processes planning communities in parallel (default ``generator.workers``).
        save
            Write the grids layer and ``buildings.grid_id`` (one transaction).
        progress
            Told of each stage (layers read, planning, measuring, checking, saving:
            :mod:`beatgrid.gis.progress`); raising
            :class:`~beatgrid.gis.progress.Cancelled` from it stops the run before
            anything is written.

        Returns
        -------
        GeneratedPlan

        Examples
        --------
        >>> from beatgrid.gis import Project
        >>> plan = Project.open("sample-geodata/ningbo-jiangbei.gpkg").grids.generate(
        ...     communities=["C05"], seed=3)
        >>> sorted(plan.grids["id"])
        ['C05-G01', 'C05-G02', 'C05-G03', 'C05-G04', 'C05-G05']
        >>> plan.saved, plan.households_moved, plan.ok
        (False, None, True)
        """
        settings = self.project.config.grids
        band = self.band(min_households=min_households, max_households=max_households,
                         target_households=target_households)
        layers = self.layers(progress=progress)
        self.require_communities()
        ids = self.known_communities(communities)
        planned_ids = ids if ids is not None else layers["communities"]["id"]
        report(progress, 0.1, f"planning grids for {len(planned_ids):,} "
                               f"communit{'y' if len(planned_ids) == 1 else 'ies'}")
        t0 = time.perf_counter()
        stored = layers["grids"]
        plan = generate_grids(layers["communities"], layers["streets"], layers["buildings"],
                              estates=layers["estates"], previous=stored if len(stored) else None,
                              stable=stable, respect_locked=respect_locked, community_ids=ids,
                              min_households=band.lo, max_households=band.hi,
                              target_households=band.target, seed=seed, settings=settings,
                              workers=workers)
        seconds = time.perf_counter() - t0
        report(progress, 0.7, "applying the plan")
        applied = apply_plan(layers, plan, community_ids=ids)
        bld = applied.buildings
        old_gid = layers["buildings"]["grid_id"] if "grid_id" in layers["buildings"] else None
        moved = None
        if old_gid is not None and old_gid.notna().any():
            moved = households_moved(bld["grid_id"], old_gid, bld["households"])
        planned = set(plan.grids["community_id"])
        mine = applied.grids[applied.grids["community_id"].isin(planned)]
        comm = layers["communities"]
        report(progress, 0.75, f"measuring {len(mine):,} grids")
        metrics = grid_metrics(mine, communities=comm, streets=layers["streets"], buildings=bld,
                               band=band, settings=settings)
        report(progress, 0.85, f"checking {len(mine):,} grids")
        violations = check_grids(mine, communities=comm[comm["id"].isin(planned)],
                                 buildings=bld[bld["grid_id"].isin(set(mine["id"]))], band=band,
                                 settings=settings)
        if save:  # merged into the layers as they are now, under the project's lock
            report(progress, 0.95, "writing grids and buildings.grid_id")
            def merged_plan(fresh: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
                now = apply_plan(fresh, plan, community_ids=ids)
                return {"grids": now.grids, "buildings": now.buildings}

            self.project.update(["grids", "buildings", "communities"], merged_plan)
        return GeneratedPlan(plan=plan, band=band, grids=mine, metrics=metrics,
                             summary=plan_summary(metrics, band=band, moved=moved),
                             violations=violations, households_moved=moved, layers=applied,
                             saved=save, seconds=seconds)

    def rebalance(self, *, communities: Iterable[Any] | None = None,
                  min_households: int | None = None, max_households: int | None = None,
                  seed: int | None = None, save: bool = True,
                  progress: Progress | None = None) -> GeneratedPlan:
        """Repair the stored plan moving few households: valid grids are kept, the rest
        re-planned (:meth:`generate` with ``stable``; locked grids kept).

        Examples
        --------
        >>> from beatgrid.gis import Project
        >>> Project.open("sample-geodata/ningbo-jiangbei.gpkg").grids.rebalance(
        ...     communities=["C05"], save=False).summary["grids"]
        5
        """
        return self.generate(communities=communities, min_households=min_households,
                             max_households=max_households, seed=seed, stable=True,
                             respect_locked=True, save=save, progress=progress)

    # -- the stored plan -------------------------------------------------------------
    def check(self, *, communities: Iterable[Any] | None = None,
              min_households: int | None = None, max_households: int | None = None,
              measure: bool = True) -> PlanCheck:
        """Every violation of the grid rules in the stored plan.

        Parameters
        ----------
        communities
            Only these communities (their grids, and the buildings in them or in their
            grids).
        min_households, max_households
            Band overrides.
        measure
            Also compute the metrics and summary of the grids checked.

        Examples
        --------
        >>> from beatgrid.gis import Project
        >>> check = Project.open("sample-geodata/ningbo-jiangbei.gpkg").grids.check(
        ...     communities=["C01"])
        >>> check.violations["kind"].tolist(), check.ok        # C01 has no grid yet
        (['gap'], False)
        """
        settings = self.project.config.grids
        band = self.band(min_households=min_households, max_households=max_households)
        layers = self.layers()
        ids = self.known_communities(communities)
        grids, comm, bld = layers["grids"], layers["communities"], layers["buildings"]
        if ids:
            grids = grids[grids["community_id"].isin(ids)]
            comm = comm[comm["id"].isin(ids)]
            bld = bld[bld["community_id"].isin(ids) | bld["grid_id"].isin(set(grids["id"]))]
        t0 = time.perf_counter()
        violations = check_grids(grids, communities=comm, buildings=bld, band=band,
                                 settings=settings)
        seconds = time.perf_counter() - t0
        metrics = summary = None
        if measure and len(grids):
            metrics = grid_metrics(grids, communities=layers["communities"],
                                   streets=layers["streets"], buildings=bld, band=band,
                                   settings=settings)
            summary = plan_summary(metrics, band=band)
        return PlanCheck(band=band, grids=grids, communities=len(comm), violations=violations,
                         metrics=metrics, summary=summary, seconds=seconds)

    def metrics(self, *, communities: Iterable[Any] | None = None,
                min_households: int | None = None,
                max_households: int | None = None) -> PlanMetrics:
        """Per-grid metrics and the summary of the stored grids.

        Examples
        --------
        >>> from beatgrid.gis import Project
        >>> m = Project.open("sample-geodata/ningbo-jiangbei.gpkg").grids.metrics()
        >>> m.summary["grids"], len(m.metrics)                  # no grids planned yet
        (0, 0)
        """
        settings = self.project.config.grids
        band = self.band(min_households=min_households, max_households=max_households)
        layers = self.layers()
        ids = self.known_communities(communities)
        grids = layers["grids"]
        if ids:
            grids = grids[grids["community_id"].isin(ids)]
        metrics = grid_metrics(grids, communities=layers["communities"],
                               streets=layers["streets"], buildings=layers["buildings"],
                               band=band, settings=settings)
        return PlanMetrics(band=band, grids=grids, metrics=metrics,
                           summary=plan_summary(metrics, band=band))

    # -- editing ---------------------------------------------------------------------
    def editor(self, community_id: Any) -> PlanEditor:
        """A :class:`~beatgrid.gis.grids.editing.PlanEditor` on the stored plan of a
        community (its units rebuilt; each takes the grid holding most of its households).

        Examples
        --------
        >>> from beatgrid.gis import Project
        >>> editor = Project.open("sample-geodata/ningbo-jiangbei.gpkg").grids.editor("C05")
        >>> len(editor.members)                                  # no grids stored yet
        0
        """
        self.known_communities([community_id])
        layers = self.layers()
        grids = layers["grids"]
        plan = plan_from_layers(layers["communities"], layers["streets"], layers["buildings"],
                                grids[grids["community_id"] == community_id],
                                estates=layers["estates"], settings=self.project.config.grids,
                                community_ids=[community_id])
        return PlanEditor(plan)

    def save(self, editor: PlanEditor, *, grid_ids: Sequence[Any] | None = None,
             check: bool = True) -> SavedEdit:
        """Write an editor's grids and ``buildings.grid_id`` (one transaction).

        Parameters
        ----------
        editor
            An editor on the stored plan (:meth:`editor`).
        grid_ids
            Write only these grids (default every grid of the editor).
        check
            Check the saved grids (the full geometric check of their communities).

        Examples
        --------
        >>> from beatgrid.gis import Project
        >>> project = Project.sample()
        >>> editor = PlanEditor(project.grids.generate(communities=["C05"]).plan)
        >>> saved = project.grids.save(editor)
        >>> sorted(project.layer("grids")["id"]) == sorted(editor.members), saved.ok
        (True, True)
        """
        found: list[AppliedEdit] = []

        def merged(fresh: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
            found.append(apply_editor(fresh, editor, grid_ids=grid_ids))
            return {"grids": found[0].grids, "buildings": found[0].buildings}

        self.project.update(["grids", "buildings", "communities"], merged)
        applied = found[0]
        violations = None
        if check:
            saved, bld, comm = applied.saved, applied.buildings, self.project.layer("communities")
            edited = set(pd.unique(editor.community))
            violations = check_grids(saved, communities=comm[comm["id"].isin(edited)],
                                     buildings=bld[bld["grid_id"].isin(set(saved["id"]))],
                                     band=editor.band, settings=editor.settings)
        return SavedEdit(applied=applied, violations=violations)

    def move_buildings(self, building_ids: Sequence[Any], *, to_grid: Any,
                       save: bool = True) -> Moved:
        """Move buildings (with their unit) into a stored grid; write the touched grids.

        Raises
        ------
        NotFoundError
            The grid or a building is not in the project.

        Examples
        --------
        >>> from beatgrid.gis import Project
        >>> project = Project.sample()
        >>> _ = project.grids.generate(communities=["C05"], save=True)
        >>> bld = project.layer("buildings")
        >>> building = bld.loc[bld["grid_id"] == "C05-G01", "id"].iloc[0]
        >>> moved = project.grids.move_buildings([building], to_grid="C05-G02")
        >>> moved.edit.touched, project.layer("buildings").set_index("id").loc[building, "grid_id"]
        (['C05-G01', 'C05-G02'], 'C05-G02')
        """
        layers = self.layers()
        grids = layers["grids"]
        if to_grid not in set(grids["id"]):
            raise NotFoundError(f"grid {to_grid!r} is not in the project",
                                fix="use an id of the grids layer (beatgrid grids metrics)")
        cid = grids.loc[grids["id"] == to_grid, "community_id"].iloc[0]
        known = set(layers["buildings"]["id"])
        unknown = [str(b) for b in building_ids if b not in known]
        if unknown:
            raise NotFoundError(f"building(s) {', '.join(unknown)} not in the project",
                                fix="use ids of the buildings layer")
        if not save:
            editor = self.editor(cid)
            edit = editor.move_buildings(list(building_ids), to_grid=to_grid)
            return Moved(community_id=cid, to_grid=to_grid, edit=edit, saved=None)
        with self.project.store.locked():  # the stored plan edited is the one overwritten
            editor = self.editor(cid)
            edit = editor.move_buildings(list(building_ids), to_grid=to_grid)
            saved = self.save(editor, grid_ids=edit.touched, check=False)
        return Moved(community_id=cid, to_grid=to_grid, edit=edit, saved=saved)
