"""The layers of a BeatGrid project: columns, types, geometry and meaning, in one place.

A BeatGrid project is one GeoPackage holding the layers below (see ``README.md``,
"Layer schema", which is generated from this module by ``beatgrid schema``).
:func:`conform_layer` brings an imported table to the schema (defaults, types,
repaired geometries) and :func:`validate_project` reports *every* problem at once
(layer, row id, column, value, fix).

Examples
--------
>>> from beatgrid.gis import schema
>>> sorted(schema.LAYERS)[:3]
['beats', 'buildings', 'cameras']
>>> [c.name for c in schema.LAYERS["communities"].required_columns]
['id']
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from beatgrid.gis.errors import CRSError, Problem, ValidationError

#: CRSs a project may be stored in (geographic): WGS84 and CGCS2000.
STORAGE_EPSG = (4326, 4490)

POLYGON = ("Polygon", "MultiPolygon")
LINE = ("LineString", "MultiLineString")
POINT = ("Point",)


@dataclass(frozen=True)
class Column:
    """One attribute column of a layer.

    ``dtype`` is one of ``"str"``, ``"int"``, ``"float"``, ``"bool"``, ``"datetime"``.
    ``required`` columns must be present on import; the others get ``default``.
    ``references`` is ``"layer.column"`` for a foreign key (nulls allowed unless
    ``nullable`` is False). ``allowed`` lists the permitted values; ``minimum`` and
    ``maximum`` bound numbers.
    """

    name: str
    dtype: str
    description: str
    required: bool = False
    default: object = None
    nullable: bool = True
    references: str | None = None
    allowed: tuple | None = None
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class LayerSpec:
    """A project layer: its name, geometry types, id column and columns."""

    name: str
    description: str
    geometry_types: tuple[str, ...] | None
    columns: tuple[Column, ...]
    id_column: str = "id"
    essential_note: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def spatial(self) -> bool:
        return self.geometry_types is not None

    @property
    def required_columns(self) -> list[Column]:
        return [c for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


def _id(description="Unique identifier of the feature (text).") -> Column:
    return Column("id", "str", description, required=True, nullable=False)


COMMUNITY_KINDS = ("urban", "rural")
ROOM_CONDITIONS = ("independent", "second_floor", "shared_with_community", "awaiting_rebuild")
STREET_CLASSES = (
    "primary", "secondary", "tertiary", "residential", "service", "lane", "footway", "other",
)
BUILDING_USES = ("residential", "mixed", "commercial", "office", "public", "industrial", "other")
CAMERA_KINDS = ("road", "estate_internal", "entrance")
KEY_PLACE_KINDS = (
    "rental_house", "hotel", "ktv", "internet_cafe", "massage_parlour", "courier",
    "construction_site", "key_unit", "other",
)
INCIDENT_CATEGORIES = (
    "burglary", "bicycle_theft", "ebike_theft", "vehicle_theft", "pickpocketing", "fraud",
    "assault", "dispute", "traffic", "disturbance", "other",
)
#: Preventable case categories (可防性案件): the default of ``incidents.preventable``.
PREVENTABLE_CATEGORIES = ("burglary", "bicycle_theft", "ebike_theft", "vehicle_theft", "pickpocketing")

LAYERS: dict[str, LayerSpec] = {}


def _layer(spec: LayerSpec) -> None:
    LAYERS[spec.name] = spec


_layer(LayerSpec(
    "stations", "Police stations (派出所) and the territory each owns.", POLYGON, (
        _id(),
        Column("name", "str", "Station name.", default=""),
        Column("officers_total", "int", "All officers of the station (sizes: >50, 20-50, <20).",
               default=None, minimum=0),
        Column("district_code", "str", "Administrative code of the district (区县), for grid codes.",
               default=""),
    ),
    essential_note="id and territory polygon",
))
_layer(LayerSpec(
    "communities",
    "Residential (居委, urban) or village (村委, rural) committee boundaries: the unit of one beat.",
    POLYGON, (
        _id(),
        Column("name", "str", "Committee name.", default=""),
        Column("kind", "str", "urban (residential committee) or rural (village committee).",
               default="urban", nullable=False, allowed=COMMUNITY_KINDS),
        Column("station_id", "str", "Station owning the community.", references="stations.id"),
        Column("beat_id", "str", "Beat covering the community (one per community by default; "
               "a rural beat may cover several villages).", references="beats.id"),
        Column("code", "str", "Administrative code of the committee (12 digits), for grid codes.",
               default=""),
        Column("subdistrict_code", "str", "Code of the subdistrict / town (街道/镇).", default=""),
        Column("subdistrict", "str", "Name of the subdistrict / town.", default=""),
    ),
    essential_note="id and boundary polygon",
))
_layer(LayerSpec(
    "police_rooms", "Community police rooms (社区警务室), the office of a beat.", POINT, (
        _id(),
        Column("name", "str", "Room name.", default=""),
        Column("room_type", "int", "1 (at least 2 officers) or 2 (1 officer).", default=2,
               nullable=False, allowed=(1, 2)),
        Column("setting", "str", "urban community room or rural area room.", default="urban",
               nullable=False, allowed=COMMUNITY_KINDS),
        Column("office_condition", "str", "independent, second_floor, shared_with_community or "
               "awaiting_rebuild.", default="independent", nullable=False, allowed=ROOM_CONDITIONS),
        Column("beat_id", "str", "Beat the room serves.", references="beats.id"),
        Column("station_id", "str", "Station of the room.", references="stations.id"),
    ),
    essential_note="id and location",
))
_layer(LayerSpec(
    "beats", "Police beats (警务区): one per community by default.", POLYGON, (
        _id(),
        Column("name", "str", "Beat name.", default=""),
        Column("station_id", "str", "Station of the beat.", references="stations.id"),
        Column("responsibility_area_id", "str", "Responsibility area the beat belongs to.",
               references="responsibility_areas.id"),
    ),
    essential_note="id and polygon",
))
_layer(LayerSpec(
    "responsibility_areas", "Responsibility areas (责任区): adjacent beats joined.", POLYGON, (
        _id(),
        Column("name", "str", "Area name.", default=""),
        Column("station_id", "str", "Station of the area.", references="stations.id"),
    ),
    essential_note="id and polygon",
))
_layer(LayerSpec(
    "streets", "Streets and lanes (the borders of basic grids).", LINE, (
        _id(),
        Column("name", "str", "Street name.", default=""),
        Column("street_class", "str", "Road class: " + ", ".join(STREET_CLASSES) + ".",
               default="residential", nullable=False, allowed=STREET_CLASSES),
    ),
    essential_note="line geometry (ids are generated when missing)",
))
_layer(LayerSpec(
    "estates", "Residential estates (小区); old estates (老小区) are the blind-spot risk.", POLYGON, (
        _id(),
        Column("name", "str", "Estate name.", default=""),
        Column("community_id", "str", "Community containing the estate.",
               references="communities.id"),
        Column("is_old", "bool", "Old estate (老小区): no access control, few internal cameras.",
               default=False, nullable=False),
        Column("access", "str", "closed (gated) or open access.", default="closed",
               nullable=False, allowed=("closed", "open")),
        Column("access_doors", "int", "Stairwell doors with access control.", default=0,
               minimum=0),
        Column("stairwells", "int", "Stairwells (unit entrances) in the estate.", default=None,
               minimum=0),
        Column("year_built", "int", "Year of construction.", default=None, minimum=1800,
               maximum=2100),
    ),
    essential_note="id and polygon",
))
_layer(LayerSpec(
    "buildings", "Building footprints with households and population (一标三实).", POLYGON, (
        _id(),
        Column("households", "int", "Households living in the building (0 for non-residential).",
               required=True, nullable=False, minimum=0),
        Column("households_estimated", "bool", "True when households were estimated from floor "
               "area (footprint x levels / dwelling size).", default=False, nullable=False),
        Column("population_registered", "int", "Registered (户籍) residents.", default=0,
               nullable=False, minimum=0),
        Column("population_floating", "int", "Floating (流动) residents.", default=0,
               nullable=False, minimum=0),
        Column("levels", "int", "Storeys above ground.", default=1, nullable=False, minimum=1),
        Column("use", "str", "Main use: " + ", ".join(BUILDING_USES) + ".", default="residential",
               nullable=False, allowed=BUILDING_USES),
        Column("estate_id", "str", "Estate the building belongs to.", references="estates.id"),
        Column("community_id", "str", "Community containing the building.",
               references="communities.id"),
        Column("grid_id", "str", "Basic grid of the building (set by grid planning).",
               references="grids.id"),
        Column("address", "str", "Standard address (标准地址).", default=""),
    ),
    essential_note="footprint polygon, and households unless they can be estimated (levels)",
))
_layer(LayerSpec(
    "cameras", "Surveillance cameras; no direction means a 360-degree dome.", POINT, (
        _id(),
        Column("kind", "str", "road, estate_internal or entrance.", default="road",
               nullable=False, allowed=CAMERA_KINDS),
        Column("direction", "float", "Viewing direction, degrees clockwise from north; empty "
               "for a 360-degree dome.", default=None, minimum=0, maximum=360),
        Column("fov_deg", "float", "Horizontal field-of-view angle in degrees (360 for a dome).",
               default=None, minimum=0, maximum=360),
        Column("range_m", "float", "Useful range in metres.", default=None, minimum=0),
        Column("height_m", "float", "Mounting height in metres.", default=None, minimum=0),
        Column("tilt_deg", "float", "Downward tilt in degrees.", default=None, minimum=-90,
               maximum=90),
        Column("focal_length_mm", "float", "Lens focal length (optional).", default=None,
               minimum=0),
        Column("sensor_width_mm", "float", "Sensor width (optional).", default=None, minimum=0),
        Column("resolution_h_px", "int", "Horizontal resolution in pixels (optional).",
               default=None, minimum=1),
        Column("estate_id", "str", "Estate the camera is in, if any.", references="estates.id"),
        Column("source", "str", "Where the record came from (e.g. osm, survey).", default=""),
    ),
    essential_note="location (fov, range, height and tilt default from settings when empty)",
))
_layer(LayerSpec(
    "incidents", "Incidents and cases (警情/案件).", POINT, (
        _id(),
        Column("category", "str", "Category: " + ", ".join(INCIDENT_CATEGORIES) + ".",
               default="other", nullable=False, allowed=INCIDENT_CATEGORIES),
        Column("preventable", "bool", "Preventable case (可防性案件); defaults from the category.",
               default=None, nullable=False),
        Column("occurred_at", "datetime", "When it happened (local time).", default=None),
    ),
    essential_note="location and category",
))
_layer(LayerSpec(
    "key_places", "Key places tracked by officers (rental houses, hotels, internet cafes...).",
    POINT, (
        _id(),
        Column("kind", "str", "Kind: " + ", ".join(KEY_PLACE_KINDS) + ".", default="other",
               nullable=False, allowed=KEY_PLACE_KINDS),
        Column("name", "str", "Name.", default=""),
    ),
    essential_note="location",
))
_layer(LayerSpec(
    "staff", "Staff roster per beat (a table without geometry).", None, (
        Column("beat_id", "str", "The beat.", required=True, nullable=False,
               references="beats.id"),
        Column("community_officers", "int", "Community police officers (社区民警).", default=0,
               nullable=False, minimum=0),
        Column("auxiliaries", "int", "Dedicated auxiliary officers (辅警).", default=0,
               nullable=False, minimum=0),
        Column("floating_managers", "int", "Floating-population managers (流管员).", default=0,
               nullable=False, minimum=0),
        Column("grid_workers", "int", "Grid workers (网格员).", default=0, nullable=False,
               minimum=0),
    ),
    id_column="beat_id",
    essential_note="beat_id",
))
_layer(LayerSpec(
    "governance_grids", "Grids of other departments (综治网格, 城运网格), for multi-grid alignment.",
    POLYGON, (
        _id(),
        Column("name", "str", "Grid name.", default=""),
        Column("department", "str", "Owning department (e.g. comprehensive_governance, "
               "city_operations).", default="comprehensive_governance", nullable=False),
    ),
    essential_note="id and polygon",
))
_layer(LayerSpec(
    "grids", "Basic grids (基础网格) of 300-500 households; empty until planned.", POLYGON, (
        _id(),
        Column("code", "str", "Hierarchical grid code (district, subdistrict, community, "
               "sequence).", default=""),
        Column("community_id", "str", "Community the grid lies in.", nullable=False,
               required=True, references="communities.id"),
        Column("households", "int", "Households in the grid.", default=0, nullable=False,
               minimum=0),
        Column("locked", "bool", "Locked grids are kept as they are by the planner.",
               default=False, nullable=False),
    ),
    essential_note="id, community_id and polygon",
))

#: The order layers are written in and listed (parents before children).
LAYER_ORDER = [
    "stations", "responsibility_areas", "beats", "communities", "police_rooms", "streets",
    "estates", "buildings", "grids", "cameras", "incidents", "key_places", "staff",
    "governance_grids",
]
assert sorted(LAYER_ORDER) == sorted(LAYERS)


def get_spec(layer: str) -> LayerSpec:
    """Return the spec of ``layer``; unknown names raise an error listing the known ones."""
    from beatgrid.gis.errors import InputError

    try:
        return LAYERS[layer]
    except KeyError:
        raise InputError(
            f"unknown layer {layer!r}",
            fix="use one of: " + ", ".join(LAYER_ORDER),
        ) from None


# --------------------------------------------------------------------------------------
# Conforming and validating
# --------------------------------------------------------------------------------------

def _row_ids(df: pd.DataFrame, spec: LayerSpec) -> pd.Series:
    if spec.id_column in df.columns:
        ids = df[spec.id_column].astype(object)
        return ids.where(ids.notna(), pd.Series([f"row {i}" for i in range(len(df))],
                                                index=df.index))
    return pd.Series([f"row {i}" for i in range(len(df))], index=df.index)


def _cast(series: pd.Series, dtype: str) -> tuple[pd.Series, pd.Series]:
    """Cast ``series`` to ``dtype``; return (cast, mask of values that could not be cast)."""
    notna = series.notna()
    if dtype == "str":
        out = series.astype(object).where(~notna, series.astype(object).map(
            lambda v: str(int(v)) if isinstance(v, float) and float(v).is_integer() else str(v)))
        return out.where(notna, None).astype(object), pd.Series(False, index=series.index)
    if dtype in ("int", "float"):
        if series.dtype == bool:
            series = series.astype(int)
        num = pd.to_numeric(series, errors="coerce")
        bad = notna & num.isna()
        if dtype == "int":
            frac = notna & num.notna() & (num.round() != num)
            bad = bad | frac
            return num.round().astype("Int64"), bad
        return num.astype(float), bad
    if dtype == "bool":
        mapping = {"true": True, "1": True, "yes": True, "y": True, "t": True,
                   "false": False, "0": False, "no": False, "n": False, "f": False}
        def conv(v):
            if isinstance(v, (bool, np.bool_)):
                return bool(v)
            if isinstance(v, (int, float, np.integer, np.floating)) and v in (0, 1):
                return bool(v)
            return mapping.get(str(v).strip().lower(), "bad")
        out = series.map(lambda v: conv(v) if pd.notna(v) else None)
        bad = out.map(lambda v: isinstance(v, str))
        return out.where(~bad, None), bad
    if dtype == "datetime":
        out = pd.to_datetime(series, errors="coerce")
        if getattr(out.dt, "tz", None) is not None:
            out = out.dt.tz_convert("Asia/Shanghai").dt.tz_localize(None)
        return out, notna & out.isna()
    raise ValueError(dtype)


def _bounds_text(col: Column) -> str:
    if col.minimum is not None and col.maximum is not None:
        return f"between {col.minimum:g} and {col.maximum:g}"
    if col.minimum is not None:
        return f">= {col.minimum:g}"
    return f"<= {col.maximum:g}"


def _scalar(value):
    """A plain Python value for messages (no numpy reprs)."""
    return value.item() if hasattr(value, "item") else value


def _problem(spec, row_id, column, value, message, fix, severity="error") -> Problem:
    return Problem(layer=spec.name, row_id=row_id, column=column, value=value,
                   message=message, fix=fix, severity=severity)


def conform_layer(
    df: pd.DataFrame, layer: str, *, repair: bool = True
) -> tuple[pd.DataFrame, list[Problem]]:
    """Bring ``df`` to the schema of ``layer`` and list every problem found.

    Missing optional columns get their documented default; values are cast to the
    column type; invalid geometries are repaired (with a warning) when
    ``shapely.make_valid`` gives the same kind of geometry; unknown extra columns are
    kept. The frame is not changed in place.

    Parameters
    ----------
    df
        The layer (a GeoDataFrame for spatial layers, a DataFrame for ``staff``).
    layer
        Layer name, one of :data:`LAYERS`.
    repair
        Repair invalid geometries (default) instead of reporting them as errors.

    Returns
    -------
    (conformed frame, problems)
        ``problems`` holds errors (the layer cannot be used as is) and warnings.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> gdf = gpd.GeoDataFrame({"id": ["a"], "households": ["12"]},
    ...                        geometry=[shapely.box(121.5, 29.8, 121.501, 29.801)], crs=4490)
    >>> out, problems = conform_layer(gdf, "buildings")
    >>> int(out.loc[0, "households"]), out.loc[0, "use"], problems
    (12, 'residential', [])
    """
    spec = get_spec(layer)
    problems: list[Problem] = []
    out = df.copy()
    ids = _row_ids(out, spec)

    # -- columns: required present, optional defaulted, types cast ---------------------
    for col in spec.columns:
        if col.name not in out.columns:
            if col.required:
                problems.append(_problem(
                    spec, None, col.name, None, "required column is missing",
                    f"add a {col.dtype} column {col.name!r} ({col.description}) or map a source "
                    f"column to it (--map SRC={col.name})"))
                continue
            out[col.name] = col.default
        cast, bad = _cast(out[col.name], col.dtype)
        for idx in out.index[bad.to_numpy()]:
            problems.append(_problem(
                spec, ids[idx], col.name, _scalar(out.at[idx, col.name]),
                f"value is not of type {col.dtype}", f"put a value of type {col.dtype} in {col.name!r}"))
        out[col.name] = cast
        if col.default is not None and not col.required:
            out[col.name] = out[col.name].where(out[col.name].notna(), col.default)
            if col.dtype == "int":
                out[col.name] = out[col.name].astype("Int64")
        if col.dtype == "bool" and col.default is not None:
            out[col.name] = out[col.name].astype(bool)
        if not col.nullable:
            # preventable is defaulted from the category further down
            if not (spec.name == "incidents" and col.name == "preventable") \
                    and col.name != spec.id_column:
                nulls = out[col.name].isna() & ~bad
                for idx in out.index[nulls.to_numpy()]:
                    problems.append(_problem(spec, ids[idx], col.name, None, "value is empty",
                                             f"fill {col.name!r} ({col.description})"))
        values = out[col.name]
        if col.allowed is not None:
            wrong = values.notna() & ~values.isin(col.allowed)
            for idx in out.index[wrong.to_numpy()]:
                problems.append(_problem(
                    spec, ids[idx], col.name, _scalar(values[idx]), "value is not allowed",
                    "use one of: " + ", ".join(map(str, col.allowed))))
        if col.dtype in ("int", "float") and (col.minimum is not None or col.maximum is not None):
            num = pd.to_numeric(values, errors="coerce").astype(float).to_numpy()
            out_of_range = np.zeros(len(num), dtype=bool)
            if col.minimum is not None:
                out_of_range |= num < col.minimum
            if col.maximum is not None:
                out_of_range |= num > col.maximum
            bounds = _bounds_text(col)
            for idx in out.index[out_of_range]:
                problems.append(_problem(
                    spec, ids[idx], col.name, _scalar(values[idx]), f"value must be {bounds}",
                    f"give {col.name!r} a value {bounds}"))

    if spec.name == "incidents" and "category" in out.columns:
        default = out["category"].isin(PREVENTABLE_CATEGORIES)
        out["preventable"] = out["preventable"].where(out["preventable"].notna(), default)
        out["preventable"] = out["preventable"].astype(bool)

    # -- ids: present and unique ------------------------------------------------------------
    if spec.id_column in out.columns:
        idcol = out[spec.id_column]
        for idx in out.index[idcol.isna().to_numpy()]:
            problems.append(_problem(spec, f"row {list(out.index).index(idx)}", spec.id_column,
                                     None, "id is empty", "give every feature a unique id"))
        dup = idcol.notna() & idcol.duplicated(keep=False)
        for value in pd.unique(idcol[dup]):
            n = int((idcol == value).sum())
            problems.append(_problem(spec, value, spec.id_column, value,
                                     f"id is used by {n} features",
                                     "make ids unique (e.g. append a suffix)"))

    # -- geometry --------------------------------------------------------------------------
    if spec.spatial:
        out, geom_problems = _conform_geometry(out, spec, ids, repair=repair)
        problems.extend(geom_problems)
    return out, problems


def _conform_geometry(out, spec: LayerSpec, ids, *, repair: bool):
    problems: list[Problem] = []
    if not isinstance(out, gpd.GeoDataFrame) or out.geometry.name not in out.columns:
        problems.append(_problem(spec, None, "geometry", None, "layer has no geometry",
                                 "give the layer a geometry column, or lon/lat columns for CSV"))
        return out, problems
    if out.crs is None:
        problems.append(_problem(
            spec, None, "geometry", None, "layer has no coordinate reference system",
            "set the CRS of the source file (e.g. EPSG:4326 or EPSG:4490); BeatGrid never "
            "guesses it"))
    elif out.crs.to_epsg() not in STORAGE_EPSG:
        problems.append(_problem(
            spec, None, "geometry", out.crs.to_string(),
            "layer is not stored in geographic coordinates",
            "reproject to EPSG:4490 (CGCS2000) or EPSG:4326 (beatgrid import does this)"))
    geom = out.geometry.array
    missing = shapely.is_missing(geom) | shapely.is_empty(geom)
    for idx in out.index[missing]:
        problems.append(_problem(spec, ids[idx], "geometry", None, "geometry is empty",
                                 "draw the feature or remove the row"))
    present = ~missing
    gtype = np.asarray(shapely.get_type_id(geom))
    names = np.array(["Point", "LineString", "LinearRing", "Polygon", "MultiPoint",
                      "MultiLineString", "MultiPolygon", "GeometryCollection"])
    type_names = np.where(gtype >= 0, names[np.clip(gtype, 0, 7)], "")
    wrong_type = present & ~np.isin(type_names, spec.geometry_types)
    for idx in out.index[wrong_type]:
        problems.append(_problem(
            spec, ids[idx], "geometry", type_names[list(out.index).index(idx)],
            "wrong geometry type", "use " + " or ".join(spec.geometry_types)))
    invalid = present & ~wrong_type & ~shapely.is_valid(geom)
    if invalid.any():
        fixed = shapely.make_valid(geom[invalid])
        if spec.geometry_types == POLYGON:
            # make_valid may return a collection with stray lines: keep the polygonal part
            fixed = np.array([_polygonal(g) for g in fixed], dtype=object)
        new_geom = np.asarray(out.geometry.array, dtype=object).copy()
        positions = np.flatnonzero(invalid)
        for pos, g in zip(positions, fixed):
            idx = out.index[pos]
            reason = shapely.is_valid_reason(geom[pos])
            ok = (g is not None and not g.is_empty and g.geom_type in spec.geometry_types)
            if repair and ok:
                new_geom[pos] = g
                problems.append(_problem(
                    spec, ids[idx], "geometry", reason, "invalid geometry repaired",
                    "check the repaired shape; fix it in the source to silence this",
                    severity="warning"))
            else:
                problems.append(_problem(
                    spec, ids[idx], "geometry", reason, "invalid geometry",
                    "fix the geometry in the source (e.g. QGIS 'Fix geometries')"))
        out = out.set_geometry(gpd.GeoSeries(new_geom, index=out.index, crs=out.crs),
                               crs=out.crs)
    return out, problems


def _polygonal(g):
    if g is None:
        return None
    if g.geom_type in POLYGON:
        return g
    parts = [p for p in getattr(g, "geoms", []) if p.geom_type in POLYGON]
    if not parts:
        return None
    merged = shapely.union_all(parts)
    return merged if merged.geom_type in POLYGON else None


def check_references(layers: dict[str, pd.DataFrame]) -> list[Problem]:
    """List every dangling reference between the given layers (foreign keys)."""
    problems: list[Problem] = []
    for name, df in layers.items():
        spec = LAYERS.get(name)
        if spec is None or df is None:
            continue
        ids = _row_ids(df, spec)
        for col in spec.columns:
            if not col.references or col.name not in df.columns:
                continue
            target_layer, target_col = col.references.split(".")
            target = layers.get(target_layer)
            values = df[col.name]
            present = values.notna() & (values.astype(str) != "")
            if not present.any():
                continue
            known = set() if target is None or target_col not in target.columns else set(
                target[target_col].dropna().astype(str))
            dangling = present & ~values.astype(str).isin(known)
            for idx in df.index[dangling.to_numpy()]:
                problems.append(Problem(
                    layer=name, row_id=ids[idx], column=col.name, value=values[idx],
                    message=f"refers to a missing {target_layer} feature",
                    fix=f"add {target_layer} id {values[idx]!r}, or clear {col.name!r}"))
    return problems


@dataclass
class ValidationReport:
    """Every problem found in a project, errors and warnings together."""

    problems: list[Problem]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_frame(self) -> pd.DataFrame:
        """The problems as a table (severity, layer, row_id, column, value, message, fix)."""
        cols = ["severity", "layer", "row_id", "column", "value", "message", "fix"]
        return pd.DataFrame([{c: getattr(p, c) for c in cols} for p in self.problems],
                            columns=cols)

    def format(self, *, limit: int | None = 200) -> str:
        """A readable report, errors first, at most ``limit`` lines of detail."""
        lines = []
        shown = sorted(self.problems, key=lambda p: (p.severity != "error", p.layer))
        for p in shown[: limit or None]:
            lines.append(p.format())
        if limit and len(shown) > limit:
            lines.append(f"... {len(shown) - limit} more (see --csv for the full list)")
        lines.append(f"{len(self.errors)} error(s), {len(self.warnings)} warning(s)")
        return "\n".join(lines)

    def raise_if_errors(self) -> None:
        if self.errors:
            raise ValidationError(self.problems)


def validate_project(layers: dict[str, pd.DataFrame]) -> ValidationReport:
    """Validate every layer given and the references between them.

    Parameters
    ----------
    layers
        Layer name to frame; layers missing from the dict are treated as empty.

    Returns
    -------
    ValidationReport
        All problems at once, never just the first.

    Examples
    --------
    >>> from beatgrid.gis.io.project import read_project
    >>> report = validate_project(read_project("sample-geodata/ningbo-jiangbei.gpkg"))
    >>> report.ok
    True
    """
    problems: list[Problem] = []
    conformed = {}
    for name, df in layers.items():
        if name not in LAYERS:
            continue
        out, layer_problems = conform_layer(df, name)
        conformed[name] = out
        problems.extend(layer_problems)
    problems.extend(check_references(conformed))
    crss = {df.crs.to_epsg() for df in conformed.values()
            if isinstance(df, gpd.GeoDataFrame) and df.crs is not None and len(df)}
    if len(crss) > 1:
        problems.append(Problem(layer="project", message=f"layers use several CRSs {sorted(crss)}",
                                fix="re-import the odd layers; the project keeps one CRS"))
    return ValidationReport(problems)


def empty_layer(layer: str, *, crs=4490) -> pd.DataFrame:
    """An empty frame with the columns of ``layer`` (a GeoDataFrame when spatial)."""
    spec = get_spec(layer)
    data = {c.name: pd.Series([], dtype=_EMPTY_DTYPES[c.dtype]) for c in spec.columns}
    if not spec.spatial:
        return pd.DataFrame(data)
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries([], crs=crs), crs=crs)


_EMPTY_DTYPES = {"str": object, "int": "Int64", "float": float, "bool": bool,
                 "datetime": "datetime64[ns]"}


def require_crs(gdf: gpd.GeoDataFrame, *, layer: str) -> None:
    """Raise :class:`CRSError` naming ``layer`` when ``gdf`` has no CRS."""
    if getattr(gdf, "crs", None) is None:
        raise CRSError(f"layer {layer!r} has no coordinate reference system",
                       fix="set the CRS of the source (e.g. EPSG:4490); BeatGrid never guesses it")


def warn_problems(problems: list[Problem]) -> None:
    """Emit each warning-level problem as a Python warning (used after repairs)."""
    for p in problems:
        if p.severity == "warning":
            warnings.warn(p.format(), stacklevel=3)
