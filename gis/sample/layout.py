"""District layout: the outline, the communities, stations and responsibility areas.

:func:`build_layout` tiles a wobbly rectangle with Voronoi cells of jittered seeds
(urban residential committees in the south, village committees on the northern edge);
:func:`plan_district` groups the communities into contiguous stations and
responsibility areas and draws each community's households, floating-population ratio
(人口倒挂 in a few, near the old core), age and street-grid angle.

Examples
--------
>>> import numpy as np
>>> from beatgrid.gis.config import load_settings
>>> p = load_settings("sample")
>>> rng = np.random.default_rng(0)
>>> lay = build_layout(30_000, p, rng)
>>> len(lay.polys), int(lay.rural.sum())
(12, 3)
>>> plan = plan_district(lay, 30_000, p, rng)
>>> int(plan.station.max()) + 1, int(plan.inversion.sum())
(2, 2)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from beatgrid.gis.sample.common import Params, Rng, integers, only, uniform

KMEANS_ROUNDS = 20        # Lloyd iterations placing station / area centres
OUTLINE_HARMONICS = 4     # smoothness of the district outline's wobble


@dataclass
class Layout:
    """The district's geometry in local metres.

    Attributes
    ----------
    outline
        The district polygon.
    seeds
        (n, 2) community seeds.
    rural
        Bool per community (village committee).
    polys
        Community polygons (an exact tiling of the outline).
    core
        The old urban core (x, y).
    spacing
        Typical urban seed spacing.
    urban_box
        (x0, y0, x1, y1) of the urban band.
    """

    outline: shapely.Geometry
    seeds: np.ndarray
    rural: np.ndarray
    polys: np.ndarray
    core: np.ndarray
    spacing: float
    urban_box: tuple[float, float, float, float]


@dataclass
class Plan:
    """What each community is: its station, area, size and population mix.

    Attributes
    ----------
    station, area
        Station and responsibility-area index per community.
    pairs
        Adjacency ``(i, j, shared lines)`` of communities (i < j).
    target
        Households asked of each community.
    floating_ratio
        Floating / registered residents per community.
    inversion
        Bool per community: floating residents outnumber registered ones (人口倒挂).
    oldness
        1 at the old core, 0 at the urban edge and in villages.
    theta
        Angle (radians) of each community's local street grid.
    """

    station: np.ndarray
    area: np.ndarray
    pairs: tuple[np.ndarray, np.ndarray, np.ndarray]
    target: np.ndarray
    floating_ratio: np.ndarray
    inversion: np.ndarray
    oldness: np.ndarray
    theta: np.ndarray


def _jittered(n: int, box: tuple[float, float, float, float], jitter: float, rng: Rng
              ) -> tuple[np.ndarray, float]:
    x0, y0, x1, y1 = box
    cols = max(1, round(math.sqrt(n * (x1 - x0) / (y1 - y0))))
    rows = math.ceil(n / cols)
    cw, ch = (x1 - x0) / cols, (y1 - y0) / rows
    keep = np.sort(rng.choice(cols * rows, n, replace=False))
    pts = np.column_stack([x0 + (keep % cols + 0.5) * cw, y0 + (keep // cols + 0.5) * ch])
    return pts + rng.uniform(-jitter, jitter, (n, 2)) * [cw, ch], min(cw, ch)


def _outline(width: float, height: float, amplitude: float, spacing: float, rng: Rng
             ) -> Any:
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


def build_layout(households: int, p: Params, rng: Rng) -> Layout:
    """The outline and the community tessellation for ``households``.

    Parameters
    ----------
    households
        Households of the district (sets the number and size of communities).
    p
        Sample settings (``[district]`` is read).
    rng
        numpy Generator.

    Returns
    -------
    Layout

    Examples
    --------
    >>> from beatgrid.gis.config import load_settings
    >>> p, rng = load_settings("sample"), np.random.default_rng(0)
    >>> lay = build_layout(5000, p, rng)
    >>> len(lay.polys), lay.rural.tolist()
    (4, [False, False, False, True])
    """
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
    polys = only(shapely.intersection(cells, outline, grid_size=d["grid_size_m"]), 2)
    core = np.array([0.0, -height / 2 + d["core_position"] * (y_split + height / 2)])
    return Layout(outline, seeds, np.arange(n) >= n_urban, polys, core, su, urban_box)


def adjacency(polys: np.ndarray, min_shared: float = 1.0
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (i < j) of polygons sharing a boundary longer than ``min_shared``, and the
    shared lines.

    Examples
    --------
    >>> boxes = np.array([shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1), shapely.box(5, 5, 6, 6)])
    >>> i, j, lines = adjacency(boxes, min_shared=0.5)
    >>> i.tolist(), j.tolist(), [round(g.length, 3) for g in lines]
    ([0], [1], [1.0])
    """
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


def _regions(xy: np.ndarray, neighbours: Sequence[set[int]], nodes: Any, k: int, rng: Rng
             ) -> np.ndarray:
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
    label: dict[int, int] = {}
    members: list[list[int]] = [[] for _ in range(k)]
    for r in range(k):
        s = next(int(nodes[o]) for o in np.argsort(dist[:, r]) if int(nodes[o]) not in label)
        label[s] = r
        members[r].append(s)
    inside = {int(n) for n in nodes}
    frozen: set[int] = set()
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


def plan_district(lay: Layout, households: int, p: Params, rng: Rng) -> Plan:
    """Stations, responsibility areas, sizes and population mix of the communities.

    Parameters
    ----------
    lay
        :func:`build_layout`.
    households
        Households of the district.
    p
        Sample settings (``[district]``, ``[population]``, ``[streets]``).
    rng
        numpy Generator.

    Returns
    -------
    Plan

    Examples
    --------
    >>> from beatgrid.gis.config import load_settings
    >>> p, rng = load_settings("sample"), np.random.default_rng(0)
    >>> lay = build_layout(5000, p, rng)
    >>> plan = plan_district(lay, 5000, p, rng)
    >>> plan.station.tolist(), int(plan.target.sum())
    ([0, 0, 0, 0], 5000)
    """
    d, pop = p["district"], p["population"]
    n = len(lay.polys)
    i, j, shared = adjacency(lay.polys)
    neighbours: list[set[int]] = [set() for _ in range(n)]
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
    ratio = np.where(inversion, uniform(rng, pop["inversion_floating_ratio"], n),
                     uniform(rng, pop["floating_ratio"], n))
    s = p["streets"]
    theta = np.radians(s["base_angle_deg"] + rng.uniform(-1, 1, n) * s["angle_spread_deg"])
    return Plan(station, area, (i, j, shared), target, ratio, inversion, oldness, theta)


def _targets(rural: np.ndarray, households: int, pop: Params, rng: Rng) -> np.ndarray:
    """Households per community: village committees smaller, urban ones log-normal."""
    target = np.zeros(len(rural))
    target[rural] = integers(rng, pop["rural_households"], rural.sum())
    if target.sum() > 0.5 * households:
        target *= 0.5 * households / target.sum()
    weight = rng.lognormal(0.0, pop["urban_households_sigma"], (~rural).sum())
    target[~rural] = weight / weight.sum() * (households - target[rural].sum())
    return np.round(target).astype(int)
