"""Cross-part repair: left-out calls and double-ups inserted only where rounds stay feasible."""

from __future__ import annotations

import time

from solver import (
    Carer,
    Objective,
    Problem,
    ReallocationParams,
    Visit,
    evaluate_rounds,
    reallocate,
)
from solver._decompose import decompose
from solver._precheck import precheck
from solver._repair import repair
from tests.solver.conftest import H, street_matrix
from tests.solver.test_reallocation import assert_feasible


def _repaired(problem: Problem, rounds: list[list[int]], start_s: dict[int, int] | None = None):
    """Run repair from ``rounds`` (the other calls left out) and cost the result."""
    start = evaluate_rounds(problem, rounds, start_s=start_s)
    feasible = precheck(problem)[1]
    new_rounds, starts, departs = repair(
        problem, start, feasible, deadline=time.perf_counter() + 60
    )
    return evaluate_rounds(problem, new_rounds, start_s=starts, depart_s=departs)


def test_repair_respects_working_hours_cap() -> None:
    """An early call is not added to a capped carer's evening round, but to the free carer."""
    visits = (
        Visit(1, 17 * H, 19 * H, 1800),
        Visit(2, 17 * H, 19 * H, 1800),
        Visit(1, 8 * H, 9 * H, 1800),  # left out
    )
    carers = (
        Carer(0, 0, 0, 7 * H, 22 * H, max_work_s=6 * H),
        Carer(0, 10, 10, 7 * H, 12 * H),
    )
    problem = Problem(visits=visits, carers=carers, travel_s=street_matrix(12, step_s=60))
    sol = _repaired(problem, [[0, 1], []])
    assert sol.carer_of(3).tolist() == [0, 0, 1]
    for r in sol.routes:
        assert r.return_s - r.depart_s <= problem.carers[r.carer].work_cap_s


def test_repair_ejects_a_flexible_call_to_make_room() -> None:
    """A tight call takes a flexible call's place; the flexible call moves to another round."""
    visits = (
        Visit(1, 8 * H, 12 * H, H),  # flexible, in carer 0's round
        Visit(1, 8 * H, 9 * H + 300, H),  # tight, left out: only carer 0 reaches it in time
    )
    carers = (
        Carer(0, 0, 0, 8 * H, 9 * H + 600),  # room for one call
        Carer(0, 20, 20, 9 * H, 12 * H),  # starts too late and too far for the tight call
    )
    problem = Problem(visits=visits, carers=carers, travel_s=street_matrix(21, step_s=60))
    sol = _repaired(problem, [[0], []])
    assert not sol.unserved
    assert sol.carer_of(2).tolist() == [1, 0]
    assert sol.total.lateness_s == 0
    for r in sol.routes:
        assert r.return_s <= problem.carers[r.carer].shift_end_s


def test_repair_ejection_puts_the_call_where_the_ejected_call_was() -> None:
    """The left-out call's cheapest gap has no room whatever is ejected; in the place of
    the flexible call, which moves to another carer, it fits."""
    visits = (
        Visit(5, 9 * H, 9 * H + 1800, 1800, skills=frozenset({"hoist"})),  # must start 9:00
        Visit(10, 9 * H + 2400, 10 * H + 2400, 1800),  # flexible: 9:40-10:10 start
        # Left out, 9:00-9:35 start: cheapest before the 9:00 call, which it would make late.
        Visit(0, 9 * H, 10 * H + 300, 1800, skills=frozenset({"hoist"})),
    )
    carers = (
        Carer(0, 0, 20, 8 * H, 12 * H, skills=frozenset({"hoist"})),
        Carer(0, 10, 10, 9 * H, 12 * H),  # near the flexible call, not qualified for the others
    )
    problem = Problem(visits=visits, carers=carers, travel_s=street_matrix(21, step_s=60))
    sol = _repaired(problem, [[0, 1], []])
    assert not sol.unserved
    assert sol.carer_of(3).tolist() == [0, 1, 0]
    assert sol.routes[0].visits == (0, 2)
    assert sol.total.lateness_s == 0
    assert_feasible(problem, sol)


