"""Checks of notebooks/02_staffing_and_alignment.ipynb, run in its namespace after its
last cell (see tests/test_notebooks.py): the staffing rules recomputed by hand, the
roll-ups adding up, the workload and the hotspots' figures, and the sample's patterns.
"""


def passed(section: str) -> None:
    print(f"checks passed: {section} (with the sample's patterns)")


def expected_requirements(g: pd.DataFrame, p) -> pd.DataFrame:
    """The rules of docs/staffing.md recomputed by hand from the beat summary columns."""
    o, a, f, w = p["officers"], p["auxiliaries"], p["floating_managers"], p["grid_workers"]
    assert a["basis"] == "required"
    assert a["rounding"] == f["rounding"] == w["rounding"] == "ceil"
    ceil = lambda x: np.ceil(np.asarray(x, dtype=float) - 1e-9).astype(int)  # noqa: E731
    pop = g["population_actual" if o["population_basis"] == "actual" else "population_registered"]
    inverted = (g["population_floating"] > g["population_registered"]) \
        & o["two_officer_if_floating_exceeds_registered"]
    officers = pd.concat([
        pd.Series(o["per_beat"], index=g.index),
        pd.Series(np.where(pop > o["two_officer_population"], o["two_officer_count"], 0),
                  index=g.index),
        pd.Series(np.where(inverted, o["two_officer_count"], 0), index=g.index),
        g["room_type"].map({1: o["type1_room_min"], 2: o["type2_room_min"]}).fillna(0),
        g["officers_workload"] * p["workload"]["include_in_required"],
    ], axis=1).max(axis=1).astype(int)
    return pd.DataFrame({
        "officers": officers,
        "auxiliaries": np.maximum(a["minimum"], ceil(a["per_officer"] * officers)),
        "floating_managers": np.maximum(f["minimum"],
                                        ceil(g["population_floating"] / f["floating_per_manager"])),
        "grid_workers": np.maximum(w["minimum"], ceil(w["per_grid"] * g["grids"])),
    }, index=g.index)


# staffing gaps: the chart shows what the table says; the rules by hand
expected = expected_requirements(gaps, policy)
for role in ROLES:
    assert (gaps[f"{role}_required"] == expected[role]).all(), role
    gap = (expected[role] - gaps[f"{role}_actual"]).clip(lower=0)
    assert (gaps[f"{role}_gap"] == gap).all(), role
    assert totals.loc[role, "gap"] == gaps[f"{role}_gap"].sum()
est = gaps["grids_estimated"]
assert (gaps.loc[est, "grids"] == np.ceil(gaps.loc[est, "households"] / 500)).all()
no_gap = gaps[[f"{role}_gap" for role in ROLES]].sum(axis=1) == 0
assert ((gaps["severity"] == "ok") == no_gap).all()          # ok exactly when nobody is missing
assert list(view["severity_rank"]) == sorted(view["severity_rank"])   # worst first in the chart
levels = gaps["severity"].value_counts()
assert levels.get("ok", 0) == round(0.4 * len(gaps))        # 40 % meet every rule
assert levels.get("high", 0) == round(0.3 * len(gaps))      # 30 % clearly understaffed
two = gaps[gaps["officers_required"] >= 2]
assert (two["officers_actual"] < 2).any()                   # 一区双警 not met everywhere
worst = set(gaps.nsmallest(levels["high"], "severity_rank")["beat_id"])
assert set(gaps.loc[gaps["floating_ratio"] > 1, "beat_id"]) <= worst   # 人口倒挂 among the worst
passed("staffing gaps")

# policy overrides: each policy's requirements by hand; only the changed rule moves
for name, r in results.items():
    exp = expected_requirements(r.gaps, policies[name])
    for role in ROLES:
        assert (r.gaps[f"{role}_required"] == exp[role]).all(), (name, role)
