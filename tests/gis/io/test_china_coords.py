"""GCJ-02 / BD-09 conversions: reference values, round trips measured in metres, geometry."""

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from beatgrid.gis.io import china_coords as cc
from beatgrid.gis.errors import CRSError, InputError

GEOD = pyproj.Geod(ellps="WGS84")


def metres(lon1, lat1, lon2, lat2):
    return np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2])


def random_china(n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(73.7, 135.0, n), rng.uniform(18.0, 53.5, n)


# -- published reference values (coordtransform / hutool test vectors) ---------------------

def test_reference_wgs84_to_gcj02():
    lon, lat = cc.wgs84_to_gcj02(116.404, 39.915)
    assert lon == pytest.approx(116.41024449916938, abs=1e-9)
    assert lat == pytest.approx(39.91640428150164, abs=1e-9)


def test_reference_gcj02_to_bd09_and_wgs84_to_bd09():
    lon, lat = cc.gcj02_to_bd09(116.404, 39.915)
    assert (lon, lat) == pytest.approx((116.41036949371029, 39.92133699351022), abs=1e-9)
    lon, lat = cc.wgs84_to_bd09(116.404, 39.915)
    assert (lon, lat) == pytest.approx((116.41662724378733, 39.922699552216216), abs=1e-9)


def test_reference_inverse_matches_independent_implementation():
    # gcoord's iterative GCJ02 -> WGS84 of (123, 45): agree within 1e-6 degree (~0.1 m)
    lon, lat = cc.gcj02_to_wgs84(123.0, 45.0)
    assert (lon, lat) == pytest.approx((122.99395597, 44.99804071), abs=1e-6)


def test_the_offset_is_hundreds_of_metres_in_china():
    lon, lat = random_china(2000)
    d = metres(lon, lat, *cc.wgs84_to_gcj02(lon, lat))
    assert d.min() > 1 and d.max() < 1500 and np.median(d) > 100


# -- round trips -------------------------------------------------------------------------------

def test_gcj02_round_trip_below_half_a_metre_on_many_points():
    lon, lat = random_china(50_000, seed=1)
    back = cc.gcj02_to_wgs84(*cc.wgs84_to_gcj02(lon, lat))
    err = metres(lon, lat, *back)
    assert err.max() < 0.5
    # the iteration runs to the settings tolerance (1 cm), far below the 0.5 m bound
    assert err.max() < 0.02


def test_bd09_round_trip_below_half_a_metre_on_many_points():
    lon, lat = random_china(50_000, seed=2)
    back = cc.bd09_to_wgs84(*cc.wgs84_to_bd09(lon, lat))
    assert metres(lon, lat, *back).max() < 0.02
    gcj = cc.wgs84_to_gcj02(lon, lat)
    back = cc.bd09_to_gcj02(*cc.gcj02_to_bd09(*gcj))
    assert metres(*gcj, *back).max() < 0.02


def test_inverse_then_forward_returns_the_input():
    lon, lat = random_china(20_000, seed=3)  # read as GCJ-02 points
    again = cc.wgs84_to_gcj02(*cc.gcj02_to_wgs84(lon, lat))
    assert metres(lon, lat, *again).max() < 0.011


def test_tighter_tolerance_is_honoured():
    lon, lat = random_china(5_000, seed=4)
    gcj = cc.wgs84_to_gcj02(lon, lat)
    back = cc.gcj02_to_wgs84(*gcj, tolerance_m=1e-4)
    assert metres(lon, lat, *back).max() < 2e-4
    with pytest.raises(InputError, match="tolerance_m"):
        cc.gcj02_to_wgs84(*gcj, tolerance_m=0)


def test_one_step_inverse_would_not_be_enough():
    # the naive inverse (subtract the offset at the GCJ point) is off by up to metres:
    # the iteration is what makes the error small
    lon, lat = random_china(20_000, seed=5)
    glon, glat = cc.wgs84_to_gcj02(lon, lat)
    dlon, dlat = np.asarray(cc.wgs84_to_gcj02(glon, glat)) - np.array([glon, glat])
    assert metres(lon, lat, glon - dlon, glat - dlat).max() > 0.5


@settings(max_examples=300, deadline=None)
@given(st.floats(73.7, 135.0), st.floats(18.0, 53.5))
def test_round_trip_property(lon, lat):
    for fwd, inv in ((cc.wgs84_to_gcj02, cc.gcj02_to_wgs84), (cc.wgs84_to_bd09, cc.bd09_to_wgs84)):
        back = inv(*fwd(lon, lat))
        assert metres(lon, lat, *back) < 0.5


# -- outside China ----------------------------------------------------------------------------

@pytest.mark.parametrize("lon,lat", [(24.94, 60.17), (-74.0, 40.7), (151.2, -33.9),
                                     (73.0, 30.0), (136.0, 40.0), (110.0, 3.0), (100.0, 54.0)])
def test_identity_outside_china(lon, lat):
    assert cc.out_of_china(lon, lat)
    assert cc.wgs84_to_gcj02(lon, lat) == (lon, lat)
    assert cc.gcj02_to_wgs84(lon, lat) == pytest.approx((lon, lat), abs=0)


def test_mixed_inside_and_outside_arrays():
    lon = np.array([24.94, 121.55])
    lat = np.array([60.17, 29.88])
    glon, glat = cc.wgs84_to_gcj02(lon, lat)
    assert glon[0] == 24.94 and glat[0] == 60.17
    assert glon[1] != 121.55
    assert np.allclose(cc.gcj02_to_wgs84(glon, glat), (lon, lat), atol=1e-7)


# -- shapes, scalars, NaN -----------------------------------------------------------------------

def test_scalars_give_scalars_and_arrays_keep_shape():
    lon, lat = cc.wgs84_to_gcj02(121.55, 29.88)
    assert np.ndim(lon) == 0 and isinstance(float(lon), float)
    grid_lon, grid_lat = np.meshgrid(np.linspace(110, 120, 4), np.linspace(25, 35, 3))
    out = cc.gcj02_to_wgs84(grid_lon, grid_lat)
    assert out[0].shape == (3, 4) and out[1].shape == (3, 4)
    with pytest.raises(InputError, match="shapes"):
        cc.wgs84_to_gcj02([1.0, 2.0], [1.0])


def test_nan_passes_through_without_hanging():
    lon, lat = cc.gcj02_to_wgs84([np.nan, 121.55], [np.nan, 29.88])
    assert np.isnan(lon[0]) and np.isnan(lat[0]) and np.isfinite(lon[1])


# -- names --------------------------------------------------------------------------------------

def test_source_names_and_aliases():
    assert cc.check_coords("GCJ-02") == "gcj02"
    assert cc.check_coords("Baidu") == "bd09"
    assert cc.check_coords("WGS84") == "wgs84"
    with pytest.raises(InputError) as exc:
        cc.check_coords("utm50")
    assert "'utm50'" in exc.value.message and "gcj02" in exc.value.fix


def test_convert_between_any_two():
    lon, lat = cc.convert(116.404, 39.915, source="wgs84", target="bd09")
    assert (lon, lat) == pytest.approx((116.41662724378733, 39.922699552216216), abs=1e-9)
    back = cc.convert(lon, lat, source="bd09", target="gcj02")
    assert back == pytest.approx(cc.wgs84_to_gcj02(116.404, 39.915), abs=1e-7)


# -- to_wgs84 on geometries ----------------------------------------------------------------------

def _shapes(lon=121.55, lat=29.88):
    return [
        shapely.Point(lon, lat),
        shapely.LineString([(lon, lat), (lon + 0.01, lat + 0.01)]),
        shapely.Polygon([(lon, lat), (lon + 0.01, lat), (lon + 0.01, lat + 0.01), (lon, lat)],
                        holes=[[(lon + 0.002, lat + 0.001), (lon + 0.004, lat + 0.001),
                                (lon + 0.004, lat + 0.003)]]),
        shapely.MultiPolygon([shapely.box(lon, lat, lon + 0.001, lat + 0.001),
                              shapely.box(lon + 0.01, lat, lon + 0.011, lat + 0.001)]),
        shapely.Point(lon, lat, 12.0),
        None,
    ]


@pytest.mark.parametrize("source,forward", [("gcj02", cc.wgs84_to_gcj02),
                                            ("bd09", cc.wgs84_to_bd09)])
def test_to_wgs84_converts_every_vertex_of_every_geometry(source, forward):
    truth = gpd.GeoDataFrame({"id": list("abcdef")}, geometry=_shapes(), crs=4326)
    shifted = truth.copy()
    shifted["geometry"] = shapely.transform(
        np.asarray(truth.geometry.array, dtype=object),
        lambda c: np.column_stack([*forward(c[:, 0], c[:, 1]), c[:, 2:]]), include_z=None)
    out = cc.to_wgs84(shifted, source=source)
    assert out.crs.to_epsg() == 4326 and out.attrs["coords_source"] == source
    assert list(out["id"]) == list("abcdef")
    assert out.geometry.iloc[5] is None
    for got, want in zip(out.geometry.iloc[:5], truth.geometry.iloc[:5]):
        assert got.geom_type == want.geom_type
        a = shapely.get_coordinates(got)
        b = shapely.get_coordinates(want)
        assert metres(a[:, 0], a[:, 1], b[:, 0], b[:, 1]).max() < 0.02
    assert out.geometry.iloc[4].has_z and out.geometry.iloc[4].z == 12.0
    assert len(out.geometry.iloc[2].interiors) == 1
    # the input is not modified
    assert shifted.geometry.iloc[0].equals(shapely.Point(*forward(121.55, 29.88)))


def test_to_wgs84_on_geoseries_and_wgs84_source_is_a_copy():
    s = gpd.GeoSeries([shapely.Point(121.55, 29.88)], crs=4490)
    out = cc.to_wgs84(s, source="gcj02")
    assert isinstance(out, gpd.GeoSeries) and out.crs.to_epsg() == 4490
    assert out.iloc[0].x != 121.55
    same = cc.to_wgs84(s, source="wgs84")
    assert same.iloc[0].equals(s.iloc[0]) and same is not s


def test_to_wgs84_rejects_projected_data_and_bad_source():
    g = gpd.GeoDataFrame(geometry=[shapely.Point(500000, 3300000)], crs=4547)
    with pytest.raises(CRSError, match="projected"):
        cc.to_wgs84(g, source="gcj02")
    with pytest.raises(InputError, match="unknown coordinate system"):
        cc.to_wgs84(g.set_crs(4326, allow_override=True), source="mars2000")
