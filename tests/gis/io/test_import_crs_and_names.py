"""Issue 9, loose ends of the importers: ``--crs`` for a GeoJSON without a ``crs`` member,
the core settings passed down, and a city's column names as settings.

The files are the sample's cameras and buildings written in a temporary folder: as
RFC 7946 GeoJSON (no ``crs`` member) in longitude/latitude or in Gauss-Krüger metres,
with an explicit ``crs`` member, with ``"crs": null``; as a camera CSV whose columns are
named as another system names them. Each table row gives what is given (``crs=``, a
settings file) and the outcome: accepted (and where the features land) or the error
and the words of its message.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tomllib
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest

from beatgrid.api.cli import main
from beatgrid.gis import Config, schema
from beatgrid.gis.config_checks import check_schema_settings
from beatgrid.gis.errors import BeatGridError, CRSError, PolicyError, ValidationError
from beatgrid.gis.io.file_readers import declares_crs, suggest_column_map
from beatgrid.gis.io.importers import import_layer, read_layer_file

SAMPLE = Path(__file__).resolve().parents[3] / "sample-geodata" / "ningbo-jiangbei.gpkg"
#: The CGCS2000 3-degree Gauss-Krüger zone of the sample (CM 123E), and a wrong one (CM 114E).
ZONE, WRONG_ZONE = 4550, 4547


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _geojson(path: Path, gdf: gpd.GeoDataFrame, *, member: object = "drop") -> Path:
    """``gdf`` as GeoJSON whose ``crs`` member is dropped, kept as GDAL wrote it, or set."""
    gdf.to_file(path, driver="GeoJSON")
    data = json.loads(path.read_text("utf-8"))
    if member == "drop":
        data.pop("crs", None)
    elif member != "keep":
        data["crs"] = member
    path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    return path


@pytest.fixture(scope="module")
def sample_cameras() -> gpd.GeoDataFrame:
    return pyogrio.read_dataframe(SAMPLE, layer="cameras").iloc[:25].reset_index(drop=True)


@pytest.fixture(scope="module")
def sources(tmp_path_factory, sample_cameras) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("crs")
    cams = sample_cameras[["id", "kind", "geometry"]]
    metres = cams.to_crs(ZONE)
    lonlat = cams.to_crs(4326)
    with_prop = metres.assign(crs="EPSG:4326")  # a property named crs is not the member
    return {
        "metres, no crs member": _geojson(d / "metres.geojson", metres),
        "metres, crs null": _geojson(d / "metres_null.geojson", metres, member=None),
        "metres, crs member": _geojson(d / "metres_declared.geojson", metres, member="keep"),
        "metres, no crs member, crs property": _geojson(d / "metres_prop.geojson", with_prop),
        "lon/lat, no crs member": _geojson(d / "lonlat.geojson", lonlat),
        "lon/lat, CRS84 member": _geojson(d / "lonlat_crs84.json", lonlat, member={
            "type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}),
    }


# -- 1. crs= for a GeoJSON without a crs member ------------------------------------------------

@dataclass(frozen=True)
class CrsCase:
    source: str
    crs: str | None
    error: type[BeatGridError] | None
    words: tuple[str, ...] = ()


CRS_CASES = [
    # no crs member: crs= is the declaration, checked against the area of use
    CrsCase("metres, no crs member", f"EPSG:{ZONE}", None),
    CrsCase("metres, crs null", f"EPSG:{ZONE}", None),
    CrsCase("metres, no crs member, crs property", f"EPSG:{ZONE}", None),
    CrsCase("metres, no crs member", None, ValidationError,
            ("not longitude/latitude of EPSG:4326", "projected metres", "--crs")),
    CrsCase("metres, no crs member", "EPSG:4490", ValidationError,
            ("not longitude/latitude of EPSG:4490", "projected metres")),
    CrsCase("lon/lat, no crs member", None, None),
    CrsCase("lon/lat, no crs member", "EPSG:4326", None),
    CrsCase("lon/lat, no crs member", f"EPSG:{ZONE}", ValidationError,
            (f"look like longitude/latitude, not EPSG:{ZONE}", "--crs EPSG:4490")),
    # a crs member that disagrees stays refused
    CrsCase("metres, crs member", f"EPSG:{WRONG_ZONE}", CRSError,
            (f"declares CRS EPSG:{ZONE}", f"crs='EPSG:{WRONG_ZONE}'", "omit crs=")),
    CrsCase("metres, crs member", f"EPSG:{ZONE}", None),
    CrsCase("metres, crs member", None, None),
    CrsCase("lon/lat, CRS84 member", f"EPSG:{ZONE}", CRSError,  # GDAL reads CRS84 as 4326
            ("declares CRS EPSG:4326", f"crs='EPSG:{ZONE}'")),
]


@pytest.mark.parametrize("case", CRS_CASES,
                         ids=[f"{c.source} + crs={c.crs}" for c in CRS_CASES])
def test_crs_of_geojson(case: CrsCase, sources, sample_cameras):
    path = sources[case.source]
    if case.error is not None:
        with pytest.raises(case.error) as info:
            read_layer_file(path, layer_name="cameras", crs=case.crs)
        for word in case.words:
            assert word in str(info.value), (word, str(info.value))
        return
    out = read_layer_file(path, layer_name="cameras", crs=case.crs)
    assert out.crs.to_epsg() == 4490 and out["id"].tolist() == sample_cameras["id"].tolist()
    moved = out.to_crs(ZONE).distance(sample_cameras.to_crs(ZONE))
    assert float(moved.max()) < 0.01  # metres: back where the sample has them


def test_which_files_declare_a_crs(sources, tmp_path):
    shutil.copyfile(SAMPLE, tmp_path / "p.gpkg")
    assert {name: declares_crs(path) for name, path in sources.items()} == {
        "metres, no crs member": False, "metres, crs null": False,
        "metres, crs member": True, "metres, no crs member, crs property": False,
        "lon/lat, no crs member": False, "lon/lat, CRS84 member": True}
    assert declares_crs(tmp_path / "p.gpkg")


def test_cli_crs_for_a_geojson_without_a_crs_member(sources, tmp_path, capsys):
    project = tmp_path / "p.gpkg"
    shutil.copyfile(SAMPLE, project)
    path = str(sources["metres, no crs member"])
    before = sha256(project)
    # refused without --crs: nothing written, the fix names --crs
    assert main(["import", "cameras", path, "--project", str(project)]) == 2
    err = capsys.readouterr().err
    assert "projected metres" in err and "--crs" in err and "Traceback" not in err
    assert sha256(project) == before
    # the file's CRS given: imported, in place
    assert main(["import", "cameras", path, "--project", str(project),
                 "--crs", f"EPSG:{ZONE}"]) == 0
    assert "cameras: 25 features replaced" in capsys.readouterr().out
    stored = pyogrio.read_dataframe(project, layer="cameras")
    assert len(stored) == 25 and stored.crs.to_epsg() == 4490
    assert main(["validate", "--project", str(project)]) == 0


def test_wrong_zone_is_plausible_but_the_far_layer_warning_names_the_distance(sources, tmp_path):
    """Gauss-Krüger coordinates without their zone number fit every zone's area of use:
    the wrong zone is caught by the distance to the project's other layers."""
    project = tmp_path / "p.gpkg"
    shutil.copyfile(SAMPLE, project)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        import_layer(project, "cameras", sources["metres, no crs member"],
                     crs=f"EPSG:{WRONG_ZONE}")
    far = [str(w.message) for w in caught if "km or more" in str(w.message)]
    assert far and "[warning] cameras" in far[0] and "--crs" in far[0], far
    km = float(far[0].split("layer lies ")[1].split(" km")[0].replace(",", ""))
    assert 800 < km < 1000  # 9 degrees of longitude at 30N, the width between the zones


