"""Split a county-scale day into geographically coherent parts of balanced size.

Recursive bisection on the travel matrix: pick two far-apart locations, order the
homes by how much nearer they are to one than the other, cut at the visit-count median.
Visits at one location, and the two halves of a double-up, always stay together. Carers
are shared out so that each part gets carer hours in every time band and skill in
proportion to the hours its calls need there, with a carer's current part preferred (so
capacity follows demand): a greedy share sets each part's hours, then one linear programme
picks the carers who give them with the least driving (``nearest_carers_for``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.optimize import linprog

from solver.problem import IntArray, Problem

_BAND_S = 3 * 3600  # time bands the carers are shared out by
# Price per second of a part's carer hours given up when the carers are chosen again
# nearest first (``nearest_carers_for``), in seconds of the carers' drive there and back:
# hours the greedy share gave a part beyond what it is owed go at ``_SHORT_S`` (a carer's
# three hours in a band, 10,800 s, against 36 min of drive), hours it is owed at
# ``_SHORT_OF_FLOOR_S`` (never, in practice). County benchmark at 120 s, seeds 0-3 (session
# 19): with a price of 0.2 on every hour the greedy gave, 373.2 h and 5,952.5 calls served
# against 384.2 h and 5,955.5 for the greedy alone; every hour it gave held, 381.0 h and
# 5,956.5; hours owed held and the rest at 0.2, 369.8 h and 5,960.0.
_SHORT_S = 0.2
_SHORT_OF_FLOOR_S = 20.0


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


def _bands(problem: Problem, commute: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Work each visit asks for and each carer offers each part, per time band and skill.

    Columns: the day's hours in ``_BAND_S`` bands, then one column per skill and one per
    requested gender. A call asks for its duration plus the drive from its nearest
    neighbour, in the band its window opens in (and in each skill/gender column it needs).
    A carer offers a part (``commute``: one-way seconds, carer × part) the overlap of each
    band with their shift less the drive there and back, scaled down to their working-hours
    cap less both drives, and that whole day to each skill/gender column they have.

    Returns ``ask`` (visit × column), ``offer`` (carer × part × column) and the number of
    skill/gender columns (which come last).
    """
    visits, carers = problem.visits, problem.carers
    dur = np.array([v.duration_s for v in visits], dtype=np.float64)
    # A call also costs the drive to it: rural parts need more carer hours per call hour.
    locs = np.unique([v.location for v in visits])
    if locs.size > 1:
        near = problem.travel_s[0][np.ix_(locs, locs)].astype(np.float64)
        np.fill_diagonal(near, np.inf)
        drive = dict(zip(locs.tolist(), near.min(axis=1).tolist(), strict=True))
        dur = dur + np.array([drive[v.location] for v in visits])
    opens = np.array([v.window_start_s for v in visits], dtype=np.int64)
    s0 = np.array([c.shift_start_s for c in carers], dtype=np.float64)[:, None]
    s1 = np.array([c.shift_end_s for c in carers], dtype=np.float64)[:, None]
    cap = np.array([c.work_cap_s for c in carers], dtype=np.float64)[:, None]
    edges = np.arange(0, max(int(opens.max(initial=0)), int(s1.max(initial=0))) + _BAND_S, _BAND_S)
    n_bands = edges.size
    band = np.minimum(opens // _BAND_S, n_bands - 1)
    ask = np.zeros((len(visits), n_bands))
    ask[np.arange(len(visits)), band] = dur
    lo, hi = edges[None, None, :], edges[None, None, :] + _BAND_S
    first, last = (s0 + commute)[..., None], (s1 - commute)[..., None]
    offer = np.clip(np.minimum(last, hi) - np.maximum(first, lo), 0, None)
    work = np.clip(cap - 2 * commute, 0, None)
    offer *= np.minimum(1.0, work / np.maximum(offer.sum(axis=2), 1.0))[..., None]
    day = offer.sum(axis=2)
    extra_ask, extra_offer = [], []
    for skill in sorted({s for v in visits for s in v.skills}):
        extra_ask.append(
            [d if skill in v.skills else 0.0 for v, d in zip(visits, dur, strict=True)]
        )
        extra_offer.append(day * np.array([skill in c.skills for c in carers])[:, None])
    for gender in sorted({v.gender for v in visits if v.gender}):
        extra_ask.append(
            [d if v.gender == gender else 0.0 for v, d in zip(visits, dur, strict=True)]
        )
        extra_offer.append(day * np.array([c.gender == gender for c in carers])[:, None])
    if extra_ask:  # skills and genders come last
        ask = np.column_stack([ask, *(np.array(x) for x in extra_ask)])
        offer = np.concatenate([offer, np.stack(extra_offer, axis=2)], axis=2)
    return ask, offer, len(extra_ask)


def share_carers(
    problem: Problem, part_of_visit: IntArray, n_parts: int, gap: np.ndarray, commute: np.ndarray
) -> IntArray:
    """Part of each carer: capacity follows demand per time band and skill, nearest first.

    Each part is owed carer hours in every band (and skill) in proportion to the hours its
    calls need there. Repeatedly the part furthest below what it is owed in some time band
    takes the nearest unassigned carer (smallest ``gap``) who offers it hours in that band,
    a carer without a skill the part is short of counting as further away. A carer's hours
    count net of the drive to the part and back (``commute``), so a town whose carers
    live an hour away gets more of them. Sharing carers by call counts instead left parts
    with evening calls and morning carers, or with carers who spent the morning peak
    driving in: whole parts' worth of calls unplaced. The hours each part gets this way
    are then given again by the carers who drive least (``nearest_carers_for``), holding
    what each part is owed.
    """
    m = problem.num_carers
    ask, offer, n_extra = _bands(problem, commute)
    need = np.zeros((n_parts, ask.shape[1]))
    np.add.at(need, part_of_visit, ask)
    n_bands = int(ask.shape[1] - n_extra)
    # Hours owed per hour of calls: one county-wide ratio across time bands (a band with
    # few calls and many carers, like lunch, must not pull whole teams into the parts that
    # have its few calls), and the county ratio of each skill on its own; carers counted
    # at home (the ratio is what the county has, the commute is the part's loss).
    home = _bands(problem, np.zeros((m, 1)))[1][:, 0, :]
    ratio = home.sum(axis=0) / np.maximum(ask.sum(axis=0), 1.0)
    ratio[:n_bands] = home[:, :n_bands].sum() / max(ask[:, :n_bands].sum(), 1.0)
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
        # Only bands some free carer still offers the part hours in can be topped up.
        short[~(offer[free] > 0).any(axis=0)] = -np.inf
        if not np.isfinite(short[:, :n_bands]).any():
            short[:, :n_bands] = -got[:, :n_bands].sum(axis=1, keepdims=True)
        flat = int(np.argmax(short[:, :n_bands]))
        j, b = divmod(flat, n_bands)
        pool = free & (offer[:, j, b] > 0)
        if not pool.any():
            pool = free
        cand = np.flatnonzero(pool)
        lacking = (short[j, n_bands:] > 0)[None, :] & (offer[cand, j, n_bands:] <= 0)
        k = int(cand[np.argmin(gap[cand, j] * (1.0 + lacking.sum(axis=1)))])
        assigned[k] = j
        free[k] = False
        got[j] += offer[k, j]
    # The greedy gives each part its hours from the carers nearest it at its turn, so the
    # parts served last get the carers nobody nearer took. Chosen over all parts at once,
    # the same hours cost much less driving: the carers' median drive to their part's
    # calls, there and back, 449 h against 379 h on the county benchmark (seed 0), and a
    # 120 s day's travel after the first repair 414-418 h against 445-449 h (benchmark runs,
    # sessions 18 and 19).
    due = np.where(need > 0, got, 0.0)
    return nearest_carers_for(offer, due, np.minimum(due, owed), gap, fallback=assigned)


def nearest_carers_for(
    offer: np.ndarray, due: np.ndarray, floor: np.ndarray, gap: np.ndarray, *, fallback: IntArray
) -> IntArray:
    """Part of each carer: the least total ``gap`` that gives every part the hours ``due``
    to it in every column (band, skill, gender), as one linear programme (HiGHS). Hours
    between ``due`` and ``floor`` may be given up at ``_SHORT_S`` per second, hours below
    ``floor`` at ``_SHORT_OF_FLOOR_S`` (prices in seconds of ``gap``).

    ``offer`` is carer × part × column, ``due`` and ``floor`` part × column, ``gap``
    carer × part. A carer split between parts goes to the part holding most of them; where
    HiGHS finds no answer, ``fallback`` (one part per carer) stands.
    """
    m, n_parts = gap.shape
    n_x = m * n_parts
    rows_j, rows_c = np.nonzero(due > 0)
    n_rows = rows_j.size
    rows = np.arange(n_rows)
    # Row r: hours of the carers in part rows_j[r], column rows_c[r], plus its shortfall
    # above its floor, then below it, at least its due. x[k, j] is variable k * n_parts + j.
    hours = offer[:, rows_j, rows_c]
    ks, rs = np.nonzero(hours > 0)
    covers = sparse.csr_matrix(
        (
            np.concatenate([-hours[ks, rs], -np.ones(2 * n_rows)]),
            (
                np.concatenate([rs, rows, rows]),
                np.concatenate([ks * n_parts + rows_j[rs], n_x + rows, n_x + n_rows + rows]),
            ),
        ),
        shape=(n_rows, n_x + 2 * n_rows),
    )
    n_vars = covers.shape[1]
    one_part_each = sparse.csr_matrix(
        (np.ones(n_x), (np.repeat(np.arange(m), n_parts), np.arange(n_x))), shape=(m, n_vars)
    )
    due_rows = due[rows_j, rows_c]
    bounds = np.zeros((n_vars, 2))
    bounds[:, 1] = np.inf
    bounds[:n_x, 1] = 1.0
    bounds[n_x : n_x + n_rows, 1] = np.maximum(0.0, due_rows - floor[rows_j, rows_c])
    found = linprog(
        np.concatenate(
            [gap.ravel(), np.full(n_rows, _SHORT_S), np.full(n_rows, _SHORT_OF_FLOOR_S)]
        ),
        A_ub=covers,
        b_ub=-due_rows,
        A_eq=one_part_each,
        b_eq=np.ones(m),
        bounds=bounds,
        method="highs",
    )
    if found.status != 0:
        return fallback
    return np.argmax(found.x[:n_x].reshape(m, n_parts), axis=1).astype(np.int64)


def round_trip_matrix(problem: Problem) -> np.ndarray:
    """Seconds there and back between every two locations at the first travel mode: the
    symmetric distance the cuts are made by."""
    travel = problem.travel_s[0]
    return travel + travel.T


def _bisect(
    weight: np.ndarray, unit_locs: IntArray, sym: np.ndarray, max_size: int, seed: int
) -> list[IntArray]:
    """Groups of unit indices of total ``weight`` at most about ``max_size``, by recursive
    bisection: two far-apart units, the others ordered by how much nearer they are to one
    than the other, cut at the weighted median. ``sym`` is a symmetric travel matrix over
    locations and ``unit_locs`` each unit's location."""
    rng = np.random.default_rng(seed)
    groups: list[IntArray] = []
    stack: list[IntArray] = [np.arange(unit_locs.size, dtype=np.int64)]
    while stack:
        units = stack.pop()
        total = int(weight[units].sum())
        if total <= max_size or units.size < 2:
            groups.append(units)
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
    return groups


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
    sym = round_trip_matrix(problem)
    unit_of_visit, unit_locs = _units(problem)
    weight = np.bincount(unit_of_visit, minlength=unit_locs.size)
    carer_start = np.array([c.start_location for c in problem.carers], dtype=np.int64)
    today = np.array([v.carer for v in problem.visits], dtype=np.int64)
    parts_units = _bisect(weight, unit_locs, sym, max_part_visits, seed)

    n_parts = len(parts_units)
    part_of_unit = np.empty(unit_locs.size, dtype=np.int64)
    for j, units in enumerate(parts_units):
        part_of_unit[units] = j
    part_of_visit = part_of_unit[unit_of_visit]
    gap = np.empty((m, n_parts))
    commute = np.empty((m, n_parts))
    modes = np.array([c.travel_mode for c in problem.carers], dtype=np.int64)
    for j, units in enumerate(parts_units):
        sample = unit_locs[units[:: max(1, units.size // 40)]]
        gap[:, j] = np.median(sym[np.ix_(carer_start, sample)], axis=1)
        for mode, matrix in enumerate(problem.travel_s):
            ks = modes == mode
            commute[ks, j] = np.median(matrix[np.ix_(carer_start[ks], sample)], axis=1)
    for k in range(m):
        mine = np.flatnonzero(today == k)
        if mine.size:
            home_part = np.bincount(part_of_visit[mine], minlength=n_parts).argmax()
            gap[k, home_part] *= 0.5
    assigned = share_carers(problem, part_of_visit, n_parts, gap, commute)
    parts = [
        Part(np.flatnonzero(part_of_visit == j), np.flatnonzero(assigned == j))
        for j in range(n_parts)
    ]
    parts.sort(key=lambda p: int(p.visits[0]) if p.visits.size else n)
    return parts


def regroup(
    problem: Problem,
    rounds: Sequence[Sequence[int]],
    *,
    max_part_visits: int,
    seed: int,
    pending: Sequence[int] = (),
    feasible: np.ndarray | None = None,
    round_trip_s: np.ndarray | None = None,
) -> list[Part]:
    """Parts of carers whose current rounds lie near each other, each with their rounds' visits.

    For an improvement pass after stitching: the cuts fall elsewhere than the first
    decomposition's (another seed, carers placed by their round's middle rather than calls
    by their homes), so rounds split by a first-pass boundary meet in one part. Carers
    sharing a double-up stay together. Calls in no round are left out, except ``pending``
    ones, which join the part of the feasible carer (``feasible``, visit × carer) whose
    round's middle is nearest (both halves of a double-up with the first half).

    Parameters
    ----------
    problem
        The whole day.
    rounds
        One sequence of visit indices per carer.
    max_part_visits
        Target largest part (a part's visits plus one per carer).
    seed
        Chooses the first pivot of each bisection.
    round_trip_s
        ``round_trip_matrix(problem)``, for a caller that regroups one day many times
        (a tenth of a second each time on a county day).
    """
    m = problem.num_carers
    sym = round_trip_matrix(problem) if round_trip_s is None else round_trip_s
    loc = np.array([v.location for v in problem.visits], dtype=np.int64)
    anchor = np.array([c.start_location for c in problem.carers], dtype=np.int64)
    for k, seq in enumerate(rounds):
        if seq:
            here = loc[list(seq)]
            anchor[k] = here[np.argmin(sym[np.ix_(here, here)].sum(axis=1))]
    parent = np.arange(m)

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = int(parent[x])
        return x

    carer_of = np.full(problem.num_visits, -1, dtype=np.int64)
    for k, seq in enumerate(rounds):
        carer_of[list(seq)] = k
    for a, b in problem.sync_pairs:
        ka, kb = int(carer_of[a]), int(carer_of[b])
        if ka >= 0 and kb >= 0:
            ra, rb = find(ka), find(kb)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    root = np.array([find(k) for k in range(m)], dtype=np.int64)
    unit_roots, unit_of_carer = np.unique(root, return_inverse=True)
    size = np.array([len(r) + 1 for r in rounds], dtype=np.int64)
    weight = np.bincount(unit_of_carer, weights=size).astype(np.int64)
    unit_anchor = anchor[unit_roots]
    groups = _bisect(weight, unit_anchor, sym, max_part_visits, seed)
    group_of_carer = np.empty(m, dtype=np.int64)
    for g, units in enumerate(groups):
        group_of_carer[np.isin(unit_of_carer, units)] = g
    extra: list[list[int]] = [[] for _ in groups]
    partner = problem.partner
    waiting = set(pending)
    for i in sorted(waiting):
        if partner[i] >= 0 and partner[i] < i and partner[i] in waiting:
            continue
        ok = np.ones(m, dtype=bool) if feasible is None else feasible[i]
        if not ok.any():
            continue
        ks = np.flatnonzero(ok)
        g = int(group_of_carer[ks[np.argmin(sym[anchor[ks], loc[i]])]])
        extra[g].append(i)
        if partner[i] >= 0 and partner[i] in waiting:
            extra[g].append(int(partner[i]))
    parts = []
    for g, units in enumerate(groups):
        carers = np.flatnonzero(np.isin(unit_of_carer, units))
        members = [i for k in carers.tolist() for i in rounds[k]] + extra[g]
        parts.append(Part(np.sort(np.array(members, dtype=np.int64)), carers))
    parts.sort(key=lambda p: int(p.carers[0]))
    return parts
