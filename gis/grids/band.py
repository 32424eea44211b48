"""The household band of a basic grid and the grid counts it allows.

A grid holds from ``band.min_households`` to ``band.max_households`` households (300
to 500 by default); the generator aims at ``band.target_households``. A community of
``H`` households can be split into ``k`` grids when ``ceil(H / max) <= k <= floor(H /
min)`` (:func:`grid_counts`); when no count fits, :func:`closest_count` gives the one
with the smallest deviation.

Examples
--------
>>> band = band_from_settings()
>>> band
Band(lo=300, hi=500, target=400.0)
>>> grid_counts(1700, band), closest_count(550, band)
([4, 5], 2)
>>> band.contains([250, 400]).tolist()
[False, True]
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from beatgrid.gis.config import section_or_default
from beatgrid.gis.errors import InputError


@dataclass(frozen=True)
class Band:
    """The household band of one grid and the size aimed at.

    Attributes
    ----------
    lo, hi
        Fewest and most households of a grid.
    target
        Households aimed at when choosing the number of grids.

    Examples
    --------
    >>> Band(300, 500, 400.0).hi
    500
    """

    lo: int
    hi: int
    target: float

    def contains(self, households: ArrayLike) -> np.ndarray:
        """Whether each figure lies in ``[lo, hi]``.

        Examples
        --------
        >>> bool(Band(300, 500, 400).contains(500))
        True
        """
        h = np.asarray(households)
        result: np.ndarray = (h >= self.lo) & (h <= self.hi)
        return result

    def as_dict(self) -> dict[str, float]:
        """``{"min", "max", "target"}`` (as answered by the service).

        Examples
        --------
        >>> Band(300, 500, 400.0).as_dict()
        {'min': 300, 'max': 500, 'target': 400.0}
        """
        return {"min": self.lo, "max": self.hi, "target": self.target}


def band_from_settings(settings: Mapping[str, Any] | None = None, *,
                       min_households: int | None = None, max_households: int | None = None,
                       target_households: float | None = None) -> Band:
    """The :class:`Band` of the grid settings, with optional overrides; checked.

    Parameters
    ----------
    settings
        The ``grids`` settings section (the shipped one when None).
    min_households, max_households, target_households
        Overrides of ``band.*``; a target outside the band becomes its middle.

    Raises
    ------
    InputError
        ``min`` below 1 or above ``max``.

    Examples
    --------
    >>> band_from_settings(min_households=320, max_households=480)
    Band(lo=320, hi=480, target=400.0)
    >>> band_from_settings(min_households=200, max_households=300)
    Band(lo=200, hi=300, target=250.0)
    >>> band_from_settings(min_households=600, max_households=500)
    Traceback (most recent call last):
    ...
    beatgrid.gis.errors.InputError: household band [600, 500] is not valid Fix: give 1 <= --min <= --max (e.g. --min 300 --max 500)
    """
    b = section_or_default(settings, "grids")["band"]
    lo = b["min_households"] if min_households is None else min_households
    hi = b["max_households"] if max_households is None else max_households
    target = b["target_households"] if target_households is None else target_households
    if lo is None or hi is None or lo < 1 or hi < lo:
        raise InputError(f"household band [{lo}, {hi}] is not valid",
                         fix="give 1 <= --min <= --max (e.g. --min 300 --max 500)")
    if not lo <= target <= hi:
        target = (lo + hi) / 2
    return Band(int(lo), int(hi), float(target))


def grid_counts(households: float, band: Band) -> list[int]:
    """Feasible grid counts for a total, best (closest to ``households / target``) first.

    Examples
    --------
    >>> b = Band(300, 500, 400)
    >>> grid_counts(1700, b), grid_counts(550, b), grid_counts(250, b)
    ([4, 5], [], [])
    """
    kmin, kmax = math.ceil(households / band.hi), math.floor(households / band.lo)
    ks = [k for k in range(max(kmin, 1), kmax + 1)]
    return sorted(ks, key=lambda k: (abs(k - households / band.target), k))


def splits_into_band(total: float, lo: float, hi: float) -> bool:
    """Whether ``total`` households can be split into whole grids of ``lo`` to ``hi``.

    True when some whole number ``k >= 1`` has ``k lo <= total <= k hi`` (within 1e-9,
    for sums of floats); with ``lo <= 0`` any total fits a positive ``hi``. The test the
    grid engines apply to every piece a partial plan leaves over.

    Examples
    --------
    >>> splits_into_band(700, 300, 500), splits_into_band(550, 300, 500)
    (True, False)
    >>> splits_into_band(290, 300, 500), splits_into_band(1000, 300, 500)
    (False, True)
    """
    if lo <= 0:
        return hi > 0
    k = int(total // lo)
    return k >= 1 and k * hi >= total - 1e-9


def closest_count(households: float, band: Band) -> int:
    """The grid count with the smallest deviation from the band (when none fits).

    Examples
    --------
    >>> closest_count(550, Band(300, 500, 400)), closest_count(520, Band(300, 500, 400))
    (2, 1)
    """
    best, best_dev = 1, math.inf
    for k in {max(1, math.floor(households / band.hi)), max(1, math.ceil(households / band.hi)),
              max(1, math.floor(households / band.lo)), max(1, math.ceil(households / band.lo))}:
        avg = households / k
        dev = max(0.0, band.lo - avg, avg - band.hi)
        if dev < best_dev - 1e-9 or (abs(dev - best_dev) < 1e-9 and k < best):
            best, best_dev = k, dev
    return best