# -- 2. the core settings reach the importers' checks ------------------------------------------

@dataclass(frozen=True)
class SettingsCase:
    name: str
    settings: dict | None
    call: Callable[[Path, dict], object]
    error: type[BeatGridError] | None
    words: tuple[str, ...] = ()


def _tall_building(path: Path) -> Path:
    b = pyogrio.read_dataframe(SAMPLE, layer="buildings").iloc[:3].to_crs(4326)
    b = b[["id", "households", "levels", "geometry"]].copy()
    b.loc[0, "households"] = 12000  # a very large tower block: implausible by default
    b.to_file(path, driver="GeoJSON")
    return path


def _far_east_camera(path: Path) -> Path:
    # 0.5 degrees east of the area of use of EPSG:4490 (east edge 134.77)
    path.write_text("id,lon,lat\nc1,135.27,48.4\n", "utf-8")
    return path


RAISE_HOUSEHOLDS = {"validation": {"plausible_maximum": {"buildings": {"households": 20000}}}}
NO_TOLERANCE = {"validation": {"area_of_use_tolerance_deg": 0.0}}

SETTINGS_CASES = [
    SettingsCase("a households count above the plausible maximum", None,
                 lambda p, s: read_layer_file(_tall_building(p / "b.geojson"),
                                              layer_name="buildings", settings=s),
                 ValidationError, ("implausible: more than 10,000",
                                   "[validation.plausible_maximum] buildings.households")),
    SettingsCase("the same with the maximum raised in the settings", RAISE_HOUSEHOLDS,
                 lambda p, s: read_layer_file(_tall_building(p / "b.geojson"),
                                              layer_name="buildings", settings=s), None),
    SettingsCase(
        "the same, written into a project", RAISE_HOUSEHOLDS,
        lambda p, s: import_layer(p / "p.gpkg", "buildings", _tall_building(p / "b.geojson"),
                                  settings=s), None),
    SettingsCase("within the area of use's tolerance", None,
                 lambda p, s: read_layer_file(_far_east_camera(p / "c.csv"), crs="EPSG:4490",
                                              layer_name="cameras", settings=s), None),
    SettingsCase("no tolerance in the settings", NO_TOLERANCE,
                 lambda p, s: read_layer_file(_far_east_camera(p / "c.csv"), crs="EPSG:4490",
                                              layer_name="cameras", settings=s),
                 ValidationError, ("outside the area of use of EPSG:4490",)),
]


