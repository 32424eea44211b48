"""Bounded property-based fuzzing of the importers (hypothesis).

- the camera-direction parser (one parser for ``import osm`` and camera files): any
  text gives a direction in [0, 360) or empty, or a ValueError, never another exception;
- the camera columns of a file (``fill_camera_fields``): any cells give directions in
  [0, 360) or empty, never an exception;
- CSV importing: random cells in the known columns, and random bytes, either import or
  raise a BeatGridError; on refusal the project's bytes are unchanged.

atheris (coverage-guided) is not installed in the venv and is not used: hypothesis
covers these pure-Python parsers within the time budget.
"""

import csv
import hashlib
import io
import math
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from beatgrid.gis.errors import BeatGridError
from beatgrid.gis.io.fill_columns import fill_camera_fields
from beatgrid.gis.io.importers import import_layer, read_layer_file
from beatgrid.gis.io.osm_parse import parse_direction

SAMPLE = Path(__file__).resolve().parents[2] / "sample-geodata" / "ningbo-jiangbei.gpkg"
FAST = settings(max_examples=200, deadline=None)

# text that looks like directions, numbers, ranges and lists, and plain noise
_NUMBERS = st.one_of(st.integers(-10**6, 10**6).map(str),
                     st.floats(allow_nan=True, allow_infinity=True).map(repr),
                     st.from_regex(r"[-+]?\d{1,400}([.,]\d{0,5})?([eE][-+]?\d{1,4})?",
                                   fullmatch=True))
_WORDS = st.sampled_from(["N", "NE", "ssw", "North-East", "东北", "南", "东", "deg", "°", "度",
                          "dome", "nan", "inf", "-", "–", "~", ";", ",", "，", "、", " "])
DIRECTION_TEXT = st.one_of(
    st.text(max_size=30),
    st.lists(st.one_of(_NUMBERS, _WORDS), max_size=6).map("".join),
    st.tuples(_NUMBERS, st.sampled_from(["-", "–", "~"]), _NUMBERS).map("".join),
)


def _check_direction(direction, fov):
    assert math.isnan(direction) or 0.0 <= direction < 360.0, direction
    assert math.isnan(fov) or 0.0 < fov <= 360.0, fov


@FAST
@given(DIRECTION_TEXT)
def test_parse_direction_gives_degrees_or_value_error(text):
    try:
        direction, fov = parse_direction(text)
    except ValueError:
        return
    _check_direction(direction, fov)


@FAST
@given(st.one_of(st.floats(), st.integers(-10**30, 10**30)))
def test_parse_direction_of_numbers(value):
    try:
        direction, fov = parse_direction(value)
    except ValueError:
        assert not math.isfinite(float(value))
        return
    _check_direction(direction, fov)


CELL = st.one_of(st.none(), DIRECTION_TEXT, st.floats(), st.integers(-1000, 1000))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(CELL, CELL, CELL, st.sampled_from([None, "dome", "fixed", "DOME"]),
                          st.sampled_from([None, "camera", "guard", "ALPR", ""])),
                max_size=8))
def test_camera_columns_never_raise(rows):
    df = pd.DataFrame(rows, columns=["direction", "fov_deg", "height_m", "camera:type",
                                     "surveillance:type"], dtype=object)
    df.insert(0, "id", [f"c{i}" for i in range(len(df))])
    out = fill_camera_fields(df, [])
    for value in out["direction"]:
        if value is not None and not (isinstance(value, float) and math.isnan(value)):
            assert 0.0 <= float(value) < 360.0 or float(value) == 360.0
    dome = out["camera:type"].astype(str).str.lower() == "dome"
    assert out.loc[dome, "direction"].isna().all()
    assert (out["surveillance:type"].astype(str).str.lower() != "guard").all()


# -- CSV importing -------------------------------------------------------------------------------

LON = st.one_of(st.floats(121.50, 121.60).map(lambda v: f"{v:.6f}"), st.text(max_size=8),
                st.sampled_from(["", "1228591", "-181", "nan"]))
LAT = st.one_of(st.floats(29.85, 29.95).map(lambda v: f"{v:.6f}"), st.text(max_size=8),
                st.sampled_from(["", "96", "29,9", "inf"]))
TEXT = st.one_of(st.text(max_size=12), st.sampled_from(["", "0", "-1", "1e999", "4 m", "NE"]))
COLUMNS = ["id", "lon", "lat", "kind", "direction", "fov_deg", "range_m", "height_m", "tilt_deg",
           "camera:type", "surveillance:type"]
ROW = st.fixed_dictionaries({
    "id": st.one_of(st.sampled_from(["c1", "c2", "c3", "", "007"]), st.text(max_size=6)),
    "lon": LON, "lat": LAT,
    "kind": st.one_of(st.sampled_from(["road", "entrance", "estate_internal", "tower", ""]),
                      st.text(max_size=6)),
    "direction": DIRECTION_TEXT, "fov_deg": TEXT, "range_m": TEXT, "height_m": TEXT,
    "tilt_deg": TEXT, "camera:type": st.sampled_from(["", "dome", "fixed"]),
    "surveillance:type": st.sampled_from(["", "camera", "guard"]),
})


def _csv_text(rows, columns):
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row[c] for c in columns])
    return buf.getvalue()


def _read(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return read_layer_file(path, layer_name="cameras")
        except BeatGridError:
            return None


@settings(max_examples=40, deadline=None)
@given(st.lists(ROW, max_size=6), st.permutations(COLUMNS[3:]), st.integers(0, 8))
def test_csv_random_cells_import_or_beatgrid_error(rows, order, keep):
    columns = COLUMNS[:3] + order[:keep]
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "cams.csv"
        path.write_text(_csv_text(rows, columns), encoding="utf-8")
        out = _read(path)
    if out is not None:
        d = out["direction"].dropna()
        assert ((d >= 0) & (d <= 360)).all()


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=300))
def test_csv_random_bytes_import_or_beatgrid_error(data):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "cams.csv"
        path.write_bytes(b"id,lon,lat,direction\n" + data)
        _read(path)


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def project_copy(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "p.gpkg"
    shutil.copyfile(SAMPLE, path)
    return path


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(ROW, max_size=4))
def test_refused_csv_import_leaves_the_project_unchanged(project_copy, rows):
    columns = COLUMNS
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "cams.csv"
        path.write_text(_csv_text(rows, columns), encoding="utf-8")
        before = _sha(project_copy)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                n = import_layer(project_copy, "cameras", path)
            except BeatGridError:
                assert _sha(project_copy) == before
                return
        assert n == len(rows) - sum(r["surveillance:type"] == "guard" for r in rows)
