"""``project.coverage`` (gis/coverage/workflow.py) on the sample district: real outcomes."""

from __future__ import annotations

import numpy as np
import pytest

from beatgrid.api.cli import main
from beatgrid.gis import Project
from beatgrid.gis.coverage.analysis import CoverageResult
from beatgrid.gis.coverage.placement import PlacementResult
from beatgrid.gis.errors import InputError, NotFoundError
from beatgrid.gis.io.store import open_store

SAMPLE = "sample-geodata/ningbo-jiangbei.gpkg"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A writable copy of the sample."""
    return Project.sample(tmp_path_factory.mktemp("cov") / "p.gpkg")


@pytest.fixture(scope="module")
def analysed(project):
    return project.coverage.analyse(save=True)


def test_analyse_on_the_sample(project, analysed):
    res = analysed
    assert isinstance(res, CoverageResult)
    cams = project.layer("cameras")
    assert res.n_cameras == len(cams) == 300
    assert list(dict.fromkeys(res.views["level"])) == ["all", "detect", "observe", "recognise",
                                                       "identify"]
    # the one intended change of the restructuring: a camera that sees nothing because
    # its whole view is behind a building says so
    assert res.camera_status() == {"ok": 299, "blocked": 1}
    blocked = res.views[(res.views["level"] == "all") & (res.views["status"] == "blocked")]
    assert blocked["camera_id"].tolist() == ["CAM298"] and blocked["area_m2"].max() == 0
    # figures per zone type, blind spots, ranking of the old estates
    summary = res.zone_summary().set_index("zone_type")
    assert summary.loc["beat", "cameras_inside"] == 300
    assert summary.loc["beat", "open_area_m2"] == pytest.approx(
        summary.loc["community", "open_area_m2"])
    old = project.layer("estates")["is_old"].astype(bool).sum()
    assert len(res.estate_risk) == old and res.estate_risk["rank"].tolist()[:2] == [1, 2]
    assert res.blind_spots["area_m2"].is_monotonic_decreasing
    assert set(res.weights) == {"uncovered", "camera_deficit", "access_deficit",
                                "preventable_incidents", "floating_share"}
    assert len(res.estate_ids) == len(project.layer("estates"))


def test_analyse_saves_the_derived_layers(project, analysed):
    assert set(project.store.list_derived()) >= {"camera_views", "blind_spots",
                                                 "coverage_stats", "estate_risk"}
    stored = project.coverage.derived("camera_views")
    # every camera's whole view, even empty, and the levels it sees
    assert (stored["level"] == "all").sum() == 300
    assert len(stored) == len(analysed.derived_layers()["camera_views"])
    assert project.coverage.derived("camera_proposals") is None


def test_result_selections(analysed):
    grid = analysed.stats_for("grid")
    assert len(grid.frame) == 0 and "no grids" in grid.notes[0]
    estates = analysed.stats_for("estate")
    assert len(estates.frame) == 56 and estates.notes == ()
    top = analysed.estate_risk["estate_id"].iloc[0]
    mine = analysed.blind_spots_in(top)
    assert len(mine) and set(mine["zone_id"]) == {top}
    with pytest.raises(InputError, match="estate 'E99' is not in the estates layer"):
        analysed.blind_spots_in("E99")
    light = analysed.figures()
    assert light.seen is None and len(light.views) == 0 and light.stats is analysed.stats


def test_analyse_into_another_file(tmp_path):
    project = Project.open(SAMPLE)
    out = tmp_path / "quick.gpkg"
    res = project.coverage.analyse(levels=False, out=out)
    assert set(res.views["level"]) == {"all"}
    assert sorted(open_store(out).list_derived()) == ["blind_spots", "camera_views",
                                                      "coverage_stats", "estate_risk"]
    assert project.store.list_derived() == []                        # the sample untouched


def test_recommend_and_save(project, analysed):
    estate = analysed.estate_risk["estate_id"].iloc[0]
    res = project.coverage.recommend(budget=3, estate=estate, save=True)
    assert isinstance(res, PlacementResult)
    assert len(res.proposals) == 3 and set(res.proposals["estate_id"]) == {estate}
    assert res.info["method"] == "greedy" and not res.stopped_early
    eff = res.effects.set_index(["zone_type", "zone_id"]).loc[("estate", estate)]
    assert eff["seen_share_all_after"] > eff["seen_share_all_before"]
    assert eff["seen_share_all_before"] == pytest.approx(
        analysed.stats_for("estate").frame.set_index("zone_id").loc[estate, "seen_share_all"])
    assert len(project.coverage.derived("camera_proposals")) == 3
    with pytest.raises(NotFoundError, match="estate 'E99'"):
        project.coverage.recommend(budget=1, estate="E99")
    with pytest.raises(InputError, match="estate 'E99'"):
        project.coverage.check_estate("E99")


def test_views_of_a_few_cameras():
    coverage = Project.open(SAMPLE).coverage
    got = coverage.views(["CAM001", "CAM298"])
    assert got.levels == ("all", "detect", "observe", "recognise", "identify")
    whole = got.at_level("all").set_index("camera_id")
    assert whole.loc["CAM298", "status"] == "blocked" and whole.loc["CAM001", "area_m2"] > 0
    with pytest.raises(InputError, match="'NOPE' not in the cameras layer"):
        coverage.views(["NOPE"])


def test_settings_reach_the_camera_defaults(tmp_path):
    """``Project.open(..., coverage=...)`` and ``beatgrid coverage --settings`` override the
    ``[cameras]`` defaults used for cameras that leave a field empty."""
    project = Project.sample(tmp_path / "p.gpkg")
    cams = project.layer("cameras")
    no_lens = cams["focal_length_mm"].isna()           # the range is not the lens's then
    ids = cams.loc[no_lens, "id"].iloc[:2].tolist()
    cams.loc[cams["id"].isin(ids), "range_m"] = np.nan
    project.write({"cameras": cams}, validate=False)
    shipped = project.coverage.views(ids).at_level("all")["area_m2"].to_numpy()
    wide = Project.open(project.location, coverage={"cameras": {"range_m": 60.0}})
    assert wide.coverage.settings["cameras"]["range_m"] == 60.0
    larger = wide.coverage.views(ids).at_level("all")["area_m2"].to_numpy()
    assert (larger > shipped).all()
    # the same through the command line
    settings = tmp_path / "cov.toml"
    settings.write_text("[cameras]\nrange_m = 60.0\n", encoding="utf-8")
    for out, extra in (("shipped.gpkg", []), ("wide.gpkg", ["--settings", str(settings)])):
        assert main(["coverage", "--project", project.location, "--no-levels",
                     "--out", str(tmp_path / out), *extra]) == 0
    area = {name: open_store(tmp_path / f"{name}.gpkg").read_derived("camera_views")
            .set_index("camera_id").loc[ids, "area_m2"].to_numpy() for name in ("shipped", "wide")}
    assert np.allclose(area["shipped"], shipped) and np.allclose(area["wide"], larger)
