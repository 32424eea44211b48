"""The leadership summary: the figures the dashboard and the report both show.

:func:`leadership_summary` calls the project's two assessments once,
``project.policing.assess()`` (staffing gaps per beat) and
``project.coverage.analyse()`` (camera coverage, old-estate risk), asks
``project.coverage.recommend()`` for the cameras that would raise the riskiest old
estates' seen share most, and keeps what a leader reads in a
:class:`LeadershipSummary`. The dashboard (``GET /dashboard/data``) and ``beatgrid
report`` read their figures, tables and maps from it and nothing else, so they always
agree with each other and with ``beatgrid staffing`` and ``beatgrid coverage``.

Every figure can be restricted to one police station
(:meth:`LeadershipSummary.figures`, :meth:`~LeadershipSummary.beat_table`,
:meth:`~LeadershipSummary.estate_table` take ``station=``): beats by their
``station_id``, estates by their community's station, cameras by the station area
they stand in.

Examples
--------
>>> from beatgrid.gis import Project
>>> s = leadership_summary(Project.open("sample-geodata/ningbo-jiangbei.gpkg"),
...                        proposal_estates=1)
>>> f = s.figures()
>>> f.cameras, f.cameras_in_estates, f.clearly_understaffed, f.old_estates
(300, 9, 4, 14)
>>> s.figures(station="S02").beats, list(s.beat_table()["beat_id"][:2])
(5, ['B03', 'B04'])
>>> s.estate_table()["estate_id"].iloc[0], int(s.estate_table()["proposed_cameras"].iloc[0])
('E40', 3)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from beatgrid.gis.crs import metric_crs
from beatgrid.gis.errors import NotFoundError
from beatgrid.gis.policing.rules import NOT_JUDGED, ROLES, SHORTFALL_LEVELS
from beatgrid.gis.project import Project

__all__ = ["CLEAR_LEVELS", "KeyFigures", "LeadershipSummary", "leadership_summary"]

#: Severity levels counted as "clearly understaffed" (the headline figure).
CLEAR_LEVELS = ("high", "critical")
#: Old estates per station for which new cameras are proposed (the riskiest first).
PROPOSAL_ESTATES = 3
#: New cameras proposed per such estate.
PROPOSAL_CAMERAS = 3
#: Columns of the beat table, in order.
BEAT_COLUMNS = ("severity_rank", "beat_id", "name", "station_id", "severity", "failed_rules",
                "reasons", "population_actual", "population_floating",
                *(f"{r}_{k}" for r in ROLES for k in ("required", "actual", "gap")))
#: Columns of the old-estate table, in order.
ESTATE_COLUMNS = ("rank", "estate_id", "name", "station_id", "community_id", "risk_score",
                  "seen_share_all", "cameras_inside", "households", "access",
                  "preventable_incidents", "open_area_m2", "unseen_open_m2",
                  "proposed_cameras", "proposal_kinds", "seen_share_after")


@dataclass(frozen=True)
class KeyFigures:
    """The headline figures of the district or of one station.

    Attributes
    ----------
    station
        The station the figures are for (None: the whole project).
    cameras, cameras_in_estates, cameras_in_old_estates
        Cameras, and those standing inside an estate / an old estate.
    seen_share
        Share of the open space (outside buildings) seen by any camera.
    beats, understaffed, clearly_understaffed, not_judged
        Beats assessed; with a failed rule; at a level of :data:`CLEAR_LEVELS`;
        not judged for missing data.
    required, actual, short
        Per role (officers, auxiliaries, floating managers, grid workers): staff the
        policy requires, staff on the roster, and the sum of the beats' shortfalls.
    old_estates, old_estates_without_camera, old_estates_households
        Old estates, those with no camera inside, and their households.
    old_estates_seen_share
        Share of the old estates' open space seen by any camera (area-weighted).
    estate_blind_spot_m2
        Area of the blind spots in estates.
    proposed_cameras
        New cameras proposed for the riskiest old estates.
    """

    station: str | None
    cameras: int
    cameras_in_estates: int
    cameras_in_old_estates: int
    seen_share: float
    beats: int
    understaffed: int
    clearly_understaffed: int
    not_judged: int
    required: dict[str, int]
    actual: dict[str, int]
    short: dict[str, int]
    old_estates: int
    old_estates_without_camera: int
    old_estates_households: int
    old_estates_seen_share: float
    estate_blind_spot_m2: float
    proposed_cameras: int

    def as_dict(self) -> dict[str, Any]:
        """The figures as a JSON-ready mapping."""
        return asdict(self)


@dataclass(frozen=True)
class LeadershipSummary:
    """What a leader reads: staffing per beat, old estates by risk, the maps' layers.

    Attributes
    ----------
    beats
        One row per beat: the staffing gaps (``project.policing.assess().beats``),
        polygons in the project's CRS.
    estates
        The old estates ranked by risk (``estate_risk``) with their station, open and
        unseen area and the proposed cameras (``proposed_cameras``, ``proposal_kinds``,
        ``seen_share_after``; 0 and NaN where none were computed).
    estate_stats
        Coverage figures of every estate (``coverage_stats`` rows of type estate) with
        ``station_id`` and ``is_old``.
    station_stats
        Coverage figures per station (``coverage_stats`` rows of type station).
    cameras
        Camera points with ``status`` and ``station_id``.
    proposals
        Proposed camera poses (``camera_proposals`` of each estate's recommendation).
    blind_spots
        Open space no camera sees, per estate, with ``station_id``.
    stations
        Station polygons (``id``, ``name``).
    context
        Background layers for maps: ``streets``, ``buildings``.
    notes
        What the assessments assumed (their notes).
    project, computed_at
        The project's location and when the summary was computed (UTC, ISO 8601).
    """

    beats: gpd.GeoDataFrame
    estates: gpd.GeoDataFrame
    estate_stats: pd.DataFrame
    station_stats: pd.DataFrame
    cameras: gpd.GeoDataFrame
    proposals: gpd.GeoDataFrame
    blind_spots: gpd.GeoDataFrame
    stations: gpd.GeoDataFrame
    context: Mapping[str, gpd.GeoDataFrame]
    notes: tuple[str, ...] = ()
    project: str = ""
    computed_at: str = field(default="")

    # -- selection -----------------------------------------------------------------
    @property
    def station_ids(self) -> list[str]:
        """The stations' ids, in order."""
        return [str(s) for s in self.stations["id"]]

    def check_station(self, station: str | None) -> str | None:
        """``station`` when it is a station of the project (None, or blank: all).

        Raises
        ------
        NotFoundError
            An unknown station, naming it and the known ids.
        """
        if station is None or not str(station).strip():
            return None
        station = str(station).strip()
        if station not in self.station_ids:
            raise NotFoundError(f"station {station!r} is not in the project",
                                fix="use one of " + ", ".join(self.station_ids)
                                    + " (or no station for the whole project)")
        return station

    def _pick(self, frame: pd.DataFrame, station: str | None) -> Any:
        station = self.check_station(station)
        if station is None:
            return frame
        return frame[frame["station_id"].astype(str) == station]

    # -- tables --------------------------------------------------------------------
    def beat_table(self, station: str | None = None) -> pd.DataFrame:
        """Beats worst first (``severity_rank``) with the rules they fail and the staff
        to add per role (``<role>_gap``)."""
        beats = self._pick(self.beats, station).sort_values("severity_rank")
        return pd.DataFrame(beats[[c for c in BEAT_COLUMNS if c in beats.columns]]
                            ).reset_index(drop=True)

    def estate_table(self, station: str | None = None) -> pd.DataFrame:
        """Old estates by risk (``rank``) with the seen share and the proposed cameras."""
        estates = self._pick(self.estates, station).sort_values("rank")
        return pd.DataFrame(estates[[c for c in ESTATE_COLUMNS if c in estates.columns]]
                            ).reset_index(drop=True)

    def proposals_in(self, station: str | None = None) -> gpd.GeoDataFrame:
        """The proposed cameras of the station's old estates (all when None)."""
        station = self.check_station(station)
        if station is None:
            return self.proposals
        ids = set(self.estate_table(station)["estate_id"])
        return self.proposals[self.proposals["estate_id"].isin(ids)]

    # -- figures -------------------------------------------------------------------
    def figures(self, station: str | None = None) -> KeyFigures:
        """The key figures of the project, or of one station."""
        station = self.check_station(station)
        beats = self._pick(self.beats, station)
        cams = self._pick(self.cameras, station)
        est = self._pick(self.estate_stats, station)
        old = est[est["is_old"]]
        olds = self.estate_table(station)
        st = self._pick(self.station_stats.rename(columns={"zone_id": "station_id"}), station)
        bs = self._pick(self.blind_spots, station)
        sev = beats["severity"].astype(str)
        return KeyFigures(
            station=station,
            cameras=len(cams) if station is None else int(st["cameras_inside"].sum()),
            cameras_in_estates=int(est["cameras_inside"].sum()),
            cameras_in_old_estates=int(old["cameras_inside"].sum()),
            seen_share=_seen(st),
            beats=len(beats), understaffed=int(sev.isin(SHORTFALL_LEVELS).sum()),
            clearly_understaffed=int(sev.isin(CLEAR_LEVELS).sum()),
            not_judged=int((sev == NOT_JUDGED).sum()),
            required={r: _total(beats[f"{r}_required"]) for r in ROLES},
            actual={r: _total(beats[f"{r}_actual"]) for r in ROLES},
            short={r: _total(beats[f"{r}_gap"]) for r in ROLES},
            old_estates=len(olds),
            old_estates_without_camera=int((olds["cameras_inside"] == 0).sum()),
            old_estates_households=int(olds["households"].sum()),
            old_estates_seen_share=_seen(old),
            estate_blind_spot_m2=float(bs["area_m2"].sum()),
            proposed_cameras=int(olds["proposed_cameras"].sum()))


def _total(values: pd.Series) -> int:
    return int(pd.to_numeric(values, errors="coerce").fillna(0).sum())


def _seen(stats: pd.DataFrame) -> float:
    """Area-weighted share of open space seen (NaN without open space)."""
    open_m2 = float(stats["open_area_m2"].sum()) if len(stats) else 0.0
    if open_m2 <= 0:
        return float("nan")
    return 1.0 - float(stats["unseen_open_m2"].sum()) / open_m2


# --------------------------------------------------------------------------------------
# Building the summary
# --------------------------------------------------------------------------------------

def leadership_summary(project: Project, *, proposal_estates: int = PROPOSAL_ESTATES,
                       proposal_cameras: int = PROPOSAL_CAMERAS) -> LeadershipSummary:
    """Assess staffing and coverage once and keep what the dashboard and report show.

    Parameters
    ----------
    project
        The project (its policy and coverage settings apply).
    proposal_estates
        Per station, the riskiest old estates for which new cameras are proposed
        (``project.coverage.recommend(estate=...)``, about half a second each on the
        sample); 0: none.
    proposal_cameras
        New cameras proposed per such estate.

    Returns
    -------
    LeadershipSummary

    Examples
    --------
    >>> from beatgrid.gis import Project
    >>> s = leadership_summary(Project.open("sample-geodata/ningbo-jiangbei.gpkg"),
    ...                        proposal_estates=0)
    >>> s.figures().proposed_cameras, s.station_ids
    (0, ['S01', 'S02'])
    """
    staffing = project.policing.assess()
    coverage = project.coverage.analyse(levels=False)
    stations = _frame(project.layer("stations"))
    estates_layer = project.layer("estates")
    communities = project.layer("communities")
    station_of_community = dict(zip(communities["id"].astype(str),
                                     communities["station_id"].astype(str)))
    estate_station = {str(e): station_of_community.get(str(c), "")
                      for e, c in zip(estates_layer["id"], estates_layer["community_id"])}
    old_ids = set(estates_layer.loc[estates_layer["is_old"].astype(bool), "id"].astype(str))

    stats = coverage.stats
    est_stats = pd.DataFrame(stats[stats["zone_type"] == "estate"].drop(columns="geometry"))
    est_stats["station_id"] = est_stats["zone_id"].astype(str).map(estate_station)
    est_stats["is_old"] = est_stats["zone_id"].astype(str).isin(old_ids)
    st_stats = pd.DataFrame(stats[stats["zone_type"] == "station"].drop(columns="geometry"))

    risk = coverage.estate_risk.copy()
    risk["estate_id"] = risk["estate_id"].astype(str)
    risk["station_id"] = risk["estate_id"].map(estate_station)
    risk["community_id"] = risk["estate_id"].map(
        dict(zip(estates_layer["id"].astype(str), estates_layer["community_id"].astype(str))))
    areas = est_stats.set_index(est_stats["zone_id"].astype(str))
    risk["open_area_m2"] = risk["estate_id"].map(areas["open_area_m2"])
    risk["unseen_open_m2"] = risk["estate_id"].map(areas["unseen_open_m2"])
    risk, proposals = _propose(project, risk, estates=proposal_estates,
                               cameras=proposal_cameras)

    cameras = _camera_points(project.layer("cameras"), coverage.views, stations)
    blind = coverage.blind_spots.copy()
    blind["station_id"] = blind["zone_id"].astype(str).map(estate_station)
    return LeadershipSummary(
        beats=staffing.beats, estates=risk, estate_stats=est_stats, station_stats=st_stats,
        cameras=cameras, proposals=proposals, blind_spots=blind, stations=stations,
        context={"streets": _frame(project.layer("streets")),
                 "buildings": _frame(project.layer("buildings"))},
        notes=tuple(staffing.notes), project=project.location,
        computed_at=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))


