"""Re-allocate a day's calls across carers and providers to shorten rounds."""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, replace
from functools import partial

import numpy as np

from solver import _ortools_engine
from solver._decompose import Part, decompose, regroup
from solver._lns import solve_lns
from solver._precheck import precheck
from solver._pyvrp_engine import solve_with_pyvrp, unsupported_reason
from solver._reassign import reassign_halves, reassign_rounds
from solver._repair import repair
from solver.baseline import (
    evaluate_rounds,
    just_in_time_departures,
    round_stops,
    today_rounds,
)
from solver.errors import EngineError, InvalidRoundsError
from solver.params import ReallocationParams
from solver.problem import BoolArray, IntArray, Policy, Problem
from solver.solution import Solution, SolveStats, Unserved, UnservedReason

logger = logging.getLogger(__name__)

_ENGINE_OF_STATUS = {"pyvrp": "pyvrp", "lns": "lns"}

# Share of the budget kept back for stitching and the cross-part repair of a decomposed day.
# On the county benchmark at 120 s (32 PyVRP parts, 182 calls left out) stitching took
# 0.5 s and the repair placed 79 calls in 3.6 s, then had nothing more to try; the repair
# stops at the deadline by itself.
_OVERHEAD_SHARE = 0.06
_ORTOOLS_WEIGHT = 2.0
# A part's time outside its search limit (model building, pickling) before any is measured.
_FIRST_OVERHEAD_S = 0.5
_MIN_PART_S = 0.1
# Share of a decomposed day's search time given to re-solving regions across part
# boundaries from the stitched rounds (PyVRP warm-started), in passes with cuts in
# different places. County benchmark at 120 s, quiet machine (23 Nov):
# 0.6 in three passes 5,925 served / 464.8 h travel; 0.7 in six 5,919 / 455.8 h. Under
# load 2.7: parts only 5,896 / 502 h; 0.3 in one pass 5,901 / 490 h. With OR-Tools
# regions (cold parts, session 2) it gave nothing.
_IMPROVE_SHARE = 0.7
# Lane time per region in a pass, so a longer budget buys more passes (new cuts) rather
# than longer searches in the same regions. On 56 county regions, PyVRP warm-started cut
# their travel 2.0 % in 0.2 s each and 3.6 % in 3 s (about 0.1 s of each is the first
# exhaustive local search), while each new pass cut the day's travel 1-4 %. County day
# at 120 s (one run each, noise about ±5 h): six passes 459.3 h; twelve 443.5-452.4 h;
# 0.15 s per region 448.2 h; 0.25 s 437.0-447.7 h. With the hand-over (session 6): 0.25 s
# 401.9-406.4 h; 0.15 s 401.8 h but 26 fewer served; 0.5 s 408.3 h; share 0.85 398.8 h
# but 39 fewer served. Session 8, eight passes' worth of time (75 s) from one saved state,
# four seeds each: 0.25 s 379.3 h (376.0-381.9); 0.12 s 378.1 h; 0.1 s (the engines'
# floor, ``_MIN_PART_S``) 375.1 h (372.9-378.8), with 18 passes instead of 9; 0.05 s
# (floor lowered) 384.6 h. Three 120 s runs each: 0.1 s 379.0-384.9 h, 0.25 s 385.1-392.3 h.
_REGION_S = 0.1
# The same for regions OR-Tools searches (e.g. soft windows, which PyVRP cannot cost): its
# model takes longer to build, and 0.25 s is what the product day was measured with.
_ORTOOLS_REGION_S = 0.25
# The main process's longest stretch without taking in a region's answer: a hand-over and
# the next pass's regrouping (0.45 s on the county day, more while the lanes share its
# cores). The lanes are kept this far ahead of it, so they never wait for it.
_MAIN_BUSY_S = 0.6
# A region's time in a lane beyond its search (model building, the answer's conversion)
# before any is measured, and beyond what the lane measures (pickling both ways).
_FIRST_REGION_OVERHEAD_S = 0.02
_REGION_TRANSFER_S = 0.005

# Share of a part's limit OR-Tools gets to place double-ups before PyVRP routes the rest.
_PIN_SHARE = 0.25


def _subproblem(problem: Problem, part: Part) -> Problem:
    """The part as a problem of its own, with locations and carers renumbered."""
    carer_new = np.full(problem.num_carers, -1, dtype=np.int64)
    carer_new[part.carers] = np.arange(part.carers.size)
    locs = sorted(
        {problem.visits[i].location for i in part.visits}
        | {problem.carers[k].start_location for k in part.carers}
        | {problem.carers[k].end_location for k in part.carers}
    )
    loc_new = {x: j for j, x in enumerate(locs)}
    visits = [
        replace(
            problem.visits[i],
            location=loc_new[problem.visits[i].location],
            carer=int(carer_new[problem.visits[i].carer]) if problem.visits[i].carer >= 0 else -1,
        )
        for i in part.visits
    ]
    carers = [
        replace(
            problem.carers[k],
            start_location=loc_new[problem.carers[k].start_location],
            end_location=loc_new[problem.carers[k].end_location],
        )
        for k in part.carers
    ]
    ix = np.ix_(locs, locs)
    eligible = problem.policy.eligible
    policy = Policy(
        eligible=None if eligible is None else eligible[:, part.visits],
        max_provider_changes=problem.policy.max_provider_changes,
        carer_change_penalty=problem.policy.carer_change_penalty,
    )
    return Problem(
        visits=tuple(visits),
        carers=tuple(carers),
        travel_s=tuple(t[ix] for t in problem.travel_s),
        distance_m=None,
        policy=policy,
        objective=problem.objective,
        n_providers=problem.n_providers,
    )


