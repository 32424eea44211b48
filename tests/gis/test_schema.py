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
