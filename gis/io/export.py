"""Export a layer to GeoJSON, GeoPackage, Shapefile or CSV (format from the extension).

- ``.geojson`` / ``.json``: RFC 7946 GeoJSON, always EPSG:4326 (WGS-84 lon/lat);
- ``.gpkg``: GeoPackage in the layer's CRS; the file may hold other layers, the layer
  of the same name is replaced;
- ``.shp``: ESRI Shapefile in the layer's CRS, UTF-8 (``.cpg``); schema columns longer
  than the 10-character limit get the short names of :data:`SHAPEFILE_NAMES`
  (``households_estimated`` -> ``hh_est``), which the importer maps back;
- ``.csv``: UTF-8 (with BOM, so Excel shows Chinese text), EPSG:4326; a ``geometry``
  column with WKT, plus ``lon`` / ``lat`` columns for point layers.

Files other than GeoPackages are replaced when they exist.

Examples
--------
>>> import geopandas as gpd, shapely, tempfile, os
>>> cams = gpd.GeoDataFrame({"id": ["c1"], "direction": [90.0]},
...                         geometry=[shapely.Point(121.55, 29.88)], crs=4490)
>>> out = export_layer(cams, os.path.join(tempfile.mkdtemp(), "cameras.csv"))
>>> open(out, encoding="utf-8-sig").read().splitlines()[0]
'id,direction,geometry,lon,lat'
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from beatgrid.gis import schema
from beatgrid.gis.errors import InputError
from beatgrid.gis.io.store import Store, open_store

#: Extension -> format name.
FORMATS = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GPKG",
           ".shp": "ESRI Shapefile", ".csv": "CSV"}

#: Short Shapefile field names of the schema columns longer than 10 characters.
SHAPEFILE_NAMES = {
    "access_doors": "acc_doors", "auxiliaries": "auxiliary", "community_id": "comm_id",
    "community_officers": "comm_offic", "district_code": "dist_code",
    "floating_managers": "float_mgrs", "focal_length_mm": "focal_mm",
    "grid_workers": "grid_wkrs", "households_estimated": "hh_est", "occurred_at": "occurred",
    "office_condition": "office_cnd", "officers_total": "officers",
    "population_floating": "pop_float", "population_registered": "pop_reg",
    "preventable": "preventabl", "resolution_h_px": "res_h_px",
    "responsibility_area_id": "resp_area", "sensor_width_mm": "sensor_mm",
    "street_class": "str_class", "subdistrict": "subdistric",
    "subdistrict_code": "subdist_cd",
}


def format_of(path: str | Path) -> str:
    """The export format of ``path`` from its extension, or :class:`InputError` listing them.

    Examples
    --------
    >>> format_of("out/grids.GPKG")
    'GPKG'
    """
    ext = Path(path).suffix.lower()
    if ext not in FORMATS:
        raise InputError(f"cannot export to {str(path)!r}: unknown extension {ext or '(none)'!r}",
                         fix="use one of: " + ", ".join(FORMATS))
    return FORMATS[ext]


def _shapefile_columns(columns: Iterable[str]) -> dict[str, str]:
    """Rename map to unique names of at most 10 characters."""
    rename: dict[str, str] = {}
    used: set[str] = set()
    for col in columns:
        short = SHAPEFILE_NAMES.get(col, col)
        if len(short) > 10:
            short = short[:10]
        base, n = short, 1
        while short in used:
            suffix = f"_{n}"
            short = base[: 10 - len(suffix)] + suffix
            n += 1
        used.add(short)
        if short != col:
            rename[col] = short
    return rename


def export_layer(gdf: pd.DataFrame, path: str | Path, *, layer: str | None = None) -> Path:
    """Write ``gdf`` to ``path`` in the format given by the extension.

    Parameters
    ----------
    gdf
        A GeoDataFrame (a DataFrame for tables such as ``staff``: ``.csv`` or
        ``.gpkg`` only).
    path
        Output file; its folder is created when missing.
    layer
        Layer name inside a GeoPackage (default: the file name without extension).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    InputError
        Unknown extension (the message lists the known ones); a table without geometry
        to a spatial-only format; a layer without CRS to GeoJSON or CSV.

    Examples
    --------
    >>> import geopandas as gpd, shapely, tempfile, os, json
    >>> g = gpd.GeoDataFrame({"id": ["b1"]}, geometry=[shapely.box(121.5, 29.8, 121.501, 29.801)],
    ...                      crs=4490)
    >>> p = export_layer(g, os.path.join(tempfile.mkdtemp(), "b.geojson"))
    >>> json.load(open(p))["features"][0]["properties"]
    {'id': 'b1'}
    """
    fmt = format_of(path)
    path = Path(path)
    spatial = isinstance(gdf, gpd.GeoDataFrame) and gdf.geometry.name in gdf.columns
    if not spatial and fmt in ("GeoJSON", "ESRI Shapefile"):
        raise InputError(f"cannot export a table without geometry to {fmt} ({str(path)!r})",
                         fix="export it to .csv or .gpkg")
    if spatial and gdf.crs is None and fmt in ("GeoJSON", "CSV"):
        raise InputError(f"cannot export to {fmt}: the layer has no CRS",
                         fix="set the CRS of the layer first")
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt != "GPKG" and path.exists():
        _remove(path, fmt)
    df = gdf.copy()
    if fmt == "CSV":
        _write_csv(df, path, spatial=spatial)
        return path
    if fmt == "GeoJSON":
        if df.crs.to_epsg() != 4326:
            df = df.to_crs(4326)
        pyogrio.write_dataframe(df, path, driver="GeoJSON", layer=path.stem, RFC7946="YES")
        return path
    if fmt == "ESRI Shapefile":
        df = df.rename(columns=_shapefile_columns([c for c in df.columns
                                                   if c != df.geometry.name]))
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*Normalized/laundered.*")
            pyogrio.write_dataframe(df, path, driver="ESRI Shapefile", encoding="UTF-8")
        return path
    # GeoPackage: replace the one layer
    name = layer or path.stem
    if spatial:
        pyogrio.write_dataframe(df, path, layer=name, driver="GPKG")
    else:
        pyogrio.write_dataframe(pd.DataFrame(df), path, layer=name, driver="GPKG")
    return path


def _remove(path: Path, fmt: str) -> None:
    if fmt == "ESRI Shapefile":
        for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx"):
            sibling = path.with_suffix(ext)
            if sibling.exists():
                sibling.unlink()
    else:
        path.unlink()


def _write_csv(df: pd.DataFrame, path: Path, *, spatial: bool) -> None:
    if spatial:
        if df.crs.to_epsg() != 4326:
            df = df.to_crs(4326)
        geom = df.geometry
        out = pd.DataFrame(df.drop(columns=[geom.name]))
        out["geometry"] = geom.to_wkt(rounding_precision=8, trim=True)
        if len(geom) and geom.dropna().geom_type.eq("Point").all():
            out["lon"] = geom.x.round(8)
            out["lat"] = geom.y.round(8)
    else:
        out = pd.DataFrame(df)
    out.to_csv(path, index=False, encoding="utf-8-sig")


def export_from_project(project: str | Path | Store, layer: str, path: str | Path) -> Path:
    """Read ``layer`` from a project (a path, a URL or a store) and export it.

    Examples
    --------
    >>> import tempfile, os
    >>> out = os.path.join(tempfile.mkdtemp(), "communities.geojson")
    >>> export_from_project("sample-geodata/ningbo-jiangbei.gpkg", "communities", out).exists()
    True
    """
    schema.get_spec(layer)
    format_of(path)  # fail before reading
    return export_layer(open_store(project).read_layer(layer), path, layer=layer)
