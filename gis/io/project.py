"""The project file as functions: a GeoPackage path in, frames out (over :class:`GeoPackageStore`).

Every function here is one call on a :class:`~beatgrid.gis.io.gpkg.GeoPackageStore`,
kept for scripts and notebooks that work with a path; new code opens a project once
with :meth:`beatgrid.gis.Project.open` (a GeoPackage path or a ``postgresql://`` URL)
and uses ``project.layer(name)``, ``project.read(names)``, ``project.write(layers)``
and ``project.store``.

Writes are transactional: the layers are written into a copy of the project next to
it and the copy replaces the original atomically only when every layer was conformed,
validated and written, so a failed write loses nothing; a file that is not a readable
GeoPackage (empty, truncated, damaged, another kind of file) raises one
:class:`~beatgrid.gis.errors.StoreUnavailableError` naming it, and is never written to.
Besides the layers of :mod:`beatgrid.gis.schema` a project holds the table
``beatgrid_meta`` (schema version, CRS) and ``beatgrid_imports`` (the import log).
QGIS opens the file as it is.

Examples
--------
>>> from beatgrid.gis.io.project import read_layer, project_info
>>> communities = read_layer("sample-geodata/ningbo-jiangbei.gpkg", "communities")
>>> communities.crs.to_epsg()
4490
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from beatgrid.gis.io.gpkg import GeoPackageStore
from beatgrid.gis.io.writing import IMPORTS_TABLE, META_TABLE, SCHEMA_VERSION, BBox, Frame

__all__ = ["IMPORTS_TABLE", "META_TABLE", "SCHEMA_VERSION", "create_project", "list_layers",
           "project_crs", "project_info", "read_imports", "read_layer", "read_meta",
           "read_project", "write_layers"]

def list_layers(path: str | Path) -> list[str]:
    """Names of the BeatGrid layers present in the project, in ``schema.LAYER_ORDER``.

    Examples
    --------
    >>> list_layers("sample-geodata/ningbo-jiangbei.gpkg")[-2:]
    ['staff', 'governance_grids']
    """
    return GeoPackageStore(path).list_layers()


def read_layer(path: str | Path, layer: str, *, bbox: BBox | None = None,
               where: str | None = None) -> Frame:
    """Read one layer, conformed to the schema (:meth:`GeoPackageStore.read_layer`).

    Examples
    --------
    >>> read_layer("sample-geodata/ningbo-jiangbei.gpkg", "stations")["id"].tolist()
    ['S01', 'S02']
    """
    return GeoPackageStore(path).read_layer(layer, bbox=bbox, where=where)


def read_project(path: str | Path, layers: Sequence[str] | None = None) -> dict[str, Frame]:
    """Read the given layers (default: all schema layers) into a dict of frames.

    Examples
    --------
    >>> sorted(read_project("sample-geodata/ningbo-jiangbei.gpkg", ["beats", "staff"]))
    ['beats', 'staff']
    """
    return GeoPackageStore(path).read_layers(layers)


def read_meta(path: str | Path) -> dict[str, str]:
    """The key/value metadata of the project (empty for a foreign GeoPackage).

    Examples
    --------
    >>> read_meta("sample-geodata/ningbo-jiangbei.gpkg")["crs_epsg"]
    '4490'
    """
    return GeoPackageStore(path).meta()


def read_imports(path: str | Path) -> pd.DataFrame:
    """The import log: one row per import (layer, source, coords, rows, mode, time).

    Examples
    --------
    >>> read_imports("sample-geodata/ningbo-jiangbei.gpkg")["layer"].iloc[0]
    'stations'
    """
    return GeoPackageStore(path).imports()


def project_crs(path: str | Path) -> int:
    """EPSG code the project stores its layers in (4490 unless recorded otherwise).

    Examples
    --------
    >>> project_crs("sample-geodata/ningbo-jiangbei.gpkg")
    4490
    """
    return GeoPackageStore(path).crs()


def create_project(path: str | Path, *, crs: int = 4490, overwrite: bool = False) -> Path:
    """Create an empty project with every layer present (empty), readable by QGIS.

    Examples
    --------
    >>> import tempfile, os
    >>> path = create_project(os.path.join(tempfile.mkdtemp(), "p.gpkg"))
    >>> len(list_layers(path))
    14
    """
    store = GeoPackageStore(path)
    store.create(crs=crs, overwrite=overwrite)
    return store.path


def write_layers(path: str | Path, layers: Mapping[str, Frame], *, append: bool = False,
                 validate: bool = True, meta: Mapping[str, Any] | None = None) -> Path:
    """Write layers into the project, transactionally (:meth:`GeoPackageStore.write_layers`).

    The project is created when missing; on any validation error
    :class:`~beatgrid.gis.errors.ValidationError` lists every problem and the file is
    unchanged.

    Returns
    -------
    Path
        The project.

    Examples
    --------
    >>> import tempfile, os
    >>> rooms = read_layer("sample-geodata/ningbo-jiangbei.gpkg", "police_rooms")
    >>> path = write_layers(os.path.join(tempfile.mkdtemp(), "p.gpkg"),
    ...                     {"police_rooms": rooms[["id", "geometry"]]}, validate=False)
    >>> len(read_layer(path, "police_rooms"))
    12
    """
    store = GeoPackageStore(path)
    store.write_layers(layers, append=append, validate=validate, meta=meta)
    return store.path


def project_info(path: str | Path) -> pd.DataFrame:
    """Layers, feature counts, geometry type, CRS and extent of a project.

    Returns
    -------
    DataFrame
        One row per layer present: ``layer``, ``features``, ``geometry``, ``crs``,
        ``xmin``, ``ymin``, ``xmax``, ``ymax``.

    Examples
    --------
    >>> info = project_info("sample-geodata/ningbo-jiangbei.gpkg")
    >>> int(info.set_index("layer").loc["buildings", "features"])
    2706
    """
    return GeoPackageStore(path).info()
