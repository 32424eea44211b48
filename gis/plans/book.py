"""``project.plans``: grid plans as first-class objects, with drafts, history and publication.

Per community there is at most one published plan (its grids are the project's
``grids`` layer and ``buildings.grid_id``) and any number of drafts, each with an owner.
Every change is a recorded step (:mod:`beatgrid.gis.plans.ledger`): generate, move,
rebalance, lock, unlock, add or remove a grid, import; undo and redo go to any step.
Drafts live in the store, so a restart loses nothing; the editors kept in memory are a
cache keyed by the plan's version. Every change states the version it started from
(``expected``) and a stale one is refused with
:class:`~beatgrid.gis.errors.StaleVersionError`.

Examples
--------
>>> from beatgrid.gis import Project
>>> project = Project.sample()
>>> plan = project.plans.create("C05", name="north lanes", source="generate")
>>> plan.version, plan.step, len(plan.totals), plan.ok
(3, 2, 5, True)
>>> moved = project.plans.move(plan.id, units=[0], to_grid=plan.totals["grid_id"].iloc[1],
...                            expected=plan.version)
>>> moved.step, moved.version
(3, 4)
>>> project.plans.undo(plan.id, expected=moved.version).step
2
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from beatgrid.gis.audit import current_actor
from beatgrid.gis.errors import ConflictError, InputError, NotFoundError
from beatgrid.gis.grids.apply import apply_editor
from beatgrid.gis.grids.band import Band, band_from_settings
from beatgrid.gis.grids.editing import PlanEditor
from beatgrid.gis.grids.partition import generate_grids
from beatgrid.gis.grids.plan import previous_unit_grid
from beatgrid.gis.grids.units import AtomicUnits, build_units
from beatgrid.gis.keyed_locks import KeyedLocks
from beatgrid.gis.plans import ledger
from beatgrid.gis.plans.exchange import (PlanComparison, assignment_state, compare_plans,
                                         export_assignment)
from beatgrid.gis.plans.replay import (PlanState, editor_from_state, snapshot, state_at,
                                       units_fingerprint)
from beatgrid.gis.plans.view import PlanView
from beatgrid.gis.workspace import Workspace

__all__ = ["PlanBook", "PlanView"]

#: Plans whose editors are kept in memory per process.
EDITOR_CACHE = 32


class PlanBook:
    """The grid plans of a project (``project.plans``).

    Parameters
    ----------
    project
        The workspace (store, configuration, layers).
    """

    def __init__(self, project: Workspace) -> None:
        self.project = project
        self._units: dict[tuple[Any, str], AtomicUnits] = {}
        self._editors: dict[int, tuple[int, PlanEditor, PlanState]] = {}
        self._guard = threading.RLock()
        #: built once per key: concurrent requests for the same units or editor wait
        self._building = KeyedLocks()

    def __repr__(self) -> str:
        return f"PlanBook({self.project.location!r})"

    @property
    def records(self) -> Any:
        """The store's service tables (created when first used)."""
        records = self.project.store.records
        records.require_current(auto=records.schema is None)
        return records

    @property
    def band(self) -> Band:
        """The household band of the project's grid settings."""
        return band_from_settings(self.project.config.grids)

    # -- units and editors -----------------------------------------------------------
    def units(self, community_id: str) -> AtomicUnits:
        """The atomic units of a community (built once per stored state).

        Raises
        ------
        NotFoundError
            No such community.
        """
        key = (self.project.store.state(), str(community_id))
        with self._guard:
            cached = self._units.get(key)
        if cached is not None:
            return cached
        with self._building(("units", key[1])):  # one build; the others wait for it
            with self._guard:
                cached = self._units.get(key)
            if cached is not None:
                return cached
            self.project_community(community_id)
            layers = self.project.read(["communities", "streets", "buildings", "estates"])
            units = build_units(layers["communities"], layers["streets"], layers["buildings"],
                                estates=layers["estates"], settings=self.project.config.grids,
                                community_ids=[community_id])
            with self._guard:
                self._units = {k: v for k, v in self._units.items() if k[0] == key[0]}
                self._units[key] = units
        return units

    def project_community(self, community_id: str) -> None:
        """Refuse a community the project does not have."""
        known = set(self.project.layer("communities")["id"].astype(str))
        if str(community_id) not in known:
            raise NotFoundError(f"community {community_id!r} is not in the project",
                                fix="use an id of the communities layer")

    def _crs(self) -> Any:
        return self.project.layer("communities").crs

    def _editor(self, conn: Any, plan: Mapping[str, Any]) -> tuple[PlanEditor, PlanState]:
        plan_id, version = int(plan["id"]), int(plan["version"])
        with self._guard:
            cached = self._editors.get(plan_id)
        if cached is not None and cached[0] == version:
            return cached[1], cached[2]
        # one build per plan (then the units' lock, never the other way round)
        with self._building(("editor", plan_id)):
            with self._guard:
                cached = self._editors.get(plan_id)
            if cached is not None and cached[0] == version:
                return cached[1], cached[2]
            units = self.units(plan["community_id"])
            steps = ledger.steps_upto(conn, plan_id, int(plan["head"]))
            state = state_at(steps, units, fingerprint=units_fingerprint(units))
            editor = editor_from_state(state, units, band=self.band,
                                       settings=self.project.config.grids, crs=self._crs())
            self._remember(plan_id, version, editor, state)
        return editor, state

    def _remember(self, plan_id: int, version: int, editor: PlanEditor, state: PlanState
                  ) -> None:
        with self._guard:
            self._editors.pop(plan_id, None)
            self._editors[plan_id] = (version, editor, state)
            while len(self._editors) > EDITOR_CACHE:
                self._editors.pop(next(iter(self._editors)))

    def _forget(self, plan_id: int) -> None:
        with self._guard:
            self._editors.pop(int(plan_id), None)

    # -- reading ---------------------------------------------------------------------
    def list_plans(self, *, community_id: str | None = None, status: str | None = None
                   ) -> list[dict[str, Any]]:
        """Plans (newest first): id, community, name, owner, status, version, step."""
        with self.records.reading() as conn:
            return ledger.list_plans(conn, community_id=community_id, status=status)

    def get(self, plan_id: int) -> PlanView:
        """A plan at its head: totals per grid, violations, unassigned units."""
        with self.records.reading() as conn:
            plan = ledger.get_plan(conn, plan_id)
            editor, state = self._editor(conn, plan)
            last = max([s["seq"] for s in ledger.step_list(conn, plan_id)] or [0])
        return self._view(plan, editor, state, last)

    def _view(self, plan: Mapping[str, Any], editor: PlanEditor, state: PlanState,
              last: int) -> PlanView:
        band = editor.band
        community = str(plan["community_id"])
        ids = sorted((g for g, c in editor.grid_community.items() if str(c) == community),
                     key=str)
        hh = [int(round(editor.load.get(g, 0.0))) for g in ids]
        totals = pd.DataFrame({
            "grid_id": ids, "code": [state.codes.get(g, "") for g in ids], "households": hh,
            "units": [len(editor.members.get(g, ())) for g in ids],
            "locked": [g in editor.locked for g in ids],
            "in_band": [band.lo <= h <= band.hi for h in hh]})
        unassigned = int(sum(1 for g in editor.label.tolist() if g is None))
        return PlanView(id=int(plan["id"]), community_id=str(plan["community_id"]),
                        name=str(plan["name"]), owner=str(plan["owner"]),
                        status=str(plan["status"]), version=int(plan["version"]),
                        step=int(plan["head"]), last_step=int(last), totals=totals,
                        violations=self._violations(editor, state),
                        unassigned_units=unassigned,
                        remapped=state.remapped)

    @staticmethod
    def _violations(editor: PlanEditor, state: PlanState,
                    touched: Sequence[Any] | None = (), *, everything: bool = False
                    ) -> pd.DataFrame:
        """The broken rules of the plan: re-checks the ``touched`` grids, or every grid
        with ``everything`` (or when never checked)."""
        if state.violations is None or everything or touched is None:
            state.violations = editor.check()
        elif touched:
            kept = state.violations[~state.violations["grid_id"].isin(list(touched))]
            fresh = editor.check([g for g in touched if g in editor.grid_community])
            state.violations = fresh if kept.empty else kept if fresh.empty else \
                pd.concat([kept, fresh], ignore_index=True)
        return state.violations

    def steps(self, plan_id: int) -> list[dict[str, Any]]:
        """The recorded steps of a plan: seq, kind, author, time, summary."""
        with self.records.reading() as conn:
            ledger.get_plan(conn, plan_id)
            return ledger.step_list(conn, plan_id)

    def editor(self, plan_id: int) -> PlanEditor:
        """The plan's editor at its head (read-only use: change it through the steps)."""
        with self.records.reading() as conn:
            return self._editor(conn, ledger.get_plan(conn, plan_id))[0]

    def grids(self, plan_id: int) -> gpd.GeoDataFrame:
        """The plan's grids as polygons (unions of their units; storage CRS)."""
        return self.editor(plan_id).grids()

    def units_frame(self, plan_id: int) -> gpd.GeoDataFrame:
        """The community's units (storage CRS) with ``unit``, ``grid_id`` and households."""
        editor = self.editor(plan_id)
        u = editor.units.units
        frame = gpd.GeoDataFrame({"unit": np.arange(len(u)), "grid_id": editor.label,
                                  "households": u["households"].to_numpy(int),
                                  "buildings": u["buildings"].to_numpy(int),
                                  "kind": u["kind"].to_numpy()},
                                 geometry=u.geometry.values, crs=u.crs)
        return frame.to_crs(self._crs())

    # -- changing --------------------------------------------------------------------
    def _change(self, plan_id: int, expected: int | None, kind: str,
                act: Any) -> PlanView:
        """Check the version, apply ``act(editor, state) -> (payload, summary)``, record."""
        author = current_actor().name
        with self.records.writing() as conn:
            plan = ledger.get_plan(conn, plan_id)
            ledger.check_version(plan, expected)
            if plan["status"] != ledger.DRAFT:
                raise ConflictError(f"plan {plan_id} is {plan['status']}, not a draft",
                                    fix="make a draft from it (POST /plans with source "
                                        "'published') and edit that")
            editor, state = self._editor(conn, plan)
            try:
                payload, summary = act(editor, state)
                touched = summary.get("touched", [summary["grid"]] if "grid" in summary
                                      else None) if kind != "remove_grid" else None
                self._violations(editor, state, touched)
                version = ledger.append_step(conn, int(plan["id"]), expected=int(plan["version"]),
                                             kind=kind, author=author, payload=payload,
                                             summary=summary, plan=plan)
            except BaseException:
                self._forget(int(plan["id"]))  # the editor may hold half a change
                raise
            self._remember(int(plan["id"]), version, editor, state)
            # the row as written (read under the lock, then one step appended at the head)
            plan = {**plan, "version": version, "head": int(plan["head"]) + 1}
            last = int(plan["head"])
        return self._view(plan, editor, state, last)

    def create(self, community_id: str, *, name: str | None = None, source: str = "published",
               seed: int | None = None) -> PlanView:
        """A new draft for a community, from the published grids, empty, or generated.

        Parameters
        ----------
        community_id
            The community planned.
        name
            The draft's name (default "draft of <community>").
        source
            ``published`` (the project's grids layer), ``empty`` (no grid), or
            ``generate`` (a new plan by the generator).
        seed
            Seed of the generator (``source="generate"``).
        """
        if source not in ("published", "empty", "generate"):
            raise InputError(f"source {source!r} is not known",
                             fix="use published, empty or generate")
        units = self.units(community_id)
        fp = units_fingerprint(units)
        if source == "published":
            editor, codes = self._published_editor(community_id, units)
        else:
            editor = editor_from_state(PlanState(labels=[None] * len(units.units), grids={}),
                                       units, band=self.band,
                                       settings=self.project.config.grids, crs=self._crs())
            codes = {}
        author = current_actor().name
        with self.records.writing() as conn:
            plan_id = ledger.insert_plan(conn, community_id=str(community_id),
                                         name=name or f"draft of {community_id}", owner=author)
            ledger.append_step(conn, plan_id, expected=1, kind="create", author=author,
                               payload=snapshot(editor, codes=codes, fingerprint=fp),
                               summary={"source": source})
        if source == "generate":
            return self.generate(plan_id, seed=seed)
        return self.get(plan_id)

    def _published_editor(self, community_id: str, units: AtomicUnits
                          ) -> tuple[PlanEditor, dict[Any, str]]:
        grids = self.project.layer("grids")
        mine = grids[grids["community_id"].astype(str) == str(community_id)]
        labels = previous_unit_grid(units, self.project.layer("buildings"), mine)
        state = PlanState(labels=[None if g is None else str(g) for g in labels],
                          grids={str(g): str(community_id) for g in mine["id"]},
                          locked=set(mine.loc[mine["locked"].astype(bool), "id"].astype(str)),
                          codes=dict(zip(mine["id"].astype(str), mine["code"].astype(str))))
        editor = editor_from_state(state, units, band=self.band,
                                   settings=self.project.config.grids, crs=self._crs())
        return editor, state.codes

    def generate(self, plan_id: int, *, expected: int | None = None, seed: int | None = None,
                 min_households: int | None = None, max_households: int | None = None
                 ) -> PlanView:
        """Replace the draft's grids by a new plan of the generator (locks must be off)."""
        band = band_from_settings(self.project.config.grids, min_households=min_households,
                                  max_households=max_households)
        with self.records.reading() as conn:
            plan = ledger.get_plan(conn, plan_id)
        cid = str(plan["community_id"])
        units = self.units(cid)
        layers = self.project.read(["communities", "streets", "buildings", "estates"])
        made = generate_grids(layers["communities"], layers["streets"], layers["buildings"],
                              estates=layers["estates"], units=units, community_ids=[cid],
                              min_households=band.lo, max_households=band.hi,
                              target_households=band.target, seed=seed,
                              settings=self.project.config.grids)
        fp = units_fingerprint(units)

        def act(editor: PlanEditor, state: PlanState) -> tuple[dict[str, Any], dict[str, Any]]:
            if editor.locked:
                raise ConflictError(
                    f"plan {plan_id} has locked grids ({', '.join(sorted(editor.locked))})",
                    fix="unlock them, or use rebalance, which keeps locked grids")
            fresh = editor_from_state(
                PlanState(labels=[None if g is None else str(g) for g in made.unit_grid],
                          grids={str(g): cid for g in made.grids["id"]},
                          codes=dict(zip(made.grids["id"].astype(str),
                                         made.grids["code"].astype(str)))),
                units, band=band, settings=self.project.config.grids, crs=self._crs())
            self._adopt(editor, fresh)
            state.codes = dict(zip(made.grids["id"].astype(str), made.grids["code"].astype(str)))
            return (snapshot(editor, codes=state.codes, fingerprint=fp),
                    {"grids": int(len(made.grids)), "seed": seed, "band": [band.lo, band.hi],
                     "issues": made.issues["reason"].astype(str).tolist()})

        return self._change(plan_id, expected, "generate", act)

    @staticmethod
    def _adopt(editor: PlanEditor, other: PlanEditor) -> None:
        """Give ``editor`` the state of ``other`` (same units)."""
        editor.label = other.label
        editor.members = other.members
        editor.load = other.load
        editor.grid_community = other.grid_community
        editor.locked = other.locked

    def move(self, plan_id: int, *, to_grid: str, units: Sequence[int] | None = None,
             buildings: Sequence[Any] | None = None, expected: int | None = None) -> PlanView:
        """Move units (or the units holding ``buildings``) into ``to_grid``: one step."""
        if (units is None) == (buildings is None):
            raise InputError("give either units or buildings to move",
                             fix="send a list of unit numbers or of building ids")

        def act(editor: PlanEditor, state: PlanState) -> tuple[dict[str, Any], dict[str, Any]]:
            if buildings is not None:
                result = editor.move_buildings(list(buildings), to_grid=to_grid)
            else:
                result = editor.move_units(list(units or []), to_grid=to_grid)
            for i in result.moved_units:
                state.labels[i] = to_grid
            return ({"units": [int(i) for i in result.moved_units], "to": to_grid},
                    {"to": to_grid, "units": len(result.moved_units),
                     "households": result.households_moved, "touched": result.touched})

        return self._change(plan_id, expected, "move", act)

    def rebalance(self, plan_id: int, *, expected: int | None = None, seed: int | None = None
                  ) -> PlanView:
        """Repair the draft moving few households (valid and locked grids kept)."""
        def act(editor: PlanEditor, state: PlanState) -> tuple[dict[str, Any], dict[str, Any]]:
            result = editor.rebalance(seed=seed)
            units = editor.units
            return (snapshot(editor, codes=state.codes, fingerprint=units_fingerprint(units)),
                    {"units": len(result.moved_units), "households": result.households_moved})

        return self._change(plan_id, expected, "rebalance", act)

    def lock(self, plan_id: int, grid_id: str, *, locked: bool = True,
             expected: int | None = None) -> PlanView:
        """Lock (or unlock) a grid of the draft: a locked grid never changes."""
        def act(editor: PlanEditor, state: PlanState) -> tuple[dict[str, Any], dict[str, Any]]:
            if grid_id not in editor.grid_community:
                raise NotFoundError(f"grid {grid_id!r} is not in plan {plan_id}",
                                    fix="use a grid id of the plan's totals")
            (editor.locked.add if locked else editor.locked.discard)(grid_id)
            (state.locked.add if locked else state.locked.discard)(grid_id)
            return {"grid": grid_id}, {"grid": grid_id}

        return self._change(plan_id, expected, "lock" if locked else "unlock", act)

    def add_grid(self, plan_id: int, *, grid_id: str | None = None,
                 expected: int | None = None) -> PlanView:
        """Add an empty grid to the draft (paint units into it next)."""
        def act(editor: PlanEditor, state: PlanState) -> tuple[dict[str, Any], dict[str, Any]]:
            cid = next(iter(set(map(str, editor.community))), None)
            new = grid_id or next(f"{cid}-G{n:02d}" for n in range(1, 10_000)
                                  if f"{cid}-G{n:02d}" not in editor.grid_community)
            if new in editor.grid_community:
                raise ConflictError(f"grid {new!r} already exists", fix="choose another id")
            editor.grid_community[new] = cid
            state.grids[new] = cid
            return {"grid": new, "community_id": cid}, {"grid": new}

        return self._change(plan_id, expected, "add_grid", act)

    def remove_grid(self, plan_id: int, grid_id: str, *, expected: int | None = None
                    ) -> PlanView:
        """Remove a grid; its units become unassigned (paint them into other grids)."""
        def act(editor: PlanEditor, state: PlanState) -> tuple[dict[str, Any], dict[str, Any]]:
            if grid_id not in editor.grid_community:
                raise NotFoundError(f"grid {grid_id!r} is not in plan {plan_id}",
                                    fix="use a grid id of the plan's totals")
            if grid_id in editor.locked:
                raise ConflictError(f"grid {grid_id!r} is locked", fix="unlock it first")
            freed = sorted(editor.members.pop(grid_id, set()))
            editor.load.pop(grid_id, None)
            editor.grid_community.pop(grid_id, None)
            editor.label[freed] = None
            return (snapshot(editor, codes=state.codes,
                             fingerprint=units_fingerprint(editor.units)),
                    {"grid": grid_id, "units_freed": len(freed)})

        return self._change(plan_id, expected, "remove_grid", act)

    def undo(self, plan_id: int, *, to_step: int | None = None, expected: int | None = None
             ) -> PlanView:
        """Go back to an earlier step (default the one before); redo stays possible."""
        return self._move_head(plan_id, to_step, expected, back=True)

    def redo(self, plan_id: int, *, to_step: int | None = None, expected: int | None = None
             ) -> PlanView:
        """Go forward again to a step undone (default the next)."""
        return self._move_head(plan_id, to_step, expected, back=False)

    def _move_head(self, plan_id: int, to_step: int | None, expected: int | None, *,
                   back: bool) -> PlanView:
        with self.records.writing() as conn:
            plan = ledger.get_plan(conn, plan_id)
            ledger.check_version(plan, expected)
            target = to_step if to_step is not None else int(plan["head"]) + (-1 if back else 1)
            ledger.move_head(conn, plan_id, expected=int(plan["version"]), to_step=int(target))
        self._forget(plan_id)
        return self.get(plan_id)

    # -- exchanging ------------------------------------------------------------------
    def compare(self, plan_a: int, plan_b: int) -> PlanComparison:
        """Grids changed, households and buildings moved from plan ``a`` to plan ``b``
        (:func:`~beatgrid.gis.plans.exchange.compare_plans`).

        Raises
        ------
        InputError
            The plans are of different communities.
        """
        a, b = self.get(plan_a), self.get(plan_b)
        if a.community_id != b.community_id:
            raise InputError(f"plans {plan_a} and {plan_b} are of communities "
                             f"{a.community_id} and {b.community_id}",
                             fix="compare two plans of one community")
        return compare_plans(a, b, self.editor(plan_a), self.editor(plan_b), crs=self._crs())

    def export_csv(self, plan_id: int) -> str:
        """The plan as an assignment CSV (``building_id,grid_id`` per building)."""
        return export_assignment(self.editor(plan_id))

    def import_csv(self, community_id: str, text: str, *, name: str | None = None) -> PlanView:
        """A new draft of a community from an assignment CSV.

        Raises
        ------
        InputError
            Unreadable CSV, or buildings that are not in the community (the first named).
        """
        units = self.units(community_id)
        state, rows = assignment_state(units, text, community_id=str(community_id))
        editor = editor_from_state(state, units, band=self.band,
                                   settings=self.project.config.grids, crs=self._crs())
        author = current_actor().name
        with self.records.writing() as conn:
            plan_id = ledger.insert_plan(conn, community_id=str(community_id),
                                         name=name or f"import for {community_id}", owner=author)
            ledger.append_step(conn, plan_id, expected=1, kind="import", author=author,
                               payload=snapshot(editor, codes={},
                                                fingerprint=units_fingerprint(units)),
                               summary={"buildings": rows, "grids": len(state.grids)})
        return self.get(plan_id)

    # -- publishing ------------------------------------------------------------------
    def publish(self, plan_id: int, *, expected: int | None = None) -> PlanView:
        """Write the draft's grids and ``buildings.grid_id`` and make it the published plan.

        The previous published plan of the community is archived. Refused while a grid
        breaks a rule or a unit is in no grid.
        """
        with self.records.locked():
            view = self.get(plan_id)
            with self.records.reading() as conn:
                ledger.check_version(ledger.get_plan(conn, plan_id), expected)
            if view.status != ledger.DRAFT:
                raise ConflictError(f"plan {plan_id} is {view.status}",
                                    fix="publish a draft")
            if not view.ok:
                first = view.violations["message"].iloc[0] if len(view.violations) else \
                    f"{view.unassigned_units} units in no grid"
                raise ConflictError(f"plan {plan_id} cannot be published: {first}",
                                    fix="fix the grids (rebalance, or paint the units) first")
            editor = self.editor(plan_id)
            self.project.update(["grids", "buildings", "communities"], lambda fresh: _applied(
                apply_editor(fresh, editor)))
            with self.records.writing() as conn:
                ledger.set_status(conn, plan_id, expected=view.version, status=ledger.PUBLISHED,
                                  by=current_actor().name)
        self._forget(plan_id)
        return self.get(plan_id)


def _applied(applied: Any) -> dict[str, pd.DataFrame]:
    return {"grids": applied.grids, "buildings": applied.buildings}

