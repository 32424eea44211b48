"""File importers (GeoJSON, GeoPackage, Shapefile, CSV) and exporters."""

import json
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import pytest
import shapely

from beatgrid.gis.io import china_coords as cc
from beatgrid.gis.config import default_config
from beatgrid.gis.errors import CRSError, InputError, NotFoundError, ValidationError
from beatgrid.gis.io import project as store
from beatgrid.gis.io.export import SHAPEFILE_NAMES, export_from_project, export_layer, format_of
from beatgrid.gis.io.importers import import_layer, read_layer_file

LON, LAT = 121.55, 29.88  # Ningbo
GEOD = pyproj.Geod(ellps="WGS84")


def metres(a, b):
    a, b = a.centroid, b.centroid  # the project store may hand points back as one-part multis
    return GEOD.inv(a.x, a.y, b.x, b.y)[2]


def _boxes(n=3, lon=LON, lat=LAT, size=2e-4):
    return [shapely.box(lon + i * 1e-3, lat, lon + i * 1e-3 + size, lat + size) for i in range(n)]


def _write_csv(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


# -- GeoJSON / GeoPackage / Shapefile ------------------------------------------------------------

def test_geojson_buildings_with_column_map(tmp_path):
    src = gpd.GeoDataFrame({"编号": ["b1", "b2"], "户数": [12, 30], "楼层": [6, 11]},
                           geometry=_boxes(2), crs=4326)
    path = tmp_path / "楼.geojson"
    src.to_file(path)
    out = read_layer_file(path, layer_name="buildings",
                          column_map={"编号": "id", "户数": "households", "楼层": "levels"})
    assert out.crs.to_epsg() == 4490  # Chinese data are stored in CGCS2000
    assert list(out["id"]) == ["b1", "b2"]
    assert list(out["households"]) == [12, 30] and list(out["levels"]) == [6, 11]
    assert not out["households_estimated"].any()
    assert list(out.columns[:3]) == ["id", "households", "households_estimated"]
    assert out.columns[-1] == "geometry"
    assert out.attrs["coords_source"] == "wgs84" and out.attrs["source"] == str(path)
    assert out.geometry.iloc[0].equals_exact(src.geometry.iloc[0], 1e-9)


def test_geopackage_layer_choice(tmp_path):
    path = tmp_path / "survey.gpkg"
    cams = gpd.GeoDataFrame({"id": ["c1", "c2"], "direction": [90.0, 180.0]},
                            geometry=[shapely.Point(LON, LAT), shapely.Point(LON + 1e-3, LAT)],
                            crs=4490)
    cams.to_file(path, layer="摄像头")
    gpd.GeoDataFrame({"id": ["x"]}, geometry=_boxes(1), crs=4490).to_file(path, layer="other")
    with pytest.raises(InputError) as exc:
        read_layer_file(path, layer_name="cameras")
    assert "2 layers" in exc.value.message and "摄像头" in exc.value.fix
    out = read_layer_file(path, layer_name="cameras", source_layer="摄像头")
    assert list(out["direction"]) == [90.0, 180.0] and out.attrs["source_layer"] == "摄像头"
    with pytest.raises(InputError, match="no layer 'nope'"):
        read_layer_file(path, layer_name="cameras", source_layer="nope")
    # a layer named like the target layer is picked without asking
    cams.to_file(path, layer="cameras")
    assert len(read_layer_file(path, layer_name="cameras")) == 2


def test_projected_geopackage_is_reprojected_to_storage(tmp_path):
    gk = gpd.GeoDataFrame({"id": ["s1"]}, geometry=[shapely.LineString(
        [(LON, LAT), (LON + 0.01, LAT)])], crs=4490).to_crs(4550)
    path = tmp_path / "streets.gpkg"
    gk.to_file(path)
    out = read_layer_file(path, layer_name="streets")
    assert out.crs.to_epsg() == 4490
    assert out.geometry.iloc[0].coords[0] == pytest.approx((LON, LAT), abs=1e-8)


def test_data_outside_china_stored_in_wgs84(tmp_path):
    path = tmp_path / "c.geojson"
    gpd.GeoDataFrame({"id": ["c1"]}, geometry=[shapely.Point(24.94, 60.17)],
                     crs=4326).to_file(path)
    assert read_layer_file(path, layer_name="cameras").crs.to_epsg() == 4326


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_shapefile_without_crs_is_an_error_unless_crs_given(tmp_path):
    path = tmp_path / "rooms.shp"
    gpd.GeoDataFrame({"id": ["r1"], "name": ["孔浦警务室"]},
                     geometry=[shapely.Point(LON, LAT)]).to_file(path, encoding="UTF-8")
    assert not path.with_suffix(".prj").exists()
    with pytest.raises(CRSError) as exc:
        read_layer_file(path, layer_name="police_rooms")
    assert "rooms.shp" in exc.value.message and "police_rooms" in exc.value.message
    assert "crs=" in exc.value.fix and "never guesses" in exc.value.fix
    out = read_layer_file(path, layer_name="police_rooms", crs="EPSG:4490")
    assert out.crs.to_epsg() == 4490 and out.loc[0, "name"] == "孔浦警务室"


def test_crs_contradicting_the_file_is_an_error(tmp_path):
    path = tmp_path / "c.gpkg"
    gpd.GeoDataFrame({"id": ["c1"]}, geometry=[shapely.Point(LON, LAT)],
                     crs=4490).to_file(path)
    with pytest.raises(CRSError, match="declares CRS"):
        read_layer_file(path, layer_name="cameras", crs=4547)
    assert len(read_layer_file(path, layer_name="cameras", crs=4490)) == 1
    with pytest.raises(CRSError, match="not a coordinate reference system"):
        read_layer_file(path, layer_name="cameras", crs="EPSG:999999")


def test_multipoint_single_parts_become_points(tmp_path):
    path = tmp_path / "c.gpkg"
    gpd.GeoDataFrame({"id": ["c1"]}, geometry=[shapely.MultiPoint([(LON, LAT)])],
                     crs=4490).to_file(path)
    out = read_layer_file(path, layer_name="cameras")
    assert out.geometry.iloc[0].geom_type == "Point"


# -- CSV -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("header", ["lon,lat", "lng,latitude", "Longitude,Latitude", "X,Y",
                                    "经度,纬度", "LNG,LAT"])
