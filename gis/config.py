"""Settings and policy files: one loader, validated once, frozen sections passed down.

Every threshold and ratio BeatGrid uses (household band, staffing ratios, camera
quality levels, ...) lives in a TOML file under ``gis/defaults/``: one file per
section. A user file overrides any subset of a section's keys; unknown keys and
values of the wrong type are rejected with the key, the value and the fix.

:class:`Config` holds every section, loaded and checked once (by
:meth:`Config.load`) and frozen: a section reads like a nested ``dict``
(``config.grids["band"]["min_households"]``) but cannot be changed by the code it is passed
to. :meth:`Config.replace` gives a new config with some sections overridden;
:func:`thaw` gives a plain mutable copy for an analyst who wants to experiment.

========== ========================= ===============================================
section    shipped file              what it holds
========== ========================= ===============================================
core       ``settings.toml``         import (OSM households), camera defaults, CRS
grids      ``grids.toml``            household band, atomic units, generator, codes
coverage   ``coverage.toml``         field of view, visibility, coverage, risk,
                                     placement
policing   ``policing.toml``         beats, responsibility areas, alignment, hotspots
policy     ``staffing.toml``         the staffing policy (a city's rules)
========== ========================= ===============================================

Examples
--------
>>> from beatgrid.gis.config import Config, default_config
>>> config = default_config()
>>> config.grids["band"]["min_households"], config.grids["band"]["max_households"]
(300, 500)
>>> config.core["import"]["dwelling_size_m2"]
90.0
>>> narrow = config.replace(grids={"band": {"min_households": 320}})
>>> narrow.grids["band"]["min_households"], config.grids["band"]["min_households"]
(320, 300)
>>> narrow.grids["band"]["min_households"] = 1
Traceback (most recent call last):
...
TypeError: 'Frozen' object does not support item assignment
"""

from __future__ import annotations

import copy
import functools
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path
from typing import Any

from beatgrid.gis.config_checks import (MAX_SETTINGS_BYTES, check_depth, check_numbers,
                                        check_schema_settings, is_plain_number,
                                        long_number_at, shown)
from beatgrid.gis.errors import PolicyError

DEFAULTS_PACKAGE = "beatgrid.gis.defaults"

#: Config section -> shipped defaults file (without ``.toml``).
SECTION_FILES: dict[str, str] = {
    "core": "settings",
    "grids": "grids",
    "coverage": "coverage",
    "policing": "policing",
    "policy": "staffing",
}

#: An override: a TOML file path, or a mapping with a subset of the keys.
Override = str | Path | Mapping[str, Any] | None


class Frozen(Mapping[str, Any]):
    """A read-only nested mapping (lists become tuples); picklable and hashable-free.

    Parameters
    ----------
    data
        The mapping to freeze (deeply).

    Examples
    --------
    >>> f = Frozen({"a": {"b": [1, 2]}})
    >>> f["a"]["b"]
    (1, 2)
    >>> thaw(f)
    {'a': {'b': [1, 2]}}
    """

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = {str(k): _freeze(v) for k, v in data.items()}

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"Frozen({thaw(self)!r})"

    def __reduce__(self) -> tuple[Callable[..., Frozen], tuple[dict[str, Any]]]:
        return (Frozen, (thaw(self),))

    def __deepcopy__(self, memo: dict[int, Any]) -> Frozen:
        return self


def _freeze(value: Any) -> Any:
    if isinstance(value, Frozen):
        return value
    if isinstance(value, Mapping):
        return Frozen(value)
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """A plain, mutable deep copy of a frozen section (``dict`` and ``list``).

    Examples
    --------
    >>> thaw(default_config().grids)["band"]["min_households"]
    300
    """
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    return copy.copy(value)


def default_path(name: str) -> Path:
    """Path of the shipped defaults file ``name`` (without ``.toml``).

    Examples
    --------
    >>> default_path("grids").name
    'grids.toml'
    """
    return Path(str(resources.files(DEFAULTS_PACKAGE).joinpath(f"{name}.toml")))


