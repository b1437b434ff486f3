"""Placement: proposals are feasible, cheapest, and respect skills and double-ups."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from solver import (
    Carer,
    PlacementParams,
    Problem,
    Visit,
    evaluate_rounds,
)
from solver.insertion import Placement, PlacementIndex, place_package
from tests.solver.conftest import H, street_matrix


def two_rounds_on_a_street() -> tuple[Problem, list[list[int]]]:
    """Two providers' carers each with two morning calls; house 9 is free for a new person."""
    visits = tuple(Visit(loc, 7 * H, 13 * H, 1800) for loc in (2, 4, 6, 8))
    carers = (
        Carer(0, 0, 0, 7 * H, 14 * H, skills=frozenset({"hoist"})),
        Carer(1, 0, 0, 7 * H, 14 * H),
        Carer(1, 10, 10, 7 * H, 14 * H, skills=frozenset({"hoist"})),
    )
    return Problem(visits=visits, carers=carers, travel_s=street_matrix(11)), [[0, 1], [2, 3], []]


def apply(
    problem: Problem, rounds: list[list[int]], calls: list[Visit], p: Placement
) -> tuple[Problem, list[list[int]]]:
    """The problem with the package added and its calls inserted where proposed."""
    n = problem.num_visits
    new_rounds = [list(r) for r in rounds]
    for ins in sorted(p.insertions, key=lambda i: -i.position):
        new_rounds[ins.carer].insert(ins.position, n + ins.call)
    return problem.with_visits(problem.visits + tuple(calls)), new_rounds


def assert_holds(
    problem: Problem, rounds: list[list[int]], calls: list[Visit], p: Placement
) -> None:
    """Inserting the proposal keeps every round on time, in shift, and double-ups apart."""
    bigger, new_rounds = apply(problem, rounds, calls, p)
    starts = {problem.num_visits + i.call: i.start_s for i in p.insertions}
    sol = evaluate_rounds(bigger, new_rounds, start_s=starts)
    assert sol.total.lateness_s == 0
    for r in sol.routes:
        assert r.return_s <= bigger.carers[r.carer].shift_end_s
    assert sol.sync_violations == 0


def test_single_call_goes_to_cheapest_position() -> None:
    """A call at house 9 is proposed where brute force finds the least added travel."""
    problem, rounds = two_rounds_on_a_street()
    base = evaluate_rounds(problem, rounds)
    call = Visit(9, 7 * H, 13 * H, 1800)
    proposals = place_package(problem, base, [call], PlacementParams(top_k=2))
    best = None
    for k in range(3):
        for pos in range(len(rounds[k]) + 1):
            trial = [list(r) for r in rounds]
            trial[k].insert(pos, 4)
            sol = evaluate_rounds(problem.with_visits((*problem.visits, call)), trial)
            if sol.total.lateness_s == 0:
                added = sol.total.travel_s - base.total.travel_s
                best = added if best is None else min(best, added)
    assert proposals and proposals[0].added_travel_s == best
    assert len({p.provider for p in proposals}) == len(proposals)  # distinct providers
    assert_holds(problem, rounds, [call], proposals[0])


def test_skills_limit_the_carers() -> None:
    """A hoist call only goes to carers with a hoist; a skill nobody has gives no proposal."""
    problem, rounds = two_rounds_on_a_street()
    base = evaluate_rounds(problem, rounds)
    hoist = Visit(9, 7 * H, 13 * H, 1800, skills=frozenset({"hoist"}))
    proposals = place_package(problem, base, [hoist], PlacementParams(top_k=5))
    assert {i.carer for p in proposals for i in p.insertions} <= {0, 2}
    nobody = Visit(9, 7 * H, 13 * H, 1800, skills=frozenset({"peg_feeding"}))
    assert place_package(problem, base, [nobody]) == ()


