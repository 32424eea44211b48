"""A synthetic country generated tile by tile: buildings and cameras for national-scale runs.

A national benchmark (70,000 cameras among 14,000,000 buildings) cannot be written to a
project file on a small machine in minutes, and need not be: a tiled run only ever
holds one tile and its halo. :class:`SyntheticCountry` is a plane of 1 km *cells*
(metric coordinates, EPSG:4547 by default), each with a fixed number of buildings and
cameras drawn once for the whole country (a few hundred kB of counts: the totals are
exact). The buildings and cameras of a cell are generated from a random generator
seeded by the country's seed and the cell, so any worker regenerates exactly the same
cell: a tile generates its own cells and, for its halo, the ring of neighbouring cells,
and keeps the buildings within the halo.

Layout of a cell of ``n`` buildings: a lattice of ``k x k`` lots (``k`` the smallest
with ``k^2 >= lot_slack x n``) of which ``n`` hold one rotated rectangular footprint
(45-70 % of the lot side, +-12 degrees, jittered); the gaps are the streets. Cameras
stand at lot corners (street crossings, a little jittered), looking in a random
direction (15 % are 360-degree domes), 3-8 m high, ranges 15-90 m as in the sample
district. Cells are inhabited with probability ``inhabited``; the weight of an
inhabited cell is log-normal (towns and cities), capped at ``max_per_cell`` buildings;
cameras go preferably to dense cells (weight ``buildings ^ camera_urban_bias``).

Examples
--------
>>> c = SyntheticCountry.create(buildings=20_000, cameras=100, seed=1)
>>> int(c.building_counts.sum()), int(c.camera_counts.sum())
(20000, 100)
>>> everywhere = c.cells_in(c.bounds)
>>> bld, cams = c.buildings(everywhere), c.cameras(everywhere)
>>> len(bld), len(cams), bld.crs.to_epsg()
(20000, 100, 4547)
>>> bool(shapely.intersects(cams.geometry.values, shapely.union_all(bld.geometry.values)).any())
False
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from beatgrid.gis.errors import InputError

__all__ = ["SyntheticCountry", "NATIONAL_BUILDINGS", "NATIONAL_CAMERAS"]

#: The national case of issue 14.
NATIONAL_BUILDINGS = 14_000_000
NATIONAL_CAMERAS = 70_000
#: Offsets of the country's origin in the metric CRS (false easting, a northing in China).
_X0, _Y0 = 300_000.0, 3_000_000.0


@dataclass(frozen=True)
class SyntheticCountry:
    """Counts of buildings and cameras per 1 km cell; the features are generated per cell.

    Use :meth:`create`. Attributes: ``building_counts`` and ``camera_counts`` are
    ``(rows, cols)`` arrays; ``cell_m`` the cell side; ``seed``; ``crs`` an EPSG code.
    """

    building_counts: np.ndarray
    camera_counts: np.ndarray
    seed: int
    cell_m: float = 1000.0
    crs: int = 4547
    lot_slack: float = 1.25
    #: The longest camera range generated (metres).
    max_range_m: float = 90.0

    @classmethod
    def create(cls, *, buildings: int = NATIONAL_BUILDINGS, cameras: int = NATIONAL_CAMERAS,
               seed: int = 0, side_cells: int | None = None, inhabited: float = 0.35,
               max_per_cell: int = 4000, camera_urban_bias: float = 1.3) -> SyntheticCountry:
        """Draw the counts of a country of ``buildings`` and ``cameras`` (exact totals).

        ``side_cells`` is the side of the square country in cells (default: an average
        of ~400 buildings per inhabited cell).

        Raises
        ------
        InputError
            Fewer than one building, negative cameras, or more buildings than the
            cells can hold.

        Examples
        --------
        >>> c = SyntheticCountry.create(buildings=5_000, cameras=10, seed=0)
        >>> c.building_counts.shape, int(c.building_counts.max()) <= 4000
        ((6, 6), True)
        """
        if buildings < 1 or cameras < 0:
            raise InputError(f"buildings={buildings!r}, cameras={cameras!r}: need at least one "
                             "building and no negative camera count",
                             fix="give e.g. buildings=14_000_000, cameras=70_000")
        side = side_cells or max(2, math.ceil(math.sqrt(buildings / (400 * inhabited))))
        rng = np.random.default_rng([int(seed), 0])
        live = rng.random((side, side)) < inhabited
        live.flat[rng.integers(side * side)] = True
        weight = np.where(live, rng.lognormal(0.0, 1.2, (side, side)), 0.0)
        if live.sum() * max_per_cell < buildings:
            raise InputError(f"{buildings:,} buildings do not fit {int(live.sum()):,} inhabited "
                             f"cells of at most {max_per_cell:,}",
                             fix="give a larger side_cells or max_per_cell")
        counts = _capped_multinomial(rng, buildings, weight, max_per_cell)
        cam_w = counts.astype(float) ** camera_urban_bias
        cams = rng.multinomial(int(cameras), (cam_w / cam_w.sum()).ravel()).reshape(counts.shape)
        return cls(building_counts=counts, camera_counts=cams, seed=int(seed))

    @property
    def width_m(self) -> float:
        """East-west extent (metres)."""
        return float(self.building_counts.shape[1] * self.cell_m)

    @property
    def height_m(self) -> float:
        """North-south extent (metres)."""
        return float(self.building_counts.shape[0] * self.cell_m)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """The country's extent in :attr:`crs` (x0, y0, x1, y1)."""
        return (_X0, _Y0, _X0 + self.width_m, _Y0 + self.height_m)

    def cells_in(self, box: tuple[float, float, float, float]) -> np.ndarray:
        """``(row, col)`` of the cells touching ``box`` (coordinates of :attr:`crs`).

        Examples
        --------
        >>> c = SyntheticCountry.create(buildings=5_000, cameras=10)
        >>> x0, y0, x1, y1 = c.bounds
        >>> c.cells_in((x0 + 500, y0 + 500, x0 + 1500, y0 + 900)).tolist()
        [[0, 0], [0, 1]]
        """
        rows, cols = self.building_counts.shape
        c0 = max(0, math.floor((box[0] - _X0) / self.cell_m))
        r0 = max(0, math.floor((box[1] - _Y0) / self.cell_m))
        c1 = min(cols - 1, math.ceil((box[2] - _X0) / self.cell_m) - 1)
        r1 = min(rows - 1, math.ceil((box[3] - _Y0) / self.cell_m) - 1)
        rr, cc = np.meshgrid(np.arange(r0, r1 + 1), np.arange(c0, c1 + 1), indexing="ij")
        return np.column_stack([rr.ravel(), cc.ravel()]).astype(np.int64)

    def _lattice(self, row: int, col: int) -> tuple[np.random.Generator, int, float]:
        n = int(self.building_counts[row, col])
        k = max(1, math.ceil(math.sqrt(self.lot_slack * max(n, 1))))
        rng = np.random.default_rng([self.seed, 1, int(row), int(col)])
        return rng, k, self.cell_m / k

    def buildings(self, cells: np.ndarray) -> gpd.GeoDataFrame:
        """The building footprints of ``cells`` (``id``, ``households`` and the polygon).

        The same cell gives the same buildings whichever tile asks for it.
        """
        coords, ids, hh = [], [], []
        for row, col in np.asarray(cells, dtype=np.int64).reshape(-1, 2):
            n = int(self.building_counts[row, col])
            if n == 0:
                continue
            rng, k, lot = self._lattice(row, col)
            pick = rng.choice(k * k, size=n, replace=False)
            cx = (pick % k + 0.5 + rng.uniform(-0.1, 0.1, n)) * lot + col * self.cell_m
            cy = (pick // k + 0.5 + rng.uniform(-0.1, 0.1, n)) * lot + row * self.cell_m
            w = rng.uniform(0.45, 0.7, n) * lot / 2
            h = rng.uniform(0.45, 0.7, n) * lot / 2
            ang = np.radians(rng.uniform(-12.0, 12.0, n))
            ux = np.array([-1, 1, 1, -1, -1], dtype=float)
            uy = np.array([-1, -1, 1, 1, -1], dtype=float)
            dx, dy = ux[None, :] * w[:, None], uy[None, :] * h[:, None]
            cos, sin = np.cos(ang)[:, None], np.sin(ang)[:, None]
            coords.append(np.stack([cx[:, None] + dx * cos - dy * sin + _X0,
                                    cy[:, None] + dx * sin + dy * cos + _Y0], axis=-1))
            ids.append(np.char.add(f"B{row}_{col}_", np.arange(n).astype(str)))
            hh.append(rng.integers(1, 60, n))
        if not coords:
            return gpd.GeoDataFrame({"id": pd.Series([], dtype=object),
                                     "households": pd.Series([], dtype=np.int64)},
                                    geometry=gpd.GeoSeries([], crs=self.crs), crs=self.crs)
        geoms = shapely.polygons(np.concatenate(coords))
        return gpd.GeoDataFrame({"id": np.concatenate(ids).astype(object),
                                 "households": np.concatenate(hh)},
                                geometry=gpd.GeoSeries(geoms, crs=self.crs), crs=self.crs)

    def cameras(self, cells: np.ndarray) -> gpd.GeoDataFrame:
        """The cameras of ``cells``: the ``cameras`` layer's view columns and the point."""
        parts: list[dict[str, Any]] = []
        for row, col in np.asarray(cells, dtype=np.int64).reshape(-1, 2):
            m = int(self.camera_counts[row, col])
            if m == 0:
                continue
            _, k, lot = self._lattice(row, col)
            rng = np.random.default_rng([self.seed, 2, int(row), int(col)])
            i, j = rng.integers(0, k + 1, m), rng.integers(0, k + 1, m)
            dome = rng.random(m) < 0.15
            parts.append({
                "id": np.char.add(f"C{row}_{col}_", np.arange(m).astype(str)).astype(object),
                "direction": np.where(dome, np.nan, rng.uniform(0.0, 360.0, m)),
                "fov_deg": np.where(dome, 360.0, rng.uniform(40.0, 110.0, m)),
                "range_m": rng.uniform(15.0, self.max_range_m, m),
                "height_m": rng.uniform(3.0, 8.0, m),
                "tilt_deg": rng.uniform(5.0, 25.0, m),
                "x": (i + rng.uniform(-0.04, 0.04, m)) * lot + col * self.cell_m + _X0,
                "y": (j + rng.uniform(-0.04, 0.04, m)) * lot + row * self.cell_m + _Y0})
        frame = pd.DataFrame({k: np.concatenate([p[k] for p in parts]) for k in parts[0]}) \
            if parts else pd.DataFrame({k: pd.Series([], dtype=float) for k in (
                "id", "direction", "fov_deg", "range_m", "height_m", "tilt_deg", "x", "y")})
        pts = shapely.points(frame.pop("x").to_numpy(float), frame.pop("y").to_numpy(float))
        return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(pts, crs=self.crs), crs=self.crs)


def _capped_multinomial(rng: np.random.Generator, total: int, weight: np.ndarray,
                        cap: int) -> np.ndarray:
    """``total`` items over cells in proportion to ``weight``, no cell above ``cap``."""
    counts = np.zeros(weight.shape, dtype=np.int64)
    left = int(total)
    w = weight.astype(float).copy()
    while left > 0:
        w[counts >= cap] = 0.0
        draw = rng.multinomial(left, (w / w.sum()).ravel()).reshape(w.shape)
        counts = np.minimum(counts + draw, cap)
        left = int(total - counts.sum())
    return counts
