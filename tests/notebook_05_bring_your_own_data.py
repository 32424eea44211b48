"""Checks of notebooks/05_bring_your_own_data.ipynb, run in its namespace after its last
cell (see tests/test_notebooks.py): the stand-in files are what the notebook says, the
imports read them right (GCJ-02 converted back to within a metre, Chinese columns
mapped), and grids, coverage and staffing ran on the new project.
"""

from beatgrid.gis.crs import to_metric


def passed(section: str) -> None:
    print(f"checks passed: {section} (with the sample's patterns)")


# the files: a moved extract (no download), cameras in GCJ-02 with Chinese columns
assert src.endswith("test.osm.pbf") and Path(src).exists()
assert osm["buildings"] == len(town["buildings"]) > 2000 and osm["streets"] > 300
assert town["buildings"].crs.to_epsg() == 4490            # in China now: CGCS2000
csv = pd.read_csv(DATA / "摄像头.csv")
assert list(csv.columns[:3]) == ["编号", "经度", "纬度"] and len(csv) == cams_read > 100
shift = to_metric(gpd.GeoSeries(gpd.points_from_xy(csv["经度"], csv["纬度"]), crs=4490)) \
    .distance(to_metric(gpd.GeoSeries(lonlat.to_numpy(), crs=4490)))
assert shift.between(200, 800).all()                      # GCJ-02 is offset by hundreds of m
passed("stand-in files")

# the imports: validated, logged, converted back to WGS-84 within a metre
assert check.ok
log = mine.store.imports().set_index("layer")
assert log.loc["cameras", "coords"] == "gcj02"
stored = mine.layer("cameras").set_index("id")
back = to_metric(gpd.GeoSeries(stored.loc[csv["编号"]].geometry.to_numpy(), crs=4490)) \
    .distance(to_metric(gpd.GeoSeries(lonlat.to_numpy(), crs=4490)))
assert back.max() < 1.0, back.max()
assert (stored.loc[csv["编号"], "direction"].to_numpy() == csv["朝向"].to_numpy()).all()
comms = mine.layer("communities")
assert sorted(comms["id"]) == ["SQ01", "SQ02", "SQ03", "SQ04"]
assert set(comms["station_id"]) == {"PCS1"} and comms["name"].str.endswith("社区").all()
assert sorted(mine.layer("beats")["id"]) == sorted(comms["id"])     # one beat per community
assert len(mine.layer("staff")) == 4
passed("imports")

# grids: every household of the extract in a grid of its community, in the band
stored_grids = mine.layer("grids")
assert len(stored_grids) == len(plan.grids) >= 4
assert plan.summary["share_in_range"] == 1.0 and not (plan.violations["severity"] == "error").any()
bld = mine.layer("buildings")
assert bld["grid_id"].notna().all()
assert stored_grids["households"].sum() == bld["households"].sum() == \
    plan.grids["households"].sum()
assert (stored_grids["id"].str[:4] == stored_grids["community_id"]).all()
passed("grids")

# coverage: every camera analysed; nested levels; written as derived layers
assert cover.n_cameras == len(csv)
for a, b in zip(levels, levels[1:]):
    assert (per_grid[f"seen_share_{b}"] <= per_grid[f"seen_share_{a}"] + 1e-9).all()
assert 0 < cover.zone_summary()["seen_share_all"].iloc[0] < 1
assert "camera_views" in mine.store.list_derived()
passed("coverage")

# staffing: the roster read; what cannot be judged is not counted as a shortfall
assert list(g.index) == ["SQ01", "SQ02", "SQ03", "SQ04"]
assert (g["officers_actual"].to_numpy() == [1, 1, 0, 1]).all()
assert "officers_per_beat" in g.loc["SQ03", "failed_rules"]        # no officer at all
assert any("not judged" in n for n in staffing.notes)
assert not g["failed_rules"].str.contains("floating_managers").any()   # no population data
passed("staffing")

html = (OUT / "05_your_project.html").read_text(encoding="utf-8")
assert base.external_resources(html) == [] and "SXT001" in html
passed("map")
