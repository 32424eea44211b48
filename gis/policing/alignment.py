"""Multi-grid alignment (多格合一): do police beats line up with other departments' grids?

Fengxian asks for police responsibility areas aligned with the comprehensive
governance grids (综治网格) and city-operations grids (城运网格). This module overlays
the beats (and the basic grids) with the ``governance_grids`` layer and reports,
all areas in square metres of the metric CRS (:func:`beatgrid.gis.crs.to_metric`):

* per governance grid: its households and area, its **main beat** (the beat holding
  most of its households; most of its area when it has none), the share of its
  households and of its area inside the main beat, and whether it is **aligned**
  (share >= ``alignment.min_share``; the household share decides, the area share
  when the grid has no households); the households affected (outside the main
  beat) and the best-matching basic grid;
* per beat: an **alignment score**, the share of the beat's households (in some
  governance grid) whose every governance grid has this beat as main beat; without
  households, the share of the beat's governance-grid overlap area in grids whose
  main beat it is. 1.0 means every governance grid touching the beat is its own;
* the **suggested reassignment**: each governance grid goes to the beat holding most
  of its households, so each part of a misaligned grid lying in another beat is a
  move ``from_beat -> to_beat`` of so many households and square metres.

Households are counted at each building's interior point (``buildings.households``);
governance grids of several departments may overlap, and a building counts in each
grid that holds it.

Examples
--------
>>> import geopandas as gpd, shapely
>>> beats = gpd.GeoDataFrame({"id": ["A", "B"]}, geometry=[shapely.box(0, 0, 100, 100),
...                           shapely.box(100, 0, 200, 100)], crs=32651)
>>> gov = gpd.GeoDataFrame({"id": ["G1"]}, geometry=[shapely.box(0, 0, 125, 100)], crs=32651)
>>> res = governance_alignment(gov, beats)
>>> print(res.grids[["grid_id", "main_beat", "area_share", "aligned"]].to_string(index=False))
grid_id main_beat  area_share  aligned
     G1         A         0.8    False
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from beatgrid.gis.config import section_or_default
from beatgrid.gis.crs import to_metric
from beatgrid.gis.errors import InputError
from beatgrid.gis.policing.beats import resolve_beats
from beatgrid.gis.policing.location import locate_points, natural_sort_key

GRID_COLUMNS = [
    "grid_id", "name", "department", "area_m2", "households", "beats_touched", "main_beat",
    "households_share", "area_share", "share", "aligned", "households_affected",
    "area_outside_m2", "basic_grid", "basic_grid_share",
]
BEAT_COLUMNS = [
    "beat_id", "governance_grids", "main_of", "misaligned_grids", "households",
    "households_aligned", "households_uncovered", "area_m2", "area_aligned_m2",
    "alignment_score",
]
REASSIGN_COLUMNS = ["grid_id", "from_beat", "to_beat", "households", "area_m2"]


@dataclass(frozen=True)
class AlignmentResult:
    """What :func:`governance_alignment` returns (and ``project.policing.align()``).

    Attributes
    ----------
    grids
        One row per governance grid (:data:`GRID_COLUMNS`).
    beats
        One row per beat (:data:`BEAT_COLUMNS`).
    reassignments
        The moves that would align every misaligned grid (:data:`REASSIGN_COLUMNS`).
    pieces
        The overlay: one row per (governance grid, beat) overlap with ``area_m2`` and
        ``households``.
    min_share
        The share threshold used.
    governance_grids, beat_polygons
        The polygons aligned (for maps; set by :func:`align_project`).
    """

    grids: pd.DataFrame
    beats: pd.DataFrame
    reassignments: pd.DataFrame
    pieces: pd.DataFrame
    min_share: float
    governance_grids: gpd.GeoDataFrame | None = None
    beat_polygons: gpd.GeoDataFrame | None = None

    @property
    def misaligned(self) -> pd.DataFrame:
        """Misaligned governance grids, most households affected first."""
        g = self.grids[~self.grids["aligned"]]
        return g.sort_values(["households_affected", "area_outside_m2"], ascending=False)


def _ids(gdf: pd.DataFrame, layer: str) -> pd.Series:
    if "id" not in gdf.columns:
        raise InputError(f"layer {layer!r} has no 'id' column", fix="give every feature an id")
    return gdf["id"].astype(str)


def _safe_intersection(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Pairwise intersection; pairs GEOS cannot node are redone on a 1 cm precision grid."""
    try:
        return shapely.intersection(a, b)
    except shapely.errors.GEOSException:
        out = np.empty(len(a), dtype=object)
        for i in range(len(a)):
            try:
                out[i] = shapely.intersection(a[i], b[i])
            except shapely.errors.GEOSException:
                out[i] = shapely.intersection(_valid(a[i]), _valid(b[i]), grid_size=0.01)
        return out


