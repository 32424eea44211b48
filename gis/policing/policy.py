"""The staffing policy (a city's rules): shipped defaults, per-city overrides, every key checked.

The rules of :mod:`beatgrid.gis.policing.staffing` (officers per beat, the two-officer
thresholds, the 1 : 1.5 auxiliary ratio, 1 manager per 500 floating residents,
grid workers per basic grid, the workload model, severity levels, police rooms) are
the ``policy`` section of the configuration (:class:`beatgrid.gis.config.Config`),
shipped in ``gis/defaults/staffing.toml`` (sourced from the seed documents). How
beats, areas, alignment and hotspots are computed is the other section, ``policing``
(:mod:`beatgrid.gis.policing.settings`, ``gis/defaults/policing.toml``).

:func:`load_policy` merges a city file (or mapping) onto the shipped policy,
rejecting unknown keys and wrong types (:func:`beatgrid.gis.config.merge_checked`)
and checking every value against its range or allowed set
(:func:`validate_policy`, also run by :meth:`Config.load <beatgrid.gis.config.Config.load>`
for the ``policy`` section); the :class:`~beatgrid.gis.errors.PolicyError` names the
key, the value and the fix.

**Policy files with method tables.** A city file given to ``beatgrid staffing
--policy`` (and the body of ``POST /staffing``) may also hold the method tables
``[beats]``, ``[responsibility_areas]``, ``[alignment]`` and ``[hotspots]``: they
lived in ``staffing.toml`` before the two sections were split, and stay accepted.
:func:`policy_sections` routes each top-level table by its name to its section, in
this one place; ``Project.open(path, **policy_sections(file))`` opens a project with
them.

Examples
--------
>>> policy = load_policy()
>>> policy["officers"]["two_officer_population"], policy["auxiliaries"]["per_officer"]
(10000, 1.5)
>>> load_policy({"floating_managers": {"floating_per_manager": 800}})["floating_managers"]["floating_per_manager"]
800
>>> load_policy({"auxiliaries": {"per_officer": -1}})
Traceback (most recent call last):
...
beatgrid.gis.errors.PolicyError: staffing policy: 'auxiliaries.per_officer' has value -1.0: it must be >= 0 Fix: give 'auxiliaries.per_officer' a number >= 0 (default 1.5)
>>> sorted(policy_sections({"officers": {"per_beat": 2}, "hotspots": {"permutations": 99}}))
['policing', 'policy']
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, overload

import numpy as np

from beatgrid.gis.config import (default_config, default_path, merge_checked, read_toml,
                                 register_validator, thaw)
from beatgrid.gis.config_checks import check_depth, shown
from beatgrid.gis.errors import PolicyError
from beatgrid.gis.policing.settings import METHOD_TABLES, load_policing_settings
from beatgrid.gis.policing.value_checks import Check, check_values
from beatgrid.gis.schema import INCIDENT_CATEGORIES, ROOM_CONDITIONS

#: The config section of the policy (shipped file: ``staffing.toml``).
SECTION = "policy"
#: The shipped file's name (without ``.toml``).
POLICY_NAME = "staffing"
#: What a policy given as a mapping is called in messages.
MAPPING_SOURCE = "staffing policy"

ROUNDING_MODES = ("ceil", "round", "floor")

#: The value check of every key (see :mod:`beatgrid.gis.policing.value_checks`).
POLICY_CHECKS: dict[str, Check] = {
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
}


def default_policy() -> dict[str, Any]:
    """The shipped policy (``gis/defaults/staffing.toml``), validated, as a mutable ``dict``.

    Examples
    --------
    >>> default_policy()["officers"]["per_beat"]
    1
    """
    return load_policy(None)


def load_policy(override: str | Path | Mapping[str, Any] | None = None, *,
                base: Mapping[str, Any] | None = None,
                source: str | None = None) -> dict[str, Any]:
    """Load the staffing policy: shipped defaults merged with an optional override.

    Parameters
    ----------
    override
        A TOML file path, a dict with a subset of the keys, or None (defaults). The
        method tables (``[beats]``, ``[alignment]``...) are not part of the policy:
        give them to :func:`policy_sections` (or as the ``policing`` section).
    base
        The policy to override instead of the shipped defaults (for stacking a
        provincial and a city file); it is validated too.
    source
        What to call a mapping override in messages (default ``"staffing policy"``).

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
    defaults: Mapping[str, Any] = default_config().policy if base is None else base
    if base is not None:
        validate_policy(base, source="base policy")
    if override is None:
        merged, where = thaw(defaults), str(default_path(POLICY_NAME))
    else:
        data, where = _read(override, source)
        method = [name for name in data if name in METHOD_TABLES]
        if method:
            raise PolicyError(
                f"{where}: [{method[0]}] is a policing method setting, not a staffing rule",
                fix="give it to the policing section (gis/defaults/policing.toml: "
                    "Project.open(..., policing={...})), or pass the whole file to "
                    "policy_sections()")
        merged = merge_checked(defaults, data, source=where)
    validate_policy(merged, source=where)
    return merged


