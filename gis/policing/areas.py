"""Responsibility areas (责任区): adjacent beats joined into balanced, contiguous areas.

Adjacent police beats (:mod:`beatgrid.gis.policing.beats`) are joined into responsibility
areas whose officers share information and are assessed together (Shanghai: 4,161
beats in 781 areas). This module

* joins beats into *k* contiguous areas of balanced workload
  (:func:`responsibility_areas`, built on the graph routine :func:`grow_regions`:
  region growing, then local search);
* picks the load each area balances (:func:`balance_weights`);
* takes loaded areas instead (:func:`assign_loaded_areas`: the area covering most
  of each beat), dissolves beats into the ``responsibility_areas`` layer
  (:func:`area_polygons`) and writes the area id onto the beats
  (:func:`with_areas`).

Everything here is pure computation on frames (no file I/O); adjacency and
distances are computed in the metric CRS of :func:`beatgrid.gis.crs.to_metric`.

Why region growing rather than spopt
------------------------------------
spopt's regionalisers (SKATER, AZP, max-p, Ward) minimise the attribute
*dissimilarity* inside regions; max-p bounds a sum from below but lets the number
of regions float. None balances a sum over exactly *k* regions, which is what a
responsibility area needs (officers assessed together should carry similar
workload). :func:`grow_regions` therefore grows *k* regions from far-apart seeds,
always extending the lightest region by its nearest free neighbour, then moves
boundary beats between neighbouring regions while that lowers the sum of squared
deviations from the mean load and keeps both regions contiguous.

Examples
--------
>>> import geopandas as gpd, shapely
>>> from beatgrid.gis.policing.beats import derive_beats
>>> comms = gpd.GeoDataFrame(
...     {"id": ["c1", "c2", "c3", "c4"], "station_id": "s1", "kind": "urban"},
...     geometry=[shapely.box(121.50 + 0.01 * i, 29.80, 121.51 + 0.01 * i, 29.81)
...               for i in range(4)], crs=4490)
>>> beats, _ = derive_beats(comms)
>>> area_of = responsibility_areas(beats, k=2, weights=[1, 1, 1, 1])
>>> list(area_of)
['RA-s1-01', 'RA-s1-01', 'RA-s1-02', 'RA-s1-02']
>>> area_polygons(beats, area_of)[["id", "station_id"]].values.tolist()
[['RA-s1-01', 's1'], ['RA-s1-02', 's1']]
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from beatgrid.gis.config import section_or_default
from beatgrid.gis.crs import to_metric
from beatgrid.gis.errors import InputError
from beatgrid.gis.graph import is_connected
from beatgrid.gis.policing.location import adjacency, clean_id, natural_key


# --------------------------------------------------------------------------------------
# Regions on a graph
# --------------------------------------------------------------------------------------

def connected_components(adj: list[set[int]],
                         nodes: Sequence[int] | None = None) -> list[list[int]]:
    """Connected components (sorted lists of positions) of the graph restricted to ``nodes``.

    Examples
    --------
    >>> connected_components([{1}, {0}, set(), {4}, {3}])
    [[0, 1], [2], [3, 4]]
    >>> connected_components([{1}, {0, 2}, {1}], nodes=[0, 2])
    [[0], [2]]
    """
    allowed = set(range(len(adj))) if nodes is None else set(nodes)
    seen: set[int] = set()
    comps = []
    for start in sorted(allowed):
        if start in seen:
            continue
        comp: list[int] = []
        queue = deque([start])
        seen.add(start)
        while queue:
            i = queue.popleft()
            comp.append(i)
            for j in adj[i]:
                if j in allowed and j not in seen:
                    seen.add(j)
                    queue.append(j)
        comps.append(sorted(comp))
    return comps


def grow_regions(adj: list[set[int]], weights: Any, xy: Any, k: int, *, max_moves: int = 2000,
                 nodes: Sequence[int] | None = None) -> np.ndarray[Any, Any]:
    """Split a graph into ``k`` contiguous regions of balanced total weight.

    The algorithm (deterministic):

    1. Split the nodes into connected components; every component gets at least
       one region, the other regions go to components in proportion to their weight
       (largest remainder; never more regions than nodes).
    2. In a component, seeds are picked by farthest-point sampling of ``xy``
       (the first is the node farthest from the weighted centre).
    3. Region growing: the lightest region that still has a free neighbour takes the
       free neighbour nearest to its seed, until every node is taken.
    4. Local search: a boundary node moves to a neighbouring region when that lowers
       the sum of squared deviations of region weights from their mean and leaves
       its region non-empty and connected (best moves first, one per region pair
       and pass); at most ``max_moves`` moves.

    Parameters
    ----------
    adj
        Neighbours of each node (positions), e.g. :func:`adjacency`.
    weights
        Non-negative weight (workload) per node.
    xy
        Node coordinates (n x 2), metric.
    k
        Regions wanted; raised to the number of components when smaller.
    max_moves
        Limit of local-search moves.
    nodes
        Restrict to these nodes (others get -1).

    Returns
    -------
    numpy.ndarray
        Region label (0..k'-1) per node, -1 for nodes outside ``nodes``.

    Examples
    --------
    >>> adj = [{1}, {0, 2}, {1, 3}, {2}]        # a chain of 4
    >>> grow_regions(adj, [3, 1, 1, 3], [[0, 0], [1, 0], [2, 0], [3, 0]], 2).tolist()
    [0, 0, 1, 1]
    """
    n = len(adj)
    w = np.asarray(weights, dtype=float)
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    if len(w) != n or len(xy) != n:
        raise InputError(f"grow_regions: {n} nodes but {len(w)} weights and {len(xy)} points",
                         fix="pass one weight and one point per node")
    if (w < 0).any() or not np.isfinite(w).all():
        raise InputError("grow_regions: weights must be finite and >= 0",
                         fix="clip negative workloads to 0")
    labels = np.full(n, -1, dtype=np.int64)
    comps = connected_components(adj, nodes)
    if not comps:
        return labels
    k = max(int(k), len(comps))
    # allocate regions to components
    sizes = np.array([len(c) for c in comps])
    cw = np.array([w[c].sum() for c in comps])
    share = cw / cw.sum() if cw.sum() > 0 else sizes / sizes.sum()
    alloc = np.ones(len(comps), dtype=int)
    extra = k - len(comps)
    if extra > 0:
        ideal = share * k
        for _ in range(extra):
            room = alloc < sizes
            if not room.any():
                break
            gain = np.where(room, ideal - alloc, -np.inf)
            alloc[int(np.argmax(gain))] += 1
    next_label = 0
    for comp, kc in zip(comps, alloc):
        sub = _grow_component(adj, w, xy, comp, int(kc), max_moves=max_moves)
        for node, lab in sub.items():
            labels[node] = next_label + lab
        next_label += int(kc)
    return labels


def _grow_component(adj: list[set[int]], w: np.ndarray[Any, Any], xy: np.ndarray[Any, Any],
                    comp: list[int], k: int, *, max_moves: int) -> dict[int, int]:
    if k <= 1:
        return {i: 0 for i in comp}
    comp_arr = np.array(comp)
    pts = xy[comp_arr]
    ww = w[comp_arr]
    centre = (pts * ww[:, None]).sum(0) / ww.sum() if ww.sum() > 0 else pts.mean(0)
    seeds = [int(comp_arr[np.argmax(((pts - centre) ** 2).sum(1))])]
    mind = ((pts - xy[seeds[0]]) ** 2).sum(1)
    while len(seeds) < k:
        nxt = int(comp_arr[np.argmax(mind)])
        seeds.append(nxt)
        mind = np.minimum(mind, ((pts - xy[nxt]) ** 2).sum(1))
    label: dict[int, int] = {s: r for r, s in enumerate(seeds)}
    load = np.array([w[s] for s in seeds])
    members: list[set[int]] = [{s} for s in seeds]
    in_comp = set(comp)
    # frontier per region: heap of (distance to seed, node)
    fronts: list[list[tuple[float, int]]] = [[] for _ in range(k)]

    def push(r: int, node: int) -> None:
        for j in adj[node]:
            if j in in_comp and j not in label:
                d = float(((xy[j] - xy[seeds[r]]) ** 2).sum())
                heapq.heappush(fronts[r], (d, j))

    for r, s in enumerate(seeds):
        push(r, s)
    remaining = len(comp) - k
    while remaining > 0:
        order = np.argsort(load, kind="stable")
        grown = False
        for r in order:
            while fronts[r] and fronts[r][0][1] in label:
                heapq.heappop(fronts[r])
            if fronts[r]:
                _, j = heapq.heappop(fronts[r])
                label[j] = int(r)
                members[r].add(j)
                load[r] += w[j]
                push(int(r), j)
                remaining -= 1
                grown = True
                break
        if not grown:  # pragma: no cover - a connected component always grows
            break
    _refine(adj, w, label, members, load, max_moves=max_moves)
    return label


def _refine(adj: list[set[int]], w: np.ndarray[Any, Any], label: dict[int, int],
            members: list[set[int]], load: np.ndarray[Any, Any], *, max_moves: int) -> None:
    target = load.mean()
    budget = max_moves
    neighbours = [list(n) for n in adj]  # the adjacency lists is_connected walks
    while budget > 0:
        candidates: list[tuple[float, int, int, int]] = []
        for i, a in label.items():
            wi = w[i]
            if wi <= 0:
                continue
            for b in {label[j] for j in adj[i] if j in label} - {a}:
                delta = ((load[a] - wi - target) ** 2 + (load[b] + wi - target) ** 2
                         - (load[a] - target) ** 2 - (load[b] - target) ** 2)
                if delta < -1e-9:
                    candidates.append((delta, i, a, b))
        moved = 0
        touched: set[int] = set()
        # apply the best moves between region pairs not yet touched in this pass
        for _delta, i, a, b in sorted(candidates):
            if a in touched or b in touched or moved >= budget:
                continue
            if is_connected(neighbours, members[a], i):
                members[a].discard(i)
                members[b].add(i)
                label[i] = b
                load[a] -= w[i]
                load[b] += w[i]
                touched.update((a, b))
                moved += 1
        budget -= moved
        if not moved or budget <= 0:
            return


# --------------------------------------------------------------------------------------
# Responsibility areas of beats
# --------------------------------------------------------------------------------------

def balance_weights(summary: pd.DataFrame, *, balance_by: str,
                    workload_hours: pd.Series | None = None) -> np.ndarray[Any, Any]:
    """The per-beat weight an area balances (``responsibility_areas.balance_by``).

    Falls back to households, then to 1 per beat, when the chosen measure is zero
    everywhere.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"beat_id": ["a", "b"], "households": [300, 500], "incidents": [0, 0]})
    >>> balance_weights(s, balance_by="households").tolist()
    [300.0, 500.0]
    >>> balance_weights(s, balance_by="incidents").tolist()      # zero everywhere: households
    [300.0, 500.0]
    >>> balance_weights(s, balance_by="workload_hours",
    ...                 workload_hours=pd.Series({"a": 2.5, "b": 1.0})).tolist()
    [2.5, 1.0]
    """
    n = len(summary)
    if balance_by == "beats":
        return np.ones(n)
    if balance_by == "workload_hours":
        if workload_hours is None:
            raise InputError("balance_by 'workload_hours' needs the workload of each beat",
                             fix="pass workload_hours= (gis.workload.workload_requirement)")
        values = summary["beat_id"].map(workload_hours).fillna(0).to_numpy(dtype=float)
    else:
        values = pd.to_numeric(summary[balance_by], errors="coerce").fillna(0) \
            .to_numpy(dtype=float)
    if values.sum() <= 0 and balance_by != "households" and "households" in summary:
        values = pd.to_numeric(summary["households"]).fillna(0).to_numpy(dtype=float)
    if values.sum() <= 0:
        values = np.ones(n)
    return values


def responsibility_areas(beats: gpd.GeoDataFrame, *, weights: Any = None, k: int | None = None,
                         beats_per_area: float | None = None, within_station: bool | None = None,
                         max_moves: int | None = None, settings: Mapping[str, Any] | None = None,
                         tolerance_m: float = 1.0) -> pd.Series:
    """Join adjacent beats into contiguous responsibility areas of balanced workload.

    Parameters
    ----------
    beats
        Beats (``id``, optional ``station_id``, polygon).
    weights
        Workload per beat (sequence in the order of ``beats``, or a Series by beat
        id); default 1 per beat.
    k
        Number of areas in total (shared among stations in proportion to their
        beats); default ``len(beats) / beats_per_area`` per station.
    beats_per_area, within_station, max_moves
        Override the settings of ``[responsibility_areas]``.
    settings
        The ``policing`` settings; default the shipped ones.
    tolerance_m
        Adjacency tolerance (see :func:`adjacency`).

    Returns
    -------
    pandas.Series
        Area id per beat (index of ``beats``): ``RA-<station>-NN`` (``RA-NN`` without
        stations). Areas are contiguous; a station whose beats are not connected gets
        at least one area per connected piece.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> b = gpd.GeoDataFrame({"id": list("abcdef"), "station_id": "s"},
    ...     geometry=[shapely.box(121.5 + .01 * i, 29.8, 121.51 + .01 * i, 29.81)
    ...               for i in range(6)], crs=4490)
    >>> responsibility_areas(b, k=3, weights=[1, 1, 1, 1, 1, 1]).tolist()
    ['RA-s-01', 'RA-s-01', 'RA-s-02', 'RA-s-02', 'RA-s-03', 'RA-s-03']
    """
    ra = section_or_default(settings, "policing")["responsibility_areas"]
    bpa = ra["beats_per_area"] if beats_per_area is None else float(beats_per_area)
    within = ra["within_station"] if within_station is None else bool(within_station)
    moves = ra["max_moves"] if max_moves is None else int(max_moves)
    if bpa <= 0:
        raise InputError(f"beats_per_area {bpa!r} must be > 0", fix="give e.g. 5")
    if k is not None and int(k) < 1:
        raise InputError(f"k {k!r} must be >= 1", fix="ask for at least one area")
    n = len(beats)
    if n == 0:
        return pd.Series(dtype=object)
    b = beats.reset_index(drop=True)
    if weights is None:
        w = np.ones(n)
    elif isinstance(weights, pd.Series) and not weights.index.equals(pd.RangeIndex(n)):
        w = b["id"].astype(str).map(weights).fillna(0).to_numpy(dtype=float)
    else:
        w = np.asarray(weights, dtype=float)
    if len(w) != n:
        raise InputError(f"{len(w)} weights for {n} beats", fix="give one weight per beat")
    metric = to_metric(b, layer="beats")
    adj = adjacency(metric, tolerance_m=tolerance_m)
    cent = metric.geometry.representative_point()
    xy = np.column_stack([cent.x.to_numpy(), cent.y.to_numpy()])
    station = b["station_id"].map(clean_id) if (within and "station_id" in b) \
        else pd.Series(None, index=b.index, dtype=object)
    groups = station.fillna("").groupby(station.fillna("")).indices
    result = np.empty(n, dtype=object)
    keys = sorted(groups)
    sizes = np.array([len(groups[key]) for key in keys])
    if k is not None:
        per_group = _largest_remainder(int(k), sizes)
    else:
        per_group = np.maximum(1, np.round(sizes / bpa).astype(int))
    for key, kk in zip(keys, np.minimum(per_group, sizes)):
        idx = groups[key]
        labels = grow_regions(adj, w, xy, int(kk), max_moves=moves, nodes=idx.tolist())
        # number areas west-to-east, south-to-north for stable, readable ids
        labs = labels[idx]
        order = sorted(set(labs.tolist()), key=lambda L: (round(xy[idx][labs == L, 0].min(), 0),
                                                          xy[idx][labs == L, 1].min()))
        rename = {L: r + 1 for r, L in enumerate(order)}
        prefix = f"RA-{key}-" if key else "RA-"
        for i, L in zip(idx, labs):
            result[i] = f"{prefix}{rename[L]:02d}"
    return pd.Series(result, index=beats.index, name="responsibility_area_id")


def _largest_remainder(k: int, sizes: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Share ``k`` among groups in proportion to ``sizes``, each group at least 1."""
    ideal = k * sizes / sizes.sum()
    alloc = np.maximum(1, np.floor(ideal).astype(int))
    while alloc.sum() < k and (alloc < sizes).any():
        gain = np.where(alloc < sizes, ideal - alloc, -np.inf)
        alloc[int(np.argmax(gain))] += 1
    return alloc


