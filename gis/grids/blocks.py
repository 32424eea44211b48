"""Street blocks of a community and the atomic units they become.

The streets are polygonised together with the community boundary (so a unit never
crosses it: "街巷定界"); slivers without buildings are merged into their neighbour;
a building crossing a street line is carved out whole into the block holding most of
it; blocks holding many households are split into building cells
(:mod:`beatgrid.gis.grids.cells`). :func:`clean_topology` then re-derives the units from
their noded boundaries so that neighbours share exact edges.

Examples
--------
>>> import shapely
>>> from beatgrid.gis.config import default_config
>>> square = shapely.box(0, 0, 100, 100)
>>> streets = np.array([shapely.LineString([(50, -10), (50, 110)])])
>>> blocks = street_blocks(square, streets, settings=default_config().grids)
>>> sorted(round(b.area) for b in blocks)
[5000, 5000]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import shapely

from beatgrid.gis.grids.cells import disjoint_footprints, footprint_groups, tessellate_block
from beatgrid.gis.grids.geometry import TINY_AREA_M2, dissolve, polygonal, robust


def street_blocks(community: shapely.Geometry, streets: np.ndarray, *,
                  settings: Mapping[str, Any]) -> np.ndarray:
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
    >>> from beatgrid.gis.config import default_config
    >>> sq = shapely.box(0, 0, 100, 100)
    >>> lines = np.array([shapely.LineString([(50, -10), (50, 110)]),
    ...                   shapely.LineString([(-10, 50), (110, 50)])])
    >>> len(street_blocks(sq, lines, settings=default_config().grids))
    4
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


def _merge_into_neighbours(geoms: list[Any], merge: np.ndarray) -> list[Any]:
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




def community_units(poly: shapely.Geometry, street_arr: np.ndarray, bgeoms: np.ndarray,
                    bhh: np.ndarray, settings: Mapping[str, Any], split_at: float
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Blocks and cells of one community (metric geometries).

    Overlapping footprints (and touching ones, with ``units.merge_touching_footprints``)
    form one group (:func:`~beatgrid.gis.grids.cells.footprint_groups`) that is placed
    whole: the group is carved into one block and gets one cell, so no grid border can
    run through one of its buildings.

    Parameters
    ----------
    poly
        The community polygon.
    street_arr
        Street lines near the community.
    bgeoms, bhh
        Footprints and households of the community's buildings.
    settings
        Grid settings (``units`` table).
    split_at
        Households above which a block is split into building cells.

    Returns
    -------
    (geoms, block, kind, unit_of)
        Unit polygons, block number and kind (``"block"`` / ``"cell"``) per unit, and
        the unit of every building (-1 for none).

    Examples
    --------
    >>> from beatgrid.gis.config import default_config
    >>> geoms, block, kind, unit_of = community_units(
    ...     shapely.box(0, 0, 100, 100), np.array([shapely.LineString([(50, -10), (50, 110)])]),
    ...     np.array([shapely.box(10, 10, 20, 20)]), np.array([40.0]),
    ...     default_config().grids, split_at=100)
    >>> kind.tolist(), unit_of.tolist()
    (['block', 'block'], [1])
    """
    u = settings["units"]
    nb = len(bgeoms)
    if nb < 2:
        return _units_of_footprints(poly, street_arr, bgeoms, bhh, settings, split_at)
    clipped = bgeoms.copy()
    shapely.prepare(poly)
    crossing = ~shapely.contains_properly(poly, bgeoms)
    if crossing.any():
        clipped[crossing] = polygonal(robust(shapely.intersection, bgeoms[crossing], poly))
    group = footprint_groups(clipped, touching=bool(u.get("merge_touching_footprints", True)))
    n_groups = int(group.max()) + 1
    if n_groups == nb:  # nothing to group: every building is placed on its own
        return _units_of_footprints(poly, street_arr, bgeoms, bhh, settings, split_at)
    order = np.argsort(group, kind="stable")
    bounds = np.searchsorted(group[order], np.arange(n_groups + 1))
    ggeoms = np.empty(n_groups, dtype=object)
    for k in range(n_groups):
        members = order[bounds[k]:bounds[k + 1]]
        ggeoms[k] = bgeoms[members[0]] if len(members) == 1 else polygonal(
            robust(shapely.union_all, shapely.make_valid(bgeoms[members])))
    ghh = np.bincount(group, weights=bhh, minlength=n_groups)
    geoms, block, kind, g_unit = _units_of_footprints(poly, street_arr, ggeoms, ghh, settings,
                                                       split_at)
    return geoms, block, kind, g_unit[group]


