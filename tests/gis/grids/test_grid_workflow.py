"""``project.grids`` (GridPlanning) on the sample: generate, check, metrics, edit, save.

Small communities only (C05, C09: a few dozen buildings each) keep the module fast. The
figures asserted are relations (totals preserved, nothing stale, what is written is what
is read back), not numbers of the sample.
"""

from __future__ import annotations

import pytest

from beatgrid.gis import Project
from beatgrid.gis.errors import InputError, NotFoundError
from beatgrid.gis.grids.editing import PlanEditor
from beatgrid.gis.grids.results import GeneratedPlan
from beatgrid.gis.grids.workflow import GridPlanning

SMALL = ["C05", "C09"]


@pytest.fixture(scope="module")
def project() -> Project:
    """A writable sample with C05 and C09 planned and saved."""
    p = Project.sample()
    p.grids.generate(communities=SMALL, save=True)
    return p


def _households(project: Project, community_id: str) -> int:
    b = project.layer("buildings")
    return int(b.loc[b["community_id"] == community_id, "households"].sum())


def test_project_has_grid_planning(project):
    assert isinstance(project.grids, GridPlanning)
    assert project.grids.band().lo == project.config.grids["band"]["min_households"]


def test_generate_is_a_proposal_unless_saved():
    p = Project.sample()
    before = p.store.state()
    result = p.grids.generate(communities=["C05"], seed=3)
    assert isinstance(result, GeneratedPlan)
    assert not result.saved and p.store.state() == before and len(p.layer("grids")) == 0
    assert result.ok and result.violations.empty and result.plan.issues.empty
    assert set(result.grids["community_id"]) == {"C05"}
    assert int(result.grids["households"].sum()) == _households(p, "C05")
    assert result.grids["households"].between(300, 500).all()
    assert result.summary["grids"] == len(result.grids) == len(result.metrics)
    assert result.households_moved is None                 # nothing was stored before
    again = p.grids.generate(communities=["C05"], seed=3)
    assert again.grids["households"].tolist() == result.grids["households"].tolist()


def test_saved_plan_reads_back_and_checks_clean(project):
    grids = project.layer("grids")
    bld = project.layer("buildings")
    assert set(grids["community_id"]) == set(SMALL)
    mine = bld[bld["community_id"].isin(SMALL)]
    assert mine["grid_id"].notna().all() and bld.loc[~bld.index.isin(mine.index),
                                                      "grid_id"].isna().all()
    counted = mine.groupby("grid_id")["households"].sum()
    assert grids.set_index("id")["households"].to_dict() == counted.to_dict()
    check = project.grids.check(communities=SMALL)
    assert check.ok and check.violations.empty and check.summary["share_in_range"] == 1.0
    m = project.grids.metrics()
    assert m.summary["grids"] == len(grids)
    assert [c["community_id"] for c in m.by_community()] == SMALL


def test_rebalance_keeps_a_valid_plan(project):
    result = project.grids.rebalance(communities=["C05"], seed=42, save=False)
    stored = project.layer("grids")
    mine = stored[stored["community_id"] == "C05"].set_index("id")["households"]
    assert result.grids.set_index("id")["households"].to_dict() == mine.to_dict()
    bld = project.layer("buildings").set_index("id")["grid_id"]
    after = result.layers.buildings.set_index("id")["grid_id"]
    assert after.equals(bld)                        # not one building changed grid


def test_move_buildings_keeps_the_other_communities():
    p = Project.sample()
    p.grids.generate(communities=SMALL, save=True)
    before = p.layer("buildings").set_index("id")["grid_id"]
    grids = p.layer("grids")
    home, other = sorted(grids.loc[grids["community_id"] == "C05", "id"])[:2]
    building = before[before == home].index[0]
    moved = p.grids.move_buildings([building], to_grid=other)
    assert moved.community_id == "C05" and moved.saved is not None
    after = p.layer("buildings").set_index("id")["grid_id"]
    assert after[building] == other
    c09 = before.index[before.str.startswith("C09", na=False)]
    assert (after[c09] == before[c09]).all()                # C09 untouched
    stored = p.layer("grids").set_index("id")
    assert (stored.loc[moved.edit.touched, "reason"] == "").all()
    assert stored.loc[moved.edit.touched, "code"].str.len().eq(14).all()


def test_editor_save_gives_new_grids_ids_and_codes_and_leaves_nothing_stale():
    p = Project.sample()
    p.grids.generate(communities=["C05"], save=True)
    editor = p.grids.editor("C05")
    first, second = sorted(editor.members)[:2]
    editor.move_units(sorted(editor.members[first]), to_grid=second)   # empty a grid
    editor.rebalance(seed=1)
    saved = p.grids.save(editor)
    applied = saved.applied
    stored = p.layer("grids")
    bld = p.layer("buildings")
    assert set(stored["id"]) == set(applied.saved["id"])
    assert set(applied.renamed.values()) <= set(stored["id"])
    assert all(code for code in stored["code"])
    mine = bld[bld["community_id"] == "C05"]
    assert set(mine["grid_id"]) == set(stored["id"])                   # no stale ids
    assert saved.ok == saved.violations.query("severity == 'error'").empty
    # the plan as written goes on in a new editor, ids final
    again = PlanEditor(applied.plan)
    assert set(again.members) == set(stored["id"])


def test_a_removed_grid_leaves_no_stale_grid_id_elsewhere():
    p = Project.sample()
    p.grids.generate(communities=["C05"], save=True)
    bld = p.layer("buildings")
    ghost = bld.index[bld["community_id"] == "C09"][0]
    bld.loc[ghost, "grid_id"] = "C05-G05"          # points at a grid about to go
    p.write({"buildings": bld})
    result = p.grids.generate(communities=["C05"], min_households=900, max_households=1100,
                              save=True)
    assert "C05-G05" not in set(result.grids["id"])
    assert p.layer("buildings").loc[ghost, "grid_id"] is None


def test_bad_input():
    grids = Project.open("sample-geodata/ningbo-jiangbei.gpkg").grids
    with pytest.raises(NotFoundError, match="C99"):
        grids.generate(communities=["C99"])
    with pytest.raises(InputError, match="band"):
        grids.generate(min_households=600, max_households=500)
    with pytest.raises(NotFoundError, match="grid 'NOPE'"):
        grids.move_buildings(["BLD0001"], to_grid="NOPE")
    with pytest.raises(NotFoundError, match="C99"):
        grids.editor("C99")


def test_empty_project_has_no_communities(tmp_path):
    p = Project.open(tmp_path / "empty.gpkg", create=True)
    with pytest.raises(InputError, match="no communities"):
        p.grids.require_communities()
    with pytest.raises(InputError, match="no communities"):
        p.grids.generate()
