"""Staffing gaps: which beats are understaffed, by which rule, and by how much.

Each beat (a row of :func:`beatgrid.gis.policing.beats.beat_summary`) is checked against
the rules of the staffing policy (:mod:`beatgrid.gis.policing.policy`); every
threshold and ratio comes from the policy, none is written here.

========================  ===========================================================
rule                      requirement (policy keys)
========================  ===========================================================
officers_per_beat         ``officers.per_beat`` officers (一居一警)
officers_population       ``officers.two_officer_count`` when the population
                          (``officers.population_basis``: registered + floating, or
                          registered) is *strictly* above
                          ``officers.two_officer_population`` (一区双警)
officers_inverted         ``officers.two_officer_count`` when floating residents are
                          *strictly* more than registered ones (人口倒挂), if
                          ``officers.two_officer_if_floating_exceeds_registered``
officers_room_type        ``officers.type1_room_min`` for a type-1 room,
                          ``officers.type2_room_min`` for a type-2 room
officers_workload         the workload model (:mod:`beatgrid.gis.policing.workload`), when
                          ``workload.include_in_required``
auxiliaries_ratio         ``max(auxiliaries.minimum, R(per_officer x officers))``
                          with ``officers`` the required (``basis``) count and ``R``
                          the rounding (``ceil``: 1.5 x 1 -> 2, 1.5 x 2 -> 3)
floating_managers_ratio   ``max(minimum, R(floating / floating_per_manager))``
                          (``ceil``: 1 -> 1, 500 -> 1, 501 -> 2)
grid_workers_per_grid     ``max(minimum, R(per_grid x grids))``; a beat without
                          planned grids counts ``ceil(households /
                          households_per_grid)`` grids when
                          ``estimate_unplanned_grids``
========================  ===========================================================

``officers_required`` is the largest officer requirement; the gap of a role is
``max(required - actual, 0)`` (a shortfall; surpluses are not netted). A rule
*fails* when the actual count is below that rule's requirement. The severity score
is ``sum_role weight_role x gap_role / required_role`` (``[severity]`` weights);
a beat with no failed rule is ``ok``, otherwise ``low`` and from the ``medium``,
``high`` and ``critical`` bounds upwards. ``severity_rank`` 1 is the worst beat.

Examples
--------
>>> import pandas as pd
>>> beats = pd.DataFrame({"beat_id": ["b1", "b2"], "population_registered": [4000, 3000],
...     "population_floating": [7000, 1200], "households": [3500, 1300], "grids": [8, 3],
...     "room_type": [2, 2], "community_officers": [1, 1], "auxiliaries": [2, 1],
...     "floating_managers": [10, 3], "grid_workers": [8, 3]})
>>> g = assess(beats)
>>> g[["beat_id", "officers_required", "officers_actual", "failed_rules", "severity"]].values.tolist()
[['b1', 2, 1, 'officers_population;officers_inverted;auxiliaries_ratio;floating_managers_ratio', 'high'], ['b2', 1, 1, 'auxiliaries_ratio', 'medium']]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from beatgrid.gis.config import section_or_default
from beatgrid.gis.errors import InputError
from beatgrid.gis.policing.beats import beat_summary, resolve_beats
from beatgrid.gis.policing.location import incident_beats
from beatgrid.gis.policing.policy import round_count
from beatgrid.gis.policing.rooms import ROOM_COLUMNS, room_review, rooms_in_beats
from beatgrid.gis.policing.workload import workload_requirement

ROLES = ("officers", "auxiliaries", "floating_managers", "grid_workers")
#: Staff table column of each role.
ROLE_ACTUAL = {"officers": "community_officers", "auxiliaries": "auxiliaries",
               "floating_managers": "floating_managers", "grid_workers": "grid_workers"}
#: Rules in report order, with the role each constrains.
RULES = {
    "officers_per_beat": "officers",
    "officers_population": "officers",
    "officers_inverted": "officers",
    "officers_room_type": "officers",
    "officers_workload": "officers",
    "auxiliaries_ratio": "auxiliaries",
    "floating_managers_ratio": "floating_managers",
    "grid_workers_per_grid": "grid_workers",
}
SEVERITY_LEVELS = ("ok", "low", "medium", "high", "critical")

#: Columns of :func:`assess` (the ``beatgrid staffing --out`` CSV), in order.
GAP_COLUMNS = [
    "beat_id", "name", "station_id", "responsibility_area_id", "kind", "room_id", "room_type",
    "households", "population_registered", "population_floating", "population_actual",
    "floating_ratio", "grids", "grids_estimated", "incidents", "incidents_preventable",
    "workload_hours_week", "officers_workload",
    "officers_required", "officers_actual", "officers_gap",
    "auxiliaries_required", "auxiliaries_actual", "auxiliaries_gap",
    "floating_managers_required", "floating_managers_actual", "floating_managers_gap",
    "grid_workers_required", "grid_workers_actual", "grid_workers_gap",
    "failed_rules", "rules_failed", "severity_score", "severity", "severity_rank", "reasons",
]


def _col(df: pd.DataFrame, name: str, default: float = 0) -> pd.Series:
    if name in df.columns:
        return pd.to_numeric(df[name], errors="coerce").fillna(default)
    return pd.Series(default, index=df.index, dtype=float)


def rule_requirements(summary: pd.DataFrame, *, policy: Mapping[str, Any] | None = None,
                      workload: pd.DataFrame | pd.Series | None = None) -> pd.DataFrame:
    """What each rule requires of each beat (one column per rule of :data:`RULES`).

    Parameters
    ----------
    summary
        Beats with ``population_registered``, ``population_floating``,
        ``households``, ``grids``, ``room_type`` (missing columns count as 0 / no
        room) and the actual staff columns (``community_officers``...).
    policy
        Staffing policy; default the shipped one.
    workload
        :func:`beatgrid.gis.policing.workload.workload_requirement` (indexed by beat id) or a
        Series of officers by beat id; None: no workload rule.

    Returns
    -------
    DataFrame
        Index of ``summary``; integer requirement per rule, plus ``grids_counted``,
        ``grids_estimated``, ``workload_hours_week`` and ``workload_officers`` (the
        workload model's officers, reported even when it does not bind).

    Examples
    --------
    >>> import pandas as pd
    >>> b = pd.DataFrame({"beat_id": ["x", "y"], "population_registered": [5000, 5000],
    ...                   "population_floating": [5000, 5001]})
    >>> rule_requirements(b)[["officers_population", "officers_inverted"]].values.tolist()
    [[0, 0], [2, 2]]
    """
    policy = section_or_default(policy, "policy")
    off, aux, fm, gw = (policy[k] for k in ("officers", "auxiliaries", "floating_managers",
                                            "grid_workers"))
    reg = _col(summary, "population_registered")
    flo = _col(summary, "population_floating")
    pop = reg + flo if off["population_basis"] == "actual" else reg
    req = pd.DataFrame(index=summary.index)
    req["officers_per_beat"] = int(off["per_beat"])
    req["officers_population"] = np.where(pop > off["two_officer_population"],
                                          off["two_officer_count"], 0)
    req["officers_inverted"] = np.where(
        off["two_officer_if_floating_exceeds_registered"] & (flo > reg),
        off["two_officer_count"], 0)
    room = _col(summary, "room_type", default=0)
    req["officers_room_type"] = np.select([room == 1, room == 2],
                                          [off["type1_room_min"], off["type2_room_min"]], 0)
    hours = pd.Series(np.nan, index=summary.index)
    model = pd.Series(0, index=summary.index)
    if workload is not None:
        ids = summary["beat_id"].astype(str)
        if isinstance(workload, pd.DataFrame):
            model = ids.map(workload["officers_workload"]).fillna(0).astype(int)
            hours = ids.map(workload["committed_hours_week"]).fillna(0.0)
        else:
            model = ids.map(workload).fillna(0).astype(int)
    # the workload model is always reported; it binds only with include_in_required
    req["officers_workload"] = model.to_numpy() if policy["workload"]["include_in_required"] \
        else 0
    req["workload_officers"] = model.to_numpy()
    req["workload_hours_week"] = hours
    officer_rules = [r for r, role in RULES.items() if role == "officers"]
    officers_required = req[officer_rules].max(axis=1)
    actual_off = _col(summary, ROLE_ACTUAL["officers"])
    basis = {"required": officers_required, "actual": actual_off,
             "max": np.maximum(officers_required, actual_off)}[aux["basis"]]
    req["auxiliaries_ratio"] = np.maximum(
        aux["minimum"], round_count(aux["per_officer"] * basis.to_numpy(dtype=float),
                                    aux["rounding"]))
    req["floating_managers_ratio"] = np.maximum(
        fm["minimum"], round_count(flo.to_numpy(dtype=float) / fm["floating_per_manager"],
                                   fm["rounding"]))
    grids = _col(summary, "grids")
    hh = _col(summary, "households")
    estimated = (grids <= 0) & (hh > 0) & bool(gw["estimate_unplanned_grids"])
    est = round_count(hh.to_numpy(dtype=float) / gw["households_per_grid"], "ceil")
    counted = np.where(estimated, est, grids.to_numpy(dtype=float))
    req["grid_workers_per_grid"] = np.maximum(
        gw["minimum"], round_count(gw["per_grid"] * counted, gw["rounding"]))
    req["grids_counted"] = counted.astype(np.int64)
    req["grids_estimated"] = estimated.to_numpy()
    for rule in RULES:
        req[rule] = req[rule].astype(np.int64)
    return req


def assess(summary: pd.DataFrame, *, policy: Mapping[str, Any] | None = None,
           workload: pd.DataFrame | pd.Series | None = None) -> pd.DataFrame:
    """Staffing gaps of every beat: required versus actual per role, failed rules, severity.

    Parameters
    ----------
    summary
        :func:`beatgrid.gis.policing.beats.beat_summary` (or any frame with ``beat_id`` and
        the columns :func:`rule_requirements` reads).
    policy
        Staffing policy; default the shipped one.
    workload
        :func:`beatgrid.gis.policing.workload.workload_requirement` by beat id (optional).

    Returns
    -------
    DataFrame
        Columns :data:`GAP_COLUMNS` (absent summary columns are filled), one row per
        beat in the order of ``summary``. ``failed_rules`` joins rule names with
        ``;`` (empty when none failed); ``reasons`` says it in words.

    Examples
    --------
    >>> import pandas as pd
    >>> b = pd.DataFrame({"beat_id": ["b"], "population_registered": [800],
    ...     "population_floating": [1001], "community_officers": [2], "auxiliaries": [3],
    ...     "floating_managers": [2], "grid_workers": [0], "households": [600]})
    >>> r = assess(b).iloc[0]
    >>> int(r.floating_managers_required), int(r.grid_workers_required), r.failed_rules
    (3, 2, 'floating_managers_ratio;grid_workers_per_grid')
    """
    policy = section_or_default(policy, "policy")
    if "beat_id" not in summary.columns:
        raise InputError("the beat table has no 'beat_id' column",
                         fix="pass beatgrid.gis.policing.beats.beat_summary(...)")
    s = summary.reset_index(drop=True)
    req = rule_requirements(s, policy=policy, workload=workload)
    out = pd.DataFrame(index=s.index)
    for col in GAP_COLUMNS[:17]:
        out[col] = s[col] if col in s.columns else None
    out["beat_id"] = s["beat_id"].astype(str)
    for col in ("households", "population_registered", "population_floating", "incidents",
                "incidents_preventable"):
        out[col] = _col(s, col).astype(np.int64)
    out["population_actual"] = out["population_registered"] + out["population_floating"]
    reg = out["population_registered"].astype(float)
    out["floating_ratio"] = np.where(reg > 0, out["population_floating"] / reg.where(reg > 0, 1),
                                     np.nan)
    out["grids"] = req["grids_counted"]
    out["grids_estimated"] = req["grids_estimated"]
    out["workload_hours_week"] = req["workload_hours_week"]
    out["officers_workload"] = req["workload_officers"]
    failed = {rule: np.zeros(len(s), dtype=bool) for rule in RULES}
    score = np.zeros(len(s))
    for role in ROLES:
        rules = [r for r, ro in RULES.items() if ro == role]
        required = req[rules].max(axis=1).astype(np.int64)
        actual = _col(s, ROLE_ACTUAL[role]).astype(np.int64)
        gap = np.maximum(required - actual, 0)
        out[f"{role}_required"] = required
        out[f"{role}_actual"] = actual
        out[f"{role}_gap"] = gap
        for rule in rules:
            failed[rule] = (actual < req[rule]).to_numpy()
        weight = policy["severity"][f"{role}_weight"]
        score += weight * np.where(required > 0, gap / required.where(required > 0, 1), 0.0)
    names = np.array(list(RULES))
    matrix = np.column_stack([failed[r] for r in RULES])
    out["failed_rules"] = [";".join(names[row]) for row in matrix]
    out["rules_failed"] = matrix.sum(axis=1)
    out["severity_score"] = np.round(score, 6)
    out["severity"] = _severity_levels(score, np.asarray(matrix.any(axis=1)), policy["severity"])
    order = np.lexsort((-out["population_actual"].to_numpy(), -out["rules_failed"].to_numpy(),
                        -score))
    rank = np.empty(len(s), dtype=np.int64)
    rank[order] = np.arange(1, len(s) + 1)
    out["severity_rank"] = rank
    out["reasons"] = _reasons(out, req, matrix, policy)
    return out[GAP_COLUMNS]


def _severity_levels(score: np.ndarray[Any, Any], any_failed: np.ndarray[Any, Any],
                     sev: Mapping[str, Any]) -> np.ndarray[Any, Any]:
    level = np.where(score >= sev["critical"], "critical",
                     np.where(score >= sev["high"], "high",
                              np.where(score >= sev["medium"], "medium", "low")))
    return np.where(any_failed, level, "ok").astype(object)


def _reasons(out: pd.DataFrame, req: pd.DataFrame, matrix: np.ndarray[Any, Any],
             policy: Mapping[str, Any]) -> list[str]:
    off = policy["officers"]
    texts = []
    names = list(RULES)
    needs = req[names].to_numpy()
    for i, row in enumerate(out.itertuples(index=False)):
        parts = []
        if not matrix[i].any():
            texts.append("")
            continue
        for j, rule in enumerate(names):
            if not matrix[i, j]:
                continue
            need = int(needs[i, j])
            if rule == "officers_per_beat":
                parts.append(f"every beat needs {need} officer(s), has {row.officers_actual}")
            elif rule == "officers_population":
                parts.append(f"population {row.population_actual:,} > "
                             f"{off['two_officer_population']:,} needs {need} officers, has "
                             f"{row.officers_actual}")
            elif rule == "officers_inverted":
                parts.append(f"floating {row.population_floating:,} > registered "
                             f"{row.population_registered:,} needs {need} officers, has "
                             f"{row.officers_actual}")
            elif rule == "officers_room_type":
                parts.append(f"type-{int(row.room_type)} room needs {need} officers, has "
                             f"{row.officers_actual}")
            elif rule == "officers_workload":
                parts.append(f"workload {row.workload_hours_week:.1f} h/week needs {need} "
                             f"officers, has {row.officers_actual}")
            elif rule == "auxiliaries_ratio":
                parts.append(f"needs {need} auxiliaries, has {row.auxiliaries_actual}")
            elif rule == "floating_managers_ratio":
                parts.append(f"{row.population_floating:,} floating residents need {need} "
                             f"managers, has {row.floating_managers_actual}")
            elif rule == "grid_workers_per_grid":
                est = " (estimated)" if row.grids_estimated else ""
                parts.append(f"{row.grids} grids{est} need {need} grid workers, has "
                             f"{row.grid_workers_actual}")
        texts.append("; ".join(parts))
    return texts


# --------------------------------------------------------------------------------------
# Roll-ups per responsibility area and station
# --------------------------------------------------------------------------------------

def rollup(gaps: pd.DataFrame, *, by: str = "station_id",
           stations: pd.DataFrame | None = None) -> pd.DataFrame:
    """Gaps summed per responsibility area or station.

    Parameters
    ----------
    gaps
        :func:`assess`.
    by
        ``"station_id"`` or ``"responsibility_area_id"``.
    stations
        The ``stations`` layer: adds ``officers_total`` and the community officers'
        share of the station's officers (Jiangbei: 26.8% of station officers).

    Returns
    -------
    DataFrame
        One row per group: ``beats``, ``understaffed_beats``, population and
        incident totals, ``<role>_required/actual/gap`` sums, ``worst_severity``,
        ``severity_score`` (mean over beats) and ``rules_failed`` (count of each
        failed rule, e.g. ``officers_population:3``).

    Examples
    --------
    >>> import pandas as pd
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
    g[by] = g[by].where(g[by].notna(), "(none)").astype(str)
    sums = ["households", "population_registered", "population_floating", "population_actual",
            "grids", "incidents", "incidents_preventable"]
    for role in ROLES:
        sums += [f"{role}_required", f"{role}_actual", f"{role}_gap"]
    grouped = g.groupby(by, sort=True)
    out = grouped[sums].sum()
    out.insert(0, "beats", grouped.size())
    out.insert(1, "understaffed_beats", grouped["severity"].agg(lambda s: int((s != "ok").sum())))
    rank = {lv: i for i, lv in enumerate(SEVERITY_LEVELS)}
    out["worst_severity"] = grouped["severity"].agg(lambda s: max(s, key=rank.__getitem__))
    out["severity_score"] = grouped["severity_score"].mean().round(4)
    out["rules_failed"] = grouped["failed_rules"].agg(_count_rules)
    out = out.reset_index()
    if by == "station_id" and stations is not None and len(stations) \
            and "officers_total" in stations.columns:
        tot = pd.Series(pd.to_numeric(stations["officers_total"], errors="coerce").to_numpy(),
                        index=stations["id"].astype(str))
        out["officers_total"] = out["station_id"].map(tot)
        out["community_officer_share"] = (out["officers_actual"] / out["officers_total"]) \
            .where(out["officers_total"] > 0).round(4)
    return out


def _count_rules(values: pd.Series) -> str:
    counts: dict[str, int] = {}
    for v in values:
        for rule in filter(None, str(v).split(";")):
            counts[rule] = counts.get(rule, 0) + 1
    return ";".join(f"{r}:{counts[r]}" for r in RULES if r in counts)


# --------------------------------------------------------------------------------------
# The whole assessment of a project
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StaffingResult:
    """Everything ``beatgrid staffing`` reports (``project.policing.assess()``).

    Attributes
    ----------
    gaps
        :func:`assess`, one row per beat.
    beats
        The beat polygons with the gap columns (a GeoDataFrame, for maps).
    workload
        :func:`beatgrid.gis.policing.workload.workload_requirement` by beat.
    areas, stations
        :func:`rollup` per responsibility area and per station.
    rooms
        :func:`beatgrid.gis.policing.rooms.room_review`.
    policy
        The policy used.
    notes
        What the assessment assumed (derived beats, estimated grids...).
    police_rooms
        The ``police_rooms`` layer assessed (points, for maps), when there is one.
    """

    gaps: pd.DataFrame
    beats: gpd.GeoDataFrame
    workload: pd.DataFrame
    areas: pd.DataFrame
    stations: pd.DataFrame
    rooms: pd.DataFrame
    policy: Mapping[str, Any]
    notes: tuple[str, ...] = ()
    police_rooms: pd.DataFrame | None = None

    @property
    def understaffed(self) -> pd.DataFrame:
        """Beats with a failed rule, worst first."""
        g = self.gaps[self.gaps["severity"] != "ok"]
        return g.sort_values("severity_rank")


def assess_project(layers: Mapping[str, pd.DataFrame], *,
                   policy: Mapping[str, Any] | None = None,
                   period_days: float | None = None) -> StaffingResult:
    """Assess every beat of a project (beats, summaries, workload, gaps, roll-ups, rooms).

    The computation behind ``project.policing.assess()``
    (:class:`beatgrid.gis.policing.workflow.Policing`), on layers in memory.

    Parameters
    ----------
    layers
        Project layers by name (``project.read(...)``); ``stations``, ``beats``,
        ``communities``, ``police_rooms``, ``buildings``, ``grids``, ``incidents`` and
        ``staff`` are used when present.
    policy
        The staffing policy (the ``policy`` section; default the shipped one).
    period_days
        Days the incidents cover (default ``workload.period_days`` / inferred).

    Returns
    -------
    StaffingResult

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd, shapely
    >>> comms = gpd.GeoDataFrame({"id": ["c1"], "kind": ["urban"], "station_id": ["s1"]},
    ...     geometry=[shapely.box(121.5, 29.8, 121.51, 29.81)], crs=4490)
    >>> bld = gpd.GeoDataFrame({"id": ["b1"], "households": [3600], "community_id": ["c1"],
    ...     "population_registered": [6000], "population_floating": [5000]},
    ...     geometry=[shapely.box(121.501, 29.801, 121.502, 29.802)], crs=4490)
    >>> res = assess_project({"communities": comms, "buildings": bld})
    >>> int(res.gaps.loc[0, "officers_required"]), res.gaps.loc[0, "severity"]
    (2, 'critical')
    """
    policy = section_or_default(policy, "policy")
    notes: list[str] = []
    beats, beat_of, source = resolve_beats(layers)
    if source == "derived":
        notes.append(f"no beats layer: {len(beats)} beats derived, one per community")
    elif source == "communities.beat_id":
        notes.append("no beats layer: beats dissolved from communities.beat_id")
    incidents = layers.get("incidents")
    inc_beat = incident_beats(incidents, beats) if incidents is not None \
        and len(incidents) else pd.Series(dtype=object)
    summary = beat_summary(layers, beats=beats, beat_of=beat_of, incident_beat=inc_beat)
    ids = summary["beat_id"].astype(str).tolist()
    if incidents is not None and len(incidents):
        workload = workload_requirement(incidents, inc_beat, policy=policy,
                                        period_days=period_days, beat_ids=ids)
        outside = int(inc_beat.isna().sum())
        if outside:
            notes.append(f"{outside} incident(s) lie outside every beat and were not counted")
    else:
        workload = workload_requirement(pd.DataFrame({"category": [], "occurred_at": []}),
                                        [], policy=policy, period_days=7, beat_ids=ids)
        notes.append("no incidents: the workload rule requires nothing")
    gaps = assess(summary, policy=policy, workload=workload)
    if (~summary["on_roster"]).any():
        n = int((~summary["on_roster"]).sum())
        notes.append(f"{n} beat(s) are not on the staff roster: their staff count as 0")
    if gaps["grids_estimated"].any():
        notes.append(f"{int(gaps['grids_estimated'].sum())} beat(s) have no planned grids: "
                     "grid counts estimated from households")
    gdf = gpd.GeoDataFrame(gaps.copy(), geometry=summary.geometry.to_numpy(), crs=summary.crs)
    police_rooms = layers.get("police_rooms")
    return StaffingResult(
        gaps=gaps, beats=gdf, workload=workload,
        areas=rollup(gaps, by="responsibility_area_id"),
        stations=rollup(gaps, by="station_id", stations=layers.get("stations")),
        rooms=room_review(gaps, rooms_in_beats(police_rooms, beats), policy=policy),
        policy=policy, notes=tuple(notes), police_rooms=police_rooms)


__all__ = ["ROLES", "RULES", "GAP_COLUMNS", "SEVERITY_LEVELS", "rule_requirements", "assess",
           "rollup", "StaffingResult", "assess_project",
           # re-exported from beatgrid.gis.policing.rooms, where they live
           "ROOM_COLUMNS", "room_review"]
