"""The coverage analysis of a set of layers: views, figures per zone, blind spots, ranking.

:func:`analyse_coverage` chains the steps on project layers (frames, any CRS) and
returns a :class:`CoverageResult`:

1. the camera views (:func:`beatgrid.gis.coverage.visibility.camera_views`), computed in
   the metric CRS;
2. what is seen, as an index (:class:`beatgrid.gis.coverage.seen.SeenIndex`);
3. the figures per zone of every zone layer (:mod:`beatgrid.gis.coverage.stats`);
4. the blind spots of the estates (:mod:`beatgrid.gis.coverage.blind_spots`);
5. the old-estate risk ranking (:mod:`beatgrid.gis.coverage.risk`).

Every layer is converted to the metric CRS once and shared by the steps
(:class:`beatgrid.gis.coverage.inputs.MetricLayers`). On a project, call
``project.coverage.analyse()`` (:mod:`beatgrid.gis.coverage.workflow`), which reads
the layers, passes the project's settings and can save the results.

Examples
--------
>>> from beatgrid.gis import Project
>>> from beatgrid.gis.coverage.analysis import analyse_coverage
>>> layers = Project.open("sample-geodata/ningbo-jiangbei.gpkg").read(
...     ["cameras", "buildings", "estates"])
>>> res = analyse_coverage(layers, levels=False)
>>> res.camera_status()
{'ok': 299, 'blocked': 1}
>>> res.stats["zone_type"].unique().tolist(), res.estate_risk["estate_id"].iloc[0]
(['estate'], 'E23')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from beatgrid.gis.coverage.blind_spots import blind_spots, empty_blind_spots
from beatgrid.gis.coverage.fov import coverage_settings
from beatgrid.gis.coverage.inputs import MetricLayers
from beatgrid.gis.coverage.risk import estate_risk
from beatgrid.gis.coverage.seen import SeenIndex
from beatgrid.gis.coverage.stats import coverage_stats
from beatgrid.gis.coverage.visibility import camera_views
from beatgrid.gis.coverage.zones import ZONE_TYPES, zones_from_layers
from beatgrid.gis.crs import metric_crs
from beatgrid.gis.errors import InputError

__all__ = ["CoverageResult", "Selection", "analyse_coverage", "check_estate"]

#: Zone type -> its layer (the inverse of :data:`~beatgrid.gis.coverage.zones.ZONE_TYPES`).
LAYER_OF = {ztype: layer for layer, ztype in ZONE_TYPES.items()}


@dataclass(frozen=True)
class Selection:
    """Some rows of a result and the notes that explain them (e.g. a layer missing).

    Attributes
    ----------
    frame
        The rows.
    notes
        Sentences for the reader.

    Examples
    --------
    >>> import pandas as pd
    >>> Selection(pd.DataFrame({"zone_id": []}), ("the project has no grids",)).notes
    ('the project has no grids',)
    """

    frame: pd.DataFrame
    notes: tuple[str, ...] = ()


def check_estate(estate: str, estate_ids: Sequence[str]) -> None:
    """Raise :class:`~beatgrid.gis.errors.InputError` when ``estate`` is not an estate id.

    Examples
    --------
    >>> check_estate("E01", ["E01", "E02"])
    >>> check_estate("E99", ["E01", "E02"])
    Traceback (most recent call last):
    ...
    beatgrid.gis.errors.InputError: estate 'E99' is not in the estates layer Fix: use an estate id such as E01, E02
    """
    if estate not in set(estate_ids):
        raise InputError(f"estate {estate!r} is not in the estates layer",
                         fix="use an estate id such as " + ", ".join(list(estate_ids)[:5])
                         if len(estate_ids) else "import or draw the estates layer first")


@dataclass(frozen=True)
class CoverageResult:
    """What :func:`analyse_coverage` returns.

    Attributes
    ----------
    views
        ``camera_views``: every camera's visible area per level (cameras' CRS), with
        ``camera_id``, ``level``, ``px_per_m``, ``area_m2``, ``status``.
    stats
        ``coverage_stats``: the figures per zone (zones' CRS).
    blind_spots
        ``blind_spots``: open space no camera sees, largest first.
    estate_risk
        ``estate_risk``: the old estates ranked by risk, with every component.
    seen
        What the cameras see (:class:`~beatgrid.gis.coverage.seen.SeenIndex`, metric
        CRS); None in :meth:`figures`.
    weights
        The risk weights used (``[risk.weights]``).
    estate_ids
        Ids of the project's estates.

    Examples
    --------
    >>> from beatgrid.gis import Project
    >>> res = Project.open("sample-geodata/ningbo-jiangbei.gpkg").coverage.analyse(levels=False)
    >>> res.n_cameras, res.camera_status()
    (300, {'ok': 299, 'blocked': 1})
    >>> len(res.stats_for("estate").frame), res.stats_for("grid").notes[0][:25]
    (56, 'the project has no grids:')
    >>> set(res.blind_spots_in("E40")["zone_id"])
    {'E40'}
    >>> sorted(res.derived_layers()), res.figures().seen is None
    (['blind_spots', 'camera_views', 'coverage_stats', 'estate_risk'], True)
    """

    views: gpd.GeoDataFrame
    stats: gpd.GeoDataFrame
    blind_spots: gpd.GeoDataFrame
    estate_risk: gpd.GeoDataFrame
    seen: SeenIndex | None
    weights: Mapping[str, float]
    estate_ids: tuple[str, ...] = ()

    def camera_status(self) -> dict[str, int]:
        """Cameras per status (``ok``, ``moved``, ``indoor``, ``blocked``), most first."""
        whole = self.views[self.views["level"] == "all"]
        return {str(k): int(v) for k, v in whole["status"].value_counts().items()}

    @property
    def n_cameras(self) -> int:
        """Number of cameras analysed."""
        return int((self.views["level"] == "all").sum())

    def zone_summary(self) -> pd.DataFrame:
        """Per zone type: zones, open area, share of it seen by any camera, cameras inside.

        Examples
        --------
        >>> from beatgrid.gis import Project
        >>> res = Project.open("sample-geodata/ningbo-jiangbei.gpkg").coverage.analyse(levels=False)
        >>> res.zone_summary()["zone_type"].tolist()
        ['beat', 'community', 'estate', 'station']
        """
        stats = self.stats
        if not len(stats):
            return pd.DataFrame(columns=["zone_type", "zones", "open_area_m2",
                                         "seen_share_all", "cameras_inside"])
        summary = stats.groupby("zone_type")[["open_area_m2", "unseen_open_m2"]].sum()
        summary["seen_share_all"] = 1 - summary["unseen_open_m2"] / summary["open_area_m2"]
        summary["zones"] = stats.groupby("zone_type").size()
        summary["cameras_inside"] = stats.groupby("zone_type")["cameras_inside"].sum()
        return summary.reset_index()[["zone_type", "zones", "open_area_m2", "seen_share_all",
                                      "cameras_inside"]]

    def stats_for(self, zone_type: str | None = None) -> Selection:
        """The figures of one zone type (all zones when None), with a note when the
        project has no zone of that type."""
        if zone_type is None:
            return Selection(self.stats)
        rows = self.stats[self.stats["zone_type"] == zone_type]
        notes: tuple[str, ...] = ()
        if not len(rows):
            layer = LAYER_OF.get(zone_type, zone_type)
            notes = (f"the project has no {layer}: no {zone_type} figures"
                     + (" (plan the basic grids with `beatgrid grids`)"
                        if zone_type == "grid" else ""),)
        return Selection(rows, notes)

    def blind_spots_in(self, estate: str | None = None) -> gpd.GeoDataFrame:
        """The blind spots of one estate (all of them when None).

        Raises
        ------
        InputError
            ``estate`` is not an estate of the project.
        """
        if not estate:
            return self.blind_spots
        check_estate(estate, self.estate_ids)
        bs = self.blind_spots
        return bs[(bs["zone_type"] == "estate") & (bs["zone_id"] == estate)]

    def derived_layers(self) -> dict[str, gpd.GeoDataFrame]:
        """The derived layers to store: ``camera_views`` (every camera's ``all`` row, even
        empty, and the levels it sees), ``blind_spots``, ``coverage_stats``,
        ``estate_risk``."""
        views = self.views
        empty = shapely.is_empty(views.geometry.values)
        kept = views[(views["level"] == "all") | ~empty].reset_index(drop=True)
        return {"camera_views": kept, "blind_spots": self.blind_spots,
                "coverage_stats": self.stats, "estate_risk": self.estate_risk}

    def figures(self) -> CoverageResult:
        """The same result without the views and the seen index (what a dashboard keeps).
        """
        return replace(self, views=self.views.iloc[:0], seen=None)


def analyse_coverage(layers: Mapping[str, pd.DataFrame | None], *,
                     settings: Mapping[str, Any] | None = None, profile: str | None = None,
                     zones: str | None = None, levels: bool = True,
                     zone_layers: Sequence[str] | None = None, entrances: Any = None,
                     n_jobs: int | None = None, views: gpd.GeoDataFrame | None = None
                     ) -> CoverageResult:
    """Views, coverage statistics, blind spots and the old-estate ranking from project layers.

    Parameters
    ----------
    layers
        Project layers (``cameras``, ``buildings``, zone layers, ``estates``,
        ``incidents``), e.g. from ``project.read([...])``.
    settings
        The coverage section (default: the shipped one).
    profile, zones, levels, n_jobs
        See :func:`beatgrid.gis.coverage.visibility.camera_views`.
    zone_layers
        Layers to compute statistics for (default ``[coverage] zone_layers``).
    entrances
        Optional entrance points for the entrance share.
    views
        Views already computed (skips the visibility step).

    Returns
    -------
    CoverageResult
        The frames in the cameras' CRS (the statistics in the zones').

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> crs = 4547
    >>> cams = gpd.GeoDataFrame({"id": ["c1"], "direction": [90.0], "fov_deg": [90.0],
    ...                          "range_m": [20.0], "height_m": [0.0]},
    ...                         geometry=[shapely.Point(1, 10)], crs=crs)
    >>> est = gpd.GeoDataFrame({"id": ["E1"], "is_old": [True], "access": ["open"]},
    ...                        geometry=[shapely.box(0, 0, 40, 20)], crs=crs)
    >>> bld = gpd.GeoDataFrame({"id": ["B1"], "households": [30]},
    ...                        geometry=[shapely.box(25, 2, 35, 18)], crs=crs)
    >>> out = analyse_coverage({"cameras": cams, "buildings": bld, "estates": est})
    >>> out.estate_risk["estate_id"].tolist(), len(out.blind_spots)
    (['E1'], 2)
    """
    cfg = coverage_settings(settings)
    cams = layers.get("cameras")
    blds = layers.get("buildings")
    if cams is None:
        raise InputError("the project has no cameras layer",
                         fix="import cameras first (`beatgrid import` or the OSM importer)")
    if blds is None:
        blds = gpd.GeoDataFrame({"households": []}, geometry=[], crs=cams.crs)
    nested_mode = (zones or cfg["visibility"]["zones"]) == "nested"
    zdict = zones_from_layers(layers, zone_layers, settings=cfg)
    ref = next(iter(zdict.values())) if zdict else cams
    crs = metric_crs(ref if len(ref) else cams, layer="zones")
    if views is None:
        # computed in the metric CRS: one conversion (for the result) instead of two
        views_m = camera_views(cams, blds, profile=profile, zones=zones, levels=levels,
                               settings=cfg, n_jobs=n_jobs, metric=True)
        views = views_m.to_crs(cams.crs) if len(views_m) and cams.crs is not None \
            and views_m.crs != cams.crs else views_m
    else:
        views_m = views
    if len(views_m) and views_m.crs is not None and views_m.crs != crs:
        views_m = views_m.to_crs(crs)
    seen = SeenIndex(views_m, crs=crs, nested=nested_mode)
    inputs = MetricLayers(crs, buildings=blds, cameras=cams, entrances=entrances,
                          incidents=layers.get("incidents"))
    if zdict:
        stats = coverage_stats(None, zones=zdict, buildings=blds, settings=cfg, seen=seen,
                               inputs=inputs)
    else:
        stats = gpd.GeoDataFrame({"zone_type": [], "zone_id": []},
                                 geometry=gpd.GeoSeries([], crs=cams.crs), crs=cams.crs)
    bs_layers = zones_from_layers(layers, cfg["coverage"]["blind_spot_layers"], settings=cfg)
    spots = blind_spots(None, zones=bs_layers, buildings=blds, settings=cfg, seen=seen,
                        inputs=inputs) if bs_layers else empty_blind_spots(cams.crs)
    estates = layers.get("estates")
    if estates is not None and len(estates):
        risk = estate_risk(estates, stats=stats, buildings=blds,
                           incidents=layers.get("incidents"), settings=cfg, inputs=inputs)
        estate_ids = tuple(estates["id"].astype(str))
    else:
        risk = gpd.GeoDataFrame({"rank": [], "estate_id": []},
                                geometry=gpd.GeoSeries([], crs=cams.crs), crs=cams.crs)
        estate_ids = ()
    weights = {str(k): float(v) for k, v in cfg["risk"]["weights"].items()}
    return CoverageResult(views=views, stats=stats, blind_spots=spots, estate_risk=risk,
                          seen=seen, weights=weights, estate_ids=estate_ids)
