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


# -- the benchmark families of issue 10 -------------------------------------------------

def _voronoi_streets(box: tuple[float, float, float, float], n_blocks: int, rng) -> np.ndarray:
    """Street lines: the edges of the Voronoi diagram of jittered block seeds in ``box``."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    cols = max(1, int(round(np.sqrt(n_blocks * w / h))))
    rows = max(1, int(np.ceil(n_blocks / cols)))
    gx, gy = np.meshgrid((np.arange(cols) + 0.5) * w / cols, (np.arange(rows) + 0.5) * h / rows)
    pts = np.column_stack([x0 + gx.ravel(), y0 + gy.ravel()])
    pts += rng.uniform(-0.35, 0.35, pts.shape) * [w / cols, h / rows]
    frame = shapely.box(*box)
    regions = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts),
                                                         extend_to=frame))
    regions = shapely.intersection(regions, frame)
    edges = shapely.union_all(shapely.boundary(regions))
    edges = shapely.difference(edges, shapely.buffer(shapely.boundary(frame), 0.5))
    return shapely.get_parts(shapely.line_merge(edges))


def _lattice_buildings(box: tuple[float, float, float, float], streets: np.ndarray,
                       spacing: float, rng) -> np.ndarray:
    """Rectangular footprints on a jittered lattice, clear of the streets (4 m)."""
    x0, y0, x1, y1 = box
    gx, gy = np.meshgrid(np.arange(x0 + 4, x1 - spacing * 0.6, spacing),
                         np.arange(y0 + 4, y1 - spacing * 0.4, spacing * 0.8))
    gx = gx.ravel() + rng.uniform(-2, 2, gx.size)
    gy = gy.ravel() + rng.uniform(-2, 2, gy.size)
    bw = spacing * rng.uniform(0.4, 0.6, gx.size)
    bh = spacing * rng.uniform(0.25, 0.4, gx.size)
    boxes = shapely.box(gx, gy, gx + bw, gy + bh)
    tree = shapely.STRtree(shapely.buffer(streets, 4.0, quad_segs=1))
    hit = np.unique(tree.query(boxes, predicate="intersects")[0])
    keep = np.ones(len(boxes), bool)
    keep[hit] = False
    return boxes[keep]


def _frames(comms: list, cids: list, streets: np.ndarray, boxes: np.ndarray,
            households: np.ndarray, storage_epsg: int | None) -> dict:
    x0, y0 = ORIGIN
    move = lambda g: shapely.transform(g, lambda xy: xy + [x0, y0])  # noqa: E731
    comm_geo = move(np.array(comms, dtype=object))
    bld_geo = move(boxes)
    tree = shapely.STRtree(comm_geo)
    bi, ci = tree.query(shapely.point_on_surface(bld_geo), predicate="intersects")
    bcomm = np.full(len(boxes), None, dtype=object)
    bcomm[bi] = np.array(cids, dtype=object)[ci]
    crs = METRIC_EPSG
    out = {
        "communities": gpd.GeoDataFrame({
            "id": cids, "name": [f"Community {c}" for c in cids], "kind": "urban",
            "code": [f"3302050010{i:02d}" for i in range(len(cids))],
            "subdistrict_code": "001", "subdistrict": "Test"}, geometry=list(comm_geo), crs=crs),
        "streets": gpd.GeoDataFrame({"id": [f"S{i}" for i in range(len(streets))],
                                     "street_class": "residential"},
                                    geometry=list(move(streets)), crs=crs),
        "buildings": gpd.GeoDataFrame({
            "id": [f"B{i:06d}" for i in range(len(boxes))], "households": households,
            "community_id": bcomm, "estate_id": None}, geometry=list(bld_geo), crs=crs),
        "estates": gpd.GeoDataFrame({"id": []}, geometry=[], crs=crs),
    }
    if storage_epsg is not None:
        out = {k: v.to_crs(storage_epsg) for k, v in out.items()}
    return out


def big_community(*, buildings: int = 2000, seed: int = 0, households=(20, 199),
                  skew: float = 2.7, buildings_per_block: float = 12.0, spacing_m: float = 28.0,
                  storage_epsg: int | None = 4490) -> dict:
    """One community around everything (a city's buildings imported before the committee
    boundaries): a square of Voronoi-like street blocks with about ``buildings``
    buildings of ``households`` households (skewed to small walk-ups, mean about 68
    with 20-199: about 870,000 households for 12,800 buildings, as in issue 10)."""
    rng = np.random.default_rng(seed)
    side = float(np.sqrt(buildings * spacing_m * spacing_m * 0.8 / 0.62))
    box = (0.0, 0.0, side, side)
    streets = _voronoi_streets(box, max(1, int(buildings / buildings_per_block)), rng)
    boxes = _lattice_buildings(box, streets, spacing_m, rng)
    if len(boxes) > buildings:
        boxes = boxes[np.sort(rng.choice(len(boxes), buildings, replace=False))]
    lo, hi = households
    hh = (lo + np.floor((hi - lo + 1) * rng.random(len(boxes)) ** skew)).astype(int)
    return _frames([shapely.box(*box)], ["C000"], streets, boxes, np.minimum(hh, hi),
                   storage_epsg)


def large_building_district(*, communities: int = 40, seed: int = 0,
                            community_households=(2000, 20000), households=(0, 300),
                            buildings_per_block: float = 6.0, spacing_m: float = 32.0,
                            storage_epsg: int | None = 4490) -> dict:
    """Communities of 2,000-20,000 households whose buildings hold 0-300 households each
    (issue 10's "large buildings" family): rows of rectangular communities, widths
    proportional to their households, Voronoi-like street blocks across them."""
    rng = np.random.default_rng(seed)
    lo, hi = households
    target = rng.uniform(*community_households, communities)
    n_bld = np.maximum(3, np.round(target / ((lo + hi) / 2))).astype(int)
    per_row = max(1, int(round(np.sqrt(communities))))
    height = 12 * spacing_m
    cell_area = spacing_m * spacing_m * 0.8 / 0.62
    widths = n_bld * cell_area / height
    comms, cids = [], []
    y = 0.0
    for r in range(0, communities, per_row):
        x = 0.0
        for c in range(r, min(r + per_row, communities)):
            comms.append(shapely.box(x, y, x + widths[c], y + height))
            cids.append(f"C{c:03d}")
            x += widths[c]
        y += height
    xmax = max(g.bounds[2] for g in comms)
    box = (0.0, 0.0, xmax, y)
    streets = _voronoi_streets(box, max(1, int(n_bld.sum() / buildings_per_block)), rng)
    boxes = _lattice_buildings(box, streets, spacing_m, rng)
    hh = rng.integers(lo, hi + 1, len(boxes))
    return _frames(comms, cids, streets, boxes, hh, storage_epsg)
