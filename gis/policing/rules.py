"""The staffing rules, the roles they constrain, and what each needs to be judged.

A rule compares a requirement with the staff a beat has. Both sides come from the
project's layers, and a project may lack some of them: a beat is never ranked as
understaffed because data is missing. This module says which inputs a project lacks
(:func:`missing_inputs`), which rule each input feeds (:func:`rule_inputs`), and so
what can be judged per beat and rule (:func:`requirement_states`); the notes say it
in words (:func:`missing_notes`).

* ``staff``: the ``staff`` layer is empty (every rule, on the actual side); a beat
  absent from a roster that is not empty: that beat's staff;
* ``population``: no building has ``population_registered`` or
  ``population_floating`` above 0 (``officers_population``, ``officers_inverted``,
  ``floating_managers_ratio``);
* ``households``: no building has ``households`` above 0 (``grid_workers_per_grid`` of
  the beats without planned grids, whose grids are estimated from households);
* ``incidents``: the ``incidents`` layer is empty (``officers_workload``);
* ``police_rooms``: the ``police_rooms`` layer is empty (``officers_room_type``).

A requirement is *exact* when all its inputs are present, a *lower bound* when it
is computed from some of them (``auxiliaries_ratio`` multiplies the officers
required by the rules that can be computed), *unknown* otherwise. A rule **fails**
when the actual count is known and below a bound (a real shortfall), is **met**
when the requirement is exact and the actual count reaches it (or the requirement
is 0), and is **not judged** otherwise. A beat with a failed rule is ranked from
``low`` to ``critical``; without one, a beat with a rule not judged is
:data:`NOT_JUDGED`, never ``ok`` and never a shortfall.

Examples
--------
>>> from beatgrid.gis import Project
>>> missing_inputs(Project.open("sample-geodata/ningbo-jiangbei.gpkg").read())
()
>>> missing_inputs({"staff": None, "buildings": None})
('staff', 'population', 'households', 'incidents', 'police_rooms')
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import numpy as np
import pandas as pd

from beatgrid.gis.config import section_or_default

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
#: Severity levels of a judged beat, best to worst.
SEVERITY_LEVELS = ("ok", "low", "medium", "high", "critical")
#: Levels of a beat with a failed rule (an understaffed beat).
SHORTFALL_LEVELS = SEVERITY_LEVELS[1:]
#: Severity of a beat without a failed rule where some rule cannot be judged.
NOT_JUDGED = "not judged"
#: Every severity value, best to worst (for the worst of a roll-up).
SEVERITY_ORDER = ("ok", NOT_JUDGED, *SHORTFALL_LEVELS)
#: Inputs a project may lack, in report order.
INPUTS = ("staff", "population", "households", "incidents", "police_rooms")
#: What is missing, in words ("not judged (...)").
MISSING_WORDS = {"staff": "no staff roster", "population": "no population figures",
                 "households": "no households", "incidents": "no incidents",
                 "police_rooms": "no police rooms", "roster_row": "not on the staff roster"}


def _empty(frame: pd.DataFrame | None) -> bool:
    return frame is None or len(frame) == 0


def _positive(frame: pd.DataFrame | None, columns: tuple[str, ...]) -> bool:
    if _empty(frame):
        return False
    assert frame is not None
    return any(bool((pd.to_numeric(frame[c], errors="coerce").fillna(0) > 0).any())
               for c in columns if c in frame.columns)


def missing_inputs(layers: Mapping[str, pd.DataFrame | None]) -> tuple[str, ...]:
    """The inputs of :data:`INPUTS` a project lacks (see the module docstring).

    Parameters
    ----------
    layers
        Project layers by name (``staff``, ``buildings``, ``incidents``,
        ``police_rooms``); an absent layer is missing.

    Examples
    --------
    >>> import pandas as pd
    >>> bld = pd.DataFrame({"households": [120], "population_registered": [0]})
    >>> missing_inputs({"staff": pd.DataFrame({"beat_id": ["B1"]}), "buildings": bld,
    ...                 "incidents": pd.DataFrame({"id": [1]}), "police_rooms": None})
    ('population', 'police_rooms')
    """
    bld = layers.get("buildings")
    present = {
        "staff": not _empty(layers.get("staff")),
        "population": _positive(bld, ("population_registered", "population_floating")),
        "households": _positive(bld, ("households",)),
        "incidents": not _empty(layers.get("incidents")),
        "police_rooms": not _empty(layers.get("police_rooms")),
    }
    return tuple(name for name in INPUTS if not present[name])


def rule_inputs(policy: Mapping[str, Any] | None = None) -> dict[str, tuple[str, ...]]:
    """The inputs each rule's requirement is computed from, under ``policy``.

    A rule the policy switches off needs nothing (``officers_inverted`` when
    ``two_officer_if_floating_exceeds_registered`` is false, ``officers_workload``
    when the workload does not count in the requirement). ``auxiliaries_ratio``
    lists the inputs of the officer rules it multiplies (``basis`` required or max):
    without them its requirement is a lower bound. ``grid_workers_per_grid`` needs
    households only for beats without planned grids (:func:`requirement_states`).

    Examples
    --------
    >>> rule_inputs()["auxiliaries_ratio"]
    ('population', 'police_rooms', 'incidents')
    >>> from beatgrid.gis.policing.policy import load_policy
    >>> rule_inputs(load_policy({"auxiliaries": {"basis": "actual"}}))["auxiliaries_ratio"]
    ()
    """
    policy = section_or_default(policy, "policy")
    off, wl = policy["officers"], policy["workload"]
    binds = bool(wl.get("enabled", True)) and bool(wl["include_in_required"])
    out: dict[str, tuple[str, ...]] = {
        "officers_per_beat": (),
        "officers_population": ("population",),
        "officers_inverted": ("population",)
        if off["two_officer_if_floating_exceeds_registered"] else (),
        "officers_room_type": ("police_rooms",),
        "officers_workload": ("incidents",) if binds else (),
        "floating_managers_ratio": ("population",),
        "grid_workers_per_grid": ("households",)
        if policy["grid_workers"]["estimate_unplanned_grids"] else (),
    }
    officer_inputs = dict.fromkeys(i for r, role in RULES.items() if role == "officers"
                                   for i in out[r])
    out["auxiliaries_ratio"] = tuple(officer_inputs) \
        if policy["auxiliaries"]["basis"] in ("required", "max") else ()
    return {rule: out[rule] for rule in RULES}


def requirement_states(summary: pd.DataFrame, *, policy: Mapping[str, Any] | None = None,
                       missing: Collection[str] = ()) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per beat and rule: is the requirement exact, and is it at least a lower bound?

    Parameters
    ----------
    summary
        The beats (``grids``: planned grids per beat, 0 when absent).
    policy
        The staffing policy; default the shipped one.
    missing
        :func:`missing_inputs` of the project.

    Returns
    -------
    (exact, bound)
        Boolean frames (index of ``summary``, one column per rule of :data:`RULES`):
        ``bound`` where the computed requirement is exact or a lower bound,
        ``exact`` where it is exact.

    Examples
    --------
    >>> import pandas as pd
    >>> b = pd.DataFrame({"beat_id": ["x", "y"], "grids": [0, 4]})
    >>> exact, bound = requirement_states(b, missing=("households", "population"))
    >>> bound["grid_workers_per_grid"].tolist(), bool(bound["auxiliaries_ratio"].all())
    ([False, True], True)
    >>> bool(exact["auxiliaries_ratio"].any()), bool(bound["officers_population"].any())
    (False, False)
    """
    inputs = rule_inputs(policy)
    lacking = set(missing)
    n = len(summary)
    grids = pd.to_numeric(summary["grids"], errors="coerce").fillna(0).to_numpy() \
        if "grids" in summary.columns else np.zeros(n)
    exact = pd.DataFrame(index=summary.index)
    bound = pd.DataFrame(index=summary.index)
    for rule, needs in inputs.items():
        known = not (lacking & set(needs))
        col = np.full(n, known)
        if rule == "grid_workers_per_grid":
            col = col | (grids > 0)
        elif rule == "auxiliaries_ratio":
            # the officers required by the rules that can be computed: a lower bound
            bound[rule] = np.full(n, True)
            exact[rule] = col
            continue
        bound[rule] = col
        exact[rule] = col
    return exact[list(RULES)], bound[list(RULES)]


