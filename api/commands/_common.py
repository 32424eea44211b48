"""Shared argument helpers and renderers for the subcommands."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd


def add_project(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    """``--project P.gpkg``: the BeatGrid project file."""
    parser.add_argument("--project", "-p", required=required, metavar="P.gpkg",
                        help="the BeatGrid project (GeoPackage)")


def add_map(parser: argparse.ArgumentParser) -> None:
    """``--map FILE.html``: write an offline folium map."""
    parser.add_argument("--map", metavar="FILE.html", help="also write an offline HTML map")


def add_settings(parser: argparse.ArgumentParser, *, name: str = "settings") -> None:
    """``--settings FILE.toml``: override shipped defaults."""
    parser.add_argument("--settings", metavar="FILE.toml",
                        help=f"override the shipped {name} defaults with this TOML file")


def print_table(df: pd.DataFrame, *, max_rows: int = 60, floatfmt: str = "{:,.3f}") -> None:
    """Print a DataFrame as a plain aligned table."""
    with pd.option_context("display.max_rows", max_rows, "display.max_columns", 50,
                           "display.width", 160, "display.float_format", floatfmt.format):
        print(df.to_string(index=False) if len(df) else "(none)")


def ensure_parent(path: str | Path) -> Path:
    """Create the parent directory of an output path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path