def test_csv_lon_lat_detected(tmp_path, header):
    path = _write_csv(tmp_path / "c.csv", f"id,{header},direction\nc1,{LON},{LAT},90\n"
                                          f"c2,{LON + 0.001},{LAT},\n")
    out = read_layer_file(path, layer_name="cameras")
    assert out.crs.to_epsg() == 4490
    assert out.geometry.iloc[0].coords[0] == pytest.approx((LON, LAT))
    assert out.loc[0, "direction"] == 90.0 and np.isnan(out.loc[1, "direction"])
    lon_name = header.split(",")[0]
    assert lon_name not in out.columns


def test_csv_explicit_columns_keep_ids_as_text(tmp_path):
    path = _write_csv(tmp_path / "c.csv", f"code,E,N,x\n007,{LON},{LAT},not a coordinate\n")
    out = read_layer_file(path, layer_name="cameras", lon_col="E", lat_col="N",
                          column_map={"code": "id"})
    assert out.loc[0, "id"] == "007"  # never read as the number 7
    assert out.loc[0, "x"] == "not a coordinate"
    with pytest.raises(InputError) as exc:
        read_layer_file(path, layer_name="cameras", lon_col="east", lat_col="N")
    assert "lon_col='east'" in exc.value.message and "code, E, N, x" in exc.value.fix


def test_csv_without_coordinate_columns_lists_the_columns(tmp_path):
    path = _write_csv(tmp_path / "c.csv", "id,东经,北纬\nc1,121.5,29.8\n")
    with pytest.raises(InputError) as exc:
        read_layer_file(path, layer_name="cameras")
    assert "no longitude and latitude column" in exc.value.message
    assert "id, 东经, 北纬" in exc.value.message and "--lon-col" in exc.value.fix
    out = read_layer_file(path, layer_name="cameras", lon_col="东经", lat_col="北纬")
    assert len(out) == 1


def test_csv_gbk_encoding_is_read(tmp_path):
    path = _write_csv(tmp_path / "rooms.csv",
                      f"id,name,lon,lat\nr1,孔浦社区警务室,{LON},{LAT}\n", encoding="gbk")
    out = read_layer_file(path, layer_name="police_rooms")
    assert out.loc[0, "name"] == "孔浦社区警务室"


