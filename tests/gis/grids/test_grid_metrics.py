"""Grid metrics, plan summary, households moved and hierarchical codes."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.affinity
from grid_fixtures import METRIC_EPSG, ORIGIN

from beatgrid.gis.config import default_config
from beatgrid.gis.grids.band import Band
from beatgrid.gis.grids.codes import assign_codes, reading_order
from beatgrid.gis.grids.metrics import grid_metrics, households_moved, plan_summary


def _gdf(data, geoms, crs=METRIC_EPSG):
    return gpd.GeoDataFrame(data, geometry=[shapely.affinity.translate(g, *ORIGIN)
                                            for g in geoms], crs=crs)


def test_compactness_street_share_and_estates():
    grids = _gdf({"id": ["A", "B"], "community_id": "C", "households": [350, 520]},
                 [shapely.box(0, 0, 100, 100), shapely.box(100, 0, 400, 100)])
    comm = _gdf({"id": ["C"]}, [shapely.box(0, 0, 400, 100)])
    street = _gdf({"id": ["s"]}, [shapely.LineString([(100, -10), (100, 50)])])
    bld = _gdf({"id": ["1", "2", "3"], "households": [350, 300, 220],
                "grid_id": ["A", "B", "B"], "estate_id": ["E", "E", None]},
               [shapely.box(10, 10, 20, 20), shapely.box(110, 10, 120, 20),
                shapely.box(300, 10, 310, 20)])
    m = grid_metrics(grids, communities=comm, streets=street, buildings=bld).set_index("id")
    assert abs(m.loc["A", "polsby_popper"] - np.pi / 4) < 1e-3
    assert abs(m.loc["A", "convex_hull_ratio"] - 1) < 1e-9
    assert abs(m.loc["A", "street_border_share"] - 0.5) < 0.05  # half the shared side
    assert m.loc["B", "households"] == 520 and not m.loc["B", "in_range"]
    assert m.loc["A", "estates_split"] == 1 and m.loc["B", "estates_split"] == 1
    s = plan_summary(m.reset_index(), band=Band(300, 500, 400))
    assert s["grids"] == 2 and s["share_in_range"] == 0.5 and s["largest_deviation"] == 120
    assert s["estates_split"] == 2 and s["min"] == 350 and s["max"] == 520


def test_households_moved_ignores_renaming():
    old = pd.Series(["a", "a", "b", "b"])
    assert households_moved(pd.Series(["x", "x", "y", "y"]), old, pd.Series([1, 2, 3, 4])) == 0
    assert households_moved(pd.Series(["x", "y", "y", "y"]), old, pd.Series([1, 2, 3, 4])) == 2


def test_codes_west_to_east_north_to_south():
    boxes = [shapely.box(x, y, x + 100, y + 100) for y in (100, 0) for x in (0, 100, 200)]
    grids = _gdf({"community_id": ["C"] * 6}, boxes[::-1]).to_crs(4490)  # given in reverse
    comm = pd.DataFrame({"id": ["C"], "code": ["330205001002"], "subdistrict_code": ["001"]})
    ids, codes = assign_codes(grids, comm)
    order = [c[-2:] for c in codes][::-1]  # back to the reading order of `boxes`
    assert order == ["01", "02", "03", "04", "05", "06"]
    assert all(c.startswith("330205001002") and len(c) == 14 for c in codes)
    assert sorted(ids) == [f"C-G{i:02d}" for i in range(1, 7)]


def test_codes_fallback_format_and_taken_ids():
    grids = _gdf({"community_id": ["X"]}, [shapely.box(0, 0, 10, 10)]).to_crs(4490)
    s = default_config().replace(
        grids={"codes": {"fallback_format": "{community_id}/{seq:03d}"}}).grids
    ids, codes = assign_codes(grids, pd.DataFrame({"id": ["X"], "code": [""]}), settings=s,
                              taken={"X-G01"})
    assert ids == ["X-G02"] and codes == ["X/002"]


def test_reading_order_rows():
    pts = np.array([[5, 0], [0, 0.1], [0, 10], [5, 10.2]])
    assert reading_order(pts, row_height=2).tolist() == [3, 2, 0, 1]
