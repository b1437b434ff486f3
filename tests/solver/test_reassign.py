"""Whole rounds, or halves of rounds, handed to the carers who drive them cheapest
(``reassign_rounds``, ``reassign_halves``)."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import HealthCheck, given, settings

from solver import (
    Carer,
    Policy,
    Problem,
    ReallocationParams,
    Solution,
    Visit,
    evaluate_rounds,
    reallocate,
)
from solver._precheck import precheck
from solver._reassign import reassign_halves, reassign_rounds
from tests.solver.conftest import H, street_matrix
from tests.solver.test_reallocation import assert_feasible, small_days


def _two_ends(carers: Sequence[Carer], *, policy: Policy | None = None) -> Problem:
    """Two morning calls at each end of an 11-house street (houses 1, 2 and 8, 9)."""
    visits = tuple(
        Visit(loc, 8 * H, 10 * H, 1800, carer=0 if loc < 5 else 1) for loc in (1, 2, 8, 9)
    )
    return Problem(
        visits=visits,
        carers=tuple(carers),
        travel_s=street_matrix(11),
        policy=policy or Policy(),
        n_providers=1,
    )


def _hand_over(problem: Problem, rounds: list[tuple[int, ...]]) -> tuple[Solution, Solution]:
    """The day before and after ``reassign_rounds``, both costed with the same start times."""
    before = evaluate_rounds(problem, rounds)
    start_s = {i: s for r in before.routes for i, s in zip(r.visits, r.start_s, strict=True)}
    depart_s = [r.depart_s for r in before.routes]
    _, feasible = precheck(problem)
    found = reassign_rounds(problem, rounds, start_s, depart_s, feasible)
    if found is None:
        return before, before
    new_rounds, new_departs = found
    return before, evaluate_rounds(problem, new_rounds, start_s=start_s, depart_s=new_departs)


def test_rounds_go_to_the_carer_who_lives_nearest() -> None:
    """Each carer was given the round at the far end of the street; they swap, calls and
    start times kept, and each leaves home just in time."""
    carers = [Carer(0, 0, 0, 7 * H, 14 * H), Carer(0, 10, 10, 7 * H, 14 * H)]
    problem = _two_ends(carers)
    before, after = _hand_over(problem, [(2, 3), (0, 1)])
    assert [r.visits for r in after.routes] == [(0, 1), (2, 3)]
    assert after.total.travel_s < before.total.travel_s
    assert after.cost < before.cost
    assert sorted(after.start_of(4)) == sorted(before.start_of(4))
    for r in after.routes:
        home = carers[r.carer].start_location
        first = problem.visits[r.visits[0]].location
        assert r.depart_s + problem.travel_s[0][home, first] == r.start_s[0]
    assert_feasible(problem, after)


def test_a_carer_keeps_their_round_when_no_other_is_cheaper() -> None:
    """Two carers at one home: handing over saves nothing, so nothing moves."""
    carers = [Carer(0, 5, 5, 7 * H, 14 * H), Carer(0, 5, 5, 7 * H, 14 * H)]
    problem = _two_ends(carers)
    _, feasible = precheck(problem)
    start_s = {0: 8 * H, 1: 8 * H + 2100, 2: 8 * H, 3: 8 * H + 2100}
    assert reassign_rounds(problem, [(0, 1), (2, 3)], start_s, [7 * H, 7 * H], feasible) is None


def test_a_round_needing_a_skill_stays_with_a_skilled_carer() -> None:
    """The nearer carer has no hoist, so the hoist round stays where it is."""
    carers = [
        Carer(0, 0, 0, 7 * H, 14 * H),
        Carer(0, 10, 10, 7 * H, 14 * H, skills=frozenset({"hoist"})),
    ]
    problem = _two_ends(carers)
    hoist = Visit(1, 8 * H, 10 * H, 1800, skills=frozenset({"hoist"}))
    problem = Problem(
        visits=(hoist, *problem.visits[1:]), carers=problem.carers, travel_s=problem.travel_s
    )
    before, after = _hand_over(problem, [(2, 3), (0, 1)])
    assert [r.visits for r in after.routes] == [(2, 3), (0, 1)]
    assert after.cost == before.cost


def test_a_round_past_the_end_of_a_shift_is_not_handed_over() -> None:
    """The nearer carer's shift ends at 9:00, before the round ends."""
    carers = [Carer(0, 0, 0, 7 * H, 9 * H), Carer(0, 10, 10, 7 * H, 14 * H)]
    problem = _two_ends(carers)
    before, after = _hand_over(problem, [(), (0, 1)])
    assert [r.visits for r in after.routes] == [(), (0, 1)]
    assert after.cost == before.cost


