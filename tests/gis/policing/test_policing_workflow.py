"""``project.policing`` (gis/policing/workflow.py) on the sample district."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from beatgrid.gis import InputError, PolicyError, Project
from beatgrid.gis.policing.alignment import align_project
from beatgrid.gis.policing.policy import policy_sections
from beatgrid.gis.policing.staffing import assess_project
from beatgrid.gis.policing.workflow import (ALIGNMENT_LAYERS, STAFFING_LAYERS, BeatPlan,
                                            Policing, StaffingResult)

SAMPLE = Path(__file__).resolve().parents[3] / "sample-geodata" / "ningbo-jiangbei.gpkg"


@pytest.fixture(scope="module")
def project():
    return Project.open(SAMPLE)


@pytest.fixture(scope="module")
def staffing(project):
    return project.policing.assess()


def test_project_reaches_policing(project):
    assert isinstance(project.policing, Policing)
    assert project.policing.project is project


def test_assess_is_the_computation_on_the_project_layers(project, staffing):
    assert isinstance(staffing, StaffingResult)
    want = assess_project(project.read(list(STAFFING_LAYERS)))
    pd.testing.assert_frame_equal(staffing.gaps, want.gaps)
    pd.testing.assert_frame_equal(staffing.stations, want.stations)
    assert staffing.notes == want.notes
    assert len(staffing.gaps) == 12 and len(staffing.police_rooms) == len(
        project.layer("police_rooms"))
    assert staffing.policy is project.config.policy
    with pytest.raises(dataclasses.FrozenInstanceError):
        staffing.notes = ()  # type: ignore[misc]


def test_assess_under_another_policy(project, staffing):
    city = project.policing.assess(policy={"officers": {"per_beat": 3},
                                           "hotspots": {"permutations": 9}})
    assert (city.gaps["officers_required"] >= 3).all()
    assert project.config.policy["officers"]["per_beat"] == 1        # the project is unchanged
    with pytest.raises(PolicyError, match="'officers.per_beat' has value -1"):
        project.policing.assess(policy={"officers": {"per_beat": -1}})


def test_a_policy_file_opens_the_project_with_both_sections(tmp_path, staffing):
    f = tmp_path / "city.toml"
    f.write_text("[officers]\ntwo_officer_population = 1000000000\n"
                 "two_officer_if_floating_exceeds_registered = false\n"
                 "[hotspots]\npermutations = 19\n", encoding="utf-8")
    project = Project.open(SAMPLE, **policy_sections(f))
    res = project.policing.assess()
    assert res.gaps["officers_required"].sum() < staffing.gaps["officers_required"].sum()
    assert project.policing.hotspots(zones="beats").permutations == 19


def test_align(project):
    res = project.policing.align()
    want = align_project(project.read(list(ALIGNMENT_LAYERS)))
    pd.testing.assert_frame_equal(res.grids, want.grids)
    assert res.min_share == project.config.policing["alignment"]["min_share"] == 0.9
    assert len(res.governance_grids) == 60 and len(res.beat_polygons) == 12
    looser = project.policing.align(min_share=0.5)
    assert len(looser.misaligned) <= len(res.misaligned)


def test_hotspots(project):
    res = project.policing.hotspots(zones="beats", permutations=0)
    assert res.zone_kind == "beats" and res.permutations == 0
    assert res.weights == "queen" and res.significance == 0.05
    assert res.hot == int((res.zones["hotspot"] == "hot").sum())
    assert res.change is not None and res.change["beat_id"].iloc[-1] == "(all)"
    tuned = project.with_config(policing={"hotspots": {"permutations": 9}})
    assert tuned.policing.hotspots(zones="beats").permutations == 9
    with pytest.raises(InputError, match="at least 3 grids"):
        project.policing.hotspots(zones="grids")


def test_beats_plans_without_writing_then_saves():
    project = Project.sample()
    before = project.layer("responsibility_areas")
    plan = project.policing.beats(areas=4, balance_by="households")
    assert isinstance(plan, BeatPlan) and not plan.saved and not plan.derived
    assert len(plan.areas) == 4 and plan.balance_by == "households"
    assert plan.area_loads is not None and plan.area_loads.sum() == pytest.approx(
        project.layer("buildings")["households"].sum())
    assert sorted(project.layer("responsibility_areas")["id"]) == sorted(before["id"])
    saved = project.policing.beats(areas=4, balance_by="households", save=True)
    assert saved.saved and list(saved.writes) == ["beats", "responsibility_areas"]
    assert sorted(project.layer("responsibility_areas")["id"]) == sorted(saved.areas["id"])
    beats = project.layer("beats").set_index("id")["responsibility_area_id"]
    assert beats.to_dict() == saved.beats.set_index("id")["responsibility_area_id"].to_dict()


def test_beats_rederived_keep_the_loaded_areas(project):
    plan = project.policing.beats(rederive=True, keep_areas=True)
    assert plan.derived and plan.communities == 12 and plan.balance_by is None
    assert list(plan.writes)[0] == "communities"
    assert set(plan.beats["responsibility_area_id"]) <= set(
        project.layer("responsibility_areas")["id"])
    assert int(plan.area_members["beats"].sum()) == len(plan.beats)
