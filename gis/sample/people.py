"""People: residents, a year of incidents, key places and the staff roster.

Residents follow each community's floating / registered ratio (:func:`populate`);
incidents follow floating residents (:func:`incidents`); rental houses, businesses,
construction sites and key units sit where they would (:func:`key_places`).

The staff roster (:func:`staff_roster`) is drawn against a staffing policy (the shipped
one by default: the seeds' rules) with the same code ``beatgrid staffing`` uses, so its
outcome is fixed by quota whatever the district's size:

- ``fully_staffed_share`` of the beats meet every rule (some roles with one to spare);
- ``severely_short_share`` are clearly understaffed: a beat needing two officers
  (一区双警 / 人口倒挂) has one, or a one-officer beat has fewer auxiliaries than 1:1.5;
  their floating-population managers run at Jiangbei's ~1:800. Every population-inversion
  beat is among them;
- the rest are mildly short: floating managers at ~1:800 or a grid worker or two missing.

Examples
--------
Ten beats, two inverted (1 and 5), four needing two officers (0, 1, 2 and 5): three
severe (both inverted ones and one more needing two officers), four full, three mild.

>>> import numpy as np
>>> inverted = np.array([False, True, False, False, False, True, False, False, False, False])
>>> tiers(inverted, np.array([2, 2, 2, 1, 1, 2, 1, 1, 1, 1]), full=0.4, severe=0.3,
...       rng=np.random.default_rng(0)).tolist()
['full', 'severe', 'severe', 'mild', 'full', 'severe', 'full', 'mild', 'mild', 'full']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import shapely

from beatgrid.gis.policing import beats as beats_mod
from beatgrid.gis import schema
from beatgrid.gis.policing.staffing import RULES, rule_requirements
from beatgrid.gis.policing.workload import workload_requirement
from beatgrid.gis.sample.common import Params, Rng, cell_rects, uniform
from beatgrid.gis.sample.layout import Layout, Plan
from beatgrid.gis.sample.streets import road_points

KEY_PLACE_NAMES = {"rental_house": "出租房", "hotel": "宾馆", "ktv": "KTV", "internet_cafe": "网吧",
                   "massage_parlour": "足浴店", "courier": "快递网点",
                   "construction_site": "建筑工地", "key_unit": "重点单位"}
TIERS = ("full", "mild", "severe")


def populate(buildings: pd.DataFrame, plan: Plan, p: Params, rng: Rng) -> None:
    """Add registered and floating residents to ``buildings``; floating residents follow
    each community's ratio, weighted by building kind (rentals in old and village housing)."""
    pop = p["population"]
    hh = buildings["households"].to_numpy()
    comm = buildings["comm"].to_numpy()
    reg = rng.poisson(hh * pop["registered_per_household"])
    weight = hh * buildings["kind"].map(pop["floating_weight"]).fillna(0).to_numpy()
    n = len(plan.target)
    reg_c = np.bincount(comm, weights=reg, minlength=n)
    w_c = np.bincount(comm, weights=weight, minlength=n)
    mean = plan.floating_ratio[comm] * reg_c[comm] * weight / np.maximum(w_c[comm], 1e-9)
    buildings["population_registered"] = reg
    buildings["population_floating"] = rng.poisson(mean)


def incidents(buildings: pd.DataFrame, streets: pd.DataFrame, p: Params, rng: Rng
              ) -> pd.DataFrame:
    """A year of incidents at buildings weighted by floating residents; traffic on roads."""
    c = p["incidents"]
    n = max(1, round(buildings["households"].sum() / c["households_per_incident"]))
    cats = list(c["category_share"])
    share = np.array([c["category_share"][k] for k in cats], dtype=float)
    category = rng.choice(cats, n, p=share / share.sum())
    on_street = category == c["street_category"]
    w = (buildings["population_floating"] + c["registered_weight"]
         * buildings["population_registered"]).to_numpy(dtype=float)
    idx = rng.choice(len(buildings), n, p=w / w.sum())
    centre = shapely.get_coordinates(shapely.centroid(buildings["geometry"].to_numpy()[idx]))
    angle, dist = rng.uniform(0, 2 * np.pi, n), rng.uniform(0, c["offset_m"], n)
    pts = shapely.points(centre + np.column_stack([np.cos(angle), np.sin(angle)]) * dist[:, None])
    road = road_points(streets, int(on_street.sum()), p["cameras"]["class_weight"],
                       p["cameras"]["rural_road_weight"], rng)
    pts[on_street] = road["geometry"].to_numpy()
    hours = np.asarray(c["hour_weight"], dtype=float)
    seconds = (rng.integers(0, 365, n) * 86400 + rng.choice(24, n, p=hours / hours.sum()) * 3600
               + rng.integers(0, 3600, n))
    when = np.datetime64(f"{c['year']}-01-01T00:00:00") + seconds.astype("timedelta64[s]")
    order = np.argsort(when, kind="stable")
    return pd.DataFrame({"category": category[order],
                         "preventable": np.isin(category[order], schema.PREVENTABLE_CATEGORIES),
                         "occurred_at": pd.to_datetime(when[order]),
                         "geometry": pts[order]})


