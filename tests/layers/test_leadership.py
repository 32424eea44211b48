"""The leadership summary's figures equal what ``beatgrid staffing`` and ``beatgrid coverage``
report on the sample, per project and per station, and the text built from them.

The two commands run once (in a subprocess, on a copy of the sample); their CSV and the
layers they write are read back with pandas/pyogrio, never with BeatGrid.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest

from beatgrid.gis import Project
from beatgrid.gis.errors import NotFoundError
from beatgrid.layers.leadership import leadership_summary
from beatgrid.layers.report_tables import beat_rows, dashboard_data, estate_rows, map_layers
from beatgrid.layers.report_text import figure_cards, findings

SAMPLE = Path(__file__).resolve().parents[2] / "sample-geodata" / "ningbo-jiangbei.gpkg"
ROLES = ("officers", "auxiliaries", "floating_managers", "grid_workers")


def _cli(*args: str, cwd: Path) -> str:
    done = subprocess.run([sys.executable, "-m", "beatgrid.api.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    """``beatgrid staffing`` and ``beatgrid coverage`` on a copy of the sample."""
    folder = tmp_path_factory.mktemp("leadership-cli")
    project = folder / "p.gpkg"
    shutil.copy(SAMPLE, project)
    staffing_out = _cli("staffing", "--project", str(project), "--out", "staffing.csv",
                        "--stations-out", "stations.csv", cwd=folder)
    coverage_out = _cli("coverage", "--project", str(project), cwd=folder)
    return {
        "staffing_out": staffing_out, "coverage_out": coverage_out,
        "gaps": pd.read_csv(folder / "staffing.csv"),
        "stations": pd.read_csv(folder / "stations.csv"),
        "stats": pyogrio.read_dataframe(project, layer="coverage_stats"),
        "risk": pyogrio.read_dataframe(project, layer="estate_risk"),
        "estates": pyogrio.read_dataframe(project, layer="estates"),
        "communities": pyogrio.read_dataframe(project, layer="communities"),
    }


@pytest.fixture(scope="module")
def summary():
    return leadership_summary(Project.open(SAMPLE), proposal_estates=1, proposal_cameras=2)


def test_staffing_figures_equal_the_staffing_command(summary, cli):
    out, gaps = cli["staffing_out"], cli["gaps"]
    f = summary.figures()
    line = re.search(r"(\d+) beats assessed; (\d+) understaffed \((.*?)\)", out)
    assert (f.beats, f.understaffed) == (int(line[1]), int(line[2]))
    levels = dict((lv, int(n)) for n, lv in re.findall(r"(\d+) (\w+)", line[3]))
    assert f.clearly_understaffed == levels.get("high", 0) + levels.get("critical", 0) == 4
    for role in ROLES:
        req, act, short = re.search(rf"{role}\s+required\s+(\d+)\s+actual\s+(\d+)\s+short\s+(\d+)",
                                    out).groups()
        assert (f.required[role], f.actual[role], f.short[role]) == (int(req), int(act),
                                                                    int(short))
    table = summary.beat_table()
    expected = gaps.sort_values("severity_rank")
    assert table["beat_id"].tolist() == expected["beat_id"].tolist()
    assert table["failed_rules"].fillna("").tolist() == expected["failed_rules"].fillna("").tolist()
    for role in ROLES:
        assert table[f"{role}_gap"].tolist() == expected[f"{role}_gap"].tolist()


def test_station_figures_equal_the_station_rollup(summary, cli):
    for row in cli["stations"].itertuples():
        f = summary.figures(row.station_id)
        assert f.beats == row.beats and f.understaffed == row.understaffed_beats
        assert f.short["officers"] == row.officers_gap
        assert f.short["floating_managers"] == row.floating_managers_gap
    parts = [summary.figures(s) for s in summary.station_ids]
    whole = summary.figures()
    assert sum(p.cameras for p in parts) == whole.cameras == 300
    assert sum(p.cameras_in_estates for p in parts) == whole.cameras_in_estates
    assert sum(p.old_estates for p in parts) == whole.old_estates
    assert {b["station_id"] for b in beat_rows(summary, station="S01", lang="en")} == {"S01"}


def test_coverage_figures_equal_the_coverage_command(summary, cli):
    out, stats, risk = cli["coverage_out"], cli["stats"], cli["risk"]
    f = summary.figures()
    assert re.match(rf"{f.cameras} cameras", out)
    est = stats[stats["zone_type"] == "estate"]
    assert f.cameras_in_estates == int(est["cameras_inside"].sum()) == 9
    estate_line = re.search(r"\n\s+estate\s+(\d+)\s+[\d,.]+\s+([\d.]+)\s+(\d+)", out)
    assert f.cameras_in_estates == int(estate_line[3])
    old_ids = set(cli["estates"].loc[cli["estates"]["is_old"].astype(bool), "id"])
    old = est[est["zone_id"].isin(old_ids)]
    share = 1 - old["unseen_open_m2"].sum() / old["open_area_m2"].sum()
    assert f.old_estates_seen_share == pytest.approx(share, rel=1e-6)
    assert f.old_estates == len(old_ids) == len(risk) == 14
    assert f.old_estates_without_camera == int((old["cameras_inside"] == 0).sum())
    station = stats[stats["zone_type"] == "station"]
    seen = 1 - station["unseen_open_m2"].sum() / station["open_area_m2"].sum()
    assert f.seen_share == pytest.approx(seen, rel=1e-6)
    for sid, cams in zip(station["zone_id"], station["cameras_inside"]):
        assert summary.figures(sid).cameras == cams
    table = summary.estate_table()
    ranked = risk.sort_values("rank")
    assert table["estate_id"].tolist() == ranked["estate_id"].tolist()
    np.testing.assert_allclose(table["seen_share_all"], ranked["seen_share_all"], rtol=1e-6)
    np.testing.assert_allclose(table["risk_score"], ranked["risk_score"], rtol=1e-6)
    # the printed ranking: the first estate and its seen share
    first = re.search(r"\n\s+1\s+(E\d+)\s+\S+\s+([\d.]+)\s+([\d.]+)", out)
    assert (first[1], round(table["seen_share_all"].iloc[0], 3)) == ("E40", float(first[3]))


def test_proposed_cameras_raise_the_riskiest_estates_seen_share(summary):
    table = summary.estate_table()
    proposed = table[table["proposed_cameras"] > 0]
    # one estate per station (proposal_estates=1): the riskiest of each
    firsts = table.groupby("station_id")["estate_id"].first()
    assert sorted(proposed["estate_id"]) == sorted(firsts)
    assert (proposed["proposed_cameras"] == 2).all()
    assert (proposed["seen_share_after"] > proposed["seen_share_all"]).all()
    assert len(summary.proposals) == 2 * len(proposed)
    assert set(summary.proposals["estate_id"]) == set(proposed["estate_id"])
    assert table.loc[table["proposed_cameras"] == 0, "seen_share_after"].isna().all()


def test_unknown_station_is_refused_with_the_known_ids(summary):
    with pytest.raises(NotFoundError, match="station 'S9'.*") as err:
        summary.figures("S9")
    assert "S01, S02" in err.value.fix
    assert summary.figures("  ").station is None


def test_cards_and_findings_carry_the_figures(summary):
    f = summary.figures()
    cards = {c["key"]: c for c in figure_cards(f, lang="en")}
    assert cards["cameras_in_estates"]["text"] == "9 of 300 cameras inside estates"
    assert cards["clearly_understaffed"]["text"] == "4 beats clearly understaffed"
    assert cards["old_estates_seen_share"]["value"] == f"{100 * f.old_estates_seen_share:.1f}%"
    zh = {c["key"]: c for c in figure_cards(f, lang="zh")}
    assert zh["clearly_understaffed"]["text"] == "4 个警务区警力明显不足"
    found = findings(summary, lang="en")
    beats = [x for x in found if x.kind == "beat"]
    assert [x.subject for x in beats] == summary.beat_table().query(
        "failed_rules != ''")["beat_id"].tolist()
    b03 = next(x for x in beats if x.subject == "B03")
    assert "add 1 officer, 2 auxiliaries and 4 floating-population managers" in b03.text
    estates = [x for x in found if x.kind == "estate"]
    assert all("proposed cameras" in x.text for x in estates)
    assert found[-1].subject == "others" and "--estate" in found[-1].text
    assert found[0].kind == "staffing" and "4 officers, 7 auxiliaries" in found[0].text


def test_dashboard_data_and_layers_are_plain_json(summary):
    import json

    data = dashboard_data(summary, station="S02", lang="zh")
    text = json.dumps(data, allow_nan=False)
    assert data["figures"]["station"] == "S02" and data["figures"]["beats"] == 5
    assert data["charts"]["roles"].startswith("<svg") and "民警" in data["charts"]["roles"]
    assert [r["estate_id"] for r in data["estates"]] == [
        r["estate_id"] for r in estate_rows(summary, station="S02", lang="zh")]
    assert "NaN" not in text
    layers = map_layers(summary)
    assert {f["properties"]["station_id"] for f in layers["beats"]["features"]} == {"S01", "S02"}
    assert len(layers["cameras"]["features"]) == 300
    lon, lat = layers["proposals"]["features"][0]["geometry"]["coordinates"]
    assert 121 < lon < 122 and 29 < lat < 31
    json.dumps(layers, allow_nan=False)
