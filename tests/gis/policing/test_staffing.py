"""Staffing rules on small hand-computed fixtures (gis/policing/staffing.py, rooms.py).

Every expected number is worked out by hand in the comment next to it; the rounding
is the shipped policy's (``ceil``) unless the test overrides it.
"""

from __future__ import annotations

import pandas as pd
import pytest

from beatgrid.gis.policing.policy import load_policy
from beatgrid.gis.policing.rooms import room_review
from beatgrid.gis.policing.staffing import GAP_COLUMNS, RULES, assess, rollup, rule_requirements


def beat(beat_id="b", *, reg=1000, flo=0, hh=400, grids=1, room_type=2, officers=1, aux=2,
         fm=0, gw=1, **extra):
    row = {"beat_id": beat_id, "population_registered": reg, "population_floating": flo,
           "households": hh, "grids": grids, "room_type": room_type,
           "community_officers": officers, "auxiliaries": aux, "floating_managers": fm,
           "grid_workers": gw}
    row.update(extra)
    return row


def frame(*rows):
    return pd.DataFrame(list(rows))


def one(row, **kw):
    return assess(frame(row), **kw).iloc[0]


# -- officers: one per beat, two-officer thresholds, room type ------------------------------

def test_one_officer_per_beat_by_default():
    r = one(beat())
    assert r.officers_required == 1
    assert r.failed_rules == ""
    assert r.severity == "ok"


def test_two_officer_population_threshold_is_strict():
    # actual population = registered + floating: 6,000 + 4,000 = 10,000 -> not above 10,000
    at = one(beat(reg=6000, flo=4000, aux=2, fm=8))
    assert at.population_actual == 10000
    assert at.officers_required == 1
    # 10,001 > 10,000 -> two officers; with one, the rule fails
    above = one(beat(reg=6000, flo=4001, aux=3, fm=9))          # ceil(4,001 / 500) = 9
    assert above.officers_required == 2
    assert above.officers_gap == 1
    assert above.failed_rules.split(";") == ["officers_population"]


def test_two_officer_population_threshold_is_a_policy_key():
    policy = load_policy({"officers": {"two_officer_population": 8000}})
    assert one(beat(reg=5000, flo=3000), policy=policy).officers_required == 1   # 8,000
    assert one(beat(reg=5000, flo=3001), policy=policy).officers_required == 2   # 8,001


def test_population_basis_registered():
    policy = load_policy({"officers": {"population_basis": "registered"}})
    # registered 9,000 (actual 14,000): below the threshold on the registered basis
    assert one(beat(reg=9000, flo=5000), policy=policy).officers_required == 1
    assert one(beat(reg=10001, flo=0), policy=policy).officers_required == 2


def test_floating_exceeds_registered_is_strict():
    # 3,000 floating = 3,000 registered: not inverted
    assert one(beat(reg=3000, flo=3000, fm=6)).officers_required == 1
    # 3,001 > 3,000: inverted population (人口倒挂) -> two officers
    r = one(beat(reg=3000, flo=3001, fm=7))
    assert r.officers_required == 2
    assert "officers_inverted" in r.failed_rules
    assert "officers_population" not in r.failed_rules          # 6,001 <= 10,000
    off = load_policy({"officers": {"two_officer_if_floating_exceeds_registered": False}})
    assert one(beat(reg=3000, flo=3001, fm=7), policy=off).officers_required == 1


def test_room_type_minimum():
    assert one(beat(room_type=1, officers=2, aux=3)).officers_required == 2
    r = one(beat(room_type=1, officers=1, aux=3))
    assert "officers_room_type" in r.failed_rules
    assert one(beat(room_type=2)).officers_required == 1
    nan_room = one(beat(room_type=None))                      # no room: per-beat rule only
    assert nan_room.officers_required == 1
    three = load_policy({"officers": {"type1_room_min": 3}})
    assert one(beat(room_type=1), policy=three).officers_required == 3


def test_officers_required_is_the_largest_requirement():
    # population 12,000 and inverted: both need 2, the requirement is 2 (not 4)
    r = one(beat(reg=5000, flo=7000, officers=0, aux=0, fm=14))
    assert r.officers_required == 2
    assert r.failed_rules.split(";")[:3] == ["officers_per_beat", "officers_population",
                                             "officers_inverted"]


# -- auxiliaries 1 : 1.5 --------------------------------------------------------------------

