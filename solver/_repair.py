"""Cross-part repair: put calls the parts could not place into any carer's round that fits.

Decomposition confines a call to the carers of its part; a part short of carers leaves calls
out that a neighbouring part's round could take. After stitching, each pass prices every
left-out call in every gap of every round at once (``PlacementIndex``), re-times the few
cheapest candidate rounds exactly (windows, shift, working-hours cap, double-up partners'
starts held), then inserts the cheapest ones, at most one per round per pass so the prices
stay exact. A left-out double-up goes in as a pair: its halves into two carers' rounds at
starts that meet its start-gap band, both held while the rounds are re-timed (a double-up
the decomposition left with one qualified carer in its part is served this way, with a
neighbouring part's carer). On a soft-window day a call may go in late, its lateness
weighted as in the objective. When no call fits a gap as the rounds stand, a pass tries one
ejection per single call instead: put the call into a round at its cheapest gap, or in
the place of the call it ejects, take out one of that round's single calls so the round
stays feasible, and insert the ejected call into another round; where no round takes it
as it stands, it goes in by an ejection of its own (a chain of two), as in the morning
peak, when a call needing a rare skill finds every qualified carer's round full.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from solver._precheck import latest_starts
from solver.baseline import evaluate_rounds
from solver.insertion import PlacementIndex
from solver.problem import BoolArray, IntArray, Problem
from solver.solution import Solution

# Candidate gaps re-timed exactly per left-out call and pass (cheapest first).
_CANDIDATES = 12
# Cheapest gaps per half of a left-out double-up paired up with the other half's, at most
# _PAIR_PER_ROUND from one round (the two halves need two rounds: one busy round near the
# home would otherwise fill both lists).
_PAIR_SIDE = 12
_PAIR_PER_ROUND = 3
# Rounds tried per left-out call in an ejection pass (cheapest gaps at the right time),
# and per ejected call where no round takes it as it stands (a chain of two ejections).
_EJECT_ROUNDS = 40
_CHAIN_ROUNDS = 8

_Timed = tuple[list[int], int]


def _retime(
    problem: Problem,
    k: int,
    seq: Sequence[int],
    latest: IntArray,
    pinned: dict[int, int],
) -> _Timed | None:
    """Starts and departure for carer ``k`` doing ``seq``, or ``None`` if it cannot.

    Earliest starts forward give the earliest return home; starts are then pushed as late
    as that return allows (backward pass), so the carer leaves as late as helps and the
    working span is the least the sequence allows. Double-up halves in ``pinned`` keep
    their start, so their partners' rounds are untouched.
    """
    carer = problem.carers[k]
    if not seq:
        return [], carer.shift_start_s
    travel = problem.travel_s[carer.travel_mode]
    visits = problem.visits
    t, here, early = carer.shift_start_s, carer.start_location, []
    load = 0
    for i in seq:
        v = visits[i]
        start = max(t + int(travel[here, v.location]), v.window_start_s)
        if i in pinned:
            if start > pinned[i]:
                return None
            start = pinned[i]
        if start > latest[i]:
            return None
        early.append(start)
        load += v.load_units
        t, here = start + v.duration_s, v.location
    back = t + int(travel[here, carer.end_location])
    if back > carer.shift_end_s:
        return None
    if carer.capacity_units is not None and load > carer.capacity_units:
        return None
    late = list(early)
    for j in range(len(seq) - 2, -1, -1):
        i, nxt = seq[j], seq[j + 1]
        if i in pinned:
            continue
        room = late[j + 1] - int(travel[visits[i].location, visits[nxt].location])
        late[j] = max(early[j], min(int(latest[i]), room - visits[i].duration_s))
    depart = late[0] - int(travel[carer.start_location, visits[seq[0]].location])
    if back - depart > carer.work_cap_s:
        return None
    return late, depart


def _pins(problem: Problem, seq: Sequence[int], start_s: dict[int, int]) -> dict[int, int]:
    partner = problem.partner
    return {i: start_s[i] for i in seq if partner[i] >= 0}


def _price(
    problem: Problem, index: PlacementIndex, latest: IntArray, feasible: BoolArray, i: int
) -> tuple[dict[str, IntArray], BoolArray, IntArray]:
    """Call ``i`` priced in every gap: ``price``'s answer, where it fits, and its cost there.

    It fits where a qualified carer can start it by ``latest[i]``, so on a soft-window day
    it may start late (a late call costs far less than an unserved one). The cost is the
    objective's weight on the added travel plus, at the earliest start, on the lateness;
    with hard windows that orders gaps by added travel alone.
    """
    call, obj = problem.visits[i], problem.objective
    priced = index.price(call, max_lateness_s=max(0, int(latest[i]) - call.latest_start_s))
    ok = priced["ok"] & feasible[i][index.gap_carer]
    late = np.maximum(0, priced["start"] - call.latest_start_s)
    return priced, ok, obj.travel_weight * priced["added"] + obj.lateness_weight * late


def _first_fit(
    problem: Problem,
    index: PlacementIndex,
    rounds: list[list[int]],
    start_s: dict[int, int],
    latest: IntArray,
    i: int,
    ok: BoolArray,
    cost: IntArray,
    skip: set[int],
) -> tuple[int, int, list[int], _Timed] | None:
    """Cheapest of the best ``_CANDIDATES`` gaps where call ``i`` goes in, re-timed exactly."""
    gaps = np.flatnonzero(ok & ~np.isin(index.gap_carer, list(skip)))
    if not gaps.size:
        return None
    gaps = gaps[np.argsort(cost[gaps], kind="stable")[:_CANDIDATES]]
    for g in gaps.tolist():
        k, pos = int(index.gap_carer[g]), int(index.gap_pos[g])
        trial = [*rounds[k][:pos], i, *rounds[k][pos:]]
        timed = _retime(problem, k, trial, latest, _pins(problem, rounds[k], start_s))
        if timed is not None:
            return int(cost[g]), k, trial, timed
    return None


def _rank_in_round(carers: IntArray) -> IntArray:
    """For gaps in cost order (their carers given), how many cheaper gaps share the round."""
    by_carer = np.argsort(carers, kind="stable")
    sorted_carers = carers[by_carer]
    rank = np.empty_like(by_carer)
    rank[by_carer] = np.arange(carers.size) - np.searchsorted(sorted_carers, sorted_carers)
    return rank


def _pair_fit(
    problem: Problem,
    index: PlacementIndex,
    rounds: list[list[int]],
    start_s: dict[int, int],
    latest: IntArray,
    a: int,
    b: int,
    feasible: BoolArray,
) -> tuple[int, list[tuple[int, list[int], _Timed]]] | None:
    """Cheapest way to put double-up ``(a, b)`` into two carers' rounds, re-timed exactly.

    Each half takes its ``_PAIR_SIDE`` cheapest gaps among its own qualified carers
    (``_price``), at most ``_PAIR_PER_ROUND`` from one round; every pairing of a gap for ``a`` with one for ``b`` in another carer's
    round gets the earliest starts that meet the start-gap band inside both gaps' start
    windows (``PlacementIndex.pair_starts``). The ``_CANDIDATES`` cheapest pairings (added
    travel, and lateness at those starts, as weighted in the objective) are re-timed
    exactly, each new half pinned at its start so the band holds whatever else moves, and
    the first where both rounds stay feasible is returned: its cost and, per round,
    ``(carer, new round, (starts, departure))``.
    """
    visits, obj = problem.visits, problem.objective
    sides = []
    for i in (a, b):
        priced, ok, cost = _price(problem, index, latest, feasible, i)
        gaps = np.flatnonzero(ok)
        if not gaps.size:
            return None
        gaps = gaps[np.argsort(cost[gaps], kind="stable")]
        gaps = gaps[_rank_in_round(index.gap_carer[gaps]) < _PAIR_PER_ROUND]
        sides.append((priced, gaps[:_PAIR_SIDE]))
    (first, gaps_a), (second, gaps_b) = sides
    ga, gb = np.repeat(gaps_a, gaps_b.size), np.tile(gaps_b, gaps_a.size)
    keep = index.gap_carer[ga] != index.gap_carer[gb]
    ga, gb = ga[keep], gb[keep]
    start_a, start_b, ok = PlacementIndex.pair_starts(visits[a], first, ga, second, gb)
    late = np.maximum(0, start_a - visits[a].latest_start_s)
    late += np.maximum(0, start_b - visits[b].latest_start_s)
    added = first["added"][ga] + second["added"][gb]
    cost = obj.travel_weight * added + obj.lateness_weight * late
    cand = np.flatnonzero(ok)
    for c in cand[np.argsort(cost[cand], kind="stable")[:_CANDIDATES]].tolist():
        moves = []
        for i, g, t in ((a, ga[c], start_a[c]), (b, gb[c], start_b[c])):
            k, pos = int(index.gap_carer[g]), int(index.gap_pos[g])
            trial = [*rounds[k][:pos], i, *rounds[k][pos:]]
            timed = _retime(
                problem, k, trial, latest, _pins(problem, rounds[k], start_s) | {i: int(t)}
            )
            if timed is None:
                break
            moves.append((k, trial, timed))
        else:
            return int(cost[c]), moves
    return None


@dataclass(frozen=True)
class _Sweep:
    """What one ejection sweep's searches share: the day, the gap index and prices as the
    rounds were when it began, the rounds and starts (changed in place between calls
    placed), and the sweep's deadline."""

    problem: Problem
    index: PlacementIndex
    rounds: list[list[int]]
    start_s: dict[int, int]
    feasible: BoolArray
    latest: IntArray
    price: Callable[[int], dict[str, IntArray]]
    deadline: float


