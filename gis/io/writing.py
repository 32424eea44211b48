"""What every store does before it stores: the write preparation, written once.

Both stores (:class:`~beatgrid.gis.io.gpkg.GeoPackageStore` and
:class:`~beatgrid.gis.io.postgis.PostGISStore`) keep the same contract (see
:mod:`beatgrid.gis.io.store`); the steps that do not depend on where the layers go
are here, and each store only does its own storage:

- :func:`prepare_write`: every layer's coordinates checked in its own CRS, reprojected
  to the project CRS, appended to the stored rows when asked, conformed to
  :mod:`beatgrid.gis.schema` and, with ``validate``, checked with the stored layers
  for dangling references and for lying far from them (a warning); any error raises
  :class:`~beatgrid.gis.errors.ValidationError` listing every problem, before the
  store writes anything;
- :func:`prepare_derived`: derived layers (coverage results, proposals:
  :data:`DERIVED_LAYERS`) brought to the project CRS, empty geometries as nulls;
- :func:`single_parts`: one-part ``Multi*`` geometries (as stored) back to simple
  ones; :func:`stored_geometry_type`: the type a layer is stored as;
- :func:`import_log_rows`: the rows of the import log for a write.

Examples
--------
>>> from beatgrid.gis import schema
>>> import geopandas as gpd, shapely
>>> cams = gpd.GeoDataFrame({"id": ["c1"]}, geometry=[shapely.Point(121.55, 29.88)], crs=4326)
>>> out = prepare_write({"cameras": cams}, epsg=4490,
...                     read_stored=lambda name: schema.empty_layer(name))
>>> out["cameras"].crs.to_epsg(), out["cameras"].loc[0, "kind"]
(4490, 'road')
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any, TypeAlias

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from beatgrid.gis import schema
from beatgrid.gis.crs import coordinate_problems, distant_layers, storage_epsg, validation_settings
from beatgrid.gis.errors import InputError, Problem, ValidationError

#: A layer as read or written: a GeoDataFrame for spatial layers, a DataFrame for tables.
Frame: TypeAlias = pd.DataFrame
#: ``(minlon, minlat, maxlon, maxlat)`` in the storage CRS.
BBox: TypeAlias = tuple[float, float, float, float]

#: Version of the stored layout (tables, metadata), recorded in the metadata table.
SCHEMA_VERSION = "1"
#: Key/value metadata table (schema version, CRS, creation time; PostGIS: write version).
META_TABLE = "beatgrid_meta"
#: The import log: one row per layer imported.
IMPORTS_TABLE = "beatgrid_imports"
#: Columns of the import log.
IMPORT_COLUMNS = ("layer", "source", "coords", "rows", "mode", "imported_at")

#: Derived layer name -> geometry type stored (None: a table without geometry).
DERIVED_LAYERS: dict[str, str | None] = {
    "camera_views": "MultiPolygon",
    "blind_spots": "MultiPolygon",
    "coverage_stats": "MultiPolygon",
    "estate_risk": "MultiPolygon",
    "camera_proposals": "Point",
    "proposal_effects": None,
}

#: Geometry type of a schema layer -> the type it is stored as (polygons and lines as Multi*).
_STORED_TYPE = {"Polygon": "MultiPolygon", "MultiPolygon": "MultiPolygon",
                "LineString": "MultiLineString", "MultiLineString": "MultiLineString",
                "Point": "Point"}


def stored_geometry_type(spec: schema.LayerSpec) -> str:
    """The geometry type a spatial layer is stored as (``MultiPolygon``, ``MultiLineString``, ``Point``).

    Examples
    --------
    >>> stored_geometry_type(schema.get_spec("beats")), stored_geometry_type(schema.get_spec("cameras"))
    ('MultiPolygon', 'Point')
    """
    if spec.geometry_types is None:
        raise InputError(f"layer {spec.name!r} has no geometry", fix="store it as a table")
    return {_STORED_TYPE[t] for t in spec.geometry_types}.pop()


def check_storage_crs(crs: int) -> int:
    """``crs`` when it is a storage CRS (4490 or 4326), else :class:`InputError`.

    Examples
    --------
    >>> check_storage_crs(4326)
    4326
    >>> check_storage_crs(3857)
    Traceback (most recent call last):
    ...
    beatgrid.gis.errors.InputError: project CRS EPSG:3857 is not a storage CRS Fix: use 4490 (CGCS2000) or 4326 (WGS84)
    """
    if crs not in schema.STORAGE_EPSG:
        raise InputError(f"project CRS EPSG:{crs} is not a storage CRS",
                         fix="use 4490 (CGCS2000) or 4326 (WGS84)")
    return crs


def first_storage_epsg(layers: Mapping[str, Frame]) -> int | None:
    """The storage CRS of the first layer that has one (the CRS of a new project).

    Examples
    --------
    >>> import geopandas as gpd
    >>> first_storage_epsg({"staff": pd.DataFrame(), "grids": schema.empty_layer("grids", crs=4326)})
    4326
    """
    for df in layers.values():
        if isinstance(df, gpd.GeoDataFrame) and df.crs is not None:
            epsg = df.crs.to_epsg()
            if epsg in schema.STORAGE_EPSG:
                return int(epsg)
    return None


def single_parts(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One-part ``Multi*`` geometries (as stored) back to simple ones; others unchanged.

    Examples
    --------
    >>> import shapely
    >>> g = gpd.GeoDataFrame(geometry=[shapely.MultiPolygon([shapely.box(0, 0, 1, 1)]),
    ...                                shapely.MultiPolygon([shapely.box(0, 0, 1, 1),
    ...                                                      shapely.box(2, 0, 3, 1)])])
    >>> single_parts(g).geom_type.tolist()
    ['Polygon', 'MultiPolygon']
    """
    geom = gdf.geometry.array
    multi = np.isin(shapely.get_type_id(geom), (4, 5, 6)) & (shapely.get_num_geometries(geom) == 1)
    if multi.any():
        values = np.asarray(geom, dtype=object).copy()
        values[multi] = shapely.get_geometry(values[multi], 0)
        gdf = gdf.set_geometry(gpd.GeoSeries(values, index=gdf.index, crs=gdf.crs))
    return gdf


