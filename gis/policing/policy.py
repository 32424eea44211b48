"""The staffing policy: shipped defaults, per-city overrides, every key validated.

The rules of :mod:`beatgrid.gis.policing.staffing` (officers per beat, the two-officer
thresholds, the 1 : 1.5 auxiliary ratio, 1 manager per 500 floating residents,
grid workers per basic grid, the workload model, severity levels) are read from
``gis/defaults/staffing.toml`` (sourced from the seed documents) merged with an
optional city file. :func:`load_policy` rejects unknown keys and wrong types
(through :func:`beatgrid.gis.config.merge_checked`) and then checks every value
against its range or allowed set; the :class:`~beatgrid.gis.errors.PolicyError`
names the key, the value and the fix.

The policy is a plain nested ``dict`` (easy to inspect in Jupyter); pass it to the
computing functions as ``policy=``.

Examples
--------
>>> from beatgrid.gis.policing.policy import load_policy
>>> policy = load_policy()
>>> policy["officers"]["two_officer_population"], policy["auxiliaries"]["per_officer"]
(10000, 1.5)
>>> load_policy({"floating_managers": {"floating_per_manager": 800}})["floating_managers"]["floating_per_manager"]
800
>>> load_policy({"auxiliaries": {"per_officer": -1}})
Traceback (most recent call last):
...
beatgrid.gis.errors.PolicyError: staffing policy: 'auxiliaries.per_officer' has value -1.0: it must be >= 0 Fix: give 'auxiliaries.per_officer' a number >= 0 (default 1.5)
"""

from __future__ import annotations

import copy
import functools
import math
from collections.abc import Mapping
from pathlib import Path

from beatgrid.gis.errors import PolicyError
from beatgrid.gis.schema import INCIDENT_CATEGORIES, ROOM_CONDITIONS
from beatgrid.gis.config import default_path, merge_checked, read_toml

POLICY_NAME = "staffing"

ROUNDING_MODES = ("ceil", "round", "floor")

