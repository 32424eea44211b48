"""Derived layers in a GeoPackage: computed results stored beside the project layers.

Coverage results (``camera_views``, ``blind_spots``, ``coverage_stats``, ``estate_risk``)
and camera proposals (``camera_proposals``) are not project layers of
:mod:`beatgrid.gis.schema`: they are recomputed from them. They are written into the
project GeoPackage (or any other one) so QGIS and the map show them, with the same
transactional rule as :mod:`beatgrid.gis.io.project`: the layers are written into a copy
of the file and the copy replaces the original atomically only when every layer was
written, so a failed write loses nothing. A layer replaces the stored one of that name.

Geometries are stored in the project CRS (EPSG:4490 unless the project says otherwise;
a new file takes 4490 inside China and 4326 elsewhere).

Examples
--------
>>> import geopandas as gpd, shapely, tempfile, os
>>> from beatgrid.gis.io.derived import write_derived, read_derived
>>> d = tempfile.mkdtemp()
>>> views = gpd.GeoDataFrame({"camera_id": ["c1"], "level": ["all"]},
...                          geometry=[shapely.box(121.55, 29.88, 121.551, 29.881)], crs=4490)
>>> path = write_derived(os.path.join(d, "out.gpkg"), {"camera_views": views})
>>> read_derived(path, "camera_views")["camera_id"].tolist()
['c1']
"""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from beatgrid.gis.crs import storage_epsg
from beatgrid.gis.errors import InputError, NotFoundError
from beatgrid.gis.io import project as store

#: Derived layer name -> geometry type written (None: a table without geometry).
DERIVED_LAYERS = {
    "camera_views": "MultiPolygon",
    "blind_spots": "MultiPolygon",
    "coverage_stats": "MultiPolygon",
    "estate_risk": "MultiPolygon",
    "camera_proposals": "Point",
    "proposal_effects": None,
}


def _check(path) -> Path:
    path = Path(path)
    if path.suffix.lower() != ".gpkg":
        raise InputError(f"output {str(path)!r} is not a GeoPackage",
                         fix="give a path ending in .gpkg")
    return path


def _target_epsg(path: Path, layers: dict) -> int:
    if path.exists():
        meta = store.read_meta(path)
        if "crs_epsg" in meta:
            return int(meta["crs_epsg"])
    for df in layers.values():
        if isinstance(df, gpd.GeoDataFrame) and df.crs is not None and len(df):
            return storage_epsg(df)
    return 4490


def _prepared(name: str, df, epsg: int):
    gtype = DERIVED_LAYERS[name]
    if gtype is None:
        return pd.DataFrame(df.drop(columns="geometry", errors="ignore")), None
    if not isinstance(df, gpd.GeoDataFrame):
        raise InputError(f"derived layer {name!r} needs a GeoDataFrame",
                         fix="pass the frame returned by the coverage functions")
    out = df.to_crs(epsg) if df.crs is not None and df.crs.to_epsg() != epsg else df.copy()
    if out.crs is None:
        raise InputError(f"derived layer {name!r} has no CRS", fix="set its CRS before writing")
    geom = out.geometry.values
    empty = shapely.is_empty(np.asarray(geom, dtype=object))
    if empty.any():
        values = np.asarray(geom, dtype=object).copy()
        values[empty] = None
        out = out.set_geometry(gpd.GeoSeries(values, index=out.index, crs=out.crs))
    for col in out.columns:
        if col != out.geometry.name and out[col].dtype == object:
            out[col] = out[col].astype(object).where(out[col].notna(), None)
    return out, gtype


def write_derived(path: str | Path, layers: dict) -> Path:
    """Write derived layers into the GeoPackage ``path`` (created when missing), atomically.

    Parameters
    ----------
    path
        The project (or another ``.gpkg``).
    layers
        Layer name (one of :data:`DERIVED_LAYERS`) to frame.

    Returns
    -------
    Path
        ``path``.
    """
    path = _check(path)
    unknown = [n for n in layers if n not in DERIVED_LAYERS]
    if unknown:
        raise InputError(f"unknown derived layer(s) {unknown}",
                         fix="use some of: " + ", ".join(DERIVED_LAYERS))
    epsg = _target_epsg(path, layers)
    prepared = {name: _prepared(name, df, epsg) for name, df in layers.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = store._temp_sibling(path)
    try:
        if path.exists():
            shutil.copy2(path, tmp)
        for name, (df, gtype) in prepared.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                if gtype is None:
                    pyogrio.write_dataframe(df, tmp, layer=name, driver="GPKG")
                else:
                    pyogrio.write_dataframe(df, tmp, layer=name, driver="GPKG",
                                            geometry_type=gtype,
                                            promote_to_multi=gtype.startswith("Multi"))
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def read_derived(path: str | Path, name: str):
    """Read the derived layer ``name`` from ``path``.

    Raises
    ------
    NotFoundError
        When the file or the layer is missing (naming the command that writes it).
    """
    path = _check(path)
    if not path.exists():
        raise NotFoundError(f"{str(path)!r} does not exist", fix="check the path")
    if name not in {n for n, _ in pyogrio.list_layers(path)}:
        raise NotFoundError(f"{str(path)!r} has no layer {name!r}",
                            fix="run `beatgrid coverage` (or `beatgrid cameras recommend`) first")
    df = pyogrio.read_dataframe(path, layer=name, read_geometry=DERIVED_LAYERS.get(name)
                                is not None)
    return df


def list_derived(path: str | Path) -> list[str]:
    """The derived layers present in ``path``."""
    path = _check(path)
    if not path.exists():
        return []
    present = {n for n, _ in pyogrio.list_layers(path)}
    return [n for n in DERIVED_LAYERS if n in present]
