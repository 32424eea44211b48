"""The layers of a coverage analysis in its metric CRS, converted and indexed once.

:func:`beatgrid.gis.coverage.analysis.analyse_coverage` builds one
:class:`MetricLayers` and passes it to the statistics per zone, the blind spots and the
old-estate ranking, so the buildings (their STRtree, points on surface, areas and
walls), the cameras and the zones are converted to the metric CRS and prepared once.

Examples
--------
>>> import geopandas as gpd, shapely
>>> from beatgrid.gis.coverage.inputs import MetricLayers
>>> b = gpd.GeoDataFrame({"households": [30]}, geometry=[shapely.box(0, 0, 10, 20)],
...                      crs=4547)
>>> m = MetricLayers(b.crs, buildings=b)
>>> m.barea.tolist(), m.bcolumn("households").tolist(), m.bcolumn("population_floating").tolist()
([200.0], [30], [0.0])
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import numpy as np
import pandas as pd
import shapely

from beatgrid.gis.coverage.zones import geometry_array
from beatgrid.gis.crs import require_crs

__all__ = ["MetricLayers", "in_metric"]


def in_metric(gdf: Any, crs: Any, layer: str) -> Any:
    """``gdf`` in the metric ``crs`` (None stays None; an empty frame just takes the CRS).

    Raises
    ------
    CRSError
        A layer without CRS (named ``layer``).

    Examples
    --------
    >>> import geopandas as gpd
    >>> in_metric(gpd.GeoDataFrame(geometry=[], crs=4490), 4547, "estates").crs.to_epsg()
    4547
    """
    if gdf is None:
        return None
    if gdf.crs is None:
        require_crs(gdf, layer=layer)
    return gdf.to_crs(crs) if len(gdf) else gdf.set_crs(crs, allow_override=True)


class MetricLayers:
    """Buildings, cameras, entrances, incidents and zones in one metric CRS, on demand.

    Each layer is converted the first time it is asked for, and kept.

    Parameters
    ----------
    crs
        The metric CRS of the analysis.
    buildings, cameras, entrances, incidents
        The layers (any CRS; None when not given).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> c = gpd.GeoDataFrame(geometry=[shapely.Point(1, 2)], crs=4547)
    >>> MetricLayers(c.crs, cameras=c).points("cameras")[0].x
    1.0
    """

    def __init__(self, crs: Any, *, buildings: Any = None, cameras: Any = None,
                 entrances: Any = None, incidents: Any = None) -> None:
        self.crs = crs
        self._src = {"buildings": buildings, "cameras": cameras, "entrances": entrances,
                     "incidents": incidents}
        self._cache: dict[Hashable, Any] = {}

    def _memo(self, key: Hashable, make: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def frame(self, name: str) -> Any:
        """The layer ``name`` in the metric CRS (None when not given)."""
        return self._memo(("frame", name), lambda: in_metric(self._src[name], self.crs, name))

    def points(self, name: str) -> np.ndarray:
        """The geometries of the layer ``name`` (empty when not given)."""
        return geometry_array(self.frame(name))

    def zones(self, ztype: str, zdf: pd.DataFrame) -> Any:
        """A zone layer in the metric CRS (cached per frame)."""
        return self._memo(("zones", ztype, id(zdf)),
                          lambda: (zdf, in_metric(zdf, self.crs, ztype)))[1]

    @property
    def bgeo(self) -> np.ndarray:
        """The building footprints."""
        return self._memo("bgeo", lambda: geometry_array(self.frame("buildings")))

    def bcolumn(self, col: str) -> np.ndarray:
        """A numeric building column (0 where missing; zeros when absent)."""
        def make() -> np.ndarray:
            bld = self.frame("buildings")
            if bld is None or col not in bld.columns or not len(bld):
                return np.zeros(len(self.bgeo))
            return pd.to_numeric(bld[col], errors="coerce").fillna(0).to_numpy()
        return self._memo(("bcol", col), make)

    @property
    def barea(self) -> np.ndarray:
        """The footprint area of each building."""
        return self._memo("barea", lambda: shapely.area(self.bgeo) if len(self.bgeo)
                          else np.zeros(0))

    @property
    def brep(self) -> np.ndarray:
        """A point on the surface of each building (which zone it belongs to)."""
        return self._memo("brep", lambda: shapely.point_on_surface(self.bgeo)
                          if len(self.bgeo) else np.zeros(0, dtype=object))

    @property
    def btree(self) -> shapely.STRtree:
        """An STRtree of the building footprints."""
        return self._memo("btree", lambda: shapely.STRtree(self.bgeo))

    @property
    def perimeter(self) -> np.ndarray:
        """Wall length of each building (every ring)."""
        return self._memo("perimeter", lambda: shapely.length(self.bgeo)
                          if len(self.bgeo) else np.zeros(0))