def _eject(
    problem: Problem,
    index: PlacementIndex,
    rounds: list[list[int]],
    start_s: dict[int, int],
    depart_s: list[int],
    pending: set[int],
    feasible: BoolArray,
    latest: IntArray,
    deadline: float,
) -> int:
    """One ejection per left-out single call where one works, else a chain of two; returns
    calls placed. Rounds changed here are not offered again in this sweep (the index's
    prices are for the rounds as they were)."""
    partner = problem.partner
    touched: set[int] = set()
    cache: dict[int, dict[str, IntArray]] = {}  # prices, rounds as they were

    def price(i: int) -> dict[str, IntArray]:
        if i not in cache:
            cache[i] = index.price(problem.visits[i])
        return cache[i]

    sweep = _Sweep(problem, index, rounds, start_s, feasible, latest, price, deadline)
    placed = 0
    for i in sorted(pending):
        if partner[i] >= 0:
            continue
        if time.perf_counter() > deadline:
            break
        moves = None
        for depth in (1, 2):
            moves = _ejection(sweep, i, touched, depth=depth, n_rounds=_EJECT_ROUNDS)
            if moves is not None:
                break
        if moves is None:
            continue
        for k, seq, (starts, depart) in moves:
            rounds[k] = seq
            start_s.update(zip(seq, starts, strict=True))
            depart_s[k] = depart
            touched.add(k)
        pending.discard(i)
        placed += 1
    return placed


