"""Field of view, lens geometry, DORI distances and the near blind zone."""

import math

import numpy as np
import pandas as pd
import pytest

from beatgrid.gis.config import Config
from beatgrid.gis.coverage import fov
from beatgrid.gis.errors import InputError, PolicyError


def _cov(override):
    """The coverage section with ``override`` applied (as ``--settings`` does)."""
    return Config.load(coverage=override).coverage


def test_hfov_from_lens_worked_example():
    # 4.8 mm sensor behind a 4 mm lens: 2 atan(0.6)
    assert fov.hfov_deg(4.0, 4.8) == pytest.approx(math.degrees(2 * math.atan(0.6)))
    assert fov.hfov_deg(4.0, 4.8) == pytest.approx(61.93, abs=0.01)


def test_dori_distances_worked_example():
    # 2688 px, 4.8 mm sensor, 4 mm lens: identify ~9 m, recognise ~18, observe ~36, detect ~90
    d = fov.quality_distances(2688, fov.hfov_deg(4.0, 4.8), profile="iec62676_2014")
    assert list(d) == ["detect", "observe", "recognise", "identify"]
    assert float(d["identify"]) == pytest.approx(8.96, abs=0.01)
    assert float(d["recognise"]) == pytest.approx(17.92, abs=0.01)
    assert float(d["observe"]) == pytest.approx(35.84, abs=0.01)
    assert float(d["detect"]) == pytest.approx(89.6, abs=0.01)
    assert round(float(d["identify"])) == 9 and round(float(d["recognise"])) == 18
    assert round(float(d["observe"])) == 36 and round(float(d["detect"])) == 90


def test_pixel_density_inverse_and_vectorised():
    lens = fov.hfov_deg(4.0, 4.8)
    d = fov.pixel_density_distance([2688, 1920], lens, 125.0)
    assert d.shape == (2,)
    assert fov.px_per_m_at(d, [2688, 1920], lens) == pytest.approx([125.0, 125.0])
    # panoramic (>= 180 degrees): the pixels spread along the arc
    assert float(fov.pixel_density_distance(3600, 360.0, 10.0)) == pytest.approx(
        3600 / (10 * 2 * math.pi))


def test_quality_profiles_from_settings():
    p14 = fov.quality_profile("iec62676_2014")
    assert p14.px_per_m == (25.0, 62.5, 125.0, 250.0)
    p25 = fov.quality_profile("iec62676_2025")
    assert len(p25) == 7 and list(p25.px_per_m) == sorted(p25.px_per_m)
    assert fov.quality_profile().name == "iec62676_2014"
    custom = {"fov": {"profile": "custom"},
              "profiles": {"custom": {"levels": ["see", "read"], "px_per_m": [30.0, 300.0]}}}
    assert fov.quality_profile(settings=_cov(custom)).levels == ("see", "read")


def test_quality_profile_errors_name_the_problem():
    with pytest.raises(InputError, match="unknown quality profile 'nope'"):
        fov.quality_profile("nope")
    with pytest.raises(PolicyError, match="increasing"):
        fov.quality_profile(settings=_cov({"profiles": {"custom": {
            "levels": ["a", "b"], "px_per_m": [50.0, 10.0]}}, "fov": {"profile": "custom"}}))
    with pytest.raises(PolicyError, match="equal"):
        fov.quality_profile(settings=_cov({"profiles": {"custom": {
            "levels": ["a"], "px_per_m": [50.0, 10.0]}}, "fov": {"profile": "custom"}}))


def test_near_blind_zone_and_ground_range():
    # lower image edge 30 degrees below the horizon from 4 m: ground reached at 4/tan(30)
    near, far = fov.near_blind_zone(4.0, 15.0, 30.0)
    assert float(near) == pytest.approx(4 / math.tan(math.radians(30)))
    assert math.isinf(float(far))
    near, far = fov.near_blind_zone(6.0, 45.0, 30.0)
    assert float(near) == pytest.approx(6 / math.tan(math.radians(60)))
    assert float(far) == pytest.approx(6 / math.tan(math.radians(30)))
    # looking straight down: no near zone
    near, _ = fov.near_blind_zone(5.0, 80.0, 30.0)
    assert float(near) == 0.0
    # camera on the ground: no near zone
    near, _ = fov.near_blind_zone(0.0, 15.0, 30.0)
    assert float(near) == 0.0


