"""Checks every settings value gets, whatever its section: plain numbers, depth, short quotes.

A settings file or mapping comes from a user (``--settings``, ``--policy``, the body of
``POST /staffing``) and may hold anything TOML or JSON can: a 400-digit number, ``nan``,
tables nested thousands deep. :func:`~beatgrid.gis.config.merge_checked` refuses
those with a :class:`~beatgrid.gis.errors.PolicyError` before any computation sees
them, using the checks here; every message quotes values with :func:`shown`, which
never fails and stays short. :func:`check_schema_settings` checks the ``core`` keys
that name layers and columns of the schema (``[validation.plausible_maximum]``,
``[import.column_synonyms]``).

Examples
--------
>>> is_plain_number(10**400), shown(10**400)
(False, '<a 401-digit number>')
"""

from __future__ import annotations

import math
import re
import reprlib
from collections.abc import Mapping
from typing import Any

from beatgrid.gis.errors import PolicyError
from beatgrid.gis.layer_specs import LAYER_ORDER, LAYERS, column_name_key, format_number

#: Largest number a settings value may hold in size: 2**53, the largest integer a float
#: holds exactly (bigger ones are typing slips, and overflow the computations).
MAX_NUMBER = 2**53
#: Deepest nesting of tables and lists a settings file or mapping may have (the shipped
#: files are 3 deep; a settings file with sections adds one).
MAX_DEPTH = 16
#: Largest settings file read (a settings or policy file is a few kB; a bigger file was
#: given by mistake, and is not read into memory).
MAX_SETTINGS_BYTES = 1_000_000


def long_number_at(data: bytes) -> str:
    """Where in a TOML text the over-long number is: ``line N (key 'k')``.

    Examples
    --------
    >>> long_number_at(b"[officers]\\nper_beat = " + b"9" * 5000)
    "line 2 (key 'officers.per_beat')"
    """
    table = ""
    for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
        header = re.match(r"\s*\[+\s*([^\]]+?)\s*\]+\s*(#.*)?$", line)
        if header:
            table = header.group(1)
        elif re.search(r"[0-9_]{1000,}", line):
            key = line.split("=", 1)[0].strip() if "=" in line else ""
            dotted = f"{table}.{key}" if table and key else key
            return f"line {number}" + (f" (key {shown(dotted)})" if dotted else "")
    return "a value"


class _ShortRepr(reprlib.Repr):
    def repr_int(self, x: int, level: int) -> str:
        digits = len(str(abs(x))) if x.bit_length() < 13000 else int(x.bit_length() * 0.30103)
        return repr(x) if digits <= 20 else f"<a {digits}-digit number>"


_SHORT = _ShortRepr()
_SHORT.maxstring = _SHORT.maxother = 80
_SHORT.maxlevel = 3


def shown(value: Any) -> str:
    """A value as quoted in messages: its ``repr``, cut short when long, deep or huge.

    Examples
    --------
    >>> shown("dome"), shown([1, 2]), shown(10**400)
    ("'dome'", '[1, 2]', '<a 401-digit number>')
    >>> shown({"a": {"b": {"c": {"d": 1}}}})
    "{'a': {'b': {'c': {...}}}}"
    """
    try:
        return _SHORT.repr(value)
    except (RecursionError, ValueError):
        return f"<a {type(value).__name__}>"


def check_depth(value: Any, *, source: str, limit: int = MAX_DEPTH) -> None:
    """Refuse tables or lists nested deeper than ``limit`` (checked without recursion).

    Examples
    --------
    >>> deep: dict = {}
    >>> node = deep
    >>> for _ in range(50):
    ...     node["a"] = {}; node = node["a"]
    >>> check_depth(deep, source="demo")
    Traceback (most recent call last):
    ...
    beatgrid.gis.errors.PolicyError: demo: tables or lists are nested more than 16 deep Fix: write the keys of gis/defaults/*.toml, at most a few tables deep
    """
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, Mapping):
            children = list(node.values())
        elif isinstance(node, (list, tuple)):
            children = list(node)
        else:
            continue
        if depth >= limit:
            raise PolicyError(f"{source}: tables or lists are nested more than {limit} deep",
                              fix="write the keys of gis/defaults/*.toml, at most a few "
                                  "tables deep")
        stack.extend((child, depth + 1) for child in children)