def validate_policy(policy: Mapping[str, Any], *, source: str = MAPPING_SOURCE) -> None:
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
    check_values(policy, POLICY_CHECKS, source=source, defaults=default_config().policy,
                 template="gis/defaults/staffing.toml")
    sev = policy["severity"]
    if not sev["medium"] < sev["high"] < sev["critical"]:
        bad = "high" if not sev["medium"] < sev["high"] else "critical"
        raise PolicyError(
            f"{source}: 'severity.{bad}' has value {sev[bad]!r}: the severity bounds must "
            "ascend (medium < high < critical)",
            fix="give severity.medium < severity.high < severity.critical (defaults 0.5, 1.5, 3.0)")


def policy_sections(override: str | Path | Mapping[str, Any] | None, *,
                    source: str | None = None) -> dict[str, dict[str, Any]]:
    """A city policy file (or mapping) as config section overrides, checked.

    The one place where a policy file's top-level tables are routed: the method
    tables ``[beats]``, ``[responsibility_areas]``, ``[alignment]`` and
    ``[hotspots]`` go to the ``policing`` section, every other key to ``policy``.
    Both parts are checked now, so an error names the file (or ``source``).

    Parameters
    ----------
    override
        A TOML file path or a mapping shaped like ``staffing.toml`` (possibly with the
        method tables); None: no override.
    source
        What to call a mapping override in messages (default ``"staffing policy"``).

    Returns
    -------
    dict
        ``{"policy": {...}, "policing": {...}}`` with the sections the override
        touches (the overridden keys only), for :meth:`Config.replace
        <beatgrid.gis.config.Config.replace>` or :meth:`Project.open
        <beatgrid.gis.project.Project.open>`.

    Examples
    --------
    >>> policy_sections({"officers": {"per_beat": 2}, "alignment": {"min_share": 0.8}})
    {'policy': {'officers': {'per_beat': 2}}, 'policing': {'alignment': {'min_share': 0.8}}}
    >>> policy_sections(None)
    {}
    >>> policy_sections({"grids": {}})
    Traceback (most recent call last):
    ...
    beatgrid.gis.errors.PolicyError: staffing policy: unknown key 'grids' (value {}) Fix: use one of: version, officers, auxiliaries, floating_managers, grid_workers, workload, severity, rooms, beats, responsibility_areas, alignment, hotspots
    """
    if override is None:
        return {}
    data, where = _read(override, source)
    policy_keys = list(default_config().policy)
    for name, value in data.items():
        if name not in policy_keys and name not in METHOD_TABLES:
            raise PolicyError(f"{where}: unknown key {shown(name)} (value {shown(value)})",
                              fix="use one of: " + ", ".join([*policy_keys, *METHOD_TABLES]))
    parts = {"policy": {k: v for k, v in data.items() if k not in METHOD_TABLES},
             "policing": {k: v for k, v in data.items() if k in METHOD_TABLES}}
    load_policy(parts["policy"], source=where)
    load_policing_settings(parts["policing"], source=where)
    return {name: part for name, part in parts.items() if part}


def _read(override: str | Path | Mapping[str, Any],
          source: str | None) -> tuple[dict[str, Any], str]:
    if isinstance(override, Mapping):
        data, where = dict(override), source or MAPPING_SOURCE
    elif isinstance(override, (str, Path)):
        data, where = read_toml(override), source or str(override)
    else:
        raise PolicyError(f"{source or MAPPING_SOURCE}: {shown(override)} is neither a table "
                          "nor a file", fix="give a TOML file path or a mapping")
    check_depth(data, source=where)
    return data, where


@overload
def round_count(x: float, mode: str) -> int: ...
@overload
def round_count(x: np.ndarray[Any, Any] | list[float], mode: str) -> np.ndarray[Any, Any]: ...


def round_count(x: Any, mode: str) -> Any:
    """Round a required head count by the policy's rounding mode (array or scalar).

    ``ceil`` rounds up (1.5 -> 2), ``round`` rounds half up (2.5 -> 3, 2.4 -> 2),
    ``floor`` rounds down. A tiny tolerance (1e-9) keeps 3.0000000001 at 3 under
    ``ceil``.

    Examples
    --------
    >>> round_count(1.5, "ceil"), round_count(2.5, "round"), round_count(1.9, "floor")
    (2, 3, 1)
    """
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


def _check_section(section: Mapping[str, Any], source: str) -> None:
    validate_policy(section, source=source)


register_validator(SECTION, _check_section)

__all__ = ["SECTION", "POLICY_NAME", "ROUNDING_MODES", "POLICY_CHECKS", "default_policy",
           "load_policy", "validate_policy", "policy_sections", "round_count"]