def _valid(geoms: Any) -> Any:
    """Repair invalid polygons (reprojection can create tiny self-intersections)."""
    arr = np.asarray(geoms, dtype=object)
    scalar = arr.ndim == 0
    arr = np.atleast_1d(arr)
    bad = ~shapely.is_valid(arr)
    if bad.any():
        arr = arr.copy()
        fixed = shapely.make_valid(arr[bad])
        # keep the polygonal part of a repaired geometry
        arr[bad] = [g if g.geom_type in ("Polygon", "MultiPolygon") else
                    shapely.union_all([p for p in getattr(g, "geoms", [])
                                       if p.geom_type in ("Polygon", "MultiPolygon")])
                    for g in fixed]
    return arr[0] if scalar else arr


def building_zones(buildings: gpd.GeoDataFrame, zones: gpd.GeoDataFrame,
                   beats: gpd.GeoDataFrame) -> pd.DataFrame:
    """Every (building, zone) pair with the building's beat and households.

    Zones may overlap (two departments' grids): a building appears once per zone
    holding its interior point; ``beat_id`` is None outside every beat.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> beats = gpd.GeoDataFrame({"id": ["A"]}, geometry=[shapely.box(0, 0, 100, 100)], crs=32651)
    >>> zones = gpd.GeoDataFrame({"id": ["G1", "G2"]}, geometry=[shapely.box(0, 0, 60, 100),
    ...                           shapely.box(40, 0, 100, 100)], crs=32651)
    >>> bld = gpd.GeoDataFrame({"households": [30]}, geometry=[shapely.box(45, 45, 55, 55)],
    ...                        crs=32651)
    >>> building_zones(bld, zones, beats).values.tolist()
    [[0, 'G1', 'A', 30], [0, 'G2', 'A', 30]]
    """
    pts = buildings.geometry.representative_point()
    if pts.crs is not None and zones.crs is not None and pts.crs != zones.crs:
        pts = pts.to_crs(zones.crs)
    where_beat = locate_points(pts, beats.assign(id=_ids(beats, "beats"))).to_numpy()
    households = pd.to_numeric(buildings["households"], errors="coerce").fillna(0) \
        .to_numpy(dtype=np.int64)
    zid = _ids(zones, "governance_grids").to_numpy()
    ppos, zpos = shapely.STRtree(zones.geometry.array).query(pts.array, predicate="intersects")
    return pd.DataFrame({"building": ppos, "zone_id": zid[zpos], "beat_id": where_beat[ppos],
                         "households": households[ppos]})


