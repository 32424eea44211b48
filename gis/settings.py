"""Settings and policy files: shipped TOML defaults, per-city overrides, validated on load.

Every threshold and ratio BeatGrid uses (household band, staffing ratios, camera
quality levels, ...) lives in a TOML file under ``gis/defaults/``. A user file
overrides any subset of keys; unknown keys and values of the wrong type are
rejected with the key, the value and the fix.

Examples
--------
>>> from beatgrid.gis.settings import load_settings
>>> load_settings("settings")["import"]["dwelling_size_m2"]
90.0
"""

from __future__ import annotations

import copy
import tomllib
from importlib import resources
from pathlib import Path

from .errors import PolicyError

DEFAULTS_PACKAGE = "beatgrid.gis.defaults"


def default_path(name: str) -> Path:
    """Path of the shipped defaults file ``name`` (without ``.toml``)."""
    return Path(str(resources.files(DEFAULTS_PACKAGE).joinpath(f"{name}.toml")))


def read_toml(path: str | Path) -> dict:
    """Read a TOML file; a missing or malformed file raises :class:`PolicyError`."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise PolicyError(f"settings file {str(path)!r} does not exist",
                          fix="check the path") from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"settings file {str(path)!r} is not valid TOML: {exc}",
                          fix="correct the TOML syntax at the position given") from None


def merge_checked(defaults: dict, override: dict, *, source: str, prefix: str = "") -> dict:
    """Deep-merge ``override`` onto ``defaults``, rejecting unknown keys and wrong types.

    Integers are accepted where floats are expected. Tables whose default is empty
    (``{}``) accept any keys (used for per-category tables).
    """
    merged = copy.deepcopy(defaults)
    for key, value in override.items():
        dotted = f"{prefix}{key}"
        if key not in defaults:
            if defaults == {}:
                merged[key] = value
                continue
            raise PolicyError(
                f"{source}: unknown key {dotted!r} (value {value!r})",
                fix="use one of: " + ", ".join(f"{prefix}{k}" for k in defaults))
        default = defaults[key]
        if isinstance(default, dict):
            if not isinstance(value, dict):
                raise PolicyError(f"{source}: {dotted!r} must be a table, got {value!r}",
                                  fix=f"write it as [{dotted}] with keys inside")
            merged[key] = merge_checked(default, value, source=source, prefix=f"{dotted}.")
            continue
        if not _same_type(default, value):
            raise PolicyError(
                f"{source}: {dotted!r} has value {value!r} of type {type(value).__name__}",
                fix=f"give a {type(default).__name__} like the default {default!r}")
        merged[key] = float(value) if isinstance(default, float) else value
    return merged


def _same_type(default, value) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float))
    if isinstance(default, list):
        return isinstance(value, list)
    return isinstance(value, type(default))


def load_settings(name: str = "settings", override: str | Path | dict | None = None) -> dict:
    """Load the shipped defaults ``name`` and apply an optional override.

    Parameters
    ----------
    name
        Defaults file under ``gis/defaults`` (``"settings"``, ``"grids"``,
        ``"coverage"``, ``"staffing"``...).
    override
        A TOML path or a dict with a subset of the keys.

    Returns
    -------
    dict
        The merged, type-checked settings.
    """
    defaults = read_toml(default_path(name))
    if override is None:
        return defaults
    if isinstance(override, dict):
        return merge_checked(defaults, override, source=f"{name} settings")
    return merge_checked(defaults, read_toml(override), source=str(override))
