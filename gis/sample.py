"""Deterministic synthetic sample district: a Ningbo Jiangbei-like city edge, every layer.

:func:`generate_district` builds a complete BeatGrid project (every layer of
:data:`beatgrid.gis.schema.LAYER_ORDER`, EPSG:4490) from a household count and a seed.
The same seed always gives the same frames. The district is modelled on the seeds at
reduced scale (see ``docs/sample.md``):

- communities (one beat each, ~2,500 households) tile the district exactly: Voronoi cells
  of jittered seeds; village committees (rural) form the northern edge; ~6 communities per
  police station, ~4 adjacent beats per responsibility area;
- streets: arterials along community boundaries, a rotated local grid per urban community
  with jittered spacing, long curved roads, village roads through the hamlets, lanes and
  estate service roads between building rows;
- buildings: rotated rectangles set back from every street, never overlapping: old
  6-storey walk-ups (24-36 households), high-rises (60-200), urban-village rental houses,
  village houses (1-2), shops, offices, schools, workshops; households add up to the
  request per community; floating residents exceed registered ones (人口倒挂) in a few;
- estates around blocks of housing, the old ones mostly open with few access doors;
- cameras (~1 per 100 households) mostly on roads, a few percent inside estates;
- a year of incidents following floating residents; key places; police rooms with office
  conditions; a staff roster in which some beats fall short of the seeds' rules;
- governance grids: a second, partly shifted tessellation that mostly nests in the beats.

Everything is computed with vectorised numpy / shapely array operations in a local
Gauss-Kruger frame and converted to CGCS2000 at the end; the generator scales to a
million households. Parameters live in ``gis/defaults/sample.toml``. No file I/O here:
``beatgrid sample --out P.gpkg`` writes the result with
:func:`beatgrid.gis.io.project.write_layers`.

Examples
--------
>>> from beatgrid.gis.sample import generate_district
>>> layers = generate_district(households=5000, seed=1)
>>> sorted(layers) == sorted(schema.LAYER_ORDER)
True
>>> abs(int(layers["buildings"]["households"].sum()) - 5000) < 250
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
import shapely.ops

from . import schema
from .crs import gauss_kruger_3deg_epsg
from .errors import InputError
from .settings import load_settings

#: Smallest district the generator makes (the CLI refuses fewer households too).
MIN_HOUSEHOLDS = 1000
STORAGE_EPSG = 4490
MIN_STREET_PIECE_M = 0.5  # shorter pieces left by clipping are dropped
LOOK_M = 5.0              # cameras: a point this far along the view gives the direction
KMEANS_ROUNDS = 20        # Lloyd iterations placing station / area centres
OUTLINE_HARMONICS = 4     # smoothness of the district outline's wobble
WHOLE_BLOCK = 0.9         # share of a block inside its community that counts as whole
RESIDENTIAL_KINDS = ("walkup", "highrise", "urban_village", "house")
ESTATE_KINDS = ("walkup", "highrise")
LANE_CLASS = {"walkup": "lane", "urban_village": "lane", "house": "lane", "highrise": "service"}
_NAME_A = "白孔庄洪甬慈文中槐大清湾桃梅柳双新半姚城畈湖海山桥塘河泉林竹兰荷丰康乐宁和安福寿春云"
_NAME_B = "沙浦桥塘江湖园苑河山湾港岙家洋田庙堰溪岭浜墩头洲坊里"
_KEY_PLACE_NAMES = {"rental_house": "出租房", "hotel": "宾馆", "ktv": "KTV", "internet_cafe": "网吧",
                    "massage_parlour": "足浴店", "courier": "快递网点",
                    "construction_site": "建筑工地", "key_unit": "重点单位"}


# --------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------

def generate_district(*, households: int = 30000, seed: int = 0, settings=None) -> dict:
    """Generate the synthetic sample district: every project layer, deterministic per seed.

    Parameters
    ----------
    households
        Households in the district (at least :data:`MIN_HOUSEHOLDS`). Communities
        (~2,500 households each), stations, buildings, cameras and incidents scale with it.
    seed
        Seed of the numpy random generator; the same seed gives identical frames.
    settings
        Overrides of ``gis/defaults/sample.toml``: a dict or a TOML path with a subset
        of its keys.

    Returns
    -------
    dict
        Layer name (all of :data:`schema.LAYER_ORDER`) to a frame conformed to the
        schema: GeoDataFrames in EPSG:4490, ``staff`` a DataFrame, ``grids`` empty.

    Examples
    --------
    >>> layers = generate_district(households=5000, seed=3)
    >>> len(layers["stations"]), len(layers["communities"]), layers["beats"]["id"].iloc[0]
    (1, 4, 'B01')
    >>> schema.validate_project(layers).ok
    True
    """
    if isinstance(households, bool) or not isinstance(households, (int, np.integer)) \
            or households < MIN_HOUSEHOLDS:
        raise InputError(f"households={households!r} is not a whole number >= {MIN_HOUSEHOLDS}",
                         fix=f"give at least {MIN_HOUSEHOLDS} households")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed={seed!r} is not a non-negative whole number",
                         fix="give a seed such as 0")
    p = load_settings("sample", settings)
    rng = np.random.default_rng(int(seed))
    lay = _layout(int(households), p, rng)
    plan = _plan(lay, int(households), p, rng)
    streets = [_arterials(lay, plan, p, rng)]
    local, cells = _urban_grid(lay, plan, p, rng)
    curved = _curved_roads(lay, p, rng)
    hamlets, village_roads = _villages(lay, plan, p, rng)
    streets += [local, curved, village_roads]
    groups = pd.concat([cells, hamlets], ignore_index=True)
    sites = _sites(groups, lay, p, rng)
    sites = _clear_of_roads(sites, pd.concat([curved, village_roads], ignore_index=True), p)
    buildings = _allocate(sites, plan, p, rng)
    streets.append(_lanes(buildings, groups, lay, p))
    streets = _name_streets(pd.concat(streets, ignore_index=True), rng)
    estates = _estates(buildings, lay, pd.concat([curved, village_roads]), p, rng)
    _populate(buildings, plan, p, rng)
    stats = _community_stats(buildings, len(lay.polys))
    staff = _staff(stats, p, rng)
    frames = {
        "cameras": _cameras(streets, estates, buildings, p, rng),
        "incidents": _incidents(buildings, streets, p, rng),
        "key_places": _key_places(buildings, groups, lay, p, rng),
        "governance_grids": _governance(lay, plan, p, rng),
    }
    return _assemble(lay, plan, streets, estates, buildings, staff, frames, p, rng)


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------

def _uniform(rng, pair, size=None):
    return rng.uniform(float(pair[0]), float(pair[1]), size)


def _integers(rng, pair, size=None):
    return rng.integers(int(pair[0]), int(pair[1]) + 1, size)


def _rotate(u, v, theta):
    c, s = np.cos(theta), np.sin(theta)
    return u * c - v * s, u * s + v * c


def _rects(u, v, length, depth, theta, ox, oy):
    """Rectangles centred on local (u, v), sides along the frame rotated by ``theta``."""
    du = np.array([-0.5, 0.5, 0.5, -0.5, -0.5])
    dv = np.array([-0.5, -0.5, 0.5, 0.5, -0.5])
    x, y = _rotate(u[:, None] + length[:, None] * du, v[:, None] + depth[:, None] * dv,
                   theta[:, None])
    return shapely.polygons(np.stack([x + ox[:, None], y + oy[:, None]], axis=-1))


def _cell_rects(cells):
    """The rectangles of blocks given by local bounds (u0, u1, v0, v1) and frame."""
    col = {c: cells[c].to_numpy(dtype=float) for c in ("u0", "u1", "v0", "v1", "theta", "ox", "oy")}
    return _rects((col["u0"] + col["u1"]) / 2, (col["v0"] + col["v1"]) / 2, col["u1"] - col["u0"],
                  col["v1"] - col["v0"], col["theta"], col["ox"], col["oy"])


def _segments_local(u0, v0, u1, v1, theta, ox, oy):
    """Straight lines between local points, in the world frame."""
    x0, y0 = _rotate(u0, v0, theta)
    x1, y1 = _rotate(u1, v1, theta)
    coords = np.stack([np.column_stack([x0 + ox, y0 + oy]), np.column_stack([x1 + ox, y1 + oy])],
                      axis=1)
    return shapely.linestrings(coords)


def _names(n, suffixes, rng, *, unique=True):
    """``n`` Chinese-looking place names (two characters + a suffix), unique when asked."""
    size = len(_NAME_A) * len(_NAME_B)
    picks = rng.choice(size, n, replace=False) if unique and n <= size else rng.integers(0, size, n)
    suffix = rng.choice(list(suffixes), n) if n else []
    names = pd.Series([_NAME_A[i // len(_NAME_B)] + _NAME_B[i % len(_NAME_B)] + s
                       for i, s in zip(picks, suffix)], dtype=object)
    if unique:
        rank = names.groupby(names).cumcount()
        names = names.where(rank == 0, names + (rank + 1).astype(str))
    return np.array(names, dtype=object)


def _only(geoms, dim):
    """Keep the parts of dimension ``dim`` (1 lines, 2 polygons) of clipped geometries;
    a geometry with none (a touching point) becomes empty."""
    geoms = np.array(geoms, dtype=object)
    tid = shapely.get_type_id(geoms)
    for k in np.flatnonzero(tid == 7):
        parts = [g for g in shapely.get_parts(geoms[k]) if shapely.get_dimensions(g) == dim]
        geoms[k] = shapely.union_all(parts) if parts else shapely.GeometryCollection()
    wrong = (tid != 7) & (shapely.get_dimensions(geoms) != dim)
    geoms[wrong] = shapely.GeometryCollection()
    return geoms


def _ids(prefix, n, width=2):
    width = max(width, len(str(n)))
    return np.array([f"{prefix}{i:0{width}d}" for i in range(1, n + 1)], dtype=object)


# --------------------------------------------------------------------------------------
# Layout: outline, communities, stations, responsibility areas
# --------------------------------------------------------------------------------------

@dataclass
class _Layout:
    outline: shapely.Geometry
    seeds: np.ndarray        # (n, 2) community seeds, local metres
    rural: np.ndarray        # bool per community
    polys: np.ndarray        # community polygons (exact tiling of the outline)
    core: np.ndarray         # the old urban core
    spacing: float           # typical urban seed spacing
    urban_box: tuple


def _jittered(n, box, jitter, rng):
    x0, y0, x1, y1 = box
    cols = max(1, round(math.sqrt(n * (x1 - x0) / (y1 - y0))))
    rows = math.ceil(n / cols)
    cw, ch = (x1 - x0) / cols, (y1 - y0) / rows
    keep = np.sort(rng.choice(cols * rows, n, replace=False))
    pts = np.column_stack([x0 + (keep % cols + 0.5) * cw, y0 + (keep // cols + 0.5) * ch])
    return pts + rng.uniform(-jitter, jitter, (n, 2)) * [cw, ch], min(cw, ch)


def _outline(width, height, amplitude, spacing, rng):
    """A rectangle whose sides wobble smoothly (zero at the corners: a simple polygon)."""
    corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * [width / 2, height / 2]
    normals = np.array([[0, -1], [1, 0], [0, 1], [-1, 0]])
    pts = []
    for k in range(4):
        a, b = corners[k], corners[(k + 1) % 4]
        t = np.arange(0, 1, spacing / np.hypot(*(b - a)))[:, None]
        harmonics = np.arange(1, OUTLINE_HARMONICS + 1)
        wave = (rng.normal(size=len(harmonics)) / harmonics
                * np.sin(np.pi * harmonics * t + rng.uniform(0, 2 * np.pi, len(harmonics))))
        noise = wave.sum(1, keepdims=True) * np.sin(np.pi * t)
        pts.append(a + t * (b - a) + normals[k] * noise * amplitude
                   / max(np.abs(wave.sum(1)).max(), 1e-9))
    poly = shapely.Polygon(np.vstack(pts))
    if not poly.is_valid:  # keep the largest piece of a repaired outline
        parts = shapely.get_parts(shapely.make_valid(poly))
        poly = parts[np.argmax(shapely.area(parts))]
    return poly


def _layout(households, p, rng) -> _Layout:
    d = p["district"]
    n = max(d["min_communities"], round(households / d["households_per_community"]))
    n_rural = min(n - 1, max(1, round(n * d["rural_share"])))
    n_urban = n - n_rural
    a_u, a_r = d["urban_community_km2"] * 1e6, d["rural_community_km2"] * 1e6
    area = n_urban * a_u + n_rural * a_r
    width = math.sqrt(area * d["aspect"])
    height = area / width
    y_split = -height / 2 + n_urban * a_u / width
    urban_box = (-width / 2, -height / 2, width / 2, y_split)
    urban, su = _jittered(n_urban, urban_box, d["seed_jitter"], rng)
    rural, sr = _jittered(n_rural, (-width / 2, y_split, width / 2, height / 2),
                          d["seed_jitter"], rng)
    seeds = np.vstack([urban, rural])
    margin = (0.5 - d["seed_jitter"]) * min(su, sr)
    outline = _outline(width, height, min(d["boundary_wobble_m"], margin / 2),
                       d["boundary_vertex_spacing_m"], rng)
    cells = shapely.get_parts(shapely.voronoi_polygons(
        shapely.multipoints(seeds), extend_to=outline.buffer(max(width, height)), ordered=True))
    polys = _only(shapely.intersection(cells, outline, grid_size=d["grid_size_m"]), 2)
    core = np.array([0.0, -height / 2 + d["core_position"] * (y_split + height / 2)])
    return _Layout(outline, seeds, np.arange(n) >= n_urban, polys, core, su, urban_box)


def _adjacency(polys, min_shared=1.0):
    """Pairs (i < j) of communities sharing a boundary, and the shared lines."""
    tree = shapely.STRtree(polys)
    i, j = tree.query(polys, predicate="intersects")
    keep = i < j
    i, j = i[keep], j[keep]
    shared = shapely.intersection(shapely.boundary(polys[i]), shapely.boundary(polys[j]))
    parts, idx = shapely.get_parts(shared, return_index=True)
    lines = np.isin(shapely.get_type_id(parts), (1, 5))
    merged = np.full(len(i), None, dtype=object)
    if lines.any():
        multi = shapely.multilinestrings(parts[lines], indices=idx[lines])
        merged[np.unique(idx[lines])] = shapely.line_merge(multi)
    length = shapely.length(merged)
    ok = np.nan_to_num(length) > min_shared
    return i[ok], j[ok], merged[ok]


def _regions(xy, neighbours, nodes, k, rng):
    """Split ``nodes`` into ``k`` contiguous, balanced regions grown from k-means centres."""
    nodes = np.asarray(nodes)
    k = max(1, min(k, len(nodes)))
    pts = xy[nodes]
    centres = pts[rng.choice(len(nodes), k, replace=False)]
    for _ in range(KMEANS_ROUNDS):
        lab = np.argmin(((pts[:, None] - centres[None]) ** 2).sum(-1), axis=1)
        centres = np.array([pts[lab == r].mean(0) if (lab == r).any() else centres[r]
                            for r in range(k)])
    dist = ((pts[:, None] - centres[None]) ** 2).sum(-1)
    label, members = {}, [[] for _ in range(k)]
    for r in range(k):
        s = next(int(nodes[o]) for o in np.argsort(dist[:, r]) if int(nodes[o]) not in label)
        label[s] = r
        members[r].append(s)
    inside, frozen = {int(n) for n in nodes}, set()
    while len(label) < len(nodes) and len(frozen) < k:
        r = min((r for r in range(k) if r not in frozen), key=lambda r: (len(members[r]), r))
        cand = {m for node in members[r] for m in neighbours[node]
                if m in inside and m not in label}
        if not cand:
            frozen.add(r)
            continue
        best = min(cand, key=lambda m: (float(((xy[m] - centres[r]) ** 2).sum()), m))
        label[best] = r
        members[r].append(best)
    for node in map(int, nodes):  # only for a disconnected graph
        if node not in label:
            label[node] = int(np.argmin(((centres - xy[node]) ** 2).sum(1)))
    return np.array([label[int(n)] for n in nodes])


@dataclass
class _Plan:
    station: np.ndarray      # station index per community
    area: np.ndarray         # responsibility-area index per community
    pairs: tuple             # adjacency (i, j, shared lines)
    target: np.ndarray       # households per community
    floating_ratio: np.ndarray
    inversion: np.ndarray
    oldness: np.ndarray      # 1 at the old core, 0 at the urban edge and in villages
    theta: np.ndarray        # local street grid angle per community


def _plan(lay, households, p, rng) -> _Plan:
    d, pop = p["district"], p["population"]
    n = len(lay.polys)
    i, j, shared = _adjacency(lay.polys)
    neighbours = [set() for _ in range(n)]
    for a, b in zip(i, j):
        neighbours[a].add(int(b))
        neighbours[b].add(int(a))
    station = _regions(lay.seeds, neighbours, np.arange(n),
                       round(n / d["communities_per_station"]), rng)
    area, offset = np.zeros(n, dtype=int), 0
    for s in range(station.max() + 1):
        nodes = np.flatnonzero(station == s)
        lab = _regions(lay.seeds, neighbours, nodes,
                       round(len(nodes) / d["beats_per_responsibility_area"]), rng)
        area[nodes] = lab + offset
        offset += lab.max() + 1
    target = _targets(lay.rural, households, pop, rng)
    dist = np.hypot(*(lay.seeds - lay.core).T)
    reach = max(dist[~lay.rural].max(), 1.0)
    oldness = np.where(lay.rural, 0.0, np.clip(1 - dist / reach, 0, 1))
    urban = np.flatnonzero(~lay.rural)
    n_inv = min(len(urban), max(1, round(pop["inversion_share"] * n)))
    weight = oldness[urban] + pop["inversion_base_weight"]
    inv = rng.choice(urban, n_inv, replace=False, p=weight / weight.sum())
    inversion = np.isin(np.arange(n), inv)
    ratio = np.where(inversion, _uniform(rng, pop["inversion_floating_ratio"], n),
                     _uniform(rng, pop["floating_ratio"], n))
    s = p["streets"]
    theta = np.radians(s["base_angle_deg"] + rng.uniform(-1, 1, n) * s["angle_spread_deg"])
    return _Plan(station, area, (i, j, shared), target, ratio, inversion, oldness, theta)


def _targets(rural, households, pop, rng):
    """Households per community: village committees smaller, urban ones log-normal."""
    target = np.zeros(len(rural))
    target[rural] = _integers(rng, pop["rural_households"], rural.sum())
    if target.sum() > 0.5 * households:
        target *= 0.5 * households / target.sum()
    weight = rng.lognormal(0.0, pop["urban_households_sigma"], (~rural).sum())
    target[~rural] = weight / weight.sum() * (households - target[rural].sum())
    return np.round(target).astype(int)


# --------------------------------------------------------------------------------------
# Streets
# --------------------------------------------------------------------------------------

def _streets(geoms, cls, comm=-1, rural=False) -> pd.DataFrame:
    """Street records; clipping leftovers (zero-length pieces, empty lines) are dropped."""
    n = len(geoms)
    parts, idx = shapely.get_parts(np.asarray(geoms, dtype=object), return_index=True)
    keep = shapely.length(parts) > MIN_STREET_PIECE_M
    geoms = np.full(n, shapely.GeometryCollection(), dtype=object)
    if keep.any():
        merged = shapely.line_merge(shapely.multilinestrings(parts[keep], indices=idx[keep]))
        geoms[np.unique(idx[keep])] = merged
    df = pd.DataFrame({"geometry": geoms,
                       "street_class": np.broadcast_to(np.asarray(cls, dtype=object), n),
                       "comm": np.broadcast_to(comm, n), "rural": np.broadcast_to(rural, n)})
    return df[~shapely.is_empty(geoms)].reset_index(drop=True)


def _arterials(lay, plan, p, rng):
    """Arterials on community boundaries: primary between stations, else secondary;
    village-village boundaries are roads only in part."""
    i, j, shared = plan.pairs
    both_rural = lay.rural[i] & lay.rural[j]
    cls = np.where(plan.station[i] != plan.station[j], "primary",
                   np.where(both_rural, "tertiary", "secondary"))
    keep = ~both_rural | (rng.random(len(i)) < p["streets"]["rural_boundary_road_share"])
    return _streets(shared[keep], cls[keep], rural=both_rural[keep])


def _positions(radius, spacing, rng):
    """Jittered street positions covering [-radius, radius]."""
    lo, hi = spacing
    steps = rng.uniform(lo, hi, int(2 * radius / lo) + 3)
    return -radius - rng.uniform(0, hi) + np.concatenate([[0.0], np.cumsum(steps)])


def _urban_grid(lay, plan, p, rng):
    """A rotated, jittered local street grid per urban community, and its blocks (cells)."""
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
    geom = _segments_local(np.where(is_u, pos, -r), np.where(is_u, -r, pos),
                           np.where(is_u, pos, r), np.where(is_u, r, pos),
                           plan.theta[comm], lay.seeds[comm, 0], lay.seeds[comm, 1])
    geom = _only(shapely.intersection(geom, lay.polys[comm]), 1)
    cls = np.where(rank % s["tertiary_every"] == np.where(is_u, 0, 1), "tertiary",
                   "residential")
    ok = shapely.length(geom) > 2 * margin
    cells = pd.DataFrame(np.vstack(cells), columns=["comm", "u0", "u1", "v0", "v1"])
    cells["comm"] = cells["comm"].astype(int)
    c = cells["comm"].to_numpy()
    cells["theta"], cells["ox"], cells["oy"] = plan.theta[c], lay.seeds[c, 0], lay.seeds[c, 1]
    cells["margin"], cells["radius"] = margin, np.nan
    rect = _cell_rects(cells)
    inner = shapely.buffer(lay.polys, -max(setback["primary"], setback["secondary"]),
                           join_style="mitre")
    cells["full"] = shapely.area(shapely.intersection(rect, inner[c])) / shapely.area(rect)
    cells = cells[cells["full"] > 0].reset_index(drop=True)
    cells["kind"] = _block_kinds(cells["comm"].to_numpy(), cells["full"].to_numpy(), plan, p, rng)
    return _streets(geom[ok], cls[ok], comm=comm[ok]), cells


def _block_kinds(comm, full, plan, p, rng):
    """What each urban block holds: shops/offices/schools/workshops, urban villages (in
    inversion communities), a fixed number of old walk-up estates near the core, high-rises."""
    b = p["blocks"]
    n = len(comm)
    kind = np.full(n, "highrise", dtype=object)
    kind[plan.inversion[comm] & (rng.random(n) < b["urban_village_share"])] = "urban_village"
    nonres = rng.random(n) < b["nonresidential_share"]
    names = list(b["nonresidential_kinds"])
    weight = np.array([b["nonresidential_kinds"][k] for k in names], dtype=float)
    kind[nonres] = rng.choice(names, nonres.sum(), p=weight / weight.sum())
    free = np.flatnonzero((kind == "highrise") & (plan.oldness[comm] > 0))
    n_old = min(len(free), round(b["old_estates_per_10000_households"]
                                 * plan.target.sum() / 10000))
    if n_old:  # whole blocks (not cut by the community edge) near the core
        w = plan.oldness[comm[free]] * (full[free] > WHOLE_BLOCK) + 1e-9
        kind[rng.choice(free, n_old, replace=False, p=w / w.sum())] = "walkup"
    return kind


def _curved_roads(lay, p, rng):
    """Long curved or diagonal roads crossing the district through the urban area."""
    s = p["streets"]
    x0, y0, x1, y1 = lay.urban_box
    n = max(1, round(math.sqrt((x1 - x0) * (y1 - y0)) / s["curved_road_spacing_m"]))
    start = np.column_stack([rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)])
    heading = rng.uniform(0, np.pi, n)
    length = 2 * np.hypot(*(np.array(lay.outline.bounds[2:]) - lay.outline.bounds[:2]))
    amp, wave = _uniform(rng, s["curve_amplitude_m"], n), _uniform(rng, s["curve_wavelength_m"], n)
    phase = rng.uniform(0, 2 * np.pi, n)
    t = np.arange(-length / 2, length / 2, s["segment_m"])[None]
    off = amp[:, None] * np.sin(2 * np.pi * t / wave[:, None] + phase[:, None])
    x, y = _rotate(t, off, heading[:, None])
    lines = shapely.linestrings(np.stack([x + start[:, :1], y + start[:, 1:]], -1))
    clipped = _only(shapely.intersection(lines, lay.outline), 1)
    ok = ~shapely.is_empty(clipped)
    return _streets(clipped[ok], "secondary")


def _villages(lay, plan, p, rng):
    """Hamlets (as site groups) of every village committee and the roads joining them."""
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
    return groups, _streets(np.array(roads, dtype=object), "tertiary", rural=True)


def _hamlet_centres(poly, n, radius, setback, gap, rng):
    area = shapely.buffer(poly, -(radius + setback), join_style="mitre")
    if area.is_empty:
        return np.array(shapely.get_coordinates(shapely.point_on_surface(poly)))
    x0, y0, x1, y1 = area.bounds
    cand = np.column_stack([rng.uniform(x0, x1, 64 * n), rng.uniform(y0, y1, 64 * n)])
    cand = cand[shapely.contains_xy(area, cand[:, 0], cand[:, 1])]
    chosen = []
    for pt in cand:
        if all(np.hypot(*(pt - q)) > 2 * radius + gap for q in chosen):
            chosen.append(pt)
            if len(chosen) == n:
                break
    if not chosen:
        chosen = [shapely.get_coordinates(shapely.point_on_surface(area))[0]]
    return np.array(chosen)


def _village_road(poly, centres, wiggle, rng):
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
    return _only([shapely.intersection(shapely.LineString(coords), poly)], 1)[0]


def _name_streets(streets, rng):
    suffix = {"primary": ["大道", "路"], "secondary": ["路"], "tertiary": ["路", "街"],
              "residential": ["街", "巷"], "service": ["支路"], "lane": ["弄", "巷"]}
    names = np.empty(len(streets), dtype=object)
    for cls, suf in suffix.items():
        m = (streets["street_class"] == cls).to_numpy()
        names[m] = _names(int(m.sum()), suf, rng, unique=False)
    streets = streets.copy()
    streets["name"] = names
    return streets


# --------------------------------------------------------------------------------------
# Buildings
# --------------------------------------------------------------------------------------

def _sites(groups, lay, p, rng):
    """Every possible building position: a lattice per block (cell) or hamlet (disk)."""
    bt = p["buildings"]
    kind = groups["kind"].to_numpy()
    n = len(groups)
    dims = {k: np.zeros(n) for k in ("length_m", "depth_m", "gap_m", "row_gap_m")}
    for name in np.unique(kind):
        m = kind == name
        for key, arr in dims.items():
            arr[m] = _uniform(rng, bt[name][key], int(m.sum()))
    L, D, gap, row_gap = dims["length_m"], dims["depth_m"], dims["gap_m"], dims["row_gap_m"]
    g = {c: groups[c].to_numpy(dtype=float) for c in ("u0", "u1", "v0", "v1", "margin")}
    width, height = g["u1"] - g["u0"] - 2 * g["margin"], g["v1"] - g["v0"] - 2 * g["margin"]
    px, py = L + gap, D + row_gap
    nx = np.floor((width + gap) / px).clip(0).astype(int)
    ny = np.floor((height + row_gap) / py).clip(0).astype(int)
    u_start = g["u0"] + g["margin"] + (width - (nx * px - gap)) / 2 + L / 2
    v_start = g["v0"] + g["margin"] + (height - (ny * py - row_gap)) / 2 + D / 2
    groups["ny"], groups["v_start"], groups["py"] = ny, v_start, py
    count = nx * ny
    gi = np.repeat(np.arange(n), count)
    k = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    ix, iy = k % nx[gi], k // nx[gi]
    sites = pd.DataFrame({"group": gi, "comm": groups["comm"].to_numpy()[gi], "kind": kind[gi],
                          "u": u_start[gi] + ix * px[gi], "v": v_start[gi] + iy * py[gi],
                          "ix": ix, "iy": iy, "L": L[gi], "D": D[gi], "py": py[gi]})
    for c in ("theta", "ox", "oy"):
        sites[c] = groups[c].to_numpy(dtype=float)[gi]
    radius = groups["radius"].to_numpy(dtype=float)[gi]
    sites["radius"] = radius
    in_disk = np.isnan(radius) | (np.hypot(sites.u, sites.v) + np.hypot(sites.L, sites.D) / 2
                                  <= radius)
    sites = sites[in_disk].reset_index(drop=True)
    geom = _rects(sites.u.to_numpy(), sites.v.to_numpy(), sites.L.to_numpy(), sites.D.to_numpy(),
                  sites.theta.to_numpy(), sites.ox.to_numpy(), sites.oy.to_numpy())
    setback = p["streets"]["setback_m"]
    inner = shapely.buffer(lay.polys, -max(setback["primary"], setback["secondary"]),
                           join_style="mitre")
    inside = shapely.within(geom, inner[sites["comm"].to_numpy()])
    sites["geometry"] = geom
    return sites[inside].reset_index(drop=True)


def _road_pieces(roads, seg):
    """Short straight pieces of ``roads`` (for fast distance queries) and their road index."""
    parts, owner = shapely.get_parts(roads["geometry"].to_numpy(), return_index=True)
    parts = shapely.segmentize(parts, seg)
    xy, idx = shapely.get_coordinates(parts, return_index=True)
    same = idx[1:] == idx[:-1]
    pieces = shapely.linestrings(np.stack([xy[:-1][same], xy[1:][same]], axis=1))
    return pieces, owner[idx[:-1][same]]


def _clear_of_roads(sites, roads, p):
    """Drop building sites closer to a curved or village road than its setback."""
    if not len(roads) or not len(sites):
        return sites
    s = p["streets"]
    pieces, owner = _road_pieces(roads, s["segment_m"])
    distance = roads["street_class"].map(s["setback_m"]).to_numpy(dtype=float)[owner]
    tree = shapely.STRtree(sites["geometry"].to_numpy())
    hit = tree.query(pieces, predicate="dwithin", distance=distance)[1]
    return sites.drop(index=np.unique(hit)).reset_index(drop=True)


def _building_attributes(sites, p, rng):
    bt = p["buildings"]
    n = len(sites)
    kind = sites["kind"].to_numpy()
    levels, units, hh = np.ones(n, int), np.ones(n, int), np.zeros(n, int)
    use = np.full(n, "residential", dtype=object)
    for name in np.unique(kind):
        m, spec = kind == name, bt[name]
        k = int(m.sum())
        levels[m] = _integers(rng, spec["levels"], k)
        if name not in RESIDENTIAL_KINDS:
            use[m] = name
            continue
        if "per_landing" in spec:
            units[m] = _integers(rng, spec["units"], k)
            hh[m] = np.clip(units[m] * levels[m] * _integers(rng, spec["per_landing"], k),
                            *spec["households"])
        else:
            hh[m] = _integers(rng, spec["households"], k)
        use[m & (rng.random(n) < spec["mixed_share"])] = "mixed"
    sites["levels"], sites["units"], sites["households"], sites["use"] = levels, units, hh, use


def _allocate(sites, plan, p, rng):
    """Pick residential sites until each community holds its households; keep the rest."""
    _building_attributes(sites, p, rng)
    comm = sites["comm"].to_numpy()
    res = sites["kind"].isin(RESIDENTIAL_KINDS).to_numpy()
    n = len(plan.target)
    capacity = np.bincount(comm[res], weights=sites["households"][res], minlength=n)
    target = _fit_targets(plan.target.astype(float), capacity, p["population"]["capacity_use"])
    # fill order: old walk-up blocks first, then blocks in random order (row by row);
    # hamlets from the centre outwards
    rank = rng.permutation(sites["group"].max() + 1)[sites["group"]]
    rank = rank + (sites["kind"] != "walkup").to_numpy() * (sites["group"].max() + 1)
    hamlet = (sites["kind"] == "house").to_numpy()
    spread = np.hypot(sites.u, sites.v) / sites["radius"].fillna(1.0)
    noise = rng.uniform(0, p["villages"]["fill_noise"], len(sites))
    key = np.where(hamlet, spread + noise,
                   rank * 1e6 + sites["iy"] * 1e3 + sites["ix"])
    order = np.lexsort((key, comm))
    sorted_hh = np.where(res, sites["households"], 0)[order]
    cum = pd.Series(sorted_hh).groupby(comm[order]).cumsum().to_numpy()
    take = np.zeros(len(sites), bool)
    take[order] = (cum - sorted_hh / 2) < target[comm[order]]
    keep = ~res | (take & res)
    return sites[keep].reset_index(drop=True)


def _fit_targets(target, capacity, use):
    """Cap targets at a share of capacity and hand the shortfall to communities with room."""
    cap = np.floor(capacity * use)
    fitted = np.minimum(target, cap)
    slack = cap - fitted
    short = target.sum() - fitted.sum()
    if short > 0 and slack.sum() > 0:
        fitted += np.minimum(slack, np.floor(short * slack / slack.sum()))
    return fitted


def _lanes(buildings, groups, lay, p):
    """Lanes (service roads in high-rise estates) in every other gap between building rows."""
    b = buildings[buildings["kind"].isin(list(LANE_CLASS))]
    if not len(b):
        return _streets([], "lane")
    q = b["iy"] // 2
    ext = b.assign(q=q, lo=b.u - b.L / 2, hi=b.u + b.L / 2).groupby(["group", "q"])
    lanes = ext.agg(lo=("lo", "min"), hi=("hi", "max")).reset_index()
    g = groups.loc[lanes["group"]].reset_index(drop=True)
    ok = (2 * lanes["q"] + 1 < g["ny"]).to_numpy()
    lanes, g = lanes[ok].reset_index(drop=True), g[ok].reset_index(drop=True)
    hamlet = np.isfinite(g["radius"].to_numpy(dtype=float))
    pad = p["streets"]["setback_m"]["lane"] + 1
    lo = np.where(hamlet, lanes["lo"] - pad, g["u0"])
    hi = np.where(hamlet, lanes["hi"] + pad, g["u1"])
    v = (g["v_start"] + 2 * lanes["q"] * g["py"] + g["py"] / 2).to_numpy()
    line = _segments_local(lo, v, hi, v, g["theta"].to_numpy(), g["ox"].to_numpy(),
                           g["oy"].to_numpy())
    comm = g["comm"].to_numpy()
    line = _only(shapely.intersection(line, lay.polys[comm]), 1)
    ok = shapely.length(line) > pad
    cls = g["kind"].map(LANE_CLASS).to_numpy()
    return _streets(line[ok], cls[ok], comm=comm[ok], rural=lay.rural[comm[ok]])


def _estates(buildings, lay, roads, p, rng):
    """One estate per block of walk-ups or high-rises: the buildings' hull grown a little."""
    s, e = p["streets"], p["estates"]
    m = buildings["kind"].isin(ESTATE_KINDS).to_numpy()
    group = buildings["group"].to_numpy()[m]
    uniq, inverse = np.unique(group, return_inverse=True)
    hull = shapely.convex_hull(shapely.multipolygons(buildings["geometry"].to_numpy()[m],
                                                     indices=inverse))
    first = np.unique(inverse, return_index=True)[1]
    sel = buildings[m].iloc[first]
    comm = sel["comm"].to_numpy()
    geom = shapely.intersection(shapely.buffer(hull, s["estate_margin_m"], join_style="mitre"),
                                lay.polys[comm])
    if len(roads):
        cut = shapely.union_all(shapely.buffer(roads["geometry"].to_numpy(),
                                               s["estate_road_clearance_m"]))
        hit = shapely.intersects(geom, cut)
        geom[hit] = shapely.difference(geom[hit], cut)
    geom = _only(geom, 2)
    old = (sel["kind"] == "walkup").to_numpy()
    k = len(uniq)
    stairwells = np.bincount(inverse, weights=buildings["units"].to_numpy()[m], minlength=k)
    open_ = np.zeros(k, bool)
    olds = rng.permutation(np.flatnonzero(old))
    open_[olds[:round(e["old_open_share"] * len(olds))]] = True
    doors = np.where(open_, np.round(stairwells * _uniform(rng, e["old_access_door_share"], k)),
                     stairwells)
    years = np.where(old, _integers(rng, p["buildings"]["walkup"]["year_built"], k),
                     _integers(rng, p["buildings"]["highrise"]["year_built"], k))
    names = _names(k, [""], rng)
    suffix = np.where(old, rng.choice(["小区", "新村"], k),
                      rng.choice(["花园", "苑", "家园", "府", "公寓"], k))
    names = names + suffix
    estates = pd.DataFrame({"group": uniq, "comm": comm, "is_old": old,
                            "access": np.where(open_, "open", "closed"),
                            "access_doors": doors.astype(int),
                            "stairwells": stairwells.astype(int), "year_built": years,
                            "name": names, "geometry": geom})
    buildings["estate"] = pd.Series(np.arange(k), index=uniq).reindex(buildings["group"]).to_numpy()
    buildings.loc[~buildings["kind"].isin(ESTATE_KINDS), "estate"] = np.nan
    return estates