def test_double_up_goes_to_two_carers_together() -> None:
    """Both halves of a new double-up go to different carers of one provider, starting together."""
    problem, rounds = two_rounds_on_a_street()
    base = evaluate_rounds(problem, rounds)
    calls = [Visit(9, 8 * H, 12 * H, 1800, sync_group=0) for _ in range(2)]
    proposals = place_package(problem, base, calls)
    assert proposals
    for p in proposals:
        a, b = p.insertions
        assert a.carer != b.carer
        assert a.start_s == b.start_s
        assert_holds(problem, rounds, calls, p)


def test_working_hours_cap_counts_the_wait_for_a_late_call() -> None:
    """A 3-hour carer with a 7am call is not offered a 1pm call: the wait would make the round
    six hours long, though the added travel and the call itself fit in the cap."""
    visits = (Visit(2, 7 * H, 8 * H, 1800),)
    carers = (
        Carer(0, 0, 0, 7 * H, 20 * H, max_work_s=3 * H),
        Carer(1, 10, 10, 7 * H, 20 * H),
    )
    problem = Problem(visits=visits, carers=carers, travel_s=street_matrix(11))
    rounds: list[list[int]] = [[0], []]
    base = evaluate_rounds(problem, rounds)
    late = Visit(3, 13 * H, 14 * H, 1800)
    proposals = place_package(problem, base, [late], PlacementParams(top_k=5))
    assert [i.carer for p in proposals for i in p.insertions] == [1]
    early = Visit(3, 7 * H, 9 * H, 1800)  # the same call in the morning fits carer 0
    proposals = place_package(problem, base, [early], PlacementParams(top_k=5))
    assert proposals[0].insertions[0].carer == 0
    bigger, new_rounds = apply(problem, rounds, [early], proposals[0])
    assert evaluate_rounds(bigger, new_rounds).costs[0].span_s <= 3 * H


def test_provider_filter_and_top_k() -> None:
    """Only the providers asked for are proposed, at most top_k of them."""
    problem, rounds = two_rounds_on_a_street()
    base = evaluate_rounds(problem, rounds)
    call = Visit(9, 7 * H, 13 * H, 1800)
    assert {p.provider for p in place_package(problem, base, [call], providers=[1])} == {1}
    assert len(place_package(problem, base, [call], PlacementParams(top_k=1))) == 1


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n_calls=st.integers(1, 4),
    window=st.sampled_from([1800, 3600, 7200]),
)
def test_property_proposals_are_feasible(seed: int, n_calls: int, window: int) -> None:
    """Whatever the rounds and package, every proposal keeps all rounds feasible."""
    rng = np.random.default_rng(seed)
    n_loc = 12
    visits, rounds = [], [[], [], []]
    for k in range(3):
        t = 7 * H
        for _ in range(int(rng.integers(0, 5))):
            loc = int(rng.integers(1, n_loc))
            ws = t + int(rng.integers(0, 2)) * 1800
            visits.append(Visit(loc, ws, ws + 5400, 1800))
            rounds[k].append(len(visits) - 1)
            t = ws + 3600
    caps = [int(rng.integers(2, 10)) * H for _ in range(3)]
    carers = tuple(Carer(k % 2, 0, 0, 7 * H, 16 * H, max_work_s=caps[k]) for k in range(3))
    problem = Problem(
        visits=tuple(visits), carers=carers, travel_s=street_matrix(n_loc, step_s=240)
    )
    base = evaluate_rounds(problem, rounds)
    calls = []
    for _ in range(n_calls):
        ws = int(rng.integers(7, 14)) * H
        calls.append(Visit(int(rng.integers(1, n_loc)), ws, ws + 1800 + window, 1800))
    for p in PlacementIndex(problem, base).place(calls, PlacementParams(top_k=3)):
        assert len(p.insertions) == n_calls
        assert_holds(problem, rounds, calls, p)
        bigger, new_rounds = apply(problem, rounds, calls, p)
        least = evaluate_rounds(bigger, new_rounds)  # as early as it runs, leaving late
        for ins in p.insertions:
            assert least.costs[ins.carer].span_s <= caps[ins.carer]
