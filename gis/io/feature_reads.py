"""Reads at map speed: layers read once per stored state, indexed, queried by box and tiled.

A :class:`FeatureReader` sits in front of a :class:`~beatgrid.gis.io.store.Store`. The
first request for a layer after a write reads and conforms it once (a schema layer as
``store.read_layer`` gives it, a derived layer as ``store.read_derived`` does) and builds
an R-tree (shapely's STRtree) over its geometries; every later request, as long as
``store.state()`` is unchanged, is an index query on that copy: a box, a time interval
and attribute filters select rows (in the stored order), never a whole-layer read. A write
changes the state, and the next request reads again. Concurrent requests for a layer not
yet read wait for one read.

Tiles (Mapbox Vector Tiles, WebMercatorQuad) come from the same copy through
:class:`beatgrid.gis.tiles.mvt.TileLayer` on the file store, and from ``ST_AsMVT``
(:mod:`beatgrid.gis.io.pg_tiles`, the GiST index) on PostGIS; encoded tiles are kept per
state (``[tiles] cache_tiles``). Both stores give the same features per tile.

Examples
--------
>>> from beatgrid.gis.io.store import open_store
>>> reader = FeatureReader(open_store("sample-geodata/ningbo-jiangbei.gpkg"))
>>> snap = reader.snapshot()
>>> snap.layers[:3]
['stations', 'responsibility_areas', 'beats']
>>> buildings = snap.read("buildings")
>>> len(buildings.frame), len(buildings.select(bbox=(121.545, 29.915, 121.548, 29.918)))
(2706, 15)
>>> buildings.feature_ids[:2].tolist()
['BLD0001', 'BLD0002']
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from beatgrid.gis import schema
from beatgrid.gis.errors import InputError, NotFoundError
from beatgrid.gis.io.pg_tiles import postgis_tile, table_columns
from beatgrid.gis.io.postgis import PostGISStore
from beatgrid.gis.io.store import Store
from beatgrid.gis.io.writing import DERIVED_LAYERS, BBox, Frame
from beatgrid.gis.tiles.cache import TileCache
from beatgrid.gis.tiles.grid import check_tile, tile_resolution
from beatgrid.gis.tiles.mvt import TileLayer
from beatgrid.gis.tiles.settings import default_tile_settings, layer_choice

__all__ = ["DERIVED_IDS", "FeatureReader", "LayerRead", "Snapshot"]

T = TypeVar("T")

#: Derived layer -> the column identifying its features (others: the row number from 1).
DERIVED_IDS = {"blind_spots": "id", "estate_risk": "estate_id", "camera_proposals": "id"}


class _Once:
    """Values computed once per key, concurrent callers waiting for the one computation."""

    def __init__(self) -> None:
        self._values: dict[Hashable, Any] = {}
        self._pending: dict[Hashable, threading.Event] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], T],
            keep: Callable[[], bool] | None = None) -> T:
        """The value of ``key``, computed once (not kept when ``keep()`` says no)."""
        while True:
            with self._lock:
                if key in self._values:
                    value: T = self._values[key]
                    return value
                done = self._pending.get(key)
                if done is None:
                    done = self._pending[key] = threading.Event()
                    break
            done.wait()  # then take the stored value, or compute when that one failed
        try:
            value = compute()
            if keep is None or keep():
                with self._lock:
                    self._values[key] = value
            return value
        finally:
            with self._lock:
                self._pending.pop(key, None)
            done.set()


@dataclass
class LayerRead:
    """One layer at one stored state: the frame, its R-tree, feature ids and memos.

    ``frame`` is what the store gives (conformed, project CRS, stored order, a fresh
    ``RangeIndex``); never change it: take ``frame.iloc[rows]`` copies.
    """

    name: str
    derived: bool
    frame: Frame
    feature_ids: pd.Index
    tree: shapely.STRtree | None
    time_column: str | None
    _memo: _Once = field(default_factory=_Once, repr=False)

    @classmethod
    def build(cls, name: str, frame: Frame, *, derived: bool) -> LayerRead:
        """Index ``frame`` (the layer ``name`` as read from the store)."""
        frame = frame.reset_index(drop=True)
        spatial = isinstance(frame, gpd.GeoDataFrame) and "geometry" in frame.columns
        tree = shapely.STRtree(np.asarray(frame.geometry.array, dtype=object)) \
            if spatial else None
        return cls(name=name, derived=derived, frame=frame, tree=tree,
                   feature_ids=_feature_ids(name, frame, derived=derived),
                   time_column=None if derived else _time_column(name))

    @property
    def spatial(self) -> bool:
        """Whether the layer has geometries."""
        return self.tree is not None

    def memo(self, key: Hashable, compute: Callable[[], T]) -> T:
        """``compute()`` once for this layer at this state (rendered text, projections).

        Examples
        --------
        >>> from beatgrid.gis.io.store import open_store
        >>> lr = FeatureReader(open_store("sample-geodata/ningbo-jiangbei.gpkg")).snapshot().read("beats")
        >>> lr.memo("n", lambda: len(lr.frame)), lr.memo("n", lambda: 0)
        (12, 12)
        """
        return self._memo.get(key, compute)

    def select(self, *, bbox: BBox | None = None,
               equals: Mapping[str, Any] | None = None,
               interval: tuple[pd.Timestamp | None, pd.Timestamp | None] | None = None
               ) -> np.ndarray:
        """Row numbers (in the stored order) matching every filter given.

        Parameters
        ----------
        bbox
            ``(xmin, ymin, xmax, ymax)`` in the project CRS: the features whose geometry
            intersects it (R-tree query, then the exact test).
        equals
            Column -> value the column must equal (compared as text).
        interval
            ``(start, end)`` of the layer's time column, either open (None); bounds
            included. A layer without time ignores it.

        Examples
        --------
        >>> from beatgrid.gis.io.store import open_store
        >>> snap = FeatureReader(open_store("sample-geodata/ningbo-jiangbei.gpkg")).snapshot()
        >>> snap.read("beats").select(equals={"station_id": "S01"}).tolist()
        [0, 1, 7, 8, 9, 10, 11]
        """
        n = len(self.frame)
        keep = np.ones(n, dtype=bool)
        if bbox is not None:
            if self.tree is None:
                raise InputError(f"bbox {tuple(bbox)} on layer {self.name!r}: the layer has no "
                                 "geometry", fix="read the layer without bbox")
            hit = np.zeros(n, dtype=bool)
            hit[self.tree.query(shapely.box(*bbox), predicate="intersects")] = True
            keep &= hit
        for column, value in (equals or {}).items():
            text = self._text_of(column)
            keep &= text == str(value)
        if interval is not None and self.time_column is not None:
            times = pd.to_datetime(self.frame[self.time_column])
            start, end = interval
            if start is not None:
                keep &= (times >= start).fillna(False).to_numpy(dtype=bool)
            if end is not None:
                keep &= (times <= end).fillna(False).to_numpy(dtype=bool)
        return np.flatnonzero(keep)

    def _text_of(self, column: str) -> np.ndarray:
        """The column as text (cached): what an attribute filter compares with."""
        text: np.ndarray = self.memo(("text", column), lambda: self._as_text(column))
        return text

    def _as_text(self, column: str) -> np.ndarray:
        values = self.frame[column]
        if pd.api.types.is_bool_dtype(values.dtype):
            out = values.map({True: "true", False: "false"})
        else:
            out = values.astype(object).map(lambda v: "" if v is None or v is pd.NA
                                            or (isinstance(v, float) and v != v) else str(v))
        return np.asarray(out.fillna("").to_numpy(dtype=object), dtype=object)

    def row_of(self, feature_id: str) -> int:
        """The row of the feature ``feature_id``.

        Raises
        ------
        NotFoundError
            No feature has that id.
        """
        rows = self.memo("id_rows", lambda: {fid: i for i, fid in
                                             reversed(list(enumerate(self.feature_ids)))})
        row = rows.get(feature_id)
        if row is None:
            raise NotFoundError(f"layer {self.name!r} has no feature {feature_id!r}",
                                fix=f"use an id such as "
                                    f"{', '.join(map(str, self.feature_ids[:3])) or '(none)'}")
        return int(row)

    def bounds(self) -> tuple[float, float, float, float] | None:
        """``(xmin, ymin, xmax, ymax)`` of the layer in the project CRS (None when empty)."""
        if self.tree is None:
            return None
        geoms = np.asarray(self.frame.geometry.array, dtype=object)
        geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
        if not len(geoms):
            return None
        b = shapely.total_bounds(geoms)
        return (float(b[0]), float(b[1]), float(b[2]), float(b[3]))

    def time_extent(self) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        """First and last time of the layer's time column (None when it has none)."""
        if self.time_column is None:
            return None
        times = pd.to_datetime(self.frame[self.time_column]).dropna()
        if not len(times):
            return None
        return times.min(), times.max()


