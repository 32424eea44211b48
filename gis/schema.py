"""The BeatGrid layer schema: the layer specs and the checks against them, in one import.

A BeatGrid project holds the layers below (see ``README.md``, "Layer schema", which is
generated from the specs by ``beatgrid schema``). This module publishes, under one name:

- the specs (:mod:`beatgrid.gis.layer_specs`): :data:`LAYERS`, :data:`LAYER_ORDER`,
  :func:`get_spec`, :func:`empty_layer`, :class:`LayerSpec`, :class:`Column` and the
  allowed values (:data:`STREET_CLASSES`, :data:`INCIDENT_CATEGORIES`...);
- the checks (:mod:`beatgrid.gis.validation`): :func:`conform_layer` brings an imported
  table to the schema (defaults, types, ranges, repaired geometries, coordinates),
  :func:`validate_project` reports *every* problem at once (layer, row id, column,
  value, fix), :class:`ValidationReport`, :func:`warn_problems`;
- the references (:mod:`beatgrid.gis.references`): :func:`check_references` (dangling
  foreign keys, with the near match suggested) and :func:`near_match`;
- :func:`require_crs` (from :mod:`beatgrid.gis.crs`: the CRS of a frame, or
  :class:`~beatgrid.gis.errors.CRSError`).

Examples
--------
>>> from beatgrid.gis import schema
>>> sorted(schema.LAYERS)[:3]
['beats', 'buildings', 'cameras']
>>> [c.name for c in schema.LAYERS["communities"].required_columns]
['id']
"""

from __future__ import annotations

from beatgrid.gis.crs import require_crs
from beatgrid.gis.layer_specs import (BUILDING_USES, CAMERA_KINDS, COMMUNITY_KINDS,
                                      INCIDENT_CATEGORIES, KEY_PLACE_KINDS, LAYER_ORDER,
                                      LAYERS, LINE, POINT, POLYGON, PREVENTABLE_CATEGORIES,
                                      ROOM_CONDITIONS, STORAGE_EPSG, STREET_CLASSES, Column,
                                      LayerSpec, empty_layer, get_spec)
from beatgrid.gis.references import check_references, near_match
from beatgrid.gis.validation import (ValidationReport, conform_layer, validate_project,
                                     warn_problems)

__all__ = [
    "BUILDING_USES", "CAMERA_KINDS", "COMMUNITY_KINDS", "INCIDENT_CATEGORIES",
    "KEY_PLACE_KINDS", "LAYER_ORDER", "LAYERS", "LINE", "POINT", "POLYGON",
    "PREVENTABLE_CATEGORIES", "ROOM_CONDITIONS", "STORAGE_EPSG", "STREET_CLASSES", "Column",
    "LayerSpec", "ValidationReport", "check_references", "conform_layer", "empty_layer",
    "get_spec", "near_match", "require_crs", "validate_project", "warn_problems",
]
