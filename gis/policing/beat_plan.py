"""Beats and responsibility areas planned for a project (``beatgrid beats``).

:func:`plan_beats` takes the project's beats (or derives them from the communities,
:func:`beatgrid.gis.policing.beats.derive_beats`, moving the police rooms and the
staff roster with their communities), then joins them into responsibility areas:
the loaded ones (each beat takes the area covering most of it), or *k* contiguous
areas balancing a load (:func:`beatgrid.gis.policing.areas.responsibility_areas`;
the load is ``responsibility_areas.balance_by``: workload hours, incidents,
households, population or beats). It returns a :class:`BeatPlan`: the layers to
write, and the figures ``beatgrid beats`` prints. Writing is the caller's
(``project.policing.beats(save=True)``).

Examples
--------
>>> from beatgrid.gis import Project
>>> layers = Project.open("sample-geodata/ningbo-jiangbei.gpkg").read(
...     ["beats", "communities", "responsibility_areas", "buildings", "incidents",
...      "police_rooms", "staff"])
>>> plan = plan_beats(layers, areas=3, balance_by="households")
>>> plan.derived, len(plan.beats), len(plan.areas), list(plan.writes)
(False, 12, 3, ['beats', 'responsibility_areas'])
>>> int(plan.area_members["beats"].sum())
12
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import pandas as pd

from beatgrid.gis.config import section_or_default
from beatgrid.gis.errors import InputError
from beatgrid.gis.policing.areas import (area_polygons, assign_loaded_areas, balance_weights,
                                         responsibility_areas, with_areas)
from beatgrid.gis.policing.beats import (beat_summary, derive_beats, follow_derived_beats,
                                         resolve_beats)
from beatgrid.gis.policing.location import incident_beats
from beatgrid.gis.policing.workload import workload_requirement


@dataclass(frozen=True)
class BeatPlan:
    """Beats with their responsibility areas, and the layers to write.

    Attributes
    ----------
    beats
        The beats (``beats`` layer) with ``responsibility_area_id``.
    areas
        The ``responsibility_areas`` layer (the loaded one with ``keep_areas``).
    writes
        The layers to write, in order: ``communities``, ``police_rooms``, ``staff``
        (when re-derived beats changed them), ``beats``, ``responsibility_areas``.
    derived
        Whether the beats were derived from the communities.
    communities
        Communities the beats were derived from (0 when not derived).
    updated
        Layers whose ``beat_id`` follows the derived beats (``police_rooms``, ``staff``).
    balance_by
        The load the derived areas balance (None when the loaded areas are kept).
    area_loads
        That load summed per area (None when the loaded areas are kept).
    saved
        Whether :attr:`writes` were written to the project.
    """

    beats: gpd.GeoDataFrame
    areas: gpd.GeoDataFrame
    writes: Mapping[str, pd.DataFrame]
    derived: bool
    communities: int
    updated: tuple[str, ...]
    balance_by: str | None
    area_loads: pd.Series | None
    saved: bool = False

    @property
    def area_members(self) -> pd.DataFrame:
        """One row per area: ``responsibility_area_id``, ``beats``, ``station_id``, ``members``.

        Examples
        --------
        >>> import geopandas as gpd, shapely
        >>> b = gpd.GeoDataFrame({"id": ["a", "b"], "station_id": "s",
        ...     "responsibility_area_id": ["R1", "R1"]},
        ...     geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)], crs=3857)
        >>> plan = BeatPlan(beats=b, areas=b.iloc[:0], writes={}, derived=False, communities=0,
        ...                 updated=(), balance_by=None, area_loads=None)
        >>> plan.area_members.values.tolist()
        [['R1', 2, 's', 'a,b']]
        """
        table = self.beats.drop(columns="geometry").copy()
        table["beats"] = 1
        return table.groupby("responsibility_area_id").agg(
            beats=("beats", "sum"), station_id=("station_id", "first"),
            members=("id", lambda s: ",".join(s))).reset_index()


def plan_beats(layers: Mapping[str, pd.DataFrame], *, policy: Mapping[str, Any] | None = None,
               settings: Mapping[str, Any] | None = None, areas: int | None = None,
               balance_by: str | None = None, rederive: bool = False,
               keep_areas: bool = False) -> BeatPlan:
    """Beats (taken or derived) joined into responsibility areas; nothing is written.

    Parameters
    ----------
    layers
        ``communities``, ``beats``, ``responsibility_areas``, ``buildings``,
        ``incidents``, ``police_rooms``, ``staff`` (those present are used).
    policy
        The staffing policy (the workload model weighs ``workload_hours``).
    settings
        The ``policing`` settings (``[beats]``, ``[responsibility_areas]``).
    areas
        Number of responsibility areas (default: beats / ``beats_per_area`` per station).
    balance_by
        What areas balance (default ``responsibility_areas.balance_by``).
    rederive
        Derive the beats from the communities even when a ``beats`` layer exists.
    keep_areas
        Keep the loaded responsibility areas (beats take the area covering them).

    Returns
    -------
    BeatPlan

    Raises
    ------
    InputError
        No communities to derive beats from; rooms or roster rows of split beats;
        ``keep_areas`` without loaded areas.

    Examples
    --------
    >>> from beatgrid.gis import Project
    >>> layers = Project.open("sample-geodata/ningbo-jiangbei.gpkg").read(
    ...     ["beats", "communities", "responsibility_areas", "police_rooms", "staff"])
    >>> plan = plan_beats(layers, rederive=True, keep_areas=True)
    >>> plan.derived, plan.communities, plan.balance_by, list(plan.writes)[:1]
    (True, 12, None, ['communities'])
    """
    policy = section_or_default(policy, "policy")
    settings = section_or_default(settings, "policing")
    comms = layers.get("communities")
    writes: dict[str, pd.DataFrame] = {}
    existing = layers.get("beats")
    derived = bool(rederive or existing is None or len(existing) == 0)
    if derived:
        if comms is None or len(comms) == 0:
            raise InputError("the project has no communities to derive beats from",
                             fix="import the communities layer first")
        hh = None
        bld = layers.get("buildings")
        if bld is not None and len(bld) and "community_id" in bld:
            hh = bld.groupby(bld["community_id"].astype(str))["households"].sum()
        beats, beat_of = derive_beats(comms, households=hh, settings=settings)
        writes.update(follow_derived_beats(layers, beats, beat_of))
    else:
        beats, beat_of, _ = resolve_beats(layers)
    updated = tuple(name for name in writes if name != "communities")
    beats = beats.reset_index(drop=True)
    balance: str | None = None
    loads: pd.Series | None = None
    if keep_areas:
        loaded = layers.get("responsibility_areas")
        if loaded is None or len(loaded) == 0:
            raise InputError("--keep-areas: the project has no responsibility areas",
                             fix="drop --keep-areas to derive them")
        area_of = assign_loaded_areas(beats, loaded)
        polygons = loaded
    else:
        balance = balance_by or settings["responsibility_areas"]["balance_by"]
        inc = layers.get("incidents")
        ib = incident_beats(inc, beats, snap_m=settings["beats"]["incident_snap_m"]) \
            if inc is not None and len(inc) else None
        summary = beat_summary(layers, beats=beats, beat_of=beat_of, incident_beat=ib)
        hours = None
        if balance == "workload_hours" and inc is not None and ib is not None:
            hours = workload_requirement(inc, ib, policy=policy,
                                         beat_ids=beats["id"].tolist())["committed_hours_week"]
        elif balance == "workload_hours":
            hours = pd.Series(0.0, index=beats["id"])
        weights = balance_weights(summary, balance_by=balance, workload_hours=hours)
        beats["responsibility_area_id"] = None
        area_of = responsibility_areas(beats, weights=weights, k=areas, settings=settings)
        polygons = area_polygons(beats, area_of)
        loads = pd.Series(weights, index=area_of.to_numpy()).groupby(level=0).sum()
    beats = with_areas(beats, area_of)
    writes.update({"beats": beats, "responsibility_areas": polygons})
    return BeatPlan(beats=beats, areas=polygons, writes=writes, derived=derived,
                    communities=len(comms) if derived and comms is not None else 0,
                    updated=updated, balance_by=balance, area_loads=loads)


__all__ = ["BeatPlan", "plan_beats"]
