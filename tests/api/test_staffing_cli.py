"""``beatgrid staffing / alignment / hotspots / beats`` on a small hand-made project."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from beatgrid.api.cli import main
from beatgrid.gis.io.project import read_layer, write_layers
from beatgrid.gis.policing.staffing import assess_project

X0, Y0, D = 121.50, 29.80, 0.01


def box(i, j, w=1.0, h=1.0):
    return shapely.box(X0 + i * D, Y0 + j * D, X0 + (i + w) * D, Y0 + (j + h) * D)


def pt(i, j):
    return shapely.Point(X0 + i * D, Y0 + j * D)


def fixture_layers() -> dict:
    """A 2 x 2 district, one station, 4 beats:

    * B1 (urban): registered 6,000 + floating 4,500 = 10,500 > 10,000 -> 2 officers, has 1;
      4,500 floating -> 9 managers, has 5; type-2 room awaiting rebuild;
    * B2 (urban): fully staffed (1 officer, 2 auxiliaries, 2 managers for 800 floating);
    * B3, B4 (rural): B3 has no auxiliary; B4 is fine.
    Governance grid G3 straddles B1 (2,000 households) and B2 (1,500): misaligned, its
    main beat is B1 and the suggestion moves B2's part (1,500 households) to B1.
    """
    crs = 4490
    stations = gpd.GeoDataFrame({"id": ["S1"], "name": ["江北所"], "officers_total": [20]},
                                geometry=[box(0, 0, 2, 2)], crs=crs)
    areas = gpd.GeoDataFrame({"id": ["R1"], "station_id": ["S1"]}, geometry=[box(0, 0, 2, 2)],
                             crs=crs)
    cells = [box(0, 0), box(1, 0), box(0, 1), box(1, 1)]
    beats = gpd.GeoDataFrame({"id": ["B1", "B2", "B3", "B4"], "name": ["甲", "乙", "丙", "丁"],
                              "station_id": "S1", "responsibility_area_id": "R1"},
                             geometry=cells, crs=crs)
    comms = gpd.GeoDataFrame({"id": ["C1", "C2", "C3", "C4"],
                              "kind": ["urban", "urban", "rural", "rural"], "station_id": "S1",
                              "beat_id": ["B1", "B2", "B3", "B4"]}, geometry=cells, crs=crs)
    bld_rows = [("C1", 0.3, 0.3, 2000, 6000, 4500), ("C2", 1.5, 0.5, 1500, 3000, 800),
                ("C3", 0.5, 1.5, 300, 800, 100), ("C4", 1.5, 1.5, 300, 800, 100)]
    buildings = gpd.GeoDataFrame(
        {"id": [f"bd{i}" for i in range(4)], "community_id": [r[0] for r in bld_rows],
         "households": [r[3] for r in bld_rows],
         "population_registered": [r[4] for r in bld_rows],
         "population_floating": [r[5] for r in bld_rows]},
        geometry=[pt(r[1], r[2]).buffer(0.0003) for r in bld_rows], crs=crs)
    rooms = gpd.GeoDataFrame({"id": ["PR1", "PR2", "PR3", "PR4"], "room_type": [2, 2, 2, 2],
                              "office_condition": ["awaiting_rebuild", "independent",
                                                   "independent", "independent"],
                              "beat_id": ["B1", "B2", "B3", "B4"]},
                             geometry=[pt(0.5, 0.5), pt(1.5, 0.5), pt(0.5, 1.5), pt(1.5, 1.5)],
                             crs=crs)
    staff = pd.DataFrame({"beat_id": ["B1", "B2", "B3", "B4"], "community_officers": [1, 1, 1, 1],
                          "auxiliaries": [3, 2, 0, 2], "floating_managers": [5, 2, 1, 1],
                          "grid_workers": [4, 3, 1, 1]})
    rng = np.random.default_rng(0)
    n = 200
    xy = np.c_[rng.uniform(0, 0.6, n), rng.uniform(0, 0.6, n)]
    times = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 365 * 24, n), unit="h")
    incidents = gpd.GeoDataFrame({"id": [f"i{k}" for k in range(n)],
                                  "category": rng.choice(["burglary", "dispute"], n),
                                  "occurred_at": times},
                                 geometry=[pt(x, y) for x, y in xy], crs=crs)
    gov = gpd.GeoDataFrame({"id": ["G1", "G2", "G3", "G4"],
                            "department": "comprehensive_governance"},
                           geometry=[box(0, 1), box(0, 0, 0.2, 1), box(0.2, 0, 1.6, 1),
                                     box(1, 1)], crs=crs)
    return {"stations": stations, "responsibility_areas": areas, "beats": beats,
            "communities": comms, "buildings": buildings, "police_rooms": rooms,
            "staff": staff, "incidents": incidents, "governance_grids": gov}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    path = tmp_path_factory.mktemp("staffing") / "district.gpkg"
    write_layers(path, fixture_layers())
    return path


def test_assess_project_in_memory():
    res = assess_project(fixture_layers())
    g = res.gaps.set_index("beat_id")
    assert g.loc["B1", "officers_required"] == 2 and g.loc["B1", "officers_gap"] == 1
    assert g.loc["B1", "floating_managers_required"] == 9          # ceil(4,500 / 500)
    assert "officers_population" in g.loc["B1", "failed_rules"]
    assert g.loc["B2", "severity"] == "ok"
    assert g.loc["B3", "failed_rules"] == "auxiliaries_ratio"
    assert g.loc["B3", "severity"] == "medium"          # auxiliaries 0 of 2: 1 x 2/2 = 1.0
    assert res.stations.iloc[0]["officers_gap"] == 1


def test_staffing_cli_writes_csv_and_offline_map(project, tmp_path, capsys):
    out, html = tmp_path / "staffing.csv", tmp_path / "staffing.html"
    assert main(["staffing", "--project", str(project), "--out", str(out),
                 "--map", str(html)]) == 0
    text = capsys.readouterr().out
    assert "4 beats assessed; 2 understaffed" in text
    assert "B1" in text and "officers_population" in text
    df = pd.read_csv(out)
    for col in ("beat_id", "officers_required", "officers_actual", "auxiliaries_required",
                "auxiliaries_actual", "floating_managers_required", "floating_managers_actual",
                "grid_workers_required", "grid_workers_actual", "failed_rules", "severity"):
        assert col in df.columns
    assert len(df) == 4
    page = html.read_text(encoding="utf-8")
    assert "Officers required / actual" in page
    assert "https://cdn" not in page and "unpkg.com" not in page


def test_staffing_cli_policy_override_and_error(project, tmp_path, capsys):
    pol = tmp_path / "city.toml"
    pol.write_text("[officers]\ntwo_officer_population = 20000\n"
                   "[floating_managers]\nfloating_per_manager = 1000\n"
                   "[auxiliaries]\nminimum = 0\nper_officer = 0.0\n", encoding="utf-8")
    out = tmp_path / "s.csv"
    assert main(["staffing", "-p", str(project), "--policy", str(pol), "--out", str(out)]) == 0
    df = pd.read_csv(out).set_index("beat_id")
    assert df.loc["B1", "officers_required"] == 1
    assert df.loc["B1", "floating_managers_required"] == 5          # ceil(4,500 / 1,000)
    capsys.readouterr()
    bad = tmp_path / "bad.toml"
    bad.write_text("[auxiliaries]\nper_officer = -1.5\n", encoding="utf-8")
    assert main(["staffing", "-p", str(project), "--policy", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "auxiliaries.per_officer" in err and "-1.5" in err and "Fix:" in err


def test_alignment_cli(project, tmp_path, capsys):
    html, moves = tmp_path / "al.html", tmp_path / "moves.csv"
    assert main(["alignment", "-p", str(project), "--map", str(html),
                 "--reassign-out", str(moves)]) == 0
    text = capsys.readouterr().out
    assert "4 governance grids; 1 misaligned" in text and "1,500 households affected" in text
    m = pd.read_csv(moves)
    assert m[["grid_id", "from_beat", "to_beat"]].values.tolist() == [["G3", "B2", "B1"]]
    assert "Share in main beat %" in html.read_text(encoding="utf-8")


def test_hotspots_cli(project, tmp_path, capsys):
    html, change = tmp_path / "hs.html", tmp_path / "change.csv"
    assert main(["hotspots", "-p", str(project), "--permutations", "99", "--map", str(html),
                 "--change-out", str(change), "--zones", "beats"]) == 0
    text = capsys.readouterr().out
    assert "Getis-Ord Gi* on 4 beats" in text and "Kernel density" in text
    ch = pd.read_csv(change)
    assert ch["beat_id"].iloc[-1] == "(all)"
    assert ch["previous"].iloc[-1] + ch["current"].iloc[-1] <= 200
    assert "https://cdn" not in html.read_text(encoding="utf-8")


def test_beats_cli_derives_areas_and_writes(project, tmp_path, capsys):
    copy = tmp_path / "copy.gpkg"
    copy.write_bytes(project.read_bytes())
    assert main(["beats", "-p", str(copy), "--areas", "2", "--balance-by", "beats",
                 "--dry-run"]) == 0
    assert "dry run" in capsys.readouterr().out
    assert read_layer(copy, "beats")["responsibility_area_id"].unique().tolist() == ["R1"]
    assert main(["beats", "-p", str(copy), "--areas", "2", "--balance-by", "beats"]) == 0
    beats = read_layer(copy, "beats")
    assert sorted(beats["responsibility_area_id"].value_counts().tolist()) == [2, 2]
    areas = read_layer(copy, "responsibility_areas")
    assert sorted(areas["id"]) == sorted(beats["responsibility_area_id"].unique())


def test_beats_cli_rederive_merges_villages_and_moves_rooms_and_staff(project, tmp_path):
    copy = tmp_path / "merge.gpkg"
    copy.write_bytes(project.read_bytes())
    pol = tmp_path / "rural.toml"
    pol.write_text("[beats]\nrural_merge = true\nrural_max_households = 1000\n",
                   encoding="utf-8")
    assert main(["beats", "-p", str(copy), "--rederive", "--policy", str(pol),
                 "--balance-by", "households"]) == 0
    beats = read_layer(copy, "beats")
    assert sorted(beats["id"]) == ["B1", "B2", "B3"]          # villages C3 + C4 share B3
    comms = read_layer(copy, "communities").set_index("id")
    assert comms.loc["C4", "beat_id"] == "B3"
    assert read_layer(copy, "police_rooms").set_index("id").loc["PR4", "beat_id"] == "B3"
    staff = read_layer(copy, "staff").set_index("beat_id")
    assert staff.loc["B3", "auxiliaries"] == 2 and staff.loc["B3", "community_officers"] == 2