def _populate(buildings, plan, p, rng):
    """Registered and floating residents; floating follows each community's ratio."""
    pop = p["population"]
    hh = buildings["households"].to_numpy()
    comm = buildings["comm"].to_numpy()
    reg = rng.poisson(hh * pop["registered_per_household"])
    weight = hh * buildings["kind"].map(pop["floating_weight"]).fillna(0).to_numpy()
    n = len(plan.target)
    reg_c = np.bincount(comm, weights=reg, minlength=n)
    w_c = np.bincount(comm, weights=weight, minlength=n)
    mean = plan.floating_ratio[comm] * reg_c[comm] * weight / np.maximum(w_c[comm], 1e-9)
    buildings["population_registered"] = reg
    buildings["population_floating"] = rng.poisson(mean)


def _community_stats(buildings, n):
    comm = buildings["comm"].to_numpy()
    col = {c: np.bincount(comm, weights=buildings[c], minlength=n).astype(int)
           for c in ("households", "population_registered", "population_floating")}
    return pd.DataFrame(col)


# --------------------------------------------------------------------------------------
# Staff, cameras, incidents, key places, governance grids
# --------------------------------------------------------------------------------------

def _staff(stats, p, rng):
    """A roster per beat drawn against the seeds' rules, some beats short on purpose."""
    st = p["staff"]
    n = len(stats)
    reg, flo = stats["population_registered"].to_numpy(), stats["population_floating"].to_numpy()
    need_two = ((reg + flo) > st["two_officer_population"]) | (flo > reg)
    officers = np.ones(n, int)
    needy = rng.permutation(np.flatnonzero(need_two))
    officers[needy[:math.ceil(st["two_officer_fulfilled_share"] * len(needy))]] = 2
    aux = np.round(officers * rng.choice(st["auxiliaries_per_officer"], n)).astype(int)
    managers = np.round(flo / _uniform(rng, st["floating_per_manager"], n)).astype(int)
    workers = np.maximum(1, np.round(stats["households"].to_numpy()
                                     / _uniform(rng, st["households_per_grid_worker"], n)))
    return pd.DataFrame({"community_officers": officers, "auxiliaries": aux,
                         "floating_managers": managers, "grid_workers": workers.astype(int)})


