"""Camera field of view: lens geometry, pixel-density (DORI) distances, near blind zone.

A camera record gives a position, a viewing direction (compass degrees, clockwise from
north; empty for a 360-degree dome), a field-of-view angle and a range, or the lens
(focal length, sensor width, horizontal pixels) from which both follow:

* horizontal field of view ``HFOV = 2 atan(sensor width / (2 focal length))``;
* the distance at which a pixel density (px per metre at the target) is still met
  ``d = horizontal pixels / (px_per_m x 2 tan(HFOV / 2))``;
* the vertical field of view from the sensor's aspect ratio, and from the mounting
  height and downward tilt the *near blind zone* (the ground under and just in front
  of the camera that the lower edge of the image does not reach) and the far edge of
  the ground the image reaches.

Quality profiles (IEC 62676-4:2014 detect / observe / recognise / identify, the 2025
levels, a city's own) are data in ``gis/defaults/coverage.toml``.

Examples
--------
>>> from beatgrid.gis.coverage.fov import hfov_deg, pixel_density_distance
>>> round(float(hfov_deg(4.0, 4.8)), 2)
61.93
>>> round(float(pixel_density_distance(2688, hfov_deg(4.0, 4.8), 250.0)), 2)
8.96
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from beatgrid.gis.config import section_or_default
from beatgrid.gis.errors import InputError, PolicyError

__all__ = [
    "QualityProfile", "quality_profile", "hfov_deg", "vfov_deg", "pixel_density_distance",
    "px_per_m_at", "quality_distances", "ground_distance", "near_blind_zone",
    "camera_parameters", "coverage_settings",
]


def coverage_settings(settings: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    """The coverage section: ``settings`` when given, else the shipped ``coverage.toml``.

    The one place of the coverage package where a function called on its own (without
    a project's configuration) falls back to the shipped defaults, loaded once. To
    override some keys, build a section with
    ``Config.load(coverage={...}).coverage`` (:class:`beatgrid.gis.config.Config`) or
    open the project with ``Project.open(path, coverage=...)``.

    Examples
    --------
    >>> coverage_settings()["fov"]["profile"]
    'iec62676_2014'
    >>> coverage_settings()["cameras"]["range_m"]
    30.0
    """
    return section_or_default(settings, "coverage")


@dataclass(frozen=True)
class QualityProfile:
    """Named pixel-density levels, lowest density first.

    Attributes
    ----------
    name
        Profile key (``"iec62676_2014"``...).
    levels
        Level names, from the lowest pixel density (the farthest distance) up.
    px_per_m
        Minimum pixels per metre at the target for each level.

    Examples
    --------
    >>> p = quality_profile("iec62676_2014")
    >>> p.levels
    ('detect', 'observe', 'recognise', 'identify')
    """

    name: str
    levels: tuple[str, ...]
    px_per_m: tuple[float, ...]

    def __len__(self) -> int:
        return len(self.levels)


def quality_profile(name: str | None = None, *, settings: Mapping[str, Any] | None = None
                    ) -> QualityProfile:
    """Read quality profile ``name`` (default: ``[fov] profile``) from the settings.

    Raises
    ------
    PolicyError
        Unknown profile, or levels and densities that do not match or do not increase.

    Examples
    --------
    >>> quality_profile("iec62676_2014").px_per_m
    (25.0, 62.5, 125.0, 250.0)
    >>> from beatgrid.gis.config import Config
    >>> own = Config.load(coverage={"fov": {"profile": "custom"}, "profiles": {"custom": {
    ...     "levels": ["see", "read"], "px_per_m": [30.0, 300.0]}}}).coverage
    >>> quality_profile(settings=own).levels
    ('see', 'read')
    """
    cfg = coverage_settings(settings)
    name = name or cfg["fov"]["profile"]
    profiles = cfg["profiles"]
    if name not in profiles:
        raise InputError(f"unknown quality profile {name!r}",
                         fix="use one of: " + ", ".join(k for k, v in profiles.items() if v))
    table = profiles[name]
    levels, ppm = table.get("levels"), table.get("px_per_m")
    if not levels or not ppm or len(levels) != len(ppm):
        raise PolicyError(f"quality profile {name!r} needs lists levels and px_per_m of equal "
                          f"length (got {levels!r}, {ppm!r})",
                          fix=f"set [profiles.{name}] levels = [...] and px_per_m = [...]")
    densities = tuple(float(v) for v in ppm)
    if any(b <= a for a, b in zip(densities, densities[1:])) or densities[0] <= 0:
        raise PolicyError(f"quality profile {name!r}: px_per_m {list(densities)} must be "
                          "positive and increasing", fix="list the levels from the lowest "
                                                     "density up")
    if "all" in levels:
        raise PolicyError(f"quality profile {name!r}: 'all' is reserved for the whole view",
                          fix="rename that level")
    return QualityProfile(name, tuple(str(v) for v in levels), densities)


def hfov_deg(focal_length_mm: ArrayLike, sensor_width_mm: ArrayLike) -> np.ndarray:
    """Horizontal field of view (degrees) of a rectilinear lens: ``2 atan(w / 2f)``.

    Examples
    --------
    >>> round(float(hfov_deg(4.0, 4.8)), 3)
    61.928
    """
    f = np.asarray(focal_length_mm, dtype=float)
    w = np.asarray(sensor_width_mm, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.degrees(2.0 * np.arctan(w / (2.0 * f)))


def vfov_deg(hfov: ArrayLike, aspect_ratio: float = 0.5625) -> np.ndarray:
    """Vertical field of view (degrees) from the horizontal one and height / width.

    Examples
    --------
    >>> round(float(vfov_deg(90.0, 0.5625)), 2)
    58.72
    """
    h = np.radians(np.minimum(np.asarray(hfov, dtype=float), 179.0))
    return np.degrees(2.0 * np.arctan(np.tan(h / 2.0) * aspect_ratio))


def pixel_density_distance(resolution_h_px: ArrayLike, hfov: ArrayLike, px_per_m: ArrayLike
                           ) -> np.ndarray:
    """Distance (m, lens to target) at which ``px_per_m`` is still reached.

    ``d = pixels / (px_per_m x 2 tan(HFOV / 2))`` for a rectilinear lens. For a field of
    view of 180 degrees or more (a panoramic view) the pixels spread along the arc:
    ``d = pixels / (px_per_m x HFOV in radians)``.

    Examples
    --------
    >>> lens = hfov_deg(4.0, 4.8)   # 2688 px, 4.8 mm sensor, 4 mm lens
    >>> [round(float(pixel_density_distance(2688, lens, p)), 1) for p in (250, 125, 62.5, 25)]
    [9.0, 17.9, 35.8, 89.6]
    """
    px = np.asarray(resolution_h_px, dtype=float)
    fov = np.asarray(hfov, dtype=float)
    ppm = np.asarray(px_per_m, dtype=float)
    rad = np.radians(fov)
    width = np.where(fov < 180.0, 2.0 * np.tan(np.minimum(rad, np.pi * 0.999) / 2.0), rad)
    with np.errstate(divide="ignore", invalid="ignore"):
        return px / (ppm * width)


def px_per_m_at(distance_m: ArrayLike, resolution_h_px: ArrayLike, hfov: ArrayLike
                ) -> np.ndarray:
    """Pixel density (px per metre) at ``distance_m`` from the lens (inverse of the above).

    Examples
    --------
    >>> round(float(px_per_m_at(8.96, 2688, hfov_deg(4.0, 4.8))), 1)
    250.0
    """
    d = np.asarray(distance_m, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return pixel_density_distance(resolution_h_px, hfov, 1.0) / d


def ground_distance(slant_m: ArrayLike, height_m: ArrayLike, target_height_m: float = 0.0
                    ) -> np.ndarray:
    """Horizontal distance of a target at slant distance ``slant_m`` (0 when directly below).

    Examples
    --------
    >>> round(float(ground_distance(5.0, 5.6, 1.6)), 6)
    3.0
    """
    s = np.asarray(slant_m, dtype=float)
    dh = np.asarray(height_m, dtype=float) - target_height_m
    return np.sqrt(np.maximum(s * s - dh * dh, 0.0))


def near_blind_zone(height_m: ArrayLike, tilt_deg: ArrayLike, vfov: ArrayLike
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Near blind zone and far ground edge (horizontal metres) of a tilted camera.

    The lower edge of the image looks ``tilt + vfov/2`` below the horizon and meets the
    ground at ``height / tan(tilt + vfov/2)``: nearer ground is not seen (the near blind
    zone). The upper edge meets the ground at ``height / tan(tilt - vfov/2)`` when it
    points below the horizon, else the view reaches the horizon (``inf``).

    Returns
    -------
    (near, far)
        Arrays of ground distances in metres.

    Examples
    --------
    >>> near, far = near_blind_zone(4.0, 15.0, 30.0)
    >>> round(float(near), 2), float(far)
    (6.93, inf)
    >>> near, far = near_blind_zone(6.0, 45.0, 30.0)
    >>> round(float(near), 2), round(float(far), 2)
    (3.46, 10.39)
    """
    h = np.asarray(height_m, dtype=float)
    lower = np.radians(np.asarray(tilt_deg, dtype=float) + np.asarray(vfov, dtype=float) / 2)
    upper = np.radians(np.asarray(tilt_deg, dtype=float) - np.asarray(vfov, dtype=float) / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        near = np.where(lower >= np.pi / 2, 0.0, h / np.tan(np.minimum(lower, np.pi / 2)))
        far = np.where(upper > 0, h / np.tan(np.clip(upper, 1e-12, np.pi / 2)), np.inf)
    near = np.where(h > 0, np.maximum(near, 0.0), 0.0)
    return near, far


def quality_distances(resolution_h_px: ArrayLike, hfov: ArrayLike, *,
                      profile: QualityProfile | str | None = None,
                      settings: Mapping[str, Any] | None = None) -> dict[str, np.ndarray]:
    """Slant distance (m) of every level of ``profile`` for a lens.

    Examples
    --------
    >>> d = quality_distances(2688, hfov_deg(4.0, 4.8), profile="iec62676_2014")
    >>> {k: round(float(v)) for k, v in d.items()}
    {'detect': 90, 'observe': 36, 'recognise': 18, 'identify': 9}
    """
    if not isinstance(profile, QualityProfile):
        profile = quality_profile(profile, settings=settings)
    return {name: pixel_density_distance(resolution_h_px, hfov, ppm)
            for name, ppm in zip(profile.levels, profile.px_per_m)}


def _col(df: pd.DataFrame, name: str) -> np.ndarray:
    if name not in df.columns:
        return np.full(len(df), np.nan)
    return pd.to_numeric(df[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def camera_parameters(cameras: pd.DataFrame, *, profile: QualityProfile | str | None = None,
                      settings: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Resolve each camera's view: direction, angle, ranges, near zone, quality distances.

    Empty fields take defaults: the field of view from the lens when focal length and
    sensor width are given, else ``[cameras] fov_deg`` (``dome_fov_deg`` for a dome);
    the range from ``range_m``, else the lowest quality level's distance when the lens is
    known, else ``[cameras] range_m``; height and tilt from ``[cameras]``. The ground
    range is cut at the far edge of the image (tilt) and starts after the near blind zone.

    Parameters
    ----------
    cameras
        Frame with the columns of the ``cameras`` layer (any may be missing).
    profile
        Quality profile (default ``[fov] profile``; see :func:`quality_profile`).
    settings
        The coverage section (:func:`coverage_settings`); its ``[cameras]`` table holds
        the defaults of empty fields.

    Returns
    -------
    DataFrame
        Same index; columns ``is_dome``, ``direction`` (compass degrees, NaN for a
        dome), ``fov_deg``, ``lens_hfov_deg``, ``resolution_h_px``, ``height_m``,
        ``tilt_deg``, ``range_m`` (useful ground range), ``near_m`` (near blind zone)
        and ``d_<level>`` (ground distance of each level, capped at ``range_m``).

    Examples
    --------
    >>> import pandas as pd
    >>> cams = pd.DataFrame({"direction": [90.0, None], "focal_length_mm": [4.0, None],
    ...                      "sensor_width_mm": [4.8, None], "resolution_h_px": [2688, None],
    ...                      "range_m": [None, 25.0]})
    >>> p = camera_parameters(cams, profile="iec62676_2014")
    >>> p["is_dome"].tolist(), p["fov_deg"].round(1).tolist()
    ([False, True], [61.9, 360.0])
    """
    cfg = coverage_settings(settings)
    if not isinstance(profile, QualityProfile):
        profile = quality_profile(profile, settings=cfg)
    cam_cfg = cfg["cameras"]
    fov_cfg = cfg["fov"]
    n = len(cameras)
    direction = _col(cameras, "direction")
    fov = _col(cameras, "fov_deg")
    focal = _col(cameras, "focal_length_mm")
    sensor = _col(cameras, "sensor_width_mm")
    res = _col(cameras, "resolution_h_px")
    rng = _col(cameras, "range_m")
    height = _col(cameras, "height_m")
    tilt = _col(cameras, "tilt_deg")

    is_dome = ~np.isfinite(direction) | (np.nan_to_num(fov, nan=0.0) >= 360.0)
    lens_ok = np.isfinite(focal) & np.isfinite(sensor) & (focal > 0) & (sensor > 0)
    lens_fov = np.where(lens_ok, hfov_deg(np.where(lens_ok, focal, 1.0),
                                          np.where(lens_ok, sensor, 1.0)), np.nan)
    fov = np.where(np.isfinite(fov) & (fov > 0), fov,
                   np.where(is_dome, float(cam_cfg["dome_fov_deg"]),
                            np.where(lens_ok, lens_fov, float(cam_cfg["fov_deg"]))))
    fov = np.where(is_dome, 360.0, np.clip(fov, 1e-6, 360.0))
    # lens angle for pixel density: the lens when known, else the view angle
    pd_fov = np.where(lens_ok, lens_fov,
                      np.where(is_dome | (fov >= 180.0), float(fov_cfg["dome_lens_fov_deg"]), fov))
    res = np.where(np.isfinite(res) & (res > 0), res, float(fov_cfg["default_resolution_h_px"]))
    height = np.where(np.isfinite(height), height, float(cam_cfg["height_m"]))
    tilt = np.where(np.isfinite(tilt), tilt, float(cam_cfg["tilt_deg"]))
    target = float(fov_cfg["target_height_m"])

    slant = np.column_stack([pixel_density_distance(res, pd_fov, p) for p in profile.px_per_m]
                            ) if n else np.zeros((0, len(profile)))
    ground = ground_distance(slant, height[:, None], target) if n else slant
    rng = np.where(np.isfinite(rng) & (rng > 0), rng,
                   np.where(lens_ok, ground[:, 0] if n else rng, float(cam_cfg["range_m"])))

    vfov = vfov_deg(pd_fov, float(fov_cfg["aspect_ratio"]))
    near, far = near_blind_zone(height, tilt, vfov)
    if not fov_cfg["near_blind_zone"]:
        near = np.zeros(n)
    if not fov_cfg["dome_near_blind_zone"]:
        near = np.where(is_dome, 0.0, near)
    far = np.where(is_dome, np.inf, far)
    rng = np.minimum(rng, far)
    near = np.minimum(near, rng)

    out = pd.DataFrame({
        "is_dome": is_dome,
        "direction": np.where(is_dome, np.nan, np.mod(direction, 360.0)),
        "fov_deg": fov,
        "lens_hfov_deg": pd_fov,
        "resolution_h_px": res,
        "height_m": height,
        "tilt_deg": tilt,
        "range_m": rng,
        "near_m": near,
    }, index=cameras.index)
    for j, name in enumerate(profile.levels):
        out[f"d_{name}"] = np.minimum(ground[:, j], rng) if n else np.zeros(0)
    return out