def _uses_pyvrp(problem: Problem, params: ReallocationParams, cap: int | None) -> bool:
    """Whether a part goes to PyVRP: allowed by ``params`` and modelable there."""
    return params.engine != "ortools" and cap is None and unsupported_reason(problem) is None


def _uses_lns(problem: Problem, params: ReallocationParams, cap: int | None) -> bool:
    """Whether a part goes to the LNS: double-ups or soft windows, no provider-change cap."""
    needs = len(problem.sync_pairs) > 0 or not problem.objective.hard_windows
    return needs and cap is None and params.lns_iterations_per_solution > 0


def _uses_pinned_pyvrp(problem: Problem, params: ReallocationParams, cap: int | None) -> bool:
    """Whether a part with double-ups goes to OR-Tools, then PyVRP with them pinned."""
    return (
        params.engine == "pyvrp"
        and cap is None
        and unsupported_reason(problem, pins_double_ups=True) is None
    )


def _region_s(problem: Problem, params: ReallocationParams) -> float:
    """Lane time per region in a pass: ``_REGION_S`` where ``_solve_part`` sends the day's
    regions to PyVRP (by the rule for parts with double-ups, which covers those without),
    else ``_ORTOOLS_REGION_S``."""
    return _REGION_S if _uses_pinned_pyvrp(problem, params, None) else _ORTOOLS_REGION_S


def _pyvrp(
    problem: Problem,
    params: ReallocationParams,
    limit_s: float,
    pinned: dict[int, tuple[int, int]] | None = None,
    initial: Sequence[Sequence[int]] | None = None,
) -> Solution:
    """PyVRP on ``problem`` within ``limit_s``, leaving out calls it cannot fit.

    Loads and capacities come from the problem (``solve_with_pyvrp`` reads them)."""
    return solve_with_pyvrp(
        problem,
        replace(params, time_limit_s=max(limit_s, _MIN_PART_S)),
        optional_calls=True,
        pinned=pinned,
        initial=initial,
    )


def _result_of(solution: Solution, status: str, started: float) -> _ortools_engine.EngineResult:
    return _ortools_engine.EngineResult(
        rounds=solution.rounds,
        start_s={i: s for r in solution.routes for i, s in zip(r.visits, r.start_s, strict=True)},
        depart_s=tuple(r.depart_s for r in solution.routes),
        status=status,
        wall_s=time.perf_counter() - started,
    )


def _pins(
    problem: Problem, rounds: Sequence[Sequence[int]], start_s: dict[int, int]
) -> dict[int, tuple[int, int]]:
    """Carer and start of both halves of every double-up placed in ``rounds``."""
    carer_of = {i: k for k, r in enumerate(rounds) for i in r}
    return {
        int(i): (carer_of[int(i)], int(start_s[int(i)]))
        for pair in problem.sync_pairs
        if all(int(i) in carer_of for i in pair)
        for i in pair
    }


def _solve_pinned(
    problem: Problem,
    feasible: BoolArray,
    params: ReallocationParams,
    limit_s: float,
    initial: list[list[int]] | None,
) -> _ortools_engine.EngineResult:
    """OR-Tools places the double-ups, then PyVRP routes the rest around them; the cheaper wins.

    OR-Tools models double-ups but converges slowly; PyVRP converges fast but cannot tie two
    carers together. So OR-Tools gets ``_PIN_SHARE`` of the limit to place every call, its
    double-ups are pinned (carer and start time), and PyVRP re-routes every other call in
    the time left. The OR-Tools answer stands if PyVRP's costs more.
    """
    started = time.perf_counter()
    try:
        first: _ortools_engine.EngineResult | None = _ortools_engine.solve(
            problem, feasible, params, time_limit_s=limit_s * _PIN_SHARE, initial=initial
        )
    except EngineError as exc:
        logger.debug("part of %d visits: no OR-Tools answer to pin (%s)", problem.num_visits, exc)
        first = None
    pins = {} if first is None else _pins(problem, first.rounds, first.start_s)
    second = _pyvrp(
        problem,
        params,
        limit_s - (time.perf_counter() - started),
        pins,
        initial=None if first is None else first.rounds,
    )
    if first is not None:
        cost = evaluate_rounds(
            problem, first.rounds, start_s=first.start_s, depart_s=first.depart_s
        ).cost
        if cost <= second.cost:
            return replace(first, wall_s=time.perf_counter() - started)
    return _result_of(second, "pyvrp", started)