# Each leaf key -> (kind, argument). Kinds: "ge" (number >= arg), "gt" (number > arg),
# "share" (0 < x <= 1), "in" (one of arg), "bool", "subset" (list drawn from arg),
# "categories" (table of category -> number >= 0; arg are the categories).
_CHECKS: dict[str, tuple[str, object]] = {
    "version": ("in", (1,)),
    "officers.per_beat": ("ge", 0),
    "officers.two_officer_population": ("ge", 0),
    "officers.population_basis": ("in", ("actual", "registered")),
    "officers.two_officer_if_floating_exceeds_registered": ("bool", None),
    "officers.two_officer_count": ("ge", 0),
    "officers.type1_room_min": ("ge", 0),
    "officers.type2_room_min": ("ge", 0),
    "auxiliaries.per_officer": ("ge", 0),
    "auxiliaries.minimum": ("ge", 0),
    "auxiliaries.basis": ("in", ("required", "actual", "max")),
    "auxiliaries.rounding": ("in", ROUNDING_MODES),
    "floating_managers.floating_per_manager": ("gt", 0),
    "floating_managers.minimum": ("ge", 0),
    "floating_managers.rounding": ("in", ROUNDING_MODES),
    "grid_workers.per_grid": ("ge", 0),
    "grid_workers.minimum": ("ge", 0),
    "grid_workers.rounding": ("in", ROUNDING_MODES),
    "grid_workers.estimate_unplanned_grids": ("bool", None),
    "grid_workers.households_per_grid": ("gt", 0),
    "workload.enabled": ("bool", None),
    "workload.include_in_required": ("bool", None),
    "workload.relief_factor": ("ge", 1),
    "workload.max_committed_share": ("share", None),
    "workload.shift_hours": ("in", (1, 2, 3, 4, 6, 8, 12, 24)),
    "workload.coverage": ("in", ("average", "shift_peak")),
    "workload.period_days": ("ge", 0),
    "workload.rounding": ("in", ROUNDING_MODES),
    "workload.handling_hours": ("categories", INCIDENT_CATEGORIES),
    "workload.officers_per_incident": ("categories", INCIDENT_CATEGORIES),
    "severity.officers_weight": ("ge", 0),
    "severity.auxiliaries_weight": ("ge", 0),
    "severity.floating_managers_weight": ("ge", 0),
    "severity.grid_workers_weight": ("ge", 0),
    "severity.medium": ("gt", 0),
    "severity.high": ("gt", 0),
    "severity.critical": ("gt", 0),
    "rooms.flag_conditions": ("subset", ROOM_CONDITIONS),
    "beats.rural_merge": ("bool", None),
    "beats.rural_max_households": ("ge", 0),
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


def default_policy() -> dict:
    """The shipped policy (``gis/defaults/staffing.toml``), validated.

    Examples
    --------
    >>> default_policy()["officers"]["per_beat"]
    1
    """
    return load_policy(None)


def load_policy(override: str | Path | Mapping | None = None, *,
                base: Mapping | None = None) -> dict:
    """Load the staffing policy: shipped defaults merged with an optional override.

    Parameters
    ----------
    override
        A TOML file path, a dict with a subset of the keys, or None (defaults).
    base
        The policy to override instead of the shipped defaults (for stacking a
        provincial and a city file); it is validated too.

    Returns
    -------
    dict
        The merged policy; every key checked.

    Raises
    ------
    PolicyError
        Unknown key, wrong type, value out of range or not allowed, file missing or
        not valid TOML: the message names the key and the value, ``fix`` says how.

    Examples
    --------
    >>> p = load_policy({"officers": {"two_officer_population": 8000}})
    >>> p["officers"]["two_officer_population"]
    8000
    >>> load_policy({"officers": {"two_officers": 2}})
    Traceback (most recent call last):
    ...
    beatgrid.gis.errors.PolicyError: staffing policy: unknown key 'officers.two_officers' (value 2) Fix: use one of: officers.per_beat, officers.two_officer_population, officers.population_basis, officers.two_officer_if_floating_exceeds_registered, officers.two_officer_count, officers.type1_room_min, officers.type2_room_min
    """
    defaults = copy.deepcopy(dict(base)) if base is not None else _shipped()
    if base is not None:
        validate_policy(defaults, source="base policy")
    if override is None:
        merged, source = defaults, str(default_path(POLICY_NAME))
    elif isinstance(override, Mapping):
        source = "staffing policy"
        merged = merge_checked(defaults, dict(override), source=source)
    else:
        source = str(override)
        merged = merge_checked(defaults, read_toml(Path(override)), source=source)
    validate_policy(merged, source=source)
    return merged


def validate_policy(policy: Mapping, *, source: str = "staffing policy") -> None:
    """Check every key of a merged policy; raise :class:`PolicyError` on the first bad one.

    The structure (known keys, types) is checked by
    :func:`~beatgrid.gis.config.merge_checked` on load; this checks the values:
    ranges, allowed words, category tables and the order of the severity levels.

    Examples
    --------
    >>> p = default_policy(); p["severity"]["high"] = 0.1
    >>> validate_policy(p)
    Traceback (most recent call last):
    ...
    beatgrid.gis.errors.PolicyError: staffing policy: 'severity.high' has value 0.1: the severity bounds must ascend (medium < high < critical) Fix: give severity.medium < severity.high < severity.critical (defaults 0.5, 1.5, 3.0)
    """
    flat = dict(_flatten(policy))
    missing = [k for k in _CHECKS if k not in flat]
    if missing:
        raise PolicyError(f"{source}: key {missing[0]!r} is missing",
                          fix="start from gis/defaults/staffing.toml and override keys, "
                              "never remove them")
    for key, value in flat.items():
        if key not in _CHECKS:
            raise PolicyError(f"{source}: unknown key {key!r} (value {value!r})",
                              fix="remove it; see docs/staffing.md for the keys")
        kind, arg = _CHECKS[key]
        _check(source, key, value, kind, arg)
    sev = policy["severity"]
    if not sev["medium"] < sev["high"] < sev["critical"]:
        bad = "high" if not sev["medium"] < sev["high"] else "critical"
        raise PolicyError(
            f"{source}: 'severity.{bad}' has value {sev[bad]!r}: the severity bounds must "
            "ascend (medium < high < critical)",
            fix="give severity.medium < severity.high < severity.critical (defaults 0.5, 1.5, 3.0)")


def _flatten(d: Mapping, prefix: str = ""):
    for key, value in d.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and dotted not in _CHECKS:
            yield from _flatten(value, f"{dotted}.")
        else:
            yield dotted, value


@functools.lru_cache(maxsize=1)
def _shipped_cached() -> dict:
    return read_toml(default_path(POLICY_NAME))


def _shipped() -> dict:
    return copy.deepcopy(_shipped_cached())


def _default_of(key: str):
    try:
        node = _shipped_cached()
        for part in key.split("."):
            node = node[part]
        return node
    except (KeyError, PolicyError):  # pragma: no cover - defaults are complete
        return None


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) \
        and math.isfinite(value)


