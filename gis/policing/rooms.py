"""Police rooms (警务室): the beat each serves, its type against staffing, its office flagged.

Part of the staffing assessment (:func:`beatgrid.gis.policing.staffing.assess_project`):

* :func:`rooms_in_beats` gives every room its beat (its ``beat_id``, else the beat
  holding it);
* :func:`room_review` checks each room's type against its beat's officers and flags
  the office conditions the policy lists (``[rooms]``, ``[officers]`` of the
  ``policy`` section).

Examples
--------
>>> from beatgrid.gis import Project
>>> project = Project.open("sample-geodata/ningbo-jiangbei.gpkg")
>>> rooms = rooms_in_beats(project.layer("police_rooms"), project.layer("beats"))
>>> bool(rooms["beat_id"].notna().all())
True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import pandas as pd

from beatgrid.gis.config import section_or_default
from beatgrid.gis.policing.location import clean_id, locate_points, natural_sort_key

#: Columns of :func:`room_review` (the ``beatgrid staffing --rooms-out`` CSV), in order.
ROOM_COLUMNS = ["room_id", "beat_id", "room_type", "setting", "office_condition",
                "officers_actual", "officers_required", "type_minimum", "flagged", "flags"]


def rooms_in_beats(rooms: pd.DataFrame | None, beats: gpd.GeoDataFrame) -> pd.DataFrame | None:
    """A copy of ``rooms`` whose ``beat_id`` is filled from their location where empty.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> beats = gpd.GeoDataFrame({"id": ["B1"]}, geometry=[shapely.box(0, 0, 10, 10)], crs=3857)
    >>> rooms = gpd.GeoDataFrame({"id": ["r1", "r2"], "beat_id": [None, "B9"]},
    ...     geometry=[shapely.Point(5, 5), shapely.Point(5, 5)], crs=3857)
    >>> rooms_in_beats(rooms, beats)["beat_id"].tolist()
    ['B1', 'B9']
    """
    if rooms is None or not len(rooms):
        return rooms
    out = rooms.copy()
    rb = out["beat_id"].map(clean_id) if "beat_id" in out.columns \
        else pd.Series(None, index=out.index, dtype=object)
    missing = rb.isna().to_numpy()
    if missing.any() and isinstance(out, gpd.GeoDataFrame):
        rb.loc[missing] = locate_points(out.geometry[missing], beats).to_numpy()
    out["beat_id"] = rb
    return out


def room_review(gaps: pd.DataFrame, rooms: pd.DataFrame | None, *,
                policy: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Police rooms: type against staffing, and office conditions flagged.

    Flags (``;``-joined in ``flags``):

    * ``type1_understaffed``: a type-1 room whose beat has fewer officers than
      ``officers.type1_room_min`` (type-2 likewise with ``type2_room_min``);
    * ``should_be_type1``: a type-2 room in a beat that requires at least
      ``officers.type1_room_min`` officers (population or inverted population);
    * the office condition when listed in ``rooms.flag_conditions``
      (``second_floor``, ``shared_with_community``, ``awaiting_rebuild``);
    * ``no_beat``: the room serves no known beat; and a row with ``room_id`` empty
      and flag ``no_room`` for each beat without a room.

    A project without any police room has nothing to review: the result is empty
    (the missing layer is not a missing room in every beat). A beat whose officers
    are not known (not on the staff roster) gives ``officers_actual`` empty and no
    ``type<N>_understaffed`` flag.

    Parameters
    ----------
    gaps
        :func:`beatgrid.gis.policing.staffing.assess` (``beat_id``,
        ``officers_actual``, ``officers_required``).
    rooms
        The ``police_rooms`` layer with ``beat_id`` (:func:`rooms_in_beats`).
    policy
        The staffing policy; default the shipped one.

    Returns
    -------
    DataFrame
        Columns :data:`ROOM_COLUMNS`: the rooms in the natural order of their ids
        (``PR2`` before ``PR10``), then the beats without a room.

    Examples
    --------
    >>> import pandas as pd
    >>> g = pd.DataFrame({"beat_id": ["b1", "b2"], "officers_actual": [1, 2],
    ...                   "officers_required": [2, 2]})
    >>> rooms = pd.DataFrame({"id": ["r1"], "beat_id": ["b1"], "room_type": [1],
    ...                       "office_condition": ["second_floor"]})
    >>> room_review(g, rooms)[["room_id", "beat_id", "flags"]].values.tolist()
    [['r1', 'b1', 'type1_understaffed;second_floor'], [None, 'b2', 'no_room']]
    """
    policy = section_or_default(policy, "policy")
    off = policy["officers"]
    flag_conditions = set(policy["rooms"]["flag_conditions"])
    by_beat = gaps.set_index(gaps["beat_id"].astype(str))
    rows: list[dict[str, Any]] = []
    served = set()
    if rooms is None or not len(rooms):
        return _frame(rows)
    for _, r in rooms.sort_values("id", key=natural_sort_key, kind="stable").iterrows():
        bid = clean_id(r.get("beat_id"))
        rtype = int(r.get("room_type", 2)) if pd.notna(r.get("room_type", 2)) else 2
        cond = r.get("office_condition", "independent") or "independent"
        flags = []
        actual = required = None
        minimum = off["type1_room_min"] if rtype == 1 else off["type2_room_min"]
        if bid is None or bid not in by_beat.index:
            flags.append("no_beat")
        else:
            served.add(bid)
            actual = _count(by_beat.at[bid, "officers_actual"])
            required = _count(by_beat.at[bid, "officers_required"])
            if actual is not None and actual < minimum:
                flags.append(f"type{rtype}_understaffed")
            if rtype == 2 and required is not None \
                    and required >= off["type1_room_min"] > off["type2_room_min"]:
                flags.append("should_be_type1")
        if cond in flag_conditions:
            flags.append(str(cond))
        rows.append({"room_id": str(r["id"]), "beat_id": bid, "room_type": rtype,
                     "setting": r.get("setting", None), "office_condition": cond,
                     "officers_actual": actual, "officers_required": required,
                     "type_minimum": minimum, "flagged": bool(flags),
                     "flags": ";".join(flags)})
    for bid in by_beat.index:
        if bid not in served:
            rows.append({"room_id": None, "beat_id": bid, "room_type": None, "setting": None,
                         "office_condition": None,
                         "officers_actual": _count(by_beat.at[bid, "officers_actual"]),
                         "officers_required": _count(by_beat.at[bid, "officers_required"]),
                         "type_minimum": None, "flagged": True, "flags": "no_room"})
    return _frame(rows)


def _count(value: Any) -> int | None:
    return None if pd.isna(value) else int(value)


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    out = pd.DataFrame(rows, columns=ROOM_COLUMNS).astype(
        {"room_id": object, "beat_id": object, "office_condition": object, "setting": object})
    for col in ("room_id", "beat_id", "office_condition", "setting"):
        out[col] = out[col].where(out[col].notna(), None)
    return out


__all__ = ["ROOM_COLUMNS", "rooms_in_beats", "room_review"]