@pytest.mark.parametrize("case", SETTINGS_CASES, ids=[
    (c.values[0] if hasattr(c, "values") else c).name for c in SETTINGS_CASES])
def test_settings_reach_the_importers(case: SettingsCase, tmp_path):
    core = Config.load(core=case.settings).core
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if case.error is None:
            case.call(tmp_path, core)
            return
        with pytest.raises(case.error) as info:
            case.call(tmp_path, core)
    for word in case.words:
        assert word in str(info.value), (word, str(info.value))


# -- 3. a city's column names ------------------------------------------------------------------

def test_shipped_names_cover_every_layer_and_column_and_pass_the_check():
    table = Config.load().core["import"]["column_synonyms"]
    assert {layer: sorted(cols) for layer, cols in table.items()} == {
        name: sorted(spec.column_names) for name, spec in schema.LAYERS.items()}
    check_schema_settings(Config.load().core, "shipped")


#: (layer, source columns, {source: suggested schema column}) with the shipped names:
#: the behaviour before the names became settings.
SHIPPED = [
    ("cameras", ["id", "朝向", "安装高度", "备注"], {"朝向": "direction", "安装高度": "height_m"}),
    ("cameras", ["id", "方向", "Mount Height"], {"方向": "direction", "Mount Height": "height_m"}),
    ("cameras", ["id", "camera:direction", "HFOV"], {"camera:direction": "direction",
                                                     "HFOV": "fov_deg"}),
    ("cameras", ["id", "direction", "方向"], {}),                 # present: nothing suggested
    ("buildings", ["id", "户数", "层数"], {"户数": "households", "层数": "levels"}),
    ("buildings", ["id", "building:flats", "Floors"], {"building:flats": "households",
                                                       "Floors": "levels"}),
    ("incidents", ["case_number", "primary_description", "date"],
     {"case_number": "id", "primary_description": "category", "date": "occurred_at"}),
    ("streets", ["路名", "fclass"], {"路名": "name", "fclass": "street_class"}),
    ("beats", ["id", "名称"], {"名称": "name"}),
    ("staff", ["警务区编号", "辅警"], {"警务区编号": "beat_id", "辅警": "auxiliaries"}),
    ("cameras", ["id", "镜头朝向", "焦距"], {}),                 # not shipped names
]


@pytest.mark.parametrize("layer,columns,expected", SHIPPED)
def test_shipped_names(layer, columns, expected):
    spec = schema.get_spec(layer)
    assert suggest_column_map(columns, spec) == expected
    shipped = Config.load().core["import"]["column_synonyms"]
    assert suggest_column_map(columns, spec, synonyms=shipped) == expected


CITY_NAMES = ('[import.column_synonyms.cameras]\n'
              'direction = ["朝向", "方向", "镜头朝向"]\nfocal_length_mm = ["焦距"]\n')


