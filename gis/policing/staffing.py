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

**Missing data is never a shortfall** (:mod:`beatgrid.gis.policing.rules`): without a
staff roster (or for a beat absent from it) the actual counts and gaps are empty,
not 0; without population figures, households, incidents or police rooms the rules
computed from them are not judged. A beat with no failed rule but a rule not judged
is ``not judged`` (ranked after the judged beats), and the notes name what is missing.

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

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from beatgrid.gis.config import section_or_default
from beatgrid.gis.errors import InputError
from beatgrid.gis.policing.beats import beat_summary, resolve_beats
from beatgrid.gis.policing.location import natural_key, place_incidents
from beatgrid.gis.policing.policy import round_count
from beatgrid.gis.policing.rollups import rollup
from beatgrid.gis.policing.rooms import ROOM_COLUMNS, room_review, rooms_in_beats
from beatgrid.gis.policing.rules import (NOT_JUDGED, ROLE_ACTUAL, ROLES, RULES, SEVERITY_LEVELS,
                                         SHORTFALL_LEVELS, failure_reasons, missing_inputs,
                                         missing_notes, open_reasons, requirement_states)
from beatgrid.gis.policing.workload import workload_requirement

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
           workload: pd.DataFrame | pd.Series | None = None,
           missing: Collection[str] = ()) -> pd.DataFrame:
    """Staffing gaps of every beat: required versus actual per role, failed rules, severity.

    Parameters
    ----------
    summary
        :func:`beatgrid.gis.policing.beats.beat_summary` (or any frame with ``beat_id`` and
        the columns :func:`rule_requirements` reads). A beat whose ``on_roster`` is
        False has no known staff.
    policy
        Staffing policy; default the shipped one.
    workload
        :func:`beatgrid.gis.policing.workload.workload_requirement` by beat id (optional).
    missing
        Inputs the project lacks (:func:`beatgrid.gis.policing.rules.missing_inputs`):
        the rules computed from them are not judged.

    Returns
    -------
    DataFrame
        Columns :data:`GAP_COLUMNS` (absent summary columns are filled), one row per
        beat in the order of ``summary``. ``failed_rules`` joins rule names with
        ``;`` (empty when none failed); ``reasons`` says it in words, then what is
        not judged and why. ``<role>_actual`` and ``<role>_gap`` are empty (NA) for a
        beat without known staff, ``<role>_required`` when no rule of the role can
        be computed, ``households`` and the population columns when the project has
        none; ``severity`` is ``not judged`` for a beat without a failed rule but with
        a rule not judged.

    Examples
    --------
    >>> import pandas as pd
    >>> b = pd.DataFrame({"beat_id": ["b"], "population_registered": [800],
    ...     "population_floating": [1001], "community_officers": [2], "auxiliaries": [3],
    ...     "floating_managers": [2], "grid_workers": [0], "households": [600]})
    >>> r = assess(b).iloc[0]
    >>> int(r.floating_managers_required), int(r.grid_workers_required), r.failed_rules
    (3, 2, 'floating_managers_ratio;grid_workers_per_grid')

    Without a staff roster nothing is a shortfall:

    >>> r = assess(b.assign(on_roster=False), missing=("staff",)).iloc[0]
    >>> r.severity, int(r.officers_required), r.officers_actual is pd.NA, r.failed_rules
    ('not judged', 2, True, '')
    """
    policy = section_or_default(policy, "policy")
    if "beat_id" not in summary.columns:
        raise InputError("the beat table has no 'beat_id' column",
                         fix="pass beatgrid.gis.policing.beats.beat_summary(...)")
    s = summary.reset_index(drop=True)
    req = rule_requirements(s, policy=policy, workload=workload)
    exact, bound = requirement_states(s, policy=policy, missing=missing)
    known = _staff_known(s, missing)
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
    population = out["population_actual"].to_numpy(dtype=np.int64)
    # figures the project does not have are empty, not 0
    unknown = (["households"] if "households" in missing else []) \
        + (["population_registered", "population_floating", "population_actual"]
           if "population" in missing else [])
    for col in unknown:
        out[col] = pd.array([pd.NA] * len(out), dtype="Int64")
    out["grids"] = req["grids_counted"]
    out["grids_estimated"] = req["grids_estimated"]
    out["workload_hours_week"] = req["workload_hours_week"]
    out["officers_workload"] = req["workload_officers"]
    failed = {rule: np.zeros(len(s), dtype=bool) for rule in RULES}
    unjudged = {rule: np.zeros(len(s), dtype=bool) for rule in RULES}
    score = np.zeros(len(s))
    for role in ROLES:
        rules = [r for r, ro in RULES.items() if ro == role]
        required = req[rules].where(bound[rules]).max(axis=1)
        actual = np.trunc(_col(s, ROLE_ACTUAL[role])).where(known)    # whole staff
        gap = (required - actual).clip(lower=0)
        out[f"{role}_required"] = _counts(required)
        out[f"{role}_actual"] = _counts(actual)
        out[f"{role}_gap"] = _counts(gap)
        for rule in rules:
            fail = known & bound[rule] & (actual < req[rule])
            met = exact[rule] & ((req[rule] <= 0) | (known & (actual >= req[rule])))
            failed[rule] = fail.to_numpy()
            unjudged[rule] = (~fail & ~met).to_numpy()
        weight = policy["severity"][f"{role}_weight"]
        score += weight * np.where(required > 0, (gap / required.where(required > 0, 1))
                                   .fillna(0.0), 0.0)
    names = np.array(list(RULES))
    matrix = np.column_stack([failed[r] for r in RULES])
    open_ = np.column_stack([unjudged[r] for r in RULES])
    out["failed_rules"] = [";".join(names[row]) for row in matrix]
    out["rules_failed"] = matrix.sum(axis=1)
    out["severity_score"] = np.round(score, 6)
    any_failed = np.asarray(matrix.any(axis=1))
    any_open = np.asarray(open_.any(axis=1))
    out["severity"] = _severity_levels(score, any_failed, any_open, policy["severity"])
    # shortfalls first (worst score, most rules, largest population), then the beats
    # judged ok, then those not judged
    judged_class = np.where(any_failed, 0, np.where(any_open, 2, 1))
    order = np.lexsort((-population, -out["rules_failed"].to_numpy(), -score, judged_class))
    rank = np.empty(len(s), dtype=np.int64)
    rank[order] = np.arange(1, len(s) + 1)
    out["severity_rank"] = rank
    unsure = open_reasons(open_, known.to_numpy(), exact[list(RULES)].to_numpy(),
                          policy=policy, missing=missing)
    out["reasons"] = [
        "; ".join(filter(None, (text, extra)))
        for text, extra in zip(failure_reasons(out, req, matrix, ~exact, policy=policy),
                               unsure)]
    return out[GAP_COLUMNS]