def _ejection(
    sweep: _Sweep, i: int, skip: set[int], *, depth: int, n_rounds: int
) -> list[tuple[int, list[int], _Timed]] | None:
    """Moves that put single call ``i`` into a round (carers in ``skip`` excepted) by taking
    out one of its single calls, which goes into another round: as it stands with
    ``depth`` 1, by an ejection of its own (``depth`` - 1, among ``_CHAIN_ROUNDS`` rounds)
    otherwise. ``None`` when none is found.

    The rounds tried are the ``n_rounds`` with the cheapest gaps where ``i`` could start in
    its window (ignoring the push on later calls); in each, ``i`` goes to that gap or into
    the ejected call's place, whichever the round's times allow first. Each changed round
    is re-timed exactly (``_retime``), so the moves keep every round feasible.
    """
    problem, index, rounds, latest = sweep.problem, sweep.index, sweep.rounds, sweep.latest
    partner = problem.partner
    priced = sweep.price(i)
    near = priced["start"] <= latest[i]
    near &= sweep.feasible[i][index.gap_carer]
    near &= ~np.isin(index.gap_carer, list(skip))
    gaps = np.flatnonzero(near)
    gaps = gaps[np.argsort(priced["added"][gaps], kind="stable")]
    tried: set[int] = set()
    for g in gaps.tolist():
        k = int(index.gap_carer[g])
        if k in tried:
            continue
        tried.add(k)
        if len(tried) > n_rounds:
            break
        pos = int(index.gap_pos[g])
        seq = rounds[k]
        pinned = _pins(problem, seq, sweep.start_s)
        for out in range(len(seq)):
            x = seq[out]
            if partner[x] >= 0:
                continue
            timed = None
            # The call at its cheapest gap, else in the ejected call's place (the gap its
            # window needs is often not the cheapest, and is where ``x`` was).
            for at in dict.fromkeys((pos - (1 if out < pos else 0), out)):
                trial = seq[:out] + seq[out + 1 :]
                trial.insert(at, i)
                timed = _retime(problem, k, trial, latest, pinned)
                if timed is not None:
                    break
            if timed is None:
                continue
            if time.perf_counter() > sweep.deadline:
                return None
            if depth > 1:
                onward = _ejection(sweep, x, skip | {k}, depth=depth - 1, n_rounds=_CHAIN_ROUNDS)
                if onward is not None:
                    return [(k, trial, timed), *onward]
                continue
            other = sweep.price(x)
            ok = other["ok"] & sweep.feasible[x][index.gap_carer]
            fit = _first_fit(
                problem, index, rounds, sweep.start_s, latest, x, ok, other["added"], skip | {k}
            )
            if fit is not None:
                _, k2, trial2, timed2 = fit
                return [(k, trial, timed), (k2, trial2, timed2)]
    return None