def _time_column(name: str) -> str | None:
    spec = schema.get_spec(name)
    return next((c.name for c in spec.columns if c.dtype == "datetime"), None)


def _feature_ids(name: str, frame: Frame, *, derived: bool) -> pd.Index:
    column = DERIVED_IDS.get(name) if derived else schema.get_spec(name).id_column
    if column is not None and column in frame.columns:
        ids = frame[column].astype(object).map(lambda v: "" if v is None or v is pd.NA
                                               else str(v))
        if ids.is_unique and (ids != "").all():
            return pd.Index(ids.to_numpy(dtype=object), dtype=object)
    return pd.Index([str(i + 1) for i in range(len(frame))], dtype=object)


class Snapshot:
    """The store at one state: the layers present, their reads and tiles (see the module).

    Take one per request with :meth:`FeatureReader.snapshot`.
    """

    def __init__(self, reader: FeatureReader, state: Hashable) -> None:
        self.reader = reader
        self.state = state
        self._once = _Once()
        self._tiles = TileCache(size=int(reader.settings["tiles"]["cache_tiles"]))

    @property
    def store(self) -> Store:
        """The store read."""
        return self.reader.store

    def _unchanged(self) -> bool:
        """Whether what was just read may be kept (the store did not change meanwhile)."""
        return self.reader.store.state() == self.state

    @property
    def crs(self) -> int:
        """EPSG code of the stored layers."""
        result: int = self._once.get("crs", self.store.crs, self._unchanged)
        return result

    @property
    def layers(self) -> list[str]:
        """The schema layers present, in :data:`~beatgrid.gis.schema.LAYER_ORDER`."""
        result: list[str] = self._once.get("layers", self.store.list_layers, self._unchanged)
        return result

    @property
    def derived(self) -> list[str]:
        """The derived layers with geometry present (coverage results, proposals)."""
        result: list[str] = self._once.get("derived", lambda: [
            n for n in self.store.list_derived() if DERIVED_LAYERS.get(n) is not None],
            self._unchanged)
        return result

    @property
    def collections(self) -> list[str]:
        """Every layer with geometry present: the schema layers, then the derived ones."""
        return [n for n in self.layers if schema.get_spec(n).spatial] + self.derived

    def read(self, name: str) -> LayerRead:
        """The layer ``name`` (schema or derived) at this state, read once.

        Raises
        ------
        NotFoundError
            ``name`` is neither a schema layer present nor a derived layer present.
        """
        if name in schema.LAYERS:
            if name not in self.layers:
                raise NotFoundError(f"layer {name!r} is not in the project",
                                    fix="GET /layers lists the layers present")
            return self._once.get(("read", name), lambda: LayerRead.build(
                name, self.store.read_layer(name), derived=False), self._unchanged)
        if name in DERIVED_LAYERS and name in self.derived:
            return self._once.get(("read", name), lambda: LayerRead.build(
                name, self.store.read_derived(name), derived=True), self._unchanged)
        known = ", ".join(self.collections) or "(none)"
        raise NotFoundError(f"layer {name!r} is not in the project",
                            fix=f"use one of: {known}")

    def tile(self, name: str, z: int, x: int, y: int) -> bytes:
        """The vector tile ``z/x/y`` of layer ``name`` (cached at this state).

        Raises
        ------
        InputError
            ``z`` is outside ``[tiles] min_zoom .. max_zoom``.
        NotFoundError
            The layer has no geometry or is absent, or the tile is outside the matrix.
        """
        settings = self.reader.settings
        tiles = settings["tiles"]
        check_tile(z, x, y, min_zoom=tiles["min_zoom"], max_zoom=tiles["max_zoom"])
        if name not in self.collections:
            raise NotFoundError(f"layer {name!r} is not a layer with geometry in the project",
                                fix="use one of: " + (", ".join(self.collections) or "(none)"))
        key = (name, z, x, y)
        cached = self._tiles.get(key)
        if cached is not None:
            return cached
        choice = layer_choice(settings, name)
        if z < choice.min_zoom:
            data = b""
        elif isinstance(self.store, PostGISStore):
            data = self._postgis_tile(name, z, x, y, choice.properties)
        else:
            layer = self.read(name)
            tiler = layer.memo("tiles", lambda: TileLayer.build(
                name, layer.frame, properties=choice.properties))
            data = tiler.tile(z, x, y, extent=tiles["extent"], buffer=tiles["buffer"],
                              simplify=tiles["simplify"])
        self._tiles.put(key, data)
        return data

    def _postgis_tile(self, name: str, z: int, x: int, y: int,
                      properties: Sequence[str]) -> bytes:
        store = self.store
        assert isinstance(store, PostGISStore)
        tiles = self.reader.settings["tiles"]
        columns: dict[str, str] = self._once.get(
            ("columns", name), lambda: table_columns(store.url, store.schema, name))
        srid = self.crs
        wanted = [c for c in properties if c in columns]
        datetimes = {c for c in wanted if columns[c].startswith("timestamp")}
        return postgis_tile(store.url, store.schema, name, z=z, x=x, y=y, columns=wanted,
                            datetimes=datetimes, srid=srid, extent=tiles["extent"],
                            buffer=tiles["buffer"],
                            tolerance=tiles["simplify"] * tile_resolution(
                                z, extent=tiles["extent"]))


