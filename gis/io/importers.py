"""Read a layer from a GeoJSON, GeoPackage, Shapefile or CSV file into the BeatGrid schema.

:func:`read_layer_file` does, in order:

1. read the file (pyogrio for vector formats; pandas for CSV, with point geometry
   from longitude/latitude columns, or from a WKT ``geometry`` column);
2. rename columns with ``column_map`` (source -> target);
3. check the CRS: a file without one is an error unless ``crs=`` is given (BeatGrid
   never guesses); CSV is EPSG:4326 unless ``crs=`` says otherwise;
4. convert GCJ-02 / BD-09 coordinates to WGS-84 (``coords=``) and record the source
   system in ``attrs["coords_source"]``;
5. reproject to the storage CRS (EPSG:4490 in China, EPSG:4326 elsewhere);
6. fill what can be derived: street ids, ``street_class`` from an OSM ``highway``
   column, building ``households`` estimated from ``levels`` and footprint area;
7. :func:`beatgrid.gis.schema.conform_layer`: every error at once as a
   :class:`~beatgrid.gis.errors.ValidationError`; repairs as warnings.

:func:`import_layer` then writes the layer into a project.

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
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely

from beatgrid.gis import schema
from beatgrid.gis.io import china_coords
from beatgrid.gis.io import osm_tags as osm_normalise
from beatgrid.gis.crs import storage_epsg, to_metric
from beatgrid.gis.errors import CRSError, InputError, NotFoundError, ValidationError
from beatgrid.gis.config import load_settings
from beatgrid.gis.io.export import SHAPEFILE_NAMES

#: Extension -> reader kind.
READERS = {".geojson": "vector", ".json": "vector", ".gpkg": "vector", ".shp": "vector",
           ".zip": "vector", ".fgb": "vector", ".csv": "csv"}

#: Column names recognised as longitude / latitude in CSV files (case-insensitive, in order).
LON_NAMES = ("lon", "lng", "long", "longitude", "x", "经度", "wgs84_lon", "gcj02_lon")
LAT_NAMES = ("lat", "latitude", "y", "纬度", "wgs84_lat", "gcj02_lat")
#: Column names recognised as WKT geometry in CSV files (case-insensitive).
WKT_NAMES = ("geometry", "wkt", "geom", "the_geom", "shape")


# --------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------

def _user_crs(crs, *, argument="crs") -> pyproj.CRS | None:
    if crs is None:
        return None
    try:
        return pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError:
        raise CRSError(f"{argument}={crs!r} is not a coordinate reference system",
                       fix="give an EPSG code such as 4326, 4490 or 'EPSG:4547'") from None


def _kind(path: Path) -> str:
    ext = path.suffix.lower()
    if ext not in READERS:
        raise InputError(f"cannot import {str(path)!r}: unknown extension {ext or '(none)'!r}",
                         fix="use one of: " + ", ".join(READERS))
    return READERS[ext]


def _read_vector(path: Path, *, spec: schema.LayerSpec, source_layer, encoding):
    layer_name, spatial = spec.name, spec.spatial
    try:
        available = [str(name) for name, _ in pyogrio.list_layers(path)]
    except Exception as exc:
        raise InputError(f"cannot read {str(path)!r}: {exc}",
                         fix="check that the file is a valid GIS file") from None
    if source_layer is None and len(available) > 1:
        if layer_name in available:
            source_layer = layer_name
        else:
            raise InputError(
                f"{str(path)!r} holds {len(available)} layers; which one is {layer_name!r}?",
                fix="pass source_layer= (--source-layer) with one of: " + ", ".join(available))
    if source_layer is not None and str(source_layer) not in available:
        raise InputError(f"{str(path)!r} has no layer {source_layer!r}",
                         fix="use one of: " + ", ".join(available))
    kwargs = {"layer": source_layer} if source_layer is not None else {}
    if encoding:
        kwargs["encoding"] = encoding
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*Measured \\(M\\) geometry.*")
        gdf = gpd.read_file(path, engine="pyogrio", read_geometry=spatial, **kwargs)
    if isinstance(gdf, gpd.GeoDataFrame) and gdf.geometry.name != "geometry":
        gdf = gdf.rename_geometry("geometry")
    if path.suffix.lower() in (".shp", ".zip"):
        back = {short: long for long, short in SHAPEFILE_NAMES.items()
                if long in spec.column_names and short in gdf.columns
                and long not in gdf.columns}
        gdf = gdf.rename(columns=back)
    return gdf, source_layer


def _read_csv_frame(path: Path, encoding) -> pd.DataFrame:
    encodings = [encoding] if encoding else ["utf-8-sig", "gb18030"]
    for enc in encodings:
        try:
            df = pd.read_csv(path, dtype=str, encoding=enc, skipinitialspace=True)
        except UnicodeDecodeError:
            continue
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise InputError(f"cannot read CSV {str(path)!r}: {exc}",
                             fix="check the separator (comma) and the quoting") from None
        df.columns = [str(c).strip() for c in df.columns]
        return df
    raise InputError(f"cannot decode CSV {str(path)!r} as {' or '.join(encodings)}",
                     fix="save it as UTF-8, or pass encoding=")


def _find_column(columns, names) -> str | None:
    lower = {str(c).lower(): c for c in columns}
    for name in names:
        if name in lower:
            return lower[name]
    return None


def _csv_geometry(df: pd.DataFrame, *, path: Path, spec: schema.LayerSpec, lon_col, lat_col,
                  crs: pyproj.CRS) -> gpd.GeoDataFrame:
    cols = list(df.columns)
    listed = ", ".join(map(str, cols)) or "(none)"
    for arg, col in (("lon_col", lon_col), ("lat_col", lat_col)):
        if col is not None and col not in df.columns:
            raise InputError(f"{arg}={col!r} is not a column of {str(path)!r}",
                             fix=f"use one of its columns: {listed}")
    wkt_col = _find_column(cols, WKT_NAMES)
    if lon_col is None and lat_col is None and wkt_col is not None:
        values = df[wkt_col]
        present = values.notna() & (values.str.strip() != "")
        geom = shapely.from_wkt(values.where(present, None).to_numpy(), on_invalid="ignore")
        bad = present.to_numpy() & shapely.is_missing(geom)
        if bad.any():
            rows = ", ".join(str(i + 2) for i in np.flatnonzero(bad)[:5])
            raise InputError(f"column {wkt_col!r} of {str(path)!r} has invalid WKT "
                             f"(file line(s) {rows})",
                             fix="write geometries as WKT, e.g. POINT (121.55 29.88)")
        return gpd.GeoDataFrame(df.drop(columns=[wkt_col]), geometry=geom, crs=crs)
    lon_col = lon_col or _find_column(cols, LON_NAMES)
    lat_col = lat_col or _find_column(cols, LAT_NAMES)
    if lon_col is None or lat_col is None:
        missing = " and ".join(n for n, c in (("longitude", lon_col), ("latitude", lat_col))
                               if c is None)
        raise InputError(
            f"no {missing} column found in {str(path)!r} (columns: {listed})",
            fix="name them lon/lat (or lng, longitude, x / latitude, y), pass --lon-col and "
                "--lat-col, or give a WKT column 'geometry'")
    if spec.geometry_types != schema.POINT:
        raise InputError(
            f"layer {spec.name!r} needs {' or '.join(spec.geometry_types)} geometries, but "
            f"{str(path)!r} gives points (columns {lon_col!r}, {lat_col!r})",
            fix="give a WKT column 'geometry', or import a GeoJSON/GeoPackage/Shapefile")
    x = pd.to_numeric(df[lon_col].str.strip(), errors="coerce")
    y = pd.to_numeric(df[lat_col].str.strip(), errors="coerce")
    if crs.is_geographic:
        wrong = (x.abs() > 180) | (y.abs() > 90)
        if wrong.any():
            i = int(np.flatnonzero(wrong.to_numpy())[0])
            raise InputError(
                f"{str(path)!r} line {i + 2}: ({lon_col}={df[lon_col].iloc[i]}, "
                f"{lat_col}={df[lat_col].iloc[i]}) is not a longitude/latitude",
                fix="check that the columns are not swapped, or pass crs= for projected "
                    "coordinates (e.g. EPSG:4547)")
    ok = (x.notna() & y.notna()).to_numpy()
    geom = np.full(len(df), None, dtype=object)
    geom[ok] = shapely.points(x.to_numpy()[ok], y.to_numpy()[ok])
    return gpd.GeoDataFrame(df.drop(columns=[lon_col, lat_col]), geometry=geom, crs=crs)


def _apply_column_map(df, column_map: dict | None, *, path: Path, notes: list):
    if not column_map:
        return df
    geometry = df.geometry.name if isinstance(df, gpd.GeoDataFrame) else None
    listed = ", ".join(str(c) for c in df.columns if c != geometry)
    for src, dst in column_map.items():
        if src not in df.columns or src == geometry:
            raise InputError(f"column_map source {src!r} is not a column of {str(path)!r}",
                             fix=f"map one of its columns: {listed}")
        if not isinstance(dst, str) or not dst.strip() or dst == geometry:
            raise InputError(f"column_map target {dst!r} for {src!r} is not a usable name",
                             fix="map to a schema column name such as 'id'")
    targets = list(column_map.values())
    dup = {t for t in targets if targets.count(t) > 1}
    if dup:
        raise InputError(f"column_map maps several columns to {sorted(dup)}",
                         fix="map one source column to each target")
    clash = [t for t in targets if t in df.columns and t not in column_map]
    if clash:
        notes.append(f"existing column(s) {clash} replaced by the mapped one(s)")
        df = df.drop(columns=clash)
    return df.rename(columns=column_map)


def _match_case(df, spec: schema.LayerSpec, notes: list):
    """Rename columns that differ from a schema column only by case (``ID`` -> ``id``)."""
    rename = {}
    for name in spec.column_names:
        if name in df.columns:
            continue
        same = [c for c in df.columns if isinstance(c, str) and c.strip().lower() == name]
        if len(same) == 1:
            rename[same[0]] = name
    if rename:
        notes.append("columns renamed: " + ", ".join(f"{a}->{b}" for a, b in rename.items()))
    return df.rename(columns=rename)


def _single_points(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    geom = np.asarray(gdf.geometry.array, dtype=object)
    one = (shapely.get_type_id(geom) == 4) & (shapely.get_num_geometries(geom) == 1)
    if one.any():
        geom = geom.copy()
        geom[one] = shapely.get_geometry(geom[one], 0)
        gdf = gdf.set_geometry(gpd.GeoSeries(geom, index=gdf.index, crs=gdf.crs))
    return gdf


# --------------------------------------------------------------------------------------
# Derived columns
# --------------------------------------------------------------------------------------

def fill_street_ids(df, *, prefix: str = "street-") -> tuple[pd.DataFrame, int]:
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
    new, n = [], 0
    for _ in range(int(missing.sum())):
        n += 1
        while f"{prefix}{n}" in taken:
            n += 1
        new.append(f"{prefix}{n}")
    ids = ids.astype(object).copy()
    ids[missing.to_numpy()] = new
    out["id"] = ids
    return out, len(new)


def fill_street_class(df, notes: list):
    """``street_class`` from an OSM ``highway`` column, or OSM values in ``street_class``."""
    out = df.copy()
    if "street_class" not in out.columns and "highway" in out.columns:
        out["street_class"] = [osm_normalise.street_class(h) for h in out["highway"]]
        notes.append("street_class derived from the 'highway' column")
    elif "street_class" in out.columns:
        values = out["street_class"]
        osm = values.notna() & ~values.isin(schema.STREET_CLASSES) & values.astype(str).str.lower(
        ).isin(osm_normalise.HIGHWAY_CLASSES)
        if osm.any():
            out.loc[osm, "street_class"] = [osm_normalise.street_class(v) for v in values[osm]]
            notes.append(f"{int(osm.sum())} OSM highway value(s) in street_class mapped to "
                         "BeatGrid classes")
    return out


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def fill_camera_fields(df, notes: list):
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
                direction, fov = osm_normalise.parse_direction(value)
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
                heights[idx] = osm_normalise.parse_length_m(value)
                changed += 1
            except ValueError:
                continue
        out["height_m"] = heights
    if changed:
        notes.append(f"{changed} text direction/height value(s) read as degrees/metres")
    return out


def fill_households(gdf: gpd.GeoDataFrame, *, dwelling_size_m2: float, notes: list):
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
    estimate = osm_normalise.estimate_households(
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


# --------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------

def read_layer_file(path, *, layer_name: str, source_layer: str | None = None,
                    lon_col: str | None = None, lat_col: str | None = None,
                    coords: str = "wgs84", column_map: dict | None = None, crs=None,
                    encoding: str | None = None, settings=None):
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
        ``{source column: schema column}`` renames, e.g. ``{"编号": "id"}``.
    crs
        CRS of data that have none (CSV, a Shapefile without ``.prj``); a file
        declaring another CRS is an error. CSV defaults to EPSG:4326.
    encoding
        Text encoding of a CSV / Shapefile without ``.cpg`` (CSV tries UTF-8, then
        GB18030).
    settings
        Settings dict (``load_settings("settings")``) or override; uses
        ``[import] dwelling_size_m2``.

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
        geometries), all at once; warnings (repairs) are emitted as Python warnings.

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
    user_crs = _user_crs(crs)
    kind = _kind(path)
    if not path.exists():
        raise NotFoundError(f"file {str(path)!r} for layer {layer_name!r} does not exist",
                            fix="check the path")
    cfg = load_settings("settings", settings)
    notes: list[str] = []

    # -- read ------------------------------------------------------------------------------
    if kind == "csv":
        frame = _read_csv_frame(path, encoding)
        frame = _apply_column_map(frame, column_map, path=path, notes=notes)
        if spec.spatial:
            lon_col = column_map.get(lon_col, lon_col) if column_map and lon_col else lon_col
            lat_col = column_map.get(lat_col, lat_col) if column_map and lat_col else lat_col
            df = _csv_geometry(frame, path=path, spec=spec, lon_col=lon_col, lat_col=lat_col,
                               crs=user_crs or pyproj.CRS.from_epsg(4326))
        else:
            df = frame
    else:
        df, source_layer = _read_vector(path, spec=spec, source_layer=source_layer,
                                        encoding=encoding)
        if not spec.spatial:
            df = pd.DataFrame(df.drop(columns=["geometry"], errors="ignore"))
        df = _apply_column_map(df, column_map, path=path, notes=notes)
        if spec.spatial:
            if df.crs is None:
                if user_crs is None:
                    raise CRSError(
                        f"{str(path)!r} (layer {layer_name!r}) has no coordinate reference "
                        "system", fix="pass crs= (--crs), e.g. EPSG:4490 or EPSG:4326; "
                                      "BeatGrid never guesses it")
                df = df.set_crs(user_crs)
            elif user_crs is not None and not df.crs.equals(user_crs, ignore_axis_order=True):
                raise CRSError(
                    f"{str(path)!r} declares CRS {df.crs.to_string()} but crs={crs!r} was "
                    "given", fix="omit crs= (the file's CRS is used), or correct the file")
    df = _match_case(df, spec, notes)

    # -- coordinates -----------------------------------------------------------------------
    if spec.spatial:
        if coords != "wgs84":
            if not df.crs.is_geographic:
                raise CRSError(
                    f"coords={coords!r} for {str(path)!r}, but its CRS {df.crs.to_string()} is "
                    "projected", fix="GCJ-02/BD-09 apply to longitude/latitude only: use "
                                     "coords=wgs84 for projected data")
            df = china_coords.to_wgs84(df, source=coords)
        if len(df) and not df.geometry.isna().all():
            df = df.to_crs(storage_epsg(df, layer=layer_name))
        elif df.crs.to_epsg() not in schema.STORAGE_EPSG:
            df = df.to_crs(4326)
        if spec.geometry_types == schema.POINT:
            df = _single_points(df)

    # -- derived columns -------------------------------------------------------------------
    if layer_name == "streets":
        df, generated = fill_street_ids(df)
        if generated:
            notes.append(f"{generated} street id(s) generated")
        df = fill_street_class(df, notes)
    if layer_name == "cameras":
        df = fill_camera_fields(df, notes)
    if layer_name == "buildings":
        df = fill_households(df, dwelling_size_m2=float(cfg["import"]["dwelling_size_m2"]),
                             notes=notes)

    # -- schema ----------------------------------------------------------------------------
    out, problems = schema.conform_layer(df, layer_name)
    if layer_name == "buildings":
        problems = [dataclasses.replace(
            p, fix="add a households column (--map SRC=households), or a levels column so "
                   "households can be estimated from the footprint area")
            if p.column == "households" and p.row_id is None and p.severity == "error"
            else p for p in problems]
    if any(p.severity == "error" for p in problems):
        raise ValidationError(problems)
    schema.warn_problems(problems)
    if notes:
        warnings.warn(f"import {layer_name} from {path.name}: " + "; ".join(notes), stacklevel=2)
    out = order_columns(out, layer_name)
    out.attrs.update({"source": str(path), "source_layer": source_layer,
                      "coords_source": coords})
    return out


def order_columns(df, layer: str):
    """Schema columns first (in schema order), then extra columns, geometry last."""
    spec = schema.get_spec(layer)
    geom = [df.geometry.name] if isinstance(df, gpd.GeoDataFrame) else []
    first = [c for c in spec.column_names if c in df.columns]
    extra = [c for c in df.columns if c not in first and c not in geom]
    return df[first + extra + geom]


def import_layer(project_path, layer: str, file, *, append: bool = False, **options) -> int:
    """Read ``file`` as ``layer`` (:func:`read_layer_file`) and write it into a project.

    Parameters
    ----------
    project_path
        The project GeoPackage (created when missing).
    layer
        BeatGrid layer name.
    file
        The file to import.
    append
        Add the features to the stored layer instead of replacing it.
    **options
        Passed to :func:`read_layer_file` (``source_layer``, ``lon_col``, ``lat_col``,
        ``coords``, ``column_map``, ``crs``, ``encoding``, ``settings``).

    Returns
    -------
    int
        The number of features imported (read from ``file``).

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> _ = open(os.path.join(d, "c.csv"), "w").write("id,lon,lat\\nc1,121.55,29.88\\n")
    >>> import_layer(os.path.join(d, "p.gpkg"), "cameras", os.path.join(d, "c.csv"))
    1
    """
    from beatgrid.gis.io.project import write_layers

    gdf = read_layer_file(file, layer_name=layer, **options)
    write_layers(project_path, {layer: gdf}, append=append,
                 meta={"source": str(file), "coords": gdf.attrs.get("coords_source", "wgs84"),
                       "rows": int(len(gdf)), "source_layer": gdf.attrs.get("source_layer")})
    return int(len(gdf))
