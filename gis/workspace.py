"""``Workspace``: a project's layers in their store, with its configuration.

The part of :class:`~beatgrid.gis.project.Project` that the capabilities need (read
and write layers, settings), so that the capability packages depend on this module and
never on ``Project`` itself. Layers are read once per stored state and cached.

Examples
--------
>>> from beatgrid.gis.io.store import open_store
>>> ws = Workspace(open_store("sample-geodata/ningbo-jiangbei.gpkg"))
>>> len(ws.layer("communities"))
12
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from beatgrid.gis import schema
from beatgrid.gis.accounts import Accounts
from beatgrid.gis.audit import AuditLog
from beatgrid.gis.config import Config, default_config
from beatgrid.gis.io.store import BBox, Store


class Workspace:
    """Layers in a store, and the configuration to compute with.

    Parameters
    ----------
    store
        Where the layers are (:func:`~beatgrid.gis.io.store.open_store`).
    config
        Settings and policy (default: the shipped ones).
    """

    def __init__(self, store: Store, *, config: Config | None = None) -> None:
        self.store = store
        self.config = config if config is not None else default_config()
        self._cache: dict[tuple[Any, str], pd.DataFrame] = {}
        self._lock = threading.Lock()

    @property
    def accounts(self) -> Accounts:
        """The project's users, roles and tokens (:class:`~beatgrid.gis.accounts.Accounts`)."""
        return Accounts(self.store.records, settings=self.config.core)

    @property
    def audit(self) -> AuditLog:
        """The project's audit log (:class:`~beatgrid.gis.audit.AuditLog`)."""
        return AuditLog(self.store.records)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.store.location!r})"

    # -- layers ----------------------------------------------------------------------
    @property
    def location(self) -> str:
        """The store's path or (masked) URL."""
        return self.store.location

    def layer(self, name: str, *, bbox: BBox | None = None) -> pd.DataFrame:
        """One layer, conformed to the schema (a copy: change it freely).

        Parameters
        ----------
        name
            A layer of :data:`beatgrid.gis.schema.LAYER_ORDER`.
        bbox
            ``(minlon, minlat, maxlon, maxlat)``: only the features it touches (not cached).

        Examples
        --------
        >>> from beatgrid.gis.io.store import open_store
        >>> Workspace(open_store("sample-geodata/ningbo-jiangbei.gpkg")).layer("stations")["id"].tolist()
        ['S01', 'S02']
        """
        schema.get_spec(name)
        if bbox is not None:
            return self.store.read_layer(name, bbox=bbox)
        key = (self.store.state(), name)
        with self._lock:
            cached = self._cache.get(key)
        if cached is None:
            cached = self.store.read_layer(name)
            with self._lock:
                self._cache = {k: v for k, v in self._cache.items() if k[0] == key[0]}
                self._cache[key] = cached
        return cached.copy()

    def read(self, names: Sequence[str] | None = None) -> dict[str, pd.DataFrame]:
        """Several layers as ``{name: frame}`` (default: every schema layer).

        Examples
        --------
        >>> from beatgrid.gis.io.store import open_store
        >>> sorted(Workspace(open_store("sample-geodata/ningbo-jiangbei.gpkg")).read(["beats", "staff"]))
        ['beats', 'staff']
        """
        return {name: self.layer(name)
                for name in (names if names is not None else schema.LAYER_ORDER)}

    @property
    def layers(self) -> dict[str, pd.DataFrame]:
        """Every schema layer as ``{name: frame}``."""
        return self.read()

    def write(self, layers: Mapping[str, pd.DataFrame], *, append: bool = False,
              validate: bool = True, meta: Mapping[str, Any] | None = None) -> None:
        """Write layers in one transaction (see :class:`~beatgrid.gis.io.store.Store`).

        Raises
        ------
        ValidationError
            Every problem at once; nothing is written.
        """
        with self.store.locked():
            before = self.store.state() if self.store.exists() else None
            rows = self.store.write_layers(layers, append=append, validate=validate, meta=meta)
            self.audit.write_layers(list(layers), rows, before=before, after=self.store.state(),
                                    mode="append" if append else "replace")

    def update(self, names: Sequence[str],
               change: Callable[[dict[str, pd.DataFrame]], Mapping[str, pd.DataFrame]], *,
               validate: bool = True, meta: Mapping[str, Any] | None = None
               ) -> dict[str, pd.DataFrame]:
        """Read layers, change them and write the result, holding the project's lock.

        The layers are read under the lock the write takes, so a change computed on
        them is never written over another writer's work (the other waits).

        Parameters
        ----------
        names
            Layers to read.
        change
            ``{name: frame}`` of the fresh layers to ``{name: frame}`` to write.
        validate, meta
            As :meth:`write`.

        Returns
        -------
        dict
            The layers written.

        Examples
        --------
        >>> from beatgrid.gis import Project
        >>> project = Project.sample()
        >>> written = project.update(["police_rooms"],
        ...                          lambda fresh: {"police_rooms": fresh["police_rooms"].iloc[:2]})
        >>> len(project.layer("police_rooms"))
        2
        """
        with self.store.locked():
            out = dict(change(self.read(names)))
            self.write(out, validate=validate, meta=meta)
        return out

    def validate(self) -> schema.ValidationReport:
        """Every schema problem of the stored layers at once, judged by ``config.core``.

        The ``[validation]`` settings of the project's configuration apply (tolerances,
        plausible maxima, near-match ratio).

        Examples
        --------
        >>> from beatgrid.gis.io.store import open_store
        >>> Workspace(open_store("sample-geodata/ningbo-jiangbei.gpkg")).validate().ok
        True
        """
        return schema.validate_project(self.read(), settings=self.config.core)

    def info(self) -> pd.DataFrame:
        """Layers, feature counts, geometry types, CRS and extents.

        Examples
        --------
        >>> from beatgrid.gis.io.store import open_store
        >>> info = Workspace(open_store("sample-geodata/ningbo-jiangbei.gpkg")).info()
        >>> int(info.set_index("layer").loc["buildings", "features"])
        2706
        """
        return self.store.info()
