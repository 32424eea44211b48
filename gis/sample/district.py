"""The generator's entry point: every step in order, then ids, names and CGCS2000.

See :mod:`beatgrid.gis.sample` for what the district holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from beatgrid.gis import schema
from beatgrid.gis.config import load_settings
from beatgrid.gis.errors import InputError
from beatgrid.gis.policing.policy import load_policy
from beatgrid.gis.sample.buildings import allocate, clear_of_roads, estates, lanes, sites
from beatgrid.gis.sample.common import (STORAGE_EPSG, Params, Rng, ToStorage, conformed, frame,
                                        ids, valid_lines)
from beatgrid.gis.sample.layout import Layout, Plan, build_layout, plan_district
from beatgrid.gis.sample.people import incidents, key_places, populate, staff_roster
from beatgrid.gis.sample.policing import (admin_layers, cameras, cameras_frame, governance, rooms,
                                          station_officers)
from beatgrid.gis.sample.streets import arterials, curved_roads, name_streets, urban_grid, villages

#: Smallest district the generator makes (the CLI refuses fewer households too).
MIN_HOUSEHOLDS = 1000
#: The staff roster draws from its own random stream, ``[seed, ROSTER_STREAM]``, so
#: re-tuning the roster never moves another layer.
ROSTER_STREAM = 1
STAFF_COLUMNS = ["beat_id", "community_officers", "auxiliaries", "floating_managers",
                 "grid_workers"]


def generate_district(*, households: int = 30000, seed: int = 0,
                      settings: str | Path | Mapping[str, Any] | None = None,
                      policy: str | Path | Mapping[str, Any] | None = None
                      ) -> dict[str, pd.DataFrame]:
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
    policy
        The staffing policy the roster is drawn against (a dict or TOML path of
        overrides, as :func:`beatgrid.gis.policing.policy.load_policy`); default the
        shipped one. Under it, ``staff.fully_staffed_share`` of the beats meet every
        rule and ``staff.severely_short_share`` are clearly understaffed.

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
    policy = load_policy(policy)
    rng = np.random.default_rng(int(seed))
    lay = build_layout(int(households), p, rng)
    plan = plan_district(lay, int(households), p, rng)
    streets = [arterials(lay, plan, p, rng)]
    local, cells = urban_grid(lay, plan, p, rng)
    curved = curved_roads(lay, p, rng)
    hamlets, village_roads = villages(lay, plan, p, rng)
    streets += [local, curved, village_roads]
    groups = pd.concat([cells, hamlets], ignore_index=True)
    site = sites(groups, lay, p, rng)
    site = clear_of_roads(site, pd.concat([curved, village_roads], ignore_index=True), p)
    buildings = allocate(site, plan, p, rng)
    streets.append(lanes(buildings, groups, lay, p))
    streets = name_streets(pd.concat(streets, ignore_index=True), rng)
    est = estates(buildings, lay, pd.concat([curved, village_roads]), p, rng)
    populate(buildings, plan, p, rng)
    frames = {
        "cameras": cameras(streets, est, buildings, p, rng),
        "incidents": incidents(buildings, streets, p, rng),
        "key_places": key_places(buildings, groups, lay, p, rng),
        "governance_grids": governance(lay, plan, p, rng),
    }
    layers = _assemble(lay, plan, streets, est, buildings, frames, p, rng)
    roster_rng = np.random.default_rng([int(seed), ROSTER_STREAM])
    roster = staff_roster(layers, p=p, policy=policy, rng=roster_rng)
    _staff(layers, roster, plan, p, roster_rng)
    return {name: conformed(layers[name], name) for name in schema.LAYER_ORDER}


def _assemble(lay: Layout, plan: Plan, streets: pd.DataFrame, est: pd.DataFrame,
              buildings: pd.DataFrame, frames: Mapping[str, pd.DataFrame], p: Params, rng: Rng
              ) -> dict[str, pd.DataFrame]:
    """Every layer but the staff roster with ids, names and references, in CGCS2000."""
    to = ToStorage(p["district"]["center_lon"], p["district"]["center_lat"])
    out, (comm_ids, beat_ids, comm_name) = admin_layers(lay, plan, to, p, rng)
    st_ids = out["stations"]["id"].to_numpy()
    out["police_rooms"] = rooms(lay, plan, buildings, comm_name, beat_ids, st_ids, to, p, rng)
    out["streets"] = _streets_frame(streets, to)
    est_ids = ids("E", len(est))
    out["estates"] = frame({"id": est_ids, "community_id": comm_ids[est["comm"]], **{
        c: est[c] for c in ("name", "is_old", "access", "access_doors", "stairwells",
                            "year_built")}}, est["geometry"], to, "estates")
    out["buildings"] = _buildings_frame(buildings, est, est_ids, comm_ids, comm_name, to)
    out["grids"] = schema.empty_layer("grids", crs=STORAGE_EPSG)
    out["cameras"] = cameras_frame(frames["cameras"], est_ids, to)
    for layer, prefix in (("incidents", "INC"), ("key_places", "KP")):
        df = frames[layer]
        out[layer] = frame({"id": ids(prefix, len(df)), **df}, df["geometry"], to, layer)
    gg = frames["governance_grids"]
    gg_ids = ids("G", len(gg))
    out["governance_grids"] = frame(
        {"id": gg_ids, "department": gg["department"],
         "name": np.where(gg["department"] == "city_operations", "城运网格", "综治网格") + gg_ids},
        gg["geometry"], to, "governance_grids")
    return out


def _streets_frame(streets: pd.DataFrame, to: ToStorage) -> gpd.GeoDataFrame:
    """The streets in CGCS2000, ids given after dropping what collapsed in lon/lat.

    :func:`.streets.street_frame` already drops clipping leftovers in metres; this is the
    last guard: a street component whose ends round to one lon/lat point would be an
    invalid line ("Too few points in geometry component") that no repair can keep a line.
    """
    geom = valid_lines(to(streets["geometry"].to_numpy()))
    keep = ~shapely.is_empty(geom)
    streets, geom = streets[keep], geom[keep]
    return frame({"id": ids("ST", len(streets)), "name": streets["name"].to_numpy(),
                  "street_class": streets["street_class"].to_numpy()}, geom, None, "streets")


def _staff(layers: dict[str, pd.DataFrame], roster: pd.DataFrame, plan: Plan, p: Params,
           rng: Rng) -> None:
    """Put the roster in: the staff table, room types (type 1 with two or more officers)
    and every station's total strength."""
    layers["staff"] = roster[STAFF_COLUMNS].copy()
    officers = roster.set_index("beat_id")["community_officers"]
    rooms_ = layers["police_rooms"]
    rooms_["room_type"] = np.where(rooms_["beat_id"].map(officers).to_numpy() >= 2, 1, 2)
    layers["stations"]["officers_total"] = station_officers(
        roster["community_officers"].to_numpy(), plan.station, p, rng)


