"""The PyVRP engine behind the solver interface, and the benchmark instance conversions."""

import numpy as np
import pytest

from benchmarks.instances import (
    MANKOWSKA_DIR,
    SOLOMON_DIR,
    earliest_schedule,
    evaluate_schedule,
    mankowska_problem,
    read_mankowska,
    read_vrptw,
    vrptw_problem,
)
from solver import Carer, Objective, Problem, ReallocationParams, UnservedReason, Visit
from solver._pyvrp_engine import UnsupportedByEngineError, solve_with_pyvrp, unsupported_reason

FAST = ReallocationParams(time_limit_s=2, seed=1, solution_limit=200)


@pytest.fixture
def two_carers_on_a_line():
    """Locations 0 (home), 1..4 on a line 100 s apart; carer 0 holds "hoist", carer 1 not."""
    xs = np.array([0, 100, 200, 300, 400])
    travel = np.abs(xs[:, None] - xs[None, :])
    visits = tuple(
        Visit(location=loc, window_start_s=0, window_end_s=10_000, duration_s=600, skills=s)
        for loc, s in ((1, {"hoist"}), (2, set()), (3, set()), (4, {"hoist"}))
    )
    carers = (
        Carer(
            provider=0,
            start_location=0,
            end_location=0,
            shift_start_s=0,
            shift_end_s=20_000,
            skills=frozenset({"hoist"}),
        ),
        Carer(provider=0, start_location=0, end_location=0, shift_start_s=0, shift_end_s=20_000),
    )
    return Problem(
        visits=visits,
        carers=carers,
        travel_s=travel,
        objective=Objective(travel_weight=1, waiting_weight=0),
    )


def test_skills_are_honoured(two_carers_on_a_line):
    """Visits needing a hoist go to the carer who holds it; every call is served."""
    solution = solve_with_pyvrp(two_carers_on_a_line, FAST)
    assert solution.is_complete and solution.stats.engine == "pyvrp"
    carer_of = solution.carer_of(4)
    assert carer_of[0] == 0 and carer_of[3] == 0


def test_same_seed_same_rounds(two_carers_on_a_line):
    """Two runs with the same seed and iteration cap give the same rounds."""
    first = solve_with_pyvrp(two_carers_on_a_line, FAST)
    second = solve_with_pyvrp(two_carers_on_a_line, FAST)
    assert first.rounds == second.rounds


def test_capacity_is_honoured(two_carers_on_a_line):
    """With capacity 2 per carer and load 1 per call, no round serves more than two calls."""
    solution = solve_with_pyvrp(
        two_carers_on_a_line, FAST, load_units=[1, 1, 1, 1], capacity_units=[2, 2]
    )
    assert solution.is_complete
    assert max(len(r.visits) for r in solution.routes) <= 2


def test_capacity_is_read_from_the_problem(two_carers_on_a_line):
    """Visit.load_units and Carer.capacity_units bind without keyword arguments."""
    from dataclasses import replace

    problem = Problem(
        visits=tuple(replace(v, load_units=1) for v in two_carers_on_a_line.visits),
        carers=tuple(replace(c, capacity_units=2) for c in two_carers_on_a_line.carers),
        travel_s=two_carers_on_a_line.travel_s,
        objective=two_carers_on_a_line.objective,
    )
    solution = solve_with_pyvrp(problem, FAST)
    assert solution.is_complete
    assert max(len(r.visits) for r in solution.routes) <= 2


def test_call_nobody_can_serve_is_reported(two_carers_on_a_line):
    """A call needing a skill no carer holds is unserved with NO_ELIGIBLE_CARER, not a crash."""
    problem = two_carers_on_a_line.with_visits(
        (
            *two_carers_on_a_line.visits,
            Visit(
                location=2, window_start_s=0, window_end_s=10_000, duration_s=600, skills={"nurse"}
            ),
        )
    )
    solution = solve_with_pyvrp(problem, FAST)
    assert [(u.visit, u.reason) for u in solution.unserved] == [
        (4, UnservedReason.NO_ELIGIBLE_CARER)
    ]


def test_double_ups_are_refused():
    """A problem with a sync group is refused with a reason naming double-ups."""
    converted = mankowska_problem(read_mankowska(MANKOWSKA_DIR / "InstanzCPLEX_HCSRP_10_1.txt"))
    assert "double-ups" in (unsupported_reason(converted.problem) or "")
    with pytest.raises(UnsupportedByEngineError, match="double-ups"):
        solve_with_pyvrp(converted.problem, FAST)


def test_solomon_conversion_keeps_dimacs_units():
    """C101 becomes 100 visits and 25 carers with windows and travel in tenths."""
    converted = vrptw_problem(read_vrptw(SOLOMON_DIR / "C101.vrp"))
    problem = converted.problem
    assert (problem.num_visits, problem.num_carers) == (100, 25)
    assert problem.travel_s[0][0, 1] == 186
    first = problem.visits[0]
    assert (first.window_start_s, first.latest_start_s, first.duration_s) == (9120, 9670, 900)
    assert converted.capacity_units.tolist() == [200] * 25
    assert problem.carers[0].capacity_units == 200 and first.load_units == 10


def test_mankowska_conversion_pairs_services():
    """A1 becomes 13 visits with three double-ups and the published gap bands (× 100)."""
    instance = read_mankowska(MANKOWSKA_DIR / "InstanzCPLEX_HCSRP_10_1.txt")
    converted = mankowska_problem(instance)
    problem = converted.problem
    assert problem.num_visits == 13
    assert problem.sync_pairs.tolist() == [[7, 8], [9, 10], [11, 12]]
    assert [converted.services[v] for v in (9, 10)] == [(9, 0), (9, 3)]
    assert (problem.visits[9].sync_min_gap_s, problem.visits[9].sync_max_gap_s) == (5100, 10200)
    # Carer 0 holds services 0-2 only, so it may not do service 3 of node 9.
    assert problem.compatible[9, 0] and not problem.compatible[10, 0]


def test_checker_charges_the_way_home():
    """A one-visit round is charged travel out to the patient and back to the end depot."""
    instance = read_mankowska(MANKOWSKA_DIR / "InstanzCPLEX_HCSRP_10_1.txt")
    evaluation = evaluate_schedule(instance, earliest_schedule(instance, [[(3, 1)], [], []]))
    assert evaluation.travel == pytest.approx(2 * instance.travel[0, 3])


def test_sync_greedy_schedule_passes_the_checker():
    """The double-up greedy's A1 day serves every service, in sync, by qualified carers."""
    from benchmarks.baselines.sync_greedy import sync_greedy
    from benchmarks.instances import MANKOWSKA_SCALE, ServiceVisit

    instance = read_mankowska(MANKOWSKA_DIR / "InstanzCPLEX_HCSRP_10_1.txt")
    converted = mankowska_problem(instance)
    result = sync_greedy(converted.problem, time_limit_s=0.2, seed=1)
    schedule = [
        [
            ServiceVisit(*converted.services[v], start=result.start_s[v] / MANKOWSKA_SCALE)
            for v in route
        ]
        for route in result.rounds
    ]
    evaluation = evaluate_schedule(instance, schedule)
    assert evaluation.is_feasible, evaluation.violations
    assert evaluation.objective == pytest.approx(result.cost / (3 * MANKOWSKA_SCALE), rel=1e-3)
