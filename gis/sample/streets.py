"""Streets: arterials on community boundaries, local grids, curved and village roads.

Also the blocks the local grids leave (where buildings go), the hamlets of the village
committees, and two helpers the other steps use on the finished network: short pieces
for distance queries (:func:`road_pieces`) and random points along streets with a
direction to look in (:func:`road_points`, for road cameras and traffic incidents).

Examples
--------
>>> import numpy as np, shapely
>>> s = street_frame(np.array([shapely.LineString([(0, 0), (10, 0)]),
...                            shapely.LineString([(0, 0), (0.2, 0)])]), "lane")
>>> len(s), s["street_class"].tolist()
(1, ['lane'])
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import shapely

from beatgrid.gis.sample.common import (Params, Rng, cell_rects, names, only, rotate,
                                        segments_local, uniform)
from beatgrid.gis.sample.layout import Layout, Plan

MIN_STREET_PIECE_M = 0.5  # shorter pieces left by clipping are dropped
LOOK_M = 5.0              # a point this far along the street gives the view direction
WHOLE_BLOCK = 0.9         # share of a block inside its community that counts as whole
_COLLECTIONS = (4, 5, 6, 7)  # shapely type ids of multi-part geometries


def street_frame(geoms: Any, cls: Any, comm: Any = -1, rural: Any = False) -> pd.DataFrame:
    """Street records (geometry, street_class, comm, rural) of the line parts of ``geoms``.

    Clipping leftovers are dropped: points, empty results and pieces of
    :data:`MIN_STREET_PIECE_M` or less. A line clipped where it starts on, or grazes, a
    polygon's edge leaves pieces of ~1e-15 m; such a piece is a valid line in metres but
    both its ends round to the same lon/lat, so in CGCS2000 it is a one-point component
    ("Too few points in geometry component"). A street with nothing left is dropped
    (wherever it is in ``geoms``); the others keep their order.

    Examples
    --------
    >>> s = street_frame(np.array([shapely.LineString([(0, 0), (5, 0)])]), "lane", comm=2)
    >>> s[["street_class", "comm", "rural"]].values.tolist()
    [['lane', 2, False]]
    """
    n = len(geoms)
    parts, idx = _line_parts(np.asarray(geoms, dtype=object))
    keep = shapely.length(parts) > MIN_STREET_PIECE_M
    geoms = np.full(n, shapely.GeometryCollection(), dtype=object)
    if keep.any():
        owner, rank = np.unique(idx[keep], return_inverse=True)
        geoms[owner] = shapely.line_merge(shapely.multilinestrings(parts[keep], indices=rank))
    df = pd.DataFrame({"geometry": geoms,
                       "street_class": np.broadcast_to(np.asarray(cls, dtype=object), n),
                       "comm": np.broadcast_to(comm, n), "rural": np.broadcast_to(rural, n)})
    return df[~shapely.is_empty(geoms)].reset_index(drop=True)


def _line_parts(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The LineStrings in ``geoms`` (collections opened, in order) and whose they are."""
    parts, idx = shapely.get_parts(geoms, return_index=True)
    if np.isin(shapely.get_type_id(parts), _COLLECTIONS).any():  # a collection of multi-parts
        flat = [(q, i) for g, i in zip(parts, idx) for q in _flatten(g)]
        parts = np.array([q for q, _ in flat], dtype=object)
        idx = np.array([i for _, i in flat], dtype=np.intp)
    line = shapely.get_type_id(parts) == 1
    return parts[line], idx[line]


def _flatten(g: Any) -> list[Any]:
    if shapely.get_type_id(g) in _COLLECTIONS:
        return [q for p in shapely.get_parts(g) for q in _flatten(p)]
    return [g]