def overlay_pieces(zones: gpd.GeoDataFrame, beats: gpd.GeoDataFrame, *,
                   buildings: gpd.GeoDataFrame | None = None, sliver_m2: float = 1.0,
                   sliver_share: float = 0.0, zone_layer: str = "governance_grids",
                   pairs: pd.DataFrame | None = None) -> pd.DataFrame:
    """Area and households of every overlap between ``zones`` and ``beats``.

    Parameters
    ----------
    zones, beats
        Polygons with ``id`` (any CRS; computed in the metric CRS of ``zones``).
    buildings
        Buildings with ``households`` (optional).
    sliver_m2, sliver_share
        Overlaps without households smaller than ``sliver_m2`` or than
        ``sliver_share`` of the zone's area are dropped (digitising slivers, and the
        thin gaps a reprojection opens between edges that do not share vertices).
    zone_layer
        Layer name for messages.
    pairs
        :func:`building_zones` when already computed.

    Returns
    -------
    DataFrame
        ``zone_id``, ``beat_id``, ``area_m2``, ``households``. Households of a
        zone outside every beat appear with ``beat_id`` None.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> z = gpd.GeoDataFrame({"id": ["z"]}, geometry=[shapely.box(0, 0, 10, 10)], crs=32651)
    >>> b = gpd.GeoDataFrame({"id": ["a", "b"]}, geometry=[shapely.box(0, 0, 4, 10),
    ...                       shapely.box(4, 0, 10, 10)], crs=32651)
    >>> overlay_pieces(z, b).values.tolist()
    [['z', 'a', 40.0, 0], ['z', 'b', 60.0, 0]]
    """
    zm = to_metric(zones, layer=zone_layer)
    bm = beats.to_crs(zm.crs)
    zid, bid = _ids(zm, zone_layer).to_numpy(), _ids(bm, "beats").to_numpy()
    tree = shapely.STRtree(bm.geometry.array)
    zpos, bpos = tree.query(zm.geometry.array, predicate="intersects")
    zg, bg = _valid(zm.geometry.to_numpy()), _valid(bm.geometry.to_numpy())
    area = shapely.area(_safe_intersection(zg[zpos], bg[bpos]))
    pieces = pd.DataFrame({"zone_id": zid[zpos], "beat_id": bid[bpos], "area_m2": area,
                           "min_m2": np.maximum(sliver_m2,
                                                sliver_share * shapely.area(zg)[zpos])})
    hh = pd.DataFrame(columns=["zone_id", "beat_id", "households"])
    if buildings is not None and len(buildings):
        h = pairs if pairs is not None else building_zones(buildings, zm, bm)
        hh = h.groupby(["zone_id", "beat_id"], dropna=False)["households"].sum().reset_index()
    out = pieces.merge(hh, on=["zone_id", "beat_id"], how="outer")
    out["area_m2"] = out["area_m2"].fillna(0.0)
    out["households"] = out["households"].fillna(0).astype(np.int64)
    out = out[(out["area_m2"] >= out["min_m2"].fillna(0)) | (out["households"] > 0)]
    out["beat_id"] = out["beat_id"].where(out["beat_id"].notna(), None)
    return out.sort_values(["zone_id", "beat_id"], key=natural_sort_key,
                           na_position="last").reset_index(drop=True)[
        ["zone_id", "beat_id", "area_m2", "households"]]


