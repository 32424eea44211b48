"""Editing sessions: one editor per community, stale after a write of someone else."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from beatgrid.gis import Project
from beatgrid.gis.errors import ConflictError
from beatgrid.gis.grids.sessions import EditingSessions


@pytest.fixture(scope="module")
def planned() -> Path:
    """A sample project with C05 and C09 planned (copied for every test)."""
    p = Project.sample()
    p.grids.generate(communities=["C05", "C09"], save=True)
    return Path(p.location)


@pytest.fixture()
def project(planned, tmp_path) -> Project:
    shutil.copyfile(planned, tmp_path / "p.gpkg")
    return Project.open(tmp_path / "p.gpkg")


def _edit(sessions: EditingSessions, community_id: str) -> None:
    with sessions.open(community_id, editing=True) as session:
        ed = session.editor
        first, second = sorted(ed.members)[:2]
        ed.move_units(sorted(ed.members[first])[:1], to_grid=second)
        session.edits += 1


def test_a_session_is_kept_while_the_project_is_unchanged(project):
    sessions = EditingSessions(project.grids)
    with sessions.open("C05", editing=False) as first:
        pass
    with sessions.open("C05", editing=True) as again:
        assert again is first and again.live_grid_ids() == sorted(project.layer("grids")[
            "id"].loc[lambda s: s.str.startswith("C05")])


def test_a_write_of_someone_else_discards_unsaved_edits(project):
    sessions = EditingSessions(project.grids, stale_fix="reload {community_id}")
    _edit(sessions, "C05")
    with sessions.open("C09", editing=False):
        pass                                          # a clean session: rebuilt quietly
    project.write({"grids": project.layer("grids")})
    with pytest.raises(ConflictError, match="1 unsaved edit") as err:
        with sessions.open("C05", editing=True):
            pass
    assert err.value.fix == "reload C05"
    with sessions.open("C05", editing=True) as fresh:  # the next request starts afresh
        assert fresh.edits == 0
    with sessions.open("C09", editing=True) as c09:
        assert c09.edits == 0 and c09.discarded == 0


def test_saving_one_community_keeps_the_sessions_of_the_others(project):
    sessions = EditingSessions(project.grids)
    _edit(sessions, "C05")
    _edit(sessions, "C09")
    with sessions.open("C09", editing=True) as session:
        written = sessions.save(session)
        assert session.edits == 0 and session.state == project.store.state()
        assert set(written.applied.saved["community_id"]) == {"C09"}
    with sessions.open("C05", editing=True) as other:    # not stale: our own write
        assert other.edits == 1


def test_drop_and_size(project):
    sessions = EditingSessions(project.grids, size=1)
    _edit(sessions, "C05")
    with sessions.open("C09", editing=False):
        pass
    assert len(sessions) == 1                            # the clean one went first
    assert sessions.drop() == {"C05": 1} and len(sessions) == 0
