"""``beatgrid grids ...`` end to end on a small project, and the offline map."""

from __future__ import annotations

import pytest
from grid_fixtures import make_district

from beatgrid.api.cli import main
from beatgrid.gis.io.project import read_layer, write_layers


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    path = tmp_path_factory.mktemp("grids") / "p.gpkg"
    write_layers(path, make_district(rows=1, cols=2, seed=8, community_m=450))
    return path


@pytest.fixture(scope="module")
def generated(project, tmp_path_factory):
    html = tmp_path_factory.mktemp("maps") / "grids.html"
    status = main(["grids", "generate", "--project", str(project), "--map", str(html)])
    return project, html, status


def test_generate_writes_grids_and_building_grid_ids(generated, capsys):
    project, html, status = generated
    assert status == 0
    grids = read_layer(project, "grids")
    bld = read_layer(project, "buildings")
    assert len(grids) >= 4
    assert grids["households"].between(300, 500).all()
    assert set(grids["community_id"]) == {"C000", "C001"}
    assert bld["grid_id"].notna().all()
    assert set(bld["grid_id"]) == set(grids["id"])
    assert int(grids["households"].sum()) == int(bld["households"].sum())
    assert {"id", "code", "community_id", "households", "locked"} <= set(grids.columns)
    text = html.read_text(encoding="utf-8")
    assert "Households per grid" in text and "https://cdn" not in text


def test_check_clean_plan_exits_0(generated, capsys):
    project, _, _ = generated
    status = main(["grids", "check", "--project", str(project)])
    out = capsys.readouterr().out
    assert status == 0
    assert "share_in_range: 1.0" in out and "0 violation(s)" in out


def test_metrics_prints_table(generated, tmp_path, capsys):
    project, _, _ = generated
    csv = tmp_path / "m.csv"
    assert main(["grids", "metrics", "--project", str(project), "--csv", str(csv)]) == 0
    out = capsys.readouterr().out
    assert "polsby_popper" in out and csv.exists()


def test_check_broken_plan_exits_1(generated, tmp_path, capsys):
    project, _, _ = generated
    broken = tmp_path / "broken.gpkg"
    broken.write_bytes(project.read_bytes())
    grids = read_layer(broken, "grids")
    bld = read_layer(broken, "buildings")
    victim = grids["id"].iloc[0]
    bld.loc[bld["grid_id"] == victim, "grid_id"] = None
    write_layers(broken, {"grids": grids[grids["id"] != victim],
                          "buildings": bld})
    html = tmp_path / "check.html"
    csv = tmp_path / "v.csv"
    status = main(["grids", "check", "--project", str(broken), "--map", str(html),
                   "--csv", str(csv)])
    out = capsys.readouterr().out
    assert status == 1
    assert "gap" in out and "building_unassigned" in out
    assert html.exists() and csv.exists()


def test_move_then_rebalance(generated, tmp_path, capsys):
    project, _, _ = generated
    work = tmp_path / "edit.gpkg"
    work.write_bytes(project.read_bytes())
    grids = read_layer(work, "grids")
    bld = read_layer(work, "buildings")
    g0 = grids[grids["community_id"] == "C000"]["id"].iloc[0]
    g1 = grids[grids["community_id"] == "C000"]["id"].iloc[1]
    movers = bld[(bld["grid_id"] == g0) & (bld["households"] > 0)]["id"].head(1).tolist()
    status = main(["grids", "move", "--project", str(work), "--building", movers[0],
                   "--to", g1])
    out = capsys.readouterr().out
    assert "re-checked" in out and status in (0, 1)
    assert read_layer(work, "buildings").set_index("id").loc[movers[0], "grid_id"] == g1
    status = main(["grids", "rebalance", "--project", str(work)])
    out = capsys.readouterr().out
    assert status == 0 and "households_moved" in out
    assert main(["grids", "check", "--project", str(work)]) == 0


def test_bad_input_is_one_line(generated, capsys):
    project, _, _ = generated
    status = main(["grids", "generate", "--project", str(project), "--community", "NOPE",
                   "--dry-run"])
    err = capsys.readouterr().err
    assert status == 2 and "NOPE" in err and len(err.strip().splitlines()) == 1
    status = main(["grids", "generate", "--project", str(project), "--min", "600",
                   "--max", "500", "--dry-run"])
    assert status == 2


def test_generate_one_community_with_band(generated, capsys):
    project, _, _ = generated
    status = main(["grids", "generate", "--project", str(project), "--community", "C001",
                   "--min", "200", "--max", "300", "--dry-run"])
    out = capsys.readouterr().out
    assert status == 0 and "band: [200, 300]" in out
