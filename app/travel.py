"""Travel matrices for planning: the road network when one is configured, else the fallback.

Walking and cycling times are derived from the walking network's distances (or the
fallback's road distances) at typical speeds; car times come from the drive network.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

import geo
from app.planning import MatrixFn
from app.settings import Settings

WALK_SPEED_M_PER_S = 1.34  # 3 mph
BIKE_SPEED_M_PER_S = 4.5  # 10 mph, town cycling


@lru_cache(maxsize=4)
def _network(path: str, mode: str) -> geo.RoadNetwork:
    return geo.load_network(path, mode=mode)  # type: ignore[arg-type]


def _by_speed(distance_m: npt.NDArray[np.integer], speed_m_per_s: float) -> npt.NDArray[np.int64]:
    return np.rint(distance_m / speed_m_per_s).astype(np.int64)


def matrices_for(settings: Settings) -> MatrixFn:
    """A function from points to (travel_s, distance_m) per mode: car, walk, bike."""
    network_path = settings.road_network_path
    cache_dir = settings.work_dir / "cache" / "travel"

    def from_network(lat: npt.NDArray[np.float64], lon: npt.NDArray[np.float64]):  # type: ignore[no-untyped-def]
        assert network_path is not None
        drive = geo.travel_matrix(
            _network(str(network_path), "drive"), lat, lon, cache_dir=cache_dir
        )
        walk = geo.travel_matrix(_network(str(network_path), "walk"), lat, lon, cache_dir=cache_dir)
        car_m = drive.distance_m.astype(np.int64)
        walk_m = walk.distance_m.astype(np.int64)
        return (
            (
                drive.travel_s.astype(np.int64),
                walk.travel_s.astype(np.int64),
                _by_speed(walk_m, BIKE_SPEED_M_PER_S),
            ),
            (car_m, walk_m, walk_m),
        )

    def from_fallback(lat: npt.NDArray[np.float64], lon: npt.NDArray[np.float64]):  # type: ignore[no-untyped-def]
        car = geo.fallback_travel_matrix(lat, lon)
        road_m = car.distance_m.astype(np.int64)
        return (
            (
                car.travel_s.astype(np.int64),
                _by_speed(road_m, WALK_SPEED_M_PER_S),
                _by_speed(road_m, BIKE_SPEED_M_PER_S),
            ),
            (road_m, road_m, road_m),
        )

    if network_path is not None and Path(network_path).exists():
        return from_network
    return from_fallback
