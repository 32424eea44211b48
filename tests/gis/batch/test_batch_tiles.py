"""Tiled coverage (``beatgrid batch coverage --tiles``) and the national-scale run.

The views computed tile by tile are those of one run, polygon for polygon, whatever the
tile size; every camera belongs to exactly one tile; a tile reads or generates only its
own cells and the ring within its halo (memory bounded by the tile); the generated
country is the same whichever worker regenerates a cell; and the runner works against
an existing scheduler (a LocalCluster's address), from Python and from the command line.
"""

from __future__ import annotations

import shutil

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

distributed = pytest.importorskip("distributed")

from beatgrid.api.cli import main  # noqa: E402
from beatgrid.gis import Project  # noqa: E402
from beatgrid.gis.batch import (BatchRunner, MemoryStore, Source, SyntheticCountry,  # noqa: E402
                                TileGrid, national_views, tiled_views, view_reach_m)
from beatgrid.gis.coverage.fov import camera_parameters  # noqa: E402
from beatgrid.gis.coverage.visibility import camera_views  # noqa: E402
from beatgrid.gis.errors import InputError  # noqa: E402
from beatgrid.gis.project import SAMPLE_PATH  # noqa: E402
from beatgrid.gis.workspace import Workspace  # noqa: E402


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiles") / "sample.gpkg"
    shutil.copyfile(SAMPLE_PATH, path)
    return Project.open(path)


@pytest.fixture(scope="module")
def one_run(sample):
    """The single-machine views: every camera among every building."""
    return camera_views(sample.layer("cameras"), sample.layer("buildings"),
                        settings=sample.config.coverage)


@pytest.fixture(scope="module")
def scheduler():
    """An existing dask scheduler (with one in-process worker) to connect to."""
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster:
        yield cluster.scheduler_address


@pytest.mark.parametrize("size_m", [400, 5000])
def test_tiled_views_are_those_of_one_run(sample, one_run, size_m):
    with BatchRunner(sample, source=Source(sample.location), workers=1, processes=False,
                     progress=False) as runner:
        report = tiled_views(runner, size_m=size_m, save=True)
    views = report.result["camera_views"]
    assert views[["camera_id", "level"]].values.tolist() == \
        one_run[["camera_id", "level"]].values.tolist()
    assert shapely.equals_exact(views.geometry.values, one_run.geometry.values,
                                tolerance=0).all()
    assert views["status"].tolist() == one_run["status"].tolist()
    tiles = report.result["tiles"]
    assert report.partitions == len(tiles) > 1 and tiles["tile"].is_unique
    assert int(tiles["cameras"].sum()) == len(sample.layer("cameras"))
    # a tile reads only the buildings of its halo: far fewer than the project when small
    n_buildings = len(sample.layer("buildings"))
    if size_m < 1000:
        assert tiles["buildings_read"].max() < n_buildings / 4
    assert (tiles["buildings_in_reach"] <= tiles["buildings_read"]).all()
    # written as `beatgrid coverage` writes the views: every camera's `all` row and the
    # levels it sees
    stored = sample.store.read_derived("camera_views")
    seen = ~shapely.is_empty(one_run.geometry.values)
    assert len(stored) == int(((one_run["level"] == "all") | seen).sum())


def test_each_camera_belongs_to_one_tile_on_the_edges():
    xs = [0.0, 999.999, 1000.0, 1000.0, -0.001]
    cams = gpd.GeoDataFrame({"id": list("abcde")}, geometry=shapely.points(xs, [0, 0, 0, 1000, 5]),
                            crs=4547)
    grid = TileGrid.covering(cams, size_m=1000)
    tiles = grid.tiles_of(cams)
    keys = [tiles[i].key for i in grid.owner(cams)]
    assert keys == ["T0_0", "T0_0", "T0_1", "T1_1", "T0_-1"]
    for i, t in zip(grid.owner(cams), cams.geometry):
        x0, y0, x1, y1 = tiles[i].bounds
        assert x0 <= t.x < x1 and y0 <= t.y < y1
    # in longitude / latitude a tile is size_m tall and as wide at the data's latitude
    geo = TileGrid.covering(gpd.GeoDataFrame(geometry=[shapely.Point(121.5, 30.0)], crs=4490),
                            size_m=10_000)
    assert geo.geographic and geo.dy == pytest.approx(10_000 / 111_320)
    assert geo.dx * 111_320 * np.cos(np.radians(30.0)) == pytest.approx(10_000)


def test_view_reach_covers_range_and_snapping(sample, one_run):
    cams = sample.layer("cameras")
    cfg = sample.config.coverage
    reach = view_reach_m(cams, settings=cfg)
    ground = camera_parameters(cams, settings=cfg)["range_m"].to_numpy()
    assert (reach > ground + cfg["visibility"]["max_snap_m"]).all()
    # no view reaches farther from its camera than the reach
    whole = one_run[one_run["level"] == "all"].to_crs(one_run.estimate_utm_crs())
    pts = cams.to_crs(whole.crs).geometry.values
    far = shapely.hausdorff_distance(whole.geometry.values, pts)
    seen = ~shapely.is_empty(whole.geometry.values)
    assert (far[seen] <= reach[seen]).all()


