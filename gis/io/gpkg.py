"""The GeoPackage store: a project as one ``.gpkg`` file (the embedded default).

:class:`GeoPackageStore` implements :class:`~beatgrid.gis.io.store.Store` over the
file functions of :mod:`beatgrid.gis.io.project` (layers, metadata, import log) and
:mod:`beatgrid.gis.io.derived` (computed results). Writes are transactional: a copy
of the file is written and replaces the original atomically.

Examples
--------
>>> from beatgrid.gis.io.gpkg import GeoPackageStore
>>> store = GeoPackageStore("sample-geodata/ningbo-jiangbei.gpkg")
>>> len(store.read_layer("communities"))
12
>>> store.crs()
4490
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from beatgrid.gis.io import derived, project


class GeoPackageStore:
    """A BeatGrid project kept in one GeoPackage file.

    Parameters
    ----------
    path
        The ``.gpkg`` file (it need not exist until :meth:`create` or a write).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"GeoPackageStore({str(self.path)!r})"

    @property
    def location(self) -> str:
        """The file path."""
        return str(self.path)

    def exists(self) -> bool:
        """Whether the file exists."""
        return self.path.exists()

    def create(self, *, crs: int = 4490, overwrite: bool = False) -> None:
        """Create an empty project file with every schema layer."""
        project.create_project(self.path, crs=crs, overwrite=overwrite)

    def list_layers(self) -> list[str]:
        """The schema layers present in the file."""
        return project.list_layers(self.path)

    def read_layer(self, name: str, *, bbox: tuple[float, float, float, float] | None = None
                   ) -> pd.DataFrame:
        """One layer, conformed (an absent schema layer reads as an empty frame)."""
        return project.read_layer(self.path, name, bbox=bbox)

    def read_layers(self, names: Sequence[str] | None = None) -> dict[str, pd.DataFrame]:
        """Several layers as ``{name: frame}`` (default: every schema layer)."""
        return project.read_project(self.path, list(names) if names is not None else None)

    def write_layers(self, layers: Mapping[str, pd.DataFrame], *, append: bool = False,
                     validate: bool = True, meta: Mapping[str, Any] | None = None) -> None:
        """Write layers transactionally (a refused write leaves the file unchanged)."""
        project.write_layers(self.path, dict(layers), append=append, validate=validate,
                             meta=dict(meta) if meta is not None else None)

    def crs(self) -> int:
        """EPSG code of the stored layers."""
        return project.project_crs(self.path)

    def meta(self) -> dict[str, str]:
        """The ``beatgrid_meta`` key/value table."""
        return project.read_meta(self.path)

    def imports(self) -> pd.DataFrame:
        """The import log."""
        return project.read_imports(self.path)

    def info(self) -> pd.DataFrame:
        """Layers, counts, geometry types, CRS and extents."""
        return project.project_info(self.path)

    def state(self) -> Hashable:
        """Modification time and size of the file and its WAL: changes on every write."""
        state: list[tuple[int, int] | None] = []
        for p in (self.path, self.path.with_name(self.path.name + "-wal")):
            try:
                st = p.stat()
                state.append((st.st_mtime_ns, st.st_size))
            except OSError:
                state.append(None)
        return (str(self.path.resolve()), tuple(state))

    def write_derived(self, layers: Mapping[str, gpd.GeoDataFrame | pd.DataFrame]) -> None:
        """Write derived layers (coverage results, proposals) into the file."""
        derived.write_derived(self.path, dict(layers))

    def read_derived(self, name: str) -> pd.DataFrame:
        """One derived layer."""
        return derived.read_derived(self.path, name)

    def list_derived(self) -> list[str]:
        """The derived layers present."""
        return derived.list_derived(self.path)
