"""PyVRP on decomposed days: calls left out when short of carers, double-ups pinned, warm starts."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
import pyvrp
from hypothesis import HealthCheck, given, settings

from solver import (
    Carer,
    Problem,
    ReallocationParams,
    UnservedReason,
    Visit,
    evaluate_rounds,
    reallocate,
)
from solver._parts import solve_part_or_nothing
from solver._passes import run_passes
from solver._precheck import precheck
from solver._pyvrp_engine import UnsupportedByEngineError, solve_with_pyvrp, unsupported_reason
from tests.solver.conftest import H, street_matrix
from tests.solver.test_reallocation import assert_feasible, small_days

FAST = ReallocationParams(time_limit_s=1, workers=1, solution_limit=200)


def _short_of_carers() -> Problem:
    """One carer, four half-hour calls at one house, all inside one hour: two fit."""
    visits = tuple(Visit(1, 9 * H, 10 * H, 1800, service_user=j) for j in range(4))
    carers = (Carer(0, 0, 0, 8 * H, 12 * H),)
    return Problem(visits=visits, carers=carers, travel_s=street_matrix(2))


def test_optional_calls_leave_out_only_what_does_not_fit() -> None:
    """Short of carers, PyVRP serves the two calls that fit and reports the other two."""
    problem = _short_of_carers()
    sol = solve_with_pyvrp(problem, FAST, optional_calls=True)
    assert_feasible(problem, sol)
    assert len(sol.routes[0].visits) == 2
    assert {u.reason for u in sol.unserved} == {UnservedReason.NOT_SCHEDULED}


def test_pinned_double_up_stays_on_its_carers_and_time(double_up_on_street: Problem) -> None:
    """Both halves start at the pinned time on the pinned carers; the singles go round them."""
    pins = {0: (0, 9 * H), 1: (1, 9 * H)}
    sol = solve_with_pyvrp(double_up_on_street, FAST, optional_calls=True, pinned=pins)
    assert_feasible(double_up_on_street, sol)
    assert sol.is_complete
    carer_of, start_of = sol.carer_of(4), sol.start_of(4)
    assert (carer_of[0], carer_of[1]) == (0, 1)
    assert start_of[0] == start_of[1] == 9 * H


def test_double_up_with_a_half_not_pinned_is_left_out(double_up_on_street: Problem) -> None:
    """A double-up the first engine did not place is reported, never served half."""
    sol = solve_with_pyvrp(double_up_on_street, FAST, optional_calls=True, pinned={0: (0, 9 * H)})
    assert_feasible(double_up_on_street, sol)
    assert {u.visit: u.reason for u in sol.unserved} == {
        0: UnservedReason.NOT_SCHEDULED,
        1: UnservedReason.NOT_SCHEDULED,
    }


def test_pinned_half_that_cannot_be_kept_takes_its_partner_out(
    double_up_on_street: Problem,
) -> None:
    """A pin too late for its carer to get home in shift; its other half is left out with it."""
    early = replace(double_up_on_street.carers[1], shift_end_s=10 * H)
    problem = replace(
        double_up_on_street,
        carers=(double_up_on_street.carers[0], early, double_up_on_street.carers[2]),
    )
    late = 9 * H + 1800
    sol = solve_with_pyvrp(problem, FAST, optional_calls=True, pinned={0: (0, late), 1: (1, late)})
    assert_feasible(problem, sol)
    reasons = {u.visit: u.reason for u in sol.unserved}
    assert set(reasons) == {0, 1}
    assert UnservedReason.PARTNER_UNSERVED in reasons.values()


def test_double_ups_need_pins(double_up_on_street: Problem) -> None:
    """Without pins a day with double-ups is refused, naming them."""
    assert unsupported_reason(double_up_on_street, pins_double_ups=True) is None
    with pytest.raises(UnsupportedByEngineError, match="double-ups"):
        solve_with_pyvrp(double_up_on_street, FAST)


def test_decomposed_day_routes_parts_with_pyvrp() -> None:
    """A county-like day cut into parts: PyVRP routes the parts, double-ups pinned, all kept."""
    visits = [
        Visit(loc, 8 * H + (loc % 3) * H, 11 * H + (loc % 3) * H, 1800, service_user=loc)
        for loc in range(1, 21)
    ]
    visits += [
        Visit(7, 9 * H, 11 * H, 1800, sync_group=0),
        Visit(7, 9 * H, 11 * H, 1800, sync_group=0),
    ]
    carers = tuple(Carer(0, loc, loc, 7 * H, 15 * H) for loc in (0, 5, 10, 15, 20, 21))
    problem = Problem(visits=tuple(visits), carers=carers, travel_s=street_matrix(22, step_s=120))
    sol = reallocate(problem, replace(FAST, time_limit_s=4, max_part_visits=8, workers=2))
    assert sol.stats.parts >= 2
    assert "pyvrp" in sol.stats.engine
    assert_feasible(problem, sol)
    assert sol.is_complete


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_days())
def test_property_decomposed_days_keep_invariants(problem: Problem) -> None:
    """Any small day cut into parts of three calls: every invariant of a whole-day solve holds."""
    params = ReallocationParams(time_limit_s=0.6, workers=1, solution_limit=50, max_part_visits=3)
    assert_feasible(problem, reallocate(problem, params))


def test_warm_start_is_never_worse_than_its_rounds(one_street_two_carers: Problem) -> None:
    """PyVRP started from rounds returns rounds costing no more than them, even at one step."""
    initial = [[0, 1, 2, 3], []]
    before = evaluate_rounds(one_street_two_carers, initial)
    one_step = ReallocationParams(time_limit_s=1, workers=1, solution_limit=1)
    sol = solve_with_pyvrp(one_street_two_carers, one_step, optional_calls=True, initial=initial)
    assert_feasible(one_street_two_carers, sol)
    assert sol.cost <= before.cost


def test_searches_that_must_place_every_call_look_wider_than_a_region_polish(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A part from scratch, or from another engine's start, looks at half its calls around
    each call; a region polishing a feasible answer keeps PyVRP's 50 (``_NEIGHBOUR_SHARE``)."""
    n_calls = 240
    visits = tuple(Visit(1 + j % 40, 7 * H, 22 * H, 600, service_user=j) for j in range(n_calls))
    carers = tuple(Carer(0, 0, 0, 7 * H, 22 * H) for _ in range(4))
    problem = Problem(visits=visits, carers=carers, travel_s=street_matrix(41, step_s=60))
    seen: list[pyvrp.SolveParams] = []
    real_solve = pyvrp.solve

    def spy(*args: object, **kwargs: object) -> pyvrp.Result:
        seen.append(kwargs["params"])  # type: ignore[arg-type]
        return real_solve(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pyvrp, "solve", spy)
    few = ReallocationParams(time_limit_s=5, workers=1, solution_limit=5)
    cold = solve_with_pyvrp(problem, few, optional_calls=True)
    rounds = [list(r) for r in cold.rounds]
    solve_with_pyvrp(problem, few, optional_calls=True, initial=rounds)
    solve_with_pyvrp(problem, few, optional_calls=True, initial=rounds, polish=True)
    small = replace(problem, visits=visits[:60])
    solve_with_pyvrp(small, few, optional_calls=True)
    # An improvement pass's region (its rounds and their start times) polishes.
    schedule = {i: s for r in cold.routes for i, s in zip(r.visits, r.start_s, strict=True)}
    feasible = precheck(problem)[1]
    solve_part_or_nothing((problem, feasible, few, 1.0, rounds, None, schedule))

    assert [p.neighbourhood.num_neighbours for p in seen] == [120, 120, 50, 50, 50]
    # A start keeps the warm settings whatever its neighbourhood.
    assert seen[1].operators == seen[2].operators != seen[0].operators