def test_repair_ejects_in_a_chain_of_two_when_the_ejected_call_has_no_room() -> None:
    """The left-out call takes a skilled call's place; that call has no room as the rounds
    stand, so it takes the place of a call the last carer takes."""
    skilled = frozenset({"stoma"})
    visits = (
        Visit(0, 9 * H, 10 * H, 1800, skills=skilled),  # 9:00-9:30 start
        Visit(10, 9 * H, 9 * H + 2700, 1800),  # 9:00-9:15 start
        Visit(0, 9 * H, 9 * H + 1800, 1800, skills=frozenset({"hoist"})),  # left out, 9:00
    )
    carers = (
        Carer(0, 0, 0, 8 * H, 9 * H + 2700, skills=frozenset({"hoist"}) | skilled),
        Carer(0, 10, 10, 9 * H, 10 * H, skills=skilled),
        Carer(0, 12, 12, 9 * H, 12 * H),  # not qualified for either skilled call
    )
    problem = Problem(visits=visits, carers=carers, travel_s=street_matrix(13, step_s=60))
    sol = _repaired(problem, [[0], [1], []])
    assert not sol.unserved
    assert sol.carer_of(3).tolist() == [1, 2, 0]
    assert sol.total.lateness_s == 0
    assert_feasible(problem, sol)


def test_repair_places_double_up_on_two_carers_together() -> None:
    """A left-out double-up goes in as a pair, both halves starting together."""
    visits = (
        Visit(1, 8 * H, 10 * H, 1800),
        Visit(3, 9 * H, 11 * H, 1800, sync_group=0),
        Visit(3, 9 * H, 11 * H, 1800, sync_group=0),
    )
    carers = (Carer(0, 0, 0, 7 * H, 14 * H), Carer(0, 5, 5, 7 * H, 14 * H))
    problem = Problem(visits=visits, carers=carers, travel_s=street_matrix(6, step_s=60))
    sol = _repaired(problem, [[0], []])
    assert not sol.unserved
    carer_of, start_of = sol.carer_of(3), sol.start_of(3)
    assert carer_of[1] != carer_of[2]
    assert start_of[1] == start_of[2]
    assert sol.sync_violations == 0


def _pair(
    location: int,
    start_h: float,
    end_h: float,
    duration_s: int,
    *,
    skills: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset()),
    band_s: tuple[int, int] = (0, 0),
    sync_group: int = 0,
) -> tuple[Visit, Visit]:
    """Both halves of a double-up: one window, ``skills`` per half, start-gap ``band_s``."""
    a, b = (
        Visit(
            location,
            int(start_h * H),
            int(end_h * H),
            duration_s,
            skills=s,
            sync_group=sync_group,
            sync_min_gap_s=band_s[0],
            sync_max_gap_s=band_s[1],
        )
        for s in skills
    )
    return a, b


def test_repair_places_double_up_needing_two_skills_across_providers() -> None:
    """Halves needing different skills go to the one carer holding each, across providers."""
    hoist, peg = frozenset({"hoist"}), frozenset({"peg_feeding"})
    visits = (Visit(1, 8 * H, 10 * H, 1800), *_pair(3, 9, 11, 1800, skills=(hoist, peg)))
    carers = (
        Carer(0, 0, 0, 7 * H, 14 * H, skills=hoist),
        Carer(1, 5, 5, 7 * H, 14 * H, skills=peg),
        Carer(0, 3, 3, 7 * H, 14 * H),  # next door, but holds neither skill
    )
    problem = Problem(visits=visits, carers=carers, travel_s=street_matrix(6, step_s=60))
    sol = _repaired(problem, [[0], [], []])
    assert_feasible(problem, sol)
    assert not sol.unserved
    assert sol.carer_of(3).tolist() == [0, 0, 1]
    assert sol.start_of(3)[1] == sol.start_of(3)[2]


