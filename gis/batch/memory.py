"""``MemoryStore``: a read-only :class:`~beatgrid.gis.io.store.Store` over frames in memory.

A partition of a batch run (:mod:`beatgrid.gis.batch`) holds the layers of one police
station and its halo, read from the project by bounding box. Wrapped in a
``MemoryStore`` they make a :class:`~beatgrid.gis.workspace.Workspace`, so the
partition is computed by the same orchestration as the whole project
(``GridPlanning``, ``CoverageAnalysis``, ``Policing``): nothing of a capability is
written twice.

Examples
--------
>>> from beatgrid.gis.io.store import open_store
>>> from beatgrid.gis.workspace import Workspace
>>> stored = open_store("sample-geodata/ningbo-jiangbei.gpkg")
>>> mem = MemoryStore({"stations": stored.read_layer("stations")}, crs=stored.crs())
>>> Workspace(mem).layer("stations")["id"].tolist(), len(Workspace(mem).layer("beats"))
(['S01', 'S02'], 0)
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import pandas as pd
import shapely

from beatgrid.gis import schema
from beatgrid.gis.errors import ConflictError, NotFoundError
from beatgrid.gis.io.records import Records
from beatgrid.gis.io.writing import BBox, Frame

__all__ = ["MemoryStore"]


class MemoryStore:
    """Schema layers held in memory, read like a store; writes are refused.

    Parameters
    ----------
    layers
        Layer name to frame (conformed to the schema, e.g. read from a project); a
        schema layer that is not given reads as an empty layer.
    crs
        EPSG code of the layers (the project's storage CRS).
    label
        What the store holds, for messages (``"partition S01"``).

    Examples
    --------
    >>> MemoryStore({}, crs=4490, label="partition S01").location
    'partition S01'
    """

    def __init__(self, layers: Mapping[str, Frame], *, crs: int = 4490,
                 label: str = "in memory") -> None:
        for name in layers:
            schema.get_spec(name)
        self._layers = dict(layers)
        self._crs = int(crs)
        self._label = label

    def __repr__(self) -> str:
        return f"MemoryStore({self._label!r})"

    @property
    def location(self) -> str:
        """The label given."""
        return self._label

    def exists(self) -> bool:
        """Always True."""
        return True

    def create(self, *, crs: int = 4490, overwrite: bool = False) -> None:
        """Refused: a memory store is built from frames."""
        self._refuse("create")

    def list_layers(self) -> list[str]:
        """The layers given, in :data:`~beatgrid.gis.schema.LAYER_ORDER`."""
        return [name for name in schema.LAYER_ORDER if name in self._layers]

    def read_layer(self, name: str, *, bbox: BBox | None = None) -> Frame:
        """A copy of the layer (empty with the schema's columns when not given).

        Examples
        --------
        >>> MemoryStore({}, crs=4490).read_layer("beats").columns[:2].tolist()
        ['id', 'name']
        """
        spec = schema.get_spec(name)
        frame = self._layers.get(name)
        if frame is None:
            return schema.empty_layer(name, crs=self._crs)
        frame = frame.copy()
        if bbox is not None and spec.spatial and len(frame):
            hit = shapely.intersects(shapely.box(*bbox), frame.geometry.values)
            frame = frame[hit]
        return frame

    def read_layers(self, names: Sequence[str] | None = None) -> dict[str, Frame]:
        """Several layers as ``{name: frame}`` (default: every schema layer)."""
        wanted = list(names) if names is not None else list(schema.LAYER_ORDER)
        return {name: self.read_layer(name) for name in wanted}

    def write_layers(self, layers: Mapping[str, Frame], *, append: bool = False,
                     validate: bool = True, meta: Mapping[str, Any] | None = None
                     ) -> dict[str, int]:
        """Refused: the partition's results are merged and written by the runner."""
        self._refuse("write layers into")
        return {}

    def crs(self) -> int:
        """The EPSG code given."""
        return self._crs

    def meta(self) -> dict[str, str]:
        """The CRS only."""
        return {"crs_epsg": str(self._crs)}

    def imports(self) -> pd.DataFrame:
        """An empty import log."""
        return pd.DataFrame(columns=["layer", "source", "coords", "rows", "mode",
                                     "imported_at"])

    def info(self) -> pd.DataFrame:
        """Per layer given: its name and feature count."""
        return pd.DataFrame({"layer": self.list_layers(),
                             "features": [len(self._layers[n]) for n in self.list_layers()]})

    def state(self) -> Hashable:
        """Constant: the frames never change."""
        return ("memory", id(self))

    @property
    def records(self) -> Records:
        """A partition has no service tables.

        Raises
        ------
        NotFoundError
            Always.
        """
        raise NotFoundError(f"{self._label} holds no service tables",
                            fix="read accounts, plans and the audit log from the project")

    def locked(self) -> AbstractContextManager[Any]:
        """Nothing to lock: the frames never change."""
        return nullcontext()

    def write_derived(self, layers: Mapping[str, Frame]) -> None:
        """Refused (see :meth:`write_layers`)."""
        self._refuse("write derived layers into")

    def read_derived(self, name: str) -> Frame:
        """No derived layer is held.

        Raises
        ------
        NotFoundError
            Always.
        """
        raise NotFoundError(f"{self._label} holds no derived layer {name!r}",
                            fix="read derived layers from the project")

    def list_derived(self) -> list[str]:
        """None."""
        return []

    def _refuse(self, what: str) -> None:
        raise ConflictError(f"cannot {what} {self._label}: it is a read-only partition",
                            fix="write through the project (the batch runner merges and "
                                "writes the results)")