def read_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file; a missing or malformed file raises :class:`PolicyError`.

    Examples
    --------
    >>> read_toml("no-such-file.toml")
    Traceback (most recent call last):
    ...
    beatgrid.gis.errors.PolicyError: settings file 'no-such-file.toml' does not exist Fix: check the path
    """
    path = Path(path)
    data = b""
    try:
        with path.open("rb") as f:
            data = f.read(MAX_SETTINGS_BYTES + 1)
        if len(data) > MAX_SETTINGS_BYTES:
            raise PolicyError(f"settings file {str(path)!r} is larger than "
                              f"{MAX_SETTINGS_BYTES:,} bytes: not a settings file",
                              fix="give the TOML file with your settings (a few kB)")
        return tomllib.loads(data.decode("utf-8"))
    except FileNotFoundError:
        raise PolicyError(f"settings file {str(path)!r} does not exist",
                          fix="check the path") from None
    except IsADirectoryError:
        raise PolicyError(f"settings file {str(path)!r} is a directory",
                          fix="give the path of a .toml file") from None
    except OSError as exc:
        raise PolicyError(f"settings file {str(path)!r} cannot be read: "
                          f"{exc.strerror or exc}",
                          fix="check the path and that you may read the file") from None
    except UnicodeDecodeError:
        raise PolicyError(f"settings file {str(path)!r} is not UTF-8 text",
                          fix="give a TOML text file saved as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"settings file {str(path)!r} is not valid TOML: {exc}",
                          fix="correct the TOML syntax at the position given") from None
    except RecursionError:
        raise PolicyError(f"settings file {str(path)!r} is nested too deeply",
                          fix="write the keys of gis/defaults/*.toml, at most a few "
                              "tables deep") from None
    except ValueError as exc:  # an integer too long for Python (4,300+ digits), a NUL...
        if "digits" not in str(exc):
            raise PolicyError(f"settings file {str(path)!r} cannot be read: {exc}",
                              fix="check the path") from None
        raise PolicyError(f"settings file {str(path)!r}: {long_number_at(data)} holds a number "
                          "of more than 4,300 digits, too large to read",
                          fix="give a plain number (see gis/defaults/*.toml for the "
                              "ranges)") from None


def merge_checked(defaults: Mapping[str, Any], override: Mapping[str, Any], *, source: str,
                  prefix: str = "") -> dict[str, Any]:
    """Deep-merge ``override`` onto ``defaults``, rejecting unknown keys and wrong types.

    Integers are accepted where floats are expected. Tables whose default is empty
    (``{}``) accept any keys (used for per-category tables).

    Examples
    --------
    >>> merge_checked({"a": {"b": 1.0}}, {"a": {"b": 2}}, source="demo")
    {'a': {'b': 2.0}}
    >>> merge_checked({"a": 1}, {"c": 2}, source="demo")
    Traceback (most recent call last):
    ...
    beatgrid.gis.errors.PolicyError: demo: unknown key 'c' (value 2) Fix: use one of: a
    >>> merge_checked({"a": 1.0}, {"a": 10**400}, source="demo")
    Traceback (most recent call last):
    ...
    beatgrid.gis.errors.PolicyError: demo: 'a' has value <a 401-digit number>: it is too large (at most 2**53 in size) Fix: give a number like the default 1.0
    """
    if not isinstance(override, Mapping):
        raise PolicyError(f"{source}: {prefix.rstrip('.') or 'the settings'} must be a table, "
                          f"got {shown(override)}", fix="write keys like gis/defaults/*.toml")
    if not prefix:
        check_depth(override, source=source)
    merged = thaw(defaults)
    for key, value in override.items():
        dotted = f"{prefix}{key}"
        if key not in defaults:
            if len(defaults) == 0:
                check_numbers(value, source=source, key=dotted)
                merged[key] = thaw(value)
                continue
            raise PolicyError(
                f"{source}: unknown key {dotted!r} (value {shown(value)})",
                fix="use one of: " + ", ".join(f"{prefix}{k}" for k in defaults))
        default = defaults[key]
        if isinstance(default, Mapping):
            if not isinstance(value, Mapping):
                raise PolicyError(f"{source}: {dotted!r} must be a table, got {shown(value)}",
                                  fix=f"write it as [{dotted}] with keys inside")
            merged[key] = merge_checked(default, value, source=source, prefix=f"{dotted}.")
            continue
        if not _same_type(default, value):
            raise PolicyError(
                f"{source}: {dotted!r} has value {shown(value)} ({type_words(value)}) where "
                f"{type_words(default)} is expected",
                fix=f"give {type_words(default)} like the default {_as_toml(default)}")
        check_numbers(value, source=source, key=dotted, default=default)
        merged[key] = float(value) if isinstance(default, float) else thaw(value)
    return merged


def type_words(value: Any) -> str:
    """What a settings value is, in the words of the messages (``an integer``, ``text``...).

    Examples
    --------
    >>> type_words(1), type_words(1.5), type_words("up"), type_words(True), type_words([1])
    ('an integer', 'a number', 'text', 'true or false', 'a list')
    """
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, Mapping):
        return "a table"
    return "a value"


def _as_toml(value: Any) -> str:
    """A default as written in a TOML file (``true``, not ``True``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return shown(thaw(value))


def _same_type(default: Any, value: Any) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float))
    if isinstance(default, (list, tuple)):
        return isinstance(value, (list, tuple))
    return isinstance(value, type(default))