def _cameras(streets, estates, buildings, p, rng):
    """Road cameras on street lines (looking along them), a few inside estates."""
    c = p["cameras"]
    total = max(1, round(buildings["households"].sum() / c["households_per_camera"]))
    n_est = min(round(total * c["estate_share"]), 2 * len(estates))
    n_ent = round(n_est * c["entrance_share_of_estate"])
    road = _road_points(streets, total - n_est, c["class_weight"], c["rural_road_weight"], rng)
    internal = _internal_points(buildings, estates, n_est - n_ent, c, rng)
    entrance = _entrance_points(estates, n_ent, c, rng)
    cams = pd.concat([road, internal, entrance], ignore_index=True)
    n = len(cams)
    dome = rng.random(n) < c["dome_share"]
    cams.loc[dome, "look"] = None
    estate = cams["kind"] != "road"
    cams["fov_deg"] = np.where(dome, 360.0, _uniform(rng, c["fov_deg"], n))
    cams["range_m"] = np.where(dome, _uniform(rng, c["dome_range_m"], n),
                               _uniform(rng, c["range_m"], n))
    cams["height_m"] = np.where(estate, _uniform(rng, c["estate_height_m"], n),
                                _uniform(rng, c["height_m"], n))
    cams["tilt_deg"] = _uniform(rng, c["tilt_deg"], n)
    optics = ~dome & (rng.random(n) < c["optics_share"])
    focal = rng.choice(c["focal_length_mm"], n)
    sensor = rng.choice(c["sensor_width_mm"], n)
    cams["focal_length_mm"] = np.where(optics, focal, np.nan)
    cams["sensor_width_mm"] = np.where(optics, sensor, np.nan)
    cams["resolution_h_px"] = pd.array(np.where(optics, rng.choice(c["resolution_h_px"], n), 0),
                                       dtype="Int64")
    cams.loc[~optics, "resolution_h_px"] = pd.NA
    fov = np.degrees(2 * np.arctan(sensor / (2 * focal)))
    cams["fov_deg"] = np.where(optics, np.round(fov, 1), np.round(cams["fov_deg"], 1))
    return cams


