"""Policing layers: stations, responsibility areas, beats, rooms, cameras, governance grids.

Stations, responsibility areas and beats are unions of community cells
(:func:`admin_layers`); each beat has a police room in the building nearest its middle
(:func:`rooms`); cameras mostly watch roads, a few percent stand inside estates, old
estates almost never (:func:`cameras`); other departments' grids copy the communities
with some shared boundaries moved (:func:`governance`).

Examples
--------
>>> import numpy as np
>>> from beatgrid.gis.config import load_settings
>>> p = load_settings("sample")

Three beats with 1, 2 and 1 community officers in two stations:

>>> station_officers(np.array([1, 2, 1]), np.array([0, 0, 1]), p,
...                  np.random.default_rng(0)).tolist()
[11, 4]
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.ops

from beatgrid.gis.sample.common import (Params, Rng, ToStorage, frame, ids, names, only, rects,
                                        rotate, uniform)
from beatgrid.gis.sample.layout import Layout, Plan
from beatgrid.gis.sample.streets import LOOK_M, road_points


# --------------------------------------------------------------------------------------
# Stations, responsibility areas, beats, communities, rooms
# --------------------------------------------------------------------------------------

def _admin(lay: Layout, plan: Plan, p: Params, rng: Rng) -> tuple[np.ndarray, ...]:
    """Names and codes of stations, subdistricts/towns, communities."""
    n, n_st = len(lay.polys), plan.station.max() + 1
    base = names(n_st, [""], rng)
    code = p["district"]["district_code"]
    sub_name = np.where(lay.rural, pd.Series(base).add("镇").to_numpy()[plan.station],
                        pd.Series(base).add("街道").to_numpy()[plan.station])
    sub_code = np.array([f"{code}{2 * s + 1 + r:03d}" for s, r in zip(plan.station, lay.rural)])
    seq = pd.Series(np.ones(n)).groupby(sub_code).cumsum().astype(int).to_numpy()
    comm_code = np.array([f"{sc}{(200 if r else 0) + k:03d}"
                          for sc, r, k in zip(sub_code, lay.rural, seq)])
    comm_name = names(n, ["社区"], rng)
    comm_name[lay.rural] = pd.Series(comm_name[lay.rural]).str.replace("社区", "村").to_numpy()
    return base, sub_name, sub_code, comm_code, comm_name


def admin_layers(lay: Layout, plan: Plan, to: ToStorage, p: Params, rng: Rng
                 ) -> tuple[dict[str, gpd.GeoDataFrame], tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Stations, responsibility areas, beats and communities (unions of community cells).

    Returns
    -------
    (layers, (comm_ids, beat_ids, comm_name))
        The four layers (stations without ``officers_total``: the roster sets it, see
        :func:`station_officers`) and per-community ids and names.

    Examples
    --------
    >>> from beatgrid.gis.config import load_settings
    >>> from beatgrid.gis.sample.layout import build_layout, plan_district
    >>> p, rng = load_settings("sample"), np.random.default_rng(0)
    >>> lay = build_layout(5000, p, rng)
    >>> plan = plan_district(lay, 5000, p, rng)
    >>> to = ToStorage(p["district"]["center_lon"], p["district"]["center_lat"])
    >>> layers, (comm_ids, beat_ids, _) = admin_layers(lay, plan, to, p, rng)
    >>> sorted(layers), comm_ids.tolist(), beat_ids.tolist()
    (['beats', 'communities', 'responsibility_areas', 'stations'], ['C01', 'C02', 'C03', 'C04'], ['B01', 'B02', 'B03', 'B04'])
    """
    d = p["district"]
    n, n_st, n_ra = len(lay.polys), plan.station.max() + 1, plan.area.max() + 1
    st_base, sub_name, sub_code, comm_code, comm_name = _admin(lay, plan, p, rng)
    st_ids, ra_ids = ids("S", n_st), ids("R", n_ra)
    comm_ids, beat_ids = ids("C", n), ids("B", n)
    out = {"stations": frame({"id": st_ids, "name": pd.Series(st_base).add("派出所"),
                              "district_code": d["district_code"]},
                             [shapely.coverage_union_all(lay.polys[plan.station == s])
                              for s in range(n_st)], to, "stations")}
    ra_station = np.array([plan.station[plan.area == a][0] for a in range(n_ra)])
    ra_rank = pd.Series(ra_station).groupby(ra_station).cumcount().to_numpy() + 1
    out["responsibility_areas"] = frame(
        {"id": ra_ids, "station_id": st_ids[ra_station],
         "name": [f"{st_base[s]}第{k}责任区" for s, k in zip(ra_station, ra_rank)]},
        [shapely.coverage_union_all(lay.polys[plan.area == a]) for a in range(n_ra)],
        to, "responsibility_areas")
    out["beats"] = frame({"id": beat_ids, "name": pd.Series(comm_name).add("警务区"),
                          "station_id": st_ids[plan.station],
                          "responsibility_area_id": ra_ids[plan.area]}, lay.polys, to, "beats")
    out["communities"] = frame(
        {"id": comm_ids, "name": comm_name, "kind": np.where(lay.rural, "rural", "urban"),
         "station_id": st_ids[plan.station], "beat_id": beat_ids, "code": comm_code,
         "subdistrict_code": sub_code, "subdistrict": sub_name}, lay.polys, to, "communities")
    return out, (comm_ids, beat_ids, comm_name)


