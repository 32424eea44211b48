"""What a planner sees of a plan at its head (:class:`PlanView`)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

__all__ = ["PlanView"]


@dataclass
class PlanView:
    """A plan as the planner sees it at its head.

    Attributes
    ----------
    id, community_id, name, owner, status, version, step
        The plan's record (``step``: the step it is at).
    totals
        Per grid: ``grid_id``, ``code``, ``households``, ``units``, ``locked``,
        ``in_band`` (households within the band).
    violations
        Broken rules of its grids, in words
        (:data:`~beatgrid.gis.grids.checks.VIOLATION_COLUMNS`).
    unassigned_units
        Units of the community in no grid.
    remapped
        The project's buildings changed since the plan's snapshot.
    last_step
        The newest step recorded (redo is possible up to it).
    """

    id: int
    community_id: str
    name: str
    owner: str
    status: str
    version: int
    step: int
    last_step: int
    totals: pd.DataFrame
    violations: pd.DataFrame
    unassigned_units: int
    remapped: bool

    @property
    def ok(self) -> bool:
        """No broken rule and every unit in a grid."""
        return bool(self.violations.empty and self.unassigned_units == 0)
