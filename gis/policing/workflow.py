"""Placeholder: the policing orchestration (``Project.policing``) is being written."""

from __future__ import annotations

from beatgrid.gis.workspace import Workspace


class Policing:
    """``project.policing``: assess, align, hotspots, beats."""

    def __init__(self, project: Workspace) -> None:
        self.project = project