_Job = tuple[
    Problem,
    BoolArray,
    ReallocationParams,
    float,
    list[list[int]] | None,
    int | None,
    dict[int, int] | None,
]
"""A part to solve: problem, eligibility, params, limit (set at start), initial rounds,
provider-change cap and the start times of ``initial`` when it is a feasible answer."""


def _solve_part(args: _Job) -> _ortools_engine.EngineResult:
    """Solve one part with the engine its features and ``params`` call for (see ``reallocate``).

    ``schedule``, the last item, holds the start of every call in ``initial`` when those
    rounds are a feasible answer already (the improvement pass): PyVRP then starts from
    them, with their double-ups pinned, instead of from scratch.
    """
    problem, feasible, params, limit_s, initial, cap, schedule = args
    warm = initial if schedule is not None else None
    if _uses_pyvrp(problem, params, cap):
        started = time.perf_counter()
        return _result_of(_pyvrp(problem, params, limit_s, initial=warm), "pyvrp", started)
    if _uses_lns(problem, params, cap):
        started = time.perf_counter()
        limit = None
        if params.solution_limit is not None:
            limit = params.solution_limit * params.lns_iterations_per_solution
        found = solve_lns(
            problem,
            feasible,
            time_limit_s=limit_s,
            seed=params.seed,
            max_iterations=limit,
            initial=initial,
        )
        return _ortools_engine.EngineResult(
            rounds=found.rounds,
            start_s=found.start_s,
            depart_s=found.depart_s,
            status="lns",
            wall_s=time.perf_counter() - started,
        )
    if _uses_pinned_pyvrp(problem, params, cap):
        if warm is not None and schedule is not None:
            started = time.perf_counter()
            pins = _pins(problem, warm, schedule)
            answer = _pyvrp(problem, params, limit_s, pins, initial=warm)
            return _result_of(answer, "pyvrp", started)
        return _solve_pinned(problem, feasible, params, limit_s, initial)
    return _ortools_engine.solve(
        problem,
        feasible,
        params,
        time_limit_s=limit_s,
        initial=initial,
        max_provider_changes=cap,
    )


def _run_parts(
    jobs: list[_Job], weight: np.ndarray, *, lanes: int, deadline: float
) -> list[_ortools_engine.EngineResult]:
    """Solve every part so that the last one finishes by ``deadline`` (``perf_counter``).

    Parts start heaviest first. Each part's search limit is set when it starts: its weight's
    share of the lane time left to the deadline (lanes still busy count until their part's
    expected end), less the time a part spends outside its search (model building,
    pickling, process start), measured on the parts already done. So time lost to a loaded
    machine or a slow model is taken from the parts still to run, not added at the end.
    """
    n = len(jobs)
    order = sorted(range(n), key=lambda j: (-float(weight[j]), j))
    results: list[_ortools_engine.EngineResult | None] = [None] * n
    overhead = min(_FIRST_OVERHEAD_S, 0.05 * max(0.0, deadline - time.perf_counter()))
    left = float(weight.sum())
    remaining = n

    def limit_for(j: int, busy_until: Sequence[float]) -> float:
        now = time.perf_counter()
        idle = max(1, lanes - len(busy_until))
        lane_time = idle * max(0.0, deadline - now) + sum(
            max(0.0, deadline - max(now, b)) for b in busy_until
        )
        usable = lane_time - overhead * remaining
        return max(_MIN_PART_S, usable * float(weight[j]) / max(left, 1e-9))

    def observe(started: float, limit: float) -> None:
        nonlocal overhead
        seen = max(0.0, time.perf_counter() - started - limit)
        overhead = max(seen, 0.5 * (overhead + seen))

    if lanes <= 1:
        for j in order:
            limit = limit_for(j, ())
            left -= float(weight[j])
            remaining -= 1
            started = time.perf_counter()
            results[j] = _solve_part_or_nothing((*jobs[j][:3], limit, *jobs[j][4:]))
            observe(started, limit)
        return [r for r in results if r is not None]

    with ProcessPoolExecutor(max_workers=lanes) as pool:
        running: dict[Future[_ortools_engine.EngineResult], tuple[int, float, float]] = {}
        queue = list(order)
        while queue or running:
            while queue and len(running) < lanes:
                j = queue.pop(0)
                busy = [s + lim + overhead for _, s, lim in running.values()]
                limit = limit_for(j, busy)
                left -= float(weight[j])
                remaining -= 1
                job = (*jobs[j][:3], limit, *jobs[j][4:])
                running[pool.submit(_solve_part_or_nothing, job)] = (j, time.perf_counter(), limit)
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in sorted(done, key=lambda f: running[f][0]):
                j, started, limit = running.pop(future)
                results[j] = future.result()
                observe(started, limit)
    return [r for r in results if r is not None]


