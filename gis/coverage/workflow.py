"""``project.coverage``: the camera coverage of a project, orchestrated once.

:class:`CoverageAnalysis` reads the project's layers, computes with the project's
coverage settings (``project.config.coverage``: the shipped ``coverage.toml`` with the
overrides the project was opened with, camera defaults included) and writes the
derived layers when asked. The command line (``beatgrid coverage``, ``beatgrid
cameras recommend``), the HTTP service (``/coverage/*``, ``/cameras/recommend``) and the
notebooks all call these methods:

* :meth:`CoverageAnalysis.analyse`: camera views, figures per zone, blind spots and the
  old-estate ranking (a :class:`~beatgrid.gis.coverage.analysis.CoverageResult`);
* :meth:`CoverageAnalysis.recommend`: new camera poses for the open space no camera
  sees, with the figures before and after (a
  :class:`~beatgrid.gis.coverage.placement.PlacementResult`);
* :meth:`CoverageAnalysis.views`: the visible area of a few cameras;
* :meth:`CoverageAnalysis.derived`: a derived layer written earlier.

Examples
--------
>>> from beatgrid.gis import Project
>>> project = Project.open("sample-geodata/ningbo-jiangbei.gpkg")
>>> res = project.coverage.analyse(levels=False)
>>> res.n_cameras, res.camera_status()
(300, {'ok': 299, 'blocked': 1})
>>> res.estate_risk["estate_id"].iloc[0]
'E40'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from beatgrid.gis.coverage.analysis import CoverageResult, analyse_coverage, check_estate
from beatgrid.gis.coverage.fov import camera_parameters
from beatgrid.gis.coverage.placement import PlacementResult, recommend_cameras
from beatgrid.gis.coverage.visibility import camera_views
from beatgrid.gis.crs import metric_crs
from beatgrid.gis.errors import InputError
from beatgrid.gis.io.store import Store, open_store
from beatgrid.gis.progress import Progress, report, steps
from beatgrid.gis.workspace import Workspace

__all__ = ["CoverageAnalysis", "CameraViews", "LAYERS"]

#: Layers the coverage analysis and the camera recommendation read.
LAYERS = ("cameras", "buildings", "estates", "incidents", "grids", "beats", "stations",
          "communities", "streets")
#: Buildings this far beyond a camera's range are left out of its view (metres).
VIEW_MARGIN_M = 50.0


@dataclass(frozen=True)
class CameraViews:
    """The visible area of some cameras per quality level (:meth:`CoverageAnalysis.views`).

    Attributes
    ----------
    views
        ``camera_id``, ``level``, ``px_per_m``, ``area_m2``, ``status`` and the polygon
        (the cameras' CRS).

    Examples
    --------
    >>> from beatgrid.gis import Project
    >>> v = Project.open("sample-geodata/ningbo-jiangbei.gpkg").coverage.views(["CAM003"])
    >>> v.levels[:3], v.at_level("observe")["level"].tolist()
    (('all', 'detect', 'observe'), ['observe'])
    """

    views: gpd.GeoDataFrame

    @property
    def levels(self) -> tuple[str, ...]:
        """The levels present, in order (``all`` first)."""
        return tuple(dict.fromkeys(self.views["level"].astype(str)))

    def at_level(self, level: str | None) -> gpd.GeoDataFrame:
        """The views of one level (all of them when None or empty)."""
        if not level:
            return self.views
        return self.views[self.views["level"] == level]


class CoverageAnalysis:
    """``project.coverage``: camera views, coverage, blind spots, risk, new cameras.

    Parameters
    ----------
    project
        The project (its store and configuration).

    Examples
    --------
    >>> from beatgrid.gis import Project
    >>> Project.open("sample-geodata/ningbo-jiangbei.gpkg").coverage.settings["cameras"]["range_m"]
    30.0
    """

    def __init__(self, project: Workspace) -> None:
        self.project = project

    @property
    def settings(self) -> Mapping[str, Any]:
        """The coverage section of the project's configuration."""
        return self.project.config.coverage

    def layers(self, *, progress: Progress | None = None,
               share: float = 0.15) -> dict[str, pd.DataFrame]:
        """The project layers the analysis reads (:data:`LAYERS`).

        ``progress`` is told of each layer read, up to ``share`` of the work.
        """
        return {name: self.project.layer(name)
                for name in steps(progress, LAYERS, end=share, message="reading {item}")}

    def _target(self, out: str | Path | Store | None) -> Store:
        if out is None:
            return self.project.store
        return out if isinstance(out, Store) else open_store(out)

    # -- analysis --------------------------------------------------------------------
    def analyse(self, *, profile: str | None = None, zones: str | None = None,
                levels: bool = True, save: bool = False,
                out: str | Path | Store | None = None,
                progress: Progress | None = None) -> CoverageResult:
        """Camera views, coverage figures per zone, blind spots and the old-estate ranking.

        Parameters
        ----------
        profile
            Quality profile (default ``[fov] profile``: ``iec62676_2014``).
        zones
            ``"nested"`` (each level: seen at this density or better) or ``"bands"``
            (default ``[visibility] zones``).
        levels
            False: only the whole visible area per camera (faster).
        save
            Write the derived layers ``camera_views``, ``blind_spots``,
            ``coverage_stats`` and ``estate_risk`` (into the project, or ``out``).
        out
            Another GeoPackage (or store) to write them into (implies ``save``).
        progress
            Told of each stage (layers read, views and figures, writing:
            :mod:`beatgrid.gis.progress`); raising
            :class:`~beatgrid.gis.progress.Cancelled` from it stops the run before
            anything is written.

        Returns
        -------
        CoverageResult

        Examples
        --------
        >>> from beatgrid.gis import Project
        >>> project = Project.sample()
        >>> res = project.coverage.analyse(levels=False, save=True)
        >>> sorted(project.store.list_derived())
        ['blind_spots', 'camera_views', 'coverage_stats', 'estate_risk']
        >>> len(res.blind_spots) > 0, res.stats_for("grid").notes
        (True, ('the project has no grids: no grid figures (plan the basic grids with `beatgrid grids`)',))
        """
        layers = self.layers(progress=progress)
        cameras = layers["cameras"]
        report(progress, 0.15, f"views of {len(cameras) if cameras is not None else 0:,} "
                               "cameras, coverage per zone, blind spots")
        result = analyse_coverage(layers, settings=self.settings, profile=profile,
                                  zones=zones, levels=levels)
        if save or out is not None:
            report(progress, 0.95, "writing camera_views, blind_spots, coverage_stats, "
                                   "estate_risk")
            self._target(out).write_derived(result.derived_layers())
        return result

    # -- new cameras -----------------------------------------------------------------
    def check_estate(self, estate: str) -> None:
        """Raise :class:`~beatgrid.gis.errors.InputError` when ``estate`` is not an estate
        of the project.

        Examples
        --------
        >>> from beatgrid.gis import Project
        >>> Project.open("sample-geodata/ningbo-jiangbei.gpkg").coverage.check_estate("E99")
        Traceback (most recent call last):
        ...
        beatgrid.gis.errors.InputError: estate 'E99' is not in the estates layer Fix: use an estate id such as E01, E02, E03, E04, E05
        """
        estates = self.project.layer("estates")
        ids = estates["id"].astype(str).tolist() if len(estates) else []
        check_estate(estate, ids)

    def recommend(self, *, budget: int, estate: str | None = None, method: str | None = None,
                  time_limit: float | None = None, save: bool = False,
                  out: str | Path | Store | None = None,
                  progress: Progress | None = None) -> PlacementResult:
        """New camera poses (position, direction) for the open space no camera sees.

        Parameters
        ----------
        budget
            New cameras to place (at most; fewer when nothing more can be seen).
        estate
            Place only within this estate (default: for all the district's estates).
        method
            ``"greedy"`` (lazy greedy, fast) or ``"ilp"`` (exact, HiGHS; default
            ``[placement] method``).
        time_limit
            ILP time limit in seconds (default ``[placement] ilp_time_limit_s``).
        save
            Write the derived layers ``camera_proposals`` and ``proposal_effects`` (into
            the project, or ``out``).
        out
            Another GeoPackage (or store) to write them into (implies ``save``).
        progress
            Told of each stage (layers read, placing, writing:
            :mod:`beatgrid.gis.progress`); raising
            :class:`~beatgrid.gis.progress.Cancelled` from it stops the run before
            anything is written.

        Returns
        -------
        PlacementResult

        Raises
        ------
        NotFoundError
            ``estate`` is not in the estates layer.

        Examples
        --------
        >>> from beatgrid.gis import Project
        >>> res = Project.open("sample-geodata/ningbo-jiangbei.gpkg").coverage.recommend(
        ...     budget=2, estate="E40")
        >>> res.proposals["estate_id"].tolist(), res.info["method"]
        (['E40', 'E40'], 'greedy')
        """
        layers = self.layers(progress=progress)
        where = f"estate {estate}" if estate else "the district's estates"
        report(progress, 0.15, f"placing up to {budget:,} cameras in {where}")
        result = recommend_cameras(layers, budget=budget, estate=estate, method=method,
                                   settings=self.settings, time_limit=time_limit)
        if save or out is not None:
            report(progress, 0.95, "writing camera_proposals, proposal_effects")
            self._target(out).write_derived({"camera_proposals": result.proposals,
                                             "proposal_effects": result.effects})
        return result

    # -- a few cameras ---------------------------------------------------------------
    def views(self, camera_ids: Sequence[str]) -> CameraViews:
        """The visible area of the cameras ``camera_ids`` per quality level.

        Only the buildings within reach of those cameras are read into the occlusion.

        Raises
        ------
        InputError
            An id that is not in the cameras layer.

        Examples
        --------
        >>> from beatgrid.gis import Project
        >>> v = Project.open("sample-geodata/ningbo-jiangbei.gpkg").coverage.views(["CAM001"])
        >>> v.levels
        ('all', 'detect', 'observe', 'recognise', 'identify')
        """
        cams = self.project.layer("cameras")
        have = pd.Series(cams["id"].astype(str).to_numpy() if "id" in cams.columns
                         else cams.index.astype(str))
        known = set(have)
        unknown = [i for i in camera_ids if i not in known]
        if unknown:
            raise InputError(f"camera(s) {', '.join(map(repr, unknown))} not in the cameras "
                             "layer", fix="use ids such as " + ", ".join(have.iloc[:5]))
        chosen = cams[have.isin(list(camera_ids)).to_numpy()]
        near = self._buildings_near(self.project.layer("buildings"), chosen)
        return CameraViews(camera_views(chosen, near, settings=self.settings))

    def _buildings_near(self, buildings: gpd.GeoDataFrame, cams: gpd.GeoDataFrame
                        ) -> gpd.GeoDataFrame:
        """The buildings within reach of ``cams`` (their range + :data:`VIEW_MARGIN_M`)."""
        if buildings is None or not len(buildings) or not len(cams):
            return buildings
        crs = metric_crs(cams, layer="cameras")
        cam_m = cams.to_crs(crs)
        reach = float(np.nanmax(camera_parameters(cam_m, settings=self.settings)[
            "range_m"].to_numpy())) + VIEW_MARGIN_M
        area = shapely.buffer(shapely.union_all(cam_m.geometry.values), reach)
        bm = buildings.to_crs(crs)
        return buildings[shapely.intersects(area, bm.geometry.values)]

    # -- stored results --------------------------------------------------------------
    def derived(self, name: str, *, out: str | Path | Store | None = None
                ) -> pd.DataFrame | None:
        """A derived layer written earlier (into the project, or ``out``); None when it is
        absent or empty.

        Examples
        --------
        >>> from beatgrid.gis import Project
        >>> Project.open("sample-geodata/ningbo-jiangbei.gpkg").coverage.derived("blind_spots") is None
        True
        """
        target = self._target(out)
        if name not in target.list_derived():
            return None
        frame = target.read_derived(name)
        return frame if len(frame) else None
