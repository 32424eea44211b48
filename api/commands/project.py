"""Project-level commands: ``sample``, ``validate``, ``info`` and ``schema``."""

from __future__ import annotations

import time
from pathlib import Path

from beatgrid.gis import schema
from beatgrid.gis.io import project as store

from beatgrid.api.commands._common import add_project, ensure_parent, print_table


def register(sub) -> None:
    p = sub.add_parser("sample", help="write the synthetic sample district (Ningbo Jiangbei)")
    p.add_argument("--out", required=True, metavar="P.gpkg", help="project file to write")
    p.add_argument("--households", type=int, default=None,
                   help="households in the district (default: the committed sample, 30,000)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.set_defaults(func=run_sample)

    p = sub.add_parser("validate", help="check every layer against the schema; exit 1 on errors")
    add_project(p)
    p.add_argument("--csv", metavar="FILE.csv", help="also write every problem to a CSV file")
    p.add_argument("--limit", type=int, default=200, help="problems printed at most (default 200)")
    p.set_defaults(func=run_validate)

    p = sub.add_parser("info", help="layers, feature counts, CRS and extent of a project")
    add_project(p)
    p.set_defaults(func=run_info)

    p = sub.add_parser("schema", help="print the layer schema (Markdown)")
    p.add_argument("--layer", help="only this layer")
    p.set_defaults(func=run_schema)


def run_sample(args) -> int:
    from beatgrid.gis.errors import InputError
    from beatgrid.gis.sample import generate_district

    out = Path(args.out)
    if out.exists() and not args.force:
        raise InputError(f"{str(out)!r} already exists", fix="pass --force or choose another --out")
    if args.households is not None and args.households < 1000:
        raise InputError(f"--households {args.households} is too small for a district",
                         fix="give at least 1000")
    started = time.perf_counter()
    options = {"seed": args.seed}
    if args.households is not None:
        options["households"] = args.households
    layers = generate_district(**options)
    ensure_parent(out)
    if out.exists():
        out.unlink()
    store.write_layers(out, layers, meta={"source": f"beatgrid sample seed={args.seed}",
                                          "coords": "cgcs2000"})
    took = time.perf_counter() - started
    households = int(layers["buildings"]["households"].sum())
    print(f"wrote {out}: {len(layers['communities'])} communities, "
          f"{len(layers['buildings']):,} buildings, {households:,} households, "
          f"{len(layers['cameras']):,} cameras in {took:.1f} s")
    return 0


def run_validate(args) -> int:
    layers = store.read_project(args.project)
    report = schema.validate_project(layers)
    if args.csv:
        report.to_frame().to_csv(ensure_parent(args.csv), index=False)
    if report.problems:
        print(report.format(limit=args.limit))
    else:
        total = sum(len(df) for df in layers.values())
        print(f"{args.project}: {len(layers)} layers, {total:,} features, no problems")
    return 1 if report.errors else 0


def run_info(args) -> int:
    info = store.project_info(args.project)
    meta = store.read_meta(args.project)
    print(f"project {args.project} (schema {meta.get('schema_version', '?')}, "
          f"EPSG:{meta.get('crs_epsg', '?')})")
    print_table(info, floatfmt="{:.5f}")
    imports = store.read_imports(args.project)
    if len(imports):
        print("\nimports:")
        print_table(imports.tail(20))
    return 0


def schema_markdown(layer: str | None = None) -> str:
    """The layer schema as Markdown (used for the README)."""
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


def run_schema(args) -> int:
    print(schema_markdown(args.layer))
    return 0