def station_officers(officers: np.ndarray, station: np.ndarray, p: Params, rng: Rng
                     ) -> np.ndarray:
    """All officers of each station: its community officers are 22-32 % of them
    (``staff.community_officer_share``; Jiangbei 26.8 %).

    Parameters
    ----------
    officers
        Community officers per beat.
    station
        Station index per beat.
    p, rng
        Sample settings and numpy Generator.

    Examples
    --------
    >>> from beatgrid.gis.config import load_settings
    >>> total = station_officers(np.array([1, 2, 1, 1]), np.array([0, 0, 1, 1]),
    ...                          load_settings("sample"), np.random.default_rng(0))
    >>> total.shape, bool((total >= 7).all())
    ((2,), True)
    """
    n_st = int(np.max(station)) + 1
    per_station = np.bincount(station, weights=officers, minlength=n_st)
    share = uniform(rng, p["staff"]["community_officer_share"], n_st)
    return np.round(per_station / share).astype(int)


def rooms(lay: Layout, plan: Plan, buildings: pd.DataFrame, comm_name: np.ndarray,
          beat_ids: np.ndarray, st_ids: np.ndarray, to: ToStorage, p: Params, rng: Rng
          ) -> gpd.GeoDataFrame:
    """A room per beat in the building nearest the community's middle, with its office
    condition (by quota); ``room_type`` is set from the roster afterwards."""
    n = len(lay.polys)
    rep = shapely.point_on_surface(lay.polys)
    comm = buildings["comm"].to_numpy()
    dist = shapely.distance(buildings["geometry"].to_numpy(), rep[comm])
    nearest = pd.Series(dist).groupby(comm).idxmin().reindex(range(n))
    geom = np.array(rep, dtype=object)
    found = nearest.notna().to_numpy()
    geom[found] = shapely.centroid(buildings["geometry"].to_numpy()[nearest[found].astype(int)])
    shares = p["staff"]["office_condition_share"]
    kinds = list(shares)
    quota = np.floor(np.array([shares[k] for k in kinds]) * n).astype(int)
    weight = np.array([shares[k] for k in kinds], dtype=float)
    rest = rng.choice(kinds, n - quota.sum(), p=weight / weight.sum())
    condition = rng.permutation(np.r_[np.repeat(kinds, quota), rest])
    return frame({"id": ids("PR", n), "name": pd.Series(comm_name).add("警务室"),
                  "room_type": 2, "setting": np.where(lay.rural, "rural", "urban"),
                  "office_condition": condition, "beat_id": beat_ids,
                  "station_id": st_ids[plan.station]}, geom, to, "police_rooms")


# --------------------------------------------------------------------------------------
# Cameras
# --------------------------------------------------------------------------------------

def cameras(streets: pd.DataFrame, estates: pd.DataFrame, buildings: pd.DataFrame, p: Params,
            rng: Rng) -> pd.DataFrame:
    """Road cameras on street lines (looking along them), a few inside estates.

    Returns
    -------
    DataFrame
        ``kind`` (road, estate_internal, entrance), ``estate`` (position or NaN),
        local ``geometry``, ``look`` (a local point it looks at; None for domes) and
        the optics columns of the cameras layer.
    """
    c = p["cameras"]
    total = max(1, round(buildings["households"].sum() / c["households_per_camera"]))
    n_est = min(round(total * c["estate_share"]), 2 * len(estates))
    n_ent = round(n_est * c["entrance_share_of_estate"])
    road = road_points(streets, total - n_est, c["class_weight"], c["rural_road_weight"], rng)
    internal = _internal_points(buildings, estates, n_est - n_ent, c, rng)
    entrance = _entrance_points(estates, n_ent, c, rng)
    cams = pd.concat([road, internal, entrance], ignore_index=True)
    n = len(cams)
    dome = rng.random(n) < c["dome_share"]
    cams.loc[dome, "look"] = None
    estate = cams["kind"] != "road"
    cams["fov_deg"] = np.where(dome, 360.0, uniform(rng, c["fov_deg"], n))
    cams["range_m"] = np.where(dome, uniform(rng, c["dome_range_m"], n),
                               uniform(rng, c["range_m"], n))
    cams["height_m"] = np.where(estate, uniform(rng, c["estate_height_m"], n),
                                uniform(rng, c["height_m"], n))
    cams["tilt_deg"] = uniform(rng, c["tilt_deg"], n)
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


