"""Travel time and distance matrices over the network (geo/matrix.py)."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest

from geo import OutsideNetworkError, RoadNetwork, TravelMatrix, pair_travel, travel_matrix
from geo._geometry import pairwise_haversine_m

OAKHAM = (52.6707, -0.7275)
UPPINGHAM = (52.5886, -0.7235)


def _points(network: RoadNetwork, n: int, seed: int):
    rng = np.random.default_rng(seed)
    node = rng.choice(network.n_nodes, size=n, replace=False)
    return (
        network.lat[node] + rng.normal(0, 0.0005, n),
        network.lon[node] + rng.normal(0, 0.0005, n),
    )


@pytest.fixture(scope="module")
def rutland_300(rutland_drive: RoadNetwork) -> tuple[np.ndarray, np.ndarray, TravelMatrix]:
    """300 points scattered over Rutland's roads and their car matrix."""
    lat, lon = _points(rutland_drive, 300, seed=7)
    return lat, lon, travel_matrix(rutland_drive, lat, lon)


def test_oakham_to_uppingham_by_car(rutland_drive: RoadNetwork) -> None:
    """Oakham to Uppingham market places takes 10-15 minutes over 9-12 km by car."""
    m = travel_matrix(rutland_drive, [OAKHAM[0], UPPINGHAM[0]], [OAKHAM[1], UPPINGHAM[1]])
    assert 10 * 60 <= m.travel_s[0, 1] <= 15 * 60
    assert 10 * 60 <= m.travel_s[1, 0] <= 15 * 60
    assert 9_000 <= m.distance_m[0, 1] <= 12_000


def test_walking_is_slower_and_symmetric(rutland_walk: RoadNetwork) -> None:
    """On foot (all ways two-way) the matrix is symmetric within rounding and ~walking pace."""
    lat, lon = _points(rutland_walk, 150, seed=3)
    m = travel_matrix(rutland_walk, lat, lon)
    t = m.travel_s.astype(np.int64)
    assert np.abs(t - t.T).max() <= 1
    off = ~np.eye(len(lat), dtype=bool)
    speed = m.distance_m[off] / np.maximum(t[off], 1)
    assert np.median(speed) == pytest.approx(1.33, rel=0.05)


def test_two_way_streets_give_symmetric_times(tiny_town_drive: RoadNetwork) -> None:
    """By car, trips on two-way High Street/Mill Lane are symmetric; via one-way Church Street not."""
    # Near node 1 (High Street west end), node 5 (Mill Lane north end), node 6 (Church Street).
    m = travel_matrix(tiny_town_drive, [52.6701, 52.6719, 52.6709], [-0.7299, -0.7281, -0.7262])
    t = m.travel_s
    assert abs(int(t[0, 1]) - int(t[1, 0])) <= 1
    assert t[1, 2] > t[2, 1] + 10  # 5 -> 6 must go round by High Street and Church Street


def test_triangle_inequality(rutland_300) -> None:
    """No trip is beaten by a detour through a third point (within 1 s of rounding)."""
    _, _, m = rutland_300
    # Time only: distance_m follows the fastest route, and a slower detour may be shorter.
    t = m.travel_s.astype(np.int64)
    worst = max(int((t - (t[:, k, None] + t[None, k, :])).max()) for k in range(t.shape[0]))
    assert worst <= 1


def test_diagonal_zero_and_road_longer_than_crow(rutland_300) -> None:
    """A point to itself costs nothing; road metres are never shorter than the straight line."""
    lat, lon, m = rutland_300
    assert (np.diag(m.travel_s) == 0).all() and (np.diag(m.distance_m) == 0).all()
    crow = pairwise_haversine_m(lat, lon)
    assert (m.distance_m >= crow - 1).all()
    assert m.travel_s.dtype == np.int32 and m.distance_m.dtype == np.int32


def test_matches_networkx_dijkstra(rutland_drive: RoadNetwork, rutland_300) -> None:
    """Node-to-node times agree with networkx's Dijkstra on the same graph (independent check)."""
    _, _, m = rutland_300
    assert m.snapped is not None
    coo = rutland_drive.travel_s.tocoo()
    graph = nx.DiGraph()
    graph.add_weighted_edges_from(
        zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=True)
    )
    rng = np.random.default_rng(11)
    for i, j in rng.integers(0, 300, size=(8, 2)):
        if i == j:
            continue
        path_s = nx.dijkstra_path_length(graph, int(m.snapped.node[i]), int(m.snapped.node[j]))
        expected = path_s + m.snapped.access_s[i] + m.snapped.access_s[j]
        # Edge times are rounded to whole milliseconds inside the Dijkstra.
        assert m.travel_s[i, j] == pytest.approx(expected, abs=1.0)


