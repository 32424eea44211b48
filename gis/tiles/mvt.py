"""Mapbox Vector Tiles of a layer: R-tree query, per-zoom simplification, clipping, encoding.

:class:`TileLayer` holds one layer prepared for tiling (geometries in EPSG:3857, an
STRtree over them, the chosen attributes as JSON-ready values); :meth:`TileLayer.tile`
encodes one tile with ``mapbox-vector-tile``. The steps are those of PostGIS's
``ST_AsMVTGeom`` so that both stores give the same features per tile:

1. the features whose geometry intersects the tile widened by the buffer (R-tree query,
   then the exact test);
2. lines and polygons simplified with a tolerance of ``simplify`` tile coordinates
   (topology kept, as ``ST_SimplifyPreserveTopology``: it doubles in metres per zoom out);
3. clipped to the widened tile, brought to tile coordinates (0 to ``extent``, y down) and
   snapped to the integer grid; a feature that collapses (a building smaller than a
   tile coordinate) is left out, one that snapping made invalid is repaired, polygon
   rings are wound as the MVT specification says;
4. encoded as one MVT layer named after the layer, feature ids = row number + 1.

Examples
--------
>>> import geopandas as gpd
>>> from beatgrid.gis.tiles.mvt import TileLayer, decode_tile
>>> beats = gpd.read_file("sample-geodata/ningbo-jiangbei.gpkg", layer="beats")
>>> layer = TileLayer.build("beats", beats, properties=["id", "name"])
>>> tile = decode_tile(layer.tile(14, 13723, 6763, extent=4096, buffer=64, simplify=1.0))
>>> sorted(f["properties"]["id"] for f in tile["beats"]["features"])[:3]
['B01', 'B02', 'B03']
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import mapbox_vector_tile
import numpy as np
import pandas as pd
import shapely

from beatgrid.gis.tiles.grid import tile_bounds, tile_resolution

__all__ = ["MVT_MEDIA_TYPE", "TileLayer", "decode_tile", "field_types", "tile_values"]

#: Media type of an encoded tile.
MVT_MEDIA_TYPE = "application/vnd.mapbox-vector-tile"
#: Web Mercator, the CRS of the tile grid.
MERCATOR = 3857


def tile_value(value: Any) -> Any:
    """A cell as an MVT attribute value (str, bool, int or float); None when missing.

    Times become ISO 8601 text (``2024-03-01T08:30:00``), numpy scalars Python ones.

    Examples
    --------
    >>> tile_value(np.int64(3)), tile_value(float("nan")), tile_value(pd.Timestamp("2024-03-01 08:30"))
    (3, None, '2024-03-01T08:30:00')
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, str):
        return value
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        return value.strftime("%Y-%m-%dT%H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def tile_values(frame: pd.DataFrame, columns: Sequence[str]) -> list[dict[str, Any]]:
    """Per row, the ``columns`` present in ``frame`` as MVT attribute values (missing left out).

    Examples
    --------
    >>> tile_values(pd.DataFrame({"a": [1, None], "b": ["x", "y"]}), ["a", "b", "c"])
    [{'a': 1.0, 'b': 'x'}, {'b': 'y'}]
    """
    present = [c for c in columns if c in frame.columns]
    rows: list[dict[str, Any]] = [{} for _ in range(len(frame))]
    for col in present:
        for row, value in zip(rows, frame[col].tolist()):
            v = tile_value(value)
            if v is not None:
                row[col] = v
    return rows


def field_types(frame: pd.DataFrame, columns: Sequence[str]) -> dict[str, str]:
    """TileJSON field types of the ``columns`` present: ``Number``, ``Boolean`` or ``String``.

    Examples
    --------
    >>> field_types(pd.DataFrame({"a": [1], "b": [True], "c": ["x"]}), ["a", "b", "c", "d"])
    {'a': 'Number', 'b': 'Boolean', 'c': 'String'}
    """
    out: dict[str, str] = {}
    for col in columns:
        if col not in frame.columns:
            continue
        dtype = frame[col].dtype
        if pd.api.types.is_bool_dtype(dtype):
            out[col] = "Boolean"
        elif pd.api.types.is_numeric_dtype(dtype):
            out[col] = "Number"
        else:
            out[col] = "String"
    return out


def _dimension(geoms: np.ndarray) -> int:
    """The highest dimension among the geometries (0 points, 1 lines, 2 polygons)."""
    present = geoms[~shapely.is_missing(geoms)]
    return int(shapely.get_dimensions(present).max()) if len(present) else 0


def _keep_dimension(geom: shapely.Geometry, dim: int) -> shapely.Geometry | None:
    """``geom`` without the parts of a lower dimension (a clip can leave a line of a polygon)."""
    if geom.geom_type != "GeometryCollection":
        return geom
    singles = shapely.get_parts(shapely.get_parts(geom))  # members, then their parts
    parts = [p for p in singles if shapely.get_dimensions(p) == dim]
    if not parts:
        return None
    if dim == 2:
        return shapely.multipolygons(parts)
    if dim == 1:
        return shapely.multilinestrings(parts)
    return shapely.multipoints(parts)


def _repaired(geoms: np.ndarray, dim: int) -> np.ndarray:
    """``geoms`` (an object array, changed in place) with the invalid ones made valid:
    parts that collapsed are dropped, the rest kept as they are."""
    bad = ~(shapely.is_valid(geoms) | shapely.is_missing(geoms))
    if bad.any():
        geoms[bad] = [_keep_dimension(g, dim) for g in shapely.make_valid(
            geoms[bad], method="structure", keep_collapsed=False)]
    return geoms


def _clipped(geoms: np.ndarray, bounds: tuple[float, float, float, float]) -> np.ndarray:
    """``geoms`` clipped to the rectangle ``bounds``: GEOS's fast rectangle clip, or, when
    it refuses a valid polygon (a spike folding back onto itself breaks it), the full
    intersection."""
    try:
        return np.asarray(shapely.clip_by_rect(geoms, *bounds), dtype=object)
    except shapely.errors.GEOSException:
        return np.asarray(shapely.intersection(geoms, shapely.box(*bounds)), dtype=object)


@dataclass(frozen=True)
class TileLayer:
    """A layer ready for tiling: EPSG:3857 geometries, their STRtree and attribute values.

    Build it with :meth:`build` (once per stored state: the service keeps it cached).
    """

    name: str
    geometries: np.ndarray
    tree: shapely.STRtree
    values: list[dict[str, Any]]
    dimension: int

    @classmethod
    def build(cls, name: str, frame: gpd.GeoDataFrame, *, properties: Sequence[str]
              ) -> TileLayer:
        """Prepare ``frame`` (any CRS) for tiling with the attributes ``properties``.

        Examples
        --------
        >>> cams = gpd.read_file("sample-geodata/ningbo-jiangbei.gpkg", layer="cameras")
        >>> layer = TileLayer.build("cameras", cams, properties=["id", "kind"])
        >>> len(layer.values), layer.dimension, layer.values[0]
        (300, 0, {'id': 'CAM001', 'kind': 'road'})
        """
        geoms = np.asarray(frame.geometry.to_crs(MERCATOR).array, dtype=object) \
            if len(frame) and frame.crs is not None else \
            np.asarray(frame.geometry.array, dtype=object)
        geoms = geoms.copy()
        geoms[shapely.is_empty(geoms)] = None
        dimension = _dimension(geoms)
        # valid where stored, some cross themselves once reprojected: repaired
        geoms = _repaired(geoms, dimension)
        return cls(name=name, geometries=geoms, tree=shapely.STRtree(geoms),
                   values=tile_values(frame, properties), dimension=dimension)

    def rows(self, z: int, x: int, y: int, *, extent: int, buffer: int) -> np.ndarray:
        """Row numbers (ascending) of the features touching the tile widened by ``buffer``.

        Examples
        --------
        >>> cams = gpd.read_file("sample-geodata/ningbo-jiangbei.gpkg", layer="cameras")
        >>> layer = TileLayer.build("cameras", cams, properties=[])
        >>> len(layer.rows(0, 0, 0, extent=4096, buffer=0))
        300
        """
        box = shapely.box(*tile_bounds(z, x, y, margin=buffer / extent))
        return np.sort(self.tree.query(box, predicate="intersects"))

    def tile_geometries(self, z: int, x: int, y: int, *, extent: int, buffer: int,
                        simplify: float) -> tuple[np.ndarray, np.ndarray]:
        """The rows in the tile and their geometries in tile coordinates (y up, snapped).

        Collapsed geometries are left out with their rows.
        """
        rows = self.rows(z, x, y, extent=extent, buffer=buffer)
        geoms = self.geometries[rows]
        if simplify > 0 and self.dimension > 0 and len(geoms):
            geoms = shapely.simplify(geoms, simplify * tile_resolution(z, extent=extent),
                                     preserve_topology=True)
            geoms = _repaired(geoms, self.dimension)  # a clip of an invalid one fails
        x0, y0, x1, y1 = tile_bounds(z, x, y)
        wide = tile_bounds(z, x, y, margin=buffer / extent)
        geoms = _clipped(geoms, wide) if self.dimension > 0 else geoms
        scale = np.array([extent / (x1 - x0), extent / (y1 - y0)])
        origin = np.array([x0, y0])
        geoms = shapely.transform(geoms, lambda c: np.rint((c - origin) * scale))
        if self.dimension == 1:  # a line left on the edge of the buffer is not in the tile
            inner = shapely.box(0.5 - buffer, 0.5 - buffer, extent + buffer - 0.5,
                                extent + buffer - 0.5)
            geoms = np.asarray(geoms, dtype=object)
            geoms[~shapely.intersects(geoms, inner)] = None
        if self.dimension > 0:
            size = shapely.area(geoms) if self.dimension == 2 else shapely.length(geoms)
            geoms = np.asarray(geoms, dtype=object)
            geoms[~(size > 0)] = None  # collapsed onto the grid
            geoms = _repaired(geoms, self.dimension)
            geoms = shapely.remove_repeated_points(geoms)
            if self.dimension == 2:
                geoms = shapely.orient_polygons(geoms, exterior_cw=True)
        keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        return rows[keep], geoms[keep]

    def tile(self, z: int, x: int, y: int, *, extent: int, buffer: int,
             simplify: float) -> bytes:
        """One encoded tile (an empty layer when no feature touches it).

        Parameters
        ----------
        extent, buffer
            Tile coordinates per side, and the margin drawn past the edge.
        simplify
            Simplification tolerance in tile coordinates (0: none).
        """
        rows, geoms = self.tile_geometries(z, x, y, extent=extent, buffer=buffer,
                                           simplify=simplify)
        features = []
        for row, geom in zip(rows.tolist(), geoms):
            geom = _keep_dimension(geom, self.dimension)
            if geom is None or geom.is_empty:
                continue
            features.append({"geometry": geom, "properties": self.values[row], "id": row + 1})
        encoded: bytes = mapbox_vector_tile.encode(
            [{"name": self.name, "features": features}],
            default_options={"extents": extent, "y_coord_down": False,
                             "check_winding_order": False})
        return encoded


def decode_tile(data: bytes) -> dict[str, Any]:
    """An encoded tile as ``{layer: {"extent", "features": [{"id", "properties", "geometry"}]}}``.

    Examples
    --------
    >>> decode_tile(b"")
    {}
    """
    decoded: dict[str, Any] = mapbox_vector_tile.decode(data)
    return decoded
