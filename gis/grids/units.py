"""Atomic units of basic grids: street blocks and, inside big blocks, building cells.

A basic grid (基础网格) is a union of atomic units. The units of a community are

* **street blocks**: the street network polygonised together with the community
  boundary (so a unit never crosses the boundary; "街巷定界"), slivers merged away;
* **building cells**: a block holding more households than
  ``units.split_share_of_band x (max - min)`` is tessellated among its buildings
  (Voronoi diagram of points sampled on the outlines, dissolved per building and
  carved so that every cell contains its whole building), so that a grid border runs
  along a street where block sizes allow and otherwise *between* buildings.

Every building lies wholly in exactly one unit (a building crossing a street line is
carved out whole into the block holding most of it) and every square metre of the
community lies in exactly one unit. All geometry is computed in the metric CRS of
:func:`beatgrid.gis.crs.metric_crs`.

Examples
--------
>>> units = build_units(communities, streets, buildings)          # doctest: +SKIP
>>> units.units[["community_id", "kind", "households"]].head()    # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from beatgrid.gis.crs import metric_crs
from beatgrid.gis.errors import InputError
from beatgrid.gis.config import load_settings

UNIT_COLUMNS = ["community_id", "block", "kind", "households", "buildings", "estate_id",
                "area_m2", "perimeter_m", "exterior_m"]


@dataclass
class AtomicUnits:
    """The atomic units of one or more communities, in the metric CRS.

    Attributes
    ----------
    units
        One row per unit, index ``0..n-1``: ``community_id``, ``block`` (global block
        number; cells of one block share it), ``kind`` (``"block"`` or ``"cell"``),
        ``households``, ``buildings`` (count), ``estate_id`` (the estate holding most of
        the unit's households, or None), ``area_m2``, ``perimeter_m``, ``exterior_m``
        (length on the community boundary) and the polygon geometry.
    buildings
        The buildings with ``unit`` (row of ``units``; -1 for a building outside every
        community), ``households``, ``estate_id``, ``community_id`` (spatial) and the
        original ``id``; metric CRS, original index kept.
    edges
        Adjacency: ``i < j``, ``length_m`` (shared border), ``street`` (the border runs
        along a street, i.e. the units are in different blocks) and ``same_estate``.
    crs
        The metric CRS of the geometries.
    storage_crs
        The CRS of the input layers (results are written back in it).
    communities
        The community polygons (metric), indexed by community id.
    """

    units: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    edges: pd.DataFrame
    crs: pyproj.CRS
    storage_crs: pyproj.CRS | None = None
    communities: gpd.GeoSeries | None = None
    notes: list[str] = field(default_factory=list)

    def community_ids(self) -> list:
        """Community ids in input order."""
        return list(pd.unique(self.units["community_id"]))

    def of_community(self, community_id) -> np.ndarray:
        """Row numbers of the units of one community."""
        return np.flatnonzero(self.units["community_id"].to_numpy() == community_id)


def polygonal(geoms):
    """Keep only the polygonal parts of each geometry (overlays may return collections)."""
    arr = np.atleast_1d(np.asarray(geoms, dtype=object))
    types = shapely.get_type_id(arr)
    bad = np.flatnonzero(~np.isin(types, (3, 6)))
    for i in bad:
        g = arr[i]
        if g is None:
            arr[i] = shapely.Polygon()
            continue
        parts = shapely.get_parts(g)
        parts = parts[np.isin(shapely.get_type_id(parts), (3, 6))]
        arr[i] = shapely.multipolygons(shapely.get_parts(parts)) if len(parts) > 1 else (
            parts[0] if len(parts) else shapely.Polygon())
    return arr if np.ndim(geoms) else arr[0]


def _cfg(settings: dict | None) -> dict:
    return settings if settings is not None else load_settings("grids")


def split_threshold(settings: dict) -> float:
    """Households above which a block is split into building cells."""
    band = settings["band"]
    return settings["units"]["split_share_of_band"] * (
        band["max_households"] - band["min_households"])


# ------------------------------------------------------------------------------------
# Blocks
# ------------------------------------------------------------------------------------

def street_blocks(community: shapely.Geometry, streets: np.ndarray, *, settings: dict) -> np.ndarray:
    """Polygonise ``streets`` with the boundary of ``community`` (metric geometries).

    Parameters
    ----------
    community
        The community (Multi)Polygon.
    streets
        Array of street (Multi)LineStrings near the community.
    settings
        The grid settings (``units.snap_tolerance_m``, ``units.precision_m``).

    Returns
    -------
    numpy.ndarray
        Polygons that cover ``community`` exactly, one per street block.

    Examples
    --------
    >>> import shapely
    >>> s = load_settings("grids")
    >>> sq = shapely.box(0, 0, 100, 100)
    >>> len(street_blocks(sq, np.array([shapely.LineString([(50, -10), (50, 110)])]), settings=s))
    2
    """
    u = settings["units"]
    grid = u["precision_m"]
    boundary = shapely.boundary(community)
    parts = [boundary]
    if len(streets):
        near = streets[shapely.intersects(streets, community)]
        if len(near):
            near = shapely.snap(near, boundary, u["snap_tolerance_m"])
            clipped = shapely.intersection(near, community)
            clipped = clipped[~shapely.is_empty(clipped)]
            parts.extend(shapely.get_parts(clipped).tolist())
    lines = shapely.get_parts(np.array(parts, dtype=object))
    lines = lines[np.isin(shapely.get_type_id(lines), (1, 2, 5))]
    noded = shapely.union_all(lines, grid_size=grid)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    if len(faces) == 0:
        return np.array([community], dtype=object)
    inside = shapely.contains_properly(community, shapely.point_on_surface(faces)) | \
        shapely.within(shapely.point_on_surface(faces), community)
    faces = faces[inside & (shapely.area(faces) > 0)]
    if len(faces) == 0:
        return np.array([community], dtype=object)
    # polygonize may leave out area if the boundary itself is not closed after rounding
    covered = shapely.area(faces).sum()
    if abs(covered - shapely.area(community)) > max(1.0, 1e-6 * shapely.area(community)):
        rest = shapely.difference(community, shapely.union_all(faces), grid_size=grid)
        rest = shapely.get_parts(rest)
        rest = rest[shapely.area(rest) > 0]
        faces = np.concatenate([faces, rest])
    return faces


def _merge_into_neighbours(geoms: list, merge: np.ndarray, *, grid: float) -> list:
    """Merge each geometry flagged in ``merge`` into the neighbour with the longest border.

    Geometries flagged are removed from the list (replaced by None) once merged.
    """
    geoms = list(geoms)
    order = np.flatnonzero(merge)
    if len(order) == 0:
        return geoms
    order = order[np.argsort(shapely.area(np.array([geoms[i] for i in order], dtype=object)))]
    for i in order:
        g = geoms[i]
        if g is None:
            continue
        arr = np.array(geoms, dtype=object)
        alive = np.array([x is not None for x in geoms])
        cand = np.flatnonzero(alive & (np.arange(len(geoms)) != i))
        if len(cand) == 0:
            continue
        cand = cand[shapely.intersects(arr[cand], g)]
        if len(cand) == 0:
            continue
        shared = shapely.length(shapely.intersection(shapely.boundary(arr[cand]), shapely.boundary(g)))
        if shared.max() <= 0:
            continue
        j = cand[int(np.argmax(shared))]
        geoms[j] = polygonal(robust(shapely.union, geoms[j], g))
        geoms[i] = None
    return geoms


# ------------------------------------------------------------------------------------
# Building cells
# ------------------------------------------------------------------------------------

def tessellate_block(block: shapely.Geometry, footprints: np.ndarray, *, settings: dict) -> np.ndarray:
    """Split ``block`` into one cell per building footprint.

    The cells are the Voronoi regions of points sampled on the outlines (every
    ``units.outline_spacing_m``), dissolved per building, clipped to the block and
    carved so that each cell contains its whole footprint and no other. Cells
    partition the block.

    Parameters
    ----------
    block
        The block polygon (metric).
    footprints
        Building footprints lying inside ``block`` (metric), pairwise disjoint.
    settings
        Grid settings.

    Returns
    -------
    numpy.ndarray
        ``len(footprints)`` polygons, cell ``i`` containing footprint ``i``.

    Examples
    --------
    >>> s = load_settings("grids")
    >>> cells = tessellate_block(shapely.box(0, 0, 100, 50),
    ...     np.array([shapely.box(10, 10, 30, 40), shapely.box(60, 10, 90, 40)]), settings=s)
    >>> [round(c.area) for c in cells]
    [2250, 2750]
    """
    grid = settings["units"]["precision_m"]
    n = len(footprints)
    if n == 0:
        return np.empty(0, dtype=object)
    if n == 1:
        return np.array([block], dtype=object)
    rings = shapely.segmentize(shapely.boundary(footprints), settings["units"]["outline_spacing_m"])
    coords, owner = shapely.get_coordinates(rings, return_index=True)
    # add the representative point so that tiny buildings always own a region
    reps = shapely.get_coordinates(shapely.point_on_surface(footprints))
    coords = np.vstack([coords, reps])
    owner = np.concatenate([owner, np.arange(n)])
    key = np.round(coords / max(grid, 1e-6)).astype(np.int64)
    _, first = np.unique(key, axis=0, return_index=True)
    first = np.sort(first)
    coords, owner = coords[first], owner[first]
    if len(np.unique(owner)) < n or len(coords) < 3:
        # degenerate layout: fall back to cells from the representative points only
        coords, owner = reps, np.arange(n)
    regions = shapely.get_parts(shapely.voronoi_polygons(
        shapely.multipoints(coords), extend_to=block, ordered=True))
    if len(regions) != len(coords):  # GEOS dropped coincident points: match by location
        tree = shapely.STRtree(shapely.points(coords))
        hit = tree.query(shapely.point_on_surface(regions), predicate="within")
        reg_owner = np.full(len(regions), -1)
        # a region contains its generator point
        pairs = tree.query(regions, predicate="contains")
        reg_owner[pairs[0]] = owner[pairs[1]]
        del hit
        ok = reg_owner >= 0
        regions, reg_owner = regions[ok], reg_owner[ok]
    else:
        reg_owner = owner
    order = np.argsort(reg_owner, kind="stable")
    regions, reg_owner = regions[order], reg_owner[order]
    bounds = np.searchsorted(reg_owner, np.arange(n + 1))
    cells = np.empty(n, dtype=object)
    for i in range(n):
        part = regions[bounds[i]:bounds[i + 1]]
        cells[i] = _dissolve(part) if len(part) > 1 else (
            part[0] if len(part) else shapely.Polygon())
    shapely.prepare(block)
    out = ~shapely.contains_properly(block, cells)
    if out.any():
        cells[out] = polygonal(robust(shapely.intersection, cells[out], block))
    # carve: every cell gives up other buildings' footprints and takes its own whole
    tree = shapely.STRtree(footprints)
    ci, fi = tree.query(cells, predicate="intersects")
    other = ci != fi
    ci, fi = ci[other], fi[other]
    if len(ci):
        for c in np.unique(ci):
            cut = footprints[fi[ci == c]]
            cells[c] = polygonal(robust(shapely.difference, cells[c],
                                        robust(shapely.union_all, cut)))
    shapely.prepare(cells)
    short = ~shapely.contains(cells, footprints)
    if short.any():
        cells[short] = polygonal(robust(shapely.union, cells[short], footprints[short]))
    return _reassign_fragments(cells, footprints, grid=grid)


#: Units smaller than this (m2) are degenerate leftovers of overlays and are dropped.
TINY_AREA_M2 = 1e-4

#: Snap-rounding grid (m) of the fallback when a floating-point overlay fails.
ROBUST_GRID_M = 1e-6


def robust(op, *geoms, **kwargs):
    """Run a shapely overlay; on a topology error, retry on valid inputs with snap-rounding."""
    try:
        return op(*geoms, **kwargs)
    except shapely.errors.GEOSException:
        fixed = [shapely.make_valid(g) if not isinstance(g, (int, float)) else g for g in geoms]
        return op(*fixed, grid_size=ROBUST_GRID_M, **kwargs)


def _dissolve(parts: np.ndarray):
    """Union of polygons forming a coverage (fast path), or a robust union."""
    try:
        return shapely.coverage_union_all(parts)
    except shapely.errors.GEOSException:
        return polygonal(robust(shapely.union_all, parts))


def _reassign_fragments(cells: np.ndarray, footprints: np.ndarray, *, grid: float) -> np.ndarray:
    """Give parts of a cell that do not hold its building to the neighbour sharing most border."""
    cells = cells.copy()
    multi = np.flatnonzero(shapely.get_num_geometries(cells) > 1)
    orphans = []
    for i in multi:
        parts = shapely.get_parts(cells[i])
        own = shapely.intersects(parts, shapely.point_on_surface(footprints[i])) | \
            (shapely.area(shapely.intersection(parts, footprints[i])) > 0)
        if not own.any():
            own[np.argmax(shapely.area(parts))] = True
        cells[i] = shapely.union_all(parts[own], grid_size=grid) if own.sum() > 1 else parts[own][0]
        orphans.extend(parts[~own].tolist())
    for frag in sorted(orphans, key=lambda g: -g.area):
        near = np.flatnonzero(shapely.intersects(cells, frag))
        if len(near) == 0:
            near = np.array([int(np.argmin(shapely.distance(cells, frag)))])
        shared = shapely.length(shapely.intersection(shapely.boundary(cells[near]),
                                                     shapely.boundary(frag)))
        j = near[int(np.argmax(shared))]
        cells[j] = polygonal(robust(shapely.union, cells[j], frag))
    return cells


# ------------------------------------------------------------------------------------
# Units of a community
# ------------------------------------------------------------------------------------

def _community_units(poly, street_arr, bgeoms, bhh, settings, split_at):
    """Blocks and cells of one community; returns (unit geoms, block no, kind, unit of building)."""
    u = settings["units"]
    grid = u["precision_m"]
    blocks = list(street_blocks(poly, street_arr, settings=settings))
    nb = len(bgeoms)
    clipped = bgeoms.copy()
    if nb:
        shapely.prepare(poly)
        crossing_c = ~shapely.contains_properly(poly, bgeoms)
        if crossing_c.any():
            clipped[crossing_c] = polygonal(robust(shapely.intersection, bgeoms[crossing_c], poly))
    if nb:
        # -- assign each building to the block holding most of it; carve crossers whole
        barr = np.array(blocks, dtype=object)
        tree = shapely.STRtree(barr)
        bi, ki = tree.query(clipped, predicate="intersects")
        # most footprints lie inside one block: only the others need overlay areas
        n_hits = np.bincount(bi, minlength=nb)
        single = n_hits[bi] == 1
        area = np.empty(len(bi))
        area[single] = shapely.area(clipped[bi[single]])
        if (~single).any():
            area[~single] = shapely.area(robust(shapely.intersection, clipped[bi[~single]],
                                                barr[ki[~single]]))
        frame = pd.DataFrame({"b": bi, "k": ki, "a": area})
        frame = frame[frame["a"] > 0]
        best = frame.sort_values(["b", "a"], ascending=[True, False]).drop_duplicates("b")
        owner = np.full(nb, -1)
        owner[best["b"].to_numpy()] = best["k"].to_numpy()
        tot = shapely.area(clipped)
        share = frame["a"].to_numpy() / np.maximum(tot[frame["b"].to_numpy()], 1e-9)
        crossing = frame[(frame["k"].to_numpy() != owner[frame["b"].to_numpy()])
                         & (share > 1e-9)]
        if len(crossing):
            for b, group in crossing.groupby("b"):
                for k in group["k"]:
                    blocks[k] = polygonal(robust(shapely.difference, blocks[k], clipped[b]))
                blocks[owner[b]] = polygonal(robust(shapely.union, blocks[owner[b]], clipped[b]))
        # explode blocks cut in pieces by carving
        if len(crossing):
            exploded = []
            for g in blocks:
                parts = shapely.get_parts(g)
                parts = parts[shapely.area(parts) > 0]
                exploded.extend(parts.tolist())
            blocks = exploded
    barr = np.array(blocks, dtype=object)
    # -- which block holds each building (representative point of the clipped footprint)
    if nb:
        owner = _locate(clipped, barr)
    else:
        owner = np.empty(0, dtype=int)
    # -- merge slivers without buildings
    counts = np.bincount(owner[owner >= 0], minlength=len(barr)) if nb else np.zeros(len(barr), int)
    area = shapely.area(barr)
    width = 2 * area / np.maximum(shapely.length(barr), 1e-9)
    sliver = (counts == 0) & ((area < u["sliver_area_m2"]) | (width < u["sliver_width_m"]))
    if sliver.any() and len(barr) > 1:
        merged = _merge_into_neighbours(list(barr), sliver, grid=grid)
        barr = np.array([g for g in merged if g is not None], dtype=object)
        owner = _locate(clipped, barr) if nb else owner
    # -- split big blocks into building cells
    geoms, block_no, kind = [], [], []
    unit_of = np.full(nb, -1)
    hh_per_block = np.bincount(owner[owner >= 0], weights=bhh[owner >= 0],
                               minlength=len(barr)) if nb else np.zeros(len(barr))
    disjoint = _disjoint(clipped, grid) if nb else clipped
    for k, g in enumerate(barr):
        members = np.flatnonzero(owner == k) if nb else np.empty(0, int)
        solid = members[shapely.area(disjoint[members]) > 0] if len(members) else members
        if hh_per_block[k] > split_at and len(solid) > 1:
            cells = tessellate_block(g, disjoint[solid], settings=settings)
            first = len(geoms)
            for m, c in zip(solid, cells):
                unit_of[m] = len(geoms)
                geoms.append(c)
                block_no.append(k)
                kind.append("cell")
            hidden = np.setdiff1d(members, solid)
            if len(hidden):  # footprints wholly inside another one
                where = _locate(clipped[hidden], cells)
                unit_of[hidden] = np.where(where >= 0, where + first, first)
        else:
            unit_of[members] = len(geoms)
            geoms.append(g)
            block_no.append(k)
            kind.append("block")
    return np.array(geoms, dtype=object), np.array(block_no), np.array(kind), unit_of


def _disjoint(footprints: np.ndarray, grid: float) -> np.ndarray:
    """Footprints made pairwise disjoint (a later one gives up what it shares)."""
    out = footprints.copy()
    tree = shapely.STRtree(footprints)
    a, b = tree.query(footprints, predicate="overlaps")
    a2, b2 = tree.query(footprints, predicate="within")
    a, b = np.concatenate([a, a2]), np.concatenate([b, b2])
    keep = a > b
    a, b = a[keep], b[keep]
    for i in np.unique(a):
        out[i] = polygonal(robust(shapely.difference, out[i],
                                  robust(shapely.union_all, footprints[b[a == i]])))
    return out


def _locate(footprints: np.ndarray, polys: np.ndarray) -> np.ndarray:
    """Index of the polygon holding most of each footprint (-1 when none)."""
    out = np.full(len(footprints), -1)
    if len(footprints) == 0 or len(polys) == 0:
        return out
    tree = shapely.STRtree(polys)
    fi, pi = tree.query(footprints, predicate="intersects")
    if len(fi) == 0:
        return out
    single = np.bincount(fi, minlength=len(footprints))[fi] == 1
    if single.all():
        out[fi] = pi
        return out
    area = np.zeros(len(fi))
    multi = ~single
    area[multi] = shapely.area(robust(shapely.intersection, footprints[fi[multi]],
                                      polys[pi[multi]]))
    area[single] = 1.0
    frame = pd.DataFrame({"f": fi, "p": pi, "a": area}).sort_values(
        ["f", "a"], ascending=[True, False]).drop_duplicates("f")
    out[frame["f"].to_numpy()] = frame["p"].to_numpy()
    return out


def _explode(geoms, block, kind, unit_of, footprints):
    """Split multi-part units into one unit per part; buildings follow their part."""
    geoms = polygonal(shapely.make_valid(geoms))
    tiny = shapely.area(geoms) < TINY_AREA_M2
    if tiny.any() and not tiny.all():  # degenerate units (collapsed cells): drop them
        keep_rows = np.flatnonzero(~tiny)
        remap = np.full(len(geoms), -1)
        remap[keep_rows] = np.arange(len(keep_rows))
        lost = np.flatnonzero((unit_of >= 0) & tiny[np.maximum(unit_of, 0)])
        unit_of = np.where(unit_of >= 0, remap[np.maximum(unit_of, 0)], -1)
        geoms, block, kind = geoms[keep_rows], block[keep_rows], kind[keep_rows]
        if len(lost):
            tree = shapely.STRtree(geoms)
            unit_of[lost] = tree.query_nearest(shapely.point_on_surface(footprints[lost]),
                                               all_matches=False)[1]
    nparts = shapely.get_num_geometries(geoms)
    if (nparts <= 1).all():
        return geoms, block, kind, unit_of
    parts, src = shapely.get_parts(geoms, return_index=True)
    keep = shapely.area(parts) > TINY_AREA_M2
    parts, src = parts[keep], src[keep]
    new_of = np.full(len(unit_of), -1)
    first = np.searchsorted(src, np.arange(len(geoms)))
    for b in np.flatnonzero(unit_of >= 0):
        u = unit_of[b]
        if nparts[u] <= 1:
            new_of[b] = first[u]
    multi_b = np.flatnonzero((unit_of >= 0) & (new_of < 0))
    if len(multi_b):
        where = _locate(footprints[multi_b], parts)
        fallback = first[unit_of[multi_b]]
        new_of[multi_b] = np.where(where >= 0, where, fallback)
    return parts, block[src], kind[src], new_of


def clean_topology(geoms: np.ndarray, *, grid: float) -> np.ndarray:
    """Re-derive units from their noded boundaries so that neighbours share exact edges.

    The boundaries are noded together (snap-rounded to ``grid``) and polygonised; each
    face goes to the unit holding its representative point (a sliver between units, to
    the nearest one). Shared borders then have identical vertices on both sides, which
    makes :func:`unit_edges` exact and grid unions seamless.
    """
    if len(geoms) <= 1:
        return geoms
    try:  # floating noding is fast; snap-rounding is the robust fallback
        lines = shapely.union_all(shapely.boundary(geoms))
    except shapely.errors.GEOSException:
        lines = shapely.union_all(shapely.boundary(geoms), grid_size=grid)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(lines)))
    faces = faces[shapely.area(faces) > 0]
    if len(faces) == 0:
        return geoms
    pts = shapely.point_on_surface(faces)
    tree = shapely.STRtree(geoms)
    fi, ui = tree.query(pts, predicate="intersects")
    owner = np.full(len(faces), -1)
    owner[fi[::-1]] = ui[::-1]
    lost = np.flatnonzero(owner < 0)
    if len(lost):
        owner[lost] = tree.query_nearest(pts[lost], all_matches=False)[1]
    order = np.argsort(owner, kind="stable")
    bounds = np.searchsorted(owner[order], np.arange(len(geoms) + 1))
    out = geoms.copy()
    for k in range(len(geoms)):
        part = faces[order[bounds[k]:bounds[k + 1]]]
        if len(part) == 1:
            out[k] = part[0]
        elif len(part) > 1:
            out[k] = _dissolve(part)
    return out


def unit_edges(geoms: np.ndarray, *, community: np.ndarray, block: np.ndarray,
               estate: np.ndarray, min_shared: float, grid_size: float = 0.001) -> pd.DataFrame:
    """Adjacency of units: pairs sharing a border of at least ``min_shared`` metres.

    Borders are matched segment by segment (endpoints rounded to ``grid_size``), so the
    units must share exact edges (see :func:`clean_topology`).

    Returns a frame with ``i < j``, ``length_m``, ``street`` and ``same_estate``.
    """
    parts, part_owner = shapely.get_parts(geoms, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    owner = part_owner[ring_part]
    xy, ring = shapely.get_coordinates(rings, return_index=True)
    same = ring[:-1] == ring[1:]
    a, b = xy[:-1][same], xy[1:][same]
    unit = owner[ring[:-1][same]]
    ka = np.round(a / grid_size).astype(np.int64)
    kb = np.round(b / grid_size).astype(np.int64)
    swap = (ka[:, 0] > kb[:, 0]) | ((ka[:, 0] == kb[:, 0]) & (ka[:, 1] > kb[:, 1]))
    lo = np.where(swap[:, None], kb, ka)
    hi = np.where(swap[:, None], ka, kb)
    keys = np.column_stack([lo, hi])
    _, inv = np.unique(keys, axis=0, return_inverse=True)
    inv = inv.ravel()
    length = np.hypot(*(b - a).T)
    order = np.lexsort((unit, inv))
    inv_s, unit_s, len_s = inv[order], unit[order], length[order]
    pair = (inv_s[:-1] == inv_s[1:]) & (unit_s[:-1] != unit_s[1:])
    i = np.minimum(unit_s[:-1][pair], unit_s[1:][pair])
    j = np.maximum(unit_s[:-1][pair], unit_s[1:][pair])
    f = pd.DataFrame({"i": i, "j": j, "length_m": len_s[:-1][pair]})
    f = f[community[f["i"].to_numpy()] == community[f["j"].to_numpy()]]
    f = f.groupby(["i", "j"], as_index=False)["length_m"].sum()
    f = f[f["length_m"] >= min_shared]
    i, j = f["i"].to_numpy(np.int64), f["j"].to_numpy(np.int64)
    est_i, est_j = estate[i], estate[j]
    same_est = pd.notna(est_i) & pd.notna(est_j) & (est_i == est_j)
    return pd.DataFrame({"i": i, "j": j, "length_m": f["length_m"].to_numpy(),
                         "street": block[i] != block[j], "same_estate": np.asarray(same_est, bool)})


def _estate_of_buildings(buildings: gpd.GeoDataFrame, estates: gpd.GeoDataFrame | None) -> np.ndarray:
    est = buildings["estate_id"].to_numpy(dtype=object) if "estate_id" in buildings else \
        np.full(len(buildings), None, dtype=object)
    est = np.where(pd.isna(est), None, est)
    if estates is not None and len(estates):
        missing = np.array([e is None for e in est])
        if missing.any():
            pts = shapely.point_on_surface(buildings.geometry.values[missing])
            tree = shapely.STRtree(estates.geometry.values)
            pi, ei = tree.query(pts, predicate="within")
            fill = np.full(missing.sum(), None, dtype=object)
            fill[pi] = estates["id"].to_numpy(dtype=object)[ei]
            est[missing] = fill
    return est


def build_units(communities: gpd.GeoDataFrame, streets: gpd.GeoDataFrame | None,
                buildings: gpd.GeoDataFrame, *, estates: gpd.GeoDataFrame | None = None,
                settings: dict | None = None, community_ids=None,
                split_households: float | None = None, crs=None) -> AtomicUnits:
    """Build the atomic units (street blocks and building cells) of communities.

    Parameters
    ----------
    communities, streets, buildings
        Project layers (any CRS; computed in the metric CRS). ``buildings`` needs
        ``households``; ``estate_id`` is used when present.
    estates
        Optional estates layer, used for buildings without ``estate_id``.
    settings
        Grid settings (``load_settings("grids")`` when None).
    community_ids
        Only these communities (default all).
    split_households
        Override of the block split threshold (households); 0 splits every block with
        two buildings or more.
    crs
        Metric CRS to compute in (default :func:`beatgrid.gis.crs.metric_crs` of the
        communities).

    Returns
    -------
    AtomicUnits

    Examples
    --------
    >>> units = build_units(communities, streets, buildings)      # doctest: +SKIP
    >>> units.units.groupby("community_id")["households"].sum()   # doctest: +SKIP
    """
    settings = _cfg(settings)
    if communities is None or len(communities) == 0:
        raise InputError("the communities layer is empty",
                         fix="import community boundaries before planning grids")
    if "households" not in buildings.columns:
        raise InputError("the buildings layer has no 'households' column",
                         fix="import buildings with households (or levels to estimate them)")
    crs = metric_crs(communities, layer="communities") if crs is None else crs
    storage = communities.crs
    comm = communities.to_crs(crs)
    if community_ids is not None:
        wanted = set(map(str, community_ids))
        unknown = wanted - set(comm["id"].astype(str))
        if unknown:
            raise InputError(f"unknown community id(s): {', '.join(sorted(unknown))}",
                             fix="use ids of the communities layer")
        comm = comm[comm["id"].astype(str).isin(wanted)]
    comm = comm[~comm.geometry.is_empty & comm.geometry.notna()]
    grid = settings["units"]["precision_m"]
    cgeoms = polygonal(shapely.make_valid(shapely.set_precision(comm.geometry.values, grid)))
    bld = buildings.to_crs(crs) if len(buildings) else buildings.set_crs(crs, allow_override=True)
    bld = bld[bld.geometry.notna() & ~bld.geometry.is_empty]
    bgeoms = polygonal(shapely.make_valid(bld.geometry.values))
    bhh = pd.to_numeric(bld["households"], errors="coerce").fillna(0).to_numpy(float)
    if (bhh < 0).any():
        raise InputError("buildings have negative households",
                         fix="correct the households column (0 or more)")
    bld_est = _estate_of_buildings(bld, estates.to_crs(crs) if estates is not None
                                   and len(estates) else None)
    # -- buildings to communities (representative point)
    bcomm = np.full(len(bld), -1)
    if len(bld):
        pts = shapely.point_on_surface(bgeoms)
        tree = shapely.STRtree(cgeoms)
        pi, ci = tree.query(pts, predicate="intersects")
        order = np.argsort(pi, kind="stable")
        pi, ci = pi[order], ci[order]
        first = np.unique(pi, return_index=True)[1]
        bcomm[pi[first]] = ci[first]
    if streets is not None and len(streets):
        sgeoms = streets.to_crs(crs).geometry.values
        sgeoms = sgeoms[~shapely.is_empty(sgeoms) & ~pd.isna(sgeoms)]
        stree = shapely.STRtree(sgeoms)
    else:
        sgeoms, stree = np.empty(0, dtype=object), None
    split_at = split_threshold(settings) if split_households is None else float(split_households)
    all_geoms, all_comm, all_block, all_kind = [], [], [], []
    unit_of = np.full(len(bld), -1)
    block_offset = 0
    cids = comm["id"].to_numpy(dtype=object)
    for c, poly in enumerate(cgeoms):
        near = sgeoms[np.sort(stree.query(poly))] if stree is not None else sgeoms
        members = np.flatnonzero(bcomm == c)
        g, blk, kind, uo = _community_units(poly, near, bgeoms[members], bhh[members],
                                            settings, split_at)
        g = clean_topology(g, grid=grid)
        g, blk, kind, uo = _explode(g, blk, kind, uo, bgeoms[members])
        # a canonical order (west to east, then south to north) makes the units, and so
        # the plans, independent of the order of the input layers
        rp = shapely.get_coordinates(shapely.point_on_surface(g))
        order = np.lexsort((np.round(rp[:, 1], 3), np.round(rp[:, 0], 3)))
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        g, blk, kind = g[order], blk[order], kind[order]
        uo = np.where(uo >= 0, rank[np.maximum(uo, 0)], -1)
        unit_of[members] = np.where(uo >= 0, uo + len(all_geoms), -1)
        all_geoms.extend(g.tolist())
        all_comm.extend([cids[c]] * len(g))
        all_block.extend((blk + block_offset).tolist())
        all_kind.extend(kind.tolist())
        block_offset += int(blk.max()) + 1 if len(blk) else 0
    geoms = np.array(all_geoms, dtype=object)
    geoms = polygonal(shapely.make_valid(geoms))
    n = len(geoms)
    assigned = unit_of >= 0
    hh = np.bincount(unit_of[assigned], weights=bhh[assigned], minlength=n)
    nbld = np.bincount(unit_of[assigned], minlength=n)
    # estate of a unit: the estate with most households (buildings when no households)
    est = np.full(n, None, dtype=object)
    if assigned.any():
        f = pd.DataFrame({"u": unit_of[assigned], "e": bld_est[assigned],
                          "w": bhh[assigned] + 1e-3})
        f = f[f["e"].notna()]
        if len(f):
            top = f.groupby(["u", "e"], sort=False)["w"].sum().reset_index().sort_values(
                ["u", "w"], ascending=[True, False]).drop_duplicates("u")
            est[top["u"].to_numpy()] = top["e"].to_numpy()
    community = np.array(all_comm, dtype=object)
    block = np.array(all_block, dtype=np.int64)
    edges = unit_edges(geoms, community=community, block=block, estate=est,
                       min_shared=0.0, grid_size=grid)
    perim = shapely.length(geoms)
    shared = np.bincount(edges["i"], weights=edges["length_m"], minlength=n) + \
        np.bincount(edges["j"], weights=edges["length_m"], minlength=n)
    edges = edges[edges["length_m"] >= settings["units"]["min_shared_border_m"]].reset_index(
        drop=True)
    units = gpd.GeoDataFrame({
        "community_id": community, "block": block, "kind": np.array(all_kind, dtype=object),
        "households": hh.round().astype(np.int64), "buildings": nbld.astype(np.int64),
        "estate_id": est, "area_m2": shapely.area(geoms), "perimeter_m": perim,
        "exterior_m": np.maximum(perim - shared, 0.0),
    }, geometry=gpd.GeoSeries(geoms, crs=crs), crs=crs)
    out_b = gpd.GeoDataFrame({
        "id": bld["id"].to_numpy(dtype=object) if "id" in bld else np.arange(len(bld)),
        "households": bhh.round().astype(np.int64), "estate_id": bld_est,
        "community_id": np.where(bcomm >= 0, cids[np.maximum(bcomm, 0)] if len(cids) else None, None),
        "unit": unit_of,
    }, geometry=gpd.GeoSeries(bgeoms, crs=crs, index=bld.index), index=bld.index, crs=crs)
    notes = []
    outside = int((bcomm < 0).sum())
    if outside:
        notes.append(f"{outside} building(s) lie outside every selected community and were left out")
    return AtomicUnits(units=units, buildings=out_b, edges=edges, crs=crs, storage_crs=storage,
                       communities=gpd.GeoSeries(cgeoms, index=cids, crs=crs), notes=notes)