@functools.lru_cache(maxsize=None)
def _shipped(name: str) -> Frozen:
    return Frozen(read_toml(default_path(name)))


def load_settings(name: str = "settings", override: Override = None) -> dict[str, Any]:
    """The shipped defaults file ``name`` with an optional override, as a plain ``dict``.

    The lower-level loader behind :meth:`Config.load` (which validates each section
    once and freezes it); kept for the sample generator's own parameter file.

    Parameters
    ----------
    name
        Defaults file under ``gis/defaults`` (``"settings"``, ``"grids"``,
        ``"coverage"``, ``"policing"``, ``"staffing"``, ``"sample"``).
    override
        A TOML path or a mapping with a subset of the keys.

    Returns
    -------
    dict
        The merged, type-checked settings.

    Examples
    --------
    >>> load_settings("settings")["import"]["dwelling_size_m2"]
    90.0
    """
    defaults = _shipped(name)
    if override is None:
        return thaw(defaults)
    if isinstance(override, Mapping):
        return merge_checked(defaults, override, source=f"{name} settings")
    return merge_checked(defaults, read_toml(override), source=str(override))


#: Per-section value checks run once on load (the policy checks its value ranges).
_VALIDATORS: dict[str, list[Callable[[Mapping[str, Any], str], None]]] = {}


def register_validator(section: str, check: Callable[[Mapping[str, Any], str], None]) -> None:
    """Have :meth:`Config.load` run ``check(section_mapping, source)`` on ``section``.

    A capability package registers the value checks of its section (ranges, allowed
    words) at import; the structural checks (known keys, types) are done here. A
    section may have several checks (each registered once); they run in order.
    """
    checks = _VALIDATORS.setdefault(section, [])
    if check not in checks:
        checks.append(check)


@dataclass(frozen=True)
class Config:
    """Every settings section, validated and frozen.

    Build it with :meth:`Config.load` (or :func:`default_config` for the shipped
    defaults); pass it, or one of its sections, down to the computing functions.

    Attributes
    ----------
    core, grids, coverage, policing, policy
        The sections (see the module docstring for what each holds).
    """

    core: Frozen
    grids: Frozen
    coverage: Frozen
    policing: Frozen
    policy: Frozen

    @classmethod
    def load(cls, settings: Override = None, **sections: Override) -> Config:
        """Shipped defaults with overrides, validated once.

        Parameters
        ----------
        settings
            One file (or mapping) overriding several sections: its top-level tables are
            section names (``[grids.band]``, ``[coverage.fov]``, ``[policy.officers]``...).
        **sections
            Per-section overrides (``grids="my-grids.toml"``, ``policy={...}``), shaped
            like that section's shipped file; applied after ``settings``.

        Returns
        -------
        Config

        Raises
        ------
        PolicyError
            An unknown section or key, a value of the wrong type or out of range; the
            message names the file, the key and the value.

        Examples
        --------
        >>> Config.load(grids={"band": {"max_households": 480}}).grids["band"]["max_households"]
        480
        >>> Config.load(settings={"grid": {}})
        Traceback (most recent call last):
        ...
        beatgrid.gis.errors.PolicyError: settings: unknown section 'grid' Fix: use one of: core, grids, coverage, policing, policy
        """
        return default_config().replace(settings, **sections)

    def replace(self, settings: Override = None, **sections: Override) -> Config:
        """A new config with some sections overridden (this one is unchanged).

        Parameters
        ----------
        settings, **sections
            As for :meth:`load`; the overrides apply on top of this config.

        Examples
        --------
        >>> default_config().replace(policy={"auxiliaries": {"per_officer": 1.0}}).policy[
        ...     "auxiliaries"]["per_officer"]
        1.0
        """
        overrides: dict[str, list[tuple[Mapping[str, Any], str]]] = {}
        if settings is not None:
            if not isinstance(settings, (Mapping, str, Path)):
                raise PolicyError(f"settings: {shown(settings)} is neither a table nor a file",
                                  fix="give a TOML file path or a mapping")
            source = "settings" if isinstance(settings, Mapping) else str(settings)
            whole = settings if isinstance(settings, Mapping) else read_toml(settings)
            for name, value in whole.items():
                if name not in SECTION_FILES:
                    raise PolicyError(f"{source}: unknown section {shown(name)}",
                                      fix="use one of: " + ", ".join(SECTION_FILES))
                if not isinstance(value, Mapping):
                    raise PolicyError(f"{source}: {name!r} must be a table, got {shown(value)}",
                                      fix=f"write it as [{name}.<table>] with keys inside")
                overrides.setdefault(name, []).append((value, source))
        for name, value in sections.items():
            if name not in SECTION_FILES:
                raise PolicyError(f"unknown settings section {shown(name)}",
                                  fix="use one of: " + ", ".join(SECTION_FILES))
            if value is None:
                continue
            if not isinstance(value, (Mapping, str, Path)):
                raise PolicyError(f"settings section {name!r}: {shown(value)} is neither a "
                                  "table nor a file", fix="give a TOML file path or a mapping")
            if isinstance(value, Mapping):
                overrides.setdefault(name, []).append((value, f"{name} settings"))
            else:
                overrides.setdefault(name, []).append((read_toml(value), str(value)))
        if not overrides:
            return self
        changed: dict[str, Frozen] = {}
        for name, items in overrides.items():
            merged: Mapping[str, Any] = getattr(self, name)
            for value, source in items:
                merged = merge_checked(merged, value, source=source)
                for check in _VALIDATORS.get(name, ()):
                    check(merged, source)
            changed[name] = Frozen(merged)
        current = {f.name: getattr(self, f.name) for f in fields(self)}
        current.update(changed)
        return Config(**current)


