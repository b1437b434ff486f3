"""Snapping points to the road network (geo/snapping.py)."""

from __future__ import annotations

import numpy as np
import pytest

from geo import OutsideNetworkError, RoadNetwork, snap_points
from geo._geometry import haversine_m


def _random_points(network: RoadNetwork, n: int, seed: int, jitter_deg: float = 0.002):
    rng = np.random.default_rng(seed)
    node = rng.choice(network.n_nodes, size=n, replace=False)
    return (
        network.lat[node] + rng.uniform(-jitter_deg, jitter_deg, n),
        network.lon[node] + rng.uniform(-jitter_deg, jitter_deg, n),
    )


def test_snap_points_lie_on_their_segment(rutland_drive: RoadNetwork) -> None:
    """Each snap point sits on its segment, between the segment's two ends."""
    lat, lon = _random_points(rutland_drive, 500, seed=1)
    snapped = snap_points(rutland_drive, lat, lon)
    a, b = rutland_drive.seg_u[snapped.segment], rutland_drive.seg_v[snapped.segment]
    via = haversine_m(
        rutland_drive.lat[a], rutland_drive.lon[a], snapped.snap_lat, snapped.snap_lon
    ) + haversine_m(snapped.snap_lat, snapped.snap_lon, rutland_drive.lat[b], rutland_drive.lon[b])
    assert np.abs(via - rutland_drive.seg_length_m[snapped.segment]).max() < 0.5
    assert np.isin(snapped.node, np.stack([a, b])).all()
    assert ((snapped.node == a) | (snapped.node == b)).all()


def test_snap_is_nearest_road(rutland_drive: RoadNetwork) -> None:
    """No network node is closer to a point than its snap point (the snap is a true nearest)."""
    lat, lon = _random_points(rutland_drive, 200, seed=2)
    snapped = snap_points(rutland_drive, lat, lon)
    to_nodes = haversine_m(
        lat[:, None], lon[:, None], rutland_drive.lat[None, :], rutland_drive.lon[None, :]
    )
    assert (snapped.offset_m <= to_nodes.min(axis=1) + 0.5).all()
    assert np.allclose(snapped.offset_m, haversine_m(lat, lon, snapped.snap_lat, snapped.snap_lon))


def test_point_on_a_node_has_no_leg(rutland_drive: RoadNetwork) -> None:
    """A point exactly at a node snaps to it with zero off-network and along-road metres."""
    i = 1234
    snapped = snap_points(rutland_drive, [rutland_drive.lat[i]], [rutland_drive.lon[i]])
    assert snapped.offset_m[0] < 0.5 and snapped.along_m[0] < 0.5
    assert (
        haversine_m(
            rutland_drive.lat[snapped.node[0]],
            rutland_drive.lon[snapped.node[0]],
            rutland_drive.lat[i],
            rutland_drive.lon[i],
        )
        < 0.5
    )


def test_access_time_uses_offnet_speed(tiny_town_drive: RoadNetwork) -> None:
    """The off-network leg is timed at the off-network speed given."""
    lat, lon = [52.6705], [-0.7290]  # about 56 m north of High Street, mid-segment
    slow = snap_points(tiny_town_drive, lat, lon, offnet_speed_m_per_s=1.0)
    fast = snap_points(tiny_town_drive, lat, lon, offnet_speed_m_per_s=2.0)
    assert slow.offset_m[0] == pytest.approx(55.6, abs=0.5)
    assert slow.access_s[0] - fast.access_s[0] == pytest.approx(slow.offset_m[0] / 2.0)


def test_points_outside_network_are_named(rutland_drive: RoadNetwork) -> None:
    """Points in Cambridge (far outside Rutland) raise OutsideNetworkError naming rows and file."""
    lat = [52.67, 52.2053, 52.60, 52.2000]
    lon = [-0.73, 0.1218, -0.70, 0.1300]
    with pytest.raises(
        OutsideNetworkError, match=r"2 of 4 points.*row 1 \(52\.205300.*row 3"
    ) as info:
        snap_points(rutland_drive, lat, lon)
    assert "rutland-latest.osm.pbf" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_bad_coordinates_are_named(tiny_town_drive: RoadNetwork) -> None:
    """NaN or out-of-range coordinates raise ValueError naming the row."""
    with pytest.raises(ValueError, match=r"row 1 \(nan"):
        snap_points(tiny_town_drive, [52.67, np.nan], [-0.73, -0.73])
    with pytest.raises(ValueError, match="row 0"):
        snap_points(tiny_town_drive, [152.0], [-0.73])
    with pytest.raises(ValueError, match="equal length"):
        snap_points(tiny_town_drive, [52.67, 52.68], [-0.73])


def test_no_points(tiny_town_drive: RoadNetwork) -> None:
    """An empty input snaps to an empty result."""
    assert snap_points(tiny_town_drive, [], []).node.size == 0
