"""Police beats (警务区): resolve, derive, summarise.

A beat is drawn per residential or village committee ("one committee, one
officer", 一居一警); a rural beat may cover several villages. This module

* resolves the beats of a project (:func:`resolve_beats`: the ``beats`` layer, else
  communities dissolved by their ``beat_id``, else one beat per community);
* derives beats from communities (:func:`derive_beats`, optional merging of small
  adjacent rural villages, ``[beats]`` of the ``policing`` settings) and moves the
  police rooms and staff roster of re-derived beats with their communities
  (:func:`follow_derived_beats`);
* summarises each beat (:func:`beat_summary`): police room, households,
  registered and floating population, grids, incidents and staff.

Placing points in beats and the neighbours of each beat are
:mod:`beatgrid.gis.policing.location` (:func:`locate_points`, :func:`incident_beats`,
:func:`adjacency`, importable from here too); joining adjacent beats into
responsibility areas (责任区) is :mod:`beatgrid.gis.policing.areas`.

Everything here is pure computation on frames (no file I/O); areas and distances
are computed in the metric CRS of :func:`beatgrid.gis.crs.to_metric`.

Examples
--------
>>> from beatgrid.gis import Project
>>> layers = Project.open("sample-geodata/ningbo-jiangbei.gpkg").read(
...     ["beats", "communities", "buildings", "staff"])
>>> beats, beat_of, source = resolve_beats(layers)
>>> len(beats), source, bool(beat_of.notna().all())
(12, 'layer', True)
>>> summary = beat_summary(layers, beats=beats, beat_of=beat_of)
>>> int(summary["households"].sum()) == int(layers["buildings"]["households"].sum())
True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from beatgrid.gis.config import section_or_default
from beatgrid.gis.crs import to_metric
from beatgrid.gis.errors import InputError
from beatgrid.gis.policing.location import (adjacency, clean_id, incident_beats, locate_points,
                                            natural_sort_key)
from beatgrid.gis.schema import empty_layer

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
# Deriving beats from communities
# --------------------------------------------------------------------------------------

def derive_beats(communities: gpd.GeoDataFrame, *,
                 households: Mapping[str, float] | pd.Series | None = None,
                 settings: Mapping[str, Any] | None = None, rural_merge: bool | None = None,
                 rural_max_households: float | None = None
                 ) -> tuple[gpd.GeoDataFrame, pd.Series]:
    """One beat per community; optionally adjacent small rural villages share a beat.

    Parameters
    ----------
    communities
        The ``communities`` layer (``id``, ``kind``, ``station_id``, ``name``, polygon).
    households
        Households per community id, needed to merge rural villages.
    settings
        The ``policing`` settings (``[beats]``); default the shipped ones.
    rural_merge, rural_max_households
        Override the settings ``beats.rural_merge`` and ``beats.rural_max_households``.

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
    settings = section_or_default(settings, "policing")
    merge = settings["beats"]["rural_merge"] if rural_merge is None else bool(rural_merge)
    limit = settings["beats"]["rural_max_households"] if rural_max_households is None \
        else rural_max_households
    if len(communities) == 0:
        return empty_layer("beats", crs=communities.crs or 4490), pd.Series(dtype=object)
    comms = communities.reset_index(drop=True)
    ids = comms["id"].astype(str).tolist()
    group = list(range(len(comms)))  # group leader position per community
    if merge:
        by_id = pd.Series(households if households is not None else {}, dtype=float)
        hh = np.array([float(by_id.get(i, 0.0)) for i in ids])
        kind = comms.get("kind", pd.Series("urban", index=comms.index)).astype(str).to_numpy()
        station = comms.get("station_id", pd.Series(None, index=comms.index)).map(clean_id)
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
        current = comms["beat_id"].map(clean_id).tolist()
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
                          .map(clean_id)})
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
    beat per community (:func:`derive_beats`). The beats are listed in the natural
    order of their ids (``2`` before ``10``).

    Returns
    -------
    (beats, beat_of, source)
        ``beat_of`` maps community id to beat id; ``source`` is ``"layer"``,
        ``"communities.beat_id"`` or ``"derived"``.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> comms = gpd.GeoDataFrame({"id": ["c1", "c2"], "beat_id": ["B1", "B1"],
    ...     "name": ["甲", "乙"], "station_id": "s1"}, geometry=[shapely.box(0, 0, 1, 1),
    ...     shapely.box(1, 0, 2, 1)], crs=3857)
    >>> beats, beat_of, source = resolve_beats({"communities": comms})
    >>> beats[["id", "name"]].values.tolist(), dict(beat_of), source
    ([['B1', '甲/乙']], {'c1': 'B1', 'c2': 'B1'}, 'communities.beat_id')
    """
    beats = layers.get("beats")
    comms = layers.get("communities")
    if comms is None:
        comms = empty_layer("communities")
    if beats is not None and len(beats):
        beats = beats.copy()
        beats["id"] = beats["id"].astype(str)
        beats = _natural(beats)
        beat_of = pd.Series(dtype=object)
        if len(comms):
            col = comms["beat_id"].map(clean_id) if "beat_id" in comms.columns \
                else pd.Series(None, index=comms.index, dtype=object)
            missing = col.isna()
            if missing.any():
                located = locate_points(comms.loc[missing].geometry.representative_point(),
                                        beats)
                col = col.where(~missing, located)
            beat_of = pd.Series(col.to_numpy(), index=comms["id"].astype(str).to_numpy())
        if "station_id" not in beats.columns:
            beats["station_id"] = None
        fill = beats["station_id"].map(clean_id).isna()
        if fill.any() and len(comms) and "station_id" in comms.columns:
            st = pd.DataFrame({"beat": beat_of.to_numpy(),
                               "station": comms["station_id"].map(clean_id).to_numpy()}).dropna()
            by_beat = st.groupby(["beat", "station"]).size().sort_values(ascending=False) \
                .reset_index().drop_duplicates("beat").set_index("beat")["station"]
            beats.loc[fill, "station_id"] = beats.loc[fill, "id"].map(by_beat)
        return beats, beat_of, "layer"
    if len(comms) and "beat_id" in comms.columns and comms["beat_id"].map(clean_id).notna().all():
        c = comms.copy()
        c["beat_id"] = c["beat_id"].map(clean_id)
        beats_list = []
        for bid, part in c.groupby("beat_id", sort=True):
            geom = shapely.union_all(part.geometry.to_numpy())
            st = part["station_id"].map(clean_id).dropna() if "station_id" in part \
                else pd.Series(dtype=object)
            beats_list.append({"id": bid, "name": "/".join(part["name"].fillna("").astype(str)),
                               "station_id": st.iloc[0] if len(st) else None,
                               "responsibility_area_id": None, "geometry": geom})
        beats = _natural(gpd.GeoDataFrame(beats_list, geometry="geometry", crs=comms.crs))
        return beats, pd.Series(c["beat_id"].to_numpy(), index=c["id"].astype(str).to_numpy()), \
            "communities.beat_id"
    if not len(comms):
        raise InputError("the project has neither beats nor communities",
                         fix="import the communities layer (or the beats layer) first")
    beats, beat_of = derive_beats(comms, rural_merge=False, rural_max_households=0)
    return _natural(beats), beat_of, "derived"


def _natural(beats: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The beats in the natural order of their ids, index 0..n-1."""
    return beats.sort_values("id", key=natural_sort_key, kind="stable").reset_index(drop=True)