def _buildings_frame(b: pd.DataFrame, est: pd.DataFrame, est_ids: np.ndarray,
                     comm_ids: np.ndarray, comm_name: np.ndarray, to: ToStorage
                     ) -> gpd.GeoDataFrame:
    has_estate = b["estate"].notna().to_numpy()
    e = b["estate"].fillna(0).to_numpy(dtype=int)
    seq = b.groupby(["group"]).cumcount() + 1
    group_no = b.groupby("comm")["group"].rank(method="dense").astype(int)
    address = np.where(has_estate,
                       est["name"].to_numpy()[e] + seq.astype(str).to_numpy() + "幢",
                       comm_name[b["comm"]] + group_no.astype(str).to_numpy() + "区"
                       + seq.astype(str).to_numpy() + "号")
    rural = (b["kind"] == "house").to_numpy()
    address[rural] = (comm_name[b["comm"][rural]] + group_no[rural].astype(str).to_numpy()
                      + "组" + seq[rural].astype(str).to_numpy() + "号")
    return frame({"id": ids("BLD", len(b)), "households": b["households"],
                  "households_estimated": False,
                  "population_registered": b["population_registered"],
                  "population_floating": b["population_floating"], "levels": b["levels"],
                  "use": b["use"], "estate_id": np.where(has_estate, est_ids[e], None),
                  "community_id": comm_ids[b["comm"]], "grid_id": None, "address": address},
                 b["geometry"], to, "buildings")
