"""``project.policing``: the one orchestration of beats, staffing, alignment and hotspots.

:class:`Policing` is built on a :class:`~beatgrid.gis.workspace.Workspace` (a
:class:`~beatgrid.gis.project.Project` gives it as ``project.policing``). Each
method reads the layers it needs from the project, takes its settings from the
project's configuration (the ``policy`` section: the staffing rules; the
``policing`` section: the methods) and returns a frozen result that the command
line prints, the service renders and a notebook explores:

- :meth:`~Policing.assess`: staffing gaps per beat, rolled up per responsibility area
  and station, and the police rooms reviewed (:class:`StaffingResult`);
- :meth:`~Policing.align`: governance grids against beats, 多格合一
  (:class:`AlignmentResult`);
- :meth:`~Policing.hotspots`: kernel density, Getis-Ord Gi*, change per beat
  (:class:`HotspotResult`);
- :meth:`~Policing.beats`: beats and responsibility areas, written with ``save=True``
  (:class:`BeatPlan`).

A city's policy is given once, when the project is opened:
``Project.open(path, policy="city.toml")`` (a file of staffing rules), or
``Project.open(path, **policy_sections("city.toml"))`` for a policy file that also
holds method tables (``[beats]``, ``[alignment]``...;
:func:`beatgrid.gis.policing.policy.policy_sections` routes them).
``assess(policy=...)`` compares another policy on the same project.

Examples
--------
>>> from beatgrid.gis import Project
>>> project = Project.open("sample-geodata/ningbo-jiangbei.gpkg")
>>> staffing = project.policing.assess()
>>> len(staffing.gaps), sorted(staffing.stations["station_id"])
(12, ['S01', 'S02'])
>>> shanghai = project.policing.assess(policy={"officers": {"two_officer_population": 10**9}})
>>> bool(shanghai.gaps["officers_required"].sum() <= staffing.gaps["officers_required"].sum())
True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from beatgrid.gis.config import Config
from beatgrid.gis.policing.alignment import AlignmentResult, align_project
from beatgrid.gis.policing.beat_plan import BeatPlan, plan_beats
from beatgrid.gis.policing.hotspots import HotspotResult, hotspots_project
from beatgrid.gis.policing.policy import policy_sections
from beatgrid.gis.policing.staffing import StaffingResult, assess_project
from beatgrid.gis.progress import Progress, report, steps
from beatgrid.gis.workspace import Workspace

#: Layers :meth:`Policing.assess` and :meth:`Policing.beats` read (the others are never loaded).
STAFFING_LAYERS = ("stations", "responsibility_areas", "beats", "communities", "police_rooms",
                   "buildings", "grids", "incidents", "staff")
#: Layers :meth:`Policing.align` reads.
ALIGNMENT_LAYERS = ("beats", "communities", "buildings", "grids", "governance_grids")
#: Layers :meth:`Policing.hotspots` reads.
HOTSPOT_LAYERS = ("beats", "communities", "grids", "incidents")


class Policing:
    """``project.policing``: assess, align, hotspots, beats.

    Parameters
    ----------
    project
        The project's layers and configuration (a ``Workspace``; usually the
        :class:`~beatgrid.gis.project.Project` itself).

    Examples
    --------
    >>> from beatgrid.gis import Project
    >>> Project.open("sample-geodata/ningbo-jiangbei.gpkg").policing
    Policing('sample-geodata/ningbo-jiangbei.gpkg')
    """

    def __init__(self, project: Workspace) -> None:
        self.project = project

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.project.location!r})"

    def assess(self, *, policy: str | Path | Mapping[str, Any] | None = None,
               period_days: float | None = None, snap_m: float | None = None,
               progress: Progress | None = None) -> StaffingResult:
        """Staffing gaps per beat (required against actual, failed rules, severity).

        Rolled up per responsibility area and station; police rooms reviewed. See
        :func:`beatgrid.gis.policing.staffing.assess_project`.

        Parameters
        ----------
        policy
            A city policy (TOML path or mapping shaped like ``staffing.toml``)
            overriding the project's for this assessment; its method tables are
            routed by :func:`~beatgrid.gis.policing.policy.policy_sections`.
        period_days
            Days the incidents cover (default ``workload.period_days``, else inferred).
        snap_m
            Incidents outside every beat but within this many metres of one count in
            the nearest (default ``beats.incident_snap_m``).
        progress
            Told of each stage (the policy checked, each layer read, the assessment:
            :mod:`beatgrid.gis.progress`); raising
            :class:`~beatgrid.gis.progress.Cancelled` from it stops the run.

        Returns
        -------
        StaffingResult

        Raises
        ------
        PolicyError
            An invalid ``policy`` (the message names the key and the value).

        Examples
        --------
        >>> from beatgrid.gis import Project
        >>> res = Project.open("sample-geodata/ningbo-jiangbei.gpkg").policing.assess()
        >>> list(res.understaffed["severity_rank"]) == sorted(res.understaffed["severity_rank"])
        True
        >>> res.notes[-1]
        '12 beat(s) have no planned grids: grid counts estimated from households'
        """
        config = self._config(policy)
        layers = {name: self.project.layer(name) for name in steps(
            progress, STAFFING_LAYERS, end=0.3, message="reading {item}")}
        report(progress, 0.3, "assessing staffing per beat")
        return assess_project(layers, policy=config.policy, settings=config.policing,
                              period_days=period_days, snap_m=snap_m)

    def align(self, *, min_share: float | None = None) -> AlignmentResult:
        """Governance grids against beats: per grid, per beat, suggested reassignment.

        See :func:`beatgrid.gis.policing.alignment.align_project`.

        Parameters
        ----------
        min_share
            Aligned when at least this share lies in the main beat (default
            ``alignment.min_share``).

        Returns
        -------
        AlignmentResult

        Examples
        --------
        >>> from beatgrid.gis import Project
        >>> res = Project.open("sample-geodata/ningbo-jiangbei.gpkg").policing.align(min_share=0.5)
        >>> res.min_share, len(res.grids), len(res.beat_polygons)
        (0.5, 60, 12)
        """
        layers = self.project.read(list(ALIGNMENT_LAYERS))
        return align_project(layers, settings=self.project.config.policing, min_share=min_share)

    def hotspots(self, *, zones: str = "auto", permutations: int | None = None,
                 preventable_only: bool = False, period_days: int | None = None,
                 compare: str | None = None, snap_m: float | None = None) -> HotspotResult:
        """Kernel density, Getis-Ord Gi* on grids or beats, change per beat.

        See :func:`beatgrid.gis.policing.hotspots.hotspots_project`.

        Parameters
        ----------
        zones
            ``"grids"``, ``"beats"`` or ``"auto"`` (grids when at least 3 are planned).
        permutations
            Gi* permutations (default ``hotspots.permutations``; 0: analytical p-values).
        preventable_only
            Preventable cases only.
        period_days, compare
            Days per compared period and ``"previous"`` or ``"year"`` (default
            ``hotspots.period_days`` and ``hotspots.compare``).
        snap_m
            Incidents outside every beat (grid) but within this many metres of one
            count in the nearest (default ``beats.incident_snap_m``); the result counts
            them and those left outside.

        Returns
        -------
        HotspotResult

        Examples
        --------
        >>> from beatgrid.gis import Project
        >>> res = Project.open("sample-geodata/ningbo-jiangbei.gpkg").policing.hotspots(
        ...     zones="beats", permutations=0)
        >>> res.zone_kind, len(res.zones), res.permutations
        ('beats', 12, 0)
        """
        layers = self.project.read(list(HOTSPOT_LAYERS))
        return hotspots_project(layers, zones=zones, settings=self.project.config.policing,
                                permutations=permutations, preventable_only=preventable_only,
                                period_days=period_days, compare=compare, snap_m=snap_m)

    def beats(self, *, areas: int | None = None, balance_by: str | None = None,
              rederive: bool = False, keep_areas: bool = False, save: bool = False) -> BeatPlan:
        """Beats and responsibility areas; written to the project with ``save``.

        See :func:`beatgrid.gis.policing.beat_plan.plan_beats`.

        Parameters
        ----------
        areas
            Number of responsibility areas (default: beats / ``beats_per_area`` per
            station).
        balance_by
            What areas balance: ``workload_hours``, ``incidents``, ``households``,
            ``population_actual`` or ``beats`` (default
            ``responsibility_areas.balance_by``).
        rederive
            Derive the beats from the communities even when a ``beats`` layer exists.
        keep_areas
            Keep the loaded responsibility areas (beats take the area covering them).
        save
            Write :attr:`BeatPlan.writes <beatgrid.gis.policing.beat_plan.BeatPlan.writes>`
            in one transaction.

        Returns
        -------
        BeatPlan

        Examples
        --------
        >>> from beatgrid.gis import Project
        >>> project = Project.sample()
        >>> plan = project.policing.beats(areas=4, balance_by="households", save=True)
        >>> plan.saved, sorted(project.layer("responsibility_areas")["id"]) == sorted(plan.areas["id"])
        (True, True)
        """
        layers = self.project.read(list(STAFFING_LAYERS))
        plan = plan_beats(layers, policy=self.project.config.policy,
                          settings=self.project.config.policing, areas=areas,
                          balance_by=balance_by, rederive=rederive, keep_areas=keep_areas)
        if not save:
            return plan
        self.project.write(plan.writes)
        return dataclasses.replace(plan, saved=True)

    def _config(self, policy: str | Path | Mapping[str, Any] | None) -> Config:
        """The project's configuration, with a policy's tables routed to their sections."""
        if policy is None:
            return self.project.config
        return self.project.config.replace(**policy_sections(policy))


__all__ = ["Policing", "StaffingResult", "AlignmentResult", "HotspotResult", "BeatPlan",
           "STAFFING_LAYERS", "ALIGNMENT_LAYERS", "HOTSPOT_LAYERS"]
