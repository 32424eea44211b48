"""Conforming and validating layers against :mod:`beatgrid.gis.layer_specs`.

:func:`conform_layer` brings an imported table to the schema of its layer (defaults,
types, ranges, repaired geometries, coordinates in the CRS's area of use) and lists its
problems; :func:`validate_project` reports *every* problem of a project at once (layer,
row id, column, value, fix) as a :class:`ValidationReport`, with the dangling foreign
keys between layers (:func:`beatgrid.gis.references.check_references`) and the layers
far from the others (:func:`beatgrid.gis.crs.distant_layers`). :mod:`beatgrid.gis.schema`
publishes these beside the specs.

Examples
--------
>>> from beatgrid.gis import Project
>>> report = validate_project(Project.open("sample-geodata/ningbo-jiangbei.gpkg").layers)
>>> report.ok, len(report.errors)
(True, 0)
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from beatgrid.gis.crs import coordinate_problems, distant_layers, validation_settings
from beatgrid.gis.errors import Problem, ValidationError
from beatgrid.gis.layer_specs import (LAYERS, POLYGON, PREVENTABLE_CATEGORIES, STORAGE_EPSG,
                                      Column, LayerSpec, format_number, get_spec,
                                      plausible_maxima)
from beatgrid.gis.references import check_references, row_ids

#: Largest magnitude an int column holds exactly (values beyond are out of any range).
_INT_LIMIT = 2.0 ** 53


def _cast(series: pd.Series, dtype: str) -> tuple[pd.Series, pd.Series]:
    """Cast ``series`` to ``dtype``; return (cast, mask of values that could not be cast)."""
    notna = series.notna()
    if dtype == "str":
        out = series.astype(object).where(~notna, series.astype(object).map(
            lambda v: str(int(v)) if isinstance(v, float) and float(v).is_integer() else str(v)))
        return out.where(notna, None).astype(object), pd.Series(False, index=series.index)
    if dtype in ("int", "float"):
        num = _to_float(series)
        bad = notna & num.isna()
        if dtype == "int":
            with np.errstate(invalid="ignore"):
                bad = bad | (notna & num.notna() & (num.round() != num) & np.isfinite(num))
                fits = num.abs() <= _INT_LIMIT  # larger ones are out of range: reported there
            return num.round().where(fits).astype("Int64"), bad
        return num, bad
    if dtype == "bool":
        mapping = {"true": True, "1": True, "yes": True, "y": True, "t": True,
                   "false": False, "0": False, "no": False, "n": False, "f": False}
        def conv(v: Any) -> Any:
            if isinstance(v, (bool, np.bool_)):
                return bool(v)
            if isinstance(v, (int, float, np.integer, np.floating)) and v in (0, 1):
                return bool(v)
            return mapping.get(str(v).strip().lower(), "bad")
        out = series.map(lambda v: conv(v) if pd.notna(v) else None)
        bad = out.map(lambda v: isinstance(v, str))
        return out.where(~bad, None), bad
    if dtype == "datetime":
        out = pd.to_datetime(series, errors="coerce")
        if getattr(out.dt, "tz", None) is not None:
            out = out.dt.tz_convert("Asia/Shanghai").dt.tz_localize(None)
        return out, notna & out.isna()
    raise ValueError(dtype)


def _to_float(series: pd.Series) -> pd.Series:
    """Numbers as floats (NaN where not a number; huge integers become +-inf)."""
    if series.dtype == bool:
        series = series.astype(int)
    try:
        return pd.to_numeric(series, errors="coerce").astype(float)
    except (OverflowError, TypeError, ValueError):  # a Python int beyond float range
        def one(v: Any) -> float:
            if isinstance(v, int) and not isinstance(v, bool) and abs(v) > 2 ** 1000:
                return float("inf") if v > 0 else float("-inf")
            try:
                return float(pd.to_numeric(v, errors="coerce"))
            except (OverflowError, TypeError, ValueError):
                return float("nan")
        return series.map(one).astype(float)


def _hard_bounds_text(col: Column) -> str:
    low, high = col.minimum, col.maximum
    if low is not None and high is not None and not col.minimum_exclusive:
        return f"between {format_number(low)} and {format_number(high)}"
    parts = [] if low is None else [f"{'>' if col.minimum_exclusive else '>='} "
                                     f"{format_number(low)}"]
    return " and ".join(parts + ([] if high is None else [f"<= {format_number(high)}"]))


def _range_problems(spec: LayerSpec, col: Column, raw: pd.Series, num: pd.Series,
                    ids: pd.Series) -> list[Problem]:
    """Values outside the hard bounds (impossible) or above the plausible maximum."""
    values = num.to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        low = np.zeros(len(values), dtype=bool) if col.minimum is None else (
            values <= col.minimum if col.minimum_exclusive else values < col.minimum)
        high = np.zeros(len(values), dtype=bool) if col.maximum is None \
            else values > col.maximum
        implausible = np.zeros(len(values), dtype=bool) if col.plausible_maximum is None \
            else ~low & ~high & (values > col.plausible_maximum)
    problems = []
    for pos in np.flatnonzero(low | high):
        problems.append(_problem(spec, ids.iloc[pos], col.name, _scalar(raw.iloc[pos]),
                                 f"value must be {_hard_bounds_text(col)}",
                                 f"give {col.name!r} a value in its range: {col.range_text}"))
    for pos in np.flatnonzero(implausible):
        problems.append(_problem(
            spec, ids.iloc[pos], col.name, _scalar(raw.iloc[pos]),
            f"value is implausible: more than {format_number(col.plausible_maximum)}",
            f"give {col.name!r} a value in its range: {col.range_text} (a unit or column "
            f"mix-up? map the right source column with --map SRC={col.name}; if such "
            f"values are real, raise [validation.plausible_maximum] {spec.name}.{col.name} "
            "in a settings file)"))
    return problems


def _scalar(value: Any) -> Any:
    """A plain Python value for messages (no numpy reprs)."""
    return value.item() if hasattr(value, "item") else value


def _problem(spec: LayerSpec, row_id: Any, column: str | None, value: Any, message: str,
             fix: str, severity: str = "error") -> Problem:
    return Problem(layer=spec.name, row_id=row_id, column=column, value=value,
                   message=message, fix=fix, severity=severity)


def conform_layer(
    df: pd.DataFrame, layer: str, *, repair: bool = True, check_coordinates: bool = True,
    settings: Mapping[str, Any] | None = None,
) -> tuple[pd.DataFrame, list[Problem]]:
    """Bring ``df`` to the schema of ``layer`` and list every problem found.

    Missing optional columns get their documented default; values are cast to the
    column type and checked against the column's range; invalid geometries are
    repaired (with a warning) when ``shapely.make_valid`` gives the same kind of
    geometry; coordinates must lie in the area of use of the layer's CRS
    (:func:`~beatgrid.gis.crs.coordinate_problems`); unknown extra columns are kept.
    The frame is not changed in place.

    Parameters
    ----------
    df
        The layer (a GeoDataFrame for spatial layers, a DataFrame for ``staff``).
    layer
        Layer name, one of :data:`LAYERS`.
    repair
        Repair invalid geometries (default) instead of reporting them as errors.
    check_coordinates
        Check the coordinates against the CRS's area of use (default).
    settings
        The ``core`` settings section (default: the shipped one): the ``[validation]``
        tolerance of the coordinates and the ``plausible_maximum`` overrides.

    Returns
    -------
    (conformed frame, problems)
        ``problems`` holds errors (the layer cannot be used as is) and warnings.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> gdf = gpd.GeoDataFrame({"id": ["a"], "households": ["12"]},
    ...                        geometry=[shapely.box(121.5, 29.8, 121.501, 29.801)], crs=4490)
    >>> out, problems = conform_layer(gdf, "buildings")
    >>> int(out.loc[0, "households"]), out.loc[0, "use"], problems
    (12, 'residential', [])
    """
    spec = get_spec(layer)
    problems: list[Problem] = []
    out = df.copy()
    ids = row_ids(out, spec.id_column)
    maxima = plausible_maxima(spec.name, {"validation": validation_settings(settings)})

    # -- columns: required present, optional defaulted, types cast ---------------------
    for col in spec.columns:
        if col.name not in out.columns:
            if col.required:
                problems.append(_problem(
                    spec, None, col.name, None, "required column is missing",
                    f"add a {col.dtype} column {col.name!r} ({col.description}) or map a source "
                    f"column to it (--map SRC={col.name})"))
                continue
            out[col.name] = col.default
        raw = out[col.name]
        cast, bad = _cast(raw, col.dtype)
        for idx in out.index[bad.to_numpy()]:
            problems.append(_problem(
                spec, ids[idx], col.name, _scalar(out.at[idx, col.name]),
                f"value is not of type {col.dtype}", f"put a value of type {col.dtype} in {col.name!r}"))
        if col.dtype in ("int", "float") and col.minimum is not None:
            ranged = (replace(col, plausible_maximum=maxima[col.name])
                      if col.name in maxima else col)
            problems.extend(_range_problems(spec, ranged, raw, _to_float(raw).where(~bad), ids))
        lost = raw.notna() & ~bad & cast.isna()  # beyond an int: reported as out of range
        out[col.name] = cast
        if col.default is not None and not col.required:
            out[col.name] = out[col.name].where(out[col.name].notna(), col.default)
            if col.dtype == "int":
                out[col.name] = out[col.name].astype("Int64")
        if col.dtype == "bool" and col.default is not None:
            out[col.name] = out[col.name].astype(bool)
        if not col.nullable:
            # preventable is defaulted from the category further down
            if not (spec.name == "incidents" and col.name == "preventable") \
                    and col.name != spec.id_column:
                nulls = out[col.name].isna() & ~bad & ~lost
                for idx in out.index[nulls.to_numpy()]:
                    problems.append(_problem(spec, ids[idx], col.name, None, "value is empty",
                                             f"fill {col.name!r} ({col.description})"))
        values = out[col.name]
        if col.allowed is not None:
            wrong = values.notna() & ~values.isin(col.allowed)
            for idx in out.index[wrong.to_numpy()]:
                problems.append(_problem(
                    spec, ids[idx], col.name, _scalar(values[idx]), "value is not allowed",
                    "use one of: " + ", ".join(map(str, col.allowed))))

    if spec.name == "incidents" and "category" in out.columns:
        default = out["category"].isin(PREVENTABLE_CATEGORIES)
        out["preventable"] = out["preventable"].where(out["preventable"].notna(), default)
        out["preventable"] = out["preventable"].astype(bool)

    # -- ids: present and unique ------------------------------------------------------------
    if spec.id_column in out.columns:
        idcol = out[spec.id_column]
        for idx in out.index[idcol.isna().to_numpy()]:
            problems.append(_problem(spec, f"row {list(out.index).index(idx)}", spec.id_column,
                                     None, "id is empty", "give every feature a unique id"))
        dup = idcol.notna() & idcol.duplicated(keep=False)
        for value in pd.unique(idcol[dup]):
            n = int((idcol == value).sum())
            problems.append(_problem(spec, value, spec.id_column, value,
                                     f"id is used by {n} features",
                                     "make ids unique (e.g. append a suffix)"))

    # -- geometry --------------------------------------------------------------------------
    if spec.spatial:
        out, geom_problems = _conform_geometry(out, spec, ids, repair=repair)
        problems.extend(geom_problems)
        if check_coordinates and isinstance(out, gpd.GeoDataFrame) and out.crs is not None:
            tolerance = validation_settings(settings)["area_of_use_tolerance_deg"]
            problems.extend(coordinate_problems(out, layer=spec.name, ids=ids.tolist(),
                                                tolerance_deg=tolerance))
    return out, problems


def _conform_geometry(out: pd.DataFrame, spec: LayerSpec, ids: pd.Series, *, repair: bool
                      ) -> tuple[pd.DataFrame, list[Problem]]:
    assert spec.geometry_types is not None  # a spatial layer
    problems: list[Problem] = []
    if not isinstance(out, gpd.GeoDataFrame) or out.geometry.name not in out.columns:
        problems.append(_problem(spec, None, "geometry", None, "layer has no geometry",
                                 "give the layer a geometry column, or lon/lat columns for CSV"))
        return out, problems
    if out.crs is None:
        problems.append(_problem(
            spec, None, "geometry", None, "layer has no coordinate reference system",
            "set the CRS of the source file (e.g. EPSG:4326 or EPSG:4490); BeatGrid never "
            "guesses it"))
    elif out.crs.to_epsg() not in STORAGE_EPSG:
        problems.append(_problem(
            spec, None, "geometry", out.crs.to_string(),
            "layer is not stored in geographic coordinates",
            "reproject to EPSG:4490 (CGCS2000) or EPSG:4326 (beatgrid import does this)"))
    geom = out.geometry.array
    missing = shapely.is_missing(geom) | shapely.is_empty(geom)
    for idx in out.index[missing]:
        problems.append(_problem(spec, ids[idx], "geometry", None, "geometry is empty",
                                 "draw the feature or remove the row"))
    present = ~missing
    gtype = np.asarray(shapely.get_type_id(geom))
    names = np.array(["Point", "LineString", "LinearRing", "Polygon", "MultiPoint",
                      "MultiLineString", "MultiPolygon", "GeometryCollection"])
    type_names = np.where(gtype >= 0, names[np.clip(gtype, 0, 7)], "")
    wrong_type = present & ~np.isin(type_names, spec.geometry_types)
    for idx in out.index[wrong_type]:
        problems.append(_problem(
            spec, ids[idx], "geometry", type_names[list(out.index).index(idx)],
            "wrong geometry type", "use " + " or ".join(spec.geometry_types)))
    # NaN / infinite coordinates cannot be repaired: coordinate_problems reports them
    finite = np.isfinite(shapely.bounds(geom)).all(axis=1)
    invalid = present & ~wrong_type & finite & ~shapely.is_valid(geom)
    if invalid.any():
        fixed = shapely.make_valid(geom[invalid])
        if spec.geometry_types == POLYGON:
            # make_valid may return a collection with stray lines: keep the polygonal part
            fixed = np.array([_polygonal(g) for g in fixed], dtype=object)
        new_geom = np.asarray(out.geometry.array, dtype=object).copy()
        positions = np.flatnonzero(invalid)
        for pos, g in zip(positions, fixed):
            idx = out.index[pos]
            reason = shapely.is_valid_reason(geom[pos])
            ok = (g is not None and not g.is_empty and g.geom_type in spec.geometry_types)
            if repair and ok:
                new_geom[pos] = g
                problems.append(_problem(
                    spec, ids[idx], "geometry", reason, "invalid geometry repaired",
                    "check the repaired shape; fix it in the source to silence this",
                    severity="warning"))
            else:
                problems.append(_problem(
                    spec, ids[idx], "geometry", reason, "invalid geometry",
                    "fix the geometry in the source (e.g. QGIS 'Fix geometries')"))
        out = out.set_geometry(gpd.GeoSeries(new_geom, index=out.index, crs=out.crs),
                               crs=out.crs)
    return out, problems


def _polygonal(g: Any) -> Any:
    if g is None:
        return None
    if g.geom_type in POLYGON:
        return g
    parts = [p for p in getattr(g, "geoms", []) if p.geom_type in POLYGON]
    if not parts:
        return None
    merged = shapely.union_all(parts)
    return merged if merged.geom_type in POLYGON else None


@dataclass
class ValidationReport:
    """Every problem found in a project, errors and warnings together.

    Examples
    --------
    >>> from beatgrid.gis.errors import Problem
    >>> report = ValidationReport([Problem(layer="cameras", message="m", fix="f",
    ...                                    severity="warning")])
    >>> report.ok, len(report.warnings), report.format().splitlines()[-1]
    (True, 1, '0 error(s), 1 warning(s)')
    """

    problems: list[Problem]

    @property
    def errors(self) -> list[Problem]:
        """The problems of severity ``error``.

        Examples
        --------
        >>> from beatgrid.gis.errors import Problem
        >>> report = ValidationReport([Problem(layer="cameras", message="value is empty",
        ...                                    fix="fill 'kind'", row_id="c1", column="kind")])
        >>> len(report.errors)
        1
        """
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        """The problems of severity ``warning``.

        Examples
        --------
        >>> from beatgrid.gis.errors import Problem
        >>> report = ValidationReport([Problem(layer="cameras", message="value is empty",
        ...                                    fix="fill 'kind'", row_id="c1", column="kind")])
        >>> report.warnings
        []
        """
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings allowed).

        Examples
        --------
        >>> from beatgrid.gis.errors import Problem
        >>> report = ValidationReport([Problem(layer="cameras", message="value is empty",
        ...                                    fix="fill 'kind'", row_id="c1", column="kind")])
        >>> report.ok
        False
        """
        return not self.errors

    def to_frame(self) -> pd.DataFrame:
        """The problems as a table (severity, layer, row_id, column, value, message, fix).

        Examples
        --------
        >>> from beatgrid.gis.errors import Problem
        >>> report = ValidationReport([Problem(layer="cameras", message="value is empty",
        ...                                    fix="fill 'kind'", row_id="c1", column="kind")])
        >>> report.to_frame()[["layer", "row_id", "column"]].values.tolist()
        [['cameras', 'c1', 'kind']]
        """
        cols = ["severity", "layer", "row_id", "column", "value", "message", "fix"]
        return pd.DataFrame([{c: getattr(p, c) for c in cols} for p in self.problems],
                            columns=cols)

    def format(self, *, limit: int | None = 200) -> str:
        """A readable report, errors first, at most ``limit`` lines of detail.

        Examples
        --------
        >>> from beatgrid.gis.errors import Problem
        >>> report = ValidationReport([Problem(layer="cameras", message="value is empty",
        ...                                    fix="fill 'kind'", row_id="c1", column="kind")])
        >>> print(report.format())
        [error] cameras id=c1 column=kind: value is empty. Fix: fill 'kind'
        1 error(s), 0 warning(s)
        """
        lines: list[str] = []
        shown = sorted(self.problems, key=lambda p: (p.severity != "error", p.layer))
        for p in shown[: limit or None]:
            lines.append(p.format())
        if limit and len(shown) > limit:
            lines.append(f"... {len(shown) - limit} more (see --csv for the full list)")
        lines.append(f"{len(self.errors)} error(s), {len(self.warnings)} warning(s)")
        return "\n".join(lines)

    def raise_if_errors(self) -> None:
        """Raise :class:`~beatgrid.gis.errors.ValidationError` when there is an error.

        Examples
        --------
        >>> from beatgrid.gis.errors import Problem
        >>> report = ValidationReport([Problem(layer="cameras", message="value is empty",
        ...                                    fix="fill 'kind'", row_id="c1", column="kind")])
        >>> report.raise_if_errors()  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        beatgrid.gis.errors.ValidationError: 1 validation error(s)...
        """
        if self.errors:
            raise ValidationError(self.problems)


