"""Solve the parts of a day side by side: each part as a problem of its own, sent to the
engine its features call for, on worker processes that all finish by one deadline."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import replace

import numpy as np

from solver import _ortools_engine
from solver._decompose import Part
from solver._lns import solve_lns
from solver._pyvrp_engine import solve_with_pyvrp, unsupported_reason
from solver.baseline import evaluate_rounds
from solver.errors import EngineError
from solver.params import ReallocationParams
from solver.problem import BoolArray, Policy, Problem
from solver.solution import Solution

# One log for the whole re-allocation (``bench_county_day.py --verbose`` turns it on).
logger = logging.getLogger("solver.reallocation")

# A part's time outside its search limit (model building, pickling) before any is measured.
_FIRST_OVERHEAD_S = 0.5
MIN_PART_S = 0.1

# Share of a part's limit OR-Tools gets to place double-ups before PyVRP routes the rest.
_PIN_SHARE = 0.25


def subproblem(problem: Problem, part: Part) -> Problem:
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


def uses_pyvrp(problem: Problem, params: ReallocationParams, cap: int | None) -> bool:
    """Whether a part goes to PyVRP: allowed by ``params`` and modelable there."""
    return params.engine != "ortools" and cap is None and unsupported_reason(problem) is None


def uses_lns(problem: Problem, params: ReallocationParams, cap: int | None) -> bool:
    """Whether a part goes to the LNS: double-ups or soft windows, no provider-change cap."""
    needs = len(problem.sync_pairs) > 0 or not problem.objective.hard_windows
    return needs and cap is None and params.lns_iterations_per_solution > 0


def uses_pinned_pyvrp(problem: Problem, params: ReallocationParams, cap: int | None) -> bool:
    """Whether a part with double-ups goes to OR-Tools, then PyVRP with them pinned."""
    return (
        params.engine == "pyvrp"
        and cap is None
        and unsupported_reason(problem, pins_double_ups=True) is None
    )


def _pyvrp(
    problem: Problem,
    params: ReallocationParams,
    limit_s: float,
    pinned: dict[int, tuple[int, int]] | None = None,
    initial: Sequence[Sequence[int]] | None = None,
    polish: bool = False,
) -> Solution:
    """PyVRP on ``problem`` within ``limit_s``, leaving out calls it cannot fit.

    Loads and capacities come from the problem (``solve_with_pyvrp`` reads them); ``polish``
    when ``initial`` is a feasible answer to improve (a region)."""
    return solve_with_pyvrp(
        problem,
        replace(params, time_limit_s=max(limit_s, MIN_PART_S)),
        optional_calls=True,
        pinned=pinned,
        initial=initial,
        polish=polish,
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


Job = tuple[
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


def _solve_part(args: Job) -> _ortools_engine.EngineResult:
    """Solve one part with the engine its features and ``params`` call for (see ``reallocate``).

    ``schedule``, the last item, holds the start of every call in ``initial`` when those
    rounds are a feasible answer already (the improvement pass): PyVRP then starts from
    them, with their double-ups pinned, instead of from scratch.
    """
    problem, feasible, params, limit_s, initial, cap, schedule = args
    warm = initial if schedule is not None else None
    if uses_pyvrp(problem, params, cap):
        started = time.perf_counter()
        answer = _pyvrp(problem, params, limit_s, initial=warm, polish=warm is not None)
        return _result_of(answer, "pyvrp", started)
    if uses_lns(problem, params, cap):
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
    if uses_pinned_pyvrp(problem, params, cap):
        if warm is not None and schedule is not None:
            started = time.perf_counter()
            pins = _pins(problem, warm, schedule)
            answer = _pyvrp(problem, params, limit_s, pins, initial=warm, polish=True)
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


def run_parts(
    jobs: list[Job], weight: np.ndarray, *, lanes: int, deadline: float
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
        return max(MIN_PART_S, usable * float(weight[j]) / max(left, 1e-9))

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
            results[j] = solve_part_or_nothing((*jobs[j][:3], limit, *jobs[j][4:]))
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
                running[pool.submit(solve_part_or_nothing, job)] = (j, time.perf_counter(), limit)
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in sorted(done, key=lambda f: running[f][0]):
                j, started, limit = running.pop(future)
                results[j] = future.result()
                observe(started, limit)
    return [r for r in results if r is not None]


def solve_part_or_nothing(job: Job) -> _ortools_engine.EngineResult:
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
