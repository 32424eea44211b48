"""Checks every settings value gets, whatever its section: plain numbers, depth, short quotes.

A settings file or mapping comes from a user (``--settings``, ``--policy``, the body of
``POST /staffing``) and may hold anything TOML or JSON can: a 400-digit number, ``nan``,
tables nested thousands deep. :func:`~beatgrid.gis.config.merge_checked` refuses
those with a :class:`~beatgrid.gis.errors.PolicyError` before any computation sees
them, using the checks here; every message quotes values with :func:`shown`, which
never fails and stays short.

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


__all__ = ["MAX_NUMBER", "MAX_DEPTH", "MAX_SETTINGS_BYTES", "long_number_at", "shown",
           "check_depth", "is_plain_number", "check_numbers"]
