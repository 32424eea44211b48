"""Read a layer from a GeoJSON, GeoPackage, Shapefile or CSV file into the BeatGrid schema.

:func:`read_layer_file` does, in order:

1. read the file (:mod:`beatgrid.gis.io.file_readers`: pyogrio for vector formats;
   pandas for CSV, with point geometry from longitude/latitude columns, or from a WKT
   ``geometry`` column);
2. rename columns with ``column_map`` (source -> target), warn about unmapped columns
   whose name says which schema column they hold (``朝向``, ``户数``: the warning gives
   the ``--map``), and replace a city's values by BeatGrid's with ``value_map``;
3. check the CRS: a file without one is an error unless ``crs=`` is given (BeatGrid
   never guesses); CSV, and GeoJSON without a ``crs`` member, are EPSG:4326 unless
   ``crs=`` says otherwise;
4. convert GCJ-02 / BD-09 coordinates to WGS-84 (``coords=``) and record the source
   system in ``attrs["coords_source"]``;
5. reproject to the storage CRS (EPSG:4490 in China, EPSG:4326 elsewhere);
6. fill what can be derived (:mod:`beatgrid.gis.io.fill_columns`): street ids,
   ``street_class`` from an OSM ``highway`` column, building ``households`` estimated
   from ``levels`` and footprint area;
7. :func:`beatgrid.gis.schema.conform_layer`: every error at once as a
   :class:`~beatgrid.gis.errors.ValidationError` (a value outside a column's allowed
   list is one problem per distinct value, with its count); repairs as warnings.

:func:`import_layer` then writes the layer into a project (any store: a GeoPackage
path, a ``postgresql://`` URL or a :class:`~beatgrid.gis.io.store.Store`); a file
without features does not replace a layer unless ``allow_empty=True``.

Examples
--------
>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "cameras.csv")
>>> _ = open(path, "w").write("编号,lng,lat,朝向\\nc1,121.55,29.88,90\\n")
>>> cams = read_layer_file(path, layer_name="cameras", column_map={"编号": "id", "朝向": "direction"})
>>> cams.crs.to_epsg(), cams.loc[0, "direction"], cams.attrs["coords_source"]
(4490, np.float64(90.0), 'wgs84')
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyproj

from beatgrid.gis import schema
from beatgrid.gis.config import section_or_default
from beatgrid.gis.crs import storage_epsg
from beatgrid.gis.audit import AuditLog
from beatgrid.gis.errors import CRSError, InputError, NotFoundError, Problem, ValidationError
from beatgrid.gis.io import china_coords
from beatgrid.gis.io.file_readers import (LAT_NAMES, LON_NAMES, READERS, WKT_NAMES,
                                          apply_column_map, csv_geometry, declares_crs,
                                          match_case, read_csv_frame, read_vector,
                                          reader_kind, single_points, suggest_column_map,
                                          user_crs)
from beatgrid.gis.io.fill_columns import (EXAMPLES_SHOWN, ValueMap, apply_value_maps,
                                          fill_camera_fields, fill_households, fill_street_class,
                                          fill_street_ids)
from beatgrid.gis.io.store import Store, open_store
from beatgrid.gis.io.writing import Frame

__all__ = ["LAT_NAMES", "LON_NAMES", "READERS", "WKT_NAMES", "ValueMap", "fill_camera_fields",
           "fill_households", "fill_street_class", "fill_street_ids", "group_value_problems",
           "import_layer", "order_columns", "read_layer_file", "unmapped_warning"]

def read_layer_file(path: str | Path, *, layer_name: str, source_layer: str | None = None,
                    lon_col: str | None = None, lat_col: str | None = None,
                    coords: str = "wgs84", column_map: Mapping[str, str] | None = None,
                    crs: Any = None, encoding: str | None = None,
                    value_map: ValueMap | None = None,
                    settings: Mapping[str, Any] | None = None) -> Frame:
    """Read a GIS or CSV file as the BeatGrid layer ``layer_name``.

    Parameters
    ----------
    path
        ``.geojson``/``.json``, ``.gpkg``, ``.shp`` (or zipped ``.zip``), ``.fgb``
        or ``.csv``.
    layer_name
        The BeatGrid layer the file becomes (``buildings``, ``cameras``...): the
        schema it is checked against, and the name used in messages.
    source_layer
        Layer inside a multi-layer file (GeoPackage); default the only layer, or the
        one named ``layer_name``.
    lon_col, lat_col
        CSV longitude/latitude columns; default: detected among ``lon``/``lng``/
        ``longitude``/``x`` and ``lat``/``latitude``/``y`` (any case; also ``经度``/
        ``纬度``). Without them a WKT column ``geometry`` is used when present.
    coords
        Coordinate system of longitude/latitude data: ``"wgs84"``, ``"gcj02"``
        (AMap/Gaode, Tencent) or ``"bd09"`` (Baidu); converted to WGS-84.
    column_map
        ``{source column: schema column}`` renames, e.g. ``{"编号": "id"}``. Columns
        left unmapped whose name says which missing schema column they hold (the
        ``[import] column_synonyms`` of ``settings``: ``朝向``, ``户数``,
        ``households``...) are reported in a warning giving the map to add.
    crs
        CRS of data that declare none (CSV, a Shapefile without ``.prj``, a GeoJSON
        without a ``crs`` member, whose RFC 7946 default of longitude/latitude it
        replaces); a file declaring another CRS is an error. CSV defaults to
        EPSG:4326. The coordinates must lie in the CRS's area of use either way.
    encoding
        Text encoding of a CSV / Shapefile without ``.cpg`` (CSV tries UTF-8, then
        GB18030).
    value_map
        A city's values to BeatGrid's, per schema column (after ``column_map``):
        ``{"category": {"THEFT": "bicycle_theft", ...}}`` or ``{"category":
        "codes.csv"}`` (two columns: source value, BeatGrid value; CLI
        ``--map-values category=codes.csv``). Values not in the map are kept.
    settings
        The ``core`` settings section (``project.config.core``; default the shipped
        one); uses ``[import] dwelling_size_m2``, ``inverse_tolerance_m`` and
        ``column_synonyms``, and ``[validation]`` (the area of use's tolerance, the
        plausible maxima).

    Returns
    -------
    GeoDataFrame
        Conformed to the schema (DataFrame for ``staff``), in the storage CRS;
        ``attrs`` holds ``source``, ``source_layer``, ``coords_source``.

    Raises
    ------
    NotFoundError
        The file does not exist.
    InputError
        Unknown extension, layer, column, coordinate system; no lon/lat columns.
    CRSError
        The data have no CRS and ``crs=`` was not given, or ``crs=`` contradicts the file.
    ValidationError
        Schema errors (missing required columns, wrong types or values, bad
        geometries), all at once; a value not allowed in a column is one problem per
        distinct value, with its count, the allowed list and the ``--map-values`` fix.
        Warnings (repairs, values left empty) are emitted as Python warnings.

    Examples
    --------
    >>> import tempfile, os, geopandas as gpd, shapely
    >>> path = os.path.join(tempfile.mkdtemp(), "b.geojson")
    >>> gpd.GeoDataFrame({"code": ["b1"], "levels": [6]},
    ...                  geometry=[shapely.box(121.5, 29.8, 121.5002, 29.8002)],
    ...                  crs=4326).to_file(path)
    >>> b = read_layer_file(path, layer_name="buildings", column_map={"code": "id"})
    >>> int(b.loc[0, "households"]), bool(b.loc[0, "households_estimated"])
    (29, True)
    """
    path = Path(path)
    spec = schema.get_spec(layer_name)
    coords = china_coords.check_coords(coords)
    given_crs = user_crs(crs)
    kind = reader_kind(path)
    if not path.exists():
        raise NotFoundError(f"file {str(path)!r} for layer {layer_name!r} does not exist",
                            fix="check the path")
    imports = section_or_default(settings, "core")["import"]
    notes: list[str] = []
    df: Frame

    # -- read ------------------------------------------------------------------------------
    if kind == "csv":
        frame = read_csv_frame(path, encoding)
        frame = apply_column_map(frame, column_map, path=path, notes=notes)
        if spec.spatial:
            lon_col = column_map.get(lon_col, lon_col) if column_map and lon_col else lon_col
            lat_col = column_map.get(lat_col, lat_col) if column_map and lat_col else lat_col
            df = csv_geometry(frame, path=path, spec=spec, lon_col=lon_col, lat_col=lat_col,
                              crs=given_crs or pyproj.CRS.from_epsg(4326))
        else:
            df = frame
    else:
        df, source_layer = read_vector(path, spec=spec, source_layer=source_layer,
                                       encoding=encoding)
        if not spec.spatial:
            df = pd.DataFrame(df.drop(columns=["geometry"], errors="ignore"))
        df = apply_column_map(df, column_map, path=path, notes=notes)
        if spec.spatial:
            if df.crs is None:
                if given_crs is None:
                    raise CRSError(
                        f"{str(path)!r} (layer {layer_name!r}) has no coordinate reference "
                        "system", fix="pass crs= (--crs), e.g. EPSG:4490 or EPSG:4326; "
                                      "BeatGrid never guesses it")
                df = df.set_crs(given_crs)
            elif given_crs is not None and not declares_crs(path):
                df = df.set_crs(given_crs, allow_override=True)  # a GeoJSON without 'crs'
            elif given_crs is not None and not df.crs.equals(given_crs, ignore_axis_order=True):
                raise CRSError(
                    f"{str(path)!r} declares CRS {df.crs.to_string()} but crs={crs!r} was "
                    "given", fix="omit crs= (the file's CRS is used), or correct the file")
    df = match_case(df, spec, notes)
    suggested = suggest_column_map(df.columns, spec, synonyms=imports.get("column_synonyms"))
    if suggested:
        warnings.warn(unmapped_warning(suggested, layer=layer_name, path=path), stacklevel=2)
    df = apply_value_maps(df, value_map, spec=spec, path=path, notes=notes)

    # -- coordinates -----------------------------------------------------------------------
    if spec.spatial:
        if coords != "wgs84":
            if not df.crs.is_geographic:
                raise CRSError(
                    f"coords={coords!r} for {str(path)!r}, but its CRS {df.crs.to_string()} is "
                    "projected", fix="GCJ-02/BD-09 apply to longitude/latitude only: use "
                                     "coords=wgs84 for projected data")
            df = china_coords.to_wgs84(df, source=coords,
                                       tolerance_m=float(imports["inverse_tolerance_m"]))
        if len(df) and not df.geometry.isna().all():
            df = df.to_crs(storage_epsg(df, layer=layer_name, settings=settings))
        elif df.crs.to_epsg() not in schema.STORAGE_EPSG:
            df = df.to_crs(4326)
        if spec.geometry_types == schema.POINT:
            df = single_points(df)

    # -- derived columns -------------------------------------------------------------------
    if layer_name == "streets":
        df, generated = fill_street_ids(df)
        if generated:
            notes.append(f"{generated} street id(s) generated")
        df = fill_street_class(df, notes)
    if layer_name == "cameras":
        df = fill_camera_fields(df, notes)
    if layer_name == "buildings":
        df = fill_households(df, dwelling_size_m2=float(imports["dwelling_size_m2"]),
                             notes=notes)

    # -- schema ----------------------------------------------------------------------------
    out, problems = schema.conform_layer(df, layer_name, settings=settings)
    if layer_name == "buildings":
        problems = [dataclasses.replace(
            p, fix="add a households column (--map SRC=households), or a levels column so "
                   "households can be estimated from the footprint area")
            if p.column == "households" and p.row_id is None and p.severity == "error"
            else p for p in problems]
    problems = [dataclasses.replace(p, fix=f"map it: --map {_source_of(suggested, p.column)}="
                                           f"{p.column}")
                if p.row_id is None and p.severity == "error" and p.column in suggested.values()
                else p for p in problems]
    problems = group_value_problems(problems, spec, value_map=value_map)
    if any(p.severity == "error" for p in problems):
        raise ValidationError(problems)
    schema.warn_problems(problems)
    if notes:
        warnings.warn(f"import {layer_name} from {path.name}: " + "; ".join(notes), stacklevel=2)
    out = order_columns(out, layer_name)
    out.attrs.update({"source": str(path), "source_layer": source_layer,
                      "coords_source": coords})
    return out


def _source_of(suggested: Mapping[str, str], column: str | None) -> str | None:
    return next((src for src, dst in suggested.items() if dst == column), None)


def unmapped_warning(suggested: Mapping[str, str], *, layer: str, path: Path) -> str:
    """The warning about unmapped columns named like schema columns, with the ``--map``.

    Examples
    --------
    >>> print(unmapped_warning({"朝向": "direction"}, layer="cameras", path=Path("c.csv")))
    import cameras from c.csv: column '朝向' looks like cameras.direction but is not mapped, so it is not read (a camera without a direction counts as a 360-degree dome). Fix: --map 朝向=direction (column_map={'朝向': 'direction'})
    """
    why = (" (a camera without a direction counts as a 360-degree dome)"
           if "direction" in suggested.values() and layer == "cameras" else "")
    maps = " ".join(f"--map {src}={dst}" for src, dst in suggested.items())
    if len(suggested) == 1:
        [(src, dst)] = suggested.items()
        what = f"column {src!r} looks like {layer}.{dst} but is not mapped, so it is not read"
    else:
        what = ("columns " + ", ".join(f"{src!r} ({layer}.{dst})" for src, dst in
                                       suggested.items())
                + " look like schema columns but are not mapped, so they are not read")
    return (f"import {layer} from {path.name}: {what}{why}. Fix: {maps} "
            f"(column_map={dict(suggested)!r})")


def group_value_problems(problems: list[Problem], spec: schema.LayerSpec, *,
                         value_map: ValueMap | None = None) -> list[Problem]:
    """One problem per distinct value not allowed in a column, with its count and the fix.

    Row-level "value is not allowed" problems of a column with an allowed list
    (``incidents.category``, ``cameras.kind``...) are replaced by one problem per
    distinct value, most frequent first: the count, a few ids (a value of one row keeps
    its row's problem), the allowed values (for ``incidents.category``, which are
    preventable) and the ``--map-values`` fix. Other problems are kept as they are.

    Examples
    --------
    >>> ps = [Problem(layer="incidents", row_id=i, column="category", value="THEFT",
    ...               message="value is not allowed", fix="use one of: ...") for i in "abc"]
    >>> [(p.message, p.value) for p in group_value_problems(ps, schema.get_spec("incidents"))]
    [('value is not allowed in 3 rows (e.g. id a, b, c)', 'THEFT')]
    """
    allowed = {c.name: [str(v) for v in c.allowed] for c in spec.columns if c.allowed}
    groups: dict[tuple[str, str], list[Problem]] = {}
    kept: list[Problem] = []
    for p in problems:
        if (p.severity == "error" and p.row_id is not None and p.column in allowed
                and p.value is not None and str(p.value) not in allowed[p.column]):
            groups.setdefault((p.column, str(p.value)), []).append(p)
        else:
            kept.append(p)
    grouped: list[Problem] = []
    for (column, value), items in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        choices = [f"{v} (preventable)" if spec.name == "incidents" and column == "category"
                   and v in schema.PREVENTABLE_CATEGORIES else v for v in allowed[column]]
        given = value_map.get(column) if value_map else None
        mapped = ("" if given is None else " (not in the value map " + (
            repr(str(given)) if isinstance(given, (str, Path)) else "value_map") + ")")
        fix = (f"map the values with --map-values {column}=FILE.csv (lines 'source value,"
               f"BeatGrid value'; value_map={{{column!r}: {{...}}}}) to one of: "
               + ", ".join(choices))
        if len(items) == 1:  # one row: the row's own problem, with the fix
            grouped.append(dataclasses.replace(items[0], message=items[0].message + mapped,
                                               fix=fix))
            continue
        ids = ", ".join(str(p.row_id) for p in items[:EXAMPLES_SHOWN])
        grouped.append(Problem(
            layer=spec.name, column=column, value=items[0].value, fix=fix,
            message=f"value is not allowed{mapped} in {len(items):,} rows (e.g. id {ids})"))
    return kept + grouped


def order_columns(df: Frame, layer: str) -> Frame:
    """Schema columns first (in schema order), then extra columns, geometry last.

    Examples
    --------
    >>> order_columns(pd.DataFrame({"note": ["x"], "beat_id": ["B01"]}), "staff").columns.tolist()
    ['beat_id', 'note']
    """
    spec = schema.get_spec(layer)
    geom = [df.geometry.name] if isinstance(df, gpd.GeoDataFrame) else []
    first = [c for c in spec.column_names if c in df.columns]
    extra = [c for c in df.columns if c not in first and c not in geom]
    return df[first + extra + geom]


def import_layer(project: str | Path | Store, layer: str, file: str | Path, *,
                 append: bool = False, allow_empty: bool = False, **options: Any) -> int:
    """Read ``file`` as ``layer`` (:func:`read_layer_file`) and write it into a project.

    Parameters
    ----------
    project
        The project: a GeoPackage path (created when missing), a ``postgresql://``
        URL or a store (``project.store``).
    layer
        BeatGrid layer name.
    file
        The file to import.
    append
        Add the features to the stored layer instead of replacing it.
    allow_empty
        Let a file without features (a CSV holding only its header) replace the
        stored layer with an empty one (CLI ``--allow-empty``); refused otherwise.
    **options
        Passed to :func:`read_layer_file` (``source_layer``, ``lon_col``, ``lat_col``,
        ``coords``, ``column_map``, ``value_map``, ``crs``, ``encoding``, ``settings``).

    Returns
    -------
    int
        The number of features imported (read from ``file``).

    Raises
    ------
    InputError
        ``file`` has no features and neither ``append`` nor ``allow_empty`` is set (the
        message names the file, the features it would remove and the flag); and
        everything :func:`read_layer_file` and the store's ``write_layers`` raise.
        Nothing is written when an error is raised.

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> _ = open(os.path.join(d, "c.csv"), "w").write("id,lon,lat\\nc1,121.55,29.88\\n")
    >>> import_layer(os.path.join(d, "p.gpkg"), "cameras", os.path.join(d, "c.csv"))
    1
    """
    store = open_store(project, settings=options.get("settings"))
    gdf = read_layer_file(file, layer_name=layer, **options)
    if len(gdf) == 0 and not append and not allow_empty:
        stored = (len(store.read_layer(layer))
                  if store.exists() and layer in store.list_layers() else 0)
        loss = (f"replace the {stored:,} stored {layer} with none" if stored
                else f"leave {layer} empty")
        raise InputError(
            f"{str(file)!r} holds no {layer} features (only a header?): importing it would "
            f"{loss}", fix="check the file (and --source-layer); to empty the layer on "
                           "purpose pass --allow-empty (allow_empty=True)")
    with store.locked():
        before = store.state() if store.exists() else None
        rows = store.write_layers({layer: gdf}, append=append,
                                  meta={"source": str(file),
                                        "coords": gdf.attrs.get("coords_source", "wgs84"),
                                        "rows": int(len(gdf)),
                                        "source_layer": gdf.attrs.get("source_layer")})
        AuditLog(store.records).write_layers([layer], rows, before=before,
                                             after=store.state(),
                                             mode="append" if append else "replace")
    return int(len(gdf))
