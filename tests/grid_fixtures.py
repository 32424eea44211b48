"""Synthetic communities for the grid tests and the grid benchmark.

A district is a row x column arrangement of communities (jittered rectangles sharing
borders), crossed by a jittered street lattice with some dead-end lanes, with
rectangular buildings in rows inside each block and random households. Everything is
built in the metric CGCS2000 Gauss-Kruger zone of Ningbo and stored in EPSG:4490.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

METRIC_EPSG = 4550  # CGCS2000 / 3-degree GK CM 121E
ORIGIN = (359_000.0, 3_306_000.0)


def make_district(*, rows: int = 1, cols: int = 1, community_m: float = 500.0,
                  street_spacing_m: float = 110.0, households_per_building=(0, 60),
                  building_m: float = 18.0, seed: int = 0, lanes: bool = True,
                  buildings_per_block: int | None = None, storage_epsg: int = 4490) -> dict:
    """A synthetic district: dict with communities, streets, buildings, estates (EPSG:4490)."""
    rng = np.random.default_rng(seed)
    x0, y0 = ORIGIN
    width, height = cols * community_m, rows * community_m
    # community boundaries: jittered lattice of corner points
    cx = np.linspace(0, width, cols + 1)
    cy = np.linspace(0, height, rows + 1)
    jit = community_m * 0.06
    px = cx[None, :] + np.where((np.arange(cols + 1) > 0) & (np.arange(cols + 1) < cols),
                                rng.uniform(-jit, jit, (rows + 1, cols + 1)), 0)
    py = cy[:, None] + np.where(((np.arange(rows + 1) > 0) & (np.arange(rows + 1) < rows))[:, None],
                                rng.uniform(-jit, jit, (rows + 1, cols + 1)), 0)
    comms, cids = [], []
    for r in range(rows):
        for c in range(cols):
            ring = [(px[r, c], py[r, c]), (px[r, c + 1], py[r, c + 1]),
                    (px[r + 1, c + 1], py[r + 1, c + 1]), (px[r + 1, c], py[r + 1, c])]
            comms.append(shapely.Polygon([(x0 + x, y0 + y) for x, y in ring]))
            cids.append(f"C{r}{c:02d}")
    # streets: jittered lattice of polylines spanning the district (plus margins)
    streets = []
    m = street_spacing_m
    for x in np.arange(m * rng.uniform(0.4, 0.8), width, m):
        ys = np.linspace(-20, height + 20, 8)
        xs = x + rng.normal(0, m * 0.05, len(ys))
        streets.append(shapely.LineString([(x0 + a, y0 + b) for a, b in zip(xs, ys)]))
    for y in np.arange(m * rng.uniform(0.4, 0.8), height, m * 0.9):
        xs = np.linspace(-20, width + 20, 8)
        ys = y + rng.normal(0, m * 0.05, len(xs))
        streets.append(shapely.LineString([(x0 + a, y0 + b) for a, b in zip(xs, ys)]))
    if lanes:  # dead-end lanes
        for _ in range(int(width * height / (m * m) / 3)):
            ax, ay = rng.uniform(0, width), rng.uniform(0, height)
            ang = rng.uniform(0, 2 * np.pi)
            length = rng.uniform(20, 60)
            streets.append(shapely.LineString([(x0 + ax, y0 + ay), (
                x0 + ax + length * np.cos(ang), y0 + ay + length * np.sin(ang))]))
    street_geoms = np.array(streets, dtype=object)
    # buildings: a regular arrangement, dropped where they touch a street
    b = building_m
    step = b * 1.8
    gx, gy = np.meshgrid(np.arange(5, width - b, step), np.arange(5, height - b * 0.6, step * 0.8))
    gx = gx.ravel() + rng.uniform(-2, 2, gx.size)
    gy = gy.ravel() + rng.uniform(-2, 2, gy.size)
    boxes = shapely.box(x0 + gx, y0 + gy, x0 + gx + b * rng.uniform(0.6, 1.0, gx.size),
                        y0 + gy + b * 0.5 * rng.uniform(0.6, 1.0, gx.size))
    road = shapely.union_all(shapely.buffer(street_geoms, 3.0))
    keep = ~shapely.intersects(boxes, road)
    # a few buildings crossing a street on purpose (passages over lanes)
    cross = rng.random(gx.size) < 0.01
    boxes = boxes[keep | cross]
    if buildings_per_block is not None:
        boxes = boxes[rng.random(len(boxes)) < buildings_per_block]
    lo, hi = households_per_building
    hh = rng.integers(lo, hi + 1, len(boxes))
    hh[rng.random(len(boxes)) < 0.1] = 0  # shops, schools
    comm_arr = np.array(comms, dtype=object)
    tree = shapely.STRtree(comm_arr)
    pts = shapely.point_on_surface(boxes)
    bi, ci = tree.query(pts, predicate="intersects")
    bcomm = np.full(len(boxes), None, dtype=object)
    bcomm[bi] = np.array(cids, dtype=object)[ci]
    # estates: a few rectangles
    estates, eids = [], []
    for k in range(max(1, rows * cols * 2)):
        ex, ey = rng.uniform(0, width - 150), rng.uniform(0, height - 150)
        estates.append(shapely.box(x0 + ex, y0 + ey, x0 + ex + 150, y0 + ey + 120))
        eids.append(f"E{k:03d}")
    est_arr = np.array(estates, dtype=object)
    etree = shapely.STRtree(est_arr)
    bi, ei = etree.query(pts, predicate="within")
    best = np.full(len(boxes), None, dtype=object)
    best[bi] = np.array(eids, dtype=object)[ei]
    crs = METRIC_EPSG
    out = {
        "communities": gpd.GeoDataFrame({
            "id": cids, "name": [f"Community {c}" for c in cids], "kind": "urban",
            "code": [f"3302050010{i:02d}" for i in range(len(cids))],
            "subdistrict_code": "001", "subdistrict": "Test"},
            geometry=comms, crs=crs),
        "streets": gpd.GeoDataFrame({"id": [f"S{i}" for i in range(len(streets))],
                                     "street_class": "residential"},
                                    geometry=list(street_geoms), crs=crs),
        "buildings": gpd.GeoDataFrame({
            "id": [f"B{i:05d}" for i in range(len(boxes))], "households": hh,
            "community_id": bcomm, "estate_id": best},
            geometry=list(boxes), crs=crs),
        "estates": gpd.GeoDataFrame({"id": eids}, geometry=estates, crs=crs),
    }
    if storage_epsg is not None:
        out = {k: v.to_crs(storage_epsg) for k, v in out.items()}
    return out


def test_make_district_shapes():
    d = make_district(rows=1, cols=2, seed=1)
    assert len(d["communities"]) == 2
    assert d["buildings"]["households"].sum() > 0
    assert d["communities"].crs.to_epsg() == 4490