def test_repair_pairs_a_busy_round_near_the_home_with_another() -> None:
    """One busy round next door has every cheap gap; the other half goes to a second carer."""
    visits = tuple(Visit(1 + j % 3, 8 * H, 18 * H, 900) for j in range(14))
    visits += _pair(2, 8, 18, 1800)
    carers = (
        Carer(0, 1, 1, 7 * H, 20 * H),
        Carer(0, 1, 1, 7 * H, 20 * H),
        Carer(0, 20, 20, 7 * H, 20 * H),
    )
    problem = Problem(visits=visits, carers=carers, travel_s=street_matrix(21, step_s=60))
    sol = _repaired(problem, [list(range(14)), [], []])
    assert_feasible(problem, sol)
    assert not sol.unserved
    assert sorted(sol.carer_of(16)[14:].tolist()) == [0, 1]


def test_repair_places_double_up_one_after_the_other() -> None:
    """A 15-30 minute band: the second half starts 15-30 minutes after the first."""
    visits = _pair(3, 9, 12, 1800, band_s=(900, 1800))
    carers = (Carer(0, 0, 0, 7 * H, 14 * H), Carer(0, 5, 5, 7 * H, 14 * H))
    problem = Problem(visits=visits, carers=carers, travel_s=street_matrix(6, step_s=60))
    sol = _repaired(problem, [[], []])
    assert_feasible(problem, sol)
    assert not sol.unserved
    start = sol.start_of(2)
    assert 900 <= start[1] - start[0] <= 1800


def test_repair_leaves_out_a_double_up_only_one_round_has_room_for() -> None:
    """Neither half goes in when only one carer's round has room at the double-up's time."""
    visits = (
        Visit(1, 9 * H, 10 * H, H),  # carer 1 is busy all through the double-up's window
        *_pair(2, 9, 10, 1800),
    )
    carers = (Carer(0, 0, 0, 7 * H, 14 * H), Carer(0, 0, 0, 7 * H, 14 * H))
    problem = Problem(visits=visits, carers=carers, travel_s=street_matrix(4, step_s=60))
    sol = _repaired(problem, [[], [0]])
    assert_feasible(problem, sol)
    assert [r.visits for r in sol.routes] == [(), (0,)]
    assert sorted(u.visit for u in sol.unserved) == [1, 2]


def test_repair_double_up_respects_working_hours_cap_and_shift_end() -> None:
    """The cheapest carers (next door) are passed over: one would exceed the cap, one the shift."""
    visits = (
        Visit(1, 17 * H, 19 * H, 1800),  # carer 0's evening call: a morning half breaks its cap
        Visit(5, 7 * H, 9 * H, 90 * 60),  # carer 1's long call: a half runs it past shift end
        *_pair(1, 8, 9, 1800),
    )
    carers = (
        Carer(0, 1, 1, 7 * H, 22 * H, max_work_s=6 * H),
        Carer(0, 1, 1, 7 * H, 9 * H),
        Carer(0, 3, 3, 7 * H, 14 * H),
        Carer(0, 3, 3, 7 * H, 14 * H),
    )
    problem = Problem(visits=visits, carers=carers, travel_s=street_matrix(6, step_s=60))
    sol = _repaired(problem, [[0], [1], [], []])
    assert_feasible(problem, sol)
    assert not sol.unserved
    assert sorted(sol.carer_of(4)[2:].tolist()) == [2, 3]


def test_repair_keeps_start_of_double_up_already_in_the_rounds() -> None:
    """A double-up already in two rounds keeps its starts when a new one goes in before it."""
    old = _pair(2, 9, 12, 1800, sync_group=1)
    visits = (*old, *_pair(1, 8, 11, H))
    carers = (Carer(0, 1, 1, 7 * H, 14 * H), Carer(0, 1, 1, 7 * H, 14 * H))
    problem = Problem(visits=visits, carers=carers, travel_s=street_matrix(3, step_s=60))
    pinned = {0: 10 * H + 1800, 1: 10 * H + 1800}
    sol = _repaired(problem, [[0], [1]], start_s=pinned)
    assert_feasible(problem, sol)
    assert not sol.unserved
    start = sol.start_of(4)
    assert start[:2].tolist() == [10 * H + 1800, 10 * H + 1800]
    assert start[2] == start[3] and start[2] + H <= start[0]  # the new one goes first