def _units_of_footprints(poly: shapely.Geometry, street_arr: np.ndarray, bgeoms: np.ndarray,
                         bhh: np.ndarray, settings: Mapping[str, Any], split_at: float
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`community_units` on footprints that are placed one by one."""
    u = settings["units"]
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
        owner = locate(clipped, barr)
    else:
        owner = np.empty(0, dtype=int)
    # -- merge slivers without buildings
    counts = np.bincount(owner[owner >= 0], minlength=len(barr)) if nb else np.zeros(len(barr), int)
    area = shapely.area(barr)
    width = 2 * area / np.maximum(shapely.length(barr), 1e-9)
    sliver = (counts == 0) & ((area < u["sliver_area_m2"]) | (width < u["sliver_width_m"]))
    if sliver.any() and len(barr) > 1:
        merged = _merge_into_neighbours(list(barr), sliver)
        barr = np.array([g for g in merged if g is not None], dtype=object)
        owner = locate(clipped, barr) if nb else owner
    # -- split big blocks into building cells
    geoms: list[Any] = []
    block_no: list[int] = []
    kind: list[str] = []
    unit_of = np.full(nb, -1)
    hh_per_block = np.bincount(owner[owner >= 0], weights=bhh[owner >= 0],
                               minlength=len(barr)) if nb else np.zeros(len(barr))
    disjoint = disjoint_footprints(clipped) if nb else clipped
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
                where = locate(clipped[hidden], cells)
                unit_of[hidden] = np.where(where >= 0, where + first, first)
        else:
            unit_of[members] = len(geoms)
            geoms.append(g)
            block_no.append(k)
            kind.append("block")
    return np.array(geoms, dtype=object), np.array(block_no), np.array(kind), unit_of


def locate(footprints: np.ndarray, polys: np.ndarray) -> np.ndarray:
    """Index of the polygon holding most of each footprint (-1 when none).

    Examples
    --------
    >>> locate(np.array([shapely.box(8, 0, 12, 1)]),
    ...        np.array([shapely.box(0, 0, 9, 9), shapely.box(9, 0, 20, 9)])).tolist()
    [1]
    """
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


def explode_units(geoms: np.ndarray, block: np.ndarray, kind: np.ndarray, unit_of: np.ndarray,
                  footprints: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split multi-part units into one unit per part; buildings follow their part.

    Degenerate units (below :data:`~beatgrid.gis.grids.geometry.TINY_AREA_M2`) are
    dropped and their buildings go to the nearest unit.

    Examples
    --------
    >>> two = shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(5, 0, 6, 1)])
    >>> g, block, kind, unit_of = explode_units(np.array([two]), np.array([0]),
    ...     np.array(["block"]), np.array([0]), np.array([shapely.box(5.2, 0.2, 5.8, 0.8)]))
    >>> len(g), unit_of.tolist()
    (2, [1])
    """
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
        where = locate(footprints[multi_b], parts)
        fallback = first[unit_of[multi_b]]
        new_of[multi_b] = np.where(where >= 0, where, fallback)
    return parts, block[src], kind[src], new_of


def clean_topology(geoms: np.ndarray, *, grid: float) -> np.ndarray:
    """Re-derive units from their noded boundaries so that neighbours share exact edges.

    The boundaries are noded together (snap-rounded to ``grid``) and polygonised; each
    face goes to the unit holding its representative point (a sliver between units, to
    the nearest one). Shared borders then have identical vertices on both sides, which
    makes :func:`~beatgrid.gis.grids.units.unit_edges` exact and grid unions seamless.

    Examples
    --------
    >>> out = clean_topology(np.array([shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)]),
    ...                      grid=1e-6)
    >>> [g.area for g in out]
    [1.0, 1.0]
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
            out[k] = dissolve(part)
    return out