def _solve_part_or_nothing(job: _Job) -> _ortools_engine.EngineResult:
    """``_solve_part``, with a part that finds no first solution in time left unplaced.

    The cross-part repair then offers its calls to every round of the day, and what still
    does not fit is reported ``NOT_SCHEDULED``, instead of the whole day failing.
    """
    started = time.perf_counter()
    try:
        return _solve_part(job)
    except EngineError as exc:
        problem = job[0]
        if job[6] is None:
            logger.warning("part of %d visits left unplaced: %s", problem.num_visits, exc)
        else:  # an improvement region: it keeps the rounds it had
            logger.debug("region of %d visits kept as it was: %s", problem.num_visits, exc)
        return _ortools_engine.EngineResult(
            tuple(() for _ in problem.carers),
            {},
            tuple(c.shift_start_s for c in problem.carers),
            "failed",
            time.perf_counter() - started,
        )


@dataclass(frozen=True)
class _Flight:
    """A region sent to a lane: its carers and calls (whole-day indices), the calls in no
    round it was given to place, and its problem, rounds, start times and search limit as
    sent."""

    region: Part
    pending: IntArray
    sub: Problem
    init: list[list[int]]
    schedule: dict[int, int]
    limit_s: float


@dataclass(frozen=True)
class _Passes:
    """What ``_improve`` did: passes begun, regions whose answer was kept, and the time
    its last hand-over took (0 when it made none)."""

    passes: int
    better: int
    hand_over_s: float


class _InLine:
    """``ProcessPoolExecutor``'s ``submit`` for one lane: the job runs at once, here."""

    def submit(self, fn: Callable[[_Job], _ortools_engine.EngineResult], job: _Job) -> Future:
        future: Future[_ortools_engine.EngineResult] = Future()
        future.set_result(fn(job))
        return future

    def shutdown(self, *, cancel_futures: bool) -> None:
        pass


