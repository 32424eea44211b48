"""Batch runs on dask (``beatgrid.gis.batch``): the same results as one run, on the sample.

The sample district has two police stations, so every run here has two partitions
whose halos overlap; the cluster is one in-process worker (``processes=False``), shared
by the module. Grids: the same grids layer and building assignment; coverage: the same
per-zone figures (per-estate seen share within 1e-9), blind spots and risk ranking;
staffing: the same table.
"""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
import shapely

pytest.importorskip("distributed")

from beatgrid.api.cli import main  # noqa: E402
from beatgrid.gis import Project  # noqa: E402
from beatgrid.gis.batch import (BatchRunner, MemoryStore, Source, coverage_halo_m,  # noqa: E402
                                makespan, station_partitions)
from beatgrid.gis.errors import ConflictError, InputError, StoreUnavailableError  # noqa: E402
from beatgrid.gis.project import SAMPLE_PATH  # noqa: E402


@pytest.fixture(scope="module")
def batch_project(tmp_path_factory):
    path = tmp_path_factory.mktemp("batch") / "sample.gpkg"
    shutil.copyfile(SAMPLE_PATH, path)
    return Project.open(path)


@pytest.fixture(scope="module")
def runner(batch_project):
    with BatchRunner(batch_project, source=Source(batch_project.location), workers=1,
                     processes=False, progress=False) as run:
        yield run


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The single-machine results on another copy of the sample."""
    path = tmp_path_factory.mktemp("single") / "sample.gpkg"
    shutil.copyfile(SAMPLE_PATH, path)
    return Project.open(path)


def test_partitions_cover_every_community_once_and_the_halo_reaches_the_neighbour():
    project = Project.open(SAMPLE_PATH)
    parts = station_partitions(project)
    comm = project.layer("communities")
    ids = [c for p in parts for c in p.community_ids]
    assert sorted(ids) == sorted(comm["id"]) and len(ids) == len(set(ids))
    assert [p.key for p in parts] == ["S01", "S02"]
    halo = coverage_halo_m(project.layer("cameras"), settings=project.config.coverage)
    # the halo is at least the longest camera range of the sample (90 m lenses + 20 m)
    assert halo >= project.layer("cameras")["range_m"].max()
    # the station S02's halo holds cameras of S01 (they can see across the boundary),
    # not all of them
    s01, s02 = parts
    cams = project.layer("cameras")
    in_s01 = shapely.intersects(s01.region, cams.geometry.values)
    near_s02 = shapely.intersects(shapely.box(*s02.bbox(halo_m=halo)), cams.geometry.values)
    assert (in_s01 & near_s02).any() and not (in_s01 <= near_s02).all()


def test_batch_staffing_gives_the_same_table(runner, reference):
    report = runner.staffing()
    single = reference.policing.assess()
    assert report.partitions == 2 and report.workers == 1
    pd.testing.assert_frame_equal(report.result.gaps, single.gaps)
    for name in ("areas", "stations"):
        pd.testing.assert_frame_equal(getattr(report.result, name).reset_index(drop=True),
                                      getattr(single, name).reset_index(drop=True))
    assert sorted(report.result.rooms["room_id"]) == sorted(single.rooms["room_id"])
    assert {c.key for c in report.costs} == {"S01", "S02"}
    assert all(c.seconds > 0 and c.peak_mb > 0 for c in report.costs)


def test_batch_coverage_gives_the_same_figures(runner, reference):
    report = runner.coverage(save=True)
    single = reference.coverage.analyse()
    stats, ref = report.result["coverage_stats"], single.stats
    assert stats[["zone_type", "zone_id"]].values.tolist() == \
        ref[["zone_type", "zone_id"]].values.tolist()
    est = stats["zone_type"] == "estate"
    for col in ("seen_share_all", "seen_share_detect", "seen_share_identify",
                "multi_seen_share", "perimeter_seen_share"):
        np.testing.assert_allclose(stats.loc[est, col].to_numpy(float),
                                   ref.loc[est, col].to_numpy(float), rtol=0, atol=1e-9,
                                   err_msg=col)
    for col in ("cameras_inside", "cameras_boundary", "households"):
        assert stats[col].tolist() == ref[col].tolist(), col
    risk = report.result["estate_risk"]
    assert risk["estate_id"].tolist() == single.estate_risk["estate_id"].tolist()
    np.testing.assert_allclose(risk["risk_score"], single.estate_risk["risk_score"], atol=1e-9)
    blind = report.result["blind_spots"]
    assert len(blind) == len(single.blind_spots) and blind["id"].is_unique
    np.testing.assert_allclose(blind["area_m2"], single.blind_spots["area_m2"], rtol=1e-9)
    views = report.result["camera_views"]
    assert views[["camera_id", "level"]].values.tolist() == \
        single.views[["camera_id", "level"]].values.tolist()
    # written through the project's store, like `beatgrid coverage`
    stored = runner.project.store.read_derived("coverage_stats")
    assert len(stored) == len(ref)


def test_batch_grids_give_the_same_plan(runner, reference):
    report = runner.grids(save=True)
    single = reference.grids.generate(save=True)
    got, want = runner.project.layer("grids"), reference.layer("grids")
    pd.testing.assert_frame_equal(got.drop(columns="geometry"), want.drop(columns="geometry"))
    assert got.geometry.geom_equals_exact(want.geometry, tolerance=0).all()
    assert runner.project.layer("buildings")["grid_id"].equals(
        reference.layer("buildings")["grid_id"])
    assert report.result.summary == single.summary
    assert len(report.result.violations) == len(single.violations)


def test_memory_store_refuses_writes():
    store = MemoryStore({}, crs=4490, label="partition S01")
    with pytest.raises(ConflictError, match="partition S01"):
        store.write_layers({})


def test_makespan_estimates_from_partition_costs():
    costs = [5.0, 4.0, 3.0, 3.0, 1.0]
    assert makespan(costs, 1) == sum(costs)
    assert makespan(costs, 2) == 8.0
    assert makespan(costs, 64) == max(costs)


def test_runner_options_are_checked():
    project = Project.open(SAMPLE_PATH)
    with pytest.raises(InputError, match="workers 0"):
        BatchRunner(project, source=Source(str(SAMPLE_PATH)), workers=0)
    with pytest.raises(InputError, match="either workers or scheduler"):
        BatchRunner(project, source=Source(str(SAMPLE_PATH)), workers=2,
                    scheduler="tcp://127.0.0.1:1")
    with pytest.raises(InputError, match="not one of"):
        BatchRunner(project, source=Source(str(SAMPLE_PATH))).run("hotspots")


def test_an_unreachable_scheduler_is_one_clear_error():
    project = Project.open(SAMPLE_PATH)
    runner = BatchRunner(project, source=Source(str(SAMPLE_PATH)),
                         scheduler="tcp://127.0.0.1:9", connect_timeout=2)
    with pytest.raises(StoreUnavailableError, match="cannot reach the dask scheduler"):
        runner.__enter__()


def test_cli_batch_staffing_writes_the_csv(tmp_path, capsys):
    path = tmp_path / "p.gpkg"
    shutil.copyfile(SAMPLE_PATH, path)
    out = tmp_path / "gaps.csv"
    status = main(["batch", "staffing", "--project", str(path), "--workers", "1",
                   "--no-progress", "--out", str(out)])
    text = capsys.readouterr().out
    assert status == 0
    assert "batch staffing: 2 partition(s) on 1 worker(s)" in text
    gaps = pd.read_csv(out)
    assert len(gaps) == 12 and gaps["severity_rank"].tolist() == \
        Project.open(path).policing.assess().gaps["severity_rank"].tolist()


@pytest.mark.parametrize("argv", [["--workers", "0"], ["--workers", "2", "--scheduler", "x"]])
def test_cli_batch_refuses_bad_options(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["batch", "grids", "--project", str(SAMPLE_PATH), *argv])
    assert exc.value.code == 2
    assert "argument --" in capsys.readouterr().err


def test_batch_staffing_on_each_store(sample_target):
    kind, target, schema = sample_target
    project = Project.open(target, schema=schema)
    with BatchRunner(project, source=Source(target, schema), workers=1, processes=False,
                     progress=False) as run:
        report = run.staffing()
    pd.testing.assert_frame_equal(report.result.gaps, project.policing.assess().gaps)


def test_batch_grids_on_a_city_across_two_gauss_kruger_zones(tmp_path):
    """A city astride 121.5°E (the border of the 3-degree zones CM 120E and CM 123E): each
    partition plans in the project's metric CRS, as one run does, and the plans merge."""
    from beatgrid.gis.crs import metric_crs
    from beatgrid.gis.io.store import open_store

    sample = Project.open(SAMPLE_PATH)
    moved = {name: df.set_geometry(df.geometry.translate(xoff=-0.052))
             if hasattr(df, "geometry") and len(df) else df
             for name, df in sample.read().items()}
    for target in ("batch.gpkg", "single.gpkg"):
        open_store(tmp_path / target).write_layers(moved, validate=False)
    batch, single = Project.open(tmp_path / "batch.gpkg"), Project.open(tmp_path / "single.gpkg")
    parts = station_partitions(batch)
    zones = {metric_crs(batch.layer("communities").pipe(
        lambda c: c[c["id"].isin(p.community_ids)])).to_epsg() for p in parts}
    assert len(zones) == 2                              # the stations lie in two zones
    with BatchRunner(batch, source=Source(batch.location), workers=1, processes=False,
                     progress=False) as run:
        run.grids(save=True)
    single.grids.generate(save=True)
    got, want = batch.layer("grids"), single.layer("grids")
    pd.testing.assert_frame_equal(got.drop(columns="geometry"), want.drop(columns="geometry"))
    assert got.geometry.geom_equals_exact(want.geometry, tolerance=1e-12).all()
    assert batch.layer("buildings")["grid_id"].equals(single.layer("buildings")["grid_id"])
