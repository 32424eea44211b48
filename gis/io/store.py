"""The store interface: where a project's layers live (a GeoPackage file or PostGIS).

Every reader and writer of project layers goes through a :class:`Store`; the
computing code never opens files. Two implementations share one contract (the same
tests run on both): :class:`~beatgrid.gis.io.gpkg.GeoPackageStore` (one ``.gpkg``
file, the default, opens in QGIS) and :class:`~beatgrid.gis.io.postgis.PostGISStore`
(a schema in a PostGIS database, the multi-user store). :func:`open_store` picks
one from a path or a URL.

The contract:

- ``read_layer`` returns the layer conformed to :mod:`beatgrid.gis.schema`
  (geometries in the project CRS, EPSG:4490 or 4326; single parts); a schema layer
  that is not stored reads as an empty frame with the schema's columns; ``bbox``
  keeps the features that intersect it;
- ``write_layers`` is one transaction: every layer is prepared the same way for both
  stores (:func:`~beatgrid.gis.io.writing.prepare_write`: reprojected to the project
  CRS, appended, conformed and, with ``validate``, checked with the stored layers); on
  any error nothing is written and :class:`~beatgrid.gis.errors.ValidationError` lists
  every problem; ``meta`` adds a row per layer to the import log (``imports``);
- ``state`` changes whenever the stored layers change (so results computed from
  them can be cached);
- ``locked()`` is the project's lock (:mod:`beatgrid.gis.io.locking`): every write
  takes it, and a read-change-write holds it from the read to the write, so two
  writers never drop each other's work;
- derived layers (coverage results, proposals:
  :data:`~beatgrid.gis.io.writing.DERIVED_LAYERS`) are written and read beside the
  project layers with the same transactional rule.

The contract tests (``tests/gis/io/test_store_contract.py``) run on both stores.

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
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import pandas as pd

from beatgrid.gis.errors import InputError
from beatgrid.gis.io.gpkg import GeoPackageStore
from beatgrid.gis.io.locking import DEFAULT_LOCK_TIMEOUT_S
from beatgrid.gis.io.records import Records
from beatgrid.gis.io.writing import DERIVED_LAYERS, BBox, Frame

__all__ = ["DERIVED_LAYERS", "BBox", "Frame", "GeoPackageStore", "Store", "is_database_url",
           "open_store"]


@runtime_checkable
class Store(Protocol):
    """Where a project's layers are kept; see the module docstring for the contract.

    :class:`~beatgrid.gis.io.gpkg.GeoPackageStore` and
    :class:`~beatgrid.gis.io.postgis.PostGISStore` implement it; code that reads or
    writes layers takes a ``Store`` and never asks which.

    Examples
    --------
    >>> store = open_store("sample-geodata/ningbo-jiangbei.gpkg")
    >>> isinstance(store, Store), store.location
    (True, 'sample-geodata/ningbo-jiangbei.gpkg')
    """

    @property
    def location(self) -> str:
        """The path or the URL (password masked) of the store, for messages.

        Examples
        --------
        >>> store = open_store("sample-geodata/ningbo-jiangbei.gpkg")
        >>> store.location
        'sample-geodata/ningbo-jiangbei.gpkg'
        """
        ...

    def exists(self) -> bool:
        """Whether the project exists (a file, or a schema with BeatGrid's tables).

        Examples
        --------
        >>> open_store("no-such.gpkg").exists()
        False
        """
        ...

    def create(self, *, crs: int = 4490, overwrite: bool = False) -> None:
        """Create an empty project with every schema layer present.

        Examples
        --------
        >>> import tempfile, os
        >>> store = open_store(os.path.join(tempfile.mkdtemp(), "new.gpkg"))
        >>> store.create(crs=4326)
        >>> store.crs(), len(store.list_layers())
        (4326, 14)
        """
        ...

    def list_layers(self) -> list[str]:
        """Names of the schema layers present, in :data:`beatgrid.gis.schema.LAYER_ORDER`.

        Examples
        --------
        >>> store = open_store("sample-geodata/ningbo-jiangbei.gpkg")
        >>> store.list_layers()[:2]
        ['stations', 'responsibility_areas']
        """
        ...

    def read_layer(self, name: str, *, bbox: BBox | None = None) -> Frame:
        """One layer, conformed to the schema (``bbox`` keeps the features it touches).

        Examples
        --------
        >>> store = open_store("sample-geodata/ningbo-jiangbei.gpkg")
        >>> len(store.read_layer("buildings", bbox=(121.545, 29.915, 121.548, 29.918)))
        15
        """
        ...

    def read_layers(self, names: Sequence[str] | None = None) -> dict[str, Frame]:
        """Several layers (default: every schema layer) as ``{name: frame}``.

        Examples
        --------
        >>> store = open_store("sample-geodata/ningbo-jiangbei.gpkg")
        >>> {k: len(v) for k, v in store.read_layers(["stations", "beats"]).items()}
        {'stations': 2, 'beats': 12}
        """
        ...

    def write_layers(self, layers: Mapping[str, Frame], *, append: bool = False,
                     validate: bool = True, meta: Mapping[str, Any] | None = None
                     ) -> dict[str, int]:
        """Write layers in one transaction (see the contract); rows stored per layer.

        Examples
        --------
        >>> from beatgrid.gis import Project
        >>> store = Project.sample().store
        >>> stations = store.read_layer("stations")
        >>> store.write_layers({"stations": stations}, meta={"source": "again"})
        {'stations': 2}
        """
        ...

    def crs(self) -> int:
        """EPSG code the layers are stored in.

        Examples
        --------
        >>> store = open_store("sample-geodata/ningbo-jiangbei.gpkg")
        >>> store.crs()
        4490
        """
        ...

    def meta(self) -> dict[str, str]:
        """The key/value metadata (schema version, CRS, creation time).

        Examples
        --------
        >>> store = open_store("sample-geodata/ningbo-jiangbei.gpkg")
        >>> store.meta()["crs_epsg"]
        '4490'
        """
        ...

    def imports(self) -> pd.DataFrame:
        """The import log: one row per import (layer, source, coords, rows, mode, time).

        Examples
        --------
        >>> store = open_store("sample-geodata/ningbo-jiangbei.gpkg")
        >>> list(store.imports().columns)
        ['layer', 'source', 'coords', 'rows', 'mode', 'imported_at']
        """
        ...

    def info(self) -> pd.DataFrame:
        """Per layer: ``layer``, ``features``, ``geometry``, ``crs`` and the extent.

        Examples
        --------
        >>> store = open_store("sample-geodata/ningbo-jiangbei.gpkg")
        >>> list(store.info().columns)
        ['layer', 'features', 'geometry', 'crs', 'xmin', 'ymin', 'xmax', 'ymax']
        """
        ...

    def state(self) -> Hashable:
        """A token that changes whenever the stored layers change.

        Examples
        --------
        >>> from beatgrid.gis import Project
        >>> store = Project.sample().store
        >>> before = store.state()
        >>> _ = store.write_layers({"staff": store.read_layer("staff")})
        >>> store.state() != before
        True
        """
        ...

    @property
    def records(self) -> Records:
        """The service tables (accounts, tokens, audit log, plans) of the project.

        Examples
        --------
        >>> from beatgrid.gis import Project
        >>> from beatgrid.gis.io.records import Records
        >>> isinstance(Project.sample().store.records, Records)
        True
        """
        ...

    def locked(self) -> AbstractContextManager[Any]:
        """The project's lock (re-entrant in one thread), held from a read to its write.

        Examples
        --------
        >>> from beatgrid.gis import Project
        >>> store = Project.sample().store
        >>> with store.locked():
        ...     _ = store.write_layers({"staff": store.read_layer("staff")})
        """
        ...

    def write_derived(self, layers: Mapping[str, Frame]) -> None:
        """Write derived layers (:data:`DERIVED_LAYERS`) in one transaction.

        Examples
        --------
        >>> import pandas as pd
        >>> from beatgrid.gis import Project
        >>> store = Project.sample().store
        >>> store.write_derived({"proposal_effects": pd.DataFrame({"step": [1]})})
        >>> store.list_derived()
        ['proposal_effects']
        """
        ...

    def read_derived(self, name: str) -> Frame:
        """One derived layer; :class:`~beatgrid.gis.errors.NotFoundError` when absent.

        Examples
        --------
        >>> store = open_store("sample-geodata/ningbo-jiangbei.gpkg")
        >>> store.read_derived("blind_spots")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        beatgrid.gis.errors.NotFoundError: 'sample-geodata/ningbo-jiangbei.gpkg' has no layer 'blind_spots' Fix: ...
        """
        ...

    def list_derived(self) -> list[str]:
        """Names of the derived layers present.

        Examples
        --------
        >>> store = open_store("sample-geodata/ningbo-jiangbei.gpkg")
        >>> store.list_derived()
        []
        """
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


def open_store(target: str | Path | Store, *, schema: str | None = None,
               settings: Mapping[str, Any] | None = None) -> Store:
    """The store for a project path (``.gpkg``) or a PostgreSQL URL.

    Parameters
    ----------
    target
        A GeoPackage path, a ``postgresql://`` URL, or a store (returned as is).
    schema
        The database schema holding the project (PostGIS only; default ``beatgrid``).
    settings
        The ``core`` settings (``[store]``: the lock's timeout, stale temporary copies);
        default the shipped ones.

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
    store_settings = dict((settings or {}).get("store", {}))
    wait = float(store_settings.get("lock_timeout_s", DEFAULT_LOCK_TIMEOUT_S))
    if is_database_url(target):
        # Lazy on purpose: SQLAlchemy (a second or so to import) is loaded only when a
        # database is opened, not by every command that works on a GeoPackage.
        from beatgrid.gis.io.postgis import DEFAULT_POOL_SIZE, DEFAULT_SCHEMA, PostGISStore

        pool = int(store_settings.get("pg_pool_size", DEFAULT_POOL_SIZE))
        return PostGISStore(str(target), lock_timeout_s=wait, settings=settings,
                            pool_size=pool, schema=schema or DEFAULT_SCHEMA)
    path = Path(target)
    if path.suffix.lower() != ".gpkg":
        raise InputError(f"project {str(target)!r} is not a GeoPackage",
                         fix="give a project path ending in .gpkg, or a postgresql:// URL")
    hours = store_settings.get("stale_temp_hours")
    return GeoPackageStore(path, lock_timeout_s=wait, settings=settings,
                           stale_temp_hours=float(hours) if hours is not None else None)