def test_csv_swapped_or_projected_coordinates_are_reported(tmp_path):
    path = _write_csv(tmp_path / "c.csv", "id,lon,lat\nc1,29.88,121.55\n")
    with pytest.raises(InputError) as exc:
        read_layer_file(path, layer_name="cameras")
    assert "line 2" in exc.value.message and "swapped" in exc.value.fix
    x, y = pyproj.Transformer.from_crs(4490, 4550, always_xy=True).transform(LON, LAT)
    proj = _write_csv(tmp_path / "gk.csv", f"id,x,y\nc1,{x},{y}\n")
    out = read_layer_file(proj, layer_name="cameras", crs=4550)
    assert out.crs.to_epsg() == 4490
    assert out.geometry.iloc[0].coords[0] == pytest.approx((LON, LAT), abs=1e-8)


def test_csv_wkt_geometry_for_polygons(tmp_path):
    wkt = shapely.box(LON, LAT, LON + 2e-4, LAT + 2e-4).wkt
    path = _write_csv(tmp_path / "b.csv", f'id,households,geometry\nb1,40,"{wkt}"\n')
    out = read_layer_file(path, layer_name="buildings")
    assert out.geometry.iloc[0].geom_type == "Polygon" and out.loc[0, "households"] == 40
    bad = _write_csv(tmp_path / "bad.csv", 'id,households,geometry\nb1,40,"POLYGON ((1 2"\n')
    with pytest.raises(InputError, match="invalid WKT"):
        read_layer_file(bad, layer_name="buildings")
    pts = _write_csv(tmp_path / "pts.csv", f"id,households,lon,lat\nb1,4,{LON},{LAT}\n")
    with pytest.raises(InputError) as exc:
        read_layer_file(pts, layer_name="buildings")
    assert "needs Polygon or MultiPolygon" in exc.value.message


def test_csv_empty_coordinates_are_reported_per_row(tmp_path):
    path = _write_csv(tmp_path / "c.csv", f"id,lon,lat\nc1,{LON},{LAT}\nc2,,\nc3,abc,{LAT}\n")
    with pytest.raises(ValidationError) as exc:
        read_layer_file(path, layer_name="cameras")
    empty = {p.row_id for p in exc.value.problems if p.message == "geometry is empty"}
    assert empty == {"c2", "c3"}


def test_staff_table_from_csv(tmp_path):
    path = _write_csv(tmp_path / "staff.csv", "beat_id,community_officers,auxiliaries\nB1,1,2\n")
    out = read_layer_file(path, layer_name="staff")
    assert not isinstance(out, gpd.GeoDataFrame)
    assert out.loc[0, "auxiliaries"] == 2 and out.loc[0, "grid_workers"] == 0


# -- Chinese map coordinates -------------------------------------------------------------------

@pytest.mark.parametrize("coords,forward", [("gcj02", cc.wgs84_to_gcj02),
                                            ("bd09", cc.wgs84_to_bd09)])
def test_csv_in_gcj02_or_bd09_is_converted_to_wgs84(tmp_path, coords, forward):
    rng = np.random.default_rng(7)
    lon = LON + rng.uniform(-0.05, 0.05, 50)
    lat = LAT + rng.uniform(-0.05, 0.05, 50)
    mlon, mlat = forward(lon, lat)
    lines = ["id,lng,lat"] + [f"c{i},{a:.10f},{b:.10f}" for i, (a, b) in enumerate(zip(mlon, mlat))]
    path = _write_csv(tmp_path / "amap.csv", "\n".join(lines) + "\n")
    out = read_layer_file(path, layer_name="cameras", coords=coords.upper().replace("0", "-0"))
    assert out.attrs["coords_source"] == coords
    err = GEOD.inv(out.geometry.x.to_numpy(), out.geometry.y.to_numpy(), lon, lat)[2]
    assert err.max() < 0.5
    # unconverted, the points would be hundreds of metres off
    plain = read_layer_file(path, layer_name="cameras")
    assert GEOD.inv(plain.geometry.x.to_numpy(), plain.geometry.y.to_numpy(), lon, lat)[2].min() > 50


