"""Road network loaded from a local OpenStreetMap file, as sparse travel-time graphs."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.sparse import csgraph

from geo._geometry import LocalProjection, haversine_m
from geo._readers import RawSegments, read_osmnx_graph, read_pbf
from geo.errors import NetworkFileError, NetworkFileNotFoundError
from geo.speeds import MODES, Mode, SpeedProfile

# Bump when the way a file becomes a graph changes, so old matrix caches are not reused.
_BUILD_VERSION = "1"
_MIN_EDGE_S = 1e-3  # csgraph would read a zero weight as a missing edge


@dataclass(frozen=True, eq=False)
class RoadNetwork:
    """A routable road network: the largest strongly connected part of one travel mode.

    Attributes
    ----------
    source
        Path of the file it was read from.
    mode
        ``"drive"`` or ``"walk"``.
    fingerprint
        Hex digest of the file's bytes, the mode, the speed profile and the build version;
        matrices cached on disk are keyed by it.
    node_id
        OSM node id per node (int64; negative for vertices synthesised from GraphML shapes).
    lat, lon
        Node positions, degrees (WGS84).
    travel_s
        CSR matrix, ``travel_s[u, v]`` = seconds on the fastest edge from node u to node v.
    length_m
        CSR matrix with the same sparsity, metres of that edge.
    seg_u, seg_v
        Undirected straight segments (node indices, ``seg_u < seg_v``) for snapping.
    seg_length_m, seg_travel_s
        Length (m) and fastest travel time (s) of each segment.
    seg_name
        Street name of each segment (``""`` when unnamed).
    seg_street
        Street id per segment: segments with the same name joined end to end share one id,
        so two "High Street"s in different towns differ; ``-1`` when unnamed.
    profile
        The speeds used.
    """

    source: str
    mode: Mode
    fingerprint: str
    node_id: npt.NDArray[np.int64]
    lat: npt.NDArray[np.float64]
    lon: npt.NDArray[np.float64]
    travel_s: sparse.csr_matrix
    length_m: sparse.csr_matrix
    seg_u: npt.NDArray[np.int64]
    seg_v: npt.NDArray[np.int64]
    seg_length_m: npt.NDArray[np.float64]
    seg_travel_s: npt.NDArray[np.float64]
    seg_name: npt.NDArray[np.object_]
    seg_street: npt.NDArray[np.int64]
    profile: SpeedProfile = field(repr=False)

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.lat.size)

    @property
    def n_edges(self) -> int:
        """Number of directed edges."""
        return int(self.travel_s.nnz)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(min_lat, min_lon, max_lat, max_lon) of the nodes, degrees."""
        return (
            float(self.lat.min()),
            float(self.lon.min()),
            float(self.lat.max()),
            float(self.lon.max()),
        )

    @cached_property
    def projection(self) -> LocalProjection:
        """Metric projection centred on the network."""
        return LocalProjection(float(self.lat.mean()), float(self.lon.mean()))

    @cached_property
    def segment_tree(self):  # -> shapely.STRtree (kept untyped: shapely ships no stubs)
        """Spatial index over the segments in projected metres."""
        import shapely

        x, y = self.projection.to_xy(self.lat, self.lon)
        coords = np.stack(
            [
                np.column_stack([x[self.seg_u], y[self.seg_u]]),
                np.column_stack([x[self.seg_v], y[self.seg_v]]),
            ],
            axis=1,
        )
        return shapely.STRtree(shapely.linestrings(coords))

    def __repr__(self) -> str:
        return (
            f"RoadNetwork(source={self.source!r}, mode={self.mode!r}, nodes={self.n_nodes}, "
            f"edges={self.n_edges}, fingerprint={self.fingerprint[:12]!r})"
        )


def load_network(
    path: str | Path, *, mode: Mode = "drive", profile: SpeedProfile | None = None
) -> RoadNetwork:
    """Load a road network from a local OpenStreetMap file; never downloads.

    Parameters
    ----------
    path
        ``.osm.pbf`` (read with pyosmium), ``.osm`` XML or ``.graphml`` (read with osmnx).
    mode
        ``"drive"`` (car: one-way streets respected, UK speeds by road class where
        ``maxspeed`` is missing) or ``"walk"`` (every walkable way, both directions, at the
        walking speed).
    profile
        Speeds; defaults to ``SpeedProfile()`` (UK).

    Returns
    -------
    RoadNetwork
        The largest strongly connected component, so every node reaches every other.

    Raises
    ------
    NetworkFileNotFoundError
        ``path`` does not exist.
    NetworkFileError
        The file is corrupt, of an unknown type, or holds no roads for ``mode``.
    ValueError
        ``mode`` is not one of ``"drive"``, ``"walk"``.
    """
    if mode not in MODES:
        raise ValueError(f"Expected mode in {MODES}, got {mode!r}.")
    profile = profile or SpeedProfile()
    path = Path(path)
    if not path.is_file():
        raise NetworkFileNotFoundError(f"Road network file not found: {path}")
    name = path.name.lower()
    if name.endswith(".pbf"):
        raw = read_pbf(path, mode, profile)
    elif name.endswith((".osm", ".xml")):
        raw = read_osmnx_graph(path, mode, profile, graphml=False)
    elif name.endswith(".graphml"):
        raw = read_osmnx_graph(path, mode, profile, graphml=True)
    else:
        raise NetworkFileError(
            f"{path}: unknown network file type (expected .osm.pbf, .osm or .graphml)"
        )
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    digest.update(f"|{mode}|{profile.fingerprint()}|{_BUILD_VERSION}".encode())
    return build_network(
        raw, source=str(path), mode=mode, profile=profile, fingerprint=digest.hexdigest()
    )


