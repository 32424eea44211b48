"""Partitions of a project by police station, with the halo each computation needs.

A batch run (:mod:`beatgrid.gis.batch`) cuts the project into one partition per police
station: its communities (and so its basic grids and estates), its beats and
responsibility areas, and the polygon they cover (the *region*). Each computation then
reads, by bounding box, what lies within a *halo* around the region:

* grids need nothing outside the region (a grid never crosses its community);
* coverage needs the cameras that can see into the region (within the largest camera
  range, the snapping distance and the boundary-road distance of the coverage
  settings: :func:`coverage_halo_m`) and the buildings that can hide what those cameras
  see (twice that);
* staffing needs the incidents placed in the station's beats (placed once for the whole
  project, so an incident snapped across a station boundary counts once).

Examples
--------
>>> from beatgrid.gis.io.store import open_store
>>> from beatgrid.gis.workspace import Workspace
>>> parts = station_partitions(Workspace(open_store("sample-geodata/ningbo-jiangbei.gpkg")))
>>> [(p.key, len(p.community_ids), len(p.beat_ids)) for p in parts]
[('S01', 7, 7), ('S02', 5, 5)]
>>> x0, y0, x1, y1 = parts[0].bbox(halo_m=100)
>>> bool(x0 < parts[0].region.bounds[0] and y1 > parts[0].region.bounds[3])
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely

from beatgrid.gis.coverage.fov import camera_parameters, coverage_settings
from beatgrid.gis.errors import InputError
from beatgrid.gis.io.writing import BBox
from beatgrid.gis.policing.beats import resolve_beats
from beatgrid.gis.policing.location import natural_key
from beatgrid.gis.workspace import Workspace

__all__ = ["Partition", "station_partitions", "group_partitions", "coverage_halo_m", "NO_STATION"]

#: Key of the partition holding the communities that name no station.
NO_STATION = "(no station)"
#: Metres per degree of latitude (WGS84 / CGCS2000 mean), to widen a bounding box.
_M_PER_DEG = 111_320.0
#: A bounding box is widened by this factor more than the halo (a box, not a buffer).
_BOX_SLACK = 1.05


@dataclass(frozen=True)
class Partition:
    """One police station's share of the project.

    Attributes
    ----------
    key
        The station id (:data:`NO_STATION` for communities without one).
    community_ids, beat_ids, area_ids
        Its communities, beats and responsibility areas.
    region
        The polygon they cover (storage CRS, longitude / latitude).
    """

    key: str
    community_ids: tuple[str, ...]
    beat_ids: tuple[str, ...]
    area_ids: tuple[str, ...]
    region: Any

    def bbox(self, *, halo_m: float = 0.0) -> BBox:
        """The region's bounding box grown by ``halo_m`` metres (longitude / latitude).

        Examples
        --------
        >>> import shapely
        >>> p = Partition("S1", ("C1",), (), (), shapely.box(121.5, 29.9, 121.6, 30.0))
        >>> [round(v, 4) for v in p.bbox(halo_m=111.32)]
        [121.4988, 29.8989, 121.6012, 30.001]
        """
        x0, y0, x1, y1 = (float(v) for v in self.region.bounds)
        if halo_m <= 0:
            return (x0, y0, x1, y1)
        dy = _BOX_SLACK * halo_m / _M_PER_DEG
        lat = min(max(abs(y0), abs(y1)) + dy, 89.0)
        dx = dy / math.cos(math.radians(lat))
        return (x0 - dx, y0 - dy, x1 + dx, y1 + dy)


def _ids(values: Any) -> tuple[str, ...]:
    return tuple(sorted({str(v) for v in values if pd.notna(v)}, key=natural_key))


def station_partitions(project: Workspace, *, stations: Sequence[str] | None = None
                       ) -> list[Partition]:
    """One :class:`Partition` per police station of the project (natural order of ids).

    A community belongs to the station its ``station_id`` names; its beat is the one its
    ``beat_id`` names, or the beats of the ``beats`` layer in that station. The region
    is the union of the station's polygon and its communities'. Communities naming no
    station form one more partition, :data:`NO_STATION`.

    Parameters
    ----------
    project
        The project (a :class:`~beatgrid.gis.workspace.Workspace`).
    stations
        Only these stations (default all).

    Raises
    ------
    InputError
        The project has no communities, or ``stations`` names an unknown station.

    Examples
    --------
    >>> from beatgrid.gis.io.store import open_store
    >>> ws = Workspace(open_store("sample-geodata/ningbo-jiangbei.gpkg"))
    >>> [p.key for p in station_partitions(ws, stations=["S02"])]
    ['S02']
    """
    comm = project.layer("communities")
    if not len(comm):
        raise InputError(f"project {project.location!r} has no communities to partition",
                         fix="import community boundaries (beatgrid import communities FILE)")
    st = project.layer("stations")
    beats = project.layer("beats")
    areas = project.layer("responsibility_areas")
    comm_station = comm["station_id"].astype(object).where(comm["station_id"].notna(),
                                                           NO_STATION).astype(str)
    keys = _ids(comm_station)
    if stations is not None:
        unknown = [s for s in stations if s not in set(keys)]
        if unknown:
            raise InputError(f"station(s) {', '.join(map(repr, unknown))} have no communities",
                             fix="use station ids such as " + ", ".join(keys[:5]))
        keys = tuple(k for k in keys if k in set(stations))
    resolved, beat_of, _ = resolve_beats({"beats": beats, "communities": comm})
    out = []
    for key in keys:
        mine = comm[comm_station == key]
        beat_ids = {str(b) for b in beat_of.reindex(mine["id"]).dropna()}
        if len(resolved) and "station_id" in resolved and key != NO_STATION:
            beat_ids |= set(resolved.loc[resolved["station_id"].astype(str) == key, "id"])
        area_ids = areas.loc[areas["station_id"].astype(str) == key, "id"] if len(areas) \
            else []
        polys = list(mine.geometry.values)
        if len(st) and key != NO_STATION:
            polys += list(st.loc[st["id"].astype(str) == key].geometry.values)
        region = shapely.union_all(np.asarray([p for p in polys if p is not None], dtype=object))
        out.append(Partition(key=key, community_ids=_ids(mine["id"]), beat_ids=_ids(beat_ids),
                             area_ids=_ids(area_ids), region=region))
    return out


def _morton(x: np.ndarray, y: np.ndarray, bits: int = 16) -> np.ndarray:
    """Z-order (Morton) key of points scaled to ``[0, 2**bits)``: near points, near keys."""
    def scaled(v: np.ndarray) -> np.ndarray:
        span = float(v.max() - v.min()) or 1.0
        return ((v - v.min()) / span * (2 ** bits - 1)).astype(np.int64)
    xi, yi = scaled(x), scaled(y)
    key = np.zeros(len(x), dtype=np.int64)
    for b in range(bits):
        key |= ((xi >> b) & 1) << (2 * b) | ((yi >> b) & 1) << (2 * b + 1)
    return key


def group_partitions(parts: Sequence[Partition], count: int) -> list[Partition]:
    """Whole stations joined into at most ``count`` partitions of neighbouring stations.

    A task has a fixed cost (opening the project, reading, the analysis' set-up) and a
    halo read twice; a few big partitions per worker spend less on both than one per
    station. Stations are ordered along a Z-order curve of their regions' centres and cut
    into ``count`` runs of about the same number of communities, so a partition is
    compact and its halo small. The key of a joined partition names its first and last
    station (``S01..S07``).

    Examples
    --------
    >>> import shapely
    >>> parts = [Partition(f"S{i}", (f"C{i}",), (f"B{i}",), (), shapely.box(i, 0, i + 1, 1))
    ...          for i in range(4)]
    >>> [(p.key, p.community_ids) for p in group_partitions(parts, 2)]
    [('S0..S1', ('C0', 'C1')), ('S2..S3', ('C2', 'C3'))]
    """
    if count >= len(parts) or len(parts) <= 1:
        return list(parts)
    centre = shapely.centroid(np.asarray([p.region for p in parts], dtype=object))
    order = np.argsort(_morton(shapely.get_x(centre), shapely.get_y(centre)), kind="stable")
    weight = np.array([max(len(parts[i].community_ids), 1) for i in order], dtype=float)
    cut = np.searchsorted(np.cumsum(weight), np.linspace(0, weight.sum(), count + 1)[1:-1],
                          side="left")
    out = []
    for run in np.split(order, np.unique(cut + 1)):
        if not len(run):
            continue
        members = [parts[i] for i in sorted(run)]
        key = members[0].key if len(members) == 1 else f"{members[0].key}..{members[-1].key}"
        out.append(Partition(
            key=key, community_ids=tuple(c for m in members for c in m.community_ids),
            beat_ids=tuple(b for m in members for b in m.beat_ids),
            area_ids=tuple(a for m in members for a in m.area_ids),
            region=shapely.union_all(np.asarray([m.region for m in members], dtype=object))))
    return out


def coverage_halo_m(cameras: pd.DataFrame, *, settings: Mapping[str, Any] | None = None,
                    profile: str | None = None) -> float:
    """How far (metres) from a region a camera can see into it, or count as watching it.

    The largest ground range of the project's cameras (their own ``range_m``, the lens'
    detect distance, or the ``[cameras]`` default: :func:`~beatgrid.gis.coverage.fov.
    camera_parameters`) plus ``[visibility] max_snap_m`` (a camera inside a building
    is moved out by up to that) plus ``[coverage] boundary_road_m`` (a camera that far
    outside a zone watches its boundary road). Buildings are read twice as far: they
    hide what the cameras of the halo see.

    Examples
    --------
    >>> import pandas as pd
    >>> coverage_halo_m(pd.DataFrame({"range_m": [30.0, 80.0]}))
    100.0
    >>> coverage_halo_m(pd.DataFrame({"range_m": []}))
    50.0
    """
    cfg = coverage_settings(settings)
    reach = float(cfg["cameras"]["range_m"])
    if len(cameras):
        ranges = camera_parameters(cameras, profile=profile, settings=cfg)["range_m"]
        ranges = pd.to_numeric(ranges, errors="coerce").to_numpy(float)
        if np.isfinite(ranges).any():
            reach = float(np.nanmax(ranges))
    return reach + float(cfg["visibility"]["max_snap_m"]) \
        + float(cfg["coverage"]["boundary_road_m"])
