"""Columns an import can fill in itself: street ids and classes, camera text, households.

Applied by :func:`beatgrid.gis.io.importers.read_layer_file` to the layers they concern
(each function is usable on its own; ``notes`` collects one line per change, reported
as one warning per import):

- streets: :func:`fill_street_ids` (``street-1``, ...) and :func:`fill_street_class`
  (from an OSM ``highway`` column);
- cameras: :func:`fill_camera_fields` (``"NE"``, ``"东北"``, ``"90-180"``, ``"4 m"``
  read the way OSM tags are, :mod:`beatgrid.gis.io.osm_parse`);
- buildings: :func:`fill_households` (estimated from footprint area and levels).

Examples
--------
>>> out, n = fill_street_ids(pd.DataFrame({"id": [None, "street-1"]}))
>>> out["id"].tolist(), n
(['street-2', 'street-1'], 1)
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from beatgrid.gis import schema
from beatgrid.gis.crs import to_metric
from beatgrid.gis.io.osm_parse import parse_direction, parse_length_m
from beatgrid.gis.io.osm_tags import HIGHWAY_CLASSES, estimate_households, street_class


def fill_street_ids(df: pd.DataFrame, *, prefix: str = "street-") -> tuple[pd.DataFrame, int]:
    """Give every street without an ``id`` a generated one (``street-1``, ...).

    Returns the frame and the number of ids generated.

    Examples
    --------
    >>> out, n = fill_street_ids(pd.DataFrame({"id": ["a", None, None]}))
    >>> out["id"].tolist(), n
    (['a', 'street-1', 'street-2'], 2)
    """
    out = df.copy()
    if "id" not in out.columns:
        out["id"] = None
    ids = out["id"].astype(object)
    missing = ids.isna() | (ids.astype(str).str.strip() == "")
    if not missing.any():
        return out, 0
    taken = set(ids[~missing].astype(str))
    new: list[str] = []
    n = 0
    for _ in range(int(missing.sum())):
        n += 1
        while f"{prefix}{n}" in taken:
            n += 1
        new.append(f"{prefix}{n}")
    ids = ids.astype(object).copy()
    ids[missing.to_numpy()] = new
    out["id"] = ids
    return out, len(new)


def fill_street_class(df: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """``street_class`` from an OSM ``highway`` column, or OSM values in ``street_class``.

    Examples
    --------
    >>> notes = []
    >>> fill_street_class(pd.DataFrame({"highway": ["trunk", "service"]}), notes)[
    ...     "street_class"].tolist(), notes
    (['primary', 'service'], ["street_class derived from the 'highway' column"])
    """
    out = df.copy()
    if "street_class" not in out.columns and "highway" in out.columns:
        out["street_class"] = [street_class(h) for h in out["highway"]]
        notes.append("street_class derived from the 'highway' column")
    elif "street_class" in out.columns:
        values = out["street_class"]
        osm = values.notna() & ~values.isin(schema.STREET_CLASSES) & values.astype(str).str.lower(
        ).isin(HIGHWAY_CLASSES)
        if osm.any():
            out.loc[osm, "street_class"] = [street_class(v) for v in values[osm]]
            notes.append(f"{int(osm.sum())} OSM highway value(s) in street_class mapped to "
                         "BeatGrid classes")
    return out


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def fill_camera_fields(df: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """Read text directions and heights of cameras the way OSM tags are read.

    ``direction`` values such as ``"NE"``, ``"东北"`` or ``"90-180"`` become degrees
    (a range also fills an empty ``fov_deg`` with its width); ``height_m`` values such
    as ``"4 m"`` become metres. Values that still cannot be read are left for
    validation to report.

    Examples
    --------
    >>> out = fill_camera_fields(pd.DataFrame({"direction": ["NE", "90-180", "12", None],
    ...                                        "height_m": ["4 m", None, "3,5", "x"]}), [])
    >>> out["direction"].tolist(), out["fov_deg"].tolist()[:2], out["height_m"].tolist()
    ([45.0, 135.0, '12', nan], [nan, 90.0], [4.0, nan, 3.5, 'x'])
    """
    out = df.copy()
    changed = 0
    if "direction" in out.columns:
        if "fov_deg" not in out.columns:
            out["fov_deg"] = np.nan
        directions = out["direction"].astype(object).copy()
        fovs = out["fov_deg"].astype(object).copy()
        for idx, value in out["direction"].items():
            if not isinstance(value, str) or _is_number(value):
                continue
            try:
                direction, fov = parse_direction(value)
            except ValueError:
                continue
            directions[idx] = None if np.isnan(direction) else direction
            if not np.isnan(fov) and pd.isna(pd.to_numeric(fovs[idx], errors="coerce")):
                fovs[idx] = fov
            changed += 1
        out["direction"], out["fov_deg"] = directions, fovs
    if "height_m" in out.columns:
        heights = out["height_m"].astype(object).copy()
        for idx, value in out["height_m"].items():
            if not isinstance(value, str) or _is_number(value):
                continue
            try:
                heights[idx] = parse_length_m(value)
                changed += 1
            except ValueError:
                continue
        out["height_m"] = heights
    if changed:
        notes.append(f"{changed} text direction/height value(s) read as degrees/metres")
    return out


def fill_households(gdf: gpd.GeoDataFrame, *, dwelling_size_m2: float, notes: list[str]
                    ) -> gpd.GeoDataFrame:
    """Estimate empty building ``households`` from ``levels`` and footprint area.

    Only where ``households`` is missing (column absent or value empty) and ``levels``
    is known: residential buildings (``use`` residential or empty) get
    ``round(area_m2 x levels / dwelling_size_m2)`` in the metric CRS and
    ``households_estimated=True``; other uses get 0. Without ``levels`` nothing is
    estimated and validation reports the missing households.

    Examples
    --------
    >>> import shapely
    >>> g = gpd.GeoDataFrame({"id": ["a", "b"], "levels": [6, 6], "households": [None, 12]},
    ...     geometry=[shapely.box(121.5, 29.8, 121.5002, 29.8002)] * 2, crs=4490)
    >>> out = fill_households(g, dwelling_size_m2=90, notes=[])
    >>> out["households"].tolist(), out["households_estimated"].tolist()
    ([29, 12], [True, False])
    """
    if "levels" not in gdf.columns:
        return gdf
    out = gdf.copy()
    if "households" not in out.columns:
        out["households"] = np.nan
    households = pd.to_numeric(out["households"], errors="coerce")
    raw_empty = out["households"].isna() | (out["households"].astype(str).str.strip() == "")
    levels = pd.to_numeric(out["levels"], errors="coerce")
    todo = (raw_empty & levels.notna() & (levels > 0)).to_numpy()
    if not todo.any():
        return out
    use = (out["use"].astype(object) if "use" in out.columns
           else pd.Series(None, index=out.index, dtype=object))
    residential = (use.isna() | (use.astype(str).str.strip().isin(["", "residential"]))).to_numpy()
    area = np.zeros(len(out))
    valid_geom = todo & ~shapely.is_missing(np.asarray(out.geometry.array, dtype=object))
    if valid_geom.any():
        area[valid_geom] = to_metric(out.geometry[valid_geom], layer="buildings").area.to_numpy()
    estimate = estimate_households(
        area, levels.fillna(0).to_numpy(), dwelling_size_m2=dwelling_size_m2,
        residential=residential)
    values = households.to_numpy(dtype=float, na_value=np.nan).copy()
    values[todo] = estimate[todo]
    out["households"] = pd.array(np.where(np.isnan(values), None, values), dtype="Int64") \
        if np.isnan(values).any() else values.astype(np.int64)
    flag = (out["households_estimated"] if "households_estimated" in out.columns
            else pd.Series(False, index=out.index))
    flag = flag.astype(object).where(flag.notna(), False)
    flag[todo & residential] = True
    out["households_estimated"] = flag
    notes.append(f"households estimated for {int((todo & residential).sum())} residential "
                 f"building(s) from footprint x levels / {dwelling_size_m2:g} m2"
                 + (f"; {int((todo & ~residential).sum())} non-residential set to 0"
                    if (todo & ~residential).any() else ""))
    return out