def test_gcj02_on_projected_data_is_an_error(tmp_path):
    path = tmp_path / "c.gpkg"
    gpd.GeoDataFrame({"id": ["c1"]}, geometry=[shapely.Point(LON, LAT)],
                     crs=4490).to_crs(4550).to_file(path)
    with pytest.raises(CRSError, match="projected"):
        read_layer_file(path, layer_name="cameras", coords="gcj02")
    with pytest.raises(InputError, match="unknown coordinate system coords='wgs72'"):
        read_layer_file(path, layer_name="cameras", coords="wgs72")


# -- schema errors ---------------------------------------------------------------------------------

def test_missing_required_column_names_it(tmp_path):
    path = _write_csv(tmp_path / "c.csv", f"code,lon,lat\nc1,{LON},{LAT}\n")
    with pytest.raises(ValidationError) as exc:
        read_layer_file(path, layer_name="cameras")
    assert "column=id" in str(exc.value) and "required column is missing" in str(exc.value)
    problem = exc.value.problems[0]
    assert problem.layer == "cameras" and "--map SRC=id" in problem.fix


def test_buildings_need_households_or_levels(tmp_path):
    path = tmp_path / "b.geojson"
    gpd.GeoDataFrame({"id": ["b1"]}, geometry=_boxes(1), crs=4326).to_file(path)
    with pytest.raises(ValidationError) as exc:
        read_layer_file(path, layer_name="buildings")
    [p] = [p for p in exc.value.problems if p.severity == "error"]
    assert p.column == "households" and "levels" in p.fix


def test_all_errors_reported_at_once(tmp_path):
    path = _write_csv(tmp_path / "c.csv",
                      f"id,lon,lat,kind,direction\nc1,{LON},{LAT},bogus,90\n"
                      f"c1,{LON},{LAT},road,400\nc3,{LON},{LAT},road,sideways\n")
    with pytest.raises(ValidationError) as exc:
        read_layer_file(path, layer_name="cameras")
    found = {(p.column, p.message.split(" ")[0]) for p in exc.value.problems}
    assert ("kind", "value") in found            # not allowed
    assert ("id", "id") in found                 # duplicate
    # directions are read like OSM's camera:direction: 400 is 40, 'sideways' left empty
    assert len([p for p in exc.value.problems if p.severity == "error"]) == 2


def test_invalid_geometry_repaired_with_warning(tmp_path):
    bowtie = shapely.Polygon([(LON, LAT), (LON + 1e-3, LAT + 1e-3), (LON + 1e-3, LAT),
                              (LON, LAT + 1e-3)])
    path = tmp_path / "b.gpkg"
    gpd.GeoDataFrame({"id": ["b1"], "households": [5]}, geometry=[bowtie],
                     crs=4490).to_file(path)
    with pytest.warns(UserWarning, match="invalid geometry repaired"):
        out = read_layer_file(path, layer_name="buildings")
    assert out.geometry.iloc[0].is_valid


def test_bad_arguments(tmp_path):
    with pytest.raises(NotFoundError, match="does not exist"):
        read_layer_file(tmp_path / "none.geojson", layer_name="cameras")
    odd = tmp_path / "c.xlsx"
    odd.write_text("x")
    with pytest.raises(InputError) as exc:
        read_layer_file(odd, layer_name="cameras")
    assert "'.xlsx'" in exc.value.message and ".csv" in exc.value.fix
    path = _write_csv(tmp_path / "c.csv", f"id,lon,lat\nc1,{LON},{LAT}\n")
    with pytest.raises(InputError, match="unknown layer 'castles'"):
        read_layer_file(path, layer_name="castles")
    with pytest.raises(InputError) as exc:
        read_layer_file(path, layer_name="cameras", column_map={"编号": "id"})
    assert "'编号'" in exc.value.message and "id, lon, lat" in exc.value.fix
    with pytest.raises(InputError, match="several columns"):
        read_layer_file(path, layer_name="cameras", column_map={"id": "name", "lon": "name"})


def test_column_map_replaces_an_existing_target(tmp_path):
    path = _write_csv(tmp_path / "c.csv", f"id,code,lon,lat\n1,CAM-1,{LON},{LAT}\n")
    with pytest.warns(UserWarning, match="replaced"):
        out = read_layer_file(path, layer_name="cameras", column_map={"code": "id"})
    assert list(out["id"]) == ["CAM-1"]