@pytest.mark.parametrize("officers_required,expected", [
    (1, 2),   # ceil(1.5 x 1) = ceil(1.5) = 2  (Gong County's "1 + 2")
    (2, 3),   # ceil(1.5 x 2) = 3
    (3, 5),   # ceil(1.5 x 3) = ceil(4.5) = 5
])
def test_auxiliaries_ratio_rounds_up(officers_required, expected):
    policy = load_policy({"officers": {"per_beat": officers_required}})
    r = one(beat(officers=officers_required, aux=expected), policy=policy)
    assert r.auxiliaries_required == expected
    assert r.failed_rules == ""
    short = one(beat(officers=officers_required, aux=expected - 1), policy=policy)
    assert short.auxiliaries_gap == 1
    assert short.failed_rules == "auxiliaries_ratio"


def test_auxiliaries_rounding_modes_and_minimum():
    rnd = load_policy({"auxiliaries": {"rounding": "round"}})
    assert one(beat(), policy=rnd).auxiliaries_required == 2          # 1.5 half up -> 2
    flo = load_policy({"auxiliaries": {"rounding": "floor"}})
    assert one(beat(), policy=flo).auxiliaries_required == 1          # floor(1.5) = 1
    half = load_policy({"auxiliaries": {"per_officer": 0.5, "minimum": 2}})
    assert one(beat(), policy=half).auxiliaries_required == 2         # max(2, ceil(0.5))
    zero = load_policy({"auxiliaries": {"per_officer": 0.0}})
    assert one(beat(), policy=zero).auxiliaries_required == 1         # minimum 1


def test_auxiliaries_basis_actual_uses_roster():
    policy = load_policy({"auxiliaries": {"basis": "actual"}})
    # 3 officers on the roster: ceil(1.5 x 3) = 5 although 1 is required
    assert one(beat(officers=3, aux=5), policy=policy).auxiliaries_required == 5
    assert one(beat(officers=3, aux=5)).auxiliaries_required == 2     # basis "required"


# -- floating-population managers 1 : 500 -----------------------------------------------------

@pytest.mark.parametrize("floating,expected", [
    (0, 0), (1, 1), (499, 1), (500, 1), (501, 2), (1000, 2), (1001, 3),
])
def test_floating_managers_ceil_of_floating_over_500(floating, expected):
    r = one(beat(reg=floating + 1, flo=floating, fm=expected))
    assert r.floating_managers_required == expected
    assert r.floating_managers_gap == 0


def test_jiangbei_managers_meet_1_800_but_not_1_500():
    # Jiangbei (seed 000): 330 managers for 260,464 floating residents
    row = beat(reg=300000, flo=260464, fm=330, officers=2, aux=3)
    r = one(row)
    assert r.floating_managers_required == 521                 # ceil(260,464 / 500) = 521
    assert r.floating_managers_gap == 191
    assert "floating_managers_ratio" in r.failed_rules
    city = load_policy({"floating_managers": {"floating_per_manager": 800}})
    r = one(row, policy=city)
    assert r.floating_managers_required == 326                 # ceil(325.58) = 326
    assert "floating_managers_ratio" not in r.failed_rules


# -- grid workers: 1 per basic grid ("1 + 2 + N") ----------------------------------------------

def test_grid_workers_per_grid_and_estimate():
    assert one(beat(grids=4, gw=4)).grid_workers_required == 4
    est = one(beat(grids=0, hh=1200, gw=3))
    assert est.grid_workers_required == 3                      # ceil(1,200 / 500) = 3
    assert bool(est.grids_estimated) and est.grids == 3
    no_est = load_policy({"grid_workers": {"estimate_unplanned_grids": False}})
    assert one(beat(grids=0, hh=1200, gw=0), policy=no_est).grid_workers_required == 0
    half = load_policy({"grid_workers": {"per_grid": 0.5}})
    assert one(beat(grids=5, gw=3), policy=half).grid_workers_required == 3   # ceil(2.5)


def test_gong_county_1_2_n_rooms_are_fully_staffed():
    # seed 003: 4 rooms, 4 officers, 8 auxiliaries, 20 grid workers (5 grids each)
    rows = [beat(f"r{i}", grids=5, officers=1, aux=2, gw=5) for i in range(4)]
    g = assess(frame(*rows))
    assert (g["severity"] == "ok").all()
    assert g[["officers_required", "auxiliaries_required", "grid_workers_required"]] \
        .sum().tolist() == [4, 8, 20]


# -- workload rule -----------------------------------------------------------------------

