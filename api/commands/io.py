"""``beatgrid import`` and ``beatgrid export``: layers in and out of a project.

The project is a GeoPackage path or a ``postgresql://`` URL (its store,
:func:`~beatgrid.gis.io.store.open_store`); the reading, checking and writing are
:mod:`beatgrid.gis.io.importers`, :mod:`beatgrid.gis.io.osm` and
:mod:`beatgrid.gis.io.export`.
"""

from __future__ import annotations

import argparse

from beatgrid.gis import Config, Project, schema
from beatgrid.gis.errors import InputError
from beatgrid.gis.io.china_coords import COORD_SYSTEMS
from beatgrid.gis.io.export import export_layer
from beatgrid.gis.io.importers import import_layer
from beatgrid.gis.io.osm import import_osm
from beatgrid.gis.io.store import open_store

from beatgrid.api.commands._common import add_project, add_settings, ensure_parent


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``import`` and ``export`` to the subcommands."""
    p = sub.add_parser(
        "import", help="import a layer from GeoJSON/GeoPackage/Shapefile/CSV, or OSM .osm.pbf",
        description="beatgrid import osm FILE.osm.pbf --project P.gpkg | "
                    "beatgrid import LAYER FILE --project P.gpkg [options]")
    p.add_argument("layer", help="target layer (" + ", ".join(schema.LAYER_ORDER) +
                   "), or 'osm' for buildings, streets and cameras from an .osm.pbf")
    p.add_argument("file", help="source file")
    add_project(p)
    p.add_argument("--lon-col", help="CSV: longitude column (default: detected)")
    p.add_argument("--lat-col", help="CSV: latitude column (default: detected)")
    p.add_argument("--coords", choices=COORD_SYSTEMS, default="wgs84",
                   help="coordinate system of the source: wgs84 (default), gcj02 (Gaode, "
                        "Tencent) or bd09 (Baidu); converted to WGS84 and recorded")
    p.add_argument("--map", dest="column_map", action="append", default=[],
                   metavar="SRC=DST", help="rename source column SRC to layer column DST "
                                           "(repeatable)")
    p.add_argument("--map-values", dest="value_map", action="append", default=[],
                   metavar="COLUMN=FILE.csv",
                   help="replace the values of layer column COLUMN (after --map) with a "
                        "two-column CSV: source value, BeatGrid value (repeatable)")
    p.add_argument("--source-layer", help="layer inside a multi-layer source file")
    p.add_argument("--crs", help="CRS of a source without one (e.g. EPSG:4326); never guessed")
    p.add_argument("--append", action="store_true",
                   help="add to the layer instead of replacing it")
    p.add_argument("--allow-empty", action="store_true",
                   help="let a file without features replace the layer (empty it); "
                        "refused otherwise")
    add_settings(p, name="import and validation (settings.toml)")
    p.set_defaults(func=run_import)

    p = sub.add_parser("export", help="export a layer to GeoJSON, GeoPackage or CSV")
    p.add_argument("layer", help="layer to export")
    add_project(p)
    p.add_argument("--out", required=True, metavar="FILE",
                   help="output file; format from the extension (.geojson, .gpkg, .csv, .shp)")
    p.set_defaults(func=run_export)


def parse_column_map(pairs: list[str], *, option: str = "--map",
                     example: str = "hh=households") -> dict[str, str]:
    """``["SRC=DST", ...]`` to a dict, with a clear error for malformed pairs.

    Examples
    --------
    >>> parse_column_map(["编号=id", "hh=households"])
    {'编号': 'id', 'hh': 'households'}
    >>> parse_column_map(["category=codes.csv"], option="--map-values")
    {'category': 'codes.csv'}
    """
    shape = "SRC=DST" if option == "--map" else "COLUMN=FILE.csv"
    mapping: dict[str, str] = {}
    for pair in pairs:
        src, sep, dst = pair.partition("=")
        if not sep or not src or not dst:
            raise InputError(f"{option} {pair!r} is not {shape}",
                             fix=f"write e.g. {option} {example}")
        if src in mapping and mapping[src] != dst:
            raise InputError(f"{option} gives {src!r} twice ({mapping[src]!r} and {dst!r})",
                             fix=f"give one {option} per column")
        mapping[src] = dst
    return mapping


def run_import(args: argparse.Namespace) -> int:
    """``beatgrid import``: a layer from a file, or buildings, streets and cameras from OSM.

    ``--settings`` overrides the shipped ``settings.toml`` (the ``core`` section:
    ``[import]``, e.g. a city's ``column_synonyms``, and ``[validation]``).
    """
    core = Config.load(core=args.settings).core
    if args.layer == "osm":
        given = [opt for opt, value in (
            ("--map", args.column_map), ("--map-values", args.value_map),
            ("--lon-col", args.lon_col), ("--lat-col", args.lat_col),
            ("--source-layer", args.source_layer), ("--crs", args.crs),
            ("--allow-empty", args.allow_empty), ("--coords", args.coords != "wgs84")) if value]
        if given:
            raise InputError(f"import osm does not take {', '.join(given)}",
                             fix="OSM tags are read as documented and OSM is WGS-84: drop "
                                 "these options (only --append applies)")
        counts = import_osm(open_store(args.project, settings=core), args.file,
                            append=args.append, settings=core)
        print(f"imported into {args.project}: " +
              ", ".join(f"{n:,} {layer}" for layer, n in counts.items()))
        return 0
    schema.get_spec(args.layer)  # unknown layer: clear error before reading the file
    value_map = parse_column_map(args.value_map, option="--map-values",
                                 example="category=codes.csv")
    rows = import_layer(open_store(args.project, settings=core), args.layer, args.file,
                        append=args.append, allow_empty=args.allow_empty,
                        source_layer=args.source_layer, lon_col=args.lon_col,
                        lat_col=args.lat_col, coords=args.coords,
                        column_map=parse_column_map(args.column_map),
                        value_map=value_map or None, crs=args.crs, settings=core)
    mode = "appended to" if args.append else "replaced"
    print(f"{args.layer}: {rows:,} features {mode} in {args.project} (source coords "
          f"{args.coords})")
    return 0


def run_export(args: argparse.Namespace) -> int:
    """``beatgrid export``: one layer to a file, the format from the extension."""
    schema.get_spec(args.layer)  # unknown layer: clear error first
    project = Project.open(args.project)
    if args.layer not in project.store.list_layers():
        raise InputError(f"layer {args.layer!r} is not in {args.project}",
                         fix="run `beatgrid info` to list the layers")
    gdf = project.layer(args.layer)
    path = export_layer(gdf, ensure_parent(args.out))
    print(f"{args.layer}: {len(gdf):,} features written to {path}")
    return 0