def _staff_known(s: pd.DataFrame, missing: Collection[str]) -> pd.Series:
    """Whether the staff of each beat is known (a roster, and the beat on it)."""
    if "staff" in missing:
        return pd.Series(False, index=s.index)
    if "on_roster" in s.columns:
        return s["on_roster"].astype(object).where(s["on_roster"].notna(), True).astype(bool)
    return pd.Series(True, index=s.index)


def _counts(values: pd.Series) -> pd.Series:
    """Whole counts: int64, or nullable Int64 when some are unknown (NA, never a guess)."""
    if values.isna().any():
        return values.round().astype("Int64")
    return values.astype(np.int64)


def _severity_levels(score: np.ndarray[Any, Any], any_failed: np.ndarray[Any, Any],
                     any_open: np.ndarray[Any, Any],
                     sev: Mapping[str, Any]) -> np.ndarray[Any, Any]:
    level = np.where(score >= sev["critical"], "critical",
                     np.where(score >= sev["high"], "high",
                              np.where(score >= sev["medium"], "medium", "low")))
    return np.where(any_failed, level, np.where(any_open, NOT_JUDGED, "ok")).astype(object)


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
        :func:`~beatgrid.gis.policing.rollups.rollup` per responsibility area and per
        station.
    rooms
        :func:`beatgrid.gis.policing.rooms.room_review` (empty without police rooms).
    policy
        The policy used.
    notes
        What the assessment assumed (derived beats, estimated grids...) and what it
        could not judge for missing data.
    police_rooms
        The ``police_rooms`` layer assessed (points, for maps), when there is one.
    missing
        The inputs the project lacks
        (:func:`beatgrid.gis.policing.rules.missing_inputs`).
    incidents_snapped, incidents_outside
        Incidents counted in the nearest beat although just outside every beat
        (within ``beats.incident_snap_m``), and incidents left outside (not counted).
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
    missing: tuple[str, ...] = ()
    incidents_snapped: int = 0
    incidents_outside: int = 0

    @property
    def understaffed(self) -> pd.DataFrame:
        """Beats with a failed rule, worst first."""
        g = self.gaps[self.gaps["severity"].isin(SHORTFALL_LEVELS)]
        return g.sort_values("severity_rank")

    @property
    def not_judged(self) -> pd.DataFrame:
        """Beats without a failed rule where some rule cannot be judged (missing data)."""
        g = self.gaps[self.gaps["severity"] == NOT_JUDGED]
        return g.sort_values("severity_rank")