def governance_alignment(governance_grids: gpd.GeoDataFrame, beats: gpd.GeoDataFrame, *,
                         buildings: gpd.GeoDataFrame | None = None,
                         grids: gpd.GeoDataFrame | None = None,
                         settings: Mapping[str, Any] | None = None,
                         min_share: float | None = None) -> AlignmentResult:
    """Align governance grids with beats (and basic grids); see the module docstring.

    Parameters
    ----------
    governance_grids
        The ``governance_grids`` layer (``id``, ``name``, ``department``, polygon).
    beats
        Beats (``id``, polygon), e.g. :func:`beatgrid.gis.policing.beats.resolve_beats`.
    buildings
        Buildings with ``households`` (optional: without them the area decides).
    grids
        Basic grids (optional): the best-matching basic grid of each governance grid.
    settings
        The ``policing`` settings (``[alignment]``); default the shipped ones.
    min_share
        Override ``alignment.min_share``.

    Returns
    -------
    AlignmentResult

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> beats = gpd.GeoDataFrame({"id": ["A", "B"]}, geometry=[shapely.box(0, 0, 100, 100),
    ...                           shapely.box(100, 0, 200, 100)], crs=32651)
    >>> gov = gpd.GeoDataFrame({"id": ["G1", "G2"]}, geometry=[shapely.box(0, 0, 100, 100),
    ...                         shapely.box(100, 0, 200, 100)], crs=32651)
    >>> bld = gpd.GeoDataFrame({"households": [60, 40, 100]}, geometry=[
    ...     shapely.box(10, 10, 20, 20), shapely.box(110, 10, 120, 20),
    ...     shapely.box(150, 50, 160, 60)], crs=32651)
    >>> r = governance_alignment(gov, beats, buildings=bld)
    >>> r.beats[["beat_id", "alignment_score"]].values.tolist()
    [['A', 1.0], ['B', 1.0]]
    """
    al = section_or_default(settings, "policing")["alignment"]
    threshold = al["min_share"] if min_share is None else float(min_share)
    if not 0 < threshold <= 1:
        raise InputError(f"min_share {threshold!r} must be in (0, 1]", fix="use e.g. 0.9")
    sliver = al["sliver_m2"]
    sliver_share = al["sliver_share"]
    gm = to_metric(governance_grids.reset_index(drop=True), layer="governance_grids")
    bm = beats.reset_index(drop=True).to_crs(gm.crs) if len(gm) else beats.reset_index(drop=True)
    gid = _ids(gm, "governance_grids")
    has_bld = buildings is not None and len(buildings) > 0 and len(gm) > 0
    pairs = building_zones(buildings, gm, bm) if has_bld else None
    pieces = overlay_pieces(gm, bm, buildings=buildings, sliver_m2=sliver,
                            sliver_share=sliver_share, pairs=pairs) \
        if len(gm) else pd.DataFrame(columns=["zone_id", "beat_id", "area_m2", "households"])
    pieces = pieces.rename(columns={"zone_id": "grid_id"})
    g = pd.DataFrame({"grid_id": gid.to_numpy(),
                      "name": gm["name"].fillna("").astype(str).to_numpy() if "name" in gm else "",
                      "department": gm["department"].astype(str).to_numpy()
                      if "department" in gm else "",
                      "area_m2": gm.geometry.area.to_numpy()})
    hh_total = pieces.groupby("grid_id")["households"].sum()
    g["households"] = g["grid_id"].map(hh_total).fillna(0).astype(np.int64)
    inside = pieces[pieces["beat_id"].notna()]
    g["beats_touched"] = g["grid_id"].map(inside.groupby("grid_id")["beat_id"].nunique()) \
        .fillna(0).astype(int)
    # main beat: most households, then most area, then beat id
    ranked = inside.sort_values(["grid_id", "households", "area_m2", "beat_id"],
                                ascending=[True, False, False, True])
    main = ranked.drop_duplicates("grid_id").set_index("grid_id")
    g["main_beat"] = g["grid_id"].map(main["beat_id"]).astype(object)
    g["main_beat"] = g["main_beat"].where(g["main_beat"].notna(), None)
    main_hh = g["grid_id"].map(main["households"]).fillna(0)
    main_area = g["grid_id"].map(main["area_m2"]).fillna(0.0)
    g["households_share"] = np.where(g["households"] > 0,
                                     main_hh / g["households"].where(g["households"] > 0, 1),
                                     np.nan)
    g["area_share"] = np.where(g["area_m2"] > 0,
                               main_area / g["area_m2"].where(g["area_m2"] > 0, 1), np.nan)
    g["area_share"] = g["area_share"].round(6)
    g["households_share"] = g["households_share"].round(6)
    g["share"] = g["households_share"].where(g["households"] > 0, g["area_share"])
    g["aligned"] = (g["share"] >= threshold - 1e-9).fillna(False).astype(bool)
    g["households_affected"] = (g["households"] - main_hh).astype(np.int64)
    g["area_outside_m2"] = (g["area_m2"] - main_area).clip(lower=0)
    g["basic_grid"], g["basic_grid_share"] = None, np.nan
    if grids is not None and len(grids) and len(gm):
        bp = overlay_pieces(gm, grids.to_crs(gm.crs), sliver_m2=sliver,
                            sliver_share=sliver_share, zone_layer="governance_grids")
        bp = bp[bp["beat_id"].notna()].sort_values(["zone_id", "area_m2"],
                                                    ascending=[True, False])
        best = bp.drop_duplicates("zone_id").set_index("zone_id")
        g["basic_grid"] = g["grid_id"].map(best["beat_id"]).astype(object)
        g["basic_grid"] = g["basic_grid"].where(g["basic_grid"].notna(), None)
        g["basic_grid_share"] = (g["grid_id"].map(best["area_m2"]) / g["area_m2"]).round(6)

    # reassignments: each part of a misaligned grid outside its main beat moves to it
    mis = set(g.loc[~g["aligned"], "grid_id"])
    moves = pieces[pieces["grid_id"].isin(mis) & pieces["beat_id"].notna()].copy()
    moves["to_beat"] = moves["grid_id"].map(g.set_index("grid_id")["main_beat"])
    moves = moves[moves["beat_id"] != moves["to_beat"]].rename(columns={"beat_id": "from_beat"})
    moves = moves.sort_values(["households", "area_m2"], ascending=False)[REASSIGN_COLUMNS] \
        .reset_index(drop=True)

    # per beat
    bid = _ids(bm, "beats")
    b = pd.DataFrame({"beat_id": bid.to_numpy(), "area_m2": bm.geometry.area.to_numpy()})
    ins = inside.merge(g[["grid_id", "main_beat", "aligned"]], on="grid_id", how="left")
    ins["own"] = ins["beat_id"] == ins["main_beat"]
    grp = ins.groupby("beat_id")
    b["governance_grids"] = b["beat_id"].map(grp["grid_id"].nunique()).fillna(0).astype(int)
    b["main_of"] = b["beat_id"].map(g.groupby("main_beat").size()).fillna(0).astype(int)
    b["misaligned_grids"] = b["beat_id"].map(
        ins[~ins["aligned"].astype(bool)].groupby("beat_id")["grid_id"].nunique()) \
        .fillna(0).astype(int)
    covered_hh = pd.Series(0.0, index=b.index)
    aligned_hh = pd.Series(0.0, index=b.index)
    if pairs is not None:
        # a building is aligned when every governance grid holding it has its beat as main
        pairs = pairs[pairs["beat_id"].notna()].copy()
        pairs["own"] = pairs["zone_id"].map(g.set_index("grid_id")["main_beat"]) \
            == pairs["beat_id"]
        per = pairs.groupby("building").agg(beat_id=("beat_id", "first"),
                                            households=("households", "first"),
                                            own=("own", "all"))
        covered_hh = b["beat_id"].map(per.groupby("beat_id")["households"].sum()).fillna(0)
        aligned_hh = b["beat_id"].map(per[per["own"]].groupby("beat_id")["households"].sum()) \
            .fillna(0)
    b["area_aligned_m2"] = b["beat_id"].map(ins[ins["own"]].groupby("beat_id")["area_m2"].sum()) \
        .fillna(0.0)
    covered_area = b["beat_id"].map(grp["area_m2"].sum()).fillna(0.0)
    beat_hh = pd.Series(0, index=b.index, dtype=np.int64)
    if buildings is not None and len(buildings):
        where = locate_points(buildings.geometry.representative_point(), bm.assign(id=bid))
        tot = pd.Series(pd.to_numeric(buildings["households"], errors="coerce").fillna(0)
                        .to_numpy(), index=where.to_numpy()).groupby(level=0).sum()
        beat_hh = b["beat_id"].map(tot).fillna(0).astype(np.int64)
    b["households"] = beat_hh
    b["households_aligned"] = aligned_hh.astype(np.int64)
    b["households_uncovered"] = (beat_hh - covered_hh).clip(lower=0).astype(np.int64)
    score_hh = aligned_hh / covered_hh.where(covered_hh > 0, np.nan)
    score_area = b["area_aligned_m2"] / covered_area.where(covered_area > 0, np.nan)
    b["alignment_score"] = score_hh.where(covered_hh > 0, score_area).round(6)
    return AlignmentResult(grids=g[GRID_COLUMNS], beats=b[BEAT_COLUMNS], reassignments=moves,
                           pieces=pieces, min_share=threshold)