def arterials(lay: Layout, plan: Plan, p: Params, rng: Rng) -> pd.DataFrame:
    """Arterials on community boundaries: primary between stations, else secondary;
    village-village boundaries are roads only in part.

    Examples
    --------
    >>> from beatgrid.gis.config import load_settings
    >>> from beatgrid.gis.sample.layout import build_layout, plan_district
    >>> p, rng = load_settings("sample"), np.random.default_rng(0)
    >>> lay = build_layout(5000, p, rng)
    >>> plan = plan_district(lay, 5000, p, rng)
    >>> sorted(set(arterials(lay, plan, p, rng)["street_class"]))
    ['secondary']
    """
    i, j, shared = plan.pairs
    both_rural = lay.rural[i] & lay.rural[j]
    cls = np.where(plan.station[i] != plan.station[j], "primary",
                   np.where(both_rural, "tertiary", "secondary"))
    keep = ~both_rural | (rng.random(len(i)) < p["streets"]["rural_boundary_road_share"])
    return street_frame(shared[keep], cls[keep], rural=both_rural[keep])


def _positions(radius: float, spacing: Any, rng: Rng) -> np.ndarray:
    """Jittered street positions covering [-radius, radius]."""
    lo, hi = spacing
    steps = rng.uniform(lo, hi, int(2 * radius / lo) + 3)
    return -radius - rng.uniform(0, hi) + np.concatenate([[0.0], np.cumsum(steps)])


