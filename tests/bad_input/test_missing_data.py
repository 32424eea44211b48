"""Issue 9, "missing data judged honestly": one row per case, through Python and the CLI.

Every project starts as a copy of the sample district (``Project.sample``) with one
realistic defect: no staff roster, no households, a partial roster, incidents a few
centimetres outside the district, numeric ids 1..12. For each the outputs of
``project.policing.assess()`` / ``hotspots()`` and of the command line are checked:
no beat ranked as a shortfall for missing data, the notes name what is missing, the
counts are reported, ids sort naturally. Bad numeric options are refused with the
option, the value and the fix (exit 2) and the project's bytes stay unchanged.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from beatgrid.api.cli import main
from beatgrid.gis import Project
from beatgrid.gis.crs import to_metric
from beatgrid.gis.errors import InputError
from beatgrid.gis.schema import empty_layer

SHORTFALL = {"low", "medium", "high", "critical"}
POPULATION_RULES = ("officers_population", "officers_inverted", "floating_managers_ratio")


# --------------------------------------------------------------------------------------
# The reduced projects
# --------------------------------------------------------------------------------------

def no_roster_no_households(p: Project) -> None:
    """The issue's project: beats and incidents, no staff, no households, no rooms."""
    p.write({"staff": empty_layer("staff"), "buildings": empty_layer("buildings"),
             "police_rooms": empty_layer("police_rooms")})


def empty_roster(p: Project) -> None:
    p.write({"staff": empty_layer("staff")})


def zero_households(p: Project) -> None:
    """Buildings kept, their households and population all 0 (an OSM-only import)."""
    b = p.layer("buildings")
    for col in ("households", "population_registered", "population_floating"):
        b[col] = 0
    p.write({"buildings": b})


def partial_roster(p: Project) -> None:
    s = p.layer("staff")
    p.write({"staff": s[~s["beat_id"].isin(["B03", "B07"])]})


def incidents_outside(p: Project) -> None:
    """4 incidents 3 cm outside the district's extreme vertices, 1 incident 50 m out."""
    beats, inc = p.layer("beats"), p.layer("incidents")
    bm = to_metric(beats, layer="beats")
    xy = shapely.get_coordinates(shapely.union_all(bm.geometry.array).convex_hull.exterior)
    w, e, s, n = (xy[:, 0].argmin(), xy[:, 0].argmax(), xy[:, 1].argmin(),
                  xy[:, 1].argmax())
    moved = [(xy[w, 0] - 0.03, xy[w, 1]), (xy[e, 0] + 0.03, xy[e, 1]),
             (xy[s, 0], xy[s, 1] - 0.03), (xy[n, 0], xy[n, 1] + 0.03),
             (xy[w, 0] - 50.0, xy[w, 1])]
    pts = gpd.GeoSeries([shapely.Point(x, y) for x, y in moved], crs=bm.crs).to_crs(inc.crs)
    geoms = inc.geometry.to_numpy().copy()
    geoms[:5] = pts.to_numpy()
    p.write({"incidents": inc.set_geometry(gpd.GeoSeries(geoms, crs=inc.crs, index=inc.index))})


BEAT_IDS = {f"B{i:02d}": str(i) for i in range(1, 13)}
STATION_IDS = {"S01": "2", "S02": "10"}
AREA_IDS = {"R01": "1", "R02": "2", "R03": "10"}


def numeric_ids(p: Project) -> None:
    """Beats 1..12, stations 2 and 10, areas 1, 2, 10, stored in text order (1, 10, 11, 2...)."""
    layers = p.read(["stations", "responsibility_areas", "beats", "communities",
                     "police_rooms", "staff"])
    renames = {"id": None, "beat_id": BEAT_IDS, "station_id": STATION_IDS,
               "responsibility_area_id": AREA_IDS}
    own = {"stations": STATION_IDS, "responsibility_areas": AREA_IDS, "beats": BEAT_IDS}
    for name, df in layers.items():
        for col, mapping in renames.items():
            mapping = own.get(name) if col == "id" else mapping
            if mapping and col in df:
                df[col] = df[col].map(lambda v, m=mapping: m.get(v, v))
        key = "id" if "id" in df and name in own else "beat_id" if name == "staff" else None
        if key:
            layers[name] = df.sort_values(key).reset_index(drop=True)
    assert layers["beats"]["id"].tolist()[:3] == ["1", "10", "11"]
    p.write(layers)


# --------------------------------------------------------------------------------------
# What each case must give
# --------------------------------------------------------------------------------------

