"""Many-to-many travel time and distance matrices over a road network, cached on disk."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.sparse import csgraph

from geo._contraction import contract
from geo.network import RoadNetwork
from geo.snapping import DEFAULT_MAX_OFFSET_M, Snapped, as_coordinates, snap_points

_CACHE_VERSION = "2"
_BATCH_SOURCES = 256


@dataclass(frozen=True, eq=False)
class TravelMatrix:
    """Travel between every ordered pair of points.

    Attributes
    ----------
    travel_s
        ``travel_s[i, j]`` = seconds from point i to point j (int32, rounded; diagonal 0).
    distance_m
        ``distance_m[i, j]`` = metres along that same fastest route (int32, rounded).
    source
        ``"network"`` or ``"fallback"``.
    snapped
        How each point joined the network (``None`` for the fallback model).
    key
        Cache key (hex) when computed from a network, else ``""``.
    """

    travel_s: npt.NDArray[np.int32]
    distance_m: npt.NDArray[np.int32]
    source: str
    snapped: Snapped | None = None
    key: str = ""

    def __post_init__(self) -> None:
        n = self.travel_s.shape[0]
        if self.travel_s.shape != (n, n) or self.distance_m.shape != (n, n):
            raise ValueError("Expected square travel_s and distance_m of equal shape.")

    @property
    def n_points(self) -> int:
        """Number of points."""
        return int(self.travel_s.shape[0])


def travel_matrix(
    network: RoadNetwork,
    lat: npt.ArrayLike,
    lon: npt.ArrayLike,
    *,
    cache_dir: str | Path | None = None,
    max_offset_m: float = DEFAULT_MAX_OFFSET_M,
    offnet_speed_m_per_s: float | None = None,
) -> TravelMatrix:
    """Travel time and distance between every pair of points over the road network.

    Each point is snapped to the network (``snap_points``); the trip i -> j is the access leg
    of i, the fastest path between their nodes, and the access leg of j. Shortest paths run
    once per unique snapped node with ``scipy.sparse.csgraph.dijkstra`` in batches of source
    nodes. The distance is that of the fastest route (not the shortest one): edge weights
    are integer milliseconds plus metres scaled below one millisecond per path, so one
    Dijkstra yields both and breaks time ties by distance.

    Parameters
    ----------
    network
        The road network (its mode sets car or walking times).
    lat, lon
        Point positions, degrees (WGS84).
    cache_dir
        Directory for the ``.npz`` cache keyed by network fingerprint, points and snapping
        settings; ``None`` disables caching.
    max_offset_m
        Largest allowed off-network leg, metres (see ``snap_points``).
    offnet_speed_m_per_s
        Off-network speed, m/s; defaults to the profile's for the mode.

    Returns
    -------
    TravelMatrix
        ``travel_s`` (s) and ``distance_m`` (m), n × n int32.

    Raises
    ------
    OutsideNetworkError
        Points too far from the network, named by row.
    ValueError
        Bad coordinates.
    """
    lat_a, lon_a = as_coordinates(lat, lon)
    speed = offnet_speed_m_per_s or network.profile.offnet_speed_m_per_s(network.mode)
    key = _cache_key(network, lat_a, lon_a, max_offset_m, speed)
    cache_path = Path(cache_dir) / f"travel-{key[:32]}.npz" if cache_dir is not None else None
    if cache_path is not None:
        cached = _read_cache(cache_path, key, lat_a.size)
        if cached is not None:
            return cached

    snapped = snap_points(
        network, lat_a, lon_a, max_offset_m=max_offset_m, offnet_speed_m_per_s=speed
    )
    travel_s, distance_m = _route(network, snapped)
    _zero_same_place(lat_a, lon_a, travel_s, distance_m)
    result = TravelMatrix(
        travel_s=travel_s, distance_m=distance_m, source="network", snapped=snapped, key=key
    )
    if cache_path is not None:
        _write_cache(cache_path, result)
    return result


def _node_paths(
    network: RoadNetwork,
    sources: npt.NDArray[np.int64],
    targets: npt.NDArray[np.int64],
    *,
    contract_chains: bool = True,
) -> Iterator[tuple[int, int, npt.NDArray[np.float32], npt.NDArray[np.float32]]]:
    """Yield ``(lo, hi, seconds, metres)``: fastest paths from ``sources[lo:hi]`` to ``targets``.

    ``sources`` and ``targets`` are node indices; the blocks are float32, shape
    ``(hi - lo, targets.size)``.
    """
    # Integer ms + metres × scale: any simple path's metres × scale < 1 ms, so the integer
    # part is the path's time and the fraction its length (exact to well under a metre).
    length = network.length_m
    time_ms = np.maximum(np.rint(network.travel_s.data * 1000.0), 1.0)
    scale = 10.0 ** -np.ceil(np.log10(length.data.sum() + 1.0))
    weights = sparse.csr_matrix(
        (time_ms + length.data * scale, length.indices, length.indptr), shape=length.shape
    )
    if contract_chains:
        keep = np.zeros(network.n_nodes, dtype=bool)
        keep[sources] = True
        keep[targets] = True
        weights, kept = contract(weights, keep)
        graph_sources = np.searchsorted(kept, sources)
        graph_targets = np.searchsorted(kept, targets)
    else:
        graph_sources, graph_targets = sources, targets
    for lo in range(0, sources.size, _BATCH_SOURCES):
        hi = min(lo + _BATCH_SOURCES, sources.size)
        combined = csgraph.dijkstra(weights, directed=True, indices=graph_sources[lo:hi])[
            :, graph_targets
        ]
        path_ms = np.floor(combined)
        # float32 after decoding: ample for seconds and metres, half the memory traffic.
        yield (
            lo,
            hi,
            (path_ms / 1000.0).astype(np.float32),
            ((combined - path_ms) / scale).astype(np.float32),
        )


def _route(
    network: RoadNetwork, snapped: Snapped, *, contract_chains: bool = True
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]:
    """Fill the point matrices from node-to-node Dijkstra over unique snapped nodes."""
    n = snapped.node.size
    travel = np.zeros((n, n), dtype=np.int32)
    distance = np.zeros((n, n), dtype=np.int32)
    if n == 0:
        return travel, distance
    nodes, inverse = np.unique(snapped.node, return_inverse=True)
    access_s = snapped.access_s.astype(np.float32)
    access_m = snapped.access_m.astype(np.float32)
    order = np.argsort(inverse, kind="stable")  # points grouped by their node
    starts = np.searchsorted(inverse[order], np.arange(nodes.size + 1))
    for lo, hi, path_s, path_m in _node_paths(
        network, nodes, nodes, contract_chains=contract_chains
    ):
        rows = order[starts[lo] : starts[hi]]
        local = inverse[rows] - lo
        for node_matrix, access, out in ((path_s, access_s, travel), (path_m, access_m, distance)):
            block = node_matrix[local][:, inverse]
            block += access[rows, None]
            block += access[None, :]
            out[rows] = np.rint(block, out=block)
    np.fill_diagonal(travel, 0)
    np.fill_diagonal(distance, 0)
    return travel, distance


def pair_travel(
    network: RoadNetwork,
    lat_from: npt.ArrayLike,
    lon_from: npt.ArrayLike,
    lat_to: npt.ArrayLike,
    lon_to: npt.ArrayLike,
    *,
    max_offset_m: float = DEFAULT_MAX_OFFSET_M,
    offnet_speed_m_per_s: float | None = None,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Travel time and distance for each (from, to) pair, element-wise, over the network.

    Same model as ``travel_matrix`` (snapping, access legs, fastest route) but only the given
    pairs: for checking consecutive visits in an audit, where a full matrix would waste
    memory. Dijkstra runs once per unique origin node.

    Parameters
    ----------
    network
        The road network.
    lat_from, lon_from, lat_to, lon_to
        Equal-length arrays of degrees (WGS84).
    max_offset_m, offnet_speed_m_per_s
        As for ``snap_points``.

    Returns
    -------
    travel_s, distance_m
        Float arrays, seconds and metres; 0 where from and to are the same point.

    Raises
    ------
    OutsideNetworkError
        Points too far from the network, named by row (``from`` rows first, then ``to``
        rows numbered after them).
    ValueError
        Bad coordinates or unequal lengths.
    """
    lat_a, lon_a = as_coordinates(lat_from, lon_from)
    lat_b, lon_b = as_coordinates(lat_to, lon_to)
    if lat_a.size != lat_b.size:
        raise ValueError(f"Expected as many from as to points, got {lat_a.size} and {lat_b.size}.")
    snapped = snap_points(
        network,
        np.concatenate([lat_a, lat_b]),
        np.concatenate([lon_a, lon_b]),
        max_offset_m=max_offset_m,
        offnet_speed_m_per_s=offnet_speed_m_per_s,
    )
    n = lat_a.size
    travel = np.zeros(n, dtype=np.float64)
    distance = np.zeros(n, dtype=np.float64)
    if n == 0:
        return travel, distance
    node_a, node_b = snapped.node[:n], snapped.node[n:]
    sources, src_inv = np.unique(node_a, return_inverse=True)
    targets, tgt_inv = np.unique(node_b, return_inverse=True)
    for lo, hi, path_s, path_m in _node_paths(network, sources, targets):
        rows = np.flatnonzero((src_inv >= lo) & (src_inv < hi))
        travel[rows] = path_s[src_inv[rows] - lo, tgt_inv[rows]]
        distance[rows] = path_m[src_inv[rows] - lo, tgt_inv[rows]]
    travel += snapped.access_s[:n] + snapped.access_s[n:]
    distance += snapped.access_m[:n] + snapped.access_m[n:]
    same = (lat_a == lat_b) & (lon_a == lon_b)
    travel[same] = 0.0
    distance[same] = 0.0
    return travel, distance


