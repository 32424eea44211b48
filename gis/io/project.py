"""The BeatGrid project file: one GeoPackage holding every layer (the embedded store).

This is an I/O module: analysis modules never open files, they receive frames.
Writes are transactional: the layers are written into a copy of the project next
to it and the copy replaces the original atomically only when every layer was
conformed, validated and written, so a failed write loses nothing.

Besides the layers of :mod:`beatgrid.gis.schema` a project holds the table
``beatgrid_meta`` (key/value: schema version, CRS) and ``beatgrid_imports``
(one row per import: layer, source file, coordinate system, rows, time). QGIS
opens the file as it is.

Examples
--------
>>> from beatgrid.gis.io.project import read_layer, project_info
>>> communities = read_layer("sample-geodata/ningbo-jiangbei.gpkg", "communities")
>>> communities.crs.to_epsg()
4490
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from beatgrid.gis import schema
from beatgrid.gis.errors import InputError, NotFoundError, ValidationError

SCHEMA_VERSION = "1"
META_TABLE = "beatgrid_meta"
IMPORTS_TABLE = "beatgrid_imports"
_WRITE_TYPES = {"Polygon": "MultiPolygon", "MultiPolygon": "MultiPolygon",
                "LineString": "MultiLineString", "MultiLineString": "MultiLineString",
                "Point": "Point"}


def _check_path(path: str | Path, *, must_exist: bool = True) -> Path:
    path = Path(path)
    if path.suffix.lower() != ".gpkg":
        raise InputError(f"project {str(path)!r} is not a GeoPackage",
                         fix="give a project path ending in .gpkg")
    if must_exist and not path.exists():
        raise NotFoundError(f"project {str(path)!r} does not exist",
                            fix="create it with `beatgrid sample --out` or `beatgrid import`")
    return path


def list_layers(path: str | Path) -> list[str]:
    """Names of the BeatGrid layers present in the project, in :data:`schema.LAYER_ORDER`."""
    path = _check_path(path)
    present = {name for name, _ in pyogrio.list_layers(path)}
    return [name for name in schema.LAYER_ORDER if name in present]


def _single_parts(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Turn one-part Multi* geometries (as stored) back into simple ones."""
    geom = gdf.geometry.array
    multi = np.isin(shapely.get_type_id(geom), (4, 5, 6)) & (shapely.get_num_geometries(geom) == 1)
    if multi.any():
        values = np.asarray(geom, dtype=object).copy()
        values[multi] = shapely.get_geometry(values[multi], 0)
        gdf = gdf.set_geometry(gpd.GeoSeries(values, index=gdf.index, crs=gdf.crs))
    return gdf


def read_layer(path: str | Path, layer: str, *, bbox=None, where: str | None = None):
    """Read one layer, conformed to the schema (types, defaults).

    Parameters
    ----------
    path
        The project GeoPackage.
    layer
        Layer name; a schema layer absent from the file reads as an empty frame.
    bbox, where
        Optional spatial (xmin, ymin, xmax, ymax in the project CRS) and attribute
        (SQL) filters, passed to pyogrio.

    Returns
    -------
    GeoDataFrame (DataFrame for ``staff``)
    """
    path = _check_path(path)
    spec = schema.get_spec(layer)
    if layer not in {name for name, _ in pyogrio.list_layers(path)}:
        return schema.empty_layer(layer, crs=project_crs(path))
    df = pyogrio.read_dataframe(path, layer=layer, bbox=bbox, where=where,
                                read_geometry=spec.spatial, fid_as_index=False)
    if spec.spatial:
        if df.geometry.name != "geometry":
            df = df.rename_geometry("geometry")
        df = _single_parts(df)
    else:
        df = pd.DataFrame(df)
    out, problems = schema.conform_layer(df, layer)
    return out


def read_project(path: str | Path, layers: list[str] | None = None) -> dict:
    """Read the given layers (default: all schema layers) into a dict of frames."""
    path = _check_path(path)
    names = layers if layers is not None else schema.LAYER_ORDER
    return {name: read_layer(path, name) for name in names}


def read_meta(path: str | Path) -> dict:
    """The key/value metadata of the project (empty for a foreign GeoPackage)."""
    path = _check_path(path)
    if META_TABLE not in {name for name, _ in pyogrio.list_layers(path)}:
        return {}
    df = pyogrio.read_dataframe(path, layer=META_TABLE, read_geometry=False)
    return dict(zip(df["key"], df["value"]))


def read_imports(path: str | Path) -> pd.DataFrame:
    """The import log: one row per import (layer, source, coords, rows, time)."""
    path = _check_path(path)
    if IMPORTS_TABLE not in {name for name, _ in pyogrio.list_layers(path)}:
        return pd.DataFrame(columns=["layer", "source", "coords", "rows", "mode", "imported_at"])
    return pd.DataFrame(pyogrio.read_dataframe(path, layer=IMPORTS_TABLE, read_geometry=False))


def project_crs(path: str | Path) -> int:
    """EPSG code the project stores its layers in (4490 unless recorded otherwise)."""
    return int(read_meta(path).get("crs_epsg", 4490)) if Path(path).exists() else 4490