def _frame(layer: pd.DataFrame) -> gpd.GeoDataFrame:
    """A layer as a GeoDataFrame (an empty one when the project lacks it)."""
    if isinstance(layer, gpd.GeoDataFrame):
        return layer
    return gpd.GeoDataFrame(layer, geometry=[], crs=4326) if not len(layer) else \
        gpd.GeoDataFrame(layer)


def _propose(project: Project, risk: gpd.GeoDataFrame, *, estates: int,
             cameras: int) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The riskiest ``estates`` old estates per station with ``cameras`` new cameras each."""
    risk = risk.sort_values("rank").copy()
    risk["proposed_cameras"] = 0
    risk["proposal_kinds"] = ""
    risk["seen_share_after"] = np.nan
    chosen = (risk.groupby("station_id", sort=False).head(estates)["estate_id"].tolist()
              if estates > 0 and cameras > 0 else [])
    frames = []
    for estate in chosen:
        res = project.coverage.recommend(budget=cameras, estate=estate)
        if not len(res.proposals):
            continue
        frames.append(res.proposals)
        eff = res.effects
        row = eff[(eff["zone_type"] == "estate") & (eff["zone_id"].astype(str) == estate)]
        at = risk["estate_id"] == estate
        risk.loc[at, "proposed_cameras"] = len(res.proposals)
        risk.loc[at, "proposal_kinds"] = ", ".join(
            f"{n} {k}" for k, n in res.proposals["kind"].value_counts().items())
        if len(row):
            risk.loc[at, "seen_share_after"] = float(row["seen_share_all_after"].iloc[0])
    crs = risk.crs
    if frames:
        props = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs)
        props["id"] = [f"NEW{i + 1:03d}" for i in range(len(props))]
    else:
        props = gpd.GeoDataFrame({"id": [], "estate_id": [], "kind": []}, geometry=[], crs=crs)
    return risk, props


def _camera_points(cameras: pd.DataFrame, views: pd.DataFrame,
                   stations: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Camera points with their view ``status`` and the ``station_id`` they stand in."""
    cams = _frame(cameras)[["id", "geometry"]].copy()
    if not len(cams):
        cams["status"] = []
        cams["station_id"] = []
        return cams
    whole = views[views["level"] == "all"]
    cams["status"] = cams["id"].astype(str).map(
        dict(zip(whole["camera_id"].astype(str), whole["status"].astype(str))))
    if len(stations):
        # in the metric CRS of the coverage figures, so that a camera standing on a
        # boundary street counts in the station the figures count it in
        crs = metric_crs(stations, layer="stations")
        joined = gpd.sjoin(cams.to_crs(crs), stations[["id", "geometry"]].rename(
            columns={"id": "station_id"}).to_crs(crs), how="left", predicate="intersects")
        joined = joined[~joined.index.duplicated(keep="first")]
        cams["station_id"] = joined["station_id"].astype(object).where(
            joined["station_id"].notna(), "").astype(str)
    else:
        cams["station_id"] = ""
    return cams