def _internal_points(buildings: pd.DataFrame, estates: pd.DataFrame, n: int, c: Params,
                     rng: Rng) -> pd.DataFrame:
    """Cameras between building rows inside estates (old estates rarely get one)."""
    b = buildings[buildings["estate"].notna()]
    if n <= 0 or not len(b):
        return pd.DataFrame(columns=["kind", "estate", "geometry", "look"])
    du, dv = np.zeros(len(b)), -(b["D"] / 2 + (b["py"] - b["D"]) / 2).to_numpy()
    dv = np.where(b["iy"] == 0, -dv, dv)
    x, y = rotate(b["u"].to_numpy() + du, b["v"].to_numpy() + dv, b["theta"].to_numpy())
    pts = shapely.points(x + b["ox"].to_numpy(), y + b["oy"].to_numpy())
    est = b["estate"].to_numpy(dtype=int)
    ok = shapely.within(pts, estates["geometry"].to_numpy()[est])
    ok &= ~np.isin(np.arange(len(pts)),
                   shapely.STRtree(buildings["geometry"].to_numpy()).query(pts, "intersects")[0])
    weight = np.where(estates["is_old"].to_numpy()[est], c["old_estate_weight"], 1.0) * ok
    n = min(n, int((weight > 0).sum()))
    pick: Any = rng.choice(len(pts), n, replace=False, p=weight / weight.sum()) if n else []
    xy = shapely.get_coordinates(pts[pick])
    look = xy + rng.normal(size=(len(pick), 2)) * LOOK_M
    return pd.DataFrame({"kind": "estate_internal", "estate": est[pick], "geometry": pts[pick],
                         "look": list(map(tuple, look))})


def _entrance_points(estates: pd.DataFrame, n: int, c: Params, rng: Rng) -> pd.DataFrame:
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


def cameras_frame(cams: pd.DataFrame, est_ids: np.ndarray, to: ToStorage) -> gpd.GeoDataFrame:
    """The cameras layer: ids, directions as true bearings, estate ids, CGCS2000."""
    xy = shapely.get_coordinates(cams["geometry"].to_numpy())
    has_look = cams["look"].notna().to_numpy()
    look = np.array([v if isinstance(v, tuple) else (0.0, 0.0) for v in cams["look"]])
    direction = np.full(len(cams), np.nan)
    if has_look.any():
        direction[has_look] = to.bearing(xy[has_look], look[has_look])
    est = cams["estate"].to_numpy(dtype=float)
    estate_id = np.where(np.isnan(est), None, est_ids[np.nan_to_num(est).astype(int)])
    return frame({"id": ids("CAM", len(cams)), "kind": cams["kind"], "direction": direction,
                  "fov_deg": cams["fov_deg"], "range_m": np.round(cams["range_m"], 1),
                  "height_m": np.round(cams["height_m"], 1),
                  "tilt_deg": np.round(cams["tilt_deg"], 1),
                  "focal_length_mm": cams["focal_length_mm"],
                  "sensor_width_mm": cams["sensor_width_mm"],
                  "resolution_h_px": cams["resolution_h_px"], "estate_id": estate_id,
                  "source": "synthetic"}, cams["geometry"], to, "cameras")


# --------------------------------------------------------------------------------------
# Governance grids
# --------------------------------------------------------------------------------------

def governance(lay: Layout, plan: Plan, p: Params, rng: Rng) -> pd.DataFrame:
    """Other departments' grids: the communities with some shared boundaries moved (a strip
    handed to the neighbour), comprehensive-governance cells also cut in quarters.

    Examples
    --------
    >>> from beatgrid.gis.config import load_settings
    >>> from beatgrid.gis.sample.layout import build_layout, plan_district
    >>> p, rng = load_settings("sample"), np.random.default_rng(0)
    >>> lay = build_layout(5000, p, rng)
    >>> plan = plan_district(lay, 5000, p, rng)
    >>> sorted(set(governance(lay, plan, p, rng)["department"]))
    ['city_operations', 'comprehensive_governance']
    """
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
            strip = shapely.buffer(part, uniform(rng, g["shift"]) * lay.spacing,
                                   cap_style="flat")
            piece = shapely.intersection(cells[a], strip)
            if piece.is_empty or piece.area > 0.5 * cells[a].area:
                continue
            cells[a] = shapely.difference(cells[a], piece)
            cells[b] = shapely.union(cells[b], piece)
        if quarters:
            cells = _quarter(cells, plan.theta)
        cells = only(cells, 2)
        cells = cells[shapely.area(cells) > 1.0]
        out.append(pd.DataFrame({"department": dept, "geometry": cells}))
    return pd.concat(out, ignore_index=True)


def _quarter(cells: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Each cell cut in four by two lines through its centroid along the street grid."""
    big = np.sqrt(shapely.area(cells)) * 10
    centre = shapely.get_coordinates(shapely.centroid(cells))
    parts = []
    for su, sv in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
        rect = rects(su * big / 2, sv * big / 2, big, big, theta, centre[:, 0], centre[:, 1])
        parts.append(shapely.intersection(cells, rect))
    return np.stack(parts, axis=1).ravel()
