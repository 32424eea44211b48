"""Issue 9, the schema's checks of data: coordinates, numeric ranges, references.

Each row is one bad input of the issue, on a copy of the sample project: what goes in
(a file imported with the command line, layers written through a store or a project,
or a layer changed behind BeatGrid's back and then validated), the outcome (exit status
or the error raised), the problem it must name (layer, feature id, column, value) and
words of its fix. A refused input leaves the project's bytes unchanged (sha256).
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from beatgrid.api.cli import main
from beatgrid.gis import Project, schema
from beatgrid.gis.errors import ValidationError
from beatgrid.gis.io.store import open_store

SAMPLE = Path(__file__).resolve().parents[2] / "sample-geodata" / "ningbo-jiangbei.gpkg"
LON, LAT = 121.55, 29.91  # inside the sample district


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def sample_layers() -> dict[str, pd.DataFrame]:
    return open_store(SAMPLE).read_layers()


@pytest.fixture
def project(tmp_path) -> Path:
    path = tmp_path / "p.gpkg"
    shutil.copyfile(SAMPLE, path)
    return path


def points(ids, xy, crs=4490, **columns) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": list(ids), **columns},
                            geometry=[shapely.Point(x, y) for x, y in xy], crs=crs)


def geojson(path: Path, rows: list[tuple[str, float, float]], crs: str | None = None) -> Path:
    doc: dict[str, Any] = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": i},
         "geometry": {"type": "Point", "coordinates": [x, y]}} for i, x, y in rows]}
    if crs:
        doc["crs"] = {"type": "name", "properties": {"name": crs}}
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


# -- the table -------------------------------------------------------------------------------

@dataclass
class Case:
    """One bad input. ``make(tmp_path, sample_layers)`` returns what goes in:

    - ``cli``: (layer, file) for ``beatgrid import``, expected exit 2;
    - ``write``: layers for ``open_store(copy).write_layers``, expected ValidationError;
    - ``project``: layers for ``Project.sample(tmp_path / "p.gpkg").write``, same;
    - ``validate``: (layer, frame) overwritten behind BeatGrid's back with pyogrio, then
      ``beatgrid validate``, expected exit 1.
    """

    name: str
    how: str
    make: Callable[[Path, dict[str, pd.DataFrame]], Any]
    layer: str
    row_id: Any
    column: str
    value: Any
    words: tuple[str, ...]
    fix_words: tuple[str, ...]
    extra: dict[str, Any] = field(default_factory=dict)


def _with(layers, layer, row, **values):
    df = layers[layer].copy()
    for column, value in values.items():
        df[column] = df[column].astype(object)
        df.loc[df.index[row], column] = value
    return df


def _camera(**values):
    def make(_tmp, layers):
        return {"cameras": _with(layers, "cameras", 0, **values)}
    return make


CASES = [
    # coordinates ------------------------------------------------------------------------
    Case("geojson_without_crs_holding_metres", "cli",
         lambda tmp, _l: ("cameras", geojson(tmp / "m.geojson", [("M1", 1228591.0, 3310000.0)])),
         "cameras", "M1", "geometry", (1228591.0, 3310000.0),
         ("look like projected metres",), ("--crs EPSG:4547",)),
    Case("zone_prefixed_gauss_kruger_metres", "cli",
         lambda tmp, _l: ("cameras", geojson(tmp / "z.geojson", [("Z1", 40465000.0, 3310000.0)])),
         "cameras", "Z1", "geometry", (40465000.0, 3310000.0),
         ("look like projected metres",), ("--crs EPSG:4528",)),
    Case("latitude_96", "cli",
         lambda tmp, _l: ("cameras", geojson(tmp / "l.geojson", [("L1", LON, 96.0)])),
         "cameras", "L1", "geometry", (LON, 96.0),
         ("latitude beyond 90",), ("--lon-col/--lat-col",)),
    Case("swapped_longitude_latitude", "cli",
         lambda tmp, _l: ("cameras", geojson(tmp / "s.geojson", [("W1", LAT, LON)])),
         "cameras", "W1", "geometry", (LAT, LON),
         ("look swapped",), ("swap the columns",)),
    Case("projected_crs_holding_lon_lat", "cli",
         lambda tmp, _l: ("cameras", geojson(tmp / "p.geojson", [("P1", LON, LAT)],
                                             crs="urn:ogc:def:crs:EPSG::4547")),
         "cameras", "P1", "geometry", (LON, LAT),
         ("look like longitude/latitude", "EPSG:4547"), ("--crs EPSG:4490",)),
    Case("metres_written_as_cgcs2000", "write",
         lambda _t, _l: {"cameras": points(["K1"], [(1228591.0, 3310000.0)])},
         "cameras", "K1", "geometry", (1228591.0, 3310000.0),
         ("look like projected metres",), ("--crs",)),
    Case("lon_lat_written_in_gauss_kruger", "write",
         lambda _t, _l: {"cameras": points(["K2"], [(LON, LAT)], crs=4547)},
         "cameras", "K2", "geometry", (LON, LAT),
         ("look like longitude/latitude",), ("EPSG:4490",)),
    Case("outside_china_in_cgcs2000", "project",
         lambda _t, _l: {"key_places": points(["KP1"], [(2.35, 48.85)])},
         "key_places", "KP1", "geometry", (2.35, 48.85),
         ("outside the area of use of EPSG:4490", "China"), ("EPSG:4326",)),
    Case("missing_coordinates", "write",
         lambda _t, _l: {"incidents": points(["I1"], [(math.nan, math.nan)])},
         "incidents", "I1", "geometry", None,
         ("coordinates are missing",), ("give the feature its coordinates",)),
    Case("null_island", "write",
         lambda _t, _l: {"incidents": points(["I0"], [(0.0, 0.0)], crs=4326)},
         "incidents", "I0", "geometry", (0.0, 0.0),
         ("0, 0",), ("give the feature its coordinates",)),
    Case("validate_finds_latitude_96", "validate",
         lambda _t, layers: ("cameras", layers["cameras"].assign(geometry=[
             shapely.Point(LON, 96.0)] + list(layers["cameras"].geometry[1:]))),
         "cameras", "CAM001", "geometry", (LON, 96.0),
         ("latitude beyond 90",), ("--lon-col/--lat-col",)),
    # numeric ranges ---------------------------------------------------------------------
    Case("households_1e15", "write",
         lambda _t, layers: {"buildings": _with(layers, "buildings", 0, households=10 ** 15)},
         "buildings", "BLD0001", "households", 10 ** 15,
         ("implausible", "10,000"), ("0 to 10,000", "--map SRC=households")),
    Case("households_1e15_via_project", "project",
         lambda _t, layers: {"buildings": _with(layers, "buildings", 0, households=10 ** 15)},
         "buildings", "BLD0001", "households", 10 ** 15,
         ("implausible",), ("0 to 10,000",)),
    Case("fov_0", "write", _camera(fov_deg=0.0), "cameras", "CAM001", "fov_deg", 0.0,
         ("value must be > 0",), ("above 0, up to 360",)),
    Case("range_0", "write", _camera(range_m=0.0), "cameras", "CAM001", "range_m", 0.0,
         ("value must be > 0",), ("above 0, up to 2000",)),
    Case("range_50_km", "write", _camera(range_m=50000.0), "cameras", "CAM001", "range_m",
         50000.0, ("implausible", "2000"), ("above 0, up to 2000",)),
    Case("fov_400", "write", _camera(fov_deg=400.0), "cameras", "CAM001", "fov_deg", 400.0,
         ("value must be > 0 and <= 360",), ("above 0, up to 360",)),
    Case("height_infinite", "write", _camera(height_m=math.inf), "cameras", "CAM001",
         "height_m", math.inf, ("implausible",), ("0 to 300",)),
    Case("resolution_beyond_int64", "write", _camera(resolution_h_px=10 ** 19), "cameras",
         "CAM001", "resolution_h_px", 10 ** 19, ("implausible",), ("1 to 50,000",)),
    Case("direction_negative", "write", _camera(direction=-45.0), "cameras", "CAM001",
         "direction", -45.0, ("value must be between 0 and 360",), ("0 to 360",)),
    Case("officers_per_beat", "write",
         lambda _t, layers: {"staff": _with(layers, "staff", 0, community_officers=5000)},
         "staff", "B01", "community_officers", 5000, ("implausible", "100"), ("0 to 100",)),
    Case("fov_0_in_csv", "cli",
         lambda tmp, _l: ("cameras", _csv(tmp / "c.csv", "id,lng,lat,fov_deg\n"
                                                       f"F1,{LON},{LAT},0\n")),
         "cameras", "F1", "fov_deg", "0", ("value must be > 0",), ("above 0, up to 360",)),
    Case("validate_finds_households_1e15", "validate",
         lambda _t, layers: ("buildings", _with(layers, "buildings", 0, households=10 ** 15)),
         "buildings", "BLD0001", "households", 10 ** 15, ("implausible",), ("0 to 10,000",)),
    # references -------------------------------------------------------------------------
    Case("station_zero_padded", "write",
         lambda _t, layers: {"communities": _with(layers, "communities", 0, station_id="S001")},
         "communities", "C01", "station_id", "S001",
         ("refers to a missing stations feature", "did you mean 'S01'?"),
         ("map the values", "'S001' -> 'S01'", "--map-values station_id=")),
    Case("station_case_and_space", "project",
         lambda _t, layers: {"communities": _with(layers, "communities", 0, station_id=" s01")},
         "communities", "C01", "station_id", " s01", ("did you mean 'S01'?",),
         ("map the values",)),
    Case("beat_without_leading_zero", "write",
         lambda _t, layers: {"staff": _with(layers, "staff", 0, beat_id="B1")},
         "staff", "B1", "beat_id", "B1", ("did you mean 'B01'?",), ("'B1' -> 'B01'",)),
    Case("validate_finds_station_01_for_1", "validate",
         lambda _t, layers: ("communities", _with(layers, "communities", 1, station_id="s-01")),
         "communities", "C02", "station_id", "s-01", ("did you mean 'S01'?",),
         ("map the values",)),
]


def _csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _matching(problems, case: Case):
    found = [p for p in problems if p.severity == "error" and p.layer == case.layer
             and p.column == case.column and str(p.row_id) == str(case.row_id)]
    assert found, [p.format() for p in problems]
    return found[0]


def _check_problem(p, case: Case):
    if isinstance(case.value, float) and math.isinf(case.value):
        assert math.isinf(float(p.value))
    else:
        assert p.value == case.value
    for word in case.words:
        assert word in p.message, (word, p.format())
    for word in case.fix_words:
        assert word in p.fix, (word, p.format())


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_data_is_refused_with_the_problem_and_nothing_lost(case, tmp_path, project,
                                                               sample_layers, capsys):
    made = case.make(tmp_path, sample_layers)
    if case.how == "cli":
        layer, file = made
        before = sha256(project)
        assert main(["import", layer, str(file), "--project", str(project)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("beatgrid: error:") and "Traceback" not in err
        for word in (case.layer, f"id={case.row_id}", f"column={case.column}",
                     *case.words, *case.fix_words):
            assert word in err, (word, err)
        assert sha256(project) == before
    elif case.how in ("write", "project"):
        if case.how == "project":
            project.unlink()
            target = Project.sample(project)
        before = sha256(project)
        with pytest.raises(ValidationError) as err:
            if case.how == "project":
                target.write(made)
            else:
                open_store(project).write_layers(made)
        _check_problem(_matching(err.value.problems, case), case)
        assert sha256(project) == before
    else:
        layer, frame = made
        pyogrio.write_dataframe(frame, project, layer=layer, promote_to_multi=True)
        before = sha256(project)
        assert main(["validate", "--project", str(project)]) == 1
        out = capsys.readouterr().out
        [line] = [line for line in out.splitlines()
                  if f"{case.layer} id={case.row_id} column={case.column}:" in line]
        for word in (f"(value: {case.value!r})", *case.words, *case.fix_words):
            assert word in line, (word, line)
        assert sha256(project) == before  # validate reads only


# -- warnings: a layer far from the others ----------------------------------------------------

def test_far_layer_is_written_with_a_warning_naming_the_distance(project):
    beijing = points(["BJ1", "BJ2"], [(116.40, 39.90), (116.41, 39.91)])
    with pytest.warns(UserWarning, match=r"key_places.*layer lies 1,[12]\d\d km or more "
                                         r"from 11 of the project's 11 other layers"):
        open_store(project).write_layers({"key_places": beijing})
    assert len(open_store(project).read_layer("key_places")) == 2  # a warning, not a refusal
    report = Project.open(project).validate()
    assert report.ok
    [far] = [p for p in report.warnings if p.layer == "key_places"]
    assert far.column == "geometry" and 1100 < far.value < 1300
    assert "re-import it with --crs" in far.fix


def test_far_layer_threshold_comes_from_settings(sample_layers):
    near = points(["N1"], [(121.9, 29.91)])  # about 33 km east of the district
    layers = {"beats": sample_layers["beats"], "stations": sample_layers["stations"],
              "key_places": near}
    assert not schema.validate_project(layers).warnings
    tight = Project.open(SAMPLE).with_config(core={"validation": {"far_layer_km": 10.0}})
    report = schema.validate_project(layers, settings=tight.config.core)
    assert [p.layer for p in report.warnings] == ["key_places"]


# -- fuzzing: any number conforms or gives an error naming the column -------------------------

NUMBER_COLUMNS = [(spec.name, c.name) for spec in schema.LAYERS.values() for c in spec.columns
                  if c.dtype in ("int", "float") and c.allowed is None]
NUMBERS = st.one_of(
    st.integers(min_value=-(10 ** 30), max_value=10 ** 30), st.integers(),
    st.floats(allow_nan=True, allow_infinity=True), st.none(), st.booleans(),
    st.integers(min_value=-10 ** 6, max_value=10 ** 6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", " ", "1e400", "-1e400", "0x10", "1_000", "nan", "12 m", "九"]))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(target=st.sampled_from(NUMBER_COLUMNS), values=st.lists(NUMBERS, min_size=1, max_size=4))
def test_any_number_conforms_or_names_its_column(target, values):
    layer, column = target
    spec = schema.get_spec(layer)
    data = {spec.id_column: [f"r{i}" for i in range(len(values))], column: values}
    if layer == "buildings" and column != "households":
        data["households"] = [1] * len(values)
    if layer == "grids":
        data["community_id"] = ["C01"] * len(values)
    frame = (gpd.GeoDataFrame(data, geometry=[shapely.box(LON, LAT, LON + 1e-4, LAT + 1e-4)
                                              if spec.geometry_types != ("Point",)
                                              else shapely.Point(LON, LAT)] * len(values),
                              crs=4490) if spec.spatial else pd.DataFrame(data))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out, problems = schema.conform_layer(frame, layer)
    col = spec.column(column)
    errors = [p for p in problems if p.severity == "error"]
    assert all(p.column == column for p in errors), [p.format() for p in errors]
    assert all(p.message and p.fix and p.row_id in data[spec.id_column] for p in errors)
    kept = pd.to_numeric(out[column], errors="coerce").astype(float)
    bad_rows = {p.row_id for p in errors}
    for row, value in zip(data[spec.id_column], kept):
        if row in bad_rows or math.isnan(value):
            continue
        assert value >= col.minimum and value <= col.upper_bound
        assert not (col.minimum_exclusive and value == col.minimum)