def _zero_same_place(
    lat: npt.NDArray[np.float64],
    lon: npt.NDArray[np.float64],
    travel: npt.NDArray[np.int32],
    distance: npt.NDArray[np.int32],
) -> None:
    """Points at identical coordinates (one address) are 0 s and 0 m apart, not two legs."""
    _, inverse, counts = np.unique(
        np.column_stack([lat, lon]), axis=0, return_inverse=True, return_counts=True
    )
    inverse = inverse.ravel()
    for group in np.flatnonzero(counts > 1):
        rows = np.flatnonzero(inverse == group)
        travel[np.ix_(rows, rows)] = 0
        distance[np.ix_(rows, rows)] = 0


def _cache_key(
    network: RoadNetwork,
    lat: npt.NDArray[np.float64],
    lon: npt.NDArray[np.float64],
    max_offset_m: float,
    speed: float,
) -> str:
    digest = hashlib.sha256()
    digest.update(
        f"{_CACHE_VERSION}|{network.fingerprint}|{network.mode}|{max_offset_m!r}|"
        f"{speed!r}|{lat.size}|".encode()
    )
    digest.update(np.ascontiguousarray(lat).tobytes())
    digest.update(np.ascontiguousarray(lon).tobytes())
    return digest.hexdigest()


_SNAP_FIELDS = ("node", "snap_lat", "snap_lon", "offset_m", "along_m", "access_s", "segment")


def _read_cache(path: Path, key: str, n: int) -> TravelMatrix | None:
    """The cached matrix, or None when absent, stale or unreadable (then it is recomputed)."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            if str(npz["key"]) != key or npz["travel_s"].shape != (n, n):
                return None
            snapped = Snapped(**{f: npz[f] for f in _SNAP_FIELDS})
            return TravelMatrix(
                travel_s=npz["travel_s"],
                distance_m=npz["distance_m"],
                source="network",
                snapped=snapped,
                key=key,
            )
    except (OSError, ValueError, KeyError, EOFError):
        return None


def _write_cache(path: Path, matrix: TravelMatrix) -> None:
    """Write atomically (temp file then rename) so a crash never leaves a half file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    assert matrix.snapped is not None
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz.tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(
                fh,
                key=np.array(matrix.key),
                travel_s=matrix.travel_s,
                distance_m=matrix.distance_m,
                **{f: getattr(matrix.snapped, f) for f in _SNAP_FIELDS},
            )
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
