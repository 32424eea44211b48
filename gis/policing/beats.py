"""Police beats (警务区): resolve, derive, locate, summarise.

A beat is drawn per residential or village committee ("one committee, one
officer", 一居一警); a rural beat may cover several villages. This module

* resolves the beats of a project (:func:`resolve_beats`: the ``beats`` layer, else
  communities dissolved by their ``beat_id``, else one beat per community);
* derives beats from communities (:func:`derive_beats`, optional merging of small
  adjacent rural villages);
* places points in beats (:func:`locate_points`, :func:`incident_beats`) and gives
  the neighbours of each beat (:func:`adjacency`);
* summarises each beat (:func:`beat_summary`): police room, households,
  registered and floating population, grids, incidents and staff.

Joining adjacent beats into responsibility areas (责任区) is
:mod:`beatgrid.gis.policing.areas`; its functions stay importable from here
for older code.

Everything here is pure computation on frames (no file I/O); areas and distances
are computed in the metric CRS of :func:`beatgrid.gis.crs.to_metric`.

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
>>> adjacency(beats)[1]
{0, 2}
"""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from beatgrid.gis.crs import metric_crs
from beatgrid.gis.errors import InputError
from beatgrid.gis.schema import empty_layer
from beatgrid.gis.policing.policy import default_policy

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


#: Responsibility-area functions that moved to :mod:`beatgrid.gis.policing.areas`;
#: ``from beatgrid.gis.policing.beats import responsibility_areas`` keeps working.
_MOVED = frozenset({"grow_regions", "balance_weights", "responsibility_areas", "area_polygons",
                    "assign_loaded_areas", "with_areas"})


def __getattr__(name: str):
    # imported lazily: beatgrid.gis.policing.areas imports this module
    if name in _MOVED:
        from beatgrid.gis.policing import areas as responsibility_areas

        return getattr(responsibility_areas, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "SUMMARY_COLUMNS", "STAFF_ROLES", "adjacency", "derive_beats", "resolve_beats",
    "locate_points", "incident_beats", "beat_summary",
]