def _check_core(section: Mapping[str, Any], source: str) -> None:
    """The value checks of the ``core`` section owned here (the store's settings)."""
    hours = section["store"]["stale_temp_hours"]
    if not is_plain_number(hours) or hours <= 0:
        raise PolicyError(f"{source}: 'store.stale_temp_hours' has value {shown(hours)}: it "
                          "must be a number of hours > 0",
                          fix="give a number of hours above 0 (default 6.0)")
    auth = section.get("auth", {})
    for key, low in (("session_hours", 0.0), ("token_cache_s", -1e-9)):
        value = auth.get(key, 1.0)
        if not is_plain_number(value) or value <= low:
            raise PolicyError(f"{source}: 'auth.{key}' has value {shown(value)}: it must be "
                              f"a number {'> 0' if low == 0 else '>= 0'}",
                              fix="give a number of hours (session_hours) or seconds")
    hosts = auth.get("allowed_hosts", [])
    if not isinstance(hosts, (list, tuple)) or not all(isinstance(h, str) and h for h in hosts):
        raise PolicyError(f"{source}: 'auth.allowed_hosts' has value {shown(hosts)}: it must "
                          "be a list of host names", fix='write e.g. ["gis.example.gov.cn"]')
    if not isinstance(auth.get("public_read", False), bool):
        raise PolicyError(f"{source}: 'auth.public_read' must be true or false",
                          fix="write public_read = true or false")
    pool = section["store"].get("pg_pool_size", 16)
    if not isinstance(pool, int) or isinstance(pool, bool) or not 1 <= pool <= 1000:
        raise PolicyError(f"{source}: 'store.pg_pool_size' has value {shown(pool)}: it "
                          "must be a whole number from 1 to 1000",
                          fix="give the connections to keep open, e.g. 16")
    wait = section["store"].get("lock_timeout_s", 120.0)
    if not is_plain_number(wait) or wait <= 0:
        raise PolicyError(f"{source}: 'store.lock_timeout_s' has value {shown(wait)}: it "
                          "must be a number of seconds > 0",
                          fix="give a number of seconds above 0 (default 120)")


register_validator("core", _check_core)
register_validator("core", check_schema_settings)


@functools.lru_cache(maxsize=1)
def default_config() -> Config:
    """The shipped defaults of every section (loaded once per process).

    Examples
    --------
    >>> default_config().policy["officers"]["per_beat"]
    1
    """
    return Config(**{name: _shipped(file) for name, file in SECTION_FILES.items()})


def section_or_default(settings: Mapping[str, Any] | None, name: str) -> Mapping[str, Any]:
    """``settings`` when given, else the shipped section ``name`` (loaded once).

    The one place a computing function called on its own resolves its settings.

    Examples
    --------
    >>> section_or_default(None, "grids")["band"]["min_households"]
    300
    >>> section_or_default({"band": {"min_households": 320}}, "grids")["band"]["min_households"]
    320
    """
    if settings is not None:
        return settings
    section: Frozen = getattr(default_config(), name)
    return section


def resolve(config: Config | None) -> Config:
    """``config``, or the shipped defaults when None (for functions callable on their own).

    Examples
    --------
    >>> resolve(None) is default_config()
    True
    """
    return default_config() if config is None else config
