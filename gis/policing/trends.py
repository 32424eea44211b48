"""Incident trends: incidents per beat, this period against the previous one or last year.

:func:`period_windows` picks the current and comparison windows (环比: the period
just before; 同比: the same window a year before) and :func:`period_change` counts
the incidents of each beat in both, e.g. preventable cases down 10.7% (28 -> 25).
Part of the hotspot analysis (:func:`beatgrid.gis.policing.hotspots.hotspots_project`,
``project.policing.hotspots()``); the defaults are ``hotspots.period_days`` and
``hotspots.compare`` of the ``policing`` settings.

Examples
--------
>>> from beatgrid.gis import Project
>>> from beatgrid.gis.policing.location import incident_beats
>>> project = Project.open("sample-geodata/ningbo-jiangbei.gpkg")
>>> incidents = project.layer("incidents")
>>> change = period_change(incidents, incident_beats(incidents, project.layer("beats")))
>>> list(change.columns) == CHANGE_COLUMNS, change["beat_id"].iloc[-1]
(True, '(all)')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from beatgrid.gis.config import section_or_default
from beatgrid.gis.errors import InputError
from beatgrid.gis.policing.location import natural_key

#: Columns of :func:`period_change`.
CHANGE_COLUMNS = ["beat_id", "previous", "current", "change", "pct_change", "trend"]



def period_windows(times: Any, *, period_days: int = 0, compare: str = "previous",
                   end: Any = None) -> tuple[tuple[pd.Timestamp, pd.Timestamp],
                                             tuple[pd.Timestamp, pd.Timestamp]]:
    """The current and comparison windows ``((start, end), (start, end))``, end exclusive.

    The current period ends at the end of the day of ``end`` (default: of the last
    incident) and lasts ``period_days`` (0: half the span of ``times`` for
    ``"previous"``, the span minus 365 days, at most 365, for ``"year"``). The
    comparison period is the one just before (``"previous"``, 环比) or the same
    window a year before (``"year"``, 同比).

    Examples
    --------
    >>> t = pd.to_datetime(["2023-01-01", "2023-12-31"])
    >>> cur, prev = period_windows(t, period_days=0)
    >>> str(cur[0].date()), str(cur[1].date()), str(prev[0].date())
    ('2023-07-03', '2024-01-01', '2023-01-02')
    """
    t = pd.to_datetime(pd.Series(times), errors="coerce").dropna()
    if t.empty:
        raise InputError("the incidents have no occurred_at: no period can be compared",
                         fix="import incidents with their date and time")
    stop = (pd.Timestamp(end) if end is not None else t.max()).normalize() + pd.Timedelta(days=1)
    span = int((stop - t.min().normalize()).days)
    if compare not in ("previous", "year"):
        raise InputError(f"unknown comparison {compare!r}", fix="use 'previous' or 'year'")
    days = int(period_days)
    if days < 0:
        raise InputError(f"period_days {period_days!r} must be >= 0",
                         fix="give the days of each compared period, or 0 for half the span "
                             "of the incidents")
    if days == 0:
        days = span // 2 if compare == "previous" else min(span - 365, 365)
        if days < 1:
            raise InputError(f"the incidents cover {span} day(s): too short for a "
                             f"{'year-on-year' if compare == 'year' else 'period'} comparison",
                             fix="give period_days or import a longer incident history")
    start = stop - pd.Timedelta(days=days)
    if compare == "previous":
        prev = (start - pd.Timedelta(days=days), start)
    else:
        prev = (start - pd.DateOffset(years=1), stop - pd.DateOffset(years=1))
    return (start, stop), prev


def period_change(incidents: pd.DataFrame, beat_of_incident: Any, *,
                  beat_ids: Sequence[Any] | None = None, period_days: int | None = None,
                  compare: str | None = None, end: Any = None, preventable_only: bool = False,
                  categories: Sequence[str] | None = None,
                  settings: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Incidents per beat, current period against the comparison period.

    Parameters
    ----------
    incidents
        The ``incidents`` layer (``occurred_at``, ``category``, ``preventable``).
    beat_of_incident
        Beat id of each incident (aligned with ``incidents``).
    beat_ids
        Beats to list (default those with incidents, in the natural order of their ids).
    period_days, compare
        Override ``hotspots.period_days`` and ``hotspots.compare``
        (:func:`period_windows`).
    end
        Last day of the current period (default: the last incident's day).
    preventable_only
        Count preventable cases (可防性案件) only.
    categories
        Count these categories only.
    settings
        The ``policing`` settings (``[hotspots]``); default the shipped ones.

    Returns
    -------
    DataFrame
        :data:`CHANGE_COLUMNS`, one row per beat and a last row ``(all)``;
        ``pct_change`` is ``100 x (current - previous) / previous`` rounded to 0.1
        (NaN when previous is 0); ``trend`` is ``down``, ``up``, ``flat`` or
        ``new``. ``attrs`` holds the windows (``current``, ``previous``).

    Examples
    --------
    >>> t = pd.to_datetime(["2023-02-01"] * 28 + ["2023-08-01"] * 25)
    >>> inc = pd.DataFrame({"occurred_at": t, "preventable": True})
    >>> r = period_change(inc, ["b1"] * 53, period_days=181, end="2023-12-31")
    >>> print(r.to_string(index=False))
    beat_id  previous  current  change  pct_change trend
         b1        28       25      -3       -10.7  down
      (all)        28       25      -3       -10.7  down
    """
    hs = section_or_default(settings, "policing")["hotspots"]
    days = hs["period_days"] if period_days is None else period_days
    how = hs["compare"] if compare is None else compare
    times = pd.to_datetime(incidents["occurred_at"], errors="coerce") \
        if "occurred_at" in incidents else pd.Series(pd.NaT, index=incidents.index)
    cur, prev = period_windows(times, period_days=days, compare=how, end=end)
    beats = pd.Series(np.asarray(beat_of_incident, dtype=object), index=incidents.index)
    keep = beats.notna()
    if preventable_only:
        keep &= incidents["preventable"].fillna(False).astype(bool)
    if categories is not None:
        keep &= incidents["category"].isin(list(categories))
    in_cur = keep & (times >= cur[0]) & (times < cur[1])
    in_prev = keep & (times >= prev[0]) & (times < prev[1])
    ids = pd.Index([str(b) for b in (beat_ids if beat_ids is not None
                                     else sorted(pd.unique(beats[keep].astype(str)),
                                                 key=natural_key))])
    c = beats[in_cur].astype(str).value_counts()
    p = beats[in_prev].astype(str).value_counts()
    out = pd.DataFrame({"beat_id": ids, "previous": ids.map(p).fillna(0).astype(int),
                        "current": ids.map(c).fillna(0).astype(int)})
    total = pd.DataFrame({"beat_id": ["(all)"], "previous": [int(in_prev.sum())],
                          "current": [int(in_cur.sum())]})
    out = pd.concat([out, total], ignore_index=True)
    out["change"] = out["current"] - out["previous"]
    prev_n = out["previous"].astype(float)
    out["pct_change"] = (100 * out["change"] / prev_n.where(prev_n > 0)).round(1)
    out["trend"] = np.select(
        [out["previous"].eq(0) & out["current"].gt(0), out["change"] < 0, out["change"] > 0],
        ["new", "down", "up"], "flat")
    out.attrs.update({"current": cur, "previous": prev, "compare": how,
                      "preventable_only": preventable_only})
    return out[CHANGE_COLUMNS]


__all__ = ["CHANGE_COLUMNS", "period_windows", "period_change"]