def _check(source: str, key: str, value, kind: str, arg) -> None:
    default = _default_of(key)

    def fail(why: str, fix: str):
        raise PolicyError(f"{source}: {key!r} has value {value!r}: {why}", fix=fix)

    if kind in ("ge", "gt", "share") and not _is_number(value):
        fail("it must be a finite number", f"give {key!r} a number (default {default!r})")
    if kind == "ge" and value < arg:
        fail(f"it must be >= {arg}", f"give {key!r} a number >= {arg} (default {default!r})")
    elif kind == "gt" and value <= arg:
        fail(f"it must be > {arg}", f"give {key!r} a number > {arg} (default {default!r})")
    elif kind == "share" and not 0 < value <= 1:
        fail("it must be a share in (0, 1]",
             f"give {key!r} a share such as {default!r} (0 < value <= 1)")
    elif kind == "in" and (isinstance(value, bool) or value not in arg):
        fail("it is not allowed", "use one of: " + ", ".join(map(repr, arg)))
    elif kind == "bool" and not isinstance(value, bool):
        fail("it must be true or false", f"write {key} = true or false")
    elif kind == "subset":
        if not isinstance(value, list) or any(v not in arg for v in value):
            fail("it must list values from " + ", ".join(arg),
                 f"write {key} = [...] with values among: " + ", ".join(map(repr, arg)))
    elif kind == "categories":
        if not isinstance(value, Mapping):
            fail("it must be a table of incident category -> number",
                 f"write it as [{key}] with one line per category")
        for cat, number in value.items():
            if cat not in arg:
                raise PolicyError(f"{source}: unknown key '{key}.{cat}' (value {number!r})",
                                  fix="use the incident categories: " + ", ".join(arg))
            if not _is_number(number) or number < 0:
                raise PolicyError(f"{source}: '{key}.{cat}' has value {number!r}: it must be "
                                  "a number >= 0",
                                  fix=f"give '{key}.{cat}' a number of hours or officers >= 0")
        absent = [c for c in arg if c not in value]
        if absent:
            raise PolicyError(f"{source}: {key!r} lacks the categories {absent}",
                              fix="give a value for every incident category")


def round_count(x, mode: str):
    """Round a required head count by the policy's rounding mode (array or scalar).

    ``ceil`` rounds up (1.5 -> 2), ``round`` rounds half up (2.5 -> 3, 2.4 -> 2),
    ``floor`` rounds down. A tiny tolerance (1e-9) keeps 3.0000000001 at 3 under
    ``ceil``.

    Examples
    --------
    >>> round_count(1.5, "ceil"), round_count(2.5, "round"), round_count(1.9, "floor")
    (2, 3, 1)
    """
    import numpy as np

    arr = np.asarray(x, dtype=float)
    if mode == "ceil":
        out = np.ceil(arr - 1e-9)
    elif mode == "round":
        out = np.floor(arr + 0.5 + 1e-9)
    elif mode == "floor":
        out = np.floor(arr + 1e-9)
    else:
        raise PolicyError(f"rounding mode {mode!r} is not allowed",
                          fix="use one of: " + ", ".join(ROUNDING_MODES))
    out = np.maximum(out, 0).astype(np.int64)
    return int(out) if out.ndim == 0 else out