def prepare_write(layers: Mapping[str, Frame], *, epsg: int, append: bool = False,
                  validate: bool = True, read_stored: Callable[[str], Frame],
                  settings: Mapping[str, Any] | None = None) -> dict[str, Frame]:
    """The layers of a write, ready to store; every problem at once when they are not.

    Parameters
    ----------
    layers
        Layer name (of :data:`beatgrid.gis.schema.LAYER_ORDER`) to frame.
    epsg
        The project CRS: spatial layers in another CRS are reprojected to it.
    append
        Put the stored rows (``read_stored(name)``) before the new ones; ids must stay
        unique.
    validate
        Check the references between the new layers and the stored others, and warn
        about a new layer lying far from the others (``[validation] far_layer_km``).
    read_stored
        Reads a stored layer, conformed, in ``epsg`` (an empty frame when absent).
    settings
        The ``core`` settings section (default: the shipped one): the ``[validation]``
        tolerances.

    Returns
    -------
    dict
        The conformed layers, in :data:`~beatgrid.gis.schema.LAYER_ORDER`.

    Raises
    ------
    InputError
        An unknown layer name.
    ValidationError
        Every problem (schema, ranges, coordinates outside the area of use of their CRS,
        references) when any is an error; warnings (repairs, a far layer) are emitted as
        Python warnings otherwise.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> staff = pd.DataFrame({"beat_id": ["B77"]})
    >>> prepare_write({"staff": staff}, epsg=4490, read_stored=schema.empty_layer)
    Traceback (most recent call last):
    ...
    beatgrid.gis.errors.ValidationError: 1 validation error(s), nothing written: [error] staff id=B77 column=beat_id: refers to a missing beats feature (value: 'B77'). Fix: add beats id 'B77', or clear 'beat_id'
    """
    for name in layers:
        schema.get_spec(name)
    prepared: dict[str, Frame] = {}
    problems: list[Problem] = []
    tolerances = validation_settings(settings)
    for name, df in layers.items():
        spec = schema.get_spec(name)
        misplaced: list[Problem] = []
        if spec.spatial and isinstance(df, gpd.GeoDataFrame) and df.crs is not None \
                and df.crs.to_epsg() != epsg:
            # judge the coordinates in the CRS they were given in, before moving them
            misplaced = coordinate_problems(
                df, layer=name, tolerance_deg=tolerances["area_of_use_tolerance_deg"])
            df = df.to_crs(epsg)
        if append:
            stored = read_stored(name)
            if len(stored):
                df = pd.concat([stored, df], ignore_index=True)
                if spec.spatial:
                    df = gpd.GeoDataFrame(df, geometry="geometry", crs=epsg)
        out, layer_problems = schema.conform_layer(df, name, settings=settings,
                                                   check_coordinates=not misplaced)
        prepared[name] = out
        problems.extend(layer_problems + misplaced)
    if validate:
        others = {name: read_stored(name) for name in schema.LAYER_ORDER if name not in prepared}
        problems.extend(schema.check_references({**others, **prepared}, settings=settings))
        if not any(p.severity == "error" for p in problems):
            problems.extend(distant_layers({**others, **prepared}, among=list(prepared),
                                           far_km=tolerances["far_layer_km"]))
    if any(p.severity == "error" for p in problems):
        raise ValidationError(problems)
    schema.warn_problems(problems)
    return {name: prepared[name] for name in schema.LAYER_ORDER if name in prepared}


