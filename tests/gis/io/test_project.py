"""The GeoPackage project store: round trips, transactional writes, metadata."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from beatgrid.gis import schema
from beatgrid.gis.errors import InputError, NotFoundError, ValidationError
from beatgrid.gis.io import project as store

LON, LAT = 121.55, 29.88


def _buildings(n=3, estate=None):
    return gpd.GeoDataFrame(
        {"id": [f"b{i}" for i in range(n)], "households": np.arange(n) * 10,
         "estate_id": [estate] * n},
        geometry=[shapely.box(LON + i * 1e-3, LAT, LON + i * 1e-3 + 2e-4, LAT + 2e-4)
                  for i in range(n)], crs=4490)


@pytest.fixture
def project(tmp_path):
    path = tmp_path / "p.gpkg"
    store.create_project(path)
    return path


def test_new_project_has_every_layer_and_metadata(project):
    assert store.list_layers(project) == schema.LAYER_ORDER
    meta = store.read_meta(project)
    assert meta["crs_epsg"] == "4490" and meta["schema_version"] == store.SCHEMA_VERSION
    info = store.project_info(project)
    assert set(info["features"]) == {0}
    # a plain GeoPackage (opens in QGIS): gpkg_contents lists the spatial layers
    types = dict(pyogrio.list_layers(project))
    assert types["buildings"] == "MultiPolygon" and types["cameras"] == "Point"
    assert types["staff"] is None


def test_round_trip_keeps_types_and_simple_geometries(project):
    store.write_layers(project, {"buildings": _buildings()})
    back = store.read_layer(project, "buildings")
    assert back["households"].tolist() == [0, 10, 20]
    assert set(back.geometry.geom_type) == {"Polygon"}
    assert back.crs.to_epsg() == 4490
    assert shapely.equals_exact(back.geometry.array, _buildings().geometry.array, tolerance=1e-12).all()


def test_replace_and_append(project):
    store.write_layers(project, {"buildings": _buildings(3)})
    store.write_layers(project, {"buildings": _buildings(2)})
    assert len(store.read_layer(project, "buildings")) == 2
    more = _buildings(2)
    more["id"] = ["x0", "x1"]
    store.write_layers(project, {"buildings": more}, append=True)
    assert store.read_layer(project, "buildings")["id"].tolist() == ["b0", "b1", "x0", "x1"]
    with pytest.raises(ValidationError, match="id is used by 2 features"):
        store.write_layers(project, {"buildings": more}, append=True)


def test_failed_write_changes_nothing(project):
    store.write_layers(project, {"buildings": _buildings(3)})
    before = project.read_bytes()
    estates = gpd.GeoDataFrame({"id": ["E1"]}, geometry=[shapely.box(LON, LAT, LON + 1, LAT + 1)],
                               crs=4490)
    with pytest.raises(ValidationError) as err:
        # estates is fine, the buildings refer to a missing estate: nothing is written
        store.write_layers(project, {"estates": estates, "buildings": _buildings(2, estate="E9")})
    assert "refers to a missing estates feature" in str(err.value)
    assert project.read_bytes() == before
    assert len(store.read_layer(project, "estates")) == 0
    assert not list(project.parent.glob(".*.tmp.gpkg"))


def test_write_reprojects_to_project_crs(project):
    store.write_layers(project, {"buildings": _buildings().to_crs(4326)})
    assert store.read_layer(project, "buildings").crs.to_epsg() == 4490


def test_import_log(project):
    store.write_layers(project, {"buildings": _buildings()},
                       meta={"source": "b.geojson", "coords": "gcj02"})
    log = store.read_imports(project)
    assert log[["layer", "source", "coords", "rows", "mode"]].values.tolist() == [
        ["buildings", "b.geojson", "gcj02", 3, "replace"]]


def test_write_creates_missing_project(tmp_path):
    path = tmp_path / "new.gpkg"
    store.write_layers(path, {"buildings": _buildings()})
    assert store.list_layers(path) == schema.LAYER_ORDER


def test_bad_paths(tmp_path):
    with pytest.raises(NotFoundError, match="does not exist"):
        store.read_layer(tmp_path / "missing.gpkg", "buildings")
    with pytest.raises(InputError, match="not a GeoPackage"):
        store.read_layer(tmp_path / "x.shp", "buildings")
    with pytest.raises(InputError, match="unknown layer"):
        schema.get_spec("nope")


def test_staff_table_round_trip(project):
    beats = gpd.GeoDataFrame({"id": ["B1"]}, geometry=[shapely.box(LON, LAT, LON + .01, LAT + .01)],
                             crs=4490)
    staff = pd.DataFrame({"beat_id": ["B1"], "community_officers": [1], "auxiliaries": [2]})
    store.write_layers(project, {"beats": beats, "staff": staff})
    back = store.read_layer(project, "staff")
    assert back.to_dict("records") == [{"beat_id": "B1", "community_officers": 1, "auxiliaries": 2,
                                        "floating_managers": 0, "grid_workers": 0}]
