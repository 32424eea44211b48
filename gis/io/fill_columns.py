"""Columns an import fills or translates: street ids and classes, camera text, households, values.

Applied by :func:`beatgrid.gis.io.importers.read_layer_file` to the layers they concern
(each function is usable on its own; ``notes`` collects one line per change, reported
as one warning per import):

- streets: :func:`fill_street_ids` (``street-1``, ...) and :func:`fill_street_class`
  (from an OSM ``highway`` column);
- cameras: :func:`fill_camera_fields` (``"NE"``, ``"东北"``, ``"-45"``, ``"90-180"``,
  ``"4 m"``, ``camera:type``, ``surveillance:type`` read the way ``import osm`` reads
  the OSM tags, with the parsers of :mod:`beatgrid.gis.io.osm_parse`);
- buildings: :func:`fill_households` (estimated from footprint area and levels);
- any layer: :func:`apply_value_maps` (a city's values to BeatGrid's, from
  ``value_map`` or a two-column CSV read by :func:`read_value_map`).

Examples
--------
>>> out, n = fill_street_ids(pd.DataFrame({"id": [None, "street-1"]}))
>>> out["id"].tolist(), n
(['street-2', 'street-1'], 1)
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from beatgrid.gis import schema
from beatgrid.gis.crs import to_metric
from beatgrid.gis.errors import InputError, NotFoundError
from beatgrid.gis.io.osm_parse import is_empty, parse_direction, parse_length_m
from beatgrid.gis.io.osm_tags import HIGHWAY_CLASSES, estimate_households, is_camera, street_class


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


#: Columns of camera lists read like the OSM tags of the same name (first one present).
CAMERA_TYPE_COLUMNS = ("camera:type", "camera_type")
SURVEILLANCE_TYPE_COLUMNS = ("surveillance:type", "surveillance_type")
SURVEILLANCE_ZONE_COLUMNS = ("surveillance:zone", "surveillance_zone")
#: Values quoted in a warning about unreadable values (the count is always given).
EXAMPLES_SHOWN = 5


def _first_present(df: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    return next((n for n in names if n in df.columns), None)


def _row_labels(df: pd.DataFrame) -> list[str]:
    """The id of each row, or ``row N`` (1-based) where the id is missing."""
    ids = df["id"] if "id" in df.columns else pd.Series(None, index=df.index, dtype=object)
    return [f"row {n}" if is_empty(v) else str(v) for n, v in enumerate(ids, 1)]


def unreadable_note(column: str, bad: list[tuple[str, object]], consequence: str) -> str:
    """One note for values of ``column`` that could not be read: the count and a few ids.

    Examples
    --------
    >>> unreadable_note("direction", [("c2", "towards gate")], "left empty")
    "direction: 1 value(s) not understood, left empty: c2='towards gate'"
    """
    shown = ", ".join(f"{rid}={value!r}" for rid, value in bad[:EXAMPLES_SHOWN])
    more = f" and {len(bad) - EXAMPLES_SHOWN} more" if len(bad) > EXAMPLES_SHOWN else ""
    return f"{column}: {len(bad)} value(s) not understood, {consequence}: {shown}{more}"


def _same_number(value: Any, parsed: float) -> bool:
    """True when ``value`` is a plain number equal to ``parsed`` (nothing was read from text)."""
    try:
        return float(value) == parsed
    except (TypeError, ValueError):
        return False


def _not_cameras(df: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    col = _first_present(df, SURVEILLANCE_TYPE_COLUMNS)
    if col is None:
        return df
    keep = is_camera(pd.DataFrame({"surveillance:type": df[col].astype(object).where(
        ~df[col].map(is_empty), None)})).to_numpy()
    if keep.all():
        return df
    kinds = sorted({str(v).strip().lower() for v in df.loc[~keep, col]})
    notes.append(f"{int((~keep).sum())} row(s) that are not cameras ({col}="
                 f"{'/'.join(kinds)}) skipped")
    return df[keep]


def fill_camera_fields(df: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """Read the columns of a camera list the way ``import osm`` reads the OSM tags.

    - rows whose ``surveillance:type`` (or ``surveillance_type``) is not a camera
      (``guard``...) are skipped, as :func:`beatgrid.gis.io.osm_tags.is_camera` does;
    - every ``direction`` value goes through
      :func:`~beatgrid.gis.io.osm_parse.parse_direction`: ``"NE"``, ``"东北"``,
      ``"-45"`` (315), ``"180, 270"`` (the first), ``"90-180"`` (a range also fills an
      empty ``fov_deg`` with its width); a value that cannot be read is left empty
      (the camera then counts as a dome) and reported with the count and a few ids;
    - ``camera:type`` (or ``camera_type``) ``dome``: ``direction`` empty, ``fov_deg``
      360, whatever the direction says;
    - ``height_m`` text such as ``"4 m"`` becomes metres; text that cannot be read is
      left empty and reported (numbers are left to the schema's range check);
    - without a ``kind`` column, ``surveillance:zone=entrance`` gives ``entrance``.

    Examples
    --------
    >>> notes = []
    >>> out = fill_camera_fields(pd.DataFrame({
    ...     "id": ["c1", "c2", "c3", "c4", "c5"],
    ...     "direction": ["NE", "90-180", "-45", "towards gate", "90"],
    ...     "camera:type": [None, None, None, None, "dome"],
    ...     "height_m": ["4 m", None, "3,5", "x", None]}), notes)
    >>> out["direction"].tolist(), out["fov_deg"].tolist()
    ([45.0, 135.0, 315.0, None, None], [nan, 90.0, nan, nan, 360.0])
    >>> out["height_m"].tolist()
    [4.0, None, 3.5, None, None]
    >>> notes[0]
    "direction: 1 value(s) not understood, left empty (a camera without a direction counts as a 360-degree dome): c4='towards gate'"
    """
    out = _not_cameras(df.copy(), notes)
    labels = _row_labels(out)
    changed = 0
    type_col = _first_present(out, CAMERA_TYPE_COLUMNS)
    if "direction" in out.columns or type_col is not None:
        if "fov_deg" not in out.columns:
            out["fov_deg"] = np.nan
        if "direction" not in out.columns:
            out["direction"] = None
        directions = out["direction"].astype(object).copy()
        fovs = out["fov_deg"].astype(object).copy()
        bad: list[tuple[str, object]] = []
        for pos, (idx, value) in enumerate(out["direction"].items()):
            if is_empty(value):
                directions[idx] = None
                continue
            try:
                direction, fov = parse_direction(value)
            except ValueError:
                directions[idx] = None
                bad.append((labels[pos], value))
                continue
            if not _same_number(value, direction):
                changed += 1
            directions[idx] = None if np.isnan(direction) else direction
            if not np.isnan(fov) and pd.isna(pd.to_numeric(fovs[idx], errors="coerce")):
                fovs[idx] = fov
        if bad:
            notes.append(unreadable_note("direction", bad, "left empty (a camera without a "
                                         "direction counts as a 360-degree dome)"))
        if type_col is not None:
            dome = (out[type_col].astype(str).str.strip().str.lower() == "dome").to_numpy()
            if dome.any():
                directions[dome] = None
                fovs[dome] = 360.0
                notes.append(f"{int(dome.sum())} camera(s) with {type_col}=dome read as "
                             "360-degree domes (direction emptied)")
        out["direction"], out["fov_deg"] = directions, fovs
    if "height_m" in out.columns:
        heights = out["height_m"].astype(object).copy()
        bad = []
        for pos, (idx, value) in enumerate(out["height_m"].items()):
            if is_empty(value):
                heights[idx] = None
                continue
            if not isinstance(value, str) or _plain_number(value):
                continue
            try:
                heights[idx] = parse_length_m(value)
                changed += 1
            except ValueError:
                heights[idx] = None
                bad.append((labels[pos], value))
        if bad:
            notes.append(unreadable_note("height_m", bad, "left empty (the settings default "
                                         "height applies)"))
        out["height_m"] = heights
    zone_col = _first_present(out, SURVEILLANCE_ZONE_COLUMNS)
    if "kind" not in out.columns and zone_col is not None:
        zone = out[zone_col].astype(str).str.strip().str.lower()
        out["kind"] = np.where(zone == "entrance", "entrance", "road")
        notes.append(f"kind derived from the {zone_col!r} column")
    if changed:
        notes.append(f"{changed} text direction/height value(s) read as degrees/metres")
    return out


def _plain_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


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


# -- value maps: a city's own vocabulary -------------------------------------------------------

#: A value map of one column: ``{source value: BeatGrid value}``, or a two-column CSV file.
ValueMap = Mapping[str, Mapping[Any, Any] | str | Path]


def _allowed_text(col: schema.Column) -> list[str] | None:
    return None if col.allowed is None else [str(v) for v in col.allowed]


def read_value_map(path: str | Path, *, column: str, spec: schema.LayerSpec) -> dict[str, str]:
    """A two-column CSV (source value, BeatGrid value) as ``{source: target}``.

    The first row is a header (any names, e.g. ``code,category``) unless its second
    cell already is an allowed value of ``column``. UTF-8 or GB18030.

    Raises
    ------
    NotFoundError
        The file does not exist.
    InputError
        A row is not two cells, a target is not an allowed value of ``column`` (the
        fix lists them), a source value is mapped twice to different values, or the
        file maps nothing; the message names the file and the line.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "codes.csv")
    >>> _ = open(p, "w").write("code,category\\nTHEFT,bicycle_theft\\n入室盗窃,burglary\\n")
    >>> read_value_map(p, column="category", spec=schema.get_spec("incidents"))
    {'THEFT': 'bicycle_theft', '入室盗窃': 'burglary'}
    """
    path = Path(path)
    where = f"value map {str(path)!r} for column {column!r}"
    if not path.is_file():
        raise NotFoundError(f"{where} does not exist", fix="check the path")
    allowed = _allowed_text(spec.column(column))
    rows: list[list[str]] | None = None
    for enc in ("utf-8-sig", "gb18030"):
        try:
            with path.open(encoding=enc, newline="") as f:
                rows = [[cell.strip() for cell in row] for row in csv.reader(f)]
            break
        except UnicodeDecodeError:
            continue
        except csv.Error as exc:
            raise InputError(f"cannot read {where}: {exc}",
                             fix="write two comma-separated columns: source value, "
                                 "BeatGrid value") from None
    if rows is None:
        raise InputError(f"cannot decode {where} as UTF-8 or GB18030", fix="save it as UTF-8")
    mapping: dict[str, str] = {}
    lines: dict[str, int] = {}
    first = True
    for line, row in enumerate(rows, 1):
        while row and row[-1] == "":
            row = row[:-1]
        if not row:
            continue
        if len(row) != 2 or not row[0] or not row[1]:
            raise InputError(f"{where}, line {line}: {row} is not two cells",
                             fix="write one 'source value,BeatGrid value' pair per line")
        src, dst = row
        header, first = first and (allowed is None or dst not in allowed), False
        if header:
            continue
        if allowed is not None and dst not in allowed:
            raise InputError(f"{where}, line {line}: {dst!r} is not a {spec.name} {column}",
                             fix="map to one of: " + ", ".join(allowed))
        if src in mapping and mapping[src] != dst:
            raise InputError(f"{where}: {src!r} is mapped to {mapping[src]!r} (line "
                             f"{lines[src]}) and to {dst!r} (line {line})",
                             fix="keep one line per source value")
        mapping[src], lines[src] = dst, line
    if not mapping:
        raise InputError(f"{where} maps no value",
                         fix="write one 'source value,BeatGrid value' pair per line")
    return mapping


def apply_value_maps(df: pd.DataFrame, value_map: ValueMap | None, *, spec: schema.LayerSpec,
                     path: Path, notes: list[str]) -> pd.DataFrame:
    """Replace a city's values by BeatGrid's in the columns of ``value_map``.

    ``value_map`` is ``{schema column: {source value: BeatGrid value}}``, or
    ``{schema column: "FILE.csv"}`` (:func:`read_value_map`). Values are matched as
    text, without surrounding spaces, then without case; values not in the map are
    left as they are (BeatGrid values pass; others are reported by validation, one
    problem per distinct value).

    Examples
    --------
    >>> df = pd.DataFrame({"category": ["THEFT", "theft ", "burglary", "ARSON"]})
    >>> out = apply_value_maps(df, {"category": {"THEFT": "bicycle_theft"}},
    ...                        spec=schema.get_spec("incidents"), path=Path("c.csv"), notes=[])
    >>> out["category"].tolist()
    ['bicycle_theft', 'bicycle_theft', 'burglary', 'ARSON']
    """
    if not value_map:
        return df
    out = df.copy()
    listed = ", ".join(str(c) for c in df.columns if c != "geometry")
    for column, given in value_map.items():
        if column not in spec.column_names:
            raise InputError(f"value map for {column!r}: layer {spec.name!r} has no such "
                             "column", fix="use one of: " + ", ".join(spec.column_names))
        if column not in out.columns:
            raise InputError(
                f"value map for {column!r}: {str(path)!r} has no column {column!r} (columns: "
                f"{listed})", fix=f"map the source column first: --map SRC={column}")
        if isinstance(given, (str, Path)):
            mapping, label = read_value_map(given, column=column, spec=spec), str(given)
        else:
            mapping, label = {str(k).strip(): v for k, v in given.items()}, "value_map"
            allowed = _allowed_text(spec.column(column))
            wrong = sorted({str(v) for v in mapping.values()} - set(allowed or ()))
            if allowed is not None and wrong:
                raise InputError(f"value_map for {column!r} maps to {wrong}, not "
                                 f"{spec.name} {column} value(s)",
                                 fix="map to one of: " + ", ".join(allowed))
        folded = {k.casefold(): v for k, v in mapping.items()}
        values = out[column].astype(object)
        mapped = values.copy()
        hits: set[str] = set()
        for idx, value in values.items():
            if is_empty(value):
                continue
            key = str(value).strip()
            if key in mapping or key.casefold() in folded:
                mapped[idx] = mapping.get(key, folded.get(key.casefold()))
                hits.add(key)
        n = int((mapped != values).sum())
        out[column] = mapped
        notes.append(f"{column}: {n:,} value(s) of {len(hits)} distinct source value(s) "
                     f"mapped with {label}")
    return out
