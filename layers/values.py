"""Table cells made ready for a map: the missing-value test and JSON-plain values.

A map embeds its layers as GeoJSON, so every cell of a frame must become a value
``json.dumps`` accepts and a browser reads the same way: numpy scalars become Python
ones, missing values and non-finite numbers become ``None`` (``null``), dates become
ISO 8601 text. :func:`is_missing` is also the test the colour helpers of
:mod:`beatgrid.layers.style` use for "no value".

Examples
--------
>>> import numpy as np, pandas as pd
>>> from beatgrid.layers.values import is_missing, json_value
>>> [is_missing(v) for v in (None, float("nan"), pd.NA, 0, "")]
[True, True, True, False, False]
>>> [json_value(v) for v in (np.int64(3), np.float64("inf"), pd.Timestamp("2024-05-06"))]
[3, None, '2024-05-06T00:00:00']
"""

from __future__ import annotations

import math
from typing import Union

import numpy as np
import pandas as pd

__all__ = ["JSONScalar", "is_missing", "json_value"]

#: What :func:`json_value` returns: a value :func:`json.dumps` writes as is.
JSONScalar = Union[None, bool, int, float, str]


def is_missing(value: object) -> bool:
    """True for a missing value: ``None``, a float ``NaN``, ``pd.NA`` or ``pd.NaT``.

    Parameters
    ----------
    value
        One cell (a scalar, not an array).

    Returns
    -------
    bool
        Whether the cell has no value. ``0``, ``""`` and ``False`` are values.

    Examples
    --------
    >>> is_missing(None), is_missing(float("nan")), is_missing(pd.NaT), is_missing(0.0)
    (True, True, True, False)
    """
    return (value is None or (isinstance(value, float) and bool(np.isnan(value)))
            or value is pd.NA or value is pd.NaT)


def json_value(value: object) -> JSONScalar:
    """One cell as a JSON-plain Python value (the same in every map and every answer).

    Parameters
    ----------
    value
        One cell of a frame (a scalar, typically from ``Series.to_numpy(dtype=object)``).

    Returns
    -------
    None, bool, int, float or str
        ``None`` for a missing value (see :func:`is_missing`) and for an infinite or
        NaN number; a Python ``bool``/``int``/``float`` for a Python or numpy one;
        ISO 8601 text for a :class:`pandas.Timestamp` or :class:`numpy.datetime64`;
        text unchanged; ``str(value)`` for anything else. Text is not escaped: a
        caller that shows it as HTML escapes it (as
        :func:`beatgrid.layers.geojson_layer.add_layer` does for tooltips).

    Examples
    --------
    >>> json_value(np.float32(1.5)), json_value(np.bool_(True)), json_value(float("nan"))
    (1.5, True, None)
    >>> json_value(np.datetime64("2024-01-02T03:04")), json_value("<b>")
    ('2024-01-02T03:04:00', '<b>')
    """
    if is_missing(value):
        return None
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        return pd.Timestamp(value).isoformat()
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return str(value)