def create_project(path: str | Path, *, crs: int = 4490, overwrite: bool = False) -> Path:
    """Create an empty project with every layer present (empty), readable by QGIS."""
    path = _check_path(path, must_exist=False)
    if crs not in schema.STORAGE_EPSG:
        raise InputError(f"project CRS EPSG:{crs} is not a storage CRS",
                         fix="use 4490 (CGCS2000) or 4326 (WGS84)")
    if path.exists() and not overwrite:
        raise InputError(f"project {str(path)!r} already exists",
                         fix="choose another path or remove the file")
    layers = {name: schema.empty_layer(name, crs=crs) for name in schema.LAYER_ORDER}
    tmp = _temp_sibling(path)
    try:
        _write_meta(tmp, {"schema_version": SCHEMA_VERSION, "crs_epsg": str(crs),
                          "created_at": _now()})
        for name in schema.LAYER_ORDER:
            _write_one(tmp, name, layers[name])
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def write_layers(path: str | Path, layers: dict, *, append: bool = False, validate: bool = True,
                 meta: dict | None = None) -> Path:
    """Write layers into the project, transactionally.

    Each layer is conformed to the schema; with ``validate`` the whole project (the
    new layers with the layers already stored) is checked for errors, including
    dangling references, and nothing is written when any is found. A layer replaces
    the stored one unless ``append`` is True.

    Parameters
    ----------
    path
        The project; created when missing.
    layers
        Layer name to frame.
    append
        Add rows to the stored layer instead of replacing it; ids must stay unique.
    validate
        Refuse the write when the project would have validation errors.
    meta
        Import record to log in ``beatgrid_imports`` (keys ``source``, ``coords``).

    Raises
    ------
    ValidationError
        Every problem at once; the project file is unchanged.
    """
    path = _check_path(path, must_exist=False)
    if not path.exists():
        first = next((df for df in layers.values() if isinstance(df, gpd.GeoDataFrame)
                      and df.crs is not None), None)
        create_project(path, crs=first.crs.to_epsg() if first is not None
                       and first.crs.to_epsg() in schema.STORAGE_EPSG else 4490)
    epsg = project_crs(path)
    prepared, problems = {}, []
    for name, df in layers.items():
        spec = schema.get_spec(name)
        if spec.spatial and isinstance(df, gpd.GeoDataFrame) and df.crs is not None \
                and df.crs.to_epsg() != epsg:
            df = df.to_crs(epsg)
        if append:
            stored = read_layer(path, name)
            if len(stored):
                df = pd.concat([stored, df], ignore_index=True)
                if spec.spatial:
                    df = gpd.GeoDataFrame(df, geometry="geometry", crs=epsg)
        out, layer_problems = schema.conform_layer(df, name)
        prepared[name] = out
        problems.extend(layer_problems)
    if validate:
        others = [n for n in schema.LAYER_ORDER if n not in prepared]
        stored = read_project(path, others)
        problems.extend(schema.check_references({**stored, **prepared}))
    if any(p.severity == "error" for p in problems):
        raise ValidationError(problems)
    schema.warn_problems(problems)
    tmp = _temp_sibling(path)
    try:
        shutil.copy2(path, tmp)
        for name in schema.LAYER_ORDER:
            if name in prepared:
                _write_one(tmp, name, prepared[name])
        if meta is not None:
            _log_imports(tmp, [{"layer": name, "source": str(meta.get("source", "")),
                                "coords": str(meta.get("coords", "")),
                                "rows": int(meta.get("rows", len(layers[name]))),
                                "mode": "append" if append else "replace",
                                "imported_at": _now()} for name in prepared])
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def _write_one(path: Path, name: str, df) -> None:
    spec = schema.get_spec(name)
    df = df.copy()
    for col in spec.columns:  # GeoPackage has no nullable-int flag: keep Int64 as is
        if col.dtype == "str" and col.name in df.columns:
            df[col.name] = df[col.name].astype(object)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if spec.spatial:
            types = {_WRITE_TYPES[t] for t in spec.geometry_types}
            geometry_type = types.pop()
            pyogrio.write_dataframe(df, path, layer=name, driver="GPKG",
                                    geometry_type=geometry_type,
                                    promote_to_multi=geometry_type.startswith("Multi"))
        else:
            pyogrio.write_dataframe(pd.DataFrame(df), path, layer=name, driver="GPKG")


def _write_meta(path: Path, values: dict) -> None:
    df = pd.DataFrame({"key": list(values), "value": [str(v) for v in values.values()]})
    pyogrio.write_dataframe(df, path, layer=META_TABLE, driver="GPKG")


def _log_imports(path: Path, rows: list[dict]) -> None:
    log = read_imports(path)
    new = pd.DataFrame(rows)
    log = new if log.empty else pd.concat([log, new], ignore_index=True)
    pyogrio.write_dataframe(log, path, layer=IMPORTS_TABLE, driver="GPKG")


def _temp_sibling(path: Path) -> Path:
    fd, name = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".tmp.gpkg", dir=path.parent
                                if str(path.parent) else ".")
    os.close(fd)
    os.unlink(name)
    return Path(name)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def project_info(path: str | Path) -> pd.DataFrame:
    """Layers, feature counts, geometry type, CRS and extent of a project.

    Returns
    -------
    DataFrame
        One row per layer present: ``layer``, ``features``, ``geometry``, ``crs``,
        ``xmin``, ``ymin``, ``xmax``, ``ymax``.
    """
    path = _check_path(path)
    rows = []
    for name in list_layers(path):
        info = pyogrio.read_info(path, layer=name, force_total_bounds=True)
        bounds = info.get("total_bounds")
        if bounds is None or not np.isfinite(np.asarray(bounds, dtype=float)).all():
            bounds = [np.nan] * 4
        rows.append({"layer": name, "features": int(info["features"]),
                     "geometry": info["geometry_type"] or "(table)",
                     "crs": info["crs"] or "", "xmin": bounds[0], "ymin": bounds[1],
                     "xmax": bounds[2], "ymax": bounds[3]})
    return pd.DataFrame(rows)
