"""Offline map of a basic-grid plan: grids coloured by households, violations marked.

Built on :mod:`beatgrid.layers.base` (self-contained HTML, no tiles unless asked).
Layers: community boundaries, grids (green in the band, blue below, red above; tooltip
with id, code, households, reason), and the violations (outlined in red: the grid for a
grid-level violation, the gap / overlap / cut area where it has one).

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from beatgrid.gis import Project
>>> project = Project.open("sample-geodata/ningbo-jiangbei.gpkg")
>>> plan = project.grids.generate(communities=["C05"])
>>> path = save_grids_map(Path(tempfile.mkdtemp()) / "grids.html", plan.grids,
...                       minimum=plan.band.lo, maximum=plan.band.hi,
...                       violations=plan.violations, title="C05")
>>> "Households per grid" in path.read_text(encoding="utf-8")
True
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import pandas as pd

from beatgrid.layers import base, style

VIOLATION_COLOR = "#d7191c"


def grids_map(grids: gpd.GeoDataFrame, *, minimum: float, maximum: float,
              communities: gpd.GeoDataFrame | None = None,
              violations: pd.DataFrame | None = None, title: str | None = None,
              tiles: str | None = None) -> folium.Map:
    """A folium map of the grids.

    Parameters
    ----------
    grids
        The grids layer (``id``, ``households``, polygons; ``code`` and ``reason``
        shown when present).
    minimum, maximum
        The household band (colours and legend).
    communities
        Community boundaries, drawn as outlines.
    violations
        Output of :func:`beatgrid.gis.grids.checks.check_grids`; grids with a violation
        are outlined in red and listed in their tooltip.
    title
        Map title.
    tiles
        Basemap (default none: the file works offline).

    Returns
    -------
    folium.Map

    Examples
    --------
    >>> import shapely
    >>> g = gpd.GeoDataFrame({"id": ["a"], "households": [420]},
    ...                      geometry=[shapely.box(121.5, 29.8, 121.51, 29.81)], crs=4490)
    >>> html = base.map_html(grids_map(g, minimum=300, maximum=500))
    >>> "420" in html
    True
    """
    g = grids.copy()
    g["color"] = style.household_shade(g["households"].astype(float).tolist(),
                                       minimum=minimum, maximum=maximum)
    if violations is not None and len(violations):
        per = violations.dropna(subset=["grid_id"]).groupby("grid_id")["kind"].apply(
            lambda s: ", ".join(sorted(set(s))))
        g["violations"] = g["id"].map(per).fillna("")
    else:
        g["violations"] = ""
    for col in ("code", "reason"):
        if col not in g.columns:
            g[col] = ""
    extent = g if len(g) else communities
    m = base.base_map(extent, title=title or "Basic grids", tiles=tiles)
    if communities is not None and len(communities):
        base.add_layer(m, communities, name="Communities", color="#333333", fill_opacity=0.0,
                       weight=2.5, tooltip_columns={"id": "Community"}, highlight=False)
    base.add_layer(m, g, name="Grids", color_column="color", tooltip_columns={
        "id": "Grid", "code": "Code", "households": "Households", "reason": "Reason",
        "violations": "Violations"})
    bad = g[g["violations"] != ""]
    if len(bad):
        base.add_layer(m, bad, name="Grids with violations", color=VIOLATION_COLOR,
                       fill_opacity=0.0, weight=4, tooltip_columns={
                           "id": "Grid", "violations": "Violations"})
    base.add_legend(m, "Households per grid", style.household_shade_legend(
        minimum=minimum, maximum=maximum) + [("violation (outline)", VIOLATION_COLOR)])
    return m


def save_grids_map(path: str | Path, grids: gpd.GeoDataFrame, **kwargs: Any) -> Path:
    """:func:`grids_map` written to ``path`` (offline HTML); returns the path.

    Parameters
    ----------
    path
        The HTML file.
    grids
        The grids layer.
    **kwargs
        Options of :func:`grids_map` (``minimum`` and ``maximum`` are required).
    """
    return base.save_map(grids_map(grids, **kwargs), path)