def test_a_walker_does_not_take_a_round_timed_for_a_car() -> None:
    """The calls are 4 minutes apart by car and 40 on foot: the walker cannot keep the times."""
    visits = (Visit(1, 8 * H, 8 * H + 1800, 1200), Visit(4, 8 * H, 9 * H, 1200))
    walk = street_matrix(11, step_s=800)
    carers = (Carer(0, 0, 0, 7 * H, 14 * H, travel_mode=1), Carer(0, 10, 10, 7 * H, 14 * H))
    problem = Problem(visits=visits, carers=carers, travel_s=(street_matrix(11, step_s=80), walk))
    before, after = _hand_over(problem, [(), (0, 1)])
    assert before.routes[1].start_s[1] - before.routes[1].start_s[0] < 1200 + 3 * 800
    assert [r.visits for r in after.routes] == [(), (0, 1)]


def test_continuity_penalty_keeps_todays_carer() -> None:
    """A swap saves travel, but each call would change carer, which costs more."""
    carers = [Carer(0, 0, 0, 7 * H, 14 * H), Carer(0, 10, 10, 7 * H, 14 * H)]
    swap = _two_ends(carers)
    _, swapped = _hand_over(swap, [(2, 3), (0, 1)])
    assert [r.visits for r in swapped.routes] == [(0, 1), (2, 3)]
    # Today carer 0 has the far calls 2, 3 and carer 1 the near ones 0, 1.
    visits = tuple(
        Visit(loc, 8 * H, 10 * H, 1800, carer=1 if loc < 5 else 0) for loc in (1, 2, 8, 9)
    )
    kept = Problem(
        visits=visits,
        carers=tuple(carers),
        travel_s=street_matrix(11),
        policy=Policy(carer_change_penalty=1_000_000),
    )
    before, after = _hand_over(kept, [(2, 3), (0, 1)])
    assert [r.visits for r in after.routes] == [(2, 3), (0, 1)]
    assert after.cost == before.cost


def test_double_up_halves_stay_on_two_carers_at_one_time(double_up_on_street: Problem) -> None:
    """Each hoist carer starts at the far end; swapping their rounds keeps the double-up at
    house 3 together at 9:00, on two carers."""
    rounds = [(3, 0), (2, 1), ()]  # carer 0 (home 0) via house 5, carer 1 (home 6) via 1
    before, after = _hand_over(double_up_on_street, rounds)
    assert [r.visits for r in after.routes] == [(2, 1), (3, 0), ()]
    assert after.total.travel_s < before.total.travel_s
    assert_feasible(double_up_on_street, after)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_days())
def test_property_handing_over_never_costs_more(problem: Problem) -> None:
    """Any small day: the handed-over rounds stay feasible and cost no more."""
    sol = reallocate(problem, ReallocationParams(time_limit_s=0.2, workers=1, solution_limit=50))
    placed = {i for r in sol.routes for i in r.visits}
    start_s = {i: s for r in sol.routes for i, s in zip(r.visits, r.start_s, strict=True)}
    _, feasible = precheck(problem)
    depart_s = [r.depart_s for r in sol.routes]
    rounds = [r.visits for r in sol.routes]
    found = reassign_rounds(problem, rounds, start_s, depart_s, feasible)
    if found is None:
        return
    new_rounds, new_departs = found
    assert sorted(i for r in new_rounds for i in r) == sorted(placed)
    after = evaluate_rounds(
        problem, new_rounds, start_s=start_s, depart_s=new_departs, unserved=sol.unserved
    )
    assert_feasible(problem, after)
    assert after.cost <= sol.cost


def test_a_round_without_start_times_stays_where_it_is() -> None:
    """A round whose calls have no start time is kept by its carer; the others still move."""
    carers = [
        Carer(0, 0, 0, 7 * H, 14 * H),
        Carer(0, 10, 10, 7 * H, 14 * H),
        Carer(0, 10, 10, 7 * H, 14 * H),
    ]
    problem = _two_ends(carers)
    _, feasible = precheck(problem)
    start_s = {2: 8 * H, 3: 8 * H + 2100}  # calls 0 and 1 unscheduled
    found = reassign_rounds(problem, [(2, 3), (0, 1), ()], start_s, [0, 25200, 0], feasible)
    assert found is not None
    rounds, departs = found
    assert rounds[1] == (0, 1) and departs[1] == 25200
    assert rounds[2] == (2, 3) and rounds[0] == ()


def _morning_and_evening(carers: Sequence[Carer]) -> Problem:
    """Calls at houses 1 and 9 in the morning and again in the evening."""
    visits = (
        Visit(1, 8 * H, 10 * H, 1800),
        Visit(9, 17 * H, 19 * H, 1800),
        Visit(9, 8 * H, 10 * H, 1800),
        Visit(1, 17 * H, 19 * H, 1800),
    )
    return Problem(visits=visits, carers=tuple(carers), travel_s=street_matrix(11))


