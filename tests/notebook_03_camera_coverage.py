"""Checks of notebooks/03_camera_coverage.ipynb, run in its namespace after its last cell
(see tests/test_notebooks.py): counts recounted, nested levels, blind spots, the risk
score by hand, the DORI distances, the placement, and the sample's patterns.
"""

from beatgrid.gis.coverage.fov import px_per_m_at


def passed(section: str) -> None:
    print(f"checks passed: {section} (with the sample's patterns)")


# cameras in estates, recounted with geopandas in the metric CRS of the analysis
metric = out.seen.crs
in_estate = gpd.sjoin(cams[["geometry"]].to_crs(metric), estates[["id", "geometry"]].to_crs(metric),
                      predicate="intersects")
recount = in_estate.groupby("id").size().reindex(est["zone_id"]).fillna(0).astype(int)
assert (recount.to_numpy() == est["cameras_inside"].to_numpy()).all()
beats_rows = stats[stats["zone_type"] == "beat"]
assert (est["households"] >= 0).all() and hh_in <= households_total
assert inside < 0.1 * len(cams) and hh_in > 0.5 * households_total   # the seeds' pattern
assert by_age.loc["old (老小区)", "cameras_per_1000_households"] < 1   # almost none
assert beats_rows["cameras_inside"].sum() == len(cams)                 # beats tile it
passed("cameras in estates")

# coverage by level: nested, shares in [0, 1], areas add up; the chart shows every estate
zones = stats.set_index(["zone_type", "zone_id"])
for a, b in zip(share_cols, share_cols[1:]):        # nested levels: denser is never larger
    assert (zones[b].fillna(0) <= zones[a].fillna(0) + 1e-9).all(), (a, b)
assert ((zones[share_cols].fillna(0) >= 0) & (zones[share_cols].fillna(0) <= 1)).all().all()
assert np.allclose(zones["open_area_m2"] + zones["building_area_m2"], zones["area_m2"])
seen_m2 = zones["open_area_m2"] * zones["seen_share_all"].fillna(0)
assert np.allclose(zones["open_area_m2"] - seen_m2, zones["unseen_open_m2"], atol=1e-6)
by_type = zones.groupby(level="zone_type")["open_area_m2"].sum()
assert np.isclose(by_type["beat"], by_type["community"], rtol=1e-6)   # two tilings
assert len(ranked) == len(estates) and ranked["seen_share_all"].is_monotonic_increasing
assert (beat_table["seen_share_identify"] < 0.25 * beat_table["seen_share_detect"] + 1e-9).all()
assert est["seen_share_all"].median() < 0.2
passed("coverage by level")

# blind spots: in estates, not seen, no building
assert (blind["area_m2"] >= min_blind).all() and blind["area_m2"].is_monotonic_decreasing
assert blind["id"].is_unique and set(blind["zone_id"]) <= set(estates["id"])
unseen = est.set_index("zone_id")["unseen_open_m2"]
assert (per_estate <= unseen.reindex(per_estate.index) + 1e-3).all()   # blind ⊂ unseen
blind_m = blind.to_crs(out.seen.crs)
assert out.seen.area_in(blind_m.geometry.union_all(), "all") < 1.0
footprints = buildings.to_crs(out.seen.crs).geometry.union_all()
assert blind_m.geometry.union_all().intersection(footprints).area < 0.01
assert all(per_estate.get(e, 0) > 0 for e in risk["estate_id"].head(5))   # old estates blind
assert (blind["households_around"] > 0).mean() > 0.5
passed("blind spots")

# risk ranking: the points add up to the score, the components by hand
assert risk["rank"].tolist() == list(range(1, len(risk) + 1))
assert risk["risk_score"].is_monotonic_decreasing
assert np.allclose(points.sum(axis=1), risk["risk_score"])
comps = risk[[f"c_{k}" for k in weights]]
assert ((comps >= 0) & (comps <= 1)).all().all()
assert np.allclose(risk["c_uncovered"], 1 - risk["seen_share_all"])
target = cfg["risk"]["target_cameras_per_1000_households"]
by_hand = 1 - np.minimum(1, 1000 * risk["cameras_inside"] / risk["households"] / target)
assert np.allclose(risk["c_camera_deficit"], by_hand)
assert set(risk["estate_id"]) == set(estates.loc[estates["is_old"].astype(bool), "id"])
assert np.allclose(top10.sum(axis=1).to_numpy(), risk["risk_score"].head(10).to_numpy())
assert top["access"] == "open" and top["seen_share_all"] < 0.5
assert (risk.head(3)["cameras_inside"] == 0).all()
passed("risk ranking")

# DORI: the distances by hand
assert abs(hfov - np.degrees(2 * np.arctan(sensor / (2 * focal)))) < 1e-9
by_hand = {lv: px / (p * 2 * np.tan(np.radians(hfov) / 2))
           for lv, p in zip(profile.levels, profile.px_per_m)}
assert all(abs(slant[lv] - by_hand[lv]) < 1e-9 for lv in slant)
assert all(abs(float(px_per_m_at(slant[lv], px, hfov)) - p) < 1e-6
           for lv, p in zip(profile.levels, profile.px_per_m))
assert [round(slant[lv], 1) for lv in ("identify", "recognise", "observe", "detect")] \
    == [9.0, 17.9, 35.8, 89.6]                      # docs/coverage.md
p0 = params.iloc[0]
assert abs(p0["fov_deg"] - hfov) < 1e-9 and p0["near_m"] > 0        # tilted: near blind zone
assert all(p0[f"d_{lv}"] <= ground[lv] + 1e-9 for lv in profile.levels)   # capped by range
passed("DORI example")

# placement: before / after as the chart shows, the ranking recomputed
placed = len(greedy.proposals)
assert 0 < placed <= BUDGET and (greedy.proposals["estate_id"] == estate_id).all()
assert greedy.proposals["gain"].is_monotonic_decreasing and (greedy.proposals["gain"] > 0).all()
assert mine["cameras_inside_after"] == mine["cameras_inside_before"] + placed
assert all(a >= b - 1e-12 for a, b in zip(after, before))
assert ei["objective"] >= gi["objective"] - 1e-6 and ei["bound"] >= ei["objective"] - 1e-6
assert abs(mine["seen_share_all_before"] - risk.iloc[0]["seen_share_all"]) < 1e-9
assert abs(after_row["seen_share_all"] - mine["seen_share_all_after"]) < 1e-6
assert after_row["risk_score"] < before_row["risk_score"]
assert placed == BUDGET and after_row["c_camera_deficit"] == 0       # past 20 per 1,000
assert mine["seen_share_all_after"] > mine["seen_share_all_before"] + 0.2
assert after_row["rank"] > 1                                         # no longer the riskiest
passed("placement")

# maps
for name in ("03_explore.html", "03_coverage.html"):
    html = (OUT / name).read_text(encoding="utf-8")
    assert base.external_resources(html) == [] and "L.map(" in html, name
assert all(n in (OUT / "03_coverage.html").read_text(encoding="utf-8")
           for n in ("Blind spots", "Streets", "Buildings", "Proposed cameras"))
passed("maps")