def test_a_bad_tile_size_is_one_clear_error(sample, capsys):
    with pytest.raises(InputError, match="tile size 0"):
        TileGrid.covering(sample.layer("cameras"), size_m=0)
    with pytest.raises(SystemExit) as exc:
        main(["batch", "coverage", "--project", str(SAMPLE_PATH), "--tiles", "0"])
    assert exc.value.code == 2


def test_synthetic_country_counts_and_cells_are_reproducible():
    c = SyntheticCountry.create(buildings=30_000, cameras=300, seed=4)
    assert int(c.building_counts.sum()) == 30_000 and int(c.camera_counts.sum()) == 300
    assert c.building_counts.max() <= 4000
    x0, y0 = c.bounds[:2]
    cell = c.cells_in((x0 + 1500, y0 + 1500, x0 + 1600, y0 + 1600))
    a, b = c.buildings(cell), c.buildings(cell)
    assert a["id"].tolist() == b["id"].tolist() and a.geom_equals_exact(b, 0).all()
    assert len(a) == int(c.building_counts[1, 1])
    # footprints are valid and apart from each other and from the cameras (streets between)
    everything = c.cells_in(c.bounds)
    bld, cams = c.buildings(everything), c.cameras(everything)
    assert shapely.is_valid(bld.geometry.values).all()
    tree = shapely.STRtree(bld.geometry.values)
    i, j = tree.query(bld.geometry.values, predicate="intersects")
    assert (i == j).all()
    assert not len(tree.query(cams.geometry.values, predicate="intersects")[0])


def test_national_views_tile_by_tile_equal_one_run_and_stay_within_the_halo():
    country = SyntheticCountry.create(buildings=40_000, cameras=400, seed=7)
    ws = Workspace(MemoryStore({}, crs=country.crs, label="synthetic country"))
    with BatchRunner(ws, source=Source("synthetic"), workers=1, processes=False,
                     progress=False) as runner:
        report = national_views(runner, country, size_m=2000, levels=False)
    tiles = report.result["tiles"]
    assert int(tiles["cameras"].sum()) == 400
    assert int(tiles["buildings_own"].sum()) == 40_000
    # one run: all cameras among all buildings
    everything = country.cells_in(country.bounds)
    single = camera_views(country.cameras(everything), country.buildings(everything),
                          levels=False)
    assert tiles["view_area_m2"].sum() == pytest.approx(single["area_m2"].sum(), rel=1e-9)
    assert int(tiles["status_ok"].sum()) == int((single["status"] == "ok").sum())
    # each task generated at most its own 2 x 2 cells and the ring around them
    counts = country.building_counts
    for _, row in tiles.iterrows():
        r, c = (int(v) for v in row["tile"][1:].split("_"))
        ring = counts[max(0, 2 * r - 1):2 * r + 3, max(0, 2 * c - 1):2 * c + 3].sum()
        assert row["buildings_read"] <= ring
    with pytest.raises(InputError, match="whole number"):
        national_views(runner, country, size_m=1500)


def test_national_fraction_runs_the_south_only():
    country = SyntheticCountry.create(buildings=40_000, cameras=400, seed=7)
    ws = Workspace(MemoryStore({}, crs=country.crs, label="synthetic country"))
    with BatchRunner(ws, source=Source("synthetic"), workers=1, processes=False,
                     progress=False) as runner:
        part = national_views(runner, country, size_m=2000, levels=False, fraction=0.3)
    done = int(part.result["tiles"]["buildings_own"].sum())
    assert 0.3 * 40_000 <= done < 40_000


def test_runner_on_an_existing_scheduler(sample, scheduler):
    with BatchRunner(sample, source=Source(sample.location), scheduler=scheduler,
                     progress=False) as runner:
        assert runner.n_workers == 1
        report = runner.staffing()
    pd.testing.assert_frame_equal(report.result.gaps, sample.policing.assess().gaps)


def test_cli_tiles_on_an_existing_scheduler(tmp_path, scheduler, capsys):
    path = tmp_path / "p.gpkg"
    shutil.copyfile(SAMPLE_PATH, path)
    out = tmp_path / "tiles.csv"
    status = main(["batch", "coverage", "--project", str(path), "--scheduler", scheduler,
                   "--tiles", "2", "--no-levels", "--out", str(out)])
    text = capsys.readouterr().out
    assert status == 0, text
    assert "batch coverage-tiles:" in text and "on 1 worker(s)" in text
    assert "300 cameras" in text
    tiles = pd.read_csv(out)
    assert int(tiles["cameras"].sum()) == 300
    assert len(Project.open(path).store.read_derived("camera_views")) == 300


def test_cli_out_without_tiles_is_refused(capsys):
    status = main(["batch", "coverage", "--project", str(SAMPLE_PATH), "--workers", "1",
                   "--out", "x.csv"])
    assert status == 2
    assert "--out x.csv needs --tiles" in capsys.readouterr().err
