"""Re-allocate a day's calls across carers and providers to shorten rounds."""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace

import numpy as np

from solver import _ortools_engine
from solver._decompose import Part, decompose
from solver._lns import solve_lns
from solver._precheck import precheck
from solver._pyvrp_engine import solve_with_pyvrp, unsupported_reason
from solver._repair import repair
from solver.baseline import evaluate_rounds, today_rounds
from solver.errors import InvalidRoundsError
from solver.params import ReallocationParams
from solver.problem import BoolArray, Policy, Problem
from solver.solution import Solution, SolveStats, Unserved, UnservedReason

_ENGINE_OF_STATUS = {"pyvrp": "pyvrp", "lns": "lns"}

# Share of the budget kept back for pre-checks, model building and stitching.
_OVERHEAD_SHARE = 0.1
_ORTOOLS_WEIGHT = 2.0


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


def _solve_part(
    args: tuple[
        Problem,
        BoolArray,
        ReallocationParams,
        float,
        list[list[int]] | None,
        int | None,
    ],
) -> _ortools_engine.EngineResult:
    problem, feasible, params, limit_s, initial, cap = args
    if _uses_pyvrp(problem, params, cap):
        started = time.perf_counter()
        capacity = None
        if problem.has_capacity:
            big = sum(v.load_units for v in problem.visits)
            capacity = {
                "load_units": [v.load_units for v in problem.visits],
                "capacity_units": [
                    big if c.capacity_units is None else c.capacity_units for c in problem.carers
                ],
            }
        sol = solve_with_pyvrp(problem, replace(params, time_limit_s=limit_s), **(capacity or {}))
        return _ortools_engine.EngineResult(
            rounds=sol.rounds,
            start_s={i: s for r in sol.routes for i, s in zip(r.visits, r.start_s, strict=True)},
            depart_s=tuple(r.depart_s for r in sol.routes),
            status="pyvrp",
            wall_s=time.perf_counter() - started,
        )
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
    return _ortools_engine.solve(
        problem,
        feasible,
        params,
        time_limit_s=limit_s,
        initial=initial,
        max_provider_changes=cap,
    )


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
    out in proportion to each part's calls) solved in parallel by ``params.workers``
    processes and stitched. Each part goes to PyVRP when it can model it (no double-ups,
    hard windows, no provider-change cap or carer-change penalty) and to an OR-Tools
    routing model otherwise (double-ups as CP constraints on start times and vehicles,
    a synchronisation-aware greedy as first solution when it places every call,
    optional-visit penalties so a call
    that does not fit is reported as ``NOT_SCHEDULED`` rather than failing the day). A last
    pass inserts calls a part could not place into any round in the day that fits them.
    The objective is the weighted sum in ``problem.objective`` (travel above waiting).

    Same inputs and seed give the same answer when ``params.solution_limit`` stops each
    part's search before its share of the time limit (OR-Tools solution limit, PyVRP
    iteration limit, a bounded greedy); with only a wall-clock limit a busier machine stops
    the search at a different point, so answers can differ slightly between runs.

    Parameters
    ----------
    problem
        The planning day.
    params
        Search budget, seed and decomposition; defaults to ``ReallocationParams()``.
    initial
        Rounds to start from (one sequence per carer); forces the OR-Tools engine, which
        uses them when, after dropping calls they cannot keep on time, they still place
        every call. Defaults to today's rounds when ``params.use_initial`` and the visits
        carry today's carers (then used by OR-Tools parts only, on the same condition).

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
    if initial is not None and params.engine == "auto":
        params = replace(params, engine="ortools")  # only OR-Tools takes a warm start
    t0 = time.perf_counter()
    reasons, feasible = precheck(problem)
    if initial is not None:
        start_rounds: list[list[int]] | None = _check_initial(problem, initial)
    elif params.use_initial and any(v.carer >= 0 for v in problem.visits):
        start_rounds = [list(r) for r in today_rounds(problem)]
    else:
        start_rounds = None

    parts = decompose(problem, max_part_visits=params.max_part_visits, seed=params.seed)
    if len(parts) > 1 and params.engine == "auto":
        # On the county benchmark (120 s, 32 parts of ~190 calls) PyVRP often had no
        # feasible round set within a part's few seconds and dropped up to 60 % of the
        # part's calls; OR-Tools served 5,854 of 6,000 against 5,678-5,801 with PyVRP parts.
        params = replace(params, engine="ortools")
    cap = problem.policy.max_provider_changes
    users = np.array(
        [v.service_user if v.service_user >= 0 else -1 - i for i, v in enumerate(problem.visits)]
    )
    n_users = max(1, np.unique(users).size)
    budget = params.time_limit_s * (1 - _OVERHEAD_SHARE) - (time.perf_counter() - t0)
    budget = max(budget, 0.1)
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
            part.visits.size * (1.0 if _uses_pyvrp(sub, params, part_cap) else _ORTOOLS_WEIGHT)
            for part, sub, part_cap in subs
        ]
    )
    weight = weight / max(weight.sum(), 1e-9)
    jobs = []
    for (part, sub, part_cap), share in zip(subs, weight, strict=True):
        sub_feasible = feasible[np.ix_(part.visits, part.carers)]
        local_of = {int(i): j for j, i in enumerate(part.visits)}
        init = None
        if start_rounds is not None:
            init = [[local_of[i] for i in start_rounds[k] if i in local_of] for k in part.carers]
        limit = max(0.1, budget * lanes * float(share))
        jobs.append((sub, sub_feasible, params, limit, init, part_cap))

    if lanes > 1:
        # Longest parts first, so the two lanes finish together.
        order = sorted(range(len(jobs)), key=lambda j: -jobs[j][3])
        with ProcessPoolExecutor(max_workers=lanes) as pool:
            done = list(pool.map(_solve_part, [jobs[j] for j in order]))
        results = [done[order.index(j)] for j in range(len(jobs))]
    else:
        results = [_solve_part(job) for job in jobs]

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

    # A double-up with only one half placed is no double-up: take the half back out.
    carer_of = np.full(problem.num_visits, -1, dtype=np.int64)
    for k, r in enumerate(rounds):
        carer_of[list(r)] = k
    unserved: list[Unserved] = [r for r in reasons if r is not None]
    orphans: set[int] = set()
    for a, b in problem.sync_pairs:
        a, b = int(a), int(b)
        if (carer_of[a] < 0) != (carer_of[b] < 0):
            placed, missing = (a, b) if carer_of[a] >= 0 else (b, a)
            orphans.add(placed)
            unserved.append(
                Unserved(placed, UnservedReason.PARTNER_UNSERVED, f"other half is visit {missing}")
            )
    if orphans:
        rounds = [tuple(i for i in r if i not in orphans) for r in rounds]
    stats = SolveStats(
        wall_s=time.perf_counter() - t0,
        parts=len(parts),
        engine="+".join(sorted({_ENGINE_OF_STATUS.get(s, "ortools") for s in statuses})),
        status=",".join(sorted(set(statuses))),
    )
    solution = evaluate_rounds(
        problem, rounds, start_s=start_s, depart_s=depart_s, unserved=unserved, stats=stats
    )
    prechecked = {u.visit for u in unserved if u.reason != UnservedReason.PARTNER_UNSERVED}
    if cap is None and any(u.visit not in prechecked for u in solution.unserved):
        # Parts only see their own carers; a cheap cross-part pass picks up the rest.
        before = len(solution.unserved)
        new_rounds, new_starts, new_departs = repair(
            problem, solution, feasible, deadline=t0 + params.time_limit_s
        )
        solution = evaluate_rounds(
            problem,
            new_rounds,
            start_s=new_starts,
            depart_s=new_departs,
            unserved=unserved,
            stats=stats,
        )
        added = before - len(solution.unserved)
        stats = replace(stats, status=f"{stats.status},repair+{added}")
    return replace(solution, stats=replace(stats, wall_s=time.perf_counter() - t0))