def is_plain_number(value: Any) -> bool:
    """Whether ``value`` is an int or float, finite and at most :data:`MAX_NUMBER` in size.

    A bool is not a number.

    Examples
    --------
    >>> is_plain_number(3), is_plain_number(2.5), is_plain_number(float("nan"))
    (True, True, False)
    >>> is_plain_number(10**400), is_plain_number(True), is_plain_number("1")
    (False, False, False)
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if isinstance(value, int):
        return abs(value) <= MAX_NUMBER
    return math.isfinite(value) and abs(value) <= MAX_NUMBER


def check_numbers(value: Any, *, source: str, key: str, default: Any = None) -> None:
    """Refuse NaN, infinities and numbers beyond :data:`MAX_NUMBER`, in lists and tables too.

    Examples
    --------
    >>> check_numbers([1, 2.5], source="demo", key="a")
    >>> check_numbers({"x": float("inf")}, source="demo", key="a")
    Traceback (most recent call last):
    ...
    beatgrid.gis.errors.PolicyError: demo: 'a.x' has value inf: it must be a finite number Fix: give a number of a sensible size
    """
    if isinstance(value, Mapping):
        for k, v in value.items():
            check_numbers(v, source=source, key=f"{key}.{k}")
        return
    if isinstance(value, (list, tuple)):
        for item in value:
            check_numbers(item, source=source, key=key, default=default)
        return
    if isinstance(value, (int, float)) and not isinstance(value, bool) \
            and not is_plain_number(value):
        like = (f"like the default {shown(default)}"
                if default is not None and not isinstance(default, (list, tuple))
                else "of a sensible size")
        why = ("it must be a finite number" if isinstance(value, float)
               and not math.isfinite(value) else "it is too large (at most 2**53 in size)")
        raise PolicyError(f"{source}: {key!r} has value {shown(value)}: {why}",
                          fix=f"give a number {like}")


def _check_plausible_maxima(section: Mapping[str, Any], source: str) -> None:
    table = (section.get("validation") or {}).get("plausible_maximum") or {}
    for layer, columns in table.items():
        key = f"validation.plausible_maximum.{layer}"
        if layer not in LAYERS:
            raise PolicyError(f"{source}: {key!r} names no layer (value {shown(columns)})",
                              fix="use one of: " + ", ".join(LAYER_ORDER))
        spec = LAYERS[layer]
        open_to = [c.name for c in spec.columns if c.plausible_maximum is not None]
        if not isinstance(columns, Mapping):
            raise PolicyError(f"{source}: {key!r} must be a table, got {shown(columns)}",
                              fix=f"write [{key}] with lines column = number")
        for name, value in columns.items():
            dotted = f"{key}.{name}"
            if name not in open_to:
                why = ("is not a column of the layer" if name not in spec.column_names
                       else "has no plausible maximum (its bounds are hard, or it is not a "
                            "number)")
                raise PolicyError(f"{source}: {dotted!r} {why}",
                                  fix="give one of: " + (", ".join(open_to) or "(none)"))
            col = spec.column(name)
            low = float(col.minimum if col.minimum is not None else 0)
            if not is_plain_number(value) or value <= low:
                raise PolicyError(
                    f"{source}: {dotted!r} has value {shown(value)}: it must be a number above "
                    f"the column's minimum {format_number(low)}",
                    fix=f"give a number above {format_number(low)} (the schema's is "
                        f"{format_number(col.plausible_maximum)})")


def _check_column_synonyms(section: Mapping[str, Any], source: str) -> None:
    table = (section.get("import") or {}).get("column_synonyms") or {}
    for layer, columns in table.items():
        seen: dict[str, str] = {}
        for column, names in (columns or {}).items():
            key = f"import.column_synonyms.{layer}.{column}"
            for name in names:
                if not isinstance(name, str) or not column_name_key(name):
                    raise PolicyError(
                        f"{source}: {key!r} holds {shown(name)}: not a column name",
                        fix=f"give {key!r} a list of column names as text, e.g. ['朝向']")
                other = seen.setdefault(column_name_key(name), column)
                if other != column:
                    raise PolicyError(
                        f"{source}: {name!r} is listed for both {layer}.{other} and "
                        f"{layer}.{column} in 'import.column_synonyms.{layer}'",
                        fix="list each name under one column of the layer")


def check_schema_settings(section: Mapping[str, Any], source: str) -> None:
    """Value checks of the ``core`` settings that name layers and columns.

    ``[validation.plausible_maximum]``: known layers and columns that have a plausible
    maximum, numbers above the column's minimum; ``[import.column_synonyms]``: names
    are non-empty text, each standing for one column of its layer. Run by
    :meth:`beatgrid.gis.config.Config.load` on the ``core`` section.

    Examples
    --------
    >>> check_schema_settings({"validation": {"plausible_maximum": {
    ...     "cameras": {"direction": 400}}}}, "my.toml")
    Traceback (most recent call last):
    ...
    beatgrid.gis.errors.PolicyError: my.toml: 'validation.plausible_maximum.cameras.direction' has no plausible maximum (its bounds are hard, or it is not a number) Fix: give one of: range_m, height_m, focal_length_mm, sensor_width_mm, resolution_h_px
    """
    _check_plausible_maxima(section, source)
    _check_column_synonyms(section, source)


__all__ = ["MAX_NUMBER", "MAX_DEPTH", "MAX_SETTINGS_BYTES", "long_number_at", "shown",
           "check_depth", "is_plain_number", "check_numbers",
           "check_schema_settings"]
