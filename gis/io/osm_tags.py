"""OpenStreetMap tags to BeatGrid attributes: pure functions, no file access.

:mod:`beatgrid.gis.io.osm` reads an ``.osm.pbf`` with pyrosm and hands the tag tables
to the functions here:

- :func:`normalise_buildings`: ``use`` from ``building=*``; ``households`` from
  ``building:flats`` when mapped, otherwise estimated as
  ``round(footprint area x levels / dwelling size)`` for residential buildings
  (``households_estimated=True``), 0 for other uses;
- :func:`normalise_streets`: ``street_class`` from ``highway=*``;
- :func:`normalise_cameras`: direction / field of view / height / tilt from the many
  spellings of ``camera:direction``, ``camera:type``, ``height``, ``camera:angle``.

The scalar parsers (:func:`parse_direction`, :func:`parse_length_m`,
:func:`parse_tilt`, :func:`parse_levels`, :func:`parse_count`) live in
:mod:`beatgrid.gis.io.osm_parse` and are published here too; the frame-level
functions turn a value they do not understand into ``nan`` and a note naming the
feature, the tag and the value.

Examples
--------
>>> parse_direction("NE"), parse_direction("90-180"), parse_direction("270-90")
((45.0, nan), (135.0, 90.0), (0.0, 180.0))
>>> parse_length_m("4,5 m"), parse_length_m("13 ft")
(4.5, 3.9624)
>>> street_class("primary_link"), street_class("service", service="alley")
('primary', 'lane')
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from beatgrid.gis.io.osm_parse import (CARDINALS, NAN, is_empty, parse_count, parse_direction,
                                       parse_length_m, parse_levels, parse_tilt)

__all__ = [
    "BUILDING_TAGS", "BUILDING_USE_TAGS", "CAMERA_SURVEILLANCE_TYPES", "CAMERA_TAGS",
    "CARDINALS", "HIGHWAY_CLASSES", "NAN", "building_use", "estimate_households", "is_camera",
    "normalise_buildings", "normalise_cameras", "normalise_streets", "parse_count",
    "parse_direction", "parse_length_m", "parse_levels", "parse_tilt", "street_class",
    "tag_table",
]

# --------------------------------------------------------------------------------------
# Classifications
# --------------------------------------------------------------------------------------

#: ``highway=*`` -> ``street_class``; values not listed map to ``"other"``.
HIGHWAY_CLASSES: dict[str, str] = {
    "motorway": "primary", "motorway_link": "primary", "trunk": "primary",
    "trunk_link": "primary", "primary": "primary", "primary_link": "primary",
    "secondary": "secondary", "secondary_link": "secondary",
    "tertiary": "tertiary", "tertiary_link": "tertiary",
    "residential": "residential", "living_street": "residential",
    "unclassified": "residential", "road": "residential",
    "service": "service",
    "footway": "footway", "pedestrian": "footway", "path": "footway", "steps": "footway",
    "cycleway": "footway", "bridleway": "footway", "corridor": "footway",
}


def street_class(highway: Any, *, service: Any = None) -> str:
    """``street_class`` of a way from its ``highway`` (and ``service``) tags.

    Motorways and trunk roads count as ``primary``; ``living_street``,
    ``unclassified`` as ``residential``; footways, paths, steps, cycleways and
    pedestrian streets as ``footway``; ``service=alley`` (lanes, 弄/巷) as ``lane``;
    anything else as ``other``.

    Examples
    --------
    >>> street_class("trunk"), street_class("Living_Street"), street_class("track")
    ('primary', 'residential', 'other')
    """
    if is_empty(highway):
        return "other"
    cls = HIGHWAY_CLASSES.get(str(highway).strip().lower(), "other")
    if cls == "service" and not is_empty(service) and str(service).strip().lower() == "alley":
        return "lane"
    return cls


#: ``building=*`` values of each non-residential use; residential values come from the
#: settings (``[import] residential_building_tags``); anything else is ``"other"``.
BUILDING_USE_TAGS: dict[str, tuple[str, ...]] = {
    "mixed": ("mixed_use", "mixed"),
    "commercial": ("commercial", "retail", "supermarket", "kiosk", "shop", "hotel", "mall"),
    "office": ("office",),
    "public": ("public", "civic", "government", "school", "kindergarten", "university",
               "college", "hospital", "church", "mosque", "temple", "chapel", "cathedral",
               "shrine", "train_station", "transportation", "fire_station", "police",
               "sports_hall", "stadium", "library", "museum", "community_centre"),
    "industrial": ("industrial", "warehouse", "factory", "manufacture", "storage_tank"),
}
_USE_OF_TAG = {tag: use for use, tags in BUILDING_USE_TAGS.items() for tag in tags}


def building_use(building: Any, *, residential_tags: Iterable[str]) -> str:
    """``use`` of a building from its ``building=*`` value.

    Examples
    --------
    >>> tags = ["residential", "apartments", "yes"]
    >>> building_use("apartments", residential_tags=tags), building_use("retail", residential_tags=tags)
    ('residential', 'commercial')
    >>> building_use("garages", residential_tags=tags)
    'other'
    """
    value = "yes" if is_empty(building) else str(building).strip().lower()
    if value in residential_tags:
        return "residential"
    return _USE_OF_TAG.get(value, "other")


def estimate_households(area_m2: Any, levels: Any, *, dwelling_size_m2: float,
                        residential: Any, minimum: Any = 0) -> np.ndarray:
    """Households from floor area: ``round(area x levels / dwelling_size)`` where residential.

    Parameters
    ----------
    area_m2
        Footprint areas in square metres (from a metric CRS).
    levels
        Storeys of each building.
    dwelling_size_m2
        Mean floor area of one dwelling (``[import] dwelling_size_m2``, 90).
    residential
        Boolean mask; other buildings get 0.
    minimum
        Smallest count for a residential building (scalar or per-building array).

    Examples
    --------
    >>> estimate_households([450.0, 450.0, 30.0], [6, 6, 1], dwelling_size_m2=90,
    ...                     residential=[True, False, True], minimum=[0, 0, 1]).tolist()
    [30, 0, 1]
    """
    if not dwelling_size_m2 or dwelling_size_m2 <= 0:
        raise ValueError(f"dwelling_size_m2 must be positive, got {dwelling_size_m2!r}")
    area = np.asarray(area_m2, dtype=float)
    lev = np.asarray(levels, dtype=float)
    est = np.rint(np.nan_to_num(area * lev / float(dwelling_size_m2), nan=0.0))
    est = np.maximum(est, np.broadcast_to(np.asarray(minimum, dtype=float), est.shape))
    return np.where(np.asarray(residential, dtype=bool), est, 0.0).astype(np.int64)


# --------------------------------------------------------------------------------------
# Tag tables
# --------------------------------------------------------------------------------------

def _parse_tags(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if is_empty(value):
        return {}
    try:
        out = json.loads(value)
    except (TypeError, ValueError):
        return {}
    return out if isinstance(out, dict) else {}


def tag_table(df: pd.DataFrame, keys: Iterable[str]) -> pd.DataFrame:
    """The tags ``keys`` of every feature: from columns, else from pyrosm's ``tags`` JSON.

    pyrosm puts common tags in columns and the remaining ones in a JSON ``tags``
    column; this returns one column per key (``None`` when a feature lacks it).

    Examples
    --------
    >>> df = pd.DataFrame({"building": ["yes"], "tags": ['{"building:flats": "12"}']})
    >>> tag_table(df, ["building", "building:flats", "height"]).iloc[0].tolist()
    ['yes', '12', None]
    """
    extra = (df["tags"].map(_parse_tags) if "tags" in df.columns
             else pd.Series([{}] * len(df), index=df.index))
    out: dict[str, pd.Series] = {}
    for key in keys:
        from_json = extra.map(lambda d, k=key: d.get(k))
        if key in df.columns:
            col = df[key].astype(object)
            col = col.where(~col.map(is_empty), from_json)
        else:
            col = from_json
        out[key] = col.astype(object).where(~col.map(is_empty), None)
    return pd.DataFrame(out, index=df.index)


def _osm_ids(df: pd.DataFrame, default_type: str) -> pd.Series:
    types = (df["osm_type"].astype(str) if "osm_type" in df.columns
             else pd.Series(default_type, index=df.index))
    types = types.replace({"nan": default_type, "None": default_type})
    ids = types + "/" + df["id"].astype("int64").astype(str)
    dup = ids.duplicated(keep=False)
    if dup.any():  # a way split in several rows: suffix the parts
        ids = ids.where(~dup, ids + "-" + ids.groupby(ids).cumcount().add(1).astype(str))
    return ids


def _parse_column(series: pd.Series, parser: Callable[[Any], Any], *, ids: Iterable[str],
                  tag: str, notes: list[str]) -> pd.Series:
    values = []
    for fid, value in zip(ids, series):
        try:
            values.append(parser(value))
        except ValueError:
            notes.append(f"{fid}: {tag}={value!r} not understood, left empty")
            values.append(NAN if parser is not parse_direction else (NAN, NAN))
    return pd.Series(values, index=series.index, dtype=object)


def _address(tags: pd.DataFrame) -> pd.Series:
    full = tags["addr:full"]
    street = tags["addr:street"].fillna("").astype(str)
    number = tags["addr:housenumber"].fillna("").astype(str)
    combined = (street + " " + number).str.strip()
    return full.where(full.notna(), combined).fillna("").astype(str)


BUILDING_TAGS = ("building", "building:levels", "building:flats", "name", "addr:full",
                 "addr:street", "addr:housenumber")


def normalise_buildings(df: pd.DataFrame, *, area_m2: Any, dwelling_size_m2: float,
                        default_levels: float, residential_tags: Iterable[str],
                        notes: list[str] | None = None) -> pd.DataFrame:
    """BeatGrid building attributes from OSM building features.

    ``households`` comes from ``building:flats`` when mapped
    (``households_estimated=False``). Otherwise residential buildings get
    ``round(area_m2 x levels / dwelling_size_m2)``, at least 1 for buildings tagged
    with an explicit residential value (not ``building=yes``), and
    ``households_estimated=True``; other buildings get 0 (not flagged: no floor-area
    estimate was made). ``levels`` is ``building:levels`` or ``default_levels``.

    Parameters
    ----------
    df
        pyrosm buildings (``id``, ``osm_type``, tag columns, ``tags`` JSON).
    area_m2
        Footprint area of each row, in square metres.
    dwelling_size_m2, default_levels, residential_tags
        ``[import]`` settings.
    notes
        A list that receives one line per tag value that could not be read.

    Returns
    -------
    pandas.DataFrame
        ``id`` (``way/123``), ``households``, ``households_estimated``, ``levels``,
        ``use``, ``address``, ``name``, ``building`` (the raw tag), index of ``df``.

    Examples
    --------
    >>> df = pd.DataFrame({"id": [1, 2, 3], "osm_type": "way",
    ...                    "building": ["apartments", "retail", "residential"],
    ...                    "building:levels": ["6", None, None],
    ...                    "tags": [None, None, '{"building:flats": "40"}']})
    >>> out = normalise_buildings(df, area_m2=[450.0, 300.0, 500.0], dwelling_size_m2=90,
    ...                           default_levels=1, residential_tags=["apartments", "residential"])
    >>> out[["id", "households", "households_estimated", "use"]].values.tolist()
    [['way/1', 30, True, 'residential'], ['way/2', 0, False, 'commercial'], ['way/3', 40, False, 'residential']]
    """
    notes = [] if notes is None else notes
    residential_tags = [str(t).lower() for t in residential_tags]
    tags = tag_table(df, BUILDING_TAGS)
    ids = _osm_ids(df, "way")
    raw_levels = _parse_column(tags["building:levels"], parse_levels, ids=ids,
                               tag="building:levels", notes=notes).astype(float)
    levels = raw_levels.fillna(float(default_levels))
    flats = _parse_column(tags["building:flats"], parse_count, ids=ids,
                          tag="building:flats", notes=notes).astype(float)
    building = tags["building"].map(lambda v: "yes" if is_empty(v) else str(v).strip().lower())
    use = building.map(lambda v: building_use(v, residential_tags=residential_tags))
    residential = (use == "residential").to_numpy()
    explicit = (residential & (building != "yes")).to_numpy()
    estimate = estimate_households(area_m2, levels.to_numpy(), dwelling_size_m2=dwelling_size_m2,
                                   residential=residential, minimum=explicit.astype(int))
    mapped = flats.notna().to_numpy()
    households = np.where(mapped, np.nan_to_num(flats.to_numpy()), estimate).astype(np.int64)
    return pd.DataFrame({
        "id": ids.to_numpy(),
        "households": households,
        "households_estimated": ~mapped & residential,
        "levels": np.maximum(np.rint(levels.to_numpy()), 1).astype(np.int64),
        "use": use.to_numpy(),
        "address": _address(tags).to_numpy(),
        "name": tags["name"].fillna("").astype(str).to_numpy(),
        "building": building.to_numpy(),
    }, index=df.index)


def normalise_streets(df: pd.DataFrame) -> pd.DataFrame:
    """BeatGrid street attributes (``id``, ``name``, ``street_class``, ``highway``).

    Examples
    --------
    >>> df = pd.DataFrame({"id": [5, 6], "highway": ["tertiary", "service"],
    ...                    "service": [None, "alley"], "name": ["中山路", None]})
    >>> normalise_streets(df).values.tolist()
    [['way/5', '中山路', 'tertiary', 'tertiary'], ['way/6', '', 'lane', 'service']]
    """
    tags = tag_table(df, ("highway", "service", "name"))
    classes = [street_class(h, service=s) for h, s in zip(tags["highway"], tags["service"])]
    return pd.DataFrame({
        "id": _osm_ids(df, "way").to_numpy(),
        "name": tags["name"].fillna("").astype(str).to_numpy(),
        "street_class": classes,
        "highway": tags["highway"].fillna("").astype(str).to_numpy(),
    }, index=df.index)


CAMERA_TAGS = ("camera:direction", "direction", "camera:type", "camera:mount", "height",
               "camera:height", "camera:angle", "camera:tilt", "surveillance",
               "surveillance:type", "surveillance:zone", "operator", "name")

#: ``surveillance:type`` values that are cameras (others, e.g. guard, are dropped).
CAMERA_SURVEILLANCE_TYPES = ("camera", "alpr", "anpr")


def is_camera(tags: pd.DataFrame) -> pd.Series:
    """True for surveillance features that are cameras (no or a camera ``surveillance:type``).

    Examples
    --------
    >>> is_camera(pd.DataFrame({"surveillance:type": ["camera", "guard", None]})).tolist()
    [True, False, True]
    """
    kind = tags["surveillance:type"]
    return kind.isna() | kind.astype(str).str.strip().str.lower().isin(CAMERA_SURVEILLANCE_TYPES)


def normalise_cameras(df: pd.DataFrame, *, notes: list[str] | None = None) -> pd.DataFrame:
    """BeatGrid camera attributes from ``man_made=surveillance`` nodes.

    - ``camera:type=dome``: ``direction`` empty and ``fov_deg`` 360 (it sees all round);
    - ``camera:direction`` (or ``direction``): see :func:`parse_direction`; a range
      gives its centre and its width as ``fov_deg``;
    - ``height_m`` from ``camera:height`` or ``height`` (:func:`parse_length_m`);
    - ``tilt_deg`` from ``camera:angle`` or ``camera:tilt`` (:func:`parse_tilt`);
    - ``kind`` is ``entrance`` for ``surveillance:zone=entrance``, otherwise ``road``;
    - ``camera_type``, ``mount``, ``surveillance``, ``zone``, ``operator`` are kept as
      extra columns; ``source`` is ``"osm"``.

    Values left empty (fov, range, height, tilt) take the ``[cameras]`` settings
    defaults when coverage is computed.

    Examples
    --------
    >>> df = pd.DataFrame({"id": [1, 2, 3], "camera:type": ["fixed", "dome", "panning"],
    ...                    "camera:direction": ["NE", "90", "90-180"],
    ...                    "height": ["4 m", None, "5.5"], "camera:angle": ["-20", None, None]})
    >>> out = normalise_cameras(df)
    >>> out[["id", "direction", "fov_deg", "height_m", "tilt_deg"]].values.tolist()
    [['node/1', 45.0, nan, 4.0, 20.0], ['node/2', nan, 360.0, nan, nan], ['node/3', 135.0, 90.0, 5.5, nan]]
    """
    notes = [] if notes is None else notes
    tags = tag_table(df, CAMERA_TAGS)
    ids = _osm_ids(df, "node")
    direction_tag = tags["camera:direction"].where(tags["camera:direction"].notna(),
                                                   tags["direction"])
    parsed = _parse_column(direction_tag, parse_direction, ids=ids, tag="camera:direction",
                           notes=notes)
    direction = parsed.map(lambda t: t[0]).astype(float)
    fov = parsed.map(lambda t: t[1]).astype(float)
    camera_type = tags["camera:type"].map(
        lambda v: "" if is_empty(v) else str(v).strip().lower())
    dome = (camera_type == "dome").to_numpy()
    direction = direction.where(~dome, NAN)
    fov = fov.where(~dome, 360.0)
    height_tag = tags["camera:height"].where(tags["camera:height"].notna(), tags["height"])
    height = _parse_column(height_tag, parse_length_m, ids=ids, tag="height",
                           notes=notes).astype(float)
    tilt_tag = tags["camera:angle"].where(tags["camera:angle"].notna(), tags["camera:tilt"])
    tilt = _parse_column(tilt_tag, parse_tilt, ids=ids, tag="camera:angle",
                         notes=notes).astype(float)
    zone = tags["surveillance:zone"].fillna("").astype(str).str.strip().str.lower()

    def text(col: str) -> np.ndarray:
        return tags[col].fillna("").astype(str).str.strip().to_numpy()

    return pd.DataFrame({
        "id": ids.to_numpy(),
        "kind": np.where(zone == "entrance", "entrance", "road"),
        "direction": direction.to_numpy(),
        "fov_deg": fov.to_numpy(),
        "height_m": height.to_numpy(),
        "tilt_deg": tilt.to_numpy(),
        "source": "osm",
        "camera_type": camera_type.to_numpy(),
        "mount": tags["camera:mount"].fillna("").astype(str).str.strip().str.lower().to_numpy(),
        "surveillance": text("surveillance"),
        "zone": zone.to_numpy(),
        "operator": text("operator"),
        "name": text("name"),
    }, index=df.index)