def follow_derived_beats(layers: Mapping[str, pd.DataFrame], beats: gpd.GeoDataFrame,
                         beat_of: pd.Series) -> dict[str, pd.DataFrame]:
    """The layers re-derived beats change: communities, police rooms, staff roster.

    The communities take their derived ``beat_id``; a police room or a roster row of
    an old beat follows its communities into the derived beat (when they all went to
    one beat); roster rows of merged beats are summed.

    Parameters
    ----------
    layers
        ``communities`` (with the old ``beat_id``), ``police_rooms`` and ``staff``.
    beats, beat_of
        :func:`derive_beats` of those communities.

    Returns
    -------
    dict
        ``communities`` always, then ``police_rooms`` and ``staff`` when their
        ``beat_id`` changed.

    Raises
    ------
    InputError
        A room or roster row of an old beat whose communities were split up.

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd, shapely
    >>> v = gpd.GeoDataFrame({"id": ["v1", "v2"], "kind": "rural", "station_id": "s",
    ...     "beat_id": ["B1", "B2"]}, geometry=[shapely.box(121.5, 29.8, 121.51, 29.81),
    ...     shapely.box(121.51, 29.8, 121.52, 29.81)], crs=4490)
    >>> beats, beat_of = derive_beats(v, households={"v1": 400, "v2": 500},
    ...                               rural_merge=True, rural_max_households=1000)
    >>> staff = pd.DataFrame({"beat_id": ["B1", "B2"], "community_officers": [1, 1]})
    >>> changed = follow_derived_beats({"communities": v, "staff": staff}, beats, beat_of)
    >>> changed["communities"]["beat_id"].tolist(), changed["staff"].values.tolist()
    (['B1', 'B1'], [['B1', 2]])
    """
    comms = layers["communities"]
    c = comms.copy()
    c["beat_id"] = c["id"].astype(str).map(beat_of)
    changed: dict[str, pd.DataFrame] = {"communities": c}
    # old beat -> new beat, through the communities (a merged village's room and
    # roster follow it into the new beat)
    old = comms["beat_id"].astype(object).where(comms["beat_id"].notna(), None) \
        if "beat_id" in comms else pd.Series(None, index=comms.index, dtype=object)
    pairs = pd.DataFrame({"old": old.to_numpy(), "new": c["beat_id"].to_numpy()}).dropna()
    moves = pairs.drop_duplicates().groupby("old")["new"].agg(
        lambda s: s.iloc[0] if s.nunique() == 1 else None).dropna()
    known = set(beats["id"])
    for name in ("police_rooms", "staff"):
        frame = layers.get(name)
        if frame is None or not len(frame):
            continue
        frame = frame.copy()
        ids = frame["beat_id"].astype(object)
        frame["beat_id"] = ids.map(lambda b: b if b in known else moves.get(b, b))
        stale = frame["beat_id"].notna() & ~frame["beat_id"].isin(known)
        if stale.any():
            raise InputError(
                f"{int(stale.sum())} {name} row(s) refer to beats that the derived "
                f"beats do not keep (e.g. {frame.loc[stale, 'beat_id'].iloc[0]!r})",
                fix=f"update {name}.beat_id first, or run without --rederive")
        if name == "staff":
            roles = [r for r in STAFF_ROLES if r in frame]
            frame = frame.groupby("beat_id", as_index=False)[roles].sum()
        if not frame["beat_id"].equals(layers[name]["beat_id"]):
            changed[name] = frame
    return changed