def test_columns_differing_by_case_are_matched(tmp_path):
    path = _write_csv(tmp_path / "c.csv", f"ID,Direction,lon,lat\nc1,45,{LON},{LAT}\n")
    with pytest.warns(UserWarning, match="ID->id"):
        out = read_layer_file(path, layer_name="cameras")
    assert out.loc[0, "id"] == "c1" and out.loc[0, "direction"] == 45.0


# -- derived columns ------------------------------------------------------------------------------

def test_buildings_households_estimated_from_levels(tmp_path):
    src = gpd.GeoDataFrame({"id": ["b1", "b2", "b3", "b4"], "levels": [6, 6, 3, 2],
                            "households": [None, 24, None, None],
                            "use": ["residential", "residential", "commercial", None]},
                           geometry=_boxes(4), crs=4326)
    path = tmp_path / "b.gpkg"
    src.to_file(path)
    with pytest.warns(UserWarning, match="households estimated for 2"):
        out = read_layer_file(path, layer_name="buildings")
    area = src.to_crs(4550).area.to_numpy()
    assert out.loc[0, "households"] == round(area[0] * 6 / 90)
    assert out.loc[0, "households"] > 20
    assert list(out["households_estimated"]) == [True, False, False, True]
    assert out.loc[1, "households"] == 24            # given: kept
    assert out.loc[2, "households"] == 0             # commercial
    assert out.loc[3, "households"] == round(area[3] * 2 / 90)  # empty use = residential
    # dwelling size from the settings
    with pytest.warns(UserWarning, match="/ 45 m2"):
        small = read_layer_file(path, layer_name="buildings",
                                settings=default_config().replace(
                                    core={"import": {"dwelling_size_m2": 45.0}}).core)
    assert small.loc[0, "households"] == round(area[0] * 6 / 45)


def test_streets_get_ids_and_classes(tmp_path):
    lines = [shapely.LineString([(LON + i * 1e-3, LAT), (LON + i * 1e-3, LAT + 1e-3)])
             for i in range(4)]
    src = gpd.GeoDataFrame({"name": ["中山东路", "", "", ""],
                            "highway": ["primary", "residential", "service", "track"]},
                           geometry=lines, crs=4326)
    path = tmp_path / "roads.geojson"
    src.to_file(path)
    with pytest.warns(UserWarning, match="4 street id"):
        out = read_layer_file(path, layer_name="streets")
    assert list(out["id"]) == ["street-1", "street-2", "street-3", "street-4"]
    assert list(out["street_class"]) == ["primary", "residential", "service", "other"]
    partial = tmp_path / "partial.geojson"
    src.assign(id=["street-2", None, "s9", None]).to_file(partial)
    with pytest.warns(UserWarning, match="2 street id"):
        out = read_layer_file(partial, layer_name="streets")
    assert list(out["id"]) == ["street-2", "street-1", "s9", "street-3"]
    assert out["id"].is_unique


# -- project import ---------------------------------------------------------------------------------

def test_import_layer_writes_and_logs(tmp_path):
    project = tmp_path / "p.gpkg"
    wkt = [b.wkt for b in _boxes(3)]
    csv1 = _write_csv(tmp_path / "a.csv", f'id,households,geometry\nb1,10,"{wkt[0]}"\n'
                                          f'b2,20,"{wkt[1]}"\n')
    csv2 = _write_csv(tmp_path / "b.csv", f'id,households,geometry\nb3,30,"{wkt[2]}"\n')
    assert import_layer(project, "buildings", csv1, coords="gcj02") == 2
    stored = store.read_layer(project, "buildings")
    assert list(stored["id"]) == ["b1", "b2"] and stored.crs.to_epsg() == 4490
    assert metres(stored.geometry.iloc[0], _boxes(1)[0]) > 100  # GCJ-02 converted
    import_layer(project, "buildings", csv2, append=True)
    assert list(store.read_layer(project, "buildings")["households"]) == [10, 20, 30]
    log = store.read_imports(project)
    assert list(log["source"]) == [str(csv1), str(csv2)]
    assert list(log["coords"]) == ["gcj02", "wgs84"]
    assert list(log["mode"]) == ["replace", "append"]
    # a duplicate id on append is refused and the project is unchanged
    with pytest.raises(ValidationError, match="id is used by 2"):
        import_layer(project, "buildings", csv2, append=True)
    assert len(store.read_layer(project, "buildings")) == 3


