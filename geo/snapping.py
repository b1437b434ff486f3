"""Snap points to the nearest road segment, keeping the off-network leg."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from geo._geometry import haversine_m
from geo.errors import OutsideNetworkError
from geo.network import RoadNetwork

DEFAULT_MAX_OFFSET_M = 2_000.0
_SHOW_ROWS = 10


@dataclass(frozen=True, eq=False)
class Snapped:
    """Where each point joins the network and what it costs to get there.

    A point reaches the road at ``snap_lat/snap_lon`` (its perpendicular foot on the nearest
    segment) after ``offset_m`` off the network at the off-network speed, then runs
    ``along_m`` along that segment to its nearer end, node ``node``.

    Attributes
    ----------
    node
        Node index into the network's arrays, per point (int64).
    snap_lat, snap_lon
        Point on the network nearest to each input point, degrees.
    offset_m
        Straight-line off-network leg, metres.
    along_m
        Distance along the segment from the snap point to ``node``, metres.
    access_s
        Seconds for the whole leg point -> node (and node -> point), at the off-network speed
        then at the segment's speed.
    segment
        Index of the nearest segment (into ``network.seg_u`` etc.).
    """

    node: npt.NDArray[np.int64]
    snap_lat: npt.NDArray[np.float64]
    snap_lon: npt.NDArray[np.float64]
    offset_m: npt.NDArray[np.float64]
    along_m: npt.NDArray[np.float64]
    access_s: npt.NDArray[np.float64]
    segment: npt.NDArray[np.int64]

    @property
    def access_m(self) -> npt.NDArray[np.float64]:
        """Metres from each point to its node: off-network leg plus the run along the road."""
        return self.offset_m + self.along_m


def as_coordinates(
    lat: npt.ArrayLike, lon: npt.ArrayLike
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Validate latitude/longitude arrays (same length, finite, in range) and return float64.

    Raises
    ------
    ValueError
        Naming the first offending rows (0-based positions).
    """
    lat_a = np.asarray(lat, dtype=np.float64).ravel()
    lon_a = np.asarray(lon, dtype=np.float64).ravel()
    if lat_a.shape != lon_a.shape:
        raise ValueError(
            f"Expected lat and lon of equal length, got {lat_a.size} and {lon_a.size}."
        )
    bad = ~(
        np.isfinite(lat_a) & np.isfinite(lon_a) & (np.abs(lat_a) <= 90) & (np.abs(lon_a) <= 180)
    )
    if bad.any():
        rows = np.flatnonzero(bad)
        shown = ", ".join(f"row {i} ({lat_a[i]}, {lon_a[i]})" for i in rows[:_SHOW_ROWS])
        raise ValueError(
            f"Expected finite lat in [-90, 90] and lon in [-180, 180]; {rows.size} bad: {shown}."
        )
    return lat_a, lon_a


def snap_points(
    network: RoadNetwork,
    lat: npt.ArrayLike,
    lon: npt.ArrayLike,
    *,
    max_offset_m: float = DEFAULT_MAX_OFFSET_M,
    offnet_speed_m_per_s: float | None = None,
) -> Snapped:
    """Snap points to their nearest road segment.

    Parameters
    ----------
    network
        The road network.
    lat, lon
        Point positions, degrees (WGS84), equal-length 1-D arrays.
    max_offset_m
        Largest allowed off-network leg, metres; points farther from any road are outside
        the network's area.
    offnet_speed_m_per_s
        Speed of the off-network leg, m/s; defaults to the profile's for the network's mode
        (walking pace for walk, a slow crawl/park/walk for drive).

    Returns
    -------
    Snapped
        One entry per point, in input order.

    Raises
    ------
    OutsideNetworkError
        Some points are more than ``max_offset_m`` from the network; the message names them
        (0-based row, lat, lon, distance).
    ValueError
        Coordinates are missing, non-finite or out of range.
    """
    import shapely

    lat_a, lon_a = as_coordinates(lat, lon)
    speed = offnet_speed_m_per_s or network.profile.offnet_speed_m_per_s(network.mode)
    if speed <= 0 or max_offset_m <= 0:
        raise ValueError("Expected offnet_speed_m_per_s > 0 and max_offset_m > 0.")
    if lat_a.size == 0:
        empty_f = np.zeros(0, dtype=np.float64)
        empty_i = np.zeros(0, dtype=np.int64)
        return Snapped(empty_i, empty_f, empty_f, empty_f, empty_f, empty_f, empty_i)

    proj = network.projection
    px, py = proj.to_xy(lat_a, lon_a)
    tree = network.segment_tree
    (query, found), _dist = tree.query_nearest(
        shapely.points(px, py), return_distance=True, all_matches=False
    )
    seg = np.empty(lat_a.size, dtype=np.int64)
    seg[query] = found  # one match per point (ties broken arbitrarily), placed by input row
    a, b = network.seg_u[seg], network.seg_v[seg]
    nx, ny = proj.to_xy(network.lat, network.lon)
    ax, ay, bx, by = nx[a], ny[a], nx[b], ny[b]
    dx, dy = bx - ax, by - ay
    len2 = dx * dx + dy * dy
    t = np.clip(((px - ax) * dx + (py - ay) * dy) / np.where(len2 > 0, len2, 1.0), 0.0, 1.0)
    snap_lat, snap_lon = proj.to_latlon(ax + t * dx, ay + t * dy)
    offset_m = haversine_m(lat_a, lon_a, snap_lat, snap_lon)

    far = offset_m > max_offset_m
    if far.any():
        rows = np.flatnonzero(far)
        lo_lat, lo_lon, hi_lat, hi_lon = network.bounds
        shown = ", ".join(
            f"row {i} ({lat_a[i]:.6f}, {lon_a[i]:.6f}) is {offset_m[i]:,.0f} m away"
            for i in rows[:_SHOW_ROWS]
        )
        raise OutsideNetworkError(
            f"{rows.size} of {lat_a.size} points lie more than {max_offset_m:,.0f} m from the "
            f"{network.mode} network {network.source} (nodes within lat {lo_lat:.4f}..{hi_lat:.4f}, "
            f"lon {lo_lon:.4f}..{hi_lon:.4f}): {shown}"
        )

    seg_len = network.seg_length_m[seg]
    use_b = t > 0.5
    node = np.where(use_b, b, a)
    along_m = np.where(use_b, 1.0 - t, t) * seg_len
    seg_speed = seg_len / network.seg_travel_s[seg]
    access_s = offset_m / speed + along_m / seg_speed
    return Snapped(
        node=node,
        snap_lat=snap_lat,
        snap_lon=snap_lon,
        offset_m=offset_m,
        along_m=along_m,
        access_s=access_s,
        segment=seg,
    )
