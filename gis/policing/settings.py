"""The policing method settings: beats, responsibility areas, alignment, hotspots.

The ``policing`` section of the configuration (:class:`beatgrid.gis.config.Config`),
shipped in ``gis/defaults/policing.toml``: *how* BeatGrid derives beats and
responsibility areas, aligns governance grids and finds hotspots (tables
``[beats]``, ``[responsibility_areas]``, ``[alignment]``, ``[hotspots]``). A city's
staffing *rules* are the other section, ``policy`` (:mod:`beatgrid.gis.policing.policy`).

The value checks of this module run whenever the section is loaded or overridden
(they are registered with :func:`beatgrid.gis.config.register_validator`).

Examples
--------
>>> from beatgrid.gis.config import default_config
>>> default_config().policing["alignment"]["min_share"]
0.9
>>> load_policing_settings({"hotspots": {"permutations": 99}})["hotspots"]["permutations"]
99
>>> load_policing_settings({"alignment": {"min_share": 0}})
Traceback (most recent call last):
...
beatgrid.gis.errors.PolicyError: policing settings: 'alignment.min_share' has value 0.0: it must be a share in (0, 1] Fix: give 'alignment.min_share' a share such as 0.9 (0 < value <= 1)
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from beatgrid.gis.config import (default_config, default_path, merge_checked, read_toml,
                                 register_validator, thaw)
from beatgrid.gis.policing.value_checks import Check, check_values

#: The config section and the shipped file (``gis/defaults/policing.toml``).
SECTION = "policing"
#: The tables of the section, in the order of the shipped file.
METHOD_TABLES = ("beats", "responsibility_areas", "alignment", "hotspots")
#: The value check of every key (see :mod:`beatgrid.gis.policing.value_checks`).
SETTINGS_CHECKS: dict[str, Check] = {
    "beats.rural_merge": ("bool", None),
    "beats.rural_max_households": ("ge", 0),
    "beats.incident_snap_m": ("ge", 0),
    "responsibility_areas.beats_per_area": ("gt", 0),
    "responsibility_areas.within_station": ("bool", None),
    "responsibility_areas.balance_by": (
        "in", ("workload_hours", "incidents", "households", "population_actual", "beats")),
    "responsibility_areas.max_moves": ("ge", 0),
    "alignment.min_share": ("share", None),
    "alignment.sliver_m2": ("ge", 0),
    "alignment.sliver_share": ("share", None),
    "hotspots.kde_bandwidth_m": ("gt", 0),
    "hotspots.kde_cell_m": ("gt", 0),
    "hotspots.kde_max_cells": ("gt", 0),
    "hotspots.permutations": ("ge", 0),
    "hotspots.seed": ("ge", 0),
    "hotspots.significance": ("share", None),
    "hotspots.weights": ("in", ("queen", "knn")),
    "hotspots.knn_k": ("gt", 0),
    "hotspots.measure": ("in", ("count", "per_km2")),
    "hotspots.period_days": ("ge", 0),
    "hotspots.compare": ("in", ("previous", "year")),
}


def validate_policing_settings(settings: Mapping[str, Any], *,
                               source: str = "policing settings") -> None:
    """Check every value of a merged ``policing`` section (ranges, allowed words).

    Raises
    ------
    PolicyError
        The first bad key, with its value and the fix.

    Examples
    --------
    >>> from beatgrid.gis.config import thaw
    >>> s = thaw(default_config().policing); s["hotspots"]["weights"] = "rook"
    >>> validate_policing_settings(s)
    Traceback (most recent call last):
    ...
    beatgrid.gis.errors.PolicyError: policing settings: 'hotspots.weights' has value 'rook': it is not allowed Fix: use one of: 'queen', 'knn'
    """
    check_values(settings, SETTINGS_CHECKS, source=source, defaults=default_config().policing,
                 template="gis/defaults/policing.toml")


def load_policing_settings(override: str | Path | Mapping[str, Any] | None = None, *,
                           source: str | None = None) -> dict[str, Any]:
    """The shipped ``policing`` section merged with an override, every key checked.

    Parameters
    ----------
    override
        A TOML file path or a mapping with a subset of the keys (None: the defaults).
    source
        What to call a mapping override in messages (default ``"policing settings"``).

    Returns
    -------
    dict
        The merged settings (a plain, mutable ``dict``).

    Raises
    ------
    PolicyError
        Unknown key, wrong type, value out of range; the message names the key.

    Examples
    --------
    >>> load_policing_settings()["responsibility_areas"]["beats_per_area"]
    5
    >>> load_policing_settings({"beats": {"rural_merge": True}})["beats"]["rural_merge"]
    True
    """
    defaults = default_config().policing
    if override is None:
        merged, where = thaw(defaults), str(default_path(SECTION))
    elif isinstance(override, Mapping):
        where = source or "policing settings"
        merged = merge_checked(defaults, override, source=where)
    else:
        where = source or str(override)
        merged = merge_checked(defaults, read_toml(override), source=where)
    validate_policing_settings(merged, source=where)
    return merged


def _check_section(section: Mapping[str, Any], source: str) -> None:
    validate_policing_settings(section, source=source)


register_validator(SECTION, _check_section)

__all__ = ["SECTION", "METHOD_TABLES", "SETTINGS_CHECKS", "validate_policing_settings",
           "load_policing_settings"]