def align_project(layers: Mapping[str, pd.DataFrame], *,
                  settings: Mapping[str, Any] | None = None,
                  min_share: float | None = None) -> AlignmentResult:
    """:func:`governance_alignment` on a project (beats resolved as for staffing).

    The computation behind ``project.policing.align()``, on layers in memory; the
    result keeps the polygons it aligned (``governance_grids``, ``beat_polygons``).

    Parameters
    ----------
    layers
        ``governance_grids``, ``beats``, ``communities``, ``buildings``, ``grids``.
    settings, min_share
        As :func:`governance_alignment`.

    Raises
    ------
    InputError
        When the project has no governance grids.

    Examples
    --------
    >>> from beatgrid.gis import Project
    >>> layers = Project.open("sample-geodata/ningbo-jiangbei.gpkg").read(
    ...     ["beats", "communities", "buildings", "grids", "governance_grids"])
    >>> res = align_project(layers)
    >>> len(res.grids), len(res.beats), res.min_share
    (60, 12, 0.9)
    >>> bool(res.misaligned["households_affected"].is_monotonic_decreasing)
    True
    """
    gov = layers.get("governance_grids")
    if gov is None or len(gov) == 0:
        raise InputError("the project has no governance_grids",
                         fix="import the other departments' grids: beatgrid import "
                             "--layer governance_grids FILE")
    beats, _, _ = resolve_beats(layers)
    result = governance_alignment(gov, beats, buildings=layers.get("buildings"),
                                  grids=layers.get("grids"), settings=settings,
                                  min_share=min_share)
    return replace(result, governance_grids=gov, beat_polygons=beats)


__all__ = ["AlignmentResult", "GRID_COLUMNS", "BEAT_COLUMNS", "REASSIGN_COLUMNS",
           "overlay_pieces", "governance_alignment", "align_project"]
