"""Straight-line travel estimate used by the audit until a road network is wired in.

The audit takes any function with this signature, so ``app`` can swap in road travel times
from ``geo`` without ``data`` importing it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

EARTH_RADIUS_M = 6_371_008.8

FloatArray = npt.NDArray[np.float64]
# (lat_from, lon_from, lat_to, lon_to) in degrees -> travel seconds, element-wise.
TravelEstimate = Callable[[FloatArray, FloatArray, FloatArray, FloatArray], FloatArray]


def haversine_m(
    lat1: FloatArray, lon1: FloatArray, lat2: FloatArray, lon2: FloatArray
) -> FloatArray:
    """Great-circle distance in metres, element-wise over arrays of degrees."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def straight_line_travel(*, circuity: float = 1.3, speed_m_per_s: float = 13.4) -> TravelEstimate:
    """Travel seconds = great-circle metres × circuity ÷ speed (defaults: 30 mph, 1.3 circuity)."""
    if circuity < 1 or speed_m_per_s <= 0:
        raise ValueError("Expected circuity >= 1 and speed_m_per_s > 0.")

    def travel_s(
        lat1: FloatArray, lon1: FloatArray, lat2: FloatArray, lon2: FloatArray
    ) -> FloatArray:
        return haversine_m(lat1, lon1, lat2, lon2) * circuity / speed_m_per_s

    return travel_s
