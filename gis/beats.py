"""Police beats (警务区) and responsibility areas (责任区): derive, join, summarise.

A beat is drawn per residential or village committee ("one committee, one
officer", 一居一警); a rural beat may cover several villages. Adjacent beats are
joined into responsibility areas whose officers share information and are assessed
together. This module

* resolves the beats of a project (:func:`resolve_beats`: the ``beats`` layer, else
  communities dissolved by their ``beat_id``, else one beat per community);
* derives beats from communities (:func:`derive_beats`, optional merging of small
  adjacent rural villages);
* joins beats into *k* contiguous responsibility areas of balanced workload
  (:func:`responsibility_areas`, a documented region-growing with local search), or
  takes loaded areas (:func:`assign_loaded_areas`);
* summarises each beat (:func:`beat_summary`): police room, households,
  registered and floating population, grids, incidents and staff.

Everything here is pure computation on frames (no file I/O); areas and distances
are computed in the metric CRS of :func:`beatgrid.gis.crs.to_metric`.

Responsibility areas: why region growing rather than spopt
----------------------------------------------------------
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
>>> comms = gpd.GeoDataFrame(
...     {"id": ["c1", "c2", "c3", "c4"], "station_id": "s1", "kind": "urban"},
...     geometry=[shapely.box(121.50 + 0.01 * i, 29.80, 121.51 + 0.01 * i, 29.81)
...               for i in range(4)], crs=4490)
>>> beats, beat_of = derive_beats(comms)
>>> list(beats["id"]), beat_of["c3"]
(['c1', 'c2', 'c3', 'c4'], 'c3')
>>> list(responsibility_areas(beats, k=2, weights=[1, 1, 1, 1]))
['RA-s1-01', 'RA-s1-01', 'RA-s1-02', 'RA-s1-02']
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .crs import metric_crs
from .errors import InputError
from .schema import empty_layer
from .staffing_policy import default_policy

#: Columns of :func:`beat_summary`, in order (geometry last).
SUMMARY_COLUMNS = [
    "beat_id", "name", "station_id", "responsibility_area_id", "kind", "communities",
    "room_id", "room_type", "rooms", "office_condition", "households",
    "population_registered", "population_floating", "population_actual", "floating_ratio",
    "grids", "incidents", "incidents_preventable", "community_officers", "auxiliaries",
    "floating_managers", "grid_workers", "on_roster", "area_km2",
]
STAFF_ROLES = ("community_officers", "auxiliaries", "floating_managers", "grid_workers")


# --------------------------------------------------------------------------------------
# Adjacency and geometry helpers
# --------------------------------------------------------------------------------------

def adjacency(gdf: gpd.GeoDataFrame, *, tolerance_m: float = 1.0) -> list[set[int]]:
    """Neighbours of each polygon (positions): polygons within ``tolerance_m`` metres.

    Shared edges and shared corners both count (queen contiguity); the tolerance
    absorbs digitising slivers and gaps.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> g = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1),
    ...                                shapely.box(5, 5, 6, 6)], crs=3857)
    >>> adjacency(g)
    [{1}, {0}, set()]
    """
    n = len(gdf)
    out: list[set[int]] = [set() for _ in range(n)]
    if n == 0:
        return out
    geoms = gdf.to_crs(metric_crs(gdf, layer="beats")).geometry.array \
        if not _is_metric(gdf) else gdf.geometry.array
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="dwithin", distance=float(tolerance_m))
    for a, b in zip(left.tolist(), right.tolist()):
        if a != b:
            out[a].add(b)
            out[b].add(a)
    return out


def _is_metric(gdf) -> bool:
    crs = gdf.crs
    return bool(crs is not None and crs.is_projected and crs.axis_info
                and crs.axis_info[0].unit_name in ("metre", "meter"))


def _metric(gdf: gpd.GeoDataFrame, *, layer: str) -> gpd.GeoDataFrame:
    return gdf if _is_metric(gdf) else gdf.to_crs(metric_crs(gdf, layer=layer))


def _components(adj: list[set[int]], nodes: Sequence[int] | None = None) -> list[list[int]]:
    """Connected components (lists of positions) of the graph restricted to ``nodes``."""
    allowed = set(range(len(adj))) if nodes is None else set(nodes)
    seen: set[int] = set()
    comps = []
    for start in sorted(allowed):
        if start in seen:
            continue
        comp, queue = [], deque([start])
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


def _text(v) -> str | None:
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
        return None
    s = str(v)
    return s if s else None


# --------------------------------------------------------------------------------------
# Deriving beats from communities
# --------------------------------------------------------------------------------------

def derive_beats(communities: gpd.GeoDataFrame, *, households: Mapping | pd.Series | None = None,
                 policy: Mapping | None = None, rural_merge: bool | None = None,
                 rural_max_households: int | None = None) -> tuple[gpd.GeoDataFrame, pd.Series]:
    """One beat per community; optionally adjacent small rural villages share a beat.

    Parameters
    ----------
    communities
        The ``communities`` layer (``id``, ``kind``, ``station_id``, ``name``, polygon).
    households
        Households per community id, needed to merge rural villages.
    policy
        Staffing policy (``[beats]`` section); default the shipped policy.
    rural_merge, rural_max_households
        Override the policy keys ``beats.rural_merge`` and
        ``beats.rural_max_households``.

    Returns
    -------
    (beats, beat_of)
        ``beats`` is a frame of the ``beats`` layer (``id``, ``name``, ``station_id``,
        ``responsibility_area_id`` empty, dissolved polygon); a beat takes the
        ``beat_id`` its (first, by id) community already carries when these stay
        unique, else the id of its community (of its first village, by id, when
        several are merged).
        ``beat_of`` maps community id to beat id.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> v = gpd.GeoDataFrame({"id": ["v1", "v2", "v3"], "kind": "rural", "station_id": "s"},
    ...     geometry=[shapely.box(121.5 + .01 * i, 29.8, 121.51 + .01 * i, 29.81)
    ...               for i in range(3)], crs=4490)
    >>> beats, beat_of = derive_beats(v, households={"v1": 400, "v2": 500, "v3": 900},
    ...                               rural_merge=True, rural_max_households=1000)
    >>> dict(beat_of)
    {'v1': 'v1', 'v2': 'v1', 'v3': 'v3'}
    """
    policy = policy if policy is not None else default_policy()
    merge = policy["beats"]["rural_merge"] if rural_merge is None else bool(rural_merge)
    limit = policy["beats"]["rural_max_households"] if rural_max_households is None \
        else rural_max_households
    if len(communities) == 0:
        return empty_layer("beats", crs=communities.crs or 4490), pd.Series(dtype=object)
    comms = communities.reset_index(drop=True)
    ids = comms["id"].astype(str).tolist()
    group = list(range(len(comms)))  # group leader position per community
    if merge:
        hh = pd.Series(households if households is not None else {}, dtype=float)
        hh = np.array([float(hh.get(i, 0.0)) for i in ids])
        kind = comms.get("kind", pd.Series("urban", index=comms.index)).astype(str).to_numpy()
        station = comms.get("station_id", pd.Series(None, index=comms.index)).map(_text)
        adj = adjacency(comms)
        assigned = np.full(len(comms), -1)
        order = sorted((i for i in range(len(comms)) if kind[i] == "rural"),
                       key=lambda i: (hh[i], ids[i]))
        for i in order:
            if assigned[i] >= 0:
                continue
            members, total = [i], hh[i]
            assigned[i] = i
            frontier = sorted((j for j in adj[i]), key=lambda j: (hh[j], ids[j]))
            while frontier:
                j = frontier.pop(0)
                if assigned[j] >= 0 or kind[j] != "rural" or station[j] != station[i] \
                        or total + hh[j] > limit:
                    continue
                assigned[j] = i
                members.append(j)
                total += hh[j]
                frontier = sorted(set(frontier) | {n for n in adj[j] if assigned[n] < 0},
                                  key=lambda n: (hh[n], ids[n]))
            leader = min(members, key=lambda m: ids[m])
            for m in members:
                group[m] = leader
    beat_ids = [ids[g] for g in group]
    if "beat_id" in comms.columns:
        # keep the beat ids communities already carry when they stay unambiguous
        current = comms["beat_id"].map(_text).tolist()
        leaders = sorted(set(group))
        proposed = {ids[g]: current[g] for g in leaders}
        names_used = [v for v in proposed.values() if v is not None]
        if len(names_used) == len(set(names_used)):
            beat_ids = [proposed[b] or b for b in beat_ids]
    beat_of = pd.Series(beat_ids, index=ids, name="beat_id")
    beat_of.index.name = "community_id"
    names = comms.get("name", pd.Series("", index=comms.index)).fillna("").astype(str)
    frame = pd.DataFrame({"beat_id": beat_ids, "name": names,
                          "station_id": comms.get("station_id", pd.Series(None, index=comms.index))
                          .map(_text)})
    geoms = comms.geometry.to_numpy()
    rows = []
    for bid, idx in frame.groupby("beat_id", sort=False).indices.items():
        nm = "/".join(n for n in frame["name"].iloc[idx] if n)
        stations = [s for s in frame["station_id"].iloc[idx] if s]
        geom = geoms[idx[0]] if len(idx) == 1 else shapely.union_all(geoms[idx])
        rows.append({"id": bid, "name": nm, "station_id": stations[0] if stations else None,
                     "responsibility_area_id": None, "geometry": geom})
    beats = gpd.GeoDataFrame(rows, geometry="geometry", crs=communities.crs)
    return beats, beat_of


def resolve_beats(layers: Mapping[str, pd.DataFrame]) -> tuple[gpd.GeoDataFrame, pd.Series, str]:
    """The beats of a project and the beat of each community.

    Uses, in order: the ``beats`` layer (communities take their ``beat_id``, or the
    beat holding their interior point); communities dissolved by ``beat_id``; one
    beat per community (:func:`derive_beats`).

    Returns
    -------
    (beats, beat_of, source)
        ``beat_of`` maps community id to beat id; ``source`` is ``"layer"``,
        ``"communities.beat_id"`` or ``"derived"``.
    """
    beats = layers.get("beats")
    comms = layers.get("communities")
    if comms is None:
        comms = empty_layer("communities")
    if beats is not None and len(beats):
        beats = beats.reset_index(drop=True).copy()
        beats["id"] = beats["id"].astype(str)
        beat_of = pd.Series(dtype=object)
        if len(comms):
            col = comms["beat_id"].map(_text) if "beat_id" in comms.columns \
                else pd.Series(None, index=comms.index, dtype=object)
            missing = col.isna()
            if missing.any():
                located = locate_points(comms.loc[missing].geometry.representative_point(),
                                        beats)
                col = col.where(~missing, located)
            beat_of = pd.Series(col.to_numpy(), index=comms["id"].astype(str).to_numpy())
        if "station_id" not in beats.columns:
            beats["station_id"] = None
        fill = beats["station_id"].map(_text).isna()
        if fill.any() and len(comms) and "station_id" in comms.columns:
            st = pd.DataFrame({"beat": beat_of.to_numpy(),
                               "station": comms["station_id"].map(_text).to_numpy()}).dropna()
            by_beat = st.groupby(["beat", "station"]).size().sort_values(ascending=False) \
                .reset_index().drop_duplicates("beat").set_index("beat")["station"]
            beats.loc[fill, "station_id"] = beats.loc[fill, "id"].map(by_beat)
        return beats, beat_of, "layer"
    if len(comms) and "beat_id" in comms.columns and comms["beat_id"].map(_text).notna().all():
        c = comms.copy()
        c["beat_id"] = c["beat_id"].map(_text)
        beats_list = []
        for bid, part in c.groupby("beat_id", sort=True):
            geom = shapely.union_all(part.geometry.to_numpy())
            st = part["station_id"].map(_text).dropna() if "station_id" in part else []
            beats_list.append({"id": bid, "name": "/".join(part["name"].fillna("").astype(str)),
                               "station_id": st.iloc[0] if len(st) else None,
                               "responsibility_area_id": None, "geometry": geom})
        beats = gpd.GeoDataFrame(beats_list, geometry="geometry", crs=comms.crs)
        return beats, pd.Series(c["beat_id"].to_numpy(), index=c["id"].astype(str).to_numpy()), \
            "communities.beat_id"
    if not len(comms):
        raise InputError("the project has neither beats nor communities",
                         fix="import the communities layer (or the beats layer) first")
    beats, beat_of = derive_beats(comms, policy={"beats": {"rural_merge": False,
                                                          "rural_max_households": 0}})
    return beats, beat_of, "derived"


# --------------------------------------------------------------------------------------
# Locating features in beats
# --------------------------------------------------------------------------------------

def locate_points(points, polygons: gpd.GeoDataFrame, *, id_column: str = "id") -> pd.Series:
    """Id of the polygon containing each point (``None`` outside every polygon).

    ``points`` is a GeoSeries (or GeoDataFrame) of points in any CRS; a point on a
    shared border takes the first polygon found. The result has the index of
    ``points``.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> polys = gpd.GeoDataFrame({"id": ["a", "b"]}, geometry=[shapely.box(0, 0, 1, 1),
    ...                           shapely.box(1, 0, 2, 1)], crs=3857)
    >>> pts = gpd.GeoSeries([shapely.Point(.5, .5), shapely.Point(1.5, .5),
    ...                      shapely.Point(9, 9)], crs=3857)
    >>> list(locate_points(pts, polys))
    ['a', 'b', None]
    """
    geo = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
    out = pd.Series([None] * len(geo), index=geo.index, dtype=object)
    if len(geo) == 0 or len(polygons) == 0:
        return out
    if geo.crs is not None and polygons.crs is not None and geo.crs != polygons.crs:
        geo = geo.to_crs(polygons.crs)
    tree = shapely.STRtree(polygons.geometry.array)
    pts = np.asarray(geo.array, dtype=object)
    valid = ~(shapely.is_missing(pts) | shapely.is_empty(pts))
    ppos, gpos = tree.query(pts[valid], predicate="intersects")
    valid_idx = np.flatnonzero(valid)
    if len(ppos):
        first = pd.Series(gpos).groupby(ppos).first()
        ids = polygons[id_column].astype(str).to_numpy()
        vals = np.array(out.to_numpy(), dtype=object)
        vals[valid_idx[first.index.to_numpy()]] = ids[first.to_numpy()]
        out = pd.Series(vals, index=geo.index, dtype=object)
    return out


def incident_beats(incidents: gpd.GeoDataFrame, beats: gpd.GeoDataFrame) -> pd.Series:
    """Beat id of each incident (by location), with the index of ``incidents``."""
    if incidents is None or len(incidents) == 0:
        return pd.Series(dtype=object)
    return locate_points(incidents.geometry, beats)


def _building_beats(buildings: gpd.GeoDataFrame, beat_of: pd.Series,
                    beats: gpd.GeoDataFrame) -> pd.Series:
    col = buildings["community_id"].map(_text) if "community_id" in buildings.columns \
        else pd.Series(None, index=buildings.index, dtype=object)
    bid = col.map(beat_of) if len(beat_of) else pd.Series(None, index=buildings.index)
    bid = bid.astype(object).where(bid.notna(), None)
    missing = bid.isna().to_numpy()
    if missing.any():
        pts = buildings.geometry[missing].representative_point()
        bid.loc[missing] = locate_points(pts, beats).to_numpy()
    return bid


# --------------------------------------------------------------------------------------
# Beat summary
# --------------------------------------------------------------------------------------

def beat_summary(layers: Mapping[str, pd.DataFrame], *, beats: gpd.GeoDataFrame | None = None,
                 beat_of: pd.Series | None = None,
                 incident_beat: pd.Series | None = None) -> gpd.GeoDataFrame:
    """One row per beat: room, households, population, grids, incidents and staff.

    Parameters
    ----------
    layers
        Project layers by name (as :func:`beatgrid.gis.io.project.read_project`
        returns); ``communities``, ``beats``, ``buildings``, ``grids``,
        ``police_rooms``, ``incidents`` and ``staff`` are used when present.
    beats, beat_of
        Resolved beats and community -> beat map (default :func:`resolve_beats`).
    incident_beat
        Beat of each incident when already computed (:func:`incident_beats`).

    Returns
    -------
    GeoDataFrame
        Columns :data:`SUMMARY_COLUMNS` and the beat polygon. ``population_actual``
        is registered + floating (实有人口); ``floating_ratio`` is floating /
        registered (NaN without registered residents); ``on_roster`` is False for a
        beat absent from the ``staff`` table (its staff counts are then 0).
        Buildings are placed by ``community_id`` (through the community's beat), else
        by location; grids by ``community_id``; rooms by ``beat_id``, else location.

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd, shapely
    >>> comms = gpd.GeoDataFrame({"id": ["c1"], "kind": ["urban"], "station_id": ["s1"]},
    ...     geometry=[shapely.box(121.5, 29.8, 121.51, 29.81)], crs=4490)
    >>> bld = gpd.GeoDataFrame({"id": ["b1"], "households": [300], "community_id": ["c1"],
    ...     "population_registered": [600], "population_floating": [900]},
    ...     geometry=[shapely.box(121.501, 29.801, 121.502, 29.802)], crs=4490)
    >>> staff = pd.DataFrame({"beat_id": ["c1"], "community_officers": [1], "auxiliaries": [1],
    ...                       "floating_managers": [1], "grid_workers": [0]})
    >>> s = beat_summary({"communities": comms, "buildings": bld, "staff": staff})
    >>> print(s[["beat_id", "households", "population_actual", "floating_ratio"]]
    ...       .to_string(index=False))
    beat_id  households  population_actual  floating_ratio
         c1         300               1500             1.5
    """
    if beats is None or beat_of is None:
        beats, beat_of, _ = resolve_beats(layers)
    beats = beats.reset_index(drop=True)
    ids = beats["id"].astype(str)
    out = pd.DataFrame({"beat_id": ids.to_numpy()})
    out["name"] = beats["name"].fillna("").astype(str).to_numpy() if "name" in beats else ""
    out["station_id"] = beats["station_id"].map(_text).to_numpy() \
        if "station_id" in beats else None
    out["responsibility_area_id"] = beats["responsibility_area_id"].map(_text).to_numpy() \
        if "responsibility_area_id" in beats else None

    comms = layers.get("communities")
    if comms is not None and len(comms) and len(beat_of):
        c = pd.DataFrame({"beat_id": beat_of.reindex(comms["id"].astype(str)).to_numpy(),
                          "kind": comms["kind"].astype(str).to_numpy()
                          if "kind" in comms else "urban"})
        counts = c.groupby("beat_id").size()
        kinds = c.groupby("beat_id")["kind"].agg(
            lambda s: s.iloc[0] if s.nunique() == 1 else "mixed")
        out["communities"] = ids.map(counts).fillna(0).astype(int).to_numpy()
        out["kind"] = ids.map(kinds).fillna("urban").to_numpy()
    else:
        out["communities"] = 0
        out["kind"] = "urban"

    # -- police rooms ----------------------------------------------------------------------
    rooms = layers.get("police_rooms")
    out["room_id"], out["room_type"], out["rooms"] = None, pd.NA, 0
    out["office_condition"] = None
    if rooms is not None and len(rooms):
        r = rooms.reset_index(drop=True)
        rb = r["beat_id"].map(_text) if "beat_id" in r else pd.Series(None, index=r.index)
        miss = rb.isna().to_numpy()
        if miss.any():
            rb.loc[miss] = locate_points(r.geometry[miss], beats).to_numpy()
        r = pd.DataFrame({"beat_id": rb.to_numpy(), "room_id": r["id"].astype(str).to_numpy(),
                          "room_type": pd.to_numeric(r.get("room_type", 2)).to_numpy(),
                          "office_condition": r.get("office_condition", "independent")})
        r = r.dropna(subset=["beat_id"]).sort_values(["beat_id", "room_type", "room_id"])
        first = r.groupby("beat_id").first()
        out["room_id"] = ids.map(first["room_id"]).to_numpy()
        out["room_type"] = ids.map(first["room_type"]).astype("Int64").to_numpy()
        out["rooms"] = ids.map(r.groupby("beat_id").size()).fillna(0).astype(int).to_numpy()
        out["office_condition"] = ids.map(first["office_condition"]).to_numpy()

    # -- buildings: households and population --------------------------------------------
    bld = layers.get("buildings")
    for col in ("households", "population_registered", "population_floating"):
        out[col] = 0
    if bld is not None and len(bld):
        bb = _building_beats(bld, beat_of, beats)
        sums = pd.DataFrame({
            "beat_id": bb.to_numpy(),
            **{col: pd.to_numeric(bld[col], errors="coerce").fillna(0).to_numpy(dtype=np.int64)
               if col in bld else 0
               for col in ("households", "population_registered", "population_floating")},
        }).groupby("beat_id").sum()
        for col in ("households", "population_registered", "population_floating"):
            out[col] = ids.map(sums[col]).fillna(0).astype(np.int64).to_numpy()
    out["population_actual"] = out["population_registered"] + out["population_floating"]
    reg = out["population_registered"].astype(float)
    out["floating_ratio"] = np.where(reg > 0, out["population_floating"] / reg.where(reg > 0, 1),
                                     np.nan)

    # -- grids ---------------------------------------------------------------------------
    grids = layers.get("grids")
    out["grids"] = 0
    if grids is not None and len(grids):
        gb = grids["community_id"].map(_text).map(beat_of) if len(beat_of) \
            else pd.Series(None, index=grids.index)
        gb = gb.astype(object).where(gb.notna(), None)
        miss = gb.isna().to_numpy()
        if miss.any():
            gb.loc[miss] = locate_points(grids.geometry[miss].representative_point(),
                                         beats).to_numpy()
        out["grids"] = ids.map(gb.value_counts()).fillna(0).astype(int).to_numpy()

    # -- incidents -----------------------------------------------------------------------
    inc = layers.get("incidents")
    out["incidents"] = 0
    out["incidents_preventable"] = 0
    if inc is not None and len(inc):
        ib = incident_beat if incident_beat is not None else incident_beats(inc, beats)
        out["incidents"] = ids.map(ib.value_counts()).fillna(0).astype(int).to_numpy()
        if "preventable" in inc:
            prev = ib[inc["preventable"].fillna(False).astype(bool).to_numpy()]
            out["incidents_preventable"] = ids.map(prev.value_counts()).fillna(0) \
                .astype(int).to_numpy()

    # -- staff ---------------------------------------------------------------------------
    staff = layers.get("staff")
    for role in STAFF_ROLES:
        out[role] = 0
    out["on_roster"] = False
    if staff is not None and len(staff):
        st = staff.copy()
        st["beat_id"] = st["beat_id"].map(_text)
        roles = [r for r in STAFF_ROLES if r in st.columns]
        sums = st.groupby("beat_id")[roles].sum(numeric_only=False)
        for role in roles:
            out[role] = ids.map(pd.to_numeric(sums[role], errors="coerce")).fillna(0) \
                .astype(int).to_numpy()
        out["on_roster"] = ids.isin(sums.index).to_numpy()

    metric = _metric(beats, layer="beats")
    out["area_km2"] = metric.geometry.area.to_numpy() / 1e6
    return gpd.GeoDataFrame(out[SUMMARY_COLUMNS], geometry=beats.geometry.to_numpy(),
                            crs=beats.crs)


# --------------------------------------------------------------------------------------
# Responsibility areas
# --------------------------------------------------------------------------------------

def grow_regions(adj: list[set[int]], weights, xy, k: int, *, max_moves: int = 2000,
                 nodes: Sequence[int] | None = None) -> np.ndarray:
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
    comps = _components(adj, nodes)
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


def _grow_component(adj, w, xy, comp: list[int], k: int, *, max_moves: int) -> dict[int, int]:
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
    fronts: list[list] = [[] for _ in range(k)]

    def push(r, node):
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


def _connected_without(adj, members: set[int], drop: int) -> bool:
    rest = members - {drop}
    if not rest:
        return False
    start = next(iter(rest))
    seen, queue = {start}, deque([start])
    while queue:
        i = queue.popleft()
        for j in adj[i]:
            if j in rest and j not in seen:
                seen.add(j)
                queue.append(j)
    return len(seen) == len(rest)


def _refine(adj, w, label, members, load, *, max_moves: int) -> None:
    target = load.mean()
    budget = max_moves
    while budget > 0:
        candidates = []
        for i, a in label.items():
            wi = w[i]
            if wi <= 0:
                continue
            for b in {label.get(j) for j in adj[i]} - {a, None}:
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
            if _connected_without(adj, members[a], i):
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


def balance_weights(summary: pd.DataFrame, *, balance_by: str,
                    workload_hours: pd.Series | None = None) -> np.ndarray:
    """The per-beat weight an area balances (``responsibility_areas.balance_by``).

    Falls back to households, then to 1 per beat, when the chosen measure is zero
    everywhere.
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


def responsibility_areas(beats: gpd.GeoDataFrame, *, weights=None, k: int | None = None,
                         beats_per_area: float | None = None, within_station: bool | None = None,
                         max_moves: int | None = None, policy: Mapping | None = None,
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
        Override the policy keys of ``[responsibility_areas]``.
    policy
        Staffing policy; default the shipped one.
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
    policy = policy if policy is not None else default_policy()
    ra = policy["responsibility_areas"]
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
    metric = _metric(b, layer="beats")
    adj = adjacency(metric, tolerance_m=tolerance_m)
    cent = metric.geometry.representative_point()
    xy = np.column_stack([cent.x.to_numpy(), cent.y.to_numpy()])
    station = b["station_id"].map(_text) if (within and "station_id" in b) \
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


def _largest_remainder(k: int, sizes: np.ndarray) -> np.ndarray:
    """Share ``k`` among groups in proportion to ``sizes``, each group at least 1."""
    ideal = k * sizes / sizes.sum()
    alloc = np.maximum(1, np.floor(ideal).astype(int))
    while alloc.sum() < k and (alloc < sizes).any():
        gain = np.where(alloc < sizes, ideal - alloc, -np.inf)
        alloc[int(np.argmax(gain))] += 1
    return alloc


def area_polygons(beats: gpd.GeoDataFrame, area_of) -> gpd.GeoDataFrame:
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
    st = beats["station_id"].map(_text) if "station_id" in beats \
        else pd.Series(None, index=beats.index)
    for aid, idx in area.groupby(area).groups.items():
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
    current = beats["responsibility_area_id"].map(_text) if "responsibility_area_id" in beats \
        else pd.Series(None, index=beats.index, dtype=object)
    out = current.astype(object).copy()
    todo = out.isna().to_numpy()
    if not todo.any() or len(areas) == 0:
        return out
    bm = _metric(beats, layer="beats")
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
    """A copy of ``beats`` with ``responsibility_area_id`` set from ``area_of``."""
    out = beats.copy()
    out["responsibility_area_id"] = pd.Series(area_of, index=beats.index).to_numpy()
    return out


__all__ = [
    "SUMMARY_COLUMNS", "STAFF_ROLES", "adjacency", "derive_beats", "resolve_beats",
    "locate_points", "incident_beats", "beat_summary", "grow_regions", "balance_weights",
    "responsibility_areas", "area_polygons", "assign_loaded_areas", "with_areas",
]