def test_camera_parameters_defaults_lens_and_domes():
    cams = pd.DataFrame({
        "direction": [90.0, np.nan, 10.0, 200.0],
        "fov_deg": [np.nan, np.nan, 60.0, np.nan],
        "range_m": [np.nan, 25.0, 40.0, np.nan],
        "height_m": [np.nan, 3.0, 6.0, 8.0],
        "tilt_deg": [np.nan, 10.0, 45.0, 5.0],
        "focal_length_mm": [np.nan, np.nan, np.nan, 4.0],
        "sensor_width_mm": [np.nan, np.nan, np.nan, 4.8],
        "resolution_h_px": [np.nan, np.nan, np.nan, 2688],
    })
    p = fov.camera_parameters(cams, profile="iec62676_2014")
    # 0: every default from coverage.toml [cameras]
    assert p.loc[0, "fov_deg"] == 90.0 and p.loc[0, "range_m"] == 30.0
    assert p.loc[0, "height_m"] == 4.0 and p.loc[0, "tilt_deg"] == 15.0
    assert p.loc[0, "near_m"] > 0
    # 1: no direction is a 360-degree dome, without near blind zone
    assert bool(p.loc[1, "is_dome"]) and p.loc[1, "fov_deg"] == 360.0
    assert p.loc[1, "near_m"] == 0.0 and math.isnan(p.loc[1, "direction"])
    # 2: steep tilt: the image's upper edge meets the ground before the range
    vf = float(fov.vfov_deg(60.0, 0.5625))
    far = 6.0 / math.tan(math.radians(45.0 - vf / 2))
    assert p.loc[2, "range_m"] == pytest.approx(min(40.0, far))
    # 3: the lens gives the fov and the range (ground distance of 'detect')
    assert p.loc[3, "fov_deg"] == pytest.approx(61.93, abs=0.01)
    detect = float(fov.ground_distance(89.6, 8.0, 1.6))
    assert p.loc[3, "range_m"] == pytest.approx(detect, rel=1e-3)
    assert p.loc[3, "d_identify"] == pytest.approx(float(fov.ground_distance(8.96, 8.0, 1.6)),
                                                   rel=1e-3)
    # level distances never exceed the range and decrease with density
    d = p[["d_detect", "d_observe", "d_recognise", "d_identify"]].to_numpy()
    assert (d <= p["range_m"].to_numpy()[:, None] + 1e-9).all()
    assert (np.diff(d, axis=1) <= 1e-9).all()


def test_near_zone_switch_in_settings():
    cams = pd.DataFrame({"direction": [90.0]})
    on = fov.camera_parameters(cams)
    off = fov.camera_parameters(cams, settings=_cov({"fov": {"near_blind_zone": False}}))
    assert on.loc[0, "near_m"] > 0 and off.loc[0, "near_m"] == 0


def test_camera_defaults_come_from_the_coverage_settings():
    """The [cameras] defaults are part of the coverage section: an override reaches them."""
    cams = pd.DataFrame({"direction": [90.0, np.nan], "height_m": [4.0, 4.0]})
    shipped = fov.camera_parameters(cams)
    assert shipped["fov_deg"].tolist() == [90.0, 360.0] and shipped["range_m"].tolist() == [30.0, 30.0]
    mine = fov.camera_parameters(cams, settings=_cov({"cameras": {
        "fov_deg": 60.0, "range_m": 45.0, "tilt_deg": 5.0}}))
    assert mine["fov_deg"].tolist() == [60.0, 360.0] and mine["range_m"].tolist() == [45.0, 45.0]
    assert mine.loc[0, "tilt_deg"] == 5.0
    assert fov.coverage_settings()["cameras"]["range_m"] == 30.0          # shipped unchanged
    with pytest.raises(PolicyError, match="cameras.range"):
        _cov({"cameras": {"range": 45.0}})
