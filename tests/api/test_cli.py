"""The command line: exit statuses, one-line errors, the foundation subcommands."""

import subprocess
import sys

import geopandas as gpd
import pytest
import shapely

from beatgrid.api.cli import main
from beatgrid.gis.io import project as store

LON, LAT = 121.55, 29.88


def _project(tmp_path, households=(10, 20)):
    path = tmp_path / "p.gpkg"
    b = gpd.GeoDataFrame({"id": [f"b{i}" for i in range(len(households))],
                          "households": list(households)},
                         geometry=[shapely.box(LON + i * 1e-3, LAT, LON + i * 1e-3 + 2e-4,
                                               LAT + 2e-4) for i in range(len(households))],
                         crs=4490)
    store.write_layers(path, {"buildings": b})
    return path


def test_info_lists_layers_counts_crs_extent(tmp_path, capsys):
    path = _project(tmp_path)
    assert main(["info", "--project", str(path)]) == 0
    out = capsys.readouterr().out
    assert "EPSG:4490" in out
    line = next(l for l in out.splitlines() if l.strip().startswith("buildings"))
    assert line.split()[1] == "2" and "121.55" in line


def test_validate_ok_exits_0(tmp_path, capsys):
    assert main(["validate", "--project", str(_project(tmp_path))]) == 0
    assert "no problems" in capsys.readouterr().out


def test_validate_errors_exit_1_with_report(tmp_path, capsys):
    path = _project(tmp_path)
    # corrupt the stored layer behind BeatGrid's back (as another tool could)
    import pyogrio
    df = pyogrio.read_dataframe(path, layer="buildings")
    df.loc[1, "households"] = -5
    df.loc[0, "estate_id"] = "E404"
    pyogrio.write_dataframe(df, path, layer="buildings", promote_to_multi=True)
    csv = tmp_path / "problems.csv"
    assert main(["validate", "--project", str(path), "--csv", str(csv)]) == 1
    out = capsys.readouterr().out
    assert "buildings id=b1 column=households: value must be >= 0" in out
    assert "refers to a missing estates feature" in out
    assert "2 error(s)" in out
    assert csv.read_text().count("\n") == 3


def test_errors_are_one_line_without_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "beatgrid.api.cli", "info", "--project",
                           str(tmp_path / "missing.gpkg")], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert proc.stderr.startswith("beatgrid: error: project") and "Traceback" not in proc.stderr


def test_debug_shows_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "beatgrid.api.cli", "--debug", "info",
                           "--project", str(tmp_path / "missing.gpkg")],
                          capture_output=True, text=True)
    assert proc.returncode != 0 and "Traceback" in proc.stderr


def test_schema_markdown_documents_every_layer(capsys):
    assert main(["schema"]) == 0
    out = capsys.readouterr().out
    for layer in ("stations", "communities", "police_rooms", "beats", "responsibility_areas",
                  "streets", "estates", "buildings", "cameras", "incidents", "key_places",
                  "staff", "governance_grids", "grids"):
        assert f"### `{layer}`" in out


def test_unknown_layer_on_export(tmp_path, capsys):
    path = _project(tmp_path)
    assert main(["export", "castles", "--project", str(path), "--out",
                 str(tmp_path / "x.geojson")]) == 2
    assert "unknown layer 'castles'" in capsys.readouterr().err


@pytest.mark.postgis
def test_postgis_push_and_pull_round_trip(tmp_path, pg_url, pg_schema, capsys):
    path = _project(tmp_path, households=(10, 20, 30))
    assert main(["postgis", "push", "--project", str(path), "--url", pg_url,
                 "--schema", pg_schema]) == 0
    assert "3 buildings" in capsys.readouterr().out
    back = tmp_path / "back.gpkg"
    assert main(["postgis", "pull", "--project", str(back), "--url", pg_url,
                 "--schema", pg_schema]) == 0
    assert store.read_layer(back, "buildings")["households"].tolist() == [10, 20, 30]
    assert main(["postgis", "pull", "--project", str(back), "--url", pg_url,
                 "--schema", pg_schema]) == 2
    assert "already exists" in capsys.readouterr().err


def test_postgis_without_url_is_a_clear_error(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("BEATGRID_PG_URL", raising=False)
    assert main(["postgis", "layers"]) == 2
    assert "no database URL given" in capsys.readouterr().err


def test_refused_import_lists_every_problem(tmp_path, capsys):
    csv = tmp_path / "cams.csv"
    csv.write_text(f"id,lng,lat,kind,fov_deg\nK1,{LON},{LAT},road,400\n"
                   f"K1,{LON},{LAT + 1e-3},tower,\n", encoding="utf-8")
    project = _project(tmp_path)
    before = project.read_bytes()
    assert main(["import", "cameras", str(csv), "--project", str(project)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("beatgrid: error: 3 validation errors, nothing written:")
    assert "cameras id=K1 column=fov_deg: value must be" in err
    assert "column=kind: value is not allowed (value: 'tower')" in err
    assert "id is used by 2 features" in err
    assert project.read_bytes() == before
