"""Checks of notebooks/01_district_overview.ipynb, run in its namespace after its last cell.

``tests/test_notebooks.py`` appends this file to the notebook as a final cell (so it
sees the notebook's variables) and counts the ``checks passed`` lines. The checks hold on
any project, then the sample district's documented patterns (``docs/sample.md``); the test
runs the notebook on the sample.
"""


from beatgrid.gis import schema


def passed(section: str) -> None:
    print(f"checks passed: {section} (with the sample's patterns)")


# population: every building counted once; the table adds up to the layer
assert tot["households"] == int(buildings["households"].sum())
assert (table["actual"] == table["registered"] + table["floating"]).all()
assert len(table) == 12 and (table["kind"] == "rural").sum() == 3
assert abs(tot["households"] - 30_000) < 300            # generated with households=30,000
assert 2 <= len(inverted) <= 3                          # 人口倒挂 in a few urban communities
assert set(table.loc[table["inverted"], "kind"]) == {"urban"}
passed("population")

# cameras: estate_id and location tell the same story; estate cameras are not road cameras
assert (cams["inside_by_attribute"] == cams["inside_by_location"]).all()
assert set(cams.loc[cams["inside_by_attribute"], "kind"]) <= {"estate_internal", "entrance"}
assert abs(len(cams) - hh_total / 100) < 10             # ~1 camera per 100 households
assert 0 < inside / len(cams) < 0.05                    # Jiangbei: 2.1 %
assert hh_in_estates / hh_total > 0.8                   # ... where most households live
passed("cameras")

# incidents: the monthly and hourly charts count every incident once
assert by_cat["incidents"].sum() == len(inc) == hours.sum() == monthly.to_numpy().sum()
assert monthly["preventable"].sum() == inc["preventable"].sum()
assert set(inc.loc[inc["preventable"], "category"]) == set(schema.PREVENTABLE_CATEGORIES)
assert abs(len(inc) - hh_total / 20) < 50 and 0.35 <= preventable_share <= 0.43
# incidents follow floating residents: the inverted communities have the highest rates
assert set(rate.index[:len(inverted)]) == set(inverted)
others = rate.drop(inverted)["per_100_households"]
assert rate.loc[inverted, "per_100_households"].min() > 1.5 * others.max()
assert 17 <= hours.idxmax() <= 21                       # evening peak
passed("incidents")

# old estates: the blind spots
assert compare["households"].sum() == hh_in_estates
assert compare["cameras"].sum() == inside
assert len(old) >= 10 and len(old_open) > len(old) / 2
assert (old_open["access_doors"] <= (0.4 * old_open["stairwells"]).round()).all()
assert old["year_built"].between(1980, 1999).all()
assert o["cameras_per_1000_hh"] < n["cameras_per_1000_hh"]
assert o["preventable_per_100_hh"] > 2 * n["preventable_per_100_hh"]
passed("old estates")

# maps: offline, with the layers drawn
for path in (OUT / "01_explore.html", OUT / "01_district_overview.html"):
    html = path.read_text(encoding="utf-8")
    assert base.external_resources(html) == [] and "L.map(" in html
assert "Old estates" in (OUT / "01_explore.html").read_text(encoding="utf-8")
passed("maps")
