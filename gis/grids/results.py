"""What ``project.grids`` answers: small frozen results (frames, summary figures).

Returned by :class:`~beatgrid.gis.grids.workflow.GridPlanning`; the command line prints
them and the HTTP routes render them.

Examples
--------
>>> from beatgrid.gis import Project
>>> result = Project.open("sample-geodata/ningbo-jiangbei.gpkg").grids.check(
...     communities=["C05"])
>>> isinstance(result, PlanCheck), len(result.errors), len(result.warnings)
(True, 1, 0)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import pandas as pd

from beatgrid.gis.grids.apply import AppliedEdit, AppliedPlan
from beatgrid.gis.grids.band import Band
from beatgrid.gis.grids.checks import has_errors
from beatgrid.gis.grids.editing import EditResult
from beatgrid.gis.grids.metrics import plan_summary
from beatgrid.gis.grids.plan import REASONS, GridPlan


@dataclass(frozen=True)
class GeneratedPlan:
    """A generated plan of some communities, merged with the stored grids.

    Attributes
    ----------
    plan
        The plan (:class:`~beatgrid.gis.grids.plan.GridPlan`: units, issues...).
    band
        The household band planned for.
    grids
        The grids of the planned communities, as written (storage CRS).
    metrics
        :func:`~beatgrid.gis.grids.metrics.grid_metrics` of ``grids``.
    summary
        :func:`~beatgrid.gis.grids.metrics.plan_summary` of ``metrics`` (with
        ``households_moved`` when a plan was stored before).
    violations
        :func:`~beatgrid.gis.grids.checks.check_grids` of ``grids``.
    households_moved
        Households whose grid changed against the stored plan (None without one).
    layers
        The whole grids layer and the buildings after the plan.
    saved
        Whether they were written.
    seconds
        Time the generation took.
    """

    plan: GridPlan
    band: Band
    grids: gpd.GeoDataFrame
    metrics: pd.DataFrame
    summary: dict[str, Any]
    violations: pd.DataFrame
    households_moved: int | None
    layers: AppliedPlan
    saved: bool
    seconds: float

    @property
    def ok(self) -> bool:
        """No violation is an error."""
        return not has_errors(self.violations)

    def issues(self) -> list[dict[str, Any]]:
        """Communities without a fully valid plan: reason, detail, grids, meaning, fix.

        Examples
        --------
        >>> from beatgrid.gis import Project
        >>> Project.open("sample-geodata/ningbo-jiangbei.gpkg").grids.generate(
        ...     communities=["C05"], min_households=2500, max_households=3000).issues()[0]["reason"]
        'below_min'
        """
        out = []
        for r in self.plan.issues.to_dict("records"):
            meaning, fix = REASONS.get(r["reason"], ("", ""))
            out.append({"community_id": r["community_id"], "reason": r["reason"],
                        "households": r["households"], "detail": r["detail"],
                        "grid_ids": list(r.get("grid_ids") or []), "meaning": meaning,
                        "fix": fix})
        return out


@dataclass(frozen=True)
class PlanCheck:
    """The violations of a stored plan (and its summary).

    Attributes
    ----------
    band
        The household band checked against.
    grids
        The grids checked.
    communities
        Number of communities checked.
    violations
        :data:`~beatgrid.gis.grids.checks.VIOLATION_COLUMNS`, one row per violation.
    metrics, summary
        Metrics and summary of the grids (None when not measured or no grids).
    seconds
        Time the check took.
    """

    band: Band
    grids: gpd.GeoDataFrame
    communities: int
    violations: pd.DataFrame
    metrics: pd.DataFrame | None
    summary: dict[str, Any] | None
    seconds: float

    @property
    def ok(self) -> bool:
        """No violation is an error (warnings aside)."""
        return not has_errors(self.violations)

    @property
    def errors(self) -> pd.DataFrame:
        """The violations that are errors."""
        return self.violations[self.violations["severity"] == "error"]

    @property
    def warnings(self) -> pd.DataFrame:
        """The violations that are warnings."""
        return self.violations[self.violations["severity"] != "error"]


@dataclass(frozen=True)
class PlanMetrics:
    """Per-grid metrics and the plan summary of the stored grids.

    Attributes
    ----------
    band
        The household band measured against.
    grids
        The grids measured.
    metrics
        :data:`~beatgrid.gis.grids.metrics.METRIC_COLUMNS`, one row per grid.
    summary
        :func:`~beatgrid.gis.grids.metrics.plan_summary` of ``metrics``.
    """

    band: Band
    grids: gpd.GeoDataFrame
    metrics: pd.DataFrame
    summary: dict[str, Any]

    def by_community(self) -> list[dict[str, Any]]:
        """The summary of each community (``community_id`` first, without the band)."""
        per = []
        for cid, part in self.metrics.groupby("community_id", sort=True):
            s = plan_summary(part, band=self.band)
            s.pop("band", None)
            per.append({"community_id": cid, **s})
        return per


@dataclass(frozen=True)
class SavedEdit:
    """An editor's grids written into the project.

    Attributes
    ----------
    applied
        The layers written, the grids saved, removed and renamed, and the plan as
        written (:class:`~beatgrid.gis.grids.apply.AppliedEdit`).
    violations
        The full geometric check of the saved grids (None when not checked).
    """

    applied: AppliedEdit
    violations: pd.DataFrame | None

    @property
    def ok(self) -> bool:
        """No violation is an error."""
        return self.violations is None or not has_errors(self.violations)


@dataclass(frozen=True)
class Moved:
    """Buildings moved into a grid (and the result written, unless a dry run).

    Attributes
    ----------
    community_id, to_grid
        Where the buildings moved.
    edit
        Units and households moved, grids touched, their violations.
    saved
        The write (None for a dry run).
    """

    community_id: Any
    to_grid: Any
    edit: EditResult
    saved: SavedEdit | None

    @property
    def ok(self) -> bool:
        """The touched grids break no rule (errors)."""
        return not has_errors(self.edit.violations)