def test_improvement_pass_shortens_zigzag_rounds() -> None:
    """Regions re-solved from stitched zigzag rounds come back shorter, every invariant kept."""
    n_loc = 41
    singles = [Visit(loc, 8 * H, 16 * H, 900, service_user=loc) for loc in range(1, n_loc)]
    pair = [Visit(20, 9 * H, 11 * H, 1800, sync_group=0) for _ in range(2)]
    visits = tuple(singles + pair)
    carers = tuple(Carer(0, loc, loc, 7 * H, 18 * H) for loc in (0, 10, 20, 30, 40))
    problem = Problem(visits=visits, carers=carers, travel_s=street_matrix(n_loc, step_s=120))
    # Each carer serves the eight houses nearest them in zigzag order; the double-up at 20
    # comes first for the carers living at 10 and 30, so both start it at 9:00.
    rounds: list[list[int]] = [[] for _ in carers]
    for i in range(n_loc - 1):
        rounds[min(4, (i + 1) // 8)].append(i)
    for k, seq in enumerate(rounds):
        rounds[k] = seq[::2] + seq[1::2][::-1]
    rounds[1].insert(0, n_loc - 1)
    rounds[3].insert(0, n_loc)
    before = evaluate_rounds(problem, rounds)
    assert before.sync_violations == 0
    start_s = {i: s for r in before.routes for i, s in zip(r.visits, r.start_s, strict=True)}
    depart_s = [r.depart_s for r in before.routes]
    stitched = [tuple(r) for r in rounds]
    _, feasible = precheck(problem)
    params = ReallocationParams(time_limit_s=5, workers=1, max_part_visits=12, engine="pyvrp")
    params = replace(params, lns_iterations_per_solution=0, solution_limit=500)
    passes = run_passes(
        problem,
        stitched,
        start_s,
        depart_s,
        feasible,
        params,
        lanes=1,
        end=time.perf_counter() + 4,
        seed=1,
    )
    after = evaluate_rounds(problem, stitched, start_s=start_s, depart_s=depart_s)
    assert passes.better >= 1
    assert after.total.travel_s < before.total.travel_s
    assert after.is_complete
    assert_feasible(problem, after)
