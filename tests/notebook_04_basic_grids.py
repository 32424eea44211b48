"""Checks of notebooks/04_basic_grids.ipynb, run in its namespace after its last cell
(see tests/test_notebooks.py): units tile their communities, totals preserved, grids in
the band or with a named reason, metrics by hand, the infeasible reasons, the edit and
the rebalance, the codes, and the sample's patterns.
"""

from beatgrid.gis.grids.metrics import reading_order


def passed(section: str) -> None:
    print(f"checks passed: {section} (with the sample's patterns)")


def error_set(frame):
    return set(map(tuple, frame.loc[frame["severity"] == "error", ["kind", "grid_id"]].values))


# atomic units: every household in one unit; units tile their community; buildings whole
inside = b[b["unit"] >= 0]
comm_m = communities.to_crs(units.crs).set_index("id").geometry
assert u["households"].sum() == inside["households"].sum()
assert (u.groupby("community_id")["households"].sum()
        == inside.groupby("community_id")["households"].sum()).all()
assert (inside.groupby("unit").size().reindex(u.index, fill_value=0) == u["buildings"]).all()
for cid, area in u.groupby("community_id")["area_m2"].sum().items():
    assert abs(area - comm_m[cid].area) < 1.0, cid          # no gap, no overlap (m²)
fp = shapely.intersection(inside.geometry.values,
                          comm_m.reindex(inside["community_id"]).values)
cut = shapely.area(shapely.difference(fp, u.geometry.values[inside["unit"].to_numpy()]))
assert (cut <= 0.01 * shapely.area(fp) + 1e-6).all()
assert (e["street"] == (u["block"].to_numpy()[e["i"]] != u["block"].to_numpy()[e["j"]])).all()
per_block = mine.groupby("block").agg(kind=("kind", "first"), hh=("households", "sum"),
                                      n=("buildings", "sum"))
split_at = kinds.loc[CID, "split_threshold"]
assert (per_block.loc[per_block["kind"] == "cell", "hh"] > split_at).all()
assert ((per_block["kind"] == "cell") | (per_block["hh"] <= split_at) | (per_block["n"] <= 1)).all()
urban = communities.loc[communities["kind"] == "urban", "id"]
assert (kinds.loc[urban, "block"] >= 5).all()               # urban communities: a street grid
assert kinds.loc[CID, ["block", "cell"]].min() >= 10
passed("atomic units")

# generation: the plan is on the same units; totals preserved; reasons named
same = ["community_id", "block", "kind", "households", "buildings", "area_m2"]
assert plan.units.units[same].equals(u[same])
assert plan.units.edges[["i", "j", "street"]].equals(units.edges[["i", "j", "street"]])
assert grids["households"].sum() == u["households"].sum()
assert (grids.groupby("community_id")["households"].sum() == per_comm["households"]).all()
in_comm = b.index[b["unit"] >= 0]
assert plan.building_grid.loc[in_comm].notna().all()
assert (planned.loc[in_comm].groupby("grid_id")["households"].sum()
        .reindex(grids["id"], fill_value=0).to_numpy() == grids["households"].to_numpy()).all()
out = ~band.contains(grids["households"])
assert (grids.loc[out, "reason"] != "").all()
assert set(grids.loc[out, "community_id"]) <= set(plan.issues["community_id"])
assert plan.issues.empty and violations.empty and gen.ok    # every sample community fits
passed("generation")

# metrics: by hand; the histogram holds every grid
assert counts.sum() == len(metrics)
assert np.allclose(metrics["polsby_popper"],                    # 4πA/P², recomputed by hand
                   4 * np.pi * g_m.area.to_numpy() / g_m.length.to_numpy() ** 2)
assert metrics["polsby_popper"].between(0, 1).all()
assert metrics["convex_hull_ratio"].between(0, 1 + 1e-9).all()
assert metrics["street_border_share"].dropna().between(0, 1).all()
assert (metrics["in_range"] == metrics["households"].between(band.lo, band.hi)).all()
assert summary["households"] == metrics["households"].sum() == grids["households"].sum()
assert summary["min"] == metrics["households"].min() and summary["max"] == metrics["households"].max()
eg = planned[["estate_id", "grid_id"]].dropna().drop_duplicates()
split = set(eg.groupby("estate_id")["grid_id"].nunique().loc[lambda s: s > 1].index)
by_hand = eg[eg["estate_id"].isin(split)].groupby("grid_id").size()
assert (metrics.set_index("id")["estates_split"] == by_hand.reindex(metrics["id"], fill_value=0)
        .to_numpy()).all()
