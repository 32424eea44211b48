"""Workload-based officer requirement (gis/workload.py) against worked examples."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from beatgrid.gis.errors import InputError
from beatgrid.gis.policing.policy import load_policy
from beatgrid.gis.policing.workload import (hour_label, hour_of_week, infer_period_days,
                                   officers_for_hours, workload_profile, workload_requirement)


def incidents(spec, *, start="2024-01-01 09:00", weeks=4):
    """``spec``: {category: per week}; spread over ``weeks`` weeks, one per day-hour slot."""
    rows = []
    t0 = pd.Timestamp(start)
    for cat, per_week in spec.items():
        for w in range(weeks):
            for i in range(per_week):
                rows.append({"category": cat,
                             "occurred_at": t0 + pd.Timedelta(days=7 * w + i % 7, hours=i)})
    return pd.DataFrame(rows)


def test_worked_example_from_the_docs():
    # per week: 5 disputes (1.5 h), 3 burglaries (2.0 h), 2 assaults (2.0 h, 2 officers)
    # C = 5 x 1.5 + 3 x 2.0 + 2 x 2.0 x 2 = 7.5 + 6 + 8 = 21.5 committed hours a week
    # D = C / 0.6 = 35.833 on-duty hours; posts = D / (7 x 8) = 0.6399
    # officers = 0.6399 x 1.6 = 1.0238 -> ceil -> 2
    inc = incidents({"dispute": 5, "burglary": 3, "assault": 2}, weeks=4)
    r = workload_requirement(inc, ["b1"] * len(inc), period_days=28).loc["b1"]
    assert r.incidents == 40
    assert r.incidents_per_week == pytest.approx(10.0)
    assert r.committed_hours_week == pytest.approx(21.5)
    assert r.on_duty_hours_week == pytest.approx(21.5 / 0.6)
    assert r.posts == pytest.approx(21.5 / 0.6 / 56)
    assert r.officers_fte == pytest.approx(1.0238095, rel=1e-6)
    assert r.officers_workload == 2


def test_officers_for_hours_formula():
    # 60 h / 0.6 = 100 on-duty hours = 1.786 posts x 1.6 = 2.857 officers
    assert officers_for_hours(60, relief_factor=1.6, max_committed_share=0.6,
                              shift_hours=8) == pytest.approx(100 / 56 * 1.6)
    arr = officers_for_hours(np.array([0.0, 33.6]), relief_factor=1.0,
                             max_committed_share=0.6, shift_hours=8)
    assert arr.tolist() == pytest.approx([0.0, 1.0])         # 33.6 / 0.6 = 56 h = 1 post


def test_shift_peak_coverage():
    # 6 disputes, all on Monday 10:xx, in one week: C_10 = 9 h -> 15 officers on duty at 10:00
    # the 08:00-16:00 shift is staffed for its peak: 15 x 8 = 120 h; posts = 120 / 56
    t = pd.to_datetime(["2024-01-01 10:05"] * 6)
    inc = pd.DataFrame({"category": "dispute", "occurred_at": t})
    peak = load_policy({"workload": {"coverage": "shift_peak"}})
    r = workload_requirement(inc, ["b"] * 6, policy=peak, period_days=7).loc["b"]
    assert r.on_duty_hours_week == pytest.approx(120.0)
    assert r.officers_fte == pytest.approx(120 / 56 * 1.6)    # 3.43 -> 4
    assert r.officers_workload == 4
    assert r.peak_hour == "Mon 10:00" and r.peak_hour_of_week == 10
    avg = workload_requirement(inc, ["b"] * 6, period_days=7).loc["b"]
    assert avg.on_duty_hours_week == pytest.approx(15.0)       # 9 / 0.6
    assert avg.officers_workload == 1                           # 15/56 x 1.6 = 0.43 -> 1


def test_handling_hours_and_relief_are_policy_keys():
    inc = pd.DataFrame({"category": ["fraud"] * 7,
                        "occurred_at": pd.date_range("2024-01-01", periods=7, freq="D")})
    p = load_policy({"workload": {"handling_hours": {"fraud": 4.0}, "relief_factor": 2.0}})
    r = workload_requirement(inc, ["b"] * 7, policy=p, period_days=7).loc["b"]
    assert r.committed_hours_week == pytest.approx(28.0)           # 7 x 4 h
    assert r.officers_fte == pytest.approx(28 / 0.6 / 56 * 2.0)


def test_profile_by_hour_of_week_and_untimed_spread():
    inc = pd.DataFrame({"category": ["dispute", "dispute", "traffic"],
                        "occurred_at": pd.to_datetime(["2024-01-01 09:10", "2024-01-07 23:59",
                                                       None])})
    prof = workload_profile(inc, ["a", "a", "a"], period_days=7)
    assert prof.shape == (1, 168)
    assert prof.loc["a", 9] == pytest.approx(1.5 + 1.0 / 168)
    assert prof.loc["a", 167] == pytest.approx(1.5 + 1.0 / 168)
    assert prof.loc["a"].sum() == pytest.approx(4.0)               # 1.5 + 1.5 + 1.0


def test_period_inferred_from_incidents():
    t = pd.to_datetime(["2023-01-01 08:00", "2023-12-31 22:00"])
    assert infer_period_days(t) == 365
    inc = pd.DataFrame({"category": ["other", "other"], "occurred_at": t})
    r = workload_requirement(inc, ["b", "b"])        # policy period_days = 0: inferred
    assert r.loc["b", "incidents_per_week"] == pytest.approx(2 / (365 / 7))
    with pytest.raises(InputError, match="period_days"):
        infer_period_days([None])


def test_beats_without_incidents_and_disabled_model():
    inc = incidents({"burglary": 7}, weeks=1)
    r = workload_requirement(inc, ["a"] * 7, beat_ids=["a", "quiet"], period_days=7)
    assert r.loc["quiet", "officers_workload"] == 0 and r.loc["quiet", "peak_hour"] == ""
    off = load_policy({"workload": {"enabled": False}})
    r = workload_requirement(inc, ["a"] * 7, policy=off, period_days=7)
    assert r.loc["a", "officers_workload"] == 0 and r.loc["a", "incidents"] == 7


def test_incidents_outside_beats_are_ignored():
    inc = incidents({"dispute": 2}, weeks=1)
    r = workload_requirement(inc, ["a", None], period_days=7)
    assert r.loc["a", "committed_hours_week"] == pytest.approx(1.5)


def test_hour_helpers():
    assert hour_of_week(pd.to_datetime(["2024-01-01 00:30", "2024-01-07 23:59"])).tolist() \
        == [0, 167]
    assert hour_label(116) == "Fri 20:00" and hour_label(-1) == ""


def test_unknown_category_is_rejected():
    inc = pd.DataFrame({"category": ["arson"], "occurred_at": [pd.Timestamp("2024-01-01")]})
    with pytest.raises(InputError, match="arson"):
        workload_requirement(inc, ["a"], period_days=7)
