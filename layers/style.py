"""The one shared map style of BeatGrid: colours and value-to-colour helpers.

Every BeatGrid map (grids, coverage, staffing...) takes its colours from here so
that a colour means the same thing on every map a planner or a leader sees:

* **severity** ``ok < low < medium < high < critical`` (green to red);
* **coverage quality** of a camera view, the DORI levels
  ``detect < observe < recognise < identify`` (light to dark blue), and
  ``blind`` (no camera sees the place: red, the thing to look for);
* **household band** of a basic grid: ``below`` the minimum, ``in_range``,
  ``above`` the maximum (blue, green, red).

Thresholds are never written here: every helper that turns a number into a
level takes its cut points as keyword arguments (they come from the settings
files of ``beatgrid.gis.config``). Helpers accept a scalar (and return a
``str``) or an array-like (and return a :class:`pandas.Series` aligned with a
Series input, a :class:`numpy.ndarray` of ``object`` otherwise). Missing values
(``None``, ``NaN``, ``pd.NA``: :func:`beatgrid.layers.values.is_missing`) give ``None``
as level and :data:`MISSING_COLOR` as colour.

Examples
--------
>>> from beatgrid.layers import style
>>> style.household_color(420, minimum=300, maximum=500)
'#1a9850'
>>> style.severity_for_value(0.35, thresholds=(0.1, 0.2, 0.3, 0.5))
'high'
>>> style.quality_color("blind")
'#e31a1c'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, TypeGuard, Union

import numpy as np
import pandas as pd

from beatgrid.gis.errors import InputError

from beatgrid.layers.values import is_missing

#: A value or an array-like of values (a Series, an array, a list) given to a helper.
Values = Any
#: What a helper returns: one value (``str`` or ``None``) for a scalar, a
#: :class:`pandas.Series` for a Series (same index), an ``object`` array otherwise.
Result = Union[str, None, pd.Series, np.ndarray]
#: Cut points: a sequence in level order, or a mapping ``{level: bound}``.
Thresholds = Union[Sequence[float], Mapping[str, float]]

#: Colour of a feature without a value (missing data), and of unknown levels.
MISSING_COLOR = "#9e9e9e"
#: Colour of a layer drawn in one colour when none is given.
DEFAULT_COLOR = "#3b6fb6"
#: Outline colour for context layers (boundaries, streets) drawn under the data.
CONTEXT_COLOR = "#555555"
#: Background of a map drawn without tiles.
BACKGROUND_COLOR = "#f4f3ef"

#: Severity levels, least to most severe.
SEVERITY_LEVELS: tuple[str, ...] = ("ok", "low", "medium", "high", "critical")
#: Severity level -> colour (ColorBrewer RdYlGn, reversed; medium darkened to read on white).
SEVERITY_COLORS: Mapping[str, str] = MappingProxyType({
    "ok": "#1a9641",
    "low": "#a6d96a",
    "medium": "#f4c542",
    "high": "#fd8d3c",
    "critical": "#d7191c",
})

#: Coverage quality levels, worst to best; ``blind`` means no camera sees the place.
QUALITY_LEVELS: tuple[str, ...] = ("blind", "detect", "observe", "recognise", "identify")
#: Coverage quality level -> colour (sequential blues, blind in red).
QUALITY_COLORS: Mapping[str, str] = MappingProxyType({
    "blind": "#e31a1c",
    "detect": "#c6dbef",
    "observe": "#6baed6",
    "recognise": "#2171b5",
    "identify": "#08306b",
})
_QUALITY_ALIASES = {"recognize": "recognise", "none": "blind"}

#: Household band of a grid relative to the [minimum, maximum] band.
HOUSEHOLD_BANDS: tuple[str, ...] = ("below", "in_range", "above")
#: Household band -> colour.
HOUSEHOLD_COLORS: Mapping[str, str] = MappingProxyType({
    "below": "#4575b4",
    "in_range": "#1a9850",
    "above": "#d73027",
})

#: Shades of the in-range colour, from the band's minimum to its maximum (light to dark).
IN_RANGE_SHADES: tuple[str, ...] = ("#c7e9c0", "#74c476", "#31a354", "#006d2c")

#: Qualitative palette for categories (one colour per beat, grid or station...).
CATEGORY_PALETTE: tuple[str, ...] = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)

_CSS_COLOR = re.compile(
    r"^(#[0-9a-fA-F]{3,4}|#[0-9a-fA-F]{6}|#[0-9a-fA-F]{8}|[a-zA-Z]{3,20}"
    r"|(rgb|rgba|hsl|hsla)\([0-9.,%\s/deg]+\))$"
)


def is_css_color(value: object) -> TypeGuard[str]:
    """True when ``value`` is a safe CSS colour: ``#rgb``/``#rrggbb``, a name, rgb()/hsl().

    Examples
    --------
    >>> is_css_color("#d7191c"), is_css_color("red"), is_css_color("red;x:1")
    (True, True, False)
    """
    return isinstance(value, str) and bool(_CSS_COLOR.match(value.strip()))


def check_color(value: object, *, what: str = "color") -> str:
    """Return ``value`` when it is a CSS colour (see :func:`is_css_color`), else raise.

    Raises
    ------
    InputError
        Naming ``what`` and the value.

    Examples
    --------
    >>> check_color("#ff0000")
    '#ff0000'
    """
    if not is_css_color(value):
        raise InputError(f"{what} {value!r} is not a CSS colour",
                         fix="use a hex colour such as '#d7191c' or a CSS colour name")
    return value.strip()


# -- scalar / vector plumbing ------------------------------------------------------------

def _apply(values: Values, fn: Callable[[Any], Any]) -> Result:
    """Apply scalar ``fn`` to a scalar or to every element of an array-like."""
    if isinstance(values, pd.Series):
        items = [fn(None if is_missing(v) else v) for v in values.to_numpy(dtype=object)]
        return pd.Series(items, index=values.index, dtype=object, name=values.name)
    if isinstance(values, (str, bytes)) or np.ndim(values) == 0:
        return fn(None if is_missing(values) else values)
    arr = np.asarray(values, dtype=object)
    out = np.empty(arr.shape, dtype=object)
    for i, v in np.ndenumerate(arr):
        out[i] = fn(None if is_missing(v) else v)
    return out


def _number(v: Any, *, what: str) -> float:
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise InputError(f"{what} value {v!r} is not a number",
                         fix="pass numbers (or None for a missing value)") from None
    return x


def _cut_points(thresholds: Thresholds, levels: Sequence[str], *, what: str,
                descending: bool = False) -> list[float]:
    """The cut points between ``levels`` from a sequence or a mapping, in level order.

    A mapping names the bound of each level but the first (``{"low": 0.1, ...}``); a
    sequence gives those bounds in the order of ``levels[1:]``. They must ascend (or
    descend when ``descending``).
    """
    upper = list(levels[1:])
    if isinstance(thresholds, Mapping):
        unknown = set(thresholds) - set(upper)
        missing = [lv for lv in upper if lv not in thresholds]
        if unknown or missing:
            raise InputError(
                f"{what} thresholds {dict(thresholds)!r} must name exactly {upper}",
                fix=f"give the bound of each of {upper}")
        cuts = [thresholds[lv] for lv in upper]
    elif isinstance(thresholds, (str, bytes)) or np.ndim(thresholds) != 1:
        raise InputError(f"{what} thresholds {thresholds!r} are not a sequence or mapping",
                         fix=f"pass {len(upper)} numbers, the bounds of {upper}")
    else:
        cuts = list(thresholds)
        if len(cuts) != len(upper):
            raise InputError(
                f"{what} thresholds {cuts!r} must have {len(upper)} values (the bounds of "
                f"{upper})", fix=f"pass {len(upper)} numbers")
    cuts = [_number(c, what=f"{what} threshold") for c in cuts]
    pairs = list(zip(cuts, cuts[1:]))
    wrong = any(a < b for a, b in pairs) if descending else any(b < a for a, b in pairs)
    if wrong or any(np.isnan(c) for c in cuts):
        order = "descending" if descending else "ascending"
        raise InputError(f"{what} thresholds {cuts!r} are not {order} in the order {upper}",
                         fix=f"list the bounds of {upper} in {order} order")
    return cuts


# -- severity ----------------------------------------------------------------------------

def severity_color(level: Values) -> Result:
    """Colour of a severity level (``ok``, ``low``, ``medium``, ``high``, ``critical``).

    Parameters
    ----------
    level
        A level name or an array-like of names; ``None`` gives :data:`MISSING_COLOR`.

    Raises
    ------
    InputError
        When a level is not one of :data:`SEVERITY_LEVELS`.

    Examples
    --------
    >>> severity_color("critical")
    '#d7191c'
    >>> list(severity_color(["ok", None]))
    ['#1a9641', '#9e9e9e']
    """
    def one(v):
        if v is None:
            return MISSING_COLOR
        if v not in SEVERITY_COLORS:
            raise InputError(f"unknown severity level {v!r}",
                             fix="use one of: " + ", ".join(SEVERITY_LEVELS))
        return SEVERITY_COLORS[v]
    return _apply(level, one)


def severity_for_value(value: Values, *, thresholds: Thresholds,
                       higher_is_worse: bool = True) -> Result:
    """Severity level of a number, from the bounds of the four levels above ``ok``.

    Parameters
    ----------
    value
        A number or an array-like of numbers.
    thresholds
        The bound of ``low``, ``medium``, ``high`` and ``critical``: a sequence of four
        numbers in that order, or a mapping ``{"low": .., "medium": .., "high": ..,
        "critical": ..}``. A level applies from its bound on, in the worse direction.
    higher_is_worse
        True (default): the bounds are lower bounds and ascend; a value below the
        ``low`` bound is ``ok`` and a value equal to a bound takes that bound's level.
        False (e.g. a share of households covered): the bounds are upper bounds
        (exclusive) and descend; a value at or above the ``low`` bound is ``ok``.

    Raises
    ------
    InputError
        When the thresholds are not four numbers in the right order, or a value is
        not a number.

    Examples
    --------
    >>> severity_for_value(0.05, thresholds=(0.1, 0.2, 0.3, 0.5))
    'ok'
    >>> severity_for_value(0.5, thresholds=(0.1, 0.2, 0.3, 0.5))
    'critical'
    >>> cover = {"low": 0.9, "medium": 0.8, "high": 0.7, "critical": 0.5}
    >>> severity_for_value(0.75, thresholds=cover, higher_is_worse=False)
    'medium'
    """
    cuts = np.asarray(_cut_points(thresholds, SEVERITY_LEVELS, what="severity",
                                  descending=not higher_is_worse))

    def one(v):
        if v is None:
            return None
        x = _number(v, what="severity")
        if np.isnan(x):
            return None
        worse = np.count_nonzero(x >= cuts) if higher_is_worse else np.count_nonzero(x < cuts)
        return SEVERITY_LEVELS[int(worse)]
    return _apply(value, one)


def severity_value_color(value: Values, *, thresholds: Thresholds,
                         higher_is_worse: bool = True) -> Result:
    """Colour of a number through :func:`severity_for_value` (same arguments).

    Examples
    --------
    >>> severity_value_color(0.25, thresholds=(0.1, 0.2, 0.3, 0.5))
    '#f4c542'
    """
    return severity_color(severity_for_value(value, thresholds=thresholds,
                                             higher_is_worse=higher_is_worse))


# -- coverage quality --------------------------------------------------------------------

def _quality_level(v: Any) -> str | None:
    if v is None:
        return None
    key = str(v).lower()
    key = _QUALITY_ALIASES.get(key, key)
    if key not in QUALITY_COLORS:
        raise InputError(f"unknown coverage quality level {v!r}",
                         fix="use one of: " + ", ".join(QUALITY_LEVELS))
    return key


def quality_color(level: Values) -> Result:
    """Colour of a coverage quality level (``blind``, ``detect`` .. ``identify``).

    ``recognize`` is accepted for ``recognise``.

    Examples
    --------
    >>> quality_color("identify")
    '#08306b'
    >>> quality_color(None)
    '#9e9e9e'
    """
    def one(v):
        key = _quality_level(v)
        return MISSING_COLOR if key is None else QUALITY_COLORS[key]
    return _apply(level, one)


def quality_for_density(pixels_per_metre: Values, *, thresholds: Thresholds) -> Result:
    """DORI coverage quality level from the pixel density on target.

    Parameters
    ----------
    pixels_per_metre
        Horizontal pixels per metre at the place (a number or an array-like); 0 or
        a value below the ``detect`` bound is ``blind``.
    thresholds
        Lower bounds of ``detect``, ``observe``, ``recognise`` and ``identify`` in
        pixels per metre (sequence or mapping), e.g. the EN 62676-4 values from the
        settings file.

    Examples
    --------
    >>> dori = {"detect": 25, "observe": 62, "recognise": 125, "identify": 250}
    >>> quality_for_density(130, thresholds=dori)
    'recognise'
    >>> quality_for_density(3, thresholds=dori)
    'blind'
    """
    cuts = _cut_points(thresholds, QUALITY_LEVELS, what="coverage quality")

    def one(v):
        if v is None:
            return None
        x = _number(v, what="pixel density")
        if np.isnan(x):
            return None
        return QUALITY_LEVELS[int(np.searchsorted(cuts, x, side="right"))]
    return _apply(pixels_per_metre, one)


# -- household band ----------------------------------------------------------------------

def _check_band(minimum: float, maximum: float) -> tuple[float, float]:
    lo = _number(minimum, what="household band minimum")
    hi = _number(maximum, what="household band maximum")
    if not lo <= hi:
        raise InputError(f"household band minimum {minimum!r} is above maximum {maximum!r}",
                         fix="pass minimum <= maximum (e.g. 300 and 500)")
    return lo, hi


def household_band(households: Values, *, minimum: float, maximum: float) -> Result:
    """Band of a household count: ``below``, ``in_range`` or ``above``.

    Parameters
    ----------
    households
        Households of a grid (a number or an array-like).
    minimum, maximum
        The band (inclusive on both ends), e.g. 300 and 500 from the settings.

    Examples
    --------
    >>> household_band(299, minimum=300, maximum=500)
    'below'
    >>> list(household_band([300, 500, 501], minimum=300, maximum=500))
    ['in_range', 'in_range', 'above']
    """
    lo, hi = _check_band(minimum, maximum)

    def one(v):
        if v is None:
            return None
        x = _number(v, what="households")
        if np.isnan(x):
            return None
        return "below" if x < lo else "above" if x > hi else "in_range"
    return _apply(households, one)


def household_band_color(band: Values) -> Result:
    """Colour of a household band name (``below``, ``in_range``, ``above``).

    Examples
    --------
    >>> household_band_color("above")
    '#d73027'
    """
    def one(v):
        if v is None:
            return MISSING_COLOR
        if v not in HOUSEHOLD_COLORS:
            raise InputError(f"unknown household band {v!r}",
                             fix="use one of: " + ", ".join(HOUSEHOLD_BANDS))
        return HOUSEHOLD_COLORS[v]
    return _apply(band, one)


def household_color(households: Values, *, minimum: float, maximum: float) -> Result:
    """Colour of a household count within the band [``minimum``, ``maximum``].

    Examples
    --------
    >>> household_color(520, minimum=300, maximum=500)
    '#d73027'
    """
    return household_band_color(household_band(households, minimum=minimum, maximum=maximum))


def household_shade(households: Values, *, minimum: float, maximum: float,
                    shades: Sequence[str] = IN_RANGE_SHADES) -> Result:
    """Like :func:`household_color`, with in-range counts shaded from light to dark.

    The band [``minimum``, ``maximum``] is cut into ``len(shades)`` equal steps so a
    map shows where a grid sits inside the band, not only whether it is in it.

    Examples
    --------
    >>> list(household_shade([310, 490, 520], minimum=300, maximum=500))
    ['#c7e9c0', '#006d2c', '#d73027']
    """
    lo, hi = _check_band(minimum, maximum)

    def one(v):
        if is_missing(v):
            return MISSING_COLOR
        v = float(v)
        if v < lo:
            return HOUSEHOLD_COLORS["below"]
        if v > hi:
            return HOUSEHOLD_COLORS["above"]
        step = (hi - lo) / len(shades) if hi > lo else 1.0
        return shades[min(int((v - lo) / step), len(shades) - 1)]

    return _apply(households, one)


def household_shade_legend(*, minimum: float, maximum: float,
                           shades: Sequence[str] = IN_RANGE_SHADES) -> list[tuple[str, str]]:
    """Legend items for :func:`household_shade`: below, each in-range step, above.

    Examples
    --------
    >>> [label for label, _ in household_shade_legend(minimum=300, maximum=500)]
    ['below 300', '300-350', '350-400', '400-450', '450-500', 'above 500']
    """
    lo, hi = _check_band(minimum, maximum)
    step = (hi - lo) / len(shades)
    items = [(f"below {lo:g}", HOUSEHOLD_COLORS["below"])]
    items += [(f"{lo + i * step:g}-{lo + (i + 1) * step:g}", c) for i, c in enumerate(shades)]
    items.append((f"above {hi:g}", HOUSEHOLD_COLORS["above"]))
    return items


# -- categories --------------------------------------------------------------------------

def category_colors(values: Iterable[Any], *,
                    palette: Sequence[str] = CATEGORY_PALETTE) -> dict[Any, str]:
    """A stable colour for each distinct value (sorted as text), cycling ``palette``.

    Use it to tell beats, grids or stations apart; the same set of values always gets
    the same colours.

    Examples
    --------
    >>> category_colors(["b2", "b1", "b2"])
    {'b1': '#1f77b4', 'b2': '#ff7f0e'}
    """
    palette = [check_color(c, what="palette colour") for c in palette]
    if not palette:
        raise InputError("palette is empty", fix="pass at least one colour")
    distinct = sorted({v for v in values if not is_missing(v)}, key=str)
    return {v: palette[i % len(palette)] for i, v in enumerate(distinct)}


# -- legends -----------------------------------------------------------------------------

def _labelled(levels: Sequence[str], colors: Mapping[str, str],
              labels: Mapping[str, str] | None) -> list[tuple[str, str]]:
    labels = dict(labels or {})
    return [(str(labels.get(lv, lv.replace("_", " "))), colors[lv]) for lv in levels]


def severity_legend(*, labels: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """Legend items ``(label, colour)`` for severity, least severe first.

    Examples
    --------
    >>> severity_legend(labels={"ok": "no issue"})[0]
    ('no issue', '#1a9641')
    """
    return _labelled(SEVERITY_LEVELS, SEVERITY_COLORS, labels)


def quality_legend(*, labels: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """Legend items for coverage quality, best (identify) first, blind last.

    Examples
    --------
    >>> quality_legend()[-1]
    ('blind', '#e31a1c')
    """
    order = ("identify", "recognise", "observe", "detect", "blind")
    return _labelled(order, QUALITY_COLORS, labels)


def household_legend(*, minimum: float, maximum: float,
                     labels: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """Legend items for household bands, with the band numbers in the labels.

    Examples
    --------
    >>> household_legend(minimum=300, maximum=500)[1]
    ('300-500 households', '#1a9850')
    """
    lo, hi = _check_band(minimum, maximum)
    fmt = lambda x: f"{x:g}"  # noqa: E731
    default = {
        "below": f"below {fmt(lo)} households",
        "in_range": f"{fmt(lo)}-{fmt(hi)} households",
        "above": f"above {fmt(hi)} households",
    }
    default.update(labels or {})
    return _labelled(HOUSEHOLD_BANDS, HOUSEHOLD_COLORS, default)