def _road_points(streets, n, class_weight, rural_weight, rng):
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


def _internal_points(buildings, estates, n, c, rng):
    """Cameras between building rows inside estates (old estates rarely get one)."""
    b = buildings[buildings["estate"].notna()]
    if n <= 0 or not len(b):
        return pd.DataFrame(columns=["kind", "estate", "geometry", "look"])
    du, dv = np.zeros(len(b)), -(b["D"] / 2 + (b["py"] - b["D"]) / 2).to_numpy()
    dv = np.where(b["iy"] == 0, -dv, dv)
    x, y = _rotate(b["u"].to_numpy() + du, b["v"].to_numpy() + dv, b["theta"].to_numpy())
    pts = shapely.points(x + b["ox"].to_numpy(), y + b["oy"].to_numpy())
    est = b["estate"].to_numpy(dtype=int)
    ok = shapely.within(pts, estates["geometry"].to_numpy()[est])
    ok &= ~np.isin(np.arange(len(pts)),
                   shapely.STRtree(buildings["geometry"].to_numpy()).query(pts, "intersects")[0])
    weight = np.where(estates["is_old"].to_numpy()[est], c["old_estate_weight"], 1.0) * ok
    n = min(n, int((weight > 0).sum()))
    pick = rng.choice(len(pts), n, replace=False, p=weight / weight.sum()) if n else []
    xy = shapely.get_coordinates(pts[pick])
    look = xy + rng.normal(size=(len(pick), 2)) * LOOK_M
    return pd.DataFrame({"kind": "estate_internal", "estate": est[pick], "geometry": pts[pick],
                         "look": list(map(tuple, look))})


