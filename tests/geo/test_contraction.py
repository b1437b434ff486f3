"""Chain contraction before Dijkstra (geo/_contraction.py)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse
from scipy.sparse import csgraph

from geo import RoadNetwork, snap_points
from geo._contraction import contract, contractible_nodes
from geo.matrix import _route


def _graph(edges: list[tuple[int, int, float]], n: int) -> sparse.csr_matrix:
    u, v, w = zip(*edges, strict=True)
    return sparse.csr_matrix((w, (u, v)), shape=(n, n))


def test_two_way_and_one_way_chains_collapse() -> None:
    """Two-way chain 0-1-2 and one-way chain 2->3->4->0 become direct edges between junctions."""
    g = _graph(
        [
            (0, 1, 1.0),
            (1, 0, 1.0),
            (1, 2, 2.0),
            (2, 1, 2.0),  # two-way via 1
            (2, 3, 5.0),
            (3, 4, 1.0),
            (4, 0, 7.0),  # one-way via 3, 4
            (0, 5, 1.0),
            (5, 0, 1.0),
            (2, 6, 1.0),
            (6, 2, 1.0),
        ],
        7,
    )
    assert contractible_nodes(g).tolist() == [False, True, False, True, True, False, False]
    small, kept = contract(g, np.zeros(7, dtype=bool))
    assert kept.tolist() == [0, 2, 5, 6]
    dense = small.toarray()
    assert dense[0, 1] == 3.0 and dense[1, 0] == 3.0  # the one-way (13) loses to the chain (3)
    assert small.nnz == 6
    assert np.allclose(csgraph.dijkstra(small), csgraph.dijkstra(g)[np.ix_(kept, kept)])


def test_kept_nodes_stay() -> None:
    """Nodes asked for are never removed, and distances between kept nodes are unchanged."""
    g = _graph([(0, 1, 1.0), (1, 0, 1.0), (1, 2, 2.0), (2, 1, 2.0), (2, 3, 5.0), (3, 2, 5.0)], 4)
    keep = np.array([True, False, True, True])
    small, kept = contract(g, keep)
    assert kept.tolist() == [0, 2, 3]
    full = csgraph.dijkstra(g)[np.ix_(kept, kept)]
    assert np.allclose(csgraph.dijkstra(small), full)


def test_mixed_direction_node_is_kept() -> None:
    """A node where a one-way meets a two-way road (in from both, out to one) is not removed."""
    g = _graph([(0, 1, 1.0), (1, 0, 1.0), (2, 1, 1.0)], 3)
    assert not contractible_nodes(g)[1]


def test_contracted_matrix_equals_full(rutland_drive: RoadNetwork) -> None:
    """On Rutland, routing on the contracted graph gives the same matrix as the full graph."""
    rng = np.random.default_rng(21)
    node = rng.choice(rutland_drive.n_nodes, size=250, replace=False)
    snapped = snap_points(rutland_drive, rutland_drive.lat[node] + 0.0003, rutland_drive.lon[node])
    full_t, full_d = _route(rutland_drive, snapped, contract_chains=False)
    small_t, small_d = _route(rutland_drive, snapped, contract_chains=True)
    assert np.abs(full_t.astype(int) - small_t).max() <= 1
    assert np.abs(full_d.astype(int) - small_d).max() <= 1
    assert contractible_nodes(rutland_drive.travel_s).mean() > 0.5


@st.composite
def _road_graphs(draw):
    """Random small road-like graphs: a chain/grid mix with some one-way edges."""
    n = draw(st.integers(3, 25))
    pairs = draw(
        st.lists(
            st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), min_size=n, max_size=3 * n
        )
    )
    edges: dict[tuple[int, int], float] = {}
    for u, v in pairs:
        if u == v:
            continue
        w = draw(st.integers(1, 50)) * 1.0
        edges[(u, v)] = w
        if draw(st.booleans()):  # two-way
            edges[(v, u)] = w
    if not edges:
        edges[(0, 1)] = 1.0
    keep = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    return _graph([(u, v, w) for (u, v), w in edges.items()], n), keep


@settings(max_examples=200, deadline=None)
@given(_road_graphs())
def test_contraction_preserves_distances(graph_keep) -> None:
    """For any graph, distances between kept nodes are the same before and after contraction."""
    g, keep = graph_keep
    small, kept = contract(g, keep)
    assert set(np.flatnonzero(keep)) <= set(kept.tolist())
    full = csgraph.dijkstra(g)[np.ix_(kept, kept)]
    assert np.array_equal(np.isinf(full), np.isinf(csgraph.dijkstra(small)))
    finite = np.isfinite(full)
    assert np.allclose(csgraph.dijkstra(small)[finite], full[finite])