def build_network(
    raw: RawSegments, *, source: str, mode: Mode, profile: SpeedProfile, fingerprint: str
) -> RoadNetwork:
    """Turn directed segments into CSR graphs restricted to the largest strong component."""
    n = raw.node_id.size
    u = np.searchsorted(raw.node_id, raw.from_id)
    v = np.searchsorted(raw.node_id, raw.to_id)
    keep = u != v
    u, v = u[keep], v[keep]
    speed, name = raw.speed_m_per_s[keep], raw.name[keep]
    length = haversine_m(raw.lat[u], raw.lon[u], raw.lat[v], raw.lon[v])
    time = np.maximum(length / speed, _MIN_EDGE_S)

    # One edge per (u, v): the fastest (csr construction would otherwise sum duplicates).
    order = np.lexsort((time, v, u))
    u, v, length, time, name = u[order], v[order], length[order], time[order], name[order]
    first = np.ones(u.size, dtype=bool)
    first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
    u, v, length, time, name = u[first], v[first], length[first], time[first], name[first]
    if mode == "drive" and profile.junction_delay_s > 0:
        time = time + profile.junction_delay_s * _is_junction(u, v, n)[v]

    graph = sparse.csr_matrix((time, (u, v)), shape=(n, n))
    n_comp, labels = csgraph.connected_components(graph, directed=True, connection="strong")
    if n_comp > 1:
        biggest = np.bincount(labels).argmax()
        in_scc = labels == biggest
        new_index = np.cumsum(in_scc) - 1
        keep = in_scc[u] & in_scc[v]
        u, v = new_index[u[keep]], new_index[v[keep]]
        length, time, name = length[keep], time[keep], name[keep]
        node_id, lat, lon = raw.node_id[in_scc], raw.lat[in_scc], raw.lon[in_scc]
    else:
        node_id, lat, lon = raw.node_id, raw.lat, raw.lon
    n = node_id.size
    if n < 2:
        raise NetworkFileError(f"{source}: the {mode} network has fewer than two connected nodes")

    # (u, v) are still sorted, so both CSR matrices share one structure.
    indptr = np.concatenate([[0], np.cumsum(np.bincount(u, minlength=n))])
    travel_s = sparse.csr_matrix((time, v, indptr), shape=(n, n))
    length_m = sparse.csr_matrix((length, v, indptr), shape=(n, n))

    # Undirected segments for snapping and street lookup.
    a, b = np.minimum(u, v), np.maximum(u, v)
    order = np.lexsort((time, b, a))
    a, b, seg_len, seg_time, seg_name = a[order], b[order], length[order], time[order], name[order]
    first = np.ones(a.size, dtype=bool)
    first[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    a, b, seg_len, seg_time, seg_name = (
        a[first],
        b[first],
        seg_len[first],
        seg_time[first],
        seg_name[first],
    )

    arrays = [node_id, lat, lon, a, b, seg_len, seg_time, seg_name]
    street = _street_ids(a, b, seg_name, n)
    for arr in [*arrays, street, travel_s.data, length_m.data]:
        arr.flags.writeable = False
    return RoadNetwork(
        source=source,
        mode=mode,
        fingerprint=fingerprint,
        node_id=node_id,
        lat=lat,
        lon=lon,
        travel_s=travel_s,
        length_m=length_m,
        seg_u=a.astype(np.int64),
        seg_v=b.astype(np.int64),
        seg_length_m=seg_len,
        seg_travel_s=seg_time,
        seg_name=seg_name,
        seg_street=street,
        profile=profile,
    )


def _is_junction(
    u: npt.NDArray[np.int64], v: npt.NDArray[np.int64], n: int
) -> npt.NDArray[np.bool_]:
    """Nodes where three or more distinct neighbours meet (ignoring direction)."""
    a, b = np.minimum(u, v), np.maximum(u, v)
    pairs = np.unique(a * n + b)
    degree = np.bincount(pairs // n, minlength=n) + np.bincount(pairs % n, minlength=n)
    return degree >= 3


def _street_ids(
    a: npt.NDArray[np.int64], b: npt.NDArray[np.int64], name: npt.NDArray[np.object_], n_nodes: int
) -> npt.NDArray[np.int64]:
    """Join same-named segments that share a node into streets (connected components)."""
    street = np.full(a.size, -1, dtype=np.int64)
    named = np.flatnonzero(name != "")
    if named.size == 0:
        return street
    _, code = np.unique(name[named], return_inverse=True)
    # Bipartite graph: segment <-> (name, node) key; components are streets.
    keys = np.concatenate([code * n_nodes + a[named], code * n_nodes + b[named]])
    uniq_keys, key_index = np.unique(keys, return_inverse=True)
    m = named.size
    seg_side = np.concatenate([np.arange(m), np.arange(m)])
    graph = sparse.coo_matrix(
        (np.ones(2 * m), (seg_side, m + key_index)), shape=(m + uniq_keys.size,) * 2
    )
    _, labels = csgraph.connected_components(graph, directed=False)
    _, compact = np.unique(labels[:m], return_inverse=True)
    street[named] = compact
    return street