def check_no_roster_no_households(p: Project) -> None:
    res = p.policing.assess()
    g = res.gaps
    assert not g["severity"].isin(SHORTFALL).any() and (g["severity"] == "not judged").all()
    assert res.understaffed.empty and len(res.not_judged) == 12
    # computed where the inputs exist: the per-beat rule and the incident workload
    assert (g["officers_required"] >= 1).all() and g["incidents"].sum() == 1499
    assert g["officers_workload"].notna().all()
    # missing actuals are empty, never negative gaps
    for role in ("officers", "auxiliaries", "floating_managers", "grid_workers"):
        assert g[f"{role}_actual"].isna().all() and g[f"{role}_gap"].isna().all()
    assert g["population_actual"].isna().all() and g["households"].isna().all()
    assert g["failed_rules"].eq("").all() and g["reasons"].str.contains("no staff roster").all()
    assert res.missing == ("staff", "population", "households", "police_rooms")
    notes = " | ".join(res.notes)
    for words in ("no staff roster", "no population figures", "no households",
                  "no police rooms in the project"):
        assert words in notes
    assert res.rooms.empty                                 # no "no_room" row per beat
    assert (res.stations["worst_severity"] == "not judged").all()
    assert (res.stations["understaffed_beats"] == 0).all()
    assert res.stations["officers_actual"].isna().all()


def check_empty_roster(p: Project) -> None:
    res = p.policing.assess()
    g = res.gaps
    assert (g["severity"] == "not judged").all() and res.missing == ("staff",)
    assert int(g["population_actual"].sum()) > 0            # the population is known
    assert g["officers_required"].max() == 2 and g["officers_actual"].isna().all()
    assert "no staff roster (the staff layer is empty)" in res.notes[0]
    flagged = res.rooms[res.rooms["flagged"]]
    assert not flagged["flags"].str.contains("understaffed").any()   # actuals unknown


def check_zero_households(p: Project) -> None:
    res = p.policing.assess()
    g = res.gaps
    assert res.missing == ("population", "households")
    failed = ";".join(g["failed_rules"])
    for rule in (*POPULATION_RULES, "grid_workers_per_grid"):
        assert rule not in failed
    assert g["floating_managers_required"].isna().all()
    assert g["grid_workers_required"].isna().all()          # no grids, no households
    assert (g["officers_required"] >= 1).all()               # still one per beat
    ok_before = {"B05", "B06", "B08", "B09", "B10"}
    assert (g.set_index("beat_id").loc[sorted(ok_before), "severity"] == "not judged").all()
    notes = " | ".join(res.notes)
    assert "no population figures" in notes and "floating_managers_ratio" in notes
    assert "no households" in notes


def check_partial_roster(p: Project) -> None:
    res = p.policing.assess()
    g = res.gaps.set_index("beat_id")
    assert g.loc["B03", "severity"] == "not judged" and g.loc["B07", "severity"] == "not judged"
    assert pd.isna(g.loc["B03", "officers_gap"])
    assert g.loc["B01", "severity"] == "high"                # judged beats keep their rank
    assert "2 beat(s) are not on the staff roster (e.g. B03, B07)" in " | ".join(res.notes)
    st = res.stations.set_index("station_id")
    assert pd.isna(st.loc["S01", "officers_actual"]) or pd.isna(st.loc["S02", "officers_actual"])


def check_incidents_outside(p: Project) -> None:
    res = p.policing.hotspots(zones="beats", permutations=0)
    assert (res.incidents_snapped, res.incidents_outside) == (4, 1)
    assert int(res.zones["value"].sum()) == 1498
    assert int(res.change.iloc[-1][["previous", "current"]].sum()) <= 1498
    notes = " | ".join(res.notes)
    assert "4 incident(s) lay outside every beat but within 5 m" in notes
    assert "1 incident(s) lie outside every beat, more than 5 m" in notes
    off = p.policing.hotspots(zones="beats", permutations=0, snap_m=0)
    assert (off.incidents_snapped, off.incidents_outside) == (0, 5)
    assert int(off.zones["value"].sum()) == 1494
    staffing = p.policing.assess()
    assert (staffing.incidents_snapped, staffing.incidents_outside) == (4, 1)
    assert int(staffing.gaps["incidents"].sum()) == 1498


def check_numeric_ids(p: Project) -> None:
    res = p.policing.assess()
    assert res.gaps["beat_id"].tolist() == [str(i) for i in range(1, 13)]
    assert res.stations["station_id"].tolist() == ["2", "10"]
    assert res.areas["responsibility_area_id"].tolist() == ["1", "2", "10"]
    # the same district as the sample: same figures under the new ids
    sample = Project.open("sample-geodata/ningbo-jiangbei.gpkg").policing.assess()
    assert res.gaps["severity"].tolist() == sample.gaps["severity"].tolist()
    hot = p.policing.hotspots(zones="beats", permutations=0)
    assert hot.zones["zone_id"].tolist() == [str(i) for i in range(1, 13)]
    assert hot.change["beat_id"].tolist()[:-1] == [str(i) for i in range(1, 13)]


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[Project], None]
    check: Callable[[Project], None]
    argv: tuple[str, ...]
    words: tuple[str, ...]
    absent: tuple[str, ...] = ()


