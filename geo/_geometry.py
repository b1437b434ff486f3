"""Vectorised great-circle distances and a local metric projection."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

EARTH_RADIUS_M = 6_371_008.8

FloatArray = npt.NDArray[np.float64]


def haversine_m(
    lat1: npt.ArrayLike, lon1: npt.ArrayLike, lat2: npt.ArrayLike, lon2: npt.ArrayLike
) -> FloatArray:
    """Great-circle distance in metres, element-wise (broadcasting) over degrees."""
    p1 = np.radians(np.asarray(lat1, dtype=np.float64))
    p2 = np.radians(np.asarray(lat2, dtype=np.float64))
    dl = np.radians(np.asarray(lon2, dtype=np.float64) - np.asarray(lon1, dtype=np.float64))
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def pairwise_haversine_m(lat: FloatArray, lon: FloatArray) -> FloatArray:
    """Square matrix of great-circle metres between every pair of points."""
    return haversine_m(lat[:, None], lon[:, None], lat[None, :], lon[None, :])


class LocalProjection:
    """Equirectangular projection to metres about a reference point.

    Accurate to well under 1% across a county (tens of kilometres), which is ample for
    snapping and grid cells; distances that matter use ``haversine_m``.
    """

    def __init__(self, lat0: float, lon0: float) -> None:
        self.lat0 = float(lat0)
        self.lon0 = float(lon0)
        self._kx = EARTH_RADIUS_M * np.cos(np.radians(self.lat0)) * np.pi / 180.0
        self._ky = EARTH_RADIUS_M * np.pi / 180.0

    def to_xy(self, lat: npt.ArrayLike, lon: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Project degrees to (x, y) metres east and north of the reference point."""
        x = (np.asarray(lon, dtype=np.float64) - self.lon0) * self._kx
        y = (np.asarray(lat, dtype=np.float64) - self.lat0) * self._ky
        return x, y

    def to_latlon(self, x: npt.ArrayLike, y: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Inverse of ``to_xy``: metres back to (lat, lon) degrees."""
        lat = np.asarray(y, dtype=np.float64) / self._ky + self.lat0
        lon = np.asarray(x, dtype=np.float64) / self._kx + self.lon0
        return lat, lon
