"""Split a county-scale day into geographically coherent parts of balanced size.

Recursive bisection on the travel matrix: pick two far-apart locations, order the
homes by how much nearer they are to one than the other, cut at the visit-count median.
Visits at one location, and the two halves of a double-up, always stay together. Carers
are shared out so that each part gets carer hours in every time band and skill in
proportion to the hours its calls need there, nearest carers first, with a carer's current
part preferred (so capacity follows demand).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from solver.problem import IntArray, Problem

_BAND_S = 3 * 3600  # time bands the carers are shared out by


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


def _bands(problem: Problem) -> tuple[np.ndarray, np.ndarray, int]:
    """Work each visit asks for and each carer offers, per time band and per skill.

    Columns: the day's hours in ``_BAND_S`` bands (a call counts in the band its window
    opens in; a carer offers the overlap of their shift with the band, scaled down to their
    working-hours cap), then one column per skill and one per requested gender (the hours
    of calls needing it; a carer offers their whole day to each one they have).
    """
    visits, carers = problem.visits, problem.carers
    dur = np.array([v.duration_s for v in visits], dtype=np.float64)
    opens = np.array([v.window_start_s for v in visits], dtype=np.int64)
    s0 = np.array([c.shift_start_s for c in carers], dtype=np.float64)
    s1 = np.array([c.shift_end_s for c in carers], dtype=np.float64)
    cap = np.array([c.work_cap_s for c in carers], dtype=np.float64)
    edges = np.arange(0, max(int(opens.max(initial=0)), int(s1.max(initial=0))) + _BAND_S, _BAND_S)
    n_bands = edges.size
    band = np.minimum(opens // _BAND_S, n_bands - 1)
    ask = np.zeros((len(visits), n_bands))
    ask[np.arange(len(visits)), band] = dur
    lo, hi = edges[None, :], edges[None, :] + _BAND_S
    offer = np.clip(np.minimum(s1[:, None], hi) - np.maximum(s0[:, None], lo), 0, None)
    offer *= np.minimum(1.0, cap / np.maximum(offer.sum(axis=1), 1.0))[:, None]
    day = offer.sum(axis=1)
    extra_ask, extra_offer = [], []
    for skill in sorted({s for v in visits for s in v.skills}):
        extra_ask.append(
            np.array([d if skill in v.skills else 0.0 for v, d in zip(visits, dur, strict=True)])
        )
        extra_offer.append(
            np.array([day[k] if skill in c.skills else 0.0 for k, c in enumerate(carers)])
        )
    for gender in sorted({v.gender for v in visits if v.gender}):
        extra_ask.append(
            np.array([d if v.gender == gender else 0.0 for v, d in zip(visits, dur, strict=True)])
        )
        extra_offer.append(
            np.array([day[k] if c.gender == gender else 0.0 for k, c in enumerate(carers)])
        )
    if extra_ask:  # skills and genders come last
        ask = np.column_stack([ask, *extra_ask])
        offer = np.column_stack([offer, *extra_offer])
    return ask, offer, len(extra_ask)


def share_carers(
    problem: Problem, part_of_visit: IntArray, n_parts: int, gap: np.ndarray
) -> IntArray:
    """Part of each carer: capacity follows demand per time band and skill, nearest first.

    Each part is owed carer hours in every band (and skill) in proportion to the hours its
    calls need there. Repeatedly the part furthest below what
    it is owed in some time band takes the nearest unassigned carer (smallest ``gap``) who
    offers hours in that band, a carer without a skill the part is short of counting as
    further away. Sharing carers by call counts instead left parts with
    evening calls and morning carers: whole parts' worth of calls unplaced.
    """
    m = problem.num_carers
    ask, offer, n_extra = _bands(problem)
    need = np.zeros((n_parts, ask.shape[1]))
    np.add.at(need, part_of_visit, ask)
    n_bands = int(ask.shape[1] - n_extra)
    # Hours owed per hour of calls: one county-wide ratio across time bands (a band with
    # few calls and many carers, like lunch, must not pull whole teams into the parts that
    # have its few calls), and the county ratio of each skill on its own.
    ratio = offer.sum(axis=0) / np.maximum(ask.sum(axis=0), 1.0)
    ratio[:n_bands] = offer[:, :n_bands].sum() / max(ask[:, :n_bands].sum(), 1.0)
    owed = need * ratio
    got = np.zeros_like(owed)
    live = need.sum(axis=0) > 0
    assigned = np.full(m, -1, dtype=np.int64)
    free = np.ones(m, dtype=bool)
    for _ in range(m):
        # The part furthest below its due in a time band picks; skills break ties among
        # carers (a carer lacking a skill the part is short of counts as further away).
        short = np.where(owed > 0, (owed - got) / np.maximum(owed, 1.0), -np.inf)
        short[:, ~live] = -np.inf
        # Only bands some free carer still offers hours in can be topped up.
        short[:, ~(offer[free] > 0).any(axis=0)] = -np.inf
        if not np.isfinite(short[:, :n_bands]).any():
            short[:, :n_bands] = -got[:, :n_bands].sum(axis=1, keepdims=True)
        flat = int(np.argmax(short[:, :n_bands]))
        j, b = divmod(flat, n_bands)
        pool = free & (offer[:, b] > 0)
        if not pool.any():
            pool = free
        cand = np.flatnonzero(pool)
        lacking = (short[j, n_bands:] > 0)[None, :] & (offer[cand, n_bands:] <= 0)
        k = int(cand[np.argmin(gap[cand, j] * (1.0 + lacking.sum(axis=1)))])
        assigned[k] = j
        free[k] = False
        got[j] += offer[k]
    return assigned


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

    n_parts = len(parts_units)
    part_of_unit = np.empty(unit_locs.size, dtype=np.int64)
    for j, units in enumerate(parts_units):
        part_of_unit[units] = j
    part_of_visit = part_of_unit[unit_of_visit]
    gap = np.empty((m, n_parts))
    for j, units in enumerate(parts_units):
        sample = unit_locs[units[:: max(1, units.size // 40)]]
        gap[:, j] = np.median(sym[np.ix_(carer_start, sample)], axis=1)
    for k in range(m):
        mine = np.flatnonzero(today == k)
        if mine.size:
            home_part = np.bincount(part_of_visit[mine], minlength=n_parts).argmax()
            gap[k, home_part] *= 0.5
    assigned = share_carers(problem, part_of_visit, n_parts, gap)
    parts = [
        Part(np.flatnonzero(part_of_visit == j), np.flatnonzero(assigned == j))
        for j in range(n_parts)
    ]
    parts.sort(key=lambda p: int(p.visits[0]) if p.visits.size else n)
    return parts
