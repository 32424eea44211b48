"""Issue 9, the importers: damaged files, empty replacements, unmapped columns, camera
lists from other systems and a city's own vocabulary.

Each row of :data:`CASES` is one bad input of the issue, imported with the command line
into a copy of the sample project: the files are realistic (a camera list exported from
another system with Chinese column names and GCJ-02 coordinates, a crime CSV with a
city's codes, a damaged GeoPackage and OSM extract), built from the sample in a
temporary folder. Each row gives the exit status, words the message must contain (the
file, column or value, and the fix), whether the project's bytes must be unchanged
(sha256, for refused imports) and, for accepted ones, a check of what was stored.
:data:`API_CASES` does the same through the Python functions.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest

from beatgrid.api.cli import main
from beatgrid.gis.errors import BeatGridError, InputError, ValidationError
from beatgrid.gis.io.china_coords import wgs84_to_gcj02
from beatgrid.gis.io.importers import import_layer, read_layer_file

SAMPLE = Path(__file__).resolve().parents[2] / "sample-geodata" / "ningbo-jiangbei.gpkg"

#: The city's incident descriptions (a Chicago-style ``primary_description``) of each
#: BeatGrid category of the sample, and the value map a city would write for them.
CITY_CODES = {"burglary": "BURGLARY", "bicycle_theft": "THEFT", "ebike_theft": "THEFT",
              "pickpocketing": "THEFT", "vehicle_theft": "MOTOR VEHICLE THEFT",
              "fraud": "DECEPTIVE PRACTICE", "assault": "BATTERY", "dispute": "OTHER OFFENSE",
              "traffic": "TRAFFIC", "disturbance": "PUBLIC PEACE VIOLATION",
              "other": "CRIMINAL DAMAGE"}
VALUE_MAP = {"THEFT": "bicycle_theft", "MOTOR VEHICLE THEFT": "vehicle_theft",
             "BURGLARY": "burglary", "DECEPTIVE PRACTICE": "fraud", "BATTERY": "assault",
             "OTHER OFFENSE": "dispute", "TRAFFIC": "traffic",
             "PUBLIC PEACE VIOLATION": "disturbance", "CRIMINAL DAMAGE": "other"}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write(path: Path, rows: list[list[object]]) -> Path:
    pd.DataFrame(rows[1:], columns=rows[0]).to_csv(path, index=False, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Realistic source files built from the sample project."""
    d = tmp_path_factory.mktemp("sources")
    cams = pyogrio.read_dataframe(SAMPLE, layer="cameras").to_crs(4326)
    incidents = pyogrio.read_dataframe(SAMPLE, layer="incidents").to_crs(4326)
    out: dict[str, Path] = {}

    # a camera list from another system: Chinese names, GCJ-02, direction written many ways
    lon, lat = wgs84_to_gcj02(cams.geometry.x.to_numpy(), cams.geometry.y.to_numpy())
    rows: list[list[object]] = [["点位编号", "经度", "纬度", "朝向", "安装高度", "camera:type",
                                 "surveillance:type", "备注"]]
    special = {0: ("-45", ""), 1: ("180, 270", ""), 2: ("东北", ""), 3: ("朝向不明", ""),
               4: ("360", "dome"), 5: ("90", "dome")}
    for i, cam in enumerate(cams.itertuples()):
        direction = "" if pd.isna(cam.direction) else f"{cam.direction:g}"
        direction, ctype = special.get(i, (direction, ""))
        rows.append([cam.id, f"{lon[i]:.7f}", f"{lat[i]:.7f}", direction,
                     f"{cam.height_m:g} m" if i % 2 else f"{cam.height_m:g}", ctype, "camera",
                     "主干道"])
    for n in (1, 2):  # guard posts exported with the cameras
        rows.append([f"GUARD{n}", f"{lon[n]:.7f}", f"{lat[n]:.7f}", "", "", "", "guard", "岗亭"])
    out["cams"] = _write(d / "摄像头点位_gcj02.csv", rows)

    # crimes with the city's codes
    rows = [["case_number", "primary_description", "date", "longitude", "latitude"]]
    for inc in incidents.itertuples():
        rows.append([inc.id, CITY_CODES[inc.category], str(inc.occurred_at),
                     f"{inc.geometry.x:.7f}", f"{inc.geometry.y:.7f}"])
    out["crimes"] = _write(d / "crimes_2025.csv", rows)
    out["codes"] = _write(d / "codes.csv", [["primary_description", "category"],
                                            *map(list, VALUE_MAP.items())])
    out["codes_partial"] = _write(d / "codes_partial.csv", [["code", "category"],
                                                            *list(map(list, VALUE_MAP.items()))[:5]])
    out["codes_bad"] = _write(d / "codes_bad.csv", [["code", "category"], ["THEFT", "larceny"]])

    # buildings with a households column named 户数 (GeoJSON), with and without levels
    b = pyogrio.read_dataframe(SAMPLE, layer="buildings").iloc[:40].to_crs(4326)
    src = b[["id", "households", "geometry"]].rename(columns={"id": "楼栋编号", "households": "户数"})
    src.to_file(d / "楼栋.geojson")
    out["buildings"] = d / "楼栋.geojson"
    src.assign(层数=b["levels"].to_numpy()).to_file(d / "楼栋_层数.geojson")
    out["buildings_levels"] = d / "楼栋_层数.geojson"

    out["header_only"] = d / "cameras_header_only.csv"
    out["header_only"].write_text("id,lon,lat,direction\n", encoding="utf-8")

    # a GeoPackage whose buildings pages are corrupt (its layer list still reads)
    shutil.copyfile(SAMPLE, d / "survey_damaged.gpkg")
    with sqlite3.connect(d / "survey_damaged.gpkg") as con:
        pages = [r[0] for r in con.execute(
            "SELECT pageno FROM dbstat WHERE name = 'buildings' AND pagetype = 'leaf'")]
    with open(d / "survey_damaged.gpkg", "r+b") as f:
        for page in pages[5:15]:
            f.seek((page - 1) * 4096 + 8)
            f.write(np.random.default_rng(page).bytes(4096 - 8))
    out["damaged"] = d / "survey_damaged.gpkg"

    try:  # a truncated OSM extract
        import pyrosm

        pbf = Path(pyrosm.get_data("test_pbf")).read_bytes()
        out["osm_truncated"] = d / "truncated.osm.pbf"
        out["osm_truncated"].write_bytes(pbf[: len(pbf) // 2])
    except Exception:  # noqa: BLE001 - no offline extract: that row is skipped
        pass
    return out


@pytest.fixture
def project(tmp_path) -> Path:
    path = tmp_path / "p.gpkg"
    shutil.copyfile(SAMPLE, path)
    return path


# -- checks of what an accepted import stored ------------------------------------------------------

def _cameras_read_like_osm(project: Path, files: dict[str, Path]) -> None:
    cams = pyogrio.read_dataframe(project, layer="cameras").set_index("id")
    sample = pyogrio.read_dataframe(SAMPLE, layer="cameras")
    ids = sample["id"].tolist()
    assert len(cams) == 300 and not any(i.startswith("GUARD") for i in cams.index)
    assert cams.loc[ids[0], "direction"] == 315.0             # -45
    assert cams.loc[ids[1], "direction"] == 180.0             # "180, 270": the first
    assert cams.loc[ids[2], "direction"] == 45.0              # 东北
    assert np.isnan(cams.loc[ids[3], "direction"])            # unreadable: left empty
    for i in (4, 5):                                          # domes, whatever the direction
        assert np.isnan(cams.loc[ids[i], "direction"]) and cams.loc[ids[i], "fov_deg"] == 360.0
    assert cams.loc[ids[7], "height_m"] == sample.loc[7, "height_m"]  # "5.1 m"
    # GCJ-02 converted back: within centimetres of the sample
    back = cams.loc[ids, "geometry"].to_crs(4547).distance(
        sample.set_index("id").geometry.to_crs(4547).loc[ids])
    assert back.max() < 0.05


def _no_cameras(project: Path, files: dict[str, Path]) -> None:
    assert len(pyogrio.read_dataframe(project, layer="cameras")) == 0


def _crimes_mapped(project: Path, files: dict[str, Path]) -> None:
    inc = pyogrio.read_dataframe(project, layer="incidents").set_index("id")
    sample = pyogrio.read_dataframe(SAMPLE, layer="incidents").set_index("id")
    assert len(inc) == len(sample)
    expected = sample["category"].map(CITY_CODES).map(VALUE_MAP)
    assert (inc.loc[sample.index, "category"] == expected).all()
    # preventable as the schema defines it from the category
    assert inc.loc[expected == "bicycle_theft", "preventable"].all()
    assert not inc.loc[expected == "assault", "preventable"].any()


def _check_frame(inc: pd.DataFrame) -> None:
    sample = pyogrio.read_dataframe(SAMPLE, layer="incidents").set_index("id")
    inc = inc.set_index("id")
    expected = sample["category"].map(CITY_CODES).map(VALUE_MAP)
    assert (inc.loc[sample.index, "category"] == expected).all()
    assert (inc["preventable"] == inc["category"].isin(
        ["burglary", "bicycle_theft", "ebike_theft", "vehicle_theft", "pickpocketing"])).all()


def _households_estimated(project: Path, files: dict[str, Path]) -> None:
    b = pyogrio.read_dataframe(project, layer="buildings")
    assert len(b) == 40 and b["households_estimated"].all()


@dataclass(frozen=True)
class Case:
    name: str
    args: Callable[[dict[str, Path]], list[str]]
    status: int
    words: tuple[str, ...]
    unchanged: bool
    check: Callable[[Path, dict[str, Path]], None] | None = None
    lines_at_most: int | None = None


CAM_MAPS = ["--map", "点位编号=id", "--lon-col", "经度", "--lat-col", "纬度", "--coords", "gcj02"]
CRIME_MAPS = ["--map", "case_number=id", "--map", "primary_description=category",
              "--map", "date=occurred_at"]

CASES = [
    Case("damaged source GeoPackage",
         lambda f: ["import", "buildings", str(f["damaged"])], 2,
         ("survey_damaged.gpkg", "damaged", "export the layer again"), True),
    Case("damaged OSM extract",
         lambda f: ["import", "osm", str(f["osm_truncated"])], 2,
         ("truncated.osm.pbf", "damaged", "download the extract again"), True),
    Case("CSV holding only its header",
         lambda f: ["import", "cameras", str(f["header_only"])], 2,
         ("cameras_header_only.csv", "300 stored cameras", "--allow-empty"), True),
    Case("CSV holding only its header, --allow-empty",
         lambda f: ["import", "cameras", str(f["header_only"]), "--allow-empty"], 0,
         ("0 features replaced",), False, _no_cameras),
    Case("unmapped 朝向 and 安装高度",
         lambda f: ["import", "cameras", str(f["cams"]), *CAM_MAPS], 0,
         ("'朝向'", "cameras.direction", "360-degree dome", "--map 朝向=direction",
          "--map 安装高度=height_m"), False),
    Case("unmapped 户数, no levels",
         lambda f: ["import", "buildings", str(f["buildings"]), "--map", "楼栋编号=id"], 2,
         ("column=households", "--map 户数=households"), True),
    Case("unmapped 户数 beside levels (estimated instead)",
         lambda f: ["import", "buildings", str(f["buildings_levels"]), "--map", "楼栋编号=id",
                    "--map", "层数=levels"], 0,
         ("'户数' looks like buildings.households", "--map 户数=households"), False,
         _households_estimated),
    Case("camera list from another system, read like import osm",
         lambda f: ["import", "cameras", str(f["cams"]), *CAM_MAPS, "--map", "朝向=direction",
                    "--map", "安装高度=height_m"], 0,
         ("direction: 1 value(s) not understood, left empty", "='朝向不明'",
          "2 row(s) that are not cameras (surveillance:type=guard) skipped",
          "2 camera(s) with camera:type=dome"), False, _cameras_read_like_osm),
    Case("a city's crime codes without a value map",
         lambda f: ["import", "incidents", str(f["crimes"]), *CRIME_MAPS], 2,
         ("9 validation errors", "column=category", "'THEFT'", "in 402 rows",
          "--map-values category=FILE.csv", "burglary (preventable)", "fraud, assault"), True,
         lines_at_most=12),
    Case("a city's crime codes with --map-values",
         lambda f: ["import", "incidents", str(f["crimes"]), *CRIME_MAPS, "--map-values",
                    f"category={f['codes']}"], 0,
         ("1,499 value(s) of 9 distinct source value(s) mapped",), False, _crimes_mapped),
    Case("values left unmapped by the value map",
         lambda f: ["import", "incidents", str(f["crimes"]), *CRIME_MAPS, "--map-values",
                    f"category={f['codes_partial']}"], 2,
         ("4 validation errors", "not in the value map", "codes_partial.csv", "'TRAFFIC'",
          "--map-values category="), True, lines_at_most=8),
    Case("value map to a category BeatGrid does not have",
         lambda f: ["import", "incidents", str(f["crimes"]), *CRIME_MAPS, "--map-values",
                    f"category={f['codes_bad']}"], 2,
         ("codes_bad.csv", "line 2", "'larceny'", "map to one of: burglary"), True),
    Case("value map for a column the file does not have",
         lambda f: ["import", "incidents", str(f["crimes"]), "--map", "case_number=id",
                    "--map-values", f"category={f['codes']}"], 2,
         ("value map for 'category'", "crimes_2025.csv", "--map SRC=category"), True),
    Case("malformed --map-values",
         lambda f: ["import", "incidents", str(f["crimes"]), "--map-values", "category"], 2,
         ("--map-values 'category' is not COLUMN=FILE.csv", "category=codes.csv"), True),
    Case("file options given to import osm",
         lambda f: ["import", "osm", str(f["crimes"]), "--map", "a=b"], 2,
         ("import osm does not take --map", "drop these options"), True),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_import_file_case(case: Case, files, project, capsys):
    try:
        argv = case.args(files) + ["--project", str(project)]
    except KeyError as exc:
        pytest.skip(f"source {exc} not available offline")
    before = sha256(project)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        status = main(argv)
    out, err = capsys.readouterr()
    text = "\n".join([out, err, *(str(w.message) for w in caught)])
    assert status == case.status, text
    for word in case.words:
        assert word in text, (word, text)
    assert "Traceback" not in text
    if case.unchanged:
        assert sha256(project) == before
    if case.lines_at_most is not None:
        assert len(err.strip().splitlines()) <= case.lines_at_most, err
    if case.check is not None:
        case.check(project, files)


# -- the same through the Python functions ----------------------------------------------------------

@dataclass(frozen=True)
class ApiCase:
    name: str
    call: Callable[[Path, dict[str, Path]], object]
    error: type[BeatGridError] | None
    words: tuple[str, ...]
    check: Callable[[Path, dict[str, Path]], None] | None = None


API_CASES = [
    ApiCase("empty replacement refused",
            lambda p, f: import_layer(p, "cameras", f["header_only"]), InputError,
            ("cameras_header_only.csv", "allow_empty=True")),
    ApiCase("empty replacement asked for",
            lambda p, f: import_layer(p, "cameras", f["header_only"], allow_empty=True), None,
            (), _no_cameras),
    ApiCase("value_map as a dict",
            lambda p, f: _check_frame(read_layer_file(
                f["crimes"], layer_name="incidents", value_map={"category": VALUE_MAP},
                column_map={"case_number": "id", "primary_description": "category",
                            "date": "occurred_at"})), None, ()),
    ApiCase("value_map as a dict, to a value BeatGrid does not have",
            lambda p, f: import_layer(
                p, "incidents", f["crimes"], value_map={"category": {"THEFT": "larceny"}},
                column_map={"case_number": "id", "primary_description": "category"}),
            InputError, ("value_map for 'category'", "larceny", "burglary")),
    ApiCase("distinct bad values, one problem each",
            lambda p, f: read_layer_file(
                f["crimes"], layer_name="incidents",
                column_map={"case_number": "id", "primary_description": "category"}),
            ValidationError, ("in 402 rows",)),
]


@pytest.mark.parametrize("case", API_CASES, ids=[c.name for c in API_CASES])
def test_import_api_case(case: ApiCase, files, project):
    before = sha256(project)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if case.error is None:
            case.call(project, files)
        else:
            with pytest.raises(case.error) as exc:
                case.call(project, files)
            for word in case.words:
                assert word in str(exc.value), (word, str(exc.value))
            if isinstance(exc.value, ValidationError):
                assert len(exc.value.errors) == len(set(VALUE_MAP))
            assert sha256(project) == before
    if case.check is not None:
        case.check(project, files)