def key_places(buildings: pd.DataFrame, groups: pd.DataFrame, lay: Layout, p: Params,
               rng: Rng) -> pd.DataFrame:
    """Rental houses where floating residents live; businesses in shops; construction sites
    on empty blocks; key units in public buildings and offices."""
    per = p["key_places"]["per_1000_households"]
    hh = buildings["households"].sum()
    use = buildings["use"].to_numpy()
    centre = shapely.centroid(buildings["geometry"].to_numpy())
    floating = buildings["population_floating"].to_numpy(dtype=float)
    pools = {"rental_house": floating, "key_unit": np.isin(use, ("public", "office")) * 1.0}
    shops = np.isin(use, ("commercial", "mixed")) * 1.0
    empty = groups[~groups.index.isin(buildings["group"]) & groups["radius"].isna()]
    frames = []
    for kind, rate in per.items():
        n = round(hh * rate / 1000)
        if n == 0:
            continue
        if kind == "construction_site" and len(empty):
            pick = empty.iloc[rng.choice(len(empty), min(n, len(empty)), replace=False)]
            rect = cell_rects(pick)
            site = shapely.intersection(rect, lay.polys[pick["comm"].to_numpy()])
            pts = shapely.point_on_surface(site[~shapely.is_empty(site)])
        else:
            w = pools.get(kind, shops)
            w = w if w.sum() > 0 else np.ones(len(buildings))
            pts = centre[rng.choice(len(buildings), n, p=w / w.sum())]
        frames.append(pd.DataFrame({"kind": kind, "geometry": pts}))
    places = pd.concat(frames, ignore_index=True)
    rank = places.groupby("kind").cumcount() + 1
    places["name"] = places["kind"].map(KEY_PLACE_NAMES) + rank.map("{:03d}".format)
    return places


# --------------------------------------------------------------------------------------
# Staff roster
# --------------------------------------------------------------------------------------

def tiers(inverted: Any, officers_needed: Any, *, full: float, severe: float, rng: Rng
          ) -> np.ndarray:
    """Staffing outcome of each beat by quota: ``"full"``, ``"mild"`` or ``"severe"``.

    Parameters
    ----------
    inverted
        Bool per beat: floating residents outnumber registered ones (人口倒挂).
    officers_needed
        Officers each beat needs under the policy.
    full, severe
        Shares of the beats fully staffed and severely short (``round(share x n)``
        beats each; every inverted beat is severe, even beyond its share).
    rng
        numpy Generator.

    Returns
    -------
    ndarray of str
        Severe: the inverted beats, then beats needing two or more officers, then the
        others (random order within each); of the rest, ``full`` first, then mild.

    Examples
    --------
    >>> tiers([True, False, False, False], [1, 2, 1, 1], full=0.5, severe=0.25,
    ...       rng=np.random.default_rng(0)).tolist()
    ['severe', 'mild', 'full', 'full']
    """
    inverted = np.asarray(inverted, dtype=bool)
    n = len(inverted)
    n_severe = min(n, max(int(inverted.sum()), round(severe * n)))
    n_full = min(n - n_severe, round(full * n))
    order = np.lexsort((rng.permutation(n), np.asarray(officers_needed) < 2, ~inverted))
    out = np.full(n, "mild", dtype=object)
    out[order[:n_severe]] = "severe"
    rest = order[n_severe:]
    out[rest[rng.permutation(len(rest))[:n_full]]] = "full"
    return out


def _room_officers(officers: np.ndarray, off: Params) -> np.ndarray:
    """Officers raised to their room type's minimum (type 1 with two or more officers)."""
    for _ in range(3):
        officers = np.maximum(officers, np.where(officers >= 2, off["type1_room_min"],
                                                 off["type2_room_min"]))
    return officers


