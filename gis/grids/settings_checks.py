"""Value checks of the ``grids`` settings section (ranges of the search and exact-model keys).

The structure (known keys, value types) is checked by
:func:`beatgrid.gis.config.merge_checked`; :func:`check_grid_settings` runs whenever the
section is loaded or overridden (registered with
:func:`beatgrid.gis.config.register_validator` when :mod:`beatgrid.gis.grids` is
imported).

Examples
--------
>>> from beatgrid.gis.config import Config
>>> Config.load(grids={"exact": {"time_limit_s": 2.5}}).grids["exact"]["time_limit_s"]
2.5
>>> Config.load(grids={"generator": {"forest_trees": 0}})
Traceback (most recent call last):
...
beatgrid.gis.errors.PolicyError: grids settings: 'generator.forest_trees' has value 0: it must be > 0 Fix: give 'generator.forest_trees' a number > 0 (default 3)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from beatgrid.gis.config import default_config, register_validator
from beatgrid.gis.policing.value_checks import Check, check_value, default_of

#: The checked keys of the ``grids`` section: dotted key -> (kind, argument).
GRID_CHECKS: dict[str, Check] = {
    "units.merge_touching_footprints": ("bool", None),
    "generator.forest_min_grids": ("ge", 2),
    "generator.forest_trees": ("gt", 0),
    "generator.search_seconds": ("gt", 0),
    "generator.search_seconds_per_1000_units": ("ge", 0),
    "generator.grow_seconds": ("gt", 0),
    "generator.lumpy_share": ("gt", 0),
    "exact.max_units": ("ge", 0),
    "exact.time_limit_s": ("gt", 0),
    "exact.optimise": ("bool", None),
    "exact.region_units": ("ge", 0),
    "exact.region_seconds": ("gt", 0),
    "exact.cover_units": ("ge", 0),
    "exact.cover_after_s": ("gt", 0),
    "exact.cover_seconds": ("gt", 0),
    "exact.cover_sets": ("gt", 0),
    "exact.sweep_seconds": ("gt", 0),
    "exact.sweep_first_seconds": ("gt", 0),
    "exact.explain_seconds": ("gt", 0),
    "exact.sweep_last_seconds": ("ge", 0),
    "exact.sweep_states": ("gt", 0),
}


def check_grid_settings(section: Mapping[str, Any], source: str) -> None:
    """Check the values of :data:`GRID_CHECKS` in a merged ``grids`` section.

    Examples
    --------
    >>> from beatgrid.gis.config import default_config
    >>> check_grid_settings(default_config().grids, "grids.toml")
    """
    defaults = default_config().grids
    for key, (kind, arg) in GRID_CHECKS.items():
        value: Any = section
        for part in key.split("."):
            value = value[part]
        check_value(source, key, value, kind, arg, default=default_of(defaults, key))


register_validator("grids", check_grid_settings)