city = results["jiangbei-2011"].gaps.set_index("beat_id")
shipped = gaps.set_index("beat_id")
assert (city["floating_managers_required"] <= shipped["floating_managers_required"]).all()
assert (city["officers_required"] == shipped["officers_required"]).all()
sh = results["shanghai-central"].gaps
assert set(sh.loc[sh["officers_required"] >= 2, "beat_id"]) == \
    set(sh.loc[(sh["room_type"] == 1) | (sh["officers_workload"] >= 2), "beat_id"])
assert summary.loc["officers gap", "shanghai-central"] <= summary.loc["officers gap", "shipped"]
managers_gap = summary.loc["floating_managers gap"]
assert managers_gap["jiangbei-2011"] < managers_gap["shipped"]
assert len(refused) == 2                                    # both bad keys refused
passed("policy overrides")

# roll-ups and rooms
for r in (result.areas, result.stations):                   # the roll-ups add up to the beats
    for role in ROLES:
        assert r[f"{role}_gap"].sum() == gaps[f"{role}_gap"].sum()
    assert r["beats"].sum() == len(gaps)
needs_two = (gaps["room_type"] == 2) & (gaps["officers_required"] >= 2)
assert should_be_type1 == sorted(gaps.loc[needs_two, "beat_id"])
assert result.stations["community_officer_share"].between(0.22, 0.32).all()  # Jiangbei 26.8 %
passed("roll-ups and rooms")

# workload
assert (committed, round(fte, 3), int(np.ceil(fte))) == (21.5, 1.024, 2)
if wl["period_days"] == 0:                  # 0: the first to the last incident day
    t = incidents["occurred_at"]
    days = (t.max().normalize() - t.min().normalize()).days + 1
    cat = incidents[inc_beat.notna()]["category"]
    hours = cat.map(wl["handling_hours"]) * cat.map(wl["officers_per_incident"])
    assert abs(hours.sum() / (days / 7) - result.workload["committed_hours_week"].sum()) < 1e-6
assert abs(result.workload["committed_hours_week"].sum() - week.to_numpy().sum()) < 1e-6
assert (peak_req["officers_fte"] >= result.workload["officers_fte"] - 1e-9).all()
assert result.workload["incidents"].sum() == inc_beat.notna().sum()
assert (result.workload["officers_fte"] < 1).all()          # the population rules bind
passed("workload")

# alignment
mis = alignment.misaligned
assert (mis["share"] < alignment.min_share).all()
assert set(alignment.reassignments["grid_id"]) <= set(mis["grid_id"])
assert alignment.beats["alignment_score"].between(0, 1).all()
losing = set(alignment.reassignments["from_beat"])
assert set(alignment.beats.loc[alignment.beats["alignment_score"] < 1, "beat_id"]) <= losing
assert 0 < len(mis) <= 0.1 * len(grids_al)
assert set(grids_al["department"]) == {"comprehensive_governance", "city_operations"}
passed("alignment")

# hotspots and trends
assert hot.zone_kind == ("grids" if len(layers["grids"]) >= 3 else "beats")
assert abs(mass - len(incidents)) < 0.05 * len(incidents)
for frame in (change, preventable):
    beats_only = frame[frame["beat_id"] != "(all)"]
    total = frame.set_index("beat_id").loc["(all)"]
    assert beats_only["previous"].sum() == total["previous"]
    assert beats_only["current"].sum() == total["current"]
    ok = beats_only["previous"] > 0
    expect = (100 * beats_only["change"] / beats_only["previous"]).where(ok).round(1)
    assert np.allclose(beats_only["pct_change"][ok], expect[ok])
assert (preventable["current"] <= change["current"]).all()
assert set(zones["hotspot"]) <= {"hot", "cold", "not significant"}
ratio = gaps.set_index("beat_id")["floating_ratio"]
assert zones.set_index("zone_id")["value"].idxmax() == ratio.idxmax()   # the busiest is inverted
assert densest["beat"].iloc[0] in set(ratio.index[ratio > 1])
passed("hotspots and trends")

# maps
names = ["02_density.html", "02_staffing.html", "02_alignment.html", "02_hotspots.html"]
for name in names:
    html = (OUT / name).read_text(encoding="utf-8")
    assert base.external_resources(html) == [] and "L.map(" in html, name
passed("maps")