def test_import_points_and_append(tmp_path):
    project = tmp_path / "p.gpkg"
    csv1 = _write_csv(tmp_path / "a.csv", f"id,lng,lat\nc1,{LON},{LAT}\nc2,{LON},{LAT + 1e-3}\n")
    csv2 = _write_csv(tmp_path / "b.csv", f"id,lng,lat\nc3,{LON},{LAT + 2e-3}\n")
    import_layer(project, "cameras", csv1)
    import_layer(project, "cameras", csv2, append=True)
    stored = store.read_layer(project, "cameras")
    assert list(stored["id"]) == ["c1", "c2", "c3"]
    assert set(stored.geom_type) == {"Point"}


# -- export ------------------------------------------------------------------------------------------

def _layer():
    return gpd.GeoDataFrame(
        {"id": ["b1", "b2"], "households": pd.array([12, 30], dtype="Int64"),
         "households_estimated": [True, False], "population_registered": [30, 0],
         "address": ["江北区人民路1号", ""]}, geometry=_boxes(2), crs=4490)


def test_export_geojson_is_rfc7946_wgs84(tmp_path):
    path = export_layer(_layer(), tmp_path / "out" / "b.geojson")
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert "crs" not in doc and doc["type"] == "FeatureCollection"
    props = doc["features"][0]["properties"]
    assert props["id"] == "b1" and props["households"] == 12 and props["address"] == "江北区人民路1号"
    ring = doc["features"][0]["geometry"]["coordinates"][0]
    assert ring[0][0] == pytest.approx(LON + 2e-4, abs=1e-6) or ring[0][0] == pytest.approx(LON)
    back = read_layer_file(path, layer_name="buildings")
    assert list(back["households"]) == [12, 30]
    assert list(back["households_estimated"]) == [True, False]


@pytest.mark.parametrize("ext", [".gpkg", ".shp", ".csv", ".json"])
def test_export_round_trip(tmp_path, ext):
    src = _layer()
    path = export_layer(src, tmp_path / f"b{ext}")
    back = read_layer_file(path, layer_name="buildings")
    for col in ("id", "households", "households_estimated", "population_registered", "address"):
        assert list(back[col]) == list(src[col]), col
    for a, b in zip(back.geometry, src.geometry):  # (Shapefile rings run clockwise)
        assert a.normalize().equals_exact(b.normalize(), 1e-7)


def test_export_shapefile_uses_short_names(tmp_path):
    path = export_layer(_layer(), tmp_path / "b.shp")
    fields = pyogrio.read_info(path)["fields"]
    assert SHAPEFILE_NAMES["households_estimated"] in fields
    assert SHAPEFILE_NAMES["population_registered"] in fields
    assert all(len(f) <= 10 for f in fields)
    assert path.with_suffix(".cpg").exists() and path.with_suffix(".prj").exists()


def test_export_csv_points_have_wkt_and_lon_lat(tmp_path):
    cams = gpd.GeoDataFrame({"id": ["c1"], "direction": [90.0]},
                            geometry=[shapely.Point(LON, LAT)], crs=4490)
    path = export_layer(cams, tmp_path / "c.csv")
    df = pd.read_csv(path, encoding="utf-8-sig")
    assert list(df.columns) == ["id", "direction", "geometry", "lon", "lat"]
    assert df.loc[0, "geometry"].startswith("POINT") and df.loc[0, "lon"] == pytest.approx(LON)
    polys = pd.read_csv(export_layer(_layer(), tmp_path / "b.csv"), encoding="utf-8-sig")
    assert "lon" not in polys.columns and polys.loc[0, "geometry"].startswith("POLYGON")


def test_export_gpkg_keeps_crs_and_other_layers(tmp_path):
    path = tmp_path / "out.gpkg"
    export_layer(_layer(), path, layer="buildings")
    cams = gpd.GeoDataFrame({"id": ["c1"]}, geometry=[shapely.Point(LON, LAT)], crs=4490)
    export_layer(cams, path, layer="cameras")
    export_layer(cams, path, layer="cameras")  # replaced, not appended
    layers = dict(pyogrio.list_layers(path))
    assert set(layers) == {"buildings", "cameras"}
    assert gpd.read_file(path, layer="cameras").crs.to_epsg() == 4490
    assert len(gpd.read_file(path, layer="cameras")) == 1


