"""Placeholder: the grid orchestration (``Project.grids``) is being written."""

from __future__ import annotations

from beatgrid.gis.workspace import Workspace


class GridPlanning:
    """``project.grids``: generate, check, metrics, editor, save."""

    def __init__(self, project: Workspace) -> None:
        self.project = project
