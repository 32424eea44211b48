"""Editing one feature of an editable layer: create, replace, update, delete; versioned.

Planners edit the layers that describe the police organisation and its equipment
one feature at a time (the HTTP service's OGC API - Features Part 4 routes,
``api/routes/ogc_transactions.py``): :data:`EDITABLE_LAYERS`. A
:class:`FeatureEditor` does each edit as one step under the project's lock
(:meth:`~beatgrid.gis.io.store.Store.locked`): it reads the layer, checks that the
feature exists (or not, for a new one) and is still at the version the edit was made
from (:mod:`beatgrid.gis.io.feature_versions`: else
:class:`~beatgrid.gis.errors.StaleVersionError` with the current version), builds the
new feature from GeoJSON (EPSG:4326, reprojected to the project CRS), validates it
(the schema's types, ranges and allowed values, the coordinates against the area of
use of the CRS, its references to other layers: every problem at once in one
:class:`~beatgrid.gis.errors.ValidationError`), refuses to delete a feature other
layers refer to (:class:`~beatgrid.gis.errors.ConflictError` naming them), writes the
layer in one transaction and records one audit row (``features.create``,
``features.replace``, ``features.update``, ``features.delete``: the user, the layer and
feature, the versions before and after and the columns changed). Nothing is written
when any check fails.

The references of the edited feature are checked against the layers it names only
(not the whole project, which the store's write would read: seconds on the sample);
the store still conforms the written layer to the schema.

Examples
--------
>>> from beatgrid.gis import Project
>>> project = Project.sample()
>>> editor = FeatureEditor(project)
>>> new = editor.create("cameras", {"type": "Feature", "properties": {"kind": "entrance"},
...                                 "geometry": {"type": "Point", "coordinates": [121.545, 29.915]}})
>>> new.feature_id, len(new.version), len(project.layer("cameras"))
('CAM301', 16, 301)
>>> moved = editor.update("cameras", "CAM301", {"properties": {"direction": 90}},
...                       expected=new.version)
>>> float(project.layer("cameras").set_index("id").loc["CAM301", "direction"])
90.0
>>> editor.delete("cameras", "CAM301", expected=new.version)
Traceback (most recent call last):
...
beatgrid.gis.errors.StaleVersionError: cameras feature 'CAM301' is at version ... it changed since you read it Fix: ...
>>> project.audit.entries()[-1]["action"]
'features.update'
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.geometry

from beatgrid.gis import schema
from beatgrid.gis.audit import record
from beatgrid.gis.crs import coordinate_problems, validation_settings
from beatgrid.gis.errors import ConflictError, InputError, NotFoundError, Problem, ValidationError
from beatgrid.gis.io.feature_versions import (changed_columns, check_version, feature_record,
                                              feature_version)
from beatgrid.gis.references import row_ids

if TYPE_CHECKING:
    from beatgrid.gis.workspace import Workspace

__all__ = ["EDITABLE_LAYERS", "EditResult", "FeatureEditor", "GEOJSON_EPSG", "editable_spec",
           "merge_patch", "next_id", "parse_geometry", "referencing_columns"]

#: The layers edited feature by feature (planner role), in :data:`~beatgrid.gis.schema.LAYER_ORDER`.
EDITABLE_LAYERS = ("beats", "police_rooms", "cameras", "staff", "governance_grids")
#: The CRS of GeoJSON bodies (RFC 7946: longitude, latitude on WGS 84).
GEOJSON_EPSG = 4326
#: Members of a GeoJSON Feature an edit reads; ``bbox`` and ``links`` are ignored.
FEATURE_MEMBERS = ("type", "id", "geometry", "properties", "bbox", "links")


def editable_spec(layer: str) -> schema.LayerSpec:
    """The spec of an editable layer; :class:`InputError` naming the editable ones otherwise.

    Examples
    --------
    >>> editable_spec("staff").id_column
    'beat_id'
    >>> editable_spec("buildings")
    Traceback (most recent call last):
    ...
    beatgrid.gis.errors.InputError: layer 'buildings' cannot be edited feature by feature Fix: edit one of: beats, police_rooms, cameras, staff, governance_grids (other layers change with `beatgrid import` or grid planning)
    """
    fix = ("edit one of: " + ", ".join(EDITABLE_LAYERS)
           + " (other layers change with `beatgrid import` or grid planning)")
    if layer not in schema.LAYERS:
        raise InputError(f"unknown layer {layer!r}", fix=fix)
    if layer not in EDITABLE_LAYERS:
        raise InputError(f"layer {layer!r} cannot be edited feature by feature", fix=fix)
    return schema.get_spec(layer)


def referencing_columns(layer: str) -> list[tuple[str, str]]:
    """``(layer, column)`` of every schema column referring to the ids of ``layer``.

    Examples
    --------
    >>> referencing_columns("beats")
    [('communities', 'beat_id'), ('police_rooms', 'beat_id'), ('staff', 'beat_id')]
    >>> referencing_columns("cameras")
    []
    """
    spec = schema.get_spec(layer)
    target = f"{layer}.{spec.id_column}"
    return [(name, col.name) for name in schema.LAYER_ORDER
            for col in schema.get_spec(name).columns if col.references == target]


def merge_patch(target: Any, patch: Any) -> Any:
    """``target`` with a JSON merge patch applied (RFC 7396); neither is changed.

    Objects merge key by key (null removes a key); anything else replaces.

    Examples
    --------
    >>> merge_patch({"a": 1, "b": {"c": 2, "d": 3}}, {"b": {"c": None, "e": 4}, "f": [5]})
    {'a': 1, 'b': {'d': 3, 'e': 4}, 'f': [5]}
    >>> merge_patch({"a": 1}, [1, 2])
    [1, 2]
    """
    if not isinstance(patch, Mapping):
        return patch
    out = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def parse_geometry(layer: str, value: Any) -> Any:
    """A GeoJSON geometry object as a shapely geometry (2D); None for null.

    Raises
    ------
    InputError
        Not a GeoJSON geometry, or a geometry for ``staff`` (a table).

    Examples
    --------
    >>> parse_geometry("cameras", {"type": "Point", "coordinates": [121.5, 29.9, 12]}).wkt
    'POINT (121.5 29.9)'
    >>> parse_geometry("cameras", {"type": "Point", "coordinates": "here"})
    Traceback (most recent call last):
    ...
    beatgrid.gis.errors.InputError: cameras: geometry {'type': 'Point', 'coordinates': 'here'} is not a GeoJSON geometry Fix: give a GeoJSON geometry in EPSG:4326 (longitude, latitude), e.g. {"type": "Point", "coordinates": [121.55, 29.9]}
    """
    if value is None:
        return None
    spec = schema.get_spec(layer)
    if not spec.spatial:
        raise InputError(f"{layer}: a {layer} row has no geometry (given {_short(value)})",
                         fix='send "geometry": null')
    fix = ('give a GeoJSON geometry in EPSG:4326 (longitude, latitude), e.g. '
           '{"type": "Point", "coordinates": [121.55, 29.9]}')
    if not isinstance(value, Mapping):
        raise InputError(f"{layer}: geometry {_short(value)} is not a GeoJSON geometry", fix=fix)
    try:
        geometry = shapely.geometry.shape(value)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, RecursionError,
            shapely.errors.ShapelyError):
        raise InputError(f"{layer}: geometry {_short(value)} is not a GeoJSON geometry",
                         fix=fix) from None
    return shapely.force_2d(geometry)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:60]}... ({len(text):,} characters)"


def next_id(ids: Sequence[Any] | pd.Series) -> str | None:
    """The id after the last of the most common ``<prefix><number>`` pattern (None: no pattern).

    Examples
    --------
    >>> next_id(["CAM001", "CAM009", "CAM010", "X"]), next_id(["PR1", "PR12"]), next_id(["a"])
    ('CAM011', 'PR13', None)
    """
    parts = [m.groups() for m in (re.fullmatch(r"(.*?)(\d+)", str(i)) for i in ids
                                  if i is not None and i is not pd.NA) if m]
    if not parts:
        return None
    prefix = Counter(p for p, _ in parts).most_common(1)[0][0]
    numbers = [n for p, n in parts if p == prefix]
    width = max(len(n) for n in numbers)
    return f"{prefix}{max(int(n) for n in numbers) + 1:0{width}d}"


@dataclass(frozen=True)
class EditResult:
    """What an edit did: the feature, its version before and after, the columns changed.

    ``feature`` is the feature as stored (one row, project CRS; no row after a delete).
    """

    layer: str
    feature_id: str
    action: str
    version: str | None
    previous: str | None
    changed: list[str]
    feature: pd.DataFrame


@dataclass(frozen=True)
class _Body:
    """The parts of a GeoJSON Feature an edit uses."""

    feature_id: str | None
    properties: dict[str, Any]
    geometry: Any


class FeatureEditor:
    """Versioned, audited edits of single features (see the module docstring).

    Parameters
    ----------
    workspace
        The project (its store, configuration and layer cache).
    """

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    # -- reading -----------------------------------------------------------------------
    def read(self, layer: str, feature_id: str) -> tuple[pd.DataFrame, int]:
        """The layer as stored and the position of ``feature_id`` in it.

        Raises
        ------
        NotFoundError
            No feature of ``layer`` has that id.

        Examples
        --------
        >>> from beatgrid.gis import Project
        >>> frame, row = FeatureEditor(Project.sample()).read("staff", "B03")
        >>> row, frame.loc[row, "beat_id"]
        (2, 'B03')
        """
        spec = editable_spec(layer)
        frame = self.workspace.store.read_layer(layer)
        row = _position(frame, spec, feature_id)
        if row is None:
            shown = ", ".join(_ids(frame, spec)[:3]) or "(none)"
            raise NotFoundError(f"layer {layer!r} has no feature {feature_id!r}",
                                fix=f"use an id such as {shown} (GET /collections/{layer}/items)")
        return frame, row

    def version(self, layer: str, feature_id: str) -> str:
        """The current version of a feature (its ETag without quotes).

        Examples
        --------
        >>> from beatgrid.gis import Project
        >>> len(FeatureEditor(Project.sample()).version("beats", "B01"))
        16
        """
        frame, row = self.read(layer, feature_id)
        return feature_version(frame, row)

    # -- edits -------------------------------------------------------------------------
    def create(self, layer: str, feature: Mapping[str, Any]) -> EditResult:
        """Add a feature (GeoJSON, EPSG:4326); its id is the body's, else the next one.

        Raises
        ------
        ConflictError
            A feature with that id exists.
        InputError, ValidationError
            The body is not a usable feature of ``layer``.
        """
        spec = editable_spec(layer)
        body = self._body(spec, feature)
        with self.workspace.store.locked():
            stored = self.workspace.store.read_layer(layer)
            fid = body.feature_id
            if fid is None:
                fid = next_id(_ids(stored, spec))
                if fid is None or not spec.spatial:
                    raise InputError(f"{layer}: the new feature has no id",
                                     fix=f'give it an "id" (or properties.{spec.id_column})')
            if _position(stored, spec, fid) is not None:
                raise ConflictError(f"{layer} feature {fid!r} exists already",
                                    fix=f"choose another id, or change it with PUT/PATCH "
                                        f"/collections/{layer}/items/{fid}")
            row = self._row(spec, stored, fid, body.properties, body.geometry, GEOJSON_EPSG)
            return self._commit(spec, "create", fid, stored, None,
                                _concat(spec, [stored, row], self._epsg(stored)))

    def replace(self, layer: str, feature_id: str, feature: Mapping[str, Any], *,
                expected: str | Sequence[str] | None) -> EditResult:
        """Replace a feature by the one given (properties not given take their defaults).

        ``expected`` is the version the change was made from (None: no check).
        """
        spec = editable_spec(layer)
        body = self._body(spec, feature, path_id=feature_id)
        with self.workspace.store.locked():
            stored, pos = self._current(spec, feature_id, expected)
            row = self._row(spec, stored, feature_id, body.properties, body.geometry,
                            GEOJSON_EPSG)
            return self._commit(spec, "replace", feature_id, stored, pos,
                                _put(spec, stored, pos, row, self._epsg(stored)))

    def update(self, layer: str, feature_id: str, patch: Mapping[str, Any], *,
               expected: str | Sequence[str] | None) -> EditResult:
        """Apply a JSON merge patch (RFC 7396) of the feature's GeoJSON to it.

        ``{"properties": {"direction": 90}}`` changes one property (null clears it to
        its default); ``"geometry"`` replaces or patches the geometry (EPSG:4326); the
        geometry stays exactly as stored when the patch does not name it.
        """
        spec = editable_spec(layer)
        if not isinstance(patch, Mapping):
            raise InputError(f"{layer}: the patch is not a JSON object",
                             fix='send e.g. {"properties": {"name": "..."}}')
        self._members(spec, patch, path_id=feature_id)
        if not isinstance(patch.get("properties") or {}, Mapping):
            raise InputError(f"{layer}: properties {_short(patch['properties'])} is not an "
                             "object", fix='send "properties": {"name": "value", ...}')
        with self.workspace.store.locked():
            stored, pos = self._current(spec, feature_id, expected)
            properties, geometry = feature_record(stored, pos)
            merged = {} if patch.get("properties", {}) is None else \
                merge_patch(properties, patch.get("properties") or {})
            epsg = self._epsg(stored)
            if "geometry" in patch:
                given = patch["geometry"]
                whole = isinstance(given, Mapping) and "type" in given and (
                    "coordinates" in given or "geometries" in given)
                current = None if whole or geometry is None or shapely.is_empty(geometry) \
                    else shapely.geometry.mapping(gpd.GeoSeries([geometry], crs=epsg)
                                                  .to_crs(GEOJSON_EPSG).iloc[0])
                new_geometry = merge_patch(current, given) if given is not None else None
                row = self._row(spec, stored, feature_id, merged,
                                parse_geometry(layer, new_geometry), GEOJSON_EPSG)
            else:
                row = self._row(spec, stored, feature_id, merged, geometry, epsg)
            return self._commit(spec, "update", feature_id, stored, pos,
                                _put(spec, stored, pos, row, epsg))

    def delete(self, layer: str, feature_id: str, *,
               expected: str | Sequence[str] | None) -> EditResult:
        """Delete a feature no other layer refers to.

        Raises
        ------
        ConflictError
            Features of other layers refer to it (named, with their ids).
        """
        spec = editable_spec(layer)
        with self.workspace.store.locked():
            stored, pos = self._current(spec, feature_id, expected)
            users = []
            for other, column in referencing_columns(layer):
                frame = self.workspace.layer(other)
                if column not in frame.columns or not len(frame):
                    continue
                hits = frame[column].astype(object).map(_text) == feature_id
                if hits.any():
                    ids = row_ids(frame, schema.get_spec(other).id_column)[hits].astype(str)
                    users.append(f"{other} {', '.join(ids.tolist()[:10])}"
                                 + (f" (+{int(hits.sum()) - 10} more)" if hits.sum() > 10 else ""))
            if users:
                raise ConflictError(f"{layer} feature {feature_id!r} is referred to by "
                                    + "; ".join(users),
                                    fix=f"point those to another {layer} feature (or delete "
                                        "them) first")
            remaining = stored.drop(index=stored.index[pos]).reset_index(drop=True)
            return self._commit(spec, "delete", feature_id, stored, pos, remaining)

    # -- steps -----------------------------------------------------------------------
    def _epsg(self, stored: pd.DataFrame) -> int:
        """The project CRS (that of the layer read, else the store's)."""
        crs = getattr(stored, "crs", None)
        epsg = crs.to_epsg() if crs is not None else None
        return int(epsg) if epsg is not None else int(self.workspace.store.crs())

    def _current(self, spec: schema.LayerSpec, feature_id: str,
                 expected: str | Sequence[str] | None) -> tuple[pd.DataFrame, int]:
        stored, pos = self.read(spec.name, feature_id)
        check_version(f"{spec.name} feature {feature_id!r}", feature_version(stored, pos),
                      expected, reread=f"GET /collections/{spec.name}/items/{feature_id}")
        return stored, pos

    def _members(self, spec: schema.LayerSpec, feature: Mapping[str, Any], *,
                 path_id: str | None) -> str | None:
        """Check the Feature's members; the id it gives (None: none)."""
        unknown = [str(k) for k in feature if k not in FEATURE_MEMBERS]
        if unknown:
            raise InputError(f"{spec.name}: unknown member(s) {', '.join(map(repr, unknown))} "
                             "in the feature",
                             fix="send a GeoJSON Feature: type, id, geometry, properties")
        if feature.get("type", "Feature") != "Feature":
            raise InputError(f"{spec.name}: type {_short(feature.get('type'))} is not "
                             "'Feature'", fix='send a GeoJSON Feature ("type": "Feature")')
        given = feature.get("id")
        if given is not None and (isinstance(given, bool) or not isinstance(given, (str, int))):
            raise InputError(f"{spec.name}: id {_short(given)} is not a text or a whole number",
                             fix='give the feature\'s id as text, e.g. "id": "CAM301"')
        fid = None if given is None else str(given)
        props = feature.get("properties")
        if isinstance(props, Mapping) and props.get(spec.id_column) is not None:
            inner = str(props[spec.id_column])
            if fid is not None and inner != fid:
                raise InputError(f"{spec.name}: id {fid!r} and properties.{spec.id_column} "
                                 f"{inner!r} differ", fix="give one id")
            fid = inner
        if path_id is not None and fid is not None and fid != path_id:
            raise InputError(f"{spec.name}: the feature's id {fid!r} is not {path_id!r}, the id "
                             "in the path: a feature's id cannot change",
                             fix=f"keep the id {path_id!r} (to rename: POST the feature with "
                                 "its new id, then DELETE the old one)")
        return fid

    def _body(self, spec: schema.LayerSpec, feature: Mapping[str, Any], *,
              path_id: str | None = None) -> _Body:
        if not isinstance(feature, Mapping):
            raise InputError(f"{spec.name}: the body is not a GeoJSON Feature object",
                             fix="send a JSON object with type, geometry and properties")
        fid = self._members(spec, feature, path_id=path_id)
        props = feature.get("properties")
        if props is not None and not isinstance(props, Mapping):
            raise InputError(f"{spec.name}: properties {_short(props)} is not an object",
                             fix='send "properties": {"name": "value", ...}')
        geometry = parse_geometry(spec.name, feature.get("geometry"))
        return _Body(feature_id=fid, properties=dict(props or {}), geometry=geometry)

    def _row(self, spec: schema.LayerSpec, stored: pd.DataFrame, fid: str,
             properties: Mapping[str, Any], geometry: Any, given_epsg: int) -> pd.DataFrame:
        """The new feature as one conformed row in the project CRS; every problem at once."""
        columns = [c for c in stored.columns if c != "geometry"]
        known = list(dict.fromkeys([*spec.column_names, *columns]))
        unknown = [k for k in properties if k not in known]
        if unknown:
            raise InputError(f"{spec.name} has no propert{'y' if len(unknown) == 1 else 'ies'} "
                             + ", ".join(map(repr, unknown)),
                             fix="use properties among: " + ", ".join(known))
        bad = [k for k, v in properties.items()
               if v is not None and not isinstance(v, (str, int, float, bool, np.generic))]
        if bad:
            raise InputError(f"{spec.name}: properties {', '.join(map(repr, bad))} are not "
                             "plain values", fix="give text, numbers, true/false or null")
        data = {k: [v] for k, v in properties.items()}
        data[spec.id_column] = [fid]
        core = self.workspace.config.core
        if not spec.spatial:
            row: pd.DataFrame = pd.DataFrame(data)
        else:
            if geometry is None:
                raise InputError(f"{spec.name} feature {fid!r} has no geometry",
                                 fix="give a GeoJSON geometry of type "
                                     + " or ".join(spec.geometry_types or ()) + " in EPSG:4326")
            row = gpd.GeoDataFrame(data, geometry=[geometry], crs=given_epsg)
            epsg = self._epsg(stored)
            if given_epsg != epsg:
                misplaced = coordinate_problems(row, layer=spec.name, ids=[fid],
                                                tolerance_deg=validation_settings(core)[
                                                    "area_of_use_tolerance_deg"])
                if any(p.severity == "error" for p in misplaced):
                    raise ValidationError(misplaced)
                row = row.to_crs(epsg)
        conformed, problems = schema.conform_layer(row, spec.name, settings=core)
        problems = problems + self._reference_problems(spec, conformed)
        if any(p.severity == "error" for p in problems):
            raise ValidationError(problems)
        # the stored column order (the schema's, then any extra column), for the write
        order = [*stored.columns, *(c for c in conformed.columns if c not in stored.columns)]
        return conformed.reindex(columns=order)

    def _reference_problems(self, spec: schema.LayerSpec, row: pd.DataFrame) -> list[Problem]:
        targets: dict[str, pd.DataFrame] = {}
        for col in spec.columns:
            if col.references and col.name in row.columns and row[col.name].notna().any():
                target = col.references.split(".")[0]
                targets[target] = self.workspace.layer(target)
        if not targets:
            return []
        problems = schema.check_references({**targets, spec.name: row},
                                           settings=self.workspace.config.core)
        return [p for p in problems if p.layer == spec.name]

    def _commit(self, spec: schema.LayerSpec, action: str, fid: str, stored: pd.DataFrame,
                pos: int | None, new: pd.DataFrame) -> EditResult:
        """Write the layer, read the feature back, record the audit row (under the lock)."""
        store = self.workspace.store
        store.write_layers({spec.name: new}, validate=False)
        after, after_pos = self._read_back(spec, fid, new)
        before_record = feature_record(stored, pos)[0] if pos is not None else None
        previous = feature_version(stored, pos) if pos is not None else None
        if after_pos is None:
            version, after_record, feature = None, None, after.iloc[[]]
        else:
            version = feature_version(after, after_pos)
            after_record = feature_record(after, after_pos)[0]
            feature = after.iloc[[after_pos]]
        changed = changed_columns(before_record, after_record)
        if spec.spatial and action != "delete":
            old_geom = feature_record(stored, pos)[1] if pos is not None else None
            new_geom = feature_record(after, after_pos)[1] if after_pos is not None else None
            if old_geom is None or new_geom is None or not shapely.equals_exact(
                    old_geom, new_geom, tolerance=0):
                changed.append("geometry")
        records = store.records
        records.require_current(auto=records.schema is None)
        with records.writing() as conn:
            record(conn, action=f"features.{action}", target_kind="feature",
                   target_id=f"{spec.name}/{fid}", before=previous, after=version,
                   summary={"layer": spec.name, "id": fid, "changed": changed,
                            "rows": int(len(new))})
        return EditResult(layer=spec.name, feature_id=fid, action=action, version=version,
                          previous=previous, changed=changed, feature=feature)


    def _read_back(self, spec: schema.LayerSpec, fid: str, written: pd.DataFrame
                   ) -> tuple[pd.DataFrame, int | None]:
        """The feature ``fid`` as the store reads it after the write (None: not there).

        A spatial feature is read with a box around it (a few features, not the layer).
        """
        store = self.workspace.store
        pos = _position(written, spec, fid)
        if pos is None:
            return written.iloc[[]], None
        if spec.spatial:
            geometry = written.geometry.iloc[pos]
            if geometry is not None and not geometry.is_empty:
                x0, y0, x1, y1 = geometry.bounds
                pad = _BOX_PAD_DEG
                near = store.read_layer(spec.name, bbox=(x0 - pad, y0 - pad, x1 + pad, y1 + pad))
                found = _position(near, spec, fid)
                if found is not None:
                    return near, found
        after = store.read_layer(spec.name)
        return after, _position(after, spec, fid)


#: Degrees around a feature's bounds when it is read back (a box with some area).
_BOX_PAD_DEG = 1e-7


def _text(value: Any) -> str:
    return "" if value is None or value is pd.NA or (isinstance(value, float) and value != value) \
        else str(value)


def _ids(frame: pd.DataFrame, spec: schema.LayerSpec) -> list[str]:
    if spec.id_column not in frame.columns:
        return []
    return [_text(v) for v in frame[spec.id_column].astype(object)]


def _position(frame: pd.DataFrame, spec: schema.LayerSpec, feature_id: str) -> int | None:
    hits = np.flatnonzero(np.asarray(_ids(frame, spec), dtype=object) == str(feature_id))
    return int(hits[0]) if len(hits) else None


def _concat(spec: schema.LayerSpec, parts: Sequence[pd.DataFrame], epsg: int) -> pd.DataFrame:
    kept = [p for p in parts if len(p)]
    if not kept:
        return parts[-1]
    out = pd.concat(kept, ignore_index=True)
    if spec.spatial:
        return gpd.GeoDataFrame(out, geometry="geometry", crs=epsg)
    return out


def _put(spec: schema.LayerSpec, stored: pd.DataFrame, pos: int, row: pd.DataFrame,
         epsg: int) -> pd.DataFrame:
    """``stored`` with the feature at ``pos`` replaced by ``row`` (the order kept)."""
    return _concat(spec, [stored.iloc[:pos], row, stored.iloc[pos + 1:]], epsg)