def repair(
    problem: Problem,
    solution: Solution,
    feasible: BoolArray,
    *,
    deadline: float,
    max_passes: int = 50,
) -> tuple[list[list[int]], dict[int, int], list[int]]:
    """Insert left-out single calls and double-ups where they fit, cheapest first.

    Returns the new rounds, start times and departure times (for ``evaluate_rounds``).
    ``feasible`` (visit × carer) carries skills, gender, provider rights and shift reach;
    the provider-change cap is not re-checked here, so callers with a cap skip repair.
    Every changed round is re-timed exactly (windows, shift end, working-hours cap,
    double-up partners' starts unchanged), so repair never makes a round infeasible. A
    pass starts only if its fixed steps (as long as the last pass's) end by ``deadline``.
    """
    rounds = [list(r.visits) for r in solution.routes]
    start_s = {i: s for r in solution.routes for i, s in zip(r.visits, r.start_s, strict=True)}
    depart_s = [r.depart_s for r in solution.routes]
    partner = problem.partner
    latest = latest_starts(problem)
    pending = {u.visit for u in solution.unserved if feasible[u.visit].any()}
    current = solution
    fixed_s = 0.0  # time of the pass's steps that cannot stop half-way (index, costing)
    for _ in range(max_passes):
        if not pending or time.perf_counter() + fixed_s > deadline:
            break
        started = time.perf_counter()
        index = PlacementIndex(problem, current)
        fixed_s = time.perf_counter() - started
        # (estimated cost, calls, [(carer, new round, (starts, departure))])
        offers: list[tuple[int, tuple[int, ...], list[tuple[int, list[int], _Timed]]]] = []
        for i in sorted(pending):
            if time.perf_counter() > deadline:
                break
            if partner[i] >= 0:
                if partner[i] < i or partner[i] not in pending:
                    continue
                pair = _pair_fit(
                    problem, index, rounds, start_s, latest, i, int(partner[i]), feasible
                )
                if pair is not None:
                    offers.append((pair[0], (i, int(partner[i])), pair[1]))
                continue
            _, ok, cost = _price(problem, index, latest, feasible, i)
            fit = _first_fit(problem, index, rounds, start_s, latest, i, ok, cost, set())
            if fit is not None:
                cost_i, k, trial, timed = fit
                offers.append((cost_i, (i,), [(k, trial, timed)]))
        touched: set[int] = set()
        inserted = 0
        for _, calls, moves in sorted(offers, key=lambda o: (o[0], o[1])):
            if any(k in touched for k, _, _ in moves):
                continue
            for k, trial, (starts, depart) in moves:
                rounds[k] = trial
                start_s.update(zip(trial, starts, strict=True))
                depart_s[k] = depart
                touched.add(k)
            pending.difference_update(calls)
            inserted += 1
        if not inserted and not _eject(
            problem, index, rounds, start_s, depart_s, pending, feasible, latest, deadline
        ):
            break
        started = time.perf_counter()
        # Every call still out already has its reason; naming them spares a pre-check.
        placed = {i for r in rounds for i in r}
        left_out = [u for u in solution.unserved if u.visit not in placed]
        current = evaluate_rounds(
            problem, rounds, start_s=start_s, depart_s=depart_s, unserved=left_out
        )
        fixed_s += time.perf_counter() - started
        # Keep the stored starts in step with the re-timed rounds.
        start_s = {i: s for r in current.routes for i, s in zip(r.visits, r.start_s, strict=True)}
        depart_s = [r.depart_s for r in current.routes]
    return rounds, start_s, depart_s