@pytest.fixture(scope="module")
def city_cameras(tmp_path_factory, sample_cameras) -> Path:
    """A camera list whose direction and focal length are named the city's way."""
    d = tmp_path_factory.mktemp("names")
    cams = sample_cameras.to_crs(4326)
    rows = ["点位编号,lng,lat,镜头朝向,焦距"]
    for cam in cams.itertuples():
        direction = "" if np.isnan(cam.direction) else f"{cam.direction:g}"
        rows.append(f"{cam.id},{cam.geometry.x:.7f},{cam.geometry.y:.7f},{direction},4")
    path = d / "摄像头.csv"
    path.write_text("\n".join(rows) + "\n", "utf-8")
    return path


@dataclass(frozen=True)
class NamesCase:
    name: str
    settings: str | None
    status: int
    words: tuple[str, ...]
    absent: tuple[str, ...] = ()


NAMES_CASES = [
    NamesCase("shipped names: the city's are not known", None, 0,
              ("cameras: 25 features replaced",), ("镜头朝向", "焦距")),
    NamesCase("the city's names in --settings", CITY_NAMES, 0,
              ("columns '镜头朝向' (cameras.direction), '焦距' (cameras.focal_length_mm) look "
               "like schema columns but are not mapped",
               "Fix: --map 镜头朝向=direction --map 焦距=focal_length_mm")),
    NamesCase("a name for two columns", '[import.column_synonyms.cameras]\n'
              'direction = ["镜头"]\nkind = ["镜头"]\n', 2,
              ("'镜头' is listed for both cameras.", "cameras.direction", "cameras.kind",
               "Fix: list each name under one column")),
    NamesCase("a number among the names", '[import.column_synonyms.cameras]\n'
              'direction = ["朝向", 90]\n', 2,
              ("'import.column_synonyms.cameras.direction' holds 90: not a column name",)),
    NamesCase("only separators", '[import.column_synonyms.cameras]\ndirection = ["_-"]\n', 2,
              ("holds '_-': not a column name",)),
    NamesCase("a column the layer does not have", '[import.column_synonyms.cameras]\n'
              'colour = ["颜色"]\n', 2,
              ("unknown key 'import.column_synonyms.cameras.colour'",
               "import.column_synonyms.cameras.focal_length_mm")),
    NamesCase("a layer BeatGrid does not have", '[import.column_synonyms.castles]\n'
              'id = ["编号"]\n', 2, ("unknown key 'import.column_synonyms.castles'",)),
    NamesCase("names not in a list", '[import.column_synonyms.cameras]\ndirection = "朝向"\n',
              2, ("'import.column_synonyms.cameras.direction' has value '朝向' (text) where a "
                  "list is expected", "Fix: give a list like the default")),
]


@pytest.mark.parametrize("case", NAMES_CASES, ids=[c.name for c in NAMES_CASES])
def test_city_names_from_settings(case: NamesCase, city_cameras, tmp_path, capsys):
    project = tmp_path / "p.gpkg"
    shutil.copyfile(SAMPLE, project)
    before = sha256(project)
    argv = ["import", "cameras", str(city_cameras), "--project", str(project),
            "--map", "点位编号=id"]
    if case.settings is not None:
        (tmp_path / "names.toml").write_text(case.settings, "utf-8")
        argv += ["--settings", str(tmp_path / "names.toml")]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        status = main(argv)
    out, err = capsys.readouterr()
    text = "\n".join([out, err, *(str(w.message) for w in caught)])
    assert status == case.status, text
    for word in case.words:
        assert word in text, (word, text)
    for word in case.absent:
        assert word not in text, (word, text)
    assert "Traceback" not in text
    if status == 2:
        assert len(err.strip().splitlines()) == 1 and sha256(project) == before


def test_city_names_in_python(city_cameras):
    names = tomllib.loads(CITY_NAMES)
    del names["import"]["column_synonyms"]["cameras"]["focal_length_mm"]
    core = Config.load(core=names).core
    with pytest.warns(UserWarning, match="--map 镜头朝向=direction") as caught:
        read_layer_file(city_cameras, layer_name="cameras", column_map={"点位编号": "id"},
                        settings=core)
    assert not any("焦距" in str(w.message) for w in caught)
    with pytest.raises(PolicyError, match="not a column name"):
        Config.load(core={"import": {"column_synonyms": {"buildings": {"levels": [""]}}}})