def urban_grid(lay: Layout, plan: Plan, p: Params, rng: Rng
               ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A rotated, jittered local street grid per urban community, and its blocks.

    Returns
    -------
    (streets, cells)
        :func:`street_frame` of the local streets; one row per block: ``comm``, local
        bounds ``u0 u1 v0 v1``, frame ``theta ox oy``, ``margin``, ``radius`` (NaN),
        ``full`` (share inside the community) and ``kind`` (what the block holds).

    Examples
    --------
    >>> from beatgrid.gis.config import load_settings
    >>> from beatgrid.gis.sample.layout import build_layout, plan_district
    >>> p, rng = load_settings("sample"), np.random.default_rng(0)
    >>> lay = build_layout(5000, p, rng)
    >>> plan = plan_district(lay, 5000, p, rng)
    >>> streets, cells = urban_grid(lay, plan, p, rng)
    >>> len(streets) > 0, sorted(set(cells["kind"]))[:3]
    (True, ['commercial', 'highrise', 'industrial'])
    """
    s = p["streets"]
    setback = s["setback_m"]
    margin = max(setback["tertiary"], setback["residential"])
    urban = np.flatnonzero(~lay.rural)
    xy, own = shapely.get_coordinates(lay.polys[urban], return_index=True)
    radius = np.zeros(len(lay.polys))
    radius[urban] = pd.Series(np.hypot(*(xy - lay.seeds[urban[own]]).T)).groupby(own).max() + 1
    lines, cells = [], []  # (comm, is_u, position, rank) and (comm, u0, u1, v0, v1)
    for c in urban:
        us, vs = (_positions(radius[c], s[key], rng) for key in ("block_u_m", "block_v_m"))
        for is_u, pos in ((1, us), (0, vs)):
            lines.append(np.column_stack([np.full(len(pos), c), np.full(len(pos), is_u), pos,
                                          np.arange(len(pos))]))
        gi, gj = (a.ravel() for a in np.meshgrid(np.arange(len(us) - 1), np.arange(len(vs) - 1)))
        cells.append(np.column_stack([np.full(len(gi), c), us[gi], us[gi + 1], vs[gj],
                                      vs[gj + 1]]))
    comm, is_u, pos, rank = np.vstack(lines).T
    comm, is_u = comm.astype(int), is_u.astype(bool)
    r = radius[comm]
    geom = segments_local(np.where(is_u, pos, -r), np.where(is_u, -r, pos),
                          np.where(is_u, pos, r), np.where(is_u, r, pos),
                          plan.theta[comm], lay.seeds[comm, 0], lay.seeds[comm, 1])
    geom = only(shapely.intersection(geom, lay.polys[comm]), 1)
    cls = np.where(rank % s["tertiary_every"] == np.where(is_u, 0, 1), "tertiary",
                   "residential")
    ok = shapely.length(geom) > 2 * margin
    cells = pd.DataFrame(np.vstack(cells), columns=["comm", "u0", "u1", "v0", "v1"])
    cells["comm"] = cells["comm"].astype(int)
    c = cells["comm"].to_numpy()
    cells["theta"], cells["ox"], cells["oy"] = plan.theta[c], lay.seeds[c, 0], lay.seeds[c, 1]
    cells["margin"], cells["radius"] = margin, np.nan
    rect = cell_rects(cells)
    inner = shapely.buffer(lay.polys, -max(setback["primary"], setback["secondary"]),
                           join_style="mitre")
    cells["full"] = shapely.area(shapely.intersection(rect, inner[c])) / shapely.area(rect)
    cells = cells[cells["full"] > 0].reset_index(drop=True)
    cells["kind"] = _block_kinds(cells["comm"].to_numpy(), cells["full"].to_numpy(), plan, p, rng)
    return street_frame(geom[ok], cls[ok], comm=comm[ok]), cells


def _block_kinds(comm: np.ndarray, full: np.ndarray, plan: Plan, p: Params, rng: Rng
                 ) -> np.ndarray:
    """What each urban block holds: shops/offices/schools/workshops, urban villages (in
    inversion communities), a fixed number of old walk-up estates near the core, high-rises."""
    b = p["blocks"]
    n = len(comm)
    kind = np.full(n, "highrise", dtype=object)
    kind[plan.inversion[comm] & (rng.random(n) < b["urban_village_share"])] = "urban_village"
    nonres = rng.random(n) < b["nonresidential_share"]
    kinds = list(b["nonresidential_kinds"])
    weight = np.array([b["nonresidential_kinds"][k] for k in kinds], dtype=float)
    kind[nonres] = rng.choice(kinds, nonres.sum(), p=weight / weight.sum())
    free = np.flatnonzero((kind == "highrise") & (plan.oldness[comm] > 0))
    n_old = min(len(free), round(b["old_estates_per_10000_households"]
                                 * plan.target.sum() / 10000))
    if n_old:  # whole blocks (not cut by the community edge) near the core
        w = plan.oldness[comm[free]] * (full[free] > WHOLE_BLOCK) + 1e-9
        kind[rng.choice(free, n_old, replace=False, p=w / w.sum())] = "walkup"
    return kind


def curved_roads(lay: Layout, p: Params, rng: Rng) -> pd.DataFrame:
    """Long curved or diagonal roads crossing the district through the urban area.

    Examples
    --------
    >>> from beatgrid.gis.config import load_settings
    >>> from beatgrid.gis.sample.layout import build_layout, plan_district
    >>> p, rng = load_settings("sample"), np.random.default_rng(0)
    >>> lay = build_layout(5000, p, rng)
    >>> plan = plan_district(lay, 5000, p, rng)
    >>> curved_roads(lay, p, rng)["street_class"].tolist()
    ['secondary']
    """
    s = p["streets"]
    x0, y0, x1, y1 = lay.urban_box
    n = max(1, round(math.sqrt((x1 - x0) * (y1 - y0)) / s["curved_road_spacing_m"]))
    start = np.column_stack([rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)])
    heading = rng.uniform(0, np.pi, n)
    length = 2 * np.hypot(*(np.array(lay.outline.bounds[2:]) - lay.outline.bounds[:2]))
    amp, wave = uniform(rng, s["curve_amplitude_m"], n), uniform(rng, s["curve_wavelength_m"], n)
    phase = rng.uniform(0, 2 * np.pi, n)
    t = np.arange(-length / 2, length / 2, s["segment_m"])[None]
    off = amp[:, None] * np.sin(2 * np.pi * t / wave[:, None] + phase[:, None])
    x, y = rotate(t, off, heading[:, None])
    lines = shapely.linestrings(np.stack([x + start[:, :1], y + start[:, 1:]], -1))
    clipped = only(shapely.intersection(lines, lay.outline), 1)
    ok = ~shapely.is_empty(clipped)
    return street_frame(clipped[ok], "secondary")


def villages(lay: Layout, plan: Plan, p: Params, rng: Rng
             ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hamlets (as site groups, disks of houses) of every village committee and the
    roads joining them.

    Returns
    -------
    (groups, roads)
        One row per hamlet (the columns of :func:`urban_grid` blocks, ``radius`` set,
        ``kind`` "house") and a :func:`street_frame` of village roads.

    Examples
    --------
    >>> from beatgrid.gis.config import load_settings
    >>> from beatgrid.gis.sample.layout import build_layout, plan_district
    >>> p, rng = load_settings("sample"), np.random.default_rng(0)
    >>> lay = build_layout(5000, p, rng)
    >>> plan = plan_district(lay, 5000, p, rng)
    >>> hamlets, roads = villages(lay, plan, p, rng)
    >>> set(hamlets["kind"]), bool(roads["rural"].all())
    ({'house'}, True)
    """
    v, house = p["villages"], p["buildings"]["house"]
    setback = p["streets"]["setback_m"]
    pitch = (np.mean(house["length_m"]) + np.mean(house["gap_m"])) * \
        (np.mean(house["depth_m"]) + np.mean(house["row_gap_m"]))
    per_house = np.mean(house["households"])
    groups, roads = [], []
    for c in np.flatnonzero(lay.rural):
        poly = lay.polys[c]
        n_h = max(1, round(plan.target[c] / v["hamlet_households"]))
        houses = plan.target[c] / per_house / n_h
        radius = math.sqrt(v["site_slack"] * houses * pitch / math.pi)
        centres = _hamlet_centres(poly, n_h, radius, setback["primary"], v["hamlet_gap_m"], rng)
        k = len(centres)
        groups.append(pd.DataFrame({
            "comm": c, "theta": rng.uniform(0, np.pi, k), "ox": centres[:, 0],
            "oy": centres[:, 1], "u0": -radius, "u1": radius, "v0": -radius, "v1": radius,
            "margin": 0.0, "radius": radius, "kind": "house"}))
        roads.append(_village_road(poly, centres, v["road_wiggle"], rng))
    groups = pd.concat(groups, ignore_index=True) if groups else pd.DataFrame()
    return groups, street_frame(np.array(roads, dtype=object), "tertiary", rural=True)


def _hamlet_centres(poly: Any, n: int, radius: float, setback: float, gap: float, rng: Rng
                    ) -> np.ndarray:
    area = shapely.buffer(poly, -(radius + setback), join_style="mitre")
    if area.is_empty:
        return np.array(shapely.get_coordinates(shapely.point_on_surface(poly)))
    x0, y0, x1, y1 = area.bounds
    cand = np.column_stack([rng.uniform(x0, x1, 64 * n), rng.uniform(y0, y1, 64 * n)])
    cand = cand[shapely.contains_xy(area, cand[:, 0], cand[:, 1])]
    chosen: list[np.ndarray] = []
    for pt in cand:
        if all(np.hypot(*(pt - q)) > 2 * radius + gap for q in chosen):
            chosen.append(pt)
            if len(chosen) == n:
                break
    if not chosen:
        chosen = [shapely.get_coordinates(shapely.point_on_surface(area))[0]]
    return np.array(chosen)


def _village_road(poly: Any, centres: np.ndarray, wiggle: float, rng: Rng) -> Any:
    """A winding road from the community edge through every hamlet to the edge again."""
    axis = centres[:, 0] if np.ptp(centres[:, 0]) >= np.ptp(centres[:, 1]) else centres[:, 1]
    pts = centres[np.argsort(axis)]
    edge = shapely.boundary(poly)
    ends = [shapely.get_coordinates(shapely.shortest_line(edge, shapely.Point(q)))[0]
            for q in (pts[0], pts[-1])]
    path = np.vstack([ends[0], pts, ends[1]])
    mid = (path[1:] + path[:-1]) / 2
    seg = path[1:] - path[:-1]
    normal = np.column_stack([-seg[:, 1], seg[:, 0]])
    mid += normal * rng.uniform(-wiggle, wiggle, (len(mid), 1))
    coords = np.empty((2 * len(path) - 1, 2))
    coords[0::2], coords[1::2] = path, mid
    return only([shapely.intersection(shapely.LineString(coords), poly)], 1)[0]


def name_streets(streets: pd.DataFrame, rng: Rng) -> pd.DataFrame:
    """A copy of ``streets`` with a ``name`` (suffix by class: 大道, 路, 街, 巷, 弄...).

    Examples
    --------
    >>> s = street_frame(np.array([shapely.LineString([(0, 0), (50, 0)])]), "secondary")
    >>> name_streets(s, np.random.default_rng(0))["name"].str.endswith("路").tolist()
    [True]
    """
    suffix = {"primary": ["大道", "路"], "secondary": ["路"], "tertiary": ["路", "街"],
              "residential": ["街", "巷"], "service": ["支路"], "lane": ["弄", "巷"]}
    out = np.empty(len(streets), dtype=object)
    for cls, suf in suffix.items():
        m = (streets["street_class"] == cls).to_numpy()
        out[m] = names(int(m.sum()), suf, rng, unique=False)
    streets = streets.copy()
    streets["name"] = out
    return streets


def road_pieces(roads: pd.DataFrame, seg: float) -> tuple[np.ndarray, np.ndarray]:
    """Short straight pieces of ``roads`` (for fast distance queries) and their road index.

    Examples
    --------
    >>> s = street_frame(np.array([shapely.LineString([(0, 0), (30, 0)])]), "lane")
    >>> pieces, owner = road_pieces(s, 10.0)
    >>> len(pieces), owner.tolist()
    (3, [0, 0, 0])
    """
    parts, owner = shapely.get_parts(roads["geometry"].to_numpy(), return_index=True)
    parts = shapely.segmentize(parts, seg)
    xy, idx = shapely.get_coordinates(parts, return_index=True)
    same = idx[1:] == idx[:-1]
    pieces = shapely.linestrings(np.stack([xy[:-1][same], xy[1:][same]], axis=1))
    return pieces, owner[idx[:-1][same]]


def road_points(streets: pd.DataFrame, n: int, class_weight: Params, rural_weight: float,
                rng: Rng) -> pd.DataFrame:
    """``n`` random points on streets (weighted by length x class weight, rural roads
    down-weighted), each with a point ``look`` along the street one way or the other.

    Examples
    --------
    >>> from beatgrid.gis.config import load_settings
    >>> from beatgrid.gis.sample.layout import build_layout, plan_district
    >>> p, rng = load_settings("sample"), np.random.default_rng(0)
    >>> lay = build_layout(5000, p, rng)
    >>> plan = plan_district(lay, 5000, p, rng)
    >>> roads = arterials(lay, plan, p, rng)
    >>> pts = road_points(roads, 5, p["cameras"]["class_weight"],
    ...                   p["cameras"]["rural_road_weight"], rng)
    >>> len(pts), list(pts.columns)
    (5, ['kind', 'estate', 'geometry', 'look'])
    """
    cls = streets["street_class"].to_numpy()
    geom = streets["geometry"].to_numpy()
    length = shapely.length(geom)
    w = length * np.array([class_weight.get(k, 0.0) for k in cls])
    w *= np.where(streets["rural"].to_numpy(dtype=bool), rural_weight, 1.0)
    idx = rng.choice(len(streets), n, p=w / w.sum())
    pos = rng.random(n) * length[idx]
    pt = shapely.line_interpolate_point(geom[idx], pos)
    ahead = shapely.line_interpolate_point(geom[idx], np.minimum(pos + LOOK_M, length[idx]))
    behind = shapely.line_interpolate_point(geom[idx], np.maximum(pos - LOOK_M, 0))
    flip = rng.random(n) < 0.5  # looking one way or the other along the street
    a, b = np.where(flip, ahead, behind), np.where(flip, behind, ahead)
    xy = shapely.get_coordinates(pt)
    look = xy + (shapely.get_coordinates(b) - shapely.get_coordinates(a))
    return pd.DataFrame({"kind": "road", "estate": np.nan, "geometry": pt,
                         "look": list(map(tuple, look))})