def test_workload_rule_binds_or_is_reported_beside():
    wl = pd.DataFrame({"officers_workload": [3], "committed_hours_week": [60.0]},
                      index=pd.Index(["b"], name="beat_id"))
    r = one(beat(officers=1, aux=5), workload=wl)
    assert r.officers_required == 3 and r.officers_workload == 3
    assert r.failed_rules == "officers_workload"
    assert "workload 60.0 h/week needs 3 officers, has 1" in r.reasons
    beside = load_policy({"workload": {"include_in_required": False}})
    r = one(beat(officers=1), workload=wl, policy=beside)
    assert r.officers_required == 1 and r.officers_workload == 3 and r.failed_rules == ""


# -- severity, columns, roll-ups, rooms ---------------------------------------------------------

def test_severity_levels_and_rank():
    g = assess(frame(
        beat("ok"),
        beat("no_officer", officers=0),                # 3 x 1/1 = 3.0 -> critical
        beat("half_officers", reg=6000, flo=4001, aux=3),   # 3 x 1/2 = 1.5 -> high
        beat("aux_half", aux=1),                       # 1 x 1/2 = 0.5 -> medium
        beat("aux_third", officers=2, room_type=1, aux=2),  # 1 x 1/3 = 0.33 -> low
    )).set_index("beat_id")
    assert g.loc["no_officer", "severity_score"] == pytest.approx(3.0)
    assert g["severity"].to_dict() == {"ok": "ok", "no_officer": "critical",
                                       "half_officers": "high", "aux_half": "medium",
                                       "aux_third": "low"}
    assert g["severity_rank"].to_dict() == {"no_officer": 1, "half_officers": 2, "aux_half": 3,
                                            "aux_third": 4, "ok": 5}


def test_severity_bounds_are_policy_keys():
    policy = load_policy({"severity": {"medium": 0.2, "high": 0.3, "critical": 0.4}})
    assert one(beat(aux=1), policy=policy).severity == "critical"     # 0.5 >= 0.4


def test_columns_of_the_csv():
    g = assess(frame(beat()))
    assert list(g.columns) == GAP_COLUMNS
    for col in ("beat_id", "officers_required", "officers_actual", "auxiliaries_required",
                "auxiliaries_actual", "floating_managers_required", "floating_managers_actual",
                "grid_workers_required", "grid_workers_actual", "failed_rules", "severity"):
        assert col in g.columns


def test_rule_requirements_has_every_rule():
    req = rule_requirements(frame(beat()))
    assert set(RULES) <= set(req.columns)


def test_rollup_by_station_and_area():
    g = assess(frame(
        beat("a", station_id="s1", responsibility_area_id="r1"),
        beat("b", station_id="s1", responsibility_area_id="r1", officers=0),
        beat("c", station_id="s2", responsibility_area_id=None, aux=1),
    ))
    st = rollup(g, stations=pd.DataFrame({"id": ["s1", "s2"], "officers_total": [10, 0]}))
    s1 = st.set_index("station_id").loc["s1"]
    assert (s1.beats, s1.understaffed_beats, s1.officers_required, s1.officers_actual,
            s1.officers_gap) == (2, 1, 2, 1, 1)
    assert s1.worst_severity == "critical"
    assert s1.community_officer_share == pytest.approx(0.1)
    assert s1.rules_failed == "officers_per_beat:1;officers_room_type:1"   # type-2 room
    ra = rollup(g, by="responsibility_area_id").set_index("responsibility_area_id")
    assert list(ra.index) == ["(none)", "r1"]
    with pytest.raises(Exception, match="cannot roll up"):
        rollup(g, by="community")


def test_room_review_flags():
    g = assess(frame(beat("b1", room_type=1, officers=1, aux=3),
                     beat("b2", reg=6000, flo=4500, aux=3),      # needs 2, type-2 room
                     beat("b3")))
    rooms = pd.DataFrame({"id": ["r1", "r2", "r3"], "beat_id": ["b1", "b2", "zz"],
                          "room_type": [1, 2, 2],
                          "office_condition": ["independent", "awaiting_rebuild",
                                               "shared_with_community"]})
    rv = room_review(g, rooms)
    rv.index = ["r1", "r2", "r3", "-"]
    assert rv.loc["r1", "flags"] == "type1_understaffed"
    assert rv.loc["r2", "flags"] == "should_be_type1;awaiting_rebuild"
    assert rv.loc["r3", "flags"] == "no_beat;shared_with_community"
    assert rv.loc["-", "beat_id"] == "b3" and rv.loc["-", "flags"] == "no_room"
    quiet = load_policy({"rooms": {"flag_conditions": []}})
    assert room_review(g, rooms, policy=quiet).iloc[1]["flags"] == "should_be_type1"


def test_missing_beat_id_is_a_clear_error():
    with pytest.raises(Exception, match="beat_id"):
        assess(pd.DataFrame({"x": [1]}))
