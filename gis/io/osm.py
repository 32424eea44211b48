"""Read BeatGrid layers from an OpenStreetMap extract (``.osm.pbf``) with pyrosm.

:func:`read_osm` returns three layers, conformed to the schema and stored in the
storage CRS (EPSG:4490 inside China, EPSG:4326 elsewhere):

- ``buildings``: footprints; ``households`` from ``building:flats`` or estimated from
  floor area (footprint x levels / ``dwelling_size_m2``) for residential buildings,
  flagged ``households_estimated`` (see :mod:`beatgrid.gis.io.osm_tags`);
- ``streets``: ``highway=*`` ways with ``street_class``;
- ``cameras``: ``man_made=surveillance`` camera nodes with direction, field of view,
  height and tilt read from their tags.

OSM coordinates are WGS-84 everywhere, also in China (no GCJ-02 offset). pyrosm
loads the whole extract in memory: cut big extracts first (``bounding_box=``, or
``osmium extract``).

Examples
--------
>>> import pyrosm
>>> layers = read_osm(pyrosm.get_data("test_pbf"))
>>> sorted(layers), layers["buildings"].crs.to_epsg()
(['buildings', 'cameras', 'streets'], 4326)
>>> bool(layers["buildings"]["households_estimated"].any())
True
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from beatgrid.gis import schema
from beatgrid.gis.config import section_or_default
from beatgrid.gis.crs import in_china, to_metric
from beatgrid.gis.errors import InputError, NotFoundError, ValidationError
from beatgrid.gis.io import osm_tags as norm
from beatgrid.gis.io.importers import order_columns
from beatgrid.gis.io.store import Store, open_store

#: The layers an OSM extract gives.
OSM_LAYERS = ("buildings", "streets", "cameras")
_NETWORK_TYPE = "all"


def _open(path: str | Path, bounding_box: Any) -> Any:
    try:
        # Lazy on purpose: pyrosm (and its Cython parser) is loaded only to read an extract.
        import pyrosm
    except ImportError:  # pragma: no cover - pyrosm is a dependency
        raise InputError("reading OSM extracts needs the pyrosm package",
                         fix="pip install pyrosm") from None
    path = Path(path)
    if not path.exists():
        raise NotFoundError(f"OSM file {str(path)!r} does not exist", fix="check the path")
    if not path.name.lower().endswith(".pbf"):
        raise InputError(f"OSM file {str(path)!r} is not an .osm.pbf extract",
                         fix="convert it first, e.g. `osmium cat in.osm -o out.osm.pbf`")
    try:
        return pyrosm.OSM(str(path), bounding_box=bounding_box)
    except Exception as exc:  # pyrosm raises bare errors for unreadable files
        raise InputError(f"cannot read OSM file {str(path)!r}: {exc}",
                         fix="check that it is a valid .osm.pbf extract") from None


def _read_raw(osm: Any, layers: Sequence[str], path: str | Path) -> dict[str, gpd.GeoDataFrame]:
    """The pyrosm frames of ``layers``; a damaged extract is one :class:`InputError`."""
    raw: dict[str, gpd.GeoDataFrame] = {}
    try:
        with warnings.catch_warnings():
            # pyrosm warns "Could not find any OSM data" for an empty selection
            warnings.filterwarnings("ignore", message="Could not find any", category=UserWarning)
            warnings.filterwarnings("ignore", category=FutureWarning)
            if "buildings" in layers:
                raw["buildings"] = _as_gdf(osm.get_buildings())
            if "streets" in layers:
                raw["streets"] = _as_gdf(osm.get_network(network_type=_NETWORK_TYPE))
            if "cameras" in layers:
                raw["cameras"] = _as_gdf(osm.get_data_by_custom_criteria(
                    custom_filter={"man_made": ["surveillance"]}, filter_type="keep",
                    keep_nodes=True, keep_ways=False, keep_relations=False))
    except MemoryError:
        raise
    except Exception as exc:  # pyrosm and protobuf raise bare errors for damaged blocks
        raise InputError(
            f"cannot read OSM file {str(path)!r}: the extract is damaged (truncated or "
            f"corrupt blocks?): {type(exc).__name__}: {exc}",
            fix="download the extract again (or check it with `osmium fileinfo -e FILE`) "
                "and import the new copy") from None
    return raw


def _as_gdf(data: Any) -> gpd.GeoDataFrame:
    if data is None or len(data) == 0:
        return gpd.GeoDataFrame({"id": pd.Series([], dtype="int64")},
                                geometry=gpd.GeoSeries([], crs=4326), crs=4326)
    gdf = gpd.GeoDataFrame(data, geometry="geometry")
    if gdf.crs is None:
        gdf = gdf.set_crs(4326)
    return gdf.reset_index(drop=True)


def _keep_types(gdf: gpd.GeoDataFrame, layer: str, notes: list[str]) -> gpd.GeoDataFrame:
    types = schema.get_spec(layer).geometry_types or ()
    geom = gdf.geometry
    ok = geom.notna() & ~geom.is_empty & geom.geom_type.isin(types)
    if (~ok).any():
        notes.append(f"{int((~ok).sum())} feature(s) without a usable "
                     f"{'/'.join(types)} geometry skipped")
    return gdf[ok.to_numpy()].reset_index(drop=True)


def _finish(attrs: pd.DataFrame, gdf: gpd.GeoDataFrame, layer: str, epsg: int,
            notes: list[str], settings: Mapping[str, Any] | None = None) -> gpd.GeoDataFrame:
    """Attach geometry, reproject to storage, conform; drop unrepairable geometries."""
    out = gpd.GeoDataFrame(attrs.reset_index(drop=True),
                           geometry=gdf.geometry.reset_index(drop=True), crs=gdf.crs)
    if out.crs.to_epsg() != epsg:
        out = out.to_crs(epsg)
    conformed, problems = schema.conform_layer(out, layer, settings=settings)
    bad_ids = {p.row_id for p in problems if p.severity == "error" and p.column == "geometry"
               and p.row_id is not None}
    if bad_ids:
        notes.append(f"{len(bad_ids)} feature(s) with unrepairable geometry (e.g. cut at the "
                     "extract's edge) skipped")
        conformed, problems = schema.conform_layer(
            out[~out["id"].isin(bad_ids)].reset_index(drop=True), layer, settings=settings)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise ValidationError(problems)
    repaired = [p for p in problems if p.severity == "warning"]
    if repaired:
        n = len(repaired)
        notes.append(f"{n} invalid geometr{'y' if n == 1 else 'ies'} repaired")
    return order_columns(conformed, layer)


def _storage_epsg(gdfs: list[gpd.GeoDataFrame], settings: Mapping[str, Any]) -> int:
    frames = [g for g in gdfs if len(g)]
    if not frames:
        return int(settings["crs"]["storage_epsg_other"])
    x0, y0, x1, y1 = np.array([g.to_crs(4326).total_bounds for g in frames]).T
    lon = (np.nanmin(x0) + np.nanmax(x1)) / 2
    lat = (np.nanmin(y0) + np.nanmax(y1)) / 2
    key = "storage_epsg_china" if in_china(lon, lat) else "storage_epsg_other"
    return int(settings["crs"][key])


def buildings_layer(raw: gpd.GeoDataFrame, *, settings: Mapping[str, Any], epsg: int,
                    notes: list[str]) -> gpd.GeoDataFrame:
    """The ``buildings`` layer from pyrosm buildings (see :func:`read_osm`).

    ``settings`` is the ``core`` section (``[import]`` is used).

    Examples
    --------
    >>> import pyrosm
    >>> from beatgrid.gis.config import default_config
    >>> raw = _as_gdf(pyrosm.OSM(pyrosm.get_data("test_pbf")).get_buildings())
    >>> b = buildings_layer(raw, settings=default_config().core, epsg=4326, notes=[])
    >>> bool((b["households"] >= 0).all()), b.crs.to_epsg()
    (True, 4326)
    """
    raw = _keep_types(raw, "buildings", notes)
    imp = settings["import"]
    if len(raw):
        area = to_metric(raw.geometry, layer="buildings").area.to_numpy()
    else:
        area = np.array([], dtype=float)
    attrs = norm.normalise_buildings(
        raw, area_m2=area, dwelling_size_m2=float(imp["dwelling_size_m2"]),
        default_levels=float(imp["default_levels"]),
        residential_tags=imp["residential_building_tags"], notes=notes)
    return _finish(attrs, raw, "buildings", epsg, notes, settings)


def streets_layer(raw: gpd.GeoDataFrame, *, epsg: int, notes: list[str],
                  settings: Mapping[str, Any] | None = None) -> gpd.GeoDataFrame:
    """The ``streets`` layer from the pyrosm network (see :func:`read_osm`).

    ``settings`` is the ``core`` section (``[validation]``; default the shipped one).

    Examples
    --------
    >>> import shapely
    >>> raw = gpd.GeoDataFrame({"id": [5], "highway": ["service"], "service": ["alley"]},
    ...                        geometry=[shapely.LineString([(121.55, 29.88), (121.551, 29.88)])],
    ...                        crs=4326)
    >>> streets_layer(raw, epsg=4490, notes=[])[["id", "street_class"]].values.tolist()
    [['way/5', 'lane']]
    """
    raw = _keep_types(raw, "streets", notes)
    return _finish(norm.normalise_streets(raw), raw, "streets", epsg, notes, settings)


def cameras_layer(raw: gpd.GeoDataFrame, *, epsg: int, notes: list[str],
                  settings: Mapping[str, Any] | None = None) -> gpd.GeoDataFrame:
    """The ``cameras`` layer from ``man_made=surveillance`` nodes (see :func:`read_osm`).

    ``settings`` is the ``core`` section (``[validation]``; default the shipped one).

    Examples
    --------
    >>> import shapely
    >>> raw = gpd.GeoDataFrame({"id": [7], "camera:type": ["dome"]},
    ...                        geometry=[shapely.Point(121.55, 29.88)], crs=4326)
    >>> cameras_layer(raw, epsg=4490, notes=[])[["id", "fov_deg"]].values.tolist()
    [['node/7', 360.0]]
    """
    raw = _keep_types(raw, "cameras", notes)
    if len(raw):
        keep = norm.is_camera(norm.tag_table(raw, ["surveillance:type"])).to_numpy()
        if (~keep).any():
            notes.append(f"{int((~keep).sum())} surveillance node(s) that are not cameras "
                         "(e.g. guards) skipped")
        raw = raw[keep].reset_index(drop=True)
    return _finish(norm.normalise_cameras(raw, notes=notes), raw, "cameras", epsg, notes,
                   settings)


def read_osm(path: str | Path, *, settings: Mapping[str, Any] | None = None,
             layers: Sequence[str] = OSM_LAYERS, bounding_box: Any = None
             ) -> dict[str, gpd.GeoDataFrame]:
    """Read buildings, streets and cameras from an ``.osm.pbf`` extract.

    Parameters
    ----------
    path
        The ``.osm.pbf`` file.
    settings
        The ``core`` settings section (``project.config.core``; default the shipped
        one). Uses ``[import] dwelling_size_m2``, ``default_levels``,
        ``residential_building_tags`` and ``[crs]``.
    layers
        Which of ``buildings``, ``streets``, ``cameras`` to read.
    bounding_box
        Optional ``[minx, miny, maxx, maxy]`` (WGS-84) or polygon to cut the extract.

    Returns
    -------
    dict
        Layer name to conformed GeoDataFrame (possibly empty), all in the storage
        CRS; ``attrs`` of each holds ``source`` and ``coords_source`` (``"wgs84"``).
        Tag values that could not be read, skipped features and repaired geometries
        are reported as one Python warning per layer.

    Raises
    ------
    NotFoundError, InputError
        Missing or unreadable file, unknown layer name.

    Examples
    --------
    >>> import pyrosm
    >>> streets = read_osm(pyrosm.get_data("test_pbf"), layers=["streets"])["streets"]
    >>> "residential" in set(streets["street_class"])
    True
    """
    unknown = [name for name in layers if name not in OSM_LAYERS]
    if unknown:
        raise InputError(f"read_osm cannot produce layer(s) {unknown}",
                         fix="choose among: " + ", ".join(OSM_LAYERS))
    cfg = section_or_default(settings, "core")
    osm = _open(path, bounding_box)
    raw = _read_raw(osm, layers, path)
    epsg = _storage_epsg(list(raw.values()), cfg)
    out: dict[str, gpd.GeoDataFrame] = {}
    for name in (n for n in OSM_LAYERS if n in layers):
        notes: list[str] = []
        if name == "buildings":
            gdf = buildings_layer(raw[name], settings=cfg, epsg=epsg, notes=notes)
        elif name == "streets":
            gdf = streets_layer(raw[name], epsg=epsg, notes=notes, settings=cfg)
        else:
            gdf = cameras_layer(raw[name], epsg=epsg, notes=notes, settings=cfg)
        gdf.attrs.update({"source": str(path), "coords_source": "wgs84"})
        out[name] = gdf
        if notes:
            shown = notes[:20] + ([f"... and {len(notes) - 20} more"] if len(notes) > 20 else [])
            warnings.warn(f"OSM {name} from {Path(path).name}: " + "; ".join(shown),
                          stacklevel=2)
    return out


def import_osm(project: str | Path | Store, path: str | Path, *, append: bool = False,
               settings: Mapping[str, Any] | None = None, layers: Sequence[str] = OSM_LAYERS,
               bounding_box: Any = None) -> dict[str, int]:
    """Read an OSM extract (:func:`read_osm`) and write its layers into a project.

    ``project`` is a GeoPackage path (created when missing), a ``postgresql://`` URL
    or a store (``project.store``).

    Empty layers (e.g. an extract without cameras) are not written, so they do not
    replace stored data. The import is logged in the project with source and rows.

    Returns
    -------
    dict
        Layer name to number of features written (0 for a layer skipped as empty).

    Examples
    --------
    >>> import pyrosm, tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "helsinki.gpkg")
    >>> counts = import_osm(p, pyrosm.get_data("test_pbf"))
    >>> counts["buildings"] > 0, counts["cameras"]
    (True, 0)
    """
    store = open_store(project)
    data = read_osm(path, settings=settings, layers=layers, bounding_box=bounding_box)
    to_write = {name: gdf for name, gdf in data.items() if len(gdf)}
    if to_write:
        store.write_layers(to_write, append=append, meta={"source": str(path), "coords": "wgs84"})
    return {name: int(len(to_write.get(name, ()))) for name in data}
