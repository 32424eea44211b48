"""The layers of a BeatGrid project: columns, types, geometry and meaning, in one place.

Each layer of a project is described by a :class:`LayerSpec` (its geometry types, id
column and :class:`Column` list); :data:`LAYERS` holds them by name and
:data:`LAYER_ORDER` lists them parents first. ``README.md`` ("Layer schema") is
generated from these specs by ``beatgrid schema``. Checking frames against them is
:mod:`beatgrid.gis.validation`; :mod:`beatgrid.gis.schema` publishes both.

Examples
--------
>>> from beatgrid.gis.layer_specs import LAYERS, get_spec
>>> sorted(LAYERS)[:3]
['beats', 'buildings', 'cameras']
>>> [c.name for c in get_spec("communities").required_columns]
['id']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import geopandas as gpd
import pandas as pd

from beatgrid.gis.errors import InputError

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
    ``nullable`` is False). ``allowed`` lists the permitted values. Numbers have a range:
    ``minimum`` and ``maximum`` are hard bounds (a value outside is impossible;
    ``minimum_exclusive`` makes the minimum itself impossible, e.g. a field of view of 0)
    and ``plausible_maximum`` is the largest value that is still believable (10^15
    households in a building is a unit or column mix-up). Every number column has a
    lower and an upper bound (or an ``allowed`` list); :attr:`range_text` documents it.

    Examples
    --------
    >>> col = get_spec("buildings").column("households")
    >>> col.dtype, col.required, col.minimum, col.plausible_maximum
    ('int', True, 0, 10000)
    >>> col.range_text
    '0 to 10,000'
    """

    name: str
    dtype: str
    description: str
    required: bool = False
    default: object = None
    nullable: bool = True
    references: str | None = None
    allowed: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    minimum_exclusive: bool = False
    plausible_maximum: float | None = None

    @property
    def upper_bound(self) -> float | None:
        """The largest value accepted: ``maximum``, else ``plausible_maximum``.

        Examples
        --------
        >>> get_spec("cameras").column("range_m").upper_bound
        2000
        """
        return self.maximum if self.maximum is not None else self.plausible_maximum

    @property
    def range_text(self) -> str:
        """The accepted range in words (``""`` for a column without bounds).

        Examples
        --------
        >>> get_spec("cameras").column("fov_deg").range_text
        'above 0, up to 360'
        >>> get_spec("cameras").column("tilt_deg").range_text
        '-90 to 90'
        """
        low, high = self.minimum, self.upper_bound
        if low is None and high is None:
            return ""
        if low is None:
            return f"up to {format_number(high)}"
        if high is None:
            return f"above {format_number(low)}" if self.minimum_exclusive \
                else f"{format_number(low)} or more"
        if self.minimum_exclusive:
            return f"above {format_number(low)}, up to {format_number(high)}"
        return f"{format_number(low)} to {format_number(high)}"


