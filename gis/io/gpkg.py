"""The GeoPackage store: a project as one ``.gpkg`` file (the embedded default).

:class:`GeoPackageStore` implements :class:`~beatgrid.gis.io.store.Store`. Besides the
layers of :mod:`beatgrid.gis.schema` the file holds the table ``beatgrid_meta``
(key/value: schema version, CRS, creation time) and ``beatgrid_imports`` (one row per
import: layer, source file, coordinate system, rows, time), and the derived layers
(coverage results, proposals) written beside them. QGIS opens the file as it is.

Writes are transactional: the layers are prepared once for both stores
(:func:`~beatgrid.gis.io.writing.prepare_write`: conformed, reprojected, validated),
then written into a copy of the file next to it, and the copy replaces the original
atomically only when every layer was written (flushed to disk first), so a refused or
failed write loses nothing; the copy a killed write left behind is removed by the next
one (:mod:`beatgrid.gis.io.gpkg_files`). A write into a file that does not exist
creates an empty project first.

A file that is not a readable GeoPackage (empty, truncated, another kind of file, a
damaged header or damaged pages) raises one
:class:`~beatgrid.gis.errors.StoreUnavailableError` from every method that reads it,
naming the file and what the driver said, with the fix; it is never written to.

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

import contextlib
import warnings
from collections.abc import Hashable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyogrio

from beatgrid.gis import schema
from beatgrid.gis.errors import InputError, NotFoundError
from beatgrid.gis.io.gpkg_files import atomic_replace, check_bbox, check_header, reading
from beatgrid.gis.io.locking import DEFAULT_LOCK_TIMEOUT_S, FileProjectLock
from beatgrid.gis.io.qgis_styles import write_layer_styles
from beatgrid.gis.io.records import Records
from beatgrid.gis.io.writing import (DERIVED_LAYERS, IMPORT_COLUMNS, IMPORTS_TABLE, META_TABLE,
                                     SCHEMA_VERSION, BBox, Frame, check_derived_names,
                                     check_storage_crs, derived_epsg, first_storage_epsg,
                                     import_log_rows, prepare_derived, prepare_write,
                                     single_parts, stored_geometry_type, utc_now)

#: Default CRS of a project that does not record one.
DEFAULT_EPSG = 4490


class GeoPackageStore:
    """A BeatGrid project kept in one GeoPackage file.

    Parameters
    ----------
    path
        The ``.gpkg`` file (it need not exist until :meth:`create` or a write).
    stale_temp_hours
        Age after which a write's temporary copy that no live process owns is removed
        (default: the ``core`` setting ``store.stale_temp_hours``).
    lock_timeout_s
        Seconds a writer waits for the project's lock (:meth:`locked`) before giving up.
    settings
        The ``core`` settings the writes are validated with (default the shipped ones).

    Raises
    ------
    InputError
        ``path`` does not end in ``.gpkg``.

    Examples
    --------
    >>> store = GeoPackageStore("sample-geodata/ningbo-jiangbei.gpkg")
    >>> store.list_layers()[:3], store.exists()
    (['stations', 'responsibility_areas', 'beats'], True)
    """

    def __init__(self, path: str | Path, *, stale_temp_hours: float | None = None,
                 lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S,
                 settings: Mapping[str, Any] | None = None) -> None:
        self.path = Path(path)
        self.settings = settings
        self.stale_temp_hours = stale_temp_hours
        if self.path.suffix.lower() != ".gpkg":
            raise InputError(f"project {str(self.path)!r} is not a GeoPackage",
                             fix="give a project path ending in .gpkg")
        self.lock = FileProjectLock(self.path, timeout_s=lock_timeout_s)
        self._records: Records | None = None
        #: file states reached by writes of the service tables alone -> the layers' state
        self._same_layers: dict[Any, Any] = {}

    @property
    def records(self) -> Records:
        """The service tables in the file (accounts, audit, plans), created on first use.

        Examples
        --------
        >>> from beatgrid.gis import Project
        >>> Project.sample().store.records.schema is None
        True
        """
        if self._records is None:
            self._records = Records.for_file(self.path, lock=self.locked,
                                             quiet_lock=self._records_write)
        return self._records

    def locked(self) -> FileProjectLock:
        """The project's lock, to hold from a read to the write that depends on it.

        Every write takes it too (re-entrant in one thread), so two writers, in one
        process or two, never drop each other's work: the second waits.

        Examples
        --------
        >>> from beatgrid.gis import Project
        >>> store = Project.sample().store
        >>> with store.locked():
        ...     rooms = store.read_layer("police_rooms")
        ...     store.write_layers({"police_rooms": rooms.iloc[:2]})
        {'police_rooms': 2}
        """
        return self.lock

    def __repr__(self) -> str:
        return f"GeoPackageStore({str(self.path)!r})"

    # -- what is there ---------------------------------------------------------------
    @property
    def location(self) -> str:
        """The file path.

        Examples
        --------
        >>> GeoPackageStore("sample-geodata/ningbo-jiangbei.gpkg").location
        'sample-geodata/ningbo-jiangbei.gpkg'
        """
        return str(self.path)

    def exists(self) -> bool:
        """Whether the file exists.

        Examples
        --------
        >>> GeoPackageStore("sample-geodata/ningbo-jiangbei.gpkg").exists()
        True
        """
        return self.path.exists()

    def _require(self) -> Path:
        if not self.path.exists():
            raise NotFoundError(f"project {str(self.path)!r} does not exist",
                                fix="create it with `beatgrid sample --out` or `beatgrid import`")
        check_header(self.path)
        return self.path

    def _present(self) -> set[str]:
        path = self._require()
        with reading(path):
            return {str(name) for name, _ in pyogrio.list_layers(path)}

    def list_layers(self) -> list[str]:
        """The schema layers present in the file, in :data:`~beatgrid.gis.schema.LAYER_ORDER`.

        Examples
        --------
        >>> len(GeoPackageStore("sample-geodata/ningbo-jiangbei.gpkg").list_layers())
        14
        """
        present = self._present()
        return [name for name in schema.LAYER_ORDER if name in present]

    def crs(self) -> int:
        """EPSG code of the stored layers (4490 unless the file records another).

        Examples
        --------
        >>> GeoPackageStore("not-yet.gpkg").crs()
        4490
        """
        if not self.path.exists():
            return DEFAULT_EPSG
        return int(self.meta().get("crs_epsg", DEFAULT_EPSG))

    def meta(self) -> dict[str, str]:
        """The ``beatgrid_meta`` key/value table (empty for a foreign GeoPackage).

        Examples
        --------
        >>> GeoPackageStore("sample-geodata/ningbo-jiangbei.gpkg").meta()["schema_version"]
        '1'
        """
        if META_TABLE not in self._present():
            return {}
        with reading(self.path, layer=META_TABLE):
            df = pyogrio.read_dataframe(self.path, layer=META_TABLE, read_geometry=False)
        return {str(k): str(v) for k, v in zip(df["key"], df["value"])}

    def imports(self) -> pd.DataFrame:
        """The import log: one row per import (layer, source, coords, rows, mode, time).

        Examples
        --------
        >>> log = GeoPackageStore("sample-geodata/ningbo-jiangbei.gpkg").imports()
        >>> log["source"].iloc[0], int(log["rows"].sum())
        ('beatgrid sample seed=0', 5398)
        """
        if IMPORTS_TABLE not in self._present():
            return pd.DataFrame(columns=list(IMPORT_COLUMNS))
        with reading(self.path, layer=IMPORTS_TABLE):
            return pd.DataFrame(pyogrio.read_dataframe(self.path, layer=IMPORTS_TABLE,
                                                       read_geometry=False))

    def info(self) -> pd.DataFrame:
        """Per layer present: ``layer``, ``features``, ``geometry``, ``crs`` and the extent.

        Examples
        --------
        >>> info = GeoPackageStore("sample-geodata/ningbo-jiangbei.gpkg").info()
        >>> cams = info.set_index("layer").loc["cameras"]
        >>> int(cams["features"]), cams["geometry"], cams["crs"]
        (300, 'Point', 'EPSG:4490')
        """
        rows = []
        for name in self.list_layers():
            with reading(self.path, layer=name):
                info = pyogrio.read_info(self.path, layer=name, force_total_bounds=True)
            bounds = info.get("total_bounds")
            if bounds is None or not np.isfinite(np.asarray(bounds, dtype=float)).all():
                bounds = [np.nan] * 4
            rows.append({"layer": name, "features": int(info["features"]),
                         "geometry": info["geometry_type"] or "(table)",
                         "crs": info["crs"] or "", "xmin": bounds[0], "ymin": bounds[1],
                         "xmax": bounds[2], "ymax": bounds[3]})
        return pd.DataFrame(rows)

    def state(self) -> Hashable:
        """Inode, modification time and size of the file and its WAL: changes on every write.

        Every write replaces the file by a new one (a new inode), so two writes within
        the file system's clock resolution still differ.

        Examples
        --------
        >>> store = GeoPackageStore("sample-geodata/ningbo-jiangbei.gpkg")
        >>> store.state() == store.state()
        True
        """
        raw = self._file_state()
        return (str(self.path.resolve()), self._same_layers.get(raw, raw))

    def _file_state(self) -> tuple[tuple[int, int, int] | None, ...]:
        state: list[tuple[int, int, int] | None] = []
        for p in (self.path, self.path.with_name(self.path.name + "-wal")):
            try:
                st = p.stat()
                state.append((st.st_ino, st.st_mtime_ns, st.st_size))
            except OSError:
                state.append(None)
        return tuple(state)

    @contextlib.contextmanager
    def _records_write(self) -> Iterator[None]:
        """Around a write of the service tables only (under the lock): the layers'
        :meth:`state` stays what it was, so cached layers stay valid."""
        with self.lock:
            before = self._file_state()
            yield
            after = self._file_state()
            if after != before:
                self._same_layers[after] = self._same_layers.get(before, before)
                while len(self._same_layers) > 64:
                    self._same_layers.pop(next(iter(self._same_layers)))

    # -- reading ---------------------------------------------------------------------
    def read_layer(self, name: str, *, bbox: BBox | None = None,
                   where: str | None = None) -> Frame:
        """One layer, conformed to the schema (an absent schema layer reads as an empty frame).

        Parameters
        ----------
        name
            A layer of :data:`~beatgrid.gis.schema.LAYER_ORDER`.
        bbox, where
            Optional spatial (xmin, ymin, xmax, ymax in the project CRS: the features
            that intersect it) and attribute (SQL) filters, passed to pyogrio.

        Returns
        -------
        GeoDataFrame (DataFrame for ``staff``)

        Raises
        ------
        InputError
            ``bbox`` is not four finite numbers with min <= max, or the layer has no
            geometry; ``where`` is not a valid SQL condition on the layer.

        Examples
        --------
        >>> store = GeoPackageStore("sample-geodata/ningbo-jiangbei.gpkg")
        >>> store.read_layer("police_rooms", where="room_type = 1")["id"].tolist()
        ['PR06', 'PR08']
        >>> store.read_layer("staff", bbox=(121.5, 29.9, 121.6, 30.0))
        Traceback (most recent call last):
        ...
        beatgrid.gis.errors.InputError: bbox (121.5, 29.9, 121.6, 30.0) on layer 'staff': the layer has no geometry Fix: read the layer without bbox
        """
        spec = schema.get_spec(name)
        if bbox is not None:
            check_bbox(name, bbox, spatial=spec.spatial)
        return self._read(name, self._present(), bbox=bbox, where=where)

    def _read(self, name: str, present: set[str], *, bbox: BBox | None = None,
              where: str | None = None) -> Frame:
        spec = schema.get_spec(name)
        if name not in present:
            return schema.empty_layer(name, crs=self.crs())
        with reading(self.path, layer=name, where=where):
            df = pyogrio.read_dataframe(self.path, layer=name, bbox=bbox, where=where,
                                        read_geometry=spec.spatial, fid_as_index=False)
        if spec.spatial:
            if df.geometry.name != "geometry":
                df = df.rename_geometry("geometry")
            df = single_parts(df)
        else:
            df = pd.DataFrame(df)
        out, _problems = schema.conform_layer(df, name)
        return out

    def read_layers(self, names: Sequence[str] | None = None) -> dict[str, Frame]:
        """Several layers as ``{name: frame}`` (default: every schema layer).

        Examples
        --------
        >>> layers = GeoPackageStore("sample-geodata/ningbo-jiangbei.gpkg").read_layers(["beats"])
        >>> len(layers["beats"])
        12
        """
        wanted = list(names) if names is not None else list(schema.LAYER_ORDER)
        for name in wanted:
            schema.get_spec(name)
        present = self._present()
        return {name: self._read(name, present) for name in wanted}

    def snapshot(self) -> tuple[int, dict[str, Frame]]:
        """The project CRS and every schema layer (what a copy to another store needs).

        Examples
        --------
        >>> crs, layers = GeoPackageStore("sample-geodata/ningbo-jiangbei.gpkg").snapshot()
        >>> crs, len(layers)
        (4490, 14)
        """
        return self.crs(), self.read_layers()

    # -- writing ---------------------------------------------------------------------
    def create(self, *, crs: int = DEFAULT_EPSG, overwrite: bool = False) -> None:
        """Create an empty project file with every schema layer (readable by QGIS).

        Raises
        ------
        InputError
            ``crs`` is not a storage CRS, or the file exists and ``overwrite`` is False.

        Examples
        --------
        >>> import tempfile, os
        >>> store = GeoPackageStore(os.path.join(tempfile.mkdtemp(), "new.gpkg"))
        >>> store.create(crs=4326)
        >>> store.crs(), len(store.read_layer("buildings"))
        (4326, 0)
        """
        check_storage_crs(crs)
        with self.lock:
            if self.path.exists() and not overwrite:
                raise InputError(f"project {str(self.path)!r} already exists",
                                 fix="choose another path or remove the file")
            with atomic_replace(self.path, copy=False,
                                stale_hours=self.stale_temp_hours) as tmp:
                _write_empty_project(tmp, crs)
                write_layer_styles(tmp, atomic=False, missing_only=True)

    def write_layers(self, layers: Mapping[str, Frame], *, append: bool = False,
                     validate: bool = True, meta: Mapping[str, Any] | None = None
                     ) -> dict[str, int]:
        """Write layers transactionally; the file is created when missing.

        Each layer is conformed to the schema and reprojected to the project CRS; with
        ``validate`` the whole project (the new layers with the stored ones) is checked
        for errors, including dangling references, and nothing is written when any is
        found. A layer replaces the stored one unless ``append`` is True.

        Parameters
        ----------
        layers
            Layer name to frame.
        append
            Add rows to the stored layer instead of replacing it; ids must stay unique.
        validate
            Refuse the write when the project would have validation errors.
        meta
            Import record to log in ``beatgrid_imports`` (keys ``source``, ``coords``,
            optionally ``rows``).

        Returns
        -------
        dict
            Rows stored per layer written.

        Raises
        ------
        ValidationError
            Every problem at once; the file is unchanged.

        Examples
        --------
        >>> from beatgrid.gis import Project
        >>> store = Project.sample().store
        >>> rooms = store.read_layer("police_rooms")
        >>> store.write_layers({"police_rooms": rooms.iloc[:3]})
        {'police_rooms': 3}
        """
        with self.lock:  # the stored layers are read under the lock they are written under
            if not self.path.exists():  # an empty project first (stays if the write is refused)
                self.create(crs=first_storage_epsg(layers) or DEFAULT_EPSG)
            epsg = self.crs()
            present = self._present()
            prepared = prepare_write(layers, epsg=epsg, append=append, validate=validate,
                                     settings=self.settings,
                                     read_stored=lambda name: self._read(name, present))
            with atomic_replace(self.path, copy=True,
                                stale_hours=self.stale_temp_hours) as tmp:
                for name, df in prepared.items():
                    _write_layer(tmp, name, df)
                if meta is not None:  # one row per layer, in the order given
                    _log_imports(tmp, import_log_rows(meta, layers, append=append))
        return {name: int(len(df)) for name, df in prepared.items()}

    # -- derived layers --------------------------------------------------------------
    def write_derived(self, layers: Mapping[str, Frame]) -> None:
        """Write derived layers (:data:`~beatgrid.gis.io.writing.DERIVED_LAYERS`) atomically.

        The file (and its folder) is created when missing; it need not be a project.
        Geometries are stored in the project CRS (a new file: 4490 inside China, 4326
        elsewhere); a layer replaces the stored one of that name.

        Examples
        --------
        >>> import geopandas as gpd, shapely, tempfile, os
        >>> store = GeoPackageStore(os.path.join(tempfile.mkdtemp(), "out.gpkg"))
        >>> views = gpd.GeoDataFrame({"camera_id": ["c1"]},
        ...     geometry=[shapely.box(121.55, 29.88, 121.551, 29.881)], crs=4490)
        >>> store.write_derived({"camera_views": views})
        >>> store.list_derived(), store.read_derived("camera_views")["camera_id"].tolist()
        (['camera_views'], ['c1'])
        """
        check_derived_names(layers)
        with self.lock:
            self._write_derived(layers)

    def _write_derived(self, layers: Mapping[str, Frame]) -> None:
        exists = self.path.exists()
        stored = self.meta().get("crs_epsg") if exists else None
        epsg = derived_epsg(int(stored) if stored is not None else None, layers)
        prepared = {name: prepare_derived(name, df, epsg) for name, df in layers.items()}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_replace(self.path, copy=exists, stale_hours=self.stale_temp_hours) as tmp:
            for name, (df, gtype) in prepared.items():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    if gtype is None:
                        pyogrio.write_dataframe(df, tmp, layer=name, driver="GPKG")
                    else:
                        pyogrio.write_dataframe(df, tmp, layer=name, driver="GPKG",
                                                geometry_type=gtype,
                                                promote_to_multi=gtype.startswith("Multi"))
            write_layer_styles(tmp, atomic=False, missing_only=True)  # QGIS shows them styled

    def read_derived(self, name: str) -> Frame:
        """The derived layer ``name``.

        Raises
        ------
        NotFoundError
            The file or the layer is missing (naming the command that writes it).

        Examples
        --------
        >>> GeoPackageStore("sample-geodata/ningbo-jiangbei.gpkg").read_derived("camera_views")
        Traceback (most recent call last):
        ...
        beatgrid.gis.errors.NotFoundError: 'sample-geodata/ningbo-jiangbei.gpkg' has no layer 'camera_views' Fix: run `beatgrid coverage` (or `beatgrid cameras recommend`) first
        """
        if not self.path.exists():
            raise NotFoundError(f"{str(self.path)!r} does not exist", fix="check the path")
        if name not in self._present():
            raise NotFoundError(f"{str(self.path)!r} has no layer {name!r}",
                                fix="run `beatgrid coverage` (or `beatgrid cameras recommend`) "
                                    "first")
        with reading(self.path, layer=name):
            df: Frame = pyogrio.read_dataframe(self.path, layer=name,
                                               read_geometry=DERIVED_LAYERS.get(name) is not None)
        return df

    def list_derived(self) -> list[str]:
        """The derived layers present (none when the file does not exist).

        Examples
        --------
        >>> GeoPackageStore("sample-geodata/ningbo-jiangbei.gpkg").list_derived()
        []
        """
        if not self.path.exists():
            return []
        present = self._present()
        return [n for n in DERIVED_LAYERS if n in present]


# --------------------------------------------------------------------------------------
# File operations
# --------------------------------------------------------------------------------------

def _write_empty_project(path: Path, epsg: int) -> None:
    values = {"schema_version": SCHEMA_VERSION, "crs_epsg": str(epsg), "created_at": utc_now()}
    meta = pd.DataFrame({"key": list(values), "value": list(values.values())})
    pyogrio.write_dataframe(meta, path, layer=META_TABLE, driver="GPKG")
    for name in schema.LAYER_ORDER:
        _write_layer(path, name, schema.empty_layer(name, crs=epsg))


def _write_layer(path: Path, name: str, df: Frame) -> None:
    spec = schema.get_spec(name)
    df = df.copy()
    for col in spec.columns:  # GeoPackage has no nullable-int flag: keep Int64 as is
        if col.dtype == "str" and col.name in df.columns:
            df[col.name] = df[col.name].astype(object)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if spec.spatial:
            geometry_type = stored_geometry_type(spec)
            pyogrio.write_dataframe(df, path, layer=name, driver="GPKG",
                                    geometry_type=geometry_type,
                                    promote_to_multi=geometry_type.startswith("Multi"))
        else:
            pyogrio.write_dataframe(pd.DataFrame(df), path, layer=name, driver="GPKG")


def _log_imports(path: Path, rows: list[dict[str, Any]]) -> None:
    log = GeoPackageStore(path).imports()
    new = pd.DataFrame(rows)
    log = new if log.empty else pd.concat([log, new], ignore_index=True)
    pyogrio.write_dataframe(log, path, layer=IMPORTS_TABLE, driver="GPKG")

