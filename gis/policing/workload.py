"""Workload-based officer requirement (IACP / Wilson and Weiss), beside the ratio rules.

The ratio rules of :mod:`beatgrid.gis.policing.staffing` look at population; this model
looks at the work. For each beat:

1. **Committed hours per week** ``C = sum_c n_c / weeks x t_c x u_c``: incidents of
   category ``c`` in the period, divided by the weeks of the period, times the
   handling hours ``t_c`` (``workload.handling_hours``) times the officers sent
   ``u_c`` (``workload.officers_per_incident``). The same sum by *hour of week*
   (Monday 00:00-00:59 is hour 0, Sunday 23:00 is hour 167) gives the profile
   ``C_h``; incidents without a time are spread evenly over the week.
2. **Rule of 60**: committed time is at most ``s = workload.max_committed_share``
   (0.6) of on-duty time, so the beat needs ``D = C / s`` on-duty officer-hours a
   week (``coverage = "average"``). With ``coverage = "shift_peak"`` each shift of
   the week (``shift_hours`` long, starting at midnight) is staffed for its busiest
   hour: ``D = sum_shifts shift_hours x max_{h in shift} C_h / s``.
3. **Posts and relief**: one post is one officer on duty for one shift every day,
   ``7 x shift_hours`` hours a week; filling a post all year takes
   ``r = workload.relief_factor`` officers (rest days, leave, training; ~1.6).
   Officers ``= D / (7 x shift_hours) x r``, rounded by ``workload.rounding``
   (``ceil``).

Worked example (in ``docs/staffing.md`` and the tests): a beat with, per week, 5
disputes (1.5 h), 3 burglaries (2.0 h) and 2 assaults (2.0 h, 2 officers each):
``C = 7.5 + 6 + 8 = 21.5`` h; ``D = 21.5 / 0.6 = 35.83`` h; posts ``= 35.83 / 56 =
0.640``; officers ``= 0.640 x 1.6 = 1.024`` -> ``ceil`` -> **2**.

Examples
--------
>>> round(officers_for_hours(21.5, relief_factor=1.6, max_committed_share=0.6,
...                          shift_hours=8), 3)
1.024
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from beatgrid.gis.config import section_or_default
from beatgrid.gis.errors import InputError, PolicyError
from beatgrid.gis.policing.policy import round_count

HOURS_PER_WEEK = 168
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

#: Columns of :func:`workload_requirement`.
REQUIREMENT_COLUMNS = [
    "incidents", "incidents_per_week", "committed_hours_week", "on_duty_hours_week",
    "posts", "officers_fte", "officers_workload", "peak_hour_of_week", "peak_hour",
]


def hour_of_week(times: Any) -> np.ndarray[Any, Any]:
    """Hour of week of each timestamp: Monday 00:00-00:59 is 0, Sunday 23:00 is 167.

    Missing times give -1.

    Examples
    --------
    >>> hour_of_week(pd.to_datetime(["2024-01-01 00:30", "2024-01-07 23:59", None])).tolist()
    [0, 167, -1]
    """
    t = pd.to_datetime(pd.Series(times), errors="coerce")
    how = t.dt.day_of_week * 24 + t.dt.hour
    return how.fillna(-1).astype(np.int64).to_numpy()


def hour_label(how: int | None) -> str:
    """Readable hour of week, e.g. ``'Fri 20:00'``.

    Examples
    --------
    >>> hour_label(0), hour_label(116)
    ('Mon 00:00', 'Fri 20:00')
    """
    if how is None or how < 0:
        return ""
    return f"{DAY_NAMES[int(how) // 24]} {int(how) % 24:02d}:00"


def infer_period_days(times: Any) -> int:
    """Days covered by the timestamps: first to last calendar day, inclusive.

    Raises
    ------
    InputError
        When no timestamp is present (set ``workload.period_days`` instead).

    Examples
    --------
    >>> infer_period_days(pd.to_datetime(["2023-01-01 08:00", "2023-12-31 22:00"]))
    365
    """
    t = pd.to_datetime(pd.Series(times), errors="coerce").dropna()
    if t.empty:
        raise InputError("the incidents have no occurred_at: the period they cover is unknown",
                         fix="set workload.period_days in the policy (e.g. 365) or pass "
                             "period_days=")
    return int((t.max().normalize() - t.min().normalize()).days) + 1


def officers_for_hours(committed_hours_week: Any, *, relief_factor: float,
                       max_committed_share: float, shift_hours: float) -> Any:
    """Officers (FTE, unrounded) for a weekly committed workload (average coverage).

    ``committed / max_committed_share / (7 x shift_hours) x relief_factor``.

    Parameters
    ----------
    committed_hours_week
        Officer-hours a week committed to incidents (scalar or array).
    relief_factor, max_committed_share, shift_hours
        See ``[workload]`` in the policy.

    Examples
    --------
    >>> round(officers_for_hours(60, relief_factor=1.6, max_committed_share=0.6,
    ...                          shift_hours=8), 4)
    2.8571
    """
    if not 0 < max_committed_share <= 1:
        raise PolicyError(f"max_committed_share {max_committed_share!r} must be in (0, 1]",
                          fix="use the rule of 60: 0.6")
    if shift_hours <= 0 or relief_factor <= 0:
        raise PolicyError(f"shift_hours {shift_hours!r} and relief_factor {relief_factor!r} "
                          "must be > 0", fix="use e.g. shift_hours = 8, relief_factor = 1.6")
    on_duty = np.asarray(committed_hours_week, dtype=float) / max_committed_share
    out = on_duty / (7.0 * shift_hours) * relief_factor
    return float(out) if out.ndim == 0 else out


def _incident_hours(incidents: pd.DataFrame, policy: Mapping[str, Any]) -> np.ndarray[Any, Any]:
    wl = policy["workload"]
    cats = incidents["category"].astype(str) if "category" in incidents \
        else pd.Series("other", index=incidents.index)
    unknown = sorted(set(cats) - set(wl["handling_hours"]))
    if unknown:
        raise InputError(f"incident categories {unknown} have no handling time",
                         fix="conform the incidents layer (beatgrid validate) or add "
                             "the categories to workload.handling_hours")
    hours = cats.map(wl["handling_hours"]).to_numpy(dtype=float)
    officers = cats.map(wl["officers_per_incident"]).to_numpy(dtype=float)
    return hours * officers


def workload_profile(incidents: pd.DataFrame, beat_of_incident: Any, *,
                     policy: Mapping[str, Any] | None = None, period_days: float | None = None,
                     beat_ids: Sequence[Any] | None = None) -> pd.DataFrame:
    """Committed officer-hours per week by beat and hour of week.

    Parameters
    ----------
    incidents
        The ``incidents`` layer (``category``, ``occurred_at``).
    beat_of_incident
        Beat id per incident (aligned with ``incidents``; None/NaN: outside every
        beat, ignored), e.g. :func:`beatgrid.gis.policing.beats.incident_beats`.
    policy
        Staffing policy (``[workload]``); default the shipped one.
    period_days
        Days the incidents cover; default ``workload.period_days``, and when that is
        0 the span of ``occurred_at`` (:func:`infer_period_days`).
    beat_ids
        Beats to report (rows), default those with incidents.

    Returns
    -------
    DataFrame
        Index beat id, columns 0..167 (hour of week), committed hours per week.

    Examples
    --------
    >>> t = pd.to_datetime(["2024-01-01 09:10", "2024-01-07 09:00"])
    >>> inc = pd.DataFrame({"category": ["dispute", "burglary"], "occurred_at": t})
    >>> prof = workload_profile(inc, ["b1", "b1"])
    >>> float(prof.loc["b1", 9]), float(prof.loc["b1", 6 * 24 + 9]), float(prof.sum(axis=1).iloc[0])
    (1.5, 2.0, 3.5)
    """
    policy = section_or_default(policy, "policy")
    weeks = _weeks(incidents, policy, period_days)
    beats = pd.Series(np.asarray(beat_of_incident, dtype=object), index=incidents.index)
    keep = beats.notna().to_numpy()
    wanted = pd.unique(beats[keep]) if beat_ids is None else beat_ids
    index = pd.Index([str(b) for b in wanted])
    prof = np.zeros((len(index), HOURS_PER_WEEK))
    if keep.any():
        inc = incidents.loc[keep]
        code = index.get_indexer(beats[keep].astype(str))
        hours = _incident_hours(inc, policy) / weeks
        how = hour_of_week(inc["occurred_at"]) if "occurred_at" in inc \
            else np.full(len(inc), -1)
        ok = code >= 0
        timed = ok & (how >= 0)
        np.add.at(prof, (code[timed], how[timed]), hours[timed])
        untimed = ok & (how < 0)
        if untimed.any():
            spread = np.bincount(code[untimed], weights=hours[untimed], minlength=len(index))
            prof += spread[:, None] / HOURS_PER_WEEK
    return pd.DataFrame(prof, index=pd.Index(index, name="beat_id"),
                        columns=range(HOURS_PER_WEEK))


def _weeks(incidents: pd.DataFrame, policy: Mapping[str, Any], period_days: float | None) -> float:
    days = period_days if period_days is not None else policy["workload"]["period_days"]
    if not days:
        if len(incidents) == 0:
            return 1.0
        days = infer_period_days(incidents["occurred_at"] if "occurred_at" in incidents else [])
    if days <= 0 or not math.isfinite(days):
        raise InputError(f"period_days {days!r} must be > 0", fix="give the days covered")
    return float(days) / 7.0


def workload_requirement(incidents: pd.DataFrame, beat_of_incident: Any, *,
                         policy: Mapping[str, Any] | None = None,
                         period_days: float | None = None,
                         beat_ids: Sequence[Any] | None = None) -> pd.DataFrame:
    """Officers each beat needs for its incident workload (see the module docstring).

    Parameters
    ----------
    incidents, beat_of_incident, policy, period_days, beat_ids
        As :func:`workload_profile`.

    Returns
    -------
    DataFrame
        Index beat id; columns :data:`REQUIREMENT_COLUMNS`: ``incidents``,
        ``incidents_per_week``, ``committed_hours_week`` (C), ``on_duty_hours_week``
        (D), ``posts``, ``officers_fte`` (unrounded), ``officers_workload`` (rounded
        by ``workload.rounding``), ``peak_hour_of_week`` (0..167, -1 without
        incidents) and ``peak_hour`` (e.g. ``'Fri 20:00'``). With
        ``workload.enabled = false`` every requirement is 0.

    Examples
    --------
    >>> t = pd.date_range("2024-01-01 10:00", periods=70, freq="D")    # 10 weeks, daily
    >>> inc = pd.DataFrame({"category": "dispute", "occurred_at": t})
    >>> r = workload_requirement(inc, ["b1"] * 70)
    >>> round(float(r.loc["b1", "committed_hours_week"]), 6), int(r.loc["b1", "officers_workload"])
    (10.5, 1)
    >>> r.loc["b1", "peak_hour"]
    'Mon 10:00'
    """
    policy = section_or_default(policy, "policy")
    wl = policy["workload"]
    beats = pd.Series(np.asarray(beat_of_incident, dtype=object), index=incidents.index)
    prof = workload_profile(incidents, beats, policy=policy, period_days=period_days,
                            beat_ids=beat_ids)
    weeks = _weeks(incidents, policy, period_days)
    counts = beats.dropna().astype(str).value_counts()
    out = pd.DataFrame(index=prof.index)
    out["incidents"] = prof.index.map(counts).fillna(0).astype(int)
    out["incidents_per_week"] = out["incidents"] / weeks
    committed = prof.sum(axis=1).to_numpy()
    share, shift = wl["max_committed_share"], wl["shift_hours"]
    if wl["coverage"] == "shift_peak":
        blocks = prof.to_numpy().reshape(len(prof), HOURS_PER_WEEK // shift, shift)
        on_duty = (blocks.max(axis=2) / share * shift).sum(axis=1)
    else:
        on_duty = committed / share
    if not wl["enabled"]:
        committed = committed * 0
        on_duty = on_duty * 0
    out["committed_hours_week"] = committed
    out["on_duty_hours_week"] = on_duty
    out["posts"] = on_duty / (7.0 * shift)
    out["officers_fte"] = out["posts"] * wl["relief_factor"]
    out["officers_workload"] = round_count(out["officers_fte"].to_numpy(), wl["rounding"]) \
        if len(out) else np.array([], dtype=np.int64)
    peak = np.where(committed > 0, prof.to_numpy().argmax(axis=1), -1) if len(prof) \
        else np.array([], dtype=np.int64)
    out["peak_hour_of_week"] = peak.astype(np.int64)
    out["peak_hour"] = [hour_label(h) for h in peak]
    return out[REQUIREMENT_COLUMNS]


__all__ = ["HOURS_PER_WEEK", "REQUIREMENT_COLUMNS", "hour_of_week", "hour_label",
           "infer_period_days", "officers_for_hours", "workload_profile",
           "workload_requirement"]
