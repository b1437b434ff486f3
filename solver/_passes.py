"""Improvement passes: regions cut across the parts' boundaries re-solved from their current
rounds, back to back on the lanes, and rounds handed to the carers who drive them cheapest."""

from __future__ import annotations

import logging
import math
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial

import numpy as np

from solver import _ortools_engine
from solver._decompose import Part, regroup, round_trip_matrix
from solver._parts import (
    MIN_PART_S,
    Job,
    solve_part_or_nothing,
    subproblem,
    uses_pinned_pyvrp,
)
from solver._reassign import reassign_halves, reassign_rounds
from solver.baseline import evaluate_rounds, just_in_time_departures, round_stops
from solver.params import ReallocationParams
from solver.problem import BoolArray, IntArray, Problem
from solver.solution import Unserved, UnservedReason

# One log for the whole re-allocation (``bench_county_day.py --verbose`` turns it on).
logger = logging.getLogger("solver.reallocation")

# Lane time per region in a pass, so a longer budget buys more passes (new cuts) rather
# than longer searches in the same regions. On 56 county regions, PyVRP warm-started cut
# their travel 2.0 % in 0.2 s each and 3.6 % in 3 s (about 0.1 s of each is the first
# exhaustive local search), while each new pass cut the day's travel 1-4 %. County day
# at 120 s (one run each, noise about ±5 h): six passes 459.3 h; twelve 443.5-452.4 h;
# 0.15 s per region 448.2 h; 0.25 s 437.0-447.7 h. With the hand-over (session 6): 0.25 s
# 401.9-406.4 h; 0.15 s 401.8 h but 26 fewer served; 0.5 s 408.3 h; share 0.85 398.8 h
# but 39 fewer served. Session 8, eight passes' worth of time (75 s) from one saved state,
# four seeds each: 0.25 s 379.3 h (376.0-381.9); 0.12 s 378.1 h; 0.1 s (the engines'
# floor, ``MIN_PART_S``) 375.1 h (372.9-378.8), with 18 passes instead of 9; 0.05 s
# (floor lowered) 384.6 h. Three 120 s runs each: 0.1 s 379.0-384.9 h, 0.25 s 385.1-392.3 h.
_REGION_S = 0.1
# The same for regions OR-Tools searches (e.g. soft windows, which PyVRP cannot cost): its
# model takes longer to build, and 0.25 s is what the product day was measured with.
_ORTOOLS_REGION_S = 0.25
# Once this share of the passes' time has gone, each new pass cuts PyVRP regions
# ``_LATE_SCALE`` times larger and searches each that many times longer (the same search
# time per call), where the clock ends the passes. On a nearly finished county answer,
# regions of 400 and 800 calls cut 2.8 h and 3.5 h of travel in three cuts against 2.2 h
# for regions of 200, for the same search time; on an answer after 45 s, 800 cut 19.5 h
# against 15.6 h. From the start they do worse (800 throughout: 382.4 h and 387.8 h,
# seeds 0-1). Six paired 120 s county runs, twice the size in the second half: 380.2 h
# and 5,935.7 served against 382.7 h and 5,932.2 (each difference about 1.5 standard
# errors; 5 of 6 runs served more); benchmarks/NOTES-solver-interface.md, session 12.
_LATE_SHARE = 0.5
_LATE_SCALE = 2
# The main process's longest stretch without taking in a region's answer: a hand-over and
# the next pass's regrouping (0.45 s on the county day, more while the lanes share its
# cores). The lanes are kept this far ahead of it, so they never wait for it.
_MAIN_BUSY_S = 0.6
# A region's time in a lane beyond its search (model building, the answer's conversion)
# before any is measured, and beyond what the lane measures (pickling both ways).
_FIRST_REGION_OVERHEAD_S = 0.02
_REGION_TRANSFER_S = 0.005


@dataclass(frozen=True)
class _Flight:
    """A region sent to a lane: its carers and calls (whole-day indices), the calls in no
    round it was given to place, its problem, rounds, start times and search limit as
    sent, and the pass that cut it."""

    region: Part
    pending: IntArray
    sub: Problem
    init: list[list[int]]
    schedule: dict[int, int]
    limit_s: float
    pass_no: int