def area_polygons(beats: gpd.GeoDataFrame, area_of: Any) -> gpd.GeoDataFrame:
    """The ``responsibility_areas`` layer: beats dissolved by area id.

    Parameters
    ----------
    beats
        Beats with ``station_id`` and polygons.
    area_of
        Area id per beat (Series with the index of ``beats`` or a sequence).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> b = gpd.GeoDataFrame({"id": ["a", "b"], "station_id": "s"},
    ...     geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)], crs=3857)
    >>> area_polygons(b, ["RA-1", "RA-1"])[["id", "station_id"]].values.tolist()
    [['RA-1', 's']]
    """
    area = pd.Series(np.asarray(area_of, dtype=object), index=beats.index)
    rows = []
    geoms = beats.geometry
    st = beats["station_id"].map(clean_id) if "station_id" in beats \
        else pd.Series(None, index=beats.index)
    groups = area.groupby(area).groups
    for aid in sorted(groups, key=natural_key):
        idx = groups[aid]
        stations = st.loc[idx].dropna()
        rows.append({"id": aid, "name": f"{aid}",
                     "station_id": stations.mode().iloc[0] if len(stations) else None,
                     "geometry": shapely.union_all(geoms.loc[idx].to_numpy())})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=beats.crs)


def assign_loaded_areas(beats: gpd.GeoDataFrame, areas: gpd.GeoDataFrame) -> pd.Series:
    """Area id per beat from loaded ``responsibility_areas`` polygons (largest overlap).

    Beats keeping a ``responsibility_area_id`` keep it; the others take the area
    that covers most of their surface (None when none overlaps).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> b = gpd.GeoDataFrame({"id": ["a", "b"]}, geometry=[shapely.box(0, 0, 1, 1),
    ...                       shapely.box(1, 0, 2, 1)], crs=3857)
    >>> ra = gpd.GeoDataFrame({"id": ["R1", "R2"]}, geometry=[shapely.box(0, 0, 1.2, 1),
    ...                        shapely.box(1.2, 0, 2, 1)], crs=3857)
    >>> assign_loaded_areas(b, ra).tolist()
    ['R1', 'R2']
    """
    current = beats["responsibility_area_id"].map(clean_id) if "responsibility_area_id" in beats \
        else pd.Series(None, index=beats.index, dtype=object)
    out = current.astype(object).copy()
    todo = out.isna().to_numpy()
    if not todo.any() or len(areas) == 0:
        return out
    bm = to_metric(beats, layer="beats")
    am = areas.to_crs(bm.crs)
    tree = shapely.STRtree(am.geometry.array)
    geoms = bm.geometry.array
    aids = am["id"].astype(str).to_numpy()
    for pos in np.flatnonzero(todo):
        cand = tree.query(geoms[pos], predicate="intersects")
        if len(cand) == 0:
            continue
        inter = shapely.area(shapely.intersection(geoms[pos], am.geometry.array[cand]))
        best = int(np.argmax(inter))
        if inter[best] > 0:
            out.iloc[pos] = aids[cand[best]]
    return out


def with_areas(beats: gpd.GeoDataFrame, area_of: pd.Series) -> gpd.GeoDataFrame:
    """A copy of ``beats`` with ``responsibility_area_id`` set from ``area_of``.

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd, shapely
    >>> b = gpd.GeoDataFrame({"id": ["a"]}, geometry=[shapely.box(0, 0, 1, 1)], crs=3857)
    >>> with_areas(b, pd.Series(["RA-1"]))["responsibility_area_id"].tolist()
    ['RA-1']
    """
    out = beats.copy()
    out["responsibility_area_id"] = pd.Series(area_of, index=beats.index).to_numpy()
    return out


__all__ = ["connected_components", "grow_regions", "balance_weights", "responsibility_areas", "area_polygons",
           "assign_loaded_areas", "with_areas"]
