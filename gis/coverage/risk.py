"""The old-estate risk ranking: old estates ordered by a documented blind-spot risk score.

``risk_score = 100 x sum_k w_k c_k / sum_k w_k`` with components in [0, 1], 1 being the
riskiest (weights in ``[risk.weights]``; the definitions are in :func:`estate_risk` and
``docs/coverage.md``). Every component and the raw figures behind it are returned, so
the rank can be explained.

Examples
--------
>>> import geopandas as gpd, shapely, pandas as pd
>>> from beatgrid.gis.coverage.risk import estate_risk
>>> e = gpd.GeoDataFrame({"id": ["A"], "is_old": [True], "access": ["open"]},
...                      geometry=[shapely.box(0, 0, 10, 10)], crs=4547)
>>> st = pd.DataFrame({"zone_type": "estate", "zone_id": ["A"], "seen_share_all": [0.0],
...                    "cameras_inside": [0], "households": [0]})
>>> b = gpd.GeoDataFrame({"households": []}, geometry=[], crs=4547)
>>> round(float(estate_risk(e, stats=st, buildings=b)["risk_score"].iloc[0]), 6)  # unseen, no camera, open
70.0
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from beatgrid.gis.coverage.fov import coverage_settings
from beatgrid.gis.coverage.inputs import MetricLayers
from beatgrid.gis.coverage.zones import first_zone, geometry_array
from beatgrid.gis.crs import metric_crs
from beatgrid.gis.errors import InputError

__all__ = ["estate_risk"]


def estate_risk(estates: gpd.GeoDataFrame, *, stats: pd.DataFrame,
                buildings: gpd.GeoDataFrame | None,
                incidents: gpd.GeoDataFrame | None = None,
                settings: Mapping[str, Any] | None = None,
                inputs: MetricLayers | None = None) -> gpd.GeoDataFrame:
    """Rank (old) estates by the blind-spot risk score, with every figure behind it.

    ``risk_score = 100 x sum_k w_k c_k / sum_k w_k`` with components in [0, 1]
    (weights in ``[risk.weights]``):

    * ``c_uncovered = 1 - seen_share_all`` (open space seen by no camera);
    * ``c_camera_deficit = 1 - min(1, cameras_per_1000_households / target)``;
    * ``c_access_deficit = (open + door_gap) / 2``: ``open`` is 1 for an open estate,
      ``door_gap = 1 - min(1, access_doors / stairwells)`` (when stairwells are unknown,
      ``door_gap = open``);
    * ``c_preventable_incidents``: preventable incidents (estate grown by
      ``incident_buffer_m``) per 1,000 households, divided by the largest among the
      ranked estates;
    * ``c_floating_share``: floating / (registered + floating) residents.

    Parameters
    ----------
    estates
        The estates layer (``is_old``, ``access``, ``access_doors``, ``stairwells``).
    stats
        :func:`~beatgrid.gis.coverage.stats.coverage_stats` rows (those with
        ``zone_type == "estate"`` are used).
    buildings
        Buildings with ``households``, ``population_registered``, ``population_floating``.
    incidents
        Incidents with ``preventable`` (optional).
    settings
        The coverage section (``[risk]``; default: the shipped one).
    inputs
        The layers already in the estates' metric CRS (then ``buildings`` and
        ``incidents`` are taken from it).

    Returns
    -------
    GeoDataFrame
        ``rank``, ``estate_id``, ``name``, ``risk_score``, the components, the raw
        figures and the estate polygon; highest risk first.

    Examples
    --------
    >>> import geopandas as gpd, shapely, pandas as pd
    >>> e = gpd.GeoDataFrame({"id": ["A", "B"], "is_old": [True, True],
    ...                       "access": ["open", "closed"], "access_doors": [0, 6],
    ...                       "stairwells": [6, 6]},
    ...                      geometry=[shapely.box(0, 0, 10, 10), shapely.box(20, 0, 30, 10)],
    ...                      crs=4547)
    >>> st = pd.DataFrame({"zone_type": "estate", "zone_id": ["A", "B"],
    ...                    "seen_share_all": [0.1, 0.9], "cameras_inside": [0, 3],
    ...                    "households": [100, 100], "cameras_per_1000_households": [0.0, 30.0]})
    >>> b = gpd.GeoDataFrame({"households": []}, geometry=[], crs=4547)
    >>> r = estate_risk(e, stats=st, buildings=b)
    >>> r["estate_id"].tolist(), r["rank"].tolist()
    (['A', 'B'], [1, 2])
    """
    cfg = coverage_settings(settings)
    return _estate_risk(estates, stats=stats, buildings=buildings, incidents=incidents,
                        rk=cfg["risk"], inputs=inputs)


def _estate_risk(estates: gpd.GeoDataFrame, *, stats: pd.DataFrame, buildings: Any,
                 incidents: Any, rk: Mapping[str, Any], inputs: MetricLayers | None
                 ) -> gpd.GeoDataFrame:
    """:func:`estate_risk`, sharing ``inputs`` when they are in the estates' metric CRS."""
    w = rk["weights"]
    keep = np.ones(len(estates), dtype=bool)
    if rk["old_estates_only"] and "is_old" in estates.columns:
        keep = estates["is_old"].fillna(False).astype(bool).to_numpy()
    crs = metric_crs(estates, layer="estates") if len(estates) else None
    if not keep.any():
        cols = ["rank", "estate_id", "name", "risk_score"]
        return gpd.GeoDataFrame({c: [] for c in cols}, geometry=gpd.GeoSeries([], crs=estates.crs),
                                crs=estates.crs)
    if inputs is None or inputs.crs != crs:
        inputs = MetricLayers(crs, buildings=buildings, incidents=incidents)
    em = inputs.zones("estate", estates)[keep]
    ids = em["id"].astype(str).to_numpy()
    st = stats[stats["zone_type"] == "estate"].drop_duplicates("zone_id").set_index("zone_id")
    st = st.reindex(ids)
    seen_all = st["seen_share_all"].to_numpy(float) if "seen_share_all" in st else np.zeros(len(em))
    cams_in = st["cameras_inside"].to_numpy(float) if "cameras_inside" in st else np.zeros(len(em))

    # residents of the estate's buildings (point on surface inside the estate)
    bld = inputs.frame("buildings")
    zg = geometry_array(em)
    if len(bld):
        zb = first_zone(inputs.brep, zg)
        has = zb >= 0

        def total(col: str) -> np.ndarray:
            v = inputs.bcolumn(col)
            return np.bincount(zb[has], weights=v[has], minlength=len(zg))
        households, reg, flo = (total("households"), total("population_registered"),
                                total("population_floating"))
    else:
        households = st["households"].to_numpy(float) if "households" in st else np.zeros(len(zg))
        reg = flo = np.zeros(len(zg))
    # preventable incidents
    prev = np.zeros(len(zg))
    inc = inputs.frame("incidents")
    if inc is not None and len(inc):
        if "preventable" in inc.columns:
            inc = inc[inc["preventable"].fillna(False).astype(bool)]
        if len(inc):
            grown = shapely.buffer(zg, float(rk["incident_buffer_m"])) \
                if rk["incident_buffer_m"] > 0 else zg
            zi, _ = shapely.STRtree(inc.geometry.values).query(grown, predicate="intersects")
            prev = np.bincount(zi, minlength=len(zg)).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        per1000 = np.where(households > 0, 1000.0 * cams_in / households, 0.0)
        target = float(rk["target_cameras_per_1000_households"])
        c_unc = 1.0 - np.nan_to_num(seen_all, nan=0.0)
        c_cam = 1.0 - np.minimum(1.0, per1000 / target) if target > 0 else np.zeros(len(zg))
        is_open = (em["access"].astype(str).to_numpy() == "open").astype(float) \
            if "access" in em.columns else np.zeros(len(zg))
        doors = pd.to_numeric(em.get("access_doors", pd.Series(0, index=em.index)),
                              errors="coerce").fillna(0).to_numpy(float)
        stairs = pd.to_numeric(em.get("stairwells", pd.Series(np.nan, index=em.index)),
                               errors="coerce").to_numpy(float)
        door_gap = np.where(np.isfinite(stairs) & (stairs > 0),
                            1.0 - np.minimum(1.0, doors / np.where(stairs > 0, stairs, 1.0)),
                            is_open)
        c_acc = (is_open + door_gap) / 2.0
        prev_rate = np.where(households > 0, 1000.0 * prev / households, prev)
        top = prev_rate.max() if len(prev_rate) else 0.0
        c_inc = prev_rate / top if top > 0 else np.zeros(len(zg))
        people = reg + flo
        c_flo = np.where(people > 0, flo / people, 0.0)
    comps = {"c_uncovered": (c_unc, w["uncovered"]),
             "c_camera_deficit": (c_cam, w["camera_deficit"]),
             "c_access_deficit": (c_acc, w["access_deficit"]),
             "c_preventable_incidents": (c_inc, w["preventable_incidents"]),
             "c_floating_share": (c_flo, w["floating_share"])}
    wsum = sum(float(v[1]) for v in comps.values())
    if wsum <= 0:
        raise InputError("the risk weights add up to 0",
                         fix="give at least one positive weight in [risk.weights]")
    score = 100.0 * sum(float(wt) * c for c, wt in comps.values()) / wsum
    out = pd.DataFrame({
        "estate_id": ids,
        "name": em["name"].astype(str).to_numpy() if "name" in em.columns else "",
        "risk_score": score,
        **{k: v[0] for k, v in comps.items()},
        "seen_share_all": seen_all,
        "cameras_inside": cams_in.astype(np.int64) if np.isfinite(cams_in).all() else cams_in,
        "households": households.round().astype(np.int64),
        "cameras_per_1000_households": per1000,
        "access": em["access"].astype(str).to_numpy() if "access" in em.columns else "",
        "access_doors": doors, "stairwells": stairs,
        "preventable_incidents": prev.astype(np.int64),
        "preventable_per_1000_households": prev_rate,
        "population_registered": reg.round().astype(np.int64),
        "population_floating": flo.round().astype(np.int64),
    })
    out = gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(geometry_array(estates)[keep],
                                                       crs=estates.crs), crs=estates.crs)
    out = out.sort_values(["risk_score", "estate_id"], ascending=[False, True],
                          kind="stable").reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out