def test_distance_is_along_the_fastest_route(rutland_drive: RoadNetwork, rutland_300) -> None:
    """distance_m is the length of the fastest path, which is at least the shortest path."""
    _, _, m = rutland_300
    assert m.snapped is not None
    coo = rutland_drive.travel_s.tocoo()
    length = rutland_drive.length_m.tocoo()
    graph = nx.DiGraph()
    for u, v, t, d in zip(coo.row, coo.col, coo.data, length.data, strict=True):
        graph.add_edge(int(u), int(v), t=float(t), d=float(d))
    i, j = 5, 250
    path = nx.dijkstra_path(graph, int(m.snapped.node[i]), int(m.snapped.node[j]), weight="t")
    along = sum(graph[a][b]["d"] for a, b in itertools.pairwise(path))
    expected = along + m.snapped.access_m[i] + m.snapped.access_m[j]
    assert m.distance_m[i, j] == pytest.approx(expected, abs=2.0)


def test_cache_hit_returns_same_matrix(tmp_path, rutland_drive: RoadNetwork) -> None:
    """A second call with the same points reads the .npz cache and returns identical arrays."""
    lat, lon = _points(rutland_drive, 50, seed=5)
    first = travel_matrix(rutland_drive, lat, lon, cache_dir=tmp_path)
    files = list(tmp_path.glob("travel-*.npz"))
    assert len(files) == 1
    files[0].touch()
    mtime = files[0].stat().st_mtime_ns
    second = travel_matrix(rutland_drive, lat, lon, cache_dir=tmp_path)
    assert files[0].stat().st_mtime_ns == mtime  # read, not rewritten
    assert np.array_equal(first.travel_s, second.travel_s)
    assert np.array_equal(first.distance_m, second.distance_m)
    assert second.snapped is not None and np.array_equal(first.snapped.node, second.snapped.node)  # type: ignore[union-attr]


def test_cache_key_depends_on_points_and_mode(tmp_path, rutland_drive, rutland_walk) -> None:
    """Other points or another mode get another cache file, never a stale matrix."""
    lat, lon = _points(rutland_drive, 20, seed=6)
    travel_matrix(rutland_drive, lat, lon, cache_dir=tmp_path)
    moved = lat.copy()
    moved[0] += 0.001
    travel_matrix(rutland_drive, moved, lon, cache_dir=tmp_path)
    walk = travel_matrix(rutland_walk, lat, lon, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("travel-*.npz"))) == 3
    assert (
        walk.travel_s.sum()
        > travel_matrix(rutland_drive, lat, lon, cache_dir=tmp_path).travel_s.sum()
    )


def test_corrupt_cache_is_recomputed(tmp_path, tiny_town_drive: RoadNetwork) -> None:
    """A damaged cache file is ignored and replaced, not trusted."""
    lat, lon = [52.6701, 52.6719], [-0.7299, -0.7281]
    good = travel_matrix(tiny_town_drive, lat, lon, cache_dir=tmp_path)
    (path,) = tmp_path.glob("travel-*.npz")
    path.write_bytes(b"not a zip file")
    again = travel_matrix(tiny_town_drive, lat, lon, cache_dir=tmp_path)
    assert np.array_equal(good.travel_s, again.travel_s)
    with np.load(path) as npz:
        assert npz["travel_s"].shape == (2, 2)


def test_points_outside_raise(rutland_drive: RoadNetwork) -> None:
    """A matrix with a point in London fails naming that row."""
    with pytest.raises(OutsideNetworkError, match=r"row 1 \(51\.5"):
        travel_matrix(rutland_drive, [52.67, 51.5072], [-0.73, -0.1276])


def test_same_address_is_zero_apart(tiny_town_drive: RoadNetwork) -> None:
    """Two people at identical coordinates (one address) are 0 s and 0 m apart."""
    m = travel_matrix(tiny_town_drive, [52.6705, 52.6705, 52.6719], [-0.7290, -0.7290, -0.7281])
    assert m.travel_s[0, 1] == 0 and m.distance_m[1, 0] == 0
    assert m.travel_s[0, 2] == m.travel_s[1, 2] > 0


def test_same_node_points(tiny_town_drive: RoadNetwork) -> None:
    """Two different points on the same node still pay both off-network legs."""
    m = travel_matrix(tiny_town_drive, [52.6701, 52.6699], [-0.7300, -0.7300])
    assert m.snapped is not None
    assert m.snapped.node[0] == m.snapped.node[1]
    assert m.travel_s[0, 1] == round(float(m.snapped.access_s.sum()))


def test_pair_travel_matches_matrix(rutland_drive: RoadNetwork, rutland_300) -> None:
    """Element-wise pair travel equals the matching matrix cells (to rounding)."""
    lat, lon, m = rutland_300
    rng = np.random.default_rng(4)
    i, j = rng.integers(0, 300, 500), rng.integers(0, 300, 500)
    travel_s, distance_m = pair_travel(rutland_drive, lat[i], lon[i], lat[j], lon[j])
    assert np.abs(travel_s - m.travel_s[i, j]).max() <= 1.0
    assert np.abs(distance_m - m.distance_m[i, j]).max() <= 1.0
    with pytest.raises(ValueError, match="as many from as to"):
        pair_travel(rutland_drive, lat[:2], lon[:2], lat[:1], lon[:1])