CASES = [
    Case("no roster, no households, no rooms", no_roster_no_households,
         check_no_roster_no_households, ("staffing",),
         ("12 beats assessed; 0 understaffed (none); 12 not judged",
          "note: no staff roster", "note: no population figures", "note: no households",
          "officers           required      12  actual       -  short      -",
          "Police rooms: none in the project"),
         ("critical", "of 0", "<NA>")),
    Case("empty staff roster", empty_roster, check_empty_roster, ("staffing", "--all"),
         ("0 understaffed (none); 12 not judged", "not judged", "Police rooms flagged: 10 of 12"),
         ("critical", "high")),
    Case("zero households and population", zero_households, check_zero_households,
         ("staffing",), ("note: no population figures", "note: no households",
                         "3 understaffed (3 medium); 9 not judged", "auxiliaries_ratio"),
         ("high", "critical", "officers_population,auxiliaries_ratio",
          ",floating_managers_ratio")),
    Case("partial staff roster", partial_roster, check_partial_roster, ("staffing",),
         ("2 beat(s) are not on the staff roster (e.g. B03, B07)",),
         ()),
    Case("incidents centimetres outside the district", incidents_outside,
         check_incidents_outside, ("hotspots", "--zones", "beats", "--permutations", "0"),
         ("note: 4 incident(s) lay outside every beat but within 5 m of one",
          "note: 1 incident(s) lie outside every beat, more than 5 m from one"), ()),
    Case("incidents outside, no snapping", incidents_outside, lambda p: None,
         ("hotspots", "--zones", "beats", "--permutations", "0", "--snap-m", "0"),
         ("note: 5 incident(s) lie outside every beat (no snapping",), ("lay outside",)),
    Case("numeric ids 1..12", numeric_ids, check_numeric_ids, ("staffing", "--all"),
         ("Stations:\nstation_id", "\n         2      7", "\n        10      5"), ()),
]


@pytest.fixture(scope="module")
def projects(tmp_path_factory) -> Callable[[Case], Path]:
    """The project of a case, built on first use (once per test worker)."""
    built: dict[str, Path] = {}

    def project(case: Case) -> Path:
        name = case.build.__name__
        if name not in built:
            path = tmp_path_factory.mktemp(name) / "p.gpkg"
            case.build(Project.sample(path))
            built[name] = path
        return built[name]
    return project


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_missing_data_through_python(case: Case, projects) -> None:
    case.check(Project.open(projects(case)))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_missing_data_through_the_cli(case: Case, projects, capsys) -> None:
    path = projects(case)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    assert main([*case.argv, "--project", str(path)]) == 0
    out = capsys.readouterr().out
    for words in case.words:
        assert words in out, words
    for words in case.absent:
        assert words not in out, words
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


# --------------------------------------------------------------------------------------
# Numeric options: bounded when parsed, never ignored
# --------------------------------------------------------------------------------------

REFUSED = [
    (("staffing", "--period-days", "0"), "--period-days", "'0'", "omit --period-days"),
    (("staffing", "--period-days", "-5"), "--period-days", "'-5'", "give a number above 0"),
    (("staffing", "--period-days", "nan"), "--period-days", "'nan'", "give a number above 0"),
    (("staffing", "--snap-m", "-1"), "--snap-m", "'-1'", "give a number at least 0"),
    (("staffing", "--limit", "-1"), "--limit", "'-1'", "give a whole number from 0 up"),
    (("hotspots", "--period-days", "-5"), "--period-days", "'-5'", "0: half the span"),
    (("hotspots", "--permutations", "-1"), "--permutations", "'-1'", "from 0 up"),
    (("hotspots", "--snap-m", "inf"), "--snap-m", "'inf'", "0: no snapping"),
    (("beats", "--areas", "0"), "--areas", "'0'", "give a whole number from 1 up"),
    (("alignment", "--min-share", "0"), "--min-share", "'0'", "above 0 and at most 1"),
    (("alignment", "--limit", "x"), "--limit", "'x'", "give a whole number from 0 up"),
]


@pytest.fixture(scope="module")
def sample_copy(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sample") / "p.gpkg"
    Project.sample(path)
    return path


@pytest.mark.parametrize("argv,option,value,fix", REFUSED,
                         ids=[" ".join(r[0]) for r in REFUSED])
def test_bad_numeric_option_is_refused(argv, option, value, fix, sample_copy, capsys) -> None:
    before = hashlib.sha256(sample_copy.read_bytes()).hexdigest()
    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--project", str(sample_copy)])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert option in err and value in err and fix in err, err
    assert hashlib.sha256(sample_copy.read_bytes()).hexdigest() == before


def test_library_refuses_negative_periods_and_permutations(sample_copy) -> None:
    policing = Project.open(sample_copy).policing
    with pytest.raises(InputError, match="period_days -5 must be >= 0") as e:
        policing.hotspots(zones="beats", permutations=0, period_days=-5)
    assert "half the span" in e.value.fix
    with pytest.raises(InputError, match="permutations -1 must be >= 0"):
        policing.hotspots(zones="beats", permutations=-1)
    with pytest.raises(InputError, match="snap_m -1.0 must be a distance") as e:
        policing.assess(snap_m=-1)
    assert "0 not to snap" in e.value.fix