def _entrance_points(estates, n, c, rng):
    """Gate cameras on the estate fence, looking in (closed estates mostly)."""
    if n <= 0 or not len(estates):
        return pd.DataFrame(columns=["kind", "estate", "geometry", "look"])
    weight = np.where(estates["is_old"], c["old_estate_weight"], 1.0)
    pick = rng.choice(len(estates), min(n, len(estates)), replace=False, p=weight / weight.sum())
    geom = estates["geometry"].to_numpy()[pick]
    pts = shapely.line_interpolate_point(shapely.boundary(geom), rng.random(len(pick)),
                                         normalized=True)
    look = shapely.get_coordinates(shapely.point_on_surface(geom))
    return pd.DataFrame({"kind": "entrance", "estate": pick, "geometry": pts,
                         "look": list(map(tuple, look))})


def _incidents(buildings, streets, p, rng):
    """A year of incidents at buildings weighted by floating residents; traffic on roads."""
    c = p["incidents"]
    n = max(1, round(buildings["households"].sum() / c["households_per_incident"]))
    names = list(c["category_share"])
    share = np.array([c["category_share"][k] for k in names], dtype=float)
    category = rng.choice(names, n, p=share / share.sum())
    on_street = category == c["street_category"]
    w = (buildings["population_floating"] + c["registered_weight"]
         * buildings["population_registered"]).to_numpy(dtype=float)
    idx = rng.choice(len(buildings), n, p=w / w.sum())
    centre = shapely.get_coordinates(shapely.centroid(buildings["geometry"].to_numpy()[idx]))
    angle, dist = rng.uniform(0, 2 * np.pi, n), rng.uniform(0, c["offset_m"], n)
    pts = shapely.points(centre + np.column_stack([np.cos(angle), np.sin(angle)]) * dist[:, None])
    road = _road_points(streets, int(on_street.sum()), p["cameras"]["class_weight"],
                        p["cameras"]["rural_road_weight"], rng)
    pts[on_street] = road["geometry"].to_numpy()
    hours = np.asarray(c["hour_weight"], dtype=float)
    seconds = (rng.integers(0, 365, n) * 86400 + rng.choice(24, n, p=hours / hours.sum()) * 3600
               + rng.integers(0, 3600, n))
    when = np.datetime64(f"{c['year']}-01-01T00:00:00") + seconds.astype("timedelta64[s]")
    order = np.argsort(when, kind="stable")
    return pd.DataFrame({"category": category[order],
                         "preventable": np.isin(category[order], schema.PREVENTABLE_CATEGORIES),
                         "occurred_at": pd.to_datetime(when[order]),
                         "geometry": pts[order]})


