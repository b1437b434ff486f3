"""Contract chains of pass-through nodes so Dijkstra runs on a much smaller graph.

About 80% of OSM road nodes only shape a road between two others. A node may be removed
when every path through it must continue along the same road: it has exactly two
neighbours and its edges run a -> v -> b, b -> v -> a, or both. Each chain of such nodes
becomes one edge whose weight is the chain's sum, so shortest paths between the kept nodes
are unchanged. Chains are summed by pointer jumping (vectorised list ranking), not a loop
over nodes.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import sparse


def contractible_nodes(graph: sparse.csr_matrix) -> npt.NDArray[np.bool_]:
    """Nodes with two neighbours whose edges only pass traffic through along one road."""
    n = graph.shape[0]
    coo = graph.tocoo()
    u, v = coo.row.astype(np.int64), coo.col.astype(np.int64)
    a, b = np.minimum(u, v), np.maximum(u, v)
    pairs = np.unique(a * n + b)
    degree = np.bincount(pairs // n, minlength=n) + np.bincount(pairs % n, minlength=n)
    out_deg = np.bincount(u, minlength=n)
    in_deg = np.bincount(v, minlength=n)
    # With two neighbours: 1 in + 1 out from different neighbours, or 2 in + 2 out.
    # "1 in + 1 out from the same neighbour" cannot occur with two neighbours.
    ok = (degree == 2) & (((in_deg == 1) & (out_deg == 1)) | ((in_deg == 2) & (out_deg == 2)))
    return np.asarray(ok, dtype=bool)


def contract(
    graph: sparse.csr_matrix, keep: npt.NDArray[np.bool_]
) -> tuple[sparse.csr_matrix, npt.NDArray[np.int64]]:
    """Remove contractible nodes not in ``keep``; return the small graph and kept node ids.

    Parameters
    ----------
    graph
        Square CSR matrix of positive edge weights (no duplicate entries).
    keep
        Nodes that must stay (e.g. the snapped points' nodes).

    Returns
    -------
    small
        CSR over the kept nodes; ``small[i, j]`` = least total weight of a chain from
        ``kept[i]`` to ``kept[j]`` through removed nodes only.
    kept
        Original index of each node of ``small``.
    """
    n = graph.shape[0]
    removable = contractible_nodes(graph) & ~keep
    coo = graph.tocoo()
    u, v, w = coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data.astype(np.float64)
    m = u.size
    if not removable.any():
        return graph, np.arange(n, dtype=np.int64)

    # Successor of edge u -> v when v is removable: the edge v -> x with x != u.
    order = np.lexsort((v, u))  # edges sorted by tail, then head
    su, sv = u[order], v[order]
    starts = np.searchsorted(su, np.arange(n + 1))
    nxt = np.full(m, -1, dtype=np.int64)
    through = np.flatnonzero(removable[v])
    for offset in (0, 1):  # a removable node has at most two out-edges
        cand = starts[v[through]] + offset
        valid = cand < starts[v[through] + 1]
        pos = cand[valid]
        e = through[valid]
        good = sv[pos] != u[e]
        nxt[e[good]] = order[pos[good]]

    total = w.copy()
    head = v.copy()
    ptr = nxt.copy()
    for _ in range(int(np.ceil(np.log2(m + 1))) + 2):
        live = ptr >= 0
        if not live.any():
            break
        idx = np.flatnonzero(live)
        target = ptr[idx]
        total[idx] = total[idx] + total[target]
        head[idx] = head[target]
        ptr[idx] = ptr[target]

    # New edges start at a kept node; removable heads left only on cycles of removed nodes.
    starts_kept = ~removable[u] & ~removable[head] & (head != u)
    new_u, new_v, new_w = u[starts_kept], head[starts_kept], total[starts_kept]
    kept = np.flatnonzero(~removable)
    index = np.full(n, -1, dtype=np.int64)
    index[kept] = np.arange(kept.size)
    new_u, new_v = index[new_u], index[new_v]
    # Parallel chains between the same pair: keep the lightest.
    srt = np.lexsort((new_w, new_v, new_u))
    new_u, new_v, new_w = new_u[srt], new_v[srt], new_w[srt]
    first = np.ones(new_u.size, dtype=bool)
    first[1:] = (new_u[1:] != new_u[:-1]) | (new_v[1:] != new_v[:-1])
    k = kept.size
    indptr = np.concatenate([[0], np.cumsum(np.bincount(new_u[first], minlength=k))])
    small = sparse.csr_matrix((new_w[first], new_v[first], indptr), shape=(k, k))
    return small, kept
