"""Derived layers in a GeoPackage, as functions of a path (over :class:`GeoPackageStore`).

Coverage results (``camera_views``, ``blind_spots``, ``coverage_stats``, ``estate_risk``)
and camera proposals (``camera_proposals``, ``proposal_effects``) are not project layers
of :mod:`beatgrid.gis.schema`: they are recomputed from them. They are written beside
the project layers (or into any other GeoPackage) so QGIS and the map show them, with
the store's transactional rule: a failed write loses nothing, and a layer replaces the
stored one of that name. Geometries are stored in the project CRS (EPSG:4490 unless the
project says otherwise; a new file takes 4490 inside China and 4326 elsewhere).

Any store does the same (``project.store.write_derived(...)``,
:meth:`~beatgrid.gis.io.store.Store.read_derived`), the PostGIS store included; these
functions serve the command line's ``--out FILE.gpkg``.

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

from collections.abc import Mapping
from pathlib import Path

from beatgrid.gis.errors import InputError
from beatgrid.gis.io.gpkg import GeoPackageStore
from beatgrid.gis.io.writing import DERIVED_LAYERS, Frame

__all__ = ["DERIVED_LAYERS", "list_derived", "read_derived", "write_derived"]


def _store(path: str | Path) -> GeoPackageStore:
    if Path(path).suffix.lower() != ".gpkg":
        raise InputError(f"output {str(path)!r} is not a GeoPackage",
                         fix="give a path ending in .gpkg")
    return GeoPackageStore(path)


def write_derived(path: str | Path, layers: Mapping[str, Frame]) -> Path:
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

    Examples
    --------
    >>> write_derived("out.csv", {})
    Traceback (most recent call last):
    ...
    beatgrid.gis.errors.InputError: output 'out.csv' is not a GeoPackage Fix: give a path ending in .gpkg
    """
    store = _store(path)
    store.write_derived(layers)
    return store.path


def read_derived(path: str | Path, name: str) -> Frame:
    """Read the derived layer ``name`` from ``path``.

    Raises
    ------
    NotFoundError
        When the file or the layer is missing (naming the command that writes it).

    Examples
    --------
    >>> read_derived("no-such.gpkg", "camera_views")
    Traceback (most recent call last):
    ...
    beatgrid.gis.errors.NotFoundError: 'no-such.gpkg' does not exist Fix: check the path
    """
    return _store(path).read_derived(name)


def list_derived(path: str | Path) -> list[str]:
    """The derived layers present in ``path``.

    Examples
    --------
    >>> list_derived("sample-geodata/ningbo-jiangbei.gpkg")
    []
    """
    return _store(path).list_derived()