def _key_places(buildings, groups, lay, p, rng):
    """Rental houses where floating residents live; businesses in shops; construction sites
    on empty blocks; key units in public buildings and offices."""
    per = p["key_places"]["per_1000_households"]
    hh = buildings["households"].sum()
    use = buildings["use"].to_numpy()
    centre = shapely.centroid(buildings["geometry"].to_numpy())
    floating = buildings["population_floating"].to_numpy(dtype=float)
    pools = {"rental_house": floating, "key_unit": np.isin(use, ("public", "office")) * 1.0}
    shops = np.isin(use, ("commercial", "mixed")) * 1.0
    empty = groups[~groups.index.isin(buildings["group"]) & groups["radius"].isna()]
    frames = []
    for kind, rate in per.items():
        n = round(hh * rate / 1000)
        if n == 0:
            continue
        if kind == "construction_site" and len(empty):
            pick = empty.iloc[rng.choice(len(empty), min(n, len(empty)), replace=False)]
            rect = _cell_rects(pick)
            site = shapely.intersection(rect, lay.polys[pick["comm"].to_numpy()])
            pts = shapely.point_on_surface(site[~shapely.is_empty(site)])
        else:
            w = pools.get(kind, shops)
            w = w if w.sum() > 0 else np.ones(len(buildings))
            pts = centre[rng.choice(len(buildings), n, p=w / w.sum())]
        frames.append(pd.DataFrame({"kind": kind, "geometry": pts}))
    places = pd.concat(frames, ignore_index=True)
    rank = places.groupby("kind").cumcount() + 1
    places["name"] = places["kind"].map(_KEY_PLACE_NAMES) + rank.map("{:03d}".format)
    return places