def _halves(
    problem: Problem,
    rounds: list[tuple[int, ...]],
    *,
    morning: bool,
    start_s: dict[int, int] | None = None,
) -> Solution:
    """The day after ``reassign_halves``, costed with the start times it had."""
    before = evaluate_rounds(problem, rounds, start_s=start_s)
    start_s = {i: s for r in before.routes for i, s in zip(r.visits, r.start_s, strict=True)}
    _, feasible = precheck(problem)
    found = reassign_halves(
        problem, rounds, start_s, [r.depart_s for r in before.routes], feasible, morning=morning
    )
    if found is None:
        return before
    new_rounds, new_departs = found
    return evaluate_rounds(problem, new_rounds, start_s=start_s, depart_s=new_departs)


def test_evening_halves_go_to_the_carer_who_lives_nearest() -> None:
    """Each carer works near home in the morning and at the far end in the evening. Whole
    rounds cost the same either way; swapping the evening halves keeps both near home."""
    carers = [Carer(0, 0, 0, 7 * H, 20 * H), Carer(0, 10, 10, 7 * H, 20 * H)]
    problem = _morning_and_evening(carers)
    rounds = [(0, 1), (2, 3)]
    before, whole = _hand_over(problem, rounds)
    assert [r.visits for r in whole.routes] == rounds
    assert [r.visits for r in _halves(problem, rounds, morning=True).routes] == rounds
    after = _halves(problem, rounds, morning=False)
    assert [r.visits for r in after.routes] == [(0, 3), (2, 1)]
    assert after.total.travel_s < before.total.travel_s
    assert after.cost < before.cost
    assert_feasible(problem, after)


def test_morning_halves_swap_the_same_way() -> None:
    """The mirror day: the far calls are in the morning, so the morning halves swap."""
    carers = [Carer(0, 0, 0, 7 * H, 20 * H), Carer(0, 10, 10, 7 * H, 20 * H)]
    problem = _morning_and_evening(carers)
    after = _halves(problem, [(2, 3), (0, 1)], morning=True)
    assert [r.visits for r in after.routes] == [(0, 3), (2, 1)]
    assert_feasible(problem, after)


def test_a_carer_does_not_take_the_other_half_of_their_own_double_up() -> None:
    """A double-up in sequence at house 5: carer 0's first half at 12:00, carer 1's second
    at 12:35. Carer 1 lives there and would drive least taking the first half too, but one
    carer cannot be both of a double-up's carers, so the first half stays on carer 0."""
    pair = {"sync_group": 0, "sync_min_gap_s": 2100, "sync_max_gap_s": 2100}
    visits = (
        Visit(5, 12 * H, 14 * H, 1800, **pair),
        Visit(5, 12 * H, 14 * H, 1800, **pair),
        Visit(9, 8 * H, 9 * H, 1800),
    )
    carers = (Carer(0, 10, 10, 7 * H, 20 * H), Carer(0, 5, 5, 7 * H, 20 * H))
    problem = Problem(visits=visits, carers=carers, travel_s=street_matrix(11))
    start_s = {0: 12 * H, 1: 12 * H + 2100, 2: 8 * H}
    rounds = [(0,), (2, 1)]
    before = evaluate_rounds(problem, rounds, start_s=start_s)
    assert before.sync_violations == 0
    after = _halves(problem, rounds, morning=True, start_s=start_s)
    carer_of = {i: r.carer for r in after.routes for i in r.visits}
    assert carer_of[0] != carer_of[1]
    assert after.cost <= before.cost
    assert_feasible(problem, after)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_days())
def test_property_handing_over_halves_never_costs_more(problem: Problem) -> None:
    """Any small day: moving morning or evening halves keeps every call, stays feasible
    (double-ups on two carers) and costs no more."""
    sol = reallocate(problem, ReallocationParams(time_limit_s=0.2, workers=1, solution_limit=50))
    start_s = {i: s for r in sol.routes for i, s in zip(r.visits, r.start_s, strict=True)}
    _, feasible = precheck(problem)
    for morning in (True, False):
        found = reassign_halves(
            problem,
            [r.visits for r in sol.routes],
            start_s,
            [r.depart_s for r in sol.routes],
            feasible,
            morning=morning,
        )
        if found is None:
            continue
        new_rounds, new_departs = found
        assert sorted(i for r in new_rounds for i in r) == sorted(
            i for r in sol.routes for i in r.visits
        )
        after = evaluate_rounds(
            problem, new_rounds, start_s=start_s, depart_s=new_departs, unserved=sol.unserved
        )
        assert_feasible(problem, after)
        assert after.cost <= sol.cost