def _short(required: np.ndarray, ratio: Any) -> np.ndarray:
    """A count below ``required`` (by the share ``ratio`` of it, at least one, never
    negative); 0 stays 0."""
    return np.clip(np.minimum(required - 1, np.round(required * ratio)), 0, None).astype(int)


def staff_roster(layers: Mapping[str, pd.DataFrame], *, p: Params, policy: Params, rng: Rng
                 ) -> pd.DataFrame:
    """A staff roster per beat: some fully staffed, some clearly short, the rest mildly.

    The requirements are those of :func:`beatgrid.gis.policing.staffing.assess_project` on the
    assembled layers (population, floating residents, households-estimated grids,
    incident workload, room type), so the outcome under ``policy`` is exactly the
    quota of :func:`tiers`.

    Parameters
    ----------
    layers
        The district's layers in CGCS2000 (``beats``, ``communities``, ``buildings``,
        ``incidents``...; ``staff`` and ``police_rooms`` are ignored).
    p
        Sample settings (``[staff]``).
    policy
        Staffing policy (:func:`beatgrid.gis.policing.policy.load_policy`).
    rng
        numpy Generator (the roster has its own stream).

    Returns
    -------
    DataFrame
        ``beat_id`` and the four staff counts, one row per beat in beat order, and
        ``tier`` (not a schema column).
    """
    st = p["staff"]
    beats, beat_of, _ = beats_mod.resolve_beats(layers)
    inc = layers["incidents"]
    inc_beat = beats_mod.incident_beats(inc, beats)
    base = {k: v for k, v in layers.items() if k not in ("staff", "police_rooms")}
    summary = beats_mod.beat_summary(base, beats=beats, beat_of=beat_of, incident_beat=inc_beat)
    ids = summary["beat_id"].astype(str).tolist()
    workload = workload_requirement(inc, inc_beat, policy=policy, beat_ids=ids) \
        if len(inc) else None
    n = len(summary)
    officer_rules = [r for r, role in RULES.items() if role == "officers"]
    needed = rule_requirements(summary, policy=policy, workload=workload)[officer_rules] \
        .max(axis=1).to_numpy()
    reg = summary["population_registered"].to_numpy()
    flo = summary["population_floating"].to_numpy()
    tier = tiers(flo > reg, needed, full=st["fully_staffed_share"],
                 severe=st["severely_short_share"], rng=rng)
    severe, mild = tier == "severe", tier == "mild"
    off = policy["officers"]
    officers = _room_officers(needed, off)
    officers = np.where(severe & (needed >= 2), np.maximum(needed - 1, 1), officers)
    req = rule_requirements(summary.assign(community_officers=officers,
                                           room_type=np.where(officers >= 2, 1, 2)),
                            policy=policy, workload=workload)
    aux_req, fm_req, gw_req = (req[r].to_numpy() for r in (
        "auxiliaries_ratio", "floating_managers_ratio", "grid_workers_per_grid"))

    def spare() -> np.ndarray:
        return (rng.random(n) < st["spare_share"]).astype(int)

    # auxiliaries: short only in severe beats (one per officer or a little more)
    per_officer = rng.choice(np.asarray(st["short_auxiliaries_per_officer"], dtype=float), n)
    aux = np.where(severe, np.clip(np.minimum(aux_req - 1, np.round(officers * per_officer)),
                                   0, None), aux_req + spare())
    # floating managers at Jiangbei's ~1:800 in severe beats and in some mild ones
    fm_short = np.clip(np.minimum(fm_req - 1, np.ceil(
        flo / uniform(rng, st["short_floating_per_manager"], n))), 0, None)
    gw_short = _short(gw_req, 1 - uniform(rng, st["short_grid_worker_share"], n))
    by_managers = rng.random(n) < st["mild_managers_share"]
    # a mild shortfall stays under half the requirement: managers when 3+ are needed,
    # else grid workers when 3+ are needed, else whichever role needs more
    by_managers = np.where(fm_req >= 3, by_managers | (gw_req < 3),
                           (gw_req < 3) & (fm_req >= gw_req) & (fm_req > 0))
    fm = np.where(severe | (mild & by_managers), fm_short, fm_req + spare())
    gw = np.where(mild & ~by_managers, gw_short, gw_req + spare())
    return pd.DataFrame({"beat_id": ids, "community_officers": officers.astype(int),
                         "auxiliaries": aux.astype(int), "floating_managers": fm.astype(int),
                         "grid_workers": gw.astype(int), "tier": tier})
