"""``beatgrid styles --project P``: write the QGIS styles of the project's layers.

Renders ``beatgrid.layers.styles/styles.toml`` with the project's settings (the grid
band of ``--settings``) as QML and SLD and writes them into the GeoPackage table
``layer_styles`` (:func:`beatgrid.gis.io.qgis_styles.write_layer_styles`), so QGIS
opens the layers styled. Idempotent: run it again after ``beatgrid coverage`` to style
the derived layers too; a user's own styles (other names) are kept.
"""

from __future__ import annotations

import argparse
from typing import Any

from beatgrid.api.commands._common import add_project, add_settings, print_table
from beatgrid.gis.errors import InputError
from beatgrid.gis.io.qgis_styles import STYLE_NAME, read_layer_styles, write_layer_styles
from beatgrid.gis.io.store import is_database_url
from beatgrid.gis.project import Project


def register(sub: Any) -> None:
    """Add ``beatgrid styles`` to the subcommands."""
    p = sub.add_parser(
        "styles", help="write QGIS styles (QML and SLD) of the layers into the project",
        description="Write the QGIS styles of the project's layers and derived layers "
                    "(grids by households within the band, beats by staffing severity, "
                    "camera views by quality level, blind spots, old estates by risk, "
                    "cameras with their direction) into the GeoPackage table layer_styles; "
                    "QGIS then opens the layers styled.")
    add_project(p)
    add_settings(p, name="grids")
    p.set_defaults(func=run_styles)


def run_styles(args: argparse.Namespace) -> int:
    """``beatgrid styles``: write the styles, then list them."""
    if is_database_url(args.project):
        raise InputError(f"project {args.project!r} is a database: styles are written into "
                         "GeoPackage projects",
                         fix="pull it into a file (beatgrid postgis pull) and style that")
    project = Project.open(args.project, grids=args.settings)
    with project.store.locked():
        changed = write_layer_styles(args.project, config=project.config)
    styles = read_layer_styles(args.project)
    ours = styles[styles["styleName"] == STYLE_NAME]
    print(f"{len(ours)} layer(s) styled in {args.project} "
          + (f"({len(changed)} written: {', '.join(changed)})" if changed
             else "(already current, nothing written)"))
    print_table(ours[["f_table_name", "useAsDefault", "description"]]
                .rename(columns={"f_table_name": "layer", "useAsDefault": "default"}))
    return 0
