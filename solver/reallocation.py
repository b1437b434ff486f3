"""Re-allocate a day's calls across carers and providers to shorten rounds."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from solver._decompose import decompose
from solver._parts import Job, run_parts, subproblem, uses_pinned_pyvrp, uses_pyvrp
from solver._passes import (
    Passes,
    and_not_scheduled,
    hand_over_rounds,
    log_progress,
    placed_calls,
    run_passes,
)
from solver._precheck import precheck
from solver._repair import repair
from solver.baseline import evaluate_rounds, today_rounds
from solver.errors import InvalidRoundsError
from solver.params import ReallocationParams
from solver.problem import BoolArray, Problem
from solver.solution import Solution, SolveStats, Unserved, UnservedReason

logger = logging.getLogger(__name__)

_ENGINE_OF_STATUS = {"pyvrp": "pyvrp", "lns": "lns"}

# Share of the budget kept back for stitching and the cross-part repair of a decomposed day.
# On the county benchmark at 120 s (32 PyVRP parts, 182 calls left out) stitching took
# 0.5 s and the repair placed 79 calls in 3.6 s, then had nothing more to try; the repair
# stops at the deadline by itself.
_OVERHEAD_SHARE = 0.06
_ORTOOLS_WEIGHT = 2.0
# Share of a decomposed day's search time given to re-solving regions across part
# boundaries from the stitched rounds (PyVRP warm-started), in passes with cuts in
# different places. County benchmark at 120 s, quiet machine (23 Nov):
# 0.6 in three passes 5,925 served / 464.8 h travel; 0.7 in six 5,919 / 455.8 h. Under
# load 2.7: parts only 5,896 / 502 h; 0.3 in one pass 5,901 / 490 h. With OR-Tools
# regions (cold parts, session 2) it gave nothing. Passes back to back (session 9), three
# runs each: 0.7 378.2-386.6 h, 5,937-5,946 served; 0.85 370.9-376.6 h but 5,906-5,934
# served (the parts' time buys the calls served, which come first). With the halfway
# repair (session 17, eight paired runs) 0.8 drove 1.5 h less and served 1.9 fewer calls.
_IMPROVE_SHARE = 0.7
# Where the improvement passes stop for a repair (``_passes_with_a_repair_halfway``).
_REPAIR_AT_SHARE = 0.5


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


def _repair_and_hand_over(
    problem: Problem,
    rounds: list[tuple[int, ...]],
    start_s: dict[int, int],
    depart_s: list[int],
    feasible: BoolArray,
    known: list[Unserved],
    *,
    deadline: float,
) -> tuple[list[tuple[int, ...]], dict[int, int], list[int], int]:
    """Place what ``rounds`` leave out (``repair``), then hand the rounds to the carers who
    drive them cheapest; ``known`` holds the reasons already given for calls left out.
    Returns the new rounds, start and departure times, and the calls placed."""
    placed = placed_calls(problem, rounds)
    # A double-up dropped as an orphan may be back in the rounds since.
    still_out = [u for u in known if not placed[u.visit]]
    so_far = evaluate_rounds(
        problem,
        rounds,
        start_s=start_s,
        depart_s=depart_s,
        unserved=and_not_scheduled(problem, rounds, still_out),
    )
    new_rounds, start_s, depart_s = repair(problem, so_far, feasible, deadline=deadline)
    repaired = [tuple(r) for r in new_rounds]
    hand_over_rounds(problem, repaired, start_s, depart_s, feasible)
    return repaired, start_s, depart_s, sum(map(len, repaired)) - int(placed.sum())


def _passes_with_a_repair_halfway(
    problem: Problem,
    rounds: list[tuple[int, ...]],
    start_s: dict[int, int],
    depart_s: list[int],
    feasible: BoolArray,
    params: ReallocationParams,
    known: list[Unserved],
    *,
    lanes: int,
    end: float,
    repair_s: float,
    t0: float,
) -> tuple[list[tuple[int, ...]], dict[int, int], list[int], Passes]:
    """Improvement passes until ``end``, stopped ``_REPAIR_AT_SHARE`` of the way for a
    repair of what they have not placed (at most ``repair_s``, the first repair's time),
    on a hard-window day with calls left out when they began and no solution limit.

    The last repair places the calls the passes leave greedily, with little time after it
    to re-solve around them; placed halfway, they are in the rounds the second half's
    passes re-solve. County day at 120 s, four paired runs: 5,956.5 calls served against
    5,948.5 with the passes run through, 387.6 h of travel against 387.4 h
    (benchmarks/NOTES-solver-interface.md, session 16). Regions grow from the repair on,
    as they would from ``_LATE_SHARE`` (also one half) of the passes' time.
    """
    began = time.perf_counter()
    # Soft-window days (regions to OR-Tools) were not helped: the product's planning day
    # at 120 s, objective 23.05 and 23.37 million through, 23.80-23.88 million (three
    # runs) with the stop (session 17, three paired runs: 22.86 million with it, 22.97
    # without; too close to switch). With a solution limit the passes end when a pass
    # finds nothing better, and a stop on the clock would make runs differ. With every
    # call some carer could take placed, a stop halfway only idles the lanes.
    stops = (
        problem.objective.hard_windows
        and not params.solution_limit
        and (feasible.any(axis=1) & ~placed_calls(problem, rounds)).any()
    )
    halfway = began + _REPAIR_AT_SHARE * (end - began) if stops else None

    def passes(
        rounds: list[tuple[int, ...]],
        start_s: dict[int, int],
        depart_s: list[int],
        *,
        until: float,
        passes_before: int,
    ) -> Passes:
        """Passes on these rounds until the clock time ``until``, their seeds going on
        from the passes before (one seed a pass, as if the passes had run through)."""
        return run_passes(
            problem,
            rounds,
            start_s,
            depart_s,
            feasible,
            params,
            lanes=lanes,
            end=until,
            seed=params.seed + 1 + passes_before,
            grow_at=halfway,
        )

    first = passes(
        rounds, start_s, depart_s, until=end if halfway is None else halfway, passes_before=0
    )
    if halfway is None:
        return rounds, start_s, depart_s, first
    rounds, start_s, depart_s, added = _repair_and_hand_over(
        problem,
        rounds,
        start_s,
        depart_s,
        feasible,
        known,
        deadline=time.perf_counter() + repair_s,
    )
    log_progress(
        problem,
        rounds,
        f"{first.passes} passes, then a repair (+{added}) at {time.perf_counter() - t0:.1f} s",
    )
    second = passes(rounds, start_s, depart_s, until=end, passes_before=first.passes)
    both = Passes(first.passes + second.passes, first.better + second.better, second.hand_over_s)
    return rounds, start_s, depart_s, both


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
    kept only when cheaper. On a hard-window day with calls still out, the passes stop
    halfway for a repair like the first and go on from its rounds. A last repair follows,
    then a pass over the regions around the rounds it changed. The objective is the
    weighted sum in ``problem.objective`` (travel above waiting).

    ``params.time_limit_s`` is a deadline for the whole call: each part's search limit is
    set when the part starts, from the time left and the overhead measured on the parts
    before it, and the repair stops in time for the final costing.

    Same inputs and seed give the same answer, on one worker or several, when
    ``params.solution_limit`` stops each part's and region's search before its share of
    the time limit (OR-Tools solution limit, PyVRP iteration limit, a bounded greedy), the
    passes stop at the first pass with no region better before the deadline, and the
    repair finishes before it; with only a wall-clock limit a busier machine stops the
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
        # PyVRP would start cold here, ignoring the rounds given: ``solve_part_or_nothing``
        # warm-starts it only from a feasible answer with start times (a pass's region).
        # OR-Tools and the LNS start from the rounds given.
        params = replace(params, engine="ortools")
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
        sub = problem if len(parts) == 1 else subproblem(problem, part)
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
                if uses_pyvrp(sub, params, part_cap) or uses_pinned_pyvrp(sub, params, part_cap)
                else _ORTOOLS_WEIGHT
            )
            for part, sub, part_cap in subs
        ]
    )
    jobs: list[Job] = []
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
    results = run_parts(jobs, weight, lanes=lanes, deadline=first_deadline)
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
        hand_over_rounds(problem, rounds, start_s, depart_s, feasible)
        rounds, start_s, depart_s, early = _repair_and_hand_over(
            problem, rounds, start_s, depart_s, feasible, known, deadline=begun + reserve
        )
        statuses.append(f"early-repair+{early}")
        log_progress(
            problem, rounds, f"first repair (+{early}) at {time.perf_counter() - t0:.1f} s"
        )
        # The last repair has fewer calls left to place than the first, so the first's
        # measured time (its two hand-overs included) and a quarter more is kept back for
        # it and the pass around it, and the rest of the reserve goes to the passes (a
        # 120 s county day ended 8 s early with the whole reserve kept back; with the
        # first's time alone it ended at 119.1-120.0 s).
        first_repair_s = time.perf_counter() - begun
        end = deadline - min(reserve, 1.25 * first_repair_s)
        rounds, start_s, depart_s, passes = _passes_with_a_repair_halfway(
            problem,
            rounds,
            start_s,
            depart_s,
            feasible,
            params,
            known,
            lanes=lanes,
            end=end,
            repair_s=first_repair_s,
            t0=t0,
        )
        hand_over_s = passes.hand_over_s
        log_progress(
            problem,
            rounds,
            f"{passes.passes} improvement passes ({passes.better} regions better) "
            f"at {time.perf_counter() - t0:.1f} s",
        )
        statuses.append(f"improved{passes.better}")
    unserved: list[Unserved] = [r for r in reasons if r is not None]
    orphans += _drop_orphans(problem, rounds)
    unserved += [u for u in orphans if not any(u.visit in r for r in rounds)]
    unserved = and_not_scheduled(problem, rounds, unserved)
    if len(parts) > 1 and cap is None and not improve:  # the passes ended with one
        hand_over_rounds(problem, rounds, start_s, depart_s, feasible)
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
            # to reach; re-solving the regions around the rounds it changed, with new cuts
            # until the time is spent, takes back part of what it added. County day at
            # 120 s, seven paired runs: one pass took back 0.1-2.2 h (1.1 h on average)
            # and the run ended 1.6-4.9 s early; passes to the end took back 0.3-6.3 h
            # (1.7 h). The hand-over and costing after them took up to 0.9 s where a
            # hand-over and a costing were kept back (0.6 s), so twice that is kept back.
            changed = np.array([a != b for a, b in zip(rounds, repaired, strict=True)])
            polish_end = deadline - 2 * (costed + 2 * hand_over_s)
            polish = run_passes(
                problem,
                repaired,
                new_starts,
                new_departs,
                feasible,
                params,
                lanes=lanes,
                end=polish_end,
                seed=params.seed,
                around=changed,
                hand_over=False,
            )
            log_progress(
                problem,
                repaired,
                f"{polish.passes} passes around the repair, to end at "
                f"{polish_end - t0:.1f} s, at {time.perf_counter() - t0:.1f} s",
            )
            unserved += _drop_orphans(problem, repaired)
        if len(parts) > 1:
            hand_over_rounds(problem, repaired, new_starts, new_departs, feasible)
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
