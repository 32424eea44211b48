"""Staffing gaps rolled up per responsibility area and per station.

Part of the staffing assessment (:func:`beatgrid.gis.policing.staffing.assess_project`):
:func:`rollup` sums the gaps of :func:`beatgrid.gis.policing.staffing.assess` per
group, listed in the natural order of their ids (``2`` before ``10``).

Examples
--------
>>> from beatgrid.gis import Project
>>> res = Project.open("sample-geodata/ningbo-jiangbei.gpkg").policing.assess()
>>> rollup(res.gaps)["station_id"].tolist()
['S01', 'S02']
"""

from __future__ import annotations

import pandas as pd

from beatgrid.gis.errors import InputError
from beatgrid.gis.policing.location import natural_sort_key
from beatgrid.gis.policing.rules import ROLES, RULES, SEVERITY_ORDER, SHORTFALL_LEVELS

#: Group name of beats without a station or responsibility area (listed first).
NO_GROUP = "(none)"


def rollup(gaps: pd.DataFrame, *, by: str = "station_id",
           stations: pd.DataFrame | None = None) -> pd.DataFrame:
    """Gaps summed per responsibility area or station.

    Parameters
    ----------
    gaps
        :func:`beatgrid.gis.policing.staffing.assess`.
    by
        ``"station_id"`` or ``"responsibility_area_id"``.
    stations
        The ``stations`` layer: adds ``officers_total`` and the community officers'
        share of the station's officers (Jiangbei: 26.8% of station officers).

    Returns
    -------
    DataFrame
        One row per group, in the natural order of the ids (``(none)`` first):
        ``beats``, ``understaffed_beats`` (beats with a failed rule),
        population and incident totals, ``<role>_required/actual/gap`` sums (empty
        when a beat of the group has no known figure: staff not on the roster),
        ``worst_severity`` (``not judged`` ranks above ``ok``, below ``low``),
        ``severity_score`` (mean over beats) and ``rules_failed`` (count of each
        failed rule, e.g. ``officers_population:3``).

    Examples
    --------
    >>> import pandas as pd
    >>> from beatgrid.gis.policing.staffing import assess
    >>> b = pd.DataFrame({"beat_id": ["a", "b"], "station_id": ["s", "s"],
    ...     "population_registered": [100, 100], "population_floating": [50, 300],
    ...     "community_officers": [1, 1], "auxiliaries": [2, 3], "floating_managers": [1, 1]})
    >>> r = rollup(assess(b)).iloc[0]
    >>> [int(r[c]) for c in ("beats", "understaffed_beats", "officers_required", "officers_gap")]
    [2, 1, 3, 1]
    >>> r.worst_severity
    'high'
    """
    if by not in ("station_id", "responsibility_area_id"):
        raise InputError(f"cannot roll up by {by!r}",
                         fix="use 'station_id' or 'responsibility_area_id'")
    g = gaps.copy()
    g[by] = g[by].where(g[by].notna(), NO_GROUP).astype(str)
    sums = ["households", "population_registered", "population_floating", "population_actual",
            "grids", "incidents", "incidents_preventable"]
    for role in ROLES:
        sums += [f"{role}_required", f"{role}_actual", f"{role}_gap"]
    grouped = g.groupby(by, sort=True)
    out = grouped[sums].sum()
    unknown = [c for c in sums if g[c].isna().any()]
    if unknown:
        # a sum over beats of which some have no figure is no figure
        holes = g[unknown].isna().groupby(g[by]).any()
        for col in unknown:
            out[col] = out[col].astype("Int64").mask(holes[col])
    out.insert(0, "beats", grouped.size())
    out.insert(1, "understaffed_beats",
               grouped["severity"].agg(lambda s: int(s.isin(SHORTFALL_LEVELS).sum())))
    rank = {lv: i for i, lv in enumerate(SEVERITY_ORDER)}
    out["worst_severity"] = grouped["severity"].agg(lambda s: max(s, key=rank.__getitem__))
    out["severity_score"] = grouped["severity_score"].mean().round(4)
    out["rules_failed"] = grouped["failed_rules"].agg(_count_rules)
    out = out.reset_index()
    order = natural_sort_key(out[by]).where(out[by] != NO_GROUP, -1).to_numpy()
    out = out.iloc[order.argsort(kind="stable")].reset_index(drop=True)
    if by == "station_id" and stations is not None and len(stations) \
            and "officers_total" in stations.columns:
        tot = pd.Series(pd.to_numeric(stations["officers_total"], errors="coerce").to_numpy(),
                        index=stations["id"].astype(str))
        out["officers_total"] = out["station_id"].map(tot)
        share = out["officers_actual"] / out["officers_total"]
        out["community_officer_share"] = share.where(out["officers_total"] > 0).round(4)
        if out["officers_actual"].isna().any():
            out["community_officer_share"] = out["community_officer_share"].astype(float)
    return out


def _count_rules(values: pd.Series) -> str:
    counts: dict[str, int] = {}
    for v in values:
        for rule in filter(None, str(v).split(";")):
            counts[rule] = counts.get(rule, 0) + 1
    return ";".join(f"{r}:{counts[r]}" for r in RULES if r in counts)


__all__ = ["NO_GROUP", "rollup"]