class FeatureReader:
    """Cached, indexed reads of a store's layers (see the module docstring).

    Parameters
    ----------
    store
        The project's store.
    settings
        The ``tiles.toml`` settings (:func:`~beatgrid.gis.tiles.settings.load_tile_settings`;
        default: the shipped ones).
    """

    def __init__(self, store: Store, *, settings: Mapping[str, Any] | None = None) -> None:
        self.store = store
        self.settings = settings if settings is not None else default_tile_settings()
        self._current: Snapshot | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"FeatureReader({self.store.location!r})"

    def snapshot(self) -> Snapshot:
        """The store at its current state (one ``store.state()`` call).

        Examples
        --------
        >>> from beatgrid.gis.io.store import open_store
        >>> reader = FeatureReader(open_store("sample-geodata/ningbo-jiangbei.gpkg"))
        >>> reader.snapshot() is reader.snapshot()
        True
        """
        state = self.store.state()
        with self._lock:
            if self._current is None or self._current.state != state:
                self._current = Snapshot(self, state)
            return self._current

    def read_box(self, name: str, bbox: BBox | None = None) -> Frame:
        """What ``store.read_layer(name, bbox=bbox)`` gives, in the stored order, from the cache.

        Examples
        --------
        >>> from beatgrid.gis.io.store import open_store
        >>> reader = FeatureReader(open_store("sample-geodata/ningbo-jiangbei.gpkg"))
        >>> reader.read_box("estates", (121.54, 29.91, 121.55, 29.92))["id"].tolist()[:3]
        ['E07', 'E08', 'E10']
        """
        schema.get_spec(name)
        layer = self.snapshot().read(name)
        if bbox is None:
            return layer.frame.copy()
        return layer.frame.iloc[layer.select(bbox=bbox)].reset_index(drop=True)