@dataclass(frozen=True)
class Passes:
    """What ``run_passes`` did: passes begun, regions whose answer was kept, and the time
    its last hand-over took (0 when it made none)."""

    passes: int
    better: int
    hand_over_s: float


class _InLine:
    """``ProcessPoolExecutor``'s ``submit`` for one lane: the job runs at once, here."""

    def submit(self, fn: Callable[[Job], _ortools_engine.EngineResult], job: Job) -> Future:
        future: Future[_ortools_engine.EngineResult] = Future()
        future.set_result(fn(job))
        return future

    def shutdown(self, *, cancel_futures: bool) -> None:
        pass


def run_passes(
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
    grow_at: float | None = None,
) -> Passes:
    """Re-solve regions cut across the first parts' boundaries until ``end``, in place.

    A pass regroups the carers whose rounds lie near each other (``regroup``, a new cut for
    each pass's seed) and sends each region, in an order drawn from the seed, to a lane for
    about ``_REGION_S`` of search (``_ORTOOLS_REGION_S`` where the regions go to OR-Tools),
    warm-started from its current rounds; PyVRP regions cut after ``_LATE_SHARE`` of the
    time (or from the clock time ``grow_at``) are ``_LATE_SCALE`` times larger and searched
    that much longer, unless ``params.solution_limit`` is set. A region's answer replaces
    its rounds only when it costs less. Passes follow each other without waiting: the lanes
    are kept ``_MAIN_BUSY_S`` of regions ahead of the answers taken in, a region's rounds
    are read when it is sent, and a region holding a carer still out in another waits its
    turn, so two regions never hold one carer or one waiting call. A region whose carers no
    longer hold both halves of a double-up (an answer taken in since its cut moved one
    away) is not sent, and no answer is taken that serves one half of a double-up without
    the other (``pairs_whole``). With ``hand_over``, whole and half rounds go to the carers
    who drive them cheapest (``hand_over_rounds``) as each pass's last region is sent, the
    carers out in a lane keeping theirs, and once more at the end. With ``around`` (one
    flag per carer) each pass searches only the regions holding a flagged carer. Answers
    are taken in the order the regions were sent, so where the passes stop is decided by
    the clock, or, when ``params.solution_limit`` bounds each region's search, by the first
    pass none of whose regions came back better (then the same inputs give the same answer).
    """
    # ``solve_part_or_nothing`` sends regions to PyVRP by the rule for parts with
    # double-ups (which covers those without), else to OR-Tools.
    pyvrp_regions = uses_pinned_pyvrp(problem, params, None)
    region_s = _REGION_S if pyvrp_regions else _ORTOOLS_REGION_S
    # Regions grow late in the passes only where the clock decides where they stop: a
    # solution limit must give the same answer on a busier machine.
    grows = pyvrp_regions and around is None and params.solution_limit is None
    began = time.perf_counter()
    if grow_at is None:
        grow_at = began + _LATE_SHARE * (end - began)
    scale = 1  # region size and time, as multiples of the first passes'
    placed = placed_calls(problem, rounds)
    servable = feasible.any(axis=1)  # calls some carer could take
    round_trip_s = round_trip_matrix(problem)  # for the cuts, once rather than every pass
    out = np.zeros(problem.num_carers, dtype=bool)  # carers in a region sent to a lane
    claimed = np.zeros(problem.num_visits, dtype=bool)  # waiting calls sent with one
    flights: deque[tuple[Future[_ortools_engine.EngineResult], _Flight]] = deque()
    queue: list[Part] = []
    passes = 0
    better_of_pass: Counter[int] = Counter()  # regions kept, by the pass that cut them
    settled = False  # a whole pass came back with nothing better (``solution_limit`` runs)
    overhead_s = _FIRST_REGION_OVERHEAD_S  # a region's lane time beyond its search
    hand_over_s = 0.0
    pool: ProcessPoolExecutor | _InLine = ProcessPoolExecutor(lanes) if lanes > 1 else _InLine()

    def time_for_one_more() -> bool:
        if settled:
            return False
        in_lane_rounds = -(-(len(flights) + 1) // lanes)
        reserve = hand_over_s if hand_over else 0.0
        return time.perf_counter() + in_lane_rounds * (limit() + overhead_s) + reserve <= end

    def limit() -> float:
        return max(MIN_PART_S, scale * region_s - overhead_s)

    def ahead() -> int:
        """Regions kept out in the lanes, so they never wait ``_MAIN_BUSY_S`` for the main
        process (one when the passes run in it)."""
        return 1 if lanes <= 1 else lanes + math.ceil(lanes * _MAIN_BUSY_S / (scale * region_s))

    def send(region: Part) -> None:
        carers = region.carers.tolist()
        waiting = region.visits[~placed[region.visits] & ~claimed[region.visits]]
        visits = np.sort(np.concatenate([[i for k in carers for i in rounds[k]], waiting]))
        part = Part(visits.astype(np.int64), region.carers)
        sub = subproblem(problem, part)
        local_of = {int(i): j for j, i in enumerate(part.visits)}
        init = [[local_of[i] for i in rounds[k]] for k in carers]
        schedule = {local_of[i]: start_s[i] for k in carers for i in rounds[k]}
        sub_feasible = feasible[np.ix_(part.visits, part.carers)]
        limit_s = limit()
        job = (sub, sub_feasible, params, limit_s, init, None, schedule)
        flight = _Flight(part, waiting, sub, init, schedule, limit_s, passes)
        flights.append((pool.submit(solve_part_or_nothing, job), flight))
        out[part.carers] = True
        claimed[waiting] = True

    def take_in() -> None:
        nonlocal overhead_s, settled
        future, flight = flights.popleft()
        result = future.result()
        out[flight.region.carers] = False
        claimed[flight.pending] = False
        seen = max(0.0, result.wall_s - flight.limit_s) + _REGION_TRANSFER_S
        overhead_s = 0.5 * (overhead_s + seen)
        better_of_pass[flight.pass_no] += keep(flight, result)
        # Regions go out pass by pass and come back in that order, so a pass is all back
        # once the next pass has been cut and no region of it is still out.
        next_out = flights[0][1].pass_no if flights else passes + 1
        whole = flight.pass_no < min(passes, next_out)
        if whole and params.solution_limit is not None and not better_of_pass[flight.pass_no]:
            settled = True

    def keep(flight: _Flight, result: _ortools_engine.EngineResult) -> bool:
        """Take a region's answer into the day when it costs less than its rounds did."""
        if result.status == "failed":
            return False
        old = region_cost(flight.sub, flight.init, start_s=flight.schedule)
        new = region_cost(flight.sub, result.rounds, start_s=result.start_s)
        if new >= old:
            return False
        if not pairs_whole(flight.sub, result.rounds):
            return False  # OR-Tools may serve one half of a double-up, not the other
        region = flight.region
        found = [tuple(int(region.visits[i]) for i in r) for r in result.rounds]
        placed[region.visits] = False
        for k, seq, d in zip(region.carers.tolist(), found, result.depart_s, strict=True):
            rounds[k] = seq
            depart_s[k] = d
            placed[list(seq)] = True
        for i, t in result.start_s.items():
            start_s[int(region.visits[i])] = t
        return True

    def hand_over_now() -> None:
        nonlocal hand_over_s
        began = time.perf_counter()
        # Carers out in a lane keep their rounds: their region's answer is still to come.
        free = feasible & ~out[None, :] if out.any() else feasible
        hand_over_rounds(problem, rounds, start_s, depart_s, free)
        hand_over_s = time.perf_counter() - began

    def cut(pass_seed: int) -> list[Part]:
        pending = np.flatnonzero(~placed & ~claimed & servable).tolist()
        regions = regroup(
            problem,
            rounds,
            max_part_visits=params.max_part_visits * scale,
            seed=pass_seed,
            pending=pending,
            feasible=feasible,
            round_trip_s=round_trip_s,
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
                if passes and not time_for_one_more():
                    break
                if passes and hand_over:
                    hand_over_now()
                better = sum(better_of_pass.values())
                log_progress(problem, rounds, f"{passes} passes ({better} regions better)")
                if grows and scale == 1 and time.perf_counter() >= grow_at:
                    scale = _LATE_SCALE
                queue = cut(seed + passes)
                if not queue:
                    break
                passes += 1
            while len(flights) < ahead() and time_for_one_more():
                free = next((j for j, r in enumerate(queue) if not out[r.carers].any()), None)
                if free is None:
                    break  # every region left holds a carer still out
                region = queue.pop(free)
                # Cut while regions were out, it may have lost a double-up half since: an
                # answer taken in (OR-Tools moves double-ups) gave it to a carer outside.
                if pairs_whole(problem, [rounds[k] for k in region.carers.tolist()]):
                    send(region)
            if not flights:
                if not queue and time_for_one_more():
                    continue  # this pass's last regions were out of date: the next pass
                break  # out of time
            take_in()
        while flights:
            take_in()
        if hand_over and passes:
            hand_over_now()
    finally:
        pool.shutdown(cancel_futures=True)
    return Passes(passes, sum(better_of_pass.values()), hand_over_s)


def hand_over_rounds(
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


def region_cost(
    problem: Problem, rounds: Sequence[Sequence[int]], *, start_s: dict[int, int]
) -> int:
    """Objective of a region's rounds, each carer leaving home just in time for their first
    call (so the rounds before and after a search are costed alike); its calls in no round
    count as not scheduled.

    Only the count of left-out calls enters the cost, so naming them saves
    ``evaluate_rounds`` a pre-check of the region per costing."""
    left_out = and_not_scheduled(problem, rounds, ())
    depart_s = just_in_time_departures(problem, rounds, start_s)
    return evaluate_rounds(
        problem, rounds, start_s=start_s, depart_s=depart_s, unserved=left_out
    ).cost


def pairs_whole(problem: Problem, rounds: Sequence[Sequence[int]]) -> bool:
    """Whether ``rounds`` hold both halves of every double-up they hold one of: what a
    region must hold to be modelled, and what its answer must serve."""
    partner = problem.partner
    held = placed_calls(problem, rounds)
    return bool(held[partner[held & (partner >= 0)]].all())


def placed_calls(problem: Problem, rounds: Sequence[Sequence[int]]) -> BoolArray:
    """One flag per call: whether it is in one of ``rounds``."""
    placed = np.zeros(problem.num_visits, dtype=bool)
    for r in rounds:
        placed[list(r)] = True
    return placed


def and_not_scheduled(
    problem: Problem, rounds: Sequence[Sequence[int]], known: Sequence[Unserved]
) -> list[Unserved]:
    """``known``, then ``NOT_SCHEDULED`` for each other call in no round.

    For callers that already hold the pre-check's reasons, so ``evaluate_rounds`` need not
    run it again (a second or more on a county day)."""
    out = ~placed_calls(problem, rounds)
    out[[u.visit for u in known]] = False
    return [*known, *(Unserved(int(i), UnservedReason.NOT_SCHEDULED) for i in np.flatnonzero(out))]


def log_progress(problem: Problem, rounds: Sequence[Sequence[int]], message: str) -> None:
    """Debug log of ``message`` with the calls placed and hours driven (home to home).

    Costs a pass over every round, so only when the debug log is on."""
    if not logger.isEnabledFor(logging.DEBUG):
        return
    travel_s = home_s = 0
    for k, seq in enumerate(rounds):
        if seq:
            stops = round_stops(problem, k, seq)
            legs = problem.travel_s[problem.carers[k].travel_mode][stops[:-1], stops[1:]]
            travel_s += int(legs.sum())
            home_s += int(legs[0] + legs[-1])
    placed = sum(map(len, rounds))
    logger.debug(
        "%s: %d calls placed, %.1f h travel (%.1f h of it from home and back)",
        message,
        placed,
        travel_s / 3600,
        home_s / 3600,
    )