def _governance(lay, plan, p, rng):
    """Other departments' grids: the communities with some shared boundaries moved (a strip
    handed to the neighbour), comprehensive-governance cells also cut in quarters."""
    g = p["governance"]
    i, j, shared = plan.pairs
    out = []
    for dept, quarters in (("comprehensive_governance", True), ("city_operations", False)):
        cells = np.array(lay.polys, dtype=object)
        for k in np.flatnonzero(rng.random(len(i)) < g["moved_boundary_share"]):
            a, b = (i[k], j[k]) if rng.random() < 0.5 else (j[k], i[k])
            if shared[k].geom_type != "LineString":
                continue
            part = shapely.ops.substring(shared[k], *g["moved_part"], normalized=True)
            strip = shapely.buffer(part, _uniform(rng, g["shift"]) * lay.spacing,
                                   cap_style="flat")
            piece = shapely.intersection(cells[a], strip)
            if piece.is_empty or piece.area > 0.5 * cells[a].area:
                continue
            cells[a] = shapely.difference(cells[a], piece)
            cells[b] = shapely.union(cells[b], piece)
        if quarters:
            cells = _quarter(cells, plan.theta)
        cells = _only(cells, 2)
        cells = cells[shapely.area(cells) > 1.0]
        out.append(pd.DataFrame({"department": dept, "geometry": cells}))
    return pd.concat(out, ignore_index=True)


def _quarter(cells, theta):
    """Each cell cut in four by two lines through its centroid along the street grid."""
    big = np.sqrt(shapely.area(cells)) * 10
    centre = shapely.get_coordinates(shapely.centroid(cells))
    parts = []
    for su, sv in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
        rect = _rects(su * big / 2, sv * big / 2, big, big, theta, centre[:, 0], centre[:, 1])
        parts.append(shapely.intersection(cells, rect))
    return np.stack(parts, axis=1).ravel()


# --------------------------------------------------------------------------------------
# Assembly: ids, names, references, CGCS2000
# --------------------------------------------------------------------------------------

class _ToStorage:
    """Local metres -> CGCS2000 lon/lat through the 3-degree Gauss-Kruger zone."""

    def __init__(self, lon, lat):
        epsg = gauss_kruger_3deg_epsg(lon)
        fwd = pyproj.Transformer.from_crs(STORAGE_EPSG, epsg, always_xy=True)
        self.x0, self.y0 = fwd.transform(lon, lat)
        self.inv = pyproj.Transformer.from_crs(epsg, STORAGE_EPSG, always_xy=True)

    def __call__(self, geoms):
        def f(xy):
            lon, lat = self.inv.transform(xy[:, 0] + self.x0, xy[:, 1] + self.y0)
            return np.column_stack([lon, lat])
        return shapely.transform(np.asarray(geoms, dtype=object), f)

    def bearing(self, a, b):
        """Azimuth (degrees clockwise from true north) from local points a to b."""
        lon0, lat0 = self.inv.transform(a[:, 0] + self.x0, a[:, 1] + self.y0)
        lon1, lat1 = self.inv.transform(b[:, 0] + self.x0, b[:, 1] + self.y0)
        az = pyproj.Geod(ellps="GRS80").inv(lon0, lat0, lon1, lat1)[0]
        return np.mod(np.round(az, 1), 360.0)


def _gdf(data: dict, geoms, to_storage, layer):
    spec = schema.get_spec(layer)
    df = pd.DataFrame({c: data[c] for c in spec.column_names if c in data})
    return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(to_storage(geoms), crs=STORAGE_EPSG),
                            crs=STORAGE_EPSG)


def _admin(lay, plan, p, rng):
    """Names and codes of stations, subdistricts/towns, communities."""
    n, n_st = len(lay.polys), plan.station.max() + 1
    base = _names(n_st, [""], rng)
    code = p["district"]["district_code"]
    sub_name = np.where(lay.rural, pd.Series(base).add("镇").to_numpy()[plan.station],
                        pd.Series(base).add("街道").to_numpy()[plan.station])
    sub_code = np.array([f"{code}{2 * s + 1 + r:03d}" for s, r in zip(plan.station, lay.rural)])
    seq = pd.Series(np.ones(n)).groupby(sub_code).cumsum().astype(int).to_numpy()
    comm_code = np.array([f"{sc}{(200 if r else 0) + k:03d}"
                          for sc, r, k in zip(sub_code, lay.rural, seq)])
    names = _names(n, ["社区"], rng)
    names[lay.rural] = pd.Series(names[lay.rural]).str.replace("社区", "村").to_numpy()
    return base, sub_name, sub_code, comm_code, names


