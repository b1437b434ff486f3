"""Split a county-scale day into geographically coherent parts of balanced size.

Recursive bisection on the travel matrix: pick two far-apart locations, order the
homes by how much nearer they are to one than the other, cut at the visit-count median.
Visits at one location, and the two halves of a double-up, always stay together. Carers
are shared out in proportion to each part's visits, nearest first, with a carer's current
part preferred (so capacity follows demand).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from solver.problem import IntArray, Problem


@dataclass(frozen=True)
class Part:
    """Visit and carer indices (into the whole problem) solved together."""

    visits: IntArray
    carers: IntArray


def _units(problem: Problem) -> tuple[IntArray, IntArray]:
    """Unit id per visit (location, merged across double-up halves) and unit locations."""
    loc = np.array([v.location for v in problem.visits], dtype=np.int64)
    parent = {int(x): int(x) for x in np.unique(loc)}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in problem.sync_pairs:
        ra, rb = find(int(loc[a])), find(int(loc[b]))
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    roots = np.array([find(int(x)) for x in loc], dtype=np.int64)
    unit_locs, unit_of_visit = np.unique(roots, return_inverse=True)
    return unit_of_visit.astype(np.int64), unit_locs.astype(np.int64)


def decompose(problem: Problem, *, max_part_visits: int, seed: int) -> list[Part]:
    """Parts of at most about ``max_part_visits`` visits, each with its carers.

    Parameters
    ----------
    problem
        The whole day.
    max_part_visits
        Target largest part; a single location with more visits stays whole.
    seed
        Chooses the first pivot of each bisection; fixed seed, fixed parts.
    """
    n, m = problem.num_visits, problem.num_carers
    if n <= max_part_visits:
        return [Part(np.arange(n, dtype=np.int64), np.arange(m, dtype=np.int64))]
    travel = problem.travel_s[0]
    sym = travel + travel.T
    unit_of_visit, unit_locs = _units(problem)
    weight = np.bincount(unit_of_visit, minlength=unit_locs.size)
    carer_start = np.array([c.start_location for c in problem.carers], dtype=np.int64)
    today = np.array([v.carer for v in problem.visits], dtype=np.int64)
    rng = np.random.default_rng(seed)

    parts_units: list[IntArray] = []
    stack: list[IntArray] = [np.arange(unit_locs.size, dtype=np.int64)]
    while stack:
        units = stack.pop()
        total = int(weight[units].sum())
        if total <= max_part_visits or units.size < 2:
            parts_units.append(units)
            continue
        ul = unit_locs[units]
        pivot = ul[rng.integers(ul.size)]
        a = ul[np.argmax(sym[pivot, ul])]
        b = ul[np.argmax(sym[a, ul])]
        order = np.argsort(sym[a, ul] - sym[b, ul], kind="stable")
        cum = np.cumsum(weight[units[order]])
        cut = min(int(np.searchsorted(cum, total / 2)), units.size - 2)
        stack.append(units[order[cut + 1 :]])
        stack.append(units[order[: cut + 1]])

    # Carers go where the work is: each part gets carers in proportion to its visits,
    # nearest first (median travel from home to the part's homes), today's part preferred.
    n_parts = len(parts_units)
    part_of_unit = np.empty(unit_locs.size, dtype=np.int64)
    for j, units in enumerate(parts_units):
        part_of_unit[units] = j
    part_visits = np.array([int(weight[u].sum()) for u in parts_units])
    quota = np.floor(m * part_visits / max(1, n)).astype(np.int64)
    quota[np.argsort(-(m * part_visits / max(1, n) - quota), kind="stable")[: m - quota.sum()]] += 1
    gap = np.empty((m, n_parts))
    for j, units in enumerate(parts_units):
        sample = unit_locs[units[:: max(1, units.size // 40)]]
        gap[:, j] = np.median(sym[np.ix_(carer_start, sample)], axis=1)
    part_of_visit = part_of_unit[unit_of_visit]
    for k in range(m):
        mine = np.flatnonzero(today == k)
        if mine.size:
            home_part = np.bincount(part_of_visit[mine], minlength=n_parts).argmax()
            gap[k, home_part] *= 0.5
    assigned = np.full(m, -1, dtype=np.int64)
    left = quota.copy()
    for flat in np.argsort(gap, axis=None, kind="stable"):
        k, j = divmod(int(flat), n_parts)
        if assigned[k] < 0 and left[j] > 0:
            assigned[k] = j
            left[j] -= 1
    parts = [
        Part(np.flatnonzero(part_of_visit == j), np.flatnonzero(assigned == j))
        for j in range(n_parts)
    ]
    parts.sort(key=lambda p: int(p.visits[0]) if p.visits.size else n)
    return parts