def _building_beats(buildings: gpd.GeoDataFrame, beat_of: pd.Series,
                    beats: gpd.GeoDataFrame) -> pd.Series:
    col = buildings["community_id"].map(clean_id) if "community_id" in buildings.columns \
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
    out["station_id"] = beats["station_id"].map(clean_id).to_numpy() \
        if "station_id" in beats else None
    out["responsibility_area_id"] = beats["responsibility_area_id"].map(clean_id).to_numpy() \
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
        rb = r["beat_id"].map(clean_id) if "beat_id" in r else pd.Series(None, index=r.index)
        miss = rb.isna().to_numpy()
        if miss.any():
            rb.loc[miss] = locate_points(r.geometry[miss], beats).to_numpy()
        r = pd.DataFrame({"beat_id": rb.to_numpy(), "room_id": r["id"].astype(str).to_numpy(),
                          "room_type": pd.to_numeric(r.get("room_type", 2)).to_numpy(),
                          "office_condition": r.get("office_condition", "independent")})
        r = r.dropna(subset=["beat_id"]).sort_values(["beat_id", "room_type", "room_id"],
                                                     key=natural_sort_key)
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
        gb = grids["community_id"].map(clean_id).map(beat_of) if len(beat_of) \
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
        st["beat_id"] = st["beat_id"].map(clean_id)
        roles = [r for r in STAFF_ROLES if r in st.columns]
        sums = st.groupby("beat_id")[roles].sum(numeric_only=False)
        for role in roles:
            out[role] = ids.map(pd.to_numeric(sums[role], errors="coerce")).fillna(0) \
                .astype(int).to_numpy()
        out["on_roster"] = ids.isin(sums.index).to_numpy()

    metric = to_metric(beats, layer="beats")
    out["area_km2"] = metric.geometry.area.to_numpy() / 1e6
    return gpd.GeoDataFrame(out[SUMMARY_COLUMNS], geometry=beats.geometry.to_numpy(),
                            crs=beats.crs)


__all__ = [
    "SUMMARY_COLUMNS", "STAFF_ROLES", "derive_beats", "resolve_beats", "follow_derived_beats",
    "beat_summary",
    # re-exported from beatgrid.gis.policing.location, where they live
    "adjacency", "locate_points", "incident_beats",
]