def validate_project(layers: Mapping[str, pd.DataFrame], *,
                     settings: Mapping[str, Any] | None = None) -> ValidationReport:
    """Validate every layer given, the references between them and where they lie.

    A layer far from the others gets a warning naming the distance
    (:func:`~beatgrid.gis.crs.distant_layers`).

    Parameters
    ----------
    layers
        Layer name to frame; layers missing from the dict are treated as empty.
    settings
        The ``core`` settings section (default: the shipped one): the ``[validation]``
        tolerances.

    Returns
    -------
    ValidationReport
        All problems at once, never just the first.

    Examples
    --------
    >>> from beatgrid.gis import Project
    >>> report = validate_project(Project.open("sample-geodata/ningbo-jiangbei.gpkg").layers)
    >>> report.ok
    True
    """
    problems: list[Problem] = []
    conformed: dict[str, pd.DataFrame] = {}
    for name, df in layers.items():
        if name not in LAYERS:
            continue
        out, layer_problems = conform_layer(df, name, settings=settings)
        conformed[name] = out
        problems.extend(layer_problems)
    problems.extend(check_references(conformed, settings=settings))
    problems.extend(distant_layers(
        conformed, far_km=validation_settings(settings)["far_layer_km"]))
    crss = {df.crs.to_epsg() for df in conformed.values()
            if isinstance(df, gpd.GeoDataFrame) and df.crs is not None and len(df)}
    if len(crss) > 1:
        problems.append(Problem(layer="project", message=f"layers use several CRSs {sorted(crss)}",
                                fix="re-import the odd layers; the project keeps one CRS"))
    return ValidationReport(problems)



def warn_problems(problems: Sequence[Problem]) -> None:
    """Emit each warning-level problem as a Python warning (used after repairs).

    Examples
    --------
    >>> import warnings
    >>> from beatgrid.gis.errors import Problem
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_problems([Problem(layer="streets", message="id generated", fix="none",
    ...                            severity="warning")])
    >>> str(caught[0].message)
    '[warning] streets: id generated. Fix: none'
    """
    for p in problems:
        if p.severity == "warning":
            warnings.warn(p.format(), stacklevel=3)
