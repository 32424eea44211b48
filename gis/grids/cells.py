"""Building cells: a street block tessellated among its buildings.

A block holding more households than ``units.split_share_of_band x (max - min)`` is
split into one cell per building (:func:`tessellate_block`): the Voronoi regions of
points sampled on the outlines, dissolved per building, clipped to the block and carved
so that every cell contains its whole building and no other. A grid border then runs
*between* buildings where the street blocks are too big.

Examples
--------
>>> import shapely
>>> from beatgrid.gis.config import default_config
>>> block = shapely.box(0, 0, 100, 50)
>>> cells = tessellate_block(block, np.array([shapely.box(10, 10, 30, 40),
...     shapely.box(60, 10, 90, 40)]), settings=default_config().grids)
>>> round(sum(c.area for c in cells)) == block.area
True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from beatgrid.gis.grids.geometry import dissolve, polygonal, robust


def tessellate_block(block: shapely.Geometry, footprints: np.ndarray, *,
                     settings: Mapping[str, Any]) -> np.ndarray:
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
    >>> from beatgrid.gis.config import default_config
    >>> cells = tessellate_block(shapely.box(0, 0, 100, 50),
    ...     np.array([shapely.box(10, 10, 30, 40), shapely.box(60, 10, 90, 40)]),
    ...     settings=default_config().grids)
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
        cells[i] = dissolve(part) if len(part) > 1 else (
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


def disjoint_footprints(footprints: np.ndarray) -> np.ndarray:
    """Footprints made pairwise disjoint (a later one gives up what it shares).

    Examples
    --------
    >>> out = disjoint_footprints(np.array([shapely.box(0, 0, 2, 2), shapely.box(1, 0, 3, 2)]))
    >>> [g.area for g in out]
    [4.0, 2.0]
    """
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


def footprint_groups(footprints: np.ndarray, *, touching: bool = True,
                     min_overlap_m2: float = 0.0) -> np.ndarray:
    """Group number of every footprint: overlapping (and touching) footprints share one.

    Two footprints that overlap cannot be separated by a grid border without cutting
    one of them (an OpenStreetMap building and its part, two outlines drawn over each
    other); touching ones (row houses) are kept together too when ``touching``. Groups
    are the connected components of that relation, numbered in input order.

    Parameters
    ----------
    footprints
        Building footprints (metric).
    touching
        Also group footprints that only touch (share a wall or a corner).
    min_overlap_m2
        Without ``touching``: overlaps of at most this area do not group.

    Examples
    --------
    >>> fp = np.array([shapely.box(0, 0, 2, 2), shapely.box(1, 0, 3, 2),
    ...                shapely.box(3, 0, 4, 2), shapely.box(9, 0, 10, 1)])
    >>> footprint_groups(fp).tolist(), footprint_groups(fp, touching=False).tolist()
    ([0, 0, 0, 1], [0, 0, 1, 2])
    """
    n = len(footprints)
    if n < 2:
        return np.zeros(n, dtype=np.int64)
    tree = shapely.STRtree(footprints)
    a, b = tree.query(footprints, predicate="intersects")
    keep = a < b
    a, b = a[keep], b[keep]
    if len(a) and not touching:
        area = shapely.area(robust(shapely.intersection, footprints[a], footprints[b]))
        a, b = a[area > min_overlap_m2], b[area > min_overlap_m2]
    if len(a) == 0:
        return np.arange(n, dtype=np.int64)
    mat = coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
    labels = connected_components(mat, directed=False)[1]
    # numbered in order of first appearance
    _, first, inv = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first)] = np.arange(len(first))
    grouped: np.ndarray = rank[inv]
    return grouped
