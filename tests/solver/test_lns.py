"""Ruin-and-recreate LNS: invariants, determinism, a brute-force optimum, repair of a bad start."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.instances.problems import MANKOWSKA_OBJECTIVE as MANKOWSKA
from solver import Carer, Objective, Problem, ReallocationParams, Visit, evaluate_rounds, reallocate
from solver._lns import LnsResult, solve_lns
from solver._precheck import latest_starts, precheck
from tests.solver.conftest import H, street_matrix


def check(problem: Problem, found: LnsResult) -> None:
    """Calls once at most, double-ups whole on two carers in band, windows, shifts, skills."""
    reasons, feasible = precheck(problem)
    hard = latest_starts(problem)
    carer_of = np.full(problem.num_visits, -1)
    for k, r in enumerate(found.rounds):
        carer = problem.carers[k]
        travel = problem.travel_s[carer.travel_mode]
        t, here = found.depart_s[k], carer.start_location
        assert t >= carer.shift_start_s
        for i in r:
            assert carer_of[i] < 0, "a call appears twice"
            carer_of[i] = k
            v = problem.visits[i]
            assert feasible[i, k]
            start = found.start_s[i]
            assert start >= t + travel[here, v.location]
            assert v.window_start_s <= start <= hard[i]
            t, here = start + v.duration_s, v.location
        back = t + travel[here, carer.end_location] if r else found.depart_s[k]
        assert back <= carer.shift_end_s
        assert back - found.depart_s[k] <= carer.work_cap_s
    for a, b in problem.sync_pairs:
        assert (carer_of[a] < 0) == (carer_of[b] < 0)
        if carer_of[a] >= 0:
            assert carer_of[a] != carer_of[b]
            gap = found.start_s[b] - found.start_s[a]
            v = problem.visits[a]
            assert v.sync_min_gap_s <= gap <= v.sync_max_gap_s
    sol = evaluate_rounds(problem, found.rounds, start_s=found.start_s, depart_s=found.depart_s)
    assert sol.sync_violations == 0
    # The search's own bookkeeping agrees with the product's costing (calls the pre-check
    # rules out are no part of the search's cost).
    ruled_out = sum(r is not None for r in reasons)
    assert found.cost == sol.cost - problem.objective.unserved_penalty * ruled_out


def earliest_starts(problem: Problem, rounds: tuple[tuple[int, ...], ...]) -> dict[int, int] | None:
    """Least start times meeting travel, windows and start-gap bands; None if none exist."""
    start = {i: problem.visits[i].window_start_s for r in rounds for i in r}
    partner = problem.partner
    for _ in range(4 * problem.num_visits + 4):
        changed = False
        for k, r in enumerate(rounds):
            carer = problem.carers[k]
            travel = problem.travel_s[carer.travel_mode]
            t, here = carer.shift_start_s, carer.start_location
            for i in r:
                v = problem.visits[i]
                s = max(start[i], t + int(travel[here, v.location]))
                j = int(partner[i])
                if j >= 0:
                    if i > j:
                        s = max(s, start[j] + v.sync_min_gap_s)
                    else:
                        s = max(s, start[j] - v.sync_max_gap_s)
                if s != start[i]:
                    start[i], changed = s, True
                t, here = s + v.duration_s, v.location
        if not changed:
            return start
    return None


def brute_force_cost(problem: Problem) -> int:
    """Least cost over every assignment and order serving every call (earliest schedules)."""
    n, m = problem.num_visits, problem.num_carers
    best = None
    for owner in itertools.product(range(m), repeat=n):
        if any(owner[a] == owner[b] for a, b in problem.sync_pairs):
            continue
        groups = [[i for i in range(n) if owner[i] == k] for k in range(m)]
        for orders in itertools.product(*(itertools.permutations(g) for g in groups)):
            start = earliest_starts(problem, orders)
            if start is None:
                continue
            sol = evaluate_rounds(problem, orders, start_s=start)
            ok = sol.sync_violations == 0 and all(
                r.return_s <= problem.carers[r.carer].shift_end_s for r in sol.routes
            )
            if ok and (best is None or sol.cost < best):
                best = sol.cost
    assert best is not None
    return best


def tiny_home_care_day(seed: int) -> Problem:
    """Four single calls and a double-up, three carers, soft windows: Mankowska in small."""
    rng = np.random.default_rng(seed)
    n_loc = 7
    xy = rng.uniform(0, 2400, (n_loc, 2))
    travel = np.rint(np.hypot(*(xy[:, None] - xy[None, :]).transpose(2, 0, 1))).astype(int)
    visits = [
        Visit(int(1 + j), int(ws), int(ws) + 2400, int(d))
        for j, (ws, d) in enumerate(
            zip(rng.integers(8 * H, 9 * H, 4), rng.choice([900, 1800], 4), strict=True)
        )
    ]
    band = [(0, 0), (600, 1800)][seed % 2]
    for _ in range(2):
        visits.append(
            Visit(
                5,
                8 * H + 1800,
                9 * H,
                1200,
                sync_group=0,
                sync_min_gap_s=band[0],
                sync_max_gap_s=band[1],
            )
        )
    carers = tuple(Carer(0, 0, 0, 7 * H, 16 * H) for _ in range(3))
    return Problem(visits=tuple(visits), carers=carers, travel_s=travel, objective=MANKOWSKA)


def test_reaches_brute_force_optimum_with_double_up() -> None:
    """Six calls including a double-up on three carers: the LNS finds the optimum."""
    for seed in (0, 1):
        problem = tiny_home_care_day(seed)
        _, feasible = precheck(problem)
        found = solve_lns(problem, feasible, time_limit_s=10, seed=seed, max_iterations=400)
        check(problem, found)
        assert found.cost == brute_force_cost(problem)


def test_same_seed_and_iteration_limit_same_answer() -> None:
    """Fixed seed and iteration limit: the same rounds and times on every run."""
    problem = tiny_home_care_day(3)
    _, feasible = precheck(problem)
    runs = [
        solve_lns(problem, feasible, time_limit_s=10, seed=7, max_iterations=150) for _ in range(2)
    ]
    assert runs[0] == runs[1]
    assert runs[0].iterations == 150


def test_improves_a_deliberately_bad_start() -> None:
    """Every call on one carer in reverse window order: the search undoes the damage."""
    problem = tiny_home_care_day(4)
    _, feasible = precheck(problem)
    singles = [i for i in range(problem.num_visits) if problem.partner[i] < 0]
    a, b = (int(x) for x in problem.sync_pairs[0])
    order = sorted(singles, key=lambda i: -problem.visits[i].window_start_s)
    bad = ((*order, a), (b,), ())
    start = earliest_starts(problem, bad)
    assert start is not None
    bad_cost = evaluate_rounds(problem, bad, start_s=start).cost
    found = solve_lns(problem, feasible, time_limit_s=10, seed=0, max_iterations=200, initial=bad)
    check(problem, found)
    assert found.cost < bad_cost
    assert found.cost == brute_force_cost(problem)


def test_reallocate_sends_double_up_days_to_lns() -> None:
    """A day with a double-up goes through the LNS and comes back complete and synchronised."""
    problem = tiny_home_care_day(5)
    sol = reallocate(problem, ReallocationParams(time_limit_s=2, workers=1, solution_limit=20))
    assert sol.stats.engine == "lns"
    assert sol.is_complete
    assert sol.sync_violations == 0


@st.composite
def small_days(draw: st.DrawFn) -> Problem:
    """Random small days: skills, shifts, work caps, loads, up to three double-ups."""
    n_loc = draw(st.integers(3, 8))
    step = draw(st.integers(60, 900))
    visits = []
    for _ in range(draw(st.integers(0, 8))):
        ws = draw(st.integers(7, 18)) * H
        visits.append(
            Visit(
                draw(st.integers(1, n_loc - 1)),
                ws,
                ws + draw(st.sampled_from([900, 1800, 3600, 7200])),
                draw(st.sampled_from([900, 1800, 2700])),
                skills=frozenset(draw(st.sets(st.sampled_from(["hoist", "meds"]), max_size=1))),
                load_units=draw(st.integers(0, 2)),
                carer=draw(st.integers(-1, 0)),
            )
        )
    for g in range(draw(st.integers(0, 3))):
        ws = draw(st.integers(8, 16)) * H
        band = draw(st.sampled_from([(0, 0), (-600, 600), (900, 1800)]))
        loc = draw(st.integers(1, n_loc - 1))
        for _ in range(2):
            visits.append(
                Visit(
                    loc,
                    ws,
                    ws + draw(st.sampled_from([1800, 7200])),
                    1800,
                    skills=frozenset(draw(st.sets(st.sampled_from(["hoist"]), max_size=1))),
                    sync_group=g,
                    sync_min_gap_s=band[0],
                    sync_max_gap_s=band[1],
                )
            )
    carers = []
    for _ in range(draw(st.integers(1, 4))):
        start = draw(st.sampled_from([7 * H, 12 * H]))
        carers.append(
            Carer(
                0,
                draw(st.integers(0, n_loc - 1)),
                draw(st.integers(0, n_loc - 1)),
                start,
                start + draw(st.sampled_from([4 * H, 8 * H, 12 * H])),
                max_work_s=draw(st.sampled_from([None, 5 * H])),
                skills=frozenset(draw(st.sets(st.sampled_from(["hoist", "meds"])))),
                capacity_units=draw(st.sampled_from([None, 3])),
            )
        )
    objective = draw(
        st.sampled_from(
            [
                MANKOWSKA,
                Objective(hard_windows=True),
                Objective(hard_windows=False, max_lateness_s=1800, max_lateness_weight=5),
            ]
        )
    )
    return Problem(
        visits=tuple(visits),
        carers=tuple(carers),
        travel_s=street_matrix(n_loc, step_s=step),
        objective=objective,
    )


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_days(), st.integers(0, 3))
def test_property_invariants_hold(problem: Problem, seed: int) -> None:
    """Any small day: calls at most once, double-ups whole and in band, hard limits kept."""
    _, feasible = precheck(problem)
    found = solve_lns(problem, feasible, time_limit_s=5, seed=seed, max_iterations=30)
    check(problem, found)
    again = solve_lns(problem, feasible, time_limit_s=5, seed=seed, max_iterations=30)
    assert again == found


def test_unusable_initial_rounds_are_repaired() -> None:
    """Both halves on one carer and a call on a carer without the skill: still a valid day."""
    problem = tiny_home_care_day(6)
    visits = list(problem.visits)
    visits[0] = Visit(
        visits[0].location,
        visits[0].window_start_s,
        visits[0].window_end_s,
        visits[0].duration_s,
        skills=frozenset({"hoist"}),
    )
    carers = (Carer(0, 0, 0, 7 * H, 16 * H, skills=frozenset({"hoist"})), *problem.carers[1:])
    problem = Problem(
        visits=tuple(visits), carers=carers, travel_s=problem.travel_s, objective=MANKOWSKA
    )
    _, feasible = precheck(problem)
    a, b = (int(x) for x in problem.sync_pairs[0])
    bad = ((1, 2), (0, a, b), (3,))
    found = solve_lns(problem, feasible, time_limit_s=10, seed=0, max_iterations=50, initial=bad)
    check(problem, found)
    assert sum(map(len, found.rounds)) == problem.num_visits


def test_lns_can_be_switched_off() -> None:
    """lns_iterations_per_solution=0 keeps double-up days on OR-Tools; negatives are refused."""
    problem = tiny_home_care_day(7)
    params = ReallocationParams(
        time_limit_s=2, workers=1, solution_limit=20, lns_iterations_per_solution=0
    )
    sol = reallocate(problem, params)
    assert sol.stats.engine == "ortools"
    assert sol.sync_violations == 0
    with pytest.raises(ValueError, match="lns_iterations_per_solution"):
        ReallocationParams(lns_iterations_per_solution=-1)