def _assemble(lay, plan, streets, estates, buildings, staff, frames, p, rng):
    """Every layer with ids, names and references, in CGCS2000, conformed to the schema."""
    to = _ToStorage(p["district"]["center_lon"], p["district"]["center_lat"])
    out, names = _admin_layers(lay, plan, staff, to, p, rng)
    comm_ids, beat_ids, comm_name = names
    st_ids = out["stations"]["id"].to_numpy()
    out["police_rooms"] = _rooms(lay, plan, buildings, staff, comm_name, beat_ids, st_ids, to,
                                 p, rng)
    out["streets"] = _gdf({"id": _ids("ST", len(streets)), "name": streets["name"],
                           "street_class": streets["street_class"]},
                          streets["geometry"], to, "streets")
    est_ids = _ids("E", len(estates))
    out["estates"] = _gdf({"id": est_ids, "community_id": comm_ids[estates["comm"]], **{
        c: estates[c] for c in ("name", "is_old", "access", "access_doors", "stairwells",
                                "year_built")}}, estates["geometry"], to, "estates")
    out["buildings"] = _buildings_frame(buildings, estates, est_ids, comm_ids, comm_name, to)
    out["grids"] = schema.empty_layer("grids", crs=STORAGE_EPSG)
    out["cameras"] = _cameras_frame(frames["cameras"], est_ids, to)
    for layer, prefix in (("incidents", "INC"), ("key_places", "KP")):
        df = frames[layer]
        out[layer] = _gdf({"id": _ids(prefix, len(df)), **df}, df["geometry"], to, layer)
    out["staff"] = pd.DataFrame({"beat_id": beat_ids, **staff})
    gg = frames["governance_grids"]
    gg_ids = _ids("G", len(gg))
    out["governance_grids"] = _gdf(
        {"id": gg_ids, "department": gg["department"],
         "name": np.where(gg["department"] == "city_operations", "城运网格", "综治网格") + gg_ids},
        gg["geometry"], to, "governance_grids")
    return {name: _conformed(out[name], name) for name in schema.LAYER_ORDER}


def _admin_layers(lay, plan, staff, to, p, rng):
    """Stations, responsibility areas, beats and communities (unions of community cells)."""
    d = p["district"]
    n, n_st, n_ra = len(lay.polys), plan.station.max() + 1, plan.area.max() + 1
    st_base, sub_name, sub_code, comm_code, comm_name = _admin(lay, plan, p, rng)
    st_ids, ra_ids = _ids("S", n_st), _ids("R", n_ra)
    comm_ids, beat_ids = _ids("C", n), _ids("B", n)
    officers = np.bincount(plan.station, weights=staff["community_officers"], minlength=n_st)
    share = _uniform(rng, p["staff"]["community_officer_share"], n_st)
    out = {"stations": _gdf({"id": st_ids, "name": pd.Series(st_base).add("派出所"),
                             "officers_total": np.round(officers / share).astype(int),
                             "district_code": d["district_code"]},
                            [shapely.coverage_union_all(lay.polys[plan.station == s])
                             for s in range(n_st)], to, "stations")}
    ra_station = np.array([plan.station[plan.area == a][0] for a in range(n_ra)])
    ra_rank = pd.Series(ra_station).groupby(ra_station).cumcount().to_numpy() + 1
    out["responsibility_areas"] = _gdf(
        {"id": ra_ids, "station_id": st_ids[ra_station],
         "name": [f"{st_base[s]}第{k}责任区" for s, k in zip(ra_station, ra_rank)]},
        [shapely.coverage_union_all(lay.polys[plan.area == a]) for a in range(n_ra)],
        to, "responsibility_areas")
    out["beats"] = _gdf({"id": beat_ids, "name": pd.Series(comm_name).add("警务区"),
                         "station_id": st_ids[plan.station],
                         "responsibility_area_id": ra_ids[plan.area]}, lay.polys, to, "beats")
    out["communities"] = _gdf(
        {"id": comm_ids, "name": comm_name, "kind": np.where(lay.rural, "rural", "urban"),
         "station_id": st_ids[plan.station], "beat_id": beat_ids, "code": comm_code,
         "subdistrict_code": sub_code, "subdistrict": sub_name}, lay.polys, to, "communities")
    return out, (comm_ids, beat_ids, comm_name)


def _rooms(lay, plan, buildings, staff, comm_name, beat_ids, st_ids, to, p, rng):
    """A room per beat in the building nearest the community's middle."""
    n = len(lay.polys)
    rep = shapely.point_on_surface(lay.polys)
    comm = buildings["comm"].to_numpy()
    dist = shapely.distance(buildings["geometry"].to_numpy(), rep[comm])
    nearest = pd.Series(dist).groupby(comm).idxmin().reindex(range(n))
    geom = np.array(rep, dtype=object)
    found = nearest.notna().to_numpy()
    geom[found] = shapely.centroid(buildings["geometry"].to_numpy()[nearest[found].astype(int)])
    shares = p["staff"]["office_condition_share"]
    names = list(shares)
    quota = np.floor(np.array([shares[k] for k in names]) * n).astype(int)
    weight = np.array([shares[k] for k in names], dtype=float)
    rest = rng.choice(names, n - quota.sum(), p=weight / weight.sum())
    condition = rng.permutation(np.r_[np.repeat(names, quota), rest])
    return _gdf({"id": _ids("PR", n), "name": pd.Series(comm_name).add("警务室"),
                 "room_type": np.where(staff["community_officers"] >= 2, 1, 2),
                 "setting": np.where(lay.rural, "rural", "urban"),
                 "office_condition": condition, "beat_id": beat_ids,
                 "station_id": st_ids[plan.station]}, geom, to, "police_rooms")


def _buildings_frame(b, estates, est_ids, comm_ids, comm_name, to):
    has_estate = b["estate"].notna().to_numpy()
    est = b["estate"].fillna(0).to_numpy(dtype=int)
    seq = b.groupby(["group"]).cumcount() + 1
    group_no = b.groupby("comm")["group"].rank(method="dense").astype(int)
    address = np.where(has_estate,
                       estates["name"].to_numpy()[est] + seq.astype(str).to_numpy() + "幢",
                       comm_name[b["comm"]] + group_no.astype(str).to_numpy() + "区"
                       + seq.astype(str).to_numpy() + "号")
    rural = (b["kind"] == "house").to_numpy()
    address[rural] = (comm_name[b["comm"][rural]] + group_no[rural].astype(str).to_numpy()
                      + "组" + seq[rural].astype(str).to_numpy() + "号")
    return _gdf({"id": _ids("BLD", len(b)), "households": b["households"],
                 "households_estimated": False,
                 "population_registered": b["population_registered"],
                 "population_floating": b["population_floating"], "levels": b["levels"],
                 "use": b["use"], "estate_id": np.where(has_estate, est_ids[est], None),
                 "community_id": comm_ids[b["comm"]], "grid_id": None, "address": address},
                b["geometry"], to, "buildings")


def _cameras_frame(cams, est_ids, to):
    xy = shapely.get_coordinates(cams["geometry"].to_numpy())
    has_look = cams["look"].notna().to_numpy()
    look = np.array([v if isinstance(v, tuple) else (0.0, 0.0) for v in cams["look"]])
    direction = np.full(len(cams), np.nan)
    if has_look.any():
        direction[has_look] = to.bearing(xy[has_look], look[has_look])
    est = cams["estate"].to_numpy(dtype=float)
    estate_id = np.where(np.isnan(est), None, est_ids[np.nan_to_num(est).astype(int)])
    return _gdf({"id": _ids("CAM", len(cams)), "kind": cams["kind"], "direction": direction,
                 "fov_deg": cams["fov_deg"], "range_m": np.round(cams["range_m"], 1),
                 "height_m": np.round(cams["height_m"], 1),
                 "tilt_deg": np.round(cams["tilt_deg"], 1),
                 "focal_length_mm": cams["focal_length_mm"],
                 "sensor_width_mm": cams["sensor_width_mm"],
                 "resolution_h_px": cams["resolution_h_px"], "estate_id": estate_id,
                 "source": "synthetic"}, cams["geometry"], to, "cameras")


def _conformed(df, layer):
    out, problems = schema.conform_layer(df, layer)
    errors = [p for p in problems if p.severity == "error"]
    if errors:  # a bug in the generator, not bad input
        raise RuntimeError(f"sample layer {layer!r} breaks the schema: {errors[0].format()}")
    return out.reset_index(drop=True)