@dataclass(frozen=True)
class LayerSpec:
    """A project layer: its name, geometry types, id column and columns.

    Examples
    --------
    >>> spec = get_spec("cameras")
    >>> spec.spatial, spec.geometry_types, spec.column("kind").allowed
    (True, ('Point',), ('road', 'estate_internal', 'entrance'))
    """

    name: str
    description: str
    geometry_types: tuple[str, ...] | None
    columns: tuple[Column, ...]
    id_column: str = "id"
    essential_note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def spatial(self) -> bool:
        """Whether the layer has a geometry (every layer but ``staff``).

        Examples
        --------
        >>> get_spec("staff").spatial
        False
        """
        return self.geometry_types is not None

    @property
    def required_columns(self) -> list[Column]:
        """The columns an imported table must have.

        Examples
        --------
        >>> [c.name for c in get_spec("grids").required_columns]
        ['id', 'community_id']
        """
        return [c for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        """The column ``name`` (:class:`KeyError` when the layer has none).

        Examples
        --------
        >>> get_spec("communities").column("kind").allowed
        ('urban', 'rural')
        """
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def column_names(self) -> list[str]:
        """The schema column names, in order.

        Examples
        --------
        >>> get_spec("key_places").column_names
        ['id', 'kind', 'name']
        """
        return [c.name for c in self.columns]


def format_number(value: float | None) -> str:
    """A bound for messages: whole numbers, with thousands separators from 10,000.

    Examples
    --------
    >>> format_number(10000), format_number(2100), format_number(0.5), format_number(-90)
    ('10,000', '2100', '0.5', '-90')
    """
    if value is None:
        return ""
    if not float(value).is_integer():
        return f"{value:g}"
    return f"{int(value):,}" if abs(value) >= 10_000 else str(int(value))


def _number(name: str, dtype: str, description: str, *, minimum: float,
            maximum: float | None = None, plausible_maximum: float | None = None,
            minimum_exclusive: bool = False, **options: Any) -> Column:
    """A number column whose description ends with its range (the README's schema table)."""
    col = Column(name, dtype, description, minimum=minimum, maximum=maximum,
                 plausible_maximum=plausible_maximum, minimum_exclusive=minimum_exclusive,
                 **options)
    return replace(col, description=f"{description} Range: {col.range_text}.")


def _id(description: str = "Unique identifier of the feature (text).") -> Column:
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
        _number("officers_total", "int", "All officers of the station (sizes: >50, 20-50, <20).",
                default=None, minimum=0, plausible_maximum=2000),
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
        _number("access_doors", "int", "Stairwell doors with access control.", default=0,
                minimum=0, plausible_maximum=5000),
        _number("stairwells", "int", "Stairwells (unit entrances) in the estate.", default=None,
                minimum=0, plausible_maximum=5000),
        _number("year_built", "int", "Year of construction.", default=None, minimum=1800,
                maximum=2100),
    ),
    essential_note="id and polygon",
))
_layer(LayerSpec(
    "buildings", "Building footprints with households and population (一标三实).", POLYGON, (
        _id(),
        _number("households", "int", "Households living in the building (0 for "
                "non-residential).", required=True, nullable=False, minimum=0,
                plausible_maximum=10000),
        Column("households_estimated", "bool", "True when households were estimated from floor "
               "area (footprint x levels / dwelling size).", default=False, nullable=False),
        _number("population_registered", "int", "Registered (户籍) residents.", default=0,
                nullable=False, minimum=0, plausible_maximum=50000),
        _number("population_floating", "int", "Floating (流动) residents.", default=0,
                nullable=False, minimum=0, plausible_maximum=50000),
        _number("levels", "int", "Storeys above ground.", default=1, nullable=False, minimum=1,
                plausible_maximum=200),
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
        _number("direction", "float", "Viewing direction, degrees clockwise from north; empty "
                "for a 360-degree dome.", default=None, minimum=0, maximum=360),
        _number("fov_deg", "float", "Horizontal field-of-view angle in degrees (360 for a "
                "dome).", default=None, minimum=0, minimum_exclusive=True, maximum=360),
        _number("range_m", "float", "Useful range in metres.", default=None, minimum=0,
                minimum_exclusive=True, plausible_maximum=2000),
        _number("height_m", "float", "Mounting height in metres.", default=None, minimum=0,
                plausible_maximum=300),
        _number("tilt_deg", "float", "Downward tilt in degrees.", default=None, minimum=-90,
                maximum=90),
        _number("focal_length_mm", "float", "Lens focal length (optional).", default=None,
                minimum=0, minimum_exclusive=True, plausible_maximum=2000),
        _number("sensor_width_mm", "float", "Sensor width (optional).", default=None, minimum=0,
                minimum_exclusive=True, plausible_maximum=100),
        _number("resolution_h_px", "int", "Horizontal resolution in pixels (optional).",
                default=None, minimum=1, plausible_maximum=50000),
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
        _number("community_officers", "int", "Community police officers (社区民警).", default=0,
                nullable=False, minimum=0, plausible_maximum=100),
        _number("auxiliaries", "int", "Dedicated auxiliary officers (辅警).", default=0,
                nullable=False, minimum=0, plausible_maximum=500),
        _number("floating_managers", "int", "Floating-population managers (流管员).", default=0,
                nullable=False, minimum=0, plausible_maximum=500),
        _number("grid_workers", "int", "Grid workers (网格员).", default=0, nullable=False,
                minimum=0, plausible_maximum=500),
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
        _number("households", "int", "Households in the grid.", default=0, nullable=False,
                minimum=0, plausible_maximum=100000),
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
# every number column has a range (or a list of allowed values), documented in the schema
assert all(c.allowed is not None or (c.minimum is not None and c.upper_bound is not None)
           for spec in LAYERS.values() for c in spec.columns if c.dtype in ("int", "float"))


def get_spec(layer: str) -> LayerSpec:
    """Return the spec of ``layer``; unknown names raise an error listing the known ones.

    Examples
    --------
    >>> get_spec("staff").id_column
    'beat_id'
    >>> get_spec("castles")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    beatgrid.gis.errors.InputError: unknown layer 'castles' Fix: use one of: stations, ...
    """
    try:
        return LAYERS[layer]
    except KeyError:
        raise InputError(
            f"unknown layer {layer!r}",
            fix="use one of: " + ", ".join(LAYER_ORDER),
        ) from None


#: Column type -> pandas dtype of an empty column.
_EMPTY_DTYPES: dict[str, Any] = {"str": object, "int": "Int64", "float": float, "bool": bool,
                                 "datetime": "datetime64[ns]"}


def empty_layer(layer: str, *, crs: Any = 4490) -> pd.DataFrame:
    """An empty frame with the columns of ``layer`` (a GeoDataFrame when spatial).

    Parameters
    ----------
    layer
        A layer of :data:`LAYERS`.
    crs
        CRS of a spatial layer (an EPSG code or anything pyproj accepts).

    Examples
    --------
    >>> grids = empty_layer("grids")
    >>> len(grids), grids.crs.to_epsg(), list(grids.columns)[:3]
    (0, 4490, ['id', 'code', 'community_id'])
    """
    spec = get_spec(layer)
    data = {c.name: pd.Series([], dtype=_EMPTY_DTYPES[c.dtype]) for c in spec.columns}
    if not spec.spatial:
        return pd.DataFrame(data)
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries([], crs=crs), crs=crs)



def column_name_key(name: Any) -> str:
    """A column name as compared with the ``[import] column_synonyms``: no case, spaces, ``_-:``.

    Examples
    --------
    >>> column_name_key(" Camera_Direction "), column_name_key("安装-高度")
    ('cameradirection', '安装高度')
    """
    return "".join(ch for ch in str(name).strip().lower() if ch not in " _-:：")


def plausible_maxima(layer: str, settings: Mapping[str, Any] | None) -> dict[str, float]:
    """``{column: plausible maximum}`` of ``layer``: the schema's, with the settings' overrides.

    ``settings`` is the ``core`` settings section (``[validation.plausible_maximum]``);
    None gives the schema's values.

    Examples
    --------
    >>> plausible_maxima("buildings", None)["households"]
    10000
    >>> plausible_maxima("buildings", {"validation": {"plausible_maximum": {
    ...     "buildings": {"households": 20000}}}})["households"]
    20000
    """
    spec = get_spec(layer)
    out: dict[str, float] = {c.name: c.plausible_maximum for c in spec.columns
                             if c.plausible_maximum is not None}
    given = ((settings or {}).get("validation") or {}).get("plausible_maximum") or {}
    out.update({str(k): v for k, v in (given.get(layer) or {}).items() if k in out})
    return out