def test_export_errors(tmp_path):
    with pytest.raises(InputError) as exc:
        export_layer(_layer(), tmp_path / "b.kml")
    assert "'.kml'" in exc.value.message
    for ext in (".geojson", ".gpkg", ".shp", ".csv"):
        assert ext in exc.value.fix
    assert format_of("X.GeoJSON") == "GeoJSON"
    staff = pd.DataFrame({"beat_id": ["B1"], "auxiliaries": [2]})
    with pytest.raises(InputError, match="without geometry"):
        export_layer(staff, tmp_path / "s.geojson")
    assert export_layer(staff, tmp_path / "s.csv").read_text(encoding="utf-8-sig").startswith(
        "beat_id,auxiliaries")


def test_export_from_project(tmp_path):
    project = tmp_path / "p.gpkg"
    store.write_layers(project, {"buildings": _layer()})
    out = export_from_project(project, "buildings", tmp_path / "b.geojson")
    assert len(gpd.read_file(out)) == 2
    with pytest.raises(InputError, match="unknown layer"):
        export_from_project(project, "castles", tmp_path / "x.geojson")
    with pytest.raises(InputError, match="unknown extension"):
        export_from_project(project, "buildings", tmp_path / "x.txt")


def test_camera_text_directions_and_heights_are_read(tmp_path):
    path = _write_csv(tmp_path / "c.csv", "id,lon,lat,朝向,安装高度\n"
                                          f"c1,{LON},{LAT},东北,4 m\n"
                                          f"c2,{LON},{LAT},90-180,3.5\n"
                                          f"c3,{LON},{LAT},SSW,\n")
    with pytest.warns(UserWarning, match="read as degrees/metres"):
        out = read_layer_file(path, layer_name="cameras",
                              column_map={"朝向": "direction", "安装高度": "height_m"})
    assert out["direction"].tolist() == [45.0, 135.0, 202.5]
    assert out["fov_deg"].tolist()[1] == 90.0 and np.isnan(out["fov_deg"].tolist()[0])
    assert out["height_m"].tolist()[:2] == [4.0, 3.5]
    bad = _write_csv(tmp_path / "bad.csv", f"id,lon,lat,direction\nc1,{LON},{LAT},towards gate\n")
    with pytest.warns(UserWarning, match="direction: 1 value.*left empty.*c1='towards gate'"):
        out = read_layer_file(bad, layer_name="cameras")
    assert out["direction"].isna().all()


# -- issue 9: camera lists from other systems, unmapped columns, a city's values -----------------

def test_camera_list_read_like_osm(tmp_path):
    path = _write_csv(tmp_path / "c.csv",
                      "id,lon,lat,direction,camera:type,surveillance:type\n"
                      f"c1,{LON},{LAT},-45,,camera\n"
                      f"c2,{LON},{LAT},\"180, 270\",,\n"
                      f"c3,{LON},{LAT},360,dome,\n"
                      f"g1,{LON},{LAT},,,guard\n"
                      f"c4,{LON},{LAT},sideways,,\n")
    with pytest.warns(UserWarning) as record:
        out = read_layer_file(path, layer_name="cameras")
    text = " ".join(str(w.message) for w in record)
    assert out["id"].tolist() == ["c1", "c2", "c3", "c4"]
    assert out["direction"].tolist()[:2] == [315.0, 180.0]
    assert np.isnan(out["direction"].iloc[2]) and out["fov_deg"].iloc[2] == 360.0
    assert np.isnan(out["direction"].iloc[3])
    assert "1 row(s) that are not cameras (surveillance:type=guard) skipped" in text
    assert "direction: 1 value(s) not understood, left empty" in text and "c4='sideways'" in text


def test_unreadable_directions_report_count_and_first_ids(tmp_path):
    rows = "".join(f"c{i},{LON},{LAT},??\n" for i in range(8))
    path = _write_csv(tmp_path / "c.csv", "id,lon,lat,direction\n" + rows)
    with pytest.warns(UserWarning, match=r"direction: 8 value\(s\) not understood.*c4='\?\?' "
                                         r"and 3 more"):
        out = read_layer_file(path, layer_name="cameras")
    assert out["direction"].isna().all()


