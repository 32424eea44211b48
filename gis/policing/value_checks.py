"""Value checks of the policing sections: ranges, allowed words, category tables.

The structure of a settings file (known keys, value types) is checked by
:func:`beatgrid.gis.config.merge_checked`; the staffing policy
(:mod:`beatgrid.gis.policing.policy`) and the policing method settings
(:mod:`beatgrid.gis.policing.settings`) then check every value with
:func:`check_values`, against a table of ``dotted key -> (kind, argument)``:

============== ===================================================================
kind           the value must be
============== ===================================================================
``ge``, ``gt`` a finite number ``>= argument`` (``> argument``), at most 2**53 in size
``share``      a number in (0, 1]
``in``         one of the words or numbers listed in the argument
``bool``       true or false
``subset``     a list of values drawn from the argument
``categories`` a table giving a number ``>= 0`` for every category of the argument
============== ===================================================================

Every :class:`~beatgrid.gis.errors.PolicyError` names the key, the value (quoted short:
a 400-digit number as ``<a 400-digit number>``) and the fix; no value, however odd
(``nan``, ``inf``, a huge integer, a nested table), raises anything else.

Examples
--------
>>> checks = {"band.min": ("gt", 0), "band.mode": ("in", ("strict", "loose"))}
>>> defaults = {"band": {"min": 300, "mode": "strict"}}
>>> check_values({"band": {"min": 320, "mode": "strict"}}, checks, source="demo",
...              defaults=defaults, template="grids.toml")
>>> check_values({"band": {"min": 0, "mode": "strict"}}, checks, source="demo",
...              defaults=defaults, template="grids.toml")
Traceback (most recent call last):
...
beatgrid.gis.errors.PolicyError: demo: 'band.min' has value 0: it must be > 0 Fix: give 'band.min' a number > 0 (default 300)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, NoReturn

from beatgrid.gis.config_checks import is_plain_number, shown
from beatgrid.gis.errors import PolicyError

#: A value check: ``(kind, argument)`` (see the module docstring).
Check = tuple[str, Any]


def flatten(table: Mapping[str, Any], checks: Mapping[str, Check],
            prefix: str = "") -> Iterator[tuple[str, Any]]:
    """``(dotted key, value)`` of every leaf; a table named in ``checks`` is one leaf.

    Examples
    --------
    >>> list(flatten({"a": {"b": 1, "c": {"x": 2}}}, {"a.c": ("categories", ("x",))}))
    [('a.b', 1), ('a.c', {'x': 2})]
    """
    for key, value in table.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and dotted not in checks:
            yield from flatten(value, checks, f"{dotted}.")
        else:
            yield dotted, value


def is_number(value: Any) -> bool:
    """Whether ``value`` is a finite int or float at most 2**53 in size (a bool is not).

    Examples
    --------
    >>> is_number(3), is_number(1.5), is_number(True), is_number(float("inf")), is_number("1")
    (True, True, False, False, False)
    >>> is_number(10**400)
    False
    """
    return is_plain_number(value)


def default_of(defaults: Mapping[str, Any], key: str) -> Any:
    """The value of dotted ``key`` in ``defaults`` (None when absent).

    Examples
    --------
    >>> default_of({"a": {"b": 1.5}}, "a.b"), default_of({"a": {}}, "a.z")
    (1.5, None)
    """
    node: Any = defaults
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def check_values(table: Mapping[str, Any], checks: Mapping[str, Check], *, source: str,
                 defaults: Mapping[str, Any], template: str) -> None:
    """Check every key of a merged section; raise :class:`PolicyError` on the first bad one.

    Parameters
    ----------
    table
        The merged section (every key present).
    checks
        ``dotted key -> (kind, argument)`` for every leaf.
    source
        The file or mapping the values came from (named in the message).
    defaults
        The shipped section (its values are quoted in the fixes).
    template
        The shipped file to start from (quoted when a key is missing).

    Examples
    --------
    >>> check_values({"a": 1}, {"a": ("ge", 0), "b": ("bool", None)}, source="demo",
    ...              defaults={"a": 1, "b": True}, template="x.toml")
    Traceback (most recent call last):
    ...
    beatgrid.gis.errors.PolicyError: demo: key 'b' is missing Fix: start from x.toml and override keys, never remove them
    """
    flat = dict(flatten(table, checks))
    missing = [k for k in checks if k not in flat]
    if missing:
        raise PolicyError(f"{source}: key {missing[0]!r} is missing",
                          fix=f"start from {template} and override keys, never remove them")
    for key, value in flat.items():
        if key not in checks:
            raise PolicyError(f"{source}: unknown key {key!r} (value {shown(value)})",
                              fix="remove it; see docs/staffing.md for the keys")
        kind, arg = checks[key]
        check_value(source, key, value, kind, arg, default=default_of(defaults, key))


def check_value(source: str, key: str, value: Any, kind: str, arg: Any, *,
                default: Any = None) -> None:
    """Check one value against ``(kind, arg)`` (see the module docstring).

    Examples
    --------
    >>> check_value("demo", "w.share", 1.5, "share", None, default=0.6)
    Traceback (most recent call last):
    ...
    beatgrid.gis.errors.PolicyError: demo: 'w.share' has value 1.5: it must be a share in (0, 1] Fix: give 'w.share' a share such as 0.6 (0 < value <= 1)
    """

    def fail(why: str, fix: str) -> NoReturn:
        raise PolicyError(f"{source}: {key!r} has value {shown(value)}: {why}", fix=fix)

    if kind in ("ge", "gt", "share") and not is_number(value):
        too_large = isinstance(value, int) and not isinstance(value, bool)
        fail("it is too large (at most 2**53 in size)" if too_large
             else "it must be a finite number", f"give {key!r} a number (default {shown(default)})")
    if kind == "ge" and value < arg:
        fail(f"it must be >= {arg}",
             f"give {key!r} a number >= {arg} (default {shown(default)})")
    elif kind == "gt" and value <= arg:
        fail(f"it must be > {arg}", f"give {key!r} a number > {arg} (default {shown(default)})")
    elif kind == "share" and not 0 < value <= 1:
        fail("it must be a share in (0, 1]",
             f"give {key!r} a share such as {shown(default)} (0 < value <= 1)")
    elif kind == "in" and (isinstance(value, bool) or value not in arg):
        fail("it is not allowed", "use one of: " + ", ".join(map(repr, arg)))
    elif kind == "bool" and not isinstance(value, bool):
        fail("it must be true or false", f"write {key} = true or false")
    elif kind == "subset":
        if not isinstance(value, (list, tuple)) or any(v not in arg for v in value):
            fail("it must list values from " + ", ".join(arg),
                 f"write {key} = [...] with values among: " + ", ".join(map(repr, arg)))
    elif kind == "categories":
        _check_categories(source, key, value, arg)


def _check_categories(source: str, key: str, value: Any, categories: tuple[str, ...]) -> None:
    if not isinstance(value, Mapping):
        raise PolicyError(f"{source}: {key!r} has value {shown(value)}: it must be a table of "
                          "incident category -> number",
                          fix=f"write it as [{key}] with one line per category")
    for cat, number in value.items():
        if cat not in categories:
            raise PolicyError(f"{source}: unknown key '{key}.{cat}' (value {shown(number)})",
                              fix="use the incident categories: " + ", ".join(categories))
        if not is_number(number) or number < 0:
            raise PolicyError(f"{source}: '{key}.{cat}' has value {shown(number)}: it must "
                              "be a number >= 0",
                              fix=f"give '{key}.{cat}' a number of hours or officers >= 0")
    absent = [c for c in categories if c not in value]
    if absent:
        raise PolicyError(f"{source}: {key!r} lacks the categories {absent}",
                          fix="give a value for every incident category")


__all__ = ["Check", "flatten", "is_number", "default_of", "check_values", "check_value"]
