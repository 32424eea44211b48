"""Project-level commands: ``sample``, ``validate``, ``info`` and ``schema``.

Each opens the project through :class:`~beatgrid.gis.Project` (a GeoPackage path or a
``postgresql://`` URL), calls it and prints.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from beatgrid.gis import Project, schema
from beatgrid.gis.errors import InputError
from beatgrid.gis.io.gpkg import GeoPackageStore
from beatgrid.gis.io.gpkg_files import check_file
from beatgrid.gis.io.store import open_store
from beatgrid.gis.sample import MIN_HOUSEHOLDS, generate_district

from beatgrid.api.commands._common import (add_project, add_settings, ensure_parent,
                                           non_negative_int, positive_int, print_table, seed)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``sample``, ``validate``, ``info`` and ``schema`` to the subcommands."""
    p = sub.add_parser("sample", help="write the synthetic sample district (Ningbo Jiangbei)")
    p.add_argument("--out", required=True, metavar="P.gpkg", help="project file to write")
    p.add_argument("--households", type=positive_int, default=None,
                   help="households in the district (default: the committed sample, 30,000)")
    p.add_argument("--seed", type=seed, default=0, help="random seed (default 0)")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.set_defaults(func=run_sample)

    p = sub.add_parser("validate", help="check every layer against the schema; exit 1 on errors")
    add_project(p)
    p.add_argument("--csv", metavar="FILE.csv", help="also write every problem to a CSV file")
    p.add_argument("--limit", type=non_negative_int, default=200, help="problems printed at most (default 200)")
    add_settings(p, name="import and validation (settings.toml)")
    p.set_defaults(func=run_validate)

    p = sub.add_parser("info", help="layers, feature counts, CRS and extent of a project")
    add_project(p)
    p.set_defaults(func=run_info)

    p = sub.add_parser("schema", help="print the layer schema (Markdown)")
    p.add_argument("--layer", help="only this layer")
    p.set_defaults(func=run_schema)


def run_sample(args: argparse.Namespace) -> int:
    """``beatgrid sample``: generate the sample district and write it as a new project."""
    out = Path(args.out)
    if out.exists() and not args.force:
        raise InputError(f"{str(out)!r} already exists", fix="pass --force or choose another --out")
    if args.households is not None and args.households < MIN_HOUSEHOLDS:
        raise InputError(f"--households {args.households} is too small for a district",
                         fix=f"give at least {MIN_HOUSEHOLDS}")
    started = time.perf_counter()
    options: dict[str, int] = {"seed": args.seed}
    if args.households is not None:
        options["households"] = args.households
    layers = generate_district(**options)
    ensure_parent(out)
    if out.exists():
        out.unlink()
    open_store(out).write_layers(layers, meta={"source": f"beatgrid sample seed={args.seed}",
                                               "coords": "cgcs2000"})
    took = time.perf_counter() - started
    households = int(layers["buildings"]["households"].sum())
    print(f"wrote {out}: {len(layers['communities'])} communities, "
          f"{len(layers['buildings']):,} buildings, {households:,} households, "
          f"{len(layers['cameras']):,} cameras in {took:.1f} s")
    return 0


def run_validate(args: argparse.Namespace) -> int:
    """``beatgrid validate``: every problem of the project; exit 1 on errors.

    A file that is not a readable GeoPackage (damaged anywhere: SQLite's quick check
    of every page) is an error (exit 2), not a problem of the project's data.
    ``--settings`` overrides the shipped ``settings.toml`` (``[validation]``: the
    tolerances and plausible maxima the data are judged by).
    """
    project = Project.open(args.project, core=args.settings)
    if isinstance(project.store, GeoPackageStore):
        check_file(project.store.path)
    layers = project.layers
    report = schema.validate_project(layers, settings=project.config.core)
    if args.csv:
        report.to_frame().to_csv(ensure_parent(args.csv), index=False)
    if report.problems:
        print(report.format(limit=args.limit))
    else:
        total = sum(len(df) for df in layers.values())
        print(f"{args.project}: {len(layers)} layers, {total:,} features, no problems")
    return 1 if report.errors else 0


def run_info(args: argparse.Namespace) -> int:
    """``beatgrid info``: layers, counts, CRS, extents and the import log."""
    store = Project.open(args.project).store
    info = store.info()
    meta = store.meta()
    print(f"project {args.project} (schema {meta.get('schema_version', '?')}, "
          f"EPSG:{meta.get('crs_epsg', '?')})")
    print_table(info, floatfmt="{:.5f}")
    imports = store.imports()
    if len(imports):
        print("\nimports:")
        print_table(imports.tail(20))
    return 0


def schema_markdown(layer: str | None = None) -> str:
    """The layer schema as Markdown (used for the README).

    Examples
    --------
    >>> schema_markdown("staff").splitlines()[0]
    '### `staff`'
    """
    names = [schema.get_spec(layer).name] if layer else schema.LAYER_ORDER
    parts = []
    for name in names:
        spec = schema.LAYERS[name]
        geom = " / ".join(spec.geometry_types) if spec.spatial else "none (table)"
        parts.append(f"### `{name}`\n\n{spec.description} Geometry: {geom}. "
                     f"Essential on import: {spec.essential_note}.\n")
        parts.append("| column | type | required | default | meaning |")
        parts.append("| --- | --- | --- | --- | --- |")
        for c in spec.columns:
            extra = []
            if c.references:
                extra.append(f"references `{c.references}`")
            if c.allowed:
                extra.append("one of " + ", ".join(f"`{a}`" for a in c.allowed))
            desc = c.description + (f" ({'; '.join(extra)})" if extra else "")
            default = "" if c.default is None else f"`{c.default}`"
            parts.append(f"| `{c.name}` | {c.dtype} | {'yes' if c.required else ''} | "
                         f"{default} | {desc} |")
        parts.append("")
    return "\n".join(parts)


def run_schema(args: argparse.Namespace) -> int:
    """``beatgrid schema``: print the layer schema (Markdown)."""
    print(schema_markdown(args.layer))
    return 0
