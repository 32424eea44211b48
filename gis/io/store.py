"""The store interface: where a project's layers live (a GeoPackage file or PostGIS).

Every reader and writer of project layers goes through a :class:`Store`; the
computing code never opens files. Two implementations share one contract (the same
tests run on both): :class:`~beatgrid.gis.io.gpkg.GeoPackageStore` (one ``.gpkg``
file, the default, opens in QGIS) and :class:`~beatgrid.gis.io.postgis.PostGISStore`
(a schema in a PostGIS database, the multi-user store). :func:`open_store` picks
one from a path or a URL.

The contract:

- ``read_layer`` returns the layer conformed to :mod:`beatgrid.gis.schema`
  (geometries in the storage CRS, EPSG:4490 or 4326; single parts);
- ``write_layers`` is one transaction: every layer is conformed and, with
  ``validate``, the whole project is checked first; on any error nothing is written
  and :class:`~beatgrid.gis.errors.ValidationError` lists every problem;
- ``state`` changes whenever the stored layers change (so results computed from
  them can be cached);
- derived layers (coverage results, proposals: :data:`DERIVED_LAYERS`) are written
  and read beside the project layers with the same transactional rule.

Examples
--------
>>> from beatgrid.gis.io.store import open_store
>>> store = open_store("sample-geodata/ningbo-jiangbei.gpkg")
>>> store.read_layer("communities").crs.to_epsg()
4490
>>> "buildings" in store.list_layers()
True
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import pandas as pd

from beatgrid.gis.errors import InputError

if TYPE_CHECKING:
    import geopandas as gpd

#: A layer as read or written: a GeoDataFrame for spatial layers, a DataFrame for tables.
Frame = pd.DataFrame
#: ``(minlon, minlat, maxlon, maxlat)`` in the storage CRS.
BBox = tuple[float, float, float, float]


@runtime_checkable
class Store(Protocol):
    """Where a project's layers are kept; see the module docstring for the contract."""

    @property
    def location(self) -> str:
        """The path or the URL (password masked) of the store, for messages."""
        ...

    def exists(self) -> bool:
        """Whether the project exists (a file, or a schema with BeatGrid's tables)."""
        ...

    def create(self, *, crs: int = 4490, overwrite: bool = False) -> None:
        """Create an empty project with every schema layer present."""
        ...

    def list_layers(self) -> list[str]:
        """Names of the schema layers present, in :data:`beatgrid.gis.schema.LAYER_ORDER`."""
        ...

    def read_layer(self, name: str, *, bbox: BBox | None = None) -> Frame:
        """One layer, conformed to the schema (``bbox`` keeps the features it touches)."""
        ...

    def read_layers(self, names: Sequence[str] | None = None) -> dict[str, Frame]:
        """Several layers (default: every schema layer) as ``{name: frame}``."""
        ...

    def write_layers(self, layers: Mapping[str, Frame], *, append: bool = False,
                     validate: bool = True, meta: Mapping[str, Any] | None = None) -> None:
        """Write layers in one transaction (see the contract); ``meta`` logs an import."""
        ...

    def crs(self) -> int:
        """EPSG code the layers are stored in."""
        ...

    def meta(self) -> dict[str, str]:
        """The key/value metadata (schema version, CRS, creation time)."""
        ...

    def imports(self) -> pd.DataFrame:
        """The import log: one row per import (layer, source, coords, rows, mode, time)."""
        ...

    def info(self) -> pd.DataFrame:
        """Per layer: ``layer``, ``features``, ``geometry``, ``crs`` and the extent."""
        ...

    def state(self) -> Hashable:
        """A token that changes whenever the stored layers change."""
        ...

    def write_derived(self, layers: Mapping[str, gpd.GeoDataFrame | pd.DataFrame]) -> None:
        """Write derived layers (:data:`DERIVED_LAYERS`) in one transaction."""
        ...

    def read_derived(self, name: str) -> Frame:
        """One derived layer; :class:`~beatgrid.gis.errors.NotFoundError` when absent."""
        ...

    def list_derived(self) -> list[str]:
        """Names of the derived layers present."""
        ...


def is_database_url(target: str | Path) -> bool:
    """Whether ``target`` names a PostgreSQL database rather than a file.

    Examples
    --------
    >>> is_database_url("postgresql://user@localhost/beatgrid"), is_database_url("x.gpkg")
    (True, False)
    """
    text = str(target)
    return text.startswith(("postgresql://", "postgresql+psycopg://", "postgres://"))


def open_store(target: str | Path | Store, *, schema: str | None = None) -> Store:
    """The store for a project path (``.gpkg``) or a PostgreSQL URL.

    Parameters
    ----------
    target
        A GeoPackage path, a ``postgresql://`` URL, or a store (returned as is).
    schema
        The database schema holding the project (PostGIS only; default ``beatgrid``).

    Returns
    -------
    Store

    Raises
    ------
    InputError
        ``target`` is neither a ``.gpkg`` path nor a PostgreSQL URL.

    Examples
    --------
    >>> open_store("plan.shp")
    Traceback (most recent call last):
    ...
    beatgrid.gis.errors.InputError: project 'plan.shp' is not a GeoPackage Fix: give a project path ending in .gpkg, or a postgresql:// URL
    """
    if isinstance(target, Store) and not isinstance(target, (str, Path)):
        return target
    if is_database_url(target):
        from beatgrid.gis.io.postgis import PostGISStore  # sqlalchemy only when asked for

        return PostGISStore(str(target), **({"schema": schema} if schema else {}))
    path = Path(target)
    if path.suffix.lower() != ".gpkg":
        raise InputError(f"project {str(target)!r} is not a GeoPackage",
                         fix="give a project path ending in .gpkg, or a postgresql:// URL")
    from beatgrid.gis.io.gpkg import GeoPackageStore

    return GeoPackageStore(path)
