"""Placeholder: the coverage orchestration (``Project.coverage``) is being written."""

from __future__ import annotations

from beatgrid.gis.workspace import Workspace


class CoverageAnalysis:
    """``project.coverage``: analyse, recommend."""

    def __init__(self, project: Workspace) -> None:
        self.project = project
