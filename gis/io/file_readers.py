"""Reading GIS and CSV files into frames: formats, CSV coordinates, column names.

The first steps of :func:`beatgrid.gis.io.importers.read_layer_file`, each usable on
its own:

- :func:`reader_kind`: the reader of a file from its extension (:data:`READERS`);
- :func:`read_vector`: GeoJSON, GeoPackage (one of its layers), Shapefile (short
  column names mapped back, see :data:`beatgrid.gis.io.export.SHAPEFILE_NAMES`),
  FlatGeobuf through pyogrio;
- :func:`read_csv_frame`: CSV as text (UTF-8, then GB18030) and :func:`csv_geometry`:
  points from longitude/latitude columns (:data:`LON_NAMES`, :data:`LAT_NAMES`) or
  geometries from a WKT column (:data:`WKT_NAMES`);
- :func:`apply_column_map` and :func:`match_case`: source columns renamed to schema
  columns;
- :func:`declares_crs` (a GeoJSON without a ``crs`` member declares none),
  :func:`user_crs`, :func:`single_points`.

Examples
--------
>>> find_column(["ID", "Lng", "Lat"], LON_NAMES), find_column(["ID", "Lng", "Lat"], LAT_NAMES)
('Lng', 'Lat')
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely

from beatgrid.gis import schema
from beatgrid.gis.config import section_or_default
from beatgrid.gis.errors import CRSError, InputError
from beatgrid.gis.io.export import SHAPEFILE_NAMES
from beatgrid.gis.layer_specs import column_name_key

#: Extension -> reader kind.
READERS = {".geojson": "vector", ".json": "vector", ".gpkg": "vector", ".shp": "vector",
           ".zip": "vector", ".fgb": "vector", ".csv": "csv"}

#: Column names recognised as longitude / latitude in CSV files (case-insensitive, in order).
LON_NAMES = ("lon", "lng", "long", "longitude", "x", "经度", "wgs84_lon", "gcj02_lon")
LAT_NAMES = ("lat", "latitude", "y", "纬度", "wgs84_lat", "gcj02_lat")
#: Column names recognised as WKT geometry in CSV files (case-insensitive).
WKT_NAMES = ("geometry", "wkt", "geom", "the_geom", "shape")


def suggest_column_map(columns: Iterable[Any], spec: schema.LayerSpec, *,
                       synonyms: Mapping[str, Mapping[str, Sequence[str]]] | None = None
                       ) -> dict[str, str]:
    """``{source column: schema column}`` for unmapped columns named like a missing schema column.

    A source column is suggested for a schema column of ``spec`` that the frame lacks
    when its name, without case, spaces, ``_``, ``-`` and ``:``
    (:func:`~beatgrid.gis.layer_specs.column_name_key`), is one of that column's names
    in ``synonyms``: the ``[import] column_synonyms`` table of the ``core`` settings
    (layer -> column -> names; default the shipped one).

    Examples
    --------
    >>> suggest_column_map(["id", "朝向", "Mount Height", "备注"], schema.get_spec("cameras"))
    {'朝向': 'direction', 'Mount Height': 'height_m'}
    >>> suggest_column_map(["id", "direction", "方向"], schema.get_spec("cameras"))
    {}
    >>> suggest_column_map(["镜头朝向"], schema.get_spec("cameras"),
    ...                    synonyms={"cameras": {"direction": ["镜头朝向"]}})
    {'镜头朝向': 'direction'}
    """
    table = (section_or_default(None, "core")["import"]["column_synonyms"]
             if synonyms is None else synonyms)
    names = table.get(spec.name) or {}
    present = list(columns)
    out: dict[str, str] = {}
    for target in spec.column_names:
        if target in present or not names.get(target):
            continue
        wanted = {column_name_key(n) for n in names[target]}
        for col in present:
            if col not in out and col not in spec.column_names and column_name_key(col) in wanted:
                out[str(col)] = target
                break
    return out


def user_crs(crs: Any, *, argument: str = "crs") -> pyproj.CRS | None:
    """The CRS given by the user (an EPSG code or text), None for None; :class:`CRSError` otherwise.

    Examples
    --------
    >>> user_crs("EPSG:4547").to_epsg(), user_crs(None)
    (4547, None)
    """
    if crs is None:
        return None
    try:
        return pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError:
        raise CRSError(f"{argument}={crs!r} is not a coordinate reference system",
                       fix="give an EPSG code such as 4326, 4490 or 'EPSG:4547'") from None


def reader_kind(path: Path) -> str:
    """``"vector"`` or ``"csv"`` from the extension; :class:`InputError` listing :data:`READERS`.

    Examples
    --------
    >>> reader_kind(Path("楼栋.SHP")), reader_kind(Path("cams.csv"))
    ('vector', 'csv')
    """
    ext = path.suffix.lower()
    if ext not in READERS:
        raise InputError(f"cannot import {str(path)!r}: unknown extension {ext or '(none)'!r}",
                         fix="use one of: " + ", ".join(READERS))
    return READERS[ext]


def read_vector(path: Path, *, spec: schema.LayerSpec, source_layer: str | None,
                encoding: str | None) -> tuple[pd.DataFrame, str | None]:
    """A vector file as a frame, and the layer read (for the GeoPackage with several).

    The geometry column is called ``geometry``; Shapefile short names of schema columns
    are mapped back. A table layer (``staff``) is read without geometry.

    Examples
    --------
    >>> frame, layer = read_vector(Path("sample-geodata/ningbo-jiangbei.gpkg"),
    ...                            spec=schema.get_spec("stations"), source_layer=None,
    ...                            encoding=None)
    >>> layer, len(frame)
    ('stations', 2)
    """
    layer_name, spatial = spec.name, spec.spatial
    try:
        available = [str(name) for name, _ in pyogrio.list_layers(path)]
    except Exception as exc:
        raise InputError(f"cannot read {str(path)!r}: {exc}",
                         fix="check that the file is a valid GIS file (it opens in QGIS); "
                             "a damaged or truncated copy must be exported again from its "
                             "source") from None
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
    kwargs: dict[str, Any] = {"layer": source_layer} if source_layer is not None else {}
    if encoding:
        kwargs["encoding"] = encoding
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*Measured \\(M\\) geometry.*")
            gdf = gpd.read_file(path, engine="pyogrio", read_geometry=spatial, **kwargs)
    except (RuntimeError, ValueError, shapely.errors.GEOSException) as exc:  # pyogrio errors
        which = f" (layer {source_layer!r})" if source_layer is not None else ""
        raise InputError(
            f"cannot read {str(path)!r}{which} for layer {layer_name!r}: the file is damaged "
            f"(corrupt pages or a truncated copy?): {exc}",
            fix="export the layer again from its source (or repair a copy with "
                "`ogr2ogr -f GPKG repaired.gpkg FILE`) and import that file") from None
    if isinstance(gdf, gpd.GeoDataFrame) and gdf.geometry.name != "geometry":
        gdf = gdf.rename_geometry("geometry")
    if path.suffix.lower() in (".shp", ".zip"):
        back = {short: long for long, short in SHAPEFILE_NAMES.items()
                if long in spec.column_names and short in gdf.columns
                and long not in gdf.columns}
        gdf = gdf.rename(columns=back)
    return gdf, source_layer


def declares_crs(path: Path) -> bool:
    """Whether a vector file declares its CRS: False only for a GeoJSON without a ``crs`` member.

    A GeoJSON without a ``crs`` member (RFC 7946 removed it) declares nothing: its
    coordinates are longitude/latitude by default, which GDAL reads as EPSG:4326, so a
    ``crs=`` given for such a file is its declaration, not a contradiction. A ``crs``
    member set to ``null`` declares nothing either. Every other file (with a ``crs``
    member, or of another format) counts as declaring the CRS it is read with.

    Examples
    --------
    >>> import tempfile, json
    >>> d = Path(tempfile.mkdtemp())
    >>> feature = {"type": "Feature", "properties": {"crs": "x"},
    ...            "geometry": {"type": "Point", "coordinates": [359919.0, 3306867.0]}}
    >>> _ = (d / "a.geojson").write_text(json.dumps(
    ...     {"type": "FeatureCollection", "features": [feature]}))
    >>> _ = (d / "b.geojson").write_text(json.dumps(
    ...     {"type": "FeatureCollection", "features": [feature], "crs": {
    ...      "type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4550"}}}))
    >>> declares_crs(d / "a.geojson"), declares_crs(d / "b.geojson")
    (False, True)
    """
    if path.suffix.lower() not in (".geojson", ".json"):
        return True
    try:
        if pyogrio.read_info(path)["driver"] != "GeoJSON":
            return True
        found, tail = False, b""
        with path.open("rb") as f:  # most files have no "crs" anywhere: no parsing then
            while not found and (chunk := f.read(1 << 20)):
                found, tail = b'"crs"' in tail + chunk, chunk[-4:]
        if not found:
            return False
        data = json.loads(path.read_bytes())
    except Exception:  # unreadable here: the reader reports it; keep the file's CRS
        return True
    return not (isinstance(data, dict) and data.get("crs") is None)


def read_csv_frame(path: Path, encoding: str | None) -> pd.DataFrame:
    """A CSV file, every value as text (UTF-8, then GB18030, unless ``encoding`` is given).

    Examples
    --------
    >>> import tempfile, os
    >>> p = Path(tempfile.mkdtemp()) / "c.csv"
    >>> _ = p.write_text("编号 , lng\\n007,121.5\\n", encoding="gb18030")
    >>> read_csv_frame(p, None).to_dict("records")
    [{'编号': '007', 'lng': '121.5'}]
    """
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


def find_column(columns: Iterable[Any], names: Sequence[str]) -> Any | None:
    """The first of ``columns`` whose lower-case name is in ``names`` (in the order of ``names``).

    Examples
    --------
    >>> find_column(["id", "Latitude"], LAT_NAMES)
    'Latitude'
    """
    lower = {str(c).lower(): c for c in columns}
    for name in names:
        if name in lower:
            return lower[name]
    return None


def csv_geometry(df: pd.DataFrame, *, path: Path, spec: schema.LayerSpec, lon_col: str | None,
                 lat_col: str | None, crs: pyproj.CRS) -> gpd.GeoDataFrame:
    """Geometries for a CSV frame: points from lon/lat columns, or a WKT column.

    Parameters
    ----------
    lon_col, lat_col
        The coordinate columns; default detected (:data:`LON_NAMES`,
        :data:`LAT_NAMES`). Without them a WKT column (:data:`WKT_NAMES`) is used.
    crs
        The CRS of the coordinates.

    Examples
    --------
    >>> df = pd.DataFrame({"id": ["c1"], "lng": ["121.55"], "lat": ["29.88"]})
    >>> g = csv_geometry(df, path=Path("c.csv"), spec=schema.get_spec("cameras"),
    ...                  lon_col=None, lat_col=None, crs=pyproj.CRS.from_epsg(4326))
    >>> list(g.columns), g.geometry.iloc[0].wkt
    (['id', 'geometry'], 'POINT (121.55 29.88)')
    """
    cols = list(df.columns)
    listed = ", ".join(map(str, cols)) or "(none)"
    for arg, col in (("lon_col", lon_col), ("lat_col", lat_col)):
        if col is not None and col not in df.columns:
            raise InputError(f"{arg}={col!r} is not a column of {str(path)!r}",
                             fix=f"use one of its columns: {listed}")
    wkt_col = find_column(cols, WKT_NAMES)
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
    lon_col = lon_col or find_column(cols, LON_NAMES)
    lat_col = lat_col or find_column(cols, LAT_NAMES)
    if lon_col is None or lat_col is None:
        missing = " and ".join(n for n, c in (("longitude", lon_col), ("latitude", lat_col))
                               if c is None)
        raise InputError(
            f"no {missing} column found in {str(path)!r} (columns: {listed})",
            fix="name them lon/lat (or lng, longitude, x / latitude, y), pass --lon-col and "
                "--lat-col, or give a WKT column 'geometry'")
    if spec.geometry_types != schema.POINT:
        raise InputError(
            f"layer {spec.name!r} needs {' or '.join(spec.geometry_types or ())} geometries, but "
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


def apply_column_map(df: pd.DataFrame, column_map: Mapping[str, str] | None, *, path: Path,
                     notes: list[str]) -> pd.DataFrame:
    """Rename source columns to schema columns (``{"编号": "id"}``), with clear errors.

    Examples
    --------
    >>> notes = []
    >>> apply_column_map(pd.DataFrame({"编号": ["a"], "id": ["x"]}), {"编号": "id"},
    ...                  path=Path("c.csv"), notes=notes).to_dict("records"), notes
    ([{'id': 'a'}], ["existing column(s) ['id'] replaced by the mapped one(s)"])
    """
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
    return df.rename(columns=dict(column_map))


def match_case(df: pd.DataFrame, spec: schema.LayerSpec, notes: list[str]) -> pd.DataFrame:
    """Rename columns that differ from a schema column only by case (``ID`` -> ``id``).

    Examples
    --------
    >>> list(match_case(pd.DataFrame({"ID": [1], "Kind": ["road"]}),
    ...                 schema.get_spec("cameras"), []).columns)
    ['id', 'kind']
    """
    rename: dict[str, str] = {}
    for name in spec.column_names:
        if name in df.columns:
            continue
        same = [c for c in df.columns if isinstance(c, str) and c.strip().lower() == name]
        if len(same) == 1:
            rename[same[0]] = name
    if rename:
        notes.append("columns renamed: " + ", ".join(f"{a}->{b}" for a, b in rename.items()))
    return df.rename(columns=rename)


def single_points(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One-point MultiPoints (as some files store points) made simple points.

    Examples
    --------
    >>> g = gpd.GeoDataFrame(geometry=[shapely.MultiPoint([(1, 2)])], crs=4326)
    >>> single_points(g).geometry.iloc[0].wkt
    'POINT (1 2)'
    """
    geom = np.asarray(gdf.geometry.array, dtype=object)
    one = (shapely.get_type_id(geom) == 4) & (shapely.get_num_geometries(geom) == 1)
    if one.any():
        geom = geom.copy()
        geom[one] = shapely.get_geometry(geom[one], 0)
        gdf = gdf.set_geometry(gpd.GeoSeries(geom, index=gdf.index, crs=gdf.crs))
    return gdf