assert summary["estates_split"] == (metrics["estates_split"] > 0).sum()
assert summary["share_in_range"] == 1.0
assert summary["street_border_share"] > 0.5 and summary["polsby_popper_mean"] > 0.3
passed("metrics")

# the infeasible community and its reasons
tg = tiny_plan.grids
reason_of = issues.set_index("community_id")["reason"]
assert reason_of.to_dict() == {"T550": "no_grid_count_fits", "T250": "below_min",
                               "T620": "indivisible_unit_over_max"}
assert grid_counts(550, band) == [] and grid_counts(250, band) == []
t550 = tg[tg["community_id"] == "T550"]
assert len(t550) == 2 and t550["households"].sum() == 550
assert (t550["households"] < band.lo).all() and (t550["reason"] == "no_grid_count_fits").all()
assert t550["households"].max() - t550["households"].min() <= 50          # balanced
assert tg.loc[tg["community_id"] == "T250", "households"].tolist() == [250]
tower = tg[(tg["community_id"] == "T620") & (tg["reason"] == "indivisible_unit_over_max")]
assert len(tower) >= 1 and tower["households"].max() >= 620
tiny_check = check_grids(tg, communities=tiny["communities"],
                         buildings=tiny["buildings"].assign(grid_id=tiny_plan.building_grid))
assert set(tiny_check.loc[tiny_check["kind"].str.startswith("households_"), "grid_id"]) == \
    set(tg.loc[tg["reason"] != "", "id"])
passed("infeasible community")

# the manual move: only the touched grids re-checked; the full check agrees
rng_kinds = {"households_below_min", "households_above_max"}
v = res.violations
assert set(res.touched) == {small, neighbour} and res.households_moved == hh[small]
assert set(v["grid_id"]) == {neighbour}
assert sorted(zip(v.loc[v["kind"].isin(rng_kinds), "grid_id"],
                  v.loc[v["kind"].isin(rng_kinds), "kind"])) == [(neighbour, "households_above_max")]
assert v.set_index("grid_id").loc[neighbour, "value"] == hh[small] + hh[neighbour]
assert error_set(full) - error_set(violations) == {("households_above_max", neighbour)}
assert edited_grids["households"].sum() == grids["households"].sum()
assert small not in set(edited_grids["id"])
passed("manual move")

# rebalance: few households moved, nothing else touched
assert fix.violations.empty
assert error_set(after) <= error_set(violations)
edited = repaired[repaired["community_id"] == comm_of_small]
assert band.contains(edited["households"]).all()
assert repaired["households"].sum() == grids["households"].sum()
assert (repaired.groupby("community_id")["households"].sum() == per_comm["households"]).all()
other = grids[grids["community_id"] != comm_of_small].set_index("id")["households"]
assert (repaired.set_index("id")["households"].reindex(other.index) == other).all()
assert 0 < fix.households_moved <= hh[small] + hh[neighbour]
passed("rebalance")

# grid codes: unique, in reading order, prefixed by the community code
comm_code = communities.set_index("id")["code"]
assert codes["code"].is_unique and codes["id"].is_unique
for cid, part in codes.groupby("community_id"):
    seq = sorted(part["code"].str[-2:].astype(int))
    assert seq == list(range(1, len(part) + 1)), cid
    assert (part["id"] == cid + "-G" + part["code"].str[-2:]).all()
    assert (part["code"].str[:12] == comm_code[cid]).all()
    area = g_m.area.to_numpy()[part.index]
    rank = reading_order(pts[part.index], row_height=settings["codes"]["row_height_share"]
                         * float(np.sqrt(area.mean())))
    assert (part["code"].str[-2:].astype(int).to_numpy() == rank + 1).all(), cid
assert (codes["code"].str.len() == 14).all()
passed("grid codes")

# maps
for name in ("04_explore.html", "04_grids.html", "04_grids_after_move.html"):
    html = (OUT / name).read_text(encoding="utf-8")
    assert base.external_resources(html) == [] and "L.map(" in html, name
assert neighbour in (OUT / "04_grids_after_move.html").read_text(encoding="utf-8")
passed("maps")