def missing_notes(missing: Collection[str], *, policy: Mapping[str, Any] | None = None,
                  unplanned: int = 0) -> list[str]:
    """One note per missing input: what cannot be judged without it, and the fix.

    Parameters
    ----------
    missing
        :func:`missing_inputs`.
    policy
        The staffing policy (which rules each input feeds).
    unplanned
        Beats without planned grids (whose grid workers need households).

    Examples
    --------
    >>> for note in missing_notes(("staff", "police_rooms")):
    ...     print(note)
    no staff roster (the staff layer is empty): actual staff and gaps are not judged, and no
    beat is ranked understaffed for it; import the staff layer (beatgrid import staff FILE)
    no police rooms in the project: officers_room_type is not judged and no room is reviewed;
    import the police_rooms layer
    """
    inputs = rule_inputs(policy)

    def fed(name: str) -> str:
        rules = [r for r, needs in inputs.items() if name in needs and r != "auxiliaries_ratio"]
        return ", ".join(rules)

    notes = []
    if "staff" in missing:
        notes.append("no staff roster (the staff layer is empty): actual staff and gaps are not "
                     "judged, and no beat is ranked understaffed for it; import the staff "
                     "layer (beatgrid import staff FILE)")
    if "population" in missing:
        notes.append("no population figures (buildings.population_registered and "
                     f"population_floating are empty or 0): {fed('population')} are not judged; "
                     "import buildings with their population")
    if "households" in missing and unplanned and inputs["grid_workers_per_grid"]:
        notes.append(f"no households in the buildings and {unplanned} beat(s) without planned "
                     "grids: grid_workers_per_grid is not judged there; plan grids (beatgrid "
                     "grids generate) or import buildings with their households")
    if "incidents" in missing:
        notes.append("no incidents: the workload rule (officers_workload) is not judged; "
                     "import the incidents layer" if inputs["officers_workload"]
                     else "no incidents: the workload rule requires nothing")
    if "police_rooms" in missing:
        notes.append("no police rooms in the project: officers_room_type is not judged and no "
                     "room is reviewed; import the police_rooms layer")
    return notes


