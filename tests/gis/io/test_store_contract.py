"""The store contract: the same tests on the GeoPackage store and on the PostGIS store.

Every test takes ``target``: an empty project location of one kind (a GeoPackage
path that does not exist yet, or a fresh PostgreSQL schema through the ``pg_url`` /
``pg_schema`` fixtures of ``tests/conftest.py``). The PostGIS half is marked
``postgis``: it is skipped without ``BEATGRID_TEST_PG_URL`` (and fails instead under
``BEATGRID_REQUIRE_PG=1`` or CI).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from beatgrid.gis import Project, schema
from beatgrid.gis.errors import InputError, NotFoundError, ValidationError
from beatgrid.gis.io.gpkg import GeoPackageStore
from beatgrid.gis.io.store import Store, open_store

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = ROOT / "sample-geodata" / "ningbo-jiangbei.gpkg"
LON, LAT = 121.55, 29.88


@dataclass
class Target:
    """Where an empty project of one kind goes: ``open_store(where, **options)``."""

    kind: str
    where: Any
    options: dict[str, Any]

    def store(self) -> Store:
        return open_store(self.where, **self.options)

    def project(self) -> Project:
        return Project.open(self.where, **self.options)


@pytest.fixture(params=["gpkg", pytest.param("postgis", marks=pytest.mark.postgis)])
def target(request, tmp_path) -> Target:
    if request.param == "gpkg":
        return Target("gpkg", tmp_path / "project.gpkg", {})
    url = request.getfixturevalue("pg_url")
    return Target("postgis", url, {"schema": request.getfixturevalue("pg_schema")})


@pytest.fixture(scope="module")
def sample() -> dict[str, pd.DataFrame]:
    return GeoPackageStore(SAMPLE).read_layers()


def _beats() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": ["B01", "B02"], "name": ["孔浦警务区", "白沙警务区"]},
        geometry=[shapely.box(LON, LAT, LON + 0.01, LAT + 0.01),
                  shapely.box(LON + 0.01, LAT, LON + 0.02, LAT + 0.01)], crs=4490)


def _cameras(ids=("c1", "c2", "c3")) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": list(ids), "kind": ["road", "entrance", "estate_internal"][:len(ids)],
         "direction": [90.0, np.nan, 275.5][:len(ids)]},
        geometry=[shapely.Point(LON + 1e-3 * i, LAT + 1e-3) for i in range(len(ids))], crs=4490)


def _staff() -> pd.DataFrame:
    return pd.DataFrame({"beat_id": ["B01", "B02"], "community_officers": [2, 1]})


def _same(left: pd.DataFrame, right: pd.DataFrame, name: str) -> None:
    assert list(right.columns) == list(left.columns), name
    assert len(right) == len(left), name
    if isinstance(left, gpd.GeoDataFrame):
        assert isinstance(right, gpd.GeoDataFrame) and right.crs == left.crs, name
        assert shapely.equals_exact(left.geometry.array, right.geometry.array,
                                    tolerance=1e-12).all(), name
        assert right.geom_type.tolist() == left.geom_type.tolist(), name
        left = pd.DataFrame(left.drop(columns="geometry"))
        right = pd.DataFrame(right.drop(columns="geometry"))
    pd.testing.assert_frame_equal(left.reset_index(drop=True), right.reset_index(drop=True),
                                  check_dtype=False, obj=name)


# -- the contract -------------------------------------------------------------------------

def test_every_sample_layer_round_trips(target, sample):
    store = target.store()
    assert isinstance(store, Store) and not store.exists()
    counts = store.write_layers(sample, meta={"source": "sample", "coords": "cgcs2000"})
    assert counts == {name: len(df) for name, df in sample.items()}
    assert store.exists() and store.list_layers() == schema.LAYER_ORDER
    assert store.crs() == 4490
    back = store.read_layers()
    assert list(back) == schema.LAYER_ORDER
    for name in schema.LAYER_ORDER:
        _same(sample[name], back[name], name)
        _same(sample[name], store.read_layer(name), name)
    info = store.info().set_index("layer")
    assert info["features"].to_dict() == {name: len(df) for name, df in sample.items()}
    assert info.loc["buildings", "geometry"] == "MultiPolygon"
    assert info.loc["streets", "geometry"] == "MultiLineString"
    assert info.loc["cameras", "geometry"] == "Point"
    assert info.loc["staff", "geometry"] == "(table)" and info.loc["staff", "crs"] == ""
    assert info.loc["cameras", "crs"] == "EPSG:4490"
    bounds = sample["buildings"].total_bounds
    assert np.allclose(info.loc["buildings", ["xmin", "ymin", "xmax", "ymax"]].astype(float),
                       bounds, rtol=0, atol=1e-9)
    assert np.isnan(float(info.loc["grids", "xmin"]))  # an empty layer has no extent


def test_project_open_runs_a_capability(target, sample):
    with pytest.raises(NotFoundError, match="does not exist"):
        target.project()
    target.store().write_layers(sample)
    project = target.project()
    assert project.validate().ok
    assert len(project.layer("communities")) == 12
    assert int(project.layer("buildings")["households"].sum()) == 29_984
    info = project.info().set_index("layer")
    assert int(info.loc["cameras", "features"]) == 300


def test_bbox_read_keeps_the_features_that_intersect(target, sample):
    store = target.store()
    store.write_layers({"buildings": sample["buildings"], "estates": sample["estates"]},
                       validate=False)
    box = (121.545, 29.915, 121.548, 29.918)
    for name in ("buildings", "estates"):
        full = sample[name]
        expected = full.loc[full.intersects(shapely.box(*box)), "id"].tolist()
        got = store.read_layer(name, bbox=box)
        assert 0 < len(expected) < len(full)
        assert sorted(got["id"]) == sorted(expected), name  # in the store's own order
        assert list(got.columns) == list(full.columns)


def test_absent_layer_reads_empty_with_the_schema_columns(target):
    store = target.store()
    store.write_layers({"cameras": _cameras()})
    grids = store.read_layer("grids")
    assert isinstance(grids, gpd.GeoDataFrame) and len(grids) == 0
    assert grids.crs.to_epsg() == 4490
    assert list(grids.columns) == list(schema.empty_layer("grids").columns)
    with pytest.raises(InputError, match="unknown layer 'roads'"):
        store.read_layer("roads")


def test_append_keeps_rows_and_ids_unique(target):
    store = target.store()
    store.write_layers({"cameras": _cameras()})
    store.write_layers({"cameras": _cameras(["c4", "c5"])}, append=True,
                       meta={"source": "more.csv", "coords": "gcj02"})
    back = store.read_layer("cameras")
    assert back["id"].tolist() == ["c1", "c2", "c3", "c4", "c5"]
    assert np.isnan(back["direction"].iloc[4])
    with pytest.raises(ValidationError, match="id is used by 2 features"):
        store.write_layers({"cameras": _cameras(["c4"])}, append=True)
    assert len(store.read_layer("cameras")) == 5


def test_refused_write_changes_nothing_and_lists_every_problem(target):
    store = target.store()
    bad = _cameras()
    bad.loc[1, "kind"] = "drone"          # not an allowed kind
    bad.loc[2, "direction"] = 400.0       # out of range
    with pytest.raises(ValidationError):
        store.write_layers({"cameras": bad})
    # a refused first write stores no layer (a GeoPackage is created empty first)
    assert not store.exists() or len(store.read_layer("cameras")) == 0
    store.write_layers({"beats": _beats()})
    before = (store.state(), store.list_layers(), store.imports().shape)
    staff = _staff()
    staff.loc[1, "beat_id"] = "B99"       # dangling reference
    with pytest.raises(ValidationError) as err:
        store.write_layers({"beats": _beats().iloc[:1], "cameras": bad, "staff": staff},
                           meta={"source": "x"})
    messages = [p.format() for p in err.value.problems]
    assert any("cameras id=c2 column=kind" in m for m in messages)
    assert any("cameras id=c3 column=direction" in m for m in messages)
    assert any("staff id=B99 column=beat_id: refers to a missing beats feature" in m
               for m in messages)
    assert len(err.value.errors) == 3
    assert (store.state(), store.list_layers(), store.imports().shape) == before
    assert store.read_layer("beats")["id"].tolist() == ["B01", "B02"]
    assert len(store.read_layer("cameras")) == 0


def test_state_changes_on_every_write_and_only_then(target):
    store = target.store()
    states = [store.state()]
    store.write_layers({"beats": _beats()})
    states.append(store.state())
    store.read_layers(["beats", "staff"])
    assert store.state() == states[-1]     # reading changes nothing
    store.write_layers({"beats": _beats()})  # the same data again: still a write
    states.append(store.state())
    store.write_derived({"proposal_effects": pd.DataFrame({"step": [1]})})
    states.append(store.state())
    assert len(set(states)) == len(states)


def test_derived_layers_round_trip(target):
    store = target.store()
    store.write_layers({"beats": _beats()})
    assert store.list_derived() == []
    views = gpd.GeoDataFrame({"camera_id": ["c1", "c2"], "level": ["all", "face"],
                              "area_m2": [12.5, 0.0]},
                             geometry=[shapely.box(LON, LAT, LON + 1e-4, LAT + 1e-4),
                                       shapely.Polygon()], crs=4326)
    effects = pd.DataFrame({"step": [1, 2], "gain_m2": [10.0, 4.5]})
    store.write_derived({"camera_views": views, "proposal_effects": effects})
    assert store.list_derived() == ["camera_views", "proposal_effects"]
    back = store.read_derived("camera_views")
    assert back.crs.to_epsg() == 4490           # the project CRS
    assert back["camera_id"].tolist() == ["c1", "c2"] and back["area_m2"].tolist() == [12.5, 0.0]
    assert back.geom_type.iloc[0] == "MultiPolygon" and back.geometry.iloc[1] is None
    assert shapely.equals(back.geometry.iloc[0], views.to_crs(4490).geometry.iloc[0])
    table = store.read_derived("proposal_effects")
    assert table[["step", "gain_m2"]].values.tolist() == [[1, 10.0], [2, 4.5]]
    store.write_derived({"proposal_effects": effects.iloc[:1]})  # replaces that layer only
    assert len(store.read_derived("proposal_effects")) == 1
    assert len(store.read_derived("camera_views")) == 2
    with pytest.raises(NotFoundError, match="has no layer 'blind_spots'"):
        store.read_derived("blind_spots")
    with pytest.raises(InputError, match="unknown derived layer"):
        store.write_derived({"views": views})


def test_project_crs_is_kept_and_layers_are_reprojected(target):
    store = target.store()
    with pytest.raises(InputError, match="not a storage CRS"):
        store.create(crs=3857)
    store.create(crs=4326)
    assert store.crs() == 4326 and store.list_layers() == schema.LAYER_ORDER
    assert store.meta()["crs_epsg"] == "4326"
    with pytest.raises(InputError, match="already exists"):
        store.create()
    store.write_layers({"cameras": _cameras()})               # given in EPSG:4490
    back = store.read_layer("cameras")
    assert back.crs.to_epsg() == 4326
    assert np.allclose(back.geometry.x, _cameras().to_crs(4326).geometry.x, atol=1e-9)
    assert store.read_layer("grids").crs.to_epsg() == 4326
    assert store.info().set_index("layer").loc["cameras", "crs"] == "EPSG:4326"


def test_import_log(target):
    store = target.store()
    store.write_layers({"beats": _beats()})                  # no meta: not logged
    assert store.imports().empty
    store.write_layers({"beats": _beats(), "staff": _staff()},
                       meta={"source": "beats.geojson", "coords": "wgs84"})
    store.write_layers({"cameras": _cameras()}, meta={"source": "c.csv", "coords": "gcj02"})
    store.write_layers({"cameras": _cameras(["c9"])}, append=True,
                       meta={"source": "more.csv", "coords": "bd09", "rows": 1})
    store.write_layers({"cameras": _cameras()})              # no meta: not logged
    log = store.imports()
    assert log[["layer", "source", "coords", "rows", "mode"]].values.tolist() == [
        ["beats", "beats.geojson", "wgs84", 2, "replace"],
        ["staff", "beats.geojson", "wgs84", 2, "replace"],
        ["cameras", "c.csv", "gcj02", 3, "replace"],
        ["cameras", "more.csv", "bd09", 1, "append"]]
    assert log["imported_at"].str.match(r"\d{4}-\d\d-\d\dT").all()


def test_repairs_are_warnings_and_the_repaired_shape_is_stored(target):
    store = target.store()
    bowtie = shapely.Polygon([(LON, LAT), (LON + 1e-3, LAT + 1e-3), (LON + 1e-3, LAT),
                              (LON, LAT + 1e-3), (LON, LAT)])
    beats = gpd.GeoDataFrame({"id": ["B1"]}, geometry=[bowtie], crs=4490)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        store.write_layers({"beats": beats})
    assert any("invalid geometry repaired" in str(w.message) for w in caught)
    assert store.read_layer("beats").geometry.iloc[0].is_valid