def import_log_rows(meta: Mapping[str, Any], layers: Mapping[str, Frame], *,
                    append: bool) -> list[dict[str, Any]]:
    """The import-log rows of a write: one per layer, in the order given.

    ``meta`` holds ``source``, ``coords`` and optionally ``rows`` (default: the rows of
    each layer).

    Examples
    --------
    >>> rows = import_log_rows({"source": "c.csv", "coords": "gcj02"},
    ...                        {"cameras": pd.DataFrame({"id": ["a", "b"]})}, append=True)
    >>> [(r["layer"], r["rows"], r["mode"]) for r in rows]
    [('cameras', 2, 'append')]
    """
    now = utc_now()
    return [{"layer": name, "source": str(meta.get("source", "")),
             "coords": str(meta.get("coords", "")),
             "rows": int(meta.get("rows", len(df))),
             "mode": "append" if append else "replace",
             "imported_at": now} for name, df in layers.items()]


def check_derived_names(names: Mapping[str, Any]) -> None:
    """:class:`InputError` unless every name is one of :data:`DERIVED_LAYERS`.

    Examples
    --------
    >>> check_derived_names({"camera_views": None})
    >>> check_derived_names({"views": None})
    Traceback (most recent call last):
    ...
    beatgrid.gis.errors.InputError: unknown derived layer(s) ['views'] Fix: use some of: camera_views, blind_spots, coverage_stats, estate_risk, camera_proposals, proposal_effects
    """
    unknown = [n for n in names if n not in DERIVED_LAYERS]
    if unknown:
        raise InputError(f"unknown derived layer(s) {unknown}",
                         fix="use some of: " + ", ".join(DERIVED_LAYERS))


def derived_epsg(stored_crs: int | None, layers: Mapping[str, Frame]) -> int:
    """The CRS derived layers are stored in: the project's, else that of the data, else 4490.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> views = gpd.GeoDataFrame(geometry=[shapely.Point(24.94, 60.17)], crs=4326)
    >>> derived_epsg(None, {"camera_views": views}), derived_epsg(4490, {"camera_views": views})
    (4326, 4490)
    """
    if stored_crs is not None:
        return stored_crs
    for df in layers.values():
        if isinstance(df, gpd.GeoDataFrame) and df.crs is not None and len(df):
            return storage_epsg(df)
    return 4490


def prepare_derived(name: str, df: Frame, epsg: int) -> tuple[Frame, str | None]:
    """A derived layer as stored: in ``epsg``, empty geometries as nulls; and its geometry type.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> views = gpd.GeoDataFrame({"camera_id": ["c1", "c2"]},
    ...                          geometry=[shapely.box(0, 0, 1, 1), shapely.Polygon()], crs=4490)
    >>> out, gtype = prepare_derived("camera_views", views, 4490)
    >>> gtype, out.geometry.isna().tolist()
    ('MultiPolygon', [False, True])
    """
    check_derived_names({name: None})
    gtype = DERIVED_LAYERS[name]
    if gtype is None:
        return pd.DataFrame(df.drop(columns="geometry", errors="ignore")), None
    if not isinstance(df, gpd.GeoDataFrame):
        raise InputError(f"derived layer {name!r} needs a GeoDataFrame",
                         fix="pass the frame returned by the coverage functions")
    out = df.to_crs(epsg) if df.crs is not None and df.crs.to_epsg() != epsg else df.copy()
    if out.crs is None:
        raise InputError(f"derived layer {name!r} has no CRS", fix="set its CRS before writing")
    geom = out.geometry.values
    empty = shapely.is_empty(np.asarray(geom, dtype=object))
    if empty.any():
        values = np.asarray(geom, dtype=object).copy()
        values[empty] = None
        out = out.set_geometry(gpd.GeoSeries(values, index=out.index, crs=out.crs))
    for col in out.columns:
        if col != out.geometry.name and out[col].dtype == object:
            out[col] = out[col].astype(object).where(out[col].notna(), None)
    return out, gtype


def utc_now() -> str:
    """The current time in UTC, ISO 8601 to the second (import log, metadata).

    Examples
    --------
    >>> utc_now().endswith("+00:00")
    True
    """
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
