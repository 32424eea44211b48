"""Schema validation: each kind of bad input gives its specific message."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from beatgrid.gis import schema
from beatgrid.gis.errors import InputError

LON, LAT = 121.55, 29.88


def box(i, size=0.0002):
    return shapely.box(LON + i * 0.001, LAT, LON + i * 0.001 + size, LAT + size)


def buildings(**overrides):
    data = {"id": ["b1", "b2", "b3"], "households": [10, 20, 0]}
    data.update(overrides)
    geometry = data.pop("geometry", [box(0), box(1), box(2)])
    return gpd.GeoDataFrame(data, geometry=geometry, crs=4490)


def only(problems, severity="error"):
    return [p for p in problems if p.severity == severity]


def test_conformed_layer_gets_documented_defaults_and_types():
    out, problems = schema.conform_layer(buildings(households=["10", 20.0, 0]), "buildings")
    assert problems == []
    assert out["households"].tolist() == [10, 20, 0]
    assert str(out["households"].dtype) == "Int64"
    assert (out["use"] == "residential").all()
    assert (out["levels"] == 1).all()
    assert not out["households_estimated"].any()
    assert out["estate_id"].isna().all()


def test_missing_required_column_is_named_with_fix():
    gdf = buildings().drop(columns="households")
    problems = only(schema.conform_layer(gdf, "buildings")[1])
    assert len(problems) == 1
    p = problems[0]
    assert (p.layer, p.column, p.message) == ("buildings", "households", "required column is missing")
    assert "--map SRC=households" in p.fix


def test_wrong_type_names_row_column_and_value():
    problems = only(schema.conform_layer(buildings(households=[10, "many", 3]), "buildings")[1])
    assert [(p.row_id, p.column, p.value, p.message) for p in problems] == [
        ("b2", "households", "many", "value is not of type int")]


def test_fractional_households_rejected():
    problems = only(schema.conform_layer(buildings(households=[10, 2.5, 3]), "buildings")[1])
    assert [(p.row_id, p.value) for p in problems] == [("b2", 2.5)]


def test_out_of_range_and_not_allowed_values():
    gdf = buildings(households=[-4, 1, 2], use=["residential", "castle", "office"])
    problems = only(schema.conform_layer(gdf, "buildings")[1])
    messages = {(p.row_id, p.column, p.message) for p in problems}
    assert ("b1", "households", "value must be >= 0") in messages
    assert ("b2", "use", "value is not allowed") in messages
    assert len(problems) == 2


def test_duplicate_and_empty_ids():
    problems = only(schema.conform_layer(buildings(id=["b1", "b1", None]), "buildings")[1])
    assert {(p.row_id, p.message) for p in problems} == {
        ("b1", "id is used by 2 features"), ("row 2", "id is empty")}


def test_repairable_geometry_is_repaired_with_warning():
    bowtie = shapely.Polygon([(LON, LAT), (LON + 0.001, LAT + 0.001), (LON + 0.001, LAT),
                              (LON, LAT + 0.001)])
    assert not bowtie.is_valid
    out, problems = schema.conform_layer(buildings(geometry=[bowtie, box(1), box(2)]), "buildings")
    assert only(problems) == []
    [warning] = only(problems, "warning")
    assert (warning.row_id, warning.message) == ("b1", "invalid geometry repaired")
    assert "Self-intersection" in warning.value
    assert out.geometry.iloc[0].is_valid
    assert out.geometry.iloc[0].area == pytest.approx(0.001 * 0.001 / 2)


def test_unrepairable_geometry_is_an_error():
    flat = shapely.Polygon([(LON, LAT), (LON + 0.001, LAT), (LON + 0.001, LAT), (LON, LAT)])
    assert not flat.is_valid
    problems = only(schema.conform_layer(buildings(geometry=[flat, box(1), box(2)]), "buildings")[1])
    assert [(p.row_id, p.message) for p in problems] == [("b1", "invalid geometry")]


def test_empty_and_wrong_type_geometry():
    gdf = buildings(geometry=[shapely.Polygon(), shapely.Point(LON, LAT), box(2)])
    problems = only(schema.conform_layer(gdf, "buildings")[1])
    assert {(p.row_id, p.message) for p in problems} == {
        ("b1", "geometry is empty"), ("b2", "wrong geometry type")}


def test_missing_crs_is_an_error_never_a_guess():
    gdf = buildings().set_crs(None, allow_override=True)
    problems = only(schema.conform_layer(gdf, "buildings")[1])
    assert [p.message for p in problems] == ["layer has no coordinate reference system"]
    assert "never guesses" in problems[0].fix


def test_projected_crs_is_reported():
    gdf = buildings().to_crs(4550)
    problems = only(schema.conform_layer(gdf, "buildings")[1])
    assert [p.message for p in problems] == ["layer is not stored in geographic coordinates"]


def test_dangling_references_across_layers():
    estates = gpd.GeoDataFrame({"id": ["E1"]}, geometry=[box(0, 0.01)], crs=4490)
    b = buildings(estate_id=["E1", "E2", None])
    report = schema.validate_project({"estates": estates, "buildings": b})
    assert [(p.layer, p.row_id, p.column, p.value) for p in report.errors] == [
        ("buildings", "b2", "estate_id", "E2")]
    assert "refers to a missing estates feature" in report.errors[0].message
    assert not report.ok


def test_report_lists_every_problem_at_once():
    gdf = buildings(id=["b1", "b1", "b3"], households=[-1, "x", 5])
    report = schema.validate_project({"buildings": gdf})
    assert len(report.errors) == 3
    text = report.format()
    assert text.count("[error]") == 3 and "3 error(s), 0 warning(s)" in text
    frame = report.to_frame()
    assert list(frame.columns) == ["severity", "layer", "row_id", "column", "value", "message", "fix"]


def test_incident_preventable_defaults_from_category():
    inc = gpd.GeoDataFrame({"id": ["i1", "i2", "i3"], "category": ["burglary", "fraud", "fraud"],
                            "preventable": [None, None, True]},
                           geometry=[shapely.Point(LON, LAT)] * 3, crs=4490)
    out, problems = schema.conform_layer(inc, "incidents")
    assert only(problems) == []
    assert out["preventable"].tolist() == [True, False, True]


def test_staff_table_without_geometry():
    staff = pd.DataFrame({"beat_id": ["B1", "B2"], "community_officers": [1, "2"]})
    out, problems = schema.conform_layer(staff, "staff")
    assert problems == []
    assert out["auxiliaries"].tolist() == [0, 0]


def test_unknown_layer_lists_known_layers():
    with pytest.raises(InputError, match="unknown layer 'building'") as err:
        schema.get_spec("building")
    assert "buildings" in err.value.fix


def test_empty_layers_have_schema_columns():
    for name in schema.LAYER_ORDER:
        empty = schema.empty_layer(name)
        assert list(empty.columns[: len(schema.LAYERS[name].columns)]) == \
            schema.LAYERS[name].column_names
        out, problems = schema.conform_layer(empty, name)
        assert problems == []


# -- ranges, coordinates, references (issue 9) ------------------------------------------------

def test_every_number_column_has_a_documented_range():
    for spec in schema.LAYERS.values():
        for col in spec.columns:
            if col.dtype not in ("int", "float") or col.allowed is not None:
                continue
            assert col.minimum is not None and col.upper_bound is not None, (spec.name, col.name)
            assert col.description.endswith(f"Range: {col.range_text}."), (spec.name, col.name)


def test_hard_bounds_and_plausible_maximum_give_their_own_message():
    cams = gpd.GeoDataFrame({"id": ["c1", "c2", "c3", "c4"], "fov_deg": [0, 360, 90, 90],
                             "range_m": [30, 30, 0, 5000]},
                            geometry=[shapely.Point(LON, LAT)] * 4, crs=4490)
    problems = only(schema.conform_layer(cams, "cameras")[1])
    assert [(p.row_id, p.column, p.message) for p in problems] == [
        ("c1", "fov_deg", "value must be > 0 and <= 360"),
        ("c3", "range_m", "value must be > 0"),
        ("c4", "range_m", "value is implausible: more than 2000")]
    assert "its range: above 0, up to 2000" in problems[2].fix


def test_huge_and_infinite_numbers_are_range_errors_not_exceptions():
    gdf = buildings(households=[10 ** 30, float("inf"), "1e400"])
    out, problems = schema.conform_layer(gdf, "buildings")
    assert [(p.row_id, p.column) for p in only(problems)] == [
        ("b1", "households"), ("b2", "households"), ("b3", "households")]
    assert out["households"].isna().all()


def test_coordinates_outside_the_area_of_use_are_errors():
    gdf = buildings(geometry=[box(0), shapely.box(1228591, 3310000, 1228600, 3310010),
                              shapely.box(LAT, LON, LAT + 1e-4, LON + 1e-4)])
    problems = only(schema.conform_layer(gdf, "buildings")[1])
    assert [(p.row_id, p.column) for p in problems] == [("b2", "geometry"), ("b3", "geometry")]
    assert "projected metres" in problems[0].message and "--crs" in problems[0].fix
    assert problems[0].value == (1228591.0, 3310000.0, 1228600.0, 3310010.0)
    assert "swap the columns" in problems[1].fix


def test_area_of_use_tolerance_comes_from_settings():
    from beatgrid.gis.config import Config
    # 1.5 degrees east of EPSG:4490's area of use (134.77E)
    gdf = buildings(geometry=[box(0), box(1), shapely.box(136.27, 45.0, 136.28, 45.01)])
    assert [p.row_id for p in only(schema.conform_layer(gdf, "buildings")[1])] == ["b3"]
    wide = Config.load(core={"validation": {"area_of_use_tolerance_deg": 2.0}}).core
    assert only(schema.conform_layer(gdf, "buildings", settings=wide)[1]) == []


@pytest.mark.parametrize("key,value", [("area_of_use_tolerance_deg", -1.0),
                                       ("area_of_use_tolerance_deg", 45.0),
                                       ("far_layer_km", 0.0), ("reference_match_ratio", 1.5),
                                       ("reference_match_ratio", 0.0)])
def test_validation_settings_are_checked(key, value):
    from beatgrid.gis.config import Config
    from beatgrid.gis.errors import PolicyError
    with pytest.raises(PolicyError, match=f"validation.{key}") as err:
        Config.load(core={"validation": {key: value}})
    assert f"give 'validation.{key}'" in err.value.fix


@pytest.mark.parametrize("value,known,near", [
    ("01", ["1", "2", "10"], "1"), ("S1", ["S01", "S02"], "S01"), (" s01 ", ["S01"], "S01"),
    ("b-1", ["B01", "B02"], "B01"), ("江北派出所", ["江北区派出所", "慈城派出所"], "江北区派出所"),
    ("B99", ["B01", "B09"], None), ("Station1", ["Station11"], None), ("1", ["01", "001"], None),
])
def test_near_match_of_a_dangling_reference(value, known, near):
    assert schema.near_match(value, known) == near


def test_dangling_reference_suggests_the_near_match_and_how_to_map():
    stations = gpd.GeoDataFrame({"id": ["1", "2"]}, geometry=[box(0), box(1)], crs=4490)
    comms = gpd.GeoDataFrame({"id": ["C1", "C2"], "station_id": ["01", "7"]},
                             geometry=[box(0), box(1)], crs=4490)
    report = schema.validate_project({"stations": stations, "communities": comms})
    first, second = report.errors
    assert (first.row_id, first.value) == ("C1", "01")
    assert first.message.endswith("did you mean '1'?")
    assert "('01' -> '1'; on import: --map-values station_id=FILE.csv)" in first.fix
    assert second.fix == "add stations id '7', or clear 'station_id'"