def _improve(
    problem: Problem,
    rounds: list[tuple[int, ...]],
    start_s: dict[int, int],
    depart_s: list[int],
    feasible: BoolArray,
    params: ReallocationParams,
    *,
    lanes: int,
    end: float,
    seed: int,
    around: BoolArray | None = None,
    hand_over: bool = True,
) -> _Passes:
    """Re-solve regions cut across the first parts' boundaries until ``end``, in place.

    A pass regroups the carers whose rounds lie near each other (``regroup``, a new cut
    for each pass's seed) and sends each region, in an order drawn from the seed, to a
    lane for about ``_region_s`` of search, warm-started from its current rounds; its
    answer replaces the region's rounds only when it costs less. Passes follow each other
    without waiting: the lanes are kept ``_MAIN_BUSY_S`` of regions ahead of the answers
    taken in, a region's rounds are read when it is sent, and a region holding a carer
    still out in another waits its turn, so two regions never hold one carer or one
    waiting call. With
    ``hand_over``, whole and half rounds go to the carers who drive them cheapest
    (``_hand_over``) as each pass's last region is sent, the carers out in a lane keeping
    theirs, and once more at the end. With ``around`` (one flag per carer) one pass
    searches only the regions holding a flagged carer. Answers are taken in the order the
    regions were sent, so only the clock decides where the passes stop.
    """
    region_s = _region_s(problem, params)
    ahead = 1 if lanes <= 1 else lanes + math.ceil(lanes * _MAIN_BUSY_S / region_s)
    placed = np.zeros(problem.num_visits, dtype=bool)
    for r in rounds:
        placed[list(r)] = True
    out = np.zeros(problem.num_carers, dtype=bool)  # carers in a region sent to a lane
    claimed = np.zeros(problem.num_visits, dtype=bool)  # waiting calls sent with one
    flights: deque[tuple[Future[_ortools_engine.EngineResult], _Flight]] = deque()
    queue: list[Part] = []
    passes = better = 0
    overhead_s = _FIRST_REGION_OVERHEAD_S  # a region's lane time beyond its search
    hand_over_s = 0.0
    pool: ProcessPoolExecutor | _InLine = ProcessPoolExecutor(lanes) if lanes > 1 else _InLine()

    def time_for_one_more() -> bool:
        in_lane_rounds = -(-(len(flights) + 1) // lanes)
        reserve = hand_over_s if hand_over else 0.0
        return time.perf_counter() + in_lane_rounds * (limit() + overhead_s) + reserve <= end

    def limit() -> float:
        return max(_MIN_PART_S, region_s - overhead_s)

    def send(region: Part) -> None:
        carers = region.carers.tolist()
        waiting = region.visits[~placed[region.visits] & ~claimed[region.visits]]
        visits = np.sort(np.concatenate([[i for k in carers for i in rounds[k]], waiting]))
        part = Part(visits.astype(np.int64), region.carers)
        sub = _subproblem(problem, part)
        local_of = {int(i): j for j, i in enumerate(part.visits)}
        init = [[local_of[i] for i in rounds[k]] for k in carers]
        schedule = {local_of[i]: start_s[i] for k in carers for i in rounds[k]}
        sub_feasible = feasible[np.ix_(part.visits, part.carers)]
        job = (sub, sub_feasible, params, limit(), init, None, schedule)
        flight = _Flight(part, waiting, sub, init, schedule, limit())
        flights.append((pool.submit(_solve_part_or_nothing, job), flight))
        out[part.carers] = True
        claimed[waiting] = True

    def take_in() -> None:
        nonlocal better, overhead_s
        future, flight = flights.popleft()
        result = future.result()
        region = flight.region
        out[region.carers] = False
        claimed[flight.pending] = False
        seen = max(0.0, result.wall_s - flight.limit_s) + _REGION_TRANSFER_S
        overhead_s = 0.5 * (overhead_s + seen)
        if result.status == "failed":
            return
        old = _region_cost(flight.sub, flight.init, start_s=flight.schedule)
        new = _region_cost(flight.sub, result.rounds, start_s=result.start_s)
        if new >= old:
            return
        better += 1
        placed[region.visits] = False
        for j, k in enumerate(region.carers.tolist()):
            rounds[k] = tuple(int(region.visits[i]) for i in result.rounds[j])
            depart_s[k] = result.depart_s[j]
            placed[list(rounds[k])] = True
        for i, t in result.start_s.items():
            start_s[int(region.visits[i])] = t

    def hand_over_now() -> None:
        nonlocal hand_over_s
        began = time.perf_counter()
        # Carers out in a lane keep their rounds: their region's answer is still to come.
        free = feasible & ~out[None, :] if out.any() else feasible
        _hand_over(problem, rounds, start_s, depart_s, free)
        hand_over_s = time.perf_counter() - began

    def cut(pass_seed: int) -> list[Part]:
        pending = np.flatnonzero(~placed & ~claimed & feasible.any(axis=1)).tolist()
        regions = regroup(
            problem,
            rounds,
            max_part_visits=params.max_part_visits,
            seed=pass_seed,
            pending=pending,
            feasible=feasible,
        )
        if len(regions) < 2:
            return []
        if around is not None:
            regions = [r for r in regions if around[r.carers].any()]
        order = np.random.default_rng(pass_seed).permutation(len(regions))
        return [regions[j] for j in order.tolist()]

    try:
        while True:
            if not queue:
                if passes and (around is not None or not time_for_one_more()):
                    break
                if passes and hand_over:
                    hand_over_now()
                _log_progress(problem, rounds, f"{passes} passes ({better} regions better)")
                queue = cut(seed + passes)
                if not queue:
                    break
                passes += 1
            while len(flights) < ahead and time_for_one_more():
                free = next((j for j, r in enumerate(queue) if not out[r.carers].any()), None)
                if free is None:
                    break  # every region left holds a carer still out
                send(queue.pop(free))
            if not flights:
                break  # out of time
            take_in()
        while flights:
            take_in()
        if hand_over and passes:
            hand_over_now()
    finally:
        pool.shutdown(cancel_futures=True)
    return _Passes(passes, better, hand_over_s)


def _hand_over(
    problem: Problem,
    rounds: list[tuple[int, ...]],
    start_s: dict[int, int],
    depart_s: list[int],
    feasible: BoolArray,
) -> None:
    """Give whole rounds, then their morning and evening halves, to the carers who drive
    them cheapest (in place; see ``reassign_rounds`` and ``reassign_halves``): the moves
    that reach across the whole county."""
    for move in (
        reassign_rounds,
        partial(reassign_halves, morning=True),
        partial(reassign_halves, morning=False),
    ):
        found = move(problem, rounds, start_s, depart_s, feasible)
        if found is not None:
            rounds[:], depart_s[:] = found


def _region_cost(
    problem: Problem, rounds: Sequence[Sequence[int]], *, start_s: dict[int, int]
) -> int:
    """Objective of a region's rounds, each carer leaving home just in time for their first
    call (so the rounds before and after a search are costed alike); its calls in no round
    count as not scheduled.

    Only the count of left-out calls enters the cost, so naming them saves
    ``evaluate_rounds`` a pre-check of the region per costing."""
    left_out = _and_not_scheduled(problem, rounds, ())
    depart_s = just_in_time_departures(problem, rounds, start_s)
    return evaluate_rounds(
        problem, rounds, start_s=start_s, depart_s=depart_s, unserved=left_out
    ).cost


def _and_not_scheduled(
    problem: Problem, rounds: Sequence[Sequence[int]], known: Sequence[Unserved]
) -> list[Unserved]:
    """``known``, then ``NOT_SCHEDULED`` for each other call in no round.

    For callers that already hold the pre-check's reasons, so ``evaluate_rounds`` need not
    run it again (a second or more on a county day)."""
    out = np.ones(problem.num_visits, dtype=bool)
    for r in rounds:
        out[list(r)] = False
    out[[u.visit for u in known]] = False
    return [*known, *(Unserved(int(i), UnservedReason.NOT_SCHEDULED) for i in np.flatnonzero(out))]


def _log_progress(problem: Problem, rounds: Sequence[Sequence[int]], message: str) -> None:
    """Debug log of ``message`` with the calls placed and hours driven (home to home).

    Costs a pass over every round, so only when the debug log is on."""
    if not logger.isEnabledFor(logging.DEBUG):
        return
    travel_s = 0
    for k, seq in enumerate(rounds):
        if seq:
            stops = round_stops(problem, k, seq)
            travel = problem.travel_s[problem.carers[k].travel_mode]
            travel_s += int(travel[stops[:-1], stops[1:]].sum())
    placed = sum(map(len, rounds))
    logger.debug("%s: %d calls placed, %.1f h travel", message, placed, travel_s / 3600)


def _drop_orphans(problem: Problem, rounds: list[tuple[int, ...]]) -> list[Unserved]:
    """Take out (in place) double-up halves whose other half is in no round."""
    carer_of = np.full(problem.num_visits, -1, dtype=np.int64)
    for k, r in enumerate(rounds):
        carer_of[list(r)] = k
    out: list[Unserved] = []
    for a, b in problem.sync_pairs:
        a, b = int(a), int(b)
        if (carer_of[a] < 0) != (carer_of[b] < 0):
            placed, missing = (a, b) if carer_of[a] >= 0 else (b, a)
            out.append(
                Unserved(placed, UnservedReason.PARTNER_UNSERVED, f"other half is visit {missing}")
            )
            k = int(carer_of[placed])
            rounds[k] = tuple(i for i in rounds[k] if i != placed)
    return out


def _check_initial(problem: Problem, initial: Sequence[Sequence[int]]) -> list[list[int]]:
    if len(initial) != problem.num_carers:
        raise InvalidRoundsError(
            f"Expected {problem.num_carers} initial rounds (one per carer), got {len(initial)}."
        )
    seen: set[int] = set()
    out = []
    for k, seq in enumerate(initial):
        for i in seq:
            if not 0 <= i < problem.num_visits or i in seen:
                raise InvalidRoundsError(f"Carer {k}: visit {i} is unknown or repeated.")
            seen.add(i)
        out.append([int(i) for i in seq])
    return out


def reallocate(
    problem: Problem,
    params: ReallocationParams | None = None,
    *,
    initial: Sequence[Sequence[int]] | None = None,
) -> Solution:
    """Find rounds serving every call feasibly with least travel, then least waiting.

    Calls that cannot be served whatever the others do (no skilled or eligible carer, a
    window shorter than the visit, a double-up only one carer can attend, a start-gap band
    the windows cannot meet, no carer able to reach it inside their shift) are reported
    with that reason and kept out of the search. Days larger than ``params.max_part_visits``
    are cut into geographic parts (recursive bisection on the travel matrix; carers shared
    out so each part gets carer hours per time band and skill in proportion to its calls'
    hours, net of the carers' drive to the part) solved in parallel by ``params.workers``
    processes and stitched. A day solved whole goes to PyVRP when it can model it (no
    double-ups, hard windows, no provider-change cap or carer-change penalty), else, with
    double-ups or soft windows and no provider-change cap, to the ruin-and-recreate LNS of
    ``solver._lns`` (both halves of a double-up move together; Mankowska benchmark). Parts
    of a decomposed day go to PyVRP, which may leave out calls a part has no room for;
    a part with double-ups first goes to OR-Tools, whose double-ups are then pinned
    (carer and start) while PyVRP re-routes the rest, and the cheaper answer stands.
    Days under a provider-change cap go to an OR-Tools routing model (double-ups as CP
    constraints on start times and vehicles, a synchronisation-aware greedy as first
    solution when it places every call, optional-visit penalties so a call that does not
    fit is reported as ``NOT_SCHEDULED`` rather than failing the day; a part that finds no
    first solution in time is left to the repair). After the parts, a repair inserts calls
    a part could not place into any round in the day that fits them, or makes room by
    moving one call of a round to another round. Then improvement passes regroup carers
    whose rounds lie near each other, across the parts' boundaries, and re-solve each
    region with PyVRP from its current rounds (double-ups pinned); a region's answer is
    kept only when cheaper. A last repair follows, then a pass over the regions around
    the rounds it changed. The objective is the weighted sum in
    ``problem.objective`` (travel above waiting).

    ``params.time_limit_s`` is a deadline for the whole call: each part's search limit is
    set when the part starts, from the time left and the overhead measured on the parts
    before it, and the repair stops in time for the final costing.

    Same inputs and seed give the same answer, on one worker or several, when
    ``params.solution_limit`` stops each part's search before its share of the time limit
    (OR-Tools solution limit, PyVRP iteration limit, a bounded greedy) and the repair
    finishes before the deadline; with only a wall-clock limit a busier machine stops the
    search at a different point, so answers can differ slightly between runs.

    Parameters
    ----------
    problem
        The planning day.
    params
        Search budget, seed and decomposition; defaults to ``ReallocationParams()``.
    initial
        Rounds to start from (one sequence per carer); keeps a day solved whole off PyVRP,
        which cannot take them. The LNS repairs them into a start; OR-Tools uses them when,
        after dropping calls they cannot keep on time, they still place every call. Parts of
        a decomposed day hand them to OR-Tools where it places double-ups; PyVRP parts start
        cold (a part seldom holds today's rounds whole). Defaults to today's rounds when
        ``params.use_initial`` and the visits carry today's carers.

    Returns
    -------
    Solution
        Rounds with start times; every call is in exactly one round or in ``unserved``
        with a reason.

    Raises
    ------
    InvalidRoundsError
        If ``initial`` does not have one round per carer or repeats a visit.
    """
    params = params or ReallocationParams()
    t0 = time.perf_counter()
    deadline = t0 + params.time_limit_s
    reasons, feasible = precheck(problem)
    if initial is not None:
        start_rounds: list[list[int]] | None = _check_initial(problem, initial)
    elif params.use_initial and any(v.carer >= 0 for v in problem.visits):
        start_rounds = [list(r) for r in today_rounds(problem)]
    else:
        start_rounds = None

    parts = decompose(problem, max_part_visits=params.max_part_visits, seed=params.seed)
    if initial is not None and params.engine == "auto" and len(parts) == 1:
        params = replace(params, engine="ortools")  # PyVRP takes no warm start
    if len(parts) > 1 and params.engine == "auto":
        # Parts go to PyVRP, which may leave out calls a part has no room for; a part with
        # double-ups has them placed by OR-Tools first and pinned (``_solve_pinned``).
        # OR-Tools alone converges slowly on a part: on the county benchmark one part's
        # travel fell 19 % from 6 s to 60 s, PyVRP's 2 % (with two more calls served).
        # The LNS from a cold start in a part's few seconds left 213-221 calls unserved at
        # 120 s against 156 with OR-Tools parts (23 Nov, load average 4).
        params = replace(params, engine="pyvrp", lns_iterations_per_solution=0)
    cap = problem.policy.max_provider_changes
    users = np.array(
        [v.service_user if v.service_user >= 0 else -1 - i for i, v in enumerate(problem.visits)]
    )
    n_users = max(1, np.unique(users).size)
    lanes = min(params.workers, len(parts))
    subs = []
    for part in parts:
        sub = problem if len(parts) == 1 else _subproblem(problem, part)
        part_cap = cap
        if cap is not None and len(parts) > 1:
            part_cap = int(cap * np.unique(users[part.visits]).size // n_users)
        subs.append((part, sub, part_cap))
    # PyVRP converges on a part in a fraction of the time OR-Tools needs, so OR-Tools parts
    # get a larger share of the budget (measured on the county benchmark).
    weight = np.array(
        [
            part.visits.size
            * (
                1.0
                if _uses_pyvrp(sub, params, part_cap) or _uses_pinned_pyvrp(sub, params, part_cap)
                else _ORTOOLS_WEIGHT
            )
            for part, sub, part_cap in subs
        ]
    )
    jobs: list[_Job] = []
    for part, sub, part_cap in subs:
        sub_feasible = feasible[np.ix_(part.visits, part.carers)]
        local_of = {int(i): j for j, i in enumerate(part.visits)}
        init = None
        if start_rounds is not None:
            init = [[local_of[i] for i in start_rounds[k] if i in local_of] for k in part.carers]
        jobs.append((sub, sub_feasible, params, 0.0, init, part_cap, None))
    # Stitching and the cross-part repair run after the parts; keep their time back.
    reserve = _OVERHEAD_SHARE * params.time_limit_s if len(parts) > 1 else 0.0
    logger.debug(
        "pre-check, %d parts and their models' inputs: %.1f s", len(parts), time.perf_counter() - t0
    )
    # Regions go to PyVRP warm-started, or with soft windows (which PyVRP cannot cost) to
    # OR-Tools warm-started. Product county day (soft windows, 120 s): with the passes
    # and the hand-over 0 unserved, 32.2 h late, 251.3 h travel (lateness varies by
    # +-5 h or more between runs); without passes, 20 unserved, 76.2 h late, 243.4 h.
    # PyVRP on a hard-window view of the regions drove 236.3 h and ran 30.3 h late
    # (benchmarks/experiments/soft-window-pyvrp.patch; one run, to be re-measured).
    improve = len(parts) > 1 and cap is None and params.engine == "pyvrp"
    first_deadline = deadline - reserve
    if improve:
        first_deadline = t0 + (first_deadline - t0) * (1 - _IMPROVE_SHARE)
    results = _run_parts(jobs, weight, lanes=lanes, deadline=first_deadline)
    logger.debug("parts solved at %.1f s", time.perf_counter() - t0)
    for j, (part, result) in enumerate(zip(parts, results, strict=True)):
        placed = sum(map(len, result.rounds))
        logger.debug(
            "part %d: %d visits, %d carers, %d placed (%d modelled), %s, %.1f s",
            j,
            part.visits.size,
            part.carers.size,
            placed,
            int(jobs[j][1].any(axis=1).sum()),
            result.status,
            result.wall_s,
        )

    m = problem.num_carers
    rounds: list[tuple[int, ...]] = [() for _ in range(m)]
    start_s: dict[int, int] = {}
    depart_s = [c.shift_start_s for c in problem.carers]
    statuses = []
    for part, result in zip(parts, results, strict=True):
        statuses.append(result.status)
        for j, k in enumerate(part.carers):
            rounds[k] = tuple(int(part.visits[i]) for i in result.rounds[j])
            depart_s[k] = result.depart_s[j]
        for i, s in result.start_s.items():
            start_s[int(part.visits[i])] = s

    engines_used = set(statuses)
    if improve:
        engines_used.add("pyvrp" if problem.objective.hard_windows else "ortools")
    orphans = _drop_orphans(problem, rounds)
    hand_over_s = 0.0  # the last hand-over's time, kept back after the last repair
    if improve:
        logger.debug("first pass stitched at %.1f s", time.perf_counter() - t0)
        # Rounds to the carers nearest them, then what the parts left out placed, so the
        # regions start from fuller rounds (county day at 120 s: 390.4-396.4 h against
        # 401.9-406.4 h with the hand-over only after the repair).
        begun = time.perf_counter()
        known = [r for r in reasons if r is not None] + orphans
        _hand_over(problem, rounds, start_s, depart_s, feasible)
        stitched = evaluate_rounds(
            problem,
            rounds,
            start_s=start_s,
            depart_s=depart_s,
            unserved=_and_not_scheduled(problem, rounds, known),
        )
        new_rounds, start_s, depart_s = repair(
            problem, stitched, feasible, deadline=begun + reserve
        )
        rounds = [tuple(r) for r in new_rounds]
        early = sum(map(len, rounds)) - sum(len(r.visits) for r in stitched.routes)
        statuses.append(f"early-repair+{early}")
        _hand_over(problem, rounds, start_s, depart_s, feasible)
        _log_progress(
            problem, rounds, f"first repair (+{early}) at {time.perf_counter() - t0:.1f} s"
        )
        # The last repair has fewer calls left to place than the first, so the first's
        # measured time (its two hand-overs included) and a quarter more is kept back for
        # it and the pass around it, and the rest of the reserve goes to the passes (a
        # 120 s county day ended 8 s early with the whole reserve kept back; with the
        # first's time alone it ended at 119.1-120.0 s).
        end = deadline - min(reserve, 1.25 * (time.perf_counter() - begun))
        passes = _improve(
            problem,
            rounds,
            start_s,
            depart_s,
            feasible,
            params,
            lanes=lanes,
            end=end,
            seed=params.seed + 1,
        )
        hand_over_s = passes.hand_over_s
        _log_progress(
            problem,
            rounds,
            f"{passes.passes} improvement passes ({passes.better} regions better) "
            f"at {time.perf_counter() - t0:.1f} s",
        )
        statuses.append(f"improved{passes.better}")
    unserved: list[Unserved] = [r for r in reasons if r is not None]
    orphans += _drop_orphans(problem, rounds)
    unserved += [u for u in orphans if not any(u.visit in r for r in rounds)]
    unserved = _and_not_scheduled(problem, rounds, unserved)
    if len(parts) > 1 and cap is None and not improve:  # the passes ended with one
        _hand_over(problem, rounds, start_s, depart_s, feasible)
    stats = SolveStats(
        wall_s=time.perf_counter() - t0,
        parts=len(parts),
        engine="+".join(sorted({_ENGINE_OF_STATUS.get(s, "ortools") for s in engines_used})),
        status=",".join(sorted(set(statuses))),
    )
    costed = time.perf_counter()
    solution = evaluate_rounds(
        problem, rounds, start_s=start_s, depart_s=depart_s, unserved=unserved, stats=stats
    )
    costed = time.perf_counter() - costed
    logger.debug(
        "stitched at %.1f s: %d unserved", time.perf_counter() - t0, len(solution.unserved)
    )
    prechecked = {r.visit for r in reasons if r is not None}
    if cap is None and any(u.visit not in prechecked for u in solution.unserved):
        # Parts only see their own carers; a cheap cross-part pass picks up the rest.
        before = len(solution.unserved)
        new_rounds, new_starts, new_departs = repair(
            problem, solution, feasible, deadline=deadline - costed - hand_over_s
        )
        repaired = [tuple(r) for r in new_rounds]
        if improve:
            # The repair inserts greedily, and the calls left to it are the day's hardest
            # to reach; re-solving the regions around the rounds it changed takes back part
            # of what it added (county day, two runs: 383.7 -> 381.7 h, 380.3 -> 379.8 h).
            changed = np.array([a != b for a, b in zip(rounds, repaired, strict=True)])
            _improve(
                problem,
                repaired,
                new_starts,
                new_departs,
                feasible,
                params,
                lanes=lanes,
                # Its regrouping, process start and costing take about a hand-over's time.
                end=deadline - costed - 2 * hand_over_s,
                seed=params.seed,
                around=changed,
                hand_over=False,
            )
            unserved += _drop_orphans(problem, repaired)
        if len(parts) > 1:
            _hand_over(problem, repaired, new_starts, new_departs, feasible)
        # The repair may place a double-up one of whose halves was dropped as an orphan.
        in_rounds = {i for r in repaired for i in r}
        solution = evaluate_rounds(
            problem,
            repaired,
            start_s=new_starts,
            depart_s=new_departs,
            unserved=[u for u in unserved if u.visit not in in_rounds],
            stats=stats,
        )
        added = before - len(solution.unserved)
        logger.debug("repair placed %d calls, done at %.1f s", added, time.perf_counter() - t0)
        stats = replace(stats, status=f"{stats.status},repair+{added}")
    return replace(solution, stats=replace(stats, wall_s=time.perf_counter() - t0))
