"""Decomposition: every call and carer in one part, double-ups together, carers follow demand."""

from __future__ import annotations

import numpy as np

from solver import Carer, Problem, Visit
from solver._decompose import decompose, nearest_carers_for, regroup
from tests.solver.conftest import H, street_matrix


def _two_towns(*, evening_town: int) -> Problem:
    """Morning calls in one town, evening calls in the other; carers live half-way."""
    visits = []
    for town, base in enumerate((0, 40)):
        hour = 18 if town == evening_town else 8
        visits += [Visit(base + j % 8, hour * H, (hour + 3) * H, 1800) for j in range(16)]
    carers = [Carer(0, 24, 24, 7 * H, 14 * H) for _ in range(4)]
    carers += [Carer(0, 24, 24, 15 * H, 22 * H) for _ in range(4)]
    return Problem(
        visits=tuple(visits), carers=tuple(carers), travel_s=street_matrix(48, step_s=60)
    )


def test_parts_cover_every_visit_and_carer_once_with_double_ups_together() -> None:
    """Parts partition visits and carers; both halves of a double-up share a part."""
    rng = np.random.default_rng(3)
    visits = [Visit(int(x), 8 * H, 12 * H, 1800) for x in rng.integers(0, 60, 80)]
    visits += [Visit(7, 9 * H, 11 * H, 1800, sync_group=0), Visit(52, 9 * H, 11 * H, 1800)]
    visits.append(Visit(7, 9 * H, 11 * H, 1800, sync_group=0))
    carers = tuple(Carer(0, int(x), int(x), 7 * H, 15 * H) for x in rng.integers(0, 60, 12))
    problem = Problem(visits=tuple(visits), carers=carers, travel_s=street_matrix(60, step_s=30))
    parts = decompose(problem, max_part_visits=20, seed=0)
    assert len(parts) >= 4
    assert sorted(np.concatenate([p.visits for p in parts]).tolist()) == list(range(83))
    assert sorted(np.concatenate([p.carers for p in parts]).tolist()) == list(range(12))
    a, b = problem.sync_pairs[0]
    assert [a in p.visits for p in parts] == [b in p.visits for p in parts]


def test_carers_follow_calls_by_time_band() -> None:
    """The part with the evening calls gets the evening carers, whichever town it is."""
    for evening_town in (0, 1):
        problem = _two_towns(evening_town=evening_town)
        parts = decompose(problem, max_part_visits=16, seed=0)
        assert len(parts) == 2
        for part in parts:
            evening = problem.visits[int(part.visits[0])].window_start_s >= 15 * H
            shifts = {problem.carers[k].shift_start_s for k in part.carers}
            assert shifts == ({15 * H} if evening else {7 * H})


def test_remote_town_gets_more_carers_than_the_near_one() -> None:
    """Carers who must drive an hour to a town count for less there, so it gets more of them."""
    visits = [Visit(j % 4, 8 * H, 11 * H, 1800) for j in range(12)]
    visits += [Visit(60 + j % 4, 8 * H, 11 * H, 1800) for j in range(12)]
    carers = tuple(Carer(0, 5, 5, 7 * H, 12 * H) for _ in range(10))
    problem = Problem(visits=tuple(visits), carers=carers, travel_s=street_matrix(64, step_s=60))
    parts = decompose(problem, max_part_visits=12, seed=0)
    near, far = sorted(parts, key=lambda p: int(problem.visits[int(p.visits[0])].location))
    assert far.carers.size > near.carers.size


def test_regroup_keeps_rounds_whole_and_double_up_carers_together() -> None:
    """Regions hold whole rounds; carers sharing a double-up and a left-out call's carer too."""
    rng = np.random.default_rng(1)
    visits = [Visit(int(x), 8 * H, 12 * H, 1800) for x in rng.integers(0, 40, 30)]
    visits += [Visit(39, 9 * H, 11 * H, 1800, sync_group=0)] * 2
    carers = tuple(Carer(0, int(x), int(x), 7 * H, 15 * H) for x in (0, 5, 10, 20, 30, 39))
    problem = Problem(visits=tuple(visits), carers=carers, travel_s=street_matrix(40, step_s=30))
    rounds = [list(range(k * 5, k * 5 + 5)) for k in range(6)]
    rounds[0].append(30)  # one half with the carer at the far end of the street
    rounds[5].append(31)
    rounds[5].remove(29)  # left out
    parts = regroup(problem, rounds, max_part_visits=12, seed=1, pending=[29])
    assert len(parts) >= 2
    for part in parts:
        mine = sorted(i for k in part.carers.tolist() for i in rounds[k])
        assert set(mine) <= set(part.visits.tolist())
    together = [p for p in parts if 0 in p.carers]
    assert 5 in together[0].carers
    assert sum(29 in p.visits for p in parts) == 1


_BAND = 3 * H  # a carer's hours in one time band


def _hours(n_carers: int, n_parts: int) -> np.ndarray:
    """Every carer offers three hours to every part, in one column."""
    return np.full((n_carers, n_parts, 1), float(_BAND))


def test_nearest_carers_take_the_hours_a_greedy_share_crossed() -> None:
    """Two parts each owed one carer: each gets the carer who lives by it, whatever the
    greedy order gave."""
    gap = np.array([[3600.0, 60.0], [60.0, 3600.0]])
    due = np.array([[_BAND], [_BAND]], dtype=float)
    crossed = np.array([0, 1])
    assert nearest_carers_for(_hours(2, 2), due, due, gap, fallback=crossed).tolist() == [1, 0]


def test_remote_part_keeps_the_hours_it_is_owed() -> None:
    """Both carers live by part 1; part 0 is owed one carer's hours and still gets one."""
    gap = np.array([[3600.0, 60.0], [3600.0, 60.0]])
    due = np.array([[_BAND], [_BAND]], dtype=float)
    shared = nearest_carers_for(_hours(2, 2), due, due, gap, fallback=np.array([0, 1]))
    assert sorted(shared.tolist()) == [0, 1]


def test_hours_beyond_what_a_part_is_owed_go_where_they_drive_less() -> None:
    """Part 0 was given two carers' hours and is owed one: the second carer, who lives by
    part 1, goes there (three hours short at 0.2 cost 2,160 s of drive, against 3,540 s
    saved); owed both, part 0 keeps two carers."""
    gap = np.array([[60.0, 3600.0], [3600.0, 60.0], [3600.0, 60.0]])
    due = np.array([[2 * _BAND], [_BAND]], dtype=float)
    greedy = np.array([0, 0, 1])
    owed_one = np.array([[_BAND], [_BAND]], dtype=float)
    assert nearest_carers_for(_hours(3, 2), due, owed_one, gap, fallback=greedy).tolist() == [
        0,
        1,
        1,
    ]
    held = nearest_carers_for(_hours(3, 2), due, due, gap, fallback=greedy)
    assert held[0] == 0 and np.bincount(held, minlength=2).tolist() == [2, 1]