def assess_project(layers: Mapping[str, pd.DataFrame], *,
                   policy: Mapping[str, Any] | None = None,
                   settings: Mapping[str, Any] | None = None,
                   period_days: float | None = None,
                   snap_m: float | None = None) -> StaffingResult:
    """Assess every beat of a project (beats, summaries, workload, gaps, roll-ups, rooms).

    The computation behind ``project.policing.assess()``
    (:class:`beatgrid.gis.policing.workflow.Policing`), on layers in memory.

    Parameters
    ----------
    layers
        Project layers by name (``project.read(...)``); ``stations``, ``beats``,
        ``communities``, ``police_rooms``, ``buildings``, ``grids``, ``incidents`` and
        ``staff`` are used when present. What is missing is not judged (notes).
    policy
        The staffing policy (the ``policy`` section; default the shipped one).
    settings
        The ``policing`` settings (``beats.incident_snap_m``); default the shipped ones.
    period_days
        Days the incidents cover (default ``workload.period_days`` / inferred).
    snap_m
        Override ``beats.incident_snap_m``: incidents outside every beat but within
        this many metres of one are counted in the nearest.

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
    >>> staff = pd.DataFrame({"beat_id": ["c1"], "community_officers": [0]})
    >>> res = assess_project({"communities": comms, "buildings": bld, "staff": staff})
    >>> int(res.gaps.loc[0, "officers_required"]), res.gaps.loc[0, "severity"]
    (2, 'critical')

    Without the roster the requirement is computed but nothing is ranked:

    >>> res = assess_project({"communities": comms, "buildings": bld})
    >>> int(res.gaps.loc[0, "officers_required"]), res.gaps.loc[0, "severity"], res.missing
    (2, 'not judged', ('staff', 'incidents', 'police_rooms'))
    """
    policy = section_or_default(policy, "policy")
    snap = float(section_or_default(settings, "policing")["beats"]["incident_snap_m"]
                 if snap_m is None else snap_m)
    if snap < 0 or not np.isfinite(snap):
        raise InputError(f"snap_m {snap!r} must be a distance >= 0 in metres",
                         fix="give e.g. 5 (metres), or 0 not to snap")
    missing = missing_inputs(layers)
    notes: list[str] = []
    beats, beat_of, source = resolve_beats(layers)
    if source == "derived":
        notes.append(f"no beats layer: {len(beats)} beats derived, one per community")
    elif source == "communities.beat_id":
        notes.append("no beats layer: beats dissolved from communities.beat_id")
    incidents = layers.get("incidents")
    placement = place_incidents(incidents, beats, snap_m=snap)
    inc_beat = placement.ids
    summary = beat_summary(layers, beats=beats, beat_of=beat_of, incident_beat=inc_beat)
    ids = summary["beat_id"].astype(str).tolist()
    if incidents is not None and len(incidents):
        workload = workload_requirement(incidents, inc_beat, policy=policy,
                                        period_days=period_days, beat_ids=ids)
        notes += placement.notes()
    else:
        workload = workload_requirement(pd.DataFrame({"category": [], "occurred_at": []}),
                                        [], policy=policy, period_days=7, beat_ids=ids)
    gaps = assess(summary, policy=policy, workload=workload, missing=missing)
    notes += missing_notes(missing, policy=policy, unplanned=int((summary["grids"] <= 0).sum()))
    off_roster = ~summary["on_roster"].astype(bool)
    if "staff" not in missing and off_roster.any():
        absent = sorted(summary.loc[off_roster, "beat_id"].astype(str), key=natural_key)
        notes.append(f"{len(absent)} beat(s) are not on the staff roster (e.g. "
                     f"{', '.join(absent[:3])}): their staff are not judged; add them to the "
                     "staff layer (0 for a role a beat really lacks)")
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
        policy=policy, notes=tuple(notes), police_rooms=police_rooms, missing=missing,
        incidents_snapped=placement.snapped, incidents_outside=placement.outside)


__all__ = ["ROLES", "RULES", "GAP_COLUMNS", "SEVERITY_LEVELS", "SHORTFALL_LEVELS", "NOT_JUDGED",
           "rule_requirements", "assess", "rollup", "StaffingResult", "assess_project",
           # re-exported from beatgrid.gis.policing.rooms, rollups and rules, where they live
           "ROOM_COLUMNS", "room_review", "ROLE_ACTUAL"]
