"""No lost writes: writers hold the project's lock from their read to their write.

Replays the issue's scenarios on both stores: two plans generated and saved for two
communities at once (threads, and command-line processes on one file), two moves in
two communities at once; both are kept every time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

from beatgrid.gis import Project
from beatgrid.gis.errors import StoreUnavailableError
from beatgrid.gis.io.locking import FileProjectLock, lock_path


def _run_together(*jobs):
    errors: list[BaseException] = []
    start = threading.Barrier(len(jobs))

    def run(job):
        try:
            start.wait()
            job()
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_two_generates_for_two_communities_are_both_kept(sample_target):
    kind, target, schema = sample_target
    a = Project.open(target, schema=schema)
    b = Project.open(target, schema=schema)  # two users: two projects on one store
    for _ in range(2):
        _run_together(lambda: a.grids.generate(communities=["C05"], save=True),
                      lambda: b.grids.generate(communities=["C09"], save=True))
        grids = Project.open(target, schema=schema).layer("grids")
        assert set(grids["community_id"]) == {"C05", "C09"}
        buildings = Project.open(target, schema=schema).layer("buildings")
        planned = buildings[buildings["community_id"].isin(["C05", "C09"])]
        assert planned["grid_id"].notna().all()


def test_two_moves_in_two_communities_are_both_kept(sample_target):
    kind, target, schema = sample_target
    project = Project.open(target, schema=schema)
    project.grids.generate(communities=["C05", "C09"], save=True)
    bld = project.layer("buildings")
    one = bld.loc[bld["grid_id"] == "C05-G01", "id"].iloc[0]
    two = bld.loc[bld["grid_id"] == "C09-G01", "id"].iloc[0]
    a = Project.open(target, schema=schema)
    b = Project.open(target, schema=schema)
    _run_together(lambda: a.grids.move_buildings([one], to_grid="C05-G02"),
                  lambda: b.grids.move_buildings([two], to_grid="C09-G02"))
    after = Project.open(target, schema=schema).layer("buildings").set_index("id")["grid_id"]
    assert after[one] == "C05-G02" and after[two] == "C09-G02"


def test_two_command_line_runs_on_one_file_keep_both_plans(sample_target):
    kind, target, schema = sample_target
    if kind != "gpkg":
        pytest.skip("the command line on one file is the GeoPackage case")
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    runs = [subprocess.Popen([sys.executable, "-m", "beatgrid.api.cli", "grids", "generate",
                              "--project", target, "--community", cid],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for cid in ("C05", "C09")]
    for run in runs:
        out, err = run.communicate(timeout=300)
        assert run.returncode == 0, err.decode()
    grids = Project.open(target).layer("grids")
    assert set(grids["community_id"]) == {"C05", "C09"}


def test_a_writer_that_waits_too_long_gives_up_and_writes_nothing(tmp_path):
    project = Project.sample(tmp_path / "p.gpkg")
    before = (tmp_path / "p.gpkg").read_bytes()
    impatient = Project.open(tmp_path / "p.gpkg", core={"store": {"lock_timeout_s": 0.3}})
    holder = FileProjectLock(tmp_path / "p.gpkg")
    held, release = threading.Event(), threading.Event()

    def hold():
        with holder:
            held.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait(5)
    t0 = time.monotonic()
    with pytest.raises(StoreUnavailableError, match="being written by another") as err:
        impatient.write({"staff": project.layer("staff")})
    release.set()
    thread.join()
    assert time.monotonic() - t0 < 5
    assert "retry" in err.value.fix
    assert (tmp_path / "p.gpkg").read_bytes() == before
    assert lock_path(tmp_path / "p.gpkg").exists()