def test_repair_places_double_up_late_only_when_windows_are_soft() -> None:
    """A double-up the rounds can only reach late goes in late on a soft-window day."""
    visits = (Visit(1, 8 * H, 9 * H, H), Visit(1, 8 * H, 9 * H, H), *_pair(2, 8, 9, 1800))
    carers = (Carer(0, 0, 0, 7 * H, 14 * H), Carer(0, 0, 0, 7 * H, 14 * H))
    hard = Problem(visits=visits, carers=carers, travel_s=street_matrix(3, step_s=60))
    soft = Problem(
        visits=visits,
        carers=carers,
        travel_s=street_matrix(3, step_s=60),
        objective=Objective(hard_windows=False),
    )
    assert sorted(u.visit for u in _repaired(hard, [[0], [1]]).unserved) == [2, 3]
    sol = _repaired(soft, [[0], [1]])
    assert_feasible(soft, sol)
    assert not sol.unserved
    assert sol.start_of(4)[2] == sol.start_of(4)[3] == 9 * H + 60
    assert sol.total.lateness_s > 0


def _two_towns_one_hoist_each(*, peg_calls: int = 0) -> Problem:
    """Two towns 40 houses apart, each with a hoist carer; one town has a hoist double-up.

    ``peg_calls`` calls at house 5, all due at 8:00, need the one carer with peg feeding.
    """
    hoist, peg = frozenset({"hoist"}), frozenset({"peg_feeding"})
    visits = [Visit(base + j, 8 * H, 14 * H, 1800) for base in (0, 40) for j in range(1, 7)]
    visits += _pair(3, 10, 12, 1800, skills=(hoist, hoist))
    visits += [Visit(5, 8 * H, 8 * H + 2100, 1800, skills=peg) for _ in range(peg_calls)]
    carers = [Carer(0, base, base, 7 * H, 15 * H, skills=hoist) for base in (0, 40)]
    carers += [Carer(0, 0, 0, 7 * H, 15 * H, skills=peg), Carer(0, 40, 40, 7 * H, 15 * H)]
    return Problem(
        visits=tuple(visits), carers=tuple(carers), travel_s=street_matrix(48, step_s=60)
    )


def test_decomposed_day_serves_double_up_with_carer_from_neighbouring_part() -> None:
    """The double-up's part has one hoist carer; repair brings in the other part's."""
    problem = _two_towns_one_hoist_each()
    params = ReallocationParams(time_limit_s=4, workers=1, solution_limit=300, max_part_visits=8)
    parts = decompose(problem, max_part_visits=8, seed=params.seed)
    (home,) = [p for p in parts if problem.sync_pairs[0][0] in p.visits]
    assert sum("hoist" in problem.carers[k].skills for k in home.carers) == 1
    sol = reallocate(problem, params)
    assert_feasible(problem, sol)
    assert sol.is_complete
    assert any(s.endswith("repair+2") for s in sol.stats.status.split(","))


def test_decomposed_day_reports_only_calls_left_out_after_repair() -> None:
    """A half dropped as an orphan and then placed by repair is not reported unserved."""
    problem = _two_towns_one_hoist_each(peg_calls=2)  # one peg call cannot be served
    params = ReallocationParams(time_limit_s=4, workers=1, solution_limit=300, max_part_visits=8)
    sol = reallocate(problem, params)
    assert_feasible(problem, sol)
    assert [u.visit for u in sol.unserved] in ([14], [15])
    assert any(s.endswith("repair+2") for s in sol.stats.status.split(","))