def open_reasons(open_: np.ndarray[Any, Any], known: np.ndarray[Any, Any],
                 exact: np.ndarray[Any, Any], *, policy: Mapping[str, Any] | None = None,
                 missing: Collection[str] = ()) -> list[str]:
    """Per beat, the rules not judged in words, grouped by what is missing.

    A rule whose requirement cannot be computed is put down to the input it lacks;
    one whose requirement is known, to the staff (no roster, or not on it).

    Parameters
    ----------
    open_
        Boolean matrix, beats x :data:`RULES`: the rule is not judged.
    known
        Per beat: its staff is known (on the roster).
    exact
        Boolean matrix, beats x :data:`RULES`: the requirement is exact
        (:func:`requirement_states`).
    policy, missing
        The staffing policy and the project's :func:`missing_inputs`.

    Examples
    --------
    >>> import numpy as np
    >>> row = np.array([[r in ("officers_population", "floating_managers_ratio") for r in RULES]])
    >>> open_reasons(row, np.array([True]), ~row, missing=("population",))
    ['not judged (no population figures): officers_population, floating_managers_ratio']
    """
    inputs = rule_inputs(policy)
    names = list(RULES)
    staff_word = "staff" if "staff" in missing else "roster_row"
    texts = []
    for i, row in enumerate(open_):
        causes: dict[str, list[str]] = {}
        for j in np.flatnonzero(row):
            rule = names[j]
            lacking = [m for m in inputs[rule] if m in missing]
            cause = lacking[0] if lacking and not exact[i, j] else staff_word
            causes.setdefault(cause, []).append(rule)
        texts.append("; ".join(f"not judged ({MISSING_WORDS[c]}): {', '.join(r)}"
                               for c, r in causes.items()))
    return texts


def failure_reasons(out: pd.DataFrame, req: pd.DataFrame, matrix: np.ndarray[Any, Any],
                    lower: pd.DataFrame, *, policy: Mapping[str, Any] | None = None) -> list[str]:
    """Per beat, its failed rules in words (``""`` when none failed).

    Parameters
    ----------
    out
        The gaps of the beats (``officers_actual``, ``population_actual``...).
    req
        The requirement of each rule (``staffing.rule_requirements``).
    matrix
        Boolean matrix, beats x :data:`RULES`: the rule failed.
    lower
        Per beat and rule: the requirement is only a lower bound ("at least").
    policy
        The staffing policy; default the shipped one.

    Examples
    --------
    >>> from beatgrid.gis import Project
    >>> res = Project.open("sample-geodata/ningbo-jiangbei.gpkg").policing.assess()
    >>> res.gaps.set_index("beat_id").at["B02", "reasons"]
    '2,753 floating residents need 6 managers, has 4'
    """
    policy = section_or_default(policy, "policy")
    off = policy["officers"]
    texts = []
    names = list(RULES)
    needs = req[names].to_numpy()
    bounds = lower[names].to_numpy()
    for i, row in enumerate(out.itertuples(index=False)):
        parts = []
        if not matrix[i].any():
            texts.append("")
            continue
        for j, rule in enumerate(names):
            if not matrix[i, j]:
                continue
            need = int(needs[i, j])
            at_least = "at least " if bounds[i, j] else ""
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
                parts.append(f"needs {at_least}{need} auxiliaries, has {row.auxiliaries_actual}")
            elif rule == "floating_managers_ratio":
                parts.append(f"{row.population_floating:,} floating residents need {need} "
                             f"managers, has {row.floating_managers_actual}")
            elif rule == "grid_workers_per_grid":
                est = " (estimated)" if row.grids_estimated else ""
                parts.append(f"{row.grids} grids{est} need {need} grid workers, has "
                             f"{row.grid_workers_actual}")
        texts.append("; ".join(parts))
    return texts


__all__ = ["ROLES", "ROLE_ACTUAL", "RULES", "SEVERITY_LEVELS", "SHORTFALL_LEVELS", "NOT_JUDGED",
           "SEVERITY_ORDER", "INPUTS", "MISSING_WORDS", "missing_inputs", "rule_inputs",
           "requirement_states", "missing_notes", "open_reasons", "failure_reasons"]