def test_unmapped_columns_named_like_schema_columns_are_reported(tmp_path):
    path = _write_csv(tmp_path / "c.csv", f"id,lon,lat,方向,Mount Height\nc1,{LON},{LAT},90,4\n")
    with pytest.warns(UserWarning, match="--map 方向=direction --map Mount Height=height_m"):
        out = read_layer_file(path, layer_name="cameras")
    assert out["direction"].isna().all() and "方向" in out.columns
    # mapped: no warning about columns
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = read_layer_file(path, layer_name="cameras",
                              column_map={"方向": "direction", "Mount Height": "height_m"})
    assert out["direction"].tolist() == [90.0]


def test_value_map_file_header_and_errors(tmp_path):
    from beatgrid.gis import schema
    from beatgrid.gis.io.fill_columns import read_value_map
    spec = schema.get_spec("incidents")
    no_header = _write_csv(tmp_path / "a.csv", "THEFT,bicycle_theft\n\nBATTERY,assault,\n")
    assert read_value_map(no_header, column="category", spec=spec) == {
        "THEFT": "bicycle_theft", "BATTERY": "assault"}
    for text, words in [("code,category\nTHEFT,larceny\n", ["line 2", "'larceny'", "burglary"]),
                        ("code,category\nTHEFT\n", ["line 2", "two cells"]),
                        ("code,category\nA,fraud\nA,assault\n", ["'A'", "line 2", "line 3"]),
                        ("code,category\n", ["maps no value"])]:
        path = _write_csv(tmp_path / "m.csv", text)
        with pytest.raises(InputError) as exc:
            read_value_map(path, column="category", spec=spec)
        assert all(w in str(exc.value) for w in words), str(exc.value)
    with pytest.raises(NotFoundError, match="does not exist"):
        read_value_map(tmp_path / "none.csv", column="category", spec=spec)


def test_value_map_unknown_column_and_distinct_values(tmp_path):
    path = _write_csv(tmp_path / "i.csv", "id,lon,lat,offense\n" + "".join(
        f"i{i},{LON},{LAT},{'THEFT' if i % 3 else 'ARSON'}\n" for i in range(9)))
    with pytest.raises(InputError, match="layer 'incidents' has no such column"), \
            pytest.warns(UserWarning, match="--map offense=category"):
        read_layer_file(path, layer_name="incidents", value_map={"offense": {"A": "fraud"}})
    with pytest.raises(ValidationError) as exc, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        read_layer_file(path, layer_name="incidents", column_map={"offense": "category"},
                        value_map={"category": {"theft": "bicycle_theft"}})
    [arson] = exc.value.errors  # THEFT mapped without case; ARSON reported once for 3 rows
    assert arson.value == "ARSON" and "in 3 rows" in arson.message
    assert "not in the value map" in arson.message and "--map-values category=" in arson.fix


def test_empty_replacement_is_refused(tmp_path):
    project = tmp_path / "p.gpkg"
    import_layer(project, "cameras", _write_csv(tmp_path / "c.csv",
                                                f"id,lon,lat\nc1,{LON},{LAT}\n"))
    before = project.read_bytes()
    empty = _write_csv(tmp_path / "empty.csv", "id,lon,lat\n")
    with pytest.raises(InputError, match="replace the 1 stored cameras with none") as exc:
        import_layer(project, "cameras", empty)
    assert "--allow-empty" in exc.value.fix and project.read_bytes() == before
    assert import_layer(project, "cameras", empty, append=True) == 0
    assert import_layer(project, "cameras", empty, allow_empty=True) == 0
    assert len(store.read_layer(project, "cameras")) == 0


def test_damaged_source_is_one_error(tmp_path):
    path = tmp_path / "cams.geojson"
    path.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", '
                    '"geometry": {"type": "Point", "coordinates": [121.5, 29.9]}, ',
                    encoding="utf-8")
    with pytest.raises(InputError, match="cannot read 'cams.geojson'|cams.geojson") as exc:
        read_layer_file(path, layer_name="cameras")
    assert "export" in exc.value.fix
